//! Compresses every `model/*.model` into `OUT_DIR` as raw
//! deflate; `model/catalog.rs` embeds them with `include_bytes!` and kagi-api inflates a
//! service's model on its first use (see src/model.rs and ARCHITECTURE.md).

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let dir = Path::new("model");
    println!("cargo:rerun-if-changed=model");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("model directory")
        .map(|e| e.expect("model entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("model")))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read(&path).expect("read model");
        let packed = miniz_oxide::deflate::compress_to_vec(&text, 9);
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        std::fs::write(Path::new(&out).join(format!("{name}.z")), packed).expect("write");
    }
}
