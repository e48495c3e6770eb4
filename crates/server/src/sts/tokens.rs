//! STS's token-minting operations (AssumeRole, GetSessionToken, GetFederationToken), the
//! console's sessions, and the checks they share with AssumeRoleWithWebIdentity
//! ([`super::web_identity`]): session names, durations, session policies and tags.

use crate::caller::Principal;
use crate::error::{AwsError, AwsResult};
use crate::model::{ManagedPolicy, Role, Session, SessionKind, Tag};
use crate::params::{opt, opt_i64, req};
use crate::state::{AppState, Ctx};
use crate::store::{StoreExt, Table, TxExt};
use kagi_policy::{ContextType, ResourcePolicyKind};
use serde_json::{Value, json};

pub const CHAINING_LIMIT: i64 = 3600;
pub const PACKED_LIMIT: usize = 2048;

pub fn validation(member: &str, value: &str, constraint: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

pub fn check_session_name(name: &str) -> AwsResult<()> {
    check_name("roleSessionName", name, 64)
}

/// STS's names (role session names, federated user names): 2 to `max` characters of
/// `[\w+=,.@-]`, each violation in AWS's validation wording.
fn check_name(member: &str, name: &str, max: usize) -> AwsResult<()> {
    if name.len() < 2 {
        return Err(validation(
            member,
            name,
            "Member must have length greater than or equal to 2",
        ));
    }
    if name.len() > max {
        return Err(validation(
            member,
            name,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !crate::ids::valid_name(name, max) {
        return Err(validation(
            member,
            name,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(())
}

fn mfa_check(ctx: &Ctx, input: &Value) -> AwsResult<bool> {
    match (opt(input, "SerialNumber"), opt(input, "TokenCode")) {
        (None, None) => Ok(false),
        (Some(serial), Some(code)) => {
            let user = match &ctx.caller.principal {
                Principal::User { name, .. } => Some(name.as_str()),
                _ => None,
            };
            if crate::iam::mfa::verify_code(ctx, user, serial, code)? {
                Ok(true)
            } else {
                Err(AwsError::access_denied(
                    "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
                ))
            }
        }
        (Some(_), None) => Err(AwsError::access_denied(
            "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
        )),
        (None, Some(_)) => Err(AwsError::validation(
            "SerialNumber is required when TokenCode is provided.",
        )),
    }
}

/// Seals `session` (a principal of `account`) into new temporary credentials.
fn new_credentials(
    state: &AppState,
    account: &str,
    mut session: Session,
) -> AwsResult<(Value, Session)> {
    let key_id = crate::ids::access_key_id(true, account);
    session.account = account.to_owned();
    let secret = crate::ids::secret_access_key();
    session.access_key_id = key_id.clone();
    session.secret_sealed = state.sealer.seal_str("session-secret", &secret);
    let plain = serde_json::to_vec(&session).map_err(|e| AwsError::from(anyhow::Error::from(e)))?;
    let token = state.sealer.seal_token(&plain);
    // Not recorded in the session book: the token is the credential. A session is recorded
    // when something will later name it by key id alone (see `state::book`).
    let creds = json!({
        "AccessKeyId": key_id,
        "SecretAccessKey": secret,
        "SessionToken": token,
        "Expiration": crate::ids::iso8601(session.expires),
    });
    Ok((creds, session))
}

/// A role ARN's account and role name: `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
pub fn parse_role_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || parts[2] != "iam"
        || !crate::ids::is_account_id(parts[4])
    {
        return None;
    }
    let res = parts[5].strip_prefix("role/")?;
    Some((parts[4].to_owned(), res.rsplit('/').next()?.to_owned()))
}

fn session_tags(input: &Value) -> AwsResult<Vec<Tag>> {
    let tags = crate::params::tags_param(input)?;
    if tags.len() > 50 {
        return Err(validation(
            "tags",
            "[...]",
            "Member must have length less than or equal to 50",
        ));
    }
    Ok(tags)
}

/// The session policies (`Policy`, `PolicyArns`) and session tags (`Tags`) of AssumeRole and
/// GetFederationToken, checked as AWS checks them.
pub struct SessionParams<'i> {
    pub inline: Option<&'i str>,
    pub arns: Vec<String>,
    /// The inline document, then the default version of each `PolicyArns` policy.
    pub session_policies: Vec<String>,
    pub tags: Vec<Tag>,
    /// `PackedPolicySize`.
    pub packed_pct: usize,
}

/// `account`: where `PolicyArns` must exist (the role's account; AWS: "the policies must exist
/// in the same account as the role").
pub fn session_params<'i>(
    state: &AppState,
    account: &str,
    input: &'i Value,
) -> AwsResult<SessionParams<'i>> {
    // Session policies: validated like identity policies; together at most 2,048 characters.
    let inline = opt(input, "Policy");
    if let Some(p) = inline {
        crate::authz::check_identity_policy(p)?;
    }
    let arns: Vec<String> = input
        .get("PolicyArns")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("arn").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if arns.len() > 10 {
        return Err(validation(
            "policyArns",
            "[...]",
            "Member must have length less than or equal to 10",
        ));
    }
    let mut session_policies: Vec<String> = inline.map(|p| vec![p.to_owned()]).unwrap_or_default();
    for a in &arns {
        let p: Option<ManagedPolicy> = state
            .store(account)
            .view(|tx| tx.get_json(Table::Policies, a))?;
        let p = p.ok_or_else(|| {
            AwsError::invalid_input(format!("Policy {a} does not exist or is not attachable."))
        })?;
        session_policies.push(p.default_document().to_owned());
    }
    let tags = session_tags(input)?;
    let packed: usize = inline.map(kagi_policy::policy_size).unwrap_or(0)
        + arns.iter().map(|a| a.len()).sum::<usize>()
        + tags
            .iter()
            .map(|t| t.key.len() + t.value.len())
            .sum::<usize>();
    let packed_pct = packed * 100 / PACKED_LIMIT;
    if packed > PACKED_LIMIT {
        return Err(AwsError::new(
            400,
            "PackedPolicyTooLarge",
            format!(
                "Packed policy consumes {packed_pct}% of allotted space, please use smaller policy for session."
            ),
        ));
    }
    Ok(SessionParams {
        inline,
        arns,
        session_policies,
        tags,
        packed_pct,
    })
}

/// `DurationSeconds` (or `default`), within the model's 900..=`max` range, with the model's
/// ValidationError wording.
pub fn duration_param(input: &Value, default: i64, max: i64) -> AwsResult<i64> {
    let duration = opt_i64(input, "DurationSeconds").unwrap_or(default);
    let problem = if duration < 900 {
        "Member must have value greater than or equal to 900".to_owned()
    } else if duration > max {
        format!("Member must have value less than or equal to {max}")
    } else {
        return Ok(duration);
    };
    Err(validation(
        "durationSeconds",
        &duration.to_string(),
        &problem,
    ))
}

pub fn assume_role(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    let role_arn = req(input, "RoleArn")?;
    let session_name = req(input, "RoleSessionName")?;
    check_session_name(session_name)?;
    let caller_arn = ctx.caller.arn();
    if ctx.caller.is_root() {
        return Err(AwsError::access_denied(
            "Roles may not be assumed by root accounts.",
        ));
    }
    if let Some(e) = opt(input, "ExternalId")
        && (e.len() < 2 || e.len() > 1224)
    {
        return Err(validation(
            "externalId",
            e,
            "Member must have length between 2 and 1224",
        ));
    }
    let denied = || {
        AwsError::access_denied(kagi_policy::assume_role_denied_message(
            &caller_arn,
            role_arn,
        ))
    };
    // The role may be in another account: its trust policy and the caller's own policies must
    // then both allow (the evaluation sees the role ARN's account as the resource's owner).
    let (role_account, role_name) = parse_role_arn(role_arn).ok_or_else(denied)?;
    if crate::organization::is_closed(ctx.state, &role_account)? {
        return Err(denied());
    }
    let role: Role =
        crate::entities::cached_entity::<Role>(ctx.state, &role_account, Table::Roles, &role_name)?
            .filter(|r| r.arn == role_arn)
            .ok_or_else(denied)?;

    // Duration rules.
    let chaining = matches!(ctx.caller.principal, Principal::Role { .. });
    let duration = duration_param(input, 3600, 43200)?;
    if chaining && duration > CHAINING_LIMIT {
        return Err(AwsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(AwsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }

    let SessionParams {
        inline,
        arns,
        session_policies,
        tags,
        packed_pct,
    } = session_params(ctx.state, &role_account, input)?;

    let mfa = mfa_check(ctx, input)?;

    // Authorisation: the trust policy (as a trust policy) beside the caller's identity policies.
    let trust = crate::authz::trust_policy(ctx.state, &role)?;
    let mut extra: Vec<(&str, ContextType, String)> = vec![(
        "sts:RoleSessionName",
        ContextType::String,
        session_name.to_owned(),
    )];
    if let Some(e) = opt(input, "ExternalId") {
        extra.push(("sts:ExternalId", ContextType::String, e.to_owned()));
    }
    if mfa {
        extra.push((
            "aws:MultiFactorAuthPresent",
            ContextType::Boolean,
            "true".into(),
        ));
        extra.push(("aws:MultiFactorAuthAge", ContextType::Numeric, "0".into()));
    }
    if let Some(s) = opt(input, "SourceIdentity") {
        extra.push(("sts:SourceIdentity", ContextType::String, s.to_owned()));
    }
    let tag_keys: Vec<String> = tags
        .iter()
        .map(|t| format!("aws:RequestTag/{}", t.key))
        .collect();
    for (t, k) in tags.iter().zip(&tag_keys) {
        extra.push((k.as_str(), ContextType::String, t.value.clone()));
        extra.push(("aws:TagKeys", ContextType::String, t.key.clone()));
    }
    let role_tags: Vec<(String, String)> = role
        .tags
        .iter()
        .flat_map(|t| {
            [
                (format!("aws:ResourceTag/{}", t.key), t.value.clone()),
                (format!("iam:ResourceTag/{}", t.key), t.value.clone()),
            ]
        })
        .collect();
    extra.extend(crate::authz::as_extra(&role_tags));
    let facts = (ctx.now, Some(ctx.source_ip), Some(ctx.region.as_str()));
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    for action in actions {
        let decision = crate::authz::decide(
            ctx.state,
            ctx.caller,
            action,
            role_arn,
            Some((&*trust, ResourcePolicyKind::Trust)),
            &extra,
            facts,
        )?;
        if let Err(why) = decision {
            tracing::debug!(%why, "AssumeRole refused");
            return Err(AwsError::access_denied(
                kagi_policy::assume_role_denied_message(&caller_arn, role_arn),
            ));
        }
    }

    let has_policies = inline.is_some() || !arns.is_empty();
    let mut out = mint_role_session(
        ctx.state,
        &RoleSession {
            role: &role,
            account: &role_account,
            session_name,
            now: ctx.now,
            duration,
            mfa: mfa || ctx.caller.mfa_present(),
            source_identity: opt(input, "SourceIdentity"),
            region: &ctx.region,
        },
        has_policies,
        session_policies,
        tags,
    )?;
    if has_policies || input.get("Tags").is_some() {
        out["PackedPolicySize"] = json!(packed_pct);
    }
    if let Some(s) = opt(input, "SourceIdentity") {
        out["SourceIdentity"] = json!(s);
    }
    Ok(out)
}

/// A role session being minted (AssumeRole, AssumeRoleWithWebIdentity).
pub struct RoleSession<'a> {
    pub role: &'a Role,
    /// The role's account.
    pub account: &'a str,
    pub session_name: &'a str,
    pub now: i64,
    pub duration: i64,
    pub mfa: bool,
    pub source_identity: Option<&'a str>,
    pub region: &'a str,
}

/// Seals the role session into credentials and notes the role's last use; returns
/// `{"Credentials", "AssumedRoleUser"}`, to which each operation adds its own members.
pub fn mint_role_session(
    state: &AppState,
    r: &RoleSession,
    has_session_policy: bool,
    session_policies: Vec<String>,
    tags: Vec<Tag>,
) -> AwsResult<Value> {
    let session = Session {
        access_key_id: String::new(),
        secret_sealed: String::new(),
        kind: SessionKind::Role {
            role_name: r.role.name.clone(),
            role_id: r.role.id.clone(),
            session_name: r.session_name.to_owned(),
        },
        issued: r.now,
        expires: r.now + r.duration,
        mfa: r.mfa,
        console: false,
        has_session_policy,
        session_policies,
        tags,
        source_identity: r.source_identity.map(str::to_owned),
        account: String::new(),
    };
    let (creds, _) = new_credentials(state, r.account, session)?;
    state.note_role_use(
        r.account,
        &r.role.name,
        crate::model::LastUsed {
            date: r.now,
            service: "sts".into(),
            region: r.region.to_owned(),
        },
    );
    let (role, name) = (r.role, r.session_name);
    Ok(json!({
        "Credentials": creds,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{}:{name}", role.id),
            "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{name}", r.account, role.name),
        },
    }))
}

/// Mints a console sign-in session for `ctx.caller`'s principal (the root or an IAM user who
/// just proved a password) lasting `duration` seconds: the same sealed, self-contained token as
/// GetSessionToken, recorded in the session book, marked `console` (so it may call IAM).
/// `mfa`: the sign-in proved a virtual MFA code (`aws:MultiFactorAuthPresent`).
pub fn console_session(ctx: &Ctx, duration: i64, mfa: bool) -> AwsResult<(Value, Session)> {
    let kind = match &ctx.caller.principal {
        Principal::Root => SessionKind::Root,
        Principal::User { name, id, .. } => SessionKind::User {
            user_name: name.clone(),
            user_id: Some(id.clone()),
        },
        Principal::Role { .. } | Principal::Federated { .. } => {
            return Err(AwsError::access_denied(
                "A role session cannot sign in to the console with a password",
            ));
        }
    };
    let session = Session {
        access_key_id: String::new(),
        secret_sealed: String::new(),
        kind,
        issued: ctx.now,
        expires: ctx.now + duration,
        mfa,
        console: true,
        session_policies: Vec::new(),
        has_session_policy: false,
        tags: Vec::new(),
        source_identity: None,
        account: String::new(),
    };
    let (creds, session) = new_credentials(ctx.state, ctx.account(), session)?;
    ctx.state.sessions.put(&session, ctx.now)?; // the console names it by key id
    Ok((creds, session))
}

/// A console session for the principal of a GetFederationToken session `base` (the sign-in
/// federation endpoint's `getSigninToken`): the same federated user with the same session
/// policies and tags, marked `console` (so it may call IAM within those permissions, as the
/// AWS console's federated sessions can), ending at `expires`.
pub fn federated_console_session(
    ctx: &Ctx,
    base: &Session,
    expires: i64,
) -> AwsResult<(Value, Session)> {
    if !matches!(base.kind, SessionKind::Federated { .. }) {
        return Err(AwsError::access_denied(
            "Only GetFederationToken sessions are federated this way",
        ));
    }
    let session = Session {
        access_key_id: String::new(),
        secret_sealed: String::new(),
        issued: ctx.now,
        expires,
        console: true,
        ..base.clone()
    };
    let (creds, session) = new_credentials(ctx.state, ctx.account(), session)?;
    ctx.state.sessions.put(&session, ctx.now)?; // the console names it by key id
    Ok((creds, session))
}

/// GetFederationToken: temporary credentials for the federated user `Name`, called with the
/// long-term keys of an IAM user (or of the root). The session's permissions are the
/// intersection of the calling user's policies (the root's: everything) and the session
/// policies passed; without any, the session has no permissions (as AWS documents). Its
/// credentials may call no IAM operation and no STS operation but GetCallerIdentity.
pub fn get_federation_token(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    if ctx.caller.session.is_some() {
        return Err(AwsError::access_denied(
            "Cannot call GetFederationToken with session credentials",
        ));
    }
    let name = req(input, "Name")?;
    check_name("name", name, 32)?;
    let (user_name, user_id) = match &ctx.caller.principal {
        Principal::Root => (None, None),
        Principal::User { name, id, .. } => (Some(name.clone()), Some(id.clone())),
        Principal::Role { .. } | Principal::Federated { .. } => {
            return Err(AwsError::access_denied(
                "Cannot call GetFederationToken with session credentials",
            ));
        }
    };
    let duration = duration_param(input, 43200, 129_600)?;
    // The root's federated sessions last at most an hour (a longer request gets the hour).
    let duration = if user_name.is_none() {
        duration.min(3600)
    } else {
        duration
    };
    let SessionParams {
        inline,
        arns,
        session_policies,
        tags,
        packed_pct,
    } = session_params(ctx.state, ctx.account(), input)?;

    let arn = format!(
        "arn:aws:sts::{}:federated-user/{name}",
        ctx.caller.account_id
    );
    let context = crate::authz::request_tag_context(&tags);
    let extra = crate::authz::as_extra(&context);
    ctx.authorize_with("sts:GetFederationToken", &arn, &extra)?;
    if !tags.is_empty() {
        ctx.authorize_with("sts:TagSession", &arn, &extra)?;
    }

    let session = Session {
        access_key_id: String::new(),
        secret_sealed: String::new(),
        kind: SessionKind::Federated {
            federated_name: name.to_owned(),
            user_name,
            user_id,
        },
        issued: ctx.now,
        expires: ctx.now + duration,
        mfa: false,
        console: false,
        session_policies,
        // Always: a federated session without session policies has no permissions.
        has_session_policy: true,
        tags,
        source_identity: None,
        account: String::new(),
    };
    let (creds, _) = new_credentials(ctx.state, ctx.account(), session)?;
    let mut out = json!({
        "Credentials": creds,
        "FederatedUser": {
            "FederatedUserId": format!("{}:{name}", ctx.caller.account_id),
            "Arn": arn,
        },
    });
    if inline.is_some() || !arns.is_empty() || input.get("Tags").is_some() {
        out["PackedPolicySize"] = json!(packed_pct);
    }
    Ok(out)
}

pub fn get_session_token(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    if ctx.caller.session.is_some() {
        return Err(AwsError::access_denied(
            "Cannot call GetSessionToken with session credentials",
        ));
    }
    let (kind, default, max) = match &ctx.caller.principal {
        Principal::Root => (SessionKind::Root, 3600, 3600),
        Principal::User { name, id, .. } => (
            SessionKind::User {
                user_name: name.clone(),
                user_id: Some(id.clone()),
            },
            43200,
            129_600,
        ),
        Principal::Role { .. } | Principal::Federated { .. } => {
            return Err(AwsError::access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
    };
    let duration = duration_param(input, default, 129_600)?;
    let duration = duration.min(max);
    let mfa = mfa_check(ctx, input)?;
    let session = Session {
        access_key_id: String::new(),
        secret_sealed: String::new(),
        kind,
        issued: ctx.now,
        expires: ctx.now + duration,
        mfa,
        console: false,
        session_policies: Vec::new(),
        has_session_policy: false,
        tags: Vec::new(),
        source_identity: None,
        account: String::new(),
    };
    let (creds, _) = new_credentials(ctx.state, ctx.account(), session)?;
    Ok(json!({"Credentials": creds}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_and_role_arns() {
        assert!(check_session_name("botocore-session-1700000000").is_ok());
        assert!(check_session_name("a").is_err());
        assert!(check_session_name("has space").is_err());
        assert!(check_session_name(&"x".repeat(65)).is_err());
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/a/b/R"),
            Some(("123456789012".into(), "R".into()))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::999999999999:role/R"),
            Some(("999999999999".into(), "R".into()))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/R"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::12345:role/R"), None);
    }
}
