//! Differential test against botocore itself (the AWS CLI's engine), from the venv named by
//! `KAGI_COMPAT_VENV`: for generated inputs and outputs of every operation,
//! * our query encoding equals botocore's `QuerySerializer` (same pairs, same values);
//! * our JSON 1.1 request equals botocore's `JSONSerializer` (target header and body);
//! * botocore's parsers read our XML and JSON responses into exactly the Value we started
//!   from, rendered as the AWS CLI renders it (datetimes `isoformat()`, blobs base64), once
//!   the percent-encoded policy documents are unquoted as botocore's `json_decode_policies`
//!   does (with botocore's own traversal of the output shape).
//!
//! So a response from `kagi serve` reads the same in the official CLI, and a request from the
//! kagi CLI is byte-for-byte what the official CLI would send. Without the variable the test
//! checks nothing and says so (and fails under `CI`).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::arb_value;
use kagi_api::{Protocol, json11, query, xml};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

const PYTHON: &str = r#"
import sys, json, base64, datetime
import botocore.session
from urllib.parse import unquote
from botocore import serialize, parsers, handlers
handlers.decode_quoted_jsondoc = unquote

session = botocore.session.get_session()
models = {}

def model(name):
    if name not in models:
        models[name] = session.get_service_model(name)
    return models[name]

def to_params(shape, v):
    if v is None:
        return None
    t = shape.type_name
    if t == 'structure':
        return {k: to_params(shape.members[k], x) for k, x in v.items()}
    if t == 'list':
        return [to_params(shape.member, x) for x in v]
    if t == 'map':
        return {k: to_params(shape.value, x) for k, x in v.items()}
    if t == 'blob':
        return base64.b64decode(v)
    return v

def to_cli(v):
    if isinstance(v, dict):
        return {k: to_cli(x) for k, x in v.items() if k != 'ResponseMetadata'}
    if isinstance(v, list):
        return [to_cli(x) for x in v]
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    return v

out = []
for case in json.load(sys.stdin):
    op = model(case['service']).operation_model(case['op'])
    kind = case['kind']
    if kind == 'query_input':
        req = serialize.create_serializer('query').serialize_to_request(
            to_params(op.input_shape, case['value']), op)
        out.append({k: str(v) for k, v in req['body'].items()})
    elif kind == 'json_input':
        req = serialize.create_serializer('json').serialize_to_request(
            to_params(op.input_shape, case['value']), op)
        body = req['body']
        out.append({'target': req['headers']['X-Amz-Target'],
                    'body': json.loads(body) if body else {}})
    elif kind in ('xml_error', 'json_error'):
        protocol = 'query' if kind == 'xml_error' else 'json'
        parsed = parsers.create_parser(protocol).parse(
            {'body': case['body'].encode(), 'status_code': case['status'], 'headers': {}},
            op.output_shape)
        err = parsed.get('Error', {})
        out.append({'code': err.get('Code'), 'message': err.get('Message')})
    else:
        protocol = 'query' if kind == 'xml_output' else 'json'
        parsed = parsers.create_parser(protocol).parse(
            {'body': case['body'].encode(), 'status_code': 200, 'headers': {}},
            op.output_shape)
        if protocol == 'query' and op.output_shape is not None:
            # Policy documents are percent-encoded on the wire; kagi's decoder unquotes them as
            # botocore's json_decode_policies does, walking the shapes with botocore's own
            # traversal (its json.loads step is the CLI's, checked elsewhere).
            handlers._decode_policy_types(parsed, op.output_shape)
        out.append(to_cli(parsed))
print(json.dumps(out))
"#;

fn botocore(venv: &str, cases: &[Value]) -> Vec<Value> {
    let python = Path::new(venv).join("bin").join("python");
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let input = serde_json::to_vec(cases).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "botocore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("botocore output is JSON")
}

