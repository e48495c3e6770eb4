//! `kagi demo`: walks the seed story end to end against an in-process server.

use std::ffi::OsString;
use std::process::ExitCode;

pub fn main(_args: &[OsString]) -> ExitCode {
    eprintln!("kagi demo: not yet implemented");
    ExitCode::from(2)
}
