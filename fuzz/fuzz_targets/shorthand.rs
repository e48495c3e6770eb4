//! The AWS CLI shorthand syntax (`--tags Key=team,Value=web`, `k=[a,b]`, `k={a=b}`, quotes):
//! any argument parses to a value or a ParamError message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kagi_cli::params::shorthand(text);
});
