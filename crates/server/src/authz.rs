//! Authorisation through kagi-policy.
//!
//! [`PrincipalPolicies`](crate::state::cache::PrincipalPolicies) is everything that applies to a principal: for a user its inline and
//! attached policies plus those of its groups, for a role its inline and attached policies; and
//! the permissions boundary. They are compiled once per store generation and cached
//! ([`PolicyCache`]). Session policies (AssumeRole's and GetFederationToken's `Policy` /
//! `PolicyArns`) travel in the session and are compiled per session (cached by access key id).
//!
//! A federated user (GetFederationToken) is evaluated as kagi-policy's `FederatedUser` with the
//! federating user's policies (the root's: allow everything) narrowed by its session policies;
//! a federated session without session policies carries a deny-all one (AWS: no permissions).
//!
//! [`Ctx::authorize`] is what IAM/STS handlers call; [`decide`] is the general form (with a
//! resource or trust policy and extra context) that STS AssumeRole and the ECR host use.
//! The account root is allowed everything (kagi-policy implements that rule too).
//! [`may_call_iam`] is AWS's rule for temporary credentials and IAM: GetSessionToken's need MFA,
//! GetFederationToken's never may; console sessions may.

use crate::caller::{Caller, Principal};
use crate::entities::cached_entity;
use crate::error::{AwsError, AwsResult};
use crate::model::{Attachment, EntityKind, InlinePolicy, ManagedPolicy, Role, Session, User};
use crate::state::cache::{CompiledCache, PrincipalPolicies};
use crate::state::{AppState, Ctx};
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use kagi_policy::{
    CompiledPolicy, Context, ContextType, Evaluation, Policies, PolicyError, PolicyMeta,
    PolicyOrigin, PolicyType, PrincipalInfo, PrincipalType, RequestFacts, ResourcePolicyKind,
    SessionInfo,
};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// A kagi-policy error in AWS's shape (MalformedPolicyDocument 400, LimitExceeded 409, ...):
/// AWS's own sentence first, then the engine's precise diagnosis with its position, e.g.
/// `Syntax errors in policy. (line 3, column 9: comments are not allowed in JSON)`.
pub fn policy_error(e: PolicyError) -> AwsError {
    let message = if e.detail.is_empty() || e.detail == e.message {
        e.message.clone()
    } else {
        format!("{} ({})", e.message, e.human())
    };
    AwsError::new(e.code.http_status(), e.code.as_str(), message)
}

pub fn check_policy(doc: &str, ty: PolicyType) -> AwsResult<()> {
    kagi_policy::parse(doc, ty)
        .map(|_| ())
        .map_err(policy_error)
}

pub fn check_identity_policy(doc: &str) -> AwsResult<()> {
    check_policy(doc, PolicyType::Identity)
}

/// A stored identity policy, compiled once per distinct content ([`CompiledCache`]).
fn compile(doc: &str, meta: PolicyMeta) -> Option<Arc<CompiledPolicy>> {
    match CompiledCache::global().compile(doc, PolicyType::Identity, meta) {
        Ok(p) => Some(p),
        Err(e) => {
            // Stored documents were validated on the way in; a parser change may still reject
            // one. Skipping it can only deny more, never allow more.
            tracing::warn!(error = %e, "stored policy no longer parses; ignored");
            None
        }
    }
}

fn managed_meta(p: &ManagedPolicy) -> PolicyMeta {
    let origin = if p.arn.starts_with("arn:aws:iam::aws:") {
        PolicyOrigin::AwsManaged
    } else {
        PolicyOrigin::UserManaged
    };
    PolicyMeta {
        id: p.name.clone(),
        arn: Some(p.arn.clone()),
        origin,
    }
}

