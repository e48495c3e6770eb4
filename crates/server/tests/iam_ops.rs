//! IAM operations: limits, conflicts, versions, pagination, MFA, boundaries, simulation,
//! STS duration rules and session policies, persistence.

mod common;
use common::*;
use serde_json::{Value, json};

fn allow(action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    )
}

#[test]
fn users_keys_groups_conflicts_and_limits() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ok(
        "iam",
        "CreateUser",
        json!({"UserName": "bob", "Path": "/team/", "Tags": [{"Key": "team", "Value": "a"}]}),
    );
    let (status, code, _) = root.err("iam", "CreateUser", json!({"UserName": "BOB"}));
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));
    let u = root.ok("iam", "GetUser", json!({"UserName": "bob"}));
    assert_eq!(
        u["User"]["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/team/bob")
    );
    assert_eq!(u["User"]["Tags"][0]["Key"], "team");
    let (status, code, msg) = root.err("iam", "GetUser", json!({"UserName": "nobody"}));
    assert_eq!(
        (status, code.as_str(), msg.as_str()),
        (
            404,
            "NoSuchEntity",
            "The user with name nobody cannot be found."
        )
    );

    root.ok("iam", "CreateAccessKey", json!({"UserName": "bob"}));
    let k2 = root.ok("iam", "CreateAccessKey", json!({"UserName": "bob"}));
    let (status, code, msg) = root.err("iam", "CreateAccessKey", json!({"UserName": "bob"}));
    assert_eq!(
        (status, code.as_str(), msg.as_str()),
        (
            409,
            "LimitExceeded",
            "Cannot exceed quota for AccessKeysPerUser: 2"
        )
    );
    let keys = root.ok("iam", "ListAccessKeys", json!({"UserName": "bob"}));
    assert_eq!(keys["AccessKeyMetadata"].as_array().unwrap().len(), 2);
    assert!(
        keys["AccessKeyMetadata"][0]
            .get("SecretAccessKey")
            .is_none()
    );

    // A user calling with no UserName means itself.
    let bob = Client::from_access_key(server.addr, &k2["AccessKey"]);
    root.ok("iam", "PutUserPolicy", json!({"UserName": "bob", "PolicyName": "self", "PolicyDocument": allow("iam:*AccessKey*")}));
    let mine = bob.ok("iam", "ListAccessKeys", json!({}));
    assert_eq!(mine["AccessKeyMetadata"].as_array().unwrap().len(), 2);
    let used = bob.ok(
        "iam",
        "GetAccessKeyLastUsed",
        json!({"AccessKeyId": bob.creds.access_key_id}),
    );
    assert_eq!(used["AccessKeyLastUsed"]["ServiceName"], "iam");

    root.ok("iam", "CreateGroup", json!({"GroupName": "g"}));
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "g", "UserName": "bob"}),
    );
    let g = root.ok("iam", "GetGroup", json!({"GroupName": "g"}));
    assert_eq!(g["Users"][0]["UserName"], "bob");
    assert!(g["Group"]["GroupId"].as_str().unwrap().starts_with("AGPA"));
    let (status, code, _) = root.err("iam", "DeleteGroup", json!({"GroupName": "g"}));
    assert_eq!((status, code.as_str()), (409, "DeleteConflict"));

    let (status, code, msg) = root.err("iam", "DeleteUser", json!({"UserName": "bob"}));
    assert_eq!(
        (status, code.as_str(), msg.as_str()),
        (
            409,
            "DeleteConflict",
            "Cannot delete entity, must delete access keys first."
        )
    );
    for k in keys["AccessKeyMetadata"].as_array().unwrap() {
        root.ok(
            "iam",
            "DeleteAccessKey",
            json!({"UserName": "bob", "AccessKeyId": k["AccessKeyId"]}),
        );
    }
    assert_eq!(
        root.err("iam", "DeleteUser", json!({"UserName": "bob"})).2,
        "Cannot delete entity, must delete policies first."
    );
    root.ok(
        "iam",
        "DeleteUserPolicy",
        json!({"UserName": "bob", "PolicyName": "self"}),
    );
    assert_eq!(
        root.err("iam", "DeleteUser", json!({"UserName": "bob"})).2,
        "Cannot delete entity, must remove users from group first."
    );
    root.ok(
        "iam",
        "RemoveUserFromGroup",
        json!({"GroupName": "g", "UserName": "bob"}),
    );
    root.ok("iam", "DeleteUser", json!({"UserName": "bob"}));
    root.ok("iam", "DeleteGroup", json!({"GroupName": "g"}));
}

