//! AWS CLI v2's `codeartifact login --tool TOOL --domain D --repository R`
//! (`awscli/customizations/codeartifact/login.py`): GetAuthorizationToken (`--domain-owner`,
//! `--duration-seconds`), then GetRepositoryEndpoint (format `pypi`, `npm`, `swift` or
//! `nuget`, `--endpoint-type`), then the tool is configured as the official CLI does it:
//!
//! * `pip`: runs `pip config set global.index-url https://aws:TOKEN@HOST/PATH/simple/`;
//! * `npm`: runs `npm config set [@SCOPE:]registry ENDPOINT`, `npm config set
//!   //HOST/PATH:always-auth true` (its failure ignored) and `npm config set
//!   //HOST/PATH:_authToken TOKEN`; `--namespace` is the scope (`@` added);
//! * `twine`: writes `~/.pypirc` (0600) as configparser writes it: the `codeartifact`
//!   server added to `[distutils] index-servers` and its `[codeartifact]` section set, the
//!   file's other sections kept (its comments are not, as with the official CLI);
//! * `swift`: `machine HOST login token password TOKEN` in `~/.netrc` (0600; an entry for the
//!   host gets the new token, else the line is appended), then `swift package-registry set
//!   ENDPOINT [--scope NAMESPACE]` and `swift package-registry login ENDPOINTlogin`; on macOS
//!   no netrc, the token goes to the Keychain through `login`'s `--token`;
//! * `nuget` / `dotnet`: the sources listed (`nuget sources list -format detailed`, `dotnet
//!   nuget list source --format detailed`); the one whose URL is the repository's
//!   `v3/index.json` (else the one named `DOMAIN/REPOSITORY`) updated, or `DOMAIN/REPOSITORY`
//!   added, user `aws`, the token as password (`--store-password-in-clear-text` but on
//!   Windows); `Added source ...` / `Updated source ...` printed.
//!
//! Then `Successfully configured TOOL to use AWS CodeArtifact repository ENDPOINT` (`nuget`
//! for `dotnet` too) and `Login expires in 12 hours at 2026-12-08 03:00:00+00:00`. `--dry-run`
//! prints the commands (or the `.pypirc` it would write, the netrc line) instead: like the
//! official CLI it prints the token. A failed command's message has the token replaced by
//! `******`. The tools run with the environment kagi was given, without input.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::http::Session;
use crate::opts::{Opt, Spec};
use crate::{CliError, Env, Globals, Io};

const TOOLS: [&str; 6] = ["swift", "nuget", "dotnet", "npm", "pip", "twine"];

const SPEC: Spec = Spec::new(&[
    Opt::one("--tool").required().choices(&TOOLS),
    Opt::one("--domain").required(),
    Opt::one("--domain-owner"),
    Opt::one("--namespace"),
    Opt::int("--duration-seconds"),
    Opt::one("--repository").required(),
    Opt::one("--endpoint-type"),
    Opt::flag("--dry-run"),
]);

struct Args {
    tool: Option<String>,
    domain: Option<String>,
    domain_owner: Option<String>,
    namespace: Option<String>,
    duration: Option<i64>,
    repository: Option<String>,
    endpoint_type: Option<String>,
    dry_run: bool,
}

fn parse(args: &[String]) -> Result<Args, CliError> {
    let p = crate::opts::parse(args, &SPEC)?;
    let one = |n: &str| p.one(n).map(str::to_string);
    Ok(Args {
        tool: one("--tool"),
        domain: one("--domain"),
        domain_owner: one("--domain-owner"),
        namespace: one("--namespace"),
        duration: p.int("--duration-seconds"),
        repository: one("--repository"),
        endpoint_type: one("--endpoint-type"),
        dry_run: p.flag("--dry-run"),
    })
}

pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let args = &sub[1..];
    if args.first().is_some_and(|a| a == "help") {
        writeln!(
            io.stdout,
            "login\n\nSets up the idiomatic tool for your package format to use your CodeArtifact repository. Your login information is valid for up to 12 hours after which you must login again.\n\nSynopsis\n\n  login\n--tool <value>\n--domain <value>\n[--domain-owner <value>]\n[--namespace <value>]\n[--duration-seconds <value>]\n--repository <value>\n[--endpoint-type <value>]\n[--dry-run]"
        )?;
        return Ok(());
    }
    let a = parse(args)?;
    let tool = a.tool.clone().unwrap_or_default().to_lowercase();
    let format = match tool.as_str() {
        "pip" | "twine" => "pypi",
        "nuget" | "dotnet" => "nuget",
        other => other,
    };
    let service = kagi_api::service("codeartifact")
        .ok_or_else(|| CliError::General("CodeArtifact missing from the model".into()))?;
    let op = |name: &str| {
        service
            .operation(name)
            .ok_or_else(|| CliError::General(format!("{name} missing from the model")))
    };
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = crate::calls::prepare(&s, service, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        let mut input = Map::new();
        input.insert("domain".into(), json!(a.domain));
        if let Some(o) = &a.domain_owner {
            input.insert("domainOwner".into(), json!(o));
        }
        if let Some(d) = a.duration.filter(|d| *d != 0) {
            input.insert("durationSeconds".into(), json!(d));
        }
        let input = Value::Object(input);
        crate::calls::validate_input(op("GetAuthorizationToken")?, &input)?;
        let token_res = s.call(op("GetAuthorizationToken")?, &ep, sig.as_ref(), &input)?;
        let mut input = Map::new();
        input.insert("domain".into(), json!(a.domain));
        input.insert("repository".into(), json!(a.repository));
        input.insert("format".into(), json!(format));
        if let Some(t) = &a.endpoint_type {
            input.insert("endpointType".into(), json!(t));
        }
        if let Some(o) = &a.domain_owner {
            input.insert("domainOwner".into(), json!(o));
        }
        let input = Value::Object(input);
        crate::calls::validate_input(op("GetRepositoryEndpoint")?, &input)?;
        let endpoint_res = s.call(op("GetRepositoryEndpoint")?, &ep, sig.as_ref(), &input)?;
        let endpoint = endpoint_res["repositoryEndpoint"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !matches!(tool.as_str(), "npm" | "swift") && a.namespace.is_some() {
            return Err(CliError::General(format!(
                "Argument --namespace is not supported for {tool}"
            )));
        }
        let token = token_res["authorizationToken"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let expiration = kagi_api::time::parse_any(&match &token_res["expiration"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .or_else(|| {
            token_res["expiration"]
                .as_f64()
                .and_then(kagi_api::time::Timestamp::from_epoch_f64)
        });
        let login = Login {
            tool: &tool,
            token: &token,
            endpoint: &endpoint,
            expiration,
        };
        match tool.as_str() {
            "twine" => {
                let path = env.home.join(".pypirc");
                let existing = std::fs::read_to_string(&path).ok();
                let text = match pypirc(existing.as_deref(), &endpoint, &token) {
                    Ok(t) => t,
                    Err(e) => {
                        writeln!(io.stdout, "{} is in an invalid state.", path.display())?;
                        return Err(CliError::General(e));
                    }
                };
                if a.dry_run {
                    write!(
                        io.stdout,
                        "Dryrun mode is enabled, not writing to pypirc.\n{} would have been set to the following:\n\n{text}\n",
                        path.display()
                    )?;
                    return Ok(());
                }
                write_private(&path, &text)?;
                login.success(&tool, io)
            }
            "pip" => login.run(&pip_commands(&endpoint, &token), a.dry_run, env, io),
            "swift" => {
                let scope = swift_scope(a.namespace.as_deref())?;
                let macos = cfg!(target_os = "macos");
                // The token goes into ~/.netrc, except on macOS (the Keychain, through
                // `--token`).
                if !macos {
                    let entry = format!(
                        "machine {} login token password {token}",
                        hostname(&endpoint)
                    );
                    let netrc = env.home.join(".netrc");
                    if a.dry_run {
                        write!(
                            io.stdout,
                            "Dryrun mode is enabled, not writing to netrc.\nThe following line would have been written to {}:\n\n{entry}\n\nAnd would have run the following commands:\n\n",
                            netrc.display()
                        )?;
                    } else {
                        update_netrc(&netrc, &hostname(&endpoint), &entry, &token)?;
                    }
                }
                let commands = swift_commands(&endpoint, &token, scope.as_deref(), macos);
                login.run(&commands, a.dry_run, env, io)
            }
            "nuget" | "dotnet" => nuget_login(
                &login,
                a.domain.as_deref().unwrap_or_default(),
                a.repository.as_deref().unwrap_or_default(),
                a.dry_run,
                env,
                io,
            ),
            _ => {
                let scope = npm_scope(a.namespace.as_deref())?;
                if !a.dry_run {
                    // The token goes into the npmrc file (0600), never on a command line, as the
                    // official CLI writes it (awscli 1.46's NpmLogin).
                    let (_, netloc, path) = split(&endpoint);
                    let key = format!("//{netloc}{path}:_authToken");
                    let npmrc = match env
                        .vars
                        .get("NPM_CONFIG_USERCONFIG")
                        .filter(|v| !v.is_empty())
                    {
                        Some(custom) => env.expand(custom),
                        None => env.home.join(".npmrc"),
                    };
                    write_npmrc_value(&npmrc, &key, &token)?;
                }
                login.run(
                    &npm_commands(&endpoint, scope.as_deref()),
                    a.dry_run,
                    env,
                    io,
                )
            }
        }
    })();
    crate::calls::flush_debug(&s, io);
    result
}

struct Login<'a> {
    tool: &'a str,
    token: &'a str,
    endpoint: &'a str,
    expiration: Option<kagi_api::time::Timestamp>,
}

impl Login<'_> {
    /// `_run_commands`: printed (`--dry-run`), or run with their output captured.
    fn run(
        &self,
        commands: &[Vec<String>],
        dry_run: bool,
        env: &Env,
        io: &mut Io,
    ) -> Result<(), CliError> {
        if dry_run {
            for c in commands {
                write!(io.stdout, "{}\n\n", c.join(" "))?;
            }
            return Ok(());
        }
        for c in commands {
            let ignore_errors = c.iter().any(|a| a.contains("always-auth"));
            match self.command(c, env) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(not_found(self.tool));
                }
                Err(e) => return Err(CliError::from(e)),
                Ok(o) if !o.status.success() && !ignore_errors => {
                    return Err(self.failed(c, &o));
                }
                Ok(_) => {}
            }
        }
        self.success(self.tool, io)
    }

    /// `subprocess.run(command, capture_output=True)`: the environment kagi was given (`PATH`
    /// and `HOME` included), no input.
    fn command(&self, c: &[String], env: &Env) -> std::io::Result<std::process::Output> {
        std::process::Command::new(&c[0])
            .args(&c[1..])
            .envs(&env.vars)
            .stdin(std::process::Stdio::null())
            .output()
    }

    /// `CommandFailedError`: the `CalledProcessError` with the token masked, then the
    /// command's stderr.
    fn failed(&self, c: &[String], o: &std::process::Output) -> CliError {
        let mut msg = called_process_error(c, o).replace(self.token, "******");
        msg.push_str(&format!(
            " Stderr from command:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ));
        CliError::General(msg)
    }

    fn success(&self, tool: &str, io: &mut Io) -> Result<(), CliError> {
        let now = kagi_api::time::Timestamp::from_system_time(std::time::SystemTime::now());
        let (remaining, at) = match self.expiration {
            Some(e) => (
                relative_expiration(e.secs - now.secs + 30),
                python_datetime(e),
            ),
            None => (String::new(), "None".into()),
        };
        write!(
            io.stdout,
            "Successfully configured {tool} to use AWS CodeArtifact repository {} \nLogin expires in {remaining} at {at}\n",
            self.endpoint
        )?;
        Ok(())
    }
}

/// `str()` of an aware UTC datetime: `2026-12-08 03:00:00[.ffffff]+00:00`.
fn python_datetime(t: kagi_api::time::Timestamp) -> String {
    let iso = t.to_iso_z_micros(); // 2026-12-08T03:00:00.000000Z
    let body = iso.trim_end_matches('Z').replacen('T', " ", 1);
    let body = match body.split_once('.') {
        Some((whole, frac)) if frac.chars().all(|c| c == '0') => whole.to_string(),
        _ => body,
    };
    format!("{body}+00:00")
}

/// `get_relative_expiration_time` of a `relativedelta` (tokens last 12 hours at most, so
/// days, hours and minutes): the first non-zero unit and, if the next one is non-zero too,
/// `and` it.
fn relative_expiration(secs: i64) -> String {
    let secs = secs.max(0);
    let units = [
        ("days", secs / 86_400),
        ("hours", secs % 86_400 / 3600),
        ("minutes", secs % 3600 / 60),
    ];
    let mut values: Vec<String> = Vec::new();
    let mut prev = false;
    for (name, v) in units {
        if v > 0 {
            if prev {
                values.push("and".into());
            }
            values.push(v.to_string());
            values.push(if v == 1 {
                name[..name.len() - 1].to_string()
            } else {
                name.to_string()
            });
        }
        if prev {
            break;
        }
        prev = v > 0;
    }
    values.join(" ")
}

/// `urlsplit(endpoint)`: scheme, netloc, path.
fn split(endpoint: &str) -> (&str, &str, &str) {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("", endpoint));
    let (netloc, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    (scheme, netloc, path)
}

fn not_found(tool: &str) -> CliError {
    CliError::General(format!("{tool} was not found. Please verify installation."))
}

/// `str(CalledProcessError)`: `Command '['a', 'b']' returned non-zero exit status N.`
fn called_process_error(c: &[String], o: &std::process::Output) -> String {
    let list: Vec<String> = c.iter().map(|a| crate::opts::py_repr(a)).collect();
    format!(
        "Command '[{}]' returned non-zero exit status {}.",
        list.join(", "),
        o.status.code().unwrap_or(-1)
    )
}

/// `urlparse(endpoint).hostname`: the netloc without user information and port, lower-cased.
fn hostname(endpoint: &str) -> String {
    let (_, netloc, _) = split(endpoint);
    let host = netloc.rsplit_once('@').map_or(netloc, |x| x.1);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    host.to_lowercase()
}

/// `SwiftLogin.get_scope`: `[a-zA-Z0-9]` then up to 38 more, a `-` only between two of them.
fn swift_scope(namespace: Option<&str>) -> Result<Option<String>, CliError> {
    let Some(ns) = namespace else { return Ok(None) };
    let b = ns.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 39
        && b[0].is_ascii_alphanumeric()
        && b.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric()
                || (*c == b'-' && i > 0 && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric))
        });
    if !ok {
        return Err(CliError::General(
            "Invalid scope name, scope must contain URL-safe characters, no leading dots or underscores and no more than 39 characters".into(),
        ));
    }
    Ok(Some(ns.to_string()))
}

