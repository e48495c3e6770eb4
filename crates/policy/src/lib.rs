//! kagi-policy: the IAM policy language.
#![forbid(unsafe_code)]

pub mod ast;
pub mod condition;
pub mod context;
pub mod error;
pub mod json;
pub mod parse;
pub mod pattern;

pub use ast::{Effect, Policy, PolicyType, Version};
pub use error::{ErrorCode, PolicyError};
pub use parse::{SizeQuota, check_size, parse, policy_size};
pub mod eval;
mod fxhash;
pub use context::{
    Context, ContextType, ContextValue, PrincipalInfo, PrincipalType, RequestFacts, SessionInfo,
    global_context,
};
pub use eval::{
    CompiledPolicy, Decision, Evaluation, MatchedStatement, Policies, PolicyMeta, PolicyOrigin,
    PolicyRole, Reason, Request, ResourcePolicyKind, assume_role_denied_message, evaluate,
};
pub mod simulate;
pub use simulate::{SimulationInput, parse_context_entries, simulate, simulate_custom_policy};
pub mod actions;
pub mod validate;
pub use validate::{Finding, FindingType, findings_json, has_errors, validate};
