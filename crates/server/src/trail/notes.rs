//! The explanations of one request's authorisation decisions, collected on the thread that
//! makes them: [`collect`] opens a collection around a handler (which runs inline, on one
//! thread), [`crate::authz::decide`] adds to it when one is open ([`active`], [`push`]).
//! Nothing is built when no collection is open (recording off, or a caller that keeps none).

use kagi_policy::{Evaluation, Explained, NoteCache};
use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

thread_local! {
    static NOTES: RefCell<Option<Vec<Arc<Explained>>>> = const { RefCell::new(None) };
}

/// Runs `f` with a collection open; returns its result and what was collected. Nested calls
/// collect into the outer collection too (the inner one sees only its own decisions).
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<Arc<Explained>>) {
    let outer = NOTES.with(|n| n.borrow_mut().replace(Vec::new()));
    let r = f();
    let mine = NOTES
        .with(|n| std::mem::replace(&mut *n.borrow_mut(), outer))
        .unwrap_or_default();
    if !mine.is_empty() {
        NOTES.with(|n| {
            if let Some(o) = n.borrow_mut().as_mut() {
                o.extend(mine.iter().cloned());
            }
        });
    }
    (r, mine)
}

/// Whether a decision made now would be kept.
pub fn active() -> bool {
    NOTES.with(|n| n.borrow().is_some())
}

pub fn push(note: Arc<Explained>) {
    NOTES.with(|n| {
        if let Some(v) = n.borrow_mut().as_mut() {
            // A request makes a handful of decisions; a bound keeps a pathological one small.
            if v.len() < 16 {
                v.push(note);
            }
        }
    });
}

/// The process's explanations, each distinct decision rendered once (4,096 kept).
static CACHE: LazyLock<NoteCache> = LazyLock::new(|| NoteCache::new(4096));

/// The shared explanation of `ev` for `action` on `resource`.
pub fn explained(ev: &Evaluation<'_>, action: &str, resource: &str) -> Arc<Explained> {
    CACHE.get(ev, action, resource)
}
