//! kagi-cli integration tests: one binary, one module per area.

mod cache_interop;
mod cbor;
mod cfn;
mod codeartifact;
mod common;
mod console;
mod customizations;
mod eks;
mod formats;
mod inprocess;
mod logs_live_tail;
mod logs_tail;
mod moto;
mod official;
mod paginators;
mod policy_generate;
mod profile_parser;
mod pty;
mod s3;
mod s3_arn;
mod s3_glacier;
mod seed;
mod serve;
mod services;
mod sso;
mod web_identity;
