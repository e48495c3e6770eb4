//! `kagi <service> wait <waiter> ...`: botocore's waiters (`waiters-2.json`, carried in
//! kagi-api's model), run as `botocore.waiter.Waiter.wait` runs them: call the operation,
//! try the acceptors in order (`path`, `pathAll`, `pathAny` over the response with JMESPath,
//! `status` on the HTTP status, `error` on the service error code, `true`/`false` for any
//! error or none), stop on `success` (exit 0, nothing printed) or `failure`, sleep `delay`
//! seconds otherwise, give up after `maxAttempts`. A failure prints
//! `Waiter NAME failed: REASON` (botocore's wording: a terminal failure state, an unmatched
//! error, max attempts exceeded) and exits 255 as the AWS CLI does.
//!
//! `KAGI_WAITER_DELAY` (seconds) overrides every waiter's delay: a kagi-only knob for tests
//! (the AWS CLI has none; botocore's `WaiterConfig` is not exposed by the CLI).

use serde_json::Value;

use kagi_api::{Acceptor, Service, Waiter};

use crate::http::Session;
use crate::{CliError, Env, Globals, Io};

pub fn run(
    service: &'static Service,
    g: &Globals,
    args: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    let Some(name) = args.first() else {
        return Err(CliError::Usage(
            "the following arguments are required: waiter_name".into(),
        ));
    };
    if name == "help" {
        writeln!(io.stdout, "wait\n\nAvailable waiters:\n")?;
        for (_, w) in service.waiters() {
            writeln!(io.stdout, "  o {}", kagi_api::xform_name(w.name, '-'))?;
        }
        return Ok(());
    }
    let Some((op, waiter)) = service
        .waiters()
        .find(|(_, w)| kagi_api::xform_name(w.name, '-') == *name)
    else {
        return Err(CliError::Usage(format!(
            "argument waiter_name: Found invalid choice '{name}'\n"
        )));
    };
    let binary_format = g
        .cli_binary_format
        .clone()
        .unwrap_or_else(|| "base64".into());
    let parsed = crate::params::parse(op, &args[1..], env, &binary_format)?;
    if parsed.help {
        return crate::help::operation(op, io);
    }
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = crate::calls::prepare_op(&s, op, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        let input = Value::Object(parsed.input.clone());
        let delay = env
            .var("KAGI_WAITER_DELAY")
            .and_then(|d| d.trim().parse::<f64>().ok())
            .unwrap_or(waiter.delay as f64)
            .max(0.0);
        wait(waiter, delay, &mut || {
            let r = s.call(op, &ep, sig.as_ref(), &input);
            let status = s.last_status.get();
            match r {
                Ok(v) => Ok(Outcome::Response(v, status)),
                Err(CliError::Service { code, message, .. }) => {
                    Ok(Outcome::Error(code, message, status))
                }
                Err(e) => Err(e),
            }
        })
    })();
    crate::calls::flush_debug(&s, io);
    result
}

/// One call's result as the waiter sees it.
pub enum Outcome {
    /// The output and the HTTP status.
    Response(Value, u16),
    /// A service error: code, message, HTTP status.
    Error(String, String, u16),
}

/// botocore's `Waiter.wait` over `call`.
pub fn wait(
    waiter: &Waiter,
    delay: f64,
    call: &mut dyn FnMut() -> Result<Outcome, CliError>,
) -> Result<(), CliError> {
    let mut attempts = 0u32;
    let mut last_matched = false;
    let fail =
        |reason: String| CliError::General(format!("Waiter {} failed: {reason}", waiter.name));
    loop {
        let outcome = call()?;
        attempts += 1;
        let mut state = "waiting";
        let matched = waiter.acceptors.iter().position(|a| matches(a, &outcome));
        match matched {
            Some(i) => {
                last_matched = true;
                state = waiter.acceptors[i].state;
            }
            None => {
                if let Outcome::Error(code, message, _) = &outcome {
                    return Err(fail(format!("An error occurred ({code}): {message}")));
                }
            }
        }
        // botocore reports the acceptor its loop stopped at: the matched one, or the last.
        let acceptor = matched
            .map(|i| &waiter.acceptors[i])
            .or(waiter.acceptors.last());
        match state {
            "success" => return Ok(()),
            "failure" => {
                return Err(fail(format!(
                    "Waiter encountered a terminal failure state: {}",
                    acceptor.map(explanation).unwrap_or_default()
                )));
            }
            _ => {}
        }
        if attempts >= waiter.max_attempts {
            return Err(fail(if last_matched {
                format!(
                    "Max attempts exceeded. Previously accepted state: {}",
                    acceptor.map(explanation).unwrap_or_default()
                )
            } else {
                "Max attempts exceeded".to_string()
            }));
        }
        std::thread::sleep(std::time::Duration::from_secs_f64(delay));
    }
}

