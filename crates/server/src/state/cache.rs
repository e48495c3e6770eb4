//! In-memory caches of derived data, valid for one store generation
//! ([`crate::store::Store::generation`]): every committed IAM write changes the generation, and
//! the first insert at a new generation empties the map, so nothing stale is ever served.
//! Beneath them, [`CompiledCache`] keeps compiled policies by content (never stale, so not
//! generation-keyed): a reload after a write re-reads rows but compiles only what changed.

use crate::caller::Principal;
use kagi_policy::{CompiledPolicy, PolicyError, PolicyMeta, PolicyType};
use parking_lot::{Mutex, RwLock};
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

/// The compiled policies that apply to one principal (shared with [`CompiledCache`]).
#[derive(Default)]
pub struct PrincipalPolicies {
    pub identity: Vec<Arc<CompiledPolicy>>,
    pub boundary: Option<Arc<CompiledPolicy>>,
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
    pub sessions: RwLock<HashMap<String, Arc<Vec<Arc<CompiledPolicy>>>>>,
}

/// Compiled policies by content: the key is everything [`CompiledPolicy::from_text`] reads
/// (the document's text, its type, its [`PolicyMeta`]), so an entry can never be stale and
/// needs no generation: a changed document is a different key and compiles anew. What it
/// saves: after every committed IAM write the [`GenMap`]s empty, and reloading a principal's
/// policies, a role's trust policy or a session's policies re-reads rows but no longer
/// re-parses and re-compiles documents that did not change (under a write-heavy mix nearly
/// every request reloads; what that costs, and what the compile was of it, is measured in
/// `crates/server/benches/RESULTS.md`, session 10).
///
/// Bounded: two maps of at most `cap` entries each; lookups search the newer, then the older
/// (moving a hit to the newer); when the newer is full it becomes the older and the older is
/// dropped, so what is still used survives and memory stays under 2 × `cap` entries.
/// Documents that do not parse are not kept (callers log and skip them).
pub struct CompiledCache {
    hasher: std::hash::RandomState,
    maps: Mutex<(CompiledMap, CompiledMap)>,
    cap: usize,
}

/// Entries by the hash of their key; the (rare) colliding entries share a bucket.
type CompiledMap = HashMap<u64, Vec<CompiledEntry>>;

struct CompiledEntry {
    text: Box<str>,
    ty: PolicyType,
    policy: Arc<CompiledPolicy>,
}

impl CompiledEntry {
    fn is(&self, text: &str, ty: PolicyType, meta: &PolicyMeta) -> bool {
        self.ty == ty && *self.text == *text && self.policy.meta == *meta
    }
}

impl CompiledCache {
    pub fn with_capacity_limit(cap: usize) -> CompiledCache {
        CompiledCache {
            hasher: std::hash::RandomState::new(),
            maps: Mutex::new((HashMap::new(), HashMap::new())),
            cap: cap.max(1),
        }
    }

