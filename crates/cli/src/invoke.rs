//! `kagi <service> <operation> ...`: parse arguments from the model, resolve session, endpoint
//! and credentials, call (with botocore's pagination), apply `--query`, print.
//!
//! Pagination follows botocore's `PageIterator` as the AWS CLI drives it: all pages are fetched
//! unless `--no-paginate` or a paging member was given explicitly; the result keys are
//! concatenated, other members dropped; `--max-items` truncates and emits `NextToken`, a
//! base64 JSON resume token (`{"Marker": ..., "boto_truncate_amount": n}`) that
//! `--starting-token` accepts.

use base64::Engine;
use serde_json::{Map, Value};

use kagi_api::{Operation, Service, ShapeId, ShapeKind};

use crate::creds::{self, Creds};
use crate::http::{Endpoint, Session};
use crate::output::{self, Doc};
use crate::params::{self, OpArgs};
use crate::{CliError, Env, Globals, Io};

pub fn service_command(
    service: &'static Service,
    g: &Globals,
    sub: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    let Some(opname) = sub.first() else {
        return Err(CliError::Usage(
            "the following arguments are required: operation".into(),
        ));
    };
    if opname == "help" {
        return crate::help::service(service, io);
    }
    if service.cli_name == "ecr" && opname == "get-login-password" {
        return ecr_get_login_password(service, g, &sub[1..], env, io);
    }
    let Some(op) = service.operation_by_cli_name(opname) else {
        return Err(CliError::Usage(format!(
            "argument operation: Found invalid choice '{opname}'\n"
        )));
    };
    let binary_format = g
        .cli_binary_format
        .clone()
        .unwrap_or_else(|| "base64".into());
    let args = params::parse(op, &sub[1..], env, &binary_format)?;
    if args.help {
        return crate::help::operation(op, io);
    }
    if let Some(kind) = &args.skeleton {
        let shape = if kind == "output" {
            op.output
        } else {
            op.input
        };
        let v = shape
            .map(|s| params::skeleton(service, s, 0))
            .unwrap_or(Value::Object(Map::new()));
        let doc = match shape {
            Some(s) => shape_doc(service, s, &v),
            None => Doc::from_value(&v),
        };
        let text = if kind == "yaml-input" {
            output::to_yaml(&doc)
        } else {
            output::to_json(&doc)
        };
        io.stdout.write_all(text.as_bytes())?;
        return Ok(());
    }
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = prepare_op(&s, op, io)?;
        let pages = run_operation(&s, op, &ep, creds.as_ref(), &args)?;
        print_result(&s, op, pages, io)
    })();
    flush_debug(&s, io);
    result
}

pub(crate) fn flush_debug(s: &Session, io: &mut Io) {
    for l in s.take_debug() {
        let _ = writeln!(io.stderr, "{l}");
    }
}

/// Endpoint, then credentials (botocore's order: region errors before missing credentials).
pub(crate) fn prepare(
    s: &Session,
    service: &'static Service,
    io: &mut Io,
) -> Result<(Endpoint, Option<Creds>), CliError> {
    let profile_region = s.region()?;
    let ep = s.endpoint(service, profile_region.as_deref(), true)?;
    let creds = if s.g.no_sign_request {
        None
    } else {
        Some(creds::resolve(s, io)?)
    };
    Ok((ep, creds))
}

/// Operations that botocore's model marks as taking no authentication (`"auth":
/// ["smithy.api#noAuth"]`, `"authtype": "none"`): the AWS CLI sends them unsigned and never
/// resolves credentials for them. kagi-api's model carries no auth trait, so they are listed
/// here (all of sts-2011-06-15's: AssumeRoleWithSAML and AssumeRoleWithWebIdentity).
pub(crate) fn takes_no_auth(op: &Operation) -> bool {
    op.service().cli_name == "sts"
        && matches!(op.name, "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML")
}

/// [`prepare`] for one operation: no credentials for an operation that takes no authentication.
pub(crate) fn prepare_op(
    s: &Session,
    op: &'static Operation,
    io: &mut Io,
) -> Result<(Endpoint, Option<Creds>), CliError> {
    if takes_no_auth(op) {
        let profile_region = s.region()?;
        let ep = s.endpoint(op.service(), profile_region.as_deref(), true)?;
        return Ok((ep, None));
    }
    prepare(s, op.service(), io)
}

/// The pages of one (possibly paginated) call, plus the full result.
pub(crate) struct Pages {
    /// `build_full_result()` (or the single response).
    pub full: Value,
    /// Each response as received (after `--max-items` truncation): yaml-stream prints these.
    pub pages: Vec<Value>,
    /// Paginated: each page's result keys only, as the text formatter prints them.
    pub result_pages: Option<Vec<Value>>,
    /// Paginated and truncated by `--max-items`: the resume token.
    pub next_token: Option<String>,
}

