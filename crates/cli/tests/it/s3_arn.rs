//! S3 access points and directory buckets, differentially: kagi and the official CLI v1 (the
//! pinned botocore) on the same commands.
//!
//! * Access point ARNs: the hosts (`NAME-ACCOUNT.` before a configured endpoint's authority;
//!   no such host resolves, so both CLIs print the URL they tried in `Could not connect to
//!   the endpoint URL`), the configuration errors (region mismatch with `use_arn_region =
//!   false`, path style forced, an ARN of another service, a bad region label) and the `s3`
//!   commands' access point paths and refusals (Object Lambda).
//! * S3 Express One Zone: against a local server playing S3 Express (`CreateSession`, then
//!   the object call), the requests both CLIs send: targets, the session token header, the
//!   signing scope and signed headers.

use crate::common::{Captured, Sandbox, capture_server, differences, official_v1};

const AP: &str = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap";

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1")
        .set("AWS_PAGER", "");
    sb.write(
        ".aws/config",
        "[default]\n[profile pathstyle]\ns3 =\n  addressing_style = path\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n[profile pinned]\ns3_use_arn_region = false\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n",
    );
    sb
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn access_point_arns_as_the_official_cli() {
    let Some(official) = official_v1() else {
        return;
    };
    let sb = sandbox();
    let out = sb.home().join("out");
    let out = out.to_str().unwrap();
    // Nothing listens on port 9 of a name that does not resolve either.
    let e = "http://127.0.0.1:9";
    let commands = vec![
        args(&[
            "s3api",
            "get-object",
            "--bucket",
            AP,
            "--key",
            "a b.txt",
            out,
            "--endpoint-url",
            e,
        ]),
        args(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            AP,
            "--prefix",
            "p/",
            "--endpoint-url",
            e,
        ]),
        args(&[
            "s3api",
            "get-object",
            "--bucket",
            AP,
            "--key",
            "k",
            out,
            "--profile",
            "pinned",
        ]),
        args(&[
            "s3api",
            "get-object",
            "--bucket",
            AP,
            "--key",
            "k",
            out,
            "--profile",
            "pathstyle",
        ]),
        args(&[
            "s3api",
            "get-object",
            "--bucket",
            "arn:aws:not-s3:us-west-2:123456789012:accesspoint/myap",
            "--key",
            "k",
            out,
        ]),
        args(&[
            "s3api",
            "head-object",
            "--bucket",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/my.ap",
            "--key",
            "k",
        ]),
        args(&[
            "s3api",
            "get-object",
            "--bucket",
            "arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/ol",
            "--key",
            "k",
            out,
            "--endpoint-url",
            e,
        ]),
        args(&["s3", "ls", &format!("s3://{AP}/p/"), "--endpoint-url", e]),
        args(&[
            "s3",
            "cp",
            &format!("s3://{AP}/a/b.txt"),
            "-",
            "--endpoint-url",
            e,
        ]),
        args(&[
            "s3",
            "cp",
            "s3://arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/ol/k",
            "-",
        ]),
    ];
    let diffs = differences(&sb, &official, &commands, &|e| e.to_string());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The local S3 Express: `CreateSession` answers session credentials, anything else `hello`.
fn express_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Captured>>>) {
    capture_server(|r| {
        if r.target.ends_with("?session") {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateSessionResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Credentials><SessionToken>TOKEN-1</SessionToken><SecretAccessKey>session-secret</SecretAccessKey><AccessKeyId>ASIASESSION</AccessKeyId><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></CreateSessionResult>";
            (
                200,
                vec![("Content-Type".into(), "application/xml".into())],
                xml.into(),
            )
        } else if r.target == "/" || r.target.starts_with("/?") {
            let xml = "<ListAllMyDirectoryBucketsResult><Buckets><Bucket><Name>mybucket--usw2-az1--x-s3</Name><BucketRegion>us-west-2</BucketRegion></Bucket></Buckets></ListAllMyDirectoryBucketsResult>";
            (
                200,
                vec![("Content-Type".into(), "application/xml".into())],
                xml.into(),
            )
        } else {
            (
                200,
                vec![("Content-Type".into(), "text/plain".into())],
                b"hello".to_vec(),
            )
        }
    })
}

