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
    assert!(detail("whoami-user").ends_with(":user/user-for-switch"));
    assert!(
        detail("push-other-repo").contains("other-repos"),
        "{}",
        detail("push-other-repo")
    );
}
