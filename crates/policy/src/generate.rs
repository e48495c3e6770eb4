//! Least privilege from recorded activity: a policy document built from CloudTrail event
//! records, as IAM Access Analyzer's policy generation builds one
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-policy-generation.html>).
//!
//! Input: CloudTrail records as `serde_json::Value`s shaped as AWS writes them
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>),
//! so records of a real trail work as well as kagi's own event history. Output: an identity
//! policy (`Version` 2012-10-17) allowing exactly the actions the principal used successfully
//! in the window, one statement per service (per service and resource set with
//! [`GenerateOptions::resource_level`]), each with a `Sid`, actions sorted; it passes
//! [`crate::validate()`] without an `ERROR` finding (checked, and returned as
//! [`Generated::findings`]).
//!
//! * **Whose events.** A user ARN (or a root or an assumed-role session ARN) matches records
//!   whose `userIdentity.arn` is that ARN; a role ARN means every session of the role: records
//!   of `userIdentity.type` `AssumedRole` whose `sessionContext.sessionIssuer.arn` is the role.
//! * **Which action.** `<prefix>:<eventName>`, the prefix from `eventSource`
//!   (`ecr.amazonaws.com` → `ecr`), with the exceptions AWS documents where CloudTrail's names
//!   and IAM's differ ([`event_action`]: `monitoring` is `cloudwatch`, Lambda's and
//!   CloudFront's versioned event names, S3's `ListObjectsV2` → `s3:ListBucket`, ...). For the
//!   services of [`crate::actions::KNOWN_SERVICES`] only real actions are kept; events that
//!   map to no action are reported in [`Generated::unmapped`], actions of other real services
//!   (whose action lists kagi does not carry) are kept and listed in
//!   [`Generated::unverified`]. Calls that need no permission (`sts:GetCallerIdentity`,
//!   `sts:GetSessionToken`) are left out and listed in [`Generated::no_permission_needed`].
//! * **Allowed, denied, failed.** A record without `errorCode` is a use. An access-denied
//!   code (`AccessDenied`, `AccessDeniedException`, `Client.UnauthorizedOperation`, ...) is a
//!   denial, listed in [`Generated::denied`]; with [`GenerateOptions::include_denied`] the
//!   denied actions get statements of their own, `Sid` `<Service>DeniedInRecording`, still
//!   `Effect: Allow`: they are what the job still needs (the trial-and-error workflow: run
//!   the job, generate, grant the denied part, run again). Any other error code is listed in
//!   [`Generated::failed`] and left out of the policy.
//! * **Which resources.** Without resource level every statement is on `"*"`. With it, an
//!   action that supports resource-level permissions ([`crate::actions::resource_types`]) is
//!   scoped to the resources the records name: their `resources[].ARN` of the action's type,
//!   else ARNs derived from `requestParameters` (ECR `repositoryName`/`repositoryNames` +
//!   `registryId` + `awsRegion`; IAM `userName`, `roleName`, `groupName`, `policyArn`, ...,
//!   with a `path` parameter when the record has one, else the path `/`; STS `roleArn`). A
//!   user acting on itself without a `userName` (its own access keys) is scoped to its own
//!   ARN. An action with no resource type (`ecr:GetAuthorizationToken`), or whose record names
//!   none, is on `"*"`; so is one whose record names a resource a policy would read as a
//!   pattern (`*`, `?`, `${...}`): a record never widens a grant beyond what it names.
//!
//! Pure: no I/O, no clock (the window is an argument).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::actions;
use crate::ast::PolicyType;
use crate::context::{PrincipalInfo, PrincipalType};
use crate::validate::{Finding, has_errors, validate};

/// What to generate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerateOptions {
    /// A user ARN, a role ARN (every session of the role), a root ARN or an assumed-role
    /// session ARN (that session only).
    pub principal_arn: String,
    /// Events at or after this time (milliseconds since the epoch).
    pub start_ms: Option<i64>,
    /// Events at or before this time (milliseconds since the epoch).
    pub end_ms: Option<i64>,
    /// Scope actions that support it to the resources the records name.
    pub resource_level: bool,
    /// Add the denied actions, in statements of their own.
    pub include_denied: bool,
}

/// Why nothing could be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenerateError {
    /// The principal is not an IAM user, role, root or assumed-role session ARN.
    InvalidPrincipal(String),
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GenerateError::InvalidPrincipal(a) => write!(
                f,
                "{a} is not the ARN of an IAM user or role (arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME)"
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

/// An event that maps to no IAM action, with how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmapped {
    pub event_source: String,
    pub event_name: String,
    pub count: usize,
}

