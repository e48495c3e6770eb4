//! The AWS shared config/credentials INI dialect: a reader with the cross-SDK semantics
//! (`profile-parser-tests.json`) and a format-preserving line editor for `configure set`.
//!
//! Reading follows the shared SDK spec (the one botocore's configparser-based loader agrees with
//! on every file the AWS CLI writes): `#`/`;` comment lines; comments after a section header
//! anywhere, after a value only when preceded by whitespace; indented lines continue the previous
//! value (a value that is empty on its own line starts sub-properties, which must be `k = v`);
//! property names are lowercased; `[profile NAME]` and `[default]` are profiles in the config
//! file, `[NAME]` in the credentials file; `[sso-session NAME]`, `[services NAME]` are their own
//! sections; invalid names are ignored.
//!
//! Editing never re-renders the file: only the affected lines change, everything else (comments,
//! order, unrelated sections, blank lines) is kept byte for byte.

use std::collections::BTreeMap;
use std::fmt;

const WS: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];

/// Which file a text came from (they name profiles differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
}

/// A parse error with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Properties of one section, in the order first seen (names lowercased).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Props(pub Vec<(String, String)>);

impl Props {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn set(&mut self, key: String, value: String) {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }
    fn merge_from(&mut self, other: &Props) {
        for (k, v) in &other.0 {
            self.set(k.clone(), v.clone());
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses a nested value (`"\nname = value\nname2 = v"`) into its sub-properties.
pub fn sub_properties(value: &str) -> Vec<(String, String)> {
    value
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim_matches(WS);
            (!k.is_empty()).then(|| (k.to_ascii_lowercase(), v.trim_matches(WS).to_string()))
        })
        .collect()
}

/// The merged view of the config and credentials files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileSet {
    /// Profiles in order: config file order first, then credentials-only profiles.
    pub profiles: Vec<(String, Props)>,
    pub sso_sessions: BTreeMap<String, Props>,
    pub services: BTreeMap<String, Props>,
}

impl ProfileSet {
    pub fn profile(&self, name: &str) -> Option<&Props> {
        self.profiles
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }
    fn profile_mut(&mut self, name: &str) -> &mut Props {
        if let Some(i) = self.profiles.iter().position(|(n, _)| n == name) {
            &mut self.profiles[i].1
        } else {
            self.profiles.push((name.to_string(), Props::default()));
            &mut self.profiles.last_mut().expect("just pushed").1
        }
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.iter().map(|(n, _)| n.as_str())
    }

    /// Builds the merged set; credentials-file properties win over config-file ones.
    pub fn load(config: Option<&str>, credentials: Option<&str>) -> Result<ProfileSet, ParseError> {
        let mut set = ProfileSet::default();
        if let Some(text) = config {
            let raw = parse_raw(text)?;
            // `[profile default]` beats `[default]` regardless of order.
            let has_prefixed_default = raw.iter().any(|(h, _)| {
                classify(h, FileKind::Config) == Section::Profile("default".into())
                    && h.trim_matches(WS) != "default"
            });
            for (header, props) in &raw {
                match classify(header, FileKind::Config) {
                    Section::Profile(name) => {
                        if name == "default"
                            && has_prefixed_default
                            && header.trim_matches(WS) == "default"
                        {
                            continue;
                        }
                        set.profile_mut(&name).merge_from(props);
                    }
                    Section::SsoSession(name) => {
                        set.sso_sessions.entry(name).or_default().merge_from(props)
                    }
                    Section::Services(name) => {
                        set.services.entry(name).or_default().merge_from(props)
                    }
                    Section::Ignored => {}
                }
            }
        }
        if let Some(text) = credentials {
            for (header, props) in &parse_raw(text)? {
                if let Section::Profile(name) = classify(header, FileKind::Credentials) {
                    set.profile_mut(&name).merge_from(props);
                }
            }
        }
        Ok(set)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Section {
    Profile(String),
    SsoSession(String),
    Services(String),
    Ignored,
}

fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-/.%@_:+".contains(c))
}

fn split_prefix<'a>(header: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = header.strip_prefix(prefix)?;
    if rest.starts_with(WS) {
        Some(rest.trim_matches(WS))
    } else {
        None
    }
}

