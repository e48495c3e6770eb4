//! The PostgreSQL [`Kv`] (`kagi serve --database-url postgres://…`): what several `kagi serve`
//! nodes share.
//!
//! * **Schema**: every table is `(account TEXT, k BYTEA, doc TEXT, PRIMARY KEY (account, k))`.
//!   Keys are `BYTEA` because they contain NUL separators (which `TEXT` cannot hold) and because
//!   `bytea` compares bytewise, as Rust compares `str` (a `TEXT` column would sort by the
//!   database's collation). Versioned in `kagi_schema`; migrations run in one transaction under
//!   an advisory lock, so nodes starting together migrate once.
//! * **Transactions**: writes run `SERIALIZABLE`; a serialization failure or deadlock
//!   (SQLSTATE 40001/40P01) is a [`StoreError::Conflict`] and the closure runs again
//!   ([`super::MAX_ATTEMPTS`]). Reads run `REPEATABLE READ READ ONLY` (one snapshot).
//!   [`Durability::Relaxed`] commits with `synchronous_commit = off`.
//! * **Generation across nodes**: a write that touches anything but sessions bumps the row of
//!   `kagi_generation` and sends `NOTIFY kagi_generation` in its transaction. Each node keeps
//!   the highest value it has seen: its own commits (`RETURNING`), notifications (a listener
//!   thread), and a poll every [`POLL`] in case a notification is lost. So a revocation on one
//!   node invalidates every node's caches within [`POLL`] (notifications arrive in
//!   milliseconds; the poll is the bound).
//! * **Off the worker**: the client is synchronous; called on a tokio worker thread, every
//!   operation runs inside `tokio::task::block_in_place`, so a database round trip never stalls
//!   the other tasks of that worker.
//! * A pool of at most [`POOL_MAX`] connections, made on demand; a connection that broke is
//!   dropped when it comes back.

use super::{Durability, Kv, RawTx, StoreError, Table};
use anyhow::{Context, Result};
use parking_lot::{Condvar, Mutex};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// 4: kagi-ecr's tables.
/// 8: `last_accessed_jobs` (IAM's service-last-accessed reports).
pub const SCHEMA_VERSION: i32 = 8;
/// How often each node reads the generation even without a notification: the bound on how
/// long another node's write can go unseen by this node's caches.
pub const POLL: Duration = Duration::from_millis(200);
pub const POOL_MAX: usize = 16;
/// Every schema change takes this advisory lock (any number; kagi's own).
const MIGRATION_LOCK: i64 = 0x6b61_6769;

pub struct PgStore {
    url: String,
    pool: Mutex<Vec<Client>>,
    open: Mutex<usize>,
    returned: Condvar,
    generation: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Held by a write transaction for all its attempts: this node's writers commit one at a
    /// time, so they never conflict with each other, only with other nodes' writers. (Under
    /// SERIALIZABLE, concurrent writers of one node conflicted so often, through the one
    /// generation row and the predicate locks of their key-range reads, that under mixed load
    /// some exhausted [`super::MAX_ATTEMPTS`] and answered 500: `tests/crash.rs`.) Writes
    /// serialize through the generation row anyway; reads never take this.
    writing: Mutex<()>,
}

/// Runs blocking database work; on a tokio worker thread, through `block_in_place`.
fn offload<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn pg_error(e: postgres::Error) -> anyhow::Error {
    use postgres::error::SqlState;
    match e.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            anyhow::Error::new(StoreError::Conflict)
        }
        _ => anyhow::Error::new(StoreError::Failed(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })),
    }
}