/// `SwiftLogin.get_commands`: `swift package-registry set ENDPOINT [--scope S]`, then
/// `swift package-registry login ENDPOINTlogin` (`--token TOKEN` on macOS).
fn swift_commands(
    endpoint: &str,
    token: &str,
    scope: Option<&str>,
    macos: bool,
) -> Vec<Vec<String>> {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut set = words(&["swift", "package-registry", "set", endpoint]);
    if let Some(s) = scope {
        set.extend(words(&["--scope", s]));
    }
    let mut login = words(&["swift", "package-registry", "login"]);
    login.push(format!("{endpoint}login"));
    if macos {
        login.extend(words(&["--token", token]));
    }
    vec![set, login]
}

/// `SwiftLogin._update_netrc_entry`: every `machine HOST login X password TOKEN` entry (the
/// words separated by any whitespace) gets the new token; without one (or when nothing
/// changed), `entry` is appended. A new file is created 0600, an existing one rewritten 0600.
fn update_netrc(path: &Path, host: &str, entry: &str, token: &str) -> Result<(), CliError> {
    let Ok(contents) = std::fs::read_to_string(path) else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(CliError::from)?;
        }
        return write_private(path, &format!("{entry}\n"));
    };
    let mut text = netrc_with_token(&contents, host, token);
    if text == contents {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(entry);
        text.push('\n');
    }
    write_private(path, &text)
}

