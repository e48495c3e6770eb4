//! Compiled policies and the evaluation of one request.
//!
//! The decision follows AWS's documented same-account logic
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>):
//!
//! 1. an explicit `Deny` in any applicable policy (RCP, SCP, identity, resource/trust,
//!    boundary, session) is final;
//! 2. when resource control policies apply ([`Policies::rcp`]), every level (root, each OU,
//!    the resource's account) must have an RCP statement that allows; then, when service
//!    control policies apply ([`Policies::scp`]), every level of the principal's account must
//!    have an SCP statement that allows
//!    (<https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html>).
//!    Neither ever grants anything: they only cap. They apply to the root user of a member
//!    account too ("SCPs affect all users and roles in attached accounts, including the root
//!    user"); exemptions (management account, service-linked roles, unsupported services) are
//!    the caller's to decide: it passes `None`;
//! 3. a role trust policy must allow (it is required, not just sufficient);
//! 4. a resource-based policy that names the caller itself (user ARN, session ARN, or `*`)
//!    allows on its own; one that names the role of a session is still limited by the
//!    permissions boundary and session policies; one that names the account delegates to the
//!    identity policies;
//! 5. otherwise an identity policy must allow, and the permissions boundary (if any) and the
//!    session policies (if any) must allow too;
//! 6. the account root user is allowed everything not explicitly denied by a resource policy.
//!
//! Cross-account requests (resource owner ≠ principal account) need both an identity allow and
//! a resource-policy allow.
//!
//! Policies are compiled once ([`CompiledPolicy`]): patterns become [`Template`]s and
//! statements are indexed by action (exact name, service prefix, or "could match anything"), so
//! a decision only looks at statements that can concern the requested action.

use crate::ast::{Effect, Policy, PolicyType, Principal, PrincipalKind, Version};
use crate::condition::CCondition;
use crate::context::{Context, PrincipalInfo, PrincipalType};
use crate::error::PolicyError;
use crate::json::Span;
use crate::pattern::{ArnPattern, Template};

/// Where a policy comes from, as IAM's simulator reports it (`SourcePolicyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyOrigin {
    User,
    Group,
    Role,
    AwsManaged,
    UserManaged,
    Resource,
    None,
}

impl PolicyOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOrigin::User => "user",
            PolicyOrigin::Group => "group",
            PolicyOrigin::Role => "role",
            PolicyOrigin::AwsManaged => "aws-managed",
            PolicyOrigin::UserManaged => "user-managed",
            PolicyOrigin::Resource => "resource",
            PolicyOrigin::None => "none",
        }
    }
}

/// The role a policy plays in one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyRole {
    Identity,
    Resource,
    PermissionsBoundary,
    Session,
    /// An AWS Organizations service control policy of the principal's account.
    ServiceControl,
    /// An AWS Organizations resource control policy of the resource's account.
    ResourceControl,
}

impl PolicyRole {
    /// The kind's name (`Identity`, `PermissionsBoundary`, `ServiceControl`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyRole::Identity => "Identity",
            PolicyRole::Resource => "Resource",
            PolicyRole::PermissionsBoundary => "PermissionsBoundary",
            PolicyRole::Session => "Session",
            PolicyRole::ServiceControl => "ServiceControl",
            PolicyRole::ResourceControl => "ResourceControl",
        }
    }

    /// How AWS's AccessDenied message names this kind of policy.
    pub fn denial_phrase(self) -> &'static str {
        match self {
            PolicyRole::Identity => "an identity-based policy",
            PolicyRole::Resource => "a resource-based policy",
            PolicyRole::PermissionsBoundary => "a permissions boundary",
            PolicyRole::Session => "a session policy",
            PolicyRole::ServiceControl => "a service control policy",
            PolicyRole::ResourceControl => "a resource control policy",
        }
    }
}

/// Identification of a compiled policy, for explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyMeta {
    /// The policy's name, or the simulator's id (`PolicyInputList.1`).
    pub id: String,
    /// A managed policy's ARN (AWS appends it to explicit-deny messages).
    pub arn: Option<String>,
    pub origin: PolicyOrigin,
}

impl PolicyMeta {
    pub fn named(id: impl Into<String>) -> Self {
        PolicyMeta {
            id: id.into(),
            arn: None,
            origin: PolicyOrigin::None,
        }
    }
}

use crate::fxhash::FxMap;

#[derive(Clone, Debug)]
struct CPrincipal {
    negated: bool,
    wildcard: bool,
    /// `(kind, value)` pairs.
    values: Vec<(PrincipalKind, Box<str>)>,
}

#[derive(Clone, Debug)]
struct CStatement {
    effect: Effect,
    action_negated: bool,
    actions: Vec<Template>,
    /// `None`: no Resource element (resource and trust policies): the attached resource.
    resources: Option<(bool, Vec<ArnPattern>)>,
    principal: Option<CPrincipal>,
    conditions: Vec<CCondition>,
}

#[derive(Clone, Debug, Default)]
struct ActionIndex {
    exact: FxMap<Box<str>, Vec<u32>>,
    by_service: FxMap<Box<str>, Vec<u32>>,
    any: Vec<u32>,
}

