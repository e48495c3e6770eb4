//! `codeartifact login`: argument errors, byte for byte against AWS CLI v2, and that no
//! request goes out before them (an invalid `--tool` is left out: the Debian v2 predates
//! `swift` in the list of choices); then `--tool swift|dotnet|nuget` against a local
//! CodeArtifact endpoint (neither moto nor `kagi serve` serves it: a capturing server answers
//! GetAuthorizationToken and GetRepositoryEndpoint) with fake tools on `PATH`, kagi and the
//! official CLIs (v1; v2 2.9 where it has the tool) compared on what each tool received
//! (argv, input, environment), `~/.netrc`, and what was printed. The pip/twine/npm commands,
//! `.pypirc` text and expiry wording are compared with the official CLI's own classes in
//! `codeartifact.rs`'s unit tests.

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
        "dom",
        "--repository",
        "r",
        "--dry-run",
    ]);
    assert_eq!(out.code, 255, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Could not connect to the endpoint URL: \"http://127.0.0.1:9/v1/authorization-token?domain=dom\""),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

/// Fake `swift`, `dotnet` and `nuget`: each records its argv, its input and two variables
/// (`HOME`, `FAKE_MARK`) in `$FAKE_LOG`; a list command prints `$FAKE_LIST`'s listing (as
/// `dotnet nuget list source --format detailed` prints it), and the command whose first
/// words after the tool are `$FAKE_FAIL` fails with `boom` on stderr.
const FAKE_TOOL: &str = r#"#!/bin/sh
tool=${0##*/}
{
  printf '%s' "$tool"
  for a in "$@"; do printf ' [%s]' "$a"; done
  printf '\nstdin: [%s]\nHOME=%s FAKE_MARK=%s\n' "$(cat)" "$HOME" "$FAKE_MARK"
} >> "$FAKE_LOG"
case "$*" in
  *list*) [ -n "$FAKE_LIST" ] && cat "$FAKE_LIST"; exit 0 ;;
esac
if [ -n "$FAKE_FAIL" ]; then
  case "$1 $2" in
    "$FAKE_FAIL"*) echo boom >&2; exit 1 ;;
  esac
fi
exit 0
"#;

const HOST: &str = "d-111122223333.d.codeartifact.us-east-1.amazonaws.com";
const TOKEN: &str = "eyJ2ZXIiOjF9.tok-en_Z=";

/// A CodeArtifact endpoint: GetAuthorizationToken (expiring 12 h 1 min after the call) and
/// GetRepositoryEndpoint for the format asked.
fn codeartifact_server() -> String {
    let (url, _) = crate::common::capture_server(|req| {
        let body = if req.target.starts_with("/v1/authorization-token") {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            format!(
                r#"{{"authorizationToken":"{TOKEN}","expiration":{}}}"#,
                now + 12 * 3600 + 60
            )
        } else {
            let format = req
                .target
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("format="))
                .unwrap_or("x")
                .to_string();
            format!(r#"{{"repositoryEndpoint":"https://{HOST}/{format}/repo/"}}"#)
        };
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            body.into_bytes(),
        )
    });
    url
}

/// What one CLI did: exit status, stdout (the expiry instant masked), stderr, the fake tools'
/// log, `~/.netrc` (and its mode).
#[derive(Debug, PartialEq)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    log: String,
    netrc: String,
}

fn mask(stdout: &str) -> String {
    stdout
        .split_inclusive('\n')
        .map(|l| match l.split_once(" at ") {
            Some((head, _)) if l.starts_with("Login expires in ") => format!("{head} at <at>\n"),
            _ => l.to_string(),
        })
        .collect()
}

/// Arguments, the list command's listing, `FAKE_FAIL`, whether `PATH` has the tools,
/// `~/.netrc` before, whether AWS CLI v2 2.9 has the tool and its messages.
type Case<'a> = (
    Vec<String>,
    Option<&'a str>,
    &'a str,
    bool,
    Option<String>,
    bool,
);

