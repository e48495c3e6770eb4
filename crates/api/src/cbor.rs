//! Smithy RPC v2 CBOR (`smithy-rpc-v2-cbor`), client side: `POST
//! /service/{targetPrefix}/operation/{Operation}` with `smithy-protocol: rpc-v2-cbor`,
//! `Accept: application/cbor` and, when there is an input shape, a CBOR map body
//! (`Content-Type: application/cbor`); a query-compatible service adds `x-amzn-query-mode:
//! true`. On the wire: structures and maps are CBOR maps keyed by text, lists arrays, blobs
//! byte strings, timestamps tag 1 over epoch seconds (a double; an integer is read too), numbers as numbers. Errors are maps with `__type` (`ns#Code`, the part after `#`
//! and before `:` is the code; absent, the HTTP status is) and `message`/`Message`.
//!
//! The bytes are ciborium's (see ARCHITECTURE.md); this module only maps the Value convention
//! (lib.rs) onto CBOR data items by shape, both ways, as botocore's `RpcV2CBORSerializer` and
//! `RpcV2CBORParser` do. Decoding never panics on untrusted bytes.

use ciborium::value::{Integer, Value as Cbor};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::model::{Operation, Protocol, Service, ShapeId, ShapeKind};
use crate::rest::HttpRequest;
use crate::time::Timestamp;

/// The `Content-Type` (and `Accept`) of CBOR bodies.
pub const CONTENT_TYPE: &str = "application/cbor";

/// The request for `op` with `input` (path to append to the endpoint, headers, body).
pub fn encode_request(op: &'static Operation, input: &Value) -> HttpRequest {
    let service = op.service();
    let prefix = match service.protocol {
        Protocol::Cbor { target_prefix } | Protocol::Json11 { target_prefix, .. } => target_prefix,
        _ => service.name,
    };
    let mut headers = vec![
        ("smithy-protocol".to_string(), "rpc-v2-cbor".to_string()),
        ("Accept".to_string(), CONTENT_TYPE.to_string()),
    ];
    let body = match op.input {
        Some(shape) => {
            headers.push(("Content-Type".to_string(), CONTENT_TYPE.to_string()));
            let item = to_cbor(service, shape, input).unwrap_or(Cbor::Map(Vec::new()));
            let item = if matches!(item, Cbor::Map(_)) {
                item
            } else {
                Cbor::Map(Vec::new())
            };
            let mut out = Vec::new();
            // Writing into a Vec cannot fail.
            let _ = ciborium::into_writer(&item, &mut out);
            out
        }
        None => Vec::new(),
    };
    if service.aws_query_compatible {
        headers.push(("x-amzn-query-mode".to_string(), "true".to_string()));
    }
    HttpRequest {
        method: "POST".to_string(),
        path: format!("/service/{prefix}/operation/{}", op.name),
        headers,
        body,
    }
}

/// Decodes a successful response body (empty: `{}`).
pub fn decode_response(op: &'static Operation, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let item = parse(body)?;
    match op.output {
        Some(shape) => Ok(from_cbor(op.service(), shape, &item)?
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()))),
        None => Ok(Value::Object(Map::new())),
    }
}

/// Decodes an error response: the code from `__type` (or the status), the message from
/// `message`/`Message`. `None` when the body is not a CBOR map.
pub fn decode_error(status: u16, body: &[u8]) -> Option<ApiError> {
    let item = if body.is_empty() {
        Cbor::Map(Vec::new())
    } else {
        parse(body).ok()?
    };
    let Cbor::Map(entries) = &item else {
        return None;
    };
    let text = |key: &str| {
        entries.iter().find_map(|(k, v)| match (k, v) {
            (Cbor::Text(k), Cbor::Text(v)) if k == key => Some(v.clone()),
            _ => None,
        })
    };
    let code = match text("__type") {
        Some(raw) => {
            let raw = raw.split(':').next().unwrap_or(&raw).to_string();
            raw.rsplit('#').next().unwrap_or(&raw).to_string()
        }
        None => status.to_string(),
    };
    let message = text("message")
        .or_else(|| text("Message"))
        .unwrap_or_default();
    Some(ApiError::new(code, message, status))
}

