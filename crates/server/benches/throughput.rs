//! Throughput benchmark: signed GetCallerIdentity and AssumeRole against `kagi serve` on
//! loopback, at 64 connections, beside moto's server doing the same signed requests; and
//! AssumeRoleWithWebIdentity (unsigned, an ES256 ID token from kagi-testkit's loopback issuer,
//! whose keys kagi caches), which moto does not verify and so is not compared.
//!
//!     cargo bench -p kagi-server --bench throughput
//!     KAGI_COMPAT_VENV=path/to/venv cargo bench -p kagi-server --bench throughput   # with moto
//!     BENCH_SECONDS=10 BENCH_CONNECTIONS=64 ...
//!     BENCH_BACKEND=postgres ...    # state in a throw-away PostgreSQL (kagi-testkit) instead of SQLite
//!     BENCH_BACKEND=postgres BENCH_NODES=2 ...   # two nodes on that database, connections
//!                                   # split between them (as a round-robin proxy would)
//!     BENCH_TRAIL=off ...           # without the event history (`--no-trail`), to compare
//!     BENCH_ORG=1 ...               # also: AssumeRole and an ECR call in a member account of an
//!                                   # organization, before and after three levels of SCPs
//!
//! The server runs in a child process (this binary re-executed with `--serve-child`) so that
//! its idle RSS can be read from /proc and it does not share an allocator with the load
//! generator. A signed request is replayed on every connection (AWS allows that within the
//! 15-minute window), HTTP/1.1 keep-alive; connections the peer closes are reopened. Latency is
//! per request, as seen by the client. Figures print to stdout; nothing is asserted.

