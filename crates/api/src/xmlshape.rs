//! Shape-driven XML for every XML protocol the CLI speaks beyond IAM/STS (whose streaming
//! codec is `xml`): the responses of the query protocol (SNS, CloudFormation, RDS...), of EC2
//! and of rest-xml (Route 53, CloudFront), and rest-xml request bodies. Follows botocore's
//! `BaseXMLResponseParser` and `RestXMLSerializer`:
//!
//! * A member's element is its `locationName` (else its name); a flattened list's items sit
//!   directly in the parent under the list member's `locationName`; repeated elements are
//!   gathered; a non-flattened list is every child of its element (`member`, `item`, ...);
//!   maps are `entry` elements with `key`/`value` (or their `locationName`s).
//! * Scalars: booleans are `true` or not, timestamps any ISO 8601 / RFC 822 / epoch form, blobs
//!   stay base64 (the Value convention); an empty element is an empty string.

use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::model::{Member, Service, Shape, ShapeId, ShapeKind};
use crate::time::{Timestamp, format_as, parse_any};
use crate::xml::Element;

fn bad(msg: String) -> ApiError {
    ApiError::new("MalformedResponse", msg, 500)
}

/// A scalar whose text does not parse as its shape (`what`: integer, number, timestamp) says:
/// one wording for every XML decoder (this one and `s3::decode_object_page`).
pub(crate) fn invalid_scalar(what: &str, shape: &str, text: &str) -> ApiError {
    bad(format!("invalid {what} {text:?} in <{shape}>"))
}

