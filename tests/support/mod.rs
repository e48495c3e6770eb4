//! What the tests that run `kagi serve` as a process share: a [`Server`] child on a free
//! loopback port and an [`Endpoint`] that runs the `kagi` binary against it, as a user would.
#![allow(dead_code)]

pub mod raw;
pub mod signed;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const ACCOUNT: &str = "123456789012";
pub const ROOT_AKID: &str = "AKIAKAGICRASHTESTKEY";
pub const ROOT_SECRET: &str = "crashtestcrashtestcrashtestcrashtest0001";
pub const KAGI: &str = env!("CARGO_BIN_EXE_kagi");

/// A `kagi serve` child process on a free port of 127.0.0.1.
pub struct Server {
    child: Child,
    pub at: Endpoint,
}

/// Where clients reach a server.
#[derive(Clone, Copy)]
pub struct Endpoint {
    pub port: u16,
}

impl Server {
    /// `kagi serve --port 0 --data-dir DATA EXTRA...` with the test account and root key.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_env(data, extra, &[])
    }

    /// [`Server::start`] with more environment variables.
    pub fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_with(data, extra, env, Stdio::inherit())
    }

    /// [`Server::start_env`] with its log (stderr) sent to `stderr`.
    pub fn start_with(
        data: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: impl Into<Stdio>,
    ) -> Server {
        let mut child = Command::new(KAGI)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data)
            .args(extra)
            .envs(env.iter().copied())
            .env("KAGI_ACCOUNT_ID", ACCOUNT)
            .env("KAGI_ROOT_ACCESS_KEY_ID", ROOT_AKID)
            .env("KAGI_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .env("KAGI_ROOT_PASSWORD", "kagi-test-root-password-1")
            // For `--blob-store` on the tests' S3-compatible server (moto accepts any key).
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start kagi serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("kagi serve exited before listening")
                .unwrap();
            if let Some(rest) = line.strip_prefix("kagi serve: listening on http://127.0.0.1:") {
                break rest.trim().parse().expect("port");
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            at: Endpoint { port },
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown handler runs, nothing is flushed.
    pub fn kill(self) {
        drop(self)
    }
}

impl Drop for Server {
    /// Also when a test fails: an orphaned server would hold the test's output open.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Endpoint {
    pub fn kagi(&self, creds: (&str, &str), args: &[&str]) -> Output {
        self.kagi_env(creds, &[], args)
    }

    /// [`Endpoint::kagi`] with more environment variables (`AWS_SESSION_TOKEN`, ...).
    pub fn kagi_env(&self, creds: (&str, &str), env: &[(&str, &str)], args: &[&str]) -> Output {
        Command::new(KAGI)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-kagi-test-home")
            .env("AWS_CONFIG_FILE", "/nonexistent-kagi-test-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent-kagi-test-credentials",
            )
            .env("AWS_ACCESS_KEY_ID", creds.0)
            .env("AWS_SECRET_ACCESS_KEY", creds.1)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .envs(env.iter().copied())
            .output()
            .expect("run kagi")
    }

    pub fn root(&self, args: &[&str]) -> Output {
        self.kagi((ROOT_AKID, ROOT_SECRET), args)
    }

    pub fn root_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.root(args);
        assert!(
            out.status.success(),
            "kagi {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

/// Every file under `p`, recursively.
pub fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Whether skopeo is installed (required under CI; a run without it says what it skipped).
pub fn skopeo_found() -> bool {
    let found = std::process::Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "skopeo is required under CI"
    );
    if !found {
        eprintln!("SKIPPED the skopeo part: skopeo is not installed");
    }
    found
}
