//! `aws configure` and its subcommands (`awscli/customizations/configure/*.py` of 2.36.7):
//! the interactive prompts, `set`, `get`, `list`, `list-profiles`, `export-credentials`.
//!
//! Deviation, on purpose: 2.36.7 prints a `Tip: ... 'aws login'` paragraph before prompting for
//! an empty profile; kagi has no `login` command, so it does not print it (the four prompts are
//! exactly those of the seed walkthrough).

use crate::config::{self, Env, Files};
use crate::creds;
use crate::http::Session;
use crate::ini::{EditValue, check_value, edit};
use crate::{CliError, Globals, Io};

const CREDS_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

pub fn run(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        None => interactive(g, env, io),
        Some("help") => {
            writeln!(
                io.stdout,
                "CONFIGURE()\n\nNAME\n       configure -\n\nDESCRIPTION\n       Configure AWS CLI options. If this command is run with no arguments,\n       you will be prompted for configuration values such as your AWS Access\n       Key Id and your AWS Secret Access Key.\n\nAVAILABLE COMMANDS\n       o export-credentials\n\n       o get\n\n       o import\n\n       o list\n\n       o list-profiles\n\n       o set\n"
            )?;
            Ok(())
        }
        Some("set") => set(g, &args[1..], env),
        Some("get") => get(g, &args[1..], env, io),
        Some("list") => list(g, &args[1..], env, io),
        Some("list-profiles") => {
            no_extra(&args[1..])?;
            let files = Files::load(env)?;
            for n in files.set.names() {
                writeln!(io.stdout, "{n}")?;
            }
            Ok(())
        }
        Some("export-credentials") => export_credentials(g, &args[1..], env, io),
        Some("import") => import(&args[1..], env, io),
        Some(other) if other.starts_with("--") => Err(CliError::UnknownArgs(args.to_vec())),
        Some(other) => match crate::customizations::command(&["configure".into(), other.into()]) {
            Some(name) => Err(CliError::MissingCustomization {
                name: name.into(),
                fallback: false,
            }),
            None => Err(CliError::Usage(format!(
                "argument subcommand: Found invalid choice '{other}'\n"
            ))),
        },
    }
}

fn no_extra(args: &[String]) -> Result<(), CliError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CliError::UnknownArgs(args.to_vec()))
    }
}

/// `mask_value`: `None`, or 16 stars and the last four characters.
pub fn mask(v: Option<&str>) -> String {
    match v {
        None => "None".into(),
        Some(v) => {
            let tail: String = v
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("{}{tail}", "*".repeat(16))
        }
    }
}

/// The config-file section of a profile (`default` or `profile NAME`, shlex-quoted if needed).
pub fn profile_section(profile: &str) -> String {
    if profile == "default" {
        return "default".into();
    }
    if profile.contains(char::is_whitespace) {
        format!("profile '{}'", profile.replace('\'', "'\"'\"'"))
    } else {
        format!("profile {profile}")
    }
}

/// Applies edits to a file, creating it (0600, parents made) when missing.
pub fn update_file(
    path: &std::path::Path,
    section: &str,
    values: &[(String, EditValue)],
) -> Result<(), CliError> {
    for (k, v) in values {
        if let EditValue::Set(s) = v {
            check_value(k, s).map_err(CliError::BadParam)?;
        }
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CliError::General(format!(
                "Unable to read {}: {e}",
                path.display()
            )));
        }
    };
    let new = edit(existing.as_deref().unwrap_or(""), section, values);
    match existing {
        None => creds::write_private(path, new.as_bytes())?,
        Some(old) if old == new => {}
        Some(_) => std::fs::write(path, new.as_bytes())?,
    }
    Ok(())
}

fn read_line(io: &mut Io) -> Result<Option<String>, CliError> {
    let mut line = String::new();
    let n = io.stdin.read_line(&mut line)?;
    if n == 0 {
        // EOF: Python's input() raises EOFError; the CLI exits 255 without writing.
        let _ = writeln!(io.stdout);
        return Err(CliError::General(String::new()));
    }
    let v = line.trim_end_matches(['\n', '\r']).to_string();
    Ok(if v.is_empty() { None } else { Some(v) })
}

