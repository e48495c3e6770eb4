//! Identifiers as AWS makes them, ARNs, and timestamps.
//!
//! * unique ids: a 4-letter prefix (`AIDA` user, `AROA` role, `ANPA` policy, `AGPA` group,
//!   `ANVA` policy version) + 17 characters of `[A-Z2-7]` (21 in all);
//! * access key ids: `AKIA` (long-term) / `ASIA` (STS) + 16 characters of `[A-Z2-7]`;
//! * secret access keys: 40 characters of the base64 alphabet;
//! * account ids: 12 digits, first one non-zero.
//!
//! Time is carried as whole Unix seconds (`i64`) and rendered as ISO-8601 UTC in the form the
//! cross-crate value convention wants (`2026-11-24T10:30:00+00:00`).

use kagi_time::days_from_civil;
use std::time::{SystemTime, UNIX_EPOCH};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Fills `buf` from the operating system's CSPRNG.
///
/// Small requests are served from a per-thread buffer of OS randomness refilled 1 KiB at a time
/// (one `getrandom` call instead of one per id, key, secret and nonce); every byte is handed
/// out once and then forgotten, so this is exactly as unpredictable as calling the OS each time.
pub fn random_bytes(buf: &mut [u8]) {
    const POOL: usize = 1024;
    struct Pool {
        bytes: [u8; POOL],
        used: usize,
    }
    thread_local! {
        static RNG: std::cell::RefCell<Pool> =
            const { std::cell::RefCell::new(Pool { bytes: [0; POOL], used: POOL }) };
    }
    if buf.len() > POOL / 4 {
        getrandom::fill(buf).expect("the operating system's random number generator failed");
        return;
    }
    RNG.with_borrow_mut(|p| {
        if p.used + buf.len() > POOL {
            getrandom::fill(&mut p.bytes)
                .expect("the operating system's random number generator failed");
            p.used = 0;
        }
        let take = &mut p.bytes[p.used..p.used + buf.len()];
        buf.copy_from_slice(take);
        take.fill(0); // handed out: not kept
        p.used += buf.len();
    });
}

fn random_base32(n: usize) -> String {
    let mut raw = vec![0u8; n];
    random_bytes(&mut raw);
    raw.iter()
        .map(|b| BASE32[(b & 31) as usize] as char)
        .collect()
}

/// Unique id kinds and their AWS prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    User,
    Role,
    Policy,
    Group,
    PolicyVersion,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "AIDA",
            IdKind::Role => "AROA",
            IdKind::Policy => "ANPA",
            IdKind::Group => "AGPA",
            IdKind::PolicyVersion => "ANVA",
        }
    }
}

/// A fresh unique id such as `AIDAJQABLZS4A3QDU576Q`.
pub fn unique_id(kind: IdKind) -> String {
    format!("{}{}", kind.prefix(), random_base32(17))
}

/// A fresh access key id: `AKIA…` (long-term) or `ASIA…` (temporary), 20 characters.
pub fn access_key_id(temporary: bool, account: &str) -> String {
    // As AWS's keys: 10 bytes in base32 after the prefix; the first six hold the account id
    // shifted left by 7 bits (bit 47 clear, the low 7 bits random), the other four are random.
    // `sts get-access-key-info` decodes it, and so does authentication ([`account_of_key`]):
    // finding a key's account costs no lookup.
    let mut raw = [0u8; 10];
    random_bytes(&mut raw);
    let acct: u64 = account.parse().unwrap_or(0);
    let v = (acct << 7) | u64::from(raw[5] & 0x7f);
    raw[..6].copy_from_slice(&v.to_be_bytes()[2..]);
    let mut out = String::with_capacity(20);
    out.push_str(if temporary { "ASIA" } else { "AKIA" });
    let mut bits: u32 = 0;
    let mut n = 0;
    for b in raw {
        bits = (bits << 8) | u32::from(b);
        n += 8;
        while n >= 5 {
            n -= 5;
            out.push(BASE32[((bits >> n) & 31) as usize] as char);
        }
    }
    out
}

/// The account id an access key id encodes (see [`access_key_id`]); `None` when it is not
/// 20 characters of `A-Z2-7` after a four-letter prefix. Keys issued before kagi encoded the
/// account decode to some other number: callers fall back to the bootstrap account.
pub fn account_of_key(key_id: &str) -> Option<String> {
    let body = key_id.as_bytes().get(4..20)?;
    if key_id.len() != 20 {
        return None;
    }
    let mut v: u64 = 0;
    // The first 48 bits are the first 9.6 characters: take ten (50 bits) and drop two.
    for &c in &body[..10] {
        let d = BASE32.iter().position(|&b| b == c)? as u64;
        v = (v << 5) | d;
    }
    for &c in &body[10..] {
        BASE32.iter().position(|&b| b == c)?;
    }
    let v = v >> 2;
    Some(format!("{:012}", (v & 0x7fff_ffff_ff80) >> 7))
}

