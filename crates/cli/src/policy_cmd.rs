//! `kagi policy validate FILE [--policy-type T]` and `kagi policy simulate <args of aws iam
//! simulate-custom-policy>`: offline, through kagi-policy. `kagi policy generate`: the
//! least-privilege policy of a principal from its recorded activity (CloudTrail events read with
//! `LookupEvents`, so kagi's event history and real AWS alike, or a file of records), built by
//! `kagi_policy::generate`.
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

const USAGE: &str = "usage: kagi policy validate FILE [--policy-type IDENTITY_POLICY|RESOURCE_POLICY|TRUST_POLICY|SERVICE_CONTROL_POLICY|RESOURCE_CONTROL_POLICY]\n       kagi policy explain EVENT_ID\n       kagi policy generate --principal ARN [--since DURATION | --start-time T --end-time T]\n                            [--resource-level] [--include-denied] [--from-file FILE]\n       kagi policy simulate --policy-input-list file://p.json --action-names s3:GetObject [...]\n                            [--scp LEVEL:DOC ...] [--rcp LEVEL:DOC ...]\n\n  --scp / --rcp: service control policies of the caller's account / resource control policies\n  of the resource's account. LEVEL: root | ou | ou/NAME | account (root first, OUs in order,\n  account last; several DOCs per level allowed). DOC: file://PATH, PATH, inline JSON,\n  FullAWSAccess or RCPFullAWSAccess. Example:\n    --scp root:FullAWSAccess --scp ou/Prod:file://prod-scp.json --scp account:FullAWSAccess\n";

