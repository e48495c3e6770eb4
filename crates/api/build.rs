//! Packs the models for the binary (see ARCHITECTURE.md, "Every service is compiled in"):
//!
//! * `OUT_DIR/models.bin`: every `model/<name>.model`, raw-deflated (miniz_oxide), one after
//!   the other in the order of `model/catalog.txt`;
//! * `OUT_DIR/catalog_index.rs`: `MODEL_SPANS` (offset and length of each service's deflated
//!   model in `models.bin`, and the length of its text: inflated into a buffer of that size), `LINE_STARTS` (where each service's line starts in
//!   `catalog.txt`) and `CLI_NAMES` (`\nname\n...`, the CLI names in catalog order, searched
//!   for a command). Plain integers and one string: the table needs no relocation when the
//!   binary loads, so `kagi --version` pays nothing for 439 services.

use std::fmt::Write as _;
use std::path::Path;

/// The models `src/lib.rs` embeds as text (its `text_model`): not deflated into `models.bin`
/// (their span is empty).
const TEXT_MODELS: [&str; 5] = ["iam", "sts", "ecr", "ec2", "s3"];

fn main() {
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    println!("cargo:rerun-if-changed=model");
    let catalog = std::fs::read_to_string("model/catalog.txt").expect("model/catalog.txt");
    let mut blob: Vec<u8> = Vec::new();
    let (mut spans, mut starts, mut names) = (String::new(), String::new(), String::from("\n"));
    let mut count = 0;
    let mut at = 0;
    for line in catalog.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let mut fields = line.trim_end_matches('\n').split('\t');
        let name = fields.next().expect("name");
        if name == "alias" {
            continue;
        }
        let cli = fields.next().expect("cli name");
        let text = std::fs::read(Path::new("model").join(format!("{name}.model")))
            .unwrap_or_else(|e| panic!("model/{name}.model: {e}"));
        let packed = if TEXT_MODELS.contains(&name) {
            Vec::new()
        } else {
            miniz_oxide::deflate::compress_to_vec(&text, 9)
        };
        write!(
            spans,
            "({}, {}, {}), ",
            blob.len(),
            packed.len(),
            text.len()
        )
        .unwrap();
        write!(starts, "{start}, ").unwrap();
        names.push_str(cli);
        names.push('\n');
        blob.extend_from_slice(&packed);
        count += 1;
    }
    std::fs::write(Path::new(&out).join("models.bin"), &blob).expect("write models.bin");
    // S3's endpoint rule set and botocore's partitions (`rules.rs`), deflated the same way.
    for (src, dst) in [
        ("s3.endpoint-rules.json", "s3_rules.bin"),
        ("partitions.json", "partitions.bin"),
    ] {
        let text = std::fs::read(Path::new("model").join(src))
            .unwrap_or_else(|e| panic!("model/{src}: {e}"));
        std::fs::write(
            Path::new(&out).join(dst),
            miniz_oxide::deflate::compress_to_vec(&text, 9),
        )
        .unwrap_or_else(|e| panic!("write {dst}: {e}"));
    }
    let index = format!(
        "/// Offset and length of each service's deflated model in `models.bin`, and its text's length.\n\
         static MODEL_SPANS: [(u32, u32, u32); {count}] = [{spans}];\n\
         /// Where each service's line starts in `catalog.txt`.\n\
         static LINE_STARTS: [u32; {count}] = [{starts}];\n\
         /// The CLI names, `\\n`-separated, in catalog order.\n\
         static CLI_NAMES: &str = {names:?};\n"
    );
    std::fs::write(Path::new(&out).join("catalog_index.rs"), index).expect("write index");
}
