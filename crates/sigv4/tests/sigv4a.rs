//! Runs every case of aws-c-auth's SigV4a test suite (vendored in `tests/v4a`, see NOTICE) in
//! header and presigned-query mode:
//!
//! * the key pair derived from the case's credentials is the suite's `public-key.json`;
//! * our canonical request and string to sign equal the suite's byte for byte;
//! * the suite's signatures (ECDSA with random nonces, so never byte-equal to ours) verify with
//!   our verifier, both the bare `*-signature.txt` over the string to sign and the complete
//!   `*-signed-request.txt`; ours verify too;
//! * one changed byte of a signature, the body, a signed header or the path makes the
//!   verification fail.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kagi_sigv4::{
    AuthErrorCode, Credentials, EcdsaKey, IncomingRequest, PathMode, PublicKey, SigningParamsV4a,
    SigningSettings, VerifyOptions, parse, parse_amz_date, parse_v4a, presign_v4a, sha256_hex,
    sign_headers_v4a, verify_v4a,
};

mod suite;

use suite::{Request, header, header_set, parse_http, query_set};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/v4a")
}

struct Context {
    creds: Credentials,
    region_set: String,
    service: String,
    time: SystemTime,
    normalize: bool,
    sign_body: bool,
    omit_session_token: bool,
    expires: u64,
}

fn context(dir: &Path) -> Context {
    let text = fs::read_to_string(dir.join("context.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let c = &v["credentials"];
    let mut creds = Credentials::new(
        c["access_key_id"].as_str().unwrap(),
        c["secret_access_key"].as_str().unwrap(),
    );
    if let Some(t) = c["token"].as_str() {
        creds = creds.with_session_token(t);
    }
    let ts = v["timestamp"].as_str().unwrap();
    let compact: String = ts.chars().filter(|c| *c != '-' && *c != ':').collect();
    Context {
        creds,
        region_set: v["region"].as_str().unwrap().to_owned(),
        service: v["service"].as_str().unwrap().to_owned(),
        time: parse_amz_date(&compact).unwrap(),
        normalize: v["normalize"].as_bool().unwrap(),
        sign_body: v["sign_body"].as_bool().unwrap_or(false),
        omit_session_token: v["omit_session_token"].as_bool().unwrap_or(false),
        expires: v["expiration_in_seconds"].as_u64().unwrap(),
    }
}

fn path_mode(name: &str, ctx: &Context) -> PathMode {
    // As in the SigV4 suite: get-space-normalized expects single encoding.
    if name == "get-space-normalized" {
        PathMode::S3
    } else if ctx.normalize {
        PathMode::Normalized
    } else {
        PathMode::DoubleEncoded
    }
}

fn suite_public_key(dir: &Path) -> PublicKey {
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("public-key.json")).unwrap()).unwrap();
    PublicKey::from_coordinates_hex(v["X"].as_str().unwrap(), v["Y"].as_str().unwrap())
        .expect("public-key.json is a P-256 point")
}

fn signature_from_authorization(h: &[(String, String)]) -> String {
    let auth = header(h, "authorization").unwrap();
    auth.rsplit("Signature=").next().unwrap().trim().to_owned()
}