#[test]
fn login_swift_nuget_dotnet_as_the_official_clis() {
    let Some(v1) = crate::common::official_v1() else {
        return;
    };
    let v2 = official_v2();
    let url = codeartifact_server();
    let tools = tempfile::tempdir().unwrap();
    for t in ["swift", "dotnet", "nuget"] {
        let p = tools.path().join(t);
        std::fs::write(&p, FAKE_TOOL).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let empty = tempfile::tempdir().unwrap();
    let mut sb = Sandbox::new();
    let log = sb.home().join("fake.log");
    let listing = sb.home().join("listing.txt");
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "")
        .set("TZ", "UTC")
        .set("FAKE_MARK", "seen")
        .set("FAKE_LOG", &log.display().to_string());
    let with_tools = format!("{}:/usr/bin:/bin", tools.path().display());
    let index = format!("https://{HOST}/nuget/repo/v3/index.json");
    let listings = [
        // Nothing of ours: `dom/repo` added.
        "Registered Sources:\n\n  1.  nuget.org [Enabled]\n      https://api.nuget.org/v3/index.json\n".to_string(),
        // Our URL under another name: that source updated.
        format!("Registered Sources:\n  1.  nuget.org [Enabled]\n      https://api.nuget.org/v3/index.json\n  2.  My [Repo] source [Disabled]\n      {index}\n"),
        // The default name with another URL: updated.
        "Registered Sources:\n  1.  dom/repo [Enabled]\n      https://old.example/v3/index.json\n".to_string(),
    ];
    let login = |tool: &str, extra: &str| -> Vec<String> {
        let mut v: Vec<String> =
            format!("codeartifact login --tool {tool} --domain dom --repository repo")
                .split(' ')
                .map(str::to_string)
                .collect();
        v.extend(
            extra
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        // v2 2.9 predates AWS_ENDPOINT_URL.
        v.extend(["--endpoint-url".to_string(), url.clone()]);
        v
    };
    let other_entry = format!(
        "machine example.com login me password old\nmachine {HOST}\n  login token\n  password stale-token\n"
    );
    let cases: Vec<Case> = vec![
        (login("swift", ""), None, "", true, None, false),
        (
            login("swift", "--namespace my-scope"),
            None,
            "",
            true,
            Some(other_entry.clone()),
            false,
        ),
        (
            login("swift", ""),
            None,
            "",
            true,
            Some("machine example.com login me password old".into()),
            false,
        ),
        (
            login("swift", "--dry-run --namespace a-b"),
            None,
            "",
            true,
            None,
            false,
        ),
        (
            login("swift", "--namespace=-bad"),
            None,
            "",
            true,
            None,
            false,
        ),
        (
            login("swift", "--namespace bad_"),
            None,
            "",
            true,
            None,
            false,
        ),
        (
            login("swift", ""),
            None,
            "package-registry login",
            true,
            None,
            false,
        ),
        (login("swift", ""), None, "", false, None, false),
        (
            login("dotnet", ""),
            Some(&listings[0]),
            "",
            true,
            None,
            true,
        ),
        (
            login("dotnet", ""),
            Some(&listings[1]),
            "",
            true,
            None,
            true,
        ),
        (
            login("dotnet", ""),
            Some(&listings[2]),
            "",
            true,
            None,
            true,
        ),
        (
            login("dotnet", "--dry-run"),
            Some(&listings[0]),
            "",
            true,
            None,
            true,
        ),
        (
            login("dotnet", "--dry-run"),
            Some(&listings[2]),
            "",
            true,
            None,
            true,
        ),
        (login("nuget", ""), Some(&listings[0]), "", true, None, true),
        (login("nuget", ""), Some(&listings[1]), "", true, None, true),
        (
            login("nuget", "--dry-run"),
            Some(&listings[2]),
            "",
            true,
            None,
            true,
        ),
        (login("nuget", ""), None, "", false, None, true),
        (
            login("dotnet", "--namespace x"),
            Some(&listings[0]),
            "",
            true,
            None,
            true,
        ),
        // botocore's validation of the calls' input: a domain of one character.
        (login("dotnet", "--domain d"), None, "", true, None, true),
        // A failed update: the token masked (v1's and later v2's CommandFailedError).
        (
            login("dotnet", ""),
            Some(&listings[0]),
            "nuget add",
            true,
            None,
            false,
        ),
        (
            login("nuget", ""),
            Some(&listings[2]),
            "sources update",
            true,
            None,
            false,
        ),
    ];
    let mut diffs = Vec::new();
    for (args, list, fail, path, netrc, in_v2) in &cases {
        let run = |official: Option<&crate::common::Official>| -> Run {
            let _ = std::fs::remove_file(&log);
            let _ = std::fs::remove_file(sb.home().join(".netrc"));
            if let Some(n) = netrc {
                sb.write(".netrc", n);
            }
            match list {
                Some(l) => {
                    std::fs::write(&listing, l).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(&listing);
                }
            }
            let mut sb2 = Sandbox {
                dir: tempfile::tempdir().unwrap(),
                vars: sb.vars.clone(),
            };
            sb2.set("FAKE_FAIL", fail)
                .set("FAKE_LIST", &listing.display().to_string())
                .set(
                    "PATH",
                    &if *path {
                        with_tools.clone()
                    } else {
                        empty.path().display().to_string()
                    },
                );
            let mut env = sb2.env();
            env.home = sb.home();
            env.vars
                .insert("HOME".into(), sb.home().display().to_string());
            let (code, stdout, stderr) = match official {
                Some(o) => {
                    let out = std::process::Command::new(&o.bin)
                        .args(args)
                        .env_clear()
                        .envs(&env.vars)
                        .output()
                        .unwrap();
                    (
                        out.status.code().unwrap_or(-1),
                        String::from_utf8_lossy(&out.stdout).into_owned(),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                    )
                }
                None => {
                    let mut argv: Vec<std::ffi::OsString> = vec!["aws".into()];
                    argv.extend(args.iter().map(std::ffi::OsString::from));
                    let (mut out, mut err) = (Vec::new(), Vec::new());
                    let mut input = std::io::Cursor::new(Vec::new());
                    let code = kagi_cli::run(
                        &argv,
                        &env,
                        &mut kagi_cli::Io {
                            stdin: &mut input,
                            stdout: &mut out,
                            stderr: &mut err,
                        },
                    );
                    (
                        code,
                        String::from_utf8(out).unwrap(),
                        String::from_utf8(err).unwrap(),
                    )
                }
            };
            let netrc_path = sb.home().join(".netrc");
            let netrc = match std::fs::metadata(&netrc_path) {
                Ok(m) => {
                    use std::os::unix::fs::PermissionsExt as _;
                    format!(
                        "{:o}\n{}",
                        m.permissions().mode() & 0o777,
                        std::fs::read_to_string(&netrc_path).unwrap()
                    )
                }
                Err(_) => String::new(),
            };
            Run {
                code,
                stdout: mask(&stdout),
                stderr,
                log: std::fs::read_to_string(&log).unwrap_or_default(),
                netrc,
            }
        };
        let ours = run(None);
        let mut officials = vec![&v1];
        if *in_v2 && let Some(v2) = &v2 {
            officials.push(v2);
        }
        for o in officials {
            let theirs = run(Some(o));
            // v1 exits 255 for every error; v2 (kagi) 252 for a parameter error.
            let same_code = if o.v2() {
                theirs.code == ours.code
            } else {
                (theirs.code == 0) == (ours.code == 0)
            };
            if !same_code
                || (&theirs.stdout, &theirs.stderr, &theirs.log, &theirs.netrc)
                    != (&ours.stdout, &ours.stderr, &ours.log, &ours.netrc)
            {
                diffs.push(format!(
                    "{args:?} ({})\n--- aws\n{theirs:#?}\n--- kagi\n{ours:#?}",
                    o.version
                ));
            }
        }
        // Something was compared: the token reached the tool where the official CLI puts it.
        if args.iter().all(|a| a != "--dry-run") && ours.code == 0 {
            assert!(
                ours.log.contains(TOKEN) || ours.netrc.contains(TOKEN),
                "{args:?}: {ours:#?}"
            );
            assert!(
                ours.stdout
                    .contains("Login expires in 12 hours and 1 minute at <at>"),
                "{ours:#?}"
            );
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
