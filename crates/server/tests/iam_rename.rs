//! Renaming and moving groups and users (UpdateGroup / UpdateUser with NewGroupName,
//! NewUserName, NewPath): everything keyed by the name follows, nothing stays behind under the
//! old one, AWS's errors, and permission on both the old and the new ARN.

mod common;
use common::*;
use serde_json::{Value, json};

fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

fn names(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {v}"))
        .iter()
        .map(|x| x[field].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn group_rename_moves_members_attachments_and_inline_policies() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "CreateGroup",
        json!({"GroupName": "Devs", "Path": "/eng/"}),
    );
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "Devs", "UserName": "alice"}),
    );
    // The group's permissions reach alice through an inline and a managed policy.
    root.ok(
        "iam",
        "PutGroupPolicy",
        json!({"GroupName": "Devs", "PolicyName": "list-users", "PolicyDocument": allow("iam:ListUsers", "*")}),
    );
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "ListRoles", "PolicyDocument": allow("iam:ListRoles", "*")}),
    );
    let policy_arn = p["Policy"]["Arn"].as_str().unwrap().to_owned();
    root.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "Devs", "PolicyArn": policy_arn}),
    );
    alice.ok("iam", "ListUsers", json!({}));
    alice.ok("iam", "ListRoles", json!({}));

    root.ok(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "devs", "NewGroupName": "Builders", "NewPath": "/platform/"}),
    );

    let g = root.ok("iam", "GetGroup", json!({"GroupName": "Builders"}));
    assert_eq!(g["Group"]["GroupName"], "Builders");
    assert_eq!(g["Group"]["Path"], "/platform/");
    assert_eq!(
        g["Group"]["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:group/platform/Builders")
    );
    assert_eq!(names(&g, "Users", "UserName"), ["alice"]);
    let (status, code, msg) = root.err("iam", "GetGroup", json!({"GroupName": "Devs"}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"), "{msg}");

    let inline = root.ok("iam", "ListGroupPolicies", json!({"GroupName": "Builders"}));
    assert_eq!(inline["PolicyNames"], json!(["list-users"]));
    let doc = root.ok(
        "iam",
        "GetGroupPolicy",
        json!({"GroupName": "Builders", "PolicyName": "list-users"}),
    );
    assert_eq!(doc["GroupName"], "Builders");
    let attached = root.ok(
        "iam",
        "ListAttachedGroupPolicies",
        json!({"GroupName": "Builders"}),
    );
    assert_eq!(
        names(&attached, "AttachedPolicies", "PolicyArn"),
        std::slice::from_ref(&policy_arn)
    );
    let entities = root.ok(
        "iam",
        "ListEntitiesForPolicy",
        json!({"PolicyArn": policy_arn}),
    );
    assert_eq!(names(&entities, "PolicyGroups", "GroupName"), ["Builders"]);
    let groups = root.ok("iam", "ListGroupsForUser", json!({"UserName": "alice"}));
    assert_eq!(names(&groups, "Groups", "GroupName"), ["Builders"]);
    // Nothing left under the old name: its inline policy and attachments are gone with it.
    for (op, input) in [
        ("ListGroupPolicies", json!({"GroupName": "Devs"})),
        ("ListAttachedGroupPolicies", json!({"GroupName": "Devs"})),
    ] {
        match root.iam(op, input) {
            Err((404, e)) => assert_eq!(e.code, "NoSuchEntity"),
            Ok(v) => {
                assert!(
                    v.as_object()
                        .unwrap()
                        .values()
                        .filter_map(Value::as_array)
                        .all(Vec::is_empty),
                    "{op} under the old name: {v}"
                );
            }
            Err(e) => panic!("{op}: {e:?}"),
        }
    }
    // alice keeps the group's permissions under its new name.
    alice.ok("iam", "ListUsers", json!({}));
    alice.ok("iam", "ListRoles", json!({}));

    // Members, policies and attachments must go before the group does: under the new name.
    let (status, code, _) = root.err("iam", "DeleteGroup", json!({"GroupName": "Builders"}));
    assert_eq!((status, code.as_str()), (409, "DeleteConflict"));
    root.ok(
        "iam",
        "RemoveUserFromGroup",
        json!({"GroupName": "Builders", "UserName": "alice"}),
    );
    root.ok(
        "iam",
        "DeleteGroupPolicy",
        json!({"GroupName": "Builders", "PolicyName": "list-users"}),
    );
    root.ok(
        "iam",
        "DetachGroupPolicy",
        json!({"GroupName": "Builders", "PolicyArn": policy_arn}),
    );
    root.ok("iam", "DeleteGroup", json!({"GroupName": "Builders"}));
    let (status, code, _) = alice.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
}

#[test]
fn group_rename_errors() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ok("iam", "CreateGroup", json!({"GroupName": "One"}));
    root.ok("iam", "CreateGroup", json!({"GroupName": "Two"}));

    let (status, code, msg) = root.err(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "One", "NewGroupName": "TWO"}),
    );
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));
    assert_eq!(msg, "Group with name TWO already exists.");
    let (status, code, _) = root.err(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "Nobody", "NewGroupName": "Three"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let (status, code, _) = root.err(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "One", "NewGroupName": "has space"}),
    );
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    let (status, code, _) = root.err(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "One", "NewPath": "no-slashes"}),
    );
    assert_eq!((status, code.as_str()), (400, "ValidationError"));
    // A failed rename changed nothing.
    assert_eq!(
        root.ok("iam", "GetGroup", json!({"GroupName": "One"}))["Group"]["GroupName"],
        "One"
    );

    // Changing only the case of a name is a rename onto itself: allowed.
    root.ok(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "one", "NewGroupName": "ONE"}),
    );
    let listed = root.ok("iam", "ListGroups", json!({}));
    assert_eq!(names(&listed, "Groups", "GroupName"), ["ONE", "Two"]);

    // Permission on the group as it is is not enough: also on the group as it will be.
    let bob = user_with_key(&root, "bob");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "bob", "PolicyName": "p", "PolicyDocument": allow("iam:UpdateGroup", &format!("arn:aws:iam::{ACCOUNT}:group/Two"))}),
    );
    let (status, code, msg) = bob.err(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "Two", "NewGroupName": "Deux"}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert!(msg.contains("group/Deux"), "{msg}");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "bob", "PolicyName": "p", "PolicyDocument": allow("iam:UpdateGroup", &format!("arn:aws:iam::{ACCOUNT}:group/*"))}),
    );
    bob.ok(
        "iam",
        "UpdateGroup",
        json!({"GroupName": "Two", "NewGroupName": "Deux"}),
    );
    root.ok("iam", "GetGroup", json!({"GroupName": "Deux"}));
}