fn interactive(g: &Globals, env: &Env, io: &mut Io) -> Result<(), CliError> {
    let files = Files::load(env)?;
    let choice = config::choose_profile(g.profile.as_deref(), env);
    let current = files.set.profile(&choice.name).cloned().unwrap_or_default();
    let mut new: Vec<(String, String)> = Vec::new();
    let prompts = [
        ("aws_access_key_id", "AWS Access Key ID"),
        ("aws_secret_access_key", "AWS Secret Access Key"),
        ("aws_session_token", "AWS Session Token"),
        ("region", "Default region name"),
        ("output", "Default output format"),
    ];
    let needs_token = |new: &[(String, String)]| {
        new.iter()
            .any(|(k, v)| k == "aws_access_key_id" && v.starts_with("ASIA"))
    };
    for (key, text) in prompts {
        if key == "aws_session_token" {
            let new_key = new.iter().any(|(k, _)| k == "aws_access_key_id");
            let prompt = if new_key {
                needs_token(&new)
            } else {
                current.get("aws_session_token").is_some()
            };
            if !prompt {
                continue;
            }
        }
        let cur = current.get(key);
        let shown = if CREDS_KEYS.contains(&key) {
            mask(cur)
        } else {
            cur.unwrap_or("None").to_string()
        };
        write!(io.stdout, "{text} [{shown}]: ")?;
        io.stdout.flush()?;
        if let Some(v) = read_line(io)?
            && Some(v.as_str()) != cur
        {
            new.push((key.to_string(), v));
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let mut cred_vals: Vec<(String, EditValue)> = Vec::new();
    let mut conf_vals: Vec<(String, EditValue)> = Vec::new();
    for (k, v) in &new {
        if CREDS_KEYS.contains(&k.as_str()) {
            cred_vals.push((k.clone(), EditValue::Set(v.clone())));
        } else {
            conf_vals.push((k.clone(), EditValue::Set(v.clone())));
        }
    }
    if new.iter().any(|(k, _)| k == "aws_access_key_id")
        && !needs_token(&new)
        && current.get("aws_session_token").is_some()
    {
        cred_vals.push(("aws_session_token".into(), EditValue::Remove));
    }
    if !cred_vals.is_empty() {
        update_file(&files.credentials_path, &choice.name, &cred_vals)?;
    }
    if !conf_vals.is_empty() {
        update_file(
            &files.config_path,
            &profile_section(&choice.name),
            &conf_vals,
        )?;
    }
    Ok(())
}

/// Splits `default.region` / `profile.NAME.key` / `a.b` into (profile, key path).
fn split_varname(varname: &str, session_profile: &str) -> (String, Vec<String>) {
    let parts: Vec<&str> = varname.split('.').collect();
    match parts.as_slice() {
        [one] => (session_profile.to_string(), vec![one.to_string()]),
        ["default", rest @ ..] => (
            "default".into(),
            rest.iter().map(|s| s.to_string()).collect(),
        ),
        ["profile", name, rest @ ..] if !rest.is_empty() => (
            name.to_string(),
            rest.iter().map(|s| s.to_string()).collect(),
        ),
        _ => (
            session_profile.to_string(),
            parts.iter().map(|s| s.to_string()).collect(),
        ),
    }
}

fn positional(args: &[String], n: usize, usage: &str) -> Result<Vec<String>, CliError> {
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i].starts_with("--") {
            return Err(CliError::UnknownArgs(args[i..].to_vec()));
        }
        pos.push(args[i].clone());
        i += 1;
    }
    if pos.len() < n {
        return Err(CliError::Usage(format!(
            "the following arguments are required: {usage}"
        )));
    }
    if pos.len() > n {
        return Err(CliError::UnknownArgs(pos[n..].to_vec()));
    }
    Ok(pos)
}

fn set(g: &Globals, args: &[String], env: &Env) -> Result<(), CliError> {
    let pos = positional(args, 2, "varname, value")?;
    let files = Files::load(env)?;
    let choice = config::choose_profile(g.profile.as_deref(), env);
    let (profile, path) = split_varname(&pos[0], &choice.name);
    let value = pos[1].clone();
    if path.len() == 1 && CREDS_KEYS.contains(&path[0].as_str()) {
        return update_file(
            &files.credentials_path,
            &profile,
            &[(path[0].clone(), EditValue::Set(value))],
        );
    }
    let section = profile_section(&profile);
    let edit_value = if path.len() >= 2 {
        (
            path[0].clone(),
            EditValue::Nested(vec![(path[1..].join("."), value)]),
        )
    } else {
        (path[0].clone(), EditValue::Set(value))
    };
    update_file(&files.config_path, &section, &[edit_value])
}

