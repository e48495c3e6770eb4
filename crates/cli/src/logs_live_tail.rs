//! AWS CLI v2's `logs start-live-tail` (`awscli/customizations/logs/startlivetail.py`), its
//! print-only mode: `StartLiveTail`'s event stream decoded as it arrives
//! (`kagi_api::eventstream`), each `sessionUpdate`'s log events printed as their bare
//! `message` lines, flushed one by one. A stream that ends with an exception event
//! (`SessionTimeoutException`, `SessionStreamingException`) or a broken frame prints the error
//! on stdout after the events, as the official collector does, and exits 0; an HTTP error is
//! the usual service error. Ctrl-C ends the session with status 0. `--cli-read-timeout`
//! (default 60 s) bounds each read of the stream, as botocore's socket timeout does: a session
//! that keeps receiving frames lives on, one silent for longer ends with urllib3's `Read timed
//! out.` error printed the same way (exit 0); a timeout before the response is the usual
//! `Read timeout on endpoint URL` (255).
//!
//! `--mode interactive` (prompt_toolkit's full-screen UI with highlighting) is not
//! implemented: it needs colour as in v2 (`--color off` is v2's parameter error), and says
//! kagi does not have it otherwise.

use std::io::Write;

use serde_json::{Map, Value};

use crate::config::Env;
use crate::http::{Session, Sink};
use crate::opts::{Opt, Spec};
use crate::{CliError, Globals, Io};

struct Args {
    groups: Option<Vec<String>>,
    stream_names: Option<Vec<String>>,
    prefixes: Option<Vec<String>>,
    pattern: Option<String>,
    mode: Option<String>,
}

const SPEC: Spec = Spec::new(&[
    Opt::list("--log-group-identifiers").required(),
    Opt::list("--log-stream-names"),
    Opt::list("--log-stream-name-prefixes"),
    Opt::one("--log-event-filter-pattern"),
    Opt::one("--mode").choices(&["interactive", "print-only"]),
]);

fn parse(args: &[String]) -> Result<Args, CliError> {
    let p = crate::opts::parse(args, &SPEC)?;
    let many = |n: &str| p.many(n).map(<[String]>::to_vec);
    Ok(Args {
        groups: many("--log-group-identifiers"),
        stream_names: many("--log-stream-names"),
        prefixes: many("--log-stream-name-prefixes"),
        pattern: p.one("--log-event-filter-pattern").map(str::to_string),
        mode: p.one("--mode").map(str::to_string),
    })
}

/// The event stream's consumer: frames decoded as bytes arrive, log lines written through.
struct Printer<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    /// What the official collector prints when the stream fails.
    error: Option<String>,
}

