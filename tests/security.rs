//! Security checks as tests (issue #15; `THREAT-MODEL.md` names each threat's test): no secret
//! in any log line or `--debug` trace of a whole seed story, no open redirect out of
//! `/federation` or the console's sign-in, no path traversal through registry paths or
//! repository names, presigned URLs dead after their expiry, and credentials dead the moment
//! their access key is deleted (signed requests replayed, presigned URLs, registry passwords).
//!
//! Each runs a real `kagi serve` and talks to it with the `kagi` binary (as a user would) and
//! with raw HTTP (as an attacker would).

mod support;

use serde_json::{Value, json};
use std::process::Output;
use std::time::{Duration, SystemTime};
use support::raw::{Answer, enc, get, post_form, request};
use support::{ACCOUNT, Endpoint, ROOT_AKID, ROOT_SECRET, Server};

/// The root's console password (`tests/support` starts servers with it).
const ROOT_PASSWORD: &str = "kagi-test-root-password-1";
const ROLE: &str = "ECRLoginAndPushRole";

/// Temporary or long-term credentials: (access key id, secret, session token).
#[derive(Clone)]
struct Creds(String, String, Option<String>);

impl Creds {
    fn root() -> Creds {
        Creds(ROOT_AKID.into(), ROOT_SECRET.into(), None)
    }
    fn from(v: &Value) -> Creds {
        Creds(
            v["AccessKeyId"].as_str().unwrap().into(),
            v["SecretAccessKey"].as_str().unwrap().into(),
            v["SessionToken"].as_str().map(str::to_owned),
        )
    }
}

/// Runs `kagi --debug ARGS` as `creds`; keeps its stderr (the trace) in `traces`.
fn cli(at: Endpoint, creds: &Creds, args: &[&str], traces: &mut String) -> Output {
    let mut env = vec![];
    if let Some(t) = &creds.2 {
        env.push(("AWS_SESSION_TOKEN", t.as_str()));
    }
    let mut all = vec!["--debug"];
    all.extend_from_slice(args);
    let out = at.kagi_env((&creds.0, &creds.1), &env, &all);
    traces.push_str(&String::from_utf8_lossy(&out.stderr));
    out
}

