//! The option parser of the hand-written commands (`eks`, `logs tail`, `logs start-live-tail`,
//! `codeartifact login`, `cloudformation deploy|package`, `rds generate-db-auth-token`, the
//! `get-login-password`s): a static table per command, parsed as the official CLI's
//! `BasicCommand` does it with argparse's `parse_known_args`, then its own checks.
//!
//! * An argument is an option when it starts with `-` (not `-` alone, not a negative number,
//!   not a word with a space unless it names an option); `--name=value` gives the value inline.
//! * A flag takes no value (`--flag=x` is argparse's "ignored explicit argument"); a value
//!   option takes the next argument that is not an option ("expected one argument"); a list
//!   (`nargs='+'`) takes every following one ("expected at least one argument"), but only the
//!   inline value when given as `--name=value`, the words after it being left over as argparse
//!   leaves them. Choices are checked as the value is read. The last of a repeated option wins.
//! * Then the required options (and the positional), in table order: "the following arguments
//!   are required: ...".
//! * Then integer options (`cli_type_name: integer`), converted as Python's `int()`: its
//!   `ValueError` is a general error (255).
//! * Last, whatever is left over (unknown options and extra words): `BasicCommand`'s
//!   `Unknown options: a,b` parameter error (252), printed without argparse's usage frame.
//!
//! Abbreviated option names (argparse's `allow_abbrev`) are not taken: the official CLI's
//! global parser sees them first, and kagi's global options have no abbreviations either.

use crate::CliError;

/// How an option takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `action: store_true`.
    Flag,
    /// One value.
    One,
    /// One value, converted as `int()` after the required check.
    Int,
    /// `nargs: '+'`.
    List,
}

/// One option of a command's table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub choices: &'static [&'static str],
}

impl Opt {
    pub(crate) const fn flag(name: &'static str) -> Opt {
        Opt::new(name, Kind::Flag)
    }
    pub(crate) const fn one(name: &'static str) -> Opt {
        Opt::new(name, Kind::One)
    }
    pub(crate) const fn int(name: &'static str) -> Opt {
        Opt::new(name, Kind::Int)
    }
    pub(crate) const fn list(name: &'static str) -> Opt {
        Opt::new(name, Kind::List)
    }
    const fn new(name: &'static str, kind: Kind) -> Opt {
        Opt {
            name,
            kind,
            required: false,
            choices: &[],
        }
    }
    pub(crate) const fn required(self) -> Opt {
        Opt {
            required: true,
            ..self
        }
    }
    pub(crate) const fn choices(self, choices: &'static [&'static str]) -> Opt {
        Opt { choices, ..self }
    }
}

/// A command's arguments: its options and, for `logs tail`, one required positional (named
/// as argparse names it in the required error).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Spec {
    pub opts: &'static [Opt],
    pub positional: Option<&'static str>,
}

impl Spec {
    pub(crate) const fn new(opts: &'static [Opt]) -> Spec {
        Spec {
            opts,
            positional: None,
        }
    }
    pub(crate) const fn with_positional(self, name: &'static str) -> Spec {
        Spec {
            positional: Some(name),
            ..self
        }
    }
}

/// The parsed arguments: each option given, in order, with its values.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    values: Vec<(&'static str, Vec<String>)>,
    ints: Vec<(&'static str, i64)>,
    pub positional: Option<String>,
}

impl Parsed {
    /// The value of the last `name` given.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.many(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// The values of the last `name` given.
    pub(crate) fn many(&self, name: &str) -> Option<&[String]> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// An integer option's value.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.ints
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|x| x.1)
    }

    pub(crate) fn flag(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    /// The last of two opposite flags given, if any.
    pub(crate) fn last_of(&self, yes: &str, no: &str) -> Option<bool> {
        self.values.iter().rev().find_map(|(n, _)| {
            if *n == yes {
                Some(true)
            } else if *n == no {
                Some(false)
            } else {
                None
            }
        })
    }
}

/// argparse's `_parse_optional`: whether `arg` is an option string (known or not).
fn is_option(arg: &str, spec: &Spec) -> bool {
    if !arg.starts_with('-') || arg == "-" {
        return false;
    }
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    if spec.opts.iter().any(|o| o.name == arg || o.name == name) {
        return true;
    }
    // A negative number is a value (no table has an option that looks like one).
    let digits = &arg[1..];
    let negative_number = match digits.split_once('.') {
        None => digits.bytes().all(|b| b.is_ascii_digit()),
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit())
                && !frac.is_empty()
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
    };
    !negative_number && !arg.contains(' ')
}

