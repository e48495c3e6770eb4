//! The mixed-load generator behind `cargo bench --bench mixed` (figures) and
//! `tests/mixed_load.rs` (a short smoke run that fails on any unexpected error).
//!
//! `connections` keep-alive HTTP/1.1 connections (tokio, one thread) each loop over a weighted
//! mix of signed calls, signed afresh for every request with `kagi-sigv4`: GetCallerIdentity,
//! AssumeRole, IAM reads (GetUser, ListUsers, GetRole) and writes (CreateUser, then DeleteUser
//! of the same user), ECR's DescribeRepositories, GetAuthorizationToken and BatchGetImage, and
//! one deliberate denial (iam:DeleteRole, which the load's policy does not allow: it must be
//! AWS's 403 AccessDenied). Beside them, `pushers` threads push freshly generated images over
//! the registry API in 64 KiB chunks and `pullers` threads pull images, digests verified
//! (kagi-ecr's registry client), and `skopeo` threads push a fresh image with the real skopeo
//! (from an OCI layout, the ECR password in an auth file) and pull it back, digests compared.
//! Every answer other than the expected one is an error: a non-2xx status, a reset or closed
//! connection, a digest mismatch, skopeo failing.
//!
//! The server's peak RSS is its `VmHWM` (kernel-kept high-water mark) at the end of the run.

use crate::support::signed::{escape as form_escape, parse_head, request as signed};
use crate::support::{ACCOUNT, Endpoint};
use kagi_sigv4::Credentials;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to run; [`Config::from_env`] reads `MIXED_CONNECTIONS`, `MIXED_SECONDS`,
/// `MIXED_PUSHERS`, `MIXED_PULLERS`, `MIXED_SKOPEO`.
#[derive(Clone, Debug)]
pub struct Config {
    pub connections: usize,
    pub seconds: f64,
    pub pushers: usize,
    pub pullers: usize,
    /// Threads looping over a skopeo push and pull (0 when skopeo is not installed).
    pub skopeo: usize,
}

impl Config {
    pub fn from_env(default: Config) -> Config {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
        Config {
            connections: num("MIXED_CONNECTIONS").map_or(default.connections, |v| v as usize),
            seconds: num("MIXED_SECONDS").unwrap_or(default.seconds),
            pushers: num("MIXED_PUSHERS").map_or(default.pushers, |v| v as usize),
            pullers: num("MIXED_PULLERS").map_or(default.pullers, |v| v as usize),
            skopeo: if crate::support::skopeo_found() {
                num("MIXED_SKOPEO").map_or(default.skopeo, |v| v as usize)
            } else {
                0
            },
        }
    }
}

/// One operation's figures.
#[derive(Default, Debug)]
pub struct OpStats {
    /// Latencies (µs) of the expected answers.
    pub latencies: Vec<u32>,
    pub errors: u64,
    /// Expected denials among the answers counted in `latencies`.
    pub denied: u64,
}

impl OpStats {
    pub fn count(&self) -> usize {
        self.latencies.len()
    }
    /// Percentile `p` (0..1) in milliseconds (latencies must be sorted).
    pub fn pct_ms(&self, p: f64) -> f64 {
        let l = &self.latencies;
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    }
}

pub struct Report {
    pub config: Config,
    pub elapsed: f64,
    pub ops: BTreeMap<&'static str, OpStats>,
    /// Up to 20 unexpected answers, as "op: what".
    pub error_samples: Vec<String>,
    /// The most connections the generator had open at once.
    pub max_open: u64,
    pub idle_rss_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// The server's CPU time (user + system) during the run, in seconds.
    pub server_cpu: Option<f64>,
    /// The machine's 1-minute load average at the start (other work disturbs the figures).
    pub loadavg: Option<String>,
    /// The most threads the server had (sampled every 200 ms).
    pub peak_threads: u64,
}

impl Report {
    pub fn errors(&self) -> u64 {
        self.ops.values().map(|o| o.errors).sum()
    }

