//! Where settings come from, as botocore resolves them (aws-cli-facts §1): the environment of
//! one invocation ([`Env`]), the config and credentials files ([`Files`]), and the resolution of
//! profile, region, output and endpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::CliError;
use crate::ini::{ProfileSet, Props, sub_properties};

/// The process environment of one invocation, injectable for tests.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub vars: HashMap<String, String>,
    /// `~`; from `HOME` (or `USERPROFILE`) in [`Env::from_process`].
    pub home: PathBuf,
    /// Whether stdin/stdout are terminals (prompts without echo, colours, pager).
    pub stdin_tty: bool,
    pub stdout_tty: bool,
}

impl Env {
    pub fn from_process() -> Env {
        use std::io::IsTerminal;
        let vars: HashMap<String, String> = std::env::vars().collect();
        let home = vars
            .get("HOME")
            .or_else(|| vars.get("USERPROFILE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        Env {
            vars,
            home,
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }

    /// A variable, treating the empty string as unset (as botocore does for most settings).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `expanduser` + `expandvars` on a path from a variable or file.
    pub fn expand(&self, p: &str) -> PathBuf {
        let mut s = String::new();
        let mut rest = p;
        while let Some(i) = rest.find('$') {
            s.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = if let Some(b) = after.strip_prefix('{') {
                match b.find('}') {
                    Some(e) => (&b[..e], &b[e + 1..]),
                    None => ("", after),
                }
            } else {
                let e = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..e], &after[e..])
            };
            match self.vars.get(name) {
                Some(v) if !name.is_empty() => s.push_str(v),
                _ => {
                    s.push('$');
                    s.push_str(&after[..after.len() - tail.len()]);
                }
            }
            rest = tail;
        }
        s.push_str(rest);
        if s == "~" {
            return self.home.clone();
        }
        if let Some(r) = s.strip_prefix("~/") {
            return self.home.join(r);
        }
        PathBuf::from(s)
    }

    pub fn config_path(&self) -> PathBuf {
        match self.var("AWS_CONFIG_FILE") {
            Some(p) => self.expand(p),
            None => self.home.join(".aws").join("config"),
        }
    }

    pub fn credentials_path(&self) -> PathBuf {
        match self.var("AWS_SHARED_CREDENTIALS_FILE") {
            Some(p) => self.expand(p),
            None => self.home.join(".aws").join("credentials"),
        }
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home.join(".aws").join("cli").join("cache")
    }
}

/// The loaded config + credentials files.
#[derive(Clone, Debug, Default)]
pub struct Files {
    pub set: ProfileSet,
    /// The credentials file alone (to tell `shared-credentials-file` from `config-file`).
    pub credentials_only: ProfileSet,
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
}

fn read_optional(p: &Path) -> Result<Option<String>, CliError> {
    match std::fs::read_to_string(p) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Ok(None),
        Err(e) => Err(CliError::Config(format!(
            "Unable to read {}: {e}",
            p.display()
        ))),
    }
}

impl Files {
    pub fn load(env: &Env) -> Result<Files, CliError> {
        let config_path = env.config_path();
        let credentials_path = env.credentials_path();
        let config = read_optional(&config_path)?;
        let creds = read_optional(&credentials_path)?;
        let set = ProfileSet::load(config.as_deref(), creds.as_deref()).map_err(|e| {
            // botocore: "Unable to parse config file: <path>"
            let which = if ProfileSet::load(config.as_deref(), None).is_err() {
                &config_path
            } else {
                &credentials_path
            };
            CliError::General(format!(
                "Unable to parse config file: {} ({e})",
                which.display()
            ))
        })?;
        let credentials_only = ProfileSet::load(None, creds.as_deref()).unwrap_or_default();
        Ok(Files {
            set,
            credentials_only,
            config_path,
            credentials_path,
        })
    }
}

