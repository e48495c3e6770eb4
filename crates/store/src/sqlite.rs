//! The SQLite [`Kv`]: one database file (`DATA_DIR/kagi.db`) in WAL mode, or `:memory:`.
//!
//! Two connections to a file: one writer behind a mutex (SQLite has one writer anyway) and one
//! reader, so that a write transaction (the STS session writer's batches, a checkpoint) never
//! holds up requests that only read. WAL gives every read transaction a consistent snapshot
//! of everything committed before it began. `synchronous=FULL` makes each commit durable
//! before `transaction` returns. An in-memory store has only the one connection. Write
//! transactions begin `IMMEDIATE` (they take the write lock first), so they never conflict:
//! SQLite never reports [`super::StoreError::Conflict`].
//!
//! Schema (version 3; 4 to 8 added tables): every table is `(account TEXT, k TEXT, doc TEXT, PRIMARY KEY (account,
//! k)) WITHOUT ROWID` except the STS sessions, which arrive at tens of thousands per second with
//! random `ASIA…` keys: they live in a rowid table (documents appended in arrival order, so a
//! batch dirties a few sequential pages) with a unique index on (account, k) (small entries, so
//! the random inserts stay in cache). Older databases are migrated in one transaction when
//! opened: version 1 kept sessions `WITHOUT ROWID`, version 2 had no account column (its rows
//! all belong to the account its `meta` table names; that record is also copied to the
//! store-wide scope, account `""`).

use super::{Durability, GLOBAL, Kv, RawTx, StoreError, Table, prefix_end};
use anyhow::{Context, Result};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// A second connection for [`Kv::read`] (file databases only).
    reader: Option<Mutex<Connection>>,
    generation: AtomicU64,
    on_disk: bool,
}

/// 4: kagi-ecr's tables (created empty; `kagi_ecr::store` imports an old `ecr.sqlite`).
/// 8: `last_accessed_jobs` (IAM's service-last-accessed reports).
pub const SCHEMA_VERSION: i64 = 8;
/// Page cache per connection, in KiB (SQLite grows it only as pages are used).
const CACHE_KIB: i64 = 32 * 1024;

thread_local! {
    /// The stores this thread has a transaction open on.
    static OPEN: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks a transaction open on this thread for its lifetime. A second one on the same store
/// from inside the first would wait forever on a connection the first holds (or, with two
/// connections, read around the first's writes): it is refused instead, as a bug to fix
/// (pass the open transaction down).
struct Open(usize);

impl Open {
    fn enter(store: &SqliteStore) -> Result<Open> {
        let id = store as *const SqliteStore as usize;
        OPEN.with(|o| {
            let mut o = o.borrow_mut();
            if o.contains(&id) {
                return Err(anyhow::Error::new(StoreError::Failed(
                    "a transaction was opened inside another on the same store".into(),
                )));
            }
            o.push(id);
            Ok(Open(id))
        })
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.with(|o| o.borrow_mut().retain(|x| *x != self.0));
    }
}

fn table_ddl(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (account TEXT NOT NULL, k TEXT NOT NULL, doc TEXT NOT NULL,
         PRIMARY KEY (account, k)) WITHOUT ROWID;"
    )
}

fn sessions_ddl(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY, account TEXT NOT NULL, k TEXT NOT NULL, doc TEXT NOT NULL);
         CREATE UNIQUE INDEX IF NOT EXISTS {name}_k ON {name} (account, k);"
    )
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut store = Self::init(conn, true)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening {} for reading", path.display()))?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        reader.pragma_update(None, "cache_size", -CACHE_KIB)?;
        store.reader = Some(Mutex::new(reader));
        Ok(store)
    }

    /// Writes a consistent copy of the database at `path` to `to` (a new file) while other
    /// connections may be writing: SQLite's `VACUUM INTO`, one read transaction.
    pub fn snapshot(path: &Path, to: &Path) -> Result<()> {
        let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", path.display()))?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        let to = to.to_str().context("the snapshot's path must be UTF-8")?;
        c.execute("VACUUM INTO ?1", [to])
            .with_context(|| format!("snapshotting {} into {to}", path.display()))?;
        Ok(())
    }

    pub fn in_memory() -> Result<SqliteStore> {
        Self::init(Connection::open_in_memory()?, false)
    }

    fn init(mut conn: Connection, on_disk: bool) -> Result<SqliteStore> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "database schema version {version} is newer than this kagi ({SCHEMA_VERSION})"
            );
        }
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if (1..3).contains(&version) {
            migrate_to_v3(&txn, version)?;
        }
        for t in Table::ALL {
            if t == Table::Sessions {
                txn.execute_batch(&sessions_ddl(t.name()))?;
            } else {
                txn.execute_batch(&table_ddl(t.name()))?;
            }
        }
        if (1..3).contains(&version) {
            build_indexes(&txn)?;
        }
        txn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        txn.commit()?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            reader: None,
            generation: AtomicU64::new(1),
            on_disk,
        })
    }

    fn write(
        &self,
        conn: &mut Connection,
        f: &mut dyn FnMut(&mut dyn RawTx) -> Result<()>,
    ) -> Result<()> {
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut tx = SqlTx {
            conn: &txn,
            touched_non_session: false,
        };
        f(&mut tx)?; // dropping `txn` on error rolls back
        let touched = tx.touched_non_session;
        txn.commit().map_err(failed)?;
        if touched {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }
}

