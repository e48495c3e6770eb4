//! An evaluator of Smithy endpoint rule sets (`endpoint-rule-set-1.json`), as botocore's
//! `endpoint_provider.py` runs them, with S3's rule set and botocore's `partitions.json`
//! compiled in ([`s3`]). S3's addressing beyond the plain virtual-hosted/path styles of
//! [`crate::s3::address`] — access points and their ARNs (`s3-accesspoint`, FIPS, dual-stack,
//! custom endpoints), Multi-Region Access Points (`s3-global`, SigV4a), Object Lambda
//! (`s3-object-lambda`), Outposts (`s3-outposts`) and S3 Express One Zone's directory
//! buckets (`s3express-AZ`, `s3express-control`) — is the rule set's own: evaluating it
//! gives botocore's hosts, signing scopes and error messages by construction, and the rule
//! set's test cases (`endpoint-tests-1.json`) check the evaluator.

use serde_json::{Map, Value};
use std::sync::OnceLock;

static S3_RULES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/s3_rules.bin"));
static PARTITIONS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/partitions.bin"));

fn inflate(b: &[u8]) -> Value {
    let text = miniz_oxide::inflate::decompress_to_vec(b).expect("compiled-in rule set");
    serde_json::from_slice(&text).expect("compiled-in rule set")
}

/// S3's rule set (botocore's `s3/2006-03-01/endpoint-rule-set-1.json`).
pub fn s3() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| inflate(S3_RULES))
}

fn partitions() -> &'static Value {
    static P: OnceLock<Value> = OnceLock::new();
    P.get_or_init(|| inflate(PARTITIONS))
}

/// A resolved endpoint: its URL and properties (`authSchemes`: `name`, `signingName`,
/// `signingRegion` or `signingRegionSet`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedEndpoint {
    pub url: String,
    pub properties: Value,
    pub headers: Map<String, Value>,
}

impl ResolvedEndpoint {
    /// The first auth scheme (botocore picks the first one it supports).
    pub fn auth_scheme(&self) -> Option<&Map<String, Value>> {
        self.properties
            .get("authSchemes")?
            .as_array()?
            .first()?
            .as_object()
    }
}

/// Evaluates `rules` for `params` (parameter name → string or boolean); parameters left out
/// take their defaults. `Err` is the message of botocore's `EndpointResolutionError`.
pub fn resolve(rules: &Value, params: &Map<String, Value>) -> Result<ResolvedEndpoint, String> {
    let mut scope = Map::new();
    if let Some(defs) = rules.get("parameters").and_then(Value::as_object) {
        for (name, def) in defs {
            let v = params
                .get(name)
                .filter(|v| !v.is_null())
                .cloned()
                .or_else(|| def.get("default").cloned());
            match v {
                Some(v) => {
                    scope.insert(name.clone(), v);
                }
                None if def.get("required") == Some(&Value::Bool(true)) => {
                    return Err(format!("Cannot find value for required parameter {name}"));
                }
                None => {}
            }
        }
    }
    let rules = rules
        .get("rules")
        .and_then(Value::as_array)
        .ok_or("no rules")?;
    for r in rules {
        if let Some(e) = eval_rule(r, &mut scope.clone())? {
            return Ok(e);
        }
    }
    Err("No endpoint rule matched".into())
}

type Scope = Map<String, Value>;

