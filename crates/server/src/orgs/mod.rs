//! AWS Organizations (JSON 1.1, `AWSOrganizationsV20161128`): organizations, accounts, OUs,
//! service and resource control policies, as free functions over the store.
//!
//! Rows ([`Table::Organizations`], store-wide scope; see [`keys`]): `org\0ID` the organization,
//! `member\0ACCOUNT` which organization an account is in and under which parent, and under
//! `ID\0` the organization's OUs, policies, attachments, account-creation statuses and tags.
//! These rows change the store generation, so everything derived from them ([`view`]: the
//! control policies that apply to an account, `aws:PrincipalOrgID`) is cached per generation
//! like the rest of IAM's data and never read from the store on the hot path.
//!
//! Every operation is authorised (`organizations:OPERATION` on the resource's ARN) under the
//! caller's policies; only principals of the management account may manage the organization
//! (AWS's rule), members may describe it.

use crate::accounts::{self, AccountRecord};
use crate::error::{AwsError, AwsResult};
use crate::ids;
use crate::model::Tag;
use crate::organization::{
    CreateStatus, Membership, OrgPolicy, Organization, Ou, RCP, SCP, attached, aws_managed, keys,
    load_policy, managed_for, members, org_of, ous,
};
use crate::params::{opt, req, tags_param};
use crate::state::Ctx;
use crate::store::{self, Durability, GLOBAL, StoreExt, Table, Tx, TxExt};
use serde_json::{Value, json};

// ---- errors, in Organizations' words ----

fn err(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::new(400, code, message)
}

fn not_in_use() -> AwsError {
    err(
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
    )
}

