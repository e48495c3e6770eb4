//! CloudTrail's `LookupEvents` over the stored history: newest first, one attribute filter,
//! a time range, pages of at most 50 with an opaque `NextToken`.
//!
//! Segments are read in the order of their newest event; events of overlapping segments
//! (several nodes, or slow requests) are merged: an event is emitted only once no unread
//! segment can hold a newer one. A page ends at `(time, id)`; the next page starts at the
//! segments that can hold older events (their newest event is at most
//! [`SPAN_MS`](super::SPAN_MS) after that time, since a segment spans less).

use super::event::{SPAN_MS, time_of_id};
use super::segment::{self, Segment};
use crate::store::{Table, Tx};
use base64::Engine as _;
use serde_json::{Value, json};

/// What to look up.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub attribute: Option<(String, String)>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub max: usize,
    /// Continue after this event: `(time ms, event id)`.
    pub after: Option<(i64, String)>,
}

/// One found event.
pub struct Found {
    pub time_ms: i64,
    pub id: String,
    pub record: Value,
}

/// Orders events newest first, ties by id (descending).
fn newer(a: (i64, &str), b: (i64, &str)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

/// Runs `q` against one account's history; returns the events and whether more may follow.
pub fn find(tx: &dyn Tx, account: &str, q: &Query) -> anyhow::Result<(Vec<Found>, bool)> {
    // The newest time of interest: the page boundary or the range's end.
    let mut upper = q.end_ms.unwrap_or(i64::MAX / 2);
    if let Some((t, _)) = &q.after {
        upper = upper.min(*t);
    }
    if let Some((attr, value)) = &q.attribute
        && attr == "EventId"
    {
        // The id carries its time: at most a few segments to read.
        let Some(t) = time_of_id(value) else {
            return Ok((Vec::new(), false));
        };
        if t > upper {
            return Ok((Vec::new(), false));
        }
        upper = t;
    }
    let lower = q.start_ms.unwrap_or(i64::MIN);
    // Segment keys in newest-first order, from the index or the headers.
    let (table, prefix) = match &q.attribute {
        Some((attr, value)) if attr != "EventId" => (
            Table::TrailIndex,
            format!("{attr}\0{}\0", value.replace('\0', "")),
        ),
        _ => (Table::TrailHeads, String::new()),
    };
    // Segments whose newest event is after `upper + SPAN_MS` hold nothing at or before
    // `upper`: start after them (their keys are `REV\0…`, below `REV\x01`).
    let mut after_key = Some(format!(
        "{prefix}{}\x01",
        segment::rev(upper.saturating_add(SPAN_MS + 1))
    ));
    let mut pending: Vec<Found> = Vec::new();
    let mut out: Vec<Found> = Vec::new();
    let want = q.max.max(1);
    'scan: loop {
        let page = tx.scan_page(table, &prefix, after_key.as_deref(), 64)?;
        let Some(last) = page.last() else { break };
        after_key = Some(last.0.clone());
        for (k, _) in page {
            let seg_key = &k[prefix.len()..];
            let Some(newest) = segment::newest_of_key(seg_key) else {
                continue;
            };
            // Everything not yet emitted that is newer than this segment's newest is final.
            emit(&mut pending, &mut out, Some(newest), want);
            if out.len() >= want {
                break 'scan;
            }
            if newest < lower {
                // Every later segment is older still.
                emit(&mut pending, &mut out, None, want);
                return Ok((out, false));
            }
            let Some(text) = tx.get(Table::TrailSegments, seg_key)? else {
                continue;
            };
            let mut seg = match Segment::parse(&text) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "an event history segment does not parse; skipped");
                    continue;
                }
            };
            for i in 0..seg.doc.e.len() {
                let (t, id) = (seg.doc.e[i].0, seg.doc.e[i].1.clone());
                if t > upper || t < lower {
                    continue;
                }
                if let Some((at, aid)) = &q.after
                    && !newer((*at, aid.as_str()), (t, &id))
                {
                    continue;
                }
                if let Some((attr, value)) = &q.attribute
                    && !seg.matches(&seg.doc.e[i], attr, value)
                {
                    continue;
                }
                let record = seg.record(i, account);
                pending.push(Found {
                    time_ms: t,
                    id,
                    record,
                });
            }
        }
    }
    let more_segments = out.len() >= want;
    emit(&mut pending, &mut out, None, want);
    let more = more_segments || !pending.is_empty();
    Ok((out, more))
}

