//! The behaviour every [`Kv`] implementation must have, as one suite: [`run`] takes a fresh,
//! empty store and panics on the first difference. The SQLite backend runs it in its unit tests
//! (in memory and on a file); every other backend must run it too.

use super::{AccountStore, Durability, Kv, RawTx, Store, StoreError, StoreExt, Table, Tx, TxExt};
use std::sync::Arc;

const A: &str = "111111111111";
const B: &str = "222222222222";

/// A transaction's own decision to abort, to check it comes back unchanged.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("domain error {0}")]
struct Domain(u32);

/// Runs every check against `kv`, which must be empty.
pub fn run(kv: Arc<dyn Kv>) {
    accounts_are_isolated(&kv);
    point_operations(&kv);
    scans_and_pages(&kv);
    an_abort_rolls_back_and_is_returned_unchanged(&kv);
    reads_see_a_snapshot_of_committed_writes(&kv);
    generation_moves_on_every_commit_but_sessions(&kv);
    concurrent_writers_lose_nothing(&kv);
    purge_sessions(&kv);
    indexes_follow_their_rows(&kv);
    ecr_indexes_follow_their_rows(&kv);
    jobs_run_once_per_period(&kv);
    check_finds_damage(&kv);
}

fn store(kv: &Arc<dyn Kv>, account: &str) -> AccountStore {
    AccountStore::new(kv.clone(), account)
}