/// Versions 1 and 2 → 3: the account column (and, from 1, the sessions' rowid table).
fn migrate_to_v3(txn: &rusqlite::Transaction, version: i64) -> Result<()> {
    let meta: Option<String> = txn
        .query_row("SELECT doc FROM meta WHERE k = 'account'", [], |r| r.get(0))
        .optional()?;
    let account = match &meta {
        Some(doc) => serde_json::from_str::<serde_json::Value>(doc)?["account_id"]
            .as_str()
            .context("the meta table's account record has no account_id")?
            .to_owned(),
        None => String::new(),
    };
    for t in Table::ALL {
        let name = t.name();
        let exists: bool = txn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        if !exists {
            continue;
        }
        let ddl = if t == Table::Sessions {
            sessions_ddl(&format!("{name}_v3"))
        } else {
            table_ddl(&format!("{name}_v3"))
        };
        let order = if t == Table::Sessions && version >= 2 {
            "ORDER BY id"
        } else {
            ""
        };
        txn.execute_batch(&ddl)?;
        txn.execute(
            &format!(
                "INSERT INTO {name}_v3 (account, k, doc) SELECT ?1, k, doc FROM {name} {order}"
            ),
            params![account],
        )?;
        txn.execute_batch(&format!(
            "DROP TABLE {name}; ALTER TABLE {name}_v3 RENAME TO {name};"
        ))?;
        if t == Table::Sessions {
            txn.execute_batch(&format!(
                "DROP INDEX IF EXISTS {name}_v3_k; DROP INDEX IF EXISTS {name}_k;
                 CREATE UNIQUE INDEX {name}_k ON {name} (account, k);"
            ))?;
        }
    }
    if let Some(doc) = meta {
        txn.execute(
            "INSERT OR REPLACE INTO meta (account, k, doc) VALUES (?1, 'account', ?2)",
            params![GLOBAL, doc],
        )?;
    }
    Ok(())
}

/// Index rows ([`super::index_entries`]) for every row written before the store kept them.
fn build_indexes(txn: &rusqlite::Transaction) -> Result<()> {
    for t in [Table::GroupMembers, Table::AccessKeys, Table::MfaDevices] {
        let rows: Vec<(String, String, String)> = txn
            .prepare(&format!("SELECT account, k, doc FROM {}", t.name()))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (account, k, doc) in rows {
            for (it, ik) in super::index_entries(t, &k, &doc) {
                txn.execute(
                    &format!(
                        "INSERT OR REPLACE INTO {} (account, k, doc) VALUES (?1, ?2, ?3)",
                        it.name()
                    ),
                    params![account, ik, serde_json::to_string(&k)?],
                )?;
            }
        }
    }
    Ok(())
}

fn failed(e: rusqlite::Error) -> anyhow::Error {
    anyhow::Error::new(StoreError::Failed(e.to_string()))
}

struct SqlTx<'c> {
    conn: &'c Connection,
    touched_non_session: bool,
}

