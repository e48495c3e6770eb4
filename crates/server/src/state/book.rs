//! The session book: where STS session records live for [`crate::auth::caller_for_key`].
//!
//! Authenticating a request never needs it: the session token is a sealed, self-contained
//! [`Session`]. Only what names a session by its `ASIA…` key id alone needs a record: ECR
//! (its registry passwords carry just a key id, and it re-resolves API callers the same way)
//! and the console (its sessions, and role sessions signed in through `/federation`). So
//! AssumeRole, GetSessionToken and GetFederationToken record nothing; a session is recorded
//! ([`SessionBook::pin`]) the first time it calls ECR or signs in to the console, and console
//! sessions when they are minted. A record goes into an in-memory map at once and to the
//! Sessions table through a writer thread that commits in batches (one transaction per 20 ms
//! window at most, relaxed durability). [`SessionBook::flush`] waits until everything recorded
//! so far is committed; the server calls it at shutdown. Every ten minutes the writer also
//! deletes the records of sessions that have expired.

use crate::model::Session;
use crate::store::{AccountStore, Durability, Kv, Store, StoreExt, Table, TxExt};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;

enum Msg {
    /// (account, key id, document)
    Put(String, String, String),
    Flush(mpsc::Sender<()>),
}

pub struct SessionBook {
    kv: Arc<dyn Kv>,
    /// Where sessions minted before they carried their account are recorded.
    bootstrap: String,
    /// Sessions not yet committed by the writer (it removes them once they are); with
    /// `write_through`, the sessions this node recorded (bounded, a cache of the table).
    recent: Arc<Mutex<HashMap<String, Arc<Session>>>>,
    tx: mpsc::Sender<Msg>,
    /// Commit each record before `put` returns (a shared store: other nodes must see it).
    write_through: bool,
}

const MAX_RECENT: usize = 200_000;
const MAX_BATCH: usize = 4096;
/// How long the writer gathers records before it commits them.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(20);
/// How often the writer deletes the records of expired sessions.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

impl SessionBook {
    /// `write_through`: commit each record before [`SessionBook::put`] returns instead of in
    /// the writer's next batch (for a store that other nodes read).
    pub fn new(kv: Arc<dyn Kv>, bootstrap: &str, write_through: bool) -> SessionBook {
        let (tx, rx) = mpsc::channel::<Msg>();
        let writer_store = kv.clone();
        let recent = Arc::new(Mutex::new(HashMap::new()));
        let writer_recent = recent.clone();
        std::thread::Builder::new()
            .name("kagi-session-writer".into())
            .spawn(move || writer(writer_store, writer_recent, rx))
            .expect("spawn session writer");
        SessionBook {
            kv,
            bootstrap: bootstrap.to_owned(),
            recent,
            tx,
            write_through,
        }
    }

    /// Records a new session (visible to [`SessionBook::get`] immediately).
    pub fn put(&self, s: &Session, now: i64) -> anyhow::Result<()> {
        let doc = serde_json::to_string(s)?;
        let account = s.account_or(&self.bootstrap).to_owned();
        if self.write_through {
            AccountStore::new(self.kv.clone(), &account)
                .write_relaxed(|tx| tx.put(Table::Sessions, &s.access_key_id, &doc))?;
        }
        {
            // Write-through: committed records stay here too, so pinning a session again (every
            // ECR call it makes) reads no database.
            let mut m = self.recent.lock();
            if m.len() >= MAX_RECENT {
                m.retain(|_, v| v.expires > now);
                if m.len() >= MAX_RECENT {
                    m.clear(); // still in the database
                }
            }
            m.insert(s.access_key_id.clone(), Arc::new(s.clone()));
        }
        if !self.write_through {
            let _ = self
                .tx
                .send(Msg::Put(account, s.access_key_id.clone(), doc));
        }
        Ok(())
    }

    /// Records `s` unless the book already has it (a read, and a write only the first time).
    pub fn pin(&self, s: &Session, now: i64) {
        if self.get(&s.access_key_id).is_none() {
            let _ = self.put(s, now);
        }
    }

    pub fn get(&self, key_id: &str) -> Option<Arc<Session>> {
        if let Some(s) = self.recent.lock().get(key_id) {
            return Some(s.clone());
        }
        // The key id names its account; sessions of keys minted before it did are the
        // bootstrap account's.
        let mut accounts = vec![self.bootstrap.clone()];
        if let Some(a) = crate::ids::account_of_key(key_id)
            && a != self.bootstrap
        {
            accounts.insert(0, a);
        }
        for a in accounts {
            let s: Option<Session> = AccountStore::new(self.kv.clone(), &a)
                .view(|tx| tx.get_json(Table::Sessions, key_id))
                .ok()?;
            if let Some(s) = s {
                return Some(Arc::new(s));
            }
        }
        None
    }

