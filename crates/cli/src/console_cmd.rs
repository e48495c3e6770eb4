//! `kagi console [--destination D] [--issuer I] [--session-duration N] [--open]`: a console
//! sign-in URL for the invocation's credentials, through AWS's sign-in federation protocol
//! (the "custom identity broker" flow of the IAM User Guide):
//!
//! 1. Credentials come from the normal chain ([`crate::creds::resolve`]), so `--profile` of a
//!    role profile assumes the role (or reuses the AWS CLI's cache). The federation endpoint
//!    accepts only session credentials, so an IAM user's long-term access keys are first
//!    exchanged, as aws-vault does, for a federated user session: STS `GetCallerIdentity`
//!    (who is this?), then `GetFederationToken` with `Name` = the user name (or
//!    [`FEDERATED_NAME`] when the name does not fit STS's 2–32 `[\w+=,.@-]` rule) and the
//!    session policy [`FEDERATION_POLICY`], which lets the session do exactly what the user
//!    may do (a session's permissions are the intersection of the user's and the session
//!    policy's). The user needs `sts:GetFederationToken`; without it STS's AccessDenied is the
//!    answer (exit 254). The account root's long-term keys stop here with exit 253: the root
//!    signs in to the console with its password. STS is reached through `--endpoint-url` when
//!    that names a bare origin (kagi serves STS and the federation endpoint on one port), else
//!    STS's configured or default endpoint.
//! 2. `GET <federation>?Action=getSigninToken&Session=<JSON sessionId/sessionKey/sessionToken>`
//!    [`&SessionDuration=N`] → `{"SigninToken": "…"}`.
//! 3. The login URL, `<federation>?Action=login&Issuer=…&Destination=…&SigninToken=…`, is
//!    printed as one line on stdout (or handed to `$BROWSER` / the platform opener with
//!    `--open`). The token works once, within 15 minutes.
//!
//! The federation endpoint: `--endpoint-url`, else the configured endpoint of the `Signin`
//! service id (`AWS_ENDPOINT_URL_SIGNIN`, `AWS_ENDPOINT_URL`, a `services` section's `signin`,
//! the profile's `endpoint_url`), with `/federation` appended to a bare origin; by default AWS's
//! `https://signin.aws.amazon.com/federation`. The default destination is that endpoint's
//! console: `https://console.aws.amazon.com/` for AWS, `<origin>/console/` for kagi.
//!
//! Secrets: the secret key and session token travel only in the getSigninToken request (as the
//! protocol wants); the `--debug` trace names the endpoint and the access key id, never the
//! request URL, and errors never include it.

use std::io::Read as _;

use serde_json::{Value, json};

use crate::calls::flush_debug;
use crate::config::{self, Env};
use crate::creds::{self, Creds};
use crate::http::Session;
use crate::{CliError, Globals, Io};

/// AWS's global sign-in federation endpoint.
pub const AWS_FEDERATION: &str = "https://signin.aws.amazon.com/federation";
/// The console AWS's endpoint lands on by default.
pub const AWS_CONSOLE: &str = "https://console.aws.amazon.com/";
/// The `Issuer` when none is given (shown by AWS on the sign-out page's link back).
pub const DEFAULT_ISSUER: &str = "kagi";
/// GetFederationToken's `Name` when the IAM user name is not a valid federated user name.
pub const FEDERATED_NAME: &str = "kagi-console";
/// The session policy of the federated session made from long-term keys: everything, so the
/// session has exactly the federating user's permissions.
pub const FEDERATION_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

const USAGE: &str = "usage: kagi console [--profile P] [--endpoint-url URL] [--destination URL_OR_PATH]\n                    [--issuer URL] [--session-duration SECONDS] [--open]\n";

const HELP: &str = "kagi console

Prints a console sign-in URL for the credentials of the profile (AWS's sign-in federation:
getSigninToken, then a login URL), so that `kagi console --profile ECRLoginAndPushRoleProfile`
opens the console as that role session. An IAM user's long-term keys are first exchanged for a
federated user session with the user's permissions (STS GetFederationToken: the user needs
sts:GetFederationToken); the account root's keys are refused. The URL works once, within 15
minutes.

Options:
  --destination URL_OR_PATH  where to land (default: the console of the endpoint)
  --issuer URL               the Issuer parameter of the login URL (default: kagi)
  --session-duration SECONDS 900..43200; honoured for federation-token sessions only
  --open                     open the URL with $BROWSER (or xdg-open / open) instead of printing it