fn get(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let pos = positional(args, 1, "varname")?;
    let files = Files::load(env)?;
    let choice = config::choose_profile(g.profile.as_deref(), env);
    let (profile, path) = split_varname(&pos[0], &choice.name);
    let props = files.set.profile(&profile);
    let value = props
        .and_then(|p| p.get(&path[0].to_ascii_lowercase()))
        .map(str::to_string);
    let value = match (value, path.len()) {
        (Some(v), 1) => Some(v),
        (Some(v), _) => crate::ini::sub_properties(&v)
            .into_iter()
            .find(|(k, _)| *k == path[1..].join(".").to_ascii_lowercase())
            .map(|(_, v)| v),
        (None, _) => None,
    };
    match value {
        Some(v) if v.starts_with('\n') => {
            write!(
                io.stderr,
                "varname ({}) must reference a value, not a section or sub-section.",
                pos[0]
            )?;
            Err(CliError::Silent(1))
        }
        Some(v) => {
            writeln!(io.stdout, "{v}")?;
            Ok(())
        }
        None => Err(CliError::Silent(1)),
    }
}

/// `configure import --csv file://credentials.csv [--skip-invalid] [--profile-prefix P]`: the
/// console's CSV (`User Name`, `Access Key ID`, `Secret Access key` columns, any case/order).
fn import(args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let (mut csv, mut skip_invalid, mut prefix) = (None, false, String::new());
    let mut i = 0;
    while i < args.len() {
        let (name, inline) = match args[i].split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        let value = |i: &mut usize| -> Result<String, CliError> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("argument {name}: expected one argument")))
        };
        match name.as_str() {
            "--csv" => csv = Some(value(&mut i)?),
            "--profile-prefix" => prefix = value(&mut i)?,
            "--skip-invalid" => skip_invalid = true,
            _ => return Err(CliError::UnknownArgs(args[i..].to_vec())),
        }
        i += 1;
    }
    let Some(csv) = csv else {
        return Err(CliError::Usage(
            "the following arguments are required: --csv".into(),
        ));
    };
    let contents = if let Some(path) = csv.strip_prefix("file://") {
        std::fs::read_to_string(env.expand(path)).map_err(|e| {
            CliError::BadParam(format!(
                "Error parsing parameter '--csv': Unable to load paramfile {csv}: {e}"
            ))
        })?
    } else {
        if !csv.contains('\n') && std::path::Path::new(&csv).exists() {
            return Err(CliError::General(
                "You may be passing a file to import without the 'file://' prefix. To import a CSV file, use --csv file://path/to/file.csv".into(),
            ));
        }
        csv
    };
    let creds = parse_console_csv(&contents, !skip_invalid).map_err(CliError::General)?;
    let path = env.credentials_path();
    for (name, akid, secret) in &creds {
        update_file(
            &path,
            &format!("{prefix}{name}"),
            &[
                ("aws_access_key_id".into(), EditValue::Set(akid.clone())),
                (
                    "aws_secret_access_key".into(),
                    EditValue::Set(secret.clone()),
                ),
            ],
        )?;
    }
    writeln!(
        io.stdout,
        "Successfully imported {} profile(s)",
        creds.len()
    )?;
    Ok(())
}

/// The console CSV as `CSVCredentialParser` reads it (plain comma split, no quoting).
fn parse_console_csv(csv: &str, strict: bool) -> Result<Vec<(String, String, String)>, String> {
    if csv.trim().is_empty() {
        return Err("Provided CSV contains no contents".into());
    }
    let mut lines = csv.lines();
    let fmt = |h: &str| {
        h.trim_start_matches('\u{feff}')
            .to_lowercase()
            .trim()
            .to_string()
    };
    let headers: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(fmt)
        .collect();
    let mut idx = Vec::new();
    for h in ["User Name", "Access Key ID", "Secret Access key"] {
        match headers.iter().position(|x| *x == fmt(h)) {
            Some(i) => idx.push((h, i)),
            None => return Err(format!("Expected header \"{h}\" not found")),
        }
    }
    let mut out = Vec::new();
    for (n, row) in lines.enumerate() {
        let cols: Vec<&str> = row.split(',').collect();
        let mut vals = Vec::new();
        let mut missing = None;
        for (h, i) in &idx {
            match cols.get(*i).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                Some(v) => vals.push(v.to_string()),
                None => {
                    missing = Some(*h);
                    break;
                }
            }
        }
        match missing {
            Some(h) if strict => {
                return Err(format!(
                    "Failed to parse entry #{}: Row missing value for header \"{h}\"",
                    n + 1
                ));
            }
            Some(_) => continue,
            None => out.push((vals[0].clone(), vals[1].clone(), vals[2].clone())),
        }
    }
    Ok(out)
}

