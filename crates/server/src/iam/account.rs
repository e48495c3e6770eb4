//! The account's own settings and counts: its alias (one per account, kept in `Table::Meta`
//! under [`ALIAS_KEY`]; as on AWS, creating an alias replaces the one the account had),
//! GetAccountSummary, and the per-user lists kagi never fills.

use crate::entities::{load_user, root_has_keys, user_arn};
use crate::error::{AwsError, AwsResult};
use crate::params::{implicit_user, paginate, req};
use crate::state::Ctx;
use serde_json::{Value, json};

/// A per-user list kagi never fills: authorised on the user (the caller without `UserName`),
/// NoSuchEntity for a missing user, else an empty page.
pub fn empty_user_list(ctx: &Ctx, i: &Value, op: &str, key: &str) -> AwsResult<Value> {
    use crate::store::StoreExt;
    let user = implicit_user(ctx, i)?;
    ctx.authorize(&format!("iam:{op}"), &user_arn(ctx, &user)?)?;
    ctx.store.view(|tx| Ok(load_user(tx, &user)?))?;
    paginate(i, Vec::new(), key)
}

pub const ALIAS_KEY: &str = "account-alias";

fn account_alias(ctx: &Ctx) -> AwsResult<Option<String>> {
    use crate::store::{StoreExt, Table, TxExt};
    let v: Option<Value> = ctx.store.view(|tx| tx.get_json(Table::Meta, ALIAS_KEY))?;
    Ok(v.and_then(|v| v["alias"].as_str().map(str::to_owned)))
}

/// IAM's `accountAliasType`: `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`.
fn valid_alias(a: &str) -> bool {
    let b = a.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !a.contains("--")
}

pub fn create_account_alias(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    use crate::store::{Table, TxExt};
    let alias = req(i, "AccountAlias")?;
    ctx.authorize("iam:CreateAccountAlias", "*")?;
    if !valid_alias(alias) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    // Aliases are unique across accounts (the store-wide index in `Table::Accounts`), and an
    // account has one: creating an alias replaces the account's previous one.
    let account = ctx.account().to_owned();
    ctx.state
        .kv
        .transaction(crate::store::Durability::Full, &mut |raw| {
            let previous = crate::store::in_account(raw, &account, |tx| {
                let v: Option<Value> = tx.get_json(Table::Meta, ALIAS_KEY)?;
                Ok(v.and_then(|v| v["alias"].as_str().map(str::to_owned)))
            })?;
            crate::store::in_account(raw, crate::store::GLOBAL, |tx| {
                match crate::accounts::account_of_alias(tx, alias)? {
                    Some(owner) if owner != account => {
                        return Err(AwsError::already_exists(format!(
                            "The account alias {alias} already exists."
                        ))
                        .into());
                    }
                    _ => {}
                }
                if let Some(p) = previous.as_deref().filter(|p| *p != alias) {
                    tx.delete(Table::Accounts, &crate::accounts::alias_key(p))?;
                }
                tx.put_json(
                    Table::Accounts,
                    &crate::accounts::alias_key(alias),
                    &account,
                )
            })?;
            crate::store::in_account(raw, &account, |tx| {
                tx.put_json(Table::Meta, ALIAS_KEY, &json!({"alias": alias}))
            })
        })?;
    Ok(json!({}))
}

pub fn delete_account_alias(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    use crate::store::{Table, TxExt};
    let alias = req(i, "AccountAlias")?;
    ctx.authorize("iam:DeleteAccountAlias", "*")?;
    let account = ctx.account().to_owned();
    ctx.state
        .kv
        .transaction(crate::store::Durability::Full, &mut |raw| {
            crate::store::in_account(raw, &account, |tx| {
                let current: Option<Value> = tx.get_json(Table::Meta, ALIAS_KEY)?;
                if current.as_ref().and_then(|v| v["alias"].as_str()) != Some(alias) {
                    return Err(AwsError::no_such_entity(format!(
                        "The account alias {alias} cannot be found."
                    ))
                    .into());
                }
                tx.delete(Table::Meta, ALIAS_KEY)?;
                Ok(())
            })?;
            crate::store::in_account(raw, crate::store::GLOBAL, |tx| {
                tx.delete(Table::Accounts, &crate::accounts::alias_key(alias))?;
                Ok(())
            })
        })?;
    Ok(json!({}))
}

pub fn list_account_aliases(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:ListAccountAliases", "*")?;
    let items = account_alias(ctx)?.into_iter().map(Value::String).collect();
    paginate(i, items, "AccountAliases")
}

pub fn get_account_summary(ctx: &Ctx) -> AwsResult<Value> {
    use crate::store::{StoreExt, Table};
    ctx.authorize("iam:GetAccountSummary", "*")?;
    let counts = ctx.store.view(|tx| {
        Ok((
            tx.scan(Table::Users, "")?.len(),
            tx.scan(Table::Groups, "")?.len(),
            tx.scan(Table::Roles, "")?.len(),
            tx.scan(Table::Policies, "")?.len(),
            tx.scan(Table::MfaDevices, "")?.len(),
            root_has_keys(tx)?,
            tx.scan(Table::Meta, "instance-profile\0")?.len(),
            tx.scan(Table::Meta, "oidc-provider\0")?.len()
                + tx.scan(Table::Meta, "saml-provider\0")?.len(),
        ))
    })?;
    Ok(json!({"SummaryMap": {
        "Users": counts.0, "UsersQuota": 5000,
        "Groups": counts.1, "GroupsQuota": 300,
        "Roles": counts.2, "RolesQuota": 1000,
        "Policies": counts.3, "PoliciesQuota": 1500,
        "MFADevices": counts.4,
        "InstanceProfiles": counts.6, "InstanceProfilesQuota": 1000, "Providers": counts.7,
        "AccountAccessKeysPresent": u8::from(counts.5), "AccountMFAEnabled": 0,
        "AccessKeysPerUserQuota": 2, "AttachedPoliciesPerUserQuota": 10,
        "AttachedPoliciesPerRoleQuota": 10, "AttachedPoliciesPerGroupQuota": 10,
        "PolicyVersionsInUseQuota": 10000, "VersionsPerPolicyQuota": 5,
        "GroupsPerUserQuota": 10, "PolicySizeQuota": 6144,
        "UserPolicySizeQuota": 2048, "RolePolicySizeQuota": 10240, "GroupPolicySizeQuota": 5120,
        "AssumeRolePolicySizeQuota": 2048,
    }}))
}
