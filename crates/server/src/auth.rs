//! Authentication: SigV4 (via kagi-sigv4) and caller resolution.
//!
//! [`authenticate`] turns a raw request into a [`Caller`]:
//! 1. `kagi_sigv4::parse` (no auth at all → `MissingAuthenticationToken`);
//! 2. look up the access key: `AKIA…` in the store (unknown, deleted or inactive →
//!    `InvalidClientTokenId`); `ASIA…` from the sealed session token in `X-Amz-Security-Token`
//!    (absent, forged, tampered, or for another key → `InvalidClientTokenId`);
//! 3. `kagi_sigv4::verify_cached` with the key's secret (constant-time; skew and expiry rules);
//! 4. for temporary credentials, expiry → `ExpiredToken` (checked after the signature, so an
//!    unsigned request learns nothing about a token);
//! 5. the principal behind the key must still exist.
//!
//! Resolved long-term keys are cached per store generation ([`crate::store::Store::generation`]),
//! so a deleted or deactivated key stops working with the very next request.

use crate::caller::{Caller, Principal};
use crate::error::{AwsError, AwsResult};
use crate::model::{AccessKey, Role, Session, SessionKind, User};
use crate::state::AppState;
use crate::state::cache::KeyEntry;
use crate::store::{StoreExt, Table, TxExt, name_key};
use kagi_sigv4::{AuthError, IncomingRequest, SignedInfo};
use std::sync::Arc;
use std::time::SystemTime;

/// What the request claimed plus who it turned out to be.
pub struct Authenticated {
    pub info: SignedInfo,
    pub caller: Caller,
}

/// The error of a failed authentication, kept as kagi-sigv4's error when it is one so that the
/// response can use the right code for the protocol (query vs JSON).
pub enum AuthFailure {
    Sig(AuthError),
    Aws(AwsError),
}

impl From<AwsError> for AuthFailure {
    fn from(e: AwsError) -> Self {
        AuthFailure::Aws(e)
    }
}

impl AuthFailure {
    /// The error rendered for the query protocol (IAM, STS).
    pub fn for_query(&self) -> AwsError {
        match self {
            AuthFailure::Sig(e) => {
                AwsError::new(e.code.http_status(), e.code.as_str(), e.message.clone())
            }
            AuthFailure::Aws(e) => e.clone(),
        }
    }

    /// The error rendered for JSON 1.1 services (ECR).
    pub fn for_json(&self) -> AwsError {
        match self {
            AuthFailure::Sig(e) => AwsError::new(400, e.code.json_code(), e.message.clone()),
            AuthFailure::Aws(e) => {
                let code = match e.code.as_str() {
                    "InvalidClientTokenId" => "UnrecognizedClientException",
                    "ExpiredToken" => "ExpiredTokenException",
                    "AccessDenied" => "AccessDeniedException",
                    other => other,
                };
                AwsError::new(400, code, e.message.clone())
            }
        }
    }
}

/// Parses only (used to route errors before the key is known).
pub fn parse(req: &IncomingRequest<'_>) -> Result<SignedInfo, AuthFailure> {
    kagi_sigv4::parse(req).map_err(AuthFailure::Sig)
}

pub fn authenticate(
    state: &AppState,
    req: &IncomingRequest<'_>,
    info: SignedInfo,
    now: SystemTime,
) -> Result<Authenticated, AuthFailure> {
    let key_id = info.access_key_id.as_str();
    if key_id.starts_with("ASIA") {
        let token = info
            .session_token
            .as_deref()
            .ok_or_else(AwsError::invalid_client_token)?;
        let session = open_session(state, token).ok_or_else(AwsError::invalid_client_token)?;
        let account = session.account_or(&state.bootstrap_account).to_owned();
        if session.access_key_id != key_id {
            return Err(AwsError::invalid_client_token().into());
        }
        let secret = state
            .sealer
            .open_str("session-secret", &session.secret_sealed)
            .ok_or_else(AwsError::invalid_client_token)?;
        kagi_sigv4::verify_cached(req, &info, &secret, now, &state.signing_keys)
            .map_err(AuthFailure::Sig)?;
        if session.expires <= crate::ids::secs_of(now) {
            return Err(AwsError::expired_token().into());
        }
        if crate::organization::is_closed(state, &account)? {
            return Err(AwsError::invalid_client_token().into());
        }
        let principal = session_principal(state, &account, &session)?
            .ok_or_else(AwsError::invalid_client_token)?;
        let caller = Caller {
            principal,
            account_id: account,
            access_key_id: key_id.to_owned(),
            session: Some(Arc::new(session)),
        };
        return Ok(Authenticated { info, caller });
    }
    if info.session_token.is_some() {
        // A session token belongs with temporary (ASIA) keys only.
        return Err(AwsError::invalid_client_token().into());
    }
    let entry = lookup_key(state, key_id)?.ok_or_else(AwsError::invalid_client_token)?;
    kagi_sigv4::verify_cached(req, &info, &entry.secret, now, &state.signing_keys)
        .map_err(AuthFailure::Sig)?;
    if crate::organization::is_closed(state, &entry.account)? {
        return Err(AwsError::invalid_client_token().into());
    }
    let caller = Caller {
        principal: entry.principal,
        account_id: entry.account.to_string(),
        access_key_id: key_id.to_owned(),
        session: None,
    };
    Ok(Authenticated { info, caller })
}

