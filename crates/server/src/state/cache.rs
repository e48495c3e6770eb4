//! In-memory caches of derived data, valid for one store generation
//! ([`crate::store::Store::generation`]): every committed IAM write changes the generation, and
//! the first insert at a new generation empties the map, so nothing stale is ever served.

use crate::caller::Principal;
use kagi_policy::CompiledPolicy;
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A map valid for one store generation, holding at most `cap` entries (more are not kept;
/// the map is emptied at the next generation anyway).
pub struct GenMap<V> {
    inner: RwLock<(u64, HashMap<String, V>)>,
    cap: usize,
}

impl<V: Clone> GenMap<V> {
    pub fn with_capacity_limit(cap: usize) -> GenMap<V> {
        GenMap {
            inner: RwLock::new((0, HashMap::new())),
            cap,
        }
    }

    /// The entry for `key` if it was stored at `generation`.
    pub fn get(&self, generation: u64, key: &str) -> Option<V> {
        let c = self.inner.read();
        if c.0 == generation {
            c.1.get(key).cloned()
        } else {
            None
        }
    }

    /// Stores `v`, computed at `generation`.
    pub fn insert(&self, generation: u64, key: String, v: V) {
        let mut c = self.inner.write();
        if c.0 != generation {
            // Only move forward: a slow loader of an older generation must not empty a map
            // that already holds newer entries.
            if c.0 > generation {
                return;
            }
            *c = (generation, HashMap::new());
        }
        if c.1.len() < self.cap {
            c.1.insert(key, v);
        }
    }

    /// `get`, else `load` and `insert`.
    pub fn get_or_load<E>(
        &self,
        generation: u64,
        key: &str,
        load: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(v) = self.get(generation, key) {
            return Ok(v);
        }
        let v = load()?;
        self.insert(generation, key.to_owned(), v.clone());
        Ok(v)
    }
}

impl<V: Clone> Default for GenMap<V> {
    fn default() -> Self {
        GenMap::with_capacity_limit(100_000)
    }
}

/// A resolved long-term key: its owner and its secret (kept only in memory).
#[derive(Clone)]
pub struct KeyEntry {
    pub secret: Arc<str>,
    pub principal: Principal,
    /// The account the key belongs to.
    pub account: Arc<str>,
}

/// Long-term access keys by key id (`None`: unknown, inactive, or its user is gone).
pub type KeyCache = GenMap<Option<KeyEntry>>;

/// The compiled policies that apply to one principal.
#[derive(Default)]
pub struct PrincipalPolicies {
    pub identity: Vec<CompiledPolicy>,
    pub boundary: Option<CompiledPolicy>,
    pub tags: Vec<(String, String)>,
}

/// An account's place in its organization, ready for evaluation (built by
/// `crate::orgs::view`).
#[derive(Debug)]
pub struct OrgView {
    pub org_id: String,
    pub management_account: String,
    /// The account was closed (CloseAccount): its credentials and roles no longer work.
    pub closed: bool,
    /// `o-…/r-…/ou-…/…/` (the account's parent path, as `aws:PrincipalOrgPaths` lists it).
    pub path: String,
    /// The SCPs at each level (root, each OU down to the account, the account): `None` when
    /// the type is not enabled or the account is the management account (SCPs do not apply).
    pub scp: Option<Vec<Vec<CompiledPolicy>>>,
    /// The RCPs that cap the account's resources, same shape (`None`: not enabled, or the
    /// management account's resources).
    pub rcp: Option<Vec<Vec<CompiledPolicy>>>,
}

/// What [`crate::authz`] caches.
#[derive(Default)]
pub struct PolicyCache {
    /// By `ACCOUNT\0KIND\0lower(name)`.
    pub principals: GenMap<Arc<PrincipalPolicies>>,
    /// Roles' compiled trust policies, by `ROLE-ID\0lower(name)`.
    pub trust: GenMap<Arc<CompiledPolicy>>,
    /// User and role documents, by `ACCOUNT\0TABLE\0lower(name)`.
    pub entities: GenMap<Option<Arc<Value>>>,
    /// Accounts' places in their organizations (control policies, org ids), by account id.
    pub orgs: GenMap<Option<Arc<OrgView>>>,
    /// Session policies by access key id (a session's never change: not generation-keyed).
    pub sessions: RwLock<HashMap<String, Arc<Vec<CompiledPolicy>>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_at_its_generation() {
        let m: GenMap<u32> = GenMap::default();
        m.insert(3, "a".into(), 1);
        assert_eq!(m.get(3, "a"), Some(1));
        assert_eq!(m.get(4, "a"), None);
        m.insert(4, "b".into(), 2);
        assert_eq!(m.get(4, "a"), None, "a new generation empties the map");
        m.insert(3, "c".into(), 3);
        assert_eq!(
            m.get(4, "b"),
            Some(2),
            "an older generation never replaces a newer one"
        );
        assert_eq!(m.get(3, "c"), None);
    }

    #[test]
    fn the_capacity_limit_keeps_the_map_bounded() {
        let m: GenMap<u32> = GenMap::with_capacity_limit(2);
        for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
            m.insert(1, k.into(), i as u32);
        }
        assert_eq!(m.get(1, "c"), None);
        let mut calls = 0;
        let v: Result<u32, ()> = m.get_or_load(1, "a", || {
            calls += 1;
            Ok(9)
        });
        assert_eq!((v, calls), (Ok(0), 0));
    }
}