The endpoint: --endpoint-url, AWS_ENDPOINT_URL_SIGNIN, AWS_ENDPOINT_URL, the profile's
endpoint_url (`/federation` is appended to a bare origin); default
https://signin.aws.amazon.com/federation.
";

/// The command's own options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub destination: Option<String>,
    pub issuer: Option<String>,
    pub session_duration: Option<u32>,
    pub open: bool,
}

pub fn parse_options(args: &[String]) -> Result<Options, CliError> {
    let mut o = Options::default();
    let mut i = 0;
    let mut unknown = Vec::new();
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Result<String, CliError> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("argument {name}: expected one argument")))
        };
        match name {
            "--destination" => o.destination = Some(value()?),
            "--issuer" => o.issuer = Some(value()?),
            "--session-duration" => {
                let v = value()?;
                let n = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (900..=43200).contains(n))
                    .ok_or_else(|| {
                        CliError::BadParam(format!(
                            "--session-duration must be a number of seconds from 900 to 43200, not '{v}'"
                        ))
                    })?;
                o.session_duration = Some(n);
            }
            "--open" if inline.is_none() => o.open = true,
            _ => unknown.push(a.clone()),
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(CliError::UnknownArgs(unknown));
    }
    Ok(o)
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
fn enc(s: &str) -> String {
    kagi_sigv4::canonical::uri_encode(s.as_bytes(), false)
}

/// The federation URL for a configured endpoint: a bare origin (or `…/`) gets `/federation`;
/// a URL with a path is taken as the federation endpoint itself.
pub fn federation_url(configured: &str) -> String {
    let trimmed = configured.trim().trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, r)| r);
    if after_scheme.contains('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/federation")
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            &url[..scheme.len() + 3 + end]
        }
        None => url,
    }
}

/// Where the login lands when `--destination` is not given.
pub fn default_destination(federation: &str) -> String {
    if federation == AWS_FEDERATION {
        AWS_CONSOLE.to_string()
    } else {
        format!("{}/console/", origin(federation))
    }
}

/// The `Session` parameter of getSigninToken: the temporary credentials as AWS's JSON.
fn session_json(c: &Creds, token: &str) -> String {
    json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key,
        "sessionToken": token,
    })
    .to_string()
}

/// The getSigninToken request URL (holds the secret: never printed or logged).
pub fn signin_token_url(federation: &str, session: &str, duration: Option<u32>) -> String {
    let mut u = format!("{federation}?Action=getSigninToken");
    if let Some(d) = duration {
        u.push_str(&format!("&SessionDuration={d}"));
    }
    u.push_str("&Session=");
    u.push_str(&enc(session));
    u
}

/// The login URL that signs the browser in.
pub fn login_url(federation: &str, issuer: &str, destination: &str, token: &str) -> String {
    format!(
        "{federation}?Action=login&Issuer={}&Destination={}&SigninToken={}",
        enc(issuer),
        enc(destination),
        enc(token)
    )
}

/// The sign-in token from getSigninToken's answer, or what the endpoint said instead.
pub fn parse_signin_token(federation: &str, status: u16, body: &str) -> Result<String, CliError> {
    if status == 200
        && let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(t) = v.get("SigninToken").and_then(Value::as_str)
        && !t.is_empty()
    {
        return Ok(t.to_string());
    }
    // One short line of what the endpoint said (the secret is in the request, not the answer).
    let said: String = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    };
    Err(CliError::General(if status == 200 {
        format!("The sign-in federation endpoint {federation} answered without a SigninToken{said}")
    } else {
        format!(
            "The sign-in federation endpoint {federation} refused to issue a sign-in token (HTTP {status}){said}"
        )
    }))
}

fn root_message(profile: &str, c: &Creds) -> String {
    format!(
        "kagi console cannot sign in with the account root's access keys (profile \"{profile}\", {}, {}): the root signs in to the console with its password. Use an IAM user's keys, a role profile (role_arn + source_profile, e.g. --profile ECRLoginAndPushRoleProfile) or credentials with a session token.",
        c.method, c.access_key_id
    )
}

/// GetFederationToken's `Name` for the IAM user `arn` (`arn:aws:iam::A:user/path/name`).
pub fn federated_name(arn: &str) -> String {
    let name = arn
        .split_once(":user/")
        .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest))
        .unwrap_or("");
    let fits = (2..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if fits {
        name.to_string()
    } else {
        FEDERATED_NAME.to_string()
    }
}

