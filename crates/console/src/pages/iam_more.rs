//! The role wizard (trusted entity → review → create) and trust-relationship editing,
//! detaching policies, policy detail with versions, the policy simulator, and the password
//! pages (self-service change, the account password policy).

use super::kit::{P, document_text, findings_html, items, page_status, txt};
use crate::html::{error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON string literal.
fn js(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// What the role wizard's first step chose.
#[derive(Debug, Default, Clone)]
pub struct TrustChoice {
    /// `this-account`, `another-account`, `web-identity` or `custom`.
    pub entity: String,
    pub other_account: String,
    pub external_id: Option<String>,
    pub require_mfa: bool,
    pub custom: String,
    /// Web identity: the OIDC provider's ARN (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`).
    pub provider: String,
    /// Web identity: the audience (one of the provider's client ids).
    pub audience: String,
    /// Web identity: an optional pattern for the token's `sub` (`StringLike`).
    pub subject: String,
}

/// The condition key prefix of an OIDC provider: its ARN's resource after `oidc-provider/`
/// (`HOST/PATH`), or `None` for anything else.
pub fn provider_key_prefix(arn: &str) -> Option<&str> {
    let (head, rest) = arn.split_once(":oidc-provider/")?;
    (head.starts_with("arn:") && head.contains(":iam::") && !rest.is_empty()).then_some(rest)
}

/// The web identity trust policy, as the IAM console writes it: the provider as `Federated`
/// principal, `sts:AssumeRoleWithWebIdentity`, the audience under `StringEquals` on
/// `HOST/PATH:aud` and, when given, the subject pattern under `StringLike` on `HOST/PATH:sub`.
fn web_identity_trust(c: &TrustChoice) -> Result<String, String> {
    let provider = c.provider.trim();
    if provider.is_empty() {
        return Err("Choose an identity provider.".into());
    }
    let Some(host) = provider_key_prefix(provider) else {
        return Err(format!(
            "'{provider}' is not an OpenID Connect provider ARN."
        ));
    };
    let audience = c.audience.trim();
    if audience.is_empty() {
        return Err("Choose an audience.".into());
    }
    let mut conditions = vec![format!(
        r#""StringEquals":{{{}:{}}}"#,
        js(&format!("{host}:aud")),
        js(audience)
    )];
    let subject = c.subject.trim();
    if !subject.is_empty() {
        conditions.push(format!(
            r#""StringLike":{{{}:{}}}"#,
            js(&format!("{host}:sub")),
            js(subject)
        ));
    }
    Ok(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":{}}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{{}}}}}]}}"#,
        js(provider),
        conditions.join(",")
    ))
}

/// The trust policy a choice generates, as the IAM console writes it (member order kept:
/// Effect, Principal, Action, Condition). `Err` says what is missing.
pub fn trust_policy(account_id: &str, c: &TrustChoice) -> Result<String, String> {
    let principal_account = match c.entity.as_str() {
        "this-account" | "" => account_id.to_owned(),
        "another-account" => {
            let a = c.other_account.trim();
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Enter the 12-digit ID of the AWS account to trust.".into());
            }
            a.to_owned()
        }
        "custom" => {
            if c.custom.trim().is_empty() {
                return Err("Enter a custom trust policy.".into());
            }
            return Ok(c.custom.clone());
        }
        "web-identity" => return web_identity_trust(c),
        other => return Err(format!("Unknown trusted entity type '{other}'.")),
    };
    let mut conditions = Vec::new();
    if let Some(x) = &c.external_id {
        if x.is_empty() {
            return Err("Enter the external ID the other account must pass.".into());
        }
        conditions.push(format!(r#""StringEquals":{{"sts:ExternalId":{}}}"#, js(x)));
    }
    if c.require_mfa {
        conditions.push(r#""Bool":{"aws:MultiFactorAuthPresent":"true"}"#.to_owned());
    }
    Ok(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":{}}},"Action":"sts:AssumeRole","Condition":{{{}}}}}]}}"#,
        js(&format!("arn:aws:iam::{principal_account}:root")),
        conditions.join(",")
    ))
}

/// Splits a list typed one per line (or separated by commas/spaces) into its items.
pub fn list_field(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The wizard's name of a trusted-entity option (what the preview is labelled with).
pub fn entity_label(entity: &str) -> &'static str {
    match entity {
        "another-account" => "AWS account: another AWS account",
        "web-identity" => "Web identity",
        "custom" => "Custom trust policy",
        _ => "AWS account: this account",
    }
}

fn checked(b: bool) -> &'static str {
    if b { " checked" } else { "" }
}

impl P<'_> {
    fn trust_choice(&self) -> TrustChoice {
        let external = self.r.field("RequireExternalId").is_some();
        TrustChoice {
            entity: self.field("TrustedEntity"),
            other_account: self.field("OtherAccountId"),
            external_id: external.then(|| self.field("ExternalId")),
            require_mfa: self.r.field("RequireMfa").is_some(),
            custom: self.r.field("TrustPolicy").unwrap_or("").to_owned(),
            provider: self.field("IdentityProvider"),
            audience: self.field("Audience"),
            subject: self.field("Subject"),
        }
    }

    /// The trust policy of a choice, once a web identity's audience is checked against its
    /// provider.
    fn checked_trust(&self, c: &TrustChoice) -> Result<String, String> {
        let t = trust_policy(&self.account(), c)?;
        self.check_web_identity(c)?;
        Ok(t)
    }

    /// The wizard's first page (also shown again with a problem).
    pub(super) fn role_wizard(
        &self,
        c: &TrustChoice,
        name: &str,
        policy_arn: &str,
        problem: Option<&str>,
        status: StatusCode,
    ) -> Response {
        let ent = if c.entity.is_empty() {
            "this-account"
        } else {
            c.entity.as_str()
        };
        // The preview follows the chosen option (the script refreshes it while choosing).
        let preview = self
            .checked_trust(c)
            .map(|t| super::kit::pretty_document(&t));
        let body = format!(
            r#"{problem}<form method="post" action="/console/roles" id="role-form">{csrf}
<fieldset><legend>Trusted entity type</legend>
<label><input type="radio" name="TrustedEntity" value="this-account"{c_this}> AWS account: this account</label>
<label><input type="radio" name="TrustedEntity" value="another-account"{c_other}> AWS account: another AWS account</label>
<label for="other-account">Account ID (another AWS account)</label> <input type="text" id="other-account" name="OtherAccountId" inputmode="numeric" maxlength="12" value="{other}">
<label><input type="radio" name="TrustedEntity" value="web-identity"{c_web}> Web identity</label>
<label><input type="radio" name="TrustedEntity" value="custom"{c_custom}> Custom trust policy</label></fieldset>
<fieldset><legend>Options (AWS account)</legend>
<label><input type="checkbox" name="RequireExternalId" value="true"{c_ext}> Require external ID</label>
<label for="external-id">External ID</label> <input type="text" id="external-id" name="ExternalId" maxlength="1224" value="{ext}">
<label><input type="checkbox" name="RequireMfa" value="true"{c_mfa}> Require MFA</label></fieldset>
{web}
<p>Trust policy (<span id="trust-preview-label">{label}</span>):</p><pre id="trust-preview"{pre_hidden}>{trust}</pre><p id="trust-preview-problem"{problem_hidden}>{trust_problem}</p>
<label for="trust-policy">Custom trust policy (JSON)</label>
<textarea id="trust-policy" name="TrustPolicy" rows="12" spellcheck="false" data-policy-type="trust" data-findings="trust-findings">{custom}</textarea>
<div id="trust-findings" aria-live="polite"></div>
<label>Role name <input type="text" name="RoleName" required maxlength="64" value="{name}"></label>
{choices}<label>Permissions policy ARN (optional) <input type="text" name="PolicyArn" list="policy-arns" value="{parn}"></label>{arns}
<button type="submit">Create role</button> <button type="submit" formaction="/console/roles/review">Next: review</button></form>"#,
            problem = problem.unwrap_or(""),
            csrf = self.csrf(),
            c_this = checked(ent == "this-account"),
            c_other = checked(ent == "another-account"),
            c_web = checked(ent == "web-identity"),
            c_custom = checked(ent == "custom"),
            web = self.web_identity_fields(c),
            other = esc(&c.other_account),
            c_ext = checked(c.external_id.is_some()),
            ext = esc(c.external_id.as_deref().unwrap_or("")),
            c_mfa = checked(c.require_mfa),
            label = entity_label(ent),
            trust = esc(preview.as_deref().unwrap_or("")),
            pre_hidden = if preview.is_ok() { "" } else { " hidden" },
            trust_problem = esc(preview.as_ref().err().map(String::as_str).unwrap_or("")),
            problem_hidden = if preview.is_ok() { " hidden" } else { "" },
            custom = esc(&c.custom),
            name = esc(name),
            parn = esc(policy_arn),
            choices = self.policy_choices(),
            arns = self.policy_datalist(),
        );
        page_status(status, "Create role", Some(self.s), &body)
    }

    /// `POST /console/roles/trust-preview` (the wizard's script, CSRF-checked like every POST):
    /// the trust policy the submitted choice generates, as JSON `{label, policy}` or
    /// `{label, problem}`; the same generator as the review step.
    pub(super) fn trust_preview(&self) -> Response {
        let c = self.trust_choice();
        let label = entity_label(&c.entity);
        let out = match self.checked_trust(&c) {
            Ok(t) => json!({"label": label, "policy": super::kit::pretty_document(&t)}),
            Err(problem) => json!({"label": label, "problem": problem}),
        };
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            out.to_string(),
        )
            .into_response()
    }

    /// The wizard's "Add permissions" step: a checkbox per customer managed policy.
    fn policy_choices(&self) -> String {
        let chosen = self.r.fields("PolicyArns");
        let boxes: String = self
            .local_policies()
            .iter()
            .map(|(n, a)| {
                format!(
                    r#"<label><input type="checkbox" name="PolicyArns" value="{a}"{c}> {n}</label>"#,
                    a = esc(a),
                    n = esc(n),
                    c = checked(chosen.contains(&a.as_str())),
                )
            })
            .collect();
        if boxes.is_empty() {
            String::new()
        } else {
            format!("<fieldset><legend>Permissions policies</legend>{boxes}</fieldset>")
        }
    }

    /// Every policy the wizard was asked to attach (checkboxes and the ARN field), once each.
    fn chosen_policies(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in self
            .r
            .fields("PolicyArns")
            .into_iter()
            .chain(std::iter::once(self.r.field("PolicyArn").unwrap_or("")))
        {
            let a = a.trim();
            if !a.is_empty() && !out.iter().any(|x| x == a) {
                out.push(a.to_owned());
            }
        }
        out
    }

    /// The generated trust policy of the submitted choice, or the wizard page with a problem.
    fn chosen_trust(&self) -> Result<String, Box<Response>> {
        let c = self.trust_choice();
        let name = self.field("RoleName");
        let parn = self.field("PolicyArn");
        let trust = match self.checked_trust(&c) {
            Ok(t) => t,
            Err(msg) => {
                return Err(Box::new(self.role_wizard(
                    &c,
                    &name,
                    &parn,
                    Some(&error_box("ValidationError", &msg)),
                    StatusCode::BAD_REQUEST,
                )));
            }
        };
        let findings = kagi_policy::validate(&trust, kagi_policy::PolicyType::Trust);
        if kagi_policy::has_errors(&findings) {
            return Err(Box::new(self.role_wizard(
                &c,
                &name,
                &parn,
                Some(&findings_html(&findings)),
                StatusCode::BAD_REQUEST,
            )));
        }
        Ok(trust)
    }

    /// `POST /console/roles/new` (the review step's "Back"): the wizard again, with every
    /// choice the review carried in its hidden fields.
    pub(super) fn role_wizard_back(&self) -> Response {
        let c = self.trust_choice();
        self.role_wizard(
            &c,
            &self.field("RoleName"),
            &self.field("PolicyArn"),
            None,
            StatusCode::OK,
        )
    }

    /// Step "Name, review, and create": the generated trust policy, then a confirming form.
    pub(super) fn review_role(&self) -> Response {
        let trust = match self.chosen_trust() {
            Ok(t) => t,
            Err(r) => return *r,
        };
        let pretty = super::kit::pretty_document(&trust);
        let hidden: String = self
            .r
            .form
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| {
                format!(
                    r#"<input type="hidden" name="{}" value="{}">"#,
                    esc(k),
                    esc(v)
                )
            })
            .collect();
        let name = self.field("RoleName");
        let policies = self.chosen_policies();
        self.page(
            "Name, review, and create",
            &format!(
                r#"<h2>Role name</h2><p>{name}</p>
<h2>Trust policy</h2><pre id="review-trust">{pretty}</pre>
<h2>Permissions</h2><p>{perm}</p>
<form method="post" action="/console/roles">{csrf}{hidden}<button type="submit">Create role</button> <button type="submit" formaction="/console/roles/new">Back</button></form>"#,
                name = esc(&name),
                pretty = esc(&pretty),
                perm = if policies.is_empty() {
                    "No permissions policy attached.".to_owned()
                } else {
                    policies
                        .iter()
                        .map(|a| format!("<code>{}</code>", esc(a)))
                        .collect::<Vec<_>>()
                        .join("<br>")
                },
                csrf = self.csrf(),
            ),
        )
    }

    pub(super) fn create_role_from_wizard(&self) -> Response {
        let trust = match self.chosen_trust() {
            Ok(t) => t,
            Err(r) => return *r,
        };
        let name = self.field("RoleName");
        if let Err(e) = self.call(
            "iam",
            "CreateRole",
            json!({"RoleName": name, "AssumeRolePolicyDocument": trust}),
        ) {
            return self.failed("Create role", &e);
        }
        for arn in self.chosen_policies() {
            if let Err(e) = self.call(
                "iam",
                "AttachRolePolicy",
                json!({"RoleName": name, "PolicyArn": arn}),
            ) {
                return self.failed("Attach policy", &e);
            }
        }
        self.done(
            &format!("/console/roles/{}", seg(&name)),
            format!("Role {name} created."),
        )
    }

    /// The role page's trust-relationship editor (`open` when it holds a refused draft).
    pub(super) fn trust_editor(&self, role: &str, document: &str, open: bool) -> String {
        format!(
            r#"<details{open}><summary>Edit trust policy</summary><form method="post" action="/console/roles/{n}/trust">{csrf}
<label for="trust-document">Trust policy (JSON)</label>
<textarea id="trust-document" name="PolicyDocument" rows="14" spellcheck="false" data-policy-type="trust" data-findings="trust-document-findings">{doc}</textarea>
<div id="trust-document-findings" aria-live="polite"></div>
<button type="submit">Update policy</button></form></details>"#,
            open = if open { " open" } else { "" },
            n = seg(role),
            csrf = self.csrf(),
            doc = esc(document)
        )
    }

    /// A refused trust policy: the problems above the open editor, which keeps the draft.
    fn refused_trust(
        &self,
        status: StatusCode,
        role: &str,
        draft: &str,
        problems: &str,
    ) -> Response {
        page_status(
            status,
            "Edit trust policy",
            Some(self.s),
            &format!(
                r#"<p><a href="/console/roles/{s}">{n}</a></p>{problems}{editor}"#,
                s = seg(role),
                n = esc(role),
                editor = self.trust_editor(role, draft, true)
            ),
        )
    }

    pub(super) fn update_trust(&self, role: &str) -> Response {
        let doc = self.r.field("PolicyDocument").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&doc, kagi_policy::PolicyType::Trust);
        if kagi_policy::has_errors(&findings) {
            return self.refused_trust(
                StatusCode::BAD_REQUEST,
                role,
                &doc,
                &findings_html(&findings),
            );
        }
        match self.call(
            "iam",
            "UpdateAssumeRolePolicy",
            json!({"RoleName": role, "PolicyDocument": doc}),
        ) {
            Ok(_) => self.done(
                &format!("/console/roles/{}#trust-relationships", seg(role)),
                "Trust policy updated.",
            ),
            Err(e) => self.refused_trust(
                super::kit::error_status(&e),
                role,
                &doc,
                &error_box(&e.code, &e.message),
            ),
        }
    }

    /// Detaches the posted policy ARNs (one from a row's button, several from "Detach
    /// selected"), in order; the first failure stops and is shown.
    pub(super) fn detach(&self, name: &str, kind: &str) -> Response {
        let arns = self.r.fields("PolicyArn");
        let (op, member, back) = match kind {
            "User" => ("DetachUserPolicy", "UserName", "users"),
            "Group" => ("DetachGroupPolicy", "GroupName", "groups"),
            _ => ("DetachRolePolicy", "RoleName", "roles"),
        };
        if arns.is_empty() {
            return self.page_with_status(
                StatusCode::BAD_REQUEST,
                "Detach policy",
                &error_box("ValidationError", "Select at least one policy to detach."),
            );
        }
        for arn in &arns {
            if let Err(e) = self.call("iam", op, json!({member: name, "PolicyArn": arn})) {
                return self.failed("Detach policy", &e);
            }
        }
        self.done(
            &format!("/console/{back}/{}", seg(name)),
            if arns.len() == 1 {
                "Policy detached.".to_owned()
            } else {
                format!("{} policies detached.", arns.len())
            },
        )
    }

    // ------------------------------------------------------------ policy detail, versions

    pub(super) fn policy(&self, arn: &str) -> Response {
        let got = match self.call("iam", "GetPolicy", json!({"PolicyArn": arn})) {
            Ok(v) => v,
            Err(e) => return self.failed(arn, &e),
        };
        let p = &got["Policy"];
        let name = txt(&p["PolicyName"]);
        let default = txt(&p["DefaultVersionId"]);
        let base = format!("/console/policies/{}", seg(arn));
        let csrf = self.csrf();
        // AWS managed policies are AWS's to change: shown, never edited or deleted.
        let aws_managed = arn.starts_with("arn:aws:iam::aws:policy/");
        let mut body = format!(
            "<p>ARN: <code>{}</code><br>Description: {}<br>Attachments: {}<br>Default version: {}</p>",
            esc(arn),
            esc(&txt(&p["Description"])),
            esc(&txt(&p["AttachmentCount"])),
            esc(&default)
        );
        let head = std::mem::take(&mut body);
        let mut document = String::new();
        match self.call(
            "iam",
            "GetPolicyVersion",
            json!({"PolicyArn": arn, "VersionId": default}),
        ) {
            Ok(v) => {
                document = document_text(&v["PolicyVersion"]["Document"]);
                body.push_str(&format!(
                    "<h2>Permissions (default version)</h2>{}<pre>{}</pre>",
                    crate::summary::table(&document, "Summary"),
                    esc(&super::kit::pretty_document(&document))
                ));
            }
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        let mut permissions = std::mem::take(&mut body);
        body.push_str("<h2>Policy versions</h2>");
        match self.call("iam", "ListPolicyVersions", json!({"PolicyArn": arn})) {
            Ok(v) => {
                let rows: String = items(&v, "Versions")
                    .iter()
                    .map(|ver| {
                        let id = txt(&ver["VersionId"]);
                        let is_default = ver["IsDefaultVersion"].as_bool().unwrap_or(false);
                        let actions = if is_default {
                            "Default".to_owned()
                        } else if aws_managed {
                            String::new()
                        } else {
                            format!(
                                r#"<form method="post" action="{base}/versions/{i}/default" class="inline">{csrf}<button type="submit" aria-label="Set {i} as default">Set {i} as default</button></form>
<form method="post" action="{base}/versions/{i}/delete" class="inline">{csrf}<button type="submit" aria-label="Delete {i}">Delete</button></form>"#,
                                i = esc(&id)
                            )
                        };
                        format!(
                            "<tr><td>{}</td><td>{}</td><td>{actions}</td></tr>",
                            esc(&id),
                            esc(&txt(&ver["CreateDate"]))
                        )
                    })
                    .collect();
                body.push_str(&format!(
                    "<table><thead><tr><th>Version</th><th>Created</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
                ));
            }
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        let versions = std::mem::take(&mut body);
        let mut delete = String::new();
        if aws_managed {
            permissions.push_str("<p>This is an AWS managed policy: AWS maintains it, so it cannot be edited or deleted.</p>");
        } else {
            permissions.push_str(&self.version_form(arn, &document, None));
            delete = self.delete_section("policy", &name, &format!("{base}/delete"));
        }
        let tabs = crate::html::tabs(
            &format!("Sections of policy {name}"),
            &[
                ("permissions", "Permissions", &permissions),
                ("entities", "Entities attached", &self.policy_entities(arn)),
                ("versions", "Policy versions", &versions),
                (
                    "access-advisor",
                    "Access Advisor",
                    &self.access_advisor(arn),
                ),
            ],
        );
        self.page(&name, &format!("{head}{tabs}{delete}"))
    }

    /// The users, groups and roles a managed policy is attached to (ListEntitiesForPolicy).
    fn policy_entities(&self, arn: &str) -> String {
        let v = match self.call("iam", "ListEntitiesForPolicy", json!({"PolicyArn": arn})) {
            Ok(v) => v,
            Err(e) => return error_box(&e.code, &e.message),
        };
        let mut rows = String::new();
        for (list, key, kind, path) in [
            ("PolicyUsers", "UserName", "User", "users"),
            ("PolicyGroups", "GroupName", "Group", "groups"),
            ("PolicyRoles", "RoleName", "Role", "roles"),
        ] {
            for e in items(&v, list) {
                let n = txt(&e[key]);
                rows.push_str(&format!(
                    r#"<tr><td><a href="/console/{path}/{}">{}</a></td><td>{kind}</td></tr>"#,
                    seg(&n),
                    esc(&n)
                ));
            }
        }
        let count = rows.matches("<tr>").count();
        format!(
            "<h2>Entities attached</h2>{}",
            crate::html::data_table(
                "Attached to",
                "entities",
                &["Name", "Type"],
                &rows,
                count,
                "<strong>Not attached to any user, group or role.</strong>",
            )
        )
    }

    fn version_form(&self, arn: &str, document: &str, problems: Option<&str>) -> String {
        format!(
            r#"<h2>Create a new version</h2>{problems}<form method="post" action="/console/policies/{a}/versions">{csrf}
<label for="version-document">Policy document (JSON)</label>
<textarea id="version-document" name="PolicyDocument" rows="16" spellcheck="false" data-policy-type="identity" data-findings="version-findings">{doc}</textarea>
<div id="version-findings" aria-live="polite"></div>
<label><input type="checkbox" name="SetAsDefault" value="true" checked> Set as default</label>
<button type="submit">Save changes</button></form>"#,
            problems = problems.unwrap_or(""),
            a = seg(arn),
            csrf = self.csrf(),
            doc = esc(document)
        )
    }

    pub(super) fn create_policy_version(&self, arn: &str) -> Response {
        let doc = self.r.field("PolicyDocument").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&doc, kagi_policy::PolicyType::Identity);
        if kagi_policy::has_errors(&findings) {
            return page_status(
                StatusCode::BAD_REQUEST,
                "Create policy version",
                Some(self.s),
                &self.version_form(arn, &doc, Some(&findings_html(&findings))),
            );
        }
        let set_default = self.r.field("SetAsDefault").is_some();
        match self.call(
            "iam",
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": doc, "SetAsDefault": set_default}),
        ) {
            Ok(_) => self.done(
                &format!("/console/policies/{}", seg(arn)),
                "Policy version created.",
            ),
            Err(e) => page_status(
                super::kit::error_status(&e),
                "Create policy version",
                Some(self.s),
                &self.version_form(arn, &doc, Some(&error_box(&e.code, &e.message))),
            ),
        }
    }

    pub(super) fn set_default_version(&self, arn: &str, version: &str) -> Response {
        match self.call(
            "iam",
            "SetDefaultPolicyVersion",
            json!({"PolicyArn": arn, "VersionId": version}),
        ) {
            Ok(_) => self.done(
                &format!("/console/policies/{}#versions", seg(arn)),
                "Default version set.",
            ),
            Err(e) => self.failed("Set default version", &e),
        }
    }

    pub(super) fn delete_version(&self, arn: &str, version: &str) -> Response {
        match self.call(
            "iam",
            "DeletePolicyVersion",
            json!({"PolicyArn": arn, "VersionId": version}),
        ) {
            Ok(_) => self.done(
                &format!("/console/policies/{}#versions", seg(arn)),
                "Policy version deleted.",
            ),
            Err(e) => self.failed("Delete policy version", &e),
        }
    }

    // ------------------------------------------------------------ policy simulator

    fn simulator_form(&self, source: &str, actions: &str, resources: &str) -> String {
        format!(
            r#"<form method="post" action="/console/simulator">{csrf}
<label for="sim-principal">Principal (ARN of a user, group or role)</label> <input type="text" id="sim-principal" name="PolicySourceArn" required value="{src}" placeholder="arn:aws:iam::{acct}:user/name">
<label for="sim-actions">Actions (one per line, e.g. ecr:PutImage)</label>
<textarea id="sim-actions" name="ActionNames" rows="5" required spellcheck="false">{act}</textarea>
<label for="sim-resources">Resource ARNs (one per line; empty means *)</label>
<textarea id="sim-resources" name="ResourceArns" rows="3" spellcheck="false">{res}</textarea>
<button type="submit">Run simulation</button></form>"#,
            csrf = self.csrf(),
            src = esc(source),
            acct = esc(&self.account()),
            act = esc(actions),
            res = esc(resources)
        )
    }

    pub(super) fn simulator(&self) -> Response {
        self.page("Policy simulator", &self.simulator_form("", "", ""))
    }

    pub(super) fn simulate(&self) -> Response {
        let source = self.field("PolicySourceArn");
        let actions_raw = self.r.field("ActionNames").unwrap_or("").to_owned();
        let resources_raw = self.r.field("ResourceArns").unwrap_or("").to_owned();
        let mut input = json!({"PolicySourceArn": source, "ActionNames": list_field(&actions_raw), "MaxItems": 1000});
        let resources = list_field(&resources_raw);
        if !resources.is_empty() {
            input["ResourceArns"] = json!(resources);
        }
        let form = self.simulator_form(&source, &actions_raw, &resources_raw);
        match self.call("iam", "SimulatePrincipalPolicy", input) {
            Ok(v) => {
                let rows: String = items(&v, "EvaluationResults")
                    .iter()
                    .map(|r| {
                        let decision = txt(&r["EvalDecision"]);
                        let matched: Vec<String> = items(r, "MatchedStatements")
                            .iter()
                            .map(|m| txt(&m["SourcePolicyId"]))
                            .collect();
                        format!(
                            r#"<tr><td>{a}</td><td><code>{res}</code></td><td class="{cls}">{d}</td><td class="long">{m}</td></tr>"#,
                            a = esc(&txt(&r["EvalActionName"])),
                            res = esc(&txt(&r["EvalResourceName"])),
                            cls = if decision == "allowed" { "ok" } else { "bad" },
                            d = esc(&decision),
                            m = esc(&matched.join(", ")),
                        )
                    })
                    .collect();
                self.page(
                    "Policy simulator",
                    &format!(
                        r#"{form}<h2>Results</h2><table><thead><tr><th>Action</th><th>Resource</th><th>Decision</th><th>Matched statements</th></tr></thead><tbody>{rows}</tbody></table>"#
                    ),
                )
            }
            Err(e) => page_status(
                super::kit::error_status(&e),
                "Policy simulator",
                Some(self.s),
                &format!("{}{form}", error_box(&e.code, &e.message)),
            ),
        }
    }

    // ------------------------------------------------------------ passwords

    pub(super) fn password_form(&self, notice: Option<&str>, status: StatusCode) -> Response {
        let admin = r#"<p><a href="/console/password-policy">Account password policy</a></p>"#;
        let notice = match notice {
            Some(n) => n.to_owned(),
            None if self.s.must_change_password => r#"<div class="notice" role="status">A new password is required before you continue: your administrator asked for it at this sign-in.</div>"#.to_owned(),
            None if self.is_root() => "<p>You are signed in as the root user: this changes the root user's console password.</p>".to_owned(),
            None => String::new(),
        };
        page_status(
            status,
            "Change password",
            Some(self.s),
            &format!(
                r#"{notice}<form method="post" action="/console/password">{csrf}
<label for="old-password">Current password</label> <input type="password" id="old-password" name="OldPassword" required autocomplete="current-password">
<label for="new-password">New password</label> <input type="password" id="new-password" name="NewPassword" required autocomplete="new-password">
<label for="confirm-password">Confirm new password</label> <input type="password" id="confirm-password" name="ConfirmPassword" required autocomplete="new-password">
<button type="submit">Change password</button></form>{admin}"#,
                csrf = self.csrf(),
            ),
        )
    }

    /// Signed in as the account root (and not switched into a role).
    fn is_root(&self) -> bool {
        self.s.switched.is_none() && self.s.arn.ends_with(":root")
    }

    pub(super) fn change_password(&self) -> Response {
        let old = self.r.field("OldPassword").unwrap_or("");
        let new = self.r.field("NewPassword").unwrap_or("");
        if self.r.field("ConfirmPassword").unwrap_or("") != new {
            return self.password_form(
                Some(&error_box(
                    "ValidationError",
                    "The new password and its confirmation do not match.",
                )),
                StatusCode::BAD_REQUEST,
            );
        }
        let result = if self.is_root() {
            let key = format!("{}\0root", self.account());
            let t = crate::now();
            if self.c.lockout.check(&key, t).is_err() {
                return self.password_form(
                    Some(&error_box(
                        "LimitExceeded",
                        "Too many failed attempts. Try again later.",
                    )),
                    StatusCode::TOO_MANY_REQUESTS,
                );
            }
            let r = self
                .c
                .backend
                .change_root_password(&self.s.access_key_id, old, new);
            if r.as_ref().is_err_and(|e| e.code == "IncorrectPassword") {
                self.c.lockout.fail(&key, t);
            }
            r.map(|_| json!({}))
        } else {
            self.call(
                "iam",
                "ChangePassword",
                json!({"OldPassword": old, "NewPassword": new}),
            )
        };
        match result {
            Ok(_) => {
                self.c
                    .sessions
                    .update(self.sid, |s| s.must_change_password = false);
                self.password_form(
                    Some(r#"<div class="notice" role="status">Your password has been changed.</div>"#),
                    StatusCode::OK,
                )
            }
            Err(e) => self.password_form(
                Some(&error_box(&e.code, &e.message)),
                super::kit::error_status(&e),
            ),
        }
    }

    pub(super) fn password_policy(&self, notice: Option<&str>, status: StatusCode) -> Response {
        let (current, note) = match self.call("iam", "GetAccountPasswordPolicy", json!({})) {
            Ok(v) => (v["PasswordPolicy"].clone(), String::new()),
            Err(e) if e.code == "NoSuchEntity" => (
                json!({}),
                "<p>No password policy is set: IAM's default applies (at least 8 characters, three of uppercase, lowercase, numbers and symbols).</p>".to_owned(),
            ),
            Err(e) => return self.failed("Password policy", &e),
        };
        let flag = |k: &str| checked(current[k].as_bool().unwrap_or(false));
        let num = |k: &str| {
            current[k]
                .as_i64()
                .map(|n| n.to_string())
                .unwrap_or_default()
        };
        self.page_with_status(
            status,
            "Password policy",
            &format!(
                r#"{notice}{note}<form method="post" action="/console/password-policy">{csrf}
<label for="pp-min">Minimum password length</label> <input type="number" id="pp-min" name="MinimumPasswordLength" min="6" max="128" value="{min}">
<label><input type="checkbox" name="RequireUppercaseCharacters" value="true"{up}> Require at least one uppercase letter</label>
<label><input type="checkbox" name="RequireLowercaseCharacters" value="true"{lo}> Require at least one lowercase letter</label>
<label><input type="checkbox" name="RequireNumbers" value="true"{nu}> Require at least one number</label>
<label><input type="checkbox" name="RequireSymbols" value="true"{sy}> Require at least one non-alphanumeric character</label>
<label><input type="checkbox" name="AllowUsersToChangePassword" value="true"{ch}> Allow users to change their own password</label>
<label for="pp-age">Password expiration (days, empty = never)</label> <input type="number" id="pp-age" name="MaxPasswordAge" min="1" max="1095" value="{age}">
<label for="pp-reuse">Prevent password reuse (remembered passwords, empty = off)</label> <input type="number" id="pp-reuse" name="PasswordReusePrevention" min="1" max="24" value="{reuse}">
<button type="submit">Save changes</button></form>"#,
                notice = notice.unwrap_or(""),
                csrf = self.csrf(),
                min = num("MinimumPasswordLength"),
                up = flag("RequireUppercaseCharacters"),
                lo = flag("RequireLowercaseCharacters"),
                nu = flag("RequireNumbers"),
                sy = flag("RequireSymbols"),
                ch = flag("AllowUsersToChangePassword"),
                age = num("MaxPasswordAge"),
                reuse = num("PasswordReusePrevention"),
            ),
        )
    }

    pub(super) fn update_password_policy(&self) -> Response {
        let mut input = json!({});
        for k in [
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
            "RequireNumbers",
            "RequireSymbols",
            "AllowUsersToChangePassword",
        ] {
            input[k] = json!(self.r.field(k).is_some());
        }
        for k in [
            "MinimumPasswordLength",
            "MaxPasswordAge",
            "PasswordReusePrevention",
        ] {
            let v = self.field(k);
            if v.is_empty() {
                continue;
            }
            match v.parse::<i64>() {
                Ok(n) => input[k] = json!(n),
                Err(_) => {
                    return self.password_policy(
                        Some(&error_box(
                            "ValidationError",
                            &format!("{k} must be a number."),
                        )),
                        StatusCode::BAD_REQUEST,
                    );
                }
            }
        }
        match self.call("iam", "UpdateAccountPasswordPolicy", input) {
            Ok(_) => self.password_policy(
                Some(r#"<div class="notice" role="status">The password policy was saved.</div>"#),
                StatusCode::OK,
            ),
            Err(e) => self.failed("Password policy", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCT: &str = "123456789012";

    #[test]
    fn this_account_trust_is_the_seeds() {
        let t = trust_policy(
            ACCT,
            &TrustChoice {
                entity: "this-account".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            t,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{}}]}"#
        );
    }

    #[test]
    fn another_account_with_external_id_and_mfa() {
        let c = TrustChoice {
            entity: "another-account".into(),
            other_account: "210987654321".into(),
            external_id: Some("ext\"1".into()),
            require_mfa: true,
            ..Default::default()
        };
        let t: Value = serde_json::from_str(&trust_policy(ACCT, &c).unwrap()).unwrap();
        let st = &t["Statement"][0];
        assert_eq!(st["Principal"]["AWS"], "arn:aws:iam::210987654321:root");
        assert_eq!(st["Condition"]["StringEquals"]["sts:ExternalId"], "ext\"1");
        assert_eq!(
            st["Condition"]["Bool"]["aws:MultiFactorAuthPresent"],
            "true"
        );
        let bad = TrustChoice {
            other_account: "12".into(),
            ..c.clone()
        };
        assert!(trust_policy(ACCT, &bad).is_err());
        let empty_ext = TrustChoice {
            external_id: Some(String::new()),
            ..c
        };
        assert!(trust_policy(ACCT, &empty_ext).is_err());
    }

    #[test]
    fn custom_and_lists() {
        let c = TrustChoice {
            entity: "custom".into(),
            custom: "{}".into(),
            ..Default::default()
        };
        assert_eq!(trust_policy(ACCT, &c).unwrap(), "{}");
        assert!(
            trust_policy(
                ACCT,
                &TrustChoice {
                    entity: "custom".into(),
                    ..Default::default()
                }
            )
            .is_err()
        );
        assert_eq!(
            list_field("ecr:PutImage\r\n iam:ListUsers, sts:AssumeRole\n"),
            ["ecr:PutImage", "iam:ListUsers", "sts:AssumeRole"]
        );
    }

    fn web(provider: &str, audience: &str, subject: &str) -> TrustChoice {
        TrustChoice {
            entity: "web-identity".into(),
            provider: provider.into(),
            audience: audience.into(),
            subject: subject.into(),
            ..Default::default()
        }
    }

    #[test]
    fn web_identity_trust_is_the_iam_consoles() {
        let gh = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        let t = trust_policy(ACCT, &web(gh, "sts.amazonaws.com", "")).unwrap();
        assert_eq!(
            t,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#
        );
        assert!(!kagi_policy::has_errors(&kagi_policy::validate(
            &t,
            kagi_policy::PolicyType::Trust
        )));
        assert_eq!(entity_label("web-identity"), "Web identity");
    }

    #[test]
    fn web_identity_trust_with_a_subject_and_a_path() {
        let idp = "arn:aws:iam::123456789012:oidc-provider/127.0.0.1:9/idp";
        let t = trust_policy(ACCT, &web(idp, " my-app ", " repo:org/repo:* ")).unwrap();
        assert_eq!(
            t,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/127.0.0.1:9/idp"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"127.0.0.1:9/idp:aud":"my-app"},"StringLike":{"127.0.0.1:9/idp:sub":"repo:org/repo:*"}}}]}"#
        );
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v["Statement"][0]["Condition"]["StringLike"]["127.0.0.1:9/idp:sub"],
            "repo:org/repo:*"
        );
        assert!(!kagi_policy::has_errors(&kagi_policy::validate(
            &t,
            kagi_policy::PolicyType::Trust
        )));
        // Quotes in a subject stay inside their JSON string.
        let q = trust_policy(ACCT, &web(idp, "a", "x\"y")).unwrap();
        let v: Value = serde_json::from_str(&q).unwrap();
        assert_eq!(
            v["Statement"][0]["Condition"]["StringLike"]["127.0.0.1:9/idp:sub"],
            "x\"y"
        );
    }

    #[test]
    fn web_identity_needs_a_provider_and_an_audience() {
        let idp = "arn:aws:iam::123456789012:oidc-provider/example.com";
        assert_eq!(
            trust_policy(ACCT, &web("", "a", "")).unwrap_err(),
            "Choose an identity provider."
        );
        assert_eq!(
            trust_policy(ACCT, &web(idp, " ", "")).unwrap_err(),
            "Choose an audience."
        );
        assert!(trust_policy(ACCT, &web("arn:aws:iam::123456789012:role/x", "a", "")).is_err());
        assert!(trust_policy(ACCT, &web("arn:aws:iam::1:oidc-provider/", "a", "")).is_err());
        assert_eq!(provider_key_prefix(idp), Some("example.com"));
        assert_eq!(provider_key_prefix("oidc-provider/x"), None);
    }
}
