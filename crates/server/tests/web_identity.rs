//! AssumeRoleWithWebIdentity against a real OpenID Connect issuer on loopback
//! (`kagi_testkit::oidc`: a discovery document and a JWK set over HTTP, ID tokens signed with
//! ring), sent unsigned to `kagi serve` as a CI job with an OIDC token does.

mod common;

use common::*;
use kagi_testkit::oidc::{AUDIENCE, Issuer, Keys, b64, now};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::Duration;

const NOT_AUTHORIZED: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

struct Fixture {
    server: kagi_server::RunningServer,
    root: Client,
    issuer: Issuer,
    keys: Keys,
    role_arn: String,
}

/// An issuer with the EC key, its IAM OIDC provider, and the role `ci-deploy` that trusts the
/// provider for tokens of `repo:kagi/kagi:*` meant for `sts.amazonaws.com`, allowed iam:ListUsers.
fn fixture() -> Fixture {
    let server = start_in_memory();
    let root = Client::root(&server);
    let keys = Keys::new();
    let issuer = Issuer::start(json!({"keys": [keys.ec_jwk("ec-1")]}));
    let provider = root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": issuer.url, "ClientIDList": [AUDIENCE]}),
    )["OpenIDConnectProviderArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        provider,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{}", issuer.host())
    );
    let host = issuer.host();
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{host}:aud"): AUDIENCE},
            "StringLike": {format!("{host}:sub"): "repo:kagi/kagi:*"}
        }
    }]});
    let role_arn = root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "ci-deploy", "AssumeRolePolicyDocument": trust.to_string()}),
    )["Role"]["Arn"]
        .as_str()
        .unwrap()
        .to_owned();
    root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": "ci-deploy", "PolicyName": "list-users", "PolicyDocument": json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]
        }).to_string()}),
    );
    Fixture {
        server,
        root,
        issuer,
        keys,
        role_arn,
    }
}

impl Fixture {
    fn exchange(&self, token: &str, extra: Value) -> Result<Value, (u16, String, String)> {
        let mut input = json!({
            "RoleArn": self.role_arn, "RoleSessionName": "gha-run-1", "WebIdentityToken": token
        });
        if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        self.root
            .call_unsigned("sts", "AssumeRoleWithWebIdentity", input)
            .map_err(|(s, e)| (s, e.code, e.message))
    }
}