fn flip_last(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let last = b.len() - 1;
    b[last] = if b[last] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

fn assert_rejected(
    what: &str,
    req: &IncomingRequest<'_>,
    key: &PublicKey,
    ctx: &Context,
    pm: PathMode,
) {
    let opts = VerifyOptions {
        path_mode: pm,
        cache: None,
    };
    let err = parse_v4a(req)
        .and_then(|info| verify_v4a(req, &info, key, ctx.time, &opts))
        .expect_err(what);
    assert!(
        matches!(
            err.code,
            AuthErrorCode::SignatureDoesNotMatch
                | AuthErrorCode::XAmzContentSHA256Mismatch
                | AuthErrorCode::IncompleteSignature
                | AuthErrorCode::InvalidArgument
        ),
        "{what}: {err}"
    );
}

/// Verifies a signed request of the suite, then breaks it one byte at a time.
fn check_verification(
    name: &str,
    mode: &str,
    signed: &Request,
    ctx: &Context,
    key: &PublicKey,
    pm: PathMode,
) {
    let opts = VerifyOptions {
        path_mode: pm,
        cache: None,
    };
    let hash = sha256_hex(&signed.body);
    let req = IncomingRequest {
        method: &signed.method,
        path: &signed.path,
        query: &signed.query,
        headers: &signed.headers,
        payload_sha256_hex: &hash,
    };
    // The SigV4 parser does not take SigV4a.
    let e = parse(&req).unwrap_err();
    assert!(
        matches!(
            e.code,
            AuthErrorCode::IncompleteSignature | AuthErrorCode::AuthorizationQueryParametersError
        ),
        "{name} ({mode}): {e}"
    );
    let info = parse_v4a(&req).unwrap_or_else(|e| panic!("{name} ({mode}): parse: {e}"));
    assert_eq!(info.access_key_id, ctx.creds.access_key_id);
    assert_eq!(info.region_set.as_deref(), Some(ctx.region_set.as_str()));
    assert_eq!(
        info.scope(),
        format!("20150830/{}/aws4_request", ctx.service)
    );
    let result = verify_v4a(&req, &info, key, ctx.time, &opts);
    if ctx.omit_session_token && mode == "header" {
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
    // Someone else's key.
    let other = EcdsaKey::derive(&ctx.creds.access_key_id, "another secret").public_key();
    assert_eq!(
        verify_v4a(&req, &info, &other, ctx.time, &opts)
            .unwrap_err()
            .code,
        AuthErrorCode::SignatureDoesNotMatch
    );

    let mut bad = info.clone();
    bad.signature = flip_last(&info.signature);
    assert_eq!(
        verify_v4a(&req, &bad, key, ctx.time, &opts)
            .unwrap_err()
            .code,
        AuthErrorCode::SignatureDoesNotMatch,
        "{name} ({mode}) signature"
    );

    let mut body = signed.body.clone();
    body.push(b'x');
    let other_hash = sha256_hex(&body);
    let r = IncomingRequest {
        payload_sha256_hex: &other_hash,
        ..req
    };
    if ctx.sign_body || !signed.body.is_empty() || mode == "header" {
        assert_rejected(&format!("{name} ({mode}) body"), &r, key, ctx, pm);
    }

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
            key,
            ctx,
            pm,
        );
    }

    let path = format!("{}x", signed.path);
    let r = IncomingRequest { path: &path, ..req };
    assert_rejected(&format!("{name} ({mode}) path"), &r, key, ctx, pm);
}

fn run_header_mode(name: &str, dir: &Path, ctx: &Context, key: &EcdsaKey) {
    let pm = path_mode(name, ctx);
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
    let params = SigningParamsV4a {
        region_set: &ctx.region_set,
        service: &ctx.service,
        time: ctx.time,
    };
    let out = sign_headers_v4a(
        &req.method,
        &req.path,
        &req.query,
        &mut headers,
        &req.body,
        &creds,
        key,
        &params,
        &settings,
    )
    .unwrap();
    let expected_creq = fs::read_to_string(dir.join("header-canonical-request.txt")).unwrap();
    assert_eq!(
        out.canonical_request, expected_creq,
        "{name}: header canonical request"
    );
    let sts = fs::read_to_string(dir.join("header-string-to-sign.txt")).unwrap();
    assert_eq!(out.string_to_sign, sts, "{name}: header string to sign");

    let public = suite_public_key(dir);
    // Ours verifies, under the suite's public key; the suite's bare signature verifies over our
    // string to sign; neither verifies over a changed string to sign.
    assert_eq!(signature_from_authorization(&headers), out.signature);
    assert!(
        public.verify(&sts, &out.signature),
        "{name}: our header signature"
    );
    let theirs = fs::read_to_string(dir.join("header-signature.txt")).unwrap();
    assert!(
        public.verify(&out.string_to_sign, theirs.trim()),
        "{name}: suite header signature"
    );
    let changed = format!("{sts}x");
    assert!(!public.verify(&changed, &out.signature));
    assert!(!public.verify(&changed, theirs.trim()));

    // The suite's signed request carries the same headers as ours (but its own signature).
    let signed = parse_http(&fs::read_to_string(dir.join("header-signed-request.txt")).unwrap());
    if ctx.omit_session_token {
        let token = ctx.creds.session_token.clone().unwrap();
        headers.push(("X-Amz-Security-Token".to_owned(), token));
    }
    let mut ours = header_set(&headers);
    let mut theirs = header_set(&signed.headers);
    ours.remove("authorization");
    let auth = theirs.remove("authorization").unwrap();
    assert_eq!(ours, theirs, "{name}: signed request headers");
    let ours_auth = header(&headers, "authorization").unwrap();
    let strip = |a: &str| a.trim().rsplit_once("Signature=").unwrap().0.to_owned();
    assert_eq!(strip(ours_auth), strip(&auth[0]), "{name}: authorization");

    check_verification(name, "header", &signed, ctx, &public, pm);
    // Our own signed request verifies the same way.
    let ours = Request {
        headers,
        ..req.clone()
    };
    if !ctx.omit_session_token {
        check_verification(name, "header (ours)", &ours, ctx, &public, pm);
    }
}

