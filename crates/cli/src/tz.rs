//! The local time offset, as Python's `dateutil.tz.tzlocal()` gives it to the AWS CLI's
//! `s3 ls`: `TZ` (`UTC`, `:Area/City`, `Area/City`, an absolute TZif path) or
//! `/etc/localtime`, read as a TZif file (RFC 8536: the 64-bit block of version 2+, the
//! 32-bit one of version 1). Times after the last transition keep its offset (the POSIX
//! footer's rule is not evaluated); no file means UTC.

use std::path::PathBuf;

/// Seconds east of UTC at Unix time `t`, for the zone `tz` (`None`: `/etc/localtime`).
pub fn offset_at(tz: Option<&str>, t: i64) -> i64 {
    let path = match tz.map(|z| z.trim_start_matches(':')) {
        Some("" | "UTC" | "UTC0" | "GMT" | "GMT0" | "Z") => return 0,
        Some(z) if z.starts_with('/') => PathBuf::from(z),
        Some(z) => PathBuf::from("/usr/share/zoneinfo").join(z),
        None => PathBuf::from("/etc/localtime"),
    };
    // The zone file is read once per process (`s3 ls` asks for every object's time).
    static ZONES: std::sync::Mutex<Vec<(PathBuf, Option<Vec<u8>>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut zones = ZONES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let i = match zones.iter().position(|(p, _)| *p == path) {
        Some(i) => i,
        None => {
            let bytes = std::fs::read(&path).ok();
            zones.push((path, bytes));
            zones.len() - 1
        }
    };
    zones[i]
        .1
        .as_deref()
        .and_then(|b| offset_in(b, t))
        .unwrap_or(0)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The offset at `t` in a TZif file.
pub fn offset_in(b: &[u8], t: i64) -> Option<i64> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let version = *b.get(4)?;
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, x) in c.iter_mut().enumerate() {
            *x = be32(b, at + 20 + 4 * i)? as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, time, typ, chars] = counts(0)?;
    let (base, width, [_, _, _, time, typ, _]) = if version >= b'2' {
        let v1_len = time * 5 + typ * 6 + chars + leap * 8 + isstd + isut;
        let at = 44 + v1_len;
        (at + 44, 8, counts(at)?)
    } else {
        (44, 4, [isut, isstd, leap, time, typ, chars])
    };
    let times_at = base;
    let idx_at = times_at + time * width;
    let types_at = idx_at + time;
    let ttinfo = |i: usize| -> Option<i64> { Some(be32(b, types_at + 6 * i)? as i32 as i64) };
    let mut chosen: Option<usize> = None;
    for i in 0..time {
        let at = times_at + i * width;
        let tt = if width == 8 {
            i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)
        } else {
            be32(b, at)? as i32 as i64
        };
        if tt > t {
            break;
        }
        chosen = Some(*b.get(idx_at + i)? as usize);
    }
    let index = match chosen {
        Some(i) => i,
        // Before the first transition: the first standard-time type (RFC 8536 3.2).
        None => (0..typ)
            .find(|i| b.get(types_at + 6 * i + 4) == Some(&0))
            .unwrap_or(0),
    };
    if index >= typ {
        return None;
    }
    ttinfo(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_zones() {
        assert_eq!(offset_at(Some("UTC"), 0), 0);
        assert_eq!(offset_at(Some(":UTC"), 1_700_000_000), 0);
        // Zones from the system's tzdata when it is there (Debian: /usr/share/zoneinfo).
        if std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists() {
            assert_eq!(offset_at(Some("Asia/Tokyo"), 1_700_000_000), 9 * 3600);
            // New York: EST in January, EDT in July (2023).
            assert_eq!(
                offset_at(Some("America/New_York"), 1_673_000_000),
                -5 * 3600
            );
            assert_eq!(
                offset_at(Some("America/New_York"), 1_689_000_000),
                -4 * 3600
            );
        }
        assert_eq!(offset_in(b"nope", 0), None);
    }
}
