//! The README's first command, as a test: `kagi demo --output json` must walk the whole seed
//! story and every step must behave as the tutorial says.

use std::process::Command;

#[test]
fn demo_walks_the_seed_story() {
    let out = Command::new(env!("CARGO_BIN_EXE_kagi"))
        .args(["demo", "--output", "json"])
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run kagi demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("demo output is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    let steps = report["steps"].as_array().expect("steps");
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s["passed"] != true)
        .map(|s| format!("{}: {} -> {}", s["id"], s["command"], s["detail"]))
        .collect();
    assert!(failed.is_empty(), "failed steps:\n{}", failed.join("\n"));
    assert!(out.status.success(), "demo exited {:?}", out.status);

    // Every step of the seed must be there, including each denial.
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    for id in [
        "version",
        "create-user",
        "create-access-key",
        "create-policy-switch",
        "attach-user-policy",
        "create-policy-with-comments",
        "create-policy-ecr",
        "create-role",
        "attach-role-policy",
        "configure",
        "whoami-role",
        "whoami-user",
        "get-login-password",
        "push",
        "pull",
        "push-other-repo",
        "user-ecr-login",
        "role-iam",
        "user-iam",
        "trail-put-image",
        "trail-why-denied",
        "policy-explain",
        "policy-generate",
    ] {
        assert!(
            ids.contains(&id),
            "step {id} missing from the demo: {ids:?}"
        );
    }
    let detail = |id: &str| {
        steps.iter().find(|s| s["id"] == id).unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(detail("whoami-role").contains(":assumed-role/ECRLoginAndPushRole/botocore-session-"));
    // The event history explains the denied push; the generated policy fits in the tutorial's.
    assert!(
        detail("trail-why-denied").contains("no identity-based policy allows it"),
        "{}",
        detail("trail-why-denied")
    );
    assert!(detail("policy-generate").contains("on test-repos"));
    assert!(detail("whoami-user").ends_with(":user/user-for-switch"));
    assert!(
        detail("push-other-repo").contains("other-repos"),
        "{}",
        detail("push-other-repo")
    );
}

/// The second act: the push role in a workload account of an organization, reached by
/// cross-account switch role, and an SCP that forbids what the role's own policy allows.
#[test]
fn demo_organization_act() {
    let out = Command::new(env!("CARGO_BIN_EXE_kagi"))
        .args(["demo", "--organization", "--output", "json"])
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run kagi demo --organization");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("demo output is not JSON ({e}):\n{stdout}"));
    let steps = report["steps"].as_array().expect("steps");
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s["passed"] != true)
        .map(|s| format!("{}: {} -> {}", s["id"], s["command"], s["detail"]))
        .collect();
    assert!(failed.is_empty(), "failed steps:\n{}", failed.join("\n"));
    assert!(out.status.success());
    let detail = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("step {id} missing"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let workload = detail("create-account");
    let workload = workload
        .strip_prefix("account ")
        .and_then(|r| r.split(':').next())
        .expect("the new account's id");
    assert!(detail("whoami-workload").starts_with(&format!(
        "arn:aws:sts::{workload}:assumed-role/ECRLoginAndPushRole/"
    )));
    assert!(detail("push-workload").contains(workload));
    assert!(
        detail("scp-denies").contains("with an explicit deny in a service control policy"),
        "{}",
        detail("scp-denies")
    );
}

/// The third act: the seed's push for a person of IAM Identity Center, under a permission set
/// that holds exactly the seed's policy, signed in with `configure sso` / `sso login`.
#[test]
fn demo_identity_center_act() {
    let out = Command::new(env!("CARGO_BIN_EXE_kagi"))
        .args(["demo", "--identity-center", "--output", "json"])
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run kagi demo --identity-center");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "demo output is not JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let steps = report["steps"].as_array().expect("steps");
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s["passed"] != true)
        .map(|s| format!("{}: {} -> {}", s["id"], s["command"], s["detail"]))
        .collect();
    assert!(failed.is_empty(), "failed steps:\n{}", failed.join("\n"));
    assert!(out.status.success());
    let detail = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("step {id} missing"))["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let account = report["account"].as_str().unwrap();
    for id in ["whoami-sso", "whoami-sso-again"] {
        let arn = detail(id);
        let rest = arn
            .strip_prefix(&format!(
                "arn:aws:sts::{account}:assumed-role/AWSReservedSSO_ECRLoginAndPush_"
            ))
            .unwrap_or_else(|| panic!("{id}: {arn}"));
        let (hex, user) = rest.split_once('/').unwrap();
        assert!(
            hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{arn}"
        );
        assert_eq!(user, "alice");
    }
    assert!(detail("get-inline-policy").contains("equal to ecr-policy.json"));
    assert!(detail("portal-approve").starts_with("approved "));
    assert!(detail("configure-sso").contains("[profile ECRPushSSOProfile]"));
    assert!(detail("sso-push").contains("test-repos:sso"));
    assert!(detail("sso-push-other-repo").starts_with("denied as expected"));
    assert!(detail("sso-iam").contains("(AccessDenied)"));
    assert!(detail("after-logout").contains("Error loading SSO Token"));
    // The portal password never reaches the report.
    assert!(!stdout.contains("-Portal!"), "{stdout}");
}

/// The `pushed N/N bytes` lines of `text`.
fn pushed_lines(text: &str) -> Vec<&str> {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| l.starts_with("pushed ") && l.ends_with(" bytes"))
        .collect()
}

/// Not on a terminal (a pipe, a CI log): the push's progress is one final line on stderr,
/// nothing is redrawn and stdout carries none of it.
#[test]
fn push_progress_is_one_line_on_stderr_when_not_a_terminal() {
    let out = Command::new(env!("CARGO_BIN_EXE_kagi"))
        .arg("demo")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run kagi demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains('\r') && !stderr.contains('\r'), "{stderr}");
    assert!(!stdout.contains("pushing") && pushed_lines(&stdout).is_empty());
    let lines = pushed_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    let (done, total) = lines[0]
        .trim_start_matches("pushed ")
        .trim_end_matches(" bytes")
        .split_once('/')
        .unwrap();
    assert_eq!(done, total, "{stderr}");
    assert!(total.parse::<u64>().unwrap() > 0);
}

/// On a terminal the bar is redrawn in place (carriage return, erase line) and ends on the same
/// final line.
#[test]
fn push_progress_redraws_in_place_on_a_terminal() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kagi"));
    cmd.arg("demo").env_remove("AWS_PROFILE");
    let mut p = rexpect::session::spawn_command(cmd, Some(300_000)).expect("spawn in a pty");
    let transcript = p.exp_eof().expect("the demo ends");
    let at = transcript
        .find("pushing ")
        .unwrap_or_else(|| panic!("no progress bar:\n{transcript}"));
    let progress = &transcript[at..];
    assert!(progress.contains("\r\u{1b}[2K"), "{progress}");
    let end = progress
        .find("pushed ")
        .unwrap_or_else(|| panic!("no final line: {progress}"));
    let final_line = progress[end..].split('\n').next().unwrap();
    assert!(
        final_line.trim_end().ends_with(" bytes") && !final_line.contains("$ "),
        "the final line must end before the demo goes on: {final_line:?}"
    );
    assert!(
        transcript.contains("steps behaved as the tutorial says"),
        "{transcript}"
    );
}
