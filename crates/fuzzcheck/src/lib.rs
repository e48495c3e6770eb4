//! The fuzz targets' checks (fuzz/README.md) as plain functions: `fuzz/fuzz_targets/*` hand
//! libFuzzer's inputs to them, and `tests/replay.rs` replays the committed seeds
//! (`fuzz/seeds/TARGET/*`) through them on stable in every test run, so an input that once
//! found a bug stays a regression test. Each module states its invariants; its `check` panics
//! when one does not hold, and only then.

pub mod cbor;
pub mod ecr_api;
pub mod ini;
pub mod json11;
pub mod manifest;
pub mod policy;
pub mod query;
pub mod range;
pub mod registry_route;
pub mod shorthand;
pub mod sigv4;
pub mod xml;

/// A target's check of one input.
pub type Check = fn(&[u8]);

/// Every target by name, as `fuzz/seeds/NAME` and `cargo fuzz run NAME` name it.
pub const TARGETS: &[(&str, Check)] = &[
    ("cbor", cbor::check),
    ("ecr_api", ecr_api::check),
    ("ini", ini::check),
    ("json11", json11::check),
    ("manifest", manifest::check),
    ("policy", policy::check),
    ("query", query::check),
    ("range", range::check),
    ("registry_route", registry_route::check),
    ("shorthand", shorthand::check),
    ("sigv4", sigv4::check),
    ("xml", xml::check),
];
