//! The `ecr_api` target: [`kagi_fuzzcheck::ecr_api`] states what it checks (the same check replays
//! the committed seeds in the test suite: crates/fuzzcheck/tests/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kagi_fuzzcheck::ecr_api::check(data));
