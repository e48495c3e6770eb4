//! IAM Identity Center's data: instances, their identity stores (users, groups, memberships),
//! permission sets and account assignments ([`Table::IdentityCenter`], store-wide scope; see
//! [`keys`]), and provisioning: an assignment makes the role
//! `AWSReservedSSO_<PermissionSet>_<16 hex>` under `/aws-reserved/sso.amazonaws.com/` in the
//! account, trusting the account's SAML provider `AWSSSO_<16 hex>_DO_NOT_DELETE` as AWS does,
//! with the permission set's policies. Sign-in state (OIDC clients, device codes, tokens, portal
//! sessions) is short-lived and lives in [`Table::SsoTokens`], which never changes the cache
//! generation. The operations are `crate::sso`'s.

use crate::ids;
use crate::model::{Attachment, EntityKind, InlinePolicy, Role, SamlProvider};
use crate::store::{self, GLOBAL, RawTx, Table, Tx, TxExt, name_key};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One Identity Center instance (kagi has at most one per owner account).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Instance {
    /// `ssoins-` + 16 hex.
    pub id: String,
    /// `d-` + 10 hex: the identity store.
    pub identity_store_id: String,
    pub owner_account: String,
    pub name: Option<String>,
    pub created: i64,
    /// How long portal tokens last (seconds; AWS's default session is 8 hours).
    #[serde(default = "default_session")]
    pub session_secs: i64,
    /// The MFA settings of the access portal's sign-in (absent in instances made before them:
    /// the defaults).
    #[serde(default)]
    pub mfa: MfaSettings,
}

/// How the AWS access portal asks for MFA (the IAM Identity Center console's Settings →
/// Authentication → Multi-factor authentication).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSettings {
    /// "Prompt users for MFA": [`MFA_CONTEXT_AWARE`] (only when the sign-in context changes,
    /// AWS's default), [`MFA_ALWAYS_ON`] (every time they sign in) or [`MFA_DISABLED`] (never).
    pub mode: String,
    /// "If a user does not yet have a registered MFA device": [`NO_MFA_ALLOWED`] (allow them to
    /// sign in), [`NO_MFA_REGISTER`] (require them to register one at sign in) or
    /// [`NO_MFA_BLOCKED`] (block their sign-in). AWS's default, a one-time password e-mailed,
    /// needs an e-mail kagi cannot send; kagi's default is to allow them.
    pub no_device: String,
    /// "Users can add and manage their own MFA devices" in the access portal.
    pub users_manage: bool,
}

pub const MFA_CONTEXT_AWARE: &str = "CONTEXT_AWARE";
pub const MFA_ALWAYS_ON: &str = "ALWAYS_ON";
pub const MFA_DISABLED: &str = "DISABLED";
pub const NO_MFA_ALLOWED: &str = "ALLOWED";
pub const NO_MFA_REGISTER: &str = "REGISTRATION_REQUIRED";
pub const NO_MFA_BLOCKED: &str = "BLOCKED";
/// Authenticator apps a user may register (AWS allows eight MFA devices per user).
pub const MAX_MFA_DEVICES: usize = 8;

impl Default for MfaSettings {
    fn default() -> Self {
        MfaSettings {
            mode: MFA_CONTEXT_AWARE.to_owned(),
            no_device: NO_MFA_ALLOWED.to_owned(),
            users_manage: true,
        }
    }
}

/// A user's authenticator app (RFC 6238 TOTP): the seed sealed with the data key (purpose
/// [`MFA_SEED_PURPOSE`]), the last time step a code was accepted for (never accepted twice).
/// No `Debug`: the row holds a (sealed) secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct MfaDevice {
    /// `mfa-` + 16 hex.
    pub id: String,
    pub user_id: String,
    /// The name the user gave it.
    pub name: String,
    pub seed_sealed: String,
    pub registered: i64,
    #[serde(default)]
    pub last_step: u64,
    #[serde(default)]
    pub last_used: i64,
}

pub const MFA_SEED_PURPOSE: &str = "sso-mfa-seed";

fn default_session() -> i64 {
    8 * 3600
}

impl Instance {
    pub fn arn(&self) -> String {
        format!("arn:aws:sso:::instance/{}", self.id)
    }
    pub fn identity_store_arn(&self) -> String {
        format!(
            "arn:aws:identitystore::{}:identitystore/{}",
            self.owner_account, self.identity_store_id
        )
    }
}

