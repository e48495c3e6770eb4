//! `kagi backup` of a running server and `kagi restore` into a new data directory: every user,
//! access key, role, repository and image of the backup is there and works; what was written
//! after the backup is not; a damaged backup is refused; `kagi backup <operation>` stays AWS
//! Backup's CLI.

mod support;
use std::process::Command;
use support::Server;

fn kagi(args: &[&str]) -> std::process::Output {
    Command::new(support::KAGI)
        .args(args)
        .env("HOME", "/nonexistent-kagi-test-home")
        .output()
        .unwrap()
}

fn users(at: support::Endpoint) -> Vec<String> {
    at.root_json(&["iam", "list-users"])["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn backup_of_a_live_server_restores_whole() {
    let work = tempfile::tempdir().unwrap();
    let (data, backup, restored) = (
        work.path().join("data"),
        work.path().join("backup"),
        work.path().join("restored"),
    );
    let server = Server::start(&data, &[]);
    let at = server.at;
    at.root_json(&["iam", "create-user", "--user-name", "kept"]);
    let key = at.root_json(&["iam", "create-access-key", "--user-name", "kept"]);
    let (akid, secret) = (
        key["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned(),
        key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    at.root_json(&[
        "iam",
        "create-role",
        "--role-name",
        "KeptRole",
        "--assume-role-policy-document",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
            support::ACCOUNT
        ),
    ]);
    at.root_json(&["ecr", "create-repository", "--repository-name", "kept-repo"]);
    let password = String::from_utf8(at.root(&["ecr", "get-login-password"]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    let image = kagi_ecr::client::generate_image(5, 3, 1 << 20);
    kagi_ecr::client::Registry::new(&format!("127.0.0.1:{}", at.port), "AWS", &password)
        .push("kept-repo", "v1", &image, &mut |_, _| {})
        .unwrap();

    // While the server runs.
    let out = kagi(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "kagi backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checked"));
    use std::os::unix::fs::PermissionsExt;
    for f in [
        "kagi.db",
        "kagi.key",
        "root-credentials",
        "ecr/registry-token.key",
    ] {
        let mode = std::fs::metadata(backup.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // A write after the backup is not in it.
    at.root_json(&["iam", "create-user", "--user-name", "after-backup"]);
    // A backup does not overwrite anything.
    let again = kagi(&[
        "backup",
        "--data-dir",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    server.kill();

    let out = kagi(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "kagi restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&restored, &[]);
    let at = server.at;
    let seen = users(at);
    assert!(seen.contains(&"kept".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"after-backup".to_owned()), "{seen:?}");
    let who = at.kagi(
        (&akid, &secret),
        &["sts", "get-caller-identity", "--output", "json"],
    );
    assert!(who.status.success(), "the restored key signs");
    at.root_json(&["iam", "get-role", "--role-name", "KeptRole"]);
    // The registry password minted before the backup still works (same token key), and the
    // image pulls whole.
    let pulled =
        kagi_ecr::client::Registry::new(&format!("127.0.0.1:{}", at.port), "AWS", &password)
            .pull("kept-repo", "v1")
            .unwrap();
    assert_eq!(pulled.manifest_digest(), image.manifest_digest());
    drop(server);

    // Restoring over a data directory that holds something is refused.
    let out = kagi(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert!(!out.status.success());

    // A backup missing a blob is damage: restore says so and fails.
    let blobs = backup.join("ecr/blobs");
    let victim = support::walk(&blobs)
        .into_iter()
        .next()
        .expect("a blob object");
    std::fs::remove_file(&victim).unwrap();
    let out = kagi(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        work.path().join("third").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is recorded but its object"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Without `--to`, `kagi backup` is the AWS CLI's AWS Backup service, as `aws backup` is.
#[test]
fn backup_operations_stay_aws_backups() {
    let out = kagi(&[
        "backup",
        "list-backup-plans",
        "--generate-cli-skeleton",
        "input",
    ]);
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("MaxResults"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
