//! Condition operators
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
//!
//! Rules implemented here:
//! * values listed for one key are ORed; keys and operators are ANDed (by the caller);
//! * a missing key makes a condition false, except: negated operators (`StringNotEquals`,
//!   `NotIpAddress`, `ArnNotLike`, ...) are true, `...IfExists` is true, `Null` tests presence;
//! * `ForAllValues:` is true when every request value matches some policy value, and true on a
//!   missing or empty key; `ForAnyValue:` needs one request value to match and is false on a
//!   missing or empty key
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>);
//! * AWS says multivalued keys require a set operator and does not document the result without
//!   one; here a positive operator is then true when any request value matches, and a negated
//!   operator when no request value matches any policy value.

use kagi_time::days_from_civil;
use std::net::IpAddr;
#[cfg(test)]
use std::time::UNIX_EPOCH;

use crate::context::Context;
use crate::pattern::{ArnPattern, Template};

/// The operator family and comparison, without modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const KINDS: &[(&str, OpKind)] = &[
    ("StringEquals", OpKind::StringEquals),
    ("StringNotEquals", OpKind::StringNotEquals),
    ("StringEqualsIgnoreCase", OpKind::StringEqualsIgnoreCase),
    (
        "StringNotEqualsIgnoreCase",
        OpKind::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", OpKind::StringLike),
    ("StringNotLike", OpKind::StringNotLike),
    ("NumericEquals", OpKind::NumericEquals),
    ("NumericNotEquals", OpKind::NumericNotEquals),
    ("NumericLessThan", OpKind::NumericLessThan),
    ("NumericLessThanEquals", OpKind::NumericLessThanEquals),
    ("NumericGreaterThan", OpKind::NumericGreaterThan),
    ("NumericGreaterThanEquals", OpKind::NumericGreaterThanEquals),
    ("DateEquals", OpKind::DateEquals),
    ("DateNotEquals", OpKind::DateNotEquals),
    ("DateLessThan", OpKind::DateLessThan),
    ("DateLessThanEquals", OpKind::DateLessThanEquals),
    ("DateGreaterThan", OpKind::DateGreaterThan),
    ("DateGreaterThanEquals", OpKind::DateGreaterThanEquals),
    ("Bool", OpKind::Bool),
    ("BinaryEquals", OpKind::BinaryEquals),
    ("IpAddress", OpKind::IpAddress),
    ("NotIpAddress", OpKind::NotIpAddress),
    ("ArnEquals", OpKind::ArnEquals),
    ("ArnLike", OpKind::ArnLike),
    ("ArnNotEquals", OpKind::ArnNotEquals),
    ("ArnNotLike", OpKind::ArnNotLike),
    ("Null", OpKind::Null),
];