fn push_unique(v: &mut Vec<u32>, i: u32) {
    if v.last() != Some(&i) {
        v.push(i);
    }
}

/// A policy ready for evaluation. Keeps the parsed [`Policy`] for explanations.
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    pub meta: PolicyMeta,
    pub policy: Policy,
    statements: Vec<CStatement>,
    index: ActionIndex,
}

impl CompiledPolicy {
    /// Parses and compiles a document.
    pub fn from_text(
        text: &str,
        policy_type: PolicyType,
        meta: PolicyMeta,
    ) -> Result<Self, PolicyError> {
        Ok(Self::compile(crate::parse::parse(text, policy_type)?, meta))
    }

    pub fn compile(policy: Policy, meta: PolicyMeta) -> Self {
        let vars = policy.version == Version::V2012_10_17;
        let mut index = ActionIndex::default();
        let mut statements = Vec::with_capacity(policy.statements.len());
        for (i, s) in policy.statements.iter().enumerate() {
            let i = i as u32;
            let (action_negated, actions) = match &s.action {
                Some(a) => (
                    a.negated,
                    a.values
                        .iter()
                        .map(|v| Template::compile(&v.value, true, false, true))
                        .collect::<Vec<_>>(),
                ),
                None => (false, Vec::new()),
            };
            if action_negated {
                push_unique(&mut index.any, i);
            } else {
                for (t, v) in actions.iter().zip(s.action.iter().flat_map(|a| &a.values)) {
                    if let Some(l) = t.as_literal() {
                        push_unique(index.exact.entry(l.into()).or_default(), i);
                    } else {
                        let lower = v.value.to_lowercase();
                        match lower.split_once(':') {
                            Some((svc, _)) if !svc.contains(['*', '?']) => {
                                push_unique(index.by_service.entry(svc.into()).or_default(), i)
                            }
                            _ => push_unique(&mut index.any, i),
                        }
                    }
                }
            }
            let resources = s.resource.as_ref().map(|r| {
                (
                    r.negated,
                    r.values
                        .iter()
                        .map(|v| ArnPattern::compile(&v.value, vars))
                        .collect(),
                )
            });
            let principal = s.principal.as_ref().map(|p| match &p.principal {
                Principal::Wildcard => CPrincipal {
                    negated: p.negated,
                    wildcard: true,
                    values: Vec::new(),
                },
                Principal::Map(entries) => {
                    let values: Vec<(PrincipalKind, Box<str>)> = entries
                        .iter()
                        .flat_map(|e| {
                            e.values
                                .iter()
                                .map(move |v| (e.kind, v.value.as_str().into()))
                        })
                        .collect();
                    CPrincipal {
                        negated: p.negated,
                        wildcard: values
                            .iter()
                            .any(|(k, v)| *k == PrincipalKind::Aws && &**v == "*"),
                        values,
                    }
                }
            });
            let conditions = s
                .condition
                .iter()
                .flat_map(|c| &c.blocks)
                .flat_map(|b| {
                    b.entries.iter().map(move |e| {
                        let values: Vec<String> =
                            e.values.iter().map(|v| v.value.clone()).collect();
                        CCondition::compile(b.operator, &e.key.value, &values, vars)
                    })
                })
                .collect();
            statements.push(CStatement {
                effect: s.effect.value,
                action_negated,
                actions,
                resources,
                principal,
                conditions,
            });
        }
        CompiledPolicy {
            meta,
            policy,
            statements,
            index,
        }
    }

    /// Visits, in order, the statements whose Action could match `action_lc` (service `svc`).
    #[inline]
    fn candidates(&self, action_lc: &str, svc: &str, mut f: impl FnMut(usize)) {
        const EMPTY: &[u32] = &[];
        let a = self.index.exact.get(action_lc).map_or(EMPTY, Vec::as_slice);
        let b = self.index.by_service.get(svc).map_or(EMPTY, Vec::as_slice);
        let c = self.index.any.as_slice();
        let (mut i, mut j, mut k) = (0, 0, 0);
        loop {
            let next = [a.get(i), b.get(j), c.get(k)]
                .into_iter()
                .flatten()
                .min()
                .copied();
            let Some(n) = next else { break };
            if a.get(i) == Some(&n) {
                i += 1;
            }
            if b.get(j) == Some(&n) {
                j += 1;
            }
            if c.get(k) == Some(&n) {
                k += 1;
            }
            f(n as usize);
        }
    }
}

/// How strongly a resource-policy statement names the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalMatch {
    /// The account (`ACCT` or `arn:aws:iam::ACCT:root`): delegates to identity policies.
    Account,
    /// The role of a role session: allowed, still limited by boundary and session policies.
    Role,
    /// The caller itself (user ARN, session ARN, unique id) or `*`.
    Direct,
}

/// The principal's identifiers, computed once per request.
struct Ids<'a> {
    p: &'a PrincipalInfo,
}

/// Whether `v` is `arn:PARTITION:iam::ACCOUNT:root` for this account.
fn is_root_arn_of(v: &str, account: &str) -> bool {
    v.strip_suffix(":root")
        .and_then(|r| r.strip_suffix(account))
        .and_then(|r| r.strip_prefix("arn:"))
        .and_then(|r| r.strip_suffix(":iam::"))
        .is_some_and(|partition| !partition.is_empty() && !partition.contains(':'))
}