/// The events of one IAM principal (`arn`: a user's, a role's for all its sessions, the
/// root's) between `start_ms` and `end_ms`, newest first, at most `max`: through kagi's own
/// [`segment::PRINCIPAL_ARN`] index, so only the segments that hold its events are read.
pub fn by_principal(
    tx: &dyn Tx,
    account: &str,
    arn: &str,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    max: usize,
) -> anyhow::Result<Vec<Found>> {
    let q = Query {
        attribute: Some((segment::PRINCIPAL_ARN.to_owned(), arn.to_owned())),
        start_ms,
        end_ms,
        max,
        after: None,
    };
    Ok(find(tx, account, &q)?.0)
}

/// Calls `f(time ms, eventSource, eventName, awsRegion)` for every event of the IAM principal
/// `arn` (see [`by_principal`]) at or before `end_ms`, in no particular order and without
/// rendering records: what IAM's last-accessed reports read, for every event in the history.
pub fn principal_activity(
    tx: &dyn Tx,
    arn: &str,
    end_ms: i64,
    f: &mut dyn FnMut(i64, &str, &str, &str),
) -> anyhow::Result<()> {
    let prefix = format!("{}\0{}\0", segment::PRINCIPAL_ARN, arn.replace('\0', ""));
    // Segments whose newest event is past `end_ms + SPAN_MS` hold nothing at or before it.
    let mut after_key = Some(format!(
        "{prefix}{}\x01",
        segment::rev(end_ms.saturating_add(SPAN_MS + 1))
    ));
    loop {
        let page = tx.scan_page(Table::TrailIndex, &prefix, after_key.as_deref(), 64)?;
        let Some(last) = page.last() else { break };
        after_key = Some(last.0.clone());
        for (k, _) in page {
            let Some(text) = tx.get(Table::TrailSegments, &k[prefix.len()..])? else {
                continue;
            };
            let Ok(seg) = Segment::parse(&text) else {
                continue;
            };
            // Whether an event is the principal's depends only on its (interned) identity.
            let mut mine: std::collections::HashMap<u32, bool> = Default::default();
            for e in &seg.doc.e {
                if e.0 > end_ms
                    || !*mine
                        .entry(e.7)
                        .or_insert_with(|| seg.matches(e, segment::PRINCIPAL_ARN, arn))
                {
                    continue;
                }
                f(e.0, seg.str(e.3), seg.str(e.2), seg.str(e.4));
            }
        }
    }
    Ok(())
}

/// Moves the pending events newer than `bound` (all of them for `None`) to `out`, newest
/// first, up to `want`.
fn emit(pending: &mut Vec<Found>, out: &mut Vec<Found>, bound: Option<i64>, want: usize) {
    pending.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then_with(|| b.id.cmp(&a.id)));
    let ready = pending
        .iter()
        .take_while(|f| bound.is_none_or(|b| f.time_ms > b))
        .count();
    let take = ready.min(want.saturating_sub(out.len()));
    out.extend(pending.drain(..take));
}

pub fn millis_of(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => crate::ids::parse_iso8601(s).map(|s| s * 1000),
        Value::Number(n) => n.as_f64().map(|f| (f * 1000.0) as i64),
        _ => None,
    }
}

pub fn token_of(f: &Found) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", f.time_ms, f.id))
}

pub fn parse_token(t: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (ms, id) = s.split_once(':')?;
    Some((ms.parse().ok()?, id.to_owned()))
}

/// The `Event` of LookupEvents' output for a record.
pub fn summary(f: &Found) -> Value {
    let r = &f.record;
    let mut e = json!({
        "EventId": f.id,
        "EventName": r["eventName"],
        "ReadOnly": r["readOnly"].as_bool().unwrap_or(false).to_string(),
        "EventTime": r["eventTime"],
        "EventSource": r["eventSource"],
        "CloudTrailEvent": r.to_string(),
    });
    if let Some(k) = r["userIdentity"]["accessKeyId"].as_str() {
        e["AccessKeyId"] = json!(k);
    }
    let user = match r["userIdentity"]["type"].as_str() {
        Some("Root") => Some("root".to_owned()),
        Some("AssumedRole") | Some("FederatedUser") => r["userIdentity"]["arn"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_owned),
        _ => r["userIdentity"]["userName"].as_str().map(str::to_owned),
    };
    if let Some(u) = user {
        e["Username"] = json!(u);
    }
    if let Some(rs) = r["resources"].as_array() {
        e["Resources"] = Value::Array(
            rs.iter()
                .map(|x| {
                    json!({
                        "ResourceType": x["type"],
                        "ResourceName": segment::resource_name(x["ARN"].as_str().unwrap_or("")),
                    })
                })
                .collect(),
        );
    }
    e
}
