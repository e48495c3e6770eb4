//! Differential test against the `aws-sigv4` crate (the AWS SDK for Rust's signer): random
//! requests signed by aws-sigv4 must verify with our verifier, and our signer must produce the
//! same `Authorization` header (header mode) or signature (presigned mode).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings as AwsSettings, UriPathNormalizationMode, sign,
};
use kagi_sigv4::canonical::uri_encode;
use kagi_sigv4::{
    AuthErrorCode, Credentials, IncomingRequest, SigningKeyCache, SigningParams, parse, presign,
    sha256_hex, sign_headers, verify, verify_cached,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Payload {
    /// No x-amz-content-sha256 header; the body is hashed.
    Body,
    /// x-amz-content-sha256 with the body's hash.
    HashHeader,
    /// x-amz-content-sha256: UNSIGNED-PAYLOAD.
    Unsigned,
}

#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    host: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    payload: Payload,
    akid: String,
    secret: String,
    token: Option<String>,
    region: &'static str,
    service: &'static str,
    time: SystemTime,
    presign_expires: Option<u64>,
    skew: i64,
}

/// A path segment in already-encoded form: unreserved and sub-delim characters, `:`/`@`, `%XX`
/// escapes (either hex case), and the dot segments and empty segments normalization removes.
fn segment() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => proptest::sample::select(
            "abcXYZ019-._~!$&'()*+,;=:@".chars().collect::<Vec<_>>()
        )
        .prop_map(String::from),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(b, lower)| {
            let s = format!("%{b:02X}");
            if lower { s.to_lowercase() } else { s }
        }),
    ];
    prop_oneof![
        6 => proptest::collection::vec(piece, 1..6).prop_map(|v| v.concat()),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (proptest::collection::vec(segment(), 0..5), any::<bool>()).prop_map(|(segs, trailing)| {
        let mut p = format!("/{}", segs.join("/"));
        if trailing && !p.ends_with('/') {
            p.push('/');
        }
        p
    })
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select("aZ09-._~ /%+=&?#:,é\u{1234}".chars().collect::<Vec<_>>()),
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec((text(), text(), any::<bool>()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .filter(|(k, v, _)| !(k.is_empty() && v.is_empty()))
            .map(|(k, v, bare)| {
                let k = uri_encode(k.as_bytes(), false);
                if bare && v.is_empty() {
                    k
                } else {
                    format!("{k}={}", uri_encode(v.as_bytes(), false))
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

const RESERVED: &[&str] = &[
    "host",
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
    "expect",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amz-user-agent",
    "x-amz-checksum-mode",
];

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        "[a-z][a-z0-9-]{0,8}",
        "x-amz-[a-z]{1,6}",
        Just("content-type".to_owned()),
        Just("my-header".to_owned()),
    ];
    let value = "[ !-~]{0,24}";
    proptest::collection::vec((name, value, any::<bool>()), 0..5).prop_map(|hs| {
        hs.into_iter()
            .filter(|(n, _, _)| !RESERVED.contains(&n.as_str()))
            .map(|(n, v, upper)| (if upper { n.to_uppercase() } else { n }, v))
            .collect()
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            proptest::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
            proptest::sample::select(vec!["example.amazonaws.com", "127.0.0.1:4566"]),
            path(),
            query(),
            headers(),
            proptest::collection::vec(any::<u8>(), 0..64),
            prop_oneof![
                Just(Payload::Body),
                Just(Payload::HashHeader),
                Just(Payload::Unsigned)
            ],
        ),
        (
            "AKIA[A-Z0-9]{16}",
            "[A-Za-z0-9/+]{40}",
            proptest::option::of("[A-Za-z0-9/+=]{16,64}"),
            proptest::sample::select(vec!["us-east-1", "eu-west-3"]),
            proptest::sample::select(vec!["iam", "sts", "ecr", "execute-api", "s3"]),
            946_684_800u64..4_102_444_800u64,
            proptest::option::of(1u64..=604_800),
            -900i64..=900,
        ),
    )
        .prop_map(
            |(
                (method, host, path, query, headers, body, payload),
                (akid, secret, token, region, service, secs, presign_expires, skew),
            )| Case {
                method,
                host,
                path,
                query,
                headers,
                body,
                payload,
                akid,
                secret,
                token,
                region,
                service,
                time: UNIX_EPOCH + Duration::from_secs(secs),
                presign_expires,
                skew,
            },
        )
}

/// The request's headers before signing (host and the payload header included).
fn base_headers(c: &Case) -> Vec<(String, String)> {
    let mut h = vec![("Host".to_owned(), c.host.to_owned())];
    h.extend(c.headers.iter().cloned());
    match c.payload {
        Payload::Body => {}
        Payload::HashHeader => h.push(("X-Amz-Content-Sha256".to_owned(), sha256_hex(&c.body))),
        Payload::Unsigned => h.push((
            "x-amz-content-sha256".to_owned(),
            "UNSIGNED-PAYLOAD".to_owned(),
        )),
    }
    h
}

type Headers = Vec<(String, String)>;

/// Signs with aws-sigv4; returns (headers to add, query params to add, signature).
fn aws_sign(c: &Case, headers: &[(String, String)]) -> (Headers, Headers, String) {
    let identity = aws_credential_types::Credentials::new(
        c.akid.clone(),
        c.secret.clone(),
        c.token.clone(),
        None,
        "oracle",
    )
    .into();
    let mut settings = AwsSettings::default();
    if c.service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    if let Some(secs) = c.presign_expires {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(secs));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(c.region)
        .name(c.service)
        .time(c.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let hash = sha256_hex(&c.body);
    let body = match (&c.payload, c.presign_expires, c.service) {
        (Payload::Unsigned, _, _) => SignableBody::UnsignedPayload,
        (Payload::HashHeader, _, _) => SignableBody::Precomputed(hash),
        (Payload::Body, Some(_), "s3") => SignableBody::UnsignedPayload,
        (Payload::Body, _, _) => SignableBody::Bytes(&c.body),
    };
    let uri = if c.query.is_empty() {
        format!("https://{}{}", c.host, c.path)
    } else {
        format!("https://{}{}?{}", c.host, c.path, c.query)
    };
    let req = SignableRequest::new(
        c.method,
        uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        body,
    )
    .unwrap();
    let (instructions, signature) = sign(req, &params).unwrap().into_parts();
    let add_headers = instructions
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let add_params = instructions
        .params()
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.to_string()))
        .collect();
    (add_headers, add_params, signature)
}

fn with_params(query: &str, params: &[(String, String)]) -> String {
    let mut q = query.to_owned();
    for (n, v) in params {
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(n);
        q.push('=');
        q.push_str(&uri_encode(v.as_bytes(), false));
    }
    q
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn aws_sigv4_signatures_verify_and_match_ours(c in case()) {
        let headers = base_headers(&c);
        let (add_headers, add_params, aws_signature) = aws_sign(&c, &headers);
        let creds = Credentials {
            access_key_id: c.akid.clone(),
            secret_access_key: c.secret.clone(),
            session_token: c.token.clone(),
        };
        let params = SigningParams { region: c.region, service: c.service, time: c.time };
        let hash = sha256_hex(&c.body);

        // 1. What aws-sigv4 signed verifies with our verifier.
        let mut signed_headers = headers.clone();
        signed_headers.extend(add_headers.iter().cloned());
        let signed_query = with_params(&c.query, &add_params);
        let req = IncomingRequest {
            method: c.method,
            path: &c.path,
            query: &signed_query,
            headers: &signed_headers,
            payload_sha256_hex: &hash,
        };
        let info = parse(&req).map_err(|e| TestCaseError::fail(format!("parse: {e}")))?;
        prop_assert_eq!(&info.access_key_id, &c.akid);
        prop_assert_eq!(&info.session_token, &c.token);
        let now = match c.presign_expires {
            None => UNIX_EPOCH + Duration::from_secs((kagi_sigv4_secs(c.time) as i64 + c.skew) as u64),
            Some(e) => c.time + Duration::from_secs(e.min(c.skew.unsigned_abs())),
        };
        let cache = SigningKeyCache::default();
        if let Err(e) = verify_cached(&req, &info, &c.secret, now, &cache) {
            return Err(TestCaseError::fail(format!(
                "verify: {e}\n{}\n---\n{}",
                e.canonical_request.as_deref().unwrap_or_default(),
                e.string_to_sign.as_deref().unwrap_or_default()
            )));
        }
        // ... and not with another secret.
        let wrong = verify(&req, &info, "wrong-secret", now).unwrap_err();
        prop_assert_eq!(wrong.code, AuthErrorCode::SignatureDoesNotMatch);

        // 2. Our signer produces the same signature.
        match c.presign_expires {
            None => {
                let mut ours = headers.clone();
                sign_headers(c.method, &c.path, &c.query, &mut ours, &c.body, &creds, &params)
                    .unwrap();
                let auth = |h: &[(String, String)]| {
                    h.iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v.clone())
                };
                prop_assert_eq!(auth(&ours), auth(&signed_headers));
            }
            Some(secs) => {
                let q = presign(
                    c.method,
                    &c.path,
                    &c.query,
                    &headers,
                    &c.body,
                    &creds,
                    &params,
                    Duration::from_secs(secs),
                )
                .unwrap();
                let expected = format!("X-Amz-Signature={aws_signature}");
                prop_assert!(q.ends_with(&expected), "{} vs {}", q, aws_signature);
            }
        }
    }
}

fn kagi_sigv4_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}
