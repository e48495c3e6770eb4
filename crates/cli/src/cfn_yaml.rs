//! CloudFormation templates as the AWS CLI's `yamlhelper.yaml_parse` reads them: JSON first
//! (key order kept), else YAML 1.1 as PyYAML's `SafeLoader` resolves it, with CloudFormation's
//! short-form intrinsics (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A",
//! "B"]}`, any other `!Name V` → `{"Fn::Name": V}`).
//!
//! The YAML read is what templates use: block mappings and sequences (compact `- key: v`
//! items, sequences at their key's indentation), flow collections over several lines, plain
//! (multi-line folded), single- and double-quoted scalars, literal and folded block scalars
//! with chomping and indentation indicators, comments, `---`/`...` markers. Anchors and
//! aliases are reported as unsupported rather than guessed at. Unquoted timestamps stay
//! strings (PyYAML makes them dates).
//!
//! Writing is `output::to_yaml_pyyaml` (PyYAML's `yaml.dump(default_flow_style=False)` of the
//! ordered tree, as `yamlhelper.yaml_dump`).

use serde_json::{Map, Number, Value};

/// `yaml_parse`: JSON if it parses as JSON, else YAML.
pub fn parse(text: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    let mut p = Parser {
        c: text.trim_start_matches('\u{feff}').chars().collect(),
        i: 0,
    };
    p.document()
}

struct Parser {
    c: Vec<char>,
    i: usize,
}

