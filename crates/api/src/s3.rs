//! Amazon S3's own rules on top of the generic rest-xml codec, as botocore applies them
//! (its S3 endpoint rule set and the `s3` handlers of `botocore/handlers.py`):
//!
//! * **Addressing** ([`address`]): the bucket goes in the host (`BUCKET.s3.REGION.amazonaws.com`,
//!   virtual-hosted style) when it is a DNS-compatible name without dots and neither a custom
//!   endpoint nor `addressing_style = path` asks for the path style (`HOST/BUCKET/KEY`).
//!   With a configured endpoint botocore keeps the path style unless `addressing_style =
//!   virtual`; dotted names stay in the path on AWS's https endpoints (a certificate names one
//!   level only).
//! * **Inputs**: `CopySource` (`bucket/key[?versionId=..]`) is percent-encoded except `/`
//!   ([`quote_copy_source`]); `ListObjects`/`V2`/`ListObjectVersions` ask for
//!   `encoding-type=url` unless the caller chose one, and their keys are decoded back
//!   ([`decode_list_keys`]).
//! * **Outputs**: `GetBucketLocation`'s bare `<LocationConstraint>` ([`bucket_location`]); a
//!   `200 OK` whose body is an `<Error>` (CopyObject, UploadPartCopy, CompleteMultipartUpload)
//!   is an error ([`is_200_error`]). The `s3` commands read ListObjectsV2 pages with
//!   [`decode_object_page`] (one pass, no element tree or Values; held equal to the generic
//!   decoder by a test).
//! * **Checksums** ([`Checksum`]): CRC32 (botocore's default), CRC32C, CRC64NVME, SHA-1 and SHA-256,
//!   base64 as the `x-amz-checksum-*` headers carry them; the aws-chunked framing of a
//!   streamed body with a trailing checksum ([`chunk_header`], [`chunk_trailer`]).

use serde_json::Value;

/// botocore's `VALID_BUCKET` (`^[a-zA-Z0-9.\-_]{1,255}$`) or `VALID_S3_ARN` (an access point
/// ARN of `s3`, `s3-object-lambda` or `s3-outposts`, see [`invalid_bucket_message`]).
pub fn valid_bucket_name(b: &str) -> bool {
    valid_s3_arn(b)
        || (!b.is_empty()
            && b.len() <= 255
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_')))
}

/// botocore's `VALID_S3_ARN`: `^arn:(aws).*:(s3|s3-object-lambda):[a-z\-0-9]*:[0-9]{12}:
/// accesspoint[/:][a-zA-Z0-9\-.]{1,63}$` or `^arn:(aws).*:s3-outposts:[a-z\-0-9]+:[0-9]{12}:
/// outpost[/:][a-zA-Z0-9\-]{1,63}[/:]accesspoint[/:][a-zA-Z0-9\-]{1,63}$` (`.*` may span
/// anything, so every `:SERVICE:` occurrence is a candidate).
pub fn valid_s3_arn(b: &str) -> bool {
    let Some(after) = b.strip_prefix("arn:aws") else {
        return false;
    };
    let region = |s: &str, min: usize| {
        s.len() >= min
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    };
    let account = |s: &str| s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit());
    let name = |s: &str, dots: bool| {
        (1..=63).contains(&s.len())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || (dots && c == b'.'))
    };
    let sep = |c: char| c == '/' || c == ':';
    let ap = |s: &str, dots: bool| {
        s.strip_prefix("accesspoint")
            .and_then(|r| r.strip_prefix(sep))
            .is_some_and(|n| name(n, dots))
    };
    after.match_indices(':').any(|(i, _)| {
        let rest = &after[i + 1..];
        for svc in ["s3:", "s3-object-lambda:"] {
            if let Some(r) = rest.strip_prefix(svc) {
                let f: Vec<&str> = r.splitn(3, ':').collect();
                if f.len() == 3 && region(f[0], 0) && account(f[1]) && ap(f[2], true) {
                    return true;
                }
            }
        }
        if let Some(r) = rest.strip_prefix("s3-outposts:") {
            let f: Vec<&str> = r.splitn(3, ':').collect();
            if f.len() == 3
                && region(f[0], 1)
                && account(f[1])
                && let Some(o) = f[2]
                    .strip_prefix("outpost")
                    .and_then(|o| o.strip_prefix(sep))
            {
                let mut parts = o.splitn(2, sep);
                let id = parts.next().unwrap_or_default();
                if name(id, false) && parts.next().is_some_and(|a| ap(a, false)) {
                    return true;
                }
            }
        }
        false
    })
}

