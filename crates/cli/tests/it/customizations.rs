//! The official CLI's customizations kagi does not have (docs/cli-customizations.md): the
//! usage error that says so, and the opt-in fallthrough (`cli_fallback = aws`) to an official
//! `aws` on PATH that is not kagi.

use std::path::Path;

use crate::common::{Sandbox, skip_or_fail};

/// A fake official CLI: prints its arguments (one a line) and what it read on stdin, exits 7.
fn fake_aws(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("aws");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done\necho \"stdin:$(/bin/cat)\"\necho \"fake official aws\" >&2\nexit 7\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn missing_message(name: &str) -> String {
    format!(
        "aws: error: kagi does not have the AWS CLI customization '{name}' yet. To run the official AWS CLI for it, set cli_fallback = aws in the profile's section of the config file (or in [default])\n"
    )
}

#[test]
fn a_missing_customization_is_a_usage_error_that_says_so() {
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let cases: &[(&[&str], &str)] = &[
        (&["ddb", "put", "table", "{a: 1}"], "ddb put"),
        (&["history", "list"], "history list"),
        (
            &["emr", "create-cluster", "--release-label", "emr-7.0.0"],
            "emr create-cluster",
        ),
        (
            &["codecommit", "credential-helper", "get"],
            "codecommit credential-helper get",
        ),
        (&["configure", "wizard"], "configure wizard"),
        (
            &[
                "lambda",
                "create-function",
                "--function-name",
                "f",
                "--zip-file",
                "fileb://f.zip",
            ],
            "lambda create-function --zip-file",
        ),
        (
            &[
                "ec2",
                "modify-vpc-attribute",
                "--vpc-id",
                "vpc-1",
                "--enable-dns-hostnames",
            ],
            "ec2 modify-vpc-attribute --enable-dns-hostnames",
        ),
        (
            &[
                "ec2",
                "run-instances",
                "--image-id",
                "ami-1",
                "--count",
                "2",
            ],
            "ec2 run-instances --count",
        ),
        (
            &["ses", "send-email", "--from=a@example.com"],
            "ses send-email --from",
        ),
        (
            &["sts", "get-caller-identity", "--cli-input-yaml", "file://x"],
            "sts get-caller-identity --cli-input-yaml",
        ),
    ];
    for (args, name) in cases {
        let out = sb.run(args);
        assert_eq!(out.code, 252, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.starts_with("\nusage: aws [options]"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .ends_with(&format!("{}\n", missing_message(name))),
            "{args:?}: {}",
            out.stderr
        );
    }
    // What is not a customization keeps argparse's answers.
    let out = sb.run(&["nosuch"]);
    assert!(
        out.stderr.contains("Found invalid choice 'nosuch'"),
        "{}",
        out.stderr
    );
    let out = sb.run(&["lambda", "create-function", "--no-such-option", "x"]);
    assert!(
        out.stderr.contains("Unknown options: --no-such-option, x"),
        "{}",
        out.stderr
    );
    // A reshaped argument that kagi's model syntax accepts is still kagi's (no error).
    let out = sb.run(&[
        "ec2",
        "modify-vpc-attribute",
        "--vpc-id",
        "vpc-1",
        "--enable-dns-hostnames",
        "Value=true",
        "--generate-cli-skeleton",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn the_official_cli_answers_usage_errors_with_the_same_status() {
    let Some(v2) = crate::common::official_v2() else {
        return;
    };
    let sb = Sandbox::new();
    for args in [&["ddb", "put"][..], &["rds", "generate-db-auth-token"][..]] {
        let theirs = std::process::Command::new(&v2.bin)
            .args(args)
            .env_clear()
            .env("HOME", sb.home())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert_eq!(theirs.status.code(), Some(252), "{args:?}");
    }
}

#[test]
fn the_fallthrough_runs_the_official_cli_with_the_same_arguments() {
    let mut sb = Sandbox::new();
    let bin = sb.home().join("bin");
    fake_aws(&bin);
    sb.set("PATH", &bin.display().to_string());
    let args = [
        "--region",
        "eu-west-1",
        "ddb",
        "put",
        "my table",
        "{a: 1}",
        "--debug",
    ];
    // Not opted in: the error, the official CLI not run.
    let out = sb.run(&args);
    assert_eq!(out.code, 252);
    assert!(
        out.stderr
            .ends_with(&format!("{}\n", missing_message("ddb put")))
    );

    sb.write(".aws/config", "[default]\ncli_fallback = aws\n");
    let out = sb.run_with_stdin(&args, "input");
    assert_eq!(out.code, 7, "{}", out.stderr);
    let expected: String = args.iter().map(|a| format!("arg:{a}\n")).collect();
    assert_eq!(out.stdout, format!("{expected}stdin:input\n"));
    assert_eq!(out.stderr, "fake official aws\n");

    // The profile's own section counts, `[default]`'s too when the profile lacks it.
    sb.write(".aws/config", "[profile p]\ncli_fallback = aws\n");
    assert_eq!(sb.run(&["--profile", "p", "history", "list"]).code, 7);
    assert_eq!(sb.run(&["history", "list"]).code, 252);
    sb.write(
        ".aws/config",
        "[default]\ncli_fallback = aws\n[profile p]\nregion = us-east-1\n",
    );
    assert_eq!(sb.run(&["--profile", "p", "history", "list"]).code, 7);

    // Only the missing customizations fall through: what kagi has stays kagi's.
    let out = sb.run(&["configure", "list-profiles"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "default\np\n"));
    let out = sb.run(&["nosuch", "command"]);
    assert!(
        out.stderr.contains("Found invalid choice 'nosuch'"),
        "{}",
        out.stderr
    );

    // No official CLI on PATH.
    sb.set("PATH", "/nonexistent");
    let out = sb.run(&["history", "list"]);
    assert_eq!(out.code, 252);
    assert!(out.stderr.contains("kagi does not have the AWS CLI customization 'history list' yet, and cli_fallback = aws found no official AWS CLI on PATH (an `aws` that is not kagi)"), "{}", out.stderr);
}

#[test]
fn the_fallthrough_skips_kagi_linked_as_aws() {
    let Some(kagi) = crate::pty::binary() else {
        skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    let sb = Sandbox::new();
    sb.write(".aws/config", "[default]\ncli_fallback = aws\n");
    let linked = sb.home().join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(&kagi, linked.join("aws")).unwrap();
    let official = sb.home().join("official");
    fake_aws(&official);
    let run = |path: &str, program: &Path| {
        std::process::Command::new(program)
            .args(["ddb", "select", "t", "--debug"])
            .env_clear()
            .env("HOME", sb.home())
            .env("PATH", path)
            .output()
            .unwrap()
    };
    // kagi is the only `aws`: no loop, the error says no official CLI was found.
    for program in [kagi.clone(), linked.join("aws")] {
        let out = run(&linked.display().to_string(), &program);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(252), "{err}");
        assert!(err.contains("found no official AWS CLI on PATH"), "{err}");
    }
    // kagi first on PATH, the official CLI after it: the official one runs (exec), status 7.
    let path = format!("{}:{}", linked.display(), official.display());
    for program in [kagi.clone(), linked.join("aws")] {
        let out = run(&path, &program);
        assert_eq!(
            out.status.code(),
            Some(7),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "arg:ddb\narg:select\narg:t\narg:--debug\nstdin:\n"
        );
    }
}

/// botocore's `generate_db_auth_token` recipe, recomputed with kagi-sigv4 at the token's own
/// `X-Amz-Date`: a token is right when it equals its recomputation.
fn db_auth_token_at_its_date(token: &str, session_token: Option<&str>) -> String {
    let (authority, query) = token.split_once("/?").unwrap();
    let date = query
        .split('&')
        .find_map(|p| p.strip_prefix("X-Amz-Date="))
        .unwrap();
    let base: Vec<&str> = query
        .split('&')
        .take_while(|p| !p.starts_with("X-Amz-"))
        .collect();
    let mut creds = kagi_sigv4::Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG");
    if let Some(t) = session_token {
        creds = creds.with_session_token(t);
    }
    let params = kagi_sigv4::SigningParams {
        region: "eu-west-1",
        service: "rds-db",
        time: kagi_sigv4::parse_amz_date(date).unwrap(),
    };
    let q = kagi_sigv4::presign(
        "GET",
        "/",
        &base.join("&"),
        &[("host".to_string(), authority.to_string())],
        b"",
        &creds,
        &params,
        std::time::Duration::from_secs(900),
    )
    .unwrap();
    format!("{authority}/?{q}\n")
}

#[test]
fn rds_generate_db_auth_token_is_the_official_token() {
    let officials: Vec<_> = [crate::common::official_v1(), crate::common::official_v2()]
        .into_iter()
        .flatten()
        .collect();
    for session in [None, Some("tok/en+=")] {
        let mut sb = Sandbox::new();
        sb.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .set("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
            .set("AWS_DEFAULT_REGION", "eu-west-1");
        if let Some(t) = session {
            sb.set("AWS_SESSION_TOKEN", t);
        }
        let args = [
            "rds",
            "generate-db-auth-token",
            "--hostname",
            "db.example.com",
            "--port",
            "3306",
            "--username",
            "ja ne",
        ];
        let ours = sb.run(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(
            ours.stdout,
            db_auth_token_at_its_date(ours.stdout.trim_end(), session)
        );
        let mask = |t: &str| -> String {
            t.split('&')
                .map(|p| match p.split_once('=') {
                    Some((k @ ("X-Amz-Date" | "X-Amz-Signature"), _)) => format!("{k}=*"),
                    _ => p.to_string(),
                })
                .collect::<Vec<_>>()
                .join("&")
        };
        for official in &officials {
            let theirs = std::process::Command::new(&official.bin)
                .args(args)
                .env_clear()
                .envs(sb.env().vars)
                .output()
                .unwrap();
            let theirs = String::from_utf8(theirs.stdout).unwrap();
            // The recipe is botocore's (the official token is its recomputation), and kagi's
            // token differs from the official one only by its time.
            assert_eq!(
                theirs,
                db_auth_token_at_its_date(theirs.trim_end(), session),
                "{}",
                official.version
            );
            assert_eq!(mask(&ours.stdout), mask(&theirs), "{}", official.version);
        }
    }
    // Its usage errors.
    let sb = Sandbox::new();
    let out = sb.run(&["rds", "generate-db-auth-token", "--hostname", "h"]);
    assert_eq!(out.code, 252);
    assert!(
        out.stderr
            .contains("aws: error: the following arguments are required: --port, --username"),
        "{}",
        out.stderr
    );
}

#[test]
fn ecr_public_get_login_password_prints_the_password() {
    // GetAuthorizationToken of ECR Public: `authorizationData` is one object (ECR's is a list).
    let (url, count) = crate::cache_interop::always(
        200,
        r#"{"authorizationData":{"authorizationToken":"QVdTOnMzY3IzdC1wYXNzd29yZA==","expiresAt":1796712885.0}}"#,
    );
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .set("AWS_SECRET_ACCESS_KEY", "secret")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let args = [
        "ecr-public",
        "get-login-password",
        "--endpoint-url",
        url.as_str(),
    ];
    let out = sb.run(&args);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "s3cr3t-password\n"),
        "{}",
        out.stderr
    );
    assert_eq!(*count.lock().unwrap(), 1);
    let Some(v2) = crate::common::official_v2() else {
        return;
    };
    let diffs = crate::common::differences(
        &sb,
        &v2,
        &[args.iter().map(|a| a.to_string()).collect()],
        &|e| e.to_string(),
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn iam_create_virtual_mfa_device_writes_the_bootstrap_file() {
    let Some(moto) = crate::moto::start_moto() else {
        return;
    };
    let Some(v2) = crate::common::official_v2() else {
        return;
    };
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    for method in ["Base32StringSeed", "QRCodePNG"] {
        let mut outputs = Vec::new();
        for who in ["kagi", "aws"] {
            let name = format!("{who}-{method}");
            let file = sb.home().join(&name);
            let args = [
                "iam",
                "create-virtual-mfa-device",
                "--virtual-mfa-device-name",
                name.as_str(),
                "--outfile",
                file.to_str().unwrap(),
                "--bootstrap-method",
                method,
                "--endpoint-url",
                moto.url.as_str(),
            ];
            let stdout = if who == "kagi" {
                let out = sb.run(&args);
                assert_eq!(out.code, 0, "{}", out.stderr);
                out.stdout
            } else {
                let out = std::process::Command::new(&v2.bin)
                    .args(args)
                    .env_clear()
                    .envs(sb.env().vars)
                    .output()
                    .unwrap();
                assert!(out.status.success());
                String::from_utf8(out.stdout).unwrap()
            };
            let written = std::fs::read(&file).unwrap();
            assert!(!written.is_empty());
            if method == "Base32StringSeed" {
                assert!(
                    written
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b"234567=".contains(b)),
                    "{written:?}"
                );
            }
            outputs.push(stdout.replace(&name, "NAME"));
        }
        assert_eq!(outputs[0], outputs[1], "{method}");
        assert!(!outputs[0].contains(method));
    }
    // Both are required, as the official CLI says.
    let out = sb.run(&[
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "x",
        "--endpoint-url",
        moto.url.as_str(),
    ]);
    assert_eq!(out.code, 252);
    assert!(
        out.stderr
            .contains("the following arguments are required: --outfile, --bootstrap-method"),
        "{}",
        out.stderr
    );
}