fn classify(header: &str, kind: FileKind) -> Section {
    let h = header.trim_matches(WS);
    let named = |n: &str, f: fn(String) -> Section| {
        if valid_identifier(n) {
            f(n.to_string())
        } else {
            Section::Ignored
        }
    };
    match kind {
        FileKind::Config => {
            if h == "default" {
                Section::Profile("default".into())
            } else if let Some(n) = split_prefix(h, "profile") {
                named(n, Section::Profile)
            } else if let Some(n) = split_prefix(h, "sso-session") {
                named(n, Section::SsoSession)
            } else if let Some(n) = split_prefix(h, "services") {
                named(n, Section::Services)
            } else {
                Section::Ignored
            }
        }
        FileKind::Credentials => named(h, Section::Profile),
    }
}

/// Strips a trailing comment; in values a comment needs whitespace before it.
fn strip_comment(line: &str, needs_ws: bool) -> &str {
    let line = line.trim_matches(WS);
    let mut prev_ws = false;
    for (i, c) in line.char_indices() {
        if COMMENT.contains(&c) && (prev_ws || !needs_ws) {
            return line[..i].trim_matches(WS);
        }
        prev_ws = c.is_whitespace();
    }
    line
}

enum PropErr {
    NoEquals,
    NoName,
}

fn parse_property(line: &str) -> Result<(String, String), PropErr> {
    let line = strip_comment(line, true);
    let (k, v) = line.split_once('=').ok_or(PropErr::NoEquals)?;
    let k = k.trim_matches(WS);
    if k.is_empty() {
        return Err(PropErr::NoName);
    }
    Ok((k.to_ascii_lowercase(), v.trim_matches(WS).to_string()))
}

fn prop_error(e: PropErr, what: &str, line: usize) -> ParseError {
    let message = match e {
        PropErr::NoName => {
            let mut w = what.to_string();
            w[..1].make_ascii_uppercase();
            format!("{w} did not have a name")
        }
        PropErr::NoEquals => format!("Expected an '=' sign defining a {what}"),
    };
    ParseError { line, message }
}

/// Parses one file into raw `(header, props)` sections (headers untrimmed inside the brackets,
/// duplicates merged, properties with invalid names dropped).
pub fn parse_raw(text: &str) -> Result<Vec<(String, Props)>, ParseError> {
    let mut sections: Vec<(String, Props)> = Vec::new();
    let mut current: Option<usize> = None;
    let mut property: Option<String> = None;
    let mut sub = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if is_skipped(line) {
            continue;
        }
        if let Some(name) = header_name(line) {
            let name = name.ok_or_else(|| ParseError {
                line: n,
                message: "Profile definition must end with ']'".into(),
            })?;
            let idx = match sections.iter().position(|(h, _)| h == name) {
                Some(idx) => idx,
                None => {
                    sections.push((name.to_string(), Props::default()));
                    sections.len() - 1
                }
            };
            current = Some(idx);
            property = None;
            sub = false;
        } else if line.starts_with(WS) {
            let Some(idx) = current else {
                return Err(ParseError {
                    line: n,
                    message: "Expected a profile definition".into(),
                });
            };
            let Some(prop) = &property else {
                return Err(ParseError {
                    line: n,
                    message: "Expected a property definition, found continuation".into(),
                });
            };
            if sub {
                parse_property(line).map_err(|e| prop_error(e, "sub-property", n))?;
            }
            let props = &mut sections[idx].1;
            if let Some(slot) = props.0.iter_mut().find(|(k, _)| k == prop) {
                slot.1.push('\n');
                slot.1.push_str(line.trim_matches(WS));
            }
        } else {
            let Some(idx) = current else {
                return Err(ParseError {
                    line: n,
                    message: "Expected a profile definition".into(),
                });
            };
            let (k, v) = parse_property(line).map_err(|e| prop_error(e, "property", n))?;
            sub = v.is_empty();
            property = Some(k.clone());
            if valid_identifier(&k) {
                sections[idx].1.set(k, v);
            } else {
                // Invalid names are dropped; continuations of them are dropped too.
                property = Some(String::from("\u{0}invalid"));
            }
        }
    }
    Ok(sections)
}

/// A value written by the editor: a scalar, a nested block, or a removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditValue {
    Set(String),
    Nested(Vec<(String, String)>),
    Remove,
}

