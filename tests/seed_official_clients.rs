//! The seed story driven by the official clients (awscli from PyPI, skopeo from apt) against a
//! real `kagi serve` process: see tests/compat/seed_official.py for the steps.
//!
//! Needs `KAGI_COMPAT_VENV` (set by scripts/test) and `skopeo` on PATH. Without them the test
//! says so and passes on a developer machine, and fails under CI (`CI` set), where it must run.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool_missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI (scripts/test installs it)");
    }
    eprintln!("SKIPPED: {what} is missing; run `bash scripts/test` to install it");
}

#[test]
fn seed_story_with_official_aws_cli_and_skopeo() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        return tool_missing("KAGI_COMPAT_VENV (a venv with awscli)");
    };
    if Command::new("skopeo").arg("--version").output().is_err() {
        return tool_missing("skopeo");
    }
    let kagi = env!("CARGO_BIN_EXE_kagi");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let (account, akid, secret) = (
        "123456789012",
        "AKIAKAGISEEDTESTROOT",
        "kagi/seed/test/root/secret/key/0123456789",
    );
    let _server = Server(
        Command::new(kagi)
            .args([
                "serve",
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data.path())
            .env("KAGI_ACCOUNT_ID", account)
            .env("KAGI_ROOT_ACCESS_KEY_ID", akid)
            .env("KAGI_ROOT_SECRET_ACCESS_KEY", secret)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kagi serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "kagi serve did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/seed_official.py");
    let out = Command::new(venv.join("bin/python"))
        .arg(script)
        .env("KAGI_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("KAGI_ACCOUNT", account)
        .env("KAGI_ROOT_AKID", akid)
        .env("KAGI_ROOT_SECRET", secret)
        .env("AWS_BIN", venv.join("bin/aws"))
        .env("KAGI_BIN", kagi)
        .output()
        .expect("run seed_official.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "official clients failed the seed story:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}
