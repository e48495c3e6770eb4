//! Console sessions, CSRF tokens and sign-in lockout, all in memory (a restart signs everyone
//! out, which is the safe direction).
//!
//! A session id and its CSRF token are 32 random bytes each (base64url). The session holds the
//! access key id of the principal's temporary credentials (never a secret) and ends no later than
//! those credentials.

use base64::Engine;
use parking_lot::Mutex;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// Failures before an account+user is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts (seconds).
pub const LOCK_SECS: i64 = 15 * 60;
/// The ECR pages' region until the user picks one.
pub const DEFAULT_REGION: &str = "us-east-1";
/// How long a sign-in may wait for its MFA code (seconds).
pub const MFA_WAIT_SECS: i64 = 5 * 60;
/// At most this many live sessions (oldest-expiring evicted first when full).
const MAX_SESSIONS: usize = 10_000;

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
#[derive(Clone)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Clone)]
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

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, ConsoleSession>>,
}

impl Sessions {
    /// Creates a session; returns its id.
    pub fn create(&self, access_key_id: String, arn: String, expires: i64, now: i64) -> String {
        let id = random_token();
        let mut m = self.map.lock();
        if m.len() >= MAX_SESSIONS {
            m.retain(|_, s| s.expires > now);
        }
        m.insert(
            id.clone(),
            ConsoleSession {
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
            },
        );
        id
    }

    /// The live session with this id (an expired one is removed).
    pub fn get(&self, id: &str, now: i64) -> Option<ConsoleSession> {
        let mut m = self.map.lock();
        match m.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                m.remove(id);
                None
            }
            None => None,
        }
    }

    /// Changes a live session in place (its id and CSRF token stay).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut ConsoleSession)) {
        if let Some(s) = self.map.lock().get_mut(id) {
            f(s);
        }
    }

    pub fn remove(&self, id: &str) {
        self.map.lock().remove(id);
    }
}

/// A sign-in whose password was accepted, waiting for the MFA code (keyed by a random token
/// held in a cookie). It holds no password; the code step counts failures like passwords do.
#[derive(Clone, Debug)]
pub struct Pending {
    pub user_name: String,
    /// The lockout key of this account+user.
    pub lock_key: String,
    pub expires: i64,
}

#[derive(Default)]
pub struct PendingMfa {
    map: Mutex<HashMap<String, Pending>>,
}

impl PendingMfa {
    pub fn create(&self, p: Pending, now: i64) -> String {
        let id = random_token();
        let mut m = self.map.lock();
        m.retain(|_, x| x.expires > now);
        if m.len() < MAX_SESSIONS {
            m.insert(id.clone(), p);
        }
        id
    }

    pub fn get(&self, id: &str, now: i64) -> Option<Pending> {
        self.map.lock().get(id).filter(|p| p.expires > now).cloned()
    }

    pub fn remove(&self, id: &str) {
        self.map.lock().remove(id);
    }
}

/// Failed sign-ins per `account\0user` (lower-cased user; `root` for the root user).
#[derive(Default)]
pub struct Lockout {
    map: Mutex<HashMap<String, (u32, i64)>>,
}

impl Lockout {
    /// `Err(seconds left)` while locked.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        match self.map.lock().get(key) {
            Some((n, until)) if *n >= MAX_FAILURES && *until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str, now: i64) {
        let mut m = self.map.lock();
        let e = m.entry(key.to_owned()).or_insert((0, 0));
        if e.0 >= MAX_FAILURES && e.1 <= now {
            *e = (0, 0); // the lock ran out: start counting again
        }
        e.0 += 1;
        if e.0 >= MAX_FAILURES {
            e.1 = now + LOCK_SECS;
        }
    }

    pub fn succeed(&self, key: &str) {
        self.map.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_tokens_differ() {
        let s = Sessions::default();
        let id = s.create("ASIAX".into(), "arn".into(), 100, 0);
        let got = s.get(&id, 99).unwrap();
        assert_eq!(got.access_key_id, "ASIAX");
        assert_ne!(got.csrf, id);
        assert!(s.get(&id, 100).is_none());
        assert!(s.get(&id, 0).is_none(), "an expired session is gone");
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
    }

    #[test]
    fn recent_roles_keep_the_last_five_without_duplicates() {
        let s = Sessions::default();
        let id = s.create("ASIAX".into(), "arn".into(), 100, 0);
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
            .get(&id, 1)
            .unwrap()
            .recent_roles
            .into_iter()
            .map(|r| r.role)
            .collect();
        assert_eq!(got, ["R4", "R6", "R5", "R3", "R2"]);
    }

    #[test]
    fn lockout_after_five_failures_for_fifteen_minutes() {
        let l = Lockout::default();
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
