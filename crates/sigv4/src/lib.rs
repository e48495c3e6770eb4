//! kagi-sigv4: the one AWS Signature Version 4 implementation of kagi.
//!
//! The client (`kagi-cli`) signs with it, the server (`kagi-server`) verifies with it, so the two
//! cannot drift. The crate is pure: no I/O, no clock reads (every time is an argument), no
//! global state.
//!
//! # Layout
//!
//! * [`canonical`]: the canonical request and what is derived from it, shared by both sides:
//!   URI encoding, path normalization ([`PathMode`]), canonical query, header canonicalisation,
//!   string to sign, [`SigningKey`] derivation, HMAC and constant-time verification.
//! * `sign`: [`sign_headers`] (adds `x-amz-date`, `x-amz-security-token`, `authorization`) and
//!   [`presign`] (returns the query string with the `X-Amz-*` parameters). The `*_with`
//!   variants take [`SigningSettings`] and return the intermediate strings ([`SigningOutput`]).
//! * `verify`: [`parse`] reads the claims ([`SignedInfo`]) out of an [`IncomingRequest`]
//!   (Authorization header or presigned query); the server looks up the access key, then
//!   [`verify`] / [`verify_cached`] / [`verify_with`] check time, payload hash, signed-header
//!   rules and the HMAC. Failures are [`AuthError`]s with AWS's codes and messages.
//! * `ecdsa`: SigV4a's primitives, below `sign` and `verify`: [`EcdsaKey::derive`] (the key
//!   pair of an access key and its secret, aws-c-auth's KDF), ECDSA P-256 signing
//!   ([`EcdsaKey::sign`], DER in hex, RFC 6979 nonces) and verification ([`PublicKey::verify`]),
//!   [`credential_scope_v4a`] and [`string_to_sign_v4a`].
//! * `sigv4a`: SigV4a (`AWS4-ECDSA-P256-SHA256`, what S3 Multi-Region Access Points require)
//!   on top of `sign` and `verify`, sharing their canonical request, parser and checks:
//!   [`sign_headers_v4a`] (adds `x-amz-region-set` too), [`presign_v4a`]
//!   (`X-Amz-Region-Set`), [`parse_v4a`] (a [`SignedInfo`] with `region_set`, no region) and
//!   [`verify_v4a`] with a [`PublicKey`]. [`parse`] keeps refusing SigV4a: the server does not
//!   accept it yet.
//! * `cache`: [`SigningKeyCache`], a bounded per-(secret, date, region, service) key cache;
//!   [`EcdsaKeyCache`], the same per (access key, secret) for SigV4a keys.
//! * `time`: UTC formatting/parsing of `X-Amz-Date` without a date crate.
//!
//! # Server flow
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use kagi_sigv4::*;
//!
//! // Client side.
//! let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
//! let params = SigningParams { region: "us-east-1", service: "sts", time: t };
//! let body = b"Action=GetCallerIdentity&Version=2011-06-15";
//! let mut headers = vec![
//!     ("Host".to_owned(), "127.0.0.1:4566".to_owned()),
//!     ("Content-Type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned()),
//! ];
//! sign_headers("POST", "/", "", &mut headers, body, &creds, &params).unwrap();
//!
//! // Server side.
//! let hash = sha256_hex(body);
//! let req = IncomingRequest { method: "POST", path: "/", query: "", headers: &headers, payload_sha256_hex: &hash };
//! let info = parse(&req).unwrap();
//! assert_eq!(info.access_key_id, "AKIDEXAMPLE");
//! // ... look up the secret for info.access_key_id ...
//! verify(&req, &info, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", t + Duration::from_secs(60)).unwrap();
//! let err = verify(&req, &info, "wrong secret", t).unwrap_err();
//! assert_eq!(err.code, AuthErrorCode::SignatureDoesNotMatch);
//! ```
//!
//! # Presigned URLs
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use kagi_sigv4::*;
//!
//! let creds = Credentials::new("AKIDEXAMPLE", "secret").with_session_token("token");
//! let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
//! let params = SigningParams { region: "us-east-1", service: "sts", time: t };
//! let headers = vec![("host".to_owned(), "127.0.0.1:4566".to_owned())];
//! let query = presign("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15", &headers, b"",
//!                     &creds, &params, Duration::from_secs(900)).unwrap();
//! assert!(query.starts_with("Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
//! assert!(query.contains("&X-Amz-Security-Token=token&X-Amz-Signature="));
//!
//! let hash = sha256_hex(b"");
//! let req = IncomingRequest { method: "GET", path: "/", query: &query, headers: &headers, payload_sha256_hex: &hash };
//! let info = parse(&req).unwrap();
//! assert_eq!(info.presigned_expires, Some(Duration::from_secs(900)));
//! verify(&req, &info, "secret", t + Duration::from_secs(900)).unwrap();
//! let late = verify(&req, &info, "secret", t + Duration::from_secs(901)).unwrap_err();
//! assert_eq!((late.code, late.message.as_str()), (AuthErrorCode::AccessDenied, "Request has expired"));
//! ```
//!
//! # SigV4a
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use kagi_sigv4::*;
//!
//! let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
//! let cache = EcdsaKeyCache::default();
//! let key = cache.get_or_derive(&creds.access_key_id, &creds.secret_access_key);
//! let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
//! let params = SigningParamsV4a { region_set: "*", service: "s3", time: t };
//! let mut headers = vec![("host".to_owned(), "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com".to_owned())];
//! let out = sign_headers_v4a("GET", "/k", "", &mut headers, b"", &creds, &key, &params,
//!                            &SigningSettings::default()).unwrap();
//! assert!(out.string_to_sign.starts_with("AWS4-ECDSA-P256-SHA256\n20150830T123600Z\n20150830/s3/aws4_request\n"));
//!
//! // Verification needs only the public key.
//! let hash = sha256_hex(b"");
//! let req = IncomingRequest { method: "GET", path: "/k", query: "", headers: &headers, payload_sha256_hex: &hash };
//! let info = parse_v4a(&req).unwrap();
//! assert_eq!(info.region_set.as_deref(), Some("*"));
//! verify_v4a(&req, &info, &key.public_key(), t, &VerifyOptions::default()).unwrap();
//! let other = EcdsaKey::derive("AKIDEXAMPLE", "another secret").public_key();
//! assert!(verify_v4a(&req, &info, &other, t, &VerifyOptions::default()).is_err());
//! ```
//!
//! # Tests
//!
//! `tests/vectors.rs` runs all 40 cases of the AWS SigV4 test suite (vendored from aws-sigv4
//! 1.6.4, see `tests/vectors/NOTICE`) in header and presigned mode; `tests/oracle.rs` is a
//! proptest against the `aws-sigv4` crate; `tests/botocore.rs` replays 200 requests signed by
//! botocore (`tests/botocore/gen.py`); `tests/robustness.rs` holds the never-panic and round-trip
//! properties; `tests/aws_docs.rs` the documentation's worked example; `tests/sigv4a.rs` runs
//! aws-c-auth's SigV4a suite (vendored in `tests/v4a`, see NOTICE; 38 complete cases, header
//! and presigned): derived public keys, canonical requests and strings to sign byte for byte,
//! the suite's signatures and ours verified, one changed byte rejected. `benches/verify.rs`
//! measures `verify()` (`cargo bench -p kagi-sigv4`).
//!
//! # Invariants and decisions
//!
//! * Paths and queries are handled raw, as on the wire. Non-S3 services normalize the path and
//!   encode it a second time; `s3` uses it as sent ([`PathMode::Auto`]). Query parameters are
//!   decoded (`+` is a space) and re-encoded with SigV4's `UriEncode`, then sorted by encoded
//!   name and value.
//!   A path ending in a dot segment normalizes as RFC 3986 and aws-sigv4 do (`/a/.` becomes
//!   `/a/`); botocore gives `/a` there, a path the AWS CLI never sends.
//! * Header values are trimmed and every run of ASCII whitespace (including folded lines) is
//!   collapsed to one space, as botocore does.
//! * The verifier follows the client's `SignedHeaders`, but requires `host` and every `x-amz-*`
//!   header present to be signed (presigned URLs may leave `x-amz-user-agent` and
//!   `x-amz-checksum-mode` unsigned). Consequently a session token added *after* signing (the
//!   test suite's `post-sts-header-after`) is rejected.
//! * `x-amz-content-sha256`, when sent, must equal the body's hash or be `UNSIGNED-PAYLOAD`; it
//!   is never assumed when not sent (except S3 presigned URLs, where it is the default).
//! * Header signatures must be within ±15 minutes of `now`; presigned URLs must not be more
//!   than 15 minutes in the future and are valid until `X-Amz-Date + X-Amz-Expires` (≤ 7 days).
//!   (S3's rule and message, `AccessDenied` "Request has expired". AWS's other services are
//!   stricter and also cap presigned requests at 15 minutes; kagi honours `X-Amz-Expires`.)
//! * The only test-suite case verified differently is `get-space-normalized`, whose expected
//!   canonical URI assumes single encoding (aws-sigv4 skips it for the same reason); and
//!   `post-sts-header-after` must be rejected (see above).
//! * Signatures are compared in constant time (`hmac`'s `verify_slice`).
//! * `Debug` never prints secrets, session tokens, derived keys or full signatures.
//! * SigV4a's KDF follows aws-c-auth's `key_derivation.c` exactly (candidate `<= n - 2`
//!   accepted, private key = candidate + 1, counters 1..=254), comparing the secret candidate
//!   without data-dependent branches. ECDSA signatures are verified as DER, high or low `s`
//!   (P-256 signers do not normalise). S3's `STREAMING-UNSIGNED-PAYLOAD-TRAILER` is accepted
//!   as a payload hash for the `s3` service only (the body is unsigned, as with
//!   `UNSIGNED-PAYLOAD`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
pub mod canonical;
mod ecdsa;
mod sign;
mod sigv4a;
mod time;
mod verify;