/// The profile selection of one invocation.
#[derive(Clone, Debug)]
pub struct ProfileChoice {
    pub name: String,
    /// Given on the command line (`--profile`): skips env credentials.
    pub from_cli: bool,
    /// Set explicitly at all (`--profile`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`): must exist.
    pub explicit: bool,
}

pub fn choose_profile(cli: Option<&str>, env: &Env) -> ProfileChoice {
    if let Some(p) = cli {
        return ProfileChoice {
            name: p.to_string(),
            from_cli: true,
            explicit: true,
        };
    }
    if let Some(p) = env
        .var("AWS_PROFILE")
        .or_else(|| env.var("AWS_DEFAULT_PROFILE"))
    {
        return ProfileChoice {
            name: p.to_string(),
            from_cli: false,
            explicit: true,
        };
    }
    ProfileChoice {
        name: "default".into(),
        from_cli: false,
        explicit: false,
    }
}

/// The active profile's properties (empty for an implicit, absent `default`).
pub fn active_profile<'a>(
    files: &'a Files,
    choice: &ProfileChoice,
) -> Result<Option<&'a Props>, CliError> {
    match files.set.profile(&choice.name) {
        Some(p) => Ok(Some(p)),
        None if choice.explicit => Err(CliError::ProfileNotFound(choice.name.clone())),
        None => Ok(None),
    }
}

pub fn region(cli: Option<&str>, env: &Env, profile: Option<&Props>) -> Option<String> {
    cli.map(str::to_string)
        .or_else(|| env.var("AWS_REGION").map(str::to_string))
        .or_else(|| env.var("AWS_DEFAULT_REGION").map(str::to_string))
        .or_else(|| {
            profile
                .and_then(|p| p.get("region"))
                .filter(|r| !r.is_empty())
                .map(str::to_string)
        })
}

