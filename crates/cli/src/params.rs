//! Model-driven operation arguments, as the AWS CLI builds them from botocore's input shapes:
//! `--kebab-case` names (`xform_name`), scalars, space-separated lists, structures/maps in
//! shorthand (`Key=k,Value=v`) or JSON, `file://`/`fileb://` values, `--flag`/`--no-flag`
//! booleans, `--cli-input-json`, and botocore's client-side validation messages.

use serde_json::{Map, Value};

use kagi_api::{Operation, Service, ShapeId, ShapeKind, xform_name};

use crate::CliError;
use crate::config::Env;

/// The parsed arguments of one operation.
#[derive(Debug, Default)]
pub struct OpArgs {
    /// The input value (members of the input shape).
    pub input: Map<String, Value>,
    pub page_size: Option<i64>,
    pub max_items: Option<i64>,
    pub starting_token: Option<String>,
    /// `--generate-cli-skeleton [input|output|yaml-input]`.
    pub skeleton: Option<String>,
    pub help: bool,
    /// The user set a paging member (e.g. `--marker`) directly: no automatic pagination.
    pub manual_paging: bool,
    /// A streaming blob input (`s3api put-object --body FILE`): the file to send, read as it
    /// is sent.
    pub body_file: Option<std::path::PathBuf>,
    /// The positional `outfile` of an operation with a streaming output (`get-object`).
    pub outfile: Option<String>,
}

