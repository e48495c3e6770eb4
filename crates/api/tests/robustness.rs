//! Decoders face untrusted bytes (query, XML, JSON, CBOR) (the server decodes requests, the client decodes whatever an
//! endpoint sends): on any input they return a value or an `ApiError`, never panic.

use kagi_api::{json11, query, xml};
use proptest::prelude::*;

/// Form keys that look like the model's: member names, `.member.N`, `.entry.N.key`.
fn key() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "Action",
        "Version",
        "UserName",
        "Tags",
        "member",
        "entry",
        "key",
        "value",
        "Key",
        "Value",
        "MaxItems",
        "Marker",
        "ContextEntries",
        "ContextKeyValues",
        "PolicyArns",
        "DurationSeconds",
        "SerialNumber",
        "x",
        "",
        "0",
        "1",
        "2",
        "-1",
        "99999999999999999999",
    ]);
    prop::collection::vec(names, 1..6).prop_map(|parts| parts.join("."))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("CreateUser".to_string()),
        Just("SimulatePrincipalPolicy".to_string()),
        Just("AssumeRole".to_string()),
        Just("2010-05-08".to_string()),
        Just("2011-06-15".to_string()),
        "[0-9]{1,25}",
        ".{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn query_decode_never_panics(pairs in prop::collection::vec((key(), value()), 0..12)) {
        for svc in ["iam", "sts"] {
            let svc = kagi_api::service(svc).unwrap();
            let mut form = pairs.clone();
            form.push(("Action".into(), pairs.first().map(|p| p.1.clone()).unwrap_or_default()));
            let _ = query::decode(svc, &form);
        }
    }

    #[test]
    fn xml_decode_never_panics(body in ".{0,300}", tag in prop::sample::select(vec!["ListUsers", "GetUser", "AssumeRole"])) {
        let iam = kagi_api::service("iam").unwrap();
        let op = iam.operation(tag).or_else(|| iam.operation("ListUsers")).unwrap();
        let _ = xml::decode_response(iam, op, &body);
        let wrapped = format!("<{tag}Response><{tag}Result>{body}</{tag}Result></{tag}Response>");
        let _ = xml::decode_response(iam, op, &wrapped);
        let _ = xml::decode_error(&body);
    }

    #[test]
    fn json_decode_never_panics(body in prop::collection::vec(any::<u8>(), 0..200), json in "[\\[\\]{}\":,0-9a-zA-Z .-]{0,120}") {
        let ecr = kagi_api::service("ecr").unwrap();
        for op in ["CreateRepository", "PutImage", "BatchDeleteImage", "DescribeImages"] {
            let target = format!("AmazonEC2ContainerRegistry_V20150921.{op}");
            let _ = json11::decode_request(ecr, &target, &body);
            let _ = json11::decode_request(ecr, &target, json.as_bytes());
            let op = ecr.operation(op).unwrap();
            let _ = json11::decode_response(op, json.as_bytes());
        }
        let _ = json11::decode_error(&body);
        let _ = json11::decode_error(json.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// CBOR responses: arbitrary bytes, and well-formed CBOR of one operation's input read as
    /// every operation's output (wrong types, wrong shapes, nested all the way).
    #[test]
    fn cbor_decode_never_panics(body in prop::collection::vec(any::<u8>(), 0..200), v in arb_json()) {
        let svc = kagi_api::service("eventbridgev2").unwrap();
        let ops = svc.operations();
        let _ = kagi_api::cbor::decode_error(400, &body);
        for op in ops.iter().take(8) {
            let _ = kagi_api::cbor::decode_response(op, &body);
            let wrapped = serde_json::json!({"Name": v.clone(), "Tags": v.clone(), "EventBuses": [v.clone()]});
            let req = kagi_api::cbor::encode_request(op, &wrapped);
            for other in ops.iter().take(8) {
                let _ = kagi_api::cbor::decode_response(other, &req.body);
            }
            let _ = kagi_api::cbor::decode_error(500, &req.body);
        }
    }
}

/// Arbitrary JSON whose keys are often the model's member names.
fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,10}".prop_map(Value::String),
    ];
    let keys = prop::sample::select(vec![
        "repositoryName",
        "registryId",
        "imageIds",
        "imageTag",
        "imageDigest",
        "layerDigests",
        "imageManifest",
        "maxResults",
        "nextToken",
        "filter",
        "tagStatus",
        "tags",
        "Key",
        "Value",
        "layerPartBlob",
        "partFirstByte",
        "createdAt",
        "repositories",
        "x",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn json_values_never_panic(v in arb_json()) {
        let ecr = kagi_api::service("ecr").unwrap();
        let bytes = serde_json::to_vec(&v).unwrap();
        for op in ecr.operations() {
            let target = format!("AmazonEC2ContainerRegistry_V20150921.{}", op.name);
            let _ = json11::decode_request(ecr, &target, &bytes);
            let _ = json11::decode_response(op, &bytes);
            let _ = json11::encode_response(op, &v);
            let _ = json11::encode_request(ecr, op, &v);
        }
        let iam = kagi_api::service("iam").unwrap();
        for op in iam.operations().iter().take(40) {
            let _ = query::encode(op, iam, &v);
            let _ = xml::encode_response(iam, op, &v, "r");
        }
    }
}

#[test]
fn deep_xml_is_refused_not_overflowed() {
    let iam = kagi_api::service("iam").unwrap();
    let op = iam.operation("ListUsers").unwrap();
    let body = "<a>".repeat(200_000);
    assert!(xml::decode_response(iam, op, &body).is_err());
}

#[test]
fn wrongly_typed_json_is_a_serialization_error() {
    let ecr = kagi_api::service("ecr").unwrap();
    let t = "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage";
    for body in [
        r#"{"repositoryName":"a","imageIds":{"imageTag":"x"}}"#,
        r#"{"repositoryName":"a","imageIds":[5]}"#,
        r#"[]"#,
        r#""x""#,
    ] {
        let e = json11::decode_request(ecr, t, body.as_bytes()).unwrap_err();
        assert_eq!(e.code, "SerializationException", "{body}");
    }
}