/// A line the reader passes over: blank, or a comment starting in the first column.
fn is_skipped(line: &str) -> bool {
    let line = line.trim_end_matches(['\n', '\r']);
    line.trim_matches(WS).is_empty() || line.starts_with(COMMENT)
}

/// A line the reader takes as the continuation of the property before it: indented, not
/// skipped.
fn is_continuation(line: &str) -> bool {
    line.starts_with(WS) && !is_skipped(line)
}

/// The index just after the last continuation line of the property on line `at`. Blank and
/// comment lines do not end a value (the reader skips them), so continuations after them count.
fn continuation_end(lines: &[String], at: usize) -> usize {
    let mut end = at + 1;
    for (k, line) in lines.iter().enumerate().skip(at + 1) {
        if is_continuation(line) {
            end = k + 1;
        } else if !is_skipped(line) {
            break;
        }
    }
    end
}

/// A section header line as botocore reads one: `[` in the first column, `]` at the end (a
/// comment may follow). `None`: not a header line; `Some(None)`: starts like one but is not.
/// The parser and the editor both use it, so `edit` writes into the section `parse_raw` reads.
fn header_name(line: &str) -> Option<Option<&str>> {
    if !line.starts_with('[') {
        return None;
    }
    let l = strip_comment(line.trim_end_matches(['\n', '\r']), false);
    Some(l.strip_prefix('[').and_then(|l| l.strip_suffix(']')))
}

/// The section a line of the editor's text opens, if it is a valid header.
fn header_of(line: &str) -> Option<&str> {
    header_name(line).flatten()
}

/// The property a line of the editor's text defines, as the reader sees it: its name
/// (lowercased, as [`parse_property`] reads it) and its indent. `None` for skipped lines and
/// lines the reader would not take as a property.
fn option_of(line: &str) -> Option<(String, usize)> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if is_skipped(line) {
        return None;
    }
    let indent = line.len() - line.trim_start_matches(WS).len();
    let (key, _) = parse_property(line).ok()?;
    Some((key, indent))
}

/// Rejects values the files cannot hold.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.contains(['\n', '\r']) {
        return Err(format!(
            "Invalid value for key {key}: newline characters and carriage returns are not allowed."
        ));
    }
    Ok(())
}

/// Applies `values` to section `[section]` of `text`, returning the new text. Lines outside the
/// touched keys are kept byte for byte; a missing section is appended, a missing key is inserted
/// after the last property of the section.
///
/// The editor sees the file as the reader does ([`parse_raw`]): sections with the same name
/// merge and a key's last occurrence wins, values continue across blank and comment lines. So a
/// key is written at its last occurrence (new keys go into the last such section) and its
/// earlier occurrences are removed: what was set is what is read back.
pub fn edit(text: &str, section: &str, values: &[(String, EditValue)]) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| header_of(&lines[i]).is_some())
        .collect();
    // Every `[section]` in the file, as (header line, end) ranges.
    let ranges: Vec<(usize, usize)> = headers
        .iter()
        .enumerate()
        .filter(|&(_, &i)| {
            header_of(&lines[i]).is_some_and(|h| h == section || quoted_eq(h, section))
        })
        .map(|(n, &i)| (i, headers.get(n + 1).copied().unwrap_or(lines.len())))
        .collect();
    let Some(&(last_start, last_end)) = ranges.last() else {
        let body = render_new(values, "");
        if body.is_empty() {
            return text.to_string();
        }
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("[{section}]\n"));
        out.push_str(&body);
        return out;
    };
    let is_property = |line: &str| option_of(line).is_some_and(|(_, indent)| indent == 0);
    let mut missing: Vec<(String, EditValue)> = Vec::new();
    for (key, value) in values {
        let occurrences: Vec<usize> = ranges
            .iter()
            .flat_map(|&(start, end)| start + 1..end)
            .filter(|&i| {
                option_of(&lines[i])
                    .is_some_and(|(k, indent)| indent == 0 && k.eq_ignore_ascii_case(key))
            })
            .collect();
        let Some((&target, earlier)) = occurrences.split_last() else {
            if *value != EditValue::Remove {
                missing.push((key.clone(), value.clone()));
            }
            continue;
        };
        for &i in earlier {
            clear_continuations(&mut lines, i);
            lines[i].clear();
        }
        match value {
            EditValue::Remove => {
                clear_continuations(&mut lines, target);
                lines[target].clear();
            }
            // A new scalar ends the old value's continuation lines too (otherwise they would
            // carry on as part of the new value).
            EditValue::Set(s) => {
                clear_continuations(&mut lines, target);
                lines[target] = format!("{key} = {s}\n");
            }
            EditValue::Nested(subs) => set_nested(&mut lines, target, key, subs),
        }
    }
    let last_property = (last_start + 1..last_end)
        .rfind(|&i| is_property(&lines[i]))
        .unwrap_or(last_start);
    // After the last property's continuation lines.
    let at = continuation_end(&lines, last_property) - 1;
    append_after(&mut lines, at, &render_new(&missing, ""));
    lines.concat()
}

