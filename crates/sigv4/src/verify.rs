//! Server side: parsing the signature out of a request and verifying it.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::cache::SigningKeyCache;
use crate::canonical::{
    self, ALGORITHM, PathMode, SigningKey, UNSIGNED_PAYLOAD, canonical_headers, canonical_query,
    canonical_uri, credential_scope, parse_query, string_to_sign,
};
use crate::time::{format_amz_date, parse_amz_date, parse_http_date};

/// Allowed clock skew between the signer and the verifier (AWS: 15 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The AWS error code of an authentication failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorCode {
    /// No `Authorization` header and no presigned query parameters.
    MissingAuthenticationToken,
    /// The signature is syntactically incomplete or malformed.
    IncompleteSignature,
    /// Wrong signature, wrong scope, clock skew, unsigned headers.
    SignatureDoesNotMatch,
    /// Presigned URL used after `X-Amz-Expires` (S3's `AccessDenied` "Request has expired").
    AccessDenied,
    /// Presigned query parameters are malformed (`X-Amz-Expires` out of range, wrong algorithm).
    AuthorizationQueryParametersError,
    /// `x-amz-content-sha256` does not match the body.
    XAmzContentSHA256Mismatch,
    /// An unusable `x-amz-content-sha256` value.
    InvalidArgument,
}

impl AuthErrorCode {
    /// The code as the query (XML) protocol writes it, e.g. `SignatureDoesNotMatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthErrorCode::MissingAuthenticationToken => "MissingAuthenticationToken",
            AuthErrorCode::IncompleteSignature => "IncompleteSignature",
            AuthErrorCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            AuthErrorCode::AccessDenied => "AccessDenied",
            AuthErrorCode::AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            AuthErrorCode::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            AuthErrorCode::InvalidArgument => "InvalidArgument",
        }
    }

    /// The code as JSON 1.1 services (ECR) write it, e.g. `InvalidSignatureException`.
    pub fn json_code(self) -> &'static str {
        match self {
            AuthErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthErrorCode::IncompleteSignature => "IncompleteSignatureException",
            AuthErrorCode::SignatureDoesNotMatch => "InvalidSignatureException",
            AuthErrorCode::AccessDenied => "AccessDeniedException",
            other => other.as_str(),
        }
    }

    /// HTTP status AWS's query-protocol (XML) services answer with. JSON 1.1 services such as
    /// ECR answer 400 for every authentication error.
    pub fn http_status(self) -> u16 {
        match self {
            AuthErrorCode::IncompleteSignature
            | AuthErrorCode::AuthorizationQueryParametersError
            | AuthErrorCode::XAmzContentSHA256Mismatch
            | AuthErrorCode::InvalidArgument => 400,
            AuthErrorCode::MissingAuthenticationToken
            | AuthErrorCode::SignatureDoesNotMatch
            | AuthErrorCode::AccessDenied => 403,
        }
    }
}

impl fmt::Display for AuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentication failure in AWS's shape (code + message). On a signature mismatch the
/// canonical request and string to sign the server computed are attached for diagnostics
/// (AWS's "The Canonical String for this request should have been …"); `Debug` omits them
/// because the canonical request can contain the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    /// AWS error code.
    pub code: AuthErrorCode,
    /// AWS error message.
    pub message: String,
    /// Canonical request the server computed (only for `SignatureDoesNotMatch` on the HMAC).
    pub canonical_request: Option<String>,
    /// String to sign the server computed (only for `SignatureDoesNotMatch` on the HMAC).
    pub string_to_sign: Option<String>,
}

impl AuthError {
    /// An error without diagnostics.
    pub fn new(code: AuthErrorCode, message: impl Into<String>) -> Self {
        AuthError {
            code,
            message: message.into(),
            canonical_request: None,
            string_to_sign: None,
        }
    }

    /// `SignatureDoesNotMatch` with AWS's standard text.
    pub fn signature_mismatch() -> Self {
        AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            SIGNATURE_MISMATCH_MESSAGE,
        )
    }

    /// The message with AWS's diagnostic suffix, as some AWS services return it on a
    /// signature mismatch:
    ///
    /// ```text
    /// <message>
    ///
    /// The Canonical String for this request should have been
    /// '<canonical request>'
    ///
    /// The String-to-Sign should have been
    /// '<string to sign>'
    /// ```
    ///
    /// Only for the requester: the canonical request contains its session token.
    pub fn detailed_message(&self) -> String {
        match (&self.canonical_request, &self.string_to_sign) {
            (Some(creq), Some(sts)) => format!(
                "{}\n\nThe Canonical String for this request should have been\n'{creq}'\n\nThe String-to-Sign should have been\n'{sts}'\n",
                self.message
            ),
            _ => self.message.clone(),
        }
    }

    /// For servers that serve one region: "Credential should be scoped to a valid region, not 'x'. "
    pub fn wrong_region(region: &str) -> Self {
        AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!("Credential should be scoped to a valid region, not '{region}'. "),
        )
    }

    /// "Credential should be scoped to correct service: 'sts'. "
    pub fn wrong_service(expected_service: &str) -> Self {
        AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!("Credential should be scoped to correct service: '{expected_service}'. "),
        )
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AuthError {}

