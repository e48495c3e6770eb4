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
use crate::store::{AccountStore, Kv, Store};
use cache::{KeyCache, PolicyCache};
use std::net::IpAddr;
use std::sync::Arc;

pub struct AppState {
    /// The whole store; handlers see one account of it ([`Ctx::store`], [`AppState::store`]).
    pub kv: Arc<dyn Kv>,
    pub sealer: Sealer,
    /// The account created at the first start (the one whose root credentials kagi writes
    /// out); keys issued before access key ids carried their account belong to it.
    pub bootstrap_account: String,
    pub signing_keys: kagi_sigv4::SigningKeyCache,
    pub keys: KeyCache,
    pub policies: PolicyCache,
    /// ECR of every account (see [`crate::registries`]).
    pub ecr: Option<Arc<crate::registries::Registries>>,
    pub sessions: book::SessionBook,
    /// Access keys' last use on this node since the last flush (see `persist_last_used`), by
    /// `ACCOUNT\0KEY-ID`.
    pub last_used: parking_lot::Mutex<std::collections::HashMap<String, crate::model::LastUsed>>,
    /// Roles' last AssumeRole on this node since the last flush, by `ACCOUNT\0lower(name)`.
    pub role_last_used:
        parking_lot::Mutex<std::collections::HashMap<String, crate::model::LastUsed>>,
    /// Where the console keeps its sessions when nodes share the store (`None`: the
    /// console's own memory).
    pub console_state: Option<Arc<dyn kagi_console::state::SharedState>>,
    /// `--public-url`: the address clients reach.
    pub public_url: Option<String>,
    /// OIDC issuers' signing keys (AssumeRoleWithWebIdentity).
    pub jwks: jwks::JwksCache,
    /// The event history's recorder ([`crate::trail`]).
    pub trail: crate::trail::Recorder,
    /// How long an sso-oidc device code waits for approval (`ServerConfig::sso_device_code_secs`).
    pub sso_device_code_secs: i64,
}

impl AppState {
    /// The store as `account` sees it.
    pub fn store(&self, account: &str) -> Arc<dyn Store> {
        Arc::new(AccountStore::new(self.kv.clone(), account))
    }

    /// The store's generation (see [`crate::store::Kv::generation`]): what the caches key by.
    pub fn generation(&self) -> u64 {
        self.kv.generation()
    }

    /// This node's record of the access key's last use since the last flush.
    pub fn last_used(&self, account: &str, key_id: &str) -> Option<crate::model::LastUsed> {
        self.last_used
            .lock()
            .get(&format!("{account}\0{key_id}"))
            .cloned()
    }

    /// When the access key (of `account`) was last used, by any node: this node's record since
    /// its last flush, the shared record ([`Table::LastUsed`](crate::store::Table::LastUsed)),
    /// or what the key's row kept from versions before that table; the latest of them.
    pub fn key_last_used(
        &self,
        account: &str,
        key: &crate::model::AccessKey,
    ) -> Option<crate::model::LastUsed> {
        latest([
            self.last_used(account, &key.id),
            self.shared_last_used(account, &format!("key\0{}", key.id)),
            key.last_used.clone(),
        ])
    }

    /// [`AppState::key_last_used`] inside a transaction that is already open (a nested read
    /// of the store from inside one would wait on itself).
    pub fn key_last_used_in(
        &self,
        account: &str,
        tx: &dyn crate::store::Tx,
        key: &crate::model::AccessKey,
    ) -> anyhow::Result<Option<crate::model::LastUsed>> {
        use crate::store::{Table, TxExt};
        Ok(latest([
            self.last_used(account, &key.id),
            tx.get_json::<crate::model::LastUsed>(Table::LastUsed, &format!("key\0{}", key.id))?,
            key.last_used.clone(),
        ]))
    }

    fn role_record(&self, account: &str, name: &str) -> Option<crate::model::LastUsed> {
        self.role_last_used
            .lock()
            .get(&format!("{account}\0{name}"))
            .cloned()
    }

    /// When the role was last assumed, by any node (as [`AppState::key_last_used`]).
    pub fn role_last_used_of(
        &self,
        account: &str,
        role: &crate::model::Role,
    ) -> Option<crate::model::LastUsed> {
        let name = crate::store::name_key(&role.name);
        latest([
            self.role_record(account, &name),
            self.shared_last_used(account, &format!("role\0{name}")),
            role.last_used.clone(),
        ])
    }