/// `re.sub(r'\bmachine\s+HOST\s+login\s+\S+\s+password\s+(\S+)', ...)` with the token
/// replaced.
fn netrc_with_token(contents: &str, host: &str, token: &str) -> String {
    fn ws(s: &str, i: usize) -> Option<usize> {
        let n = s[i..].len() - s[i..].trim_start().len();
        (n > 0).then_some(i + n)
    }
    fn word(s: &str, i: usize) -> Option<usize> {
        let n = s[i..].find(char::is_whitespace).unwrap_or(s.len() - i);
        (n > 0).then_some(i + n)
    }
    fn lit(s: &str, i: usize, w: &str) -> Option<usize> {
        s[i..].starts_with(w).then_some(i + w.len())
    }
    let entry = |i: usize| -> Option<(usize, usize)> {
        let i = ws(contents, lit(contents, i, "machine")?)?;
        let i = ws(contents, lit(contents, i, host)?)?;
        let i = ws(contents, lit(contents, i, "login")?)?;
        let i = ws(contents, word(contents, i)?)?;
        let start = ws(contents, lit(contents, i, "password")?)?;
        Some((start, word(contents, start)?))
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(contents.len());
    let mut i = 0;
    let mut copied = 0;
    while i < contents.len() {
        let boundary = !contents[..i].chars().next_back().is_some_and(is_word);
        if boundary && let Some((start, end)) = entry(i) {
            out.push_str(&contents[copied..start]);
            out.push_str(token);
            copied = end;
            i = end;
            continue;
        }
        i += contents[i..].chars().next().map_or(1, char::len_utf8);
    }
    out.push_str(&contents[copied..]);
    out
}

/// `NuGetBaseLogin._get_source_to_url_dict`'s line: `N. NAME [STATUS]` (`^\d+\.\s(.+)\s\[.*\]`,
/// the name as long as it can be), its name stripped.
fn nuget_source_name(line: &str) -> Option<&str> {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = line[digits..].strip_prefix('.').filter(|_| digits > 0)?;
    let first = rest.chars().next().filter(|c| c.is_whitespace())?;
    let rest = &rest[first.len_utf8()..];
    let ends: Vec<usize> = rest
        .char_indices()
        .filter(|&(p, c)| {
            p > 0
                && c.is_whitespace()
                && rest[p + c.len_utf8()..].starts_with('[')
                && rest[p + c.len_utf8() + 1..].contains(']')
        })
        .map(|(p, _)| p)
        .collect();
    ends.last().map(|&p| rest[..p].trim())
}

/// The sources the list command printed, in order: name and URL (the line after the name).
fn nuget_sources(output: &str) -> Result<Vec<(String, String)>, CliError> {
    let lines: Vec<&str> = output
        .lines()
        .flat_map(|l| {
            l.split([
                '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
            ])
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut sources: Vec<(String, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = nuget_source_name(line.trim()) {
            let url = lines
                .get(i + 1)
                .ok_or_else(|| CliError::General("list index out of range".into()))?
                .trim()
                .to_string();
            match sources.iter_mut().find(|(n, _)| n == name) {
                Some(s) => s.1 = url,
                None => sources.push((name.to_string(), url)),
            }
        }
    }
    Ok(sources)
}

/// `NuGetBaseLogin.login` (`--tool nuget|dotnet`): the configured sources listed; the one with
/// the repository's `v3/index.json` URL (else the one named `DOMAIN/REPOSITORY`) updated,
/// or `DOMAIN/REPOSITORY` added.
fn nuget_login(
    login: &Login,
    domain: &str,
    repository: &str,
    dry_run: bool,
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    let tool = login.tool;
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let list = if tool == "nuget" {
        words(&["nuget", "sources", "list", "-format", "detailed"])
    } else {
        words(&["dotnet", "nuget", "list", "source", "--format", "detailed"])
    };
    let listed = match login.command(&list, env) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(tool)),
        Err(e) => return Err(CliError::from(e)),
        // check_output's CalledProcessError, not masked (the list has no token).
        Ok(o) if !o.status.success() => {
            return Err(CliError::General(called_process_error(&list, &o)));
        }
        Ok(o) => o,
    };
    let sources = nuget_sources(&String::from_utf8_lossy(&listed.stdout))?;
    let url = format!("{}v3/index.json", login.endpoint);
    let default_name = format!("{domain}/{repository}");
    let (name, exists) = match sources.iter().find(|(_, u)| *u == url) {
        Some((n, _)) => (n.clone(), true),
        None => {
            let exists = sources.iter().any(|(n, _)| *n == default_name);
            (default_name, exists)
        }
    };
    let operation = if exists { "update" } else { "add" };
    let command = if tool == "nuget" {
        words(&[
            "nuget",
            "sources",
            operation,
            "-name",
            &name,
            "-source",
            &url,
            "-username",
            "aws",
            "-password",
            login.token,
        ])
    } else {
        let mut c = words(&["dotnet", "nuget", operation, "source"]);
        if exists {
            c.extend(words(&[&name, "--source", &url]));
        } else {
            c.extend(words(&[&url, "--name", &name]));
        }
        c.extend(words(&["--username", "aws", "--password", login.token]));
        // Encryption is Windows-only.
        if !cfg!(windows) {
            c.push("--store-password-in-clear-text".into());
        }
        c
    };
    if dry_run {
        writeln!(io.stdout, "{}", command.join(" "))?;
        return Ok(());
    }
    match login.command(&command, env) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(tool)),
        Err(e) => return Err(CliError::from(e)),
        Ok(o) if !o.status.success() => {
            writeln!(io.stdout, "Failed to update the NuGet.Config")?;
            return Err(login.failed(&command, &o));
        }
        Ok(_) => {}
    }
    if exists {
        writeln!(io.stdout, "Updated source {name} in the NuGet.Config")?;
    } else {
        writeln!(
            io.stdout,
            "Added source {name} to the user level NuGet.Config"
        )?;
    }
    login.success("nuget", io)
}

