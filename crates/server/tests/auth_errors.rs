//! Authentication failures in AWS's codes and messages.

mod common;
use common::*;
use kagi_server::model::{Session, SessionKind};
use serde_json::json;
use std::time::{Duration, SystemTime};

const GCI: &str = "Action=GetCallerIdentity&Version=2011-06-15";

#[test]
fn signature_and_key_failures() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");

    // No auth at all.
    let raw = root.post_raw(
        &[(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        GCI,
    );
    assert_eq!(raw.status, 403, "{}", raw.body);
    assert!(
        raw.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        raw.body
    );
    assert!(
        raw.body
            .contains("https://sts.amazonaws.com/doc/2011-06-15/"),
        "{}",
        raw.body
    );

    // Unknown key.
    let ghost = Client::new(server.addr, "AKIAAAAAAAAAAAAAAAAA", ROOT_SECRET, None);
    let (status, code, msg) = ghost.err("sts", "GetCallerIdentity", json!({}));
    assert_eq!(
        (status, code.as_str(), msg.as_str()),
        (
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid."
        )
    );

    // Wrong secret.
    let wrong = Client::new(
        server.addr,
        &alice.creds.access_key_id,
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
    );
    let (status, code, _) = wrong.err("sts", "GetCallerIdentity", json!({}));
    assert_eq!((status, code.as_str()), (403, "SignatureDoesNotMatch"));

    // 16 minutes of skew.
    let raw = alice.send("sts", GCI, SystemTime::now() - Duration::from_secs(16 * 60));
    assert_eq!(raw.status, 403);
    let e = kagi_api::xml::decode_error(&raw.body).unwrap();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert!(
        e.message.starts_with("Signature expired: "),
        "{}",
        e.message
    );

    // Inactive, then deleted key.
    alice.ok("sts", "GetCallerIdentity", json!({}));
    root.ok("iam", "UpdateAccessKey", json!({"UserName": "alice", "AccessKeyId": alice.creds.access_key_id, "Status": "Inactive"}));
    assert_eq!(
        alice.err("sts", "GetCallerIdentity", json!({})).1,
        "InvalidClientTokenId"
    );
    root.ok(
        "iam",
        "UpdateAccessKey",
        json!({"UserName": "alice", "AccessKeyId": alice.creds.access_key_id, "Status": "Active"}),
    );
    alice.ok("sts", "GetCallerIdentity", json!({}));
    root.ok(
        "iam",
        "DeleteAccessKey",
        json!({"UserName": "alice", "AccessKeyId": alice.creds.access_key_id}),
    );
    assert_eq!(
        alice.err("sts", "GetCallerIdentity", json!({})).1,
        "InvalidClientTokenId"
    );
}

#[test]
fn session_tokens_tampered_missing_and_expired() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_dir(Some(dir.path().to_path_buf()));
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "R", "AssumeRolePolicyDocument": trust}),
    );
    let a = alice.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/R"), "RoleSessionName": "s1"}),
    );
    let c = &a["Credentials"];
    let good = Client::from_credentials(server.addr, c);
    assert!(good.whoami().ends_with(":assumed-role/R/s1"));

    // Token missing.
    let no_token = Client::new(
        server.addr,
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        None,
    );
    assert_eq!(
        no_token.err("sts", "GetCallerIdentity", json!({})).1,
        "InvalidClientTokenId"
    );

    // Token tampered (one character changed in the middle).
    let mut t = c["SessionToken"].as_str().unwrap().as_bytes().to_vec();
    let i = t.len() / 2;
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    let tampered = Client::new(
        server.addr,
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        Some(std::str::from_utf8(&t).unwrap()),
    );
    let (status, code, _) = tampered.err("sts", "GetCallerIdentity", json!({}));
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));

    // A long-term key with a session token: refused.
    let akia_with_token = Client::new(
        server.addr,
        &alice.creds.access_key_id,
        &alice.creds.secret_access_key,
        c["SessionToken"].as_str(),
    );
    assert_eq!(
        akia_with_token.err("sts", "GetCallerIdentity", json!({})).1,
        "InvalidClientTokenId"
    );

    // Another session's token with this key: refused.
    let b = alice.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/R"), "RoleSessionName": "s2"}),
    );
    let mixed = Client::new(
        server.addr,
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        b["Credentials"]["SessionToken"].as_str(),
    );
    assert_eq!(
        mixed.err("sts", "GetCallerIdentity", json!({})).1,
        "InvalidClientTokenId"
    );

    // An expired session, minted with the server's own key (as if time had passed).
    let sealer = sealer_of(dir.path());
    let role_id = a["AssumedRoleUser"]["AssumedRoleId"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let now = kagi_server::ids::now_secs();
    let secret = "expiredexpiredexpiredexpiredexpired12345";
    let s = Session {
        access_key_id: "ASIAEXPIREDEXPIRED22".into(),
        secret_sealed: sealer.seal_str("session-secret", secret),
        kind: SessionKind::Role {
            role_name: "R".into(),
            role_id,
            session_name: "old".into(),
        },
        issued: now - 7200,
        expires: now - 3600,
        mfa: false,
        console: false,
        session_policies: vec![],
        has_session_policy: false,
        tags: vec![],
        source_identity: None,
        account: String::new(),
    };
    let token = sealer.seal_token(&serde_json::to_vec(&s).unwrap());
    let expired = Client::new(server.addr, "ASIAEXPIREDEXPIRED22", secret, Some(&token));
    let (status, code, msg) = expired.err("sts", "GetCallerIdentity", json!({}));
    assert_eq!((status, code.as_str()), (400, "ExpiredToken"));
    assert_eq!(msg, "The security token included in the request is expired");
}

