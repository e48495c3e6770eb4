//! AWS Organizations and cross-account switch role with the official clients (boto3 and the
//! aws CLI from PyPI, through `KAGI_COMPAT_VENV`), against a server started in-process: see
//! compat/organizations_official.py. Without the tools the test says so and passes, except
//! under CI (`CI` set) where it fails.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn organizations_and_cross_account_switch_role_with_official_clients() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KAGI_COMPAT_VENV (a venv with awscli and boto3) is required under CI"
        );
        eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test`");
        return;
    };
    let server = start_with_dir(None);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/organizations_official.py"
    );
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .env("KAGI_ENDPOINT", format!("http://{}", server.addr))
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_ROOT_AKID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET", ROOT_SECRET)
        .env("AWS_BIN", venv.join("bin/aws"))
        .output()
        .expect("run organizations_official.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "official clients failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}
