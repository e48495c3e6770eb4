//! The credential chain, as botocore's `create_credential_resolver` orders it for the AWS CLI:
//!
//! 1. environment (`AWS_ACCESS_KEY_ID`...; **skipped when `--profile` is on the command line**),
//! 2. assume-role (`role_arn` + `source_profile` | `credential_source`), cached on disk,
//! 3. shared credentials file static keys, 4. `credential_process` (Version 1),
//! 5. config file static keys.
//!
//! SSO, web identity and the instance/container providers are not implemented; profiles that need
//! them get one clear sentence instead of a silent fall-through.
//!
//! The assume-role cache is the AWS CLI's own (`awscli/customizations/assumerole.py`,
//! `botocore.credentials.CachedCredentialFetcher`): `~/.aws/cli/cache/<sha1>.json` where the key
//! is the SHA-1 of `json.dumps(assume_role_kwargs, sort_keys=True)` (only configured arguments:
//! `RoleArn`, `RoleSessionName`, `DurationSeconds`, `ExternalId`, `SerialNumber`), the content is
//! the AssumeRole response as JSON with `Expiration` as `%Y-%m-%dT%H:%M:%S%Z`; an entry is reused
//! while more than 900 s remain. Files are created 0600.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::http::Session;
use crate::ini::Props;
use crate::output::Doc;
use crate::{CliError, Io};

/// Resolved credentials. `Debug` redacts the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Value form (`2026-11-24T10:30:00+00:00`) when temporary.
    pub expiration: Option<String>,
    pub account_id: Option<String>,
    /// botocore's provider method name: `env`, `assume-role`, `shared-credentials-file`,
    /// `custom-process`, `config-file`.
    pub method: &'static str,
}

impl fmt::Debug for Creds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Creds")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .field("method", &self.method)
            .finish()
    }
}

impl Creds {
    pub fn to_sigv4(&self) -> kagi_sigv4::Credentials {
        let c = kagi_sigv4::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.clone(),
        );
        match &self.session_token {
            Some(t) => c.with_session_token(t.clone()),
            None => c,
        }
    }
}

/// Credentials from the environment, if both keys are set.
pub fn from_env(s: &Session) -> Result<Option<Creds>, CliError> {
    let env = s.env;
    let akid = env.var("AWS_ACCESS_KEY_ID");
    let secret = env.var("AWS_SECRET_ACCESS_KEY");
    match (akid, secret) {
        (Some(a), Some(k)) => Ok(Some(Creds {
            access_key_id: a.to_string(),
            secret_access_key: k.to_string(),
            session_token: env
                .var("AWS_SESSION_TOKEN")
                .or_else(|| env.var("AWS_SECURITY_TOKEN"))
                .map(str::to_string),
            expiration: env.var("AWS_CREDENTIAL_EXPIRATION").map(str::to_string),
            account_id: env.var("AWS_ACCOUNT_ID").map(str::to_string),
            method: "env",
        })),
        (Some(_), None) => Err(CliError::General(
            "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY".into(),
        )),
        (None, Some(_)) => Err(CliError::General(
            "Partial credentials found in env, missing: AWS_ACCESS_KEY_ID".into(),
        )),
        (None, None) => Ok(None),
    }
}

/// Resolves the credentials of the invocation (see the module docs).
pub fn resolve(s: &Session, io: &mut Io) -> Result<Creds, CliError> {
    if !s.choice.from_cli
        && let Some(c) = from_env(s)?
    {
        s.debug(|| {
            format!(
                "kagi: [DEBUG] credentials from environment variables ({})",
                c.access_key_id
            )
        });
        return Ok(c);
    }
    let Some(props) = s.profile()? else {
        return Err(CliError::NoCredentials);
    };
    let mut visited = Vec::new();
    let c = profile_creds(s, &s.choice.name, props, &mut visited, io)?
        .ok_or(CliError::NoCredentials)?;
    s.debug(|| {
        format!(
            "kagi: [DEBUG] credentials from {} (profile {}): {}",
            c.method, s.choice.name, c.access_key_id
        )
    });
    Ok(c)
}

fn static_keys(props: &Props, method: &'static str) -> Result<Option<Creds>, CliError> {
    match (
        props.get("aws_access_key_id"),
        props.get("aws_secret_access_key"),
    ) {
        (Some(a), Some(k)) if !a.is_empty() && !k.is_empty() => Ok(Some(Creds {
            access_key_id: a.to_string(),
            secret_access_key: k.to_string(),
            session_token: props
                .get("aws_session_token")
                .or_else(|| props.get("aws_security_token"))
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            expiration: None,
            account_id: props.get("aws_account_id").map(str::to_string),
            method,
        })),
        (Some(_), None) => Err(CliError::General(format!(
            "Partial credentials found in {method}, missing: aws_secret_access_key"
        ))),
        (None, Some(_)) => Err(CliError::General(format!(
            "Partial credentials found in {method}, missing: aws_access_key_id"
        ))),
        _ => Ok(None),
    }
}