/// Exchanges long-term keys for a federated user session (see the module docs).
fn federate(s: &Session, c: &Creds, opts: &Options) -> Result<Creds, CliError> {
    let sts =
        kagi_api::service("sts").ok_or_else(|| CliError::General("sts model missing".into()))?;
    let op = |name: &str| {
        sts.operation(name)
            .ok_or_else(|| CliError::General(format!("{name} missing from the model")))
    };
    let bare_origin =
        s.g.endpoint_url
            .as_deref()
            .is_some_and(|u| federation_url(u) != u.trim().trim_end_matches('/'));
    let region = s.region()?;
    let ep = s.endpoint(sts, region.as_deref(), bare_origin)?;
    let signing = c.to_sigv4();
    let me = s.call(op("GetCallerIdentity")?, &ep, Some(&signing), &json!({}))?;
    let arn = me.get("Arn").and_then(Value::as_str).unwrap_or_default();
    if arn.ends_with(":root") {
        return Err(CliError::Config(root_message(&s.choice.name, c)));
    }
    let name = federated_name(arn);
    let mut input = json!({"Name": name, "Policy": FEDERATION_POLICY});
    if let Some(d) = opts.session_duration {
        input["DurationSeconds"] = json!(d);
    }
    let out = s.call(op("GetFederationToken")?, &ep, Some(&signing), &input)?;
    let fc = out.get("Credentials").cloned().unwrap_or(Value::Null);
    let get = |k: &str| fc.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(akid), Some(secret), Some(token)) = (
        get("AccessKeyId"),
        get("SecretAccessKey"),
        get("SessionToken"),
    ) else {
        return Err(CliError::General(
            "GetFederationToken returned no credentials".into(),
        ));
    };
    s.debug(|| {
        format!(
            "kagi: [DEBUG] {arn} federated as {} ({akid})",
            out.pointer("/FederatedUser/Arn")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )
    });
    Ok(Creds {
        access_key_id: akid,
        secret_access_key: secret,
        session_token: Some(token),
        expiration: get("Expiration"),
        account_id: c.account_id.clone(),
        method: "federation-token",
    })
}

/// Hands the URL to `$BROWSER` (a command; `%s` is replaced by the URL, else it is appended)
/// or to the platform's opener.
fn open_url(env: &Env, url: &str) -> Result<(), CliError> {
    let mut cmd = match env.var("BROWSER") {
        Some(b) => {
            let first = b.split(':').next().unwrap_or(b);
            let mut words = creds::shell_split(first)
                .map_err(|e| CliError::General(format!("Cannot parse BROWSER: {e}")))?;
            if words.is_empty() {
                return Err(CliError::General("BROWSER is empty".into()));
            }
            let had_placeholder = words.iter().any(|w| w.contains("%s"));
            for w in &mut words {
                *w = w.replace("%s", url);
            }
            if !had_placeholder {
                words.push(url.to_string());
            }
            let mut c = std::process::Command::new(&words[0]);
            c.args(&words[1..]);
            c
        }
        None => {
            let opener = if cfg!(target_os = "macos") {
                "open"
            } else {
                "xdg-open"
            };
            let mut c = std::process::Command::new(opener);
            c.arg(url);
            c
        }
    };
    let status = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| CliError::General(format!("Could not start a browser: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::General(format!(
            "The browser command exited with {status}"
        )))
    }
}

