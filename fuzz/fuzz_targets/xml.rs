//! The `xml` target: [`kagi_fuzzcheck::xml`] states what it checks (the same check replays
//! the committed seeds in the test suite: crates/fuzzcheck/tests/replay.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kagi_fuzzcheck::xml::check(data));
