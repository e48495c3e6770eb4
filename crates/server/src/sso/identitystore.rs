//! `identitystore` (JSON 1.1, `AWSIdentityStore`): the users, groups and group memberships of
//! an Identity Center instance's identity store, over [`crate::identity_center`]'s rows in the
//! store-wide scope.
//!
//! Every operation is authorised first (`identitystore:OPERATION` on the identity store's ARN
//! `arn:aws:identitystore::ACCOUNT:identitystore/d-…`, then on the user's, group's or
//! membership's ARN `arn:aws:identitystore:::user/ID` when it names one); only principals of
//! the account that owns the instance reach its store (AccessDeniedException otherwise, the
//! same answer whether the store exists or not). User names and group display names are unique
//! per store, case-insensitively. Each user and group carries a `Revision` (a counter bumped by
//! every update; a stale `Revision` in UpdateUser/DeleteUser/… is a ConflictException).
//! Deleting a user or a group deletes its memberships and its account assignments, and the
//! provisioned roles no remaining assignment needs, in one transaction.

use crate::error::{AwsError, AwsResult};
use crate::identity_center::{self as ic, Instance, Membership, StoreGroup, StoreUser, keys};
use crate::params::{opt, req};
use crate::state::Ctx;
use crate::store::{self, Durability, GLOBAL, StoreExt, Table, Tx, TxExt};
use serde_json::{Map, Value, json};

// ---- errors, in the Identity Store's words ----

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "ValidationException", message)
}

fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new(409, "ConflictException", message)
}

/// `ResourceNotFoundException` for a `USER`, `GROUP`, `GROUP_MEMBERSHIP` or `IDENTITY_STORE`.
fn not_found(kind: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("{kind} not found."),
    )
}

fn denied(ctx: &Ctx, op: &str, arn: &str) -> AwsError {
    AwsError::new(
        403,
        "AccessDeniedException",
        format!(
            "User: {} is not authorized to perform: identitystore:{op} on resource: {arn}",
            ctx.caller.arn()
        ),
    )
}

// ---- ARNs and ids ----

pub fn user_arn(id: &str) -> String {
    format!("arn:aws:identitystore:::user/{id}")
}

pub fn group_arn(id: &str) -> String {
    format!("arn:aws:identitystore:::group/{id}")
}