fn not_management() -> AwsError {
    err(
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

fn invalid(reason: &str, message: impl Into<String>) -> AwsError {
    let mut e = err("InvalidInputException", message);
    e.message = format!("{} ({reason})", e.message);
    e
}

fn constraint(message: impl Into<String>) -> AwsError {
    err("ConstraintViolationException", message)
}

/// The caller's organization, when the caller is of its management account; the errors AWS
/// gives otherwise.
fn managed_org(ctx: &Ctx, tx: &dyn Tx) -> AwsResult<Organization> {
    let (org, _) = org_of(tx, ctx.account())?.ok_or_else(not_in_use)?;
    if org.master_account_id != ctx.account() {
        return Err(not_management());
    }
    Ok(org)
}

fn global(ctx: &Ctx) -> std::sync::Arc<dyn crate::store::Store> {
    ctx.state.store(GLOBAL)
}

// ---- rendering ----

fn account_value(org: &Organization, a: &AccountRecord, m: Option<&Membership>) -> Value {
    let state = match a.status.as_str() {
        "ACTIVE" => "ACTIVE",
        _ => "SUSPENDED",
    };
    json!({
        "Id": a.id,
        "Arn": org.account_arn(&a.id),
        "Email": a.email,
        "Name": a.name,
        "Status": a.status,
        "State": state,
        "JoinedMethod": a.joined_method,
        "JoinedTimestamp": ids::iso8601(m.map(|m| m.joined).unwrap_or(a.created)),
    })
}

fn org_value(org: &Organization) -> Value {
    json!({
        "Id": org.id,
        "Arn": org.arn(),
        "FeatureSet": "ALL",
        "MasterAccountArn": org.account_arn(&org.master_account_id),
        "MasterAccountId": org.master_account_id,
        "MasterAccountEmail": org.master_account_email,
        // Deprecated by AWS (always empty): the root's PolicyTypes say what is enabled.
        "AvailablePolicyTypes": [],
    })
}

fn root_value(org: &Organization) -> Value {
    let types: Vec<Value> = org
        .enabled_types
        .iter()
        .map(|t| json!({"Type": t, "Status": "ENABLED"}))
        .collect();
    json!({"Id": org.root_id, "Arn": org.root_arn(), "Name": "Root", "PolicyTypes": types})
}

fn ou_value(org: &Organization, ou: &Ou) -> Value {
    json!({"Id": ou.id, "Arn": org.ou_arn(&ou.id), "Name": ou.name})
}

fn summary(org: &Organization, p: &OrgPolicy) -> Value {
    json!({
        "Id": p.id,
        "Arn": org.policy_arn(p),
        "Name": p.name,
        "Description": p.description,
        "Type": p.kind,
        "AwsManaged": p.aws_managed,
    })
}

fn status_value(s: &CreateStatus) -> Value {
    let mut v = json!({
        "Id": s.id,
        "AccountName": s.account_name,
        "State": s.state,
        "RequestedTimestamp": ids::iso8601(s.requested),
    });
    if let Some(c) = s.completed {
        v["CompletedTimestamp"] = json!(ids::iso8601(c));
    }
    if let Some(a) = &s.account_id {
        v["AccountId"] = json!(a);
    }
    if let Some(f) = &s.failure_reason {
        v["FailureReason"] = json!(f);
    }
    v
}

// ---- ids ----

fn random_lower(n: usize) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = vec![0u8; n];
    ids::random_bytes(&mut b);
    b.iter()
        .map(|x| A[(*x as usize) % A.len()] as char)
        .collect()
}

/// NextToken/MaxResults pagination (Organizations allows 1–20 per page).
fn page(input: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    crate::params::paginate_token(input, items, key, 20)
}

// ---- dispatch ----

pub fn handle(ctx: &Ctx, op: &str, i: Value) -> AwsResult<Value> {
    match op {
        "CreateOrganization" => create_organization(ctx, &i),
        "DescribeOrganization" => describe_organization(ctx),
        "DeleteOrganization" => delete_organization(ctx),
        "CreateAccount" => create_account(ctx, &i),
        "DescribeCreateAccountStatus" => describe_create_account_status(ctx, &i),
        "ListCreateAccountStatus" => list_create_account_status(ctx, &i),
        "DescribeAccount" => describe_account(ctx, &i),
        "ListAccounts" => list_accounts(ctx, &i, None),
        "ListAccountsForParent" => {
            let parent = req(&i, "ParentId")?.to_owned();
            list_accounts(ctx, &i, Some(&parent))
        }
        "ListRoots" => list_roots(ctx, &i),
        "CreateOrganizationalUnit" => create_ou(ctx, &i),
        "DescribeOrganizationalUnit" => describe_ou(ctx, &i),
        "UpdateOrganizationalUnit" => update_ou(ctx, &i),
        "DeleteOrganizationalUnit" => delete_ou(ctx, &i),
        "ListOrganizationalUnitsForParent" => list_ous_for_parent(ctx, &i),
        "ListChildren" => list_children(ctx, &i),
        "ListParents" => list_parents(ctx, &i),
        "MoveAccount" => move_account(ctx, &i),
        "RemoveAccountFromOrganization" => remove_account(ctx, &i),
        "CloseAccount" => close_account(ctx, &i),
        "EnablePolicyType" => set_policy_type(ctx, &i, true),
        "DisablePolicyType" => set_policy_type(ctx, &i, false),
        "CreatePolicy" => create_policy(ctx, &i),
        "DescribePolicy" => describe_policy(ctx, &i),
        "UpdatePolicy" => update_policy(ctx, &i),
        "DeletePolicy" => delete_policy(ctx, &i),
        "ListPolicies" => list_policies(ctx, &i),
        "AttachPolicy" => attach_policy(ctx, &i, true),
        "DetachPolicy" => attach_policy(ctx, &i, false),
        "ListPoliciesForTarget" => list_policies_for_target(ctx, &i),
        "ListTargetsForPolicy" => list_targets_for_policy(ctx, &i),
        "TagResource" => tag_resource(ctx, &i, true),
        "UntagResource" => tag_resource(ctx, &i, false),
        "ListTagsForResource" => list_tags(ctx, &i),
        other => {
            ctx.authorize(&format!("organizations:{other}"), "*")?;
            Err(AwsError::new(
                400,
                "UnsupportedAPIEndpointException",
                format!("kagi does not implement organizations:{other}."),
            ))
        }
    }
}

fn create_organization(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    if let Some(f) = opt(i, "FeatureSet")
        && f != "ALL"
    {
        return Err(invalid(
            "UNSUPPORTED_FEATURE_SET",
            "kagi creates organizations with all features (FeatureSet ALL) only.",
        ));
    }
    ctx.authorize("organizations:CreateOrganization", "*")?;
    if ctx.caller.is_root() && ctx.caller.session.is_none() {
        // Allowed (as on AWS: the root of a standalone account may create one).
    }
    let me = ctx.account().to_owned();
    let now = ctx.now;
    let org = global(ctx).write(|tx| {
        if org_of(tx, &me)?.is_some() {
            return Err(err(
                "AlreadyInOrganizationException",
                "The provided account is already a member of an organization.",
            )
            .into());
        }
        let rec = accounts::record(tx, &me)?;
        let org = Organization {
            id: format!("o-{}", random_lower(10)),
            master_account_id: me.clone(),
            master_account_email: rec
                .map(|r| r.email)
                .unwrap_or_else(|| format!("root@{me}.kagi.localhost")),
            root_id: format!("r-{}", random_lower(4)),
            enabled_types: Vec::new(),
            created: now,
        };
        tx.put_json(Table::Organizations, &keys::org(&org.id), &org)?;
        tx.put_json(
            Table::Organizations,
            &keys::member(&me),
            &Membership {
                org: org.id.clone(),
                parent: org.root_id.clone(),
                joined: now,
            },
        )?;
        Ok(org)
    })?;
    Ok(json!({"Organization": org_value(&org)}))
}

fn describe_organization(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize("organizations:DescribeOrganization", "*")?;
    let me = ctx.account().to_owned();
    let (org, _) = global(ctx)
        .view(|tx| org_of(tx, &me))?
        .ok_or_else(not_in_use)?;
    Ok(json!({"Organization": org_value(&org)}))
}

fn delete_organization(ctx: &Ctx) -> AwsResult<Value> {
    let me = ctx.account().to_owned();
    let org = global(ctx).view(|tx| {
        let (org, _) = org_of(tx, &me)?.ok_or_else(not_in_use)?;
        Ok(org)
    })?;
    ctx.authorize("organizations:DeleteOrganization", &org.arn())?;
    global(ctx).write(|tx| {
        let org = managed_org(ctx, tx)?;
        let others = members(tx, &org.id)?
            .into_iter()
            .filter(|(a, _)| *a != me)
            .count();
        if others > 0 {
            return Err(err(
                "OrganizationNotEmptyException",
                "The organization isn't empty. You must remove all member accounts before you can delete the organization.",
            )
            .into());
        }
        for (k, _) in tx.scan(Table::Organizations, &format!("{}\0", org.id))? {
            tx.delete(Table::Organizations, &k)?;
        }
        tx.delete(Table::Organizations, &keys::member(&me))?;
        tx.delete(Table::Organizations, &keys::org(&org.id))?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && e.len() >= 6 && e.len() <= 64 && !e.contains(' ')
}

fn create_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let email = req(i, "Email")?;
    let name = req(i, "AccountName")?;
    let role_name = opt(i, "RoleName").unwrap_or("OrganizationAccountAccessRole");
    let tags = tags_param(i)?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize_with(
        "organizations:CreateAccount",
        &org.arn(),
        &crate::authz::as_extra(&crate::authz::request_tag_context(&tags)),
    )?;
    if !valid_email(email) {
        return Err(invalid(
            "INVALID_EMAIL_ADDRESS_TARGET",
            "You provided an email address that isn't valid.",
        ));
    }
    if !crate::ids::valid_name(role_name, 64) {
        return Err(invalid(
            "INVALID_ROLE_NAME",
            "You provided a role name that isn't valid.",
        ));
    }
    let now = ctx.now;
    let status_id = format!("car-{}", random_lower(32));
    let master = ctx.account().to_owned();
    let mut out = None;
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        let dup = store::in_account(raw, GLOBAL, |tx| {
            Ok(accounts::all(tx)?
                .iter()
                .any(|a| a.email.eq_ignore_ascii_case(email)))
        })?;
        let status = if dup {
            CreateStatus {
                id: status_id.clone(),
                account_name: name.to_owned(),
                state: "FAILED".into(),
                requested: now,
                completed: Some(now),
                account_id: None,
                failure_reason: Some("EMAIL_ALREADY_EXISTS".into()),
            }
        } else {
            let id = accounts::create_in(
                raw,
                &accounts::NewAccount {
                    name,
                    email,
                    trusted_account: &master,
                    role_name,
                    now,
                },
            )?;
            store::in_account(raw, GLOBAL, |tx| {
                tx.put_json(
                    Table::Organizations,
                    &keys::member(&id),
                    &Membership {
                        org: org.id.clone(),
                        parent: org.root_id.clone(),
                        joined: now,
                    },
                )?;
                if !tags.is_empty() {
                    tx.put_json(Table::Organizations, &keys::tags(&org.id, &id), &tags)?;
                }
                Ok(())
            })?;
            CreateStatus {
                id: status_id.clone(),
                account_name: name.to_owned(),
                state: "SUCCEEDED".into(),
                requested: now,
                completed: Some(now),
                account_id: Some(id),
                failure_reason: None,
            }
        };
        store::in_account(raw, GLOBAL, |tx| {
            tx.put_json(
                Table::Organizations,
                &keys::status(&org.id, &status.id),
                &status,
            )
        })?;
        out = Some(status);
        Ok(())
    })?;
    let status = out.ok_or_else(AwsError::internal)?;
    if let Some(a) = &status.account_id {
        tracing::info!(account = %a, org = %org.id, "account created");
    }
    // AWS reports IN_PROGRESS first; kagi's creation is done when the call returns, so the
    // status already says how it ended (a poller sees the same on its first try).
    Ok(json!({"CreateAccountStatus": status_value(&status)}))
}

