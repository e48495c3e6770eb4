//! Secrets at rest and session tokens.
//!
//! [`Sealer`] holds the 256-bit data key read from (or created in) `DATA_DIR/kagi.key` (mode
//! 0600, created before any byte of key material is written). It seals with AES-256-GCM: a sealed
//! value is `base64(nonce(12) || ciphertext+tag)`, with a purpose label as associated data so a
//! value sealed for one purpose cannot be replayed as another. In in-memory mode the key is random
//! per process.
//!
//! Session tokens ([`Sealer::seal`] with purpose `sts-session`) are therefore opaque and
//! unforgeable: a client cannot mint or modify one without the key, and tampering fails the tag.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::path::Path;

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn from_key(key: &[u8; 32]) -> Sealer {
        let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
        let mac_key = hmac_sha256(key, b"kagi mac key");
        Sealer { cipher, mac_key }
    }

    pub fn random() -> Sealer {
        let mut key = [0u8; 32];
        crate::ids::random_bytes(&mut key);
        Sealer::from_key(&key)
    }

    /// Reads `path` (32 raw bytes) or creates it with mode 0600.
    pub fn open_key_file(path: &Path) -> anyhow::Result<Sealer> {
        if path.exists() {
            let bytes = std::fs::read(path)?;
            let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!(
                    "{} is not a kagi key file (expected 32 bytes)",
                    path.display()
                )
            })?;
            return Ok(Sealer::from_key(&key));
        }
        let mut key = [0u8; 32];
        crate::ids::random_bytes(&mut key);
        crate::files::write_private_file(path, &key)?;
        Ok(Sealer::from_key(&key))
    }

    /// The cluster's key, kept in the shared store (store-wide scope, `Table::Meta`
    /// `sealing-key`): created by the first node in a transaction, so nodes starting together
    /// agree on one (the loser of the race conflicts, re-runs, and reads the winner's).
    pub fn shared(kv: &std::sync::Arc<dyn crate::store::Kv>) -> anyhow::Result<Sealer> {
        Ok(Sealer::from_key(&crate::store::shared_key(
            kv,
            "sealing-key",
        )?))
    }

    /// Seals `plain` for `purpose`; standard base64.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> String {
        STANDARD.encode(self.seal_raw(purpose, plain))
    }

    fn seal_raw(&self, purpose: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        crate::ids::random_bytes(&mut nonce);
        let n = Nonce::try_from(&nonce[..]).expect("12-byte nonce");
        let ct = self
            .cipher
            .encrypt(
                &n,
                Payload {
                    msg: plain,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    fn open_raw(&self, purpose: &str, raw: &[u8]) -> Option<Vec<u8>> {
        if raw.len() < 12 + 16 {
            return None;
        }
        let n = Nonce::try_from(&raw[..12]).ok()?;
        self.cipher
            .decrypt(
                &n,
                Payload {
                    msg: &raw[12..],
                    aad: purpose.as_bytes(),
                },
            )
            .ok()
    }

    /// Opens a value sealed by [`Sealer::seal`]; `None` if tampered, truncated or foreign.
    pub fn open(&self, purpose: &str, sealed: &str) -> Option<Vec<u8>> {
        self.open_raw(purpose, &STANDARD.decode(sealed).ok()?)
    }

    /// Seals a string secret for storage.
    pub fn seal_str(&self, purpose: &str, s: &str) -> String {
        self.seal(purpose, s.as_bytes())
    }

    pub fn open_str(&self, purpose: &str, sealed: &str) -> Option<String> {
        String::from_utf8(self.open(purpose, sealed)?).ok()
    }

    /// A session token: URL-safe base64 of a sealed payload, with a fixed recognisable prefix.
    pub fn seal_token(&self, plain: &[u8]) -> String {
        format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.seal_raw("sts-session", plain))
        )
    }

    pub fn open_token(&self, token: &str) -> Option<Vec<u8>> {
        let body = token.strip_prefix(TOKEN_PREFIX)?;
        self.open_raw("sts-session", &URL_SAFE_NO_PAD.decode(body).ok()?)
    }

    /// A keyed MAC (HMAC-SHA256) for derived, non-reversible values.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.mac_key, data)
    }
}

/// Every session token starts with this (the rest is opaque).
pub const TOKEN_PREFIX: &str = "KagiSTS1";

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let s = Sealer::random();
        let sealed = s.seal_str("secret", "wJalrXUtnFEMI");
        assert_eq!(
            s.open_str("secret", &sealed).as_deref(),
            Some("wJalrXUtnFEMI")
        );
        assert_eq!(s.open_str("other-purpose", &sealed), None);
        let other = Sealer::random();
        assert_eq!(other.open_str("secret", &sealed), None);
        let tok = s.seal_token(b"{\"a\":1}");
        assert!(tok.starts_with(TOKEN_PREFIX));
        assert_eq!(s.open_token(&tok).as_deref(), Some(&b"{\"a\":1}"[..]));
        let mut t = tok.into_bytes();
        let i = t.len() - 5;
        t[i] = if t[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open_token(&String::from_utf8(t).unwrap()), None);
    }

    #[test]
    fn key_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kagi.key");
        let a = Sealer::open_key_file(&p).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sealed = a.seal_str("x", "y");
        let b = Sealer::open_key_file(&p).unwrap();
        assert_eq!(b.open_str("x", &sealed).as_deref(), Some("y"));
    }
}