pub fn membership_arn(id: &str) -> String {
    format!("arn:aws:identitystore:::membership/{id}")
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The revision counter of a user or group (a row beside it).
fn rev_key(store: &str, id: &str) -> String {
    format!("{store}\0rev\0{id}")
}

fn revision(tx: &dyn Tx, store: &str, id: &str) -> anyhow::Result<u64> {
    Ok(tx
        .get_json::<u64>(Table::IdentityCenter, &rev_key(store, id))?
        .unwrap_or(1))
}

fn bump(tx: &mut dyn Tx, store: &str, id: &str) -> anyhow::Result<u64> {
    let next = revision(tx, store, id)? + 1;
    tx.put_json(Table::IdentityCenter, &rev_key(store, id), &next)?;
    Ok(next)
}

/// A `Revision` in the request must be the current one.
fn check_revision(i: &Value, current: u64) -> AwsResult<()> {
    match opt(i, "Revision") {
        Some(r) if r != current.to_string() => Err(conflict(format!(
            "The resource was modified since revision {r}; the current revision is {current}. (CONCURRENT_MODIFICATION)"
        ))),
        _ => Ok(()),
    }
}

fn global(ctx: &Ctx) -> std::sync::Arc<dyn crate::store::Store> {
    ctx.state.store(GLOBAL)
}

/// Authorises `identitystore:OP` on the store named by `IdentityStoreId` (its ARN in the
/// caller's account when it is not the caller's), then returns the caller's instance that
/// owns it.
fn store_of(ctx: &Ctx, op: &str, i: &Value) -> AwsResult<Instance> {
    let sid = req(i, "IdentityStoreId")?;
    let inst = global(ctx).view(|tx| ic::instance_by_store(tx, sid))?;
    let arn = match &inst {
        Some(x) if x.owner_account == ctx.account() => x.identity_store_arn(),
        _ => format!(
            "arn:aws:identitystore::{}:identitystore/{sid}",
            ctx.account()
        ),
    };
    ctx.authorize(&format!("identitystore:{op}"), &arn)?;
    match inst {
        Some(x) if x.owner_account == ctx.account() => Ok(x),
        _ => Err(denied(ctx, op, &arn)),
    }
}

fn page(i: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    crate::params::paginate_token(i, items, key, 100).map_err(|mut e| {
        if e.code == "InvalidInputException" {
            e.code = "ValidationException".into();
        }
        e
    })
}

// ---- dispatch ----

pub fn handle(ctx: &Ctx, op: &str, i: Value) -> AwsResult<Value> {
    match op {
        "DescribeIdentityStore" => describe_identity_store(ctx, &i),
        "ListIdentityStores" => list_identity_stores(ctx, &i),
        "CreateUser" => create_user(ctx, &i),
        "DescribeUser" => describe_user(ctx, &i),
        "ListUsers" => list_users(ctx, &i),
        "UpdateUser" => update_user(ctx, &i),
        "DeleteUser" => delete_user(ctx, &i),
        "GetUserId" => get_user_id(ctx, &i),
        "CreateGroup" => create_group(ctx, &i),
        "DescribeGroup" => describe_group(ctx, &i),
        "ListGroups" => list_groups(ctx, &i),
        "UpdateGroup" => update_group(ctx, &i),
        "DeleteGroup" => delete_group(ctx, &i),
        "GetGroupId" => get_group_id(ctx, &i),
        "CreateGroupMembership" => create_membership(ctx, &i),
        "DescribeGroupMembership" => describe_membership(ctx, &i),
        "DeleteGroupMembership" => delete_membership(ctx, &i),
        "GetGroupMembershipId" => get_membership_id(ctx, &i),
        "ListGroupMemberships" => list_memberships(ctx, &i, false),
        "ListGroupMembershipsForMember" => list_memberships(ctx, &i, true),
        "IsMemberInGroups" => is_member_in_groups(ctx, &i),
        other => {
            ctx.authorize(&format!("identitystore:{other}"), "*")?;
            Err(AwsError::new(
                400,
                "UnknownOperationException",
                format!("kagi does not implement identitystore:{other}."),
            ))
        }
    }
}

// ---- identity stores ----

fn describe_identity_store(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DescribeIdentityStore", i)?;
    Ok(json!({
        "IdentityStoreId": inst.identity_store_id,
        "IdentityStoreArn": inst.identity_store_arn(),
    }))
}

fn list_identity_stores(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("identitystore:ListIdentityStores", "*")?;
    let me = ctx.account().to_owned();
    let inst = global(ctx).view(|tx| ic::instance_of(tx, &me))?;
    let items = inst
        .iter()
        .map(|x| {
            json!({"IdentityStoreId": x.identity_store_id, "IdentityStoreArn": x.identity_store_arn()})
        })
        .collect();
    page(i, items, "IdentityStores")
}

// ---- users ----

/// The members of CreateUser kept in [`StoreUser::attributes`].
const USER_ATTRIBUTES: &[&str] = &[
    "Name",
    "DisplayName",
    "NickName",
    "ProfileUrl",
    "Emails",
    "Addresses",
    "PhoneNumbers",
    "UserType",
    "Title",
    "PreferredLanguage",
    "Locale",
    "Timezone",
    "Photos",
    "Website",
    "Birthdate",
    "Roles",
    "Extensions",
];

fn user_value(inst: &Instance, u: &StoreUser, rev: u64) -> Value {
    let mut v = match &u.attributes {
        Value::Object(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    v["IdentityStoreId"] = json!(inst.identity_store_id);
    v["UserId"] = json!(u.id);
    v["UserArn"] = json!(user_arn(&u.id));
    v["Revision"] = json!(rev.to_string());
    v["UserName"] = json!(u.user_name);
    v["UserStatus"] = json!("ENABLED");
    v["CreatedAt"] = json!(crate::ids::iso8601(u.created));
    v["UpdatedAt"] = json!(crate::ids::iso8601(u.updated.max(u.created)));
    v
}

fn create_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "CreateUser", i)?;
    let name = opt(i, "UserName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| validation("UserName is a required attribute."))?;
    if name.eq_ignore_ascii_case("administrator") || name.eq_ignore_ascii_case("aws") {
        return Err(validation(format!("The UserName {name} is reserved.")));
    }
    let mut attributes = Map::new();
    for k in USER_ATTRIBUTES {
        if let Some(v) = i.get(*k) {
            attributes.insert((*k).to_owned(), v.clone());
        }
    }
    let sid = inst.identity_store_id.clone();
    let now = ctx.now;
    let user = global(ctx).write(|tx| {
        if tx
            .get(Table::IdentityCenter, &keys::user_name(&sid, name))?
            .is_some()
        {
            return Err(conflict("Duplicate UserName (UNIQUENESS_CONSTRAINT_VIOLATION)").into());
        }
        let u = StoreUser {
            id: new_id(),
            user_name: name.to_owned(),
            attributes: Value::Object(attributes.clone()),
            password_phc: None,
            created: now,
            updated: now,
        };
        tx.put_json(Table::IdentityCenter, &keys::user(&sid, &u.id), &u)?;
        tx.put_json(Table::IdentityCenter, &keys::user_name(&sid, name), &u.id)?;
        tx.put_json(Table::IdentityCenter, &rev_key(&sid, &u.id), &1u64)?;
        Ok(u)
    })?;
    Ok(json!({
        "IdentityStoreId": sid,
        "UserId": user.id,
        "UserArn": user_arn(&user.id),
        "Revision": "1",
    }))
}

/// Authorises `op` on the user's ARN and loads it (with its revision).
fn load_user(ctx: &Ctx, op: &str, inst: &Instance, id: &str) -> AwsResult<(StoreUser, u64)> {
    ctx.authorize(&format!("identitystore:{op}"), &user_arn(id))?;
    let sid = &inst.identity_store_id;
    global(ctx)
        .view(|tx| {
            Ok(match ic::user(tx, sid, id)? {
                Some(u) => Some((u, revision(tx, sid, id)?)),
                None => None,
            })
        })?
        .ok_or_else(|| not_found("USER"))
}

fn describe_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DescribeUser", i)?;
    let (u, rev) = load_user(ctx, "DescribeUser", &inst, req(i, "UserId")?)?;
    Ok(user_value(&inst, &u, rev))
}

fn filters(i: &Value, allowed: &[&str]) -> AwsResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for f in i["Filters"].as_array().into_iter().flatten() {
        let path = f["AttributePath"].as_str().unwrap_or("");
        let value = f["AttributeValue"].as_str().unwrap_or("");
        let Some(known) = allowed.iter().find(|a| a.eq_ignore_ascii_case(path)) else {
            return Err(validation(format!(
                "Filtering on the attribute {path} is not supported; use {}.",
                allowed.join(" or ")
            )));
        };
        out.push(((*known).to_owned(), value.to_owned()));
    }
    if out.len() > 1 {
        return Err(validation("Only one filter is supported."));
    }
    Ok(out)
}