/// The generator's result.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// The policy document, `None` when there is nothing to allow.
    pub policy: Option<Value>,
    /// The principal's records in the window (of all the records given).
    pub events: usize,
    /// Actions used successfully → resources (`"*"` alone when not scoped).
    pub allowed: BTreeMap<String, BTreeSet<String>>,
    /// Actions denied → resources, whether or not they are in the policy.
    pub denied: BTreeMap<String, BTreeSet<String>>,
    /// Actions that failed with another error → the error codes.
    pub failed: BTreeMap<String, BTreeSet<String>>,
    /// Events that map to no IAM action.
    pub unmapped: Vec<Unmapped>,
    /// Actions kept without a catalogue to check them against.
    pub unverified: BTreeSet<String>,
    /// Recorded actions that need no permission, left out.
    pub no_permission_needed: BTreeSet<String>,
    /// The validator's findings on the policy (never an `ERROR`).
    pub findings: Vec<Finding>,
}

impl Generated {
    /// The document as IAM shows it: pretty, four-space indents.
    pub fn policy_pretty(&self) -> Option<String> {
        self.policy.as_ref().map(pretty)
    }

    /// The document on one line (Access Analyzer's `generatedPolicies[].policy`).
    pub fn policy_compact(&self) -> Option<String> {
        self.policy.as_ref().map(Value::to_string)
    }
}

fn pretty(v: &Value) -> String {
    // serde_json indents by two; IAM shows documents indented by four. String values never
    // hold a raw line break (JSON escapes it), so every line's indent is structure.
    let two = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut out = String::with_capacity(two.len() * 3 / 2);
    for (i, line) in two.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        out.extend(std::iter::repeat_n(' ', indent * 2));
        out.push_str(body);
    }
    out
}

/// What IAM action(s) an event needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventAction {
    /// The actions; `verified` when checked against kagi's action catalogue.
    Actions {
        actions: Vec<String>,
        verified: bool,
    },
    /// A call AWS lets anyone make (`sts:GetCallerIdentity`).
    NoPermission(String),
    /// No IAM action (a sign-in event, an unknown service or action).
    Unknown,
}

/// `eventSource` → the IAM service prefix, where the two differ.
const SOURCE_PREFIXES: &[(&str, &str)] = &[
    ("email", "ses"),
    ("monitoring", "cloudwatch"),
    ("tagging", "tag"),
];