impl Ids<'_> {
    fn classify(&self, kind: PrincipalKind, v: &str) -> Option<PrincipalMatch> {
        let p = self.p;
        if kind != PrincipalKind::Aws {
            return (v == p.arn).then_some(PrincipalMatch::Direct);
        }
        if v == "*" || v == p.arn || (!p.unique_id.is_empty() && v == p.unique_id) {
            return Some(PrincipalMatch::Direct);
        }
        if let Some(s) = &p.session
            && (v == s.role_arn || (!s.role_id.is_empty() && v == s.role_id))
        {
            return Some(PrincipalMatch::Role);
        }
        if v == p.account || is_root_arn_of(v, &p.account) {
            return Some(PrincipalMatch::Account);
        }
        None
    }

    /// Principal element match: `Some(strength)` when the statement applies to the caller.
    fn principal_applies(&self, pr: &CPrincipal, effect: Effect) -> Option<PrincipalMatch> {
        if !pr.negated {
            if pr.wildcard {
                return Some(PrincipalMatch::Direct);
            }
            return pr
                .values
                .iter()
                .filter_map(|(k, v)| self.classify(*k, v))
                .max();
        }
        // NotPrincipal.
        let listed = |m: PrincipalMatch| {
            pr.wildcard
                || pr
                    .values
                    .iter()
                    .any(|(k, v)| self.classify(*k, v) == Some(m))
        };
        let applies = match effect {
            Effect::Deny => {
                self.p.has_permissions_boundary
                    || !listed(PrincipalMatch::Direct)
                    || (self.p.session.is_some() && !listed(PrincipalMatch::Role))
                    || !listed(PrincipalMatch::Account)
            }
            Effect::Allow => !listed(PrincipalMatch::Direct),
        };
        applies.then_some(PrincipalMatch::Direct)
    }
}

/// A request to authorise.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub principal: &'a PrincipalInfo,
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a Context,
}

/// What kind of resource-based policy accompanies the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ResourcePolicyKind {
    /// A role's trust policy (for `sts:AssumeRole*`): it must allow.
    Trust,
    /// Any other resource-based policy (an ECR repository policy): it may allow.
    #[default]
    Resource,
}

/// All the policies that apply to one request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policies<'a> {
    /// User inline + managed + group policies, or role inline + managed policies.
    pub identity: &'a [&'a CompiledPolicy],
    pub resource: Option<&'a CompiledPolicy>,
    pub resource_kind: ResourcePolicyKind,
    /// The account that owns the resource; `None` = the principal's account.
    pub resource_owner: Option<&'a str>,
    pub permissions_boundary: Option<&'a CompiledPolicy>,
    /// Session policies (empty = the session has none, so no restriction).
    pub session: &'a [&'a CompiledPolicy],
    /// The service control policies (SCPs) that apply to the *principal's* account, one slice
    /// per level of its path in the organization: the root, each OU from the root down, the
    /// account itself. An explicit `Deny` at any level denies; every level needs an `Allow`
    /// that matches (a level with no policy allows nothing); SCPs never grant.
    ///
    /// `None`: SCPs do not apply: the account is in no organization, or the SCP policy type is
    /// not enabled, or the principal belongs to the management account, or it is a
    /// service-linked role. The caller knows these facts; the engine does not guess them.
    /// `Some(&[])` (no level) restricts nothing.
    pub scp: Option<&'a [&'a [&'a CompiledPolicy]]>,
    /// The resource control policies (RCPs) that apply to the *resource's* account, same
    /// shape and rules as [`Policies::scp`]. They apply whoever calls (principals of other
    /// accounts and the root user included).
    ///
    /// `None`: RCPs do not apply: the resource belongs to the management account or to no
    /// organization, the RCP policy type is not enabled, or the action's service does not
    /// support RCPs ([`crate::organizations::rcp_supports_service`]).
    pub rcp: Option<&'a [&'a [&'a CompiledPolicy]]>,
}

/// The final decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl Decision {
    /// The simulator's spelling: `allowed`, `explicitDeny`, `implicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// Why the decision came out as it did.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Allowed by an identity policy (within boundary and session policies).
    AllowedByIdentity,
    /// Allowed by a resource-based policy that names the caller.
    AllowedByResource(PrincipalMatch),
    /// The account root user.
    RootUser,
    ExplicitDeny {
        role: PolicyRole,
        policy_arn: Option<String>,
    },
    NoIdentityAllow,
    NoBoundaryAllow,
    NoSessionAllow,
    /// Cross-account, and the resource policy does not allow.
    NoResourceAllow,
    /// The role's trust policy does not allow the caller.
    TrustPolicyDoesNotAllow,
    /// No service control policy at this level (0 = the root; the last = the account) of the
    /// principal's organization path allows the request.
    NoServiceControlAllow {
        level: usize,
    },
    /// No resource control policy at this level of the resource account's organization path
    /// allows the request.
    NoResourceControlAllow {
        level: usize,
    },
}