fn cli_json(at: Endpoint, creds: &Creds, args: &[&str], traces: &mut String) -> Value {
    let out = cli(at, creds, args, traces);
    assert!(
        out.status.success(),
        "kagi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn policy(statement: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

/// The seed's principals: `user-for-switch` (a key, may only assume the role) and
/// `ECRLoginAndPushRole` (trusts the account, may log in to ECR and push to `test-repos`).
/// Returns the user's key.
fn seed(at: Endpoint, traces: &mut String) -> Creds {
    let root = Creds::root();
    cli_json(
        at,
        &root,
        &["iam", "create-user", "--user-name", "user-for-switch"],
        traces,
    );
    let key = cli_json(
        at,
        &root,
        &["iam", "create-access-key", "--user-name", "user-for-switch"],
        traces,
    );
    let switch = policy(json!({"Effect": "Allow", "Action": "sts:AssumeRole",
        "Resource": format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}")}));
    cli_json(
        at,
        &root,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "user-for-switch",
            "--policy-name",
            "SwitchRolePolicy",
            "--policy-document",
            &switch,
        ],
        traces,
    );
    let trust = policy(json!({"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}));
    cli_json(
        at,
        &root,
        &[
            "iam",
            "create-role",
            "--role-name",
            ROLE,
            "--assume-role-policy-document",
            &trust,
        ],
        traces,
    );
    let push = policy(json!({"Effect": "Allow", "Action": [
            "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
            "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": "*"}));
    cli_json(
        at,
        &root,
        &[
            "iam",
            "put-role-policy",
            "--role-name",
            ROLE,
            "--policy-name",
            "ECRPushAndLoginPolicy",
            "--policy-document",
            &push,
        ],
        traces,
    );
    cli_json(
        at,
        &root,
        &[
            "ecr",
            "create-repository",
            "--repository-name",
            "test-repos",
        ],
        traces,
    );
    Creds::from(&key["AccessKey"])
}

fn assume_role(at: Endpoint, user: &Creds, traces: &mut String) -> Creds {
    let out = cli_json(
        at,
        user,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}"),
            "--role-session-name",
            "seed",
        ],
        traces,
    );
    Creds::from(&out["Credentials"])
}

fn basic(password: &str) -> String {
    use base64::Engine;
    format!(
        "authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
    )
}

fn registry_password(at: Endpoint, creds: &Creds, traces: &mut String) -> String {
    let out = cli(at, creds, &["ecr", "get-login-password"], traces);
    assert!(out.status.success(), "get-login-password");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Uploads `bytes` as a blob of `repo` (POST, then a monolithic PUT); returns its digest.
fn push_blob(at: Endpoint, auth: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = format!("sha256:{}", kagi_sigv4::sha256_hex(bytes));
    let started = request(
        at,
        &format!(
            "POST /v2/{repo}/blobs/uploads/ HTTP/1.1\r\nhost: 127.0.0.1\r\n{auth}content-length: 0\r\n\r\n"
        ),
    );
    assert_eq!(started.status, 202, "{started:?}");
    let location = started.header("location").unwrap().to_owned();
    let sep = if location.contains('?') { '&' } else { '?' };
    let mut req = format!(
        "PUT {location}{sep}digest={digest} HTTP/1.1\r\nhost: 127.0.0.1\r\n{auth}\
         content-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
        bytes.len()
    );
    req.push_str(std::str::from_utf8(bytes).unwrap());
    let put = request(at, &req);
    assert_eq!(put.status, 201, "{put:?}");
    digest
}

/// Pushes a one-layer image to `test-repos:v1` with a registry password.
fn push_image(at: Endpoint, password: &str) {
    let auth = basic(password);
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"not really a tarball, but a blob all the same";
    let config_digest = push_blob(at, &auth, "test-repos", config);
    let layer_digest = push_blob(at, &auth, "test-repos", layer);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let put = request(
        at,
        &format!(
            "PUT /v2/test-repos/manifests/v1 HTTP/1.1\r\nhost: 127.0.0.1\r\n{auth}\
             content-type: application/vnd.oci.image.manifest.v1+json\r\ncontent-length: {}\r\n\r\n{manifest}",
            manifest.len()
        ),
    );
    assert_eq!(put.status, 201, "{put:?}");
    let pulled = get(
        at,
        "/v2/test-repos/manifests/v1",
        &format!("{auth}accept: application/vnd.oci.image.manifest.v1+json\r\n"),
    );
    assert_eq!(pulled.status, 200, "{pulled:?}");
}

/// Signs in to the console with the sign-in form; returns the session cookie.
fn console_sign_in(at: Endpoint, user: Option<&str>, password: &str) -> Option<String> {
    let form = format!(
        "csrf=pre-token&account={ACCOUNT}&username={}&password={}",
        enc(user.unwrap_or("")),
        enc(password)
    );
    let a = post_form(
        at,
        "/console/signin",
        "cookie: kagi-console-pre=pre-token\r\n",
        &form,
    );
    a.cookie("kagi-console").filter(|c| !c.is_empty())
}

/// A sign-in token from `/federation?Action=getSigninToken` for temporary credentials.
fn signin_token(at: Endpoint, c: &Creds) -> String {
    let session = json!({"sessionId": c.0, "sessionKey": c.1, "sessionToken": c.2}).to_string();
    let a = get(
        at,
        &format!(
            "/federation?Action=getSigninToken&Session={}",
            enc(&session)
        ),
        "",
    );
    assert_eq!(a.status, 200, "{a:?}");
    let v: Value = serde_json::from_str(&a.body).unwrap();
    v["SigninToken"].as_str().unwrap().to_owned()
}

/// The whole seed story (IAM, STS, ECR and a registry push, the console as root, as the IAM
/// user and through `/federation`, a mistyped password) with the server at `RUST_LOG=trace`
/// (everything every crate logs) and every `kagi` call with `--debug`; then every secret the
/// story created is looked for in every line of both.
#[test]
fn no_secret_reaches_a_log_line_or_a_debug_trace() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::start_with(&dir.path().join("data"), &[], &[("RUST_LOG", "trace")], log);
    let at = server.at;
    let mut traces = String::new();
    let user = seed(at, &mut traces);
    let role = assume_role(at, &user, &mut traces);
    let whoami = cli_json(at, &role, &["sts", "get-caller-identity"], &mut traces);
    assert!(whoami["Arn"].as_str().unwrap().contains(ROLE));
    let password = registry_password(at, &role, &mut traces);
    push_image(at, &password);
    let session = cli_json(at, &user, &["sts", "get-session-token"], &mut traces);
    let session = Creds::from(&session["Credentials"]);
    cli_json(at, &session, &["sts", "get-caller-identity"], &mut traces);
    let user_password = "Us3r-console-Passw0rd!-7f3a9c";
    cli_json(
        at,
        &Creds::root(),
        &[
            "iam",
            "create-login-profile",
            "--user-name",
            "user-for-switch",
            "--password",
            user_password,
        ],
        &mut traces,
    );
    let mistyped = "Us3r-console-Passw0rd!-7f3a9d";
    assert_eq!(console_sign_in(at, Some("user-for-switch"), mistyped), None);
    let mut cookies = vec![];
    for (who, pw) in [
        (None, ROOT_PASSWORD),
        (Some("user-for-switch"), user_password),
    ] {
        let cookie = console_sign_in(at, who, pw).expect("console sign-in");
        let page = get(
            at,
            "/console/users",
            &format!("cookie: kagi-console={cookie}\r\n"),
        );
        assert!(page.status == 200 || page.status == 403, "{page:?}");
        cookies.push(cookie);
    }
    let token = signin_token(at, &role);
    let login = get(
        at,
        &format!("/federation?Action=login&Issuer=x&Destination=%2Fconsole%2F&SigninToken={token}"),
        "",
    );
    assert_eq!(login.status, 302, "{login:?}");
    let fed_cookie = login.cookie("kagi-console").unwrap();
    let page = get(
        at,
        "/console/",
        &format!("cookie: kagi-console={fed_cookie}\r\n"),
    );
    assert!(page.status < 400, "{page:?}");
    drop(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    // The log really is at debug level or finer and saw the whole story.
    for seen in [
        "DEBUG",
        "AssumeRole",
        "GetAuthorizationToken",
        "user-for-switch",
    ] {
        assert!(log.contains(seen), "the server log lacks {seen:?}");
    }
    assert!(
        traces.contains("POST") || traces.to_lowercase().contains("request"),
        "the --debug traces are empty"
    );
    let secrets = [
        ("the root's secret access key", ROOT_SECRET.to_owned()),
        ("the root's console password", ROOT_PASSWORD.to_owned()),
        ("the user's secret access key", user.1.clone()),
        ("the role session's secret", role.1.clone()),
        ("the role session's token", role.2.clone().unwrap()),
        ("GetSessionToken's secret", session.1.clone()),
        ("GetSessionToken's token", session.2.clone().unwrap()),
        ("the registry password", password.clone()),
        ("the user's console password", user_password.to_owned()),
        ("a mistyped console password", mistyped.to_owned()),
        ("the root's console cookie", cookies[0].clone()),
        ("the user's console cookie", cookies[1].clone()),
        ("the federation sign-in token", token.clone()),
        ("the federated console cookie", fed_cookie.clone()),
    ];
    let lines = log.lines().count();
    for (what, secret) in &secrets {
        // The whole secret, and a 16-character piece of its middle (a truncated print).
        let mid = secret.len() / 2;
        let piece = &secret[mid.saturating_sub(8)..(mid + 8).min(secret.len())];
        for (where_, text) in [("the server's log", &log), ("a --debug trace", &traces)] {
            for needle in [secret.as_str(), piece] {
                if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                    panic!("{what} is in {where_}: {line}");
                }
            }
        }
    }
    eprintln!(
        "{} secrets looked for in {lines} server log lines and {} --debug trace lines",
        secrets.len(),
        traces.lines().count()
    );
}

/// Whether a `Location` stays on the origin it was served from.
fn stays_on_origin(location: &str) -> bool {
    location.starts_with('/')
        && !location.starts_with("//")
        && !location.contains('\\')
        && location.bytes().all(|b| b.is_ascii_graphic())
}

/// `/federation`'s `Destination` and the console's sign-in never send a browser elsewhere:
/// every hostile destination lands on a `/console` path of this origin.
#[test]
fn federation_and_sign_in_never_redirect_off_origin() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let mut traces = String::new();
    let user = seed(at, &mut traces);
    let role = assume_role(at, &user, &mut traces);
    let origin = format!("127.0.0.1:{}", at.port);
    let hostile = [
        "https://evil.example/".to_owned(),
        "http://evil.example/console/".to_owned(),
        "//evil.example/console/".to_owned(),
        "///evil.example/console/".to_owned(),
        "/\\evil.example/console/".to_owned(),
        "\\\\evil.example\\console".to_owned(),
        "/console/..//evil.example".to_owned(),
        "/console/%2e%2e//evil.example".to_owned(),
        "/console\\..\\..\\evil.example".to_owned(),
        format!("http://{origin}.evil.example/console/"),
        format!("http://{origin}@evil.example/console/"),
        format!("http://evil.example#@{origin}/console/"),
        format!("https://{origin}/console/"),
        "javascript:alert(document.cookie)".to_owned(),
        "data:text/html,<script>alert(1)</script>".to_owned(),
        "/console/\r\nlocation: https://evil.example/".to_owned(),
        "/console/\tevil".to_owned(),
        " //evil.example/console/".to_owned(),
        "http:evil.example".to_owned(),
        "https:/evil.example/console".to_owned(),
    ];
    for dest in &hostile {
        let token = signin_token(at, &role);
        let a = get(
            at,
            &format!(
                "/federation?Action=login&Issuer=x&SigninToken={token}&Destination={}",
                enc(dest)
            ),
            "",
        );
        assert_eq!(a.status, 302, "{dest:?}: {a:?}");
        let location = a.header("location").unwrap_or("");
        assert!(
            stays_on_origin(location) && location.starts_with("/console"),
            "Destination {dest:?} redirected to {location:?}"
        );
    }
    // The same-origin destinations AWS's protocol is for still work.
    let token = signin_token(at, &role);
    let a = get(
        at,
        &format!(
            "/federation?Action=login&Issuer=x&SigninToken={token}&Destination={}",
            enc(&format!("http://{origin}/console/ecr/repositories"))
        ),
        "",
    );
    assert_eq!(a.header("location"), Some("/console/ecr/repositories"));

    // Sign-in: whatever redirect-like parameter a link carries, signing in lands on the
    // console, and pages that send a signed-out browser to the sign-in page stay local.
    for param in [
        "redirect",
        "Destination",
        "next",
        "returnUrl",
        "redirect_uri",
    ] {
        for dest in ["https://evil.example/", "//evil.example/"] {
            let q = format!("?{param}={}", enc(dest));
            let form = format!(
                "csrf=pre-token&account={ACCOUNT}&username=&password={}&{param}={}",
                enc(ROOT_PASSWORD),
                enc(dest)
            );
            let a = post_form(
                at,
                &format!("/console/signin{q}"),
                "cookie: kagi-console-pre=pre-token\r\n",
                &form,
            );
            let location = a.header("location").unwrap_or("");
            assert!(
                (300..400).contains(&a.status) && stays_on_origin(location),
                "sign-in with {param}={dest}: {} {location:?}",
                a.status
            );
            let a = get(at, &format!("/console/users{q}"), "");
            if let Some(location) = a.header("location") {
                assert!(stays_on_origin(location), "{param}={dest}: {location:?}");
            }
        }
    }
}

/// A presigned URL (SigV4 in the query) works until `X-Amz-Expires` has passed, and never
/// after: replaying it later is refused.
#[test]
fn presigned_urls_are_refused_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let mut traces = String::new();
    let user = seed(at, &mut traces);
    let presigned = |signed_at: SystemTime, valid_for: u64| {
        let q = kagi_sigv4::presign(
            "GET",
            "/",
            "Action=GetCallerIdentity&Version=2011-06-15",
            &[("host".to_owned(), format!("127.0.0.1:{}", at.port))],
            b"",
            &kagi_sigv4::Credentials::new(&user.0, &user.1),
            &kagi_sigv4::SigningParams {
                region: "us-east-1",
                service: "sts",
                time: signed_at,
            },
            Duration::from_secs(valid_for),
        )
        .unwrap();
        format!("/?{q}")
    };
    let now = SystemTime::now();
    // Valid for 3 s: works now, is refused once they have passed.
    let url = presigned(now, 3);
    let a = get(at, &url, "");
    assert_eq!(a.status, 200, "{a:?}");
    std::thread::sleep(Duration::from_millis(3500));
    let a = get(at, &url, "");
    assert_eq!(a.status, 403, "replayed after its expiry: {a:?}");
    assert!(a.body.contains("expired"), "{a:?}");
    // Signed an hour ago for 60 s: refused.
    let a = get(at, &presigned(now - Duration::from_secs(3600), 60), "");
    assert_eq!(a.status, 403, "{a:?}");
}

/// When an access key is deleted, everything it signed dies with it at once: a captured
/// signed request replayed, a presigned URL still within its expiry, and a registry password
/// minted with it.
#[test]
fn credentials_die_with_their_access_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let mut traces = String::new();
    seed(at, &mut traces);
    // A second key of the root's own user would be the root's; use an IAM user allowed ECR.
    let root = Creds::root();
    cli_json(
        at,
        &root,
        &["iam", "create-user", "--user-name", "ci"],
        &mut traces,
    );
    let allow = policy(json!({"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}));
    cli_json(
        at,
        &root,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "ci",
            "--policy-name",
            "ecr",
            "--policy-document",
            &allow,
        ],
        &mut traces,
    );
    let key = cli_json(
        at,
        &root,
        &["iam", "create-access-key", "--user-name", "ci"],
        &mut traces,
    );
    let ci = Creds::from(&key["AccessKey"]);
    // Captured while the key lives: a signed request, a presigned URL, a registry password.
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let mut headers = vec![
        ("host".to_owned(), format!("127.0.0.1:{}", at.port)),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    let params = kagi_sigv4::SigningParams {
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    let creds = kagi_sigv4::Credentials::new(&ci.0, &ci.1);
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        &creds,
        &params,
    )
    .unwrap();
    let mut signed = "POST / HTTP/1.1\r\n".to_owned();
    for (k, v) in &headers {
        signed.push_str(&format!("{k}: {v}\r\n"));
    }
    signed.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let presigned = format!(
        "/?{}",
        kagi_sigv4::presign(
            "GET",
            "/",
            "Action=GetCallerIdentity&Version=2011-06-15",
            &headers[..1],
            b"",
            &creds,
            &params,
            Duration::from_secs(600),
        )
        .unwrap()
    );
    let password = registry_password(at, &ci, &mut traces);
    let registry = |a: &Answer| a.status;
    let catalog = || get(at, "/v2/test-repos/tags/list", &basic(&password));
    // All three work, and replaying the signed request works too (AWS allows that within the
    // signature's 15 minutes: what stops it is the key).
    for _ in 0..2 {
        assert_eq!(request(at, &signed).status, 200);
    }
    assert_eq!(get(at, &presigned, "").status, 200);
    assert_eq!(registry(&catalog()), 200);
    cli_json(
        at,
        &root,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "ci",
            "--access-key-id",
            &ci.0,
        ],
        &mut traces,
    );
    let replayed = request(at, &signed);
    assert_eq!(replayed.status, 403, "{replayed:?}");
    assert!(
        replayed.body.contains("InvalidClientTokenId"),
        "{replayed:?}"
    );
    let a = get(at, &presigned, "");
    assert_eq!(a.status, 403, "{a:?}");
    let a = catalog();
    assert_eq!(
        a.status, 401,
        "the registry password outlived its key: {a:?}"
    );
}

/// Fingerprints of the files an attacker would reach for through `..`.
fn fingerprints(data: &std::path::Path) -> Vec<(String, u64, Option<SystemTime>)> {
    // kagi.db changes on every call (the event history records each refused request); it is
    // checked to still be the database below.
    ["root-credentials", "root-password", "kagi.key"]
        .iter()
        .map(|f| {
            let m = std::fs::metadata(data.join(f)).ok();
            (
                f.to_string(),
                m.as_ref().map_or(0, |m| m.len()),
                m.and_then(|m| m.modified().ok()),
            )
        })
        .collect()
}

/// No registry path or repository name reaches outside the registry: `..` (plain,
/// percent-encoded, in a name, a reference, a digest, an upload id) is refused with a 4xx,
/// nothing outside is read (no secret in any answer) or written (the data directory's
/// secret files are unchanged), and ECR refuses such repository names.
#[test]
fn registry_paths_and_repository_names_do_not_traverse() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let server = Server::start(&data, &[]);
    let at = server.at;
    let mut traces = String::new();
    seed(at, &mut traces);
    let root = Creds::root();
    for name in [
        "..", "../x", "x/../y", "x/./y", "x//y", "/x", "x/", "%2e%2e/x", "x\\..\\y", ".x", "x/..",
        "x/.../y",
    ] {
        let out = cli(
            at,
            &root,
            &["ecr", "create-repository", "--repository-name", name],
            &mut traces,
        );
        assert!(!out.status.success(), "repository {name:?} was created");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("InvalidParameterException") || err.contains("ValidationException"),
            "{name:?}: {err}"
        );
    }
    let before = fingerprints(&data);
    let password = registry_password(at, &root, &mut traces);
    let auth = basic(&password);
    let up = "..%2F..%2F..%2F..";
    let targets = [
        "root-credentials",
        "kagi.key",
        "kagi.db",
        "ecr%2Fecr.sqlite",
    ];
    let mut tried = 0;
    for target in targets {
        let paths = [
            format!("/v2/{up}%2F{target}/manifests/latest"),
            format!("/v2/{up}/{target}/tags/list"),
            format!("/v2/test-repos/../../{target}"),
            format!("/v2/test-repos/%2e%2e/%2e%2e/{target}/tags/list"),
            format!("/v2/test-repos/manifests/{up}%2F{target}"),
            format!("/v2/test-repos/manifests/sha256:{up}%2F{target}"),
            format!("/v2/test-repos/blobs/sha256:{up}%2F{target}"),
            format!("/v2/test-repos/blobs/{up}%2F{target}"),
            format!("/v2/test-repos/blobs/uploads/{up}%2F{target}"),
            format!("/v2/test-repos/blobs/uploads/..%2F{target}"),
            format!("/v2/test-repos/blobs/uploads/%2e%2e%2f%2e%2e%2f{target}"),
        ];
        for path in &paths {
            for method in ["GET", "HEAD", "PATCH", "PUT", "DELETE"] {
                let body = "overwritten";
                let a = request(
                    at,
                    &format!(
                        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{auth}\
                         content-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    ),
                );
                tried += 1;
                assert!(
                    (400..500).contains(&a.status),
                    "{method} {path}: {} {}",
                    a.status,
                    a.body
                );
                for secret in [ROOT_SECRET, "SQLite format", "aws_secret_access_key"] {
                    assert!(!a.body.contains(secret), "{method} {path}: {}", a.body);
                }
            }
        }
    }
    assert_eq!(
        fingerprints(&data),
        before,
        "a file outside the registry changed"
    );
    let db = std::fs::read(data.join("kagi.db")).unwrap();
    assert!(
        db.starts_with(b"SQLite format 3\0") && db.len() > 4096,
        "kagi.db is no longer the database"
    );
    eprintln!("{tried} traversal requests, all refused with a 4xx");
}

/// Signs in to the console as the root user; the session cookie as a `cookie:` header line.
fn root_console(at: Endpoint) -> String {
    let cookie = console_sign_in(at, None, ROOT_PASSWORD).expect("root signs in");
    format!("cookie: kagi-console={cookie}\r\n")
}

/// Every `href="/console…"` and every POST form's action in a page.
fn links_and_forms(html: &str) -> (Vec<String>, Vec<String>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let i = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let v = &tag[i..];
        Some(v[..v.find('"')?].replace("&amp;", "&"))
    };
    let mut links = vec![];
    let mut forms = vec![];
    for piece in html.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or("");
        if tag.starts_with("a ") {
            if let Some(h) = attr(tag, "href").filter(|h| h.starts_with("/console")) {
                links.push(h.split('#').next().unwrap().to_owned());
            }
        } else if tag.starts_with("form ")
            && tag.contains("method=\"post\"")
            && let Some(a) = attr(tag, "action")
        {
            forms.push(a);
        }
    }
    (links, forms)
}

