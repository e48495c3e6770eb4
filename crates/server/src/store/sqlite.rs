//! The SQLite [`Store`]: one database file (`DATA_DIR/kagi.db`) in WAL mode, or `:memory:`.
//!
//! Two connections to a file: one writer behind a mutex (SQLite has one writer anyway) and one
//! reader, so that a write transaction (the STS session writer's batches, a checkpoint) never
//! holds up requests that only read. WAL gives every read transaction a consistent snapshot
//! of everything committed before it began. `synchronous=FULL` makes each commit durable
//! before `transaction` returns. An in-memory store has only the one connection.
//!
//! Schema (version 2): every table is `(k TEXT PRIMARY KEY, doc TEXT) WITHOUT ROWID` except
//! the STS sessions, which arrive at tens of thousands per second with random `ASIA…` keys:
//! they live in a rowid table (documents appended in arrival order, so a batch dirties a few
//! sequential pages) with a unique index on the key (small entries, so the random inserts stay
//! in cache). Version 1 databases are migrated in one transaction when opened.

use super::{Store, Table, Tx};
use anyhow::{Context, Result};
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// A second connection for [`Store::read`] (file databases only).
    reader: Option<Mutex<Connection>>,
    generation: AtomicU64,
    on_disk: bool,
}

const SCHEMA_VERSION: i64 = 2;
/// Page cache per connection, in KiB (SQLite grows it only as pages are used).
const CACHE_KIB: i64 = 32 * 1024;

fn sessions_ddl(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY, k TEXT NOT NULL, doc TEXT NOT NULL);
         CREATE UNIQUE INDEX IF NOT EXISTS {name}_k ON {name} (k);"
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
        for t in Table::ALL {
            if t == Table::Sessions {
                continue;
            }
            txn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (k TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;",
                t.name()
            ))?;
        }
        let sessions = Table::Sessions.name();
        if version == 1 {
            // v1 kept sessions WITHOUT ROWID like every other table.
            txn.execute_batch(&format!(
                "{}
                 INSERT INTO {sessions}_v2 (k, doc) SELECT k, doc FROM {sessions};
                 DROP TABLE {sessions};
                 ALTER TABLE {sessions}_v2 RENAME TO {sessions};
                 DROP INDEX {sessions}_v2_k;
                 CREATE UNIQUE INDEX {sessions}_k ON {sessions} (k);",
                sessions_ddl(&format!("{sessions}_v2"))
            ))?;
        } else {
            txn.execute_batch(&sessions_ddl(sessions))?;
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

    fn purge_sessions(&self, expired_before: i64) -> Result<usize> {
        let conn = self.conn.lock();
        let n = conn
            .prepare_cached(&format!(
                "DELETE FROM {} WHERE json_extract(doc, '$.expires') < ?1",
                Table::Sessions.name()
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
    fn purge_deletes_only_expired_sessions() {
        for s in [
            SqliteStore::in_memory().unwrap(),
            SqliteStore::open(&tempfile::tempdir().unwrap().keep().join("kagi.db")).unwrap(),
        ] {
            s.write(|tx| {
                tx.put(Table::Sessions, "ASIAOLD", r#"{"expires":100}"#)?;
                tx.put(Table::Sessions, "ASIANEW", r#"{"expires":300}"#)?;
                tx.put(Table::Sessions, "ASIANEW", r#"{"expires":301}"#) // upsert
            })
            .unwrap();
            assert_eq!(s.purge_sessions(200).unwrap(), 1);
            assert_eq!(
                s.view(|tx| tx.get(Table::Sessions, "ASIAOLD")).unwrap(),
                None
            );
            assert_eq!(
                s.view(|tx| tx.get(Table::Sessions, "ASIANEW"))
                    .unwrap()
                    .as_deref(),
                Some(r#"{"expires":301}"#)
            );
        }
    }

    #[test]
    fn reader_sees_every_committed_write_and_no_rolled_back_one() {
        let d = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&d.path().join("kagi.db")).unwrap();
        for i in 0..50 {
            s.write(|tx| tx.put(Table::Users, &format!("u{i:02}"), "{}"))
                .unwrap();
            assert_eq!(
                s.view(|tx| tx.scan(Table::Users, "u")).unwrap().len(),
                i + 1
            );
        }
        let _: anyhow::Result<()> = s.write(|tx| {
            tx.put(Table::Users, "zz", "{}")?;
            anyhow::bail!("rolled back")
        });
        assert_eq!(s.view(|tx| tx.get(Table::Users, "zz")).unwrap(), None);
    }

    #[test]
    fn version_1_database_is_migrated() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.db");
        {
            // The v1 schema: every table WITHOUT ROWID.
            let c = Connection::open(&p).unwrap();
            for t in Table::ALL {
                c.execute_batch(&format!(
                    "CREATE TABLE {} (k TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;",
                    t.name()
                ))
                .unwrap();
            }
            c.execute_batch(
                "INSERT INTO sts_sessions VALUES ('ASIAKEEP', '{\"expires\":9}');
                 INSERT INTO users VALUES ('alice', '{}');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let s = SqliteStore::open(&p).unwrap();
        assert_eq!(
            s.view(|tx| tx.get(Table::Sessions, "ASIAKEEP"))
                .unwrap()
                .as_deref(),
            Some("{\"expires\":9}")
        );
        assert!(
            s.view(|tx| tx.get(Table::Users, "alice"))
                .unwrap()
                .is_some()
        );
        s.write(|tx| tx.put(Table::Sessions, "ASIAKEEP", "{}"))
            .unwrap();
        assert!(
            s.write(|tx| tx.put(Table::Sessions, "ASIANEXT", "{}"))
                .is_ok(),
            "the new table takes inserts"
        );
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
        // Opening again leaves a migrated database alone.
        drop(c);
        SqliteStore::open(&p).unwrap();
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
