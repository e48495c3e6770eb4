//! Client side: header signing and presigned URLs.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::canonical::{
    self, ALGORITHM, PathMode, SigningKey, UNSIGNED_PAYLOAD, canonical_headers, canonical_query,
    canonical_uri, credential_scope, percent_decode, sha256_hex, string_to_sign, uri_encode,
};
use crate::ecdsa::{
    ALGORITHM_V4A, EcdsaKey, REGION_SET_HEADER, credential_scope_v4a, string_to_sign_v4a,
};
use crate::time::{format_amz_date, format_date};

/// An access key, its secret and an optional session token. `Debug` redacts the secret and the
/// token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…` / `ASIA…`
    pub access_key_id: String,
    /// The secret access key. Never logged.
    pub secret_access_key: String,
    /// Session token of temporary credentials. Never logged.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Adds a session token.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where and when a request is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningParams<'a> {
    /// Region of the credential scope (`us-east-1`).
    pub region: &'a str,
    /// Signing name of the service (`iam`, `sts`, `ecr`, `s3`).
    pub service: &'a str,
    /// Signing time; becomes `X-Amz-Date`.
    pub time: SystemTime,
}

/// Knobs that almost nobody needs; [`Default`] is what the AWS CLI does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigningSettings {
    /// Canonical URI rules (default: from the service).
    pub path_mode: PathMode,
    /// The query parameter a presigned URL carries the session token in.
    pub token_param: TokenParam,
}

/// Where [`presign_with`] puts the credentials' session token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenParam {
    /// `X-Amz-Security-Token` (STS session credentials).
    #[default]
    SecurityToken,
    /// `X-Amz-S3session-Token`: an S3 Express One Zone `CreateSession` token (botocore's
    /// `S3ExpressQueryAuth`), in the same place among the `X-Amz-*` parameters.
    S3Session,
}

impl TokenParam {
    /// The parameter's name.
    pub fn name(self) -> &'static str {
        match self {
            TokenParam::SecurityToken => "X-Amz-Security-Token",
            TokenParam::S3Session => "X-Amz-S3session-Token",
        }
    }
}

/// What signing computed, for diagnostics and tests. `Debug` redacts the signature and does not
/// print the canonical request (it may contain the session token).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningOutput {
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// Lower-case hex signature.
    pub signature: String,
}

impl fmt::Debug for SigningOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningOutput")
            .field("string_to_sign", &self.string_to_sign)
            .field("signature", &crate::redact_signature(&self.signature))
            .finish_non_exhaustive()
    }
}

/// Why a request could not be signed (programming errors on the caller's side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignError {
    /// `headers` has no `host` header.
    MissingHost,
    /// Presign expiry outside 1 s ..= 7 days.
    InvalidExpires(Duration),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::MissingHost => f.write_str("the request to sign has no Host header"),
            SignError::InvalidExpires(d) => write!(
                f,
                "presigned URL expiry must be between 1 and 604800 seconds, got {}",
                d.as_secs()
            ),
        }
    }
}

impl std::error::Error for SignError {}

/// Headers never signed: computed by signing itself, or rewritten by proxies and HTTP stacks
/// (the union of botocore's and aws-sigv4's exclusion lists).
const EXCLUDED_HEADERS: &[&str] = &[
    "authorization",
    "user-agent",
    "x-amzn-trace-id",
    "transfer-encoding",
    "expect",
];

/// Additionally not signed in presigned URLs (aws-sigv4 behaviour).
const PRESIGN_EXCLUDED_HEADERS: &[&str] = &["x-amz-user-agent", "x-amz-checksum-mode"];

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn headers_to_sign(headers: &[(String, String)], presign: bool) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| {
            let skip = n.is_empty()
                || EXCLUDED_HEADERS.contains(&n.as_str())
                || (presign && PRESIGN_EXCLUDED_HEADERS.contains(&n.as_str()));
            !skip
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Signs a request in place with an `Authorization` header: removes any previous
/// `authorization`, `x-amz-date` and `x-amz-security-token`, then adds `x-amz-date`,
/// `x-amz-security-token` (when the credentials have a session token) and `authorization`.
///
/// `path` is the raw, already-encoded request path and `query` the raw query string (without
/// `?`), exactly as they will be sent. `host` must already be in `headers`. Every header in
/// `headers` is signed except `authorization`, `user-agent`, `x-amzn-trace-id`,
/// `transfer-encoding` and `expect`. The payload hash is `x-amz-content-sha256` if that header is
/// present (it may be `UNSIGNED-PAYLOAD`), the SHA-256 of `body` otherwise.
pub fn sign_headers(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &Credentials,
    params: &SigningParams<'_>,
) -> Result<(), SignError> {
    sign_headers_with(
        method,
        path,
        query,
        headers,
        body,
        creds,
        params,
        &SigningSettings::default(),
    )
    .map(|_| ())
}

/// [`sign_headers`] with explicit settings, returning the intermediate strings.
#[allow(clippy::too_many_arguments)]
pub fn sign_headers_with(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &Credentials,
    params: &SigningParams<'_>,
    settings: &SigningSettings,
) -> Result<SigningOutput, SignError> {
    let scheme = Scheme::V4 {
        region: params.region,
    };
    let (service, time) = (params.service, params.time);
    sign_headers_as(
        method, path, query, headers, body, creds, service, time, settings, &scheme,
    )
}

/// How the signature is made: SigV4 (HMAC, scoped to one region) or SigV4a (ECDSA, scoped to a
/// region set). Everything else is shared.
pub(crate) enum Scheme<'a> {
    /// `AWS4-HMAC-SHA256`
    V4 {
        /// Credential scope region.
        region: &'a str,
    },
    /// `AWS4-ECDSA-P256-SHA256`
    V4a {
        /// Comma-separated region set (`x-amz-region-set`).
        region_set: &'a str,
        /// The key derived from the credentials.
        key: &'a EcdsaKey,
    },
}

