//! `kagi policy validate FILE [--policy-type T]` and `kagi policy simulate <args of aws iam
//! simulate-custom-policy>`: offline, through kagi-policy.
//!
//! `validate` prints Access Analyzer's `{"findings": [...]}` and exits 1 when a finding is an
//! `ERROR` (a document that does not parse is one). `simulate` parses its arguments with IAM's
//! `SimulateCustomPolicy` model (so every option of the AWS CLI command works) and prints the
//! `SimulatePolicyResponse` in the chosen output format.
//!
//! `simulate` also takes AWS Organizations policies, kagi's extension (IAM's simulator has no
//! such input): `--scp LEVEL:DOC` for the caller's account, `--rcp LEVEL:DOC` for the
//! resource's account. LEVEL is `root`, `ou` or `ou/NAME` (one per OU on the path), or
//! `account`; the levels are evaluated root first, the OUs in the order they first appear,
//! the account last; several documents may be given per level. DOC is `file://PATH`, a path,
//! inline JSON, or `FullAWSAccess` / `RCPFullAWSAccess` for the AWS-managed documents. Only
//! the levels given are evaluated (give every level of the path to mirror AWS, where each has
//! at least one policy). With them, each result has `OrganizationsDecisionDetail` and
//! `EvalDecisionDetails` entries for the service / resource control policies; without them the
//! output is unchanged.

use serde_json::Value;

use kagi_policy::{CompiledPolicy, PolicyMeta, PolicyOrigin, PolicyType};

use crate::config::Env;
use crate::output::{self, Doc};
use crate::{CliError, Globals, Io};

const USAGE: &str = "usage: kagi policy validate FILE [--policy-type IDENTITY_POLICY|RESOURCE_POLICY|TRUST_POLICY|SERVICE_CONTROL_POLICY|RESOURCE_CONTROL_POLICY]\n       kagi policy simulate --policy-input-list file://p.json --action-names s3:GetObject [...]\n                            [--scp LEVEL:DOC ...] [--rcp LEVEL:DOC ...]\n\n  --scp / --rcp: service control policies of the caller's account / resource control policies\n  of the resource's account. LEVEL: root | ou | ou/NAME | account (root first, OUs in order,\n  account last; several DOCs per level allowed). DOC: file://PATH, PATH, inline JSON,\n  FullAWSAccess or RCPFullAWSAccess. Example:\n    --scp root:FullAWSAccess --scp ou/Prod:file://prod-scp.json --scp account:FullAWSAccess\n";

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

/// Appended to `kagi policy simulate help`: the options kagi adds to `SimulateCustomPolicy`.
const SIMULATE_EXTENSION_HELP: &str = "\nKAGI OPTIONS\n       --scp LEVEL:DOC (repeatable)\n          A service control policy of the caller's account, attached at LEVEL:\n          root, ou, ou/NAME (one per OU on the path) or account. Levels are\n          evaluated root first, OUs in order of appearance, account last; each\n          level needs an Allow, a Deny anywhere wins. DOC is file://PATH, a path,\n          inline JSON or FullAWSAccess.\n\n       --rcp LEVEL:DOC (repeatable)\n          A resource control policy of the resource's account, same levels;\n          DOC may be RCPFullAWSAccess. Applied to actions of services that\n          support RCPs.\n";

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
                            "SERVICE_CONTROL_POLICY" => PolicyType::ServiceControl,
                            "RESOURCE_CONTROL_POLICY" => PolicyType::ResourceControl,
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

/// Which Organizations policy an `--scp` / `--rcp` argument gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrgKind {
    Scp,
    Rcp,
}

impl OrgKind {
    fn flag(self) -> &'static str {
        match self {
            OrgKind::Scp => "--scp",
            OrgKind::Rcp => "--rcp",
        }
    }

    fn policy_type(self) -> PolicyType {
        match self {
            OrgKind::Scp => PolicyType::ServiceControl,
            OrgKind::Rcp => PolicyType::ResourceControl,
        }
    }
}

