//! The assumed-role cache is the AWS CLI's: a file the AWS CLI wrote is used without calling STS,
//! an expiring one is refreshed, and what kagi writes is used by the official CLI (v1 from PyPI
//! shares the v2 cache code: `~/.aws/cli/cache`, `JSONFileCache`, the same key).
//!
//! A tiny local listener plays STS and records every request (action and signing key).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::Sandbox;

type Log = Arc<Mutex<Vec<(String, String)>>>;
type Bodies = Arc<Mutex<Vec<String>>>;

/// Serves AssumeRole and GetCallerIdentity; returns its URL and the request log.
fn fake_sts() -> (String, Log) {
    let (url, log, _) = fake_sts_with_bodies();
    (url, log)
}

fn fake_sts_with_bodies() -> (String, Log, Bodies) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let l2 = log.clone();
    let bodies: Bodies = Arc::default();
    let b2 = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            let mut akid = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("authorization:")
                    && let Some(i) = line.find("Credential=")
                {
                    akid = line[i + 11..].split('/').next().unwrap_or("").to_string();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8_lossy(&body).to_string();
            let action = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or("")
                .to_string();
            l2.lock().unwrap().push((action.clone(), akid.clone()));
            b2.lock().unwrap().push(body.clone());
            let xml = match action.as_str() {
                "AssumeRole" => {
                    let exp = kagi_api::Timestamp::from_system_time(
                        std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
                    )
                    .to_iso_z();
                    format!(
                        r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAFRESH</AccessKeyId><SecretAccessKey>freshsecret</SecretAccessKey><SessionToken>freshtoken</SessionToken><Expiration>{exp}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:botocore-session-1</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/Admin/botocore-session-1</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></AssumeRoleResponse>"#
                    )
                }
                _ => format!(
                    r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/Admin/{akid}</Arn><UserId>AROAEXAMPLE:{akid}</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
                ),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    (url, log, bodies)
}

const ROLE: &str = "arn:aws:iam::123456789012:role/Admin";
/// The AWS CLI's cache file for `{"RoleArn": ROLE}` (aws-cli-facts §2).
const CACHE_FILE: &str = ".aws/cli/cache/51e7b105b5040ce662656c8dc6ab4de70c4de7ad.json";

fn sandbox(url: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", url)
        .set("AWS_DEFAULT_REGION", "us-east-1");
    sb.write(
        ".aws/config",
        &format!("[profile role]\nrole_arn = {ROLE}\nsource_profile = src\n"),
    );
    sb.write(
        ".aws/credentials",
        "[src]\naws_access_key_id = AKIASOURCE\naws_secret_access_key = sourcesecret\n",
    );
    sb
}

/// `%Y-%m-%dT%H:%M:%S%Z` as botocore's JSONFileCache writes it.
fn aws_cli_time(secs_from_now: u64) -> String {
    let t = kagi_api::Timestamp::from_system_time(
        std::time::SystemTime::now() + std::time::Duration::from_secs(secs_from_now),
    );
    let t = kagi_api::Timestamp {
        secs: t.secs,
        micros: 0,
    };
    format!("{}UTC", t.to_value_string().trim_end_matches("+00:00"))
}

fn aws_cli_entry(akid: &str, secs_from_now: u64) -> String {
    // json.dumps(response) of the AWS CLI: default separators, response order.
    format!(
        r#"{{"Credentials": {{"AccessKeyId": "{akid}", "SecretAccessKey": "cachedsecret", "SessionToken": "cachedtoken", "Expiration": "{}"}}, "AssumedRoleUser": {{"AssumedRoleId": "AROAEXAMPLE:botocore-session-1", "Arn": "arn:aws:sts::123456789012:assumed-role/Admin/botocore-session-1"}}, "ResponseMetadata": {{"RequestId": "r", "HTTPStatusCode": 200, "HTTPHeaders": {{}}, "RetryAttempts": 0}}}}"#,
        aws_cli_time(secs_from_now)
    )
}

#[test]
fn uses_a_session_the_aws_cli_cached() {
    let (url, log) = fake_sts();
    let sb = sandbox(&url);
    sb.write(CACHE_FILE, &aws_cli_entry("ASIACACHED", 3600));
    let o = sb.run(&["sts", "get-caller-identity", "--profile", "role"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        *log.lock().unwrap(),
        [("GetCallerIdentity".to_string(), "ASIACACHED".to_string())]
    );
}

#[test]
fn refreshes_within_900_seconds_of_expiry_and_writes_the_aws_cli_format() {
    let (url, log) = fake_sts();
    let sb = sandbox(&url);
    sb.write(CACHE_FILE, &aws_cli_entry("ASIASTALE", 600));
    let o = sb.run(&["sts", "get-caller-identity", "--profile", "role"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        *log.lock().unwrap(),
        [
            ("AssumeRole".to_string(), "AKIASOURCE".to_string()),
            ("GetCallerIdentity".to_string(), "ASIAFRESH".to_string())
        ]
    );
    let written: Value = serde_json::from_str(&sb.read(CACHE_FILE)).unwrap();
    let c = &written["Credentials"];
    assert_eq!(
        (
            c["AccessKeyId"].clone(),
            c["SecretAccessKey"].clone(),
            c["SessionToken"].clone()
        ),
        (
            json!("ASIAFRESH"),
            json!("freshsecret"),
            json!("freshtoken")
        )
    );
    let exp = c["Expiration"].as_str().unwrap();
    assert!(
        exp.ends_with("UTC") && exp.len() == "2026-01-01T12:00:00UTC".len(),
        "{exp}"
    );
    assert_eq!(
        written["AssumedRoleUser"]["Arn"],
        "arn:aws:sts::123456789012:assumed-role/Admin/botocore-session-1"
    );
    assert!(written["ResponseMetadata"].is_object());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sb.home().join(CACHE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The refreshed session is reused: no second AssumeRole.
    log.lock().unwrap().clear();
    assert_eq!(
        sb.run(&["sts", "get-caller-identity", "--profile", "role"])
            .code,
        0
    );
    assert_eq!(
        *log.lock().unwrap(),
        [("GetCallerIdentity".to_string(), "ASIAFRESH".to_string())]
    );

    // The official CLI reads kagi's cache entry and does not call AssumeRole either.
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        crate::common::skip_or_fail("KAGI_COMPAT_VENV (the official aws CLI)");
        return;
    };
    log.lock().unwrap().clear();
    let out = std::process::Command::new(std::path::Path::new(&venv).join("bin/aws"))
        .args(["sts", "get-caller-identity", "--profile", "role"])
        .env_clear()
        .env("HOME", sb.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        *log.lock().unwrap(),
        [("GetCallerIdentity".to_string(), "ASIAFRESH".to_string())]
    );
}

#[test]
fn official_cli_cache_file_name_matches() {
    // The official CLI computes the same file name for a configured set of arguments.
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        crate::common::skip_or_fail("KAGI_COMPAT_VENV (python with the official aws CLI)");
        return;
    };
    let args = json!({"RoleArn": ROLE, "RoleSessionName": "mine", "DurationSeconds": 1800, "ExternalId": "ext-é", "SerialNumber": "arn:aws:iam::123456789012:mfa/u"});
    let py = "import json,sys,hashlib;a=json.loads(sys.argv[1]);print(hashlib.sha1(json.dumps(a,sort_keys=True).encode('utf-8')).hexdigest().replace(':','_').replace('/','_'))";
    let out = std::process::Command::new(std::path::Path::new(&venv).join("bin/python"))
        .args(["-c", py, &args.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        kagi_cli::creds::cache_key(&args)
    );
}

#[test]
fn mfa_prompt_and_assume_role_arguments() {
    let (url, log, bodies) = fake_sts_with_bodies();
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &url)
        .set("AWS_DEFAULT_REGION", "us-east-1");
    sb.write(
        ".aws/config",
        &format!("[profile role]\nrole_arn = {ROLE}\nsource_profile = role\naws_access_key_id = AKIASELF\naws_secret_access_key = s\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nrole_session_name = mine\nduration_seconds = 1800\nexternal_id = ext\n"),
    );
    let o = sb.run_with_stdin(
        &["sts", "get-caller-identity", "--profile", "role"],
        "123456\n",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "Enter MFA code for arn:aws:iam::123456789012:mfa/me: "
    );
    // A profile naming itself as source_profile with its own keys is the usual pattern.
    assert_eq!(
        log.lock().unwrap()[0],
        ("AssumeRole".to_string(), "AKIASELF".to_string())
    );
    let body = bodies.lock().unwrap()[0].clone();
    for part in [
        "RoleSessionName=mine",
        "DurationSeconds=1800",
        "ExternalId=ext",
        "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fme",
        "TokenCode=123456",
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    let key = kagi_cli::creds::cache_key(
        &json!({"RoleArn": ROLE, "RoleSessionName": "mine", "DurationSeconds": 1800, "ExternalId": "ext", "SerialNumber": "arn:aws:iam::123456789012:mfa/me"}),
    );
    assert!(
        sb.home()
            .join(format!(".aws/cli/cache/{key}.json"))
            .exists()
    );
    // Cached: no prompt, no AssumeRole.
    log.lock().unwrap().clear();
    let o = sb.run(&["sts", "get-caller-identity", "--profile", "role"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[test]
fn debug_shows_routing_and_canonical_request_but_no_secret() {
    let (url, _log) = fake_sts();
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &url)
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ACCESS_KEY_ID", "ASIADEBUG")
        .set("AWS_SECRET_ACCESS_KEY", "topsecretkey")
        .set("AWS_SESSION_TOKEN", "topsecrettoken");
    let o = sb.run(&["sts", "get-caller-identity", "--debug"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains(&format!("sts.GetCallerIdentity -> POST {url}")),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("CanonicalRequest:\nPOST\n/\n"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("x-amz-security-token:<redacted>"),
        "{}",
        o.stderr
    );
    assert!(
        !o.stderr.contains("topsecretkey") && !o.stderr.contains("topsecrettoken"),
        "{}",
        o.stderr
    );
}

/// A server that always answers `status` with `body`; returns its URL and a request counter.
pub(crate) fn always(status: u16, body: &'static str) -> (String, Arc<Mutex<u32>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0));
    let c2 = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut b = vec![0; len];
            let _ = reader.read_exact(&mut b);
            *c2.lock().unwrap() += 1;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, count)
}

#[test]
fn retryable_errors_are_retried_and_said_so() {
    let (url, count) = always(
        400,
        r#"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"#,
    );
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &url)
        .set("AWS_ACCESS_KEY_ID", "AKIA")
        .set("AWS_SECRET_ACCESS_KEY", "s")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let o = sb.run(&["sts", "get-caller-identity"]);
    assert_eq!(o.code, 254);
    assert_eq!(
        o.stderr,
        "\nAn error occurred (Throttling) when calling the GetCallerIdentity operation (reached max retries: 2): Rate exceeded\n"
    );
    assert_eq!(*count.lock().unwrap(), 3);
    // A non-retryable error is sent once; an unmodelled body gives the HTTP status as the code.
    let (url, count) = always(403, "forbidden");
    sb.set("AWS_ENDPOINT_URL", &url);
    let o = sb.run(&["sts", "get-caller-identity"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            254,
            "\nAn error occurred (403) when calling the GetCallerIdentity operation: Forbidden\n"
        )
    );
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn credential_source_environment_and_chained_roles() {
    let (url, log) = fake_sts();
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &url)
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ACCESS_KEY_ID", "AKIAFROMENV")
        .set("AWS_SECRET_ACCESS_KEY", "envsecret");
    sb.write(
        ".aws/config",
        &format!(
            "[profile envrole]\nrole_arn = {ROLE}\ncredential_source = Environment\n\
             [profile hop1]\nrole_arn = arn:aws:iam::123456789012:role/One\nsource_profile = base\n\
             [profile hop2]\nrole_arn = arn:aws:iam::123456789012:role/Two\nsource_profile = hop1\n\
             [profile base]\naws_access_key_id = AKIABASE\naws_secret_access_key = basesecret\n"
        ),
    );
    let o = sb.run(&["sts", "get-caller-identity", "--profile", "envrole"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        log.lock().unwrap()[0],
        ("AssumeRole".to_string(), "AKIAFROMENV".to_string())
    );
    // Two hops: base keys assume One, One's session assumes Two; each hop is cached.
    log.lock().unwrap().clear();
    let o = sb.run(&["sts", "get-caller-identity", "--profile", "hop2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let calls: Vec<(String, String)> = log.lock().unwrap().clone();
    assert_eq!(calls[0], ("AssumeRole".to_string(), "AKIABASE".to_string()));
    assert_eq!(
        calls[1],
        ("AssumeRole".to_string(), "ASIAFRESH".to_string())
    );
    assert_eq!(calls[2].0, "GetCallerIdentity");
    assert_eq!(calls.len(), 3);
}
