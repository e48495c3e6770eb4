//! `sso-admin` (JSON 1.1, `SWBExternalService`, signing name `sso`): Identity Center
//! instances, permission sets and account assignments, over [`crate::identity_center`]'s rows
//! in the store-wide scope.
//!
//! Every operation is authorised first, as `sso:OPERATION` on the ARNs AWS uses: the instance
//! (`arn:aws:sso:::instance/ssoins-…`), the permission set
//! (`arn:aws:sso:::permissionSet/ssoins-…/ps-…`) and the account (`arn:aws:sso:::account/ID`)
//! the call names. Only principals of the account that owns the instance may use it
//! (AccessDeniedException otherwise, whether the instance exists or not). An account owns at
//! most one instance; an organization's instance (owned by the management account) assigns
//! permission sets to the organization's accounts, a standalone one to its own account only.
//!
//! CreateAccountAssignment, DeleteAccountAssignment and ProvisionPermissionSet complete before
//! they answer (AWS answers IN_PROGRESS first): the assignment and the role
//! `AWSReservedSSO_<PermissionSet>_<hex>` ([`ic::provision`]) commit in one transaction; the
//! status is kept (`INSTANCE\0status\0REQUEST-ID`) for the Describe…/List…Status calls. A change
//! to a permission set marks its provisioned accounts outdated (`INSTANCE\0stale\0ACCOUNT\0PS`,
//! `LATEST_PERMISSION_SET_NOT_PROVISIONED`) until ProvisionPermissionSet refreshes their roles,
//! as on AWS.

use crate::error::{AwsError, AwsResult};
use crate::identity_center::{self as ic, Assignment, Instance, PermissionSet, PolicyRef, keys};
use crate::model::Tag;
use crate::params::{opt, req, tags_param};
use crate::state::Ctx;
use crate::store::{self, Durability, GLOBAL, RawTx, StoreExt, Table, Tx, TxExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---- errors, in IAM Identity Center's words ----

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new(400, "ValidationException", message)
}

fn conflict(message: impl Into<String>) -> AwsError {
    AwsError::new(409, "ConflictException", message)
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new(404, "ResourceNotFoundException", message)
}

fn quota(message: impl Into<String>) -> AwsError {
    AwsError::new(402, "ServiceQuotaExceededException", message)
}

fn denied(ctx: &Ctx, op: &str, arn: &str) -> AwsError {
    AwsError::new(
        403,
        "AccessDeniedException",
        format!(
            "User: {} is not authorized to perform: sso:{op} on resource: {arn}",
            ctx.caller.arn()
        ),
    )
}

fn ps_not_found(id: &str) -> AwsError {
    not_found(format!("Could not find PermissionSet with id {id}"))
}

// ---- rows of this module ----

/// An assignment creation or deletion, or a provisioning: what the status calls describe.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct OpStatus {
    /// `CREATE`, `DELETE` or `PROVISION`.
    kind: String,
    request_id: String,
    status: String,
    #[serde(default)]
    failure_reason: Option<String>,
    #[serde(default)]
    target_id: Option<String>,
    permission_set_arn: String,
    #[serde(default)]
    principal_type: Option<String>,
    #[serde(default)]
    principal_id: Option<String>,
    created: i64,
}

/// The permission set changed since it was provisioned to the account.
fn stale_key(instance: &str, account: &str, ps: &str) -> String {
    format!("{instance}\0stale\0{account}\0{ps}")
}

fn instance_tags_key(instance: &str) -> String {
    format!("{instance}\0tags")
}

fn global(ctx: &Ctx) -> std::sync::Arc<dyn crate::store::Store> {
    ctx.state.store(GLOBAL)
}

fn page(i: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    crate::params::paginate_token(i, items, key, 100).map_err(|mut e| {
        if e.code == "InvalidInputException" {
            e.code = "ValidationException".into();
        }
        e
    })
}

fn hex(n: usize) -> String {
    let mut s = ic::hex16();
    while s.len() < n {
        s.push_str(&ic::hex16());
    }
    s.truncate(n);
    s
}

fn account_arn(account: &str) -> String {
    format!("arn:aws:sso:::account/{account}")
}

// ---- who may use which instance ----

/// The instance id in an instance ARN.
fn instance_id(arn: &str) -> AwsResult<&str> {
    arn.strip_prefix("arn:aws:sso:::instance/")
        .filter(|id| id.starts_with("ssoins-") && id.len() > 7 && !id.contains('/'))
        .ok_or_else(|| validation(format!("The instance ARN {arn} is not valid.")))
}

