//! Small pure helpers: name/tag/digest grammar, ARNs, time, pagination tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository name pattern as ECR documents it (botocore's `RepositoryName` pattern).
pub const REPO_NAME_PATTERN: &str =
    "(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";

/// True when `name` is a valid ECR repository name: 2..=256 characters, `/`-separated components of
/// lowercase alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
pub fn valid_repo_name(name: &str) -> bool {
    if name.len() < 2 || name.len() > 256 {
        return false;
    }
    name.split('/').all(valid_component)
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        // an alphanumeric run
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // a separator: '.', '_', '__', or '-'+
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == b.len() {
            return false;
        }
    }
}

/// A tag as the OCI distribution spec allows: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

/// True for `sha256:<64 lowercase hex>`, the only algorithm kagi stores.
pub fn valid_digest(d: &str) -> bool {
    match d.strip_prefix("sha256:") {
        Some(hex) => {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        None => false,
    }
}

/// True when `d` looks like a digest of any algorithm (`alg:encoded`), to tell a digest
/// reference from a tag.
pub fn looks_like_digest(d: &str) -> bool {
    d.contains(':')
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

pub fn repo_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:ecr:{region}:{account}:repository/{name}")
}

/// Splits `arn:aws:ecr:REGION:ACCT:repository/NAME` into (region, account, name).
pub fn parse_repo_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut it = rest.splitn(5, ':');
    let _partition = it.next()?;
    if it.next()? != "ecr" {
        return None;
    }
    let region = it.next()?;
    let account = it.next()?;
    let name = it.next()?.strip_prefix("repository/")?;
    if region.is_empty() || account.is_empty() || name.is_empty() {
        return None;
    }
    Some((region, account, name))
}

pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Seconds since the epoch (fractional), the JSON 1.1 timestamp form.
pub fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Rounds to milliseconds, as AWS timestamps are.
pub fn epoch_millis(t: SystemTime) -> f64 {
    (epoch(t) * 1000.0).floor() / 1000.0
}

/// Opaque pagination token for a sort key.
pub fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode_token(tok: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(tok)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Decodes `%XX` escapes of a query component (and `+` as space).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a raw query string into decoded pairs.
pub fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Percent-encodes a query component.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-_.~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names() {
        for ok in [
            "test-repos",
            "ab",
            "a/b",
            "team/app.v2",
            "a__b",
            "a---b",
            "x_y/z-9",
        ] {
            assert!(valid_repo_name(ok), "{ok}");
        }
        for bad in [
            "a", "A", "-ab", "ab-", "a//b", "/ab", "ab/", "a___b", "a..b", "a_.b", "ab c", "Abc",
        ] {
            assert!(!valid_repo_name(bad), "{bad}");
        }
        assert!(!valid_repo_name(&"a".repeat(257)));
        assert!(valid_repo_name(&"a".repeat(256)));
    }

    #[test]
    fn tags_and_digests() {
        assert!(valid_tag("latest") && valid_tag("_x") && valid_tag("v1.2-rc_3"));
        assert!(
            !valid_tag("") && !valid_tag(".x") && !valid_tag("a/b") && !valid_tag(&"a".repeat(129))
        );
        let d = sha256_digest(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(valid_digest(&d));
        assert!(!valid_digest("sha256:E3B0") && !valid_digest("sha512:00"));
    }

    #[test]
    fn arns_and_tokens() {
        let arn = repo_arn("ap-northeast-1", "123456789012", "team/app");
        assert_eq!(
            parse_repo_arn(&arn),
            Some(("ap-northeast-1", "123456789012", "team/app"))
        );
        assert_eq!(parse_repo_arn("arn:aws:iam::1:user/x"), None);
        assert_eq!(decode_token(&encode_token("a/b")).as_deref(), Some("a/b"));
        assert_eq!(percent_decode("sha256%3Aab+c"), "sha256:ab c");
        assert_eq!(
            query_pairs("n=2&last=a%2Fb"),
            vec![("n".into(), "2".into()), ("last".into(), "a/b".into())]
        );
    }
}