    pub fn print(&self) {
        let c = &self.config;
        println!(
            "{} connections held (at most {} open at once), {} registry pushers, {} pullers, {} skopeo push+pull loops, {:.1} s",
            c.connections, self.max_open, c.pushers, c.pullers, c.skopeo, self.elapsed
        );
        println!(
            "{:<26} {:>9} {:>9} {:>8} {:>7} {:>9} {:>9} {:>9}",
            "operation", "ok", "per s", "denied", "errors", "p50 ms", "p99 ms", "max ms"
        );
        let mut total = 0;
        for (name, o) in &self.ops {
            total += o.count();
            println!(
                "{name:<26} {:>9} {:>9.0} {:>8} {:>7} {:>9.2} {:>9.2} {:>9.2}",
                o.count(),
                o.count() as f64 / self.elapsed,
                o.denied,
                o.errors,
                o.pct_ms(0.5),
                o.pct_ms(0.99),
                o.pct_ms(1.0)
            );
        }
        println!(
            "all: {total} answers ({:.0}/s), {} unexpected",
            total as f64 / self.elapsed,
            self.errors()
        );
        let mib =
            |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
        println!(
            "server RSS: idle {}, peak {} (VmHWM), after the load {}; at most {} threads",
            mib(self.idle_rss_kib),
            mib(self.peak_rss_kib),
            mib(self.rss_after_kib),
            self.peak_threads
        );
        if let Some(cpu) = self.server_cpu {
            println!(
                "server CPU: {cpu:.1} s ({:.0}% of one core), {:.0} µs per answer; load average at the start {}",
                cpu * 100.0 / self.elapsed,
                cpu * 1e6 / total.max(1) as f64,
                self.loadavg.as_deref().unwrap_or("?")
            );
        }
        for e in &self.error_samples {
            println!("unexpected: {e}");
        }
    }
}

/// A value of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time (user + system) process `pid` has used, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ
}

/// Raises this process's open-file limit to its hard limit; returns the soft limit now.
pub fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The repository the load pushes to and pulls from.
pub const REPO: &str = "load/images";

/// What the setup made: the load user's key, the role, the seed image.
#[derive(Clone)]
struct Setup {
    user: Credentials,
    role_arn: String,
    seed_digest: String,
    password: String,
}

fn setup(at: Endpoint) -> Setup {
    at.root_json(&["iam", "create-user", "--user-name", "loader"]);
    let key = at.root_json(&["iam", "create-access-key", "--user-name", "loader"]);
    let akid = key["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    let secret = key["AccessKey"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_owned();
    // Everything the mix does, except iam:DeleteRole (the deliberate denial).
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "sts:AssumeRole", "iam:GetUser", "iam:ListUsers", "iam:GetRole", "iam:CreateUser",
        "iam:DeleteUser", "ecr:*"], "Resource": "*"}]});
    let out = at.root(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "loader",
        "--policy-name",
        "load",
        "--policy-document",
        &policy.to_string(),
    ]);
    assert!(out.status.success(), "put-user-policy");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/loader")},
        "Action": "sts:AssumeRole"}]});
    at.root_json(&[
        "iam",
        "create-role",
        "--role-name",
        "LoadRole",
        "--assume-role-policy-document",
        &trust.to_string(),
    ]);
    at.root_json(&["ecr", "create-repository", "--repository-name", REPO]);
    // The user's registry password (its first ECR call also records nothing special).
    let out = at.kagi((&akid, &secret), &["ecr", "get-login-password"]);
    assert!(
        out.status.success(),
        "get-login-password: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let registry =
        kagi_ecr::client::RegistryClient::new(&format!("127.0.0.1:{}", at.port), "AWS", &password);
    let seed = kagi_ecr::client::generate_image(1, 2, 128 << 10);
    let seed_digest = registry
        .push(REPO, "seed", &seed, &mut |_| {})
        .expect("push the seed image");
    Setup {
        user: Credentials::new(akid, secret),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/LoadRole"),
        seed_digest,
        password,
    }
}

/// The operations of the mix and their weights (out of 100).
pub const MIX: &[(&str, u32)] = &[
    ("sts GetCallerIdentity", 22),
    ("sts AssumeRole", 14),
    ("iam GetUser", 7),
    ("iam ListUsers", 6),
    ("iam GetRole", 7),
    ("iam CreateUser", 6),
    ("iam DeleteUser", 6),
    ("ecr DescribeRepositories", 10),
    ("ecr GetAuthorizationToken", 6),
    ("ecr BatchGetImage", 11),
    ("iam DeleteRole (denied)", 5),
];

struct Conn {
    id: usize,
    port: u16,
    setup: Arc<Setup>,
    /// Users this connection created and has not deleted yet.
    created: Vec<String>,
    n: u64,
    /// IAM writes in the mix (`MIXED_IAM_WRITES=0` turns them into GetUser).
    writes: bool,
}

