//! Several `kagi serve` nodes started with one `--database-url` and one `--blob-store` behave
//! as one server. Three nodes on a throw-away PostgreSQL and an S3-compatible server (moto's),
//! behind a round-robin proxy; each property is checked against the nodes directly:
//! * a write acknowledged by one node is seen by every node's next request;
//! * an STS session minted on one node signs requests on the others (one sealing key);
//! * a revocation (a deleted access key, a deleted inline policy) takes effect on every node
//!   within the stated bound (`store::postgres::POLL`, 200 ms; asserted here: < 1 s), and the
//!   figures measured are printed;
//! * a console sign-in on one node is a session on every node;
//! * a registry upload begun on one node continues on the others (POST on A, PATCH on B, PATCH
//!   on A, PUT on C) and yields the right digest; an image pushed through one node pulls
//!   through another; skopeo pushes and pulls the seed's image through the proxy;
//! * `kill -9` of one node while clients write through the proxy loses nothing acknowledged, the
//!   other nodes keep serving, and the killed node restarts and serves everything;
//! * the official `aws` CLI works through the proxy (with `KAGI_COMPAT_VENV`, as scripts/test sets).
//!
//! The proxy is the test's own: per-connection round robin, skipping a node that refuses the
//! connection (as nginx's `proxy_next_upstream` does). Every `kagi` or `aws` command is a new
//! process with a new connection, so consecutive commands land on consecutive nodes.

mod support;
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{ACCOUNT, Endpoint, Server, skopeo_found};

/// The revocation bound this test holds the cluster to (the stated one is 200 ms).
const BOUND: Duration = Duration::from_secs(1);

/// A per-connection round-robin TCP proxy on `listener` to `ports` on 127.0.0.1.
fn proxy(listener: TcpListener, ports: Arc<Mutex<Vec<u16>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let ports = ports.lock().unwrap().clone();
            let first = next.fetch_add(1, Ordering::Relaxed);
            let upstream = (0..ports.len())
                .map(|i| ports[(first + i) % ports.len()])
                .find_map(|p| TcpStream::connect(("127.0.0.1", p)).ok());
            let Some(upstream) = upstream else { continue };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), upstream.try_clone().unwrap()),
                (upstream, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
}

