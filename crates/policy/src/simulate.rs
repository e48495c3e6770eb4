//! IAM's policy simulator, offline: `SimulateCustomPolicy` from a request-shaped
//! `serde_json::Value`, and [`simulate`] for callers (the server's `SimulatePrincipalPolicy`)
//! that already hold compiled policies. Output is the `SimulatePolicyResponse` shape.
//!
//! Positions follow what IAM returns (see `aws iam simulate-custom-policy` example 1 in the AWS
//! CLI documentation): `StartPosition` is the 1-based column just after the statement's `{`,
//! `EndPosition` the 1-based column just after its `}`.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::ast::{Effect, PolicyType};
use crate::context::{Context, ContextType, ContextValue, PrincipalInfo, PrincipalType};
use crate::error::PolicyError;
use crate::eval::{
    CompiledPolicy, Decision, Evaluation, Policies, PolicyMeta, PolicyOrigin, PolicyRole,
    ResourcePolicyKind, evaluate,
};

/// Everything one simulation needs, for callers that hold compiled policies.
#[derive(Clone, Copy, Debug)]
pub struct SimulationInput<'a> {
    pub principal: &'a PrincipalInfo,
    pub policies: Policies<'a>,
    pub actions: &'a [String],
    /// Empty = `["*"]`.
    pub resources: &'a [String],
    pub context: &'a Context,
    /// Whether `ResourceArns` were given (then each result has `ResourceSpecificResults`).
    pub resource_specific: bool,
}

/// Runs a simulation; returns the `SimulatePolicyResponse` members.
///
/// Resource control policies ([`Policies::rcp`]) are applied only to actions of services that
/// support RCPs ([`crate::organizations::rcp_supports_service`]).
pub fn simulate(input: &SimulationInput<'_>) -> Value {
    let star = ["*".to_string()];
    let resources = if input.resources.is_empty() {
        &star[..]
    } else {
        input.resources
    };
    let mut results = Vec::new();
    for action in input.actions {
        let mut policies = input.policies;
        let service = action.split_once(':').map_or(action.as_str(), |(s, _)| s);
        if !crate::organizations::rcp_supports_service(service) {
            policies.rcp = None;
        }
        for resource in resources {
            let ev = evaluate(
                &crate::eval::Request {
                    principal: input.principal,
                    action,
                    resource,
                    context: input.context,
                },
                &policies,
            );
            results.push(evaluation_result(
                action,
                resource,
                &ev,
                &policies,
                input.resource_specific,
            ));
        }
    }
    json!({ "EvaluationResults": results, "IsTruncated": false })
}

fn position(line: u32, column: u32) -> Value {
    json!({ "Line": line, "Column": column })
}

fn statements_json(ev: &Evaluation<'_>) -> Vec<Value> {
    let effect = match ev.decision {
        Decision::ExplicitDeny => Effect::Deny,
        _ => Effect::Allow,
    };
    ev.matched_with(effect)
        .map(|m| {
            let sp = m.span();
            let mut o = Map::new();
            o.insert(
                "SourcePolicyId".into(),
                Value::String(m.policy.meta.id.clone()),
            );
            if m.policy.meta.origin != PolicyOrigin::None {
                o.insert(
                    "SourcePolicyType".into(),
                    Value::String(m.policy.meta.origin.as_str().into()),
                );
            }
            o.insert(
                "StartPosition".into(),
                position(sp.start.line, sp.start.column + 1),
            );
            o.insert("EndPosition".into(), position(sp.end.line, sp.end.column));
            Value::Object(o)
        })
        .collect()
}

