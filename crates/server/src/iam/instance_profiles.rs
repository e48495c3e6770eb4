//! Instance profiles: Create/Get/Delete/List, Add/RemoveRoleFromInstanceProfile,
//! ListInstanceProfilesForRole, tags. kagi runs no EC2, but infrastructure tools read and
//! clean these up around roles (Terraform lists a role's instance profiles before deleting
//! it), and a role in an instance profile cannot be deleted, as on AWS.
//!
//! Stored in `Table::Meta` under [`key`] (`instance-profile\0lower(name)`), holding role
//! names; at most one role per profile (AWS's quota).

use crate::entities::profiles_of_role;
use crate::entities::{load_role, role_arn, role_value};
use crate::error::{AwsError, AwsResult};
use crate::ids::{self, IdKind};
use crate::model::{InstanceProfile, Role};
use crate::params::{name_param, opt, paginate, path_param, req, tags_param, ts, with_tags};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde_json::{Value, json};

use crate::entities::INSTANCE_PROFILE_PREFIX as PREFIX;

pub fn key(name: &str) -> String {
    format!("{PREFIX}{}", name_key(name))
}

fn not_found(name: &str) -> AwsError {
    AwsError::no_such_entity(format!("Instance Profile {name} cannot be found."))
}

fn load(tx: &dyn Tx, name: &str) -> AwsResult<InstanceProfile> {
    tx.get_json::<InstanceProfile>(Table::Meta, &key(name))?
        .ok_or_else(|| not_found(name))
}

fn arn_of(ctx: &Ctx, name: &str) -> AwsResult<String> {
    let p: Option<InstanceProfile> = ctx.store.view(|tx| tx.get_json(Table::Meta, &key(name)))?;
    Ok(match p {
        Some(p) => p.arn,
        None => ids::iam_arn(&ctx.caller.account_id, "instance-profile", "/", name),
    })
}

/// An instance profile as the API shows it (its roles in full).
pub fn value(tx: &dyn Tx, p: &InstanceProfile) -> anyhow::Result<Value> {
    let mut roles = Vec::new();
    for r in &p.roles {
        if let Some(r) = tx.get_json::<Role>(Table::Roles, &name_key(r))? {
            roles.push(role_value(&r, false));
        }
    }
    Ok(with_tags(
        json!({
            "Path": p.path, "InstanceProfileName": p.name, "InstanceProfileId": p.id,
            "Arn": p.arn, "CreateDate": ts(p.created), "Roles": roles,
        }),
        &p.tags,
    ))
}

pub fn create_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "InstanceProfileName", 128)?;
    let path = path_param(i, "Path")?;
    let tags = tags_param(i)?;
    let arn = ids::iam_arn(&ctx.caller.account_id, "instance-profile", &path, name);
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:CreateInstanceProfile",
        &arn,
        &crate::authz::as_extra(&context),
    )?;
    let v = ctx.store.write(|tx| {
        if tx.get(Table::Meta, &key(name))?.is_some() {
            return Err(AwsError::already_exists(format!(
                "Instance Profile {name} already exists."
            ))
            .into());
        }
        let p = InstanceProfile {
            // AWS's instance profile ids start with AIPA.
            id: format!("AIPA{}", &ids::unique_id(IdKind::Group)[4..]),
            name: name.to_owned(),
            path: path.clone(),
            arn: arn.clone(),
            created: ctx.now,
            roles: Vec::new(),
            tags: tags.clone(),
        };
        tx.put_json(Table::Meta, &key(name), &p)?;
        value(tx, &p)
    })?;
    Ok(json!({ "InstanceProfile": v }))
}

pub fn get_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    ctx.authorize("iam:GetInstanceProfile", &arn_of(ctx, name)?)?;
    let v = ctx.store.view(|tx| {
        let p = load(tx, name)?;
        value(tx, &p)
    })?;
    Ok(json!({ "InstanceProfile": v }))
}

pub fn delete_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    ctx.authorize("iam:DeleteInstanceProfile", &arn_of(ctx, name)?)?;
    ctx.store.write(|tx| {
        let p = load(tx, name)?;
        if !p.roles.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove roles from instance profile first.",
            )
            .into());
        }
        tx.delete(Table::Meta, &key(&p.name))?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn add_role_to_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    let role = req(i, "RoleName")?;
    ctx.authorize("iam:AddRoleToInstanceProfile", &arn_of(ctx, name)?)?;
    // Putting a role in an instance profile passes it (AWS requires iam:PassRole too).
    ctx.authorize("iam:PassRole", &role_arn(ctx, role)?)?;
    ctx.store.write(|tx| {
        let mut p = load(tx, name)?;
        let r = load_role(tx, role)?;
        if !p.roles.is_empty() {
            return Err(AwsError::limit_exceeded(
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            )
            .into());
        }
        p.roles.push(r.name);
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn remove_role_from_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    let role = req(i, "RoleName")?;
    ctx.authorize("iam:RemoveRoleFromInstanceProfile", &arn_of(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut p = load(tx, name)?;
        let before = p.roles.len();
        p.roles.retain(|r| name_key(r) != name_key(role));
        if p.roles.len() == before {
            return Err(AwsError::no_such_entity(format!(
                "The role with name {role} cannot be found in instance profile {}.",
                p.name
            ))
            .into());
        }
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn list_instance_profiles(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    ctx.authorize(
        "iam:ListInstanceProfiles",
        &format!("arn:aws:iam::{}:instance-profile/", ctx.caller.account_id),
    )?;
    let items = ctx.store.view(|tx| {
        crate::entities::all_instance_profiles(tx)?
            .iter()
            .filter(|p| p.path.starts_with(prefix))
            .map(|p| value(tx, p))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    paginate(i, items, "InstanceProfiles")
}

pub fn list_instance_profiles_for_role(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let role = req(i, "RoleName")?;
    ctx.authorize("iam:ListInstanceProfilesForRole", &role_arn(ctx, role)?)?;
    let items = ctx.store.view(|tx| {
        let r = load_role(tx, role)?;
        profiles_of_role(tx, &r.name)?
            .iter()
            .map(|p| value(tx, p))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    paginate(i, items, "InstanceProfiles")
}

pub fn tag_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    let tags = tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagInstanceProfile",
        &arn_of(ctx, name)?,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut p = load(tx, name)?;
        crate::params::merge_tags(&mut p.tags, tags.clone())?;
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn untag_instance_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    ctx.authorize("iam:UntagInstanceProfile", &arn_of(ctx, name)?)?;
    ctx.store.write(|tx| {
        let mut p = load(tx, name)?;
        crate::params::remove_tags(&mut p.tags, i);
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn list_instance_profile_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "InstanceProfileName")?;
    ctx.authorize("iam:ListInstanceProfileTags", &arn_of(ctx, name)?)?;
    let p = ctx.store.view(|tx| Ok(load(tx, name)?))?;
    paginate(
        i,
        crate::params::tags_value(&p.tags)
            .as_array()
            .cloned()
            .unwrap_or_default(),
        "Tags",
    )
}
