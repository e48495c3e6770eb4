//! Placeholder; filled in by the client step.
