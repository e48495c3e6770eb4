//! SigV4 on the server side: whatever a client sends (Authorization header, presigned query,
//! dates, paths, percent escapes), `parse` and `verify` answer Ok or an AuthError, never panic;
//! and any request our signer signs (header or presigned), the verifier accepts unchanged.

use arbitrary::Arbitrary;
use kagi_sigv4::canonical::{canonical_uri, normalize_path, parse_query, percent_decode};
use kagi_sigv4::{
    Credentials, IncomingRequest, PathMode, SigningParams, check_time, parse, parse_amz_date,
    presign, sha256_hex, sign_headers, verify,
};
use std::time::{Duration, UNIX_EPOCH};

#[derive(Arbitrary, Debug)]
struct Input {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    secs: u32,
    presign_for: Option<u32>,
    service: u8,
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// One input (decoded into [`Input`] as libFuzzer's typed targets decode theirs): panics when
/// an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    let hash = sha256_hex(&input.body);
    let now = UNIX_EPOCH + Duration::from_secs(u64::from(input.secs) + 1_000_000_000);
    // Hostile: whatever arrives.
    let req = IncomingRequest {
        method: &input.method,
        path: &input.path,
        query: &input.query,
        headers: &input.headers,
        payload_sha256_hex: &hash,
    };
    if let Ok(info) = parse(&req) {
        let _ = format!("{info:?}");
        let _ = check_time(&info, now);
        let _ = verify(&req, &info, SECRET, now);
        let _ = verify(&req, &info, SECRET, info.time);
    }
    let _ = format!("{req:?}");
    let _ = parse_query(&input.query);
    let _ = percent_decode(&input.query, true);
    let _ = parse_amz_date(&input.method);
    let normal = normalize_path(&input.path);
    assert_eq!(
        normalize_path(&normal),
        normal,
        "normalising twice changes the path"
    );
    for mode in [
        PathMode::Auto,
        PathMode::Normalized,
        PathMode::DoubleEncoded,
        PathMode::S3,
    ] {
        let _ = canonical_uri(&input.path, mode, "iam");
    }

    // Round trip: what the signer signs, the verifier accepts. Inputs HTTP itself forbids
    // (a request target with spaces, header names that are not tokens, control characters in
    // values) never reach the verifier, so they are left out.
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let visible = |s: &str| s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    let target_ok = |s: &str| s.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b'#');
    let well_formed = !input.method.is_empty()
        && input.method.bytes().all(|b| b.is_ascii_uppercase())
        && input.path.starts_with('/')
        && target_ok(&input.path)
        && !input.path.contains('?')
        && (input.query.is_empty() || target_ok(&input.query));
    if !well_formed {
        return;
    }
    let mut headers = vec![("Host".to_owned(), "127.0.0.1:4566".to_owned())];
    for (n, v) in &input.headers {
        let l = n.to_ascii_lowercase();
        if token(n)
            && visible(v)
            && !(l == "host" || l == "authorization" || l == "date" || l.starts_with("x-amz-"))
        {
            headers.push((n.clone(), v.clone()));
        }
    }
    let service = ["iam", "sts", "ecr", "s3"][usize::from(input.service % 4)];
    let creds = Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET);
    let params = SigningParams {
        region: "us-east-1",
        service,
        time: now,
    };
    // A header-signed request whose query also carries presign parameters has two auth
    // mechanisms; AWS (and the verifier) refuse it whoever signed it.
    let presign_names: [&[u8]; 3] = [b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature"];
    let two_mechanisms = parse_query(&input.query)
        .iter()
        .any(|(k, _)| presign_names.contains(&k.as_slice()));
    if input.presign_for.is_none() && two_mechanisms {
        return;
    }
    let (query, headers) = match input.presign_for {
        None => {
            sign_headers(
                &input.method,
                &input.path,
                &input.query,
                &mut headers,
                &input.body,
                &creds,
                &params,
            )
            .expect("signing a request with a Host header");
            (input.query.clone(), headers)
        }
        Some(e) => {
            let e = Duration::from_secs(u64::from(e % 604_800) + 1);
            let q = presign(
                &input.method,
                &input.path,
                &input.query,
                &headers,
                &input.body,
                &creds,
                &params,
                e,
            )
            .expect("presigning a request with a Host header");
            (q, headers)
        }
    };
    let req = IncomingRequest {
        method: &input.method,
        path: &input.path,
        query: &query,
        headers: &headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap_or_else(|e| panic!("our own signature does not parse: {e}"));
    if let Err(e) = verify(&req, &info, SECRET, now) {
        panic!(
            "our own signature does not verify: {e}\n{:?}",
            e.canonical_request
        );
    }
}
