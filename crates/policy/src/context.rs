//! The request context: condition keys and their values, plus the principal and the request
//! facts that the global keys are built from.
//!
//! Keys are case-insensitive (stored lower-cased). A key holds one or more string values and a
//! type; operators interpret the text (numbers, dates, IPs, base64) when they compare. A key given
//! as a list type (`stringList`, ...) or with several values is multivalued.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::pattern::Resolver;

/// The type of a context key, as in IAM's `ContextKeyType` (without the `List` suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContextType {
    String,
    Numeric,
    Boolean,
    Ip,
    Binary,
    Date,
}

impl ContextType {
    /// Parses IAM's `ContextKeyType` (`string`, `stringList`, ...): the type and whether it is a
    /// list.
    pub fn parse_aws(s: &str) -> Option<(ContextType, bool)> {
        let (base, list) = match s.strip_suffix("List") {
            Some(b) => (b, true),
            None => (s, false),
        };
        let t = match base {
            "string" => ContextType::String,
            "numeric" => ContextType::Numeric,
            "boolean" => ContextType::Boolean,
            "ip" => ContextType::Ip,
            "binary" => ContextType::Binary,
            "date" => ContextType::Date,
            _ => return None,
        };
        Some((t, list))
    }
}

/// The values of one context key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextValue {
    pub values: Vec<String>,
    pub ty: ContextType,
    /// Given as a list type: a set, for `ForAllValues`/`ForAnyValue`.
    pub multivalued: bool,
}

/// Condition keys for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    map: crate::fxhash::FxMap<String, ContextValue>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.map.insert(key.to_ascii_lowercase(), value);
    }

    pub fn set(&mut self, key: &str, ty: ContextType, value: impl Into<String>) {
        self.insert(
            key,
            ContextValue {
                values: vec![value.into()],
                ty,
                multivalued: false,
            },
        );
    }

    pub fn set_string(&mut self, key: &str, value: impl Into<String>) {
        self.set(key, ContextType::String, value);
    }

    pub fn set_list(&mut self, key: &str, ty: ContextType, values: Vec<String>) {
        self.insert(
            key,
            ContextValue {
                values,
                ty,
                multivalued: true,
            },
        );
    }

    pub fn remove(&mut self, key: &str) {
        self.map.remove(&key.to_ascii_lowercase());
    }

    /// Looks a key up; `key` must already be lower-case.
    pub fn get_lc(&self, key_lc: &str) -> Option<&ContextValue> {
        self.map.get(key_lc)
    }

    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.map.get(&key.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

impl Resolver for Context {
    /// Policy variables take single-valued keys only.
    fn resolve(&self, key: &str) -> Option<&str> {
        match self.map.get(key) {
            Some(v) if v.values.len() == 1 && !v.multivalued => Some(&v.values[0]),
            _ => None,
        }
    }
}

/// What kind of principal makes the request (`aws:PrincipalType` is derived from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    User,
    /// A role itself (used when a role ARN is the simulated caller).
    Role,
    AssumedRole,
    Root,
    FederatedUser,
}

impl PrincipalType {
    /// The value of `aws:PrincipalType`.
    pub fn aws_name(self) -> &'static str {
        match self {
            PrincipalType::User => "User",
            PrincipalType::Role | PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::Root => "Account",
            PrincipalType::FederatedUser => "FederatedUser",
        }
    }
}

/// A role session's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// `arn:aws:iam::ACCT:role/path/Name`.
    pub role_arn: String,
    /// The role's unique id (`AROA...`).
    pub role_id: String,
    pub session_name: String,
    pub issued_at: Option<SystemTime>,
    pub mfa: bool,
}

/// Who makes the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalInfo {
    pub account: String,
    /// The caller's ARN (`...:user/alice`, `arn:aws:sts::ACCT:assumed-role/R/s`, `...:root`).
    pub arn: String,
    pub kind: PrincipalType,
    /// `AIDA...` for users, `AROA...:session` for sessions, the account id for root.
    pub unique_id: String,
    /// IAM user name (users only; `aws:username`).
    pub user_name: Option<String>,
    /// Principal tags (user or role tags, plus session tags).
    pub tags: Vec<(String, String)>,
    pub session: Option<SessionInfo>,
    /// True when the principal has a permissions boundary (a `NotPrincipal` deny then always
    /// applies, as AWS documents).
    pub has_permissions_boundary: bool,
}

impl PrincipalInfo {
    /// Builds a principal from an ARN alone (what the policy simulator does with `CallerArn`).
    pub fn from_arn(arn: &str) -> Option<PrincipalInfo> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return None;
        }
        let (service, account, res) = (parts[2], parts[4].to_string(), parts[5]);
        let name_of = |r: &str| r.rsplit('/').next().unwrap_or(r).to_string();
        let (kind, user_name, session) = match service {
            "iam" if res == "root" => (PrincipalType::Root, None, None),
            "iam" if res.starts_with("user/") => (PrincipalType::User, Some(name_of(res)), None),
            "iam" if res.starts_with("role/") => (PrincipalType::Role, None, None),
            "sts" if res.starts_with("assumed-role/") => {
                let mut it = res["assumed-role/".len()..].splitn(2, '/');
                let role = it.next()?.to_string();
                let sess = it.next()?.to_string();
                (
                    PrincipalType::AssumedRole,
                    None,
                    Some(SessionInfo {
                        role_arn: format!("arn:{}:iam::{}:role/{}", parts[1], account, role),
                        role_id: String::new(),
                        session_name: sess,
                        issued_at: None,
                        mfa: false,
                    }),
                )
            }
            "sts" if res.starts_with("federated-user/") => {
                (PrincipalType::FederatedUser, None, None)
            }
            _ => return None,
        };
        Some(PrincipalInfo {
            unique_id: if kind == PrincipalType::Root {
                account.clone()
            } else {
                String::new()
            },
            account,
            arn: arn.to_string(),
            kind,
            user_name,
            tags: Vec::new(),
            session,
            has_permissions_boundary: false,
        })
    }

    /// `arn:aws:iam::ACCT:root` for the principal's account.
    pub fn account_root_arn(&self) -> String {
        let partition = self.arn.split(':').nth(1).unwrap_or("aws");
        format!("arn:{partition}:iam::{}:root", self.account)
    }
}

