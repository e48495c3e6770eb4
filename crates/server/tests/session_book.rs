//! Which STS sessions the server records: only those later named by key id alone.

mod common;
use common::*;
use serde_json::json;

fn session_rows(dir: &std::path::Path) -> Vec<String> {
    use kagi_server::store::{AccountStore, StoreExt, Table};
    AccountStore::new(backend_of(dir), ACCOUNT)
        .view(|tx| tx.scan(Table::Sessions, ""))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn assume_role_records_nothing_until_the_session_calls_ecr() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_dir(Some(dir.path().to_owned()));
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "ECRLoginAndPushRole", "AssumeRolePolicyDocument": root_trust()}),
    );
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "switch", "PolicyDocument": switch_role_policy()}),
    );
    root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": "ECRLoginAndPushRole", "PolicyName": "ecr", "PolicyDocument":
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#}),
    );
    let assume = |name: &str| {
        let out = alice.ok(
            "sts",
            "AssumeRole",
            json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole"), "RoleSessionName": name}),
        );
        Client::from_credentials(server.addr, &out["Credentials"])
    };
    let quiet = assume("quiet");
    let busy = assume("busy");
    // Both work for the API without any record: the token is the credential.
    assert!(quiet.whoami().ends_with("/quiet"));
    assert!(busy.whoami().ends_with("/busy"));
    // An ECR call (whose registry password names only the key id) records that session.
    busy.ecr("GetAuthorizationToken", json!({})).unwrap();
    busy.ecr("GetAuthorizationToken", json!({})).unwrap(); // idempotent
    let busy_key = busy.creds.access_key_id.clone();
    server.shutdown(); // flushes the book
    assert_eq!(session_rows(dir.path()), vec![busy_key]);
}
