//! Model drift test: every operation, shape, member, type, required flag, constraint, result
//! wrapper, paginator and error in kagi-api's model must equal botocore's.
//!
//! botocore comes from the venv named by `KAGI_COMPAT_VENV` (set by `scripts/test`); its own
//! loader reads the models, so compressed (`.json.gz`) data files work too. Without the variable
//! the test checks nothing and says so; under `CI` that is a failure.

use std::path::Path;
use std::process::Command;

use kagi_api::{Protocol, Service, ShapeKind};
use serde_json::Value;

const LOADER: &str = r#"
import json, sys, botocore, botocore.loaders, botocore.exceptions, botocore.utils
from botocore.model import ServiceModel
l = botocore.loaders.Loader()
out = {"version": botocore.__version__, "services": {},
       "available": l.list_available_services("service-2"),
       "endpoints": l.load_data("endpoints")}
def pages(name):
    try:
        return l.load_service_model(name, "paginators-1").get("pagination", {})
    except botocore.exceptions.UnknownServiceError:  # a service without paginators
        return {}
def waiters(name):
    try:
        return l.load_service_model(name, "waiters-2").get("waiters", {})
    except botocore.exceptions.DataNotFoundError:  # a service without waiters
        return {}
for name in sys.argv[1:]:
    svc = l.load_service_model(name, "service-2")
    svc["metadata"]["resolved_protocol"] = ServiceModel(svc, name).resolved_protocol
    # What AWS_ENDPOINT_URL_<SERVICE> and the services section call it (configprovider.py).
    svc["metadata"]["snake_id"] = botocore.utils.CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES.get(
        botocore.utils.SERVICE_NAME_ALIASES.get(name, name), name).replace("-", "_")
    for op in svc["operations"].values():
        op.pop("documentation", None)
    for s in svc["shapes"].values():
        s.pop("documentation", None)
        for m in s.get("members", {}).values():
            m.pop("documentation", None)
    names = set(svc["operations"])
    for s in svc["shapes"].values():
        names.update(s.get("members", {}))
    out["services"][name] = {
        "service": svc,
        "paginators": pages(name),
        "waiters": waiters(name),
        "xform": {n: botocore.xform_name(n, "-") for n in names},
        "order": {k: list(s.get("members", {})) for k, s in svc["shapes"].items()},
    }
print(json.dumps(out))
"#;

fn load(venv: &str) -> Value {
    let mut python = Path::new(venv).join("bin").join("python");
    if !python.exists() {
        python = Path::new(venv).join("Scripts").join("python.exe");
    }
    let out = Command::new(&python)
        .arg("-c")
        .arg(LOADER)
        .args(kagi_api::services().iter().map(|s| s.name))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "botocore loader failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("loader output is JSON")
}

struct Checker {
    problems: Vec<String>,
}

impl Checker {
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: String, ours: T, theirs: T) {
        if ours != theirs {
            self.problems.push(format!(
                "{what}: kagi has {ours:?}, botocore has {theirs:?}"
            ));
        }
    }
}

fn str_of(v: &Value) -> Option<&str> {
    v.as_str()
}

/// botocore's partition endpoint of a service that is not regionalized in the aws partition
/// (IAM: `iam.amazonaws.com`, signed for `us-east-1`).
fn global_endpoint(endpoints: &Value, prefix: &str) -> Option<(String, String)> {
    let aws = &endpoints["partitions"][0];
    let s = &aws["services"][prefix];
    if s["isRegionalized"].as_bool() != Some(false) {
        return None;
    }
    let pe = s["partitionEndpoint"].as_str()?;
    let ep = &s["endpoints"][pe];
    let region = ep["credentialScope"]["region"]
        .as_str()
        .unwrap_or("us-east-1")
        .to_string();
    let host = match ep["hostname"].as_str() {
        Some(h) => h.to_string(),
        None => format!("{prefix}.{pe}.{}", aws["dnsSuffix"].as_str()?),
    };
    Some((region, host))
}

fn opt_str(v: &Value) -> Option<&str> {
    v.as_str()
}