#[test]
fn user_rename_moves_keys_groups_policies_login_profile_and_mfa() {
    use base64::Engine;
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    root.ok("iam", "CreateGroup", json!({"GroupName": "Readers"}));
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "Readers", "UserName": "alice"}),
    );
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "list-users", "PolicyDocument": allow("iam:ListUsers", "*")}),
    );
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "alice", "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}),
    );
    root.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "alice", "Password": "Correct-Horse-7"}),
    );
    let d = root.ok(
        "iam",
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "alice-phone"}),
    );
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let b32 = base64::engine::general_purpose::STANDARD
        .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
        .unwrap();
    let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    root.ok("iam", "EnableMFADevice", json!({"UserName": "alice", "SerialNumber": serial, "AuthenticationCode1": code(step - 2), "AuthenticationCode2": code(step - 1)}));

    root.ok(
        "iam",
        "UpdateUser",
        json!({"UserName": "alice", "NewUserName": "Alicia", "NewPath": "/staff/"}),
    );

    // The key still signs, now as the renamed user.
    assert_eq!(
        alice.whoami(),
        format!("arn:aws:iam::{ACCOUNT}:user/staff/Alicia")
    );
    alice.ok("iam", "ListUsers", json!({}));
    let keys = root.ok("iam", "ListAccessKeys", json!({"UserName": "Alicia"}));
    assert_eq!(names(&keys, "AccessKeyMetadata", "UserName"), ["Alicia"]);
    assert_eq!(
        keys["AccessKeyMetadata"][0]["AccessKeyId"],
        alice.creds.access_key_id.as_str()
    );
    let groups = root.ok("iam", "ListGroupsForUser", json!({"UserName": "Alicia"}));
    assert_eq!(names(&groups, "Groups", "GroupName"), ["Readers"]);
    let members = root.ok("iam", "GetGroup", json!({"GroupName": "Readers"}));
    assert_eq!(names(&members, "Users", "UserName"), ["Alicia"]);
    let inline = root.ok("iam", "ListUserPolicies", json!({"UserName": "Alicia"}));
    assert_eq!(inline["PolicyNames"], json!(["list-users"]));
    let attached = root.ok(
        "iam",
        "ListAttachedUserPolicies",
        json!({"UserName": "Alicia"}),
    );
    assert_eq!(
        names(&attached, "AttachedPolicies", "PolicyName"),
        ["IAMReadOnlyAccess"]
    );
    let profile = root.ok("iam", "GetLoginProfile", json!({"UserName": "Alicia"}));
    assert_eq!(profile["LoginProfile"]["UserName"], "Alicia");
    let mfa = root.ok("iam", "ListMFADevices", json!({"UserName": "Alicia"}));
    assert_eq!(
        names(&mfa, "MFADevices", "SerialNumber"),
        std::slice::from_ref(&serial)
    );
    assert_eq!(mfa["MFADevices"][0]["UserName"], "Alicia");

    // Nothing answers to the old name.
    for (op, input) in [
        ("GetUser", json!({"UserName": "alice"})),
        ("GetLoginProfile", json!({"UserName": "alice"})),
        ("ListAccessKeys", json!({"UserName": "alice"})),
        ("ListMFADevices", json!({"UserName": "alice"})),
    ] {
        let (status, code, _) = root.err("iam", op, input);
        assert_eq!((status, code.as_str()), (404, "NoSuchEntity"), "{op}");
    }
    // A new user may take the old name and inherits nothing.
    let fresh = user_with_key(&root, "alice");
    let (status, code, _) = fresh.err("iam", "ListUsers", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    let (status, code, _) = root.err("iam", "GetLoginProfile", json!({"UserName": "alice"}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));

    // Taken names, case-insensitively.
    let (status, code, msg) = root.err(
        "iam",
        "UpdateUser",
        json!({"UserName": "Alicia", "NewUserName": "ALICE"}),
    );
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));
    assert_eq!(msg, "User with name ALICE already exists.");
}
