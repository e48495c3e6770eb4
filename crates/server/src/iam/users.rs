//! Users, access keys, user tags and user permissions boundaries.

use crate::entities::{
    ROOT_KEY_TOMBSTONE, access_keys_of, by_index, load_user, member_key, root_access_keys,
    user_arn, user_value,
};
use crate::error::{AwsError, AwsResult};
use crate::ids::{self, IdKind};
use crate::model::{AccessKey, Attachment, EntityKind, InlinePolicy, Membership, MfaDevice, User};
use crate::params::{implicit_user, name_param, opt, paginate, path_param, req, tags_param, ts};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key, owner_prefix};
use serde_json::{Value, json};

pub fn create_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "UserName", 64)?;
    let path = path_param(i, "Path")?;
    let arn = ids::iam_arn(&ctx.caller.account_id, "user", &path, name);

    let tags = tags_param(i)?;
    let boundary = opt(i, "PermissionsBoundary").map(str::to_owned);
    let mut context = crate::authz::request_tag_context(&tags);
    if let Some(b) = &boundary {
        context.push(("iam:PermissionsBoundary".into(), b.clone()));
    }
    ctx.authorize_with("iam:CreateUser", &arn, &crate::authz::as_extra(&context))?;
    let user = ctx.store.write(|tx| {
        if tx.get(Table::Users, &name_key(name))?.is_some() {
            return Err(
                AwsError::already_exists(format!("User with name {name} already exists.")).into(),
            );
        }
        if let Some(b) = &boundary {
            crate::entities::require_attachable(tx, b)?;
        }
        let u = User {
            id: ids::unique_id(IdKind::User),
            name: name.to_owned(),
            path: path.clone(),
            arn: arn.clone(),
            created: ctx.now,
            tags: tags.clone(),
            boundary: boundary.clone(),
        };
        tx.put_json(Table::Users, &name_key(name), &u)?;
        Ok(u)
    })?;
    Ok(json!({"User": user_value(&user, true)}))
}

pub fn get_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = match opt(i, "UserName") {
        Some(n) => n.to_owned(),
        None => match &ctx.caller.principal {
            crate::caller::Principal::User { name, .. } => name.clone(),
            crate::caller::Principal::Root => {
                // AWS answers the root's bare GetUser with the root "user".
                return Ok(json!({"User": {
                    "Path": "/", "UserName": ctx.caller.account_id, "UserId": ctx.caller.account_id,
                    "Arn": format!("arn:aws:iam::{}:root", ctx.caller.account_id), "CreateDate": ts(0),
                }}));
            }
            _ => {
                return Err(AwsError::validation(
                    "Must specify userName when calling with non-User credentials",
                ));
            }
        },
    };
    ctx.authorize("iam:GetUser", &user_arn(ctx, &name)?)?;
    let u = ctx.store.view(|tx| Ok(load_user(tx, &name)?))?;
    Ok(json!({"User": user_value(&u, true)}))
}

pub fn list_users(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    ctx.authorize(
        "iam:ListUsers",
        &format!("arn:aws:iam::{}:user/", ctx.caller.account_id),
    )?;
    let users: Vec<(String, User)> = ctx.store.view(|tx| tx.scan_json(Table::Users, ""))?;
    let items = users
        .iter()
        .filter(|(_, u)| u.path.starts_with(prefix))
        .map(|(_, u)| user_value(u, false))
        .collect();
    paginate(i, items, "Users")
}

