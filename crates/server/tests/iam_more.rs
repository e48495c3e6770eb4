//! IAM operations beyond the seed's: ChangePassword, account aliases, MFA device tags and
//! GetMFADevice, context keys of policies.

mod common;
use common::*;
use serde_json::{Value, json};

fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

#[test]
fn change_password_needs_the_old_one_and_permission_or_the_account_policy() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "alice", "Password": "First-Pass-1", "PasswordResetRequired": true}),
    );
    let change = |c: &Client, old: &str, new: &str| {
        c.call(
            "iam",
            "ChangePassword",
            json!({"OldPassword": old, "NewPassword": new}),
        )
    };

    // Neither iam:ChangePassword nor AllowUsersToChangePassword: refused.
    let (status, e) = change(&alice, "First-Pass-1", "Second-Pass-2").unwrap_err();
    assert_eq!((status, e.code.as_str()), (403, "AccessDenied"));
    assert!(e.message.contains("iam:ChangePassword"), "{}", e.message);

    // The account password policy lets every user change their own password.
    root.ok(
        "iam",
        "UpdateAccountPasswordPolicy",
        json!({"MinimumPasswordLength": 12, "AllowUsersToChangePassword": true}),
    );
    let (status, e) = change(&alice, "Wrong-Pass-0", "Second-Pass-2").unwrap_err();
    assert_eq!((status, e.code.as_str()), (403, "AccessDenied"));
    // The new password must satisfy the policy (12 characters here).
    let (status, e) = change(&alice, "First-Pass-1", "Short-1").unwrap_err();
    assert_eq!((status, e.code.as_str()), (400, "PasswordPolicyViolation"));
    change(&alice, "First-Pass-1", "Second-Pass-22").unwrap();
    // The old password no longer works, the new one does; the required reset is done.
    let (status, _) = change(&alice, "First-Pass-1", "Third-Pass-333").unwrap_err();
    assert_eq!(status, 403);
    let p = root.ok("iam", "GetLoginProfile", json!({"UserName": "alice"}));
    assert_eq!(p["LoginProfile"]["PasswordResetRequired"], false);
    change(&alice, "Second-Pass-22", "Third-Pass-333").unwrap();

    // Without the account-wide permission, a policy on the user itself suffices.
    root.ok("iam", "DeleteAccountPasswordPolicy", json!({}));
    let (status, _) = change(&alice, "Third-Pass-333", "Fourth-Pass-4").unwrap_err();
    assert_eq!(status, 403);
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "own-password", "PolicyDocument": allow("iam:ChangePassword", &format!("arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"))}),
    );
    change(&alice, "Third-Pass-333", "Fourth-Pass-4").unwrap();

    // A user without a login profile, and callers that are not IAM users.
    let bob = user_with_key(&root, "bob");
    root.ok(
        "iam",
        "UpdateAccountPasswordPolicy",
        json!({"AllowUsersToChangePassword": true}),
    );
    let (status, e) = change(&bob, "Any-Pass-1", "Other-Pass-2").unwrap_err();
    assert_eq!((status, e.code.as_str()), (404, "NoSuchEntity"));
    let (status, e) = change(&root, "Any-Pass-1", "Other-Pass-2").unwrap_err();
    assert_eq!((status, e.code.as_str()), (400, "InvalidUserType"));
}

