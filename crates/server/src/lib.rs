//! kagi-server: IAM, STS and ECR on loopback (skeleton; see ARCHITECTURE.md).

use std::ffi::OsString;
use std::process::ExitCode;

/// Entry point of `kagi serve ARGS`.
pub fn serve_main(_args: &[OsString]) -> ExitCode {
    eprintln!("kagi serve: not yet implemented");
    ExitCode::from(2)
}
