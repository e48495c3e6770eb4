//! IAM Identity Center in the client, as AWS CLI v2 2.36.7 does it
//! (`awscli/customizations/sso/{login,logout,utils}.py`, `configure/sso_commands.py`, botocore's
//! `SSOTokenFetcher`/`SSOTokenFetcherAuth`, `SSOTokenProvider`, `SSOProvider`):
//!
//! * `kagi sso login [--sso-session NAME] [--use-device-code] [--no-browser]`: registers a
//!   public OIDC client (cached), then PKCE (the default with an `sso-session`: a loopback
//!   listener on `127.0.0.1:<random>/oauth/callback`, the browser sent to `<oidc>/authorize`) or
//!   the device code flow (`--use-device-code`, and always for the legacy profile form), and
//!   writes the token cache.
//! * `kagi sso logout`: Logout for every cached token, then deletes the token files and the
//!   role credentials cached from SSO.
//! * The credential provider ([`credentials`]) for profiles with `sso_account_id`/`sso_role_name`
//!   (+ `sso_session`, or the legacy `sso_start_url`/`sso_region`): the token from the cache,
//!   refreshed with its refresh token when less than 15 minutes remain, GetRoleCredentials at
//!   the portal endpoint, the role credentials cached in `~/.aws/cli/cache`.
//! * `kagi configure sso` ([`configure`]) and `kagi configure sso-session` ([`configure_session`]).
//!
//! Files (botocore's `JSONFileCache`, 0600): `~/.aws/sso/cache/<sha1(session name | start
//! URL)>.json` holds the token (`startUrl`, `region`, `accessToken`, `expiresAt` as
//! `%Y-%m-%dT%H:%M:%SZ`, `clientId`, `clientSecret`, `registrationExpiresAt`, `refreshToken`);
//! the client registration sits beside it under the SHA-1 of `json.dumps({"tool": "botocore",
//! "startUrl", "region", "scopes", "session_name"}, sort_keys=True)`; the role credentials are
//! `~/.aws/cli/cache/<sha1(json.dumps({"accountId", "roleName", "sessionName" | "startUrl"},
//! sort_keys=True, separators=(",", ":")))>.json` with `ProviderType: sso`.
//!
//! Deliberate difference: 2.36.7's `sso login` resolves a start URL that is not on an AWS
//! domain by following its redirect to one (and insists on https); kagi uses the configured
//! `sso_region` and the start URL as written, so `http://127.0.0.1:PORT/start` of `kagi serve`
//! works. The multi-choice account and role menus read a line (a number or the value) instead
//! of prompt_toolkit's arrow-key menu.

use std::io::{BufRead as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::config::{Env, Files};
use crate::creds::{self, Creds};
use crate::http::Session;
use crate::ini::{EditValue, Props};
use crate::output::Doc;
use crate::{CliError, Globals, Io};

/// botocore's refresh window for tokens and registrations (15 minutes).
const EXPIRY_WINDOW: i64 = 15 * 60;
const DEFAULT_SCOPE: &str = "sso:account:access";
const SLOW_DOWN_DELAY: u64 = 5;
const DEFAULT_INTERVAL: u64 = 5;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long the PKCE flow waits for the browser's redirect (AuthCodeFetcher's 10 minutes).
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(600);

const PENDING_EXPIRED: &str = "The pending authorization to retrieve an SSO token has expired. The login flow to retrieve an SSO token must be restarted.";
const UNAUTHORIZED: &str = "The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.";

/// `~/.aws/sso/cache`.
pub fn token_dir(env: &Env) -> PathBuf {
    env.home.join(".aws").join("sso").join("cache")
}

fn sha1_hex(s: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The token cache file of a session (or, legacy, of a start URL).
pub fn token_path(env: &Env, start_url: &str, session_name: Option<&str>) -> PathBuf {
    token_dir(env).join(format!(
        "{}.json",
        sha1_hex(session_name.unwrap_or(start_url))
    ))
}

/// The registration cache file (`_registration_cache_key`).
pub fn registration_path(
    env: &Env,
    start_url: &str,
    region: &str,
    scopes: Option<&[String]>,
    session_name: Option<&str>,
) -> PathBuf {
    let args = json!({
        "tool": "botocore",
        "startUrl": start_url,
        "region": region,
        "scopes": scopes,
        "session_name": session_name,
    });
    token_dir(env).join(format!(
        "{}.json",
        sha1_hex(&creds::python_json_sorted(&args))
    ))
}

/// The role credential cache file (`SSOCredentialFetcher._create_cache_key`).
pub fn role_cache_path(
    env: &Env,
    start_url: &str,
    session_name: Option<&str>,
    account_id: &str,
    role_name: &str,
) -> PathBuf {
    let mut args = vec![
        ("accountId", account_id.to_string()),
        ("roleName", role_name.to_string()),
    ];
    match session_name {
        Some(n) => args.push(("sessionName", n.to_string())),
        None => args.push(("startUrl", start_url.to_string())),
    }
    args.sort();
    // separators=(",", ":"), sort_keys=True, ensure_ascii.
    let body: Vec<String> = args
        .iter()
        .map(|(k, v)| {
            format!(
                "\"{k}\":{}",
                creds::python_json_sorted(&Value::String(v.clone()))
            )
        })
        .collect();
    let key = sha1_hex(&format!("{{{}}}", body.join(",")));
    env.home
        .join(".aws")
        .join("cli")
        .join("cache")
        .join(format!("{}.json", key.replace([':', '/'], "_")))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `%Y-%m-%dT%H:%M:%SZ` (`_serialize_utc_timestamp`).
pub fn utc_z(secs: i64) -> String {
    let v = kagi_api::time::Timestamp { secs, micros: 0 }.to_value_string();
    format!("{}Z", v.trim_end_matches("+00:00"))
}

/// `json.dumps(obj)` of an object in insertion order.
fn dumps(v: &Value) -> String {
    crate::output::to_json_compact(&Doc::from_value(v))
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_json(path: &Path, v: &Value) -> Result<(), CliError> {
    creds::write_private(path, dumps(v).as_bytes()).map_err(CliError::from)
}

fn field<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str)
}

/// `parse_sso_registration_scopes`.
pub fn parse_scopes(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a login needs: the session (absent for the legacy form), start URL, region, scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginConfig {
    pub session_name: Option<String>,
    pub start_url: String,
    pub region: String,
    pub scopes: Option<Vec<String>>,
}

// ---------------------------------------------------------------- service calls

fn call(
    s: &Session,
    service: &str,
    region: &str,
    op: &str,
    input: Value,
) -> Result<Value, CliError> {
    let svc = kagi_api::service(service)
        .ok_or_else(|| CliError::General(format!("the {service} model is missing")))?;
    let operation = svc
        .operation(op)
        .ok_or_else(|| CliError::General(format!("{op} is missing from the {service} model")))?;
    // botocore creates these clients from the session: the configured endpoint
    // (AWS_ENDPOINT_URL_SSO[_OIDC], services, endpoint_url) applies, `--endpoint-url` does not.
    let ep = s.endpoint(svc, Some(region), false)?;
    s.call(operation, &ep, None, &input)
}

fn service_code(e: &CliError) -> Option<&str> {
    match e {
        CliError::Service { code, .. } => Some(code),
        _ => None,
    }
}

/// The scheme and authority of the sso-oidc endpoint (`_get_base_authorization_uri`).
fn oidc_base(s: &Session, region: &str) -> Result<String, CliError> {
    let svc = kagi_api::service("sso-oidc")
        .ok_or_else(|| CliError::General("the sso-oidc model is missing".into()))?;
    let ep = s.endpoint(svc, Some(region), false)?;
    let (scheme, rest) = ep.url.split_once("://").unwrap_or(("https", &ep.url));
    let authority = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{scheme}://{authority}"))
}

// ---------------------------------------------------------------- registration and tokens

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Device,
    AuthCode,
}

const REDIRECT_WITHOUT_PORT: &str = "http://127.0.0.1/oauth/callback";

fn client_name(session_name: Option<&str>) -> String {
    match session_name {
        Some(n) => format!("botocore-client-{n}"),
        None => format!("botocore-client-{}", now_secs()),
    }
}

/// A cached registration, or a new one (`_registration`).
fn registration(s: &Session, cfg: &LoginConfig, flow: Flow) -> Result<Value, CliError> {
    let path = registration_path(
        s.env,
        &cfg.start_url,
        &cfg.region,
        cfg.scopes.as_deref(),
        cfg.session_name.as_deref(),
    );
    if let Some(r) = read_json(&path) {
        let fresh = field(&r, "expiresAt")
            .and_then(creds::parse_expiration)
            .is_some_and(|e| e - now_secs() >= EXPIRY_WINDOW);
        let for_auth_code = r
            .get("grantTypes")
            .and_then(Value::as_array)
            .is_some_and(|g| g.iter().any(|x| x == "authorization_code"));
        if fresh && for_auth_code == (flow == Flow::AuthCode) {
            return Ok(r);
        }
    }
    let mut input = Map::new();
    input.insert(
        "clientName".into(),
        client_name(cfg.session_name.as_deref()).into(),
    );
    input.insert("clientType".into(), "public".into());
    let scopes: Option<Vec<String>> = match flow {
        Flow::Device => cfg.scopes.clone().filter(|s| !s.is_empty()),
        Flow::AuthCode => Some(
            cfg.scopes
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec![DEFAULT_SCOPE.to_string()]),
        ),
    };
    let grant_types = ["authorization_code", "refresh_token"];
    if flow == Flow::AuthCode {
        input.insert("grantTypes".into(), json!(grant_types));
        input.insert("redirectUris".into(), json!([REDIRECT_WITHOUT_PORT]));
        input.insert("issuerUrl".into(), cfg.start_url.clone().into());
    }
    if let Some(sc) = &scopes {
        input.insert("scopes".into(), json!(sc));
    }
    let out = call(
        s,
        "sso-oidc",
        &cfg.region,
        "RegisterClient",
        Value::Object(input),
    )?;
    let expires = out
        .get("clientSecretExpiresAt")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut reg = Map::new();
    reg.insert(
        "clientId".into(),
        out.get("clientId").cloned().unwrap_or_default(),
    );
    reg.insert(
        "clientSecret".into(),
        out.get("clientSecret").cloned().unwrap_or_default(),
    );
    reg.insert("expiresAt".into(), utc_z(expires).into());
    if let Some(sc) = scopes {
        reg.insert("scopes".into(), json!(sc));
    }
    if flow == Flow::AuthCode {
        reg.insert("grantTypes".into(), json!(grant_types));
    }
    let reg = Value::Object(reg);
    write_json(&path, &reg)?;
    Ok(reg)
}

