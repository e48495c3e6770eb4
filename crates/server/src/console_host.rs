//! kagi-console's [`kagi_console::Backend`], implemented by the server.
//!
//! * [`Backend::invoke`](kagi_console::Backend::invoke) is [`crate::dispatch::invoke`]: the caller is
//!   resolved from the console session's access key id, then the API pipeline runs.
//! * Sign-in names an account by id or alias ([`account_for_sign_in`]: the accounts' records in
//!   [`Table::Accounts`], each account's IAM alias); in that account's scope it checks the root
//!   password (argon2id PHC in [`Table::Meta`] under [`ROOT_PASSWORD_KEY`]; only the bootstrap
//!   account has one, from `KAGI_ROOT_PASSWORD`) or the user's login profile
//!   ([`crate::iam::login`]) and mints a console session of that account with
//!   [`crate::sts::tokens::console_session`]: root 1 hour (as GetSessionToken for root), IAM
//!   users 12 hours. An unknown account or alias, or the root of a created account (no
//!   password, as on AWS), fails like a wrong password after verifying the dummy hash.
//! * ECR pages: [`Backend::invoke_ecr`](kagi_console::Backend::invoke_ecr) resolves the caller
//!   the same way and runs [`kagi_ecr::Ecr::call`] (ECR's own dispatch and authorisation),
//!   blocking on the server's runtime (console pages run on its blocking threads).
//! * Federation: [`Backend::federate`](kagi_console::Backend::federate) opens the sealed session
//!   token, checks it names the access key id, compares the secret in constant time, checks
//!   expiry and that the principal still exists; AssumeRole and console sessions qualify,
//!   GetSessionToken sessions do not (as on AWS).
//! * MFA at sign-in: a user with an enabled virtual MFA device gets
//!   [`SignInError::MfaRequired`] after the password, then
//!   [`Backend::sign_in_mfa`](kagi_console::Backend::sign_in_mfa) checks a code with
//!   [`crate::iam::mfa::verify_code`] (each time step once). That console session has
//!   `aws:MultiFactorAuthPresent` (its record in the session book says `mfa`; the console's
//!   credentials never leave the server, so the book is what its calls resolve).
//! * The root password comes from `KAGI_ROOT_PASSWORD` (set at every start) or, with a data
//!   directory and nothing set yet, is generated on first start and written to
//!   [`ROOT_PASSWORD_FILE`] (0600) beside the root credentials; only its hash is stored.

