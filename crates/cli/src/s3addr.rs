//! S3 requests whose endpoint S3's endpoint rule set decides (`kagi_api::rules`), as botocore
//! resolves it: access point ARNs (`--bucket arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`),
//! Object Lambda and Outposts access points, Multi-Region Access Points, and S3 Express One
//! Zone's directory buckets (`NAME--AZID--x-s3`, `ListDirectoryBuckets`). Plain buckets keep
//! `kagi_api::s3::address` (the same hosts, checked by the unit tests of `http.rs`).
//!
//! * **Parameters**: botocore's built-ins (region, FIPS/dual-stack — off with a configured
//!   endpoint —, `--endpoint-url`, `addressing_style = path`, `use_accelerate_endpoint`,
//!   `use_arn_region` (`AWS_S3_USE_ARN_REGION` > `s3_use_arn_region` > `s3.use_arn_region`,
//!   default true), `s3_disable_multiregion_access_points`, `s3_disable_express_session_auth`)
//!   and the model's static context parameters (`UseS3ExpressControlEndpoint` for bucket
//!   management, `DisableS3ExpressSessionAuth` for copies and `CreateSession`,
//!   `DisableAccessPoints` for `CreateBucket`, `UseObjectLambdaEndpoint`).
//! * **Errors**: the rule set's messages, wrapped as botocore's
//!   `ruleset_error_to_botocore_exception` wraps them (`Unsupported configuration when using
//!   S3 access-points: ...`, parameter validation for invalid ARNs, invalid host labels).
//! * **Signing**: the first auth scheme's signing name and region (`s3-object-lambda`,
//!   `s3-outposts`, `s3express`). `sigv4a` (Multi-Region Access Points): SigV4a
//!   (`kagi_sigv4::sign_headers_v4a`) for the region set `sigv4a_signing_region_set`
//!   (`AWS_SIGV4A_SIGNING_REGION_SET` > profile) or else the scheme's `signingRegionSet`
//!   joined with `,` (`*` for MRAPs), as botocore with CRT signs. `sigv4-s3express`: a
//!   `CreateSession` for the bucket (signed with the caller's credentials), its session
//!   credentials cached for the process until 45 s before they expire (botocore's
//!   `S3ExpressIdentityCache` advisory refresh), the request signed with them and the session
//!   token in `x-amz-s3session-token` instead of `X-Amz-Security-Token`.

use std::collections::HashMap;
use std::sync::Mutex;

use kagi_api::Operation;
use kagi_sigv4::Credentials;
use serde_json::{Map, Value};

use crate::CliError;
use crate::config::Env;
use crate::ini::Props;

/// What the rule set's parameters are read from: the session's settings, gathered by
/// `http::Session::s3_settings` (this module sits below `http`: it never calls back into it).
pub(crate) struct Settings<'a> {
    /// The region requests go to (the session's, else the endpoint's signing region).
    pub region: String,
    /// The endpoint's URL when it was configured (`--endpoint-url`, ...), not the default.
    pub custom_endpoint: Option<&'a str>,
    /// The endpoint's signing region (the target's when the rule set names none).
    pub signing_region: &'a str,
    /// `use_fips_endpoint`, `use_dualstack_endpoint` (read for default endpoints only).
    pub fips: bool,
    pub dualstack: bool,
    pub profile: Option<&'a Props>,
    pub env: &'a Env,
    pub style: kagi_api::s3::AddressingStyle,
}

/// Where the rule set sends a request and how it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `scheme://host[:port][/path]`; the request's path (without the bucket) follows.
    pub url: String,
    pub signing_region: String,
    pub signing_name: String,
    /// `sigv4-s3express`: signed with a `CreateSession` session.
    pub express: bool,
    /// `sigv4a` (Multi-Region Access Points): signed with SigV4a for this region set
    /// (`*`, or regions joined with `,`).
    pub region_set: Option<String>,
}

