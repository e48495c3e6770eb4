//! S3 Multi-Region Access Points, differentially: kagi and the official AWS CLI v2 (whose
//! awscrt signs SigV4a; the CLI v1 cannot) on the same commands.
//!
//! The MRAP host `mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com` is reached through
//! a loopback HTTPS proxy (`HTTPS_PROXY`, which both CLIs honour): it answers `CONNECT`, ends
//! the TLS itself with a self-signed certificate (`tests/data/mrap-tls`, hence
//! `--no-verify-ssl`) and records the request with `common::serve_one`. Nothing leaves the
//! machine.
//!
//! Compared: method, target, credential scope, algorithm, `x-amz-region-set`, payload signing
//! and the signed header names (less the headers that differ by CLI version: invocation ids,
//! checksum mechanics). Both CLIs' signatures are verified with `kagi_sigv4::verify_v4a` and
//! the public key derived from the test credentials; a changed signature, header or path must
//! fail that verification.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use kagi_sigv4::{EcdsaKey, IncomingRequest, PublicKey, VerifyOptions, parse_v4a, verify_v4a};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::common::{Captured, Official, Reply, Sandbox, official_v2, serve_one};

const MRAP: &str = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap";
const MRAP_HOST: &str = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com";
const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

type Log = Arc<Mutex<Vec<Captured>>>;

/// The loopback proxy: returns its URL, the requests and the `CONNECT` targets it received.
fn tls_proxy(respond: fn(&Captured) -> Reply) -> (String, Log, Arc<Mutex<Vec<String>>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mrap-tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let connects: Arc<Mutex<Vec<String>>> = Arc::default();
    let (log2, connects2) = (log.clone(), connects.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The CONNECT head, byte by byte (the TLS handshake follows on the same stream).
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let target = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            connects2.lock().unwrap().push(target);
            if !head.starts_with("CONNECT ")
                || stream
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .is_err()
            {
                continue;
            }
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            serve_one(&mut tls, &respond, &log2);
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (url, log, connects)
}

/// S3 as far as these commands need it.
fn s3(r: &Captured) -> Reply {
    if r.target.contains("list-type=2") {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>mfzwi23gnjvgw.mrap</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>p/k</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"5d41402abc4b2a76b9719d911017c592\"</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>";
        return (
            200,
            vec![("Content-Type".into(), "application/xml".into())],
            xml.into(),
        );
    }
    let etag = (
        "ETag".to_string(),
        "\"5d41402abc4b2a76b9719d911017c592\"".to_string(),
    );
    match r.method.as_str() {
        "PUT" => (200, vec![etag], Vec::new()),
        _ => (
            200,
            vec![
                ("Content-Type".into(), "text/plain".into()),
                (
                    "Last-Modified".into(),
                    "Thu, 01 Jan 2026 00:00:00 GMT".into(),
                ),
                etag,
            ],
            b"hello".to_vec(),
        ),
    }
}

fn sandbox(proxy: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", KEY_ID)
        .set("AWS_SECRET_ACCESS_KEY", SECRET)
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1")
        .set("AWS_PAGER", "")
        .set("HTTPS_PROXY", proxy);
    sb.write(".aws/config", "[default]\n");
    sb.write("body.txt", "hello");
    sb
}

fn run_official(official: &Official, sb: &Sandbox, args: &[&str]) -> std::process::Output {
    official.run(sb, args)
}

/// Signed header names that differ by CLI version, not by SigV4a or the addressing: invocation
/// ids, checksum mechanics (the CLI v2 2.9 sends `Content-MD5` and `UNSIGNED-PAYLOAD`, today's
/// botocore an aws-chunked body with a CRC32 trailer) and `x-amz-checksum-mode`.
fn version_dependent(h: &str) -> bool {
    matches!(
        h,
        "amz-sdk-invocation-id"
            | "amz-sdk-request"
            | "x-amz-checksum-mode"
            | "content-md5"
            | "content-encoding"
            | "content-length"
            | "x-amz-decoded-content-length"
            | "x-amz-trailer"
            | "x-amz-sdk-checksum-algorithm"
    ) || h.starts_with("x-amz-checksum-")
}

/// What must be equal between the two CLIs' requests.
fn shape(r: &Captured) -> String {
    let auth = r.header("authorization").unwrap_or_default();
    let algorithm = auth.split(' ').next().unwrap_or_default();
    let cred = crate::common::credential_without_date(auth);
    let signed: Vec<&str> = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or_default()
        .split(';')
        .filter(|h| !version_dependent(h))
        .collect();
    let payload = match r.header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD" | "STREAMING-UNSIGNED-PAYLOAD-TRAILER") => "unsigned",
        Some(_) => "sha256",
        None => "none",
    };
    format!(
        "{} {} host={:?} {algorithm} cred={cred} region-set={:?} payload={payload} signed={}",
        r.method,
        r.target,
        r.header("host"),
        r.header("x-amz-region-set"),
        signed.join(";")
    )
}