/// The input member that is a streaming blob payload (`Body` of `PutObject`), if any.
pub fn streaming_input_member(op: &'static Operation) -> Option<&'static str> {
    let shape = op.input_shape()?;
    let m = shape.member(shape.payload?)?;
    (m.streaming || op.service().shape(m.shape).streaming).then_some(m.name)
}

/// Whether the output's payload is a streaming blob (`GetObject`): the CLI then takes an
/// `outfile` positional argument and writes the payload there.
pub fn has_streaming_output(op: &'static Operation) -> bool {
    op.output_shape()
        .and_then(|s| s.member(s.payload?))
        .is_some_and(|m| m.streaming || op.service().shape(m.shape).streaming)
}

struct ArgDef {
    cli: String,
    member: &'static str,
    shape: ShapeId,
    required: bool,
}

fn kind(service: &'static Service, id: ShapeId) -> &'static ShapeKind {
    &service.shape(id).kind
}

fn arg_defs(op: &'static Operation) -> Vec<ArgDef> {
    let Some(input) = op.input_shape() else {
        return Vec::new();
    };
    let paging: Vec<&str> = op
        .paginator
        .as_ref()
        .map(|p| {
            let mut v = vec![p.input_token];
            v.extend(p.limit_key);
            v
        })
        .unwrap_or_default();
    input
        .members()
        .iter()
        .filter_map(|m| {
            let cli = format!("--{}", xform_name(m.name, '-'));
            // A paging member whose name collides with the CLI's own paging options is replaced
            // by them (IAM's `MaxItems` becomes `--page-size`); the others stay usable.
            if paging.contains(&m.name)
                && matches!(
                    cli.as_str(),
                    "--max-items" | "--page-size" | "--starting-token"
                )
            {
                return None;
            }
            Some(ArgDef {
                cli,
                member: m.name,
                shape: m.shape,
                required: m.required,
            })
        })
        .collect()
}

/// Names of the operation's options, for help.
pub fn option_names(op: &'static Operation) -> Vec<(String, &'static str, bool)> {
    arg_defs(op)
        .into_iter()
        .map(|d| {
            (
                d.cli,
                op.service().shape(d.shape).kind.type_name(),
                d.required,
            )
        })
        .collect()
}

/// A hand-written command's `file://` / `fileb://` value (its text), or the value itself.
pub(crate) fn read_file_arg(cli: &str, value: &str, env: &Env) -> Result<String, CliError> {
    match load_param(cli, value, false, env)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// Reads `file://` / `fileb://` values.
fn load_param(cli: &str, value: &str, binary_blob: bool, env: &Env) -> Result<Value, CliError> {
    use base64::Engine;
    if let Some(path) = value.strip_prefix("fileb://") {
        let p = env.expand(path);
        let bytes = std::fs::read(&p).map_err(|e| {
            CliError::BadParam(format!("Error parsing parameter '{cli}': Unable to load paramfile {value}: [Errno 2] {e}: '{path}'"))
        })?;
        return Ok(Value::String(if binary_blob {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        }));
    }
    if let Some(path) = value.strip_prefix("file://") {
        let p = env.expand(path);
        let bytes = std::fs::read(&p).map_err(|e| {
            let errno = match e.kind() {
                std::io::ErrorKind::NotFound => "[Errno 2] No such file or directory".to_string(),
                std::io::ErrorKind::PermissionDenied => "[Errno 13] Permission denied".to_string(),
                _ => e.to_string(),
            };
            CliError::BadParam(format!("Error parsing parameter '{cli}': Unable to load paramfile {value}: {errno}: '{path}'"))
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            CliError::BadParam(format!(
                "Error parsing parameter '{cli}': Unable to load paramfile ({value}), text contents could not be decoded.  If this is a binary file, please use the fileb:// prefix instead of the file:// prefix."
            ))
        })?;
        return Ok(Value::String(text));
    }
    Ok(Value::String(value.to_string()))
}

/// Parses the operation's argv tail.
pub fn parse(
    op: &'static Operation,
    args: &[String],
    env: &Env,
    binary_format: &str,
) -> Result<OpArgs, CliError> {
    let service = op.service();
    let defs = arg_defs(op);
    let paginated = op.paginator.is_some();
    let streaming_in = streaming_input_member(op);
    let streaming_out = has_streaming_output(op);
    let mut out = OpArgs::default();
    let mut unknown = Vec::new();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut cli_input: Option<Value> = None;
    let mut i = 0;
    let take_one = |i: &mut usize, name: &str| -> Result<String, CliError> {
        *i += 1;
        match args.get(*i) {
            Some(v) if !v.starts_with("--") || v == "--" => Ok(v.clone()),
            _ => Err(CliError::Usage(format!(
                "argument {name}: expected one argument"
            ))),
        }
    };
    while i < args.len() {
        let raw = &args[i];
        if raw == "help" && args.len() == 1 {
            out.help = true;
            return Ok(out);
        }
        let (name, inline) = match raw.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (raw.clone(), None),
        };
        let value_of = |i: &mut usize| -> Result<String, CliError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => take_one(i, &name),
            }
        };
        match name.as_str() {
            "--cli-input-json" => {
                let v = value_of(&mut i)?;
                let text = match load_param(&name, &v, false, env)? {
                    Value::String(s) => s,
                    _ => unreachable!(),
                };
                let parsed: Value = serde_json::from_str(&text).map_err(|e| {
                    CliError::BadParam(format!(
                        "Error parsing parameter 'cli-input-json': Invalid JSON received: {e}"
                    ))
                })?;
                if !parsed.is_object() {
                    return Err(CliError::BadParam("Error parsing parameter 'cli-input-json': Invalid JSON received: expected an object".into()));
                }
                cli_input = Some(parsed);
            }
            "--generate-cli-skeleton" => {
                let v = match (&inline, args.get(i + 1)) {
                    (Some(v), _) => v.clone(),
                    (None, Some(n)) if !n.starts_with("--") => {
                        i += 1;
                        n.clone()
                    }
                    _ => "input".into(),
                };
                if !["input", "output", "yaml-input"].contains(&v.as_str()) {
                    return Err(CliError::Usage(format!(
                        "argument --generate-cli-skeleton: Found invalid choice '{v}'\n"
                    )));
                }
                out.skeleton = Some(v);
            }
            "--page-size" | "--max-items" if paginated => {
                let v = value_of(&mut i)?;
                let n: i64 = v.parse().map_err(|_| {
                    CliError::Usage(format!("argument {name}: invalid int value: '{v}'"))
                })?;
                if name == "--page-size" {
                    out.page_size = Some(n)
                } else {
                    out.max_items = Some(n)
                }
            }
            "--starting-token" if paginated => out.starting_token = Some(value_of(&mut i)?),
            _ => {
                let neg = name.strip_prefix("--no-").map(|n| format!("--{n}"));
                let def = defs.iter().find(|d| d.cli == name).or_else(|| {
                    neg.as_ref().and_then(|n| {
                        defs.iter().find(|d| {
                            &d.cli == n && matches!(kind(service, d.shape), ShapeKind::Boolean)
                        })
                    })
                });
                let Some(def) = def else {
                    if streaming_out && out.outfile.is_none() && !raw.starts_with("--") {
                        out.outfile = Some(raw.clone());
                    } else {
                        unknown.push(raw.clone());
                    }
                    i += 1;
                    continue;
                };
                if Some(def.member) == streaming_in {
                    // The AWS CLI opens the file named and streams it.
                    let v = value_of(&mut i)?;
                    let path = env.expand(&v);
                    if !path.is_file() {
                        return Err(CliError::BadParam(format!(
                            "Error parsing parameter '{}': Blob values must be a path to a file.",
                            def.cli
                        )));
                    }
                    out.body_file = Some(path);
                    seen.push(def.member);
                    i += 1;
                    continue;
                }
                let shape_kind = kind(service, def.shape);
                let value = match shape_kind {
                    ShapeKind::Boolean => {
                        let is_neg = def.cli != name;
                        match &inline {
                            Some(v) => Value::Bool(
                                parse_bool(v).ok_or_else(|| {
                                    CliError::BadParam(format!(
                                        "Error parsing parameter '{}': invalid boolean '{v}'",
                                        def.cli
                                    ))
                                })? ^ is_neg,
                            ),
                            None => Value::Bool(!is_neg),
                        }
                    }
                    ShapeKind::List { member } => {
                        let mut vals: Vec<String> = Vec::new();
                        if let Some(v) = &inline {
                            vals.push(v.clone());
                        }
                        while inline.is_none()
                            && i + 1 < args.len()
                            && !args[i + 1].starts_with("--")
                        {
                            i += 1;
                            vals.push(args[i].clone());
                        }
                        if vals.is_empty() {
                            return Err(CliError::Usage(format!(
                                "argument {}: expected at least one argument",
                                def.cli
                            )));
                        }
                        list_value(service, def, *member, &vals, env, binary_format)?
                    }
                    _ => {
                        let v = value_of(&mut i)?;
                        single_value(service, &def.cli, def.shape, &v, env, binary_format)?
                    }
                };
                if let Some(p) = &op.paginator
                    && (p.input_token == def.member || p.limit_key == Some(def.member))
                {
                    out.manual_paging = true;
                }
                seen.push(def.member);
                out.input.insert(def.member.to_string(), value);
            }
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(CliError::UnknownArgs(unknown));
    }
    if out.skeleton.is_some() {
        return Ok(out);
    }
    if streaming_out && out.outfile.is_none() {
        let mut missing: Vec<&str> = defs
            .iter()
            .filter(|d| d.required && !seen.contains(&d.member))
            .map(|d| d.cli.as_str())
            .collect();
        missing.push("outfile");
        return Err(CliError::Usage(format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )));
    }
    if let Some(Value::Object(m)) = cli_input {
        // Command-line values win over --cli-input-json.
        for (k, v) in m {
            out.input.entry(k).or_insert(v);
        }
    } else {
        let missing: Vec<&str> = defs
            .iter()
            .filter(|d| d.required && !seen.contains(&d.member))
            .map(|d| d.cli.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(CliError::Usage(format!(
                "the following arguments are required: {}",
                missing.join(", ")
            )));
        }
    }
    if let Some(input) = op.input {
        let mut errors = Vec::new();
        validate(
            service,
            input,
            &Value::Object(out.input.clone()),
            "",
            &mut errors,
        );
        if !errors.is_empty() {
            return Err(CliError::ParamValidation(errors));
        }
    }
    Ok(out)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn list_value(
    service: &'static Service,
    def: &ArgDef,
    member: ShapeId,
    vals: &[String],
    env: &Env,
    binary_format: &str,
) -> Result<Value, CliError> {
    if vals.len() == 1 {
        let loaded = load_param(&def.cli, &vals[0], false, env)?;
        let text = loaded.as_str().unwrap_or_default();
        if text.trim_start().starts_with('[') {
            return parse_json(&def.cli, text);
        }
    }
    let mut out = Vec::new();
    for v in vals {
        out.push(single_value(
            service,
            &def.cli,
            member,
            v,
            env,
            binary_format,
        )?);
    }
    Ok(Value::Array(out))
}

fn parse_json(cli: &str, text: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|e| {
        CliError::BadParam(format!(
            "Error parsing parameter '{cli}': Invalid JSON: {e}\nJSON received: {text}"
        ))
    })
}

