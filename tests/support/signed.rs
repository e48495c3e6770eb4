//! Signed AWS calls over raw HTTP/1.1 (`kagi-sigv4`), for tests that make many calls: a `kagi`
//! process per call would cost more than the server's answer.

use super::Endpoint;
use kagi_sigv4::{Credentials, SigningParams};
use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

/// Percent-encodes all but RFC 3986's unreserved characters (for query-protocol forms).
pub fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A signed HTTP/1.1 request: query protocol (IAM, STS: `body` is the form) when `target` is
/// None, else ECR's JSON 1.1 with that `X-Amz-Target` operation.
pub fn request(
    port: u16,
    creds: &Credentials,
    service: &str,
    target: Option<&str>,
    body: &str,
) -> Vec<u8> {
    let host = format!("127.0.0.1:{port}");
    let mut headers = vec![("host".to_string(), host)];
    match target {
        None => headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )),
        Some(op) => {
            headers.push(("content-type".into(), "application/x-amz-json-1.1".into()));
            headers.push((
                "x-amz-target".into(),
                format!("AmazonEC2ContainerRegistry_V20150921.{op}"),
            ));
        }
    }
    let params = SigningParams {
        region: "us-east-1",
        service,
        time: SystemTime::now(),
    };
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        creds,
        &params,
    )
    .expect("sign");
    let mut req = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    req.into_bytes()
}

/// Parses a response head: (status, body offset, content length, connection: close).
pub fn parse_head(buf: &[u8]) -> Option<(u16, usize, usize, bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut len = 0;
    let mut close = false;
    for l in lines {
        let (k, v) = l.split_once(':')?;
        let v = v.trim();
        if k.eq_ignore_ascii_case("content-length") {
            len = v.parse().ok()?;
        } else if k.eq_ignore_ascii_case("connection") {
            close = v.eq_ignore_ascii_case("close");
        }
    }
    Some((status, end + 4, len, close))
}

/// One call on a fresh connection: (status, body), or Err when the server is not there or
/// closed the connection before answering (a killed server).
pub fn call(
    at: Endpoint,
    creds: &Credentials,
    service: &str,
    target: Option<&str>,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", at.port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    s.write_all(&request(at.port, creds, service, target, body))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        if let Some((status, start, len, _)) = parse_head(&buf)
            && buf.len() >= start + len
        {
            let body = String::from_utf8_lossy(&buf[start..start + len]).into_owned();
            return Ok((status, body));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An IAM call (query protocol, version 2010-05-08); `params` are already escaped `&k=v` pairs.
pub fn iam(
    at: Endpoint,
    creds: &Credentials,
    action: &str,
    params: &str,
) -> std::io::Result<(u16, String)> {
    call(
        at,
        creds,
        "iam",
        None,
        &format!("Action={action}&Version=2010-05-08{params}"),
    )
}

/// An STS call (query protocol, version 2011-06-15).
pub fn sts(
    at: Endpoint,
    creds: &Credentials,
    action: &str,
    params: &str,
) -> std::io::Result<(u16, String)> {
    call(
        at,
        creds,
        "sts",
        None,
        &format!("Action={action}&Version=2011-06-15{params}"),
    )
}

/// An ECR JSON 1.1 call.
pub fn ecr(
    at: Endpoint,
    creds: &Credentials,
    operation: &str,
    input: &serde_json::Value,
) -> std::io::Result<(u16, String)> {
    call(at, creds, "ecr", Some(operation), &input.to_string())
}

/// The text of the first `<name>…</name>` in an XML answer.
pub fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_owned())
}

/// The root user's credentials of [`super::Server`].
pub fn root() -> Credentials {
    Credentials::new(super::ROOT_AKID, super::ROOT_SECRET)
}
