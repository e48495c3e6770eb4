//! The canonical request and everything hashed or HMAC'd from it.
//!
//! Shared by the signer and the verifier so the two cannot drift. Every function here is a pure
//! string transformation of the request as it travels on the wire (raw, already-encoded path and
//! query), following "Create a canonical request for Signature Version 4":
//!
//! ```text
//! METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n \n SignedHeaders \n PayloadHash
//! ```

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::hex;

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm kagi speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Payload hash placeholder a client may send in `x-amz-content-sha256`.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Hex SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How the request path becomes the canonical URI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathMode {
    /// Decide from the service: `s3` is [`PathMode::S3`], every other service
    /// [`PathMode::Normalized`]. This is what AWS SDKs and the AWS CLI do.
    #[default]
    Auto,
    /// Remove dot segments and empty segments (RFC 3986 5.2.4 plus AWS's "//" rule), then
    /// URI-encode the already-encoded path again ("double encoding": `%3D` becomes `%253D`).
    Normalized,
    /// Double encoding as [`PathMode::Normalized`] but without normalization (the test suite's
    /// `"normalize": false`).
    DoubleEncoded,
    /// Amazon S3: the path is used as sent (single encoding, no normalization); only bytes that
    /// cannot appear in a URI path (space, non-ASCII, controls, a `%` not starting an escape)
    /// get encoded.
    S3,
}

/// Whether `service` is one of S3's signing names: `s3`, and `s3express` (directory buckets),
/// `s3-object-lambda`, `s3-outposts` (access points). botocore signs all four with
/// `S3SigV4Auth`'s rules: the path as sent ([`PathMode::S3`]) and, presigned, an
/// `UNSIGNED-PAYLOAD`.
pub fn is_s3(service: &str) -> bool {
    matches!(
        service,
        "s3" | "s3express" | "s3-object-lambda" | "s3-outposts"
    )
}

impl PathMode {
    /// Resolves [`PathMode::Auto`] for `service`.
    pub fn resolve(self, service: &str) -> PathMode {
        match self {
            PathMode::Auto if is_s3(service) => PathMode::S3,
            PathMode::Auto => PathMode::Normalized,
            other => other,
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(HEX_UPPER[usize::from(b >> 4)] as char);
    out.push(HEX_UPPER[usize::from(b & 15)] as char);
}

/// SigV4 `UriEncode`: every byte except the unreserved set `A-Za-z0-9-._~` becomes `%XX`
/// (upper-case hex); `/` is kept when `keep_slash`.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 2);
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); malformed escapes are kept
/// literally.
pub fn percent_decode(input: &str, plus_is_space: bool) -> Vec<u8> {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    out
}

/// Removes `.`/`..` and empty segments from an absolute path, keeping a trailing slash
/// (RFC 3986 section 5.2.4 as AWS applies it; `//example//` becomes `/example/`).
pub fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing =
        ["/", "/.", "/.."].iter().any(|t| path.ends_with(t)) || path == "." || path == "..";
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// The canonical URI of a raw (as sent, already percent-encoded) request path.
pub fn canonical_uri(raw_path: &str, mode: PathMode, service: &str) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    match mode.resolve(service) {
        PathMode::Normalized => uri_encode(normalize_path(path).as_bytes(), true),
        PathMode::DoubleEncoded => {
            if path.starts_with('/') {
                uri_encode(path.as_bytes(), true)
            } else {
                uri_encode(format!("/{path}").as_bytes(), true)
            }
        }
        PathMode::S3 | PathMode::Auto => {
            let b = path.as_bytes();
            let mut out = String::with_capacity(b.len() + 1);
            if !path.starts_with('/') {
                out.push('/');
            }
            let mut i = 0;
            while i < b.len() {
                let c = b[i];
                if c == b'%'
                    && i + 2 < b.len()
                    && hex_val(b[i + 1]).is_some()
                    && hex_val(b[i + 2]).is_some()
                {
                    out.push_str(&path[i..i + 3]);
                    i += 3;
                    continue;
                }
                // Characters valid in a URI path (RFC 3986 pchar) are kept as sent; only bytes
                // that cannot appear on the wire (space, non-ASCII, ...) are encoded.
                if is_unreserved(c) || b"/!$&'()*+,;=:@".contains(&c) {
                    out.push(c as char);
                } else {
                    push_escaped(&mut out, c);
                }
                i += 1;
            }
            out
        }
    }
}

