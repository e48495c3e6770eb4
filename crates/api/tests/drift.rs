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
import json, sys, botocore, botocore.loaders
l = botocore.loaders.Loader()
out = {"version": botocore.__version__, "services": {}}
for name in sys.argv[1:]:
    svc = l.load_service_model(name, "service-2")
    names = set(svc["operations"])
    for s in svc["shapes"].values():
        names.update(s.get("members", {}))
    out["services"][name] = {
        "service": svc,
        "paginators": l.load_service_model(name, "paginators-1").get("pagination", {}),
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
        .args(kagi_api::services().iter().map(|s| s.cli_name))
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

fn check_service(c: &mut Checker, svc: &'static Service, data: &Value) {
    let name = svc.cli_name;
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
    if svc.global_endpoint.is_some() {
        c.eq(
            format!("{name} globalEndpoint"),
            svc.global_endpoint,
            str_of(&meta["globalEndpoint"]),
        );
    }
    match svc.protocol {
        Protocol::Query { version, xmlns } => {
            c.eq(
                format!("{name} protocol"),
                Some("query"),
                str_of(&meta["protocol"]),
            );
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
                format!("{name} protocol"),
                Some("json"),
                str_of(&meta["protocol"]),
            );
            c.eq(
                format!("{name} targetPrefix"),
                Some(target_prefix),
                str_of(&meta["targetPrefix"]),
            );
            c.eq(
                format!("{name} jsonVersion"),
                Some(json_version),
                str_of(&meta["jsonVersion"]),
            );
        }
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
                c.eq(
                    format!("{what} input_token"),
                    Some(p.input_token),
                    str_of(&pag["input_token"]),
                );
                c.eq(
                    format!("{what} output_token"),
                    Some(p.output_token),
                    str_of(&pag["output_token"]),
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
    for svc in kagi_api::services() {
        let d = &data["services"][svc.cli_name];
        assert!(!d.is_null(), "botocore has no {}", svc.cli_name);
        check_service(&mut c, svc, d);
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