/// A statement that matched the request.
#[derive(Clone, Copy, Debug)]
pub struct MatchedStatement<'p> {
    pub role: PolicyRole,
    pub policy: &'p CompiledPolicy,
    pub statement: usize,
    pub effect: Effect,
    /// For SCP and RCP statements, the level (0 = the organization root) the policy is
    /// attached at; `None` for other policies.
    pub level: Option<u16>,
}

impl MatchedStatement<'_> {
    pub fn sid(&self) -> Option<&str> {
        self.policy.policy.statements[self.statement]
            .sid
            .as_ref()
            .map(|s| s.value.as_str())
    }

    pub fn span(&self) -> Span {
        self.policy.policy.statements[self.statement].span
    }

    /// `Sid` when present, else `#index` (1-based), for messages.
    pub fn label(&self) -> String {
        self.sid()
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", self.statement + 1))
    }
}

/// The decision with its explanation.
#[derive(Clone, Debug)]
pub struct Evaluation<'p> {
    pub decision: Decision,
    pub reason: Reason,
    /// Every statement that applied (Allow and Deny), in evaluation order.
    pub matched: Vec<MatchedStatement<'p>>,
    /// Context keys that conditions (or variables) of otherwise-matching statements needed but
    /// the request did not have.
    pub missing_context_keys: Vec<String>,
    pub identity_allows: bool,
    pub boundary_allows: Option<bool>,
    pub session_allows: Option<bool>,
    /// Strongest principal match of an allowing resource-policy statement.
    pub resource_allows: Option<PrincipalMatch>,
    /// The request was checked against a role trust policy (`sts:AssumeRole`): AWS's implicit
    /// denial message then has no "because" clause.
    pub trust: bool,
    /// Whether the service control policies allow (no SCP denies and every level allows);
    /// `None` when SCPs do not apply ([`Policies::scp`] is `None`).
    pub scp_allows: Option<bool>,
    /// Whether the resource control policies allow; `None` when RCPs do not apply.
    pub rcp_allows: Option<bool>,
}

#[derive(Default)]
struct SetOutcome {
    allow: bool,
    deny: bool,
    first_deny_arn: Option<String>,
    strength: Option<PrincipalMatch>,
}

struct Prepared<'r> {
    req: &'r Request<'r>,
    action_lc: &'r str,
    svc_len: usize,
    ids: Ids<'r>,
}

/// The outcome of the SCPs or RCPs (all levels).
#[derive(Default)]
struct OrgOutcome {
    deny: bool,
    first_deny_arn: Option<String>,
    /// The first level with no matching Allow.
    no_allow_level: Option<usize>,
}

impl<'r> Prepared<'r> {
    /// Evaluates SCPs or RCPs level by level: one [`SetOutcome`] per level on the stack, no
    /// allocation beyond the matched statements.
    fn eval_levels<'p>(
        &self,
        levels: &[&[&'p CompiledPolicy]],
        role: PolicyRole,
        matched: &mut Vec<MatchedStatement<'p>>,
        missing: &mut Vec<String>,
    ) -> OrgOutcome {
        let mut out = OrgOutcome::default();
        for (n, level) in levels.iter().enumerate() {
            let mut o = SetOutcome::default();
            let first = matched.len();
            for p in level.iter() {
                self.eval_policy(p, role, &mut o, matched, missing);
            }
            let tag = u16::try_from(n).unwrap_or(u16::MAX);
            for m in &mut matched[first..] {
                m.level = Some(tag);
            }
            if o.deny && !out.deny {
                out.deny = true;
                out.first_deny_arn = o.first_deny_arn;
            }
            if !o.allow && out.no_allow_level.is_none() {
                out.no_allow_level = Some(n);
            }
        }
        out
    }

    fn eval_policy<'p>(
        &self,
        p: &'p CompiledPolicy,
        role: PolicyRole,
        out: &mut SetOutcome,
        matched: &mut Vec<MatchedStatement<'p>>,
        missing: &mut Vec<String>,
    ) {
        let svc = &self.action_lc[..self.svc_len];
        p.candidates(self.action_lc, svc, |i| {
            let st = &p.statements[i];
            let mut strength = PrincipalMatch::Direct;
            if role == PolicyRole::Resource || role == PolicyRole::ResourceControl {
                let Some(pr) = &st.principal else { return };
                match self.ids.principal_applies(pr, st.effect) {
                    Some(s) => strength = s,
                    None => return,
                }
            }
            let action_hit = st.actions.iter().any(|t| t.matches(self.action_lc, &()));
            if action_hit == st.action_negated {
                return;
            }
            if let Some((negated, pats)) = &st.resources {
                let hit = pats
                    .iter()
                    .any(|pat| pat.matches(self.req.resource, self.req.context));
                if hit == *negated {
                    // Unresolvable variables in Resource count as missing context.
                    for pat in pats.iter().filter(|p| p.has_vars()) {
                        for seg in pat.segments() {
                            for k in seg.unresolved(self.req.context) {
                                if !missing.iter().any(|m| m == k) {
                                    missing.push(k.to_string());
                                }
                            }
                        }
                    }
                    return;
                }
            }
            let mut ok = true;
            for c in &st.conditions {
                if !c.eval(self.req.context, missing) {
                    ok = false;
                }
            }
            if !ok {
                return;
            }
            matched.push(MatchedStatement {
                role,
                policy: p,
                statement: i,
                effect: st.effect,
                level: None,
            });
            match st.effect {
                Effect::Deny => {
                    if !out.deny {
                        out.first_deny_arn = p.meta.arn.clone();
                    }
                    out.deny = true;
                }
                Effect::Allow => {
                    out.allow = true;
                    out.strength = out.strength.max(Some(strength));
                }
            }
        });
    }
}