#[test]
fn account_alias_create_replace_delete() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let aliases =
        |c: &Client| c.ok("iam", "ListAccountAliases", json!({}))["AccountAliases"].clone();
    assert_eq!(aliases(&root), json!([]));
    root.ok(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "kagi-dev"}),
    );
    assert_eq!(aliases(&root), json!(["kagi-dev"]));
    // One alias per account: a new one replaces it.
    root.ok(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "kagi-prod-1"}),
    );
    assert_eq!(aliases(&root), json!(["kagi-prod-1"]));
    for bad in [
        "ab",
        "Upper-Case",
        "-leading",
        "trailing-",
        "double--hyphen",
        "under_score",
    ] {
        let (status, code, _) = root.err("iam", "CreateAccountAlias", json!({"AccountAlias": bad}));
        assert_eq!((status, code.as_str()), (400, "ValidationError"), "{bad}");
    }
    let (status, code, _) = root.err(
        "iam",
        "DeleteAccountAlias",
        json!({"AccountAlias": "kagi-dev"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    // Under policy: listing is allowed, creating is not.
    let alice = user_with_key(&root, "alice");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": allow("iam:ListAccountAliases", "*")}),
    );
    assert_eq!(aliases(&alice), json!(["kagi-prod-1"]));
    let (status, code, _) = alice.err("iam", "CreateAccountAlias", json!({"AccountAlias": "mine"}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    root.ok(
        "iam",
        "DeleteAccountAlias",
        json!({"AccountAlias": "kagi-prod-1"}),
    );
    assert_eq!(aliases(&root), json!([]));
}

#[test]
fn mfa_device_get_and_tags() {
    use base64::Engine;
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ok("iam", "CreateUser", json!({"UserName": "alice"}));
    let d = root.ok(
        "iam",
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "alice-phone", "Tags": [{"Key": "kind", "Value": "phone"}]}),
    );
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let tags = |c: &Client| {
        c.ok("iam", "ListMFADeviceTags", json!({"SerialNumber": serial}))["Tags"].clone()
    };
    assert_eq!(tags(&root), json!([{"Key": "kind", "Value": "phone"}]));
    root.ok(
        "iam",
        "TagMFADevice",
        json!({"SerialNumber": serial, "Tags": [{"Key": "owner", "Value": "alice"}, {"Key": "KIND", "Value": "tablet"}]}),
    );
    assert_eq!(
        tags(&root),
        json!([{"Key": "kind", "Value": "tablet"}, {"Key": "owner", "Value": "alice"}])
    );
    root.ok(
        "iam",
        "UntagMFADevice",
        json!({"SerialNumber": serial, "TagKeys": ["owner"]}),
    );
    assert_eq!(tags(&root), json!([{"Key": "kind", "Value": "tablet"}]));
    let missing = format!("arn:aws:iam::{ACCOUNT}:mfa/nothing");
    let (status, code, _) = root.err("iam", "ListMFADeviceTags", json!({"SerialNumber": missing}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));

    // GetMFADevice: only once the device is enabled for the user.
    let (status, code, _) = root.err(
        "iam",
        "GetMFADevice",
        json!({"UserName": "alice", "SerialNumber": serial}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let b32 = base64::engine::general_purpose::STANDARD
        .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
        .unwrap();
    let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code_at = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    root.ok("iam", "EnableMFADevice", json!({"UserName": "alice", "SerialNumber": serial, "AuthenticationCode1": code_at(step - 2), "AuthenticationCode2": code_at(step - 1)}));
    let got = root.ok(
        "iam",
        "GetMFADevice",
        json!({"UserName": "alice", "SerialNumber": serial}),
    );
    assert_eq!(got["UserName"], "alice");
    assert_eq!(got["SerialNumber"], serial.as_str());
    assert!(got["EnableDate"].is_string());
    // Resync: two consecutive fresh codes; the codes used to enable it are spent.
    let resync = |a: String, b: String| {
        root.call(
            "iam",
            "ResyncMFADevice",
            json!({"UserName": "alice", "SerialNumber": serial, "AuthenticationCode1": a, "AuthenticationCode2": b}),
        )
    };
    let (status, e) = resync(code_at(step - 2), code_at(step - 1)).unwrap_err();
    assert_eq!(
        (status, e.code.as_str()),
        (403, "InvalidAuthenticationCode")
    );
    let (status, e) = resync("000000".into(), "000001".into()).unwrap_err();
    assert_eq!(
        (status, e.code.as_str()),
        (403, "InvalidAuthenticationCode")
    );
    resync(code_at(step), code_at(step + 1)).unwrap();
    root.ok("iam", "CreateUser", json!({"UserName": "bob"}));
    let (status, code, _) = root.err(
        "iam",
        "GetMFADevice",
        json!({"UserName": "bob", "SerialNumber": serial}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
}

fn keys(v: &Value) -> Vec<String> {
    v["ContextKeyNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn context_keys_of_custom_and_principal_policies() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let with_conditions = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}"#;
    let other = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    let got = root.ok(
        "iam",
        "GetContextKeysForCustomPolicy",
        json!({"PolicyInputList": [with_conditions, other]}),
    );
    assert_eq!(
        keys(&got),
        [
            "aws:PrincipalTag/team",
            "aws:SecureTransport",
            "aws:SourceIp",
            "aws:username"
        ]
    );
    let (status, code, _) = root.err(
        "iam",
        "GetContextKeysForCustomPolicy",
        json!({"PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":["]}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));

    // A user's own policies and its groups' policies, plus PolicyInputList.
    root.ok("iam", "CreateUser", json!({"UserName": "alice"}));
    root.ok("iam", "CreateGroup", json!({"GroupName": "g"}));
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "g", "UserName": "alice"}),
    );
    root.ok(
        "iam",
        "PutGroupPolicy",
        json!({"GroupName": "g", "PolicyName": "p", "PolicyDocument": other}),
    );
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let got = root.ok(
        "iam",
        "GetContextKeysForPrincipalPolicy",
        json!({"PolicySourceArn": user_arn}),
    );
    assert_eq!(keys(&got), ["aws:SecureTransport", "aws:SourceIp"]);
    let got = root.ok(
        "iam",
        "GetContextKeysForPrincipalPolicy",
        json!({"PolicySourceArn": user_arn, "PolicyInputList": [with_conditions]}),
    );
    assert_eq!(
        keys(&got),
        [
            "aws:PrincipalTag/team",
            "aws:SecureTransport",
            "aws:SourceIp",
            "aws:username"
        ]
    );
    for missing in ["user/nobody", "group/nobody", "role/nobody"] {
        let (status, code, _) = root.err(
            "iam",
            "GetContextKeysForPrincipalPolicy",
            json!({"PolicySourceArn": format!("arn:aws:iam::{ACCOUNT}:{missing}")}),
        );
        assert_eq!((status, code.as_str()), (404, "NoSuchEntity"), "{missing}");
    }
}

#[test]
fn account_authorization_details_and_summary() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let doc = allow("iam:List*", "*");
    root.ok("iam", "CreateUser", json!({"UserName": "alice", "Path": "/staff/", "Tags": [{"Key": "team", "Value": "blue"}], "PermissionsBoundary": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}));
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "mine", "PolicyDocument": doc}),
    );
    root.ok("iam", "CreateGroup", json!({"GroupName": "readers"}));
    root.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "readers", "UserName": "alice"}),
    );
    root.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "readers", "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}),
    );
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "R", "AssumeRolePolicyDocument": root_trust()}),
    );
    let p = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "local", "PolicyDocument": doc, "Description": "d"}),
    );
    let local = p["Policy"]["Arn"].as_str().unwrap().to_owned();
    root.ok(
        "iam",
        "CreatePolicyVersion",
        json!({"PolicyArn": local, "PolicyDocument": allow("iam:Get*", "*"), "SetAsDefault": true}),
    );
    root.ok(
        "iam",
        "AttachRolePolicy",
        json!({"RoleName": "R", "PolicyArn": local}),
    );
    root.ok(
        "iam",
        "PutRolePolicy",
        json!({"RoleName": "R", "PolicyName": "inline", "PolicyDocument": doc}),
    );

    let all = root.ok("iam", "GetAccountAuthorizationDetails", json!({}));
    assert_eq!(all["IsTruncated"], false);
    let u = &all["UserDetailList"][0];
    assert_eq!(u["UserName"], "alice");
    assert_eq!(u["Path"], "/staff/");
    assert_eq!(u["GroupList"], json!(["readers"]));
    assert_eq!(u["UserPolicyList"][0]["PolicyName"], "mine");
    assert_eq!(u["UserPolicyList"][0]["PolicyDocument"], doc.as_str());
    assert_eq!(
        u["PermissionsBoundary"]["PermissionsBoundaryArn"],
        "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    );
    assert_eq!(u["Tags"], json!([{"Key": "team", "Value": "blue"}]));
    let g = &all["GroupDetailList"][0];
    assert_eq!(g["GroupName"], "readers");
    assert_eq!(
        g["AttachedManagedPolicies"][0]["PolicyName"],
        "IAMReadOnlyAccess"
    );
    let r = &all["RoleDetailList"][0];
    assert_eq!(r["RoleName"], "R");
    assert_eq!(r["AssumeRolePolicyDocument"], root_trust().as_str());
    assert_eq!(r["RolePolicyList"][0]["PolicyName"], "inline");
    assert_eq!(r["AttachedManagedPolicies"][0]["PolicyArn"], local.as_str());
    // The customer managed policy with every version, and only the AWS managed policies in use.
    let policy = |name: &str| -> Value {
        all["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["PolicyName"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        all["Policies"].as_array().unwrap().len(),
        2,
        "{}",
        all["Policies"]
    );
    let lp = policy("local");
    assert_eq!(lp["DefaultVersionId"], "v2");
    assert_eq!(lp["AttachmentCount"], 1);
    assert_eq!(lp["PolicyVersionList"].as_array().unwrap().len(), 2);
    assert_eq!(lp["PolicyVersionList"][1]["IsDefaultVersion"], true);
    let aws = policy("IAMReadOnlyAccess");
    assert_eq!(aws["AttachmentCount"], 1);
    assert_eq!(aws["PermissionsBoundaryUsageCount"], 1);

    // Filters.
    let only = root.ok(
        "iam",
        "GetAccountAuthorizationDetails",
        json!({"Filter": ["Role", "LocalManagedPolicy"]}),
    );
    assert_eq!(only["UserDetailList"], json!([]));
    assert_eq!(only["GroupDetailList"], json!([]));
    assert_eq!(only["RoleDetailList"].as_array().unwrap().len(), 1);
    assert_eq!(only["Policies"].as_array().unwrap().len(), 1);
    let (status, code, _) = root.err(
        "iam",
        "GetAccountAuthorizationDetails",
        json!({"Filter": ["Nope"]}),
    );
    assert_eq!((status, code.as_str()), (400, "ValidationError"));

    // Paging one item at a time walks everything once.
    let mut input = json!({"MaxItems": 1});
    let mut seen = 0;
    loop {
        let page = root.ok("iam", "GetAccountAuthorizationDetails", input.clone());
        let n: usize = [
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
        ]
        .iter()
        .map(|l| page[*l].as_array().map_or(0, Vec::len))
        .sum();
        assert_eq!(n, 1);
        seen += n;
        if page["IsTruncated"] == false {
            break;
        }
        input["Marker"] = page["Marker"].clone();
    }
    assert_eq!(seen, 5);

    // Not for everyone.
    let bob = user_with_key(&root, "bob");
    let (status, code, _) = bob.err("iam", "GetAccountAuthorizationDetails", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));

    // The summary counts the root's access keys.
    let s = root.ok("iam", "GetAccountSummary", json!({}));
    assert_eq!(s["SummaryMap"]["AccountAccessKeysPresent"], 1);
    assert_eq!(s["SummaryMap"]["Users"], 2);
    let (status, code, _) = bob.err("iam", "GetAccountSummary", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
}

#[test]
fn credential_report() {
    use base64::Engine;
    let server = start_in_memory();
    let root = Client::root(&server);
    let (status, code, _) = root.err("iam", "GetCredentialReport", json!({}));
    assert_eq!((status, code.as_str()), (410, "ReportNotPresent"));
    let alice = user_with_key(&root, "alice");
    alice.whoami();
    root.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "alice", "Password": "Some-Pass-1"}),
    );
    root.ok(
        "iam",
        "UpdateAccountPasswordPolicy",
        json!({"MaxPasswordAge": 90}),
    );
    root.ok("iam", "CreateUser", json!({"UserName": "bob"}));

    let g = root.ok("iam", "GenerateCredentialReport", json!({}));
    assert_eq!(g["State"], "COMPLETE");
    let r = root.ok("iam", "GetCredentialReport", json!({}));
    assert_eq!(r["ReportFormat"], "text/csv");
    let csv = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(r["Content"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    assert_eq!(header.len(), 22);
    assert_eq!(header[0], "user");
    assert_eq!(header[8], "access_key_1_active");
    let col = |row: &[&str], name: &str| -> String {
        row[header.iter().position(|h| *h == name).unwrap()].to_owned()
    };
    assert_eq!(rows.len(), 4, "{csv}");
    let root_row = &rows[1];
    assert_eq!(root_row[0], "<root_account>");
    assert_eq!(col(root_row, "arn"), format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(col(root_row, "password_enabled"), "not_supported");
    assert_eq!(col(root_row, "access_key_1_active"), "true");
    assert_eq!(col(root_row, "access_key_1_last_used_service"), "iam");
    assert_eq!(col(root_row, "access_key_2_active"), "false");
    let alice_row = &rows[2];
    assert_eq!(alice_row[0], "alice");
    assert_eq!(col(alice_row, "password_enabled"), "true");
    assert_eq!(col(alice_row, "password_last_used"), "no_information");
    assert_ne!(col(alice_row, "password_next_rotation"), "N/A");
    assert_eq!(col(alice_row, "mfa_active"), "false");
    assert_eq!(col(alice_row, "access_key_1_active"), "true");
    assert_eq!(col(alice_row, "access_key_1_last_used_service"), "sts");
    assert_eq!(col(alice_row, "access_key_1_last_used_region"), "us-east-1");
    let bob_row = &rows[3];
    assert_eq!(bob_row[0], "bob");
    assert_eq!(col(bob_row, "password_enabled"), "false");
    assert_eq!(col(bob_row, "access_key_1_active"), "false");
    assert_eq!(col(bob_row, "access_key_1_last_rotated"), "N/A");

    let (status, code, _) = alice.err("iam", "GenerateCredentialReport", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    let (status, code, _) = alice.err("iam", "GetCredentialReport", json!({}));
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
}

#[test]
fn instance_profiles_hold_one_role_and_keep_it_from_deletion() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Web", "AssumeRolePolicyDocument": root_trust()}),
    );
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Other", "AssumeRolePolicyDocument": root_trust()}),
    );
    let p = root.ok(
        "iam",
        "CreateInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "Path": "/app/", "Tags": [{"Key": "env", "Value": "dev"}]}),
    );
    let ip = &p["InstanceProfile"];
    assert_eq!(
        ip["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:instance-profile/app/web-profile")
    );
    assert!(
        ip["InstanceProfileId"]
            .as_str()
            .unwrap()
            .starts_with("AIPA")
    );
    assert_eq!(ip["Roles"], json!([]));
    let (status, code, _) = root.err(
        "iam",
        "CreateInstanceProfile",
        json!({"InstanceProfileName": "WEB-profile"}),
    );
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));

    root.ok(
        "iam",
        "AddRoleToInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Web"}),
    );
    let (status, code, _) = root.err(
        "iam",
        "AddRoleToInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Other"}),
    );
    assert_eq!((status, code.as_str()), (409, "LimitExceeded"));
    let (status, code, _) = root.err(
        "iam",
        "AddRoleToInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Nobody"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let got = root.ok(
        "iam",
        "GetInstanceProfile",
        json!({"InstanceProfileName": "web-profile"}),
    );
    assert_eq!(got["InstanceProfile"]["Roles"][0]["RoleName"], "Web");
    assert_eq!(
        got["InstanceProfile"]["Tags"],
        json!([{"Key": "env", "Value": "dev"}])
    );
    let for_role = root.ok(
        "iam",
        "ListInstanceProfilesForRole",
        json!({"RoleName": "Web"}),
    );
    assert_eq!(
        for_role["InstanceProfiles"][0]["InstanceProfileName"],
        "web-profile"
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListInstanceProfilesForRole",
            json!({"RoleName": "Other"})
        )["InstanceProfiles"],
        json!([])
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListInstanceProfiles",
            json!({"PathPrefix": "/app/"})
        )["InstanceProfiles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListInstanceProfiles",
            json!({"PathPrefix": "/other/"})
        )["InstanceProfiles"],
        json!([])
    );
    let details = root.ok(
        "iam",
        "GetAccountAuthorizationDetails",
        json!({"Filter": ["Role"]}),
    );
    let web = details["RoleDetailList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["RoleName"] == "Web")
        .unwrap()
        .clone();
    assert_eq!(
        web["InstanceProfileList"][0]["InstanceProfileName"],
        "web-profile"
    );

    // Neither the role nor the profile can go while they are together.
    let (status, code, msg) = root.err("iam", "DeleteRole", json!({"RoleName": "Web"}));
    assert_eq!((status, code.as_str()), (409, "DeleteConflict"));
    assert!(msg.contains("instance profile"), "{msg}");
    let (status, code, _) = root.err(
        "iam",
        "DeleteInstanceProfile",
        json!({"InstanceProfileName": "web-profile"}),
    );
    assert_eq!((status, code.as_str()), (409, "DeleteConflict"));

    // Adding a role passes it: a user needs iam:PassRole on the role as well.
    let ops = user_with_key(&root, "ops");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "ops", "PolicyName": "p", "PolicyDocument": allow("iam:*InstanceProfile*", "*")}),
    );
    ops.ok(
        "iam",
        "RemoveRoleFromInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Web"}),
    );
    let (status, code, msg) = ops.err(
        "iam",
        "AddRoleToInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Web"}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));
    assert!(msg.contains("iam:PassRole"), "{msg}");
    let (status, code, _) = ops.err(
        "iam",
        "RemoveRoleFromInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "RoleName": "Web"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));

    // Tags, then the clean-up order Terraform uses.
    root.ok(
        "iam",
        "TagInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "Tags": [{"Key": "team", "Value": "a"}]}),
    );
    root.ok(
        "iam",
        "UntagInstanceProfile",
        json!({"InstanceProfileName": "web-profile", "TagKeys": ["env"]}),
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListInstanceProfileTags",
            json!({"InstanceProfileName": "web-profile"})
        )["Tags"],
        json!([{"Key": "team", "Value": "a"}])
    );
    root.ok("iam", "DeleteRole", json!({"RoleName": "Web"}));
    root.ok(
        "iam",
        "DeleteInstanceProfile",
        json!({"InstanceProfileName": "web-profile"}),
    );
    let (status, code, _) = root.err(
        "iam",
        "GetInstanceProfile",
        json!({"InstanceProfileName": "web-profile"}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
}

#[test]
fn openid_connect_providers() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let thumb = "6938fd4d98bab03faadb97b34396831e3780aea1";
    let made = root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": "https://token.actions.githubusercontent.com", "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": [thumb], "Tags": [{"Key": "ci", "Value": "gha"}]}),
    );
    let arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com");
    assert_eq!(made["OpenIDConnectProviderArn"], arn.as_str());
    assert_eq!(made["Tags"], json!([{"Key": "ci", "Value": "gha"}]));
    let (status, code, _) = root.err(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": "https://token.actions.githubusercontent.com", "ThumbprintList": [thumb]}),
    );
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));
    for bad in [
        json!({"Url": "http://insecure.example", "ThumbprintList": [thumb]}),
        json!({"Url": "https://ok.example", "ThumbprintList": ["abc"]}),
    ] {
        let (status, code, _) = root.err("iam", "CreateOpenIDConnectProvider", bad.clone());
        assert_eq!((status, code.as_str()), (400, "ValidationError"), "{bad}");
    }

    root.ok(
        "iam",
        "AddClientIDToOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn, "ClientID": "my-app"}),
    );
    root.ok(
        "iam",
        "RemoveClientIDFromOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn, "ClientID": "sts.amazonaws.com"}),
    );
    let other = "1c58a3a8518e8759bf075b76b750d4f2df264fcd";
    root.ok(
        "iam",
        "UpdateOpenIDConnectProviderThumbprint",
        json!({"OpenIDConnectProviderArn": arn, "ThumbprintList": [thumb, other]}),
    );
    let got = root.ok(
        "iam",
        "GetOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn}),
    );
    assert_eq!(got["Url"], "token.actions.githubusercontent.com");
    assert_eq!(got["ClientIDList"], json!(["my-app"]));
    assert_eq!(got["ThumbprintList"], json!([thumb, other]));
    assert!(got["CreateDate"].is_string());
    root.ok(
        "iam",
        "TagOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn, "Tags": [{"Key": "team", "Value": "infra"}]}),
    );
    root.ok(
        "iam",
        "UntagOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn, "TagKeys": ["ci"]}),
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListOpenIDConnectProviderTags",
            json!({"OpenIDConnectProviderArn": arn})
        )["Tags"],
        json!([{"Key": "team", "Value": "infra"}])
    );
    let listed = root.ok("iam", "ListOpenIDConnectProviders", json!({}));
    assert_eq!(listed["OpenIDConnectProviderList"], json!([{"Arn": arn}]));

    // Under policy.
    let dev = user_with_key(&root, "dev");
    let (status, code, _) = dev.err(
        "iam",
        "GetOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDenied"));

    root.ok(
        "iam",
        "DeleteOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn}),
    );
    let (status, code, _) = root.err(
        "iam",
        "GetOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn}),
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    assert_eq!(
        root.ok("iam", "ListOpenIDConnectProviders", json!({}))["OpenIDConnectProviderList"],
        json!([])
    );
}

