//! Round-trip properties: for every operation, a Value generated from its input/output shape
//! (respecting the model's constraints) survives encode → decode unchanged:
//! query requests (client encode → server decode), XML responses (server encode → client
//! decode), JSON 1.1 requests and responses.

use kagi_api::{Protocol, Service, ShapeId, ShapeKind, Timestamp, json11, query, validate, xml};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Number, Value};

const MAX_DEPTH: u32 = 5;

fn arb_string(min: usize, max: usize) -> BoxedStrategy<String> {
    let max = max.max(min);
    let hi = max.min(min + 12);
    prop_oneof![
        4 => proptest::collection::vec(any::<char>().prop_filter("XML-representable", |c| {
            !c.is_control() && !matches!(*c, '\u{FFFE}' | '\u{FFFF}')
        }), min..=hi),
        1 => proptest::collection::vec(
            prop::sample::select(vec!['a', ' ', '\t', '\n', '\r', '&', '<', '>', '"', '\'', '=', '.', '+', '%', '/', 'é', '😀']),
            min..=hi
        ),
    ]
    .prop_map(|v| v.into_iter().collect())
    .boxed()
}

fn arb_value(svc: &'static Service, id: ShapeId, depth: u32) -> BoxedStrategy<Value> {
    let shape = svc.shape(id);
    let min = shape.min.unwrap_or(0).max(0) as usize;
    let max = shape.max.map(|m| m as usize);
    match &shape.kind {
        ShapeKind::Structure { members } => {
            let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = members
                .iter()
                .map(|m| {
                    let name = m.name.to_string();
                    let inner = arb_value(svc, m.shape, depth + 1);
                    if m.required {
                        inner.prop_map(move |v| Some((name.clone(), v))).boxed()
                    } else if depth >= MAX_DEPTH {
                        Just(None).boxed()
                    } else {
                        proptest::option::of(inner.prop_map(move |v| (name.clone(), v))).boxed()
                    }
                })
                .collect();
            let first = members.first().map(|m| (m.name, m.shape));
            let fallback = first.map(|(n, s)| (n.to_string(), arb_value(svc, s, depth + 1)));
            match fallback {
                None => Just(Value::Object(Map::new())).boxed(),
                Some((fname, fstrat)) => (parts, fstrat)
                    .prop_map(move |(fields, fvalue)| {
                        let mut obj = Map::new();
                        for (k, v) in fields.into_iter().flatten() {
                            obj.insert(k, v);
                        }
                        // Never an empty structure: the query protocol cannot carry one.
                        if obj.is_empty() {
                            obj.insert(fname.clone(), fvalue);
                        }
                        Value::Object(obj)
                    })
                    .boxed(),
            }
        }
        ShapeKind::List { member } => {
            let hi = if depth >= MAX_DEPTH {
                min
            } else {
                max.unwrap_or(3).min(min + 3)
            };
            proptest::collection::vec(arb_value(svc, *member, depth + 1), min..=hi.max(min))
                .prop_map(Value::Array)
                .boxed()
        }
        ShapeKind::Map { key, value } => {
            let lo = min.max(1);
            let hi = max.unwrap_or(3).min(lo + 2).max(lo);
            proptest::collection::vec(
                (
                    arb_value(svc, *key, depth + 1),
                    arb_value(svc, *value, depth + 1),
                ),
                lo..=hi,
            )
            .prop_map(|entries| {
                let mut obj = Map::new();
                for (k, v) in entries {
                    if let Value::String(k) = k {
                        obj.insert(k, v);
                    }
                }
                Value::Object(obj)
            })
            .boxed()
        }
        ShapeKind::String if !shape.enum_values.is_empty() => {
            prop::sample::select(shape.enum_values.clone())
                .prop_map(|s| Value::String(s.to_string()))
                .boxed()
        }
        ShapeKind::String => {
            let max = max.unwrap_or(if shape.pattern.is_some() {
                usize::MAX
            } else {
                min + 12
            });
            let base = match shape.pattern {
                Some(p) => {
                    match proptest::string::string_regex(&generation_regex(p, min.max(4).min(max)))
                    {
                        Ok(strategy) => strategy.boxed(),
                        Err(_) => arb_string(min, max),
                    }
                }
                None => arb_string(min, max),
            };
            base.prop_filter("length and pattern constraints", move |s| {
                let n = s.chars().count();
                n >= min && n <= max && shape.matches_pattern(s)
            })
            .prop_map(Value::String)
            .boxed()
        }
        ShapeKind::Blob => proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(|bytes| Value::String(base64(&bytes)))
            .boxed(),
        ShapeKind::Integer | ShapeKind::Long => {
            let (lo, hi) = if matches!(shape.kind, ShapeKind::Integer) {
                (i32::MIN as i64, i32::MAX as i64)
            } else {
                (i64::MIN, i64::MAX)
            };
            let lo = shape.min.unwrap_or(lo);
            let hi = shape.max.unwrap_or(hi);
            (lo..=hi).prop_map(|n| Value::Number(n.into())).boxed()
        }
        ShapeKind::Double | ShapeKind::Float => {
            let lo = shape.min.map(|m| m as f64).unwrap_or(-1e12);
            let hi = shape.max.map(|m| m as f64).unwrap_or(1e12);
            (lo..=hi)
                .prop_map(|f| Value::Number(Number::from_f64(f).unwrap()))
                .boxed()
        }
        ShapeKind::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        ShapeKind::Timestamp => (
            0i64..4_000_000_000,
            prop_oneof![Just(0u32), 0u32..1_000_000],
        )
            .prop_map(|(secs, micros)| Value::String(Timestamp { secs, micros }.to_value_string()))
            .boxed(),
    }
}

