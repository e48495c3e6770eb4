//! The evaluation corpus: `tests/corpus/evaluation.json`, one case per documented rule.
//!
//! Each case gives the policies (identity list, optional resource/trust policy, boundary,
//! session policies), the principal, the action, the resource and extra context keys, and the
//! expected decision; optionally the missing context keys and AWS's AccessDenied message. Every
//! case cites the AWS documentation rule it checks in `rule`.
//!
//! AWS Organizations policies: `scp` (the principal's account) and `rcp` (the resource's
//! account) list the levels of the organization path, root first, each
//! `{"at": "root"|"ou NAME"|"account", "policies": [...]}`; a policy is a document (statement
//! list or text), `{"arn": ..., "document": ...}`, or the name of an AWS-managed document
//! (`"FullAWSAccess"`, `"RCPFullAWSAccess"`). `organizations_allows` checks IAM's
//! `AllowedByOrganizations`.
//!
//! The request context is built like the server builds it: the global keys from the principal
//! and the request facts (time 2026-11-24T10:30:00Z, source IP 127.0.0.1, plain HTTP, region
//! ap-northeast-1), then the case's `context` (a `null` value removes a key).

use std::time::{Duration, UNIX_EPOCH};

use kagi_policy::{
    CompiledPolicy, Context, ContextType, Policies, PolicyMeta, PolicyOrigin, PolicyType,
    PrincipalInfo, PrincipalType, Request, RequestFacts, ResourcePolicyKind, evaluate,
    global_context, organizations,
};
use serde_json::{Value, json};

fn policy_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(stmts) => json!({"Version": "2012-10-17", "Statement": stmts}).to_string(),
        other => other.to_string(),
    }
}

fn compile(v: &Value, t: PolicyType, id: &str) -> CompiledPolicy {
    let text = policy_text(v);
    CompiledPolicy::from_text(&text, t, PolicyMeta::named(id))
        .unwrap_or_else(|e| panic!("policy {id} does not parse: {e}\n{text}"))
}

/// The levels of an `scp` / `rcp` member: one list of compiled policies per level.
fn org_levels(v: Option<&Value>, t: PolicyType, case: &str) -> Option<Vec<Vec<CompiledPolicy>>> {
    let levels = v?.as_array().expect("scp/rcp is a list of levels");
    Some(
        levels
            .iter()
            .map(|level| {
                let at = level["at"].as_str().expect("level.at");
                level["policies"]
                    .as_array()
                    .expect("level.policies")
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match p {
                        Value::String(s) if s == "FullAWSAccess" => {
                            organizations::full_aws_access()
                        }
                        Value::String(s) if s == "RCPFullAWSAccess" => {
                            organizations::rcp_full_aws_access()
                        }
                        Value::Object(o) if o.contains_key("document") => {
                            let text = policy_text(&o["document"]);
                            let meta = PolicyMeta {
                                id: format!("{at}.{}", i + 1),
                                arn: o.get("arn").and_then(Value::as_str).map(str::to_string),
                                origin: PolicyOrigin::None,
                            };
                            CompiledPolicy::from_text(&text, t, meta).unwrap_or_else(|e| {
                                panic!("case {case}: {at} policy does not parse: {e}\n{text}")
                            })
                        }
                        other => compile(other, t, &format!("{at}.{}", i + 1)),
                    })
                    .collect()
            })
            .collect(),
    )
}

fn principal(v: Option<&Value>, has_boundary: bool) -> PrincipalInfo {
    let (arn, obj) = match v {
        None => ("arn:aws:iam::123456789012:user/alice".to_string(), None),
        Some(Value::String(s)) => (s.clone(), None),
        Some(o) => (o["arn"].as_str().unwrap().to_string(), Some(o)),
    };
    let mut p = PrincipalInfo::from_arn(&arn).expect("principal ARN");
    match p.kind {
        PrincipalType::User => {
            let name = p.user_name.clone().unwrap_or_default().to_uppercase();
            p.unique_id = format!("AIDAEXAMPLE{name}00001");
        }
        PrincipalType::AssumedRole => {
            let s = p.session.as_mut().unwrap();
            s.role_id = "AROAEXAMPLEROLE00001".into();
            p.unique_id = format!("AROAEXAMPLEROLE00001:{}", s.session_name);
        }
        _ => {}
    }
    p.has_permissions_boundary = has_boundary;
    if let Some(o) = obj {
        if let Some(id) = o.get("id").and_then(Value::as_str) {
            p.unique_id = id.into();
        }
        if let Some(r) = o.get("role_id").and_then(Value::as_str) {
            p.session.as_mut().unwrap().role_id = r.into();
        }
        if let Some(Value::Object(tags)) = o.get("tags") {
            p.tags = tags
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
        }
        if o.get("boundary").and_then(Value::as_bool) == Some(true) {
            p.has_permissions_boundary = true;
        }
    }
    p
}

