//! Fuzz-like property tests: the parser and verifier never panic on hostile input, and our own
//! signer/verifier pair round-trips on inputs wider than the aws-sigv4 oracle covers (tabs,
//! folded header values, non-ASCII, raw `+`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kagi_sigv4::canonical::{canonical_query, normalize_path, parse_query, uri_encode};
use kagi_sigv4::{
    AuthErrorCode, Credentials, EcdsaKey, IncomingRequest, SigningKeyCache, SigningParams,
    SigningParamsV4a, SigningSettings, VerifyOptions, parse, parse_v4a, presign, presign_v4a,
    sha256_hex, sign_headers, sign_headers_v4a, verify, verify_cached, verify_v4a,
};
use proptest::prelude::*;

/// Fragments an attacker would combine into an Authorization header.
fn auth_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("AWS4-HMAC-SHA256".to_owned()),
        Just("AWS4-HMAC-SHA256 ".to_owned()),
        Just("AWS4-ECDSA-P256-SHA256 ".to_owned()),
        Just("Credential=".to_owned()),
        Just("SignedHeaders=".to_owned()),
        Just("Signature=".to_owned()),
        Just("AKID/20150830/us-east-1/iam/aws4_request".to_owned()),
        Just("AKID/20150830/s3/aws4_request".to_owned()),
        Just("/".to_owned()),
        Just(",".to_owned()),
        Just(", ".to_owned()),
        Just(";".to_owned()),
        Just("=".to_owned()),
        Just("host;x-amz-date".to_owned()),
        "[0-9a-f]{64}",
        "\\PC{0,12}",
        ".{0,4}",
    ]
}

fn auth_value() -> impl Strategy<Value = String> {
    proptest::collection::vec(auth_fragment(), 0..12).prop_map(|v| v.concat())
}

fn query_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("X-Amz-Algorithm=AWS4-HMAC-SHA256".to_owned()),
        Just("X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256".to_owned()),
        Just("X-Amz-Credential=AKID%2F20150830%2Fs3%2Faws4_request".to_owned()),
        Just("X-Amz-Region-Set=%2A".to_owned()),
        Just("X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fsts%2Faws4_request".to_owned()),
        Just("X-Amz-Date=20150830T123600Z".to_owned()),
        Just("X-Amz-Expires=".to_owned()),
        Just("X-Amz-SignedHeaders=host".to_owned()),
        Just("X-Amz-Signature=".to_owned()),
        Just("X-Amz-Security-Token=".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just("%".to_owned()),
        Just("%E1%88".to_owned()),
        "-?[0-9]{0,20}",
        "\\PC{0,8}",
    ]
}

