//! The seed's steps 7–9 against moto (a server nobody here wrote), driven in-process.
//! Needs `KAGI_COMPAT_VENV` (a venv with `moto[server]`); skips with a notice unless CI is set.

use serde_json::Value;

use crate::common::Sandbox;

pub struct Moto {
    _server: kagi_testkit::s3::S3Server,
    pub url: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's server on loopback (kagi-testkit's), or `None` (skipped with a notice) without
/// `KAGI_COMPAT_VENV`, unless `CI` is set.
pub fn start_moto() -> Option<Moto> {
    let server = kagi_testkit::s3::required("moto")?;
    Some(Moto {
        url: server.endpoint.clone(),
        _server: server,
    })
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn seed_steps_7_to_9_against_moto() {
    let Some(moto) = start_moto() else { return };
    crate::seed::seed_steps(&moto.url, "testing", "testing", "123456789012", false);
}

#[test]
fn pagination_against_moto() {
    let Some(moto) = start_moto() else { return };
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &moto.url)
        .set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing");
    for i in 0..5 {
        assert_eq!(
            sb.run(&["iam", "create-user", "--user-name", &format!("u{i}")])
                .code,
            0
        );
    }
    let names = |out: &str| -> Vec<String> {
        json(out)["Users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["UserName"].as_str().unwrap().to_string())
            .collect()
    };
    let all = sb.run(&["iam", "list-users", "--page-size", "2"]);
    assert_eq!(names(&all.stdout), ["u0", "u1", "u2", "u3", "u4"]);
    assert!(!all.stdout.contains("NextToken") && !all.stdout.contains("IsTruncated"));
    let first = json(
        &sb.run(&["iam", "list-users", "--max-items", "3", "--page-size", "2"])
            .stdout,
    );
    assert_eq!(first["Users"].as_array().unwrap().len(), 3);
    let token = first["NextToken"].as_str().unwrap().to_string();
    let rest = sb.run(&["iam", "list-users", "--starting-token", &token]);
    assert_eq!(names(&rest.stdout), ["u3", "u4"]);
    let text = sb.run(&[
        "iam",
        "list-users",
        "--query",
        "Users[].UserName",
        "--output",
        "text",
    ]);
    assert_eq!(text.stdout, "u0\tu1\tu2\tu3\tu4\n");
}

/// kagi and the official CLI (v1 from PyPI: same formatter, parameter parsing, paginator and
/// error wording as v2) print the same bytes for the same commands on the same server. v1 is
/// told `cli_timestamp_format = iso8601`, v2's default (and kagi's only form).
#[test]
fn same_output_as_the_official_cli_on_moto() {
    let Some(moto) = start_moto() else { return };
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &moto.url)
        .set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    sb.write(".aws/config", "[default]\ncli_timestamp_format = iso8601\n");
    for i in 0..3 {
        let name = format!("user{i}");
        assert_eq!(
            sb.run(&[
                "iam",
                "create-user",
                "--user-name",
                &name,
                "--tags",
                "Key=team,Value=blue"
            ])
            .code,
            0
        );
    }
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    assert_eq!(
        sb.run(&[
            "iam",
            "create-role",
            "--role-name",
            "r1",
            "--assume-role-policy-document",
            trust
        ])
        .code,
        0
    );
    let commands: &[&[&str]] = &[
        &["sts", "get-caller-identity"],
        &["sts", "get-caller-identity", "--output", "text"],
        &["sts", "get-caller-identity", "--output", "table"],
        &["iam", "list-users"],
        &["iam", "list-users", "--output", "text"],
        &["iam", "list-users", "--output", "table"],
        &["iam", "list-users", "--max-items", "2", "--page-size", "1"],
        &[
            "iam",
            "list-users",
            "--max-items",
            "2",
            "--page-size",
            "1",
            "--output",
            "text",
        ],
        &[
            "iam",
            "list-users",
            "--query",
            "Users[?UserName=='user1'].[UserName,Path]",
            "--output",
            "text",
        ],
        &["iam", "get-role", "--role-name", "r1"],
        &["iam", "get-role", "--role-name", "r1", "--output", "text"],
        &["iam", "get-role", "--role-name", "r1", "--output", "table"],
        &[
            "iam",
            "list-user-tags",
            "--user-name",
            "user0",
            "--output",
            "table",
        ],
        &["iam", "get-user", "--user-name", "nobody"],
        &["iam", "create-user"],
        &["iam", "create-user", "--user-name", "x", "--tags", "Key=a"],
        &["iam", "list-users", "--bogus"],
        &["ecr", "describe-repositories", "--output", "text"],
        &[
            "ecr",
            "describe-repositories",
            "--query",
            "repositories[].repositoryName",
        ],
        &["ecr", "get-authorization-token", "--output", "table"],
        &["ecr", "list-images", "--repository-name", "test-repos"],
        &["ecr", "describe-repositories", "--repository-names", "nope"],
    ];
    let Some(v1) = crate::common::official_v1() else {
        return;
    };
    let commands: Vec<Vec<String>> = commands
        .iter()
        .map(|c| c.iter().map(|a| a.to_string()).collect())
        .collect();
    let diffs = crate::common::differences(&sb, &v1, &commands, &crate::common::without_v1_note);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
