//! The registry's `Range` (blob GETs) and `Content-Range` (upload PATCHes) parsers: any header
//! value against any blob size parses or is refused, never a panic; an accepted range is
//! inclusive, ordered and inside the blob; and `bytes=START-END` of an accepted range parses
//! to itself.

use kagi_ecr::registry::{parse_content_range, parse_range};

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    if data.len() < 8 {
        return;
    }
    let (size, header) = data.split_at(8);
    // Sizes near u64::MAX as well as small ones.
    let size = u64::from_le_bytes(size.try_into().unwrap()) >> (data[0] % 64);
    let header = String::from_utf8_lossy(header);
    if let Ok(Some((start, end))) = parse_range(Some(&header), size) {
        assert!(
            start <= end && end < size,
            "{header:?} on {size} bytes gave {start}-{end}"
        );
        let again = parse_range(Some(&format!("bytes={start}-{end}")), size);
        assert_eq!(again, Ok(Some((start, end))), "{header:?} on {size}");
    }
    if let Some(start) = parse_content_range(&header) {
        assert!(
            header.contains(&start.to_string()),
            "{header:?} gave start {start}"
        );
    }
}