fn ok(out: std::process::Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

fn users(at: Endpoint) -> Vec<String> {
    let v = at.root_json(&["iam", "list-users"]);
    v["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap().to_owned())
        .collect()
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (the connection closes after it): status,
/// `Set-Cookie` name=value pairs, body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookies: &str,
    form: &str,
) -> (u16, Vec<String>, String) {
    use std::io::{Read, Write};
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nCookie: {cookies}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head[9..12].parse().unwrap();
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|l| l.split(';').next().unwrap().to_owned())
        .collect();
    (status, cookies, body.to_owned())
}

/// One registry request to 127.0.0.1:`port` with a body (the connection closes after it):
/// status, headers (lower-cased names), body.
fn registry(
    port: u16,
    method: &str,
    path: &str,
    auth: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
    use std::io::{Read, Write};
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Authorization: {auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut body = raw[end + 4..].to_vec();
    let status = head[9..12].parse().unwrap();
    let headers: std::collections::HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t == "chunked")
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

/// A chunked transfer-encoded body, decoded.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// The path (and query) of a `Location` that may be absolute.
fn path_of(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_owned(),
        None => location.to_owned(),
    }
}

/// The value of the sign-in form's `csrf` field.
fn csrf(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let at = page.find(marker).expect("a csrf field") + marker.len();
    page[at..at + page[at..].find('"').unwrap()].to_owned()
}

/// How long until `refused` holds for the node `at` after `since`, polling.
fn time_until(since: Instant, mut refused: impl FnMut() -> bool) -> Duration {
    loop {
        if refused() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < BOUND * 3,
            "still not revoked after {:?}",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn new_key(at: Endpoint, user: &str) -> (String, String) {
    let v = ok(
        at.root(&["iam", "create-access-key", "--user-name", user]),
        "create-access-key",
    );
    (
        v["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned(),
        v["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn three_nodes_behave_as_one_server() {
    let Some(pg) = kagi_testkit::postgres::required("three_nodes_behave_as_one_server") else {
        return;
    };
    let Some(s3) = kagi_testkit::s3::required("three_nodes_behave_as_one_server") else {
        return;
    };
    s3.create_bucket("cluster");
    let url = pg.new_database();
    let shared: Vec<&str> = vec![
        "--database-url",
        &url,
        "--blob-store",
        "s3://cluster/blobs",
        "--s3-endpoint",
        &s3.endpoint,
    ];
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // The load balancer's address is the nodes' public URL.
    let lb_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let lb = Endpoint {
        port: lb_listener.local_addr().unwrap().port(),
    };
    let public = format!("http://127.0.0.1:{}", lb.port);
    // The nodes start at the same moment against the empty database.
    let mut nodes: Vec<Option<Server>> = std::thread::scope(|sc| {
        let hs: Vec<_> = dirs
            .iter()
            .map(|d| {
                sc.spawn(|| {
                    let mut args = shared.clone();
                    args.extend(["--public-url", &public]);
                    Server::start(d.path(), &args)
                })
            })
            .collect();
        hs.into_iter().map(|h| Some(h.join().unwrap())).collect()
    });
    let at = |nodes: &[Option<Server>], i: usize| nodes[i].as_ref().unwrap().at;
    let ports = Arc::new(Mutex::new(
        (0..3).map(|i| at(&nodes, i).port).collect::<Vec<_>>(),
    ));
    proxy(lb_listener, ports.clone());

    // Writes through the proxy land on every node in turn; every node sees all of them.
    for i in 0..6 {
        ok(
            lb.root(&["iam", "create-user", "--user-name", &format!("u{i}")]),
            "create-user",
        );
    }
    for n in 0..3 {
        let seen = users(at(&nodes, n));
        for i in 0..6 {
            assert!(seen.contains(&format!("u{i}")), "node {n} misses u{i}");
        }
    }

    // ECR names the public address.
    let repo = ok(
        at(&nodes, 0).root(&["ecr", "create-repository", "--repository-name", "pub"]),
        "create-repository",
    );
    assert_eq!(
        repo["repository"]["repositoryUri"],
        format!("127.0.0.1:{}/pub", lb.port)
    );
    let token = ok(
        at(&nodes, 0).root(&["ecr", "get-authorization-token"]),
        "token",
    );
    assert_eq!(token["authorizationData"][0]["proxyEndpoint"], public);

    // One registry: an upload begun on node 0 continues on nodes 1 and 0 and ends on node 2.
    let basic = format!(
        "Basic {}",
        token["authorizationData"][0]["authorizationToken"]
            .as_str()
            .unwrap()
    );
    let layer: Vec<u8> = (0..(7u32 << 20)).map(|i| (i % 241) as u8).collect();
    let digest = kagi_ecr::util::sha256_digest(&layer);
    let (status, headers, _) = registry(
        at(&nodes, 0).port,
        "POST",
        "/v2/pub/blobs/uploads/",
        &basic,
        &[],
        &[],
    );
    assert_eq!(status, 202);
    let location = path_of(&headers["location"]);
    let split = 5 << 20;
    for (node, range) in [(1, 0..split), (0, split..layer.len())] {
        let (status, headers, body) = registry(
            at(&nodes, node).port,
            "PATCH",
            &location,
            &basic,
            &[(
                "content-range",
                format!("{}-{}", range.start, range.end - 1),
            )],
            &layer[range.clone()],
        );
        assert_eq!(
            status,
            202,
            "PATCH on node {node}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers["range"], format!("0-{}", range.end - 1));
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    let (status, _, body) = registry(
        at(&nodes, 2).port,
        "PUT",
        &format!("{location}{sep}digest={digest}"),
        &basic,
        &[],
        &[],
    );
    assert_eq!(
        status,
        201,
        "PUT on node 2: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = registry(
        at(&nodes, 1).port,
        "GET",
        &format!("/v2/pub/blobs/{digest}"),
        &basic,
        &[],
        &[],
    );
    assert_eq!(status, 200);
    assert!(
        body == layer,
        "the layer reads back whole through another node"
    );
    // An image pushed through node 1 pulls through node 2, every digest verified.
    let password = String::from_utf8(at(&nodes, 0).root(&["ecr", "get-login-password"]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    let image = kagi_ecr::client::generate_image(7, 2, 3 << 20);
    let pushed = kagi_ecr::client::Registry::new(
        &format!("127.0.0.1:{}", at(&nodes, 1).port),
        "AWS",
        &password,
    )
    .push("pub", "v1", &image, &mut |_, _| {})
    .unwrap();
    let pulled = kagi_ecr::client::Registry::new(
        &format!("127.0.0.1:{}", at(&nodes, 2).port),
        "AWS",
        &password,
    )
    .pull("pub", "v1")
    .unwrap();
    assert_eq!(
        (pulled.manifest_digest(), pushed.as_str()),
        (image.manifest_digest(), image.manifest_digest())
    );
    // The seed's push with a real client through the load balancer: skopeo's connections land
    // on different nodes, and the image pulls back whole.
    if skopeo_found() {
        let work = tempfile::tempdir().unwrap();
        let image = kagi_ecr::client::generate_image(8, 3, 2 << 20);
        kagi_ecr::client::write_oci_layout(&image, &work.path().join("src"), "seed").unwrap();
        let creds = format!("AWS:{password}");
        let dest = format!("docker://127.0.0.1:{}/pub:seed", lb.port);
        let src = format!("oci:{}:seed", work.path().join("src").display());
        let back = format!("oci:{}:seed", work.path().join("back").display());
        for args in [
            vec![
                "copy",
                "--dest-creds",
                &creds,
                "--dest-tls-verify=false",
                &src,
                &dest,
            ],
            vec![
                "copy",
                "--src-creds",
                &creds,
                "--src-tls-verify=false",
                &dest,
                &back,
            ],
        ] {
            let out = std::process::Command::new("skopeo")
                .arg("--insecure-policy")
                .args(&args)
                .env("HOME", work.path())
                .env("XDG_RUNTIME_DIR", work.path())
                .env_remove("REGISTRY_AUTH_FILE")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "skopeo {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pulled = kagi_ecr::client::read_oci_layout(&work.path().join("back"), "seed").unwrap();
        assert_eq!(pulled.manifest_digest(), image.manifest_digest());
    }

    // A key made on node 0 signs on node 2; deleted on node 0, it stops within the bound.
    ok(
        at(&nodes, 0).root(&["iam", "create-user", "--user-name", "alice"]),
        "alice",
    );
    let key = new_key(at(&nodes, 0), "alice");
    let whoami = |n: usize, k: &(String, String)| {
        at(&nodes, n).kagi((&k.0, &k.1), &["sts", "get-caller-identity"])
    };
    assert!(whoami(2, &key).status.success());
    let t = Instant::now();
    ok(
        at(&nodes, 0).root(&[
            "iam",
            "delete-access-key",
            "--user-name",
            "alice",
            "--access-key-id",
            &key.0,
        ]),
        "delete-access-key",
    );
    let key_revoked = time_until(t, || !whoami(2, &key).status.success());
    let out = whoami(2, &key);
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidClientTokenId"));

    // A policy deleted on node 1 stops allowing on node 2 within the bound.
    let key = new_key(at(&nodes, 1), "alice");
    ok(
        at(&nodes, 1).root(&[
            "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "list",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole"],"Resource":"*"}]}"#,
        ]),
        "put-user-policy",
    );
    let list = |n: usize| at(&nodes, n).kagi((&key.0, &key.1), &["iam", "list-users"]);
    assert!(list(2).status.success(), "allowed on another node at once");
    let t = Instant::now();
    ok(
        at(&nodes, 1).root(&[
            "iam",
            "delete-user-policy",
            "--user-name",
            "alice",
            "--policy-name",
            "list",
        ]),
        "delete-user-policy",
    );
    let policy_revoked = time_until(t, || !list(2).status.success());
    assert!(String::from_utf8_lossy(&list(2).stderr).contains("AccessDenied"));
    eprintln!(
        "revocation seen on another node after {key_revoked:?} (deleted key), {policy_revoked:?} (deleted policy); bound {BOUND:?}"
    );
    assert!(key_revoked < BOUND && policy_revoked < BOUND);

    // A role session minted on node 0 is good on node 1 and 2.
    ok(
        at(&nodes, 0).root(&[
            "iam", "put-user-policy", "--user-name", "alice", "--policy-name", "switch",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        ]),
        "switch policy",
    );
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    ok(
        at(&nodes, 0).root(&[
            "iam",
            "create-role",
            "--role-name",
            "R",
            "--assume-role-policy-document",
            &trust,
        ]),
        "create-role",
    );
    let assumed = ok(
        at(&nodes, 0).kagi(
            (&key.0, &key.1),
            &[
                "sts",
                "assume-role",
                "--role-arn",
                &format!("arn:aws:iam::{ACCOUNT}:role/R"),
                "--role-session-name",
                "seed",
            ],
        ),
        "assume-role",
    );
    let c = &assumed["Credentials"];
    for n in [1, 2] {
        let out = std::process::Command::new(support::KAGI)
            .args(["sts", "get-caller-identity"])
            .env("AWS_ACCESS_KEY_ID", c["AccessKeyId"].as_str().unwrap())
            .env(
                "AWS_SECRET_ACCESS_KEY",
                c["SecretAccessKey"].as_str().unwrap(),
            )
            .env("AWS_SESSION_TOKEN", c["SessionToken"].as_str().unwrap())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", at(&nodes, n).port),
            )
            .output()
            .unwrap();
        let v = ok(out, "session on another node");
        assert_eq!(
            v["Arn"],
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/R/seed")
        );
    }

    // A console sign-in on node 0 is a session on node 2; signing out on node 1 ends it.
    ok(
        at(&nodes, 0).root(&["iam", "create-user", "--user-name", "webuser"]),
        "webuser",
    );
    ok(
        at(&nodes, 0).root(&[
            "iam",
            "create-login-profile",
            "--user-name",
            "webuser",
            "--password",
            "Web-Passw0rd!",
        ]),
        "login profile",
    );
    let (_, pre, form) = http(at(&nodes, 0).port, "GET", "/console/signin", "", "");
    let pre = pre.join("; ");
    let body = format!(
        "csrf={}&account={ACCOUNT}&username=webuser&password=Web-Passw0rd%21",
        csrf(&form)
    );
    let (status, session, _) = http(at(&nodes, 0).port, "POST", "/console/signin", &pre, &body);
    assert_eq!(status, 303, "signed in on node 0");
    let session = session
        .into_iter()
        .find(|c| c.starts_with("kagi-console="))
        .expect("session cookie");
    let (status, _, page) = http(at(&nodes, 2).port, "GET", "/console/password", &session, "");
    assert_eq!(status, 200, "the session cookie opens node 2's console");
    assert!(page.contains("webuser"), "signed in as webuser on node 2");
    let (_, _, home) = http(at(&nodes, 1).port, "GET", "/console/password", &session, "");
    let (status, _, _) = http(
        at(&nodes, 1).port,
        "POST",
        "/console/signout",
        &session,
        &format!("csrf={}", csrf(&home)),
    );
    assert!(
        status == 303 || status == 200,
        "signed out on node 1 ({status})"
    );
    let (status, _, _) = http(at(&nodes, 2).port, "GET", "/console/password", &session, "");
    assert_eq!(
        status, 303,
        "signed out everywhere: back to the sign-in page"
    );

    // kill -9 of node 1 while clients write through the proxy: IAM writes, and image pushes
    // (each push a new client, so new connections, spread over the nodes).
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let pushed = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let push_failures = Arc::new(AtomicUsize::new(0));
    let pusher = {
        let (pushed, stop, push_failures, password) = (
            pushed.clone(),
            stop.clone(),
            push_failures.clone(),
            password.clone(),
        );
        std::thread::spawn(move || {
            for i in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let image = kagi_ecr::client::generate_image(100 + i, 2, 512 << 10);
                let tag = format!("during-kill-{i}");
                let registry = kagi_ecr::client::Registry::new(
                    &format!("127.0.0.1:{}", lb.port),
                    "AWS",
                    &password,
                );
                match registry.push("pub", &tag, &image, &mut |_, _| {}) {
                    Ok(d) => pushed.lock().unwrap().push((tag, d)),
                    Err(_) => {
                        push_failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (acked, stop, failures) = (acked.clone(), stop.clone(), failures.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = format!("k{t}-{i}");
                    if lb
                        .root(&["iam", "create-user", "--user-name", &name])
                        .status
                        .success()
                    {
                        acked.lock().unwrap().push(name);
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 20 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed_port = at(&nodes, 1).port;
    nodes[1].take().unwrap().kill();
    ports.lock().unwrap().retain(|p| *p != killed_port);
    let at_kill = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < at_kill + 20 {
        std::thread::sleep(Duration::from_millis(10));
    }
    while pushed.lock().unwrap().len() < 2 {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    pusher.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    let failed = failures.load(Ordering::Relaxed);
    eprintln!(
        "kill -9 of one node: {} writes acknowledged ({at_kill} before the kill), {failed} refused in flight",
        acked.len()
    );
    assert!(
        failed <= 4,
        "only requests in flight on the killed node may fail ({failed})"
    );
    for n in [0, 2] {
        let seen = users(at(&nodes, n));
        for name in &acked {
            assert!(seen.contains(name), "node {n} lost acknowledged {name}");
        }
    }
    let pushed = pushed.lock().unwrap().clone();
    let push_failed = push_failures.load(Ordering::Relaxed);
    eprintln!(
        "kill -9 of one node: {} image pushes acknowledged, {push_failed} broken off in flight",
        pushed.len()
    );
    assert!(
        push_failed <= 2,
        "only pushes in flight on the killed node may fail ({push_failed})"
    );
    for n in [0, 2] {
        let registry = kagi_ecr::client::Registry::new(
            &format!("127.0.0.1:{}", at(&nodes, n).port),
            "AWS",
            &password,
        );
        for (tag, digest) in &pushed {
            let image = registry
                .pull("pub", tag)
                .unwrap_or_else(|e| panic!("node {n} lost acknowledged image pub:{tag}: {e:#}"));
            assert_eq!(image.manifest_digest(), digest);
        }
    }
    // The killed node restarts on its data directory and serves everything.
    let mut args = shared.clone();
    args.extend(["--public-url", &public]);
    let restarted = Server::start(dirs[1].path(), &args);
    let seen = users(restarted.at);
    for name in &acked {
        assert!(seen.contains(name), "the restarted node misses {name}");
    }
    ports.lock().unwrap().push(restarted.at.port);
    nodes[1] = Some(restarted);

    // The official CLI through the proxy.
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KAGI_COMPAT_VENV (a venv with awscli) is required under CI"
        );
        eprintln!("SKIPPED the official CLI part: KAGI_COMPAT_VENV is not set");
        return;
    };
    let aws = |args: &[&str]| {
        std::process::Command::new(std::path::Path::new(&venv).join("bin/aws"))
            .args(args)
            .args(["--output", "json"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dirs[0].path())
            .env("AWS_ACCESS_KEY_ID", support::ROOT_AKID)
            .env("AWS_SECRET_ACCESS_KEY", support::ROOT_SECRET)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", lb.port))
            .output()
            .unwrap()
    };
    for i in 0..3 {
        ok(
            aws(&["iam", "create-user", "--user-name", &format!("official{i}")]),
            "aws iam create-user",
        );
    }
    for _ in 0..3 {
        let v = ok(
            aws(&["iam", "get-user", "--user-name", "official0"]),
            "aws iam get-user",
        );
        assert_eq!(v["User"]["UserName"], "official0");
        let v = ok(
            aws(&["sts", "get-caller-identity"]),
            "aws sts get-caller-identity",
        );
        assert_eq!(v["Account"], ACCOUNT);
    }
}