/// AWS's text for a wrong signature.
pub const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A request as the server received it. `Debug` redacts the `Authorization` and
/// `X-Amz-Security-Token` headers and the `X-Amz-Signature` / `X-Amz-Security-Token` query
/// parameters.
#[derive(Clone, Copy)]
pub struct IncomingRequest<'a> {
    /// HTTP method (`POST`).
    pub method: &'a str,
    /// Raw request path as received (still percent-encoded).
    pub path: &'a str,
    /// Raw query string as received (without `?`; empty if none).
    pub query: &'a str,
    /// All request headers, names in any case, repeated headers as separate entries.
    pub headers: &'a [(String, String)],
    /// Lower-case hex SHA-256 of the request body.
    pub payload_sha256_hex: &'a str,
}

const SENSITIVE_HEADERS: [&str; 2] = ["authorization", "x-amz-security-token"];
const SENSITIVE_PARAMS: [&str; 2] = ["X-Amz-Signature", "X-Amz-Security-Token"];

impl fmt::Debug for IncomingRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let sensitive = SENSITIVE_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (
                    n.as_str(),
                    if sensitive { "<redacted>" } else { v.as_str() },
                )
            })
            .collect();
        let query: Vec<String> = self
            .query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if SENSITIVE_PARAMS.contains(&k) => format!("{k}=<redacted>"),
                _ => pair.to_owned(),
            })
            .collect();
        f.debug_struct("IncomingRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query.join("&"))
            .field("headers", &headers)
            .field("payload_sha256_hex", &self.payload_sha256_hex)
            .finish()
    }
}

/// What the request claims: who signed it, for which scope, when. Produced by [`parse`]; the
/// server looks up `access_key_id` (and `session_token`), then calls [`verify`]. `Debug` redacts
/// the token and shortens the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedInfo {
    /// Access key id from the credential scope.
    pub access_key_id: String,
    /// Credential scope date, `YYYYMMDD`.
    pub date: String,
    /// Credential scope region (empty for SigV4a, whose scope has no region).
    pub region: String,
    /// SigV4a only: the region set (`x-amz-region-set` / `X-Amz-Region-Set`) as sent,
    /// comma-separated. `None` for SigV4.
    pub region_set: Option<String>,
    /// Credential scope service.
    pub service: String,
    /// Request time exactly as sent (`X-Amz-Date`, or the `Date` header in basic format).
    pub amz_date: String,
    /// Request time.
    pub time: SystemTime,
    /// Signed header names, lower-case, in the order sent.
    pub signed_headers: Vec<String>,
    /// Hex signature as sent.
    pub signature: String,
    /// `X-Amz-Security-Token` (header or presigned query parameter).
    pub session_token: Option<String>,
    /// `Some(X-Amz-Expires)` for presigned URLs, `None` for `Authorization` headers.
    pub presigned_expires: Option<Duration>,
}

impl SignedInfo {
    /// Whether the signature came from presigned query parameters.
    pub fn is_presigned(&self) -> bool {
        self.presigned_expires.is_some()
    }

    /// `DATE/REGION/SERVICE/aws4_request` (SigV4a: `DATE/SERVICE/aws4_request`)
    pub fn scope(&self) -> String {
        match self.region_set {
            None => credential_scope(&self.date, &self.region, &self.service),
            Some(_) => crate::ecdsa::credential_scope_v4a(&self.date, &self.service),
        }
    }
}

impl fmt::Debug for SignedInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedInfo")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("region_set", &self.region_set)
            .field("service", &self.service)
            .field("amz_date", &self.amz_date)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &crate::redact_signature(&self.signature))
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("presigned_expires", &self.presigned_expires)
            .finish()
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn incomplete(msg: impl Into<String>) -> AuthError {
    AuthError::new(AuthErrorCode::IncompleteSignature, msg)
}

fn query_error(msg: impl Into<String>) -> AuthError {
    AuthError::new(AuthErrorCode::AuthorizationQueryParametersError, msg)
}

const PRESIGN_PARAMS: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
];

/// Extracts the signature claims from a request (Authorization header or presigned query).
///
/// Checks only syntax and self-consistency (the credential scope's date must be the date of
/// `X-Amz-Date`); the server then looks the access key up and calls [`verify`].
pub fn parse(req: &IncomingRequest<'_>) -> Result<SignedInfo, AuthError> {
    parse_as(req, Algorithm::HmacSha256)
}

