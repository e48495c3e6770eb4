//! The access portal's API (`sso`, rest-json; the OIDC access token in
//! `x-amz-sso_bearer_token`): ListAccounts, ListAccountRoles, GetRoleCredentials, Logout.
//!
//! GetRoleCredentials mints an ordinary STS role session for the permission set's provisioned
//! role (`AWSReservedSSO_<PS>_<hex>`) in the account, named after the user, lasting the
//! permission set's session duration: it is authorised by the assignment (checked now, so a
//! removed assignment or a deleted user stops new credentials at once) and then by the role's
//! policies and the account's SCPs like any other session.

use super::tokens::{self, Grant};
use crate::error::{AwsError, AwsResult};
use crate::identity_center::{self, Instance};
use crate::state::AppState;
use crate::store::{GLOBAL, StoreExt};
use serde_json::{Value, json};

fn unauthorized() -> AwsError {
    AwsError::new(
        401,
        "UnauthorizedException",
        "Session token not found or invalid",
    )
}

fn forbidden() -> AwsError {
    AwsError::new(403, "ForbiddenException", "No access")
}

/// The grant and instance behind a bearer token. The token's user must still exist: deleting
/// a user (identitystore DeleteUser) ends their tokens at once, as on AWS.
pub fn session(state: &AppState, token: Option<&str>, now: i64) -> AwsResult<(Grant, Instance)> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(unauthorized)?;
    let g = tokens::access_grant(state, token, now)?.ok_or_else(unauthorized)?;
    let instance = super::oidc::instance_by_id(state, &g.instance_id)?.ok_or_else(unauthorized)?;
    let alive = state.store(GLOBAL).view(|tx| {
        identity_center::user(tx, &instance.identity_store_id, &g.user_id).map(|u| u.is_some())
    })?;
    if !alive {
        return Err(unauthorized());
    }
    Ok((g, instance))
}

fn page(i: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    // The portal's names: `maxResult`, `nextToken`.
    let mut input = json!({});
    if let Some(n) = i["maxResults"].as_i64() {
        input["MaxResults"] = json!(n);
    }
    if let Some(t) = i["nextToken"].as_str() {
        input["NextToken"] = json!(t);
    }
    let v = crate::params::paginate_token(&input, items, key, 1000)?;
    let mut out = json!({ key: v[key].clone() });
    if let Some(t) = v["NextToken"].as_str() {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

/// The (account, permission set) pairs the token's user may use.
fn entitlements(
    state: &AppState,
    g: &Grant,
    instance: &Instance,
) -> AwsResult<Vec<(String, identity_center::PermissionSet)>> {
    Ok(state
        .store(GLOBAL)
        .view(|tx| identity_center::entitlements(tx, instance, &g.user_id))?)
}

pub fn handle(
    state: &AppState,
    op: &str,
    token: Option<&str>,
    i: &Value,
    now: i64,
    region: &str,
) -> AwsResult<Value> {
    let (g, instance) = session(state, token, now)?;
    match op {
        "ListAccounts" => {
            let mut accounts: Vec<String> = entitlements(state, &g, &instance)?
                .into_iter()
                .map(|(a, _)| a)
                .collect();
            accounts.dedup();
            let records = state.store(GLOBAL).view(crate::accounts::all)?;
            let items = accounts
                .iter()
                .map(|a| {
                    let r = records.iter().find(|r| r.id == *a);
                    json!({
                        "accountId": a,
                        "accountName": r.map(|r| r.name.clone()).unwrap_or_default(),
                        "emailAddress": r.map(|r| r.email.clone()).unwrap_or_default(),
                    })
                })
                .collect();
            page(i, items, "accountList")
        }
        "ListAccountRoles" => {
            let account = i["accountId"].as_str().unwrap_or("");
            let items = entitlements(state, &g, &instance)?
                .into_iter()
                .filter(|(a, _)| a == account)
                .map(|(a, ps)| json!({"roleName": ps.name, "accountId": a}))
                .collect();
            page(i, items, "roleList")
        }
        "GetRoleCredentials" => {
            let account = i["accountId"].as_str().unwrap_or("");
            let role_name = i["roleName"].as_str().unwrap_or("");
            get_role_credentials(state, &g, &instance, account, role_name, now, region)
        }
        "Logout" => {
            tokens::end_family(state, &g.family)?;
            Ok(json!({}))
        }
        _ => Err(AwsError::new(
            400,
            "InvalidRequestException",
            format!("Unknown operation {op}"),
        )),
    }
}

/// Role credentials for `user`'s permission set `role_name` in `account`.
pub fn get_role_credentials(
    state: &AppState,
    g: &Grant,
    instance: &Instance,
    account: &str,
    role_name: &str,
    now: i64,
    region: &str,
) -> AwsResult<Value> {
    let (ps, user) = state.store(GLOBAL).view(|tx| {
        let ps = identity_center::entitlements(tx, instance, &g.user_id)?
            .into_iter()
            .find(|(a, ps)| a == account && ps.name == role_name)
            .map(|(_, ps)| ps);
        let user = identity_center::user(tx, &instance.identity_store_id, &g.user_id)?;
        Ok((ps, user))
    })?;
    let (Some(ps), Some(user)) = (ps, user) else {
        return Err(forbidden());
    };
    if crate::organization::is_closed(state, account)? {
        return Err(forbidden());
    }
    let role_name_in_account = state
        .store(GLOBAL)
        .view(|tx| identity_center::provisioned_role(tx, &instance.id, account, &ps.id))?
        .ok_or_else(forbidden)?;
    let role: crate::model::Role = crate::entities::cached_entity(
        state,
        account,
        crate::store::Table::Roles,
        &role_name_in_account,
    )?
    .ok_or_else(forbidden)?;
    let session_name: String = user
        .user_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(64)
        .collect();
    let session_name = if session_name.len() < 2 {
        format!("{session_name}-sso")
    } else {
        session_name
    };
    let out = crate::sts::tokens::mint_role_session(
        state,
        &crate::sts::tokens::RoleSession {
            role: &role,
            account,
            session_name: &session_name,
            now,
            duration: ps.session_secs(),
            mfa: false,
            source_identity: None,
            region,
        },
        false,
        Vec::new(),
        Vec::new(),
    )?;
    let c = &out["Credentials"];
    let expires = now + ps.session_secs();
    Ok(json!({"roleCredentials": {
        "accessKeyId": c["AccessKeyId"],
        "secretAccessKey": c["SecretAccessKey"],
        "sessionToken": c["SessionToken"],
        "expiration": expires * 1000,
    }}))
}