fn header_pair() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("Authorization".to_owned()),
        Just("authorization".to_owned()),
        Just("X-Amz-Date".to_owned()),
        Just("Date".to_owned()),
        Just("Host".to_owned()),
        Just("X-Amz-Security-Token".to_owned()),
        Just("X-Amz-Content-Sha256".to_owned()),
        Just("X-Amz-Region-Set".to_owned()),
        "\\PC{0,10}",
    ];
    let value = prop_oneof![
        auth_value(),
        Just("20150830T123600Z".to_owned()),
        Just("Sun, 30 Aug 2015 12:36:00 GMT".to_owned()),
        Just("UNSIGNED-PAYLOAD".to_owned()),
        "\\PC{0,30}",
        ".{0,30}",
    ];
    (name, value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_and_verify_never_panic(
        method in "\\PC{0,6}",
        path in ".{0,20}",
        query in proptest::collection::vec(query_fragment(), 0..10).prop_map(|v| v.concat()),
        headers in proptest::collection::vec(header_pair(), 0..6),
        hash in prop_oneof![Just(sha256_hex(b"")), "\\PC{0,70}"],
        now in 0u64..8_000_000_000,
    ) {
        let req = IncomingRequest {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            payload_sha256_hex: &hash,
        };
        let now = UNIX_EPOCH + Duration::from_secs(now);
        if let Ok(info) = parse(&req) {
            // Whatever the claims, verification must answer, not panic; and garbage never
            // verifies against a random secret.
            prop_assert!(verify(&req, &info, "secret", now).is_err());
            let cache = SigningKeyCache::new(8);
            prop_assert!(verify_cached(&req, &info, "secret", now, &cache).is_err());
            let _ = format!("{info:?}");
        }
        if let Ok(info) = parse_v4a(&req) {
            prop_assert!(info.region_set.is_some());
            let key = EcdsaKey::derive("AKID", "secret").public_key();
            prop_assert!(verify_v4a(&req, &info, &key, now, &VerifyOptions::default()).is_err());
            let _ = format!("{info:?}");
        }
    }

    /// Starts from a valid signed request so that parsing succeeds and the verifier's deeper
    /// paths run, then adds arbitrary headers, query text and Authorization edits.
    #[test]
    fn verify_never_panics_on_mutated_valid_requests(
        extra in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,12}"), 0..6),
        query_extra in "\\PC{0,20}",
        path in "\\PC{0,20}",
        signed_headers in "\\PC{0,30}",
        signature in "\\PC{0,70}",
        presigned in any::<bool>(),
    ) {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
        let creds = Credentials::new("AKID", "s").with_session_token("tok");
        let params = SigningParams { region: "us-east-1", service: "sts", time: t };
        let mut headers = vec![("host".to_owned(), "h".to_owned())];
        let mut query = String::from("a=1");
        if presigned {
            query = presign("GET", "/", &query, &headers, b"", &creds, &params,
                Duration::from_secs(60)).unwrap();
        } else {
            sign_headers("GET", "/", &query, &mut headers, b"", &creds, &params).unwrap();
            // Rewrite the SignedHeaders and Signature parts of the Authorization header.
            let auth = headers.iter_mut().find(|(n, _)| n == "authorization").unwrap();
            auth.1 = format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20200913/us-east-1/sts/aws4_request, SignedHeaders={signed_headers}, Signature={signature}"
            );
        }
        headers.extend(extra);
        query.push_str(&query_extra);
        let hash = sha256_hex(b"");
        let req = IncomingRequest { method: "GET", path: &path, query: &query, headers: &headers,
            payload_sha256_hex: &hash };
        if let Ok(info) = parse(&req) {
            let _ = verify(&req, &info, "s", t);
            let _ = format!("{info:?}");
        }
    }

    #[test]
    fn canonical_forms_are_idempotent(q in "\\PC{0,40}", p in "\\PC{0,40}") {
        let once = canonical_query(&q, false);
        prop_assert_eq!(canonical_query(&once, false), once.clone());
        // Decoding the canonical form gives back the decoded parameters (sorted).
        let mut decoded = parse_query(&q);
        decoded.sort_by(|a, b| {
            (uri_encode(&a.0, false), uri_encode(&a.1, false))
                .cmp(&(uri_encode(&b.0, false), uri_encode(&b.1, false)))
        });
        prop_assert_eq!(parse_query(&once), decoded);
        let n = normalize_path(&format!("/{p}"));
        prop_assert_eq!(normalize_path(&n), n.clone());
        prop_assert!(n.starts_with('/'));
        prop_assert!(!n.contains("//"));
    }

    #[test]
    fn own_round_trip_on_wide_inputs(
        method in "[A-Z]{3,7}",
        path in "(/[^/?#]{0,6}){0,4}",
        query in "[^#]{0,30}",
        extra in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,10}", "[ \t]{0,2}\\PC{0,12}([ \t]{1,3}|\r\n )\\PC{0,12}[ \t]{0,2}"),
            0..5,
        ),
        body in proptest::collection::vec(any::<u8>(), 0..100),
        token in proptest::option::of("[A-Za-z0-9/+=]{10,40}"),
        service in proptest::sample::select(vec!["iam", "sts", "ecr", "s3"]),
        secs in 946_684_800u64..4_102_444_800u64,
        presigned in proptest::option::of(1u64..=604_800),
        tamper in any::<prop::sample::Index>(),
    ) {
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let mut creds = Credentials::new("AKIAEXAMPLE", "secret/+key");
        if let Some(t) = &token {
            creds = creds.with_session_token(t.clone());
        }
        let params = SigningParams { region: "us-east-1", service, time };
        let mut headers = vec![("Host".to_owned(), "127.0.0.1:4566".to_owned())];
        headers.extend(extra.into_iter().filter(|(n, _)| {
            let l = n.to_ascii_lowercase();
            !(l == "host" || l == "authorization" || l == "date" || l.starts_with("x-amz-"))
        }));
        let hash = sha256_hex(&body);
        let (query, headers) = match presigned {
            None => {
                sign_headers(&method, &path, &query, &mut headers, &body, &creds, &params).unwrap();
                (query, headers)
            }
            Some(e) => {
                let q = presign(&method, &path, &query, &headers, &body, &creds, &params,
                    Duration::from_secs(e)).unwrap();
                (q, headers)
            }
        };
        let req = IncomingRequest { method: &method, path: &path, query: &query,
            headers: &headers, payload_sha256_hex: &hash };
        let info = parse(&req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(info.session_token.clone(), token);
        verify(&req, &info, "secret/+key", time)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", e.canonical_request.as_deref().unwrap_or(""))))?;

        // Change one hex digit of the signature.
        let mut bad = info.clone();
        let i = tamper.index(bad.signature.len());
        let mut sig = bad.signature.into_bytes();
        sig[i] = if sig[i] == b'a' { b'b' } else { b'a' };
        bad.signature = String::from_utf8(sig).unwrap();
        prop_assert_eq!(verify(&req, &bad, "secret/+key", time).unwrap_err().code,
            AuthErrorCode::SignatureDoesNotMatch);
        // Change the body.
        let other = sha256_hex(&[body.as_slice(), b"!"].concat());
        let r = IncomingRequest { payload_sha256_hex: &other, ..req };
        if !(presigned.is_some() && service == "s3") {
            prop_assert!(verify(&r, &info, "secret/+key", time).is_err());
        }
        // Change the method.
        let m = format!("{method}X");
        let r = IncomingRequest { method: &m, ..req };
        prop_assert!(verify(&r, &info, "secret/+key", time).is_err());
    }
}

