//! The SQLite [`Store`]: one database file (`DATA_DIR/kagi.db`) in WAL mode, or `:memory:`.
//!
//! One connection behind a mutex: IAM traffic is small and a single writer is what SQLite wants
//! anyway. `synchronous=FULL` makes each commit durable before `transaction` returns.

use super::{Store, Table, Tx};
use anyhow::{Context, Result};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct SqliteStore {
    conn: Mutex<Connection>,
    generation: AtomicU64,
    on_disk: bool,
}

const SCHEMA_VERSION: i64 = 1;

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn, true)
    }

    pub fn in_memory() -> Result<SqliteStore> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(conn: Connection, on_disk: bool) -> Result<SqliteStore> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "database schema version {version} is newer than this kagi ({SCHEMA_VERSION})"
            );
        }
        for t in Table::ALL {
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (k TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;",
                t.name()
            ))?;
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            generation: AtomicU64::new(1),
            on_disk,
        })
    }
}

struct SqlTx<'c> {
    conn: &'c Connection,
    touched_non_session: bool,
}

fn prefix_end(prefix: &str) -> Option<String> {
    // The smallest string greater than every string starting with `prefix`.
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        if let Some(n) = char::from_u32(c as u32 + 1) {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

impl Tx for SqlTx<'_> {
    fn get(&self, table: Table, key: &str) -> Result<Option<String>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT doc FROM {} WHERE k = ?1", table.name()))?;
        Ok(st.query_row(params![key], |r| r.get(0)).optional()?)
    }

    fn put(&mut self, table: Table, key: &str, doc: &str) -> Result<()> {
        if table != Table::Sessions {
            self.touched_non_session = true;
        }
        let mut st = self.conn.prepare_cached(&format!(
            "INSERT INTO {} (k, doc) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET doc = excluded.doc",
            table.name()
        ))?;
        st.execute(params![key, doc])?;
        Ok(())
    }

    fn delete(&mut self, table: Table, key: &str) -> Result<bool> {
        if table != Table::Sessions {
            self.touched_non_session = true;
        }
        let mut st = self
            .conn
            .prepare_cached(&format!("DELETE FROM {} WHERE k = ?1", table.name()))?;
        Ok(st.execute(params![key])? > 0)
    }

    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, String)>> {
        let rows = match prefix_end(prefix) {
            Some(end) if !prefix.is_empty() => {
                let mut st = self.conn.prepare_cached(&format!(
                    "SELECT k, doc FROM {} WHERE k >= ?1 AND k < ?2 ORDER BY k",
                    table.name()
                ))?;
                st.query_map(params![prefix, end], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            }
            _ => {
                let mut st = self
                    .conn
                    .prepare_cached(&format!("SELECT k, doc FROM {} ORDER BY k", table.name()))?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            }
        };
        Ok(rows)
    }
}

impl Store for SqliteStore {
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.conn.lock();
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut tx = SqlTx {
            conn: &txn,
            touched_non_session: false,
        };
        f(&mut tx)?; // dropping `txn` on error rolls back
        let touched = tx.touched_non_session;
        txn.commit()?;
        if touched {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    fn transaction_relaxed(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.conn.lock();
        if !self.on_disk {
            drop(conn);
            return self.transaction(f);
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = (|| {
            let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut tx = SqlTx {
                conn: &txn,
                touched_non_session: false,
            };
            f(&mut tx)?;
            let touched = tx.touched_non_session;
            txn.commit()?;
            if touched {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            Ok(())
        })();
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        let conn = self.conn.lock();
        let tx = SqlTx {
            conn: &conn,
            touched_non_session: false,
        };
        f(&tx)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreExt;

    #[test]
    fn crud_scan_rollback_and_generation() {
        let s = SqliteStore::in_memory().unwrap();
        let g0 = s.generation();
        s.write(|tx| {
            tx.put(Table::Attachments, "user\0alice\0arn:1", "{}")?;
            tx.put(Table::Attachments, "user\0alice\0arn:2", "{}")?;
            tx.put(Table::Attachments, "user\0alicex\0arn:3", "{}")?;
            Ok(())
        })
        .unwrap();
        assert!(s.generation() > g0);
        let rows = s
            .view(|tx| tx.scan(Table::Attachments, "user\0alice\0"))
            .unwrap();
        assert_eq!(rows.len(), 2);
        let err: anyhow::Result<()> = s.write(|tx| {
            tx.put(Table::Users, "bob", "{}")?;
            anyhow::bail!("boom")
        });
        assert!(err.is_err());
        assert_eq!(s.view(|tx| tx.get(Table::Users, "bob")).unwrap(), None);
        let g1 = s.generation();
        s.write(|tx| tx.put(Table::Sessions, "ASIA", "{}")).unwrap();
        assert_eq!(
            s.generation(),
            g1,
            "session writes do not invalidate caches"
        );
        assert!(s.write(|tx| tx.delete(Table::Sessions, "ASIA")).unwrap());
    }

    #[test]
    fn file_store_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.db");
        {
            let s = SqliteStore::open(&p).unwrap();
            s.write(|tx| tx.put(Table::Users, "alice", "{\"a\":1}"))
                .unwrap();
        }
        let s = SqliteStore::open(&p).unwrap();
        assert_eq!(
            s.view(|tx| tx.get(Table::Users, "alice"))
                .unwrap()
                .as_deref(),
            Some("{\"a\":1}")
        );
    }
}
