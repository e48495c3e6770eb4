//! IAM's last-accessed reports ("Access Advisor") from the event history:
//! `GenerateServiceLastAccessedDetails`, `GetServiceLastAccessedDetails`,
//! `GetServiceLastAccessedDetailsWithEntities` and `ListPoliciesGrantingServiceAccess`.
//!
//! * A report covers a user (its own policies, inline and attached, and its groups'), a group
//!   (the group's policies; its members' attempts), a role (its policies; its sessions'
//!   attempts) or a managed policy (the users, groups' members and roles it is attached to).
//!   It lists every service of [`SERVICES`] those policies allow (`Allow` statements' `Action`
//!   and `NotAction`; other policy types are not considered, as on AWS).
//! * An access is an attempt that reached authorisation, allowed or not, as AWS counts them:
//!   the principal's events of the history, found through the trail's own principal index
//!   ([`crate::trail::lookup::principal_activity`]). The tracking period is the history's
//!   retention (`--trail-retention-days`, 90 by default; AWS's is 400 days).
//! * A job completes when it is created (the history is local); it stores only its request
//!   (`Table::LastAccessedJobs`) and the report is computed when asked, over the events up to
//!   the job's creation. As on AWS, a job is visible only to the principal that created it
//!   (the same user, or the same role in any of its sessions).

use crate::caller::Principal;
use crate::error::{AwsError, AwsResult};
use crate::model::{
    Attachment, EntityKind, Group, InlinePolicy, ManagedPolicy, Membership, Role, User,
};
use crate::params::{opt, paginate_into, req, ts};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The services a report can list: (IAM service namespace, ServiceName, whether AWS reports
/// action-level data for it). The one table of service names.
pub const SERVICES: &[(&str, &str, bool)] = &[
    ("access-analyzer", "IAM Access Analyzer", true),
    ("account", "AWS Account Management", true),
    ("cloudformation", "AWS CloudFormation", false),
    ("cloudtrail", "AWS CloudTrail", true),
    ("cloudwatch", "Amazon CloudWatch", false),
    ("dynamodb", "Amazon DynamoDB", false),
    ("ec2", "Amazon EC2", true),
    ("ecr", "Amazon Elastic Container Registry", true),
    ("ecs", "Amazon Elastic Container Service", false),
    ("eks", "Amazon Elastic Kubernetes Service", false),
    ("iam", "AWS Identity and Access Management", true),
    ("identitystore", "AWS Identity Store", true),
    ("kms", "AWS Key Management Service", false),
    ("lambda", "AWS Lambda", true),
    ("logs", "Amazon CloudWatch Logs", false),
    ("organizations", "AWS Organizations", true),
    ("route53", "Amazon Route 53", false),
    ("s3", "Amazon S3", true),
    ("secretsmanager", "AWS Secrets Manager", false),
    ("sns", "Amazon SNS", false),
    ("sqs", "Amazon SQS", false),
    ("ssm", "AWS Systems Manager", false),
    ("sso", "AWS IAM Identity Center", true),
    ("sts", "AWS Security Token Service", true),
];

/// The ServiceName of a namespace.
pub fn service_name(namespace: &str) -> Option<&'static str> {
    SERVICES
        .iter()
        .find(|(n, _, _)| *n == namespace)
        .map(|(_, name, _)| *name)
}

fn tracks_actions(namespace: &str) -> bool {
    SERVICES.iter().any(|(n, _, a)| *n == namespace && *a)
}

/// The namespace of an event's `eventSource` (`ecr.amazonaws.com` → `ecr`).
fn namespace_of_source(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}

/// A job as stored.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Job {
    id: String,
    arn: String,
    granularity: String,
    /// The principal that created it (user, role, root): only it may read the job.
    owner: String,
    created: i64,
    /// The job's creation in milliseconds: the report covers the events up to it.
    created_ms: i64,
}

/// What a report is about.
#[derive(Clone, Debug)]
enum Target {
    Entity(EntityKind, String),
    Policy(String),
}

