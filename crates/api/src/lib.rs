//! kagi-api: the one model of every AWS service botocore knows (439 in botocore 1.44.5) and the
//! wire codecs that turn request/response data into bytes and back. Both the client
//! (`kagi-cli`) and the server (`kagi-server`, `kagi-ecr`) use it, so they cannot drift apart.
//! Pure: no I/O, no clock.
//!
//! # What lives where
//!
//! * [`model`]: [`Service`], [`Operation`], [`Shape`] and the `.model` text format they are
//!   parsed from (documented there). `model/*.model` are transcriptions of botocore's
//!   `service-2.json`/`paginators-1.json` made by `tools/gen-model.py`, with the service table
//!   `model/catalog.txt` (compiled in as text with an integer index from `build.rs`: nothing to
//!   relocate at load, a service is built from its line when first named) and
//!   `model/endpoints.txt`; `tests/drift.rs` checks them against an installed botocore
//!   (`KAGI_COMPAT_VENV`). `build.rs` deflates the models into one blob (miniz_oxide); IAM,
//!   STS and ECR, which `kagi serve` speaks, and EC2 and S3 (the largest and the most used:
//!   see `text_model`) stay as text. A service's model is inflated and
//!   indexed on first use, and each shape decoded when first reached (see [`model`]'s
//!   "Decoding on demand"; `examples/model_load.rs` times it), then shared for the life of the
//!   process.
//! * [`endpoints`]: default endpoints by region and partition (botocore's `endpoints.json`).
//! * [`rest`]: the REST protocols, client side (rest-json, rest-xml: URI, query string,
//!   headers, payloads); [`xmlshape`]: shape-driven XML for query/EC2/rest-xml responses and
//!   rest-xml bodies (botocore's XML parser and serializer).
//! * [`query`]: AWS query protocol requests (every query service, and EC2's dialect): client
//!   [`query::encode`], server [`query::decode`] (with validation; IAM, STS).
//! * [`xml`]: query protocol responses and `ErrorResponse` errors, both directions.
//! * [`json11`]: AWS JSON 1.1 (ECR) requests, responses and errors, both directions.
//! * [`cbor`]: Smithy RPC v2 CBOR, client side (requests, responses, errors; ciborium's bytes).
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
//! * `tests/drift.rs`: the model equals botocore's, service by service (needs
//!   `KAGI_COMPAT_VENV`).
//! * `tests/protocols.rs`: botocore's own protocol test suites (query, ec2, rest-json,
//!   rest-xml, smithy-rpc-v2-cbor; inputs and outputs) through the codecs (needs `KAGI_BOTOCORE_SRC`).
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

pub mod cbor;
pub mod endpoints;
pub mod error;
pub mod eventstream;
pub mod json11;
pub mod model;
pub mod pattern;
pub mod query;
pub mod rest;
pub mod rules;
pub mod s3;
pub mod time;
pub mod validate;
pub mod xml;
pub mod xmlshape;

pub use error::ApiError;
pub use model::{
    Acceptor, ErrorShape, Member, Operation, Paginator, Protocol, Service, Shape, ShapeId,
    ShapeKind, Waiter, xform_name,
};
pub use time::Timestamp;

// The service table: `model/catalog.txt` (one tab-separated line per service, sorted by
// botocore's name; written by tools/gen-model.py), its index from build.rs (`MODEL_SPANS`,
// `LINE_STARTS`, `CLI_NAMES`) and the deflated models. All of it is text and integers: nothing
// to relocate at load, and a service is built from its line the first time it is named.
static CATALOG: &str = include_str!("../model/catalog.txt");
static MODELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/models.bin"));
include!(concat!(env!("OUT_DIR"), "/catalog_index.rs"));

const COUNT: usize = LINE_STARTS.len();
static CELLS: [std::sync::OnceLock<Service>; COUNT] = [const { std::sync::OnceLock::new() }; COUNT];
static ALL: std::sync::OnceLock<Vec<&'static Service>> = std::sync::OnceLock::new();

/// The models kept as text (build.rs leaves them out of `models.bin`: its `TEXT_MODELS`): the
/// services kagi serve speaks (the server indexes them at every start; the seed story's CLI
/// calls them), EC2's, the one model over 1 MB (1.25 MB of text, 187 KB deflated):
/// inflating it cost ~2 ms, more than the rest of an `ec2` command's own work, and S3's
/// (232 KB; inflating it was ~0.25 ms of every `s3` command's ~3.3 ms of CPU).
fn text_model(name: &str) -> Option<&'static str> {
    match name {
        "iam" => Some(include_str!("../model/iam.model")),
        "sts" => Some(include_str!("../model/sts.model")),
        "ecr" => Some(include_str!("../model/ecr.model")),
        "ec2" => Some(include_str!("../model/ec2.model")),
        "s3" => Some(include_str!("../model/s3.model")),
        _ => None,
    }
}

