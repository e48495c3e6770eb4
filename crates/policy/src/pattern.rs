//! Wildcards and policy variables.
//!
//! A policy string is compiled once into a [`Template`]: literal text, `*`, `?` and `${...}`
//! variables. Variables exist only in `2012-10-17` documents (elsewhere `${...}` is plain text);
//! `${*}`, `${?}` and `${$}` are the escapes for a literal `*`, `?` and `$`, and
//! `${key, 'default'}` gives a default used when the key is absent
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>).
//!
//! Matching is the classic linear-space glob with one backtrack point (the last `*`), which is
//! exact for `*`/`?` patterns; a property test checks it against a dynamic-programming oracle.
//! ARNs are matched segment by segment ([`ArnPattern`]): each of the first five `:`-separated
//! parts is matched on its own, and the last pattern part takes the rest of the ARN, so a final
//! `*` may span colons while a `*` in the region cannot.

/// One piece of a compiled template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(Box<str>),
    /// `*`: any sequence, including the empty one.
    Star,
    /// `?`: exactly one character.
    Question,
    /// `${key}` or `${key, 'default'}`; `key` is lower-cased (context keys are case-insensitive).
    Var {
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// A compiled policy string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    has_vars: bool,
    /// The whole template as one literal when it has no wildcard and no variable.
    literal: Option<Box<str>>,
}

/// Something that can resolve a variable key (lower-case) to a single string value.
pub trait Resolver {
    fn resolve(&self, key: &str) -> Option<&str>;
}

impl Resolver for () {
    fn resolve(&self, _key: &str) -> Option<&str> {
        None
    }
}

impl Template {
    /// Compiles `text`. `wildcards`: whether `*`/`?` are wildcards (else literal);
    /// `variables`: whether `${...}` is substituted; `lowercase`: fold literal text to lower case.
    pub fn compile(text: &str, wildcards: bool, variables: bool, lowercase: bool) -> Template {
        let mut pieces: Vec<Piece> = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, pieces: &mut Vec<Piece>| {
            if !lit.is_empty() {
                let s = std::mem::take(lit);
                pieces.push(Piece::Lit(
                    if lowercase { s.to_lowercase() } else { s }.into(),
                ));
            }
        };
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
            {
                let inner = &rest[2..end];
                rest = &rest[end + 1..];
                match inner {
                    "*" | "?" | "$" => lit.push_str(inner),
                    _ => {
                        let (key, default) = split_default(inner);
                        flush(&mut lit, &mut pieces);
                        pieces.push(Piece::Var {
                            key: key.trim().to_ascii_lowercase().into(),
                            default: default.map(Into::into),
                        });
                    }
                }
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' if wildcards => {
                    flush(&mut lit, &mut pieces);
                    // Consecutive stars are one star.
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                }
                '?' if wildcards => {
                    flush(&mut lit, &mut pieces);
                    pieces.push(Piece::Question);
                }
                c => lit.push(c),
            }
        }
        flush(&mut lit, &mut pieces);
        let has_vars = pieces.iter().any(|p| matches!(p, Piece::Var { .. }));
        let literal = match pieces.as_slice() {
            [] => Some("".into()),
            [Piece::Lit(s)] => Some(s.clone()),
            _ => None,
        };
        Template {
            pieces,
            has_vars,
            literal,
        }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    pub fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// The template's text when it is a plain literal (no wildcard, no variable).
    pub fn as_literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// True for the pattern `*` alone.
    pub fn is_star(&self) -> bool {
        self.pieces == [Piece::Star]
    }

    /// Variable keys this template refers to that the resolver cannot resolve and that have no
    /// default.
    pub fn unresolved<'a>(&'a self, r: &'a dyn Resolver) -> impl Iterator<Item = &'a str> + 'a {
        self.pieces.iter().filter_map(move |p| match p {
            Piece::Var { key, default } if default.is_none() && r.resolve(key).is_none() => {
                Some(&**key)
            }
            _ => None,
        })
    }

    /// Substitutes variables, giving the text with wildcards written back as `*`/`?` (only
    /// meaningful for templates compiled without wildcards). `None` when a variable has no value
    /// and no default.
    pub fn substitute(&self, r: &dyn Resolver) -> Option<String> {
        if let Some(l) = &self.literal {
            return Some(l.to_string());
        }
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Star => out.push('*'),
                Piece::Question => out.push('?'),
                Piece::Var { key, default } => out.push_str(resolve_var(r, key, default)?),
            }
        }
        Some(out)
    }

    /// Glob match of the whole `text`. Variables resolve to literal text; an unresolvable
    /// variable makes the match fail.
    pub fn matches(&self, text: &str, r: &dyn Resolver) -> bool {
        if let Some(l) = &self.literal {
            return **l == *text;
        }
        if self.has_vars {
            for p in &self.pieces {
                if let Piece::Var { key, default } = p
                    && resolve_var(r, key, default).is_none()
                {
                    return false;
                }
            }
        }
        glob(&self.pieces, text, r)
    }
}

fn resolve_var<'a>(
    r: &'a dyn Resolver,
    key: &str,
    default: &'a Option<Box<str>>,
) -> Option<&'a str> {
    r.resolve(key).or(default.as_deref())
}

/// Splits `key, 'default'` into the key and the default's text.
fn split_default(inner: &str) -> (&str, Option<&str>) {
    if let Some(comma) = inner.find(',') {
        let d = inner[comma + 1..].trim();
        if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
            return (&inner[..comma], Some(&d[1..d.len() - 1]));
        }
    }
    (inner, None)
}

