//! SimulatePrincipalPolicy (the principal's stored policies, optionally plus `PolicyInputList`)
//! and SimulateCustomPolicy (kagi-policy's offline simulator).

use crate::error::{AwsError, AwsResult};
use crate::model::EntityKind;
use crate::params::req;
use crate::state::Ctx;
use crate::store::StoreExt;
use kagi_policy::{
    CompiledPolicy, Policies, PolicyMeta, PolicyOrigin, PolicyType, PrincipalInfo,
    ResourcePolicyKind,
};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

fn strings(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The context keys of policy documents, sorted as IAM lists them, without duplicates
/// (case-insensitively).
fn context_keys<'p>(policies: impl IntoIterator<Item = &'p kagi_policy::Policy>) -> Value {
    let mut keys: Vec<String> = Vec::new();
    for p in policies {
        for k in p.context_keys() {
            if !keys.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
                keys.push(k);
            }
        }
    }
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    serde_json::json!({ "ContextKeyNames": keys })
}

fn input_policies(i: &Value) -> AwsResult<Vec<kagi_policy::Policy>> {
    strings(i, "PolicyInputList")
        .iter()
        .map(|t| kagi_policy::parse(t, PolicyType::Identity).map_err(crate::authz::policy_error))
        .collect()
}

/// GetContextKeysForCustomPolicy: the condition keys and policy variables of the documents.
pub fn context_keys_for_custom_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:GetContextKeysForCustomPolicy", "*")?;
    if i.get("PolicyInputList").is_none() {
        return Err(AwsError::missing_param("PolicyInputList"));
    }
    Ok(context_keys(&input_policies(i)?))
}

/// GetContextKeysForPrincipalPolicy: the same for every policy that applies to a user (its
/// groups' too), group or role, plus `PolicyInputList`.
pub fn context_keys_for_principal_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let source = req(i, "PolicySourceArn")?;
    ctx.authorize("iam:GetContextKeysForPrincipalPolicy", source)?;
    let (kind, name) = principal_of(ctx, source)?;
    if kind == EntityKind::Group {
        ctx.store
            .view(|tx| Ok(crate::entities::load_group(tx, name)?))?;
    }
    let pp = ctx
        .store
        .view(|tx| crate::authz::load_principal_policies(tx, kind, name))?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!(
                "The {} with name {name} cannot be found.",
                kind.as_str()
            ))
        })?;
    let extra = input_policies(i)?;
    Ok(context_keys(
        pp.identity.iter().map(|c| &c.policy).chain(extra.iter()),
    ))
}

/// The entity a `PolicySourceArn` of this account names.
fn principal_of<'a>(ctx: &Ctx, source: &'a str) -> AwsResult<(EntityKind, &'a str)> {
    let parts: Vec<&str> = source.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "iam" || parts[4] != ctx.caller.account_id {
        return Err(AwsError::invalid_input(format!("Invalid ARN: {source}")));
    }
    let res = parts[5];
    for (prefix, kind) in [
        ("user/", EntityKind::User),
        ("role/", EntityKind::Role),
        ("group/", EntityKind::Group),
    ] {
        if let Some(r) = res.strip_prefix(prefix) {
            return Ok((kind, r.rsplit('/').next().unwrap_or(r)));
        }
    }
    Err(AwsError::invalid_input(format!("Invalid ARN: {source}")))
}

pub fn simulate_custom_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:SimulateCustomPolicy", "*")?;
    let now = UNIX_EPOCH + Duration::from_secs(ctx.now.max(0) as u64);
    kagi_policy::simulate_custom_policy(i, now).map_err(crate::authz::policy_error)
}