/// The token cache entry for a CreateToken response.
fn token_entry(
    start_url: &str,
    region: &str,
    reg: &Value,
    out: &Value,
    reg_expires: &str,
) -> Value {
    let expires_in = out.get("expiresIn").and_then(Value::as_i64).unwrap_or(0);
    let mut t = Map::new();
    t.insert("startUrl".into(), start_url.into());
    t.insert("region".into(), region.into());
    t.insert(
        "accessToken".into(),
        out.get("accessToken").cloned().unwrap_or_default(),
    );
    t.insert("expiresAt".into(), utc_z(now_secs() + expires_in).into());
    t.insert(
        "clientId".into(),
        reg.get("clientId").cloned().unwrap_or_default(),
    );
    t.insert(
        "clientSecret".into(),
        reg.get("clientSecret").cloned().unwrap_or_default(),
    );
    t.insert("registrationExpiresAt".into(), reg_expires.into());
    if let Some(r) = out.get("refreshToken").filter(|r| r.is_string()) {
        t.insert("refreshToken".into(), r.clone());
    }
    Value::Object(t)
}

/// How the verification URL reaches the person: printed only (`--no-browser`), or printed and
/// opened (`OpenBrowserHandler`).
fn on_pending(
    s: &Session,
    io: &mut Io,
    no_browser: bool,
    uri: &str,
    uri_complete: &str,
    user_code: Option<&str>,
) -> Result<(), CliError> {
    if no_browser {
        write!(
            io.stdout,
            "Browser will not be automatically opened.\nPlease visit the following URL:\n\n{uri}\n"
        )?;
        if let Some(code) = user_code {
            write!(
                io.stdout,
                "\nThen enter the code:\n\n{code}\n\nAlternatively, you may visit the following URL which will autofill the code upon loading:\n{uri_complete}\n"
            )?;
        }
        io.stdout.flush()?;
        return Ok(());
    }
    match user_code {
        Some(code) => write!(
            io.stdout,
            "Attempting to open your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n{uri}\n\nThen enter the code:\n\n{code}\n"
        )?,
        None => write!(
            io.stdout,
            "Attempting to open your default browser. If the browser does not open, open the following URL.\nIf you are unable to open the URL on this device, run this command again with the '--use-device-code' option.\n\n{uri}\n\n"
        )?,
    }
    io.stdout.flush()?;
    open_browser(s, uri_complete);
    Ok(())
}

