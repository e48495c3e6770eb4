//! SigV4a (`AWS4-ECDSA-P256-SHA256`): the asymmetric variant of SigV4 that S3 Multi-Region
//! Access Points require.
//!
//! Everything but the key and the signature is SigV4's (the same canonical request code, see
//! [`crate::canonical`]), with three differences:
//!
//! * the credential scope has no region: `DATE/SERVICE/aws4_request`;
//! * the region set (`*`, or regions joined with `,`) travels in the signed `x-amz-region-set`
//!   header, or the `X-Amz-Region-Set` query parameter of a presigned URL;
//! * the signature is ECDSA P-256 over SHA-256 of the string to sign (whose first line is
//!   `AWS4-ECDSA-P256-SHA256`), DER-encoded, in hex.
//!
//! The key pair is derived from the credentials ([`EcdsaKey::derive`], the KDF of aws-c-auth's
//! `key_derivation.c`: HMAC-SHA256 in counter mode, NIST SP 800-108), so a server that knows the
//! secret can compute the public key and verify ([`verify_v4a`]). Signing uses RFC 6979
//! deterministic nonces (no random source: the crate stays pure); AWS's signers pick random
//! nonces, so only verification, not signature bytes, can be compared with theirs.

use std::time::{Duration, SystemTime};

use crate::ecdsa::{EcdsaKey, PublicKey, string_to_sign_v4a};
use crate::sign::{Credentials, Scheme, SignError, SigningOutput, SigningSettings};
use crate::verify::{
    Algorithm, AuthError, IncomingRequest, SignedInfo, VerifyOptions, checked_canonical_request,
    mismatch,
};

/// Where and when a request is signed with SigV4a.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningParamsV4a<'a> {
    /// The region set: `*` or regions joined with `,` (becomes `x-amz-region-set`).
    pub region_set: &'a str,
    /// Signing name of the service (`s3`).
    pub service: &'a str,
    /// Signing time; becomes `X-Amz-Date`.
    pub time: SystemTime,
}

/// [`crate::sign_headers`] with SigV4a: adds `x-amz-date`, `x-amz-region-set`,
/// `x-amz-security-token` (with a session token) and `authorization`. `key` is
/// [`EcdsaKey::derive`] of `creds` (take it from an [`crate::EcdsaKeyCache`]: deriving costs a
/// scalar multiplication).
#[allow(clippy::too_many_arguments)]
pub fn sign_headers_v4a(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &Credentials,
    key: &EcdsaKey,
    params: &SigningParamsV4a<'_>,
    settings: &SigningSettings,
) -> Result<SigningOutput, SignError> {
    let scheme = Scheme::V4a {
        region_set: params.region_set,
        key,
    };
    crate::sign::sign_headers_as(
        method,
        path,
        query,
        headers,
        body,
        creds,
        params.service,
        params.time,
        settings,
        &scheme,
    )
}

/// [`crate::presign_with`] with SigV4a: the query also gets `X-Amz-Region-Set`.
#[allow(clippy::too_many_arguments)]
pub fn presign_v4a(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &Credentials,
    key: &EcdsaKey,
    params: &SigningParamsV4a<'_>,
    expires_in: Duration,
    settings: &SigningSettings,
) -> Result<(String, SigningOutput), SignError> {
    let scheme = Scheme::V4a {
        region_set: params.region_set,
        key,
    };
    crate::sign::presign_as(
        method,
        path,
        query,
        headers,
        body,
        creds,
        params.service,
        params.time,
        expires_in,
        settings,
        &scheme,
    )
}

/// [`crate::parse`] for SigV4a: reads `AWS4-ECDSA-P256-SHA256` claims (Authorization header
/// or presigned query). The result has an empty `region` and the region set in `region_set`.
/// (`crate::parse` keeps answering "Unsupported AWS 'algorithm'" for SigV4a.)
pub fn parse_v4a(req: &IncomingRequest<'_>) -> Result<SignedInfo, AuthError> {
    crate::verify::parse_as(req, Algorithm::EcdsaP256)
}

/// [`crate::verify_with`] for SigV4a, with the signer's public key (a server that knows the
/// secret derives it: `EcdsaKey::derive(..).public_key()`). The same checks (time, payload
/// hash, every `x-amz-*` header signed, so `x-amz-region-set` too), then ECDSA. Whether the
/// region set covers the server's region is the caller's decision (`info.region_set`).
pub fn verify_v4a(
    req: &IncomingRequest<'_>,
    info: &SignedInfo,
    public_key: &PublicKey,
    now: SystemTime,
    opts: &VerifyOptions<'_>,
) -> Result<(), AuthError> {
    if info.region_set.is_none() {
        return Err(AuthError::new(
            crate::AuthErrorCode::IncompleteSignature,
            format!(
                "Unsupported AWS 'algorithm': '{}'",
                crate::canonical::ALGORITHM
            ),
        ));
    }
    let creq = checked_canonical_request(req, info, now, opts)?;
    let sts = string_to_sign_v4a(&info.amz_date, &info.scope(), &creq);
    if public_key.verify(&sts, &info.signature) {
        Ok(())
    } else {
        Err(mismatch(creq, sts))
    }
}