#[test]
fn pagination_on_lists() {
    let server = start_in_memory();
    let root = Client::root(&server);
    for i in 0..7 {
        root.ok("iam", "CreateUser", json!({"UserName": format!("u{i}")}));
    }
    let mut names = Vec::new();
    let mut input = json!({"MaxItems": 3});
    loop {
        let page = root.ok("iam", "ListUsers", input.clone());
        names.extend(
            page["Users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["UserName"].as_str().unwrap().to_owned()),
        );
        if page["IsTruncated"] != json!(true) {
            break;
        }
        input["Marker"] = page["Marker"].clone();
    }
    assert_eq!(names, (0..7).map(|i| format!("u{i}")).collect::<Vec<_>>());
}

#[test]
fn managed_policies_versions_and_aws_policies() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "P", "PolicyDocument": allow("s3:Get*")}),
    );
    let arn = p["Policy"]["Arn"].as_str().unwrap().to_owned();
    for _ in 2..=5 {
        root.ok(
            "iam",
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": allow("s3:List*")}),
        );
    }
    let (status, code, _) = root.err(
        "iam",
        "CreatePolicyVersion",
        json!({"PolicyArn": arn, "PolicyDocument": allow("s3:*")}),
    );
    assert_eq!((status, code.as_str()), (409, "LimitExceeded"));
    root.ok(
        "iam",
        "SetDefaultPolicyVersion",
        json!({"PolicyArn": arn, "VersionId": "v3"}),
    );
    assert_eq!(
        root.err(
            "iam",
            "DeletePolicyVersion",
            json!({"PolicyArn": arn, "VersionId": "v3"})
        )
        .1,
        "DeleteConflict"
    );
    let v = root.ok(
        "iam",
        "GetPolicyVersion",
        json!({"PolicyArn": arn, "VersionId": "v3"}),
    );
    assert_eq!(v["PolicyVersion"]["IsDefaultVersion"], true);
    assert!(
        v["PolicyVersion"]["Document"]
            .as_str()
            .unwrap()
            .contains("s3:List*")
    );
    root.ok(
        "iam",
        "DeletePolicyVersion",
        json!({"PolicyArn": arn, "VersionId": "v1"}),
    );
    let vs = root.ok("iam", "ListPolicyVersions", json!({"PolicyArn": arn}));
    assert_eq!(vs["Versions"].as_array().unwrap().len(), 4);

    // Malformed documents: the engine's precise AWS message.
    let no_action = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#;
    let (status, code, msg) = root.err(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "Bad", "PolicyDocument": no_action}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));
    assert!(
        msg.starts_with("Policy statement must contain actions."),
        "{msg}"
    );
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        (0..400)
            .map(|i| format!("\"s3:GetObjectVersion{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        root.err(
            "iam",
            "CreatePolicy",
            json!({"PolicyName": "Big", "PolicyDocument": big})
        )
        .1,
        "LimitExceeded"
    );

    // AWS managed policies.
    let aws = root.ok("iam", "ListPolicies", json!({"Scope": "AWS"}));
    let names: Vec<&str> = aws["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyName"].as_str().unwrap())
        .collect();
    for n in [
        "AdministratorAccess",
        "IAMFullAccess",
        "AmazonEC2ContainerRegistryFullAccess",
        "AmazonEC2ContainerRegistryPowerUser",
        "AmazonEC2ContainerRegistryReadOnly",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let local = root.ok("iam", "ListPolicies", json!({"Scope": "Local"}));
    assert_eq!(local["Policies"].as_array().unwrap().len(), 1);

    // Attach an AWS policy; it then counts, and OnlyAttached lists it; in-use policies cannot be deleted.
    let dev = user_with_key(&root, "dev");
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "dev", "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}),
    );
    dev.ok("iam", "ListUsers", json!({}));
    assert_eq!(
        dev.err("iam", "CreateUser", json!({"UserName": "x"})).1,
        "AccessDenied"
    );
    let attached = root.ok("iam", "ListPolicies", json!({"OnlyAttached": true}));
    assert_eq!(attached["Policies"][0]["PolicyName"], "IAMReadOnlyAccess");
    assert_eq!(attached["Policies"][0]["AttachmentCount"], 1);
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "dev", "PolicyArn": arn}),
    );
    assert_eq!(
        root.err("iam", "DeletePolicy", json!({"PolicyArn": arn})).1,
        "DeleteConflict"
    );
    let listed = root.ok(
        "iam",
        "ListAttachedUserPolicies",
        json!({"UserName": "dev"}),
    );
    assert_eq!(listed["AttachedPolicies"].as_array().unwrap().len(), 2);
    root.ok("iam", "CreateGroup", json!({"GroupName": "g1"}));
    root.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "g1", "PolicyArn": arn}),
    );
    let first = root.ok(
        "iam",
        "ListEntitiesForPolicy",
        json!({"PolicyArn": arn, "MaxItems": 1}),
    );
    assert_eq!(first["PolicyGroups"][0]["GroupName"], "g1");
    assert_eq!(first["PolicyUsers"], json!([]));
    assert_eq!(first["IsTruncated"], true);
    let second = root.ok(
        "iam",
        "ListEntitiesForPolicy",
        json!({"PolicyArn": arn, "MaxItems": 1, "Marker": first["Marker"]}),
    );
    assert_eq!(second["PolicyUsers"][0]["UserName"], "dev");
    assert_eq!(second["IsTruncated"], false);
    let e = root.ok("iam", "ListEntitiesForPolicy", json!({"PolicyArn": arn}));
    assert_eq!(e["PolicyUsers"][0]["UserName"], "dev");
}

