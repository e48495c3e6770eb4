//! kagi-policy (skeleton; see ARCHITECTURE.md).