/// An entity whose attempts count: its ARN, and what `EntityInfo` says of it.
#[derive(Clone, Debug)]
struct Entity {
    arn: String,
    name: String,
    kind: &'static str,
    id: String,
    path: String,
}

/// One policy that can grant access.
struct Grant {
    name: String,
    managed_arn: Option<String>,
    /// For inline policies: the entity holding it.
    holder: Option<(&'static str, String)>,
    document: String,
}

/// The principal a job belongs to: the user, the role (any of its sessions), the root.
fn owner_of(ctx: &Ctx) -> String {
    let c = ctx.caller;
    match &c.principal {
        Principal::Role { name, path, .. } => {
            crate::ids::iam_arn(&c.account_id, "role", path, name)
        }
        _ => c.arn(),
    }
}

/// Parses a report's `Arn`: an IAM user, group or role of this account, or a managed policy.
fn target_of(ctx: &Ctx, arn: &str) -> AwsResult<Target> {
    let invalid = || AwsError::invalid_input(format!("ARN {arn} is not valid."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
        return Err(invalid());
    }
    let res = parts[5];
    if let Some(r) = res.strip_prefix("policy/") {
        if parts[4] != ctx.account() && parts[4] != "aws" || r.is_empty() {
            return Err(invalid());
        }
        return Ok(Target::Policy(arn.to_owned()));
    }
    if parts[4] != ctx.account() {
        return Err(invalid());
    }
    for (prefix, kind) in [
        ("user/", EntityKind::User),
        ("group/", EntityKind::Group),
        ("role/", EntityKind::Role),
    ] {
        if let Some(r) = res.strip_prefix(prefix) {
            let name = r.rsplit('/').next().unwrap_or(r);
            if name.is_empty() {
                return Err(invalid());
            }
            return Ok(Target::Entity(kind, name.to_owned()));
        }
    }
    Err(invalid())
}

fn no_such(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("The entity {arn} cannot be found."))
}

fn user_entity(u: &User) -> Entity {
    Entity {
        arn: u.arn.clone(),
        name: u.name.clone(),
        kind: "USER",
        id: u.id.clone(),
        path: u.path.clone(),
    }
}

fn role_entity(r: &Role) -> Entity {
    Entity {
        arn: r.arn.clone(),
        name: r.name.clone(),
        kind: "ROLE",
        id: r.id.clone(),
        path: r.path.clone(),
    }
}

/// The inline and attached policies of one user, group or role.
fn grants_of(tx: &dyn Tx, kind: EntityKind, name: &str, out: &mut Vec<Grant>) -> AwsResult<()> {
    let prefix = crate::entities::entity_prefix(kind, name);
    let holder = match kind {
        EntityKind::User => "USER",
        EntityKind::Group => "GROUP",
        EntityKind::Role => "ROLE",
    };
    for (_, ip) in tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &prefix)? {
        out.push(Grant {
            name: ip.name,
            managed_arn: None,
            holder: Some((holder, ip.entity)),
            document: ip.document,
        });
    }
    for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, &prefix)? {
        if let Some(p) = tx.get_json::<ManagedPolicy>(Table::Policies, &a.policy_arn)? {
            out.push(managed_grant(&p));
        }
    }
    Ok(())
}

fn managed_grant(p: &ManagedPolicy) -> Grant {
    Grant {
        name: p.name.clone(),
        managed_arn: Some(p.arn.clone()),
        holder: None,
        document: p.default_document().to_owned(),
    }
}

fn members_of(tx: &dyn Tx, group: &str) -> AwsResult<Vec<Entity>> {
    let mut out = Vec::new();
    for (_, m) in
        tx.scan_json::<Membership>(Table::GroupMembers, &format!("{}\0", name_key(group)))?
    {
        if let Some(u) = tx.get_json::<User>(Table::Users, &name_key(&m.user))? {
            out.push(user_entity(&u));
        }
    }
    Ok(out)
}