fn entity_policies(
    tx: &dyn Tx,
    kind: EntityKind,
    name: &str,
    out: &mut Vec<Arc<CompiledPolicy>>,
) -> anyhow::Result<()> {
    let prefix = crate::entities::entity_prefix(kind, name);
    let origin = match kind {
        EntityKind::User => PolicyOrigin::User,
        EntityKind::Group => PolicyOrigin::Group,
        EntityKind::Role => PolicyOrigin::Role,
    };
    for (_, ip) in tx.scan_json::<InlinePolicy>(Table::InlinePolicies, &prefix)? {
        out.extend(compile(
            &ip.document,
            PolicyMeta {
                id: ip.name.clone(),
                arn: None,
                origin,
            },
        ));
    }
    for (_, a) in tx.scan_json::<Attachment>(Table::Attachments, &prefix)? {
        if let Some(p) = tx.get_json::<ManagedPolicy>(Table::Policies, &a.policy_arn)? {
            out.extend(compile(p.default_document(), managed_meta(&p)));
        }
    }
    Ok(())
}

fn boundary_policy(tx: &dyn Tx, arn: Option<&str>) -> anyhow::Result<Option<Arc<CompiledPolicy>>> {
    let Some(arn) = arn else { return Ok(None) };
    Ok(match tx.get_json::<ManagedPolicy>(Table::Policies, arn)? {
        Some(p) => compile(p.default_document(), managed_meta(&p)),
        // A boundary that no longer exists allows nothing.
        None => Some(
            CompiledCache::global().compile(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"sts:GetCallerIdentity","Resource":"*"}]}"#,
                PolicyType::Identity,
                PolicyMeta { id: "missing-boundary".into(), arn: Some(arn.into()), origin: PolicyOrigin::None },
            )
            .expect("static policy"),
        ),
    })
}

/// Loads a user's or role's policies (uncached).
pub fn load_principal_policies(
    tx: &dyn Tx,
    kind: EntityKind,
    name: &str,
) -> anyhow::Result<Option<PrincipalPolicies>> {
    let mut pp = PrincipalPolicies::default();
    match kind {
        EntityKind::User => {
            let Some(u) = tx.get_json::<User>(Table::Users, &name_key(name))? else {
                return Ok(None);
            };
            entity_policies(tx, EntityKind::User, &u.name, &mut pp.identity)?;
            for g in crate::entities::groups_of(tx, &u.name)? {
                entity_policies(tx, EntityKind::Group, &g.name, &mut pp.identity)?;
            }
            pp.boundary = boundary_policy(tx, u.boundary.as_deref())?;
            pp.tags = u
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
        }
        EntityKind::Role => {
            let Some(r) = tx.get_json::<Role>(Table::Roles, &name_key(name))? else {
                return Ok(None);
            };
            entity_policies(tx, EntityKind::Role, &r.name, &mut pp.identity)?;
            pp.boundary = boundary_policy(tx, r.boundary.as_deref())?;
            pp.tags = r
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
        }
        EntityKind::Group => {
            entity_policies(tx, EntityKind::Group, name, &mut pp.identity)?;
        }
    }
    Ok(Some(pp))
}

/// Cached [`load_principal_policies`].
pub fn principal_policies(
    state: &AppState,
    account: &str,
    kind: EntityKind,
    name: &str,
) -> AwsResult<Arc<PrincipalPolicies>> {
    let key = format!("{account}\0{}\0{}", kind.as_str(), name_key(name));
    state
        .policies
        .principals
        .get_or_load(state.generation(), &key, || {
            Ok::<_, AwsError>(Arc::new(
                state
                    .store(account)
                    .view(|tx| load_principal_policies(tx, kind, name))?
                    .unwrap_or_default(),
            ))
        })
}

/// A role's trust policy, compiled (cached per store generation, and by content beneath).
pub fn trust_policy(state: &AppState, role: &Role) -> AwsResult<Arc<CompiledPolicy>> {
    let key = format!("{}\0{}", role.id, name_key(&role.name));
    state
        .policies
        .trust
        .get_or_load(state.generation(), &key, || {
            CompiledCache::global()
                .compile(
                    &role.trust_policy,
                    PolicyType::Trust,
                    PolicyMeta {
                        id: format!("{}-trust", role.name),
                        arn: None,
                        origin: PolicyOrigin::Resource,
                    },
                )
                .map_err(policy_error)
        })
}

