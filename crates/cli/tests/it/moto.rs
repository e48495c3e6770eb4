//! The seed's steps 7–9 against moto (a server nobody here wrote), driven in-process.
//! Needs `KAGI_COMPAT_VENV` (a venv with `moto[server]`); skips with a notice unless CI is set.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Sandbox, skip_or_fail};

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_moto() -> Option<Moto> {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        skip_or_fail("KAGI_COMPAT_VENV (a venv with moto[server])");
        return None;
    };
    let bin = std::path::Path::new(&venv).join("bin").join("moto_server");
    let port = free_port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    // Readiness wait (not a timing assertion): moto imports for a few seconds.
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn seed_steps_7_to_9_against_moto() {
    let Some(moto) = start_moto() else { return };
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &moto.url);
    // moto's default credentials act as the account administrator (config-file static keys).
    sb.write(".aws/config", "# admin for the test\n[profile admin]\naws_access_key_id = testing\naws_secret_access_key = testing\nregion = us-east-1\n");
    let admin = |sb: &Sandbox, args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--profile", "admin"]);
        let o = sb.run(&a);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o.stdout
    };
    let account = "123456789012";
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
}

#[test]
fn pagination_against_moto() {
    let Some(moto) = start_moto() else { return };
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &moto.url)
        .set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing");
    for i in 0..5 {
        assert_eq!(
            sb.run(&["iam", "create-user", "--user-name", &format!("u{i}")])
                .code,
            0
        );
    }
    let names = |out: &str| -> Vec<String> {
        json(out)["Users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["UserName"].as_str().unwrap().to_string())
            .collect()
    };
    let all = sb.run(&["iam", "list-users", "--page-size", "2"]);
    assert_eq!(names(&all.stdout), ["u0", "u1", "u2", "u3", "u4"]);
    assert!(!all.stdout.contains("NextToken") && !all.stdout.contains("IsTruncated"));
    let first = json(
        &sb.run(&["iam", "list-users", "--max-items", "3", "--page-size", "2"])
            .stdout,
    );
    assert_eq!(first["Users"].as_array().unwrap().len(), 3);
    let token = first["NextToken"].as_str().unwrap().to_string();
    let rest = sb.run(&["iam", "list-users", "--starting-token", &token]);
    assert_eq!(names(&rest.stdout), ["u3", "u4"]);
    let text = sb.run(&[
        "iam",
        "list-users",
        "--query",
        "Users[].UserName",
        "--output",
        "text",
    ]);
    assert_eq!(text.stdout, "u0\tu1\tu2\tu3\tu4\n");
}
