//! Managed policies (customer and AWS) with versions, attachments, and inline policies.
//!
//! Every document goes through kagi-policy (`authz::check_identity_policy`) before it is
//! stored: bad JSON or grammar → `MalformedPolicyDocument` with the engine's message; size over
//! quota → `LimitExceeded`.

use crate::entities::{attachment_key, entity_prefix, inline_key, load_policy, require_attachable};
use crate::error::{AwsError, AwsResult};
use crate::ids::{self, IdKind};
use crate::model::{
    Attachment, EntityKind, InlinePolicy, ManagedPolicy, PolicyVersion, Role, User,
};
use crate::params::{
    name_param, opt, opt_bool, paginate, paginate_into, path_param, req, tags_param, ts, with_tags,
};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use kagi_policy::SizeQuota;
use serde_json::{Map, Value, json};

pub const MAX_VERSIONS: usize = 5;
pub const MAX_ATTACHED: usize = 10;

fn entity_param(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "UserName",
        EntityKind::Group => "GroupName",
        EntityKind::Role => "RoleName",
    }
}

fn kind_title(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "User",
        EntityKind::Group => "Group",
        EntityKind::Role => "Role",
    }
}

/// Loads the entity (NoSuchEntity if missing) and returns its name as stored.
pub fn load_entity(tx: &dyn Tx, kind: EntityKind, name: &str) -> AwsResult<String> {
    Ok(match kind {
        EntityKind::User => crate::entities::load_user(tx, name)?.name,
        EntityKind::Group => crate::entities::load_group(tx, name)?.name,
        EntityKind::Role => crate::entities::load_role(tx, name)?.name,
    })
}

pub fn entity_arn(ctx: &Ctx, kind: EntityKind, name: &str) -> AwsResult<String> {
    match kind {
        EntityKind::User => crate::entities::user_arn(ctx, name),
        EntityKind::Group => crate::entities::group_arn(ctx, name),
        EntityKind::Role => crate::entities::role_arn(ctx, name),
    }
}

fn is_aws_managed(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

fn counts(tx: &dyn Tx, arn: &str) -> anyhow::Result<(usize, usize)> {
    let attached = tx
        .scan_json::<Attachment>(Table::Attachments, "")?
        .iter()
        .filter(|(_, a)| a.policy_arn == arn)
        .count();
    let users = tx.scan_json::<User>(Table::Users, "")?;
    let roles = tx.scan_json::<Role>(Table::Roles, "")?;
    let boundary = users
        .iter()
        .filter(|(_, u)| u.boundary.as_deref() == Some(arn))
        .count()
        + roles
            .iter()
            .filter(|(_, r)| r.boundary.as_deref() == Some(arn))
            .count();
    Ok((attached, boundary))
}

pub fn policy_value(p: &ManagedPolicy, attached: usize, boundary: usize, full: bool) -> Value {
    let mut v = json!({
        "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
        "DefaultVersionId": p.default_version, "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundary, "IsAttachable": true,
        "CreateDate": ts(p.created), "UpdateDate": ts(p.updated),
    });
    if full {
        if let Some(d) = &p.description {
            v["Description"] = json!(d);
        }
        v = with_tags(v, &p.tags);
    }
    v
}

fn check_managed_doc(doc: &str, name: &str) -> AwsResult<()> {
    crate::authz::check_identity_policy(doc)?;
    kagi_policy::check_size(doc, SizeQuota::ManagedPolicy, name).map_err(crate::authz::policy_error)
}

pub fn create_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "PolicyName", 128)?;
    let path = path_param(i, "Path")?;
    let doc = req(i, "PolicyDocument")?;
    let arn = ids::iam_arn(&ctx.caller.account_id, "policy", &path, name);
    ctx.authorize("iam:CreatePolicy", &arn)?;
    check_managed_doc(doc, name)?;
    let tags = tags_param(i)?;
    let p = ctx.store.write(|tx| {
        let existing = tx.scan_json::<ManagedPolicy>(
            Table::Policies,
            &format!("arn:aws:iam::{}:policy/", ctx.caller.account_id),
        )?;
        if existing
            .iter()
            .any(|(_, p)| name_key(&p.name) == name_key(name))
        {
            return Err(AwsError::already_exists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            ))
            .into());
        }
        let p = ManagedPolicy {
            id: ids::unique_id(IdKind::Policy),
            name: name.into(),
            path: path.clone(),
            arn: arn.clone(),
            created: ctx.now,
            updated: ctx.now,
            description: opt(i, "Description").map(str::to_owned),
            default_version: "v1".into(),
            next_version: 2,
            versions: vec![PolicyVersion {
                version_id: "v1".into(),
                document: doc.into(),
                created: ctx.now,
            }],
            tags: tags.clone(),
        };
        tx.put_json(Table::Policies, &arn, &p)?;
        Ok(p)
    })?;
    Ok(json!({"Policy": policy_value(&p, 0, 0, true)}))
}