fn encode_token(token: &Map<String, Value>) -> String {
    let doc = Doc::from_value(&Value::Object(token.clone()));
    // botocore's TokenEncoder: json.dumps (insertion order) then base64.
    let mut ordered = doc;
    if let Doc::Map(m) = &mut ordered {
        m.sort_by_key(|(k, _)| k == "boto_truncate_amount");
    }
    base64::engine::general_purpose::STANDARD
        .encode(crate::creds::python_json_sorted_ordered(&ordered))
}

fn decode_token(t: &str) -> Result<Map<String, Value>, CliError> {
    let bad = || {
        CliError::BadParam(format!(
            "Error parsing parameter '--starting-token': Unable to parse token '{t}'"
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t.trim())
        .map_err(|_| bad())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad()),
    }
}

pub(crate) fn run_operation(
    s: &Session,
    op: &'static Operation,
    ep: &Endpoint,
    creds: Option<&Creds>,
    args: &OpArgs,
) -> Result<Pages, CliError> {
    let sig = creds.map(Creds::to_sigv4);
    let input = Value::Object(args.input.clone());
    let paginate = op.paginator.is_some() && !s.g.no_paginate && !args.manual_paging;
    let Some(p) = op.paginator.as_ref().filter(|_| paginate) else {
        let mut input = input;
        if let (Some(p), Some(n)) = (&op.paginator, args.page_size)
            && let Some(l) = p.limit_key
        {
            input[l] = Value::from(n);
        }
        let out = s.call(op, ep, sig.as_ref(), &input)?;
        return Ok(Pages {
            full: out.clone(),
            pages: vec![out],
            result_pages: None,
            next_token: None,
        });
    };
    let mut req = args.input.clone();
    if let (Some(l), Some(n)) = (p.limit_key, args.page_size) {
        req.insert(l.to_string(), Value::from(n));
    }
    let mut skip = 0usize;
    let mut current_token: Option<Value> = None;
    if let Some(t) = &args.starting_token {
        let m = decode_token(t)?;
        if let Some(n) = m.get("boto_truncate_amount").and_then(Value::as_u64) {
            skip = n as usize;
        }
        if let Some(v) = m.get(p.input_token).filter(|v| !v.is_null()) {
            req.insert(p.input_token.to_string(), v.clone());
            current_token = Some(v.clone());
        }
    }
    let primary = p.result_keys.first().copied();
    let mut full = Map::new();
    let mut pages = Vec::new();
    let mut raw_pages = Vec::new();
    let mut collected = 0usize;
    let mut resume: Option<Map<String, Value>> = None;
    loop {
        let mut page = s.call(op, ep, sig.as_ref(), &Value::Object(req.clone()))?;
        let next = page
            .get(p.output_token)
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned();
        let more = match p.more_results {
            Some(k) => page.get(k).and_then(Value::as_bool).unwrap_or(false) && next.is_some(),
            None => next.is_some(),
        };
        if skip > 0 {
            for k in &p.result_keys {
                if let Some(Value::Array(a)) = page.get_mut(*k) {
                    let n = skip.min(a.len());
                    a.drain(..n);
                }
            }
        }
        let page_skip = skip;
        skip = 0;
        let mut stop = !more;
        if let (Some(max), Some(pk)) = (args.max_items, primary) {
            let max = max.max(0) as usize;
            let len = page
                .get(pk)
                .and_then(Value::as_array)
                .map(Vec::len)
                .unwrap_or(0);
            if collected + len > max {
                let keep = max - collected;
                for k in &p.result_keys {
                    if let Some(Value::Array(a)) = page.get_mut(*k) {
                        a.truncate(if *k == pk { keep } else { 0 });
                    }
                }
                let mut t = Map::new();
                t.insert(
                    p.input_token.to_string(),
                    current_token.clone().unwrap_or(Value::Null),
                );
                t.insert("boto_truncate_amount".into(), Value::from(keep + page_skip));
                resume = Some(t);
                collected = max;
                stop = true;
            } else {
                collected += len;
                if collected == max && more {
                    let mut t = Map::new();
                    t.insert(
                        p.input_token.to_string(),
                        next.clone().unwrap_or(Value::Null),
                    );
                    resume = Some(t);
                    stop = true;
                }
            }
        }
        for k in &p.result_keys {
            match (page.get(*k), full.get_mut(*k)) {
                (Some(Value::Array(a)), Some(Value::Array(f))) => f.extend(a.iter().cloned()),
                (Some(v), None) => {
                    full.insert(k.to_string(), v.clone());
                }
                _ => {}
            }
        }
        let mut page_view = Map::new();
        for k in &p.result_keys {
            if let Some(v) = page.get(*k) {
                page_view.insert(k.to_string(), v.clone());
            }
        }
        pages.push(Value::Object(page_view));
        raw_pages.push(page.clone());
        if stop {
            break;
        }
        let Some(n) = next else { break };
        req.insert(p.input_token.to_string(), n.clone());
        current_token = Some(n);
    }
    let next_token = resume.map(|t| encode_token(&t));
    if let Some(token) = &next_token {
        full.insert("NextToken".into(), Value::String(token.clone()));
    }
    Ok(Pages {
        full: Value::Object(full),
        pages: raw_pages,
        result_pages: Some(pages),
        next_token,
    })
}