fn single_value(
    service: &'static Service,
    cli: &str,
    shape: ShapeId,
    raw: &str,
    env: &Env,
    binary_format: &str,
) -> Result<Value, CliError> {
    let k = kind(service, shape);
    let is_blob = matches!(k, ShapeKind::Blob);
    let loaded = load_param(cli, raw, is_blob, env)?;
    let text = loaded.as_str().unwrap_or_default().to_string();
    match k {
        ShapeKind::Structure { .. } | ShapeKind::Map { .. } | ShapeKind::List { .. } => {
            if text.trim_start().starts_with(['{', '[']) {
                parse_json(cli, &text)
            } else {
                let parsed = shorthand(&text).map_err(|e| {
                    CliError::BadParam(format!("Error parsing parameter '{cli}': {e}"))
                })?;
                Ok(coerce(service, shape, parsed))
            }
        }
        ShapeKind::Blob => {
            if binary_format == "raw-in-base64-out" && !raw.starts_with("fileb://") {
                use base64::Engine;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                ))
            } else {
                Ok(Value::String(text))
            }
        }
        _ => scalar(cli, k, &text),
    }
}

fn scalar(cli: &str, k: &ShapeKind, text: &str) -> Result<Value, CliError> {
    match k {
        ShapeKind::Integer | ShapeKind::Long => text.trim().parse::<i64>().map(Value::from).map_err(|_| {
            CliError::BadParam(format!("Error parsing parameter '{cli}': invalid literal for int() with base 10: '{text}'"))
        }),
        ShapeKind::Double | ShapeKind::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| CliError::BadParam(format!("Error parsing parameter '{cli}': could not convert string to float: '{text}'"))),
        ShapeKind::Boolean => parse_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| CliError::BadParam(format!("Error parsing parameter '{cli}': invalid boolean '{text}'"))),
        ShapeKind::Timestamp => Ok(Value::String(kagi_api::time::normalize(text).unwrap_or_else(|| text.to_string()))),
        _ => Ok(Value::String(text.to_string())),
    }
}

