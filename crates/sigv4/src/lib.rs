//! kagi-sigv4 (skeleton; see ARCHITECTURE.md).
