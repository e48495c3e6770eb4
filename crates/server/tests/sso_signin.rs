//! IAM Identity Center's sign-in half with the official clients: botocore's sso-oidc device
//! flow (RegisterClient, StartDeviceAuthorization, CreateToken polling until the user approves
//! in the access portal's pages), the portal API (ListAccounts, ListAccountRoles,
//! GetRoleCredentials, Logout), PKCE through `/authorize`, refresh tokens, and the role
//! session's permissions; then the denials: an expired device code, an account assignment
//! removed and a user deleted while they hold tokens; and MFA in the portal. The identity
//! store and the assignment are made through the administration API by kagi-testkit's
//! `identity_center::seed` (shared with the CLI's tests); the scripts are
//! compat/sso_signin_official.py, compat/sso_denials_official.py and
//! compat/sso_mfa_official.py.

mod common;
use common::*;

#[test]
fn device_flow_pkce_and_portal_with_botocore() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    let seeded = kagi_testkit::identity_center::seed(
        &format!("http://{}", server.addr),
        ACCOUNT,
        ROOT_AKID,
        ROOT_SECRET,
    );
    run_compat_script(
        &venv,
        "sso_signin_official.py",
        &server,
        &[("KAGI_STORE_ID", seeded.identity_store_id.as_ref())],
    );
}

/// Device codes last this long on the denials' server (`KAGI_SSO_DEVICE_CODE_SECONDS`), so
/// that one expires within the test.
const DEVICE_SECS: i64 = 3;

#[test]
fn expired_code_removed_assignment_and_deleted_user_with_botocore() {
    let Some(venv) = compat_venv() else { return };
    let server = start_configured(None, |c| c.sso_device_code_secs = DEVICE_SECS);
    let seeded = kagi_testkit::identity_center::seed(
        &format!("http://{}", server.addr),
        ACCOUNT,
        ROOT_AKID,
        ROOT_SECRET,
    );
    let secs = DEVICE_SECS.to_string();
    run_compat_script(
        &venv,
        "sso_denials_official.py",
        &server,
        &[
            ("KAGI_STORE_ID", seeded.identity_store_id.as_ref()),
            ("KAGI_INSTANCE_ARN", seeded.instance_arn.as_ref()),
            ("KAGI_USER_ID", seeded.user_id.as_ref()),
            ("KAGI_PS_ARN", seeded.permission_set_arn.as_ref()),
            ("KAGI_DEVICE_SECS", secs.as_ref()),
        ],
    );
}

/// MFA in the access portal (compat/sso_mfa_official.py): alice registers an authenticator
/// app, signs in with password + code (wrong and replayed codes refused), approvals wait for
/// the whole sign-in; the administrator's extension lists and deletes devices and sets the
/// instance's MFA settings (context-aware, always-on, never; allow, require registration,
/// block); five wrong codes lock her out. With `KAGI_TEST_BACKEND=postgres`, on PostgreSQL.
#[test]
fn portal_mfa_with_botocore() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    let seeded = kagi_testkit::identity_center::seed(
        &format!("http://{}", server.addr),
        ACCOUNT,
        ROOT_AKID,
        ROOT_SECRET,
    );
    run_compat_script(
        &venv,
        "sso_mfa_official.py",
        &server,
        &[("KAGI_STORE_ID", seeded.identity_store_id.as_ref())],
    );
}
