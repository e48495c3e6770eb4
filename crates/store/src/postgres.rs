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
//! * **Off the worker, a bounded number at a time**: the client is synchronous; called on a
//!   tokio worker thread, every operation runs inside `tokio::task::block_in_place`, so a
//!   database round trip never stalls the other tasks of that worker. Each `block_in_place`
//!   hands the worker's core to another thread of tokio's blocking pool, so without a bound
//!   1,000 concurrent requests grew that pool to its 512-thread cap (each thread keeping an
//!   allocator heap: 660–880 MiB RSS under `benches/mixed.rs`). A [`Gate`] of [`POOL_MAX`]
//!   slots admits a call *before* it enters `block_in_place`: a call that waits for a slot
//!   waits on the thread it was made on and holds no other, so at most [`POOL_MAX`] threads
//!   are ever inside database work, whatever the number of requests (see [`Gate`] for why
//!   this cannot deadlock, and why capping tokio's blocking pool instead would).
//! * A pool of connections made on demand, bounded by the gate: a call takes a connection only
//!   once admitted, so at most [`POOL_MAX`] are in use (plus nested calls', rare) and at most
//!   [`POOL_MAX`] are kept idle, and no call ever waits for one; a connection that broke is
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
/// How many calls may be inside database work at once (the [`Gate`]'s slots), hence also the
/// most connections one node opens (besides its listener's).
pub const POOL_MAX: usize = 16;
/// Every schema change takes this advisory lock (any number; kagi's own).
const MIGRATION_LOCK: i64 = 0x6b61_6769;

pub struct PgStore {
    url: String,
    /// Idle connections (at most [`POOL_MAX`]).
    pool: Mutex<Vec<Client>>,
    gate: Gate,
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

/// Admission to database work: at most `slots` calls (threads) inside at once; the others
/// wait, each on its own thread, before they take anything.
///
/// * **Where a call waits.** [`PgStore`] enters the gate *before* `block_in_place`: a waiting
///   call blocks the thread it runs on (a tokio worker, or a blocking-pool thread of a
///   `spawn_blocking` handler) and makes tokio start no new one. So the threads ever inside
///   `block_in_place` for the database are at most `slots`, and the waiters at most the
///   runtime's workers (2 for `kagi serve`) plus the blocking threads the server already had.
///   A worker that waits stalls its other tasks for at most one database call; the other
///   worker keeps stealing them.
/// * **No deadlock.** A slot is held only over synchronous database work (a transaction's or
///   read's closure and its round trips), which never waits for a tokio task of the server's
///   runtime (S3 runs on its own runtime) nor for another slot: a call made while this thread
///   already holds a slot (a nested store call inside a transaction's closure) is admitted at
///   once (a thread-local flag), so a holder can always finish and free its slot, even when
///   every worker is waiting at the gate.
/// * **Why not cap tokio's blocking pool** (`max_blocking_threads`) instead: `block_in_place`
///   hands the worker's core to a blocking-pool thread, and the server's `spawn_blocking`
///   tasks live in the same pool, some of them waiting for async tasks (a registry pull's
///   `FileBody` reader blocks in `blocking_send` until the response writer, a worker task,
///   drains it). With the pool full of such waiters and of database calls, the cores that
///   would run those async tasks wait for a free pool thread that never comes: a deadlock
///   the gate cannot cause, since its waiters hold no pool thread and its holders wait for
///   nothing async.
pub struct Gate {
    inside: Mutex<GateCount>,
    freed: Condvar,
    slots: usize,
}

#[derive(Default)]
struct GateCount {
    now: usize,
    peak: usize,
}

thread_local! {
    /// Whether this thread holds a slot of a [`Gate`] (a nested call then enters at once).
    static ADMITTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A slot of a [`Gate`], freed when dropped (on the thread that entered: everything between
/// is synchronous). `None` for a nested call, which took no slot.
pub struct Admitted<'g>(Option<&'g Gate>);

impl Gate {
    pub fn new(slots: usize) -> Gate {
        Gate {
            inside: Mutex::new(GateCount::default()),
            freed: Condvar::new(),
            slots: slots.max(1),
        }
    }

    /// Waits (blocking this thread) until fewer than `slots` calls are inside, then enters.
    pub fn enter(&self) -> Admitted<'_> {
        if ADMITTED.get() {
            return Admitted(None);
        }
        let mut c = self.inside.lock();
        while c.now >= self.slots {
            self.freed.wait(&mut c);
        }
        c.now += 1;
        c.peak = c.peak.max(c.now);
        ADMITTED.set(true);
        Admitted(Some(self))
    }

    /// The most calls that were inside at once since the gate was made.
    pub fn peak(&self) -> usize {
        self.inside.lock().peak
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Some(g) = self.0 {
            ADMITTED.set(false);
            g.inside.lock().now -= 1;
            g.freed.notify_one();
        }
    }
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
            gate: Gate::new(POOL_MAX),
            generation,
            stop,
            writing: Mutex::new(()),
        })
    }

    /// An idle connection, or a new one. Called only once admitted by the gate, so the
    /// connections in use are at most its slots (plus nested calls'): never waited for.
    fn client(&self) -> Result<Client> {
        // Not `match self.pool.lock().pop()`: the guard would live through `connect`.
        let idle = self.pool.lock().pop();
        match idle {
            Some(c) => Ok(c),
            None => connect(&self.url),
        }
    }

    fn give_back(&self, c: Client) {
        let mut pool = self.pool.lock();
        if !c.is_closed() && pool.len() < POOL_MAX {
            pool.push(c);
        }
    }

    /// Every database call but the first connection's: admitted by the gate, then off the
    /// worker with a connection of the pool.
    fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
        let _slot = self.gate.enter();
        offload(|| {
            let mut c = self.client()?;
            let r = f(&mut c);
            self.give_back(c);
            r
        })
    }

    /// The most calls that were inside database work at once (at most [`POOL_MAX`]).
    pub fn peak_inside(&self) -> usize {
        self.gate.peak()
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

    /// More concurrent calls than slots, from a 2-worker runtime as `kagi serve` has: never
    /// more than `slots` inside; a nested call (this thread already inside) enters at once.
    #[test]
    fn the_gate_admits_at_most_its_slots_and_nested_calls_at_once() {
        use std::sync::atomic::AtomicUsize;
        const SLOTS: usize = 3;
        let gate = Arc::new(Gate::new(SLOTS));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..8 * SLOTS)
                .map(|_| {
                    let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
                    tokio::spawn(async move {
                        let _slot = gate.enter();
                        offload(|| {
                            let n = now.fetch_add(1, Ordering::AcqRel) + 1;
                            most.fetch_max(n, Ordering::AcqRel);
                            std::thread::sleep(Duration::from_millis(5));
                            drop(gate.enter()); // nested: would wait forever were it counted
                            now.fetch_sub(1, Ordering::AcqRel);
                        })
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let most = most.load(Ordering::Acquire);
        assert!((2..=SLOTS).contains(&most), "{most} inside at once");
        assert!(most <= gate.peak() && gate.peak() <= SLOTS);
        assert_eq!(gate.inside.lock().now, 0, "every slot came back");
        assert!(!ADMITTED.get(), "and this thread holds none");
    }
}