/// (instance id, permission set id) of a permission set ARN.
fn ps_ids(arn: &str) -> AwsResult<(&str, &str)> {
    arn.strip_prefix("arn:aws:sso:::permissionSet/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(i, p)| i.starts_with("ssoins-") && p.starts_with("ps-") && !p.contains('/'))
        .ok_or_else(|| validation(format!("The permission set ARN {arn} is not valid.")))
}

/// Authorises `sso:OP` on `InstanceArn`, then returns the instance when the caller's account
/// owns it (AccessDeniedException otherwise, existing or not).
fn owned_instance(ctx: &Ctx, op: &str, i: &Value) -> AwsResult<Instance> {
    let arn = req(i, "InstanceArn")?;
    ctx.authorize(&format!("sso:{op}"), arn)?;
    let id = instance_id(arn)?;
    let inst: Option<Instance> =
        global(ctx).view(|tx| tx.get_json(Table::IdentityCenter, &keys::instance(id)))?;
    match inst {
        Some(x) if x.owner_account == ctx.account() => Ok(x),
        _ => Err(denied(ctx, op, arn)),
    }
}

/// [`owned_instance`], then `sso:OP` on `PermissionSetArn` and the permission set.
fn owned_ps(ctx: &Ctx, op: &str, i: &Value) -> AwsResult<(Instance, PermissionSet)> {
    let inst = owned_instance(ctx, op, i)?;
    let arn = req(i, "PermissionSetArn")?;
    ctx.authorize(&format!("sso:{op}"), arn)?;
    let (iid, psid) = ps_ids(arn)?;
    if iid != inst.id {
        return Err(ps_not_found(psid));
    }
    let ps = global(ctx)
        .view(|tx| ic::permission_set(tx, &inst.id, psid))?
        .ok_or_else(|| ps_not_found(psid))?;
    Ok((inst, ps))
}

/// Whether `account` may receive the instance's permission sets: the owner itself, or an
/// account of the organization whose management account owns the instance.
fn reachable(tx: &dyn Tx, inst: &Instance, account: &str) -> anyhow::Result<bool> {
    if crate::accounts::record(tx, account)?.is_none() {
        return Ok(account == inst.owner_account);
    }
    if account == inst.owner_account {
        return Ok(true);
    }
    let Some((org, _)) = crate::organization::org_of(tx, &inst.owner_account)? else {
        return Ok(false);
    };
    if org.master_account_id != inst.owner_account {
        return Ok(false);
    }
    Ok(crate::organization::org_of(tx, account)?.is_some_and(|(o, _)| o.id == org.id))
}

fn check_target(ctx: &Ctx, inst: &Instance, account: &str) -> AwsResult<()> {
    let ok = global(ctx).view(|tx| reachable(tx, inst, account))?;
    if !ok {
        return Err(validation(format!(
            "The target account {account} is not a member of the organization of instance {}.",
            inst.arn()
        )));
    }
    Ok(())
}

// ---- rendering ----

fn instance_value(ctx: &Ctx, inst: &Instance) -> Value {
    let mut v = json!({
        "InstanceArn": inst.arn(),
        "IdentityStoreId": inst.identity_store_id,
        "IdentityStoreArn": inst.identity_store_arn(),
        "OwnerAccountId": inst.owner_account,
        "CreatedDate": crate::ids::iso8601(inst.created),
        "Status": "ACTIVE",
        "PrimaryRegion": ctx.region,
    });
    if let Some(n) = &inst.name {
        v["Name"] = json!(n);
    }
    v
}

fn ps_value(ps: &PermissionSet) -> Value {
    let mut v = json!({
        "Name": ps.name,
        "PermissionSetArn": ps.arn(),
        "CreatedDate": crate::ids::iso8601(ps.created),
        "SessionDuration": ps.session_duration,
    });
    if let Some(d) = &ps.description {
        v["Description"] = json!(d);
    }
    if let Some(r) = &ps.relay_state {
        v["RelayState"] = json!(r);
    }
    v
}

fn status_value(s: &OpStatus) -> Value {
    let mut v = json!({
        "Status": s.status,
        "RequestId": s.request_id,
        "PermissionSetArn": s.permission_set_arn,
        "CreatedDate": crate::ids::iso8601(s.created),
    });
    if let Some(f) = &s.failure_reason {
        v["FailureReason"] = json!(f);
    }
    if s.kind == "PROVISION" {
        if let Some(t) = &s.target_id {
            v["AccountId"] = json!(t);
        }
    } else {
        v["TargetType"] = json!("AWS_ACCOUNT");
        if let Some(t) = &s.target_id {
            v["TargetId"] = json!(t);
        }
        if let Some(t) = &s.principal_type {
            v["PrincipalType"] = json!(t);
        }
        if let Some(p) = &s.principal_id {
            v["PrincipalId"] = json!(p);
        }
    }
    v
}

fn ref_value(r: &PolicyRef) -> Value {
    json!({"Name": r.name, "Path": r.path})
}

fn assignment_value(a: &Assignment) -> Value {
    json!({
        "AccountId": a.account,
        "PermissionSetArn": a.permission_set,
        "PrincipalType": a.principal_type,
        "PrincipalId": a.principal_id,
    })
}

// ---- dispatch ----

pub fn handle(ctx: &Ctx, op: &str, i: Value) -> AwsResult<Value> {
    match op {
        "CreateInstance" => create_instance(ctx, &i),
        "ListInstances" => list_instances(ctx, &i),
        "DescribeInstance" => {
            let inst = owned_instance(ctx, op, &i)?;
            Ok(instance_value(ctx, &inst))
        }
        "UpdateInstance" => update_instance(ctx, &i),
        "DeleteInstance" => delete_instance(ctx, &i),
        "CreatePermissionSet" => create_ps(ctx, &i),
        "DescribePermissionSet" => {
            let (_, ps) = owned_ps(ctx, op, &i)?;
            Ok(json!({"PermissionSet": ps_value(&ps)}))
        }
        "ListPermissionSets" => list_ps(ctx, &i),
        "UpdatePermissionSet" => update_ps(ctx, &i),
        "DeletePermissionSet" => delete_ps(ctx, &i),
        "PutInlinePolicyToPermissionSet"
        | "DeleteInlinePolicyFromPermissionSet"
        | "AttachManagedPolicyToPermissionSet"
        | "DetachManagedPolicyFromPermissionSet"
        | "AttachCustomerManagedPolicyReferenceToPermissionSet"
        | "DetachCustomerManagedPolicyReferenceFromPermissionSet"
        | "PutPermissionsBoundaryToPermissionSet"
        | "DeletePermissionsBoundaryFromPermissionSet" => change_ps_policies(ctx, op, &i),
        "GetInlinePolicyForPermissionSet" => {
            let (_, ps) = owned_ps(ctx, op, &i)?;
            Ok(match ps.inline_policy {
                Some(p) => json!({"InlinePolicy": p}),
                None => json!({}),
            })
        }
        "ListManagedPoliciesInPermissionSet" => {
            let (_, ps) = owned_ps(ctx, op, &i)?;
            let items = ps
                .managed_policies
                .iter()
                .map(|a| json!({"Name": a.rsplit('/').next().unwrap_or(a), "Arn": a}))
                .collect();
            page(&i, items, "AttachedManagedPolicies")
        }
        "ListCustomerManagedPolicyReferencesInPermissionSet" => {
            let (_, ps) = owned_ps(ctx, op, &i)?;
            let items = ps.customer_policies.iter().map(ref_value).collect();
            page(&i, items, "CustomerManagedPolicyReferences")
        }
        "GetPermissionsBoundaryForPermissionSet" => {
            let (_, ps) = owned_ps(ctx, op, &i)?;
            let b = match (&ps.boundary_arn, &ps.boundary_ref) {
                (Some(a), _) => json!({"ManagedPolicyArn": a}),
                (None, Some(r)) => json!({"CustomerManagedPolicyReference": ref_value(r)}),
                _ => {
                    return Err(not_found(format!(
                        "Could not find a permissions boundary for PermissionSet with id {}",
                        ps.id
                    )));
                }
            };
            Ok(json!({"PermissionsBoundary": b}))
        }
        "CreateAccountAssignment" => create_assignment(ctx, &i),
        "DeleteAccountAssignment" => delete_assignment(ctx, &i),
        "DescribeAccountAssignmentCreationStatus" => {
            describe_status(ctx, op, &i, "CREATE", "AccountAssignmentCreationRequestId")
        }
        "DescribeAccountAssignmentDeletionStatus" => {
            describe_status(ctx, op, &i, "DELETE", "AccountAssignmentDeletionRequestId")
        }
        "DescribePermissionSetProvisioningStatus" => {
            describe_status(ctx, op, &i, "PROVISION", "ProvisionPermissionSetRequestId")
        }
        "ListAccountAssignmentCreationStatus" => list_status(ctx, op, &i, "CREATE"),
        "ListAccountAssignmentDeletionStatus" => list_status(ctx, op, &i, "DELETE"),
        "ListPermissionSetProvisioningStatus" => list_status(ctx, op, &i, "PROVISION"),
        "ListAccountAssignments" => list_assignments(ctx, &i),
        "ListAccountAssignmentsForPrincipal" => list_assignments_for_principal(ctx, &i),
        "ProvisionPermissionSet" => provision_ps(ctx, &i),
        "ListAccountsForProvisionedPermissionSet" => list_accounts_for_ps(ctx, &i),
        "ListPermissionSetsProvisionedToAccount" => list_ps_for_account(ctx, &i),
        "TagResource" | "UntagResource" | "ListTagsForResource" => tags(ctx, op, &i),
        other => {
            ctx.authorize(&format!("sso:{other}"), "*")?;
            Err(AwsError::new(
                400,
                "UnknownOperationException",
                format!("kagi does not implement sso-admin:{other}."),
            ))
        }
    }
}

// ---- instances ----

fn create_instance(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let tags = tags_param(i)?;
    ctx.authorize_with(
        "sso:CreateInstance",
        "*",
        &crate::authz::as_extra(&crate::authz::request_tag_context(&tags)),
    )?;
    let me = ctx.account().to_owned();
    let now = ctx.now;
    let name = opt(i, "Name").filter(|n| !n.is_empty()).map(str::to_owned);
    let inst = global(ctx).write(|tx| {
        if ic::instance_of(tx, &me)?.is_some() {
            return Err(conflict(
                "An instance of IAM Identity Center already exists for this account.",
            )
            .into());
        }
        let inst = Instance {
            id: format!("ssoins-{}", ic::hex16()),
            identity_store_id: format!("d-{}", hex(10)),
            owner_account: me.clone(),
            name: name.clone(),
            created: now,
            session_secs: 8 * 3600,
            mfa: Default::default(),
        };
        tx.put_json(Table::IdentityCenter, &keys::instance(&inst.id), &inst)?;
        tx.put_json(Table::IdentityCenter, &keys::owner(&me), &inst.id)?;
        if !tags.is_empty() {
            tx.put_json(Table::IdentityCenter, &instance_tags_key(&inst.id), &tags)?;
        }
        Ok(inst)
    })?;
    Ok(json!({"InstanceArn": inst.arn()}))
}

fn list_instances(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("sso:ListInstances", "*")?;
    let me = ctx.account().to_owned();
    let inst = global(ctx).view(|tx| ic::instance_of(tx, &me))?;
    let items = inst.iter().map(|x| instance_value(ctx, x)).collect();
    page(i, items, "Instances")
}

fn update_instance(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "UpdateInstance", i)?;
    if i.get("EncryptionConfiguration").is_some() || i.get("NetworkConfiguration").is_some() {
        return Err(validation(
            "kagi keeps Identity Center's data in its own store: EncryptionConfiguration and NetworkConfiguration cannot be changed.",
        ));
    }
    let name = opt(i, "Name").map(str::to_owned);
    global(ctx).write(|tx| {
        let mut x: Instance = tx
            .get_json(Table::IdentityCenter, &keys::instance(&inst.id))?
            .ok_or_else(|| not_found("Instance not found."))?;
        if let Some(n) = &name {
            x.name = (!n.is_empty()).then(|| n.clone());
        }
        tx.put_json(Table::IdentityCenter, &keys::instance(&x.id), &x)
    })?;
    Ok(json!({}))
}