fn row(name: &str, value: &str, ty: &str, loc: &str) -> String {
    format!("{name:<10} : {value:<24} : {ty:<16} : {loc}\n")
}

fn list(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    no_extra(args)?;
    let s = Session::new(env, g)?;
    let config_file = env
        .var("AWS_CONFIG_FILE")
        .unwrap_or("~/.aws/config")
        .to_string();
    let mut out = row("NAME", "VALUE", "TYPE", "LOCATION");
    let not_set = || row_value("<not set>", "None", "None");
    let profile_row = if let Some(p) = &g.profile {
        row_value(p, "manual", "--profile")
    } else if let Some((var, v)) = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]
        .iter()
        .find_map(|k| env.var(k).map(|v| (*k, v)))
    {
        row_value(v, "env", var)
    } else {
        not_set()
    };
    out.push_str(&row(
        "profile",
        &profile_row.0,
        &profile_row.1,
        &profile_row.2,
    ));
    let profile = s.profile()?;
    // access/secret key: env, then config (scoped config, i.e. both files), then the chain.
    let lookup = |env_name: &str, cfg: &str| -> Option<(String, String, String)> {
        if let Some(v) = env.var(env_name) {
            return Some((v.to_string(), "env".into(), env_name.into()));
        }
        profile
            .and_then(|p| p.get(cfg))
            .map(|v| (v.to_string(), "config-file".into(), config_file.clone()))
    };
    let (ak, sk) = match (
        lookup("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        lookup("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
    ) {
        (Some(a), s) => {
            let s = s.unwrap_or_else(|| ("".into(), "None".into(), "None".into()));
            (
                (mask(Some(&a.0)), a.1, a.2),
                (
                    if s.0.is_empty() {
                        "<not set>".into()
                    } else {
                        mask(Some(&s.0))
                    },
                    s.1,
                    s.2,
                ),
            )
        }
        (None, _) => {
            let mut sink_in = std::io::empty();
            let mut sink_in = std::io::BufReader::new(&mut sink_in);
            let mut sink_out = Vec::new();
            let mut sink_err = Vec::new();
            let mut quiet = Io {
                stdin: &mut sink_in,
                stdout: &mut sink_out,
                stderr: &mut sink_err,
            };
            match creds::resolve(&s, &mut quiet) {
                Ok(c) => (
                    (
                        mask(Some(&c.access_key_id)),
                        c.method.to_string(),
                        String::new(),
                    ),
                    (
                        mask(Some(&c.secret_access_key)),
                        c.method.to_string(),
                        String::new(),
                    ),
                ),
                Err(_) => (not_set(), not_set()),
            }
        }
    };
    out.push_str(&row("access_key", &ak.0, &ak.1, &ak.2));
    out.push_str(&row("secret_key", &sk.0, &sk.1, &sk.2));
    let region = if let Some(r) = &g.region {
        row_value(r, "manual", "--region")
    } else if let Some((var, v)) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| env.var(k).map(|v| (*k, v)))
    {
        row_value(v, "env", var)
    } else if let Some(r) = profile.and_then(|p| p.get("region")) {
        row_value(r, "config-file", &config_file)
    } else {
        not_set()
    };
    out.push_str(&row("region", &region.0, &region.1, &region.2));
    io.stdout.write_all(out.as_bytes())?;
    Ok(())
}

fn row_value(v: &str, t: &str, l: &str) -> (String, String, String) {
    (v.to_string(), t.to_string(), l.to_string())
}

