//! The storage conformance suite (`kagi_server::store::conformance`) against PostgreSQL, plus
//! what only a shared database has: two stores (two nodes) on one database see each other's
//! writes, their caches' generation follows the other's commits within the stated bound, and
//! concurrent writers on different nodes conflict and retry without losing anything.

use kagi_server::store::postgres::{POLL, PgStore};
use kagi_server::store::{AccountStore, Kv, StoreExt, Table, TxExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn database(test: &str) -> Option<String> {
    kagi_testkit::postgres::required(test).map(|pg| pg.new_database())
}

#[test]
fn conformance() {
    let Some(url) = database("conformance") else {
        return;
    };
    kagi_server::store::conformance::run(Arc::new(PgStore::open(&url).unwrap()));
}

#[test]
fn two_nodes_share_writes_and_generations() {
    let Some(url) = database("two_nodes") else {
        return;
    };
    let a: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
    let b: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
    let (sa, sb) = (
        AccountStore::new(a.clone(), "123456789012"),
        AccountStore::new(b.clone(), "123456789012"),
    );
    let mut worst = Duration::ZERO;
    for i in 0..10 {
        let before = b.generation();
        sa.write(|tx| tx.put(Table::Users, &format!("u{i}"), "{}"))
            .unwrap();
        let t = Instant::now();
        // The write is visible to the other node's next read at once...
        assert!(
            sb.view(|tx| tx.get(Table::Users, &format!("u{i}")))
                .unwrap()
                .is_some()
        );
        // ...and its generation moves within the bound.
        while b.generation() == before {
            assert!(
                t.elapsed() < POLL * 5,
                "node b missed a generation for {:?}",
                t.elapsed()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        worst = worst.max(t.elapsed());
    }
    eprintln!("generation seen by the other node after at most {worst:?} (bound {POLL:?})");
}

#[test]
fn writers_on_two_nodes_conflict_and_lose_nothing() {
    let Some(url) = database("two_writers") else {
        return;
    };
    let nodes: Vec<Arc<dyn Kv>> = (0..2)
        .map(|_| Arc::new(PgStore::open(&url).unwrap()) as Arc<dyn Kv>)
        .collect();
    std::thread::scope(|sc| {
        for n in &nodes {
            for _ in 0..3 {
                let s = AccountStore::new(n.clone(), "123456789012");
                sc.spawn(move || {
                    for _ in 0..20 {
                        s.write(|tx| {
                            let v: u64 = tx.get_json(Table::Meta, "counter")?.unwrap_or(0);
                            tx.put_json(Table::Meta, "counter", &(v + 1))
                        })
                        .unwrap();
                    }
                });
            }
        }
    });
    let n: u64 = AccountStore::new(nodes[1].clone(), "123456789012")
        .view(|tx| tx.get_json(Table::Meta, "counter"))
        .unwrap()
        .unwrap();
    assert_eq!(n, 2 * 3 * 20);
}

/// A version 3 database (before kagi-ecr's tables) is brought to the current version on open,
/// its rows kept.
#[test]
fn a_version_3_database_gains_the_ecr_tables() {
    let Some(url) = database("version_3") else {
        return;
    };
    let kv: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
    let s = AccountStore::new(kv, "123456789012");
    s.write(|tx| tx.put(Table::Users, "alice", "{}")).unwrap();
    drop(s);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for t in Table::ALL {
        if t >= Table::EcrRepos {
            c.batch_execute(&format!("DROP TABLE {}", t.name()))
                .unwrap();
        }
    }
    c.batch_execute("UPDATE kagi_schema SET version = 3")
        .unwrap();
    let kv: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
    let s = AccountStore::new(kv, "123456789012");
    assert!(
        s.view(|tx| tx.get(Table::Users, "alice"))
            .unwrap()
            .is_some()
    );
    s.write(|tx| tx.put(Table::EcrBlobs, "sha256:x", "{}"))
        .unwrap();
    let v: i32 = c
        .query_one("SELECT max(version) FROM kagi_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, kagi_server::store::postgres::SCHEMA_VERSION);
}

#[test]
fn nodes_opening_together_migrate_once() {
    let Some(url) = database("migrate_together") else {
        return;
    };
    let opened: Vec<_> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|_| sc.spawn(|| PgStore::open(&url).map(drop)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in opened {
        o.unwrap();
    }
}

#[test]
fn nodes_starting_together_create_one_account() {
    let Some(url) = database("one_account") else {
        return;
    };
    let none = kagi_server::account::Overrides {
        account_id: None,
        root_access_key_id: None,
        root_secret_access_key: None,
    };
    let accounts: Vec<(String, String)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                sc.spawn(|| {
                    let kv: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
                    let sealer = kagi_server::crypto::Sealer::shared(&kv).unwrap();
                    let a = kagi_server::account::bootstrap(&kv, &sealer, None, &none).unwrap();
                    (a.account_id, a.root_secret_access_key)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        accounts.windows(2).all(|w| w[0] == w[1]),
        "every node has the same account and root key: {:?}",
        accounts.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
}

/// The console's state on PostgreSQL: the console crate's conformance check, then two nodes:
/// a session made on one is found on the other, failures count toward one lockout, and a
/// federation sign-in token works once, wherever it is redeemed.
#[test]
fn console_state_is_shared_by_nodes() {
    use kagi_console::session::{Lockout, Sessions};
    let Some(url) = database("console_state") else {
        return;
    };
    let node = || -> Arc<dyn kagi_console::state::SharedState> {
        let kv: Arc<dyn Kv> = Arc::new(PgStore::open(&url).unwrap());
        let sealer = kagi_server::crypto::Sealer::shared(&kv).unwrap();
        Arc::new(kagi_server::console_state::StoreState::new(kv, sealer))
    };
    let (a, b) = (node(), node());
    kagi_console::state::conformance(&*a);
    let now = kagi_console::now();
    let id = Sessions::new(a.clone()).create("ASIAX".into(), "arn".into(), now + 60, now);
    let on_b = Sessions::new(b.clone())
        .get(&id, now)
        .expect("the other node finds it");
    assert_eq!(on_b.access_key_id, "ASIAX");
    Sessions::new(b.clone()).update(&id, |s| s.region = "eu-west-1".into());
    assert_eq!(
        Sessions::new(a.clone()).get(&id, now).unwrap().region,
        "eu-west-1"
    );
    Sessions::new(a.clone()).remove(&id);
    assert!(
        Sessions::new(b.clone()).get(&id, now).is_none(),
        "signed out everywhere"
    );

    let (la, lb) = (Lockout::new(a.clone()), Lockout::new(b.clone()));
    for i in 0..kagi_console::session::MAX_FAILURES {
        assert!(la.check("acct\0alice", now).is_ok());
        if i % 2 == 0 {
            la.fail("acct\0alice", now)
        } else {
            lb.fail("acct\0alice", now)
        }
    }
    assert!(la.check("acct\0alice", now).is_err() && lb.check("acct\0alice", now).is_err());

    let creds = kagi_console::Credentials {
        access_key_id: "ASIAY".into(),
        arn: "arn".into(),
        expires: now + 60,
        password_reset_required: false,
    };
    let token = kagi_console::federation::SigninTokens::new(a).mint(creds, now);
    let tb = kagi_console::federation::SigninTokens::new(b);
    assert!(tb.redeem(&token, now).is_some());
    assert!(tb.redeem(&token, now).is_none(), "a token works once");
}

/// The gate (issue #15): far more concurrent calls than [`POOL_MAX`] from a server-like
/// runtime (2 workers) never put more than [`POOL_MAX`] threads inside database work, so the
/// runtime's threads stay near `POOL_MAX` (before the gate: one per waiting call, up to 512);
/// a nested call made inside a transaction's closure is admitted at once (no deadlock even with
/// every slot taken), and nothing is lost.
#[test]
fn concurrent_calls_are_bounded_by_the_gate() {
    use kagi_server::store::postgres::POOL_MAX;
    let Some(url) = database("gate") else {
        return;
    };
    let store = Arc::new(PgStore::open(&url).unwrap());
    let kv: Arc<dyn Kv> = store.clone();
    const CALLS: usize = 8 * POOL_MAX;
    const NAME: &str = "kagi-gate-test";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(NAME)
        .enable_all()
        .build()
        .unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The runtime's threads (workers and its blocking pool), sampled every millisecond.
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut most = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let n = std::fs::read_dir("/proc/self/task")
                    .map(|d| {
                        d.flatten()
                            .filter(|t| {
                                std::fs::read_to_string(t.path().join("comm"))
                                    .is_ok_and(|c| c.trim() == NAME)
                            })
                            .count()
                    })
                    .unwrap_or(0);
                most = most.max(n);
                std::thread::sleep(Duration::from_millis(1));
            }
            most
        })
    };
    rt.block_on(async {
        let tasks: Vec<_> = (0..CALLS)
            .map(|i| {
                let kv = kv.clone();
                tokio::spawn(async move {
                    let s = AccountStore::new(kv.clone(), "123456789012");
                    s.write(|tx| {
                        // Nested: a read of the same store inside the transaction's closure.
                        let nested = AccountStore::new(kv.clone(), "123456789012")
                            .view(|r| r.get(Table::Users, "nobody"))?;
                        assert!(nested.is_none());
                        tx.put(Table::Users, &format!("u{i}"), "{}")
                    })
                    .unwrap();
                    s.view(|tx| {
                        // Hold the slot a little, as a slow query would.
                        std::thread::sleep(Duration::from_millis(5));
                        tx.get(Table::Users, &format!("u{i}"))
                    })
                    .unwrap()
                    .is_some()
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
    });
    done.store(true, std::sync::atomic::Ordering::Release);
    let threads = sampler.join().unwrap();
    let inside = store.peak_inside();
    eprintln!("{CALLS} calls: at most {inside} inside, {threads} runtime threads");
    assert!(inside <= POOL_MAX, "{inside} calls inside at once");
    // 2 workers, POOL_MAX inside, and threads that left database work but still finish their
    // task (they hold no slot): far below one per call.
    assert!(threads <= 2 * POOL_MAX + 4, "{threads} runtime threads");
}
