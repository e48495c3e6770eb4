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
//!
//! Policy documents (members of IAM's `policyDocumentType` shape: trust policies, policy
//! versions, inline policies, wherever a response carries one) are percent-encoded on the wire
//! (RFC 3986), as IAM sends them, and decoded back by the decoder: a Value always holds the
//! document itself. botocore's parser leaves the encoded text and its `json_decode_policies`
//! handler unquotes it (`urllib.parse.unquote`, `+` kept); the decoder here does that unquoting,
//! and the CLI parses the JSON as the handler does.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::model::{Operation, Service, ShapeId, ShapeKind};
use crate::time::Timestamp;
use crate::validate::POLICY_DOCUMENT_SHAPE;

/// Whether `shape` is a policy document, percent-encoded on the wire.
fn is_policy_document(shape: &crate::model::Shape) -> bool {
    shape.name == POLICY_DOCUMENT_SHAPE && matches!(shape.kind, ShapeKind::String)
}

/// A policy document as IAM sends it: RFC 3986 percent-encoding (everything but
/// `A-Za-z0-9-._~` as `%XX`).
fn encode_policy_document(doc: &str) -> String {
    kagi_sigv4::canonical::uri_encode(doc.as_bytes(), false)
}

/// The inverse, as botocore's `urllib.parse.unquote`: `%XX` escapes as UTF-8 (invalid
/// sequences replaced), `+` kept, malformed escapes kept literally.
fn decode_policy_document(text: &str) -> String {
    String::from_utf8_lossy(&kagi_sigv4::canonical::percent_decode(text, false)).into_owned()
}

