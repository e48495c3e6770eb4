//! IAM's pages on [`P`]: users, access keys, groups' and users' policies, policies and their
//! versions, roles (what the other page modules do not cover).

use super::kit::{
    P, access_key_csv, document_text, entity_rows, error_status, findings_html, items, page_status,
    policy_table_with_detach, pretty_document, txt,
};
use crate::html::{csrf_field, data_table, error_box, esc, seg};
use crate::{CallError, redirect};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

impl P<'_> {
    pub(super) fn call(&self, service: &str, op: &str, input: Value) -> Result<Value, CallError> {
        self.c
            .backend
            .invoke(&self.s.access_key_id, self.r.source_ip, service, op, input)
    }

    /// Every item of a paginated list (following `NextToken`), `key` naming the list.
    pub(super) fn call_all(
        &self,
        service: &str,
        op: &str,
        input: Value,
        key: &str,
    ) -> Result<Vec<Value>, CallError> {
        let mut out = Vec::new();
        let mut input = input;
        for _ in 0..500 {
            let v = self.call(service, op, input.clone())?;
            out.extend(items(&v, key).iter().cloned());
            match v["NextToken"].as_str() {
                Some(t) if !t.is_empty() => input["NextToken"] = json!(t),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The page for a form whose call failed: AWS's error and a link back to `back`.
    pub(super) fn failed_back(&self, title: &str, e: &CallError, back: &str) -> Response {
        self.page_with_status(
            error_status(e),
            title,
            &format!(
                r#"{}<p><a href="{}">Back</a></p>"#,
                error_box(&e.code, &e.message),
                esc(back)
            ),
        )
    }

    /// After an action: `msg` is shown once on the page `to` (a 303 there).
    pub(super) fn done(&self, to: &str, msg: impl Into<String>) -> Response {
        let msg = msg.into();
        self.c.sessions.update(self.sid, |x| x.flash = Some(msg));
        redirect(to, &[])
    }

    pub(super) fn field(&self, name: &str) -> String {
        self.r.field(name).unwrap_or("").trim().to_owned()
    }

    pub(super) fn page(&self, title: &str, body: &str) -> Response {
        page_status(StatusCode::OK, title, Some(self.s), body)
    }

    pub(super) fn page_with_status(&self, status: StatusCode, title: &str, body: &str) -> Response {
        page_status(status, title, Some(self.s), body)
    }

    /// The page for a failed call: AWS's code and message, with AWS's status (403 for any
    /// access denial, also ECR's `AccessDeniedException`, which its protocol sends with 400).
    pub(super) fn failed(&self, title: &str, e: &CallError) -> Response {
        page_status(
            error_status(e),
            title,
            Some(self.s),
            &error_box(&e.code, &e.message),
        )
    }

    /// The account's customer managed policies the principal may list: `(name, ARN)`.
    pub(super) fn local_policies(&self) -> Vec<(String, String)> {
        match self.call(
            "iam",
            "ListPolicies",
            json!({"Scope": "Local", "MaxItems": 1000}),
        ) {
            Ok(v) => items(&v, "Policies")
                .iter()
                .map(|p| (txt(&p["PolicyName"]), txt(&p["Arn"])))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Suggestions for policy ARN inputs (`list="policy-arns"`).
    pub(super) fn policy_datalist(&self) -> String {
        let options: String = self
            .local_policies()
            .iter()
            .map(|(n, a)| format!(r#"<option value="{}">{}</option>"#, esc(a), esc(n)))
            .collect();
        format!(r#"<datalist id="policy-arns">{options}</datalist>"#)
    }

    pub(super) fn csrf(&self) -> String {
        csrf_field(self.s)
    }

    pub(super) fn users(&self) -> Response {
        let out = match self.call("iam", "ListUsers", json!({"MaxItems": 1000})) {
            Ok(v) => v,
            Err(e) => return self.failed("Users", &e),
        };
        let list = items(&out, "Users");
        let rows = entity_rows(
            list,
            "users",
            "UserName",
            "UserName",
            &["CreateDate"],
            Some("UserName"),
        );
        let table = data_table(
            "Users",
            "users",
            &["Select", "User name", "ARN", "Created"],
            &rows,
            list.len(),
            r##"<strong>No users yet</strong> <a href="#create-user">Create a user</a> to give a person or a program its own credentials."##,
        );
        self.page(
            "Users",
            &format!(
                r#"{table}{bulk}
<h2 id="create-user">Create user</h2><form method="post" action="/console/users">{csrf}
<label>User name <input type="text" name="UserName" required maxlength="64"></label>
<label>Console password (optional: leave empty for no console access) <input type="password" name="Password" autocomplete="new-password"></label>
<fieldset><legend>Permissions (optional)</legend>
<label for="new-user-policy">Attach a policy directly (policy ARN)</label> <input type="text" id="new-user-policy" name="PolicyArn" list="policy-arns" placeholder="arn:aws:iam::{acct}:policy/Name">{arns}
<label for="new-user-group">Add to a group (group name)</label> <input type="text" id="new-user-group" name="GroupName"></fieldset>
<button type="submit">Create user</button></form>"#,
                acct = esc(&self.account()),
                csrf = self.csrf(),
                arns = self.policy_datalist(),
                bulk = if list.is_empty() {
                    String::new()
                } else {
                    self.bulk_delete_section("users", "/console/users/delete-selected", "")
                },
            ),
        )
    }

    pub(super) fn create_user(&self) -> Response {
        let name = self.field("UserName");
        if let Err(e) = self.call("iam", "CreateUser", json!({"UserName": name})) {
            return self.failed("Create user", &e);
        }
        let pw = self.r.field("Password").unwrap_or("");
        if !pw.is_empty()
            && let Err(e) = self.call(
                "iam",
                "CreateLoginProfile",
                json!({"UserName": name, "Password": pw}),
            )
        {
            // Undo the half-made user (as far as this principal may), so that the form can
            // simply be sent again with a better password.
            let undone = self
                .call("iam", "DeleteUser", json!({"UserName": name}))
                .is_ok();
            let note = if undone {
                "<p>The user was not created.</p>"
            } else {
                "<p>The user was created without console access.</p>"
            };
            return page_status(
                error_status(&e),
                "Create user",
                Some(self.s),
                &format!("{}{note}", error_box(&e.code, &e.message)),
            );
        }
        let policy = self.field("PolicyArn");
        if !policy.is_empty()
            && let Err(e) = self.call(
                "iam",
                "AttachUserPolicy",
                json!({"UserName": name, "PolicyArn": policy}),
            )
        {
            return self.failed("Attach policy", &e);
        }
        let group = self.field("GroupName");
        if !group.is_empty()
            && let Err(e) = self.call(
                "iam",
                "AddUserToGroup",
                json!({"UserName": name, "GroupName": group}),
            )
        {
            return self.failed("Add user to group", &e);
        }
        self.done(
            &format!("/console/users/{}", seg(&name)),
            format!("User {name} created."),
        )
    }

    pub(super) fn user(&self, name: &str) -> Response {
        let user = match self.call("iam", "GetUser", json!({"UserName": name})) {
            Ok(v) => v,
            Err(e) => return self.failed(name, &e),
        };
        let u = &user["User"];
        let base = format!("/console/users/{}", seg(name));
        let csrf = self.csrf();
        let mut body = format!(
            "<p>ARN: <code>{}</code><br>Created: {}</p>",
            esc(&txt(&u["Arn"])),
            esc(&txt(&u["CreateDate"]))
        );
        let head = std::mem::take(&mut body);
        body.push_str("<h2>Permissions policies</h2>");
        match self.call("iam", "ListAttachedUserPolicies", json!({"UserName": name})) {
            Ok(v) => body.push_str(&policy_table_with_detach(
                items(&v, "AttachedPolicies"),
                &format!("{base}/detach-policy"),
                &csrf,
            )),
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        body.push_str(&format!(
            r#"<form method="post" action="{base}/attach-policy">{csrf}
<label>Policy ARN <input type="text" name="PolicyArn" required list="policy-arns" placeholder="arn:aws:iam::{acct}:policy/Name"></label>{arns}
<button type="submit">Attach policy</button></form>"#,
            acct = esc(&self.account()),
            arns = self.policy_datalist()
        ));
        body.push_str(&self.inline_section("User", name));
        let permissions = std::mem::take(&mut body);
        body.push_str("<h2>Groups</h2>");
        match self.call("iam", "ListGroupsForUser", json!({"UserName": name})) {
            Ok(v) => {
                let list: Vec<String> = items(&v, "Groups")
                    .iter()
                    .map(|g| {
                        let gn = txt(&g["GroupName"]);
                        format!(
                            r#"<li><a href="/console/groups/{}">{}</a></li>"#,
                            seg(&gn),
                            esc(&gn)
                        )
                    })
                    .collect();
                if list.is_empty() {
                    body.push_str("<p>Not in any group.</p>");
                } else {
                    body.push_str(&format!("<ul>{}</ul>", list.concat()));
                }
            }
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        body.push_str(&format!(
            r#"<form method="post" action="{base}/groups">{csrf}
<label for="user-group">Group name</label> <input type="text" id="user-group" name="GroupName" required>
<button type="submit">Add user to group</button></form>"#
        ));
        let groups = std::mem::take(&mut body);
        body.push_str("<h2>Access keys</h2>");
        match self.call("iam", "ListAccessKeys", json!({"UserName": name})) {
            Ok(v) => {
                body.push_str("<table><thead><tr><th>Access key ID</th><th>Status</th><th>Created</th><th>Last used</th><th>Actions</th></tr></thead><tbody>");
                for k in items(&v, "AccessKeyMetadata") {
                    let id = txt(&k["AccessKeyId"]);
                    let status = txt(&k["Status"]);
                    let (to, label) = if status == "Active" {
                        ("Inactive", "Deactivate")
                    } else {
                        ("Active", "Activate")
                    };
                    body.push_str(&format!(
                        r#"<tr><td><code class="id">{ide}</code></td><td>{st}</td><td>{cr}</td><td>{lu}</td><td>
<form method="post" action="{base}/access-keys/{ids}/status" class="inline">{csrf}<input type="hidden" name="Status" value="{to}"><button type="submit">{label}</button></form>
<form method="post" action="{base}/access-keys/{ids}/delete" class="inline">{csrf}<button type="submit">Delete</button></form></td></tr>"#,
                        ide = esc(&id),
                        ids = seg(&id),
                        st = esc(&status),
                        cr = esc(&txt(&k["CreateDate"])),
                        lu = self.last_used(&id),
                    ));
                }
                body.push_str("</tbody></table>");
            }
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        body.push_str(&format!(
            r#"<form method="post" action="{base}/access-keys">{csrf}
<fieldset><legend>Use case</legend>
<label><input type="radio" name="UseCase" value="cli" checked> Command Line Interface (CLI)</label>
<label><input type="radio" name="UseCase" value="local"> Local code</label>
<label><input type="radio" name="UseCase" value="other"> Other</label></fieldset>
<button type="submit">Create access key</button></form>"#
        ));
        body.push_str(&self.mfa_section(name));
        body.push_str("<h2>Console access</h2>");
        match self.call("iam", "GetLoginProfile", json!({"UserName": name})) {
            Ok(v) => body.push_str(&format!(
                r#"<p>Enabled (since {since}){reset}.</p>
<details><summary>Manage console access</summary>
<form method="post" action="{base}/login-profile/update">{csrf}
<label for="reset-password">New console password</label> <input type="password" id="reset-password" name="Password" required autocomplete="new-password">
<label><input type="checkbox" name="PasswordResetRequired" value="true"> User must create a new password at next sign-in</label>
<button type="submit">Reset password</button></form>
<form method="post" action="{base}/login-profile/delete">{csrf}<button type="submit">Disable console access</button></form></details>"#,
                since = esc(&txt(&v["LoginProfile"]["CreateDate"])),
                reset = if v["LoginProfile"]["PasswordResetRequired"].as_bool() == Some(true) {
                    "; a new password is required at next sign-in"
                } else {
                    ""
                },
            )),
            Err(e) if e.code == "NoSuchEntity" => body.push_str(&format!(
                r#"<p>Not enabled.</p><form method="post" action="{base}/login-profile">{csrf}
<label>Console password <input type="password" name="Password" required autocomplete="new-password"></label>
<button type="submit">Enable console access</button></form>"#
            )),
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        let credentials = std::mem::take(&mut body);
        let tabs = crate::html::tabs(
            &format!("Sections of user {name}"),
            &[
                ("permissions", "Permissions", &permissions),
                ("groups", "Groups", &groups),
                ("tags", "Tags", &self.tags_section("User", name)),
                ("security-credentials", "Security credentials", &credentials),
                (
                    "access-advisor",
                    "Access Advisor",
                    &self.access_advisor(&txt(&u["Arn"])),
                ),
            ],
        );
        let delete = self.delete_section("user", name, &format!("{base}/delete"));
        self.page(name, &format!("{head}{tabs}{delete}"))
    }

    /// "Last used" of an access key: date, service and region, or N/A.
    pub(super) fn last_used(&self, key: &str) -> String {
        match self.call("iam", "GetAccessKeyLastUsed", json!({"AccessKeyId": key})) {
            Ok(v) => {
                let l = &v["AccessKeyLastUsed"];
                match l["LastUsedDate"].as_str() {
                    Some(d) => format!(
                        "{} ({} in {})",
                        esc(d),
                        esc(&txt(&l["ServiceName"])),
                        esc(&txt(&l["Region"]))
                    ),
                    None => "N/A".to_owned(),
                }
            }
            Err(e) => esc(&e.code),
        }
    }

    pub(super) fn attach(&self, name: &str, kind: &str) -> Response {
        let arn = self.field("PolicyArn");
        let (op, member, back) = match kind {
            "User" => ("AttachUserPolicy", "UserName", "users"),
            "Group" => ("AttachGroupPolicy", "GroupName", "groups"),
            _ => ("AttachRolePolicy", "RoleName", "roles"),
        };
        match self.call("iam", op, json!({member: name, "PolicyArn": arn})) {
            Ok(_) => self.done(
                &format!("/console/{back}/{}", seg(name)),
                "Policy attached.",
            ),
            Err(e) => self.failed("Attach policy", &e),
        }
    }

    pub(super) fn create_login_profile(&self, name: &str) -> Response {
        let pw = self.r.field("Password").unwrap_or("");
        match self.call(
            "iam",
            "CreateLoginProfile",
            json!({"UserName": name, "Password": pw}),
        ) {
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                "Console access enabled.",
            ),
            Err(e) => self.failed("Enable console access", &e),
        }
    }

    pub(super) fn update_login_profile(&self, name: &str) -> Response {
        let pw = self.r.field("Password").unwrap_or("");
        let reset = self.r.field("PasswordResetRequired").is_some();
        match self.call(
            "iam",
            "UpdateLoginProfile",
            json!({"UserName": name, "Password": pw, "PasswordResetRequired": reset}),
        ) {
            Ok(_) if reset => {
                // As the AWS console does: a user asked for a new password gets the permission
                // to set one (AWS managed policy IAMUserChangePassword), as the signed-in admin.
                match self.call(
                    "iam",
                    "AttachUserPolicy",
                    json!({"UserName": name, "PolicyArn": "arn:aws:iam::aws:policy/IAMUserChangePassword"}),
                ) {
                    Ok(_) => self.done(
                        &format!("/console/users/{}#security-credentials", seg(name)),
                        "Password reset; a new one is required at next sign-in.",
                    ),
                    Err(e) => self.failed("Reset password (IAMUserChangePassword not attached)", &e),
                }
            }
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                "Password reset.",
            ),
            Err(e) => self.failed("Reset password", &e),
        }
    }

    pub(super) fn delete_login_profile(&self, name: &str) -> Response {
        match self.call("iam", "DeleteLoginProfile", json!({"UserName": name})) {
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                "Console access disabled.",
            ),
            Err(e) => self.failed("Disable console access", &e),
        }
    }

    pub(super) fn create_access_key(&self, name: &str) -> Response {
        let out = match self.call("iam", "CreateAccessKey", json!({"UserName": name})) {
            Ok(v) => v,
            Err(e) => return self.failed("Create access key", &e),
        };
        let k = &out["AccessKey"];
        self.page(
            "Access key created",
            &format!(
                r#"<div class="notice" role="status">This is the only time the secret access key can be viewed. Save it now; you can create a new access key at any time.</div>
<table><tr><th>Access key ID</th><td><code>{id}</code></td></tr>
<tr><th>Secret access key</th><td id="new-secret"><code>{secret}</code></td></tr></table>
<p class="copy-slot" data-copy="new-secret" data-copy-label="Copy secret access key"></p>
<p><a download="{file}" href="data:text/csv;charset=utf-8,{csv}">Download .csv file</a></p>
<p><a href="/console/users/{user}#security-credentials">Done</a></p>"#,
                id = esc(&txt(&k["AccessKeyId"])),
                secret = esc(&txt(&k["SecretAccessKey"])),
                file = esc(&format!("{name}_accessKeys.csv")),
                csv = seg(&access_key_csv(
                    &txt(&k["AccessKeyId"]),
                    &txt(&k["SecretAccessKey"])
                )),
                user = seg(name)
            ),
        )
    }

    pub(super) fn key_status(&self, name: &str, key: &str) -> Response {
        let status = self.field("Status");
        match self.call(
            "iam",
            "UpdateAccessKey",
            json!({"UserName": name, "AccessKeyId": key, "Status": status}),
        ) {
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                if status == "Active" {
                    "Access key activated."
                } else {
                    "Access key deactivated."
                },
            ),
            Err(e) => self.failed("Update access key", &e),
        }
    }

    pub(super) fn delete_key(&self, name: &str, key: &str) -> Response {
        match self.call(
            "iam",
            "DeleteAccessKey",
            json!({"UserName": name, "AccessKeyId": key}),
        ) {
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                "Access key deleted.",
            ),
            Err(e) => self.failed("Delete access key", &e),
        }
    }

    /// The policies list, filtered by type as the AWS console does (`?type=aws|customer`;
    /// all by default): `ListPolicies` with `Scope` `AWS`, `Local` or `All`.
    pub(super) fn policies(&self) -> Response {
        const TYPES: [(&str, &str, &str); 3] = [
            ("all", "All", "All types"),
            ("aws", "AWS", "AWS managed"),
            ("customer", "Local", "Customer managed"),
        ];
        let chosen = self.r.query("type").unwrap_or("all");
        let (chosen, scope, _) = TYPES
            .iter()
            .copied()
            .find(|(t, _, _)| *t == chosen)
            .unwrap_or(TYPES[0]);
        let out = match self.call(
            "iam",
            "ListPolicies",
            json!({"Scope": scope, "MaxItems": 1000}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed("Policies", &e),
        };
        let listed: Vec<Value> = items(&out, "Policies")
            .iter()
            .map(|p| {
                let mut p = p.clone();
                let aws = txt(&p["Arn"]).starts_with("arn:aws:iam::aws:policy/");
                p["Type"] = json!(if aws {
                    "AWS managed"
                } else {
                    "Customer managed"
                });
                p
            })
            .collect();
        let rows = entity_rows(
            &listed,
            "policies",
            "Arn",
            "PolicyName",
            &["Type", "AttachmentCount"],
            Some("PolicyArn"),
        );
        let table = data_table(
            "Policies",
            "policies",
            &["Select", "Policy name", "ARN", "Type", "Attachments"],
            &rows,
            listed.len(),
            r#"<strong>No policies of this type</strong> <a href="/console/policies/new">Create a policy</a> to say what an identity may do."#,
        );
        let filter: Vec<String> = TYPES
            .iter()
            .map(|(t, _, label)| {
                if *t == chosen {
                    format!(r#"<a href="/console/policies?type={t}" aria-current="page"><strong>{label}</strong></a>"#)
                } else {
                    format!(r#"<a href="/console/policies?type={t}">{label}</a>"#)
                }
            })
            .collect();
        self.page(
            "Policies",
            &format!(
                r#"<p role="group" aria-label="Filter by type">Type: {filter}</p>
{table}{bulk}"#,
                filter = filter.join(" · "),
                bulk = if listed
                    .iter()
                    .any(|p| !txt(&p["Arn"]).starts_with("arn:aws:iam::aws:"))
                {
                    self.bulk_delete_section("policies", "/console/policies/delete-selected", "")
                } else {
                    String::new()
                },
            ),
        )
    }

    pub(super) fn policy_form(
        &self,
        name: &str,
        description: &str,
        document: &str,
        problems: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let body = format!(
            r#"{problems}<form method="post" action="/console/policies" id="policy-form">{csrf}
<label>Policy name <input type="text" name="PolicyName" required maxlength="128" value="{name}"></label>
<label>Description <input type="text" name="Description" value="{description}"></label>
<label>Policy document (JSON) <textarea name="PolicyDocument" rows="18" spellcheck="false" data-policy-type="identity" data-findings="findings">{document}</textarea></label>
<div id="findings" aria-live="polite"></div>
<button type="submit">Create policy</button></form>
<script src="/console/static/policy-editor.js" defer></script>"#,
            problems = problems.unwrap_or(""),
            csrf = self.csrf(),
            name = esc(name),
            description = esc(description),
            document = esc(document)
        );
        page_status(status, "Create policy", Some(self.s), &body)
    }

    pub(super) fn create_policy(&self) -> Response {
        let name = self.field("PolicyName");
        let description = self.field("Description");
        let document = self.r.field("PolicyDocument").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&document, kagi_policy::PolicyType::Identity);
        if kagi_policy::has_errors(&findings) {
            return self.policy_form(
                &name,
                &description,
                &document,
                Some(&findings_html(&findings)),
                StatusCode::BAD_REQUEST,
            );
        }
        let mut input = json!({"PolicyName": name, "PolicyDocument": document});
        if !description.is_empty() {
            input["Description"] = json!(description);
        }
        match self.call("iam", "CreatePolicy", input) {
            Ok(_) => self.done("/console/policies", format!("Policy {name} created.")),
            Err(e) => self.policy_form(
                &name,
                &description,
                &document,
                Some(&error_box(&e.code, &e.message)),
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            ),
        }
    }

    /// The policy engine's findings for a draft, as JSON (for the editor's live check).
    pub(super) fn validate_policy(&self) -> Response {
        let document = self.r.field("PolicyDocument").unwrap_or("");
        let kind = match self.r.field("PolicyType") {
            Some("trust") => kagi_policy::PolicyType::Trust,
            Some("resource") => kagi_policy::PolicyType::Resource,
            _ => kagi_policy::PolicyType::Identity,
        };
        let findings = kagi_policy::validate(document, kind);
        let list: Vec<Value> = findings
            .iter()
            .map(|f| {
                let start = f.locations.first().map(|l| l.span.start);
                json!({
                    "type": f.finding_type.as_str(),
                    "code": f.issue_code,
                    "details": f.details,
                    "line": start.map(|s| s.line),
                    "column": start.map(|s| s.column),
                })
            })
            .collect();
        let summary = crate::summary::summarize(document)
            .map(|rows| crate::summary::to_json(&rows))
            .unwrap_or(Value::Null);
        (
            [(header::CONTENT_TYPE, "application/json")],
            json!({"findings": list, "summary": summary}).to_string(),
        )
            .into_response()
    }

    pub(super) fn roles(&self) -> Response {
        let out = match self.call("iam", "ListRoles", json!({"MaxItems": 1000})) {
            Ok(v) => v,
            Err(e) => return self.failed("Roles", &e),
        };
        let list = items(&out, "Roles");
        let rows = entity_rows(list, "roles", "RoleName", "RoleName", &[], Some("RoleName"));
        let table = data_table(
            "Roles",
            "roles",
            &["Select", "Role name", "ARN"],
            &rows,
            list.len(),
            r#"<strong>No roles yet</strong> <a href="/console/roles/new">Create a role</a> that people, programs or identity providers can switch to."#,
        );
        let bulk = if list.is_empty() {
            String::new()
        } else {
            self.bulk_delete_section("roles", "/console/roles/delete-selected", "")
        };
        self.page("Roles", &format!("{table}{bulk}"))
    }

    /// The wizard; a provider's "Assign role" (`?provider=ARN`) starts it on "Web identity"
    /// with that provider chosen.
    pub(super) fn role_form(&self, problem: Option<&str>, status: StatusCode) -> Response {
        let c = match self.r.query("provider") {
            Some(arn) => super::iam_more::TrustChoice {
                entity: "web-identity".into(),
                provider: arn.to_owned(),
                ..Default::default()
            },
            None => Default::default(),
        };
        self.role_wizard(&c, "", "", problem, status)
    }

    pub(super) fn create_role(&self) -> Response {
        self.create_role_from_wizard()
    }

    pub(super) fn role(&self, name: &str) -> Response {
        let role = match self.call("iam", "GetRole", json!({"RoleName": name})) {
            Ok(v) => v,
            Err(e) => return self.failed(name, &e),
        };
        let r = &role["Role"];
        let trust = document_text(&r["AssumeRolePolicyDocument"]);
        let last = match r["RoleLastUsed"]["LastUsedDate"].as_str() {
            Some(d) => format!("{} ({})", esc(d), esc(&txt(&r["RoleLastUsed"]["Region"]))),
            None => "None".to_owned(),
        };
        let head = format!(
            "<p>ARN: <code>{}</code><br>Created: {}<br>Maximum session duration: {} seconds<br>Last activity: {last}</p>",
            esc(&txt(&r["Arn"])),
            esc(&txt(&r["CreateDate"])),
            esc(&txt(&r["MaxSessionDuration"])),
        );
        let trust_tab = format!(
            "<h2>Trust relationships</h2><pre>{}</pre>{}{}",
            esc(&pretty_document(&trust)),
            crate::summary::table(&trust, "Who can assume this role"),
            self.trust_editor(name, &trust, false)
        );
        let mut body = String::from("<h2>Permissions policies</h2>");
        match self.call("iam", "ListAttachedRolePolicies", json!({"RoleName": name})) {
            Ok(v) => body.push_str(&policy_table_with_detach(
                items(&v, "AttachedPolicies"),
                &format!("/console/roles/{}/detach-policy", seg(name)),
                &self.csrf(),
            )),
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        body.push_str(&format!(
            r#"<form method="post" action="/console/roles/{n}/attach-policy">{csrf}
<label>Policy ARN <input type="text" name="PolicyArn" required list="policy-arns"></label>{arns}
<button type="submit">Attach policy</button></form>"#,
            n = seg(name),
            csrf = self.csrf(),
            arns = self.policy_datalist()
        ));
        body.push_str(&self.inline_section("Role", name));
        body.push_str(&self.generation_section(name, &txt(&r["Arn"])));
        let tabs = crate::html::tabs(
            &format!("Sections of role {name}"),
            &[
                ("permissions", "Permissions", &body),
                ("trust-relationships", "Trust relationships", &trust_tab),
                ("tags", "Tags", &self.tags_section("Role", name)),
                (
                    "access-advisor",
                    "Access Advisor",
                    &self.access_advisor(&txt(&r["Arn"])),
                ),
                (
                    "sessions",
                    "Sessions",
                    &self.role_sessions(name, &txt(&r["Arn"])),
                ),
            ],
        );
        let delete = self.delete_section(
            "role",
            name,
            &format!("/console/roles/{}/delete", seg(name)),
        );
        self.page(name, &format!("{head}{tabs}{delete}"))
    }
}
