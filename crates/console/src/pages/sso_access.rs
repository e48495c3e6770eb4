//! IAM Identity Center's multi-account permissions: permission sets (create with a session
//! duration; the inline policy in the policy editor, AWS managed and customer managed policies,
//! the permissions boundary, settings, delete) and AWS accounts (the organization's accounts, or
//! this one for a standalone instance; each account's assignments of users and groups with
//! permission sets, their provisioning status, reprovisioning).
//!
//! Every action is one `sso-admin` call through [`crate::Backend::invoke`] as the signed-in
//! principal (`pages/sso.rs` holds the instance and the identity store's lists).

use super::kit::{P, findings_html, pretty_document, txt};
use super::sso::Ic;
use crate::CallError;
use crate::html::{data_table, error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// The session durations the console offers (ISO-8601, as the API takes them).
const DURATIONS: [(&str, &str); 5] = [
    ("PT1H", "1 hour"),
    ("PT2H", "2 hours"),
    ("PT4H", "4 hours"),
    ("PT8H", "8 hours"),
    ("PT12H", "12 hours"),
];

fn duration_options(chosen: &str) -> String {
    DURATIONS
        .iter()
        .map(|(v, l)| {
            let sel = if *v == chosen { " selected" } else { "" };
            format!(r#"<option value="{v}"{sel}>{l}</option>"#)
        })
        .collect()
}

fn duration_label(v: &str) -> String {
    DURATIONS
        .iter()
        .find(|(d, _)| *d == v)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| v.to_owned())
}

/// A permission set's ARN from its id.
fn ps_arn(ic: &Ic, id: &str) -> String {
    format!("arn:aws:sso:::permissionSet/{}/{id}", ic.id())
}

fn ps_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

impl P<'_> {
    /// Every permission set, described.
    fn permission_sets(&self, ic: &Ic) -> Result<Vec<Value>, CallError> {
        let arns = self.call_all(
            "sso-admin",
            "ListPermissionSets",
            json!({"InstanceArn": ic.arn}),
            "PermissionSets",
        )?;
        arns.iter()
            .map(|a| {
                self.ssoa(
                    "DescribePermissionSet",
                    json!({"InstanceArn": ic.arn, "PermissionSetArn": txt(a)}),
                )
                .map(|v| v["PermissionSet"].clone())
            })
            .collect()
    }

    /// `/console/sso/permission-sets`.
    pub(super) fn sso_permission_sets(&self) -> Response {
        let title = "Permission sets";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let list = match self.permission_sets(&ic) {
            Ok(l) => l,
            Err(e) => return self.failed(title, &e),
        };
        let rows: String = list
            .iter()
            .map(|p| {
                let arn = txt(&p["PermissionSetArn"]);
                format!(
                    r#"<tr><td><a href="/console/sso/permission-sets/{id}">{n}</a></td><td><code>{a}</code></td><td>{d}</td><td>{s}</td></tr>"#,
                    id = seg(ps_id(&arn)),
                    n = esc(&txt(&p["Name"])),
                    a = esc(&arn),
                    d = esc(&txt(&p["Description"])),
                    s = esc(&duration_label(&txt(&p["SessionDuration"]))),
                )
            })
            .collect();
        let table = data_table(
            "Permission sets",
            "permission sets",
            &["Name", "ARN", "Description", "Session duration"],
            &rows,
            list.len(),
            r##"<strong>No permission sets yet</strong> <a href="#create-permission-set">Create a permission set</a>: the permissions people get in the accounts you assign it to."##,
        );
        let body = format!(
            r#"{table}
<h2 id="create-permission-set">Create permission set</h2><form method="post" action="/console/sso/permission-sets">{csrf}
<label>Permission set name <input type="text" name="Name" required maxlength="32" pattern="[\w+=,.@-]+"></label>
<label>Description (optional) <input type="text" name="Description" maxlength="700"></label>
<label for="ps-duration">Session duration</label> <select id="ps-duration" name="SessionDuration">{durations}</select>
<label>Relay state (optional: the console page the portal opens) <input type="text" name="RelayState" maxlength="240"></label>
<button type="submit">Create permission set</button></form>"#,
            csrf = self.csrf(),
            durations = duration_options("PT1H"),
        );
        self.page(title, &body)
    }

    pub(super) fn sso_create_permission_set(&self) -> Response {
        let back = "/console/sso/permission-sets";
        let ic = match self.ic("Create permission set") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let name = self.field("Name");
        let mut input = json!({"InstanceArn": ic.arn, "Name": name,
            "SessionDuration": self.field("SessionDuration")});
        for k in ["Description", "RelayState"] {
            let v = self.field(k);
            if !v.is_empty() {
                input[k] = json!(v);
            }
        }
        match self.ssoa("CreatePermissionSet", input) {
            Ok(v) => self.done(
                &format!(
                    "/console/sso/permission-sets/{}",
                    seg(ps_id(&txt(&v["PermissionSet"]["PermissionSetArn"])))
                ),
                format!("Permission set {name} created."),
            ),
            Err(e) => self.failed_back("Create permission set", &e, back),
        }
    }

    /// `/console/sso/permission-sets/ID`; `draft`: a refused inline policy (with its problems)
    /// to show in the open editor.
    pub(super) fn sso_permission_set(
        &self,
        id: &str,
        draft: Option<(&str, &str)>,
        status: StatusCode,
    ) -> Response {
        let ic = match self.ic(id) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let arn = ps_arn(&ic, id);
        let key = json!({"InstanceArn": ic.arn, "PermissionSetArn": arn});
        let ps = match self.ssoa("DescribePermissionSet", key.clone()) {
            Ok(v) => v["PermissionSet"].clone(),
            Err(e) => return self.failed(id, &e),
        };
        let name = txt(&ps["Name"]);
        let base = format!("/console/sso/permission-sets/{}", seg(id));
        let csrf = self.csrf();
        let section =
            |r: Result<String, CallError>| r.unwrap_or_else(|e| error_box(&e.code, &e.message));
        // The inline policy in the policy editor.
        let inline = section(
            self.ssoa("GetInlinePolicyForPermissionSet", key.clone())
                .map(|v| {
                    let current = txt(&v["InlinePolicy"]);
                    let (text, problems, open) = match draft {
                        Some((d, p)) => (d.to_owned(), p.to_owned(), " open"),
                        None => (pretty_document(&current), String::new(), ""),
                    };
                    let shown = if current.is_empty() {
                        "<p>No inline policy.</p>".to_owned()
                    } else {
                        format!(
                            "{}<pre>{}</pre>",
                            crate::summary::table(&current, "What the inline policy allows"),
                            esc(&pretty_document(&current))
                        )
                    };
                    let remove = if current.is_empty() {
                        String::new()
                    } else {
                        format!(
                            r#"<form method="post" action="{base}/inline/delete" class="inline">{csrf}<button type="submit">Remove inline policy</button></form>"#
                        )
                    };
                    format!(
                        r#"<h3>Inline policy</h3>{shown}{problems}<details{open}><summary>Edit inline policy</summary><form method="post" action="{base}/inline">{csrf}
<label for="ps-inline">Inline policy (JSON)</label>
<textarea id="ps-inline" name="InlinePolicy" rows="14" spellcheck="false" data-policy-type="identity" data-findings="ps-inline-findings">{doc}</textarea>
<div id="ps-inline-findings" aria-live="polite"></div>
<button type="submit">Save inline policy</button></form></details>{remove}"#,
                        doc = esc(&text),
                    )
                }),
        );
        let managed = section(
            self.call_all(
                "sso-admin",
                "ListManagedPoliciesInPermissionSet",
                key.clone(),
                "AttachedManagedPolicies",
            )
            .map(|list| {
                let rows: String = list
                    .iter()
                    .map(|p| {
                        format!(
                            r#"<tr><td>{n}</td><td><code>{a}</code></td><td><form method="post" action="{base}/managed/detach" class="inline">{csrf}<input type="hidden" name="ManagedPolicyArn" value="{a}"><button type="submit" aria-label="Detach {n}">Detach</button></form></td></tr>"#,
                            n = esc(&txt(&p["Name"])),
                            a = esc(&txt(&p["Arn"])),
                        )
                    })
                    .collect();
                format!(
                    r#"<h3>AWS managed policies</h3>{}<form method="post" action="{base}/managed">{csrf}<label for="ps-managed">Attach an AWS managed policy (ARN)</label> <input type="text" id="ps-managed" name="ManagedPolicyArn" required placeholder="arn:aws:iam::aws:policy/IAMReadOnlyAccess"> <button type="submit">Attach policy</button></form>"#,
                    data_table(
                        "AWS managed policies",
                        "managed policies",
                        &["Name", "ARN", "Actions"],
                        &rows,
                        list.len(),
                        "<strong>No AWS managed policies.</strong> Attach one below.",
                    )
                )
            }),
        );
        let customer = section(
            self.call_all(
                "sso-admin",
                "ListCustomerManagedPolicyReferencesInPermissionSet",
                key.clone(),
                "CustomerManagedPolicyReferences",
            )
            .map(|list| {
                let rows: String = list
                    .iter()
                    .map(|p| {
                        format!(
                            r#"<tr><td>{n}</td><td><code>{pa}</code></td><td><form method="post" action="{base}/customer/detach" class="inline">{csrf}<input type="hidden" name="Name" value="{n}"><input type="hidden" name="Path" value="{pa}"><button type="submit" aria-label="Detach {n}">Detach</button></form></td></tr>"#,
                            n = esc(&txt(&p["Name"])),
                            pa = esc(&txt(&p["Path"])),
                        )
                    })
                    .collect();
                format!(
                    r#"<h3>Customer managed policies</h3><p class="muted">Each account the permission set is assigned to must have a policy of this name and path.</p>{}<form method="post" action="{base}/customer">{csrf}<label>Policy name <input type="text" name="Name" required maxlength="128"></label> <label>Path (optional) <input type="text" name="Path" placeholder="/"></label> <button type="submit">Attach policy</button></form>"#,
                    data_table(
                        "Customer managed policies",
                        "customer managed policies",
                        &["Name", "Path", "Actions"],
                        &rows,
                        list.len(),
                        "<strong>No customer managed policies.</strong> Attach one below by name.",
                    )
                )
            }),
        );
        let boundary = match self.ssoa("GetPermissionsBoundaryForPermissionSet", key.clone()) {
            Ok(v) => {
                let b = &v["PermissionsBoundary"];
                let what = if b["ManagedPolicyArn"].is_string() {
                    format!("<code>{}</code>", esc(&txt(&b["ManagedPolicyArn"])))
                } else {
                    let r = &b["CustomerManagedPolicyReference"];
                    format!(
                        "customer managed policy <code>{}{}</code>",
                        esc(&txt(&r["Path"])),
                        esc(&txt(&r["Name"]))
                    )
                };
                format!(
                    r#"<p>Permissions boundary: {what}</p><form method="post" action="{base}/boundary/delete" class="inline">{csrf}<button type="submit">Remove permissions boundary</button></form>"#
                )
            }
            Err(e) if e.code == "ResourceNotFoundException" => {
                "<p>No permissions boundary.</p>".to_owned()
            }
            Err(e) => error_box(&e.code, &e.message),
        };
        let boundary = format!(
            r#"<h3>Permissions boundary</h3>{boundary}<details><summary>Set permissions boundary</summary><form method="post" action="{base}/boundary">{csrf}
<label>AWS managed policy ARN <input type="text" name="ManagedPolicyArn" placeholder="arn:aws:iam::aws:policy/AdministratorAccess"></label>
<p>or a customer managed policy:</p><label>Policy name <input type="text" name="Name" maxlength="128"></label> <label>Path (optional) <input type="text" name="Path" placeholder="/"></label>
<button type="submit">Set permissions boundary</button></form></details>"#
        );
        let accounts = section(
            self.call_all(
                "sso-admin",
                "ListAccountsForProvisionedPermissionSet",
                key.clone(),
                "AccountIds",
            )
            .map(|list| {
                let rows: String = list
                    .iter()
                    .map(|a| {
                        format!(
                            r#"<tr><td><a href="/console/sso/accounts/{a}">{a}</a></td></tr>"#,
                            a = esc(&txt(a))
                        )
                    })
                    .collect();
                data_table(
                    "Provisioned to AWS accounts",
                    "accounts",
                    &["AWS account"],
                    &rows,
                    list.len(),
                    r#"<strong>Not provisioned to any account.</strong> <a href="/console/sso/accounts">Assign it</a> to users or groups in an account."#,
                )
            }),
        );
        let settings = format!(
            r#"<form method="post" action="{base}/settings">{csrf}
<label>Description <input type="text" name="Description" maxlength="700" value="{d}"></label>
<label for="ps-settings-duration">Session duration</label> <select id="ps-settings-duration" name="SessionDuration">{durations}</select>
<button type="submit">Save</button></form>"#,
            d = esc(&txt(&ps["Description"])),
            durations = duration_options(&txt(&ps["SessionDuration"])),
        );
        let facts = format!(
            r#"<dl class="facts"><dt>Name</dt><dd>{n}</dd><dt>ARN</dt><dd><code>{a}</code></dd><dt>Description</dt><dd>{d}</dd><dt>Session duration</dt><dd>{s}</dd><dt>Created</dt><dd>{c}</dd></dl>"#,
            n = esc(&name),
            a = esc(&arn),
            d = esc(&txt(&ps["Description"])),
            s = esc(&duration_label(&txt(&ps["SessionDuration"]))),
            c = esc(&txt(&ps["CreatedDate"])),
        );
        let permissions = format!("{inline}{managed}{customer}{boundary}");
        let body = format!(
            "{facts}{tabs}{delete}",
            tabs = crate::html::tabs(
                &format!("Sections of permission set {name}"),
                &[
                    ("permissions", "Permissions", &permissions),
                    ("accounts", "AWS accounts", &accounts),
                    ("settings", "Settings", &settings),
                ],
            ),
            delete = self.delete_section_noting(
                "permission set",
                &name,
                &format!("{base}/delete"),
                "Its account assignments are removed first, and the roles provisioned for them.",
            ),
        );
        self.page_with_status(status, &name, &body)
    }

    /// A change to a permission set's policies or settings; back to its page, tab `tab`.
    fn ps_change(&self, id: &str, op: &str, extra: Value, done: &str, tab: &str) -> Response {
        let back = format!("/console/sso/permission-sets/{}", seg(id));
        let ic = match self.ic(id) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let mut input = json!({"InstanceArn": ic.arn, "PermissionSetArn": ps_arn(&ic, id)});
        if let (Some(i), Value::Object(m)) = (input.as_object_mut(), extra) {
            i.extend(m);
        }
        match self.ssoa(op, input) {
            Ok(_) => self.done(&format!("{back}{tab}"), done),
            Err(e) => self.failed_back(op, &e, &back),
        }
    }

    /// `…/ID/inline`: the policy engine judges the draft first, as for IAM's policies; a
    /// refused one comes back in the open editor.
    pub(super) fn sso_put_inline(&self, id: &str) -> Response {
        let doc = self.r.field("InlinePolicy").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&doc, kagi_policy::PolicyType::Identity);
        if kagi_policy::has_errors(&findings) {
            return self.sso_permission_set(
                id,
                Some((&doc, &findings_html(&findings))),
                StatusCode::BAD_REQUEST,
            );
        }
        self.ps_change(
            id,
            "PutInlinePolicyToPermissionSet",
            json!({"InlinePolicy": doc}),
            "Inline policy saved.",
            "#permissions",
        )
    }

    pub(super) fn sso_ps_action(&self, id: &str, what: &[&str]) -> Response {
        let reference = || {
            let path = self.field("Path");
            let mut r = json!({"Name": self.field("Name")});
            if !path.is_empty() {
                r["Path"] = json!(path);
            }
            r
        };
        let p = "#permissions";
        match what {
            ["inline", "delete"] => self.ps_change(
                id,
                "DeleteInlinePolicyFromPermissionSet",
                json!({}),
                "Inline policy removed.",
                p,
            ),
            ["managed"] => self.ps_change(
                id,
                "AttachManagedPolicyToPermissionSet",
                json!({"ManagedPolicyArn": self.field("ManagedPolicyArn")}),
                "Policy attached.",
                p,
            ),
            ["managed", "detach"] => self.ps_change(
                id,
                "DetachManagedPolicyFromPermissionSet",
                json!({"ManagedPolicyArn": self.field("ManagedPolicyArn")}),
                "Policy detached.",
                p,
            ),
            ["customer"] => self.ps_change(
                id,
                "AttachCustomerManagedPolicyReferenceToPermissionSet",
                json!({"CustomerManagedPolicyReference": reference()}),
                "Policy attached.",
                p,
            ),
            ["customer", "detach"] => self.ps_change(
                id,
                "DetachCustomerManagedPolicyReferenceFromPermissionSet",
                json!({"CustomerManagedPolicyReference": reference()}),
                "Policy detached.",
                p,
            ),
            ["boundary"] => {
                let arn = self.field("ManagedPolicyArn");
                let b = if arn.is_empty() {
                    json!({"CustomerManagedPolicyReference": reference()})
                } else {
                    json!({"ManagedPolicyArn": arn})
                };
                self.ps_change(
                    id,
                    "PutPermissionsBoundaryToPermissionSet",
                    json!({"PermissionsBoundary": b}),
                    "Permissions boundary set.",
                    p,
                )
            }
            ["boundary", "delete"] => self.ps_change(
                id,
                "DeletePermissionsBoundaryFromPermissionSet",
                json!({}),
                "Permissions boundary removed.",
                p,
            ),
            ["settings"] => {
                let mut extra = json!({"SessionDuration": self.field("SessionDuration")});
                extra["Description"] = json!(self.field("Description"));
                self.ps_change(
                    id,
                    "UpdatePermissionSet",
                    extra,
                    "Permission set updated. Reprovision the accounts it is assigned to.",
                    "#settings",
                )
            }
            _ => self.page_with_status(
                StatusCode::NOT_FOUND,
                "Not found",
                "<p>No such console page.</p>",
            ),
        }
    }

    pub(super) fn sso_delete_permission_set(&self, id: &str) -> Response {
        let back = "/console/sso/permission-sets";
        let ic = match self.ic("Delete permission set") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let key = json!({"InstanceArn": ic.arn, "PermissionSetArn": ps_arn(&ic, id)});
        let name = match self.ssoa("DescribePermissionSet", key.clone()) {
            Ok(v) => txt(&v["PermissionSet"]["Name"]),
            Err(e) => return self.failed_back("Delete permission set", &e, back),
        };
        if let Some(r) = self.confirmed(&name) {
            return r;
        }
        // As the IAM deletions do: the dependents first (AWS refuses to delete a permission set
        // still provisioned), each removal a call by the signed-in principal.
        let steps = || -> Result<(), CallError> {
            let accounts = self.call_all(
                "sso-admin",
                "ListAccountsForProvisionedPermissionSet",
                key.clone(),
                "AccountIds",
            )?;
            for account in accounts.iter().map(txt) {
                let mut input = key.clone();
                input["AccountId"] = json!(account);
                for a in self.call_all(
                    "sso-admin",
                    "ListAccountAssignments",
                    input,
                    "AccountAssignments",
                )? {
                    self.ssoa(
                        "DeleteAccountAssignment",
                        json!({"InstanceArn": ic.arn, "TargetId": account,
                            "TargetType": "AWS_ACCOUNT", "PermissionSetArn": a["PermissionSetArn"],
                            "PrincipalType": a["PrincipalType"], "PrincipalId": a["PrincipalId"]}),
                    )?;
                }
            }
            self.ssoa("DeletePermissionSet", key.clone()).map(|_| ())
        };
        match steps() {
            Ok(_) => self.done(back, format!("Permission set {name} deleted.")),
            Err(e) => self.failed_back("Delete permission set", &e, back),
        }
    }

    /// The accounts an instance assigns to: the organization's (for its management account),
    /// else this account.
    fn sso_accounts_of(&self) -> Result<Vec<(String, String, String)>, CallError> {
        match self.call_all("organizations", "ListAccounts", json!({}), "Accounts") {
            Ok(list) => Ok(list
                .iter()
                .map(|a| (txt(&a["Id"]), txt(&a["Name"]), txt(&a["Email"])))
                .collect()),
            Err(e) if e.code == "AWSOrganizationsNotInUseException" => {
                Ok(vec![(self.account(), String::new(), String::new())])
            }
            Err(e) => Err(e),
        }
    }

    /// `/console/sso/accounts`.
    pub(super) fn sso_accounts(&self) -> Response {
        let title = "AWS accounts";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let accounts = match self.sso_accounts_of() {
            Ok(a) => a,
            Err(e) => return self.failed(title, &e),
        };
        let mut rows = String::new();
        for (id, name, email) in &accounts {
            let sets = match self.call_all(
                "sso-admin",
                "ListPermissionSetsProvisionedToAccount",
                json!({"InstanceArn": ic.arn, "AccountId": id}),
                "PermissionSets",
            ) {
                Ok(l) => l.len().to_string(),
                Err(e) => e.code,
            };
            rows.push_str(&format!(
                r#"<tr><td><a href="/console/sso/accounts/{i}">{n}</a></td><td><code>{i}</code></td><td>{e}</td><td>{sets}</td></tr>"#,
                i = esc(id),
                n = esc(if name.is_empty() { id } else { name }),
                e = esc(email),
            ));
        }
        let table = data_table(
            "AWS accounts",
            "accounts",
            &[
                "Account name",
                "Account ID",
                "E-mail",
                "Provisioned permission sets",
            ],
            &rows,
            accounts.len(),
            "<strong>No accounts.</strong>",
        );
        self.page(
            title,
            &format!(
                r#"<p>Choose an account to assign users or groups to it with permission sets.</p>{table}"#
            ),
        )
    }

    /// `/console/sso/accounts/ID`: assignments (list, remove), assign, provisioning status.
    pub(super) fn sso_account(&self, account: &str) -> Response {
        let ic = match self.ic(account) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let (sets, principals) = match self
            .permission_sets(&ic)
            .and_then(|s| Ok((s, self.sso_principals(&ic)?)))
        {
            Ok(x) => x,
            Err(e) => return self.failed(account, &e),
        };
        let base = format!("/console/sso/accounts/{}", seg(account));
        let csrf = self.csrf();
        let ps_name = |arn: &str| {
            sets.iter()
                .find(|p| txt(&p["PermissionSetArn"]) == arn)
                .map(|p| txt(&p["Name"]))
                .unwrap_or_else(|| ps_id(arn).to_owned())
        };
        let principal = |kind: &str, id: &str| -> String {
            principals
                .iter()
                .find(|(k, i, _)| *k == kind && i == id)
                .map(|(_, _, n)| n.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        let mut assignments = Vec::new();
        for p in &sets {
            match self.call_all(
                "sso-admin",
                "ListAccountAssignments",
                json!({"InstanceArn": ic.arn, "AccountId": account,
                    "PermissionSetArn": txt(&p["PermissionSetArn"])}),
                "AccountAssignments",
            ) {
                Ok(l) => assignments.extend(l),
                Err(e) => return self.failed(account, &e),
            }
        }
        let rows: String = assignments
            .iter()
            .map(|a| {
                let (kind, id, ps) = (
                    txt(&a["PrincipalType"]),
                    txt(&a["PrincipalId"]),
                    txt(&a["PermissionSetArn"]),
                );
                let who = principal(&kind, &id);
                let link = match kind.as_str() {
                    "USER" => format!("/console/sso/users/{}", seg(&who)),
                    _ => format!("/console/sso/groups/{}", seg(&who)),
                };
                format!(
                    r#"<tr><td><a href="{link}">{w}</a></td><td>{k}</td><td><a href="/console/sso/permission-sets/{pid}">{pn}</a></td><td><form method="post" action="{base}/assignments/remove" class="inline">{csrf}<input type="hidden" name="PrincipalType" value="{k}"><input type="hidden" name="PrincipalId" value="{id}"><input type="hidden" name="PermissionSetArn" value="{ps}"><button type="submit" aria-label="Remove access of {w} with {pn}">Remove access</button></form></td></tr>"#,
                    link = esc(&link),
                    w = esc(&who),
                    k = esc(&kind),
                    pid = seg(ps_id(&ps)),
                    pn = esc(&ps_name(&ps)),
                    id = esc(&id),
                    ps = esc(&ps),
                )
            })
            .collect();
        let table = data_table(
            "Users and groups with access",
            "assignments",
            &["User or group", "Type", "Permission set", "Actions"],
            &rows,
            assignments.len(),
            r##"<strong>No users or groups assigned.</strong> <a href="#assign">Assign users or groups</a> with a permission set."##,
        );
        // Provisioning: each permission set provisioned here, current or outdated.
        let status = |filter: Option<&str>| -> Result<Vec<String>, CallError> {
            let mut input = json!({"InstanceArn": ic.arn, "AccountId": account});
            if let Some(f) = filter {
                input["ProvisioningStatus"] = json!(f);
            }
            self.call_all(
                "sso-admin",
                "ListPermissionSetsProvisionedToAccount",
                input,
                "PermissionSets",
            )
            .map(|l| l.iter().map(txt).collect())
        };
        let provisioning = match status(None)
            .and_then(|all| Ok((all, status(Some("LATEST_PERMISSION_SET_NOT_PROVISIONED"))?)))
        {
            Ok((all, stale)) => {
                let rows: String = all
                    .iter()
                    .map(|arn| {
                        let (state, action) = if stale.contains(arn) {
                            (
                                "Outdated: the permission set changed since it was provisioned",
                                format!(
                                    r#"<form method="post" action="{base}/provision" class="inline">{csrf}<input type="hidden" name="PermissionSetArn" value="{a}"><button type="submit">Reprovision</button></form>"#,
                                    a = esc(arn)
                                ),
                            )
                        } else {
                            ("Provisioned", String::new())
                        };
                        format!(
                            r#"<tr><td>{n}</td><td>{state}</td><td>{action}</td></tr>"#,
                            n = esc(&ps_name(arn)),
                        )
                    })
                    .collect();
                data_table(
                    "Provisioning status",
                    "provisioning",
                    &["Permission set", "Status", "Actions"],
                    &rows,
                    all.len(),
                    "<strong>Nothing provisioned.</strong> A permission set is provisioned (its role created in the account) when it is first assigned here.",
                )
            }
            Err(e) => error_box(&e.code, &e.message),
        };
        let checks = |list: Vec<(String, String)>, name: &str, legend: &str| -> String {
            if list.is_empty() {
                return format!(r#"<p><strong>{legend}:</strong> none yet.</p>"#);
            }
            let boxes: String = list
                .iter()
                .map(|(v, l)| {
                    format!(
                        r#"<label class="check"><input type="checkbox" name="{name}" value="{v}"> {l}</label>"#,
                        v = esc(v),
                        l = esc(l)
                    )
                })
                .collect();
            format!(r#"<fieldset><legend>{legend}</legend>{boxes}</fieldset>"#)
        };
        let who = checks(
            principals
                .iter()
                .map(|(k, i, n)| {
                    let kind = if *k == "USER" { "User" } else { "Group" };
                    (format!("{k}:{i}"), format!("{n} ({kind})"))
                })
                .collect(),
            "Principal",
            "Users and groups",
        );
        let what = checks(
            sets.iter()
                .map(|p| (txt(&p["PermissionSetArn"]), txt(&p["Name"])))
                .collect(),
            "PermissionSetArn",
            "Permission sets",
        );
        let body = format!(
            r#"<p>AWS account <code>{acct}</code>.</p>{table}
<h2 id="assign">Assign users or groups</h2><form method="post" action="{base}/assign">{csrf}{who}{what}<button type="submit">Assign</button></form>
<h2>Permission sets provisioned</h2>{provisioning}"#,
            acct = esc(account),
        );
        self.page(account, &body)
    }

    /// Creates an assignment for each chosen principal and permission set.
    pub(super) fn sso_assign(&self, account: &str) -> Response {
        let back = format!("/console/sso/accounts/{}", seg(account));
        let ic = match self.ic("Assign users or groups") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let principals: Vec<&str> = self.r.fields("Principal");
        let sets: Vec<&str> = self.r.fields("PermissionSetArn");
        if principals.is_empty() || sets.is_empty() {
            return self.page_with_status(
                StatusCode::BAD_REQUEST,
                "Assign users or groups",
                &format!(
                    r#"{}<p><a href="{}#assign">Back</a></p>"#,
                    error_box(
                        "ValidationException",
                        "Choose at least one user or group and one permission set. Nothing was assigned."
                    ),
                    esc(&back)
                ),
            );
        }
        let mut n = 0;
        for p in &principals {
            let Some((kind, id)) = p.split_once(':') else {
                continue;
            };
            for ps in &sets {
                let out = self.ssoa(
                    "CreateAccountAssignment",
                    json!({"InstanceArn": ic.arn, "TargetId": account, "TargetType": "AWS_ACCOUNT",
                        "PermissionSetArn": ps, "PrincipalType": kind, "PrincipalId": id}),
                );
                let status = match out {
                    Ok(v) => v["AccountAssignmentCreationStatus"].clone(),
                    Err(e) => return self.failed_back("Assign users or groups", &e, &back),
                };
                if txt(&status["Status"]) == "FAILED" {
                    let e = CallError {
                        code: "AssignmentFailed".into(),
                        message: format!(
                            "The assignment could not be provisioned: {}",
                            txt(&status["FailureReason"])
                        ),
                        status: 400,
                    };
                    return self.failed_back("Assign users or groups", &e, &back);
                }
                n += 1;
            }
        }
        self.done(
            &back,
            format!("{n} assignment(s) created and provisioned to account {account}."),
        )
    }

    pub(super) fn sso_unassign(&self, account: &str) -> Response {
        let back = format!("/console/sso/accounts/{}", seg(account));
        let ic = match self.ic("Remove access") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        match self.ssoa(
            "DeleteAccountAssignment",
            json!({"InstanceArn": ic.arn, "TargetId": account, "TargetType": "AWS_ACCOUNT",
                "PermissionSetArn": self.field("PermissionSetArn"),
                "PrincipalType": self.field("PrincipalType"),
                "PrincipalId": self.field("PrincipalId")}),
        ) {
            Ok(_) => self.done(&back, "Access removed."),
            Err(e) => self.failed_back("Remove access", &e, &back),
        }
    }

    pub(super) fn sso_provision(&self, account: &str) -> Response {
        let back = format!("/console/sso/accounts/{}", seg(account));
        let ic = match self.ic("Reprovision") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        match self.ssoa(
            "ProvisionPermissionSet",
            json!({"InstanceArn": ic.arn, "TargetId": account, "TargetType": "AWS_ACCOUNT",
                "PermissionSetArn": self.field("PermissionSetArn")}),
        ) {
            Ok(v) => {
                let s = &v["PermissionSetProvisioningStatus"];
                if txt(&s["Status"]) == "FAILED" {
                    let e = CallError {
                        code: "ProvisioningFailed".into(),
                        message: txt(&s["FailureReason"]),
                        status: 400,
                    };
                    return self.failed_back("Reprovision", &e, &back);
                }
                self.done(&back, "Permission set reprovisioned.")
            }
            Err(e) => self.failed_back("Reprovision", &e, &back),
        }
    }
}