fn pip_commands(endpoint: &str, token: &str) -> Vec<Vec<String>> {
    let (scheme, netloc, path) = split(endpoint);
    vec![vec![
        "pip".into(),
        "config".into(),
        "set".into(),
        "global.index-url".into(),
        format!("{scheme}://aws:{token}@{netloc}{path}simple/"),
    ]]
}

/// `NpmLogin.get_scope`: `@` added; `@[a-z0-9-~][a-z0-9-._~]*` at its start.
fn npm_scope(namespace: Option<&str>) -> Result<Option<String>, CliError> {
    let Some(ns) = namespace else { return Ok(None) };
    let scope = if ns.starts_with('@') {
        ns.to_string()
    } else {
        format!("@{ns}")
    };
    let ok = scope[1..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '~');
    if !ok {
        return Err(CliError::General(
            "Invalid scope name, scope must contain URL-safe characters, no leading dots or underscores".into(),
        ));
    }
    Ok(Some(scope))
}

/// Sets `key=value` in the npmrc file at `path`: the line replaced where the key is, appended
/// otherwise; a new file is created 0600, an existing one replaced through a 0600 temporary
/// file beside it.
fn write_npmrc_value(path: &Path, key: &str, value: &str) -> Result<(), CliError> {
    let entry = format!("{key}={value}");
    let Ok(contents) = std::fs::read_to_string(path) else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(CliError::from)?;
        }
        return write_private(path, &format!("{entry}\n"));
    };
    let prefix = format!("{key}=");
    let mut found = false;
    let mut text = String::with_capacity(contents.len() + entry.len() + 2);
    for piece in contents.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        if line.starts_with(&prefix) {
            found = true;
            text.push_str(&entry);
            text.push_str(&piece[line.len()..]);
        } else {
            text.push_str(piece);
        }
    }
    if !found {
        if !contents.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&entry);
        text.push('\n');
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".npmrc.tmp.{}", std::process::id()));
    write_private(&tmp, &text)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::from(e)
    })
}