/// A fresh 40-character secret access key.
pub fn secret_access_key() -> String {
    use base64::Engine;
    let mut raw = [0u8; 30];
    random_bytes(&mut raw);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A fresh 12-digit account id.
pub fn account_id() -> String {
    let mut raw = [0u8; 12];
    random_bytes(&mut raw);
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            let d = if i == 0 { 1 + b % 9 } else { b % 10 };
            (b'0' + d) as char
        })
        .collect()
}

/// True when `s` looks like an access key id of ours.
/// Twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

pub fn is_access_key_id(s: &str) -> bool {
    s.len() == 20
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s.bytes().all(|b| BASE32.contains(&b))
}

/// `arn:aws:iam::ACCT:KIND/PATH/NAME` (path is `/` or `/a/b/`).
pub fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn secs_of(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn parts(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    kagi_time::civil_time(secs)
}

/// `2026-11-24T10:30:00+00:00`: the timestamp form inside a `serde_json::Value`.
pub fn iso8601(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
}

/// `20261124T103000Z` (SigV4's basic format).
pub fn amz_date(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)` (UTC only) into Unix seconds.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hh = rest.get(1..3)?.parse::<i64>().ok()?;
            let mm = rest.get(rest.len() - 2..)?.parse::<i64>().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// Validates an IAM path: `/` or `/…/`, 1..=512 characters of `\u0021-\u007F`.
pub fn valid_path(p: &str) -> bool {
    p.len() <= 512
        && p.starts_with('/')
        && p.ends_with('/')
        && p.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !p.contains("//")
}

/// Validates an IAM user/group/role name: `[\w+=,.@-]+`, 1..=max characters.
pub fn valid_name(n: &str, max: usize) -> bool {
    !n.is_empty()
        && n.len() <= max
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_carry_their_account_as_aws_does() {
        // The example of "A short note on AWS KEY ID" (Tal Be'ery, 2023), also decoded by
        // `aws sts get-access-key-info`.
        assert_eq!(
            account_of_key("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        for account in [
            "000000000000",
            "123456789012",
            "999999999999",
            "609629065308",
        ] {
            for temporary in [false, true] {
                let k = access_key_id(temporary, account);
                assert!(is_access_key_id(&k), "{k}");
                assert_eq!(&k[..4], if temporary { "ASIA" } else { "AKIA" });
                assert_eq!(account_of_key(&k).as_deref(), Some(account), "{k}");
            }
        }
        assert_ne!(
            access_key_id(false, "123456789012"),
            access_key_id(false, "123456789012")
        );
        assert_eq!(account_of_key("AKIA1"), None);
        assert_eq!(account_of_key("AKIAaaaaaaaaaaaaaaaa"), None);
    }

    #[test]
    fn id_shapes() {
        let u = unique_id(IdKind::User);
        assert_eq!(u.len(), 21);
        assert!(u.starts_with("AIDA"));
        assert!(u.bytes().all(|b| BASE32.contains(&b)));
        let k = access_key_id(false, "123456789012");
        assert!(is_access_key_id(&k) && k.starts_with("AKIA"));
        assert!(access_key_id(true, "123456789012").starts_with("ASIA"));
        assert_eq!(secret_access_key().len(), 40);
        let a = account_id();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|b| b.is_ascii_digit()) && !a.starts_with('0'));
        assert_ne!(unique_id(IdKind::Role), unique_id(IdKind::Role));
    }

    #[test]
    fn random_bytes_never_repeat_across_pool_refills() {
        // 64 draws of 24 bytes cross the 1 KiB pool boundary; a stuck or replayed pool would
        // hand out the same bytes twice.
        let mut seen = std::collections::HashSet::new();
        for len in [24usize, 16, 12, 32, 300] {
            for _ in 0..64 {
                let mut b = vec![0u8; len];
                random_bytes(&mut b);
                assert!(b.iter().any(|&x| x != 0));
                assert!(seen.insert(b), "random bytes repeated");
            }
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_795_516_200), "2026-11-24T10:30:00+00:00");
        assert_eq!(amz_date(1_795_516_200), "20261124T103000Z");
        for s in [0, 951_782_400, 1_795_516_200, 4_102_444_799] {
            assert_eq!(parse_iso8601(&iso8601(s)), Some(s));
        }
        assert_eq!(parse_iso8601("2026-11-24T10:30:00Z"), Some(1_795_516_200));
        assert_eq!(
            parse_iso8601("2026-11-24T10:30:00.123Z"),
            Some(1_795_516_200)
        );
        assert_eq!(
            parse_iso8601("2026-11-24T11:30:00+01:00"),
            Some(1_795_516_200)
        );
        assert_eq!(parse_iso8601("nope"), None);
    }

    #[test]
    fn names_and_paths() {
        assert!(valid_path("/"));
        assert!(valid_path("/division_abc/subdivision_xyz/"));
        assert!(!valid_path("a/"));
        assert!(!valid_path("/a"));
        assert!(valid_name("user-for-switch", 64));
        assert!(!valid_name("bad name", 64));
        assert!(!valid_name(&"a".repeat(65), 64));
    }
}
