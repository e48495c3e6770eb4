//! Small, bounded caches of derived keys: [`SigningKeyCache`] (SigV4) and [`EcdsaKeyCache`]
//! (SigV4a).

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use crate::canonical::SigningKey;
use crate::ecdsa::EcdsaKey;

/// Length-prefixed concatenation, so that no two different tuples share an id.
fn cache_id(parts: &[&str]) -> String {
    let mut id = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        id.push_str(&part.len().to_string());
        id.push(':');
        id.push_str(part);
    }
    id
}

/// A map that is emptied when full (the shared shape of both caches).
struct Bounded<V> {
    entries: RwLock<HashMap<String, V>>,
    capacity: usize,
}

impl<V: Clone> Bounded<V> {
    fn new(capacity: usize) -> Self {
        Bounded {
            entries: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn len(&self) -> usize {
        self.entries.read().map_or(0, |m| m.len())
    }

    fn clear(&self) {
        if let Ok(mut m) = self.entries.write() {
            m.clear();
        }
    }

    fn get_or_insert_with(&self, id: String, make: impl FnOnce() -> V) -> V {
        if let Ok(m) = self.entries.read()
            && let Some(v) = m.get(&id)
        {
            return v.clone();
        }
        let v = make();
        if let Ok(mut m) = self.entries.write() {
            if m.len() >= self.capacity {
                m.clear();
            }
            m.insert(id, v.clone());
        }
        v
    }
}

/// Caches `SigningKey::derive(secret, date, region, service)` (four HMACs) so a busy server
/// derives each key once per day per scope instead of once per request.
///
/// Keys are looked up by the exact secret text (never by a hash of it, so two secrets can never
/// share an entry). When `capacity` entries are stored the cache is emptied and refilled (keys
/// change daily, so a simple wipe is enough). Thread-safe; `Debug` prints only the size.
pub struct SigningKeyCache(Bounded<SigningKey>);

impl Default for SigningKeyCache {
    fn default() -> Self {
        SigningKeyCache::new(4096)
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.len())
            .field("capacity", &self.0.capacity)
            .finish()
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        SigningKeyCache(Bounded::new(capacity))
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key (e.g. after a secret was rotated, though stale entries are harmless:
    /// they are keyed by the old secret).
    pub fn clear(&self) {
        self.0.clear();
    }

    /// The signing key for the scope, derived on a miss.
    pub fn get_or_derive(
        &self,
        secret_access_key: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        let id = cache_id(&[secret_access_key, date, region, service]);
        self.0.get_or_insert_with(id, || {
            SigningKey::derive(secret_access_key, date, region, service)
        })
    }
}

/// Caches [`EcdsaKey::derive`]`(access_key_id, secret)`: SigV4a keys do not depend on the date
/// or the scope, so one entry serves an access key for its lifetime. Same bounds and rules as
/// [`SigningKeyCache`] (exact-text keys, wiped when `capacity` entries are stored); `Debug`
/// prints only the size.
pub struct EcdsaKeyCache(Bounded<EcdsaKey>);

impl Default for EcdsaKeyCache {
    fn default() -> Self {
        EcdsaKeyCache::new(1024)
    }
}

impl fmt::Debug for EcdsaKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcdsaKeyCache")
            .field("len", &self.len())
            .field("capacity", &self.0.capacity)
            .finish()
    }
}

impl EcdsaKeyCache {
    /// A cache holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        EcdsaKeyCache(Bounded::new(capacity))
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key.
    pub fn clear(&self) {
        self.0.clear();
    }

    /// The key pair of the credentials, derived on a miss.
    pub fn get_or_derive(&self, access_key_id: &str, secret_access_key: &str) -> EcdsaKey {
        let id = cache_id(&[access_key_id, secret_access_key]);
        self.0
            .get_or_insert_with(id, || EcdsaKey::derive(access_key_id, secret_access_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_and_bounds() {
        let c = SigningKeyCache::new(2);
        let a = c.get_or_derive("s", "20150830", "us-east-1", "iam");
        assert_eq!(a, SigningKey::derive("s", "20150830", "us-east-1", "iam"));
        assert_eq!(c.len(), 1);
        assert_eq!(c.get_or_derive("s", "20150830", "us-east-1", "iam"), a);
        assert_eq!(c.len(), 1);
        let b = c.get_or_derive("s2", "20150830", "us-east-1", "iam");
        assert_ne!(a, b);
        assert_eq!(c.len(), 2);
        c.get_or_derive("s3", "20150830", "us-east-1", "iam");
        assert_eq!(c.len(), 1);
        // Text cannot be shifted between fields to reuse another entry.
        assert_ne!(
            c.get_or_derive("s", "1:b", "c", "d"),
            c.get_or_derive("s", "1", "b:c", "d")
        );
        assert!(format!("{c:?}").contains("len"));
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn ecdsa_cache_caches_and_bounds() {
        let c = EcdsaKeyCache::new(2);
        let a = c.get_or_derive("AKID", "s");
        assert_eq!(a, EcdsaKey::derive("AKID", "s"));
        assert_eq!(c.get_or_derive("AKID", "s"), a);
        assert_eq!(c.len(), 1);
        assert_ne!(c.get_or_derive("AKID", "s2"), a);
        assert_eq!(c.len(), 2);
        c.get_or_derive("AKID2", "s");
        assert_eq!(c.len(), 1);
        assert_ne!(c.get_or_derive("a", "1:b"), c.get_or_derive("a1:", "b"));
        let dbg = format!("{c:?}");
        assert!(dbg.contains("len") && !dbg.contains("1:b"));
        c.clear();
        assert!(c.is_empty());
    }
}