#[test]
fn query_protocol_over_get_and_presigned_urls() {
    use kagi_sigv4::SigningParams;
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let host = server.addr.to_string();
    let get = |query: &str, headers: &[(String, String)]| {
        let mut req = agent.get(format!("http://{host}/?{query}"));
        for (k, v) in headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let mut r = req.call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    // Header-signed GET.
    let q = "Action=GetCallerIdentity&Version=2011-06-15";
    let mut headers = vec![("host".to_string(), host.clone())];
    let params = SigningParams {
        region: "us-east-1",
        service: "sts",
        time: SystemTime::now(),
    };
    kagi_sigv4::sign_headers("GET", "/", q, &mut headers, b"", &alice.creds, &params).unwrap();
    let (status, body) = get(q, &headers);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("<Arn>arn:aws:iam::{ACCOUNT}:user/alice</Arn>")),
        "{body}"
    );
    // Presigned URL.
    let host_only = vec![("host".to_string(), host.clone())];
    let signed_q = kagi_sigv4::presign(
        "GET",
        "/",
        q,
        &host_only,
        b"",
        &alice.creds,
        &params,
        Duration::from_secs(60),
    )
    .unwrap();
    let (status, body) = get(&signed_q, &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<GetCallerIdentityResult>"), "{body}");
    // Tampered presigned URL: another action under the same signature.
    let (status, body) = get(
        &signed_q.replace("GetCallerIdentity", "GetSessionToken"),
        &[],
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    // IAM over GET, with the IAM namespace on errors.
    let q = "Action=ListUsers&Version=2010-05-08";
    let mut headers = vec![("host".to_string(), host.clone())];
    let params = SigningParams {
        region: "us-east-1",
        service: "iam",
        time: SystemTime::now(),
    };
    kagi_sigv4::sign_headers("GET", "/", q, &mut headers, b"", &alice.creds, &params).unwrap();
    let (status, body) = get(q, &headers);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("https://iam.amazonaws.com/doc/2010-05-08/")
            && body.contains("<Code>AccessDenied</Code>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");
}

#[test]
fn oversized_query_bodies_are_refused_before_auth() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let big = format!(
        "Action=GetCallerIdentity&Version=2011-06-15&Pad={}",
        "x".repeat(1 << 20)
    );
    let raw = root.send("sts", &big, SystemTime::now());
    assert_eq!(raw.status, 413, "{}", &raw.body[..raw.body.len().min(300)]);
    assert!(
        raw.body.contains("<Code>RequestEntityTooLarge</Code>"),
        "{}",
        raw.body
    );
    // The server is fine afterwards.
    root.ok("sts", "GetCallerIdentity", json!({}));
}

#[test]
fn favicon_is_not_an_aws_request() {
    let server = start_in_memory();
    let resp = ureq::get(format!("http://{}/favicon.ico", server.addr))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Any other unsigned GET is still an AWS request, refused as AWS does.
    let resp = ureq::get(format!("http://{}/robots.txt", server.addr))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[test]
fn a_user_re_created_under_the_same_name_does_not_inherit_old_sessions() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let out = alice.ok("sts", "GetSessionToken", json!({}));
    let session = Client::from_credentials(server.addr, &out["Credentials"]);
    assert!(session.whoami().ends_with(":user/alice"));
    // Delete alice (her key first) and make a new alice.
    root.ok(
        "iam",
        "DeleteAccessKey",
        json!({"UserName": "alice", "AccessKeyId": alice.creds.access_key_id}),
    );
    root.ok("iam", "DeleteUser", json!({"UserName": "alice"}));
    let _new_alice = user_with_key(&root, "alice");
    let (status, code, _) = session.err("sts", "GetCallerIdentity", json!({}));
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
}