/// CSRF and clickjacking across the whole console: a crawl of every page reachable from the
/// root's console (with users, a role, a group, a policy and a repository to show) checks that
/// each page forbids framing (CSP `frame-ancestors 'none'`) and collects
/// every POST form; each form posted without its CSRF token, or with another session's, is
/// refused (403 `InvalidCsrfToken`) and changes nothing.
#[test]
fn every_console_form_needs_its_csrf_token_and_no_page_can_be_framed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let mut traces = String::new();
    let user = seed(at, &mut traces);
    let root = Creds::root();
    for args in [
        &["iam", "create-group", "--group-name", "builders"][..],
        &[
            "iam",
            "add-user-to-group",
            "--group-name",
            "builders",
            "--user-name",
            "user-for-switch",
        ],
        &[
            "iam",
            "create-policy",
            "--policy-name",
            "ReadOnly",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}"#,
        ],
    ] {
        cli_json(at, &root, args, &mut traces);
    }
    let _ = user;
    let session = root_console(at);
    let other_session = root_console(at);
    let other_csrf = {
        let page = get(at, "/console/users", &other_session);
        let i = page.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        page.body[i..i + page.body[i..].find('"').unwrap()].to_owned()
    };
    let state = |traces: &mut String| {
        [
            cli_json(at, &root, &["iam", "list-users"], traces),
            cli_json(at, &root, &["iam", "list-roles"], traces),
            cli_json(at, &root, &["iam", "list-groups"], traces),
            cli_json(
                at,
                &root,
                &["iam", "list-policies", "--scope", "Local"],
                traces,
            ),
            cli_json(at, &root, &["ecr", "describe-repositories"], traces),
        ]
        .map(|mut v| {
            // Last-used times move as the crawl reads; what matters is what exists.
            for list in ["Users", "Roles"] {
                for e in v[list].as_array_mut().into_iter().flatten() {
                    e.as_object_mut().unwrap().remove("RoleLastUsed");
                    e.as_object_mut().unwrap().remove("PasswordLastUsed");
                }
            }
            v
        })
    };
    let before = state(&mut traces);
    let mut queue = vec!["/console/".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    let mut forms = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if seen.len() >= 150 || !seen.insert(path.clone()) {
            continue;
        }
        let page = get(at, &path, &session);
        let csp = page.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{path} may be framed: {csp:?}"
        );
        if let Some(to) = page
            .header("location")
            .filter(|l| l.starts_with("/console"))
        {
            queue.push(to.split('#').next().unwrap().to_owned());
        }
        if page.status != 200 {
            continue;
        }
        let (links, actions) = links_and_forms(&page.body);
        forms.extend(actions);
        queue.extend(
            links
                .into_iter()
                .filter(|l| !l.contains("signout") && !l.contains("sign-out")),
        );
    }
    assert!(
        seen.len() >= 20 && forms.len() >= 15,
        "the crawl saw only {} pages and {} forms",
        seen.len(),
        forms.len()
    );
    for action in &forms {
        for csrf in [None, Some("forged"), Some(other_csrf.as_str())] {
            let form = match csrf {
                Some(c) => format!("csrf={}&UserName=mallory&RoleName=mallory", enc(c)),
                None => "UserName=mallory&RoleName=mallory".to_owned(),
            };
            let a = post_form(at, action, &session, &form);
            assert_eq!(
                a.status, 403,
                "POST {action} with csrf {csrf:?} was not refused: {}",
                a.body
            );
            assert!(a.body.contains("InvalidCsrfToken"), "{action}: {}", a.body);
        }
    }
    assert_eq!(
        state(&mut traces),
        before,
        "a form without its token did something"
    );
    eprintln!(
        "{} console pages crawled, {} POST forms refused without their CSRF token",
        seen.len(),
        forms.len()
    );
}

