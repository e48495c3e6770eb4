//! The seed walkthrough's client side, shared by the moto and `kagi serve` tests.

use serde_json::Value;

use crate::common::Sandbox;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Runs the seed's steps 2–10 (IAM setup as the administrator, then configure, the switch-role
/// profile, get-caller-identity with and without it, ECR login) against `url`. With `enforcing`
/// the server must also deny what the policies do not allow. Returns the sandbox for more checks.
pub fn seed_steps(
    url: &str,
    admin_akid: &str,
    admin_secret: &str,
    account: &str,
    enforcing: bool,
) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", url);
    // The account administrator's keys (config-file static keys).
    sb.write(".aws/config", &format!("# admin for the test\n[profile admin]\naws_access_key_id = {admin_akid}\naws_secret_access_key = {admin_secret}\nregion = us-east-1\n"));
    let admin = |sb: &Sandbox, args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--profile", "admin"]);
        let o = sb.run(&a);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o.stdout
    };
    admin(
        &sb,
        &["iam", "create-user", "--user-name", "user-for-switch"],
    );
    let key = json(&admin(
        &sb,
        &["iam", "create-access-key", "--user-name", "user-for-switch"],
    ));
    let akid = key["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string();
    let switch = sb.write(
        "switch.json",
        &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{account}:role/ECRLoginAndPushRole"}}]}}"#),
    );
    let p = json(&admin(
        &sb,
        &[
            "iam",
            "create-policy",
            "--policy-name",
            "SwitchRolePolicy",
            "--policy-document",
            &format!("file://{}", switch.display()),
        ],
    ));
    let switch_arn = p["Policy"]["Arn"].as_str().unwrap().to_string();
    admin(
        &sb,
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "user-for-switch",
            "--policy-arn",
            &switch_arn,
        ],
    );
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole","Condition":{{}}}}]}}"#
    );
    let role = json(&admin(
        &sb,
        &[
            "iam",
            "create-role",
            "--role-name",
            "ECRLoginAndPushRole",
            "--assume-role-policy-document",
            &trust,
        ],
    ));
    let role_id = role["Role"]["RoleId"].as_str().unwrap().to_string();
    let role_arn = role["Role"]["Arn"].as_str().unwrap().to_string();
    // The trust policy comes back as an object, like the AWS CLI's json_decode_policies.
    assert_eq!(
        role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"],
        "sts:AssumeRole"
    );
    let push = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["ecr:PutImage"],"Resource":"arn:aws:ecr:ap-northeast-1:{account}:repository/test-repos"}},{{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}]}}"#
    );
    let p = json(&admin(
        &sb,
        &[
            "iam",
            "create-policy",
            "--policy-name",
            "ECRPushAndLoginPolicy",
            "--policy-document",
            &push,
        ],
    ));
    admin(
        &sb,
        &[
            "iam",
            "attach-role-policy",
            "--role-name",
            "ECRLoginAndPushRole",
            "--policy-arn",
            p["Policy"]["Arn"].as_str().unwrap(),
        ],
    );
    let attached = json(&admin(
        &sb,
        &[
            "iam",
            "list-attached-role-policies",
            "--role-name",
            "ECRLoginAndPushRole",
        ],
    ));
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyName"],
        "ECRPushAndLoginPolicy"
    );

    // The repository of step 10 (ECR speaks JSON 1.1: another codec, epoch timestamps).
    let repo = json(&admin(
        &sb,
        &[
            "ecr",
            "create-repository",
            "--repository-name",
            "test-repos",
            "--region",
            "ap-northeast-1",
        ],
    ));
    assert_eq!(repo["repository"]["repositoryName"], "test-repos");
    assert!(
        repo["repository"]["createdAt"]
            .as_str()
            .unwrap()
            .ends_with("+00:00"),
        "{repo}"
    );
    let names = admin(
        &sb,
        &[
            "ecr",
            "describe-repositories",
            "--region",
            "ap-northeast-1",
            "--query",
            "repositories[].repositoryName",
            "--output",
            "text",
        ],
    );
    assert_eq!(names, "test-repos\n");

    // Step 7: configure, four prompts, Enter keeps the output format unset.
    let o = sb.run_with_stdin(
        &["configure"],
        &format!("{akid}\n{secret}\nap-northeast-1\n\n"),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "AWS Access Key ID [None]: AWS Secret Access Key [None]: Default region name [None]: Default output format [None]: "
    );
    let creds = sb.read(".aws/credentials");
    assert_eq!(
        creds,
        format!("[default]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sb.home().join(".aws/credentials"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = sb.read(".aws/config");
    assert!(
        config.starts_with("# admin for the test\n[profile admin]\n"),
        "{config}"
    );
    assert!(
        config.ends_with("[default]\nregion = ap-northeast-1\n"),
        "{config}"
    );

    // Step 8: the switch-role profile.
    let prof = "ECRLoginAndPushRoleProfile";
    assert_eq!(
        sb.run(&["configure", "set", "role_arn", &role_arn, "--profile", prof])
            .code,
        0
    );
    assert_eq!(
        sb.run(&[
            "configure",
            "set",
            "source_profile",
            "default",
            "--profile",
            prof
        ])
        .code,
        0
    );
    assert!(sb.read(".aws/config").ends_with(&format!(
        "[profile {prof}]\nrole_arn = {role_arn}\nsource_profile = default\n"
    )));

    // Step 9: who am I, with and without the profile.
    let o = sb.run(&["sts", "get-caller-identity", "--profile", prof]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let me = json(&o.stdout);
    let arn = me["Arn"].as_str().unwrap();
    let prefix =
        format!("arn:aws:sts::{account}:assumed-role/ECRLoginAndPushRole/botocore-session-");
    assert!(
        arn.starts_with(&prefix) && arn[prefix.len()..].chars().all(|c| c.is_ascii_digit()),
        "{arn}"
    );
    assert!(
        me["UserId"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{role_id}:botocore-session-")),
        "{me}"
    );
    assert_eq!(me["Account"], account);
    // Keys in the AWS CLI's order.
    assert!(o.stdout.find("\"UserId\"").unwrap() < o.stdout.find("\"Account\"").unwrap());

    // The session is cached under the AWS CLI's key, 0600, and reused.
    let cache = sb.home().join(".aws/cli/cache").join(format!(
        "{}.json",
        kagi_cli::creds::cache_key(&serde_json::json!({"RoleArn": role_arn}))
    ));
    let entry = json(&std::fs::read_to_string(&cache).unwrap());
    assert!(
        entry["Credentials"]["Expiration"]
            .as_str()
            .unwrap()
            .ends_with("UTC")
    );
    let again = json(
        &sb.run(&["sts", "get-caller-identity", "--profile", prof])
            .stdout,
    );
    assert_eq!(
        again["Arn"], me["Arn"],
        "a second AssumeRole would start a new session"
    );

    let o = sb.run(&["sts", "get-caller-identity"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        json(&o.stdout)["Arn"],
        format!("arn:aws:iam::{account}:user/user-for-switch")
    );

    // Step 10's login (moto does not enforce the policies; kagi serve does).
    let o = sb.run(&[
        "ecr",
        "get-login-password",
        "--profile",
        prof,
        "--region",
        "ap-northeast-1",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 1);
    assert!(!o.stdout.trim().is_empty());

    // A service error as the AWS CLI prints it.
    let o = sb.run(&[
        "iam",
        "get-user",
        "--user-name",
        "nobody",
        "--profile",
        "admin",
    ]);
    assert_eq!(o.code, 254);
    assert!(
        o.stderr
            .starts_with("\nAn error occurred (NoSuchEntity) when calling the GetUser operation: "),
        "{}",
        o.stderr
    );

    if enforcing {
        // Least privilege: the role may not call IAM, the bare user may not log in to ECR.
        let o = sb.run(&["iam", "list-users", "--profile", prof]);
        assert_eq!(o.code, 254, "{}", o.stderr);
        assert!(o.stderr.starts_with("\nAn error occurred (AccessDenied) when calling the ListUsers operation: User: arn:aws:sts::"), "{}", o.stderr);
        let o = sb.run(&["ecr", "get-login-password", "--region", "ap-northeast-1"]);
        assert_eq!(o.code, 254, "{}", o.stderr);
        assert!(
            o.stderr.contains(
                "(AccessDeniedException) when calling the GetAuthorizationToken operation"
            ),
            "{}",
            o.stderr
        );
    }
    sb
}