/// Converts shorthand strings to the shape's scalar types.
fn coerce(service: &'static Service, shape: ShapeId, v: Value) -> Value {
    match (&service.shape(shape).kind, v) {
        (ShapeKind::Structure { members }, Value::Object(m)) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let nv = match members.iter().find(|mm| mm.name == k) {
                        Some(mm) => coerce(service, mm.shape, v),
                        None => v,
                    };
                    (k, nv)
                })
                .collect(),
        ),
        (ShapeKind::Map { value, .. }, Value::Object(m)) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, coerce(service, *value, v)))
                .collect(),
        ),
        (ShapeKind::List { member }, Value::Array(a)) => {
            Value::Array(a.into_iter().map(|v| coerce(service, *member, v)).collect())
        }
        (ShapeKind::List { member }, Value::String(s)) => {
            Value::Array(vec![coerce(service, *member, Value::String(s))])
        }
        (
            k @ (ShapeKind::Integer
            | ShapeKind::Long
            | ShapeKind::Double
            | ShapeKind::Float
            | ShapeKind::Boolean),
            Value::String(s),
        ) => scalar("", k, &s).unwrap_or(Value::String(s)),
        (_, v) => v,
    }
}

// ------------------------------------------------------------ shorthand

/// The AWS CLI shorthand syntax (`awscli/shorthand.py`): `k=v,k2=v2`, `k=a,b,c` (list),
/// `k=[a,b]`, `k={a=b}`, quoted values with `'` or `"`.
/// The AWS CLI's table of an option's choices in an "Invalid choice" error: two columns
/// (`{a:<41}| {b:<40}`), and a blank line after a last row that is full.
pub(crate) fn choices_table(choices: &[&str]) -> String {
    let mut t = choices
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => format!("{a:<41}| {b:<40}"),
            [a] => format!("{a:<40}"),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    if choices.len().is_multiple_of(2) {
        t.push('\n');
    }
    t
}