/// Session fixation: a session cookie planted before sign-in is neither kept nor honoured;
/// signing in always issues a fresh, unguessable one.
#[test]
fn console_sign_in_issues_a_fresh_session_and_ignores_a_planted_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let planted = "attacker-chosen-session-id-0123456789abcdef";
    let form = format!(
        "csrf=pre-token&account={ACCOUNT}&username=&password={}",
        enc(ROOT_PASSWORD)
    );
    let a = post_form(
        at,
        "/console/signin",
        &format!("cookie: kagi-console-pre=pre-token; kagi-console={planted}\r\n"),
        &form,
    );
    let fresh = a.cookie("kagi-console").expect("a session cookie");
    assert_ne!(fresh, planted);
    assert!(fresh.len() >= 32, "a short session id: {fresh}");
    let set = a.headers("set-cookie").join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let with = |c: &str| {
        get(
            at,
            "/console/users",
            &format!("cookie: kagi-console={c}\r\n"),
        )
    };
    assert_eq!(with(&fresh).status, 200);
    let planted_page = with(planted);
    assert_ne!(
        planted_page.status, 200,
        "the planted session id was honoured"
    );
    // Two sign-ins never share a session.
    let again = console_sign_in(at, None, ROOT_PASSWORD).unwrap();
    assert_ne!(again, fresh);
}