/// A user of an identity store: the attributes IdentityStore's CreateUser took (its members,
/// as given), plus kagi's own sign-in data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreUser {
    pub id: String,
    pub user_name: String,
    /// The user's attributes (Name, DisplayName, Emails, ...), as IdentityStore returns them.
    pub attributes: Value,
    /// An argon2id hash of the portal password (AWS e-mails an invitation; kagi's operator
    /// sets one: `kagi sso set-password` / the console).
    #[serde(default)]
    pub password_phc: Option<String>,
    pub created: i64,
    #[serde(default)]
    pub updated: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreGroup {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub created: i64,
}

/// A customer managed policy reference (`Name`, `Path`): the policy of that name in each
/// account the permission set is provisioned to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub name: String,
    pub path: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PermissionSet {
    /// `ps-` + 16 hex.
    pub id: String,
    pub instance_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// ISO 8601 duration (`PT1H`, the default; at most `PT12H`).
    pub session_duration: String,
    #[serde(default)]
    pub relay_state: Option<String>,
    #[serde(default)]
    pub inline_policy: Option<String>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub customer_policies: Vec<PolicyRef>,
    /// The permissions boundary: an AWS managed policy ARN or a customer policy reference.
    #[serde(default)]
    pub boundary_arn: Option<String>,
    #[serde(default)]
    pub boundary_ref: Option<PolicyRef>,
    #[serde(default)]
    pub tags: Vec<crate::model::Tag>,
    pub created: i64,
}

impl PermissionSet {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:sso:::permissionSet/{}/{}",
            self.instance_id, self.id
        )
    }
    /// The session duration in seconds.
    pub fn session_secs(&self) -> i64 {
        parse_duration(&self.session_duration).unwrap_or(3600)
    }
}

/// `PT1H`, `PT8H30M`, `PT3600S`: seconds.
pub fn parse_duration(d: &str) -> Option<i64> {
    let rest = d.strip_prefix("PT")?;
    let mut total = 0i64;
    let mut num = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let n: i64 = num.parse().ok()?;
            num.clear();
            total += match c {
                'H' => n * 3600,
                'M' => n * 60,
                'S' => n,
                _ => return None,
            };
        }
    }
    (num.is_empty() && total > 0).then_some(total)
}

/// An account assignment: `principal_type` `USER` or `GROUP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub account: String,
    pub permission_set: String,
    pub principal_type: String,
    pub principal_id: String,
}

/// Row keys in [`Table::IdentityCenter`].
pub mod keys {
    /// The instance, by its id; `owner\0ACCOUNT` names the instance an account owns.
    pub fn instance(id: &str) -> String {
        format!("instance\0{id}")
    }
    pub fn owner(account: &str) -> String {
        format!("owner\0{account}")
    }
    pub fn user(store: &str, id: &str) -> String {
        format!("{store}\0user\0{id}")
    }
    /// Index: a user by lower-cased user name (the document is the user id).
    pub fn user_name(store: &str, name: &str) -> String {
        format!("{store}\0username\0{}", name.to_lowercase())
    }
    pub fn group(store: &str, id: &str) -> String {
        format!("{store}\0group\0{id}")
    }
    pub fn group_name(store: &str, name: &str) -> String {
        format!("{store}\0groupname\0{}", name.to_lowercase())
    }
    pub fn membership(store: &str, id: &str) -> String {
        format!("{store}\0membership\0{id}")
    }
    pub fn permission_set(instance: &str, id: &str) -> String {
        format!("{instance}\0ps\0{id}")
    }
    /// `INSTANCE\0assign\0ACCOUNT\0PS-ID\0TYPE\0PRINCIPAL`.
    pub fn assignment(instance: &str, a: &super::Assignment) -> String {
        let ps = a.permission_set.rsplit('/').next().unwrap_or("");
        format!(
            "{instance}\0assign\0{}\0{ps}\0{}\0{}",
            a.account, a.principal_type, a.principal_id
        )
    }
    pub fn assignments(instance: &str) -> String {
        format!("{instance}\0assign\0")
    }
    /// Where a permission set is provisioned: `INSTANCE\0provisioned\0ACCOUNT\0PS-ID`, the
    /// document the role's name.
    pub fn provisioned(instance: &str, account: &str, ps: &str) -> String {
        format!("{instance}\0provisioned\0{account}\0{ps}")
    }
    pub fn status(instance: &str, id: &str) -> String {
        format!("{instance}\0status\0{id}")
    }
    /// A user's MFA device: `STORE\0mfa\0USER\0DEVICE`.
    pub fn mfa_device(store: &str, user: &str, id: &str) -> String {
        format!("{store}\0mfa\0{user}\0{id}")
    }
    pub fn mfa_devices(store: &str, user: &str) -> String {
        format!("{store}\0mfa\0{user}\0")
    }
}

