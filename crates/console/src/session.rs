//! Console sessions, CSRF tokens and sign-in lockout, kept in the console's [`SharedState`]
//! (this process's memory by default, so a restart signs everyone out, the safe direction; the
//! shared store when the server runs as several nodes).
//!
//! A session id and its CSRF token are 32 random bytes each (base64url). The session holds the
//! access key id of the principal's temporary credentials (never a secret) and ends no later than
//! those credentials.

use crate::state::{SharedState, SharedStateExt};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Failures before an account+user is locked.
pub const MAX_FAILURES: u32 = 5;
/// Failures from one source address (whatever accounts they named) before it is locked: a
/// password sprayed over many accounts, a few guesses each, is stopped too.
pub const SOURCE_MAX_FAILURES: u32 = 20;
/// How long a lock lasts (seconds).
pub const LOCK_SECS: i64 = 15 * 60;
/// The ECR pages' region until the user picks one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// How long a sign-in may wait for its MFA code (seconds).
pub const MFA_WAIT_SECS: i64 = 5 * 60;
/// How long failed sign-ins are remembered after the last one (unless a lock lasts longer).
const FAILURES_KEPT_SECS: i64 = 24 * 3600;

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("operating system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time string equality (length is not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// One signed-in browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    pub access_key_id: String,
    pub arn: String,
    pub csrf: String,
    pub expires: i64,
    /// While switched into a role: the display name, and the signed-in identity to switch back to.
    pub switched: Option<Switched>,
    /// Roles switched to from this sign-in, newest first (at most [`MAX_RECENT_ROLES`]).
    pub recent_roles: Vec<RecentRole>,
    /// The region of the ECR pages.
    pub region: String,
    /// A virtual MFA device being assigned: serial number and base32 seed, kept only until it
    /// is enabled (so mistyped codes can be retried). Never in `Debug`.
    pub pending_mfa_seed: Option<(String, String)>,
    /// The password must be changed before anything else opens (PasswordResetRequired).
    pub must_change_password: bool,
    /// What the last action did ("User alice created."), shown once on the next page.
    #[serde(default)]
    pub flash: Option<String>,
}

/// How many recent roles the switch-role page offers.
pub const MAX_RECENT_ROLES: usize = 5;

/// The colours AWS offers for a switched role's banner: (form value, label, CSS colour).
pub const COLORS: [(&str, &str, &str); 5] = [
    ("red", "Red", "#f2b0a9"),
    ("orange", "Orange", "#fbbf93"),
    ("yellow", "Yellow", "#fad791"),
    ("green", "Green", "#b7ca9d"),
    ("blue", "Blue", "#99bcf3"),
];

/// A role in the "recent roles" list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRole {
    pub account: String,
    pub role: String,
    pub display_name: String,
    /// One of [`COLORS`]' form values.
    pub color: String,
}

impl ConsoleSession {
    /// Puts `r` first in the recent roles (replacing an entry for the same account and role).
    pub fn remember_role(&mut self, r: RecentRole) {
        self.recent_roles
            .retain(|x| !(x.account == r.account && x.role == r.role));
        self.recent_roles.insert(0, r);
        self.recent_roles.truncate(MAX_RECENT_ROLES);
    }
}

/// The identity a switched session returns to.
#[derive(Clone, Serialize, Deserialize)]
pub struct Switched {
    pub display_name: String,
    /// One of [`COLORS`]' form values.
    pub color: String,
    pub base_access_key_id: String,
    pub base_arn: String,
    pub base_expires: i64,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("arn", &self.arn)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

const SESSION: &str = "session";
const PENDING: &str = "mfa-pending";
const LOCKOUT: &str = "lockout";
const LOCKOUT_SOURCE: &str = "lockout-source";

pub struct Sessions {
    state: Arc<dyn SharedState>,
}

impl Sessions {
    pub fn new(state: Arc<dyn SharedState>) -> Sessions {
        Sessions { state }
    }

    /// Creates a session; returns its id.
    pub fn create(&self, access_key_id: String, arn: String, expires: i64, now: i64) -> String {
        let id = random_token();
        let s = ConsoleSession {
            access_key_id,
            arn,
            csrf: random_token(),
            expires,
            switched: None,
            recent_roles: Vec::new(),
            region: DEFAULT_REGION.to_owned(),
            pending_mfa_seed: None,
            must_change_password: false,
            flash: None,
        };
        self.state.put_json(SESSION, &id, &s, expires, now);
        id
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: i64) -> Option<ConsoleSession> {
        self.state
            .get_json::<ConsoleSession>(SESSION, id, now)
            .filter(|s| s.expires > now)
    }

    /// Changes a live session in place (its id and CSRF token stay).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut ConsoleSession)) {
        let mut f = Some(f);
        self.state.update(SESSION, id, crate::now(), &mut |cur| {
            let mut s: ConsoleSession = serde_json::from_str(cur?).ok()?;
            if let Some(f) = f.take() {
                f(&mut s);
            }
            let expires = s.expires;
            Some((serde_json::to_string(&s).ok()?, expires))
        });
    }

