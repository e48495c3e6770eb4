//! kagi-console's [`kagi_console::Backend`], implemented by the server.
//!
//! * [`Backend::invoke`](kagi_console::Backend::invoke) is [`crate::app::invoke`]: the caller is
//!   resolved from the console session's access key id, then the API pipeline runs.
//! * Sign-in checks the root password (argon2id PHC in [`Table::Meta`] under
//!   [`ROOT_PASSWORD_KEY`]) or the user's login profile ([`crate::iam::login`]) and mints a console
//!   session with [`crate::sts::console_session`]: root 1 hour (as GetSessionToken for root),
//!   IAM users 12 hours.
//! * The root password comes from `KAGI_ROOT_PASSWORD` (set at every start) or, with a data
//!   directory and nothing set yet, is generated on first start and written to
//!   [`ROOT_PASSWORD_FILE`] (0600) beside the root credentials; only its hash is stored.

use crate::app::{AppState, Ctx};
use crate::auth::{Caller, Principal};
use crate::model::User;
use crate::store::{Store, StoreExt, Table, TxExt, name_key};
use kagi_console::{Backend, CallError, Credentials, SignInError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

pub const ROOT_PASSWORD_KEY: &str = "console-root-password";
pub const ROOT_PASSWORD_FILE: &str = "root-password";
const ROOT_SESSION_SECS: i64 = 3600;
const USER_SESSION_SECS: i64 = 12 * 3600;

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

    fn mint(
        &self,
        principal: Principal,
        secs: i64,
        source_ip: IpAddr,
    ) -> Result<Credentials, SignInError> {
        let caller = Caller {
            principal,
            account_id: self.state.account_id.clone(),
            access_key_id: String::new(),
            session: None,
        };
        let ctx = Ctx {
            state: &self.state,
            caller: &caller,
            now: crate::ids::now_secs(),
            region: "us-east-1".into(),
            source_ip,
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        match crate::sts::console_session(&ctx, secs) {
            Ok((_, session)) => Ok(Credentials {
                access_key_id: session.access_key_id,
                arn: caller.arn(),
                expires: session.expires,
            }),
            Err(e) => Err(SignInError::Unavailable(e.message)),
        }
    }
}

impl Backend for ConsoleHost {
    fn account_id(&self) -> String {
        self.state.account_id.clone()
    }

    fn invoke(
        &self,
        access_key_id: &str,
        source_ip: IpAddr,
        service: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, CallError> {
        crate::app::invoke(
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

    fn sign_in(
        &self,
        user_name: Option<&str>,
        password: &str,
        source_ip: IpAddr,
    ) -> Result<Credentials, SignInError> {
        let store = &self.state.store;
        match user_name {
            None => {
                let stored: Option<RootPassword> = store
                    .view(|tx| tx.get_json(Table::Meta, ROOT_PASSWORD_KEY))
                    .map_err(|_| SignInError::Failed)?;
                let Some(stored) = stored else {
                    return Err(SignInError::Unavailable(
                        "The root user has no console password. Set KAGI_ROOT_PASSWORD and restart kagi serve.".into(),
                    ));
                };
                if !kagi_console::password::verify(password, &stored.phc) {
                    return Err(SignInError::Failed);
                }
                self.mint(Principal::Root, ROOT_SESSION_SECS, source_ip)
            }
            Some(name) => {
                let found = store
                    .view(|tx| {
                        let u: Option<User> = tx.get_json(Table::Users, &name_key(name))?;
                        let p = crate::iam::login::load_profile(tx, name)?;
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
                self.mint(
                    Principal::User {
                        name: u.name,
                        id: u.id,
                        path: u.path,
                    },
                    USER_SESSION_SECS,
                    source_ip,
                )
            }
        }
    }
}

/// The hash of a random throwaway password, verified against when the user or profile does not
/// exist so that a failed sign-in costs the same either way.
fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| kagi_console::password::hash(&kagi_console::password::random_password()))
}
