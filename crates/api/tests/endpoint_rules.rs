//! S3's endpoint rule set test cases (`tests/functional/endpoint-rules/s3/endpoint-tests-1.json`
//! of the pinned botocore's source distribution, Apache-2.0) run against kagi-api's rule set
//! evaluator (`kagi_api::rules`): every case's expected URL, properties (auth schemes, signing
//! names and regions) and headers, or its error message, exactly. The compiled-in rule set
//! must also be the sdist's own (`botocore/data/s3/2006-03-01/endpoint-rule-set-1.json`).
//!
//! `KAGI_BOTOCORE_SRC` names the unpacked sdist (as for `protocols.rs`); without it the test
//! says so and checks nothing; under `CI` that is a failure.

use serde_json::{Map, Value};
use std::path::PathBuf;

fn sdist() -> Option<PathBuf> {
    match std::env::var("KAGI_BOTOCORE_SRC") {
        Ok(s) => Some(PathBuf::from(s)),
        Err(_) => {
            println!("endpoint rules: KAGI_BOTOCORE_SRC is not set, so nothing was checked");
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but botocore's endpoint rule tests are not available"
            );
            None
        }
    }
}

fn read_json(p: PathBuf) -> Value {
    let text = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn compiled_in_rule_set_is_the_pinned_botocores() {
    let Some(src) = sdist() else { return };
    let theirs = read_json(src.join("botocore/data/s3/2006-03-01/endpoint-rule-set-1.json"));
    assert!(
        &theirs == kagi_api::rules::s3(),
        "crates/api/model/s3.endpoint-rules.json differs from the pinned botocore's rule set: run tools/gen-model.py"
    );
}

#[test]
fn s3_endpoint_rule_set_test_cases() {
    let Some(src) = sdist() else { return };
    let suite = read_json(src.join("tests/functional/endpoint-rules/s3/endpoint-tests-1.json"));
    let cases = suite["testCases"].as_array().expect("testCases");
    assert!(cases.len() > 300, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let doc = case["documentation"].as_str().unwrap_or_default();
        let params: Map<String, Value> = case["params"].as_object().cloned().unwrap_or_default();
        let got = kagi_api::rules::resolve(kagi_api::rules::s3(), &params);
        let expect = &case["expect"];
        let ok = match (&got, expect.get("error"), expect.get("endpoint")) {
            (Err(msg), Some(Value::String(want)), _) => msg == want,
            (Ok(ep), None, Some(want)) => {
                let empty = || Value::Object(Map::new());
                let props = |v: Option<&Value>| match v {
                    None | Some(Value::Null) => empty(),
                    Some(v) => v.clone(),
                };
                ep.url == want["url"].as_str().unwrap_or_default()
                    && props(Some(&ep.properties)) == props(want.get("properties"))
            }
            _ => false,
        };
        let headers_ok = match (&got, expect.get("endpoint").and_then(|e| e.get("headers"))) {
            (Ok(ep), Some(Value::Object(h))) => ep.headers == *h,
            (Ok(ep), None) => ep.headers.is_empty(),
            _ => true,
        };
        if !(ok && headers_ok) {
            failures.push(format!(
                "{doc}: params {params:?}\n  expected {expect}\n  got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