/// Clears the continuation lines of the property on line `at`.
fn clear_continuations(lines: &mut [String], at: usize) {
    let end = continuation_end(lines, at);
    for line in &mut lines[at + 1..end] {
        if is_continuation(line) {
            line.clear();
        }
    }
}

/// Appends `text` (whole lines) after line `at`.
fn append_after(lines: &mut [String], at: usize, text: &str) {
    if text.is_empty() {
        return;
    }
    if !lines[at].ends_with('\n') {
        lines[at].push('\n');
    }
    lines[at].push_str(text);
}

/// Sets sub-properties `subs` of the property `key` on line `at`: each at its last occurrence
/// (earlier ones removed), missing ones appended. A scalar value there is replaced.
fn set_nested(lines: &mut [String], at: usize, key: &str, subs: &[(String, String)]) {
    let scalar = lines[at]
        .split_once('=')
        .is_some_and(|(_, v)| !v.trim().is_empty());
    if scalar {
        clear_continuations(lines, at);
        lines[at] = format!("{key} =\n");
    }
    let end = continuation_end(lines, at);
    let mut extra = String::new();
    for (name, value) in subs {
        let found: Vec<usize> = (at + 1..end)
            .filter(|&i| {
                is_continuation(&lines[i])
                    && option_of(&lines[i]).is_some_and(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .collect();
        match found.split_last() {
            Some((&last, earlier)) => {
                for &i in earlier {
                    lines[i].clear();
                }
                let indent = option_of(&lines[last]).map_or(4, |(_, indent)| indent);
                lines[last] = format!("{}{name} = {value}\n", " ".repeat(indent));
            }
            None => extra.push_str(&format!("    {name} = {value}\n")),
        }
    }
    let last = (at..end).rfind(|&i| !lines[i].is_empty()).unwrap_or(at);
    append_after(lines, last, &extra);
}

fn quoted_eq(header: &str, section: &str) -> bool {
    match section.split_once(' ') {
        Some((a, b)) => header == format!("{a} \"{b}\""),
        None => false,
    }
}

fn render_new(values: &[(String, EditValue)], indent: &str) -> String {
    let mut out = String::new();
    for (k, v) in values {
        match v {
            EditValue::Set(s) => out.push_str(&format!("{indent}{k} = {s}\n")),
            EditValue::Nested(subs) => {
                out.push_str(&format!("{indent}{k} =\n"));
                for (sk, sv) in subs {
                    out.push_str(&format!("{indent}    {sk} = {sv}\n"));
                }
            }
            EditValue::Remove => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> (String, EditValue) {
        (k.to_string(), EditValue::Set(v.to_string()))
    }

    #[test]
    fn edit_keeps_comments_and_order() {
        let text = "# top comment\n[default]\nregion = us-east-1 ; trailing\n\n[profile other]\n# keep me\noutput = text\n";
        let out = edit(
            text,
            "default",
            &[set("region", "ap-northeast-1"), set("output", "json")],
        );
        assert_eq!(
            out,
            "# top comment\n[default]\nregion = ap-northeast-1\noutput = json\n\n[profile other]\n# keep me\noutput = text\n"
        );
    }

    #[test]
    fn edit_appends_missing_section_with_newline() {
        let out = edit(
            "[default]\nregion = x",
            "profile p",
            &[set("role_arn", "arn")],
        );
        assert_eq!(out, "[default]\nregion = x\n[profile p]\nrole_arn = arn\n");
        assert_eq!(edit("", "default", &[set("a", "b")]), "[default]\na = b\n");
    }

    #[test]
    fn edit_removes_and_nests() {
        let text = "[default]\naws_access_key_id = A\naws_session_token = T\n[x]\n";
        let out = edit(
            text,
            "default",
            &[("aws_session_token".into(), EditValue::Remove)],
        );
        assert_eq!(out, "[default]\naws_access_key_id = A\n[x]\n");
        let text = "[services s]\nsts =\n  endpoint_url = a\nother = 1\n";
        let out = edit(
            text,
            "services s",
            &[(
                "sts".into(),
                EditValue::Nested(vec![
                    ("endpoint_url".into(), "b".into()),
                    ("x".into(), "y".into()),
                ]),
            )],
        );
        assert_eq!(
            out,
            "[services s]\nsts =\n  endpoint_url = b\n    x = y\nother = 1\n"
        );
        let parsed = ProfileSet::load(Some(&out), None).unwrap();
        assert_eq!(
            sub_properties(parsed.services["s"].get("sts").unwrap()),
            vec![
                ("endpoint_url".into(), "b".into()),
                ("x".into(), "y".into())
            ]
        );
    }

    #[test]
    fn edit_inserts_after_continuations() {
        let text = "[profile a]\ns3 =\n  max = 1\n[b]\n";
        let out = edit(text, "profile a", &[set("region", "r")]);
        assert_eq!(out, "[profile a]\ns3 =\n  max = 1\nregion = r\n[b]\n");
    }

    /// Found by `fuzz/` (target `ini`): the editor took `[default]x[y]` for `[default]` (up to
    /// the first `]`) while the parser, like botocore, reads the section `default]x[y`; the
    /// value `configure set` wrote was then not read back. Both now share one header rule.
    #[test]
    fn edit_writes_where_the_parser_reads() {
        for text in [
            "[default]x[y]\nm = 1\n",
            "[a]\nk = v\n  [default]\n",
            "[default] # c\n",
            // Also found by fuzzing: the old value's continuation lines outlived it, and a
            // `:` before the `=` made the editor see another key than the reader.
            "[default]\nregion = old\n  more = 1\nregion:x=y\n",
            // ...continuations after a blank line or a comment still continue, a key's last
            // occurrence wins, and so does the last of two sections with the same name.
            "[default]\nregion = a\nregion = b\n",
            "[default]\nregion = a\n[other]\n[default]\noutput = json\n",
            "[default]\nregion = a\n[default]\nregion = b\nRegion = c\n",
            "[default]\ns3 =\n  a = 1\n\n# c\n  b = 2\n",
            "[default]\nregion = old\n\n  more\n",
        ] {
            let out = edit(text, "default", &[set("region", "r")]);
            let parsed = parse_raw(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
            let got = parsed
                .iter()
                .find(|(n, _)| n == "default")
                .and_then(|(_, p)| p.get("region"));
            assert_eq!(got, Some("r"), "{text:?} became {out:?}");
        }
    }

    /// Found by `fuzz/` (target `ini`): the editor trimmed `\r` off a name the reader keeps
    /// (`s3\r\r` is no identifier, so the reader drops it), took it for `s3` and left the nested
    /// value unwritten.
    #[test]
    fn edit_takes_names_as_the_reader_does() {
        let nested = EditValue::Nested(vec![("max_concurrent_requests".into(), "20".into())]);
        let out = edit("[default]\ns3\r\r =\n", "default", &[("s3".into(), nested)]);
        let parsed = parse_raw(&out).unwrap();
        let s3 = parsed[0].1.get("s3").unwrap_or_else(|| panic!("{out:?}"));
        assert_eq!(
            sub_properties(s3),
            [("max_concurrent_requests".to_string(), "20".to_string())]
        );
    }

    #[test]
    fn config_and_credentials_merge() {
        let set = ProfileSet::load(
            Some("[default]\nregion = a\n[profile p]\nrole_arn = r\nsource_profile = default\n[services s]\nsts =\n  endpoint_url = http://x\n"),
            Some("[default]\naws_access_key_id = K\n[q]\nregion = z\n"),
        )
        .unwrap();
        assert_eq!(set.names().collect::<Vec<_>>(), ["default", "p", "q"]);
        assert_eq!(
            set.profile("default").unwrap().get("aws_access_key_id"),
            Some("K")
        );
        assert_eq!(
            set.services["s"].get("sts"),
            Some("\nendpoint_url = http://x")
        );
    }
}
