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
    /// Access keys' last use on this node since the last flush (see `persist_last_used`).
    pub last_used: parking_lot::Mutex<std::collections::HashMap<String, crate::model::LastUsed>>,
    /// Roles' last AssumeRole on this node since the last flush, by lower-cased role name.
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

    /// When the access key was last used, by any node: this node's record since its last
    /// flush, the shared record ([`Table::LastUsed`](crate::store::Table::LastUsed)), or what
    /// the key's row kept from versions before that table; the latest of them.
    pub fn key_last_used(&self, key: &crate::model::AccessKey) -> Option<crate::model::LastUsed> {
        latest([
            self.last_used(&key.id),
            self.shared_last_used(&format!("key\0{}", key.id)),
            key.last_used.clone(),
        ])
    }

    /// [`AppState::key_last_used`] inside a transaction that is already open (a second one
    /// from inside it would wait for the connection its caller holds).
    pub fn key_last_used_in(
        &self,
        tx: &dyn crate::store::Tx,
        key: &crate::model::AccessKey,
    ) -> Option<crate::model::LastUsed> {
        use crate::store::{Table, TxExt};
        latest([
            self.last_used(&key.id),
            tx.get_json::<crate::model::LastUsed>(Table::LastUsed, &format!("key\0{}", key.id))
                .ok()
                .flatten(),
            key.last_used.clone(),
        ])
    }

    /// When the role was last assumed, by any node (as [`AppState::key_last_used`]).
    pub fn role_last_used_of(&self, role: &crate::model::Role) -> Option<crate::model::LastUsed> {
        let name = crate::store::name_key(&role.name);
        latest([
            self.role_last_used.lock().get(&name).cloned(),
            self.shared_last_used(&format!("role\0{name}")),
            role.last_used.clone(),
        ])
    }

    /// [`AppState::role_last_used_of`] inside a transaction that is already open.
    pub fn role_last_used_in(
        &self,
        tx: &dyn crate::store::Tx,
        role: &crate::model::Role,
    ) -> anyhow::Result<Option<crate::model::LastUsed>> {
        use crate::store::{Table, TxExt};
        let name = crate::store::name_key(&role.name);
        Ok(latest([
            self.role_last_used.lock().get(&name).cloned(),
            tx.get_json::<crate::model::LastUsed>(Table::LastUsed, &format!("role\0{name}"))?,
            role.last_used.clone(),
        ]))
    }

    fn shared_last_used(&self, key: &str) -> Option<crate::model::LastUsed> {
        use crate::store::{StoreExt, Table, TxExt};
        self.store
            .view(|tx| tx.get_json::<crate::model::LastUsed>(Table::LastUsed, key))
            .ok()
            .flatten()
    }

    /// Merges this node's last-use records into the shared ones (the latest wins) and forgets
    /// them here: every [`LAST_USED_FLUSH`] and at shutdown. These rows do not change the cache
    /// generation, so a busy key costs every node nothing.
    pub fn persist_last_used(&self) -> anyhow::Result<()> {
        use crate::store::{StoreExt, Table, TxExt};
        let mut records: Vec<(String, crate::model::LastUsed)> =
            std::mem::take(&mut *self.last_used.lock())
                .into_iter()
                .map(|(k, v)| (format!("key\0{k}"), v))
                .collect();
        records.extend(
            std::mem::take(&mut *self.role_last_used.lock())
                .into_iter()
                .map(|(k, v)| (format!("role\0{k}"), v)),
        );
        if records.is_empty() {
            return Ok(());
        }
        let written = self.store.write(|tx| {
            for (k, l) in &records {
                let newer = tx
                    .get_json::<crate::model::LastUsed>(Table::LastUsed, k)?
                    .is_none_or(|old| old.date <= l.date);
                if newer {
                    tx.put_json(Table::LastUsed, k, l)?;
                }
            }
            Ok(())
        });
        if written.is_err() {
            // Kept for the next flush (unless a newer use replaced them meanwhile).
            for (k, l) in records {
                if let Some(id) = k.strip_prefix("key\0") {
                    self.last_used.lock().entry(id.to_owned()).or_insert(l);
                } else if let Some(name) = k.strip_prefix("role\0") {
                    self.role_last_used
                        .lock()
                        .entry(name.to_owned())
                        .or_insert(l);
                }
            }
        }
        written
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

/// How often a node merges its last-use records into the shared ones: the bound within which
/// every node reports a key's or role's use on another node.
pub const LAST_USED_FLUSH: std::time::Duration = std::time::Duration::from_secs(60);

/// The latest of several last-use records.
fn latest<const N: usize>(
    records: [Option<crate::model::LastUsed>; N],
) -> Option<crate::model::LastUsed> {
    records.into_iter().flatten().max_by_key(|l| l.date)
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
