//! Timestamps: parsing the forms users and services send, formatting the forms the wire and the
//! Value convention use. UTC only; resolution is microseconds (what botocore keeps).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant with microsecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (may be negative).
    pub secs: i64,
    /// Microseconds within the second, `0..1_000_000`.
    pub micros: u32,
}

impl Timestamp {
    pub fn from_system_time(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: d.as_secs() as i64,
                micros: d.subsec_micros(),
            },
            Err(e) => {
                let d = e.duration();
                let mut secs = -(d.as_secs() as i64);
                let mut micros = d.subsec_micros();
                if micros > 0 {
                    secs -= 1;
                    micros = 1_000_000 - micros;
                }
                Timestamp { secs, micros }
            }
        }
    }

    pub fn to_system_time(self) -> SystemTime {
        let sub = Duration::from_micros(self.micros as u64);
        if self.secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.secs as u64) + sub
        } else {
            UNIX_EPOCH - Duration::from_secs(self.secs.unsigned_abs()) + sub
        }
    }

    /// From epoch seconds (JSON 1.1 wire form; fractional seconds allowed). Rounds to the
    /// microsecond exactly as Python's `datetime.fromtimestamp` (which botocore uses): the
    /// fraction alone is scaled and rounded half to even.
    pub fn from_epoch_f64(v: f64) -> Option<Timestamp> {
        if !v.is_finite() || v.abs() > 1e13 {
            return None;
        }
        let mut secs = v.trunc() as i64;
        let mut us = (v.fract() * 1e6).round_ties_even() as i64;
        if us >= 1_000_000 {
            secs += 1;
            us -= 1_000_000;
        } else if us < 0 {
            secs -= 1;
            us += 1_000_000;
        }
        Some(Timestamp {
            secs,
            micros: us as u32,
        })
    }

    /// Epoch seconds as a JSON number: an integer when there is no fraction.
    pub fn to_epoch_json(self) -> serde_json::Value {
        if self.micros == 0 {
            serde_json::Value::from(self.secs)
        } else {
            serde_json::Value::from(self.secs as f64 + self.micros as f64 / 1e6)
        }
    }

    /// Parses ISO 8601 / RFC 3339 (`2026-11-24T10:30:00Z`, `...+00:00`, `...+0100`,
    /// fractional seconds, a space instead of `T`, a bare date) or epoch seconds (`1764000000`).
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            && let Ok(v) = s.parse::<f64>()
        {
            return Timestamp::from_epoch_f64(v);
        }
        let b = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let part = b.get(from..from + len)?;
            if !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(part).ok()?.parse().ok()
        };
        let year = num(0, 4)?;
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let month = num(5, 2)?;
        let day = num(8, 2)?;
        if !(1..=12).contains(&month)
            || day < 1
            || day > i64::from(kagi_time::days_in_month(year, month as u32))
        {
            return None;
        }
        let days = kagi_time::days_from_civil(year, month as u32, day as u32);
        if b.len() == 10 {
            return Some(Timestamp {
                secs: days * 86_400,
                micros: 0,
            });
        }
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let hour = num(11, 2)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        let minute = num(14, 2)?;
        let (second, mut i) = if b.get(16) == Some(&b':') {
            (num(17, 2)?, 19)
        } else {
            (0, 16)
        };
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut micros: u32 = 0;
        if matches!(b.get(i), Some(b'.' | b',')) {
            i += 1;
            let start = i;
            let mut scale = 100_000u32;
            while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
                micros += (d - b'0') as u32 * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset_secs: i64 = match &b[i..] {
            [] | [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), rest @ ..] => {
                let digits: Vec<u8> = rest.iter().copied().filter(|c| *c != b':').collect();
                if digits.len() != 4 && digits.len() != 2 || !digits.iter().all(u8::is_ascii_digit)
                {
                    return None;
                }
                let h = ((digits[0] - b'0') * 10 + (digits[1] - b'0')) as i64;
                let m = if digits.len() == 4 {
                    ((digits[2] - b'0') * 10 + (digits[3] - b'0')) as i64
                } else {
                    0
                };
                let off = h * 3600 + m * 60;
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        Some(Timestamp {
            secs: days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs,
            micros,
        })
    }

    fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        kagi_time::civil_time(self.secs)
    }

    /// The Value convention / AWS CLI v2 output form: `2026-11-24T10:30:00+00:00`
    /// (`.123456` microseconds when non-zero, like Python's `isoformat()`).
    pub fn to_value_string(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        if self.micros == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
        } else {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+00:00",
                self.micros
            )
        }
    }

    /// The query request form, as botocore's `_timestamp_iso8601`: `2026-11-24T10:30:00Z`, or
    /// `.123456Z` (always six digits) when there is a fraction.
    pub fn to_iso_z_micros(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        if self.micros == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
                self.micros
            )
        }
    }

    /// The XML response form: `2026-11-24T10:30:00Z` (`.123Z` or `.123456Z` when needed).
    pub fn to_iso_z(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        if self.micros == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else if self.micros.is_multiple_of(1000) {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
                self.micros / 1000
            )
        } else {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
                self.micros
            )
        }
    }
}