/// The instance `account` owns, if any.
pub fn instance_of(tx: &dyn Tx, account: &str) -> anyhow::Result<Option<Instance>> {
    let Some(id) = tx.get_json::<String>(Table::IdentityCenter, &keys::owner(account))? else {
        return Ok(None);
    };
    tx.get_json(Table::IdentityCenter, &keys::instance(&id))
}

/// Every instance (a portal serves the one whose start URL it is; kagi's start URL names it).
pub fn instances(tx: &dyn Tx) -> anyhow::Result<Vec<Instance>> {
    Ok(tx
        .scan_json::<Instance>(Table::IdentityCenter, "instance\0")?
        .into_iter()
        .map(|(_, i)| i)
        .collect())
}

pub fn user(tx: &dyn Tx, store: &str, id: &str) -> anyhow::Result<Option<StoreUser>> {
    tx.get_json(Table::IdentityCenter, &keys::user(store, id))
}

pub fn user_by_name(tx: &dyn Tx, store: &str, name: &str) -> anyhow::Result<Option<StoreUser>> {
    match tx.get_json::<String>(Table::IdentityCenter, &keys::user_name(store, name))? {
        Some(id) => user(tx, store, &id),
        None => Ok(None),
    }
}

/// A user's MFA devices, oldest first.
pub fn mfa_devices(tx: &dyn Tx, store: &str, user: &str) -> anyhow::Result<Vec<MfaDevice>> {
    let mut v: Vec<MfaDevice> = tx
        .scan_json::<MfaDevice>(Table::IdentityCenter, &keys::mfa_devices(store, user))?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    v.sort_by(|a, b| (a.registered, &a.id).cmp(&(b.registered, &b.id)));
    Ok(v)
}

pub fn permission_set(
    tx: &dyn Tx,
    instance: &str,
    id: &str,
) -> anyhow::Result<Option<PermissionSet>> {
    tx.get_json(Table::IdentityCenter, &keys::permission_set(instance, id))
}

/// The groups `user` is a member of.
pub fn groups_of(tx: &dyn Tx, store: &str, user: &str) -> anyhow::Result<Vec<String>> {
    Ok(tx
        .scan_json::<Membership>(Table::IdentityCenter, &format!("{store}\0membership\0"))?
        .into_iter()
        .filter(|(_, m)| m.user_id == user)
        .map(|(_, m)| m.group_id)
        .collect())
}

