//! IAM Identity Center's administration half over the wire (JSON 1.1, signed, authorised):
//! an instance of the management account, its identity store (users, groups, memberships),
//! a permission set with an inline, an AWS managed policy and a boundary, assigned to a member
//! account created through Organizations: the role `AWSReservedSSO_<PS>_<hex>` appears in that
//! account (read through `OrganizationAccountAccessRole`) and goes when the assignment does.

mod common;
use common::*;
use serde_json::{Value, json};

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn ok(c: &Client, service: &str, op: &str, input: Value) -> Value {
    c.json(service, op, input)
        .unwrap_or_else(|(s, code, m)| panic!("{service}:{op} failed: {s} {code}: {m}"))
}

fn err(c: &Client, service: &str, op: &str, input: Value) -> (u16, String, String) {
    match c.json(service, op, input) {
        Ok(v) => panic!("{service}:{op} unexpectedly succeeded: {v}"),
        Err(e) => e,
    }
}

fn admin(c: &Client, op: &str, input: Value) -> Value {
    ok(c, "sso-admin", op, input)
}

fn ids(c: &Client, op: &str, input: Value) -> Value {
    ok(c, "identitystore", op, input)
}

struct World {
    server: kagi_server::RunningServer,
    root: Client,
    member: String,
    instance: String,
    store: String,
    /// The member account, through its OrganizationAccountAccessRole.
    member_admin: Client,
}