fn public_key() -> PublicKey {
    EcdsaKey::derive(KEY_ID, SECRET).public_key()
}

/// Verifies a captured request's SigV4a signature (header or presigned) with our verifier.
fn verify(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), kagi_sigv4::AuthError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let hash = kagi_sigv4::sha256_hex(body);
    let req = IncomingRequest {
        method,
        path,
        query,
        headers,
        payload_sha256_hex: &hash,
    };
    let info = parse_v4a(&req)?;
    assert_eq!(info.access_key_id, KEY_ID);
    verify_v4a(
        &req,
        &info,
        &public_key(),
        SystemTime::now(),
        &VerifyOptions::default(),
    )
}

/// The request verifies; a changed signature, region set or path does not.
fn assert_verifies(who: &str, r: &Captured) {
    verify(&r.method, &r.target, &r.headers, &r.body)
        .unwrap_or_else(|e| panic!("{who}: {e}\n{}", e.detailed_message()));
    let mut bad = r.headers.clone();
    for (k, v) in bad.iter_mut() {
        if k == "authorization" {
            let last = v.pop().unwrap();
            v.push(if last == '0' { '1' } else { '0' });
        }
    }
    assert!(
        verify(&r.method, &r.target, &bad, &r.body).is_err(),
        "{who}: signature"
    );
    let mut bad = r.headers.clone();
    for (k, v) in bad.iter_mut() {
        if k == "x-amz-region-set" {
            *v = "us-east-1".into();
        }
    }
    assert!(
        verify(&r.method, &r.target, &bad, &r.body).is_err(),
        "{who}: region set"
    );
    let target = format!("/x{}", r.target);
    assert!(
        verify(&r.method, &target, &r.headers, &r.body).is_err(),
        "{who}: path"
    );
}

