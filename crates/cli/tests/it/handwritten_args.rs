//! The hand-written commands' arguments (`opts.rs`, one parser for all of them) against AWS
//! CLI v2, byte for byte, before any request: argparse's errors in its order (a value error as
//! it is read, then the required arguments), then `int()` of an integer option (a general
//! error, 255), then `BasicCommand`'s `Unknown options: a,b` (a parameter error without the
//! usage frame, the leftovers joined by `,`).

use crate::common::{Sandbox, differences, official_v2};

#[test]
fn argument_errors_match_aws_cli_v2() {
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
        // Required arguments before unknown ones.
        cmd("eks update-kubeconfig --bogus"),
        cmd("cloudformation deploy --bogus"),
        cmd("rds generate-db-auth-token --bogus"),
        // Unknown options and extra words: `,`-joined, no usage frame.
        cmd("eks update-kubeconfig --name x --bogus=1 y"),
        cmd("eks get-token --cluster-name c --bogus"),
        cmd("logs tail g --bogus a"),
        cmd("logs tail g h"),
        cmd("rds generate-db-auth-token --hostname h --port 1 --username u --bogus"),
        cmd("ecr get-login-password --bogus a"),
        cmd("ecr-public get-login-password --bogus"),
        // A list option given as `--opt=value` takes that value alone.
        cmd("cloudformation deploy --template-file t --stack-name s --tags=a b"),
        // A flag with a value; a value that looks like an option.
        cmd("eks update-kubeconfig --name x --dry-run=1"),
        cmd("cloudformation package --template-file t --s3-bucket b --use-json=1"),
        cmd("eks update-kubeconfig --name -x"),
        cmd("logs tail g --log-stream-names"),
        cmd("logs tail g --format=x"),
        // Python's int(): a general error (255), before the unknown options.
        cmd("codeartifact login --tool pip --domain d --repository r --duration-seconds x --bogus"),
        cmd("rds generate-db-auth-token --hostname h --port x --username u"),
        // The s3 commands (their own parser, the same rules at its edges).
        cmd("s3 ls --bogus a"),
        cmd("s3 ls s3://a s3://b"),
        cmd("s3 cp a b c"),
        cmd("s3 rm s3://b/k --bogus"),
        cmd("s3 cp a s3://b/k --page-size x"),
        cmd("s3 ls --page-size=-5 --recursive=1"),
    ];
    let diffs = differences(&sb, &official, &commands, &|e| e.to_string());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