fn describe_create_account_status(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "CreateAccountRequestId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:DescribeCreateAccountStatus", &org.arn())?;
    let s: CreateStatus = global(ctx)
        .view(|tx| tx.get_json(Table::Organizations, &keys::status(&org.id, id)))?
        .ok_or_else(|| {
            err(
                "CreateAccountStatusNotFoundException",
                "We can't find an create account request with the CreateAccountRequestId that you specified.",
            )
        })?;
    Ok(json!({"CreateAccountStatus": status_value(&s)}))
}

fn list_create_account_status(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:ListCreateAccountStatus", &org.arn())?;
    let states: Vec<String> = i["States"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut all: Vec<CreateStatus> = global(ctx)
        .view(|tx| {
            tx.scan_json::<CreateStatus>(Table::Organizations, &format!("{}\0car\0", org.id))
        })?
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| states.is_empty() || states.contains(&s.state))
        .collect();
    all.sort_by(|a, b| a.requested.cmp(&b.requested).then(a.id.cmp(&b.id)));
    page(
        i,
        all.iter().map(status_value).collect(),
        "CreateAccountStatuses",
    )
}

fn account_not_found() -> AwsError {
    err(
        "AccountNotFoundException",
        "You specified an account that doesn't exist.",
    )
}

fn describe_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "AccountId")?;
    let (org, rec, m) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let m = tx.get_json::<Membership>(Table::Organizations, &keys::member(id))?;
        let rec = accounts::record(tx, id)?;
        Ok((org, rec, m))
    })?;
    ctx.authorize("organizations:DescribeAccount", &org.account_arn(id))?;
    let (Some(rec), Some(m)) = (rec, m.filter(|m| m.org == org.id)) else {
        return Err(account_not_found());
    };
    Ok(json!({"Account": account_value(&org, &rec, Some(&m))}))
}

fn list_accounts(ctx: &Ctx, i: &Value, parent: Option<&str>) -> AwsResult<Value> {
    let (org, list) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let mut list = Vec::new();
        for (a, m) in members(tx, &org.id)? {
            if let Some(rec) = accounts::record(tx, &a)? {
                list.push((rec, m));
            }
        }
        Ok((org, list))
    })?;
    let op = if parent.is_some() {
        "organizations:ListAccountsForParent"
    } else {
        "organizations:ListAccounts"
    };
    ctx.authorize(op, "*")?;
    if let Some(p) = parent {
        parent_exists(ctx, &org, p)?;
    }
    let items = list
        .iter()
        .filter(|(_, m)| parent.is_none_or(|p| m.parent == p))
        .map(|(a, m)| account_value(&org, a, Some(m)))
        .collect();
    page(i, items, "Accounts")
}

fn parent_exists(ctx: &Ctx, org: &Organization, id: &str) -> AwsResult<()> {
    if id == org.root_id {
        return Ok(());
    }
    let ou: Option<Ou> =
        global(ctx).view(|tx| tx.get_json(Table::Organizations, &keys::ou(&org.id, id)))?;
    if ou.is_none() {
        return Err(err(
            "ParentNotFoundException",
            "We can't find a root or OU with the ParentId that you specified.",
        ));
    }
    Ok(())
}