/// Evaluates one request against its policies.
pub fn evaluate<'p>(req: &Request<'_>, policies: &Policies<'p>) -> Evaluation<'p> {
    // Same folding as the compiled patterns (Unicode lower case; ASCII fast path without
    // allocation).
    let mut buf = [0u8; 128];
    let owned: String;
    let action_lc: &str = if req.action.is_ascii() && req.action.len() <= buf.len() {
        let n = req.action.len();
        buf[..n].copy_from_slice(req.action.as_bytes());
        buf[..n].make_ascii_lowercase();
        std::str::from_utf8(&buf[..n]).unwrap_or_default()
    } else {
        owned = req.action.to_lowercase();
        &owned
    };
    let svc_len = action_lc.find(':').unwrap_or(action_lc.len());
    let prepared = Prepared {
        req,
        action_lc,
        svc_len,
        ids: Ids { p: req.principal },
    };
    let mut matched = Vec::new();
    let mut missing = Vec::new();
    let is_root = req.principal.kind == PrincipalType::Root;

    let mut identity = SetOutcome::default();
    if !is_root {
        for p in policies.identity {
            prepared.eval_policy(
                p,
                PolicyRole::Identity,
                &mut identity,
                &mut matched,
                &mut missing,
            );
        }
    }
    let resource = policies.resource.map(|p| {
        let mut o = SetOutcome::default();
        prepared.eval_policy(p, PolicyRole::Resource, &mut o, &mut matched, &mut missing);
        o
    });
    let boundary = policies.permissions_boundary.filter(|_| !is_root).map(|p| {
        let mut o = SetOutcome::default();
        prepared.eval_policy(
            p,
            PolicyRole::PermissionsBoundary,
            &mut o,
            &mut matched,
            &mut missing,
        );
        o
    });
    let session = (!policies.session.is_empty() && !is_root).then(|| {
        let mut o = SetOutcome::default();
        for p in policies.session {
            prepared.eval_policy(p, PolicyRole::Session, &mut o, &mut matched, &mut missing);
        }
        o
    });
    // Organizations policies apply to the root user of a member account too.
    let rcp = policies.rcp.map(|levels| {
        prepared.eval_levels(
            levels,
            PolicyRole::ResourceControl,
            &mut matched,
            &mut missing,
        )
    });
    let scp = policies.scp.map(|levels| {
        prepared.eval_levels(
            levels,
            PolicyRole::ServiceControl,
            &mut matched,
            &mut missing,
        )
    });

    let mut ev = Evaluation {
        decision: Decision::ImplicitDeny,
        reason: Reason::NoIdentityAllow,
        matched,
        missing_context_keys: missing,
        identity_allows: identity.allow,
        boundary_allows: boundary.as_ref().map(|o| o.allow),
        session_allows: session.as_ref().map(|o| o.allow),
        resource_allows: resource.as_ref().and_then(|o| o.strength),
        trust: policies.resource.is_some() && policies.resource_kind == ResourcePolicyKind::Trust,
        scp_allows: scp.as_ref().map(|o| !o.deny && o.no_allow_level.is_none()),
        rcp_allows: rcp.as_ref().map(|o| !o.deny && o.no_allow_level.is_none()),
    };

    // 1. Explicit deny anywhere (the Organizations policies first, as AWS's flowchart reads).
    for (role, o) in [
        (PolicyRole::ResourceControl, rcp.as_ref()),
        (PolicyRole::ServiceControl, scp.as_ref()),
    ] {
        if let Some(o) = o.filter(|o| o.deny) {
            ev.decision = Decision::ExplicitDeny;
            ev.reason = Reason::ExplicitDeny {
                role,
                policy_arn: o.first_deny_arn.clone(),
            };
            return ev;
        }
    }
    let denies = [
        (PolicyRole::Identity, Some(&identity)),
        (PolicyRole::Resource, resource.as_ref()),
        (PolicyRole::PermissionsBoundary, boundary.as_ref()),
        (PolicyRole::Session, session.as_ref()),
    ];
    for (role, o) in denies {
        if let Some(o) = o.filter(|o| o.deny) {
            ev.decision = Decision::ExplicitDeny;
            ev.reason = Reason::ExplicitDeny {
                role,
                policy_arn: o.first_deny_arn.clone(),
            };
            return ev;
        }
    }
    // 2. Every level of the RCPs, then of the SCPs, must allow.
    if let Some(level) = rcp.as_ref().and_then(|o| o.no_allow_level) {
        ev.reason = Reason::NoResourceControlAllow { level };
        return ev;
    }
    if let Some(level) = scp.as_ref().and_then(|o| o.no_allow_level) {
        ev.reason = Reason::NoServiceControlAllow { level };
        return ev;
    }
    let trust = policies.resource.is_some() && policies.resource_kind == ResourcePolicyKind::Trust;
    let resource_strength = resource.as_ref().and_then(|o| o.strength);
    // 3. A trust policy must allow.
    if trust && resource_strength.is_none() {
        ev.reason = Reason::TrustPolicyDoesNotAllow;
        return ev;
    }
    if is_root {
        ev.decision = Decision::Allowed;
        ev.reason = Reason::RootUser;
        return ev;
    }
    let same_account = policies
        .resource_owner
        .is_none_or(|o| o == req.principal.account);
    let boundary_ok = boundary.as_ref().is_none_or(|o| o.allow);
    let session_ok = session.as_ref().is_none_or(|o| o.allow);
    // 4. Resource-based policy naming the caller.
    if same_account {
        match resource_strength {
            Some(PrincipalMatch::Direct) => {
                ev.decision = Decision::Allowed;
                ev.reason = Reason::AllowedByResource(PrincipalMatch::Direct);
                return ev;
            }
            Some(PrincipalMatch::Role) => {
                ev.reason = if !boundary_ok {
                    Reason::NoBoundaryAllow
                } else if !session_ok {
                    Reason::NoSessionAllow
                } else {
                    ev.decision = Decision::Allowed;
                    Reason::AllowedByResource(PrincipalMatch::Role)
                };
                return ev;
            }
            _ => {}
        }
    }
    // 5. Identity policies, limited by boundary and session policies.
    ev.reason = if !identity.allow {
        Reason::NoIdentityAllow
    } else if !boundary_ok {
        Reason::NoBoundaryAllow
    } else if !session_ok {
        Reason::NoSessionAllow
    } else if !same_account && resource_strength.is_none() {
        Reason::NoResourceAllow
    } else {
        ev.decision = Decision::Allowed;
        Reason::AllowedByIdentity
    };
    ev
}