fn delete_instance(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "DeleteInstance", i)?;
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        let provisioned = store::in_account(raw, GLOBAL, |tx| {
            tx.scan(
                Table::IdentityCenter,
                &format!("{}\0provisioned\0", inst.id),
            )
        })?;
        for (k, _) in provisioned {
            let mut parts = k.split('\0').skip(2);
            if let (Some(account), Some(ps)) = (parts.next(), parts.next()) {
                ic::deprovision(raw, &inst, account, ps)?;
            }
        }
        store::in_account(raw, GLOBAL, |tx| {
            for prefix in [
                format!("{}\0", inst.id),
                format!("{}\0", inst.identity_store_id),
            ] {
                for (k, _) in tx.scan(Table::IdentityCenter, &prefix)? {
                    tx.delete(Table::IdentityCenter, &k)?;
                }
            }
            tx.delete(Table::IdentityCenter, &keys::instance(&inst.id))?;
            tx.delete(Table::IdentityCenter, &keys::owner(&inst.owner_account))?;
            Ok(())
        })
    })?;
    Ok(json!({}))
}

// ---- permission sets ----

fn check_duration(d: &str) -> AwsResult<()> {
    match ic::parse_duration(d) {
        Some(s) if (3600..=12 * 3600).contains(&s) => Ok(()),
        _ => Err(validation(format!(
            "The session duration {d} is not valid: it must be an ISO-8601 duration between PT1H and PT12H."
        ))),
    }
}