impl Scheme<'_> {
    fn algorithm(&self) -> &'static str {
        match self {
            Scheme::V4 { .. } => ALGORITHM,
            Scheme::V4a { .. } => ALGORITHM_V4A,
        }
    }

    fn scope(&self, date: &str, service: &str) -> String {
        match self {
            Scheme::V4 { region } => credential_scope(date, region, service),
            Scheme::V4a { .. } => credential_scope_v4a(date, service),
        }
    }

    fn string_to_sign(&self, amz_date: &str, scope: &str, creq: &str) -> String {
        match self {
            Scheme::V4 { .. } => string_to_sign(amz_date, scope, creq),
            Scheme::V4a { .. } => string_to_sign_v4a(amz_date, scope, creq),
        }
    }

    fn sign(&self, secret: &str, date: &str, service: &str, sts: &str) -> String {
        match self {
            Scheme::V4 { region } => SigningKey::derive(secret, date, region, service).sign(sts),
            Scheme::V4a { key, .. } => key.sign(sts),
        }
    }
}

/// [`sign_headers_with`] for either scheme.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign_headers_as(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &Credentials,
    service: &str,
    time: SystemTime,
    settings: &SigningSettings,
    scheme: &Scheme<'_>,
) -> Result<SigningOutput, SignError> {
    if header(headers, "host").is_none() {
        return Err(SignError::MissingHost);
    }
    let v4a = matches!(scheme, Scheme::V4a { .. });
    headers.retain(|(n, _)| {
        !(n.eq_ignore_ascii_case("authorization")
            || n.eq_ignore_ascii_case("x-amz-date")
            || n.eq_ignore_ascii_case("x-amz-security-token")
            || (v4a && n.eq_ignore_ascii_case(REGION_SET_HEADER)))
    });
    let amz_date = format_amz_date(time);
    headers.push(("x-amz-date".to_owned(), amz_date.clone()));
    if let Scheme::V4a { region_set, .. } = scheme {
        headers.push((REGION_SET_HEADER.to_owned(), (*region_set).to_owned()));
    }
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token".to_owned(), token.clone()));
    }
    let payload_hash = match header(headers, "x-amz-content-sha256") {
        Some(v) => v.trim().to_owned(),
        None => sha256_hex(body),
    };
    let signed = headers_to_sign(headers, false);
    let signed_str = signed.join(";");
    let creq = canonical::canonical_request(
        method,
        &canonical_uri(path, settings.path_mode, service),
        &canonical_query(query, false),
        &canonical_headers(headers, &signed),
        &signed_str,
        &payload_hash,
    );
    let date = format_date(time);
    let scope = scheme.scope(&date, service);
    let sts = scheme.string_to_sign(&amz_date, &scope, &creq);
    let signature = scheme.sign(&creds.secret_access_key, &date, service, &sts);
    headers.push((
        "authorization".to_owned(),
        format!(
            "{} Credential={}/{scope}, SignedHeaders={signed_str}, Signature={signature}",
            scheme.algorithm(),
            creds.access_key_id
        ),
    ));
    Ok(SigningOutput {
        canonical_request: creq,
        string_to_sign: sts,
        signature,
    })
}

/// The parameters presigning adds (the verifier reads them back).
const ADDED_BY_PRESIGN: [&str; 8] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-S3session-Token",
    "X-Amz-Signature",
];

/// Also added by SigV4a presigning.
const ADDED_BY_PRESIGN_V4A: &str = "X-Amz-Region-Set";

