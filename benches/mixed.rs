//! Mixed load against a real `kagi serve` (the `kagi` binary, a child process): 1,000
//! keep-alive connections for 60 s by default, each looping over signed STS, IAM and ECR calls,
//! beside registry pushes (chunked) and pulls; prints per operation the answers, deliberate
//! denials, unexpected answers, p50/p99/max latency, and the server's idle and peak RSS.
//! The generator is `tests/support/load.rs` (shared with the smoke test `tests/mixed_load.rs`).
//!
//!     cargo bench --bench mixed                                    # SQLite + files, 1,000 × 60 s
//!     MIXED_CONNECTIONS=50 MIXED_SECONDS=5 cargo bench --bench mixed
//!     MIXED_PUSHERS=4 MIXED_PULLERS=4 MIXED_SKOPEO=2 ...           # registry threads (default 4 + 4, 2 skopeo)
//!     MIXED_BACKEND=postgres KAGI_COMPAT_VENV=target/pyvenv cargo bench --bench mixed
//!                      # rows in a throw-away PostgreSQL, blobs in moto's S3 (kagi-testkit)
//!
//! Figures print to stdout; nothing is asserted but that the run had no unexpected answer
//! (exit 1 otherwise), so a broken server does not print a flattering table.

#[path = "../tests/support/load.rs"]
mod load;
#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes
    }
    let cfg = load::Config::from_env(load::Config {
        connections: 1000,
        seconds: 60.0,
        pushers: 4,
        pullers: 4,
        skopeo: 2,
    });
    let data = tempfile::tempdir().unwrap();
    let backend = std::env::var("MIXED_BACKEND").unwrap_or_default();
    let mut extra: Vec<String> = vec!["--log".into(), "warn".into()];
    let _s3 = if backend == "postgres" {
        let pg = kagi_testkit::postgres::shared()
            .expect("MIXED_BACKEND=postgres needs PostgreSQL's server binaries");
        let s3 = kagi_testkit::s3::required("mixed")
            .expect("MIXED_BACKEND=postgres needs KAGI_COMPAT_VENV (moto's S3 server)");
        s3.create_bucket("mixed");
        extra.extend([
            "--database-url".into(),
            pg.new_database(),
            "--blob-store".into(),
            "s3://mixed".into(),
            "--s3-endpoint".into(),
            s3.endpoint.clone(),
        ]);
        Some(s3)
    } else {
        None
    };
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = support::Server::start(data.path(), &extra);
    println!(
        "kagi serve ({}), {} cores",
        if backend == "postgres" {
            "PostgreSQL + S3 (moto), throw-away, on loopback"
        } else {
            "data dir: SQLite WAL + blob files"
        },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let report = load::run(server.at, server.pid(), &cfg);
    report.print();
    if report.errors() > 0 {
        std::process::exit(1);
    }
}
