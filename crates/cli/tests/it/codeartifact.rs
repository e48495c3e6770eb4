//! `codeartifact login`: neither moto nor `kagi serve` serves CodeArtifact, so the calls
//! (GetAuthorizationToken, GetRepositoryEndpoint) cannot be exercised against a server here;
//! the commands, `.pypirc` text and expiry wording are compared with the official CLI's own
//! classes in `codeartifact.rs`'s unit tests. This checks what needs no server: argument
//! errors, byte for byte against AWS CLI v2, and that no request goes out before them. (An
//! invalid `--tool` is left out: the Debian v2 predates `swift` in the list of choices.)

use crate::common::{Sandbox, differences, official_v2};

#[test]
fn login_argument_errors_match_aws_cli_v2() {
    let Some(official) = official_v2() else {
        return;
    };
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        // Nothing listens here: an error before any request is the same either way.
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .set("AWS_PAGER", "");
    let cmd = |s: &str| -> Vec<String> { s.split(' ').map(str::to_string).collect() };
    let commands = [
        cmd("codeartifact login --tool pip"),
        cmd("codeartifact login --domain d --repository r"),
        cmd("codeartifact login --tool npm --domain d --repository r --bogus"),
        cmd("codeartifact login --tool twine --domain d"),
    ];
    let diffs = differences(&sb, &official, &commands, &|e| e.to_string());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn login_reaches_the_codeartifact_endpoint() {
    // Without a server the first call fails as the official CLI's does (connection refused).
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let out = sb.run(&[
        "codeartifact",
        "login",
        "--tool",
        "pip",
        "--domain",
        "d",
        "--repository",
        "r",
        "--dry-run",
    ]);
    assert_eq!(out.code, 255, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Could not connect to the endpoint URL: \"http://127.0.0.1:9/v1/authorization-token?domain=d\""),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}