/// Turns a model (Java) pattern into a regex to generate values from: Java's `\w` and `\d`
/// are ASCII-only while Rust's regex is Unicode; repetitions are bounded to keep values short;
/// lookaheads and anchors are dropped (the filter checks the real pattern).
fn generation_regex(java: &str, reps: usize) -> String {
    let mut out = String::new();
    let mut in_class = false;
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('w') if in_class => out.push_str("a-zA-Z0-9_"),
                Some('w') => out.push_str("[a-zA-Z0-9_]"),
                Some('d') if in_class => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let rest: String = chars.clone().take(2).collect();
                if rest == "?!" || rest == "?=" {
                    // Drop the lookahead (generate a superset; the filter checks the rest).
                    let mut depth = 1;
                    for d in chars.by_ref() {
                        match d {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        if depth == 0 {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            // Short values: unbounded repetition would generate kilobytes.
            '*' if !in_class => out.push_str(&format!("{{0,{reps}}}")),
            '+' if !in_class => out.push_str(&format!("{{1,{reps}}}")),
            // Whole-string matching: anchors add nothing (and the generator rejects them).
            '^' | '$' if !in_class => {}
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The query protocol cannot carry an empty structure or map: they vanish on the wire.
fn strip_empty(svc: &'static Service, id: ShapeId, v: &Value) -> Option<Value> {
    let shape = svc.shape(id);
    match (&shape.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(obj)) => {
            let mut out = Map::new();
            for m in members {
                if let Some(x) = obj.get(m.name).and_then(|x| strip_empty(svc, m.shape, x)) {
                    out.insert(m.name.to_string(), x);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        (ShapeKind::Map { .. }, Value::Object(obj)) if obj.is_empty() => None,
        (ShapeKind::List { member }, Value::Array(items)) => Some(Value::Array(
            items
                .iter()
                .filter_map(|x| strip_empty(svc, *member, x))
                .collect(),
        )),
        _ => Some(v.clone()),
    }
}

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
    for svc in kagi_api::services() {
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
                check(back == expected, || {
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
    for svc in kagi_api::services() {
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
                check(back == v, || {
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
                    check(back == v, || format!("\nsent     {v}\nreceived {back}"))
                })
                .unwrap_or_else(|e| panic!("ecr.{} input: {e}", op.name));
        }
        if let Some(output) = op.output {
            runner()
                .run(&arb_value(svc, output, 0), |v| {
                    let body = json11::encode_response(op, &v);
                    let back = json11::decode_response(op, &body)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    check(back == v, || format!("\nsent     {v}\nreceived {back}"))
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
