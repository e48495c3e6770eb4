//! Shape-driven value generators shared by the property tests: a Value for any shape that
//! respects the model's constraints (required members, lengths, ranges, enums, patterns).

#![allow(dead_code)]

use kagi_api::{Service, ShapeId, ShapeKind, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const MAX_DEPTH: u32 = 5;

pub fn arb_string(min: usize, max: usize) -> BoxedStrategy<String> {
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

pub fn arb_value(svc: &'static Service, id: ShapeId, depth: u32) -> BoxedStrategy<Value> {
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
            if shape.union {
                // Exactly one member.
                let choices: Vec<BoxedStrategy<Value>> = members
                    .iter()
                    .map(|m| {
                        let name = m.name.to_string();
                        arb_value(svc, m.shape, depth + 1)
                            .prop_map(move |v| {
                                let mut obj = Map::new();
                                obj.insert(name.clone(), v);
                                Value::Object(obj)
                            })
                            .boxed()
                    })
                    .collect();
                return proptest::strategy::Union::new(choices).boxed();
            }
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

pub fn base64(bytes: &[u8]) -> String {
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
pub fn strip_empty(svc: &'static Service, id: ShapeId, v: &Value) -> Option<Value> {
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

/// `v` with every timestamp cut to whole seconds (JSON requests carry whole epoch seconds).
pub fn truncate_timestamps(svc: &'static Service, id: ShapeId, v: &Value) -> Value {
    let shape = svc.shape(id);
    match (&shape.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, x) in obj {
                let x = match members.iter().find(|m| m.name == k) {
                    Some(m) => truncate_timestamps(svc, m.shape, x),
                    None => x.clone(),
                };
                out.insert(k.clone(), x);
            }
            Value::Object(out)
        }
        (ShapeKind::List { member }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|x| truncate_timestamps(svc, *member, x))
                .collect(),
        ),
        (ShapeKind::Map { value, .. }, Value::Object(obj)) => Value::Object(
            obj.iter()
                .map(|(k, x)| (k.clone(), truncate_timestamps(svc, *value, x)))
                .collect(),
        ),
        (ShapeKind::Timestamp, Value::String(s)) => match Timestamp::parse(s) {
            Some(t) => Value::String(
                Timestamp {
                    secs: t.secs,
                    micros: 0,
                }
                .to_value_string(),
            ),
            None => v.clone(),
        },
        _ => v.clone(),
    }
}

/// Equality that also compares member order (serde_json's map equality ignores it, but the
/// order is what the CLI prints).
pub fn same(a: &Value, b: &Value) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// The services `kagi serve` speaks (both directions of their codecs are exercised here);
/// every other service's requests are checked against botocore's protocol test suites.
pub fn served_services() -> impl Iterator<Item = &'static kagi_api::Service> {
    ["iam", "sts", "ecr"]
        .into_iter()
        .map(|n| kagi_api::service(n).expect("served service"))
}