fn permission_sets(tx: &dyn Tx, instance: &str) -> anyhow::Result<Vec<PermissionSet>> {
    let mut list: Vec<PermissionSet> = tx
        .scan_json::<PermissionSet>(Table::IdentityCenter, &format!("{instance}\0ps\0"))?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    list.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
    Ok(list)
}

fn create_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "CreatePermissionSet", i)?;
    let tags = tags_param(i)?;
    if !tags.is_empty() {
        ctx.authorize_with(
            "sso:CreatePermissionSet",
            req(i, "InstanceArn")?,
            &crate::authz::as_extra(&crate::authz::request_tag_context(&tags)),
        )?;
    }
    let name = req(i, "Name")?;
    let duration = opt(i, "SessionDuration").unwrap_or("PT1H");
    check_duration(duration)?;
    if tags.len() > 50 {
        return Err(quota("A permission set may have at most 50 tags."));
    }
    let now = ctx.now;
    let ps = global(ctx).write(|tx| {
        let existing = permission_sets(tx, &inst.id)?;
        if existing.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(conflict(format!(
                "PermissionSet with name {name} already exists in instance {}",
                inst.arn()
            ))
            .into());
        }
        if existing.len() >= 2000 {
            return Err(
                quota("The instance has the maximum number of permission sets (2000).").into(),
            );
        }
        let ps = PermissionSet {
            id: format!("ps-{}", ic::hex16()),
            instance_id: inst.id.clone(),
            name: name.to_owned(),
            description: opt(i, "Description").map(str::to_owned),
            session_duration: duration.to_owned(),
            relay_state: opt(i, "RelayState").map(str::to_owned),
            inline_policy: None,
            managed_policies: Vec::new(),
            customer_policies: Vec::new(),
            boundary_arn: None,
            boundary_ref: None,
            tags: tags.clone(),
            created: now,
        };
        tx.put_json(
            Table::IdentityCenter,
            &keys::permission_set(&inst.id, &ps.id),
            &ps,
        )?;
        Ok(ps)
    })?;
    Ok(json!({"PermissionSet": ps_value(&ps)}))
}

fn list_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "ListPermissionSets", i)?;
    let list = global(ctx).view(|tx| permission_sets(tx, &inst.id))?;
    page(
        i,
        list.iter().map(|p| json!(p.arn())).collect(),
        "PermissionSets",
    )
}

/// Marks every account `ps` is provisioned to as outdated (its role no longer matches).
fn mark_stale(tx: &mut dyn Tx, instance: &str, ps: &str) -> anyhow::Result<()> {
    for (account, _) in provisioned(tx, instance)?
        .into_iter()
        .filter(|(_, p)| p == ps)
    {
        tx.put(
            Table::IdentityCenter,
            &stale_key(instance, &account, ps),
            "{}",
        )?;
    }
    Ok(())
}

/// (account, permission set id) pairs the instance has provisioned.
fn provisioned(tx: &dyn Tx, instance: &str) -> anyhow::Result<Vec<(String, String)>> {
    let prefix = format!("{instance}\0provisioned\0");
    Ok(tx
        .scan(Table::IdentityCenter, &prefix)?
        .into_iter()
        .filter_map(|(k, _)| {
            let (a, p) = k[prefix.len()..].split_once('\0')?;
            Some((a.to_owned(), p.to_owned()))
        })
        .collect())
}

/// Rewrites the permission set with `change` applied and marks its accounts outdated.
fn save_ps(
    ctx: &Ctx,
    inst: &Instance,
    ps_id: &str,
    change: &dyn Fn(&mut PermissionSet) -> AwsResult<()>,
) -> AwsResult<()> {
    global(ctx).write(|tx| {
        let mut ps = ic::permission_set(tx, &inst.id, ps_id)?.ok_or_else(|| ps_not_found(ps_id))?;
        change(&mut ps)?;
        tx.put_json(
            Table::IdentityCenter,
            &keys::permission_set(&inst.id, ps_id),
            &ps,
        )?;
        mark_stale(tx, &inst.id, ps_id)
    })?;
    Ok(())
}

