//! `cargo bench -p kagi-sigv4`: cost of authenticating a typical STS GetCallerIdentity request
//! as the AWS CLI sends it (parse + verify), with and without the signing-key cache, and of
//! signing it.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use kagi_sigv4::{
    Credentials, IncomingRequest, SigningKeyCache, SigningParams, parse, sha256_hex, sign_headers,
    verify, verify_cached,
};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

fn main() {
    divan::main();
}

fn time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)
}

fn cli_headers() -> Vec<(String, String)> {
    [
        ("Host", "127.0.0.1:4566"),
        ("Accept-Encoding", "identity"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("User-Agent", "aws-cli/2.31.0 md/awscrt#0.27.6 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.13.7 md/pyimpl#CPython m/b,E cfg/retry-mode#standard md/installer#exe md/distrib#debian.12 md/prompt#off md/command#sts.get-caller-identity"),
        ("Content-Length", "43"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn signed() -> (Vec<(String, String)>, String) {
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
    let params = SigningParams {
        region: "us-east-1",
        service: "sts",
        time: time(),
    };
    let mut headers = cli_headers();
    sign_headers("POST", "/", "", &mut headers, BODY, &creds, &params).unwrap();
    (headers, sha256_hex(BODY))
}

#[divan::bench]
fn parse_and_verify(bencher: divan::Bencher) {
    let (headers, hash) = signed();
    let now = time() + Duration::from_secs(1);
    bencher.bench(|| {
        let req = IncomingRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: black_box(&headers),
            payload_sha256_hex: &hash,
        };
        let info = parse(&req).unwrap();
        verify(&req, &info, SECRET, now).unwrap();
    });
}

#[divan::bench]
fn parse_and_verify_cached(bencher: divan::Bencher) {
    let (headers, hash) = signed();
    let now = time() + Duration::from_secs(1);
    let cache = SigningKeyCache::default();
    bencher.bench(|| {
        let req = IncomingRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: black_box(&headers),
            payload_sha256_hex: &hash,
        };
        let info = parse(&req).unwrap();
        verify_cached(&req, &info, SECRET, now, &cache).unwrap();
    });
}

#[divan::bench]
fn sha256_of_body() -> String {
    sha256_hex(black_box(BODY))
}

#[divan::bench]
fn sign(bencher: divan::Bencher) {
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
    let params = SigningParams {
        region: "us-east-1",
        service: "sts",
        time: time(),
    };
    let base = cli_headers();
    bencher.bench(|| {
        let mut headers = base.clone();
        sign_headers(
            "POST",
            "/",
            "",
            &mut headers,
            black_box(BODY),
            &creds,
            &params,
        )
        .unwrap();
        headers
    });
}