#[test]
fn roles_trust_principals_and_boundaries() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let bad_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/ghost"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let (status, code, msg) = root.err(
        "iam",
        "CreateRole",
        json!({"RoleName": "R", "AssumeRolePolicyDocument": bad_trust}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));
    assert_eq!(
        msg,
        format!("Invalid principal in policy: \"AWS\":\"arn:aws:iam::{ACCOUNT}:user/ghost\"")
    );
    let (_, code, _) = root.err("iam", "CreateRole", json!({"RoleName": "R", "AssumeRolePolicyDocument": root_trust(), "MaxSessionDuration": 100}));
    assert_eq!(code, "ValidationError");
    root.ok("iam", "CreateRole", json!({"RoleName": "R", "AssumeRolePolicyDocument": root_trust(), "MaxSessionDuration": 7200, "Description": "d"}));
    let r = root.ok("iam", "GetRole", json!({"RoleName": "R"}));
    assert_eq!(r["Role"]["MaxSessionDuration"], 7200);
    assert!(
        r["Role"]["AssumeRolePolicyDocument"]
            .as_str()
            .unwrap()
            .contains(":root")
    );

    // Boundary: the user's policy allows iam:*, the boundary only iam:List*.
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "all", "PolicyDocument": allow("iam:*")}),
    );
    let b = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "ListOnly", "PolicyDocument": allow("iam:List*")}),
    );
    root.ok(
        "iam",
        "PutUserPermissionsBoundary",
        json!({"UserName": "alice", "PermissionsBoundary": b["Policy"]["Arn"]}),
    );
    alice.ok("iam", "ListRoles", json!({}));
    let (_, code, msg) = alice.err("iam", "GetRole", json!({"RoleName": "R"}));
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.ends_with("because no permissions boundary allows the iam:GetRole action"),
        "{msg}"
    );
    root.ok(
        "iam",
        "DeleteUserPermissionsBoundary",
        json!({"UserName": "alice"}),
    );
    alice.ok("iam", "GetRole", json!({"RoleName": "R"}));

    // DeleteRole conflicts while policies are attached.
    root.ok(
        "iam",
        "AttachRolePolicy",
        json!({"RoleName": "R", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    assert_eq!(
        root.err("iam", "DeleteRole", json!({"RoleName": "R"})).1,
        "DeleteConflict"
    );
    root.ok(
        "iam",
        "DetachRolePolicy",
        json!({"RoleName": "R", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    root.ok("iam", "DeleteRole", json!({"RoleName": "R"}));
}

fn role_for(root: &Client, name: &str, trust: &str, policy: &str) -> String {
    let r = root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": name, "AssumeRolePolicyDocument": trust, "MaxSessionDuration": 7200}),
    );
    root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": name, "PolicyName": "p", "PolicyDocument": policy}),
    );
    r["Role"]["Arn"].as_str().unwrap().to_owned()
}

#[test]
fn sts_durations_chaining_external_id_and_session_policies() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let trust_alice = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"ext-123"}}}}}}]}}"#
    );
    let a_arn = role_for(&root, "A", &trust_alice, &allow("*"));
    let trust_a = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{a_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let b_arn = role_for(&root, "B", &trust_a, &allow("iam:List*"));

    // ExternalId condition.
    assert_eq!(
        alice
            .err(
                "sts",
                "AssumeRole",
                json!({"RoleArn": a_arn, "RoleSessionName": "x1"})
            )
            .1,
        "AccessDenied"
    );
    assert_eq!(
        alice
            .err(
                "sts",
                "AssumeRole",
                json!({"RoleArn": a_arn, "RoleSessionName": "x1", "ExternalId": "wrong"})
            )
            .1,
        "AccessDenied"
    );
    // Duration bounds.
    let (_, code, msg) = alice.err("sts", "AssumeRole", json!({"RoleArn": a_arn, "RoleSessionName": "x1", "ExternalId": "ext-123", "DurationSeconds": 10800}));
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    );
    let a = alice.ok("sts", "AssumeRole", json!({"RoleArn": a_arn, "RoleSessionName": "x1", "ExternalId": "ext-123", "DurationSeconds": 7200}));
    let sa = Client::from_credentials(server.addr, &a["Credentials"]);
    let got = root.ok("iam", "GetRole", json!({"RoleName": "A"}));
    assert!(
        got["Role"]["RoleLastUsed"]["LastUsedDate"]
            .as_str()
            .is_some(),
        "{got}"
    );

    // Chaining: capped at one hour.
    let (_, code, msg) = sa.err(
        "sts",
        "AssumeRole",
        json!({"RoleArn": b_arn, "RoleSessionName": "x2", "DurationSeconds": 3601}),
    );
    assert_eq!(code, "ValidationError");
    assert_eq!(
        msg,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    );
    let b = sa.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": b_arn, "RoleSessionName": "x2"}),
    );
    let sb = Client::from_credentials(server.addr, &b["Credentials"]);
    assert_eq!(
        sb.whoami(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/B/x2")
    );
    sb.ok("iam", "ListUsers", json!({}));
    assert_eq!(
        sb.err("iam", "CreateUser", json!({"UserName": "z"})).1,
        "AccessDenied"
    );

    // Session policies intersect: role A allows *, the session policy only iam:ListRoles.
    let s = alice.ok("sts", "AssumeRole", json!({"RoleArn": a_arn, "RoleSessionName": "x3", "ExternalId": "ext-123", "Policy": allow("iam:ListRoles")}));
    assert!(s["PackedPolicySize"].as_i64().is_some());
    let ss = Client::from_credentials(server.addr, &s["Credentials"]);
    ss.ok("iam", "ListRoles", json!({}));
    let (_, code, msg) = ss.err("iam", "ListUsers", json!({}));
    assert_eq!(code, "AccessDenied");
    assert!(
        msg.ends_with("because no session policy allows the iam:ListUsers action"),
        "{msg}"
    );
    // Managed session policy (PolicyArns).
    let s = alice.ok("sts", "AssumeRole", json!({"RoleArn": a_arn, "RoleSessionName": "x4", "ExternalId": "ext-123", "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}]}));
    let ss = Client::from_credentials(server.addr, &s["Credentials"]);
    ss.ok("iam", "ListUsers", json!({}));
    assert_eq!(
        ss.err("iam", "CreateUser", json!({"UserName": "z"})).1,
        "AccessDenied"
    );

    // Session names and durations.
    assert_eq!(
        alice
            .err(
                "sts",
                "AssumeRole",
                json!({"RoleArn": a_arn, "RoleSessionName": "bad name", "ExternalId": "ext-123"})
            )
            .1,
        "ValidationError"
    );
    assert_eq!(alice.err("sts", "AssumeRole", json!({"RoleArn": a_arn, "RoleSessionName": "x5", "ExternalId": "ext-123", "DurationSeconds": 899})).1, "ValidationError");
    // Unknown role: AccessDenied, as AWS answers.
    assert_eq!(alice.err("sts", "AssumeRole", json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Nope"), "RoleSessionName": "x6"})).1, "AccessDenied");
}

#[test]
fn mfa_totp_and_get_session_token() {
    use base64::Engine;
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    let d = root.ok(
        "iam",
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "alice-phone"}),
    );
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(serial, format!("arn:aws:iam::{ACCOUNT}:mfa/alice-phone"));
    let b32 = base64::engine::general_purpose::STANDARD
        .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
        .unwrap();
    let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    let (status, code_name, _) = root.err("iam", "EnableMFADevice", json!({"UserName": "alice", "SerialNumber": serial, "AuthenticationCode1": "000000", "AuthenticationCode2": "000000"}));
    assert_eq!(
        (status, code_name.as_str()),
        (403, "InvalidAuthenticationCode")
    );
    root.ok("iam", "EnableMFADevice", json!({"UserName": "alice", "SerialNumber": serial, "AuthenticationCode1": code(step - 2), "AuthenticationCode2": code(step - 1)}));
    let listed = root.ok("iam", "ListMFADevices", json!({"UserName": "alice"}));
    assert_eq!(listed["MFADevices"][0]["SerialNumber"], serial.as_str());

    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
    );
    let arn = role_for(&root, "Mfa", &trust, &allow("iam:List*"));
    assert_eq!(
        alice
            .err(
                "sts",
                "AssumeRole",
                json!({"RoleArn": arn, "RoleSessionName": "m1"})
            )
            .1,
        "AccessDenied"
    );
    let (_, c, msg) = alice.err("sts", "AssumeRole", json!({"RoleArn": arn, "RoleSessionName": "m1", "SerialNumber": serial, "TokenCode": "123456"}));
    assert_eq!(c, "AccessDenied");
    assert!(msg.starts_with("MultiFactorAuthentication failed"), "{msg}");
    let a = alice.ok("sts", "AssumeRole", json!({"RoleArn": arn, "RoleSessionName": "m1", "SerialNumber": serial, "TokenCode": code(step)}));
    let s = Client::from_credentials(server.addr, &a["Credentials"]);
    s.ok("iam", "ListUsers", json!({}));
    // The same code is not accepted twice.
    assert_eq!(alice.err("sts", "AssumeRole", json!({"RoleArn": arn, "RoleSessionName": "m2", "SerialNumber": serial, "TokenCode": code(step)})).1, "AccessDenied");

    // GetSessionToken: user credentials → temporary user credentials (same ARN).
    let t = alice.ok("sts", "GetSessionToken", json!({"DurationSeconds": 900}));
    let ts = Client::from_credentials(server.addr, &t["Credentials"]);
    assert_eq!(ts.whoami(), format!("arn:aws:iam::{ACCOUNT}:user/alice"));
    assert!(
        t["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );
    assert_eq!(
        ts.err("sts", "GetSessionToken", json!({})).1,
        "AccessDenied"
    );
    // Without MFA such credentials cannot call IAM; with MFA they can (within alice's policies).
    root.ok("iam", "PutUserPolicy", json!({"UserName": "alice", "PolicyName": "list", "PolicyDocument": allow("iam:ListUsers")}));
    let (status, c, _) = ts.err("iam", "ListUsers", json!({}));
    assert_eq!((status, c.as_str()), (403, "InvalidClientTokenId"));
    let t = alice.ok(
        "sts",
        "GetSessionToken",
        json!({"SerialNumber": serial, "TokenCode": code(step + 1)}),
    );
    let tm = Client::from_credentials(server.addr, &t["Credentials"]);
    tm.ok("iam", "ListUsers", json!({}));
    assert_eq!(tm.err("iam", "ListRoles", json!({})).1, "AccessDenied");
}

#[test]
fn simulate_principal_and_custom_policy() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ok("iam", "CreateUser", json!({"UserName": "sim"}));
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "sim", "PolicyName": "p", "PolicyDocument": allow("iam:Get*")}),
    );
    let out = root.ok(
        "iam",
        "SimulatePrincipalPolicy",
        json!({"PolicySourceArn": format!("arn:aws:iam::{ACCOUNT}:user/sim"), "ActionNames": ["iam:GetUser", "iam:CreateUser"]}),
    );
    let r: Vec<(&str, &str)> = out["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["EvalActionName"].as_str().unwrap(),
                e["EvalDecision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        r,
        vec![
            ("iam:GetUser", "allowed"),
            ("iam:CreateUser", "implicitDeny")
        ]
    );
    let out = root.ok(
        "iam",
        "SimulateCustomPolicy",
        json!({"PolicyInputList": [allow("s3:*")], "ActionNames": ["s3:GetObject", "ec2:RunInstances"]}),
    );
    let d: Vec<Value> = out["EvaluationResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EvalDecision"].clone())
        .collect();
    assert_eq!(d, vec![json!("allowed"), json!("implicitDeny")]);
}

