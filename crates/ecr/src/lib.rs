//! kagi-ecr (in progress).
pub mod error;
pub mod manifest;
pub mod store;
pub mod token;
pub mod util;