pub fn output(cli: Option<&str>, env: &Env, profile: Option<&Props>) -> String {
    cli.map(str::to_string)
        .or_else(|| env.var("AWS_DEFAULT_OUTPUT").map(str::to_string))
        .or_else(|| {
            profile
                .and_then(|p| p.get("output"))
                .filter(|r| !r.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "json".into())
}

fn truthy(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

/// Environment-variable suffix for a service id: `STS`, `ECR`, `IAM` (spaces → `_`, upper).
pub fn service_env_name(service_id: &str) -> String {
    service_id.replace([' ', '-'], "_").to_ascii_uppercase()
}

/// The `services` section key for a service id: lowercased, spaces → `_`.
pub fn service_config_key(service_id: &str) -> String {
    service_id.replace(' ', "_").to_ascii_lowercase()
}

/// Endpoint resolution: `--endpoint-url` > `AWS_ENDPOINT_URL_<SERVICE>` > `AWS_ENDPOINT_URL` >
/// `[services X]` for the service > profile `endpoint_url`; configured sources (all but the
/// flag) are ignored with `ignore_configured_endpoint_urls`. Returns the URL and its source.
pub fn configured_endpoint(
    cli: Option<&str>,
    env: &Env,
    files: &Files,
    profile: Option<&Props>,
    service_id: &str,
) -> Option<(String, &'static str)> {
    if let Some(u) = cli {
        return Some((u.to_string(), "--endpoint-url"));
    }
    let ignore = env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .map(truthy)
        .or_else(|| {
            profile
                .and_then(|p| p.get("ignore_configured_endpoint_urls"))
                .map(truthy)
        })
        .unwrap_or(false);
    if ignore {
        return None;
    }
    if let Some(u) = env.var(&format!(
        "AWS_ENDPOINT_URL_{}",
        service_env_name(service_id)
    )) {
        return Some((
            u.to_string(),
            "environment variable AWS_ENDPOINT_URL_<SERVICE>",
        ));
    }
    if let Some(u) = env.var("AWS_ENDPOINT_URL") {
        return Some((u.to_string(), "environment variable AWS_ENDPOINT_URL"));
    }
    let profile = profile?;
    if let Some(services) = profile.get("services")
        && let Some(section) = files.set.services.get(services)
        && let Some(nested) = section.get(&service_config_key(service_id))
        && let Some((_, u)) = sub_properties(nested)
            .into_iter()
            .find(|(k, _)| k == "endpoint_url")
    {
        return Some((u, "services section endpoint_url"));
    }
    profile
        .get("endpoint_url")
        .filter(|u| !u.is_empty())
        .map(|u| (u.to_string(), "profile endpoint_url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            home: PathBuf::from("/home/u"),
            ..Default::default()
        }
    }

    fn files(config: &str) -> Files {
        Files {
            set: ProfileSet::load(Some(config), None).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn profile_precedence() {
        assert_eq!(
            choose_profile(Some("a"), &env(&[("AWS_PROFILE", "b")])).name,
            "a"
        );
        assert_eq!(
            choose_profile(
                None,
                &env(&[("AWS_PROFILE", "b"), ("AWS_DEFAULT_PROFILE", "c")])
            )
            .name,
            "b"
        );
        assert_eq!(
            choose_profile(None, &env(&[("AWS_DEFAULT_PROFILE", "c")])).name,
            "c"
        );
        let d = choose_profile(None, &env(&[]));
        assert!(!d.explicit && d.name == "default");
    }

    #[test]
    fn region_and_output_precedence() {
        let f = files("[default]\nregion = r-file\noutput = text\n");
        let p = f.set.profile("default");
        assert_eq!(
            region(
                None,
                &env(&[("AWS_DEFAULT_REGION", "d"), ("AWS_REGION", "e")]),
                p
            )
            .unwrap(),
            "e"
        );
        assert_eq!(
            region(None, &env(&[("AWS_DEFAULT_REGION", "d")]), p).unwrap(),
            "d"
        );
        assert_eq!(region(None, &env(&[]), p).unwrap(), "r-file");
        assert_eq!(
            region(Some("c"), &env(&[("AWS_REGION", "e")]), p).unwrap(),
            "c"
        );
        assert_eq!(output(None, &env(&[]), p), "text");
        assert_eq!(
            output(None, &env(&[("AWS_DEFAULT_OUTPUT", "yaml")]), p),
            "yaml"
        );
        assert_eq!(output(None, &env(&[]), None), "json");
    }

    #[test]
    fn endpoint_precedence() {
        let f = files(
            "[default]\nservices = local\nendpoint_url = http://profile\n[services local]\nsts =\n  endpoint_url = http://svc\n",
        );
        let p = f.set.profile("default");
        let e = |vars: &[(&str, &str)], cli: Option<&str>, id: &str| {
            configured_endpoint(cli, &env(vars), &f, p, id).map(|x| x.0)
        };
        assert_eq!(
            e(
                &[
                    ("AWS_ENDPOINT_URL_STS", "http://envsts"),
                    ("AWS_ENDPOINT_URL", "http://env")
                ],
                None,
                "STS"
            )
            .unwrap(),
            "http://envsts"
        );
        assert_eq!(
            e(&[("AWS_ENDPOINT_URL", "http://env")], None, "STS").unwrap(),
            "http://env"
        );
        assert_eq!(e(&[], None, "STS").unwrap(), "http://svc");
        assert_eq!(e(&[], None, "IAM").unwrap(), "http://profile");
        assert_eq!(
            e(
                &[("AWS_ENDPOINT_URL", "http://env")],
                Some("http://cli"),
                "STS"
            )
            .unwrap(),
            "http://cli"
        );
        assert_eq!(
            e(
                &[
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                    ("AWS_ENDPOINT_URL", "http://env")
                ],
                None,
                "STS"
            ),
            None
        );
    }

    #[test]
    fn expands_paths() {
        let e = env(&[("X", "/tmp")]);
        assert_eq!(e.expand("~/a"), PathBuf::from("/home/u/a"));
        assert_eq!(e.expand("$X/c"), PathBuf::from("/tmp/c"));
        assert_eq!(e.expand("${X}/c$NOPE"), PathBuf::from("/tmp/c$NOPE"));
    }
}
