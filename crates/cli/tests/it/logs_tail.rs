//! `logs tail`: kagi and AWS CLI v2 (the command is v2's; v1 has none) print the same bytes for
//! the same log group on moto, in each format and with each filter; `--follow` (kagi alone, on
//! the built binary) prints events as they arrive, never twice, and ends with status 0 on
//! SIGINT. Needs `KAGI_COMPAT_VENV` (moto) and AWS CLI v2; skips with a notice without them,
//! fails under CI.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{Sandbox, differences, official_v2, skip_or_fail};
use crate::moto::start_moto;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn put(sb: &Sandbox, url: &str, stream: &str, events: &[(i64, &str)]) {
    let events: Vec<String> = events
        .iter()
        .map(|(t, m)| serde_json::json!({"timestamp": t, "message": m}).to_string())
        .collect();
    let out = sb.run(&[
        "logs",
        "put-log-events",
        "--log-group-name",
        "app",
        "--log-stream-name",
        stream,
        "--log-events",
        &format!("[{}]", events.join(",")),
        "--endpoint-url",
        url,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

fn setup() -> Option<(crate::moto::Moto, Sandbox)> {
    let moto = start_moto()?;
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "");
    let url = moto.url.clone();
    for args in [
        vec!["logs", "create-log-group", "--log-group-name", "app"],
        vec![
            "logs",
            "create-log-stream",
            "--log-group-name",
            "app",
            "--log-stream-name",
            "web-1",
        ],
        vec![
            "logs",
            "create-log-stream",
            "--log-group-name",
            "app",
            "--log-stream-name",
            "worker-1",
        ],
    ] {
        let mut a = args.clone();
        a.extend(["--endpoint-url", &url]);
        assert_eq!(sb.run(&a).code, 0, "{args:?}");
    }
    // Whole seconds, one with milliseconds: both timestamp forms of each format.
    let t = (now_ms() / 1000 - 120) * 1000;
    put(
        &sb,
        &url,
        "web-1",
        &[
            (t, "GET / 200"),
            (t + 1_250, "ERROR something broke  \n"),
            (
                t + 2_000,
                r#"{"level": "info", "n": [1, 2], "who": "caf\u00e9"}"#,
            ),
        ],
    );
    put(
        &sb,
        &url,
        "worker-1",
        &[(t + 1_500, "job 7 done"), (t + 3_000, "ERROR job 8 failed")],
    );
    Some((moto, sb))
}

#[test]
fn logs_tail_prints_as_aws_cli_v2() {
    let Some((moto, sb)) = setup() else { return };
    let Some(v2) = official_v2() else { return };
    let url = moto.url.as_str();
    let since = "1h";
    let cmds: Vec<Vec<&str>> = vec![
        vec!["logs", "tail", "app", "--since", since],
        vec!["logs", "tail", "app", "--since", since, "--format", "short"],
        vec!["logs", "tail", "app", "--since", since, "--format", "json"],
        vec!["logs", "tail", "app", "--since", since, "--format=detailed"],
        vec![
            "logs",
            "tail",
            "app",
            "--since",
            since,
            "--filter-pattern",
            "ERROR",
        ],
        vec![
            "logs",
            "tail",
            "app",
            "--since",
            since,
            "--log-stream-names",
            "worker-1",
            "web-1",
            "--format",
            "short",
        ],
        vec![
            "logs",
            "tail",
            "app",
            "--since",
            since,
            "--log-stream-name-prefix",
            "work",
        ],
        vec!["logs", "tail", "app", "--since", "2001-01-01T00:00:00Z"],
        // The default window (ten minutes) holds every event too.
        vec!["logs", "tail", "app"],
        vec!["logs", "tail", "nope", "--since", since],
        vec!["logs", "tail", "app", "--format", "bad"],
        vec!["logs", "tail"],
    ];
    let commands: Vec<Vec<String>> = cmds
        .iter()
        .map(|c| {
            c.iter()
                .map(|a| a.to_string())
                .chain(["--endpoint-url".to_string(), url.to_string()])
                .collect()
        })
        .collect();
    // Every command printed something to compare.
    for c in &commands[..9] {
        let argv: Vec<&str> = c.iter().map(String::as_str).collect();
        let out = sb.run(&argv);
        assert!(
            out.code == 0 && out.stdout.lines().count() >= 2,
            "{c:?}: {}{}",
            out.stdout,
            out.stderr
        );
    }
    let diffs = differences(&sb, &v2, &commands, &|e| e.to_string());
    // An unknown option: a hand-written command's (BasicCommand's) parameter error, alone, as
    // 2.9 prints it and 2.36.7 raises it (`ParamValidationError`, awscli/customizations/
    // commands.py), not the usage frame of a modelled operation's.
    let bogus = sb.run(&["logs", "tail", "app", "--bogus", "--endpoint-url", url]);
    assert_eq!(bogus.code, 252);
    assert_eq!(bogus.stderr, "\nUnknown options: --bogus\n");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn logs_tail_follow_prints_new_events_until_sigint() {
    let Some((moto, sb)) = setup() else { return };
    let Some(bin) = crate::pty::binary() else {
        skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    let url = moto.url.clone();
    let mut child = std::process::Command::new(&bin)
        .args([
            "logs",
            "tail",
            "app",
            "--follow",
            "--since",
            "1h",
            "--format",
            "short",
            "--endpoint-url",
            &url,
        ])
        .env_clear()
        .envs(sb.env().vars)
        .env("KAGI_LOGS_TAIL_INTERVAL", "0.2")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    let wait_for = |text: &str, lines: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !lines.iter().any(|l| l.ends_with(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => panic!("no {text:?} within 20 s; got {lines:?}"),
            }
        }
    };
    wait_for("ERROR job 8 failed", &mut lines);
    assert_eq!(lines.len(), 5, "{lines:?}");
    // New events, one at the newest timestamp already seen (a different event there).
    let t = now_ms();
    put(&sb, &url, "web-1", &[(t, "fresh one")]);
    wait_for("fresh one", &mut lines);
    put(
        &sb,
        &url,
        "worker-1",
        &[(t, "fresh two"), (t + 1, "fresh three")],
    );
    wait_for("fresh three", &mut lines);
    // A few more polls: nothing printed twice.
    std::thread::sleep(Duration::from_millis(800));
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    assert_eq!(lines.len(), 8, "{lines:?}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "still running after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
}
