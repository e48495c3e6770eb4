//! Integration tests over HTTP: a real axum server on 127.0.0.1 mounting the registry router
//! and an ECR API route, with a test `Host` that evaluates IAM policies with kagi-policy.
mod api;
mod common;
mod lifecycle;
mod registry;
mod s3;
mod skopeo;
