//! A sandboxed in-process invocation: temporary HOME, explicit environment, piped streams.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use kagi_cli::{Env, Io, run};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub vars: HashMap<String, String>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        Sandbox {
            dir,
            vars: HashMap::new(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Self {
        self.vars.insert(k.to_string(), v.to_string());
        self
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.home().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.home().join(rel)).unwrap_or_default()
    }

    pub fn env(&self) -> Env {
        let mut vars = self.vars.clone();
        vars.insert("HOME".into(), self.home().display().to_string());
        Env {
            vars,
            home: self.home(),
            stdin_tty: false,
            stdout_tty: false,
        }
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut argv: Vec<OsString> = vec!["aws".into()];
        argv.extend(args.iter().map(OsString::from));
        let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
        let mut out = Vec::new();
        let mut err = Vec::new();
        let code = {
            let mut io = Io {
                stdin: &mut input,
                stdout: &mut out,
                stderr: &mut err,
            };
            run(&argv, &self.env(), &mut io)
        };
        Outcome {
            code,
            stdout: String::from_utf8(out).unwrap(),
            stderr: String::from_utf8(err).unwrap(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_stdin(args, "")
    }
}

/// Whether a test that needs an external tool should fail (CI) or skip with a notice.
pub fn skip_or_fail(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required when CI is set");
    }
    eprintln!("SKIPPED: {what} is not available (set it, or CI=1 to make this a failure)");
}

/// An official CLI to compare kagi with.
pub struct Official {
    pub bin: std::path::PathBuf,
    /// `aws-cli/1...` or `aws-cli/2...` (`aws --version`).
    pub version: String,
}

impl Official {
    pub fn v2(&self) -> bool {
        self.version.starts_with("aws-cli/2.")
    }

    /// Runs this CLI with `args` in the sandbox's environment (and the test's `PATH`).
    pub fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        sb: &Sandbox,
        args: impl IntoIterator<Item = S>,
    ) -> std::process::Output {
        std::process::Command::new(&self.bin)
            .args(args)
            .env_clear()
            .envs(sb.env().vars)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap()
    }
}

/// AWS CLI v1 from the compat venv (`KAGI_COMPAT_VENV`), or a skip notice (a failure under CI).
pub fn official_v1() -> Option<Official> {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        skip_or_fail("KAGI_COMPAT_VENV (the official aws CLI v1)");
        return None;
    };
    official_at(std::path::Path::new(&venv).join("bin/aws"))
}

/// AWS CLI v2: Debian's `awscli` package (`/usr/bin/aws`, installed by scripts/test), or the
/// binary named by `KAGI_AWS_V2`; a skip notice without it (a failure under CI).
pub fn official_v2() -> Option<Official> {
    let bin = std::env::var_os("KAGI_AWS_V2")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/aws"));
    match official_at(bin.clone()) {
        Some(o) if o.v2() => Some(o),
        _ => {
            skip_or_fail(&format!(
                "AWS CLI v2 at {} (apt-get install awscli)",
                bin.display()
            ));
            None
        }
    }
}

fn official_at(bin: std::path::PathBuf) -> Option<Official> {
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .env("AWS_PAGER", "")
        .output()
        .ok()?;
    // v1 printed its version on stderr.
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .trim()
    .to_string();
    Some(Official { bin, version: text })
}

/// The `Credential=` of an `Authorization` header without its date (`KEY/REGION/SERVICE/
/// aws4_request`, or `KEY/SERVICE/aws4_request` for SigV4a): what two signers of the same
/// request on different days still agree on.
pub fn credential_without_date(auth: &str) -> String {
    auth.split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .map(|c| {
            let mut p = c.split('/');
            let key = p.next().unwrap_or_default();
            let _date = p.next();
            format!("{key}/{}", p.collect::<Vec<_>>().join("/"))
        })
        .unwrap_or_default()
}

/// Runs each command with kagi (in-process) and with `official`, both with the sandbox's
/// environment, and returns the commands whose stdout, stderr or success differ (as readable
/// diffs). `normalize_err` adapts the official CLI's stderr where it differs by design.
pub fn differences(
    sb: &Sandbox,
    official: &Official,
    commands: &[Vec<String>],
    normalize_err: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for args in commands {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = sb.run(&argv);
        let theirs = official.run(sb, args);
        let their_out = String::from_utf8_lossy(&theirs.stdout).to_string();
        let their_err = normalize_err(&String::from_utf8_lossy(&theirs.stderr));
        if ours.stdout != their_out
            || ours.stderr.trim_start() != their_err.trim_start()
            || (ours.code == 0) != theirs.status.success()
        {
            diffs.push(format!(
                "{args:?} ({})\n--- aws (exit {:?})\n{their_out}{their_err}--- kagi (exit {})\n{}{}",
                official.version,
                theirs.status.code(),
                ours.code,
                ours.stdout,
                ours.stderr
            ));
        }
    }
    diffs
}

/// v1's errors in v2's words (kagi's): v1 prefixes usage errors with a "Note: AWS CLI version
/// 2 ..." paragraph, prints argparse's frame (no blank line before `aws: error:`, none after),
/// and words one parameter error as a pagination error.
pub fn without_v1_note(err: &str) -> String {
    let err = err
        .split_inclusive('\n')
        .filter(|l| !l.contains("Note: AWS CLI version 2"))
        .collect::<String>()
        .replacen(
            "Error during pagination: Cannot specify --no-paginate",
            "Cannot specify --no-paginate",
            1,
        );
    let body = err.trim_start_matches('\n');
    if !body.starts_with("usage: aws") {
        return err;
    }
    let body = body.replacen("help\naws: error:", "help\n\naws: error:", 1);
    format!("\n{}\n", body)
}

/// One request a [`capture_server`] received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    /// The request target: path and query string.
    pub target: String,
    /// Header names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response of a [`capture_server`]: status, headers, body.
pub type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// A local HTTP/1.1 server (one connection at a time, `Connection: close`) that records every
/// request and answers each with `respond(request)`. Returns its URL and the record.
pub fn capture_server(
    respond: impl Fn(&Captured) -> Reply + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Captured>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            serve_one(&mut stream, &respond, &log2);
        }
    });
    (url, log)
}

/// Reads one HTTP/1.1 request from `stream` (answering `Expect: 100-continue`; a body of
/// `Content-Length` bytes or `Transfer-Encoding: chunked`, decoded), records it in `log` and
/// writes `respond(request)` with `Connection: close`. The connection handling of
/// [`capture_server`], for other transports too (a TLS stream).
pub fn serve_one<S: std::io::Read + std::io::Write>(
    stream: &mut S,
    respond: &dyn Fn(&Captured) -> Reply,
    log: &std::sync::Mutex<Vec<Captured>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let req = Captured {
        method,
        target,
        body: Vec::new(),
        headers,
    };
    if req.header("expect") == Some("100-continue") {
        let _ = reader.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let mut body = Vec::new();
    if req
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                // Trailer fields up to the empty line.
                let mut t = String::new();
                while reader.read_line(&mut t).unwrap_or(0) > 0 && t != "\r\n" {
                    t.clear();
                }
                break;
            }
            let mut chunk = vec![0; n + 2];
            if reader.read_exact(&mut chunk).is_err() {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        let len: usize = req
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        body = vec![0; len];
        let _ = reader.read_exact(&mut body);
    }
    let req = Captured { body, ..req };
    let (status, headers, body) = respond(&req);
    log.lock().unwrap().push(req);
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let stream = reader.get_mut();
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}