    pub fn remove(&self, id: &str) {
        self.state.update(SESSION, id, crate::now(), &mut |_| None);
    }
}

/// A sign-in whose password was accepted, waiting for the MFA code (keyed by a random token
/// held in a cookie). It holds no password; the code step counts failures like passwords do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    /// The account as the sign-in form named it (id or alias).
    #[serde(default)]
    pub account: String,
    pub user_name: String,
    /// The lockout key of this account+user.
    pub lock_key: String,
    pub expires: i64,
}

pub struct PendingMfa {
    state: Arc<dyn SharedState>,
}

impl PendingMfa {
    pub fn new(state: Arc<dyn SharedState>) -> PendingMfa {
        PendingMfa { state }
    }

    pub fn create(&self, p: Pending, now: i64) -> String {
        let id = random_token();
        self.state.put_json(PENDING, &id, &p, p.expires, now);
        id
    }

    pub fn get(&self, id: &str, now: i64) -> Option<Pending> {
        self.state.get_json(PENDING, id, now)
    }

    pub fn remove(&self, id: &str) {
        self.state.update(PENDING, id, crate::now(), &mut |_| None);
    }
}

/// Failed sign-ins per `account\0user` (lower-cased user; `root` for the root user), counted
/// across every node that shares the state.
pub struct Lockout {
    state: Arc<dyn SharedState>,
    kind: &'static str,
    max: u32,
}

impl Lockout {
    /// Counted per account and user name: [`MAX_FAILURES`].
    pub fn new(state: Arc<dyn SharedState>) -> Lockout {
        Lockout {
            state,
            kind: LOCKOUT,
            max: MAX_FAILURES,
        }
    }

    /// Counted per source address: [`SOURCE_MAX_FAILURES`], locked as long.
    pub fn per_source(state: Arc<dyn SharedState>) -> Lockout {
        Lockout {
            state,
            kind: LOCKOUT_SOURCE,
            max: SOURCE_MAX_FAILURES,
        }
    }

    /// `Err(seconds left)` while locked.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        match self.state.get_json::<(u32, i64)>(self.kind, key, now) {
            Some((n, until)) if n >= self.max && until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str, now: i64) {
        let max = self.max;
        self.state.update(self.kind, key, now, &mut |cur| {
            let (mut n, mut until) = cur
                .and_then(|c| serde_json::from_str::<(u32, i64)>(c).ok())
                .unwrap_or((0, 0));
            if n >= max && until <= now {
                (n, until) = (0, 0); // the lock ran out: start counting again
            }
            n += 1;
            if n >= max {
                until = now + LOCK_SECS;
            }
            let keep = (now + FAILURES_KEPT_SECS).max(until);
            Some((serde_json::to_string(&(n, until)).ok()?, keep))
        });
    }

    pub fn succeed(&self, key: &str) {
        self.state
            .update(self.kind, key, crate::now(), &mut |_| None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_tokens_differ() {
        let s = Sessions::new(std::sync::Arc::new(crate::state::MemoryState::default()));
        let id = s.create("ASIAX".into(), "arn".into(), 100, 0);
        let got = s.get(&id, 99).unwrap();
        assert_eq!(got.access_key_id, "ASIAX");
        assert_ne!(got.csrf, id);
        assert!(s.get(&id, 100).is_none());
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
    }

    #[test]
    fn recent_roles_keep_the_last_five_without_duplicates() {
        let s = Sessions::new(std::sync::Arc::new(crate::state::MemoryState::default()));
        let t = crate::now();
        let id = s.create("ASIAX".into(), "arn".into(), t + 100, t);
        let role = |n: usize| RecentRole {
            account: "123456789012".into(),
            role: format!("R{n}"),
            display_name: format!("R{n}"),
            color: "blue".into(),
        };
        for n in 0..7 {
            s.update(&id, |x| x.remember_role(role(n)));
        }
        s.update(&id, |x| x.remember_role(role(4)));
        let got: Vec<String> = s
            .get(&id, t + 1)
            .unwrap()
            .recent_roles
            .into_iter()
            .map(|r| r.role)
            .collect();
        assert_eq!(got, ["R4", "R6", "R5", "R3", "R2"]);
    }

    #[test]
    fn lockout_after_five_failures_for_fifteen_minutes() {
        let l = Lockout::new(std::sync::Arc::new(crate::state::MemoryState::default()));
        for _ in 0..4 {
            l.fail("k", 10);
            assert!(l.check("k", 10).is_ok());
        }
        l.fail("k", 10);
        assert_eq!(l.check("k", 11), Err(LOCK_SECS - 1));
        assert!(l.check("other", 11).is_ok());
        assert!(l.check("k", 10 + LOCK_SECS).is_ok());
        l.fail("k", 10 + LOCK_SECS);
        assert!(l.check("k", 10 + LOCK_SECS).is_ok(), "counting restarts");
        l.succeed("k");
        assert!(l.check("k", 0).is_ok());
    }
}