fn npm_commands(endpoint: &str, scope: Option<&str>) -> Vec<Vec<String>> {
    let (_, netloc, path) = split(endpoint);
    let registry = match scope {
        Some(s) => format!("{s}:registry"),
        None => "registry".into(),
    };
    let cmd = |k: String, v: &str| -> Vec<String> {
        vec![
            "npm".into(),
            "config".into(),
            "set".into(),
            k,
            v.to_string(),
        ]
    };
    vec![
        cmd(registry, endpoint),
        cmd(format!("//{netloc}{path}:always-auth"), "true"),
    ]
}

/// One configparser section: its name and its options (lower-cased keys) in order.
type Section = (String, Vec<(String, String)>);

/// `RawConfigParser.read_string` of a `.pypirc`: sections, `key = value` / `key: value`,
/// indented continuation lines, `#`/`;` comments.
fn read_ini(text: &str) -> Result<Vec<Section>, String> {
    let mut sections: Vec<Section> = Vec::new();
    let mut last_key: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            // An empty line inside a value keeps it going (configparser's empty_lines_in_values).
            if let (Some(k), Some(sec)) = (last_key, sections.last_mut()) {
                sec.1[k].1.push('\n');
            }
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.len() != trimmed.len();
        if indented && let (Some(k), Some(sec)) = (last_key, sections.last_mut()) {
            let v = &mut sec.1[k].1;
            v.push('\n');
            v.push_str(trimmed);
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if sections.iter().any(|(s, _)| s == name) {
                return Err(format!(
                    "While reading from '<string>' [line {:2}]: section '{name}' already exists",
                    n + 1
                ));
            }
            sections.push((name.to_string(), Vec::new()));
            last_key = None;
            continue;
        }
        let Some(sec) = sections.last_mut() else {
            return Err(format!(
                "File contains no section headers.\nfile: '<string>', line: {}\n'{raw}'",
                n + 1
            ));
        };
        let pos = trimmed.find(['=', ':']).ok_or_else(|| {
            format!(
                "Source contains parsing errors: '<string>'\n\t[line {:2}]: '{raw}'",
                n + 1
            )
        })?;
        let key = trimmed[..pos].trim().to_lowercase();
        let value = trimmed[pos + 1..].trim().to_string();
        if let Some(i) = sec.1.iter().position(|(k, _)| *k == key) {
            sec.1[i].1 = value;
            last_key = Some(i);
        } else {
            sec.1.push((key, value));
            last_key = Some(sec.1.len() - 1);
        }
    }
    // Trailing empty lines of a value go (configparser strips values).
    for (_, opts) in &mut sections {
        for (_, v) in opts {
            let t = v.trim_end_matches('\n').to_string();
            *v = t;
        }
    }
    Ok(sections)
}

