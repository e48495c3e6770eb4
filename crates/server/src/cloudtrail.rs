//! CloudTrail's API (`cloudtrail`, JSON 1.1) over the event history ([`crate::trail`]):
//! `LookupEvents`, authorised as `cloudtrail:LookupEvents`.

use crate::error::{AwsError, AwsResult};
use crate::state::Ctx;
use crate::trail::lookup::{Query, find, millis_of, parse_token, summary, token_of};
use crate::trail::segment;
use serde_json::{Value, json};

fn err(code: &str, msg: impl Into<String>) -> AwsError {
    AwsError::new(400, code, msg)
}

pub fn handle(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    match op {
        "LookupEvents" => lookup_events(ctx, &input),
        _ => {
            // Authorised first, as every operation: a caller without permissions learns
            // nothing about what kagi serves.
            ctx.authorize(&format!("cloudtrail:{op}"), "*")?;
            Err(AwsError::new(
                400,
                "UnknownOperationException",
                format!(
                    "kagi does not implement CloudTrail's {op}: only LookupEvents (the event history)."
                ),
            ))
        }
    }
}

/// `cloudtrail:LookupEvents`.
pub fn lookup_events(ctx: &Ctx, input: &Value) -> AwsResult<Value> {
    ctx.authorize("cloudtrail:LookupEvents", "*")?;
    if input["EventCategory"].as_str() == Some("insight") {
        return Ok(json!({"Events": []}));
    }
    let mut q = Query {
        max: 50,
        ..Query::default()
    };
    if let Some(m) = input["MaxResults"].as_i64() {
        if !(1..=50).contains(&m) {
            return Err(err(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            ));
        }
        q.max = m as usize;
    }
    if let Some(attrs) = input["LookupAttributes"].as_array() {
        if attrs.len() > 1 {
            return Err(err(
                "InvalidLookupAttributesException",
                "You can only specify one lookup attribute.",
            ));
        }
        if let Some(a) = attrs.first() {
            let key = a["AttributeKey"].as_str().unwrap_or("");
            let value = a["AttributeValue"].as_str().unwrap_or("");
            if !segment::ATTRIBUTES.contains(&key) && key != "EventId" {
                return Err(err(
                    "InvalidLookupAttributesException",
                    format!("The attribute key {key} is not valid."),
                ));
            }
            if value.is_empty() {
                return Err(err(
                    "InvalidLookupAttributesException",
                    "The attribute value must not be empty.",
                ));
            }
            q.attribute = Some((key.to_owned(), value.to_owned()));
        }
    }
    q.start_ms = input.get("StartTime").and_then(millis_of);
    q.end_ms = input.get("EndTime").and_then(millis_of).map(|e| e + 999);
    if let (Some(s), Some(e)) = (q.start_ms, q.end_ms)
        && s > e
    {
        return Err(err(
            "InvalidTimeRangeException",
            "Start time must be before end time.",
        ));
    }
    if let Some(t) = input["NextToken"].as_str() {
        q.after = Some(parse_token(t).ok_or_else(|| {
            err(
                "InvalidNextTokenException",
                "The NextToken is not valid for this request.",
            )
        })?);
    }
    // Read your own events: what this node queued is written before the lookup.
    ctx.state.trail.flush();
    let (found, more) =
        crate::store::StoreExt::view(&*ctx.store, |tx| find(tx, ctx.account(), &q))?;
    let mut out = json!({
        "Events": found.iter().map(summary).collect::<Vec<_>>(),
    });
    if more && let Some(last) = found.last() {
        out["NextToken"] = json!(token_of(last));
    }
    Ok(out)
}
