//! Registry passwords and download tokens.
//!
//! A registry password is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))` where the
//! payload is `v1\n<access key id>\n<region>\n<expiry epoch seconds>`. The key is 32 random bytes
//! stored with mode 0600 in the data directory (`registry-token.key`), so passwords survive a
//! restart and nothing but this process can mint one. The password carries no secret of the
//! caller: on every registry request the server re-resolves the access key through the `Host`,
//! so a deleted key or an expired session stops working even before the token expires.
//! Download URLs (GetDownloadUrlForLayer) carry a token of the same construction whose payload
//! also names the repository and the digest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = hmac::Hmac<Sha256>;

#[derive(Clone)]
pub struct TokenKey {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// What a valid registry password says.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryClaims {
    pub access_key_id: String,
    pub region: String,
    pub expires: SystemTime,
}

/// What a valid download token says.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadClaims {
    pub access_key_id: String,
    pub region: String,
    pub repository: String,
    pub digest: String,
}

impl TokenKey {
    /// Loads the key from `path`, creating it (0600, fsynced) if absent.
    pub fn load_or_create(path: &Path) -> anyhow::Result<TokenKey> {
        match std::fs::read(path) {
            Ok(b) if b.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&b);
                return Ok(TokenKey { key });
            }
            Ok(_) => anyhow::bail!("{} does not hold a 32-byte key", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(path)?;
        f.write_all(&key)?;
        f.sync_all()?;
        Ok(TokenKey { key })
    }

    /// The key kept in the shared store (store-wide `Meta` row `ecr-registry-token-key`),
    /// created by whichever node asks first: every node then accepts the registry passwords
    /// every other node issued.
    pub fn shared(kv: &std::sync::Arc<dyn kagi_store::Kv>) -> anyhow::Result<TokenKey> {
        Ok(TokenKey {
            key: kagi_store::shared_key(kv, "ecr-registry-token-key")?,
        })
    }

    #[cfg(test)]
    pub fn from_bytes(key: [u8; 32]) -> TokenKey {
        TokenKey { key }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut m = <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("any key length");
        m.update(payload);
        m
    }

    fn seal(&self, payload: String) -> String {
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Returns the payload when the MAC verifies (constant-time).
    fn open(&self, token: &str) -> Option<String> {
        let (p, t) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(t).ok()?;
        self.mac(&payload).verify_slice(&tag).ok()?;
        String::from_utf8(payload).ok()
    }

    pub fn mint_registry(&self, access_key_id: &str, region: &str, expires: SystemTime) -> String {
        self.seal(format!("v1\n{access_key_id}\n{region}\n{}", secs(expires)))
    }

    /// Verifies MAC and expiry.
    pub fn verify_registry(&self, password: &str, now: SystemTime) -> Option<RegistryClaims> {
        let p = self.open(password)?;
        let f: Vec<&str> = p.split('\n').collect();
        if f.len() != 4 || f[0] != "v1" {
            return None;
        }
        let expires = UNIX_EPOCH + Duration::from_secs(f[3].parse().ok()?);
        if now >= expires {
            return None;
        }
        Some(RegistryClaims {
            access_key_id: f[1].into(),
            region: f[2].into(),
            expires,
        })
    }

    pub fn mint_download(&self, c: &DownloadClaims, expires: SystemTime) -> String {
        self.seal(format!(
            "dl1\n{}\n{}\n{}\n{}\n{}",
            c.access_key_id,
            c.region,
            c.repository,
            c.digest,
            secs(expires)
        ))
    }

    pub fn verify_download(&self, token: &str, now: SystemTime) -> Option<DownloadClaims> {
        let p = self.open(token)?;
        let f: Vec<&str> = p.split('\n').collect();
        if f.len() != 6 || f[0] != "dl1" {
            return None;
        }
        if now >= UNIX_EPOCH + Duration::from_secs(f[5].parse().ok()?) {
            return None;
        }
        Some(DownloadClaims {
            access_key_id: f[1].into(),
            region: f[2].into(),
            repository: f[3].into(),
            digest: f[4].into(),
        })
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_roundtrip_and_tamper() {
        let k = TokenKey::from_bytes([7; 32]);
        let now = SystemTime::now();
        let t = k.mint_registry(
            "AKIAEXAMPLE",
            "ap-northeast-1",
            now + Duration::from_secs(60),
        );
        let c = k.verify_registry(&t, now).unwrap();
        assert_eq!(c.access_key_id, "AKIAEXAMPLE");
        assert_eq!(c.region, "ap-northeast-1");
        assert!(
            k.verify_registry(&t, now + Duration::from_secs(61))
                .is_none(),
            "expired"
        );
        let other = TokenKey::from_bytes([8; 32]);
        assert!(other.verify_registry(&t, now).is_none(), "other key");
        // Swap the payload for one naming another key id, keep the MAC.
        let (_, mac) = t.split_once('.').unwrap();
        let forged = format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(format!("v1\nAKIAOTHER\nap-northeast-1\n{}", secs(now) + 60))
        );
        assert!(k.verify_registry(&forged, now).is_none());
        assert!(k.verify_registry("garbage", now).is_none());
    }

    #[test]
    fn download_roundtrip() {
        let k = TokenKey::from_bytes([1; 32]);
        let now = SystemTime::now();
        let c = DownloadClaims {
            access_key_id: "A".into(),
            region: "r".into(),
            repository: "x/y".into(),
            digest: "sha256:00".into(),
        };
        let t = k.mint_download(&c, now + Duration::from_secs(5));
        assert_eq!(k.verify_download(&t, now), Some(c));
        assert!(
            k.verify_registry(&t, now).is_none(),
            "a download token is not a password"
        );
    }

    #[test]
    fn key_file_is_private_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        let a = TokenKey::load_or_create(&p).unwrap();
        let b = TokenKey::load_or_create(&p).unwrap();
        assert_eq!(a.key, b.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