/// The non-env chain for one profile.
fn profile_creds(
    s: &Session,
    name: &str,
    props: &Props,
    visited: &mut Vec<String>,
    io: &mut Io,
) -> Result<Option<Creds>, CliError> {
    if props.get("role_arn").is_some() && props.get("web_identity_token_file").is_none() {
        return assume_role(s, name, props, visited, io).map(Some);
    }
    if props.get("web_identity_token_file").is_some() {
        return Err(CliError::General(format!(
            "The profile \"{name}\" uses web_identity_token_file, which kagi does not support yet."
        )));
    }
    if props.get("sso_session").is_some() || props.get("sso_start_url").is_some() {
        return Err(CliError::General(format!(
            "The profile \"{name}\" uses IAM Identity Center (SSO), which kagi does not support yet."
        )));
    }
    // Static keys: the credentials file's, then credential_process, then the config file's.
    let in_creds_file = s.files.credentials_only.profile(name);
    if let Some(p) = in_creds_file
        && let Some(c) = static_keys(p, "shared-credentials-file")?
    {
        return Ok(Some(c));
    }
    if let Some(cmd) = props.get("credential_process") {
        return credential_process(cmd).map(Some);
    }
    static_keys(
        props,
        if in_creds_file.is_some() {
            "shared-credentials-file"
        } else {
            "config-file"
        },
    )
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Parses the expiration forms seen in caches and process output (`...UTC`, `...Z`, `+00:00`).
pub fn parse_expiration(s: &str) -> Option<i64> {
    let t = s.trim();
    let t = t
        .strip_suffix("UTC")
        .map(|x| format!("{x}Z"))
        .unwrap_or_else(|| t.to_string());
    kagi_api::time::Timestamp::parse(&t).map(|ts| ts.secs)
}

/// `json.dumps(args, sort_keys=True)` with Python's default separators and ASCII escaping.
pub fn python_json_sorted(v: &Value) -> String {
    fn sorted(v: &Value) -> Doc {
        match v {
            Value::Object(m) => {
                let mut e: Vec<(String, Doc)> =
                    m.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
                e.sort_by(|a, b| a.0.cmp(&b.0));
                Doc::Map(e)
            }
            Value::Array(a) => Doc::List(a.iter().map(sorted).collect()),
            other => Doc::from_value(other),
        }
    }
    python_json_sorted_ordered(&sorted(v))
}

/// `json.dumps(doc)` (keys in the document's order, default separators, `ensure_ascii`).
pub fn python_json_sorted_ordered(d: &Doc) -> String {
    fn s(x: &str, out: &mut String) {
        out.push('"');
        for c in x.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn w(d: &Doc, out: &mut String) {
        match d {
            Doc::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    s(k, out);
                    out.push_str(": ");
                    w(v, out);
                }
                out.push('}');
            }
            Doc::List(a) => {
                out.push('[');
                for (i, e) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    w(e, out);
                }
                out.push(']');
            }
            Doc::Str(x) => s(x, out),
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Num(n) => out.push_str(&n.to_string()),
        }
    }
    let mut out = String::new();
    w(d, &mut out);
    out
}

/// The AWS CLI's cache file name for these AssumeRole arguments.
pub fn cache_key(args: &Value) -> String {
    use sha1::{Digest, Sha1};
    let mut args = args.clone();
    if let Some(Value::String(p)) = args.get("Policy").cloned()
        && let Ok(parsed) = serde_json::from_str::<Value>(&p)
    {
        args["Policy"] = parsed;
    }
    let digest = Sha1::digest(python_json_sorted(&args).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.replace([':', '/'], "_")
}

/// Reads a cache entry; `None` when absent, unreadable or within 900 s of expiry.
pub fn read_cache(path: &std::path::Path, now: i64) -> Option<Creds> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let c = v.get("Credentials")?;
    let exp = parse_expiration(c.get("Expiration")?.as_str()?)?;
    if exp - now <= 900 {
        return None;
    }
    Some(Creds {
        access_key_id: c.get("AccessKeyId")?.as_str()?.to_string(),
        secret_access_key: c.get("SecretAccessKey")?.as_str()?.to_string(),
        session_token: c
            .get("SessionToken")
            .and_then(Value::as_str)
            .map(str::to_string),
        expiration: kagi_api::time::Timestamp {
            secs: exp,
            micros: 0,
        }
        .to_value_string()
        .into(),
        account_id: c
            .get("AccountId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                v.pointer("/AssumedRoleUser/Arn")
                    .and_then(Value::as_str)
                    .and_then(account_of)
            }),
        method: "assume-role",
    })
}

fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
}

/// Writes a file with mode 0600 (created so before any byte is written).
pub fn write_private(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    #[cfg(unix)]
    {
        // An existing file keeps its mode on open; tighten it before writing the secret.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(contents)?;
    Ok(())
}

/// `%Y-%m-%dT%H:%M:%S%Z` of a UTC time (`2026-11-24T11:30:00UTC`).
fn cache_time(value_form: &str) -> String {
    match kagi_api::time::Timestamp::parse(value_form) {
        Some(t) => {
            let v = kagi_api::time::Timestamp {
                secs: t.secs,
                micros: 0,
            }
            .to_value_string();
            format!("{}UTC", v.trim_end_matches("+00:00"))
        }
        None => value_form.to_string(),
    }
}

fn assume_role(
    s: &Session,
    name: &str,
    props: &Props,
    visited: &mut Vec<String>,
    io: &mut Io,
) -> Result<Creds, CliError> {
    visited.push(name.to_string());
    let role_arn = props.get("role_arn").unwrap_or_default().to_string();
    let source_profile = props.get("source_profile").filter(|x| !x.is_empty());
    let credential_source = props.get("credential_source").filter(|x| !x.is_empty());
    let mut args = Map::new();
    args.insert("RoleArn".into(), Value::String(role_arn.clone()));
    if let Some(n) = props.get("role_session_name") {
        args.insert("RoleSessionName".into(), Value::String(n.to_string()));
    }
    if let Some(d) = props
        .get("duration_seconds")
        .and_then(|d| d.trim().parse::<i64>().ok())
    {
        args.insert("DurationSeconds".into(), Value::from(d));
    }
    if let Some(x) = props.get("external_id") {
        args.insert("ExternalId".into(), Value::String(x.to_string()));
    }
    let mfa = props.get("mfa_serial").map(str::to_string);
    if let Some(m) = &mfa {
        args.insert("SerialNumber".into(), Value::String(m.clone()));
    }
    let args = Value::Object(args);
    let cache_path: PathBuf = s.env.cache_dir().join(format!("{}.json", cache_key(&args)));

    // The source first validates the configuration (as botocore does when building the provider).
    let source = match (source_profile, credential_source) {
        (Some(_), Some(_)) => {
            return Err(CliError::General(format!(
                "The profile \"{name}\" contains both source_profile and credential_source."
            )));
        }
        (None, None) => {
            return Err(CliError::General(format!(
                "The profile \"{name}\" must have either source_profile or credential_source, missing: source_profile or credential_source"
            )));
        }
        (None, Some(cs)) => Source::Credential(cs.to_string()),
        (Some(sp), None) => {
            if sp == name {
                Source::SelfKeys
            } else if visited.iter().any(|v| v == sp) {
                let list: Vec<String> = visited.iter().map(|v| format!("'{v}'")).collect();
                return Err(CliError::General(format!(
                    "Infinite loop in credential configuration detected. Attempting to load from profile {sp} which has already been visited. Visited profiles: [{}]",
                    list.join(", ")
                )));
            } else if s.files.set.profile(sp).is_none() {
                return Err(CliError::General(format!(
                    "The source_profile \"{sp}\" referenced in the profile \"{name}\" does not exist."
                )));
            } else {
                Source::Profile(sp.to_string())
            }
        }
    };
    if let Source::Credential(cs) = &source
        && !matches!(
            cs.as_str(),
            "Environment" | "Ec2InstanceMetadata" | "EcsContainer"
        )
    {
        return Err(CliError::General(format!(
            "The credential source \"{cs}\" referenced in profile \"{name}\" is not valid."
        )));
    }

    if let Some(c) = read_cache(&cache_path, now_secs()) {
        s.debug(|| {
            format!(
                "kagi: [DEBUG] assume-role credentials for {role_arn} from cache {}",
                cache_path.display()
            )
        });
        return Ok(c);
    }

    let source_creds = match source {
        Source::SelfKeys => match static_keys(props, "shared-credentials-file")? {
            Some(c) => c,
            None => {
                return Err(CliError::General(format!(
                    "Infinite loop in credential configuration detected. Attempting to load from profile {name} which has already been visited. Visited profiles: ['{name}']"
                )));
            }
        },
        Source::Profile(sp) => {
            let sprops = s.files.set.profile(&sp).expect("checked above");
            match profile_creds(s, &sp, sprops, visited, io)? {
                Some(c) => c,
                None => {
                    return Err(CliError::General(format!(
                        "The source profile \"{sp}\" must have credentials."
                    )));
                }
            }
        }
        Source::Credential(cs) => {
            let found = if cs == "Environment" {
                from_env(s)?
            } else {
                None
            };
            match found {
                Some(c) => c,
                None => {
                    return Err(CliError::General(format!(
                        "Error when retrieving credentials from {cs}: No credentials found in credential_source referenced in profile {name}"
                    )));
                }
            }
        }
    };

    let mut call_args = args.as_object().cloned().unwrap_or_default();
    if !call_args.contains_key("RoleSessionName") {
        call_args.insert(
            "RoleSessionName".into(),
            Value::String(format!("botocore-session-{}", now_secs())),
        );
    }
    if let Some(serial) = &mfa {
        let code = prompt_secret(s, io, &format!("Enter MFA code for {serial}: "))?;
        call_args.insert("TokenCode".into(), Value::String(code));
    }
    let sts =
        kagi_api::service("sts").ok_or_else(|| CliError::General("sts model missing".into()))?;
    let op = sts
        .operation("AssumeRole")
        .ok_or_else(|| CliError::General("AssumeRole missing from the model".into()))?;
    let region = s.region()?;
    let ep = s.endpoint(sts, region.as_deref(), false)?;
    let out = s.call(
        op,
        &ep,
        Some(&source_creds.to_sigv4()),
        &Value::Object(call_args),
    )?;
    let c = out.get("Credentials").cloned().unwrap_or(Value::Null);
    let get = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(akid), Some(secret)) = (get("AccessKeyId"), get("SecretAccessKey")) else {
        return Err(CliError::General(
            "AssumeRole returned no credentials".into(),
        ));
    };
    let arn = out
        .pointer("/AssumedRoleUser/Arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let account_id = account_of(&arn);
    let expiration = get("Expiration");
    // The cache entry, shaped as the AWS CLI writes it.
    let mut cred_obj = Map::new();
    cred_obj.insert("AccessKeyId".into(), Value::String(akid.clone()));
    cred_obj.insert("SecretAccessKey".into(), Value::String(secret.clone()));
    if let Some(t) = get("SessionToken") {
        cred_obj.insert("SessionToken".into(), Value::String(t));
    }
    if let Some(e) = &expiration {
        cred_obj.insert("Expiration".into(), Value::String(cache_time(e)));
    }
    if let Some(a) = &account_id {
        cred_obj.insert("AccountId".into(), Value::String(a.clone()));
    }
    let mut entry = crate::output::Doc::Map(vec![(
        "Credentials".into(),
        crate::output::Doc::from_value(&Value::Object(cred_obj)),
    )]);
    if let Some(u) = out.get("AssumedRoleUser") {
        let doc = crate::output::Doc::Map(vec![
            (
                "AssumedRoleId".into(),
                crate::output::Doc::from_value(u.get("AssumedRoleId").unwrap_or(&Value::Null)),
            ),
            (
                "Arn".into(),
                crate::output::Doc::from_value(u.get("Arn").unwrap_or(&Value::Null)),
            ),
        ]);
        entry.insert("AssumedRoleUser", doc);
    }
    if let Some(p) = out.get("PackedPolicySize") {
        entry.insert("PackedPolicySize", crate::output::Doc::from_value(p));
    }
    let meta = json!({"RequestId": s.last_request_id().unwrap_or_default(), "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0});
    entry.insert("ResponseMetadata", crate::output::Doc::from_value(&meta));
    if let Err(e) = write_private(
        &cache_path,
        crate::output::to_json_compact(&entry).as_bytes(),
    ) {
        s.debug(|| {
            format!(
                "kagi: [DEBUG] could not write the credential cache {}: {e}",
                cache_path.display()
            )
        });
    }
    Ok(Creds {
        access_key_id: akid,
        secret_access_key: secret,
        session_token: get("SessionToken"),
        expiration,
        account_id,
        method: "assume-role",
    })
}

enum Source {
    SelfKeys,
    Profile(String),
    Credential(String),
}

/// Prompts without echo on a terminal (`getpass`), else reads a line from stdin.
pub fn prompt_secret(s: &Session, io: &mut Io, prompt: &str) -> Result<String, CliError> {
    if s.env.stdin_tty {
        return rpassword::prompt_password(prompt).map_err(|e| CliError::General(e.to_string()));
    }
    let _ = write!(io.stderr, "{prompt}");
    let _ = io.stderr.flush();
    let mut line = String::new();
    io.stdin.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// POSIX-shell-like word splitting (`shlex.split`): quotes and backslashes, no expansion.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x)
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Runs a `credential_process` (no shell) and reads its Version 1 JSON.
pub fn credential_process(cmd: &str) -> Result<Creds, CliError> {
    let err = |m: String| {
        CliError::General(format!(
            "Error when retrieving credentials from custom-process: {m}"
        ))
    };
    let argv = shell_split(cmd).map_err(err)?;
    let Some((prog, rest)) = argv.split_first() else {
        return Err(err("empty credential_process".into()));
    };
    let out = std::process::Command::new(prog)
        .args(rest)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| err(format!("invalid JSON: {e}")))?;
    match v.get("Version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        Some(other) => {
            return Err(err(format!(
                "Unsupported version '{other}' for credential process provider, supported versions: 1"
            )));
        }
        None => {
            return Err(err(
                "Unsupported version 'None' for credential process provider, supported versions: 1"
                    .into(),
            ));
        }
    }
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(akid) = get("AccessKeyId") else {
        return Err(err("Missing required key in response: AccessKeyId".into()));
    };
    let Some(secret) = get("SecretAccessKey") else {
        return Err(err(
            "Missing required key in response: SecretAccessKey".into()
        ));
    };
    Ok(Creds {
        access_key_id: akid,
        secret_access_key: secret,
        session_token: get("SessionToken"),
        expiration: get("Expiration"),
        account_id: get("AccountId"),
        method: "custom-process",
    })
}

/// How long until `expiration` (diagnostics).
pub fn remaining(expiration: &str) -> Option<Duration> {
    let e = parse_expiration(expiration)?;
    let left = e - now_secs();
    (left > 0).then(|| Duration::from_secs(left as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_matches_aws_cli() {
        // The example from aws-cli-facts §2.
        assert_eq!(
            cache_key(&json!({"RoleArn": "arn:aws:iam::123456789012:role/Admin"})),
            "51e7b105b5040ce662656c8dc6ab4de70c4de7ad"
        );
        assert_eq!(
            python_json_sorted(&json!({"RoleArn": "a", "DurationSeconds": 900, "ExternalId": "é"})),
            r#"{"DurationSeconds": 900, "ExternalId": "\u00e9", "RoleArn": "a"}"#
        );
    }

    #[test]
    fn expiration_forms() {
        assert_eq!(
            parse_expiration("2026-01-01T12:00:00UTC"),
            parse_expiration("2026-01-01T12:00:00Z")
        );
        assert_eq!(
            parse_expiration("2026-01-01T12:00:00+00:00"),
            parse_expiration("2026-01-01T12:00:00Z")
        );
        assert_eq!(
            cache_time("2026-01-01T12:00:00+00:00"),
            "2026-01-01T12:00:00UTC"
        );
    }

    #[test]
    fn cache_freshness() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        let now = 1_800_000_000;
        let entry = |exp: i64| {
            let e = kagi_api::time::Timestamp {
                secs: exp,
                micros: 0,
            }
            .to_value_string();
            format!(
                r#"{{"Credentials": {{"AccessKeyId": "ASIA1", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "{}"}}, "AssumedRoleUser": {{"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::123456789012:assumed-role/R/x"}}}}"#,
                cache_time(&e)
            )
        };
        std::fs::write(&p, entry(now + 901)).unwrap();
        let c = read_cache(&p, now).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.account_id.as_deref()),
            ("ASIA1", Some("123456789012"))
        );
        std::fs::write(&p, entry(now + 900)).unwrap();
        assert!(read_cache(&p, now).is_none());
    }

    #[test]
    fn shlex() {
        assert_eq!(
            shell_split("a 'b c' \"d\\\"e\" f\\ g").unwrap(),
            ["a", "b c", "d\"e", "f g"]
        );
        assert!(shell_split("'x").is_err());
    }

    #[test]
    fn debug_redacts() {
        let c = Creds {
            access_key_id: "AKIA".into(),
            secret_access_key: "SECRET".into(),
            session_token: Some("TOKEN".into()),
            expiration: None,
            account_id: None,
            method: "env",
        };
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET") && !d.contains("TOKEN"));
    }
}
