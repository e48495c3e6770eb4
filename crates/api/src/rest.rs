//! The REST protocols, client side: `rest-json` (Lambda, API Gateway, EKS, most newer
//! services) and `rest-xml` (Route 53, CloudFront; not S3's customizations yet), whose bodies
//! are XML (`xmlshape`). Members are bound by the model to the URI (`{FunctionName}`, greedy `{Key+}`),
//! the query string, headers (a `headers` map under a prefix) or the status code; the rest, or
//! the one `payload` member, is the body. Follows botocore's `RestJSONSerializer` and
//! `RestJSONParser`:
//!
//! * URI labels are percent-encoded (RFC 3986 unreserved kept; `/` kept in greedy labels);
//!   query values too, lists repeat the key, maps give one key per entry; timestamps are ISO
//!   8601 in URIs and query strings and RFC 822 in headers unless the shape says otherwise;
//!   booleans `true`/`false`; `jsonvalue` headers are base64 of compact JSON.
//! * The body is the JSON of the body members (`{}` when the input has body members but none
//!   is set), or the payload member's JSON or raw bytes; `Content-Type: application/json` for
//!   structured bodies.
//! * Responses: headers and the status code back into their members, the body (or the payload
//!   member) as JSON; errors from `x-amzn-errortype` or the body's `__type`/`code`.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::model::{Member, Operation, Service, ShapeKind};
use crate::time::{Timestamp, format_as, parse_any};

/// One encoded HTTP request, before the endpoint and signing are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query string (`/2015-03-31/functions/f?Qualifier=1`), to append to the
    /// endpoint's path.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Percent-encoding as botocore's `percent_encode` (everything but `A-Za-z0-9-_.~`, and `/`