pub fn shorthand(input: &str) -> Result<Value, String> {
    let mut p = Sh {
        s: input.chars().collect(),
        i: 0,
        input,
    };
    let v = p.params()?;
    Ok(v)
}

struct Sh<'a> {
    s: Vec<char>,
    i: usize,
    input: &'a str,
}

impl Sh<'_> {
    fn err(&self, expected: &str) -> String {
        let received = self
            .s
            .get(self.i)
            .map(|c| c.to_string())
            .unwrap_or_else(|| "EOF".into());
        format!(
            "Expected: '{expected}', received: '{received}' for input:\n{}\n{}^",
            self.input,
            " ".repeat(self.i)
        )
    }
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn params(&mut self) -> Result<Value, String> {
        let mut m = Map::new();
        loop {
            let (k, v) = self.keyval()?;
            m.insert(k, v);
            if self.i >= self.s.len() {
                break;
            }
            if !self.eat(',') {
                return Err(self.err(","));
            }
        }
        Ok(Value::Object(m))
    }
    fn key(&mut self) -> Result<String, String> {
        self.ws();
        let st = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_alphanumeric() || "-_.#/:".contains(*c))
        {
            self.i += 1;
        }
        let k: String = self.s[st..self.i].iter().collect();
        self.ws();
        if k.is_empty() {
            return Err(self.err("="));
        }
        Ok(k)
    }
    fn keyval(&mut self) -> Result<(String, Value), String> {
        let k = self.key()?;
        if !self.eat('=') {
            return Err(self.err("="));
        }
        self.ws();
        let v = self.values()?;
        Ok((k, v))
    }
    fn values(&mut self) -> Result<Value, String> {
        match self.s.get(self.i) {
            Some('[') => self.explicit_list(),
            Some('{') => self.hash(),
            _ => {
                let first = self.value(true)?;
                let mut items = vec![first];
                // csv-list: more values follow as long as the next item is not `key=`.
                while self.s.get(self.i) == Some(&',') && !self.next_is_keyval() {
                    self.i += 1;
                    items.push(self.value(true)?);
                }
                if items.len() == 1 {
                    Ok(items.pop().expect("one"))
                } else {
                    Ok(Value::Array(items))
                }
            }
        }
    }
    fn next_is_keyval(&self) -> bool {
        let mut j = self.i + 1;
        while self.s.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        let st = j;
        while self
            .s
            .get(j)
            .is_some_and(|c| c.is_alphanumeric() || "-_.#/:".contains(*c))
        {
            j += 1;
        }
        if j == st {
            return false;
        }
        while self.s.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        self.s.get(j) == Some(&'=')
    }
    fn explicit_list(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(']') {
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            let v = match self.s.get(self.i) {
                Some('[') => self.explicit_list()?,
                Some('{') => self.hash()?,
                _ => self.value(false)?,
            };
            items.push(v);
            self.ws();
            if self.eat(']') {
                break;
            }
            if !self.eat(',') {
                return Err(self.err("]"));
            }
        }
        Ok(Value::Array(items))
    }
    fn hash(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut m = Map::new();
        self.ws();
        if self.eat('}') {
            return Ok(Value::Object(m));
        }
        loop {
            let k = self.key()?;
            if !self.eat('=') {
                return Err(self.err("="));
            }
            self.ws();
            let v = match self.s.get(self.i) {
                Some('[') => self.explicit_list()?,
                Some('{') => self.hash()?,
                _ => self.value(false)?,
            };
            m.insert(k, v);
            self.ws();
            if self.eat('}') {
                break;
            }
            if !self.eat(',') {
                return Err(self.err("}"));
            }
        }
        Ok(Value::Object(m))
    }
    fn value(&mut self, top: bool) -> Result<Value, String> {
        self.ws();
        if let Some(q @ ('\'' | '"')) = self.s.get(self.i).copied() {
            self.i += 1;
            let mut out = String::new();
            loop {
                match self.s.get(self.i) {
                    None => return Err(self.err(&q.to_string())),
                    Some('\\') if self.s.get(self.i + 1) == Some(&q) => {
                        out.push(q);
                        self.i += 2;
                    }
                    Some(c) if *c == q => {
                        self.i += 1;
                        break;
                    }
                    Some(c) => {
                        out.push(*c);
                        self.i += 1;
                    }
                }
            }
            self.ws();
            return Ok(Value::String(out));
        }
        let st = self.i;
        let stop: &[char] = if top { &[','] } else { &[',', ']', '}'] };
        while let Some(c) = self.s.get(self.i) {
            if stop.contains(c) {
                break;
            }
            if *c == '\\' && self.s.get(self.i + 1).is_some() {
                self.i += 2;
                continue;
            }
            self.i += 1;
        }
        let raw: String = self.s[st..self.i].iter().collect();
        let mut out = String::new();
        let mut it = raw.trim().chars().peekable();
        while let Some(c) = it.next() {
            if c == '\\'
                && let Some(n) = it.next()
            {
                out.push(n);
                continue;
            }
            out.push(c);
        }
        Ok(Value::String(out))
    }
}

