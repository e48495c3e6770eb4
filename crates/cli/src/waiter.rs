//! waiters (next)