impl OpKind {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Negated operators are true when the key is missing and compare as "matches none".
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            OpKind::StringNotEquals
                | OpKind::StringNotEqualsIgnoreCase
                | OpKind::StringNotLike
                | OpKind::NumericNotEquals
                | OpKind::DateNotEquals
                | OpKind::NotIpAddress
                | OpKind::ArnNotEquals
                | OpKind::ArnNotLike
        )
    }

    /// The positive operator a negated one complements.
    fn positive(self) -> OpKind {
        match self {
            OpKind::StringNotEquals => OpKind::StringEquals,
            OpKind::StringNotEqualsIgnoreCase => OpKind::StringEqualsIgnoreCase,
            OpKind::StringNotLike => OpKind::StringLike,
            OpKind::NumericNotEquals => OpKind::NumericEquals,
            OpKind::DateNotEquals => OpKind::DateEquals,
            OpKind::NotIpAddress => OpKind::IpAddress,
            OpKind::ArnNotEquals => OpKind::ArnEquals,
            OpKind::ArnNotLike => OpKind::ArnLike,
            k => k,
        }
    }

    /// Whether policy values may use policy variables (all but Numeric/Date/Bool/Binary/IP/Null,
    /// per the "Policy variables" line of each family in the operators page).
    pub fn supports_variables(self) -> bool {
        matches!(
            self.positive(),
            OpKind::StringEquals
                | OpKind::StringEqualsIgnoreCase
                | OpKind::StringLike
                | OpKind::ArnEquals
                | OpKind::ArnLike
                | OpKind::Bool
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// A full operator: qualifier, kind and `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operator {
    pub kind: OpKind,
    pub if_exists: bool,
    pub set: Option<SetQualifier>,
}

impl Operator {
    /// Parses an operator name such as `ForAnyValue:StringLikeIfExists`. `Err` holds a reason.
    pub fn parse(name: &str) -> Result<Operator, String> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), r)
        } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), r)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let Some(&(_, kind)) = KINDS.iter().find(|(n, _)| *n == base) else {
            let hint = KINDS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(base))
                .map(|(n, _)| format!(" (operator names are case-sensitive: did you mean {n}?)"))
                .unwrap_or_default();
            return Err(format!("\"{name}\" is not a condition operator{hint}"));
        };
        if kind == OpKind::Null && if_exists {
            return Err("the Null operator cannot take the IfExists suffix".into());
        }
        Ok(Operator {
            kind,
            if_exists,
            set,
        })
    }

    pub fn name(&self) -> String {
        let mut s = String::new();
        match self.set {
            Some(SetQualifier::ForAllValues) => s.push_str("ForAllValues:"),
            Some(SetQualifier::ForAnyValue) => s.push_str("ForAnyValue:"),
            None => {}
        }
        s.push_str(self.kind.name());
        if self.if_exists {
            s.push_str("IfExists");
        }
        s
    }
}

/// One compiled policy value of a condition.
#[derive(Clone, Debug)]
pub(crate) enum CValue {
    /// String operators: the template (wildcards only for `StringLike`).
    Str(Template),
    /// Arn operators.
    Arn(ArnPattern),
    Num(Option<f64>),
    /// Milliseconds since the epoch.
    Date(Option<i64>),
    Bool(Option<bool>),
    Binary(Option<Vec<u8>>),
    Ip(Option<Cidr>),
    Null(Option<bool>),
}

/// A compiled `key: values` entry of one operator.
#[derive(Clone, Debug)]
pub(crate) struct CCondition {
    pub op: Operator,
    /// Lower-cased key.
    pub key: Box<str>,
    pub values: Vec<CValue>,
}

impl CCondition {
    pub fn compile(op: Operator, key: &str, values: &[String], variables: bool) -> CCondition {
        let vars = variables && op.kind.supports_variables();
        let values = values
            .iter()
            .map(|v| match op.kind.positive() {
                OpKind::StringEquals => CValue::Str(Template::compile(v, false, vars, false)),
                OpKind::StringEqualsIgnoreCase => {
                    CValue::Str(Template::compile(v, false, vars, true))
                }
                OpKind::StringLike => CValue::Str(Template::compile(v, true, vars, false)),
                OpKind::ArnEquals | OpKind::ArnLike => CValue::Arn(ArnPattern::compile(v, vars)),
                OpKind::NumericEquals
                | OpKind::NumericLessThan
                | OpKind::NumericLessThanEquals
                | OpKind::NumericGreaterThan
                | OpKind::NumericGreaterThanEquals => CValue::Num(parse_number(v)),
                OpKind::DateEquals
                | OpKind::DateLessThan
                | OpKind::DateLessThanEquals
                | OpKind::DateGreaterThan
                | OpKind::DateGreaterThanEquals => CValue::Date(parse_date(v)),
                OpKind::Bool => CValue::Bool(parse_bool(v)),
                OpKind::BinaryEquals => CValue::Binary(base64_decode(v)),
                OpKind::IpAddress => CValue::Ip(Cidr::parse(v)),
                OpKind::Null => CValue::Null(parse_bool(v)),
                _ => CValue::Str(Template::compile(v, false, false, false)),
            })
            .collect();
        CCondition {
            op,
            key: key.to_ascii_lowercase().into(),
            values,
        }
    }

