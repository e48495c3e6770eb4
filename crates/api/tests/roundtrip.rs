//! Round-trip properties: for every operation, a Value generated from its input/output shape
//! (respecting the model's constraints) survives encode → decode unchanged:
//! query requests (client encode → server decode), XML responses (server encode → client
//! decode), JSON 1.1 requests and responses.

mod common;

use common::{arb_string, arb_value, same, strip_empty, truncate_timestamps};
use kagi_api::{Protocol, json11, query, validate, xml};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    })
}

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(msg()))
    }
}

#[test]
fn query_requests_round_trip() {
    let mut ops = 0;
    for svc in common::served_services() {
        if !matches!(svc.protocol, Protocol::Query { .. }) {
            continue;
        }
        for op in svc.operations() {
            let Some(input) = op.input else { continue };
            ops += 1;
            let mut r = runner();
            r.run(&arb_value(svc, input, 0), |v| {
                let expected = strip_empty(svc, input, &v).unwrap_or(Value::Object(Map::new()));
                prop_assume!(validate::violations(svc, input, &expected).is_empty());
                let body = query::encode(op, svc, &v);
                let (op2, back) = query::decode(svc, &query::parse_form(body.as_bytes()))
                    .map_err(|e| TestCaseError::fail(format!("{e} for {body}")))?;
                check(op2.name == op.name, || format!("operation {}", op2.name))?;
                // Text comparison: member order counts (it is what the CLI prints).
                check(same(&back, &expected), || {
                    format!("\nsent     {expected}\nreceived {back}\nbody     {body}")
                })
            })
            .unwrap_or_else(|e| panic!("{}.{}: {e}", svc.cli_name, op.name));
        }
    }
    assert!(ops > 90, "only {ops} operations checked");
}

#[test]
fn xml_responses_round_trip() {
    let mut ops = 0;
    for svc in common::served_services() {
        if !matches!(svc.protocol, Protocol::Query { .. }) {
            continue;
        }
        for op in svc.operations() {
            let Some(output) = op.output else { continue };
            ops += 1;
            let mut r = runner();
            r.run(&arb_value(svc, output, 0), |v| {
                let body =
                    xml::encode_response(svc, op, &v, "11111111-2222-3333-4444-555555555555");
                let back = xml::decode_response(svc, op, &body)
                    .map_err(|e| TestCaseError::fail(format!("{e} for {body}")))?;
                // The streaming decoder and the tree-based one agree.
                let doc = xml::parse_document(&body).unwrap();
                let wrapper = doc.child(op.result_wrapper.unwrap()).unwrap();
                let tree = xml::decode_element(svc, output, wrapper).unwrap();
                check(same(&tree, &back), || {
                    format!("\ntree   {tree}\nstream {back}")
                })?;
                check(same(&back, &v), || {
                    format!("\nsent     {v}\nreceived {back}\nbody     {body}")
                })
            })
            .unwrap_or_else(|e| panic!("{}.{}: {e}", svc.cli_name, op.name));
        }
    }
    assert!(ops > 50, "only {ops} operations checked");
}

#[test]
fn json_requests_and_responses_round_trip() {
    let svc = kagi_api::service("ecr").unwrap();
    for op in svc.operations() {
        if let Some(input) = op.input {
            runner()
                .run(&arb_value(svc, input, 0), |v| {
                    let (target, body) = json11::encode_request(svc, op, &v);
                    let (op2, back) = json11::decode_request(svc, &target, &body).map_err(|e| {
                        TestCaseError::fail(format!("{e} for {}", String::from_utf8_lossy(&body)))
                    })?;
                    check(op2.name == op.name, || format!("operation {}", op2.name))?;
                    let expected = truncate_timestamps(svc, input, &v);
                    // Text comparison: member order counts (it is what the CLI prints).
                    check(same(&back, &expected), || {
                        format!("\nsent     {expected}\nreceived {back}")
                    })
                })
                .unwrap_or_else(|e| panic!("ecr.{} input: {e}", op.name));
        }
        if let Some(output) = op.output {
            runner()
                .run(&arb_value(svc, output, 0), |v| {
                    let body = json11::encode_response(op, &v);
                    let back = json11::decode_response(op, &body)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    check(same(&back, &v), || {
                        format!("\nsent     {v}\nreceived {back}")
                    })
                })
                .unwrap_or_else(|e| panic!("ecr.{} output: {e}", op.name));
        }
    }
}

#[test]
fn errors_round_trip() {
    let mut r = runner();
    let strat = (arb_string(1, 30), arb_string(0, 200), any::<bool>());
    r.run(&strat, |(code, message, sender)| {
        let err = kagi_api::ApiError {
            code: code.clone(),
            message: message.clone(),
            status: if sender { 400 } else { 500 },
            sender_fault: sender,
        };
        let iam = kagi_api::service("iam").unwrap();
        let back = xml::decode_error(&xml::encode_error(iam, &err, "rid")).expect("xml error");
        check(back == err, || format!("xml: {back:?} != {err:?}"))?;
        let back = json11::decode_error(&json11::encode_error(&err)).expect("json error");
        // JSON codes are identifiers; `#` and `:` are prefix/suffix separators there.
        if !code.contains(['#', ':']) {
            check(back.code == err.code && back.message == err.message, || {
                format!("json: {back:?} != {err:?}")
            })?;
        }
        Ok(())
    })
    .unwrap();
}