fn session_policies(state: &AppState, key_id: &str, s: &Session) -> Arc<Vec<Arc<CompiledPolicy>>> {
    if let Some(p) = state.policies.sessions.read().get(key_id) {
        return p.clone();
    }
    let compiled: Vec<Arc<CompiledPolicy>> = s
        .session_policies
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            compile(
                d,
                PolicyMeta {
                    id: format!("SessionPolicy.{}", i + 1),
                    arn: None,
                    origin: PolicyOrigin::None,
                },
            )
        })
        .collect();
    let mut compiled = compiled;
    if s.has_session_policy && compiled.is_empty() {
        // Session policies were passed but none survives: nothing is allowed.
        compiled.extend(compile(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#, PolicyMeta::named("SessionPolicy")));
    }
    let arc = Arc::new(compiled);
    let mut w = state.policies.sessions.write();
    if w.len() > 50_000 {
        w.clear();
    }
    w.insert(key_id.to_owned(), arc.clone());
    arc
}

/// The kagi-policy view of a caller, with the policies that apply to it.
pub struct Subject {
    pub info: PrincipalInfo,
    pub policies: Arc<PrincipalPolicies>,
    pub session: Arc<Vec<Arc<CompiledPolicy>>>,
    pub mfa: bool,
}

pub fn subject(state: &AppState, caller: &Caller) -> AwsResult<Subject> {
    let account = caller.account_id.clone();
    let arn = caller.arn();
    let unique_id = caller.user_id();
    let issued = caller
        .session
        .as_ref()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s.issued.max(0) as u64));
    let mfa = caller.mfa_present();
    let empty = || Arc::new(Vec::new());
    Ok(match &caller.principal {
        Principal::Root => Subject {
            info: PrincipalInfo {
                account,
                arn,
                kind: PrincipalType::Root,
                unique_id,
                user_name: None,
                tags: Vec::new(),
                session: None,
                has_permissions_boundary: false,
            },
            policies: Arc::new(PrincipalPolicies::default()),
            session: empty(),
            mfa,
        },
        Principal::User { name, .. } => {
            let pp = principal_policies(state, &caller.account_id, EntityKind::User, name)?;
            let session = match &caller.session {
                Some(s) => session_policies(state, &caller.access_key_id, s),
                None => empty(),
            };
            Subject {
                info: PrincipalInfo {
                    account,
                    arn,
                    kind: PrincipalType::User,
                    unique_id,
                    user_name: Some(name.clone()),
                    tags: pp.tags.clone(),
                    session: None,
                    has_permissions_boundary: pp.boundary.is_some(),
                },
                policies: pp,
                session,
                mfa,
            }
        }
        Principal::Role {
            name,
            id,
            path,
            session_name,
        } => {
            let pp = principal_policies(state, &caller.account_id, EntityKind::Role, name)?;
            let mut tags = pp.tags.clone();
            if let Some(s) = &caller.session {
                for t in &s.tags {
                    tags.retain(|(k, _)| !k.eq_ignore_ascii_case(&t.key));
                    tags.push((t.key.clone(), t.value.clone()));
                }
            }
            let session = match &caller.session {
                Some(s) => session_policies(state, &caller.access_key_id, s),
                None => empty(),
            };
            Subject {
                info: PrincipalInfo {
                    account: account.clone(),
                    arn,
                    kind: PrincipalType::AssumedRole,
                    unique_id,
                    user_name: None,
                    tags,
                    session: Some(SessionInfo {
                        role_arn: crate::ids::iam_arn(&account, "role", path, name),
                        role_id: id.clone(),
                        session_name: session_name.clone(),
                        issued_at: issued,
                        mfa,
                    }),
                    has_permissions_boundary: pp.boundary.is_some(),
                },
                policies: pp,
                session,
                mfa,
            }
        }
        Principal::Federated { user, .. } => {
            // The federating user's policies (the root's: everything), narrowed by the
            // session policies; a session without any has no permissions (GetFederationToken
            // records `has_session_policy` for every session).
            let pp = match user {
                Some(u) => principal_policies(state, &caller.account_id, EntityKind::User, u)?,
                None => root_everything(),
            };
            let mut tags = pp.tags.clone();
            if let Some(s) = &caller.session {
                for t in &s.tags {
                    tags.retain(|(k, _)| !k.eq_ignore_ascii_case(&t.key));
                    tags.push((t.key.clone(), t.value.clone()));
                }
            }
            let session = match &caller.session {
                Some(s) => session_policies(state, &caller.access_key_id, s),
                None => empty(),
            };
            Subject {
                info: PrincipalInfo {
                    account,
                    arn,
                    kind: PrincipalType::FederatedUser,
                    unique_id,
                    user_name: None,
                    tags,
                    session: None,
                    has_permissions_boundary: pp.boundary.is_some(),
                },
                policies: pp,
                session,
                mfa,
            }
        }
    })
}

