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