/// Python's `repr()` of a string, as argparse quotes a value in its messages.
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `int()` of a string: surrounding whitespace, a sign, `_` between digits.
pub(crate) fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty()
        || body.starts_with('_')
        || body.ends_with('_')
        || body.contains("__")
        || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let n: i64 = body.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Parses `args` (the words after the command's name) against `spec`.
pub(crate) fn parse(args: &[String], spec: &Spec) -> Result<Parsed, CliError> {
    let mut p = Parsed::default();
    let mut extras: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !is_option(arg, spec) {
            if spec.positional.is_some() && p.positional.is_none() {
                p.positional = Some(arg.clone());
            } else {
                extras.push(arg.clone());
            }
            continue;
        }
        let (opt, inline) = match spec.opts.iter().find(|o| o.name == arg.as_str()) {
            Some(o) => (o, None),
            None => match arg
                .split_once('=')
                .and_then(|(n, v)| Some((spec.opts.iter().find(|o| o.name == n)?, v)))
            {
                Some((o, v)) => (o, Some(v.to_string())),
                None => {
                    extras.push(arg.clone());
                    continue;
                }
            },
        };
        let name = opt.name;
        let values = match (opt.kind, inline) {
            (Kind::Flag, Some(v)) => {
                return Err(CliError::Usage(format!(
                    "argument {name}: ignored explicit argument {}",
                    py_repr(&v)
                )));
            }
            (Kind::Flag, None) => Vec::new(),
            (_, Some(v)) => vec![v],
            (Kind::One | Kind::Int, None) => match args.get(i) {
                Some(v) if !is_option(v, spec) => {
                    i += 1;
                    vec![v.clone()]
                }
                _ => {
                    return Err(CliError::Usage(format!(
                        "argument {name}: expected one argument"
                    )));
                }
            },
            (Kind::List, None) => {
                let mut vs = Vec::new();
                while let Some(v) = args.get(i).filter(|v| !is_option(v, spec)) {
                    vs.push(v.clone());
                    i += 1;
                }
                if vs.is_empty() {
                    return Err(CliError::Usage(format!(
                        "argument {name}: expected at least one argument"
                    )));
                }
                vs
            }
        };
        if !opt.choices.is_empty() && values.iter().any(|v| !opt.choices.contains(&v.as_str())) {
            return Err(CliError::Usage(format!(
                "argument {name}: Invalid choice, valid choices are:\n\n{}",
                crate::params::choices_table(opt.choices)
            )));
        }
        p.values.push((name, values));
    }
    let mut missing: Vec<&str> = Vec::new();
    if let Some(pos) = spec.positional
        && p.positional.is_none()
    {
        missing.push(pos);
    }
    missing.extend(
        spec.opts
            .iter()
            .filter(|o| o.required && !p.flag(o.name))
            .map(|o| o.name),
    );
    if !missing.is_empty() {
        return Err(CliError::Usage(format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )));
    }
    for o in spec.opts.iter().filter(|o| o.kind == Kind::Int) {
        if let Some(v) = p.one(o.name) {
            let n = py_int(v).ok_or_else(|| {
                CliError::General(format!(
                    "invalid literal for int() with base 10: {}",
                    py_repr(v)
                ))
            })?;
            p.ints.push((o.name, n));
        }
    }
    if !extras.is_empty() {
        return Err(CliError::BadParam(format!(
            "Unknown options: {}",
            extras.join(",")
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec::new(&[
        Opt::one("--name").required(),
        Opt::flag("--dry-run"),
        Opt::list("--tags"),
        Opt::int("--port"),
        Opt::one("--format").choices(&["a", "b"]),
    ]);

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn err(s: &str, spec: &Spec) -> (i32, String) {
        let e = parse(&words(s), spec).unwrap_err();
        (e.exit_code(), e.message())
    }

    #[test]
    fn argparse_rules() {
        let p = parse(
            &words("--name=x --tags a b --dry-run --port 0_1 --name y --format b"),
            &SPEC,
        )
        .unwrap();
        assert_eq!(p.one("--name"), Some("y"));
        assert_eq!(p.many("--tags").unwrap(), ["a", "b"]);
        assert!(p.flag("--dry-run"));
        assert_eq!(p.int("--port"), Some(1));
        // A negative number is a value, `-x` an option.
        assert_eq!(
            parse(&words("--name -5"), &SPEC).unwrap().one("--name"),
            Some("-5")
        );
        assert_eq!(
            err("--name -x", &SPEC),
            (252, "argument --name: expected one argument".into())
        );
        assert_eq!(
            err("--name x --tags", &SPEC),
            (
                252,
                "argument --tags: expected at least one argument".into()
            )
        );
        assert_eq!(
            err("--name x --dry-run=1", &SPEC),
            (
                252,
                "argument --dry-run: ignored explicit argument '1'".into()
            )
        );
        // Required before unknown; unknown after the int conversion.
        assert_eq!(
            err("--bogus", &SPEC),
            (252, "the following arguments are required: --name".into())
        );
        assert_eq!(
            err("--name x --bogus=1 y --port z", &SPEC),
            (255, "invalid literal for int() with base 10: 'z'".into())
        );
        assert_eq!(
            err("--name x --bogus=1 y -- z --tags=a b", &SPEC),
            (252, "Unknown options: --bogus=1,y,--,z,b".into())
        );
        assert_eq!(
            err("--name x --format c", &SPEC).1.lines().next(),
            Some("argument --format: Invalid choice, valid choices are:")
        );
        const POS: Spec = Spec::new(&[Opt::flag("--follow")]).with_positional("group_name");
        let pos = POS;
        assert_eq!(
            err("--follow", &pos).1,
            "the following arguments are required: group_name"
        );
        assert_eq!(err("g h", &pos).1, "Unknown options: h");
        assert_eq!(
            parse(&words("--follow -5"), &pos)
                .unwrap()
                .positional
                .as_deref(),
            Some("-5")
        );
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_int(" -1_000 "), Some(-1000));
        assert_eq!(py_int("1__0"), None);
    }
}
