//! GetAccountAuthorizationDetails: every user, group and role with its inline policies,
//! attached policies (and groups, boundary, tags), and the managed policies with all their
//! versions, read in one consistent view of the store.
//!
//! `Filter` picks among `User`, `Group`, `Role`, `LocalManagedPolicy` (customer managed) and
//! `AWSManagedPolicy` (the AWS managed policies in use: attached or a boundary somewhere).
//! `MaxItems`/`Marker` page through the concatenation users, groups, roles, policies, so a page
//! may end in the middle of one list and the next page go on from there, as on AWS.

use crate::error::{AwsError, AwsResult};
use crate::model::{Attachment, EntityKind, Group, InlinePolicy, ManagedPolicy, Role, User};
use crate::params::{paginate, ts, with_tags};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt};
use serde_json::{Map, Value, json};

const FILTERS: [&str; 5] = [
    "User",
    "Role",
    "Group",
    "LocalManagedPolicy",
    "AWSManagedPolicy",
];

fn inline_list(tx: &dyn Tx, kind: EntityKind, name: &str) -> anyhow::Result<Value> {
    let prefix = crate::entities::entity_prefix(kind, name);
    Ok(Value::Array(
        tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &prefix)?
            .into_iter()
            .map(|(_, p)| json!({"PolicyName": p.name, "PolicyDocument": p.document}))
            .collect(),
    ))
}

fn attached_list(tx: &dyn Tx, kind: EntityKind, name: &str) -> anyhow::Result<Value> {
    let prefix = crate::entities::entity_prefix(kind, name);
    let mut out = Vec::new();
    for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, &prefix)? {
        if let Some(p) = tx.get_json::<ManagedPolicy>(Table::Policies, &a.policy_arn)? {
            out.push(json!({"PolicyName": p.name, "PolicyArn": p.arn}));
        }
    }
    Ok(Value::Array(out))
}

fn boundary(b: &Option<String>) -> Option<Value> {
    b.as_ref().map(|arn| {
        json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn})
    })
}

fn user_detail(tx: &dyn Tx, u: &User) -> anyhow::Result<Value> {
    let groups: Vec<String> = crate::entities::groups_of(tx, &u.name)?
        .into_iter()
        .map(|g| g.name)
        .collect();
    let mut v = json!({
        "Path": u.path, "UserName": u.name, "UserId": u.id, "Arn": u.arn,
        "CreateDate": ts(u.created),
        "UserPolicyList": inline_list(tx, EntityKind::User, &u.name)?,
        "GroupList": groups,
        "AttachedManagedPolicies": attached_list(tx, EntityKind::User, &u.name)?,
    });
    if let Some(b) = boundary(&u.boundary) {
        v["PermissionsBoundary"] = b;
    }
    Ok(with_tags(v, &u.tags))
}

fn group_detail(tx: &dyn Tx, g: &Group) -> anyhow::Result<Value> {
    Ok(json!({
        "Path": g.path, "GroupName": g.name, "GroupId": g.id, "Arn": g.arn,
        "CreateDate": ts(g.created),
        "GroupPolicyList": inline_list(tx, EntityKind::Group, &g.name)?,
        "AttachedManagedPolicies": attached_list(tx, EntityKind::Group, &g.name)?,
    }))
}

fn role_detail(tx: &dyn Tx, r: &Role) -> anyhow::Result<Value> {
    let mut v = json!({
        "Path": r.path, "RoleName": r.name, "RoleId": r.id, "Arn": r.arn,
        "CreateDate": ts(r.created),
        "AssumeRolePolicyDocument": r.trust_policy,
        "InstanceProfileList": crate::entities::profiles_of_role(tx, &r.name)?
            .iter()
            .map(|p| super::instance_profiles::value(tx, p))
            .collect::<anyhow::Result<Vec<_>>>()?,
        "RolePolicyList": inline_list(tx, EntityKind::Role, &r.name)?,
        "AttachedManagedPolicies": attached_list(tx, EntityKind::Role, &r.name)?,
    });
    if let Some(b) = boundary(&r.boundary) {
        v["PermissionsBoundary"] = b;
    }
    v["RoleLastUsed"] = match &r.last_used {
        Some(l) => json!({"LastUsedDate": ts(l.date), "Region": l.region}),
        None => json!({}),
    };
    Ok(with_tags(v, &r.tags))
}

