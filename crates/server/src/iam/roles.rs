//! Roles: trust policies (validated as `AWS::IAM::AssumeRolePolicyDocument`, principals resolved
//! against existing entities), MaxSessionDuration, boundaries, tags.

use crate::entities::{load_role, role_arn, role_value};
use crate::error::{AwsError, AwsResult};
use crate::ids::{self, IdKind};
use crate::model::{Role, User};
use crate::params::{name_param, opt, opt_i64, paginate, path_param, req, tags_param};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde_json::{Value, json};

fn max_session(i: &Value) -> AwsResult<Option<i64>> {
    match opt_i64(i, "MaxSessionDuration") {
        None => Ok(None),
        Some(d) if (3600..=43200).contains(&d) => Ok(Some(d)),
        Some(d) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {} {}",
            if d < 3600 {
                "greater than or equal to"
            } else {
                "less than or equal to"
            },
            if d < 3600 { 3600 } else { 43200 }
        ))),
    }
}

/// Validates a trust policy: grammar (kagi-policy, trust rules), size quota, and every `AWS`
/// principal naming an entity of this account must exist.
pub fn check_trust_policy(ctx: &Ctx, tx: &dyn Tx, doc: &str, role: &str) -> AwsResult<()> {
    crate::authz::check_policy(doc, kagi_policy::PolicyType::Trust)?;
    kagi_policy::check_size(doc, kagi_policy::SizeQuota::TrustPolicy, role)
        .map_err(crate::authz::policy_error)?;
    let v: Value = serde_json::from_str(doc)
        .map_err(|_| AwsError::malformed_policy("Syntax errors in policy."))?;
    let statements = match v.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s) => vec![s.clone()],
        None => Vec::new(),
    };
    for st in statements {
        for key in ["Principal", "NotPrincipal"] {
            let Some(p) = st.get(key) else { continue };
            let aws = match p.get("AWS") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for a in aws {
                if !principal_exists(ctx, tx, &a)? {
                    return Err(AwsError::malformed_policy(format!(
                        "Invalid principal in policy: \"AWS\":\"{a}\""
                    )));
                }
            }
            // A federated principal naming an identity provider of this account must exist
            // (web identity providers such as accounts.google.com are names, not ARNs).
            let federated = match p.get("Federated") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for f in federated {
                if !provider_exists(ctx, tx, &f)? {
                    return Err(AwsError::malformed_policy(format!(
                        "Invalid principal in policy: \"Federated\":\"{f}\""
                    )));
                }
            }
        }
    }
    Ok(())
}

fn provider_exists(ctx: &Ctx, tx: &dyn Tx, f: &str) -> AwsResult<bool> {
    let Some(res) = f.strip_prefix(&format!("arn:aws:iam::{}:", ctx.caller.account_id)) else {
        return Ok(true);
    };
    Ok(if let Some(name) = res.strip_prefix("saml-provider/") {
        tx.get(Table::Meta, &format!("saml-provider\0{}", name_key(name)))?
            .is_some()
    } else if res.starts_with("oidc-provider/") {
        tx.get(Table::Meta, &format!("oidc-provider\0{f}"))?
            .is_some()
    } else {
        false
    })
}

fn principal_exists(ctx: &Ctx, tx: &dyn Tx, p: &str) -> AwsResult<bool> {
    if p == "*" || (p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(true);
    }
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1] != "aws" {
        return Ok(false);
    }
    let (svc, acct, res) = (parts[2], parts[4], parts[5]);
    if acct != ctx.caller.account_id {
        // Another account: kagi knows only its own; accept well-formed ARNs.
        return Ok(acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()));
    }
    Ok(match (svc, res) {
        ("iam", "root") => true,
        ("iam", r) if r.starts_with("user/") => {
            let name = r.rsplit('/').next().unwrap_or("");
            tx.get_json::<User>(Table::Users, &name_key(name))?
                .is_some_and(|u| u.arn == p)
        }
        ("iam", r) if r.starts_with("role/") => {
            let name = r.rsplit('/').next().unwrap_or("");
            tx.get_json::<Role>(Table::Roles, &name_key(name))?
                .is_some_and(|x| x.arn == p)
        }
        ("sts", r) if r.starts_with("assumed-role/") => {
            let name = r.split('/').nth(1).unwrap_or("");
            tx.get(Table::Roles, &name_key(name))?.is_some()
        }
        _ => false,
    })
}