/// Facts about the request that are not about the principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFacts {
    pub now: SystemTime,
    pub source_ip: Option<std::net::IpAddr>,
    pub secure_transport: bool,
    pub requested_region: Option<String>,
}

/// Builds the global condition keys AWS puts in every request context:
/// `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
/// `aws:username` (users only), `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport`,
/// `aws:SourceIp`, `aws:MultiFactorAuthPresent` and `aws:TokenIssueTime` (temporary
/// credentials only), `aws:PrincipalTag/*`, `aws:RequestedRegion`, and
/// `aws:PrincipalIsAWSService`/`aws:ViaAWSService` (false: kagi has no service principals)
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>).
pub fn global_context(principal: &PrincipalInfo, facts: &RequestFacts) -> Context {
    let mut c = Context::new();
    // For a role session, aws:PrincipalArn is the role's ARN, not the session's.
    let principal_arn = match (&principal.kind, &principal.session) {
        (PrincipalType::AssumedRole, Some(s)) => s.role_arn.clone(),
        _ => principal.arn.clone(),
    };
    c.set_string("aws:PrincipalArn", principal_arn);
    c.set_string("aws:PrincipalAccount", principal.account.clone());
    c.set_string("aws:PrincipalType", principal.kind.aws_name());
    c.set_string("aws:userid", principal.unique_id.clone());
    if let (PrincipalType::User, Some(u)) = (principal.kind, &principal.user_name) {
        c.set_string("aws:username", u.clone());
    }
    c.set(
        "aws:CurrentTime",
        ContextType::Date,
        format_iso8601(facts.now),
    );
    let epoch = facts
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    c.set("aws:EpochTime", ContextType::Date, epoch.to_string());
    c.set(
        "aws:SecureTransport",
        ContextType::Boolean,
        facts.secure_transport.to_string(),
    );
    if let Some(ip) = facts.source_ip {
        c.set("aws:SourceIp", ContextType::Ip, ip.to_string());
    }
    if let Some(r) = &facts.requested_region {
        c.set_string("aws:RequestedRegion", r.clone());
    }
    if let Some(s) = &principal.session {
        c.set(
            "aws:MultiFactorAuthPresent",
            ContextType::Boolean,
            s.mfa.to_string(),
        );
        if let Some(t) = s.issued_at {
            c.set("aws:TokenIssueTime", ContextType::Date, format_iso8601(t));
        }
    }
    for (k, v) in &principal.tags {
        c.set_string(&format!("aws:PrincipalTag/{k}"), v.clone());
    }
    // Requests made directly by the principal (not by a service on its behalf).
    c.set("aws:PrincipalIsAWSService", ContextType::Boolean, "false");
    c.set("aws:ViaAWSService", ContextType::Boolean, "false");
    c
}

/// Formats a time as AWS writes `aws:CurrentTime`: `2026-11-24T10:30:00Z`.
pub fn format_iso8601(t: std::time::SystemTime) -> String {
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    kagi_time::iso8601_z(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn from_arn_kinds() {
        let p = PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/dev/alice").unwrap();
        assert_eq!(p.kind, PrincipalType::User);
        assert_eq!(p.user_name.as_deref(), Some("alice"));
        let p = PrincipalInfo::from_arn("arn:aws:sts::123456789012:assumed-role/R/s1").unwrap();
        assert_eq!(
            p.session.unwrap().role_arn,
            "arn:aws:iam::123456789012:role/R"
        );
        assert_eq!(
            PrincipalInfo::from_arn("arn:aws:iam::123456789012:root")
                .unwrap()
                .kind,
            PrincipalType::Root
        );
        assert!(PrincipalInfo::from_arn("nope").is_none());
    }

    #[test]
    fn global_keys() {
        let mut p = PrincipalInfo::from_arn("arn:aws:sts::123456789012:assumed-role/R/s1").unwrap();
        p.unique_id = "AROAEXAMPLE:s1".into();
        p.tags = vec![("team".into(), "blue".into())];
        let facts = RequestFacts {
            now: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            source_ip: Some("127.0.0.1".parse().unwrap()),
            secure_transport: false,
            requested_region: Some("ap-northeast-1".into()),
        };
        let c = global_context(&p, &facts);
        assert_eq!(
            c.get("AWS:PRINCIPALARN").unwrap().values,
            ["arn:aws:iam::123456789012:role/R"]
        );
        assert_eq!(c.get("aws:PrincipalType").unwrap().values, ["AssumedRole"]);
        assert_eq!(c.get("aws:EpochTime").unwrap().values, ["1700000000"]);
        assert_eq!(
            c.get("aws:CurrentTime").unwrap().values,
            ["2023-11-14T22:13:20Z"]
        );
        assert_eq!(c.get("aws:PrincipalTag/team").unwrap().values, ["blue"]);
        assert!(c.get("aws:username").is_none());
        assert_eq!(
            c.get("aws:MultiFactorAuthPresent").unwrap().values,
            ["false"]
        );
    }
}