use kagi_sigv4::{Credentials, SigningParams};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// The same allocator as the `kagi` binary, so the served figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ACCOUNT: &str = "123456789012";
const ROOT_AKID: &str = "AKIAKAGIBENCHROOTKEY";
const ROOT_SECRET: &str = "kagi/bench/root/secret/key/0123456789abc";

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server on {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A complete signed HTTP/1.1 request for a query-protocol call.
fn signed_request(
    addr: SocketAddr,
    creds: &Credentials,
    service: &str,
    action: &str,
    input: &Value,
) -> Vec<u8> {
    let svc = kagi_api::service(service).unwrap();
    let op = svc.operation(action).unwrap();
    let body = kagi_api::query::encode(op, svc, input);
    let mut headers = vec![
        ("host".to_string(), addr.to_string()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
    ];
    let params = SigningParams {
        region: "us-east-1",
        service: svc.signing_name,
        time: SystemTime::now(),
    };
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        creds,
        &params,
    )
    .unwrap();
    let mut req = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    req.into_bytes()
}

/// A complete signed HTTP/1.1 request for a JSON 1.1 call (ECR, Organizations).
fn signed_json(
    addr: SocketAddr,
    creds: &Credentials,
    service: &str,
    action: &str,
    input: &Value,
) -> Vec<u8> {
    let svc = kagi_api::service(service).unwrap();
    let op = svc.operation(action).unwrap();
    let (target, body) = kagi_api::json11::encode_request(svc, op, input);
    let mut headers = vec![
        ("host".to_string(), addr.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("x-amz-target".to_string(), target),
    ];
    let params = SigningParams {
        region: "us-east-1",
        service: svc.signing_name,
        time: SystemTime::now(),
    };
    kagi_sigv4::sign_headers("POST", "/", "", &mut headers, &body, creds, &params).unwrap();
    let mut req = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut req = req.into_bytes();
    req.extend_from_slice(&body);
    req
}

/// An organization with a member account three levels down (root → OU → OU → account), a user
/// and a role in that account: returns (enable three levels of SCPs, then the member user's
/// signed AssumeRole and ECR DescribeRepositories).
fn prepare_org(addr: SocketAddr) -> (Box<dyn Fn()>, Vec<u8>, Vec<u8>) {
    let root = Credentials::new(ROOT_AKID, ROOT_SECRET);
    let org = move |action: &str, input: Value| -> Value {
        let (s, body) = once(
            addr,
            &signed_json(addr, &root, "organizations", action, &input),
        );
        assert_eq!(s, 200, "{action}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    org("CreateOrganization", json!({"FeatureSet": "ALL"}));
    let root_id = org("ListRoots", json!({}))["Roots"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ou1 = org(
        "CreateOrganizationalUnit",
        json!({"ParentId": root_id, "Name": "Workloads"}),
    )["OrganizationalUnit"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ou2 = org(
        "CreateOrganizationalUnit",
        json!({"ParentId": ou1, "Name": "Prod"}),
    )["OrganizationalUnit"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = org(
        "CreateAccount",
        json!({"Email": "bench@example.com", "AccountName": "bench"}),
    )["CreateAccountStatus"]["AccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    org(
        "MoveAccount",
        json!({"AccountId": member, "SourceParentId": root_id, "DestinationParentId": ou2}),
    );
    // Into the member account through OrganizationAccountAccessRole, as a management user.
    let q = |creds: &Credentials, action: &str, input: Value| -> String {
        let (s, body) = once(addr, &signed_request(addr, creds, "iam", action, &input));
        assert_eq!(s, 200, "{action}: {body}");
        body
    };
    let root = Credentials::new(ROOT_AKID, ROOT_SECRET);
    q(&root, "CreateUser", json!({"UserName": "org-admin"}));
    q(
        &root,
        "AttachUserPolicy",
        json!({"UserName": "org-admin", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let body = q(&root, "CreateAccessKey", json!({"UserName": "org-admin"}));
    let admin = Credentials::new(
        xml_field(&body, "AccessKeyId"),
        xml_field(&body, "SecretAccessKey"),
    );
    let (s, body) = once(
        addr,
        &signed_request(
            addr,
            &admin,
            "sts",
            "AssumeRole",
            &json!({"RoleArn": format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"), "RoleSessionName": "setup"}),
        ),
    );
    assert_eq!(s, 200, "AssumeRole into the member: {body}");
    let setup = Credentials::new(
        xml_field(&body, "AccessKeyId"),
        xml_field(&body, "SecretAccessKey"),
    )
    .with_session_token(xml_field(&body, "SessionToken"));
    q(&setup, "CreateUser", json!({"UserName": "bench"}));
    q(
        &setup,
        "AttachUserPolicy",
        json!({"UserName": "bench", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let body = q(&setup, "CreateAccessKey", json!({"UserName": "bench"}));
    let user = Credentials::new(
        xml_field(&body, "AccessKeyId"),
        xml_field(&body, "SecretAccessKey"),
    );
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{member}:user/bench"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    q(
        &setup,
        "CreateRole",
        json!({"RoleName": "BenchRole", "AssumeRolePolicyDocument": trust}),
    );
    let assume = signed_request(
        addr,
        &user,
        "sts",
        "AssumeRole",
        &json!({"RoleArn": format!("arn:aws:iam::{member}:role/BenchRole"), "RoleSessionName": "bench"}),
    );
    let ecr = signed_json(addr, &user, "ecr", "DescribeRepositories", &json!({}));
    for r in [&assume, &ecr] {
        let (s, body) = once(addr, r);
        assert_eq!(s, 200, "member call: {body}");
    }
    let enable = Box::new(move || {
        let root = Credentials::new(ROOT_AKID, ROOT_SECRET);
        let org = |action: &str, input: Value| -> Value {
            let (s, body) = once(
                addr,
                &signed_json(addr, &root, "organizations", action, &input),
            );
            assert_eq!(s, 200, "{action}: {body}");
            serde_json::from_str(&body).unwrap()
        };
        org(
            "EnablePolicyType",
            json!({"RootId": root_id, "PolicyType": "SERVICE_CONTROL_POLICY"}),
        );
        // A realistic guardrail at each level (on top of FullAWSAccess): none denies the calls
        // measured, so every level is evaluated to its end.
        for (target, n) in [(&root_id, 0), (&ou1, 1), (&ou2, 2)] {
            let id = org(
                "CreatePolicy",
                json!({"Name": format!("guard{n}"), "Description": "bench", "Type": "SERVICE_CONTROL_POLICY",
                       "Content": json!({"Version": "2012-10-17", "Statement": [
                           {"Effect": "Deny", "Action": ["iam:CreateUser", "iam:DeleteRole", "organizations:LeaveOrganization"], "Resource": "*"},
                           {"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "ecr:*", "s3:*"], "Resource": "*",
                            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}).to_string()}),
            )["Policy"]["PolicySummary"]["Id"]
                .as_str()
                .unwrap()
                .to_owned();
            org("AttachPolicy", json!({"PolicyId": id, "TargetId": target}));
        }
    });
    (enable, assume, ecr)
}

/// A complete unsigned HTTP/1.1 request for a query-protocol call (AssumeRoleWithWebIdentity).
fn unsigned_request(addr: SocketAddr, service: &str, action: &str, input: &Value) -> Vec<u8> {
    let svc = kagi_api::service(service).unwrap();
    let op = svc.operation(action).unwrap();
    let body = kagi_api::query::encode(op, svc, input);
    format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded; charset=utf-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One blocking round trip on a fresh connection (setup calls); returns (status, body).
fn once(addr: SocketAddr, req: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(req).unwrap();
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65536];
    loop {
        let n = s.read(&mut tmp).unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some((status, body_start, len, _)) = parse_head(&buf)
            && buf.len() >= body_start + len
        {
            {
                return (
                    status,
                    String::from_utf8_lossy(&buf[body_start..body_start + len]).into_owned(),
                );
            }
        }
    }
    panic!("connection closed before a full response");
}

/// Parses a response head: (status, body offset, content length, connection: close).
fn parse_head(buf: &[u8]) -> Option<(u16, usize, usize, bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut len = 0;
    let mut close = head.starts_with("HTTP/1.0");
    for l in lines {
        let (k, v) = l.split_once(':')?;
        let v = v.trim();
        if k.eq_ignore_ascii_case("content-length") {
            len = v.parse().ok()?;
        } else if k.eq_ignore_ascii_case("connection") {
            close = v.eq_ignore_ascii_case("close");
        }
    }
    Some((status, end + 4, len, close))
}

fn xml_field(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = body
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {body}"))
        + open.len();
    let end = body[start..].find(&format!("</{name}>")).unwrap() + start;
    body[start..end].to_owned()
}

struct Result {
    requests: u64,
    errors: u64,
    rps: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn connection(
    addr: SocketAddr,
    req: Arc<Vec<u8>>,
    stop: Arc<AtomicBool>,
    measure: Arc<AtomicBool>,
) -> (Vec<u32>, u64) {
    let mut lat = Vec::with_capacity(200_000);
    let mut errors = 0;
    let mut buf = vec![0u8; 65536];
    'outer: while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            errors += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = s.set_nodelay(true);
        while !stop.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            if s.write_all(&req).await.is_err() {
                continue 'outer;
            }
            let mut filled = 0;
            let (status, close) = loop {
                match s.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => continue 'outer,
                    Ok(n) => filled += n,
                }
                if let Some((status, start, len, close)) = parse_head(&buf[..filled])
                    && filled >= start + len
                {
                    break (status, close);
                }
                if filled == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
            };
            if measure.load(Ordering::Relaxed) {
                if status == 200 {
                    lat.push(t0.elapsed().as_micros() as u32);
                } else {
                    errors += 1;
                }
            }
            if close {
                continue 'outer;
            }
        }
    }
    (lat, errors)
}

fn load(addrs: &[SocketAddr], req: Vec<u8>, connections: usize, seconds: f64) -> Result {
    let addrs = addrs.to_vec();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let req = Arc::new(req);
        let stop = Arc::new(AtomicBool::new(false));
        let measure = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..connections)
            .map(|i| {
                tokio::spawn(connection(
                    addrs[i % addrs.len()],
                    req.clone(),
                    stop.clone(),
                    measure.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await; // warm-up
        measure.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        measure.store(false, Ordering::Relaxed);
        let elapsed = t0.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.unwrap();
            all.extend(l);
            errors += e;
        }
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as u64
        };
        Result {
            requests: all.len() as u64,
            errors,
            rps: all.len() as f64 / elapsed,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
        }
    })
}

fn report(name: &str, r: &Result) {
    println!(
        "{name:<34} {:>10.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} ok, {} errors)",
        r.rps,
        r.p50_us as f64 / 1000.0,
        r.p99_us as f64 / 1000.0,
        r.requests,
        r.errors
    );
}

struct Target {
    gci: Vec<u8>,
    assume: Vec<u8>,
    web_identity: Vec<u8>,
}

/// Creates a user with a key and a role trusting it; returns the signed requests.
fn prepare(addr: SocketAddr, issuer: &kagi_testkit::oidc::Issuer) -> Target {
    let root = Credentials::new(ROOT_AKID, ROOT_SECRET);
    let (s, _) = once(
        addr,
        &signed_request(
            addr,
            &root,
            "iam",
            "CreateUser",
            &json!({"UserName": "bench"}),
        ),
    );
    assert_eq!(s, 200, "CreateUser");
    let (s, body) = once(
        addr,
        &signed_request(
            addr,
            &root,
            "iam",
            "CreateAccessKey",
            &json!({"UserName": "bench"}),
        ),
    );
    assert_eq!(s, 200, "CreateAccessKey: {body}");
    let user = Credentials::new(
        xml_field(&body, "AccessKeyId"),
        xml_field(&body, "SecretAccessKey"),
    );
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/bench"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let (s, body) = once(
        addr,
        &signed_request(
            addr,
            &root,
            "iam",
            "CreateRole",
            &json!({"RoleName": "BenchRole", "AssumeRolePolicyDocument": trust}),
        ),
    );
    assert_eq!(s, 200, "CreateRole: {body}");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/BenchRole");
    let gci = signed_request(addr, &user, "sts", "GetCallerIdentity", &json!({}));
    let assume = signed_request(
        addr,
        &user,
        "sts",
        "AssumeRole",
        &json!({"RoleArn": role_arn, "RoleSessionName": "bench"}),
    );
    let (s, body) = once(addr, &assume);
    assert_eq!(s, 200, "AssumeRole: {body}");
    let web_identity = web_identity_request(addr, &root, issuer);
    Target {
        gci,
        assume,
        web_identity,
    }
}

/// An OIDC provider for `issuer`, a role trusting it, and an AssumeRoleWithWebIdentity request
/// with an hour-long token.
fn web_identity_request(
    addr: SocketAddr,
    root: &Credentials,
    issuer: &kagi_testkit::oidc::Issuer,
) -> Vec<u8> {
    use kagi_testkit::oidc::AUDIENCE;
    let call = |action: &str, input: Value| {
        let (s, body) = once(addr, &signed_request(addr, root, "iam", action, &input));
        assert_eq!(s, 200, "{action}: {body}");
    };
    call(
        "CreateOpenIDConnectProvider",
        json!({"Url": issuer.url, "ClientIDList": [AUDIENCE]}),
    );
    let host = issuer.host();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): AUDIENCE},
                      "StringLike": {format!("{host}:sub"): "repo:kagi/*"}}}]});
    call(
        "CreateRole",
        json!({"RoleName": "BenchWebRole", "AssumeRolePolicyDocument": trust.to_string()}),
    );
    let mut claims = issuer.claims("repo:kagi/kagi:ref:refs/heads/main");
    claims["exp"] = json!(kagi_testkit::oidc::now() + 3600);
    let token = KEYS.with(|k| k.token("ES256", "ec-1", &claims));
    let req = unsigned_request(
        addr,
        "sts",
        "AssumeRoleWithWebIdentity",
        &json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/BenchWebRole"),
                "RoleSessionName": "bench", "WebIdentityToken": token}),
    );
    let (s, body) = once(addr, &req);
    assert_eq!(s, 200, "AssumeRoleWithWebIdentity: {body}");
    req
}

thread_local! {
    static KEYS: kagi_testkit::oidc::Keys = kagi_testkit::oidc::Keys::new();
}

/// CPU time (user + system) the process has used, in seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Runs one load and prints it with the server's CPU time per request, a figure that other
/// processes on the machine disturb far less than req/s and latency.
fn measured(
    name: &str,
    pids: &[u32],
    addrs: &[SocketAddr],
    req: Vec<u8>,
    conns: usize,
    secs: f64,
) -> Result {
    let cpu = || -> Option<f64> { pids.iter().map(|p| cpu_secs(*p)).sum() };
    let before = cpu();
    let st = load(addrs, req, conns, secs);
    std::thread::sleep(Duration::from_millis(1000)); // let batched background work finish
    report(name, &st);
    if let (Some(a), Some(b)) = (before, cpu()) {
        println!(
            "      server CPU per request: {:.1} µs ({} requests)",
            (b - a) * 1e6 / st.requests.max(1) as f64,
            st.requests
        );
    }
    st
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-child") {
        let rest: Vec<std::ffi::OsString> = args[2..].iter().map(Into::into).collect();
        std::process::exit(
            if kagi_server::serve_main(&rest) == std::process::ExitCode::SUCCESS {
                0
            } else {
                1
            },
        );
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes
    }
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let conns: usize = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let data = tempfile::tempdir().unwrap();
    let database_url = match std::env::var("BENCH_BACKEND").as_deref() {
        Ok("postgres") => Some(
            kagi_testkit::postgres::shared()
                .expect("BENCH_BACKEND=postgres needs PostgreSQL's server binaries")
                .new_database(),
        ),
        _ => None,
    };

    let nodes: usize = std::env::var("BENCH_NODES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    assert!(
        nodes == 1 || database_url.is_some(),
        "BENCH_NODES > 1 needs BENCH_BACKEND=postgres (nodes share the database)"
    );
    let dirs: Vec<tempfile::TempDir> = (1..nodes).map(|_| tempfile::tempdir().unwrap()).collect();
    let servers: Vec<(Proc, u16)> = std::iter::once(data.path())
        .chain(dirs.iter().map(|d| d.path()))
        .map(|dir| {
            let port = free_port();
            let p = Proc(
                Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--serve-child",
                        "--port",
                        &port.to_string(),
                        "--log",
                        "warn",
                        "--data-dir",
                    ])
                    .arg(dir)
                    .args(
                        database_url
                            .iter()
                            .flat_map(|u| ["--database-url".to_owned(), u.clone()]),
                    )
                    .args(
                        std::env::var("BENCH_TRAIL")
                            .is_ok_and(|v| v == "off")
                            .then_some("--no-trail"),
                    )
                    .env("KAGI_ACCOUNT_ID", ACCOUNT)
                    .env("KAGI_ROOT_ACCESS_KEY_ID", ROOT_AKID)
                    .env("KAGI_ROOT_SECRET_ACCESS_KEY", ROOT_SECRET)
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("start kagi serve"),
            );
            wait_listening(port);
            (p, port)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(servers[0].0.0.id());
    let addrs: Vec<SocketAddr> = servers
        .iter()
        .map(|(_, port)| format!("127.0.0.1:{port}").parse().unwrap())
        .collect();
    let pids: Vec<u32> = servers.iter().map(|(p, _)| p.0.id()).collect();
    let issuer =
        KEYS.with(|k| kagi_testkit::oidc::Issuer::start(json!({"keys": [k.ec_jwk("ec-1")]})));
    // Prepared (and signed, Host included) against node 0; every node verifies the same bytes,
    // as each would behind a proxy that passes the Host header through.
    let kagi = prepare(addrs[0], &issuer);
    println!(
        "kagi serve ({}{}), {conns} connections, {seconds} s per run, {} cores",
        if database_url.is_some() {
            "PostgreSQL, a throw-away cluster on loopback"
        } else {
            "data dir, SQLite WAL"
        },
        if nodes > 1 {
            format!("; {nodes} nodes, connections split between them; CPU summed")
        } else {
            String::new()
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "kagi idle RSS: {} MiB",
        idle.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    let kg = measured(
        "kagi  GetCallerIdentity (signed)",
        &pids,
        &addrs,
        kagi.gci.clone(),
        conns,
        seconds,
    );
    let ka = measured(
        "kagi  AssumeRole (signed)",
        &pids,
        &addrs,
        kagi.assume.clone(),
        conns,
        seconds,
    );
    measured(
        "kagi  AssumeRoleWithWebIdentity (ES256 token)",
        &pids,
        &addrs,
        kagi.web_identity.clone(),
        conns,
        seconds,
    );
    if std::env::var("BENCH_ORG").is_ok_and(|v| v == "1") {
        let (enable_scps, assume, ecr) = prepare_org(addrs[0]);
        let a0 = measured(
            "kagi  member account: AssumeRole, no SCPs",
            &pids,
            &addrs,
            assume.clone(),
            conns,
            seconds,
        );
        let e0 = measured(
            "kagi  member account: ECR DescribeRepositories, no SCPs",
            &pids,
            &addrs,
            ecr.clone(),
            conns,
            seconds,
        );
        enable_scps();
        let a3 = measured(
            "kagi  member account: AssumeRole, SCPs at 3 levels",
            &pids,
            &addrs,
            assume,
            conns,
            seconds,
        );
        let e3 = measured(
            "kagi  member account: ECR DescribeRepositories, SCPs at 3 levels",
            &pids,
            &addrs,
            ecr,
            conns,
            seconds,
        );
        println!(
            "SCPs at 3 levels vs none: AssumeRole {:.1}%, ECR {:.1}% of the throughput",
            100.0 * a3.rps / a0.rps.max(1e-9),
            100.0 * e3.rps / e0.rps.max(1e-9)
        );
    }
    println!(
        "kagi RSS after load: {} MiB",
        rss_kib(pids[0]).map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    drop(servers);

    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(std::path::PathBuf::from) else {
        println!("moto: skipped (set KAGI_COMPAT_VENV to a venv with moto[server])");
        return;
    };
    let mport = free_port();
    let _moto = Proc(
        Command::new(venv.join("bin/moto_server"))
            .args(["-p", &mport.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server"),
    );
    wait_listening(mport);
    let maddr: SocketAddr = format!("127.0.0.1:{mport}").parse().unwrap();
    // moto accepts any key while its IAM checks are off; it needs the role to exist for nothing.
    let creds = Credentials::new(
        "AKIAMOTOBENCHKEY0001",
        "motomotomotomotomotomotomotomotomotomoto",
    );
    let gci = signed_request(maddr, &creds, "sts", "GetCallerIdentity", &json!({}));
    let assume = signed_request(
        maddr,
        &creds,
        "sts",
        "AssumeRole",
        &json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/BenchRole"), "RoleSessionName": "bench"}),
    );
    let (s, body) = once(maddr, &gci);
    assert_eq!(s, 200, "moto GetCallerIdentity: {body}");
    let mg = load(&[maddr], gci, conns, seconds);
    report("moto  GetCallerIdentity (signed)", &mg);
    let ma = load(&[maddr], assume, conns, seconds);
    report("moto  AssumeRole (signed)", &ma);
    println!(
        "ratio kagi/moto: GetCallerIdentity {:.1}x, AssumeRole {:.1}x",
        kg.rps / mg.rps.max(1e-9),
        ka.rps / ma.rps.max(1e-9)
    );
}
