//! kagi-api (skeleton; see ARCHITECTURE.md).
