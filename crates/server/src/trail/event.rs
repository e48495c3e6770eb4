//! One recorded call before it is written ([`Event`]), and who made it ([`Identity`]).

use crate::caller::Caller;
use crate::store::TRAIL_SEGMENT_SPAN_MS;
use std::net::IpAddr;

/// Who made a call, as far as authentication found out.
#[derive(Clone, Debug)]
pub enum Identity {
    Caller(Caller),
    /// Authentication failed, but the access key id is known (CloudTrail's `Unknown` type).
    Unknown {
        access_key_id: String,
    },
    /// AssumeRoleWithWebIdentity: the token's issuer and subject.
    WebIdentity {
        provider: String,
        subject: String,
    },
}

/// Who made a call, as the history keeps it: `userIdentity` as JSON text, and the user name
/// and access key LookupEvents filters by. Shared: one per access key while it stays the same
/// caller ([`super::record::who_of_caller`]).
#[derive(Debug)]
pub struct Who {
    pub json: String,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    /// The principal that made the call: the user's ARN, the role's for its sessions, the
    /// root's (the history's internal `PrincipalArn` index).
    pub principal_arn: Option<String>,
}

/// One recorded call, before it is written.
#[derive(Clone, Debug)]
pub struct Event {
    pub time_ms: i64,
    /// A UUID whose first 48 bits are `time_ms` (as UUIDv7): LookupEvents by EventId finds the
    /// segment from the id alone.
    pub id: String,
    /// The account whose history it joins (`recipientAccountId`).
    pub account: String,
    /// `iam.amazonaws.com`, ...
    pub source: String,
    pub name: String,
    pub region: String,
    pub source_ip: IpAddr,
    pub user_agent: String,
    pub identity: std::sync::Arc<Who>,
    /// `requestParameters` as CloudTrail's JSON text: CloudTrail's member names, secrets
    /// hidden, cut to size (`Event::set_request` in `record`, or written by the query path in
    /// one pass).
    pub request_parameters: Option<String>,
    /// `responseElements`, the same way (`Event::set_response`).
    pub response_elements: Option<String>,
    /// `(errorCode, errorMessage)`.
    pub error: Option<(String, String)>,
    pub request_id: String,
    pub read_only: bool,
    /// `(ARN, type)`, e.g. `("arn:aws:ecr:…:repository/x", "AWS::ECR::Repository")`.
    pub resources: Vec<(String, String)>,
    /// kagi's explanations of the authorisation decisions ([`notes`]).
    pub explanation: Vec<std::sync::Arc<kagi_policy::Explained>>,
}

/// Where a call came from: its region, address, client and request id.
pub struct Origin<'a> {
    pub region: &'a str,
    pub source_ip: IpAddr,
    pub user_agent: &'a str,
    pub request_id: &'a str,
}

impl Event {
    /// The event of a call `identity` makes now in `account`'s history (`source` as
    /// [`event_source`] names it): every entry point (signed API calls, console calls,
    /// registry requests) builds its events here.
    pub fn of_call(
        identity: std::sync::Arc<Who>,
        account: &str,
        source: &str,
        name: &str,
        origin: Origin<'_>,
    ) -> Event {
        let time_ms = now_ms();
        Event {
            time_ms,
            id: event_id(time_ms),
            account: account.to_owned(),
            source: source.to_owned(),
            name: name.to_owned(),
            region: origin.region.to_owned(),
            source_ip: origin.source_ip,
            user_agent: origin.user_agent.to_owned(),
            identity,
            request_parameters: None,
            response_elements: None,
            error: None,
            request_id: origin.request_id.to_owned(),
            read_only: is_read_only(source, name),
            resources: Vec::new(),
            explanation: Vec::new(),
        }
    }

    /// An event at `time_ms` with a fresh time-ordered id; the rest as the caller fills it.
    pub fn new(time_ms: i64, account: &str, source: &str, name: &str) -> Event {
        Event {
            time_ms,
            id: event_id(time_ms),
            account: account.to_owned(),
            source: source.to_owned(),
            name: name.to_owned(),
            region: "us-east-1".to_owned(),
            source_ip: IpAddr::from([127, 0, 0, 1]),
            user_agent: String::new(),
            identity: NOBODY.clone(),
            request_parameters: None,
            response_elements: None,
            error: None,
            request_id: String::new(),
            read_only: is_read_only(source, name),
            resources: Vec::new(),
            explanation: Vec::new(),
        }
    }
}