fn err<T>(p: &Parser, what: &str) -> Result<T, String> {
    let (line, col) = p.position();
    Err(format!("{what} (line {}, column {})", line + 1, col + 1))
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<char> {
        self.c.get(self.i + k).copied()
    }

    fn position(&self) -> (usize, usize) {
        let before = &self.c[..self.i.min(self.c.len())];
        let line = before.iter().filter(|&&c| c == '\n').count();
        (line, self.column_of(self.i))
    }

    fn column_of(&self, i: usize) -> usize {
        let mut j = i;
        while j > 0 && self.c[j - 1] != '\n' {
            j -= 1;
        }
        i - j
    }

    fn column(&self) -> usize {
        self.column_of(self.i)
    }

    fn blank(c: Option<char>) -> bool {
        matches!(c, None | Some(' ' | '\t' | '\n' | '\r'))
    }

    /// Spaces and tabs on this line.
    fn spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
    }

    /// Spaces, a comment, line ends from `i`: the index of the next content (or the end).
    fn skip_from(&self, mut i: usize) -> usize {
        loop {
            while matches!(self.c.get(i), Some(' ' | '\t')) {
                i += 1;
            }
            match self.c.get(i) {
                Some('#') if i == 0 || Self::blank(Some(self.c[i - 1])) => {
                    while !matches!(self.c.get(i), None | Some('\n')) {
                        i += 1;
                    }
                }
                Some('\n' | '\r') => i += 1,
                _ => return i,
            }
        }
    }

    fn skip_to_content(&mut self) {
        self.i = self.skip_from(self.i);
    }

    fn marker_at(&self, i: usize, m: &str) -> bool {
        self.column_of(i) == 0
            && m.chars()
                .enumerate()
                .all(|(k, c)| self.c.get(i + k) == Some(&c))
            && Self::blank(self.c.get(i + 3).copied())
    }

    fn document(&mut self) -> Result<Value, String> {
        self.skip_to_content();
        while self.peek() == Some('%') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.i += 1;
            }
            self.skip_to_content();
        }
        if self.marker("---") {
            self.i += 3;
            self.skip_to_content();
        }
        let v = if self.peek().is_none() || self.marker("...") {
            Value::Null
        } else {
            self.block_node(None)?
        };
        self.skip_to_content();
        if self.marker("...") {
            self.i += 3;
            self.skip_to_content();
        }
        if self.peek().is_some() {
            return err(self, "expected the end of the document");
        }
        Ok(v)
    }

    fn marker(&self, m: &str) -> bool {
        self.marker_at(self.i, m)
    }

    /// A node in block context at the current content; `parent` is the indentation of the
    /// collection holding it (None at the top).
    fn block_node(&mut self, parent: Option<usize>) -> Result<Value, String> {
        let col = self.column();
        match self.peek() {
            Some('!') => {
                let tag = self.tag();
                self.spaces();
                let v = if matches!(self.peek(), None | Some('\n' | '\r' | '#')) {
                    if self.next_is_deeper(parent) {
                        self.skip_to_content();
                        self.block_node(parent)?
                    } else {
                        Value::Null
                    }
                } else {
                    self.block_node(parent)?
                };
                return Ok(apply_tag(&tag, v));
            }
            Some('&' | '*') => return err(self, "YAML anchors and aliases are not supported"),
            Some('-') if Self::blank(self.at(1)) => return self.block_sequence(col),
            Some('|' | '>') => return self.block_scalar(parent.map_or(0, |p| p + 1)),
            _ => {}
        }
        if self.is_mapping_key() {
            return self.block_mapping(col);
        }
        match self.peek() {
            Some('[' | '{') => self.flow_node(),
            Some('"') => self.double_quoted().map(Value::String),
            Some('\'') => self.single_quoted().map(Value::String),
            _ => {
                let s = self.plain(false, parent.map_or(0, |p| p + 1))?;
                Ok(resolve(&s))
            }
        }
    }

    /// Whether the next content line is indented more than `parent` (or is a sequence entry
    /// at `parent`'s column, which a mapping's value may be).
    fn next_is_deeper(&self, parent: Option<usize>) -> bool {
        let j = self.skip_from(self.i);
        if j >= self.c.len() || self.marker_at(j, "...") || self.marker_at(j, "---") {
            return false;
        }
        let col = self.column_of(j);
        match parent {
            None => true,
            Some(p) => {
                col > p || (col == p && self.c[j] == '-' && Self::blank(self.c.get(j + 1).copied()))
            }
        }
    }

    fn tag(&mut self) -> String {
        let st = self.i;
        while !Self::blank(self.peek()) && !matches!(self.peek(), Some(',' | ']' | '}')) {
            self.i += 1;
        }
        self.c[st..self.i].iter().collect()
    }

    /// A key of a block mapping starts here: a scalar (plain or quoted) followed by `:` and a
    /// blank on this line.
    fn is_mapping_key(&self) -> bool {
        let mut j = self.i;
        match self.c.get(j) {
            Some('"') | Some('\'') => {
                let q = self.c[j];
                j += 1;
                while let Some(&c) = self.c.get(j) {
                    if c == '\\' && q == '"' {
                        j += 2;
                        continue;
                    }
                    if c == q {
                        if q == '\'' && self.c.get(j + 1) == Some(&'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    if c == '\n' {
                        return false;
                    }
                    j += 1;
                }
                j += 1;
                while matches!(self.c.get(j), Some(' ' | '\t')) {
                    j += 1;
                }
                self.c.get(j) == Some(&':') && Self::blank(self.c.get(j + 1).copied())
            }
            Some('[' | '{' | '#' | '|' | '>' | '!' | '&' | '*') => false,
            _ => {
                while let Some(&c) = self.c.get(j) {
                    if c == '\n' || c == '\r' {
                        return false;
                    }
                    if c == ':' && Self::blank(self.c.get(j + 1).copied()) {
                        return true;
                    }
                    if c == '#' && j > self.i && matches!(self.c[j - 1], ' ' | '\t') {
                        return false;
                    }
                    j += 1;
                }
                false
            }
        }
    }

    fn block_mapping(&mut self, col: usize) -> Result<Value, String> {
        let mut m = Map::new();
        loop {
            let key = match self.peek() {
                Some('"') => self.double_quoted()?,
                Some('\'') => self.single_quoted()?,
                _ => {
                    let st = self.i;
                    while !(self.peek() == Some(':') && Self::blank(self.at(1))) {
                        self.i += 1;
                    }
                    self.c[st..self.i]
                        .iter()
                        .collect::<String>()
                        .trim_end()
                        .to_string()
                }
            };
            self.spaces();
            if self.peek() != Some(':') {
                return err(self, "expected ':' after a mapping key");
            }
            self.i += 1;
            self.spaces();
            let value = if matches!(self.peek(), None | Some('\n' | '\r' | '#')) {
                if self.next_is_deeper(Some(col)) {
                    self.skip_to_content();
                    self.block_node(Some(col))?
                } else {
                    Value::Null
                }
            } else {
                self.block_node(Some(col))?
            };
            m.insert(key, value);
            self.skip_to_content();
            if self.peek().is_none() || self.marker("...") || self.marker("---") {
                break;
            }
            let c = self.column();
            if c < col {
                break;
            }
            if c > col {
                return err(self, "bad indentation of a mapping entry");
            }
            if !self.is_mapping_key() {
                if self.peek() == Some('-') && Self::blank(self.at(1)) {
                    break;
                }
                return err(self, "expected a mapping key");
            }
        }
        Ok(Value::Object(m))
    }

    fn block_sequence(&mut self, col: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        loop {
            // at '-'
            self.i += 1;
            self.spaces();
            let item = if matches!(self.peek(), None | Some('\n' | '\r' | '#')) {
                if self.next_is_deeper(Some(col)) {
                    self.skip_to_content();
                    if self.column() == col {
                        Value::Null
                    } else {
                        self.block_node(Some(col))?
                    }
                } else {
                    Value::Null
                }
            } else {
                self.block_node(Some(col))?
            };
            items.push(item);
            self.skip_to_content();
            if self.peek().is_none() || self.marker("...") || self.marker("---") {
                break;
            }
            let c = self.column();
            if c != col || !(self.peek() == Some('-') && Self::blank(self.at(1))) {
                if c > col {
                    return err(self, "bad indentation of a sequence entry");
                }
                break;
            }
        }
        Ok(Value::Array(items))
    }

    /// A plain scalar; in block context it continues on lines indented at least `min`.
    fn plain(&mut self, flow: bool, min: usize) -> Result<String, String> {
        let mut out = self.plain_line(flow).trim_end().to_string();
        loop {
            if !matches!(self.peek(), Some('\n' | '\r')) {
                return Ok(out);
            }
            // The next content line: a continuation?
            let mut probe = self.i;
            let mut breaks = 0usize;
            let content = loop {
                while self.c.get(probe) == Some(&'\r') {
                    probe += 1;
                }
                if self.c.get(probe) == Some(&'\n') {
                    probe += 1;
                    breaks += 1;
                }
                let ls = probe;
                while matches!(self.c.get(probe), Some(' ' | '\t')) {
                    probe += 1;
                }
                match self.c.get(probe) {
                    Some('\n' | '\r') => continue,
                    None => return Ok(out),
                    Some(&c) => break (c, probe - ls),
                }
            };
            let (c, ind) = content;
            let next = self.c.get(probe + 1).copied();
            let marker = ind == 0
                && (self.c[probe..].starts_with(&['-', '-', '-'])
                    || self.c[probe..].starts_with(&['.', '.', '.']));
            if c == '#' || marker || (c == ':' && Self::blank(next)) {
                return Ok(out);
            }
            if flow && matches!(c, ',' | ']' | '}' | '[' | '{') {
                return Ok(out);
            }
            if !flow {
                if ind < min || (c == '-' && Self::blank(next)) {
                    return Ok(out);
                }
                let save = self.i;
                self.i = probe;
                let key = self.is_mapping_key();
                self.i = save;
                if key {
                    return Ok(out);
                }
            }
            if breaks <= 1 {
                out.push(' ');
            } else {
                for _ in 1..breaks {
                    out.push('\n');
                }
            }
            self.i = probe;
            out.push_str(self.plain_line(flow).trim_end());
        }
    }

    fn plain_line(&mut self, flow: bool) -> String {
        let st = self.i;
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            if c == ':'
                && (Self::blank(self.at(1))
                    || (flow && matches!(self.at(1), Some(',' | ']' | '}'))))
            {
                break;
            }
            if c == '#' && self.i > st && matches!(self.c[self.i - 1], ' ' | '\t') {
                break;
            }
            if flow && matches!(c, ',' | ']' | '}' | '[' | '{') {
                break;
            }
            self.i += 1;
        }
        self.c[st..self.i].iter().collect()
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut raw = String::new();
        loop {
            match self.peek() {
                None => return err(self, "unterminated single-quoted scalar"),
                Some('\'') if self.at(1) == Some('\'') => {
                    raw.push('\'');
                    self.i += 2;
                }
                Some('\'') => {
                    self.i += 1;
                    break;
                }
                Some(c) => {
                    raw.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(fold_quoted(&raw))
    }

    fn double_quoted(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = String::new();
        let mut pending = String::new();
        loop {
            let Some(c) = self.peek() else {
                return err(self, "unterminated double-quoted scalar");
            };
            self.i += 1;
            match c {
                '"' => break,
                '\\' => {
                    let Some(e) = self.peek() else {
                        return err(self, "unterminated double-quoted scalar");
                    };
                    self.i += 1;
                    let hex = |p: &mut Parser, n: usize| -> Result<char, String> {
                        let s: String = p.c[p.i..(p.i + n).min(p.c.len())].iter().collect();
                        p.i += n;
                        u32::from_str_radix(&s, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad escape \\{s}"))
                    };
                    out.push_str(&fold_quoted(&std::mem::take(&mut pending)));
                    match e {
                        '0' => out.push('\0'),
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        't' | '\t' => out.push('\t'),
                        'n' => out.push('\n'),
                        'v' => out.push('\x0b'),
                        'f' => out.push('\x0c'),
                        'r' => out.push('\r'),
                        'e' => out.push('\x1b'),
                        ' ' => out.push(' '),
                        '"' => out.push('"'),
                        '/' => out.push('/'),
                        '\\' => out.push('\\'),
                        'N' => out.push('\u{85}'),
                        '_' => out.push('\u{a0}'),
                        'L' => out.push('\u{2028}'),
                        'P' => out.push('\u{2029}'),
                        'x' => out.push(hex(self, 2)?),
                        'u' => out.push(hex(self, 4)?),
                        'U' => out.push(hex(self, 8)?),
                        '\n' => {
                            // escaped line break: joined without a space
                            while matches!(self.peek(), Some(' ' | '\t')) {
                                self.i += 1;
                            }
                        }
                        other => return err(self, &format!("unknown escape \\{other}")),
                    }
                }
                c => pending.push(c),
            }
        }
        out.push_str(&fold_quoted(&pending));
        Ok(out)
    }

    /// `|` or `>` with its header; `min` the least indentation of its content.
    fn block_scalar(&mut self, min: usize) -> Result<Value, String> {
        let literal = self.peek() == Some('|');
        self.i += 1;
        let mut chomp = ' ';
        let mut explicit: Option<usize> = None;
        while let Some(c) = self.peek() {
            match c {
                '+' | '-' => chomp = c,
                '1'..='9' => explicit = c.to_digit(10).map(|d| d as usize),
                _ => break,
            }
            self.i += 1;
        }
        self.spaces();
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.i += 1;
            }
        }
        if self.peek() == Some('\r') {
            self.i += 1;
        }
        if self.peek() == Some('\n') {
            self.i += 1;
        }
        // Lines
        let mut lines: Vec<String> = Vec::new();
        let mut indent = explicit.map(|e| min.saturating_sub(1) + e);
        loop {
            if self.peek().is_none() {
                break;
            }
            let ls = self.i;
            let mut j = self.i;
            while self.c.get(j) == Some(&' ') {
                j += 1;
            }
            let ind = j - ls;
            let is_empty = matches!(self.c.get(j), None | Some('\n' | '\r'));
            if is_empty {
                let mut end = j;
                while !matches!(self.c.get(end), None | Some('\n')) {
                    end += 1;
                }
                let keep: String = match indent {
                    Some(n) if ind > n => self.c[ls + n..end].iter().collect::<String>(),
                    _ => String::new(),
                };
                lines.push(keep.trim_end_matches('\r').to_string());
                self.i = (end + 1).min(self.c.len());
                if end >= self.c.len() {
                    break;
                }
                continue;
            }
            let n = *indent.get_or_insert(ind.max(min));
            if ind < n || ind < min {
                self.i = ls;
                break;
            }
            let mut end = j;
            while !matches!(self.c.get(end), None | Some('\n')) {
                end += 1;
            }
            lines.push(
                self.c[ls + n..end]
                    .iter()
                    .collect::<String>()
                    .trim_end_matches('\r')
                    .to_string(),
            );
            self.i = (end + 1).min(self.c.len());
            if end >= self.c.len() {
                break;
            }
        }
        // Trailing empty lines belong to chomping.
        let mut trailing = 0;
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
            trailing += 1;
        }
        let mut body = String::new();
        if literal {
            body = lines.join("\n");
        } else {
            // Folding: a single break between two plain lines is a space, `n` empty lines are
            // `n` breaks, lines indented further keep their breaks.
            let more = |l: &str| l.starts_with(' ') || l.starts_with('\t');
            let mut prev: Option<&str> = None;
            let mut empties = 0;
            for l in &lines {
                if l.is_empty() {
                    empties += 1;
                    continue;
                }
                match prev {
                    Some(p) => {
                        let keep = more(l) || more(p);
                        if empties == 0 {
                            body.push(if keep { '\n' } else { ' ' });
                        } else {
                            if keep {
                                body.push('\n');
                            }
                            body.push_str(&"\n".repeat(empties));
                        }
                    }
                    None => body.push_str(&"\n".repeat(empties)),
                }
                body.push_str(l);
                prev = Some(l);
                empties = 0;
            }
        }
        // Step back so the caller sees the line end before the next content.
        if self.i > 0 && self.c.get(self.i - 1) == Some(&'\n') {
            self.i -= 1;
        }
        if !lines.is_empty() {
            match chomp {
                '-' => {}
                '+' => {
                    body.push('\n');
                    for _ in 0..trailing {
                        body.push('\n');
                    }
                }
                _ => body.push('\n'),
            }
        } else if chomp == '+' {
            for _ in 0..trailing {
                body.push('\n');
            }
        }
        Ok(Value::String(body))
    }

    fn flow_node(&mut self) -> Result<Value, String> {
        self.skip_to_content();
        match self.peek() {
            Some('[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_to_content();
                    match self.peek() {
                        Some(']') => {
                            self.i += 1;
                            break;
                        }
                        None => return err(self, "unterminated flow sequence"),
                        _ => {}
                    }
                    let item = self.flow_item()?;
                    self.skip_to_content();
                    // `[k: v]`: a single-pair mapping
                    let item = if self.peek() == Some(':') {
                        self.i += 1;
                        self.skip_to_content();
                        let v = self.flow_item()?;
                        let mut m = Map::new();
                        m.insert(key_string(&item), v);
                        Value::Object(m)
                    } else {
                        item
                    };
                    items.push(item);
                    self.skip_to_content();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some(']') => {}
                        _ => return err(self, "expected ',' or ']'"),
                    }
                }
                Ok(Value::Array(items))
            }
            Some('{') => {
                self.i += 1;
                let mut m = Map::new();
                loop {
                    self.skip_to_content();
                    match self.peek() {
                        Some('}') => {
                            self.i += 1;
                            break;
                        }
                        None => return err(self, "unterminated flow mapping"),
                        _ => {}
                    }
                    let k = self.flow_item()?;
                    self.skip_to_content();
                    let v = if self.peek() == Some(':') {
                        self.i += 1;
                        self.skip_to_content();
                        if matches!(self.peek(), Some(',' | '}')) {
                            Value::Null
                        } else {
                            self.flow_item()?
                        }
                    } else {
                        Value::Null
                    };
                    m.insert(key_string(&k), v);
                    self.skip_to_content();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some('}') => {}
                        _ => return err(self, "expected ',' or '}'"),
                    }
                }
                Ok(Value::Object(m))
            }
            _ => self.flow_item(),
        }
    }

    fn flow_item(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('[' | '{') => self.flow_node(),
            Some('"') => self.double_quoted().map(Value::String),
            Some('\'') => self.single_quoted().map(Value::String),
            Some('!') => {
                let tag = self.tag();
                self.skip_to_content();
                let v = if matches!(self.peek(), Some(',' | ']' | '}')) {
                    Value::String(String::new())
                } else {
                    self.flow_item()?
                };
                Ok(apply_tag(&tag, v))
            }
            Some('&' | '*') => err(self, "YAML anchors and aliases are not supported"),
            _ => {
                let s = self.plain(true, 0)?;
                Ok(resolve(&s))
            }
        }
    }
}