/// Two servers on one store (two nodes): a key used and a role assumed on one are reported as
/// used by the other once the first flushes its records (every minute, and at shutdown).
#[test]
fn last_use_is_shared_between_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let a = start_with_dir(Some(dir.path().to_path_buf()));
    let b = start_with_dir(Some(dir.path().to_path_buf()));
    let root_a = Client::root(&a);
    let k = user_with_key(&root_a, "roamer");
    root_a.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Roamed", "AssumeRolePolicyDocument": root_trust()}),
    );
    let key_a = Client::new(
        a.addr,
        &k.creds.access_key_id,
        &k.creds.secret_access_key,
        None,
    );
    key_a.whoami();
    root_a.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "roamer", "PolicyName": "assume", "PolicyDocument":
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#}),
    );
    key_a.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Roamed"), "RoleSessionName": "roamer"}),
    );
    let root_b = Client::root(&b);
    let used_on_b = || {
        root_b.ok(
            "iam",
            "GetAccessKeyLastUsed",
            json!({"AccessKeyId": k.creds.access_key_id}),
        )["AccessKeyLastUsed"]["ServiceName"]
            .clone()
    };
    assert_eq!(used_on_b(), "N/A", "not flushed yet");
    a.flush_last_used().unwrap();
    assert_eq!(used_on_b(), "sts");
    let role = root_b.ok("iam", "GetRole", json!({"RoleName": "Roamed"}));
    assert!(
        role["Role"]["RoleLastUsed"]["LastUsedDate"].is_string(),
        "{role}"
    );
    // An older record from another node does not replace a newer one.
    b.flush_last_used().unwrap();
    assert_eq!(used_on_b(), "sts");
}

