//! S3: `s3api` on S3's wire (rest-xml with S3's addressing, checksums and streaming bodies)
//! and the high-level `s3` commands, byte for byte against AWS CLI v1 (PyPI) and v2 (Debian)
//! on moto's server; presigned URLs fetched over plain HTTP; waiters.
//!
//! Each CLI works in its own buckets (`kagi-s3-<who>-...`, `<who>` = `k`, `v1`, `v2`), so the
//! same step run by each gives the same output once `<who>` is written back as `{who}`.
//! Normalised: the moment of a listing (`YYYY-MM-DD HH:MM:SS`, ISO timestamps) and, for
//! commands that transfer several files, the order of the result lines (the official CLIs
//! print them as their threads finish). The official CLIs draw their progress line even into
//! a pipe; kagi only on a terminal, so commands pass `--no-progress` and any `...\r`
//! progress fragment is dropped before comparing. Needs `KAGI_COMPAT_VENV` (moto, awscli
//! v1) and AWS CLI v2; skips with a notice without them, fails under CI.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::common::{Official, Sandbox, official_v1, official_v2};
use crate::moto::start_moto;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_kagi(sb: &Sandbox, args: &[String]) -> Run {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = sb.run(&argv);
    Run {
        code: o.code,
        stdout: o.stdout,
        stderr: o.stderr,
    }
}

