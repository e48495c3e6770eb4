//! A crash loses nothing acknowledged: `kagi serve` is killed with SIGKILL while clients are
//! writing (IAM users and access keys in `kagi.db`, ECR repositories in `ecr.sqlite`, image
//! blobs and manifests pushed over the registry API), then
//! restarted on the same data directory. Every write whose response a client received must be
//! there, every acknowledged access key must still sign requests, and the server must keep
//! serving writes. The clients are the `kagi` binary itself, as a user would run it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
const ROOT_AKID: &str = "AKIAKAGICRASHTESTKEY";
const ROOT_SECRET: &str = "crashtestcrashtestcrashtestcrashtest0001";
const KAGI: &str = env!("CARGO_BIN_EXE_kagi");

/// A `kagi serve` child process on a free port of 127.0.0.1.
struct Server {
    child: Child,
    at: Endpoint,
}

/// Where clients reach a server.
#[derive(Clone, Copy)]
struct Endpoint {
    port: u16,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(KAGI)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data)
            .env("KAGI_ACCOUNT_ID", ACCOUNT)
            .env("KAGI_ROOT_ACCESS_KEY_ID", ROOT_AKID)
            .env("KAGI_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
            .env("KAGI_ROOT_PASSWORD", "crash-test-root-password-1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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

    /// SIGKILL: no shutdown handler runs, nothing is flushed.
    fn kill(self) {
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
    fn kagi(&self, creds: (&str, &str), args: &[&str]) -> Output {
        Command::new(KAGI)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-kagi-crash-home")
            .env("AWS_CONFIG_FILE", "/nonexistent-kagi-crash-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent-kagi-crash-credentials",
            )
            .env("AWS_ACCESS_KEY_ID", creds.0)
            .env("AWS_SECRET_ACCESS_KEY", creds.1)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .output()
            .expect("run kagi")
    }

    fn root(&self, args: &[&str]) -> Output {
        self.kagi((ROOT_AKID, ROOT_SECRET), args)
    }

    fn root_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.root(args);
        assert!(
            out.status.success(),
            "kagi {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

#[derive(Default)]
struct Acked {
    users: Vec<String>,
    /// (user, access key id, secret)
    keys: Vec<(String, String, String)>,
    repos: Vec<String>,
    /// (tag, manifest digest) in [`IMAGES`]
    images: Vec<(String, String)>,
}

/// The repository the image pusher writes to.
const IMAGES: &str = "crash/images";

/// Writes from three client threads until the server stops answering; returns what was
/// acknowledged. `round` keeps names unique across rounds.
fn write_until_killed(server: Server, round: u32, kill_after: usize) -> Acked {
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = server.at;
    let mut threads = Vec::new();
    for t in 0..2 {
        let (acked, stop) = (acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("crash-{round}-{t}-{i}");
                let out = client.root(&["iam", "create-user", "--user-name", &name]);
                if !out.status.success() {
                    break;
                }
                acked.lock().unwrap().users.push(name.clone());
                if i % 4 == 0 {
                    let out = client.root(&["iam", "create-access-key", "--user-name", &name]);
                    if !out.status.success() {
                        break;
                    }
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    let k = &v["AccessKey"];
                    acked.lock().unwrap().keys.push((
                        name,
                        k["AccessKeyId"].as_str().unwrap().to_owned(),
                        k["SecretAccessKey"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }));
    }
    {
        let (acked, stop) = (acked.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("crash/r{round}-{i}");
                let out = client.root(&["ecr", "create-repository", "--repository-name", &name]);
                if !out.status.success() {
                    break;
                }
                acked.lock().unwrap().repos.push(name);
            }
        }));
    }
    {
        let (acked, stop) = (acked.clone(), stop.clone());
        let out = client.root(&["ecr", "get-login-password"]);
        assert!(out.status.success(), "get-login-password");
        let password = String::from_utf8(out.stdout).unwrap();
        let registry = kagi_ecr::client::Registry::new(
            &format!("127.0.0.1:{}", client.port),
            "AWS",
            password.trim(),
        );
        threads.push(std::thread::spawn(move || {
            for i in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // Two layers of 256 KiB each, different for every push.
                let image =
                    kagi_ecr::client::generate_image(u64::from(round) << 32 | i, 2, 256 << 10);
                let tag = format!("r{round}-{i}");
                match registry.push(IMAGES, &tag, &image, &mut |_, _| {}) {
                    Ok(digest) => acked.lock().unwrap().images.push((tag, digest)),
                    Err(_) => break,
                }
            }
        }));
    }
    // Kill while the writers are busy.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = {
            let a = acked.lock().unwrap();
            a.users.len().min(a.repos.len() * 2).min(a.images.len() * 8)
        };
        if n >= kill_after {
            break;
        }
        assert!(Instant::now() < deadline, "writers made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(acked)
        .ok()
        .expect("writers joined")
        .into_inner()
        .unwrap()
}

/// Fails naming every `acked` name that `query` (a kagi command printing a JSON list of
/// names) no longer lists.
fn assert_listed(server: Endpoint, query: &[&str], acked: &[String], what: &str) {
    let listed = server.root_json(query);
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|n| !listed.contains(&n.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged {what} lost: {lost:?}");
}

fn assert_all_there(server: Endpoint, acked: &Acked) {
    assert_listed(
        server,
        &[
            "iam",
            "list-users",
            "--query",
            "Users[].UserName",
            "--output",
            "json",
        ],
        &acked.users,
        "users",
    );

    for (user, akid, secret) in &acked.keys {
        let out = server.kagi((akid, secret), &["sts", "get-caller-identity"]);
        assert!(
            out.status.success(),
            "acknowledged key of {user} no longer works: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Arn"], format!("arn:aws:iam::{ACCOUNT}:user/{user}"));
    }

    assert_listed(
        server,
        &[
            "ecr",
            "describe-repositories",
            "--query",
            "repositories[].repositoryName",
            "--output",
            "json",
        ],
        &acked.repos,
        "repositories",
    );

    // Every acknowledged image pulls whole: manifest, config and layers, digests verified.
    let out = server.root(&["ecr", "get-login-password"]);
    assert!(out.status.success(), "get-login-password after restart");
    let registry = kagi_ecr::client::Registry::new(
        &format!("127.0.0.1:{}", server.port),
        "AWS",
        String::from_utf8(out.stdout).unwrap().trim(),
    );
    for (tag, digest) in &acked.images {
        let image = registry
            .pull(IMAGES, tag)
            .unwrap_or_else(|e| panic!("acknowledged image {IMAGES}:{tag} lost: {e:#}"));
        assert_eq!(&image.manifest_digest, digest, "{IMAGES}:{tag}");
    }
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let mut all = Acked::default();
    {
        let server = Server::start(data.path());
        server
            .at
            .root_json(&["ecr", "create-repository", "--repository-name", IMAGES]);
    }
    for round in 0..2 {
        let acked = write_until_killed(Server::start(data.path()), round, 30 + 20 * round as usize);
        assert!(
            !acked.users.is_empty()
                && !acked.keys.is_empty()
                && !acked.repos.is_empty()
                && !acked.images.is_empty(),
            "round {round} acknowledged nothing"
        );
        eprintln!(
            "round {round}: killed after {} users, {} access keys, {} repositories, {} images acknowledged",
            acked.users.len(),
            acked.keys.len(),
            acked.repos.len(),
            acked.images.len()
        );
        all.users.extend(acked.users);
        all.keys.extend(acked.keys);
        all.repos.extend(acked.repos);
        all.images.extend(acked.images);

        let server = Server::start(data.path());
        assert_all_there(server.at, &all);
        // Still writable after the crash, and the new write is there too.
        let name = format!("after-crash-{round}");
        server
            .at
            .root_json(&["iam", "create-user", "--user-name", &name]);
        all.users.push(name);
        assert_all_there(server.at, &all);
        server.kill();
    }
}