/// Every assignment of the instance.
pub fn assignments(tx: &dyn Tx, instance: &str) -> anyhow::Result<Vec<Assignment>> {
    Ok(tx
        .scan_json::<Assignment>(Table::IdentityCenter, &keys::assignments(instance))?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// What `user` may sign in to: (account, permission set) pairs, directly or through a group.
pub fn entitlements(
    tx: &dyn Tx,
    instance: &Instance,
    user: &str,
) -> anyhow::Result<Vec<(String, PermissionSet)>> {
    let groups = groups_of(tx, &instance.identity_store_id, user)?;
    let mut out: Vec<(String, PermissionSet)> = Vec::new();
    for a in assignments(tx, &instance.id)? {
        let mine = match a.principal_type.as_str() {
            "USER" => a.principal_id == user,
            _ => groups.contains(&a.principal_id),
        };
        if !mine {
            continue;
        }
        let ps_id = a.permission_set.rsplit('/').next().unwrap_or("");
        if out
            .iter()
            .any(|(acct, ps)| *acct == a.account && ps.id == ps_id)
        {
            continue;
        }
        if let Some(ps) = permission_set(tx, &instance.id, ps_id)? {
            out.push((a.account, ps));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name.cmp(&b.1.name)));
    Ok(out)
}

/// 16 lower-case hex digits.
pub fn hex16() -> String {
    let mut b = [0u8; 8];
    ids::random_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SAML provider Identity Center keeps in each account it provisions to.
fn saml_provider_name(instance: &Instance) -> String {
    format!("AWSSSO_{}_DO_NOT_DELETE", &instance.id["ssoins-".len()..])
}

/// Makes (or refreshes) the role of `ps` in `account`, inside a transaction over the whole
/// store: the account's SAML provider, the role trusting it, the permission set's inline,
/// AWS managed and customer managed policies and boundary. Returns the role's name.
/// A customer managed policy the account lacks fails the provisioning, as on AWS.
pub fn provision(
    raw: &mut dyn RawTx,
    instance: &Instance,
    account: &str,
    ps: &PermissionSet,
    now: i64,
) -> anyhow::Result<Result<String, String>> {
    let existing = store::in_account(raw, GLOBAL, |tx| {
        tx.get_json::<String>(
            Table::IdentityCenter,
            &keys::provisioned(&instance.id, account, &ps.id),
        )
    })?;
    let role_name = existing.unwrap_or_else(|| {
        let mut n = format!("AWSReservedSSO_{}_{}", ps.name, hex16());
        n.truncate(64);
        n
    });
    let provider = saml_provider_name(instance);
    let outcome = store::in_account(raw, account, |tx| -> anyhow::Result<Result<(), String>> {
        let provider_arn = format!("arn:aws:iam::{account}:saml-provider/{provider}");
        let pkey = format!("saml-provider\0{}", name_key(&provider));
        if tx.get(Table::Meta, &pkey)?.is_none() {
            tx.put_json(
                Table::Meta,
                &pkey,
                &SamlProvider {
                    arn: provider_arn.clone(),
                    name: provider.clone(),
                    uuid: uuid::Uuid::new_v4().to_string(),
                    metadata: format!(
                        "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"kagi:identity-center:{}\"/>",
                        instance.id
                    ),
                    created: now,
                    valid_until: now + 100 * 365 * 86_400,
                    tags: Vec::new(),
                },
            )?;
        }
        // Customer managed references must exist in the account.
        for r in &ps.customer_policies {
            let arn = ids::iam_arn(account, "policy", &r.path, &r.name);
            if tx.get(Table::Policies, &arn)?.is_none() {
                return Ok(Err(format!(
                    "Received a 404 status error: Policy {arn} does not exist or is not attachable."
                )));
            }
        }
        let trust = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
            }]
        });
        let path = "/aws-reserved/sso.amazonaws.com/";
        let rkey = name_key(&role_name);
        let old: Option<Role> = tx.get_json(Table::Roles, &rkey)?;
        let boundary = match (&ps.boundary_arn, &ps.boundary_ref) {
            (Some(a), _) => Some(a.clone()),
            (None, Some(r)) => Some(ids::iam_arn(account, "policy", &r.path, &r.name)),
            _ => None,
        };
        let role = Role {
            id: old
                .as_ref()
                .map(|r| r.id.clone())
                .unwrap_or_else(|| ids::unique_id(ids::IdKind::Role)),
            name: role_name.clone(),
            path: path.into(),
            arn: ids::iam_arn(account, "role", path, &role_name),
            created: old.as_ref().map_or(now, |r| r.created),
            trust_policy: serde_json::to_string_pretty(&trust)?,
            description: None,
            max_session_duration: ps.session_secs().max(3600),
            boundary,
            tags: Vec::new(),
            last_used: old.and_then(|r| r.last_used),
        };
        tx.put_json(Table::Roles, &rkey, &role)?;
        // The role's policies are exactly the permission set's (re-provisioning replaces them).
        let prefix = crate::entities::entity_prefix(EntityKind::Role, &role_name);
        for (k, _) in tx.scan(Table::Attachments, &prefix)? {
            tx.delete(Table::Attachments, &k)?;
        }
        for (k, _) in tx.scan(Table::InlinePolicies, &prefix)? {
            tx.delete(Table::InlinePolicies, &k)?;
        }
        let mut arns = ps.managed_policies.clone();
        arns.extend(
            ps.customer_policies
                .iter()
                .map(|r| ids::iam_arn(account, "policy", &r.path, &r.name)),
        );
        for arn in arns {
            tx.put_json(
                Table::Attachments,
                &crate::entities::attachment_key(EntityKind::Role, &role_name, &arn),
                &Attachment {
                    kind: EntityKind::Role,
                    entity: role_name.clone(),
                    policy_arn: arn,
                },
            )?;
        }
        if let Some(doc) = &ps.inline_policy {
            tx.put_json(
                Table::InlinePolicies,
                &crate::entities::inline_key(EntityKind::Role, &role_name, "AwsSSOInlinePolicy"),
                &InlinePolicy {
                    kind: EntityKind::Role,
                    entity: role_name.clone(),
                    name: "AwsSSOInlinePolicy".into(),
                    document: doc.clone(),
                },
            )?;
        }
        Ok(Ok(()))
    })?;
    if let Err(why) = outcome {
        return Ok(Err(why));
    }
    store::in_account(raw, GLOBAL, |tx| {
        tx.put_json(
            Table::IdentityCenter,
            &keys::provisioned(&instance.id, account, &ps.id),
            &role_name,
        )
    })?;
    Ok(Ok(role_name))
}

