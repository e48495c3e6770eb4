//! STS GetFederationToken: who may call it, the federated user's identity, its permissions (the
//! calling user's policies intersected with the session policies; none without a session
//! policy), and what its credentials may not do (IAM, STS other than GetCallerIdentity).

mod common;
use common::*;
use serde_json::{Value, json};

const REGION: &str = "ap-northeast-1";

fn policy(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

fn allow(actions: &str) -> String {
    policy(&format!(
        r#"{{"Effect":"Allow","Action":{actions},"Resource":"*"}}"#
    ))
}

/// A user `broker` allowed to federate and to describe and create ECR repositories.
fn broker(root: &Client) -> Client {
    let b = user_with_key(root, "broker");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "broker", "PolicyName": "p", "PolicyDocument": allow(
            r#"["sts:GetFederationToken","ecr:DescribeRepositories","ecr:CreateRepository"]"#
        )}),
    );
    b
}

fn federate(c: &Client, input: Value) -> (Client, Value) {
    let out = c.ok("sts", "GetFederationToken", input);
    (Client::from_credentials(c.addr, &out["Credentials"]), out)
}

fn ecr_denied(c: &Client, action: &str, input: Value) -> String {
    match c.ecr(action, input) {
        Err((400, code, msg)) if code == "AccessDeniedException" => msg,
        other => panic!("{action}: expected AccessDeniedException, got {other:?}"),
    }
}

fn seconds_left(expiration: &Value) -> i64 {
    let s = expiration.as_str().unwrap();
    let t = kagi_server::ids::parse_iso8601(s).unwrap_or_else(|| panic!("{s}"));
    t - kagi_server::ids::now_secs()
}

