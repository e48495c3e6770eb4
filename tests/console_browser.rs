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
//! | `browser_switch_role` | `switch-role.test.mjs` | switch-role links, switching again, recent roles |
//! | `browser_phone` | `phone.test.mjs` | every kind of page fits a phone's width |
//! | `browser_federation` | `federation.test.mjs` | `kagi console` with user keys, tool-built URLs |
//! | `browser_ecr` | `ecr.test.mjs` | create/delete repositories and images, repository policy |
//! | `browser_web_identity` | `web-identity.test.mjs` | identity providers, role wizard "Web identity" |
//! | `browser_themes` | `themes.test.mjs` | one page of every kind in the light and dark themes |
//! | `browser_keyboard` | `keyboard.test.mjs` | the seed's console steps with the keyboard only |
//! | `browser_tables` | `tables.test.mjs` | 120 users: filter, sort, pages (mouse, keyboard), no script, empty state |
//! | `browser_cross_account` | `cross-account.test.mjs` | switch role into a created account's OrganizationAccountAccessRole, band, switch back |
//! | `browser_access_advisor` | `access-advisor.test.mjs` | Access Advisor tabs (role, user); a role's sessions; revoke active sessions (the old session denied at once); without scripts |
//! | `browser_trail` | `trail.test.mjs` | Event history: filters, pages, a denied event's explanation; a role's generated policy created and attached |
//! | `browser_identity_center` | `identity-center.test.mjs` | Identity Center: user, group, permission set with an inline policy, assignment, portal password; the user signs in to `/start`; the delete dialog |
//!
//! The feature scripts share `tests/browser/lib.mjs`, which also checks on every page of every
//! feature: no CSP violation, the security headers, HttpOnly/SameSite=Strict cookies, and no
//! serious or critical axe-core accessibility violation.
//!
//! **Running them.** A feature spends most of its time waiting (page loads, the editor's
//! debounce), so the features run [`PARALLEL`] at a time in the background, started by the
//! first test that runs; each test then waits for its own feature's outcome and reports it
//! under its own name. Only the features the test filter selects are started (libtest's
//! substring filters, `--exact` and `--skip` are understood); a test whose feature was not
//! started in the background runs it itself. Under `cargo nextest` (one process per test,
//! `--exact`) each test thus runs just its own feature.
//!
//! Needs `node`, a chromium (`/usr/bin/chromium`, or `KAGI_CHROMIUM`) and
//! `tests/browser/node_modules` (`npm ci` there; `scripts/test` does all three). Without them the
//! tests say so and pass on a developer machine, and fail under CI (`CI` set), where they must run.
//!
//! Screenshots of every step land in `target/browser-shots/` (a feature's in
//! `target/browser-shots/<feature>/`); with `KAGI_UPDATE_SCREENSHOTS=1`
//! the chosen few are copied to `docs/screenshots/` (shown in the README).

use std::collections::HashMap;
use std::net::TcpListener;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a missing tool means: a failure under CI, a skip elsewhere.
fn tool_missing(what: &str) -> Outcome {
    if std::env::var_os("CI").is_some() {
        return Err(format!(
            "{what} is required under CI (scripts/test installs it)"
        ));
    }
    Ok(format!(
        "SKIPPED: {what} is missing; run `bash scripts/test` to install it"
    ))
}

/// A feature's outcome: its output (or why it was skipped), or why it failed.
type Outcome = Result<String, String>;

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

/// The browser tools: the chromium to use, or the outcome for every feature when missing.
fn tools() -> Result<PathBuf, Outcome> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if Command::new("node").arg("--version").output().is_err() {
        return Err(tool_missing("node"));
    }
    let chromium = std::env::var_os("KAGI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(tool_missing(&format!("chromium ({})", chromium.display())));
    }
    if !root
        .join("tests/browser/node_modules/playwright-core/package.json")
        .is_file()
    {
        return Err(tool_missing(
            "tests/browser/node_modules (npm ci in tests/browser)",
        ));
    }
    Ok(chromium)
}

/// Starts a `kagi serve` with a fresh data directory.
fn fixture(chromium: PathBuf) -> Fixture {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
    Fixture {
        _server: server,
        _data: data,
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        root,
        chromium,
    }
}