pub fn update_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    let new_name = match opt(i, "NewUserName") {
        Some(_) => Some(name_param(i, "NewUserName", 64)?.to_owned()),
        None => None,
    };
    let new_path = match opt(i, "NewPath") {
        Some(_) => Some(path_param(i, "NewPath")?),
        None => None,
    };
    // As on AWS, a rename or move needs permission on the user as it is and as it will be.
    let current: Option<User> = ctx
        .store
        .view(|tx| tx.get_json(Table::Users, &name_key(name)))?;
    crate::params::authorize_rename(
        ctx,
        "iam:UpdateUser",
        "user",
        name,
        current.as_ref().map(|u| crate::params::Located {
            arn: &u.arn,
            path: &u.path,
            name: &u.name,
        }),
        new_path.as_deref(),
        new_name.as_deref(),
    )?;
    ctx.store.write(|tx| {
        let mut u = load_user(tx, name)?;
        if let Some(p) = new_path.clone() {
            u.path = p;
        }
        let old_key = name_key(&u.name);
        if let Some(n) = &new_name {
            if name_key(n) != old_key && tx.get(Table::Users, &name_key(n))?.is_some() {
                return Err(AwsError::already_exists(format!(
                    "User with name {n} already exists."
                ))
                .into());
            }
            rename_user_refs(tx, &u.name, n)?;
            u.name = n.clone();
        }
        u.arn = ids::iam_arn(&ctx.caller.account_id, "user", &u.path, &u.name);
        tx.delete(Table::Users, &old_key)?;
        tx.put_json(Table::Users, &name_key(&u.name), &u)?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn rename_user_refs(tx: &mut dyn Tx, old: &str, new: &str) -> anyhow::Result<()> {
    let keys: Vec<(String, AccessKey)> =
        by_index(tx, Table::KeysByOwner, Table::AccessKeys, Some(old))?;
    for (k, mut key) in keys {
        key.user = Some(new.to_owned());
        tx.put_json(Table::AccessKeys, &k, &key)?;
    }
    let members: Vec<(String, Membership)> =
        by_index(tx, Table::UserGroups, Table::GroupMembers, Some(old))?;
    for (k, m) in members {
        tx.delete(Table::GroupMembers, &k)?;
        let m = Membership {
            group: m.group,
            user: new.to_owned(),
        };
        tx.put_json(Table::GroupMembers, &member_key(&m.group, new), &m)?;
    }
    let p = format!("user\0{}\0", name_key(old));
    for (k, mut a) in tx.scan_json::<Attachment>(Table::Attachments, &p)? {
        tx.delete(Table::Attachments, &k)?;
        a.entity = new.to_owned();
        tx.put_json(
            Table::Attachments,
            &crate::entities::attachment_key(EntityKind::User, new, &a.policy_arn),
            &a,
        )?;
    }
    for (k, mut ip) in tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &p)? {
        tx.delete(Table::InlinePolicies, &k)?;
        ip.entity = new.to_owned();
        tx.put_json(
            Table::InlinePolicies,
            &crate::entities::inline_key(EntityKind::User, new, &ip.name),
            &ip,
        )?;
    }
    let old_profile = crate::entities::profile_key(old);
    if let Some(mut lp) = tx.get_json::<crate::entities::LoginProfile>(Table::Meta, &old_profile)? {
        tx.delete(Table::Meta, &old_profile)?;
        lp.user = new.to_owned();
        tx.put_json(Table::Meta, &crate::entities::profile_key(new), &lp)?;
    }
    let devices: Vec<(String, MfaDevice)> =
        by_index(tx, Table::MfaByUser, Table::MfaDevices, Some(old))?;
    for (k, mut d) in devices {
        d.user = Some(new.to_owned());
        tx.put_json(Table::MfaDevices, &k, &d)?;
    }
    Ok(())
}

pub fn delete_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    ctx.authorize("iam:DeleteUser", &user_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let u = load_user(tx, name)?;
        let conflict = |what: &str| -> anyhow::Error {
            AwsError::delete_conflict(format!("Cannot delete entity, must {what} first.")).into()
        };
        let mine = owner_prefix(Some(&u.name));
        if !tx.scan_page(Table::KeysByOwner, &mine, None, 1)?.is_empty() {
            return Err(conflict("delete access keys"));
        }
        if tx
            .get(Table::Meta, &crate::entities::profile_key(&u.name))?
            .is_some()
        {
            return Err(conflict("delete login profile"));
        }
        let p = format!("user\0{}\0", name_key(&u.name));
        if !tx.scan(Table::InlinePolicies, &p)?.is_empty() {
            return Err(conflict("delete policies"));
        }
        if !tx.scan(Table::Attachments, &p)?.is_empty() {
            return Err(conflict("detach all policies"));
        }
        if !tx.scan_page(Table::UserGroups, &mine, None, 1)?.is_empty() {
            return Err(conflict("remove users from group"));
        }
        if !tx.scan_page(Table::MfaByUser, &mine, None, 1)?.is_empty() {
            return Err(conflict("delete MFA device"));
        }
        tx.delete(Table::Users, &name_key(&u.name))?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn tag_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    let tags = tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagUser",
        &user_arn(ctx, name)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut u = load_user(tx, name)?;
        crate::params::merge_tags(&mut u.tags, tags.clone())?;
        tx.put_json(Table::Users, &name_key(&u.name), &u)
    })?;
    Ok(json!({}))
}

pub fn untag_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    ctx.authorize("iam:UntagUser", &user_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut u = load_user(tx, name)?;
        crate::params::remove_tags(&mut u.tags, i);
        tx.put_json(Table::Users, &name_key(&u.name), &u)
    })?;
    Ok(json!({}))
}

