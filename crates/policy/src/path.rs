//! Paths into a policy document (`Statement[0].Action[2]`), for the findings and errors of
//! [`crate::parse`] and [`crate::org_rules`].

use crate::ast::{ListElement, Policy, Statement};
use crate::error::PathElement;

/// The path of a statement: `Statement` or `Statement[i]`.
pub(crate) fn statement_path(p: &Policy, s: &Statement) -> Vec<PathElement> {
    let mut v = vec![PathElement::Key("Statement".into())];
    if p.statement_is_array {
        v.push(PathElement::Index(s.index));
    }
    v
}

pub(crate) fn with(mut path: Vec<PathElement>, more: &[PathElement]) -> Vec<PathElement> {
    path.extend_from_slice(more);
    path
}

pub(crate) fn key(k: &str) -> PathElement {
    PathElement::Key(k.to_string())
}

pub(crate) fn list_path(
    base: &[PathElement],
    el: &ListElement,
    name: &str,
    negname: &str,
    i: usize,
) -> Vec<PathElement> {
    let mut v = base.to_vec();
    v.push(key(if el.negated { negname } else { name }));
    if el.is_list {
        v.push(PathElement::Index(i));
    }
    v
}
