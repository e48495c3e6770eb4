//! The console's [`SharedState`] in the store, for a server that runs as several nodes: every
//! node reads the same console sessions, pending MFA sign-ins, lockout counts and federation
//! sign-in tokens. Rows live in [`Table::Console`] (store-wide scope), each document sealed with
//! the data key (a session can hold an MFA seed being assigned) beside its expiry in clear, so
//! that expired rows are purged with the STS session records.

use crate::crypto::Sealer;
use crate::store::{AccountStore, GLOBAL, Kv, StoreExt, Table, TxExt};
use kagi_console::state::SharedState;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub struct StoreState {
    store: AccountStore,
    sealer: Sealer,
}

#[derive(Serialize, Deserialize)]
struct Row {
    expires: i64,
    sealed: String,
}

const PURPOSE: &str = "console-state";

impl StoreState {
    pub fn new(kv: Arc<dyn Kv>, sealer: Sealer) -> StoreState {
        StoreState {
            store: AccountStore::new(kv, GLOBAL),
            sealer,
        }
    }

    fn open(&self, row: Option<Row>, now: i64) -> Option<String> {
        let row = row.filter(|r| r.expires > now)?;
        self.sealer.open_str(PURPOSE, &row.sealed)
    }
}

fn key(kind: &str, key: &str) -> String {
    format!("{kind}\0{key}")
}

impl SharedState for StoreState {
    fn get(&self, kind: &str, k: &str, now: i64) -> Option<String> {
        let row: Option<Row> = self
            .store
            .view(|tx| tx.get_json(Table::Console, &key(kind, k)))
            .ok()?;
        self.open(row, now)
    }

    fn update(
        &self,
        kind: &str,
        k: &str,
        now: i64,
        f: kagi_console::state::Change<'_>,
    ) -> Option<String> {
        let k = key(kind, k);
        self.store
            .write(|tx| {
                let before = self.open(tx.get_json::<Row>(Table::Console, &k)?, now);
                match f(before.as_deref()) {
                    Some((doc, expires)) => {
                        let row = Row {
                            expires,
                            sealed: self.sealer.seal_str(PURPOSE, &doc),
                        };
                        tx.put_json(Table::Console, &k, &row)?;
                    }
                    None => {
                        tx.delete(Table::Console, &k)?;
                    }
                }
                Ok(before)
            })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "console state could not be written");
                None
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforms_on_sqlite() {
        let kv: Arc<dyn Kv> = Arc::new(crate::store::sqlite::SqliteStore::in_memory().unwrap());
        let s = StoreState::new(kv.clone(), Sealer::random());
        kagi_console::state::conformance(&s);
        s.update("session", "secret-holder", 0, &mut |_| {
            Some(("MFA-SEED-IN-CLEAR".into(), i64::MAX))
        });
        let rows = AccountStore::new(kv, GLOBAL)
            .view(|tx| tx.scan(Table::Console, ""))
            .unwrap();
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|(_, d)| !d.contains("MFA-SEED")),
            "sealed at rest"
        );
    }
}