/// The error botocore's `validate_bucket_name` raises for a bad name.
pub fn invalid_bucket_message(b: &str) -> String {
    format!(
        "Invalid bucket name \"{b}\": Bucket name must match the regex \"^[a-zA-Z0-9.\\-_]{{1,255}}$\" or be an ARN matching the regex \"^arn:(aws).*:(s3|s3-object-lambda):[a-z\\-0-9]*:[0-9]{{12}}:accesspoint[/:][a-zA-Z0-9\\-.]{{1,63}}$|^arn:(aws).*:s3-outposts:[a-z\\-0-9]+:[0-9]{{12}}:outpost[/:][a-zA-Z0-9\\-]{{1,63}}[/:]accesspoint[/:][a-zA-Z0-9\\-]{{1,63}}$\""
    )
}

/// The rule set's `isVirtualHostableS3Bucket(bucket, allowSubDomains)`: 3–63 characters of
/// lower-case letters, digits and `-` (and `.` between labels when `allow_dots`), starting and
/// ending with a letter or digit, not shaped like an IP address.
pub fn is_virtual_hostable(bucket: &str, allow_dots: bool) -> bool {
    if allow_dots && bucket.contains('.') {
        return bucket
            .split('.')
            .all(|l| is_virtual_hostable(l, false) || l.len() < 3 && label_ok(l))
            && (3..=63).contains(&bucket.len())
            && !looks_like_ip(bucket);
    }
    (3..=63).contains(&bucket.len()) && label_ok(bucket) && !looks_like_ip(bucket)
}

fn label_ok(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn looks_like_ip(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `addressing_style` of the `s3` section of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressingStyle {
    #[default]
    Auto,
    Path,
    Virtual,
}

impl AddressingStyle {
    pub fn parse(v: &str) -> AddressingStyle {
        match v.trim() {
            "path" => AddressingStyle::Path,
            "virtual" => AddressingStyle::Virtual,
            _ => AddressingStyle::Auto,
        }
    }
}

/// The request URL of an S3 operation: `endpoint` (`scheme://authority[/base]`) and the
/// codec's `path` (`/BUCKET/KEY?query`, the bucket already percent-encoded as its first
/// segment when `bucket` is `Some`). `custom` says the endpoint was configured rather than
/// resolved. Returns the URL, path style or virtual-hosted style (see the module docs).
pub fn address(
    endpoint: &str,
    path: &str,
    bucket: Option<&str>,
    custom: bool,
    style: AddressingStyle,
) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let Some(bucket) = bucket else {
        return format!("{endpoint}{path}");
    };
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, p)| {
        if p.bytes().all(|c| c.is_ascii_digit()) {
            h
        } else {
            authority
        }
    });
    let ip_host = looks_like_ip(host) || host.starts_with('[');
    let virtual_ok = match style {
        AddressingStyle::Path => false,
        AddressingStyle::Virtual => is_virtual_hostable(bucket, true) && !ip_host,
        AddressingStyle::Auto if custom => false,
        AddressingStyle::Auto => {
            is_virtual_hostable(bucket, false)
                || (scheme == "http" && is_virtual_hostable(bucket, true))
        }
    };
    if !virtual_ok {
        return format!("{endpoint}{path}");
    }
    // The path without its first segment (the bucket).
    let encoded_bucket = crate::rest::percent_encode(bucket, false);
    let tail = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(encoded_bucket.as_str()))
        .unwrap_or(path);
    let tail = if tail.is_empty() || tail.starts_with('?') {
        format!("/{tail}")
    } else {
        tail.to_string()
    };
    format!("{scheme}://{bucket}.{authority}{base}{tail}")
}

/// botocore's `handle_copy_source_param` for a string: percent-encoded but `/` (and the
/// unreserved characters), a `?versionId=` suffix kept as it is.
pub fn quote_copy_source(v: &str) -> String {
    match v.find("?versionId=") {
        Some(i) => format!("{}{}", crate::rest::percent_encode(&v[..i], true), &v[i..]),
        None => crate::rest::percent_encode(v, true),
    }
}

/// The listing operations whose keys botocore asks to be URL-encoded.
pub fn lists_with_encoding_type(op: &str) -> bool {
    matches!(op, "ListObjects" | "ListObjectsV2" | "ListObjectVersions")
}