/// The policies that count for `target` and the entities whose attempts count.
fn scope(tx: &dyn Tx, target: &Target, arn: &str) -> AwsResult<(Vec<Grant>, Vec<Entity>)> {
    let mut grants = Vec::new();
    let mut entities = Vec::new();
    match target {
        Target::Entity(EntityKind::User, name) => {
            let u = tx
                .get_json::<User>(Table::Users, &name_key(name))?
                .ok_or_else(|| no_such(arn))?;
            grants_of(tx, EntityKind::User, &u.name, &mut grants)?;
            for g in crate::entities::groups_of(tx, &u.name)? {
                grants_of(tx, EntityKind::Group, &g.name, &mut grants)?;
            }
            entities.push(user_entity(&u));
        }
        Target::Entity(EntityKind::Group, name) => {
            let g = tx
                .get_json::<Group>(Table::Groups, &name_key(name))?
                .ok_or_else(|| no_such(arn))?;
            grants_of(tx, EntityKind::Group, &g.name, &mut grants)?;
            entities = members_of(tx, &g.name)?;
        }
        Target::Entity(EntityKind::Role, name) => {
            let r = tx
                .get_json::<Role>(Table::Roles, &name_key(name))?
                .ok_or_else(|| no_such(arn))?;
            grants_of(tx, EntityKind::Role, &r.name, &mut grants)?;
            entities.push(role_entity(&r));
        }
        Target::Policy(p) => {
            let policy = tx
                .get_json::<ManagedPolicy>(Table::Policies, p)?
                .ok_or_else(|| no_such(arn))?;
            grants.push(managed_grant(&policy));
            let mut seen = BTreeSet::new();
            for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, "")? {
                if a.policy_arn != *p {
                    continue;
                }
                let found = match a.kind {
                    EntityKind::User => tx
                        .get_json::<User>(Table::Users, &name_key(&a.entity))?
                        .map(|u| vec![user_entity(&u)])
                        .unwrap_or_default(),
                    EntityKind::Role => tx
                        .get_json::<Role>(Table::Roles, &name_key(&a.entity))?
                        .map(|r| vec![role_entity(&r)])
                        .unwrap_or_default(),
                    EntityKind::Group => members_of(tx, &a.entity)?,
                };
                for e in found {
                    if seen.insert(e.arn.clone()) {
                        entities.push(e);
                    }
                }
            }
        }
    }
    Ok((grants, entities))
}

/// Case-insensitive `*`/`?` matching (IAM's action patterns).
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// What the policies allow, per namespace: the policies (indexes into the grants) and the
/// explicit action names they allow (for action-level reports).
#[derive(Default, Debug)]
struct Allowed {
    policies: BTreeSet<usize>,
    actions: BTreeSet<String>,
}

