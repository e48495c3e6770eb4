//! IAM Identity Center's sign-in half with the official clients: botocore's sso-oidc device
//! flow (RegisterClient, StartDeviceAuthorization, CreateToken polling until the user approves
//! in the access portal's pages), the portal API (ListAccounts, ListAccountRoles,
//! GetRoleCredentials, Logout), PKCE through `/authorize`, refresh tokens, and the role
//! session's permissions. The identity store and the assignment are made through the
//! administration API by kagi-testkit's `identity_center::seed` (shared with the CLI's tests);
//! the script is compat/sso_signin_official.py.

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
