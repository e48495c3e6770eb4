//! AWS JSON 1.1 (ECR): `POST /`, `Content-Type: application/x-amz-json-1.1`,
//! `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.CreateRepository`, JSON bodies whose
//! keys are the shapes' member names. Timestamps are epoch seconds on the wire (ISO strings in
//! Values): whole seconds in requests (botocore's default precision), with the fraction in
//! responses (as ECR sends `createdAt`); blobs are base64 strings on both sides. Errors are `{"__type": code, "message": ..}`;
//! a received `__type` may carry a `prefix#` (stripped).

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::model::{Operation, Protocol, Service, ShapeId, ShapeKind};
use crate::time::Timestamp;
use crate::validate;

/// The `Content-Type` of JSON 1.1 requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Which way a Value is being converted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Value → wire for a request: timestamps to whole epoch seconds, as botocore sends them.
    Request,
    /// Value → wire for a response: timestamps to epoch seconds with their fraction, as AWS
    /// sends them (`1479478123.512`).
    Response,
    /// wire → Value (epoch numbers to ISO strings); strict about types.
    Decode,
}

fn target_prefix(service: &Service) -> &'static str {
    match service.protocol {
        Protocol::Json11 { target_prefix, .. } | Protocol::Cbor { target_prefix } => target_prefix,
        _ => "",
    }
}

/// Client side: the `X-Amz-Target` header value and the body for `op` with `input`.
pub fn encode_request(
    service: &'static Service,
    op: &Operation,
    input: &Value,
) -> (String, Vec<u8>) {
    let target = format!("{}.{}", target_prefix(service), op.name);
    let body = match op.input {
        Some(shape) => convert(service, shape, input, Dir::Request, "").unwrap_or(Value::Null),
        None => Value::Object(Map::new()),
    };
    let body = if body.is_null() {
        Value::Object(Map::new())
    } else {
        body
    };
    (
        target,
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

/// The JSON bytes of `value` as shape `shape` in a request (shared with rest-json).
pub(crate) fn encode_shape(service: &'static Service, shape: ShapeId, value: &Value) -> Vec<u8> {
    let v = convert(service, shape, value, Dir::Request, "").unwrap_or(Value::Null);
    let v = if v.is_null() {
        Value::Object(Map::new())
    } else {
        v
    };
    serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec())
}

/// The Value of parsed response JSON `raw` as shape `shape` (shared with rest-json).
pub(crate) fn decode_shape(
    service: &'static Service,
    shape: ShapeId,
    raw: &Value,
) -> Result<Value, ApiError> {
    convert(service, shape, raw, Dir::Decode, "")
}

/// Server side: resolves the operation from `X-Amz-Target`, parses and validates the body.
/// Errors: `UnknownOperationException` (bad target), `SerializationException` (bad JSON or
/// type), `ValidationException` (constraints).
pub fn decode_request(
    service: &'static Service,
    target_header: &str,
    body: &[u8],
) -> Result<(&'static Operation, Value), ApiError> {
    let name = target_header
        .strip_prefix(target_prefix(service))
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(ApiError::unknown_operation)?;
    let op = service
        .operation(name)
        .ok_or_else(ApiError::unknown_operation)?;
    let raw: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::serialization(e.to_string()))?
    };
    if !raw.is_object() {
        return Err(ApiError::serialization(
            "Start of structure or map found where not expected.",
        ));
    }
    let value = match op.input {
        Some(shape) => {
            let v = convert(service, shape, &raw, Dir::Decode, "")?;
            let violations = validate::violations(service, shape, &v);
            if !violations.is_empty() {
                return Err(ApiError::validation_exception(validate::message(
                    &violations,
                )));
            }
            v
        }
        None => Value::Object(Map::new()),
    };
    Ok((op, value))
}

/// Server side: the response body for `op` with `output`.
pub fn encode_response(op: &Operation, output: &Value) -> Vec<u8> {
    let body = match op.output {
        Some(shape) => {
            convert(op.service(), shape, output, Dir::Response, "").unwrap_or(Value::Null)
        }
        None => Value::Object(Map::new()),
    };
    let body = if body.is_null() {
        Value::Object(Map::new())
    } else {
        body
    };
    serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
}

/// Client side: decodes a successful response body (an empty body is `{}`).
pub fn decode_response(op: &Operation, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let raw: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            "MalformedResponse",
            format!("unable to parse the JSON response: {e}"),
            500,
        )
    })?;
    match op.output {
        Some(shape) => convert(op.service(), shape, &raw, Dir::Decode, "")
            .map_err(|e| ApiError::new("MalformedResponse", e.message, 500)),
        None => Ok(Value::Object(Map::new())),
    }
}