fn list_users(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "ListUsers", i)?;
    let filters = filters(i, &["UserName"])?;
    let sid = inst.identity_store_id.clone();
    let mut users = global(ctx).view(|tx| {
        let mut out = Vec::new();
        for (_, u) in tx.scan_json::<StoreUser>(Table::IdentityCenter, &format!("{sid}\0user\0"))? {
            let rev = revision(tx, &sid, &u.id)?;
            out.push((u, rev));
        }
        Ok(out)
    })?;
    users.retain(|(u, _)| {
        filters
            .iter()
            .all(|(_, v)| u.user_name.eq_ignore_ascii_case(v))
    });
    users.sort_by(|a, b| {
        a.0.user_name
            .to_lowercase()
            .cmp(&b.0.user_name.to_lowercase())
    });
    let items = users
        .iter()
        .map(|(u, rev)| user_value(&inst, u, *rev))
        .collect();
    page(i, items, "Users")
}

/// `name.givenName` → `["Name", "GivenName"]`.
fn attribute_path(path: &str) -> Vec<String> {
    path.split('.').map(upper_first).collect()
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A SCIM-style value (`{"givenName": …}`, `[{"value": …, "primary": true}]`) in the API's
/// member names (`GivenName`, `Value`, `Primary`).
fn api_names(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (upper_first(k), api_names(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(api_names).collect()),
        other => other.clone(),
    }
}

fn operations(i: &Value) -> AwsResult<Vec<(String, Option<Value>)>> {
    let ops = i["Operations"].as_array().cloned().unwrap_or_default();
    if ops.is_empty() || ops.len() > 100 {
        return Err(validation(
            "Operations must contain between 1 and 100 attribute operations.",
        ));
    }
    Ok(ops
        .iter()
        .map(|o| {
            let path = o["AttributePath"].as_str().unwrap_or("").to_owned();
            let value = o.get("AttributeValue").filter(|v| !v.is_null()).cloned();
            (path, value)
        })
        .collect())
}

fn update_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "UpdateUser", i)?;
    let id = req(i, "UserId")?;
    load_user(ctx, "UpdateUser", &inst, id)?;
    let ops = operations(i)?;
    // Validate the paths before anything is written.
    let mut planned: Vec<(Vec<String>, Option<Value>)> = Vec::new();
    for (path, value) in ops {
        let segments = attribute_path(&path);
        let top = segments.first().cloned().unwrap_or_default();
        let Some(member) = std::iter::once("UserName")
            .chain(USER_ATTRIBUTES.iter().copied())
            .find(|a| a.eq_ignore_ascii_case(&top))
        else {
            return Err(validation(format!(
                "Invalid attribute path {path}: the attribute does not exist or cannot be updated."
            )));
        };
        let mut segments = segments;
        segments[0] = member.to_owned();
        if member == "UserName" {
            match value.as_ref().and_then(Value::as_str) {
                Some(n) if !n.trim().is_empty() && n.chars().count() <= 128 => {}
                _ => {
                    return Err(validation(
                        "UserName must be a string of 1 to 128 characters and cannot be removed.",
                    ));
                }
            }
        }
        if segments.len() > 2 {
            return Err(validation(format!("Invalid attribute path {path}.")));
        }
        planned.push((segments, value.map(|v| api_names(&v))));
    }
    let sid = inst.identity_store_id.clone();
    let now = ctx.now;
    let rev = global(ctx).write(|tx| {
        let mut u = ic::user(tx, &sid, id)?.ok_or_else(|| not_found("USER"))?;
        check_revision(i, revision(tx, &sid, id)?)?;
        let mut attrs = match &u.attributes {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        for (segments, value) in &planned {
            if segments[0] == "UserName" {
                let new = value.as_ref().and_then(Value::as_str).unwrap_or_default();
                if !new.eq_ignore_ascii_case(&u.user_name) {
                    if tx
                        .get(Table::IdentityCenter, &keys::user_name(&sid, new))?
                        .is_some()
                    {
                        return Err(conflict(
                            "Duplicate UserName (UNIQUENESS_CONSTRAINT_VIOLATION)",
                        )
                        .into());
                    }
                    tx.delete(Table::IdentityCenter, &keys::user_name(&sid, &u.user_name))?;
                    tx.put_json(Table::IdentityCenter, &keys::user_name(&sid, new), &u.id)?;
                }
                u.user_name = new.to_owned();
                continue;
            }
            match (segments.as_slice(), value) {
                ([top], Some(v)) => {
                    attrs.insert(top.clone(), v.clone());
                }
                ([top], None) => {
                    attrs.remove(top);
                }
                ([top, sub], v) => {
                    let entry = attrs.entry(top.clone()).or_insert_with(|| json!({}));
                    if !entry.is_object() {
                        *entry = json!({});
                    }
                    let obj = entry.as_object_mut().expect("an object");
                    match v {
                        Some(v) => {
                            obj.insert(sub.clone(), v.clone());
                        }
                        None => {
                            obj.remove(sub);
                        }
                    }
                }
                _ => {}
            }
        }
        u.attributes = Value::Object(attrs);
        u.updated = now;
        tx.put_json(Table::IdentityCenter, &keys::user(&sid, id), &u)?;
        bump(tx, &sid, id)
    })?;
    Ok(json!({
        "IdentityStoreId": sid,
        "UserId": id,
        "UserArn": user_arn(id),
        "Revision": rev.to_string(),
    }))
}