/// One `--scp LEVEL:DOC` / `--rcp LEVEL:DOC` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
struct OrgArg {
    kind: OrgKind,
    level: String,
    doc: String,
}

/// Splits kagi's `--scp` / `--rcp` arguments from the `SimulateCustomPolicy` ones.
fn take_org_args(args: &[String]) -> Result<(Vec<String>, Vec<OrgArg>), CliError> {
    let mut rest = Vec::with_capacity(args.len());
    let mut org = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n == "--scp" || n == "--rcp" => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let kind = match name {
            "--scp" => OrgKind::Scp,
            "--rcp" => OrgKind::Rcp,
            _ => {
                rest.push(a.clone());
                i += 1;
                continue;
            }
        };
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i).cloned().ok_or_else(|| {
                    CliError::Usage(format!("argument {name}: expected one argument"))
                })?
            }
        };
        let Some((level, doc)) = value.split_once(':') else {
            return Err(CliError::BadParam(format!(
                "{name} {value}: write LEVEL:DOC, LEVEL being root, ou, ou/NAME or account (e.g. {name} root:file://policy.json)"
            )));
        };
        let level_ok = matches!(level, "root" | "ou" | "account")
            || level.strip_prefix("ou/").is_some_and(|n| !n.is_empty());
        if !level_ok || doc.is_empty() {
            return Err(CliError::BadParam(format!(
                "{name} {value}: the level must be root, ou, ou/NAME or account, followed by :DOC"
            )));
        }
        org.push(OrgArg {
            kind,
            level: level.to_string(),
            doc: doc.to_string(),
        });
        i += 1;
    }
    Ok((rest, org))
}

/// The levels of one kind, in organization order: root, the OUs in the order they first
/// appear, the account. Each level keeps its name and documents in argument order.
fn ordered_levels(org: &[OrgArg], kind: OrgKind) -> Vec<(String, Vec<String>)> {
    let rank = |l: &str| match l {
        "root" => 0,
        "account" => 2,
        _ => 1,
    };
    let mut levels: Vec<(String, Vec<String>)> = Vec::new();
    for a in org.iter().filter(|a| a.kind == kind) {
        match levels.iter_mut().find(|(l, _)| *l == a.level) {
            Some((_, docs)) => docs.push(a.doc.clone()),
            None => levels.push((a.level.clone(), vec![a.doc.clone()])),
        }
    }
    // A stable sort keeps the OUs in their order of appearance.
    levels.sort_by_key(|(l, _)| rank(l));
    levels
}

/// Compiles the documents of the levels of one kind.
fn compile_levels(
    org: &[OrgArg],
    kind: OrgKind,
    io: &mut Io,
    env: &Env,
) -> Result<Option<Vec<Vec<CompiledPolicy>>>, CliError> {
    let levels = ordered_levels(org, kind);
    if levels.is_empty() {
        return Ok(None);
    }
    let prefix = match kind {
        OrgKind::Scp => "scp",
        OrgKind::Rcp => "rcp",
    };
    let mut out = Vec::with_capacity(levels.len());
    for (level, docs) in levels {
        let mut compiled = Vec::with_capacity(docs.len());
        for (n, doc) in docs.iter().enumerate() {
            let arg = format!("{} {level}:{doc}", kind.flag());
            let p = match (kind, doc.as_str()) {
                (OrgKind::Scp, "FullAWSAccess") => {
                    let mut p = kagi_policy::organizations::full_aws_access();
                    p.meta.id = format!("{prefix}.{level}.FullAWSAccess");
                    p
                }
                (OrgKind::Rcp, "RCPFullAWSAccess") => {
                    let mut p = kagi_policy::organizations::rcp_full_aws_access();
                    p.meta.id = format!("{prefix}.{level}.RCPFullAWSAccess");
                    p
                }
                _ => {
                    let text = if doc.trim_start().starts_with('{') {
                        doc.clone()
                    } else {
                        read_doc(doc, io, env)?
                    };
                    let meta = PolicyMeta {
                        id: format!("{prefix}.{level}.{}", n + 1),
                        arn: None,
                        origin: PolicyOrigin::None,
                    };
                    CompiledPolicy::from_text(&text, kind.policy_type(), meta)
                        .map_err(|e| CliError::BadParam(format!("{arg}: {e}")))?
                }
            };
            compiled.push(p);
        }
        out.push(compiled);
    }
    Ok(Some(out))
}