/// The operations with `UseS3ExpressControlEndpoint` among their static context parameters
/// (the pinned botocore's S3 model).
const CONTROL_OPS: &[&str] = &[
    "CreateBucket",
    "CreateBucketMetadataConfiguration",
    "CreateBucketMetadataTableConfiguration",
    "DeleteBucket",
    "DeleteBucketAnalyticsConfiguration",
    "DeleteBucketCors",
    "DeleteBucketEncryption",
    "DeleteBucketIntelligentTieringConfiguration",
    "DeleteBucketInventoryConfiguration",
    "DeleteBucketLifecycle",
    "DeleteBucketMetadataConfiguration",
    "DeleteBucketMetadataTableConfiguration",
    "DeleteBucketMetricsConfiguration",
    "DeleteBucketOwnershipControls",
    "DeleteBucketPolicy",
    "DeleteBucketReplication",
    "DeleteBucketTagging",
    "DeleteBucketWebsite",
    "DeletePublicAccessBlock",
    "GetBucketAccelerateConfiguration",
    "GetBucketAcl",
    "GetBucketAnalyticsConfiguration",
    "GetBucketCors",
    "GetBucketEncryption",
    "GetBucketIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration",
    "GetBucketLifecycle",
    "GetBucketLifecycleConfiguration",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketMetadataConfiguration",
    "GetBucketMetadataTableConfiguration",
    "GetBucketMetricsConfiguration",
    "GetBucketNotification",
    "GetBucketNotificationConfiguration",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketReplication",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetBucketWebsite",
    "GetPublicAccessBlock",
    "ListBucketAnalyticsConfigurations",
    "ListBucketIntelligentTieringConfigurations",
    "ListBucketInventoryConfigurations",
    "ListBucketMetricsConfigurations",
    "ListDirectoryBuckets",
    "PutBucketAccelerateConfiguration",
    "PutBucketAcl",
    "PutBucketAnalyticsConfiguration",
    "PutBucketCors",
    "PutBucketEncryption",
    "PutBucketIntelligentTieringConfiguration",
    "PutBucketInventoryConfiguration",
    "PutBucketLifecycle",
    "PutBucketLifecycleConfiguration",
    "PutBucketLogging",
    "PutBucketMetricsConfiguration",
    "PutBucketNotification",
    "PutBucketNotificationConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketReplication",
    "PutBucketRequestPayment",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutPublicAccessBlock",
    "UpdateBucketMetadataAnnotationTableConfiguration",
    "UpdateBucketMetadataInventoryTableConfiguration",
    "UpdateBucketMetadataJournalTableConfiguration",
];

/// Whether the rule set decides this request's endpoint: an ARN or a directory bucket, or
/// an operation with its own endpoint (`ListDirectoryBuckets`, `WriteGetObjectResponse`).
pub(crate) fn applies(op: &str, bucket: Option<&str>) -> bool {
    bucket.is_some_and(|b| b.starts_with("arn:") || b.ends_with("--x-s3"))
        || matches!(op, "ListDirectoryBuckets" | "WriteGetObjectResponse")
}