proptest! {
    // ECDSA in a debug build costs milliseconds: fewer cases.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// SigV4a: our signer and verifier agree on wide inputs, header and presigned; a changed
    /// signature, region set, method or body (when signed) is rejected.
    #[test]
    fn sigv4a_round_trip_on_wide_inputs(
        method in "[A-Z]{3,7}",
        path in "(/[^/?#]{0,6}){0,4}",
        query in "[^#]{0,30}",
        extra in proptest::collection::vec(
            ("[A-Za-z][A-Za-z0-9-]{0,10}", "[ \t]{0,2}\\PC{0,12}[ \t]{0,2}"),
            0..4,
        ),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        token in proptest::option::of("[A-Za-z0-9/+=]{10,40}"),
        region_set in proptest::sample::select(vec!["*", "us-east-1", "us-west-2,eu-west-1"]),
        secs in 946_684_800u64..4_102_444_800u64,
        presigned in proptest::option::of(1u64..=604_800),
        tamper in any::<prop::sample::Index>(),
    ) {
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let mut creds = Credentials::new("AKIAEXAMPLE", "secret/+key");
        if let Some(t) = &token {
            creds = creds.with_session_token(t.clone());
        }
        let key = EcdsaKey::derive(&creds.access_key_id, &creds.secret_access_key);
        let params = SigningParamsV4a { region_set, service: "s3", time };
        let settings = SigningSettings::default();
        let mut headers = vec![("Host".to_owned(), "x.mrap.accesspoint.s3-global.amazonaws.com".to_owned())];
        headers.extend(extra.into_iter().filter(|(n, _)| {
            let l = n.to_ascii_lowercase();
            !(l == "host" || l == "authorization" || l == "date" || l.starts_with("x-amz-"))
        }));
        let hash = sha256_hex(&body);
        let query = match presigned {
            None => {
                sign_headers_v4a(&method, &path, &query, &mut headers, &body, &creds, &key,
                    &params, &settings).unwrap();
                query
            }
            Some(e) => {
                presign_v4a(&method, &path, &query, &headers, &body, &creds, &key, &params,
                    Duration::from_secs(e), &settings).unwrap().0
            }
        };
        let req = IncomingRequest { method: &method, path: &path, query: &query,
            headers: &headers, payload_sha256_hex: &hash };
        prop_assert!(parse(&req).is_err(), "the SigV4 parser took SigV4a");
        let info = parse_v4a(&req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(info.session_token.clone(), token);
        prop_assert_eq!(info.region_set.as_deref(), Some(region_set));
        let public = key.public_key();
        let opts = VerifyOptions::default();
        verify_v4a(&req, &info, &public, time, &opts)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", e.canonical_request.as_deref().unwrap_or(""))))?;

        let mut bad = info.clone();
        let i = tamper.index(bad.signature.len());
        let mut sig = bad.signature.into_bytes();
        sig[i] = if sig[i] == b'a' { b'b' } else { b'a' };
        bad.signature = String::from_utf8(sig).unwrap();
        prop_assert!(verify_v4a(&req, &bad, &public, time, &opts).is_err());
        let m = format!("{method}X");
        let r = IncomingRequest { method: &m, ..req };
        prop_assert!(verify_v4a(&r, &info, &public, time, &opts).is_err());
        if presigned.is_none() {
            let other = sha256_hex(&[body.as_slice(), b"!"].concat());
            let r = IncomingRequest { payload_sha256_hex: &other, ..req };
            prop_assert!(verify_v4a(&r, &info, &public, time, &opts).is_err());
            let mut h = headers.clone();
            for (n, v) in h.iter_mut() {
                if n == "x-amz-region-set" {
                    v.push_str(",ap-south-1");
                }
            }
            let r = IncomingRequest { headers: &h, ..req };
            prop_assert!(verify_v4a(&r, &info, &public, time, &opts).is_err());
        } else {
            let q = query.replace("X-Amz-Region-Set=", "X-Amz-Region-Set=ap-south-1%2C");
            let r = IncomingRequest { query: &q, ..req };
            let info = parse_v4a(&r).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(verify_v4a(&r, &info, &public, time, &opts).is_err());
        }
    }
}

#[test]
fn non_ascii_header_names_do_not_panic() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let creds = Credentials::new("AKID", "s");
    let params = SigningParams {
        region: "us-east-1",
        service: "iam",
        time: t,
    };
    let mut headers = vec![("host".to_owned(), "h".to_owned())];
    sign_headers("GET", "/", "", &mut headers, b"", &creds, &params).unwrap();
    // A multi-byte character straddling byte 6 (where the "x-amz-" prefix check looks).
    headers.push(("a\u{e9}\u{e9}\u{e9}\u{e9}".to_owned(), "v".to_owned()));
    headers.push(("x-am\u{e9}z".to_owned(), "v".to_owned()));
    let hash = sha256_hex(b"");
    let req = IncomingRequest {
        method: "GET",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap();
    verify(&req, &info, "s", t).unwrap();
}

#[test]
fn time_boundaries_are_exact() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let creds = Credentials::new("AKID", "s");
    let params = SigningParams {
        region: "us-east-1",
        service: "iam",
        time: t,
    };
    let mut headers = vec![("host".to_owned(), "h".to_owned())];
    sign_headers("GET", "/", "", &mut headers, b"", &creds, &params).unwrap();
    let hash = sha256_hex(b"");
    let req = IncomingRequest {
        method: "GET",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap();
    let w = Duration::from_secs(900);
    let s = Duration::from_secs(1);
    assert!(verify(&req, &info, "s", t + w).is_ok());
    assert!(verify(&req, &info, "s", t - w).is_ok());
    assert!(
        verify(&req, &info, "s", t + w + s)
            .unwrap_err()
            .message
            .starts_with("Signature expired: ")
    );
    assert!(
        verify(&req, &info, "s", t - w - s)
            .unwrap_err()
            .message
            .starts_with("Signature not yet current: ")
    );
}

/// Found by `fuzz/` (target `sigv4`): presigning a URL whose query already had an
/// `X-Amz-Signature` left two of them, and the verifier (which skips every `X-Amz-Signature`)
/// disagreed with the signer (which had signed the old one). Presigning now replaces its own
/// parameters, as botocore does.
#[test]
fn presigning_again_replaces_the_presign_parameters() {
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let creds = Credentials::new("AKIAEXAMPLE", "secret");
    let params = SigningParams {
        region: "us-east-1",
        service: "s3",
        time,
    };
    let headers = vec![("Host".to_owned(), "127.0.0.1:4566".to_owned())];
    let old = "a=1&X-Amz-Signature&&X-Amz-Date=19700101T000000Z&X-Amz%2DExpires=5&b=%20";
    let q = presign(
        "GET",
        "/k",
        old,
        &headers,
        b"",
        &creds,
        &params,
        Duration::from_secs(60),
    )
    .unwrap();
    let names: Vec<&str> = q.split('&').map(|p| p.split('=').next().unwrap()).collect();
    for p in [
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Algorithm",
    ] {
        assert_eq!(names.iter().filter(|n| **n == p).count(), 1, "{p} in {q}");
    }
    assert!(q.starts_with("a=1&&b=%20&X-Amz-Algorithm="), "{q}");
    let hash = sha256_hex(b"");
    let req = IncomingRequest {
        method: "GET",
        path: "/k",
        query: &q,
        headers: &headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap();
    assert_eq!(info.presigned_expires, Some(Duration::from_secs(60)));
    verify(&req, &info, "secret", time).unwrap();
}