impl Conn {
    /// The next request and its operation's name; None for nothing to do (DeleteUser
    /// without a user).
    fn request(&mut self, pick: u32) -> (&'static str, Vec<u8>) {
        let mut at = 0;
        let mut op = MIX[0].0;
        for (name, w) in MIX {
            at += w;
            if pick < at {
                op = name;
                break;
            }
        }
        if op == "iam DeleteUser" && self.created.is_empty() {
            op = "iam CreateUser";
        }
        if !self.writes && (op == "iam CreateUser" || op == "iam DeleteUser") {
            op = "iam GetUser";
        }
        let s = &self.setup;
        let q = |body: String, svc: &str| signed(self.port, &s.user, svc, None, &body);
        let e = |target: &str, body: serde_json::Value| {
            signed(self.port, &s.user, "ecr", Some(target), &body.to_string())
        };
        let iam = |action: &str, rest: &str| format!("Action={action}&Version=2010-05-08{rest}");
        let req = match op {
            "sts GetCallerIdentity" => {
                q("Action=GetCallerIdentity&Version=2011-06-15".into(), "sts")
            }
            "sts AssumeRole" => q(
                format!(
                    "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=load-{}",
                    form_escape(&s.role_arn),
                    self.id
                ),
                "sts",
            ),
            "iam GetUser" => q(iam("GetUser", ""), "iam"),
            "iam ListUsers" => q(iam("ListUsers", "&MaxItems=20"), "iam"),
            "iam GetRole" => q(iam("GetRole", "&RoleName=LoadRole"), "iam"),
            "iam CreateUser" => {
                self.n += 1;
                let name = format!("load-{}-{}", self.id, self.n);
                let r = q(iam("CreateUser", &format!("&UserName={name}")), "iam");
                self.created.push(name);
                r
            }
            "iam DeleteUser" => {
                let name = self.created.remove(0);
                q(iam("DeleteUser", &format!("&UserName={name}")), "iam")
            }
            "ecr DescribeRepositories" => {
                e("DescribeRepositories", json!({"repositoryNames": [REPO]}))
            }
            "ecr GetAuthorizationToken" => e("GetAuthorizationToken", json!({})),
            "ecr BatchGetImage" => e(
                "BatchGetImage",
                json!({"repositoryName": REPO, "imageIds": [{"imageTag": "seed"}]}),
            ),
            "iam DeleteRole (denied)" => q(iam("DeleteRole", "&RoleName=LoadRole"), "iam"),
            _ => unreachable!(),
        };
        (op, req)
    }
}

type Stats = BTreeMap<&'static str, OpStats>;

struct Shared {
    stop: AtomicBool,
    open: AtomicU64,
    max_open: AtomicU64,
    samples: Mutex<Vec<String>>,
}

impl Shared {
    fn sample(&self, what: String) {
        let mut s = self.samples.lock().unwrap();
        if s.len() < 20 {
            s.push(what);
        }
    }
}