/// One CBOR data item from `body` (trailing bytes are an error).
pub fn parse(body: &[u8]) -> Result<Cbor, ApiError> {
    let mut reader = body;
    let item: Cbor = ciborium::from_reader(&mut reader).map_err(|e| malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(malformed("bytes after the CBOR data item"));
    }
    Ok(item)
}

fn malformed(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "MalformedResponse",
        format!("unable to parse the CBOR response: {why}"),
        500,
    )
}

/// A Value as shape `shape_id`, for a request (`None`: leave it out).
fn to_cbor(service: &'static Service, shape_id: ShapeId, v: &Value) -> Option<Cbor> {
    if v.is_null() {
        return None;
    }
    let shape = service.shape(shape_id);
    if shape.document {
        return Some(document(v));
    }
    Some(match (&shape.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(obj)) => Cbor::Map(
            members
                .iter()
                .filter_map(|m| {
                    let item = to_cbor(service, m.shape, obj.get(m.name)?)?;
                    Some((Cbor::Text(m.wire_name().to_string()), item))
                })
                .collect(),
        ),
        (ShapeKind::List { member }, Value::Array(items)) => Cbor::Array(
            items
                .iter()
                .map(|i| to_cbor(service, *member, i).unwrap_or(Cbor::Null))
                .collect(),
        ),
        (ShapeKind::Map { value, .. }, Value::Object(obj)) => Cbor::Map(
            obj.iter()
                .map(|(k, i)| {
                    let item = to_cbor(service, *value, i).unwrap_or(Cbor::Null);
                    (Cbor::Text(k.clone()), item)
                })
                .collect(),
        ),
        (ShapeKind::Timestamp, v) => {
            let t = match v {
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_f64),
                Value::String(s) => crate::time::parse_any(s),
                _ => None,
            }?;
            // Smithy's encoding of a timestamp: tag 1 over a double (the protocol tests' bytes).
            let seconds = t.secs as f64 + t.micros as f64 / 1e6;
            Cbor::Tag(1, Box::new(Cbor::Float(seconds)))
        }
        (ShapeKind::Blob, Value::String(s)) => {
            Cbor::Bytes(crate::rest::unbase64(s).unwrap_or_else(|| s.as_bytes().to_vec()))
        }
        (ShapeKind::Boolean, Value::Bool(b)) => Cbor::Bool(*b),
        (ShapeKind::Boolean, Value::String(s)) => Cbor::Bool(s == "true"),
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => {
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Cbor::Integer(i.into()),
                (None, Some(u)) => Cbor::Integer(u.into()),
                _ => Cbor::Integer((n.as_f64()? as i64).into()),
            }
        }
        (ShapeKind::Integer | ShapeKind::Long, Value::String(s)) => {
            Cbor::Integer(s.trim().parse::<i64>().ok()?.into())
        }
        // `NaN`, `Infinity` and `-Infinity` come as strings (a Value cannot hold them).
        (ShapeKind::Double | ShapeKind::Float, Value::Number(n)) => Cbor::Float(n.as_f64()?),
        (ShapeKind::Double | ShapeKind::Float, Value::String(s)) => {
            Cbor::Float(s.trim().parse::<f64>().ok()?)
        }
        (_, Value::String(s)) => Cbor::Text(s.clone()),
        (_, other) => document(other),
    })
}

/// A document (any JSON) as CBOR.
fn document(v: &Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cbor::Integer(i.into()),
            (None, Some(u)) => Cbor::Integer(u.into()),
            _ => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(a) => Cbor::Array(a.iter().map(document).collect()),
        Value::Object(o) => Cbor::Map(
            o.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), document(v)))
                .collect(),
        ),
    }
}

fn integer(i: Integer) -> Value {
    let wide = i128::from(i);
    match (i64::try_from(wide), u64::try_from(wide)) {
        (Ok(v), _) => Value::from(v),
        (_, Ok(v)) => Value::from(v),
        _ => Value::from(wide as f64),
    }
}

