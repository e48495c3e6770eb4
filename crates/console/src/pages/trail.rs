//! CloudTrail's Event history, as its AWS console has it (`/console/cloudtrail/events`): the
//! account's recorded calls newest first, filtered by one of LookupEvents' eight lookup
//! attributes and a time range (a relative preset or an absolute start and end, UTC), paged with
//! `NextToken`; an event's page (`/console/cloudtrail/events/ID`) shows the record's facts, kagi's
//! explanation of its authorisation (`additionalEventData.kagiAuthorization`: each decision's
//! action, resource, outcome and reason, the statements that applied and where they are, the
//! context keys a condition missed) and the record itself.
//!
//! Every page is one `cloudtrail:LookupEvents` call through [`crate::Backend::invoke`] as the
//! signed-in principal, so a principal its policies do not allow sees AWS's access-denied
//! message, as on every other page (and the lookup is itself recorded, as AWS records the
//! console's calls).

use super::kit::{P, items, txt};
use crate::html::{data_table, error_box, esc, seg};
use crate::{CallError, Req};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// LookupEvents' lookup attributes, as the CloudTrail console names them: (key, label).
pub(super) const LOOKUP_ATTRIBUTES: [(&str, &str); 8] = [
    ("ReadOnly", "Read-only"),
    ("EventName", "Event name"),
    ("Username", "User name"),
    ("ResourceType", "Resource type"),
    ("ResourceName", "Resource name"),
    ("EventSource", "Event source"),
    ("AccessKeyId", "AWS access key"),
    ("EventId", "Event ID"),
];

/// The time range's choices: (value, label, seconds back from now; 0 = none).
const RANGES: [(&str, &str, i64); 9] = [
    ("", "Any time (the last 90 days)", 0),
    ("1h", "Last 1 hour", 3_600),
    ("3h", "Last 3 hours", 3 * 3_600),
    ("12h", "Last 12 hours", 12 * 3_600),
    ("1d", "Last 1 day", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
    ("30d", "Last 30 days", 30 * 86_400),
    ("90d", "Last 90 days", 90 * 86_400),
    ("custom", "Absolute range (start and end below)", 0),
];

/// The event history's filter, from the page's query string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Filter {
    /// A lookup attribute's key (one of [`LOOKUP_ATTRIBUTES`]).
    pub(super) attribute: String,
    /// Its value; empty: no attribute filter.
    pub(super) value: String,
    /// One of [`RANGES`]' values.
    pub(super) range: String,
    /// Absolute start and end (`YYYY-MM-DDTHH:MM`, UTC, as `<input type="datetime-local">`
    /// sends them, or any ISO 8601 time).
    pub(super) start: String,
    pub(super) end: String,
    /// The previous page's `NextToken`.
    pub(super) next: String,
}

impl Filter {
    pub(super) fn of(r: &Req) -> Filter {
        let q = |k: &str| r.query(k).unwrap_or("").trim().to_owned();
        let mut attribute = q("attribute");
        if !LOOKUP_ATTRIBUTES.iter().any(|(k, _)| *k == attribute) {
            attribute = "EventName".to_owned();
        }
        Filter {
            attribute,
            value: q("value"),
            range: q("range"),
            start: q("start"),
            end: q("end"),
            next: q("next"),
        }
    }

    /// The LookupEvents input for this filter at `now` (Unix seconds). Times go to the API as
    /// they were typed (UTC), so a malformed one is the API's validation error.
    pub(super) fn lookup_input(&self, now: i64) -> Value {
        let mut input = json!({"MaxResults": 50});
        if !self.value.is_empty() {
            input["LookupAttributes"] =
                json!([{"AttributeKey": self.attribute, "AttributeValue": self.value}]);
        }
        match RANGES.iter().find(|(v, _, _)| *v == self.range) {
            Some((_, _, back)) if *back > 0 => {
                input["StartTime"] = json!(kagi_time::iso8601_z(now - back));
            }
            // "Any time" with a start or an end typed is an absolute range too.
            _ => {
                if !self.start.is_empty() {
                    input["StartTime"] = json!(utc(&self.start));
                }
                if !self.end.is_empty() {
                    input["EndTime"] = json!(utc(&self.end));
                }
            }
        }
        if !self.next.is_empty() {
            input["NextToken"] = json!(self.next);
        }
        input
    }