/// Runs `tests/browser/<script>` against the fixture's server; screenshots go to
/// `target/browser-shots/<shots>`. Succeeds with the script's output when it printed `OK:`.
fn run_script(fx: &Fixture, script: &str, shots: &str) -> Outcome {
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
        .map_err(|e| format!("run node tests/browser/{script}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && stdout.contains("OK:") {
        Ok(stdout.into_owned())
    } else {
        Err(format!(
            "the browser test {script} failed (screenshots in {}):\n{stdout}\n{stderr}",
            shots.display()
        ))
    }
}

/// The seed's preparation outside the console: the repository test-repos with an image (for
/// the seed's steps and the ECR and phone features).
fn seed_setup(fx: &Fixture) {
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
}

/// `(test name, script, screenshot folder)` of every feature, the longest first (they start in
/// this order).
const FEATURES: [(&str, &str, &str); 21] = [
    ("seed_console_steps_in_chromium", "console.test.mjs", ""),
    ("browser_lifecycle", "lifecycle.test.mjs", "lifecycle"),
    ("browser_mfa", "mfa.test.mjs", "mfa"),
    ("browser_role_trust", "role-trust.test.mjs", "role-trust"),
    ("browser_password", "password.test.mjs", "password"),
    (
        "browser_policy_versions",
        "policy-versions.test.mjs",
        "policy-versions",
    ),
    ("browser_security", "security.test.mjs", "security"),
    ("browser_ecr", "ecr.test.mjs", "ecr"),
    ("browser_phone", "phone.test.mjs", "phone"),
    ("browser_tables", "tables.test.mjs", "tables"),
    ("browser_themes", "themes.test.mjs", "themes"),
    ("browser_keyboard", "keyboard.test.mjs", "keyboard"),
    ("browser_federation", "federation.test.mjs", "federation"),
    ("browser_switch_role", "switch-role.test.mjs", "switch-role"),
    (
        "browser_cross_account",
        "cross-account.test.mjs",
        "cross-account",
    ),
    ("browser_groups", "groups.test.mjs", "groups"),
    (
        "browser_identity_center",
        "identity-center.test.mjs",
        "identity-center",
    ),
    ("browser_trail", "trail.test.mjs", "trail"),
    ("browser_simulator", "simulator.test.mjs", "simulator"),
    (
        "browser_access_advisor",
        "access-advisor.test.mjs",
        "access-advisor",
    ),
    (
        "browser_web_identity",
        "web-identity.test.mjs",
        "web-identity",
    ),
];

/// How many features run at once (each: a server, node, a chromium).
const PARALLEL: usize = 3;

/// Runs one feature from start to end: its own server, its setup, its script.
fn run_feature(test: &str) -> Outcome {
    let (_, script, shots) = FEATURES
        .iter()
        .find(|f| f.0 == test)
        .unwrap_or_else(|| panic!("no feature {test}"));
    let chromium = match tools() {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    catch_unwind(AssertUnwindSafe(|| {
        let fx = fixture(chromium);
        if matches!(
            test,
            "seed_console_steps_in_chromium"
                | "browser_ecr"
                | "browser_phone"
                | "browser_themes"
                | "browser_keyboard"
        ) {
            seed_setup(&fx);
        }
        run_script(&fx, script, shots)
    }))
    .unwrap_or_else(|p| {
        Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the feature's setup panicked".into()))
    })
}

/// The tests this run of the test binary selects, by libtest's rules for its arguments.
fn selected() -> Vec<&'static str> {
    let mut filters = Vec::new();
    let mut skips = Vec::new();
    let mut exact = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--skip" => skips.extend(args.next()),
            "--test-threads" | "--format" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                args.next();
            }
            f if f.starts_with('-') => {}
            f => filters.push(f.to_owned()),
        }
    }
    let hit = |name: &str, f: &str| if exact { name == f } else { name.contains(f) };
    FEATURES
        .iter()
        .map(|f| f.0)
        .filter(|n| filters.is_empty() || filters.iter().any(|f| hit(n, f)))
        .filter(|n| !skips.iter().any(|s| hit(n, s)))
        .collect()
}

/// The features running in the background and their outcomes.
struct Runs {
    started: Vec<&'static str>,
    outcomes: Mutex<HashMap<&'static str, Outcome>>,
    done: Condvar,
}

static RUNS: OnceLock<Arc<Runs>> = OnceLock::new();

