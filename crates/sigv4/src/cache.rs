//! A small, bounded cache of derived signing keys.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use crate::canonical::SigningKey;

/// Caches `SigningKey::derive(secret, date, region, service)` (four HMACs) so a busy server
/// derives each key once per day per scope instead of once per request.
///
/// Keys are looked up by the exact secret text (never by a hash of it, so two secrets can never
/// share an entry). When `capacity` entries are stored the cache is emptied and refilled (keys
/// change daily, so a simple wipe is enough). Thread-safe; `Debug` prints only the size.
pub struct SigningKeyCache {
    entries: RwLock<HashMap<String, SigningKey>>,
    capacity: usize,
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        SigningKeyCache::new(4096)
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl SigningKeyCache {
    /// A cache holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        SigningKeyCache {
            entries: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |m| m.len())
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every key (e.g. after a secret was rotated, though stale entries are harmless:
    /// they are keyed by the old secret).
    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.write() {
            m.clear();
        }
    }

    /// The signing key for the scope, derived on a miss.
    pub fn get_or_derive(
        &self,
        secret_access_key: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        // Length-prefixed so that no two different tuples share an id.
        let mut id = String::with_capacity(
            secret_access_key.len() + date.len() + region.len() + service.len() + 16,
        );
        for part in [secret_access_key, date, region, service] {
            id.push_str(&part.len().to_string());
            id.push(':');
            id.push_str(part);
        }
        if let Ok(m) = self.entries.read()
            && let Some(k) = m.get(&id)
        {
            return k.clone();
        }
        let key = SigningKey::derive(secret_access_key, date, region, service);
        if let Ok(mut m) = self.entries.write() {
            if m.len() >= self.capacity {
                m.clear();
            }
            m.insert(id, key.clone());
        }
        key
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
}
