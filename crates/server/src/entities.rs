//! Entity loaders, keys and ARNs shared by the IAM and STS handlers, authentication and the
//! console: one place that knows how a user, group, role, policy, attachment, login profile or
//! instance profile is found in the store, so no handler module needs another one's internals.
//! Responses' common renderings of users and roles live here too.

use crate::error::{AwsError, AwsResult};
use crate::ids;
use crate::model::{AccessKey, EntityKind, Group, InstanceProfile, ManagedPolicy, Role, User};
use crate::params::{ts, with_tags};
use crate::state::{AppState, Ctx};
use crate::store::{StoreExt, Table, Tx, TxExt, name_key, owner_prefix};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn user_value(u: &User, full: bool) -> Value {
    let mut v = json!({
        "Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn, "CreateDate": ts(u.created),
    });
    if full {
        if let Some(b) = &u.boundary {
            v["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": b});
        }
        v = with_tags(v, &u.tags);
    }
    v
}

pub fn load_user(tx: &dyn Tx, name: &str) -> AwsResult<User> {
    tx.get_json::<User>(Table::Users, &name_key(name))?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("The user with name {name} cannot be found."))
        })
}

/// The ARN of a (possibly not existing) user, for authorisation.
pub fn user_arn(ctx: &Ctx, name: &str) -> AwsResult<String> {
    let u: Option<User> = ctx
        .store
        .view(|tx| tx.get_json(Table::Users, &name_key(name)))?;
    Ok(match u {
        Some(u) => u.arn,
        None => ids::iam_arn(&ctx.caller.account_id, "user", "/", name),
    })
}

pub fn member_key(group: &str, user: &str) -> String {
    format!("{}\0{}", name_key(group), name_key(user))
}

/// The root's access keys, oldest first (for the credential report).
pub fn root_access_keys(tx: &dyn Tx) -> anyhow::Result<Vec<AccessKey>> {
    root_keys(tx)
}

/// An IAM user's access keys, oldest first.
pub fn access_keys_of(tx: &dyn Tx, user: &str) -> anyhow::Result<Vec<AccessKey>> {
    user_keys(tx, user)
}

/// Whether the account root has an access key (GetAccountSummary's `AccountAccessKeysPresent`).
pub fn root_has_keys(tx: &dyn Tx) -> anyhow::Result<bool> {
    Ok(!root_keys(tx)?.is_empty())
}

/// The root's keys, oldest first, without the tombstone (unless configuration revived it).
fn root_keys(tx: &dyn Tx) -> anyhow::Result<Vec<AccessKey>> {
    let tomb = root_tombstone(tx)?;
    let mut keys = keys_by_owner(tx, None)?;
    keys.retain(|k| k.active || tomb.as_deref() != Some(&k.id));
    Ok(keys)
}

/// An owner's keys (`None`: the root's), oldest first, through [`Table::KeysByOwner`].
fn keys_by_owner(tx: &dyn Tx, user: Option<&str>) -> anyhow::Result<Vec<AccessKey>> {
    let mut keys: Vec<AccessKey> = by_index(tx, Table::KeysByOwner, Table::AccessKeys, user)?
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    keys.sort_by_key(|k| k.created);
    Ok(keys)
}

/// The rows of `base` that the store's index `index` lists for `user` (`None`: the root), as
/// (base key, document), in index order. See [`crate::store::index_entries`].
pub fn by_index<T: serde::de::DeserializeOwned>(
    tx: &dyn Tx,
    index: Table,
    base: Table,
    user: Option<&str>,
) -> anyhow::Result<Vec<(String, T)>> {
    let mut out = Vec::new();
    for (_, key) in tx.scan(index, &owner_prefix(user))? {
        let key: String = serde_json::from_str(&key)?;
        if let Some(v) = tx.get_json::<T>(base, &key)? {
            out.push((key, v));
        }
    }
    Ok(out)
}

pub fn root_tombstone(tx: &dyn Tx) -> anyhow::Result<Option<String>> {
    Ok(tx
        .get_json::<Value>(Table::Meta, ROOT_KEY_TOMBSTONE)?
        .and_then(|v| v["id"].as_str().map(str::to_owned)))
}

fn user_keys(tx: &dyn Tx, user: &str) -> anyhow::Result<Vec<AccessKey>> {
    keys_by_owner(tx, Some(user))
}

pub fn load_group(tx: &dyn Tx, name: &str) -> AwsResult<Group> {
    tx.get_json::<Group>(Table::Groups, &name_key(name))?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("The group with name {name} cannot be found."))
        })
}

pub fn group_arn(ctx: &Ctx, name: &str) -> AwsResult<String> {
    let g: Option<Group> = ctx
        .store
        .view(|tx| tx.get_json(Table::Groups, &name_key(name)))?;
    Ok(match g {
        Some(g) => g.arn,
        None => ids::iam_arn(&ctx.caller.account_id, "group", "/", name),
    })
}

/// The groups `user` belongs to, by name order (through [`Table::UserGroups`]).
pub fn groups_of(tx: &dyn Tx, user: &str) -> anyhow::Result<Vec<Group>> {
    let mut out = Vec::new();
    for (k, _) in tx.scan(Table::UserGroups, &owner_prefix(Some(user)))? {
        let group = k.split_once('\0').map_or("", |(_, g)| g);
        out.extend(tx.get_json::<Group>(Table::Groups, group)?);
    }
    Ok(out)
}