#[test]
fn codecs_agree_with_botocore() {
    let Ok(venv) = std::env::var("KAGI_COMPAT_VENV") else {
        println!("botocore differential test: KAGI_COMPAT_VENV is not set, so nothing was checked");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but KAGI_COMPAT_VENV is not: the botocore differential test must run in CI"
        );
        return;
    };
    // Deterministic generation: a failure reproduces.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let per_op = 6;
    let mut cases = Vec::new();
    // What we expect botocore to produce, case by case.
    let mut ours = Vec::new();
    for svc in common::served_services() {
        let query = matches!(svc.protocol, Protocol::Query { .. });
        for op in svc.operations() {
            for _ in 0..per_op {
                if let Some(input) = op.input {
                    let v = arb_value(svc, input, 0)
                        .new_tree(&mut runner)
                        .unwrap()
                        .current();
                    if query {
                        let pairs: serde_json::Map<String, Value> =
                            query::encode_pairs(op, svc, &v)
                                .into_iter()
                                .map(|(k, v)| (k, Value::String(v)))
                                .collect();
                        cases.push(json!({"service": svc.cli_name, "op": op.name, "kind": "query_input", "value": v}));
                        ours.push(Value::Object(pairs));
                    } else {
                        let (target, body) = json11::encode_request(svc, op, &v);
                        cases.push(json!({"service": svc.cli_name, "op": op.name, "kind": "json_input", "value": v}));
                        ours.push(json!({"target": target, "body": serde_json::from_slice::<Value>(&body).unwrap()}));
                    }
                }
                if let Some(output) = op.output {
                    let v = arb_value(svc, output, 0)
                        .new_tree(&mut runner)
                        .unwrap()
                        .current();
                    let (kind, body) = if query {
                        ("xml_output", xml::encode_response(svc, op, &v, "req-1"))
                    } else {
                        (
                            "json_output",
                            String::from_utf8(json11::encode_response(op, &v)).unwrap(),
                        )
                    };
                    cases.push(
                        json!({"service": svc.cli_name, "op": op.name, "kind": kind, "body": body}),
                    );
                    ours.push(v);
                }
            }
        }
    }
    // Errors: botocore reads our error bodies' code and message.
    let errors = [
        kagi_api::ApiError::no_such_entity("The user with name nobody cannot be found."),
        kagi_api::ApiError::access_denied(
            "User: arn:aws:iam::123456789012:user/x is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action",
        ),
        kagi_api::ApiError::validation(
            "1 validation error detected: Value '<&>' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ),
        kagi_api::ApiError::service_failure("boom"),
    ];
    for err in &errors {
        for svc in common::served_services() {
            let op = &svc.operations()[0];
            let (kind, body) = match svc.protocol {
                Protocol::Query { .. } => ("xml_error", xml::encode_error(svc, err, "req-1")),
                _ => (
                    "json_error",
                    String::from_utf8(json11::encode_error(err)).unwrap(),
                ),
            };
            cases.push(json!({"service": svc.cli_name, "op": op.name, "kind": kind, "body": body, "status": err.status}));
            ours.push(json!({"code": err.code, "message": err.message}));
        }
    }
    let theirs = botocore(&venv, &cases);
    assert_eq!(theirs.len(), cases.len());
    let mut problems = Vec::new();
    for ((case, ours), theirs) in cases.iter().zip(&ours).zip(&theirs) {
        // Compare as text so that member order counts too (what the CLI prints).
        let (a, b) = (ours.to_string(), theirs.to_string());
        let same = if case["kind"] == "query_input" {
            // botocore keeps the caller's key order; compare the pairs as a set.
            ours == theirs
        } else {
            a == b
        };
        if !same {
            problems.push(format!(
                "{}.{} {}:\n  kagi:     {a}\n  botocore: {b}",
                case["service"], case["op"], case["kind"]
            ));
        }
    }
    println!(
        "botocore differential test: {} cases, {} differences",
        cases.len(),
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} of {} cases differ from botocore:\n{}",
        problems.len(),
        cases.len(),
        problems
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
