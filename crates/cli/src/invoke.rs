//! `kagi <service> <operation> ...`: parse arguments from the model, resolve session, endpoint
//! and credentials, call (with botocore's pagination), apply `--query`, print.
//!
//! Pagination follows botocore's `PageIterator` as the AWS CLI drives it: all pages are fetched
//! unless `--no-paginate` or a paging member was given explicitly; the result keys are
//! concatenated (dotted keys such as `imageScanFindings.findings` too), the first page's
//! `non_aggregate_keys` merged in after them (`Group` of `iam get-group`), other members
//! dropped; `--max-items` truncates the primary result key and emits `NextToken`, a base64 JSON
//! resume token (`{"Marker": ..., "boto_truncate_amount": n}`, one key per input token:
//! `{"KeyMarker": ..., "VersionIdMarker": ...}` for S3's ListObjectVersions) that
//! `--starting-token` accepts. Output tokens may be JMESPath expressions (`NextMarker ||
//! Contents[-1].Key`). The text format prints page by page, the first page with its non-aggregate keys.

use base64::Engine;
use serde_json::{Map, Value};

use kagi_api::{Operation, Service, ShapeId, ShapeKind};

use crate::calls::{flush_debug, prepare_op};
use crate::creds::Creds;
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
    if service.cli_name == "ecr-public" && opname == "get-login-password" {
        return crate::calls::print_login_password(service, g, &sub[1..], env, io);
    }
    if service.cli_name == "rds" && opname == "generate-db-auth-token" {
        return crate::handwritten::rds_generate_db_auth_token(g, &sub[1..], env, io);
    }
    let Some(op) = service.operation_by_cli_name(opname) else {
        // A hand-written command of the official CLI (`rds generate-db-auth-token`, ...).
        let words: Vec<String> = std::iter::once(service.cli_name.to_string())
            .chain(sub.iter().cloned())
            .collect();
        if let Some(name) = crate::customizations::command(&words) {
            return Err(CliError::MissingCustomization {
                name: name.into(),
                fallback: false,
            });
        }
        return Err(CliError::Usage(format!(
            "argument operation: Found invalid choice '{opname}'\n"
        )));
    };
    let binary_format = g
        .cli_binary_format
        .clone()
        .unwrap_or_else(|| "base64".into());
    // An argument the official CLI adds or reshapes (`--zip-file`, ...) kagi cannot parse.
    let mut tail: Vec<String> = sub[1..].to_vec();
    // The official CLI's `iam create-virtual-mfa-device --outfile F --bootstrap-method M`.
    let mfa = if op.name == "CreateVirtualMFADevice" && service.cli_name == "iam" {
        Some(crate::handwritten::MfaOptions::take(&mut tail)?)
    } else {
        None
    };
    let mut args = params::parse(op, &tail, env, &binary_format).map_err(|e| {
        match crate::customizations::argument(service.cli_name, opname, &sub[1..]) {
            Some(name) => CliError::MissingCustomization {
                name,
                fallback: false,
            },
            None => e,
        }
    })?;
    if op.paginator.is_some() && (g.no_paginate || args.manual_paging) {
        unpaginated(op, &mut args)?;
    }
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
    if let Some(m) = &mfa {
        m.check(&[])?;
    }
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = prepare_op(&s, op, io)?;
        let mut pages = run_operation(&s, op, &ep, creds.as_ref(), &args)?;
        if let Some(m) = &mfa {
            let Pages { full, pages, .. } = &mut pages;
            let mut outputs: Vec<&mut Value> =
                std::iter::once(full).chain(pages.iter_mut()).collect();
            m.save(env, &mut outputs)?;
        }
        print_result(&s, op, pages, io)
    })();
    flush_debug(&s, io);
    result
}

