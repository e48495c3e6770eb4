//! Interactive `configure` through a pseudo-terminal, and Ctrl-C, on the built binary: `KAGI_BIN`,
//! else this crate's `kagi-cli` example (built by `cargo test`) or `kagi` in the same target dir.

use std::path::PathBuf;

use crate::common::{Sandbox, skip_or_fail};

pub(crate) fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KAGI_BIN") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?; // target/<profile>/deps/it-... -> target/<profile>
    // `cargo test` builds this crate's examples, so the example is as fresh as the test.
    ["examples/kagi-cli", "kagi"]
        .iter()
        .map(|n| profile_dir.join(n))
        .find(|p| p.is_file())
}

#[test]
fn configure_prompts_on_a_terminal() {
    let Some(bin) = binary() else {
        skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    let sb = Sandbox::new();
    let run = |answers: &[&str], prompts: &[&str]| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.arg("configure")
            .env_clear()
            .env("HOME", sb.home())
            .env("PATH", "/usr/bin:/bin");
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
        for (prompt, answer) in prompts.iter().zip(answers) {
            p.exp_string(prompt)
                .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
            p.send_line(answer).unwrap();
        }
        p.exp_eof().unwrap();
    };
    run(
        &[
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "ap-northeast-1",
            "",
        ],
        &[
            "AWS Access Key ID [None]: ",
            "AWS Secret Access Key [None]: ",
            "Default region name [None]: ",
            "Default output format [None]: ",
        ],
    );
    assert_eq!(
        sb.read(".aws/credentials"),
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    );
    assert_eq!(
        sb.read(".aws/config"),
        "[default]\nregion = ap-northeast-1\n"
    );
    // Again: masked current values, Enter keeps them, a new output format is written.
    run(
        &["", "", "", "json"],
        &[
            "AWS Access Key ID [****************MPLE]: ",
            "AWS Secret Access Key [****************EKEY]: ",
            "Default region name [ap-northeast-1]: ",
            "Default output format [None]: ",
        ],
    );
    assert_eq!(
        sb.read(".aws/config"),
        "[default]\nregion = ap-northeast-1\noutput = json\n"
    );
}

#[test]
fn ctrl_c_exits_130() {
    let Some(bin) = binary() else {
        skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    // A listener that accepts and never answers keeps the request in flight.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sb = Sandbox::new();
    let mut child = std::process::Command::new(&bin)
        .args(["sts", "get-caller-identity", "--endpoint-url", &url])
        .env_clear()
        .env("HOME", sb.home())
        .env("AWS_ACCESS_KEY_ID", "AKIA")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the request arrives, then interrupt.
    let (_conn, _) = listener.accept().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{} {status:?}", bin.display());
}

#[cfg(unix)]
#[test]
fn a_link_named_aws_behaves_the_same() {
    let Some(bin) = binary() else {
        skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    let sb = Sandbox::new();
    let link = sb.home().join("aws");
    std::os::unix::fs::symlink(&bin, &link).unwrap();
    let run = |exe: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new(exe)
            .args(args)
            .env_clear()
            .env("HOME", sb.home())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8(o.stdout).unwrap(),
            String::from_utf8(o.stderr).unwrap(),
        )
    };
    assert_eq!(run(&link, &["--version"]), run(&bin, &["--version"]));
    let (code, _, err) = run(
        &link,
        &["sts", "get-caller-identity", "--region", "us-east-1"],
    );
    assert_eq!(code, Some(253));
    assert_eq!(
        err,
        "\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n"
    );
}
