//! kagi-cli: the AWS-CLI-v2-compatible client (`kagi <service> <operation> --param value`, or
//! the same binary through a link named `aws`).
//!
//! # Compatibility target
//!
//! Wording, output bytes and exit codes are pinned to **AWS CLI v2 2.36.7** (aws/aws-cli branch
//! `v2`, commit `73fb33bb1`), with one deliberate exception: **errors use the legacy form**
//! `\nAn error occurred (Code) when calling the Op operation: msg\n` (what every 2.x release
//! printed before 2026-02, #10094, and what scripts grep for), not 2.36.7's default
//! `aws: [ERROR]: ` prefix. `--cli-error-format enhanced` (or `AWS_CLI_ERROR_FORMAT` /
//! `cli_error_format = enhanced`) selects the prefixed form. Likewise the configuration errors keep
//! the `aws configure` hint (not `aws login`), argument errors print argparse's
//! `usage: ...` + `aws: error: ...`. Exit codes: 0 ok, 1 (`configure get` of an unset value),
//! 252 bad parameters, 253 configuration, 254 service error, 255 other, 130 on Ctrl-C (a handler exits
//! 130, as the AWS CLI's `InterruptExceptionHandler`).
//!
//! `--version` prints one line:
//! `aws-cli/2.36.7 Python/3.13.0 Linux/<uname -r> [exec-env/$AWS_EXECUTION_ENV] source/<arch> kagi/<version>`
//! (the shape of `clidriver._cli_version`; `source` because kagi is built from source; the
//! trailing `kagi/<version>` says what actually answers).
//!
//! # Map
//!
//! * [`run`] / [`main_with_args`] — entry points; `globals` splits global options out of argv
//!   (they may appear anywhere, as with argparse's `parse_known_args`).
//! * `ini` — the shared config/credentials file dialect: reader (65 cross-SDK cases in
//!   `tests/it/profile_parser.rs`) and the format-preserving editor used by `configure set`.
//! * `config` — [`Env`] (injected environment), file locations, profile/region/output/endpoint
//!   resolution.
//! * `creds` — the botocore credential chain, assume-role with the AWS CLI's on-disk cache
//!   (`~/.aws/cli/cache`, identical key and JSON), `credential_process`.
//! * `params` — model-driven argument parsing (kagi-api's shapes): kebab-case options, shorthand,
//!   JSON, `file://`/`fileb://`, booleans, client-side validation with botocore's messages.
//! * `http` — endpoint selection, SigV4 signing (kagi-sigv4), ureq transport, protocol codecs
//!   (kagi-api), `--debug` trace (never a secret: no bodies, no keys, no tokens).
//! * `invoke` — one operation: pagination (`--max-items`, `--starting-token`, `--page-size`),
//!   `--query`, output formatting; customisations (`ecr get-login-password`).
//! * `output` — json/text/table/yaml/yaml-stream renderers over an ordered [`output::Doc`].
//! * `configure`, `policy_cmd`, `console_cmd` (`kagi console`: a console sign-in URL through
//!   AWS's federation endpoint), `help` — the non-API commands.
//!
//! # Behaviour notes (all pinned by tests; see `tests/it/`)
//!
//! * Output is byte-identical to the official CLI's formatter for json/text/table (differential
//!   tests run `awscli.formatter` and the official `aws` against moto). JSON keeps the output
//!   shape's member order; YAML is ruamel's safe dump (sorted keys, folding at 80 columns), as
//!   2.36.7 configures it. IAM policy documents are URL-decoded and printed as objects
//!   (botocore's `json_decode_policies`). Timestamps are ISO 8601 (`+00:00`), v2's default.
//! * Paginated operations: text prints per page and ends with a `NEXTTOKEN` line; json/yaml/table
//!   print `build_full_result()`; yaml-stream prints the raw pages.
//! * `--query`: jmespath 0.5 sorts object keys; kagi restores Python's order: a multiselect
//!   hash keeps its written key order, an object projected from the input keeps the input's.
//! * Credentials for an assumed role (and for web identity) are fetched with STS at the
//!   endpoint the *configuration*
//!   gives (`AWS_ENDPOINT_URL[_STS]`, `services`, `endpoint_url`), not `--endpoint-url`, exactly
//!   as botocore does. Without a region, STS uses its partition endpoint `sts.amazonaws.com`.
//! * Retries: botocore's standard mode (3 attempts, `AWS_MAX_ATTEMPTS`/`max_attempts`) on
//!   5xx, throttling and transient codes; the error then says `(reached max retries: N)`.
//! * `configure` does not print 2.36.7's `aws login` tip (kagi has no `login`).
//! * API output to a terminal goes through the pager (`AWS_PAGER` > `cli_pager` > `PAGER` >
//!   `less`, `LESS=FRX`), never for `configure`/`help`; `--no-cli-pager` disables it.
//! * `sts assume-role-with-web-identity` and `assume-role-with-saml` are sent unsigned and need
//!   no credentials (botocore's model marks them `noAuth`).
//! * Not implemented: SSO, instance/container credential providers (clear errors),
//!   `--cli-input-yaml`, auto-prompt (accepted and ignored), services other than IAM/STS/ECR.
//!
//! # Invariants
//!
//! * No async runtime and nothing heavy at startup: the model of a service is parsed on first use
//!   (kagi-api), files are read only when the command needs them; `--version` reads no configuration.
//!   Figures: `bench/bench.sh`, `bench/RESULTS.md` (~4 ms per call against a local server,
//!   >100x the official CLI, ~6 MB peak RSS).
//! * Secrets (secret keys, session tokens, MFA codes, passwords in request bodies) never reach
//!   stdout/stderr except where the user asked for them (`configure get`, `export-credentials`,
//!   `get-login-password`, API outputs).
//! * Files holding secrets (credentials file, cache entries) are created 0600 before writing.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::process::ExitCode;

