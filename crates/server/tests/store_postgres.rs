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
