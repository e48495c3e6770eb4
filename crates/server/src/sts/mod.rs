//! STS: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken,
//! GetFederationToken.
//!
//! AssumeRole follows AWS's same-account rules through kagi-policy: the role's trust policy is
//! evaluated as a trust (resource) policy beside the caller's identity policies, so a trust
//! policy naming the user (or session) suffices, one naming the account root delegates to the
//! caller's identity policies, and an explicit deny anywhere wins. The account root cannot
//! assume roles. Role chaining is capped at one hour.
//!
//! GetFederationToken (long-term keys of an IAM user or the root) mints a federated user
//! session, `arn:aws:sts::ACCOUNT:federated-user/Name`, whose permissions are the caller's
//! narrowed by the session policies passed (none passed: no permissions); its credentials call
//! no IAM and no STS operation but GetCallerIdentity. [`tokens::federated_console_session`] gives such
//! a session a console session of its own (the sign-in federation endpoint uses it).
//! AssumeRole and GetFederationToken share the checks of session policies and tags.
//!
//! AssumeRoleWithWebIdentity (unsigned: the OIDC token is the credential) is in [`web_identity`].
//!
//! A session is a [`Session`] sealed into the session token ([`crate::crypto`]); it is also
//! recorded in the [`crate::state::book::SessionBook`] so ECR registry tokens can re-resolve it.

//!
//! This module only dispatches: [`tokens`] mints sessions, [`web_identity`] is
//! AssumeRoleWithWebIdentity (called by [`crate::dispatch`] without a signed caller).

pub mod tokens;
pub mod web_identity;

use crate::caller::Principal;
use crate::error::{AwsError, AwsResult};
use crate::params::req;
use crate::state::Ctx;
use serde_json::{Value, json};
use tokens::{assume_role, get_federation_token, get_session_token, validation};

pub fn handle(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    // GetSessionToken credentials may call only AssumeRole and GetCallerIdentity on STS;
    // GetFederationToken credentials only GetCallerIdentity (AWS documents both).
    if let (Principal::User { .. } | Principal::Root, Some(_)) =
        (&ctx.caller.principal, &ctx.caller.session)
        && !matches!(op, "AssumeRole" | "GetCallerIdentity")
    {
        return Err(AwsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:{op} on resource: * because temporary credentials from GetSessionToken cannot call it",
            ctx.caller.arn()
        )));
    }
    if matches!(ctx.caller.principal, Principal::Federated { .. }) && op != "GetCallerIdentity" {
        return Err(AwsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:{op} on resource: * because temporary credentials from GetFederationToken cannot call it",
            ctx.caller.arn()
        )));
    }
    match op {
        "GetCallerIdentity" => Ok(json!({
            "UserId": ctx.caller.user_id(),
            "Account": ctx.caller.account_id,
            "Arn": ctx.caller.arn(),
        })),
        "AssumeRole" => assume_role(ctx, &input),
        "GetSessionToken" => get_session_token(ctx, &input),
        "GetFederationToken" => get_federation_token(ctx, &input),
        "GetAccessKeyInfo" => {
            let key = req(&input, "AccessKeyId")?;
            ctx.authorize("sts:GetAccessKeyInfo", "*")?;
            if !crate::ids::is_access_key_id(key) {
                return Err(validation(
                    "accessKeyId",
                    key,
                    "Member must satisfy regular expression pattern: [\\w]*",
                ));
            }
            // The key id names its account (as AWS's do); keys issued before kagi encoded it
            // decode to no account kagi has, and all belong to the bootstrap account.
            let decoded = crate::ids::account_of_key(key).filter(|a| {
                crate::entities::cached_row::<serde_json::Value>(
                    ctx.state,
                    crate::store::GLOBAL,
                    crate::store::Table::Accounts,
                    a,
                )
                .ok()
                .flatten()
                .is_some()
            });
            Ok(json!({"Account": decoded.unwrap_or_else(|| ctx.state.bootstrap_account.clone())}))
        }
        other => {
            ctx.authorize(&format!("sts:{other}"), "*")?;
            Err(AwsError::new(
                501,
                "NotImplemented",
                format!("kagi does not implement sts:{other} yet."),
            ))
        }
    }
}