/// Splits a raw query string into decoded `(name, value)` pairs, in order. Empty segments are
/// skipped; a segment without `=` has an empty value. `+` decodes to a space (form semantics).
pub fn parse_query(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The canonical query string: every parameter decoded then `UriEncode`d, sorted by encoded name
/// then encoded value, joined with `&`. With `exclude_signature`, `X-Amz-Signature` is left out
/// (presigned URLs).
pub fn canonical_query(raw_query: &str, exclude_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(raw_query)
        .into_iter()
        .filter(|(k, _)| !(exclude_signature && k.as_slice() == b"X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort_unstable();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value as it appears in the canonical request: leading/trailing whitespace trimmed and
/// every inner run of whitespace (space, tab, CR, LF, i.e. folded lines) collapsed to one space,
/// which is what botocore's `' '.join(value.split())` does.
pub fn canonical_header_value(value: &str, out: &mut String) {
    let mut first = true;
    for word in value
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
    {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

/// Canonical headers block (each line `name:value\n`) for `signed` (lower-case names, in the
/// order given), taking the values from `headers` (names in any case). Repeated headers are
/// joined with `,` in request order. A signed header missing from the request yields `name:`.
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    let mut out = String::with_capacity(64 * signed.len());
    let push_values = |out: &mut String, values: &mut dyn Iterator<Item = &str>| {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(',');
            }
            canonical_header_value(v, out);
        }
    };
    if signed.len().saturating_mul(headers.len()) <= 1024 {
        // The usual case: a handful of headers, scanned directly.
        for name in signed {
            out.push_str(name);
            out.push(':');
            let mut values = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str());
            push_values(&mut out, &mut values);
            out.push('\n');
        }
    } else {
        // Hostile sizes (thousands of signed names): index once instead of O(n*m).
        let mut index: HashMap<String, Vec<&str>> = HashMap::new();
        for (n, v) in headers {
            index.entry(n.to_ascii_lowercase()).or_default().push(v);
        }
        for name in signed {
            out.push_str(name);
            out.push(':');
            if let Some(values) = index.get(name.to_ascii_lowercase().as_str()) {
                push_values(&mut out, &mut values.iter().copied());
            }
            out.push('\n');
        }
    }
    out
}

/// Assembles the canonical request from its already-canonical parts.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut s = String::with_capacity(
        method.len()
            + canonical_uri.len()
            + canonical_query.len()
            + canonical_headers.len()
            + signed_headers.len()
            + payload_hash.len()
            + 8,
    );
    for (i, part) in [
        method,
        canonical_uri,
        canonical_query,
        canonical_headers,
        signed_headers,
        payload_hash,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(part);
    }
    s
}

