//! A full disk: `kagi serve`'s data directory on a small tmpfs (mounted by the test: it needs
//! root, or CAP_SYS_ADMIN, as CI has; elsewhere it prints SKIPPED, and under CI (`CI` set) it
//! fails instead) is filled to the last byte by a ballast file beside the server's files. Then:
//!
//! * writes fail with a readable 5xx in the protocol's own shape (IAM's `ServiceFailure` XML,
//!   ECR's JSON error, the registry's OCI `errors` JSON), never a hang, a reset or an exit;
//! * reads keep working, and every write acknowledged before or during the full disk is still
//!   there after space returns and after a SIGKILL and restart (`kagi serve --check` clean);
//! * when the ballast is removed the same server accepts writes and pushes again.
//!
//! Why tmpfs and not `RLIMIT_FSIZE`: a file-size limit fails only the one file that grows past
//! it (and kills the process with SIGXFSZ unless ignored); a full filesystem fails every file at
//! once, SQLite's WAL and the blob store's uploads alike, which is what a full disk does.

mod support;
use kagi_sigv4::Credentials;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use support::{Endpoint, Server, signed};

/// Mounts a tmpfs of `mib` MiB on `dir`; unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u64) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the filesystem has no byte left; returns how much it wrote.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for block in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let buf = vec![0x5au8; block];
        while f.write_all(&buf).is_ok() {
            written += block as u64;
        }
    }
    let _ = f.sync_all();
    written
}

/// A 5xx in AWS's query-protocol error shape, or in ECR's JSON error shape.
fn assert_aws_5xx(what: &str, status: u16, body: &str) {
    assert!(
        (500..600).contains(&status),
        "{what}: a full disk answered {status}: {body}"
    );
    let xml = body.contains("<ErrorResponse") && body.contains("<Code>");
    let json = serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|v| v["__type"].is_string() || v["errors"][0]["code"].is_string());
    assert!(xml || json, "{what}: a 5xx not in AWS's shape: {body}");
}

