//! The AWS CLI shorthand syntax (`--tags Key=team,Value=web`, `k=[a,b]`, `k={a=b}`, quotes):
//! any argument parses to a value or a ParamError message, never a panic.

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kagi_cli::params::shorthand(text);
}