/// What the account root's identity allows, as a policy set: everything (for sessions the
/// root federates, which are evaluated as ordinary principals narrowed by session policies).
fn root_everything() -> Arc<PrincipalPolicies> {
    static ALL: std::sync::OnceLock<Arc<PrincipalPolicies>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        Arc::new(PrincipalPolicies {
            identity: vec![Arc::new(
                CompiledPolicy::from_text(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                    PolicyType::Identity,
                    PolicyMeta::named("AccountRoot"),
                )
                .expect("static policy"),
            )],
            boundary: None,
            tags: Vec::new(),
        })
    })
    .clone()
}

/// Request facts → the global context, plus MFA for non-role temporary credentials.
pub fn context_for(
    subject: &Subject,
    caller: &Caller,
    now: i64,
    source_ip: Option<std::net::IpAddr>,
    region: Option<&str>,
) -> Context {
    let facts = RequestFacts {
        now: UNIX_EPOCH + Duration::from_secs(now.max(0) as u64),
        source_ip,
        secure_transport: false,
        requested_region: region.map(str::to_owned),
    };
    let mut c = kagi_policy::global_context(&subject.info, &facts);
    if let Some(s) = &caller.session
        && subject.info.session.is_none()
    {
        c.set(
            "aws:MultiFactorAuthPresent",
            ContextType::Boolean,
            s.mfa.to_string(),
        );
        c.set(
            "aws:TokenIssueTime",
            ContextType::Date,
            crate::ids::iso8601(s.issued),
        );
    }
    c
}

/// The control policies of an organization view, level by level, as kagi-policy takes them.
pub fn levels(policies: &[Vec<CompiledPolicy>]) -> Vec<Vec<&CompiledPolicy>> {
    policies.iter().map(|l| l.iter().collect()).collect()
}

/// Organizations' policies that apply to one request: the SCPs of the principal's account and
/// the RCPs of the resource's account, level by level (`None`: they do not apply).
#[derive(Default, Clone, Copy)]
pub struct OrgPolicies<'p> {
    pub scp: Option<&'p [&'p [&'p CompiledPolicy]]>,
    pub rcp: Option<&'p [&'p [&'p CompiledPolicy]]>,
}

/// Evaluates `action` on `resource` for `subject` with an optional resource/trust policy.
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'p>(
    subject: &'p Subject,
    context: &Context,
    action: &str,
    resource: &'p str,
    resource_policy: Option<(&'p CompiledPolicy, ResourcePolicyKind)>,
    identity: &'p [&'p CompiledPolicy],
    session: &'p [&'p CompiledPolicy],
    org: OrgPolicies<'p>,
) -> Evaluation<'p> {
    let policies = Policies {
        scp: org.scp,
        rcp: org.rcp,
        identity,
        resource: resource_policy.map(|(p, _)| p),
        resource_kind: resource_policy.map(|(_, k)| k).unwrap_or_default(),
        // A resource of another account (a role to assume, a repository): its policy and
        // the caller's own policies must then both allow.
        resource_owner: arn_account(resource),
        permissions_boundary: subject.policies.boundary.as_deref(),
        session,
    };
    kagi_policy::evaluate(
        &kagi_policy::Request {
            principal: &subject.info,
            action,
            resource,
            context,
        },
        &policies,
    )
}