/// when `keep_slash`).
pub fn percent_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    b64(bytes)
}

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard (or URL-safe) base64, padding optional; `None` on another character.
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    unb64(s)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A scalar's text in a URI, query string or header.
fn scalar_text(service: &'static Service, m: &Member, v: &Value, in_header: bool) -> String {
    let shape = service.shape(m.shape);
    match (&shape.kind, v) {
        (ShapeKind::Timestamp, v) => {
            let t = match v {
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_f64),
                Value::String(s) => parse_any(s),
                _ => None,
            };
            match t {
                Some(t) => {
                    let default = if in_header { "rfc822" } else { "iso8601" };
                    format_as(t, Some(shape.timestamp_format.unwrap_or(default)))
                }
                None => plain(v),
            }
        }
        (ShapeKind::String, v) if m.json_value || shape.document => {
            b64(serde_json::to_string(v).unwrap_or_default().as_bytes())
        }
        _ if m.json_value => b64(serde_json::to_string(v).unwrap_or_default().as_bytes()),
        _ => plain(v),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            // Python prints floats with a `.0`; integers stay integers.
            n.to_string()
        }
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Client side: the HTTP request of `op` with `input`.
pub fn encode_request(op: &'static Operation, input: &Value) -> HttpRequest {
    let service = op.service();
    let empty = Map::new();
    let obj = input.as_object().unwrap_or(&empty);
    let members: &[Member] = op.input_shape().map_or(&[], |s| s.members());
    let (template, literal_query) = match op.request_uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (op.request_uri, None),
    };
    // URI labels.
    let mut path = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let label = &rest[open + 1..close];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(n) => (n, true),
            None => (label, false),
        };
        let value = members
            .iter()
            .find(|m| m.location == Some("uri") && m.wire_name() == name)
            .and_then(|m| obj.get(m.name).map(|v| scalar_text(service, m, v, false)))
            .unwrap_or_default();
        path.push_str(&percent_encode(&value, greedy));
        rest = rest.get(close + 1..).unwrap_or("");
    }
    path.push_str(rest);
    // Query string: the URI's literal part, then the members in the input's order (botocore
    // serialises the parameters dict as given: a handler's late `EncodingType` comes last);
    // a key named by a member wins over the same key in a map bound to the query string
    // (botocore's precedence), whatever their order.
    let mut query: Vec<(String, Vec<String>)> = Vec::new();
    let mut from_maps: Vec<(String, Vec<String>)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body_members = Map::new();
    let payload = op.input_shape().and_then(|s| s.payload);
    let in_input_order = obj
        .iter()
        .filter_map(|(k, v)| Some((members.iter().find(|m| m.name == k)?, v)));
    for (m, v) in in_input_order {
        if v.is_null() {
            continue;
        }
        let shape = service.shape(m.shape);
        match m.location {
            Some("uri") | Some("statusCode") => {}
            Some("querystring") => match (&shape.kind, v) {
                (ShapeKind::List { member }, Value::Array(items)) => {
                    let inner = Member {
                        shape: *member,
                        ..member_like(m)
                    };
                    let values = items
                        .iter()
                        .map(|x| scalar_text(service, &inner, x, false))
                        .collect();
                    query.push((m.wire_name().to_string(), values));
                }
                (ShapeKind::Map { value, .. }, Value::Object(map)) => {
                    let vshape = service.shape(*value);
                    for (k, item) in map {
                        let values = match (&vshape.kind, item) {
                            (ShapeKind::List { .. }, Value::Array(a)) => {
                                a.iter().map(plain).collect()
                            }
                            _ => vec![plain(item)],
                        };
                        from_maps.push((k.clone(), values));
                    }
                }
                _ => query.push((
                    m.wire_name().to_string(),
                    vec![scalar_text(service, m, v, false)],
                )),
            },
            Some("header") => {
                let text = match (&shape.kind, v) {
                    (ShapeKind::List { member }, Value::Array(items)) => {
                        let inner = Member {
                            shape: *member,
                            ..member_like(m)
                        };
                        let string_items = matches!(service.shape(*member).kind, ShapeKind::String);
                        items
                            .iter()
                            .filter(|x| !x.is_null())
                            .map(|x| {
                                let t = scalar_text(service, &inner, x, true);
                                // botocore's _escape_header_list_string.
                                if string_items && (t.contains(',') || t.contains('"')) {
                                    format!("\"{}\"", t.replace('"', "\\\""))
                                } else {
                                    t
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    }
                    _ => scalar_text(service, m, v, true),
                };
                headers.push((m.wire_name().to_string(), text));
            }
            Some("headers") => {
                if let Value::Object(map) = v {
                    for (k, x) in map {
                        headers.push((format!("{}{k}", m.wire_name()), plain(x)));
                    }
                }
            }
            _ => {
                if payload != Some(m.name) {
                    body_members.insert(m.name.to_string(), v.clone());
                }
            }
        }
    }
    for (k, values) in from_maps {
        if !query.iter().any(|(q, _)| *q == k) {
            query.push((k, values));
        }
    }
    let mut pairs: Vec<String> = literal_query
        .map(|q| q.split('&').map(str::to_string).collect())
        .unwrap_or_default();
    for (k, values) in &query {
        for v in values {
            pairs.push(format!(
                "{}={}",
                percent_encode(k, false),
                percent_encode(v, false)
            ));
        }
    }
    if !pairs.is_empty() {
        path.push('?');
        path.push_str(&pairs.join("&"));
    }
    let mut body = Vec::new();
    let mut structured = false;
    let xml = matches!(service.protocol, crate::Protocol::RestXml { .. });
    match payload.and_then(|p| op.input_shape()?.member(p)) {
        Some(pm) => {
            let pshape = service.shape(pm.shape);
            match (&pshape.kind, obj.get(pm.name)) {
                (ShapeKind::Blob, Some(Value::String(s))) => {
                    body = unb64(s).unwrap_or_else(|| s.as_bytes().to_vec());
                }
                (ShapeKind::String, Some(Value::String(s))) => body = s.as_bytes().to_vec(),
                (ShapeKind::Blob | ShapeKind::String, _) => {}
                (_, Some(v)) if !v.is_null() && xml => {
                    body = crate::xmlshape::encode_body(
                        service,
                        pm.shape,
                        v,
                        pm.location_name.or(pshape.location_name).unwrap_or(pm.name),
                        pm.xml_namespace.or(pshape.xml_namespace),
                    );
                }
                (_, Some(v)) if !v.is_null() => {
                    body = crate::json11::encode_shape(service, pm.shape, v);
                    structured = true;
                }
                // rest-xml sends no body for an unset payload; rest-json `{}`, or nothing for
                // an unset union.
                (_, _) if xml || pshape.union => {}
                (_, _) => {
                    body = b"{}".to_vec();
                    structured = true;
                }
            }
        }
        None if xml => {
            if !body_members.is_empty() {
                let shape = op.input_shape().expect("members come from the input");
                body = crate::xmlshape::encode_body(
                    service,
                    op.input.expect("input"),
                    &Value::Object(body_members),
                    op.input_location_name
                        .or(shape.location_name)
                        .unwrap_or(shape.name),
                    op.input_xml_namespace.or(shape.xml_namespace),
                );
            }
        }
        None => {
            let has_body_members = members.iter().any(|m| m.location.is_none());
            if !body_members.is_empty() || has_body_members {
                let shape = op.input.expect("members come from the input");
                body = crate::json11::encode_shape(service, shape, &Value::Object(body_members));
                structured = true;
            }
        }
    }
    if structured
        && !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    HttpRequest {
        method: op.http_method.to_string(),
        path,
        headers,
        body,
    }
}

/// A copy of a member's binding traits (for the items of a list bound to a header or query).
fn member_like(m: &Member) -> Member {
    Member {
        name: m.name,
        shape: m.shape,
        required: false,
        documentation: "",
        location: m.location,
        location_name: m.location_name,
        query_name: None,
        idempotency_token: false,
        host_label: false,
        json_value: m.json_value,
        xml_attribute: false,
        flattened: false,
        xml_namespace: None,
        xml_namespace_prefix: None,
        event_payload: false,
        streaming: false,
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn header_value(service: &'static Service, m: &Member, text: &str) -> Option<Value> {
    let shape = service.shape(m.shape);
    Some(match &shape.kind {
        _ if m.json_value => serde_json::from_slice(&unb64(text)?).ok()?,
        ShapeKind::Integer | ShapeKind::Long => Value::from(text.trim().parse::<i64>().ok()?),
        ShapeKind::Double | ShapeKind::Float => {
            serde_json::Number::from_f64(text.trim().parse::<f64>().ok()?).map(Value::Number)?
        }
        ShapeKind::Boolean => Value::Bool(text.trim().eq_ignore_ascii_case("true")),
        ShapeKind::Timestamp => Value::String(parse_any(text)?.to_value_string()),
        ShapeKind::List { member } => {
            let inner = Member {
                shape: *member,
                ..member_like(m)
            };
            let items = split_header_list(text, service.shape(*member));
            Value::Array(
                items
                    .iter()
                    .filter_map(|x| header_value(service, &inner, x))
                    .collect(),
            )
        }
        _ => Value::String(text.to_string()),
    })
}

/// The items of a list header: comma separated, double-quoted items may hold commas and `\"`;
/// RFC 822 timestamps hold a comma themselves (`Mon, 16 Dec 2019 ...`), so they pair up.
fn split_header_list(text: &str, member: &crate::model::Shape) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if cur.trim().is_empty() && !quoted => {
                quoted = true;
                was_quoted = true;
                cur.clear();
            }
            '"' if quoted => quoted = false,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' if !quoted => {
                items.push(if was_quoted {
                    cur.clone()
                } else {
                    cur.trim().to_string()
                });
                cur.clear();
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    items.push(if was_quoted {
        cur
    } else {
        cur.trim().to_string()
    });
    if matches!(member.kind, ShapeKind::Timestamp)
        && member.timestamp_format.is_none_or(|f| f == "rfc822")
    {
        return items.chunks(2).map(|p| p.join(", ")).collect();
    }
    items
}

/// Client side: the output Value of a successful response.
pub fn decode_response(
    op: &'static Operation,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let service = op.service();
    let Some(out_shape) = op.output_shape() else {
        return Ok(Value::Object(Map::new()));
    };
    let malformed = |e: String| ApiError::new("MalformedResponse", e, 500);
    let xml = matches!(service.protocol, crate::Protocol::RestXml { .. });
    let mut out = Map::new();
    let payload = out_shape.payload.and_then(|p| out_shape.member(p));
    match payload {
        Some(pm) => {
            let pshape = service.shape(pm.shape);
            match pshape.kind {
                _ if body.is_empty() => {}
                ShapeKind::Blob => {
                    out.insert(pm.name.to_string(), Value::String(b64(body)));
                }
                ShapeKind::String => {
                    out.insert(
                        pm.name.to_string(),
                        Value::String(String::from_utf8_lossy(body).into_owned()),
                    );
                }
                _ if body.iter().all(u8::is_ascii_whitespace) => {}
                _ if xml => {
                    let root = crate::xml::parse_document(&String::from_utf8_lossy(body))
                        .map_err(|e| malformed(e.message))?;
                    let v = crate::xmlshape::decode(service, pm.shape, &[&root])?;
                    out.insert(pm.name.to_string(), v);
                }
                _ => {
                    let raw: Value = serde_json::from_slice(body).map_err(|e| {
                        malformed(format!("unable to parse the JSON response: {e}"))
                    })?;
                    let v = crate::json11::decode_shape(service, pm.shape, &raw)
                        .map_err(|e| malformed(e.message))?;
                    out.insert(pm.name.to_string(), v);
                }
            }
        }
        None if xml && !body.iter().all(u8::is_ascii_whitespace) => {
            let root = crate::xml::parse_document(&String::from_utf8_lossy(body))
                .map_err(|e| malformed(e.message))?;
            if let Value::Object(v) =
                crate::xmlshape::decode(service, op.output.expect("output"), &[&root])?
            {
                out = v;
            }
        }
        None if !body.iter().all(u8::is_ascii_whitespace) => {
            let raw: Value = serde_json::from_slice(body)
                .map_err(|e| malformed(format!("unable to parse the JSON response: {e}")))?;
            if let Value::Object(v) =
                crate::json11::decode_shape(service, op.output.expect("output"), &raw)
                    .map_err(|e| malformed(e.message))?
            {
                out = v;
            }
        }
        None => {}
    }
    for m in out_shape.members() {
        match m.location {
            Some("header") => {
                if let Some(v) =
                    header(headers, m.wire_name()).and_then(|t| header_value(service, m, t))
                {
                    out.insert(m.name.to_string(), v);
                }
            }
            Some("headers") => {
                let prefix = m.wire_name().to_ascii_lowercase();
                let mut map = Map::new();
                for (k, v) in headers {
                    if let Some(rest) = k.to_ascii_lowercase().strip_prefix(&prefix) {
                        // botocore keeps the name as the server sent it, minus the prefix.
                        let key = &k[k.len() - rest.len()..];
                        map.insert(key.to_string(), Value::String(v.clone()));
                    }
                }
                // Present even when empty, as botocore's parser leaves it.
                out.insert(m.name.to_string(), Value::Object(map));
            }
            Some("statusCode") => {
                out.insert(m.name.to_string(), Value::from(status));
            }
            _ => {}
        }
    }
    // botocore's order (what the CLI prints): the members bound to headers and the status
    // code first, then the body's (or the payload), each in model order.
    let mut ordered = Map::new();
    let bound = |m: &&Member| matches!(m.location, Some("header" | "headers" | "statusCode"));
    let members = out_shape.members();
    for m in members
        .iter()
        .filter(bound)
        .chain(members.iter().filter(|m| !bound(m)))
    {
        if let Some(v) = out.remove(m.name) {
            ordered.insert(m.name.to_string(), v);
        }
    }
    Ok(Value::Object(ordered))
}

/// Client side: the error of a failed response (`x-amzn-errortype`, else the body's
/// `__type`/`code`; the code is the part before `:` and after `#`; rest-xml's `<Error>`).
/// `None` when the response names no error code (the caller reports the HTTP status).
pub fn decode_error(status: u16, headers: &[(String, String)], body: &[u8]) -> Option<ApiError> {
    // rest-xml: `<ErrorResponse><Error>..` or a bare `<Error>` (S3).
    if body.trim_ascii_start().starts_with(b"<") {
        let text = String::from_utf8_lossy(body);
        if let Ok(root) = crate::xml::parse_document(&text) {
            let error = if root.name == "Error" {
                Some(&root)
            } else {
                root.child("Error")
                    .or_else(|| root.child("Errors").and_then(|e| e.child("Error")))
            };
            if let Some(e) = error {
                let code = e.child("Code").map(|c| c.text.clone());
                let message = e
                    .child("Message")
                    .map(|c| c.text.clone())
                    .unwrap_or_default();
                return Some(ApiError::new(code?, message, status));
            }
        }
    }
    let from_body = crate::json11::decode_error(body);
    let code = header(headers, "x-amzn-errortype")
        .map(|c| {
            let c = c.split(':').next().unwrap_or(c);
            c.rsplit('#').next().unwrap_or(c).to_string()
        })
        .or_else(|| from_body.as_ref().map(|e| e.code.clone()))?;
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            ["message", "Message", "errorMessage"]
                .iter()
                .find_map(|k| v.get(*k)?.as_str().map(str::to_string))
        })
        .unwrap_or_default();
    Some(ApiError::new(code, message, status))
}

/// Server side (rest-json): the input of `op` from a request's query pairs, headers and JSON
/// body, validated against the model (the rest-json services kagi serves itself: sso-oidc and
/// the access portal). Query and header members are read by their wire names and typed by
/// their shapes; body members by their JSON names. See [`decode_server_request_at`] for
/// operations whose URI has labels.
pub fn decode_server_request(
    op: &'static Operation,
    query: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    decode_server_request_at(op, &[], query, headers, body)
}

/// [`decode_server_request`] with the URI's labels (`("jobId", "…")` for
/// `/policy/generation/{jobId}`), already percent-decoded by the caller's router.
pub fn decode_server_request_at(
    op: &'static Operation,
    labels: &[(&str, &str)],
    query: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, ApiError> {
    let service = op.service();
    let mut out = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(ApiError::serialization(
                    "Start of structure or map found where not expected.",
                ));
            }
            Err(e) => return Err(ApiError::serialization(e.to_string())),
        }
    };
    let members: &[Member] = op.input_shape().map_or(&[], |s| s.members());
    // Body members only: a body key that names a bound member is ignored.
    out.retain(|k, _| {
        members
            .iter()
            .any(|m| m.location.is_none() && m.wire_name() == k)
    });
    for m in members {
        let text = match m.location {
            Some("uri") => labels
                .iter()
                .find(|(k, _)| *k == m.wire_name())
                .map(|(_, v)| (*v).to_owned()),
            Some("querystring") => query
                .iter()
                .find(|(k, _)| k == m.wire_name())
                .map(|(_, v)| v.clone()),
            Some("header") => headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(m.wire_name()))
                .map(|(_, v)| v.clone()),
            _ => None,
        };
        let Some(text) = text else { continue };
        let v = match service.shape(m.shape).kind {
            ShapeKind::Integer | ShapeKind::Long => match text.trim().parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err(ApiError::serialization(format!(
                        "Expected an integer for {}",
                        m.wire_name()
                    )));
                }
            },
            ShapeKind::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
            _ => Value::String(text),
        };
        out.insert(m.name.to_string(), v);
    }
    let value = Value::Object(out);
    if let Some(shape) = op.input {
        let violations = crate::validate::violations(service, shape, &value);
        if !violations.is_empty() {
            return Err(ApiError::validation_exception(crate::validate::message(
                &violations,
            )));
        }
    }
    Ok(value)
}

