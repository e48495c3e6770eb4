//! The client alone, for benchmarks and manual checks while the workspace binary is unavailable:
//! `cargo run -p kagi-cli --example kagi-cli -- sts get-caller-identity`.

fn main() -> std::process::ExitCode {
    kagi_cli::main_with_args(std::env::args_os().collect())
}
