//! AWS Organizations and cross-account switch role with the official clients (boto3 and the
//! aws CLI from PyPI, through `KAGI_COMPAT_VENV`), against a server started in-process: see
//! compat/organizations_official.py. Without the tools the test says so and passes, except
//! under CI (`CI` set) where it fails.

mod common;
use common::*;

#[test]
fn organizations_and_cross_account_switch_role_with_official_clients() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    let aws = venv.join("bin/aws");
    run_compat_script(
        &venv,
        "organizations_official.py",
        &server,
        &[("AWS_BIN", aws.as_os_str())],
    );
}
