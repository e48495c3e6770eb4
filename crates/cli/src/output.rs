//! Output formats, byte-compatible with AWS CLI v2 2.36.7 (`awscli/formatter.py`, `text.py`,
//! `table.py`; YAML as ruamel's safe dumper with block style).
//!
//! Everything renders a [`Doc`], an ordered JSON-like tree: objects keep the order of the
//! operation's output shape (as botocore's parsed dicts do). `serde_json::Value` (sorted maps)
//! converts into it; [`Doc::reorder`] applies a key order.

use std::fmt::Write as _;

/// An ordered JSON document.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    List(Vec<Doc>),
    Map(Vec<(String, Doc)>),
}

impl Doc {
    pub fn from_value(v: &serde_json::Value) -> Doc {
        use serde_json::Value as V;
        match v {
            V::Null => Doc::Null,
            V::Bool(b) => Doc::Bool(*b),
            V::Number(n) => Doc::Num(n.clone()),
            V::String(s) => Doc::Str(s.clone()),
            V::Array(a) => Doc::List(a.iter().map(Doc::from_value).collect()),
            V::Object(m) => Doc::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Doc::from_value(v)))
                    .collect(),
            ),
        }
    }

    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            Doc::Null => V::Null,
            Doc::Bool(b) => V::Bool(*b),
            Doc::Num(n) => V::Number(n.clone()),
            Doc::Str(s) => V::String(s.clone()),
            Doc::List(l) => V::Array(l.iter().map(Doc::to_value).collect()),
            Doc::Map(m) => V::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }

    pub fn is_empty_map(&self) -> bool {
        matches!(self, Doc::Map(m) if m.is_empty())
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Doc::List(_) | Doc::Map(_))
    }

    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Doc> {
        match self {
            Doc::Map(m) => m.iter().position(|(k, _)| k == key).map(|i| m.remove(i).1),
            _ => None,
        }
    }

    pub fn insert(&mut self, key: &str, value: Doc) {
        if let Doc::Map(m) = self {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = value;
            } else {
                m.push((key.to_string(), value));
            }
        }
    }

    /// Python's `str()` of the value as text/table output shows it.
    pub fn py_str(&self) -> String {
        match self {
            Doc::Null => "None".into(),
            Doc::Bool(true) => "True".into(),
            Doc::Bool(false) => "False".into(),
            Doc::Num(n) => n.to_string(),
            Doc::Str(s) => s.clone(),
            other => {
                let mut s = String::new();
                write_py_repr(other, &mut s);
                s
            }
        }
    }
}

fn write_py_repr(d: &Doc, out: &mut String) {
    match d {
        Doc::Str(s) => {
            out.push('\'');
            out.push_str(&s.replace('\\', "\\\\").replace('\'', "\\'"));
            out.push('\'');
        }
        Doc::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_repr(e, out);
            }
            out.push(']');
        }
        Doc::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_repr(&Doc::Str(k.clone()), out);
                out.push_str(": ");
                write_py_repr(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.py_str()),
    }
}

// ---------------------------------------------------------------- json

/// `json.dump(indent=4, ensure_ascii=False)` plus a newline.
pub fn to_json(d: &Doc) -> String {
    let mut out = String::new();
    write_json(d, 0, Some(4), &mut out);
    out.push('\n');
    out
}

/// Compact form (`json.dumps` default separators `, ` and `: `).
pub fn to_json_compact(d: &Doc) -> String {
    let mut out = String::new();
    write_json(d, 0, None, &mut out);
    out
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(d: &Doc, level: usize, indent: Option<usize>, out: &mut String) {
    let nl = |out: &mut String, lvl: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * lvl));
        }
    };
    match d {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Num(n) => out.push_str(&n.to_string()),
        Doc::Str(s) => json_str(s, out),
        Doc::List(l) if l.is_empty() => out.push_str("[]"),
        Doc::Map(m) if m.is_empty() => out.push_str("{}"),
        Doc::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if indent.is_none() {
                        out.push(' ');
                    }
                }
                nl(out, level + 1);
                write_json(e, level + 1, indent, out);
            }
            nl(out, level);
            out.push(']');
        }
        Doc::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    if indent.is_none() {
                        out.push(' ');
                    }
                }
                nl(out, level + 1);
                json_str(k, out);
                out.push_str(": ");
                write_json(v, level + 1, indent, out);
            }
            nl(out, level);
            out.push('}');
        }
    }
}

// ---------------------------------------------------------------- text