/// The glob matcher over pieces. Literal pieces (and resolved variables) must match exactly.
fn glob(pieces: &[Piece], text: &str, r: &dyn Resolver) -> bool {
    let bytes = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < pieces.len() {
            let advanced = match &pieces[pi] {
                Piece::Star => {
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                Piece::Question => match text[ti..].chars().next() {
                    Some(c) => {
                        ti += c.len_utf8();
                        true
                    }
                    None => false,
                },
                Piece::Lit(s) => {
                    if bytes[ti..].starts_with(s.as_bytes()) {
                        ti += s.len();
                        true
                    } else {
                        false
                    }
                }
                Piece::Var { key, default } => match resolve_var(r, key, default) {
                    Some(v) if bytes[ti..].starts_with(v.as_bytes()) => {
                        ti += v.len();
                        true
                    }
                    _ => false,
                },
            };
            if advanced {
                pi += 1;
                continue;
            }
        } else if ti == bytes.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < bytes.len() => {
                let next = st + text[st..].chars().next().map_or(1, char::len_utf8);
                star = Some((sp, next));
                pi = sp;
                ti = next;
            }
            _ => return false,
        }
    }
}

/// Plain wildcard match of `text` against `pattern` (`*`, `?`; case-sensitive).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    Template::compile(pattern, true, false, false).matches(text, &())
}

/// An ARN pattern, matched segment by segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArnPattern {
    /// Up to six segments; the last one matches the rest of the ARN.
    segments: Vec<Template>,
    any: bool,
}

impl ArnPattern {
    pub fn compile(text: &str, variables: bool) -> ArnPattern {
        let parts = split_arn_pattern(text, variables);
        let segments: Vec<Template> = parts
            .iter()
            .map(|p| Template::compile(p, true, variables, false))
            .collect();
        let any = segments.len() == 1 && segments[0].is_star();
        ArnPattern { segments, any }
    }

    pub fn is_any(&self) -> bool {
        self.any
    }

    pub fn has_vars(&self) -> bool {
        self.segments.iter().any(Template::has_vars)
    }

    pub fn segments(&self) -> &[Template] {
        &self.segments
    }

    pub fn matches(&self, arn: &str, r: &dyn Resolver) -> bool {
        if self.any {
            return true;
        }
        let k = self.segments.len();
        let mut rest = arn;
        for (i, seg) in self.segments.iter().enumerate() {
            if i + 1 == k {
                return seg.matches(rest, r);
            }
            let Some(colon) = rest.find(':') else {
                return false;
            };
            if !seg.matches(&rest[..colon], r) {
                return false;
            }
            rest = &rest[colon + 1..];
        }
        false
    }
}

/// Splits on the first five colons that are not inside `${...}`.
fn split_arn_pattern(text: &str, variables: bool) -> Vec<&str> {
    let mut parts = Vec::with_capacity(6);
    let bytes = text.as_bytes();
    let (mut start, mut i, mut depth) = (0usize, 0usize, 0usize);
    while i < bytes.len() && parts.len() < 5 {
        match bytes[i] {
            b'$' if variables && bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<String, String>);
    impl Resolver for Map {
        fn resolve(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }
    }

    #[test]
    fn globbing() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*a*b", "xxaxxb"));
        assert!(!wildcard_match("*a*b", "xxaxxbc"));
        assert!(wildcard_match("日?", "日本"));
        assert!(wildcard_match("a**b", "ab"));
    }

    #[test]
    fn variables() {
        let m = Map(HashMap::from([("aws:username".into(), "alice".into())]));
        let t = Template::compile("home/${aws:username}/*", true, true, false);
        assert!(t.matches("home/alice/x", &m));
        assert!(!t.matches("home/bob/x", &m));
        let t = Template::compile("a${*}b", true, true, false);
        assert!(t.matches("a*b", &m));
        assert!(!t.matches("axb", &m));
        let t = Template::compile("${aws:missing, 'dflt'}", true, true, false);
        assert!(t.matches("dflt", &m));
        let t = Template::compile("${aws:missing}", true, true, false);
        assert!(!t.matches("", &m));
        assert_eq!(t.unresolved(&m).collect::<Vec<_>>(), ["aws:missing"]);
        let t = Template::compile("${aws:username}", true, false, false);
        assert!(t.matches("${aws:username}", &m));
        let t = Template::compile("${AWS:UserName}", false, true, false);
        assert_eq!(t.substitute(&m).as_deref(), Some("alice"));
    }

    #[test]
    fn arn_segments() {
        let p = ArnPattern::compile("arn:aws:ecr:*:123:repository/*", false);
        assert!(p.matches("arn:aws:ecr:us-east-1:123:repository/a/b:c", &()));
        assert!(!p.matches("arn:aws:ecr:us-east-1:124:repository/a", &()));
        let p = ArnPattern::compile("arn:aws:ecr:*:repository/x", false);
        assert!(!p.matches("arn:aws:ecr:us-east-1:123:repository/x", &()));
        let p = ArnPattern::compile("arn:aws:*", false);
        assert!(p.matches("arn:aws:s3:::bucket", &()));
        assert!(ArnPattern::compile("*", false).matches("anything", &()));
        let p = ArnPattern::compile("arn:aws:iam::123:user/${aws:username}", true);
        assert_eq!(p.segments().len(), 6);
    }
}
