//! `kagi console` against `kagi serve` (in-process, free loopback port): the seed's role profile
//! gets a sign-in URL that logs a browser in as the role session, once.

use serde_json::Value;

use crate::common::Sandbox;

const ROLE_PROFILE: &str = "ECRLoginAndPushRoleProfile";

fn http_get(url: &str, cookie: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.call().expect("GET");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The login URL must be one line: `<endpoint>/federation?Action=login&...&SigninToken=<t>`.
fn login_line(sb: &Sandbox, args: &[&str]) -> String {
    let o = sb.run(args);
    assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    assert!(
        o.stdout.ends_with('\n') && o.stdout.lines().count() == 1,
        "{}",
        o.stdout
    );
    o.stdout.trim_end().to_string()
}

#[test]
fn console_url_signs_the_role_session_in_once() {
    let server = kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts");
    let url = format!("http://{}", server.addr);
    let account = server.account_id.clone();
    let mut sb = crate::seed::seed_steps(
        &url,
        &server.root_access_key_id.clone(),
        server.root_secret_access_key(),
        &account,
        true,
    );

    // The role profile: the CLI assumes the role, then asks /federation for a sign-in token.
    let line = login_line(&sb, &["console", "--profile", ROLE_PROFILE]);
    let prefix = format!(
        "{url}/federation?Action=login&Issuer=kagi&Destination={}&SigninToken=",
        kagi_sigv4::canonical::uri_encode(format!("{url}/console/").as_bytes(), false)
    );
    assert!(line.starts_with(&prefix), "{line}\n{prefix}");
    let token = &line[prefix.len()..];
    assert!(
        token.len() >= 64
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );

    // Following it: a console session cookie for the role session, landing on /console/.
    let (status, h, _) = http_get(&line, None);
    assert_eq!(status, 302);
    assert_eq!(header(&h, "location"), Some("/console/"));
    let set_cookie = header(&h, "set-cookie").expect("a session cookie");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let (status, _, page) = http_get(&format!("{url}/console/users"), Some(&cookie));
    let session_arn = format!("arn:aws:sts::{account}:assumed-role/ECRLoginAndPushRole/");
    assert!(page.contains(&session_arn), "{page}");
    // ... and the role's permissions: no iam:ListUsers.
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("AccessDenied"), "{page}");

    // A sign-in token works once.
    let (status, _, body) = http_get(&line, None);
    assert_eq!(status, 400, "{body}");

    // --destination: a console path of this server.
    let line = login_line(
        &sb,
        &[
            "console",
            "--profile",
            ROLE_PROFILE,
            "--destination",
            "/console/switch-role",
        ],
    );
    assert!(
        line.contains("&Destination=%2Fconsole%2Fswitch-role&"),
        "{line}"
    );
    let (status, h, _) = http_get(&line, None);
    assert_eq!(status, 302);
    assert_eq!(header(&h, "location"), Some("/console/switch-role"));

    // The bare user has long-term keys: kagi console asks STS for a federation token, which
    // the user's policies (only sts:AssumeRole on the role) do not allow.
    let o = sb.run(&["console"]);
    assert_eq!(o.code, 254, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        format!(
            "\nAn error occurred (AccessDenied) when calling the GetFederationToken operation: User: arn:aws:iam::{account}:user/user-for-switch is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::{account}:federated-user/user-for-switch because no identity-based policy allows the sts:GetFederationToken action\n"
        )
    );
    assert_eq!(o.stdout, "");
    // The account root's keys: refused, with what to do instead.
    let o = sb.run(&["console", "--profile", "admin"]);
    assert_eq!(o.code, 253, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("cannot sign in with the account root's access keys (profile \"admin\""),
        "{}",
        o.stderr
    );
    assert_eq!(o.stdout, "");

    // Temporary credentials with a wrong secret: the server refuses, the secret is not echoed.
    let creds: Value = serde_json::from_str(
        &sb.run(&[
            "sts",
            "assume-role",
            "--role-arn",
            &format!("arn:aws:iam::{account}:role/ECRLoginAndPushRole"),
            "--role-session-name",
            "console-test",
        ])
        .stdout,
    )
    .unwrap();
    let c = &creds["Credentials"];
    let wrong = "wrong-secret-0123456789-do-not-print";
    sb.set("AWS_ACCESS_KEY_ID", c["AccessKeyId"].as_str().unwrap())
        .set("AWS_SECRET_ACCESS_KEY", wrong)
        .set("AWS_SESSION_TOKEN", c["SessionToken"].as_str().unwrap());
    let o = sb.run(&["console"]);
    assert_eq!(o.code, 255, "{}", o.stderr);
    assert!(
        o.stderr.contains(&format!(
            "The sign-in federation endpoint {url}/federation refused to issue a sign-in token (HTTP 400)"
        )),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains(wrong), "{}", o.stderr);
    // The right secret from the environment works too (any temporary credentials do).
    sb.set(
        "AWS_SECRET_ACCESS_KEY",
        c["SecretAccessKey"].as_str().unwrap(),
    );
    let line = login_line(&sb, &["console"]);
    let (status, _, _) = http_get(&line, None);
    assert_eq!(status, 302);

    // --open hands the URL to $BROWSER instead of printing it.
    let opened = sb.home().join("opened");
    let script = sb.write(
        "browser.sh",
        &format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    sb.set("BROWSER", &script.display().to_string());
    let o = sb.run(&["console", "--open", "--destination", "/console/roles"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    let line = std::fs::read_to_string(&opened).unwrap();
    assert!(
        line.starts_with(&format!("{url}/federation?Action=login&")),
        "{line}"
    );
    let (status, h, _) = http_get(&line, None);
    assert_eq!(status, 302);
    assert_eq!(header(&h, "location"), Some("/console/roles"));

    server.shutdown();
}

/// An IAM user with `sts:GetFederationToken` and long-term keys: the CLI federates it (the
/// session policy allows everything, so the session has exactly the user's permissions).
fn federating_user(
    url: &str,
    server: &kagi_server::RunningServer,
) -> (crate::common::Sandbox, String) {
    let mut sb = crate::common::Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", url);
    sb.write(
        ".aws/config",
        &format!(
            "[profile admin]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = us-east-1\n",
            server.root_access_key_id,
            server.root_secret_access_key()
        ),
    );
    let admin = |sb: &crate::common::Sandbox, args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--profile", "admin"]);
        let o = sb.run(&a);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o.stdout
    };
    admin(&sb, &["iam", "create-user", "--user-name", "console-user"]);
    admin(
        &sb,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "console-user",
            "--policy-name",
            "federate-and-read",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetFederationToken","iam:ListUsers"],"Resource":"*"}]}"#,
        ],
    );
    let key: Value = serde_json::from_str(&admin(
        &sb,
        &["iam", "create-access-key", "--user-name", "console-user"],
    ))
    .unwrap();
    sb.set(
        "AWS_ACCESS_KEY_ID",
        key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
    )
    .set(
        "AWS_SECRET_ACCESS_KEY",
        key["AccessKey"]["SecretAccessKey"].as_str().unwrap(),
    );
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string();
    (sb, secret)
}

fn start() -> kagi_server::RunningServer {
    kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts")
}

#[test]
fn long_term_user_keys_are_federated_first() {
    let server = start();
    let url = format!("http://{}", server.addr);
    let account = server.account_id.clone();
    let (sb, secret) = federating_user(&url, &server);
    let o = sb.run(&["console", "--debug", "--session-duration", "3600"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .starts_with(&format!("{url}/federation?Action=login&Issuer=kagi&")),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr.contains(&format!(
            "kagi: [DEBUG] arn:aws:iam::{account}:user/console-user federated as arn:aws:sts::{account}:federated-user/console-user (ASIA"
        )),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("sts.GetFederationToken -> POST"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(&format!(
            "kagi: [DEBUG] getSigninToken at {url}/federation for ASIA"
        )),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains(&secret) && !o.stdout.contains(&secret));
    server.shutdown();
}

/// The whole way for long-term keys: federated, signed in, and in the console with the user's
/// permissions (IAM included: a federated user's console session may call IAM).
#[test]
fn long_term_user_keys_land_in_the_console_as_the_federated_user() {
    let server = start();
    let url = format!("http://{}", server.addr);
    let account = server.account_id.clone();
    let (sb, _) = federating_user(&url, &server);
    let line = login_line(&sb, &["console"]);
    let (status, h, _) = http_get(&line, None);
    assert_eq!(status, 302);
    let cookie = header(&h, "set-cookie")
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The federated user: the user's own permissions (iam:ListUsers), in the console.
    let (status, _, page) = http_get(&format!("{url}/console/users"), Some(&cookie));
    assert!(
        page.contains(&format!(
            "arn:aws:sts::{account}:federated-user/console-user"
        )),
        "{page}"
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("console-user"), "{page}");
    // ... and no more: the user may not list roles, so neither may its federated session.
    let (status, _, page) = http_get(&format!("{url}/console/roles"), Some(&cookie));
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("AccessDenied"), "{page}");
    server.shutdown();
}
