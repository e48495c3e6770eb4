//! Password hashing: Argon2id (argon2 crate defaults: m=19 MiB, t=2, p=1) in PHC string form,
//! with a random 16-byte salt. Verification is constant-time inside the argon2 crate.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=…`).
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("operating system randomness");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// `true` when `password` matches the PHC string `phc` (a malformed `phc` never matches).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A random password for the account root: 24 characters from an unambiguous alphabet plus
/// one of each class, so it satisfies IAM's default password policy.
pub fn random_password() -> String {
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("operating system randomness");
    let mut s: String = bytes
        .iter()
        .map(|b| ALPHA[*b as usize % ALPHA.len()] as char)
        .collect();
    s.push_str("A7a-");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_password() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("correct hors", &h));
        assert!(!verify("correct horse", "not a phc string"));
        assert_ne!(hash("correct horse"), h, "salts differ");
        assert_ne!(random_password(), random_password());
    }
}
