//! kagi-cli integration tests: one binary, one module per area.

mod common;
mod inprocess;
mod profile_parser;