#[test]
fn corpus() {
    let data: Value = serde_json::from_str(include_str!("corpus/evaluation.json")).unwrap();
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());
    let facts = RequestFacts {
        now: UNIX_EPOCH + Duration::from_secs(1_795_516_200),
        source_ip: Some("127.0.0.1".parse().unwrap()),
        secure_transport: false,
        requested_region: Some("ap-northeast-1".into()),
    };
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let rule = c["rule"].as_str().unwrap();
        assert!(
            rule.contains("https://docs.aws.amazon.com/") || rule.contains("shared/reference/"),
            "case {name} cites no documentation"
        );
        let identity: Vec<CompiledPolicy> = c
            .get("identity")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, p)| compile(p, PolicyType::Identity, &format!("identity.{}", i + 1)))
                    .collect()
            })
            .unwrap_or_default();
        let trust = c.get("resource_kind").and_then(Value::as_str) == Some("trust");
        let resource = c.get("resource_policy").map(|p| {
            compile(
                p,
                if trust {
                    PolicyType::Trust
                } else {
                    PolicyType::Resource
                },
                "resource",
            )
        });
        let boundary = c
            .get("boundary")
            .map(|p| compile(p, PolicyType::Identity, "boundary"));
        let session: Vec<CompiledPolicy> = c
            .get("session_policies")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| compile(p, PolicyType::Identity, "session"))
                    .collect()
            })
            .unwrap_or_default();
        let p = principal(c.get("principal"), boundary.is_some());
        let mut ctx: Context = global_context(&p, &facts);
        if let Some(Value::Object(extra)) = c.get("context") {
            for (k, v) in extra {
                match v {
                    Value::Null => ctx.remove(k),
                    Value::String(s) => ctx.set_string(k, s.clone()),
                    Value::Array(a) => ctx.set_list(
                        k,
                        ContextType::String,
                        a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                    ),
                    other => panic!("case {name}: bad context value {other}"),
                }
            }
        }
        let id_refs: Vec<&CompiledPolicy> = identity.iter().collect();
        let sess_refs: Vec<&CompiledPolicy> = session.iter().collect();
        let scp = org_levels(c.get("scp"), PolicyType::ServiceControl, name);
        let rcp = org_levels(c.get("rcp"), PolicyType::ResourceControl, name);
        let scp_levels: Option<Vec<Vec<&CompiledPolicy>>> = scp
            .as_ref()
            .map(|l| l.iter().map(|p| p.iter().collect()).collect());
        let rcp_levels: Option<Vec<Vec<&CompiledPolicy>>> = rcp
            .as_ref()
            .map(|l| l.iter().map(|p| p.iter().collect()).collect());
        let scp_refs: Option<Vec<&[&CompiledPolicy]>> = scp_levels
            .as_ref()
            .map(|l| l.iter().map(Vec::as_slice).collect());
        let rcp_refs: Option<Vec<&[&CompiledPolicy]>> = rcp_levels
            .as_ref()
            .map(|l| l.iter().map(Vec::as_slice).collect());
        let policies = Policies {
            identity: &id_refs,
            resource: resource.as_ref(),
            resource_kind: if trust {
                ResourcePolicyKind::Trust
            } else {
                ResourcePolicyKind::Resource
            },
            resource_owner: c.get("resource_owner").and_then(Value::as_str),
            permissions_boundary: boundary.as_ref(),
            session: &sess_refs,
            scp: scp_refs.as_deref(),
            rcp: rcp_refs.as_deref(),
        };
        let action = c["action"].as_str().unwrap();
        let res = c["resource"].as_str().unwrap();
        let ev = evaluate(
            &Request {
                principal: &p,
                action,
                resource: res,
                context: &ctx,
            },
            &policies,
        );
        let expect = c["expect"].as_str().unwrap();
        if ev.decision.as_str() != expect {
            failures.push(format!(
                "{name}: expected {expect}, got {} ({})\n    rule: {rule}",
                ev.decision.as_str(),
                ev.explain()
            ));
            continue;
        }
        if let Some(Value::Array(missing)) = c.get("missing") {
            for m in missing {
                let m = m.as_str().unwrap();
                if !ev
                    .missing_context_keys
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(m))
                {
                    failures.push(format!(
                        "{name}: expected missing key {m}, got {:?}",
                        ev.missing_context_keys
                    ));
                }
            }
        }
        if let Some(expected) = c.get("organizations_allows") {
            let got = ev.organizations_allows();
            if got != expected.as_bool() {
                failures.push(format!(
                    "{name}: organizations_allows expected {expected}, got {got:?}"
                ));
            }
        }
        if let Some(msg) = c.get("message").and_then(Value::as_str) {
            let got = ev.access_denied_message(&p.arn, action, res);
            if got.as_deref() != Some(msg) {
                failures.push(format!(
                    "{name}: message\n    expected {msg}\n    got      {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