pub fn attachment_key(kind: EntityKind, entity: &str, arn: &str) -> String {
    format!("{}\0{}\0{arn}", kind.as_str(), name_key(entity))
}

pub fn inline_key(kind: EntityKind, entity: &str, policy: &str) -> String {
    format!("{}\0{}\0{policy}", kind.as_str(), name_key(entity))
}

pub fn entity_prefix(kind: EntityKind, entity: &str) -> String {
    format!("{}\0{}\0", kind.as_str(), name_key(entity))
}

pub fn load_policy(tx: &dyn Tx, arn: &str) -> AwsResult<ManagedPolicy> {
    tx.get_json::<ManagedPolicy>(Table::Policies, arn)?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
        })
}

/// A boundary or attachment target must be an existing managed policy.
pub fn require_attachable(tx: &dyn Tx, arn: &str) -> AwsResult<ManagedPolicy> {
    load_policy(tx, arn).map_err(|_| {
        if arn.starts_with("arn:") {
            AwsError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
        } else {
            AwsError::invalid_input(format!("ARN {arn} is not valid."))
        }
    })
}

pub fn role_value(r: &Role, full: bool) -> Value {
    let mut v = json!({
        "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn, "CreateDate": ts(r.created),
        "AssumeRolePolicyDocument": r.trust_policy, "MaxSessionDuration": r.max_session_duration,
    });
    if let Some(d) = &r.description {
        v["Description"] = json!(d);
    }
    if full {
        if let Some(b) = &r.boundary {
            v["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": b});
        }
        v = with_tags(v, &r.tags);
        v["RoleLastUsed"] = match &r.last_used {
            Some(l) => json!({"LastUsedDate": ts(l.date), "Region": l.region}),
            None => json!({}),
        };
    }
    v
}

pub fn load_role(tx: &dyn Tx, name: &str) -> AwsResult<Role> {
    tx.get_json::<Role>(Table::Roles, &name_key(name))?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!("The role with name {name} cannot be found."))
        })
}

pub fn role_arn(ctx: &Ctx, name: &str) -> AwsResult<String> {
    let r: Option<Role> = ctx
        .store
        .view(|tx| tx.get_json(Table::Roles, &name_key(name)))?;
    Ok(match r {
        Some(r) => r.arn,
        None => ids::iam_arn(&ctx.caller.account_id, "role", "/", name),
    })
}

/// A stored login profile. `Debug` omits the hash.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginProfile {
    pub user: String,
    pub password_phc: String,
    pub created: i64,
    #[serde(default)]
    pub reset_required: bool,
    /// When the password was last set after creation (UpdateLoginProfile, ChangePassword).
    #[serde(default)]
    pub changed: Option<i64>,
}

impl std::fmt::Debug for LoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfile")
            .field("user", &self.user)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

pub fn profile_key(user: &str) -> String {
    format!("login-profile\0{}", name_key(user))
}

pub fn load_profile(tx: &dyn Tx, user: &str) -> anyhow::Result<Option<LoginProfile>> {
    tx.get_json(Table::Meta, &profile_key(user))
}

/// A user or role document by name, cached per store generation (the hot paths of
/// authentication and AssumeRole then do not touch the database).
pub fn cached_entity<T: serde::de::DeserializeOwned>(
    state: &AppState,
    account: &str,
    table: Table,
    name: &str,
) -> AwsResult<Option<T>> {
    cached_row(state, account, table, &name_key(name))
}

/// The document of `table`'s row `key`, cached per store generation.
pub fn cached_row<T: serde::de::DeserializeOwned>(
    state: &AppState,
    account: &str,
    table: Table,
    key: &str,
) -> AwsResult<Option<T>> {
    let cache_key = format!("{account}\0{}\0{key}", table.name());
    let v = state
        .policies
        .entities
        .get_or_load(state.generation(), &cache_key, || {
            let v: Option<Value> = state.store(account).view(|tx| tx.get_json(table, key))?;
            Ok::<_, AwsError>(v.map(Arc::new))
        })?;
    match v {
        Some(v) => Ok(Some(
            serde_json::from_value((*v).clone())
                .map_err(|e| AwsError::from(anyhow::Error::from(e)))?,
        )),
        None => Ok(None),
    }
}

/// Instance profiles live in `Table::Meta` under this prefix.
pub const INSTANCE_PROFILE_PREFIX: &str = "instance-profile\0";

pub fn all_instance_profiles(tx: &dyn Tx) -> anyhow::Result<Vec<InstanceProfile>> {
    Ok(tx
        .scan_json::<InstanceProfile>(Table::Meta, INSTANCE_PROFILE_PREFIX)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

/// The instance profiles `role` is in (DeleteRole refuses while there is one).
pub fn profiles_of_role(tx: &dyn Tx, role: &str) -> anyhow::Result<Vec<InstanceProfile>> {
    Ok(all_instance_profiles(tx)?
        .into_iter()
        .filter(|p| p.roles.iter().any(|r| name_key(r) == name_key(role)))
        .collect())
}

/// `Table::Meta` key of the id of the deleted last root key kept for start-up.
pub const ROOT_KEY_TOMBSTONE: &str = "root-key-tombstone";
