//! `kagi logs tail GROUP`: AWS CLI v2's hand-written command (`awscli/customizations/logs/
//! tail.py`): FilterLogEvents (`interleaved: true`, `startTime` from `--since`, default `10m`,
//! or an ISO 8601 time; `--filter-pattern`, `--log-stream-names`, `--log-stream-name-prefix`)
//! through every page, each event printed as
//!
//! * `detailed` (default): `2026-12-07T11:50:00.123000+00:00 STREAM MESSAGE`,
//! * `short`: `2026-12-07T11:50:00 MESSAGE`,
//! * `json`: `detailed`'s fields with Python's `isoformat()` and a message that is JSON
//!   pretty-printed on the lines after (`json.dumps(indent=4)`),
//!
//! the message's trailing whitespace replaced by one newline. Colours (timestamp green, stream
//! cyan) with `--color on`, or `auto` on a terminal. `--follow` polls again every 5 seconds
//! (`KAGI_LOGS_TAIL_INTERVAL` seconds, a kagi-only knob for tests) from the newest timestamp
//! seen, skipping events already printed, flushing after each poll, until Ctrl-C, which ends it
//! with status 0 as the AWS CLI's `KeyboardInterrupt` handler does.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

use crate::http::Session;
use crate::opts::{Opt, Spec};
use crate::{CliError, Env, Globals, Io};

/// Set while `--follow` polls: Ctrl-C then ends the command with status 0 (lib.rs's handler;
/// shared with the signal handler, hence the `Arc`).
pub(crate) static FOLLOWING: std::sync::LazyLock<std::sync::Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(AtomicBool::new(false)));

const FORMATS: [&str; 3] = ["detailed", "short", "json"];

struct Args {
    group: Option<String>,
    since: Option<String>,
    follow: bool,
    format: Option<String>,
    filter_pattern: Option<String>,
    stream_names: Option<Vec<String>>,
    stream_prefix: Option<String>,
}

const SPEC: Spec = Spec::new(&[
    Opt::one("--since"),
    Opt::flag("--follow"),
    Opt::one("--format").choices(&FORMATS),
    Opt::one("--filter-pattern"),
    Opt::list("--log-stream-names"),
    Opt::one("--log-stream-name-prefix"),
])
.with_positional("group_name");

fn parse(args: &[String]) -> Result<Args, CliError> {
    let p = crate::opts::parse(args, &SPEC)?;
    let one = |n: &str| p.one(n).map(str::to_string);
    Ok(Args {
        group: p.positional.clone(),
        since: one("--since"),
        follow: p.flag("--follow"),
        format: one("--format"),
        filter_pattern: one("--filter-pattern"),
        stream_names: p.many("--log-stream-names").map(<[String]>::to_vec),
        stream_prefix: one("--log-stream-name-prefix"),
    })
}

/// `--since`: `N` and one unit of `s|m|h|d|w` before now, or a timestamp; epoch milliseconds.
fn start_millis(since: &str, now_ms: i64) -> Result<i64, CliError> {
    let unit = since.chars().last().unwrap_or(' ');
    let amount = &since[..since.len() - unit.len_utf8().min(since.len())];
    let seconds = match unit {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        'w' => Some(7 * 86_400),
        _ => None,
    };
    if let Some(mult) = seconds
        && !amount.is_empty()
        && amount.bytes().all(|b| b.is_ascii_digit())
    {
        let n: i64 = amount.parse().map_err(|_| bad_since(since))?;
        return Ok(now_ms - n.saturating_mul(mult * 1000));
    }
    let t = kagi_api::time::parse_any(since).ok_or_else(|| bad_since(since))?;
    Ok(t.secs * 1000 + t.micros as i64 / 1000)
}