// ------------------------------------------------------------ validation

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

fn py_repr(v: &Value) -> String {
    crate::output::Doc::from_value(v).py_str()
}

/// botocore's `ParamValidator`: required members, unknown members, types, minimum lengths and
/// values (botocore does not check maxima or enums client-side).
pub fn validate(
    service: &'static Service,
    shape: ShapeId,
    v: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    let s = service.shape(shape);
    let name = if path.is_empty() { "input" } else { path };
    let type_err = |valid: &str, errors: &mut Vec<String>| {
        errors.push(format!(
            "Invalid type for parameter {name}, value: {}, type: {}, valid types: {valid}",
            py_repr(v),
            type_name(v)
        ));
    };
    match &s.kind {
        ShapeKind::Structure { members } => {
            let Value::Object(m) = v else {
                return type_err("<class 'dict'>", errors);
            };
            for mm in members.iter().filter(|mm| mm.required) {
                if !m.contains_key(mm.name) {
                    errors.push(format!(
                        "Missing required parameter in {name}: \"{}\"",
                        mm.name
                    ));
                }
            }
            for (k, val) in m {
                match members.iter().find(|mm| mm.name == k) {
                    None => errors.push(format!(
                        "Unknown parameter in {name}: \"{k}\", must be one of: {}",
                        members
                            .iter()
                            .map(|mm| mm.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Some(mm) => {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        validate(service, mm.shape, val, &p, errors);
                    }
                }
            }
        }
        ShapeKind::List { member } => {
            let Value::Array(a) = v else {
                return type_err("<class 'list'>, <class 'tuple'>", errors);
            };
            if let Some(min) = s.min
                && (a.len() as i64) < min
            {
                errors.push(format!(
                    "Invalid length for parameter {name}, value: {}, valid min length: {min}",
                    a.len()
                ));
            }
            for (i, e) in a.iter().enumerate() {
                validate(service, *member, e, &format!("{name}[{i}]"), errors);
            }
        }
        ShapeKind::Map { value, .. } => {
            let Value::Object(m) = v else {
                return type_err("<class 'dict'>", errors);
            };
            for (k, e) in m {
                validate(service, *value, e, &format!("{name}.{k}"), errors);
            }
        }
        ShapeKind::String => {
            let Value::String(st) = v else {
                return type_err("<class 'str'>", errors);
            };
            if let Some(min) = s.min
                && (st.chars().count() as i64) < min
            {
                errors.push(format!(
                    "Invalid length for parameter {name}, value: {}, valid min length: {min}",
                    st.chars().count()
                ));
            }
        }
        ShapeKind::Integer | ShapeKind::Long => {
            let Some(n) = v.as_i64() else {
                return type_err("<class 'int'>", errors);
            };
            if let Some(min) = s.min
                && n < min
            {
                errors.push(format!(
                    "Invalid value for parameter {name}, value: {n}, valid min value: {min}"
                ));
            }
        }
        ShapeKind::Double | ShapeKind::Float => {
            if !v.is_number() {
                type_err(
                    "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
                    errors,
                );
            }
        }
        ShapeKind::Boolean => {
            if !v.is_boolean() {
                type_err("<class 'bool'>", errors);
            }
        }
        ShapeKind::Timestamp => {
            if !v.is_string() && !v.is_number() {
                type_err("<class 'datetime.datetime'>, <class 'str'>", errors);
            }
        }
        ShapeKind::Blob => {
            if !v.is_string() {
                type_err(
                    "<class 'bytes'>, <class 'bytearray'>, file-like object",
                    errors,
                );
            }
        }
    }
}

/// `--generate-cli-skeleton input|output`: botocore's `ArgumentGenerator` (strings `""`, an enum's
/// first value where botocore picks one at random, numbers 0, booleans true, timestamps
/// `1970-01-01T00:00:00`, blobs null, one list element, maps `{"KeyName": ...}`, a structure met
/// again inside itself `{}`).
pub fn skeleton(service: &'static Service, shape: ShapeId, _depth: usize) -> Value {
    let mut stack = Vec::new();
    skeleton_rec(service, shape, &mut stack)
}

fn skeleton_rec(service: &'static Service, shape: ShapeId, stack: &mut Vec<ShapeId>) -> Value {
    let s = service.shape(shape);
    stack.push(shape);
    let v = match &s.kind {
        ShapeKind::Structure { members } => {
            if stack.iter().filter(|x| **x == shape).count() > 1 {
                Value::Object(Map::new())
            } else {
                Value::Object(
                    members
                        .iter()
                        .map(|m| (m.name.to_string(), skeleton_rec(service, m.shape, stack)))
                        .collect(),
                )
            }
        }
        ShapeKind::List { member } => Value::Array(vec![skeleton_rec(service, *member, stack)]),
        ShapeKind::Map { value, .. } => {
            let mut m = Map::new();
            m.insert("KeyName".into(), skeleton_rec(service, *value, stack));
            Value::Object(m)
        }
        ShapeKind::String => {
            Value::String(s.enum_values.first().copied().unwrap_or("").to_string())
        }
        ShapeKind::Integer | ShapeKind::Long => Value::from(0),
        ShapeKind::Double | ShapeKind::Float => serde_json::json!(0.0),
        ShapeKind::Boolean => Value::Bool(true),
        ShapeKind::Timestamp => Value::String("1970-01-01T00:00:00".into()),
        ShapeKind::Blob => Value::Null,
    };
    stack.pop();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_iam(op: &str, args: &[&str]) -> Result<Value, CliError> {
        let iam = kagi_api::service("iam").unwrap();
        let op = iam.operation(op).unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(op, &args, &Env::default(), "base64").map(|a| Value::Object(a.input))
    }

    #[test]
    fn model_driven_arguments() {
        let v = parse_iam(
            "CreateUser",
            &[
                "--user-name",
                "u",
                "--tags",
                "Key=a,Value=b",
                "Key=c,Value=d",
            ],
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"UserName": "u", "Tags": [{"Key": "a", "Value": "b"}, {"Key": "c", "Value": "d"}]})
        );
        let v = parse_iam(
            "CreateUser",
            &["--user-name=u", "--tags", r#"[{"Key":"a","Value":"b"}]"#],
        )
        .unwrap();
        assert_eq!(v["Tags"][0]["Key"], "a");
        let v = parse_iam(
            "UpdateLoginProfile",
            &["--user-name", "u", "--password-reset-required"],
        )
        .unwrap();
        assert_eq!(v["PasswordResetRequired"], true);
        let v = parse_iam(
            "UpdateLoginProfile",
            &["--user-name", "u", "--no-password-reset-required"],
        )
        .unwrap();
        assert_eq!(v["PasswordResetRequired"], false);
        let v = parse_iam(
            "CreateRole",
            &[
                "--role-name",
                "r",
                "--assume-role-policy-document",
                "{}",
                "--max-session-duration",
                "7200",
            ],
        )
        .unwrap();
        assert_eq!(v["MaxSessionDuration"], 7200);
        let v = parse_iam(
            "SimulateCustomPolicy",
            &[
                "--policy-input-list",
                "{}",
                "--action-names",
                "s3:GetObject",
                "s3:PutObject",
            ],
        )
        .unwrap();
        assert_eq!(v["ActionNames"], json!(["s3:GetObject", "s3:PutObject"]));
        let e = parse_iam(
            "CreateRole",
            &[
                "--role-name",
                "r",
                "--assume-role-policy-document",
                "{}",
                "--max-session-duration",
                "x",
            ],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 252);
        let e = parse_iam("CreateUser", &["--user-name"]).unwrap_err();
        assert_eq!(
            e,
            CliError::Usage("argument --user-name: expected one argument".into())
        );
        // The CLI's paging options replace IAM's MaxItems; Marker stays usable and disables paging.
        let iam = kagi_api::service("iam").unwrap();
        let op = iam.operation("ListUsers").unwrap();
        let a = parse(
            op,
            &[
                "--max-items".into(),
                "5".into(),
                "--page-size".into(),
                "2".into(),
            ],
            &Env::default(),
            "base64",
        )
        .unwrap();
        assert_eq!(
            (a.max_items, a.page_size, a.manual_paging),
            (Some(5), Some(2), false)
        );
        let a = parse(
            op,
            &["--marker".into(), "m".into()],
            &Env::default(),
            "base64",
        )
        .unwrap();
        assert!(a.manual_paging);
    }

    #[test]
    fn file_and_binary_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("doc.json");
        std::fs::write(&p, "{\"Version\":\"2012-10-17\"}").unwrap();
        let v = parse_iam(
            "CreatePolicy",
            &[
                "--policy-name",
                "p",
                "--policy-document",
                &format!("file://{}", p.display()),
            ],
        )
        .unwrap();
        assert_eq!(v["PolicyDocument"], "{\"Version\":\"2012-10-17\"}");
        let ecr = kagi_api::service("ecr").unwrap();
        let op = ecr.operation("UploadLayerPart").unwrap();
        let bin = dir.path().join("m.bin");
        std::fs::write(&bin, [0u8, 255, 1]).unwrap();
        let args: Vec<String> = [
            "--repository-name",
            "repo",
            "--upload-id",
            "u",
            "--part-first-byte",
            "0",
            "--part-last-byte",
            "2",
            "--layer-part-blob",
            &format!("fileb://{}", bin.display()),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = parse(op, &args, &Env::default(), "base64").unwrap();
        assert_eq!(a.input["layerPartBlob"], "AP8B");
        assert_eq!(a.input["partLastByte"], 2);
    }

    #[test]
    fn shorthand_forms() {
        assert_eq!(
            shorthand("Key=k,Value=v").unwrap(),
            json!({"Key": "k", "Value": "v"})
        );
        assert_eq!(
            shorthand("Values=a,b,c,Name=x").unwrap(),
            json!({"Values": ["a", "b", "c"], "Name": "x"})
        );
        assert_eq!(
            shorthand("A=[1,2],B={C=d,E=[f]}").unwrap(),
            json!({"A": ["1", "2"], "B": {"C": "d", "E": ["f"]}})
        );
        assert_eq!(
            shorthand("K='a,b',V=\"x=y\"").unwrap(),
            json!({"K": "a,b", "V": "x=y"})
        );
        assert_eq!(shorthand("K=a\\,b").unwrap(), json!({"K": "a,b"}));
        assert!(
            shorthand("novalue")
                .unwrap_err()
                .starts_with("Expected: '=', received: 'EOF'")
        );
    }
}