pub fn list_user_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    ctx.authorize("iam:ListUserTags", &user_arn(ctx, name)?)?;
    let u = ctx.store.view(|tx| Ok(load_user(tx, name)?))?;
    let items = u
        .tags
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    paginate(i, items, "Tags")
}

pub fn put_boundary(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    let b = req(i, "PermissionsBoundary")?;
    let context = [("iam:PermissionsBoundary".to_owned(), b.to_owned())];
    ctx.authorize_with(
        "iam:PutUserPermissionsBoundary",
        &user_arn(ctx, name)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut u = load_user(tx, name)?;
        crate::entities::require_attachable(tx, b)?;
        u.boundary = Some(b.to_owned());
        tx.put_json(Table::Users, &name_key(&u.name), &u)
    })?;
    Ok(json!({}))
}

pub fn delete_boundary(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    ctx.authorize("iam:DeleteUserPermissionsBoundary", &user_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut u = load_user(tx, name)?;
        u.boundary = None;
        tx.put_json(Table::Users, &name_key(&u.name), &u)
    })?;
    Ok(json!({}))
}

// ---- access keys ----
//
// Without `UserName`, an IAM user manages its own keys and the account root manages the
// root's keys (stored with `user: None`; the one from `KAGI_ROOT_ACCESS_KEY_ID` or the
// `root-credentials` file is one of them). As on AWS the root has at most two, and may delete
// or deactivate every one of them: its console password still signs in. Every change bumps
// the store generation, which empties the authentication key cache, so a deleted or
// deactivated key is refused from the very next request.
//
// Start-up ([`crate::account`]) loads the root key the account document names. When that key
// is deleted, the document is pointed at the root's other key; when it was the last one, its
// row stays, inactive, as a tombstone (named in `Table::Meta` under [`ROOT_KEY_TOMBSTONE`])
// that no API call shows and that authentication refuses like any inactive key, so the next
// start still finds it. A new root key replaces the tombstone. (A key configured with
// `KAGI_ROOT_ACCESS_KEY_ID` is re-activated by the next start, as configured.)

/// Whose keys a call is about.
enum KeyOwner {
    Root,
    User(String),
}

impl KeyOwner {
    fn of(ctx: &Ctx, i: &Value) -> AwsResult<KeyOwner> {
        if opt(i, "UserName").is_none() && ctx.caller.is_root() {
            return Ok(KeyOwner::Root);
        }
        Ok(KeyOwner::User(implicit_user(ctx, i)?))
    }

    fn arn(&self, ctx: &Ctx) -> AwsResult<String> {
        match self {
            KeyOwner::Root => Ok(format!("arn:aws:iam::{}:root", ctx.caller.account_id)),
            KeyOwner::User(name) => user_arn(ctx, name),
        }
    }

    /// The owner's keys, oldest first (NoSuchEntity for a missing user).
    fn keys(&self, tx: &dyn Tx) -> AwsResult<Vec<AccessKey>> {
        match self {
            KeyOwner::Root => Ok(root_access_keys(tx)?),
            KeyOwner::User(name) => {
                let u = load_user(tx, name)?;
                Ok(access_keys_of(tx, &u.name)?)
            }
        }
    }

    /// The owner's key `key_id`, or AWS's NoSuchEntity.
    fn key(&self, tx: &dyn Tx, key_id: &str) -> AwsResult<AccessKey> {
        self.keys(tx)?
            .into_iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| {
                AwsError::no_such_entity(format!(
                    "The Access Key with id {key_id} cannot be found."
                ))
            })
    }
}

/// A key's metadata as ListAccessKeys shows it (a root key names no user).
fn key_metadata(k: &AccessKey) -> Value {
    let mut v = json!({"AccessKeyId": k.id, "Status": status(k), "CreateDate": ts(k.created)});
    if let Some(u) = &k.user {
        v["UserName"] = json!(u);
    }
    v
}