fn eval_rule(rule: &Value, scope: &mut Scope) -> Result<Option<ResolvedEndpoint>, String> {
    if let Some(conds) = rule.get("conditions").and_then(Value::as_array) {
        for c in conds {
            let v = call(c, scope)?;
            if v.is_null() || v == Value::Bool(false) {
                return Ok(None);
            }
        }
    }
    match rule.get("type").and_then(Value::as_str) {
        Some("tree") => {
            for r in rule
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(e) = eval_rule(r, &mut scope.clone())? {
                    return Ok(Some(e));
                }
            }
            Ok(None)
        }
        Some("error") => {
            let v = value(rule.get("error").unwrap_or(&Value::Null), scope)?;
            Err(v.as_str().unwrap_or_default().to_string())
        }
        Some("endpoint") => {
            let ep = rule
                .get("endpoint")
                .ok_or("endpoint rule without endpoint")?;
            let url = value(ep.get("url").unwrap_or(&Value::Null), scope)?;
            let properties = properties(ep.get("properties").unwrap_or(&Value::Null), scope)?;
            let mut headers = Map::new();
            if let Some(h) = ep.get("headers").and_then(Value::as_object) {
                for (k, vs) in h {
                    let mut out = Vec::new();
                    for v in vs.as_array().into_iter().flatten() {
                        out.push(value(v, scope)?);
                    }
                    headers.insert(k.clone(), Value::Array(out));
                }
            }
            Ok(Some(ResolvedEndpoint {
                url: url.as_str().unwrap_or_default().to_string(),
                properties,
                headers,
            }))
        }
        other => Err(format!(
            "Unknown rule type: {}. A rule must be of type tree, endpoint or error.",
            other.unwrap_or_default()
        )),
    }
}

fn properties(p: &Value, scope: &Scope) -> Result<Value, String> {
    Ok(match p {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| properties(x, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), properties(v, scope)?);
            }
            Value::Object(out)
        }
        Value::String(s) if is_template(s) => Value::String(template(s, scope)?),
        other => other.clone(),
    })
}

