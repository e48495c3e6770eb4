//! `s3` commands over GLACIER/DEEP_ARCHIVE objects (`--force-glacier-transfer`,
//! `--ignore-glacier-warnings`) and between buckets of two regions (`--source-region`), byte
//! for byte against the official CLIs on moto. Each CLI works in its own buckets (`-k`,
//! `-v1`, `-v2`), written back as `{who}`; the order of result lines (the official CLIs print
//! them as their threads finish) is normalised by sorting.

use std::path::Path;

use crate::common::{Official, Sandbox, official_v1, official_v2};
use crate::moto::start_moto;

fn sandbox(url: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", url)
        .set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "");
    sb
}

/// Lines sorted; a listing's `YYYY-MM-DD HH:MM:SS` as `<time>`.
fn sorted_lines(s: &str) -> String {
    let mut l: Vec<String> = s
        .lines()
        .map(|l| {
            let b = l.as_bytes();
            if b.len() >= 19
                && b[4] == b'-'
                && b[13] == b':'
                && b[..4].iter().all(u8::is_ascii_digit)
            {
                format!("<time>{}", &l[19..])
            } else {
                l.to_string()
            }
        })
        .collect();
    l.sort();
    l.join("\n")
}

fn run(sb: &Sandbox, official: Option<&Official>, args: &[String]) -> String {
    let (code, out, err) = match official {
        None => {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = sb.run(&a);
            (o.code, o.stdout, o.stderr)
        }
        Some(off) => {
            let o = off.run(sb, args);
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        }
    };
    format!(
        "[{code}]\n{}\n--stderr--\n{}",
        sorted_lines(&out),
        sorted_lines(&err)
    )
}

/// `v2_url`: AWS CLI v2 before 2.13 ignores AWS_ENDPOINT_URL, so its commands name the
/// endpoint, and the `--source-region` steps (whose source client the official CLI makes
/// without `--endpoint-url`) are left out for it.
fn steps(who: &str, root: &Path, v2_url: Option<&str>) -> Vec<Vec<String>> {
    let b = format!("kagi-glacier-{who}");
    let w = format!("kagi-west-{who}");
    let dl = root.join(format!("dl-{who}"));
    let dl = dl.to_str().unwrap().to_string();
    let s = |x: &str| -> Vec<String> {
        let mut v: Vec<String> = x
            .replace("{b}", &b)
            .replace("{w}", &w)
            .replace("{dl}", &dl)
            .split(' ')
            .map(str::to_string)
            .collect();
        if v[1] != "ls" {
            v.push("--no-progress".into());
        }
        if let Some(u) = v2_url {
            v.push("--endpoint-url".into());
            v.push(u.to_string());
        }
        v
    };
    let mut all = vec![
        s("s3 cp s3://{b}/ {dl} --recursive"),
        s("s3 cp s3://{b}/ {dl} --recursive --ignore-glacier-warnings"),
        s("s3 cp s3://{b}/g.txt {dl}/single.txt"),
        s("s3 cp s3://{b}/ s3://{b}/copy/ --recursive --exclude copy/*"),
        s("s3 sync s3://{b}/ {dl}-sync --exclude copy/*"),
        s("s3 mv s3://{b}/g.txt s3://{b}/moved.txt"),
        s("s3 cp s3://{b}/ {dl}-dry --recursive --dryrun --exclude copy/*"),
        s("s3 cp s3://{b}/g.txt {dl}/forced.txt --force-glacier-transfer"),
        s("s3 cp s3://{b}/r.txt {dl}/restored.txt"),
        // Two regions: the source read in us-west-2, the copy made in us-east-1.
        s(
            "s3 cp s3://{w}/ s3://{b}/from-west/ --recursive --source-region us-west-2 --region us-east-1",
        ),
        s("s3 sync s3://{w}/ s3://{b}/sync-west/ --source-region us-west-2"),
        s("s3 mv s3://{w}/w.txt s3://{b}/moved-west.txt --source-region us-west-2"),
        s("s3 ls s3://{w}/ --region us-west-2"),
    ];
    if v2_url.is_some() {
        all.retain(|c| !c.iter().any(|a| a == "--source-region"));
    }
    all
}

fn prepare(sb: &Sandbox, who: &str) {
    let b = format!("kagi-glacier-{who}");
    let w = format!("kagi-west-{who}");
    let ok = |args: &[&str]| {
        let o = sb.run(args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    };
    ok(&["s3", "mb", &format!("s3://{b}")]);
    ok(&["s3", "mb", &format!("s3://{w}"), "--region", "us-west-2"]);
    let body = sb.write("body.txt", "hello\n");
    let body = body.to_str().unwrap();
    for (key, class) in [
        ("a.txt", "STANDARD"),
        ("g.txt", "GLACIER"),
        ("d.txt", "DEEP_ARCHIVE"),
        ("r.txt", "GLACIER"),
    ] {
        ok(&[
            "s3api",
            "put-object",
            "--bucket",
            &b,
            "--key",
            key,
            "--body",
            body,
            "--storage-class",
            class,
        ]);
    }
    // r.txt restored: HeadObject shows `ongoing-request="false"`.
    ok(&[
        "s3api",
        "restore-object",
        "--bucket",
        &b,
        "--key",
        "r.txt",
        "--restore-request",
        "Days=1",
    ]);
    ok(&[
        "s3api",
        "put-object",
        "--bucket",
        &w,
        "--key",
        "w.txt",
        "--body",
        body,
        "--region",
        "us-west-2",
    ]);
    ok(&[
        "s3api",
        "put-object",
        "--bucket",
        &w,
        "--key",
        "dir/x.txt",
        "--body",
        body,
        "--region",
        "us-west-2",
    ]);
}

fn against(official: Option<Official>, who: &str) {
    let Some(official) = official else { return };
    let Some(moto) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let root = sb.home().join("files");
    std::fs::create_dir_all(&root).unwrap();
    prepare(&sb, "k");
    prepare(&sb, who);
    let v2_url = official.v2().then_some(moto.url.as_str());
    let ours = steps("k", &root, v2_url);
    let theirs = steps(who, &root, v2_url);
    let mut diffs = Vec::new();
    for (a, b) in ours.iter().zip(theirs.iter()) {
        let x = run(&sb, None, a).replace("-k", "-{who}");
        let y = run(&sb, Some(&official), b).replace(&format!("-{who}"), "-{who}");
        if x != y {
            diffs.push(format!(
                "$ {}\n--- kagi\n{x}\n--- aws {who}\n{y}",
                a.join(" ")
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    if official.v2() {
        return;
    }
    // The copies landed in the first region's bucket, the move removed its source.
    let listed = sb.run(&["s3", "ls", "s3://kagi-glacier-k/", "--recursive"]);
    assert!(
        listed.stdout.contains("from-west/dir/x.txt"),
        "{}",
        listed.stdout
    );
    assert!(
        listed.stdout.contains("moved-west.txt"),
        "{}",
        listed.stdout
    );
    let west = sb.run(&[
        "s3",
        "ls",
        "s3://kagi-west-k/",
        "--recursive",
        "--region",
        "us-west-2",
    ]);
    assert!(!west.stdout.contains("w.txt"), "{}", west.stdout);
}

#[test]
fn glacier_and_source_region_match_aws_cli_v1_on_moto() {
    against(official_v1(), "v1");
}

#[test]
fn glacier_and_source_region_match_aws_cli_v2_on_moto() {
    against(official_v2(), "v2");
}
