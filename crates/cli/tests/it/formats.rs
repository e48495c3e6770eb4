//! Output formats on real-shaped responses: insta snapshots for every format, and a differential
//! check of json/text/table against the official CLI's own formatter (`awscli.formatter`, the
//! same code in v1 and v2) when `KAGI_COMPAT_VENV` is set.

use kagi_cli::output::{self, Doc, parse_json_ordered};

/// (operation name, response as botocore parses it: member order of the output shape)
const RESPONSES: &[(&str, &str)] = &[
    (
        "GetCallerIdentity",
        r#"{"UserId": "AIDAEXAMPLEUSERID0001", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/user-for-switch"}"#,
    ),
    (
        "ListUsers",
        r#"{"Users": [{"Path": "/", "UserName": "user-for-switch", "UserId": "AIDAEXAMPLEUSERID0001", "Arn": "arn:aws:iam::123456789012:user/user-for-switch", "CreateDate": "2026-11-24T10:30:00+00:00"}, {"Path": "/admins/", "UserName": "alice", "UserId": "AIDAEXAMPLEUSERID0002", "Arn": "arn:aws:iam::123456789012:user/admins/alice", "CreateDate": "2026-11-24T10:31:00+00:00", "PasswordLastUsed": "2026-11-24T11:00:00+00:00", "Tags": [{"Key": "team", "Value": "platform"}]}]}"#,
    ),
    (
        "GetRole",
        r#"{"Role": {"Path": "/", "RoleName": "ECRLoginAndPushRole", "RoleId": "AROAEXAMPLEROLEID0001", "Arn": "arn:aws:iam::123456789012:role/ECRLoginAndPushRole", "CreateDate": "2026-11-24T10:30:00+00:00", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole", "Condition": {}}]}, "Description": "", "MaxSessionDuration": 3600, "RoleLastUsed": {}}}"#,
    ),
    (
        "AssumeRole",
        r#"{"Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret/with+chars", "SessionToken": "token", "Expiration": "2026-11-24T11:30:00+00:00"}, "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLEROLEID0001:botocore-session-1795000000", "Arn": "arn:aws:sts::123456789012:assumed-role/ECRLoginAndPushRole/botocore-session-1795000000"}}"#,
    ),
    (
        "DescribeRepositories",
        r#"{"repositories": [{"repositoryArn": "arn:aws:ecr:ap-northeast-1:123456789012:repository/test-repos", "registryId": "123456789012", "repositoryName": "test-repos", "repositoryUri": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/test-repos", "createdAt": "2026-11-24T10:30:00+00:00", "imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": false}, "encryptionConfiguration": {"encryptionType": "AES256"}}]}"#,
    ),
    (
        "ListImages",
        r#"{"imageIds": [{"imageDigest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "imageTag": "latest"}, {"imageDigest": "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"}]}"#,
    ),
    (
        "ListAccountAliases",
        r#"{"AccountAliases": ["kagi-local", "日本語の別名"], "IsTruncated": false}"#,
    ),
    ("ListPolicies", r#"{"Policies": [], "IsTruncated": false}"#),
    ("CreateUser", r#"{}"#),
];

fn doc(s: &str) -> Doc {
    parse_json_ordered(s).expect("valid JSON")
}

fn render(format: &str, op: &str, d: &Doc) -> String {
    match format {
        "json" if d.is_empty_map() => String::new(),
        "json" => output::to_json(d),
        "text" => output::to_text(d),
        "table" => output::to_table(op, d, 80, false),
        "yaml" if d.is_empty_map() => String::new(),
        "yaml" => output::to_yaml(d),
        _ => unreachable!(),
    }
}

#[test]
fn snapshots_of_every_format() {
    for (op, body) in RESPONSES {
        let d = doc(body);
        for format in ["json", "text", "table", "yaml"] {
            insta::assert_snapshot!(format!("{op}_{format}"), render(format, op, &d));
        }
    }
}

#[test]
fn json_text_table_match_the_aws_cli_formatter() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        crate::common::skip_or_fail("KAGI_COMPAT_VENV (awscli's formatter)");
        return;
    };
    let py = r#"
import sys, json, io, argparse
from awscli.formatter import get_formatter
fmt, op, body = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.loads(body)
out = io.StringIO()
get_formatter(fmt, argparse.Namespace(query=None, color='off'))(op, doc, out)
sys.stdout.write(out.getvalue())
"#;
    let python = std::path::Path::new(&venv).join("bin/python");
    let mut mismatches = Vec::new();
    for (op, body) in RESPONSES {
        let d = doc(body);
        for format in ["json", "text", "table"] {
            let out = std::process::Command::new(&python)
                .args(["-c", py, format, op, body])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = String::from_utf8(out.stdout).unwrap();
            let ours = render(format, op, &d);
            if theirs != ours {
                mismatches.push(format!(
                    "{op} {format}:\n--- awscli\n{theirs}--- kagi\n{ours}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// YAML against ruamel's safe dumper as the AWS CLI v2 configures it (`YAMLDumper`), when the
/// venv has `ruamel.yaml` (v2 is not on PyPI; its YAML path is ruamel).
#[test]
fn yaml_matches_ruamel_when_available() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        crate::common::skip_or_fail("KAGI_COMPAT_VENV");
        return;
    };
    let python = std::path::Path::new(&venv).join("bin/python");
    let has_ruamel = std::process::Command::new(&python)
        .args(["-c", "import ruamel.yaml"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_ruamel {
        // scripts/requirements-compat.txt installs it: under CI this must run.
        crate::common::skip_or_fail("ruamel.yaml in KAGI_COMPAT_VENV");
        return;
    }
    let py = r#"
import sys, json, io
from ruamel.yaml import YAML
y = YAML(typ='safe'); y.encoding = None; y.representer.default_flow_style = False
doc = json.loads(sys.argv[1])
out = io.StringIO()
if doc != {}:
    y.dump(doc, out)
sys.stdout.write(out.getvalue())
"#;
    let long = r##"{"Description": "A long description that goes on and on, well past the eighty columns that the YAML emitter uses as its best width, so it folds", "Weird": ["yes", "null", "1.5", "0x1F", "- dash", "a: b", "#x", "x #y", "", " lead", "trail ", "it's", "multi\nline", "2026-11-24", "~"]}"##;
    let mut mismatches = Vec::new();
    for (op, body) in RESPONSES.iter().chain([("Long", long)].iter()) {
        let out = std::process::Command::new(&python)
            .args(["-c", py, body])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        let ours = render("yaml", op, &doc(body));
        if theirs != ours {
            mismatches.push(format!("{op}:\n--- ruamel\n{theirs}--- kagi\n{ours}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
