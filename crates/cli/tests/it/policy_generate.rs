//! `kagi policy generate`: CloudTrail records in, the least-privilege policy out. The events
//! come from a CloudTrail `LookupEvents` endpoint on loopback inside the test (fixed records,
//! shaped as AWS's, paged as AWS pages them) and from files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::Sandbox;

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/ECRLoginAndPushRole";
const USER: &str = "arn:aws:iam::123456789012:user/user-for-switch";

/// A record of the role's session `s1`, shaped as CloudTrail's AssumedRole example.
fn role_record(event: &str, repo: Option<&str>, time: &str) -> Value {
    let mut r = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAIDPPEZS35WEXAMPLE:s1",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/ECRLoginAndPushRole/s1"),
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAIDPPEZS35WEXAMPLE",
                                  "arn": ROLE, "accountId": ACCOUNT, "userName": "ECRLoginAndPushRole"},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-12-07T09:00:00Z", "mfaAuthenticated": "false"}
            }
        },
        "eventTime": time,
        "eventSource": if event == "GetCallerIdentity" { "sts.amazonaws.com" } else { "ecr.amazonaws.com" },
        "eventName": event,
        "awsRegion": "ap-northeast-1",
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "skopeo/1.13",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "cf044b7d-5f9d-11e9-9b2a-95983139cc57",
        "eventID": format!("2bfd4ee2-2178-4a82-a27d-{event:0>12}"),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"
    });
    if let Some(repo) = repo {
        r["requestParameters"] = json!({"repositoryName": repo, "registryId": ACCOUNT});
        r["resources"] = json!([{
            "ARN": format!("arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/{repo}"),
            "accountId": ACCOUNT,
            "type": "AWS::ECR::Repository"
        }]);
    }
    r
}

/// The seed story's records, newest first: the role logs in and pushes to `test-repos`, is
/// denied a push to another repository; the user switches role (another principal).
fn seed_records() -> Vec<Value> {
    let mut denied = role_record(
        "InitiateLayerUpload",
        Some("other-repos"),
        "2026-12-07T10:09:00Z",
    );
    denied["errorCode"] = json!("AccessDeniedException");
    denied["errorMessage"] = json!(
        "User: arn:aws:sts::123456789012:assumed-role/ECRLoginAndPushRole/s1 is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:ap-northeast-1:123456789012:repository/other-repos because no identity-based policy allows the ecr:InitiateLayerUpload action"
    );
    let mut out = vec![denied];
    for (i, e) in [
        "PutImage",
        "CompleteLayerUpload",
        "UploadLayerPart",
        "InitiateLayerUpload",
        "BatchCheckLayerAvailability",
    ]
    .iter()
    .enumerate()
    {
        out.push(role_record(
            e,
            Some("test-repos"),
            &format!("2026-12-07T10:0{}:00Z", 8 - i),
        ));
    }
    out.push(role_record(
        "GetAuthorizationToken",
        None,
        "2026-12-07T10:02:00Z",
    ));
    out.push(role_record(
        "GetCallerIdentity",
        None,
        "2026-12-07T10:01:00Z",
    ));
    out.push(json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE", "arn": USER,
                         "accountId": ACCOUNT, "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "user-for-switch"},
        "eventTime": "2026-12-07T10:00:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "awsRegion": "us-east-1",
        "requestParameters": {"roleArn": ROLE, "roleSessionName": "s1"},
        "recipientAccountId": ACCOUNT
    }));
    out
}

/// A CloudTrail endpoint answering `LookupEvents` with `records` in pages of `page` events,
/// recording each request's body.
struct Trail {
    url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

fn trail(records: Vec<Value>, page: usize) -> Trail {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut conn = conn;
            // One request after another on the connection (keep-alive).
            loop {
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    headers.push(line.trim_end().to_ascii_lowercase());
                }
                if headers.is_empty() {
                    break;
                }
                let header = |name: &str| {
                    headers
                        .iter()
                        .find_map(|h| h.strip_prefix(&format!("{name}: ")).map(str::to_string))
                };
                let len: usize = header("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let target = header("x-amz-target").unwrap_or_default();
                let auth = header("authorization").unwrap_or_default();
                let (status, answer) = if target
                    != "com.amazonaws.cloudtrail.v20131101.cloudtrail_20131101.lookupevents"
                    || !auth.starts_with("aws4-hmac-sha256 credential=akidtest/")
                    || !auth.contains("/us-east-1/cloudtrail/aws4_request")
                {
                    (
                        400,
                        json!({"__type": "InvalidRequest", "message": format!("{target} {auth}")}),
                    )
                } else {
                    seen.lock().unwrap().push(input.clone());
                    let n: usize = input["NextToken"]
                        .as_str()
                        .and_then(|t| t.strip_prefix("page-"))
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let events: Vec<Value> = records
                        .iter()
                        .skip(n * page)
                        .take(page)
                        .map(|r| {
                            json!({
                                "EventId": r["eventID"],
                                "EventName": r["eventName"],
                                "ReadOnly": "false",
                                "EventTime": 1_796_637_600,
                                "EventSource": r["eventSource"],
                                "Resources": [],
                                "CloudTrailEvent": r.to_string()
                            })
                        })
                        .collect();
                    let mut out = json!({ "Events": events });
                    if (n + 1) * page < records.len() {
                        out["NextToken"] = json!(format!("page-{}", n + 1));
                    }
                    (200, out)
                };
                let body = answer.to_string();
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 0d0a1b2c-0000-0000-0000-000000000000\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
        }
    });
    Trail { url, requests }
}