pub fn get_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:GetPolicy", arn)?;
    let (p, a, b) = ctx.store.view(|tx| {
        let p = load_policy(tx, arn)?;
        let (a, b) = counts(tx, arn)?;
        Ok((p, a, b))
    })?;
    Ok(json!({"Policy": policy_value(&p, a, b, true)}))
}

pub fn delete_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:DeletePolicy", arn)?;
    if is_aws_managed(arn) {
        return Err(AwsError::invalid_input(format!(
            "{arn} is an AWS managed policy; it cannot be deleted."
        )));
    }
    ctx.store.write(|tx| {
        let p = load_policy(tx, arn)?;
        let (a, b) = counts(tx, arn)?;
        if a > 0 || b > 0 {
            return Err(AwsError::delete_conflict("Cannot delete a policy attached to entities.").into());
        }
        if p.versions.len() > 1 {
            return Err(AwsError::delete_conflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.").into());
        }
        tx.delete(Table::Policies, arn)?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_policies(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize(
        "iam:ListPolicies",
        &format!("arn:aws:iam::{}:policy/", ctx.caller.account_id),
    )?;
    let scope = opt(i, "Scope").unwrap_or("All");
    let only_attached = opt_bool(i, "OnlyAttached").unwrap_or(false);
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    let usage = opt(i, "PolicyUsageFilter");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
        )));
    }
    let rows = ctx.store.view(|tx| {
        let mut out = Vec::new();
        for (_, p) in tx.scan_json::<ManagedPolicy>(Table::Policies, "")? {
            let aws = is_aws_managed(&p.arn);
            if (scope == "AWS" && !aws) || (scope == "Local" && aws) || !p.path.starts_with(prefix)
            {
                continue;
            }
            let (a, b) = counts(tx, &p.arn)?;
            let used = match usage {
                Some("PermissionsPolicy") => a > 0,
                Some("PermissionsBoundary") => b > 0,
                _ => a + b > 0,
            };
            if only_attached && !used {
                continue;
            }
            out.push((p, a, b));
        }
        out.sort_by(|x, y| x.0.name.cmp(&y.0.name));
        Ok(out)
    })?;
    let items = rows
        .iter()
        .map(|(p, a, b)| policy_value(p, *a, *b, false))
        .collect();
    paginate(i, items, "Policies")
}

fn forbid_aws(arn: &str) -> AwsResult<()> {
    if is_aws_managed(arn) {
        return Err(AwsError::invalid_input(format!(
            "{arn} is an AWS managed policy; it cannot be modified."
        )));
    }
    Ok(())
}

