//! kagi-time: the calendar arithmetic every timestamp format in kagi is built on.
//!
//! SigV4 dates (`20261124T103000Z`), AWS wire timestamps (XML ISO-8601, JSON epoch seconds), IAM
//! `Date*` condition values and stored entity dates all need the same two conversions between a
//! day count and a (year, month, day) date. They live here once, with no dependencies, so the pure
//! crates (`kagi-policy`, `kagi-sigv4`, `kagi-api`) and the server share one tested
//! implementation instead of each keeping its own copy. Parsing and formatting stay with the
//! formats' owners: each crate accepts a different set of syntaxes on purpose.
//!
//! Dates are proleptic Gregorian; day 0 is 1970-01-01. The algorithms are Howard Hinnant's
//! `days_from_civil` / `civil_from_days` (public domain, <https://howardhinnant.github.io/date_algorithms.html>).

#![forbid(unsafe_code)]

/// Days since 1970-01-01 of the date `y`-`m`-`d` (`m` in 1..=12, `d` in 1..=31; not checked:
/// use [`days_in_month`] to validate first).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1..=12, day 1..=31) of day `z` since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `y` is a leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The number of days in month `m` (1..=12) of year `y`; 0 for a month out of range.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Unix second `secs` as a UTC (year, month, day, hour, minute, second): what every timestamp
/// format in kagi is written from.
pub fn civil_time(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-11-24T10:30:00Z`: ISO 8601 in UTC with whole seconds (AWS's `aws:CurrentTime`, the
/// policy engine's date values).
pub fn iso8601_z(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_time(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 24), 20_781); // Python: (date(2026,11,24) - date(1970,1,1)).days
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn round_trip_and_successor_over_five_millennia() {
        let mut prev = civil_from_days(-1_000_000);
        for z in -999_999..1_000_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!((1..=days_in_month(y, m)).contains(&d), "{y}-{m}-{d}");
            // Each day follows the previous one in the calendar.
            let expected = if prev.2 < days_in_month(prev.0, prev.1) {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!((y, m, d), expected);
            prev = (y, m, d);
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap(2000) && is_leap(2024) && !is_leap(1900) && !is_leap(2026));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2026, 13), 0);
    }

    #[test]
    fn civil_time_and_iso8601() {
        assert_eq!(civil_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_time(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(iso8601_z(1_795_516_200), "2026-11-24T10:30:00Z");
        assert_eq!(iso8601_z(951_782_400), "2000-02-29T00:00:00Z");
    }
}