/// `true`/`false` of botocore's `ensure_boolean` (only `true`, any case, is true).
fn flag(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

/// The rule set's parameters for this request.
pub(crate) fn params(
    s: &Settings<'_>,
    op: &'static Operation,
    input: &Value,
) -> Map<String, Value> {
    let mut p = Map::new();
    let custom = s.custom_endpoint.is_some();
    p.insert("Region".into(), s.region.clone().into());
    if let Some(b) = input.get("Bucket").and_then(Value::as_str) {
        p.insert("Bucket".into(), b.into());
    }
    if let Some(url) = s.custom_endpoint {
        p.insert("Endpoint".into(), url.into());
    } else {
        p.insert("UseFIPS".into(), s.fips.into());
        p.insert("UseDualStack".into(), s.dualstack.into());
    }
    let profile = s.profile;
    let s3_key = |k: &str| -> Option<String> {
        let v = profile?.get("s3")?;
        crate::ini::sub_properties(v)
            .into_iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v)
    };
    let top = |k: &str| profile.and_then(|p| p.get(k)).map(str::to_string);
    let env = |k: &str| s.env.var(k).map(str::to_string);
    let accelerate = s3_key("use_accelerate_endpoint").is_some_and(|v| flag(&v));
    p.insert("Accelerate".into(), accelerate.into());
    // botocore's `ForcePathStyle`: a configured endpoint keeps the path style unless
    // `addressing_style = virtual`; never for an ARN (`customize_endpoint_resolver_builtins`),
    // always for GetBucketLocation.
    let style = s.style;
    let bucket_is_arn = input
        .get("Bucket")
        .and_then(Value::as_str)
        .is_some_and(|b| b.starts_with("arn:") && b.splitn(6, ':').count() == 6);
    let force_path = if op.name == "GetBucketLocation" {
        true
    } else if bucket_is_arn || accelerate {
        false
    } else if custom {
        style != kagi_api::s3::AddressingStyle::Virtual
    } else {
        style == kagi_api::s3::AddressingStyle::Path
    };
    p.insert("ForcePathStyle".into(), force_path.into());
    let arn_region = env("AWS_S3_USE_ARN_REGION")
        .or_else(|| top("s3_use_arn_region"))
        .or_else(|| s3_key("use_arn_region"))
        .is_none_or(|v| flag(&v));
    p.insert("UseArnRegion".into(), arn_region.into());
    if let Some(v) = env("AWS_S3_DISABLE_MULTIREGION_ACCESS_POINTS")
        .or_else(|| s3_key("s3_disable_multiregion_access_points"))
    {
        p.insert("DisableMultiRegionAccessPoints".into(), flag(&v).into());
    }
    if let Some(v) = env("AWS_S3_DISABLE_EXPRESS_SESSION_AUTH")
        .or_else(|| top("s3_disable_express_session_auth"))
    {
        p.insert("DisableS3ExpressSessionAuth".into(), flag(&v).into());
    }
    // The model's static context parameters win over the built-ins.
    if matches!(op.name, "CopyObject" | "UploadPartCopy" | "CreateSession") {
        p.insert("DisableS3ExpressSessionAuth".into(), true.into());
    }
    if CONTROL_OPS.contains(&op.name) {
        p.insert("UseS3ExpressControlEndpoint".into(), true.into());
    }
    if op.name == "CreateBucket" {
        p.insert("DisableAccessPoints".into(), true.into());
    }
    if op.name == "WriteGetObjectResponse" {
        p.insert("UseObjectLambdaEndpoint".into(), true.into());
    }
    p
}