pub fn create_policy_version(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    let doc = req(i, "PolicyDocument")?;
    let set_default = opt_bool(i, "SetAsDefault").unwrap_or(false);
    ctx.authorize("iam:CreatePolicyVersion", arn)?;
    forbid_aws(arn)?;
    let v = ctx.store.write(|tx| {
        let mut p = load_policy(tx, arn)?;
        check_managed_doc(doc, &p.name)?;
        if p.versions.len() >= MAX_VERSIONS {
            return Err(AwsError::limit_exceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.").into());
        }
        let v = PolicyVersion { version_id: format!("v{}", p.next_version), document: doc.into(), created: ctx.now };
        p.next_version += 1;
        p.versions.push(v.clone());
        if set_default {
            p.default_version = v.version_id.clone();
        }
        p.updated = ctx.now;
        tx.put_json(Table::Policies, arn, &p)?;
        Ok(v)
    })?;
    Ok(
        json!({"PolicyVersion": {"VersionId": v.version_id, "IsDefaultVersion": set_default, "CreateDate": ts(v.created)}}),
    )
}

pub fn get_policy_version(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    let vid = req(i, "VersionId")?;
    ctx.authorize("iam:GetPolicyVersion", arn)?;
    let p = ctx.store.view(|tx| Ok(load_policy(tx, arn)?))?;
    let v = p
        .versions
        .iter()
        .find(|v| v.version_id == vid)
        .ok_or_else(|| {
            AwsError::no_such_entity(format!(
                "Policy {arn} version {vid} does not exist or is not attachable."
            ))
        })?;
    Ok(json!({"PolicyVersion": {
        "Document": v.document, "VersionId": v.version_id,
        "IsDefaultVersion": v.version_id == p.default_version, "CreateDate": ts(v.created),
    }}))
}

pub fn list_policy_versions(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:ListPolicyVersions", arn)?;
    let p = ctx.store.view(|tx| Ok(load_policy(tx, arn)?))?;
    let mut versions = p.versions.clone();
    versions.reverse(); // newest first, as IAM lists them
    let items = versions
        .iter()
        .map(|v| json!({"VersionId": v.version_id, "IsDefaultVersion": v.version_id == p.default_version, "CreateDate": ts(v.created)}))
        .collect();
    paginate(i, items, "Versions")
}

pub fn set_default_policy_version(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    let vid = req(i, "VersionId")?;
    ctx.authorize("iam:SetDefaultPolicyVersion", arn)?;
    forbid_aws(arn)?;
    ctx.store.write(|tx| {
        let mut p = load_policy(tx, arn)?;
        if !p.versions.iter().any(|v| v.version_id == vid) {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} version {vid} does not exist or is not attachable."
            ))
            .into());
        }
        p.default_version = vid.into();
        p.updated = ctx.now;
        tx.put_json(Table::Policies, arn, &p)
    })?;
    Ok(json!({}))
}

pub fn delete_policy_version(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    let vid = req(i, "VersionId")?;
    ctx.authorize("iam:DeletePolicyVersion", arn)?;
    forbid_aws(arn)?;
    ctx.store.write(|tx| {
        let mut p = load_policy(tx, arn)?;
        if p.default_version == vid {
            return Err(AwsError::delete_conflict(
                "Cannot delete the default version of a policy.",
            )
            .into());
        }
        let before = p.versions.len();
        p.versions.retain(|v| v.version_id != vid);
        if p.versions.len() == before {
            return Err(AwsError::no_such_entity(format!(
                "Policy {arn} version {vid} does not exist or is not attachable."
            ))
            .into());
        }
        tx.put_json(Table::Policies, arn, &p)
    })?;
    Ok(json!({}))
}

pub fn tag_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:TagPolicy", arn)?;
    forbid_aws(arn)?;
    let tags = tags_param(i)?;
    ctx.store.write(|tx| {
        let mut p = load_policy(tx, arn)?;
        crate::params::merge_tags(&mut p.tags, tags.clone())?;
        tx.put_json(Table::Policies, arn, &p)
    })?;
    Ok(json!({}))
}

pub fn untag_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:UntagPolicy", arn)?;
    ctx.store.write(|tx| {
        let mut p = load_policy(tx, arn)?;
        crate::params::remove_tags(&mut p.tags, i);
        tx.put_json(Table::Policies, arn, &p)
    })?;
    Ok(json!({}))
}

