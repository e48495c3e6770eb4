//! # kagi-policy: the IAM policy language
//!
//! Parse, validate, evaluate and explain IAM policy documents exactly as AWS documents them.
//! A pure library: no I/O, and it never reads the clock (time is always an argument).
//!
//! ## Pipeline and where things live
//!
//! ```text
//!  text ──json::parse──▶ json::Node (spans) ──parse::build──▶ ast::Policy ──parse::check_all──▶ errors
//!                                                               │
//!                     validate::validate (Access Analyzer findings)
//!                                                               │
//!                                          eval::CompiledPolicy::compile (templates, action index)
//!                                                               │
//!   context::global_context + Request ──────────▶ eval::evaluate ──▶ eval::Evaluation
//!                                                               │        (decision, reason, matched
//!                                                               │         statements, missing keys,
//!                                                               │         AccessDenied message)
//!                                                     simulate::simulate / simulate_custom_policy
//! ```
//!
//! * [`json`]: a JSON reader that records a line/column/offset span for every value, rejects
//!   comments (pointing at the first one), duplicate keys, control characters and characters
//!   outside IAM's set (TAB, LF, CR, U+0020–U+00FF).
//! * [`ast`] + [`mod@parse`]: the typed document and IAM's save-time rules per [`PolicyType`]
//!   (identity: no `Principal`; trust: `Principal` required, `Resource` prohibited; resource:
//!   `Principal` required), Sid rules, vendor prefixes, ARN shape, and size quotas
//!   ([`check_size`]). Errors are [`PolicyError`]: AWS's code and message
//!   (`MalformedPolicyDocument` / `Syntax errors in policy.` ...) plus a precise sentence and
//!   position ([`PolicyError::human`]).
//! * [`mod@validate`]: `aws accessanalyzer validate-policy` findings ([`findings_json`] prints
//!   `{"findings": [...]}`), using the action catalogue of iam/sts/ecr in [`actions`].
//! * [`pattern`]: `*`/`?` globbing, segment-wise ARN matching and policy variables
//!   (`${aws:username}`, `${*}`, `${?}`, `${$}`, `${key, 'default'}`).
//! * [`condition`]: every operator family, `...IfExists`, `ForAllValues:`/`ForAnyValue:` with
//!   AWS's missing-key rules, dates (ISO 8601 or epoch), IPv4/IPv6 CIDRs, base64.
//! * [`context`]: typed condition keys ([`Context`]), the principal ([`PrincipalInfo`]) and
//!   [`global_context`] which fills `aws:PrincipalArn`, `aws:userid`, `aws:CurrentTime`, ...
//! * [`eval`]: compiled policies and the decision logic (explicit deny; an allow at every
//!   level of the resource control policies and service control policies; trust policy
//!   required; resource policy naming the caller; identity ∩ boundary ∩ session), with AWS's
//!   AccessDenied wording ([`Evaluation::access_denied_message`], [`assume_role_denied_message`]).
//! * [`organizations`]: the document rules of SCPs and RCPs ([`PolicyType::ServiceControl`],
//!   [`PolicyType::ResourceControl`], Organizations' error codes), the AWS-managed
//!   `FullAWSAccess` / `RCPFullAWSAccess`, and the services RCPs apply to.
//! * [`mod@generate`]: least privilege from recorded activity: CloudTrail event records in,
//!   the policy allowing what a principal used (per service, optionally per resource, the
//!   denied part optionally in statements of its own) out, checked by [`mod@validate`];
//!   [`access_analyzer`] maps it onto Access Analyzer's `GetGeneratedPolicy` /
//!   `ListPolicyGenerations` shapes.
//! * [`mod@simulate`]: IAM's `SimulateCustomPolicy` over `serde_json::Value` request/response shapes,
//!   and [`simulate()`] for callers holding compiled policies (`SimulatePrincipalPolicy`).
//!
//! ## Invariants
//!
//! * Every AST node keeps the span of its source; explanations and findings point into the
//!   original text (lines from 1; columns from 1 in [`json::Position`], converted to IAM's and
//!   Access Analyzer's conventions at the edges).
//! * A decision never depends on the order of statements or policies (property-tested), and
//!   adding a `Deny` never turns a denial into an allow (property-tested).
//! * Policy variables are substituted only under `Version: 2012-10-17`; elsewhere `${...}` is
//!   literal text. A variable with no value (and no default) makes its value match nothing.
//! * Action names compare case-insensitively, resources and condition values case-sensitively
//!   (except the `IgnoreCase` operators); condition key names are case-insensitive.
//!
//! ## Documentation followed
//!
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html>
//! * <https://docs.aws.amazon.com/en_us/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html>
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html>
//! * <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html>
//! * <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html>
//! * <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>
//!
//! ## Example
//!
//! ```
//! use kagi_policy::*;
//! let p = CompiledPolicy::from_text(
//!     r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
//!     PolicyType::Identity,
//!     PolicyMeta::named("p"),
//! ).unwrap();
//! let alice = PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
//! let ctx = Context::new();
//! let ids = [&p];
//! let ev = evaluate(
//!     &Request { principal: &alice, action: "iam:ListUsers", resource: "*", context: &ctx },
//!     &Policies { identity: &ids, ..Default::default() },
//! );
//! assert_eq!(ev.decision, Decision::ImplicitDeny);
//! assert_eq!(
//!     ev.access_denied_message(&alice.arn, "iam:ListUsers", "*").unwrap(),
//!     "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:ListUsers \
//!      on resource: * because no identity-based policy allows the iam:ListUsers action"
//! );
//! ```
#![forbid(unsafe_code)]

pub mod access_analyzer;
pub mod actions;
pub mod ast;
pub mod condition;
pub mod context;
pub mod error;
pub mod eval;
pub mod explain;
mod fxhash;
pub mod generate;
pub mod json;
pub mod org_rules;
pub mod organizations;
pub mod parse;
pub(crate) mod path;
pub mod pattern;
pub mod simulate;
pub mod validate;

pub use ast::{Effect, Policy, PolicyType, Version};
pub use context::{
    Context, ContextType, ContextValue, PrincipalInfo, PrincipalType, RequestFacts, SessionInfo,
    global_context,
};
pub use error::{ErrorCode, Location, PathElement, PolicyError};
pub use eval::{
    CompiledPolicy, Decision, Evaluation, MatchedStatement, Policies, PolicyMeta, PolicyOrigin,
    PolicyRole, PrincipalMatch, Reason, Request, ResourcePolicyKind, assume_role_denied_message,
    evaluate,
};
pub use explain::{Explained, Note, NoteCache, NoteStatement};
pub use generate::{GenerateError, GenerateOptions, Generated, generate};
pub use organizations::{FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS};
pub use parse::{SizeQuota, check_size, parse, policy_size};
pub use simulate::{
    OrganizationsPolicies, SimulationInput, parse_context_entries, simulate,
    simulate_custom_policy, simulate_custom_policy_with,
};
pub use validate::{Finding, FindingType, findings_json, has_errors, validate};