    /// Blocks until every session recorded before the call is committed.
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
    }
}

fn writer(
    kv: Arc<dyn Kv>,
    recent: Arc<Mutex<HashMap<String, Arc<Session>>>>,
    rx: mpsc::Receiver<Msg>,
) {
    // The records are bookkeeping nobody waits for: let request handling go first when the
    // cores are busy (nice 10: about a tenth of a worker's share under contention, all of an
    // idle core otherwise). Bursts are bounded by MAX_BATCH, and a backlog only makes batches
    // larger, which is cheaper per record.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
    let mut last_purge = std::time::Instant::now();
    // Nodes sharing a store purge once per period between them.
    let node = {
        let mut b = [0u8; 8];
        crate::ids::random_bytes(&mut b);
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    };
    loop {
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = std::time::Instant::now();
            let store = AccountStore::new(kv.clone(), crate::store::GLOBAL);
            match store
                .claim_job("sts-purge", PURGE_EVERY, &node)
                .and_then(|mine| {
                    if mine {
                        store.purge_expired(crate::ids::now_secs())
                    } else {
                        Ok(0)
                    }
                }) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(sessions = n, "purged expired STS sessions"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "could not purge expired STS sessions")
                }
            }
        }
        let first = match rx.recv_timeout(PURGE_EVERY) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        // Sleep through a window, then take everything that arrived (one commit per window
        // costs far less than one per record, and nobody waits for it). Not blocking on the
        // channel during the window matters: a blocked receiver makes every `put` a futex wake
        // and a context switch. A flush skips the window.
        let flushing = matches!(first, Msg::Flush(_));
        let mut next = Some(first);
        if !flushing {
            std::thread::sleep(BATCH_WINDOW);
        }
        while let Some(m) = next {
            match m {
                Msg::Put(a, k, d) => batch.push((a, k, d)),
                Msg::Flush(a) => acks.push(a),
            }
            next = if batch.len() >= MAX_BATCH {
                None
            } else {
                rx.try_recv().ok()
            };
        }
        if !batch.is_empty() {
            let r = kv.transaction(Durability::Relaxed, &mut |raw| {
                for (a, k, d) in &batch {
                    crate::store::in_account(raw, a, |tx| tx.put(Table::Sessions, k, d))?;
                }
                Ok(())
            });
            match r {
                Ok(()) => {
                    let mut m = recent.lock();
                    for (_, k, _) in &batch {
                        m.remove(k);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), sessions = batch.len(), "could not store STS sessions")
                }
            }
        }
        for a in acks {
            let _ = a.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionKind;

    #[test]
    fn put_get_flush_persists() {
        let d = tempfile::tempdir().unwrap();
        let kv: Arc<dyn Kv> =
            Arc::new(crate::store::sqlite::SqliteStore::open(&d.path().join("db")).unwrap());
        let store: Arc<dyn Store> = Arc::new(AccountStore::new(kv.clone(), "123456789012"));
        let book = SessionBook::new(kv.clone(), "123456789012", false);
        let s = Session {
            access_key_id: "ASIATESTTESTTESTTEST".into(),
            secret_sealed: "x".into(),
            kind: SessionKind::Root,
            issued: 1,
            expires: 2,
            mfa: false,
            console: false,
            session_policies: vec![],
            has_session_policy: false,
            tags: vec![],
            source_identity: None,
            account: String::new(),
        };
        book.put(&s, 0).unwrap();
        assert!(book.get("ASIATESTTESTTESTTEST").is_some());
        book.flush();
        assert!(
            book.recent.lock().is_empty(),
            "committed sessions leave the map"
        );
        assert!(book.get("ASIATESTTESTTESTTEST").is_some());
        let stored: Option<Session> = store
            .view(|tx| tx.get_json(Table::Sessions, "ASIATESTTESTTESTTEST"))
            .unwrap();
        assert_eq!(stored.unwrap().expires, 2);
        let fresh = SessionBook::new(kv, "123456789012", false);
        assert!(
            fresh.get("ASIATESTTESTTESTTEST").is_some(),
            "found in the database"
        );
        assert!(fresh.get("ASIANOPE").is_none());
    }
}
