//! The typed policy document: what `parse` produces, with a span on everything so that
//! validation findings and evaluation explanations can point into the source.

use crate::json::Span;

/// A value with the span of its source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// The kind of document, which decides the structural rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Attached to a user, group or role; also permissions boundaries and session policies.
    /// Must not have `Principal`; needs `Resource`.
    Identity,
    /// Attached to a resource (an ECR repository policy, a bucket policy). Needs `Principal`;
    /// `Resource` is optional (it defaults to the resource the policy is attached to).
    Resource,
    /// A role's trust policy (`AWS::IAM::AssumeRolePolicyDocument`). Needs `Principal`;
    /// `Resource` is prohibited.
    Trust,
    /// An AWS Organizations service control policy (SCP), as `CreatePolicy --type
    /// SERVICE_CONTROL_POLICY` accepts it
    /// (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html>):
    /// `Version` must be `2012-10-17`; no `Principal`/`NotPrincipal`; `Action` or `NotAction`
    /// (a `*`/`?` wildcard only alone or at the end of the action name); `Resource` or
    /// `NotResource`; `Condition`; at most 5,120 characters, whitespace included.
    ServiceControl,
    /// An AWS Organizations resource control policy (RCP), as `CreatePolicy --type
    /// RESOURCE_CONTROL_POLICY` accepts it
    /// (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html>):
    /// `Version` must be `2012-10-17`; `Effect` only `Deny` (`Allow` exists only in the
    /// AWS-managed `RCPFullAWSAccess`, see [`crate::organizations`]); `Principal` must be `"*"`
    /// (no `NotPrincipal`); `Action` only (no `NotAction`), of services that support RCPs;
    /// `Resource` or `NotResource`; `Condition`; at most 5,120 characters, whitespace included.
    ResourceControl,
}

impl PolicyType {
    /// Whether AWS Organizations (not IAM) stores this kind of document: its errors are
    /// Organizations' (`MalformedPolicyDocumentException`, `ConstraintViolationException`).
    pub fn is_organizations(self) -> bool {
        matches!(
            self,
            PolicyType::ServiceControl | PolicyType::ResourceControl
        )
    }

    /// Maps Access Analyzer's `policyType` (and optional `validatePolicyResourceType`), plus
    /// kagi's `TRUST_POLICY` shorthand, to a policy type.
    pub fn from_access_analyzer(
        policy_type: &str,
        resource_type: Option<&str>,
    ) -> Option<PolicyType> {
        match (policy_type, resource_type) {
            ("TRUST_POLICY", _) => Some(PolicyType::Trust),
            ("RESOURCE_POLICY", Some("AWS::IAM::AssumeRolePolicyDocument")) => {
                Some(PolicyType::Trust)
            }
            ("RESOURCE_POLICY", _) => Some(PolicyType::Resource),
            ("IDENTITY_POLICY", _) => Some(PolicyType::Identity),
            ("SERVICE_CONTROL_POLICY", _) => Some(PolicyType::ServiceControl),
            ("RESOURCE_CONTROL_POLICY", _) => Some(PolicyType::ResourceControl),
            _ => None,
        }
    }
}

/// The policy language version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V2012_10_17,
    V2008_10_17,
    /// No `Version` element: IAM treats this as 2008-10-17 (no policy variables).
    Absent,
}

impl Version {
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Version::V2012_10_17 => Some("2012-10-17"),
            Version::V2008_10_17 => Some("2008-10-17"),
            Version::Absent => None,
        }
    }

    /// Policy variables are substituted only in 2012-10-17 documents; elsewhere `${...}` is text.
    pub fn supports_variables(self) -> bool {
        self == Version::V2012_10_17
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A parsed policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub policy_type: PolicyType,
    pub version: Version,
    /// Span of the `Version` member (key to value), when present.
    pub version_span: Option<Span>,
    pub id: Option<Spanned<String>>,
    pub statements: Vec<Statement>,
    /// True when `Statement` was an array (locations then carry an index).
    pub statement_is_array: bool,
    /// Span of the whole document's top-level object.
    pub span: Span,
}

/// One statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// 0-based position in the `Statement` array (0 when `Statement` is an object).
    pub index: usize,
    /// Span of the statement object, `{` to `}` inclusive.
    pub span: Span,
    pub sid: Option<Spanned<String>>,
    pub effect: Spanned<Effect>,
    pub principal: Option<PrincipalElement>,
    pub action: Option<ListElement>,
    pub resource: Option<ListElement>,
    pub condition: Option<ConditionElement>,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: a string or a list of strings.
#[derive(Clone, Debug, PartialEq)]
pub struct ListElement {
    /// `NotAction` / `NotResource`.
    pub negated: bool,
    pub key_span: Span,
    pub values: Vec<Spanned<String>>,
    /// Whether the source wrote a JSON array.
    pub is_list: bool,
}

/// `Principal` / `NotPrincipal`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrincipalElement {
    pub negated: bool,
    pub key_span: Span,
    pub principal: Principal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// `"Principal": "*"`: everyone (same as `{"AWS": "*"}`).
    Wildcard,
    Map(Vec<PrincipalEntry>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrincipalEntry {
    pub kind: PrincipalKind,
    pub key_span: Span,
    pub values: Vec<Spanned<String>>,
}

/// The `Condition` element.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionElement {
    pub key_span: Span,
    pub blocks: Vec<ConditionBlock>,
}

/// One operator with its keys: `"StringEquals": {"aws:username": ["a", "b"]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionBlock {
    pub operator: crate::condition::Operator,
    pub operator_text: Spanned<String>,
    pub entries: Vec<ConditionEntry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConditionEntry {
    pub key: Spanned<String>,
    /// Values as text (JSON booleans and numbers are kept as their text).
    pub values: Vec<Spanned<String>>,
    pub is_list: bool,
}

impl Policy {
    /// The context keys the policy's conditions and policy variables use, as IAM's
    /// `GetContextKeysForCustomPolicy` lists them (condition keys as written; variables
    /// lower-cased), sorted and without duplicates (case-insensitively).
    pub fn context_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let mut add = |k: &str| {
            if !keys.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                keys.push(k.to_string());
            }
        };
        let vars = self.version.supports_variables();
        let scan = |text: &str, add: &mut dyn FnMut(&str)| {
            if !vars {
                return;
            }
            let t = crate::pattern::Template::compile(text, true, true, false);
            for p in t.pieces() {
                if let crate::pattern::Piece::Var { key, .. } = p {
                    add(key);
                }
            }
        };
        for s in &self.statements {
            if let Some(c) = &s.condition {
                for b in &c.blocks {
                    for e in &b.entries {
                        add(&e.key.value);
                        for v in &e.values {
                            scan(&v.value, &mut add);
                        }
                    }
                }
            }
            if let Some(r) = &s.resource {
                for v in &r.values {
                    scan(&v.value, &mut add);
                }
            }
        }
        keys.sort_by_key(|k| k.to_ascii_lowercase());
        keys
    }
}
