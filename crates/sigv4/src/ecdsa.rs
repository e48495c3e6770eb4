//! SigV4a's primitives: the key pair derived from the credentials, the ECDSA P-256
//! signature, the scope and the string to sign. Below `sign` and `verify`, which share them;
//! the request-level API is in `sigv4a`.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, SigningKey as P256SigningKey, VerifyingKey};
use sha2::Sha256;

use crate::canonical::sha256_hex;
use crate::hex;

/// The SigV4a algorithm name (`Authorization` prefix, `X-Amz-Algorithm`, first line of the
/// string to sign).
pub const ALGORITHM_V4A: &str = "AWS4-ECDSA-P256-SHA256";

/// The signed header carrying the region set.
pub const REGION_SET_HEADER: &str = "x-amz-region-set";

/// `DATE/SERVICE/aws4_request`
pub fn credential_scope_v4a(date: &str, service: &str) -> String {
    format!("{date}/{service}/aws4_request")
}

/// `AWS4-ECDSA-P256-SHA256\nAMZDATE\nSCOPE\nhex(sha256(canonical_request))`
pub fn string_to_sign_v4a(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM_V4A}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The order of P-256 minus 2, big-endian: the largest acceptable KDF candidate.
const N_MINUS_2: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x4F,
];

/// KDF label (and the algorithm name).
const KDF_LABEL: &[u8] = ALGORITHM_V4A.as_bytes();

/// Whether big-endian `a > b`, without branching on the bytes (the candidate is secret).
fn greater_than(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let (mut gt, mut eq) = (0u8, 1u8);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (i32::from(x), i32::from(y));
        gt |= (((y - x) >> 31) & 1) as u8 & eq;
        eq &= ((((x ^ y) - 1) >> 31) & 1) as u8;
    }
    gt == 1
}

/// Adds one to a big-endian number (the caller guarantees no overflow).
fn add_one(n: &mut [u8; 32]) {
    let mut carry = 1u16;
    for b in n.iter_mut().rev() {
        let v = u16::from(*b) + carry;
        *b = (v & 0xFF) as u8;
        carry = v >> 8;
    }
}

/// A SigV4a private key derived from an access key id and its secret. A secret in its own
/// right: `Debug` prints nothing of it.
#[derive(Clone)]
pub struct EcdsaKey(P256SigningKey);

impl fmt::Debug for EcdsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcdsaKey(<redacted>)")
    }
}

impl PartialEq for EcdsaKey {
    fn eq(&self, other: &Self) -> bool {
        self.public_key() == other.public_key()
    }
}

impl Eq for EcdsaKey {}

impl EcdsaKey {
    /// The key pair of `(access_key_id, secret_access_key)`, as aws-c-auth derives it:
    /// for counter = 1, 2, …: `k0 = HMAC-SHA256("AWS4A" + secret, 0x00000001 ||
    /// "AWS4-ECDSA-P256-SHA256" || 0x00 || access_key_id || counter || 0x00000100)`; the first
    /// `k0 <= n - 2` gives the private key `k0 + 1`. (A counter beyond 1 is needed with
    /// probability about 2^-32; running out of counters, 2^-8128.)
    pub fn derive(access_key_id: &str, secret_access_key: &str) -> Self {
        let mut key = Vec::with_capacity(5 + secret_access_key.len());
        key.extend_from_slice(b"AWS4A");
        key.extend_from_slice(secret_access_key.as_bytes());
        let mut input = Vec::with_capacity(32 + access_key_id.len());
        for counter in 1..=254u8 {
            input.clear();
            input.extend_from_slice(&1u32.to_be_bytes());
            input.extend_from_slice(KDF_LABEL);
            input.push(0);
            input.extend_from_slice(access_key_id.as_bytes());
            input.push(counter);
            input.extend_from_slice(&256u32.to_be_bytes());
            let mut mac = <Hmac<Sha256>>::new_from_slice(&key).expect("HMAC takes any key length");
            mac.update(&input);
            let mut k0 = [0u8; 32];
            k0.copy_from_slice(&mac.finalize().into_bytes());
            if greater_than(&k0, &N_MINUS_2) {
                continue;
            }
            add_one(&mut k0);
            // 1 <= k0 <= n - 1: a valid scalar.
            if let Ok(k) = P256SigningKey::from_slice(&k0) {
                return EcdsaKey(k);
            }
        }
        unreachable!("SigV4a key derivation exhausted 254 counters (probability 2^-8128)")
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// Lower-case hex of the DER-encoded ECDSA signature of SHA-256(`string_to_sign`)
    /// (deterministic, RFC 6979).
    pub fn sign(&self, string_to_sign: &str) -> String {
        let sig: DerSignature = self.0.sign(string_to_sign.as_bytes());
        hex::encode(sig.as_bytes())
    }
}

/// A SigV4a public key (a P-256 point).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (x, y) = self.coordinates_hex();
        f.debug_struct("PublicKey")
            .field("x", &x)
            .field("y", &y)
            .finish()
    }
}