/// Undoes `encoding-type=url` in a listing's output (botocore's `decode_list_object*`):
/// the top-level keys and the nested `Key`/`Prefix` members.
pub fn decode_list_keys(op: &str, out: &mut Value) {
    let (top, nested): (&[&str], &[(&str, &str)]) = match op {
        "ListObjects" => (
            &["Delimiter", "Marker", "NextMarker"],
            &[("Contents", "Key"), ("CommonPrefixes", "Prefix")],
        ),
        "ListObjectsV2" => (
            &["Delimiter", "Prefix", "StartAfter"],
            &[("Contents", "Key"), ("CommonPrefixes", "Prefix")],
        ),
        "ListObjectVersions" => (
            &["KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"],
            &[
                ("Versions", "Key"),
                ("DeleteMarkers", "Key"),
                ("CommonPrefixes", "Prefix"),
            ],
        ),
        _ => return,
    };
    if out.get("EncodingType").and_then(Value::as_str) != Some("url") {
        return;
    }
    let Value::Object(m) = out else { return };
    for k in top {
        if let Some(Value::String(s)) = m.get_mut(*k) {
            *s = unquote(s);
        }
    }
    for (list, key) in nested {
        if let Some(Value::Array(items)) = m.get_mut(*list) {
            for item in items {
                if let Some(Value::String(s)) = item.get_mut(*key) {
                    *s = unquote(s);
                }
            }
        }
    }
}

/// One object of a ListObjectsV2 page, as the `s3` commands read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: i64,
    pub last_modified: Option<crate::time::Timestamp>,
    pub storage_class: Option<String>,
}

/// A ListObjectsV2 page with what the `s3` commands use of it (`ls`, and the listings of
/// `cp`/`mv`/`rm`/`sync`): its objects, common prefixes and continuation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPage {
    pub contents: Vec<ListedObject>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
}

/// Decodes a ListObjectsV2 body straight into an [`ObjectPage`], in one pass without an
/// element tree or Values: `s3 ls` of 1,000 objects spent most of its decoding time building
/// both. It reads exactly what the generic rest-xml decoder ([`crate::rest::decode_response`])
/// followed by [`decode_list_keys`] gives for these members (first occurrence wins, an empty
/// element is an empty string, `IsTruncated` is `true` only when its trimmed text is, keys and
/// prefixes unquoted when `EncodingType` is `url`, the same errors for a malformed size or
/// time); a test holds the two to that over a corpus of pages.
pub fn decode_object_page(body: &str) -> Result<ObjectPage, crate::ApiError> {
    use crate::xml::{Ev, Stream, xml_error};
    if body.bytes().all(|b| b.is_ascii_whitespace()) {
        return Ok(ObjectPage::default());
    }
    let mut r = Stream::new(body);
    let bad = crate::xmlshape::invalid_scalar;
    // The root element, whatever its name (as the generic decoder).
    loop {
        match r.next()? {
            Ev::Start(_) => break,
            Ev::Empty(_) => return Ok(ObjectPage::default()), // (what follows: not checked)
            Ev::End => return Err(xml_error("unbalanced end tag")),
            Ev::Eof => return Err(xml_error("no root element")),
            Ev::Text(_) => {}
        }
    }
    let mut page = ObjectPage::default();
    let (mut truncated, mut token, mut encoding) = (None, None, None);
    // The text of a member element whose start (or empty) tag was just read.
    fn member_text(r: &mut Stream<'_>, empty: bool) -> Result<String, crate::ApiError> {
        if empty { Ok(String::new()) } else { r.text() }
    }
    // The next child element of the current one (its name, and whether it is empty), or
    // `None` at the current element's end.
    fn next_child<'a>(
        r: &mut Stream<'a>,
    ) -> Result<Option<(std::borrow::Cow<'a, str>, bool)>, crate::ApiError> {
        loop {
            return match r.next()? {
                Ev::Start(n) => Ok(Some((n, false))),
                Ev::Empty(n) => Ok(Some((n, true))),
                Ev::Text(_) => continue,
                Ev::End => Ok(None),
                Ev::Eof => Err(xml_error("unexpected end of document")),
            };
        }
    }
    while let Some((name, empty)) = next_child(&mut r)? {
        match &*name {
            "Contents" => {
                let (mut key, mut size, mut time, mut class) = (None, None, None, None);
                while let Some((field, fempty)) =
                    (!empty).then(|| next_child(&mut r)).transpose()?.flatten()
                {
                    let slot = match &*field {
                        "Key" => &mut key,
                        "Size" => &mut size,
                        "LastModified" => &mut time,
                        "StorageClass" => &mut class,
                        _ => {
                            if !fempty {
                                r.skip()?;
                            }
                            continue;
                        }
                    };
                    let text = member_text(&mut r, fempty)?;
                    slot.get_or_insert(text);
                }
                let size = match size {
                    Some(t) => t
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| bad("integer", "Size", &t))?,
                    None => 0,
                };
                let last_modified = match time {
                    Some(t) => Some(
                        crate::time::parse_any(&t)
                            .ok_or_else(|| bad("timestamp", "LastModified", &t))?,
                    ),
                    None => None,
                };
                page.contents.push(ListedObject {
                    key: key.unwrap_or_default(),
                    size,
                    last_modified,
                    storage_class: class,
                });
            }
            "CommonPrefixes" => {
                let mut prefix = None;
                while let Some((field, fempty)) =
                    (!empty).then(|| next_child(&mut r)).transpose()?.flatten()
                {
                    if field == "Prefix" {
                        let text = member_text(&mut r, fempty)?;
                        prefix.get_or_insert(text);
                    } else if !fempty {
                        r.skip()?;
                    }
                }
                page.common_prefixes.push(prefix.unwrap_or_default());
            }
            "IsTruncated" if truncated.is_none() => truncated = Some(member_text(&mut r, empty)?),
            "NextContinuationToken" if token.is_none() => token = Some(member_text(&mut r, empty)?),
            "EncodingType" if encoding.is_none() => encoding = Some(member_text(&mut r, empty)?),
            _ if !empty => r.skip()?,
            _ => {}
        }
    }
    loop {
        match r.next()? {
            Ev::Start(_) | Ev::Empty(_) => return Err(xml_error("more than one root element")),
            Ev::End => return Err(xml_error("unbalanced end tag")),
            Ev::Text(_) => {}
            Ev::Eof => break,
        }
    }
    page.is_truncated = truncated.is_some_and(|t| t.trim() == "true");
    page.next_continuation_token = token;
    if encoding.as_deref() == Some("url") {
        for o in &mut page.contents {
            o.key = unquote(&o.key);
        }
        for p in &mut page.common_prefixes {
            *p = unquote(p);
        }
    }
    Ok(page)
}