fn saml_metadata(valid_until: Option<&str>) -> String {
    let until = valid_until
        .map(|u| format!(r#" validUntil="{u}""#))
        .unwrap_or_default();
    let cert = "MIIC".to_owned() + &"A".repeat(1200);
    format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/"{until}><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

#[test]
fn saml_providers() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let made = root.ok(
        "iam",
        "CreateSAMLProvider",
        json!({"Name": "corp-idp", "SAMLMetadataDocument": saml_metadata(Some("2031-01-02T03:04:05Z")), "Tags": [{"Key": "k", "Value": "v"}]}),
    );
    let arn = format!("arn:aws:iam::{ACCOUNT}:saml-provider/corp-idp");
    assert_eq!(made["SAMLProviderArn"], arn.as_str());
    let (status, code, _) = root.err(
        "iam",
        "CreateSAMLProvider",
        json!({"Name": "CORP-idp", "SAMLMetadataDocument": saml_metadata(None)}),
    );
    assert_eq!((status, code.as_str()), (409, "EntityAlreadyExists"));
    let (status, code, _) = root.err(
        "iam",
        "CreateSAMLProvider",
        json!({"Name": "other", "SAMLMetadataDocument": "x".repeat(1200)}),
    );
    assert_eq!((status, code.as_str()), (400, "InvalidInput"));

    let got = root.ok("iam", "GetSAMLProvider", json!({"SAMLProviderArn": arn}));
    assert!(
        got["ValidUntil"]
            .as_str()
            .unwrap()
            .starts_with("2031-01-02T03:04:05"),
        "{got}"
    );
    assert_eq!(got["Tags"], json!([{"Key": "k", "Value": "v"}]));
    assert!(
        got["SAMLMetadataDocument"]
            .as_str()
            .unwrap()
            .contains("EntityDescriptor")
    );
    let updated = root.ok(
        "iam",
        "UpdateSAMLProvider",
        json!({"SAMLProviderArn": arn, "SAMLMetadataDocument": saml_metadata(None)}),
    );
    assert_eq!(updated["SAMLProviderArn"], arn.as_str());
    let listed = root.ok("iam", "ListSAMLProviders", json!({}));
    assert_eq!(listed["SAMLProviderList"][0]["Arn"], arn.as_str());
    // Without validUntil: valid for a hundred years.
    let until = listed["SAMLProviderList"][0]["ValidUntil"]
        .as_str()
        .unwrap();
    let year: i32 = until[..4].parse().unwrap();
    assert!(year >= 2120, "{until}");
    root.ok(
        "iam",
        "TagSAMLProvider",
        json!({"SAMLProviderArn": arn, "Tags": [{"Key": "team", "Value": "id"}]}),
    );
    root.ok(
        "iam",
        "UntagSAMLProvider",
        json!({"SAMLProviderArn": arn, "TagKeys": ["k"]}),
    );
    assert_eq!(
        root.ok(
            "iam",
            "ListSAMLProviderTags",
            json!({"SAMLProviderArn": arn})
        )["Tags"],
        json!([{"Key": "team", "Value": "id"}])
    );
    assert_eq!(
        root.ok("iam", "GetAccountSummary", json!({}))["SummaryMap"]["Providers"],
        1
    );
    root.ok("iam", "DeleteSAMLProvider", json!({"SAMLProviderArn": arn}));
    let (status, code, _) = root.err("iam", "GetSAMLProvider", json!({"SAMLProviderArn": arn}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
}

#[test]
fn trust_policies_name_existing_identity_providers() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let oidc = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com");
    let trust = |federated: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{federated}"}},"Action":"sts:AssumeRoleWithWebIdentity"}}]}}"#
        )
    };
    let (status, code, msg) = root.err(
        "iam",
        "CreateRole",
        json!({"RoleName": "Ci", "AssumeRolePolicyDocument": trust(&oidc)}),
    );
    assert_eq!((status, code.as_str()), (400, "MalformedPolicyDocument"));
    assert!(msg.contains("Invalid principal in policy"), "{msg}");
    root.ok(
        "iam",
        "CreateOpenIDConnectProvider",
        json!({"Url": "https://token.actions.githubusercontent.com", "ClientIDList": ["sts.amazonaws.com"]}),
    );
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Ci", "AssumeRolePolicyDocument": trust(&oidc)}),
    );
    // Web identity providers by name need no IAM provider.
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "Google", "AssumeRolePolicyDocument": trust("accounts.google.com")}),
    );
}