/// Deletes a user or group (`kind` `USER` / `GROUP`): its row, name index, revision, its
/// memberships, and its account assignments (deprovisioning the roles nothing else needs),
/// in one transaction over the store.
fn delete_principal(ctx: &Ctx, i: &Value, inst: &Instance, kind: &str, id: &str) -> AwsResult<()> {
    let sid = inst.identity_store_id.clone();
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        store::in_account(raw, GLOBAL, |tx| {
            let (row, index) = if kind == "USER" {
                let u = ic::user(tx, &sid, id)?.ok_or_else(|| not_found("USER"))?;
                (keys::user(&sid, id), keys::user_name(&sid, &u.user_name))
            } else {
                let g: StoreGroup = tx
                    .get_json(Table::IdentityCenter, &keys::group(&sid, id))?
                    .ok_or_else(|| not_found("GROUP"))?;
                (
                    keys::group(&sid, id),
                    keys::group_name(&sid, &g.display_name),
                )
            };
            check_revision(i, revision(tx, &sid, id)?)?;
            tx.delete(Table::IdentityCenter, &row)?;
            tx.delete(Table::IdentityCenter, &index)?;
            tx.delete(Table::IdentityCenter, &rev_key(&sid, id))?;
            if kind == "USER" {
                // The user's MFA devices go with the user.
                for (k, _) in tx.scan(Table::IdentityCenter, &keys::mfa_devices(&sid, id))? {
                    tx.delete(Table::IdentityCenter, &k)?;
                }
            }
            for (k, m) in
                tx.scan_json::<Membership>(Table::IdentityCenter, &format!("{sid}\0membership\0"))?
            {
                if (kind == "USER" && m.user_id == id) || (kind == "GROUP" && m.group_id == id) {
                    tx.delete(Table::IdentityCenter, &k)?;
                }
            }
            Ok(())
        })?;
        ic::remove_assignments(raw, inst, &|a| {
            a.principal_type == kind && a.principal_id == id
        })?;
        Ok(())
    })?;
    Ok(())
}

