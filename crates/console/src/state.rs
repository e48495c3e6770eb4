//! Where the console keeps what outlives one request: sessions, sign-ins waiting for their MFA
//! code, failed sign-in counts and federation sign-in tokens. Each is a JSON document under a
//! (kind, key) with an expiry. [`MemoryState`] (the default) keeps them in this process; a
//! server whose nodes share a store gives the console one that every node reads
//! ([`crate::Backend::shared_state`]), so a browser signed in on one node is signed in on all.

use parking_lot::Mutex;
use std::collections::HashMap;

/// What [`SharedState::update`] does with the current document: `Some((doc, expires))` to
/// store, `None` to remove.
pub type Change<'a> = &'a mut dyn FnMut(Option<&str>) -> Option<(String, i64)>;

/// A store of expiring documents. Implementations must make [`SharedState::update`] atomic
/// (a lockout count or a single-use token must not be raced by two nodes).
pub trait SharedState: Send + Sync + 'static {
    /// The document under (`kind`, `key`) unless it has expired at `now`.
    fn get(&self, kind: &str, key: &str, now: i64) -> Option<String>;
    /// Atomically replaces the document with `f(current)`: `Some((doc, expires))` stores,
    /// `None` removes. `current` is `None` when absent or expired at `now`. Returns what was
    /// there before (live), so a remove is also a single-use "take".
    fn update(&self, kind: &str, key: &str, now: i64, f: Change<'_>) -> Option<String>;
}

/// At most this many documents in memory (expired ones are dropped first when full; then the
/// oldest-expiring).
const MAX_DOCS: usize = 50_000;

/// This process's memory (a restart signs everyone out, the safe direction).
#[derive(Default)]
pub struct MemoryState {
    map: Mutex<HashMap<(String, String), (String, i64)>>,
}

impl SharedState for MemoryState {
    fn get(&self, kind: &str, key: &str, now: i64) -> Option<String> {
        let m = self.map.lock();
        m.get(&(kind.to_owned(), key.to_owned()))
            .filter(|(_, exp)| *exp > now)
            .map(|(d, _)| d.clone())
    }

    fn update(&self, kind: &str, key: &str, now: i64, f: Change<'_>) -> Option<String> {
        let mut m = self.map.lock();
        let k = (kind.to_owned(), key.to_owned());
        let before = m
            .get(&k)
            .filter(|(_, exp)| *exp > now)
            .map(|(d, _)| d.clone());
        match f(before.as_deref()) {
            Some(v) => {
                if m.len() >= MAX_DOCS && !m.contains_key(&k) {
                    m.retain(|_, (_, exp)| *exp > now);
                    if m.len() >= MAX_DOCS
                        && let Some(oldest) = m
                            .iter()
                            .min_by_key(|(_, (_, e))| *e)
                            .map(|(k, _)| k.clone())
                    {
                        m.remove(&oldest);
                    }
                }
                m.insert(k, v);
            }
            None => {
                m.remove(&k);
            }
        }
        before
    }
}

/// Typed helpers over a [`SharedState`].
pub trait SharedStateExt {
    fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        now: i64,
    ) -> Option<T>;
    fn put_json<T: serde::Serialize>(&self, kind: &str, key: &str, v: &T, expires: i64, now: i64);
    /// Removes and returns a live document (a single-use token).
    fn take_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        now: i64,
    ) -> Option<T>;
}

impl<S: SharedState + ?Sized> SharedStateExt for S {
    fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        now: i64,
    ) -> Option<T> {
        serde_json::from_str(&self.get(kind, key, now)?).ok()
    }
    fn put_json<T: serde::Serialize>(&self, kind: &str, key: &str, v: &T, expires: i64, now: i64) {
        let doc = serde_json::to_string(v).expect("console state serialises");
        self.update(kind, key, now, &mut |_| Some((doc.clone(), expires)));
    }
    fn take_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        now: i64,
    ) -> Option<T> {
        serde_json::from_str(&self.update(kind, key, now, &mut |_| None)?).ok()
    }
}

/// What every implementation must do, as one check that panics on the first difference (the
/// server runs it against its store too).
pub fn conformance(s: &dyn SharedState) {
    assert_eq!(s.get("k", "a", 0), None);
    s.update("k", "a", 0, &mut |cur| {
        assert_eq!(cur, None);
        Some(("1".into(), 10))
    });
    assert_eq!(s.get("k", "a", 9).as_deref(), Some("1"));
    assert_eq!(s.get("k", "a", 10), None, "expired at its expiry");
    assert_eq!(s.get("other", "a", 0), None, "kinds are separate");
    let before = s.update("k", "a", 5, &mut |cur| {
        let n: u32 = cur.unwrap().parse().unwrap();
        Some(((n + 1).to_string(), 10))
    });
    assert_eq!(before.as_deref(), Some("1"));
    assert_eq!(s.get("k", "a", 5).as_deref(), Some("2"));
    assert_eq!(s.update("k", "a", 5, &mut |_| None).as_deref(), Some("2"));
    assert_eq!(s.update("k", "a", 5, &mut |_| None), None, "taken once");
    s.update("k", "b", 0, &mut |_| Some(("x".into(), 3)));
    assert_eq!(
        s.update("k", "b", 3, &mut |cur| {
            assert_eq!(cur, None, "an expired document is absent");
            None
        }),
        None
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_state_conforms() {
        conformance(&MemoryState::default());
    }
}
