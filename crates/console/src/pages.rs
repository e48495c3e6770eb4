//! The pages and form actions. Each page calls the [`Backend`](crate::Backend) as the signed-in
//! principal and renders what it answered; an AWS error is rendered with its own status (403 for
//! AccessDenied) and message instead of the data.

use crate::html::{csrf_field, data_table, error_box, esc, layout, seg};
use crate::session::{ConsoleSession, ct_eq};
use crate::{CallError, Console, Req, SESSION_COOKIE, cookie, html_response, now, redirect};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

mod delete;
mod ecr;
mod groups;
mod iam_more;
mod inline;
mod mfa;
mod oidc;
mod signin;
mod switch;
mod tags;

use signin::{mfa_form, signin, signin_form, signin_mfa};

/// The policy editor's script (handwritten, served from `'self'`).
pub const POLICY_EDITOR_JS: &str = include_str!("policy-editor.js");

pub fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_owned(),
    )
        .into_response()
}

pub fn dispatch(c: &Console, r: &Req) -> Response {
    crate::html::at_path(&r.segs, || route(c, r))
}

fn route(c: &Console, r: &Req) -> Response {
    let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
    let get = r.method == Method::GET || r.method == Method::HEAD;
    let post = r.method == Method::POST;
    match (segs.as_slice(), get, post) {
        (["static", "policy-editor.js"], true, _) => {
            return (
                [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                POLICY_EDITOR_JS,
            )
                .into_response();
        }
        (["static", "console.js"], true, _) => {
            return (
                [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                crate::html::CONSOLE_JS,
            )
                .into_response();
        }
        (["static", "console.css"], true, _) => {
            return (
                [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                crate::html::CSS,
            )
                .into_response();
        }
        (["signin"], true, _) => return signin_form(r, None, StatusCode::OK),
        (["signin"], _, true) => return signin(c, r),
        (["signin", "mfa"], true, _) => return mfa_form(c, r, None, StatusCode::OK),
        (["signin", "mfa"], _, true) => return signin_mfa(c, r),
        _ => {}
    }
    let t = now();
    let sid = r.cookie(SESSION_COOKIE).unwrap_or("");
    let Some(mut s) = c.sessions.get(sid, t) else {
        return if get {
            redirect("/console/signin", &[])
        } else {
            page_status(
                StatusCode::FORBIDDEN,
                "Signed out",
                None,
                "<p>Your console session has ended. <a href=\"/console/signin\">Sign in</a> again.</p>",
            )
        };
    };
    if post && !r.field("csrf").is_some_and(|f| ct_eq(f, &s.csrf)) {
        return page_status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some(&s),
            &error_box(
                "InvalidCsrfToken",
                "The form's CSRF token is missing or does not match this session. Nothing was done.",
            ),
        );
    }
    // "User must create a new password at next sign-in": only the password page and sign-out
    // open until it is done (as in the AWS console).
    if s.must_change_password && !matches!(segs.as_slice(), ["password"] | ["signout"]) {
        return redirect("/console/password", &[]);
    }
    // The last action's message is shown once, on the next page.
    if get && s.flash.is_some() {
        c.sessions.update(sid, |x| x.flash = None);
    } else {
        s.flash = None;
    }
    let p = P { c, r, s: &s, sid };
    match (segs.as_slice(), get, post) {
        ([], true, _) => redirect("/console/users", &[]),
        (["signout"], _, true) => {
            c.sessions.remove(sid);
            redirect("/console/signin", &[cookie(SESSION_COOKIE, "", 0)])
        }
        (["switch-role"], true, _) => p.switch_role_form(),
        (["switch-role"], _, true) => p.switch_role(),
        (["switch-back"], _, true) => {
            c.sessions.update(sid, |s| {
                if let Some(w) = s.switched.take() {
                    s.access_key_id = w.base_access_key_id;
                    s.arn = w.base_arn;
                    s.expires = w.base_expires;
                }
            });
            redirect("/console/users", &[])
        }
        (["users"], true, _) => p.users(),
        (["users"], _, true) => p.create_user(),
        (["users", u], true, _) => p.user(u),
        (["users", u, "attach-policy"], _, true) => p.attach(u, "User"),
        (["users", u, "login-profile"], _, true) => p.create_login_profile(u),
        (["users", u, "login-profile", "update"], _, true) => p.update_login_profile(u),
        (["users", u, "login-profile", "delete"], _, true) => p.delete_login_profile(u),
        (["users", u, "access-keys"], _, true) => p.create_access_key(u),
        (["users", u, "access-keys", k, "status"], _, true) => p.key_status(u, k),
        (["users", u, "access-keys", k, "delete"], _, true) => p.delete_key(u, k),
        (["policies"], true, _) => p.policies(),
        (["policies", "new"], true, _) => p.policy_form("", "", "", None, StatusCode::OK),
        (["policies"], _, true) => p.create_policy(),
        (["policies", "validate"], _, true) => p.validate_policy(),
        (["roles"], true, _) => p.roles(),
        (["roles", "new"], true, _) => p.role_form(None, StatusCode::OK),
        (["identity-providers"], true, _) => p.identity_providers(),
        (["identity-providers", "new"], true, _) => {
            p.provider_form("", "", "", None, StatusCode::OK)
        }
        (["identity-providers"], _, true) => p.create_provider(),
        (["identity-providers", arn], true, _) if arn.starts_with("arn:") => {
            p.identity_provider(arn)
        }
        (["identity-providers", arn, "audiences"], _, true) => p.provider_audience(arn, true),
        (["identity-providers", arn, "audiences", "remove"], _, true) => {
            p.provider_audience(arn, false)
        }
        (["identity-providers", arn, "delete"], _, true) => p.delete_provider(arn),
        (["roles", "new"], _, true) => p.role_wizard_back(),
        (["roles"], _, true) => p.create_role(),
        (["roles", n], true, _) => p.role(n),
        (["roles", n, "attach-policy"], _, true) => p.attach(n, "Role"),
        (["roles", "review"], _, true) => p.review_role(),
        (["roles", "trust-preview"], _, true) => p.trust_preview(),
        (["roles", n, "trust"], _, true) => p.update_trust(n),
        (["roles", n, "detach-policy"], _, true) => p.detach(n, "Role"),
        (["users", u, "detach-policy"], _, true) => p.detach(u, "User"),
        (["users", u, "groups"], _, true) => p.add_user_to_group_from_user(u),
        (["users", u, "inline"], _, true) => p.put_inline("User", u),
        (["users", u, "inline", "delete"], _, true) => p.delete_inline("User", u),
        (["roles", n, "inline"], _, true) => p.put_inline("Role", n),
        (["roles", n, "inline", "delete"], _, true) => p.delete_inline("Role", n),
        (["groups", g, "inline"], _, true) => p.put_inline("Group", g),
        (["groups", g, "inline", "delete"], _, true) => p.delete_inline("Group", g),
        (["users", u, "tags"], _, true) => p.add_tag("User", u),
        (["users", u, "tags", "remove"], _, true) => p.remove_tag("User", u),
        (["roles", n, "tags"], _, true) => p.add_tag("Role", n),
        (["roles", n, "tags", "remove"], _, true) => p.remove_tag("Role", n),
        (["users", u, "mfa"], _, true) => p.assign_mfa(u),
        (["users", u, "mfa", "enable"], _, true) => p.enable_mfa(u),
        (["users", u, "mfa", "remove"], _, true) => p.remove_mfa(u),
        (["ecr"], true, _) => redirect("/console/ecr/repositories", &[]),
        (["ecr", "repositories"], true, _) => p.ecr_repositories(),
        (["ecr", "open"], true, _) => p.ecr_open(),
        (["ecr", "repositories"], _, true) => p.ecr_create_repository(),
        (["ecr", "delete-image"], _, true) => p.ecr_delete_image(),
        (["ecr", "repository-policy"], _, true) => p.ecr_set_policy(),
        (["ecr", "delete-repository"], _, true) => {
            let name = p.r.field("repositoryName").unwrap_or("").to_owned();
            p.ecr_delete_repository(&name)
        }
        (["users", u, "delete"], _, true) => p.delete_user(u),
        (["roles", n, "delete"], _, true) => p.delete_role(n),
        (["groups", g, "delete"], _, true) => p.delete_group(g),
        (["policies", arn, "delete"], _, true) => p.delete_policy(arn),
        (["ecr", "repositories", rest @ ..], true, _) if !rest.is_empty() => {
            p.ecr_repository(&rest.join("/"))
        }
        (["groups"], true, _) => p.groups(),
        (["groups"], _, true) => p.create_group(),
        (["groups", g], true, _) => p.group(g),
        (["groups", g, "members"], _, true) => p.add_member(g),
        (["groups", g, "members", u, "remove"], _, true) => p.remove_member(g, u),
        (["groups", g, "attach-policy"], _, true) => p.attach(g, "Group"),
        (["groups", g, "detach-policy"], _, true) => p.detach(g, "Group"),
        (["policies", arn], true, _) if arn.starts_with("arn:") => p.policy(arn),
        (["policies", arn, "versions"], _, true) => p.create_policy_version(arn),
        (["policies", arn, "versions", v, "default"], _, true) => p.set_default_version(arn, v),
        (["policies", arn, "versions", v, "delete"], _, true) => p.delete_version(arn, v),
        (["simulator"], true, _) => p.simulator(),
        (["simulator"], _, true) => p.simulate(),
        (["password"], true, _) => p.password_form(None, StatusCode::OK),
        (["password"], _, true) => p.change_password(),
        (["password-policy"], true, _) => p.password_policy(None, StatusCode::OK),
        (["password-policy"], _, true) => p.update_password_policy(),
        _ => page_status(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(&s),
            "<p>No such console page.</p>",
        ),
    }
}

/// The HTTP status a console page answers for a failed call.
fn error_status(e: &CallError) -> StatusCode {
    if e.code.starts_with("AccessDenied") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

fn page_status(
    status: StatusCode,
    title: &str,
    s: Option<&ConsoleSession>,
    body: &str,
) -> Response {
    html_response(status, layout(title, s, body))
}

// ---------------------------------------------------------------- signed-in pages

struct P<'a> {
    c: &'a Console,
    r: &'a Req,
    s: &'a ConsoleSession,
    /// The session's id (to change the session in place).
    sid: &'a str,
}

fn txt(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn items<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The rows of a list page: the entity's name linked to `/console/{base}/{its id_key}`, its
/// ARN, then the plain columns `extra`.
fn entity_rows(list: &[Value], base: &str, id_key: &str, name_key: &str, extra: &[&str]) -> String {
    let mut rows = String::new();
    for e in list {
        rows.push_str(&format!(
            "<tr><td><a href=\"/console/{base}/{}\">{}</a></td><td><code>{}</code></td>",
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
fn document_text(v: &Value) -> String {
    txt(v)
}

/// A policy document for reading: pretty-printed JSON (two-space indent, keys in their order),
/// or the text unchanged when it is not JSON.
fn pretty_document(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

impl P<'_> {
    fn call(&self, service: &str, op: &str, input: Value) -> Result<Value, CallError> {
        self.c
            .backend
            .invoke(&self.s.access_key_id, self.r.source_ip, service, op, input)
    }

    /// After an action: `msg` is shown once on the page `to` (a 303 there).
    fn done(&self, to: &str, msg: impl Into<String>) -> Response {
        let msg = msg.into();
        self.c.sessions.update(self.sid, |x| x.flash = Some(msg));
        redirect(to, &[])
    }

    fn field(&self, name: &str) -> String {
        self.r.field(name).unwrap_or("").trim().to_owned()
    }

    fn page(&self, title: &str, body: &str) -> Response {
        page_status(StatusCode::OK, title, Some(self.s), body)
    }

    fn page_with_status(&self, status: StatusCode, title: &str, body: &str) -> Response {
        page_status(status, title, Some(self.s), body)
    }

    /// The page for a failed call: AWS's code and message, with AWS's status (403 for any
    /// access denial, also ECR's `AccessDeniedException`, which its protocol sends with 400).
    fn failed(&self, title: &str, e: &CallError) -> Response {
        page_status(
            error_status(e),
            title,
            Some(self.s),
            &error_box(&e.code, &e.message),
        )
    }

    /// The account's customer managed policies the principal may list: `(name, ARN)`.
    fn local_policies(&self) -> Vec<(String, String)> {
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
    fn policy_datalist(&self) -> String {
        let options: String = self
            .local_policies()
            .iter()
            .map(|(n, a)| format!(r#"<option value="{}">{}</option>"#, esc(a), esc(n)))
            .collect();
        format!(r#"<datalist id="policy-arns">{options}</datalist>"#)
    }

    fn csrf(&self) -> String {
        csrf_field(self.s)
    }

    fn users(&self) -> Response {
        let out = match self.call("iam", "ListUsers", json!({"MaxItems": 1000})) {
            Ok(v) => v,
            Err(e) => return self.failed("Users", &e),
        };
        let list = items(&out, "Users");
        let rows = entity_rows(list, "users", "UserName", "UserName", &["CreateDate"]);
        let table = data_table(
            "Users",
            "users",
            &["User name", "ARN", "Created"],
            &rows,
            list.len(),
            r##"<strong>No users yet</strong> <a href="#create-user">Create a user</a> to give a person or a program its own credentials."##,
        );
        self.page(
            "Users",
            &format!(
                r#"{table}
<h2 id="create-user">Create user</h2><form method="post" action="/console/users">{csrf}
<label>User name <input type="text" name="UserName" required maxlength="64"></label>
<label>Console password (optional: leave empty for no console access) <input type="password" name="Password" autocomplete="new-password"></label>
<fieldset><legend>Permissions (optional)</legend>
<label for="new-user-policy">Attach a policy directly (policy ARN)</label> <input type="text" id="new-user-policy" name="PolicyArn" list="policy-arns" placeholder="arn:aws:iam::{acct}:policy/Name">{arns}
<label for="new-user-group">Add to a group (group name)</label> <input type="text" id="new-user-group" name="GroupName"></fieldset>
<button type="submit">Create user</button></form>"#,
                acct = esc(&self.c.backend.account_id()),
                csrf = self.csrf(),
                arns = self.policy_datalist()
            ),
        )
    }

    fn create_user(&self) -> Response {
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

    fn user(&self, name: &str) -> Response {
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
            acct = esc(&self.c.backend.account_id()),
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
            ],
        );
        let delete = self.delete_section("user", name, &format!("{base}/delete"));
        self.page(name, &format!("{head}{tabs}{delete}"))
    }

    /// "Last used" of an access key: date, service and region, or N/A.
    fn last_used(&self, key: &str) -> String {
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

    fn attach(&self, name: &str, kind: &str) -> Response {
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

    fn create_login_profile(&self, name: &str) -> Response {
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

    fn update_login_profile(&self, name: &str) -> Response {
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

    fn delete_login_profile(&self, name: &str) -> Response {
        match self.call("iam", "DeleteLoginProfile", json!({"UserName": name})) {
            Ok(_) => self.done(
                &format!("/console/users/{}#security-credentials", seg(name)),
                "Console access disabled.",
            ),
            Err(e) => self.failed("Disable console access", &e),
        }
    }

    fn create_access_key(&self, name: &str) -> Response {
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

    fn key_status(&self, name: &str, key: &str) -> Response {
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

    fn delete_key(&self, name: &str, key: &str) -> Response {
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
    fn policies(&self) -> Response {
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
        );
        let table = data_table(
            "Policies",
            "policies",
            &["Policy name", "ARN", "Type", "Attachments"],
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
{table}"#,
                filter = filter.join(" · ")
            ),
        )
    }

    fn policy_form(
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

    fn create_policy(&self) -> Response {
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
    fn validate_policy(&self) -> Response {
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

    fn roles(&self) -> Response {
        let out = match self.call("iam", "ListRoles", json!({"MaxItems": 1000})) {
            Ok(v) => v,
            Err(e) => return self.failed("Roles", &e),
        };
        let list = items(&out, "Roles");
        let rows = entity_rows(list, "roles", "RoleName", "RoleName", &[]);
        self.page(
            "Roles",
            &data_table(
                "Roles",
                "roles",
                &["Role name", "ARN"],
                &rows,
                list.len(),
                r#"<strong>No roles yet</strong> <a href="/console/roles/new">Create a role</a> that people, programs or identity providers can switch to."#,
            ),
        )
    }

    /// The wizard; a provider's "Assign role" (`?provider=ARN`) starts it on "Web identity"
    /// with that provider chosen.
    fn role_form(&self, problem: Option<&str>, status: StatusCode) -> Response {
        let c = match self.r.query("provider") {
            Some(arn) => iam_more::TrustChoice {
                entity: "web-identity".into(),
                provider: arn.to_owned(),
                ..Default::default()
            },
            None => Default::default(),
        };
        self.role_wizard(&c, "", "", problem, status)
    }

    fn create_role(&self) -> Response {
        self.create_role_from_wizard()
    }

    fn role(&self, name: &str) -> Response {
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
        let tabs = crate::html::tabs(
            &format!("Sections of role {name}"),
            &[
                ("permissions", "Permissions", &body),
                ("trust-relationships", "Trust relationships", &trust_tab),
                ("tags", "Tags", &self.tags_section("Role", name)),
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

/// The `.csv` the IAM console offers for a new access key (kept in the page as a `data:` link,
/// so the secret never travels in a URL to the server).
pub fn access_key_csv(id: &str, secret: &str) -> String {
    format!("Access key ID,Secret access key\n{id},{secret}\n")
}

/// Attached policies, each with a "Detach" button posting its ARN to `action`, and a checkbox
/// for "Detach selected" (one form for several: the checkboxes belong to it by `form=`, as
/// forms cannot nest), as the IAM console's "Remove" does.
fn policy_table_with_detach(list: &[Value], action: &str, csrf: &str) -> String {
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