fn sandbox() -> Sandbox {
    let mut s = Sandbox::new();
    s.set("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    s
}

const SCOPED: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EcrUsed",
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken"
            ],
            "Resource": "*"
        },
        {
            "Sid": "EcrUsed2",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart"
            ],
            "Resource": "arn:aws:ecr:ap-northeast-1:123456789012:repository/test-repos"
        }
    ]
}
"#;

#[test]
fn generate_reads_every_page_of_lookup_events_and_keeps_the_principals_calls() {
    let t = trail(seed_records(), 4);
    let s = sandbox();
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--start-time",
        "2026-12-07T00:00:00Z",
        "--end-time",
        "2026-12-07T23:59:59Z",
        "--resource-level",
        "--endpoint-url",
        &t.url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, SCOPED);
    assert_eq!(
        o.stderr,
        "Denied in the recording (not allowed; --include-denied adds them): ecr:InitiateLayerUpload\n"
    );
    // Nine records in pages of four: three calls, the window and 50 a page.
    let reqs = t.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_eq!(
        reqs[0],
        json!({"StartTime": 1_796_601_600, "EndTime": 1_796_687_999, "MaxResults": 50})
    );
    assert_eq!(reqs[1]["NextToken"], "page-1");
    assert_eq!(reqs[2]["NextToken"], "page-2");

    // --include-denied: the other repository, in a statement of its own.
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--resource-level",
        "--include-denied",
        "--endpoint-url",
        &t.url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let p: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        p["Statement"][2],
        json!({"Sid": "EcrDeniedInRecording", "Effect": "Allow",
               "Action": ["ecr:InitiateLayerUpload"],
               "Resource": "arn:aws:ecr:ap-northeast-1:123456789012:repository/other-repos"})
    );
    // No window: no StartTime/EndTime.
    let reqs = t.requests.lock().unwrap().clone();
    assert_eq!(reqs[3], json!({"MaxResults": 50}));

    // --since: the window starts that long ago and runs to now (no EndTime).
    let before = t.requests.lock().unwrap().len();
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--since",
        "1d",
        "--endpoint-url",
        &t.url,
    ]);
    // The fixed records are from 2026-12-07: outside the window on another day, but read.
    assert!(o.code == 0 || o.code == 255, "{}", o.stderr);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let first = t.requests.lock().unwrap()[before].clone();
    assert_eq!(first.as_object().unwrap().len(), 2, "{first}");
    let since = first["StartTime"].as_i64().unwrap();
    assert!((now - 86_400 - since).abs() < 120, "{since} vs {now}");

    // A service error is the AWS CLI's, naming LookupEvents (the endpoint refuses other keys).
    let mut other = sandbox();
    other.set("AWS_ACCESS_KEY_ID", "AKIDOTHER");
    let o = other.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--endpoint-url",
        &t.url,
    ]);
    assert_eq!(o.code, 254, "{}", o.stderr);
    assert!(
        o.stderr.starts_with(
            "\nAn error occurred (InvalidRequest) when calling the LookupEvents operation"
        ),
        "{}",
        o.stderr
    );
    assert!(o.stdout.is_empty());

    // The user: its switch role only.
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        USER,
        "--endpoint-url",
        &t.url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let p: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        p["Statement"],
        json!([{"Sid": "StsUsed", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"}])
    );
}

#[test]
fn generate_from_files_and_its_errors() {
    let s = sandbox();
    let log = json!({ "Records": seed_records() }).to_string();
    let path = s.write("trail.json", &log);
    let path = path.to_str().unwrap();
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--from-file",
        path,
        "--resource-level",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, SCOPED);
    // JSON lines, and a window that leaves out everything but the login.
    let lines: String = seed_records().iter().map(|r| format!("{r}\n")).collect();
    let path = s.write("audit.jsonl", &lines);
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        ROLE,
        "--from-file",
        path.to_str().unwrap(),
        "--start-time",
        "2026-12-07T10:02:00Z",
        "--end-time",
        "2026-12-07T10:02:30Z",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let p: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        p["Statement"][0]["Action"],
        json!(["ecr:GetAuthorizationToken"])
    );

    // Nothing recorded for this principal: an error, not an empty policy.
    let o = s.run(&[
        "policy",
        "generate",
        "--principal",
        "arn:aws:iam::123456789012:user/nobody",
        "--from-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 255);
    assert!(
        o.stderr
            .contains("No successful call by arn:aws:iam::123456789012:user/nobody was recorded"),
        "{}",
        o.stderr
    );
    assert!(o.stdout.is_empty());
    // Bad arguments are parameter errors.
    for args in [
        &[
            "policy",
            "generate",
            "--principal",
            "arn:aws:s3:::bucket",
            "--from-file",
            "x",
        ][..],
        &[
            "policy",
            "generate",
            "--principal",
            ROLE,
            "--since",
            "3 days",
        ],
        &[
            "policy",
            "generate",
            "--principal",
            ROLE,
            "--since",
            "1d",
            "--start-time",
            "2026-12-01T00:00:00Z",
        ],
        &[
            "policy",
            "generate",
            "--principal",
            ROLE,
            "--start-time",
            "yesterday",
        ],
        &["policy", "generate", "--resource-level"],
    ] {
        let o = s.run(args);
        assert_eq!(o.code, 252, "{args:?}: {}", o.stderr);
    }
    let o = s.run(&["policy", "generate", "help"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("--include-denied"));
}