/// The expected value as Python prints it in an explanation (`str()` of the JSON value).
fn expected_str(a: &Acceptor) -> String {
    match serde_json::from_str::<Value>(a.expected) {
        Ok(Value::String(s)) => s,
        Ok(Value::Bool(true)) => "True".into(),
        Ok(Value::Bool(false)) => "False".into(),
        Ok(v) => v.to_string(),
        Err(_) => a.expected.to_string(),
    }
}

/// botocore's `AcceptorConfig.explanation`.
pub fn explanation(a: &Acceptor) -> String {
    let arg = a.argument.unwrap_or_default();
    let expected = expected_str(a);
    match a.matcher {
        "path" => format!("For expression \"{arg}\" we matched expected path: \"{expected}\""),
        "pathAll" => {
            format!("For expression \"{arg}\" all members matched expected path: \"{expected}\"")
        }
        "pathAny" => format!(
            "For expression \"{arg}\" we matched expected path: \"{expected}\" at least once"
        ),
        "status" => format!("Matched expected HTTP status code: {expected}"),
        "error" => format!("Matched expected service error code: {expected}"),
        other => format!("No explanation for unknown waiter type: \"{other}\""),
    }
}

/// Python's `==` between a JMESPath result and the expected JSON (numbers by value).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

fn search(expr: &str, v: &Value) -> Option<Value> {
    crate::invoke::jmes_search(expr, v)
}

/// Whether acceptor `a` matches `o` (botocore's matcher functions).
pub fn matches(a: &Acceptor, o: &Outcome) -> bool {
    let expected: Value = serde_json::from_str(a.expected).unwrap_or(Value::Null);
    match (a.matcher, o) {
        ("status", Outcome::Response(_, status) | Outcome::Error(_, _, status)) => {
            same(&Value::from(*status), &expected)
        }
        ("error", Outcome::Error(code, _, _)) => match &expected {
            Value::Bool(b) => *b,
            Value::String(s) => s == code,
            _ => false,
        },
        ("error", Outcome::Response(..)) => expected == Value::Bool(false),
        (_, Outcome::Error(..)) => false,
        ("path", Outcome::Response(v, _)) => {
            search(a.argument.unwrap_or("@"), v).is_some_and(|r| same(&r, &expected))
        }
        ("pathAll", Outcome::Response(v, _)) => match search(a.argument.unwrap_or("@"), v) {
            Some(Value::Array(items)) if !items.is_empty() => {
                items.iter().all(|x| same(x, &expected))
            }
            _ => false,
        },
        ("pathAny", Outcome::Response(v, _)) => match search(a.argument.unwrap_or("@"), v) {
            Some(Value::Array(items)) => items.iter().any(|x| same(x, &expected)),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(service: &str, name: &str) -> &'static Waiter {
        kagi_api::service(service)
            .unwrap()
            .waiters()
            .find(|(_, w)| w.name == name)
            .unwrap()
            .1
    }

    #[test]
    fn acceptors_as_botocore() {
        let w = waiter("ec2", "InstanceRunning");
        let running =
            serde_json::json!({"Reservations": [{"Instances": [{"State": {"Name": "running"}}]}]});
        assert!(wait(w, 0.0, &mut || Ok(Outcome::Response(running.clone(), 200))).is_ok());
        let terminated = serde_json::json!({"Reservations": [{"Instances": [{"State": {"Name": "terminated"}}]}]});
        let e = wait(w, 0.0, &mut || {
            Ok(Outcome::Response(terminated.clone(), 200))
        })
        .unwrap_err();
        assert_eq!(
            e.message(),
            "Waiter InstanceRunning failed: Waiter encountered a terminal failure state: For expression \"Reservations[].Instances[].State.Name\" we matched expected path: \"terminated\" at least once"
        );
        // Status acceptors; retries until max attempts.
        let w = waiter("s3api", "BucketNotExists");
        let mut n = 0;
        let e = wait(w, 0.0, &mut || {
            n += 1;
            Ok(Outcome::Response(serde_json::json!({}), 200))
        })
        .unwrap_err();
        assert_eq!(n, 20);
        assert_eq!(
            e.message(),
            "Waiter BucketNotExists failed: Max attempts exceeded"
        );
        let w = waiter("s3api", "BucketExists");
        let mut n = 0;
        let e = wait(w, 0.0, &mut || {
            n += 1;
            Ok(Outcome::Error("404".into(), "Not Found".into(), 404))
        })
        .unwrap_err();
        assert_eq!(n, 20);
        assert_eq!(
            e.message(),
            "Waiter BucketExists failed: Max attempts exceeded. Previously accepted state: Matched expected HTTP status code: 404"
        );
        // An error no acceptor names ends the wait at once.
        let e = wait(w, 0.0, &mut || {
            Ok(Outcome::Error(
                "AccessDenied".into(),
                "Access Denied".into(),
                400,
            ))
        })
        .unwrap_err();
        assert_eq!(
            e.message(),
            "Waiter BucketExists failed: An error occurred (AccessDenied): Access Denied"
        );
    }
}
