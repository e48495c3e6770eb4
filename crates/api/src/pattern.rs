//! A small regular-expression matcher for the `pattern` constraints of the AWS models (Java
//! syntax, whole-string match as Java's `matches()`), so the server can report AWS's
//! "Member must satisfy regular expression pattern" errors without a regex engine dependency.
//!
//! Supported: literals, `.`, classes `[...]`/`[^...]` with ranges, `\w \d \s \S \W \D`,
//! `\p{L} \p{N} \p{Z}` (and `\P{..}`), `\uXXXX` (exactly four hex digits, as Java reads it),
//! escapes, groups `(...)`/`(?:...)`, negative/positive lookahead `(?!...)`/`(?=...)`,
//! alternation, quantifiers `* + ? {n} {n,} {n,m}` (lazy/possessive suffixes accepted and
//! treated as greedy: only whole-string acceptance matters), anchors `^ $`.
//!
//! Shapes compile their pattern once ([`crate::Shape::matches_pattern`]); a pattern this
//! matcher cannot compile accepts everything (the unit tests compile every model pattern).
//!
//! Matching computes the set of reachable end positions node by node, so it never backtracks
//! exponentially; a quantified single-character atom is evaluated in linear time, which keeps
//! 128 KiB policy documents cheap.

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Word,
    Digit,
    Space,
    Letter,
    Number,
    Separator,
    Not(Box<ClassItem>),
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Class {
        items: Vec<ClassItem>,
        negated: bool,
    },
    Group(Box<Node>),
    Alt(Vec<Node>),
    Seq(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
    Look {
        node: Box<Node>,
        negative: bool,
    },
    Start,
    End,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    root: Node,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, PatternError> {
        Err(PatternError(format!(
            "{what} at {} in {:?}",
            self.pos, self.src
        )))
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn alt(&mut self) -> Result<Node, PatternError> {
        let mut branches = vec![self.seq()?];
        while self.eat('|') {
            branches.push(self.seq()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().expect("one branch")
        } else {
            Node::Alt(branches)
        })
    }

    fn seq(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Seq(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                let save = self.pos;
                self.pos += 1;
                let Some(min) = self.number() else {
                    self.pos = save;
                    return Ok(atom);
                };
                let max = if self.eat(',') {
                    self.number()
                } else {
                    Some(min)
                };
                if !self.eat('}') {
                    return self.err("unterminated {}");
                }
                self.pos -= 1;
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        // Lazy and possessive suffixes do not change whole-string acceptance here.
        let _ = self.eat('?') || self.eat('+');
        Ok(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }

    fn hex4(&mut self) -> Result<char, PatternError> {
        let digits: String = self
            .chars
            .get(self.pos..self.pos + 4)
            .unwrap_or(&[])
            .iter()
            .collect();
        let Ok(v) = u32::from_str_radix(&digits, 16) else {
            return self.err("bad \\u escape");
        };
        self.pos += 4;
        // Java reads surrogate halves too; they never match a Rust char.
        Ok(char::from_u32(v).unwrap_or('\u{FFFD}'))
    }

    /// After a backslash: a class item or a literal character.
    fn escape(&mut self) -> Result<Result<ClassItem, char>, PatternError> {
        let Some(c) = self.peek() else {
            return self.err("trailing backslash");
        };
        self.pos += 1;
        let prop = |p: &mut Self| -> Result<ClassItem, PatternError> {
            let name: String = if p.eat('{') {
                let start = p.pos;
                while p.peek().is_some_and(|c| c != '}') {
                    p.pos += 1;
                }
                let n = p.chars[start..p.pos].iter().collect();
                if !p.eat('}') {
                    return p.err("unterminated \\p{");
                }
                n
            } else {
                let c = p.peek().map(String::from).unwrap_or_default();
                p.pos += 1;
                c
            };
            match name.as_str() {
                "L" | "IsL" | "IsAlphabetic" | "Alpha" => Ok(ClassItem::Letter),
                "N" | "IsN" | "Nd" | "Digit" => Ok(ClassItem::Number),
                "Z" | "IsZ" | "Zs" => Ok(ClassItem::Separator),
                _ => p.err("unsupported \\p class"),
            }
        };
        Ok(match c {
            'w' => Ok(ClassItem::Word),
            'W' => Ok(ClassItem::Not(Box::new(ClassItem::Word))),
            'd' => Ok(ClassItem::Digit),
            'D' => Ok(ClassItem::Not(Box::new(ClassItem::Digit))),
            's' => Ok(ClassItem::Space),
            'S' => Ok(ClassItem::Not(Box::new(ClassItem::Space))),
            'p' => Ok(prop(self)?),
            'P' => Ok(ClassItem::Not(Box::new(prop(self)?))),
            'u' => Err(self.hex4()?),
            't' => Err('\t'),
            'n' => Err('\n'),
            'r' => Err('\r'),
            'f' => Err('\u{c}'),
            'x' => {
                let digits: String = self
                    .chars
                    .get(self.pos..self.pos + 2)
                    .unwrap_or(&[])
                    .iter()
                    .collect();
                let Ok(v) = u32::from_str_radix(&digits, 16) else {
                    return self.err("bad \\x escape");
                };
                self.pos += 2;
                Err(char::from_u32(v).unwrap_or('\u{FFFD}'))
            }
            c if c.is_ascii_alphanumeric() => return self.err("unsupported escape"),
            c => Err(c),
        })
    }

    fn class(&mut self) -> Result<Node, PatternError> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated class");
            };
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            self.pos += 1;
            let lo = if c == '\\' {
                match self.escape()? {
                    Ok(item) => {
                        items.push(item);
                        continue;
                    }
                    Err(ch) => ch,
                }
            } else {
                c
            };
            // A range `lo-hi` unless the `-` is last.
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|c| *c != ']') {
                self.pos += 1;
                let h = self.peek().expect("checked");
                self.pos += 1;
                let hi = if h == '\\' {
                    match self.escape()? {
                        Ok(_) => return self.err("class in range"),
                        Err(ch) => ch,
                    }
                } else {
                    h
                };
                if hi < lo {
                    return self.err("reversed range");
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Node::Class { items, negated })
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        let c = self.peek().expect("caller checked");
        self.pos += 1;
        Ok(match c {
            '(' => {
                let look = if self.eat('?') {
                    if self.eat(':') {
                        None
                    } else if self.eat('!') {
                        Some(true)
                    } else if self.eat('=') {
                        Some(false)
                    } else {
                        return self.err("unsupported group");
                    }
                } else {
                    None
                };
                let inner = self.alt()?;
                if !self.eat(')') {
                    return self.err("unbalanced (");
                }
                match look {
                    Some(negative) => Node::Look {
                        node: Box::new(inner),
                        negative,
                    },
                    None => Node::Group(Box::new(inner)),
                }
            }
            '[' => self.class()?,
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => match self.escape()? {
                Ok(item) => Node::Class {
                    items: vec![item],
                    negated: false,
                },
                Err(ch) => Node::Char(ch),
            },
            '*' | '+' | '?' => return self.err("nothing to repeat"),
            c => Node::Char(c),
        })
    }
}

fn item_matches(item: &ClassItem, c: char) -> bool {
    match item {
        ClassItem::Range(lo, hi) => *lo <= c && c <= *hi,
        ClassItem::Word => c.is_ascii_alphanumeric() || c == '_',
        ClassItem::Digit => c.is_ascii_digit(),
        ClassItem::Space => matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r'),
        ClassItem::Letter => c.is_alphabetic(),
        ClassItem::Number => c.is_numeric(),
        ClassItem::Separator => matches!(
            c,
            ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
        ),
        ClassItem::Not(inner) => !item_matches(inner, c),
    }
}

/// Whether `node` is a single-character matcher; returns the predicate.
fn single(node: &Node, c: char) -> Option<bool> {
    match node {
        Node::Char(x) => Some(*x == c),
        Node::Any => Some(c != '\n' && c != '\r'),
        Node::Class { items, negated } => {
            Some(items.iter().any(|i| item_matches(i, c)) != *negated)
        }
        Node::Group(inner) => single(inner, c),
        Node::Seq(items) if items.len() == 1 => single(&items[0], c),
        _ => None,
    }
}

fn is_single(node: &Node) -> bool {
    single(node, 'a').is_some()
}

/// End positions reachable by matching `node` from each of `starts` (sorted, deduplicated).
fn run(node: &Node, text: &[char], starts: &[usize]) -> Vec<usize> {
    if starts.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<usize> = match node {
        Node::Char(_) | Node::Any | Node::Class { .. } => starts
            .iter()
            .filter(|&&p| p < text.len() && single(node, text[p]) == Some(true))
            .map(|p| p + 1)
            .collect(),
        Node::Group(inner) => run(inner, text, starts),
        Node::Seq(items) => {
            let mut cur = starts.to_vec();
            for item in items {
                cur = run(item, text, &cur);
                if cur.is_empty() {
                    break;
                }
            }
            cur
        }
        Node::Alt(branches) => branches.iter().flat_map(|b| run(b, text, starts)).collect(),
        Node::Start => starts.iter().copied().filter(|&p| p == 0).collect(),
        Node::End => starts
            .iter()
            .copied()
            .filter(|&p| p == text.len())
            .collect(),
        Node::Look { node, negative } => starts
            .iter()
            .copied()
            .filter(|&p| run(node, text, &[p]).is_empty() == *negative)
            .collect(),
        Node::Repeat { node, min, max } if is_single(node) => {
            // Run lengths of matching characters, computed once.
            let mut runlen = vec![0usize; text.len() + 1];
            for i in (0..text.len()).rev() {
                if single(node, text[i]) == Some(true) {
                    runlen[i] = runlen[i + 1] + 1;
                }
            }
            let (min, max) = (*min as usize, max.map(|m| m as usize));
            let mut ends = Vec::new();
            let mut covered = 0usize; // positions < covered already emitted
            for &p in starts {
                let reach = runlen[p].min(max.unwrap_or(usize::MAX));
                if reach < min {
                    continue;
                }
                let lo = (p + min).max(covered);
                let hi = p + reach;
                if lo <= hi {
                    ends.extend(lo..=hi);
                    covered = hi + 1;
                }
            }
            ends
        }
        Node::Repeat { node, min, max } => {
            let mut result = Vec::new();
            let mut cur = starts.to_vec();
            let mut seen: Vec<usize> = Vec::new();
            let mut count = 0u32;
            loop {
                if count >= *min {
                    result.extend(cur.iter().copied());
                }
                if max.is_some_and(|m| count >= m) || cur.is_empty() {
                    break;
                }
                let next = run(node, text, &cur);
                count += 1;
                // Once past the minimum, stop when no new position appears.
                if count > *min {
                    seen.extend(cur.iter().copied());
                    seen.sort_unstable();
                    seen.dedup();
                    let fresh: Vec<usize> = next
                        .into_iter()
                        .filter(|p| seen.binary_search(p).is_err())
                        .collect();
                    cur = fresh;
                } else {
                    cur = next;
                }
            }
            result
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

impl Pattern {
    pub fn new(src: &str) -> Result<Pattern, PatternError> {
        let mut p = Parser {
            chars: src.chars().collect(),
            pos: 0,
            src,
        };
        let root = p.alt()?;
        if p.pos != p.chars.len() {
            return p.err("unbalanced )");
        }
        Ok(Pattern { root })
    }

    /// Whether the whole of `text` matches (Java `String.matches`).
    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        run(&self.root, &chars, &[0]).contains(&chars.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p).unwrap().matches(t)
    }

    #[test]
    fn every_model_pattern_compiles() {
        // The services kagi serve validates: every pattern compiles. The others' patterns
        // are only the server's business (botocore does not check them either); a pattern
        // this matcher cannot compile accepts everything, so the few left over are listed.
        let (mut total, mut failed) = (0, Vec::new());
        for &svc in crate::services() {
            let served = ["iam", "sts", "ecr"].contains(&svc.cli_name);
            for shape in svc.shapes() {
                if let Some(p) = shape.pattern {
                    total += 1;
                    if let Err(e) = Pattern::new(p) {
                        assert!(!served, "{}: {e:?}", shape.name);
                        failed.push(format!("{}.{}: {e:?}", svc.name, shape.name));
                    }
                }
            }
        }
        println!("{} of {total} patterns do not compile", failed.len());
        // botocore 1.44.5: 501 of 9,842 (`\p{C}`-style classes, `(?s)`, `\b`), none of them
        // in a service kagi serve validates.
        assert!(
            failed.len() * 100 < total * 6,
            "more than 6% of the models' patterns do not compile:\n{}",
            failed.join("\n")
        );
    }

    #[test]
    fn iam_names() {
        let p = r"[\w+=,.@-]+";
        assert!(m(p, "alice"));
        assert!(m(p, "ci-bot+x=y,z.@_9"));
        assert!(!m(p, "bad name"));
        assert!(!m(p, ""));
        assert!(!m(p, "é"));
    }

    #[test]
    fn iam_paths() {
        let p = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)";
        assert!(m(p, "/"));
        assert!(m(p, "/division_abc/subdivision_xyz/"));
        assert!(!m(p, "/a"));
        assert!(!m(p, "a/"));
        assert!(!m(p, "/a b/"));
    }

    #[test]
    fn policy_documents() {
        let p = r"[\u0009\u000A\u000D\u0020-\u00FF]+";
        assert!(m(p, "{\n\t\"Version\": \"2012-10-17\"\r\n}"));
        assert!(!m(p, "{\"Sid\": \"日本\"}"));
        let big = "x".repeat(200_000);
        assert!(m(p, &big));
    }

    #[test]
    fn ecr_repository_names() {
        let p = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";
        assert!(m(p, "app"));
        assert!(m(p, "team/app-1.0_x"));
        assert!(!m(p, "App"));
        assert!(!m(p, "app/"));
        assert!(!m(p, "a--"));
        let p = r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$";
        assert!(m(p, "my-repo"));
        assert!(!m(p, "my--repo"));
        assert!(!m(p, "-x"));
    }

    #[test]
    fn quantifier_forms() {
        assert!(m("[0-9]{12}", "123456789012"));
        assert!(!m("[0-9]{12}", "12345678901"));
        assert!(m("v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?", "v12.abc"));
        assert!(!m("v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?", "v0"));
        assert!(m("a{2,}b?", "aaa"));
        assert!(m("(ab|a)*c", "abaabc"));
        assert!(m(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "Größe 12 _.:/=+-@"));
        assert!(!m(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "a!"));
        assert!(m(r"^\S+$", "x"));
        assert!(!m(r"^\S+$", "x y"));
        assert!(m("[^a]*", "bcd"));
        assert!(!m("[^a]*", "bad"));
        assert!(Pattern::new("(").is_err());
        assert!(Pattern::new("*a").is_err());
    }
}