#[test]
fn lists_of_credentials_kagi_does_not_store_are_empty() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let alice = user_with_key(&root, "alice");
    for (op, key) in [
        ("ListSSHPublicKeys", "SSHPublicKeys"),
        ("ListSigningCertificates", "Certificates"),
        (
            "ListServiceSpecificCredentials",
            "ServiceSpecificCredentials",
        ),
    ] {
        let got = root.ok("iam", op, json!({"UserName": "alice"}));
        assert_eq!(got[key], json!([]), "{op}: {got}");
        let (status, code, _) = root.err("iam", op, json!({"UserName": "nobody"}));
        assert_eq!((status, code.as_str()), (404, "NoSuchEntity"), "{op}");
        // Without UserName: the caller's own, which it needs permission for.
        let (status, code, _) = alice.err("iam", op, json!({}));
        assert_eq!((status, code.as_str()), (403, "AccessDenied"), "{op}");
    }
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": allow("iam:List*", &format!("arn:aws:iam::{ACCOUNT}:user/alice"))}),
    );
    assert_eq!(
        alice.ok("iam", "ListSSHPublicKeys", json!({}))["SSHPublicKeys"],
        json!([])
    );
    assert_eq!(
        root.ok("iam", "ListServerCertificates", json!({}))["ServerCertificateMetadataList"],
        json!([])
    );
    // Creating one is not implemented, and says so.
    let (status, code, _) = root.err(
        "iam",
        "UploadSSHPublicKey",
        json!({"UserName": "alice", "SSHPublicKeyBody": "ssh-rsa AAAA"}),
    );
    assert_eq!((status, code.as_str()), (501, "NotImplemented"));
}