/// Removes the role of `ps` from `account` (the last assignment of the pair is gone).
pub fn deprovision(
    raw: &mut dyn RawTx,
    instance: &Instance,
    account: &str,
    ps_id: &str,
) -> anyhow::Result<()> {
    let key = keys::provisioned(&instance.id, account, ps_id);
    let Some(role_name) = store::in_account(raw, GLOBAL, |tx| {
        tx.get_json::<String>(Table::IdentityCenter, &key)
    })?
    else {
        return Ok(());
    };
    store::in_account(raw, account, |tx| {
        let prefix = crate::entities::entity_prefix(EntityKind::Role, &role_name);
        for (k, _) in tx.scan(Table::Attachments, &prefix)? {
            tx.delete(Table::Attachments, &k)?;
        }
        for (k, _) in tx.scan(Table::InlinePolicies, &prefix)? {
            tx.delete(Table::InlinePolicies, &k)?;
        }
        tx.delete(Table::Roles, &name_key(&role_name))?;
        Ok(())
    })?;
    store::in_account(raw, GLOBAL, |tx| {
        tx.delete(Table::IdentityCenter, &key)?;
        Ok(())
    })
}

/// The provisioned role of `ps` in `account`.
pub fn provisioned_role(
    tx: &dyn Tx,
    instance: &str,
    account: &str,
    ps: &str,
) -> anyhow::Result<Option<String>> {
    tx.get_json(
        Table::IdentityCenter,
        &keys::provisioned(instance, account, ps),
    )
}

/// The instance whose identity store is `store` (`d-…`).
pub fn instance_by_store(tx: &dyn Tx, store: &str) -> anyhow::Result<Option<Instance>> {
    Ok(instances(tx)?
        .into_iter()
        .find(|i| i.identity_store_id == store))
}

/// The permission set id (`ps-…`) of an assignment.
pub fn assignment_ps_id(a: &Assignment) -> &str {
    a.permission_set.rsplit('/').next().unwrap_or("")
}

/// Removes the assignments of `instance` that `pick` selects, inside a transaction over the
/// whole store, and the role of every (account, permission set) pair no remaining assignment
/// needs. Returns the removed assignments.
pub fn remove_assignments(
    raw: &mut dyn RawTx,
    instance: &Instance,
    pick: &dyn Fn(&Assignment) -> bool,
) -> anyhow::Result<Vec<Assignment>> {
    let all = store::in_account(raw, GLOBAL, |tx| assignments(tx, &instance.id))?;
    let (gone, kept): (Vec<Assignment>, Vec<Assignment>) = all.into_iter().partition(|a| pick(a));
    store::in_account(raw, GLOBAL, |tx| {
        for a in &gone {
            tx.delete(Table::IdentityCenter, &keys::assignment(&instance.id, a))?;
        }
        Ok(())
    })?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in &gone {
        let pair = (a.account.clone(), assignment_ps_id(a).to_owned());
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    for (account, ps) in pairs {
        let needed = kept
            .iter()
            .any(|a| a.account == account && assignment_ps_id(a) == ps);
        if !needed {
            deprovision(raw, instance, &account, &ps)?;
        }
    }
    Ok(gone)
}

/// Gives `user_id` of the identity store `identity_store_id` a portal password (what AWS's
/// e-mailed invitation lets a person choose): checked against IAM's default password policy,
/// stored as an argon2id hash. `kagi sso set-password`, the console and the tests
/// (`RunningServer::set_sso_password`) call it; it is no AWS operation.
pub fn set_portal_password(
    state: &crate::state::AppState,
    identity_store_id: &str,
    user_id: &str,
    password: &str,
) -> crate::error::AwsResult<()> {
    use crate::error::AwsError;
    use crate::store::StoreExt;
    crate::iam::login::check_password(password)?;
    let phc = kagi_console::password::hash(password);
    let now = ids::now_secs();
    state.store(GLOBAL).write(|tx| {
        let Some(mut u) = user(tx, identity_store_id, user_id)? else {
            return Err(AwsError::new(404, "ResourceNotFoundException", "USER not found.").into());
        };
        u.password_phc = Some(phc.clone());
        u.updated = now;
        tx.put_json(
            Table::IdentityCenter,
            &keys::user(identity_store_id, user_id),
            &u,
        )
    })?;
    Ok(())
}
