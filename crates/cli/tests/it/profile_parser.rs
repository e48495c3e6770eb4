//! The 65 cross-SDK profile parser cases (aws-runtime 1.10.2 `test-data/profile-parser-tests.json`).

use kagi_cli::ini::ProfileSet;
use serde_json::{Map, Value};

#[test]
fn cross_sdk_profile_parser_cases() {
    let text = include_str!("../data/profile-parser-tests.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 65);
    let mut failures = Vec::new();
    for t in tests {
        let name = t["name"].as_str().unwrap();
        let config = t["input"]["configFile"].as_str();
        let creds = t["input"]["credentialsFile"].as_str();
        let result = ProfileSet::load(config, creds);
        let out = &t["output"];
        if let Some(expected_err) = out.get("errorContaining").and_then(Value::as_str) {
            match result {
                Err(e) if e.message.contains(expected_err) => {}
                other => failures.push(format!(
                    "{name}: expected error containing {expected_err:?}, got {other:?}"
                )),
            }
            continue;
        }
        let set = match result {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{name}: unexpected error {e}"));
                continue;
            }
        };
        let profiles: Map<String, Value> = set
            .profiles
            .iter()
            .map(|(n, p)| {
                (
                    n.clone(),
                    Value::Object(
                        p.0.iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect(),
                    ),
                )
            })
            .collect();
        if Value::Object(profiles.clone()) != out["config"]["profiles"] {
            failures.push(format!(
                "{name}: profiles {profiles:?} != {}",
                out["config"]["profiles"]
            ));
        }
        if let Some(sso) = out["config"].get("sso_sessions") {
            let got: Map<String, Value> = set
                .sso_sessions
                .iter()
                .map(|(n, p)| {
                    (
                        n.clone(),
                        Value::Object(
                            p.0.iter()
                                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                .collect(),
                        ),
                    )
                })
                .collect();
            if &Value::Object(got.clone()) != sso {
                failures.push(format!("{name}: sso_sessions {got:?} != {sso}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