/// The error body `{"__type": code, "message": message}`.
pub fn encode_error(err: &ApiError) -> Vec<u8> {
    let mut obj = Map::new();
    obj.insert("__type".into(), Value::String(err.code.clone()));
    obj.insert("message".into(), Value::String(err.message.clone()));
    serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
}

/// Decodes an error body. `__type` may be `prefix#Code` or a URL-ish `Code:http://...`; the code
/// is the part after `#` and before `:`. The status is 400 (callers overwrite it with the HTTP
/// status they saw).
pub fn decode_error(body: &[u8]) -> Option<ApiError> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let raw = obj
        .get("__type")
        .or_else(|| obj.get("code"))
        .or_else(|| obj.get("Code"))?
        .as_str()?;
    let code = raw.rsplit('#').next().unwrap_or(raw);
    let code = code.split(':').next().unwrap_or(code);
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    Some(ApiError::new(code, message, 400))
}

fn type_error(path: &str, what: &str) -> ApiError {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at '{path}'")
    };
    ApiError::serialization(format!("Expected {what}{at}"))
}

fn convert(
    service: &'static Service,
    shape_id: ShapeId,
    value: &Value,
    dir: Dir,
    path: &str,
) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let strict = dir == Dir::Decode;
    let shape = service.shape(shape_id);
    let sub = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    // A document is any JSON value, carried as it is.
    if shape.document {
        return Ok(value.clone());
    }
    Ok(match (&shape.kind, value) {
        (ShapeKind::Structure { members }, Value::Object(obj)) => {
            // Values are keyed by member name, the wire by `locationName` when there is one.
            let mut out = Map::new();
            for m in members {
                let (from, to) = match dir {
                    Dir::Decode => (m.wire_name(), m.name),
                    _ => (m.name, m.wire_name()),
                };
                if let Some(v) = obj.get(from) {
                    let c = convert(service, m.shape, v, dir, &sub(m.name))?;
                    if !c.is_null() {
                        out.insert(to.to_string(), c);
                    }
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List { member }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| convert(service, *member, v, dir, &sub(&i.to_string())))
                .collect::<Result<_, _>>()?,
        ),
        (ShapeKind::Map { value: vshape, .. }, Value::Object(obj)) => {
            let mut out = Map::new();
            for (k, v) in obj {
                // A null map value is left out, as botocore's parsers do.
                if !v.is_null() {
                    out.insert(k.clone(), convert(service, *vshape, v, dir, &sub(k))?);
                }
            }
            Value::Object(out)
        }
        (ShapeKind::Timestamp, v) => {
            let ts = match v {
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_f64),
                Value::String(s) => crate::time::parse_any(s),
                _ => None,
            };
            match (ts, dir) {
                // A shape may say how it travels (`iso8601`, `rfc822`); JSON's default is epoch
                // seconds.
                (Some(t), Dir::Request | Dir::Response)
                    if shape.timestamp_format.is_some_and(|f| f != "unixTimestamp") =>
                {
                    Value::String(crate::time::format_as(t, shape.timestamp_format))
                }
                (Some(t), Dir::Response) => t.to_epoch_json(),
                (Some(t), Dir::Request) => Value::from(t.secs),
                (Some(t), Dir::Decode) => Value::String(t.to_value_string()),
                (None, _) if strict => return Err(type_error(path, "a timestamp")),
                (None, _) => v.clone(),
            }
        }
        (ShapeKind::Blob, Value::String(b64)) if strict && !is_base64(b64) => {
            return Err(type_error(path, "base64-encoded binary data"));
        }
        (ShapeKind::String | ShapeKind::Blob, Value::String(_))
        | (ShapeKind::Boolean, Value::Bool(_)) => value.clone(),
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            value.clone()
        }
        (ShapeKind::Double | ShapeKind::Float, Value::Number(_)) => value.clone(),
        (kind, _) if strict => {
            return Err(type_error(
                path,
                match kind {
                    ShapeKind::Structure { .. } | ShapeKind::Map { .. } => "an object",
                    ShapeKind::List { .. } => "a list",
                    ShapeKind::Boolean => "a boolean",
                    ShapeKind::Integer | ShapeKind::Long => "an integer",
                    ShapeKind::Double | ShapeKind::Float => "a number",
                    _ => "a string",
                },
            ));
        }
        // Encoding is lenient with the server's own Values: coerce scalars to the shape's type.
        (kind, v) => coerce_scalar(kind, v).unwrap_or_else(|| v.clone()),
    })
}

