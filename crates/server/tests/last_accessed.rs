//! IAM's last-accessed reports from the event history with the official clients (boto3 and
//! the aws CLI from PyPI; compat/last_accessed_official.py). With `KAGI_TEST_BACKEND=postgres`
//! the server keeps its state (jobs and the history) in PostgreSQL.

mod common;
use common::*;

#[test]
fn last_accessed_reports_with_official_clients() {
    let Some(venv) = compat_venv() else { return };
    let server = start_with_dir(None);
    let aws = venv.join("bin/aws");
    run_compat_script(
        &venv,
        "last_accessed_official.py",
        &server,
        &[("AWS_BIN", aws.as_os_str())],
    );
}