pub mod config;
pub mod configure;
mod console_cmd;
pub mod creds;
mod east_asian_width;
mod globals;
mod help;
pub mod http;
pub mod ini;
mod invoke;
pub mod output;
pub mod params;
mod policy_cmd;

pub use config::Env;
pub use globals::Globals;

/// The AWS CLI release whose behaviour kagi reproduces.
pub const AWS_CLI_VERSION: &str = "2.36.7";

/// Streams of one invocation.
pub struct Io<'a> {
    pub stdin: &'a mut dyn BufRead,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Everything that ends a command with a non-zero status, in AWS CLI terms.
#[derive(Debug, Clone, PartialEq)]
pub enum CliError {
    /// argparse-style error (252): `usage: ...`, a blank line, then `aws: error: <msg>`.
    Usage(String),
    /// Unrecognised arguments (252).
    UnknownArgs(Vec<String>),
    /// botocore ParamValidationError (252); the lines after `Parameter validation failed:`.
    ParamValidation(Vec<String>),
    /// Another bad-parameter error (252) with its own message.
    BadParam(String),
    /// Configuration problems (253).
    Config(String),
    ProfileNotFound(String),
    NoRegion,
    NoCredentials,
    /// A service error (254).
    Service {
        code: String,
        message: String,
        operation: String,
        /// Retries spent when the error was still retryable: `(reached max retries: N)`.
        retries: u32,
    },
    /// Anything else (255).
    General(String),
    /// Exit silently with this status.
    Silent(i32),
}