impl Evaluation<'_> {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allowed
    }

    /// IAM's simulator `OrganizationsDecisionDetail.AllowedByOrganizations`: whether the
    /// Organizations policies (SCPs and RCPs that apply) allow the request; `None` when
    /// neither applies.
    pub fn organizations_allows(&self) -> Option<bool> {
        match (self.scp_allows, self.rcp_allows) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(true) && b.unwrap_or(true)),
        }
    }

    /// AWS's AccessDenied message for this evaluation, or `None` when allowed.
    ///
    /// `User: ARN is not authorized to perform: ACTION on resource: RES because no
    /// identity-based policy allows the ACTION action`, `... with an explicit deny in an
    /// identity-based policy[: POLICY-ARN]`, and the resource-based / permissions boundary /
    /// session policy variants. A trust-policy refusal has no "because" clause.
    ///
    /// Organizations policies, in the words of IAM's "Troubleshoot access denied error
    /// messages" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>):
    /// `... with an explicit deny in a service control policy[: POLICY-ARN]`, `... because no
    /// service control policy allows the ACTION action`, `... with an explicit deny in a
    /// resource control policy[: POLICY-ARN]`. The policy ARN is appended, as for identity-based
    /// policies, when the denying policy's [`PolicyMeta::arn`] is set (AWS names the policy in
    /// same-account and same-organization denials); the caller sets it.
    ///
    /// AWS documents no implicit-deny wording for RCPs (the AWS-managed `RCPFullAWSAccess`
    /// cannot be detached, so in AWS every level always allows); kagi uses the parallel form
    /// `... because no resource control policy allows the ACTION action`. SCP and RCP denials
    /// keep their clause for `sts:AssumeRole` too: the clause-less form is the trust policy's.
    pub fn access_denied_message(
        &self,
        principal_arn: &str,
        action: &str,
        resource: &str,
    ) -> Option<String> {
        let head = format!(
            "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
        );
        let tail = match &self.reason {
            Reason::AllowedByIdentity | Reason::AllowedByResource(_) | Reason::RootUser => {
                return None;
            }
            Reason::ExplicitDeny { role, policy_arn } => {
                let mut s = format!(" with an explicit deny in {}", role.denial_phrase());
                if let Some(arn) = policy_arn {
                    s.push_str(": ");
                    s.push_str(arn);
                }
                s
            }
            Reason::NoServiceControlAllow { .. } => {
                format!(" because no service control policy allows the {action} action")
            }
            Reason::NoResourceControlAllow { .. } => {
                format!(" because no resource control policy allows the {action} action")
            }
            _ if self.trust => String::new(),
            Reason::NoIdentityAllow => {
                format!(" because no identity-based policy allows the {action} action")
            }
            Reason::NoBoundaryAllow => {
                format!(" because no permissions boundary allows the {action} action")
            }
            Reason::NoSessionAllow => {
                format!(" because no session policy allows the {action} action")
            }
            Reason::NoResourceAllow => {
                format!(" because no resource-based policy allows the {action} action")
            }
            Reason::TrustPolicyDoesNotAllow => String::new(),
        };
        Some(head + &tail)
    }

    /// Matched statements with the given effect.
    pub fn matched_with(&self, effect: Effect) -> impl Iterator<Item = &MatchedStatement<'_>> {
        self.matched.iter().filter(move |m| m.effect == effect)
    }

    /// A one-paragraph English explanation (for `kagi policy simulate --explain` and logs).
    pub fn explain(&self) -> String {
        let mut s = format!("{}: ", self.decision.as_str());
        s.push_str(&self.reason.describe());
        for m in &self.matched {
            let sp = m.span();
            let level = m.level.map(|l| format!(", level {l}")).unwrap_or_default();
            s.push_str(&format!(
                "; {} statement {} of {} ({:?}{level}) at line {}, column {}",
                m.effect.as_str(),
                m.label(),
                m.policy.meta.id,
                m.role,
                sp.start.line,
                sp.start.column
            ));
        }
        if !self.missing_context_keys.is_empty() {
            s.push_str(&format!(
                "; missing context keys: {}",
                self.missing_context_keys.join(", ")
            ));
        }
        s
    }
}

