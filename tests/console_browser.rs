//! The console in a real browser: Debian's `chromium` driven by `playwright-core` against a real
//! `kagi serve` process on a free loopback port. One test per feature, each with its own server
//! (so that a failure names its feature and no feature sees another's users or policies):
//!
//! | test | script (tests/browser/) | what |
//! |---|---|---|
//! | `seed_console_steps_in_chromium` | `console.test.mjs` | the seed's steps 2–6, switch role, ECR, `kagi console` |
//! | `browser_mfa` | `mfa.test.mjs` | assign a virtual MFA device, sign in with TOTP codes |
//! | `browser_groups` | `groups.test.mjs` | a group's policy changes its member's permissions |
//! | `browser_policy_versions` | `policy-versions.test.mjs` | versions, default, delete; live findings |
//! | `browser_simulator` | `simulator.test.mjs` | the policy simulator on the seed's role |
//! | `browser_role_trust` | `role-trust.test.mjs` | role wizard: another account, external ID, MFA, custom |
//! | `browser_password` | `password.test.mjs` | password policy, ChangePassword |
//! | `browser_security` | `security.test.mjs` | CSP, cookies, CSRF as the browser sees them |
//! | `browser_lifecycle` | `lifecycle.test.mjs` | inline policies, access keys, console access, deleting |
//!
//! The feature scripts share `tests/browser/lib.mjs`, which also checks on every page of every
//! feature: no CSP violation, the security headers, HttpOnly/SameSite=Strict cookies.
//!
//! Needs `node`, a chromium (`/usr/bin/chromium`, or `KAGI_CHROMIUM`) and
//! `tests/browser/node_modules` (`npm ci` there; `scripts/test` does all three). Without them the
//! test says so and passes on a developer machine, and fails under CI (`CI` set), where it must run.
//!
//! Screenshots of every step land in `target/browser-shots/` (a feature's in
//! `target/browser-shots/<feature>/`); with `KAGI_UPDATE_SCREENSHOTS=1`
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

/// A running `kagi serve` with a fresh data directory, and what the scripts need.
struct Fixture {
    _server: Server,
    _data: tempfile::TempDir,
    endpoint: String,
    port: u16,
    root: &'static Path,
    chromium: PathBuf,
}

/// Starts a server, or `None` (after [`tool_missing`]) when the browser tools are not there.
fn fixture() -> Option<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if Command::new("node").arg("--version").output().is_err() {
        tool_missing("node");
        return None;
    }
    let chromium = std::env::var_os("KAGI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        tool_missing(&format!("chromium ({})", chromium.display()));
        return None;
    }
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        tool_missing("tests/browser/node_modules (npm ci in tests/browser)");
        return None;
    }

    let kagi = env!("CARGO_BIN_EXE_kagi");
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let server = Server(
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
    Some(Fixture {
        _server: server,
        _data: data,
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        root,
        chromium,
    })
}

/// Runs `tests/browser/<script>` against the fixture's server; screenshots go to
/// `target/browser-shots/<shots>`. Panics with the script's output unless it printed `OK:`.
fn run_script(fx: &Fixture, script: &str, shots: &str) {
    let browser_dir = fx.root.join("tests/browser");
    let shots = fx.root.join("target/browser-shots").join(shots);
    let out = Command::new("node")
        .arg(browser_dir.join(script))
        .current_dir(&browser_dir)
        .env("KAGI_ENDPOINT", &fx.endpoint)
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_ROOT_PASSWORD", ROOT_PASSWORD)
        .env("KAGI_ROOT_ACCESS_KEY_ID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
        .env("KAGI_BIN", env!("CARGO_BIN_EXE_kagi"))
        .env("KAGI_SHOTS_DIR", &shots)
        .env("KAGI_DOCS_DIR", fx.root.join("docs/screenshots"))
        .env("KAGI_CHROMIUM", &fx.chromium)
        .output()
        .unwrap_or_else(|e| panic!("run node tests/browser/{script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test {script} failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}

#[test]
fn seed_console_steps_in_chromium() {
    let Some(fx) = fixture() else { return };
    let kagi = env!("CARGO_BIN_EXE_kagi");
    let endpoint = &fx.endpoint;

    // The repository the role may push to exists before the story starts (the seed makes it
    // outside the console too).
    let home = tempfile::tempdir().unwrap();
    let created = kagi_as_root(
        kagi,
        home.path(),
        endpoint,
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
    let password = kagi_as_root(kagi, home.path(), endpoint, &["ecr", "get-login-password"]);
    kagi_ecr::client::Registry::new(&format!("127.0.0.1:{}", fx.port), "AWS", password.trim())
        .push(
            "test-repos",
            "v1",
            &kagi_ecr::client::demo_image(),
            &mut |_, _| {},
        )
        .expect("push an image to test-repos");

    run_script(&fx, "console.test.mjs", "");
}

/// Virtual MFA: assign a device (secret read once, two TOTP codes), then sign in with a code;
/// wrong and reused codes are refused; an MFA sign-in may assume a role that requires MFA.
#[test]
fn browser_mfa() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "mfa.test.mjs", "mfa");
}

/// Groups: a member's permissions follow the group's policies.
#[test]
fn browser_groups() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "groups.test.mjs", "groups");
}

/// Policy versions: new version, default, delete; the editor's live findings.
#[test]
fn browser_policy_versions() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "policy-versions.test.mjs", "policy-versions");
}

/// The policy simulator on the seed's role.
#[test]
fn browser_simulator() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "simulator.test.mjs", "simulator");
}

/// The role wizard's trust options and the trust-policy editor.
#[test]
fn browser_role_trust() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "role-trust.test.mjs", "role-trust");
}

/// The account password policy and ChangePassword.
#[test]
fn browser_password() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "password.test.mjs", "password");
}

/// Web security as the browser sees it: CSP, cookies, CSRF.
#[test]
fn browser_security() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "security.test.mjs", "security");
}

/// Inline policies, access key status, console access, deleting users, groups, roles, policies.
#[test]
fn browser_lifecycle() {
    let Some(fx) = fixture() else { return };
    run_script(&fx, "lifecycle.test.mjs", "lifecycle");
}
