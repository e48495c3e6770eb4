//! A crash loses nothing acknowledged: `kagi serve` is killed with SIGKILL while clients are
//! writing (IAM users, access keys and ECR repositories in `kagi.db` or PostgreSQL, image
//! blobs and manifests pushed over the registry API), then
//! restarted on the same data directory. Every write whose response a client received must be
//! there, every acknowledged access key must still sign requests, and the server must keep
//! serving writes. The clients are the `kagi` binary itself, as a user would run it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;
use kagi_sigv4::Credentials;
use support::{ACCOUNT, Endpoint, Server, signed};

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
    crash_rounds(&[]);
}

/// The same with IAM/STS and ECR's rows in PostgreSQL (`--database-url`); blob bytes stay in
/// the data dir.
#[test]
fn sigkill_on_postgres_loses_nothing_acknowledged() {
    let Some(pg) = kagi_testkit::postgres::required("sigkill_on_postgres") else {
        return;
    };
    crash_rounds(&["--database-url", &pg.new_database()]);
}

/// The same with every byte off the node: rows in PostgreSQL, blobs in an S3-compatible
/// bucket (`--blob-store`).
#[test]
fn sigkill_on_postgres_and_s3_loses_nothing_acknowledged() {
    let Some(pg) = kagi_testkit::postgres::required("sigkill_on_postgres_and_s3") else {
        return;
    };
    let Some(s3) = kagi_testkit::s3::required("sigkill_on_postgres_and_s3") else {
        return;
    };
    s3.create_bucket("crash");
    crash_rounds(&[
        "--database-url",
        &pg.new_database(),
        "--blob-store",
        "s3://crash",
        "--s3-endpoint",
        &s3.endpoint,
    ]);
}

fn crash_rounds(extra: &[&str]) {
    let data = tempfile::tempdir().unwrap();
    let mut all = Acked::default();
    {
        let server = Server::start(data.path(), extra);
        server
            .at
            .root_json(&["ecr", "create-repository", "--repository-name", IMAGES]);
    }
    for round in 0..2 {
        let acked = write_until_killed(
            Server::start(data.path(), extra),
            round,
            30 + 20 * round as usize,
        );
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
        let (ok, report) = check(data.path(), extra);
        assert!(
            ok,
            "kagi serve --check after the crash of round {round}:\n{report}"
        );

        let server = Server::start(data.path(), extra);
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
    if extra.contains(&"--blob-store") {
        return; // (the file-backed variants show that the check can fail)
    }
    // The check can fail: a blob file lost behind the store's back is reported.
    let blobs = data.path().join("ecr/blobs");
    let victim = support::walk(&blobs)
        .into_iter()
        .find(|p| !p.starts_with(blobs.join("tmp")))
        .expect("a blob object");
    std::fs::remove_file(&victim).unwrap();
    let (ok, report) = check(data.path(), extra);
    assert!(!ok, "a missing blob is damage");
    let key = victim
        .strip_prefix(&blobs)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        report.contains(&format!("is recorded but its object {key} is missing")),
        "{report}"
    );
}

