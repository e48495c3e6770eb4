//! Prints how long each service's model takes on first use (inflating it and indexing it: the
//! CLI pays this once per process for the one service it calls), how long decoding every one of
//! its shapes then takes (a command decodes only the shapes its operation reaches), and the
//! embedded size of each.
//! `cargo run --release -p kagi-api --example model_load [SERVICE...]`
use std::time::{Duration, Instant};

fn main() {
    let only: Vec<String> = std::env::args().skip(1).collect();
    let (mut total, mut all_shapes, mut packed) = (Duration::ZERO, Duration::ZERO, 0);
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
        let shapes = svc.shapes().count();
        let decode = t.elapsed();
        all_shapes += decode;
        println!(
            "{}: {ops} operations, {shapes} shapes, {} bytes embedded; first use {first:?}, \
             every shape decoded {decode:?}",
            svc.cli_name,
            svc.compressed_len()
        );
    }
    println!(
        "all: {packed} bytes embedded, {total:?} to index every model, {all_shapes:?} to decode \
         every shape"
    );
}