    /// This filter's query string with `next` as the page's token (none: the first page).
    pub(super) fn query(&self, next: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("attribute", &self.attribute);
        if !self.value.is_empty() {
            q.append_pair("value", &self.value);
        }
        if !self.range.is_empty() {
            q.append_pair("range", &self.range);
        }
        if !self.start.is_empty() {
            q.append_pair("start", &self.start);
        }
        if !self.end.is_empty() {
            q.append_pair("end", &self.end);
        }
        if let Some(n) = next {
            q.append_pair("next", n);
        }
        q.finish()
    }
}

/// A time typed in a `datetime-local` field (`2026-12-07T09:30`, seconds optional) as ISO
/// 8601 in UTC; anything else unchanged (for the API to judge).
fn utc(t: &str) -> String {
    let b = t.as_bytes();
    let shaped = |n: usize| b.len() == n && b[4] == b'-' && b[10] == b'T' && b[13] == b':';
    if shaped(16) {
        format!("{t}:00Z")
    } else if shaped(19) {
        format!("{t}Z")
    } else {
        t.to_owned()
    }
}

/// An event's time for the table (`2026-12-07 09:30:00`; the column says UTC): a UTC ISO 8601
/// time without its `T` and zone; anything else unchanged.
fn short_time(t: &str) -> String {
    let utc = t
        .strip_suffix("+00:00")
        .or_else(|| t.strip_suffix('Z'))
        .filter(|s| s.len() == 19 && s.as_bytes()[10] == b'T');
    match utc {
        Some(s) => s.replacen('T', " ", 1),
        None => t.to_owned(),
    }
}

