//! Groups and group membership. A group's policies count in its members' evaluation
//! ([`crate::authz`]).

use crate::entities::{group_arn, groups_of, load_group};
use crate::entities::{load_user, member_key, user_value};
use crate::error::{AwsError, AwsResult};
use crate::ids::{self, IdKind};
use crate::model::{Attachment, EntityKind, Group, InlinePolicy, Membership, User};
use crate::params::{name_param, opt, paginate, paginate_into, path_param, req, ts};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde_json::{Map, Value, json};

pub fn group_value(g: &Group) -> Value {
    json!({"Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn, "CreateDate": ts(g.created)})
}

pub fn create_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "GroupName", 128)?;
    let path = path_param(i, "Path")?;
    let arn = ids::iam_arn(&ctx.caller.account_id, "group", &path, name);
    ctx.authorize("iam:CreateGroup", &arn)?;
    let g = ctx.store.write(|tx| {
        if tx.get(Table::Groups, &name_key(name))?.is_some() {
            return Err(AwsError::already_exists(format!(
                "Group with name {name} already exists."
            ))
            .into());
        }
        let g = Group {
            id: ids::unique_id(IdKind::Group),
            name: name.into(),
            path: path.clone(),
            arn: arn.clone(),
            created: ctx.now,
        };
        tx.put_json(Table::Groups, &name_key(name), &g)?;
        Ok(g)
    })?;
    Ok(json!({"Group": group_value(&g)}))
}

pub fn get_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "GroupName")?;
    ctx.authorize("iam:GetGroup", &group_arn(ctx, name)?)?;
    let (g, users) = ctx.store.view(|tx| {
        let g = load_group(tx, name)?;
        let mut users = Vec::new();
        for (_, m) in
            tx.scan_json::<Membership>(Table::GroupMembers, &format!("{}\0", name_key(name)))?
        {
            if let Some(u) = tx.get_json::<User>(Table::Users, &name_key(&m.user))? {
                users.push(u);
            }
        }
        Ok((g, users))
    })?;
    let mut out = Map::new();
    out.insert("Group".into(), group_value(&g));
    paginate_into(
        i,
        users.iter().map(|u| user_value(u, false)).collect(),
        "Users",
        out,
    )
}

pub fn list_groups(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let prefix = opt(i, "PathPrefix").unwrap_or("/");
    ctx.authorize(
        "iam:ListGroups",
        &format!("arn:aws:iam::{}:group/", ctx.caller.account_id),
    )?;
    let groups: Vec<(String, Group)> = ctx.store.view(|tx| tx.scan_json(Table::Groups, ""))?;
    let items = groups
        .iter()
        .filter(|(_, g)| g.path.starts_with(prefix))
        .map(|(_, g)| group_value(g))
        .collect();
    paginate(i, items, "Groups")
}

/// UpdateGroup: a new path and/or a new name. A rename re-keys, in the same transaction, the
/// group document, its membership rows, its managed-policy attachments and its inline policies,
/// so nothing is left under the old name. As on AWS, the caller needs `iam:UpdateGroup` on both
/// the group as it is and the group as it will be.
pub fn update_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "GroupName")?;
    let new_name = match opt(i, "NewGroupName") {
        Some(_) => Some(name_param(i, "NewGroupName", 128)?.to_owned()),
        None => None,
    };
    let new_path = match opt(i, "NewPath") {
        Some(_) => Some(path_param(i, "NewPath")?),
        None => None,
    };
    let current: Option<Group> = ctx
        .store
        .view(|tx| tx.get_json(Table::Groups, &name_key(name)))?;
    crate::params::authorize_rename(
        ctx,
        "iam:UpdateGroup",
        "group",
        name,
        current.as_ref().map(|g| crate::params::Located {
            arn: &g.arn,
            path: &g.path,
            name: &g.name,
        }),
        new_path.as_deref(),
        new_name.as_deref(),
    )?;
    ctx.store.write(|tx| {
        let mut g = load_group(tx, name)?;
        if let Some(p) = &new_path {
            g.path = p.clone();
        }
        let old_key = name_key(&g.name);
        if let Some(n) = &new_name {
            if name_key(n) != old_key && tx.get(Table::Groups, &name_key(n))?.is_some() {
                return Err(AwsError::already_exists(format!(
                    "Group with name {n} already exists."
                ))
                .into());
            }
            rename_group_refs(tx, &g.name, n)?;
            g.name = n.clone();
        }
        g.arn = ids::iam_arn(&ctx.caller.account_id, "group", &g.path, &g.name);
        tx.delete(Table::Groups, &old_key)?;
        tx.put_json(Table::Groups, &name_key(&g.name), &g)
    })?;
    Ok(json!({}))
}