fn update_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, "UpdatePermissionSet", i)?;
    if let Some(d) = opt(i, "SessionDuration") {
        check_duration(d)?;
    }
    save_ps(ctx, &inst, &ps.id, &|p| {
        if let Some(d) = opt(i, "Description") {
            p.description = Some(d.to_owned());
        }
        if let Some(d) = opt(i, "SessionDuration") {
            p.session_duration = d.to_owned();
        }
        if let Some(r) = opt(i, "RelayState") {
            p.relay_state = Some(r.to_owned());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

fn delete_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, "DeletePermissionSet", i)?;
    global(ctx).write(|tx| {
        if provisioned(tx, &inst.id)?.iter().any(|(_, p)| *p == ps.id)
            || ic::assignments(tx, &inst.id)?
                .iter()
                .any(|a| ic::assignment_ps_id(a) == ps.id)
        {
            return Err(conflict(format!(
                "PermissionSet {} is provisioned to accounts; delete its account assignments first.",
                ps.arn()
            ))
            .into());
        }
        tx.delete(
            Table::IdentityCenter,
            &keys::permission_set(&inst.id, &ps.id),
        )?;
        Ok(())
    })?;
    Ok(json!({}))
}

fn is_aws_managed(arn: &str) -> bool {
    crate::iam::managed::AWS_MANAGED
        .iter()
        .any(|(n, _, _)| crate::iam::managed::arn(n) == arn)
}

fn policy_ref(v: &Value) -> AwsResult<PolicyRef> {
    let name = v["Name"]
        .as_str()
        .ok_or_else(|| AwsError::missing_param("Name"))?;
    let path = v["Path"].as_str().unwrap_or("/");
    if !crate::ids::valid_path(path) {
        return Err(validation(format!(
            "The path {path} is not valid: it must begin and end with /."
        )));
    }
    Ok(PolicyRef {
        name: name.to_owned(),
        path: path.to_owned(),
    })
}

/// An AWS managed policy ARN, as AWS accepts them (`arn:aws:iam::aws:policy/…`, one AWS has).
fn managed_arn(arn: &str) -> AwsResult<String> {
    if !arn.starts_with("arn:aws:iam::aws:policy/") {
        return Err(validation(format!(
            "The ManagedPolicyArn {arn} is not valid: only AWS managed policies (arn:aws:iam::aws:policy/…) can be attached; use a customer managed policy reference for your own."
        )));
    }
    if !is_aws_managed(arn) {
        return Err(not_found(format!("Policy {arn} does not exist.")));
    }
    Ok(arn.to_owned())
}

const MAX_POLICIES: usize = 20;

fn change_ps_policies(ctx: &Ctx, op: &str, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, op, i)?;
    match op {
        "PutInlinePolicyToPermissionSet" => {
            let doc = req(i, "InlinePolicy")?.to_owned();
            crate::authz::check_identity_policy(&doc).map_err(|e| {
                validation(format!("The policy document is not valid: {}", e.message))
            })?;
            save_ps(ctx, &inst, &ps.id, &|p| {
                p.inline_policy = Some(doc.clone());
                Ok(())
            })?;
        }
        "DeleteInlinePolicyFromPermissionSet" => save_ps(ctx, &inst, &ps.id, &|p| {
            p.inline_policy = None;
            Ok(())
        })?,
        "AttachManagedPolicyToPermissionSet" => {
            let arn = managed_arn(req(i, "ManagedPolicyArn")?)?;
            save_ps(ctx, &inst, &ps.id, &|p| {
                if p.managed_policies.contains(&arn) {
                    return Err(conflict(format!(
                        "Managed policy {arn} is already attached to PermissionSet {}",
                        p.id
                    )));
                }
                if p.managed_policies.len() >= MAX_POLICIES {
                    return Err(quota(format!(
                        "A permission set may have at most {MAX_POLICIES} AWS managed policies attached."
                    )));
                }
                p.managed_policies.push(arn.clone());
                Ok(())
            })?;
        }
        "DetachManagedPolicyFromPermissionSet" => {
            let arn = req(i, "ManagedPolicyArn")?.to_owned();
            save_ps(ctx, &inst, &ps.id, &|p| {
                if !p.managed_policies.contains(&arn) {
                    return Err(not_found(format!(
                        "Managed policy {arn} is not attached to PermissionSet {}",
                        p.id
                    )));
                }
                p.managed_policies.retain(|a| *a != arn);
                Ok(())
            })?;
        }
        "AttachCustomerManagedPolicyReferenceToPermissionSet" => {
            let r = policy_ref(&i["CustomerManagedPolicyReference"])?;
            save_ps(ctx, &inst, &ps.id, &|p| {
                if p.customer_policies.contains(&r) {
                    return Err(conflict(format!(
                        "Customer managed policy reference {}{} is already attached to PermissionSet {}",
                        r.path, r.name, p.id
                    )));
                }
                if p.customer_policies.len() >= MAX_POLICIES {
                    return Err(quota(format!(
                        "A permission set may have at most {MAX_POLICIES} customer managed policy references."
                    )));
                }
                p.customer_policies.push(r.clone());
                Ok(())
            })?;
        }
        "DetachCustomerManagedPolicyReferenceFromPermissionSet" => {
            let r = policy_ref(&i["CustomerManagedPolicyReference"])?;
            save_ps(ctx, &inst, &ps.id, &|p| {
                if !p.customer_policies.contains(&r) {
                    return Err(not_found(format!(
                        "Customer managed policy reference {}{} is not attached to PermissionSet {}",
                        r.path, r.name, p.id
                    )));
                }
                p.customer_policies.retain(|x| *x != r);
                Ok(())
            })?;
        }
        "PutPermissionsBoundaryToPermissionSet" => {
            let b = &i["PermissionsBoundary"];
            let (arn, r) = match (
                b.get("ManagedPolicyArn"),
                b.get("CustomerManagedPolicyReference"),
            ) {
                (Some(a), None) => (Some(managed_arn(a.as_str().unwrap_or(""))?), None),
                (None, Some(r)) => (None, Some(policy_ref(r)?)),
                _ => {
                    return Err(validation(
                        "A permissions boundary is either a ManagedPolicyArn or a CustomerManagedPolicyReference (exactly one).",
                    ));
                }
            };
            save_ps(ctx, &inst, &ps.id, &|p| {
                p.boundary_arn = arn.clone();
                p.boundary_ref = r.clone();
                Ok(())
            })?;
        }
        _ => {
            // DeletePermissionsBoundaryFromPermissionSet
            save_ps(ctx, &inst, &ps.id, &|p| {
                p.boundary_arn = None;
                p.boundary_ref = None;
                Ok(())
            })?;
        }
    }
    Ok(json!({}))
}