fn export_credentials(
    g: &Globals,
    args: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    let mut format = "process".to_string();
    let mut i = 0;
    while i < args.len() {
        match args[i].split_once('=') {
            Some(("--format", v)) => format = v.to_string(),
            _ if args[i] == "--format" => {
                i += 1;
                format = args.get(i).cloned().ok_or_else(|| {
                    CliError::Usage("argument --format: expected one argument".into())
                })?;
            }
            _ => return Err(CliError::UnknownArgs(args[i..].to_vec())),
        }
        i += 1;
    }
    let formats = [
        "process",
        "env",
        "env-no-export",
        "powershell",
        "windows-cmd",
        "fish",
    ];
    if !formats.contains(&format.as_str()) {
        return Err(CliError::Usage(format!(
            "argument --format: Found invalid choice '{format}'\n"
        )));
    }
    let s = Session::new(env, g)?;
    let c = match creds::resolve(&s, io) {
        Ok(c) => c,
        Err(CliError::NoCredentials) => {
            return Err(CliError::Config(
                "Unable to retrieve credentials: no credentials found".into(),
            ));
        }
        Err(e @ CliError::ProfileNotFound(_)) => return Err(e),
        Err(e) => {
            return Err(CliError::Config(format!(
                "Unable to retrieve credentials: {}\n",
                e.message().trim()
            )));
        }
    };
    crate::calls::flush_debug(&s, io);
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.clone()),
    ];
    if let Some(t) = &c.session_token {
        vars.push(("AWS_SESSION_TOKEN", t.clone()));
    }
    if let Some(e) = &c.expiration {
        vars.push(("AWS_CREDENTIAL_EXPIRATION", e.clone()));
    }
    let mut out = String::new();
    if format == "process" {
        out.push_str("{\n  \"Version\": 1,\n");
        let mut fields = vec![
            ("AccessKeyId", &c.access_key_id),
            ("SecretAccessKey", &c.secret_access_key),
        ];
        if let Some(t) = &c.session_token {
            fields.push(("SessionToken", t));
        }
        if let Some(e) = &c.expiration {
            fields.push(("Expiration", e));
        }
        let n = fields.len();
        for (i, (k, v)) in fields.into_iter().enumerate() {
            out.push_str(&format!(
                "  \"{k}\": {}{}\n",
                crate::output::to_json_compact(&crate::output::Doc::Str(v.clone())),
                if i + 1 < n { "," } else { "" }
            ));
        }
        out.push_str("}\n");
    } else {
        for (k, v) in vars {
            let line = match format.as_str() {
                "env" => format!("export {k}={v}"),
                "env-no-export" => format!("{k}={v}"),
                "powershell" => format!("$Env:{k}=\"{v}\""),
                "windows-cmd" => format!("set {k}={v}"),
                _ => format!("set -gx {k} \"{v}\""),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    io.stdout.write_all(out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_csv() {
        let csv = "\u{feff}User name,Password,Access key ID,Secret access key,Console login link\nalice,,AKIA1,s1,https://x\nbob,pw,,,https://x\n";
        assert_eq!(
            parse_console_csv(csv, true).unwrap_err(),
            "Failed to parse entry #2: Row missing value for header \"Access Key ID\""
        );
        assert_eq!(
            parse_console_csv(csv, false).unwrap(),
            vec![("alice".into(), "AKIA1".into(), "s1".into())]
        );
        assert_eq!(
            parse_console_csv("a,b\n", true).unwrap_err(),
            "Expected header \"User Name\" not found"
        );
    }

    #[test]
    fn masking() {
        assert_eq!(mask(None), "None");
        assert_eq!(mask(Some("AKIAIOSFODNN7EXAMPLE")), "****************MPLE");
        assert_eq!(mask(Some("ab")), "****************ab");
    }

    #[test]
    fn sections() {
        assert_eq!(profile_section("default"), "default");
        assert_eq!(profile_section("p"), "profile p");
        assert_eq!(profile_section("a b"), "profile 'a b'");
        assert_eq!(
            split_varname("default.region", "x"),
            ("default".into(), vec!["region".into()])
        );
        assert_eq!(
            split_varname("profile.p.region", "x"),
            ("p".into(), vec!["region".into()])
        );
        assert_eq!(
            split_varname("region", "x"),
            ("x".into(), vec!["region".into()])
        );
        assert_eq!(
            split_varname("s3.max", "x"),
            ("x".into(), vec!["s3".into(), "max".into()])
        );
    }
}
