//! The credential chain, as botocore's `create_credential_resolver` orders it for the AWS CLI:
//!
//! 1. environment (`AWS_ACCESS_KEY_ID`...; **skipped when `--profile` is on the command line**),
//! 2. assume-role (`role_arn` + `source_profile` | `credential_source`, in a profile *without*
//!    `web_identity_token_file`), cached on disk,
//! 3. assume-role-with-web-identity (`web_identity_token_file` + `role_arn`
//!    [+ `role_session_name`]), cached on disk,
//! 4. shared credentials file static keys, 5. `credential_process` (Version 1),
//! 6. config file static keys.
//!
//! Web identity (botocore's `AssumeRoleWithWebIdentityProvider`): each of its three settings is
//! read from its environment variable (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`,
//! `AWS_ROLE_SESSION_NAME`) when set, else from the profile, key by key; the variables are
//! ignored with `--profile` and for a profile reached as a `source_profile` (so a role profile
//! can chain from a web identity profile). The token file is read on every fetch (tokens
//! rotate), after the cache; AssumeRoleWithWebIdentity is sent unsigned, to the STS endpoint
//! the assume-role provider uses. `duration_seconds` is not used (botocore does not read it for
//! web identity). The session name defaults to `botocore-session-<unix seconds>`.
//!
//! 4. SSO (`sso_account_id`/`sso_role_name` with `sso_session` or the legacy
//!    `sso_start_url`/`sso_region`; `crate::sso`), before the static keys.
//!
//! The instance/container providers are not implemented.
//!
//! The cache is the AWS CLI's own (`awscli/customizations/assumerole.py` installs one
//! `JSONFileCache` for both the assume-role and the web identity provider;
//! `botocore.credentials.CachedCredentialFetcher`): `~/.aws/cli/cache/<sha1>.json` where the key
//! is the SHA-1 of `json.dumps(assume_role_kwargs, sort_keys=True)` (only configured arguments:
//! `RoleArn`, `RoleSessionName`, `DurationSeconds`, `ExternalId`, `SerialNumber` for
//! assume-role; `RoleArn`, `RoleSessionName` for web identity, never the token), the content is
//! the response as JSON with `Expiration` as `%Y-%m-%dT%H:%M:%S%Z`; an entry is reused
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
    /// botocore's provider method name: `env`, `assume-role`, `assume-role-with-web-identity`,
    /// `shared-credentials-file`, `custom-process`, `config-file`.
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
/// The SSO credential provider of the chain (`crate::sso`'s, set by [`crate::run`]): `sso`
/// sits above this module (its login and configure commands use the chain), so the chain
/// reaches it through this hook instead of an import.
pub type SsoProvider = fn(&Session, &str, &Props) -> Result<Option<Creds>, CliError>;

pub static SSO_PROVIDER: std::sync::OnceLock<SsoProvider> = std::sync::OnceLock::new();

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
    // An absent implicit `default` profile still has the environment form of web identity.
    let empty = Props::default();
    let props = s.profile()?.unwrap_or(&empty);
    let mut visited = Vec::new();
    let c = profile_creds(
        s,
        &s.choice.name,
        props,
        !s.choice.from_cli,
        &mut visited,
        io,
    )?
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