fn list_roots(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let me = ctx.account().to_owned();
    let (org, _) = global(ctx)
        .view(|tx| org_of(tx, &me))?
        .ok_or_else(not_in_use)?;
    if org.master_account_id != me {
        return Err(not_management());
    }
    ctx.authorize("organizations:ListRoots", "*")?;
    page(i, vec![root_value(&org)], "Roots")
}

fn check_ou_name(name: &str) -> AwsResult<()> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(invalid(
            "INVALID_NAME",
            "You provided an OU name that isn't valid.",
        ));
    }
    Ok(())
}

fn create_ou(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let parent = req(i, "ParentId")?;
    let name = req(i, "Name")?;
    check_ou_name(name)?;
    let tags = tags_param(i)?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    let parent_arn = if parent == org.root_id {
        org.root_arn()
    } else {
        org.ou_arn(parent)
    };
    ctx.authorize("organizations:CreateOrganizationalUnit", &parent_arn)?;
    let ou = global(ctx).write(|tx| {
        if parent != org.root_id
            && tx
                .get(Table::Organizations, &keys::ou(&org.id, parent))?
                .is_none()
        {
            return Err(err(
                "ParentNotFoundException",
                "We can't find a root or OU with the ParentId that you specified.",
            )
            .into());
        }
        let all = ous(tx, &org.id)?;
        if all.iter().any(|o| o.parent == parent && o.name == name) {
            return Err(err(
                "DuplicateOrganizationalUnitException",
                "An OU with the same name already exists.",
            )
            .into());
        }
        // AWS: at most five levels of OUs under the root.
        if depth(&all, parent) >= 5 {
            return Err(constraint(
                "You have exceeded the maximum nesting depth of OUs (5). (OU_DEPTH_LIMIT_EXCEEDED)",
            )
            .into());
        }
        let root_part = org.root_id.trim_start_matches("r-");
        let ou = Ou {
            id: format!("ou-{root_part}-{}", random_lower(8)),
            name: name.to_owned(),
            parent: parent.to_owned(),
        };
        tx.put_json(Table::Organizations, &keys::ou(&org.id, &ou.id), &ou)?;
        if !tags.is_empty() {
            tx.put_json(Table::Organizations, &keys::tags(&org.id, &ou.id), &tags)?;
        }
        Ok(ou)
    })?;
    Ok(json!({"OrganizationalUnit": ou_value(&org, &ou)}))
}

/// How many OUs lie between the root and `id` (0 for the root).
fn depth(all: &[Ou], id: &str) -> usize {
    let mut d = 0;
    let mut cur = id.to_owned();
    while let Some(o) = all.iter().find(|o| o.id == cur) {
        d += 1;
        cur = o.parent.clone();
        if d > 16 {
            break;
        }
    }
    d
}

fn ou_not_found() -> AwsError {
    err(
        "OrganizationalUnitNotFoundException",
        "We can't find an OU with the OrganizationalUnitId that you specified.",
    )
}

fn describe_ou(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "OrganizationalUnitId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:DescribeOrganizationalUnit", &org.ou_arn(id))?;
    let ou: Ou = global(ctx)
        .view(|tx| tx.get_json(Table::Organizations, &keys::ou(&org.id, id)))?
        .ok_or_else(ou_not_found)?;
    Ok(json!({"OrganizationalUnit": ou_value(&org, &ou)}))
}

fn update_ou(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "OrganizationalUnitId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:UpdateOrganizationalUnit", &org.ou_arn(id))?;
    let ou = global(ctx).write(|tx| {
        let mut ou: Ou = tx
            .get_json(Table::Organizations, &keys::ou(&org.id, id))?
            .ok_or_else(ou_not_found)?;
        if let Some(name) = opt(i, "Name") {
            check_ou_name(name)?;
            if ous(tx, &org.id)?
                .iter()
                .any(|o| o.parent == ou.parent && o.name == name && o.id != ou.id)
            {
                return Err(err(
                    "DuplicateOrganizationalUnitException",
                    "An OU with the same name already exists.",
                )
                .into());
            }
            ou.name = name.to_owned();
        }
        tx.put_json(Table::Organizations, &keys::ou(&org.id, id), &ou)?;
        Ok(ou)
    })?;
    Ok(json!({"OrganizationalUnit": ou_value(&org, &ou)}))
}

