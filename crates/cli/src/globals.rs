//! Global options (`awscli/data/cli.json`), accepted anywhere on the command line.

use crate::{CliError, Env};

/// Parsed global options.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub output: Option<String>,
    pub query: Option<String>,
    pub endpoint_url: Option<String>,
    pub debug: bool,
    pub no_cli_pager: bool,
    pub no_paginate: bool,
    pub no_verify_ssl: bool,
    pub no_sign_request: bool,
    pub version: bool,
    pub color: Option<String>,
    pub ca_bundle: Option<String>,
    pub read_timeout: Option<u64>,
    pub connect_timeout: Option<u64>,
    pub cli_binary_format: Option<String>,
    pub cli_error_format: Option<String>,
}

const OUTPUTS: &[&str] = &["json", "text", "table", "yaml", "yaml-stream", "off"];

impl Globals {
    pub fn error_format(&self, env: &Env) -> Option<String> {
        self.cli_error_format
            .clone()
            .or_else(|| env.var("AWS_CLI_ERROR_FORMAT").map(str::to_string))
            .map(|s| s.to_ascii_lowercase())
    }
}

fn choice(opt: &str, v: &str, choices: &[&str]) -> Result<(), CliError> {
    if choices.contains(&v) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "argument {opt}: Found invalid choice '{v}'\n"
        )))
    }
}

fn timeout(opt: &str, v: &str) -> Result<u64, CliError> {
    v.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .map(|f| f as u64)
        .ok_or_else(|| CliError::Usage(format!("argument {opt}: invalid int value: '{v}'")))
}

/// Splits argv (without argv[0]) into global options and the rest (command, subcommand, params).
pub fn split(args: &[String]) -> Result<(Globals, Vec<String>), CliError> {
    let mut g = Globals::default();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let takes_value = matches!(
            name,
            "--profile"
                | "--region"
                | "--output"
                | "--query"
                | "--endpoint-url"
                | "--color"
                | "--ca-bundle"
                | "--cli-read-timeout"
                | "--cli-connect-timeout"
                | "--cli-binary-format"
                | "--cli-error-format"
        );
        let is_flag = matches!(
            name,
            "--debug"
                | "--no-cli-pager"
                | "--no-paginate"
                | "--no-verify-ssl"
                | "--no-sign-request"
                | "--version"
                | "--cli-auto-prompt"
                | "--no-cli-auto-prompt"
        );
        if takes_value {
            let value = match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    match args.get(i) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(CliError::Usage(format!(
                                "argument {name}: expected one argument"
                            )));
                        }
                    }
                }
            };
            match name {
                "--profile" => g.profile = Some(value),
                "--region" => g.region = Some(value),
                "--output" => {
                    choice(name, &value, OUTPUTS)?;
                    g.output = Some(value)
                }
                "--query" => g.query = Some(value),
                "--endpoint-url" => g.endpoint_url = Some(value),
                "--color" => {
                    choice(name, &value, &["on", "off", "auto"])?;
                    g.color = Some(value)
                }
                "--ca-bundle" => g.ca_bundle = Some(value),
                "--cli-read-timeout" => g.read_timeout = Some(timeout(name, &value)?),
                "--cli-connect-timeout" => g.connect_timeout = Some(timeout(name, &value)?),
                "--cli-binary-format" => {
                    choice(name, &value, &["base64", "raw-in-base64-out"])?;
                    g.cli_binary_format = Some(value)
                }
                "--cli-error-format" => g.cli_error_format = Some(value),
                _ => unreachable!(),
            }
        } else if is_flag && inline.is_none() {
            match name {
                "--debug" => g.debug = true,
                "--no-cli-pager" => g.no_cli_pager = true,
                "--no-paginate" => g.no_paginate = true,
                "--no-verify-ssl" => g.no_verify_ssl = true,
                "--no-sign-request" => g.no_sign_request = true,
                "--version" => g.version = true,
                _ => {}
            }
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    Ok((g, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn globals_anywhere() {
        let (g, rest) = split(&s(&[
            "sts",
            "--profile",
            "p",
            "get-caller-identity",
            "--output=text",
            "--debug",
        ]))
        .unwrap();
        assert_eq!(g.profile.as_deref(), Some("p"));
        assert_eq!(g.output.as_deref(), Some("text"));
        assert!(g.debug);
        assert_eq!(rest, s(&["sts", "get-caller-identity"]));
    }

    #[test]
    fn bad_output_choice() {
        let e = split(&s(&["--output", "xml"])).unwrap_err();
        assert_eq!(e.exit_code(), 252);
        assert!(
            e.message()
                .contains("argument --output: Found invalid choice 'xml'")
        );
    }
}