/// Starts the selected features, [`PARALLEL`] at a time, in background threads.
fn start() -> Arc<Runs> {
    let started = selected();
    let runs = Arc::new(Runs {
        started: started.clone(),
        outcomes: Mutex::new(HashMap::new()),
        done: Condvar::new(),
    });
    let queue = Arc::new(Mutex::new(started));
    for _ in 0..PARALLEL {
        let (runs, queue) = (runs.clone(), queue.clone());
        std::thread::spawn(move || {
            loop {
                let next = {
                    let mut q = queue.lock().unwrap();
                    if q.is_empty() {
                        None
                    } else {
                        Some(q.remove(0))
                    }
                };
                let Some(test) = next else { break };
                let outcome = run_feature(test);
                runs.outcomes.lock().unwrap().insert(test, outcome);
                runs.done.notify_all();
            }
        });
    }
    runs
}

/// The outcome of `test`'s feature: from the background run, or run here when not started.
fn feature(test: &'static str) {
    let runs = RUNS.get_or_init(start);
    let outcome = if runs.started.contains(&test) {
        let mut outcomes = runs.outcomes.lock().unwrap();
        loop {
            if let Some(o) = outcomes.remove(test) {
                break o;
            }
            outcomes = runs.done.wait(outcomes).unwrap();
        }
    } else {
        run_feature(test)
    };
    match outcome {
        Ok(out) => eprintln!("{out}"),
        Err(e) => panic!("{e}"),
    }
}

/// The seed's console steps 2–6, switch role, ECR pages, `kagi console`.
#[test]
fn seed_console_steps_in_chromium() {
    feature("seed_console_steps_in_chromium");
}
/// Virtual MFA: assign a device (secret read once, two TOTP codes), then sign in with a code;
/// wrong and reused codes are refused; an MFA sign-in may assume a role that requires MFA.
#[test]
fn browser_mfa() {
    feature("browser_mfa");
}

/// IAM Identity Center: users, groups, a permission set with an inline policy, an
/// assignment, the portal password; the new user signs in to the access portal.
#[test]
fn browser_identity_center() {
    feature("browser_identity_center");
}

/// Access Advisor tabs; a role's sessions and "Revoke active sessions".
#[test]
fn browser_access_advisor() {
    feature("browser_access_advisor");
}

/// CloudTrail's Event history: filters by event name and user name, time ranges, "Load more";
/// a denied event's explanation; a policy generated from a role's calls, created and attached.
#[test]
fn browser_trail() {
    feature("browser_trail");
}

/// Groups: a member's permissions follow the group's policies.
#[test]
fn browser_groups() {
    feature("browser_groups");
}

/// Policy versions: new version, default, delete; the editor's live findings.
#[test]
fn browser_policy_versions() {
    feature("browser_policy_versions");
}

/// The policy simulator on the seed's role.
#[test]
fn browser_simulator() {
    feature("browser_simulator");
}

/// The role wizard's trust options and the trust-policy editor.
#[test]
fn browser_role_trust() {
    feature("browser_role_trust");
}

/// The account password policy and ChangePassword.
#[test]
fn browser_password() {
    feature("browser_password");
}

/// Web security as the browser sees it: CSP, cookies, CSRF.
#[test]
fn browser_security() {
    feature("browser_security");
}

/// Inline policies, access key status, console access, deleting users, groups, roles, policies.
#[test]
fn browser_lifecycle() {
    feature("browser_lifecycle");
}

/// ECR: repositories created and deleted, images deleted, the repository policy.
#[test]
fn browser_ecr() {
    feature("browser_ecr");
}

/// Switch role: links that prefill, switching from a role session, recent roles, switch back.
#[test]
fn browser_switch_role() {
    feature("browser_switch_role");
}

/// Cross-account switch role: into OrganizationAccountAccessRole of an account created with the
/// CLI, the band with the colour and the account's id, that account's IAM, switch back.
#[test]
fn browser_cross_account() {
    feature("browser_cross_account");
}

/// Every kind of console page on a phone-sized screen: no sideways scrolling.
#[test]
fn browser_phone() {
    feature("browser_phone");
}

/// Data tables: 120 users filtered, sorted and paged (mouse and keyboard); without the script;
/// an empty list's next step.
#[test]
fn browser_tables() {
    feature("browser_tables");
}

/// One page of every kind in the light and the dark theme (axe-checked in both).
#[test]
fn browser_themes() {
    feature("browser_themes");
}

/// The seed's console steps with the keyboard only.
#[test]
fn browser_keyboard() {
    feature("browser_keyboard");
}

/// Federation: `kagi console` with an IAM user's keys, console URLs built by a tool.
#[test]
fn browser_federation() {
    feature("browser_federation");
}

/// Identity providers (add, audiences) and the role wizard's "Web identity" trusted entity.
#[test]
fn browser_web_identity() {
    feature("browser_web_identity");
}