    /// Evaluates against the context. `missing` receives keys that were needed but absent
    /// (the condition key, or a variable used in a value).
    pub fn eval(&self, ctx: &Context, missing: &mut Vec<String>) -> bool {
        let op = self.op;
        if op.kind == OpKind::Null {
            let absent = ctx.get_lc(&self.key).is_none_or(|v| v.values.is_empty());
            return self.values.iter().any(|v| match v {
                CValue::Null(Some(want_absent)) => *want_absent == absent,
                _ => false,
            });
        }
        let present = ctx.get_lc(&self.key).filter(|v| !v.values.is_empty());
        let Some(cv) = present else {
            push_missing(missing, &self.key);
            if op.if_exists {
                return true;
            }
            return match op.set {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => op.kind.is_negated(),
            };
        };
        for v in &self.values {
            let t = match v {
                CValue::Str(t) => Some(t),
                _ => None,
            };
            if let Some(t) = t.filter(|t| t.has_vars()) {
                for k in t.unresolved(ctx) {
                    push_missing(missing, k);
                }
            }
        }
        let negated = op.kind.is_negated();
        let matches_any = |value: &str| self.values.iter().any(|p| self.match_one(value, p, ctx));
        match op.set {
            None => {
                let any = cv.values.iter().any(|v| matches_any(v));
                if negated { !any } else { any }
            }
            Some(SetQualifier::ForAnyValue) => cv.values.iter().any(|v| matches_any(v) != negated),
            Some(SetQualifier::ForAllValues) => cv.values.iter().all(|v| matches_any(v) != negated),
        }
    }

    /// The positive comparison of one request value with one policy value.
    fn match_one(&self, value: &str, policy: &CValue, ctx: &Context) -> bool {
        let kind = self.op.kind.positive();
        match policy {
            CValue::Str(t) => match kind {
                OpKind::StringEqualsIgnoreCase => {
                    let Some(s) = t.substitute(ctx) else {
                        return false;
                    };
                    s.to_lowercase() == value.to_lowercase()
                }
                OpKind::StringEquals => match t.as_literal() {
                    Some(l) => l == value,
                    None => t.substitute(ctx).is_some_and(|s| s == value),
                },
                _ => t.matches(value, ctx),
            },
            CValue::Arn(p) => value.starts_with("arn:") && p.matches(value, ctx),
            CValue::Num(Some(p)) => parse_number(value).is_some_and(|v| match kind {
                OpKind::NumericEquals => v == *p,
                OpKind::NumericLessThan => v < *p,
                OpKind::NumericLessThanEquals => v <= *p,
                OpKind::NumericGreaterThan => v > *p,
                OpKind::NumericGreaterThanEquals => v >= *p,
                _ => false,
            }),
            CValue::Date(Some(p)) => parse_date(value).is_some_and(|v| match kind {
                OpKind::DateEquals => v == *p,
                OpKind::DateLessThan => v < *p,
                OpKind::DateLessThanEquals => v <= *p,
                OpKind::DateGreaterThan => v > *p,
                OpKind::DateGreaterThanEquals => v >= *p,
                _ => false,
            }),
            CValue::Bool(Some(p)) => parse_bool(value) == Some(*p),
            CValue::Binary(Some(p)) => base64_decode(value).is_some_and(|v| v == *p),
            CValue::Ip(Some(c)) => value
                .parse::<IpAddr>()
                .ok()
                .or_else(|| Cidr::parse(value).map(|c| c.addr))
                .is_some_and(|ip| c.contains(ip)),
            _ => false,
        }
    }
}