/// Pagination is off (`--no-paginate`, or a paging member such as `--marker` given): the AWS
/// CLI's `check_should_enable_pagination`. Its own paging options are an error, except where
/// they shadow a member of the operation (IAM's `MaxItems` is `--max-items`): that member gets
/// the value back.
fn unpaginated(op: &'static Operation, args: &mut OpArgs) -> Result<(), CliError> {
    let options = [
        (
            "starting-token",
            args.starting_token
                .take()
                .filter(|t| !t.is_empty())
                .map(Value::String),
        ),
        (
            "page-size",
            args.page_size.take().filter(|n| *n != 0).map(Value::from),
        ),
        (
            "max-items",
            args.max_items.take().filter(|n| *n != 0).map(Value::from),
        ),
    ];
    let members = op.input_shape().map(|s| s.members()).unwrap_or_default();
    let mut used = Vec::new();
    for (cli, value) in options {
        let Some(value) = value else { continue };
        match members
            .iter()
            .find(|m| kagi_api::xform_name(m.name, '-') == cli)
        {
            Some(m) => {
                args.input.insert(m.name.to_string(), value);
            }
            None => used.push(format!("--{cli}")),
        }
    }
    if used.is_empty() {
        return Ok(());
    }
    // v2's ParamValidationError (v1 raised a PaginationError: "Error during pagination: ...").
    Err(CliError::BadParam(format!(
        "Cannot specify --no-paginate along with pagination arguments: {}",
        used.join(", ")
    )))
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
    let paginated = op.paginator.is_some() && !s.g.no_paginate && !args.manual_paging;
    let Some(p) = op.paginator.as_ref().filter(|_| paginated) else {
        let file = match &args.body_file {
            Some(path) => Some(crate::http::FileSlice::whole(path).map_err(|e| {
                CliError::General(format!(
                    "[Errno {}] {}: '{}'",
                    e.raw_os_error().unwrap_or(5),
                    crate::http::io_reason(&e),
                    path.display()
                ))
            })?),
            None => None,
        };
        let out = match &args.outfile {
            // The streaming payload goes to OUTFILE (created only once the call succeeds, as
            // the AWS CLI's StreamingOutputArgument writes it after the response arrives).
            Some(outfile) => {
                let path = s.env.expand(outfile);
                // A device or a pipe (`/dev/stdout`) is written directly.
                let special = std::fs::metadata(&path).is_ok_and(|m| !m.is_file());
                let tmp = if special {
                    path.clone()
                } else {
                    path.with_file_name(format!(
                        ".{}.kagi-{}",
                        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
                        std::process::id()
                    ))
                };
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(!special)
                    .open(&tmp)
                    .map_err(|e| {
                        CliError::General(format!(
                            "[Errno {}] {}: '{}'",
                            e.raw_os_error().unwrap_or(5),
                            crate::http::io_reason(&e),
                            outfile
                        ))
                    })?;
                let r = s.call_with(
                    op,
                    ep,
                    sig.as_ref(),
                    &input,
                    file,
                    crate::http::Sink::Writer(&mut f),
                );
                drop(f);
                match r {
                    Ok(v) => {
                        if !special {
                            std::fs::rename(&tmp, &path)?;
                        }
                        v
                    }
                    Err(e) => {
                        if !special {
                            let _ = std::fs::remove_file(&tmp);
                        }
                        return Err(e);
                    }
                }
            }
            None => s.call_with(
                op,
                ep,
                sig.as_ref(),
                &input,
                file,
                crate::http::Sink::Memory,
            )?,
        };
        return Ok(Pages {
            full: out.clone(),
            pages: vec![out],
            result_pages: None,
            next_token: None,
        });
    };
    paginate(p, args, &mut |req: &Map<String, Value>| {
        s.call(op, ep, sig.as_ref(), &Value::Object(req.clone()))
    })
}

/// One request of a paginated call: the input members in, the page out.
type PageCall<'a> = dyn FnMut(&Map<String, Value>) -> Result<Value, CliError> + 'a;