fn delete_ou(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "OrganizationalUnitId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:DeleteOrganizationalUnit", &org.ou_arn(id))?;
    global(ctx).write(|tx| {
        if tx.get(Table::Organizations, &keys::ou(&org.id, id))?.is_none() {
            return Err(ou_not_found().into());
        }
        let has_children = ous(tx, &org.id)?.iter().any(|o| o.parent == id)
            || members(tx, &org.id)?.iter().any(|(_, m)| m.parent == id);
        if has_children {
            return Err(err(
                "OrganizationalUnitNotEmptyException",
                "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.",
            )
            .into());
        }
        for p in attached(tx, &org.id, id)? {
            tx.delete(Table::Organizations, &keys::attach(&org.id, id, &p))?;
        }
        tx.delete(Table::Organizations, &keys::tags(&org.id, id))?;
        tx.delete(Table::Organizations, &keys::ou(&org.id, id))?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn list_ous_for_parent(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let parent = req(i, "ParentId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:ListOrganizationalUnitsForParent", "*")?;
    parent_exists(ctx, &org, parent)?;
    let mut list: Vec<Ou> = global(ctx)
        .view(|tx| ous(tx, &org.id))?
        .into_iter()
        .filter(|o| o.parent == parent)
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    page(
        i,
        list.iter().map(|o| ou_value(&org, o)).collect(),
        "OrganizationalUnits",
    )
}

fn list_children(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let parent = req(i, "ParentId")?;
    let kind = req(i, "ChildType")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:ListChildren", "*")?;
    parent_exists(ctx, &org, parent)?;
    let items: Vec<Value> = global(ctx).view(|tx| {
        Ok(match kind {
            "ACCOUNT" => members(tx, &org.id)?
                .into_iter()
                .filter(|(_, m)| m.parent == parent)
                .map(|(a, _)| json!({"Id": a, "Type": "ACCOUNT"}))
                .collect(),
            _ => ous(tx, &org.id)?
                .into_iter()
                .filter(|o| o.parent == parent)
                .map(|o| json!({"Id": o.id, "Type": "ORGANIZATIONAL_UNIT"}))
                .collect(),
        })
    })?;
    page(i, items, "Children")
}

fn list_parents(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let child = req(i, "ChildId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:ListParents", "*")?;
    let parent = global(ctx).view(|tx| {
        if let Some(m) = tx.get_json::<Membership>(Table::Organizations, &keys::member(child))?
            && m.org == org.id
        {
            return Ok(Some(m.parent));
        }
        Ok(tx
            .get_json::<Ou>(Table::Organizations, &keys::ou(&org.id, child))?
            .map(|o| o.parent))
    })?;
    let parent = parent.ok_or_else(|| {
        err(
            "ChildNotFoundException",
            "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
        )
    })?;
    let kind = if parent == org.root_id {
        "ROOT"
    } else {
        "ORGANIZATIONAL_UNIT"
    };
    page(i, vec![json!({"Id": parent, "Type": kind})], "Parents")
}

fn move_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let account = req(i, "AccountId")?;
    let source = req(i, "SourceParentId")?;
    let dest = req(i, "DestinationParentId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:MoveAccount", &org.account_arn(account))?;
    global(ctx).write(|tx| {
        let exists = |tx: &dyn Tx, id: &str| -> anyhow::Result<bool> {
            Ok(id == org.root_id
                || tx
                    .get(Table::Organizations, &keys::ou(&org.id, id))?
                    .is_some())
        };
        if !exists(tx, source)? {
            return Err(err(
                "SourceParentNotFoundException",
                "We can't find a source root or OU with the ParentId that you specified.",
            )
            .into());
        }
        if !exists(tx, dest)? {
            return Err(err(
                "DestinationParentNotFoundException",
                "We can't find a destination root or OU with the ParentId that you specified.",
            )
            .into());
        }
        let mut m: Membership = tx
            .get_json::<Membership>(Table::Organizations, &keys::member(account))?
            .filter(|m| m.org == org.id)
            .ok_or_else(account_not_found)?;
        if m.parent != source {
            return Err(account_not_found().into());
        }
        if m.parent == dest {
            return Err(err(
                "DuplicateAccountException",
                "That account is already present in the specified destination.",
            )
            .into());
        }
        m.parent = dest.to_owned();
        tx.put_json(Table::Organizations, &keys::member(account), &m)?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn remove_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let account = req(i, "AccountId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize(
        "organizations:RemoveAccountFromOrganization",
        &org.account_arn(account),
    )?;
    if account == org.master_account_id {
        return Err(err(
            "MasterCannotLeaveOrganizationException",
            "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization.",
        ));
    }
    global(ctx).write(|tx| {
        tx.get_json::<Membership>(Table::Organizations, &keys::member(account))?
            .filter(|m| m.org == org.id)
            .ok_or_else(account_not_found)?;
        for p in attached(tx, &org.id, account)? {
            tx.delete(Table::Organizations, &keys::attach(&org.id, account, &p))?;
        }
        tx.delete(Table::Organizations, &keys::tags(&org.id, account))?;
        tx.delete(Table::Organizations, &keys::member(account))?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn close_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let account = req(i, "AccountId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:CloseAccount", &org.account_arn(account))?;
    if account == org.master_account_id {
        return Err(constraint(
            "You can't close the management account with this operation. (CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED)",
        ));
    }
    global(ctx).write(|tx| {
        tx.get_json::<Membership>(Table::Organizations, &keys::member(account))?
            .filter(|m| m.org == org.id)
            .ok_or_else(account_not_found)?;
        let mut rec = accounts::record(tx, account)?.ok_or_else(account_not_found)?;
        if !rec.is_active() {
            return Err(err(
                "AccountAlreadyClosedException",
                "You attempted to close an account that is already closed.",
            )
            .into());
        }
        // Closed at once (AWS: PENDING_CLOSURE, then SUSPENDED within days). Nothing in a
        // suspended account may be called; its rows stay (AWS keeps them 90 days).
        rec.status = "SUSPENDED".into();
        tx.put_json(Table::Accounts, account, &rec)?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn policy_type_param(i: &Value, name: &str) -> AwsResult<String> {
    let t = req(i, name)?;
    match t {
        SCP | RCP => Ok(t.to_owned()),
        _ => Err(err(
            "PolicyTypeNotAvailableForOrganizationException",
            format!("kagi supports the policy types {SCP} and {RCP}, not {t}."),
        )),
    }
}

fn set_policy_type(ctx: &Ctx, i: &Value, enable: bool) -> AwsResult<Value> {
    let root = req(i, "RootId")?;
    let kind = policy_type_param(i, "PolicyType")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    let op = if enable {
        "organizations:EnablePolicyType"
    } else {
        "organizations:DisablePolicyType"
    };
    ctx.authorize(op, &org.root_arn())?;
    if root != org.root_id {
        return Err(err(
            "RootNotFoundException",
            "We can't find a root with the RootId that you specified.",
        ));
    }
    let org = global(ctx).write(|tx| {
        let mut org = managed_org(ctx, tx)?;
        let on = org.enabled_types.contains(&kind);
        if enable && on {
            return Err(err(
                "PolicyTypeAlreadyEnabledException",
                "The specified policy type is already enabled.",
            )
            .into());
        }
        if !enable && !on {
            return Err(err(
                "PolicyTypeNotEnabledException",
                "This operation can be performed only for enabled policy types.",
            )
            .into());
        }
        let managed = managed_for(&kind);
        // Every root, OU and account gets the AWS managed allow-all policy of the type when
        // it is enabled (as on AWS); disabling detaches every policy of the type.
        let mut targets = vec![org.root_id.clone()];
        targets.extend(ous(tx, &org.id)?.into_iter().map(|o| o.id));
        targets.extend(members(tx, &org.id)?.into_iter().map(|(a, _)| a));
        if enable {
            org.enabled_types.push(kind.clone());
            for t in &targets {
                tx.put(
                    Table::Organizations,
                    &keys::attach(&org.id, t, managed),
                    "{}",
                )?;
            }
        } else {
            org.enabled_types.retain(|t| *t != kind);
            for t in &targets {
                for p in attached(tx, &org.id, t)? {
                    let of_kind = load_policy(tx, &org.id, &p)?.is_some_and(|p| p.kind == kind);
                    if of_kind {
                        tx.delete(Table::Organizations, &keys::attach(&org.id, t, &p))?;
                    }
                }
            }
        }
        tx.put_json(Table::Organizations, &keys::org(&org.id), &org)?;
        Ok(org)
    })?;
    Ok(json!({"Root": root_value(&org)}))
}

/// Checks a control policy's document as Organizations does: JSON, at most 5,120 characters,
/// the policy grammar of its type.
fn check_content(kind: &str, content: &str) -> AwsResult<()> {
    let max = crate::organization::MAX_POLICY_SIZE;
    if content.chars().count() > max {
        return Err(constraint(format!(
            "You provided a policy document that is larger than the maximum size for this policy type ({max} characters). (POLICY_CONTENT_LIMIT_EXCEEDED)"
        )));
    }
    crate::organization::parse_control_policy(kind, content, "check").map_err(|e| {
        err(
            "MalformedPolicyDocumentException",
            format!("The provided policy document doesn't meet the requirements of the specified policy type. ({e})"),
        )
    })?;
    Ok(())
}

/// A policy's ARN, or the one a missing policy would have (so that authorisation comes before
/// the caller learns whether it exists).
fn policy_arn_of(org: &Organization, id: &str, p: Option<&OrgPolicy>) -> String {
    match p {
        Some(p) => org.policy_arn(p),
        None => format!(
            "arn:aws:organizations::{}:policy/{}/service_control_policy/{id}",
            org.master_account_id, org.id
        ),
    }
}

fn policy_not_found() -> AwsError {
    err(
        "PolicyNotFoundException",
        "We can't find a policy with the PolicyId that you specified.",
    )
}

fn create_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let content = req(i, "Content")?;
    let description = req(i, "Description")?;
    let name = req(i, "Name")?;
    let kind = policy_type_param(i, "Type")?;
    let tags = tags_param(i)?;
    if name.is_empty() || name.chars().count() > 128 {
        return Err(invalid(
            "INVALID_NAME",
            "You provided a policy name that isn't valid.",
        ));
    }
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize_with(
        "organizations:CreatePolicy",
        "*",
        &crate::authz::as_extra(&crate::authz::request_tag_context(&tags)),
    )?;
    check_content(&kind, content)?;
    let p = global(ctx).write(|tx| {
        let existing: Vec<OrgPolicy> = tx
            .scan_json::<OrgPolicy>(Table::Organizations, &format!("{}\0policy\0", org.id))?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if existing.iter().any(|p| p.name == name && p.kind == kind) {
            return Err(err(
                "DuplicatePolicyException",
                "A policy with the same name already exists.",
            )
            .into());
        }
        if existing.iter().filter(|p| p.kind == kind).count() >= 1000 {
            return Err(constraint(
                "You have reached the maximum number of policies of this type. (POLICY_NUMBER_LIMIT_EXCEEDED)",
            )
            .into());
        }
        let p = OrgPolicy {
            id: format!("p-{}", random_lower(8)),
            name: name.to_owned(),
            description: description.to_owned(),
            kind: kind.clone(),
            content: content.to_owned(),
            aws_managed: false,
        };
        tx.put_json(Table::Organizations, &keys::policy(&org.id, &p.id), &p)?;
        if !tags.is_empty() {
            tx.put_json(Table::Organizations, &keys::tags(&org.id, &p.id), &tags)?;
        }
        Ok(p)
    })?;
    Ok(json!({"Policy": {"PolicySummary": summary(&org, &p), "Content": p.content}}))
}

fn describe_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "PolicyId")?;
    let (org, p) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let p = load_policy(tx, &org.id, id)?;
        Ok((org, p))
    })?;
    // Authorised before the policy's existence is told (on the ARN it would have).
    ctx.authorize(
        "organizations:DescribePolicy",
        &policy_arn_of(&org, id, p.as_ref()),
    )?;
    let p = p.ok_or_else(policy_not_found)?;
    Ok(json!({"Policy": {"PolicySummary": summary(&org, &p), "Content": p.content}}))
}

fn update_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "PolicyId")?;
    let (org, p) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let p = load_policy(tx, &org.id, id)?;
        Ok((org, p))
    })?;
    // Authorised before the policy's existence is told (on the ARN it would have).
    ctx.authorize(
        "organizations:UpdatePolicy",
        &policy_arn_of(&org, id, p.as_ref()),
    )?;
    let p = p.ok_or_else(policy_not_found)?;
    if p.aws_managed {
        return Err(constraint(
            "You can't modify an AWS managed policy. (CANNOT_MODIFY_AWS_MANAGED_POLICY)",
        ));
    }
    if let Some(c) = opt(i, "Content") {
        check_content(&p.kind, c)?;
    }
    let p = global(ctx).write(|tx| {
        let mut p: OrgPolicy = tx
            .get_json(Table::Organizations, &keys::policy(&org.id, id))?
            .ok_or_else(policy_not_found)?;
        if let Some(n) = opt(i, "Name") {
            p.name = n.to_owned();
        }
        if let Some(d) = opt(i, "Description") {
            p.description = d.to_owned();
        }
        if let Some(c) = opt(i, "Content") {
            p.content = c.to_owned();
        }
        tx.put_json(Table::Organizations, &keys::policy(&org.id, id), &p)?;
        Ok(p)
    })?;
    Ok(json!({"Policy": {"PolicySummary": summary(&org, &p), "Content": p.content}}))
}