/// Decodes and authenticates a session token (sealed [`Session`]).
pub fn open_session(state: &AppState, token: &str) -> Option<Session> {
    let plain = state.sealer.open_token(token)?;
    serde_json::from_slice(&plain).ok()
}

fn session_principal(state: &AppState, account: &str, s: &Session) -> AwsResult<Option<Principal>> {
    Ok(match &s.kind {
        SessionKind::Root => Some(Principal::Root),
        SessionKind::User { user_name, user_id } => {
            let u: Option<User> =
                crate::entities::cached_entity(state, account, Table::Users, user_name)?;
            // A user deleted and re-created under the same name is a different user.
            u.filter(|u| user_id.as_deref().is_none_or(|id| id == u.id))
                .map(|u| Principal::User {
                    name: u.name,
                    id: u.id,
                    path: u.path,
                })
        }
        SessionKind::Role {
            role_name,
            role_id,
            session_name,
        } => {
            let r: Option<Role> =
                crate::entities::cached_entity(state, account, Table::Roles, role_name)?;
            // A role deleted and re-created under the same name is a different role.
            r.filter(|r| &r.id == role_id).map(|r| Principal::Role {
                name: r.name,
                id: r.id,
                path: r.path,
                session_name: session_name.clone(),
            })
        }
        SessionKind::Federated {
            federated_name,
            user_name,
            user_id,
        } => match user_name {
            None => Some(Principal::Federated {
                name: federated_name.clone(),
                user: None,
            }),
            Some(u) => {
                let u: Option<User> =
                    crate::entities::cached_entity(state, account, Table::Users, u)?;
                u.filter(|u| user_id.as_deref().is_none_or(|id| id == u.id))
                    .map(|u| Principal::Federated {
                        name: federated_name.clone(),
                        user: Some(u.name),
                    })
            }
        },
    })
}

fn lookup_key(state: &AppState, key_id: &str) -> AwsResult<Option<KeyEntry>> {
    state
        .keys
        .get_or_load(state.generation(), key_id, || load_key(state, key_id))
}

/// Finds a long-term key in the account its id names, or (keys issued before ids named their
/// account) in the bootstrap account.
fn load_key(state: &AppState, key_id: &str) -> AwsResult<Option<KeyEntry>> {
    let mut accounts = vec![state.bootstrap_account.clone()];
    if let Some(a) = crate::ids::account_of_key(key_id)
        && a != state.bootstrap_account
    {
        accounts.insert(0, a);
    }
    for account in accounts {
        if let Some(e) = load_key_in(state, &account, key_id)? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

fn load_key_in(state: &AppState, account: &str, key_id: &str) -> AwsResult<Option<KeyEntry>> {
    let found = state.store(account).view(|tx| {
        let Some(k) = tx.get_json::<AccessKey>(Table::AccessKeys, key_id)? else {
            return Ok(None);
        };
        if !k.active {
            return Ok(None);
        }
        let principal = match &k.user {
            None => Principal::Root,
            Some(u) => match tx.get_json::<User>(Table::Users, &name_key(u))? {
                Some(u) => Principal::User {
                    name: u.name,
                    id: u.id,
                    path: u.path,
                },
                None => return Ok(None),
            },
        };
        Ok(Some((k, principal)))
    })?;
    let Some((k, principal)) = found else {
        return Ok(None);
    };
    let secret = state.sealer.open_str("access-key", &k.secret_sealed).ok_or_else(|| {
        tracing::error!(access_key_id = %k.id, "stored secret does not decrypt with this kagi.key");
        AwsError::internal()
    })?;
    Ok(Some(KeyEntry {
        secret: secret.into(),
        principal,
        account: account.into(),
    }))
}

/// Re-resolves a caller from an access key id alone (registry tokens minted by ECR): `None`
/// when the key is deleted/inactive or its session expired.
pub fn caller_for_key(state: &AppState, key_id: &str) -> Option<Caller> {
    if key_id.starts_with("ASIA") {
        let s = state.sessions.get(key_id)?;
        if s.expires <= crate::ids::now_secs() {
            return None;
        }
        let account = s.account_or(&state.bootstrap_account).to_owned();
        if crate::organization::is_closed(state, &account).unwrap_or(true) {
            return None;
        }
        let principal = session_principal(state, &account, &s).ok()??;
        return Some(Caller {
            principal,
            account_id: account,
            access_key_id: key_id.to_owned(),
            session: Some(s),
        });
    }
    let e = lookup_key(state, key_id).ok()??;
    if crate::organization::is_closed(state, &e.account).unwrap_or(true) {
        return None;
    }
    Some(Caller {
        principal: e.principal,
        account_id: e.account.to_string(),
        access_key_id: key_id.to_owned(),
        session: None,
    })
}
