//! AWS event streams (`application/vnd.amazon.eventstream`), the client side: the binary
//! frames of a streaming response (CloudWatch Logs' `StartLiveTail`, ...), decoded as
//! botocore's `EventStreamBuffer` decodes them.
//!
//! A message: total length (u32), headers length (u32), the prelude's CRC32 (of those eight
//! bytes), the headers (name length u8, name, type u8, value), the payload, the message's
//! CRC32 (of everything before it); big-endian throughout. Both CRCs are checked.

/// A header value (the wire's types 0–9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// A string header (`:message-type`, `:event-type`, `:exception-type`, ...).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(k, v)| match v {
            HeaderValue::String(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }
}

const PRELUDE: usize = 12;
/// botocore's limits: 16 MiB per message, 128 KiB of headers.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 128 * 1024;

/// Decodes the first message of `buf`: `Ok(None)` while it is incomplete, else the message
/// and the bytes it took. Errors are botocore's (`Prelude checksum mismatch`, ...).
pub fn decode(buf: &[u8]) -> Result<Option<(Message, usize)>, String> {
    if buf.len() < PRELUDE {
        return Ok(None);
    }
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let total = be32(&buf[0..4]) as usize;
    let headers_len = be32(&buf[4..8]) as usize;
    let prelude_crc = be32(&buf[8..12]);
    if crc32fast::hash(&buf[0..8]) != prelude_crc {
        return Err(format!(
            "Prelude checksum mismatch: expected {prelude_crc:#x}, calculated {:#x}",
            crc32fast::hash(&buf[0..8])
        ));
    }
    if total > MAX_MESSAGE {
        return Err(format!(
            "Max message length of {MAX_MESSAGE} exceeded: {total}"
        ));
    }
    if headers_len > MAX_HEADERS {
        return Err(format!(
            "Max header length of {MAX_HEADERS} exceeded: {headers_len}"
        ));
    }
    if total < PRELUDE + headers_len + 4 {
        return Err(format!("Invalid message length {total}"));
    }
    if buf.len() < total {
        return Ok(None);
    }
    let message_crc = be32(&buf[total - 4..total]);
    let calculated = crc32fast::hash(&buf[..total - 4]);
    if calculated != message_crc {
        return Err(format!(
            "Checksum mismatch: expected {message_crc:#x}, calculated {calculated:#x}"
        ));
    }
    let headers = decode_headers(&buf[PRELUDE..PRELUDE + headers_len])?;
    let payload = buf[PRELUDE + headers_len..total - 4].to_vec();
    Ok(Some((Message { headers, payload }, total)))
}

fn decode_headers(mut b: &[u8]) -> Result<Vec<(String, HeaderValue)>, String> {
    let short = || "Truncated event stream header".to_string();
    let mut out = Vec::new();
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Some(h)
    }
    while !b.is_empty() {
        let n = take(&mut b, 1).ok_or_else(short)?[0] as usize;
        let name = String::from_utf8_lossy(take(&mut b, n).ok_or_else(short)?).into_owned();
        let t = take(&mut b, 1).ok_or_else(short)?[0];
        let mut fixed = |n: usize| -> Result<Vec<u8>, String> {
            Ok(take(&mut b, n).ok_or_else(short)?.to_vec())
        };
        let v = match t {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(fixed(1)?[0] as i8),
            3 => HeaderValue::Short(i16::from_be_bytes(fixed(2)?.try_into().unwrap_or_default())),
            4 => HeaderValue::Int(i32::from_be_bytes(fixed(4)?.try_into().unwrap_or_default())),
            5 => HeaderValue::Long(i64::from_be_bytes(fixed(8)?.try_into().unwrap_or_default())),
            8 => {
                HeaderValue::Timestamp(i64::from_be_bytes(fixed(8)?.try_into().unwrap_or_default()))
            }
            9 => HeaderValue::Uuid(fixed(16)?.try_into().unwrap_or_default()),
            6 | 7 => {
                let l = fixed(2)?;
                let v = fixed(u16::from_be_bytes([l[0], l[1]]) as usize)?;
                if t == 6 {
                    HeaderValue::Bytes(v)
                } else {
                    HeaderValue::String(String::from_utf8_lossy(&v).into_owned())
                }
            }
            other => return Err(format!("Unknown event stream header type {other}")),
        };
        out.push((name, v));
    }
    Ok(out)
}

/// Encodes a message with string headers (test servers, fuzzing).
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (k, v) in headers {
        h.push(k.len() as u8);
        h.extend_from_slice(k.as_bytes());
        h.push(7);
        h.extend_from_slice(&(v.len() as u16).to_be_bytes());
        h.extend_from_slice(v.as_bytes());
    }
    let total = PRELUDE + h.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame built by a separate Python encoder (`binascii.crc32`) and accepted by
    /// botocore's `EventStreamBuffer` (`:message-type: event`, `:event-type: sessionUpdate`,
    /// `:content-type: application/json`, payload `{"a":1}`).
    const FRAME: &str = include_str!("../tests/data/eventstream-frame.hex");

    fn unhex(s: &str) -> Vec<u8> {
        let s = s.trim();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_a_frame_botocore_accepts() {
        let b = unhex(FRAME);
        let (m, n) = decode(&b).unwrap().unwrap();
        assert_eq!(n, b.len());
        assert_eq!(m.header(":message-type"), Some("event"));
        assert_eq!(m.header(":event-type"), Some("sessionUpdate"));
        assert_eq!(m.header(":content-type"), Some("application/json"));
        assert_eq!(m.payload, b"{\"a\":1}");
        // Our encoder writes the same bytes.
        assert_eq!(
            encode(
                &[
                    (":message-type", "event"),
                    (":event-type", "sessionUpdate"),
                    (":content-type", "application/json")
                ],
                b"{\"a\":1}"
            ),
            b
        );
        // Incomplete: wait for more; corrupted: botocore's errors.
        assert_eq!(decode(&b[..5]).unwrap(), None);
        assert_eq!(decode(&b[..b.len() - 1]).unwrap(), None);
        let mut bad = b.clone();
        bad[20] ^= 1;
        assert!(decode(&bad).unwrap_err().starts_with("Checksum mismatch"));
        let mut bad = b.clone();
        bad[2] ^= 1;
        assert!(
            decode(&bad)
                .unwrap_err()
                .starts_with("Prelude checksum mismatch")
        );
        // Two messages back to back.
        let mut two = b.clone();
        two.extend_from_slice(&b);
        let (_, n) = decode(&two).unwrap().unwrap();
        assert_eq!(decode(&two[n..]).unwrap().unwrap().1, b.len());
    }
}
