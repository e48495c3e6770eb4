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