impl Reason {
    /// Why, in a phrase: "no identity-based policy allows it", ...
    pub fn describe(&self) -> String {
        match self {
            Reason::AllowedByIdentity => "an identity-based policy allows it".to_string(),
            Reason::AllowedByResource(m) => {
                format!("the resource-based policy allows it (principal matched as {m:?})")
            }
            Reason::RootUser => {
                "the account root user may do anything not explicitly denied".into()
            }
            Reason::ExplicitDeny { role, .. } => {
                format!("explicitly denied by {}", role.denial_phrase())
            }
            Reason::NoIdentityAllow => "no identity-based policy allows it".into(),
            Reason::NoBoundaryAllow => "the permissions boundary does not allow it".into(),
            Reason::NoSessionAllow => "no session policy allows it".into(),
            Reason::NoResourceAllow => {
                "cross-account, and the resource-based policy does not allow it".into()
            }
            Reason::TrustPolicyDoesNotAllow => {
                "the role's trust policy does not allow this principal".into()
            }
            Reason::NoServiceControlAllow { level } => format!(
                "no service control policy attached at level {level} of the principal's organization path (0 = root) allows it"
            ),
            Reason::NoResourceControlAllow { level } => format!(
                "no resource control policy attached at level {level} of the resource account's organization path (0 = root) allows it"
            ),
        }
    }
}

