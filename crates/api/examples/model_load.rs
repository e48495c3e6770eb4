//! Prints how long parsing each service's model takes on first use (the CLI pays this once per
//! process for the one service it calls). `cargo run --release -p kagi-api --example model_load`
use std::time::Instant;

fn main() {
    for svc in kagi_api::services() {
        let t = Instant::now();
        let ops = svc.operations().len();
        let first = t.elapsed();
        let t = Instant::now();
        let _ = svc.operations().len();
        let again = t.elapsed();
        println!(
            "{}: {ops} operations, {} shapes; first use {first:?}, then {again:?}",
            svc.cli_name,
            svc.shapes().len()
        );
    }
}