/// botocore's `PageIterator` and `build_full_result` over `call` (one request per page).
fn paginate(
    p: &kagi_api::Paginator,
    args: &OpArgs,
    call: &mut PageCall,
) -> Result<Pages, CliError> {
    let mut req = args.input.clone();
    if let (Some(l), Some(n)) = (p.limit_key, args.page_size) {
        req.insert(l.to_string(), Value::from(n));
    }
    // botocore's PageIterator.__iter__, step by step. A token is a map from each input token
    // member to its value (several for S3's ListObjectVersions, Route 53's record sets); null
    // where the service gave none.
    let mut starting_truncation = 0usize;
    let mut current: Map<String, Value> = p
        .input_tokens
        .iter()
        .map(|k| (k.to_string(), Value::Null))
        .collect();
    if let Some(t) = &args.starting_token {
        let mut m = decode_token(t)?;
        if let Some(n) = m.remove("boto_truncate_amount") {
            starting_truncation = n.as_u64().unwrap_or(0) as usize;
        }
        inject_tokens(&mut req, &m);
        current = m;
    }
    let primary = p.result_keys[0];
    let max_items = args.max_items.map(|m| m.max(0) as usize);
    let mut pages: Vec<Value> = Vec::new();
    let mut non_aggregate = Map::new();
    let mut total_items = 0usize;
    let mut resume: Option<Map<String, Value>> = None;
    let mut previous: Option<Map<String, Value>> = None;
    loop {
        let mut page = call(&req)?;
        let first = pages.is_empty();
        if first && args.starting_token.is_some() {
            handle_first_request(&mut page, &p.result_keys, starting_truncation);
        } else if !first {
            starting_truncation = 0;
        }
        let n = match search(&page, primary) {
            Some(Value::Array(a)) => a.len(),
            Some(Value::String(s)) => s.chars().count(),
            _ => 0,
        };
        let truncate = max_items.map_or(0, |max| (total_items + n).saturating_sub(max));
        let mut next = None;
        if truncate > 0 {
            // Only the primary result key is truncated (botocore's _truncate_response); the
            // resume token is the one that fetched this page.
            let kept = n - truncate;
            if let Some(Value::Array(a)) = search(&page, primary) {
                let a = a[..kept].to_vec();
                set_path(&mut page, primary, Value::Array(a));
            }
            let mut t = current.clone();
            t.insert(
                "boto_truncate_amount".into(),
                Value::from(kept + starting_truncation),
            );
            resume = Some(t);
        } else {
            total_items += n;
            next = next_tokens(p, &page);
        }
        if first {
            // _record_non_aggregate_key_values: botocore keeps references into the first page,
            // so they show its truncation too.
            for k in &p.non_aggregate_keys {
                let v = search(&page, k).cloned().unwrap_or(Value::Null);
                set_path_in(&mut non_aggregate, k, v);
            }
        }
        pages.push(page);
        let Some(next) = next else { break };
        if max_items == Some(total_items) {
            resume = Some(next);
            break;
        }
        if previous.as_ref() == Some(&next) {
            return Err(CliError::General(format!(
                "Error during pagination: The same next token was received twice: {{{}}}",
                next.iter()
                    .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        inject_tokens(&mut req, &next);
        previous = Some(next.clone());
        current = next;
    }
    let next_token = resume.map(|t| encode_token(&t));
    // build_full_result: result keys concatenated page by page, then the first page's
    // non-aggregate keys merged in (merge_dicts), then NextToken.
    let mut full = Value::Object(Map::new());
    for page in &pages {
        for k in &p.result_keys {
            let Some(v) = search(page, k) else { continue };
            match (search_mut(&mut full, k), v) {
                (None, v) => set_path(&mut full, k, v.clone()),
                (Some(Value::Array(e)), Value::Array(a)) => e.extend(a.iter().cloned()),
                (Some(e @ Value::String(_)), Value::String(a)) => {
                    let joined = format!("{}{a}", e.as_str().unwrap_or_default());
                    *e = Value::String(joined);
                }
                (Some(e @ Value::Number(_)), Value::Number(a)) => {
                    if let (Some(x), Some(y)) = (e.as_i64(), a.as_i64()) {
                        *e = Value::from(x + y);
                    }
                }
                _ => {}
            }
        }
    }
    // Python aliasing: a non-aggregate key that contains a result key (`imageScanFindings` and
    // `imageScanFindings.findings`) holds the first page's list, the very list object that
    // build_full_result extended; merging it back therefore writes the aggregated list.
    let aliased: Vec<(&str, Value)> = p
        .result_keys
        .iter()
        .filter(|k| {
            p.non_aggregate_keys
                .iter()
                .any(|n| k.strip_prefix(n).is_some_and(|rest| rest.starts_with('.')))
                && matches!(
                    pages.first().and_then(|f| search(f, k)),
                    Some(Value::Array(_))
                )
        })
        .filter_map(|k| search(&full, k).map(|v| (*k, v.clone())))
        .collect();
    if let Value::Object(f) = &mut full {
        merge_dicts(f, &non_aggregate);
        for (k, v) in aliased {
            set_path_in(f, k, v);
        }
        if let Some(token) = &next_token {
            f.insert("NextToken".into(), Value::String(token.clone()));
        }
    }
    // The text formatter's view of each page: the non-aggregate part on the first page, then
    // every result key (null when the page lacks it).
    let result_pages = pages
        .iter()
        .enumerate()
        .map(|(i, page)| {
            let mut current = if i == 0 {
                Value::Object(non_aggregate.clone())
            } else {
                Value::Object(Map::new())
            };
            for k in &p.result_keys {
                set_path(
                    &mut current,
                    k,
                    search(page, k).cloned().unwrap_or(Value::Null),
                );
            }
            current
        })
        .collect();
    Ok(Pages {
        full,
        pages,
        result_pages: Some(result_pages),
        next_token,
    })
}

/// botocore's `_get_next_token`: each output token's value for its input member (null when
/// falsy), or `None` when there is no next page (`more_results` false, or every token null).
fn next_tokens(p: &kagi_api::Paginator, page: &Value) -> Option<Map<String, Value>> {
    if let Some(k) = p.more_results
        && !token_search(page, k).is_some_and(|v| truthy(&v))
    {
        return None;
    }
    let next: Map<String, Value> = p
        .output_tokens
        .iter()
        .zip(&p.input_tokens)
        .map(|(out, input)| {
            let v = token_search(page, out)
                .filter(truthy)
                .unwrap_or(Value::Null);
            (input.to_string(), v)
        })
        .collect();
    (!next.values().all(Value::is_null)).then_some(next)
}

/// botocore's `_inject_token_into_kwargs`: a token's members into the request (a null or
/// `"None"` one removed).
fn inject_tokens(req: &mut Map<String, Value>, token: &Map<String, Value>) {
    for (name, v) in token {
        if v.is_null() || v.as_str() == Some("None") {
            req.remove(name);
        } else {
            req.insert(name.clone(), v.clone());
        }
    }
}

/// A paginator's output token or `more_results` key: a member path, or a JMESPath
/// expression (`NextMarker || Contents[-1].Key`, `Jobs[-1].JobId`).
fn token_search(page: &Value, expr: &str) -> Option<Value> {
    if expr
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return search(page, expr).cloned();
    }
    jmes_search(expr, page).filter(|v| !v.is_null())
}

/// A JMESPath expression over a Value (`None` if it does not compile).
pub(crate) fn jmes_search(expr: &str, v: &Value) -> Option<Value> {
    let e = jmespath::compile(expr).ok()?;
    let r = e.search(v.clone()).ok()?;
    serde_json::to_value(&*r).ok()
}

/// JMESPath's truthiness, as botocore tests `more_results` and next tokens (an empty string,
/// list or object and `false` are not "more").
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(_) => true,
    }
}

/// A token as Python's `repr` prints it in botocore's "same next token" error.
fn python_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// A paginator key (`Users`, `imageScanFindings.findings`): a dotted JMESPath sub-expression.
/// Missing and null are both `None`, as JMESPath's search gives.
fn search<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn search_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(v, |v, k| v.get_mut(k))
        .filter(|v| !v.is_null())
}