pub fn run(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if matches!(args.first().map(String::as_str), Some("help" | "--help")) {
        io.stdout.write_all(HELP.as_bytes())?;
        return Ok(());
    }
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e @ CliError::UnknownArgs(_)) => {
            writeln!(io.stderr, "{USAGE}kagi console: error: {}", e.message())?;
            return Err(CliError::Silent(e.exit_code()));
        }
        Err(e) => return Err(e),
    };
    let s = Session::new(env, g)?;
    let result = (|| {
        let mut c = creds::resolve(&s, io)?;
        if c.session_token.is_none() {
            c = federate(&s, &c, &opts)?;
        }
        let Some(token) = c.session_token.clone() else {
            return Err(CliError::General("no session token".into()));
        };
        let federation = config::configured_endpoint(
            g.endpoint_url.as_deref(),
            env,
            &s.files,
            s.profile()?,
            "Signin",
        )
        .map(|(u, _)| federation_url(&u))
        .unwrap_or_else(|| AWS_FEDERATION.to_string());
        let destination = opts
            .destination
            .clone()
            .unwrap_or_else(|| default_destination(&federation));
        s.debug(|| {
            format!(
                "kagi: [DEBUG] getSigninToken at {federation} for {} ({})",
                c.access_key_id, c.method
            )
        });
        let url = signin_token_url(
            &federation,
            &session_json(&c, &token),
            opts.session_duration,
        );
        let mut resp = s.agent(&url)?.get(&url).call().map_err(|_| {
            CliError::General(format!(
                "Could not connect to the endpoint URL: \"{federation}\""
            ))
        })?;
        let status = resp.status().as_u16();
        let mut body = String::new();
        let _ = resp
            .body_mut()
            .as_reader()
            .take(64 * 1024)
            .read_to_string(&mut body);
        s.debug(|| format!("kagi: [DEBUG] getSigninToken answered HTTP {status}"));
        let signin_token = parse_signin_token(&federation, status, &body)?;
        let issuer = opts.issuer.as_deref().unwrap_or(DEFAULT_ISSUER);
        let login = login_url(&federation, issuer, &destination, &signin_token);
        if opts.open {
            open_url(env, &login)
        } else {
            writeln!(io.stdout, "{login}")?;
            Ok(())
        }
    })();
    flush_debug(&s, io);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let o = parse_options(&strings(&[
            "--destination",
            "/console/roles",
            "--issuer=https://idp.example",
            "--session-duration",
            "3600",
            "--open",
        ]))
        .unwrap();
        assert_eq!(
            o,
            Options {
                destination: Some("/console/roles".into()),
                issuer: Some("https://idp.example".into()),
                session_duration: Some(3600),
                open: true,
            }
        );
        assert!(matches!(
            parse_options(&strings(&["--session-duration", "60"])),
            Err(CliError::BadParam(m)) if m.contains("900 to 43200")
        ));
        assert_eq!(
            parse_options(&strings(&["--nope", "x"])).unwrap_err(),
            CliError::UnknownArgs(strings(&["--nope", "x"]))
        );
        assert!(matches!(
            parse_options(&strings(&["--destination"])),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn federation_endpoint_and_destination() {
        assert_eq!(
            federation_url("http://127.0.0.1:4566"),
            "http://127.0.0.1:4566/federation"
        );
        assert_eq!(
            federation_url("http://127.0.0.1:4566/"),
            "http://127.0.0.1:4566/federation"
        );
        assert_eq!(
            federation_url("https://signin.example/federation"),
            "https://signin.example/federation"
        );
        assert_eq!(default_destination(AWS_FEDERATION), AWS_CONSOLE);
        assert_eq!(
            default_destination("http://127.0.0.1:4566/federation"),
            "http://127.0.0.1:4566/console/"
        );
        assert_eq!(origin("https://h:1/a?b"), "https://h:1");
        assert_eq!(origin("https://h"), "https://h");
    }

    #[test]
    fn urls_are_encoded() {
        let c = Creds {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "se/cr+et=".into(),
            session_token: Some("tok/en+=".into()),
            expiration: None,
            account_id: None,
            method: "assume-role",
        };
        let session = session_json(&c, "tok/en+=");
        let v: Value = serde_json::from_str(&session).unwrap();
        assert_eq!(v["sessionId"], "ASIAEXAMPLE");
        assert_eq!(v["sessionKey"], "se/cr+et=");
        assert_eq!(v["sessionToken"], "tok/en+=");
        let u = signin_token_url("http://h/federation", &session, Some(900));
        assert!(u.starts_with("http://h/federation?Action=getSigninToken&SessionDuration=900&Session=%7B%22sessionId%22%3A%22ASIAEXAMPLE%22"));
        assert!(u.contains("se%2Fcr%2Bet%3D"), "{u}");
        assert!(!u.contains(' ') && !u.contains('"') && !u.contains('+'));
        assert_eq!(
            login_url(
                "http://h/federation",
                "kagi",
                "http://h/console/users?x=1",
                "a-b_c"
            ),
            "http://h/federation?Action=login&Issuer=kagi&Destination=http%3A%2F%2Fh%2Fconsole%2Fusers%3Fx%3D1&SigninToken=a-b_c"
        );
    }

    #[test]
    fn signin_token_answers() {
        assert_eq!(
            parse_signin_token("F", 200, r#"{"SigninToken":"abc"}"#).unwrap(),
            "abc"
        );
        let e = parse_signin_token(
            "F",
            400,
            "The credentials are not valid\n temporary ones.\n",
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 255);
        assert_eq!(
            e.message(),
            "The sign-in federation endpoint F refused to issue a sign-in token (HTTP 400): The credentials are not valid temporary ones."
        );
        assert!(parse_signin_token("F", 200, "{}").is_err());
        assert!(parse_signin_token("F", 200, r#"{"SigninToken":""}"#).is_err());
    }

    fn sandbox(credentials: &str) -> (tempfile::TempDir, Env) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        let env = Env {
            vars: HashMap::from([(
                // Nothing may be sent: an endpoint that cannot answer.
                "AWS_ENDPOINT_URL".to_string(),
                "http://127.0.0.1:9".to_string(),
            )]),
            home: PathBuf::from(dir.path()),
            stdin_tty: false,
            stdout_tty: false,
        };
        (dir, env)
    }

    fn run_console(env: &Env, args: &[&str]) -> (i32, String, String) {
        let mut argv: Vec<std::ffi::OsString> = vec!["kagi".into(), "console".into()];
        argv.extend(args.iter().map(Into::into));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut stdin = std::io::Cursor::new(Vec::new());
        let code = crate::run(
            &argv,
            env,
            &mut Io {
                stdin: &mut stdin,
                stdout: &mut out,
                stderr: &mut err,
            },
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn long_term_keys_go_to_sts_first_and_are_not_echoed() {
        let (_dir, env) = sandbox(
            "[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\naws_secret_access_key = do-not-print-me\n",
        );
        let (code, out, err) = run_console(&env, &["--debug"]);
        assert_eq!(code, 255, "{err}");
        assert_eq!(out, "");
        // STS (GetCallerIdentity) is asked first, at the configured endpoint; it cannot answer.
        assert!(
            err.contains("Could not connect to the endpoint URL: \"http://127.0.0.1:9\""),
            "{err}"
        );
        assert!(
            err.contains("sts.GetCallerIdentity -> POST http://127.0.0.1:9"),
            "{err}"
        );
        assert!(!err.contains("getSigninToken at"), "{err}");
        assert!(!err.contains("do-not-print-me"), "{err}");
    }

    #[test]
    fn federated_names() {
        assert_eq!(
            federated_name("arn:aws:iam::123456789012:user/user-for-switch"),
            "user-for-switch"
        );
        assert_eq!(
            federated_name("arn:aws:iam::123456789012:user/dev/team/alice"),
            "alice"
        );
        // Too long, too short, or a character GetFederationToken's Name does not take.
        assert_eq!(
            federated_name(&format!(
                "arn:aws:iam::123456789012:user/{}",
                "a".repeat(33)
            )),
            FEDERATED_NAME
        );
        assert_eq!(
            federated_name("arn:aws:iam::123456789012:user/a"),
            FEDERATED_NAME
        );
        assert_eq!(
            federated_name("arn:aws:sts::1:assumed-role/R/s"),
            FEDERATED_NAME
        );
        assert_eq!(
            federated_name(&format!(
                "arn:aws:iam::123456789012:user/{}",
                "b".repeat(32)
            )),
            "b".repeat(32)
        );
    }

    #[test]
    fn unreachable_endpoint_does_not_leak_the_request() {
        let (_dir, env) = sandbox(
            "[default]\naws_access_key_id = ASIAEXAMPLEEXAMPLE12\naws_secret_access_key = do-not-print-me\naws_session_token = token-do-not-print\n",
        );
        let (code, out, err) = run_console(&env, &["--debug"]);
        assert_eq!(code, 255, "{err}");
        assert_eq!(out, "");
        assert!(
            err.contains(
                "Could not connect to the endpoint URL: \"http://127.0.0.1:9/federation\""
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "getSigninToken at http://127.0.0.1:9/federation for ASIAEXAMPLEEXAMPLE12"
            ),
            "{err}"
        );
        assert!(
            !err.contains("do-not-print-me") && !err.contains("token-do-not-print"),
            "{err}"
        );
    }

    #[test]
    fn help_and_unknown_options() {
        let (_dir, env) = sandbox("");
        let (code, out, _) = run_console(&env, &["help"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("kagi console\n"), "{out}");
        let (code, _, err) = run_console(&env, &["--bogus"]);
        assert_eq!(code, 252);
        assert!(err.contains("usage: kagi console"), "{err}");
        assert!(err.contains("Unknown options: --bogus"), "{err}");
    }
}