/// The record of a LookupEvents event (its `CloudTrailEvent`, a JSON document).
fn record_of(e: &Value) -> Value {
    e["CloudTrailEvent"]
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// One row of the event history.
fn event_row(e: &Value) -> String {
    let record = record_of(e);
    let resources = items(e, "Resources");
    let list = |key: &str| -> String {
        resources
            .iter()
            .map(|r| esc(&txt(&r[key])))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let error = match record["errorCode"].as_str() {
        Some(c) => format!(r#"<span class="bad">{}</span>"#, esc(c)),
        None => String::new(),
    };
    format!(
        r#"<tr><td><time datetime="{iso}">{time}</time></td><td>{user}</td><td><a href="/console/cloudtrail/events/{id}">{name}</a></td><td>{source}</td><td>{rtype}</td><td>{rname}</td><td>{error}</td><td><code class="id">{key}</code></td></tr>"#,
        iso = esc(&txt(&e["EventTime"])),
        time = esc(&short_time(&txt(&e["EventTime"]))),
        user = esc(&txt(&e["Username"])),
        id = seg(&txt(&e["EventId"])),
        name = esc(&txt(&e["EventName"])),
        source = esc(&txt(&e["EventSource"])),
        rtype = list("ResourceType"),
        rname = list("ResourceName"),
        key = esc(&txt(&e["AccessKeyId"])),
    )
}

/// How a statement is named: its `Sid`, or its position (`#2`) when it has none.
fn statement_name(st: &Value) -> String {
    match st["sid"].as_str() {
        Some(s) => format!("\"{s}\""),
        None => format!("#{}", st["statementIndex"].as_u64().unwrap_or(0) + 1),
    }
}

/// An SCP's or RCP's level: the organization root is 0.
fn level_name(level: &Value) -> String {
    match level.as_u64() {
        Some(0) => "organization root (0)".to_owned(),
        Some(n) => format!("level {n}"),
        None => String::new(),
    }
}

/// kagi's explanation of a record's authorisation (`additionalEventData.kagiAuthorization`)
/// as HTML: per decision the action, resource, decision and reason, the statements that
/// applied (effect, statement, policy, its ARN, kind, index, line and column, SCP/RCP level)
/// and the context keys a condition needed but the request lacked. The same information as
/// `kagi policy explain`.
pub(super) fn explanation_html(record: &Value) -> String {
    let decisions = record
        .pointer("/additionalEventData/kagiAuthorization")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if decisions.is_empty() {
        return "<p>No authorisation decision was recorded (a call that needs none, or a record not made by kagi).</p>".to_owned();
    }
    let mut o = String::new();
    for (i, d) in decisions.iter().enumerate() {
        let decision = txt(&d["decision"]);
        let class = if decision == "allowed" { "ok" } else { "bad" };
        o.push_str(&format!(
            r#"<section class="decision" aria-labelledby="decision-{i}"><h3 id="decision-{i}">Decision {n}: <code>{action}</code> on <code>{resource}</code></h3><dl class="facts"><dt>Action</dt><dd><code>{action}</code></dd><dt>Resource</dt><dd><code>{resource}</code></dd><dt>Decision</dt><dd><strong class="{class}">{decision}</strong></dd><dt>Reason</dt><dd>{reason}</dd></dl>"#,
            n = i + 1,
            action = esc(&txt(&d["action"])),
            resource = esc(&txt(&d["resource"])),
            decision = esc(&decision),
            reason = esc(&txt(&d["reason"])),
        ));
        let statements = items(d, "statements");
        let rows: String = statements
            .iter()
            .map(|st| {
                format!(
                    r#"<tr><td>{effect}</td><td>{name}</td><td>{policy}</td><td><code>{arn}</code></td><td>{kind}</td><td>{index}</td><td>{line}:{column}</td><td>{level}</td></tr>"#,
                    effect = esc(&txt(&st["effect"])),
                    name = esc(&statement_name(st)),
                    policy = esc(&txt(&st["policy"])),
                    arn = esc(&txt(&st["policyArn"])),
                    kind = esc(&txt(&st["policyType"])),
                    index = esc(&txt(&st["statementIndex"])),
                    line = esc(&txt(&st["line"])),
                    column = esc(&txt(&st["column"])),
                    level = esc(&level_name(&st["level"])),
                )
            })
            .collect();
        o.push_str(&data_table(
            "Statements that applied",
            "statements",
            &[
                "Effect",
                "Statement",
                "Policy",
                "Policy ARN",
                "Policy type",
                "Index",
                "Line:column",
                "SCP/RCP level",
            ],
            &rows,
            statements.len(),
            "No statement applied to this request.",
        ));
        let missing = items(d, "missingContextKeys");
        if !missing.is_empty() {
            let keys: String = missing
                .iter()
                .map(|k| format!("<li><code>{}</code></li>", esc(&txt(k))))
                .collect();
            o.push_str(&format!(
                "<p>Conditions needed context keys the request did not have:</p><ul>{keys}</ul>"
            ));
        }
        o.push_str("</section>");
    }
    o
}

/// The facts of a record shown above its explanation: (label, value).
fn record_facts(e: &Value, record: &Value) -> String {
    let facts = [
        ("Event time", txt(&e["EventTime"])),
        ("User name", txt(&e["Username"])),
        ("Principal", txt(&record["userIdentity"]["arn"])),
        ("AWS access key", txt(&e["AccessKeyId"])),
        ("Event source", txt(&e["EventSource"])),
        ("Event name", txt(&e["EventName"])),
        ("AWS region", txt(&record["awsRegion"])),
        ("Source IP address", txt(&record["sourceIPAddress"])),
        ("User agent", txt(&record["userAgent"])),
        ("Event ID", txt(&e["EventId"])),
        ("Request ID", txt(&record["requestID"])),
        ("Read-only", txt(&e["ReadOnly"])),
        ("Error code", txt(&record["errorCode"])),
        ("Error message", txt(&record["errorMessage"])),
    ];
    let items: String = facts
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("<dt>{k}</dt><dd>{}</dd>", esc(v)))
        .collect();
    format!(r#"<dl class="facts">{items}</dl>"#)
}

impl P<'_> {
    fn lookup(&self, input: Value) -> Result<Value, CallError> {
        self.call("cloudtrail", "LookupEvents", input)
    }

    /// `/console/cloudtrail/events`: the filter form, the events, the next page's link.
    pub(super) fn trail_events(&self) -> Response {
        let title = "Event history";
        let f = Filter::of(self.r);
        let form = filter_form(&f);
        let out = match self.lookup(f.lookup_input(crate::now())) {
            Ok(v) => v,
            Err(e) => {
                return self.page_with_status(
                    super::kit::error_status(&e),
                    title,
                    &format!("{form}{}", error_box(&e.code, &e.message)),
                );
            }
        };
        let events = items(&out, "Events");
        let rows: String = events.iter().map(event_row).collect();
        let table = data_table(
            "Events",
            "events",
            &[
                "Event time (UTC)",
                "User name",
                "Event name",
                "Event source",
                "Resource type",
                "Resource name",
                "Error code",
                "AWS access key",
            ],
            &rows,
            events.len(),
            "<strong>No events match.</strong> Choose another attribute, value or time range.",
        );
        let mut pages = Vec::new();
        if !f.next.is_empty() {
            pages.push(format!(
                r#"<a href="/console/cloudtrail/events?{}">Newest events</a>"#,
                esc(&f.query(None))
            ));
        }
        if let Some(t) = out["NextToken"].as_str().filter(|t| !t.is_empty()) {
            pages.push(format!(
                r#"<a href="/console/cloudtrail/events?{}" rel="next" class="btn">Load more (older events)</a>"#,
                esc(&f.query(Some(t)))
            ));
        }
        let pages = if pages.is_empty() {
            String::new()
        } else {
            format!(
                r#"<nav class="page-links" aria-label="Pages of the event history">{}</nav>"#,
                pages.join(" ")
            )
        };
        self.page(
            title,
            &format!(
                r#"<p>The account's management events of the last 90 days, newest first: every call that reached authorisation, from the API, the console and the registry. Choose an event to see its record and why it was allowed or denied.</p>{form}<div class="trail-events">{table}</div>{pages}"#
            ),
        )
    }

    /// `/console/cloudtrail/events/ID`: one event's facts, explanation and record.
    pub(super) fn trail_event(&self, id: &str) -> Response {
        let out = match self.lookup(json!({
            "LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": id}],
            "MaxResults": 1,
        })) {
            Ok(v) => v,
            Err(e) => return self.failed("Event", &e),
        };
        let Some(e) = items(&out, "Events").first() else {
            return self.page_with_status(
                StatusCode::NOT_FOUND,
                "Event not found",
                &format!(
                    r#"<p>No event <code>{}</code> in the event history (events are kept 90 days).</p><p><a href="/console/cloudtrail/events">Event history</a></p>"#,
                    esc(id)
                ),
            );
        };
        let record = record_of(e);
        let pretty = serde_json::to_string_pretty(&record).unwrap_or_default();
        let resources = items(e, "Resources");
        let resource_rows: String = resources
            .iter()
            .map(|r| {
                format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    esc(&txt(&r["ResourceType"])),
                    esc(&txt(&r["ResourceName"]))
                )
            })
            .collect();
        let body = format!(
            r#"{facts}{resources}<h2>Why it was allowed or denied</h2><p>kagi's explanation for administrators (the caller saw only AWS's error message).</p>{why}<h2>Event record</h2><pre id="event-record">{pretty}</pre><p><a href="/console/cloudtrail/events">Back to Event history</a></p>"#,
            facts = record_facts(e, &record),
            resources = data_table(
                "Resources referenced",
                "resources",
                &["Resource type", "Resource name"],
                &resource_rows,
                resources.len(),
                "No resources recorded.",
            ),
            why = explanation_html(&record),
            pretty = esc(&pretty),
        );
        self.page(&txt(&e["EventName"]), &body)
    }
}