/// Python's `urllib.parse.unquote` (`+` stays `+`).
pub fn unquote(s: &str) -> String {
    String::from_utf8_lossy(&kagi_sigv4::canonical::percent_decode(s, false)).into_owned()
}

/// `GetBucketLocation`: S3 answers a bare `<LocationConstraint>` element (botocore's
/// `parse_get_bucket_location`); empty is `null` (us-east-1).
pub fn bucket_location(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let region = crate::xml::parse_document(&text)
        .ok()
        .map(|root| root.text.clone())
        .filter(|t| !t.is_empty());
    let mut m = serde_json::Map::new();
    m.insert(
        "LocationConstraint".into(),
        region.map_or(Value::Null, Value::String),
    );
    Value::Object(m)
}

/// botocore's `_handle_200_error`: these operations may answer `200 OK` with an `<Error>`
/// document (the copy failed after the headers were sent).
pub fn is_200_error(op: &str, body: &[u8]) -> bool {
    if !matches!(
        op,
        "CopyObject" | "UploadPartCopy" | "CompleteMultipartUpload"
    ) {
        return false;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty 200 from these is an error too (botocore: "a 200 with no body").
        return true;
    }
    crate::xml::parse_document(&String::from_utf8_lossy(body)).is_ok_and(|r| r.name == "Error")
}

/// A flexible checksum being computed.
#[derive(Clone)]
pub enum Checksum {
    Crc32(u32),
    Crc32c(u32),
    /// CRC-64/NVME (S3's `CRC64NVME`).
    Crc64Nvme(u64),
    Sha1(Box<Sha1State>),
    Sha256(Box<sha2::Sha256>),
}

/// SHA-1 for checksums (S3's `x-amz-checksum-sha1`): a small implementation (FIPS 180-4).
#[derive(Clone)]
pub struct Sha1State {
    h: [u32; 5],
    buf: Vec<u8>,
    len: u64,
}