fn policy_detail(p: &ManagedPolicy, attached: usize, boundaries: usize) -> Value {
    let mut v = json!({
        "PolicyName": p.name, "PolicyId": p.id, "Arn": p.arn, "Path": p.path,
        "DefaultVersionId": p.default_version, "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundaries, "IsAttachable": true,
        "CreateDate": ts(p.created), "UpdateDate": ts(p.updated),
        "PolicyVersionList": p.versions.iter().map(|ver| json!({
            "Document": ver.document, "VersionId": ver.version_id,
            "IsDefaultVersion": ver.version_id == p.default_version,
            "CreateDate": ts(ver.created),
        })).collect::<Vec<_>>(),
    });
    if let Some(d) = &p.description {
        v["Description"] = json!(d);
    }
    v
}

/// Which list an item goes to.
#[derive(Clone, Copy)]
enum Kind {
    User,
    Group,
    Role,
    Policy,
}

impl Kind {
    fn list(self) -> &'static str {
        match self {
            Kind::User => "UserDetailList",
            Kind::Group => "GroupDetailList",
            Kind::Role => "RoleDetailList",
            Kind::Policy => "Policies",
        }
    }
}

pub fn get_account_authorization_details(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:GetAccountAuthorizationDetails", "*")?;
    let filter: Vec<&str> = i
        .get("Filter")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(bad) = filter.iter().find(|f| !FILTERS.contains(f)) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '[{bad}]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
            FILTERS.join(", ")
        )));
    }
    let wants = |f: &str| filter.is_empty() || filter.contains(&f);
    let items: Vec<(Kind, Value)> = ctx.store.view(|tx| {
        let mut items = Vec::new();
        if wants("User") {
            for (_, u) in tx.scan_json::<User>(Table::Users, "")? {
                items.push((Kind::User, user_detail(tx, &u)?));
            }
        }
        if wants("Group") {
            for (_, g) in tx.scan_json::<Group>(Table::Groups, "")? {
                items.push((Kind::Group, group_detail(tx, &g)?));
            }
        }
        if wants("Role") {
            for (_, mut r) in tx.scan_json::<Role>(Table::Roles, "")? {
                r.last_used = ctx.state.role_last_used_in(ctx.account(), tx, &r)?;
                items.push((Kind::Role, role_detail(tx, &r)?));
            }
        }
        if wants("LocalManagedPolicy") || wants("AWSManagedPolicy") {
            let attachments: Vec<Attachment> = tx
                .scan_json::<Attachment>(Table::Attachments, "")?
                .into_iter()
                .map(|(_, a)| a)
                .collect();
            let mut boundaries: Vec<String> = Vec::new();
            for (_, u) in tx.scan_json::<User>(Table::Users, "")? {
                boundaries.extend(u.boundary);
            }
            for (_, r) in tx.scan_json::<Role>(Table::Roles, "")? {
                boundaries.extend(r.boundary);
            }
            for (_, p) in tx.scan_json::<ManagedPolicy>(Table::Policies, "")? {
                let attached = attachments.iter().filter(|a| a.policy_arn == p.arn).count();
                let bounds = boundaries.iter().filter(|b| **b == p.arn).count();
                let aws = p.arn.starts_with("arn:aws:iam::aws:policy/");
                let wanted = if aws {
                    wants("AWSManagedPolicy") && attached + bounds > 0
                } else {
                    wants("LocalManagedPolicy")
                };
                if wanted {
                    items.push((Kind::Policy, policy_detail(&p, attached, bounds)));
                }
            }
        }
        Ok(items)
    })?;
    // Page through the concatenation, then deal the page out to its four lists.
    let tagged: Vec<Value> = items
        .into_iter()
        .map(|(k, v)| json!([k as u8, v]))
        .collect();
    let page = paginate(i, tagged, "Items")?;
    let mut out = Map::new();
    for k in [Kind::User, Kind::Group, Kind::Role, Kind::Policy] {
        out.insert(k.list().into(), json!([]));
    }
    for item in page["Items"].as_array().into_iter().flatten() {
        let k = match item[0].as_u64() {
            Some(0) => Kind::User,
            Some(1) => Kind::Group,
            Some(2) => Kind::Role,
            _ => Kind::Policy,
        };
        if let Some(list) = out.get_mut(k.list()).and_then(Value::as_array_mut) {
            list.push(item[1].clone());
        }
    }
    out.insert("IsTruncated".into(), page["IsTruncated"].clone());
    if let Some(m) = page.get("Marker") {
        out.insert("Marker".into(), m.clone());
    }
    Ok(Value::Object(out))
}
