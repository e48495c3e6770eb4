//! IAM Identity Center's administration APIs with the official client (boto3 from PyPI, through
//! `KAGI_COMPAT_VENV`), against a server started in-process: see
//! compat/identity_center_official.py. Without the tools the test says so and passes, except
//! under CI (`CI` set) where it fails.

mod common;
use common::*;

#[test]
fn identity_center_admin_with_the_official_client() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    run_compat_script(&venv, "identity_center_official.py", &server, &[]);
}