static NOBODY: std::sync::LazyLock<std::sync::Arc<Who>> = std::sync::LazyLock::new(|| {
    std::sync::Arc::new(Who {
        json: r#"{"type":"Unknown"}"#.to_owned(),
        username: None,
        access_key_id: None,
        principal_arn: None,
    })
});

/// A UUID (RFC 9562 version 7 layout) carrying `time_ms` in its first 48 bits; the other 74
/// bits from a per-thread generator seeded by the OS (ids must be unique, not secret: one
/// system call per thread instead of one per event).
pub fn event_id(time_ms: i64) -> String {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    let next = || {
        STATE.with(|s| {
            let mut x = s.get();
            if x == 0 {
                x = u64::from_le_bytes(
                    uuid::Uuid::new_v4().as_bytes()[..8]
                        .try_into()
                        .unwrap_or([1; 8]),
                ) | 1;
            }
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            s.set(x);
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
    };
    let (a, b) = (next(), next());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    let ms = (time_ms.max(0) as u64).to_be_bytes();
    bytes[..6].copy_from_slice(&ms[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// The time an [`event_id`] carries.
pub fn time_of_id(id: &str) -> Option<i64> {
    let u = uuid::Uuid::parse_str(id).ok()?;
    let b = u.as_bytes();
    if b[6] >> 4 != 7 {
        return None;
    }
    let mut ms = [0u8; 8];
    ms[2..].copy_from_slice(&b[..6]);
    Some(u64::from_be_bytes(ms) as i64)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How far a paginated scan must look back (see [`TRAIL_SEGMENT_SPAN_MS`]).
pub const SPAN_MS: i64 = TRAIL_SEGMENT_SPAN_MS;

/// Whether CloudTrail marks the call read-only: reads by name (`Get`, `List`, `Describe`,
/// `BatchGet`, `BatchCheck`, `Lookup`, `Simulate`), and every STS call.
pub fn is_read_only(source: &str, name: &str) -> bool {
    source == "sts.amazonaws.com"
        || [
            "Get",
            "List",
            "Describe",
            "BatchGet",
            "BatchCheck",
            "Lookup",
            "Simulate",
        ]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether CloudTrail keeps a call's `responseElements`: for writes, and for STS's calls that
/// mint credentials; read-only calls are recorded without their (possibly large) answers.
pub fn keeps_response(source: &str, name: &str, read_only: bool) -> bool {
    !read_only
        || (source == "sts.amazonaws.com"
            && (name.starts_with("AssumeRole")
                || name.starts_with("Get") && name.ends_with("Token")))
}

/// `iam.amazonaws.com` for `iam`, ... (CloudTrail's `eventSource` of `operation`). kagi's
/// Identity Center extension takes the source of the service AWS serves each operation from:
/// a user's MFA devices are Identity Center's directory's (`sso-directory`), the directory's MFA
/// settings Identity Center's (`sso`), a portal password the identity store's.
pub fn event_source(service: &str, operation: &str) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match service {
        "kagi-identity-center" => match operation {
            "ListMfaDevicesForUser" | "DeleteMfaDeviceForUser" => "sso-directory.amazonaws.com",
            "GetMfaDeviceManagementForDirectory" | "PutMfaDeviceManagementForDirectory" => {
                "sso.amazonaws.com"
            }
            _ => "identitystore.amazonaws.com",
        },
        "iam" => "iam.amazonaws.com",
        "sts" => "sts.amazonaws.com",
        "ecr" => "ecr.amazonaws.com",
        "organizations" => "organizations.amazonaws.com",
        "cloudtrail" => "cloudtrail.amazonaws.com",
        "access-analyzer" => "access-analyzer.amazonaws.com",
        "identitystore" => "identitystore.amazonaws.com",
        "sso-admin" => "sso.amazonaws.com",
        s => return std::borrow::Cow::Owned(format!("{s}.amazonaws.com")),
    })
}
