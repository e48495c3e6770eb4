//! The grammar corpus: `tests/corpus/parse.json`. Each case is a document, its policy type,
//! and either `ok` or IAM's error message (optionally with the position and a fragment of the
//! human sentence). Every case cites the rule it checks.

use kagi_policy::{PolicyType, parse};
use serde_json::Value;

#[test]
fn parse_corpus() {
    let data: Value = serde_json::from_str(include_str!("corpus/parse.json")).unwrap();
    let cases = data["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        assert!(
            c["rule"].as_str().unwrap().len() > 10,
            "{name} cites nothing"
        );
        let t = match c["type"].as_str().unwrap() {
            "IDENTITY" => PolicyType::Identity,
            "RESOURCE" => PolicyType::Resource,
            "TRUST" => PolicyType::Trust,
            other => panic!("{other}"),
        };
        let text = c["text"].as_str().unwrap();
        let expect = c["expect"].as_str().unwrap();
        match (parse(text, t), expect) {
            (Ok(_), "ok") => {}
            (Ok(_), _) => failures.push(format!("{name}: parsed, expected {expect}")),
            (Err(e), "ok") => failures.push(format!("{name}: expected ok, got {e}")),
            (Err(e), _) => {
                if e.code.as_str() != "MalformedPolicyDocument" || e.message != expect {
                    failures.push(format!("{name}: expected {expect}, got {e}"));
                }
                if let Some(line) = c.get("line").and_then(Value::as_u64) {
                    let col = c["column"].as_u64().unwrap();
                    let p = e.position.unwrap_or_default();
                    if (u64::from(p.line), u64::from(p.column)) != (line, col) {
                        failures.push(format!(
                            "{name}: expected line {line} column {col}, got {}:{} ({e})",
                            p.line, p.column
                        ));
                    }
                }
                if let Some(d) = c.get("detail").and_then(Value::as_str)
                    && !e.detail.contains(d)
                {
                    failures.push(format!("{name}: detail {:?} lacks {d:?}", e.detail));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