pub use cache::{EcdsaKeyCache, SigningKeyCache};
pub use canonical::{PathMode, SigningKey, sha256_hex};
pub use ecdsa::{
    ALGORITHM_V4A, EcdsaKey, PublicKey, REGION_SET_HEADER, credential_scope_v4a, string_to_sign_v4a,
};
pub use sign::{
    Credentials, SignError, SigningOutput, SigningParams, SigningSettings, TokenParam, presign,
    presign_with, sign_headers, sign_headers_with,
};
pub use sigv4a::{SigningParamsV4a, parse_v4a, presign_v4a, sign_headers_v4a, verify_v4a};
pub use time::{format_amz_date, format_date, parse_amz_date};
pub use verify::{
    AuthError, AuthErrorCode, IncomingRequest, MAX_SKEW, SIGNATURE_MISMATCH_MESSAGE, SignedInfo,
    VerifyOptions, check_time, parse, verify, verify_cached, verify_with,
};

/// Longest presigned URL lifetime SigV4 allows (7 days).
pub const MAX_PRESIGN_EXPIRES_SECS: u64 = 604_800;

/// Shows at most the first 8 characters of a signature.
pub(crate) fn redact_signature(sig: &str) -> String {
    match sig.get(..8) {
        Some(p) if sig.len() > 8 => format!("{p}…"),
        _ => "<redacted>".to_owned(),
    }
}

pub(crate) mod hex {
    const HEX: &[u8; 16] = b"0123456789abcdef";

    pub fn encode(bytes: &[u8]) -> String {
        let mut s = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 15)] as char);
        }
        s
    }

    fn val(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }

    /// Decodes an even number of hex characters.
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let b = s.as_bytes();
        if !b.len().is_multiple_of(2) {
            return None;
        }
        b.chunks_exact(2)
            .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
            .collect()
    }

    /// Decodes exactly 64 hex characters.
    pub fn decode32(s: &str) -> Option<[u8; 32]> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = val(b[2 * i])? << 4 | val(b[2 * i + 1])?;
        }
        Some(out)
    }
}