/// Converts a Value into a [`Doc`] ordered like the shape's members (botocore's parsed order).
pub fn shape_doc(service: &'static Service, shape: ShapeId, v: &Value) -> Doc {
    let s = service.shape(shape);
    // botocore's `json_decode_policies` (IAM): URL-encoded policy documents become objects.
    if s.name == "policyDocumentType"
        && let Value::String(text) = v
    {
        let decoded = percent_decode(text);
        if let Some(d) = output::parse_json_ordered(&decoded).filter(|d| matches!(d, Doc::Map(_))) {
            return d;
        }
    }
    match (&s.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(m)) => {
            let mut out: Vec<(String, Doc)> = Vec::new();
            for mm in members {
                if let Some(x) = m.get(mm.name) {
                    out.push((mm.name.to_string(), shape_doc(service, mm.shape, x)));
                }
            }
            for (k, x) in m {
                if !members.iter().any(|mm| mm.name == k) {
                    out.push((k.clone(), Doc::from_value(x)));
                }
            }
            Doc::Map(out)
        }
        (ShapeKind::List { member }, Value::Array(a)) => {
            Doc::List(a.iter().map(|x| shape_doc(service, *member, x)).collect())
        }
        (ShapeKind::Map { value, .. }, Value::Object(m)) => Doc::Map(
            m.iter()
                .map(|(k, x)| (k.clone(), shape_doc(service, *value, x)))
                .collect(),
        ),
        _ => Doc::from_value(v),
    }
}

/// `urllib.parse.unquote`: `%XX` sequences (UTF-8), `+` kept.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn output_doc(op: &'static Operation, v: &Value) -> Doc {
    match op.output {
        Some(shape) => {
            let mut d = shape_doc(op.service(), shape, v);
            // NextToken (pagination) goes last, as botocore appends it.
            if let Some(t) = d.remove("NextToken") {
                d.insert("NextToken", t);
            }
            d
        }
        None => Doc::from_value(v),
    }
}

/// `--query`: JMESPath over the document.
pub(crate) fn apply_query(q: &str, d: Doc) -> Result<Doc, CliError> {
    let expr = jmespath::compile(q).map_err(|e| {
        CliError::Usage(format!("argument --query: Bad value for --query: {q}\n{e}"))
    })?;
    let r = expr
        .search(d.to_value())
        .map_err(|e| CliError::General(format!("Bad value for --query: {e}")))?;
    let v = serde_json::to_value(&*r).map_err(|e| CliError::General(e.to_string()))?;
    let mut hashes = Vec::new();
    multihash_keys(expr.as_ast(), &mut hashes);
    Ok(reorder_like(&d, &hashes, Doc::from_value(&v)))
}

