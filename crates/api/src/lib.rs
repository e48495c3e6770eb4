//! kagi-api: the one model of the IAM, STS and ECR operations kagi speaks, and the wire codecs
//! that turn request/response data into bytes and back. Both the client (`kagi-cli`) and the
//! server (`kagi-server`, `kagi-ecr`) use it, so they cannot drift apart. Pure: no I/O, no clock.
//!
//! # What lives where
//!
//! * [`model`]: [`Service`], [`Operation`], [`Shape`] and the `.model` text format they are
//!   parsed from (documented there). `model/*.model` are transcriptions of botocore's
//!   `service-2.json`/`paginators-1.json` made by `tools/gen-model.py`; `tests/drift.rs` checks
//!   them against an installed botocore (`KAGI_COMPAT_VENV`). Every operation of the three
//!   services is modelled (`kagi serve` implements a subset). Each service's model is parsed on
//!   first use (release build: STS ≈ 0.05 ms, ECR ≈ 0.2 ms, IAM ≈ 0.3–0.5 ms; see
//!   `examples/model_load.rs`) and then shared for the life of the process.
//! * [`query`]: AWS query protocol requests (IAM, STS): client [`query::encode`], server
//!   [`query::decode`] (with validation).
//! * [`xml`]: query protocol responses and `ErrorResponse` errors, both directions.
//! * [`json11`]: AWS JSON 1.1 (ECR) requests, responses and errors, both directions.
//! * [`validate`]: AWS's server-side constraint checks and their exact wording;
//!   [`pattern`] is the small regex matcher for the models' `pattern` constraints.
//! * [`time`]: timestamp parsing and the wire/Value formats.
//! * [`ApiError`]: an AWS error (code, message, status, sender/receiver fault).
//!
//! # The Value convention
//!
//! Request and response data travel as [`serde_json::Value`] objects whose keys are the member
//! names of the operation's input or output shape exactly as in botocore (`UserName`,
//! `repositoryName`). The result wrapper (`CreateUserResult`) and `ResponseMetadata` are not
//! part of the Value. Inside a Value:
//!
//! | shape type | Value |
//! |---|---|
//! | structure | object (absent member = missing key; `null` is treated as absent) |
//! | list | array |
//! | map | object |
//! | string (enum too) | string |
//! | integer, long | integer number |
//! | double, float | number |
//! | boolean | bool |
//! | timestamp | string `2026-11-24T10:30:00+00:00` (UTC; `.ffffff` when sub-second), the AWS CLI v2 output form. Encoders also accept any ISO 8601 form or epoch seconds. |
//! | blob | base64 string |
//!
//! On the wire the codecs convert: XML/query timestamps are ISO 8601 `...Z`, JSON 1.1
//! timestamps are epoch seconds (a number). Decoders always produce the Value forms above, so
//! `decode(encode(v)) == v` for every well-formed `v` (checked by `tests/roundtrip.rs`).
//!
//! Objects keep the model's member order (serde_json's `preserve_order` is enabled here), so a
//! decoded response prints in the same key order as the AWS CLI prints it.
//!
//! # Tests
//!
//! * `tests/roundtrip.rs`: for every operation, generated Values (honouring required members,
//!   lengths, ranges, enums and patterns) survive encode → decode in each protocol.
//! * `tests/botocore_diff.rs`: our encoders produce exactly botocore's requests and botocore's
//!   parsers read our responses and errors into exactly our Values (needs `KAGI_COMPAT_VENV`).
//! * `tests/drift.rs`: the model equals botocore's (needs `KAGI_COMPAT_VENV`).
//! * `tests/golden.rs`: AWS documentation examples decode to what the AWS CLI prints.
//! * `tests/robustness.rs`: decoders never panic on arbitrary input.
//!
//! # Invariants
//!
//! * Every operation, member name, member type, required flag, result wrapper and paginator in
//!   the model is botocore's (drift test).
//! * Decoders never panic on untrusted input; a malformed request is an [`ApiError`] in AWS's
//!   shape (`ValidationError`, `SerializationException`, `InvalidAction`, ...).
//! * Shapes marked `sensitive` are never echoed in validation messages.

pub mod error;
pub mod json11;
pub mod model;
pub mod pattern;
pub mod query;
pub mod time;
pub mod validate;
pub mod xml;