/// botocore's `set_value_from_jmespath`: missing intermediate keys become objects.
fn set_path(v: &mut Value, path: &str, x: Value) {
    if let Value::Object(m) = v {
        set_path_in(m, path, x);
    }
}

fn set_path_in(m: &mut Map<String, Value>, path: &str, x: Value) {
    match path.split_once('.') {
        None => {
            m.insert(path.to_string(), x);
        }
        Some((k, rest)) => {
            let inner = m
                .entry(k.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            set_path(inner, rest, x);
        }
    }
}

/// botocore's `merge_dicts` (without `append_lists`): objects merge key by key, anything else
/// replaces.
fn merge_dicts(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge_dicts(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `_handle_first_request` on resuming: the primary result key loses the items already shown,
/// the other result keys were shown in full and become empty.
fn handle_first_request(page: &mut Value, keys: &[&str], truncation: usize) {
    let data = match search(page, keys[0]) {
        Some(Value::Array(a)) => Value::Array(a.iter().skip(truncation).cloned().collect()),
        Some(Value::String(s)) => Value::String(s.chars().skip(truncation).collect()),
        _ => Value::Null,
    };
    set_path(page, keys[0], data);
    for k in &keys[1..] {
        let empty = match search(page, k) {
            Some(Value::Array(_)) => Value::Array(Vec::new()),
            Some(Value::String(_)) => Value::String(String::new()),
            Some(n @ Value::Number(_)) => n.clone(),
            _ => Value::Null,
        };
        set_path(page, k, empty);
    }
}

/// Converts a Value into a [`Doc`] ordered like the shape's members (botocore's parsed order).
pub fn shape_doc(service: &'static Service, shape: ShapeId, v: &Value) -> Doc {
    shape_doc_in(service, shape, v, false)
}

/// [`shape_doc`], keeping the Value's own key order when `keep_order` (a paginated result:
/// botocore's `build_full_result` puts the result keys first, then the non-aggregate keys).
fn shape_doc_in(service: &'static Service, shape: ShapeId, v: &Value, keep_order: bool) -> Doc {
    let s = service.shape(shape);
    // botocore's `json_decode_policies` (IAM): a policy document becomes the JSON it holds.
    // kagi-api's XML decoder has already undone the wire's percent-encoding (the handler's
    // `unquote`); as in botocore, text that is not JSON stays a string.
    if s.name == kagi_api::validate::POLICY_DOCUMENT_SHAPE
        && let Value::String(text) = v
        && let Some(d) = output::parse_json_ordered(text)
    {
        return d;
    }
    match (&s.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(m)) if keep_order => Doc::Map(
            m.iter()
                .map(|(k, x)| {
                    let d = match members.iter().find(|mm| mm.name == k) {
                        Some(mm) => shape_doc_in(service, mm.shape, x, true),
                        None => Doc::from_value(x),
                    };
                    (k.clone(), d)
                })
                .collect(),
        ),
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

fn output_doc(op: &'static Operation, v: &Value, keep_order: bool) -> Doc {
    // REST outputs come decoded in botocore's order (members bound to headers and the status
    // code before the body's), which is not the model's.
    let keep_order = keep_order
        || matches!(
            op.service().protocol,
            kagi_api::Protocol::RestJson | kagi_api::Protocol::RestXml { .. }
        );
    match op.output {
        Some(shape) => {
            let mut d = shape_doc_in(op.service(), shape, v, keep_order);
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
    // A paginated full result keeps botocore's key order; single responses are in model order.
    let paginated = pages.result_pages.is_some();
    let render_in = |v: &Value, keep_order: bool| -> Result<Doc, CliError> {
        let d = output_doc(op, v, keep_order);
        match query {
            Some(q) => apply_query(q, d),
            None => Ok(d),
        }
    };
    let render = |v: &Value| render_in(v, false);
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
            let d = render_in(&pages.full, paginated)?;
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

/// `aws ecr get-login-password`: its help, else [`crate::calls::print_login_password`].
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
    crate::calls::print_login_password(service, g, args, env, io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::takes_no_auth;

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

    /// botocore's own paginator over the same pages: `Paginator(...).paginate(...)
    /// .build_full_result()` and the requests it made.
    const BOTOCORE_PAGINATE: &str = r#"
import json, sys
import botocore.session
from botocore.paginate import Paginator
case = json.load(sys.stdin)
session = botocore.session.get_session()
model = session.get_service_model(case["service"]).operation_model(case["op"])
config = session.get_paginator_model(case["service"]).get_paginator(case["op"])
calls = []
def method(**kw):
    calls.append(kw)
    return json.loads(json.dumps(case["pages"][len(calls) - 1]))
conf = {k: v for k, v in case["config"].items() if v is not None}
full = Paginator(method, config, model).paginate(PaginationConfig=conf).build_full_result()
print(json.dumps({"full": full, "calls": calls}))
"#;

    /// Paginates `pages` with kagi and with botocore; the full results (key order included)
    /// and the requests must be the same. Returns the full result.
    fn same_as_botocore(
        venv: &std::path::Path,
        op: &'static Operation,
        pages: &[Value],
        max_items: Option<i64>,
        page_size: Option<i64>,
        starting_token: Option<&str>,
    ) -> Value {
        let args = OpArgs {
            max_items,
            page_size,
            starting_token: starting_token.map(str::to_string),
            ..OpArgs::default()
        };
        let mut calls = Vec::new();
        let ours = paginate(op.paginator.as_ref().unwrap(), &args, &mut |req| {
            calls.push(Value::Object(req.clone()));
            Ok(pages[calls.len() - 1].clone())
        })
        .unwrap();
        let case = serde_json::json!({
            "service": op.service().name, "op": op.name, "pages": pages,
            "config": {"MaxItems": max_items, "PageSize": page_size, "StartingToken": starting_token},
        });
        use std::io::Write as _;
        let mut child = std::process::Command::new(venv.join("bin/python"))
            .args(["-c", BOTOCORE_PAGINATE])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(case.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        // As text, so that key order counts too.
        assert_eq!(
            ours.full.to_string(),
            theirs["full"].to_string(),
            "{} {max_items:?} {starting_token:?}",
            op.name
        );
        assert_eq!(Value::Array(calls), theirs["calls"], "{}", op.name);
        ours.full
    }

    #[test]
    fn pagination_is_botocores() {
        let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(std::path::PathBuf::from) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "KAGI_COMPAT_VENV (botocore) is required under CI"
            );
            eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set");
            return;
        };
        let iam = kagi_api::service("iam").unwrap();
        let ecr = kagi_api::service("ecr").unwrap();
        let user = |n: u32| serde_json::json!({"UserName": format!("u{n}"), "Path": "/"});
        // GetGroup: Users aggregated, Group from the first page, after the result keys.
        let get_group = iam.operation("GetGroup").unwrap();
        let group = serde_json::json!({"GroupName": "g", "Path": "/"});
        let pages = [
            serde_json::json!({"Group": group, "Users": [user(0), user(1)], "IsTruncated": true, "Marker": "m1"}),
            serde_json::json!({"Group": group, "Users": [user(2), user(3)], "IsTruncated": true, "Marker": "m2"}),
            serde_json::json!({"Group": group, "Users": [user(4)], "IsTruncated": false}),
        ];
        let full = same_as_botocore(&venv, get_group, &pages, None, Some(2), None);
        assert_eq!(full["Users"].as_array().unwrap().len(), 5);
        assert_eq!(full["Group"], group);
        let truncated = same_as_botocore(&venv, get_group, &pages, Some(3), None, None);
        let token = truncated["NextToken"].as_str().unwrap().to_string();
        same_as_botocore(&venv, get_group, &pages[1..], None, None, Some(&token));
        same_as_botocore(&venv, get_group, &pages, Some(2), None, None);
        // DescribeImageScanFindings: dotted result keys, nested non-aggregate keys merged as
        // botocore's merge_dicts does.
        let findings = ecr.operation("DescribeImageScanFindings").unwrap();
        let finding = |n: u32| serde_json::json!({"name": format!("CVE-{n}"), "severity": "HIGH"});
        let scan = |f: Vec<Value>, next: Option<&str>| {
            let mut v = serde_json::json!({
                "registryId": "123456789012", "repositoryName": "r",
                "imageId": {"imageDigest": "sha256:00"},
                "imageScanStatus": {"status": "COMPLETE"},
                "imageScanFindings": {"imageScanCompletedAt": 1.0, "findings": f,
                    "findingSeverityCounts": {"HIGH": 5}}});
            if let Some(n) = next {
                v["nextToken"] = Value::from(n);
            }
            v
        };
        let pages = [
            scan(vec![finding(0), finding(1)], Some("t1")),
            scan(vec![finding(2), finding(3)], Some("t2")),
            scan(vec![finding(4)], None),
        ];
        same_as_botocore(&venv, findings, &pages, None, None, None);
        let truncated = same_as_botocore(&venv, findings, &pages, Some(3), None, None);
        let token = truncated["NextToken"].as_str().unwrap().to_string();
        same_as_botocore(&venv, findings, &pages[1..], None, None, Some(&token));
        // GetAccountAuthorizationDetails: four result keys; --max-items truncates only the
        // first, and resuming empties the others on the first page.
        let details = iam.operation("GetAccountAuthorizationDetails").unwrap();
        let pages = [
            serde_json::json!({"UserDetailList": [user(0), user(1)], "GroupDetailList": [group],
                "RoleDetailList": [], "Policies": [], "IsTruncated": true, "Marker": "m1"}),
            serde_json::json!({"UserDetailList": [user(2)], "GroupDetailList": [],
                "RoleDetailList": [{"RoleName": "r"}], "Policies": [], "IsTruncated": false}),
        ];
        same_as_botocore(&venv, details, &pages, None, None, None);
        let truncated = same_as_botocore(&venv, details, &pages, Some(1), None, None);
        let token = truncated["NextToken"].as_str().unwrap().to_string();
        same_as_botocore(&venv, details, &pages, None, None, Some(&token));
        // Several tokens: S3's ListObjectVersions (KeyMarker and VersionIdMarker), Route 53's
        // record sets (three), resumed from a token in the middle of a page and on a boundary.
        let s3 = kagi_api::service("s3api").unwrap();
        let versions = s3.operation("ListObjectVersions").unwrap();
        let version = |k: &str, v: &str| serde_json::json!({"Key": k, "VersionId": v});
        let pages = [
            serde_json::json!({"Versions": [version("a", "1"), version("a", "2")], "IsTruncated": true,
                "NextKeyMarker": "a", "NextVersionIdMarker": "2", "Name": "b"}),
            serde_json::json!({"Versions": [version("b", "1"), version("c", "1")], "IsTruncated": true,
                "NextKeyMarker": "c", "NextVersionIdMarker": "1", "Name": "b"}),
            serde_json::json!({"Versions": [version("d", "1")], "DeleteMarkers": [version("e", "9")],
                "IsTruncated": false, "Name": "b"}),
        ];
        let full = same_as_botocore(&venv, versions, &pages, None, Some(2), None);
        assert_eq!(full["Versions"].as_array().unwrap().len(), 5);
        let truncated = same_as_botocore(&venv, versions, &pages, Some(3), None, None);
        let token = truncated["NextToken"].as_str().unwrap().to_string();
        let resumed = same_as_botocore(&venv, versions, &pages[1..], None, None, Some(&token));
        assert_eq!(resumed["Versions"][0]["Key"], "c");
        let boundary = same_as_botocore(&venv, versions, &pages, Some(2), None, None);
        let token = boundary["NextToken"].as_str().unwrap().to_string();
        same_as_botocore(&venv, versions, &pages[1..], Some(1), None, Some(&token));
        let route53 = kagi_api::service("route53").unwrap();
        let records = route53.operation("ListResourceRecordSets").unwrap();
        let rr = |n: &str| serde_json::json!({"Name": n, "Type": "A", "TTL": 60});
        let pages = [
            serde_json::json!({"ResourceRecordSets": [rr("a."), rr("b.")], "IsTruncated": true,
                "NextRecordName": "c.", "NextRecordType": "A", "MaxItems": "2"}),
            serde_json::json!({"ResourceRecordSets": [rr("c.")], "IsTruncated": false, "MaxItems": "2"}),
        ];
        same_as_botocore(&venv, records, &pages, None, None, None);
        let truncated = same_as_botocore(&venv, records, &pages, Some(1), None, None);
        let token = truncated["NextToken"].as_str().unwrap().to_string();
        same_as_botocore(&venv, records, &pages, None, None, Some(&token));
        // An output token that is an expression: ListObjects' `NextMarker || Contents[-1].Key`.
        let objects = s3.operation("ListObjects").unwrap();
        let obj = |k: &str| serde_json::json!({"Key": k, "Size": 1});
        let pages = [
            serde_json::json!({"Contents": [obj("a"), obj("b")], "IsTruncated": true, "Name": "b"}),
            serde_json::json!({"Contents": [obj("c")], "IsTruncated": false, "Name": "b"}),
        ];
        let full = same_as_botocore(&venv, objects, &pages, None, None, None);
        assert_eq!(full["Contents"].as_array().unwrap().len(), 3);
    }
}