impl Timestamp {
    /// RFC 822 / HTTP-date form, as botocore's `_timestamp_rfc822`:
    /// `Tue, 24 Nov 2026 10:30:00 GMT`.
    pub fn to_rfc822(self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (y, mo, d, h, mi, s) = self.parts();
        let weekday = DAYS[self.secs.div_euclid(86_400).rem_euclid(7) as usize];
        format!(
            "{weekday}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
            MONTHS[(mo as usize).saturating_sub(1).min(11)]
        )
    }

    /// Parses an RFC 822 / HTTP date (`Tue, 24 Nov 2026 10:30:00 GMT`).
    pub fn parse_rfc822(s: &str) -> Option<Timestamp> {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let s = s.trim();
        let s = s.split_once(", ").map_or(s, |(_, r)| r);
        let mut it = s.split_ascii_whitespace();
        let d: u32 = it.next()?.parse().ok()?;
        let mon = it.next()?;
        let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? + 1;
        let y: i64 = it.next()?.parse().ok()?;
        let time = it.next()?;
        let zone = it.next().unwrap_or("GMT");
        if !matches!(zone, "GMT" | "UTC" | "Z" | "+0000") {
            return None;
        }
        Timestamp::parse(&format!("{y:04}-{mo:02}-{d:02}T{time}Z"))
    }
}

/// A timestamp in the wire form a shape's `timestampFormat` names (`iso8601`, `rfc822`,
/// `unixTimestamp`); `None`: ISO 8601 with `Z`.
pub fn format_as(t: Timestamp, format: Option<&str>) -> String {
    match format {
        Some("rfc822") => t.to_rfc822(),
        Some("unixTimestamp") => match t.to_epoch_json() {
            serde_json::Value::Number(n) => n.to_string(),
            other => other.to_string(),
        },
        _ => t.to_iso_z(),
    }
}

/// Parses any wire form of a timestamp: ISO 8601, epoch seconds, RFC 822.
pub fn parse_any(s: &str) -> Option<Timestamp> {
    Timestamp::parse(s)
        .or_else(|| Timestamp::parse_rfc822(s))
        .or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .and_then(Timestamp::from_epoch_f64)
        })
}

/// Normalises any accepted timestamp string to the Value form (`...+00:00`).
pub fn normalize(s: &str) -> Option<String> {
    Timestamp::parse(s).map(Timestamp::to_value_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = Timestamp::parse("2026-11-24T10:30:00Z").unwrap();
        assert_eq!(t.to_value_string(), "2026-11-24T10:30:00+00:00");
        assert_eq!(t.to_iso_z(), "2026-11-24T10:30:00Z");
        assert_eq!(Timestamp::parse("2026-11-24T10:30:00+00:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-24T11:30:00+01:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-24T05:30:00-0500"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-24 10:30:00"), Some(t));
        assert_eq!(Timestamp::parse(&t.secs.to_string()), Some(t));
        let f = Timestamp::parse("2011-07-15T23:28:33.359Z").unwrap();
        assert_eq!(f.micros, 359_000);
        assert_eq!(f.to_iso_z(), "2011-07-15T23:28:33.359Z");
        assert_eq!(f.to_value_string(), "2011-07-15T23:28:33.359000+00:00");
        assert_eq!(
            Timestamp::parse("1970-01-01").unwrap(),
            Timestamp { secs: 0, micros: 0 }
        );
        assert_eq!(
            Timestamp::parse("2000-02-29T00:00:00Z").unwrap().secs,
            951_782_400
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30T00:00:00Z",
            "yesterday",
            "2026-11-24T25:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc822() {
        let t = Timestamp::parse("2026-11-24T10:30:00Z").unwrap();
        assert_eq!(t.to_rfc822(), "Tue, 24 Nov 2026 10:30:00 GMT");
        assert_eq!(Timestamp::parse_rfc822(&t.to_rfc822()), Some(t));
        let epoch = Timestamp { secs: 0, micros: 0 };
        assert_eq!(epoch.to_rfc822(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(parse_any("Thu, 01 Jan 1970 00:00:00 GMT"), Some(epoch));
        assert_eq!(format_as(t, Some("unixTimestamp")), "1795516200");
        assert_eq!(format_as(t, Some("iso8601")), "2026-11-24T10:30:00Z");
    }

    #[test]
    fn epoch_json_round_trip() {
        let t = Timestamp::from_epoch_f64(1_700_000_000.123).unwrap();
        assert_eq!(t.micros, 123_000);
        assert_eq!(t.to_epoch_json(), serde_json::json!(1_700_000_000.123));
        let w = Timestamp::from_epoch_f64(1_700_000_000.0).unwrap();
        assert_eq!(w.to_epoch_json(), serde_json::json!(1_700_000_000i64));
    }

    #[test]
    fn system_time_round_trip() {
        let t = Timestamp {
            secs: 1_764_000_000,
            micros: 42,
        };
        assert_eq!(Timestamp::from_system_time(t.to_system_time()), t);
        let n = Timestamp {
            secs: -5,
            micros: 250_000,
        };
        assert_eq!(Timestamp::from_system_time(n.to_system_time()), n);
    }
}