fn delete_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "PolicyId")?;
    let (org, p) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let p = load_policy(tx, &org.id, id)?;
        Ok((org, p))
    })?;
    // Authorised before the policy's existence is told (on the ARN it would have).
    ctx.authorize(
        "organizations:DeletePolicy",
        &policy_arn_of(&org, id, p.as_ref()),
    )?;
    let p = p.ok_or_else(policy_not_found)?;
    if p.aws_managed {
        return Err(constraint(
            "You can't delete an AWS managed policy. (CANNOT_DELETE_AWS_MANAGED_POLICY)",
        ));
    }
    global(ctx).write(|tx| {
        let in_use = tx
            .scan(Table::Organizations, &format!("{}\0attach\0", org.id))?
            .iter()
            .any(|(k, _)| k.ends_with(&format!("\0{id}")));
        if in_use {
            return Err(err(
                "PolicyInUseException",
                "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
            )
            .into());
        }
        tx.delete(Table::Organizations, &keys::tags(&org.id, id))?;
        tx.delete(Table::Organizations, &keys::policy(&org.id, id))?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn list_policies(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let kind = policy_type_param(i, "Filter")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    ctx.authorize("organizations:ListPolicies", "*")?;
    let mut list = vec![aws_managed(managed_for(&kind)).expect("managed policy")];
    list.extend(
        global(ctx)
            .view(|tx| {
                tx.scan_json::<OrgPolicy>(Table::Organizations, &format!("{}\0policy\0", org.id))
            })?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.kind == kind),
    );
    page(
        i,
        list.iter().map(|p| summary(&org, p)).collect(),
        "Policies",
    )
}

/// What kind of target an id names in `org`, with its ARN and name.
fn target(
    tx: &dyn Tx,
    org: &Organization,
    id: &str,
) -> anyhow::Result<Option<(String, String, String)>> {
    if id == org.root_id {
        return Ok(Some(("ROOT".into(), org.root_arn(), "Root".into())));
    }
    if let Some(ou) = tx.get_json::<Ou>(Table::Organizations, &keys::ou(&org.id, id))? {
        return Ok(Some((
            "ORGANIZATIONAL_UNIT".into(),
            org.ou_arn(id),
            ou.name,
        )));
    }
    if let Some(m) = tx.get_json::<Membership>(Table::Organizations, &keys::member(id))?
        && m.org == org.id
    {
        let name = accounts::record(tx, id)?
            .map(|r| r.name)
            .unwrap_or_default();
        return Ok(Some(("ACCOUNT".into(), org.account_arn(id), name)));
    }
    Ok(None)
}

/// The ARN an id would have in `org` (so that authorisation comes before the caller learns
/// whether it exists).
fn guess_arn(org: &Organization, id: &str) -> String {
    if id.starts_with("ou-") {
        org.ou_arn(id)
    } else if id.starts_with("r-") {
        org.arn_of("root", id)
    } else if id.starts_with("p-") {
        policy_arn_of(org, id, None)
    } else {
        org.account_arn(id)
    }
}

fn target_not_found() -> AwsError {
    err(
        "TargetNotFoundException",
        "We can't find a root, OU, account, or policy with the TargetId that you specified.",
    )
}

fn attach_policy(ctx: &Ctx, i: &Value, attach: bool) -> AwsResult<Value> {
    let id = req(i, "PolicyId")?;
    let target_id = req(i, "TargetId")?;
    let (org, p, t) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let p = load_policy(tx, &org.id, id)?;
        let t = target(tx, &org, target_id)?;
        Ok((org, p, t))
    })?;
    let op = if attach {
        "organizations:AttachPolicy"
    } else {
        "organizations:DetachPolicy"
    };
    ctx.authorize(op, &policy_arn_of(&org, id, p.as_ref()))?;
    let target_arn = match &t {
        Some((_, arn, _)) => arn.clone(),
        None => org.account_arn(target_id),
    };
    ctx.authorize(op, &target_arn)?;
    let p = p.ok_or_else(policy_not_found)?;
    t.ok_or_else(target_not_found)?;
    global(ctx).write(|tx| {
        let org = managed_org(ctx, tx)?;
        if !org.enabled_types.contains(&p.kind) {
            return Err(err(
                "PolicyTypeNotEnabledException",
                "This operation can be performed only for enabled policy types.",
            )
            .into());
        }
        let key = keys::attach(&org.id, target_id, id);
        let present = tx.get(Table::Organizations, &key)?.is_some();
        if attach {
            if present {
                return Err(err(
                    "DuplicatePolicyAttachmentException",
                    "The selected policy is already attached to the specified target.",
                )
                .into());
            }
            let of_kind = attached(tx, &org.id, target_id)?
                .iter()
                .filter(|a| load_policy(tx, &org.id, a).ok().flatten().is_some_and(|x| x.kind == p.kind))
                .count();
            if of_kind >= 5 {
                return Err(constraint(
                    "You have attached the maximum number of policies of this type to the target (5). (POLICY_NUMBER_LIMIT_EXCEEDED)",
                )
                .into());
            }
            tx.put(Table::Organizations, &key, "{}")?;
        } else {
            if !present {
                return Err(err(
                    "PolicyNotAttachedException",
                    "The policy isn't attached to the specified target in the specified root.",
                )
                .into());
            }
            // AWS: a target keeps at least one policy of each enabled type.
            let left = attached(tx, &org.id, target_id)?
                .iter()
                .filter(|a| *a != id)
                .filter(|a| load_policy(tx, &org.id, a).ok().flatten().is_some_and(|x| x.kind == p.kind))
                .count();
            if left == 0 {
                return Err(constraint(
                    "You can't detach the last policy of this type from a root, OU, or account. Attach another policy first. (MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED)",
                )
                .into());
            }
            tx.delete(Table::Organizations, &key)?;
        }
        Ok(())
    })?;
    Ok(json!({}))
}