/// `kagi serve --check` on the data directory (and database): success, and what it printed.
fn check(data: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(support::KAGI)
        .args(["serve", "--check", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

// ---- twenty kills under mixed load ----------------------------------------------------------

/// The main repository of the mixed crash test, and the one under a lifecycle policy.
const MIXED: &str = "crash/mixed";
const LIFECYCLE: &str = "crash/lifecycle";

/// Keeps the 3 newest images tagged `lc…`: every put applies it, and so does the job.
const KEEP_THREE: &str = r#"{"rules":[{"rulePriority":1,"description":"keep three","selection":{"tagStatus":"tagged","tagPrefixList":["lc"],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}"#;

/// What the mixed writers had acknowledged, over every round so far.
#[derive(Default)]
struct MixedAcked {
    users: Vec<String>,
    /// Users whose DeleteUser was acknowledged: they must stay gone.
    deleted_users: Vec<String>,
    /// (user, access key id, secret)
    keys: Vec<(String, String, String)>,
    /// (access key id, secret, session token) from AssumeRole
    sessions: Vec<(String, String, String)>,
    /// (tag, manifest digest) in [`MIXED`], pushed in 32 KiB chunks
    images: Vec<(String, String)>,
    /// Tags whose BatchDeleteImage was acknowledged: they must stay gone.
    deleted_images: Vec<String>,
    /// Tags whose deletion was asked but not answered (killed mid-call): either state is fine.
    in_doubt: Vec<String>,
    lifecycle_pushes: usize,
}

fn ok(r: std::io::Result<(u16, String)>) -> Option<String> {
    match r {
        Ok((200, body)) => Some(body),
        Ok((status, body)) => panic!("unexpected answer {status} before the kill: {body}"),
        Err(_) => None, // killed
    }
}

fn registry_for(at: Endpoint, creds: &Credentials) -> Option<kagi_ecr::client::RegistryClient> {
    let body = ok(signed::ecr(
        at,
        creds,
        "GetAuthorizationToken",
        &serde_json::json!({}),
    ))?;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = v["authorizationData"][0]["authorizationToken"]
        .as_str()
        .unwrap();
    Some(
        kagi_ecr::client::RegistryClient::from_authorization_token(
            &format!("127.0.0.1:{}", at.port),
            token,
        )
        .unwrap()
        .with_chunk_size(32 << 10),
    )
}

/// One round: writers of every kind until the server is SIGKILLed at a moment that moves
/// from round to round. Acknowledgements are recorded into `acked` as they arrive.
fn mixed_round(server: Server, round: u32, acked: &Arc<Mutex<MixedAcked>>) {
    let at = server.at;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let root = signed::root();
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let spawn = |threads: &mut Vec<_>, f: Box<dyn FnOnce() + Send>| {
        threads.push(std::thread::spawn(f));
    };
    // IAM writers: users, keys, deletions of users without keys.
    for t in 0..2 {
        let (acked, stop, root) = (acked.clone(), stop.clone(), root.clone());
        spawn(
            &mut threads,
            Box::new(move || {
                let mut deletable: Vec<String> = vec![];
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = format!("mixed-{round}-{t}-{i}");
                    let Some(_) = ok(signed::iam(
                        at,
                        &root,
                        "CreateUser",
                        &format!("&UserName={name}"),
                    )) else {
                        break;
                    };
                    acked.lock().unwrap().users.push(name.clone());
                    if i % 3 == 0 {
                        let Some(body) = ok(signed::iam(
                            at,
                            &root,
                            "CreateAccessKey",
                            &format!("&UserName={name}"),
                        )) else {
                            break;
                        };
                        let f = |n| signed::xml_field(&body, n).unwrap();
                        acked.lock().unwrap().keys.push((
                            name,
                            f("AccessKeyId"),
                            f("SecretAccessKey"),
                        ));
                    } else if i % 3 == 1 {
                        deletable.push(name);
                    } else if let Some(victim) = deletable.pop() {
                        // Not acknowledged yet: while the call is out, the user may or may not
                        // exist after a kill, so it leaves the list of users that must.
                        acked.lock().unwrap().users.retain(|u| *u != victim);
                        let Some(_) = ok(signed::iam(
                            at,
                            &root,
                            "DeleteUser",
                            &format!("&UserName={victim}"),
                        )) else {
                            break;
                        };
                        acked.lock().unwrap().deleted_users.push(victim);
                    }
                }
            }),
        );
    }
    // AssumeRole: the session's credentials must keep working after the crash.
    {
        let (acked, stop) = (acked.clone(), stop.clone());
        let (akid, secret) = {
            let a = acked.lock().unwrap();
            (a.keys[0].1.clone(), a.keys[0].2.clone())
        };
        spawn(
            &mut threads,
            Box::new(move || {
                let assumer = Credentials::new(akid, secret);
                let role = signed::escape(&format!("arn:aws:iam::{ACCOUNT}:role/CrashRole"));
                // 25 sessions a round: each is checked after every later restart.
                for i in 0..25 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(body) = ok(signed::sts(
                        at,
                        &assumer,
                        "AssumeRole",
                        &format!("&RoleArn={role}&RoleSessionName=r{round}-{i}"),
                    )) else {
                        break;
                    };
                    let f = |n| signed::xml_field(&body, n).unwrap();
                    acked.lock().unwrap().sessions.push((
                        f("AccessKeyId"),
                        f("SecretAccessKey"),
                        f("SessionToken"),
                    ));
                }
            }),
        );
    }
    // Chunked pushes, and deletions of acknowledged images (their blobs collected at once).
    for t in 0..2 {
        let (acked, stop, progress, root) =
            (acked.clone(), stop.clone(), progress.clone(), root.clone());
        spawn(
            &mut threads,
            Box::new(move || {
                let Some(registry) = registry_for(at, &root) else {
                    return;
                };
                for i in 0u64.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let image = kagi_ecr::client::generate_image(
                        u64::from(round) << 40 | (t as u64) << 32 | i,
                        2,
                        80 << 10,
                    );
                    let tag = format!("m{round}-{t}-{i}");
                    match registry.push(MIXED, &tag, &image, &mut |_| {}) {
                        Ok(d) => acked.lock().unwrap().images.push((tag, d)),
                        Err(e) if e.status.is_some() => panic!("push {tag} before the kill: {e}"),
                        Err(_) => break,
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                    if t == 1 && i % 2 == 1 {
                        let victim = {
                            let mut a = acked.lock().unwrap();
                            let n = a.images.len();
                            let (tag, _) = a.images.remove(n / 2);
                            a.in_doubt.push(tag.clone());
                            tag
                        };
                        let Some(body) = ok(signed::ecr(
                            at,
                            &root,
                            "BatchDeleteImage",
                            &serde_json::json!({"repositoryName": MIXED,
                                "imageIds": [{"imageTag": victim}]}),
                        )) else {
                            break;
                        };
                        assert!(body.contains("\"failures\":[]"), "{body}");
                        let mut a = acked.lock().unwrap();
                        a.in_doubt.retain(|t| *t != victim);
                        a.deleted_images.push(victim);
                    }
                }
            }),
        );
    }
    // Pushes under a lifecycle policy, put again (and so applied) every third push.
    {
        let (acked, stop, progress, root) =
            (acked.clone(), stop.clone(), progress.clone(), root.clone());
        spawn(
            &mut threads,
            Box::new(move || {
                let Some(registry) = registry_for(at, &root) else {
                    return;
                };
                for i in 0u64.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let image = kagi_ecr::client::generate_image(
                        u64::from(round) << 40 | 7 << 32 | i,
                        1,
                        64 << 10,
                    );
                    match registry.push(LIFECYCLE, &format!("lc{round}-{i}"), &image, &mut |_| {}) {
                        Ok(_) => {}
                        Err(e) if e.status.is_some() => panic!("push lc{round}-{i}: {e}"),
                        Err(_) => break,
                    }
                    acked.lock().unwrap().lifecycle_pushes += 1;
                    progress.fetch_add(1, Ordering::Relaxed);
                    if i % 3 == 2
                        && ok(signed::ecr(
                            at,
                            &root,
                            "PutLifecyclePolicy",
                            &serde_json::json!({"repositoryName": LIFECYCLE,
                                "lifecyclePolicyText": KEEP_THREE}),
                        ))
                        .is_none()
                    {
                        break;
                    }
                }
            }),
        );
    }
    // Kill at a moment that moves from round to round: after 3 to 9 acknowledged pushes (IAM
    // and STS calls are many times faster and have acknowledged dozens by then).
    let kill_after = 3 + (round as usize * 5) % 7;
    let deadline = Instant::now() + Duration::from_secs(120);
    while progress.load(Ordering::Relaxed) < kill_after {
        assert!(Instant::now() < deadline, "writers made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

/// After a restart: every acknowledged write is there, every acknowledged deletion stays done,
/// every acknowledged image pulls whole, and every image left under the lifecycle policy too.
fn assert_mixed_there(at: Endpoint, acked: &MixedAcked) {
    let listed = at.root_json(&[
        "iam",
        "list-users",
        "--query",
        "Users[].UserName",
        "--output",
        "json",
    ]);
    let listed: std::collections::HashSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let lost: Vec<&String> = acked
        .users
        .iter()
        .filter(|u| !listed.contains(u.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged users lost: {lost:?}");
    let back: Vec<&String> = acked
        .deleted_users
        .iter()
        .filter(|u| listed.contains(u.as_str()))
        .collect();
    assert!(back.is_empty(), "acknowledged deletions undone: {back:?}");
    // Every acknowledged write has its event in the history (written before the answer).
    let recorded = |name: &str| -> std::collections::HashSet<String> {
        let v = at.root_json(&[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            &format!("AttributeKey=EventName,AttributeValue={name}"),
            "--query",
            "Events[].CloudTrailEvent",
            "--output",
            "json",
        ]);
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|e| serde_json::from_str::<serde_json::Value>(e.as_str()?).ok())
            .filter(|r| r.get("errorCode").is_none())
            .filter_map(|r| {
                r["requestParameters"]["userName"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    };
    let created = recorded("CreateUser");
    let unrecorded: Vec<&String> = acked
        .users
        .iter()
        .filter(|u| !created.contains(*u))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "acknowledged CreateUser calls without their event: {unrecorded:?}"
    );
    let deleted = recorded("DeleteUser");
    let unrecorded: Vec<&String> = acked
        .deleted_users
        .iter()
        .filter(|u| !deleted.contains(*u))
        .collect();
    assert!(
        unrecorded.is_empty(),
        "acknowledged DeleteUser calls without their event: {unrecorded:?}"
    );
    for (user, akid, secret) in &acked.keys {
        let (status, body) = signed::sts(
            at,
            &Credentials::new(akid.clone(), secret.clone()),
            "GetCallerIdentity",
            "",
        )
        .unwrap();
        assert_eq!(status, 200, "acknowledged key of {user}: {body}");
        assert!(body.contains(&format!(":user/{user}<")), "{body}");
    }
    for (akid, secret, token) in &acked.sessions {
        let creds = Credentials::new(akid.clone(), secret.clone()).with_session_token(token);
        let (status, body) = signed::sts(at, &creds, "GetCallerIdentity", "").unwrap();
        assert_eq!(status, 200, "acknowledged session: {body}");
        assert!(body.contains(":assumed-role/CrashRole/"), "{body}");
    }
    let registry = registry_for(at, &signed::root()).expect("the server answers");
    for (tag, digest) in &acked.images {
        let image = registry
            .pull(MIXED, tag, &mut |_| {})
            .unwrap_or_else(|e| panic!("acknowledged image {MIXED}:{tag} lost: {e}"));
        assert_eq!(&image.manifest_digest, digest, "{MIXED}:{tag}");
    }
    for tag in &acked.deleted_images {
        let e = registry
            .pull(MIXED, tag, &mut |_| {})
            .expect_err("an acknowledged deletion was undone");
        assert_eq!(e.status, Some(404), "{MIXED}:{tag}: {e}");
    }
    // Whatever the lifecycle policy kept is whole (no manifest names a collected blob).
    let (status, body) = signed::ecr(
        at,
        &signed::root(),
        "DescribeImages",
        &serde_json::json!({"repositoryName": LIFECYCLE, "maxResults": 1000}),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    for d in v["imageDetails"].as_array().unwrap() {
        let digest = d["imageDigest"].as_str().unwrap();
        let Err(e) = registry.pull(LIFECYCLE, digest, &mut |_| {}) else {
            continue;
        };
        // The lifecycle job runs as the server starts: an image listed a moment ago may have
        // expired since. Broken means still listed yet not whole.
        assert!(
            !lifecycle_lists(at, digest),
            "{LIFECYCLE}@{digest} kept but broken: {e}"
        );
    }
}

/// Whether the lifecycle repository still lists an image.
fn lifecycle_lists(at: Endpoint, digest: &str) -> bool {
    let (status, body) = signed::ecr(
        at,
        &signed::root(),
        "DescribeImages",
        &serde_json::json!({"repositoryName": LIFECYCLE, "imageIds": [{"imageDigest": digest}]}),
    )
    .unwrap();
    match status {
        200 => true,
        400 if body.contains("ImageNotFoundException") => false,
        _ => panic!("DescribeImages {LIFECYCLE}@{digest}: {status} {body}"),
    }
}

/// Twenty SIGKILLs while IAM writes (users, keys, deletions), AssumeRole, chunked registry
/// pushes, image deletions (their blobs collected at once), lifecycle policies applied on
/// every put, and the garbage collection and lifecycle jobs (every second here,
/// `KAGI_ECR_JOB_PERIOD`) all run; after each, `kagi serve --check` finds no damage and
/// every acknowledged write and deletion is as acknowledged.
#[test]
fn twenty_sigkills_under_mixed_load_lose_nothing_acknowledged() {
    mixed_crash_rounds(&[]);
}

/// The same with rows in PostgreSQL and blobs in an S3-compatible bucket.
#[test]
fn twenty_sigkills_under_mixed_load_on_postgres_and_s3() {
    let Some(pg) = kagi_testkit::postgres::required("twenty_sigkills_on_postgres_and_s3") else {
        return;
    };
    let Some(s3) = kagi_testkit::s3::required("twenty_sigkills_on_postgres_and_s3") else {
        return;
    };
    s3.create_bucket("mixed-crash");
    mixed_crash_rounds(&[
        "--database-url",
        &pg.new_database(),
        "--blob-store",
        "s3://mixed-crash",
        "--s3-endpoint",
        &s3.endpoint,
    ]);
}

fn mixed_crash_rounds(extra: &[&str]) {
    let rounds: u32 = std::env::var("KAGI_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let data = tempfile::tempdir().unwrap();
    // The garbage collection and lifecycle jobs every second; the server's warnings and
    // errors (a 5xx names its cause there) go to the test's output.
    let env = [("KAGI_ECR_JOB_PERIOD", "1")];
    let args: Vec<&str> = ["--log", "warn"].iter().chain(extra).copied().collect();
    let start = || Server::start_env(data.path(), &args, &env);
    let acked = Arc::new(Mutex::new(MixedAcked::default()));
    {
        let server = start();
        let at = server.at;
        for repo in [MIXED, LIFECYCLE] {
            at.root_json(&["ecr", "create-repository", "--repository-name", repo]);
        }
        at.root_json(&["iam", "create-user", "--user-name", "assumer"]);
        let key = at.root_json(&["iam", "create-access-key", "--user-name", "assumer"]);
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/assumer")},
            "Action": "sts:AssumeRole"}]});
        at.root_json(&[
            "iam",
            "create-role",
            "--role-name",
            "CrashRole",
            "--assume-role-policy-document",
            &trust.to_string(),
        ]);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        let out = at.root(&[
            "iam",
            "put-user-policy",
            "--user-name",
            "assumer",
            "--policy-name",
            "assume",
            "--policy-document",
            policy,
        ]);
        assert!(out.status.success());
        let mut a = acked.lock().unwrap();
        a.users.push("assumer".into());
        a.keys.push((
            "assumer".into(),
            key["AccessKey"]["AccessKeyId"].as_str().unwrap().into(),
            key["AccessKey"]["SecretAccessKey"].as_str().unwrap().into(),
        ));
    }
    let t0 = Instant::now();
    for round in 0..rounds {
        let server = start();
        assert_mixed_there(server.at, &acked.lock().unwrap());
        mixed_round(server, round, &acked);
        let (fine, report) = check(data.path(), extra);
        assert!(
            fine,
            "kagi serve --check after the kill of round {round}:\n{report}"
        );
    }
    let server = start();
    let a = acked.lock().unwrap();
    assert_mixed_there(server.at, &a);
    eprintln!(
        "{rounds} kills in {:.0} s; acknowledged and found after them: {} users, {} deletions \
         of users, {} access keys, {} sessions, {} images ({} deletions, {} in doubt), {} \
         pushes under a lifecycle policy",
        t0.elapsed().as_secs_f64(),
        a.users.len(),
        a.deleted_users.len(),
        a.keys.len(),
        a.sessions.len(),
        a.images.len(),
        a.deleted_images.len(),
        a.in_doubt.len(),
        a.lifecycle_pushes
    );
    assert!(
        a.sessions.len() > rounds as usize
            && !a.deleted_users.is_empty()
            && !a.deleted_images.is_empty()
            && a.lifecycle_pushes > 3,
        "the load did not do every kind of write"
    );
}