/// Any CBOR item as JSON (documents; blobs become base64).
fn undocument(item: &Cbor) -> Value {
    match item {
        Cbor::Integer(i) => integer(*i),
        Cbor::Bytes(b) => Value::String(crate::rest::base64(b)),
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Cbor::Text(s) => Value::String(s.clone()),
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Tag(_, inner) => undocument(inner),
        Cbor::Array(a) => Value::Array(a.iter().map(undocument).collect()),
        Cbor::Map(m) => Value::Object(
            m.iter()
                .filter_map(|(k, v)| Some((k.as_text()?.to_string(), undocument(v))))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn type_error(shape: &str) -> ApiError {
    malformed(format!("expected {shape}"))
}

/// A received CBOR item as shape `shape_id` (`None`: null, left out as botocore does).
fn from_cbor(
    service: &'static Service,
    shape_id: ShapeId,
    item: &Cbor,
) -> Result<Option<Value>, ApiError> {
    let shape = service.shape(shape_id);
    if matches!(item, Cbor::Null) {
        return Ok(None);
    }
    if shape.document {
        return Ok(Some(undocument(item)));
    }
    let number = |item: &Cbor| match item {
        Cbor::Integer(i) => Some(i128::from(*i) as f64),
        Cbor::Float(f) => Some(*f),
        _ => None,
    };
    Ok(Some(match (&shape.kind, item) {
        (ShapeKind::Structure { members }, Cbor::Map(entries)) => {
            let mut out = Map::new();
            // In the model's member order, as the other codecs decode.
            for m in members {
                let found = entries
                    .iter()
                    .find(|(k, _)| k.as_text() == Some(m.wire_name()));
                if let Some((_, v)) = found
                    && let Some(v) = from_cbor(service, m.shape, v)?
                {
                    out.insert(m.name.to_string(), v);
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List { member }, Cbor::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(from_cbor(service, *member, i)?.unwrap_or(Value::Null));
            }
            Value::Array(out)
        }
        (ShapeKind::Map { value, .. }, Cbor::Map(entries)) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let Some(k) = k.as_text() else {
                    return Err(type_error("a text map key"));
                };
                if let Some(v) = from_cbor(service, *value, v)? {
                    out.insert(k.to_string(), v);
                }
            }
            Value::Object(out)
        }
        (ShapeKind::Timestamp, item) => {
            let inner = match item {
                Cbor::Tag(1, inner) => inner.as_ref(),
                other => other,
            };
            let t = number(inner)
                .and_then(Timestamp::from_epoch_f64)
                .ok_or_else(|| type_error("a timestamp"))?;
            Value::String(t.to_value_string())
        }
        (ShapeKind::Blob, Cbor::Bytes(b)) => Value::String(crate::rest::base64(b)),
        (ShapeKind::Blob | ShapeKind::String, Cbor::Text(s)) => Value::String(s.clone()),
        (ShapeKind::Boolean, Cbor::Bool(b)) => Value::Bool(*b),
        (ShapeKind::Integer | ShapeKind::Long, Cbor::Integer(i)) => integer(*i),
        // NaN and infinities have no Value: left out, as a Value cannot carry them.
        (ShapeKind::Double | ShapeKind::Float, item) => match number(item) {
            Some(f) => match serde_json::Number::from_f64(f) {
                Some(n) => Value::Number(n),
                None => return Ok(None),
            },
            None => return Err(type_error("a number")),
        },
        (kind, _) => return Err(type_error(kind.type_name())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_take_the_code_after_the_namespace() {
        let mut body = Vec::new();
        let item = Cbor::Map(vec![
            (
                Cbor::Text("__type".into()),
                Cbor::Text("aws.protocoltests#ComplexError:http://x".into()),
            ),
            (Cbor::Text("Message".into()), Cbor::Text("boom".into())),
        ]);
        ciborium::into_writer(&item, &mut body).unwrap();
        let e = decode_error(400, &body).unwrap();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ComplexError", "boom")
        );
        let e = decode_error(503, b"").unwrap();
        assert_eq!(e.code, "503");
        assert!(decode_error(500, b"\xff\xff").is_none());
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics() {
        for body in [
            &b"\x9f"[..],
            b"\xbf\x61",
            b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\xa1\x00",
            b"\xc1\x61a",
        ] {
            let _ = parse(body);
            let _ = decode_error(400, body);
        }
    }
}
