//! Prints how long inflating and parsing each service's model takes on first use (the CLI pays
//! this once per process for the one service it calls), and the embedded size of each.
//! `cargo run --release -p kagi-api --example model_load [SERVICE...]`
use std::time::Instant;

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let (mut total, mut packed) = (std::time::Duration::ZERO, 0);
    for &svc in kagi_api::services() {
        if !only.is_empty() && !only.iter().any(|n| n == svc.cli_name) {
            continue;
        }
        let t = Instant::now();
        let ops = svc.operations().len();
        let first = t.elapsed();
        total += first;
        packed += svc.compressed_len();
        let t = Instant::now();
        let _ = svc.operations().len();
        let again = t.elapsed();
        println!(
            "{}: {ops} operations, {} shapes, {} bytes embedded; first use {first:?}, then {again:?}",
            svc.cli_name,
            svc.shapes().len(),
            svc.compressed_len()
        );
    }
    println!("all: {packed} bytes embedded, {total:?} to decode every model");
}
