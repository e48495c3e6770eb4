//! A short run of the mixed load (`benches/mixed.rs` runs the long one and prints figures):
//! 50 connections for 5 s of signed STS, IAM and ECR calls beside registry pushes and pulls
//! (`tests/support/load.rs`). It fails on any answer but the expected ones (2xx, and the
//! deliberate AccessDenied), and when an operation of the mix never ran. Timings are printed,
//! never asserted. `MIXED_CONNECTIONS` and `MIXED_SECONDS` make it longer.

#[path = "support/load.rs"]
mod load;
mod support;

#[test]
fn mixed_load_smoke_has_no_unexpected_answer() {
    let cfg = load::Config::from_env(load::Config {
        connections: 50,
        seconds: 5.0,
        pushers: 2,
        pullers: 2,
        skopeo: 1,
    });
    let data = tempfile::tempdir().unwrap();
    let server = support::Server::start(data.path(), &["--log", "warn"]);
    let report = load::run(server.at, server.pid(), &cfg);
    report.print();
    assert_eq!(
        report.errors(),
        0,
        "unexpected answers: {:#?}",
        report.error_samples
    );
    for (op, _) in load::MIX {
        let ran = report.ops.get(op).map_or(0, |o| o.count());
        assert!(ran > 0, "{op} never ran");
    }
    let skopeo: &[&str] = if cfg.skopeo > 0 {
        &["skopeo push", "skopeo pull"]
    } else {
        &[]
    };
    for op in ["registry push (chunked)", "registry pull"]
        .iter()
        .chain(skopeo)
    {
        assert!(
            report.ops.get(op).is_some_and(|o| o.count() > 0),
            "{op} never ran"
        );
    }
    assert!(
        report.ops["iam DeleteRole (denied)"].denied > 0,
        "the deliberate denial was never answered"
    );
}