#[test]
fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let key = {
        let server = start_with_dir(Some(dir.path().to_path_buf()));
        let root = Client::root(&server);
        let k = user_with_key(&root, "persist");
        k.whoami();
        root.ok(
            "iam",
            "CreateRole",
            json!({"RoleName": "Kept", "AssumeRolePolicyDocument": root_trust()}),
        );
        server.shutdown();
        k
    };
    use std::os::unix::fs::PermissionsExt;
    let files: &[&str] = if on_postgres(dir.path()) {
        &["root-credentials"]
    } else {
        &["kagi.key", "root-credentials", "kagi.db"]
    };
    for f in files {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let secret = key.creds.secret_access_key.clone();
    let stored: Vec<String> = {
        use kagi_server::store::{AccountStore, StoreExt, Table};
        let s = AccountStore::new(backend_of(dir.path()), ACCOUNT);
        Table::ALL
            .into_iter()
            .flat_map(|t| s.view(|tx| tx.scan(t, "")).unwrap())
            .map(|(_, doc)| doc)
            .collect()
    };
    assert!(!stored.is_empty());
    assert!(
        !stored.iter().any(|doc| doc.contains(&secret)),
        "secret stored in clear"
    );
    if !on_postgres(dir.path()) {
        let db = std::fs::read(dir.path().join("kagi.db")).unwrap();
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret stored in clear"
        );
    }
    let server = start_with_dir(Some(dir.path().to_path_buf()));
    let root = Client::root(&server);
    let used = root.ok(
        "iam",
        "GetAccessKeyLastUsed",
        json!({"AccessKeyId": key.creds.access_key_id}),
    );
    assert_eq!(
        used["AccessKeyLastUsed"]["ServiceName"], "sts",
        "last use survives a restart: {used}"
    );
    let key = Client::new(server.addr, &key.creds.access_key_id, &secret, None);
    assert_eq!(key.whoami(), format!("arn:aws:iam::{ACCOUNT}:user/persist"));
    Client::root(&server).ok("iam", "GetRole", json!({"RoleName": "Kept"}));
}