/// `RawConfigParser.write`: `[section]`, `key = value` (continuation lines tab-indented), an
/// empty line after each section.
fn write_ini(sections: &[Section]) -> String {
    let mut out = String::new();
    for (name, opts) in sections {
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in opts {
            out.push_str(&format!("{k} = {}\n", v.replace('\n', "\n\t")));
        }
        out.push('\n');
    }
    out
}

/// `TwineLogin.get_commands`: the `.pypirc` to write.
fn pypirc(existing: Option<&str>, endpoint: &str, token: &str) -> Result<String, String> {
    let Some(text) = existing else {
        let default = format!(
            "[distutils]\nindex-servers=\n    pypi\n    codeartifact\n\n[codeartifact]\nrepository: {endpoint}\nusername: aws\npassword: {token}"
        );
        return Ok(write_ini(&read_ini(&default)?));
    };
    let mut sections = read_ini(text)?;
    let servers_value = sections
        .iter()
        .find(|(n, _)| n == "distutils")
        .ok_or_else(|| "No section: 'distutils'".to_string())?
        .1
        .iter()
        .find(|(k, _)| k == "index-servers")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| "No option 'index-servers' in section: 'distutils'".to_string())?;
    let mut servers: Vec<String> = servers_value
        .split('\n')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if !servers.iter().any(|s| s == "codeartifact") {
        servers.push("codeartifact".into());
        let v = format!("\n{}", servers.join("\n"));
        if let Some(sec) = sections.iter_mut().find(|(n, _)| n == "distutils")
            && let Some(o) = sec.1.iter_mut().find(|(k, _)| k == "index-servers")
        {
            o.1 = v;
        }
    }
    if !sections.iter().any(|(n, _)| n == "codeartifact") {
        sections.push(("codeartifact".into(), Vec::new()));
    }
    if let Some(sec) = sections.iter_mut().find(|(n, _)| n == "codeartifact") {
        for (k, v) in [
            ("repository", endpoint),
            ("username", "aws"),
            ("password", token),
        ] {
            match sec.1.iter_mut().find(|(ek, _)| ek == k) {
                Some(o) => o.1 = v.to_string(),
                None => sec.1.push((k.to_string(), v.to_string())),
            }
        }
    }
    Ok(write_ini(&sections))
}