/// The `i`th service of the catalog, built from its line on first use.
fn nth(i: usize) -> &'static Service {
    CELLS[i].get_or_init(|| {
        let start = LINE_STARTS[i] as usize;
        let line = CATALOG[start..].split('\n').next().unwrap_or_default();
        let f: Vec<&'static str> = line.split('\t').collect();
        assert_eq!(f.len(), 13, "catalog line {i}: {line:?}");
        let protocol = match f[5] {
            "query" => Protocol::Query {
                version: f[6],
                xmlns: f[7],
            },
            "ec2" => Protocol::Ec2 {
                version: f[6],
                xmlns: f[7],
            },
            "json" => Protocol::Json11 {
                target_prefix: f[6],
                json_version: f[7],
            },
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml { xmlns: f[6] },
            "smithy-rpc-v2-cbor" => Protocol::Cbor {
                target_prefix: f[6],
            },
            other => panic!("catalog line {i}: protocol {other}"),
        };
        let source = match text_model(f[0]) {
            Some(text) => model::ModelSource::Text(text),
            None => {
                let (at, len, text_len) = MODEL_SPANS[i];
                model::ModelSource::Deflate(
                    &MODELS[at as usize..(at + len) as usize],
                    text_len as usize,
                )
            }
        };
        Service::generated(
            f[0],
            f[1],
            (f[2], f[3], f[4]),
            protocol,
            f[8],
            f[9],
            (!f[10].is_empty()).then_some((f[10], f[11])),
            f[12] == "1",
            source,
        )
    })
}

/// All services, sorted by botocore's service name (building them all: for listings and tests;
/// a command names one service with [`service`]).
pub fn services() -> &'static [&'static Service] {
    ALL.get_or_init(|| (0..COUNT).map(nth).collect())
}

/// The service with CLI name `cli_name` (`iam`, `sts`, `ecr`, `s3api`, `configservice`), or a
/// hidden alias of one (`runtime.sagemaker`).
pub fn service(cli_name: &str) -> Option<&'static Service> {
    // A server names the same few services on every request: remember what a name found
    // (the catalogue search below reads the whole table; found names only, so the map stays
    // as small as the set of services in use).
    static FOUND: std::sync::RwLock<Vec<(&'static str, &'static Service)>> =
        std::sync::RwLock::new(Vec::new());
    if let Ok(found) = FOUND.read()
        && let Some((_, s)) = found.iter().find(|(n, _)| *n == cli_name)
    {
        return Some(s);
    }
    let s = search(cli_name)?;
    if let Ok(mut found) = FOUND.write()
        && found.len() < 64
        && !found.iter().any(|(n, _)| *n == cli_name)
    {
        found.push((Box::leak(cli_name.to_owned().into_boxed_str()), s));
    }
    Some(s)
}

fn search(cli_name: &str) -> Option<&'static Service> {
    if cli_name.is_empty() || cli_name.contains(['\n', '\t']) {
        return None;
    }
    let alias = CATALOG
        .lines()
        .rev()
        .take_while(|l| l.starts_with("alias\t"))
        .find_map(|l| {
            let mut f = l.split('\t').skip(1);
            (f.next() == Some(cli_name)).then(|| f.next()).flatten()
        });
    let name = alias.unwrap_or(cli_name);
    let at = CLI_NAMES.find(&format!("\n{name}\n"))?;
    Some(nth(CLI_NAMES[..at].matches('\n').count()))
}

/// The service whose botocore name is `name` (`s3`, `config`).
pub fn service_by_name(name: &str) -> Option<&'static Service> {
    let i = LINE_STARTS
        .binary_search_by(|start| {
            let line = &CATALOG[*start as usize..];
            line[..line.find('\t').unwrap_or(0)].cmp(name)
        })
        .ok()?;
    Some(nth(i))
}