pub fn list_policy_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:ListPolicyTags", arn)?;
    let p = ctx.store.view(|tx| Ok(load_policy(tx, arn)?))?;
    paginate(
        i,
        p.tags
            .iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
        "Tags",
    )
}

pub fn list_entities_for_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "PolicyArn")?;
    ctx.authorize("iam:ListEntitiesForPolicy", arn)?;
    let filter = opt(i, "EntityFilter");
    let (groups, users, roles) = ctx.store.view(|tx| {
        load_policy(tx, arn)?;
        let (mut g, mut u, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, "")? {
            if a.policy_arn != arn {
                continue;
            }
            match a.kind {
                EntityKind::User => {
                    if let Some(x) = tx.get_json::<User>(Table::Users, &name_key(&a.entity))? {
                        u.push(json!({"UserName": x.name, "UserId": x.id}));
                    }
                }
                EntityKind::Group => {
                    if let Some(x) =
                        tx.get_json::<crate::model::Group>(Table::Groups, &name_key(&a.entity))?
                    {
                        g.push(json!({"GroupName": x.name, "GroupId": x.id}));
                    }
                }
                EntityKind::Role => {
                    if let Some(x) = tx.get_json::<Role>(Table::Roles, &name_key(&a.entity))? {
                        r.push(json!({"RoleName": x.name, "RoleId": x.id}));
                    }
                }
            }
        }
        Ok((g, u, r))
    })?;
    let pick = |k: &str, v: Vec<Value>| {
        if filter.is_none()
            || filter == Some(k)
            || filter == Some("LocalManagedPolicy")
            || filter == Some("AWSManagedPolicy")
        {
            v
        } else {
            Vec::new()
        }
    };
    // One Marker/MaxItems pagination over groups, then users, then roles.
    let mut all = Vec::new();
    for (k, list) in [
        ("PolicyGroups", pick("Group", groups)),
        ("PolicyUsers", pick("User", users)),
        ("PolicyRoles", pick("Role", roles)),
    ] {
        all.extend(list.into_iter().map(|v| json!({"k": k, "v": v})));
    }
    let mut page = paginate(i, all, "Items")?;
    let items = page
        .as_object_mut()
        .and_then(|o| o.remove("Items"))
        .unwrap_or_default();
    for k in ["PolicyGroups", "PolicyUsers", "PolicyRoles"] {
        page[k] = json!([]);
    }
    for it in items.as_array().into_iter().flatten() {
        if let Some(a) = it["k"].as_str().and_then(|k| page[k].as_array_mut()) {
            a.push(it["v"].clone());
        }
    }
    Ok(page)
}

// ---- attachments ----