// ---- account assignments ----

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn put_status(raw: &mut dyn RawTx, instance: &str, s: &OpStatus) -> anyhow::Result<()> {
    store::in_account(raw, GLOBAL, |tx| {
        tx.put_json(
            Table::IdentityCenter,
            &keys::status(instance, &s.request_id),
            s,
        )
    })
}

/// The assignment a Create/DeleteAccountAssignment names, authorised on the instance, the
/// permission set and the account.
fn assignment_of(
    ctx: &Ctx,
    op: &str,
    i: &Value,
) -> AwsResult<(Instance, PermissionSet, Assignment)> {
    let (inst, ps) = owned_ps(ctx, op, i)?;
    let account = req(i, "TargetId")?;
    ctx.authorize(&format!("sso:{op}"), &account_arn(account))?;
    if req(i, "TargetType")? != "AWS_ACCOUNT" {
        return Err(validation("TargetType must be AWS_ACCOUNT."));
    }
    let principal_type = req(i, "PrincipalType")?;
    let principal_id = req(i, "PrincipalId")?;
    Ok((
        inst,
        ps.clone(),
        Assignment {
            account: account.to_owned(),
            permission_set: ps.arn(),
            principal_type: principal_type.to_owned(),
            principal_id: principal_id.to_owned(),
        },
    ))
}

fn principal_exists(tx: &dyn Tx, inst: &Instance, kind: &str, id: &str) -> anyhow::Result<bool> {
    let sid = &inst.identity_store_id;
    Ok(match kind {
        "USER" => ic::user(tx, sid, id)?.is_some(),
        _ => tx
            .get(Table::IdentityCenter, &keys::group(sid, id))?
            .is_some(),
    })
}

fn principal_not_found(inst: &Instance, a: &Assignment) -> AwsError {
    not_found(format!(
        "The principal {} ({}) does not exist in identity store {}.",
        a.principal_id, a.principal_type, inst.identity_store_id
    ))
}

fn create_assignment(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps, a) = assignment_of(ctx, "CreateAccountAssignment", i)?;
    check_target(ctx, &inst, &a.account)?;
    let exists =
        global(ctx).view(|tx| principal_exists(tx, &inst, &a.principal_type, &a.principal_id))?;
    if !exists {
        return Err(principal_not_found(&inst, &a));
    }
    let now = ctx.now;
    let request_id = new_request_id();
    let mut out = None;
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        // Re-read inside the transaction: the permission set as it is now.
        let Some(ps) =
            store::in_account(raw, GLOBAL, |tx| ic::permission_set(tx, &inst.id, &ps.id))?
        else {
            return Err(ps_not_found(&ps.id).into());
        };
        // And the principal as it is now (a concurrent DeleteUser leaves no assignment behind).
        if !store::in_account(raw, GLOBAL, |tx| {
            principal_exists(tx, &inst, &a.principal_type, &a.principal_id)
        })? {
            return Err(principal_not_found(&inst, &a).into());
        }
        let outcome = ic::provision(raw, &inst, &a.account, &ps, now)?;
        let status = OpStatus {
            kind: "CREATE".into(),
            request_id: request_id.clone(),
            status: if outcome.is_ok() {
                "SUCCEEDED"
            } else {
                "FAILED"
            }
            .into(),
            failure_reason: outcome.as_ref().err().cloned(),
            target_id: Some(a.account.clone()),
            permission_set_arn: ps.arn(),
            principal_type: Some(a.principal_type.clone()),
            principal_id: Some(a.principal_id.clone()),
            created: now,
        };
        if outcome.is_ok() {
            store::in_account(raw, GLOBAL, |tx| {
                tx.put_json(Table::IdentityCenter, &keys::assignment(&inst.id, &a), &a)?;
                tx.delete(
                    Table::IdentityCenter,
                    &stale_key(&inst.id, &a.account, &ps.id),
                )?;
                Ok(())
            })?;
        }
        put_status(raw, &inst.id, &status)?;
        out = Some(status);
        Ok(())
    })?;
    let status = out.ok_or_else(AwsError::internal)?;
    Ok(json!({"AccountAssignmentCreationStatus": status_value(&status)}))
}

fn delete_assignment(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps, a) = assignment_of(ctx, "DeleteAccountAssignment", i)?;
    let now = ctx.now;
    let request_id = new_request_id();
    let mut out = None;
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        let gone = ic::remove_assignments(raw, &inst, &|x| *x == a)?;
        if gone.is_empty() {
            return Err(not_found(format!(
                "Could not find an account assignment of PermissionSet {} in account {} for {} {}",
                ps.id, a.account, a.principal_type, a.principal_id
            ))
            .into());
        }
        store::in_account(raw, GLOBAL, |tx| {
            if ic::provisioned_role(tx, &inst.id, &a.account, &ps.id)?.is_none() {
                tx.delete(
                    Table::IdentityCenter,
                    &stale_key(&inst.id, &a.account, &ps.id),
                )?;
            }
            Ok(())
        })?;
        let status = OpStatus {
            kind: "DELETE".into(),
            request_id: request_id.clone(),
            status: "SUCCEEDED".into(),
            failure_reason: None,
            target_id: Some(a.account.clone()),
            permission_set_arn: ps.arn(),
            principal_type: Some(a.principal_type.clone()),
            principal_id: Some(a.principal_id.clone()),
            created: now,
        };
        put_status(raw, &inst.id, &status)?;
        out = Some(status);
        Ok(())
    })?;
    let status = out.ok_or_else(AwsError::internal)?;
    Ok(json!({"AccountAssignmentDeletionStatus": status_value(&status)}))
}