#[test]
fn an_id_token_becomes_a_role_session_under_the_trust_policy() {
    let fx = fixture();
    let token = fx.keys.token(
        "ES256",
        "ec-1",
        &fx.issuer.claims("repo:kagi/kagi:ref:refs/heads/main"),
    );
    let out = fx.exchange(&token, json!({})).unwrap();
    let session_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/gha-run-1");
    assert_eq!(out["AssumedRoleUser"]["Arn"], session_arn.as_str());
    assert_eq!(
        out["SubjectFromWebIdentityToken"],
        "repo:kagi/kagi:ref:refs/heads/main"
    );
    assert_eq!(out["Audience"], AUDIENCE);
    assert_eq!(
        out["Provider"],
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{}", fx.issuer.host()).as_str()
    );
    assert!(
        out["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );

    // The session has the role's permissions, and only those.
    let session = Client::from_credentials(fx.server.addr, &out["Credentials"]);
    assert_eq!(session.whoami(), session_arn);
    session.ok("iam", "ListUsers", json!({}));
    let (status, code, msg) = session.err("iam", "ListRoles", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"), "{msg}");

    // RS256 with a key the issuer publishes later: kagi asks the issuer again for an unknown kid
    // (at most once a second), and otherwise answers from its cache.
    fx.issuer.jwks.lock().unwrap()["keys"]
        .as_array_mut()
        .unwrap()
        .push(fx.keys.rsa_jwk("rsa-1"));
    std::thread::sleep(Duration::from_millis(1100));
    let rsa_token = fx.keys.token(
        "RS256",
        "rsa-1",
        &fx.issuer.claims("repo:kagi/kagi:pull_request"),
    );
    fx.exchange(&rsa_token, json!({})).unwrap();
    let hits = fx.issuer.hits.load(Ordering::SeqCst);
    assert_eq!(hits, 4, "discovery + keys, twice");
    for _ in 0..3 {
        fx.exchange(&token, json!({})).unwrap();
        fx.exchange(&rsa_token, json!({})).unwrap();
    }
    assert_eq!(fx.issuer.hits.load(Ordering::SeqCst), hits, "cached");

    // Session policies narrow the session, as with AssumeRole.
    let narrowed = fx
        .exchange(
            &token,
            json!({"Policy": json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}).to_string()}),
        )
        .unwrap();
    assert!(narrowed["PackedPolicySize"].as_i64().is_some());
    let narrowed = Client::from_credentials(fx.server.addr, &narrowed["Credentials"]);
    let (status, _, msg) = narrowed.err("iam", "ListUsers", json!({}));
    assert_eq!(status, 403);
    assert!(msg.contains("no session policy allows"), "{msg}");
}

#[test]
fn refusals_in_aws_words() {
    let fx = fixture();
    let k = &fx.keys;
    let good = fx.issuer.claims("repo:kagi/kagi:ref:refs/heads/main");
    let with = |patch: Value| {
        let mut c = good.clone();
        c.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        c
    };
    let refused = |token: &str, extra: Value| fx.exchange(token, extra).unwrap_err();

    // The trust policy's conditions decide.
    let other_repo = k.token("ES256", "ec-1", &with(json!({"sub": "repo:evil/fork:ref"})));
    assert_eq!(
        refused(&other_repo, json!({})),
        (403, "AccessDenied".into(), NOT_AUTHORIZED.into())
    );
    // A role that does not exist answers the same.
    let good_token = k.token("ES256", "ec-1", &good);
    let mut missing = json!({});
    missing["RoleArn"] = json!(format!("arn:aws:iam::{ACCOUNT}:role/nope"));
    assert_eq!(
        refused(&good_token, missing),
        (403, "AccessDenied".into(), NOT_AUTHORIZED.into())
    );
    // A role trusting the account (not the provider) cannot be assumed with a web identity.
    fx.root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "account-only", "AssumeRolePolicyDocument": root_trust()}),
    );
    assert_eq!(
        refused(
            &good_token,
            json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/account-only")})
        )
        .0,
        403
    );

    // The token itself.
    let wrong_aud = k.token("ES256", "ec-1", &with(json!({"aud": "someone-else"})));
    assert_eq!(
        refused(&wrong_aud, json!({})),
        (
            400,
            "InvalidIdentityToken".into(),
            "Incorrect token audience".into()
        )
    );
    let t = now();
    let expired = k.token(
        "ES256",
        "ec-1",
        &with(json!({"iat": t - 900, "nbf": t - 900, "exp": t - 60})),
    );
    let (status, code, msg) = refused(&expired, json!({}));
    assert_eq!((status, code.as_str()), (400, "ExpiredTokenException"));
    assert!(msg.starts_with("Token expired: current date/time"), "{msg}");
    let future = k.token("ES256", "ec-1", &with(json!({"nbf": t + 3600})));
    assert_eq!(refused(&future, json!({})).1, "InvalidIdentityToken");

    // Signatures: a payload swapped under another token's signature, a key the issuer does not
    // publish, `alg: none`.
    let mut parts: Vec<&str> = good_token.split('.').collect();
    let forged_claims = b64(with(json!({"sub": "repo:kagi/kagi:x"}))
        .to_string()
        .as_bytes());
    parts[1] = &forged_claims;
    let (status, code, msg) = refused(&parts.join("."), json!({}));
    assert_eq!((status, code.as_str()), (400, "InvalidIdentityToken"));
    assert!(msg.contains("signature"), "{msg}");
    let stranger = Keys::new();
    let (_, code, msg) = refused(&stranger.token("ES256", "ec-1", &good), json!({}));
    assert_eq!(code, "InvalidIdentityToken");
    assert!(msg.contains("signature"), "{msg}");
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(good.to_string().as_bytes())
    );
    assert_eq!(refused(&none, json!({})).1, "InvalidIdentityToken");
    assert_eq!(refused("not-a-jwt", json!({})).1, "InvalidIdentityToken");

    // Issuers: none registered for this one; one registered but unreachable.
    let unknown = k.token(
        "ES256",
        "ec-1",
        &with(json!({"iss": "https://issuer.example.com"})),
    );
    assert_eq!(
        refused(&unknown, json!({})),
        (
            400,
            "InvalidIdentityToken".into(),
            "No OpenIDConnect provider found in your account for https://issuer.example.com".into()
        )
    );
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    fx.root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": closed, "ClientIDList": [AUDIENCE]}),
    );
    let (status, code, msg) = refused(
        &k.token("ES256", "ec-1", &with(json!({"iss": closed}))),
        json!({}),
    );
    assert_eq!((status, code.as_str()), (400, "InvalidIdentityToken"));
    assert!(
        msg.starts_with("Couldn't retrieve verification key from your identity provider"),
        "{msg}"
    );

    // Parameters, as AssumeRole checks them.
    let (status, code, _) = refused(&good_token, json!({"DurationSeconds": 7200}));
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    let (status, code, _) = refused(&good_token, json!({"RoleSessionName": "bad name"}));
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
}

