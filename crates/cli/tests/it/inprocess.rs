//! In-process invocations without a server: version, configure, errors, parameters.

use crate::common::Sandbox;

#[test]
fn version_is_one_line() {
    let s = Sandbox::new();
    let o = s.run(&["--version"]);
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.starts_with("aws-cli/2.36.7 Python/3.13.0 "),
        "{}",
        o.stdout
    );
    assert_eq!(o.stdout.lines().count(), 1);
    assert!(o.stdout.trim_end().contains(" source/") && o.stdout.contains(" kagi/"));
}