fn statuses(tx: &dyn Tx, instance: &str, kind: &str) -> anyhow::Result<Vec<OpStatus>> {
    let mut list: Vec<OpStatus> = tx
        .scan_json::<OpStatus>(Table::IdentityCenter, &format!("{instance}\0status\0"))?
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.kind == kind)
        .collect();
    list.sort_by(|a, b| {
        a.created
            .cmp(&b.created)
            .then(a.request_id.cmp(&b.request_id))
    });
    Ok(list)
}

fn status_key_name(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "CREATE" => (
            "AccountAssignmentCreationStatus",
            "AccountAssignmentsCreationStatus",
        ),
        "DELETE" => (
            "AccountAssignmentDeletionStatus",
            "AccountAssignmentsDeletionStatus",
        ),
        _ => (
            "PermissionSetProvisioningStatus",
            "PermissionSetsProvisioningStatus",
        ),
    }
}

fn describe_status(ctx: &Ctx, op: &str, i: &Value, kind: &str, member: &str) -> AwsResult<Value> {
    let inst = owned_instance(ctx, op, i)?;
    let id = req(i, member)?;
    let s: Option<OpStatus> =
        global(ctx).view(|tx| tx.get_json(Table::IdentityCenter, &keys::status(&inst.id, id)))?;
    let s = s
        .filter(|s| s.kind == kind)
        .ok_or_else(|| not_found(format!("Could not find the request with id {id}")))?;
    let (one, _) = status_key_name(kind);
    Ok(json!({ one: status_value(&s) }))
}

fn list_status(ctx: &Ctx, op: &str, i: &Value, kind: &str) -> AwsResult<Value> {
    let inst = owned_instance(ctx, op, i)?;
    let filter = i["Filter"]["Status"].as_str().map(str::to_owned);
    let list = global(ctx).view(|tx| statuses(tx, &inst.id, kind))?;
    let items = list
        .iter()
        .filter(|s| filter.as_deref().is_none_or(|f| s.status == f))
        .map(|s| {
            json!({
                "Status": s.status,
                "RequestId": s.request_id,
                "CreatedDate": crate::ids::iso8601(s.created),
            })
        })
        .collect();
    let (_, many) = status_key_name(kind);
    page(i, items, many)
}

fn list_assignments(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, "ListAccountAssignments", i)?;
    let account = req(i, "AccountId")?;
    ctx.authorize("sso:ListAccountAssignments", &account_arn(account))?;
    let list = global(ctx).view(|tx| ic::assignments(tx, &inst.id))?;
    let items = list
        .iter()
        .filter(|a| a.account == account && ic::assignment_ps_id(a) == ps.id)
        .map(assignment_value)
        .collect();
    page(i, items, "AccountAssignments")
}

fn list_assignments_for_principal(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "ListAccountAssignmentsForPrincipal", i)?;
    let kind = req(i, "PrincipalType")?;
    let id = req(i, "PrincipalId")?;
    let account = i["Filter"]["AccountId"].as_str();
    let (exists, list) = global(ctx).view(|tx| {
        Ok((
            principal_exists(tx, &inst, kind, id)?,
            ic::assignments(tx, &inst.id)?,
        ))
    })?;
    if !exists {
        return Err(not_found(format!(
            "The principal {id} ({kind}) does not exist in identity store {}.",
            inst.identity_store_id
        )));
    }
    let items = list
        .iter()
        .filter(|a| a.principal_type == kind && a.principal_id == id)
        .filter(|a| account.is_none_or(|x| a.account == x))
        .map(assignment_value)
        .collect();
    page(i, items, "AccountAssignments")
}

// ---- provisioning ----

fn provision_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, "ProvisionPermissionSet", i)?;
    let target = match (req(i, "TargetType")?, opt(i, "TargetId")) {
        ("AWS_ACCOUNT", Some(t)) => {
            ctx.authorize("sso:ProvisionPermissionSet", &account_arn(t))?;
            check_target(ctx, &inst, t)?;
            Some(t.to_owned())
        }
        ("AWS_ACCOUNT", None) => {
            return Err(validation(
                "TargetId is required when TargetType is AWS_ACCOUNT.",
            ));
        }
        (_, Some(_)) => {
            return Err(validation(
                "TargetId must not be given when TargetType is ALL_PROVISIONED_ACCOUNTS.",
            ));
        }
        _ => None,
    };
    let now = ctx.now;
    let request_id = new_request_id();
    let mut out = None;
    ctx.state.kv.transaction(Durability::Full, &mut |raw| {
        let Some(ps) =
            store::in_account(raw, GLOBAL, |tx| ic::permission_set(tx, &inst.id, &ps.id))?
        else {
            return Err(ps_not_found(&ps.id).into());
        };
        let accounts: Vec<String> = match &target {
            Some(t) => vec![t.clone()],
            None => store::in_account(raw, GLOBAL, |tx| provisioned(tx, &inst.id))?
                .into_iter()
                .filter(|(_, p)| *p == ps.id)
                .map(|(a, _)| a)
                .collect(),
        };
        let mut failure = None;
        for account in &accounts {
            match ic::provision(raw, &inst, account, &ps, now)? {
                Ok(_) => store::in_account(raw, GLOBAL, |tx| {
                    tx.delete(Table::IdentityCenter, &stale_key(&inst.id, account, &ps.id))?;
                    Ok(())
                })?,
                Err(why) => failure = Some(why),
            }
        }
        let status = OpStatus {
            kind: "PROVISION".into(),
            request_id: request_id.clone(),
            status: if failure.is_none() {
                "SUCCEEDED"
            } else {
                "FAILED"
            }
            .into(),
            failure_reason: failure,
            target_id: target.clone(),
            permission_set_arn: ps.arn(),
            principal_type: None,
            principal_id: None,
            created: now,
        };
        put_status(raw, &inst.id, &status)?;
        out = Some(status);
        Ok(())
    })?;
    let status = out.ok_or_else(AwsError::internal)?;
    Ok(json!({"PermissionSetProvisioningStatus": status_value(&status)}))
}