fn world() -> World {
    let server = start_in_memory();
    let root = Client::root(&server);
    ok(
        &root,
        "organizations",
        "CreateOrganization",
        json!({"FeatureSet": "ALL"}),
    );
    let st = ok(
        &root,
        "organizations",
        "CreateAccount",
        json!({"Email": "work@example.com", "AccountName": "work"}),
    );
    let member = st["CreateAccountStatus"]["AccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ops = user_with_key(&root, "ops");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "ops", "PolicyName": "all", "PolicyDocument": ALLOW_ALL}),
    );
    let creds = ops.ok(
        "sts",
        "AssumeRole",
        json!({
            "RoleArn": format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"),
            "RoleSessionName": "ops"
        }),
    );
    let member_admin = Client::from_credentials(server.addr, &creds["Credentials"]);

    let instance = admin(&root, "CreateInstance", json!({"Name": "kagi"}))["InstanceArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = admin(&root, "ListInstances", json!({}));
    let store = listed["Instances"][0]["IdentityStoreId"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        server,
        root,
        member,
        instance,
        store,
        member_admin,
    }
}

fn sso_roles(c: &Client) -> Vec<Value> {
    c.ok(
        "iam",
        "ListRoles",
        json!({"PathPrefix": "/aws-reserved/sso.amazonaws.com/"}),
    )["Roles"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn instance_identity_store_permission_set_and_assignment_provision_a_role() {
    let w = world();
    let (root, inst, store) = (&w.root, w.instance.as_str(), w.store.as_str());

    // ---- the instance ----
    assert!(inst.starts_with("arn:aws:sso:::instance/ssoins-"), "{inst}");
    let id = &inst["arn:aws:sso:::instance/ssoins-".len()..];
    assert_eq!(id.len(), 16);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(store.starts_with("d-") && store.len() == 12, "{store}");
    let (_, code, _) = err(root, "sso-admin", "CreateInstance", json!({}));
    assert_eq!(code, "ConflictException");
    let d = admin(root, "DescribeInstance", json!({"InstanceArn": inst}));
    assert_eq!(d["Name"], "kagi");
    assert_eq!(d["OwnerAccountId"], ACCOUNT);
    assert_eq!(d["Status"], "ACTIVE");
    admin(
        root,
        "UpdateInstance",
        json!({"InstanceArn": inst, "Name": "renamed"}),
    );
    assert_eq!(
        admin(root, "DescribeInstance", json!({"InstanceArn": inst}))["Name"],
        "renamed"
    );
    let d = ids(
        root,
        "DescribeIdentityStore",
        json!({"IdentityStoreId": store}),
    );
    assert_eq!(
        d["IdentityStoreArn"],
        format!("arn:aws:identitystore::{ACCOUNT}:identitystore/{store}")
    );

    // ---- users, groups, memberships ----
    let alice = ids(
        root,
        "CreateUser",
        json!({
            "IdentityStoreId": store,
            "UserName": "alice",
            "DisplayName": "Alice Liddell",
            "Name": {"GivenName": "Alice", "FamilyName": "Liddell"},
            "Emails": [{"Value": "alice@example.com", "Type": "work", "Primary": true}]
        }),
    );
    let alice_id = alice["UserId"].as_str().unwrap().to_owned();
    assert_eq!(
        alice["UserArn"],
        format!("arn:aws:identitystore:::user/{alice_id}")
    );
    let (status, code, _) = err(
        root,
        "identitystore",
        "CreateUser",
        json!({"IdentityStoreId": store, "UserName": "ALICE", "DisplayName": "Other"}),
    );
    assert_eq!((status, code.as_str()), (409, "ConflictException"));
    let u = ids(
        root,
        "DescribeUser",
        json!({"IdentityStoreId": store, "UserId": alice_id}),
    );
    assert_eq!(u["UserName"], "alice");
    assert_eq!(u["Name"]["GivenName"], "Alice");
    assert_eq!(u["Emails"][0]["Value"], "alice@example.com");
    assert_eq!(u["Revision"], "1");
    let got = ids(
        root,
        "GetUserId",
        json!({"IdentityStoreId": store, "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "Alice"}}}),
    );
    assert_eq!(got["UserId"], alice_id.as_str());
    let upd = ids(
        root,
        "UpdateUser",
        json!({"IdentityStoreId": store, "UserId": alice_id, "Operations": [
            {"AttributePath": "displayName", "AttributeValue": "Alice L."},
            {"AttributePath": "name.givenName", "AttributeValue": "Al"}
        ]}),
    );
    assert_eq!(upd["Revision"], "2");
    let u = ids(
        root,
        "DescribeUser",
        json!({"IdentityStoreId": store, "UserId": alice_id}),
    );
    assert_eq!(u["DisplayName"], "Alice L.");
    assert_eq!(u["Name"]["GivenName"], "Al");
    assert_eq!(u["Name"]["FamilyName"], "Liddell");
    let (_, code, _) = err(
        root,
        "identitystore",
        "DeleteUser",
        json!({"IdentityStoreId": store, "UserId": alice_id, "Revision": "1"}),
    );
    assert_eq!(code, "ConflictException", "a stale revision");
    let bob_id = ids(
        root,
        "CreateUser",
        json!({"IdentityStoreId": store, "UserName": "bob", "DisplayName": "Bob"}),
    )["UserId"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = ids(
        root,
        "ListUsers",
        json!({"IdentityStoreId": store, "Filters": [{"AttributePath": "UserName", "AttributeValue": "bob"}]}),
    );
    assert_eq!(listed["Users"].as_array().unwrap().len(), 1);
    assert_eq!(listed["Users"][0]["UserId"], bob_id.as_str());
    let all = ids(
        root,
        "ListUsers",
        json!({"IdentityStoreId": store, "MaxResults": 1}),
    );
    assert_eq!(all["Users"].as_array().unwrap().len(), 1);
    assert!(all["NextToken"].is_string());

    let devs = ids(
        root,
        "CreateGroup",
        json!({"IdentityStoreId": store, "DisplayName": "devs", "Description": "Developers"}),
    );
    let devs_id = devs["GroupId"].as_str().unwrap().to_owned();
    let (_, code, _) = err(
        root,
        "identitystore",
        "CreateGroup",
        json!({"IdentityStoreId": store, "DisplayName": "Devs"}),
    );
    assert_eq!(code, "ConflictException");
    let got = ids(
        root,
        "GetGroupId",
        json!({"IdentityStoreId": store, "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "devs"}}}),
    );
    assert_eq!(got["GroupId"], devs_id.as_str());
    let m = ids(
        root,
        "CreateGroupMembership",
        json!({"IdentityStoreId": store, "GroupId": devs_id, "MemberId": {"UserId": alice_id}}),
    );
    let m_id = m["MembershipId"].as_str().unwrap().to_owned();
    assert_eq!(
        m["MembershipArn"],
        format!("arn:aws:identitystore:::membership/{m_id}")
    );
    let (_, code, _) = err(
        root,
        "identitystore",
        "CreateGroupMembership",
        json!({"IdentityStoreId": store, "GroupId": devs_id, "MemberId": {"UserId": alice_id}}),
    );
    assert_eq!(code, "ConflictException");
    let (status, code, _) = err(
        root,
        "identitystore",
        "CreateGroupMembership",
        json!({"IdentityStoreId": store, "GroupId": devs_id, "MemberId": {"UserId": "00000000-0000-0000-0000-000000000000"}}),
    );
    assert_eq!((status, code.as_str()), (404, "ResourceNotFoundException"));
    let r = ids(
        root,
        "IsMemberInGroups",
        json!({"IdentityStoreId": store, "MemberId": {"UserId": alice_id}, "GroupIds": [devs_id]}),
    );
    assert_eq!(r["Results"][0]["MembershipExists"], true);
    let r = ids(
        root,
        "IsMemberInGroups",
        json!({"IdentityStoreId": store, "MemberId": {"UserId": bob_id}, "GroupIds": [devs_id]}),
    );
    assert_eq!(r["Results"][0]["MembershipExists"], false);
    let r = ids(
        root,
        "ListGroupMemberships",
        json!({"IdentityStoreId": store, "GroupId": devs_id}),
    );
    assert_eq!(
        r["GroupMemberships"][0]["MemberId"]["UserId"],
        alice_id.as_str()
    );
    let r = ids(
        root,
        "GetGroupMembershipId",
        json!({"IdentityStoreId": store, "GroupId": devs_id, "MemberId": {"UserId": alice_id}}),
    );
    assert_eq!(r["MembershipId"], m_id.as_str());
    let r = ids(
        root,
        "ListGroupMembershipsForMember",
        json!({"IdentityStoreId": store, "MemberId": {"UserId": alice_id}}),
    );
    assert_eq!(r["GroupMemberships"][0]["GroupId"], devs_id.as_str());

    // A portal password (no AWS operation: the test hook of `kagi sso set-password`).
    let e = w
        .server
        .set_sso_password(store, "alice", "short")
        .unwrap_err();
    assert_eq!(e.code, "PasswordPolicyViolation");
    w.server
        .set_sso_password(store, "alice", "Correct-Horse-9")
        .unwrap();

    // ---- a permission set ----
    let ps = admin(
        root,
        "CreatePermissionSet",
        json!({"InstanceArn": inst, "Name": "Developer", "Description": "Pushes images",
               "SessionDuration": "PT4H", "Tags": [{"Key": "team", "Value": "dev"}]}),
    )["PermissionSet"]
        .clone();
    let ps_arn = ps["PermissionSetArn"].as_str().unwrap().to_owned();
    assert!(
        ps_arn.starts_with(&format!("arn:aws:sso:::permissionSet/ssoins-{id}/ps-")),
        "{ps_arn}"
    );
    assert_eq!(ps["SessionDuration"], "PT4H");
    let (_, code, _) = err(
        root,
        "sso-admin",
        "CreatePermissionSet",
        json!({"InstanceArn": inst, "Name": "developer"}),
    );
    assert_eq!(code, "ConflictException");
    let (_, code, _) = err(
        root,
        "sso-admin",
        "CreatePermissionSet",
        json!({"InstanceArn": inst, "Name": "TooLong", "SessionDuration": "PT13H"}),
    );
    assert_eq!(code, "ValidationException");
    let d = admin(
        root,
        "DescribePermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(d["PermissionSet"]["Description"], "Pushes images");
    let listed = admin(root, "ListPermissionSets", json!({"InstanceArn": inst}));
    assert_eq!(listed["PermissionSets"], json!([ps_arn]));

    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#;
    let (_, code, msg) = err(
        root,
        "sso-admin",
        "PutInlinePolicyToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "InlinePolicy": "{\"Statement\": 3}"}),
    );
    assert_eq!(code, "ValidationException", "{msg}");
    admin(
        root,
        "PutInlinePolicyToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "InlinePolicy": inline}),
    );
    assert_eq!(
        admin(
            root,
            "GetInlinePolicyForPermissionSet",
            json!({"InstanceArn": inst, "PermissionSetArn": ps_arn})
        )["InlinePolicy"],
        inline
    );
    let managed = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";
    admin(
        root,
        "AttachManagedPolicyToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "ManagedPolicyArn": managed}),
    );
    let (_, code, _) = err(
        root,
        "sso-admin",
        "AttachManagedPolicyToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "ManagedPolicyArn": managed}),
    );
    assert_eq!(code, "ConflictException");
    let (_, code, _) = err(
        root,
        "sso-admin",
        "AttachManagedPolicyToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn,
               "ManagedPolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/Mine")}),
    );
    assert_eq!(code, "ValidationException");
    let l = admin(
        root,
        "ListManagedPoliciesInPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(
        l["AttachedManagedPolicies"],
        json!([{"Name": "AmazonEC2ContainerRegistryReadOnly", "Arn": managed}])
    );
    let boundary = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser";
    admin(
        root,
        "PutPermissionsBoundaryToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn,
               "PermissionsBoundary": {"ManagedPolicyArn": boundary}}),
    );
    assert_eq!(
        admin(
            root,
            "GetPermissionsBoundaryForPermissionSet",
            json!({"InstanceArn": inst, "PermissionSetArn": ps_arn})
        )["PermissionsBoundary"]["ManagedPolicyArn"],
        boundary
    );
    // A customer managed reference the account lacks fails the provisioning, as on AWS.
    admin(
        root,
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn,
               "CustomerManagedPolicyReference": {"Name": "ImagePolicy"}}),
    );
    let l = admin(
        root,
        "ListCustomerManagedPolicyReferencesInPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(
        l["CustomerManagedPolicyReferences"],
        json!([{"Name": "ImagePolicy", "Path": "/"}])
    );

    // ---- assignments ----
    let assign = |kind: &str, principal: &str| {
        json!({"InstanceArn": inst, "TargetId": w.member, "TargetType": "AWS_ACCOUNT",
               "PermissionSetArn": ps_arn, "PrincipalType": kind, "PrincipalId": principal})
    };
    let st = admin(root, "CreateAccountAssignment", assign("GROUP", &devs_id))
        ["AccountAssignmentCreationStatus"]
        .clone();
    assert_eq!(st["Status"], "FAILED", "{st}");
    assert!(
        st["FailureReason"]
            .as_str()
            .unwrap()
            .contains("ImagePolicy"),
        "{st}"
    );
    assert!(sso_roles(&w.member_admin).is_empty());
    assert!(
        admin(
            root,
            "ListAccountAssignments",
            json!({"InstanceArn": inst, "AccountId": w.member, "PermissionSetArn": ps_arn})
        )["AccountAssignments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The policy exists in the member account: the assignment succeeds.
    w.member_admin.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "ImagePolicy", "PolicyDocument": inline}),
    );
    let st = admin(root, "CreateAccountAssignment", assign("GROUP", &devs_id))
        ["AccountAssignmentCreationStatus"]
        .clone();
    assert_eq!(st["Status"], "SUCCEEDED", "{st}");
    assert_eq!(st["RequestId"].as_str().unwrap().len(), 36);
    let d = admin(
        root,
        "DescribeAccountAssignmentCreationStatus",
        json!({"InstanceArn": inst, "AccountAssignmentCreationRequestId": st["RequestId"]}),
    );
    assert_eq!(d["AccountAssignmentCreationStatus"]["Status"], "SUCCEEDED");
    assert_eq!(
        d["AccountAssignmentCreationStatus"]["TargetId"],
        w.member.as_str()
    );
    let l = admin(
        root,
        "ListAccountAssignmentCreationStatus",
        json!({"InstanceArn": inst, "Filter": {"Status": "FAILED"}}),
    );
    assert_eq!(
        l["AccountAssignmentsCreationStatus"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The role in the member account, read through OrganizationAccountAccessRole.
    let roles = sso_roles(&w.member_admin);
    assert_eq!(roles.len(), 1, "{roles:?}");
    let role = roles[0]["RoleName"].as_str().unwrap().to_owned();
    let hex = role
        .strip_prefix("AWSReservedSSO_Developer_")
        .unwrap_or_else(|| panic!("{role}"));
    assert_eq!(hex.len(), 16);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    let r = w
        .member_admin
        .ok("iam", "GetRole", json!({"RoleName": role}))["Role"]
        .clone();
    assert_eq!(r["Path"], "/aws-reserved/sso.amazonaws.com/");
    assert_eq!(r["PermissionsBoundary"]["PermissionsBoundaryArn"], boundary);
    assert_eq!(r["MaxSessionDuration"], 4 * 3600);
    let trust = r["AssumeRolePolicyDocument"].to_string();
    assert!(trust.contains("saml-provider/AWSSSO_"), "{trust}");
    let inl = w
        .member_admin
        .ok("iam", "ListRolePolicies", json!({"RoleName": role}));
    assert_eq!(inl["PolicyNames"], json!(["AwsSSOInlinePolicy"]));
    let att = w
        .member_admin
        .ok("iam", "ListAttachedRolePolicies", json!({"RoleName": role}));
    let mut arns: Vec<&str> = att["AttachedPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyArn"].as_str().unwrap())
        .collect();
    arns.sort();
    let mine = format!("arn:aws:iam::{}:policy/ImagePolicy", w.member);
    let mut want = vec![managed, mine.as_str()];
    want.sort();
    assert_eq!(arns, want);

    let l = admin(
        root,
        "ListAccountAssignments",
        json!({"InstanceArn": inst, "AccountId": w.member, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(
        l["AccountAssignments"],
        json!([{"AccountId": w.member, "PermissionSetArn": ps_arn, "PrincipalType": "GROUP", "PrincipalId": devs_id}])
    );
    let l = admin(
        root,
        "ListAccountAssignmentsForPrincipal",
        json!({"InstanceArn": inst, "PrincipalType": "GROUP", "PrincipalId": devs_id}),
    );
    assert_eq!(l["AccountAssignments"].as_array().unwrap().len(), 1);
    let l = admin(
        root,
        "ListPermissionSetsProvisionedToAccount",
        json!({"InstanceArn": inst, "AccountId": w.member}),
    );
    assert_eq!(l["PermissionSets"], json!([ps_arn]));

    // A change makes the account outdated until ProvisionPermissionSet.
    admin(
        root,
        "DetachManagedPolicyFromPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "ManagedPolicyArn": managed}),
    );
    let stale = admin(
        root,
        "ListAccountsForProvisionedPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn,
               "ProvisioningStatus": "LATEST_PERMISSION_SET_NOT_PROVISIONED"}),
    );
    assert_eq!(stale["AccountIds"], json!([w.member]));
    let p = admin(
        root,
        "ProvisionPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn, "TargetType": "ALL_PROVISIONED_ACCOUNTS"}),
    )["PermissionSetProvisioningStatus"]
        .clone();
    assert_eq!(p["Status"], "SUCCEEDED", "{p}");
    let d = admin(
        root,
        "DescribePermissionSetProvisioningStatus",
        json!({"InstanceArn": inst, "ProvisionPermissionSetRequestId": p["RequestId"]}),
    );
    assert_eq!(d["PermissionSetProvisioningStatus"]["Status"], "SUCCEEDED");
    let fresh = admin(
        root,
        "ListAccountsForProvisionedPermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn,
               "ProvisioningStatus": "LATEST_PERMISSION_SET_PROVISIONED"}),
    );
    assert_eq!(fresh["AccountIds"], json!([w.member]));
    let att = w
        .member_admin
        .ok("iam", "ListAttachedRolePolicies", json!({"RoleName": role}));
    assert_eq!(att["AttachedPolicies"].as_array().unwrap().len(), 1);

    // A permission set in use cannot be deleted.
    let (_, code, _) = err(
        root,
        "sso-admin",
        "DeletePermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(code, "ConflictException");

    // Tags on the permission set.
    admin(
        root,
        "TagResource",
        json!({"InstanceArn": inst, "ResourceArn": ps_arn, "Tags": [{"Key": "env", "Value": "prod"}]}),
    );
    admin(
        root,
        "UntagResource",
        json!({"InstanceArn": inst, "ResourceArn": ps_arn, "TagKeys": ["team"]}),
    );
    let t = admin(
        root,
        "ListTagsForResource",
        json!({"InstanceArn": inst, "ResourceArn": ps_arn}),
    );
    assert_eq!(t["Tags"], json!([{"Key": "env", "Value": "prod"}]));

    // ---- errors ----
    let (status, code, _) = err(
        root,
        "sso-admin",
        "CreateAccountAssignment",
        assign("USER", "00000000-0000-0000-0000-000000000000"),
    );
    assert_eq!((status, code.as_str()), (404, "ResourceNotFoundException"));
    // An account outside the organization (and not in the store) is refused.
    let mut outside = assign("USER", &alice_id);
    outside["TargetId"] = json!("999999999999");
    let (_, code, _) = err(root, "sso-admin", "CreateAccountAssignment", outside);
    assert_eq!(code, "ValidationException");
    // The member account does not own the instance.
    let (status, code, _) = err(
        &w.member_admin,
        "sso-admin",
        "DescribeInstance",
        json!({"InstanceArn": inst}),
    );
    assert_eq!((status, code.as_str()), (403, "AccessDeniedException"));
    let (_, code, _) = err(
        &w.member_admin,
        "sso-admin",
        "ListPermissionSets",
        json!({"InstanceArn": inst}),
    );
    assert_eq!(code, "AccessDeniedException");
    let (_, code, _) = err(
        &w.member_admin,
        "identitystore",
        "ListUsers",
        json!({"IdentityStoreId": store}),
    );
    assert_eq!(code, "AccessDeniedException");
    assert!(
        admin(&w.member_admin, "ListInstances", json!({}))["Instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A principal of the owner account without policies is refused too.
    let nobody = user_with_key(root, "nobody");
    let (_, code, msg) = err(
        &nobody,
        "sso-admin",
        "DescribePermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    assert_eq!(code, "AccessDeniedException", "{msg}");

    // ---- a user's direct assignment; deleting the user removes it and its role ----
    let st = admin(root, "CreateAccountAssignment", assign("USER", &bob_id))
        ["AccountAssignmentCreationStatus"]
        .clone();
    assert_eq!(st["Status"], "SUCCEEDED");
    // Deleting the group's assignment keeps the role: bob's needs it.
    let del = admin(root, "DeleteAccountAssignment", assign("GROUP", &devs_id))
        ["AccountAssignmentDeletionStatus"]
        .clone();
    assert_eq!(del["Status"], "SUCCEEDED");
    let d = admin(
        root,
        "DescribeAccountAssignmentDeletionStatus",
        json!({"InstanceArn": inst, "AccountAssignmentDeletionRequestId": del["RequestId"]}),
    );
    assert_eq!(d["AccountAssignmentDeletionStatus"]["Status"], "SUCCEEDED");
    assert_eq!(sso_roles(&w.member_admin).len(), 1);
    let (_, code, _) = err(
        root,
        "sso-admin",
        "DeleteAccountAssignment",
        assign("GROUP", &devs_id),
    );
    assert_eq!(code, "ResourceNotFoundException");
    ids(
        root,
        "DeleteUser",
        json!({"IdentityStoreId": store, "UserId": bob_id}),
    );
    assert!(
        sso_roles(&w.member_admin).is_empty(),
        "the role went with the last assignment"
    );
    let (_, code, _) = w
        .member_admin
        .err("iam", "GetRole", json!({"RoleName": role}));
    assert_eq!(code, "NoSuchEntity");
    assert!(
        admin(
            root,
            "ListAccountsForProvisionedPermissionSet",
            json!({"InstanceArn": inst, "PermissionSetArn": ps_arn})
        )["AccountIds"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Deleting the group removes its memberships.
    ids(
        root,
        "DeleteGroup",
        json!({"IdentityStoreId": store, "GroupId": devs_id}),
    );
    let r = ids(
        root,
        "ListGroupMembershipsForMember",
        json!({"IdentityStoreId": store, "MemberId": {"UserId": alice_id}}),
    );
    assert!(r["GroupMemberships"].as_array().unwrap().is_empty());
    let (status, code, _) = err(
        root,
        "identitystore",
        "DescribeGroupMembership",
        json!({"IdentityStoreId": store, "MembershipId": m_id}),
    );
    assert_eq!((status, code.as_str()), (404, "ResourceNotFoundException"));

    // With nothing assigned, the permission set and then the instance can go.
    admin(
        root,
        "DeletePermissionSet",
        json!({"InstanceArn": inst, "PermissionSetArn": ps_arn}),
    );
    admin(root, "DeleteInstance", json!({"InstanceArn": inst}));
    assert!(
        admin(root, "ListInstances", json!({}))["Instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
