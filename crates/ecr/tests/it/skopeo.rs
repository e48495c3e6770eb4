//! A real client: skopeo pushes an OCI layout to the registry and pulls it back.
//! Skipped (with a notice) when skopeo is not installed, unless `CI` is set.
use crate::common::*;
use kagi_ecr::client::{generate_image, read_oci_layout, write_oci_layout};
use std::process::{Command, Output};

fn skopeo_available() -> bool {
    let found = Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("skopeo is required when CI is set (apt-get install -y skopeo)");
        }
        eprintln!("NOTICE: skopeo not found on PATH; skipping the skopeo test");
    }
    found
}

fn skopeo(args: &[&str], home: &std::path::Path) -> Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .expect("run skopeo")
}

#[test]
fn skopeo_push_pull_and_denied() {
    if !skopeo_available() {
        return;
    }
    let s = TestServer::start();
    s.create_repo("test-repos");
    s.create_repo("other");
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let img = generate_image(2026, 3, 64 * 1024);
    write_oci_layout(&img, &src, "v1").unwrap();
    let creds = format!("AWS:{}", s.password(PUSHER));
    let reg = s.addr.to_string();

    // login as the seed does (password on stdin), into a private auth file
    let authfile = work.path().join("auth.json");
    let mut login = Command::new("skopeo")
        .args([
            "login",
            "--tls-verify=false",
            "--authfile",
            authfile.to_str().unwrap(),
            "--username",
            "AWS",
            "--password-stdin",
            &reg,
        ])
        .env("HOME", work.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    login
        .stdin
        .take()
        .unwrap()
        .write_all(creds.strip_prefix("AWS:").unwrap().as_bytes())
        .unwrap();
    let out = login.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "skopeo login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a wrong password is refused at login
    let bad = skopeo(
        &[
            "login",
            "--tls-verify=false",
            "--authfile",
            work.path().join("bad.json").to_str().unwrap(),
            "-u",
            "AWS",
            "-p",
            "wrong",
            &reg,
        ],
        work.path(),
    );
    assert!(!bad.status.success());

    let src_ref = format!("oci:{}:v1", src.display());
    let out = skopeo(
        &[
            "copy",
            "--authfile",
            authfile.to_str().unwrap(),
            "--dest-tls-verify=false",
            &src_ref,
            &format!("docker://{reg}/test-repos:v1"),
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // pull back into another layout: identical digests
    let dst = work.path().join("dst");
    let out = skopeo(
        &[
            "copy",
            "--src-creds",
            &creds,
            "--src-tls-verify=false",
            &format!("docker://{reg}/test-repos:v1"),
            &format!("oci:{}:v1", dst.display()),
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = read_oci_layout(&dst, "v1").unwrap();
    assert_eq!(back.manifest_digest, img.manifest_digest);
    assert_eq!(back, img);
    // skopeo inspect sees the tag
    let out = skopeo(
        &[
            "inspect",
            "--creds",
            &creds,
            "--tls-verify=false",
            &format!("docker://{reg}/test-repos:v1"),
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&img.manifest_digest));

    // Docker schema 2 (skopeo converts the manifest): stored and served with its media type
    let out = skopeo(
        &[
            "copy",
            "--format",
            "v2s2",
            "--dest-creds",
            &creds,
            "--dest-tls-verify=false",
            &src_ref,
            &format!("docker://{reg}/test-repos:v2s2"),
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "push v2s2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = skopeo(
        &[
            "inspect",
            "--raw",
            "--creds",
            &creds,
            "--tls-verify=false",
            &format!("docker://{reg}/test-repos:v2s2"),
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "inspect v2s2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(raw["layers"][0]["digest"], img.layers[0].digest.as_str());

    // another repository: denied
    let out = skopeo(
        &[
            "copy",
            "--dest-creds",
            &creds,
            "--dest-tls-verify=false",
            &src_ref,
            &format!("docker://{reg}/other:v1"),
        ],
        work.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("skopeo, denied as expected: {}", err.trim());
    assert!(err.contains("denied") || err.contains("DENIED"), "{err}");
    assert!(
        err.contains("ecr:") && err.contains("repository/other"),
        "{err}"
    );
}