fn accounts_are_isolated(kv: &Arc<dyn Kv>) {
    let (a, b) = (store(kv, A), store(kv, B));
    a.write(|tx| tx.put(Table::Users, "alice", r#"{"n":"a"}"#))
        .unwrap();
    b.write(|tx| tx.put(Table::Users, "alice", r#"{"n":"b"}"#))
        .unwrap();
    let get = |s: &AccountStore| s.view(|tx| tx.get(Table::Users, "alice")).unwrap();
    assert_eq!(get(&a).as_deref(), Some(r#"{"n":"a"}"#));
    assert_eq!(get(&b).as_deref(), Some(r#"{"n":"b"}"#));
    assert!(b.write(|tx| tx.delete(Table::Users, "alice")).unwrap());
    assert_eq!(get(&b), None);
    assert!(
        get(&a).is_some(),
        "a delete in one account leaves the other's row"
    );
    assert_eq!(
        store(kv, super::GLOBAL)
            .view(|tx| tx.scan(Table::Users, ""))
            .unwrap(),
        vec![],
        "the store-wide scope is an account of its own"
    );
    // One transaction may write several accounts' rows (an organization creating an account).
    kv.transaction(Durability::Full, &mut |tx: &mut dyn RawTx| {
        tx.put(Table::Roles, A, "r", "{}")?;
        tx.put(Table::Roles, B, "r", "{}")
    })
    .unwrap();
    assert!(a.view(|tx| tx.get(Table::Roles, "r")).unwrap().is_some());
    assert!(b.view(|tx| tx.get(Table::Roles, "r")).unwrap().is_some());
    a.write(|tx| tx.delete(Table::Users, "alice")).unwrap();
}

fn point_operations(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    s.write(|tx| {
        assert_eq!(tx.get(Table::Groups, "g")?, None);
        tx.put(Table::Groups, "g", "1")?;
        assert_eq!(
            tx.get(Table::Groups, "g")?.as_deref(),
            Some("1"),
            "read your writes"
        );
        tx.put(Table::Groups, "g", "2")
    })
    .unwrap();
    assert_eq!(
        s.view(|tx| tx.get(Table::Groups, "g")).unwrap().as_deref(),
        Some("2"),
        "put replaces"
    );
    assert!(s.write(|tx| tx.delete(Table::Groups, "g")).unwrap());
    assert!(!s.write(|tx| tx.delete(Table::Groups, "g")).unwrap());
    // Keys are arbitrary UTF-8, NUL included (keys are built as `a\0b`).
    let odd = "user\0ünï\u{10FFFF}";
    s.write(|tx| tx.put(Table::Attachments, odd, "{}")).unwrap();
    assert!(
        s.view(|tx| tx.get(Table::Attachments, odd))
            .unwrap()
            .is_some()
    );
    s.write(|tx| tx.delete(Table::Attachments, odd).map(drop))
        .unwrap();
}

fn scans_and_pages(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    let keys = [
        "user\0alice\0arn:1",
        "user\0alice\0arn:2",
        "user\0alice\0arn:3",
        "user\0alicex\0arn:9",
        "group\0alice\0arn:1",
    ];
    s.write(|tx| {
        for k in keys {
            tx.put(Table::Attachments, k, "{}")?;
        }
        Ok(())
    })
    .unwrap();
    store(kv, B)
        .write(|tx| tx.put(Table::Attachments, "user\0alice\0arn:0", "{}"))
        .unwrap();
    let scan = |prefix: &str| -> Vec<String> {
        s.view(|tx| tx.scan(Table::Attachments, prefix))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(scan("user\0alice\0"), keys[..3].to_vec());
    assert_eq!(scan("user\0alice"), keys[..4].to_vec());
    assert_eq!(
        scan("").len(),
        5,
        "an empty prefix is everything in the account, in key order"
    );
    assert_eq!(scan("group\0")[0], keys[4]);
    assert!(scan("zzz").is_empty());
    // Pages by key: each page starts after the last key of the previous one.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .view(|tx| tx.scan_page(Table::Attachments, "user\0", after.as_deref(), 2))
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = Some(page.last().unwrap().0.clone());
        seen.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(seen, keys[..4].to_vec());
    // A marker that sorts before the prefix starts at the prefix; one past it yields nothing.
    let first = s
        .view(|tx| tx.scan_page(Table::Attachments, "user\0", Some("a"), 1))
        .unwrap();
    assert_eq!(first[0].0, keys[0]);
    assert!(
        s.view(|tx| tx.scan_page(Table::Attachments, "user\0", Some("zz"), 5))
            .unwrap()
            .is_empty()
    );
    s.write(|tx| {
        for k in keys {
            tx.delete(Table::Attachments, k)?;
        }
        Ok(())
    })
    .unwrap();
}

fn an_abort_rolls_back_and_is_returned_unchanged(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    let mut runs = 0;
    let err = s
        .write(|tx| -> anyhow::Result<()> {
            runs += 1;
            tx.put(Table::Users, "bob", "{}")?;
            Err(Domain(7).into())
        })
        .unwrap_err();
    assert_eq!(err.downcast_ref::<Domain>(), Some(&Domain(7)));
    assert!(!StoreError::is_conflict(&err));
    assert_eq!(runs, 1, "an abort is not retried");
    assert_eq!(s.view(|tx| tx.get(Table::Users, "bob")).unwrap(), None);
}

fn reads_see_a_snapshot_of_committed_writes(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    for i in 0..20 {
        s.write(|tx| tx.put(Table::Policies, &format!("p{i:02}"), "{}"))
            .unwrap();
        assert_eq!(
            s.view(|tx| tx.scan(Table::Policies, "p")).unwrap().len(),
            i + 1,
            "a read after a commit sees it"
        );
    }
    s.write(|tx| {
        for i in 0..20 {
            tx.delete(Table::Policies, &format!("p{i:02}"))?;
        }
        Ok(())
    })
    .unwrap();
}

fn generation_moves_on_every_commit_but_sessions(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    let g0 = s.generation();
    s.write(|tx| tx.put(Table::Users, "gen", "{}")).unwrap();
    let g1 = s.generation();
    assert_ne!(g1, g0, "an IAM write invalidates caches");
    s.write_relaxed(|tx| tx.put(Table::Sessions, "ASIAGEN", r#"{"expires":1}"#))
        .unwrap();
    assert_eq!(
        s.generation(),
        g1,
        "session records do not invalidate caches"
    );
    let _ = s.write(|tx| -> anyhow::Result<()> {
        tx.put(Table::Users, "gen2", "{}")?;
        Err(Domain(1).into())
    });
    assert_eq!(
        s.generation(),
        g1,
        "a rolled-back transaction changes nothing"
    );
    s.write(|tx| tx.delete(Table::Users, "gen").map(drop))
        .unwrap();
    s.write(|tx| tx.delete(Table::Sessions, "ASIAGEN").map(drop))
        .unwrap();
    let g2 = s.generation();
    s.write(|tx| tx.put(Table::EcrBlobs, "sha256:gen", "{}"))
        .unwrap();
    s.write(|tx| tx.delete(Table::EcrBlobs, "sha256:gen").map(drop))
        .unwrap();
    assert_eq!(
        s.generation(),
        g2,
        "an image push does not invalidate IAM's caches"
    );
}

fn ecr_indexes_follow_their_rows(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    let keys = |t: Table, prefix: &str| -> Vec<String> {
        s.view(|tx| tx.scan(t, prefix))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    let image = |blobs: &[&str], manifests: &[&str]| {
        serde_json::json!({"blobs": blobs, "manifests": manifests}).to_string()
    };
    s.write(|tx| {
        tx.put(
            Table::EcrImages,
            "r1\0sha256:i",
            &image(&["sha256:a", "sha256:b"], &["sha256:c"]),
        )
    })
    .unwrap();
    assert_eq!(
        keys(Table::EcrRefs, "r1\0"),
        [
            "r1\0sha256:a\0b\0sha256:i",
            "r1\0sha256:b\0b\0sha256:i",
            "r1\0sha256:c\0m\0sha256:i"
        ]
    );
    s.write(|tx| tx.put(Table::EcrImages, "r1\0sha256:i", &image(&["sha256:b"], &[])))
        .unwrap();
    assert_eq!(keys(Table::EcrRefs, "r1\0"), ["r1\0sha256:b\0b\0sha256:i"]);
    s.write(|tx| tx.put(Table::EcrTags, "r1\0latest", "\"sha256:i\""))
        .unwrap();
    s.write(|tx| tx.put(Table::EcrLinks, "r1\0sha256:b", "{}"))
        .unwrap();
    s.write(|tx| tx.put(Table::EcrRepos, "us-east-1\0web", r#"{"id":255}"#))
        .unwrap();
    assert_eq!(keys(Table::EcrTagsByImage, ""), ["r1\0sha256:i\0latest"]);
    assert_eq!(keys(Table::EcrLinksByBlob, ""), ["sha256:b\0r1"]);
    assert_eq!(keys(Table::EcrRepoIds, ""), ["00000000000000ff"]);
    assert!(crate::check_indexes(&s).unwrap().is_empty());
    for (t, k) in [
        (Table::EcrImages, "r1\0sha256:i"),
        (Table::EcrTags, "r1\0latest"),
        (Table::EcrLinks, "r1\0sha256:b"),
        (Table::EcrRepos, "us-east-1\0web"),
    ] {
        s.write(|tx| tx.delete(t, k).map(drop)).unwrap();
    }
    for t in [
        Table::EcrRefs,
        Table::EcrTagsByImage,
        Table::EcrLinksByBlob,
        Table::EcrRepoIds,
    ] {
        assert!(keys(t, "").is_empty(), "{t:?}");
    }
}

fn jobs_run_once_per_period(kv: &Arc<dyn Kv>) {
    let hour = std::time::Duration::from_secs(3600);
    assert!(crate::jobs::claim(kv, "conformance-job", hour, "node-a").unwrap());
    assert!(!crate::jobs::claim(kv, "conformance-job", hour, "node-b").unwrap());
    assert_eq!(
        crate::jobs::last(kv, "conformance-job")
            .unwrap()
            .unwrap()
            .node,
        "node-a"
    );
    // A period of zero has always passed.
    assert!(
        crate::jobs::claim(kv, "conformance-job", std::time::Duration::ZERO, "node-b").unwrap()
    );
    assert_eq!(
        crate::jobs::last(kv, "conformance-job")
            .unwrap()
            .unwrap()
            .node,
        "node-b"
    );
}

fn concurrent_writers_lose_nothing(kv: &Arc<dyn Kv>) {
    const THREADS: usize = 4;
    const EACH: usize = 25;
    std::thread::scope(|sc| {
        for _ in 0..THREADS {
            sc.spawn(|| {
                let s = store(kv, A);
                for _ in 0..EACH {
                    s.write(|tx| {
                        let n: u64 = tx.get_json(Table::Meta, "counter")?.unwrap_or(0);
                        tx.put_json(Table::Meta, "counter", &(n + 1))
                    })
                    .unwrap();
                }
            });
        }
    });
    let n: u64 = store(kv, A)
        .view(|tx| tx.get_json(Table::Meta, "counter"))
        .unwrap()
        .unwrap();
    assert_eq!(n, (THREADS * EACH) as u64, "no increment is lost");
    store(kv, A)
        .write(|tx| tx.delete(Table::Meta, "counter").map(drop))
        .unwrap();
}

fn purge_sessions(kv: &Arc<dyn Kv>) {
    let (a, b) = (store(kv, A), store(kv, B));
    a.write(|tx| {
        tx.put(Table::Sessions, "ASIAOLD", r#"{"expires":100}"#)?;
        tx.put(Table::Sessions, "ASIANEW", r#"{"expires":300}"#)?;
        tx.put(Table::Sessions, "ASIANEW", r#"{"expires":301}"#) // upsert
    })
    .unwrap();
    b.write(|tx| tx.put(Table::Sessions, "ASIAOLDB", r#"{"expires":150}"#))
        .unwrap();
    assert_eq!(
        a.purge_expired(200).unwrap(),
        2,
        "every account's expired sessions"
    );
    assert_eq!(
        a.view(|tx| tx.get(Table::Sessions, "ASIAOLD")).unwrap(),
        None
    );
    assert_eq!(
        b.view(|tx| tx.get(Table::Sessions, "ASIAOLDB")).unwrap(),
        None
    );
    assert_eq!(
        a.view(|tx| tx.get(Table::Sessions, "ASIANEW"))
            .unwrap()
            .as_deref(),
        Some(r#"{"expires":301}"#)
    );
    a.write(|tx| tx.delete(Table::Sessions, "ASIANEW").map(drop))
        .unwrap();
}

/// A `Tx` is object-safe and usable through the typed helpers (compile-time check).
#[allow(dead_code)]
fn typed_helpers_work_on_dyn_tx(tx: &dyn Tx) -> anyhow::Result<Option<u64>> {
    tx.get_json(Table::Meta, "x")
}

fn indexes_follow_their_rows(kv: &Arc<dyn Kv>) {
    use super::owner_prefix;
    let s = store(kv, A);
    let index = |t: Table, user: Option<&str>| -> Vec<String> {
        s.view(|tx| tx.scan(t, &owner_prefix(user)))
            .unwrap()
            .into_iter()
            .map(|(_, base)| serde_json::from_str::<String>(&base).unwrap())
            .collect()
    };
    s.write(|tx| {
        tx.put(Table::GroupMembers, "admins\0alice", "{}")?;
        tx.put(Table::GroupMembers, "devs\0alice", "{}")?;
        tx.put(Table::GroupMembers, "devs\0alicex", "{}")?;
        tx.put(Table::AccessKeys, "AKIA1", r#"{"user":"Alice"}"#)?;
        tx.put(Table::AccessKeys, "AKIAROOT", r#"{"user":null}"#)?;
        tx.put(Table::MfaDevices, "arn:mfa/a", r#"{"user":"alice"}"#)?;
        tx.put(Table::MfaDevices, "arn:mfa/free", r#"{"user":null}"#)
    })
    .unwrap();
    assert_eq!(
        index(Table::UserGroups, Some("ALICE")),
        ["admins\0alice", "devs\0alice"]
    );
    assert_eq!(index(Table::KeysByOwner, Some("alice")), ["AKIA1"]);
    assert_eq!(index(Table::KeysByOwner, None), ["AKIAROOT"]);
    assert_eq!(index(Table::MfaByUser, Some("alice")), ["arn:mfa/a"]);
    // A row whose indexed field changes moves in the index; a deleted row leaves it.
    s.write(|tx| {
        tx.put(Table::AccessKeys, "AKIA1", r#"{"user":"bob"}"#)?;
        tx.delete(Table::GroupMembers, "admins\0alice").map(drop)
    })
    .unwrap();
    assert!(index(Table::KeysByOwner, Some("alice")).is_empty());
    assert_eq!(index(Table::KeysByOwner, Some("bob")), ["AKIA1"]);
    assert_eq!(index(Table::UserGroups, Some("alice")), ["devs\0alice"]);
    // An aborted transaction leaves the index as it was.
    let _ = s.write(|tx| -> anyhow::Result<()> {
        tx.delete(Table::AccessKeys, "AKIA1")?;
        Err(Domain(2).into())
    });
    assert_eq!(index(Table::KeysByOwner, Some("bob")), ["AKIA1"]);
    s.write(|tx| {
        for (t, k) in [
            (Table::GroupMembers, "devs\0alice"),
            (Table::GroupMembers, "devs\0alicex"),
            (Table::AccessKeys, "AKIA1"),
            (Table::AccessKeys, "AKIAROOT"),
            (Table::MfaDevices, "arn:mfa/a"),
            (Table::MfaDevices, "arn:mfa/free"),
        ] {
            tx.delete(t, k)?;
        }
        Ok(())
    })
    .unwrap();
    for t in [Table::UserGroups, Table::KeysByOwner, Table::MfaByUser] {
        assert!(
            s.view(|tx| tx.scan(t, "")).unwrap().is_empty(),
            "{t:?} is empty once its rows are gone"
        );
    }
}

fn check_finds_damage(kv: &Arc<dyn Kv>) {
    let s = store(kv, A);
    assert_eq!(
        super::check(&s).unwrap(),
        Vec::<String>::new(),
        "a healthy store"
    );
    s.write(|tx| {
        tx.put(Table::Users, "alice", r#"{"name":"alice"}"#)?;
        tx.put(Table::Groups, "devs", r#"{"name":"devs"}"#)?;
        tx.put(
            Table::GroupMembers,
            "devs\0alice",
            r#"{"group":"devs","user":"alice"}"#,
        )?;
        tx.put(Table::AccessKeys, "AKIAOK", r#"{"user":"alice"}"#)
    })
    .unwrap();
    assert!(
        super::check(&s).unwrap().is_empty(),
        "{:?}",
        super::check(&s).unwrap()
    );
    // Damage that only bypassing the store's own bookkeeping can cause.
    kv.transaction(Durability::Full, &mut |tx: &mut dyn RawTx| {
        tx.delete(Table::UserGroups, A, "alice\0devs")?;
        tx.put(Table::KeysByOwner, A, "bob\0AKIAGONE", r#""AKIAGONE""#)?;
        tx.put(Table::AccessKeys, A, "AKIAORPHAN", r#"{"user":"carol"}"#)?;
        tx.put(
            Table::Attachments,
            A,
            "user\0alice\0arn:x",
            r#"{"kind":"user","entity":"alice","policy_arn":"arn:x"}"#,
        )
    })
    .unwrap();
    let found = super::check(&s).unwrap().join("\n");
    for what in [
        "missing from idx_user_groups",
        "AKIAGONE",
        "missing user carol",
        "missing from idx_keys_by_owner",
        "missing policy arn:x",
    ] {
        assert!(found.contains(what), "{what} in:\n{found}");
    }
    kv.transaction(Durability::Full, &mut |tx: &mut dyn RawTx| {
        for (t, k) in [
            (Table::Users, "alice"),
            (Table::Groups, "devs"),
            (Table::GroupMembers, "devs\0alice"),
            (Table::AccessKeys, "AKIAOK"),
            (Table::KeysByOwner, "alice\0AKIAOK"),
            (Table::KeysByOwner, "bob\0AKIAGONE"),
            (Table::AccessKeys, "AKIAORPHAN"),
            (Table::Attachments, "user\0alice\0arn:x"),
        ] {
            tx.delete(t, A, k)?;
        }
        Ok(())
    })
    .unwrap();
    assert!(super::check(&s).unwrap().is_empty());
}
