//! Rough per-call cost of the server-side codec paths (decode + validate + encode), to keep the
//! protocol layer far below the server's per-request budget.
//! `cargo run --release -p kagi-api --example codec_bench`
use std::hint::black_box;
use std::time::Instant;

use kagi_api::{json11, query, xml};
use serde_json::json;

fn time(label: &str, n: u32, mut f: impl FnMut()) {
    f();
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{label}: {:?} per call", t.elapsed() / n);
}

fn main() {
    let sts = kagi_api::service("sts").unwrap();
    let iam = kagi_api::service("iam").unwrap();
    let ecr = kagi_api::service("ecr").unwrap();
    let gci = query::parse_form(b"Action=GetCallerIdentity&Version=2011-06-15");
    let gci_out = json!({"UserId": "AIDAEXAMPLEEXAMPLE123", "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:user/alice"});
    time("sts GetCallerIdentity decode+encode", 200_000, || {
        let (op, _) = query::decode(sts, black_box(&gci)).unwrap();
        black_box(xml::encode_response(
            sts,
            op,
            &gci_out,
            "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
        ));
    });
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let body = form_body(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/deploy"),
        ("RoleSessionName", "ci-run-42"),
        ("DurationSeconds", "3600"),
        ("Policy", policy),
    ]);
    time("sts AssumeRole parse_form+decode", 200_000, || {
        black_box(query::decode(sts, black_box(&query::parse_form(body.as_bytes()))).unwrap());
    });
    let users: Vec<_> = (0..100)
        .map(|i| json!({"Path": "/", "UserName": format!("user{i}"), "UserId": "AIDAEXAMPLEEXAMPLE123",
            "Arn": format!("arn:aws:iam::123456789012:user/user{i}"), "CreateDate": "2026-11-24T10:30:00+00:00"}))
        .collect();
    let lu = iam.operation("ListUsers").unwrap();
    let out = json!({"Users": users, "IsTruncated": false});
    time("iam ListUsers(100) encode", 20_000, || {
        black_box(xml::encode_response(iam, lu, black_box(&out), "r"));
    });
    let doc = xml::encode_response(iam, lu, &out, "r");
    time("iam ListUsers(100) decode", 20_000, || {
        black_box(xml::decode_response(iam, lu, black_box(&doc)).unwrap());
    });
    let target = "AmazonEC2ContainerRegistry_V20150921.BatchCheckLayerAvailability";
    let req = br#"{"repositoryName":"team/app","layerDigests":["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]}"#;
    time("ecr BatchCheckLayerAvailability decode", 200_000, || {
        black_box(json11::decode_request(ecr, target, black_box(req)).unwrap());
    });
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}