#[test]
fn a_full_disk_fails_writes_readably_loses_nothing_and_recovers() {
    let root_dir = tempfile::tempdir().unwrap();
    let mnt = root_dir.path().join("fs");
    std::fs::create_dir(&mnt).unwrap();
    let _fs = match Tmpfs::mount(&mnt, 48) {
        Ok(fs) => fs,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "disk_full: cannot mount a tmpfs ({why}); CI runs as root and must"
            );
            eprintln!("SKIPPED disk_full: cannot mount a tmpfs ({why}): run as root");
            return;
        }
    };
    let data = mnt.join("data");
    let ballast = mnt.join("ballast");
    let server = Server::start(&data, &["--log", "warn"]);
    let at = server.at;
    let root = signed::root();
    at.root_json(&["ecr", "create-repository", "--repository-name", "full/repo"]);
    let registry = || {
        let out = at.root(&["ecr", "get-login-password"]);
        assert!(out.status.success());
        kagi_ecr::client::RegistryClient::new(
            &format!("127.0.0.1:{}", at.port),
            "AWS",
            String::from_utf8(out.stdout).unwrap().trim(),
        )
        .with_chunk_size(256 << 10)
    };
    let mut users: Vec<String> = vec![];
    let mut images: Vec<(String, String)> = vec![];
    let create_user =
        |name: &str| signed::iam(at, &root, "CreateUser", &format!("&UserName={name}"));
    for i in 0..5 {
        let name = format!("before-{i}");
        assert_eq!(create_user(&name).unwrap().0, 200);
        users.push(name);
    }
    let reg = registry();
    let img = kagi_ecr::client::generate_image(1, 2, 512 << 10);
    images.push((
        "before".into(),
        reg.push("full/repo", "before", &img, &mut |_| {}).unwrap(),
    ));

    let filled = fill(&ballast);
    eprintln!("ballast: {} MiB; the filesystem is full", filled >> 20);

    // IAM writes with a 10 KB policy each until the store cannot grow: each is acknowledged
    // (and must survive) or a readable 5xx.
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": (0..60).map(|i| serde_json::json!(
        {"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": format!("arn:aws:s3:::bucket-with-a-long-name-{i:04}/some/long/prefix/*")})).collect::<Vec<_>>()});
    let policy = signed::escape(&policy.to_string());
    let mut iam_failures = 0;
    for i in 0..400 {
        let name = format!("during-{i}");
        let (status, body) = create_user(&name).expect("an answer, not a reset");
        if status == 200 {
            users.push(name.clone());
        } else {
            assert_aws_5xx("CreateUser", status, &body);
            iam_failures += 1;
            if iam_failures >= 3 {
                break;
            }
            continue;
        }
        let (status, body) = signed::iam(
            at,
            &root,
            "PutUserPolicy",
            &format!("&UserName={name}&PolicyName=big&PolicyDocument={policy}"),
        )
        .expect("an answer, not a reset");
        if status != 200 {
            assert_aws_5xx("PutUserPolicy", status, &body);
            iam_failures += 1;
            if iam_failures >= 3 {
                break;
            }
        }
    }
    assert!(iam_failures > 0, "400 IAM writes all fit on a full disk?");
    // ECR's API: a repository is a row too.
    let mut ecr_failures = 0;
    for i in 0..200 {
        let (status, body) = signed::ecr(
            at,
            &root,
            "CreateRepository",
            &serde_json::json!({"repositoryName": format!("full/r{i}")}),
        )
        .expect("an answer, not a reset");
        if status != 200 {
            assert_aws_5xx("CreateRepository", status, &body);
            ecr_failures += 1;
            break;
        }
    }
    // The registry: blob bytes cannot land.
    let big = kagi_ecr::client::generate_image(2, 2, 2 << 20);
    let err = reg
        .push("full/repo", "during", &big, &mut |_| {})
        .expect_err("a 4 MiB push onto a full disk");
    let push_status = err
        .status
        .unwrap_or_else(|| panic!("push: no answer: {err}"));
    assert!(
        (500..600).contains(&push_status),
        "push on a full disk: {err}"
    );
    assert!(err.code.is_some(), "push: not an OCI error: {err}");
    // Reads still work, and the server is still there.
    let (status, body) = signed::sts(at, &root, "GetCallerIdentity", "").unwrap();
    assert_eq!(status, 200, "{body}");
    let pulled = reg.pull("full/repo", "before", &mut |_| {}).unwrap();
    assert_eq!(pulled.manifest_digest, images[0].1);
    eprintln!(
        "full disk: {} IAM and {ecr_failures} ECR writes refused readably, push refused with {push_status} {}",
        iam_failures,
        err.code.as_deref().unwrap_or("")
    );

    // Space returns: the same server writes again.
    std::fs::remove_file(&ballast).unwrap();
    assert_eq!(
        create_user("after").unwrap().0,
        200,
        "a write once space returned"
    );
    users.push("after".into());
    images.push((
        "after".into(),
        reg.push("full/repo", "after", &big, &mut |_| {})
            .expect("a push once space returned"),
    ));
    assert_all_there(at, &users, &images);

    // And nothing is lost across a crash either.
    server.kill();
    let out = Command::new(support::KAGI)
        .args(["serve", "--check", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kagi serve --check after the full disk: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&data, &["--log", "warn"]);
    assert_all_there(server.at, &users, &images);
}

fn assert_all_there(at: Endpoint, users: &[String], images: &[(String, String)]) {
    let root: Credentials = signed::root();
    for u in users {
        let (status, body) = signed::iam(at, &root, "GetUser", &format!("&UserName={u}")).unwrap();
        assert_eq!(status, 200, "acknowledged user {u} lost: {body}");
    }
    let out = at.root(&["ecr", "get-login-password"]);
    let reg = kagi_ecr::client::RegistryClient::new(
        &format!("127.0.0.1:{}", at.port),
        "AWS",
        String::from_utf8(out.stdout).unwrap().trim(),
    );
    for (tag, digest) in images {
        let img = reg
            .pull("full/repo", tag, &mut |_| {})
            .unwrap_or_else(|e| panic!("acknowledged image {tag} lost: {e}"));
        assert_eq!(&img.manifest_digest, digest);
    }
}