/// Resolves the request's endpoint with S3's rule set.
pub(crate) fn target(
    s: &Settings<'_>,
    op: &'static Operation,
    input: &Value,
) -> Result<Target, CliError> {
    let params = params(s, op, input);
    let r = kagi_api::rules::resolve(kagi_api::rules::s3(), &params).map_err(rule_error)?;
    let scheme = r.auth_scheme().cloned().unwrap_or_default();
    let get = |k: &str| scheme.get(k).and_then(Value::as_str).map(str::to_string);
    let name = get("name").unwrap_or_else(|| "sigv4".into());
    let region_set = (name == "sigv4a").then(|| {
        let from_rules = scheme
            .get("signingRegionSet")
            .and_then(Value::as_array)
            .map(|set| {
                set.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|set| !set.is_empty());
        sigv4a_region_set(s)
            .or(from_rules)
            .unwrap_or_else(|| "*".into())
    });
    Ok(Target {
        url: r.url,
        signing_region: get("signingRegion").unwrap_or_else(|| s.signing_region.to_owned()),
        signing_name: get("signingName").unwrap_or_else(|| "s3".into()),
        express: name == "sigv4-s3express",
        region_set,
    })
}

/// botocore's `sigv4a_signing_region_set` (`AWS_SIGV4A_SIGNING_REGION_SET` > the profile's
/// `sigv4a_signing_region_set`): when set, it replaces the rule set's `signingRegionSet`
/// (`_resolve_sigv4a_region`).
fn sigv4a_region_set(s: &Settings<'_>) -> Option<String> {
    s.env
        .var("AWS_SIGV4A_SIGNING_REGION_SET")
        .map(str::to_string)
        .or_else(|| {
            s.profile
                .and_then(|p| p.get("sigv4a_signing_region_set"))
                .map(str::to_string)
        })
        .filter(|v| !v.is_empty())
}

/// botocore's `ruleset_error_to_botocore_exception` for S3.
fn rule_error(msg: String) -> CliError {
    if msg.starts_with("Invalid region in ARN: ") {
        let label = msg.split('`').nth(1).unwrap_or(&msg).to_string();
        return CliError::General(format!(
            "Invalid host label to be bound to the hostname of the endpoint: \"{label}\"."
        ));
    }
    if msg == "S3 Object Lambda does not support S3 Accelerate"
        || msg == "Accelerate cannot be used with FIPS"
    {
        return CliError::General(format!("Unsupported configuration when using S3: {msg}"));
    }
    if [
        "S3 Outposts does not support",
        "S3 MRAP does not support",
        "S3 Object Lambda does not support",
        "Access Points do not support",
        "Invalid configuration:",
        "Client was configured for partition",
    ]
    .iter()
    .any(|p| msg.starts_with(p))
    {
        return CliError::General(format!(
            "Unsupported configuration when using S3 access-points: {msg}"
        ));
    }
    if msg.to_ascii_lowercase().starts_with("invalid arn:") {
        return CliError::ParamValidation(vec![msg]);
    }
    CliError::General(msg)
}

/// The request URL: the rule set's endpoint joined with the codec's path without its first
/// segment (the bucket), as botocore drops `/{Bucket}` from S3's paths and joins them
/// (`_urljoin`: an empty path keeps the endpoint's own path, or is `/`).
pub(crate) fn url(endpoint: &str, path: &str, bucket: Option<&str>) -> String {
    let tail = match bucket {
        Some(b) => {
            let encoded = kagi_api::rest::percent_encode(b, false);
            path.strip_prefix('/')
                .and_then(|p| p.strip_prefix(encoded.as_str()))
                .unwrap_or(path)
        }
        None => path,
    };
    let (tail_path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
    let (authority, base) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let new_path = if tail_path.is_empty() || tail_path == "/" {
        if base.is_empty() { "/" } else { base }.to_string()
    } else if base.ends_with('/') && tail_path.starts_with('/') {
        format!("{}{tail_path}", &base[..base.len() - 1])
    } else {
        format!("{base}{tail_path}")
    };
    match query {
        Some(q) => format!("{scheme}://{authority}{new_path}?{q}"),
        None => format!("{scheme}://{authority}{new_path}"),
    }
}

/// Session credentials of directory buckets: (access key, endpoint, bucket) → credentials
/// and their expiry (Unix seconds).
type ExpressCache = HashMap<(String, String, String), (Credentials, i64)>;

fn cache() -> &'static Mutex<ExpressCache> {
    static C: std::sync::OnceLock<Mutex<ExpressCache>> = std::sync::OnceLock::new();
    C.get_or_init(Mutex::default)
}

/// The `CreateSession` credentials for `bucket` (botocore's `S3ExpressIdentityCache`).
/// `call` sends an operation of S3 with the caller's credentials to the request's endpoint
/// (`endpoint_url`, part of the cache's key) and answers its output.
pub(crate) fn express_credentials(
    creds: &Credentials,
    endpoint_url: &str,
    bucket: &str,
    call: &dyn Fn(&'static Operation, &Value) -> Result<Value, CliError>,
) -> Result<Credentials, CliError> {
    let key = (
        creds.access_key_id.clone(),
        endpoint_url.to_owned(),
        bucket.to_string(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if let Some((c, exp)) = cache().lock().ok().and_then(|m| m.get(&key).cloned())
        && exp - now > 45
    {
        return Ok(c);
    }
    let op = kagi_api::service("s3api")
        .and_then(|svc| svc.operation("CreateSession"))
        .ok_or_else(|| CliError::General("CreateSession is not in S3's model".into()))?;
    let mut input = Map::new();
    input.insert("Bucket".into(), bucket.into());
    let out = call(op, &Value::Object(input))?;
    let c = out.get("Credentials").cloned().unwrap_or(Value::Null);
    let field = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(ak), Some(sk), Some(token)) = (
        field("AccessKeyId"),
        field("SecretAccessKey"),
        field("SessionToken"),
    ) else {
        return Err(CliError::General(
            "CreateSession answered without session credentials".into(),
        ));
    };
    let exp = field("Expiration")
        .and_then(|e| kagi_api::time::Timestamp::parse(&e).map(|t| t.secs))
        .unwrap_or(now);
    let session = Credentials {
        access_key_id: ak,
        secret_access_key: sk,
        session_token: Some(token),
    };
    if let Ok(mut m) = cache().lock() {
        m.insert(key, (session.clone(), exp));
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_drops_the_bucket_segment() {
        let arn = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap";
        let path = format!(
            "/{}/a/b%20c?x=1",
            kagi_api::rest::percent_encode(arn, false)
        );
        assert_eq!(
            url(
                "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com",
                &path,
                Some(arn)
            ),
            "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/a/b%20c?x=1"
        );
        let path = format!(
            "/{}?list-type=2",
            kagi_api::rest::percent_encode(arn, false)
        );
        assert_eq!(
            url("https://h.example", &path, Some(arn)),
            "https://h.example/?list-type=2"
        );
        assert_eq!(
            url(
                "http://127.0.0.1:9/b--usw2-az1--x-s3",
                "/b--usw2-az1--x-s3/k",
                Some("b--usw2-az1--x-s3")
            ),
            "http://127.0.0.1:9/b--usw2-az1--x-s3/k"
        );
        // botocore's `_urljoin`: no trailing `/` after a bucket in the endpoint's path.
        assert_eq!(
            url(
                "http://127.0.0.1:9/b--usw2-az1--x-s3",
                "/b--usw2-az1--x-s3?session",
                Some("b--usw2-az1--x-s3")
            ),
            "http://127.0.0.1:9/b--usw2-az1--x-s3?session"
        );
        assert_eq!(
            url(
                "https://s3express-control.us-west-2.amazonaws.com",
                "/?x-id=ListDirectoryBuckets",
                None
            ),
            "https://s3express-control.us-west-2.amazonaws.com/?x-id=ListDirectoryBuckets"
        );
    }

    #[test]
    fn rule_errors_are_botocores_exceptions() {
        assert_eq!(
            rule_error("Invalid configuration: region from ARN `us-west-2` does not match client region `us-east-1` and UseArnRegion is `false`".into()).message(),
            "Unsupported configuration when using S3 access-points: Invalid configuration: region from ARN `us-west-2` does not match client region `us-east-1` and UseArnRegion is `false`"
        );
        assert_eq!(
            rule_error("Invalid ARN: The ARN was not for the S3 service, found: not-s3".into()),
            CliError::ParamValidation(vec![
                "Invalid ARN: The ARN was not for the S3 service, found: not-s3".into()
            ])
        );
        assert_eq!(
            rule_error("Invalid region in ARN: `us-we$t-2` (invalid DNS name)".into()).message(),
            "Invalid host label to be bound to the hostname of the endpoint: \"us-we$t-2\"."
        );
        assert_eq!(
            rule_error("Path-style addressing cannot be used with ARN buckets".into()).message(),
            "Path-style addressing cannot be used with ARN buckets"
        );
    }
}
