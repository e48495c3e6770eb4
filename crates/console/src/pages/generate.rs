//! "Generate policy based on CloudTrail events" on a role's Permissions tab, as the IAM console
//! has it: a time window → IAM Access Analyzer's `StartPolicyGeneration` for the role; the
//! result page (`/console/roles/NAME/generated-policies/JOB`) shows `GetGeneratedPolicy`'s
//! policy (with the resources the records name, kagi's `includeResourcePlaceholders`) in the
//! policy editor, and creates it as a customer managed policy and attaches it to the role in
//! one step (`CreatePolicy` + `AttachRolePolicy`, the name typed); the role's earlier
//! generations are listed (`ListPolicyGenerations`). Every call goes through
//! [`crate::Backend::invoke`] as the signed-in principal (service `access-analyzer`), so its
//! policies decide.
//!
//! kagi reads its own event history: there is no trail to choose and no service role to give
//! Access Analyzer, so the request names the trail-less window only (with AWS's default service
//! role's name, which kagi does not use).

use super::kit::{P, error_status, items, pretty_document, txt};
use crate::CallError;
use crate::html::{data_table, error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// The time windows offered, in days (the IAM console's choice goes up to 90).
const WINDOWS: [u32; 4] = [1, 7, 30, 90];

/// StartPolicyGeneration's input for `principal` over the last `days` days before `now`.
pub(super) fn start_input(principal: &str, account: &str, days: u32, now: i64) -> Value {
    json!({
        "policyGenerationDetails": {"principalArn": principal},
        "cloudTrailDetails": {
            "trails": [],
            "accessRole": format!("arn:aws:iam::{account}:role/service-role/AccessAnalyzerMonitorServiceRole"),
            "startTime": kagi_time::iso8601_z(now - i64::from(days) * 86_400),
        },
    })
}

impl P<'_> {
    fn analyzer(&self, op: &str, input: Value) -> Result<Value, CallError> {
        self.call("access-analyzer", op, input)
    }

    fn generation_base(role: &str) -> String {
        format!("/console/roles/{}/generated-policies", seg(role))
    }

    /// The Permissions tab's section: the form that starts a generation and the role's
    /// earlier generations.
    pub(super) fn generation_section(&self, role: &str, arn: &str) -> String {
        let options: String = WINDOWS
            .iter()
            .map(|d| {
                let sel = if *d == 7 { " selected" } else { "" };
                let unit = if *d == 1 { "day" } else { "days" };
                format!(r#"<option value="{d}"{sel}>Last {d} {unit}</option>"#)
            })
            .collect();
        let earlier = match self.analyzer("ListPolicyGenerations", json!({"principalArn": arn})) {
            Ok(v) => {
                let list = items(&v, "policyGenerations");
                let rows: String = list
                    .iter()
                    .map(|g| {
                        format!(
                            r#"<tr><td><a href="{base}/{id}">{job}</a></td><td>{started}</td><td>{completed}</td><td>{status}</td></tr>"#,
                            base = Self::generation_base(role),
                            id = seg(&txt(&g["jobId"])),
                            job = esc(&txt(&g["jobId"])),
                            started = esc(&txt(&g["startedOn"])),
                            completed = esc(&txt(&g["completedOn"])),
                            status = esc(&txt(&g["status"])),
                        )
                    })
                    .collect();
                data_table(
                    "Earlier policy generations",
                    "generations",
                    &["Job ID", "Started", "Completed", "Status"],
                    &rows,
                    list.len(),
                    "No policies generated for this role yet.",
                )
            }
            Err(e) => error_box(&e.code, &e.message),
        };
        format!(
            r#"<h2 id="generate-policy">Generate policy based on CloudTrail events</h2><p>IAM Access Analyzer reads this role's recorded calls (the event history) and generates a policy that allows only the actions its sessions used, on the resources they named.</p>
<form method="post" action="/console/roles/{n}/generate-policy">{csrf}<label for="generation-window">Time period</label> <select id="generation-window" name="Days">{options}</select>
<button type="submit">Generate policy</button></form>{earlier}"#,
            n = seg(role),
            csrf = self.csrf(),
        )
    }

    /// `POST /console/roles/NAME/generate-policy`: starts a generation, shows its result.
    pub(super) fn start_generation(&self, role: &str) -> Response {
        let back = format!("/console/roles/{}#permissions", seg(role));
        let days: u32 = match self.field("Days").parse() {
            Ok(d) if WINDOWS.contains(&d) => d,
            _ => {
                return self.failed_back(
                    "Generate policy",
                    &CallError {
                        code: "ValidationException".into(),
                        message: "Choose a time period of 1, 7, 30 or 90 days.".into(),
                        status: 400,
                    },
                    &back,
                );
            }
        };
        let arn = match self.call("iam", "GetRole", json!({"RoleName": role})) {
            Ok(v) => txt(&v["Role"]["Arn"]),
            Err(e) => return self.failed_back("Generate policy", &e, &back),
        };
        let input = start_input(&arn, &self.account(), days, crate::now());
        match self.analyzer("StartPolicyGeneration", input) {
            Ok(v) => self.done(
                &format!("{}/{}", Self::generation_base(role), seg(&txt(&v["jobId"]))),
                format!(
                    "Policy generation started for role {role} (the last {days} {}).",
                    if days == 1 { "day" } else { "days" }
                ),
            ),
            Err(e) => self.failed_back("Generate policy", &e, &back),
        }
    }

    /// `GET /console/roles/NAME/generated-policies/JOB`: the generated policy and the form to
    /// create and attach it.
    pub(super) fn generated_policy(&self, role: &str, job: &str) -> Response {
        self.generated_policy_page(role, job, None, None, StatusCode::OK)
    }

    fn generated_policy_page(
        &self,
        role: &str,
        job: &str,
        draft: Option<(&str, &str, &str)>,
        problem: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let title = "Generated policy";
        let out = match self.analyzer(
            "GetGeneratedPolicy",
            json!({"jobId": job, "includeResourcePlaceholders": true}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed(title, &e),
        };
        let props = &out["generatedPolicyResult"]["properties"];
        let principal = txt(&props["principalArn"]);
        if principal.rsplit('/').next() != Some(role) || !principal.contains(":role/") {
            return self.page_with_status(
                StatusCode::NOT_FOUND,
                title,
                &error_box(
                    "ResourceNotFoundException",
                    &format!("Job {job} generated a policy for {principal}, not for role {role}."),
                ),
            );
        }
        let details = &out["jobDetails"];
        let trail = &props["cloudTrailProperties"];
        let facts = format!(
            r#"<dl class="facts"><dt>Role</dt><dd><code>{principal}</code></dd><dt>Job ID</dt><dd><code>{job}</code></dd><dt>Status</dt><dd>{status}</dd><dt>Time period</dt><dd>{start} – {end}</dd><dt>Started</dt><dd>{started}</dd><dt>Completed</dt><dd>{completed}</dd></dl>"#,
            principal = esc(&principal),
            job = esc(job),
            status = esc(&txt(&details["status"])),
            start = esc(&txt(&trail["startTime"])),
            end = esc(&txt(&trail["endTime"])),
            started = esc(&txt(&details["startedOn"])),
            completed = esc(&txt(&details["completedOn"])),
        );
        let back = format!(
            r#"<p><a href="/console/roles/{}#permissions">Back to role {}</a></p>"#,
            seg(role),
            esc(role)
        );
        let policies = items(&out["generatedPolicyResult"], "generatedPolicies");
        let Some(first) = policies.first() else {
            return self.page(
                title,
                &format!(
                    r#"{facts}<div class="notice" role="note"><p>The role's sessions made no call in this time period that a policy could allow: there is nothing to generate. Use the role, then generate again.</p></div>{back}"#
                ),
            );
        };
        let generated = pretty_document(&txt(&first["policy"]));
        let (name, description, document) = draft.unwrap_or(("", "", generated.as_str()));
        let default_description = format!(
            "Generated by IAM Access Analyzer from role {role}'s activity, {} – {}",
            txt(&trail["startTime"]),
            txt(&trail["endTime"])
        );
        let description = if draft.is_some() {
            description.to_owned()
        } else {
            default_description
        };
        // AWS splits a large policy in several; each is created on its own.
        let more: String = policies
            .iter()
            .skip(1)
            .map(|p| format!("<pre>{}</pre>", esc(&pretty_document(&txt(&p["policy"])))))
            .collect();
        let more = if more.is_empty() {
            String::new()
        } else {
            format!(
                "<h2>Further generated policies</h2><p>Too large for one policy: create these separately.</p>{more}"
            )
        };
        let body = format!(
            r#"{facts}<h2>What the policy allows</h2>{summary}<h2 id="create-generated">Create and attach the policy</h2>{problem}<p>Review the generated permissions, edit them if needed, name the policy, and create it as a customer managed policy attached to role {role_text}.</p>
<form method="post" action="{base}/{job_seg}">{csrf}
<label>Policy name <input type="text" name="PolicyName" required maxlength="128" value="{name}" autocomplete="off"></label>
<label>Description <input type="text" name="Description" maxlength="1000" value="{description}"></label>
<label for="generated-document">Policy document (JSON)</label>
<textarea id="generated-document" name="PolicyDocument" rows="18" spellcheck="false" data-policy-type="identity" data-findings="generated-findings">{document}</textarea>
<div id="generated-findings" aria-live="polite"></div>
<button type="submit">Create and attach policy</button></form>{more}{back}"#,
            summary = crate::summary::table(&generated, "Generated permissions"),
            problem = problem.unwrap_or(""),
            role_text = esc(role),
            base = Self::generation_base(role),
            job_seg = seg(job),
            csrf = self.csrf(),
            name = esc(name),
            description = esc(&description),
            document = esc(document),
        );
        self.page_with_status(status, title, &body)
    }

    /// `POST /console/roles/NAME/generated-policies/JOB`: CreatePolicy with the typed name and
    /// the (reviewed) document, then AttachRolePolicy.
    pub(super) fn create_generated_policy(&self, role: &str, job: &str) -> Response {
        let name = self.field("PolicyName");
        let description = self.field("Description");
        let document = self.r.field("PolicyDocument").unwrap_or("").to_owned();
        let again = |problem: String, status: StatusCode| {
            self.generated_policy_page(
                role,
                job,
                Some((&name, &description, &document)),
                Some(problem.as_str()),
                status,
            )
        };
        if name.is_empty() {
            return again(
                error_box("ValidationError", "Type a name for the policy."),
                StatusCode::BAD_REQUEST,
            );
        }
        let findings = kagi_policy::validate(&document, kagi_policy::PolicyType::Identity);
        if kagi_policy::has_errors(&findings) {
            return again(
                super::kit::findings_html(&findings),
                StatusCode::BAD_REQUEST,
            );
        }
        let mut input = json!({"PolicyName": name, "PolicyDocument": document});
        if !description.is_empty() {
            input["Description"] = json!(description);
        }
        let arn = match self.call("iam", "CreatePolicy", input) {
            Ok(v) => txt(&v["Policy"]["Arn"]),
            Err(e) => return again(error_box(&e.code, &e.message), error_status(&e)),
        };
        let back = format!("/console/roles/{}#permissions", seg(role));
        match self.call(
            "iam",
            "AttachRolePolicy",
            json!({"RoleName": role, "PolicyArn": arn}),
        ) {
            Ok(_) => self.done(
                &back,
                format!("Policy {name} created and attached to role {role}."),
            ),
            Err(e) => self.failed_back(
                "Policy created, not attached",
                &CallError {
                    message: format!(
                        "Policy {name} ({arn}) was created but could not be attached to role {role}: {}",
                        e.message
                    ),
                    ..e
                },
                &back,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_becomes_start_policy_generation_input() {
        let v = start_input(
            "arn:aws:iam::123456789012:role/Pusher",
            "123456789012",
            7,
            1_796_601_600,
        );
        assert_eq!(
            v,
            json!({
                "policyGenerationDetails": {"principalArn": "arn:aws:iam::123456789012:role/Pusher"},
                "cloudTrailDetails": {
                    "trails": [],
                    "accessRole": "arn:aws:iam::123456789012:role/service-role/AccessAnalyzerMonitorServiceRole",
                    "startTime": "2026-11-30T00:00:00Z",
                },
            })
        );
    }
}