/// Escapes text for element content and attribute values. Characters XML 1.0 cannot carry
/// (C0 controls other than TAB, LF, CR) are dropped; CR is written as `&#xD;` so it survives
/// parsers' end-of-line normalisation.
pub fn escape(s: &str, out: &mut String) {
    // Byte scan: everything that needs work starts with an ASCII byte or 0xEF (U+FFFE and
    // U+FFFF are EF BF BE / EF BF BF), so runs of other bytes are copied in one go; most
    // values (ids, tokens) are a single run.
    /// Bytes that may need work: the escaped ASCII, control characters, and 0xEF.
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 0x20 {
            t[i] = true;
            i += 1;
        }
        t[b'&' as usize] = true;
        t[b'<' as usize] = true;
        t[b'>' as usize] = true;
        t[b'"' as usize] = true;
        t[b'\'' as usize] = true;
        t[0xEF] = true;
        t
    };
    let b = s.as_bytes();
    if !b.iter().any(|&c| SPECIAL[c as usize]) {
        out.push_str(s);
        return;
    }
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        let (rep, len) = match b[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\r' => ("&#xD;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            c if c < 0x20 => ("", 1),
            0xEF if matches!(b.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => ("", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[run..i]);
        out.push_str(rep);
        i += len;
        run = i;
    }
    out.push_str(&s[run..]);
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
        (_, Value::String(doc)) if is_policy_document(shape) => {
            out.push_str(&encode_policy_document(doc));
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

pub(crate) fn xml_error(msg: impl std::fmt::Display) -> ApiError {
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

/// Appends what a text event (text, CDATA, an entity or character reference) contributes to
/// an element's text; other events add nothing. Text gets XML 1.0 end-of-line handling only
/// (CRLF and CR become LF); NEL and U+2028 are ordinary characters, as in expat/ElementTree.
/// One place for every XML reader of responses ([`parse_document`], the S3 listing decoder).
pub fn push_text(ev: &quick_xml::events::Event<'_>, out: &mut String) -> Result<(), ApiError> {
    use quick_xml::events::Event;
    match ev {
        Event::Text(t) => push_normalized(out, &t.decode().map_err(xml_error)?),
        Event::CData(t) => out.push_str(&t.decode().map_err(xml_error)?),
        Event::GeneralRef(r) => out.push(match r.resolve_char_ref().map_err(xml_error)? {
            Some(c) => c,
            None => match r.decode().map_err(xml_error)?.as_ref() {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                other => return Err(xml_error(format!("unknown entity &{other};"))),
            },
        }),
        _ => {}
    }
    Ok(())
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
            Event::Eof => break,
            ev => {
                let mut scratch = String::new();
                let text = match stack.last_mut() {
                    Some(top) => &mut top.text,
                    None => &mut scratch,
                };
                push_text(&ev, text)?;
            }
        }
    }
    if !stack.is_empty() {
        return Err(xml_error("unexpected end of document"));
    }
    root.ok_or_else(|| xml_error("no root element"))
}

/// Decodes a successful response body of `op` into the output Value. An `ErrorResponse` body
/// comes back as `Err` with its code and message.
///
/// Streams: the document is read once, shape-driven, without building a tree (unknown
/// elements are skipped). [`decode_element`] over [`parse_document`] is the tree-based
/// equivalent; the tests check that both agree.
pub fn decode_response(
    service: &'static Service,
    op: &Operation,
    body: &str,
) -> Result<Value, ApiError> {
    debug_assert!(
        std::ptr::eq(service, op.service()),
        "operation of another service"
    );
    let mut r = Stream::new(body);
    // The root element.
    let (root, empty) = loop {
        match r.next()? {
            Ev::Start(name) => break (name, false),
            Ev::Empty(name) => break (name, true),
            Ev::End => return Err(xml_error("unbalanced end tag")),
            Ev::Eof => return Err(xml_error("no root element")),
            Ev::Text(_) => {}
        }
    };
    if root == "ErrorResponse" || root == "Response" {
        let doc = parse_document(body)?;
        return Err(error_from_element(&doc).unwrap_or_else(|| xml_error("unrecognised error")));
    }
    let (Some(shape), false) = (op.output, empty) else {
        return Ok(Value::Object(Map::new()));
    };
    let svc = op.service();
    let Some(wrapper) = op.result_wrapper else {
        return r.value(svc, shape);
    };
    // Children of the root: the result wrapper, ResponseMetadata, ...
    let mut result = None;
    loop {
        match r.next()? {
            Ev::Start(name) if name == wrapper && result.is_none() => {
                result = Some(r.value(svc, shape)?);
            }
            Ev::Empty(name) if name == wrapper && result.is_none() => {
                result = Some(Value::Object(Map::new()));
            }
            Ev::Start(_) => r.skip()?,
            Ev::Empty(_) | Ev::Text(_) => {}
            Ev::End | Ev::Eof => break,
        }
    }
    Ok(result.unwrap_or_else(|| Value::Object(Map::new())))
}

/// One pull-parser event, names already reduced to local names.
pub(crate) enum Ev<'a> {
    Start(Cow<'a, str>),
    Empty(Cow<'a, str>),
    End,
    Text(Cow<'a, str>),
    Eof,
}

/// A pull parser over a response body: local names borrowed from the document, text with
/// entities resolved ([`push_text`]), depth bounded by `MAX_DEPTH`.
pub(crate) struct Stream<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
    body: &'a str,
    depth: usize,
}

impl<'a> Stream<'a> {
    pub(crate) fn new(body: &'a str) -> Stream<'a> {
        Stream {
            reader: quick_xml::Reader::from_str(body),
            body,
            depth: 0,
        }
    }

    /// The local name of the tag just read, borrowed from the document when possible. `tail` is
    /// the length of the tag's closing (`>` = 1, `/>` = 2).
    fn name(&self, e: &quick_xml::events::BytesStart<'_>, tail: usize) -> Cow<'a, str> {
        let qname = e.name();
        let qname = qname.as_ref();
        let end = self.reader.buffer_position() as usize;
        let borrowed = end
            .checked_sub(tail + e.len())
            .and_then(|start| self.body.get(start..start + qname.len()))
            .filter(|s| s.as_bytes() == qname);
        let full: Cow<'a, str> = match borrowed {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(String::from_utf8_lossy(qname).into_owned()),
        };
        match full {
            Cow::Borrowed(s) => Cow::Borrowed(s.rsplit(':').next().unwrap_or(s)),
            Cow::Owned(s) => Cow::Owned(s.rsplit(':').next().unwrap_or(&s).to_string()),
        }
    }

    pub(crate) fn next(&mut self) -> Result<Ev<'a>, ApiError> {
        use quick_xml::events::Event;
        loop {
            return Ok(match self.reader.read_event().map_err(xml_error)? {
                Event::Start(e) => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(xml_error("elements nested too deeply"));
                    }
                    Ev::Start(self.name(&e, 1))
                }
                Event::Empty(e) => Ev::Empty(self.name(&e, 2)),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    Ev::End
                }
                ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                    let mut s = String::new();
                    push_text(&ev, &mut s)?;
                    Ev::Text(s.into())
                }
                Event::Eof => Ev::Eof,
                _ => continue,
            });
        }
    }

    /// Skips the rest of the current element (its start tag has been read).
    pub(crate) fn skip(&mut self) -> Result<(), ApiError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                Ev::Start(_) => depth += 1,
                Ev::End => depth -= 1,
                Ev::Eof => return Err(xml_error("unexpected end of document")),
                _ => {}
            }
        }
        Ok(())
    }

    /// The text of the current element, up to its end tag (child elements are skipped).
    pub(crate) fn text(&mut self) -> Result<String, ApiError> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Start(_) => self.skip()?,
                Ev::Empty(_) => {}
                Ev::End => return Ok(out),
                Ev::Eof => return Err(xml_error("unexpected end of document")),
            }
        }
    }

    /// The Value of an element of shape `id` whose start tag has been read.
    fn value(&mut self, svc: &'static Service, id: ShapeId) -> Result<Value, ApiError> {
        let shape = svc.shape(id);
        match &shape.kind {
            ShapeKind::Structure { members } => {
                // Values by member index: the object is built in model order, as botocore does.
                let mut found: Vec<Option<Value>> = vec![None; members.len()];
                loop {
                    match self.next()? {
                        Ev::Start(name) => match members.iter().position(|m| m.name == name) {
                            Some(i) if found[i].is_none() => {
                                found[i] = Some(self.value(svc, members[i].shape)?);
                            }
                            _ => self.skip()?,
                        },
                        Ev::Empty(name) => {
                            if let Some(i) = members.iter().position(|m| m.name == name)
                                && found[i].is_none()
                            {
                                found[i] =
                                    Some(empty_value(svc, members[i].shape, members[i].name)?);
                            }
                        }
                        Ev::Text(_) => {}
                        Ev::End => {
                            let mut obj = Map::new();
                            for (m, v) in members.iter().zip(found) {
                                if let Some(v) = v {
                                    obj.insert(m.name.to_string(), v);
                                }
                            }
                            return Ok(Value::Object(obj));
                        }
                        Ev::Eof => return Err(xml_error("unexpected end of document")),
                    }
                }
            }
            ShapeKind::List { member } => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Ev::Start(name) if name == "member" => {
                            items.push(self.value(svc, *member)?);
                        }
                        Ev::Empty(name) if name == "member" => {
                            items.push(empty_value(svc, *member, "member")?);
                        }
                        Ev::Start(_) => self.skip()?,
                        Ev::Empty(_) | Ev::Text(_) => {}
                        Ev::End => return Ok(Value::Array(items)),
                        Ev::Eof => return Err(xml_error("unexpected end of document")),
                    }
                }
            }
            ShapeKind::Map { key, value } => {
                let mut obj = Map::new();
                loop {
                    match self.next()? {
                        Ev::Start(name) if name == "entry" => {
                            let (mut k, mut v) = (None, None);
                            loop {
                                match self.next()? {
                                    Ev::Start(n) if n == "key" && k.is_none() => {
                                        k = Some(self.value(svc, *key)?);
                                    }
                                    Ev::Start(n) if n == "value" && v.is_none() => {
                                        v = Some(self.value(svc, *value)?);
                                    }
                                    Ev::Empty(n) if n == "key" && k.is_none() => {
                                        k = Some(empty_value(svc, *key, "key")?);
                                    }
                                    Ev::Empty(n) if n == "value" && v.is_none() => {
                                        v = Some(empty_value(svc, *value, "value")?);
                                    }
                                    Ev::Start(_) => self.skip()?,
                                    Ev::Empty(_) | Ev::Text(_) => {}
                                    Ev::End => break,
                                    Ev::Eof => {
                                        return Err(xml_error("unexpected end of document"));
                                    }
                                }
                            }
                            if let Some(Value::String(k)) = k {
                                obj.insert(k, v.unwrap_or(Value::Null));
                            }
                        }
                        Ev::Start(_) => self.skip()?,
                        Ev::Empty(_) | Ev::Text(_) => {}
                        Ev::End => return Ok(Value::Object(obj)),
                        Ev::Eof => return Err(xml_error("unexpected end of document")),
                    }
                }
            }
            _ if is_policy_document(shape) => {
                Ok(Value::String(decode_policy_document(&self.text()?)))
            }
            kind => {
                let text = self.text()?;
                scalar(kind, &text, shape.name)
            }
        }
    }
}