#[test]
fn delegated_admin_conditions_on_iam_context_keys() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let b = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "Boundary", "PolicyDocument": allow("s3:*")}),
    );
    let barn = b["Policy"]["Arn"].as_str().unwrap().to_owned();
    let admin = user_with_key(&root, "delegate");
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*","Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{barn}"}}}}}},
            {{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{{"ArnEquals":{{"iam:PolicyARN":"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}}}}}},
            {{"Effect":"Allow","Action":"iam:TagUser","Resource":"*","Condition":{{"ForAllValues:StringEquals":{{"aws:TagKeys":["team"]}}}}}}
        ]}}"#
    );
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "delegate", "PolicyName": "d", "PolicyDocument": doc}),
    );
    assert_eq!(
        admin
            .err("iam", "CreateUser", json!({"UserName": "free"}))
            .1,
        "AccessDenied"
    );
    admin.ok(
        "iam",
        "CreateUser",
        json!({"UserName": "bounded", "PermissionsBoundary": barn}),
    );
    assert_eq!(
        admin.err("iam", "AttachUserPolicy", json!({"UserName": "bounded", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})).1,
        "AccessDenied"
    );
    admin.ok("iam", "AttachUserPolicy", json!({"UserName": "bounded", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}));
    admin.ok(
        "iam",
        "TagUser",
        json!({"UserName": "bounded", "Tags": [{"Key": "team", "Value": "a"}]}),
    );
    assert_eq!(
        admin
            .err(
                "iam",
                "TagUser",
                json!({"UserName": "bounded", "Tags": [{"Key": "cost", "Value": "a"}]})
            )
            .1,
        "AccessDenied"
    );
    // aws:ResourceTag: the target user's own tags.
    let by_tag = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"a"}}}]}"#;
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "delegate", "PolicyName": "t", "PolicyDocument": by_tag}),
    );
    admin.ok("iam", "GetUser", json!({"UserName": "bounded"}));
    assert_eq!(
        admin
            .err("iam", "GetUser", json!({"UserName": "delegate"}))
            .1,
        "AccessDenied"
    );
}