fn list_policies_for_target(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let target_id = req(i, "TargetId")?;
    let kind = policy_type_param(i, "Filter")?;
    let (org, t, list) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let t = target(tx, &org, target_id)?;
        let mut list = Vec::new();
        for a in attached(tx, &org.id, target_id)? {
            if let Some(p) = load_policy(tx, &org.id, &a)?
                && p.kind == kind
            {
                list.push(p);
            }
        }
        Ok((org, t, list))
    })?;
    let found = t.is_some();
    let arn = t
        .map(|(_, arn, _)| arn)
        .unwrap_or_else(|| guess_arn(&org, target_id));
    ctx.authorize("organizations:ListPoliciesForTarget", &arn)?;
    if !found {
        return Err(target_not_found());
    }
    page(
        i,
        list.iter().map(|p| summary(&org, p)).collect(),
        "Policies",
    )
}

fn list_targets_for_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "PolicyId")?;
    let (org, p, targets) = global(ctx).view(|tx| {
        let org = managed_org(ctx, tx)?;
        let p = load_policy(tx, &org.id, id)?;
        let mut out = Vec::new();
        let prefix = format!("{}\0attach\0", org.id);
        for (k, _) in tx.scan(Table::Organizations, &prefix)? {
            let rest = &k[prefix.len()..];
            if let Some((t, pid)) = rest.split_once('\0')
                && pid == id
                && let Some((kind, arn, name)) = target(tx, &org, t)?
            {
                out.push(json!({"TargetId": t, "Arn": arn, "Name": name, "Type": kind}));
            }
        }
        Ok((org, p, out))
    })?;
    // Authorised before the policy's existence is told (on the ARN it would have).
    ctx.authorize(
        "organizations:ListTargetsForPolicy",
        &policy_arn_of(&org, id, p.as_ref()),
    )?;
    p.ok_or_else(policy_not_found)?;
    page(i, targets, "Targets")
}