fn connect(url: &str) -> Result<Client> {
    let mut config: postgres::Config = url.parse().context("parsing the database URL")?;
    config.connect_timeout(Duration::from_secs(10));
    config.application_name("kagi");
    config
        .connect(NoTls)
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl PgStore {
    /// Connects, migrates the schema to [`SCHEMA_VERSION`], and starts following the
    /// generation (the listener thread stops when the store is dropped).
    pub fn open(url: &str) -> Result<PgStore> {
        let mut client = offload(|| connect(url))?;
        offload(|| migrate(&mut client))?;
        let generation = Arc::new(AtomicU64::new(0));
        let n = offload(|| read_generation(&mut client))?;
        generation.store(n, Ordering::Release);
        let stop = Arc::new(AtomicBool::new(false));
        follow_generation(url.to_owned(), generation.clone(), stop.clone())?;
        Ok(PgStore {
            url: url.to_owned(),
            pool: Mutex::new(vec![client]),
            open: Mutex::new(1),
            returned: Condvar::new(),
            generation,
            stop,
            writing: Mutex::new(()),
        })
    }

    fn client(&self) -> Result<Client> {
        loop {
            if let Some(c) = self.pool.lock().pop() {
                return Ok(c);
            }
            let mut open = self.open.lock();
            if *open < POOL_MAX {
                *open += 1;
                drop(open);
                return connect(&self.url).inspect_err(|_| *self.open.lock() -= 1);
            }
            self.returned
                .wait_for(&mut open, Duration::from_millis(100));
        }
    }

    fn give_back(&self, c: Client) {
        if c.is_closed() {
            *self.open.lock() -= 1;
        } else {
            self.pool.lock().push(c);
        }
        self.returned.notify_one();
    }

    fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
        offload(|| {
            let mut c = self.client()?;
            let r = f(&mut c);
            self.give_back(c);
            r
        })
    }

    fn seen(&self, n: u64) {
        self.generation.fetch_max(n, Ordering::AcqRel);
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn read_generation(c: &mut Client) -> Result<u64> {
    let n: i64 = c
        .query_one("SELECT n FROM kagi_generation WHERE id = 1", &[])
        .map_err(pg_error)?
        .get(0);
    Ok(n as u64)
}

/// The listener: `LISTEN kagi_generation`, and a read of the counter every [`POLL`].
fn follow_generation(url: String, generation: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> Result<()> {
    std::thread::Builder::new()
        .name("kagi-pg-generation".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                let Ok(mut c) = connect(&url) else {
                    std::thread::sleep(POLL);
                    continue;
                };
                if c.batch_execute("LISTEN kagi_generation").is_err() {
                    continue;
                }
                while !stop.load(Ordering::Acquire) {
                    // Wake at the first notification, or after POLL; either way read the counter
                    // (a notification carries no value, and several may have been coalesced).
                    {
                        let mut n = c.notifications();
                        let _ = n.timeout_iter(POLL).next();
                    }
                    match read_generation(&mut c) {
                        Ok(n) => {
                            generation.fetch_max(n, Ordering::AcqRel);
                        }
                        Err(_) => break, // reconnect
                    }
                }
            }
        })
        .context("starting the generation listener")?;
    Ok(())
}

fn table_ddl(t: Table) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (account TEXT NOT NULL, k BYTEA NOT NULL, doc TEXT NOT NULL,
         PRIMARY KEY (account, k))",
        t.name()
    )
}

fn migrate(c: &mut Client) -> Result<()> {
    let mut tx = c.transaction().map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS kagi_schema (version INT NOT NULL);
         CREATE TABLE IF NOT EXISTS kagi_generation (id INT PRIMARY KEY, n BIGINT NOT NULL);
         INSERT INTO kagi_generation VALUES (1, 1) ON CONFLICT DO NOTHING;",
    )
    .map_err(pg_error)?;
    let version: Option<i32> = tx
        .query_opt("SELECT max(version) FROM kagi_schema", &[])
        .map_err(pg_error)?
        .and_then(|r| r.get(0));
    match version {
        Some(v) if v > SCHEMA_VERSION => {
            anyhow::bail!("database schema version {v} is newer than this kagi ({SCHEMA_VERSION})")
        }
        Some(v) if v == SCHEMA_VERSION => {}
        _ => {
            // Version 3 is PostgreSQL's first; 4 to 8 add tables. Every table is created if
            // missing, so this brings any older version up to date.
            for t in Table::ALL {
                tx.batch_execute(&table_ddl(t)).map_err(pg_error)?;
            }
            tx.execute("DELETE FROM kagi_schema", &[])
                .map_err(pg_error)?;
            tx.execute("INSERT INTO kagi_schema VALUES ($1)", &[&SCHEMA_VERSION])
                .map_err(pg_error)?;
        }
    }
    tx.commit().map_err(pg_error)?;
    Ok(())
}

fn get(tx: &mut Transaction, table: Table, account: &str, key: &str) -> Result<Option<String>> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT doc FROM {} WHERE account = $1 AND k = $2",
                table.name()
            ),
            &[&account, &key.as_bytes()],
        )
        .map_err(pg_error)?;
    Ok(row.map(|r| r.get(0)))
}

fn scan_page(
    tx: &mut Transaction,
    table: Table,
    account: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, String)>> {
    let p = prefix.as_bytes();
    let (from, op) = match after {
        Some(a) if a.as_bytes() >= p => (a.as_bytes(), ">"),
        _ => (p, ">="),
    };
    let end = super::prefix_end(prefix)
        .filter(|_| !prefix.is_empty())
        .map(String::into_bytes);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            &format!(
                "SELECT k, doc FROM {} WHERE account = $1 AND k {op} $2
                 AND ($3::bytea IS NULL OR k < $3) ORDER BY k LIMIT $4",
                table.name()
            ),
            &[&account, &from, &end, &limit],
        )
        .map_err(pg_error)?;
    rows.into_iter()
        .map(|r| {
            let k: Vec<u8> = r.get(0);
            Ok((
                String::from_utf8(k)
                    .map_err(|_| StoreError::Failed("a key is not UTF-8".into()))?,
                r.get(1),
            ))
        })
        .collect()
}

/// One transaction as a [`RawTx`]. `RawTx`'s reads take `&self` but the client needs `&mut`:
/// everything goes through a `RefCell` around the transaction. A read snapshot refuses writes.
struct PgTx<'a, 'c> {
    tx: std::cell::RefCell<&'a mut Transaction<'c>>,
    writable: bool,
    touched_non_session: bool,
}