impl Sha1State {
    fn new() -> Self {
        Sha1State {
            h: [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0],
            buf: Vec::with_capacity(64),
            len: 0,
        }
    }
    fn block(&mut self, b: &[u8]) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut bb, mut c, mut d, mut e] = self.h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((bb & c) | (!bb & d), 0x5A827999),
                20..=39 => (bb ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((bb & c) | (bb & d) | (c & d), 0x8F1BBCDC),
                _ => (bb ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = bb.rotate_left(30);
            bb = a;
            a = t;
        }
        for (h, x) in self.h.iter_mut().zip([a, bb, c, d, e]) {
            *h = h.wrapping_add(x);
        }
    }
    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.buf.is_empty() {
            let need = 64 - self.buf.len();
            let take = need.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == 64 {
                let b = std::mem::take(&mut self.buf);
                self.block(&b);
            }
        }
        while data.len() >= 64 {
            self.block(&data[..64]);
            data = &data[64..];
        }
        self.buf.extend_from_slice(data);
    }
    fn finish(mut self) -> [u8; 20] {
        let bits = self.len * 8;
        let mut pad = vec![0x80u8];
        while (self.buf.len() + pad.len()) % 64 != 56 {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_be_bytes());
        let len = self.len;
        self.update(&pad);
        self.len = len;
        let mut out = [0u8; 20];
        for (i, h) in self.h.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&h.to_be_bytes());
        }
        out
    }
}

fn crc_table(poly: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { poly ^ (c >> 1) } else { c >> 1 };
        }
        *e = c;
    }
    t
}