fn allowed_services(grants: &[Grant]) -> BTreeMap<&'static str, Allowed> {
    let mut out: BTreeMap<&'static str, Allowed> = BTreeMap::new();
    for (i, g) in grants.iter().enumerate() {
        let Ok(doc) = serde_json::from_str::<Value>(&g.document) else {
            continue;
        };
        let statements = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => Vec::new(),
        };
        for s in statements {
            if s["Effect"].as_str() != Some("Allow") {
                continue;
            }
            let actions = strings(&s["Action"]);
            let not_actions = strings(&s["NotAction"]);
            for &(ns, _, _) in SERVICES {
                let hit = if s.get("NotAction").is_some() {
                    // Allowed unless every action of the service is excluded.
                    !not_actions.iter().any(|a| {
                        a == "*"
                            || a.split_once(':')
                                .is_some_and(|(n, act)| glob(n, ns) && act == "*")
                    })
                } else {
                    actions
                        .iter()
                        .any(|a| a == "*" || a.split_once(':').is_some_and(|(n, _)| glob(n, ns)))
                };
                if !hit {
                    continue;
                }
                let entry = out.entry(ns).or_default();
                entry.policies.insert(i);
                for a in &actions {
                    if let Some((n, act)) = a.split_once(':')
                        && n.eq_ignore_ascii_case(ns)
                        && !act.contains(['*', '?'])
                    {
                        entry.actions.insert(act.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// The latest attempt: (time ms, region, entity ARN).
type Last = (i64, String, String);

fn later(slot: &mut Option<Last>, t: i64, region: &str, entity: &str) {
    if slot.as_ref().is_none_or(|(s, _, _)| t > *s) {
        *slot = Some((t, region.to_owned(), entity.to_owned()));
    }
}

/// What a report found for one service.
#[derive(Default)]
struct Usage {
    last: Option<Last>,
    /// Each entity's latest attempt.
    by_entity: BTreeMap<String, i64>,
    /// Each action's latest attempt.
    actions: BTreeMap<String, Last>,
}

struct Report {
    entities: Vec<Entity>,
    allowed: BTreeMap<&'static str, Allowed>,
    usage: BTreeMap<&'static str, Usage>,
}

fn report(ctx: &Ctx, job: &Job) -> AwsResult<Report> {
    let target = target_of(ctx, &job.arn)?;
    ctx.state.trail.flush();
    let (entities, allowed, usage) = ctx.store.view(|tx| {
        let (grants, entities) = scope(tx, &target, &job.arn)?;
        let allowed = allowed_services(&grants);
        let mut usage: BTreeMap<&'static str, Usage> = BTreeMap::new();
        for e in &entities {
            let entity = e.arn.as_str();
            crate::trail::lookup::principal_activity(
                tx,
                entity,
                job.created_ms,
                &mut |t, source, name, region| {
                    let Some((&ns, _)) = allowed.get_key_value(namespace_of_source(source)) else {
                        return;
                    };
                    let u = usage.entry(ns).or_default();
                    later(&mut u.last, t, region, entity);
                    let seen = u.by_entity.entry(entity.to_owned()).or_insert(t);
                    *seen = (*seen).max(t);
                    match u.actions.get_mut(name) {
                        Some(slot) if slot.0 >= t => {}
                        Some(slot) => *slot = (t, region.to_owned(), entity.to_owned()),
                        None => {
                            u.actions
                                .insert(name.to_owned(), (t, region.to_owned(), entity.to_owned()));
                        }
                    }
                },
            )?;
        }
        Ok((entities, allowed, usage))
    })?;
    Ok(Report {
        entities,
        allowed,
        usage,
    })
}

fn ts_ms(ms: i64) -> Value {
    ts(ms.div_euclid(1000))
}

fn services_value(r: &Report, action_level: bool) -> Vec<Value> {
    let mut out: Vec<Value> = r
        .allowed
        .iter()
        .map(|(&ns, allowed)| {
            let mut m = Map::new();
            m.insert("ServiceName".into(), json!(service_name(ns).unwrap_or(ns)));
            m.insert("ServiceNamespace".into(), json!(ns));
            let u = r.usage.get(ns);
            if let Some((t, region, entity)) = u.and_then(|u| u.last.as_ref()) {
                m.insert("LastAuthenticated".into(), ts_ms(*t));
                m.insert("LastAuthenticatedEntity".into(), json!(entity));
                m.insert("LastAuthenticatedRegion".into(), json!(region));
            }
            m.insert(
                "TotalAuthenticatedEntities".into(),
                json!(u.map_or(0, |u| u.by_entity.len())),
            );
            if action_level && tracks_actions(ns) {
                let mut names: BTreeSet<String> = allowed.actions.clone();
                if let Some(u) = u {
                    names.extend(u.actions.keys().cloned());
                }
                let tracked: Vec<Value> = names
                    .iter()
                    .map(|a| {
                        let mut t = Map::new();
                        t.insert("ActionName".into(), json!(a));
                        if let Some((when, region, entity)) = u.and_then(|u| u.actions.get(a)) {
                            t.insert("LastAccessedEntity".into(), json!(entity));
                            t.insert("LastAccessedTime".into(), ts_ms(*when));
                            t.insert("LastAccessedRegion".into(), json!(region));
                        }
                        Value::Object(t)
                    })
                    .collect();
                m.insert("TrackedActionsLastAccessed".into(), Value::Array(tracked));
            }
            Value::Object(m)
        })
        .collect();
    // By name, as IAM lists them ("Amazon S3" before "AWS Identity and Access Management").
    out.sort_by_cached_key(|s| txt_lower(&s["ServiceName"]));
    out
}

fn txt_lower(v: &Value) -> String {
    v.as_str().unwrap_or("").to_ascii_lowercase()
}

fn parse_job_id(id: &str) -> AwsResult<()> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| AwsError::invalid_input(format!("Invalid JobId: {id}.")))
}

fn load(ctx: &Ctx, id: &str) -> AwsResult<Job> {
    parse_job_id(id)?;
    let job: Option<Job> = ctx
        .store
        .view(|tx| tx.get_json(Table::LastAccessedJobs, id))?;
    match job {
        Some(j) if j.owner == owner_of(ctx) => Ok(j),
        _ => Err(AwsError::no_such_entity(format!(
            "The request was rejected because it referenced a job that does not exist: {id}."
        ))),
    }
}

fn job_fields(job: &Job) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("JobStatus".into(), json!("COMPLETED"));
    m.insert("JobCreationDate".into(), ts(job.created));
    m.insert("JobCompletionDate".into(), ts(job.created));
    m
}

pub fn generate(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "Arn")?;
    ctx.authorize("iam:GenerateServiceLastAccessedDetails", arn)?;
    let target = target_of(ctx, arn)?;
    let granularity = opt(i, "Granularity").unwrap_or("SERVICE_LEVEL").to_owned();
    ctx.store
        .view(|tx| scope(tx, &target, arn).map(|_| ()).map_err(Into::into))?;
    let job = Job {
        id: uuid::Uuid::new_v4().to_string(),
        arn: arn.to_owned(),
        granularity,
        owner: owner_of(ctx),
        created: ctx.now,
        created_ms: crate::trail::now_ms(),
    };
    ctx.store
        .write(|tx| tx.put_json(Table::LastAccessedJobs, &job.id, &job))?;
    Ok(json!({ "JobId": job.id }))
}

pub fn get(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:GetServiceLastAccessedDetails", "*")?;
    let job = load(ctx, req(i, "JobId")?)?;
    let mut out = job_fields(&job);
    out.insert("JobType".into(), json!(job.granularity));
    let r = match report(ctx, &job) {
        Ok(r) => r,
        // The entity went away after the job was created: the job failed, and says why.
        Err(e) if e.code == "NoSuchEntity" => return Ok(failed(out, &e, "ServicesLastAccessed")),
        Err(e) => return Err(e),
    };
    let action_level = job.granularity == "ACTION_LEVEL";
    paginate_into(
        i,
        services_value(&r, action_level),
        "ServicesLastAccessed",
        out,
    )
}

/// A job whose entity no longer exists: `FAILED`, with the reason in `Error`, and no items.
fn failed(mut out: Map<String, Value>, e: &AwsError, key: &str) -> Value {
    out.insert("JobStatus".into(), json!("FAILED"));
    out.insert(key.into(), json!([]));
    out.insert("IsTruncated".into(), json!(false));
    out.insert(
        "Error".into(),
        json!({"Code": e.code, "Message": e.message}),
    );
    Value::Object(out)
}

pub fn get_with_entities(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:GetServiceLastAccessedDetailsWithEntities", "*")?;
    let job = load(ctx, req(i, "JobId")?)?;
    let ns = req(i, "ServiceNamespace")?;
    let r = match report(ctx, &job) {
        Ok(r) => r,
        Err(e) if e.code == "NoSuchEntity" => {
            return Ok(failed(job_fields(&job), &e, "EntityDetailsList"));
        }
        Err(e) => return Err(e),
    };
    if !r.allowed.contains_key(ns) {
        return Err(AwsError::invalid_input(format!(
            "The service namespace {ns} is not one the report's policies allow."
        )));
    }
    let usage = r.usage.get(ns);
    let mut rows: Vec<(Option<i64>, &Entity)> = r
        .entities
        .iter()
        .map(|e| (usage.and_then(|u| u.by_entity.get(&e.arn)).copied(), e))
        .collect();
    // The most recent first, then those that never attempted, by name.
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(t, e)| {
            let mut m = Map::new();
            m.insert(
                "EntityInfo".into(),
                json!({"Arn": e.arn, "Name": e.name, "Type": e.kind, "Id": e.id, "Path": e.path}),
            );
            if let Some(t) = t {
                m.insert("LastAuthenticated".into(), ts_ms(t));
            }
            Value::Object(m)
        })
        .collect();
    paginate_into(i, items, "EntityDetailsList", job_fields(&job))
}