fn push_missing(missing: &mut Vec<String>, key: &str) {
    if !missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
        missing.push(key.to_string());
    }
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("nan") || s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    s.parse::<f64>().ok()
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: u8 = p.parse().ok()?;
                if n > max {
                    return None;
                }
                n
            }
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.prefix)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.prefix)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Standard base64 (padding optional, whitespace not allowed).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Parses an IAM date: epoch seconds (`1700000000`, fractional allowed) or ISO 8601
/// (`2026-11-24`, `2026-11-24T10:30:00Z`, `...T10:30:00.123+09:00`, `...T1030Z`).
/// Returns milliseconds since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !s[1..].contains('-')
    {
        let f: f64 = s.parse().ok()?;
        return Some((f * 1000.0).round() as i64);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let mut i = 11;
    let hh = num(i..i + 2)?;
    i += 2;
    if b.get(i) == Some(&b':') {
        i += 1;
    }
    let mm = num(i..i + 2)?;
    i += 2;
    let mut ss = 0;
    if b.get(i) == Some(&b':') {
        i += 1;
    }
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        ss = num(i..i + 2)?;
        i += 2;
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut frac_ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        frac_ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
    }
    ms += (hh * 3600 + mm * 60 + ss) * 1000 + frac_ms;
    match b.get(i) {
        None => Some(ms),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(ms),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let rest = &s[i + 3..];
            let om = match rest {
                "" => 0,
                r => r.trim_start_matches(':').parse::<i64>().ok()?,
            };
            let off = (oh * 60 + om) * 60_000;
            Some(if sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextType;

    fn cond(op: &str, key: &str, values: &[&str]) -> CCondition {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        CCondition::compile(Operator::parse(op).unwrap(), key, &values, true)
    }

    #[test]
    fn operator_names() {
        let o = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!(o.kind, OpKind::StringLike);
        assert!(o.if_exists);
        assert_eq!(o.set, Some(SetQualifier::ForAnyValue));
        assert_eq!(o.name(), "ForAnyValue:StringLikeIfExists");
        assert!(Operator::parse("NullIfExists").is_err());
        assert!(
            Operator::parse("stringequals")
                .unwrap_err()
                .contains("did you mean StringEquals")
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_date("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            parse_date("2023-11-15T07:13:20+09:00"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_date("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_date("2023-11-14"), Some(1_699_920_000_000));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2023-13-01"), None);
        assert_eq!(
            crate::context::format_iso8601(UNIX_EPOCH),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.7".parse().unwrap()));
        assert!(!c.contains("203.0.114.7".parse().unwrap()));
        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!c.contains("127.0.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("1.2.3.4/33").is_none());
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert!(base64_decode("a!").is_none());
    }

    #[test]
    fn missing_key_rules() {
        let ctx = Context::new();
        let mut m = Vec::new();
        assert!(!cond("StringEquals", "aws:x", &["a"]).eval(&ctx, &mut m));
        assert!(cond("StringNotEquals", "aws:x", &["a"]).eval(&ctx, &mut m));
        assert!(cond("StringEqualsIfExists", "aws:x", &["a"]).eval(&ctx, &mut m));
        assert!(cond("ForAllValues:StringEquals", "aws:x", &["a"]).eval(&ctx, &mut m));
        assert!(!cond("ForAnyValue:StringEquals", "aws:x", &["a"]).eval(&ctx, &mut m));
        assert!(cond("Null", "aws:x", &["true"]).eval(&ctx, &mut m));
        assert!(!cond("Null", "aws:x", &["false"]).eval(&ctx, &mut m));
        assert_eq!(m, ["aws:x"]);
    }

    #[test]
    fn sets() {
        let mut ctx = Context::new();
        ctx.set_list(
            "aws:TagKeys",
            ContextType::String,
            vec!["a".into(), "b".into()],
        );
        let mut m = Vec::new();
        assert!(
            cond("ForAllValues:StringEquals", "aws:TagKeys", &["a", "b", "c"]).eval(&ctx, &mut m)
        );
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["a"]).eval(&ctx, &mut m));
        assert!(cond("ForAnyValue:StringEquals", "aws:TagKeys", &["a"]).eval(&ctx, &mut m));
        assert!(!cond("ForAnyValue:StringEquals", "aws:TagKeys", &["z"]).eval(&ctx, &mut m));
        assert!(cond("ForAnyValue:StringNotEquals", "aws:TagKeys", &["a"]).eval(&ctx, &mut m));
        assert!(!cond("ForAllValues:StringNotEquals", "aws:TagKeys", &["a"]).eval(&ctx, &mut m));
    }
}