/// `awscli/text.py`'s `format_text`.
pub fn to_text(d: &Doc) -> String {
    let mut out = String::new();
    text_item(d, None, None, &mut out);
    out
}

fn text_item(
    item: &Doc,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
    out: &mut String,
) {
    match item {
        Doc::Map(_) => text_dict(scalar_keys, item, identifier, out),
        Doc::List(l) => text_list(l, identifier, out),
        other => {
            out.push_str(&other.py_str());
            out.push('\n');
        }
    }
}

fn text_list(items: &[Doc], identifier: Option<&str>, out: &mut String) {
    if items.is_empty() {
        return;
    }
    if items.iter().any(|e| matches!(e, Doc::Map(_))) {
        let mut keys: Vec<String> = Vec::new();
        for e in items {
            if let Doc::Map(m) = e {
                for (k, v) in m {
                    if v.is_scalar() && !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
        }
        keys.sort();
        for e in items {
            text_item(e, identifier, Some(&keys), out);
        }
    } else if items.iter().any(|e| matches!(e, Doc::List(_))) {
        let scalars: Vec<&Doc> = items.iter().filter(|e| e.is_scalar()).collect();
        if !scalars.is_empty() {
            text_scalar_list(&scalars, identifier, out);
        }
        for e in items.iter().filter(|e| !e.is_scalar()) {
            text_item(e, identifier, None, out);
        }
    } else {
        let all: Vec<&Doc> = items.iter().collect();
        text_scalar_list(&all, identifier, out);
    }
}

fn text_scalar_list(items: &[&Doc], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(id) => {
            for e in items {
                let _ = writeln!(out, "{}\t{}", id.to_uppercase(), e.py_str());
            }
        }
        None => {
            let parts: Vec<String> = items.iter().map(|e| e.py_str()).collect();
            out.push_str(&parts.join("\t"));
            out.push('\n');
        }
    }
}

fn text_dict(
    scalar_keys: Option<&[String]>,
    item: &Doc,
    identifier: Option<&str>,
    out: &mut String,
) {
    let Doc::Map(m) = item else { return };
    let mut scalars: Vec<String> = Vec::new();
    let mut non_scalars: Vec<(&str, &Doc)> = Vec::new();
    match scalar_keys {
        None => {
            let mut sorted: Vec<&(String, Doc)> = m.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in sorted {
                if v.is_scalar() {
                    scalars.push(v.py_str());
                } else {
                    non_scalars.push((k, v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(item.get(k).map(Doc::py_str).unwrap_or_default());
            }
            let mut rest: Vec<&(String, Doc)> =
                m.iter().filter(|(k, _)| !keys.contains(k)).collect();
            rest.sort_by(|a, b| a.0.cmp(&b.0));
            non_scalars.extend(rest.into_iter().map(|(k, v)| (k.as_str(), v)));
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (k, v) in non_scalars {
        text_item(v, Some(k), None, out);
    }
}

// ---------------------------------------------------------------- table

/// Display width as `table.py`'s `get_text_length`: East Asian Width W, F and A count 2 (as
/// Python's `unicodedata` has them; unicode-width's `width_cjk` counts Latin-1's ambiguous
/// letters such as `é` as 1).
fn text_len(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = crate::east_asian_width::WIDE
                .binary_search_by(|&(lo, hi)| {
                    if hi < c {
                        std::cmp::Ordering::Less
                    } else if lo > c {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok();
            if wide { 2 } else { 1 }
        })
        .sum()
}

#[derive(Default)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
    max_widths: Vec<usize>,
}

impl Section {
    fn update_widths(&mut self, row: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|e| text_len(e)).collect();
        } else {
            for (i, e) in row.iter().enumerate() {
                if i < self.max_widths.len() {
                    self.max_widths[i] = self.max_widths[i].max(text_len(e));
                }
            }
        }
    }
    fn add_header(&mut self, h: Vec<String>) {
        self.update_widths(&h);
        self.headers = h;
    }
    fn add_row(&mut self, r: Vec<String>) {
        self.update_widths(&r);
        self.rows.push(r);
    }
    fn column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else {
            return unscaled;
        };
        if unscaled.is_empty() {
            return unscaled;
        }
        let total: usize = unscaled.iter().sum();
        let factor = max_width as f64 / total as f64;
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|w| (factor * *w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }
    fn total_width(&self, padding: usize, outer: usize) -> usize {
        let total: usize = self
            .column_widths(0, None)
            .iter()
            .map(|w| w + padding)
            .sum::<usize>()
            + 2
            + 2 * outer;
        total.max(text_len(&self.title) + 2 + 2 * outer)
    }
}

struct Styler {
    color: bool,
}

impl Styler {
    fn row(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m\x1b[34m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn indent(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m\x1b[33m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn center(text: &str, length: usize, left: &str, right: &str, text_length: usize) -> String {
    let start = (length / 2) as i64 - (text_length / 2) as i64 - 1;
    let start = start.max(0) as usize;
    let so_far = text_len(left) + start + text_length;
    let right_spaces = (length as i64 - text_len(right) as i64 - so_far as i64).max(0) as usize;
    format!(
        "{left}{}{text}{}{right}",
        " ".repeat(start),
        " ".repeat(right_spaces)
    )
}

fn align_left(text: &str, length: usize, left: &str, right: &str, text_length: usize) -> String {
    let computed = text_length + 2 + text_len(left) + text_len(right);
    let padding = if length >= computed { 2 } else { 0 };
    let so_far = left.chars().count() + padding + text_length;
    let fill = (length as i64 - so_far as i64 - right.chars().count() as i64).max(0) as usize;
    format!(
        "{left}{}{text}{}{right}",
        " ".repeat(padding),
        " ".repeat(fill)
    )
}

struct Table {
    sections: Vec<Section>,
}

impl Table {
    fn cur(&mut self) -> &mut Section {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        self.sections.last_mut().expect("non-empty")
    }
    fn new_section(&mut self, title: &str, indent: usize) {
        self.sections.push(Section {
            title: title.to_string(),
            indent,
            ..Default::default()
        });
    }

    fn build(&mut self, title: Option<&str>, cur: &Doc, indent: usize) -> bool {
        let empty = match cur {
            Doc::List(l) => l.is_empty(),
            Doc::Map(m) => m.is_empty(),
            Doc::Null => true,
            Doc::Bool(b) => !*b,
            Doc::Str(s) => s.is_empty(),
            Doc::Num(n) => n.as_f64() == Some(0.0),
        };
        if empty {
            return false;
        }
        if let Some(t) = title {
            self.new_section(t, indent);
        }
        match cur {
            Doc::List(l) => {
                if matches!(l[0], Doc::Map(_)) {
                    self.sub_table_from_list(l, indent, title.unwrap_or(""));
                } else {
                    for item in l {
                        match item {
                            Doc::List(inner) if inner.iter().all(Doc::is_scalar) => {
                                self.cur().add_row(inner.iter().map(Doc::py_str).collect())
                            }
                            Doc::Map(m) if m.iter().all(|(_, v)| v.is_scalar()) => {
                                // iterating a dict yields its keys
                                self.cur()
                                    .add_row(m.iter().map(|(k, _)| k.clone()).collect())
                            }
                            x if x.is_scalar() => self.cur().add_row(vec![x.py_str()]),
                            x => {
                                self.build(None, x, 0);
                            }
                        }
                    }
                }
            }
            Doc::Map(_) => self.sub_table_from_dict(cur, indent),
            _ => {}
        }
        true
    }

    fn group(m: &[(String, Doc)]) -> (Vec<String>, Vec<String>) {
        let mut headers: Vec<String> = m
            .iter()
            .filter(|(_, v)| v.is_scalar())
            .map(|(k, _)| k.clone())
            .collect();
        let mut more: Vec<String> = m
            .iter()
            .filter(|(_, v)| !v.is_scalar())
            .map(|(k, _)| k.clone())
            .collect();
        headers.sort();
        more.sort();
        (headers, more)
    }

    fn sub_table_from_dict(&mut self, cur: &Doc, indent: usize) {
        let Doc::Map(m) = cur else { return };
        let (headers, more) = Self::group(m);
        if headers.len() == 1 {
            let v = cur.get(&headers[0]).map(Doc::py_str).unwrap_or_default();
            self.cur().add_row(vec![headers[0].clone(), v]);
        } else if !headers.is_empty() {
            let row = headers
                .iter()
                .map(|h| cur.get(h).map(Doc::py_str).unwrap_or_default())
                .collect();
            self.cur().add_header(headers);
            self.cur().add_row(row);
        }
        for k in more {
            if let Some(v) = cur.get(&k) {
                self.build(Some(&k), v, indent + 1);
            }
        }
    }

    fn sub_table_from_list(&mut self, items: &[Doc], indent: usize, title: &str) {
        let mut headers: Vec<String> = Vec::new();
        let mut more: Vec<String> = Vec::new();
        for it in items {
            if let Doc::Map(m) = it {
                let (h, mo) = Self::group(m);
                for x in h {
                    if !headers.contains(&x) {
                        headers.push(x);
                    }
                }
                for x in mo {
                    if !more.contains(&x) {
                        more.push(x);
                    }
                }
            }
        }
        headers.sort();
        more.sort();
        self.cur().add_header(headers.clone());
        for (i, el) in items.iter().enumerate() {
            if i > 0 && !more.is_empty() {
                self.new_section(title, indent);
                self.cur().add_header(headers.clone());
            }
            let row = headers
                .iter()
                .map(|h| el.get(h).map(Doc::py_str).unwrap_or_default())
                .collect();
            self.cur().add_row(row);
            for k in &more {
                if let Some(v) = el.get(k) {
                    self.build(Some(k), v, indent + 1);
                }
            }
        }
    }

    fn max_width(&self) -> usize {
        self.sections
            .iter()
            .map(|s| s.total_width(4, s.indent))
            .max()
            .unwrap_or(0)
    }

    fn render(&mut self, terminal_width: usize, styler: &Styler) -> String {
        let mut max_width = self.max_width();
        if max_width > terminal_width {
            for s in &mut self.sections {
                if s.rows.len() == 1 && !s.headers.is_empty() {
                    let mut n = Section {
                        title: s.title.clone(),
                        indent: s.indent,
                        ..Default::default()
                    };
                    for (h, e) in s.headers.iter().zip(s.rows[0].iter()) {
                        n.add_row(vec![h.clone(), e.clone()]);
                    }
                    *s = n;
                }
            }
            max_width = self.max_width();
        }
        let mut out = String::new();
        out.push_str(&"-".repeat(max_width));
        out.push('\n');
        for s in &self.sections {
            render_section(s, max_width, styler, &mut out);
        }
        out
    }
}

fn render_section(s: &Section, max_width: usize, styler: &Styler, out: &mut String) {
    let ind = styler.indent("|").repeat(s.indent);
    let write = |line: String, out: &mut String| {
        out.push_str(&ind);
        out.push_str(&line);
        out.push_str(&ind);
        out.push('\n');
    };
    let width = max_width - s.indent * 2;
    if !s.title.is_empty() {
        write(center(&s.title, width, "|", "|", text_len(&s.title)), out);
        if s.headers.is_empty() && s.rows.is_empty() {
            write(format!("+{}+", "-".repeat(width.saturating_sub(2))), out);
        }
    }
    let line_break = |widths: &[usize]| {
        let mut l = String::new();
        for (i, w) in widths.iter().enumerate() {
            if i == 0 {
                l.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
            } else {
                l.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
            }
        }
        l
    };
    if !s.headers.is_empty() {
        let widths = s.column_widths(4, Some(width));
        let mut cur = String::new();
        for (i, (w, h)) in widths.iter().zip(s.headers.iter()).enumerate() {
            cur.push_str(&center(
                h,
                *w,
                if i == 0 { "|" } else { "" },
                "|",
                text_len(h),
            ));
        }
        write(line_break(&widths), out);
        write(cur, out);
    }
    if !s.rows.is_empty() {
        let widths = s.column_widths(4, Some(width));
        if widths.is_empty() {
            return;
        }
        write(line_break(&widths), out);
        for row in &s.rows {
            let mut cur = String::new();
            for (i, (w, e)) in widths.iter().zip(row.iter()).enumerate() {
                cur.push_str(&align_left(
                    &styler.row(e),
                    *w,
                    if i == 0 { "|" } else { "" },
                    "|",
                    text_len(e),
                ));
            }
            write(cur, out);
        }
        write(line_break(&widths), out);
    }
}

/// `TableFormatter`: the operation name as title, nested structures as indented sub-tables.
pub fn to_table(title: &str, d: &Doc, terminal_width: usize, color: bool) -> String {
    let mut t = Table {
        sections: Vec::new(),
    };
    if !t.build(Some(title), d, 0) {
        return String::new();
    }
    t.render(terminal_width, &Styler { color })
}

// ---------------------------------------------------------------- yaml

/// `YAMLDumper.dump`: scalars as JSON, collections as block YAML. ruamel's safe representer
/// sorts mapping keys, so the AWS CLI's YAML (unlike its JSON) is in key order.
pub fn to_yaml(d: &Doc) -> String {
    if d.is_scalar() {
        return to_json_compact(d) + "\n";
    }
    fn sorted(d: &Doc) -> Doc {
        match d {
            Doc::Map(m) => {
                let mut m: Vec<(String, Doc)> =
                    m.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
                m.sort_by(|a, b| a.0.cmp(&b.0));
                Doc::Map(m)
            }
            Doc::List(l) => Doc::List(l.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    to_yaml_ordered(&sorted(d))
}

thread_local! {
    /// Set while [`to_yaml_pyyaml`] writes: PyYAML's rules instead of ruamel's.
    static PYYAML: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// PyYAML's `yaml.dump(default_flow_style=False)` of an ordered tree (the AWS CLI's
/// `cloudformation package` output): [`to_yaml_ordered`] with YAML 1.1's implicit types
/// (`yes`, `on`, `0777` quoted), multi-line strings single-quoted, and non-ASCII escaped in
/// double quotes (`allow_unicode` off).
pub fn to_yaml_pyyaml(d: &Doc) -> String {
    PYYAML.with(|p| p.set(true));
    let out = to_yaml_ordered(d);
    PYYAML.with(|p| p.set(false));
    out
}

fn pyyaml() -> bool {
    PYYAML.with(std::cell::Cell::get)
}

/// [`to_yaml`] keeping the document's key order (ruamel with an OrderedDict representer, as
/// the AWS CLI's `eks update-kubeconfig` dumps a kubeconfig).
pub fn to_yaml_ordered(d: &Doc) -> String {
    if d.is_scalar() {
        return to_json_compact(d) + "\n";
    }
    let mut out = String::new();
    yaml_node(d, 0, &mut out, Ctx::Top);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    MapValue,
    SeqItem,
}

const BEST_WIDTH: usize = 80;

fn yaml_node(d: &Doc, indent: usize, out: &mut String, ctx: Ctx) {
    match d {
        Doc::Map(m) if m.is_empty() => {
            if ctx == Ctx::MapValue {
                out.push(' ');
            }
            out.push_str("{}\n");
        }
        Doc::List(l) if l.is_empty() => {
            if ctx == Ctx::MapValue {
                out.push(' ');
            }
            out.push_str("[]\n");
        }
        Doc::Map(m) => {
            if ctx == Ctx::MapValue {
                out.push('\n');
            }
            for (i, (k, v)) in m.iter().enumerate() {
                if !(i == 0 && ctx == Ctx::SeqItem) {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&yaml_key(k));
                out.push(':');
                match v {
                    Doc::List(l) if !l.is_empty() => yaml_node(v, indent, out, Ctx::MapValue),
                    Doc::Map(mm) if !mm.is_empty() => yaml_node(v, indent + 2, out, Ctx::MapValue),
                    _ if v.is_scalar() => {
                        out.push(' ');
                        yaml_scalar(v, indent + 2, out);
                        out.push('\n');
                    }
                    _ => yaml_node(v, indent + 2, out, Ctx::MapValue),
                }
            }
        }
        Doc::List(l) => {
            if ctx == Ctx::MapValue {
                out.push('\n');
            }
            for (i, e) in l.iter().enumerate() {
                if !(i == 0 && ctx == Ctx::SeqItem) {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str("- ");
                match e {
                    Doc::Map(m) if !m.is_empty() => yaml_node(e, indent + 2, out, Ctx::SeqItem),
                    Doc::List(ll) if !ll.is_empty() => yaml_node(e, indent + 2, out, Ctx::SeqItem),
                    _ if e.is_scalar() => {
                        yaml_scalar(e, indent + 2, out);
                        out.push('\n');
                    }
                    _ => yaml_node(e, indent + 2, out, Ctx::SeqItem),
                }
            }
        }
        other => {
            yaml_scalar(other, indent, out);
            out.push('\n');
        }
    }
}

fn yaml_scalar(d: &Doc, indent: usize, out: &mut String) {
    let column = out
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0);
    let text = match d {
        Doc::Str(s) => return yaml_scalar_str(s, indent, column, false, out),
        other => yaml_plain_scalar(other),
    };
    out.push_str(&text);
}

fn yaml_plain_scalar(d: &Doc) -> String {
    match d {
        Doc::Null => "null".into(),
        Doc::Bool(b) => (if *b { "true" } else { "false" }).into(),
        Doc::Num(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.is_infinite() {
                    return if f > 0.0 {
                        ".inf".into()
                    } else {
                        "-.inf".into()
                    };
                }
                let s = n.to_string();
                if s.contains('e') && !s.contains('.') {
                    return s.replacen('e', ".0e", 1);
                }
                s
            } else {
                n.to_string()
            }
        }
        _ => String::new(),
    }
}

/// True when a plain scalar `s` would be read back as something other than a string
/// (YAML 1.2 core resolvers as ruamel uses them, plus timestamps).
pub(crate) fn resolves_non_str(s: &str) -> bool {
    if pyyaml() {
        return !matches!(crate::cfn_yaml::resolve(s), serde_json::Value::String(_))
            || s == "<<"
            || s == "="
            || is_timestamp(s)
            || sexagesimal(s);
    }
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    ) {
        return true;
    }
    if s == "<<" || s == "=" {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let is = |p: &str, f: fn(char) -> bool| {
        body.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.chars().all(f))
    };
    // integers
    if !body.is_empty()
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return true;
    }
    if is("0b", |c| matches!(c, '0' | '1' | '_'))
        || is("0o", |c| matches!(c, '0'..='7' | '_'))
        || is("0x", |c| c.is_ascii_hexdigit() || c == '_')
    {
        return true;
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    if is_float(body) {
        return true;
    }
    is_timestamp(s)
}

/// YAML 1.1's base-60 numbers (`1:30`, `-2:05:00.5`).
fn sexagesimal(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut parts = body.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty()
        || !first.starts_with(|c: char| ('1'..='9').contains(&c))
        || !first.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    rest.iter().enumerate().all(|(k, p)| {
        let p = if k == rest.len() - 1 {
            p.split_once('.').map_or(*p, |(a, _)| a)
        } else {
            p
        };
        (1..=2).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_digit())
            && (p.len() == 1 || p.as_bytes()[0] <= b'5')
    })
}

fn is_float(b: &str) -> bool {
    // [0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)? | [0-9][0-9_]*[eE][-+]?[0-9]+ | \.[0-9_]+([eE][-+][0-9]+)?
    let (mant, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if let Some((int, frac)) = mant.split_once('.') {
        let int_ok = int.is_empty()
            || (int.starts_with(|c: char| c.is_ascii_digit())
                && int.chars().all(|c| c.is_ascii_digit() || c == '_'));
        let frac_ok = frac.chars().all(|c| c.is_ascii_digit() || c == '_');
        if int.is_empty() {
            return !frac.is_empty() && frac_ok;
        }
        int_ok && frac_ok
    } else {
        exp.is_some()
            && !mant.is_empty()
            && mant.starts_with(|c: char| c.is_ascii_digit())
            && mant.chars().all(|c| c.is_ascii_digit() || c == '_')
    }
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_digit());
    if b.len() == 10
        && (0..4).all(d)
        && b[4] == b'-'
        && d(5)
        && d(6)
        && b[7] == b'-'
        && d(8)
        && d(9)
    {
        return true;
    }
    // YYYY-M?M-D?D(T|t|[ \t]+)H?H:MM:SS(.frac)?([ \t]*(Z|[-+]H?H(:MM)?))?
    let mut i = 0;
    let digits = |i: &mut usize, min: usize, max: usize| -> bool {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        *i - st >= min
    };
    let lit = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !(digits(&mut i, 4, 4)
        && lit(&mut i, b'-')
        && digits(&mut i, 1, 2)
        && lit(&mut i, b'-')
        && digits(&mut i, 1, 2))
    {
        return false;
    }
    if matches!(b.get(i), Some(b'T' | b't')) {
        i += 1;
    } else {
        let st = i;
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if i == st {
            return false;
        }
    }
    if !(digits(&mut i, 1, 2)
        && lit(&mut i, b':')
        && digits(&mut i, 2, 2)
        && lit(&mut i, b':')
        && digits(&mut i, 2, 2))
    {
        return false;
    }
    if lit(&mut i, b'.') {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    if i == b.len() {
        return true;
    }
    if lit(&mut i, b'Z') {
        return i == b.len();
    }
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
        if !digits(&mut i, 1, 2) {
            return false;
        }
        if lit(&mut i, b':') && !digits(&mut i, 2, 2) {
            return false;
        }
        return i == b.len();
    }
    false
}

fn printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && c != '\u{FEFF}'
}

struct Analysis {
    multiline: bool,
    plain: bool,
    single: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            plain: false,
            single: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let is_break = |c: char| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let mut preceded_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_ws = i + 1 >= chars.len()
            || matches!(chars[i + 1], '\0' | ' ' | '\t')
            || is_break(chars[i + 1]);
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                block_ind = true;
            }
            if (c == '?' || c == ':' || c == '-') && followed_ws {
                block_ind = true;
            }
        } else if (c == ':' && followed_ws) || (c == '#' && preceded_ws) {
            block_ind = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        // PyYAML without allow_unicode: anything but a line feed and printable ASCII.
        if !printable(c) || (pyyaml() && !(c == '\n' || (' '..='~').contains(&c))) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == chars.len() - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == chars.len() - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = matches!(c, '\0' | ' ' | '\t') || is_break(c);
    }
    let mut plain = true;
    let mut single = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        plain = false;
    }
    if break_space {
        plain = false;
        single = false;
    }
    if space_break || special {
        plain = false;
        single = false;
    }
    if line_breaks || block_ind {
        plain = false;
    }
    Analysis {
        multiline: line_breaks,
        plain,
        single,
    }
}

fn yaml_key(s: &str) -> String {
    let a = analyze(s);
    if a.plain && !resolves_non_str(s) && !a.multiline {
        return s.to_string();
    }
    if a.single && !a.multiline {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

fn yaml_scalar_str(s: &str, indent: usize, column: usize, _simple_key: bool, out: &mut String) {
    let a = analyze(s);
    if a.plain && !resolves_non_str(s) {
        return write_plain(s, indent, column, out);
    }
    // ruamel (unlike PyYAML) double-quotes scalars with line breaks.
    if a.single && (!a.multiline || pyyaml()) {
        return write_single_quoted(s, indent, column, out);
    }
    out.push_str(&double_quoted(s));
}

fn newline_indent(out: &mut String, indent: usize) -> usize {
    // ruamel's write_indent after content: a line break, then the indentation.
    out.push('\n');
    out.push_str(&" ".repeat(indent));
    indent
}

/// ruamel's `write_plain` (split enabled): a word that would pass column 80 starts a new line
/// (when not already at the indentation); a single space at or past column 80 becomes a break.
fn write_plain(s: &str, indent: usize, mut column: usize, out: &mut String) {
    if pyyaml() {
        // PyYAML breaks only at a single space once past column 80.
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == ' ' {
                let st = i;
                while i < chars.len() && chars[i] == ' ' {
                    i += 1;
                }
                if i - st == 1 && column > BEST_WIDTH {
                    column = newline_indent(out, indent);
                } else {
                    out.extend(&chars[st..i]);
                    column += i - st;
                }
            } else {
                out.push(chars[i]);
                column += 1;
                i += 1;
            }
        }
        return;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            let st = i;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            if i - st == 1 && column >= BEST_WIDTH {
                column = newline_indent(out, indent);
            } else {
                out.extend(&chars[st..i]);
                column += i - st;
            }
        } else {
            let st = i;
            while i < chars.len() && chars[i] != ' ' {
                i += 1;
            }
            let len = i - st;
            if len + column > BEST_WIDTH && column > indent {
                column = newline_indent(out, indent);
            }
            out.extend(&chars[st..i]);
            column += len;
        }
    }
}

/// ruamel's `write_single_quoted`: `'` doubled, breaks doubled, folding at single spaces.
fn write_single_quoted(s: &str, indent: usize, mut column: usize, out: &mut String) {
    out.push('\'');
    column += 1;
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        if c == ' ' {
            let st = i;
            while i < n && chars[i] == ' ' {
                i += 1;
            }
            if i - st == 1 && column > BEST_WIDTH && st != 0 && i != n {
                column = newline_indent(out, indent);
            } else {
                out.extend(&chars[st..i]);
                column += i - st;
            }
        } else if matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            let st = i;
            while i < n && matches!(chars[i], '\n' | '\u{85}' | '\u{2028}' | '\u{2029}') {
                i += 1;
            }
            if chars[st] == '\n' {
                out.push('\n');
            }
            for br in &chars[st..i] {
                out.push(*br);
            }
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else if c == '\'' {
            out.push_str("''");
            column += 2;
            i += 1;
        } else {
            out.push(c);
            column += 1;
            i += 1;
        }
    }
    out.push('\'');
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !printable(c) || (!c.is_ascii() && pyyaml()) => {
                let n = c as u32;
                if n <= 0xff {
                    let _ = write!(out, "\\x{n:02X}");
                } else if n <= 0xffff {
                    let _ = write!(out, "\\u{n:04X}");
                } else {
                    let _ = write!(out, "\\U{n:08X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Doc {
        Doc::from_value(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn json_python_shape() {
        let d = doc(r#"{"a":[],"b":{},"c":[1,"é\n"],"d":null}"#);
        assert_eq!(
            to_json(&d),
            "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n        1,\n        \"é\\n\"\n    ],\n    \"d\": null\n}\n"
        );
    }

    #[test]
    fn text_rules() {
        let d = doc(
            r#"{"Roles":[{"RoleName":"a","Arn":"arn1","Tags":[{"Key":"k","Value":"v"}]}],"IsTruncated":false}"#,
        );
        assert_eq!(to_text(&d), "False\nROLES\tarn1\ta\nTAGS\tk\tv\n");
        assert_eq!(to_text(&doc(r#"["a","b"]"#)), "a\tb\n");
        assert_eq!(to_text(&doc(r#"{"L":["a","b"]}"#)), "L\ta\nL\tb\n");
    }

    #[test]
    fn yaml_quoting() {
        assert!(resolves_non_str("123456789012"));
        assert!(resolves_non_str("2026-11-24T10:30:00+00:00"));
        assert!(resolves_non_str("1.5"));
        assert!(!resolves_non_str("1.2.3"));
        assert!(!resolves_non_str("yes"));
        let d = doc(
            r#"{"Account":"123456789012","Arn":"arn:aws:iam::1:user/x","E":"","L":[{"a":1,"b":"x: y"}],"M":{}}"#,
        );
        assert_eq!(
            to_yaml(&d),
            "Account: '123456789012'\nArn: arn:aws:iam::1:user/x\nE: ''\nL:\n- a: 1\n  b: 'x: y'\nM: {}\n"
        );
        assert_eq!(to_yaml(&doc("\"s\"")), "\"s\"\n");
    }

    #[test]
    fn table_rounding_is_bankers() {
        let s = Section {
            max_widths: vec![1, 1],
            ..Default::default()
        };
        assert_eq!(s.column_widths(0, Some(5)).iter().sum::<usize>(), 5);
    }
}

// ---------------------------------------------------------------- ordered JSON reading

/// Parses JSON keeping object key order (Python's `json.loads` into dicts).
pub fn parse_json_ordered(text: &str) -> Option<Doc> {
    let mut p = JsonReader {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct JsonReader<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonReader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn value(&mut self) -> Option<Doc> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut m: Vec<(String, Doc)> = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Doc::Map(m));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value()?;
                    // duplicate keys: the last wins, at the first position (dict semantics)
                    if let Some(slot) = m.iter_mut().find(|(x, _)| *x == k) {
                        slot.1 = v;
                    } else {
                        m.push((k, v));
                    }
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Doc::Map(m));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut l = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Doc::List(l));
                }
                loop {
                    l.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Doc::List(l));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Doc::Str),
            _ => {
                let st = self.i;
                while self.i < self.s.len()
                    && !matches!(
                        self.s[self.i],
                        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.i += 1;
                }
                let tok = std::str::from_utf8(&self.s[st..self.i]).ok()?;
                let v: serde_json::Value = serde_json::from_str(tok).ok()?;
                match v {
                    serde_json::Value::Array(_)
                    | serde_json::Value::Object(_)
                    | serde_json::Value::String(_) => None,
                    other => Some(Doc::from_value(&other)),
                }
            }
        }
    }
    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        let st = self.i;
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    let raw = std::str::from_utf8(&self.s[st..self.i]).ok()?;
                    return serde_json::from_str::<String>(raw).ok();
                }
                _ => self.i += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod json_order_tests {
    use super::*;

    #[test]
    fn keeps_order() {
        let d = parse_json_ordered(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}], "n": 1.5, "b": true, "z": null}"#).unwrap();
        assert_eq!(
            to_json_compact(&d),
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}], "n": 1.5, "b": true, "z": null}"#
        );
        assert!(parse_json_ordered("{\"a\":1,}").is_none());
        assert!(parse_json_ordered("{} x").is_none());
    }
}

#[cfg(test)]
mod text_len_tests {
    use super::text_len;

    #[test]
    fn counts_as_the_aws_cli_table_does() {
        // Values from Python: sum(2 if unicodedata.east_asian_width(c) in 'WFA' else 1).
        assert_eq!(text_len("abc"), 3);
        assert_eq!(text_len("é"), 2); // A
        assert_eq!(text_len("鍵"), 2); // W
        assert_eq!(text_len("ｱ"), 1); // H (halfwidth katakana)
        assert_eq!(text_len("Ａ"), 2); // F
        assert_eq!(text_len("\u{10FFFD}"), 2); // A (private use)
        assert_eq!(text_len("a+b 100% é*"), 12);
    }
}