/// `ProvisioningStatus`: `LATEST_PERMISSION_SET_PROVISIONED` (up to date) or
/// `LATEST_PERMISSION_SET_NOT_PROVISIONED` (changed since); absent: both.
fn provisioning_filter(i: &Value) -> Option<bool> {
    match opt(i, "ProvisioningStatus") {
        Some("LATEST_PERMISSION_SET_PROVISIONED") => Some(true),
        Some(_) => Some(false),
        None => None,
    }
}

fn list_accounts_for_ps(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let (inst, ps) = owned_ps(ctx, "ListAccountsForProvisionedPermissionSet", i)?;
    let want = provisioning_filter(i);
    let list = global(ctx).view(|tx| {
        let mut out = Vec::new();
        for (account, p) in provisioned(tx, &inst.id)? {
            if p != ps.id {
                continue;
            }
            let latest = tx
                .get(Table::IdentityCenter, &stale_key(&inst.id, &account, &p))?
                .is_none();
            if want.is_none_or(|w| w == latest) {
                out.push(json!(account));
            }
        }
        Ok(out)
    })?;
    page(i, list, "AccountIds")
}

fn list_ps_for_account(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let inst = owned_instance(ctx, "ListPermissionSetsProvisionedToAccount", i)?;
    let account = req(i, "AccountId")?;
    ctx.authorize(
        "sso:ListPermissionSetsProvisionedToAccount",
        &account_arn(account),
    )?;
    let want = provisioning_filter(i);
    let list = global(ctx).view(|tx| {
        let mut out = Vec::new();
        for (a, p) in provisioned(tx, &inst.id)? {
            if a != account {
                continue;
            }
            let latest = tx
                .get(Table::IdentityCenter, &stale_key(&inst.id, &a, &p))?
                .is_none();
            if want.is_none_or(|w| w == latest) {
                out.push(json!(format!(
                    "arn:aws:sso:::permissionSet/{}/{p}",
                    inst.id
                )));
            }
        }
        Ok(out)
    })?;
    page(i, list, "PermissionSets")
}

// ---- tags (permission sets and the instance) ----

fn tags(ctx: &Ctx, op: &str, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "ResourceArn")?;
    let new_tags = if op == "TagResource" {
        tags_param(i)?
    } else {
        Vec::new()
    };
    if op == "TagResource" {
        ctx.authorize_with(
            "sso:TagResource",
            arn,
            &crate::authz::as_extra(&crate::authz::request_tag_context(&new_tags)),
        )?;
    } else {
        ctx.authorize(&format!("sso:{op}"), arn)?;
    }
    if let Some(ia) = opt(i, "InstanceArn") {
        ctx.authorize(&format!("sso:{op}"), ia)?;
    }
    // The resource: a permission set or the instance, of an instance the caller owns.
    let (instance_id, ps_id) = match ps_ids(arn) {
        Ok((inst, ps)) => (inst.to_owned(), Some(ps.to_owned())),
        Err(_) => (instance_id(arn)?.to_owned(), None),
    };
    let me = ctx.account().to_owned();
    let inst: Option<Instance> =
        global(ctx).view(|tx| tx.get_json(Table::IdentityCenter, &keys::instance(&instance_id)))?;
    let inst = inst
        .filter(|x| x.owner_account == me)
        .ok_or_else(|| denied(ctx, op, arn))?;
    let removed: Vec<String> = i["TagKeys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let edit = |tags: &mut Vec<Tag>| -> AwsResult<()> {
        if op == "TagResource" {
            for t in &new_tags {
                tags.retain(|x| x.key != t.key);
                tags.push(t.clone());
            }
            if tags.len() > 50 {
                return Err(quota("A resource may have at most 50 tags."));
            }
        } else {
            tags.retain(|x| !removed.contains(&x.key));
        }
        Ok(())
    };
    let current: Vec<Tag> = match &ps_id {
        Some(p) => {
            if op == "ListTagsForResource" {
                global(ctx)
                    .view(|tx| ic::permission_set(tx, &inst.id, p))?
                    .ok_or_else(|| ps_not_found(p))?
                    .tags
            } else {
                global(ctx).write(|tx| {
                    let mut ps =
                        ic::permission_set(tx, &inst.id, p)?.ok_or_else(|| ps_not_found(p))?;
                    edit(&mut ps.tags)?;
                    tx.put_json(
                        Table::IdentityCenter,
                        &keys::permission_set(&inst.id, p),
                        &ps,
                    )?;
                    Ok(ps.tags)
                })?
            }
        }
        None => global(ctx).write(|tx| {
            let key = instance_tags_key(&inst.id);
            let mut tags: Vec<Tag> = tx
                .get_json(Table::IdentityCenter, &key)?
                .unwrap_or_default();
            if op != "ListTagsForResource" {
                edit(&mut tags)?;
                tx.put_json(Table::IdentityCenter, &key, &tags)?;
            }
            Ok(tags)
        })?,
    };
    if op != "ListTagsForResource" {
        return Ok(json!({}));
    }
    let items = current
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    page(i, items, "Tags")
}