fn run_query_mode(name: &str, dir: &Path, ctx: &Context, key: &EcdsaKey) {
    let pm = path_mode(name, ctx);
    let settings = SigningSettings {
        path_mode: pm,
        ..Default::default()
    };
    let req = parse_http(&fs::read_to_string(dir.join("request.txt")).unwrap());
    let mut creds = ctx.creds.clone();
    if ctx.omit_session_token {
        creds.session_token = None;
    }
    let params = SigningParamsV4a {
        region_set: &ctx.region_set,
        service: &ctx.service,
        time: ctx.time,
    };
    let (mut query, out) = presign_v4a(
        &req.method,
        &req.path,
        &req.query,
        &req.headers,
        &req.body,
        &creds,
        key,
        &params,
        Duration::from_secs(ctx.expires),
        &settings,
    )
    .unwrap();
    let expected_creq = fs::read_to_string(dir.join("query-canonical-request.txt")).unwrap();
    assert_eq!(
        out.canonical_request, expected_creq,
        "{name}: query canonical request"
    );
    let sts = fs::read_to_string(dir.join("query-string-to-sign.txt")).unwrap();
    assert_eq!(out.string_to_sign, sts, "{name}: query string to sign");

    let public = suite_public_key(dir);
    assert!(
        public.verify(&sts, &out.signature),
        "{name}: our query signature"
    );
    let theirs = fs::read_to_string(dir.join("query-signature.txt")).unwrap();
    assert!(
        public.verify(&sts, theirs.trim()),
        "{name}: suite query signature"
    );
    assert!(!public.verify(&format!("{sts}x"), theirs.trim()));

    let signed = parse_http(&fs::read_to_string(dir.join("query-signed-request.txt")).unwrap());
    if ctx.omit_session_token {
        let token = ctx.creds.session_token.clone().unwrap();
        query.push_str("&X-Amz-Security-Token=");
        query.push_str(&kagi_sigv4::canonical::uri_encode(token.as_bytes(), false));
    }
    let without_sig = |q: &str| -> Vec<(Vec<u8>, Vec<u8>)> {
        query_set(q)
            .into_iter()
            .filter(|(k, _)| k.as_slice() != b"X-Amz-Signature")
            .collect()
    };
    assert_eq!(
        without_sig(&query),
        without_sig(&signed.query),
        "{name}: presigned query"
    );
    assert_eq!(
        header_set(&req.headers),
        header_set(&signed.headers),
        "{name}: presigned headers"
    );

    if ctx.omit_session_token {
        // The token parameter was added after signing; the query is part of what is signed.
        let hash = sha256_hex(&signed.body);
        let r = IncomingRequest {
            method: &signed.method,
            path: &signed.path,
            query: &signed.query,
            headers: &signed.headers,
            payload_sha256_hex: &hash,
        };
        assert_rejected(
            &format!("{name} (query, token after)"),
            &r,
            &public,
            ctx,
            pm,
        );
        return;
    }
    check_verification(name, "query", &signed, ctx, &public, pm);
    let ours = Request {
        query,
        ..req.clone()
    };
    check_verification(name, "query (ours)", &ours, ctx, &public, pm);
}

#[test]
fn aws_sigv4a_test_suite_all_cases() {
    let mut names: Vec<String> = fs::read_dir(suite_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 40, "the vendored suite has 40 cases");
    let mut complete = 0;
    for name in &names {
        let dir = suite_dir().join(name);
        if !dir.join("header-canonical-request.txt").exists() {
            // get-vanilla-query-order-{key,value} ship only context.json and request.txt.
            continue;
        }
        complete += 1;
        let ctx = context(&dir);
        let key = EcdsaKey::derive(&ctx.creds.access_key_id, &ctx.creds.secret_access_key);
        assert_eq!(
            key.public_key(),
            suite_public_key(&dir),
            "{name}: derived public key"
        );
        run_header_mode(name, &dir, &ctx, &key);
        run_query_mode(name, &dir, &ctx, &key);
    }
    assert_eq!(complete, 38);
}

/// The KDF on other credentials: the public key of the suite's credentials is pinned above; a
/// different access key id or secret gives a different key, and a signature made with one key
/// does not verify under another.
#[test]
fn derived_keys_depend_on_both_halves() {
    let a = EcdsaKey::derive("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let b = EcdsaKey::derive("AKIDEXAMPLF", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let c = EcdsaKey::derive("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ");
    assert_ne!(a.public_key(), b.public_key());
    assert_ne!(a.public_key(), c.public_key());
    let sig = a.sign("sts");
    assert!(a.public_key().verify("sts", &sig));
    assert!(!b.public_key().verify("sts", &sig));
    assert!(!c.public_key().verify("sts", &sig));
}
