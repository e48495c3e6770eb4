//! IAM operations. [`handle`] dispatches on the operation name; each area lives in its own
//! module and every handler authorises itself first (`authz::authorize` with the action and the
//! resource ARN AWS uses for it), then validates, then reads/writes the store in one transaction.
//!
//! | module | operations |
//! |---|---|
//! | [`users`] | users (renames move everything keyed by the name), access keys (the root's own too), user tags, user permissions boundaries |
//! | [`groups`] | groups (renames move members, attachments, inline policies) and memberships |
//! | [`login`] | login profiles (console passwords, argon2id), ChangePassword, the account password policy |
//! | [`policies`] | customer managed policies and versions, attachments, inline policies |
//! | [`managed`] | the AWS managed policies kagi ships (`arn:aws:iam::aws:policy/…`) |
//! | [`roles`] | roles, trust policies, role tags and boundaries |
//! | [`instance_profiles`] | instance profiles (a role each), their tags |
//! | [`oidc`] | OpenID Connect identity providers (client ids, thumbprints, tags) |
//! | [`saml`] | SAML identity providers (metadata, tags) |
//! | [`mfa`] | virtual MFA devices (TOTP), GetMFADevice, ResyncMFADevice, MFA device tags |
//! | [`simulate`] | SimulatePrincipalPolicy, SimulateCustomPolicy, GetContextKeysFor{Custom,Principal}Policy |
//! | [`details`] | GetAccountAuthorizationDetails |
//! | [`report`] | GenerateCredentialReport, GetCredentialReport |
//! | this module | account aliases, GetAccountSummary, parameter helpers, pagination |

pub mod details;
pub mod groups;
pub mod instance_profiles;
pub mod login;
pub mod managed;
pub mod mfa;
pub mod oidc;
pub mod policies;
pub mod report;
pub mod roles;
pub mod saml;
pub mod simulate;
pub mod users;

use crate::app::Ctx;
use crate::auth::Principal;
use crate::error::{AwsError, AwsResult};
use crate::model::Tag;
use base64::Engine;
use serde_json::{Map, Value, json};

