//! The seed's IAM/STS steps with the official clients (awscli and boto3 from PyPI, found through
//! `KAGI_COMPAT_VENV`; AWS CLI v2 from Debian's `awscli`, `/usr/bin/aws` or `KAGI_AWS_V2`),
//! against a server started in-process: see compat/iam_sts_official.py. Without the tools the
//! tests say so and pass, except under CI (`CI` set) where they fail.

mod common;
use common::*;
use kagi_server::model::{Session, SessionKind};
use std::path::PathBuf;
use std::process::Command;

fn venv() -> Option<PathBuf> {
    let venv = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from);
    if venv.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("KAGI_COMPAT_VENV (a venv with awscli and boto3) is required under CI");
        }
        eprintln!(
            "SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test` to install awscli and boto3"
        );
    }
    venv
}

#[test]
fn seed_iam_sts_with_official_aws_cli_and_boto3() {
    let Some(venv) = venv() else { return };
    run_script(&venv, &venv.join("bin/aws"));
}

/// The same steps with AWS CLI v2 (2.9 on Debian bookworm). It cannot point a role profile at
/// kagi (no `endpoint_url` in profiles nor `AWS_ENDPOINT_URL` before 2.13), so the script runs
/// those steps with the v1 CLI and says so.
#[test]
fn seed_iam_sts_with_aws_cli_v2() {
    let Some(venv) = venv() else { return };
    let v2 = std::env::var_os("KAGI_AWS_V2")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/aws"));
    let version = Command::new(&v2)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with("aws-cli/2.") {
        if std::env::var_os("CI").is_some() {
            panic!(
                "AWS CLI v2 at {} is required under CI (scripts/test installs Debian's awscli)",
                v2.display()
            );
        }
        eprintln!(
            "SKIPPED: no AWS CLI v2 at {}; apt-get install awscli",
            v2.display()
        );
        return;
    }
    run_script(&venv, &v2);
}

fn run_script(venv: &std::path::Path, aws: &std::path::Path) {
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
        account: String::new(),
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
        .env("AWS_BIN", aws)
        .env("AWS_V1_BIN", venv.join("bin/aws"))
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
