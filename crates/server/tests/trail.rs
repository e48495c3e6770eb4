//! The event history: CloudTrail LookupEvents with the official clients (boto3 and the aws CLI
//! from PyPI; compat/trail_official.py), and registry pushes recorded as ECR events.

mod common;
use common::*;

#[test]
fn event_history_with_official_clients() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    let aws = venv.join("bin/aws");
    run_compat_script(
        &venv,
        "trail_official.py",
        &server,
        &[("AWS_BIN", aws.as_os_str())],
    );
}