fn bad_since(since: &str) -> CliError {
    CliError::General(format!("Invalid timestamp: {since}"))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if sub.first().is_some_and(|a| a == "help") {
        writeln!(
            io.stdout,
            "tail\n\nTails the logs for a CloudWatch Logs group. By default, the command returns logs from all associated CloudWatch Logs streams during the past ten minutes. Note that there is no guarantee for exact timestamp ordering of logs.\n\nSynopsis\n\n  tail\n<group_name>\n[--since <value>]\n[--follow | --no-follow]\n[--format <value>]\n[--filter-pattern <value>]\n[--log-stream-names <value> [<value>...]]\n[--log-stream-name-prefix <value>]"
        )?;
        return Ok(());
    }
    let a = parse(sub)?;
    let service = kagi_api::service("logs")
        .ok_or_else(|| CliError::General("CloudWatch Logs missing from the model".into()))?;
    let op = service
        .operation("FilterLogEvents")
        .ok_or_else(|| CliError::General("FilterLogEvents missing from the model".into()))?;
    let mut input = Map::new();
    input.insert("logGroupName".into(), Value::from(a.group.clone()));
    input.insert("interleaved".into(), Value::Bool(true));
    let since = a.since.as_deref().unwrap_or("10m");
    input.insert(
        "startTime".into(),
        Value::from(start_millis(since, now_millis())?),
    );
    if let Some(p) = &a.filter_pattern {
        input.insert("filterPattern".into(), Value::from(p.clone()));
    }
    if let Some(n) = &a.stream_names {
        input.insert("logStreamNames".into(), Value::from(n.clone()));
    }
    if let Some(p) = &a.stream_prefix {
        input.insert("logStreamNamePrefix".into(), Value::from(p.clone()));
    }
    let color = match g.color.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => env.stdout_tty,
    };
    let format = a.format.as_deref().unwrap_or("detailed");
    let interval = env
        .var("KAGI_LOGS_TAIL_INTERVAL")
        .and_then(|d| d.trim().parse::<f64>().ok())
        .unwrap_or(5.0)
        .max(0.0);
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = crate::calls::prepare_op(&s, op, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        let call =
            |req: &Map<String, Value>| s.call(op, &ep, sig.as_ref(), &Value::Object(req.clone()));
        if !a.follow {
            // The paginator: every page, then done.
            let mut previous: Option<Value> = None;
            loop {
                let page = call(&input)?;
                for e in events(&page) {
                    write_event(io, format, color, e)?;
                }
                match page.get("nextToken").filter(|t| !t.is_null()) {
                    Some(t) if previous.as_ref() != Some(t) => {
                        input.insert("nextToken".into(), t.clone());
                        previous = Some(t.clone());
                    }
                    _ => return Ok(()),
                }
            }
        }
        FOLLOWING.store(true, Ordering::SeqCst);
        // Event ids already printed at the newest timestamp seen.
        let mut seen: Option<(i64, Vec<String>)> = None;
        loop {
            let page = call(&input)?;
            let mut newest = seen.clone();
            for e in events(&page) {
                let ts = e.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
                let id = e
                    .get("eventId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if seen
                    .as_ref()
                    .is_some_and(|(t, ids)| *t == ts && ids.contains(&id))
                {
                    continue;
                }
                write_event(io, format, color, e)?;
                match &mut newest {
                    Some((t, ids)) if *t == ts => ids.push(id),
                    Some((t, _)) if *t > ts => {}
                    _ => newest = Some((ts, vec![id])),
                }
            }
            seen = newest;
            io.stdout.flush()?;
            match page.get("nextToken").filter(|t| !t.is_null()) {
                Some(t) => {
                    input.insert("nextToken".into(), t.clone());
                }
                None => {
                    if let Some((t, _)) = &seen {
                        input.insert("startTime".into(), Value::from(*t));
                    }
                    input.remove("nextToken");
                    std::thread::sleep(std::time::Duration::from_secs_f64(interval));
                }
            }
        }
    })();
    crate::calls::flush_debug(&s, io);
    result
}

fn events(page: &Value) -> impl Iterator<Item = &Value> {
    page.get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

fn write_event(io: &mut Io, format: &str, color: bool, e: &Value) -> Result<(), CliError> {
    let paint = |text: &str, c: &str| {
        if color {
            format!("{c}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let ms = e.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
    let t = kagi_api::Timestamp::from_epoch_f64(ms as f64 / 1000.0)
        .unwrap_or(kagi_api::Timestamp { secs: 0, micros: 0 });
    // Python's isoformat(): `.ffffff` only when there are microseconds.
    let iso = t.to_value_string();
    let stream = e
        .get("logStreamName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
    let line = match format {
        "short" => format!("{} {message}", paint(&iso[..19], GREEN)),
        "json" => format!(
            "{} {} {}",
            paint(&iso, GREEN),
            paint(stream, CYAN),
            pretty_json(message)
        ),
        _ => {
            let micros = if t.micros == 0 {
                format!("{}.000000+00:00", &iso[..19])
            } else {
                iso
            };
            format!(
                "{} {} {message}",
                paint(&micros, GREEN),
                paint(stream, CYAN)
            )
        }
    };
    // `_ensure_single_newline_ending`: rstrip, then one newline.
    writeln!(io.stdout, "{}", line.trim_end())?;
    Ok(())
}

/// A message that is JSON as `'\n' + json.dumps(json.loads(m), indent=4)` (ASCII-escaped, as
/// `json.dumps` does by default); anything else as it is.
fn pretty_json(message: &str) -> String {
    match crate::output::parse_json_ordered(message) {
        Some(doc) => {
            let text = crate::output::to_json(&doc);
            let mut out = String::from("\n");
            for c in text.trim_end_matches('\n').chars() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
            out
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_relative_or_a_time() {
        let now = 1_800_000_000_000;
        assert_eq!(start_millis("10m", now).unwrap(), now - 600_000);
        assert_eq!(start_millis("2w", now).unwrap(), now - 1_209_600_000);
        assert_eq!(start_millis("0s", now).unwrap(), now);
        assert_eq!(
            start_millis("2026-01-02T03:04:05Z", now).unwrap(),
            1_767_323_045_000
        );
        assert!(start_millis("5h30m", now).is_err());
        assert!(start_millis("m", now).is_err());
    }

    #[test]
    fn events_print_as_the_aws_cli_does() {
        let e = serde_json::json!({"timestamp": 1_767_323_045_123_i64, "logStreamName": "s1",
            "message": "{\"a\": [1, \"\u{e9}\"]}\n", "eventId": "1"});
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut input = std::io::Cursor::new(Vec::new());
        let mut io = Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
        };
        for f in FORMATS {
            write_event(&mut io, f, false, &e).unwrap();
        }
        write_event(&mut io, "short", true, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-01-02T03:04:05.123000+00:00 s1 {\"a\": [1, \"\u{e9}\"]}\n\
             2026-01-02T03:04:05 {\"a\": [1, \"\u{e9}\"]}\n\
             2026-01-02T03:04:05.123000+00:00 s1 \n{\n    \"a\": [\n        1,\n        \"\\u00e9\"\n    ]\n}\n\
             \x1b[32m2026-01-02T03:04:05\x1b[0m {\"a\": [1, \"\u{e9}\"]}\n"
        );
    }
}
