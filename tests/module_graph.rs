//! No import circle inside a crate (ARCHITECTURE.md, "Module graph"): the modules of each crate
//! form a DAG, so no module imports the one that dispatches to it. Edges are read from the
//! sources: `crate::a::b` paths (also inside `use crate::{...}` groups), `super::x`, and a
//! module's references to its own children (`child::item`). Test modules (`#[cfg(test)]`
//! onwards) and comments are ignored. On failure the test prints every circle it found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose module graph must stay acyclic.
const CRATES: &[&str] = &[
    "crates/server/src",
    "crates/api/src",
    "crates/sigv4/src",
    "crates/policy/src",
    "crates/cli/src",
    "crates/ecr/src",
    "crates/time/src",
    "crates/testkit/src",
    "crates/console/src",
    "crates/store/src",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b.rs` and `a/b/mod.rs` → `a::b`; `lib.rs`/`main.rs` → the crate root `""`.
fn module_name(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts.join("::")
}

/// The source without comments, string literals and test modules.
fn code_of(src: &str) -> String {
    let src = match src.find("#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    };
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths that follow `prefix` (`crate::` or `super::`), expanding `{a, b::c}` groups.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(item.trim().split("::{").next().unwrap().to_owned());
            }
        } else {
            let end = rest
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(rest.len());
            out.push(rest[..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// The longest module that `path` (relative to the crate root) names.
fn resolve(modules: &BTreeSet<String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mods: BTreeMap<String, String> = files
        .iter()
        .map(|f| {
            (
                module_name(root, f),
                code_of(&std::fs::read_to_string(f).unwrap()),
            )
        })
        .collect();
    let names: BTreeSet<String> = mods.keys().filter(|m| !m.is_empty()).cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, code) in &mods {
        if m.is_empty() {
            continue; // the crate root declares everything; it is above every module
        }
        let mut to = BTreeSet::new();
        for p in paths_after(code, "crate::") {
            to.extend(resolve(&names, &p));
        }
        if let Some((parent, _)) = m.rsplit_once("::") {
            for p in paths_after(code, "super::") {
                to.extend(resolve(&names, &format!("{parent}::{p}")));
                if resolve(&names, &format!("{parent}::{p}")).is_none() {
                    to.insert(parent.to_owned());
                }
            }
        }
        for child in names.iter().filter(|c| {
            c.strip_prefix(m.as_str())
                .and_then(|r| r.strip_prefix("::"))
                .is_some_and(|r| !r.contains("::"))
        }) {
            let short = child.rsplit("::").next().unwrap();
            let used = code.match_indices(&format!("{short}::")).any(|(i, _)| {
                !code[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| is_ident(c) || c == ':')
            });
            if used {
                to.insert(child.clone());
            }
        }
        to.remove(m);
        edges.insert(m.clone(), to);
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_crate_has_an_import_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for krate in CRATES {
        let edges = graph(&root.join(krate));
        assert!(edges.len() > 1 || *krate == "crates/time/src" || *krate == "crates/testkit/src");
        for c in circles(&edges) {
            failures.push(format!("{krate}: {}", c.join(" ↔ ")));
        }
    }
    assert!(
        failures.is_empty(),
        "import circles:\n{}",
        failures.join("\n")
    );
}

/// The checker itself finds a circle (so the test above can fail).
#[test]
fn a_circle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b; pub mod c;").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::f; // crate::c\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{c::g, x};").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "fn h() { crate::a::k(); }\n#[cfg(test)] mod t { use crate::b; }",
    )
    .unwrap();
    std::fs::create_dir(src.join("p")).unwrap();
    std::fs::write(src.join("p/mod.rs"), "mod q; fn d() { q::e() }").unwrap();
    std::fs::write(src.join("p/q.rs"), "use super::{d, r};").unwrap();
    let edges = graph(src);
    assert_eq!(edges["a"], BTreeSet::from(["b".to_owned()]));
    assert_eq!(edges["c"], BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        circles(&edges),
        vec![
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            vec!["p".to_owned(), "p::q".to_owned()],
        ]
    );
}