fn delete_user(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DeleteUser", i)?;
    let id = req(i, "UserId")?;
    load_user(ctx, "DeleteUser", &inst, id)?;
    delete_principal(ctx, i, &inst, "USER", id)?;
    Ok(json!({}))
}

/// `AlternateIdentifier.UniqueAttribute` (path, string value); `ExternalId`s come from an
/// external identity provider, which kagi's stores never have.
fn unique_attribute(i: &Value) -> AwsResult<Option<(String, String)>> {
    let alt = &i["AlternateIdentifier"];
    if alt.get("ExternalId").is_some() {
        return Ok(None);
    }
    let ua = &alt["UniqueAttribute"];
    let path = ua["AttributePath"].as_str().unwrap_or("").to_owned();
    let value = match &ua["AttributeValue"] {
        Value::String(s) => s.clone(),
        _ => {
            return Err(validation(
                "AttributeValue of a UniqueAttribute must be a string.",
            ));
        }
    };
    Ok(Some((path, value)))
}

fn get_user_id(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "GetUserId", i)?;
    let Some((path, value)) = unique_attribute(i)? else {
        return Err(not_found("USER"));
    };
    let sid = inst.identity_store_id.clone();
    let found = if path.eq_ignore_ascii_case("userName") {
        global(ctx).view(|tx| ic::user_by_name(tx, &sid, &value))?
    } else if path.eq_ignore_ascii_case("emails.value") {
        global(ctx).view(|tx| {
            Ok(tx
                .scan_json::<StoreUser>(Table::IdentityCenter, &format!("{sid}\0user\0"))?
                .into_iter()
                .map(|(_, u)| u)
                .find(|u| {
                    u.attributes["Emails"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| e["Value"].as_str() == Some(value.as_str()))
                }))
        })?
    } else {
        return Err(validation(format!(
            "{path} is not a unique attribute of a user; use userName or emails.value."
        )));
    };
    let u = found.ok_or_else(|| not_found("USER"))?;
    ctx.authorize("identitystore:GetUserId", &user_arn(&u.id))?;
    Ok(json!({"IdentityStoreId": sid, "UserId": u.id, "UserArn": user_arn(&u.id)}))
}

// ---- groups ----

fn group_value(inst: &Instance, g: &StoreGroup, rev: u64) -> Value {
    let mut v = json!({
        "IdentityStoreId": inst.identity_store_id,
        "GroupId": g.id,
        "GroupArn": group_arn(&g.id),
        "Revision": rev.to_string(),
        "DisplayName": g.display_name,
        "CreatedAt": crate::ids::iso8601(g.created),
        "UpdatedAt": crate::ids::iso8601(g.created),
    });
    if let Some(d) = &g.description {
        v["Description"] = json!(d);
    }
    v
}

