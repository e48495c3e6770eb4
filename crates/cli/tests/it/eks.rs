//! `eks update-kubeconfig` and `eks get-token` against AWS CLI v2 (Debian's 2.9) on moto's EKS:
//! the same kubeconfig printed (`--dry-run`) and written (a new file, an update of it, a merge
//! into a kubeconfig kubectl wrote, the `KUBECONFIG` list), the same messages and errors; and a
//! token of the same shape as v2's whose presigned GetCallerIdentity `kagi serve` accepts
//! (signature, the signed `x-k8s-aws-id` header), as EKS's authenticator does. Needs
//! `KAGI_COMPAT_VENV` (moto) and AWS CLI v2; skips with a notice without them, fails under CI.

use base64::Engine;

use crate::common::{Official, Sandbox, official_v2};
use crate::moto::start_moto;

const KIND_CONFIG: &str = r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://127.0.0.1:6443
  name: kind-kind
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: LS0tLS1CRUdJTg==
    token: "12345"
"#;

/// ruamel's ordered load and dump of stdin (update-kubeconfig's `ordered_yaml_*`).
const RUAMEL_ROUND_TRIP: &str = r#"
import sys
from collections import OrderedDict
try:
    import ruamel.yaml
except ImportError:
    print("SKIP"); sys.exit(0)
def cons(loader, node):
    loader.flatten_mapping(node)
    return OrderedDict(loader.construct_pairs(node))
def rep(dumper, data):
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items())
load = ruamel.yaml.YAML(typ="safe", pure=True)
load.Constructor.add_constructor("tag:yaml.org,2002:map", cons)
dump = ruamel.yaml.YAML(typ="safe", pure=True)
dump.default_flow_style = False
dump.Representer.add_representer(OrderedDict, rep)
dump.dump(load.load(sys.stdin.read()), sys.stdout)
"#;