/// CloudTrail event names that are not the IAM action's name (S3's documented mapping,
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html>,
/// and Lambda's `Invoke`).
const RENAMED: &[(&str, &str, &[&str])] = &[
    ("lambda", "Invoke", &["InvokeFunction"]),
    ("s3", "CompleteMultipartUpload", &["PutObject"]),
    ("s3", "CopyObject", &["GetObject", "PutObject"]),
    ("s3", "CreateMultipartUpload", &["PutObject"]),
    ("s3", "DeleteBucketCors", &["PutBucketCORS"]),
    (
        "s3",
        "DeleteBucketEncryption",
        &["PutEncryptionConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketLifecycle",
        &["PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketReplication",
        &["PutReplicationConfiguration"],
    ),
    ("s3", "DeleteBucketTagging", &["PutBucketTagging"]),
    ("s3", "DeleteObjects", &["DeleteObject"]),
    ("s3", "GetBucketCors", &["GetBucketCORS"]),
    ("s3", "GetBucketEncryption", &["GetEncryptionConfiguration"]),
    ("s3", "GetBucketLifecycle", &["GetLifecycleConfiguration"]),
    (
        "s3",
        "GetBucketLifecycleConfiguration",
        &["GetLifecycleConfiguration"],
    ),
    (
        "s3",
        "GetBucketNotificationConfiguration",
        &["GetBucketNotification"],
    ),
    (
        "s3",
        "GetBucketReplication",
        &["GetReplicationConfiguration"],
    ),
    ("s3", "HeadBucket", &["ListBucket"]),
    ("s3", "HeadObject", &["GetObject"]),
    ("s3", "ListBuckets", &["ListAllMyBuckets"]),
    (
        "s3",
        "ListMultipartUploads",
        &["ListBucketMultipartUploads"],
    ),
    ("s3", "ListObjectVersions", &["ListBucketVersions"]),
    ("s3", "ListObjects", &["ListBucket"]),
    ("s3", "ListObjectsV2", &["ListBucket"]),
    ("s3", "ListParts", &["ListMultipartUploadParts"]),
    ("s3", "PutBucketCors", &["PutBucketCORS"]),
    ("s3", "PutBucketEncryption", &["PutEncryptionConfiguration"]),
    ("s3", "PutBucketLifecycle", &["PutLifecycleConfiguration"]),
    (
        "s3",
        "PutBucketLifecycleConfiguration",
        &["PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "PutBucketNotificationConfiguration",
        &["PutBucketNotification"],
    ),
    (
        "s3",
        "PutBucketReplication",
        &["PutReplicationConfiguration"],
    ),
    ("s3", "UploadPart", &["PutObject"]),
    ("s3", "UploadPartCopy", &["GetObject", "PutObject"]),
];

/// Calls that need no permission (the STS API reference: "No permissions are required").
const NO_PERMISSION: &[&str] = &["sts:GetCallerIdentity", "sts:GetSessionToken"];

/// The IAM service prefix of an `eventSource` (`ecr.amazonaws.com` → `ecr`), `None` for a
/// source that names no service whose actions policies grant (`signin.amazonaws.com`).
pub fn service_prefix(event_source: &str) -> Option<&str> {
    let host = event_source.strip_suffix(".amazonaws.com")?;
    // `runtime.sagemaker` → `sagemaker`: the service is the last label.
    let svc = host.rsplit('.').next().unwrap_or(host);
    if svc.is_empty() || svc == "signin" {
        return None;
    }
    Some(
        SOURCE_PREFIXES
            .iter()
            .find(|(s, _)| *s == svc)
            .map(|(_, p)| *p)
            .unwrap_or(svc),
    )
}

/// Strips the API version CloudTrail appends to some event names: Lambda's
/// `GetFunction20150331v2`, CloudFront's `CreateDistribution2020_05_31`.
fn strip_version(prefix: &str, name: &str) -> String {
    let b = name.as_bytes();
    match prefix {
        "lambda" => {
            // ...DDDDDDDD, or ...DDDDDDDDvN
            let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
            let mut end = b.len();
            if let Some(v) = name.rfind('v')
                && v + 1 < b.len()
                && digits(&b[v + 1..])
            {
                end = v;
            }
            if end > 8 && digits(&b[end - 8..end]) {
                return name[..end - 8].to_string();
            }
            name.to_string()
        }
        "cloudfront" => {
            // ...YYYY_MM_DD
            if b.len() > 10 {
                let t = &b[b.len() - 10..];
                let digits = |r: std::ops::Range<usize>| t[r].iter().all(u8::is_ascii_digit);
                if digits(0..4) && t[4] == b'_' && digits(5..7) && t[7] == b'_' && digits(8..10) {
                    return name[..b.len() - 10].to_string();
                }
            }
            name.to_string()
        }
        _ => name.to_string(),
    }
}

/// The IAM action(s) a recorded call needs.
pub fn event_action(event_source: &str, event_name: &str) -> EventAction {
    let Some(prefix) = service_prefix(event_source) else {
        return EventAction::Unknown;
    };
    if event_name.is_empty()
        || !event_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return EventAction::Unknown;
    }
    let name = strip_version(prefix, event_name);
    let names: Vec<String> = match RENAMED.iter().find(|(s, e, _)| *s == prefix && *e == name) {
        Some((_, _, to)) => to.iter().map(|s| s.to_string()).collect(),
        None => vec![name],
    };
    let prefix_lc = prefix.to_ascii_lowercase();
    if actions::KNOWN_SERVICES.iter().any(|(s, _)| *s == prefix_lc) {
        let mut out = Vec::with_capacity(names.len());
        for n in &names {
            match actions::canonical(&prefix_lc, n) {
                Some(c) => out.push(format!("{prefix_lc}:{c}")),
                None => return EventAction::Unknown,
            }
        }
        if let [one] = out.as_slice()
            && NO_PERMISSION.contains(&one.as_str())
        {
            return EventAction::NoPermission(one.clone());
        }
        return EventAction::Actions {
            actions: out,
            verified: true,
        };
    }
    if actions::service_exists(&prefix_lc) {
        return EventAction::Actions {
            actions: names.iter().map(|n| format!("{prefix_lc}:{n}")).collect(),
            verified: false,
        };
    }
    EventAction::Unknown
}

/// Whether an `errorCode` says the call was denied (rather than failing after authorisation).
pub fn is_access_denied(code: &str) -> bool {
    code.contains("AccessDenied")
        || code.contains("UnauthorizedOperation")
        || code == "UnauthorizedException"
        || code == "NotAuthorized"
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

struct Principal {
    arn: String,
    partition: String,
    account: String,
    role: bool,
}

fn principal(arn: &str) -> Result<Principal, GenerateError> {
    let bad = || GenerateError::InvalidPrincipal(arn.to_string());
    let info = PrincipalInfo::from_arn(arn).ok_or_else(bad)?;
    if info.account.len() != 12 || !info.account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let partition = arn.split(':').nth(1).unwrap_or("aws").to_string();
    Ok(Principal {
        arn: arn.to_string(),
        partition,
        account: info.account,
        role: info.kind == PrincipalType::Role,
    })
}

fn is_principals(rec: &Value, p: &Principal) -> bool {
    let Some(ui) = rec.get("userIdentity") else {
        return false;
    };
    if p.role {
        str_at(ui, &["type"]) == Some("AssumedRole")
            && str_at(ui, &["sessionContext", "sessionIssuer", "arn"]) == Some(p.arn.as_str())
    } else {
        str_at(ui, &["arn"]) == Some(p.arn.as_str())
    }
}

fn in_window(rec: &Value, opts: &GenerateOptions) -> bool {
    if opts.start_ms.is_none() && opts.end_ms.is_none() {
        return true;
    }
    let Some(t) = str_at(rec, &["eventTime"]).and_then(crate::condition::parse_date) else {
        return false;
    };
    opts.start_ms.is_none_or(|s| t >= s) && opts.end_ms.is_none_or(|e| t <= e)
}

/// Whether `arn` names a resource of `rtype` (a Service Authorization Reference type name).
fn arn_is_type(arn: &str, rtype: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return false;
    }
    let (svc, res) = (parts[2], parts[5]);
    match rtype {
        "repository" => svc == "ecr" && res.starts_with("repository/"),
        "root-user" => svc == "iam" && res == "root",
        "self-session" => svc == "sts" && res == "self",
        "federated-user" => svc == "sts" && res.starts_with("federated-user/"),
        t => {
            svc == "iam"
                && res
                    .strip_prefix(t)
                    .is_some_and(|r| r.starts_with('/') && r.len() > 1)
        }
    }
}

/// `path` + `name` as IAM writes them in an ARN (`/dev/` + `alice` → `dev/alice`).
fn with_path(params: &Value, name: &str) -> String {
    let path = params
        .get("path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/') && p.ends_with('/'))
        .unwrap_or("/");
    format!("{}{name}", &path[1..])
}

/// The resources of `rtype` a record's request names.
fn derived(rec: &Value, rtype: &str, p: &Principal) -> Vec<String> {
    let params = rec.get("requestParameters").unwrap_or(&Value::Null);
    let param = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let part = &p.partition;
    let account = str_at(rec, &["recipientAccountId"]).unwrap_or(&p.account);
    let iam = |res: String| format!("arn:{part}:iam::{account}:{res}");
    let arn_param = |k: &str| {
        param(k)
            .filter(|a| arn_is_type(a, rtype))
            .map(str::to_string)
    };
    match rtype {
        "repository" => {
            let Some(region) = str_at(rec, &["awsRegion"]) else {
                return Vec::new();
            };
            let registry = param("registryId").unwrap_or(account);
            let mut names: Vec<&str> = param("repositoryName").into_iter().collect();
            if let Some(list) = params.get("repositoryNames").and_then(Value::as_array) {
                names.extend(list.iter().filter_map(Value::as_str));
            }
            names
                .into_iter()
                .map(|n| format!("arn:{part}:ecr:{region}:{registry}:repository/{n}"))
                .collect()
        }
        "user" => {
            if let Some(n) = param("userName") {
                return vec![iam(format!("user/{}", with_path(params, n)))];
            }
            // A user acting on itself (its own keys, password, MFA devices).
            match rec.get("userIdentity") {
                Some(ui) if str_at(ui, &["type"]) == Some("IAMUser") => str_at(ui, &["arn"])
                    .map(str::to_string)
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            }
        }
        "role" => arn_param("roleArn")
            .or_else(|| param("roleName").map(|n| iam(format!("role/{}", with_path(params, n)))))
            .into_iter()
            .collect(),
        "group" => param("groupName")
            .map(|n| iam(format!("group/{}", with_path(params, n))))
            .into_iter()
            .collect(),
        "policy" => arn_param("policyArn")
            .or_else(|| {
                param("policyName").map(|n| iam(format!("policy/{}", with_path(params, n))))
            })
            .into_iter()
            .collect(),
        "instance-profile" => param("instanceProfileName")
            .map(|n| iam(format!("instance-profile/{}", with_path(params, n))))
            .into_iter()
            .collect(),
        "oidc-provider" => arn_param("openIDConnectProviderArn")
            .or_else(|| {
                param("url").map(|u| {
                    let host = u
                        .strip_prefix("https://")
                        .or_else(|| u.strip_prefix("http://"))
                        .unwrap_or(u);
                    iam(format!("oidc-provider/{}", host.trim_end_matches('/')))
                })
            })
            .into_iter()
            .collect(),
        "saml-provider" => arn_param("sAMLProviderArn")
            .or_else(|| param("name").map(|n| iam(format!("saml-provider/{n}"))))
            .into_iter()
            .collect(),
        "mfa" => arn_param("serialNumber")
            .or_else(|| {
                param("virtualMFADeviceName").map(|n| iam(format!("mfa/{}", with_path(params, n))))
            })
            .into_iter()
            .collect(),
        "server-certificate" => param("serverCertificateName")
            .map(|n| iam(format!("server-certificate/{}", with_path(params, n))))
            .into_iter()
            .collect(),
        "federated-user" => param("name")
            .map(|n| format!("arn:{part}:sts::{account}:federated-user/{n}"))
            .into_iter()
            .collect(),
        "root-user" => param("targetPrincipal")
            .filter(|t| t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()))
            .map(|t| format!("arn:{part}:iam::{t}:root"))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a resource taken from a record can go into a policy as it is: printable ASCII
/// without the characters a policy reads as wildcards or variables (`*`, `?`, `${`), so a
/// record can never widen a grant.
fn literal_arn(arn: &str) -> bool {
    arn.bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'*' | b'?' | b'$'))
}

/// The resources a record's action is on: `["*"]` when the action has no resource type or
/// the record names none.
fn resources_of(rec: &Value, action: &str, p: &Principal) -> Vec<String> {
    let (svc, name) = action.split_once(':').unwrap_or((action, ""));
    let types = actions::resource_types(svc, name);
    for t in types {
        let listed: Vec<String> = rec
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("ARN").and_then(Value::as_str))
            .filter(|a| arn_is_type(a, t))
            .map(str::to_string)
            .collect();
        if !listed.is_empty() && listed.iter().all(|a| literal_arn(a)) {
            return listed;
        }
        let d = derived(rec, t, p);
        if !d.is_empty() && d.iter().all(|a| literal_arn(a)) {
            return d;
        }
    }
    vec!["*".to_string()]
}

fn add(map: &mut BTreeMap<String, BTreeSet<String>>, action: &str, resources: Vec<String>) {
    let set = map.entry(action.to_string()).or_default();
    set.extend(resources);
    if set.contains("*") {
        set.retain(|r| r == "*");
    }
}

/// `access-analyzer` → `AccessAnalyzer`.
fn sid_stem(prefix: &str) -> String {
    prefix
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Statements for `map` (action → resources): one per service and resource set.
fn statements(map: &BTreeMap<String, BTreeSet<String>>, suffix: &str, out: &mut Vec<Value>) {
    let mut by_service: BTreeMap<&str, BTreeMap<Vec<&str>, Vec<&str>>> = BTreeMap::new();
    for (action, res) in map {
        let svc = action.split_once(':').map_or(action.as_str(), |(s, _)| s);
        let key: Vec<&str> = res.iter().map(String::as_str).collect();
        by_service
            .entry(svc)
            .or_default()
            .entry(key)
            .or_default()
            .push(action);
    }
    for (svc, groups) in by_service {
        let stem = sid_stem(svc);
        for (i, (res, acts)) in groups.into_iter().enumerate() {
            let sid = if i == 0 {
                format!("{stem}{suffix}")
            } else {
                format!("{stem}{suffix}{}", i + 1)
            };
            let mut st = Map::new();
            st.insert("Sid".into(), sid.into());
            st.insert("Effect".into(), "Allow".into());
            st.insert("Action".into(), json!(acts));
            st.insert(
                "Resource".into(),
                match res.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                },
            );
            out.push(Value::Object(st));
        }
    }
}

/// Builds the policy from `records` (any order; other principals' records are skipped).
pub fn generate(records: &[Value], opts: &GenerateOptions) -> Result<Generated, GenerateError> {
    let p = principal(&opts.principal_arn)?;
    let mut g = Generated::default();
    let mut unmapped: BTreeMap<(String, String), usize> = BTreeMap::new();
    for rec in records {
        if !is_principals(rec, &p) || !in_window(rec, opts) {
            continue;
        }
        g.events += 1;
        let source = str_at(rec, &["eventSource"]).unwrap_or_default();
        let name = str_at(rec, &["eventName"]).unwrap_or_default();
        let acts = match event_action(source, name) {
            EventAction::Actions { actions, verified } => {
                if !verified {
                    g.unverified.extend(actions.iter().cloned());
                }
                actions
            }
            EventAction::NoPermission(a) => {
                g.no_permission_needed.insert(a);
                continue;
            }
            EventAction::Unknown => {
                *unmapped
                    .entry((source.to_string(), name.to_string()))
                    .or_default() += 1;
                continue;
            }
        };
        let error = rec
            .get("errorCode")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty());
        for a in &acts {
            let res = if opts.resource_level {
                resources_of(rec, a, &p)
            } else {
                vec!["*".to_string()]
            };
            match error {
                None => add(&mut g.allowed, a, res),
                Some(code) if is_access_denied(code) => add(&mut g.denied, a, res),
                Some(code) => {
                    g.failed
                        .entry(a.clone())
                        .or_default()
                        .insert(code.to_string());
                }
            }
        }
    }
    g.unmapped = unmapped
        .into_iter()
        .map(|((event_source, event_name), count)| Unmapped {
            event_source,
            event_name,
            count,
        })
        .collect();
    let mut stmts = Vec::new();
    statements(&g.allowed, "Used", &mut stmts);
    if opts.include_denied {
        // What was denied and is not already allowed.
        let mut still: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, res) in &g.denied {
            let allowed = g.allowed.get(a);
            if allowed.is_some_and(|r| r.contains("*")) {
                continue;
            }
            let rest: Vec<String> = res
                .iter()
                .filter(|r| !allowed.is_some_and(|al| al.contains(*r)))
                .cloned()
                .collect();
            if !rest.is_empty() {
                add(&mut still, a, rest);
            }
        }
        statements(&still, "DeniedInRecording", &mut stmts);
    }
    if !stmts.is_empty() {
        let mut doc = Map::new();
        doc.insert("Version".into(), "2012-10-17".into());
        doc.insert("Statement".into(), Value::Array(stmts));
        let doc = Value::Object(doc);
        g.findings = validate(&pretty(&doc), PolicyType::Identity);
        debug_assert!(!has_errors(&g.findings), "{:?}", g.findings);
        g.policy = Some(doc);
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    /// An IAM user's record, shaped as the CloudTrail User Guide's IAMUser example
    /// (`userIdentity` with `sessionContext.attributes`).
    fn user_record(name: &str, source: &str, event: &str, params: Value) -> Value {
        json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
                "accountId": ACCOUNT,
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "userName": name,
                "sessionContext": {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": "2026-12-07T09:00:00Z", "mfaAuthenticated": "false"}
                }
            },
            "eventTime": "2026-12-07T10:00:00Z",
            "eventSource": source,
            "eventName": event,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.0",
            "userAgent": "aws-cli/2.36.7",
            "requestParameters": params,
            "responseElements": null,
            "requestID": "e4336db0-149f-4a6b-844d-EXAMPLEb9d16",
            "eventID": "e755e09c-42f9-4c5c-9064-EXAMPLE228c7",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management"
        })
    }

    /// A session of a role, shaped as the User Guide's AssumedRole example
    /// (`sessionContext.sessionIssuer` naming the role).
    fn role_record(role: &str, session: &str, source: &str, event: &str, params: Value) -> Value {
        let mut r = user_record("x", source, event, params);
        r["userIdentity"] = json!({
            "type": "AssumedRole",
            "principalId": format!("AROAIDPPEZS35WEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAIDPPEZS35WEXAMPLE",
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                    "accountId": ACCOUNT,
                    "userName": role
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-12-07T09:58:00Z", "mfaAuthenticated": "false"}
            }
        });
        r
    }

    /// The registry push of one image to `repo`, as ECR logs it: each event names the
    /// repository in `requestParameters` and in `resources`.
    fn push(role: &str, session: &str, repo: &str) -> Vec<Value> {
        let mut out = vec![role_record(
            role,
            session,
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            json!({}),
        )];
        for e in [
            "BatchCheckLayerAvailability",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "PutImage",
        ] {
            let mut r = role_record(
                role,
                session,
                "ecr.amazonaws.com",
                e,
                json!({"repositoryName": repo, "registryId": ACCOUNT}),
            );
            r["resources"] = json!([{
                "ARN": format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repo}"),
                "accountId": ACCOUNT,
                "type": "AWS::ECR::Repository"
            }]);
            out.push(r);
        }
        out
    }

    fn opts(principal: &str) -> GenerateOptions {
        GenerateOptions {
            principal_arn: principal.to_string(),
            ..Default::default()
        }
    }

    fn role_arn(role: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:role/{role}")
    }

    #[test]
    fn a_roles_push_gives_the_push_actions_and_nothing_else() {
        let mut recs = push("ECRLoginAndPushRole", "s1", "test-repos");
        // Another session of the same role, and another role: only the role's sessions count.
        recs.extend(push("ECRLoginAndPushRole", "s2", "test-repos"));
        recs.push(role_record(
            "Other",
            "s",
            "ecr.amazonaws.com",
            "DeleteRepository",
            json!({"repositoryName": "test-repos"}),
        ));
        recs.push(role_record(
            "ECRLoginAndPushRole",
            "s1",
            "sts.amazonaws.com",
            "GetCallerIdentity",
            json!(null),
        ));
        let g = generate(&recs, &opts(&role_arn("ECRLoginAndPushRole"))).unwrap();
        assert_eq!(g.events, 13);
        assert_eq!(
            g.policy_pretty().unwrap(),
            r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EcrUsed",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:CompleteLayerUpload",
                "ecr:GetAuthorizationToken",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart"
            ],
            "Resource": "*"
        }
    ]
}"#
        );
        assert!(g.no_permission_needed.contains("sts:GetCallerIdentity"));
        assert!(g.findings.is_empty(), "{:?}", g.findings);
    }

    #[test]
    fn resource_level_scopes_what_supports_it_and_leaves_the_rest_on_star() {
        let recs = push("ECRLoginAndPushRole", "s1", "test-repos");
        let g = generate(
            &recs,
            &GenerateOptions {
                resource_level: true,
                ..opts(&role_arn("ECRLoginAndPushRole"))
            },
        )
        .unwrap();
        let p = g.policy.unwrap();
        assert_eq!(
            p["Statement"],
            json!([
                {"Sid": "EcrUsed", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                {"Sid": "EcrUsed2", "Effect": "Allow", "Action": [
                    "ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload",
                    "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
                 "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/test-repos"}
            ])
        );
        assert!(!has_errors(&g.findings));
    }

    #[test]
    fn resources_are_derived_from_request_parameters_when_the_record_lists_none() {
        let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let recs = vec![
            // Shaped as ECR's documented PutImage record, without `resources`.
            user_record(
                "alice",
                "ecr.amazonaws.com",
                "DescribeRepositories",
                json!({"repositoryNames": ["b", "a"], "registryId": "210987654321"}),
            ),
            user_record(
                "alice",
                "iam.amazonaws.com",
                "CreateUser",
                json!({"userName": "Bob", "path": "/dev/"}),
            ),
            user_record("alice", "iam.amazonaws.com", "CreateAccessKey", json!(null)),
            user_record(
                "alice",
                "iam.amazonaws.com",
                "AttachRolePolicy",
                json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            ),
            user_record(
                "alice",
                "iam.amazonaws.com",
                "GetPolicy",
                json!({"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            ),
            user_record(
                "alice",
                "sts.amazonaws.com",
                "AssumeRole",
                json!({"roleArn": role_arn("deploy"), "roleSessionName": "x"}),
            ),
            user_record("alice", "iam.amazonaws.com", "ListUsers", json!(null)),
        ];
        let g = generate(
            &recs,
            &GenerateOptions {
                resource_level: true,
                ..opts(&alice)
            },
        )
        .unwrap();
        let res = |a: &str| g.allowed[a].iter().cloned().collect::<Vec<_>>();
        assert_eq!(
            res("ecr:DescribeRepositories"),
            [
                "arn:aws:ecr:us-east-1:210987654321:repository/a",
                "arn:aws:ecr:us-east-1:210987654321:repository/b"
            ]
        );
        assert_eq!(
            res("iam:CreateUser"),
            ["arn:aws:iam::123456789012:user/dev/Bob"]
        );
        // Its own keys: the user itself.
        assert_eq!(res("iam:CreateAccessKey"), [alice.as_str()]);
        assert_eq!(
            res("iam:AttachRolePolicy"),
            ["arn:aws:iam::123456789012:role/r"]
        );
        assert_eq!(
            res("iam:GetPolicy"),
            ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        );
        assert_eq!(res("sts:AssumeRole"), [role_arn("deploy")]);
        assert_eq!(res("iam:ListUsers"), ["*"]);
        let p = g.policy.as_ref().unwrap();
        let sids: Vec<&str> = p["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(
            sids,
            [
                "EcrUsed", "IamUsed", "IamUsed2", "IamUsed3", "IamUsed4", "IamUsed5", "StsUsed"
            ]
        );
        assert!(!has_errors(&g.findings), "{:?}", g.findings);
    }

    #[test]
    fn a_record_never_widens_a_grant_with_wildcards_or_variables() {
        let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let recs = [
            user_record(
                "alice",
                "ecr.amazonaws.com",
                "BatchGetImage",
                json!({"repositoryName": "prod-*"}),
            ),
            user_record(
                "alice",
                "iam.amazonaws.com",
                "GetRole",
                json!({"roleName": "${aws:username}"}),
            ),
        ];
        let g = generate(
            &recs,
            &GenerateOptions {
                resource_level: true,
                ..opts(&alice)
            },
        )
        .unwrap();
        // Not derivable as a literal ARN: on "*", as without resource level.
        assert_eq!(
            g.allowed["ecr:BatchGetImage"].iter().collect::<Vec<_>>(),
            ["*"]
        );
        assert_eq!(g.allowed["iam:GetRole"].iter().collect::<Vec<_>>(), ["*"]);
    }

    #[test]
    fn denied_calls_are_reported_and_added_only_when_asked() {
        let user = format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch");
        let mut denied = user_record(
            "user-for-switch",
            "iam.amazonaws.com",
            "ListUsers",
            json!(null),
        );
        // The CloudTrail User Guide's denied call: errorCode + errorMessage, no response.
        denied["errorCode"] = json!("AccessDenied");
        denied["errorMessage"] = json!(format!(
            "User: {user} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action"
        ));
        let mut ecr_denied = user_record(
            "user-for-switch",
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            json!({}),
        );
        ecr_denied["errorCode"] = json!("AccessDeniedException");
        let mut missing = user_record(
            "user-for-switch",
            "iam.amazonaws.com",
            "GetRole",
            json!({"roleName": "nope"}),
        );
        missing["errorCode"] = json!("NoSuchEntityException");
        let allowed = user_record(
            "user-for-switch",
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": role_arn("ECRLoginAndPushRole"), "roleSessionName": "s"}),
        );
        // Denied first, allowed later (after the policy was fixed): not "still needed".
        let mut denied_then_allowed = allowed.clone();
        denied_then_allowed["errorCode"] = json!("AccessDenied");
        let recs = vec![denied, ecr_denied, missing, denied_then_allowed, allowed];

        let g = generate(&recs, &opts(&user)).unwrap();
        assert_eq!(
            g.policy.as_ref().unwrap()["Statement"],
            json!([{"Sid": "StsUsed", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"}])
        );
        assert_eq!(
            g.denied.keys().collect::<Vec<_>>(),
            [
                "ecr:GetAuthorizationToken",
                "iam:ListUsers",
                "sts:AssumeRole"
            ]
        );
        assert_eq!(
            g.failed["iam:GetRole"].iter().collect::<Vec<_>>(),
            ["NoSuchEntityException"]
        );

        let g = generate(
            &recs,
            &GenerateOptions {
                include_denied: true,
                ..opts(&user)
            },
        )
        .unwrap();
        assert_eq!(
            g.policy.as_ref().unwrap()["Statement"],
            json!([
                {"Sid": "StsUsed", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"},
                {"Sid": "EcrDeniedInRecording", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                {"Sid": "IamDeniedInRecording", "Effect": "Allow", "Action": ["iam:ListUsers"], "Resource": "*"}
            ])
        );
        assert!(!has_errors(&g.findings), "{:?}", g.findings);
    }

    #[test]
    fn the_window_and_the_principal_select_records() {
        let user = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let mut early = user_record("alice", "iam.amazonaws.com", "GetUser", json!(null));
        early["eventTime"] = json!("2026-12-01T00:00:00Z");
        let late = user_record("alice", "iam.amazonaws.com", "ListRoles", json!(null));
        let bob = user_record("bob", "iam.amazonaws.com", "ListGroups", json!(null));
        let recs = [early, late, bob];
        let day = |s: &str| crate::condition::parse_date(s).unwrap();
        let g = generate(
            &recs,
            &GenerateOptions {
                start_ms: Some(day("2026-12-07T00:00:00Z")),
                end_ms: Some(day("2026-12-07T10:00:00Z")),
                ..opts(&user)
            },
        )
        .unwrap();
        assert_eq!(g.events, 1);
        assert_eq!(g.allowed.keys().collect::<Vec<_>>(), ["iam:ListRoles"]);
        // A role ARN does not match a user's records, and nothing used is no policy.
        let g = generate(&recs, &opts(&role_arn("alice"))).unwrap();
        assert_eq!((g.events, g.policy), (0, None));
        assert!(matches!(
            generate(&recs, &opts("arn:aws:s3:::bucket")),
            Err(GenerateError::InvalidPrincipal(_))
        ));
    }

    #[test]
    fn event_names_map_to_actions_as_aws_documents() {
        let one = |src: &str, name: &str| match event_action(src, name) {
            EventAction::Actions { actions, verified } => (actions.join(","), verified),
            other => panic!("{src} {name}: {other:?}"),
        };
        assert_eq!(
            one("ecr.amazonaws.com", "PutImage"),
            ("ecr:PutImage".into(), true)
        );
        assert_eq!(
            one("monitoring.amazonaws.com", "PutMetricData"),
            ("cloudwatch:PutMetricData".into(), false)
        );
        assert_eq!(
            one("lambda.amazonaws.com", "GetFunction20150331v2"),
            ("lambda:GetFunction".into(), false)
        );
        assert_eq!(
            one("lambda.amazonaws.com", "ListFunctions20150331"),
            ("lambda:ListFunctions".into(), false)
        );
        assert_eq!(
            one("lambda.amazonaws.com", "Invoke"),
            ("lambda:InvokeFunction".into(), false)
        );
        assert_eq!(
            one("cloudfront.amazonaws.com", "CreateDistribution2020_05_31"),
            ("cloudfront:CreateDistribution".into(), false)
        );
        assert_eq!(
            one("s3.amazonaws.com", "ListObjectsV2"),
            ("s3:ListBucket".into(), false)
        );
        assert_eq!(
            one("s3.amazonaws.com", "CopyObject"),
            ("s3:GetObject,s3:PutObject".into(), false)
        );
        assert_eq!(
            one("identitystore.amazonaws.com", "CreateUser"),
            ("identitystore:CreateUser".into(), false)
        );
        assert_eq!(
            event_action("sts.amazonaws.com", "GetCallerIdentity"),
            EventAction::NoPermission("sts:GetCallerIdentity".into())
        );
        for (src, name) in [
            ("signin.amazonaws.com", "ConsoleLogin"),
            ("ecr.amazonaws.com", "PushImage"),
            ("nosuch.amazonaws.com", "Get"),
            ("ecr.amazonaws.com", "Put*"),
            ("ecr", "PutImage"),
        ] {
            assert_eq!(
                event_action(src, name),
                EventAction::Unknown,
                "{src} {name}"
            );
        }
    }

    #[test]
    fn unknown_events_are_reported_not_allowed() {
        let user = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let recs = [
            user_record("alice", "signin.amazonaws.com", "ConsoleLogin", json!(null)),
            user_record("alice", "signin.amazonaws.com", "ConsoleLogin", json!(null)),
            user_record("alice", "ecr.amazonaws.com", "PushImage", json!(null)),
        ];
        let g = generate(&recs, &opts(&user)).unwrap();
        assert_eq!(g.policy, None);
        assert_eq!(
            g.unmapped,
            [
                Unmapped {
                    event_source: "ecr.amazonaws.com".into(),
                    event_name: "PushImage".into(),
                    count: 1
                },
                Unmapped {
                    event_source: "signin.amazonaws.com".into(),
                    event_name: "ConsoleLogin".into(),
                    count: 2
                }
            ]
        );
    }

    #[test]
    fn every_generated_policy_validates() {
        // All the catalogue's actions used once each, with and without resources.
        let user = format!("arn:aws:iam::{ACCOUNT}:user/alice");
        let mut recs = Vec::new();
        for (svc, list) in actions::KNOWN_SERVICES {
            for a in *list {
                recs.push(user_record(
                    "alice",
                    &format!("{svc}.amazonaws.com"),
                    a,
                    json!({"userName": "u", "roleName": "r", "repositoryName": "p", "groupName": "g"}),
                ));
            }
        }
        for resource_level in [false, true] {
            let g = generate(
                &recs,
                &GenerateOptions {
                    resource_level,
                    ..opts(&user)
                },
            )
            .unwrap();
            assert!(!has_errors(&g.findings), "{:?}", g.findings);
            assert!(g.unmapped.is_empty());
        }
    }
}