async fn connection(mut c: Conn, shared: Arc<Shared>) -> Stats {
    let mut stats: Stats = BTreeMap::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (c.id as u64).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let addr = format!("127.0.0.1:{}", c.port);
    'conn: while !shared.stop.load(Ordering::Relaxed) {
        let mut s = match tokio::net::TcpStream::connect(&addr).await {
            Ok(s) => s,
            Err(e) => {
                stats.entry("connect").or_default().errors += 1;
                shared.sample(format!("connect: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = s.set_nodelay(true);
        let open = shared.open.fetch_add(1, Ordering::Relaxed) + 1;
        shared.max_open.fetch_max(open, Ordering::Relaxed);
        let result: Result<(), ()> = async {
            while !shared.stop.load(Ordering::Relaxed) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let (op, req) = c.request((rng % 100) as u32);
                let st = stats.entry(op).or_default();
                let t0 = Instant::now();
                let fail = |st: &mut OpStats, why: String| {
                    st.errors += 1;
                    shared.sample(format!("{op}: {why}"));
                };
                if let Err(e) = s.write_all(&req).await {
                    fail(st, format!("write: {e}"));
                    return Err(());
                }
                let mut filled = 0;
                let (status, start, len, close) = loop {
                    match s.read(&mut buf[filled..]).await {
                        Ok(0) => {
                            fail(st, "connection closed before the answer".into());
                            return Err(());
                        }
                        Err(e) => {
                            fail(st, format!("read: {e}"));
                            return Err(());
                        }
                        Ok(n) => filled += n,
                    }
                    if let Some((status, start, len, close)) = parse_head(&buf[..filled])
                        && filled >= start + len
                    {
                        break (status, start, len, close);
                    }
                    if filled == buf.len() {
                        buf.resize(buf.len() * 2, 0);
                    }
                };
                let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                let body = &buf[start..start + len];
                let denial = op.ends_with("(denied)");
                let ok = if denial {
                    status == 403 && memchr(body, b"AccessDenied")
                } else {
                    status == 200
                };
                if !ok && op == "iam CreateUser" {
                    c.created.pop(); // nothing to delete
                }
                if ok {
                    st.latencies.push(us);
                    if denial {
                        st.denied += 1;
                    }
                } else {
                    fail(
                        st,
                        format!(
                            "HTTP {status}: {}",
                            String::from_utf8_lossy(body)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        ),
                    );
                }
                if close {
                    return Ok(());
                }
            }
            Ok(())
        }
        .await;
        shared.open.fetch_sub(1, Ordering::Relaxed);
        if result.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue 'conn;
        }
    }
    stats
}

fn memchr(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn merge(into: &mut Stats, from: Stats) {
    for (k, v) in from {
        let e = into.entry(k).or_default();
        e.latencies.extend(v.latencies);
        e.errors += v.errors;
        e.denied += v.denied;
    }
}

/// Registry pushes (chunked) and pulls on blocking threads until `stop`.
fn registry_workers(
    at: Endpoint,
    setup: &Setup,
    cfg: &Config,
    shared: &Arc<Shared>,
) -> Vec<std::thread::JoinHandle<Stats>> {
    let mut threads = vec![];
    let endpoint = format!("127.0.0.1:{}", at.port);
    for w in 0..cfg.pushers {
        let (shared, endpoint, password) =
            (shared.clone(), endpoint.clone(), setup.password.clone());
        threads.push(std::thread::spawn(move || {
            let client = kagi_ecr::client::RegistryClient::new(&endpoint, "AWS", &password)
                .with_chunk_size(64 << 10);
            let mut stats: Stats = BTreeMap::new();
            for i in 0u64.. {
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                // Two layers of 192 KiB (three chunks each), new bytes every push.
                let image =
                    kagi_ecr::client::generate_image((w as u64 + 1) << 32 | i, 2, 192 << 10);
                let t0 = Instant::now();
                let r = client.push(REPO, &format!("push-{w}-{i}"), &image, &mut |_| {});
                let st = stats.entry("registry push (chunked)").or_default();
                match r {
                    Ok(d) if d == image.manifest_digest => {
                        st.latencies.push(t0.elapsed().as_micros() as u32)
                    }
                    Ok(d) => {
                        st.errors += 1;
                        shared.sample(format!("push: digest {d} != {}", image.manifest_digest));
                    }
                    Err(e) => {
                        st.errors += 1;
                        shared.sample(format!("push: {e}"));
                    }
                }
            }
            stats
        }));
    }
    for _ in 0..cfg.pullers {
        let (shared, endpoint, password) =
            (shared.clone(), endpoint.clone(), setup.password.clone());
        let digest = setup.seed_digest.clone();
        threads.push(std::thread::spawn(move || {
            let client = kagi_ecr::client::RegistryClient::new(&endpoint, "AWS", &password);
            let mut stats: Stats = BTreeMap::new();
            while !shared.stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let r = client.pull(REPO, "seed", &mut |_| {});
                let st = stats.entry("registry pull").or_default();
                match r {
                    Ok(img) if img.manifest_digest == digest => {
                        st.latencies.push(t0.elapsed().as_micros() as u32)
                    }
                    Ok(img) => {
                        st.errors += 1;
                        shared.sample(format!("pull: digest {} != {digest}", img.manifest_digest));
                    }
                    Err(e) => {
                        st.errors += 1;
                        shared.sample(format!("pull: {e}"));
                    }
                }
            }
            stats
        }));
    }
    for w in 0..cfg.skopeo {
        let (shared, endpoint, password) =
            (shared.clone(), endpoint.clone(), setup.password.clone());
        threads.push(std::thread::spawn(move || {
            skopeo_loop(w, &endpoint, &password, &shared)
        }));
    }
    threads
}

/// One skopeo thread: push a fresh two-layer image from an OCI layout, pull it back into
/// another, compare the manifest digests (`--preserve-digests`); until `stop`.
fn skopeo_loop(w: usize, endpoint: &str, password: &str, shared: &Shared) -> Stats {
    use base64::Engine as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // The ECR password in an auth file (0600), not on skopeo's command line.
    let auth = dir.path().join("auth.json");
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    std::io::Write::write_all(
        &mut std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&auth)
            .unwrap(),
        json!({"auths": {endpoint: {"auth": token}}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let skopeo = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("skopeo")
            .args([
                "--command-timeout",
                "120s",
                "copy",
                "--quiet",
                "--preserve-digests",
            ])
            .args(["--authfile", auth.to_str().unwrap()])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    };
    let mut stats: Stats = BTreeMap::new();
    for i in 0u64.. {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let image =
            kagi_ecr::client::generate_image(0x5c0 << 40 | (w as u64) << 32 | i, 2, 256 << 10);
        let (src, dst) = (
            dir.path().join(format!("src-{i}")),
            dir.path().join(format!("dst-{i}")),
        );
        kagi_ecr::client::write_oci_layout(&image, &src, "t").unwrap();
        let remote = format!("docker://{endpoint}/{REPO}:skopeo-{w}-{i}");
        let t0 = Instant::now();
        let pushed = skopeo(&[
            "--dest-tls-verify=false",
            &format!("oci:{}:t", src.display()),
            &remote,
        ]);
        let st = stats.entry("skopeo push").or_default();
        if let Err(e) = pushed {
            st.errors += 1;
            shared.sample(format!("skopeo push: {e}"));
            continue;
        }
        st.latencies.push(t0.elapsed().as_micros() as u32);
        let t0 = Instant::now();
        let pulled = skopeo(&[
            "--src-tls-verify=false",
            &remote,
            &format!("oci:{}:t", dst.display()),
        ])
        .and_then(|()| kagi_ecr::client::read_oci_layout(&dst, "t").map_err(|e| e.to_string()));
        let st = stats.entry("skopeo pull").or_default();
        match pulled {
            Ok(img) if img.manifest_digest == image.manifest_digest => {
                st.latencies.push(t0.elapsed().as_micros() as u32)
            }
            Ok(img) => {
                st.errors += 1;
                shared.sample(format!(
                    "skopeo pull: digest {} != {}",
                    img.manifest_digest, image.manifest_digest
                ));
            }
            Err(e) => {
                st.errors += 1;
                shared.sample(format!("skopeo pull: {e}"));
            }
        }
        let _ = std::fs::remove_dir_all(&src);
        let _ = std::fs::remove_dir_all(&dst);
    }
    stats
}

/// Sets up the load's user, role and repository on a fresh server (root key from
/// [`crate::support::Server`]), runs the mix for `cfg.seconds` and reports. `pid` is the server's.
pub fn run(at: Endpoint, pid: u32, cfg: &Config) -> Report {
    let nofile = raise_nofile();
    assert!(
        nofile as usize > cfg.connections + 64,
        "the open-file limit ({nofile}) is too low for {} connections",
        cfg.connections
    );
    let setup = Arc::new(setup(at));
    let idle_rss_kib = proc_kib(pid, "VmRSS:");
    let loadavg = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned));
    let cpu_before = cpu_secs(pid);
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        open: AtomicU64::new(0),
        max_open: AtomicU64::new(0),
        samples: Mutex::new(vec![]),
    });
    let registry = registry_workers(at, &setup, cfg, &shared);
    let sampler = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let mut most = 0;
            while !shared.stop.load(Ordering::Relaxed) {
                most = most.max(proc_kib(pid, "Threads:").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(200));
            }
            most
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = Instant::now();
    let mut ops = rt.block_on(async {
        let tasks: Vec<_> = (0..cfg.connections)
            .map(|id| {
                let c = Conn {
                    id,
                    port: at.port,
                    setup: setup.clone(),
                    created: vec![],
                    n: 0,
                    writes: std::env::var("MIXED_IAM_WRITES").as_deref() != Ok("0"),
                };
                tokio::spawn(connection(c, shared.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(cfg.seconds)).await;
        shared.stop.store(true, Ordering::Relaxed);
        let mut all: Stats = BTreeMap::new();
        for t in tasks {
            merge(&mut all, t.await.unwrap());
        }
        all
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let server_cpu = cpu_before.zip(cpu_secs(pid)).map(|(a, b)| b - a);
    for t in registry {
        merge(&mut ops, t.join().unwrap());
    }
    for o in ops.values_mut() {
        o.latencies.sort_unstable();
    }
    Report {
        config: cfg.clone(),
        elapsed,
        ops,
        error_samples: std::mem::take(&mut *shared.samples.lock().unwrap()),
        max_open: shared.max_open.load(Ordering::Relaxed),
        idle_rss_kib,
        peak_rss_kib: proc_kib(pid, "VmHWM:"),
        rss_after_kib: proc_kib(pid, "VmRSS:"),
        server_cpu,
        loadavg,
        peak_threads: sampler.join().unwrap(),
    }
}