fn crc_update(table: &[u32; 256], crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for b in data {
        c = table[((c ^ *b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// CRC-64/NVME: reflected, polynomial 0xAD93D23594C93659, init and xorout all ones.
fn crc64nvme_update(crc: u64, data: &[u8]) -> u64 {
    static T: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let t = T.get_or_init(|| {
        let mut t = [0u64; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0x9A6C_9329_AC4B_C9B5 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut c = !crc;
    for b in data {
        c = t[((c ^ *b as u64) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

fn crc32c_table() -> &'static [u32; 256] {
    static T: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    T.get_or_init(|| crc_table(0x82F6_3B78))
}

/// CRC-32 (ISO-HDLC, zlib's) of `data` continuing from `crc` (crc32fast: SIMD, several GB/s,
/// so a checksummed upload is not slower than the network).
pub fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(crc);
    h.update(data);
    h.finalize()
}

impl Checksum {
    /// The algorithm by its S3 name (`CRC32`, any case); `None` for an unknown one.
    pub fn new(algorithm: &str) -> Option<Checksum> {
        Some(match algorithm.to_ascii_lowercase().as_str() {
            "crc32" => Checksum::Crc32(0),
            "crc32c" => Checksum::Crc32c(0),
            "crc64nvme" => Checksum::Crc64Nvme(0),
            "sha1" => Checksum::Sha1(Box::new(Sha1State::new())),
            "sha256" => Checksum::Sha256(Box::default()),
            _ => return None,
        })
    }

    /// `crc32`, `sha256`, ...: the suffix of `x-amz-checksum-*`.
    pub fn name(&self) -> &'static str {
        match self {
            Checksum::Crc32(_) => "crc32",
            Checksum::Crc32c(_) => "crc32c",
            Checksum::Crc64Nvme(_) => "crc64nvme",
            Checksum::Sha1(_) => "sha1",
            Checksum::Sha256(_) => "sha256",
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Checksum::Crc32(c) => *c = crc32(*c, data),
            Checksum::Crc32c(c) => *c = crc_update(crc32c_table(), *c, data),
            Checksum::Crc64Nvme(c) => *c = crc64nvme_update(*c, data),
            Checksum::Sha1(s) => s.update(data),
            Checksum::Sha256(s) => s.update(data),
        }
    }

    /// The base64 digest, as the header carries it.
    pub fn finish(self) -> String {
        use sha2::Digest;
        let bytes: Vec<u8> = match self {
            Checksum::Crc32(c) | Checksum::Crc32c(c) => c.to_be_bytes().to_vec(),
            Checksum::Crc64Nvme(c) => c.to_be_bytes().to_vec(),
            Checksum::Sha1(s) => s.finish().to_vec(),
            Checksum::Sha256(s) => s.finalize().to_vec(),
        };
        crate::rest::base64(&bytes)
    }
}

/// The header line of one aws-chunked chunk of `len` bytes (`hex(len)\r\n`); the chunk's
/// data follows, then `\r\n`.
pub fn chunk_header(len: usize) -> String {
    format!("{len:x}\r\n")
}

/// The last chunk of an aws-chunked body with its trailing checksum (botocore's
/// `AwsChunkedWrapper`): `0\r\nx-amz-checksum-crc32:BASE64\r\n\r\n`.
pub fn chunk_trailer(checksum: Option<(&str, &str)>) -> String {
    match checksum {
        Some((name, value)) => format!("0\r\n{name}:{value}\r\n\r\n"),
        None => "0\r\n\r\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_as_botocores_valid_s3_arn() {
        for ok in [
            "arn:aws:s3:us-west-2:123456789012:accesspoint/myap",
            "arn:aws:s3:us-west-2:123456789012:accesspoint:my.ap",
            "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap",
            "arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/a",
            "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/ol",
            "arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-0123/accesspoint/ap",
        ] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "arn:aws:not-s3:us-west-2:123456789012:accesspoint/myap",
            "arn:aws:s3:us-west-2:1234:accesspoint/myap",
            "arn:aws:s3:us-west-2:123456789012:bucket/myap",
            "arn:aws:s3:us-west-2:123456789012:accesspoint/my/ap",
            "arn:other:s3:us-west-2:123456789012:accesspoint/myap",
            "arn:aws:s3-outposts::123456789012:outpost/op/accesspoint/ap",
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn addressing_as_botocore() {
        let a = |ep: &str, path: &str, b: &str, custom: bool, style| {
            address(ep, path, Some(b), custom, style)
        };
        use AddressingStyle::*;
        // AWS endpoints: virtual-hosted style for DNS-compatible names.
        assert_eq!(
            a(
                "https://s3.us-west-2.amazonaws.com",
                "/my-bucket/a%20b",
                "my-bucket",
                false,
                Auto
            ),
            "https://my-bucket.s3.us-west-2.amazonaws.com/a%20b"
        );
        assert_eq!(
            a(
                "https://s3.amazonaws.com",
                "/my-bucket?list-type=2",
                "my-bucket",
                false,
                Auto
            ),
            "https://my-bucket.s3.amazonaws.com/?list-type=2"
        );
        assert_eq!(
            a(
                "https://s3.amazonaws.com",
                "/my-bucket",
                "my-bucket",
                false,
                Auto
            ),
            "https://my-bucket.s3.amazonaws.com/"
        );
        // Dots on https, upper case, underscores: path style.
        assert_eq!(
            a(
                "https://s3.eu-west-1.amazonaws.com",
                "/my.bucket/k",
                "my.bucket",
                false,
                Auto
            ),
            "https://s3.eu-west-1.amazonaws.com/my.bucket/k"
        );
        assert_eq!(
            a(
                "https://s3.eu-west-1.amazonaws.com",
                "/My_Bucket/k",
                "My_Bucket",
                false,
                Auto
            ),
            "https://s3.eu-west-1.amazonaws.com/My_Bucket/k"
        );
        // A configured endpoint: path style (botocore), unless virtual is asked for.
        assert_eq!(
            a(
                "http://localhost:5000/base",
                "/my-bucket/k",
                "my-bucket",
                true,
                Auto
            ),
            "http://localhost:5000/base/my-bucket/k"
        );
        assert_eq!(
            a(
                "http://localhost:5000",
                "/my-bucket/k",
                "my-bucket",
                true,
                Virtual
            ),
            "http://my-bucket.localhost:5000/k"
        );
        assert_eq!(
            a(
                "https://s3.amazonaws.com",
                "/my-bucket/k",
                "my-bucket",
                false,
                Path
            ),
            "https://s3.amazonaws.com/my-bucket/k"
        );
        assert_eq!(
            address("http://127.0.0.1:5000", "/", None, true, Auto),
            "http://127.0.0.1:5000/"
        );
    }

    #[test]
    fn names() {
        assert!(is_virtual_hostable("my-bucket", false));
        assert!(!is_virtual_hostable("my.bucket", false));
        assert!(is_virtual_hostable("my.bucket", true));
        assert!(!is_virtual_hostable("192.168.1.1", true));
        assert!(!is_virtual_hostable("ab", false));
        assert!(!is_virtual_hostable("-ab", false));
        assert!(
            valid_bucket_name("My_Bucket.x") && !valid_bucket_name("a/b") && !valid_bucket_name("")
        );
        assert_eq!(quote_copy_source("b/a b+c"), "b/a%20b%2Bc");
        assert_eq!(
            quote_copy_source("b/k é?versionId=x y"),
            "b/k%20%C3%A9?versionId=x y"
        );
    }

    #[test]
    fn checksums() {
        // botocore: Crc32Checksum over b"hello" is NhCmhg==; the empty body AAAAAA==.
        let mut c = Checksum::new("CRC32").unwrap();
        c.update(b"he");
        c.update(b"llo");
        assert_eq!(c.finish(), "NhCmhg==");
        assert_eq!(Checksum::new("crc32").unwrap().finish(), "AAAAAA==");
        // RFC 3720's CRC32C check value of "123456789" is 0xE3069283.
        let mut c = Checksum::new("crc32c").unwrap();
        c.update(b"123456789");
        assert_eq!(
            c.finish(),
            crate::rest::base64(&0xE306_9283u32.to_be_bytes())
        );
        // CRC-64/NVME's check value of "123456789" is 0xAE8B14860A799888; across updates.
        let mut c = Checksum::new("CRC64NVME").unwrap();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(
            c.finish(),
            crate::rest::base64(&0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
        // SHA-1 ("abc", FIPS 180-2's example), across block boundaries too.
        let mut s = Checksum::new("sha1").unwrap();
        s.update(b"abc");
        assert_eq!(
            s.finish(),
            crate::rest::base64(&[
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ])
        );
        let mut s = Checksum::new("sha1").unwrap();
        for _ in 0..1000 {
            s.update(&[b'a'; 1000]);
        }
        // SHA-1 of one million 'a's: 34aa973c d4c4daa4 f61eeb2b dbad2731 6534016f.
        assert_eq!(
            s.finish(),
            crate::rest::base64(&[
                0x34, 0xaa, 0x97, 0x3c, 0xd4, 0xc4, 0xda, 0xa4, 0xf6, 0x1e, 0xeb, 0x2b, 0xdb, 0xad,
                0x27, 0x31, 0x65, 0x34, 0x01, 0x6f
            ])
        );
        assert!(Checksum::new("crc64").is_none());
        assert_eq!(chunk_header(1048576), "100000\r\n");
        assert_eq!(
            chunk_trailer(Some(("x-amz-checksum-crc32", "NhCmhg=="))),
            "0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
        );
    }

    #[test]
    fn list_keys_and_location() {
        let mut v = serde_json::json!({"EncodingType": "url", "Prefix": "a%20b/",
            "Contents": [{"Key": "a%20b/c%2Bd"}], "CommonPrefixes": [{"Prefix": "x%2F"}]});
        decode_list_keys("ListObjectsV2", &mut v);
        assert_eq!(v["Contents"][0]["Key"], "a b/c+d");
        assert_eq!(v["Prefix"], "a b/");
        assert_eq!(v["CommonPrefixes"][0]["Prefix"], "x/");
        let loc = bucket_location(b"<?xml version=\"1.0\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>");
        assert_eq!(loc, serde_json::json!({"LocationConstraint": "eu-west-1"}));
        let loc = bucket_location(
            b"<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>",
        );
        assert_eq!(loc, serde_json::json!({"LocationConstraint": null}));
        assert!(is_200_error(
            "CopyObject",
            b"<Error><Code>InternalError</Code></Error>"
        ));
        assert!(!is_200_error(
            "CopyObject",
            b"<CopyObjectResult></CopyObjectResult>"
        ));
        assert!(!is_200_error("PutObject", b"<Error/>"));
    }

    /// [`decode_object_page`] against the generic rest-xml decoder + [`decode_list_keys`]:
    /// the same objects, prefixes, continuation and errors over pages built to hit every rule.
    #[test]
    fn object_page_decoder_matches_the_generic_decoder() {
        let op = crate::service("s3api")
            .unwrap()
            .operation("ListObjectsV2")
            .unwrap();
        let generic = |body: &str| -> Result<ObjectPage, String> {
            let mut v = crate::rest::decode_response(op, 200, &[], body.as_bytes())
                .map_err(|e| e.message)?;
            decode_list_keys("ListObjectsV2", &mut v);
            let none = vec![];
            Ok(ObjectPage {
                contents: v["Contents"]
                    .as_array()
                    .unwrap_or(&none)
                    .iter()
                    .map(|c| ListedObject {
                        key: c["Key"].as_str().unwrap_or_default().to_string(),
                        size: c["Size"].as_i64().unwrap_or(0),
                        last_modified: c["LastModified"].as_str().map(|t| {
                            crate::time::parse_any(t).expect("the generic decoder's own form")
                        }),
                        storage_class: c["StorageClass"].as_str().map(str::to_string),
                    })
                    .collect(),
                common_prefixes: v["CommonPrefixes"]
                    .as_array()
                    .unwrap_or(&none)
                    .iter()
                    .map(|p| p["Prefix"].as_str().unwrap_or_default().to_string())
                    .collect(),
                is_truncated: v["IsTruncated"].as_bool().unwrap_or(false),
                next_continuation_token: v["NextContinuationToken"].as_str().map(str::to_string),
            })
        };
        let obj = |key: &str, rest: &str| format!("<Contents><Key>{key}</Key>{rest}</Contents>");
        let wrap = |inner: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{inner}</ListBucketResult>"
            )
        };
        let t = "<LastModified>2026-12-07T21:35:31.000Z</LastModified>";
        let mut bodies: Vec<String> = vec![
            String::new(),
            "  \n".into(),
            "<ListBucketResult/>".into(),
            wrap(""),
            wrap("<Name>b</Name><Prefix>many/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"),
            wrap(&format!(
                "<Name>b</Name><IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>{}{}<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>",
                obj("a.txt", &format!("{t}<ETag>&quot;x&quot;</ETag><Size>4</Size><Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>")),
                obj("b", "<Size>0</Size><LastModified>2026-12-07T21:35:31.123456Z</LastModified><StorageClass>GLACIER</StorageClass>"),
            )),
            // encoding-type=url: keys and prefixes unquoted, `+` kept; without it they stay.
            wrap(&format!(
                "<EncodingType>url</EncodingType>{}<CommonPrefixes><Prefix>a%20b%2F/</Prefix></CommonPrefixes>",
                obj("sp%20ace+plus%E3%81%82%2Fx", &format!("{t}<Size>1</Size>"))
            )),
            wrap(&obj("sp%20ace", "<Size>1</Size>")),
            // Entities, character references, CDATA, CRLF, whitespace kept in keys.
            wrap(&obj(" a&amp;b&#x41;&#66;<![CDATA[<c>]]>\r\nd\re ", "<Size> 7 </Size>")),
            // Empty elements, missing members, first occurrence wins, unknown and nested
            // elements skipped, text between elements ignored.
            wrap("<Contents/><Contents><Key/><Size>3</Size></Contents><CommonPrefixes/><IsTruncated/>"),
            wrap(&format!(
                "text<Contents><Key>k1</Key><Key>k2</Key><Size>1</Size><Size>2</Size>{t}<Extra><Key>no</Key></Extra></Contents><IsTruncated> true </IsTruncated><IsTruncated>false</IsTruncated><NextContinuationToken/>"
            )),
            wrap("<Contents><Key>k<b>inner</b>tail</Key><Size>-5</Size></Contents>"),
            // Prefixed names (namespaces dropped).
            "<s3:ListBucketResult xmlns:s3=\"urn:x\"><s3:Contents><s3:Key>p</s3:Key><s3:Size>9</s3:Size></s3:Contents></s3:ListBucketResult>".into(),
            // Errors: a bad size, a bad time, a bad entity, an unclosed document, two roots.
            wrap(&obj("k", "<Size>x</Size>")),
            wrap(&obj("k", "<LastModified>yesterday</LastModified>")),
            wrap(&obj("k&bogus;", "")),
            "<ListBucketResult><Contents><Key>k</Key>".into(),
            format!("{}<Other/>", wrap("")),
        ];
        // A page of 1,000 objects, as `s3 ls` reads it.
        bodies.push(wrap(
            &(0..1000)
                .map(|i| obj(&format!("many/f{i}.txt"), &format!("{t}<Size>{i}</Size>")))
                .collect::<String>(),
        ));
        for body in &bodies {
            let fast = decode_object_page(body).map_err(|e| e.message);
            assert_eq!(fast, generic(body), "{body}");
        }
        let big = decode_object_page(bodies.last().unwrap()).unwrap();
        assert_eq!(big.contents.len(), 1000);
        assert_eq!(big.contents[999].key, "many/f999.txt");
    }
}