pub fn handle(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    // Credentials that may not call IAM are refused before anything else is looked at.
    crate::authz::may_call_iam(ctx.caller)?;
    let i = &input;
    // Tag keys beginning with `aws:` (in any case) are reserved by AWS: IAM refuses them
    // wherever tags are set (Create*, Tag*), before looking anything up.
    if let Some(tags) = i.get("Tags").and_then(Value::as_array)
        && tags.iter().any(|t| {
            t.get("Key")
                .and_then(Value::as_str)
                .and_then(|k| k.get(..4))
                .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
        })
    {
        return Err(AwsError::invalid_input(
            "Tag keys beginning with aws: are reserved for system use.",
        ));
    }
    match op {
        "CreateUser" => users::create_user(ctx, i),
        "GetUser" => users::get_user(ctx, i),
        "ListUsers" => users::list_users(ctx, i),
        "UpdateUser" => users::update_user(ctx, i),
        "DeleteUser" => users::delete_user(ctx, i),
        "TagUser" => users::tag_user(ctx, i),
        "UntagUser" => users::untag_user(ctx, i),
        "ListUserTags" => users::list_user_tags(ctx, i),
        "PutUserPermissionsBoundary" => users::put_boundary(ctx, i),
        "DeleteUserPermissionsBoundary" => users::delete_boundary(ctx, i),
        "CreateAccessKey" => users::create_access_key(ctx, i),
        "ListAccessKeys" => users::list_access_keys(ctx, i),
        "UpdateAccessKey" => users::update_access_key(ctx, i),
        "DeleteAccessKey" => users::delete_access_key(ctx, i),
        "GetAccessKeyLastUsed" => users::get_access_key_last_used(ctx, i),
        "CreateLoginProfile" => login::create_login_profile(ctx, i),
        "GetLoginProfile" => login::get_login_profile(ctx, i),
        "UpdateLoginProfile" => login::update_login_profile(ctx, i),
        "DeleteLoginProfile" => login::delete_login_profile(ctx, i),
        "ChangePassword" => login::change_password(ctx, i),
        "UpdateAccountPasswordPolicy" => login::update_account_password_policy(ctx, i),
        "GetAccountPasswordPolicy" => login::get_account_password_policy(ctx),
        "DeleteAccountPasswordPolicy" => login::delete_account_password_policy(ctx),
        "CreateGroup" => groups::create_group(ctx, i),
        "GetGroup" => groups::get_group(ctx, i),
        "ListGroups" => groups::list_groups(ctx, i),
        "UpdateGroup" => groups::update_group(ctx, i),
        "DeleteGroup" => groups::delete_group(ctx, i),
        "AddUserToGroup" => groups::add_user_to_group(ctx, i),
        "RemoveUserFromGroup" => groups::remove_user_from_group(ctx, i),
        "ListGroupsForUser" => groups::list_groups_for_user(ctx, i),
        "CreatePolicy" => policies::create_policy(ctx, i),
        "GetPolicy" => policies::get_policy(ctx, i),
        "DeletePolicy" => policies::delete_policy(ctx, i),
        "ListPolicies" => policies::list_policies(ctx, i),
        "CreatePolicyVersion" => policies::create_policy_version(ctx, i),
        "GetPolicyVersion" => policies::get_policy_version(ctx, i),
        "ListPolicyVersions" => policies::list_policy_versions(ctx, i),
        "SetDefaultPolicyVersion" => policies::set_default_policy_version(ctx, i),
        "DeletePolicyVersion" => policies::delete_policy_version(ctx, i),
        "TagPolicy" => policies::tag_policy(ctx, i),
        "UntagPolicy" => policies::untag_policy(ctx, i),
        "ListPolicyTags" => policies::list_policy_tags(ctx, i),
        "ListEntitiesForPolicy" => policies::list_entities_for_policy(ctx, i),
        "AttachUserPolicy" => policies::attach(ctx, i, EK::User),
        "AttachGroupPolicy" => policies::attach(ctx, i, EK::Group),
        "AttachRolePolicy" => policies::attach(ctx, i, EK::Role),
        "DetachUserPolicy" => policies::detach(ctx, i, EK::User),
        "DetachGroupPolicy" => policies::detach(ctx, i, EK::Group),
        "DetachRolePolicy" => policies::detach(ctx, i, EK::Role),
        "ListAttachedUserPolicies" => policies::list_attached(ctx, i, EK::User),
        "ListAttachedGroupPolicies" => policies::list_attached(ctx, i, EK::Group),
        "ListAttachedRolePolicies" => policies::list_attached(ctx, i, EK::Role),
        "PutUserPolicy" => policies::put_inline(ctx, i, EK::User),
        "PutGroupPolicy" => policies::put_inline(ctx, i, EK::Group),
        "PutRolePolicy" => policies::put_inline(ctx, i, EK::Role),
        "GetUserPolicy" => policies::get_inline(ctx, i, EK::User),
        "GetGroupPolicy" => policies::get_inline(ctx, i, EK::Group),
        "GetRolePolicy" => policies::get_inline(ctx, i, EK::Role),
        "DeleteUserPolicy" => policies::delete_inline(ctx, i, EK::User),
        "DeleteGroupPolicy" => policies::delete_inline(ctx, i, EK::Group),
        "DeleteRolePolicy" => policies::delete_inline(ctx, i, EK::Role),
        "ListUserPolicies" => policies::list_inline(ctx, i, EK::User),
        "ListGroupPolicies" => policies::list_inline(ctx, i, EK::Group),
        "ListRolePolicies" => policies::list_inline(ctx, i, EK::Role),
        "CreateRole" => roles::create_role(ctx, i),
        "GetRole" => roles::get_role(ctx, i),
        "ListRoles" => roles::list_roles(ctx, i),
        "UpdateRole" => roles::update_role(ctx, i),
        "UpdateRoleDescription" => roles::update_role_description(ctx, i),
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(ctx, i),
        "DeleteRole" => roles::delete_role(ctx, i),
        "TagRole" => roles::tag_role(ctx, i),
        "UntagRole" => roles::untag_role(ctx, i),
        "ListRoleTags" => roles::list_role_tags(ctx, i),
        "PutRolePermissionsBoundary" => roles::put_boundary(ctx, i),
        "DeleteRolePermissionsBoundary" => roles::delete_boundary(ctx, i),
        "CreateInstanceProfile" => instance_profiles::create_instance_profile(ctx, i),
        "GetInstanceProfile" => instance_profiles::get_instance_profile(ctx, i),
        "DeleteInstanceProfile" => instance_profiles::delete_instance_profile(ctx, i),
        "AddRoleToInstanceProfile" => instance_profiles::add_role_to_instance_profile(ctx, i),
        "RemoveRoleFromInstanceProfile" => {
            instance_profiles::remove_role_from_instance_profile(ctx, i)
        }
        "ListInstanceProfiles" => instance_profiles::list_instance_profiles(ctx, i),
        "ListInstanceProfilesForRole" => instance_profiles::list_instance_profiles_for_role(ctx, i),
        "TagInstanceProfile" => instance_profiles::tag_instance_profile(ctx, i),
        "UntagInstanceProfile" => instance_profiles::untag_instance_profile(ctx, i),
        "ListInstanceProfileTags" => instance_profiles::list_instance_profile_tags(ctx, i),
        "CreateOpenIDConnectProvider" => oidc::create(ctx, i),
        "GetOpenIDConnectProvider" => oidc::get(ctx, i),
        "ListOpenIDConnectProviders" => oidc::list(ctx),
        "DeleteOpenIDConnectProvider" => oidc::delete(ctx, i),
        "AddClientIDToOpenIDConnectProvider" => oidc::add_client_id(ctx, i),
        "RemoveClientIDFromOpenIDConnectProvider" => oidc::remove_client_id(ctx, i),
        "UpdateOpenIDConnectProviderThumbprint" => oidc::update_thumbprint(ctx, i),
        "TagOpenIDConnectProvider" => oidc::tag(ctx, i),
        "UntagOpenIDConnectProvider" => oidc::untag(ctx, i),
        "ListOpenIDConnectProviderTags" => oidc::list_tags(ctx, i),
        "CreateSAMLProvider" => saml::create(ctx, i),
        "GetSAMLProvider" => saml::get(ctx, i),
        "ListSAMLProviders" => saml::list(ctx),
        "UpdateSAMLProvider" => saml::update(ctx, i),
        "DeleteSAMLProvider" => saml::delete(ctx, i),
        "TagSAMLProvider" => saml::tag(ctx, i),
        "UntagSAMLProvider" => saml::untag(ctx, i),
        "ListSAMLProviderTags" => saml::list_tags(ctx, i),
        "CreateVirtualMFADevice" => mfa::create_virtual_mfa_device(ctx, i),
        "EnableMFADevice" => mfa::enable_mfa_device(ctx, i),
        "DeactivateMFADevice" => mfa::deactivate_mfa_device(ctx, i),
        "DeleteVirtualMFADevice" => mfa::delete_virtual_mfa_device(ctx, i),
        "ListMFADevices" => mfa::list_mfa_devices(ctx, i),
        "ListVirtualMFADevices" => mfa::list_virtual_mfa_devices(ctx, i),
        "GetMFADevice" => mfa::get_mfa_device(ctx, i),
        "ResyncMFADevice" => mfa::resync_mfa_device(ctx, i),
        "TagMFADevice" => mfa::tag_mfa_device(ctx, i),
        "UntagMFADevice" => mfa::untag_mfa_device(ctx, i),
        "ListMFADeviceTags" => mfa::list_mfa_device_tags(ctx, i),
        "GetContextKeysForCustomPolicy" => simulate::context_keys_for_custom_policy(ctx, i),
        "GetContextKeysForPrincipalPolicy" => simulate::context_keys_for_principal_policy(ctx, i),
        "CreateAccountAlias" => create_account_alias(ctx, i),
        "DeleteAccountAlias" => delete_account_alias(ctx, i),
        "SimulatePrincipalPolicy" => simulate::simulate_principal_policy(ctx, i),
        "SimulateCustomPolicy" => simulate::simulate_custom_policy(ctx, i),
        // kagi stores no SSH keys, signing certificates, service-specific credentials or
        // server certificates (creating them answers NotImplemented), so their lists are empty;
        // tools that clean a user up before deleting it walk them.
        "ListSSHPublicKeys" => empty_user_list(ctx, i, op, "SSHPublicKeys"),
        "ListSigningCertificates" => empty_user_list(ctx, i, op, "Certificates"),
        "ListServiceSpecificCredentials" if opt_bool(i, "AllUsers") == Some(true) => {
            ctx.authorize("iam:ListServiceSpecificCredentials", "*")?;
            paginate(i, Vec::new(), "ServiceSpecificCredentials")
        }
        "ListServiceSpecificCredentials" => {
            empty_user_list(ctx, i, op, "ServiceSpecificCredentials")
        }
        "ListServerCertificates" => {
            ctx.authorize(
                "iam:ListServerCertificates",
                &format!("arn:aws:iam::{}:server-certificate/", ctx.state.account_id),
            )?;
            paginate(i, Vec::new(), "ServerCertificateMetadataList")
        }
        "GetAccountSummary" => get_account_summary(ctx),
        "GetAccountAuthorizationDetails" => details::get_account_authorization_details(ctx, i),
        "GenerateCredentialReport" => report::generate_credential_report(ctx),
        "GetCredentialReport" => report::get_credential_report(ctx),
        "ListAccountAliases" => list_account_aliases(ctx, i),
        other => {
            ctx.authorize(&format!("iam:{other}"), "*")?;
            Err(AwsError::new(
                501,
                "NotImplemented",
                format!("kagi does not implement iam:{other} yet."),
            ))
        }
    }
}