impl PgTx<'_, '_> {
    fn write(
        &mut self,
        table: Table,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64> {
        if !self.writable {
            anyhow::bail!(StoreError::Failed("write in a read view".into()));
        }
        if !table.is_ephemeral() {
            self.touched_non_session = true;
        }
        self.tx.get_mut().execute(sql, params).map_err(pg_error)
    }
}

impl RawTx for PgTx<'_, '_> {
    fn get(&self, table: Table, account: &str, key: &str) -> Result<Option<String>> {
        get(&mut self.tx.borrow_mut(), table, account, key)
    }
    fn put(&mut self, table: Table, account: &str, key: &str, doc: &str) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (account, k, doc) VALUES ($1, $2, $3)
             ON CONFLICT (account, k) DO UPDATE SET doc = excluded.doc",
            table.name()
        );
        self.write(table, &sql, &[&account, &key.as_bytes(), &doc])
            .map(drop)
    }
    fn delete(&mut self, table: Table, account: &str, key: &str) -> Result<bool> {
        let sql = format!("DELETE FROM {} WHERE account = $1 AND k = $2", table.name());
        Ok(self.write(table, &sql, &[&account, &key.as_bytes()])? > 0)
    }
    fn scan_page(
        &self,
        table: Table,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        scan_page(
            &mut self.tx.borrow_mut(),
            table,
            account,
            prefix,
            after,
            limit,
        )
    }
}

impl PgStore {
    /// One attempt: `Ok(Some(generation))` when committed after touching non-session tables.
    fn attempt(
        c: &mut Client,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn RawTx) -> Result<()>,
    ) -> Result<Option<u64>> {
        let mut tx = c
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::Serializable)
            .start()
            .map_err(pg_error)?;
        if durability == Durability::Relaxed {
            tx.batch_execute("SET LOCAL synchronous_commit = off")
                .map_err(pg_error)?;
        }
        let touched = {
            let mut raw = PgTx {
                tx: std::cell::RefCell::new(&mut tx),
                writable: true,
                touched_non_session: false,
            };
            f(&mut raw)?; // dropping `tx` on error rolls back
            raw.touched_non_session
        };
        let generation = if touched {
            let n: i64 = tx
                .query_one(
                    "UPDATE kagi_generation SET n = n + 1 WHERE id = 1 RETURNING n",
                    &[],
                )
                .map_err(pg_error)?
                .get(0);
            tx.batch_execute("NOTIFY kagi_generation")
                .map_err(pg_error)?;
            Some(n as u64)
        } else {
            None
        };
        tx.commit().map_err(pg_error)?;
        Ok(generation)
    }
}

impl Kv for PgStore {
    fn transaction(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn RawTx) -> Result<()>,
    ) -> Result<()> {
        self.with_client(|c| {
            let mut attempt = 0;
            let _one_at_a_time = self.writing.lock();
            loop {
                attempt += 1;
                match Self::attempt(c, durability, f) {
                    Ok(Some(n)) => {
                        self.seen(n);
                        return Ok(());
                    }
                    Ok(None) => return Ok(()),
                    Err(e) if StoreError::is_conflict(&e) && attempt < super::MAX_ATTEMPTS => {
                        // Back off a little, more each time, so conflicting writers spread out.
                        let mut jitter = [0u8; 1];
                        getrandom::fill(&mut jitter).expect("the operating system's random source");
                        std::thread::sleep(Duration::from_millis(
                            (1u64 << attempt.min(6)) + u64::from(jitter[0] % 8),
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    }

    fn read(&self, f: &mut dyn FnMut(&dyn RawTx) -> Result<()>) -> Result<()> {
        self.with_client(|c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg_error)?;
            let r = f(&PgTx {
                tx: std::cell::RefCell::new(&mut tx),
                writable: false,
                touched_non_session: false,
            });
            tx.commit().map_err(pg_error)?;
            r
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn purge_expired(&self, table: Table, expired_before: i64) -> Result<usize> {
        self.with_client(|c| {
            let n = c
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE (doc::jsonb->>'expires')::bigint < $1",
                        table.name()
                    ),
                    &[&expired_before],
                )
                .map_err(pg_error)?;
            Ok(n as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_cannot_be_reached_is_named_without_its_password() {
        assert_eq!(
            redact("postgres://kagi:s3cret@db:5432/kagi"),
            "postgres://kagi@db:5432/kagi"
        );
        assert_eq!(redact("postgres://db/kagi"), "postgres://db/kagi");
        let e = PgStore::open("postgres://kagi:s3cret@127.0.0.1:1/kagi")
            .err()
            .expect("nothing listens on port 1");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("connecting to PostgreSQL at postgres://kagi@127.0.0.1:1/kagi"),
            "{msg}"
        );
        assert!(!msg.contains("s3cret"), "{msg}");
        assert!(PgStore::open("mysql://x").is_err());
    }
}