/// The non-env chain for one profile. `web_identity_env`: whether the web identity provider
/// may read its `AWS_WEB_IDENTITY_TOKEN_FILE`/`AWS_ROLE_ARN`/`AWS_ROLE_SESSION_NAME` variables
/// (botocore's `disable_env_vars`: not with `--profile`, never for a `source_profile`).
fn profile_creds(
    s: &Session,
    name: &str,
    props: &Props,
    web_identity_env: bool,
    visited: &mut Vec<String>,
    io: &mut Io,
) -> Result<Option<Creds>, CliError> {
    // botocore's AssumeRoleProvider leaves profiles with web_identity_token_file to the web
    // identity provider (also when such a profile is some role's source_profile).
    if props.get("role_arn").is_some() && props.get("web_identity_token_file").is_none() {
        return assume_role(s, name, props, visited, io).map(Some);
    }
    let env = web_identity_env.then_some(s.env);
    if let Some(cfg) = web_identity_config(env, props)? {
        return web_identity(s, &cfg).map(Some);
    }
    // botocore's SSOProvider: a profile with sso_account_id / sso_role_name.
    if let Some(provider) = SSO_PROVIDER.get()
        && let Some(c) = provider(s, name, props)?
    {
        return Ok(Some(c));
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
pub fn read_cache(path: &std::path::Path, now: i64, method: &'static str) -> Option<Creds> {
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
        method,
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

    if let Some(c) = read_cache(&cache_path, now_secs(), "assume-role") {
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
            match profile_creds(s, &sp, sprops, false, visited, io)? {
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
    store_sts_credentials(s, "AssumeRole", &out, &cache_path, "assume-role")
}

/// Turns an AssumeRole* response into credentials and writes it to the AWS CLI's cache, shaped
/// as `JSONFileCache` writes it (the response's members in order with `Credentials.Expiration`
/// as `%Y-%m-%dT%H:%M:%S%Z` and `Credentials.AccountId` added, then `ResponseMetadata`).
fn store_sts_credentials(
    s: &Session,
    op_name: &str,
    out: &Value,
    cache_path: &std::path::Path,
    method: &'static str,
) -> Result<Creds, CliError> {
    let c = out.get("Credentials").cloned().unwrap_or(Value::Null);
    let get = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(akid), Some(secret)) = (get("AccessKeyId"), get("SecretAccessKey")) else {
        return Err(CliError::General(format!(
            "{op_name} returned no credentials"
        )));
    };
    let arn = out
        .pointer("/AssumedRoleUser/Arn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let account_id = account_of(&arn);
    let expiration = get("Expiration");
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
    let mut entry = Doc::Map(vec![(
        "Credentials".into(),
        Doc::from_value(&Value::Object(cred_obj)),
    )]);
    if let Some(members) = out.as_object() {
        for (k, v) in members {
            if k != "Credentials" && k != "ResponseMetadata" {
                entry.insert(k, Doc::from_value(v));
            }
        }
    }
    let meta = json!({"RequestId": s.last_request_id().unwrap_or_default(), "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0});
    entry.insert("ResponseMetadata", Doc::from_value(&meta));
    if let Err(e) = write_private(
        cache_path,
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
        method,
    })
}

/// botocore's name for the web identity provider (`Credentials.method`).
pub const WEB_IDENTITY_METHOD: &str = "assume-role-with-web-identity";

/// The settings of botocore's `AssumeRoleWithWebIdentityProvider`, each resolved on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentityConfig {
    pub token_file: String,
    pub role_arn: String,
    /// As configured; `None` (or empty) means `botocore-session-<unix seconds>` per call.
    pub role_session_name: Option<String>,
}

/// Resolves the web identity settings as botocore's `_get_config` does: for each key the
/// environment variable when `env` is given and the variable is set (even to the empty string:
/// botocore tests `key in os.environ`), else the profile's value. `None` when no token file is
/// configured (the provider does not apply); an error when there is one but no role ARN.
pub fn web_identity_config(
    env: Option<&crate::Env>,
    props: &Props,
) -> Result<Option<WebIdentityConfig>, CliError> {
    let get = |key: &str, var: &str| -> Option<String> {
        env.and_then(|e| e.vars.get(var))
            .map(String::as_str)
            .or_else(|| props.get(key))
            .map(str::to_string)
    };
    let Some(token_file) =
        get("web_identity_token_file", "AWS_WEB_IDENTITY_TOKEN_FILE").filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let Some(role_arn) = get("role_arn", "AWS_ROLE_ARN").filter(|r| !r.is_empty()) else {
        // botocore's InvalidConfigError, word for word (its missing space included).
        return Err(CliError::General(
            "The provided profile or the current environment is configured to assume role with web identity but has no role ARN configured. Ensure that the profile has the role_arnconfiguration set or the AWS_ROLE_ARN env var is set.".into(),
        ));
    };
    Ok(Some(WebIdentityConfig {
        token_file,
        role_arn,
        role_session_name: get("role_session_name", "AWS_ROLE_SESSION_NAME"),
    }))
}

impl WebIdentityConfig {
    /// The arguments the cache key is computed from (botocore's `_assume_kwargs`): `RoleArn`,
    /// and `RoleSessionName` only when configured. The token is added per call, so it is never
    /// part of the key; nor is `duration_seconds` (botocore's provider does not read it).
    pub fn cache_args(&self) -> Value {
        let mut args = Map::new();
        args.insert("RoleArn".into(), Value::String(self.role_arn.clone()));
        if let Some(n) = self.role_session_name.as_ref().filter(|n| !n.is_empty()) {
            args.insert("RoleSessionName".into(), Value::String(n.clone()));
        }
        Value::Object(args)
    }

    /// The AssumeRoleWithWebIdentity input: the cache arguments, the default session name
    /// when none is configured, and the token.
    pub fn call_input(&self, token: String, now: i64) -> Value {
        let mut args = match self.cache_args() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if !args.contains_key("RoleSessionName") {
            args.insert(
                "RoleSessionName".into(),
                Value::String(default_session_name(now)),
            );
        }
        args.insert("WebIdentityToken".into(), Value::String(token));
        Value::Object(args)
    }
}

/// botocore's generated session name: `botocore-session-<int(time.time())>`.
pub fn default_session_name(now: i64) -> String {
    format!("botocore-session-{now}")
}

/// Reads the token, whole and untrimmed (botocore's `FileWebIdentityTokenLoader`), on every
/// fetch: tokens rotate. Errors read like Python's `OSError` (what the AWS CLI prints).
pub fn read_web_identity_token(path: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| {
        let text = e.to_string();
        let text = match text.rfind(" (os error ") {
            Some(i) => &text[..i],
            None => &text,
        };
        CliError::General(match e.raw_os_error() {
            Some(code) => format!("[Errno {code}] {text}: '{path}'"),
            None => format!("{text}: '{path}'"),
        })
    })
}

/// The AssumeRoleWithWebIdentity request of the provider, sent without signature.
fn web_identity_request(
    s: &Session,
    cfg: &WebIdentityConfig,
    now: i64,
) -> Result<(&'static kagi_api::Operation, crate::http::Endpoint, Value), CliError> {
    let token = read_web_identity_token(&cfg.token_file)?;
    let sts =
        kagi_api::service("sts").ok_or_else(|| CliError::General("sts model missing".into()))?;
    let op = sts.operation("AssumeRoleWithWebIdentity").ok_or_else(|| {
        CliError::General("AssumeRoleWithWebIdentity missing from the model".into())
    })?;
    // The same STS client as the assume-role provider's (region and configured endpoint,
    // not `--endpoint-url`).
    let region = s.region()?;
    let ep = s.endpoint(sts, region.as_deref(), false)?;
    Ok((op, ep, cfg.call_input(token, now)))
}

/// botocore's `AssumeRoleWithWebIdentityCredentialFetcher` with the AWS CLI's file cache: the
/// cache first (a missing token file does not matter while the entry is fresh), then the token
/// file, then an unsigned AssumeRoleWithWebIdentity.
fn web_identity(s: &Session, cfg: &WebIdentityConfig) -> Result<Creds, CliError> {
    let cache_path: PathBuf = s
        .env
        .cache_dir()
        .join(format!("{}.json", cache_key(&cfg.cache_args())));
    if let Some(c) = read_cache(&cache_path, now_secs(), WEB_IDENTITY_METHOD) {
        s.debug(|| {
            format!(
                "kagi: [DEBUG] assume-role-with-web-identity credentials for {} from cache {}",
                cfg.role_arn,
                cache_path.display()
            )
        });
        return Ok(c);
    }
    let (op, ep, input) = web_identity_request(s, cfg, now_secs())?;
    let out = s.call(op, &ep, None, &input)?;
    store_sts_credentials(s, op.name, &out, &cache_path, WEB_IDENTITY_METHOD)
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
        let c = read_cache(&p, now, "assume-role").unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.account_id.as_deref()),
            ("ASIA1", Some("123456789012"))
        );
        std::fs::write(&p, entry(now + 900)).unwrap();
        assert!(read_cache(&p, now, "assume-role").is_none());
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

    /// A home directory with `~/.aws/config`, and the environment of one invocation.
    struct Fixture {
        dir: tempfile::TempDir,
        env: crate::Env,
    }

    impl Fixture {
        fn new(config: &str, vars: &[(&str, &str)]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
            std::fs::write(dir.path().join(".aws/config"), config).unwrap();
            let env = crate::Env {
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                home: dir.path().to_path_buf(),
                ..Default::default()
            };
            Fixture { dir, env }
        }

        fn path(&self, name: &str) -> String {
            self.dir.path().join(name).display().to_string()
        }

        /// Writes a fresh cache entry for these web identity / assume-role arguments.
        fn cache(&self, args: Value, akid: &str) {
            let exp = kagi_api::time::Timestamp {
                secs: now_secs() + 3600,
                micros: 0,
            }
            .to_value_string();
            let entry = format!(
                r#"{{"Credentials": {{"AccessKeyId": "{akid}", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "{}"}}, "AssumedRoleUser": {{"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::123456789012:assumed-role/R/x"}}}}"#,
                cache_time(&exp)
            );
            let p = self
                .env
                .cache_dir()
                .join(format!("{}.json", cache_key(&args)));
            write_private(&p, entry.as_bytes()).unwrap();
        }

        fn resolve(&self, g: &crate::Globals) -> (Result<Creds, CliError>, Vec<String>, u32) {
            resolve_in(&self.env, g)
        }
    }

    /// Resolves the chain of one invocation: (result, debug lines, HTTP requests sent).
    fn resolve_in(
        env: &crate::Env,
        g: &crate::Globals,
    ) -> (Result<Creds, CliError>, Vec<String>, u32) {
        let s = Session::new(env, g).unwrap();
        let mut stdin = std::io::BufReader::new(std::io::empty());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut stdin,
            stdout: &mut out,
            stderr: &mut err,
        };
        let r = resolve(&s, &mut io);
        (r, s.take_debug(), s.requests.get())
    }

    fn props(pairs: &[(&str, &str)]) -> Props {
        Props(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/ci";

    #[test]
    fn web_identity_config_precedence() {
        let profile = props(&[
            ("web_identity_token_file", "/p/token"),
            ("role_arn", "arn:aws:iam::111111111111:role/p"),
            ("role_session_name", "from-profile"),
        ]);
        let cfg = |env: Option<&crate::Env>, p: &Props| web_identity_config(env, p).unwrap();
        // Profile alone.
        assert_eq!(
            cfg(None, &profile),
            Some(WebIdentityConfig {
                token_file: "/p/token".into(),
                role_arn: "arn:aws:iam::111111111111:role/p".into(),
                role_session_name: Some("from-profile".into()),
            })
        );
        // Each variable wins over its own key only; the others still come from the profile.
        let env = Fixture::new("", &[("AWS_ROLE_ARN", ROLE)]).env;
        let c = cfg(Some(&env), &profile).unwrap();
        assert_eq!(
            (c.token_file.as_str(), c.role_arn.as_str()),
            ("/p/token", ROLE)
        );
        assert_eq!(c.role_session_name.as_deref(), Some("from-profile"));
        // Variables alone (no profile at all).
        let env = Fixture::new(
            "",
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/e/token"),
                ("AWS_ROLE_ARN", ROLE),
                ("AWS_ROLE_SESSION_NAME", "from-env"),
            ],
        )
        .env;
        assert_eq!(
            cfg(Some(&env), &Props::default()),
            Some(WebIdentityConfig {
                token_file: "/e/token".into(),
                role_arn: ROLE.into(),
                role_session_name: Some("from-env".into()),
            })
        );
        // Disabled variables (`--profile`, source profiles): the profile's values only.
        assert_eq!(cfg(None, &profile).unwrap().token_file, "/p/token");
        assert_eq!(cfg(None, &Props::default()), None);
        // A variable set to the empty string still overrides (botocore: `key in os.environ`),
        // and an empty token file disables the provider.
        let env = Fixture::new("", &[("AWS_WEB_IDENTITY_TOKEN_FILE", "")]).env;
        assert_eq!(cfg(Some(&env), &profile), None);
        // A token file without a role ARN is a configuration error.
        let e =
            web_identity_config(None, &props(&[("web_identity_token_file", "/t")])).unwrap_err();
        assert!(
            e.message().contains("has no role ARN configured")
                && e.message().contains("AWS_ROLE_ARN env var"),
            "{e:?}"
        );
        assert_eq!(e.exit_code(), 255);
    }

    #[test]
    fn web_identity_session_name_and_cache_key() {
        let mut cfg = WebIdentityConfig {
            token_file: "/t".into(),
            role_arn: "arn:aws:iam::123456789012:role/Admin".into(),
            role_session_name: None,
        };
        // Default name: `botocore-session-<unix seconds>`, and not part of the cache key.
        let input = cfg.call_input("TOKEN".into(), 1_750_000_000);
        assert_eq!(input["RoleSessionName"], "botocore-session-1750000000");
        assert_eq!(input["WebIdentityToken"], "TOKEN");
        let name = default_session_name(now_secs());
        let digits = name.strip_prefix("botocore-session-").unwrap();
        assert!(digits.len() >= 10 && digits.bytes().all(|b| b.is_ascii_digit()));
        // The same key as the AWS CLI's (python: sha1(json.dumps(kwargs, sort_keys=True))).
        assert_eq!(
            cache_key(&cfg.cache_args()),
            "51e7b105b5040ce662656c8dc6ab4de70c4de7ad"
        );
        // An empty configured name counts as none.
        cfg.role_session_name = Some(String::new());
        assert_eq!(
            cache_key(&cfg.cache_args()),
            "51e7b105b5040ce662656c8dc6ab4de70c4de7ad"
        );
        assert!(
            cfg.call_input("T".into(), 1)["RoleSessionName"]
                .as_str()
                .unwrap()
                .starts_with("botocore-session-")
        );
        // A configured name is sent and is part of the key; the token never is.
        cfg.role_arn = ROLE.into();
        cfg.role_session_name = Some("gha".into());
        assert_eq!(
            cfg.cache_args(),
            json!({"RoleArn": ROLE, "RoleSessionName": "gha"})
        );
        assert_eq!(
            cache_key(&cfg.cache_args()),
            "08b6d500ad3ead9fcc456e78253cec1c2759faac"
        );
        assert_eq!(cfg.call_input("T".into(), 1)["RoleSessionName"], "gha");
    }

    #[test]
    fn web_identity_missing_token_file() {
        let e = read_web_identity_token("/nonexistent/kagi/token").unwrap_err();
        assert_eq!(
            e.message(),
            "[Errno 2] No such file or directory: '/nonexistent/kagi/token'"
        );
        // Through the chain: no cache entry, so the token is needed; nothing is sent.
        let f = Fixture::new(
            "",
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/kagi/token"),
                ("AWS_ROLE_ARN", ROLE),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ],
        );
        let (r, _, requests) = f.resolve(&crate::Globals::default());
        assert_eq!(
            r.unwrap_err().message(),
            "[Errno 2] No such file or directory: '/nonexistent/kagi/token'"
        );
        assert_eq!(requests, 0);
        // A fresh cache entry is used without reading the token (botocore checks the cache
        // before loading the token).
        f.cache(json!({"RoleArn": ROLE}), "ASIACACHED");
        let (r, _, requests) = f.resolve(&crate::Globals::default());
        let c = r.unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.method, requests),
            ("ASIACACHED", "assume-role-with-web-identity", 0)
        );
    }

    #[test]
    fn web_identity_request_is_unsigned_and_rereads_the_token() {
        let f = Fixture::new("", &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566/sts")]);
        let token = f.path("token");
        std::fs::write(&token, "eyJ.first\n").unwrap();
        let cfg = WebIdentityConfig {
            token_file: token.clone(),
            role_arn: ROLE.into(),
            role_session_name: None,
        };
        let g = crate::Globals {
            // Not applied to the provider's STS client, as in botocore.
            endpoint_url: Some("http://elsewhere.invalid".into()),
            ..Default::default()
        };
        let s = Session::new(&f.env, &g).unwrap();
        let (op, ep, input) = web_identity_request(&s, &cfg, 1_750_000_000).unwrap();
        assert_eq!(ep.url, "http://127.0.0.1:4566/sts");
        let req = s.build_request(op, &ep, None, &input).unwrap();
        assert_eq!(req.url, "http://127.0.0.1:4566/sts");
        for h in ["Authorization", "X-Amz-Date", "X-Amz-Security-Token"] {
            assert_eq!(req.header(h), None, "{h}");
        }
        let body = String::from_utf8(req.body).unwrap();
        assert!(body.starts_with("Action=AssumeRoleWithWebIdentity&Version=2011-06-15"));
        assert!(body.contains("RoleSessionName=botocore-session-1750000000"));
        assert!(body.contains("WebIdentityToken=eyJ.first%0A"), "{body}");
        assert!(!body.contains("DurationSeconds"));
        // Tokens rotate: the file is read again for the next request.
        std::fs::write(&token, "eyJ.second").unwrap();
        let (op, ep, input) = web_identity_request(&s, &cfg, 1_750_000_000).unwrap();
        let body = String::from_utf8(s.build_request(op, &ep, None, &input).unwrap().body).unwrap();
        assert!(body.contains("WebIdentityToken=eyJ.second"), "{body}");
    }

    #[test]
    fn web_identity_in_the_chain() {
        let wi_env = |f: &Fixture| {
            let mut env = f.env.clone();
            env.vars.extend([
                ("AWS_WEB_IDENTITY_TOKEN_FILE".to_string(), f.path("token")),
                ("AWS_ROLE_ARN".to_string(), ROLE.to_string()),
            ]);
            env
        };
        let cli_profile = |p: &str| crate::Globals {
            profile: Some(p.into()),
            ..Default::default()
        };
        let f = Fixture::new(
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n\
             [profile static]\naws_access_key_id = AKIASTATIC\naws_secret_access_key = s\n\
             [profile role]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = static\n\
             [profile wi]\nweb_identity_token_file = /nonexistent\nrole_arn = arn:aws:iam::123456789012:role/wi\n",
            &[],
        );
        f.cache(json!({"RoleArn": ROLE}), "ASIAENVWI");
        f.cache(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/other"}),
            "ASIAROLE",
        );
        f.cache(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/wi"}),
            "ASIAPROFILEWI",
        );
        let mut f = f;
        f.env = wi_env(&f);
        let akid = |r: (Result<Creds, CliError>, Vec<String>, u32)| {
            let c = r.0.unwrap();
            (c.access_key_id, c.method)
        };
        // The environment form comes before the profile's static keys.
        assert_eq!(
            akid(f.resolve(&crate::Globals::default())),
            ("ASIAENVWI".into(), "assume-role-with-web-identity")
        );
        // ... but after environment keys.
        let mut with_keys = f.env.clone();
        with_keys.vars.extend([
            ("AWS_ACCESS_KEY_ID".to_string(), "AKIAENV".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "s".to_string()),
        ]);
        let g = crate::Globals::default();
        assert_eq!(akid(resolve_in(&with_keys, &g)), ("AKIAENV".into(), "env"));
        // `--profile` disables the environment form.
        assert_eq!(
            akid(f.resolve(&cli_profile("static"))),
            ("AKIASTATIC".into(), "config-file")
        );
        // AWS_PROFILE does not.
        let mut by_env = f.env.clone();
        by_env.vars.insert("AWS_PROFILE".into(), "static".into());
        assert_eq!(akid(resolve_in(&by_env, &g)).0, "ASIAENVWI");
        // A role profile (assume-role) comes first.
        assert_eq!(
            akid(f.resolve(&cli_profile("role"))),
            ("ASIAROLE".into(), "assume-role")
        );
        let mut by_env = f.env.clone();
        by_env.vars.insert("AWS_PROFILE".into(), "role".into());
        assert_eq!(akid(resolve_in(&by_env, &g)).0, "ASIAROLE");
        // The profile form (its own cache key; the missing token file is not needed).
        assert_eq!(
            akid(f.resolve(&cli_profile("wi"))),
            ("ASIAPROFILEWI".into(), "assume-role-with-web-identity")
        );
    }

    #[test]
    fn role_chained_from_a_web_identity_profile() {
        let f = Fixture::new(
            "[profile wi]\nweb_identity_token_file = /nonexistent\nrole_arn = arn:aws:iam::123456789012:role/wi\n\
             [profile chained]\nrole_arn = arn:aws:iam::123456789012:role/target\nsource_profile = wi\n",
            &[
                // Ignored for a source profile: were it read, the cache would miss.
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/env"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_MAX_ATTEMPTS", "1"),
            ],
        );
        f.cache(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/wi"}),
            "ASIAWI",
        );
        let g = crate::Globals {
            profile: Some("chained".into()),
            debug: true,
            ..Default::default()
        };
        let (r, debug, _) = f.resolve(&g);
        // The web identity source resolved from its cache; then AssumeRole went to the
        // (closed) endpoint.
        assert!(
            debug.iter().any(|l| l.contains(
                "assume-role-with-web-identity credentials for arn:aws:iam::123456789012:role/wi from cache"
            )),
            "{debug:?}"
        );
        assert!(
            debug.iter().any(|l| l.contains("sts.AssumeRole -> POST")),
            "{debug:?}"
        );
        assert!(r.unwrap_err().message().contains("Could not connect"));
        // With the target's credentials cached, the chain stops there.
        f.cache(
            json!({"RoleArn": "arn:aws:iam::123456789012:role/target"}),
            "ASIATARGET",
        );
        let c = f.resolve(&g).0.unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.method),
            ("ASIATARGET", "assume-role")
        );
    }
}