pub(crate) const USAGE: &str = "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\nTo see help text, you can run:\n\n  aws help\n  aws <command> help\n  aws <command> <subcommand> help\n";

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_)
            | CliError::UnknownArgs(_)
            | CliError::ParamValidation(_)
            | CliError::BadParam(_) => 252,
            CliError::Config(_)
            | CliError::ProfileNotFound(_)
            | CliError::NoRegion
            | CliError::NoCredentials => 253,
            CliError::Service { .. } => 254,
            CliError::General(_) => 255,
            CliError::Silent(c) => *c,
        }
    }

    /// The one-sentence message (without framing).
    pub fn message(&self) -> String {
        match self {
            CliError::Usage(m) => m.clone(),
            CliError::UnknownArgs(a) => format!("Unknown options: {}", a.join(", ")),
            CliError::ParamValidation(lines) => format!("Parameter validation failed:\n{}", lines.join("\n")),
            CliError::BadParam(m) | CliError::Config(m) | CliError::General(m) => m.clone(),
            CliError::ProfileNotFound(p) => format!("The config profile ({p}) could not be found"),
            CliError::NoRegion => {
                "You must specify a region. You can also configure your region by running \"aws configure\".".into()
            }
            CliError::NoCredentials => {
                "Unable to locate credentials. You can configure credentials by running \"aws configure\".".into()
            }
            CliError::Service { code, message, operation, retries } => {
                let suffix = if *retries > 0 { format!(" (reached max retries: {retries})") } else { String::new() };
                format!("An error occurred ({code}) when calling the {operation} operation{suffix}: {message}")
            }
            CliError::Silent(_) => String::new(),
        }
    }

    /// Writes the error to stderr as the AWS CLI does; `enhanced` selects 2.36.7's
    /// `aws: [ERROR]:` prefix instead of the legacy framing.
    pub fn write(&self, stderr: &mut dyn Write, enhanced: bool) {
        let _ = match self {
            CliError::Silent(_) => Ok(()),
            // v2's handlers: an ArgParseException (usage, a blank line, `aws: error: ...`) goes
            // through write_exception (a newline before and after); UnknownArgumentErrorHandler
            // writes the same frame around `Unknown options: ...`.
            CliError::Usage(m) => write!(stderr, "\n{USAGE}\naws: error: {m}\n\n"),
            CliError::UnknownArgs(_) => write!(stderr, "\n{USAGE}\n{}\n\n", self.message()),
            _ if enhanced => write!(stderr, "\naws: [ERROR]: {}\n", self.message().trim()),
            _ => write!(stderr, "\n{}\n", self.message()),
        };
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        // A closed pipe on stdout (`kagi ... | head -1`) is not an error, as in the AWS CLI.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::Silent(0);
        }
        CliError::General(e.to_string())
    }
}

/// The `--version` line.
pub fn version_line(env: &Env) -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let system = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    };
    let mut s = format!("aws-cli/{AWS_CLI_VERSION} Python/3.13.0 {system}/{release}");
    if let Some(e) = env.vars.get("AWS_EXECUTION_ENV") {
        s.push_str(&format!(" exec-env/{e}"));
    }
    s.push_str(&format!(
        " source/{} kagi/{}",
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    ));
    s
}

/// Runs one command in-process. `args` includes argv[0]. Returns the exit status.
pub fn run(args: &[OsString], env: &Env, io: &mut Io) -> i32 {
    let args: Vec<String> = match args
        .iter()
        .skip(1)
        .map(|a| a.clone().into_string())
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(a) => a,
        Err(bad) => {
            let _ = writeln!(
                io.stderr,
                "\nInvalid (non UTF-8) argument: {}",
                bad.to_string_lossy()
            );
            return 255;
        }
    };
    let (globals, rest) = match globals::split(&args) {
        Ok(x) => x,
        Err(e) => {
            e.write(io.stderr, false);
            return e.exit_code();
        }
    };
    match dispatch(&globals, &rest, env, io) {
        Ok(()) => 0,
        Err(e) => {
            let _ = io.stdout.flush();
            // --cli-error-format > AWS_CLI_ERROR_FORMAT > the profile's cli_error_format.
            let format = globals.error_format(env).or_else(|| {
                let files = config::Files::load(env).ok()?;
                let choice = config::choose_profile(globals.profile.as_deref(), env);
                files
                    .set
                    .profile(&choice.name)?
                    .get("cli_error_format")
                    .map(str::to_ascii_lowercase)
            });
            e.write(io.stderr, format.as_deref() == Some("enhanced"));
            e.exit_code()
        }
    }
}