/// The AccessDenied message for a refused `sts:AssumeRole`: AWS stops after the role ARN.
pub fn assume_role_denied_message(principal_arn: &str, role_arn: &str) -> String {
    format!(
        "User: {principal_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str, t: PolicyType, id: &str) -> CompiledPolicy {
        CompiledPolicy::from_text(text, t, PolicyMeta::named(id)).unwrap()
    }

    fn user() -> PrincipalInfo {
        let mut p = PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
        p.unique_id = "AIDAEXAMPLEALICE0001".into();
        p
    }

    #[test]
    fn explanation_and_policy_arn_in_explicit_deny() {
        let p = CompiledPolicy::from_text(
            "{\"Version\":\"2012-10-17\",\n \"Statement\":[\n  {\"Sid\":\"NoIam\",\"Effect\":\"Deny\",\"Action\":\"iam:*\",\"Resource\":\"*\"}]}",
            PolicyType::Identity,
            PolicyMeta {
                id: "Guard".into(),
                arn: Some("arn:aws:iam::123456789012:policy/Guard".into()),
                origin: PolicyOrigin::UserManaged,
            },
        )
        .unwrap();
        let u = user();
        let ctx = Context::new();
        let ids = [&p];
        let ev = evaluate(
            &Request {
                principal: &u,
                action: "iam:CreateUser",
                resource: "*",
                context: &ctx,
            },
            &Policies {
                identity: &ids,
                ..Default::default()
            },
        );
        assert_eq!(ev.decision, Decision::ExplicitDeny);
        assert!(ev
            .access_denied_message(&u.arn, "iam:CreateUser", "*")
            .unwrap()
            .ends_with("with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/Guard"));
        let text = ev.explain();
        assert!(
            text.contains("Deny statement NoIam of Guard (Identity) at line 3, column 3"),
            "{text}"
        );
        assert_eq!(ev.matched[0].label(), "NoIam");
    }

    #[test]
    fn identity_allow_and_messages() {
        let p = compile(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Get*","Resource":"*"},{"Sid":"No","Effect":"Deny","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#,
            PolicyType::Identity,
            "p",
        );
        let u = user();
        let ctx = Context::new();
        let ids = [&p];
        let pol = Policies {
            identity: &ids,
            ..Default::default()
        };
        let r = |a: &'static str| Request {
            principal: &u,
            action: a,
            resource: "*",
            context: &ctx,
        };
        assert_eq!(
            evaluate(&r("ECR:GETDOWNLOADURLFORLAYER"), &pol).decision,
            Decision::Allowed
        );
        let e = evaluate(&r("ecr:GetAuthorizationToken"), &pol);
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(
            e.access_denied_message(&u.arn, "ecr:GetAuthorizationToken", "*")
                .unwrap(),
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ecr:GetAuthorizationToken on resource: * with an explicit deny in an identity-based policy"
        );
        // Case-insensitive action names, also beyond ASCII (U+0080-U+00FF are allowed).
        let q = compile(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:Café","Resource":"*"}}"#,
            PolicyType::Identity,
            "q",
        );
        let qs = [&q];
        let qpol = Policies {
            identity: &qs,
            ..Default::default()
        };
        assert_eq!(evaluate(&r("ECR:CAFÉ"), &qpol).decision, Decision::Allowed);
        let e = evaluate(&r("ecr:PutImage"), &pol);
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert!(
            e.access_denied_message(&u.arn, "ecr:PutImage", "*")
                .unwrap()
                .ends_with("because no identity-based policy allows the ecr:PutImage action")
        );
    }

    #[test]
    fn organizations_policies_messages_and_explanation() {
        let admin = compile(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            PolicyType::Identity,
            "admin",
        );
        let full = crate::organizations::full_aws_access();
        let ecr_only = compile(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"EcrOnly","Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
            "ecr-only",
        );
        let guard = CompiledPolicy::from_text(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"ecr:Delete*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
            PolicyMeta {
                id: "guard".into(),
                arn: Some(
                    "arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-guard1".into(),
                ),
                origin: PolicyOrigin::None,
            },
        )
        .unwrap();
        let u = user();
        let ctx = Context::new();
        let ids = [&admin];
        let root_level = [&full];
        let ou_level = [&ecr_only];
        let account_level = [&full, &guard];
        let levels: [&[&CompiledPolicy]; 3] = [&root_level, &ou_level, &account_level];
        let pol = Policies {
            identity: &ids,
            scp: Some(&levels),
            ..Default::default()
        };
        let r = |a: &'static str| Request {
            principal: &u,
            action: a,
            resource: "*",
            context: &ctx,
        };
        let e = evaluate(&r("ecr:PutImage"), &pol);
        assert_eq!(e.decision, Decision::Allowed);
        assert_eq!(e.scp_allows, Some(true));
        assert_eq!(e.rcp_allows, None);
        assert_eq!(e.organizations_allows(), Some(true));
        // FullAWSAccess (root, account) and EcrOnly (OU) matched, with their levels.
        let levels_seen: Vec<Option<u16>> = e
            .matched
            .iter()
            .filter(|m| m.role == PolicyRole::ServiceControl)
            .map(|m| m.level)
            .collect();
        assert_eq!(levels_seen, [Some(0), Some(1), Some(2)]);

        let e = evaluate(&r("s3:GetObject"), &pol);
        assert_eq!(e.decision, Decision::ImplicitDeny);
        assert_eq!(e.reason, Reason::NoServiceControlAllow { level: 1 });
        assert_eq!(e.organizations_allows(), Some(false));
        assert_eq!(
            e.access_denied_message(&u.arn, "s3:GetObject", "*")
                .unwrap(),
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: s3:GetObject on resource: * because no service control policy allows the s3:GetObject action"
        );
        assert!(
            e.explain()
                .starts_with("implicitDeny: no service control policy attached at level 1"),
            "{}",
            e.explain()
        );

        let e = evaluate(&r("ecr:DeleteRepository"), &pol);
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(
            e.access_denied_message(&u.arn, "ecr:DeleteRepository", "*")
                .unwrap(),
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: ecr:DeleteRepository on resource: * with an explicit deny in a service control policy: arn:aws:organizations::111111111111:policy/o-a1b2c3d4e5/service_control_policy/p-guard1"
        );
        let text = e.explain();
        assert!(
            text.contains("Deny statement NoDelete of guard (ServiceControl, level 2)"),
            "{text}"
        );

        // RCPs: explicit deny and the parallel implicit-deny wording.
        let rfull = crate::organizations::rcp_full_aws_access();
        let perimeter = compile(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}"#,
            PolicyType::ResourceControl,
            "perimeter",
        );
        let rroot = [&rfull, &perimeter];
        let racct = [&rfull];
        let rlevels: [&[&CompiledPolicy]; 2] = [&rroot, &racct];
        let rpol = Policies {
            identity: &ids,
            rcp: Some(&rlevels),
            ..Default::default()
        };
        let e = evaluate(&r("s3:GetObject"), &rpol);
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.rcp_allows, Some(false));
        assert!(
            e.access_denied_message(&u.arn, "s3:GetObject", "*")
                .unwrap()
                .ends_with(" with an explicit deny in a resource control policy")
        );
        let empty: [&[&CompiledPolicy]; 2] = [&racct, &[]];
        let epol = Policies {
            identity: &ids,
            rcp: Some(&empty),
            ..Default::default()
        };
        let e = evaluate(&r("sqs:SendMessage"), &epol);
        assert_eq!(e.reason, Reason::NoResourceControlAllow { level: 1 });
        assert!(
            e.access_denied_message(&u.arn, "sqs:SendMessage", "*")
                .unwrap()
                .ends_with(" because no resource control policy allows the sqs:SendMessage action")
        );
        // No level at all restricts nothing.
        let none: [&[&CompiledPolicy]; 0] = [];
        let npol = Policies {
            identity: &ids,
            scp: Some(&none),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&r("s3:GetObject"), &npol).decision,
            Decision::Allowed
        );
    }

    #[test]
    fn matched_statement_stays_small() {
        // The SCP/RCP level fits in the padding: no extra memory per matched statement.
        assert_eq!(
            std::mem::size_of::<MatchedStatement<'static>>(),
            3 * std::mem::size_of::<usize>()
        );
    }
}