#[test]
fn federated_user_identity_and_intersected_permissions() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ecr("CreateRepository", json!({"repositoryName": "existing"}))
        .unwrap();
    let b = broker(&root);

    let (fed, out) = federate(
        &b,
        json!({"Name": "bob@example.com", "Policy": allow(r#""ecr:Describe*""#)}),
    );
    let arn = format!("arn:aws:sts::{ACCOUNT}:federated-user/bob@example.com");
    assert_eq!(out["FederatedUser"]["Arn"], arn.as_str());
    assert_eq!(
        out["FederatedUser"]["FederatedUserId"],
        format!("{ACCOUNT}:bob@example.com")
    );
    assert!(out["PackedPolicySize"].as_i64().is_some());
    let creds = &out["Credentials"];
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    // The default duration: 12 hours.
    let left = seconds_left(&creds["Expiration"]);
    assert!((43_000..=43_200).contains(&left), "{left}");

    let me = fed.ok("sts", "GetCallerIdentity", json!({}));
    assert_eq!(me["Arn"], arn.as_str());
    assert_eq!(me["UserId"], format!("{ACCOUNT}:bob@example.com"));
    assert_eq!(me["Account"], ACCOUNT);

    // Allowed by both the user's policy and the session policy.
    let mut fed = fed;
    fed.region = REGION.into();
    let d = fed.ecr("DescribeRepositories", json!({})).unwrap();
    assert_eq!(d["repositories"][0]["repositoryName"], "existing");
    // Allowed by the user's policy, not by the session policy.
    let msg = ecr_denied(
        &fed,
        "CreateRepository",
        json!({"repositoryName": "from-federation"}),
    );
    assert!(msg.contains(&arn), "{msg}");
    assert!(msg.contains("ecr:CreateRepository"), "{msg}");

    // A session policy cannot grant more than the user has.
    let (wide, _) = federate(&b, json!({"Name": "wide", "Policy": allow(r#""ecr:*""#)}));
    wide.ecr(
        "CreateRepository",
        json!({"repositoryName": "made-by-wide"}),
    )
    .unwrap();
    ecr_denied(
        &wide,
        "DeleteRepository",
        json!({"repositoryName": "made-by-wide"}),
    );

    // Managed session policies count too.
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "describe", "PolicyDocument": allow(r#""ecr:DescribeRepositories""#)}),
    );
    let (managed, _) = federate(
        &b,
        json!({"Name": "managed", "PolicyArns": [{"arn": p["Policy"]["Arn"]}]}),
    );
    managed.ecr("DescribeRepositories", json!({})).unwrap();
    ecr_denied(
        &managed,
        "CreateRepository",
        json!({"repositoryName": "nope"}),
    );

    // No session policy: no permissions at all (GetCallerIdentity is always allowed).
    let (bare, out) = federate(&b, json!({"Name": "bare"}));
    assert!(out.get("PackedPolicySize").is_none());
    bare.whoami();
    ecr_denied(&bare, "DescribeRepositories", json!({}));

    // The user's policies are read at each request: detaching them takes the session's away.
    root.ok(
        "iam",
        "DeleteUserPolicy",
        json!({"UserName": "broker", "PolicyName": "p"}),
    );
    ecr_denied(&wide, "DescribeRepositories", json!({}));
    // And deleting the user ends its federated sessions.
    root.ok(
        "iam",
        "DeleteAccessKey",
        json!({"UserName": "broker", "AccessKeyId": b.creds.access_key_id}),
    );
    root.ok("iam", "DeleteUser", json!({"UserName": "broker"}));
    match wide.call("sts", "GetCallerIdentity", json!({})) {
        Err((403, e)) => assert_eq!(e.code, "InvalidClientTokenId"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn federated_credentials_cannot_call_iam_or_sts() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let b = broker(&root);
    let (fed, _) = federate(&b, json!({"Name": "fed", "Policy": allow(r#""*""#)}));
    // No IAM through the API, whatever the policies say.
    let (status, code, _) = fed.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    let (status, code, _) = fed.err("iam", "GetUser", json!({}));
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    // No STS but GetCallerIdentity.
    for (op, input) in [
        ("GetFederationToken", json!({"Name": "again"})),
        ("GetSessionToken", json!({})),
        (
            "AssumeRole",
            json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Any"), "RoleSessionName": "s1"}),
        ),
    ] {
        let (status, code, msg) = fed.err("sts", op, input);
        assert_eq!((status, code.as_str()), (403, "AccessDenied"), "{op}");
        assert!(msg.contains("federated-user/fed"), "{msg}");
    }
    fed.whoami();
}

#[test]
fn who_may_federate_and_parameter_rules() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let b = broker(&root);

    // Without sts:GetFederationToken: AccessDenied on the federated user's ARN.
    let plain = user_with_key(&root, "plain");
    let (status, code, msg) = plain.err("sts", "GetFederationToken", json!({"Name": "x1"}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert_eq!(
        msg,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/plain is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::{ACCOUNT}:federated-user/x1 because no identity-based policy allows the sts:GetFederationToken action"
        )
    );
    // A policy can limit the names a user may federate as.
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "plain", "PolicyName": "p", "PolicyDocument": policy(&format!(
            r#"{{"Effect":"Allow","Action":"sts:GetFederationToken","Resource":"arn:aws:sts::{ACCOUNT}:federated-user/plain-*"}}"#
        ))}),
    );
    plain.ok("sts", "GetFederationToken", json!({"Name": "plain-1"}));
    assert_eq!(
        plain
            .err("sts", "GetFederationToken", json!({"Name": "other"}))
            .1,
        "AccessDenied"
    );

    // Session tags need sts:TagSession too.
    let (status, code, _) = b.err(
        "sts",
        "GetFederationToken",
        json!({"Name": "tagged", "Tags": [{"Key": "team", "Value": "blue"}]}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));

    // Temporary credentials may not federate.
    let st = b.ok("sts", "GetSessionToken", json!({}));
    let temp = Client::from_credentials(server.addr, &st["Credentials"]);
    let (status, code, _) = temp.err("sts", "GetFederationToken", json!({"Name": "x2"}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Fed", "AssumeRolePolicyDocument": root_trust()}),
    );
    root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": "Fed", "PolicyName": "p", "PolicyDocument": allow(r#""sts:*""#)}),
    );
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "broker", "PolicyName": "assume", "PolicyDocument": allow(r#""sts:AssumeRole""#)}),
    );
    let ar = b.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Fed"), "RoleSessionName": "s1"}),
    );
    let role = Client::from_credentials(server.addr, &ar["Credentials"]);
    let (status, code, msg) = role.err("sts", "GetFederationToken", json!({"Name": "x3"}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert_eq!(
        msg,
        "Cannot call GetFederationToken with session credentials"
    );

    // Name and duration rules.
    for (name, _why) in [
        ("a", "too short"),
        ("has space", "pattern"),
        ("abcdefghijklmnopqrstuvwxyz0123456", "33 characters"),
    ] {
        let (status, code, _) = b.err("sts", "GetFederationToken", json!({"Name": name}));
        assert_eq!((status, code.as_str()), (400, "ValidationError"), "{name}");
    }
    b.ok(
        "sts",
        "GetFederationToken",
        json!({"Name": "abcdefghijklmnopqrstuvwxyz012345"}),
    );
    for d in [899, 129_601] {
        let (status, code, _) = b.err(
            "sts",
            "GetFederationToken",
            json!({"Name": "dur", "DurationSeconds": d}),
        );
        assert_eq!((status, code.as_str()), (400, "ValidationError"), "{d}");
    }
    let out = b.ok(
        "sts",
        "GetFederationToken",
        json!({"Name": "long", "DurationSeconds": 129_600}),
    );
    let left = seconds_left(&out["Credentials"]["Expiration"]);
    assert!((129_400..=129_600).contains(&left), "{left}");
    // A malformed session policy is refused with the engine's diagnosis.
    let (status, code, _) = b.err(
        "sts",
        "GetFederationToken",
        json!({"Name": "bad", "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[}"}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));

    // The root may federate; its sessions last at most an hour and have the session policy's
    // permissions.
    let out = root.ok(
        "sts",
        "GetFederationToken",
        json!({"Name": "rootfed", "DurationSeconds": 7200, "Policy": allow(r#""ecr:DescribeRepositories""#)}),
    );
    let left = seconds_left(&out["Credentials"]["Expiration"]);
    assert!((3_400..=3_600).contains(&left), "{left}");
    let mut rf = Client::from_credentials(server.addr, &out["Credentials"]);
    rf.region = REGION.into();
    assert_eq!(
        rf.whoami(),
        format!("arn:aws:sts::{ACCOUNT}:federated-user/rootfed")
    );
    rf.ecr("DescribeRepositories", json!({})).unwrap();
    ecr_denied(&rf, "CreateRepository", json!({"repositoryName": "xy"}));
    let (status, code, _) = rf.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
}

#[test]
fn session_tags_become_principal_tags() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let b = broker(&root);
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "broker", "PolicyName": "tag", "PolicyDocument": allow(r#""sts:TagSession""#)}),
    );
    let only_blue = policy(
        r#"{"Effect":"Allow","Action":"ecr:DescribeRepositories","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}"#,
    );
    let (mut blue, _) = federate(
        &b,
        json!({"Name": "blue", "Policy": only_blue, "Tags": [{"Key": "team", "Value": "blue"}]}),
    );
    blue.region = REGION.into();
    blue.ecr("DescribeRepositories", json!({})).unwrap();
    let (mut red, _) = federate(
        &b,
        json!({"Name": "red", "Policy": only_blue, "Tags": [{"Key": "team", "Value": "red"}]}),
    );
    red.region = REGION.into();
    ecr_denied(&red, "DescribeRepositories", json!({}));
}