#[test]
fn mrap_requests_signed_with_sigv4a_as_the_official_cli_v2() {
    let Some(official) = official_v2() else {
        return;
    };
    // `{HOME}` is the sandbox's home (`body.txt` is there).
    let ls = format!("s3://{MRAP}/p/");
    let commands: [&[&str]; 4] = [
        &[
            "s3api",
            "get-object",
            "--bucket",
            MRAP,
            "--key",
            "a b.txt",
            "{HOME}/out",
        ],
        &[
            "s3api",
            "put-object",
            "--bucket",
            MRAP,
            "--key",
            "k",
            "--body",
            "{HOME}/body.txt",
        ],
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            MRAP,
            "--prefix",
            "p/",
        ],
        &["s3", "ls", &ls],
    ];
    for command in &commands {
        let mut shapes = Vec::new();
        for kagi in [false, true] {
            let (proxy, log, connects) = tls_proxy(s3);
            let sb = sandbox(&proxy);
            let home = sb.home().display().to_string();
            let mut args: Vec<String> =
                command.iter().map(|a| a.replace("{HOME}", &home)).collect();
            args.push("--no-verify-ssl".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let who = if kagi { "kagi" } else { "aws v2" };
            if kagi {
                let o = sb.run(&args);
                assert_eq!(o.code, 0, "{who} {args:?}: {}{}", o.stdout, o.stderr);
            } else {
                let o = run_official(&official, &sb, &args);
                assert!(
                    o.status.success(),
                    "{who} {args:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            let reqs = log.lock().unwrap().clone();
            assert!(!reqs.is_empty(), "{who} {args:?}: no request");
            assert!(
                connects
                    .lock()
                    .unwrap()
                    .iter()
                    .all(|c| c == &format!("{MRAP_HOST}:443")),
                "{who}: {:?}",
                connects.lock().unwrap()
            );
            for r in &reqs {
                assert_eq!(r.header("host"), Some(MRAP_HOST), "{who}");
                assert_eq!(r.header("x-amz-region-set"), Some("*"), "{who}");
                assert_verifies(&format!("{who} {args:?}"), r);
            }
            shapes.push(reqs.iter().map(shape).collect::<Vec<_>>());
        }
        assert_eq!(
            shapes[1], shapes[0],
            "kagi (right) and aws v2 (left) differ"
        );
    }
}

/// `s3 presign` of an MRAP object: SigV4a query parameters in the CLI v2's order, both URLs'
/// signatures valid.
#[test]
fn mrap_presigned_urls_as_the_official_cli_v2() {
    let Some(official) = official_v2() else {
        return;
    };
    let sb = sandbox("http://127.0.0.1:9");
    let args = [
        "s3",
        "presign",
        &format!("s3://{MRAP}/a b.txt"),
        "--expires-in",
        "600",
    ];
    let ours = sb.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = run_official(&official, &sb, &args);
    assert!(theirs.status.success());
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();
    // Everything but the date and the signature is the same.
    let normalized = |u: &str| -> String {
        u.trim()
            .split('&')
            .map(|p| match p.split_once('=') {
                Some(("X-Amz-Date" | "X-Amz-Signature", _)) => {
                    p.split('=').next().unwrap().to_string()
                }
                Some(("X-Amz-Credential", v)) => {
                    let v: Vec<&str> = v.split("%2F").collect();
                    format!("X-Amz-Credential={}/{}", v[0], v[2..].join("/"))
                }
                _ => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    assert_eq!(normalized(&ours.stdout), normalized(&theirs));
    assert!(
        theirs.starts_with(&format!(
            "https://{MRAP_HOST}/a%20b.txt?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&"
        )),
        "{theirs}"
    );
    for (who, url) in [("kagi", ours.stdout.trim()), ("aws v2", theirs.trim())] {
        let target = url.strip_prefix(&format!("https://{MRAP_HOST}")).unwrap();
        let headers = vec![("host".to_string(), MRAP_HOST.to_string())];
        verify("GET", target, &headers, b"").unwrap_or_else(|e| panic!("{who}: {e}"));
        let tampered = target.replace("a%20b.txt", "a%20c.txt");
        assert!(verify("GET", &tampered, &headers, b"").is_err(), "{who}");
        let tampered = target.replace("X-Amz-Region-Set=%2A", "X-Amz-Region-Set=us-east-1");
        assert!(verify("GET", &tampered, &headers, b"").is_err(), "{who}");
    }
}

/// `--debug` with temporary credentials: the canonical request and string to sign are shown
/// (SigV4a's scope and region set), the session token, the secret and the signature are not;
/// the request, token included, verifies.
#[test]
fn mrap_debug_output_redacts_and_session_tokens_are_signed() {
    let (proxy, log, _) = tls_proxy(s3);
    let mut sb = sandbox(&proxy);
    sb.set("AWS_SESSION_TOKEN", "SESSION-TOKEN-SECRET");
    let out = sb.home().join("out").display().to_string();
    let o = sb.run(&[
        "s3api",
        "get-object",
        "--bucket",
        MRAP,
        "--key",
        "k",
        &out,
        "--no-verify-ssl",
        "--debug",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let reqs = log.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        r.header("x-amz-security-token"),
        Some("SESSION-TOKEN-SECRET")
    );
    assert!(
        r.header("authorization")
            .unwrap()
            .contains(";x-amz-region-set;x-amz-security-token,"),
        "{:?}",
        r.header("authorization")
    );
    assert_verifies("kagi with a session token", r);
    let signature = r
        .header("authorization")
        .unwrap()
        .rsplit("Signature=")
        .next()
        .unwrap();
    assert!(o.stderr.contains("SigV4a region set *"), "{}", o.stderr);
    assert!(
        o.stderr.contains("\nAWS4-ECDSA-P256-SHA256\n"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("x-amz-region-set:*\n"), "{}", o.stderr);
    assert!(
        o.stderr.contains("x-amz-security-token:<redacted>"),
        "{}",
        o.stderr
    );
    for secret in ["SESSION-TOKEN-SECRET", SECRET, signature] {
        assert!(!o.stderr.contains(secret), "{secret} in {}", o.stderr);
    }
}
