//! kagi-ecr (skeleton; see ARCHITECTURE.md).