impl Printer<'_> {
    fn handle(&mut self, m: &kagi_api::eventstream::Message) -> std::io::Result<bool> {
        let error = |code: &str, msg: &str| {
            format!("An error occurred ({code}) when calling the StartLiveTail operation: {msg}")
        };
        match m.header(":message-type") {
            Some("event") if m.header(":event-type") == Some("sessionUpdate") => {
                let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
                let results = v.get("sessionResults").and_then(Value::as_array);
                for e in results.into_iter().flatten() {
                    let msg = e.get("message").and_then(Value::as_str).unwrap_or_default();
                    writeln!(self.out, "{msg}")?;
                }
                self.out.flush()?;
                Ok(true)
            }
            Some("event") => Ok(true),
            Some("exception") => {
                let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
                let msg = v
                    .get("message")
                    .or_else(|| v.get("Message"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.error = Some(error(m.header(":exception-type").unwrap_or_default(), msg));
                Ok(false)
            }
            Some("error") => {
                self.error = Some(error(
                    m.header(":error-code").unwrap_or_default(),
                    m.header(":error-message").unwrap_or_default(),
                ));
                Ok(false)
            }
            _ => Ok(true),
        }
    }
}

impl Write for Printer<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        loop {
            match kagi_api::eventstream::decode(&self.buf) {
                Ok(None) => return Ok(data.len()),
                Ok(Some((m, n))) => {
                    self.buf.drain(..n);
                    if !self.handle(&m)? {
                        return Err(std::io::Error::other("event stream ended"));
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return Err(std::io::Error::other("event stream broken"));
                }
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// urllib3's `ReadTimeoutError` for the endpoint `url`: `HTTPConnectionPool(host='H',
/// port=P): Read timed out.`
fn read_timed_out(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let https = scheme.eq_ignore_ascii_case("https");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, p) = v6.split_once(']').unwrap_or((v6, ""));
            (h, p.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = port
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(if https { 443 } else { 80 });
    format!(
        "{}ConnectionPool(host='{}', port={port}): Read timed out.",
        if https { "HTTPS" } else { "HTTP" },
        host.to_lowercase()
    )
}

/// `aws logs start-live-tail ...`.
pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let a = parse(sub)?;
    if a.mode.as_deref() == Some("interactive") {
        let color = match g.color.as_deref() {
            Some("on") => true,
            Some("off") => false,
            _ => env.stdout_tty,
        };
        if !color {
            return Err(CliError::BadParam(
                "Color is not allowed by your output. Use print-only mode or enable color.".into(),
            ));
        }
        return Err(CliError::General(
            "kagi does not have Live Tail's interactive mode yet: use --mode print-only".into(),
        ));
    }
    let service = kagi_api::service("logs")
        .ok_or_else(|| CliError::General("CloudWatch Logs missing from the model".into()))?;
    let op = service
        .operation("StartLiveTail")
        .ok_or_else(|| CliError::General("StartLiveTail missing from the model".into()))?;
    let mut input = Map::new();
    input.insert("logGroupIdentifiers".into(), Value::from(a.groups));
    if let Some(v) = a.stream_names {
        input.insert("logStreamNames".into(), Value::from(v));
    }
    if let Some(v) = a.prefixes {
        input.insert("logStreamNamePrefixes".into(), Value::from(v));
    }
    if let Some(v) = a.pattern {
        input.insert("logEventFilterPattern".into(), Value::from(v));
    }
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = crate::calls::prepare_op(&s, op, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        crate::logs_tail::FOLLOWING.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut printer = Printer {
            out: &mut *io.stdout,
            buf: Vec::new(),
            error: None,
        };
        let r = s.call_with(
            op,
            &ep,
            sig.as_ref(),
            &Value::Object(input),
            None,
            Sink::Writer(&mut printer),
        );
        crate::logs_tail::FOLLOWING.store(false, std::sync::atomic::Ordering::SeqCst);
        // A stream silent for longer than `--cli-read-timeout` (each read of it is bounded,
        // as botocore's socket timeout bounds it): urllib3's error, printed as the
        // collector prints any error of the stream.
        let silent = matches!(&r, Err(CliError::General(m)) if m.ends_with("(timeout: per read)"));
        let error = printer
            .error
            .take()
            .or_else(|| silent.then(|| read_timed_out(&ep.url)));
        match (r, error) {
            (_, Some(e)) => {
                writeln!(io.stdout, "{e}")?;
                io.stdout.flush()?;
                Ok(())
            }
            (Ok(_), None) => Ok(()),
            (Err(e), None) => Err(e),
        }
    })();
    crate::calls::flush_debug(&s, io);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use kagi_api::eventstream::encode;

    #[test]
    fn prints_messages_and_the_stream_error() {
        let mut out = Vec::new();
        let mut p = Printer {
            out: &mut out,
            buf: Vec::new(),
            error: None,
        };
        let start = encode(
            &[(":message-type", "event"), (":event-type", "sessionStart")],
            b"{\"sessionId\":\"s\"}",
        );
        let update = encode(
            &[(":message-type", "event"), (":event-type", "sessionUpdate")],
            br#"{"sessionMetadata":{"sampled":false},"sessionResults":[{"message":"one"},{"message":"two {\"a\":1}"}]}"#,
        );
        let timeout = encode(
            &[
                (":message-type", "exception"),
                (":exception-type", "SessionTimeoutException"),
            ],
            br#"{"message":"Session timed out"}"#,
        );
        let mut all = [start, update].concat();
        // Byte by byte: frames split anywhere.
        for b in all.iter() {
            p.write_all(std::slice::from_ref(b)).unwrap();
        }
        all = timeout;
        assert!(p.write_all(&all).is_err());
        assert_eq!(
            p.error.as_deref(),
            Some(
                "An error occurred (SessionTimeoutException) when calling the StartLiveTail operation: Session timed out"
            )
        );
        assert_eq!(String::from_utf8(out).unwrap(), "one\ntwo {\"a\":1}\n");
    }

    #[test]
    fn arguments_as_v2() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let a = parse(&s(&[
            "--log-group-identifiers",
            "a",
            "b",
            "--mode",
            "print-only",
        ]))
        .unwrap();
        assert_eq!(a.groups, Some(s(&["a", "b"])));
        assert_eq!(
            parse(&s(&[])).err().unwrap().message(),
            "the following arguments are required: --log-group-identifiers"
        );
        assert!(parse(&s(&["--log-group-identifiers", "a", "--mode", "x"])).is_err());
    }
}