/// What must be equal between two CLIs' requests: method, target, the session token, the
/// credential scope (and key) and the signed header names.
fn shape(r: &Captured) -> String {
    let auth = r.header("authorization").unwrap_or_default();
    let cred = crate::common::credential_without_date(auth);
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or_default();
    // The user agent, invocation id and checksum-mode headers differ by CLI, not by design
    // of the addressing; the rest must match.
    let signed: Vec<&str> = signed
        .split(';')
        .filter(|h| {
            !matches!(
                *h,
                "x-amz-checksum-mode" | "amz-sdk-invocation-id" | "amz-sdk-request"
            )
        })
        .collect();
    format!(
        "{} {} body={}B token={:?} security-token={:?} cred={cred} signed={}",
        r.method,
        r.target,
        r.body.len(),
        r.header("x-amz-s3session-token"),
        r.header("x-amz-security-token"),
        signed.join(";")
    )
}

#[test]
fn s3_express_requests_as_the_official_cli() {
    let Some(official) = official_v1() else {
        return;
    };
    let sb = sandbox();
    let bucket = "mybucket--usw2-az1--x-s3";
    let run = |kagi: bool, cmd: &[&str]| {
        let (url, log) = express_server();
        let mut a: Vec<&str> = cmd.to_vec();
        a.extend(["--endpoint-url", url.as_str(), "--region", "us-west-2"]);
        if kagi {
            let o = sb.run(&a);
            assert_eq!(
                o.code,
                0,
                "{}{}\n{:?}",
                o.stdout,
                o.stderr,
                log.lock().unwrap()
            );
        } else {
            let o = official.run(&sb, &a);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let log = log.lock().unwrap();
        // Requests signed with the session verify with its secret (S3's canonical path: the
        // key `a b.txt` is not encoded twice).
        for r in log
            .iter()
            .filter(|r| r.header("x-amz-s3session-token").is_some())
        {
            let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
            let hash = kagi_sigv4::sha256_hex(&r.body);
            let req = kagi_sigv4::IncomingRequest {
                method: &r.method,
                path,
                query,
                headers: &r.headers,
                payload_sha256_hex: &hash,
            };
            let info = kagi_sigv4::parse(&req).unwrap();
            assert_eq!(info.access_key_id, "ASIASESSION");
            kagi_sigv4::verify(&req, &info, "session-secret", std::time::SystemTime::now())
                .unwrap_or_else(|e| panic!("kagi: {kagi} {} {}: {e:?}", r.method, r.target));
        }
        log.iter().map(shape).collect::<Vec<String>>()
    };
    let out = sb.home().join("obj");
    let out = out.to_str().unwrap();
    for cmd in [
        vec![
            "s3api",
            "get-object",
            "--bucket",
            bucket,
            "--key",
            "a b.txt",
            out,
        ],
        vec!["s3api", "list-directory-buckets"],
        vec!["s3api", "get-bucket-policy", "--bucket", bucket],
        vec!["s3", "cp", &format!("s3://{bucket}/k"), "-"],
    ] {
        let theirs = run(false, &cmd);
        let ours = run(true, &cmd);
        assert!(!theirs.is_empty(), "{cmd:?}: the official CLI sent nothing");
        assert_eq!(ours, theirs, "{cmd:?}");
    }
    // The session is made once and reused: two object calls, one CreateSession.
    let (url, log) = express_server();
    let o = sb.run(&[
        "s3",
        "cp",
        &format!("s3://{bucket}/k"),
        "-",
        "--endpoint-url",
        &url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let reqs = log.lock().unwrap();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.target.ends_with("?session"))
            .count(),
        1
    );
    assert!(
        reqs.iter()
            .any(|r| r.header("x-amz-s3session-token") == Some("TOKEN-1"))
    );
}

/// `s3 presign` of an access point object: the official CLI v1's URL (host and path; v1
/// presigns with SigV2, kagi with SigV4 as CLI v2), signed for the ARN's region.
#[test]
fn presigned_access_point_urls_as_the_official_cli() {
    let Some(official) = official_v1() else {
        return;
    };
    let sb = sandbox();
    let args = ["s3", "presign", &format!("s3://{AP}/a b.txt")];
    let ours = sb.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = official.run(&sb, args);
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();
    let base = |u: &str| u.trim().split('?').next().unwrap_or_default().to_string();
    assert_eq!(
        base(&theirs),
        "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/a%20b.txt"
    );
    assert_eq!(base(&ours.stdout), base(&theirs));
    assert!(
        ours.stdout.contains("%2Fus-west-2%2Fs3%2Faws4_request&"),
        "{}",
        ours.stdout
    );
}

/// `s3 presign` of an object in a directory bucket: one `CreateSession`, then a URL signed with
/// the session's credentials, their token in `X-Amz-S3session-Token` (botocore's
/// `S3ExpressQueryAuth`). The official CLI v1's URL and kagi's are equal but for the date and
/// signature, and both verify with the session's secret (S3's canonical path: a key that
/// double encoding would change).
#[test]
fn presigned_directory_bucket_urls_as_the_official_cli() {
    let Some(official) = official_v1() else {
        return;
    };
    let sb = sandbox();
    let (url, log) = express_server();
    let args = [
        "s3",
        "presign",
        "s3://mybucket--usw2-az1--x-s3/a b+c~=.txt",
        "--endpoint-url",
        url.as_str(),
        "--region",
        "us-west-2",
        "--expires-in",
        "600",
    ];
    let ours = sb.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = official.run(&sb, args);
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let theirs = String::from_utf8_lossy(&theirs.stdout).trim().to_string();
    let ours = ours.stdout.trim().to_string();
    // Each CLI made one session.
    let sessions = log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target.ends_with("?session"))
        .count();
    assert_eq!(sessions, 2);
    let masked = |u: &str| -> String {
        u.split('&')
            .map(|p| match p.split_once('=') {
                Some(("X-Amz-Date" | "X-Amz-Signature", _)) => {
                    format!("{}=*", p.split('=').next().unwrap())
                }
                _ if p.contains("X-Amz-Credential=") => {
                    // ASIASESSION/DATE/us-west-2/s3express/aws4_request: the date masked.
                    let (head, cred) = p.split_once("X-Amz-Credential=").unwrap();
                    let parts: Vec<&str> = cred.split("%2F").collect();
                    format!(
                        "{head}X-Amz-Credential={}%2F*%2F{}",
                        parts[0],
                        parts[2..].join("%2F")
                    )
                }
                _ => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    assert_eq!(masked(&ours), masked(&theirs));
    assert!(ours.contains("X-Amz-S3session-Token=TOKEN-1&"), "{ours}");
    assert!(
        ours.contains("%2Fus-west-2%2Fs3express%2Faws4_request&"),
        "{ours}"
    );
    for u in [&ours, &theirs] {
        let rest = u.split_once("://").unwrap().1;
        let (host, target) = rest.split_at(rest.find('/').unwrap());
        let (path, query) = target.split_once('?').unwrap();
        let headers = vec![("host".to_string(), host.to_string())];
        let req = kagi_sigv4::IncomingRequest {
            method: "GET",
            path,
            query,
            headers: &headers,
            payload_sha256_hex: &kagi_sigv4::sha256_hex(b""),
        };
        let info = kagi_sigv4::parse(&req).unwrap();
        assert_eq!(info.access_key_id, "ASIASESSION");
        let now = std::time::SystemTime::now();
        kagi_sigv4::verify(&req, &info, "session-secret", now)
            .unwrap_or_else(|e| panic!("{u}: {e:?}"));
        assert!(kagi_sigv4::verify(&req, &info, "another-secret", now).is_err());
    }
}
