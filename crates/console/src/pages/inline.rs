//! Inline policies of users, roles and groups: each shown with its document, deletable, and a
//! form to add one (Put*Policy) with the policy engine's findings, live and on submit.

use super::kit::{P, document_text, findings_html, items, page_status, pretty_document, txt};
use crate::html::{error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

/// `(list, get, put, delete, member, path)` of the IAM operations for an entity kind.
fn ops(
    kind: &str,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match kind {
        "User" => (
            "ListUserPolicies",
            "GetUserPolicy",
            "PutUserPolicy",
            "DeleteUserPolicy",
            "UserName",
            "users",
        ),
        "Group" => (
            "ListGroupPolicies",
            "GetGroupPolicy",
            "PutGroupPolicy",
            "DeleteGroupPolicy",
            "GroupName",
            "groups",
        ),
        _ => (
            "ListRolePolicies",
            "GetRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "RoleName",
            "roles",
        ),
    }
}

impl P<'_> {
    /// The "Inline policies" section of an entity's page.
    pub(super) fn inline_section(&self, kind: &str, name: &str) -> String {
        let (list, get, _, _, member, path) = ops(kind);
        let base = format!("/console/{path}/{}", seg(name));
        let csrf = self.csrf();
        let mut o = String::from("<h2>Inline policies</h2>");
        match self.call("iam", list, json!({member: name})) {
            Ok(v) => {
                let names: Vec<String> = items(&v, "PolicyNames").iter().map(txt).collect();
                if names.is_empty() {
                    o.push_str("<p>No inline policies.</p>");
                }
                for pn in names {
                    let doc = match self.call("iam", get, json!({member: name, "PolicyName": pn})) {
                        Ok(d) => {
                            format!(
                                "<pre>{}</pre>",
                                esc(&pretty_document(&document_text(&d["PolicyDocument"])))
                            )
                        }
                        Err(e) => error_box(&e.code, &e.message),
                    };
                    o.push_str(&format!(
                        r#"<details><summary>{n}</summary>{doc}<form method="post" action="{base}/inline/delete" class="inline">{csrf}<input type="hidden" name="PolicyName" value="{n}"><button type="submit" aria-label="Delete inline policy {n}">Delete</button></form></details>"#,
                        n = esc(&pn)
                    ));
                }
            }
            Err(e) => o.push_str(&error_box(&e.code, &e.message)),
        }
        o.push_str(&self.inline_form(&base, "", "", None));
        o
    }

    fn inline_form(&self, base: &str, name: &str, doc: &str, problems: Option<&str>) -> String {
        format!(
            r#"<details{open}><summary>Create inline policy</summary>{problems}<form method="post" action="{base}/inline">{csrf}
<label for="inline-name">Inline policy name</label> <input type="text" id="inline-name" name="PolicyName" required maxlength="128" value="{name}">
<label for="inline-document">Inline policy document (JSON)</label>
<textarea id="inline-document" name="PolicyDocument" rows="12" spellcheck="false" data-policy-type="identity" data-findings="inline-findings">{doc}</textarea>
<div id="inline-findings" aria-live="polite"></div>
<button type="submit">Create inline policy</button></form></details>"#,
            open = if problems.is_some() { " open" } else { "" },
            problems = problems.unwrap_or(""),
            csrf = self.csrf(),
            name = esc(name),
            doc = esc(doc),
        )
    }

    pub(super) fn put_inline(&self, kind: &str, name: &str) -> Response {
        let (_, _, put, _, member, path) = ops(kind);
        let base = format!("/console/{path}/{}", seg(name));
        let pn = self.field("PolicyName");
        let doc = self.r.field("PolicyDocument").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&doc, kagi_policy::PolicyType::Identity);
        if kagi_policy::has_errors(&findings) {
            return page_status(
                StatusCode::BAD_REQUEST,
                "Create inline policy",
                Some(self.s),
                &self.inline_form(&base, &pn, &doc, Some(&findings_html(&findings))),
            );
        }
        match self.call(
            "iam",
            put,
            json!({member: name, "PolicyName": pn, "PolicyDocument": doc}),
        ) {
            Ok(_) => self.done(&base, "Inline policy saved."),
            Err(e) => page_status(
                super::kit::error_status(&e),
                "Create inline policy",
                Some(self.s),
                &self.inline_form(&base, &pn, &doc, Some(&error_box(&e.code, &e.message))),
            ),
        }
    }

    pub(super) fn delete_inline(&self, kind: &str, name: &str) -> Response {
        let (_, _, _, delete, member, path) = ops(kind);
        let pn = self.field("PolicyName");
        match self.call("iam", delete, json!({member: name, "PolicyName": pn})) {
            Ok(_) => self.done(
                &format!("/console/{path}/{}", seg(name)),
                "Inline policy deleted.",
            ),
            Err(e) => self.failed("Delete inline policy", &e),
        }
    }
}
