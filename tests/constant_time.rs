//! Constant-time compares everywhere a secret is compared (issue #15, `THREAT-MODEL.md`):
//! reads every crate's non-test sources and fails on a `==` or `!=` with an operand whose name
//! says it holds a secret (a secret key, password, signature, CSRF or sign-in token, MAC,
//! seed, cookie), unless the comparison is listed below with the reason it is no secret
//! compare. Secrets are compared with `ct_eq` (`subtle`) or `hmac`'s `verify_slice`; the test
//! also checks those are where the secrets are compared.

use std::path::{Path, PathBuf};

/// Names that hold secrets (lowercase; matched inside an operand's identifier chain).
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "signature",
    "csrf",
    "token",
    "mac",
    "seed",
    "sealed",
    "cookie",
    "phc",
];

/// Comparisons that are not a guess checked against a secret: (file, operand, why).
const NOT_SECRET: &[(&str, &str, &str)] = &[
    (
        "server/src/account.rs",
        "o.root_access_key_id.is_some()",
        "whether both overrides are given, not their values",
    ),
    (
        "server/src/iam/login.rs",
        "p.password_phc",
        "two stored hashes: did the profile change under the transaction",
    ),
    (
        "cli/src/params.rs",
        "p.input_token",
        "a paginator's parameter name, not a token's value",
    ),
    (
        "server/src/sso/web.rs",
        "k",
        "a cookie's name (finding the portal's cookie), not its value",
    ),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The line without string literals' contents and without its `//` comment.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match (in_str, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => {
                in_str = false;
                out.push('"');
            }
            (true, _) => {}
            (false, '"') => {
                in_str = true;
                out.push('"');
            }
            (false, _) => out.push(c),
        }
    }
    match out.find("//") {
        Some(i) => out[..i].to_owned(),
        None => out,
    }
}

fn is_chain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.()".contains(c)
}

/// The operands either side of the first `op` in `code`, as identifier chains.
fn operands<'a>(code: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let i = code.find(op)?;
    let left = code[..i].trim_end();
    let start = left
        .char_indices()
        .rev()
        .find(|(_, c)| !is_chain(*c))
        .map_or(0, |(j, c)| j + c.len_utf8());
    let right = code[i + op.len()..]
        .trim_start()
        .trim_start_matches(['&', '*']);
    let end = right.find(|c| !is_chain(c)).unwrap_or(right.len());
    let balanced = |s: &'a str| {
        let mut s = s.trim_start_matches('(');
        while s.ends_with(')') && s.matches(')').count() > s.matches('(').count() {
            s = &s[..s.len() - 1];
        }
        s
    };
    Some((balanced(&left[start..]), balanced(&right[..end])))
}

fn holds_secret(operand: &str) -> bool {
    let o = operand.to_ascii_lowercase();
    let harmless = [".is_some()", ".is_none()", ".len()", ".is_empty()"];
    SECRET_WORDS.iter().any(|w| o.contains(w)) && !harmless.iter().any(|h| o.ends_with(h))
}

#[test]
fn secrets_are_never_compared_with_eq() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            sources(&src, &mut files);
        }
    }
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut found = vec![];
    let mut compares = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(root.join("crates")).unwrap_or(f);
        let rel = rel.to_string_lossy();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = code_of(line);
            for op in ["==", "!="] {
                let Some((l, r)) = operands(&code, op) else {
                    continue;
                };
                compares += 1;
                let listed = NOT_SECRET
                    .iter()
                    .any(|(file, operand, _)| rel.ends_with(file) && (l == *operand));
                if (holds_secret(l) || holds_secret(r)) && !listed {
                    found.push(format!("{rel}:{}: {} {op} {}", n + 1, l, r));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "secrets compared with == or != (use ct_eq / verify_slice, or list why it is no \
         secret compare):\n{}",
        found.join("\n")
    );
    // Where secrets are compared, the constant-time compares are there.
    for (file, needle) in [
        ("crates/sigv4/src/canonical.rs", "verify_slice"),
        ("crates/ecr/src/token.rs", "verify_slice"),
        ("crates/console/src/session.rs", "ConstantTimeEq"),
        ("crates/console/src/pages/mod.rs", "ct_eq("),
        ("crates/console/src/pages/signin.rs", "ct_eq("),
        ("crates/server/src/crypto.rs", "ConstantTimeEq"),
        ("crates/server/src/console_host.rs", "ct_eq("),
        ("crates/server/src/totp.rs", "ct_eq("),
        ("crates/server/src/iam/mfa.rs", "ct_eq("),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(text.contains(needle), "{file} no longer uses {needle}");
    }
    eprintln!(
        "{compares} comparisons in {} source files, none of a secret",
        files.len()
    );
}

#[test]
fn the_scan_sees_a_secret_compare() {
    let code = code_of(r#"if provided_signature == expected { // "a == b" in a comment"#);
    let (l, r) = operands(&code, "==").unwrap();
    assert_eq!((l, r), ("provided_signature", "expected"));
    assert!(holds_secret(l));
    let code = code_of(r#"    if s.csrf.as_bytes() != &*form_csrf {"#);
    let (l, r) = operands(&code, "!=").unwrap();
    assert!(holds_secret(l) && holds_secret(r), "{l} {r}");
    let code = code_of(r#"if action == "GetSessionToken" {"#);
    let (l, r) = operands(&code, "==").unwrap();
    assert!(
        !holds_secret(l) && !holds_secret(r),
        "a literal is no secret"
    );
}