fn dispatch(g: &Globals, rest: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if g.version {
        writeln!(io.stdout, "{}", version_line(env))?;
        return Ok(());
    }
    let Some(command) = rest.first() else {
        return Err(CliError::Usage(
            "the following arguments are required: command".into(),
        ));
    };
    let sub = &rest[1..];
    match command.as_str() {
        "help" => help::top(io),
        "configure" => configure::run(g, sub, env, io),
        "console" => console_cmd::run(g, sub, env, io),
        "policy" => policy_cmd::run(g, sub, env, io),
        name => match kagi_api::service(name) {
            Some(service) => invoke::service_command(service, g, sub, env, io),
            None => Err(CliError::Usage(format!(
                "argument command: Found invalid choice '{name}'\n"
            ))),
        },
    }
}

/// The pager command for API output on a terminal (`--no-cli-pager` > `AWS_PAGER` >
/// `cli_pager` > `PAGER` > `less`); `None` when disabled (an empty value disables it).
fn pager_command(args: &[OsString], env: &Env) -> Option<String> {
    let strings: Vec<String> = args
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str().map(str::to_string))
        .collect();
    let (g, rest) = globals::split(&strings).ok()?;
    if g.no_cli_pager
        || g.version
        || matches!(
            rest.first().map(String::as_str),
            None | Some("configure" | "console" | "help")
        )
    {
        return None;
    }
    if rest.iter().any(|a| a == "help") {
        return None;
    }
    if let Some(v) = env.vars.get("AWS_PAGER") {
        return (!v.trim().is_empty()).then(|| v.clone());
    }
    let from_config = config::Files::load(env).ok().and_then(|f| {
        let choice = config::choose_profile(g.profile.as_deref(), env);
        f.set
            .profile(&choice.name)
            .and_then(|p| p.get("cli_pager"))
            .map(str::to_string)
    });
    if let Some(v) = from_config {
        return (!v.trim().is_empty()).then_some(v);
    }
    if let Some(v) = env.vars.get("PAGER") {
        return (!v.trim().is_empty()).then(|| v.clone());
    }
    Some("less".into())
}

fn page(cmd: &str, env: &Env, output: &[u8]) -> std::io::Result<()> {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(cmd).stdin(std::process::Stdio::piped());
    if !env.vars.contains_key("LESS") {
        c.env("LESS", "FRX");
    }
    let mut child = c.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(output);
    }
    child.wait()?;
    Ok(())
}

/// The binary's entry: real process environment and streams. API output to a terminal goes
/// through the pager as with AWS CLI v2.
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    // Ctrl-C: exit 130 as the AWS CLI's InterruptExceptionHandler does (stdout may be locked by
    // the interrupted command, so the handler writes nothing).
    let _ = ctrlc::set_handler(|| std::process::exit(130));
    let env = Env::from_process();
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut stderr = std::io::stderr().lock();
    let pager = if env.stdout_tty {
        pager_command(&args, &env)
    } else {
        None
    };
    let code = match pager {
        Some(cmd) => {
            let mut buf: Vec<u8> = Vec::new();
            let code = {
                let mut io = Io {
                    stdin: &mut stdin,
                    stdout: &mut buf,
                    stderr: &mut stderr,
                };
                run(&args, &env, &mut io)
            };
            if !buf.is_empty() && page(&cmd, &env, &buf).is_err() {
                let _ = std::io::stdout().write_all(&buf);
            }
            code
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let code = {
                let mut io = Io {
                    stdin: &mut stdin,
                    stdout: &mut stdout,
                    stderr: &mut stderr,
                };
                run(&args, &env, &mut io)
            };
            let _ = stdout.flush();
            code
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