/// Line folding inside a quoted scalar: a single break is a space, `n` breaks are `n-1`
/// newlines; spaces around breaks go.
fn fold_quoted(raw: &str) -> String {
    if !raw.contains('\n') {
        return raw.to_string();
    }
    let lines: Vec<&str> = raw.split('\n').collect();
    let mut out = String::new();
    let mut empties = 0;
    for (k, l) in lines.iter().enumerate() {
        let l = l.trim_end_matches('\r');
        let t = if k == 0 {
            l.trim_end_matches([' ', '\t'])
        } else if k == lines.len() - 1 {
            l.trim_start_matches([' ', '\t'])
        } else {
            l.trim_matches([' ', '\t'])
        };
        if k == 0 {
            out.push_str(t);
            continue;
        }
        if t.is_empty() && k != lines.len() - 1 {
            empties += 1;
            continue;
        }
        if empties > 0 {
            for _ in 0..empties {
                out.push('\n');
            }
        } else {
            out.push(' ');
        }
        empties = 0;
        out.push_str(t);
    }
    out
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => other.to_string(),
    }
}

/// `intrinsics_multi_constructor`: `!Ref` and `!Condition` keep their name, other tags get
/// `Fn::`; `!GetAtt A.B.C` becomes `["A", "B.C"]`. YAML's own `!!str` etc. apply as such.
fn apply_tag(tag: &str, v: Value) -> Value {
    if let Some(core) = tag.strip_prefix("!!") {
        return match (core, v) {
            ("str", Value::Null) => Value::String(String::new()),
            ("str", Value::String(s)) => Value::String(s),
            ("str", Value::Bool(b)) => Value::String(if b { "true" } else { "false" }.into()),
            ("str", Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v,
        };
    }
    let name = tag.trim_start_matches('!');
    let key = if name == "Ref" || name == "Condition" {
        name.to_string()
    } else {
        format!("Fn::{name}")
    };
    let v = match (name, v) {
        ("GetAtt", Value::String(s)) => {
            let parts: Vec<Value> = match s.split_once('.') {
                Some((a, b)) => vec![Value::from(a), Value::from(b)],
                None => vec![Value::from(s)],
            };
            Value::Array(parts)
        }
        (_, Value::Null) => Value::String(String::new()),
        (_, v) => v,
    };
    let mut m = Map::new();
    m.insert(key, v);
    Value::Object(m)
}

/// PyYAML's implicit resolvers (YAML 1.1) for a plain scalar.
pub fn resolve(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    if let Some(n) = int_11(s) {
        return Value::Number(n);
    }
    if is_float_11(s) {
        let t: String = s.chars().filter(|&c| c != '_').collect();
        let f = match t.trim_start_matches(['+', '-']) {
            ".inf" | ".Inf" | ".INF" => f64::INFINITY,
            _ => t.parse::<f64>().unwrap_or(f64::NAN),
        };
        let f = if t.starts_with('-') && f.is_infinite() {
            -f
        } else {
            f
        };
        if let Some(n) = Number::from_f64(f) {
            return Value::Number(n);
        }
    }
    Value::String(s.to_string())
}

fn int_11(s: &str) -> Option<Number> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body.is_empty() {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let v: i128 = if let Some(b) = body.strip_prefix("0b") {
        if b.is_empty() || !b.chars().all(|c| matches!(c, '0' | '1' | '_')) {
            return None;
        }
        i128::from_str_radix(&clean[2..], 2).ok()?
    } else if let Some(h) = body.strip_prefix("0x") {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit() || c == '_') {
            return None;
        }
        i128::from_str_radix(&clean[2..], 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        if !body.chars().all(|c| matches!(c, '0'..='7' | '_')) {
            return None;
        }
        i128::from_str_radix(&clean, 8).ok()?
    } else if body.starts_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        clean.parse().ok()?
    } else {
        return None;
    };
    let v = if neg { -v } else { v };
    i64::try_from(v)
        .ok()
        .map(Number::from)
        .or_else(|| u64::try_from(v).ok().map(Number::from))
}