/// The simulator's decision for the policies of one role: `explicitDeny` when one of its
/// statements denies, else `allowed` / `implicitDeny`.
fn role_decision(ev: &Evaluation<'_>, role: PolicyRole, allows: bool) -> Decision {
    if ev
        .matched
        .iter()
        .any(|m| m.role == role && m.effect == Effect::Deny)
    {
        Decision::ExplicitDeny
    } else if allows {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

/// One `EvaluationResult` for an evaluation.
///
/// With SCPs or RCPs ([`Policies::scp`], [`Policies::rcp`]) the result also has IAM's
/// `OrganizationsDecisionDetail` (`AllowedByOrganizations`) and `EvalDecisionDetails` entries
/// `Service Control Policy` / `Resource Control Policy` beside `IAM Policy`; without them the
/// result is unchanged.
pub fn evaluation_result(
    action: &str,
    resource: &str,
    ev: &Evaluation<'_>,
    policies: &Policies<'_>,
    resource_specific: bool,
) -> Value {
    let mut o = Map::new();
    o.insert("EvalActionName".into(), action.into());
    o.insert("EvalResourceName".into(), resource.into());
    o.insert("EvalDecision".into(), ev.decision.as_str().into());
    let statements = statements_json(ev);
    o.insert("MatchedStatements".into(), Value::Array(statements.clone()));
    let missing: Vec<Value> = ev
        .missing_context_keys
        .iter()
        .map(|k| Value::String(k.clone()))
        .collect();
    o.insert("MissingContextValues".into(), Value::Array(missing.clone()));
    let mut details = Map::new();
    let organizations = policies.scp.is_some() || policies.rcp.is_some();
    if policies.resource.is_some() || organizations {
        let id_decision = role_decision(ev, PolicyRole::Identity, ev.identity_allows);
        details.insert("IAM Policy".into(), id_decision.as_str().into());
        if policies.resource.is_some() {
            let res_decision =
                role_decision(ev, PolicyRole::Resource, ev.resource_allows.is_some());
            details.insert("Resource Policy".into(), res_decision.as_str().into());
        }
        if let Some(a) = ev.scp_allows {
            let d = role_decision(ev, PolicyRole::ServiceControl, a);
            details.insert("Service Control Policy".into(), d.as_str().into());
        }
        if let Some(a) = ev.rcp_allows {
            let d = role_decision(ev, PolicyRole::ResourceControl, a);
            details.insert("Resource Control Policy".into(), d.as_str().into());
        }
        o.insert("EvalDecisionDetails".into(), Value::Object(details.clone()));
    }
    let org_detail = ev
        .organizations_allows()
        .map(|a| json!({ "AllowedByOrganizations": a }));
    if let Some(d) = &org_detail {
        o.insert("OrganizationsDecisionDetail".into(), d.clone());
    }
    let boundary = ev
        .boundary_allows
        .map(|b| json!({ "AllowedByPermissionsBoundary": b }));
    if let Some(b) = &boundary {
        o.insert("PermissionsBoundaryDecisionDetail".into(), b.clone());
    }
    if resource_specific {
        let mut r = Map::new();
        r.insert("EvalResourceName".into(), resource.into());
        r.insert("EvalResourceDecision".into(), ev.decision.as_str().into());
        r.insert("MatchedStatements".into(), Value::Array(statements));
        r.insert("MissingContextValues".into(), Value::Array(missing));
        if !details.is_empty() {
            r.insert("EvalDecisionDetails".into(), Value::Object(details));
        }
        if let Some(b) = boundary {
            r.insert("PermissionsBoundaryDecisionDetail".into(), b);
        }
        if let Some(d) = org_detail {
            r.insert("OrganizationsDecisionDetail".into(), d);
        }
        o.insert(
            "ResourceSpecificResults".into(),
            Value::Array(vec![Value::Object(r)]),
        );
    }
    Value::Object(o)
}

fn string_list(input: &Value, member: &str, required: bool) -> Result<Vec<String>, PolicyError> {
    match input.get(member) {
        None | Some(Value::Null) if !required => Ok(Vec::new()),
        None | Some(Value::Null) => Err(PolicyError::invalid_input(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(member)
        ))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    PolicyError::invalid_input(format!("{member} must be a list of strings"))
                })
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => Err(PolicyError::invalid_input(format!(
            "{member} must be a list of strings"
        ))),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Builds a context from IAM's `ContextEntries` (`ContextKeyName`, `ContextKeyValues`,
/// `ContextKeyType`), checking that values fit their type.
pub fn parse_context_entries(entries: Option<&Value>) -> Result<Context, PolicyError> {
    let mut ctx = Context::new();
    let Some(entries) = entries.filter(|v| !v.is_null()) else {
        return Ok(ctx);
    };
    let Value::Array(entries) = entries else {
        return Err(PolicyError::invalid_input("ContextEntries must be a list"));
    };
    for e in entries {
        let name = e
            .get("ContextKeyName")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                PolicyError::invalid_input("Each context entry needs a ContextKeyName")
            })?;
        let values: Vec<String> = match e.get("ContextKeyValues") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Bool(b) => Ok(b.to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(PolicyError::invalid_input(
                        "ContextKeyValues must be strings",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let type_name = e
            .get("ContextKeyType")
            .and_then(Value::as_str)
            .unwrap_or("string");
        let (ty, list) = ContextType::parse_aws(type_name).ok_or_else(|| {
            PolicyError::invalid_input(format!(
                "Invalid ContextKeyType {type_name}: expected string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date or dateList"
            ))
        })?;
        for v in &values {
            let ok = match ty {
                ContextType::String => true,
                ContextType::Numeric => v.trim().parse::<f64>().is_ok(),
                ContextType::Boolean => {
                    v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
                }
                ContextType::Ip => crate::condition::Cidr::parse(v).is_some(),
                ContextType::Binary => crate::condition::base64_decode(v).is_some(),
                ContextType::Date => crate::condition::parse_date(v).is_some(),
            };
            if !ok {
                return Err(PolicyError::invalid_input(format!(
                    "Invalid value {v} for context key {name} of type {type_name}"
                )));
            }
        }
        if !list && values.len() > 1 {
            return Err(PolicyError::invalid_input(format!(
                "Context key {name} of type {type_name} takes a single value; use {type_name}List for several"
            )));
        }
        ctx.insert(
            name,
            ContextValue {
                values,
                ty,
                multivalued: list,
            },
        );
    }
    Ok(ctx)
}

fn parse_input_policy(
    text: &str,
    t: PolicyType,
    id: String,
    origin: PolicyOrigin,
) -> Result<CompiledPolicy, PolicyError> {
    CompiledPolicy::from_text(
        text,
        t,
        PolicyMeta {
            id: id.clone(),
            arn: None,
            origin,
        },
    )
    .map_err(|mut e| {
        // Say which input failed, as a person needs to know.
        e.detail = format!("{id}: {}", e.human());
        e
    })
}

/// The AWS Organizations policies of an offline simulation: see [`Policies::scp`] and
/// [`Policies::rcp`] (`None`: not applicable).
#[derive(Clone, Copy, Debug, Default)]
pub struct OrganizationsPolicies<'a> {
    pub scp: Option<&'a [&'a [&'a CompiledPolicy]]>,
    pub rcp: Option<&'a [&'a [&'a CompiledPolicy]]>,
}

/// `SimulateCustomPolicy`, offline. `input` is the request shape (`PolicyInputList`,
/// `PermissionsBoundaryPolicyInputList`, `ActionNames`, `ResourceArns`, `ResourcePolicy`,
/// `ResourceOwner`, `CallerArn`, `ContextEntries`, `ResourceHandlingOption`); the result is the
/// `SimulatePolicyResponse` shape. `now` fills `aws:CurrentTime` and `aws:EpochTime` when
/// `ContextEntries` does not give them (the crate never reads the clock itself).
pub fn simulate_custom_policy(input: &Value, now: SystemTime) -> Result<Value, PolicyError> {
    simulate_custom_policy_with(input, now, OrganizationsPolicies::default())
}

/// [`simulate_custom_policy`] under service control policies and resource control policies
/// (kagi's extension: IAM's `SimulateCustomPolicy` has no such input). The SCPs are those of
/// the caller's account, the RCPs those of the resource's account; RCPs apply only to actions
/// of services that support them.
pub fn simulate_custom_policy_with(
    input: &Value,
    now: SystemTime,
    organizations: OrganizationsPolicies<'_>,
) -> Result<Value, PolicyError> {
    if !input.is_object() {
        return Err(PolicyError::invalid_input("The request must be an object"));
    }
    let policy_texts = string_list(input, "PolicyInputList", true)?;
    let identity = policy_texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parse_input_policy(
                t,
                PolicyType::Identity,
                format!("PolicyInputList.{}", i + 1),
                PolicyOrigin::None,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let boundary_texts = string_list(input, "PermissionsBoundaryPolicyInputList", false)?;
    if boundary_texts.len() > 1 {
        return Err(PolicyError::invalid_input(
            "PermissionsBoundaryPolicyInputList takes at most one policy",
        ));
    }
    let boundary = boundary_texts
        .first()
        .map(|t| {
            parse_input_policy(
                t,
                PolicyType::Identity,
                "PermissionsBoundaryPolicyInputList.1".into(),
                PolicyOrigin::None,
            )
        })
        .transpose()?;
    let actions = string_list(input, "ActionNames", true)?;
    if actions.is_empty() {
        return Err(PolicyError::invalid_input(
            "ActionNames must name at least one action",
        ));
    }
    let resources = string_list(input, "ResourceArns", false)?;
    let resource_policy = match input.get("ResourcePolicy").and_then(Value::as_str) {
        Some(t) => {
            // A trust policy has no Resource; other resource policies may have one.
            let p = parse_input_policy(
                t,
                PolicyType::Resource,
                "ResourcePolicy".into(),
                PolicyOrigin::Resource,
            )?;
            Some(p)
        }
        None => None,
    };
    let caller = input.get("CallerArn").and_then(Value::as_str);
    let owner = input.get("ResourceOwner").and_then(Value::as_str).map(|o| {
        o.split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .unwrap_or(o)
            .to_string()
    });
    let principal = match caller {
        Some(arn) => PrincipalInfo::from_arn(arn).ok_or_else(|| {
            PolicyError::invalid_input(format!(
                "Invalid CallerArn {arn}: it must be the ARN of an IAM user, role, assumed-role session or the account root"
            ))
        })?,
        None => {
            if resource_policy.is_some() {
                return Err(PolicyError::invalid_input(
                    "CallerArn is required if you include a ResourcePolicy, so that the policy's Principal element has a value to use in evaluating the policy",
                ));
            }
            PrincipalInfo {
                account: owner.clone().unwrap_or_default(),
                arn: String::new(),
                kind: PrincipalType::User,
                unique_id: String::new(),
                user_name: None,
                tags: Vec::new(),
                session: None,
                has_permissions_boundary: boundary.is_some(),
            }
        }
    };
    let mut principal = principal;
    principal.has_permissions_boundary = boundary.is_some();
    let mut context = parse_context_entries(input.get("ContextEntries"))?;
    if context.get("aws:CurrentTime").is_none() {
        context.set(
            "aws:CurrentTime",
            ContextType::Date,
            crate::context::format_iso8601(now),
        );
    }
    if context.get("aws:EpochTime").is_none() {
        let secs = now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        context.set("aws:EpochTime", ContextType::Date, secs.to_string());
    }
    let identity_refs: Vec<&CompiledPolicy> = identity.iter().collect();
    let resource_kind = if actions
        .iter()
        .all(|a| a.to_ascii_lowercase().starts_with("sts:assumerole"))
    {
        ResourcePolicyKind::Trust
    } else {
        ResourcePolicyKind::Resource
    };
    let input = SimulationInput {
        principal: &principal,
        policies: Policies {
            identity: &identity_refs,
            resource: resource_policy.as_ref(),
            resource_kind,
            resource_owner: owner.as_deref(),
            permissions_boundary: boundary.as_ref(),
            session: &[],
            scp: organizations.scp,
            rcp: organizations.rcp,
        },
        actions: &actions,
        resources: &resources,
        context: &context,
        resource_specific: !resources.is_empty(),
    };
    Ok(simulate(&input))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Example 1 of `aws iam simulate-custom-policy` in the AWS CLI documentation.
    #[test]
    fn aws_cli_example_positions() {
        let input = json!({
            "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#],
            "ActionNames": ["dynamodb:CreateBackup"],
            "ContextEntries": [{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}]
        });
        let out = simulate_custom_policy(&input, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            out,
            json!({"EvaluationResults": [{
                "EvalActionName": "dynamodb:CreateBackup",
                "EvalResourceName": "*",
                "EvalDecision": "allowed",
                "MatchedStatements": [{"SourcePolicyId": "PolicyInputList.1",
                    "StartPosition": {"Line": 1, "Column": 38}, "EndPosition": {"Line": 1, "Column": 167}}],
                "MissingContextValues": []
            }], "IsTruncated": false})
        );
        // Example 2: the date is before the condition's.
        let mut input = input;
        input["ContextEntries"][0]["ContextKeyValues"] = json!(["2014-04-25T11:00:00Z"]);
        let out = simulate_custom_policy(&input, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "implicitDeny");
        assert_eq!(out["EvaluationResults"][0]["MatchedStatements"], json!([]));
    }

    #[test]
    fn boundary_and_resource_policy_details() {
        let input = json!({
            "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#],
            "PermissionsBoundaryPolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}}"#],
            "ResourcePolicy": r#"{"Version":"2012-10-17","Statement":{"Sid":"Deny","Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}}"#,
            "CallerArn": "arn:aws:iam::123456789012:user/alice",
            "ActionNames": ["ecr:BatchGetImage", "ecr:PutImage", "ecr:DeleteRepository"],
            "ResourceArns": ["arn:aws:ecr:us-east-1:123456789012:repository/r"]
        });
        let out = simulate_custom_policy(&input, SystemTime::UNIX_EPOCH).unwrap();
        let r = out["EvaluationResults"].as_array().unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0]["EvalDecision"], "allowed");
        assert_eq!(
            r[0]["PermissionsBoundaryDecisionDetail"],
            json!({"AllowedByPermissionsBoundary": true})
        );
        assert_eq!(
            r[0]["EvalDecisionDetails"],
            json!({"IAM Policy": "allowed", "Resource Policy": "implicitDeny"})
        );
        assert_eq!(r[1]["EvalDecision"], "implicitDeny");
        assert_eq!(
            r[1]["PermissionsBoundaryDecisionDetail"],
            json!({"AllowedByPermissionsBoundary": false})
        );
        assert_eq!(r[2]["EvalDecision"], "explicitDeny");
        assert_eq!(
            r[2]["MatchedStatements"][0]["SourcePolicyId"],
            "ResourcePolicy"
        );
        assert_eq!(r[2]["MatchedStatements"][0]["SourcePolicyType"], "resource");
        assert_eq!(
            r[2]["ResourceSpecificResults"][0]["EvalResourceDecision"],
            "explicitDeny"
        );
        assert_eq!(
            r[2]["ResourceSpecificResults"][0]["EvalResourceName"],
            "arn:aws:ecr:us-east-1:123456789012:repository/r"
        );
    }

    #[test]
    fn organizations_details() {
        let input = json!({
            "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#],
            "ActionNames": ["ecr:PutImage", "iam:ListUsers"]
        });
        let full = crate::organizations::full_aws_access();
        let ecr = CompiledPolicy::from_text(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
            PolicyMeta::named("ecr"),
        )
        .unwrap();
        let deny_all = CompiledPolicy::from_text(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}"#,
            PolicyType::ResourceControl,
            PolicyMeta::named("deny-all"),
        )
        .unwrap();
        let root = [&full];
        let ou = [&ecr];
        let scp: [&[&CompiledPolicy]; 2] = [&root, &ou];
        let rlevel = [&deny_all];
        let rcp: [&[&CompiledPolicy]; 1] = [&rlevel];
        let out = simulate_custom_policy_with(
            &input,
            SystemTime::UNIX_EPOCH,
            OrganizationsPolicies {
                scp: Some(&scp),
                rcp: Some(&rcp),
            },
        )
        .unwrap();
        let r = &out["EvaluationResults"];
        // ECR supports RCPs: the RCP's deny applies.
        assert_eq!(r[0]["EvalDecision"], "explicitDeny");
        assert_eq!(
            r[0]["EvalDecisionDetails"],
            json!({"IAM Policy": "allowed", "Service Control Policy": "allowed", "Resource Control Policy": "explicitDeny"})
        );
        assert_eq!(
            r[0]["OrganizationsDecisionDetail"],
            json!({"AllowedByOrganizations": false})
        );
        // IAM does not: only the SCPs apply, and the OU's allows only ECR.
        assert_eq!(r[1]["EvalDecision"], "implicitDeny");
        assert_eq!(
            r[1]["EvalDecisionDetails"],
            json!({"IAM Policy": "allowed", "Service Control Policy": "implicitDeny"})
        );
        // Without Organizations policies, nothing of this appears.
        let out = simulate_custom_policy(&input, SystemTime::UNIX_EPOCH).unwrap();
        let r = &out["EvaluationResults"][0];
        assert!(r.get("EvalDecisionDetails").is_none());
        assert!(r.get("OrganizationsDecisionDetail").is_none());
    }

    #[test]
    fn missing_context_and_errors() {
        let input = json!({
            "PolicyInputList": [r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#],
            "ActionNames": ["s3:GetObject"],
            "ResourceArns": ["arn:aws:s3:::b/alice/x"]
        });
        let out = simulate_custom_policy(&input, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "implicitDeny");
        assert_eq!(
            out["EvaluationResults"][0]["MissingContextValues"],
            json!(["aws:username"])
        );
        let e = simulate_custom_policy(
            &json!({"PolicyInputList": ["{"], "ActionNames": ["s3:GetObject"]}),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err();
        assert_eq!(e.code.as_str(), "MalformedPolicyDocument");
        let e = simulate_custom_policy(&json!({"PolicyInputList": []}), SystemTime::UNIX_EPOCH)
            .unwrap_err();
        assert_eq!(e.code.as_str(), "InvalidInput");
    }
}