/// Opens `url` as Python's `webbrowser` does on Linux: `$BROWSER` (a `:`-separated list, each
/// split as shlex does, `%s` replaced by the URL, else the URL appended), else `xdg-open`;
/// never through a shell, never waited for. Failures are not errors.
fn open_browser(s: &Session, url: &str) {
    let spawn = |cmd: &str| -> bool {
        let Ok(mut words) = creds::shell_split(cmd) else {
            return false;
        };
        if words.is_empty() {
            return false;
        }
        if words.iter().any(|w| w.contains("%s")) {
            for w in &mut words {
                *w = w.replace("%s", url);
            }
        } else {
            words.push(url.to_string());
        }
        std::process::Command::new(&words[0])
            .args(&words[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    };
    if let Some(b) = s.env.var("BROWSER").filter(|b| !b.trim().is_empty()) {
        for cmd in b.split(':').filter(|c| !c.is_empty()) {
            if spawn(cmd) {
                return;
            }
        }
    }
    if !spawn("xdg-open") {
        s.debug(|| "kagi: [DEBUG] Failed to open browser".into());
    }
}

/// The device code grant (`SSOTokenFetcher._poll_for_token`).
fn device_flow(
    s: &Session,
    io: &mut Io,
    cfg: &LoginConfig,
    no_browser: bool,
) -> Result<Value, CliError> {
    let reg = registration(s, cfg, Flow::Device)?;
    let dev = call(
        s,
        "sso-oidc",
        &cfg.region,
        "StartDeviceAuthorization",
        json!({
            "clientId": reg.get("clientId"),
            "clientSecret": reg.get("clientSecret"),
            "startUrl": cfg.start_url,
        }),
    )?;
    let mut interval = dev
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_INTERVAL);
    let reg_expires = field(&reg, "expiresAt").unwrap_or_default().to_string();
    let attempt = |interval: &mut u64| -> Result<Option<Value>, CliError> {
        let r = call(
            s,
            "sso-oidc",
            &cfg.region,
            "CreateToken",
            json!({
                "grantType": DEVICE_GRANT,
                "clientId": reg.get("clientId"),
                "clientSecret": reg.get("clientSecret"),
                "deviceCode": dev.get("deviceCode"),
            }),
        );
        match r {
            Ok(out) => Ok(Some(token_entry(
                &cfg.start_url,
                &cfg.region,
                &reg,
                &out,
                &reg_expires,
            ))),
            Err(e) => match service_code(&e) {
                Some("SlowDownException") => {
                    *interval += SLOW_DOWN_DELAY;
                    Ok(None)
                }
                Some("AuthorizationPendingException") => Ok(None),
                Some("ExpiredTokenException") => Err(CliError::General(PENDING_EXPIRED.into())),
                _ => Err(e),
            },
        }
    };
    // A pre-authorized client gets its token at once, before any message.
    if let Some(t) = attempt(&mut interval)? {
        return Ok(t);
    }
    on_pending(
        s,
        io,
        no_browser,
        field(&dev, "verificationUri").unwrap_or_default(),
        field(&dev, "verificationUriComplete").unwrap_or_default(),
        Some(field(&dev, "userCode").unwrap_or_default()),
    )?;
    loop {
        if let Some(t) = attempt(&mut interval)? {
            return Ok(t);
        }
        std::thread::sleep(Duration::from_secs(interval));
    }
}

/// botocore's `percent_encode`: everything but unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn random_verifier() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
    let mut out = String::with_capacity(64);
    while out.len() < 64 {
        let mut b = [0u8; 64];
        if getrandom::fill(&mut b).is_err() {
            b = *b"kagi-fallback-verifier-0123456789-kagi-fallback-verifier-0123456";
        }
        // Rejection sampling keeps the choice uniform (256 = 3 * 66 + 58).
        for x in b {
            if (x as usize) < ALPHABET.len() * 3 && out.len() < 64 {
                out.push(ALPHABET[x as usize % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// `base64.urlsafe_b64encode(sha256(verifier))` without its final `=`.
fn challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(verifier.as_bytes());
    let mut c = base64::engine::general_purpose::URL_SAFE.encode(d);
    c.pop();
    c
}

/// The page the loopback listener answers with.
const CALLBACK_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>AWS Authentication</title></head><body style=\"font-family: sans-serif; margin: 3em\"><h1>Request approved</h1><p>AWS CLI has been given requested permissions. You can close this window and start using the AWS CLI.</p></body></html>";

/// Waits for the redirect to the loopback listener: `Some((code, state))`, `None` when the
/// redirect carries an error; an error after the overall timeout.
fn wait_for_callback(listener: &TcpListener) -> Result<Option<(String, String)>, CliError> {
    listener.set_nonblocking(true)?;
    let start = Instant::now();
    while start.elapsed() < CALLBACK_TIMEOUT {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(done) = handle_callback(stream) {
                    return Ok(done);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CliError::General(PENDING_EXPIRED.into()))
}

/// One request to the listener: answers the page; `Some` once it carried an error or a code and
/// a state.
fn handle_callback(mut stream: TcpStream) -> Option<Option<(String, String)>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    // The headers (ignored).
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{CALLBACK_PAGE}",
        CALLBACK_PAGE.len()
    );
    let _ = stream.flush();
    let mut parts = first.split_whitespace();
    if parts.next() != Some("GET") {
        return None;
    }
    let target = parts.next()?;
    let query = target.split_once('?').map(|x| x.1).unwrap_or("");
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unpct(k), unpct(v))
        })
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("error").is_some() {
        return Some(None);
    }
    match (get("code"), get("state")) {
        (Some(c), Some(s)) => Some(Some((c, s))),
        _ => None,
    }
}

fn unpct(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(())
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            x => out.push(x),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The authorization code grant with PKCE (`SSOTokenFetcherAuth._get_new_token`).
fn auth_code_flow(
    s: &Session,
    io: &mut Io,
    cfg: &LoginConfig,
    no_browser: bool,
) -> Result<Value, CliError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
        CliError::General(format!(
            "Unable to initialize the OAuth 2.0 authorization callback handler: {e} \n You may use --use-device-code to fall back to the device code flow which does not require the callback handler."
        ))
    })?;
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}/oauth/callback");
    let reg = registration(s, cfg, Flow::AuthCode)?;
    let verifier = random_verifier();
    let state = crate::http::uuid_v4();
    let scopes = match &cfg.scopes {
        Some(sc) if !sc.is_empty() => sc.join(" "),
        _ => DEFAULT_SCOPE.to_string(),
    };
    let query = [
        ("response_type", "code"),
        ("client_id", field(&reg, "clientId").unwrap_or_default()),
        ("redirect_uri", redirect.as_str()),
        ("state", state.as_str()),
        ("code_challenge_method", "S256"),
        ("scopes", scopes.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
    .collect::<Vec<_>>()
    .join("&");
    let uri = format!(
        "{}/authorize?{query}&code_challenge={}",
        oidc_base(s, &cfg.region)?,
        challenge(&verifier)
    );
    on_pending(s, io, no_browser, &uri, &uri, None)?;
    let (code, got_state) = wait_for_callback(&listener)?.ok_or_else(|| {
        CliError::General(
            "Error loading authorization code: Failed to retrieve an authorization code.".into(),
        )
    })?;
    if got_state != state {
        return Err(CliError::General(
            "Error loading authorization code: State parameter does not match expected value."
                .into(),
        ));
    }
    let out = call(
        s,
        "sso-oidc",
        &cfg.region,
        "CreateToken",
        json!({
            "grantType": "authorization_code",
            "clientId": reg.get("clientId"),
            "clientSecret": reg.get("clientSecret"),
            "redirectUri": redirect,
            "codeVerifier": verifier,
            "code": code,
        }),
    )
    .map_err(|e| match service_code(&e) {
        Some("ExpiredTokenException") => CliError::General(PENDING_EXPIRED.into()),
        _ => e,
    })?;
    let reg_expires = field(&reg, "expiresAt").unwrap_or_default().to_string();
    Ok(token_entry(
        &cfg.start_url,
        &cfg.region,
        &reg,
        &out,
        &reg_expires,
    ))
}

/// `do_sso_login`: a new token, written to the cache (without `force_refresh`, a cached token
/// with 15 minutes left is used as it is).
pub fn do_login(
    s: &Session,
    io: &mut Io,
    cfg: &LoginConfig,
    no_browser: bool,
    use_device_code: bool,
    force_refresh: bool,
) -> Result<Value, CliError> {
    let path = token_path(s.env, &cfg.start_url, cfg.session_name.as_deref());
    if !force_refresh
        && let Some(t) = read_json(&path)
        && field(&t, "expiresAt")
            .and_then(creds::parse_expiration)
            .is_some_and(|e| e - now_secs() >= EXPIRY_WINDOW)
    {
        return Ok(t);
    }
    let token = if cfg.session_name.is_some() && !use_device_code {
        auth_code_flow(s, io, cfg, no_browser)?
    } else {
        device_flow(s, io, cfg, no_browser)?
    };
    write_json(&path, &token)?;
    Ok(token)
}

// ---------------------------------------------------------------- sso login / logout

fn missing_config(missing: &[&str], legacy: bool) -> CliError {
    let mut m = format!(
        "Missing the following required SSO configuration values: {}. ",
        missing.join(", ")
    );
    if legacy {
        m.push_str(
            "To make sure this profile is properly configured to use SSO, please run: aws configure sso",
        );
    }
    CliError::Config(m)
}

/// `BaseSSOCommand._get_sso_config`.
pub fn login_config(
    files: &Files,
    profile: &Props,
    session: Option<&str>,
) -> Result<LoginConfig, CliError> {
    let session = session
        .map(str::to_string)
        .or_else(|| profile.get("sso_session").map(str::to_string));
    let (source, legacy) = match &session {
        Some(name) => (
            files.set.sso_sessions.get(name).ok_or_else(|| {
                CliError::Config(format!(
                    "The specified sso-session does not exist: \"{name}\""
                ))
            })?,
            false,
        ),
        None => (profile, true),
    };
    let missing: Vec<&str> = ["sso_start_url", "sso_region"]
        .into_iter()
        .filter(|k| source.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(missing_config(&missing, legacy));
    }
    Ok(LoginConfig {
        session_name: session,
        start_url: source.get("sso_start_url").unwrap_or_default().to_string(),
        region: source.get("sso_region").unwrap_or_default().to_string(),
        scopes: if legacy {
            None
        } else {
            source.get("sso_registration_scopes").map(parse_scopes)
        },
    })
}

/// Parses `--no-browser`, `--use-device-code` and (login only) `--sso-session NAME`.
fn login_args(
    args: &[String],
    with_session: bool,
) -> Result<(bool, bool, Option<String>), CliError> {
    let (mut no_browser, mut device, mut session) = (false, false, None);
    let mut unknown = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        match a.as_str() {
            "--no-browser" => no_browser = true,
            "--use-device-code" => device = true,
            "--sso-session" if with_session => {
                i += 1;
                session = Some(args.get(i).cloned().ok_or_else(|| {
                    CliError::Usage("argument --sso-session: expected one argument".into())
                })?);
            }
            x if with_session && x.starts_with("--sso-session=") => {
                session = Some(x["--sso-session=".len()..].to_string())
            }
            _ => unknown.push(a.clone()),
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(CliError::UnknownArgs(unknown));
    }
    Ok((no_browser, device, session))
}

// ---- help pages: AWS CLI v2's texts for its own commands, kagi's for set-password ----

const LOGIN_OPTIONS: [(&str, &str, &str); 2] = [
    (
        "--no-browser",
        "boolean",
        "Disables automatically opening the verification URL in the default browser.",
    ),
    (
        "--use-device-code",
        "boolean",
        "Uses the Device Code authorization grant and login flow instead of the Authorization Code flow.",
    ),
];
const PROMPT_USAGE: &str = "To keep an existing value, hit enter when prompted for the value. When you are prompted for information, the current value will be displayed in [brackets]. If the config item has no value, it is displayed as [None] or omitted entirely.";
const CONFIG_EXTRA_INFO: &str = "Note: The configuration is saved in the shared configuration file. By default, ~/.aws/config. For more information, see the \"Configuring the AWS CLI to use AWS IAM Identity Center\" section in the AWS CLI User Guide:";
const CONFIG_GUIDE: &str =
    "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sso.html";

/// `kagi sso login help`, `sso logout help`, `sso set-password help`, `configure sso help`,
/// `configure sso-session help`.
fn help_page(command: &str, io: &mut Io) -> Result<(), CliError> {
    use crate::help::{Page, command as print};
    let login_options = [
        LOGIN_OPTIONS[0],
        LOGIN_OPTIONS[1],
        (
            "--sso-session",
            "string",
            "An explicit SSO session to use to login. By default, this command will login using the SSO session configured as part of the requested profile and generally does not require this argument to be set.",
        ),
    ];
    let page = match command {
        "login" => Page {
            name: "login",
            description: &[
                "Retrieves and caches an AWS IAM Identity Center access token to exchange for AWS credentials. To login, the requested profile must have first been setup using aws configure sso. Each time the login command is called, a new SSO access token will be retrieved. Please note that only one login session can be active for a given SSO Session and creating multiple profiles does not allow for multiple users to be authenticated against the same SSO Session.",
            ],
            synopsis: None,
            options: &login_options,
        },
        "logout" => Page {
            name: "logout",
            description: &[
                "Removes all cached AWS IAM Identity Center access tokens and any cached temporary AWS credentials retrieved with SSO access tokens across all profiles. To use these profiles again, run: aws sso login",
            ],
            synopsis: None,
            options: &[],
        },
        "sso" => Page {
            name: "sso",
            description: &[
                "The aws configure sso command interactively prompts for the configuration values required to create a profile that sources temporary AWS credentials from AWS IAM Identity Center.",
                PROMPT_USAGE,
                "When providing the --profile parameter the named profile will be created or updated. When a profile is not explicitly set the profile name will be prompted for.",
                CONFIG_EXTRA_INFO,
                CONFIG_GUIDE,
            ],
            synopsis: Some("aws configure sso [--profile profile-name]"),
            options: &LOGIN_OPTIONS,
        },
        "sso-session" => Page {
            name: "sso-session",
            description: &[
                "The aws configure sso-session command interactively prompts for the configuration values required to create a SSO session. The SSO session can then be associated to a profile to retrieve SSO access tokens and AWS credentials.",
                PROMPT_USAGE,
                CONFIG_EXTRA_INFO,
                CONFIG_GUIDE,
            ],
            synopsis: Some("aws configure sso-session"),
            options: &[],
        },
        _ => Page {
            name: "set-password",
            description: &[
                "kagi's extension to IAM Identity Center: sets the access portal password of a user of the identity store, as the invitation AWS e-mails lets the user choose one. kagi serve cannot send e-mail, so an administrator sets it, and the user signs in to the access portal (aws sso login, aws configure sso) with it.",
                "The call is signed with the profile's credentials and sent to the identitystore endpoint (KagiIdentityCenter.SetPortalPassword); it is authorised as identitystore:UpdateUser on the user. The password must satisfy IAM's default password policy (PasswordPolicyViolation otherwise); an unknown user is a ResourceNotFoundException.",
                "The password is read from standard input with --password-stdin, else prompted for without echo. It is never printed or logged. Against real AWS the call fails: AWS has no such operation.",
            ],
            synopsis: Some(
                "kagi sso set-password\n  --identity-store-id <value>\n  --user-name <value>\n  [--password-stdin]",
            ),
            options: &[
                (
                    "--identity-store-id",
                    "string",
                    "The identity store of the user (d-XXXXXXXXXX, from aws sso-admin list-instances).",
                ),
                (
                    "--user-name",
                    "string",
                    "The user's UserName in the identity store.",
                ),
                (
                    "--password-stdin",
                    "boolean",
                    "Reads the password from the first line of standard input instead of prompting.",
                ),
            ],
        },
    };
    print(&page, io)
}

/// `kagi sso login|logout`; other `sso` subcommands are the portal API's operations.
pub fn run(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if let [command, help] = args
        && help == "help"
        && matches!(command.as_str(), "login" | "logout" | "set-password")
    {
        return help_page(command, io);
    }
    match args.first().map(String::as_str) {
        Some("login") => login(g, &args[1..], env, io),
        Some("logout") => logout(g, &args[1..], env),
        Some("set-password") => set_password(g, &args[1..], env, io),
        _ => {
            let service = kagi_api::service("sso")
                .ok_or_else(|| CliError::General("the sso model is missing".into()))?;
            crate::invoke::service_command(service, g, args, env, io)
        }
    }
}

/// `kagi sso set-password --identity-store-id d-… --user-name NAME [--password-stdin]`: kagi's
/// one extension to Identity Center (AWS e-mails an invitation to choose a portal password;
/// kagi cannot). A signed JSON 1.1 call, `KagiIdentityCenter.SetPortalPassword`, to the
/// identitystore endpoint, authorised as `identitystore:UpdateUser` on the user. The password
/// is read from stdin (`--password-stdin`) or prompted for without echo.
fn set_password(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let (mut store, mut user, mut stdin) = (None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--identity-store-id" => store = it.next().cloned(),
            "--user-name" => user = it.next().cloned(),
            "--password-stdin" => stdin = true,
            other => return Err(CliError::UnknownArgs(vec![other.to_string()])),
        }
    }
    let (Some(store), Some(user)) = (store, user) else {
        return Err(CliError::Usage(
            "usage: kagi sso set-password --identity-store-id d-XXXXXXXXXX --user-name NAME [--password-stdin]"
                .into(),
        ));
    };
    let s = Session::new(env, g)?;
    let password = if stdin {
        let mut line = String::new();
        io.stdin
            .read_line(&mut line)
            .map_err(|e| CliError::General(format!("reading the password: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        crate::creds::prompt_secret(&s, io, "Portal password: ")?
    };
    let creds = crate::creds::resolve(&s, io)?;
    let service = kagi_api::service("identitystore")
        .ok_or_else(|| CliError::General("the identitystore model is missing".into()))?;
    let region = s.region()?.unwrap_or_else(|| "us-east-1".into());
    let ep = s.endpoint(service, Some(&region), true)?;
    let body =
        serde_json::json!({"IdentityStoreId": store, "UserName": user, "Password": password})
            .to_string();
    let (origin, _, _) = crate::http::split_url(&ep.url).map_err(CliError::General)?;
    let host = origin
        .split_once("://")
        .map(|(_, h)| h.to_string())
        .unwrap_or_default();
    let mut headers = vec![
        ("host".to_string(), host),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            "KagiIdentityCenter.SetPortalPassword".to_string(),
        ),
    ];
    let params = kagi_sigv4::SigningParams {
        region: &ep.signing_region,
        service: service.signing_name,
        time: std::time::SystemTime::now(),
    };
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        &creds.to_sigv4(),
        &params,
    )
    .map_err(|e| CliError::General(format!("signing: {e}")))?;
    let url = format!("{origin}/");
    let mut req = s.agent(&url)?.post(url.as_str());
    for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
        req = req.header(k.as_str(), v.as_str());
    }
    let mut resp = req.send(body.as_bytes()).map_err(|e| {
        CliError::General(format!(
            "Could not connect to the endpoint URL: \"{}\": {e}",
            ep.url
        ))
    })?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if status == 200 {
        return Ok(());
    }
    let e = kagi_api::json11::decode_error(text.as_bytes())
        .unwrap_or_else(|| kagi_api::ApiError::new("Unknown", text.clone(), status));
    Err(CliError::Service {
        code: e.code,
        message: e.message,
        operation: "SetPortalPassword".into(),
        retries: 0,
    })
}

