//! `logs start-live-tail` (print-only) against a local server that answers `StartLiveTail`
//! with a real event stream: frames built here by an encoder of the test's own (bitwise
//! CRC32, not kagi's), which kagi must decode. AWS CLI v2 2.9 (Debian's) predates the
//! command, so the expectations are those of v2's `startlivetail.py`: each log event's
//! `message` on its own line; an exception event's error printed after them, exit 0.

use crate::common::{Sandbox, capture_server};

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn frame(headers: &[(&str, &str)], payload: &str) -> Vec<u8> {
    let mut h = Vec::new();
    for (k, v) in headers {
        h.push(k.len() as u8);
        h.extend_from_slice(k.as_bytes());
        h.push(7);
        h.extend_from_slice(&(v.len() as u16).to_be_bytes());
        h.extend_from_slice(v.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut m = Vec::new();
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let c = crc32(&m);
    m.extend_from_slice(&c.to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload.as_bytes());
    let c = crc32(&m);
    m.extend_from_slice(&c.to_be_bytes());
    m
}

fn event(kind: &str, payload: &str) -> Vec<u8> {
    frame(
        &[
            (":message-type", "event"),
            (":event-type", kind),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    sb
}

const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:app";

#[test]
fn prints_the_streamed_events_then_the_stream_error() {
    let stream = [
        event("sessionStart", r#"{"requestId":"r","sessionId":"s","logGroupIdentifiers":["app"]}"#),
        event(
            "sessionUpdate",
            r#"{"sessionMetadata":{"sampled":false},"sessionResults":[{"logStreamName":"s1","logGroupIdentifier":"app","message":"first line","timestamp":1,"ingestionTime":2},{"logStreamName":"s1","logGroupIdentifier":"app","message":"{\"level\":\"INFO\"}","timestamp":3,"ingestionTime":4}]}"#,
        ),
        event("sessionUpdate", r#"{"sessionMetadata":{"sampled":false},"sessionResults":[]}"#),
        event(
            "sessionUpdate",
            r#"{"sessionMetadata":{"sampled":true},"sessionResults":[{"message":"third"}]}"#,
        ),
        frame(
            &[
                (":message-type", "exception"),
                (":exception-type", "SessionTimeoutException"),
                (":content-type", "application/json"),
            ],
            r#"{"message":"Session timed out after 3 hours"}"#,
        ),
    ]
    .concat();
    let (url, log) = capture_server(move |_| {
        (
            200,
            vec![(
                "Content-Type".into(),
                "application/vnd.amazon.eventstream".into(),
            )],
            stream.clone(),
        )
    });
    let sb = sandbox();
    let o = sb.run(&[
        "logs",
        "start-live-tail",
        "--log-group-identifiers",
        GROUP,
        "--log-event-filter-pattern",
        "ERROR",
        "--endpoint-url",
        &url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "first line\n{\"level\":\"INFO\"}\nthird\nAn error occurred (SessionTimeoutException) when calling the StartLiveTail operation: Session timed out after 3 hours\n"
    );
    let reqs = log.lock().unwrap();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/"));
    assert_eq!(
        r.header("x-amz-target"),
        Some("Logs_20140328.StartLiveTail")
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"logGroupIdentifiers": [GROUP], "logEventFilterPattern": "ERROR"})
    );
    assert!(
        r.header("authorization")
            .is_some_and(|a| a.contains("/us-east-1/logs/aws4_request")),
        "{r:?}"
    );
}

#[test]
fn a_corrupted_frame_and_http_errors() {
    let mut bad = event(
        "sessionUpdate",
        r#"{"sessionMetadata":{"sampled":false},"sessionResults":[{"message":"x"}]}"#,
    );
    let n = bad.len();
    bad[n - 6] ^= 0x20;
    let good = event(
        "sessionUpdate",
        r#"{"sessionMetadata":{"sampled":false},"sessionResults":[{"message":"before"}]}"#,
    );
    let body = [good, bad].concat();
    let (url, _) = capture_server(move |_| (200, vec![], body.clone()));
    let sb = sandbox();
    let o = sb.run(&[
        "logs",
        "start-live-tail",
        "--log-group-identifiers",
        GROUP,
        "--endpoint-url",
        &url,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "before");
    assert!(lines[1].starts_with("Checksum mismatch"), "{}", o.stdout);
    assert_eq!(lines.len(), 2);
    // An HTTP error is a service error.
    let (url, _) = capture_server(|_| {
        (
            400,
            vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            br#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#.to_vec(),
        )
    });
    let o = sb.run(&[
        "logs",
        "start-live-tail",
        "--log-group-identifiers",
        GROUP,
        "--endpoint-url",
        &url,
    ]);
    assert_eq!(o.code, 254);
    assert_eq!(
        o.stderr.trim(),
        "An error occurred (ResourceNotFoundException) when calling the StartLiveTail operation: The specified log group does not exist."
    );
    // Usage errors.
    let o = sb.run(&["logs", "start-live-tail"]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("the following arguments are required: --log-group-identifiers")
    );
}

/// A server that answers one request with an event stream sent as it goes: each frame (a
/// chunk of a chunked body) after its delay, then the end of the body.
fn trickling_server(frames: Vec<(std::time::Duration, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut len = 0;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.trim_end().split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for (delay, f) in frames {
            std::thread::sleep(delay);
            let mut chunk = format!("{:x}\r\n", f.len()).into_bytes();
            chunk.extend_from_slice(&f);
            chunk.extend_from_slice(b"\r\n");
            if stream.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    url
}

fn update(message: &str) -> Vec<u8> {
    event(
        "sessionUpdate",
        &format!(
            r#"{{"sessionMetadata":{{"sampled":false}},"sessionResults":[{{"message":"{message}"}}]}}"#
        ),
    )
}

#[test]
fn the_read_timeout_bounds_each_read_not_the_session() {
    use std::time::{Duration, Instant};
    let ms = Duration::from_millis;
    // Frames every 0.6 s for 2.4 s with a 1 s read timeout: the session lives on.
    let mut frames = vec![(
        ms(0),
        event("sessionStart", r#"{"requestId":"r","sessionId":"s"}"#),
    )];
    for n in 0..5 {
        frames.push((
            ms(if n == 0 { 0 } else { 600 }),
            update(&format!("line {n}")),
        ));
    }
    let url = trickling_server(frames);
    let sb = sandbox();
    let args = [
        "logs",
        "start-live-tail",
        "--log-group-identifiers",
        GROUP,
        "--cli-read-timeout",
        "1",
        "--endpoint-url",
        &url,
    ];
    let start = Instant::now();
    let o = sb.run(&args);
    assert!(start.elapsed() >= ms(2400), "{:?}", start.elapsed());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "line 0\nline 1\nline 2\nline 3\nline 4\n");
    assert_eq!(o.stderr, "");

    // One frame, then silence longer than the timeout: urllib3's error after the events, as
    // the official collector prints it, exit 0, without waiting for the next frame.
    let url = trickling_server(vec![(ms(0), update("before")), (ms(4000), update("after"))]);
    let port = url.rsplit(':').next().unwrap().to_string();
    let args = [
        "logs",
        "start-live-tail",
        "--log-group-identifiers",
        GROUP,
        "--cli-read-timeout",
        "1",
        "--endpoint-url",
        &url,
    ];
    let start = Instant::now();
    let o = sb.run(&args);
    let took = start.elapsed();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        format!("before\nHTTPConnectionPool(host='127.0.0.1', port={port}): Read timed out.\n")
    );
    assert!(took >= ms(900) && took < ms(3500), "{took:?}");
}