use crate::caller::{Caller, Principal};
use crate::model::User;
use crate::state::{AppState, Ctx};
use crate::store::{GLOBAL, Store, StoreExt, Table, TxExt, name_key};
use kagi_console::{Backend, CallError, Credentials, SignInError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

pub const ROOT_PASSWORD_KEY: &str = "console-root-password";
pub const ROOT_PASSWORD_FILE: &str = "root-password";
const ROOT_SESSION_SECS: i64 = 3600;
const USER_SESSION_SECS: i64 = 12 * 3600;
/// A federated user's console session without `SessionDuration` (AWS's default, 12 hours).
const FEDERATED_CONSOLE_SECS: i64 = 12 * 3600;

#[derive(Serialize, Deserialize)]
struct RootPassword {
    phc: String,
}

/// Stores the root's console password (hashed).
pub fn set_root_password(store: &dyn Store, password: &str) -> anyhow::Result<()> {
    let doc = RootPassword {
        phc: kagi_console::password::hash(password),
    };
    store.write(|tx| tx.put_json(Table::Meta, ROOT_PASSWORD_KEY, &doc))
}

pub fn root_password_is_set(store: &dyn Store) -> anyhow::Result<bool> {
    Ok(store
        .view(|tx| tx.get(Table::Meta, ROOT_PASSWORD_KEY))?
        .is_some())
}

pub struct ConsoleHost {
    state: Arc<AppState>,
}

impl ConsoleHost {
    pub fn new(state: Arc<AppState>) -> ConsoleHost {
        ConsoleHost { state }
    }

    /// Mints the console session; `mfa` = the sign-in proved an MFA code.
    fn mint(
        &self,
        account: &str,
        principal: Principal,
        secs: i64,
        source_ip: IpAddr,
        mfa: bool,
        reset_required: bool,
    ) -> Result<Credentials, SignInError> {
        let caller = Caller {
            principal,
            account_id: account.to_owned(),
            access_key_id: String::new(),
            session: None,
        };
        let ctx = Ctx {
            state: &self.state,
            caller: &caller,
            store: self.state.store(&caller.account_id),
            now: crate::ids::now_secs(),
            region: "us-east-1".into(),
            source_ip,
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        // `mfa`: `aws:MultiFactorAuthPresent` for this session, sealed into its token.
        match crate::sts::tokens::console_session(&ctx, secs, mfa) {
            Ok((_, session)) => Ok(Credentials {
                access_key_id: session.access_key_id,
                arn: caller.arn(),
                expires: session.expires,
                password_reset_required: reset_required,
            }),
            Err(e) => Err(SignInError::Unavailable(e.message)),
        }
    }
}

impl Backend for ConsoleHost {
    fn shared_state(&self) -> Option<Arc<dyn kagi_console::state::SharedState>> {
        self.state.console_state.clone()
    }

    fn account_id(&self) -> String {
        self.state.bootstrap_account.clone()
    }

    fn invoke(
        &self,
        access_key_id: &str,
        source_ip: IpAddr,
        service: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, CallError> {
        crate::dispatch::invoke(
            &self.state,
            access_key_id,
            source_ip,
            service,
            operation,
            &input,
        )
        .map_err(|e| CallError {
            code: e.code,
            message: e.message,
            status: e.status,
        })
    }

    fn invoke_ecr(
        &self,
        access_key_id: &str,
        region: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, CallError> {
        let Some(ecrs) = &self.state.ecr else {
            return Err(CallError {
                code: "UnknownOperationException".into(),
                message: "The requested service is not available.".into(),
                status: 400,
            });
        };
        let caller =
            crate::auth::caller_for_key(&self.state, access_key_id).ok_or_else(|| CallError {
                code: "UnrecognizedClientException".into(),
                message: "The security token included in the request is invalid.".into(),
                status: 400,
            })?;
        let ecr = crate::ecr_host::api_target(ecrs, &caller, input.to_string().as_bytes())
            .map_err(|e| CallError {
                code: e.code,
                message: e.message,
                status: e.status,
            })?;
        let server_caller = caller;
        let caller = crate::ecr_host::ecr_caller(&server_caller);
        let fut = ecr.call(&caller, region, operation, &input);
        // The console runs pages on blocking threads of the server's runtime.
        let out = match tokio::runtime::Handle::try_current() {
            Ok(h) => h.block_on(fut),
            Err(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CallError {
                    code: "ServerException".into(),
                    message: e.to_string(),
                    status: 500,
                })?
                .block_on(fut),
        };
        tracing::debug!(service = "ecr", action = operation, caller = %caller.arn, ok = out.is_ok(), "console call");
        let err = out
            .as_ref()
            .err()
            .map(|e| crate::dispatch::from_api(e.clone()));
        crate::dispatch::record_console(
            &self.state,
            &server_caller,
            IpAddr::from([127, 0, 0, 1]),
            "ecr",
            operation,
            Some(input.clone()),
            out.as_ref().ok().cloned(),
            err.as_ref(),
            caller.notes.take(),
        )
        .map_err(|e| CallError {
            code: e.code,
            message: e.message,
            status: e.status,
        })?;
        out.map_err(|e| CallError {
            code: e.code,
            message: e.message,
            status: e.status,
        })
    }

    fn change_root_password(
        &self,
        access_key_id: &str,
        old: &str,
        new: &str,
    ) -> Result<(), CallError> {
        let err = |status: u16, code: &str, message: &str| CallError {
            code: code.into(),
            message: message.into(),
            status,
        };
        let caller = crate::auth::caller_for_key(&self.state, access_key_id).ok_or_else(|| {
            err(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            )
        })?;
        if !caller.is_root() {
            return Err(err(
                403,
                "AccessDenied",
                "Only the root user can change the root user's password.",
            ));
        }
        let store = self.state.store(&caller.account_id);
        let stored: Option<RootPassword> = store
            .view(|tx| tx.get_json(Table::Meta, ROOT_PASSWORD_KEY))
            .map_err(|_| err(500, "ServiceFailure", "The password could not be read."))?;
        if !stored.is_some_and(|s| kagi_console::password::verify(old, &s.phc)) {
            return Err(err(
                403,
                "IncorrectPassword",
                "The current password is incorrect.",
            ));
        }
        crate::iam::login::check_password(new).map_err(|e| CallError {
            code: e.code,
            message: e.message,
            status: e.status,
        })?;
        set_root_password(&*store, new)
            .map_err(|_| err(500, "ServiceFailure", "The password could not be stored."))
    }

    fn registry_endpoint(&self, region: &str) -> Option<String> {
        self.state
            .ecr
            .as_ref()
            .map(|e| e.bootstrap().registry_endpoint(region))
    }

    fn federate(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: &str,
        session_duration: Option<i64>,
    ) -> Result<Credentials, String> {
        const INVALID: &str = "The credentials are not valid temporary credentials of this server.";
        if !access_key_id.starts_with("ASIA") {
            return Err(
                "getSigninToken needs temporary credentials (an ASIA access key id with its session token)."
                    .into(),
            );
        }
        let session = crate::auth::open_session(&self.state, session_token)
            .ok_or_else(|| INVALID.to_owned())?;
        if session.access_key_id != access_key_id {
            return Err(INVALID.into());
        }
        let secret = self
            .state
            .sealer
            .open_str("session-secret", &session.secret_sealed)
            .ok_or_else(|| INVALID.to_owned())?;
        if !crate::crypto::ct_eq(secret.as_bytes(), secret_access_key.as_bytes()) {
            return Err(INVALID.into());
        }
        if session.expires <= crate::ids::now_secs() {
            return Err("The credentials have expired.".into());
        }
        // As on AWS: role, federated-user and console sessions sign in; GetSessionToken's do not.
        if !session.console
            && matches!(
                session.kind,
                crate::model::SessionKind::User { .. } | crate::model::SessionKind::Root
            )
        {
            return Err(
                "getSigninToken accepts credentials from AssumeRole or GetFederationToken (GetSessionToken credentials cannot sign in)."
                    .into(),
            );
        }
        // The console will name this session by key id alone: make sure the book has it.
        self.state.sessions.pin(&session, crate::ids::now_secs());
        let caller = crate::auth::caller_for_key(&self.state, access_key_id)
            .ok_or_else(|| INVALID.to_owned())?;
        if matches!(session.kind, crate::model::SessionKind::Federated { .. }) {
            // A federated user's console session: its own credentials (a console session, so
            // it may call IAM within the federated user's permissions), lasting SessionDuration
            // (12 hours by default) but never past the credentials it came from.
            let now = crate::ids::now_secs();
            let expires = session
                .expires
                .min(now + session_duration.unwrap_or(FEDERATED_CONSOLE_SECS));
            let ctx = Ctx {
                state: &self.state,
                caller: &caller,
                store: self.state.store(&caller.account_id),
                now,
                region: "us-east-1".into(),
                source_ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                request_id: uuid::Uuid::new_v4().to_string(),
            };
            let (_, console) =
                crate::sts::tokens::federated_console_session(&ctx, &session, expires)
                    .map_err(|e| e.message)?;
            return Ok(Credentials {
                access_key_id: console.access_key_id,
                arn: caller.arn(),
                expires: console.expires,
                password_reset_required: false,
            });
        }
        // A role session's console session ends with its credentials (SessionDuration does not
        // apply, as on AWS).
        Ok(Credentials {
            access_key_id: access_key_id.to_owned(),
            arn: caller.arn(),
            expires: session.expires,
            password_reset_required: false,
        })
    }

    fn resolve_account(&self, account: &str) -> Option<String> {
        account_for_sign_in(&self.state, account)
    }

    fn sign_in_mfa(
        &self,
        account: &str,
        user_name: &str,
        code: &str,
        source_ip: IpAddr,
    ) -> Result<Credentials, SignInError> {
        let account = account_for_sign_in(&self.state, account).ok_or(SignInError::Failed)?;
        let store = self.state.store(&account);
        let found: Option<User> = store
            .view(|tx| tx.get_json(Table::Users, &name_key(user_name)))
            .map_err(|_| SignInError::Failed)?;
        let Some(u) = found else {
            return Err(SignInError::Failed);
        };
        let principal = Principal::User {
            name: u.name.clone(),
            id: u.id,
            path: u.path,
        };
        let caller = Caller {
            principal: principal.clone(),
            account_id: account.clone(),
            access_key_id: String::new(),
            session: None,
        };
        let ctx = Ctx {
            state: &self.state,
            caller: &caller,
            store: store.clone(),
            now: crate::ids::now_secs(),
            region: "us-east-1".into(),
            source_ip,
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        let mut ok = false;
        for serial in enabled_mfa_devices(store.as_ref(), &u.name)? {
            if crate::iam::mfa::verify_code(&ctx, Some(&u.name), &serial, code).unwrap_or(false) {
                ok = true;
                break;
            }
        }
        if !ok {
            return Err(SignInError::Failed);
        }
        // The password was proved in the first step; a required reset still applies.
        let reset_required = store
            .view(|tx| crate::entities::load_profile(tx, &u.name))
            .map_err(|_| SignInError::Failed)?
            .is_some_and(|p| p.reset_required);
        self.mint(
            &account,
            principal,
            USER_SESSION_SECS,
            source_ip,
            true,
            reset_required,
        )
    }

    fn sign_in(
        &self,
        account: &str,
        user_name: Option<&str>,
        password: &str,
        source_ip: IpAddr,
    ) -> Result<Credentials, SignInError> {
        // An unknown account or alias costs a hash like a wrong password and answers the same.
        let Some(account) = account_for_sign_in(&self.state, account) else {
            let _ = kagi_console::password::verify(password, dummy_phc());
            return Err(SignInError::Failed);
        };
        let store = self.state.store(&account);
        match user_name {
            None => {
                let stored: Option<RootPassword> = store
                    .view(|tx| tx.get_json(Table::Meta, ROOT_PASSWORD_KEY))
                    .map_err(|_| SignInError::Failed)?;
                let Some(stored) = stored else {
                    if account != self.state.bootstrap_account {
                        // As on AWS, the root of a created account has no password until it is
                        // recovered; saying so would tell that the account exists.
                        let _ = kagi_console::password::verify(password, dummy_phc());
                        return Err(SignInError::Failed);
                    }
                    return Err(SignInError::Unavailable(
                        "The root user has no console password. Set KAGI_ROOT_PASSWORD and restart kagi serve.".into(),
                    ));
                };
                if !kagi_console::password::verify(password, &stored.phc) {
                    return Err(SignInError::Failed);
                }
                self.mint(
                    &account,
                    Principal::Root,
                    ROOT_SESSION_SECS,
                    source_ip,
                    false,
                    false,
                )
            }
            Some(name) => {
                let found = store
                    .view(|tx| {
                        let u: Option<User> = tx.get_json(Table::Users, &name_key(name))?;
                        let p = crate::entities::load_profile(tx, name)?;
                        Ok(u.zip(p))
                    })
                    .map_err(|_| SignInError::Failed)?;
                // Hash anyway when the user or profile is missing, so timing tells nothing.
                let Some((u, p)) = found else {
                    let _ = kagi_console::password::verify(password, dummy_phc());
                    return Err(SignInError::Failed);
                };
                if !kagi_console::password::verify(password, &p.password_phc) {
                    return Err(SignInError::Failed);
                }
                if !enabled_mfa_devices(store.as_ref(), &u.name)?.is_empty() {
                    return Err(SignInError::MfaRequired);
                }
                self.mint(
                    &account,
                    Principal::User {
                        name: u.name,
                        id: u.id,
                        path: u.path,
                    },
                    USER_SESSION_SECS,
                    source_ip,
                    false,
                    p.reset_required,
                )
            }
        }
    }
}

/// The account a console sign-in (or switch role) names: `text` is a 12-digit id of one of the
/// store's active accounts ([`Table::Accounts`]), or an account alias (IAM's, unique across
/// accounts: the store-wide index [`crate::accounts::account_of_alias`]; matched
/// case-insensitively, as aliases are lower case). One store-wide read or two.
pub fn account_for_sign_in(state: &AppState, text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 63 {
        return None;
    }
    state
        .store(GLOBAL)
        .view(|tx| {
            let id = if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
                text.to_owned()
            } else {
                match crate::accounts::account_of_alias(tx, &text.to_ascii_lowercase())? {
                    Some(id) => id,
                    None => return Ok(None),
                }
            };
            let active = crate::accounts::record(tx, &id)?.is_some_and(|r| r.is_active());
            Ok(active.then_some(id))
        })
        .ok()
        .flatten()
}

/// Serial numbers of the MFA devices enabled for `user`.
fn enabled_mfa_devices(store: &dyn Store, user: &str) -> Result<Vec<String>, SignInError> {
    let devices = store
        .view(|tx| tx.scan_json::<crate::model::MfaDevice>(Table::MfaDevices, ""))
        .map_err(|_| SignInError::Failed)?;
    Ok(devices
        .into_iter()
        .filter(|(_, d)| {
            d.enabled.is_some()
                && d.user
                    .as_deref()
                    .is_some_and(|x| name_key(x) == name_key(user))
        })
        .map(|(_, d)| d.serial)
        .collect())
}

/// The hash of a random throwaway password, verified against when the user or profile does not
/// exist so that a failed sign-in costs the same either way.
fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| kagi_console::password::hash(&kagi_console::password::random_password()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Session, SessionKind};

    /// A sealed session token as STS issues them, for a session of `kind` expiring at `expires`.
    fn token(
        state: &AppState,
        kind: SessionKind,
        console: bool,
        expires: i64,
    ) -> (String, String, String) {
        let akid = crate::ids::access_key_id(true, &state.bootstrap_account);
        let secret = crate::ids::secret_access_key();
        let s = Session {
            access_key_id: akid.clone(),
            secret_sealed: state.sealer.seal_str("session-secret", &secret),
            kind,
            issued: expires - 3600,
            expires,
            mfa: false,
            console,
            session_policies: Vec::new(),
            has_session_policy: false,
            tags: Vec::new(),
            source_identity: None,
            account: String::new(),
        };
        state.sessions.put(&s, expires - 3600).unwrap();
        let t = state.sealer.seal_token(&serde_json::to_vec(&s).unwrap());
        (akid, secret, t)
    }

    #[test]
    fn federate_refuses_expired_wrong_and_get_session_token_credentials() {
        let built = crate::build(&crate::ServerConfig::in_memory()).unwrap();
        let host = ConsoleHost::new(built.state.clone());
        let now = crate::ids::now_secs();
        // A console session of the root: accepted while valid, with the root's ARN.
        let (akid, secret, tok) = token(&built.state, SessionKind::Root, true, now + 600);
        let c = host.federate(&akid, &secret, &tok, None).unwrap();
        assert_eq!(
            c.arn,
            format!("arn:aws:iam::{}:root", built.state.bootstrap_account)
        );
        assert_eq!(c.expires, now + 600);
        // The same credentials one second past their expiry: refused.
        let (akid, secret, tok) = token(&built.state, SessionKind::Root, true, now - 1);
        let e = host.federate(&akid, &secret, &tok, None).unwrap_err();
        assert_eq!(e, "The credentials have expired.");
        // A wrong secret, another key's token, a long-term key: refused, secret never echoed.
        let (akid, secret, tok) = token(&built.state, SessionKind::Root, true, now + 600);
        let last = if secret.ends_with('x') { "y" } else { "x" };
        let wrong = format!("{}{last}", &secret[..secret.len() - 1]);
        let e = host.federate(&akid, &wrong, &tok, None).unwrap_err();
        assert!(!e.contains(&secret) && !e.contains(&wrong));
        let (other, _, _) = token(&built.state, SessionKind::Root, true, now + 600);
        assert!(host.federate(&other, &secret, &tok, None).is_err());
        assert!(host.federate("AKIAEXAMPLE", &secret, &tok, None).is_err());
        assert!(host.federate(&akid, &secret, "garbage", None).is_err());
        // GetSessionToken credentials (not a console session, not a role): refused, as on AWS.
        let (akid, secret, tok) = token(&built.state, SessionKind::Root, false, now + 600);
        assert!(
            host.federate(&akid, &secret, &tok, None)
                .unwrap_err()
                .contains("AssumeRole")
        );
    }
}
