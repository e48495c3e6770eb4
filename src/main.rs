//! The `kagi` binary only dispatches: `serve` to the server, `demo` to the
//! seed-story walk-through, everything else to the AWS-CLI-compatible client.
//! Invoked through a link named `aws`, it behaves exactly like the client.

use std::process::ExitCode;

mod demo;
mod progress;

/// mimalloc: the server allocates many small, short-lived strings per request; with glibc's
/// allocator malloc/free took ~15% of a request's CPU, with mimalloc a quarter less CPU per
/// signed request in `cargo bench -p kagi-server --bench throughput` (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("serve") => kagi_server::serve_main(&args[2..]),
        Some("demo") => demo::main(&args[2..]),
        _ => kagi_cli::main_with_args(args),
    }
}