pub use error::ApiError;
pub use model::{
    ErrorShape, Member, Operation, Paginator, Protocol, Service, Shape, ShapeId, ShapeKind,
    xform_name,
};
pub use time::Timestamp;

static SERVICES: [Service; 3] = [
    Service::new(
        (
            "iam",
            "IAM",
            "AWS Identity and Access Management",
            "2010-05-08",
        ),
        Protocol::Query {
            version: "2010-05-08",
            xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
        },
        "iam",
        "iam",
        Some(("us-east-1", "iam.amazonaws.com")),
        include_str!("../model/iam.model"),
    ),
    Service::new(
        ("sts", "STS", "AWS Security Token Service", "2011-06-15"),
        Protocol::Query {
            version: "2011-06-15",
            xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
        },
        "sts",
        "sts",
        None,
        include_str!("../model/sts.model"),
    ),
    Service::new(
        (
            "ecr",
            "ECR",
            "Amazon Elastic Container Registry",
            "2015-09-21",
        ),
        Protocol::Json11 {
            target_prefix: "AmazonEC2ContainerRegistry_V20150921",
            json_version: "1.1",
        },
        "ecr",
        "api.ecr",
        None,
        include_str!("../model/ecr.model"),
    ),
];

/// All services, in a fixed order (iam, sts, ecr).
pub fn services() -> &'static [Service] {
    &SERVICES
}

/// The service with CLI name `cli_name` (`iam`, `sts`, `ecr`).
pub fn service(cli_name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.cli_name == cli_name)
}

/// The service whose SigV4 signing name is `signing_name` (server side: from the credential
/// scope).
pub fn service_by_signing_name(signing_name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.signing_name == signing_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_parses_and_is_consistent() {
        for svc in services() {
            assert!(!svc.operations().is_empty(), "{}", svc.cli_name);
            for op in svc.operations() {
                assert!(!op.documentation.is_empty(), "{} has no doc", op.name);
                if let Some(s) = op.input_shape() {
                    assert_eq!(s.kind.type_name(), "structure");
                }
                if let Some(p) = &op.paginator {
                    let input = op.input_shape().unwrap();
                    let output = op.output_shape().unwrap();
                    assert!(input.member(p.input_token).is_some(), "{}", op.name);
                    assert!(output.member(p.output_token).is_some(), "{}", op.name);
                    for k in &p.result_keys {
                        // A result key may be a path (`imageScanFindings.findings`).
                        let first = k.split('.').next().unwrap_or(k);
                        assert!(output.member(first).is_some(), "{}: {k}", op.name);
                    }
                }
                match svc.protocol {
                    Protocol::Query { .. } => assert_eq!(
                        op.result_wrapper.is_some(),
                        op.output.is_some(),
                        "{}",
                        op.name
                    ),
                    Protocol::Json11 { .. } => assert!(op.result_wrapper.is_none()),
                }
            }
        }
    }

    #[test]
    fn lookups() {
        let iam = service("iam").unwrap();
        assert_eq!(iam.global_region, Some("us-east-1"));
        let op = iam.operation_by_cli_name("list-mfa-devices").unwrap();
        assert_eq!(op.name, "ListMFADevices");
        assert_eq!(op.service().cli_name, "iam");
        let p = iam
            .operation("ListUsers")
            .unwrap()
            .paginator
            .clone()
            .unwrap();
        assert_eq!(
            (p.input_token, p.output_token, p.limit_key, p.more_results),
            ("Marker", "Marker", Some("MaxItems"), Some("IsTruncated"))
        );
        assert_eq!(p.result_keys, vec!["Users"]);
        let ecr = service("ecr").unwrap();
        let p = ecr
            .operation("ListImages")
            .unwrap()
            .paginator
            .clone()
            .unwrap();
        assert_eq!(
            (p.input_token, p.limit_key),
            ("nextToken", Some("maxResults"))
        );
        let e = iam.error_by_code("NoSuchEntity").unwrap();
        assert_eq!((e.status, e.sender_fault), (404, true));
        assert_eq!(service_by_signing_name("ecr").unwrap().cli_name, "ecr");
        assert!(service("s3").is_none());
        let create = iam.operation("CreateUser").unwrap().input_shape().unwrap();
        assert_eq!(
            create.member("UserName").unwrap().documentation,
            "The name of the user to create."
        );
        let secret = iam
            .shape_by_name("accessKeySecretType")
            .expect("secret shape");
        assert!(secret.sensitive);
    }
}
