//! `cloudformation deploy` and `cloudformation package`, kagi against the official CLI (v1 from
//! `KAGI_COMPAT_VENV`, v2 when installed) on moto: the same output lines and exit codes, the
//! same stacks (parameters, tags) and the same S3 objects (MD5-named artifacts, the nested
//! template PyYAML writes). Each CLI works on its own stack and bucket (`-k`, `-v1`, `-v2`),
//! written back as `{who}` before comparing; change set ARNs become `<arn>`.
//! Skips with a notice without the venv (fails under CI).

use std::path::Path;

use serde_json::Value;

use crate::common::{Official, Sandbox, official_v1, official_v2};
use crate::moto::start_moto;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn kagi(sb: &Sandbox, args: &[&str]) -> Run {
    let o = sb.run(args);
    Run {
        code: o.code,
        stdout: o.stdout,
        stderr: o.stderr,
    }
}

fn official(sb: &Sandbox, official: &Official, args: &[&str], cwd: &Path) -> Run {
    let o = std::process::Command::new(&official.bin)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(sb.env().vars)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `{who}` for the CLI's own names; change set ARNs as `<arn>`.
fn normalise(s: &str, who: &str) -> String {
    let s = s.replace(&format!("-{who}"), "-{who}");
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("arn:aws:cloudformation:") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace())
            .map_or(rest.len(), |e| i + e);
        out.push_str("<arn>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Description: kagi deploy test
Parameters:
  Env:
    Type: String
    Default: dev
  Size:
    Type: Number
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub '${AWS::StackName}-${Env}'
      DelaySeconds: !Ref Size
Outputs:
  QueueUrl:
    Value: !Ref Queue
"#;

fn sandbox(url: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", url)
        .set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "")
        .set("KAGI_WAITER_DELAY", "0.2");
    sb.write(".aws/config", "[default]\ncli_timestamp_format = iso8601\n");
    sb
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The steps of one CLI: `run(args)` runs them with that CLI.
fn deploy_steps(
    dir: &Path,
    who: &str,
    url: &str,
    usage_step: bool,
    run: &dyn Fn(&[&str]) -> Run,
) -> Vec<String> {
    let t = dir.join("t.yaml");
    let t = t.to_str().unwrap();
    let stack = format!("kagi-cfn-{who}");
    let mut lines = Vec::new();
    // AWS CLI v2 before 2.13 ignores AWS_ENDPOINT_URL: every command names the endpoint.
    let mut step = |args: &[&str]| {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--endpoint-url", url])
            .collect();
        let args = args.as_slice();
        let r = run(args);
        lines.push(normalise(
            &format!(
                "$ {}\n[{}]\n{}--stderr--\n{}",
                args.join(" "),
                r.code,
                r.stdout,
                r.stderr
            ),
            who,
        ));
    };
    let base = [
        "cloudformation",
        "deploy",
        "--template-file",
        t,
        "--stack-name",
        &stack,
    ];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let v = with(&[
        "--parameter-overrides",
        "Size=5",
        "--tags",
        "team=blue",
        "cost=1",
        "--capabilities",
        "CAPABILITY_IAM",
    ]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // Nothing changed: status 0 with --no-fail-on-empty-changeset, 255 with --fail-….
    let v = with(&[
        "--parameter-overrides",
        "Size=5",
        "--no-fail-on-empty-changeset",
    ]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let v = with(&[
        "--parameter-overrides",
        "Size=5",
        "--fail-on-empty-changeset",
    ]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // An update through a change set left for review, then executed.
    let v = with(&[
        "--parameter-overrides",
        "Size=7",
        "Env=prod",
        "--no-execute-changeset",
    ]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let v = with(&["--parameter-overrides", "Size=7", "Env=prod"]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // Errors.
    step(&[
        "cloudformation",
        "deploy",
        "--template-file",
        "/nonexistent/t.yaml",
        "--stack-name",
        &stack,
    ]);
    let v = with(&["--parameter-overrides", "Size"]);
    step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    // AWS CLI v1's argparse errors are worded and numbered otherwise (v2's are kagi's).
    if usage_step {
        step(&["cloudformation", "deploy", "--stack-name", &stack]);
        let v = with(&["--bogus", "x"]);
        step(&v.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let big = dir.join("big.json");
    let big = big.to_str().unwrap();
    step(&[
        "cloudformation",
        "deploy",
        "--template-file",
        big,
        "--stack-name",
        &stack,
    ]);
    lines
}

fn stack_state(sb: &Sandbox, stack: &str) -> Value {
    let out = sb.run(&["cloudformation", "describe-stacks", "--stack-name", stack]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let s = &json(&out.stdout)["Stacks"][0];
    let mut params: Vec<(String, String)> = s["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["ParameterKey"].as_str().unwrap().to_string(),
                p["ParameterValue"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    params.sort();
    serde_json::json!({
        "status": s["StackStatus"],
        "params": params,
        "tags": s["Tags"],
        "capabilities": s["Capabilities"],
    })
}

fn big_template() -> String {
    // > 51,200 bytes: a long description padding a valid template.
    let pad = "x".repeat(900);
    let mut outputs = String::new();
    for i in 0..60 {
        outputs.push_str(&format!(
            "\"O{i}\": {{\"Value\": \"{pad}\"}}{}",
            if i < 59 { "," } else { "" }
        ));
    }
    format!(
        "{{\"Resources\": {{\"Q\": {{\"Type\": \"AWS::SQS::Queue\"}}}}, \"Outputs\": {{{outputs}}}}}"
    )
}

fn deploy_against(official_cli: Option<Official>, who: &str) {
    let Some(official_cli) = official_cli else {
        return;
    };
    let Some(moto) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let dir = sb.home().join("cfn");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.yaml"), TEMPLATE).unwrap();
    std::fs::write(dir.join("big.json"), big_template()).unwrap();
    let v2 = official_cli.v2();
    let ours = deploy_steps(&dir, "k", &moto.url, v2, &|a| kagi(&sb, a));
    let theirs = deploy_steps(&dir, who, &moto.url, v2, &|a| {
        official(&sb, &official_cli, a, &dir)
    });
    for (a, b) in ours.iter().zip(theirs.iter()) {
        assert_eq!(a, b, "kagi (left) and aws {who} (right) differ");
    }
    assert_eq!(
        stack_state(&sb, "kagi-cfn-k"),
        stack_state(&sb, &format!("kagi-cfn-{who}"))
    );
    let state = stack_state(&sb, "kagi-cfn-k");
    assert_eq!(state["status"], "UPDATE_COMPLETE");
    assert_eq!(
        state["params"],
        serde_json::json!([["Env", "prod"], ["Size", "7"]])
    );
}

#[test]
fn deploy_matches_aws_cli_v1_on_moto() {
    deploy_against(official_v1(), "v1");
}

#[test]
fn deploy_matches_aws_cli_v2_on_moto() {
    deploy_against(official_v2(), "v2");
}

/// A big template goes through `--s3-bucket`: uploaded under its MD5 as `.template` and
/// passed as a path-style `TemplateURL` (moto reads it from its S3 by that URL).
#[test]
fn deploy_of_a_big_template_through_s3() {
    let Some(official_cli) = official_v1() else {
        return;
    };
    let Some(moto) = start_moto() else { return };
    // moto takes a TemplateURL's bucket from the path only for `localhost`.
    let url = moto.url.replace("127.0.0.1", "localhost");
    let sb = sandbox(&url);
    let dir = sb.home().join("cfn");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("big.json"), big_template()).unwrap();
    let big = dir.join("big.json");
    let big = big.to_str().unwrap();
    for who in ["k", "v1"] {
        assert_eq!(
            sb.run(&["s3", "mb", &format!("s3://kagi-cfn-big-{who}")])
                .code,
            0
        );
    }
    let args = |who: &str| -> Vec<String> {
        [
            "cloudformation",
            "deploy",
            "--template-file",
            big,
            "--stack-name",
            &format!("kagi-cfn-big-{who}"),
            "--s3-bucket",
            &format!("kagi-cfn-big-{who}"),
            "--s3-prefix",
            "tpl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a = args("k");
    let ours = kagi(&sb, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let a = args("v1");
    let theirs = official(
        &sb,
        &official_cli,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        &dir,
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(
        normalise(&ours.stdout, "k"),
        normalise(&theirs.stdout, "v1")
    );
    let keys = |who: &str| {
        let out = sb.run(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &format!("kagi-cfn-big-{who}"),
            "--query",
            "Contents[].Key",
            "--output",
            "text",
        ]);
        out.stdout
    };
    assert_eq!(keys("k"), keys("v1"));
    assert!(keys("k").starts_with("tpl/") && keys("k").trim_end().ends_with(".template"));
}

/// `package`: a Lambda zip, a Serverless function's zip, an API's Swagger file, a nested
/// stack (exported, written by PyYAML and uploaded), an `AWS::Include`: the same template
/// out and the same objects in the bucket. A folder is zipped (its archive's bytes, and so its
/// name, depend on the zip writer; checked apart).
#[test]
fn package_matches_aws_cli_v1_on_moto() {
    let Some(official_cli) = official_v1() else {
        return;
    };
    // One moto each: the same bucket name, so that templates naming it hash alike.
    let Some(moto) = start_moto() else { return };
    let Some(moto2) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let sb2 = sandbox(&moto2.url);
    let dir = sb.home().join("pkg");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("src/index.py"),
        "def handler(e, c):\n    return 1\n",
    )
    .unwrap();
    // A real zip (stored, one entry) made by hand: uploaded as is by both CLIs.
    std::fs::write(dir.join("fn.zip"), tiny_zip()).unwrap();
    std::fs::write(
        dir.join("swagger.yaml"),
        "swagger: '2.0'\ninfo:\n  title: api\npaths: {}\n",
    )
    .unwrap();
    std::fs::write(dir.join("include.yaml"), "Type: AWS::SQS::Queue\n").unwrap();
    std::fs::write(
        dir.join("nested/child.yaml"),
        "AWSTemplateFormatVersion: '2010-09-09'\nDescription: >-\n  A child template whose description is long enough to be folded by the YAML writer at eighty columns\nParameters:\n  Flag: {Type: String, AllowedValues: [yes, no, 'on'], Default: 'yes'}\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: ../fn.zip\n      Handler: index.handler\n      Runtime: python3.12\n      Role: !GetAtt Role.Arn\n      Environment:\n        Variables: {A: '1', B: 0777, C: 1e5, D: '', E: null, F: 'it''s', G: \"tab\\there\"}\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n",
    )
    .unwrap();
    let template = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      BodyS3Location: swagger.yaml
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/child.yaml
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn.zip
      Handler: index.handler
      Runtime: python3.12
      Events:
        Get:
          Type: Api
          Properties: {Path: /, Method: get}
  Fn2:
    Type: AWS::Lambda::Function
    Properties:
      Code: ./fn.zip
      Handler: index.handler
      Role: !Sub "arn:aws:iam::${AWS::AccountId}:role/r"
      Runtime: python3.12
  Remote:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://elsewhere/code.zip
      Handler: index.handler
      Runtime: python3.12
  Fn::Transform:
    Name: AWS::Include
    Parameters:
      Location: include.yaml
Outputs:
  ApiId:
    Value: !Ref Api
    Export:
      Name: !Join [ "-", [ !Ref "AWS::StackName", api ] ]
"#;
    std::fs::write(dir.join("template.yaml"), template).unwrap();
    let t = dir.join("template.yaml");
    let t = t.to_str().unwrap().to_string();
    let mut outputs = Vec::new();
    for who in ["k", "v1"] {
        let (sb, url) = if who == "k" {
            (&sb, &moto.url)
        } else {
            (&sb2, &moto2.url)
        };
        let bucket = "kagi-pkg".to_string();
        assert_eq!(sb.run(&["s3", "mb", &format!("s3://{bucket}")]).code, 0);
        let out_file = dir.join(format!("out-{who}.yaml"));
        let out_file = out_file.to_str().unwrap().to_string();
        let args = [
            "cloudformation",
            "package",
            "--template-file",
            &t,
            "--s3-bucket",
            &bucket,
            "--s3-prefix",
            "art",
        ];
        let to_file: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--output-template-file", out_file.as_str()])
            .collect();
        let (stdout, to_file_run) = if who == "k" {
            (kagi(sb, &args), kagi(sb, &to_file))
        } else {
            (
                official(sb, &official_cli, &args, &dir),
                official(sb, &official_cli, &to_file, &dir),
            )
        };
        assert_eq!(stdout.code, 0, "{who}: {}", stdout.stderr);
        assert_eq!(to_file_run.code, 0, "{who}: {}", to_file_run.stderr);
        let listing = sb.run(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &bucket,
            "--query",
            "Contents[].[Key, Size]",
            "--output",
            "text",
        ]);
        let norm = |s: &str| normalise(s, who).replace(url.as_str(), "<endpoint>");
        outputs.push((
            norm(&stdout.stdout),
            norm(&to_file_run.stdout),
            norm(&std::fs::read_to_string(&out_file).unwrap()),
            listing.stdout,
        ));
    }
    let (k, v1) = (&outputs[0], &outputs[1]);
    assert_eq!(k.0, v1.0, "package to stdout");
    assert_eq!(k.1, v1.1, "package --output-template-file lines");
    assert_eq!(k.2, v1.2, "the written template");
    assert_eq!(k.3, v1.3, "the uploaded objects (keys and sizes)");
    assert!(k.2.contains("S3Bucket: kagi-pkg\n"), "{}", k.2);

    // A folder is zipped: the template points at an MD5-named zip holding its files.
    std::fs::write(
        dir.join("dir.yaml"),
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src\n",
    )
    .unwrap();
    let d = dir.join("dir.yaml");
    let out = sb.run(&[
        "cloudformation",
        "package",
        "--template-file",
        d.to_str().unwrap(),
        "--s3-bucket",
        "kagi-pkg",
        "--use-json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = json(out.stdout.trim_start());
    let uri = v["Resources"]["Fn"]["Properties"]["CodeUri"]
        .as_str()
        .unwrap();
    let key = uri.strip_prefix("s3://kagi-pkg/").unwrap();
    assert_eq!(key.len(), 32, "{uri}");
    let zip = sb.home().join("got.zip");
    let got = sb.run(&[
        "s3",
        "cp",
        &format!("s3://kagi-pkg/{key}"),
        zip.to_str().unwrap(),
    ]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    let venv = std::env::var_os("KAGI_COMPAT_VENV").unwrap();
    let listed = std::process::Command::new(Path::new(&venv).join("bin/python"))
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print([(i.filename, z.read(i).decode()) for i in z.infolist()], z.testzip())",
            zip.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "[('index.py', 'def handler(e, c):\\n    return 1\\n')] None\n"
    );
}

/// A zip archive with one stored entry (`a.txt`, `hi\n`).
fn tiny_zip() -> Vec<u8> {
    let data = b"hi\n";
    let crc: u32 = 0xed6f_7a7a; // crc32(b"hi\n")
    let mut z = Vec::new();
    let name = b"a.txt";
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    z.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(name);
    z.extend_from_slice(data);
    let cd = z.len() as u32;
    z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    z.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0; 8]);
    z.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(name);
    let cd_len = z.len() as u32 - cd;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd.to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z
}