fn flag(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

fn check_service(c: &mut Checker, svc: &'static Service, data: &Value, endpoints: &Value) {
    let name = svc.name;
    let model = &data["service"];
    let meta = &model["metadata"];
    c.eq(
        format!("{name} apiVersion"),
        Some(svc.api_version),
        str_of(&meta["apiVersion"]),
    );
    c.eq(
        format!("{name} serviceId"),
        Some(svc.service_id),
        str_of(&meta["serviceId"]),
    );
    c.eq(
        format!("{name} serviceFullName"),
        Some(svc.full_name),
        str_of(&meta["serviceFullName"]),
    );
    c.eq(
        format!("{name} endpointPrefix"),
        Some(svc.endpoint_prefix),
        str_of(&meta["endpointPrefix"]),
    );
    c.eq(
        format!("{name} signingName"),
        Some(svc.signing_name),
        str_of(&meta["signingName"]).or(str_of(&meta["endpointPrefix"])),
    );
    // STS keeps its regional endpoints (src/endpoints.rs); every other service that is not
    // regionalized has botocore's partition endpoint.
    let global = if name == "sts" {
        None
    } else {
        global_endpoint(endpoints, svc.endpoint_prefix)
    };
    c.eq(
        format!("{name} global endpoint"),
        svc.global_endpoint.zip(svc.global_region),
        global.as_ref().map(|(r, h)| (h.as_str(), r.as_str())),
    );
    c.eq(
        format!("{name} protocol"),
        Some(svc.protocol.name()),
        str_of(&meta["resolved_protocol"]),
    );
    // kagi-cli names the endpoint variable and the services-section key after the service id
    // (`Secrets Manager` → `secrets_manager`); botocore after the client name and its
    // overrides. They must agree for every service.
    c.eq(
        format!("{name} endpoint config key"),
        Some(svc.service_id.replace([' ', '-'], "_").to_ascii_lowercase()),
        str_of(&meta["snake_id"]).map(str::to_string),
    );
    c.eq(
        format!("{name} awsQueryCompatible"),
        svc.aws_query_compatible,
        !meta["awsQueryCompatible"].is_null(),
    );
    match svc.protocol {
        Protocol::Query { version, xmlns } => {
            c.eq(
                format!("{name} version"),
                Some(version),
                str_of(&meta["apiVersion"]),
            );
            c.eq(
                format!("{name} xmlns"),
                Some(xmlns),
                str_of(&meta["xmlNamespace"]),
            );
        }
        Protocol::Json11 {
            target_prefix,
            json_version,
        } => {
            c.eq(
                format!("{name} targetPrefix"),
                Some(target_prefix),
                str_of(&meta["targetPrefix"]),
            );
            c.eq(
                format!("{name} jsonVersion"),
                Some(json_version),
                str_of(&meta["jsonVersion"]).or(Some("1.0")),
            );
        }
        Protocol::Ec2 { version, xmlns } => {
            c.eq(
                format!("{name} version"),
                Some(version),
                str_of(&meta["apiVersion"]),
            );
            c.eq(
                format!("{name} xmlns"),
                Some(xmlns),
                str_of(&meta["xmlNamespace"]),
            );
        }
        Protocol::RestXml { xmlns } => c.eq(
            format!("{name} xmlns"),
            xmlns,
            str_of(&meta["xmlNamespace"]["uri"])
                .or(str_of(&meta["xmlNamespace"]))
                .unwrap_or(""),
        ),
        Protocol::Cbor { target_prefix } => c.eq(
            format!("{name} targetPrefix"),
            target_prefix,
            str_of(&meta["targetPrefix"]).unwrap_or(""),
        ),
        Protocol::RestJson => {}
    }

    let shapes = &model["shapes"];
    let xform = &data["xform"];
    for op in svc.operations() {
        let what = format!("{name}.{}", op.name);
        let theirs = &model["operations"][op.name];
        if theirs.is_null() {
            c.problems.push(format!("{what}: not in botocore"));
            continue;
        }
        c.eq(
            format!("{what} cli name"),
            Some(op.cli_name()),
            str_of(&xform[op.name]),
        );
        c.eq(
            format!("{what} input"),
            op.input_shape().map(|s| s.name),
            str_of(&theirs["input"]["shape"]),
        );
        c.eq(
            format!("{what} output"),
            op.output_shape().map(|s| s.name),
            str_of(&theirs["output"]["shape"]),
        );
        c.eq(
            format!("{what} resultWrapper"),
            op.result_wrapper,
            str_of(&theirs["output"]["resultWrapper"]),
        );
        c.eq(
            format!("{what} http"),
            (op.http_method, op.request_uri, op.response_code as u64),
            (
                str_of(&theirs["http"]["method"]).unwrap_or("POST"),
                str_of(&theirs["http"]["requestUri"]).unwrap_or("/"),
                theirs["http"]["responseCode"].as_u64().unwrap_or(200),
            ),
        );
        c.eq(
            format!("{what} input locationName/xmlNamespace"),
            (op.input_location_name, op.input_xml_namespace),
            (
                str_of(&theirs["input"]["locationName"]),
                str_of(&theirs["input"]["xmlNamespace"]["uri"]),
            ),
        );
        c.eq(
            format!("{what} hostPrefix"),
            op.host_prefix,
            str_of(&theirs["endpoint"]["hostPrefix"]),
        );
        let no_auth = theirs["authtype"] == "none"
            || theirs["auth"] == serde_json::json!(["smithy.api#noAuth"]);
        let unsigned_body =
            theirs["authtype"] == "v4-unsigned-body" || flag(&theirs["unsignedPayload"]);
        c.eq(
            format!("{what} auth"),
            op.auth,
            if no_auth {
                Some("none")
            } else if unsigned_body {
                Some("v4-unsigned-body")
            } else {
                None
            },
        );
        c.eq(
            format!("{what} checksum required"),
            op.checksum_required,
            flag(&theirs["httpChecksumRequired"])
                || flag(&theirs["httpChecksum"]["requestChecksumRequired"]),
        );
        c.eq(
            format!("{what} checksum algorithm member"),
            op.checksum_algorithm_member,
            str_of(&theirs["httpChecksum"]["requestAlgorithmMember"]),
        );
        c.eq(
            format!("{what} checksum mode member"),
            op.checksum_mode_member,
            str_of(&theirs["httpChecksum"]["requestValidationModeMember"]),
        );
        // Waiters: every botocore waiter of this operation, acceptor by acceptor.
        let mut theirs_waiters: Vec<String> = Vec::new();
        for (wname, w) in data["waiters"].as_object().into_iter().flatten() {
            if w["operation"] != op.name {
                continue;
            }
            theirs_waiters.push(format!("{wname} {} {}", w["delay"], w["maxAttempts"]));
            for a in w["acceptors"].as_array().into_iter().flatten() {
                theirs_waiters.push(format!(
                    "{} {} {} {:?}",
                    a["state"].as_str().unwrap_or_default(),
                    a["matcher"].as_str().unwrap_or_default(),
                    a["expected"],
                    a["argument"].as_str()
                ));
            }
        }
        let mut ours_waiters: Vec<String> = Vec::new();
        for w in &op.waiters {
            ours_waiters.push(format!("{} {} {}", w.name, w.delay, w.max_attempts));
            for a in &w.acceptors {
                let expected: Value = serde_json::from_str(a.expected).unwrap_or(Value::Null);
                ours_waiters.push(format!(
                    "{} {} {} {:?}",
                    a.state, a.matcher, expected, a.argument
                ));
            }
        }
        c.eq(format!("{what} waiters"), ours_waiters, theirs_waiters);
        for e in theirs["errors"].as_array().into_iter().flatten() {
            let ename = e["shape"].as_str().unwrap_or_default();
            if !svc.errors().iter().any(|x| x.shape == ename) {
                c.problems.push(format!("{what}: error {ename} missing"));
            }
        }
        let pag = &data["paginators"][op.name];
        match (&op.paginator, pag.is_null()) {
            (None, true) => {}
            (None, false) => c.problems.push(format!("{what}: paginator missing")),
            (Some(_), true) => c
                .problems
                .push(format!("{what}: paginator not in botocore")),
            (Some(p), false) => {
                let strings = |v: &Value| -> Vec<String> {
                    match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(a) => a
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                        _ => vec![],
                    }
                };
                c.eq(
                    format!("{what} input_token"),
                    p.input_tokens.iter().map(|t| t.to_string()).collect(),
                    strings(&pag["input_token"]),
                );
                c.eq(
                    format!("{what} output_token"),
                    p.output_tokens.iter().map(|t| t.to_string()).collect(),
                    strings(&pag["output_token"]),
                );
                c.eq(
                    format!("{what} limit_key"),
                    p.limit_key,
                    str_of(&pag["limit_key"]),
                );
                c.eq(
                    format!("{what} more_results"),
                    p.more_results,
                    str_of(&pag["more_results"]),
                );
                let keys: Vec<&str> = match &pag["result_key"] {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                c.eq(format!("{what} result_keys"), p.result_keys.clone(), keys);
                let non_aggregate: Vec<&str> = pag["non_aggregate_keys"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                c.eq(
                    format!("{what} non_aggregate_keys"),
                    p.non_aggregate_keys.clone(),
                    non_aggregate,
                );
            }
        }
    }

    for shape in svc.shapes() {
        let what = format!("{name} shape {}", shape.name);
        let theirs = &shapes[shape.name];
        if theirs.is_null() {
            c.problems.push(format!("{what}: not in botocore"));
            continue;
        }
        c.eq(
            format!("{what} type"),
            Some(shape.kind.type_name()),
            str_of(&theirs["type"]),
        );
        c.eq(format!("{what} min"), shape.min, theirs["min"].as_i64());
        c.eq(format!("{what} max"), shape.max, theirs["max"].as_i64());
        c.eq(
            format!("{what} pattern"),
            shape.pattern,
            str_of(&theirs["pattern"]),
        );
        c.eq(
            format!("{what} union"),
            shape.union,
            theirs["union"].as_bool().unwrap_or(false),
        );
        c.eq(
            format!("{what} sensitive"),
            shape.sensitive,
            theirs["sensitive"].as_bool().unwrap_or(false),
        );
        let enums: Vec<&str> = theirs["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        c.eq(format!("{what} enum"), shape.enum_values.clone(), enums);
        let fbound = |v: &Value| if v.is_i64() { None } else { v.as_f64() };
        c.eq(format!("{what} fmin"), shape.fmin, fbound(&theirs["min"]));
        c.eq(format!("{what} fmax"), shape.fmax, fbound(&theirs["max"]));
        c.eq(
            format!("{what} traits"),
            (
                shape.document,
                shape.flattened,
                shape.streaming,
                shape.eventstream,
                shape.event,
                shape.requires_length,
            ),
            (
                flag(&theirs["document"]),
                flag(&theirs["flattened"]),
                flag(&theirs["streaming"]),
                flag(&theirs["eventstream"]),
                flag(&theirs["event"]),
                flag(&theirs["requiresLength"]),
            ),
        );
        c.eq(
            format!("{what} payload"),
            shape.payload,
            opt_str(&theirs["payload"]),
        );
        c.eq(
            format!("{what} timestampFormat"),
            shape.timestamp_format,
            opt_str(&theirs["timestampFormat"]),
        );
        c.eq(
            format!("{what} locationName"),
            shape.location_name,
            opt_str(&theirs["locationName"]),
        );
        c.eq(
            format!("{what} xmlNamespace"),
            shape.xml_namespace,
            opt_str(&theirs["xmlNamespace"]["uri"]),
        );
        c.eq(
            format!("{what} member/key/value locationName"),
            (
                shape.member_location_name,
                shape.key_location_name,
                shape.value_location_name,
                shape.member_json_value,
            ),
            (
                opt_str(&theirs["member"]["locationName"]),
                opt_str(&theirs["key"]["locationName"]),
                opt_str(&theirs["value"]["locationName"]),
                flag(&theirs["member"]["jsonvalue"]),
            ),
        );
        match &shape.kind {
            ShapeKind::Structure { members } => {
                let their_members = theirs["members"].as_object();
                // Explicit order list: the comparison must not depend on serde_json's map order.
                let their_names: Vec<&str> = data["order"][shape.name]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let our_names: Vec<&str> = members.iter().map(|m| m.name).collect();
                c.eq(format!("{what} members"), our_names, their_names);
                let required: Vec<&str> = theirs["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for m in members {
                    let mwhat = format!("{what}.{}", m.name);
                    c.eq(
                        format!("{mwhat} shape"),
                        Some(svc.shape(m.shape).name),
                        their_members
                            .and_then(|tm| tm.get(m.name))
                            .and_then(|v| v["shape"].as_str()),
                    );
                    let tm = their_members
                        .and_then(|tm| tm.get(m.name))
                        .unwrap_or(&Value::Null);
                    c.eq(
                        format!("{mwhat} location"),
                        (m.location, m.location_name, m.query_name),
                        (
                            opt_str(&tm["location"]),
                            opt_str(&tm["locationName"]),
                            opt_str(&tm["queryName"]),
                        ),
                    );
                    c.eq(
                        format!("{mwhat} traits"),
                        (
                            m.idempotency_token,
                            m.host_label,
                            m.json_value,
                            m.xml_attribute,
                            m.flattened,
                            m.event_payload,
                            m.streaming,
                        ),
                        (
                            flag(&tm["idempotencyToken"]),
                            flag(&tm["hostLabel"]),
                            flag(&tm["jsonvalue"]),
                            flag(&tm["xmlAttribute"]),
                            flag(&tm["flattened"]),
                            flag(&tm["eventpayload"]),
                            flag(&tm["streaming"]),
                        ),
                    );
                    c.eq(
                        format!("{mwhat} xmlNamespace"),
                        (m.xml_namespace, m.xml_namespace_prefix),
                        (
                            opt_str(&tm["xmlNamespace"]["uri"]),
                            opt_str(&tm["xmlNamespace"]["prefix"]),
                        ),
                    );
                    c.eq(
                        format!("{mwhat} required"),
                        m.required,
                        required.contains(&m.name),
                    );
                    c.eq(
                        format!("{mwhat} cli name"),
                        Some(kagi_api::xform_name(m.name, '-')),
                        str_of(&xform[m.name]).map(str::to_string),
                    );
                }
            }
            ShapeKind::List { member } => c.eq(
                format!("{what} member"),
                Some(svc.shape(*member).name),
                str_of(&theirs["member"]["shape"]),
            ),
            ShapeKind::Map { key, value } => {
                c.eq(
                    format!("{what} key"),
                    Some(svc.shape(*key).name),
                    str_of(&theirs["key"]["shape"]),
                );
                c.eq(
                    format!("{what} value"),
                    Some(svc.shape(*value).name),
                    str_of(&theirs["value"]["shape"]),
                );
            }
            _ => {}
        }
    }

    for e in svc.errors() {
        let what = format!("{name} error {}", e.shape);
        let theirs = &shapes[e.shape];
        if theirs.is_null() {
            c.problems.push(format!("{what}: not in botocore"));
            continue;
        }
        let err = &theirs["error"];
        let fault = theirs["fault"].as_bool().unwrap_or(false);
        c.eq(
            format!("{what} code"),
            e.code,
            err["code"].as_str().unwrap_or(e.shape),
        );
        c.eq(
            format!("{what} status"),
            e.status as u64,
            err["httpStatusCode"]
                .as_u64()
                .unwrap_or(if fault { 500 } else { 400 }),
        );
        c.eq(
            format!("{what} senderFault"),
            e.sender_fault,
            err["senderFault"]
                .as_bool()
                .unwrap_or(err.is_null() && !fault),
        );
    }
}

#[test]
fn model_matches_botocore() {
    let Ok(venv) = std::env::var("KAGI_COMPAT_VENV") else {
        println!("model drift test: KAGI_COMPAT_VENV is not set, so nothing was checked");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but KAGI_COMPAT_VENV is not: the model drift test must run in CI"
        );
        return;
    };
    let data = load(&venv);
    let mut c = Checker {
        problems: Vec::new(),
    };
    let mut checked = 0;
    // Every service of botocore is in kagi, and nothing else.
    let available: Vec<&str> = data["available"]
        .as_array()
        .expect("available services")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ours: Vec<&str> = kagi_api::services().iter().map(|s| s.name).collect();
    c.eq("services".to_string(), ours, available);
    for &svc in kagi_api::services() {
        let d = &data["services"][svc.name];
        assert!(!d.is_null(), "botocore has no {}", svc.name);
        check_service(&mut c, svc, d, &data["endpoints"]);
        checked += svc.operations().len();
    }
    println!(
        "model drift test: {checked} operations checked against botocore {}",
        data["version"]
    );
    assert!(
        c.problems.is_empty(),
        "kagi-api's model differs from botocore {} ({} problems; regenerate with tools/gen-model.py):\n{}",
        data["version"],
        c.problems.len(),
        c.problems.join("\n")
    );
}