fn login(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let (no_browser, device, session) = login_args(args, true)?;
    let s = Session::new(env, g)?;
    let empty = Props::default();
    let profile = s.profile()?.unwrap_or(&empty);
    let cfg = login_config(&s.files, profile, session.as_deref())?;
    do_login(&s, io, &cfg, no_browser, device, true)?;
    writeln!(
        io.stdout,
        "Successfully logged into Start URL: {}",
        cfg.start_url
    )?;
    Ok(())
}

fn logout(g: &Globals, args: &[String], env: &Env) -> Result<(), CliError> {
    if !args.is_empty() {
        return Err(CliError::UnknownArgs(args.to_vec()));
    }
    let s = Session::new(env, g)?;
    sweep(
        &token_dir(env),
        |v| v.get("accessToken").is_some(),
        |v| {
            if let (Some(region), Some(token)) = (field(v, "region"), field(v, "accessToken")) {
                match call(&s, "sso", region, "Logout", json!({"accessToken": token})) {
                    // The token may be expired or otherwise invalid already.
                    Err(CliError::Service { .. }) | Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        },
    )?;
    sweep(
        &env.cache_dir(),
        |v| field(v, "ProviderType") == Some("sso"),
        |_| Ok(()),
    )
}

/// `BaseCredentialSweeper.delete_credentials`.
fn sweep(
    dir: &Path,
    should_delete: impl Fn(&Value) -> bool,
    mut before: impl FnMut(&Value) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let Some(v) = read_json(&p) else { continue };
        if should_delete(&v) {
            before(&v)?;
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- the credential provider

/// `SSOProvider.load`: `None` unless the profile has `sso_account_id` or `sso_role_name`.
pub fn credentials(
    s: &Session,
    profile_name: &str,
    props: &Props,
) -> Result<Option<Creds>, CliError> {
    if props.get("sso_role_name").is_none() && props.get("sso_account_id").is_none() {
        return Ok(None);
    }
    // _resolve_sso_session_reference
    let mut resolved: Vec<(String, String)> = props
        .0
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let session = props.get("sso_session").map(str::to_string);
    if let Some(name) = &session {
        let sess = s.files.set.sso_sessions.get(name).ok_or_else(|| {
            CliError::General(format!(
                "The specified sso-session does not exist: \"{name}\""
            ))
        })?;
        for (k, v) in sess.0.iter() {
            if let Some((_, mine)) = resolved.iter().find(|(rk, _)| rk == k) {
                if mine != v {
                    return Err(CliError::General(format!(
                        "The value for {k} is inconsistent between profile ({mine}) and sso-session ({v})."
                    )));
                }
            } else {
                resolved.push((k.to_string(), v.to_string()));
            }
        }
    }
    let get = |k: &str| {
        resolved
            .iter()
            .find(|(rk, _)| rk == k)
            .map(|(_, v)| v.clone())
    };
    let mut required = vec![
        "sso_role_name",
        "sso_account_id",
        "sso_start_url",
        "sso_region",
    ];
    if session.is_some() {
        required.push("sso_session");
    }
    let missing: Vec<&str> = required.into_iter().filter(|k| get(k).is_none()).collect();
    if !missing.is_empty() {
        return Err(CliError::General(format!(
            "The profile \"{profile_name}\" is configured to use SSO but is missing required configuration: {}",
            missing.join(", ")
        )));
    }
    let (start_url, region) = (get("sso_start_url").unwrap(), get("sso_region").unwrap());
    let (account, role) = (
        get("sso_account_id").unwrap(),
        get("sso_role_name").unwrap(),
    );
    let now = now_secs();
    let cache = role_cache_path(s.env, &start_url, session.as_deref(), &account, &role);
    if let Some(c) = creds::read_cache(&cache, now, "sso") {
        s.debug(|| "kagi: [DEBUG] Credentials for role retrieved from cache.".into());
        return Ok(Some(c));
    }
    let token = match &session {
        Some(name) => session_token(s, name, &start_url, &region, now)?,
        None => {
            let t = load_token(s.env, &start_url, None)?;
            let exp = field(&t, "expiresAt")
                .and_then(creds::parse_expiration)
                .unwrap_or(0);
            if exp - now <= 0 {
                return Err(CliError::General(UNAUTHORIZED.into()));
            }
            field(&t, "accessToken").unwrap_or_default().to_string()
        }
    };
    let out = call(
        s,
        "sso",
        &region,
        "GetRoleCredentials",
        json!({"roleName": role, "accountId": account, "accessToken": token}),
    )
    .map_err(|e| match service_code(&e) {
        Some("UnauthorizedException") => CliError::General(UNAUTHORIZED.into()),
        _ => e,
    })?;
    let rc = out.get("roleCredentials").cloned().unwrap_or_default();
    let get_rc = |k: &str| field(&rc, k).unwrap_or_default().to_string();
    let exp_secs = rc.get("expiration").and_then(Value::as_i64).unwrap_or(0) / 1000;
    let entry = json!({
        "ProviderType": "sso",
        "Credentials": {
            "AccessKeyId": get_rc("accessKeyId"),
            "SecretAccessKey": get_rc("secretAccessKey"),
            "SessionToken": get_rc("sessionToken"),
            "Expiration": utc_z(exp_secs),
            "AccountId": account,
        }
    });
    if let Err(e) = write_json(&cache, &entry) {
        s.debug(|| format!("kagi: [DEBUG] could not write the credential cache: {e:?}"));
    }
    Ok(Some(Creds {
        access_key_id: get_rc("accessKeyId"),
        secret_access_key: get_rc("secretAccessKey"),
        session_token: Some(get_rc("sessionToken")),
        expiration: Some(
            kagi_api::time::Timestamp {
                secs: exp_secs,
                micros: 0,
            }
            .to_value_string(),
        ),
        account_id: Some(account),
        method: "sso",
    }))
}

/// `SSOTokenLoader.__call__`.
fn load_token(env: &Env, start_url: &str, session: Option<&str>) -> Result<Value, CliError> {
    let path = token_path(env, start_url, session);
    let Some(t) = (if path.is_file() {
        read_json(&path)
    } else {
        None
    }) else {
        return Err(CliError::General(format!(
            "Error loading SSO Token: Token for {} does not exist",
            session.unwrap_or(start_url)
        )));
    };
    if t.get("accessToken").is_none() || t.get("expiresAt").is_none() {
        return Err(CliError::General(format!(
            "Error loading SSO Token: Token for {start_url} is invalid"
        )));
    }
    Ok(t)
}

/// `SSOTokenProvider`: the cached token of a session, refreshed (and written back) when less
/// than 15 minutes remain; an error when it has expired and could not be refreshed.
fn session_token(
    s: &Session,
    name: &str,
    start_url: &str,
    region: &str,
    now: i64,
) -> Result<String, CliError> {
    let mut t = load_token(s.env, start_url, Some(name))?;
    let mut exp = field(&t, "expiresAt")
        .and_then(creds::parse_expiration)
        .unwrap_or(0);
    if exp - now < EXPIRY_WINDOW
        && let Some(new) = refresh(s, &t, start_url, region, now)
    {
        exp = field(&new, "expiresAt")
            .and_then(creds::parse_expiration)
            .unwrap_or(0);
        write_json(&token_path(s.env, start_url, Some(name)), &new)?;
        t = new;
    }
    if exp - now <= 0 {
        return Err(CliError::General(
            "Error when retrieving token from sso: Token has expired and refresh failed".into(),
        ));
    }
    Ok(field(&t, "accessToken").unwrap_or_default().to_string())
}

/// `_refresh_access_token`: `None` when the token cannot be refreshed.
fn refresh(s: &Session, t: &Value, start_url: &str, region: &str, now: i64) -> Option<Value> {
    let refresh_token = field(t, "refreshToken")?;
    let (client_id, client_secret) = (field(t, "clientId")?, field(t, "clientSecret")?);
    let reg_expires = field(t, "registrationExpiresAt")?;
    if creds::parse_expiration(reg_expires)? - now <= 0 {
        return None;
    }
    let out = match call(
        s,
        "sso-oidc",
        region,
        "CreateToken",
        json!({
            "grantType": "refresh_token",
            "clientId": client_id,
            "clientSecret": client_secret,
            "refreshToken": refresh_token,
        }),
    ) {
        Ok(o) => o,
        Err(e) => {
            s.debug(|| {
                format!(
                    "kagi: [DEBUG] SSO token refresh attempt failed: {}",
                    e.message()
                )
            });
            return None;
        }
    };
    let reg = json!({"clientId": client_id, "clientSecret": client_secret});
    Some(token_entry(start_url, region, &reg, &out, reg_expires))
}

// ---------------------------------------------------------------- configure sso

struct Prompter<'a, 'b> {
    io: &'a mut Io<'b>,
}

impl Prompter<'_, '_> {
    /// `PTKPrompt.get_value`: `TEXT [CURRENT]: ` (or `fmt`), the answer stripped, Enter keeps
    /// the current value; `validate` is asked again until it passes.
    fn get(
        &mut self,
        current: Option<&str>,
        text: &str,
        fmt: Option<&str>,
        validate: &dyn Fn(&str, Option<&str>) -> Option<&'static str>,
    ) -> Result<Option<String>, CliError> {
        loop {
            match fmt {
                Some(f) => write!(self.io.stdout, "{f}")?,
                None => write!(self.io.stdout, "{text} [{}]: ", current.unwrap_or("None"))?,
            }
            self.io.stdout.flush()?;
            let mut line = String::new();
            if self.io.stdin.read_line(&mut line)? == 0 {
                writeln!(self.io.stdout)?;
                return Err(CliError::General(String::new()));
            }
            let v = line.trim();
            if let Some(msg) = validate(v, current) {
                writeln!(self.io.stdout, "{msg}")?;
                continue;
            }
            return Ok(if v.is_empty() {
                current.map(str::to_string)
            } else {
                Some(v.to_string())
            });
        }
    }

    /// A choice among `items` (prompt_toolkit's menu in the official CLI): the list, then a
    /// number or a value; Enter picks the first.
    fn select(&mut self, items: &[String], values: &[String]) -> Result<usize, CliError> {
        for (i, it) in items.iter().enumerate() {
            writeln!(self.io.stdout, "  {}) {it}", i + 1)?;
        }
        loop {
            write!(self.io.stdout, "Choose [1-{}]: ", items.len())?;
            self.io.stdout.flush()?;
            let mut line = String::new();
            if self.io.stdin.read_line(&mut line)? == 0 {
                writeln!(self.io.stdout)?;
                return Err(CliError::General(String::new()));
            }
            let v = line.trim();
            if v.is_empty() {
                return Ok(0);
            }
            if let Ok(n) = v.parse::<usize>()
                && (1..=items.len()).contains(&n)
            {
                return Ok(n - 1);
            }
            if let Some(i) = values.iter().position(|x| x == v) {
                return Ok(i);
            }
        }
    }
}

fn no_check(_: &str, _: Option<&str>) -> Option<&'static str> {
    None
}

fn required(v: &str, current: Option<&str>) -> Option<&'static str> {
    (v.is_empty() && current.is_none()).then_some("A value is required")
}

fn start_url_check(v: &str, current: Option<&str>) -> Option<&'static str> {
    if v.is_empty() && current.is_some() {
        return None;
    }
    let ok = (v.starts_with("https://") || v.starts_with("http://"))
        && v.split("://").nth(1).is_some_and(|r| !r.is_empty());
    (!ok).then_some("Not a valid Start URL")
}

fn scopes_check(v: &str, current: Option<&str>) -> Option<&'static str> {
    if v.is_empty() && current.is_some() {
        return None;
    }
    v.split(',')
        .any(|s| s.trim().contains(char::is_whitespace))
        .then_some("Scope values must be separated by commas")
}