#[test]
fn providers_need_https_unless_loopback() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let (status, code, _) = root.err(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": "http://issuer.example.com", "ClientIDList": [AUDIENCE]}),
    );
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    let arn = root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": "http://localhost:9/idp", "ClientIDList": [AUDIENCE]}),
    )["OpenIDConnectProviderArn"]
        .clone();
    assert_eq!(
        arn,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/localhost:9/idp").as_str()
    );
}

/// The official clients' web identity provider (botocore's, as the AWS CLI and boto3 use it):
/// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, no keys at all.
#[test]
fn official_clients_exchange_a_token_file() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(std::path::PathBuf::from) else {
        if std::env::var_os("CI").is_some() {
            panic!("KAGI_COMPAT_VENV (a venv with awscli and boto3) is required under CI");
        }
        eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test`");
        return;
    };
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let token = fx.keys.token(
        "RS256",
        "rsa-1",
        &fx.issuer.claims("repo:kagi/kagi:ref:refs/heads/main"),
    );
    fx.issuer.jwks.lock().unwrap()["keys"]
        .as_array_mut()
        .unwrap()
        .push(fx.keys.rsa_jwk("rsa-1"));
    std::fs::write(&token_file, &token).unwrap();
    let run = |program: &std::path::Path, args: &[&str], token_file: &std::path::Path| {
        let out = std::process::Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials"),
            )
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)
            .env("AWS_ROLE_ARN", &fx.role_arn)
            .env("AWS_ROLE_SESSION_NAME", "gha-official")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://{}", fx.server.addr))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let aws = venv.join("bin/aws");
    let (code, stdout, stderr) = run(
        &aws,
        &["sts", "get-caller-identity", "--output", "json"],
        &token_file,
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/gha-official").as_str()
    );
    // boto3: the session's permissions are the role's.
    let script = "import boto3, botocore.exceptions as x\n\
        iam = boto3.client('iam')\n\
        iam.list_users()\n\
        try:\n    iam.list_roles(); print('ListRoles allowed')\n\
        except x.ClientError as e:\n    print('denied', e.response['Error']['Code'])\n";
    let (code, stdout, stderr) = run(&venv.join("bin/python"), &["-c", script], &token_file);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "denied AccessDenied");
    // A token for another repository: the CLI reports STS's AccessDenied.
    let other = dir.path().join("other-token");
    std::fs::write(
        &other,
        fx.keys
            .token("ES256", "ec-1", &fx.issuer.claims("repo:evil/fork:ref")),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&aws, &["sts", "get-caller-identity"], &other);
    assert_ne!(code, Some(0), "{stdout}");
    assert!(
        stderr.contains("AccessDenied") && stderr.contains(NOT_AUTHORIZED),
        "{stderr}"
    );
}

/// Session tags from the token's `https://aws.amazon.com/tags` claim: they need sts:TagSession in
/// the trust policy, reach it as `aws:RequestTag/K`, and become the session's principal tags.
#[test]
fn session_tags_from_the_token() {
    let fx = fixture();
    let host = fx.issuer.host();
    let provider = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        "Condition": {"StringEquals": {format!("{host}:aud"): AUDIENCE, "aws:RequestTag/team": "platform"}}
    }]});
    let tagged = fx.root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "tagged", "AssumeRolePolicyDocument": trust.to_string()}),
    )["Role"]["Arn"]
        .as_str()
        .unwrap()
        .to_owned();
    fx.root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": "tagged", "PolicyName": "by-team", "PolicyDocument": json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "platform"}}}]
        }).to_string()}),
    );
    let claims = |team: Value| {
        let mut c = fx.issuer.claims("repo:kagi/kagi:ref:refs/heads/main");
        c["https://aws.amazon.com/tags"] =
            json!({"principal_tags": {"team": team}, "transitive_tag_keys": ["team"]});
        c
    };
    let exchange = |role: &str, claims: &Value| {
        fx.exchange(
            &fx.keys.token("ES256", "ec-1", claims),
            json!({"RoleArn": role}),
        )
    };

    let out = exchange(&tagged, &claims(json!(["platform"]))).unwrap();
    assert!(out["PackedPolicySize"].as_i64().is_some(), "{out}");
    let session = Client::from_credentials(fx.server.addr, &out["Credentials"]);
    session.ok("iam", "ListUsers", json!({}));

    // Another team's token: the trust policy's aws:RequestTag condition refuses it.
    let (status, code, _) = exchange(&tagged, &claims(json!(["web"]))).unwrap_err();
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    // ci-deploy's trust policy does not allow sts:TagSession: a tagged token is refused there.
    let (status, _, msg) = exchange(&fx.role_arn, &claims(json!(["platform"]))).unwrap_err();
    assert_eq!((status, msg.as_str()), (403, NOT_AUTHORIZED));
    // A malformed claim is a malformed token.
    let (status, code, _) = exchange(&tagged, &claims(json!("platform"))).unwrap_err();
    assert_eq!((status, code.as_str()), (400, "InvalidIdentityToken"));
}

