//! Runs every case of the AWS SigV4 test suite (vendored in `tests/vectors/v4`, see NOTICE) in
//! both header and presigned-query mode: our canonical request, string to sign and signature
//! must match the suite byte for byte; the suite's own signed request must verify with our
//! verifier, and must stop verifying when one byte of the signature, the body or a signed header
//! changes.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kagi_sigv4::{
    AuthErrorCode, Credentials, IncomingRequest, PathMode, SigningParams, SigningSettings,
    VerifyOptions, parse, parse_amz_date, presign_with, sha256_hex, sign_headers_with, verify_with,
};

mod suite;

use suite::{Request, header, header_set, parse_http, query_set, read_opt};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/v4")
}

#[derive(Clone, Debug)]
struct Context {
    creds: Credentials,
    region: String,
    service: String,
    time: SystemTime,
    normalize: bool,
    sign_body: bool,
    omit_session_token: bool,
    expires: u64,
}

fn context(dir: &Path, name: &str) -> Context {
    let Ok(text) = fs::read_to_string(dir.join("context.json")) else {
        return legacy_context(name);
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = &v["credentials"];
    let mut creds = Credentials::new(
        c["access_key_id"].as_str().unwrap(),
        c["secret_access_key"].as_str().unwrap(),
    );
    if let Some(t) = c["token"].as_str() {
        creds = creds.with_session_token(t);
    }
    let ts = v["timestamp"].as_str().unwrap(); // 2015-08-30T12:36:00Z
    let compact: String = ts.chars().filter(|c| *c != '-' && *c != ':').collect();
    Context {
        creds,
        region: v["region"].as_str().unwrap().to_owned(),
        service: v["service"].as_str().unwrap().to_owned(),
        time: parse_amz_date(&compact).unwrap(),
        normalize: v["normalize"].as_bool().unwrap(),
        sign_body: v["sign_body"].as_bool().unwrap_or(true),
        omit_session_token: v["omit_session_token"].as_bool().unwrap_or(false),
        expires: v["expiration_in_seconds"].as_u64().unwrap(),
    }
}

/// The two cases smithy-rs migrated from the old suite have no context.json; their parameters
/// are the ones in their signed requests' Authorization headers (and aws-sigv4's test
/// credentials for `double-encode-path`).
fn legacy_context(name: &str) -> Context {
    let (creds, region, service, time) = match name {
        "double-url-encode" => (
            Credentials::new("AKIDEXAMPLE", SECRET),
            "us-east-2",
            "lambda",
            "20210511T154045Z",
        ),
        "double-encode-path" => (
            Credentials::new("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby"),
            "us-east-1",
            "service",
            "20150830T123600Z",
        ),
        other => panic!("{other}: no context.json"),
    };
    Context {
        creds,
        region: region.to_owned(),
        service: service.to_owned(),
        time: parse_amz_date(time).unwrap(),
        normalize: true,
        sign_body: false,
        omit_session_token: false,
        expires: 3600,
    }
}

fn path_mode(name: &str, ctx: &Context) -> PathMode {
    // The suite's get-space-normalized expects `/example%20space/` for the already-encoded
    // path `/example%20space/`, i.e. single encoding (aws-sigv4 skips this case for that
    // reason). Every other case follows the non-S3 rule.
    if name == "get-space-normalized" {
        PathMode::S3
    } else if ctx.normalize {
        PathMode::Normalized
    } else {
        PathMode::DoubleEncoded
    }
}

fn signature_from_authorization(h: &[(String, String)]) -> String {
    let auth = header(h, "authorization").unwrap();
    auth.rsplit("Signature=").next().unwrap().trim().to_owned()
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Asserts that a verification of `req` fails with one of `codes`.
fn assert_rejected(
    what: &str,
    req: &IncomingRequest<'_>,
    secret: &str,
    now: SystemTime,
    opts: &VerifyOptions<'_>,
) {
    let result = parse(req).and_then(|info| verify_with(req, &info, secret, now, opts));
    let err = result.expect_err(what);
    assert!(
        matches!(
            err.code,
            AuthErrorCode::SignatureDoesNotMatch
                | AuthErrorCode::XAmzContentSHA256Mismatch
                // a changed x-amz-date no longer parses, a changed content hash is not hex
                | AuthErrorCode::IncompleteSignature
                | AuthErrorCode::InvalidArgument
        ),
        "{what}: {err}"
    );
}

/// Verifies a signed request, then checks that flipping one byte of the signature, the body and
/// each signed header breaks it.
fn check_verification(name: &str, mode: &str, signed: &Request, ctx: &Context, pm: PathMode) {
    let opts = VerifyOptions {
        path_mode: pm,
        cache: None,
    };
    let secret = ctx.creds.secret_access_key.as_str();
    let hash = sha256_hex(&signed.body);
    let req = IncomingRequest {
        method: &signed.method,
        path: &signed.path,
        query: &signed.query,
        headers: &signed.headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap_or_else(|e| panic!("{name} ({mode}): parse: {e}"));
    assert_eq!(info.access_key_id, ctx.creds.access_key_id);
    let result = verify_with(&req, &info, secret, ctx.time, &opts);
    if ctx.omit_session_token {
        // The token was added after signing: our verifier requires every x-amz-* header
        // and every query parameter to be signed, so this must be rejected.
        let err = result.expect_err("unsigned session token accepted");
        assert_eq!(
            err.code,
            AuthErrorCode::SignatureDoesNotMatch,
            "{name} ({mode})"
        );
        return;
    }
    result.unwrap_or_else(|e| {
        panic!(
            "{name} ({mode}): {e}\n{}\n---\n{}",
            e.canonical_request.as_deref().unwrap_or_default(),
            e.string_to_sign.as_deref().unwrap_or_default()
        )
    });

    // One byte of the signature.
    let flip = |s: &str| -> String {
        let mut b = s.as_bytes().to_vec();
        let last = b.len() - 1;
        b[last] = if b[last] == b'0' { b'1' } else { b'0' };
        String::from_utf8(b).unwrap()
    };
    let mut bad = info.clone();
    bad.signature = flip(&info.signature);
    let err = verify_with(&req, &bad, secret, ctx.time, &opts).unwrap_err();
    assert_eq!(
        err.code,
        AuthErrorCode::SignatureDoesNotMatch,
        "{name} ({mode}) signature"
    );

    // One byte of the body.
    let mut body = signed.body.clone();
    body.push(b'x');
    let other_hash = sha256_hex(&body);
    let r = IncomingRequest {
        payload_sha256_hex: &other_hash,
        ..req
    };
    assert_rejected(
        &format!("{name} ({mode}) body"),
        &r,
        secret,
        ctx.time,
        &opts,
    );

    // One byte of each signed header.
    for signed_name in &info.signed_headers {
        let mut headers = signed.headers.clone();
        let h = headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(signed_name))
            .unwrap();
        h.1.push('x');
        let r = IncomingRequest {
            headers: &headers,
            ..req
        };
        assert_rejected(
            &format!("{name} ({mode}) header {signed_name}"),
            &r,
            secret,
            ctx.time,
            &opts,
        );
    }

    // One byte of the path.
    let path = format!("{}x", signed.path);
    let r = IncomingRequest { path: &path, ..req };
    assert_rejected(
        &format!("{name} ({mode}) path"),
        &r,
        secret,
        ctx.time,
        &opts,
    );
}

fn run_header_mode(name: &str, dir: &Path) {
    let ctx = context(dir, name);
    let pm = path_mode(name, &ctx);
    let settings = SigningSettings {
        path_mode: pm,
        ..Default::default()
    };
    let req = parse_http(&fs::read_to_string(dir.join("request.txt")).unwrap());
    let mut creds = ctx.creds.clone();
    if ctx.omit_session_token {
        creds.session_token = None;
    }
    let mut headers = req.headers.clone();
    if ctx.sign_body {
        headers.push(("x-amz-content-sha256".to_owned(), sha256_hex(&req.body)));
    }
    // double-encode-path's canonical request was recorded at a different time than its
    // signature; check it at that time first.
    let mut sign_time = ctx.time;
    if name == "double-encode-path" {
        sign_time = parse_amz_date("20210511T154045Z").unwrap();
    }
    let params = SigningParams {
        region: &ctx.region,
        service: &ctx.service,
        time: sign_time,
    };
    let out = sign_headers_with(
        &req.method,
        &req.path,
        &req.query,
        &mut headers,
        &req.body,
        &creds,
        &params,
        &settings,
    )
    .unwrap();
    let expected_creq = fs::read_to_string(dir.join("header-canonical-request.txt")).unwrap();
    assert_eq!(
        out.canonical_request, expected_creq,
        "{name}: header canonical request"
    );
    if let Some(sts) = read_opt(dir, "header-string-to-sign.txt") {
        // (only the legacy double-url-encode file ends with a stray newline)
        let sts = sts.strip_suffix('\n').unwrap_or(&sts);
        assert_eq!(out.string_to_sign, sts, "{name}: header string to sign");
    }
    if name == "double-encode-path" {
        let mut h = req.headers.clone();
        let params = SigningParams {
            time: ctx.time,
            ..params
        };
        sign_headers_with(
            &req.method,
            &req.path,
            &req.query,
            &mut h,
            &req.body,
            &creds,
            &params,
            &settings,
        )
        .unwrap();
        headers = h;
    }
    let signed = parse_http(&fs::read_to_string(dir.join("header-signed-request.txt")).unwrap());
    let expected_sig = read_opt(dir, "header-signature.txt")
        .unwrap_or_else(|| signature_from_authorization(&signed.headers));
    assert_eq!(
        signature_from_authorization(&headers),
        expected_sig.trim(),
        "{name}: header signature"
    );

    // Our signed request carries the same headers as the suite's (plus the token the suite adds
    // after signing in post-sts-header-after).
    if ctx.omit_session_token {
        let token = ctx.creds.session_token.clone().unwrap();
        headers.push(("X-Amz-Security-Token".to_owned(), token));
    }
    let ours = header_set(&headers);
    let mut theirs = header_set(&signed.headers);
    if let Some(a) = theirs.get_mut("authorization") {
        // The suite sometimes writes "Authorization: AWS4..." with a leading space.
        a.iter_mut().for_each(|v| *v = v.trim().to_owned());
    }
    assert_eq!(ours, theirs, "{name}: signed request headers");

    check_verification(name, "header", &signed, &ctx, pm);
}

fn run_query_mode(name: &str, dir: &Path) -> bool {
    let Some(expected_creq) = read_opt(dir, "query-canonical-request.txt") else {
        return false;
    };
    let ctx = context(dir, name);
    let pm = path_mode(name, &ctx);
    let settings = SigningSettings {
        path_mode: pm,
        ..Default::default()
    };
    let req = parse_http(&fs::read_to_string(dir.join("request.txt")).unwrap());
    let mut creds = ctx.creds.clone();
    if ctx.omit_session_token {
        creds.session_token = None;
    }
    let params = SigningParams {
        region: &ctx.region,
        service: &ctx.service,
        time: ctx.time,
    };
    let (mut query, out) = presign_with(
        &req.method,
        &req.path,
        &req.query,
        &req.headers,
        &req.body,
        &creds,
        &params,
        Duration::from_secs(ctx.expires),
        &settings,
    )
    .unwrap();
    assert_eq!(
        out.canonical_request, expected_creq,
        "{name}: query canonical request"
    );
    let sts = fs::read_to_string(dir.join("query-string-to-sign.txt")).unwrap();
    assert_eq!(out.string_to_sign, sts, "{name}: query string to sign");
    let sig = fs::read_to_string(dir.join("query-signature.txt")).unwrap();
    assert_eq!(out.signature, sig.trim(), "{name}: query signature");

    let signed = parse_http(&fs::read_to_string(dir.join("query-signed-request.txt")).unwrap());
    if ctx.omit_session_token {
        let token = ctx.creds.session_token.clone().unwrap();
        query.push_str("&X-Amz-Security-Token=");
        query.push_str(&kagi_sigv4::canonical::uri_encode(token.as_bytes(), false));
    }
    assert_eq!(
        query_set(&query),
        query_set(&signed.query),
        "{name}: presigned query"
    );
    assert_eq!(
        header_set(&req.headers),
        header_set(&signed.headers),
        "{name}: presigned headers"
    );

    check_verification(name, "query", &signed, &ctx, pm);
    true
}

#[test]
fn aws_sigv4_test_suite_all_cases() {
    let names = cases();
    assert_eq!(names.len(), 40, "the vendored suite has 40 cases");
    let mut query_cases = 0;
    for name in &names {
        let dir = suite_dir().join(name);
        run_header_mode(name, &dir);
        if run_query_mode(name, &dir) {
            query_cases += 1;
        }
    }
    // Every case that has query-mode files (all but the two legacy ones) ran in query mode.
    assert_eq!(query_cases, 38);
}