/// `display_account`.
fn display_account(a: &Value) -> String {
    let id = field(a, "accountId").unwrap_or_default();
    match (field(a, "accountName"), field(a, "emailAddress")) {
        (None, None) => id.to_string(),
        (Some(n), None) => format!("{n} ({id})"),
        (None, Some(e)) => format!("{e} ({id})"),
        (Some(n), Some(e)) => format!("{n}, {e} ({id})"),
    }
}

/// Every page of a portal listing.
fn list_all(
    s: &Session,
    region: &str,
    op: &str,
    mut input: Value,
    key: &str,
) -> Result<Vec<Value>, CliError> {
    let mut all = Vec::new();
    loop {
        let out = call(s, "sso", region, op, input.clone())?;
        if let Some(items) = out.get(key).and_then(Value::as_array) {
            all.extend(items.iter().cloned());
        }
        match field(&out, "nextToken") {
            Some(t) if !t.is_empty() => input["nextToken"] = t.into(),
            _ => return Ok(all),
        }
    }
}

/// `aws configure sso [--profile NAME] [--no-browser] [--use-device-code]`.
pub fn configure(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if args.len() == 1 && args[0] == "help" {
        return help_page("sso", io);
    }
    let (no_browser, device, _) = login_args(args, false)?;
    // The profile being configured (`--profile` or AWS_PROFILE), which may not exist yet; the
    // clients use none (`_unset_session_profile`).
    let choice = crate::config::choose_profile(g.profile.as_deref(), env);
    let original_profile = choice.explicit.then(|| choice.name.clone());
    let mut g = g.clone();
    g.profile = None;
    let mut env = env.clone();
    env.vars.remove("AWS_PROFILE");
    env.vars.remove("AWS_DEFAULT_PROFILE");
    let s = Session::new(&env, &g)?;
    let profile_config: Props = original_profile
        .as_deref()
        .and_then(|p| s.files.set.profile(p))
        .cloned()
        .unwrap_or_default();
    let sessions = s.files.set.sso_sessions.clone();
    let mut new_profile: Vec<(String, String)> = Vec::new();
    let mut p = Prompter { io };

    // The session name (optional: empty is the legacy form).
    let current_session = profile_config.get("sso_session").map(str::to_string);
    let fmt = if current_session.is_none() {
        Some("SSO session name (Recommended): ")
    } else {
        None
    };
    let session = p.get(
        current_session.as_deref(),
        "SSO session name",
        fmt,
        &no_check,
    )?;
    let mut session_config: Vec<(String, String)> = session
        .as_ref()
        .and_then(|n| sessions.get(n))
        .map(|props| {
            props
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let set = |cfg: &mut Vec<(String, String)>, k: &str, v: String| match cfg
        .iter_mut()
        .find(|(x, _)| x == k)
    {
        Some(e) => e.1 = v,
        None => cfg.push((k.to_string(), v)),
    };
    let lookup = |cfg: &[(String, String)], k: &str| {
        cfg.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    };
    // Only a new sso-session forces a new sign-in; otherwise a cached token is used.
    let mut force_refresh = false;
    let cfg: LoginConfig = match &session {
        None => {
            write!(
                p.io.stdout,
                "\x1b[1mWARNING: Configuring using legacy format (e.g. without an SSO session).\nConsider re-running \"configure sso\" command and providing a session name.\n\x1b[0m"
            )?;
            let cur_url = profile_config.get("sso_start_url").map(str::to_string);
            let url = p
                .get(cur_url.as_deref(), "SSO start URL", None, &start_url_check)?
                .unwrap_or_default();
            set(&mut new_profile, "sso_start_url", url.clone());
            let cur_region = profile_config.get("sso_region").map(str::to_string);
            let region = p
                .get(cur_region.as_deref(), "SSO region", None, &required)?
                .unwrap_or_default();
            set(&mut new_profile, "sso_region", region.clone());
            LoginConfig {
                session_name: None,
                start_url: url,
                region,
                scopes: None,
            }
        }
        Some(name) => {
            set(&mut new_profile, "sso_session", name.clone());
            if sessions.contains_key(name) {
                let empty = Props::default();
                login_config(&s.files, &empty, Some(name))?
            } else {
                if let Some(u) = profile_config.get("sso_start_url") {
                    set(&mut session_config, "sso_start_url", u.to_string());
                }
                if let Some(r) = profile_config.get("sso_region") {
                    set(&mut session_config, "sso_region", r.to_string());
                }
                let url = p
                    .get(
                        lookup(&session_config, "sso_start_url").as_deref(),
                        "SSO start URL",
                        None,
                        &start_url_check,
                    )?
                    .unwrap_or_default();
                set(&mut session_config, "sso_start_url", url.clone());
                let region = p
                    .get(
                        lookup(&session_config, "sso_region").as_deref(),
                        "SSO region",
                        None,
                        &required,
                    )?
                    .unwrap_or_default();
                set(&mut session_config, "sso_region", region.clone());
                if lookup(&session_config, "sso_registration_scopes").is_none() {
                    set(
                        &mut session_config,
                        "sso_registration_scopes",
                        DEFAULT_SCOPE.into(),
                    );
                }
                let raw = p
                    .get(
                        lookup(&session_config, "sso_registration_scopes").as_deref(),
                        "SSO registration scopes",
                        None,
                        &scopes_check,
                    )?
                    .unwrap_or_default();
                if !raw.is_empty() {
                    set(&mut session_config, "sso_registration_scopes", raw.clone());
                }
                force_refresh = true;
                LoginConfig {
                    session_name: Some(name.clone()),
                    start_url: url,
                    region,
                    scopes: Some(parse_scopes(&raw)),
                }
            }
        }
    };
    let token = do_login(&s, p.io, &cfg, no_browser, device, force_refresh)?;
    let access_token = field(&token, "accessToken").unwrap_or_default().to_string();

    // The account and the role.
    let mut account = None;
    let mut role = None;
    let picked: Result<(), CliError> = (|| {
        let mut accounts = list_all(
            &s,
            &cfg.region,
            "ListAccounts",
            json!({"accessToken": access_token}),
            "accountList",
        )?;
        if accounts.is_empty() {
            return Err(CliError::General(
                "No AWS accounts are available to you.".into(),
            ));
        }
        let id = if accounts.len() == 1 {
            let id = field(&accounts[0], "accountId")
                .unwrap_or_default()
                .to_string();
            writeln!(
                p.io.stdout,
                "The only AWS account available to you is: {id}"
            )?;
            id
        } else {
            writeln!(
                p.io.stdout,
                "There are {} AWS accounts available to you.",
                accounts.len()
            )?;
            let key = |a: &Value| {
                let only_id = a.get("accountName").is_none() && a.get("emailAddress").is_none();
                let v = ["accountName", "emailAddress", "accountId"]
                    .iter()
                    .find_map(|k| field(a, k))
                    .unwrap_or_default()
                    .to_lowercase();
                (only_id, v)
            };
            accounts.sort_by_key(key);
            let shown: Vec<String> = accounts.iter().map(display_account).collect();
            let ids: Vec<String> = accounts
                .iter()
                .map(|a| field(a, "accountId").unwrap_or_default().to_string())
                .collect();
            let i = p.select(&shown, &ids)?;
            ids[i].clone()
        };
        writeln!(p.io.stdout, "Using the account ID {id}")?;
        account = Some(id.clone());
        let mut roles: Vec<String> = list_all(
            &s,
            &cfg.region,
            "ListAccountRoles",
            json!({"accessToken": access_token, "accountId": id}),
            "roleList",
        )?
        .iter()
        .filter_map(|r| field(r, "roleName").map(str::to_string))
        .collect();
        if roles.is_empty() {
            return Err(CliError::General(format!(
                "No roles are available for the account {id}"
            )));
        }
        let name = if roles.len() == 1 {
            writeln!(
                p.io.stdout,
                "The only role available to you is: {}",
                roles[0]
            )?;
            roles[0].clone()
        } else {
            writeln!(
                p.io.stdout,
                "There are {} roles available to you.",
                roles.len()
            )?;
            roles.sort_by_key(|r| r.to_lowercase());
            let i = p.select(&roles, &roles)?;
            roles[i].clone()
        };
        writeln!(p.io.stdout, "Using the role name \"{name}\"")?;
        role = Some(name);
        Ok(())
    })();
    match picked {
        Ok(()) => {}
        Err(CliError::Service { code, .. }) if code == "UnauthorizedException" => {
            writeln!(
                p.io.stdout,
                "Unable to list AWS accounts and/or roles. Skipping configuring AWS credential provider for profile."
            )?;
        }
        Err(e) => return Err(e),
    }
    if let Some(a) = &account {
        set(&mut new_profile, "sso_account_id", a.clone());
    }
    if let Some(r) = &role {
        set(&mut new_profile, "sso_role_name", r.clone());
    }
    let region = p.get(
        profile_config.get("region"),
        "Default client Region",
        None,
        &no_check,
    )?;
    if let Some(r) = region.filter(|r| !r.is_empty()) {
        set(&mut new_profile, "region", r);
    }
    let output = p.get(
        profile_config.get("output"),
        "CLI default output format (json if not specified)",
        None,
        &no_check,
    )?;
    if let Some(o) = output.filter(|o| !o.is_empty()) {
        set(&mut new_profile, "output", o);
    }
    let profile_name = match &original_profile {
        Some(n) => n.clone(),
        None => {
            let default = match (&account, &role) {
                (Some(a), Some(r)) => Some(format!("{r}-{a}")),
                _ => None,
            };
            p.get(default.as_deref(), "Profile name", None, &required)?
                .unwrap_or_default()
        }
    };
    let config_path = s.files.config_path.clone();
    let edits = |vals: &[(String, String)]| -> Vec<(String, EditValue)> {
        vals.iter()
            .map(|(k, v)| (k.clone(), EditValue::Set(v.clone())))
            .collect()
    };
    if !new_profile.is_empty() {
        crate::configure::update_file(
            &config_path,
            &crate::configure::profile_section(&profile_name),
            &edits(&new_profile),
        )?;
    }
    if let Some(name) = &session
        && !session_config.is_empty()
    {
        crate::configure::update_file(
            &config_path,
            &format!("sso-session {name}"),
            &edits(&session_config),
        )?;
    }
    let msg = if account.is_some() && role.is_some() {
        if profile_name.eq_ignore_ascii_case("default") {
            "The AWS CLI is now configured to use the default profile.\nRun the following command to verify your configuration:\n\naws sts get-caller-identity\n".to_string()
        } else {
            format!(
                "To use this profile, specify the profile name using --profile, as shown:\n\naws sts get-caller-identity --profile {profile_name}\n"
            )
        }
    } else {
        format!("Successfully configured SSO for profile: {profile_name}\n")
    };
    write!(p.io.stdout, "{msg}")?;
    Ok(())
}

/// `aws configure sso-session`: the session's name, start URL, region and scopes, written to
/// `[sso-session NAME]`.
pub fn configure_session(
    _g: &Globals,
    args: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    if args.len() == 1 && args[0] == "help" {
        return help_page("sso-session", io);
    }
    if !args.is_empty() {
        return Err(CliError::UnknownArgs(args.to_vec()));
    }
    let files = Files::load(env)?;
    let mut p = Prompter { io };
    let name = p
        .get(
            None,
            "SSO session name",
            Some("SSO session name: "),
            &required,
        )?
        .unwrap_or_default();
    let mut cfg: Vec<(String, String)> = files
        .set
        .sso_sessions
        .get(&name)
        .map(|props| props.0.clone())
        .unwrap_or_default();
    let lookup = |cfg: &[(String, String)], k: &str| {
        cfg.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    };
    let set = |cfg: &mut Vec<(String, String)>, k: &str, v: String| match cfg
        .iter_mut()
        .find(|(x, _)| x == k)
    {
        Some(e) => e.1 = v,
        None => cfg.push((k.to_string(), v)),
    };
    for (key, text, check) in [
        (
            "sso_start_url",
            "SSO start URL",
            &start_url_check as &dyn Fn(&str, Option<&str>) -> Option<&'static str>,
        ),
        ("sso_region", "SSO region", &required),
    ] {
        if let Some(v) = p.get(lookup(&cfg, key).as_deref(), text, None, check)?
            && !v.is_empty()
        {
            set(&mut cfg, key, v);
        }
    }
    if lookup(&cfg, "sso_registration_scopes").is_none() {
        set(&mut cfg, "sso_registration_scopes", DEFAULT_SCOPE.into());
    }
    if let Some(v) = p.get(
        lookup(&cfg, "sso_registration_scopes").as_deref(),
        "SSO registration scopes",
        None,
        &scopes_check,
    )? && !v.is_empty()
    {
        set(&mut cfg, "sso_registration_scopes", v);
    }
    let edits: Vec<(String, EditValue)> = cfg
        .iter()
        .map(|(k, v)| (k.clone(), EditValue::Set(v.clone())))
        .collect();
    crate::configure::update_file(&files.config_path, &format!("sso-session {name}"), &edits)?;
    write!(
        p.io.stdout,
        "\nCompleted configuring SSO session: {name}\nRun the following to login and refresh access token for this session:\n\naws sso login --sso-session {name}\n"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_are_botocores() {
        assert_eq!(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let env = Env {
            vars: Default::default(),
            home: PathBuf::from("/h"),
            stdin_tty: false,
            stdout_tty: false,
        };
        // json.dumps({"accountId": "123456789012", "roleName": "R", "sessionName": "s"},
        //            sort_keys=True, separators=(",", ":"))
        let p = role_cache_path(&env, "u", Some("s"), "123456789012", "R");
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            format!(
                "{}.json",
                sha1_hex(r#"{"accountId":"123456789012","roleName":"R","sessionName":"s"}"#)
            )
        );
        let r = registration_path(&env, "https://x/start", "us-east-1", None, Some("s"));
        assert_eq!(
            r.file_name().unwrap().to_str().unwrap(),
            format!(
                "{}.json",
                sha1_hex(
                    r#"{"region": "us-east-1", "scopes": null, "session_name": "s", "startUrl": "https://x/start", "tool": "botocore"}"#
                )
            )
        );
    }

    #[test]
    fn pkce_pieces() {
        let v = random_verifier();
        assert_eq!(v.len(), 64);
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(pct("sso:account:access x"), "sso%3Aaccount%3Aaccess%20x");
        assert_eq!(unpct("a%20b+c%3D"), "a b c=");
        assert_eq!(utc_z(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_scopes(" a, ,b "), vec!["a", "b"]);
    }
}