fn tag_resource(ctx: &Ctx, i: &Value, add: bool) -> AwsResult<Value> {
    let resource = req(i, "ResourceId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    let arn = global(ctx).view(|tx| {
        if let Some((_, arn, _)) = target(tx, &org, resource)? {
            return Ok(Some(arn));
        }
        Ok(load_policy(tx, &org.id, resource)?
            .filter(|p| !p.aws_managed)
            .map(|p| org.policy_arn(&p)))
    })?;
    let found = arn.is_some();
    let arn = arn.unwrap_or_else(|| guess_arn(&org, resource));
    let new_tags = if add { tags_param(i)? } else { Vec::new() };
    let removed: Vec<String> = i["TagKeys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if add {
        ctx.authorize_with(
            "organizations:TagResource",
            &arn,
            &crate::authz::as_extra(&crate::authz::request_tag_context(&new_tags)),
        )?;
    } else {
        ctx.authorize("organizations:UntagResource", &arn)?;
    }
    if !found {
        return Err(target_not_found());
    }
    global(ctx).write(|tx| {
        let key = keys::tags(&org.id, resource);
        let mut tags: Vec<Tag> = tx.get_json(Table::Organizations, &key)?.unwrap_or_default();
        if add {
            for t in &new_tags {
                tags.retain(|x| x.key != t.key);
                tags.push(t.clone());
            }
            if tags.len() > 50 {
                return Err(constraint(
                    "You have exceeded the allowed number of tags for a resource (50). (TAG_POLICY_VIOLATION)",
                )
                .into());
            }
        } else {
            tags.retain(|x| !removed.contains(&x.key));
        }
        tx.put_json(Table::Organizations, &key, &tags)?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn list_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let resource = req(i, "ResourceId")?;
    let org = global(ctx).view(|tx| Ok(managed_org(ctx, tx)?))?;
    let (arn, tags) = global(ctx).view(|tx| {
        let arn = match target(tx, &org, resource)? {
            Some((_, arn, _)) => Some(arn),
            None => load_policy(tx, &org.id, resource)?.map(|p| org.policy_arn(&p)),
        };
        let tags: Vec<Tag> = tx
            .get_json(Table::Organizations, &keys::tags(&org.id, resource))?
            .unwrap_or_default();
        Ok((arn, tags))
    })?;
    let found = arn.is_some();
    let arn = arn.unwrap_or_else(|| guess_arn(&org, resource));
    ctx.authorize("organizations:ListTagsForResource", &arn)?;
    if !found {
        return Err(target_not_found());
    }
    let items = tags
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    page(i, items, "Tags")
}
