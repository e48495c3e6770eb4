//! `kagi demo`: the seed story (`shared/seed/walkthrough.md`), really executed.
//!
//! The demo starts `kagi serve` in-process on a free loopback port with a fresh data directory,
//! makes a private `HOME` with its own `~/.aws`, and then performs every step of the tutorial
//! by running this very binary under the name `aws` — the same code paths a user's commands
//! take, with no private shortcut into the server. Image push and pull use `kagi_ecr::client`,
//! the registry client that stands in for `docker push` (it speaks the same registry protocol
//! with the same `AWS:<password>` Basic credentials).
//!
//! Every step states what the tutorial says must happen (success, or a denial with a given
//! error code), and the demo exits 0 only when every step behaved that way.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::progress::Transfer;
use serde_json::{Value, json};

const REGION: &str = "ap-northeast-1";
const USER: &str = "user-for-switch";
const ROLE: &str = "ECRLoginAndPushRole";
const ROLE_PROFILE: &str = "ECRLoginAndPushRoleProfile";
const REPO: &str = "test-repos";
const OTHER_REPO: &str = "other-repos";
const WORKLOAD_PROFILE: &str = "WorkloadPushProfile";
const PLATFORM: &str = "platform-admin";
/// The third act's person in the identity store, permission set, `[sso-session]` and profile.
const SSO_USER: &str = "alice";
const PERMISSION_SET: &str = "ECRLoginAndPush";
const SSO_SESSION: &str = "kagi";
const SSO_PROFILE: &str = "ECRPushSSOProfile";

/// The seed's `ECRPushAndLoginPolicy` exactly as the tutorial prints it, `//` comments included.
const ECR_POLICY_WITH_COMMENTS: &str = r#"{
	"Version": "2012-10-17",
        // ECRへのログインやプッシュに必要なアクションを指定
	"Statement": [
		{
			"Sid": "VisualEditor0",
			"Effect": "Allow",
			"Action": [
				"ecr:GetDownloadUrlForLayer",
				"ecr:BatchGetImage",
				"ecr:CompleteLayerUpload",
				"ecr:UploadLayerPart",
				"ecr:InitiateLayerUpload",
				"ecr:BatchCheckLayerAvailability",
				"ecr:PutImage"
			],
                          // アクションの対象となるECRのリポジトリを指定
			"Resource": "arn:aws:ecr:ap-northeast-1:<your-account-id>:repository/test-repos"
		},
		{
			"Effect": "Allow",
			"Action": "ecr:GetAuthorizationToken",
			"Resource": "*"
		}
	]
}
"#;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

struct Options {
    data_dir: Option<PathBuf>,
    keep_running: bool,
    format: Format,
    /// The second act: the role in a workload account of an organization, under an SCP.
    organization: bool,
    /// The third act: the same push under an IAM Identity Center permission set.
    identity_center: bool,
}