pub fn attach(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    let arn = req(i, "PolicyArn")?;
    let context = [("iam:PolicyARN".to_owned(), arn.to_owned())];
    ctx.authorize_with(
        &format!("iam:Attach{}Policy", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let name = load_entity(tx, kind, entity)?;
        require_attachable(tx, arn)?;
        let key = attachment_key(kind, &name, arn);
        if tx.get(Table::Attachments, &key)?.is_none() {
            if tx
                .scan(Table::Attachments, &entity_prefix(kind, &name))?
                .len()
                >= MAX_ATTACHED
            {
                return Err(AwsError::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPer{}: {MAX_ATTACHED}",
                    kind_title(kind)
                ))
                .into());
            }
            tx.put_json(
                Table::Attachments,
                &key,
                &Attachment {
                    kind,
                    entity: name,
                    policy_arn: arn.into(),
                },
            )?;
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn detach(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    let arn = req(i, "PolicyArn")?;
    let context = [("iam:PolicyARN".to_owned(), arn.to_owned())];
    ctx.authorize_with(
        &format!("iam:Detach{}Policy", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let name = load_entity(tx, kind, entity)?;
        if !tx.delete(Table::Attachments, &attachment_key(kind, &name, arn))? {
            return Err(AwsError::no_such_entity(format!("Policy {arn} was not found.")).into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_attached(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    ctx.authorize(
        &format!("iam:ListAttached{}Policies", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
    )?;
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    let items = ctx.store.view(|tx| {
        let name = load_entity(tx, kind, entity)?;
        let mut out = Vec::new();
        for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, &entity_prefix(kind, &name))? {
            if let Some(p) = tx.get_json::<ManagedPolicy>(Table::Policies, &a.policy_arn)?
                && p.path.starts_with(prefix)
            {
                out.push(json!({"PolicyName": p.name, "PolicyArn": p.arn}));
            }
        }
        Ok(out)
    })?;
    paginate(i, items, "AttachedPolicies")
}

// ---- inline policies ----

fn inline_quota(kind: EntityKind) -> SizeQuota {
    match kind {
        EntityKind::User => SizeQuota::InlineUser,
        EntityKind::Group => SizeQuota::InlineGroup,
        EntityKind::Role => SizeQuota::InlineRole,
    }
}

pub fn put_inline(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    let pname = name_param(i, "PolicyName", 128)?;
    let doc = req(i, "PolicyDocument")?;
    ctx.authorize(
        &format!("iam:Put{}Policy", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
    )?;
    crate::authz::check_identity_policy(doc)?;
    ctx.store.write(|tx| {
        let name = load_entity(tx, kind, entity)?;
        let mut aggregate = String::from(doc);
        for (_, p) in
            tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &entity_prefix(kind, &name))?
        {
            if p.name != pname {
                aggregate.push_str(&p.document);
            }
        }
        kagi_policy::check_size(&aggregate, inline_quota(kind), &name)
            .map_err(crate::authz::policy_error)?;
        let p = InlinePolicy {
            kind,
            entity: name.clone(),
            name: pname.into(),
            document: doc.into(),
        };
        tx.put_json(Table::InlinePolicies, &inline_key(kind, &name, pname), &p)
    })?;
    Ok(json!({}))
}

pub fn get_inline(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    let pname = req(i, "PolicyName")?;
    ctx.authorize(
        &format!("iam:Get{}Policy", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
    )?;
    let (name, p) = ctx.store.view(|tx| {
        let name = load_entity(tx, kind, entity)?;
        let p =
            tx.get_json::<InlinePolicy>(Table::InlinePolicies, &inline_key(kind, &name, pname))?;
        Ok((name, p))
    })?;
    let p = p.ok_or_else(|| {
        AwsError::no_such_entity(format!(
            "The {} policy with name {pname} cannot be found.",
            kind.as_str()
        ))
    })?;
    let mut out = Map::new();
    out.insert(entity_param(kind).into(), json!(name));
    out.insert("PolicyName".into(), json!(p.name));
    out.insert("PolicyDocument".into(), json!(p.document));
    Ok(Value::Object(out))
}

pub fn delete_inline(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    let pname = req(i, "PolicyName")?;
    ctx.authorize(
        &format!("iam:Delete{}Policy", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
    )?;
    ctx.store.write(|tx| {
        let name = load_entity(tx, kind, entity)?;
        if !tx.delete(Table::InlinePolicies, &inline_key(kind, &name, pname))? {
            return Err(AwsError::no_such_entity(format!(
                "The {} policy with name {pname} cannot be found.",
                kind.as_str()
            ))
            .into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_inline(ctx: &Ctx, i: &Value, kind: EntityKind) -> AwsResult<Value> {
    let entity = req(i, entity_param(kind))?;
    ctx.authorize(
        &format!("iam:List{}Policies", kind_title(kind)),
        &entity_arn(ctx, kind, entity)?,
    )?;
    let names = ctx.store.view(|tx| {
        let name = load_entity(tx, kind, entity)?;
        Ok(tx
            .scan_json::<InlinePolicy>(Table::InlinePolicies, &entity_prefix(kind, &name))?
            .into_iter()
            .map(|(_, p)| json!(p.name))
            .collect::<Vec<_>>())
    })?;
    paginate_into(i, names, "PolicyNames", Map::new())
}