/// A burst of tokens from a cold cache asks the issuer once (one fetch per issuer at a time).
#[test]
fn a_burst_of_tokens_asks_the_issuer_once() {
    let fx = fixture();
    let token = fx.keys.token(
        "ES256",
        "ec-1",
        &fx.issuer.claims("repo:kagi/kagi:ref:refs/heads/main"),
    );
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| fx.exchange(&token, json!({})).unwrap());
        }
    });
    assert_eq!(
        fx.issuer.hits.load(Ordering::SeqCst),
        2,
        "one discovery document and one key set"
    );
}

/// SSRF through an issuer (issue #15): an issuer's discovery answering with a redirect is not
/// followed (a redirect could send the server's request anywhere the destination check would
/// refuse), so the key set behind the redirect is never asked for and the token is refused.
#[test]
fn an_issuer_redirect_is_not_followed() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let keys = Keys::new();
    // The real keys, reachable only by following the redirect.
    let behind = Issuer::start(json!({"keys": [keys.ec_jwk("ec-1")]}));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (target, redirects) = (
        behind.url.clone(),
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    let counted = redirects.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let host = url.trim_start_matches("http://").to_owned();
    let provider = root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": url, "ClientIDList": [AUDIENCE]}),
    )["OpenIDConnectProviderArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): AUDIENCE}}
    }]});
    let role_arn = root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "redirected", "AssumeRolePolicyDocument": trust.to_string()}),
    )["Role"]["Arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = now();
    let token = keys.token(
        "ES256",
        "ec-1",
        &json!({"iss": url, "aud": AUDIENCE, "sub": "repo:x/y:ref", "iat": t, "nbf": t, "exp": t + 300}),
    );
    let refused = root.call_unsigned(
        "sts",
        "AssumeRoleWithWebIdentity",
        json!({"RoleArn": role_arn, "RoleSessionName": "redirected", "WebIdentityToken": token}),
    );
    let (status, e) = refused.expect_err("a token whose keys are behind a redirect");
    assert_eq!(status, 400, "{e}");
    assert!(
        redirects.load(Ordering::SeqCst) >= 1,
        "the issuer was not asked: {e}"
    );
    assert_eq!(
        behind.hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}
