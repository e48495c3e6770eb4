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

/// A [`Note`] with its JSON text, made once per distinct decision ([`NoteCache`]) and shared.
#[derive(Debug)]
pub struct Explained {
    pub note: Note,
    /// `note.to_json()` as text.
    pub json: String,
}

impl Note {
    /// Whether this note is what [`Evaluation::note`] would make of `ev` — without making it.
    pub fn matches(&self, ev: &Evaluation<'_>, action: &str, resource: &str) -> bool {
        self.action == action
            && self.resource == resource
            && self.decision == ev.decision
            && self.reason == ev.reason
            && self.missing_context_keys == ev.missing_context_keys
            && self.statements.len() == ev.matched.len()
            && self.statements.iter().zip(&ev.matched).all(|(s, m)| {
                let at = m.span().start;
                s.index == m.statement
                    && s.role == m.role
                    && s.effect == m.effect
                    && s.level == m.level
                    && s.line == at.line
                    && s.column == at.column
                    && s.policy == m.policy.meta.id
                    && s.policy_arn == m.policy.meta.arn
                    && s.sid.as_deref() == m.sid()
            })
    }
}

/// The decisions a server keeps explaining, each rendered once: a request takes an
/// `Arc<Explained>` (no allocation once its decision has been seen), the history stores its
/// text. Bounded: past `capacity` distinct decisions the cache starts over.
pub struct NoteCache {
    shards: Vec<std::sync::RwLock<crate::fxhash::FxMap<u64, Vec<std::sync::Arc<Explained>>>>>,
    capacity_per_shard: usize,
}

impl NoteCache {
    pub fn new(capacity: usize) -> NoteCache {
        NoteCache {
            shards: (0..16).map(|_| Default::default()).collect(),
            capacity_per_shard: (capacity / 16).max(1),
        }
    }

    /// The explanation of `ev` for `action` on `resource`.
    pub fn get(
        &self,
        ev: &Evaluation<'_>,
        action: &str,
        resource: &str,
    ) -> std::sync::Arc<Explained> {
        use std::hash::{Hash, Hasher};
        let mut h = crate::fxhash::FxHasher::default();
        action.hash(&mut h);
        resource.hash(&mut h);
        ev.decision.hash(&mut h);
        ev.reason.hash(&mut h);
        for m in &ev.matched {
            m.statement.hash(&mut h);
            m.role.hash(&mut h);
            m.policy.meta.id.hash(&mut h);
        }
        ev.missing_context_keys.hash(&mut h);
        let key = h.finish();
        let shard = &self.shards[(key as usize) % self.shards.len()];
        if let Ok(map) = shard.read()
            && let Some(e) = map
                .get(&key)
                .and_then(|v| v.iter().find(|e| e.note.matches(ev, action, resource)))
        {
            return e.clone();
        }
        let note = ev.note(action, resource);
        let json = note.to_json().to_string();
        let made = std::sync::Arc::new(Explained { note, json });
        if let Ok(mut map) = shard.write() {
            if map.len() >= self.capacity_per_shard {
                map.clear();
            }
            map.entry(key).or_default().push(made.clone());
        }
        made
    }
}