impl RawTx for SqlTx<'_> {
    fn get(&self, table: Table, account: &str, key: &str) -> Result<Option<String>> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT doc FROM {} WHERE account = ?1 AND k = ?2",
                table.name()
            ))
            .map_err(failed)?;
        st.query_row(params![account, key], |r| r.get(0))
            .optional()
            .map_err(failed)
    }

    fn put(&mut self, table: Table, account: &str, key: &str, doc: &str) -> Result<()> {
        if !table.is_ephemeral() {
            self.touched_non_session = true;
        }
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "INSERT INTO {} (account, k, doc) VALUES (?1, ?2, ?3)
                 ON CONFLICT(account, k) DO UPDATE SET doc = excluded.doc",
                table.name()
            ))
            .map_err(failed)?;
        st.execute(params![account, key, doc]).map_err(failed)?;
        Ok(())
    }

    fn delete(&mut self, table: Table, account: &str, key: &str) -> Result<bool> {
        if !table.is_ephemeral() {
            self.touched_non_session = true;
        }
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE account = ?1 AND k = ?2",
                table.name()
            ))
            .map_err(failed)?;
        Ok(st.execute(params![account, key]).map_err(failed)? > 0)
    }

    fn scan_page(
        &self,
        table: Table,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        // Keys compare as SQLite compares TEXT (memcmp of UTF-8), as Rust compares `str`.
        let from = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let end = prefix_end(prefix).filter(|_| !prefix.is_empty());
        let lower = if after.is_some_and(|a| a >= prefix) {
            ">"
        } else {
            ">="
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT k, doc FROM {} WHERE account = ?1 AND k {lower} ?2 {} ORDER BY k LIMIT ?4",
            table.name(),
            if end.is_some() {
                "AND k < ?3"
            } else {
                "AND ?3 IS NULL"
            },
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(failed)?;
        let rows = st
            .query_map(params![account, from, end, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(failed)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(failed)?;
        Ok(rows)
    }
}

impl Kv for SqliteStore {
    fn transaction(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn RawTx) -> Result<()>,
    ) -> Result<()> {
        let _open = Open::enter(self)?;
        let mut conn = self.conn.lock();
        if durability == Durability::Full || !self.on_disk {
            return self.write(&mut conn, f);
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = self.write(&mut conn, f);
        conn.pragma_update(None, "synchronous", "FULL")?;
        result
    }

    fn read(&self, f: &mut dyn FnMut(&dyn RawTx) -> Result<()>) -> Result<()> {
        let _open = Open::enter(self)?;
        let Some(reader) = &self.reader else {
            let conn = self.conn.lock();
            let tx = SqlTx {
                conn: &conn,
                touched_non_session: false,
            };
            return f(&tx);
        };
        let mut conn = reader.lock();
        // A read transaction: every statement in `f` sees the same snapshot.
        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
        let tx = SqlTx {
            conn: &txn,
            touched_non_session: false,
        };
        let r = f(&tx);
        txn.finish()?;
        r
    }

    fn purge_expired(&self, table: Table, expired_before: i64) -> Result<usize> {
        let conn = self.conn.lock();
        let n = conn
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE json_extract(doc, '$.expires') < ?1",
                table.name()
            ))?
            .execute(params![expired_before])?;
        Ok(n)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountStore, Store, StoreExt};
    use std::sync::Arc;

    #[test]
    fn conformance_in_memory() {
        crate::conformance::run(Arc::new(SqliteStore::in_memory().unwrap()));
    }

    #[test]
    fn conformance_on_a_file() {
        let d = tempfile::tempdir().unwrap();
        crate::conformance::run(Arc::new(
            SqliteStore::open(&d.path().join("kagi.db")).unwrap(),
        ));
    }

    fn account(kv: SqliteStore) -> AccountStore {
        AccountStore::new(Arc::new(kv), "123456789012")
    }

    /// Creates a database with an older schema: `version` 1 (every table WITHOUT ROWID) or
    /// 2 (sessions in a rowid table), without account columns, holding `rows`.
    fn old_database(p: &Path, version: i64, rows: &[(&str, &str, &str)]) {
        let c = Connection::open(p).unwrap();
        for t in Table::ALL {
            if t == Table::Sessions && version == 2 {
                c.execute_batch(
                    "CREATE TABLE sts_sessions (id INTEGER PRIMARY KEY, k TEXT NOT NULL, doc TEXT NOT NULL);
                     CREATE UNIQUE INDEX sts_sessions_k ON sts_sessions (k);",
                )
                .unwrap();
            } else {
                c.execute_batch(&format!(
                    "CREATE TABLE {} (k TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;",
                    t.name()
                ))
                .unwrap();
            }
        }
        for (table, k, doc) in rows {
            c.execute(
                &format!("INSERT INTO {table} (k, doc) VALUES (?1, ?2)"),
                params![k, doc],
            )
            .unwrap();
        }
        c.pragma_update(None, "user_version", version).unwrap();
    }

    #[test]
    fn older_databases_are_migrated_into_their_account() {
        for version in [1, 2] {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("kagi.db");
            let meta = r#"{"account_id":"123456789012","root_access_key_id":"AKIAX","created":1}"#;
            old_database(
                &p,
                version,
                &[
                    ("sts_sessions", "ASIAKEEP", r#"{"expires":9}"#),
                    ("users", "alice", "{}"),
                    ("meta", "account", meta),
                    ("group_members", "devs\0alice", "{}"),
                    ("access_keys", "AKIAOLD", r#"{"user":"alice"}"#),
                ],
            );
            let kv = SqliteStore::open(&p).unwrap();
            let s = account(kv);
            assert_eq!(
                s.view(|tx| tx.get(Table::Sessions, "ASIAKEEP"))
                    .unwrap()
                    .as_deref(),
                Some(r#"{"expires":9}"#),
                "v{version}"
            );
            assert!(
                s.view(|tx| tx.get(Table::Users, "alice"))
                    .unwrap()
                    .is_some()
            );
            let global = AccountStore::new(s.kv().clone(), crate::GLOBAL);
            assert_eq!(
                global
                    .view(|tx| tx.get(Table::Meta, "account"))
                    .unwrap()
                    .as_deref(),
                Some(meta),
                "the account record is also store-wide"
            );
            s.write(|tx| tx.put(Table::Sessions, "ASIAKEEP", "{}"))
                .unwrap();
            s.write(|tx| tx.put(Table::Sessions, "ASIANEXT", "{}"))
                .unwrap();
            drop(s);
            let c = Connection::open(&p).unwrap();
            let v: i64 = c
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(v, SCHEMA_VERSION);
            let n: i64 = c
                .query_row(
                    "SELECT count(*) FROM sts_sessions WHERE k = 'ASIAKEEP'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "upsert kept one row per key");
            drop(c);
            // Opening again leaves a migrated database alone.
            let s = account(SqliteStore::open(&p).unwrap());
            assert!(
                s.view(|tx| tx.get(Table::Users, "alice"))
                    .unwrap()
                    .is_some()
            );
        }
    }

    #[test]
    fn an_empty_old_database_migrates_to_an_empty_store() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.db");
        old_database(&p, 2, &[]);
        let s = account(SqliteStore::open(&p).unwrap());
        assert!(s.view(|tx| tx.scan(Table::Users, "")).unwrap().is_empty());
    }

    #[test]
    fn nested_transactions_are_refused() {
        crate::conformance::nested_transactions_are_refused(
            &(Arc::new(SqliteStore::in_memory().unwrap()) as Arc<dyn Kv>),
        );
        let d = tempfile::tempdir().unwrap();
        crate::conformance::nested_transactions_are_refused(
            &(Arc::new(SqliteStore::open(&d.path().join("n.db")).unwrap()) as Arc<dyn Kv>),
        );
    }

    #[test]
    fn file_store_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.db");
        account(SqliteStore::open(&p).unwrap())
            .write(|tx| tx.put(Table::Users, "alice", "{\"a\":1}"))
            .unwrap();
        let s = account(SqliteStore::open(&p).unwrap());
        assert_eq!(
            s.view(|tx| tx.get(Table::Users, "alice"))
                .unwrap()
                .as_deref(),
            Some("{\"a\":1}")
        );
        let _ = s.generation();
    }

    /// Version 3 (before kagi-ecr's tables): opened, it gains the tables and keeps its rows.
    #[test]
    fn a_version_3_database_gains_the_ecr_tables() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.db");
        account(SqliteStore::open(&p).unwrap())
            .write(|tx| tx.put(Table::Users, "alice", "{}"))
            .unwrap();
        {
            let c = Connection::open(&p).unwrap();
            for t in Table::ALL {
                if t >= Table::EcrRepos {
                    c.execute_batch(&format!("DROP TABLE {}", t.name()))
                        .unwrap();
                }
            }
            c.pragma_update(None, "user_version", 3).unwrap();
        }
        let s = account(SqliteStore::open(&p).unwrap());
        assert!(
            s.view(|tx| tx.get(Table::Users, "alice"))
                .unwrap()
                .is_some()
        );
        s.write(|tx| tx.put(Table::EcrBlobs, "sha256:x", "{}"))
            .unwrap();
        let v: i64 = Connection::open(&p)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }
}