/// The two signature algorithms: SigV4 and SigV4a.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// `AWS4-HMAC-SHA256`, scope `DATE/REGION/SERVICE/aws4_request`.
    HmacSha256,
    /// `AWS4-ECDSA-P256-SHA256`, scope `DATE/SERVICE/aws4_request` plus a region set.
    EcdsaP256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => ALGORITHM,
            Algorithm::EcdsaP256 => crate::ecdsa::ALGORITHM_V4A,
        }
    }
}

/// [`parse`] for one algorithm (the other one is "unsupported").
pub(crate) fn parse_as(req: &IncomingRequest<'_>, alg: Algorithm) -> Result<SignedInfo, AuthError> {
    let auth = header(req.headers, "authorization");
    let query = parse_query(req.query);
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    let presigned = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"]
        .iter()
        .any(|p| q(p).is_some());
    match (auth, presigned) {
        (None, false) => Err(AuthError::new(
            AuthErrorCode::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        )),
        (Some(_), true) => Err(AuthError::new(
            AuthErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        (Some(value), false) => parse_authorization(value, req.headers, alg),
        (None, true) => parse_presigned(&q, alg),
    }
}

struct Credential {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
}

fn parse_credential(cred: &str, alg: Algorithm) -> Result<Credential, AuthError> {
    let mut parts: Vec<&str> = cred.split('/').collect();
    let (count, example) = match alg {
        Algorithm::HmacSha256 => (
            5,
            "5 slash-delimited elements, e.g. keyid/date/region/service/term",
        ),
        Algorithm::EcdsaP256 => (
            4,
            "4 slash-delimited elements, e.g. keyid/date/service/term",
        ),
    };
    if parts.len() != count || parts[0].is_empty() {
        return Err(incomplete(format!(
            "Credential must have exactly {example}, got '{cred}'"
        )));
    }
    if parts[count - 1] != "aws4_request" {
        return Err(AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                parts[count - 1]
            ),
        ));
    }
    if alg == Algorithm::EcdsaP256 {
        parts.insert(2, "");
    }
    Ok(Credential {
        access_key_id: parts[0].to_owned(),
        date: parts[1].to_owned(),
        region: parts[2].to_owned(),
        service: parts[3].to_owned(),
    })
}

/// SigV4a's region set (`x-amz-region-set` header or `X-Amz-Region-Set` parameter), required;
/// `None` for SigV4.
fn region_set(alg: Algorithm, sent: Option<String>) -> Result<Option<String>, AuthError> {
    match (alg, sent) {
        (Algorithm::HmacSha256, _) => Ok(None),
        (Algorithm::EcdsaP256, Some(set)) if !set.trim().is_empty() => {
            Ok(Some(set.trim().to_owned()))
        }
        (Algorithm::EcdsaP256, _) => Err(incomplete(
            "AWS4-ECDSA-P256-SHA256 requires the 'X-Amz-Region-Set' header or query parameter.",
        )),
    }
}

fn check_scope_date(cred: &Credential, amz_date: &str) -> Result<(), AuthError> {
    if amz_date.get(..8) != Some(cred.date.as_str()) {
        return Err(AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                cred.date,
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        ));
    }
    Ok(())
}