    /// [`AppState::role_last_used_of`] inside a transaction that is already open.
    pub fn role_last_used_in(
        &self,
        account: &str,
        tx: &dyn crate::store::Tx,
        role: &crate::model::Role,
    ) -> anyhow::Result<Option<crate::model::LastUsed>> {
        use crate::store::{Table, TxExt};
        let name = crate::store::name_key(&role.name);
        Ok(latest([
            self.role_record(account, &name),
            tx.get_json::<crate::model::LastUsed>(Table::LastUsed, &format!("role\0{name}"))?,
            role.last_used.clone(),
        ]))
    }

    /// Records that `account`'s role `name` was assumed now (flushed with the key records).
    pub fn note_role_use(&self, account: &str, name: &str, used: crate::model::LastUsed) {
        self.role_last_used
            .lock()
            .insert(format!("{account}\0{}", crate::store::name_key(name)), used);
    }

    fn shared_last_used(&self, account: &str, key: &str) -> Option<crate::model::LastUsed> {
        use crate::store::{StoreExt, Table, TxExt};
        self.store(account)
            .view(|tx| tx.get_json::<crate::model::LastUsed>(Table::LastUsed, key))
            .ok()
            .flatten()
    }

    /// Merges this node's last-use records into the shared ones (the latest wins; each in its
    /// account's scope) and forgets them here: every [`LAST_USED_FLUSH`] and at shutdown.
    /// These rows do not change the cache generation, so a busy key costs every node nothing.
    pub fn persist_last_used(&self) -> anyhow::Result<()> {
        use crate::store::{Durability, Table, TxExt};
        // (account, row key, record, kind): kind 'k' for keys, 'r' for roles.
        let split = |k: String, kind: char, l: crate::model::LastUsed| {
            let (account, rest) = k.split_once('\0').unwrap_or(("", &k));
            let row = if kind == 'k' {
                format!("key\0{rest}")
            } else {
                format!("role\0{rest}")
            };
            (account.to_owned(), row, l, kind)
        };
        let mut records: Vec<(String, String, crate::model::LastUsed, char)> =
            std::mem::take(&mut *self.last_used.lock())
                .into_iter()
                .map(|(k, v)| split(k, 'k', v))
                .collect();
        records.extend(
            std::mem::take(&mut *self.role_last_used.lock())
                .into_iter()
                .map(|(k, v)| split(k, 'r', v)),
        );
        if records.is_empty() {
            return Ok(());
        }
        let written = self.kv.transaction(Durability::Full, &mut |raw| {
            for (account, k, l, _) in &records {
                crate::store::in_account(raw, account, |tx| {
                    let newer = tx
                        .get_json::<crate::model::LastUsed>(Table::LastUsed, k)?
                        .is_none_or(|old| old.date <= l.date);
                    if newer {
                        tx.put_json(Table::LastUsed, k, l)?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        });
        if written.is_err() {
            // Kept for the next flush (unless a newer use replaced them meanwhile).
            for (account, k, l, kind) in records {
                let id = k.split_once('\0').map(|(_, r)| r).unwrap_or("");
                let map = if kind == 'k' {
                    &self.last_used
                } else {
                    &self.role_last_used
                };
                map.lock().entry(format!("{account}\0{id}")).or_insert(l);
            }
        }
        written
    }

    pub(crate) fn note_use(
        &self,
        account: &str,
        key_id: &str,
        service: &str,
        region: &str,
        now: i64,
    ) {
        if key_id.starts_with("AKIA") {
            let mut m = self.last_used.lock();
            let k = format!("{account}\0{key_id}");
            match m.get_mut(&k) {
                Some(l) if l.date == now && l.service == service => {}
                _ => {
                    m.insert(
                        k,
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
    /// The caller's account's store: what IAM and STS handlers read and write.
    pub store: Arc<dyn Store>,
    pub now: i64,
    pub region: String,
    pub source_ip: IpAddr,
    pub request_id: String,
}

impl Ctx<'_> {
    /// The caller's account id (whose IAM the handlers serve).
    pub fn account(&self) -> &str {
        &self.caller.account_id
    }
}
