//! `~/.aws/config` and `~/.aws/credentials`: any text parses or fails with a line number,
//! never a panic; and `kagi configure set` (ini::edit) on a file that parses writes a file that
//! still parses, reads back exactly what was set (a value, a nested sub-property, a removal)
//! and keeps every section.

use kagi_cli::ini::{self, EditValue};

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    for line in text.lines() {
        let _ = ini::sub_properties(line);
    }
    let Ok(before) = ini::parse_raw(text) else {
        return;
    };
    let section = [
        "default",
        "profile dev",
        "sso-session corp",
        "services local",
    ][usize::from(which & 3)];
    let key = ["region", "s3", "output", "role_arn"][usize::from((which >> 2) & 3)];
    let value = match which >> 4 {
        0..=9 => EditValue::Set("us-west-2".into()),
        10..=13 => EditValue::Nested(vec![("max_concurrent_requests".into(), "20".into())]),
        _ => EditValue::Remove,
    };
    let edited = ini::edit(text, section, &[(key.to_string(), value.clone())]);
    let after = ini::parse_raw(&edited)
        .unwrap_or_else(|e| panic!("the edited file does not parse ({e}):\n{edited}"));
    // The reader merges every section of that name (also `[profile "dev"]` for `profile dev`);
    // the last value wins.
    let quoted = section.split_once(' ').map(|(a, b)| format!("{a} \"{b}\""));
    let read = after
        .iter()
        .filter(|(name, _)| name == section || Some(name) == quoted.as_ref())
        .filter_map(|(_, props)| props.get(key))
        .next_back();
    match &value {
        EditValue::Set(v) => assert_eq!(
            read,
            Some(v.as_str()),
            "the value set does not read back:\n{edited}"
        ),
        EditValue::Nested(subs) => {
            let got = ini::sub_properties(
                read.unwrap_or_else(|| panic!("the nested value is missing:\n{edited}")),
            );
            for (n, v) in subs {
                let found = got.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v);
                assert_eq!(
                    found,
                    Some(v),
                    "sub-property {n} does not read back:\n{edited}"
                );
            }
        }
        EditValue::Remove => assert_eq!(read, None, "the removed key is still read:\n{edited}"),
    }
    for (name, _) in &before {
        assert!(
            after.iter().any(|(n, _)| n == name),
            "section [{name}] lost:\n{edited}"
        );
    }
}