/// botocore's `TEMPLATE_STRING_RE`: `{[a-zA-Z#]+}` somewhere in the string.
fn is_template(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'#') {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'}' {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Python's `string.Formatter` on `{name}` / `{name#attr}` (`{{`, `}}` escape braces).
fn template(s: &str, scope: &Scope) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut name = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    name.push(c);
                }
                let mut parts = name.split('#');
                let mut v = scope
                    .get(parts.next().unwrap_or_default())
                    .ok_or_else(|| format!("unknown template variable {name}"))?;
                for p in parts {
                    v = v
                        .get(p)
                        .ok_or_else(|| format!("unknown template attribute {name}"))?;
                }
                match v {
                    Value::String(s) => out.push_str(s),
                    Value::Bool(true) => out.push_str("True"),
                    Value::Bool(false) => out.push_str("False"),
                    other => out.push_str(&other.to_string()),
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn value(v: &Value, scope: &mut Scope) -> Result<Value, String> {
    match v {
        Value::Object(m) if m.contains_key("fn") => call(v, scope),
        Value::Object(m) if m.contains_key("ref") => Ok(m
            .get("ref")
            .and_then(Value::as_str)
            .and_then(|r| scope.get(r))
            .cloned()
            .unwrap_or(Value::Null)),
        Value::String(s) if is_template(s) => Ok(Value::String(template(s, scope)?)),
        other => Ok(other.clone()),
    }
}

fn call(f: &Value, scope: &mut Scope) -> Result<Value, String> {
    let name = f.get("fn").and_then(Value::as_str).unwrap_or_default();
    let mut args = Vec::new();
    for a in f
        .get("argv")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        args.push(value(a, scope)?);
    }
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let s = |i: usize| args.get(i).and_then(Value::as_str);
    let result = match name {
        "isSet" => Value::Bool(!arg(0).is_null()),
        "not" => Value::Bool(!truthy(&arg(0))),
        "booleanEquals" => match (arg(0), arg(1)) {
            (Value::Bool(a), Value::Bool(b)) => Value::Bool(a == b),
            _ => return Err("Both arguments must be bools.".into()),
        },
        "stringEquals" => match (arg(0), arg(1)) {
            (Value::String(a), Value::String(b)) => Value::Bool(a == b),
            _ => return Err("Both values must be strings.".into()),
        },
        "getAttr" => get_attr(&arg(0), s(1).unwrap_or_default()),
        "substring" => {
            let (Some(v), Some(start), Some(stop)) = (s(0), arg(1).as_u64(), arg(2).as_u64())
            else {
                return Err("Input must be a string.".into());
            };
            let (start, stop) = (start as usize, stop as usize);
            if start >= stop || v.len() < stop || !v.is_ascii() {
                Value::Null
            } else if arg(3) == Value::Bool(true) {
                Value::String(v[v.len() - stop..v.len() - start].to_string())
            } else {
                Value::String(v[start..stop].to_string())
            }
        }
        "isValidHostLabel" => {
            Value::Bool(s(0).is_some_and(|v| valid_host_label(v, arg(1) == Value::Bool(true))))
        }
        "uriEncode" => s(0).map_or(Value::Null, |v| {
            Value::String(crate::rest::percent_encode(v, false))
        }),
        "parseURL" => s(0).map_or(Value::Null, parse_url),
        "aws.partition" => partition(s(0)),
        "aws.parseArn" => s(0).map_or(Value::Null, parse_arn),
        "aws.isVirtualHostableS3Bucket" => Value::Bool(s(0).is_some_and(|v| {
            v.len() >= 3
                && v.to_lowercase() == v
                && !is_ipv4(v)
                && valid_host_label(v, arg(1) == Value::Bool(true))
        })),
        other => return Err(format!("unknown rule set function {other}")),
    };
    if let Some(assign) = f.get("assign").and_then(Value::as_str) {
        if scope.contains_key(assign) {
            return Err(format!(
                "Assignment {assign} already exists in scoped variables and cannot be overwritten"
            ));
        }
        scope.insert(assign.to_string(), result.clone());
    }
    Ok(result)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

/// `getAttr`: `a.b`, `name[0]` (the index ends the path).
fn get_attr(v: &Value, path: &str) -> Value {
    let mut v = v.clone();
    for part in path.split('.') {
        if let Some((name, idx)) = part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            if !name.is_empty() {
                v = v.get(name).cloned().unwrap_or(Value::Null);
            }
            let Ok(i) = idx.parse::<usize>() else {
                return Value::Null;
            };
            return v.get(i).cloned().unwrap_or(Value::Null);
        }
        v = v.get(part).cloned().unwrap_or(Value::Null);
    }
    v
}

/// RFC 1123 host labels (`^(?!-)[a-zA-Z\d-]{1,63}(?<!-)$`), each `.`-separated label when
/// `subdomains`.
fn valid_host_label(v: &str, subdomains: bool) -> bool {
    if subdomains {
        return v.split('.').all(|l| valid_host_label(l, false));
    }
    (1..=63).contains(&v.len())
        && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

/// botocore's `IPV4_RE`: `(?:[0-9]{1,3}\.){3}[0-9]{1,3}` as the whole string.
fn is_ipv4(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `parseURL` as botocore's `urlparse`-based one: http(s) only, no query, a numeric port.
fn parse_url(u: &str) -> Value {
    let Some((scheme, rest)) = u.split_once("://") else {
        return Value::Null;
    };
    if !matches!(scheme, "http" | "https") {
        return Value::Null;
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !query.is_empty() {
        return Value::Null;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let (host, port) = if let Some(h) = host_port.strip_prefix('[') {
        match h.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Value::Null,
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if let Some(p) = port
        && !p.is_empty()
        && (!p.bytes().all(|c| c.is_ascii_digit()) || p.parse::<u32>().map_or(true, |n| n > 65535))
    {
        return Value::Null;
    }
    let is_ip = is_ipv4(host) || host_port.starts_with('[');
    let mut normalized = quote_path(&normalize_path(path));
    if !normalized.ends_with('/') {
        normalized.push('/');
    }
    let mut m = Map::new();
    m.insert("scheme".into(), scheme.into());
    m.insert("authority".into(), authority.into());
    m.insert("path".into(), path.into());
    m.insert("normalizedPath".into(), normalized.into());
    m.insert("isIp".into(), is_ip.into());
    Value::Object(m)
}

/// botocore's `normalize_url_path` (`remove_dot_segments`; empty is `/`).
fn normalize_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for x in p.split('/') {
        match x {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            x => out.push(x),
        }
    }
    let first = if p.starts_with('/') { "/" } else { "" };
    let last = if p.ends_with('/') && !out.is_empty() {
        "/"
    } else {
        ""
    };
    format!("{first}{}{last}", out.join("/"))
}

/// Python's `urllib.parse.quote(p)` (safe `/`).
fn quote_path(p: &str) -> String {
    crate::rest::percent_encode(p, true)
}

fn partition(region: Option<&str>) -> Value {
    let parts = partitions()
        .get("partitions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let out = |p: &Value| {
        let mut o = p.get("outputs").cloned().unwrap_or(Value::Null);
        if let (Value::Object(m), Some(id)) = (&mut o, p.get("id")) {
            m.insert("name".into(), id.clone());
        }
        o
    };
    if let Some(r) = region {
        for p in &parts {
            let listed = p.get("regions").and_then(|rs| rs.get(r)).is_some();
            let matched = p
                .get("regionRegex")
                .and_then(Value::as_str)
                .is_some_and(|re| region_regex_match(re, r));
            if listed || matched {
                return out(p);
            }
        }
    }
    parts.first().map(out).unwrap_or(Value::Null)
}

/// The partitions' `regionRegex` (`^(us|eu|...)\-\w+\-\d+$`, `^eusc\-(de)\-\w+\-\d+$`): a
/// backtracking matcher for the few constructs they use — literals, `\-`, `(a|b)`, `\w+`,
/// `\d+`, `^`, `$`.
fn region_regex_match(re: &str, r: &str) -> bool {
    #[derive(Debug)]
    enum Tok {
        Lit(char),
        Alt(Vec<String>),
        Word,
        Digit,
    }
    let Some(body) = re.strip_prefix('^').and_then(|s| s.strip_suffix('$')) else {
        return false;
    };
    let mut toks = Vec::new();
    let mut it = body.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match (it.next(), it.peek()) {
                (Some('w'), Some('+')) => {
                    it.next();
                    toks.push(Tok::Word)
                }
                (Some('d'), Some('+')) => {
                    it.next();
                    toks.push(Tok::Digit)
                }
                (Some(c), _) => toks.push(Tok::Lit(c)),
                (None, _) => return false,
            },
            '(' => {
                let mut g = String::new();
                for c in it.by_ref() {
                    if c == ')' {
                        break;
                    }
                    g.push(c);
                }
                toks.push(Tok::Alt(g.split('|').map(str::to_string).collect()));
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    fn m(toks: &[Tok], s: &str) -> bool {
        let Some((t, rest)) = toks.split_first() else {
            return s.is_empty();
        };
        match t {
            Tok::Lit(c) => s.strip_prefix(*c).is_some_and(|s| m(rest, s)),
            Tok::Alt(alts) => alts
                .iter()
                .any(|a| s.strip_prefix(a.as_str()).is_some_and(|s| m(rest, s))),
            Tok::Word | Tok::Digit => {
                let ok = |c: char| match t {
                    Tok::Word => c.is_ascii_alphanumeric() || c == '_',
                    _ => c.is_ascii_digit(),
                };
                let n = s.chars().take_while(|c| ok(*c)).count();
                (1..=n).rev().any(|k| m(rest, &s[k..]))
            }
        }
    }
    m(&toks, r)
}

/// `aws.parseArn`: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the resource split on
/// `:` and `/`.
fn parse_arn(v: &str) -> Value {
    if !v.starts_with("arn:") {
        return Value::Null;
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    if parts.len() < 6 || parts[1].is_empty() || parts[2].is_empty() || parts[5].is_empty() {
        return Value::Null;
    }
    let mut m = Map::new();
    m.insert("partition".into(), parts[1].into());
    m.insert("service".into(), parts[2].into());
    m.insert("region".into(), parts[3].into());
    m.insert("accountId".into(), parts[4].into());
    m.insert(
        "resourceId".into(),
        Value::Array(
            parts[5]
                .split([':', '/'])
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    );
    Value::Object(m)
}