fn bad_date(value: &str) -> AuthError {
    incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

fn split_signed_headers(s: &str) -> Vec<String> {
    s.split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

fn parse_authorization(
    value: &str,
    headers: &[(String, String)],
    alg: Algorithm,
) -> Result<SignedInfo, AuthError> {
    let trimmed = value.trim();
    let (algorithm, rest) = trimmed.split_once([' ', '\t']).unwrap_or((trimmed, ""));
    let (mut credential, mut signed, mut signature) = (None, None, None);
    if algorithm == alg.name() {
        for part in rest.split(',') {
            let Some((k, v)) = part.trim().split_once('=') else {
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "Credential" if !v.is_empty() => credential = Some(v),
                "SignedHeaders" if !v.is_empty() => signed = Some(v),
                "Signature" if !v.is_empty() => signature = Some(v),
                _ => {}
            }
        }
    } else if algorithm.starts_with("AWS4-") {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let x_amz_date = header(headers, "x-amz-date");
    let date_header = header(headers, "date");
    let mut missing = String::new();
    if credential.is_none() {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if x_amz_date.is_none() && date_header.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !missing.is_empty() {
        missing.push_str("Authorization=");
        missing.push_str(value);
        return Err(incomplete(missing));
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        unreachable!("checked above")
    };
    let cred = parse_credential(credential, alg)?;
    let region_set = region_set(alg, header(headers, "x-amz-region-set").map(str::to_owned))?;
    let (amz_date, time) = match (x_amz_date, date_header) {
        (Some(d), _) => {
            let d = d.trim();
            (d.to_owned(), parse_amz_date(d).ok_or_else(|| bad_date(d))?)
        }
        (None, Some(d)) => {
            let t = parse_http_date(d)
                .or_else(|| parse_amz_date(d.trim()))
                .ok_or_else(|| bad_date(d))?;
            (format_amz_date(t), t)
        }
        (None, None) => unreachable!("checked above"),
    };
    check_scope_date(&cred, &amz_date)?;
    Ok(SignedInfo {
        access_key_id: cred.access_key_id,
        date: cred.date,
        region: cred.region,
        region_set,
        service: cred.service,
        amz_date,
        time,
        signed_headers: split_signed_headers(signed),
        signature: signature.to_owned(),
        session_token: header(headers, "x-amz-security-token").map(|t| t.trim().to_owned()),
        presigned_expires: None,
    })
}

fn parse_presigned(
    q: &dyn Fn(&str) -> Option<String>,
    alg: Algorithm,
) -> Result<SignedInfo, AuthError> {
    if PRESIGN_PARAMS.iter().any(|p| q(p).is_none()) {
        return Err(query_error(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. Re-examine the query-string parameters.",
        ));
    }
    let get = |p: &str| q(p).unwrap_or_default();
    if get("X-Amz-Algorithm") != alg.name() {
        return Err(query_error(format!(
            "X-Amz-Algorithm only supports \"{}\"",
            alg.name()
        )));
    }
    let expires_raw = get("X-Amz-Expires");
    let expires: i64 = expires_raw
        .trim()
        .parse()
        .map_err(|_| query_error("X-Amz-Expires should be a number"))?;
    if expires < 0 {
        return Err(query_error("X-Amz-Expires must be non-negative"));
    }
    if expires > crate::MAX_PRESIGN_EXPIRES_SECS as i64 {
        return Err(query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let cred = parse_credential(&get("X-Amz-Credential"), alg)?;
    let region_set = region_set(alg, q("X-Amz-Region-Set"))?;
    let amz_date = get("X-Amz-Date");
    let time = parse_amz_date(&amz_date).ok_or_else(|| bad_date(&amz_date))?;
    check_scope_date(&cred, &amz_date)?;
    Ok(SignedInfo {
        access_key_id: cred.access_key_id,
        date: cred.date,
        region: cred.region,
        region_set,
        service: cred.service,
        amz_date,
        time,
        signed_headers: split_signed_headers(&get("X-Amz-SignedHeaders")),
        signature: get("X-Amz-Signature"),
        session_token: q("X-Amz-Security-Token"),
        presigned_expires: Some(Duration::from_secs(expires as u64)),
    })
}

/// Verification knobs; the [`Default`] is right for IAM, STS, ECR (and S3 via `Auto`).
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Canonical URI rules (default: from the credential scope's service).
    pub path_mode: PathMode,
    /// Derived-key cache (see [`SigningKeyCache`]).
    pub cache: Option<&'a SigningKeyCache>,
}

/// Verifies `info` (from [`parse`]) against the request with the secret of
/// `info.access_key_id`, at server time `now`. Checks, in order: clock skew (±15 min) or
/// presigned expiry, the payload hash, that `host` and every `x-amz-*` header are signed, then
/// the HMAC in constant time.
pub fn verify(
    req: &IncomingRequest<'_>,
    info: &SignedInfo,
    secret_access_key: &str,
    now: SystemTime,
) -> Result<(), AuthError> {
    verify_with(req, info, secret_access_key, now, &VerifyOptions::default())
}

/// [`verify`] using a [`SigningKeyCache`].
pub fn verify_cached(
    req: &IncomingRequest<'_>,
    info: &SignedInfo,
    secret_access_key: &str,
    now: SystemTime,
    cache: &SigningKeyCache,
) -> Result<(), AuthError> {
    let opts = VerifyOptions {
        cache: Some(cache),
        ..VerifyOptions::default()
    };
    verify_with(req, info, secret_access_key, now, &opts)
}

fn add(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or(t)
}

fn sub(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_sub(d).unwrap_or(std::time::UNIX_EPOCH)
}

/// Checks the request time against `now`: ±15 minutes for header signatures; for presigned URLs
/// not more than 15 minutes in the future and not past `X-Amz-Expires`.
pub fn check_time(info: &SignedInfo, now: SystemTime) -> Result<(), AuthError> {
    let latest = add(now, MAX_SKEW);
    if info.time > latest {
        return Err(AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                info.amz_date,
                format_amz_date(latest),
                format_amz_date(now)
            ),
        ));
    }
    match info.presigned_expires {
        None => {
            let earliest = sub(now, MAX_SKEW);
            if info.time < earliest {
                return Err(AuthError::new(
                    AuthErrorCode::SignatureDoesNotMatch,
                    format!(
                        "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                        info.amz_date,
                        format_amz_date(earliest),
                        format_amz_date(now)
                    ),
                ));
            }
        }
        Some(expires) => {
            if now > add(info.time, expires) {
                return Err(AuthError::new(
                    AuthErrorCode::AccessDenied,
                    "Request has expired",
                ));
            }
        }
    }
    Ok(())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `x-amz-content-sha256` of an S3 aws-chunked upload with an unsigned body and a trailer.
const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Headers a presigned URL's user may add without signing them.
const PRESIGN_UNSIGNED_OK: &[&str] = &["x-amz-user-agent", "x-amz-checksum-mode"];

/// [`verify`] with explicit options.
pub fn verify_with(
    req: &IncomingRequest<'_>,
    info: &SignedInfo,
    secret_access_key: &str,
    now: SystemTime,
    opts: &VerifyOptions<'_>,
) -> Result<(), AuthError> {
    if info.region_set.is_some() {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}'",
            crate::ecdsa::ALGORITHM_V4A
        )));
    }
    let creq = checked_canonical_request(req, info, now, opts)?;
    let sts = string_to_sign(&info.amz_date, &info.scope(), &creq);
    let ok = match opts.cache {
        Some(cache) => cache
            .get_or_derive(secret_access_key, &info.date, &info.region, &info.service)
            .verify(&sts, &info.signature),
        None => SigningKey::derive(secret_access_key, &info.date, &info.region, &info.service)
            .verify(&sts, &info.signature),
    };
    if ok { Ok(()) } else { Err(mismatch(creq, sts)) }
}

/// `SignatureDoesNotMatch` carrying the canonical request and string to sign the server computed.
pub(crate) fn mismatch(creq: String, sts: String) -> AuthError {
    let mut e = AuthError::signature_mismatch();
    e.canonical_request = Some(creq);
    e.string_to_sign = Some(sts);
    e
}

/// Everything [`verify_with`] checks before the signature itself (time, payload hash, signed
/// headers), shared by SigV4 and SigV4a; returns the canonical request.
pub(crate) fn checked_canonical_request(
    req: &IncomingRequest<'_>,
    info: &SignedInfo,
    now: SystemTime,
    opts: &VerifyOptions<'_>,
) -> Result<String, AuthError> {
    check_time(info, now)?;

    // Payload hash: the client's x-amz-content-sha256 if sent (and then it must match the
    // body unless it is UNSIGNED-PAYLOAD), UNSIGNED-PAYLOAD for S3 presigned URLs, otherwise
    // the hash of the body actually received.
    let sent_hash = header(req.headers, "x-amz-content-sha256").map(str::trim);
    let payload_hash = match sent_hash {
        Some(UNSIGNED_PAYLOAD) => UNSIGNED_PAYLOAD,
        // S3's aws-chunked uploads with an unsigned body and a trailing checksum (what the AWS
        // CLI sends over https): as unsigned as UNSIGNED-PAYLOAD; decoding the chunks and
        // checking the trailer is the S3 handler's business.
        Some(STREAMING_UNSIGNED_PAYLOAD_TRAILER) if info.service == "s3" => {
            STREAMING_UNSIGNED_PAYLOAD_TRAILER
        }
        Some(h) if is_sha256_hex(h) => {
            if !h.eq_ignore_ascii_case(req.payload_sha256_hex) {
                return Err(AuthError::new(
                    AuthErrorCode::XAmzContentSHA256Mismatch,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ));
            }
            h
        }
        Some(_) => {
            return Err(AuthError::new(
                AuthErrorCode::InvalidArgument,
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, or a valid sha256 value.",
            ));
        }
        None if info.is_presigned() && crate::canonical::is_s3(&info.service) => UNSIGNED_PAYLOAD,
        None => req.payload_sha256_hex,
    };

    if !info.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let signed_set: Option<HashSet<&str>> = (info.signed_headers.len() > 16)
        .then(|| info.signed_headers.iter().map(String::as_str).collect());
    let is_signed = |h: &str| match &signed_set {
        Some(set) => set.contains(h),
        None => info.signed_headers.iter().any(|s| s == h),
    };
    let mut unsigned: Vec<String> = Vec::new();
    for (name, _) in req.headers {
        if name.len() > 6 && name.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-") {
            let lower = name.to_ascii_lowercase();
            let exempt = info.is_presigned() && PRESIGN_UNSIGNED_OK.contains(&lower.as_str());
            if !exempt && !is_signed(&lower) && !unsigned.contains(&lower) {
                unsigned.push(lower);
            }
        }
    }
    if !unsigned.is_empty() {
        return Err(AuthError::new(
            AuthErrorCode::SignatureDoesNotMatch,
            format!(
                "There were headers present in the request which were not signed: {}",
                unsigned.join(", ")
            ),
        ));
    }

    Ok(canonical::canonical_request(
        req.method,
        &canonical_uri(req.path, opts.path_mode, &info.service),
        &canonical_query(req.query, info.is_presigned()),
        &canonical_headers(req.headers, &info.signed_headers),
        &info.signed_headers.join(";"),
        payload_hash,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, SigningParams, presign, sha256_hex, sign_headers};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn t(s: &str) -> SystemTime {
        parse_amz_date(s).unwrap()
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn signed_sts(time: SystemTime, token: Option<&str>) -> (Vec<(String, String)>, String) {
        let mut creds = Credentials::new("AKIDEXAMPLE", SECRET);
        if let Some(tok) = token {
            creds = creds.with_session_token(tok);
        }
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let mut headers = h(&[
            ("Host", "sts.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ]);
        let params = SigningParams {
            region: "us-east-1",
            service: "sts",
            time,
        };
        sign_headers("POST", "/", "", &mut headers, body, &creds, &params).unwrap();
        (headers, sha256_hex(body))
    }

    fn req<'a>(headers: &'a [(String, String)], hash: &'a str) -> IncomingRequest<'a> {
        IncomingRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            payload_sha256_hex: hash,
        }
    }

    #[test]
    fn round_trip_and_skew_window() {
        let signed_at = t("20200706T195306Z");
        let (headers, hash) = signed_sts(signed_at, Some("tok"));
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        assert_eq!(info.session_token.as_deref(), Some("tok"));
        assert_eq!(info.scope(), "20200706/us-east-1/sts/aws4_request");
        let fifteen = Duration::from_secs(900);
        verify(&r, &info, SECRET, signed_at).unwrap();
        verify(&r, &info, SECRET, signed_at + fifteen).unwrap();
        verify(&r, &info, SECRET, signed_at - fifteen).unwrap();
        let late = verify(
            &r,
            &info,
            SECRET,
            signed_at + fifteen + Duration::from_secs(1),
        );
        assert_eq!(late.unwrap_err().code, AuthErrorCode::SignatureDoesNotMatch);
        assert!(
            verify(
                &r,
                &info,
                SECRET,
                signed_at - fifteen - Duration::from_secs(1)
            )
            .is_err()
        );
    }

    #[test]
    fn expired_message_is_aws_text() {
        let (headers, hash) = signed_sts(t("20200706T195306Z"), None);
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        let e = verify(&r, &info, SECRET, t("20200707T072847Z")).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            e.message,
            "Signature expired: 20200706T195306Z is now earlier than 20200707T071347Z (20200707T072847Z - 15 min.)"
        );
    }

    #[test]
    fn not_yet_current_message_is_aws_text() {
        let (headers, hash) = signed_sts(t("20181120T211543Z"), None);
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        let e = verify(&r, &info, SECRET, t("20181120T205029Z")).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            e.message,
            "Signature not yet current: 20181120T211543Z is still later than 20181120T210529Z (20181120T205029Z + 15 min.)"
        );
    }

    #[test]
    fn wrong_secret_is_signature_mismatch_with_diagnostics() {
        let at = t("20200706T195306Z");
        let (headers, hash) = signed_sts(at, None);
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        let e = verify(&r, &info, "not the secret", at).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::SignatureDoesNotMatch);
        assert_eq!(e.message, SIGNATURE_MISMATCH_MESSAGE);
        assert!(
            e.canonical_request
                .as_deref()
                .unwrap()
                .starts_with("POST\n/\n\n")
        );
        assert!(
            e.string_to_sign
                .as_deref()
                .unwrap()
                .starts_with("AWS4-HMAC-SHA256\n20200706T195306Z\n")
        );
        assert_eq!(e.code.http_status(), 403);
        assert_eq!(e.code.json_code(), "InvalidSignatureException");
        let detailed = e.detailed_message();
        assert!(detailed.starts_with(SIGNATURE_MISMATCH_MESSAGE));
        assert!(
            detailed
                .contains("\n\nThe Canonical String for this request should have been\n'POST\n/\n")
        );
        assert!(detailed.contains("'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n"));
        assert_eq!(
            AuthError::signature_mismatch().detailed_message(),
            SIGNATURE_MISMATCH_MESSAGE
        );
        // The body is covered too.
        let other = sha256_hex(b"Action=GetCallerIdentity&Version=2011-06-16");
        let r2 = req(&headers, &other);
        assert_eq!(
            verify(&r2, &info, SECRET, at).unwrap_err().code,
            AuthErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn missing_auth() {
        let headers = h(&[("Host", "x")]);
        let e = parse(&req(&headers, crate::canonical::EMPTY_SHA256)).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::MissingAuthenticationToken);
        assert_eq!(e.message, "Request is missing Authentication Token");
        assert_eq!(e.code.http_status(), 403);
    }

    #[test]
    fn malformed_authorization_lists_every_missing_part() {
        let headers = h(&[("Host", "x"), ("Authorization", "Basic Zm9vOmJhcg==")]);
        let e = parse(&req(&headers, "")).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::IncompleteSignature);
        assert_eq!(
            e.message,
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic Zm9vOmJhcg=="
        );
        let headers = h(&[
            ("Host", "x"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date",
            ),
        ]);
        let e = parse(&req(&headers, "")).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::IncompleteSignature);
        assert!(
            e.message
                .starts_with("Authorization header requires 'Signature' parameter. Authorization=")
        );
    }

    #[test]
    fn malformed_credential_and_dates() {
        let with = |cred: &str, date: &str| {
            let headers = h(&[
                ("Host", "x"),
                ("X-Amz-Date", date),
                (
                    "Authorization",
                    &format!(
                        "AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host;x-amz-date, Signature=00"
                    ),
                ),
            ]);
            parse(&req(&headers, "")).unwrap_err()
        };
        let e = with("AKID/20150830/us-east-1/iam", "20150830T123600Z");
        assert_eq!(e.code, AuthErrorCode::IncompleteSignature);
        assert!(
            e.message
                .starts_with("Credential must have exactly 5 slash-delimited elements")
        );
        let e = with(
            "AKID/20150830/us-east-1/iam/aws5_request",
            "20150830T123600Z",
        );
        assert_eq!(
            e.message,
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        );
        let e = with(
            "AKID/20150829/us-east-1/iam/aws4_request",
            "20150830T123600Z",
        );
        assert_eq!(e.code, AuthErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            e.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'."
        );
        let e = with(
            "AKID/20150830/us-east-1/iam/aws4_request",
            "2015-08-30T12:36:00Z",
        );
        assert_eq!(e.code, AuthErrorCode::IncompleteSignature);
        assert!(
            e.message.starts_with(
                "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'."
            )
        );
    }

    #[test]
    fn date_header_fallback() {
        let headers = h(&[
            ("Host", "x"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request, SignedHeaders=date;host, Signature=00",
            ),
        ]);
        let info = parse(&req(&headers, "")).unwrap();
        assert_eq!(info.amz_date, "20150830T123600Z");
    }

    #[test]
    fn host_and_x_amz_headers_must_be_signed() {
        let at = t("20200706T195306Z");
        let (mut headers, hash) = signed_sts(at, None);
        headers.push(("X-Amz-Meta-Foo".to_owned(), "bar".to_owned()));
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        let e = verify(&r, &info, SECRET, at).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            e.message,
            "There were headers present in the request which were not signed: x-amz-meta-foo"
        );
        let (headers, hash) = signed_sts(at, None);
        let r = req(&headers, &hash);
        let mut info = parse(&r).unwrap();
        info.signed_headers.retain(|h| h != "host");
        let e = verify(&r, &info, SECRET, at).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::IncompleteSignature);
    }

    #[test]
    fn content_sha256_must_match_body() {
        let at = t("20200706T195306Z");
        let creds = Credentials::new("AKIDEXAMPLE", SECRET);
        let params = SigningParams {
            region: "us-east-1",
            service: "ecr",
            time: at,
        };
        let body = b"{}";
        for sent in [sha256_hex(body), "UNSIGNED-PAYLOAD".to_owned()] {
            let mut headers = h(&[("Host", "x"), ("X-Amz-Content-Sha256", &sent)]);
            sign_headers("POST", "/", "", &mut headers, body, &creds, &params).unwrap();
            let hash = sha256_hex(body);
            let r = req(&headers, &hash);
            let info = parse(&r).unwrap();
            verify(&r, &info, SECRET, at).unwrap();
            let other = sha256_hex(b"{\"a\":1}");
            let r = req(&headers, &other);
            let res = verify(&r, &info, SECRET, at);
            if sent == "UNSIGNED-PAYLOAD" {
                res.unwrap();
            } else {
                assert_eq!(
                    res.unwrap_err().code,
                    AuthErrorCode::XAmzContentSHA256Mismatch
                );
            }
        }
    }

    /// S3's unsigned aws-chunked uploads: accepted for `s3` (the body is not signed), an
    /// invalid value elsewhere.
    #[test]
    fn streaming_unsigned_trailer_is_s3_only() {
        let at = t("20200706T195306Z");
        let creds = Credentials::new("AKIDEXAMPLE", SECRET);
        for (service, ok) in [("s3", true), ("ecr", false)] {
            let params = SigningParams {
                region: "us-east-1",
                service,
                time: at,
            };
            let mut headers = h(&[
                ("Host", "x"),
                ("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ]);
            sign_headers("PUT", "/k", "", &mut headers, b"", &creds, &params).unwrap();
            let hash = sha256_hex(b"5\r\nhello\r\n0\r\n\r\n");
            let r = IncomingRequest {
                method: "PUT",
                path: "/k",
                ..req(&headers, &hash)
            };
            let info = parse(&r).unwrap();
            let res = verify(&r, &info, SECRET, at);
            if ok {
                res.unwrap();
                let wrong = IncomingRequest { path: "/j", ..r };
                assert!(verify(&wrong, &info, SECRET, at).is_err());
            } else {
                assert_eq!(res.unwrap_err().code, AuthErrorCode::InvalidArgument);
            }
        }
    }

    #[test]
    fn presigned_expiry() {
        let at = t("20200706T195306Z");
        let creds = Credentials::new("AKIDEXAMPLE", SECRET).with_session_token("tok/+=");
        let params = SigningParams {
            region: "us-east-1",
            service: "sts",
            time: at,
        };
        let headers = h(&[("host", "sts.amazonaws.com")]);
        let q = presign(
            "GET",
            "/",
            "Action=GetCallerIdentity&Version=2011-06-15",
            &headers,
            b"",
            &creds,
            &params,
            Duration::from_secs(60),
        )
        .unwrap();
        let hash = sha256_hex(b"");
        let r = IncomingRequest {
            method: "GET",
            path: "/",
            query: &q,
            headers: &headers,
            payload_sha256_hex: &hash,
        };
        let info = parse(&r).unwrap();
        assert_eq!(info.presigned_expires, Some(Duration::from_secs(60)));
        assert_eq!(info.session_token.as_deref(), Some("tok/+="));
        verify(&r, &info, SECRET, at + Duration::from_secs(60)).unwrap();
        let e = verify(&r, &info, SECRET, at + Duration::from_secs(61)).unwrap_err();
        assert_eq!(e.code, AuthErrorCode::AccessDenied);
        assert_eq!(e.message, "Request has expired");
        let e = verify(&r, &info, SECRET, at - Duration::from_secs(901)).unwrap_err();
        assert!(
            e.message
                .starts_with("Signature not yet current: 20200706T195306Z")
        );
        // Tampering with a signed query parameter breaks the signature.
        let tampered = q.replace("GetCallerIdentity", "GetSessionToken");
        let r = IncomingRequest {
            query: &tampered,
            ..r
        };
        assert_eq!(
            verify(&r, &parse(&r).unwrap(), SECRET, at)
                .unwrap_err()
                .code,
            AuthErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn presigned_parameter_errors() {
        let headers = h(&[("host", "x")]);
        let p = |query: &str| {
            parse(&IncomingRequest {
                method: "GET",
                path: "/",
                query,
                headers: &headers,
                payload_sha256_hex: "",
            })
            .unwrap_err()
        };
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let e = p(base);
        assert_eq!(e.code, AuthErrorCode::AuthorizationQueryParametersError);
        assert!(
            e.message
                .starts_with("AWS query-string parameters must include")
        );
        assert_eq!(
            p(&format!("{base}&X-Amz-Expires=604801")).message,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        );
        assert_eq!(
            p(&format!("{base}&X-Amz-Expires=-1")).message,
            "X-Amz-Expires must be non-negative"
        );
        assert_eq!(
            p(&format!("{base}&X-Amz-Expires=abc")).message,
            "X-Amz-Expires should be a number"
        );
        let e = p(&format!(
            "{}&X-Amz-Expires=60",
            base.replace("HMAC-SHA256", "HMAC-SHA1")
        ));
        assert_eq!(
            e.message,
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
        );
        let both = parse(&IncomingRequest {
            method: "GET",
            path: "/",
            query: base,
            headers: &h(&[("host", "x"), ("authorization", "AWS4-HMAC-SHA256 x")]),
            payload_sha256_hex: "",
        })
        .unwrap_err();
        assert_eq!(both.code, AuthErrorCode::InvalidArgument);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let at = t("20200706T195306Z");
        let (headers, hash) = signed_sts(at, Some("SESSIONTOKENSECRETVALUE"));
        let r = req(&headers, &hash);
        let info = parse(&r).unwrap();
        let dbg = format!("{info:?}");
        assert!(!dbg.contains("SESSIONTOKENSECRETVALUE"));
        assert!(!dbg.contains(&info.signature));
        let creds = Credentials::new("AKID", SECRET).with_session_token("SESSIONTOKENSECRETVALUE");
        let dbg = format!("{creds:?}");
        assert!(
            dbg.contains("AKID")
                && !dbg.contains(SECRET)
                && !dbg.contains("SESSIONTOKENSECRETVALUE")
        );
        let e = verify(&r, &info, "bad", at).unwrap_err();
        assert!(!format!("{e:?}").contains("SESSIONTOKENSECRETVALUE"));
        let r_dbg = format!("{r:?}");
        assert!(!r_dbg.contains("SESSIONTOKENSECRETVALUE") && !r_dbg.contains(&info.signature));
        assert!(r_dbg.contains("x-amz-date"));
        let creds2 = Credentials::new("AKID", SECRET).with_session_token("SESSIONTOKENSECRETVALUE");
        let params = SigningParams {
            region: "us-east-1",
            service: "sts",
            time: at,
        };
        let q = presign(
            "GET",
            "/",
            "a=1",
            &headers,
            b"",
            &creds2,
            &params,
            Duration::from_secs(5),
        )
        .unwrap();
        let pr = IncomingRequest { query: &q, ..r };
        let p_dbg = format!("{pr:?}");
        assert!(!p_dbg.contains("SESSIONTOKENSECRETVALUE"));
        assert!(p_dbg.contains("X-Amz-Signature=<redacted>") && p_dbg.contains("a=1&"));
        let key = SigningKey::derive(SECRET, "20200706", "us-east-1", "sts");
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }
}