/// `DATE/REGION/SERVICE/aws4_request`
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// `AWS4-HMAC-SHA256\nAMZDATE\nSCOPE\nhex(sha256(canonical_request))`
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// The derived signing key `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
/// "aws4_request")`. A secret in its own right: never log it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Derives the key for `(secret, date YYYYMMDD, region, service)`.
    pub fn derive(secret_access_key: &str, date: &str, region: &str, service: &str) -> Self {
        let mut k = Vec::with_capacity(4 + secret_access_key.len());
        k.extend_from_slice(b"AWS4");
        k.extend_from_slice(secret_access_key.as_bytes());
        let k_date = hmac(&k, date.as_bytes());
        let k_region = hmac(&k_date, region.as_bytes());
        let k_service = hmac(&k_region, service.as_bytes());
        SigningKey(hmac(&k_service, b"aws4_request"))
    }

    /// Lower-case hex signature of `string_to_sign`.
    pub fn sign(&self, string_to_sign: &str) -> String {
        hex::encode(&hmac(&self.0, string_to_sign.as_bytes()))
    }

    /// Constant-time check of a hex signature (either case) against `string_to_sign`.
    pub fn verify(&self, string_to_sign: &str, signature_hex: &str) -> bool {
        let Some(provided) = hex::decode32(signature_hex) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&provided).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(uri_encode(b"a b/c~-._%", true), "a%20b/c~-._%25");
        assert_eq!(uri_encode(b"a/b", false), "a%2Fb");
        assert_eq!(uri_encode("ሴ".as_bytes(), false), "%E1%88%B4");
        assert_eq!(percent_decode("a%2fb%zz%4", false), b"a/b%zz%4");
        assert_eq!(percent_decode("a+b%2B", true), b"a b+");
        assert_eq!(percent_decode("%", true), b"%");
        assert_eq!(percent_decode("%4", true), b"%4");
        assert_eq!(percent_decode("%41", true), b"A");
    }

    #[test]
    fn paths() {
        let n = |p: &str| normalize_path(p);
        assert_eq!(n(""), "/");
        assert_eq!(n("/"), "/");
        assert_eq!(n("//"), "/");
        assert_eq!(n("/./"), "/");
        assert_eq!(n("/example/.."), "/");
        assert_eq!(n("/example1/example2/../.."), "/");
        assert_eq!(n("//example//"), "/example/");
        assert_eq!(n("/./example"), "/example");
        assert_eq!(n("/a/b/."), "/a/b/");
        assert_eq!(n("/../a"), "/a");
        assert_eq!(
            canonical_uri(
                "/test/@connections/JBDvjfGEIAMCERw%3D",
                PathMode::Auto,
                "execute-api"
            ),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(
            canonical_uri("/a%3Db c", PathMode::Auto, "s3"),
            "/a%3Db%20c"
        );
        assert_eq!(canonical_uri("//a//", PathMode::Auto, "s3"), "//a//");
        assert_eq!(canonical_uri("", PathMode::Auto, "sts"), "/");
        assert_eq!(
            canonical_uri("//a/./b", PathMode::DoubleEncoded, "sts"),
            "//a/./b"
        );
        assert_eq!(canonical_uri("%", PathMode::S3, "s3"), "/%25");
        assert_eq!(canonical_uri("/a!b:c@d", PathMode::S3, "s3"), "/a!b:c@d");
        assert_eq!(
            canonical_uri("/a!b:c@d", PathMode::Auto, "iam"),
            "/a%21b%3Ac%40d"
        );
    }

    #[test]
    fn queries() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("b=2&a=1&a=0&c", false), "a=0&a=1&b=2&c=");
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("x=a b&y=%7e", false), "x=a%20b&y=~");
        assert_eq!(canonical_query("X-Amz-Signature=abc&a=1", true), "a=1");
        assert_eq!(
            canonical_query("X-Amz-Signature=abc&a=1", false),
            "X-Amz-Signature=abc&a=1"
        );
        assert_eq!(canonical_query("&&a=1&", false), "a=1");
    }

    #[test]
    fn headers() {
        let h = vec![
            ("Host".to_owned(), "example.com".to_owned()),
            ("My-Header1".to_owned(), "  a   b \t c  ".to_owned()),
            ("my-header1".to_owned(), "value1\n  value2".to_owned()),
            ("X-Empty".to_owned(), String::new()),
        ];
        let signed: Vec<String> = ["host", "my-header1", "x-empty", "x-absent"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            canonical_headers(&h, &signed),
            "host:example.com\nmy-header1:a b c,value1 value2\nx-empty:\nx-absent:\n"
        );
    }

    #[test]
    fn large_header_sets_use_the_index_with_the_same_result() {
        let headers: Vec<(String, String)> = (0..100)
            .flat_map(|i| {
                [
                    (format!("X-H{i}"), format!(" v  {i} ")),
                    (format!("x-h{i}"), "again".to_owned()),
                ]
            })
            .collect();
        let signed: Vec<String> = (0..120).map(|i| format!("x-h{i}")).collect();
        let big = canonical_headers(&headers, &signed);
        // Same answer as the direct scan, one name at a time.
        let mut expected = String::new();
        for name in &signed {
            let one = canonical_headers(&headers, std::slice::from_ref(name));
            expected.push_str(&one);
        }
        assert!(signed.len() * headers.len() > 1024);
        assert_eq!(big, expected);
        assert!(big.starts_with("x-h0:v 0,again\nx-h1:v 1,again\n"));
        assert!(big.ends_with("x-h119:\n"));
    }

    #[test]
    fn aws_documented_signing_key() {
        // From the AWS "Examples of how to derive a signing key" documentation.
        let k = SigningKey::derive(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(&k.0),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
        let sig = k.sign("x");
        assert!(k.verify("x", &sig));
        assert!(k.verify("x", &sig.to_uppercase()));
        assert!(!k.verify("y", &sig));
        assert!(!k.verify("x", &sig[..63]));
        assert!(!k.verify("x", "zz"));
    }
}