/// A long plain scalar after `key:` on the next line (newer ruamel, 0.19 in the venv: what kagi and the
/// current AWS CLI write) or on the key's line (Debian's 0.17.21 under AWS CLI 2.9): one form.
fn unfold(s: &str) -> String {
    let mut out = String::new();
    let mut lines = s.split('\n').peekable();
    while let Some(l) = lines.next() {
        if l.ends_with(": ") && lines.peek().is_some() {
            out.push_str(l);
            out.push_str(lines.next().unwrap_or_default().trim_start());
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

/// A run as text: the exit code, stdout, stderr.
fn raw((code, out, err): &(i32, String, String)) -> String {
    format!("exit {code}\n{out}{err}\n")
}

fn official_run(sb: &Sandbox, official: &Official, args: &[&str]) -> (i32, String, String) {
    let o = official.run(sb, args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn update_kubeconfig_as_aws_cli_v2() {
    let Some(moto) = start_moto() else { return };
    let Some(v2) = official_v2() else { return };
    let url = moto.url.clone();
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "");
    sb.write(
        ".aws/config",
        "[default]\nregion = us-east-1\n[profile dev]\nregion = us-east-1\n",
    );
    sb.write(
        ".aws/credentials",
        "[dev]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    );
    for name in ["c1", "c2"] {
        let out = sb.run(&[
            "eks",
            "create-cluster",
            "--name",
            name,
            "--role-arn",
            "arn:aws:iam::123456789012:role/eks",
            "--resources-vpc-config",
            "subnetIds=subnet-1",
            "--endpoint-url",
            &url,
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let home = sb.home().display().to_string();
    sb.write("kind-config", KIND_CONFIG);
    sb.write(
        "other-config",
        KIND_CONFIG.replace("kind-kind", "other").as_str(),
    );
    let cmds: Vec<Vec<String>> = [
        "eks update-kubeconfig --name c1 --dry-run",
        "eks update-kubeconfig --name c1 --alias dev --role-arn arn:aws:iam::123456789012:role/admin --dry-run",
        "eks update-kubeconfig --name c1 --dry-run --profile dev",
        "eks update-kubeconfig --name c2 --kubeconfig {home}/kind-config --dry-run",
        "eks update-kubeconfig --name nope --dry-run",
        "eks update-kubeconfig --dry-run",
    ]
    .iter()
    .map(|c| {
        c.replace("{home}", &home)
            .split(' ')
            .map(str::to_string)
            .chain(["--endpoint-url".to_string(), url.clone()])
            .collect()
    })
    .collect();
    // Each printed something to compare.
    let first: Vec<&str> = cmds[0].iter().map(String::as_str).collect();
    let out = sb.run(&first);
    assert!(
        out.code == 0 && out.stdout.contains("get-token"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let mut diffs = Vec::new();
    for args in &cmds {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = sb.run(&argv);
        let (code, out, err) = official_run(&sb, &v2, &argv);
        if unfold(&ours.stdout) != unfold(&out)
            || ours.stderr.trim_start() != err.trim_start()
            || (ours.code == 0) != (code == 0)
        {
            diffs.push(format!(
                "{args:?}\n--- aws (exit {code})\n{out}{err}--- kagi (exit {})\n{}{}",
                ours.code, ours.stdout, ours.stderr
            ));
        }
    }
    // An unknown option: a hand-written command's (BasicCommand's) parameter error, alone, as
    // 2.9 prints it and 2.36.7 raises it (`ParamValidationError`, awscli/customizations/
    // commands.py), not the usage frame of a modelled operation's.
    let bogus = sb.run(&["eks", "update-kubeconfig", "--name", "c1", "--bogus"]);
    assert_eq!(bogus.code, 252);
    assert_eq!(bogus.stderr, "\nUnknown options: --bogus\n");
    // kagi's YAML is the newer ruamel's (the AWS CLI's current bundle), byte for byte: the
    // venv's ruamel loads it ordered and dumps it again, as update-kubeconfig does.
    let dry = sb.run(&first);
    let python =
        std::path::Path::new(&std::env::var_os("KAGI_COMPAT_VENV").unwrap()).join("bin/python");
    let mut child = std::process::Command::new(python)
        .args(["-c", RUAMEL_ROUND_TRIP])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), dry.stdout.as_bytes()).unwrap();
    let again = child.wait_with_output().unwrap();
    let again = String::from_utf8_lossy(&again.stdout);
    if again.starts_with("SKIP") {
        crate::common::skip_or_fail("ruamel.yaml in KAGI_COMPAT_VENV");
    } else if again != dry.stdout {
        diffs.push(format!("ruamel's dump:\n{again}\nkagi's:\n{}", dry.stdout));
    }

    // Written files: a new one, then an update of it, then a merge through KUBECONFIG (the
    // file that already holds the cluster is the one updated).
    for who in ["kagi", "aws"] {
        let path = format!("{home}/kube-{who}/config");
        let run = |args: &[&str]| -> (i32, String, String) {
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["--endpoint-url", &url]);
            if who == "kagi" {
                let o = sb.run(&a);
                (o.code, o.stdout, o.stderr)
            } else {
                official_run(&sb, &v2, &a)
            }
        };
        let added = run(&[
            "eks",
            "update-kubeconfig",
            "--name",
            "c1",
            "--kubeconfig",
            &path,
        ]);
        let updated = run(&[
            "eks",
            "update-kubeconfig",
            "--name",
            "c1",
            "--kubeconfig",
            &path,
            "--alias",
            "c1-alias",
            "--verbose",
        ]);
        std::fs::copy(sb.home().join("kind-config"), format!("{home}/kc1-{who}")).unwrap();
        std::fs::copy(sb.home().join("other-config"), format!("{home}/kc2-{who}")).unwrap();
        let file = std::fs::read_to_string(&path).unwrap_or_default();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        ) & 0o777;
        let text = format!("{}{}{file}\nmode {mode:o}", raw(&added), raw(&updated))
            .replace(&format!("kube-{who}"), "kube-{who}");
        sb.write(&format!("result-{who}"), &text);
    }
    let (ours, theirs) = (
        unfold(&sb.read("result-kagi")),
        unfold(&sb.read("result-aws")),
    );
    if ours != theirs {
        diffs.push(format!(
            "written kubeconfigs:\n--- aws\n{theirs}\n--- kagi\n{ours}"
        ));
    }

    // KUBECONFIG with two files: the one holding the cluster is updated, else the first.
    for who in ["kagi", "aws"] {
        let a = format!("{home}/kc1-{who}");
        let b = format!("{home}/kc2-{who}");
        let mut sbk = Sandbox::new();
        sbk.vars = sb.vars.clone();
        sbk.vars.insert("KUBECONFIG".into(), format!("{a}:{b}"));
        // (HOME is the same directory: the sandbox's own is only used for ~/.aws.)
        sbk.vars.insert("HOME".into(), home.clone());
        let args = [
            "eks",
            "update-kubeconfig",
            "--name",
            "c2",
            "--endpoint-url",
            &url,
        ];
        let out = if who == "kagi" {
            let env = kagi_cli::Env {
                vars: sbk.vars.clone(),
                home: sb.home(),
                stdin_tty: false,
                stdout_tty: false,
            };
            let mut argv: Vec<std::ffi::OsString> = vec!["aws".into()];
            argv.extend(args.iter().map(std::ffi::OsString::from));
            let (mut o, mut e) = (Vec::new(), Vec::new());
            let mut input = std::io::Cursor::new(Vec::new());
            let code = kagi_cli::run(
                &argv,
                &env,
                &mut kagi_cli::Io {
                    stdin: &mut input,
                    stdout: &mut o,
                    stderr: &mut e,
                },
            );
            (
                code,
                String::from_utf8_lossy(&o).into_owned(),
                String::from_utf8_lossy(&e).into_owned(),
            )
        } else {
            let o = std::process::Command::new(&v2.bin)
                .args(args)
                .env_clear()
                .envs(&sbk.vars)
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .output()
                .unwrap();
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        let text = format!(
            "{}{}\n{}",
            raw(&out),
            std::fs::read_to_string(&a).unwrap(),
            std::fs::read_to_string(&b).unwrap()
        )
        .replace(&format!("-{who}"), "-{who}");
        sb.write(&format!("kubeconfig-env-{who}"), &text);
    }
    let (ours, theirs) = (
        unfold(&sb.read("kubeconfig-env-kagi")),
        unfold(&sb.read("kubeconfig-env-aws")),
    );
    if ours != theirs {
        diffs.push(format!(
            "KUBECONFIG merge:\n--- aws\n{theirs}\n--- kagi\n{ours}"
        ));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

fn token_url(stdout: &str) -> (serde_json::Value, String) {
    let v: serde_json::Value =
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let token = v["status"]["token"].as_str().unwrap().to_string();
    let b64 = token.strip_prefix("k8s-aws-v1.").expect("prefix");
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(b64)
        .unwrap();
    (v, String::from_utf8(url).unwrap())
}

/// The URL without what changes from one second to the next (date, signature).
fn shape_of(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let params: Vec<String> = query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            match k {
                "X-Amz-Date" | "X-Amz-Signature" => format!("{k}=*"),
                "X-Amz-Credential" => {
                    let parts: Vec<&str> = v.split("%2F").collect();
                    format!("{k}={}%2F*%2F{}", parts[0], parts[2..].join("%2F"))
                }
                _ => p.to_string(),
            }
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

#[test]
fn get_token_is_a_presigned_caller_identity_kagi_serve_accepts() {
    let Some(v2) = official_v2() else { return };
    let server = kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts");
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", &server.root_access_key_id)
        .set("AWS_SECRET_ACCESS_KEY", server.root_secret_access_key())
        .set("AWS_PAGER", "");
    let args = [
        "eks",
        "get-token",
        "--cluster-name",
        "c1",
        "--region",
        "us-east-1",
    ];
    let ours = sb.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let (theirs_code, theirs_out, theirs_err) = official_run(&sb, &v2, &args);
    assert_eq!(theirs_code, 0, "{theirs_err}");
    let (our_doc, our_url) = token_url(&ours.stdout);
    let (their_doc, their_url) = token_url(&theirs_out);
    assert_eq!(shape_of(&our_url), shape_of(&their_url));
    for k in ["kind", "apiVersion", "spec"] {
        assert_eq!(our_doc[k], their_doc[k], "{k}");
    }
    let keys = |s: &str| -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .take(4)
            .collect()
    };
    assert_eq!(keys(&ours.stdout), keys(&theirs_out), "key order");
    let exp = our_doc["status"]["expirationTimestamp"].as_str().unwrap();
    assert!(exp.len() == 20 && exp.ends_with('Z'), "{exp}");
    assert!(
        our_url.starts_with("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&"),
        "{our_url}"
    );
    // A token for kagi serve (its endpoint configured, as for every STS client; not
    // `--endpoint-url`, which get-token ignores as the AWS CLI does): kagi serve accepts the
    // presigned call, as EKS's authenticator would, and only with the signed header.
    let endpoint = format!("http://{}", server.addr);
    sb.set("AWS_ENDPOINT_URL_STS", &endpoint);
    let local = sb.run(&[
        "eks",
        "get-token",
        "--cluster-name",
        "c1",
        "--region",
        "us-east-1",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(local.code, 0, "{}", local.stderr);
    let (_, local_url) = token_url(&local.stdout);
    assert!(local_url.starts_with(&endpoint), "{local_url}");
    let (code, body) = fetch(&local_url, Some(("x-k8s-aws-id", "c1")));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(&server.account_id), "{body}");
    let (code, _) = fetch(&local_url, None);
    assert_eq!(code, 403);
    let (code, _) = fetch(&local_url, Some(("x-k8s-aws-id", "c2")));
    assert_eq!(code, 403);
    server.shutdown();
}

fn fetch(url: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let mut resp = req.call().unwrap();
    let code = resp.status().as_u16();
    (code, resp.body_mut().read_to_string().unwrap_or_default())
}