/// `query` without the parameters named in [`ADDED_BY_PRESIGN`]; everything else byte for byte.
fn without_presign_params(query: &str, v4a: bool) -> String {
    query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let name = percent_decode(name, true);
            let added = ADDED_BY_PRESIGN
                .iter()
                .any(|p| p.as_bytes() == name.as_slice())
                || (v4a && ADDED_BY_PRESIGN_V4A.as_bytes() == name.as_slice());
            !added
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Presigns a request: returns the new raw query string (the original `query` followed by
/// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
/// `X-Amz-Security-Token` when there is a session token, and `X-Amz-Signature`). Those
/// parameters already in `query` (a URL presigned again) are replaced, as botocore does, so
/// the URL never carries two signatures.
///
/// `headers` (with `host`) are the headers the URL's user will send; all are signed except the
/// ones [`sign_headers`] skips plus `x-amz-user-agent` and `x-amz-checksum-mode`. The payload
/// hash is `x-amz-content-sha256` if present, `UNSIGNED-PAYLOAD` for `s3`, and the SHA-256 of
/// `body` otherwise. `expires_in` must be within 1 s ..= 7 days.
#[allow(clippy::too_many_arguments)]
pub fn presign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &Credentials,
    params: &SigningParams<'_>,
    expires_in: Duration,
) -> Result<String, SignError> {
    presign_with(
        method,
        path,
        query,
        headers,
        body,
        creds,
        params,
        expires_in,
        &SigningSettings::default(),
    )
    .map(|(q, _)| q)
}

/// [`presign`] with explicit settings, also returning the intermediate strings.
#[allow(clippy::too_many_arguments)]
pub fn presign_with(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &Credentials,
    params: &SigningParams<'_>,
    expires_in: Duration,
    settings: &SigningSettings,
) -> Result<(String, SigningOutput), SignError> {
    let scheme = Scheme::V4 {
        region: params.region,
    };
    let (service, time) = (params.service, params.time);
    presign_as(
        method, path, query, headers, body, creds, service, time, expires_in, settings, &scheme,
    )
}

/// [`presign_with`] for either scheme.
#[allow(clippy::too_many_arguments)]
pub(crate) fn presign_as(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &Credentials,
    service: &str,
    time: SystemTime,
    expires_in: Duration,
    settings: &SigningSettings,
    scheme: &Scheme<'_>,
) -> Result<(String, SigningOutput), SignError> {
    if header(headers, "host").is_none() {
        return Err(SignError::MissingHost);
    }
    let secs = expires_in.as_secs();
    if !(1..=crate::MAX_PRESIGN_EXPIRES_SECS).contains(&secs) {
        return Err(SignError::InvalidExpires(expires_in));
    }
    let amz_date = format_amz_date(time);
    let date = format_date(time);
    let scope = scheme.scope(&date, service);
    let signed = headers_to_sign(headers, true);
    let signed_str = signed.join(";");

    let mut q = without_presign_params(query, matches!(scheme, Scheme::V4a { .. }));
    let mut add = |k: &str, v: &str| {
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str(k);
        q.push('=');
        q.push_str(&uri_encode(v.as_bytes(), false));
    };
    add("X-Amz-Algorithm", scheme.algorithm());
    add(
        "X-Amz-Credential",
        &format!("{}/{scope}", creds.access_key_id),
    );
    add("X-Amz-Date", &amz_date);
    // The order of the signers people compare with: botocore (SigV4), aws-c-auth (SigV4a).
    match scheme {
        Scheme::V4 { .. } => {
            add("X-Amz-Expires", &secs.to_string());
            add("X-Amz-SignedHeaders", &signed_str);
            if let Some(token) = &creds.session_token {
                add(settings.token_param.name(), token);
            }
        }
        Scheme::V4a { region_set, .. } => {
            add("X-Amz-SignedHeaders", &signed_str);
            add("X-Amz-Expires", &secs.to_string());
            if let Some(token) = &creds.session_token {
                add(settings.token_param.name(), token);
            }
            add(ADDED_BY_PRESIGN_V4A, region_set);
        }
    }

    let payload_hash = match header(headers, "x-amz-content-sha256") {
        Some(v) => v.trim().to_owned(),
        None if crate::canonical::is_s3(service) => UNSIGNED_PAYLOAD.to_owned(),
        None => sha256_hex(body),
    };
    let creq = canonical::canonical_request(
        method,
        &canonical_uri(path, settings.path_mode, service),
        &canonical_query(&q, false),
        &canonical_headers(headers, &signed),
        &signed_str,
        &payload_hash,
    );
    let sts = scheme.string_to_sign(&amz_date, &scope, &creq);
    let signature = scheme.sign(&creds.secret_access_key, &date, service, &sts);
    q.push_str("&X-Amz-Signature=");
    q.push_str(&signature);
    Ok((
        q,
        SigningOutput {
            canonical_request: creq,
            string_to_sign: sts,
            signature,
        },
    ))
}