/// Sign-in failures count per account and per source: a password sprayed over many user
/// names (never five guesses for one, so no account locks) locks the source address after 20
/// failures, for every account, the right password included; the per-account lock still
/// comes after 5.
#[test]
fn sign_in_failures_lock_out_per_account_and_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = server.at;
    let attempt = |user: &str, password: &str| {
        let form = format!(
            "csrf=pre-token&account={ACCOUNT}&username={}&password={}",
            enc(user),
            enc(password)
        );
        post_form(
            at,
            "/console/signin",
            "cookie: kagi-console-pre=pre-token\r\n",
            &form,
        )
    };
    // Per account: the fifth failure locks bob, not others.
    for i in 0..5 {
        assert_eq!(attempt("bob", "Wrong-password-1").status, 401, "try {i}");
    }
    let locked = attempt("bob", "Wrong-password-1");
    assert_eq!(locked.status, 429);
    assert!(
        locked.body.contains("for this user is locked"),
        "{}",
        locked.body
    );
    // Per source: 15 more failures over 15 names (20 in all from this address)...
    for i in 0..15 {
        assert_eq!(
            attempt(&format!("sprayed-{i}"), "Spring2026!").status,
            401,
            "name {i}"
        );
    }
    // ...and the address is locked, for the right password too.
    let a = attempt("someone-else", "Spring2026!");
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.body.contains("from this address"), "{}", a.body);
    let a = attempt("", ROOT_PASSWORD);
    assert_eq!(a.status, 429, "the root signed in from a locked address");
    assert_eq!(a.cookie("kagi-console"), None);
}