/// Moves everything keyed by a group's name from `old` to `new` (same transaction as the
/// group document itself).
fn rename_group_refs(tx: &mut dyn Tx, old: &str, new: &str) -> anyhow::Result<()> {
    for (k, m) in
        tx.scan_json::<Membership>(Table::GroupMembers, &format!("{}\0", name_key(old)))?
    {
        tx.delete(Table::GroupMembers, &k)?;
        let m = Membership {
            group: new.to_owned(),
            user: m.user,
        };
        tx.put_json(Table::GroupMembers, &member_key(new, &m.user), &m)?;
    }
    let p = crate::entities::entity_prefix(EntityKind::Group, old);
    for (k, mut a) in tx.scan_json::<Attachment>(Table::Attachments, &p)? {
        tx.delete(Table::Attachments, &k)?;
        a.entity = new.to_owned();
        tx.put_json(
            Table::Attachments,
            &crate::entities::attachment_key(EntityKind::Group, new, &a.policy_arn),
            &a,
        )?;
    }
    for (k, mut ip) in tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &p)? {
        tx.delete(Table::InlinePolicies, &k)?;
        ip.entity = new.to_owned();
        tx.put_json(
            Table::InlinePolicies,
            &crate::entities::inline_key(EntityKind::Group, new, &ip.name),
            &ip,
        )?;
    }
    Ok(())
}

pub fn delete_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "GroupName")?;
    ctx.authorize("iam:DeleteGroup", &group_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let g = load_group(tx, name)?;
        if !tx
            .scan(Table::GroupMembers, &format!("{}\0", name_key(&g.name)))?
            .is_empty()
        {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must remove users from group first.",
            )
            .into());
        }
        let p = format!("group\0{}\0", name_key(&g.name));
        if !tx.scan(Table::InlinePolicies, &p)?.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must delete policies first.",
            )
            .into());
        }
        if !tx.scan(Table::Attachments, &p)?.is_empty() {
            return Err(AwsError::delete_conflict(
                "Cannot delete entity, must detach all policies first.",
            )
            .into());
        }
        tx.delete(Table::Groups, &name_key(&g.name))?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn add_user_to_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let group = req(i, "GroupName")?;
    let user = req(i, "UserName")?;
    ctx.authorize("iam:AddUserToGroup", &group_arn(ctx, group)?)?;
    ctx.store.write(|tx| {
        let g = load_group(tx, group)?;
        let u = load_user(tx, user)?;
        if tx
            .get(Table::GroupMembers, &member_key(&g.name, &u.name))?
            .is_none()
            && groups_of(tx, &u.name)?.len() >= 10
        {
            return Err(
                AwsError::limit_exceeded("Cannot exceed quota for GroupsPerUser: 10").into(),
            );
        }
        tx.put_json(
            Table::GroupMembers,
            &member_key(&g.name, &u.name),
            &Membership {
                group: g.name,
                user: u.name,
            },
        )
    })?;
    Ok(json!({}))
}

pub fn remove_user_from_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let group = req(i, "GroupName")?;
    let user = req(i, "UserName")?;
    ctx.authorize("iam:RemoveUserFromGroup", &group_arn(ctx, group)?)?;
    ctx.store.write(|tx| {
        let g = load_group(tx, group)?;
        let u = load_user(tx, user)?;
        if !tx.delete(Table::GroupMembers, &member_key(&g.name, &u.name))? {
            return Err(AwsError::no_such_entity(format!(
                "The user with name {user} cannot be found in group {group}."
            ))
            .into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_groups_for_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let user = req(i, "UserName")?;
    ctx.authorize(
        "iam:ListGroupsForUser",
        &crate::entities::user_arn(ctx, user)?,
    )?;
    let groups = ctx.store.view(|tx| {
        let u = load_user(tx, user)?;
        groups_of(tx, &u.name)
    })?;
    paginate(i, groups.iter().map(group_value).collect(), "Groups")
}