/// Written 0600 (created so, and narrowed if it existed).
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(CliError::from)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    f.write_all(text.as_bytes()).map_err(CliError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_netrc_and_nuget_listing_as_login_py_reads_them() {
        let host = "d-1.d.codeartifact.us-east-1.amazonaws.com";
        // Every entry for the host (words split by any whitespace) gets the new token.
        let before = format!(
            "machine {host} login token password old\nmachine x{host} login a password keep\nmachine {host}\n  login t\n  password old2 \n"
        );
        assert_eq!(
            netrc_with_token(&before, host, "NEW"),
            format!(
                "machine {host} login token password NEW\nmachine x{host} login a password keep\nmachine {host}\n  login t\n  password NEW \n"
            )
        );
        assert_eq!(
            netrc_with_token("machine other login a password b", host, "N"),
            "machine other login a password b"
        );
        assert_eq!(swift_scope(Some("a-b9")).unwrap().as_deref(), Some("a-b9"));
        for bad in ["-a", "a-", "a--b", "a_b", "", &"a".repeat(40)] {
            assert!(swift_scope(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            nuget_source_name("1. nuget.org [Enabled]"),
            Some("nuget.org")
        );
        assert_eq!(
            nuget_source_name("12.  My [x] src [Disabled]"),
            Some("My [x] src")
        );
        assert_eq!(nuget_source_name("1.nuget.org [Enabled]"), None);
        assert_eq!(nuget_source_name("Registered Sources:"), None);
        let listed = nuget_sources("Registered Sources:\n\n  1.  a [Enabled]\n      https://a/\n  2.  b [Disabled]\n      https://b/\n").unwrap();
        assert_eq!(
            listed,
            [
                ("a".to_string(), "https://a/".to_string()),
                ("b".into(), "https://b/".into())
            ]
        );
        assert_eq!(
            hostname("https://User@Host.Example:8443/swift/r/"),
            "host.example"
        );
    }

    #[test]
    fn relative_expiration_as_the_aws_cli_words_it() {
        assert_eq!(relative_expiration(12 * 3600 + 29), "12 hours");
        assert_eq!(
            relative_expiration(3600 + 30 * 60 + 5),
            "1 hour and 30 minutes"
        );
        assert_eq!(relative_expiration(15 * 60 + 30), "15 minutes");
        assert_eq!(relative_expiration(60), "1 minute");
    }

    /// The npmrc file as the official CLI leaves it: a new file with the line (0600), the
    /// line replaced where the key is, appended (after a newline if the file lacks one).
    #[test]
    fn npmrc_token_written_as_the_official_cli() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join("sub/.npmrc");
        write_npmrc_value(&rc, "//h/npm/r/:_authToken", "t1").unwrap();
        assert_eq!(
            std::fs::read_to_string(&rc).unwrap(),
            "//h/npm/r/:_authToken=t1\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&rc).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&rc, "a=1\n//h/npm/r/:_authToken=old\nb=2").unwrap();
        write_npmrc_value(&rc, "//h/npm/r/:_authToken", "t2").unwrap();
        assert_eq!(
            std::fs::read_to_string(&rc).unwrap(),
            "a=1\n//h/npm/r/:_authToken=t2\nb=2"
        );
        write_npmrc_value(&rc, "//other/:_authToken", "t3").unwrap();
        assert_eq!(
            std::fs::read_to_string(&rc).unwrap(),
            "a=1\n//h/npm/r/:_authToken=t2\nb=2\n//other/:_authToken=t3\n"
        );
    }

    /// The official CLI's own classes (AWS CLI v1 from `KAGI_COMPAT_VENV`, the same
    /// `login.py` as v2) produce the same commands and `.pypirc` text as kagi.
    #[test]
    fn same_commands_and_pypirc_as_the_official_cli() {
        let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "KAGI_COMPAT_VENV is not set"
            );
            eprintln!("SKIPPED: KAGI_COMPAT_VENV (the official aws CLI v1) is not set");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let existing = "# mine\n[distutils]\nindex-servers =\n    pypi\n    private\n\n[pypi]\nusername: __token__\n\n[private]\nrepository = https://example.com/x\nUserName = me\n";
        let rc = dir.path().join("pypirc");
        std::fs::write(&rc, existing).unwrap();
        let endpoint = "https://dom-123456789012.d.codeartifact.us-east-1.amazonaws.com/pypi/repo/";
        let npm_ep = "https://dom-123456789012.d.codeartifact.us-east-1.amazonaws.com/npm/repo/";
        let script = format!(
            r#"
import json
from awscli.customizations.codeartifact.login import PipLogin, NpmLogin, TwineLogin
print(json.dumps({{
  "pip": PipLogin.get_commands({endpoint:?}, "tok/en="),
  "npm": NpmLogin.get_commands({npm_ep:?}, "tok/en=", scope=NpmLogin.get_scope("my-scope")),
  "npm0": NpmLogin.get_commands({npm_ep:?}, "tok/en=", scope=None),
  "twine_new": TwineLogin.get_commands({endpoint:?}, "tok/en=", pypi_rc_path={missing:?}),
  "twine_old": TwineLogin.get_commands({endpoint:?}, "tok/en=", pypi_rc_path={rc:?}),
}}))
"#,
            missing = dir.path().join("absent").display().to_string(),
            rc = rc.display().to_string(),
        );
        let out = std::process::Command::new(std::path::Path::new(&venv).join("bin/python"))
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let cmds = |v: &Value| -> Vec<Vec<String>> { serde_json::from_value(v.clone()).unwrap() };
        assert_eq!(cmds(&v["pip"]), pip_commands(endpoint, "tok/en="));
        assert_eq!(
            cmds(&v["npm"]),
            npm_commands(npm_ep, npm_scope(Some("my-scope")).unwrap().as_deref())
        );
        assert_eq!(cmds(&v["npm0"]), npm_commands(npm_ep, None));
        assert_eq!(
            v["twine_new"].as_str().unwrap(),
            pypirc(None, endpoint, "tok/en=").unwrap()
        );
        assert_eq!(
            v["twine_old"].as_str().unwrap(),
            pypirc(Some(existing), endpoint, "tok/en=").unwrap()
        );
    }
}