/// The account an ARN names (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`), when it is an
/// account id (not `aws`, as AWS managed policies have, nor empty, as S3's ARNs have).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    crate::ids::is_account_id(account).then_some(account)
}

/// `aws:RequestTag/K` and `aws:TagKeys` entries for tags in a request.
pub fn request_tag_context(tags: &[crate::model::Tag]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in tags {
        out.push((format!("aws:RequestTag/{}", t.key), t.value.clone()));
        out.push(("aws:TagKeys".to_owned(), t.key.clone()));
    }
    out
}

/// `aws:ResourceTag/K` (and `iam:ResourceTag/K`) for an IAM user or role ARN of this account.
pub fn resource_tag_context(state: &AppState, resource: &str) -> AwsResult<Vec<(String, String)>> {
    let Some(rest) = resource.strip_prefix("arn:aws:iam::") else {
        return Ok(Vec::new());
    };
    let Some((account, rest)) = rest.split_once(':') else {
        return Ok(Vec::new());
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Vec::new());
    }
    let name = rest.rsplit('/').next().unwrap_or("");
    let tags: Vec<crate::model::Tag> = if rest.starts_with("user/") {
        match cached_entity::<User>(state, account, Table::Users, name)? {
            Some(u) if u.arn == resource => u.tags,
            _ => Vec::new(),
        }
    } else if rest.starts_with("role/") {
        match cached_entity::<Role>(state, account, Table::Roles, name)? {
            Some(r) if r.arn == resource => r.tags,
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for t in tags {
        out.push((format!("aws:ResourceTag/{}", t.key), t.value.clone()));
        out.push((format!("iam:ResourceTag/{}", t.key), t.value));
    }
    Ok(out)
}

/// Borrows owned context entries as string-typed `extra` entries for [`decide`].
pub fn as_extra(v: &[(String, String)]) -> Vec<(&str, ContextType, String)> {
    v.iter()
        .map(|(k, val)| (k.as_str(), ContextType::String, val.clone()))
        .collect()
}

/// Decides one request; `Err` carries AWS's AccessDenied message.
pub fn decide(
    state: &AppState,
    caller: &Caller,
    action: &str,
    resource: &str,
    resource_policy: Option<(&CompiledPolicy, ResourcePolicyKind)>,
    extra: &[(&str, ContextType, String)],
    facts: (i64, Option<std::net::IpAddr>, Option<&str>),
) -> AwsResult<Result<(), String>> {
    let subject = subject(state, caller)?;
    let mut context = context_for(&subject, caller, facts.0, facts.1, facts.2);
    let mut resource_org = None;
    if let Some(a) = arn_account(resource) {
        context.set_string("aws:ResourceAccount", a);
        resource_org = crate::organization::view(state, a)?;
        if let Some(v) = &resource_org {
            context.set_string("aws:ResourceOrgID", v.org_id.clone());
        }
    }
    let org = crate::organization::view(state, &caller.account_id)?;
    if let Some(v) = &org {
        context.set_string("aws:PrincipalOrgID", v.org_id.clone());
        context.set_list(
            "aws:PrincipalOrgPaths",
            ContextType::String,
            vec![v.path.clone()],
        );
    }
    let mut tag_keys = Vec::new();
    for (k, ty, v) in extra {
        if *k == "aws:TagKeys" {
            tag_keys.push(v.clone());
        } else {
            context.set(k, *ty, v.clone());
        }
    }
    if !tag_keys.is_empty() {
        context.set_list("aws:TagKeys", ContextType::String, tag_keys);
    }
    let identity: Vec<&CompiledPolicy> = subject.policies.identity.iter().map(|p| &**p).collect();
    let session: Vec<&CompiledPolicy> = subject.session.iter().map(|p| &**p).collect();
    // SCPs: the principal's account's (the view leaves them out for the management account);
    // service-linked roles are exempt. RCPs: the resource's account's, for the services AWS
    // applies them to.
    let scp_refs = org
        .as_ref()
        .filter(|_| !is_service_linked(caller))
        .and_then(|v| v.scp.as_deref())
        .map(levels);
    let scp_levels: Option<Vec<&[&CompiledPolicy]>> = scp_refs
        .as_ref()
        .map(|l| l.iter().map(Vec::as_slice).collect());
    let service = action.split(':').next().unwrap_or("");
    let rcp_refs = resource_org
        .as_ref()
        .filter(|_| kagi_policy::organizations::rcp_supports_service(service))
        .and_then(|v| v.rcp.as_deref())
        .map(levels);
    let rcp_levels: Option<Vec<&[&CompiledPolicy]>> = rcp_refs
        .as_ref()
        .map(|l| l.iter().map(Vec::as_slice).collect());
    let ev = evaluate(
        &subject,
        &context,
        action,
        resource,
        resource_policy,
        &identity,
        &session,
        OrgPolicies {
            scp: scp_levels.as_deref(),
            rcp: rcp_levels.as_deref(),
        },
    );
    if crate::trail::notes::active() {
        crate::trail::notes::push(crate::trail::notes::explained(&ev, action, resource));
    }
    if ev.is_allowed() {
        return Ok(Ok(()));
    }
    let msg = ev
        .access_denied_message(&subject.info.arn, action, resource)
        .unwrap_or_else(|| {
            format!(
                "User: {} is not authorized to perform: {action} on resource: {resource}",
                subject.info.arn
            )
        });
    tracing::debug!(caller = %subject.info.arn, action, resource, why = %ev.explain(), "denied");
    Ok(Err(msg))
}

/// A service-linked role (path `/aws-service-role/`): SCPs do not apply to it.
fn is_service_linked(caller: &Caller) -> bool {
    matches!(&caller.principal, Principal::Role { path, .. } if path.starts_with("/aws-service-role/"))
}

/// Whether `caller`'s credentials may call IAM at all: credentials from GetSessionToken without
/// MFA may not (AWS documents this), nor may GetFederationToken's, MFA or not; console sessions
/// may (as the AWS console's can). AWS refuses such credentials like an invalid token.
pub fn may_call_iam(caller: &Caller) -> AwsResult<()> {
    if let (p @ (Principal::User { .. } | Principal::Root | Principal::Federated { .. }), Some(s)) =
        (&caller.principal, &caller.session)
        && (!s.mfa || matches!(p, Principal::Federated { .. }))
        && !s.console
    {
        return Err(AwsError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
        ));
    }
    Ok(())
}