use crate::model::EntityKind as EK;

// ---- parameter helpers ----

pub fn req<'a>(input: &'a Value, name: &str) -> AwsResult<&'a str> {
    input
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::missing_param(name))
}

pub fn opt<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

pub fn opt_i64(input: &Value, name: &str) -> Option<i64> {
    input.get(name).and_then(Value::as_i64)
}

pub fn opt_bool(input: &Value, name: &str) -> Option<bool> {
    input.get(name).and_then(Value::as_bool)
}

pub fn path_param(input: &Value, name: &str) -> AwsResult<String> {
    let p = opt(input, name).unwrap_or("/");
    if !crate::ids::valid_path(p) {
        return Err(AwsError::validation(format!(
            "The specified value for {} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            lower_first(name)
        )));
    }
    Ok(p.to_owned())
}

pub fn name_param<'a>(input: &'a Value, name: &str, max: usize) -> AwsResult<&'a str> {
    let v = req(input, name)?;
    if !crate::ids::valid_name(v, max) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}",
            lower_first(name)
        )));
    }
    Ok(v)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn tags_param(input: &Value) -> AwsResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::new();
    if let Some(arr) = input.get("Tags").and_then(Value::as_array) {
        for t in arr {
            let key = t
                .get("Key")
                .and_then(Value::as_str)
                .ok_or_else(|| AwsError::missing_param("Key"))?;
            let value = t.get("Value").and_then(Value::as_str).unwrap_or("");
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err(AwsError::validation(
                    "Tag keys must be 1-128 characters and values at most 256 characters.",
                ));
            }
            if let Some(existing) = out.iter_mut().find(|x| x.key == key) {
                existing.value = value.to_owned();
            } else {
                out.push(Tag {
                    key: key.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> AwsResult<()> {
    for t in new {
        if let Some(e) = existing
            .iter_mut()
            .find(|x| x.key.eq_ignore_ascii_case(&t.key))
        {
            e.value = t.value;
        } else {
            existing.push(t);
        }
    }
    if existing.len() > 50 {
        return Err(AwsError::limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

pub fn remove_tags(existing: &mut Vec<Tag>, input: &Value) {
    let keys: Vec<&str> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

pub fn tags_value(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// Adds `Tags` to `obj` when there are any (AWS omits the member otherwise).
pub fn with_tags(mut obj: Value, tags: &[Tag]) -> Value {
    if !tags.is_empty() {
        obj["Tags"] = tags_value(tags);
    }
    obj
}

// ---- pagination ----

/// Marker/MaxItems pagination over an already-ordered list. Markers are opaque to clients
/// (base64 of the offset).
pub fn paginate(input: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    paginate_into(input, items, key, Map::new())
}

pub fn paginate_into(
    input: &Value,
    items: Vec<Value>,
    key: &str,
    mut out: Map<String, Value>,
) -> AwsResult<Value> {
    let max = opt_i64(input, "MaxItems").unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    let start = match opt(input, "Marker") {
        None => 0,
        Some(m) => decode_marker(m).ok_or_else(|| AwsError::validation("Invalid Marker."))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(max as usize).collect();
    let next = start + page.len();
    out.insert(key.to_owned(), Value::Array(page));
    out.insert("IsTruncated".into(), Value::Bool(next < total));
    if next < total {
        out.insert("Marker".into(), Value::String(encode_marker(next)));
    }
    Ok(Value::Object(out))
}

fn encode_marker(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("kagi:{n}"))
}

fn decode_marker(m: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("kagi:")?
        .parse()
        .ok()
}

/// Where an entity is now (`arn`, `path`, `name`) — `None` when it does not exist.
pub struct Located<'a> {
    pub arn: &'a str,
    pub path: &'a str,
    pub name: &'a str,
}

/// A rename or move (UpdateUser, UpdateGroup) needs `action` on the entity as it is and as it
/// will be, as on AWS. A missing entity is authorised on its would-be ARN (so the caller learns
/// `NoSuchEntity` only when allowed to ask).
pub fn authorize_rename(
    ctx: &Ctx,
    action: &str,
    kind: &str,
    name: &str,
    current: Option<Located>,
    new_path: Option<&str>,
    new_name: Option<&str>,
) -> AwsResult<()> {
    let Some(cur) = current else {
        let arn = crate::ids::iam_arn(&ctx.state.account_id, kind, "/", name);
        return ctx.authorize(action, &arn);
    };
    ctx.authorize(action, cur.arn)?;
    let target = crate::ids::iam_arn(
        &ctx.state.account_id,
        kind,
        new_path.unwrap_or(cur.path),
        new_name.unwrap_or(cur.name),
    );
    if target != cur.arn {
        ctx.authorize(action, &target)?;
    }
    Ok(())
}

pub fn ts(secs: i64) -> Value {
    Value::String(crate::ids::iso8601(secs))
}

/// The user a no-`UserName` call means: the calling IAM user. Other callers must name one.
pub fn implicit_user(ctx: &Ctx, input: &Value) -> AwsResult<String> {
    if let Some(u) = opt(input, "UserName") {
        return Ok(u.to_owned());
    }
    match &ctx.caller.principal {
        Principal::User { name, .. } => Ok(name.clone()),
        _ => Err(AwsError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// A per-user list kagi never fills: authorised on the user (the caller without `UserName`),
/// NoSuchEntity for a missing user, else an empty page.
fn empty_user_list(ctx: &Ctx, i: &Value, op: &str, key: &str) -> AwsResult<Value> {
    use crate::store::StoreExt;
    let user = implicit_user(ctx, i)?;
    ctx.authorize(&format!("iam:{op}"), &users::user_arn(ctx, &user)?)?;
    ctx.state
        .store
        .view(|tx| Ok(users::load_user(tx, &user)?))?;
    paginate(i, Vec::new(), key)
}

// ---- the account alias ----
//
// One alias per account, kept in `Table::Meta` under [`ALIAS_KEY`]. As on AWS, creating an
// alias replaces the one the account had.

pub const ALIAS_KEY: &str = "account-alias";

fn account_alias(ctx: &Ctx) -> AwsResult<Option<String>> {
    use crate::store::{StoreExt, Table, TxExt};
    let v: Option<Value> = ctx
        .state
        .store
        .view(|tx| tx.get_json(Table::Meta, ALIAS_KEY))?;
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

fn create_account_alias(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    use crate::store::{StoreExt, Table, TxExt};
    let alias = req(i, "AccountAlias")?;
    ctx.authorize("iam:CreateAccountAlias", "*")?;
    if !valid_alias(alias) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    ctx.state
        .store
        .write(|tx| tx.put_json(Table::Meta, ALIAS_KEY, &json!({"alias": alias})))?;
    Ok(json!({}))
}

fn delete_account_alias(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    use crate::store::{StoreExt, Table, TxExt};
    let alias = req(i, "AccountAlias")?;
    ctx.authorize("iam:DeleteAccountAlias", "*")?;
    ctx.state.store.write(|tx| {
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
    Ok(json!({}))
}

fn list_account_aliases(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:ListAccountAliases", "*")?;
    let items = account_alias(ctx)?.into_iter().map(Value::String).collect();
    paginate(i, items, "AccountAliases")
}

fn get_account_summary(ctx: &Ctx) -> AwsResult<Value> {
    use crate::store::{StoreExt, Table};
    ctx.authorize("iam:GetAccountSummary", "*")?;
    let counts = ctx.state.store.view(|tx| {
        Ok((
            tx.scan(Table::Users, "")?.len(),
            tx.scan(Table::Groups, "")?.len(),
            tx.scan(Table::Roles, "")?.len(),
            tx.scan(Table::Policies, "")?.len(),
            tx.scan(Table::MfaDevices, "")?.len(),
            users::root_has_keys(tx)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_walks_everything_once() {
        let items: Vec<Value> = (0..7).map(|i| json!(i)).collect();
        let mut seen = Vec::new();
        let mut input = json!({"MaxItems": 3});
        loop {
            let page = paginate(&input, items.clone(), "Items").unwrap();
            seen.extend(page["Items"].as_array().unwrap().iter().cloned());
            if !page["IsTruncated"].as_bool().unwrap() {
                assert!(page.get("Marker").is_none());
                break;
            }
            input["Marker"] = page["Marker"].clone();
        }
        assert_eq!(seen, items);
        assert!(paginate(&json!({"MaxItems": 0}), items.clone(), "I").is_err());
        assert!(paginate(&json!({"Marker": "garbage!"}), items, "I").is_err());
    }
}
