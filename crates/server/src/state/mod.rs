//! The server's state, below every handler: [`AppState`] (the store, the sealer, caches, the
//! session book, in-memory "last used" data) and [`Ctx`], what one request's handler gets.
//!
//! Everything that handles a request ([`crate::auth`], [`crate::authz`], [`crate::iam`],
//! [`crate::sts`], the hosts of ECR and the console, [`crate::dispatch`], [`crate::http`])
//! depends on this module; this module depends on none of them (ARCHITECTURE.md draws the graph).

pub mod book;
pub mod cache;
pub mod jwks;

use crate::caller::Caller;
use crate::crypto::Sealer;
use crate::store::Store;
use cache::{KeyCache, PolicyCache};
use std::net::IpAddr;
use std::sync::Arc;

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub sealer: Sealer,
    pub account_id: String,
    pub signing_keys: kagi_sigv4::SigningKeyCache,
    pub keys: KeyCache,
    pub policies: PolicyCache,
    pub ecr: Option<Arc<kagi_ecr::Ecr>>,
    pub sessions: book::SessionBook,
    /// Access keys' last use (kept in memory; see `GetAccessKeyLastUsed`).
    pub last_used: parking_lot::Mutex<std::collections::HashMap<String, crate::model::LastUsed>>,
    /// Roles' last AssumeRole, by lower-cased role name (kept in memory, persisted at shutdown).
    pub role_last_used:
        parking_lot::Mutex<std::collections::HashMap<String, crate::model::LastUsed>>,
    /// Where the console keeps its sessions when nodes share the store (`None`: the
    /// console's own memory).
    pub console_state: Option<Arc<dyn kagi_console::state::SharedState>>,
    /// `--public-url`: the address clients reach.
    pub public_url: Option<String>,
    /// OIDC issuers' signing keys (AssumeRoleWithWebIdentity).
    pub jwks: jwks::JwksCache,
}

impl AppState {
    pub fn last_used(&self, key_id: &str) -> Option<crate::model::LastUsed> {
        self.last_used.lock().get(key_id).cloned()
    }

    /// Writes the in-memory last-use records into the access key rows (at shutdown).
    pub fn persist_last_used(&self) -> anyhow::Result<()> {
        use crate::store::{StoreExt, Table, TxExt};
        let roles: Vec<(String, crate::model::LastUsed)> = self
            .role_last_used
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !roles.is_empty() {
            self.store.write(|tx| {
                for (name, l) in &roles {
                    if let Some(mut r) = tx.get_json::<crate::model::Role>(Table::Roles, name)? {
                        r.last_used = Some(l.clone());
                        tx.put_json(Table::Roles, name, &r)?;
                    }
                }
                Ok(())
            })?;
        }
        let used: Vec<(String, crate::model::LastUsed)> = self
            .last_used
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if used.is_empty() {
            return Ok(());
        }
        self.store.write(|tx| {
            for (id, l) in &used {
                if let Some(mut k) =
                    tx.get_json::<crate::model::AccessKey>(Table::AccessKeys, id)?
                {
                    k.last_used = Some(l.clone());
                    tx.put_json(Table::AccessKeys, id, &k)?;
                }
            }
            Ok(())
        })
    }

    pub(crate) fn note_use(&self, key_id: &str, service: &str, region: &str, now: i64) {
        if key_id.starts_with("AKIA") {
            let mut m = self.last_used.lock();
            match m.get_mut(key_id) {
                Some(l) if l.date == now && l.service == service => {}
                _ => {
                    m.insert(
                        key_id.to_owned(),
                        crate::model::LastUsed {
                            date: now,
                            service: service.to_owned(),
                            region: region.to_owned(),
                        },
                    );
                }
            }
        }
    }
}

/// Per-request context handed to operation handlers.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub now: i64,
    pub region: String,
    pub source_ip: IpAddr,
    pub request_id: String,
}
