//! What every page module shares: the signed-in page context [`P`], the page frame and status,
//! reading Values, tables of entities and policies, policy documents and findings. The
//! dispatcher (`pages/mod.rs`) and every page module use it; it uses none of them.

use crate::html::{esc, layout, seg};
use crate::session::ConsoleSession;
use crate::{CallError, Console, Req, html_response};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

/// The HTTP status a console page answers for a failed call.
pub(super) fn error_status(e: &CallError) -> StatusCode {
    if e.code.starts_with("AccessDenied") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

pub(super) fn page_status(
    status: StatusCode,
    title: &str,
    s: Option<&ConsoleSession>,
    body: &str,
) -> Response {
    html_response(status, layout(title, s, body))
}

pub(super) struct P<'a> {
    pub(super) c: &'a Console,
    pub(super) r: &'a Req,
    pub(super) s: &'a ConsoleSession,
    /// The session's id (to change the session in place).
    pub(super) sid: &'a str,
}

impl P<'_> {
    /// The account the session acts in: the signed-in principal's, or after a switch role the
    /// role's (from the session's ARN).
    pub(super) fn account(&self) -> String {
        crate::html::principal_name(&self.s.arn).1
    }
}

pub(super) fn txt(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn items<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A row's checkbox for a list's "Delete selected" (`field` = its id, in the form
/// `delete-selected`, which may stand anywhere on the page).
pub(super) fn select_cell(field: &str, id: &str, name: &str) -> String {
    format!(
        r#"<td><input type="checkbox" name="{f}" value="{v}" form="delete-selected" data-name="{n}" aria-label="Select {n}"></td>"#,
        f = esc(field),
        v = esc(id),
        n = esc(name),
    )
}

/// The rows of a list page: with `select` (a form field), a checkbox for "Delete selected"
/// (none for AWS managed policies, which cannot be deleted); the entity's name linked to
/// `/console/{base}/{its id_key}`, its ARN, then the plain columns `extra`.
pub(super) fn entity_rows(
    list: &[Value],
    base: &str,
    id_key: &str,
    name_key: &str,
    extra: &[&str],
    select: Option<&str>,
) -> String {
    let mut rows = String::new();
    for e in list {
        rows.push_str("<tr>");
        if let Some(field) = select {
            let id = txt(&e[id_key]);
            if id.starts_with("arn:aws:iam::aws:policy/") {
                rows.push_str("<td></td>");
            } else {
                rows.push_str(&select_cell(field, &id, &txt(&e[name_key])));
            }
        }
        rows.push_str(&format!(
            "<td><a href=\"/console/{base}/{}\">{}</a></td><td><code>{}</code></td>",
            seg(&txt(&e[id_key])),
            esc(&txt(&e[name_key])),
            esc(&txt(&e["Arn"]))
        ));
        for col in extra {
            rows.push_str(&format!("<td>{}</td>", esc(&txt(&e[*col]))));
        }
        rows.push_str("</tr>");
    }
    rows
}

/// A policy document from an output Value. The Backend hands over Values, never XML: the
/// percent-encoding IAM puts on the wire is kagi-api's XML codec's, so a Value holds the
/// document itself and the page shows it as it was written.
pub(super) fn document_text(v: &Value) -> String {
    txt(v)
}

/// A policy document for reading: pretty-printed JSON (two-space indent, keys in their order),
/// or the text unchanged when it is not JSON.
pub(super) fn pretty_document(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The `.csv` the IAM console offers for a new access key (kept in the page as a `data:` link,
/// so the secret never travels in a URL to the server).
pub fn access_key_csv(id: &str, secret: &str) -> String {
    format!("Access key ID,Secret access key\n{id},{secret}\n")
}

/// Attached policies, each with a "Detach" button posting its ARN to `action`, and a checkbox
/// for "Detach selected" (one form for several: the checkboxes belong to it by `form=`, as
/// forms cannot nest), as the IAM console's "Remove" does.
pub(super) fn policy_table_with_detach(list: &[Value], action: &str, csrf: &str) -> String {
    let rows: String = list
        .iter()
        .map(|p| {
            let arn = txt(&p["PolicyArn"]);
            format!(
                r#"<tr><td><input type="checkbox" name="PolicyArn" value="{a}" form="detach-selected" aria-label="Select {n}"></td><td><a href="/console/policies/{s}">{n}</a></td><td><code>{a}</code></td><td><form method="post" action="{action}" class="inline">{csrf}<input type="hidden" name="PolicyArn" value="{a}"><button type="submit" aria-label="Detach {n}">Detach</button></form></td></tr>"#,
                s = seg(&arn),
                n = esc(&txt(&p["PolicyName"])),
                a = esc(&arn),
                action = esc(action),
            )
        })
        .collect();
    let count = list.len();
    let table = crate::html::data_table(
        "Permissions policies",
        "policies",
        &["Select", "Policy name", "ARN", "Actions"],
        &rows,
        count,
        "<strong>No policies attached.</strong> Attach one below.",
    );
    let bulk = if count > 0 {
        format!(
            r#"<form method="post" action="{}" id="detach-selected" class="bulk-actions">{csrf}<button type="submit">Detach selected</button></form>"#,
            esc(action)
        )
    } else {
        String::new()
    };
    format!("{table}{bulk}")
}

/// The policy engine's findings, each with its line and column.
pub fn findings_html(findings: &[kagi_policy::Finding]) -> String {
    let mut o = String::from(
        r#"<div class="error" role="alert"><strong>The policy has problems:</strong><ul>"#,
    );
    for f in findings {
        let at = f
            .locations
            .first()
            .map(|l| {
                format!(
                    "Line {}, column {}: ",
                    l.span.start.line, l.span.start.column
                )
            })
            .unwrap_or_default();
        o.push_str(&format!(
            "<li>{} {}: {}{}</li>",
            esc(f.finding_type.as_str()),
            esc(&f.issue_code),
            esc(&at),
            esc(&f.details)
        ));
    }
    o.push_str("</ul></div>");
    o
}