/// The Value of an empty element (`<Name/>`): like botocore, an empty string, list, map or
/// structure; an error for numbers and timestamps; `false` for booleans.
fn empty_value(svc: &'static Service, id: ShapeId, element: &str) -> Result<Value, ApiError> {
    let shape = svc.shape(id);
    Ok(match &shape.kind {
        ShapeKind::Structure { .. } | ShapeKind::Map { .. } => Value::Object(Map::new()),
        ShapeKind::List { .. } => Value::Array(Vec::new()),
        kind => scalar(kind, "", element)?,
    })
}

/// Decodes `el` as the shape `shape_id` (shape-driven, like botocore's XML parser).
pub fn decode_element(
    service: &'static Service,
    shape_id: ShapeId,
    el: &Element,
) -> Result<Value, ApiError> {
    let shape = service.shape(shape_id);
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
        _ if is_policy_document(shape) => Value::String(decode_policy_document(&el.text)),
        kind => scalar(kind, &el.text, &el.name)?,
    })
}

/// A scalar element's text as the Value for `kind` (botocore's rules: booleans are `true` or
/// anything else, timestamps any ISO 8601 form or epoch seconds).
fn scalar(kind: &ShapeKind, text: &str, element: &str) -> Result<Value, ApiError> {
    let bad = |what: &str| xml_error(format!("invalid {what} {text:?} in <{element}>"));
    Ok(match kind {
        ShapeKind::Integer | ShapeKind::Long => Value::Number(
            text.trim()
                .parse::<i64>()
                .map_err(|_| bad("integer"))?
                .into(),
        ),
        ShapeKind::Double | ShapeKind::Float => Value::Number(
            text.trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .ok_or_else(|| bad("number"))?,
        ),
        ShapeKind::Boolean => Value::Bool(text.trim() == "true"),
        ShapeKind::Timestamp => Value::String(
            Timestamp::parse(text)
                .ok_or_else(|| bad("timestamp"))?
                .to_value_string(),
        ),
        _ => Value::String(text.to_string()),
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

    /// The plain definition of [`escape`], one character at a time.
    fn escape_reference(s: &str) -> String {
        let mut out = String::new();
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
        out
    }

    proptest::proptest! {
        #[test]
        fn escape_matches_its_definition(s in "(?s)[a-z<>&\"'\r\n\t\u{0}-\u{1f}\u{fffe}\u{ffff}é鍵]{0,40}") {
            let mut out = String::from("prefix:");
            escape(&s, &mut out);
            proptest::prop_assert_eq!(out, format!("prefix:{}", escape_reference(&s)));
        }
    }

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

    /// The text of every `<name>` element of `xml`.
    fn element_texts<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        xml.split(open.as_str())
            .skip(1)
            .map(|rest| &rest[..rest.find(close.as_str()).unwrap()])
            .collect()
    }

    #[test]
    fn policy_documents_are_percent_encoded_on_the_wire() {
        let iam = crate::service("iam").unwrap();
        // RFC 3986: only A-Za-z0-9-._~ stay; `+` and `%` are escaped too, UTF-8 byte by byte.
        let doc = "{\"Version\": \"2012-10-17\",\n \"S\": \"a+b/*%~é\"}";
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%0A%20%22S%22%3A%20%22a%2Bb%2F%2A%25~%C3%A9%22%7D";
        let op = iam.operation("GetRole").unwrap();
        let out = json!({"Role": {"Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLE",
            "Arn": "arn:aws:iam::123456789012:role/r", "CreateDate": "2026-11-24T10:30:00+00:00",
            "AssumeRolePolicyDocument": doc}});
        let xml = encode_response(iam, op, &out, "r");
        assert_eq!(element_texts(&xml, "AssumeRolePolicyDocument"), [encoded]);
        assert_eq!(decode_response(iam, op, &xml).unwrap(), out);
        let tree = parse_document(&xml).unwrap();
        let result = tree.child("GetRoleResult").unwrap();
        assert_eq!(
            decode_element(iam, op.output.unwrap(), result).unwrap(),
            out
        );
        // Nested in lists (GetAccountAuthorizationDetails): every document, at every depth.
        let op = iam.operation("GetAccountAuthorizationDetails").unwrap();
        let out = json!({
            "UserDetailList": [{"UserName": "u", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc}]}],
            "RoleDetailList": [{"RoleName": "r", "AssumeRolePolicyDocument": doc,
                "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc}]}],
            "Policies": [{"PolicyName": "m", "PolicyVersionList": [{"Document": doc, "VersionId": "v1"}]}],
            "IsTruncated": false});
        let xml = encode_response(iam, op, &out, "r");
        for name in ["PolicyDocument", "AssumeRolePolicyDocument", "Document"] {
            let texts = element_texts(&xml, name);
            assert!(!texts.is_empty(), "{name}: {xml}");
            assert!(texts.iter().all(|t| *t == encoded), "{name}: {xml}");
        }
        assert_eq!(decode_response(iam, op, &xml).unwrap(), out);
        // Other strings are not touched: a policy name with a `%` stays as it is.
        let op = iam.operation("GetUserPolicy").unwrap();
        let out = json!({"UserName": "u", "PolicyName": "100%", "PolicyDocument": doc});
        let xml = encode_response(iam, op, &out, "r");
        assert_eq!(element_texts(&xml, "PolicyName"), ["100%"]);
        assert_eq!(decode_response(iam, op, &xml).unwrap(), out);
    }

    #[test]
    fn policy_documents_decode_as_urllib_unquote() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("GetGroupPolicy").unwrap();
        // `+` stays a plus, malformed escapes stay literal, invalid UTF-8 becomes U+FFFD.
        let xml = "<GetGroupPolicyResponse><GetGroupPolicyResult><GroupName>g</GroupName>\
            <PolicyName>p</PolicyName><PolicyDocument>a+b%2x%zz%41%FF%</PolicyDocument>\
            </GetGroupPolicyResult></GetGroupPolicyResponse>";
        let v = decode_response(iam, op, xml).unwrap();
        assert_eq!(v["PolicyDocument"], "a+b%2x%zzA\u{fffd}%");
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
