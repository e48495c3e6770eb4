//! The web identity credential provider end to end: kagi's client with only a token file and a
//! role ARN (env form, profile form, a role profile chained from it, and the explicit unsigned
//! `sts assume-role-with-web-identity`) against `kagi serve` in-process, whose trust policy
//! decides, with ID tokens from a real OpenID Connect issuer on loopback (`kagi_testkit::oidc`).

use crate::common::Sandbox;
use kagi_testkit::oidc::{AUDIENCE, Issuer, Keys};
use serde_json::{Value, json};

struct World {
    server: kagi_server::RunningServer,
    issuer: Issuer,
    keys: Keys,
    account: String,
}

impl World {
    fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// A sandbox with no keys at all, only the endpoint.
    fn keyless(&self) -> Sandbox {
        let mut s = Sandbox::new();
        s.set("AWS_ENDPOINT_URL", &self.endpoint())
            .set("AWS_DEFAULT_REGION", "us-east-1");
        s
    }

    fn role_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }
}

fn root_ok(root: &Sandbox, args: &[&str]) -> Value {
    let out = root.run(args);
    assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

/// `deploy` trusts the issuer's tokens for `repo:kagi/*`; `chained` trusts `deploy` sessions.
fn world() -> World {
    let server = kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts");
    let keys = Keys::new();
    let issuer = Issuer::start(json!({"keys": [keys.ec_jwk("ec-1")]}));
    let mut root = Sandbox::new();
    root.set("AWS_ENDPOINT_URL", &format!("http://{}", server.addr))
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ACCESS_KEY_ID", &server.root_access_key_id)
        .set("AWS_SECRET_ACCESS_KEY", server.root_secret_access_key());
    let account = server.account_id.clone();
    let provider = root_ok(
        &root,
        &[
            "iam",
            "create-open-id-connect-provider",
            "--url",
            &issuer.url,
            "--client-id-list",
            AUDIENCE,
        ],
    )["OpenIDConnectProviderArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let host = issuer.host().to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): AUDIENCE},
                      "StringLike": {format!("{host}:sub"): "repo:kagi/*"}}}]});
    root_ok(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "deploy",
            "--assume-role-policy-document",
            &trust.to_string(),
        ],
    );
    let deploy_arn = format!("arn:aws:iam::{account}:role/deploy");
    root_ok(
        &root,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            "deploy",
            "--policy-name",
            "chain",
            "--policy-document",
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{account}:role/chained")}]})
            .to_string(),
        ],
    );
    root_ok(
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            "chained",
            "--assume-role-policy-document",
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": deploy_arn}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        ],
    );
    World {
        server,
        issuer,
        keys,
        account,
    }
}

fn arn_of(out: &crate::common::Outcome) -> String {
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["Arn"].as_str().unwrap().to_owned()
}

#[test]
fn token_file_and_role_arn_are_credentials() {
    let w = world();
    let token = w
        .keys
        .token("ES256", "ec-1", &w.issuer.claims("repo:kagi/kagi:ref:main"));

    // Env form: nothing but the token file and the role.
    let mut s = w.keyless();
    let token_file = s.write("token", &token);
    s.set(
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        &token_file.display().to_string(),
    )
    .set("AWS_ROLE_ARN", &w.role_arn("deploy"))
    .set("AWS_ROLE_SESSION_NAME", "ci-env");
    assert_eq!(
        arn_of(&s.run(&["sts", "get-caller-identity"])),
        format!("arn:aws:sts::{}:assumed-role/deploy/ci-env", w.account)
    );
    let listed = s.run(&["configure", "list"]);
    assert!(
        listed.stdout.contains("assume-role-with-web-identity"),
        "{}",
        listed.stdout
    );
    // The session's permissions are the role's: no IAM reads.
    let denied = s.run(&["iam", "list-users"]);
    assert_eq!(denied.code, 254, "{}", denied.stderr);
    assert!(denied.stderr.contains("AccessDenied"), "{}", denied.stderr);

    // Profile form, and a role profile chained from it (role chaining: AssumeRole from the
    // web identity session).
    let s = w.keyless();
    let token_file = s.write("token", &token);
    s.write(
        ".aws/config",
        &format!(
            "[profile wi]\nweb_identity_token_file = {}\nrole_arn = {}\nrole_session_name = ci-profile\n\n\
             [profile chained]\nrole_arn = {}\nsource_profile = wi\nrole_session_name = hop\n",
            token_file.display(),
            w.role_arn("deploy"),
            w.role_arn("chained")
        ),
    );
    assert_eq!(
        arn_of(&s.run(&["sts", "get-caller-identity", "--profile", "wi"])),
        format!("arn:aws:sts::{}:assumed-role/deploy/ci-profile", w.account)
    );
    assert_eq!(
        arn_of(&s.run(&["sts", "get-caller-identity", "--profile", "chained"])),
        format!("arn:aws:sts::{}:assumed-role/chained/hop", w.account)
    );

    // A token for a repository the trust policy does not name: STS's AccessDenied, exit 254.
    let mut s = w.keyless();
    let other = s.write(
        "token",
        &w.keys
            .token("ES256", "ec-1", &w.issuer.claims("repo:evil/fork:ref")),
    );
    s.set("AWS_WEB_IDENTITY_TOKEN_FILE", &other.display().to_string())
        .set("AWS_ROLE_ARN", &w.role_arn("deploy"));
    let out = s.run(&["sts", "get-caller-identity"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "{}",
        out.stderr
    );

    // The explicit call needs no credentials and is not signed.
    let s = w.keyless();
    let out = s.run(&[
        "sts",
        "assume-role-with-web-identity",
        "--role-arn",
        &w.role_arn("deploy"),
        "--role-session-name",
        "explicit",
        "--web-identity-token",
        &token,
        "--query",
        "[AssumedRoleUser.Arn, SubjectFromWebIdentityToken, Audience]",
        "--output",
        "text",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim(),
        format!(
            "arn:aws:sts::{}:assumed-role/deploy/explicit\trepo:kagi/kagi:ref:main\t{AUDIENCE}",
            w.account
        )
    );
}