/// The filter form (GET: the filter is the page's URL, so it can be bookmarked and shared).
fn filter_form(f: &Filter) -> String {
    let attributes: String = LOOKUP_ATTRIBUTES
        .iter()
        .map(|(k, l)| {
            let sel = if *k == f.attribute { " selected" } else { "" };
            format!(r#"<option value="{k}"{sel}>{l}</option>"#)
        })
        .collect();
    let ranges: String = RANGES
        .iter()
        .map(|(v, l, _)| {
            let sel = if *v == f.range { " selected" } else { "" };
            format!(r#"<option value="{v}"{sel}>{l}</option>"#)
        })
        .collect();
    format!(
        r#"<form method="get" action="/console/cloudtrail/events" class="trail-filter" aria-label="Filter events">
<div class="filter-row"><label for="trail-attribute">Lookup attribute</label> <select id="trail-attribute" name="attribute">{attributes}</select>
<label for="trail-value">Value</label> <input type="text" id="trail-value" name="value" value="{value}" placeholder="Enter a value (empty: every event)" autocomplete="off"></div>
<div class="filter-row"><label for="trail-range">Time range</label> <select id="trail-range" name="range">{ranges}</select></div>
<div class="filter-row"><label for="trail-start">Start (UTC)</label> <input type="datetime-local" id="trail-start" name="start" value="{start}">
<label for="trail-end">End (UTC)</label> <input type="datetime-local" id="trail-end" name="end" value="{end}"></div>
<button type="submit">Apply filter</button> <a href="/console/cloudtrail/events">Clear filters</a></form>"#,
        value = esc(&f.value),
        start = esc(&f.start),
        end = esc(&f.end),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(attribute: &str, value: &str, range: &str, start: &str, end: &str) -> Filter {
        Filter {
            attribute: attribute.into(),
            value: value.into(),
            range: range.into(),
            start: start.into(),
            end: end.into(),
            next: String::new(),
        }
    }

    #[test]
    fn a_filter_becomes_lookup_events_input() {
        let now = 1_796_601_600; // 2026-12-07T00:00:00Z
        let f = filter("Username", "alice", "1h", "2026-01-01T00:00", "");
        assert_eq!(
            f.lookup_input(now),
            json!({
                "MaxResults": 50,
                "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "alice"}],
                "StartTime": "2026-12-06T23:00:00Z",
            }),
            "a preset wins over typed times"
        );
        let f = filter(
            "EventName",
            "",
            "custom",
            "2026-12-01T09:30",
            "2026-12-02T10:00:05",
        );
        assert_eq!(
            f.lookup_input(now),
            json!({"MaxResults": 50, "StartTime": "2026-12-01T09:30:00Z", "EndTime": "2026-12-02T10:00:05Z"}),
            "no value: no attribute; datetime-local times are UTC"
        );
        let mut f = filter("EventName", "CreateUser", "", "", "");
        f.next = "tok".into();
        assert_eq!(
            f.lookup_input(now),
            json!({"MaxResults": 50, "NextToken": "tok", "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]})
        );
        assert_eq!(utc("yesterday"), "yesterday", "the API judges the rest");
    }

    #[test]
    fn the_next_page_keeps_the_filter() {
        let f = filter("ResourceName", "a b&c", "7d", "", "");
        assert_eq!(
            f.query(Some("1700/x")),
            "attribute=ResourceName&value=a+b%26c&range=7d&next=1700%2Fx"
        );
        assert_eq!(
            f.query(None),
            "attribute=ResourceName&value=a+b%26c&range=7d"
        );
    }

    #[test]
    fn an_explanation_names_decisions_statements_and_missing_keys() {
        let record = json!({"additionalEventData": {"kagiAuthorization": [{
            "action": "iam:CreateUser",
            "resource": "arn:aws:iam::123456789012:user/<b>",
            "decision": "explicitDeny",
            "reason": "an explicit deny in an identity-based policy",
            "statements": [
                {"effect": "Deny", "policy": "NoUsers", "policyArn": "arn:aws:iam::123456789012:policy/NoUsers",
                 "policyType": "Identity", "statementIndex": 1, "line": 4, "column": 5, "sid": "Stop"},
                {"effect": "Deny", "policy": "p-1", "policyType": "ServiceControl", "statementIndex": 0,
                 "line": 2, "column": 3, "level": 0}
            ],
            "missingContextKeys": ["aws:MultiFactorAuthPresent"]
        }]}});
        let h = explanation_html(&record);
        assert!(h.contains("<code>iam:CreateUser</code> on <code>arn:aws:iam::123456789012:user/&lt;b&gt;</code>"), "{h}");
        assert!(
            h.contains(r#"<strong class="bad">explicitDeny</strong>"#),
            "{h}"
        );
        assert!(h.contains("<td>Deny</td><td>&quot;Stop&quot;</td><td>NoUsers</td><td><code>arn:aws:iam::123456789012:policy/NoUsers</code></td><td>Identity</td><td>1</td><td>4:5</td><td></td>"), "{h}");
        assert!(h.contains("<td>#1</td><td>p-1</td><td><code></code></td><td>ServiceControl</td><td>0</td><td>2:3</td><td>organization root (0)</td>"), "{h}");
        assert!(
            h.contains("<li><code>aws:MultiFactorAuthPresent</code></li>"),
            "{h}"
        );
        assert!(explanation_html(&json!({})).contains("No authorisation decision"));
    }

    #[test]
    fn rows_escape_and_link_the_event() {
        let e = json!({
            "EventId": "01a2-x", "EventName": "CreateUser", "EventTime": "2026-12-07T09:00:00Z",
            "EventSource": "iam.amazonaws.com", "Username": "<alice>", "AccessKeyId": "ASIAX",
            "Resources": [{"ResourceType": "AWS::IAM::User", "ResourceName": "bob"}],
            "CloudTrailEvent": "{\"errorCode\":\"AccessDenied\"}",
        });
        let row = event_row(&e);
        assert!(
            row.contains(r#"<a href="/console/cloudtrail/events/01a2-x">CreateUser</a>"#),
            "{row}"
        );
        assert!(row.contains("<td>&lt;alice&gt;</td>"), "{row}");
        assert!(
            row.contains(
                r#"<td><time datetime="2026-12-07T09:00:00Z">2026-12-07 09:00:00</time></td>"#
            ),
            "{row}"
        );
        assert_eq!(
            short_time("2026-12-07T09:00:00+00:00"),
            "2026-12-07 09:00:00"
        );
        assert_eq!(
            short_time("2026-12-07T09:00:00+09:00"),
            "2026-12-07T09:00:00+09:00"
        );
        assert!(
            row.contains(r#"<span class="bad">AccessDenied</span>"#),
            "{row}"
        );
        assert!(row.contains("<td>AWS::IAM::User</td><td>bob</td>"), "{row}");
    }
}