fn create_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "CreateGroup", i)?;
    let name = opt(i, "DisplayName")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| validation("DisplayName is a required attribute."))?;
    let sid = inst.identity_store_id.clone();
    let now = ctx.now;
    let g = global(ctx).write(|tx| {
        if tx
            .get(Table::IdentityCenter, &keys::group_name(&sid, name))?
            .is_some()
        {
            return Err(
                conflict("Duplicate GroupDisplayName (UNIQUENESS_CONSTRAINT_VIOLATION)").into(),
            );
        }
        let g = StoreGroup {
            id: new_id(),
            display_name: name.to_owned(),
            description: opt(i, "Description").map(str::to_owned),
            created: now,
        };
        tx.put_json(Table::IdentityCenter, &keys::group(&sid, &g.id), &g)?;
        tx.put_json(Table::IdentityCenter, &keys::group_name(&sid, name), &g.id)?;
        tx.put_json(Table::IdentityCenter, &rev_key(&sid, &g.id), &1u64)?;
        Ok(g)
    })?;
    Ok(json!({
        "IdentityStoreId": sid,
        "GroupId": g.id,
        "GroupArn": group_arn(&g.id),
        "Revision": "1",
    }))
}

fn load_group(ctx: &Ctx, op: &str, inst: &Instance, id: &str) -> AwsResult<(StoreGroup, u64)> {
    ctx.authorize(&format!("identitystore:{op}"), &group_arn(id))?;
    let sid = &inst.identity_store_id;
    global(ctx)
        .view(|tx| {
            Ok(
                match tx.get_json::<StoreGroup>(Table::IdentityCenter, &keys::group(sid, id))? {
                    Some(g) => Some((g, revision(tx, sid, id)?)),
                    None => None,
                },
            )
        })?
        .ok_or_else(|| not_found("GROUP"))
}

fn describe_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DescribeGroup", i)?;
    let (g, rev) = load_group(ctx, "DescribeGroup", &inst, req(i, "GroupId")?)?;
    Ok(group_value(&inst, &g, rev))
}

fn list_groups(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "ListGroups", i)?;
    let filters = filters(i, &["DisplayName"])?;
    let sid = inst.identity_store_id.clone();
    let mut groups = global(ctx).view(|tx| {
        let mut out = Vec::new();
        for (_, g) in
            tx.scan_json::<StoreGroup>(Table::IdentityCenter, &format!("{sid}\0group\0"))?
        {
            let rev = revision(tx, &sid, &g.id)?;
            out.push((g, rev));
        }
        Ok(out)
    })?;
    groups.retain(|(g, _)| {
        filters
            .iter()
            .all(|(_, v)| g.display_name.eq_ignore_ascii_case(v))
    });
    groups.sort_by(|a, b| {
        a.0.display_name
            .to_lowercase()
            .cmp(&b.0.display_name.to_lowercase())
    });
    let items = groups
        .iter()
        .map(|(g, rev)| group_value(&inst, g, *rev))
        .collect();
    page(i, items, "Groups")
}

fn update_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "UpdateGroup", i)?;
    let id = req(i, "GroupId")?;
    load_group(ctx, "UpdateGroup", &inst, id)?;
    let ops = operations(i)?;
    for (path, value) in &ops {
        let ok = if path.eq_ignore_ascii_case("displayName") {
            value
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 1024)
        } else if path.eq_ignore_ascii_case("description") {
            value.is_none() || value.as_ref().and_then(Value::as_str).is_some()
        } else {
            return Err(validation(format!(
                "Invalid attribute path {path}: the attribute does not exist or cannot be updated."
            )));
        };
        if !ok {
            return Err(validation(format!("Invalid value for {path}.")));
        }
    }
    let sid = inst.identity_store_id.clone();
    let rev = global(ctx).write(|tx| {
        let mut g: StoreGroup = tx
            .get_json(Table::IdentityCenter, &keys::group(&sid, id))?
            .ok_or_else(|| not_found("GROUP"))?;
        check_revision(i, revision(tx, &sid, id)?)?;
        for (path, value) in &ops {
            let s = value.as_ref().and_then(Value::as_str);
            if path.eq_ignore_ascii_case("displayName") {
                let new = s.unwrap_or_default();
                if !new.eq_ignore_ascii_case(&g.display_name) {
                    if tx
                        .get(Table::IdentityCenter, &keys::group_name(&sid, new))?
                        .is_some()
                    {
                        return Err(conflict(
                            "Duplicate GroupDisplayName (UNIQUENESS_CONSTRAINT_VIOLATION)",
                        )
                        .into());
                    }
                    tx.delete(
                        Table::IdentityCenter,
                        &keys::group_name(&sid, &g.display_name),
                    )?;
                    tx.put_json(Table::IdentityCenter, &keys::group_name(&sid, new), &g.id)?;
                }
                g.display_name = new.to_owned();
            } else {
                g.description = s.map(str::to_owned);
            }
        }
        tx.put_json(Table::IdentityCenter, &keys::group(&sid, id), &g)?;
        bump(tx, &sid, id)
    })?;
    Ok(json!({
        "IdentityStoreId": sid,
        "GroupId": id,
        "GroupArn": group_arn(id),
        "Revision": rev.to_string(),
    }))
}

