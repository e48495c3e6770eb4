//! The `kagi` binary only dispatches: `serve` to the server, `backup --to` / `restore --from`
//! to the data directory's backup, `demo` to the seed-story walk-through, everything else to
//! the AWS-CLI-compatible client.
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
    // `backup` is also AWS Backup's service name: `kagi backup --to DIR` (and `restore
    // --from`) are kagi's own only with that flag and not when run as `aws`; anything else is
    // the AWS CLI's `backup` (`kagi backup list-backup-plans`).
    let own = |flag: &str| {
        !invoked_as_aws(&args)
            && args[2..].iter().any(|a| {
                a.to_str()
                    .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
            })
    };
    match args.get(1).and_then(|a| a.to_str()) {
        Some("serve") => kagi_server::serve_main(&args[2..]),
        Some("backup") if own("--to") => kagi_server::backup::backup_main(&args[2..]),
        Some("restore") if own("--from") => kagi_server::backup::restore_main(&args[2..]),
        Some("demo") => demo::main(&args[2..]),
        _ => kagi_cli::main_with_args(args),
    }
}

/// Whether the binary runs through a link named `aws`.
fn invoked_as_aws(args: &[std::ffi::OsString]) -> bool {
    args.first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "aws")
}
