//! The seed story's IAM and STS steps over real HTTP with real SigV4 signatures, plus the
//! denials that make least privilege testable.

mod common;
use common::*;
use serde_json::json;

#[test]
fn seed_switch_role_story() {
    let server = start_in_memory();
    let root = Client::root(&server);
    assert_eq!(root.whoami(), format!("arn:aws:iam::{ACCOUNT}:root"));
    let id = root.ok("sts", "GetCallerIdentity", json!({}));
    assert_eq!(id["UserId"], ACCOUNT);
    assert_eq!(id["Account"], ACCOUNT);
    let info = root.ok("sts", "GetAccessKeyInfo", json!({"AccessKeyId": ROOT_AKID}));
    assert_eq!(info["Account"], ACCOUNT);
    assert_eq!(
        root.ok("iam", "ListAccountAliases", json!({}))["AccountAliases"],
        json!([])
    );

    // 2-3. user + key
    let created = root.ok("iam", "CreateUser", json!({"UserName": "user-for-switch"}));
    let user_id = created["User"]["UserId"].as_str().unwrap().to_owned();
    assert!(
        user_id.starts_with("AIDA") && user_id.len() == 21,
        "{user_id}"
    );
    assert_eq!(
        created["User"]["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );
    let key = root.ok(
        "iam",
        "CreateAccessKey",
        json!({"UserName": "user-for-switch"}),
    );
    let akid = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
    assert!(akid.starts_with("AKIA") && akid.len() == 20);
    assert_eq!(
        key["AccessKey"]["SecretAccessKey"].as_str().unwrap().len(),
        40
    );
    let user = Client::from_access_key(server.addr, &key["AccessKey"]);
    assert_eq!(
        user.whoami(),
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );

    // The bare user may do nothing.
    let (status, code, msg) = user.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/user-for-switch is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action"
        )
    );

    // 4. SwitchRolePolicy
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "SwitchRolePolicy", "PolicyDocument": switch_role_policy()}),
    );
    let switch_arn = p["Policy"]["Arn"].as_str().unwrap().to_owned();
    assert_eq!(
        switch_arn,
        format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy")
    );
    assert!(
        p["Policy"]["PolicyId"]
            .as_str()
            .unwrap()
            .starts_with("ANPA")
    );
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "user-for-switch", "PolicyArn": switch_arn}),
    );

    // 5. ECRPushAndLoginPolicy: with the tutorial's // comments it is malformed.
    let with_comments = "{\n  \"Version\": \"2012-10-17\",\n  // comment\n  \"Statement\": []\n}";
    let (status, code, msg) = root.err(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "ECRPushAndLoginPolicy", "PolicyDocument": with_comments}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));
    // AWS's sentence, then where and why.
    assert!(
        msg.starts_with("Syntax errors in policy. (line 3, column "),
        "{msg}"
    );
    let ecr_doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"VisualEditor0","Effect":"Allow","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:CompleteLayerUpload","ecr:UploadLayerPart","ecr:InitiateLayerUpload","ecr:BatchCheckLayerAvailability","ecr:PutImage"],"Resource":"arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/test-repos"}},{{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}]}}"#
    );
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "ECRPushAndLoginPolicy", "PolicyDocument": ecr_doc}),
    );
    let ecr_arn = p["Policy"]["Arn"].as_str().unwrap().to_owned();

    // 6. the role, trusting the account
    let r = root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "ECRLoginAndPushRole", "AssumeRolePolicyDocument": root_trust()}),
    );
    let role_arn = r["Role"]["Arn"].as_str().unwrap().to_owned();
    let role_id = r["Role"]["RoleId"].as_str().unwrap().to_owned();
    assert!(role_id.starts_with("AROA"));
    assert_eq!(r["Role"]["MaxSessionDuration"], 3600);
    root.ok(
        "iam",
        "AttachRolePolicy",
        json!({"RoleName": "ECRLoginAndPushRole", "PolicyArn": ecr_arn}),
    );

    // 9. assume the role
    let a = user.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": role_arn, "RoleSessionName": "botocore-session-1700000000"}),
    );
    let creds = &a["Credentials"];
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(
        a["AssumedRoleUser"]["AssumedRoleId"],
        format!("{role_id}:botocore-session-1700000000")
    );
    let session = Client::from_credentials(server.addr, creds);
    let id = session.ok("sts", "GetCallerIdentity", json!({}));
    assert_eq!(
        id["Arn"],
        format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/ECRLoginAndPushRole/botocore-session-1700000000"
        )
    );
    assert_eq!(
        id["UserId"],
        format!("{role_id}:botocore-session-1700000000")
    );
    assert_eq!(
        user.whoami(),
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );

    // The role cannot call IAM.
    let (status, code, msg) = session.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert!(msg.starts_with(&format!("User: arn:aws:sts::{ACCOUNT}:assumed-role/ECRLoginAndPushRole/botocore-session-1700000000 is not authorized to perform: iam:ListUsers")), "{msg}");

    // Root-named trust needs the identity policy: without it, AccessDenied.
    root.ok(
        "iam",
        "DetachUserPolicy",
        json!({"UserName": "user-for-switch", "PolicyArn": switch_arn}),
    );
    let (status, code, msg) = user.err(
        "sts",
        "AssumeRole",
        json!({"RoleArn": role_arn, "RoleSessionName": "s2"}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/user-for-switch is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    );

    // A trust policy naming the user itself suffices without an identity policy.
    let user_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/user-for-switch"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    root.ok(
        "iam",
        "UpdateAssumeRolePolicy",
        json!({"RoleName": "ECRLoginAndPushRole", "PolicyDocument": user_trust}),
    );
    user.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": role_arn, "RoleSessionName": "direct"}),
    );

    // Root cannot assume roles.
    let (_, code, msg) = root.err(
        "sts",
        "AssumeRole",
        json!({"RoleArn": role_arn, "RoleSessionName": "root"}),
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("AccessDenied", "Roles may not be assumed by root accounts.")
    );
}

#[test]
fn explicit_deny_beats_allow() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "all", "PolicyDocument": allow}),
    );
    alice.ok("iam", "ListUsers", json!({}));
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}"#;
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "NoList", "PolicyDocument": deny}),
    );
    let arn = p["Policy"]["Arn"].as_str().unwrap();
    // Through a group, to check group policies count.
    root.ok("iam", "CreateGroup", json!({"GroupName": "devs"}));
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "devs", "UserName": "alice"}),
    );
    root.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "devs", "PolicyArn": arn}),
    );
    let (status, code, msg) = alice.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert!(
        msg.ends_with(&format!(
            "with an explicit deny in an identity-based policy: {arn}"
        )),
        "{msg}"
    );
    alice.ok("iam", "ListRoles", json!({}));
    // GetCallerIdentity is always allowed.
    let deny_all =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "none", "PolicyDocument": deny_all}),
    );
    assert_eq!(alice.whoami(), format!("arn:aws:iam::{ACCOUNT}:user/alice"));
}
