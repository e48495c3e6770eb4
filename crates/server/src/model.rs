//! Stored entities (the JSON documents of [`crate::store`]). Secrets are stored sealed
//! (`*_sealed` fields, see [`crate::crypto`]); no struct here derives a `Debug` that could print
//! one in clear.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub boundary: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    /// `None` for the account root's key.
    pub user: Option<String>,
    pub secret_sealed: String,
    pub active: bool,
    pub created: i64,
    #[serde(default)]
    pub last_used: Option<LastUsed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LastUsed {
    pub date: i64,
    pub service: String,
    pub region: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    pub group: String,
    pub user: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    pub created: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created: i64,
    pub updated: i64,
    #[serde(default)]
    pub description: Option<String>,
    pub default_version: String,
    pub next_version: u32,
    pub versions: Vec<PolicyVersion>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn default_document(&self) -> &str {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
            .map(|v| v.document.as_str())
            .unwrap_or("")
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: EntityKind,
    pub entity: String,
    pub policy_arn: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub kind: EntityKind,
    pub entity: String,
    pub name: String,
    pub document: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created: i64,
    pub trust_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i64,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub last_used: Option<LastUsed>,
}

/// An instance profile (stored in `Table::Meta` under `instance-profile\0lower(name)`): a
/// container for at most one role, as EC2 uses them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub created: i64,
    /// Role names (AWS allows one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An IAM OpenID Connect identity provider (stored in `Table::Meta` under
/// `oidc-provider\0ARN`). `url` is kept without its `https://`, as IAM shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OidcProvider {
    pub arn: String,
    pub url: String,
    pub created: i64,
    #[serde(default)]
    pub client_ids: Vec<String>,
    #[serde(default)]
    pub thumbprints: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The provider's URL is `http://` (kagi allows it for loopback hosts only), not `https://`.
    #[serde(default)]
    pub http: bool,
}

/// An IAM SAML identity provider (stored in `Table::Meta` under `saml-provider\0lower(name)`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamlProvider {
    pub arn: String,
    pub name: String,
    pub uuid: String,
    pub metadata: String,
    pub created: i64,
    pub valid_until: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MfaDevice {
    pub serial: String,
    pub seed_sealed: String,
    /// The user it is enabled for (None while not yet enabled).
    pub user: Option<String>,
    pub created: i64,
    pub enabled: Option<i64>,
    /// Highest TOTP time step accepted so far (a code is never accepted twice).
    #[serde(default)]
    pub last_step: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// What an STS session carries: who it is, when it ends, and what narrows it.
/// Serialised (sealed) inside the session token and stored for `caller_for_key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub secret_sealed: String,
    pub kind: SessionKind,
    pub issued: i64,
    pub expires: i64,
    #[serde(default)]
    pub mfa: bool,
    /// A console sign-in session (root or IAM user signed in with a password): unlike
    /// GetSessionToken credentials it may call IAM, as the AWS console's sessions can.
    #[serde(default)]
    pub console: bool,
    /// Session policy documents (inline `Policy` and the defaults of `PolicyArns`).
    #[serde(default)]
    pub session_policies: Vec<String>,
    /// Whether session policies were passed at all (an empty list then means "nothing").
    #[serde(default)]
    pub has_session_policy: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub source_identity: Option<String>,
    /// The account whose principal the session is (the role's account for a role session);
    /// empty in tokens minted before sessions named it: the bootstrap account's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account: String,
}

impl Session {
    /// The session's account, `bootstrap` for sessions minted before they named it.
    pub fn account_or<'a>(&'a self, bootstrap: &'a str) -> &'a str {
        if self.account.is_empty() {
            bootstrap
        } else {
            &self.account
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SessionKind {
    /// `AssumeRole`: a role session.
    Role {
        role_name: String,
        role_id: String,
        session_name: String,
    },
    /// `GetSessionToken` for an IAM user.
    User {
        user_name: String,
        /// The user's id: a user deleted and re-created under the same name is a different
        /// user, whose sessions these are not. (Absent in records from before it was kept.)
        #[serde(default)]
        user_id: Option<String>,
    },
    /// `GetSessionToken` for the account root.
    Root,
    /// `GetFederationToken`: a federated user session named `federated_name`, federated by
    /// the IAM user `user_name` (its id in `user_id`, so that a user deleted and re-created
    /// under the same name is another user) or, with both `None`, by the account root.
    Federated {
        federated_name: String,
        #[serde(default)]
        user_name: Option<String>,
        #[serde(default)]
        user_id: Option<String>,
    },
}