/// Standard base64 with padding (what AWS JSON blobs carry).
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|c| **c == b'=').count();
    pad <= 2
        && b[..b.len() - pad]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// A scalar Value converted to the JSON type `kind` wants on the wire (`5.0` or `"5"` for an
/// integer, `"true"` for a boolean, ...), when that is unambiguous.
pub(crate) fn coerce_scalar(kind: &ShapeKind, v: &Value) -> Option<Value> {
    match (kind, v) {
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) => {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| Value::from(f as i64))
        }
        (ShapeKind::Integer | ShapeKind::Long, Value::String(s)) => {
            s.trim().parse::<i64>().ok().map(Value::from)
        }
        (ShapeKind::Double | ShapeKind::Float, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        (ShapeKind::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (ShapeKind::String, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(v.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ecr() -> &'static Service {
        crate::service("ecr").unwrap()
    }

    #[test]
    fn request_round_trip() {
        let op = ecr().operation("CreateRepository").unwrap();
        let input = json!({"repositoryName": "app", "imageTagMutability": "IMMUTABLE",
            "tags": [{"Key": "team", "Value": "a"}]});
        let (target, body) = encode_request(ecr(), op, &input);
        assert_eq!(
            target,
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository"
        );
        let (op2, back) = decode_request(ecr(), &target, &body).unwrap();
        assert_eq!(op2.name, "CreateRepository");
        assert_eq!(back, input);
    }

    #[test]
    fn request_errors() {
        let e =
            decode_request(ecr(), "AmazonEC2ContainerRegistry_V20150921.Nope", b"{}").unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
        let e = decode_request(ecr(), "Other.CreateRepository", b"{}").unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
        let t = "AmazonEC2ContainerRegistry_V20150921.CreateRepository";
        let e = decode_request(ecr(), t, b"{").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = decode_request(ecr(), t, br#"{"repositoryName": 5}"#).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = decode_request(ecr(), t, b"{}").unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null"
        );
        let (_, v) = decode_request(
            ecr(),
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
            b"",
        )
        .unwrap();
        assert_eq!(v, json!({}));
    }

    #[test]
    fn timestamps_are_epoch_on_the_wire() {
        let op = ecr().operation("DescribeRepositories").unwrap();
        let out = json!({"repositories": [{"repositoryName": "app", "createdAt": "2026-11-24T10:30:00+00:00"}]});
        let body = encode_response(op, &out);
        let wire: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            wire["repositories"][0]["createdAt"],
            json!(1_795_516_200i64)
        );
        assert_eq!(decode_response(op, &body).unwrap(), out);
        let v =
            decode_response(op, br#"{"repositories":[{"createdAt":1.795516200123E9}]}"#).unwrap();
        assert_eq!(
            v["repositories"][0]["createdAt"],
            "2026-11-24T10:30:00.123000+00:00"
        );
    }

    #[test]
    fn blobs_must_be_base64() {
        let t = "AmazonEC2ContainerRegistry_V20150921.UploadLayerPart";
        let ok = br#"{"repositoryName":"app","uploadId":"0f0e2a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b","partFirstByte":0,"partLastByte":2,"layerPartBlob":"AAEC"}"#;
        assert!(decode_request(ecr(), t, ok).is_ok());
        let bad = br#"{"repositoryName":"app","uploadId":"0f0e2a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b","partFirstByte":0,"partLastByte":2,"layerPartBlob":"not base64!"}"#;
        assert_eq!(
            decode_request(ecr(), t, bad).unwrap_err().code,
            "SerializationException"
        );
        assert!(is_base64("") && is_base64("AA==") && !is_base64("A===") && !is_base64("AA=A"));
    }

    #[test]
    fn encoding_coerces_the_servers_scalars() {
        let op = ecr().operation("InitiateLayerUpload").unwrap();
        let body = encode_response(op, &json!({"uploadId": "u", "partSize": 5.0}));
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"uploadId": "u", "partSize": 5})
        );
        let body = encode_response(op, &json!({"partSize": "7"}));
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"partSize": 7})
        );
    }

    #[test]
    fn errors() {
        let e = ApiError::repository_not_found(
            "The repository with name 'x' does not exist in the registry with id '123456789012'",
        );
        let body = encode_error(&e);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"__type": "RepositoryNotFoundException", "message": e.message})
        );
        assert_eq!(
            decode_error(&body).unwrap().code,
            "RepositoryNotFoundException"
        );
        let d = decode_error(
            br#"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"m"}"#,
        )
        .unwrap();
        assert_eq!(
            (d.code.as_str(), d.message.as_str()),
            ("RepositoryNotFoundException", "m")
        );
        assert_eq!(decode_error(b"nope"), None);
    }
}