fn run_official(sb: &Sandbox, official: &Official, args: &[String]) -> Run {
    let o = official.run(sb, args);
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` become `<time>`.
fn without_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    while i < b.len() {
        let date = digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
            && matches!(b.get(i + 10), Some(b' ' | b'T'))
            && digits(i + 11, 2)
            && b.get(i + 13) == Some(&b':')
            && digits(i + 14, 2)
            && b.get(i + 16) == Some(&b':')
            && digits(i + 17, 2);
        if date {
            let mut j = i + 19;
            if b.get(j) == Some(&b'.') {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if s[j..].starts_with("+00:00") {
                j += 6;
            }
            out.push_str("<time>");
            i = j;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Progress fragments (`...\r`) dropped, padding trimmed, `who` written back as `{who}`,
/// times normalised; lines sorted when `sort`.
fn normalise(s: &str, who: &str, sort: bool) -> String {
    let mut lines: Vec<String> = s
        .split('\n')
        .map(|l| {
            let l = l.rsplit('\r').next().unwrap_or(l).trim_end();
            without_times(&l.replace(&format!("-{who}-"), "-{who}-"))
        })
        .collect();
    if sort {
        let last = lines.pop();
        lines.sort();
        lines.extend(last);
    }
    lines.join("\n")
}

/// One step: a command template (`{who}` filled per CLI) and how to compare it.
struct Step {
    args: Vec<String>,
    /// The result lines may come in any order.
    sort: bool,
    /// Compare with v2 too (v2 2.9's older botocore answers some s3api calls with other
    /// members).
    v2: bool,
    /// Compare with v1 too (v1 lacks v2's `--copy-props` and words some errors its own way).
    v1: bool,
}

fn step(args: &str, sort: bool) -> Step {
    Step {
        args: args.split(' ').map(str::to_string).collect(),
        sort,
        v2: true,
        v1: true,
    }
}

/// A step compared with v2 only (run by v1 too: later steps see its effects).
fn v2_step(args: &str, sort: bool) -> Step {
    Step {
        v1: false,
        ..step(args, sort)
    }
}

/// Files the steps transfer, under `root` (absolute paths in the commands).
fn make_files(root: &Path) {
    std::fs::create_dir_all(root.join("dir/sub")).unwrap();
    std::fs::write(root.join("small.txt"), "hello, s3\n").unwrap();
    std::fs::write(root.join("dir/a.txt"), "a\n").unwrap();
    std::fs::write(root.join("dir/b.json"), "{\"b\": 1}\n").unwrap();
    std::fs::write(root.join("dir/sub/c.log"), "c\n").unwrap();
    std::fs::write(root.join("dir/sub/d.txt"), "dd\n").unwrap();
    // A key S3 lists URL-encoded (space, `+`, `%`, non-ASCII): every listing decodes it back.
    std::fs::write(root.join("dir/sub/sp ace+é%2F.txt"), "e\n").unwrap();
    // 20 MiB: over the 8 MiB multipart threshold (three parts), deterministic bytes.
    let mut big = Vec::with_capacity(20 << 20);
    let mut x: u32 = 0x1234_5678;
    while big.len() < 20 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(root.join("big.bin"), big).unwrap();
}

fn steps(root: &Path, url: &str) -> Vec<Step> {
    let r = root.display();
    let b = "s3://kagi-s3-{who}-b";
    let mut v = vec![
        step(&format!("s3 mb {b}"), false),
        step(
            &format!("s3 website {b}/ --index-document index.html --error-document err.html"),
            false,
        ),
        step(
            "s3api get-bucket-website --bucket kagi-s3-{who}-b --query [IndexDocument,ErrorDocument]",
            false,
        ),
        step(
            &format!("s3 cp {r}/small.txt {b}/small.txt --no-progress"),
            false,
        ),
        step(
            &format!("s3 cp {r}/big.bin {b}/big.bin --no-progress"),
            false,
        ),
        step(
            &format!("s3 cp {r}/dir {b}/dir --recursive --no-progress"),
            true,
        ),
        step(
            &format!(
                "s3 cp {r}/dir {b}/only-logs --recursive --exclude * --include *.log --no-progress"
            ),
            true,
        ),
        step(&format!("s3 ls {b}"), false),
        step(&format!("s3 ls {b}/dir/"), false),
        step(&format!("s3 ls {b} --recursive"), false),
        step(
            &format!("s3 ls {b} --recursive --summarize --human-readable"),
            false,
        ),
        step(&format!("s3 ls {b}/nothing-here"), false),
        // Downloads: whole, multipart (ranged GETs), recursive, to stdout.
        step(
            &format!("s3 cp {b}/big.bin {r}/dl-{{who}}-/ --no-progress"),
            false,
        ),
        step(
            &format!("s3 cp {b}/dir {r}/dl-{{who}}-/dir --recursive --no-progress"),
            true,
        ),
        step(&format!("s3 cp {b}/small.txt -"), false),
        // s3 → s3, mv.
        step(
            &format!("s3 cp {b}/small.txt {b}/copy/small.txt --no-progress"),
            false,
        ),
        step(
            &format!("s3 mv {b}/copy/small.txt {b}/moved/ --no-progress"),
            false,
        ),
        // Above 8 MiB: a multipart copy (UploadPartCopy in ranges).
        step(
            &format!("s3 cp {b}/big.bin {b}/copy/big.bin --no-progress"),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key copy/big.bin --query ContentLength",
            false,
        ),
        // sync: up, again (nothing to do), down, --delete.
        step(&format!("s3 sync {r}/dir {b}/sync --no-progress"), true),
        step(&format!("s3 sync {r}/dir {b}/sync --no-progress"), true),
        step(
            &format!("s3 sync {b}/sync {r}/dl-{{who}}-/sync --no-progress"),
            true,
        ),
        step(
            &format!("s3 sync {b}/dir {b}/sync --delete --exclude *.json --no-progress"),
            true,
        ),
        step(
            &format!("s3 sync {b}/only-logs {b}/sync --delete --dryrun"),
            true,
        ),
        // Object options as the AWS CLI maps them onto PutObject, CreateMultipartUpload,
        // UploadPart, CopyObject and HeadObject/GetObject; read back with head-object.
        step(
            &format!(
                "s3 cp {r}/small.txt {b}/opts/meta.txt --metadata k1=v1,k2=v2 --cache-control max-age=60 --content-type text/x-kagi --acl public-read --storage-class STANDARD_IA --sse --no-progress"
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/meta.txt --query [ContentType,CacheControl,Metadata,StorageClass,ServerSideEncryption]",
            false,
        ),
        step(
            &format!(
                r#"s3 cp {r}/small.txt {b}/opts/kms.txt --sse aws:kms --sse-kms-key-id alias/kagi --metadata {{"json":"yes"}} --no-progress"#
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/kms.txt --query [ServerSideEncryption,SSEKMSKeyId,Metadata]",
            false,
        ),
        step(
            &format!(
                "s3 cp {r}/small.txt {b}/opts/ssec.txt --sse-c AES256 --sse-c-key 0123456789abcdef0123456789abcdef --no-progress"
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/ssec.txt --sse-customer-algorithm AES256 --sse-customer-key 0123456789abcdef0123456789abcdef --query [SSECustomerAlgorithm,SSECustomerKeyMD5,ContentLength]",
            false,
        ),
        step(
            &format!(
                "s3 cp {b}/opts/ssec.txt {r}/dl-{{who}}-/ssec.txt --sse-c --sse-c-key 0123456789abcdef0123456789abcdef --no-progress"
            ),
            false,
        ),
        step(
            &format!(
                "s3 cp {r}/big.bin {b}/opts/big.bin --metadata part=multi --content-type application/x-big --cache-control no-cache --sse AES256 --no-progress"
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/big.bin --query [ContentType,CacheControl,Metadata,ServerSideEncryption,ContentLength]",
            false,
        ),
        step(
            &format!(
                "s3 cp {b}/opts/meta.txt {b}/opts/copy.txt --metadata copied=yes --no-progress"
            ),
            false,
        ),
        // v2's `--copy-props default`: the source's content type and other properties carried
        // over to a copy whose metadata is replaced (v1 has no such option).
        v2_step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/copy.txt --query [ContentType,CacheControl,Metadata]",
            false,
        ),
        v2_step(
            &format!("s3 cp {b}/opts/meta.txt {b}/v2only/none.txt --copy-props none --no-progress"),
            false,
        ),
        v2_step(
            "s3api head-object --bucket kagi-s3-{who}-b --key v2only/none.txt --query [ContentType,CacheControl,Metadata]",
            false,
        ),
        // (v1 has no `--copy-props`: what only v2 made goes before the listings.)
        v2_step(&format!("s3 rm {b}/v2only --recursive"), true),
        step(
            &format!(
                "s3 cp {r}/dir/b.json {b}/opts/noguess.json --no-guess-mime-type --request-payer --no-progress"
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/noguess.json --query ContentType",
            false,
        ),
        step(
            &format!("s3 ls {b}/opts/noguess --request-payer requester"),
            false,
        ),
        step(
            "s3api put-object-tagging --bucket kagi-s3-{who}-b --key opts/big.bin --tagging TagSet=[{Key=team,Value=blue},{Key=a+b,Value=c=d}]",
            false,
        ),
        step(
            &format!("s3 cp {b}/opts/big.bin {b}/opts/big-copy.bin --no-progress"),
            false,
        ),
        v2_step(
            "s3api get-object-tagging --bucket kagi-s3-{who}-b --key opts/big-copy.bin --query TagSet",
            false,
        ),
        v2_step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/big-copy.bin --query [ContentType,CacheControl,Metadata,ContentLength]",
            false,
        ),
        step(
            &format!(
                "s3 sync {r}/dir {b}/opts/sync --cache-control max-age=5 --storage-class REDUCED_REDUNDANCY --no-progress"
            ),
            true,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key opts/sync/a.txt --query [CacheControl,StorageClass,ContentType]",
            false,
        ),
        v2_step(
            &format!("s3 cp {r}/small.txt {b}/opts/bad.txt --sse bad --no-progress"),
            false,
        ),
        v2_step(
            &format!("s3 cp {r}/small.txt {b}/opts/bad.txt --sse-c --no-progress"),
            false,
        ),
        step(&format!("s3 rm {b}/opts --recursive"), true),
        step(&format!("s3 rm {b}/dir --recursive"), true),
        step(&format!("s3 rm {b}/small.txt --dryrun"), false),
        step(&format!("s3 ls {b} --recursive"), false),
        // s3api on S3's wire.
        step(
            &format!(
                "s3api put-object --bucket kagi-s3-{{who}}-b --key api/x+y=z.txt --body {r}/small.txt"
            ),
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key big.bin",
            false,
        ),
        step(
            &format!(
                "s3api get-object --bucket kagi-s3-{{who}}-b --key big.bin {r}/dl-{{who}}-/api-big.bin"
            ),
            false,
        ),
        step(
            "s3api list-objects-v2 --bucket kagi-s3-{who}-b --query Contents[].[Key,Size,ETag] --output text",
            false,
        ),
        step(
            "s3api list-objects-v2 --bucket kagi-s3-{who}-b --max-items 2 --page-size 1 --query [Contents[].Key,NextToken]",
            false,
        ),
        step(
            "s3api list-objects-v2 --bucket kagi-s3-{who}-b --prefix sync/ --delimiter / --output table --query {Keys:Contents[].Key}",
            false,
        ),
        step(
            "s3api copy-object --bucket kagi-s3-{who}-b --key api/copy --copy-source kagi-s3-{who}-b/api/x+y=z.txt --query CopyObjectResult.ETag",
            false,
        ),
        step(
            "s3api put-object-tagging --bucket kagi-s3-{who}-b --key big.bin --tagging TagSet=[{Key=team,Value=blue}]",
            false,
        ),
        step(
            "s3api get-object-tagging --bucket kagi-s3-{who}-b --key big.bin --query TagSet",
            false,
        ),
        step(
            r#"s3api put-bucket-policy --bucket kagi-s3-{who}-b --policy {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::kagi-s3-{who}-b/*"}]}"#,
            false,
        ),
        step(
            "s3api get-bucket-policy --bucket kagi-s3-{who}-b --output text",
            false,
        ),
        step("s3api get-bucket-location --bucket kagi-s3-{who}-b", false),
        step(
            "s3api delete-objects --bucket kagi-s3-{who}-b --delete Objects=[{Key=api/copy},{Key=nope}] --query Deleted[].Key",
            false,
        ),
        step(
            "s3api get-object --bucket kagi-s3-{who}-b --key nope /dev/null",
            false,
        ),
        step(
            "s3api head-object --bucket kagi-s3-{who}-b --key nope",
            false,
        ),
        step("s3api wait bucket-exists --bucket kagi-s3-{who}-b", false),
        step(
            "s3api wait object-exists --bucket kagi-s3-{who}-b --key big.bin",
            false,
        ),
        // Errors.
        step("s3 ls s3://kagi-s3-{who}-nobucket", false),
        step(
            &format!("s3 cp {r}/no-such-file s3://kagi-s3-{{who}}-b/x --no-progress"),
            false,
        ),
        step("s3 cp s3://kagi-s3-{who}-b/no-such-key - ", false),
        step("s3 rb s3://kagi-s3-{who}-b", false),
        step("s3 rb s3://kagi-s3-{who}-b --force", true),
    ];
    for s in &mut v {
        s.args.retain(|a| !a.is_empty());
        s.args
            .extend(["--endpoint-url".to_string(), url.to_string()]);
        // v2 2.9's model lists `RequestCharged`/`Prefix` and others where 1.44 does not.
        if s.args[0] == "s3api" && !s.args.iter().any(|a| a == "--query") {
            s.v2 = false;
        }
    }
    v
}

fn fill(args: &[String], who: &str) -> Vec<String> {
    args.iter().map(|a| a.replace("{who}", who)).collect()
}

/// Runs every step with kagi and with `official` (each in its own buckets), returns the
/// differences.
fn compare(sb: &Sandbox, root: &Path, url: &str, official: &Official, who: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    for s in steps(root, url) {
        let ours = run_kagi(sb, &fill(&s.args, "k"));
        let theirs = run_official(sb, official, &fill(&s.args, who));
        if !official.v2() && !s.v1 {
            continue;
        }
        if official.v2() && !s.v2 {
            // Run by both (the later steps see its effects), compared by the exit code only.
            if ours.code != theirs.code {
                diffs.push(format!(
                    "{:?}: exit {} (aws) vs {} (kagi)",
                    s.args, theirs.code, ours.code
                ));
            }
            continue;
        }
        let (ko, to) = (
            normalise(&ours.stdout, "k", s.sort),
            normalise(&theirs.stdout, who, s.sort),
        );
        let their_err = crate::common::without_v1_note(&theirs.stderr);
        let (ke, te) = (
            normalise(&ours.stderr, "k", s.sort),
            normalise(&their_err, who, s.sort),
        );
        // Service errors exit 254 in v2 (and kagi), 255 in v1.
        let same_code =
            ours.code == theirs.code || (!official.v2() && ours.code == 254 && theirs.code == 255);
        if ko != to || ke.trim_start() != te.trim_start() || !same_code {
            diffs.push(format!(
                "{:?} ({})\n--- aws (exit {})\n{to}\n{te}\n--- kagi (exit {})\n{ko}\n{ke}",
                s.args, official.version, theirs.code, ours.code
            ));
        }
    }
    // The same bytes came back.
    let big = std::fs::read(root.join("big.bin")).unwrap();
    for f in ["dl-k-/big.bin", "dl-k-/api-big.bin"] {
        assert!(std::fs::read(root.join(f)).unwrap() == big, "{f} differs");
    }
    assert_eq!(
        std::fs::read_to_string(root.join("dl-k-/dir/sub/c.log")).unwrap(),
        "c\n"
    );
    diffs
}

fn sandbox(url: &str) -> Sandbox {
    let _ = url;
    let mut sb = Sandbox::new();
    sb.set("AWS_ACCESS_KEY_ID", "testing")
        .set("AWS_SECRET_ACCESS_KEY", "testing")
        .set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_PAGER", "");
    sb.write(".aws/config", "[default]\ncli_timestamp_format = iso8601\n");
    sb
}

fn run_against(official: Option<Official>, who: &str) {
    let Some(official) = official else { return };
    let Some(moto) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let root = sb.home().join("files");
    make_files(&root);
    let diffs = compare(&sb, &root, &moto.url, &official, who);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn s3_and_s3api_match_aws_cli_v1_on_moto() {
    run_against(official_v1(), "v1");
}

#[test]
fn s3_and_s3api_match_aws_cli_v2_on_moto() {
    run_against(official_v2(), "v2");
}

/// `GET` of a URL over plain HTTP/1.1 (what curl would do): status and body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + n]);
            rest = &rest[line_end + 2 + n + 2..];
        }
        body = out;
    }
    (status, body)
}

#[test]
fn presigned_urls_fetch_and_match_aws_cli_v2() {
    let Some(moto) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let url = moto.url.as_str();
    let ok = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--endpoint-url", url]);
        let o = sb.run(&a);
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        o.stdout
    };
    ok(&["s3", "mb", "s3://kagi-presign"]);
    let file = sb.write("p.txt", "presigned bytes\n");
    ok(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        "s3://kagi-presign/a b+c.txt",
    ]);
    let presigned = ok(&[
        "s3",
        "presign",
        "s3://kagi-presign/a b+c.txt",
        "--expires-in",
        "120",
    ]);
    let presigned = presigned.trim();
    assert!(
        presigned.starts_with(&format!("{url}/kagi-presign/a%20b%2Bc.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F"))
            && presigned.contains("&X-Amz-Expires=120&X-Amz-SignedHeaders=host&X-Amz-Signature="),
        "{presigned}"
    );
    let (status, body) = http_get(presigned);
    assert_eq!(
        (status, body.as_slice()),
        (200, b"presigned bytes\n".as_slice())
    );
    // The same URL as AWS CLI v2 signs within the same second (the signature included).
    if let Some(v2) = official_v2() {
        let args: Vec<String> = [
            "s3",
            "presign",
            "s3://kagi-presign/a b+c.txt",
            "--endpoint-url",
            url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..3 {
            let theirs = run_official(&sb, &v2, &args);
            let ours = run_kagi(&sb, &args);
            if ours.stdout == theirs.stdout {
                return;
            }
            // Signed in different seconds: compare without the time and the signature.
            let strip = |s: &str| {
                let s = s.split("&X-Amz-Signature=").next().unwrap_or(s).to_string();
                without_times(&s)
                    .split("&X-Amz-Date=")
                    .next()
                    .unwrap_or("")
                    .to_string()
            };
            if strip(&ours.stdout) == strip(&theirs.stdout) && theirs.code == 0 && ours.code == 0 {
                return;
            }
        }
        panic!("kagi's presigned URL differs from AWS CLI v2's");
    }
}

/// A waiter that waits (and then succeeds), one that meets a terminal failure state (the
/// official CLIs' message and exit code), and one that runs out of attempts (kagi alone,
/// with its delay shortened: the official CLI would wait 100 s).
#[test]
fn waiters_wait_fail_and_time_out() {
    let Some(moto) = start_moto() else { return };
    let mut sb = sandbox(&moto.url);
    let url = moto.url.clone();
    let e = |args: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--endpoint-url".to_string(), url.clone()]);
        a
    };
    assert_eq!(run_kagi(&sb, &e(&["s3", "mb", "s3://kagi-waits"])).code, 0);
    // The object appears while the waiter waits.
    sb.set("KAGI_WAITER_DELAY", "0.2");
    let put = {
        let args = e(&[
            "s3api",
            "put-object",
            "--bucket",
            "kagi-waits",
            "--key",
            "later",
        ]);
        let env_sb = sandbox(&url);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(700));
            run_kagi(&env_sb, &args).code
        })
    };
    let waited = run_kagi(
        &sb,
        &e(&[
            "s3api",
            "wait",
            "object-exists",
            "--bucket",
            "kagi-waits",
            "--key",
            "later",
        ]),
    );
    assert_eq!(
        (waited.code, waited.stdout.as_str(), waited.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(put.join().unwrap(), 0);
    // Out of attempts (20 × 0 s here).
    sb.set("KAGI_WAITER_DELAY", "0");
    let timeout = run_kagi(
        &sb,
        &e(&[
            "s3api",
            "wait",
            "bucket-not-exists",
            "--bucket",
            "kagi-waits",
        ]),
    );
    assert_eq!(
        (timeout.code, timeout.stderr.as_str()),
        (
            255,
            "\nWaiter BucketNotExists failed: Max attempts exceeded\n"
        )
    );
    // A terminal failure state: an instance that was terminated never runs.
    let run = run_kagi(
        &sb,
        &e(&[
            "ec2",
            "run-instances",
            "--image-id",
            "ami-12c6146b",
            "--min-count",
            "1",
            "--max-count",
            "1",
            "--query",
            "Instances[0].InstanceId",
            "--output",
            "text",
        ]),
    );
    let id = run.stdout.trim().to_string();
    assert!(id.starts_with("i-"), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run_kagi(
            &sb,
            &e(&["ec2", "terminate-instances", "--instance-ids", &id])
        )
        .code,
        0
    );
    let args = e(&["ec2", "wait", "instance-running", "--instance-ids", &id]);
    let ours = run_kagi(&sb, &args);
    assert_eq!(ours.code, 255);
    assert_eq!(
        ours.stderr,
        "\nWaiter InstanceRunning failed: Waiter encountered a terminal failure state: For expression \"Reservations[].Instances[].State.Name\" we matched expected path: \"terminated\" at least once\n"
    );
    for official in [official_v1(), official_v2()].into_iter().flatten() {
        let theirs = run_official(&sb, &official, &args);
        assert_eq!(
            (
                theirs.code,
                theirs.stdout.as_str(),
                theirs.stderr.trim_start()
            ),
            (ours.code, ours.stdout.as_str(), ours.stderr.trim_start()),
            "{}",
            official.version
        );
    }
}

#[test]
fn normalising_is_what_it_says() {
    assert_eq!(
        without_times("2026-12-07 09:05:59   20.0 MiB big.bin"),
        "<time>   20.0 MiB big.bin"
    );
    assert_eq!(
        without_times("\"LastModified\": \"2026-12-07T09:05:59+00:00\","),
        "\"LastModified\": \"<time>\","
    );
    assert_eq!(
        normalise(
            "Completed 1 of 2\rupload: a to s3://kagi-s3-v1-b/a   \n",
            "v1",
            false
        ),
        "upload: a to s3://kagi-s3-{who}-b/a\n"
    );
    let _ = PathBuf::new();
}

/// On a terminal `s3 cp` draws the AWS CLI's progress line (redrawn with `\r`) and then the
/// result line over it; `--no-progress` draws none (and in a pipe there is never one).
#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let Some(bin) = crate::pty::binary() else {
        crate::common::skip_or_fail("KAGI_BIN (the built kagi binary)");
        return;
    };
    let Some(moto) = start_moto() else { return };
    let sb = sandbox(&moto.url);
    let root = sb.home().join("files");
    make_files(&root);
    let big = root.join("big.bin");
    let run = |extra: &[&str]| -> String {
        let mut cmd = std::process::Command::new(&bin);
        cmd.args([
            "s3",
            "cp",
            big.to_str().unwrap(),
            "s3://kagi-progress/big.bin",
        ])
        .args(extra)
        .args(["--endpoint-url", &moto.url])
        .current_dir(&root)
        .env_clear()
        .envs(sb.env().vars)
        .env("PATH", "/usr/bin:/bin");
        let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).expect("spawn in a pty");
        let out = p.exp_eof().unwrap();
        out.replace("\r\n", "\n")
    };
    assert_eq!(
        sb.run(&[
            "s3",
            "mb",
            "s3://kagi-progress",
            "--endpoint-url",
            &moto.url
        ])
        .code,
        0
    );
    let shown = run(&[]);
    assert!(
        shown.contains("Completed ") && shown.contains(" with 1 file(s) remaining\r"),
        "{shown:?}"
    );
    assert!(
        shown.ends_with("upload: ./big.bin to s3://kagi-progress/big.bin\n")
            || shown.contains("upload: ./big.bin to s3://kagi-progress/big.bin "),
        "{shown:?}"
    );
    let quiet = run(&["--no-progress"]);
    assert_eq!(quiet, "upload: ./big.bin to s3://kagi-progress/big.bin\n");
}
