//! The seed's console steps in a real browser: Debian's `chromium` driven by `playwright-core`
//! (tests/browser/console.test.mjs) against a real `kagi serve` process on a free loopback port.
//!
//! Needs `node`, a chromium (`/usr/bin/chromium`, or `KAGI_CHROMIUM`) and
//! `tests/browser/node_modules` (`npm ci` there; `scripts/test` does all three). Without them the
//! test says so and passes on a developer machine, and fails under CI (`CI` set), where it must run.
//!
//! Screenshots of every step land in `target/browser-shots/`; with `KAGI_UPDATE_SCREENSHOTS=1`
//! the chosen few are copied to `docs/screenshots/` (shown in the README).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
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

const ACCOUNT: &str = "123456789012";
const ROOT_AKID: &str = "AKIAKAGIBROWSERTROOT";
const ROOT_SECRET: &str = "kagi/browser/test/root/secret/key/0123456";
const ROOT_PASSWORD: &str = "Root-Console-Pw-2026!";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the CLI half of kagi as the account root (no shared config: a private HOME).
fn kagi_as_root(kagi: &str, home: &Path, endpoint: &str, args: &[&str]) -> String {
    let out = Command::new(kagi)
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", "ap-northeast-1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", ROOT_AKID)
        .env("AWS_SECRET_ACCESS_KEY", ROOT_SECRET)
        .output()
        .expect("run kagi");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kagi {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn seed_console_steps_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if Command::new("node").arg("--version").output().is_err() {
        return tool_missing("node");
    }
    let chromium = std::env::var_os("KAGI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return tool_missing(&format!("chromium ({})", chromium.display()));
    }
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return tool_missing("tests/browser/node_modules (npm ci in tests/browser)");
    }

    let kagi = env!("CARGO_BIN_EXE_kagi");
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
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
            .env("KAGI_ACCOUNT_ID", ACCOUNT)
            .env("KAGI_ROOT_ACCESS_KEY_ID", ROOT_AKID)
            .env("KAGI_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .env("KAGI_ROOT_PASSWORD", ROOT_PASSWORD)
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
    let endpoint = format!("http://127.0.0.1:{port}");

    // The repository the role may push to exists before the story starts (the seed makes it
    // outside the console too).
    let home = tempfile::tempdir().unwrap();
    let created = kagi_as_root(
        kagi,
        home.path(),
        &endpoint,
        &[
            "ecr",
            "create-repository",
            "--repository-name",
            "test-repos",
        ],
    );
    assert!(
        created.contains("\"repositoryName\": \"test-repos\""),
        "{created}"
    );

    // An image in it, pushed as the root with a registry password from the CLI, so the
    // repository page has a tag, a digest and a size to show.
    let password = kagi_as_root(kagi, home.path(), &endpoint, &["ecr", "get-login-password"]);
    kagi_ecr::client::Registry::new(&format!("127.0.0.1:{port}"), "AWS", password.trim())
        .push(
            "test-repos",
            "v1",
            &kagi_ecr::client::demo_image(),
            &mut |_, _| {},
        )
        .expect("push an image to test-repos");

    let shots = root.join("target/browser-shots");
    let out = Command::new("node")
        .arg(browser_dir.join("console.test.mjs"))
        .current_dir(&browser_dir)
        .env("KAGI_ENDPOINT", &endpoint)
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_ROOT_PASSWORD", ROOT_PASSWORD)
        .env("KAGI_BIN", kagi)
        .env("KAGI_SHOTS_DIR", &shots)
        .env("KAGI_DOCS_DIR", root.join("docs/screenshots"))
        .env("KAGI_CHROMIUM", &chromium)
        .output()
        .expect("run node tests/browser/console.test.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}
