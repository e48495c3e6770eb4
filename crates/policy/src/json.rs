//! A small JSON reader that keeps source positions.
//!
//! IAM policy documents are JSON, but the errors people make in them (comments copied from a
//! blog post, a duplicated key, a smart quote) deserve an answer that names the line and column.
//! This reader accepts RFC 8259 JSON restricted to the character set IAM allows (TAB, LF, CR and
//! U+0020–U+00FF), rejects duplicate object keys, and records a [`Span`] for every value and key.
//! It never panics on any input (fuzzed by `fuzz/` target `policy`).

use std::fmt;

/// A position in a document: 1-based line, 1-based column (in characters), 0-based character
/// offset from the start of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
    pub offset: u32,
}

/// A half-open range of a document: `start` is the first character, `end` the position just
/// after the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

/// A JSON value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// An object member: key (with its own span) and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A JSON value. Numbers keep their source text (policies never compute with them).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

impl Value {
    /// A short English name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Why a document is not acceptable JSON, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// A sentence a person understands, without the position.
    pub message: String,
    pub position: Position,
    /// True when the problem is a comment (IAM's own message is the same, but callers may want
    /// to say more).
    pub is_comment: bool,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.position.line, self.position.column
        )
    }
}

impl std::error::Error for JsonError {}

/// Nesting limit: deeper documents are rejected instead of exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Returns whether IAM accepts this character anywhere in a policy document.
pub fn allowed_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// Parses a whole document: exactly one value, surrounded by optional whitespace.
pub fn parse(text: &str) -> Result<Node, JsonError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        i: 0,
        pos: Position {
            line: 1,
            column: 1,
            offset: 0,
        },
    };
    p.skip_ws()?;
    if p.i >= p.bytes.len() {
        return Err(p.err("the document is empty: a policy must be a JSON object"));
    }
    let node = p.value(0)?;
    p.skip_ws()?;
    if p.i < p.bytes.len() {
        return Err(p.err("unexpected text after the end of the JSON document"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    i: usize,
    pos: Position,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            message: message.into(),
            position: self.pos,
            is_comment: false,
        }
    }

    #[inline]
    fn peek_char(&self) -> Option<char> {
        match self.bytes.get(self.i) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.text[self.i..].chars().next(),
            None => None,
        }
    }

    #[inline]
    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.i += c.len_utf8();
        self.pos.offset += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn bad_char(&self, c: char, context: &str) -> JsonError {
        if !allowed_char(c) {
            self.err(format!(
                "the character {} (U+{:04X}) is not allowed in a policy document {context}; \
                 IAM accepts only TAB, LF, CR and the characters U+0020 to U+00FF",
                describe_char(c),
                c as u32
            ))
        } else if c == '\u{a0}' {
            self.err(format!(
                "a no-break space (U+00A0) {context}; JSON allows only spaces, tabs and line \
                 breaks between values"
            ))
        } else {
            self.err(format!(
                "unexpected character {} {context}",
                describe_char(c)
            ))
        }
    }

    fn skip_ws(&mut self) -> Result<(), JsonError> {
        while let Some(c) = self.peek_char() {
            match c {
                ' ' | '\t' | '\n' | '\r' => {
                    self.bump();
                }
                '/' => {
                    let next = self.text[self.i + 1..].chars().next();
                    let kind = match next {
                        Some('/') => "a `//` comment",
                        Some('*') => "a `/* */` comment",
                        _ => "a `/` (the start of a comment?)",
                    };
                    return Err(JsonError {
                        message: format!(
                            "comments are not allowed in JSON policy documents: found {kind}; \
                             remove it (IAM rejects the whole document)"
                        ),
                        position: self.pos,
                        is_comment: true,
                    });
                }
                '#' => {
                    return Err(JsonError {
                        message: "comments are not allowed in JSON policy documents: found a \
                                  `#` comment; remove it (IAM rejects the whole document)"
                            .into(),
                        position: self.pos,
                        is_comment: true,
                    });
                }
                _ => break,
            }
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Node, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("the document nests deeper than {MAX_DEPTH} levels")));
        }
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Err(self.err("the document ends where a value was expected"));
        };
        let value = match c {
            '{' => self.object(depth)?,
            '[' => self.array(depth)?,
            '"' => Value::String(self.string()?),
            't' => self.literal("true", Value::Bool(true))?,
            'f' => self.literal("false", Value::Bool(false))?,
            'n' => self.literal("null", Value::Null)?,
            '-' | '0'..='9' => self.number()?,
            '\'' => {
                return Err(
                    self.err("strings must be in double quotes (\"), not single quotes (')")
                );
            }
            '\u{201c}' | '\u{201d}' => {
                return Err(self.bad_char(c, "(a typographic quote: use a plain \" instead)"));
            }
            _ => return Err(self.bad_char(c, "where a value was expected")),
        };
        Ok(Node {
            value,
            span: Span {
                start,
                end: self.pos,
            },
        })
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JsonError> {
        if self.text[self.i..].starts_with(word) {
            for _ in 0..word.len() {
                self.bump();
            }
            Ok(v)
        } else {
            Err(self.err(format!(
                "unexpected word here (did you mean `{word}`, or forget the quotes of a string?)"
            )))
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        if self.peek_char() == Some('-') {
            self.bump();
        }
        let digits = |p: &mut Self| {
            let mut n = 0;
            while matches!(p.peek_char(), Some('0'..='9')) {
                p.bump();
                n += 1;
            }
            n
        };
        match self.peek_char() {
            Some('0') => {
                self.bump();
            }
            Some('1'..='9') => {
                digits(self);
            }
            _ => return Err(self.err("a number must have digits")),
        }
        if self.peek_char() == Some('.') {
            self.bump();
            if digits(self) == 0 {
                return Err(self.err("a decimal point must be followed by digits"));
            }
        }
        if matches!(self.peek_char(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek_char(), Some('+' | '-')) {
                self.bump();
            }
            if digits(self) == 0 {
                return Err(self.err("an exponent must have digits"));
            }
        }
        Ok(Value::Number(self.text[start..self.i].to_string()))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let open = self.pos;
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(JsonError {
                    message: "this string is never closed: a `\"` is missing".into(),
                    position: open,
                    is_comment: false,
                });
            };
            match c {
                '"' => {
                    self.bump();
                    return Ok(out);
                }
                '\\' => {
                    self.bump();
                    let Some(e) = self.peek_char() else {
                        return Err(self.err("the document ends inside an escape sequence"));
                    };
                    let decoded = match e {
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            self.bump();
                            let hi = self.hex4()?;
                            let ch = if (0xD800..0xDC00).contains(&hi) {
                                if !self.text[self.i..].starts_with("\\u") {
                                    return Err(self.err("an unpaired UTF-16 surrogate escape"));
                                }
                                self.bump();
                                self.bump();
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("an unpaired UTF-16 surrogate escape"));
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                char::from_u32(hi)
                            };
                            let Some(ch) = ch else {
                                return Err(self.err("an unpaired UTF-16 surrogate escape"));
                            };
                            out.push(ch);
                            continue;
                        }
                        _ => {
                            return Err(self.err(format!(
                                "`\\{e}` is not a JSON escape sequence (use \\\\ for a backslash)"
                            )));
                        }
                    };
                    self.bump();
                    out.push(decoded);
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.err(format!(
                        "a control character (U+{:04X}) inside a string; write it as an escape \
                         such as \\n or \\t, or close the string before the line break",
                        c as u32
                    )));
                }
                c if !allowed_char(c) => {
                    return Err(self.bad_char(c, "inside a string"));
                }
                _ => {
                    // Copy the run of plain characters at once (no line breaks in a run).
                    let start = self.i;
                    let mut chars = 0u32;
                    for (k, ch) in self.text[start..].char_indices() {
                        if ch == '"' || ch == '\\' || (ch as u32) < 0x20 || !allowed_char(ch) {
                            self.i = start + k;
                            break;
                        }
                        chars += 1;
                        self.i = start + k + ch.len_utf8();
                    }
                    out.push_str(&self.text[start..self.i]);
                    self.pos.offset += chars;
                    self.pos.column += chars;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(d) = self.peek_char().and_then(|c| c.to_digit(16)) else {
                return Err(self.err("`\\u` must be followed by four hexadecimal digits"));
            };
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek_char() == Some(']') {
            self.bump();
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws()?;
            items.push(self.value(depth + 1)?);
            self.skip_ws()?;
            match self.peek_char() {
                Some(',') => {
                    let comma = self.pos;
                    self.bump();
                    self.skip_ws()?;
                    if self.peek_char() == Some(']') {
                        return Err(JsonError {
                            position: comma,
                            is_comment: false,
                            message: "a trailing comma before `]` is not allowed in JSON".into(),
                        });
                    }
                }
                Some(']') => {
                    self.bump();
                    return Ok(Value::Array(items));
                }
                Some(c) => return Err(self.bad_char(c, "in an array (expected `,` or `]`)")),
                None => return Err(self.err("the document ends inside an array: `]` is missing")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.bump();
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws()?;
        if self.peek_char() == Some('}') {
            self.bump();
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws()?;
            let key_start = self.pos;
            match self.peek_char() {
                Some('"') => {}
                Some('\'') => {
                    return Err(self
                        .err("object keys must be in double quotes (\"), not single quotes (')"));
                }
                Some(c) => {
                    return Err(
                        self.bad_char(c, "where an object key in double quotes was expected")
                    );
                }
                None => {
                    return Err(self.err("the document ends inside an object: `}` is missing"));
                }
            }
            let key = self.string()?;
            let key_span = Span {
                start: key_start,
                end: self.pos,
            };
            if let Some(first) = members.iter().find(|m| m.key == key) {
                return Err(JsonError {
                    message: format!(
                        "the key \"{key}\" appears twice in the same object (first at line {}, \
                         column {}); JSON policy documents must not repeat a key",
                        first.key_span.start.line, first.key_span.start.column
                    ),
                    position: key_start,
                    is_comment: false,
                });
            }
            self.skip_ws()?;
            match self.peek_char() {
                Some(':') => {
                    self.bump();
                }
                Some(c) => return Err(self.bad_char(c, "after an object key (expected `:`)")),
                None => return Err(self.err("the document ends after an object key")),
            }
            self.skip_ws()?;
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.skip_ws()?;
            match self.peek_char() {
                Some(',') => {
                    let comma = self.pos;
                    self.bump();
                    self.skip_ws()?;
                    if self.peek_char() == Some('}') {
                        return Err(JsonError {
                            position: comma,
                            is_comment: false,
                            message: "a trailing comma before `}` is not allowed in JSON".into(),
                        });
                    }
                }
                Some('}') => {
                    self.bump();
                    return Ok(Value::Object(members));
                }
                Some('"') => {
                    return Err(self.err("a `,` is missing between two members of an object"));
                }
                Some(c) => return Err(self.bad_char(c, "in an object (expected `,` or `}`)")),
                None => {
                    return Err(self.err("the document ends inside an object: `}` is missing"));
                }
            }
        }
    }
}

fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("`{c}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> JsonError {
        parse(text).unwrap_err()
    }

    #[test]
    fn parses_with_spans() {
        let n = parse("{\n  \"a\": [1, \"x\"]\n}").unwrap();
        let Value::Object(m) = &n.value else { panic!() };
        assert_eq!(m[0].key, "a");
        assert_eq!(m[0].key_span.start.line, 2);
        assert_eq!(m[0].key_span.start.column, 3);
        let Value::Array(items) = &m[0].value.value else {
            panic!()
        };
        assert_eq!(items[1].span.start.column, 12);
        assert_eq!(items[1].span.end.column, 15);
        assert_eq!(n.span.end.line, 3);
    }

    #[test]
    fn comment_is_reported_where_it_starts() {
        let e = err("{\n  \"Version\": \"2012-10-17\",\n    // hi\n}");
        assert!(e.is_comment);
        assert_eq!((e.position.line, e.position.column), (3, 5));
        assert!(e.message.contains("comments are not allowed"));
        let e = err("{ /* x */ }");
        assert!(e.message.contains("/* */"));
    }

    #[test]
    fn duplicate_keys_rejected() {
        let e = err("{\"a\":1,\n \"a\":2}");
        assert_eq!((e.position.line, e.position.column), (2, 2));
        assert!(e.message.contains("appears twice"));
    }

    #[test]
    fn character_set_enforced() {
        let e = err("{\"a\":\"日本\"}");
        assert!(e.message.contains("U+65E5"), "{}", e.message);
        assert_eq!(e.position.column, 7);
        assert!(parse("{\"a\":\"é\"}").is_ok());
        let e = err("{\"a\":\"x\ny\"}");
        assert!(e.message.contains("control character"));
    }

    #[test]
    fn escapes_and_numbers() {
        let n = parse(r#"["\u00e9\n", -1.5e3, true, null]"#).unwrap();
        let Value::Array(items) = n.value else {
            panic!()
        };
        assert_eq!(items[0].value, Value::String("é\n".into()));
        assert_eq!(items[1].value, Value::Number("-1.5e3".into()));
    }

    #[test]
    fn assorted_errors() {
        assert!(err("").message.contains("empty"));
        assert!(err("{\"a\":1,}").message.contains("trailing comma"));
        assert!(err("{'a':1}").message.contains("single quotes"));
        assert!(err("{\"a\" 1}").message.contains("expected `:`"));
        assert!(err("{\"a\":1 \"b\":2}").message.contains("`,` is missing"));
        assert!(err("[1] x").message.contains("after the end"));
        assert!(err("\"abc").message.contains("never closed"));
        assert!(err(&"[".repeat(200)).message.contains("nests deeper"));
    }
}