fn parse_args(args: &[OsString]) -> Result<Options, String> {
    let mut opts = Options {
        data_dir: None,
        keep_running: false,
        format: Format::Human,
        organization: false,
        identity_center: false,
    };
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data-dir" => {
                let v = it.next().ok_or("--data-dir needs a directory")?;
                opts.data_dir = Some(PathBuf::from(v));
            }
            "--keep-running" => opts.keep_running = true,
            "--organization" => opts.organization = true,
            "--identity-center" => opts.identity_center = true,
            "--output" => match it.next().as_deref() {
                Some("json") => opts.format = Format::Json,
                Some("text") | Some("human") => opts.format = Format::Human,
                other => return Err(format!("--output must be json or text, not {other:?}")),
            },
            "-h" | "--help" => {
                return Err(
                    "usage: kagi demo [--organization] [--identity-center] [--data-dir DIR] [--keep-running] [--output text|json]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

pub fn main(args: &[OsString]) -> ExitCode {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("kagi demo: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kagi demo: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// What one `aws ...` invocation produced.
struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn json(&self) -> Result<Value> {
        serde_json::from_str(&self.stdout)
            .with_context(|| format!("output is not JSON: {}", self.stdout.trim()))
    }
    /// The AWS error code in `An error occurred (Code) when calling ...`, if any.
    fn error_code(&self) -> Option<String> {
        let start = self.stderr.find("An error occurred (")? + "An error occurred (".len();
        let end = self.stderr[start..].find(')')? + start;
        Some(self.stderr[start..end].to_string())
    }
    fn error_line(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    }
}

/// The sandbox the demo's `aws` commands run in: a private HOME and the local endpoint.
struct Shell {
    exe: PathBuf,
    home: PathBuf,
    endpoint: String,
}

impl Shell {
    /// This binary as `aws` in the sandbox: private HOME, the local endpoint, no pager.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg0("aws").args(args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("HOME", &self.home)
            .env("AWS_CONFIG_FILE", self.home.join(".aws/config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.home.join(".aws/credentials"),
            )
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_PAGER", "");
        cmd
    }

    fn aws(&self, args: &[&str], stdin: Option<&str>) -> Result<Outcome> {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("running kagi as aws")?;
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        Ok(Outcome {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Records and prints steps.
struct Report {
    format: Format,
    steps: Vec<Value>,
    ok: bool,
}

impl Report {
    fn section(&self, title: &str) {
        if self.format == Format::Human {
            println!("\n── {title}");
        }
    }

    fn note(&self, text: &str) {
        if self.format == Format::Human {
            for line in text.lines() {
                println!("   {line}");
            }
        }
    }

    /// Records one step: `command` is what a user would type, `expect` what the seed says must
    /// happen, `result` what happened (Ok(detail) = behaved as expected).
    fn step(&mut self, id: &str, command: &str, expect: &str, result: Result<String>) {
        let (passed, detail) = match result {
            Ok(d) => (true, d),
            Err(e) => (false, format!("{e:#}")),
        };
        self.ok &= passed;
        if self.format == Format::Human {
            println!("$ {command}");
            let mark = if passed { "✓" } else { "✗" };
            for (i, line) in detail.lines().enumerate() {
                if i == 0 {
                    println!("  {mark} {line}");
                } else {
                    println!("    {line}");
                }
            }
        }
        self.steps.push(json!({
            "id": id, "command": command, "expect": expect, "passed": passed, "detail": detail,
        }));
    }
}

/// Succeeds when the command exited 0; returns its JSON output.
fn expect_ok(out: &Outcome) -> Result<Value> {
    if out.status != 0 {
        bail!("exit {}: {}", out.status, out.error_line());
    }
    if out.stdout.trim().is_empty() {
        return Ok(Value::Null);
    }
    out.json()
}

/// Succeeds when the command failed with the given AWS error code and exit status 254.
fn expect_denied(out: &Outcome, code: &str) -> Result<String> {
    if out.status == 0 {
        bail!(
            "expected {code}, but the call succeeded: {}",
            out.stdout.trim()
        );
    }
    match out.error_code() {
        Some(c) if c == code && out.status == 254 => {
            Ok(format!("denied as expected: {}", out.error_line()))
        }
        Some(c) => bail!(
            "expected {code} (exit 254), got {c} (exit {}): {}",
            out.status,
            out.error_line()
        ),
        None => bail!(
            "expected {code}, got exit {}: {}",
            out.status,
            out.error_line()
        ),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).with_context(|| format!("missing {p} in {v}"))?;
    }
    cur.as_str()
        .with_context(|| format!("{} is not a string", path.join(".")))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn run(opts: &Options) -> Result<bool> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new().prefix("kagi-demo-").tempdir()?;
    let data_dir = match &opts.data_dir {
        Some(d) => d.clone(),
        None => scratch.path().join("data"),
    };
    let home = scratch.path().join("home");
    std::fs::create_dir_all(home.join(".aws"))?;
    let files = scratch.path().join("files");
    std::fs::create_dir_all(&files)?;

    let server = kagi_server::start_background(kagi_server::ServerConfig {
        bind: std::net::Ipv4Addr::LOCALHOST.into(),
        port: 0,
        data_dir: Some(data_dir.clone()),
        ..kagi_server::ServerConfig::in_memory()
    })
    .context("starting kagi serve")?;
    let endpoint = format!("http://{}", server.addr);
    let account = server.account_id.clone();
    let shell = Shell {
        exe: std::env::current_exe()?,
        home: home.clone(),
        endpoint: endpoint.clone(),
    };
    let mut r = Report {
        format: opts.format,
        steps: Vec::new(),
        ok: true,
    };

    if r.format == Format::Human {
        println!("kagi demo — the seed's least-privilege switch-role story, really executed");
        println!(
            "server: {endpoint}  account: {account}  data: {}",
            data_dir.display()
        );
        println!("HOME for the aws commands below: {}", home.display());
    }

    // The console steps (2–6) are done by the account's administrator; here, the root user's
    // keys in a profile named `admin`, exactly as a user of the IAM API would do them.
    write_file(
        &home.join(".aws/credentials"),
        &format!(
            "[admin]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            server.root_access_key_id,
            server.root_secret_access_key()
        ),
    )?;
    write_file(
        &home.join(".aws/config"),
        &format!("[profile admin]\nregion = {REGION}\n"),
    )?;
    let admin = |args: &[&str]| -> Result<Outcome> {
        let mut v = args.to_vec();
        v.extend(["--profile", "admin"]);
        shell.aws(&v, None)
    };

    r.section("1. Install and check");
    let out = shell.aws(&["--version"], None)?;
    r.step(
        "version",
        "aws --version",
        "one line naming the CLI version",
        if out.status == 0 && out.stdout.lines().count() == 1 {
            Ok(out.stdout.trim().to_string())
        } else {
            Err(anyhow::anyhow!("exit {}: {:?}", out.status, out.stdout))
        },
    );

    r.section("2–3. Create the IAM user and its access key (as the account administrator)");
    let out = admin(&["iam", "create-user", "--user-name", USER])?;
    r.step(
        "create-user",
        "aws iam create-user --user-name user-for-switch",
        "the user is created",
        expect_ok(&out).and_then(|v| Ok(str_at(&v, &["User", "Arn"])?.to_string())),
    );
    let out = admin(&["iam", "create-access-key", "--user-name", USER])?;
    let mut user_keys = None;
    r.step(
        "create-access-key",
        "aws iam create-access-key --user-name user-for-switch",
        "an access key id and secret, shown once",
        expect_ok(&out).and_then(|v| {
            let id = str_at(&v, &["AccessKey", "AccessKeyId"])?.to_string();
            let secret = str_at(&v, &["AccessKey", "SecretAccessKey"])?.to_string();
            let shown = format!(
                "AccessKeyId {id}, SecretAccessKey ****{}",
                &secret[secret.len().saturating_sub(4)..]
            );
            user_keys = Some((id, secret));
            Ok(shown)
        }),
    );

    r.section("4. SwitchRolePolicy: the user may only assume the role");
    let role_arn = format!("arn:aws:iam::{account}:role/{ROLE}");
    let switch_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]
    });
    let switch_path = files.join("switch-role-policy.json");
    write_file(&switch_path, &serde_json::to_string_pretty(&switch_policy)?)?;
    let switch_uri = format!("file://{}", switch_path.display());
    let out = admin(&[
        "iam",
        "create-policy",
        "--policy-name",
        "SwitchRolePolicy",
        "--policy-document",
        &switch_uri,
    ])?;
    r.step(
        "create-policy-switch",
        "aws iam create-policy --policy-name SwitchRolePolicy --policy-document file://switch-role-policy.json",
        "the policy is created",
        expect_ok(&out).and_then(|v| Ok(str_at(&v, &["Policy", "Arn"])?.to_string())),
    );
    let switch_arn = format!("arn:aws:iam::{account}:policy/SwitchRolePolicy");
    let out = admin(&[
        "iam",
        "attach-user-policy",
        "--user-name",
        USER,
        "--policy-arn",
        &switch_arn,
    ])?;
    r.step(
        "attach-user-policy",
        "aws iam attach-user-policy --user-name user-for-switch --policy-arn .../SwitchRolePolicy",
        "attached",
        expect_ok(&out).map(|_| "attached to user-for-switch".to_string()),
    );

    r.section("5. ECRPushAndLoginPolicy: first as the tutorial prints it, with // comments");
    let commented = ECR_POLICY_WITH_COMMENTS.replace("<your-account-id>", &account);
    let commented_path = files.join("ecr-policy-with-comments.json");
    write_file(&commented_path, &commented)?;
    let out = admin(&[
        "iam",
        "create-policy",
        "--policy-name",
        "ECRPushAndLoginPolicy",
        "--policy-document",
        &format!("file://{}", commented_path.display()),
    ])?;
    r.step(
        "create-policy-with-comments",
        "aws iam create-policy --policy-name ECRPushAndLoginPolicy --policy-document file://ecr-policy-with-comments.json",
        "rejected as MalformedPolicyDocument, pointing at the first // comment",
        expect_denied(&out, "MalformedPolicyDocument").and_then(|d| {
            if d.contains("line 3") || d.contains("3:") {
                Ok(d)
            } else {
                bail!("the rejection does not point at line 3: {d}")
            }
        }),
    );
    let ecr_policy: String = commented
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ecr_path = files.join("ecr-policy.json");
    write_file(&ecr_path, &ecr_policy)?;
    let out = admin(&[
        "iam",
        "create-policy",
        "--policy-name",
        "ECRPushAndLoginPolicy",
        "--policy-document",
        &format!("file://{}", ecr_path.display()),
    ])?;
    r.step(
        "create-policy-ecr",
        "aws iam create-policy --policy-name ECRPushAndLoginPolicy --policy-document file://ecr-policy.json   # comments removed",
        "the corrected policy is created",
        expect_ok(&out).and_then(|v| Ok(str_at(&v, &["Policy", "Arn"])?.to_string())),
    );

    r.section("6. ECRLoginAndPushRole, trusted entity \"AWS account: this account\"");
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "sts:AssumeRole",
            "Condition": {}
        }]
    });
    let trust_path = files.join("trust-policy.json");
    write_file(&trust_path, &serde_json::to_string_pretty(&trust)?)?;
    let out = admin(&[
        "iam",
        "create-role",
        "--role-name",
        ROLE,
        "--assume-role-policy-document",
        &format!("file://{}", trust_path.display()),
    ])?;
    r.step(
        "create-role",
        "aws iam create-role --role-name ECRLoginAndPushRole --assume-role-policy-document file://trust-policy.json",
        "the role is created",
        expect_ok(&out).and_then(|v| Ok(str_at(&v, &["Role", "Arn"])?.to_string())),
    );
    let ecr_policy_arn = format!("arn:aws:iam::{account}:policy/ECRPushAndLoginPolicy");
    let out = admin(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        ROLE,
        "--policy-arn",
        &ecr_policy_arn,
    ])?;
    r.step(
        "attach-role-policy",
        "aws iam attach-role-policy --role-name ECRLoginAndPushRole --policy-arn .../ECRPushAndLoginPolicy",
        "attached",
        expect_ok(&out).map(|_| "attached to ECRLoginAndPushRole".to_string()),
    );
    // The tutorial assumes the repository exists; an administrator creates it (and a second one
    // to show that the role may push to nothing else).
    for repo in [REPO, OTHER_REPO] {
        let out = admin(&["ecr", "create-repository", "--repository-name", repo])?;
        r.step(
            &format!("create-repository-{repo}"),
            &format!("aws ecr create-repository --repository-name {repo}"),
            "the repository is created",
            expect_ok(&out)
                .and_then(|v| Ok(str_at(&v, &["repository", "repositoryUri"])?.to_string())),
        );
    }

    r.section("7. aws configure, with user-for-switch's keys");
    let (key_id, secret) = user_keys.clone().unwrap_or_default();
    let answers = format!("{key_id}\n{secret}\n{REGION}\n\n");
    let out = shell.aws(&["configure"], Some(&answers))?;
    let creds_text = std::fs::read_to_string(home.join(".aws/credentials")).unwrap_or_default();
    r.step(
        "configure",
        "aws configure",
        "the keys land in ~/.aws/credentials under [default], the region in ~/.aws/config",
        if out.status != 0 {
            Err(anyhow::anyhow!("exit {}: {}", out.status, out.error_line()))
        } else if !creds_text.contains("[default]") || !creds_text.contains(&key_id) {
            Err(anyhow::anyhow!(
                "~/.aws/credentials has no [default] with the key"
            ))
        } else {
            Ok(out
                .stdout
                .split_inclusive(':')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("  "))
        },
    );

    r.section("8. The switch-role profile in ~/.aws/config");
    let profile =
        format!("\n[profile {ROLE_PROFILE}]\nrole_arn = {role_arn}\nsource_profile = default\n");
    let mut config = std::fs::read_to_string(home.join(".aws/config"))?;
    config.push_str(&profile);
    write_file(&home.join(".aws/config"), &config)?;
    r.note(profile.trim());

    r.section("9. Who am I?");
    let out = shell.aws(
        &["sts", "get-caller-identity", "--profile", ROLE_PROFILE],
        None,
    )?;
    let assumed_prefix = format!("arn:aws:sts::{account}:assumed-role/{ROLE}/botocore-session-");
    r.step(
        "whoami-role",
        "aws sts get-caller-identity --profile ECRLoginAndPushRoleProfile",
        "the assumed-role ARN with a botocore-session-<unix-time> session name",
        expect_ok(&out).and_then(|v| {
            let arn = str_at(&v, &["Arn"])?;
            let user_id = str_at(&v, &["UserId"])?;
            if arn.starts_with(&assumed_prefix) && user_id.starts_with("AROA") {
                Ok(format!("{arn}\nUserId {user_id}"))
            } else {
                bail!("unexpected identity {arn} / {user_id}")
            }
        }),
    );
    let out = shell.aws(&["sts", "get-caller-identity"], None)?;
    let user_arn = format!("arn:aws:iam::{account}:user/{USER}");
    r.step(
        "whoami-user",
        "aws sts get-caller-identity",
        "the user's own ARN",
        expect_ok(&out).and_then(|v| {
            let arn = str_at(&v, &["Arn"])?;
            if arn == user_arn {
                Ok(arn.to_string())
            } else {
                bail!("unexpected identity {arn}")
            }
        }),
    );

    r.section("10. Work under the role: log in to ECR and push to test-repos");
    // A profile does not inherit `region` from its source_profile (botocore's rule), so the
    // role profile needs --region (or a `region` line of its own) for regional ECR.
    r.note("(a profile does not inherit region from source_profile: ECR calls pass --region)");
    let out = shell.aws(
        &[
            "ecr",
            "get-login-password",
            "--profile",
            ROLE_PROFILE,
            "--region",
            REGION,
        ],
        None,
    )?;
    let password = out.stdout.trim().to_string();
    r.step(
        "get-login-password",
        "aws ecr get-login-password --profile ECRLoginAndPushRoleProfile --region ap-northeast-1",
        "a registry password for the role session",
        if out.status == 0 && !password.is_empty() {
            Ok(format!("password of {} characters", password.len()))
        } else {
            Err(anyhow::anyhow!("exit {}: {}", out.status, out.error_line()))
        },
    );
    let registry = server.addr.to_string();
    let image = kagi_ecr::client::demo_image();
    let push = kagi_ecr::client::Registry::new(&registry, "AWS", &password);
    // Progress goes to stderr (redrawn in place only on a terminal); the JSON report has none.
    let mut progress = (r.format == Format::Human).then(|| Transfer::new("pushing", "pushed"));
    let pushed = push.push(REPO, "v1", &image, &mut |done, total| {
        if let Some(p) = &mut progress {
            p.update(done, total);
        }
    });
    if let Some(p) = progress {
        p.finish();
    }
    r.step(
        "push",
        &format!("aws ecr get-login-password --profile {ROLE_PROFILE} --region {REGION} | docker login --username AWS --password-stdin {registry} && docker push {registry}/{REPO}:v1"),
        "the image is pushed",
        pushed.map(|digest| format!("pushed {registry}/{REPO}:v1 @ {digest}")),
    );
    let pulled = push.pull(REPO, "v1");
    r.step(
        "pull",
        &format!("docker pull {registry}/{REPO}:v1"),
        "the same image comes back, digests equal",
        pulled.and_then(|img| {
            if img.manifest_digest() == image.manifest_digest() {
                Ok(format!("pulled {} @ {}", REPO, img.manifest_digest()))
            } else {
                bail!(
                    "digest mismatch: {} != {}",
                    img.manifest_digest(),
                    image.manifest_digest()
                )
            }
        }),
    );

    r.section("…and everything else is denied");
    let denied = push.push(OTHER_REPO, "v1", &image, &mut |_, _| {});
    r.step(
        "push-other-repo",
        &format!("docker push {registry}/{OTHER_REPO}:v1"),
        "denied: the role may push only to test-repos",
        match denied {
            Ok(d) => Err(anyhow::anyhow!("the push succeeded ({d})")),
            Err(e) => {
                let msg = format!("{e:#}");
                if msg.contains("DENIED") || msg.contains("not authorized") {
                    Ok(format!("denied as expected: {msg}"))
                } else {
                    Err(anyhow::anyhow!("failed, but not with DENIED: {msg}"))
                }
            }
        },
    );
    let out = shell.aws(&["ecr", "get-login-password"], None)?;
    r.step(
        "user-ecr-login",
        "aws ecr get-login-password   # as the bare user, without the role",
        "AccessDeniedException: the user itself may do nothing but assume the role",
        expect_denied(&out, "AccessDeniedException"),
    );
    let out = shell.aws(&["iam", "list-users", "--profile", ROLE_PROFILE], None)?;
    r.step(
        "role-iam",
        "aws iam list-users --profile ECRLoginAndPushRoleProfile",
        "AccessDenied: the role cannot call IAM",
        expect_denied(&out, "AccessDenied"),
    );
    let out = shell.aws(&["iam", "list-users"], None)?;
    r.step(
        "user-iam",
        "aws iam list-users",
        "AccessDenied: neither can the bare user",
        expect_denied(&out, "AccessDenied"),
    );

    least_privilege_from_history(&mut r, &shell, &account, &ecr_policy)?;

    if opts.organization {
        organization_act(&mut r, &shell, &home, &files, &server, &image)?;
    }
    if opts.identity_center {
        let first = if opts.organization { 15 } else { 11 };
        identity_center_act(
            &mut r,
            &shell,
            first,
            opts.organization,
            &ecr_path,
            &server,
            &image,
        )?;
    }

    let passed = r.steps.iter().filter(|s| s["passed"] == true).count();
    let total = r.steps.len();
    match r.format {
        Format::Json => {
            let report = json!({
                "ok": r.ok, "passed": passed, "total": total,
                "endpoint": endpoint, "account": account,
                "elapsedMs": started.elapsed().as_millis() as u64,
                "steps": r.steps,
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Format::Human => {
            println!(
                "\n{} {passed}/{total} steps behaved as the tutorial says ({:.1} s)",
                if r.ok { "✓" } else { "✗" },
                started.elapsed().as_secs_f64()
            );
        }
    }

    if opts.keep_running {
        // With the default data dir inside the scratch dir, keep the path valid after keep().
        let data_dir = match &opts.data_dir {
            Some(d) => d.clone(),
            None => scratch.path().join("data"),
        };
        let kept = scratch.keep();
        if r.format == Format::Human {
            println!("\nThe server keeps running. From your own shell, try:");
            let aws_dir = kept.join("home/.aws");
            println!(
                "  export AWS_CONFIG_FILE={}",
                aws_dir.join("config").display()
            );
            println!(
                "  export AWS_SHARED_CREDENTIALS_FILE={}",
                aws_dir.join("credentials").display()
            );
            println!("  export AWS_ENDPOINT_URL={endpoint}");
            println!("  kagi sts get-caller-identity --profile {ROLE_PROFILE}");
            if opts.organization {
                println!("  kagi sts get-caller-identity --profile {WORKLOAD_PROFILE}");
                println!("  kagi organizations list-accounts --profile admin --output table");
            }
            if opts.identity_center {
                println!(
                    "  kagi sts get-caller-identity --profile {}   # the permission set's session",
                    SSO_PROFILE
                );
            }
            println!("  kagi ecr describe-repositories --profile admin --output table");
            println!(
                "  aws sts get-caller-identity --profile {ROLE_PROFILE}   # the official CLI works too"
            );
            println!(
                "  kagi console --profile {ROLE_PROFILE} --open   # the web console, as the role session"
            );
            let password = data_dir.join("root-password");
            if password.exists() {
                println!(
                    "Console: {endpoint}/console/ — sign in as the root user with account {} and the password in {}",
                    server.account_id,
                    password.display()
                );
            }
            println!("Press Ctrl-C to stop.");
        }
        loop {
            std::thread::park();
        }
    }
    if r.format == Format::Human {
        println!(
            "\nNext: `kagi demo --keep-running` leaves the server up to explore with kagi or the official aws CLI."
        );
    }
    server.shutdown();
    Ok(r.ok)
}

/// The seed's last lesson, from the other side: every call above was recorded (CloudTrail's
/// event history), the denied push says why, and the policy generated from what the role
/// really did is no larger than the hand-written one.
fn least_privilege_from_history(
    r: &mut Report,
    shell: &Shell,
    account: &str,
    hand_written: &str,
) -> Result<()> {
    r.section("…and the policy it really needed: the event history and policy generation");
    let out = shell.aws(
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=PutImage",
            "--profile",
            "admin",
        ],
        None,
    )?;
    r.step(
        "trail-put-image",
        "aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=PutImage --profile admin",
        "the push is recorded, as the role's session",
        expect_ok(&out).and_then(|v| {
            let events = v["Events"].as_array().cloned().unwrap_or_default();
            let by_role = events.iter().any(|e| {
                e["CloudTrailEvent"].as_str().is_some_and(|c| {
                    c.contains(&format!(":role/{ROLE}\""))
                        && c.contains("\"errorCode\"").eq(&false)
                })
            });
            if by_role {
                Ok(format!("{} PutImage event(s), the push by {ROLE}", events.len()))
            } else {
                bail!("no PutImage event of the role: {v}")
            }
        }),
    );
    let out = shell.aws(
        &[
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=ResourceName,AttributeValue=other-repos",
            "--query",
            "Events[0].CloudTrailEvent",
            "--output",
            "text",
            "--profile",
            "admin",
        ],
        None,
    )?;
    r.step(
        "trail-why-denied",
        "aws cloudtrail lookup-events --lookup-attributes AttributeKey=ResourceName,AttributeValue=other-repos --query 'Events[0].CloudTrailEvent'",
        "the denied push to other-repos, and kagi's reason for the administrator",
        (|| {
            if out.status != 0 {
                bail!("{}", out.error_line());
            }
            let v: Value = serde_json::from_str(out.stdout.trim())?;
            let why = &v["additionalEventData"]["kagiAuthorization"][0];
            match (v["errorCode"].as_str(), why["reason"].as_str()) {
                (Some(code), Some(reason)) => Ok(format!(
                    "{} {code}: {} on {} — {reason}",
                    v["eventName"].as_str().unwrap_or("?"),
                    why["action"].as_str().unwrap_or("?"),
                    why["resource"].as_str().unwrap_or("?")
                )),
                _ => bail!("no denial with a reason: {v}"),
            }
        })(),
    );
    let denied_id = serde_json::from_str::<Value>(out.stdout.trim())
        .ok()
        .and_then(|v| v["eventID"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let out = shell.aws(
        &["policy", "explain", &denied_id, "--profile", "admin"],
        None,
    )?;
    r.step(
        "policy-explain",
        &format!("kagi policy explain {denied_id} --profile admin"),
        "the same event, explained for the administrator",
        (|| {
            if out.status != 0 {
                bail!("{}", out.error_line());
            }
            let text = out.stdout.trim();
            if text.contains("Decision: ecr:")
                && text.contains("implicitDeny")
                && text.contains("because ")
            {
                Ok(text.lines().take(5).collect::<Vec<_>>().join(" | "))
            } else {
                bail!("no explanation of the decision: {text}")
            }
        })(),
    );
    let role_arn = format!("arn:aws:iam::{account}:role/{ROLE}");
    let out = shell.aws(
        &[
            "policy",
            "generate",
            "--principal",
            &role_arn,
            "--resource-level",
            "--profile",
            "admin",
        ],
        None,
    )?;
    r.step(
        "policy-generate",
        &format!("kagi policy generate --principal {role_arn} --resource-level --profile admin"),
        "a policy from the role's recorded calls, within the hand-written ECRPushAndLoginPolicy",
        (|| {
            if out.status != 0 {
                bail!("{}", out.error_line());
            }
            let generated: Value = serde_json::from_str(&out.stdout)?;
            let written: Value = serde_json::from_str(hand_written)?;
            let list = |v: &Value| -> Vec<String> {
                match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                }
            };
            let allows = |stmts: &Value, action: &str, resource: &str| -> bool {
                stmts.as_array().into_iter().flatten().any(|s| {
                    list(&s["Action"]).iter().any(|a| a == action)
                        && list(&s["Resource"]).iter().any(|r| r == resource || r == "*")
                })
            };
            let mut actions = 0;
            for st in generated["Statement"].as_array().into_iter().flatten() {
                for a in list(&st["Action"]) {
                    for res in list(&st["Resource"]) {
                        if !allows(&written["Statement"], &a, &res) {
                            bail!("the generated policy allows {a} on {res}, which the hand-written one does not");
                        }
                    }
                    actions += 1;
                }
            }
            if actions == 0 {
                bail!("an empty policy: {generated}");
            }
            let written_actions: usize = written["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| list(&s["Action"]).len())
                .sum();
            Ok(format!(
                "{actions} actions (the hand-written policy has {written_actions}), every one on {REPO} or, for GetAuthorizationToken, *"
            ))
        })(),
    );
    Ok(())
}

/// The second act (`--organization`): the same least-privilege push, but the role lives in a
/// workload account of an organization, reached by cross-account switch role, and a service
/// control policy forbids something the role's own policy allows.
fn organization_act(
    r: &mut Report,
    shell: &Shell,
    home: &Path,
    files: &Path,
    server: &kagi_server::RunningServer,
    image: &kagi_ecr::client::Image,
) -> Result<()> {
    let account = server.account_id.clone();
    let admin = |args: &[&str]| -> Result<Outcome> {
        let mut v = args.to_vec();
        v.extend(["--profile", "admin"]);
        shell.aws(&v, None)
    };
    let append_config = |text: &str| -> Result<()> {
        let mut config = std::fs::read_to_string(home.join(".aws/config"))?;
        config.push_str(text);
        write_file(&home.join(".aws/config"), &config)
    };

    r.section("11. An organization: the push role moves to a workload account");
    let out = admin(&["organizations", "create-organization"])?;
    r.step(
        "create-organization",
        "aws organizations create-organization",
        "this account becomes the organization's management account",
        expect_ok(&out).and_then(|v| {
            Ok(format!(
                "{} managed by {}",
                str_at(&v, &["Organization", "Id"])?,
                str_at(&v, &["Organization", "MasterAccountId"])?
            ))
        }),
    );
    let out = admin(&[
        "organizations",
        "create-account",
        "--email",
        "workload@example.com",
        "--account-name",
        "workload",
    ])?;
    let mut workload = String::new();
    r.step(
        "create-account",
        "aws organizations create-account --email workload@example.com --account-name workload",
        "a member account with OrganizationAccountAccessRole",
        expect_ok(&out).and_then(|v| {
            let state = str_at(&v, &["CreateAccountStatus", "State"])?;
            workload = str_at(&v, &["CreateAccountStatus", "AccountId"])?.to_string();
            if state == "SUCCEEDED" {
                Ok(format!("account {workload}: {state}"))
            } else {
                bail!("state {state}")
            }
        }),
    );
    if workload.is_empty() {
        return Ok(());
    }

    // The root user cannot assume roles: a platform administrator of the management account
    // reaches the new account through OrganizationAccountAccessRole.
    let admin_ok = |args: &[&str]| -> Result<Value> { expect_ok(&admin(args)?) };
    let platform = (|| -> Result<(String, String)> {
        admin_ok(&["iam", "create-user", "--user-name", PLATFORM])?;
        admin_ok(&[
            "iam",
            "attach-user-policy",
            "--user-name",
            PLATFORM,
            "--policy-arn",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ])?;
        let k = admin_ok(&["iam", "create-access-key", "--user-name", PLATFORM])?;
        Ok((
            str_at(&k, &["AccessKey", "AccessKeyId"])?.to_string(),
            str_at(&k, &["AccessKey", "SecretAccessKey"])?.to_string(),
        ))
    })();
    let (pid, psecret) = platform.unwrap_or_default();
    let mut creds = std::fs::read_to_string(home.join(".aws/credentials"))?;
    creds.push_str(&format!(
        "\n[{PLATFORM}]\naws_access_key_id = {pid}\naws_secret_access_key = {psecret}\n"
    ));
    write_file(&home.join(".aws/credentials"), &creds)?;
    let access_role = format!("arn:aws:iam::{workload}:role/OrganizationAccountAccessRole");
    append_config(&format!(
        "\n[profile {PLATFORM}]\nregion = {REGION}\n\n[profile workload-admin]\nrole_arn = {access_role}\nsource_profile = {PLATFORM}\nregion = {REGION}\n"
    ))?;
    let wadmin = |args: &[&str]| -> Result<Outcome> {
        let mut v = args.to_vec();
        v.extend(["--profile", "workload-admin"]);
        shell.aws(&v, None)
    };
    let out = wadmin(&["sts", "get-caller-identity"])?;
    r.step(
        "into-workload",
        "aws sts get-caller-identity --profile workload-admin   # OrganizationAccountAccessRole",
        "a session in the workload account",
        expect_ok(&out).and_then(|v| {
            let arn = str_at(&v, &["Arn"])?;
            if arn.starts_with(&format!(
                "arn:aws:sts::{workload}:assumed-role/OrganizationAccountAccessRole/"
            )) {
                Ok(arn.to_string())
            } else {
                bail!("unexpected identity {arn}")
            }
        }),
    );

    // The workload account's repository and push role: trusted by user-for-switch of the
    // management account; its policy allows pushing to test-repos and deleting its images.
    let workload_role = format!("arn:aws:iam::{workload}:role/{ROLE}");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:user/{USER}")}, "Action": "sts:AssumeRole"}]});
    let role_policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:InitiateLayerUpload",
            "ecr:BatchCheckLayerAvailability", "ecr:PutImage", "ecr:BatchDeleteImage"],
         "Resource": format!("arn:aws:ecr:{REGION}:{workload}:repository/{REPO}")},
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]});
    let trust_path = files.join("workload-trust.json");
    let policy_path = files.join("workload-ecr-policy.json");
    write_file(&trust_path, &serde_json::to_string_pretty(&trust)?)?;
    write_file(&policy_path, &serde_json::to_string_pretty(&role_policy)?)?;
    let setup = (|| -> Result<String> {
        expect_ok(&wadmin(&[
            "ecr",
            "create-repository",
            "--repository-name",
            REPO,
        ])?)?;
        expect_ok(&wadmin(&[
            "iam",
            "create-role",
            "--role-name",
            ROLE,
            "--assume-role-policy-document",
            &format!("file://{}", trust_path.display()),
        ])?)?;
        expect_ok(&wadmin(&[
            "iam",
            "put-role-policy",
            "--role-name",
            ROLE,
            "--policy-name",
            "ECRPushAndLoginPolicy",
            "--policy-document",
            &format!("file://{}", policy_path.display()),
        ])?)?;
        Ok(format!(
            "{workload_role} trusts {account}'s {USER}; test-repos created"
        ))
    })();
    r.step(
        "workload-role",
        "aws iam create-role --role-name ECRLoginAndPushRole ... --profile workload-admin",
        "the workload account's repository and push role (it may also delete images)",
        setup,
    );
    // The user's own side of a cross-account switch: its policy must name the other role too.
    let switch = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": workload_role}]});
    let switch_path = files.join("switch-to-workload.json");
    write_file(&switch_path, &serde_json::to_string_pretty(&switch)?)?;
    let out = admin(&[
        "iam",
        "put-user-policy",
        "--user-name",
        USER,
        "--policy-name",
        "SwitchToWorkload",
        "--policy-document",
        &format!("file://{}", switch_path.display()),
    ])?;
    r.step(
        "user-switch-policy",
        "aws iam put-user-policy --user-name user-for-switch --policy-name SwitchToWorkload ...",
        "cross-account: the user's own policy must allow the role too, not only the role's trust",
        expect_ok(&out).map(|_| format!("user-for-switch may assume {workload_role}")),
    );

    r.section("12. A service control policy: workload images are never deleted");
    let roots = admin_ok(&["organizations", "list-roots"]);
    let root_id = roots
        .as_ref()
        .ok()
        .and_then(|v| v["Roots"][0]["Id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let out = admin(&[
        "organizations",
        "enable-policy-type",
        "--root-id",
        &root_id,
        "--policy-type",
        "SERVICE_CONTROL_POLICY",
    ])?;
    r.step(
        "enable-scp",
        &format!("aws organizations enable-policy-type --root-id {root_id} --policy-type SERVICE_CONTROL_POLICY"),
        "SCPs on, FullAWSAccess attached everywhere",
        expect_ok(&out).map(|_| "enabled".to_string()),
    );
    let scp = json!({"Version": "2012-10-17", "Statement": [{"Sid": "KeepImages", "Effect": "Deny",
        "Action": ["ecr:BatchDeleteImage", "ecr:DeleteRepository"], "Resource": "*"}]});
    let scp_path = files.join("keep-images-scp.json");
    write_file(&scp_path, &serde_json::to_string_pretty(&scp)?)?;
    let out = admin(&[
        "organizations",
        "create-policy",
        "--name",
        "KeepWorkloadImages",
        "--type",
        "SERVICE_CONTROL_POLICY",
        "--description",
        "Images in workload accounts are history: never deleted",
        "--content",
        &format!("file://{}", scp_path.display()),
    ])?;
    let mut scp_id = String::new();
    r.step(
        "create-scp",
        "aws organizations create-policy --name KeepWorkloadImages --type SERVICE_CONTROL_POLICY --content file://keep-images-scp.json",
        "the SCP is created",
        expect_ok(&out).and_then(|v| {
            scp_id = str_at(&v, &["Policy", "PolicySummary", "Id"])?.to_string();
            Ok(scp_id.clone())
        }),
    );
    let out = admin(&[
        "organizations",
        "attach-policy",
        "--policy-id",
        &scp_id,
        "--target-id",
        &workload,
    ])?;
    r.step(
        "attach-scp",
        &format!("aws organizations attach-policy --policy-id {scp_id} --target-id {workload}"),
        "attached to the workload account",
        expect_ok(&out).map(|_| "attached".to_string()),
    );

    r.section("13. Switch role across accounts and push");
    let profile = format!(
        "\n[profile {WORKLOAD_PROFILE}]\nrole_arn = {workload_role}\nsource_profile = default\nregion = {REGION}\n"
    );
    append_config(&profile)?;
    r.note(profile.trim());
    let out = shell.aws(
        &["sts", "get-caller-identity", "--profile", WORKLOAD_PROFILE],
        None,
    )?;
    r.step(
        "whoami-workload",
        &format!("aws sts get-caller-identity --profile {WORKLOAD_PROFILE}"),
        "the role session in the workload account",
        expect_ok(&out).and_then(|v| {
            let arn = str_at(&v, &["Arn"])?;
            if arn.starts_with(&format!("arn:aws:sts::{workload}:assumed-role/{ROLE}/")) {
                Ok(arn.to_string())
            } else {
                bail!("unexpected identity {arn}")
            }
        }),
    );
    let out = shell.aws(
        &["ecr", "get-login-password", "--profile", WORKLOAD_PROFILE],
        None,
    )?;
    let password = out.stdout.trim().to_string();
    let registry = server.addr.to_string();
    // The password names the workload account's key: the registry at kagi's address is that
    // account's (another account's is reached as ACCOUNT.dkr.ecr.REGION.localhost:PORT).
    let reg = kagi_ecr::client::Registry::new(&registry, "AWS", &password);
    let pushed = if out.status == 0 {
        reg.push(REPO, "v1", image, &mut |_, _| {})
    } else {
        Err(anyhow::anyhow!("get-login-password: {}", out.error_line()))
    };
    r.step(
        "push-workload",
        &format!("aws ecr get-login-password --profile {WORKLOAD_PROFILE} | docker login ... && docker push {registry}/{REPO}:v1"),
        "pushed to the workload account's test-repos",
        pushed.map(|d| format!("pushed {REPO}:v1 @ {d} into account {workload}")),
    );
    let theirs = wadmin(&["ecr", "describe-images", "--repository-name", REPO])?;
    let ours = admin(&["ecr", "describe-images", "--repository-name", REPO])?;
    r.step(
        "two-registries",
        &format!("aws ecr describe-images --repository-name {REPO} --profile workload-admin"),
        "the workload's test-repos holds the image; the management account's is another repository",
        (|| -> Result<String> {
            let t = expect_ok(&theirs)?;
            let o = expect_ok(&ours)?;
            let n = t["imageDetails"].as_array().map_or(0, Vec::len);
            let m = o["imageDetails"].as_array().map_or(0, Vec::len);
            if n == 1 && t["imageDetails"][0]["registryId"] == json!(workload) {
                Ok(format!(
                    "{n} image in {workload}/{REPO}; {m} in {account}/{REPO}"
                ))
            } else {
                bail!("workload images {t}")
            }
        })(),
    );

    r.section("14. The SCP bites: the role's own policy allows deleting images, the organization does not");
    let out = shell.aws(
        &[
            "ecr",
            "batch-delete-image",
            "--repository-name",
            REPO,
            "--image-ids",
            "imageTag=v1",
            "--profile",
            WORKLOAD_PROFILE,
        ],
        None,
    )?;
    r.step(
        "scp-denies",
        &format!("aws ecr batch-delete-image --repository-name {REPO} --image-ids imageTag=v1 --profile {WORKLOAD_PROFILE}"),
        "AccessDeniedException with an explicit deny in a service control policy",
        expect_denied(&out, "AccessDeniedException").and_then(|d| {
            if d.contains("service control policy") {
                Ok(d)
            } else {
                bail!("denied, but not by the SCP: {d}")
            }
        }),
    );
    let out = admin(&[
        "ecr",
        "batch-delete-image",
        "--repository-name",
        REPO,
        "--image-ids",
        "imageTag=v1",
    ])?;
    r.step(
        "management-exempt",
        "aws ecr batch-delete-image --repository-name test-repos --image-ids imageTag=v1 --profile admin",
        "the management account's own repository is not under the SCP",
        expect_ok(&out).map(|_| "deleted in the management account".to_string()),
    );
    Ok(())
}

