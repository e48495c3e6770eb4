//! The account root's own access keys: CreateAccessKey / ListAccessKeys / UpdateAccessKey /
//! DeleteAccessKey / GetAccessKeyLastUsed without `UserName`, called by the root. At most two;
//! a deactivated or deleted key is refused from the very next request; the last one may go,
//! and the server still starts afterwards.

mod common;
use common::*;
use serde_json::{Value, json};

fn key_ids(v: &Value) -> Vec<String> {
    v["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["AccessKeyId"].as_str().unwrap().to_owned())
        .collect()
}

fn refused(c: &Client) {
    match c.call("sts", "GetCallerIdentity", json!({})) {
        Err((403, e)) => assert_eq!(e.code, "InvalidClientTokenId", "{}", e.message),
        other => panic!("expected InvalidClientTokenId, got {other:?}"),
    }
}

#[test]
fn root_manages_its_own_keys() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let root_arn = format!("arn:aws:iam::{ACCOUNT}:root");

    // The configured key is one of the root's keys; a root key names no IAM user.
    let listed = root.ok("iam", "ListAccessKeys", json!({}));
    assert_eq!(key_ids(&listed), [ROOT_AKID]);
    assert_eq!(listed["AccessKeyMetadata"][0]["Status"], "Active");
    assert!(listed["AccessKeyMetadata"][0].get("UserName").is_none());

    let created = root.ok("iam", "CreateAccessKey", json!({}));
    let k = &created["AccessKey"];
    assert!(k.get("UserName").is_none(), "{k}");
    assert_eq!(k["Status"], "Active");
    let second = Client::from_access_key(server.addr, k);
    let second_id = second.creds.access_key_id.clone();
    assert!(second_id.starts_with("AKIA") && second_id.len() == 20);
    assert_eq!(second.whoami(), root_arn);
    // The root is allowed everything with either key.
    second.ok("iam", "ListUsers", json!({}));

    let (status, code, msg) = root.err("iam", "CreateAccessKey", json!({}));
    assert_eq!((status, code.as_str()), (409, "LimitExceeded"));
    assert_eq!(msg, "Cannot exceed quota for AccessKeysPerUser: 2");
    let mut both = key_ids(&root.ok("iam", "ListAccessKeys", json!({})));
    both.sort();
    let mut expected = [ROOT_AKID.to_owned(), second_id.clone()];
    expected.sort();
    assert_eq!(both, expected);

    // An IAM user's bare call is about its own keys, and a UserName always means an IAM user.
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "own-keys", "PolicyDocument": format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::{ACCOUNT}:user/alice"}}]}}"#
        )}),
    );
    let own = alice.ok("iam", "ListAccessKeys", json!({}));
    assert_eq!(
        key_ids(&own),
        std::slice::from_ref(&alice.creds.access_key_id)
    );
    assert_eq!(own["AccessKeyMetadata"][0]["UserName"], "alice");
    assert_eq!(
        key_ids(&root.ok("iam", "ListAccessKeys", json!({"UserName": "alice"}))),
        std::slice::from_ref(&alice.creds.access_key_id)
    );
    // alice cannot reach the root's keys, by id or otherwise.
    let (status, code, _) = alice.err("iam", "DeleteAccessKey", json!({"AccessKeyId": second_id}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let (status, code, _) = alice.err(
        "iam",
        "GetAccessKeyLastUsed",
        json!({"AccessKeyId": second_id}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    // ... and the root's bare calls do not reach alice's.
    let (status, code, _) = root.err(
        "iam",
        "UpdateAccessKey",
        json!({"AccessKeyId": alice.creds.access_key_id, "Status": "Inactive"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    alice.whoami();

    // Deactivation takes effect on the next request, and so does reactivation.
    root.ok(
        "iam",
        "UpdateAccessKey",
        json!({"AccessKeyId": second_id, "Status": "Inactive"}),
    );
    refused(&second);
    let listed = root.ok("iam", "ListAccessKeys", json!({}));
    let status_of = |id: &str| {
        listed["AccessKeyMetadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["AccessKeyId"] == id)
            .map(|k| k["Status"].clone())
    };
    assert_eq!(status_of(&second_id), Some(json!("Inactive")));
    assert_eq!(status_of(ROOT_AKID), Some(json!("Active")));
    root.ok(
        "iam",
        "UpdateAccessKey",
        json!({"AccessKeyId": second_id, "Status": "Active"}),
    );
    assert_eq!(second.whoami(), root_arn);

    // Last use of a root key: no user name.
    let used = root.ok(
        "iam",
        "GetAccessKeyLastUsed",
        json!({"AccessKeyId": second_id}),
    );
    assert_eq!(used["AccessKeyLastUsed"]["ServiceName"], "sts");
    assert!(used["AccessKeyLastUsed"]["LastUsedDate"].is_string());
    assert!(used.get("UserName").is_none(), "{used}");

    // The second key deletes the configured one; the configured one is refused at once.
    second.ok("iam", "DeleteAccessKey", json!({"AccessKeyId": ROOT_AKID}));
    refused(&root);
    assert_eq!(
        key_ids(&second.ok("iam", "ListAccessKeys", json!({}))),
        std::slice::from_ref(&second_id)
    );
    let (status, code, _) = second.err("iam", "DeleteAccessKey", json!({"AccessKeyId": ROOT_AKID}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));

    // The last root key may go too (the root's console password still signs in).
    second.ok("iam", "DeleteAccessKey", json!({"AccessKeyId": second_id}));
    refused(&second);
    alice.whoami();
}

fn config(dir: &std::path::Path) -> kagi_server::ServerConfig {
    kagi_server::ServerConfig {
        data_dir: Some(dir.to_owned()),
        database_url: common::test_database(Some(dir)),
        account_id: Some(ACCOUNT.into()),
        ..kagi_server::ServerConfig::in_memory()
    }
}

#[test]
fn restart_after_deleting_root_keys() {
    let dir = tempfile::tempdir().unwrap();
    // First start without configured credentials: the root key is generated.
    let server = kagi_server::start_background(config(dir.path())).unwrap();
    let first = Client::root(&server);
    let first_id = server.root_access_key_id.clone();
    let k = first.ok("iam", "CreateAccessKey", json!({}));
    let second_id = k["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    let second_secret = k["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_owned();
    first.ok("iam", "DeleteAccessKey", json!({"AccessKeyId": first_id}));
    server.shutdown();

    // The next start loads the root's remaining key.
    let server = kagi_server::start_background(config(dir.path())).unwrap();
    assert_eq!(server.root_access_key_id, second_id);
    let second = Client::new(server.addr, &second_id, &second_secret, None);
    assert_eq!(second.whoami(), format!("arn:aws:iam::{ACCOUNT}:root"));
    refused(&Client::new(
        server.addr,
        &first_id,
        &first.creds.secret_access_key,
        None,
    ));

    // Deleting the last one: the server still starts, and the key stays refused and unlisted.
    second.ok("iam", "DeleteAccessKey", json!({"AccessKeyId": second_id}));
    server.shutdown();
    let server = kagi_server::start_background(config(dir.path())).unwrap();
    let second = Client::new(server.addr, &second_id, &second_secret, None);
    refused(&second);
    server.shutdown();
}