/// The service whose SigV4 signing name is `signing_name` (server side: from the credential
/// scope). Several services share some signing names; kagi serve only asks for the ones it
/// serves (`iam`, `sts`, `ecr`), which are looked at first.
pub fn service_by_signing_name(signing_name: &str) -> Option<&'static Service> {
    ["iam", "sts", "ecr"]
        .iter()
        .filter_map(|n| service(n))
        .find(|s| s.signing_name == signing_name)
        .or_else(|| {
            services()
                .iter()
                .copied()
                .find(|s| s.signing_name == signing_name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// build.rs's `TEXT_MODELS` and `text_model` name the same services.
    #[test]
    fn text_models_are_the_ones_build_rs_left_out() {
        for (i, &(_, packed, _)) in MODEL_SPANS.iter().enumerate() {
            let name = nth(i).name;
            assert_eq!(packed == 0, text_model(name).is_some(), "{name}");
        }
    }

    #[test]
    fn every_model_parses_and_is_consistent() {
        let mut ops = 0;
        for &svc in services() {
            assert!(!svc.operations().is_empty(), "{}", svc.cli_name);
            for op in svc.operations() {
                ops += 1;
                if let Some(s) = op.input_shape() {
                    assert_eq!(s.kind.type_name(), "structure");
                }
                if let Some(p) = &op.paginator {
                    let input = op.input_shape().unwrap();
                    let output = op.output_shape().unwrap();
                    for t in &p.input_tokens {
                        assert!(input.member(t).is_some(), "{}.{}", svc.name, op.name);
                    }
                    // An output token or result key may be a path (`imageScanFindings.findings`)
                    // or, rarely, an expression (`NextMarker || Contents[-1].Key`).
                    for k in p.output_tokens.iter().chain(&p.result_keys) {
                        let first = k.split(['.', ' ', '[']).next().unwrap_or(k);
                        assert!(
                            output.member(first).is_some(),
                            "{}.{}: {k}",
                            svc.name,
                            op.name
                        );
                    }
                }
                // (A JSON service that also lists the query protocol, as CloudWatch, keeps
                // its query result wrappers in the model.)
                if let Protocol::Query { .. } = svc.protocol {
                    assert_eq!(
                        op.result_wrapper.is_some(),
                        op.output.is_some(),
                        "{}",
                        op.name
                    );
                }
                if matches!(svc.protocol, Protocol::RestJson | Protocol::RestXml { .. }) {
                    assert!(op.request_uri.starts_with('/'), "{}", op.name);
                }
            }
        }
        // Every service of the pinned botocore (1.44.5 has 439): a regenerated model that lost
        // services fails here before it fails in a user's hands.
        assert!(services().len() >= 400, "{}", services().len());
        // The catalog, its index and the packed models line up: every service is found by
        // its CLI name and by its name, and its model is its own.
        for (i, &svc) in services().iter().enumerate() {
            assert!(
                std::ptr::eq(service(svc.cli_name).unwrap(), svc),
                "{}",
                svc.name
            );
            assert!(
                std::ptr::eq(service_by_name(svc.name).unwrap(), svc),
                "{}",
                svc.name
            );
            assert!(std::ptr::eq(nth(i), svc));
        }
        assert!(ops > 15_000, "{ops}");
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
        assert!(
            service("s3").is_none(),
            "s3 is the high-level command; s3api the API"
        );
        assert_eq!(service("s3api").unwrap().name, "s3");
        assert_eq!(service("configservice").unwrap().name, "config");
        assert_eq!(service("deploy").unwrap().name, "codedeploy");
        assert_eq!(
            service("runtime.sagemaker").unwrap().cli_name,
            "sagemaker-runtime"
        );
        assert_eq!(service_by_name("dynamodb").unwrap().cli_name, "dynamodb");
        let lambda = service("lambda").unwrap();
        assert_eq!(lambda.protocol, Protocol::RestJson);
        let get = lambda.operation("GetFunction").unwrap();
        assert_eq!(
            (get.http_method, get.request_uri),
            ("GET", "/2015-03-31/functions/{FunctionName}")
        );
        let name = get.input_shape().unwrap().member("FunctionName").unwrap();
        assert_eq!(
            (name.location, name.wire_name()),
            (Some("uri"), "FunctionName")
        );
        let qualifier = get.input_shape().unwrap().member("Qualifier").unwrap();
        assert_eq!(
            (qualifier.location, qualifier.wire_name()),
            (Some("querystring"), "Qualifier")
        );
        assert_eq!(
            lambda.operation("CreateFunction").unwrap().response_code,
            201
        );
        let ec2 = service("ec2").unwrap();
        assert!(matches!(ec2.protocol, Protocol::Ec2 { .. }));
        let tags = ec2.shape_by_name("TagList").unwrap();
        assert_eq!(tags.member_location_name, Some("item"));
        // Enum values with spaces and commas survive the `%XX` escapes.
        let case = service("security-ir")
            .unwrap()
            .shape_by_name("CaseStatus")
            .unwrap();
        assert!(
            case.enum_values
                .contains(&"Containment, Eradication and Recovery")
        );
        let sts = service("sts").unwrap();
        assert_eq!(
            sts.operation("AssumeRoleWithWebIdentity").unwrap().auth,
            Some("none")
        );
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