pub fn create_access_key(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let owner = KeyOwner::of(ctx, i)?;
    ctx.authorize("iam:CreateAccessKey", &owner.arn(ctx)?)?;
    let secret = ids::secret_access_key();
    let sealed = ctx.state.sealer.seal_str("access-key", &secret);
    let key = ctx.store.write(|tx| {
        let user = match &owner {
            KeyOwner::Root => None,
            KeyOwner::User(name) => Some(load_user(tx, name)?.name),
        };
        if owner.keys(tx)?.len() >= 2 {
            return Err(
                AwsError::limit_exceeded("Cannot exceed quota for AccessKeysPerUser: 2").into(),
            );
        }
        let k = AccessKey {
            id: ids::access_key_id(false, ctx.account()),
            user,
            secret_sealed: sealed.clone(),
            active: true,
            created: ctx.now,
            last_used: None,
        };
        tx.put_json(Table::AccessKeys, &k.id, &k)?;
        if k.user.is_none() {
            replace_root_tombstone(tx, &k.id)?;
        }
        Ok(k)
    })?;
    let mut out = key_metadata(&key);
    out["SecretAccessKey"] = json!(secret);
    Ok(json!({ "AccessKey": out }))
}

fn status(k: &AccessKey) -> &'static str {
    if k.active { "Active" } else { "Inactive" }
}

pub fn list_access_keys(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let owner = KeyOwner::of(ctx, i)?;
    ctx.authorize("iam:ListAccessKeys", &owner.arn(ctx)?)?;
    let keys = ctx.store.view(|tx| Ok(owner.keys(tx)?))?;
    paginate(
        i,
        keys.iter().map(key_metadata).collect(),
        "AccessKeyMetadata",
    )
}

pub fn update_access_key(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let owner = KeyOwner::of(ctx, i)?;
    let key_id = req(i, "AccessKeyId")?;
    let st = req(i, "Status")?;
    ctx.authorize("iam:UpdateAccessKey", &owner.arn(ctx)?)?;
    let active = match st {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            )));
        }
    };
    ctx.store.write(|tx| {
        let mut k = owner.key(tx, key_id)?;
        k.active = active;
        tx.put_json(Table::AccessKeys, &k.id, &k)
    })?;
    Ok(json!({}))
}