pub fn create_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "RoleName", 64)?;
    let path = path_param(i, "Path")?;
    let doc = req(i, "AssumeRolePolicyDocument")?;
    let arn = ids::iam_arn(&ctx.caller.account_id, "role", &path, name);

    let msd = max_session(i)?.unwrap_or(3600);
    let tags = tags_param(i)?;
    let boundary = opt(i, "PermissionsBoundary").map(str::to_owned);
    let mut context = crate::authz::request_tag_context(&tags);
    if let Some(b) = &boundary {
        context.push(("iam:PermissionsBoundary".into(), b.clone()));
    }
    ctx.authorize_with("iam:CreateRole", &arn, &crate::authz::as_extra(&context))?;
    let r = ctx.store.write(|tx| {
        if tx.get(Table::Roles, &name_key(name))?.is_some() {
            return Err(
                AwsError::already_exists(format!("Role with name {name} already exists.")).into(),
            );
        }
        check_trust_policy(ctx, tx, doc, name)?;
        if let Some(b) = &boundary {
            crate::entities::require_attachable(tx, b)?;
        }
        let r = Role {
            id: ids::unique_id(IdKind::Role),
            name: name.into(),
            path: path.clone(),
            arn: arn.clone(),
            created: ctx.now,
            trust_policy: doc.into(),
            description: opt(i, "Description").map(str::to_owned),
            max_session_duration: msd,
            boundary: boundary.clone(),
            tags: tags.clone(),
            last_used: None,
        };
        tx.put_json(Table::Roles, &name_key(name), &r)?;
        Ok(r)
    })?;
    let mut v = role_value(&r, true);
    if let Some(o) = v.as_object_mut() {
        o.remove("RoleLastUsed");
    }
    Ok(json!({"Role": v}))
}

pub fn get_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:GetRole", &role_arn(ctx, name)?)?;
    let mut r = ctx.store.view(|tx| Ok(load_role(tx, name)?))?;
    r.last_used = ctx.state.role_last_used_of(ctx.account(), &r);
    Ok(json!({"Role": role_value(&r, true)}))
}

pub fn list_roles(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    ctx.authorize(
        "iam:ListRoles",
        &format!("arn:aws:iam::{}:role/", ctx.caller.account_id),
    )?;
    let roles: Vec<(String, Role)> = ctx.store.view(|tx| tx.scan_json(Table::Roles, ""))?;
    let items = roles
        .iter()
        .filter(|(_, r)| r.path.starts_with(prefix))
        .map(|(_, r)| role_value(r, false))
        .collect();
    paginate(i, items, "Roles")
}

pub fn update_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:UpdateRole", &role_arn(ctx, name)?)?;
    let msd = max_session(i)?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        if let Some(d) = opt(i, "Description") {
            r.description = Some(d.into());
        }
        if let Some(m) = msd {
            r.max_session_duration = m;
        }
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}

pub fn update_role_description(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    let d = req(i, "Description")?;
    ctx.authorize("iam:UpdateRoleDescription", &role_arn(ctx, name)?)?;
    let r = ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        r.description = Some(d.into());
        tx.put_json(Table::Roles, &name_key(&r.name), &r)?;
        Ok(r)
    })?;
    Ok(json!({"Role": role_value(&r, true)}))
}

pub fn update_assume_role_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    let doc = req(i, "PolicyDocument")?;
    ctx.authorize("iam:UpdateAssumeRolePolicy", &role_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        check_trust_policy(ctx, tx, doc, &r.name)?;
        r.trust_policy = doc.into();
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}

pub fn delete_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:DeleteRole", &role_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let r = load_role(tx, name)?;
        let p = crate::entities::entity_prefix(crate::model::EntityKind::Role, &r.name);
        if !tx.scan(Table::Attachments, &p)?.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            )
            .into());
        }
        if !tx.scan(Table::InlinePolicies, &p)?.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            )
            .into());
        }
        if !crate::entities::profiles_of_role(tx, &r.name)?.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            )
            .into());
        }
        tx.delete(Table::Roles, &name_key(&r.name))?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn tag_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    let tags = tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagRole",
        &role_arn(ctx, name)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        crate::params::merge_tags(&mut r.tags, tags.clone())?;
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}

pub fn untag_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:UntagRole", &role_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        crate::params::remove_tags(&mut r.tags, i);
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}

pub fn list_role_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:ListRoleTags", &role_arn(ctx, name)?)?;
    let r = ctx.store.view(|tx| Ok(load_role(tx, name)?))?;
    paginate(
        i,
        r.tags
            .iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
        "Tags",
    )
}

pub fn put_boundary(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    let b = req(i, "PermissionsBoundary")?;
    let context = [("iam:PermissionsBoundary".to_owned(), b.to_owned())];
    ctx.authorize_with(
        "iam:PutRolePermissionsBoundary",
        &role_arn(ctx, name)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        crate::entities::require_attachable(tx, b)?;
        r.boundary = Some(b.into());
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}

pub fn delete_boundary(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "RoleName")?;
    ctx.authorize("iam:DeleteRolePermissionsBoundary", &role_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut r = load_role(tx, name)?;
        r.boundary = None;
        tx.put_json(Table::Roles, &name_key(&r.name), &r)
    })?;
    Ok(json!({}))
}
