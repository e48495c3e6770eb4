//! The seed's IAM/STS steps with the official clients (awscli and boto3 from PyPI, found through
//! `KAGI_COMPAT_VENV`), against a server started in-process: see compat/iam_sts_official.py.
//! Without `KAGI_COMPAT_VENV` the test says so and passes, except under CI (`CI` set) where it
//! fails.

mod common;
use common::*;
use kagi_server::model::{Session, SessionKind};
use std::path::PathBuf;
use std::process::Command;

#[test]
fn seed_iam_sts_with_official_aws_cli_and_boto3() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        if std::env::var_os("CI").is_some() {
            panic!("KAGI_COMPAT_VENV (a venv with awscli and boto3) is required under CI");
        }
        eprintln!(
            "SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test` to install awscli and boto3"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_dir(Some(dir.path().to_path_buf()));
    // An expired session, minted with the server's own key as if an hour had passed.
    let sealer = sealer_of(dir.path());
    let now = kagi_server::ids::now_secs();
    let secret = "expiredSessionSecret0123456789abcdefghij";
    let s = Session {
        access_key_id: "ASIAEXPIREDSESSION22".into(),
        secret_sealed: sealer.seal_str("session-secret", secret),
        kind: SessionKind::Root,
        issued: now - 7200,
        expires: now - 3600,
        mfa: false,
        console: false,
        session_policies: vec![],
        has_session_policy: false,
        tags: vec![],
        source_identity: None,
    };
    let token = sealer.seal_token(&serde_json::to_vec(&s).unwrap());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/iam_sts_official.py"
    );
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .env("KAGI_ENDPOINT", format!("http://{}", server.addr))
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_ROOT_AKID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET", ROOT_SECRET)
        .env("KAGI_EXPIRED_AKID", "ASIAEXPIREDSESSION22")
        .env("KAGI_EXPIRED_SECRET", secret)
        .env("KAGI_EXPIRED_TOKEN", token)
        .env("AWS_BIN", venv.join("bin/aws"))
        .output()
        .expect("run iam_sts_official.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "official clients failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("OK:"), "{stdout}");
    println!("{stdout}");
}