pub fn run(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(g, &args[1..], env, io),
        Some("simulate") => simulate(g, &args[1..], env, io),
        Some("generate") => generate(g, &args[1..], env, io),
        Some("explain") => explain(g, &args[1..], env, io),
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

const GENERATE_HELP: &str = "\
NAME
       kagi policy generate -

DESCRIPTION
       Prints the identity policy that allows exactly what a principal used
       successfully, from its recorded activity: CloudTrail event records read
       with CloudTrail's LookupEvents (kagi serve's event history, or a real
       account's), newest first, 50 a page, filtered by principal here.

       One statement per service (per service and set of resources with
       --resource-level), each with a Sid, actions sorted, in the format IAM
       accepts, checked by kagi's validator. What was denied, failed with
       another error, or maps to no IAM action is listed on stderr.

SYNOPSIS
       kagi policy generate --principal ARN
          [--since DURATION | --start-time T [--end-time T]]
          [--resource-level] [--include-denied] [--from-file FILE]

OPTIONS
       --principal ARN
          An IAM user (arn:aws:iam::ACCOUNT:user/NAME), or a role
          (arn:aws:iam::ACCOUNT:role/NAME: every session of the role).

       --since DURATION
          The window ends now and starts DURATION ago: 90d, 12h, 30m, 45s, 2w.

       --start-time T, --end-time T
          The window, ISO 8601 (2026-12-07T10:00:00Z) or epoch seconds.
          Without a window, every recorded event (90 days on AWS).

       --resource-level
          Scope each action that supports resource-level permissions to the
          resources the records name (ECR repositories, IAM users and roles,
          ...); actions without resource types stay on \"*\".

       --include-denied
          Also allow what the principal was denied, in statements of their own
          whose Sid ends in DeniedInRecording (Effect Allow: it is what the
          job still needs; review it before granting).

       --from-file FILE
          Read records from FILE instead of calling LookupEvents: a JSON array
          of records, a CloudTrail log file ({\"Records\": [...]}, decompressed),
          saved lookup-events output ({\"Events\": [...]}) or JSON lines.

       --profile, --region, --endpoint-url and the other global options choose
       the account and endpoint, as for any command. On AWS, LookupEvents reads
       one region's event history: calls to IAM and STS's global endpoint are
       recorded in us-east-1, ECR calls in the repository's region.
";

/// `--since` durations: a number and a unit (`s`, `m`, `h`, `d`, `w`).
fn parse_since(v: &str) -> Option<i64> {
    let v = v.trim();
    let unit = v.chars().last()?;
    let n: i64 = v[..v.len() - unit.len_utf8()].parse().ok()?;
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    (n > 0).then(|| n.checked_mul(secs)).flatten()
}

fn parse_time(flag: &str, v: &str) -> Result<kagi_api::Timestamp, CliError> {
    kagi_api::time::parse_any(v).ok_or_else(|| {
        CliError::BadParam(format!(
            "{flag} {v}: expected an ISO 8601 time (2026-12-07T10:00:00Z) or epoch seconds"
        ))
    })
}

fn millis(t: kagi_api::Timestamp) -> i64 {
    t.secs * 1000 + i64::from(t.micros / 1000)
}

/// Records from a file: a JSON array, `{"Records": [...]}`, `{"Events": [...]}` (saved
/// lookup-events output, whose `CloudTrailEvent` strings are the records) or JSON lines.
fn records_from_text(text: &str) -> Result<Vec<Value>, String> {
    let from_events = |events: &[Value]| -> Result<Vec<Value>, String> {
        events
            .iter()
            .map(|e| match e.get("CloudTrailEvent").and_then(Value::as_str) {
                Some(s) => serde_json::from_str(s)
                    .map_err(|err| format!("an event's CloudTrailEvent is not JSON: {err}")),
                None => Ok(e.clone()),
            })
            .collect()
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => from_events(&a),
        Ok(Value::Object(o)) => match (o.get("Records"), o.get("Events")) {
            (Some(Value::Array(r)), _) => Ok(r.clone()),
            (_, Some(Value::Array(e))) => from_events(e),
            _ => Ok(vec![Value::Object(o)]),
        },
        Ok(_) => Err("expected records: a JSON array, an object or JSON lines".into()),
        // JSON lines (kagi serve --audit-log, one record a line).
        Err(whole) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    if i == 0 {
                        format!("not JSON: {whole}")
                    } else {
                        format!("line {}: {e}", i + 1)
                    }
                })
            })
            .collect(),
    }
}

/// `kagi policy explain EVENT_ID`: one recorded call and why it was allowed or denied, from
/// the `additionalEventData.kagiAuthorization` kagi's event history adds for administrators
/// (the caller saw AWS's AccessDenied wording only).
fn explain(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let [id] = args else {
        return Err(CliError::Usage(
            "usage: kagi policy explain EVENT_ID   (an eventID from cloudtrail lookup-events)\n"
                .into(),
        ));
    };
    let records = lookup_events(g, env, io, None, None, Some(("EventId", id)))?;
    let Some(r) = records.first() else {
        return Err(CliError::General(format!(
            "No event {id} in the event history (LookupEvents found nothing)."
        )));
    };
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let who = r["userIdentity"]["arn"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            r["userIdentity"]["accessKeyId"]
                .as_str()
                .map(|k| format!("access key {k}"))
        })
        .unwrap_or_else(|| "-".into());
    let service = text(&r["eventSource"]);
    let service = service.trim_end_matches(".amazonaws.com");
    let mut out = format!(
        "Event {}: {service}:{} by {who}\n  at {} from {} ({})\n",
        text(&r["eventID"]),
        text(&r["eventName"]),
        text(&r["eventTime"]),
        text(&r["sourceIPAddress"]),
        text(&r["userAgent"]),
    );
    match r["errorCode"].as_str() {
        Some(code) => out.push_str(&format!(
            "Result: {code}: {}\n",
            r["errorMessage"].as_str().unwrap_or("")
        )),
        None => out.push_str("Result: succeeded\n"),
    }
    let decisions = r["additionalEventData"]["kagiAuthorization"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if decisions.is_empty() {
        out.push_str("No authorisation decision was recorded (a call that needs none, or a record not made by kagi).\n");
    }
    for d in &decisions {
        out.push_str(&format!(
            "\nDecision: {} on {}: {}\n  because {}\n",
            text(&d["action"]),
            text(&d["resource"]),
            text(&d["decision"]),
            text(&d["reason"]),
        ));
        for st in d["statements"].as_array().into_iter().flatten() {
            let name = st["sid"]
                .as_str()
                .map(|s| format!("\"{s}\""))
                .unwrap_or_else(|| format!("#{}", st["statementIndex"].as_u64().unwrap_or(0) + 1));
            let policy = st["policyArn"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| text(&st["policy"]));
            out.push_str(&format!(
                "  {} statement {name} of {policy} ({} policy) at line {}, column {}\n",
                text(&st["effect"]),
                text(&st["policyType"]),
                st["line"],
                st["column"],
            ));
        }
        if let Some(keys) = d["missingContextKeys"].as_array() {
            let keys: Vec<String> = keys.iter().map(text).collect();
            out.push_str(&format!(
                "  conditions needed context keys the request did not have: {}\n",
                keys.join(", ")
            ));
        }
    }
    io.stdout.write_all(out.as_bytes())?;
    Ok(())
}

/// Every event of the window through CloudTrail's `LookupEvents`, page by page.
fn lookup_events(
    g: &Globals,
    env: &Env,
    io: &mut Io,
    start: Option<kagi_api::Timestamp>,
    end: Option<kagi_api::Timestamp>,
    attribute: Option<(&str, &str)>,
) -> Result<Vec<Value>, CliError> {
    let op = kagi_api::service("cloudtrail")
        .and_then(|s| s.operation("LookupEvents"))
        .ok_or_else(|| {
            CliError::General("cloudtrail LookupEvents missing from the model".into())
        })?;
    let s = crate::http::Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = crate::calls::prepare_op(&s, op, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        let mut records = Vec::new();
        // The previous page's NextToken (a paging cursor, no secret).
        let mut next_page: Option<String> = None;
        loop {
            let mut input = serde_json::Map::new();
            if let Some(t) = start {
                input.insert("StartTime".into(), t.to_value_string().into());
            }
            if let Some(t) = end {
                input.insert("EndTime".into(), t.to_value_string().into());
            }
            input.insert("MaxResults".into(), 50.into());
            if let Some((k, v)) = attribute {
                input.insert(
                    "LookupAttributes".into(),
                    serde_json::json!([{"AttributeKey": k, "AttributeValue": v}]),
                );
            }
            if let Some(t) = &next_page {
                input.insert("NextToken".into(), t.clone().into());
            }
            let page = s.call(op, &ep, sig.as_ref(), &Value::Object(input))?;
            for e in page
                .get("Events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(text) = e.get("CloudTrailEvent").and_then(Value::as_str) else {
                    continue;
                };
                match serde_json::from_str::<Value>(text) {
                    Ok(r) => records.push(r),
                    Err(err) => {
                        return Err(CliError::General(format!(
                            "LookupEvents returned an event whose CloudTrailEvent is not JSON: {err}"
                        )));
                    }
                }
            }
            match page.get("NextToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && next_page.as_deref() != Some(t) => {
                    next_page = Some(t.to_string());
                }
                _ => return Ok(records),
            }
        }
    })();
    crate::calls::flush_debug(&s, io);
    result
}