pub fn list_policies_granting(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "Arn")?;
    ctx.authorize("iam:ListPoliciesGrantingServiceAccess", arn)?;
    let target = target_of(ctx, arn)?;
    if matches!(target, Target::Policy(_)) {
        return Err(AwsError::invalid_input(format!(
            "ARN {arn} is not the ARN of a user, group or role."
        )));
    }
    let namespaces = strings(&i["ServiceNamespaces"]);
    let (grants, _) = ctx
        .store
        .view(|tx| scope(tx, &target, arn).map_err(Into::into))?;
    let allowed = allowed_services(&grants);
    let entries: Vec<Value> = namespaces
        .iter()
        .map(|ns| {
            let policies: Vec<Value> = allowed
                .get(ns.as_str())
                .map(|a| {
                    a.policies
                        .iter()
                        .map(|p| grant_value(&grants[*p]))
                        .collect()
                })
                .unwrap_or_default();
            json!({"ServiceNamespace": ns, "Policies": policies})
        })
        .collect();
    paginate_into(i, entries, "PoliciesGrantingServiceAccess", Map::new())
}

fn grant_value(g: &Grant) -> Value {
    let mut m = Map::new();
    m.insert("PolicyName".into(), json!(g.name));
    match (&g.managed_arn, &g.holder) {
        (Some(a), _) => {
            m.insert("PolicyType".into(), json!("MANAGED"));
            m.insert("PolicyArn".into(), json!(a));
        }
        (None, Some((kind, name))) => {
            m.insert("PolicyType".into(), json!("INLINE"));
            m.insert("EntityType".into(), json!(kind));
            m.insert("EntityName".into(), json!(name));
        }
        (None, None) => {
            m.insert("PolicyType".into(), json!("INLINE"));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("ec*", "ecr"));
        assert!(glob("*", "iam"));
        assert!(glob("E?R", "ecr"));
        assert!(!glob("ec2", "ecr"));
        assert!(!glob("s3*x", "s3"));
    }

    #[test]
    fn allowed_services_read_actions_and_not_actions() {
        let g = |doc: &str| Grant {
            name: "p".into(),
            managed_arn: None,
            holder: None,
            document: doc.into(),
        };
        let a = allowed_services(&[g(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","iam:List*"],"Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
        )]);
        assert_eq!(a.keys().copied().collect::<Vec<_>>(), ["ecr", "iam"]);
        assert!(a["ecr"].actions.contains("GetAuthorizationToken"));
        assert!(a["iam"].actions.is_empty());
        let all = allowed_services(&[g(
            r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
        )]);
        assert!(!all.contains_key("iam") && all.contains_key("ecr"));
        assert_eq!(all.len(), SERVICES.len() - 1);
    }

    #[test]
    fn every_service_has_one_name() {
        let mut seen = BTreeSet::new();
        for (ns, name, _) in SERVICES {
            assert!(seen.insert(*ns), "{ns} twice");
            assert_eq!(service_name(ns), Some(*name));
        }
    }
}
