//! The AWS query protocol response side: XML bodies.
//!
//! ```xml
//! <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
//!   <CreateUserResult><User>...</User></CreateUserResult>
//!   <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
//! </CreateUserResponse>
//! ```
//!
//! Lists are `<Name><member>..</member></Name>` (an empty list is `<Name/>`), maps
//! `<Name><entry><key>..</key><value>..</value></entry></Name>`, timestamps ISO 8601 `...Z` on
//! the wire and `...+00:00` in Values. Decoding is shape driven like botocore's `QueryParser`:
//! unknown elements are ignored, an empty element is an empty string, a present but empty list
//! element is `[]`.

use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::model::{Operation, Service, ShapeId, ShapeKind};
use crate::time::Timestamp;

/// Escapes text for element content and attribute values. Characters XML 1.0 cannot carry
/// (C0 controls other than TAB, LF, CR) are dropped; CR is written as `&#xD;` so it survives
/// parsers' end-of-line normalisation.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn xmlns(service: &Service) -> &'static str {
    service.xmlns().unwrap_or("")
}

/// Encodes a successful response body for `op` with `output` (the output shape's members).
pub fn encode_response(
    service: &'static Service,
    op: &Operation,
    output: &Value,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(512);
    out.push('<');
    out.push_str(op.name);
    out.push_str("Response xmlns=\"");
    escape(xmlns(service), &mut out);
    out.push_str("\">");
    if let (Some(shape), Some(wrapper)) = (op.output, op.result_wrapper) {
        out.push('<');
        out.push_str(wrapper);
        out.push('>');
        write_members(service, shape, output, &mut out);
        out.push_str("</");
        out.push_str(wrapper);
        out.push('>');
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(op.name);
    out.push_str("Response>");
    out
}

fn write_members(service: &'static Service, shape_id: ShapeId, value: &Value, out: &mut String) {
    let Value::Object(obj) = value else { return };
    for m in service.shape(shape_id).members() {
        if let Some(v) = obj.get(m.name) {
            write_element(service, m.shape, m.name, v, out);
        }
    }
}

fn write_element(
    service: &'static Service,
    shape_id: ShapeId,
    name: &str,
    value: &Value,
    out: &mut String,
) {
    if value.is_null() {
        return;
    }
    let shape = service.shape(shape_id);
    match (&shape.kind, value) {
        (ShapeKind::List { .. }, Value::Array(items)) if items.is_empty() => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
            return;
        }
        _ => {}
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    match (&shape.kind, value) {
        (ShapeKind::Structure { .. }, v) => write_members(service, shape_id, v, out),
        (ShapeKind::List { member }, Value::Array(items)) => {
            for item in items {
                write_element(service, *member, "member", item, out);
            }
        }
        (ShapeKind::Map { key, value: vshape }, Value::Object(obj)) => {
            for (k, v) in obj {
                out.push_str("<entry>");
                write_element(service, *key, "key", &Value::String(k.clone()), out);
                write_element(service, *vshape, "value", v, out);
                out.push_str("</entry>");
            }
        }
        (ShapeKind::Timestamp, v) => {
            let ts = match v {
                Value::String(s) => Timestamp::parse(s),
                Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_f64),
                _ => None,
            };
            match (ts, v) {
                (Some(t), _) => out.push_str(&t.to_iso_z()),
                (None, Value::String(s)) => escape(s, out),
                (None, other) => escape(&other.to_string(), out),
            }
        }
        (kind, v) => match crate::json11::coerce_scalar(kind, v).unwrap_or_else(|| v.clone()) {
            Value::String(s) => escape(&s, out),
            other => escape(&other.to_string(), out),
        },
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Encodes an error body: `<ErrorResponse xmlns=..><Error><Type>Sender</Type><Code/><Message/>
/// </Error><RequestId/></ErrorResponse>`.
pub fn encode_error(service: &'static Service, err: &ApiError, request_id: &str) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<ErrorResponse xmlns=\"");
    escape(xmlns(service), &mut out);
    out.push_str("\"><Error><Type>");
    out.push_str(if err.sender_fault {
        "Sender"
    } else {
        "Receiver"
    });
    out.push_str("</Type><Code>");
    escape(&err.code, &mut out);
    out.push_str("</Code><Message>");
    escape(&err.message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

/// A parsed XML element: local name, child elements, concatenated text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn xml_error(msg: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "MalformedResponse",
        format!("unable to parse the XML response: {msg}"),
        500,
    )
}

fn push_normalized(out: &mut String, raw: &str) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

/// Deeper documents are refused (no AWS response comes close; it bounds recursion on drop).
const MAX_DEPTH: usize = 100;

/// Parses an XML document into its root [`Element`] (namespaces dropped, entities resolved).
pub fn parse_document(body: &str) -> Result<Element, ApiError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(xml_error("elements nested too deeply"));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                let el = Element {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(xml_error("more than one root element")),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| xml_error("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(xml_error("more than one root element")),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    // XML 1.0 end-of-line handling only (CRLF and CR become LF); NEL and
                    // U+2028 are ordinary characters, as in expat/ElementTree.
                    let raw = t.decode().map_err(xml_error)?;
                    push_normalized(&mut top.text, &raw);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(xml_error)?);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(xml_error)? {
                    Some(c) => c,
                    None => match r.decode().map_err(xml_error)?.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(xml_error(format!("unknown entity &{other};"))),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_error("unexpected end of document"));
    }
    root.ok_or_else(|| xml_error("no root element"))
}

/// Decodes a successful response body of `op` into the output Value. An `ErrorResponse` body
/// comes back as `Err` with its code and message.
pub fn decode_response(
    service: &'static Service,
    op: &Operation,
    body: &str,
) -> Result<Value, ApiError> {
    let _ = service;
    let root = parse_document(body)?;
    if root.name == "ErrorResponse" || root.name == "Response" {
        return Err(error_from_element(&root).unwrap_or_else(|| xml_error("unrecognised error")));
    }
    let Some(shape) = op.output else {
        return Ok(Value::Object(Map::new()));
    };
    let result = match op.result_wrapper {
        Some(w) => match root.child(w) {
            Some(r) => r,
            None => return Ok(Value::Object(Map::new())),
        },
        None => &root,
    };
    decode_element(op.service(), shape, result)
}

/// Decodes `el` as the shape `shape_id` (shape-driven, like botocore's XML parser).
pub fn decode_element(
    service: &'static Service,
    shape_id: ShapeId,
    el: &Element,
) -> Result<Value, ApiError> {
    let shape = service.shape(shape_id);
    let bad = |what: &str| xml_error(format!("invalid {what} {:?} in <{}>", el.text, el.name));
    Ok(match &shape.kind {
        ShapeKind::Structure { members } => {
            let mut obj = Map::new();
            for m in members {
                if let Some(child) = el.child(m.name) {
                    obj.insert(m.name.to_string(), decode_element(service, m.shape, child)?);
                }
            }
            Value::Object(obj)
        }
        ShapeKind::List { member } => Value::Array(
            el.children
                .iter()
                .filter(|c| c.name == "member")
                .map(|c| decode_element(service, *member, c))
                .collect::<Result<_, _>>()?,
        ),
        ShapeKind::Map { key, value } => {
            let mut obj = Map::new();
            for entry in el.children.iter().filter(|c| c.name == "entry") {
                let k = match entry.child("key") {
                    Some(k) => decode_element(service, *key, k)?,
                    None => continue,
                };
                let v = match entry.child("value") {
                    Some(v) => decode_element(service, *value, v)?,
                    None => Value::Null,
                };
                if let Value::String(k) = k {
                    obj.insert(k, v);
                }
            }
            Value::Object(obj)
        }
        ShapeKind::Integer | ShapeKind::Long => Value::Number(
            el.text
                .trim()
                .parse::<i64>()
                .map_err(|_| bad("integer"))?
                .into(),
        ),
        ShapeKind::Double | ShapeKind::Float => Value::Number(
            el.text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .ok_or_else(|| bad("number"))?,
        ),
        ShapeKind::Boolean => Value::Bool(el.text.trim() == "true"),
        ShapeKind::Timestamp => Value::String(
            Timestamp::parse(&el.text)
                .ok_or_else(|| bad("timestamp"))?
                .to_value_string(),
        ),
        ShapeKind::String | ShapeKind::Blob => Value::String(el.text.clone()),
    })
}

fn error_from_element(root: &Element) -> Option<ApiError> {
    // <ErrorResponse><Error>..</Error></ErrorResponse> or <Response><Errors><Error>..
    let error = root
        .child("Error")
        .or_else(|| root.child("Errors").and_then(|e| e.child("Error")))?;
    let code = error.child("Code")?.text.clone();
    let message = error
        .child("Message")
        .map(|m| m.text.clone())
        .unwrap_or_default();
    let sender_fault = error.child("Type").is_none_or(|t| t.text != "Receiver");
    Some(ApiError {
        code,
        message,
        status: if sender_fault { 400 } else { 500 },
        sender_fault,
    })
}

/// Decodes an `ErrorResponse` body. The status is 400 for `Sender` and 500 for `Receiver`;
/// callers that know the HTTP status should overwrite it.
pub fn decode_error(body: &str) -> Option<ApiError> {
    error_from_element(&parse_document(body).ok()?)
}

/// The `RequestId` of a response or error body, if any.
pub fn request_id(body: &str) -> Option<String> {
    let root = parse_document(body).ok()?;
    root.child("RequestId")
        .or_else(|| root.child("ResponseMetadata")?.child("RequestId"))
        .map(|e| e.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_envelope_and_round_trip() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("CreateUser").unwrap();
        let out = json!({"User": {"Path": "/", "UserName": "b<o>b&", "UserId": "AIDAEXAMPLE",
            "Arn": "arn:aws:iam::123456789012:user/bob", "CreateDate": "2026-11-24T10:30:00+00:00",
            "Tags": []}});
        let xml = encode_response(iam, op, &out, "req-1");
        assert!(xml.starts_with("<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User><Path>/</Path><UserName>b&lt;o&gt;b&amp;</UserName>"), "{xml}");
        assert!(xml.contains("<CreateDate>2026-11-24T10:30:00Z</CreateDate>"));
        assert!(xml.contains("<Tags/>"));
        assert!(xml.ends_with(
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateUserResponse>"
        ));
        assert_eq!(decode_response(iam, op, &xml).unwrap(), out);
        assert_eq!(request_id(&xml).as_deref(), Some("req-1"));
    }

    #[test]
    fn no_output_operation() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("DeleteUser").unwrap();
        let xml = encode_response(iam, op, &json!({}), "r");
        assert_eq!(
            xml,
            "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
        assert_eq!(decode_response(iam, op, &xml).unwrap(), json!({}));
    }

    #[test]
    fn error_round_trip() {
        let sts = crate::service("sts").unwrap();
        let err = ApiError::access_denied("User: arn:aws:iam::1:user/x is not authorized & so on");
        let xml = encode_error(sts, &err, "abc");
        assert_eq!(
            xml,
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/x is not authorized &amp; so on</Message></Error><RequestId>abc</RequestId></ErrorResponse>"
        );
        let back = decode_error(&xml).unwrap();
        assert_eq!(
            (back.code.as_str(), back.message.as_str()),
            ("AccessDenied", err.message.as_str())
        );
        let op = sts.operation("GetCallerIdentity").unwrap();
        assert_eq!(
            decode_response(sts, op, &xml).unwrap_err().code,
            "AccessDenied"
        );
        assert_eq!(decode_error("not xml <"), None);
    }

    #[test]
    fn carriage_returns_survive() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("GetUserPolicy").unwrap();
        let out = json!({"UserName": "u", "PolicyName": "p", "PolicyDocument": "{\r\n\t\"a\": 1}\u{85}\u{2028}"});
        let xml = encode_response(iam, op, &out, "r");
        assert_eq!(decode_response(iam, op, &xml).unwrap(), out);
        // Raw CR LF / CR in a document are line ends (XML 1.0 2.11).
        let raw = "<GetUserPolicyResponse><GetUserPolicyResult><PolicyDocument>a\r\nb\rc</PolicyDocument></GetUserPolicyResult></GetUserPolicyResponse>";
        assert_eq!(
            decode_response(iam, op, raw).unwrap()["PolicyDocument"],
            "a\nb\nc"
        );
    }
}