fn generate(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let mut principal: Option<String> = None;
    let (mut since, mut start, mut end, mut file) = (None, None, None, None);
    let (mut resource_level, mut include_denied) = (false, false);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let value = |i: &mut usize| -> Result<String, CliError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => {
                    *i += 1;
                    args.get(*i).cloned().ok_or_else(|| {
                        CliError::Usage(format!("argument {name}: expected one argument"))
                    })
                }
            }
        };
        match name {
            "help" | "--help" => {
                io.stdout.write_all(GENERATE_HELP.as_bytes())?;
                return Ok(());
            }
            "--principal" | "--principal-arn" => principal = Some(value(&mut i)?),
            "--since" => since = Some(value(&mut i)?),
            "--start-time" => start = Some(value(&mut i)?),
            "--end-time" => end = Some(value(&mut i)?),
            "--from-file" => file = Some(value(&mut i)?),
            "--resource-level" => resource_level = true,
            "--include-denied" => include_denied = true,
            _ => return Err(CliError::UnknownArgs(vec![a.clone()])),
        }
        i += 1;
    }
    let Some(principal) = principal else {
        return Err(CliError::Usage(
            "the following arguments are required: --principal".into(),
        ));
    };
    if since.is_some() && (start.is_some() || end.is_some()) {
        return Err(CliError::Usage(
            "argument --since: not allowed with argument --start-time/--end-time".into(),
        ));
    }
    let (start, end) = match since {
        Some(d) => {
            let secs = parse_since(&d).ok_or_else(|| {
                CliError::BadParam(format!(
                    "--since {d}: expected a duration such as 90d, 12h, 30m, 45s or 2w"
                ))
            })?;
            let now = kagi_api::Timestamp::from_system_time(std::time::SystemTime::now());
            let from = kagi_api::Timestamp {
                secs: now.secs - secs,
                micros: 0,
            };
            (Some(from), None)
        }
        None => (
            start.map(|v| parse_time("--start-time", &v)).transpose()?,
            end.map(|v| parse_time("--end-time", &v)).transpose()?,
        ),
    };
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(CliError::BadParam(
            "--end-time is before --start-time".into(),
        ));
    }
    let opts = kagi_policy::GenerateOptions {
        principal_arn: principal.clone(),
        start_ms: start.map(millis),
        end_ms: end.map(millis),
        resource_level,
        include_denied,
    };
    // The principal is checked before anything is read.
    kagi_policy::generate(&[], &opts).map_err(|e| CliError::BadParam(e.to_string()))?;
    let records = match &file {
        Some(f) => {
            let text = read_doc(f, io, env)?;
            records_from_text(&text).map_err(|e| CliError::BadParam(format!("{f}: {e}")))?
        }
        None => lookup_events(g, env, io, start, end, None)?,
    };
    let out =
        kagi_policy::generate(&records, &opts).map_err(|e| CliError::BadParam(e.to_string()))?;
    let list = |m: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>| {
        m.keys().cloned().collect::<Vec<_>>().join(", ")
    };
    if !out.denied.is_empty() {
        let how = if include_denied {
            "allowed in the DeniedInRecording statements"
        } else {
            "not allowed; --include-denied adds them"
        };
        writeln!(
            io.stderr,
            "Denied in the recording ({how}): {}",
            list(&out.denied)
        )?;
    }
    if !out.failed.is_empty() {
        let detail: Vec<String> = out
            .failed
            .iter()
            .map(|(a, codes)| {
                format!(
                    "{a} ({})",
                    codes.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        writeln!(
            io.stderr,
            "Called but failed with another error (not allowed): {}",
            detail.join(", ")
        )?;
    }
    for u in &out.unmapped {
        writeln!(
            io.stderr,
            "No IAM action for {} {} ({} event{}): left out",
            u.event_source,
            u.event_name,
            u.count,
            if u.count == 1 { "" } else { "s" }
        )?;
    }
    if !out.unverified.is_empty() {
        writeln!(
            io.stderr,
            "Not checked against kagi's action catalogue: {}",
            out.unverified
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    let Some(text) = out.policy_pretty() else {
        return Err(CliError::General(format!(
            "No successful call by {principal} was recorded{} ({} of its events read): there is nothing to allow",
            if opts.start_ms.is_some() || opts.end_ms.is_some() {
                " in the window"
            } else {
                ""
            },
            out.events
        )));
    };
    if kagi_policy::has_errors(&out.findings) {
        return Err(CliError::General(format!(
            "The generated policy does not validate: {}",
            kagi_policy::findings_json(&out.findings)
        )));
    }
    writeln!(io.stdout, "{text}")?;
    Ok(())
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
    fn since_durations() {
        assert_eq!(parse_since("90d"), Some(90 * 86_400));
        assert_eq!(parse_since("12h"), Some(43_200));
        assert_eq!(parse_since("2w"), Some(1_209_600));
        for bad in ["", "d", "0d", "-1h", "5y", "1.5h"] {
            assert_eq!(parse_since(bad), None, "{bad}");
        }
    }

    #[test]
    fn record_files_in_every_shape() {
        let rec = r#"{"eventName":"PutImage","eventSource":"ecr.amazonaws.com"}"#;
        let shapes = [
            format!("[{rec},{rec}]"),
            format!(r#"{{"Records":[{rec},{rec}]}}"#),
            format!("{rec}\n\n{rec}\n"),
            format!(
                r#"{{"Events":[{{"CloudTrailEvent":{0}}},{{"CloudTrailEvent":{0}}}]}}"#,
                serde_json::to_string(rec).unwrap()
            ),
        ];
        for text in &shapes {
            let r = records_from_text(text).unwrap();
            assert_eq!(r.len(), 2, "{text}");
            assert_eq!(r[1]["eventName"], "PutImage");
        }
        assert!(
            records_from_text(&format!("{rec}\nnot json"))
                .unwrap_err()
                .starts_with("line 2")
        );
        assert!(records_from_text("42").is_err());
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