fn delete_group(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DeleteGroup", i)?;
    let id = req(i, "GroupId")?;
    load_group(ctx, "DeleteGroup", &inst, id)?;
    delete_principal(ctx, i, &inst, "GROUP", id)?;
    Ok(json!({}))
}

fn get_group_id(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "GetGroupId", i)?;
    let Some((path, value)) = unique_attribute(i)? else {
        return Err(not_found("GROUP"));
    };
    if !path.eq_ignore_ascii_case("displayName") {
        return Err(validation(format!(
            "{path} is not a unique attribute of a group; use displayName."
        )));
    }
    let sid = inst.identity_store_id.clone();
    let id = global(ctx)
        .view(|tx| tx.get_json::<String>(Table::IdentityCenter, &keys::group_name(&sid, &value)))?
        .ok_or_else(|| not_found("GROUP"))?;
    ctx.authorize("identitystore:GetGroupId", &group_arn(&id))?;
    Ok(json!({"IdentityStoreId": sid, "GroupId": id, "GroupArn": group_arn(&id)}))
}

// ---- memberships ----

fn membership_value(inst: &Instance, m: &Membership) -> Value {
    json!({
        "IdentityStoreId": inst.identity_store_id,
        "MembershipId": m.id,
        "MembershipArn": membership_arn(&m.id),
        "GroupId": m.group_id,
        "MemberId": {"UserId": m.user_id},
        "CreatedAt": crate::ids::iso8601(m.created),
        "UpdatedAt": crate::ids::iso8601(m.created),
    })
}

fn member_user(i: &Value) -> AwsResult<&str> {
    i["MemberId"]["UserId"]
        .as_str()
        .ok_or_else(|| validation("MemberId must name a UserId."))
}

fn memberships(tx: &dyn Tx, sid: &str) -> anyhow::Result<Vec<Membership>> {
    Ok(tx
        .scan_json::<Membership>(Table::IdentityCenter, &format!("{sid}\0membership\0"))?
        .into_iter()
        .map(|(_, m)| m)
        .collect())
}

fn create_membership(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "CreateGroupMembership", i)?;
    let group = req(i, "GroupId")?;
    let user = member_user(i)?;
    ctx.authorize("identitystore:CreateGroupMembership", &group_arn(group))?;
    ctx.authorize("identitystore:CreateGroupMembership", &user_arn(user))?;
    let sid = inst.identity_store_id.clone();
    let now = ctx.now;
    let m = global(ctx).write(|tx| {
        if tx
            .get(Table::IdentityCenter, &keys::group(&sid, group))?
            .is_none()
        {
            return Err(not_found("GROUP").into());
        }
        if ic::user(tx, &sid, user)?.is_none() {
            return Err(not_found("USER").into());
        }
        if memberships(tx, &sid)?
            .iter()
            .any(|m| m.group_id == group && m.user_id == user)
        {
            return Err(conflict(
                "Member is already in the group (UNIQUENESS_CONSTRAINT_VIOLATION)",
            )
            .into());
        }
        let m = Membership {
            id: new_id(),
            group_id: group.to_owned(),
            user_id: user.to_owned(),
            created: now,
        };
        tx.put_json(Table::IdentityCenter, &keys::membership(&sid, &m.id), &m)?;
        Ok(m)
    })?;
    Ok(json!({
        "IdentityStoreId": sid,
        "MembershipId": m.id,
        "MembershipArn": membership_arn(&m.id),
    }))
}