/// Key lists of the multiselect hashes (`{Name: UserName, Id: UserId}`) in the expression,
/// in written order: Python keeps that order, jmespath.rs sorts.
fn multihash_keys(ast: &jmespath::ast::Ast, out: &mut Vec<Vec<String>>) {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => {
            out.push(elements.iter().map(|kv| kv.key.clone()).collect());
            for kv in elements {
                multihash_keys(&kv.value, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            multihash_keys(lhs, out);
            multihash_keys(rhs, out);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            multihash_keys(predicate, out);
            multihash_keys(then, out);
        }
        Ast::Expref { ast, .. } => multihash_keys(ast, out),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            multihash_keys(node, out)
        }
        Ast::Function { args, .. } => args.iter().for_each(|a| multihash_keys(a, out)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| multihash_keys(a, out)),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

/// JMESPath results come back with sorted keys; objects that are projections of the input keep
/// the input's key order (as Python dicts do).
fn reorder_like(original: &Doc, hashes: &[Vec<String>], result: Doc) -> Doc {
    fn order_of<'a>(d: &'a Doc, keys: &[String], out: &mut Option<Vec<&'a str>>) {
        if out.is_some() {
            return;
        }
        match d {
            Doc::Map(m) => {
                if m.len() == keys.len() && keys.iter().all(|k| m.iter().any(|(x, _)| x == k)) {
                    *out = Some(m.iter().map(|(k, _)| k.as_str()).collect());
                    return;
                }
                for (_, v) in m {
                    order_of(v, keys, out);
                }
            }
            Doc::List(l) => {
                for v in l {
                    order_of(v, keys, out);
                }
            }
            _ => {}
        }
    }
    match result {
        Doc::Map(m) => {
            let keys: Vec<String> = m.iter().map(|(k, _)| k.clone()).collect();
            let mut m: Vec<(String, Doc)> = m
                .into_iter()
                .map(|(k, v)| (k, reorder_like(original, hashes, v)))
                .collect();
            let written = hashes
                .iter()
                .find(|h| h.len() == keys.len() && h.iter().all(|k| keys.contains(k)));
            if let Some(order) = written {
                m.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
            } else {
                let mut found = None;
                order_of(original, &keys, &mut found);
                if let Some(order) = found {
                    m.sort_by_key(|(k, _)| order.iter().position(|o| o == k));
                }
            }
            Doc::Map(m)
        }
        Doc::List(l) => Doc::List(
            l.into_iter()
                .map(|x| reorder_like(original, hashes, x))
                .collect(),
        ),
        other => other,
    }
}

fn terminal_width(s: &Session) -> usize {
    if s.env.stdout_tty
        && let Some((w, _)) = terminal_size::terminal_size()
    {
        return w.0 as usize;
    }
    80
}

pub(crate) fn print_result(
    s: &Session,
    op: &'static Operation,
    pages: Pages,
    io: &mut Io,
) -> Result<(), CliError> {
    let format = crate::config::output(s.g.output.as_deref(), s.env, s.profile()?);
    let query = s.g.query.as_deref();
    let render = |v: &Value| -> Result<Doc, CliError> {
        let d = output_doc(op, v);
        match query {
            Some(q) => apply_query(q, d),
            None => Ok(d),
        }
    };
    let text = match format.as_str() {
        "off" => String::new(),
        "yaml-stream" => {
            let mut out = String::new();
            for p in &pages.pages {
                let d = render(p)?;
                if !d.is_empty_map() {
                    out.push_str(&output::to_yaml(&Doc::List(vec![d])));
                }
            }
            out
        }
        "text" => {
            let mut out = String::new();
            match &pages.result_pages {
                // TextFormatter on a PageIterator: each page's result keys, then the resume
                // token as its own `{"NextToken": {"NextToken": ...}}` document (query applied).
                Some(result_pages) => {
                    for p in result_pages {
                        out.push_str(&output::to_text(&render(p)?));
                    }
                    if let Some(t) = &pages.next_token {
                        let d = Doc::Map(vec![(
                            "NextToken".into(),
                            Doc::Map(vec![("NextToken".into(), Doc::Str(t.clone()))]),
                        )]);
                        let d = match query {
                            Some(q) => apply_query(q, d)?,
                            None => d,
                        };
                        out.push_str(&output::to_text(&d));
                    }
                }
                None => out.push_str(&output::to_text(&render(&pages.full)?)),
            }
            out
        }
        other => {
            let d = render(&pages.full)?;
            match other {
                "table" => {
                    let color = match s.g.color.as_deref() {
                        Some("on") => true,
                        Some("off") => false,
                        _ => s.env.stdout_tty,
                    };
                    output::to_table(op.name, &d, terminal_width(s), color)
                }
                "yaml" if d.is_empty_map() => String::new(),
                "yaml" => output::to_yaml(&d),
                "json" if d.is_empty_map() => String::new(),
                "json" => output::to_json(&d),
                bad => {
                    return Err(CliError::General(format!("Unknown output type: {bad}")));
                }
            }
        }
    };
    io.stdout.write_all(text.as_bytes())?;
    Ok(())
}

/// `aws ecr get-login-password`: GetAuthorizationToken, print the password of `AWS:<password>`.
fn ecr_get_login_password(
    service: &'static Service,
    g: &Globals,
    args: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    if args.first().map(String::as_str) == Some("help") {
        writeln!(
            io.stdout,
            "get-login-password\n\nTo log in to an Amazon ECR registry, use the password this command prints:\n\n  aws ecr get-login-password | docker login --username AWS --password-stdin <registry>"
        )?;
        return Ok(());
    }
    if let Some(a) = args.first() {
        return Err(CliError::UnknownArgs(vec![a.clone()]));
    }
    let op = service
        .operation("GetAuthorizationToken")
        .ok_or_else(|| CliError::General("GetAuthorizationToken missing from the model".into()))?;
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = prepare(&s, service, io)?;
        let out = s.call(
            op,
            &ep,
            creds.as_ref().map(Creds::to_sigv4).as_ref(),
            &Value::Object(Map::new()),
        )?;
        let token = out
            .pointer("/authorizationData/0/authorizationToken")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                CliError::General("GetAuthorizationToken returned no authorization data".into())
            })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .map_err(|_| CliError::General("The authorization token is not valid base64".into()))?;
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let password = decoded.split_once(':').map(|x| x.1).unwrap_or(&decoded);
        writeln!(io.stdout, "{password}")?;
        Ok(())
    })();
    flush_debug(&s, io);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_auth_operations_need_no_credentials_and_are_not_signed() {
        let sts = kagi_api::service("sts").unwrap();
        let iam = kagi_api::service("iam").unwrap();
        // botocore's sts model: the only operations with `"authtype": "none"` (IAM and ECR
        // have none).
        let no_auth: Vec<&str> = [sts, iam, kagi_api::service("ecr").unwrap()]
            .iter()
            .flat_map(|svc| svc.operations().iter())
            .filter(|o| takes_no_auth(o))
            .map(|o| o.name)
            .collect();
        assert_eq!(no_auth, ["AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"]);

        // No credentials anywhere: an empty home, no variables.
        let home = tempfile::tempdir().unwrap();
        let env = Env {
            home: home.path().to_path_buf(),
            ..Default::default()
        };
        let g = Globals {
            endpoint_url: Some("http://127.0.0.1:4566".into()),
            ..Default::default()
        };
        let s = Session::new(&env, &g).unwrap();
        let mut stdin = std::io::BufReader::new(std::io::empty());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut stdin,
            stdout: &mut out,
            stderr: &mut err,
        };
        let op = sts
            .operation_by_cli_name("assume-role-with-web-identity")
            .unwrap();
        let args = params::parse(
            op,
            &[
                "--role-arn",
                "arn:aws:iam::123456789012:role/ci",
                "--role-session-name",
                "gha",
                "--web-identity-token",
                "eyJ.token",
            ]
            .map(String::from),
            &env,
            "base64",
        )
        .unwrap();
        let (ep, creds) = prepare_op(&s, op, &mut io).unwrap();
        assert!(creds.is_none());
        assert_eq!(ep.url, "http://127.0.0.1:4566");
        let req = s
            .build_request(op, &ep, None, &Value::Object(args.input))
            .unwrap();
        assert_eq!(req.header("Authorization"), None);
        assert_eq!(req.header("X-Amz-Date"), None);
        let body = String::from_utf8(req.body).unwrap();
        assert!(
            body.starts_with("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&")
                && body.contains("WebIdentityToken=eyJ.token"),
            "{body}"
        );
        // Any other operation still needs credentials.
        let gci = sts.operation("GetCallerIdentity").unwrap();
        assert_eq!(
            prepare_op(&s, gci, &mut io).unwrap_err(),
            CliError::NoCredentials
        );
    }

    #[test]
    fn token_roundtrip() {
        let mut m = Map::new();
        m.insert("Marker".into(), Value::String("abc".into()));
        m.insert("boto_truncate_amount".into(), Value::from(2));
        let t = encode_token(&m);
        let raw = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&t)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(raw, r#"{"Marker": "abc", "boto_truncate_amount": 2}"#);
        assert_eq!(decode_token(&t).unwrap(), m);
    }

    #[test]
    fn multiselect_hash_keeps_written_order() {
        let d = Doc::Map(vec![(
            "Users".into(),
            Doc::List(vec![Doc::Map(vec![
                ("UserName".into(), Doc::Str("u".into())),
                ("UserId".into(), Doc::Str("i".into())),
            ])]),
        )]);
        let r = apply_query("Users[].{Zed: UserName, Alpha: UserId}", d).unwrap();
        assert_eq!(
            output::to_json_compact(&r),
            r#"[{"Zed": "u", "Alpha": "i"}]"#
        );
    }

    #[test]
    fn query_keeps_input_order() {
        let d = Doc::Map(vec![
            ("Zed".into(), Doc::Str("1".into())),
            ("Alpha".into(), Doc::Str("2".into())),
        ]);
        let r = apply_query("@", d.clone()).unwrap();
        assert_eq!(r, d);
    }
}