impl PublicKey {
    /// From the affine coordinates in hex (64 characters each, as in the test suite's
    /// `public-key.json`); `None` if they are not a point of the curve.
    pub fn from_coordinates_hex(x: &str, y: &str) -> Option<Self> {
        let (x, y) = (hex::decode32(x)?, hex::decode32(y)?);
        let mut sec1 = [0u8; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(&x);
        sec1[33..].copy_from_slice(&y);
        VerifyingKey::from_sec1_bytes(&sec1).ok().map(PublicKey)
    }

    /// The affine coordinates, lower-case hex.
    pub fn coordinates_hex(&self) -> (String, String) {
        let point = self.0.to_sec1_point(false);
        let bytes = point.as_bytes();
        (hex::encode(&bytes[1..33]), hex::encode(&bytes[33..65]))
    }

    /// Whether `signature_hex` (DER, hex in either case) is a valid signature of
    /// `string_to_sign`.
    pub fn verify(&self, string_to_sign: &str, signature_hex: &str) -> bool {
        let Some(der) = hex::decode(signature_hex) else {
            return false;
        };
        let Ok(sig) = DerSignature::from_bytes(&der) else {
            return false;
        };
        self.0.verify(string_to_sign.as_bytes(), &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_helpers() {
        let mut a = [0u8; 32];
        a[31] = 0xFF;
        a[30] = 0x01;
        add_one(&mut a);
        assert_eq!((a[30], a[31]), (2, 0));
        assert!(!greater_than(&N_MINUS_2, &N_MINUS_2));
        let mut above = N_MINUS_2;
        add_one(&mut above);
        assert!(greater_than(&above, &N_MINUS_2));
        assert!(!greater_than(&N_MINUS_2, &above));
        assert!(greater_than(&[0xFF; 32], &N_MINUS_2));
        assert!(!greater_than(&[0; 32], &N_MINUS_2));
    }

    #[test]
    fn debug_redacts_and_keys_differ() {
        let k = EcdsaKey::derive("AKID", "secret");
        assert_eq!(format!("{k:?}"), "EcdsaKey(<redacted>)");
        assert_eq!(k, EcdsaKey::derive("AKID", "secret"));
        assert_ne!(k, EcdsaKey::derive("AKID2", "secret"));
        assert_ne!(k, EcdsaKey::derive("AKID", "secret2"));
        let (x, y) = k.public_key().coordinates_hex();
        assert_eq!(
            PublicKey::from_coordinates_hex(&x, &y),
            Some(k.public_key())
        );
        assert_eq!(PublicKey::from_coordinates_hex(&x, &x), None);
        let sig = k.sign("hello");
        assert!(k.public_key().verify("hello", &sig));
        assert!(!k.public_key().verify("hellO", &sig));
        assert!(!k.public_key().verify("hello", "zz"));
        assert!(
            !EcdsaKey::derive("AKID2", "secret")
                .public_key()
                .verify("hello", &sig)
        );
    }
}
