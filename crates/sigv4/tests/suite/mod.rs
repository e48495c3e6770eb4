//! Reading the AWS signing test suite's files (shared by `vectors.rs` and `sigv4a.rs`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A request of the suite (`request.txt`, `*-signed-request.txt`).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Parses the suite's `request.txt` format: an HTTP/1.1 request line (the target may contain raw
/// spaces), `Name:value` header lines (lines starting with whitespace continue the previous
/// value), an empty line, then the body.
pub fn parse_http(text: &str) -> Request {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n'), Vec::new()),
    };
    let mut lines = head.split('\n');
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation without header");
            last.1.push('\n');
            last.1.push_str(line);
        } else if !line.is_empty() {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_owned(), v.to_owned()));
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }
}

pub fn read_opt(dir: &Path, file: &str) -> Option<String> {
    fs::read_to_string(dir.join(file)).ok()
}

pub fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn header_set(h: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in h {
        m.entry(n.to_ascii_lowercase())
            .or_default()
            .push(v.trim().to_owned());
    }
    m
}

pub fn query_set(q: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v = kagi_sigv4::canonical::parse_query(q);
    v.sort();
    v
}