/// The third act (`--identity-center`): the same least-privilege push, but for a person of
/// IAM Identity Center instead of an IAM user with an access key: an instance, a user with a
/// portal password, a permission set holding exactly the seed's `ECRPushAndLoginPolicy`,
/// assigned on the account; then `aws configure sso` and `aws sso login` with the device code
/// flow, the push under the `AWSReservedSSO_` role session, and the denials.
fn identity_center_act(
    r: &mut Report,
    shell: &Shell,
    first: u32,
    have_organization: bool,
    ecr_policy: &Path,
    server: &kagi_server::RunningServer,
    image: &kagi_ecr::client::Image,
) -> Result<()> {
    let account = server.account_id.clone();
    let endpoint = shell.endpoint.clone();
    let start_url = format!("{endpoint}/start");
    let admin = |args: &[&str]| -> Result<Outcome> {
        let mut v = args.to_vec();
        v.extend(["--profile", "admin"]);
        shell.aws(&v, None)
    };
    // The person's portal password: made here, never printed.
    let password = format!("Demo-{}-Portal!", kagi_server::identity_center::hex16());

    r.section(&format!(
        "{first}. IAM Identity Center: people sign in once, no long-term access key"
    ));
    if !have_organization {
        let out = admin(&["organizations", "create-organization"])?;
        r.step(
            "ic-create-organization",
            "aws organizations create-organization",
            "the organization whose management account runs Identity Center",
            expect_ok(&out).and_then(|v| Ok(str_at(&v, &["Organization", "Id"])?.to_string())),
        );
    }
    let out = admin(&["sso-admin", "create-instance", "--name", "kagi"])?;
    let mut instance = String::new();
    r.step(
        "create-instance",
        "aws sso-admin create-instance --name kagi",
        "the organization's Identity Center instance",
        expect_ok(&out).and_then(|v| {
            instance = str_at(&v, &["InstanceArn"])?.to_string();
            Ok(instance.clone())
        }),
    );
    let out = admin(&["sso-admin", "list-instances"])?;
    let mut store = String::new();
    r.step(
        "list-instances",
        "aws sso-admin list-instances",
        "the instance and its identity store",
        expect_ok(&out).and_then(|v| {
            let i = &v["Instances"][0];
            store = str_at(i, &["IdentityStoreId"])?.to_string();
            if str_at(i, &["InstanceArn"])? == instance {
                Ok(format!("identity store {store}, start URL {start_url}"))
            } else {
                bail!("another instance: {v}")
            }
        }),
    );
    if instance.is_empty() || store.is_empty() {
        return Ok(());
    }

    r.section(&format!(
        "{}. A person in the identity store, with a portal password",
        first + 1
    ));
    let out = admin(&[
        "identitystore",
        "create-user",
        "--identity-store-id",
        &store,
        "--user-name",
        SSO_USER,
        "--display-name",
        "Alice Example",
        "--name",
        "GivenName=Alice,FamilyName=Example",
    ])?;
    let mut user_id = String::new();
    r.step(
        "create-sso-user",
        &format!("aws identitystore create-user --identity-store-id {store} --user-name {SSO_USER} --display-name \"Alice Example\" --name GivenName=Alice,FamilyName=Example"),
        "the user is created",
        expect_ok(&out).and_then(|v| {
            user_id = str_at(&v, &["UserId"])?.to_string();
            Ok(format!("UserId {user_id}"))
        }),
    );
    let out = shell.aws(
        &[
            "sso",
            "set-password",
            "--identity-store-id",
            &store,
            "--user-name",
            SSO_USER,
            "--password-stdin",
            "--profile",
            "admin",
        ],
        Some(&format!("{password}\n")),
    )?;
    r.step(
        "set-portal-password",
        &format!("kagi sso set-password --identity-store-id {store} --user-name {SSO_USER} --password-stdin"),
        "the portal password is set (kagi's one extension: AWS e-mails an invitation instead)",
        expect_ok(&out).map(|_| format!("{SSO_USER} may sign in at {start_url}")),
    );

    r.section(&format!(
        "{}. A permission set holding exactly the seed's ECRPushAndLoginPolicy",
        first + 2
    ));
    let out = admin(&[
        "sso-admin",
        "create-permission-set",
        "--instance-arn",
        &instance,
        "--name",
        PERMISSION_SET,
        "--session-duration",
        "PT1H",
    ])?;
    let mut ps = String::new();
    r.step(
        "create-permission-set",
        &format!("aws sso-admin create-permission-set --instance-arn {instance} --name {PERMISSION_SET} --session-duration PT1H"),
        "the permission set is created",
        expect_ok(&out).and_then(|v| {
            ps = str_at(&v, &["PermissionSet", "PermissionSetArn"])?.to_string();
            Ok(ps.clone())
        }),
    );
    let out = admin(&[
        "sso-admin",
        "put-inline-policy-to-permission-set",
        "--instance-arn",
        &instance,
        "--permission-set-arn",
        &ps,
        "--inline-policy",
        &format!("file://{}", ecr_policy.display()),
    ])?;
    r.step(
        "put-inline-policy",
        "aws sso-admin put-inline-policy-to-permission-set --instance-arn ... --permission-set-arn ... --inline-policy file://ecr-policy.json",
        "the seed's policy: push to test-repos, GetAuthorizationToken, nothing else",
        expect_ok(&out).map(|_| format!("{PERMISSION_SET} holds ECRPushAndLoginPolicy")),
    );
    let out = admin(&[
        "sso-admin",
        "get-inline-policy-for-permission-set",
        "--instance-arn",
        &instance,
        "--permission-set-arn",
        &ps,
    ])?;
    r.step(
        "get-inline-policy",
        "aws sso-admin get-inline-policy-for-permission-set --instance-arn ... --permission-set-arn ...",
        "exactly the seed's ECRPushAndLoginPolicy, the same document the role of step 6 has",
        expect_ok(&out).and_then(|v| {
            let held: Value = serde_json::from_str(str_at(&v, &["InlinePolicy"])?)?;
            let file: Value = serde_json::from_str(&std::fs::read_to_string(ecr_policy)?)?;
            if held == file {
                Ok(format!(
                    "{} statements, equal to ecr-policy.json",
                    held["Statement"].as_array().map_or(0, Vec::len)
                ))
            } else {
                bail!("the permission set holds {held}")
            }
        }),
    );
    let out = admin(&[
        "sso-admin",
        "create-account-assignment",
        "--instance-arn",
        &instance,
        "--target-id",
        &account,
        "--target-type",
        "AWS_ACCOUNT",
        "--permission-set-arn",
        &ps,
        "--principal-type",
        "USER",
        "--principal-id",
        &user_id,
    ])?;
    r.step(
        "create-account-assignment",
        &format!("aws sso-admin create-account-assignment --instance-arn ... --target-id {account} --target-type AWS_ACCOUNT --permission-set-arn ... --principal-type USER --principal-id {user_id}"),
        "assigned and provisioned (kagi completes before it answers)",
        expect_ok(&out).and_then(|v| {
            let status = str_at(&v, &["AccountAssignmentCreationStatus", "Status"])?;
            if status == "SUCCEEDED" {
                Ok(format!("{status}: {SSO_USER} may use {PERMISSION_SET} in {account}"))
            } else {
                bail!("status {status}: {v}")
            }
        }),
    );
    let out = admin(&[
        "iam",
        "list-roles",
        "--path-prefix",
        "/aws-reserved/sso.amazonaws.com/",
    ])?;
    let reserved_prefix = format!("AWSReservedSSO_{PERMISSION_SET}_");
    r.step(
        "reserved-role",
        "aws iam list-roles --path-prefix /aws-reserved/sso.amazonaws.com/",
        "the provisioned role AWSReservedSSO_<permission set>_<hex>",
        expect_ok(&out).and_then(|v| {
            let names: Vec<&str> = v["Roles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["RoleName"].as_str())
                .collect();
            match names.as_slice() {
                [one] if one.starts_with(&reserved_prefix) => Ok(one.to_string()),
                _ => bail!("roles under the path: {names:?}"),
            }
        }),
    );

    r.section(&format!(
        "{}. aws configure sso: sign in once, pick the account and role",
        first + 3
    ));
    r.note(&format!(
        "The demo plays the person in the browser too: it signs in to the access portal\nas {SSO_USER} and allows the device code by posting the portal's own forms\n({endpoint}/start/signin, /start/device) over HTTP.\nYou would open the URL the command prints and do the same in your browser."
    ));
    let answers = format!("{SSO_SESSION}\n{start_url}\n{REGION}\n\n{REGION}\n\n{SSO_PROFILE}\n");
    let (out, approval) = with_device_approval(
        shell,
        &["configure", "sso", "--use-device-code", "--no-browser"],
        &answers,
        |code| approve_in_portal(&endpoint, SSO_USER, &password, code),
    )?;
    r.step(
        "portal-approve",
        &format!("(browser) {endpoint}/start/device?user_code=CODE: sign in as {SSO_USER}, Allow"),
        "the portal signs alice in and approves the code the CLI shows",
        approval.map(|code| format!("approved {code}")),
    );
    let config = std::fs::read_to_string(shell.home.join(".aws/config")).unwrap_or_default();
    r.step(
        "configure-sso",
        "aws configure sso --use-device-code --no-browser",
        "the [sso-session] and the profile are written, the only account and role picked",
        if out.status != 0 {
            Err(anyhow::anyhow!(
                "exit {}: {} {}",
                out.status,
                out.error_line(),
                out.stdout.trim()
            ))
        } else if !out
            .stdout
            .contains(&format!("Using the role name \"{PERMISSION_SET}\""))
        {
            Err(anyhow::anyhow!("no role picked: {}", out.stdout.trim()))
        } else {
            let section = |name: &str| -> String {
                config
                    .split_inclusive('\n')
                    .skip_while(|l| l.trim() != name)
                    .take_while({
                        let mut first = true;
                        move |l| std::mem::take(&mut first) || !l.starts_with('[')
                    })
                    .collect()
            };
            let written = format!(
                "{}{}",
                section(&format!("[profile {SSO_PROFILE}]")),
                section(&format!("[sso-session {SSO_SESSION}]"))
            );
            if written.contains(&format!("sso_session = {SSO_SESSION}"))
                && written.contains(&format!("sso_start_url = {start_url}"))
            {
                Ok(written.trim_end().to_string())
            } else {
                Err(anyhow::anyhow!("~/.aws/config:\n{config}"))
            }
        },
    );

    r.section(&format!(
        "{}. Work under the permission set: who am I, log in to ECR, push",
        first + 4
    ));
    let sso_prefix = format!("arn:aws:sts::{account}:assumed-role/{reserved_prefix}");
    let whoami = |id: &str, r: &mut Report| -> Result<()> {
        let out = shell.aws(
            &["sts", "get-caller-identity", "--profile", SSO_PROFILE],
            None,
        )?;
        r.step(
            id,
            &format!("aws sts get-caller-identity --profile {SSO_PROFILE}"),
            "the AWSReservedSSO_ role session, named after the person",
            expect_ok(&out).and_then(|v| {
                let arn = str_at(&v, &["Arn"])?;
                if arn.starts_with(&sso_prefix) && arn.ends_with(&format!("/{SSO_USER}")) {
                    Ok(arn.to_string())
                } else {
                    bail!("unexpected identity {arn}")
                }
            }),
        );
        Ok(())
    };
    whoami("whoami-sso", r)?;
    let out = shell.aws(
        &["ecr", "get-login-password", "--profile", SSO_PROFILE],
        None,
    )?;
    let registry_password = out.stdout.trim().to_string();
    r.step(
        "sso-get-login-password",
        &format!("aws ecr get-login-password --profile {SSO_PROFILE}"),
        "a registry password for the permission set's session",
        if out.status == 0 && !registry_password.is_empty() {
            Ok(format!(
                "password of {} characters",
                registry_password.len()
            ))
        } else {
            Err(anyhow::anyhow!("exit {}: {}", out.status, out.error_line()))
        },
    );
    let registry = server.addr.to_string();
    let reg = kagi_ecr::client::Registry::new(&registry, "AWS", &registry_password);
    let pushed = reg.push(REPO, "sso", image, &mut |_, _| {});
    r.step(
        "sso-push",
        &format!("aws ecr get-login-password --profile {SSO_PROFILE} | docker login --username AWS --password-stdin {registry} && docker push {registry}/{REPO}:sso"),
        "the image is pushed",
        pushed.map(|d| format!("pushed {registry}/{REPO}:sso @ {d}")),
    );
    let denied = reg.push(OTHER_REPO, "sso", image, &mut |_, _| {});
    r.step(
        "sso-push-other-repo",
        &format!("docker push {registry}/{OTHER_REPO}:sso"),
        "denied: the permission set may push only to test-repos",
        match denied {
            Ok(d) => Err(anyhow::anyhow!("the push succeeded ({d})")),
            Err(e) => {
                let msg = format!("{e:#}");
                if msg.contains("DENIED") || msg.contains("not authorized") {
                    Ok(format!("denied as expected: {msg}"))
                } else {
                    Err(anyhow::anyhow!("failed, but not with DENIED: {msg}"))
                }
            }
        },
    );
    let out = shell.aws(&["iam", "list-users", "--profile", SSO_PROFILE], None)?;
    r.step(
        "sso-iam",
        &format!("aws iam list-users --profile {SSO_PROFILE}"),
        "AccessDenied: the permission set holds nothing but the push",
        expect_denied(&out, "AccessDenied"),
    );

    r.section(&format!(
        "{}. Sign out, and in again with aws sso login",
        first + 5
    ));
    let out = shell.aws(&["sso", "logout"], None)?;
    r.step(
        "sso-logout",
        "aws sso logout",
        "the token and the role credentials are gone from the caches",
        if out.status == 0 {
            Ok("signed out".to_string())
        } else {
            Err(anyhow::anyhow!("exit {}: {}", out.status, out.error_line()))
        },
    );
    let out = shell.aws(
        &["sts", "get-caller-identity", "--profile", SSO_PROFILE],
        None,
    )?;
    r.step(
        "after-logout",
        &format!("aws sts get-caller-identity --profile {SSO_PROFILE}"),
        "refused: no token until the person signs in again",
        if out.status == 255 && out.stderr.contains("Error loading SSO Token") {
            Ok(out.error_line())
        } else {
            Err(anyhow::anyhow!(
                "exit {}: {} {}",
                out.status,
                out.error_line(),
                out.stdout.trim()
            ))
        },
    );
    let (out, approval) = with_device_approval(
        shell,
        &[
            "sso",
            "login",
            "--profile",
            SSO_PROFILE,
            "--use-device-code",
            "--no-browser",
        ],
        "",
        |code| approve_in_portal(&endpoint, SSO_USER, &password, code),
    )?;
    r.step(
        "sso-login",
        &format!("aws sso login --profile {SSO_PROFILE} --use-device-code --no-browser   # approved in the portal as above"),
        "Successfully logged into Start URL",
        approval.and_then(|_| {
            let line = format!("Successfully logged into Start URL: {start_url}");
            if out.status == 0 && out.stdout.contains(&line) {
                Ok(line)
            } else {
                bail!("exit {}: {} {}", out.status, out.error_line(), out.stdout.trim())
            }
        }),
    );
    whoami("whoami-sso-again", r)?;
    Ok(())
}

/// Runs `aws ARGS` with `answers` on stdin; when it prints a device code (`--use-device-code
/// --no-browser`), `approve(code)` plays the person. The command is killed if the approval
/// fails or no code appears within a minute. Returns its outcome and the approval's result.
fn with_device_approval(
    shell: &Shell,
    args: &[&str],
    answers: &str,
    approve: impl FnOnce(&str) -> Result<()>,
) -> Result<(Outcome, Result<String>)> {
    let mut child = shell
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kagi as aws")?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(answers.as_bytes())?;
    let read_all = |mut from: Box<dyn std::io::Read + Send>, into: Arc<Mutex<Vec<u8>>>| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let t_out = read_all(
        Box::new(child.stdout.take().expect("piped stdout")),
        stdout.clone(),
    );
    let t_err = read_all(
        Box::new(child.stderr.take().expect("piped stderr")),
        stderr.clone(),
    );
    let text = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&b.lock().unwrap()).into_owned();
    const MARK: &str = "Then enter the code:\n\n";
    let started = Instant::now();
    let approval = loop {
        let t = text(&stdout);
        if let Some(at) = t.find(MARK)
            && let Some(code) = t[at + MARK.len()..].split_once('\n').map(|(c, _)| c.trim())
        {
            let code = code.to_string();
            break approve(&code).map(|()| code);
        }
        if child.try_wait()?.is_some() {
            break Err(anyhow::anyhow!("no device code was shown"));
        }
        if started.elapsed() > Duration::from_secs(60) {
            break Err(anyhow::anyhow!("no device code within 60 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if approval.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let _ = (t_out.join(), t_err.join());
    Ok((
        Outcome {
            status: status.code().unwrap_or(-1),
            stdout: text(&stdout),
            stderr: text(&stderr),
        },
        approval,
    ))
}

/// What the person does in the browser, as plain HTTP: sign in to the access portal
/// (`POST /start/signin`), open the device page and allow the code (with the page's CSRF
/// token). No private way in: the same forms a browser posts.
fn approve_in_portal(endpoint: &str, user: &str, password: &str, user_code: &str) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let next = format!("/start/device?user_code={user_code}");
    let resp = agent
        .post(format!("{endpoint}/start/signin"))
        .send_form([
            ("username", user),
            ("password", password),
            ("next", next.as_str()),
        ])
        .context("portal sign-in")?;
    if resp.status() != 303 {
        bail!("portal sign-in answered HTTP {}", resp.status());
    }
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| !c.ends_with('='))
        .context("the portal set no session cookie")?
        .to_string();
    let mut page = agent
        .get(format!("{endpoint}{next}"))
        .header("Cookie", &cookie)
        .call()
        .context("the device page")?;
    let html = page.body_mut().read_to_string()?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no CSRF field on the device page")?
        .to_string();
    let mut resp = agent
        .post(format!("{endpoint}/start/device"))
        .header("Cookie", &cookie)
        .send_form([
            ("user_code", user_code),
            ("decision", "allow"),
            ("csrf", csrf.as_str()),
        ])
        .context("allowing the code")?;
    let body = resp.body_mut().read_to_string()?;
    if resp.status() == 200 && body.contains("approved") {
        Ok(())
    } else {
        bail!(
            "the portal did not approve the code (HTTP {})",
            resp.status()
        )
    }
}