    /// The process-wide cache (content-addressed, so sharing it between servers of one
    /// process, as tests run them, is harmless).
    pub fn global() -> &'static CompiledCache {
        static CACHE: std::sync::OnceLock<CompiledCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(|| CompiledCache::with_capacity_limit(20_000))
    }

    /// `text` parsed as `ty` and compiled with `meta`: the cached one when the same text,
    /// type and meta were compiled before; else compiled now (outside the lock) and kept.
    pub fn compile(
        &self,
        text: &str,
        ty: PolicyType,
        meta: PolicyMeta,
    ) -> Result<Arc<CompiledPolicy>, PolicyError> {
        use std::hash::BuildHasher;
        let hash = self
            .hasher
            .hash_one((text, ty, &meta.id, &meta.arn, meta.origin));
        {
            let mut maps = self.maps.lock();
            let (newer, older) = &mut *maps;
            if let Some(e) = newer
                .get(&hash)
                .and_then(|b| b.iter().find(|e| e.is(text, ty, &meta)))
            {
                return Ok(e.policy.clone());
            }
            let found = older.get_mut(&hash).and_then(|b| {
                let i = b.iter().position(|e| e.is(text, ty, &meta))?;
                Some(b.swap_remove(i))
            });
            if let Some(e) = found {
                let policy = e.policy.clone();
                self.keep(&mut maps, hash, e);
                return Ok(policy);
            }
        }
        let policy = Arc::new(CompiledPolicy::from_text(text, ty, meta)?);
        let entry = CompiledEntry {
            text: text.into(),
            ty,
            policy: policy.clone(),
        };
        let mut maps = self.maps.lock();
        self.keep(&mut maps, hash, entry);
        Ok(policy)
    }

    fn keep(&self, maps: &mut (CompiledMap, CompiledMap), hash: u64, e: CompiledEntry) {
        if maps.0.len() >= self.cap {
            maps.1 = std::mem::take(&mut maps.0);
        }
        let bucket = maps.0.entry(hash).or_default();
        // Two requests that missed together compiled the same policy: keep one.
        if !bucket.iter().any(|x| x.is(&e.text, e.ty, &e.policy.meta)) {
            bucket.push(e);
        }
    }

    /// How many compiled policies are kept.
    pub fn kept(&self) -> usize {
        let maps = self.maps.lock();
        maps.0.values().chain(maps.1.values()).map(Vec::len).sum()
    }
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

    fn doc(action: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
        )
    }

    #[test]
    fn a_compiled_policy_is_kept_by_content_and_equals_a_fresh_compile() {
        let c = CompiledCache::with_capacity_limit(100);
        let meta = PolicyMeta::named("p");
        let a = c
            .compile(&doc("iam:GetUser"), PolicyType::Identity, meta.clone())
            .unwrap();
        let fresh =
            CompiledPolicy::from_text(&doc("iam:GetUser"), PolicyType::Identity, meta.clone())
                .unwrap();
        assert_eq!(
            format!("{a:?}"),
            format!("{fresh:?}"),
            "the same as a fresh compile"
        );
        let again = c
            .compile(&doc("iam:GetUser"), PolicyType::Identity, meta.clone())
            .unwrap();
        assert!(Arc::ptr_eq(&a, &again), "the same content is compiled once");

        // A changed document, another name or another type is another key: compiled anew.
        let changed = c
            .compile(&doc("iam:ListUsers"), PolicyType::Identity, meta.clone())
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &changed));
        assert_eq!(
            format!("{changed:?}"),
            format!(
                "{:?}",
                CompiledPolicy::from_text(
                    &doc("iam:ListUsers"),
                    PolicyType::Identity,
                    meta.clone()
                )
                .unwrap()
            )
        );
        let renamed = c
            .compile(
                &doc("iam:GetUser"),
                PolicyType::Identity,
                PolicyMeta::named("q"),
            )
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &renamed));
        assert_eq!(renamed.meta.id, "q");
        assert_eq!(c.kept(), 3);

        // A document that does not parse is an error, every time, and is not kept.
        assert!(c.compile("{", PolicyType::Identity, meta.clone()).is_err());
        assert!(c.compile("{", PolicyType::Identity, meta).is_err());
        assert_eq!(c.kept(), 3);
    }

    #[test]
    fn the_compiled_cache_stays_bounded_and_keeps_what_is_used() {
        let c = CompiledCache::with_capacity_limit(2);
        let meta = || PolicyMeta::named("p");
        let hot = c
            .compile(&doc("s3:GetObject"), PolicyType::Identity, meta())
            .unwrap();
        for i in 0..20 {
            c.compile(
                &doc(&format!("iam:Action{i}")),
                PolicyType::Identity,
                meta(),
            )
            .unwrap();
            // Used between every two others: it survives the rotations.
            let again = c
                .compile(&doc("s3:GetObject"), PolicyType::Identity, meta())
                .unwrap();
            assert!(Arc::ptr_eq(&hot, &again), "round {i}");
            assert!(c.kept() <= 4, "at most twice the cap: {}", c.kept());
        }
    }
}