fn load_membership(ctx: &Ctx, op: &str, inst: &Instance, id: &str) -> AwsResult<Membership> {
    ctx.authorize(&format!("identitystore:{op}"), &membership_arn(id))?;
    let sid = &inst.identity_store_id;
    global(ctx)
        .view(|tx| tx.get_json::<Membership>(Table::IdentityCenter, &keys::membership(sid, id)))?
        .ok_or_else(|| not_found("GROUP_MEMBERSHIP"))
}

fn describe_membership(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DescribeGroupMembership", i)?;
    let m = load_membership(
        ctx,
        "DescribeGroupMembership",
        &inst,
        req(i, "MembershipId")?,
    )?;
    Ok(membership_value(&inst, &m))
}

fn delete_membership(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "DeleteGroupMembership", i)?;
    let id = req(i, "MembershipId")?;
    load_membership(ctx, "DeleteGroupMembership", &inst, id)?;
    let sid = inst.identity_store_id.clone();
    global(ctx).write(|tx| {
        if !tx.delete(Table::IdentityCenter, &keys::membership(&sid, id))? {
            return Err(not_found("GROUP_MEMBERSHIP").into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

fn get_membership_id(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "GetGroupMembershipId", i)?;
    let group = req(i, "GroupId")?;
    let user = member_user(i)?;
    ctx.authorize("identitystore:GetGroupMembershipId", &group_arn(group))?;
    let sid = inst.identity_store_id.clone();
    let m = global(ctx)
        .view(|tx| {
            Ok(memberships(tx, &sid)?
                .into_iter()
                .find(|m| m.group_id == group && m.user_id == user))
        })?
        .ok_or_else(|| not_found("GROUP_MEMBERSHIP"))?;
    Ok(json!({
        "IdentityStoreId": sid,
        "MembershipId": m.id,
        "MembershipArn": membership_arn(&m.id),
    }))
}

fn list_memberships(ctx: &Ctx, i: &Value, for_member: bool) -> AwsResult<Value> {
    let op = if for_member {
        "ListGroupMembershipsForMember"
    } else {
        "ListGroupMemberships"
    };
    let inst = store_of(ctx, op, i)?;
    let sid = inst.identity_store_id.clone();
    let (who, arn) = if for_member {
        let u = member_user(i)?;
        (u, user_arn(u))
    } else {
        let g = req(i, "GroupId")?;
        (g, group_arn(g))
    };
    ctx.authorize(&format!("identitystore:{op}"), &arn)?;
    let mut list = global(ctx).view(|tx| {
        let exists = if for_member {
            ic::user(tx, &sid, who)?.is_some()
        } else {
            tx.get(Table::IdentityCenter, &keys::group(&sid, who))?
                .is_some()
        };
        if !exists {
            return Err(not_found(if for_member { "USER" } else { "GROUP" }).into());
        }
        Ok(memberships(tx, &sid)?
            .into_iter()
            .filter(|m| {
                if for_member {
                    m.user_id == who
                } else {
                    m.group_id == who
                }
            })
            .collect::<Vec<_>>())
    })?;
    list.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    let items = list.iter().map(|m| membership_value(&inst, m)).collect();
    page(i, items, "GroupMemberships")
}

fn is_member_in_groups(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = store_of(ctx, "IsMemberInGroups", i)?;
    let user = member_user(i)?;
    ctx.authorize("identitystore:IsMemberInGroups", &user_arn(user))?;
    let groups: Vec<String> = i["GroupIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    if groups.is_empty() || groups.len() > 100 {
        return Err(validation("GroupIds must list between 1 and 100 groups."));
    }
    let sid = inst.identity_store_id.clone();
    let mine = global(ctx).view(|tx| {
        if ic::user(tx, &sid, user)?.is_none() {
            return Err(not_found("USER").into());
        }
        ic::groups_of(tx, &sid, user)
    })?;
    let results = groups
        .iter()
        .map(|g| {
            json!({
                "GroupId": g,
                "MemberId": {"UserId": user},
                "MembershipExists": mine.contains(g),
            })
        })
        .collect::<Vec<_>>();
    Ok(json!({"Results": results}))
}
