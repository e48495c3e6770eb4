//! kagi-cli: the AWS-CLI-compatible client (skeleton; see ARCHITECTURE.md).

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the client with the full argv (argv[0] included) and returns the exit code.
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    if args.get(1).and_then(|a| a.to_str()) == Some("--version") {
        println!("kagi/{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    eprintln!("kagi: not yet implemented");
    ExitCode::from(255)
}