/// PyYAML's float resolver: a dot is required (`1e5` is a string), or `.inf`/`.nan`.
pub fn is_float_11(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(e) = exp {
        let Some(d) = e.strip_prefix(['-', '+']) else {
            return false;
        };
        if d.is_empty() || !d.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let Some((int, frac)) = mant.split_once('.') else {
        return false;
    };
    if int.is_empty() {
        return !frac.is_empty() && frac.chars().all(|c| c.is_ascii_digit() || c == '_');
    }
    int.starts_with(|c: char| c.is_ascii_digit())
        && int.chars().all(|c| c.is_ascii_digit() || c == '_')
        && frac
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"# a template
AWSTemplateFormatVersion: '2010-09-09'
Description: >-
  Folded text
  over lines

  with a paragraph
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Flag:
    Type: String
    Default: yes
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code:
        ZipFile: |
          def handler(event, context):
              return "ok"   # not a comment
      Role: !GetAtt Role.Arn
      Timeout: 30
      MemorySize: 0x80
      Ratio: 1.5
      Big: 1e5
      Empty:
      Quoted: "tab\there \u00e9 \"q\""
      Single: 'it''s'
      Plain: a plain scalar
        continued here
      Env:
        Variables:
          A: !Sub "${AWS::Region}-x"
          B: !If
            - IsProd
            - !Ref AWS::NoValue
            - off
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
      - PolicyName: p
        PolicyDocument:
          Statement:
            - Effect: Allow
              Action: ['s3:GetObject', "s3:PutObject"]
              Resource: "*"
Outputs:
  Arn:
    Value: !Join
      - ':'
      - - a
        - !Select [0, !GetAZs '']
"#;

    fn venv_python() -> Option<std::path::PathBuf> {
        match std::env::var_os("KAGI_COMPAT_VENV") {
            Some(v) => Some(std::path::Path::new(&v).join("bin/python")),
            None => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "KAGI_COMPAT_VENV is not set"
                );
                eprintln!("SKIPPED: KAGI_COMPAT_VENV (the official aws CLI v1) is not set");
                None
            }
        }
    }

    fn python(py: &std::path::Path, script: &str, input: &str) -> String {
        use std::io::Write as _;
        let mut child = std::process::Command::new(py)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn short_forms_and_scalars() {
        let v = parse(SAMPLE).unwrap();
        let p = &v["Resources"]["Fn"]["Properties"];
        assert_eq!(
            p["Role"],
            serde_json::json!({"Fn::GetAtt": ["Role", "Arn"]})
        );
        assert_eq!(p["MemorySize"], 128);
        assert_eq!(p["Big"], "1e5");
        assert_eq!(p["Empty"], Value::Null);
        assert_eq!(p["Plain"], "a plain scalar continued here");
        assert_eq!(v["Parameters"]["Flag"]["Default"], true);
        assert_eq!(v["Description"], "Folded text over lines\nwith a paragraph");
    }

    /// The AWS CLI's own `yaml_parse` (PyYAML) reads the sample as kagi does, and its
    /// `yaml_dump` writes the same text as kagi's writer.
    #[test]
    fn same_tree_and_dump_as_the_aws_cli() {
        let Some(py) = venv_python() else { return };
        let theirs = python(
            &py,
            "import sys, json\nfrom awscli.customizations.cloudformation.yamlhelper import yaml_parse\nprint(json.dumps(yaml_parse(sys.stdin.read())))",
            SAMPLE,
        );
        let theirs: Value = serde_json::from_str(&theirs).unwrap();
        let ours = parse(SAMPLE).unwrap();
        assert_eq!(ours, theirs);
        let dumped = python(
            &py,
            "import sys\nfrom awscli.customizations.cloudformation.yamlhelper import yaml_parse, yaml_dump\nsys.stdout.write(yaml_dump(yaml_parse(sys.stdin.read())))",
            SAMPLE,
        );
        assert_eq!(
            crate::output::to_yaml_pyyaml(&crate::output::Doc::from_value(&ours)),
            dumped
        );
    }
}
