//! Raw HTTP/1.1 over a socket, for tests that must control exactly what goes on the wire (or
//! read exactly what comes back: statuses, `Location`, `Set-Cookie`).

use super::{Endpoint, ROOT_AKID, ROOT_SECRET};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

pub fn connect(at: Endpoint) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", at.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// An HTTP response as read off the socket.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// Every value of header `name`.
    pub fn headers(&self, name: &str) -> Vec<&str> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).into_iter().next()
    }

    /// The value a `Set-Cookie` header gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers("set-cookie").into_iter().find_map(|c| {
            let (k, v) = c.split(';').next()?.split_once('=')?;
            (k.trim() == name).then(|| v.trim().to_owned())
        })
    }
}

/// Reads one response: the head, then `content-length` bytes (or to EOF). Err when the
/// connection is closed or reset before a whole head arrived.
pub fn read_answer(s: &mut TcpStream) -> std::io::Result<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                format!(
                    "closed after {} bytes: {:?}",
                    buf.len(),
                    String::from_utf8_lossy(&buf)
                ),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let length: Option<usize> = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    });
    let mut body = buf[head_end..].to_vec();
    loop {
        if length.is_some_and(|n| body.len() >= n) {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(e),
        }
    }
    Ok(Answer {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Writes `head` and then `body_len` bytes of `fill` in one go (no `Expect: 100-continue`,
/// no waiting for an early answer) on one thread while this one reads the answer.
pub fn send_at_once(
    at: Endpoint,
    head: &str,
    body_len: usize,
    fill: u8,
) -> std::io::Result<Answer> {
    let mut s = connect(at);
    let mut w = s.try_clone().unwrap();
    let mut bytes = head.as_bytes().to_vec();
    bytes.resize(head.len() + body_len, fill);
    let writer = std::thread::spawn(move || {
        // The server may stop reading once it has answered; that is its right.
        let _ = w.write_all(&bytes);
    });
    let answer = read_answer(&mut s);
    drop(s);
    writer.join().unwrap();
    answer
}

/// A signed `sts:GetCallerIdentity` as the root user, on a new connection; the answer and
/// how long it took from connect to the last byte.
pub fn signed_whoami(at: Endpoint) -> (Answer, Duration) {
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let host = format!("127.0.0.1:{}", at.port);
    let mut headers = vec![
        ("host".to_owned(), host.clone()),
        (
            "content-type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
    ];
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        &kagi_sigv4::Credentials::new(ROOT_AKID, ROOT_SECRET),
        &kagi_sigv4::SigningParams {
            region: "us-east-1",
            service: "sts",
            time: SystemTime::now(),
        },
    )
    .unwrap();
    let mut req = "POST / HTTP/1.1\r\nconnection: close\r\n".to_owned();
    for (k, v) in &headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let started = Instant::now();
    let mut s = connect(at);
    s.write_all(req.as_bytes()).unwrap();
    let answer = read_answer(&mut s).expect("an answer to the signed request");
    (answer, started.elapsed())
}

/// Sends `request` (a whole request, `connection: close` is added to its head) and reads
/// the answer.
pub fn request(at: Endpoint, request: &str) -> Answer {
    let (head, body) = request.split_once("\r\n").expect("a request line");
    let mut s = connect(at);
    s.write_all(format!("{head}\r\nconnection: close\r\n{body}").as_bytes())
        .unwrap();
    read_answer(&mut s).expect("an answer")
}

/// `GET path` with extra header lines (each ending in `\r\n`).
pub fn get(at: Endpoint, path: &str, headers: &str) -> Answer {
    let host = format!("127.0.0.1:{}", at.port);
    request(
        at,
        &format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{headers}\r\n"),
    )
}

/// `POST path` of a form body with extra header lines.
pub fn post_form(at: Endpoint, path: &str, headers: &str, form: &str) -> Answer {
    request(
        at,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\n{headers}\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{form}",
            at.port,
            form.len()
        ),
    )
}

/// `application/x-www-form-urlencoded` of one value.
pub fn enc(v: &str) -> String {
    kagi_sigv4::canonical::uri_encode(v.as_bytes(), false)
}