impl Ctx<'_> {
    /// Authorises an IAM/STS call on `resource`; AccessDenied (403) in AWS's wording otherwise.
    pub fn authorize(&self, action: &str, resource: &str) -> AwsResult<()> {
        self.authorize_with(action, resource, &[])
    }

    /// [`Ctx::authorize`] with request context keys (`iam:PolicyARN`, `iam:PermissionsBoundary`,
    /// `aws:RequestTag/…`, `aws:TagKeys` (one entry per key; they form one list)).
    pub fn authorize_with(
        &self,
        action: &str,
        resource: &str,
        extra: &[(&str, ContextType, String)],
    ) -> AwsResult<()> {
        // The root's long-term key and the root's console session may do everything, except
        // what the SCPs of its organization (a member account's) deny.
        if self.caller.is_root()
            && self.caller.session.as_ref().is_none_or(|s| s.console)
            && crate::organization::view(self.state, self.account())?
                .is_none_or(|v| v.scp.is_none())
        {
            return Ok(());
        }
        if action.starts_with("iam:") {
            may_call_iam(self.caller)?;
        }
        let resource_tags = resource_tag_context(self.state, resource)?;
        let mut all: Vec<(&str, ContextType, String)> = extra.to_vec();
        all.extend(as_extra(&resource_tags));
        match decide(
            self.state,
            self.caller,
            action,
            resource,
            None,
            &all,
            (self.now, Some(self.source_ip), Some(&self.region)),
        )? {
            Ok(()) => Ok(()),
            Err(msg) => Err(AwsError::access_denied(msg)),
        }
    }
}