/// The element name a structure member is found under (botocore's `_member_key_name`).
fn member_key(service: &'static Service, m: &Member) -> &'static str {
    let shape = service.shape(m.shape);
    if let ShapeKind::List { member } = shape.kind
        && (m.flattened || shape.flattened)
        && let Some(n) = shape
            .member_location_name
            .or(service.shape(member).location_name)
    {
        return n;
    }
    m.location_name.unwrap_or(m.name)
}

/// Decodes `els[0]` as shape `id`; a flattened list or map (the shape's trait or, with
/// `flat`, the member's) takes all of `els`, the repeated elements.
pub fn decode(service: &'static Service, id: ShapeId, els: &[&Element]) -> Result<Value, ApiError> {
    decode_flat(service, id, els, false)
}

fn decode_flat(
    service: &'static Service,
    id: ShapeId,
    els: &[&Element],
    flat: bool,
) -> Result<Value, ApiError> {
    let shape = service.shape(id);
    let el = els[0];
    let flat = flat || shape.flattened;
    Ok(match &shape.kind {
        ShapeKind::Structure { members } => decode_structure(service, members, el)?,
        ShapeKind::List { member } => {
            let items: Vec<&Element> = if flat || els.len() > 1 {
                els.to_vec()
            } else {
                el.children.iter().collect()
            };
            Value::Array(
                items
                    .iter()
                    .map(|i| decode(service, *member, &[i]))
                    .collect::<Result<_, _>>()?,
            )
        }
        ShapeKind::Map { key, value } => {
            let kname = shape
                .key_location_name
                .or(service.shape(*key).location_name)
                .unwrap_or("key");
            let vname = shape
                .value_location_name
                .or(service.shape(*value).location_name)
                .unwrap_or("value");
            let entries: Vec<&Element> = if flat || els.len() > 1 {
                els.to_vec()
            } else {
                el.children.iter().collect()
            };
            let mut out = Map::new();
            for e in entries {
                let (mut k, mut v) = (None, Value::Null);
                for c in &e.children {
                    if c.name == kname {
                        k = Some(c.text.clone());
                    } else if c.name == vname {
                        v = decode(service, *value, &[c])?;
                    }
                }
                if let Some(k) = k {
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        kind => scalar(shape, kind, &el.text)?,
    })
}

fn decode_structure(
    service: &'static Service,
    members: &[Member],
    el: &Element,
) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for m in members {
        if matches!(m.location, Some("header" | "headers" | "statusCode")) {
            continue;
        }
        let key = member_key(service, m);
        let found: Vec<&Element> = el.children.iter().filter(|c| c.name == key).collect();
        if found.is_empty() {
            continue;
        }
        out.insert(
            m.name.to_string(),
            decode_flat(service, m.shape, &found, m.flattened)?,
        );
    }
    Ok(Value::Object(out))
}

fn scalar(shape: &Shape, kind: &ShapeKind, text: &str) -> Result<Value, ApiError> {
    let what = |w: &str| invalid_scalar(w, shape.name, text);
    Ok(match kind {
        ShapeKind::Integer | ShapeKind::Long => {
            Value::from(text.trim().parse::<i64>().map_err(|_| what("integer"))?)
        }
        ShapeKind::Double | ShapeKind::Float => Value::Number(
            text.trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .ok_or_else(|| what("number"))?,
        ),
        ShapeKind::Boolean => Value::Bool(text.trim() == "true"),
        ShapeKind::Timestamp => Value::String(
            parse_any(text)
                .ok_or_else(|| what("timestamp"))?
                .to_value_string(),
        ),
        _ => Value::String(text.to_string()),
    })
}

/// The output Value of a query or EC2 response: under the result wrapper (query), or the root
/// itself (EC2, rest-xml).
pub fn decode_response(op: &'static crate::Operation, root: &Element) -> Result<Value, ApiError> {
    let service = op.service();
    let Some(out) = op.output else {
        return Ok(Value::Object(Map::new()));
    };
    let start = match op.result_wrapper {
        Some(w) => match root.child(w) {
            Some(e) => e,
            None => return Ok(Value::Object(Map::new())),
        },
        None => root,
    };
    decode(service, out, &[start])
}

/// The output Value of a query or EC2 response body (an operation without output, or an
/// empty body, is `{}`).
pub fn decode_body(op: &'static crate::Operation, body: &str) -> Result<Value, ApiError> {
    if op.output.is_none() || body.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let root = crate::xml::parse_document(body).map_err(|e| bad(e.message))?;
    decode_response(op, &root)
}

/// A rest-xml request body: `value` (shape `id`) as the element `name` with namespace `ns`,
/// after an XML declaration (ElementTree's `tostring(encoding='utf-8')`).
pub fn encode_body(
    service: &'static Service,
    id: ShapeId,
    value: &Value,
    name: &str,
    ns: Option<&str>,
) -> Vec<u8> {
    let mut out = String::from("<?xml version='1.0' encoding='utf-8'?>\n");
    write(service, id, value, name, ns, None, false, &mut out);
    out.into_bytes()
}

fn open(name: &str, ns: Option<&str>, prefix: Option<&str>, out: &mut String) {
    out.push('<');
    out.push_str(name);
    if let Some(uri) = ns {
        out.push_str(" xmlns");
        if let Some(p) = prefix {
            out.push(':');
            out.push_str(p);
        }
        out.push_str("=\"");
        crate::xml::escape(uri, out);
        out.push('"');
    }
    out.push('>');
}

#[allow(clippy::too_many_arguments)]
fn write(
    service: &'static Service,
    id: ShapeId,
    value: &Value,
    name: &str,
    ns: Option<&str>,
    prefix: Option<&str>,
    flat: bool,
    out: &mut String,
) {
    let shape = service.shape(id);
    let flat = flat || shape.flattened;
    let ns = ns.or(shape.xml_namespace);
    match (&shape.kind, value) {
        (_, Value::Null) => {}
        (ShapeKind::Structure { members }, Value::Object(obj)) => {
            out.push('<');
            out.push_str(name);
            if let Some(uri) = ns {
                out.push_str(" xmlns");
                if let Some(p) = prefix {
                    out.push(':');
                    out.push_str(p);
                }
                out.push_str("=\"");
                crate::xml::escape(uri, out);
                out.push('"');
            }
            for m in members.iter().filter(|m| m.xml_attribute) {
                if let Some(v) = obj.get(m.name) {
                    out.push(' ');
                    out.push_str(m.wire_name());
                    out.push_str("=\"");
                    crate::xml::escape(&text_of(service.shape(m.shape), v), out);
                    out.push('"');
                }
            }
            out.push('>');
            for m in members
                .iter()
                .filter(|m| !m.xml_attribute && m.location.is_none())
            {
                if let Some(v) = obj.get(m.name) {
                    write(
                        service,
                        m.shape,
                        v,
                        m.wire_name(),
                        m.xml_namespace,
                        m.xml_namespace_prefix,
                        m.flattened,
                        out,
                    );
                }
            }
            out.push_str(&format!("</{name}>"));
        }
        (ShapeKind::List { member }, Value::Array(items)) => {
            let item_name = shape
                .member_location_name
                .or(service.shape(*member).location_name)
                .unwrap_or("member");
            if flat {
                for i in items {
                    write(service, *member, i, name, None, None, false, out);
                }
            } else {
                open(name, ns, prefix, out);
                for i in items {
                    write(service, *member, i, item_name, None, None, false, out);
                }
                out.push_str(&format!("</{name}>"));
            }
        }
        (ShapeKind::Map { key, value: vshape }, Value::Object(map)) => {
            let kname = shape.key_location_name.unwrap_or("key");
            let vname = shape.value_location_name.unwrap_or("value");
            if flat {
                // Each entry is an element of the member's name.
                for (k, v) in map {
                    open(name, ns, prefix, out);
                    write(
                        service,
                        *key,
                        &Value::String(k.clone()),
                        kname,
                        None,
                        None,
                        false,
                        out,
                    );
                    write(service, *vshape, v, vname, None, None, false, out);
                    out.push_str(&format!("</{name}>"));
                }
                return;
            }
            open(name, ns, prefix, out);
            for (k, v) in map {
                out.push_str("<entry>");
                write(
                    service,
                    *key,
                    &Value::String(k.clone()),
                    kname,
                    None,
                    None,
                    false,
                    out,
                );
                write(service, *vshape, v, vname, None, None, false, out);
                out.push_str("</entry>");
            }
            out.push_str(&format!("</{name}>"));
        }
        (_, v) => {
            open(name, ns, prefix, out);
            crate::xml::escape(&text_of(shape, v), out);
            out.push_str(&format!("</{name}>"));
        }
    }
}

/// A scalar as XML text: booleans `true`/`false`, timestamps ISO 8601 (or the shape's format).
pub(crate) fn text_of(shape: &Shape, v: &Value) -> String {
    match (&shape.kind, v) {
        (ShapeKind::Timestamp, v) => {
            let t = match v {
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_f64),
                Value::String(s) => parse_any(s),
                _ => None,
            };
            match t {
                Some(t) => format_as(t, shape.timestamp_format),
                None => plain(v),
            }
        }
        _ => plain(v),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
