//! The event history at scale: LookupEvents over 1,000,000 stored events (SQLite in a
//! temporary directory, written as the recorder writes them), p50/p99 per kind of lookup.
//!
//!     cargo bench -p kagi-server --bench trail
//!     BENCH_EVENTS=200000 ...          # fewer events
//!
//! Prints figures; asserts nothing about time (see crates/server/benches/RESULTS.md).

use kagi_server::caller::{Caller, Principal};
use kagi_server::store::{AccountStore, Kv, StoreExt};
use kagi_server::trail::{Event, Identity, lookup};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

const ACCOUNT: &str = "123456789012";

fn caller(i: usize) -> Caller {
    Caller {
        principal: Principal::User {
            name: format!("user-{i}"),
            id: format!("AIDA{i:016}"),
            path: "/".into(),
        },
        account_id: ACCOUNT.into(),
        access_key_id: format!("AKIA{i:016}"),
        session: None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes
    }
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn Kv> = Arc::new(
        kagi_server::store::sqlite::SqliteStore::open(&dir.path().join("kagi.db")).unwrap(),
    );
    // 100 users, 20 operation names, one event a millisecond over the last n ms; user-7 is rare
    // (one event in 10,000).
    let names = [
        "GetCallerIdentity",
        "AssumeRole",
        "ListUsers",
        "GetUser",
        "CreateUser",
        "PutImage",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "BatchGetImage",
        "GetAuthorizationToken",
        "DescribeRepositories",
        "ListRoles",
        "GetRole",
        "PutUserPolicy",
        "CreateAccessKey",
        "DeleteUser",
        "ListPolicies",
        "GetPolicy",
        "TagUser",
    ];
    let now = kagi_server::trail::now_ms();
    let start = now - n as i64;
    let seq = AtomicU64::new(0);
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let user = if i % 10_000 == 7 { 7 } else { 10 + i % 90 };
        let name = names[i % names.len()];
        let source = if name.contains("Image")
            || name.contains("Layer")
            || name.contains("Repositor")
            || name == "GetAuthorizationToken"
        {
            "ecr.amazonaws.com"
        } else if name == "AssumeRole" || name == "GetCallerIdentity" {
            "sts.amazonaws.com"
        } else {
            "iam.amazonaws.com"
        };
        let mut e = Event::new(start + i as i64, ACCOUNT, source, name);
        e.identity = kagi_server::trail::record::who(&Identity::Caller(caller(user)));
        e.user_agent = "aws-cli/2.9.19 Python/3.11".into();
        e.request_id = format!("{i:032x}");
        if source == "ecr.amazonaws.com" {
            e.set_request(
                &serde_json::json!({"repositoryName": "test-repos", "registryId": ACCOUNT}),
            );
            e.resources.push((
                format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/test-repos"),
                "AWS::ECR::Repository".into(),
            ));
        }
        batch.push(e);
        if batch.len() == 10_000 {
            kagi_server::trail::segment::write(
                &kv,
                "bench",
                &seq,
                std::mem::take(&mut batch),
                false,
            )
            .unwrap();
        }
    }
    kagi_server::trail::segment::write(&kv, "bench", &seq, batch, true).unwrap();
    let wrote = t0.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "wrote {n} events in {wrote:.1} s ({:.0} events/s by the writer), store {:.0} MiB ({:.0} bytes/event)",
        n as f64 / wrote,
        size as f64 / 1048576.0,
        size as f64 / n as f64
    );
    let store = AccountStore::new(kv.clone(), ACCOUNT);
    let run = |label: &str, q: &lookup::Query| {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..50 {
            let t = Instant::now();
            let (events, _) = store.view(|tx| lookup::find(tx, ACCOUNT, q)).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            found = events.len();
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{label:<52} p50 {:6.2} ms   p99 {:6.2} ms   ({found} events a page)",
            times[times.len() / 2],
            times[times.len() * 99 / 100]
        );
    };
    let attr = |k: &str, v: &str| lookup::Query {
        attribute: Some((k.into(), v.into())),
        max: 50,
        ..Default::default()
    };
    run(
        "newest 50, no filter",
        &lookup::Query {
            max: 50,
            ..Default::default()
        },
    );
    run(
        "EventName=CreateUser (1 in 20)",
        &attr("EventName", "CreateUser"),
    );
    run("Username=user-7 (1 in 10,000)", &attr("Username", "user-7"));
    run(
        "AccessKeyId of user-42",
        &attr("AccessKeyId", &format!("AKIA{:016}", 42)),
    );
    run(
        "ResourceName=test-repos",
        &attr("ResourceName", "test-repos"),
    );
    run("ReadOnly=false", &attr("ReadOnly", "false"));
    run(
        "a day-old window, no filter (the oldest events)",
        &lookup::Query {
            end_ms: Some(start + 60_000),
            max: 50,
            ..Default::default()
        },
    );
    run(
        "EventName=PutImage, page 2 (after a token)",
        &lookup::Query {
            attribute: Some(("EventName".into(), "PutImage".into())),
            max: 50,
            after: Some((now - 100_000, "ffffffff-ffff-7fff-bfff-ffffffffffff".into())),
            ..Default::default()
        },
    );
}
