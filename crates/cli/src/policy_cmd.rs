//! `kagi policy validate FILE [--policy-type T]` and `kagi policy simulate <args of aws iam
//! simulate-custom-policy>`: offline, through kagi-policy.
//!
//! `validate` prints Access Analyzer's `{"findings": [...]}` and exits 1 when a finding is an
//! `ERROR` (a document that does not parse is one). `simulate` parses its arguments with IAM's
//! `SimulateCustomPolicy` model (so every option of the AWS CLI command works) and prints the
//! `SimulatePolicyResponse` in the chosen output format.

use serde_json::Value;

use kagi_policy::PolicyType;

use crate::config::Env;
use crate::output::{self, Doc};
use crate::{CliError, Globals, Io};

const USAGE: &str = "usage: kagi policy validate FILE [--policy-type IDENTITY_POLICY|RESOURCE_POLICY|TRUST_POLICY]\n       kagi policy simulate --policy-input-list file://p.json --action-names s3:GetObject [...]\n";

pub fn run(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(g, &args[1..], env, io),
        Some("simulate") => simulate(g, &args[1..], env, io),
        Some("help") | None => {
            io.stdout.write_all(USAGE.as_bytes())?;
            if args.is_empty() {
                Err(CliError::Silent(252))
            } else {
                Ok(())
            }
        }
        Some(other) => Err(CliError::Usage(format!(
            "argument subcommand: Found invalid choice '{other}'\n"
        ))),
    }
}

fn read_doc(arg: &str, io: &mut Io, env: &Env) -> Result<String, CliError> {
    if arg == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut io.stdin, &mut s)?;
        return Ok(s);
    }
    let path = arg.strip_prefix("file://").unwrap_or(arg);
    std::fs::read_to_string(env.expand(path))
        .map_err(|e| CliError::BadParam(format!("Unable to read policy document {arg}: {e}")))
}

fn validate(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let mut file: Option<String> = None;
    let mut policy_type = PolicyType::Identity;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        match name {
            "--policy-type" | "--validate-policy-resource-type" | "--policy-document" => {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i).cloned().ok_or_else(|| {
                            CliError::Usage(format!("argument {name}: expected one argument"))
                        })?
                    }
                };
                match name {
                    "--policy-document" => file = Some(v),
                    "--validate-policy-resource-type" => {
                        if v == "AWS::IAM::AssumeRolePolicyDocument" {
                            policy_type = PolicyType::Trust;
                        }
                    }
                    _ => {
                        policy_type = match v.as_str() {
                            "IDENTITY_POLICY" => PolicyType::Identity,
                            "RESOURCE_POLICY" => PolicyType::Resource,
                            "TRUST_POLICY" => PolicyType::Trust,
                            other => {
                                return Err(CliError::Usage(format!(
                                    "argument --policy-type: Found invalid choice '{other}'\n"
                                )));
                            }
                        }
                    }
                }
            }
            "help" => {
                io.stdout.write_all(USAGE.as_bytes())?;
                return Ok(());
            }
            _ if a.starts_with("--") => return Err(CliError::UnknownArgs(vec![a.clone()])),
            _ if file.is_none() => file = Some(a.clone()),
            _ => return Err(CliError::UnknownArgs(vec![a.clone()])),
        }
        i += 1;
    }
    let Some(file) = file else {
        return Err(CliError::Usage(
            "the following arguments are required: FILE".into(),
        ));
    };
    let text = if file.starts_with('{') {
        file.clone()
    } else {
        read_doc(&file, io, env)?
    };
    let findings = kagi_policy::validate(&text, policy_type);
    let doc = Doc::from_value(&kagi_policy::findings_json(&findings));
    let out = match g.output.as_deref() {
        Some("yaml") => output::to_yaml(&doc),
        Some("text") => output::to_text(&doc),
        Some("table") => output::to_table("ValidatePolicy", &doc, 80, false),
        _ => output::to_json(&doc),
    };
    io.stdout.write_all(out.as_bytes())?;
    if kagi_policy::has_errors(&findings) {
        Err(CliError::Silent(1))
    } else {
        Ok(())
    }
}

fn simulate(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let iam =
        kagi_api::service("iam").ok_or_else(|| CliError::General("iam model missing".into()))?;
    let op = iam
        .operation("SimulateCustomPolicy")
        .ok_or_else(|| CliError::General("SimulateCustomPolicy missing from the model".into()))?;
    let parsed = crate::params::parse(op, args, env, "base64")?;
    if parsed.help {
        return crate::help::operation(op, io);
    }
    let input = Value::Object(parsed.input);
    let out =
        kagi_policy::simulate_custom_policy(&input, std::time::SystemTime::now()).map_err(|e| {
            CliError::Service {
                code: e.code.as_str().to_string(),
                message: e.message.clone(),
                operation: "SimulateCustomPolicy".into(),
                retries: 0,
            }
        })?;
    let pages = crate::invoke::Pages {
        full: out.clone(),
        pages: vec![out],
        result_pages: None,
        next_token: None,
    };
    // No network: the session only supplies output settings.
    let files_ok = crate::http::Session::new(env, g)?;
    crate::invoke::print_result(&files_ok, op, pages, io)
}