pub fn simulate_principal_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let source = req(i, "PolicySourceArn")?;
    ctx.authorize("iam:SimulatePrincipalPolicy", source)?;
    let parts: Vec<&str> = source.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "iam" || parts[4] != ctx.caller.account_id {
        return Err(AwsError::invalid_input(format!("Invalid ARN: {source}")));
    }
    let res = parts[5];
    let (kind, name) = if let Some(r) = res.strip_prefix("user/") {
        (EntityKind::User, r.rsplit('/').next().unwrap_or(r))
    } else if let Some(r) = res.strip_prefix("role/") {
        (EntityKind::Role, r.rsplit('/').next().unwrap_or(r))
    } else if let Some(r) = res.strip_prefix("group/") {
        (EntityKind::Group, r.rsplit('/').next().unwrap_or(r))
    } else {
        return Err(AwsError::invalid_input(format!("Invalid ARN: {source}")));
    };
    let pp = ctx
        .store
        .view(|tx| crate::authz::load_principal_policies(tx, kind, name))?
        .ok_or_else(|| {
            AwsError::no_such_entity(format!(
                "The {} with name {name} cannot be found.",
                kind.as_str()
            ))
        })?;
    let mut extra = Vec::new();
    for (n, text) in strings(i, "PolicyInputList").iter().enumerate() {
        extra.push(
            CompiledPolicy::from_text(
                text,
                PolicyType::Identity,
                PolicyMeta {
                    id: format!("PolicyInputList.{}", n + 1),
                    arn: None,
                    origin: PolicyOrigin::None,
                },
            )
            .map_err(crate::authz::policy_error)?,
        );
    }
    let boundary_inputs = strings(i, "PermissionsBoundaryPolicyInputList");
    let boundary_override = match boundary_inputs.first() {
        Some(t) => Some(
            CompiledPolicy::from_text(
                t,
                PolicyType::Identity,
                PolicyMeta::named("PermissionsBoundaryPolicyInputList.1"),
            )
            .map_err(crate::authz::policy_error)?,
        ),
        None => None,
    };
    let resource_policy = match i.get("ResourcePolicy").and_then(Value::as_str) {
        Some(t) => Some(
            CompiledPolicy::from_text(
                t,
                PolicyType::Resource,
                PolicyMeta {
                    id: "ResourcePolicy".into(),
                    arn: None,
                    origin: PolicyOrigin::Resource,
                },
            )
            .map_err(crate::authz::policy_error)?,
        ),
        None => None,
    };
    let caller_arn = i.get("CallerArn").and_then(Value::as_str).unwrap_or(source);
    let mut principal = PrincipalInfo::from_arn(caller_arn)
        .ok_or_else(|| AwsError::invalid_input(format!("Invalid ARN: {caller_arn}")))?;
    principal.tags = pp.tags.clone();
    let context = {
        let mut c = kagi_policy::parse_context_entries(i.get("ContextEntries"))
            .map_err(crate::authz::policy_error)?;
        let facts = kagi_policy::RequestFacts {
            now: UNIX_EPOCH + Duration::from_secs(ctx.now.max(0) as u64),
            source_ip: None,
            secure_transport: false,
            requested_region: None,
        };
        let global = kagi_policy::global_context(&principal, &facts);
        for k in global.keys().map(str::to_owned).collect::<Vec<_>>() {
            if c.get(&k).is_none()
                && let Some(v) = global.get(&k)
            {
                c.insert(&k, v.clone());
            }
        }
        c
    };
    let identity: Vec<&CompiledPolicy> = pp
        .identity
        .iter()
        .map(|p| &**p)
        .chain(extra.iter())
        .collect();
    let boundary = boundary_override.as_ref().or(pp.boundary.as_deref());
    principal.has_permissions_boundary = boundary.is_some();
    let actions = strings(i, "ActionNames");
    if actions.is_empty() {
        return Err(AwsError::invalid_input(
            "ActionNames must name at least one action",
        ));
    }
    let resources = strings(i, "ResourceArns");
    let org = crate::organization::view(ctx.state, ctx.account())?;
    let scp_refs = org
        .as_ref()
        .and_then(|v| v.scp.as_deref())
        .map(crate::authz::levels);
    let scp_levels: Option<Vec<&[&CompiledPolicy]>> = scp_refs
        .as_ref()
        .map(|l| l.iter().map(Vec::as_slice).collect());
    let input = kagi_policy::SimulationInput {
        principal: &principal,
        policies: Policies {
            identity: &identity,
            resource: resource_policy.as_ref(),
            resource_kind: ResourcePolicyKind::Resource,
            resource_owner: None,
            permissions_boundary: boundary,
            session: &[],
            // The simulated principal's SCPs, as IAM's simulator reports them
            // (`OrganizationsDecisionDetail`).
            scp: scp_levels.as_deref(),
            rcp: None,
        },
        actions: &actions,
        resources: &resources,
        context: &context,
        resource_specific: !resources.is_empty(),
    };
    let out = kagi_policy::simulate(&input);
    let results = out
        .get("EvaluationResults")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    crate::params::paginate(i, results, "EvaluationResults")
}
