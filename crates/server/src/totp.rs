//! RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) for virtual MFA devices, and the
//! base32 (RFC 4648, no padding) seed encoding IAM's `Base32StringSeed` uses.

use hmac::{Hmac, KeyInit, Mac};

pub const STEP: u64 = 30;

/// The 6-digit code for time step `step` (RFC 4226 HOTP with the step as counter).
pub fn code_at_step(seed: &[u8], step: u64) -> String {
    let mut m = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(seed).expect("any key length");
    m.update(&step.to_be_bytes());
    let h = m.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[off] & 0x7f) << 24)
        | (u32::from(h[off + 1]) << 16)
        | (u32::from(h[off + 2]) << 8)
        | u32::from(h[off + 3]);
    format!("{:06}", bin % 1_000_000)
}

pub fn step_of(unix_secs: i64) -> u64 {
    (unix_secs.max(0) as u64) / STEP
}

/// Finds the step (within ±`window` steps of `now`) whose code is `code`, comparing in
/// constant time.
pub fn matching_step(seed: &[u8], code: &str, unix_secs: i64, window: u64) -> Option<u64> {
    let now = step_of(unix_secs);
    let mut found = None;
    for s in now.saturating_sub(window)..=now + window {
        if crate::crypto::ct_eq(code_at_step(seed, s).as_bytes(), code.as_bytes()) {
            found = Some(s);
        }
    }
    found
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buf: u64 = 0;
    let mut bits = 0;
    for &b in data {
        buf = (buf << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf: u64 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = B32.iter().position(|&x| x == c.to_ascii_uppercase())? as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// A `otpauth://` URI as authenticator apps read it (IAM's QR code encodes this).
pub fn otpauth_uri(label: &str, issuer: &str, seed_b32: &str) -> String {
    format!("otpauth://totp/{issuer}:{label}?secret={seed_b32}&issuer={issuer}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA1 seed "12345678901234567890", 8 digits → last 6 here.
        let seed = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at_step(seed, step_of(t)), eight[2..], "t={t}");
        }
        assert_eq!(matching_step(seed, "287082", 59, 1), Some(1));
        assert_eq!(matching_step(seed, "287082", 59 + 90, 1), None);
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        let mut seed = [0u8; 40];
        crate::ids::random_bytes(&mut seed);
        assert_eq!(base32_decode(&base32_encode(&seed)).unwrap(), seed);
    }
}