fn level_refs(l: &Option<Vec<Vec<CompiledPolicy>>>) -> Option<Vec<Vec<&CompiledPolicy>>> {
    l.as_ref()
        .map(|l| l.iter().map(|p| p.iter().collect()).collect())
}

fn simulate(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let iam =
        kagi_api::service("iam").ok_or_else(|| CliError::General("iam model missing".into()))?;
    let op = iam
        .operation("SimulateCustomPolicy")
        .ok_or_else(|| CliError::General("SimulateCustomPolicy missing from the model".into()))?;
    let (args, org) = take_org_args(args)?;
    let parsed = crate::params::parse(op, &args, env, "base64")?;
    if parsed.help {
        crate::help::operation(op, io)?;
        io.stdout.write_all(SIMULATE_EXTENSION_HELP.as_bytes())?;
        return Ok(());
    }
    let scp = compile_levels(&org, OrgKind::Scp, io, env)?;
    let rcp = compile_levels(&org, OrgKind::Rcp, io, env)?;
    let (scp_refs, rcp_refs) = (level_refs(&scp), level_refs(&rcp));
    let scp_levels: Option<Vec<&[&CompiledPolicy]>> = scp_refs
        .as_ref()
        .map(|l| l.iter().map(Vec::as_slice).collect());
    let rcp_levels: Option<Vec<&[&CompiledPolicy]>> = rcp_refs
        .as_ref()
        .map(|l| l.iter().map(Vec::as_slice).collect());
    let input = Value::Object(parsed.input);
    let out = kagi_policy::simulate_custom_policy_with(
        &input,
        std::time::SystemTime::now(),
        kagi_policy::OrganizationsPolicies {
            scp: scp_levels.as_deref(),
            rcp: rcp_levels.as_deref(),
        },
    )
    .map_err(|e| CliError::Service {
        code: e.code.as_str().to_string(),
        message: e.message.clone(),
        operation: "SimulateCustomPolicy".into(),
        retries: 0,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn organizations_arguments_are_split_and_ordered() {
        let (rest, org) = take_org_args(&strings(&[
            "--action-names",
            "s3:GetObject",
            "--scp",
            "account:FullAWSAccess",
            "--scp=ou/Prod:file://prod.json",
            "--rcp",
            "root:RCPFullAWSAccess",
            "--scp",
            "root:FullAWSAccess",
            "--scp",
            "ou/Prod/Web:{\"Version\":\"2012-10-17\"}",
            "--scp",
            "ou/Prod:FullAWSAccess",
        ]))
        .unwrap();
        assert_eq!(rest, strings(&["--action-names", "s3:GetObject"]));
        assert_eq!(org.len(), 6);
        let levels = ordered_levels(&org, OrgKind::Scp);
        let names: Vec<&str> = levels.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(names, ["root", "ou/Prod", "ou/Prod/Web", "account"]);
        assert_eq!(levels[1].1, strings(&["file://prod.json", "FullAWSAccess"]));
        assert_eq!(ordered_levels(&org, OrgKind::Rcp).len(), 1);
    }

    #[test]
    fn organizations_argument_errors() {
        for bad in [
            &["--scp"][..],
            &["--scp", "file://x.json"],
            &["--rcp", "region:FullAWSAccess"],
            &["--scp", "ou/:x.json"],
            &["--scp", "root:"],
        ] {
            assert!(take_org_args(&strings(bad)).is_err(), "{bad:?}");
        }
    }
}
