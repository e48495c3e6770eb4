//! The "Access Advisor" tab of users, groups, roles and policies (IAM's last-accessed report:
//! `GenerateServiceLastAccessedDetails`, `GetServiceLastAccessedDetails`,
//! `ListPoliciesGrantingServiceAccess`), and a role's "Sessions" tab: its recent sessions from
//! the event history's `AssumeRole` events (CloudTrail's `LookupEvents`) and AWS's "Revoke
//! active sessions" (the inline policy `AWSRevokeOlderSessions`, denying everything to
//! sessions issued before now through `aws:TokenIssueTime`). All through the backend's
//! `invoke`, as the signed-in principal.

use super::kit::{P, items, txt};
use crate::html::{data_table, error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The inline policy AWS's console attaches to revoke a role's sessions.
pub const REVOKE_POLICY: &str = "AWSRevokeOlderSessions";

/// How many pages of `AssumeRole` events the Sessions tab reads (50 events each).
const SESSION_PAGES: usize = 4;

impl P<'_> {
    /// The Access Advisor tab for the user, group, role or managed policy `arn`.
    pub(super) fn access_advisor(&self, arn: &str) -> String {
        let intro = "<h2>Access Advisor</h2><p>The services this entity's permissions policies allow, and when an identity last attempted to use each (an attempt counts whether or not it was allowed). The tracking period is the event history's retention.</p>";
        let job = match self.call(
            "iam",
            "GenerateServiceLastAccessedDetails",
            json!({"Arn": arn}),
        ) {
            Ok(v) => txt(&v["JobId"]),
            Err(e) => return format!("{intro}{}", error_box(&e.code, &e.message)),
        };
        let mut services: Vec<Value> = Vec::new();
        let mut input = json!({"JobId": job, "MaxItems": 1000});
        for _ in 0..50 {
            match self.call("iam", "GetServiceLastAccessedDetails", input.clone()) {
                Ok(v) => {
                    services.extend(items(&v, "ServicesLastAccessed").iter().cloned());
                    match v["Marker"].as_str() {
                        Some(m) if v["IsTruncated"].as_bool() == Some(true) => {
                            input["Marker"] = json!(m)
                        }
                        _ => break,
                    }
                }
                Err(e) => return format!("{intro}{}", error_box(&e.code, &e.message)),
            }
        }
        let granting = if arn.contains(":policy/") {
            None
        } else {
            Some(self.policies_granting(arn, &services))
        };
        let rows: String = services
            .iter()
            .map(|s| {
                let ns = txt(&s["ServiceNamespace"]);
                let last = match s["LastAuthenticated"].as_str() {
                    Some(t) => format!(
                        r#"<time datetime="{t}">{t}</time> by <code>{e}</code> in {r}"#,
                        t = esc(t),
                        e = esc(&txt(&s["LastAuthenticatedEntity"])),
                        r = esc(&txt(&s["LastAuthenticatedRegion"]))
                    ),
                    None => "Not accessed in the tracking period".to_owned(),
                };
                let policies = match &granting {
                    None => "This policy".to_owned(),
                    Some(Err(e)) => esc(e),
                    Some(Ok(m)) => m.get(&ns).cloned().unwrap_or_default(),
                };
                format!(
                    "<tr><td>{} <code>{}</code></td><td>{policies}</td><td>{last}</td></tr>",
                    esc(&txt(&s["ServiceName"])),
                    esc(&ns)
                )
            })
            .collect();
        format!(
            "{intro}{}",
            data_table(
                "Allowed services",
                "services",
                &["Service", "Policies granting permissions", "Last accessed"],
                &rows,
                services.len(),
                "No permissions policy allows any service.",
            )
        )
    }

    /// The policies granting each service (`ListPoliciesGrantingServiceAccess`), as HTML by
    /// namespace; managed policies link to their page.
    fn policies_granting(
        &self,
        arn: &str,
        services: &[Value],
    ) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        let namespaces: Vec<String> = services
            .iter()
            .map(|s| txt(&s["ServiceNamespace"]))
            .collect();
        for chunk in namespaces.chunks(200) {
            let v = self
                .call(
                    "iam",
                    "ListPoliciesGrantingServiceAccess",
                    json!({"Arn": arn, "ServiceNamespaces": chunk}),
                )
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            for entry in items(&v, "PoliciesGrantingServiceAccess") {
                let names: Vec<String> = items(entry, "Policies")
                    .iter()
                    .map(|p| {
                        let name = esc(&txt(&p["PolicyName"]));
                        match p["PolicyArn"].as_str() {
                            Some(a) => {
                                format!(r#"<a href="/console/policies/{}">{name}</a>"#, seg(a))
                            }
                            None => format!("{name} (inline, {})", esc(&txt(&p["EntityName"]))),
                        }
                    })
                    .collect();
                out.insert(txt(&entry["ServiceNamespace"]), names.join(", "));
            }
        }
        Ok(out)
    }

    /// A role's Sessions tab: its recent sessions (`AssumeRole` events of the history) and
    /// the form that revokes them.
    pub(super) fn role_sessions(&self, name: &str, arn: &str) -> String {
        let mut body = String::from(
            "<h2>Recent sessions</h2><p>Sessions of this role from the event history's AssumeRole events, newest first.</p>",
        );
        let revoked_before = self.revoked_before(name);
        let now = crate::now();
        let mut rows = String::new();
        let mut count = 0;
        let mut input = json!({
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
            "MaxResults": 50,
        });
        for _ in 0..SESSION_PAGES {
            let v = match self.call("cloudtrail", "LookupEvents", input.clone()) {
                Ok(v) => v,
                Err(e) => {
                    body.push_str(&error_box(&e.code, &e.message));
                    break;
                }
            };
            for ev in items(&v, "Events") {
                let Ok(r) = serde_json::from_str::<Value>(&txt(&ev["CloudTrailEvent"])) else {
                    continue;
                };
                if r["requestParameters"]["roleArn"].as_str() != Some(arn)
                    || r.get("errorCode").is_some()
                {
                    continue;
                }
                let issued = txt(&r["eventTime"]);
                let expires = txt(&r["responseElements"]["credentials"]["expiration"]);
                let ms = kagi_policy::condition::parse_date;
                let issued_ms = ms(&issued).unwrap_or(0);
                let status = if revoked_before
                    .as_deref()
                    .and_then(ms)
                    .is_some_and(|b| issued_ms < b)
                {
                    "Revoked"
                } else if ms(&expires).is_some_and(|e| e <= now * 1000) {
                    "Expired"
                } else {
                    "Active"
                };
                rows.push_str(&format!(
                    r#"<tr><td>{}</td><td><code>{}</code></td><td><time datetime="{i}">{i}</time></td><td>{}</td><td>{status}</td></tr>"#,
                    esc(&txt(&r["requestParameters"]["roleSessionName"])),
                    esc(&txt(&r["userIdentity"]["arn"])),
                    esc(&txt(&r["sourceIPAddress"])),
                    i = esc(&issued),
                ));
                count += 1;
            }
            match v["NextToken"].as_str() {
                Some(t) if !t.is_empty() => input["NextToken"] = json!(t),
                _ => break,
            }
        }
        body.push_str(&data_table(
            "Sessions",
            "sessions",
            &[
                "Session name",
                "Assumed by",
                "Issued at",
                "Source IP",
                "Status",
            ],
            &rows,
            count,
            "No session of this role in the event history.",
        ));
        let revoked = match &revoked_before {
            Some(t) => format!(
                "<p>Sessions issued before <time datetime=\"{t}\">{t}</time> are revoked (inline policy <code>{REVOKE_POLICY}</code>).</p>",
                t = esc(t)
            ),
            None => String::new(),
        };
        body.push_str(&format!(
            r#"<h2>Revoke active sessions</h2>{revoked}<p>Revoking puts the inline policy <code>{REVOKE_POLICY}</code> on this role: it denies every action to every session issued before now. Sessions started afterwards are not affected.</p>
<form method="post" action="/console/roles/{n}/revoke-sessions">{csrf}
<label for="revoke-confirm">To confirm, type the role name <strong>{name_html}</strong></label>
<input type="text" id="revoke-confirm" name="confirm" required autocomplete="off" spellcheck="false">
<button type="submit" class="danger">Revoke active sessions</button></form>"#,
            n = seg(name),
            csrf = self.csrf(),
            name_html = esc(name),
        ));
        body
    }

    /// When `AWSRevokeOlderSessions` revokes from (its `aws:TokenIssueTime`), if the role has it.
    fn revoked_before(&self, role: &str) -> Option<String> {
        let v = self
            .call(
                "iam",
                "GetRolePolicy",
                json!({"RoleName": role, "PolicyName": REVOKE_POLICY}),
            )
            .ok()?;
        let doc: Value =
            serde_json::from_str(&super::kit::document_text(&v["PolicyDocument"])).ok()?;
        let statements = match &doc["Statement"] {
            Value::Array(a) => a.clone(),
            s => vec![s.clone()],
        };
        statements.iter().find_map(|s| {
            s["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
                .as_str()
                .map(str::to_owned)
        })
    }

    /// `POST /console/roles/NAME/revoke-sessions`: the role's name typed to confirm, then
    /// `PutRolePolicy` of `AWSRevokeOlderSessions` with the time of now.
    pub(super) fn revoke_sessions(&self, name: &str) -> Response {
        let back = format!("/console/roles/{}#sessions", seg(name));
        if self.field("confirm") != name {
            return self.page_with_status(
                StatusCode::BAD_REQUEST,
                "Revoke active sessions",
                &format!(
                    r#"{}<p><a href="{}">Back</a></p>"#,
                    error_box(
                        "ConfirmationMismatch",
                        "Type the role's name exactly to confirm. Nothing was revoked."
                    ),
                    esc(&back)
                ),
            );
        }
        let now = kagi_policy::context::format_iso8601(std::time::SystemTime::now());
        let document = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}},
            }],
        });
        match self.call(
            "iam",
            "PutRolePolicy",
            json!({
                "RoleName": name,
                "PolicyName": REVOKE_POLICY,
                "PolicyDocument": document.to_string(),
            }),
        ) {
            Ok(_) => self.done(
                &back,
                format!("Sessions of role {name} issued before {now} are revoked."),
            ),
            Err(e) => self.failed_back("Revoke active sessions", &e, &back),
        }
    }
}
