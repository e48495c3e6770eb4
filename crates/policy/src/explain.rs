//! A decision's explanation as the event history keeps it ([`Note`]): cheap to take where the
//! decision is made (owned copies of a few short strings, no JSON), comparable and hashable so
//! that the place that stores it renders each distinct explanation once ([`Note::to_json`]).

use crate::ast::Effect;
use crate::eval::{Decision, Evaluation, PolicyRole, Reason};
use serde_json::{Value, json};

/// One authorisation decision and why: the action and resource asked about, the decision, the
/// reason, every statement that applied (where it is) and the context keys a condition needed
/// but the request lacked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    pub reason: Reason,
    pub statements: Vec<NoteStatement>,
    pub missing_context_keys: Vec<String>,
}

/// A statement that applied to a decision, and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteStatement {
    pub effect: Effect,
    /// The policy's name (inline) or id.
    pub policy: String,
    pub policy_arn: Option<String>,
    pub role: PolicyRole,
    /// 0-based, in the policy's `Statement` list.
    pub index: usize,
    pub sid: Option<String>,
    pub line: u32,
    pub column: u32,
    /// For SCP and RCP statements, the level of the organization path (0 = the root).
    pub level: Option<u16>,
}

impl Evaluation<'_> {
    /// This decision's [`Note`] for `action` on `resource`.
    pub fn note(&self, action: &str, resource: &str) -> Note {
        Note {
            action: action.to_owned(),
            resource: resource.to_owned(),
            decision: self.decision,
            reason: self.reason.clone(),
            statements: self
                .matched
                .iter()
                .map(|m| {
                    let at = m.span().start;
                    NoteStatement {
                        effect: m.effect,
                        policy: m.policy.meta.id.clone(),
                        policy_arn: m.policy.meta.arn.clone(),
                        role: m.role,
                        index: m.statement,
                        sid: m.sid().map(str::to_owned),
                        line: at.line,
                        column: at.column,
                        level: m.level,
                    }
                })
                .collect(),
            missing_context_keys: self.missing_context_keys.clone(),
        }
    }
}

impl Note {
    /// The explanation as the event history's records carry it
    /// (`additionalEventData.kagiAuthorization[]`).
    pub fn to_json(&self) -> Value {
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| {
                let mut st = json!({
                    "effect": s.effect.as_str(),
                    "policy": s.policy,
                    "policyType": s.role.as_str(),
                    "statementIndex": s.index,
                    "line": s.line,
                    "column": s.column,
                });
                if let Some(arn) = &s.policy_arn {
                    st["policyArn"] = json!(arn);
                }
                if let Some(sid) = &s.sid {
                    st["sid"] = json!(sid);
                }
                if let Some(level) = s.level {
                    st["level"] = json!(level);
                }
                st
            })
            .collect();
        let mut v = json!({
            "action": self.action,
            "resource": self.resource,
            "decision": self.decision.as_str(),
            "reason": self.reason.describe(),
            "statements": statements,
        });
        if !self.missing_context_keys.is_empty() {
            v["missingContextKeys"] = json!(self.missing_context_keys);
        }
        v
    }
}