pub fn delete_access_key(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let owner = KeyOwner::of(ctx, i)?;
    let key_id = req(i, "AccessKeyId")?;
    ctx.authorize("iam:DeleteAccessKey", &owner.arn(ctx)?)?;
    ctx.store.write(|tx| {
        let k = owner.key(tx, key_id)?;
        tx.delete(Table::AccessKeys, &k.id)?;
        if k.user.is_none() {
            repoint_account_root_key(tx, &k)?;
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// The account document (`Table::Meta`, key `account`) names the root key that start-up
/// loads. When that key is deleted, point it at the root's other key; without one, keep the
/// row as an inactive tombstone (see the section comment).
fn repoint_account_root_key(tx: &mut dyn Tx, deleted: &AccessKey) -> anyhow::Result<()> {
    let Some(mut meta) = tx.get_json::<Value>(Table::Meta, "account")? else {
        return Ok(());
    };
    if meta["root_access_key_id"].as_str() != Some(deleted.id.as_str()) {
        return Ok(());
    }
    match root_access_keys(tx)?
        .into_iter()
        .find(|k| k.id != deleted.id)
    {
        Some(other) => {
            meta["root_access_key_id"] = json!(other.id);
            tx.put_json(Table::Meta, "account", &meta)
        }
        None => {
            let mut tomb = deleted.clone();
            tomb.active = false;
            tx.put_json(Table::AccessKeys, &tomb.id, &tomb)?;
            tx.put_json(Table::Meta, ROOT_KEY_TOMBSTONE, &json!({"id": tomb.id}))
        }
    }
}

/// A new root key `new_id` takes the tombstone's place as the key start-up loads.
fn replace_root_tombstone(tx: &mut dyn Tx, new_id: &str) -> anyhow::Result<()> {
    let Some(tomb) = crate::entities::root_tombstone(tx)? else {
        return Ok(());
    };
    if let Some(k) = tx.get_json::<AccessKey>(Table::AccessKeys, &tomb)?
        && !k.active
    {
        tx.delete(Table::AccessKeys, &tomb)?;
    }
    tx.delete(Table::Meta, ROOT_KEY_TOMBSTONE)?;
    if let Some(mut meta) = tx.get_json::<Value>(Table::Meta, "account")?
        && meta["root_access_key_id"].as_str() == Some(tomb.as_str())
    {
        meta["root_access_key_id"] = json!(new_id);
        tx.put_json(Table::Meta, "account", &meta)?;
    }
    Ok(())
}

pub fn get_access_key_last_used(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let key_id = req(i, "AccessKeyId")?;
    let k: Option<AccessKey> = ctx.store.view(|tx| {
        let k: Option<AccessKey> = tx.get_json(Table::AccessKeys, key_id)?;
        let tomb = crate::entities::root_tombstone(tx)?;
        // The root's deleted last key (kept for start-up) is gone as far as the API goes.
        Ok(k.filter(|k| !(k.user.is_none() && !k.active && tomb.as_deref() == Some(&k.id))))
    })?;
    let k = k.ok_or_else(|| AwsError::access_denied(format!(
        "User: {} is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key {key_id}",
        ctx.caller.arn()
    )))?;
    let resource = match &k.user {
        Some(u) => user_arn(ctx, u)?,
        None => format!("arn:aws:iam::{}:root", ctx.caller.account_id),
    };
    ctx.authorize("iam:GetAccessKeyLastUsed", &resource)?;
    let last = ctx.state.key_last_used(ctx.account(), &k);
    let used = match last {
        Some(l) => {
            json!({"LastUsedDate": ts(l.date), "ServiceName": l.service, "Region": l.region})
        }
        None => json!({"ServiceName": "N/A", "Region": "N/A"}),
    };
    let mut out = json!({"AccessKeyLastUsed": used});
    if let Some(u) = k.user {
        out["UserName"] = json!(u);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn root_key(id: &str, created: i64) -> AccessKey {
        AccessKey {
            id: id.into(),
            user: None,
            secret_sealed: String::new(),
            active: true,
            created,
            last_used: None,
        }
    }

    fn meta_key(tx: &dyn Tx) -> String {
        tx.get_json::<Value>(Table::Meta, "account")
            .unwrap()
            .unwrap()["root_access_key_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn the_key_start_up_loads_follows_deletions_and_a_new_key() {
        let s = crate::store::AccountStore::new(
            std::sync::Arc::new(SqliteStore::in_memory().unwrap()),
            "123456789012",
        );
        s.write(|tx| {
            tx.put_json(
                Table::Meta,
                "account",
                &json!({"account_id": "123456789012", "root_access_key_id": "AKIAONE", "created": 1}),
            )?;
            tx.put_json(Table::AccessKeys, "AKIAONE", &root_key("AKIAONE", 1))?;
            tx.put_json(Table::AccessKeys, "AKIATWO", &root_key("AKIATWO", 2))?;
            // The configured key goes: start-up is pointed at the other one.
            let one = root_key("AKIAONE", 1);
            tx.delete(Table::AccessKeys, "AKIAONE")?;
            repoint_account_root_key(tx, &one)?;
            assert_eq!(meta_key(tx), "AKIATWO");
            // The last one goes: its row stays, inactive and unlisted, for start-up.
            let two = root_key("AKIATWO", 2);
            tx.delete(Table::AccessKeys, "AKIATWO")?;
            repoint_account_root_key(tx, &two)?;
            assert_eq!(meta_key(tx), "AKIATWO");
            let tomb: AccessKey = tx.get_json(Table::AccessKeys, "AKIATWO")?.unwrap();
            assert!(!tomb.active);
            assert!(root_access_keys(tx)?.is_empty());
            assert!(!crate::entities::root_has_keys(tx)?);
            // A new key replaces the tombstone.
            tx.put_json(Table::AccessKeys, "AKIANEW", &root_key("AKIANEW", 3))?;
            replace_root_tombstone(tx, "AKIANEW")?;
            assert_eq!(meta_key(tx), "AKIANEW");
            assert!(tx.get(Table::AccessKeys, "AKIATWO")?.is_none());
            assert!(tx.get(Table::Meta, ROOT_KEY_TOMBSTONE)?.is_none());
            assert_eq!(
                root_access_keys(tx)?.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
                ["AKIANEW"]
            );
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_configured_key_revived_at_start_up_is_listed_again() {
        let s = crate::store::AccountStore::new(
            std::sync::Arc::new(SqliteStore::in_memory().unwrap()),
            "123456789012",
        );
        s.write(|tx| {
            tx.put_json(
                Table::Meta,
                "account",
                &json!({"account_id": "123456789012", "root_access_key_id": "AKIAONE", "created": 1}),
            )?;
            let one = root_key("AKIAONE", 1);
            tx.put_json(Table::AccessKeys, "AKIAONE", &one)?;
            tx.delete(Table::AccessKeys, "AKIAONE")?;
            repoint_account_root_key(tx, &one)?;
            assert!(root_access_keys(tx)?.is_empty());
            // What start-up does with KAGI_ROOT_ACCESS_KEY_ID set: the key is active again.
            tx.put_json(Table::AccessKeys, "AKIAONE", &one)?;
            assert_eq!(root_access_keys(tx)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