/// Server side (rest-json): the JSON body of `op`'s output (members bound to headers are the
/// caller's to send; kagi's rest-json outputs have none).
pub fn encode_server_response(op: &'static Operation, output: &Value) -> Vec<u8> {
    let members: &[Member] = op.output_shape().map_or(&[], |s| s.members());
    let mut body = Map::new();
    if let Value::Object(o) = output {
        for m in members.iter().filter(|m| m.location.is_none()) {
            if let Some(v) = o.get(m.name).filter(|v| !v.is_null()) {
                body.insert(m.wire_name().to_string(), v.clone());
            }
        }
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lambda_requests() {
        let lambda = crate::service("lambda").unwrap();
        let get = lambda.operation("GetFunction").unwrap();
        let r = encode_request(get, &json!({"FunctionName": "my fn", "Qualifier": "1"}));
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/2015-03-31/functions/my%20fn?Qualifier=1");
        assert!(r.body.is_empty());
        let create = lambda.operation("CreateAlias").unwrap();
        let r = encode_request(
            create,
            &json!({"FunctionName": "f", "Name": "live", "FunctionVersion": "1"}),
        );
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/2015-03-31/functions/f/aliases")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&r.body).unwrap(),
            json!({"Name": "live", "FunctionVersion": "1"})
        );
        assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    }

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "\u{0}\u{ff}x"] {
            assert_eq!(unb64(&b64(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64(b"hello"), "aGVsbG8=");
    }
}
