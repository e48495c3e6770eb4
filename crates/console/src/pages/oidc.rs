//! IAM identity providers (OpenID Connect), as the IAM console's "Identity providers" pages:
//! the account's providers (ListOpenIDConnectProviders, then GetOpenIDConnectProvider for each),
//! adding one (provider URL, audiences, optional thumbprints), a provider's page (URL, ARN,
//! audiences added and removed, thumbprints, tags, "Assign role", delete), and the role
//! wizard's "Web identity" options (provider and audience choices, the subject pattern), each a
//! call by the signed-in principal.

use super::iam_more::{TrustChoice, list_field, provider_key_prefix};
use super::kit::{P, items, txt};
use crate::CallError;
use crate::html::{error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// One OIDC provider as GetOpenIDConnectProvider describes it (or why it could not).
pub(super) struct Provider {
    pub arn: String,
    /// `HOST/PATH` (what GetOpenIDConnectProvider answers as `Url`; the ARN's resource).
    pub url: String,
    pub audiences: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created: String,
    pub tags: Vec<(String, String)>,
    /// GetOpenIDConnectProvider was refused or failed.
    pub error: Option<CallError>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    items(v, key).iter().map(txt).collect()
}

fn selected(b: bool) -> &'static str {
    if b { " selected" } else { "" }
}

const BASE: &str = "/console/identity-providers";

fn provider_path(arn: &str) -> String {
    format!("{BASE}/{}", seg(arn))
}

impl P<'_> {
    /// GetOpenIDConnectProvider of `arn`.
    pub(super) fn oidc_provider(&self, arn: &str) -> Provider {
        let fallback = provider_key_prefix(arn).unwrap_or(arn).to_owned();
        match self.call(
            "iam",
            "GetOpenIDConnectProvider",
            json!({"OpenIDConnectProviderArn": arn}),
        ) {
            Ok(v) => Provider {
                arn: arn.to_owned(),
                url: Some(txt(&v["Url"]))
                    .filter(|u| !u.is_empty())
                    .unwrap_or(fallback),
                audiences: strings(&v, "ClientIDList"),
                thumbprints: strings(&v, "ThumbprintList"),
                created: txt(&v["CreateDate"]),
                tags: items(&v, "Tags")
                    .iter()
                    .map(|t| (txt(&t["Key"]), txt(&t["Value"])))
                    .collect(),
                error: None,
            },
            Err(e) => Provider {
                arn: arn.to_owned(),
                url: fallback,
                audiences: Vec::new(),
                thumbprints: Vec::new(),
                created: String::new(),
                tags: Vec::new(),
                error: Some(e),
            },
        }
    }

    /// The account's OIDC providers (ListOpenIDConnectProviders, then each described).
    pub(super) fn oidc_providers(&self) -> Result<Vec<Provider>, CallError> {
        let v = self.call("iam", "ListOpenIDConnectProviders", json!({}))?;
        Ok(items(&v, "OpenIDConnectProviderList")
            .iter()
            .map(|p| self.oidc_provider(&txt(&p["Arn"])))
            .collect())
    }

    /// `GET /console/identity-providers`.
    pub(super) fn identity_providers(&self) -> Response {
        let list = match self.oidc_providers() {
            Ok(l) => l,
            Err(e) => return self.failed("Identity providers", &e),
        };
        let rows: String = list
            .iter()
            .map(|p| {
                format!(
                    r#"<tr><td><a href="{href}">{url}</a></td><td>OpenID Connect</td><td><code>{arn}</code></td><td>{created}</td></tr>"#,
                    href = provider_path(&p.arn),
                    url = esc(&p.url),
                    arn = esc(&p.arn),
                    created = match &p.error {
                        None => esc(&p.created),
                        Some(e) => esc(&e.code),
                    },
                )
            })
            .collect();
        let table = crate::html::data_table(
            "Identity providers",
            "providers",
            &["Provider", "Type", "ARN", "Creation time"],
            &rows,
            list.len(),
            &format!(
                r#"<strong>No identity providers in this account.</strong> <a href="{BASE}/new">Add an OpenID Connect provider</a> so that its tokens can assume roles."#
            ),
        );
        self.page("Identity providers", &table)
    }

    /// `GET /console/identity-providers/new` (and again with a problem).
    pub(super) fn provider_form(
        &self,
        url: &str,
        audiences: &str,
        thumbprints: &str,
        problem: Option<&str>,
        status: StatusCode,
    ) -> Response {
        self.page_with_status(
            status,
            "Add an identity provider",
            &format!(
                r#"{problem}<form method="post" action="{BASE}">{csrf}
<p>Provider type: OpenID Connect</p>
<label for="provider-url">Provider URL (https://…; kagi also accepts http:// for a loopback host)</label> <input type="text" id="provider-url" name="Url" required maxlength="255" placeholder="https://token.actions.githubusercontent.com" value="{url}">
<label for="provider-audiences">Audience (client ID; one per line for several)</label>
<textarea id="provider-audiences" name="ClientIDList" rows="3" required spellcheck="false">{aud}</textarea>
<label for="provider-thumbprints">Thumbprints (optional: SHA-1 of the issuer's certificate, 40 hex digits, one per line)</label>
<textarea id="provider-thumbprints" name="ThumbprintList" rows="2" spellcheck="false">{thumbs}</textarea>
<button type="submit">Add provider</button></form>"#,
                problem = problem.unwrap_or(""),
                csrf = self.csrf(),
                url = esc(url),
                aud = esc(audiences),
                thumbs = esc(thumbprints),
            ),
        )
    }

    /// `POST /console/identity-providers`: CreateOpenIDConnectProvider, then its page.
    pub(super) fn create_provider(&self) -> Response {
        let url = self.field("Url");
        let audiences_raw = self.r.field("ClientIDList").unwrap_or("").to_owned();
        let thumbs_raw = self.r.field("ThumbprintList").unwrap_or("").to_owned();
        let again = |status: StatusCode, problem: &str| {
            self.provider_form(&url, &audiences_raw, &thumbs_raw, Some(problem), status)
        };
        let audiences = list_field(&audiences_raw);
        if audiences.is_empty() {
            return again(
                StatusCode::BAD_REQUEST,
                &error_box("ValidationError", "Enter at least one audience."),
            );
        }
        let mut input = json!({"Url": url, "ClientIDList": audiences});
        let thumbprints = list_field(&thumbs_raw);
        if !thumbprints.is_empty() {
            input["ThumbprintList"] = json!(thumbprints);
        }
        match self.call("iam", "CreateOpenIDConnectProvider", input) {
            Ok(v) => self.done(
                &provider_path(&txt(&v["OpenIDConnectProviderArn"])),
                "Identity provider added.",
            ),
            Err(e) => again(
                super::kit::error_status(&e),
                &error_box(&e.code, &e.message),
            ),
        }
    }

    /// `GET /console/identity-providers/ARN`.
    pub(super) fn identity_provider(&self, arn: &str) -> Response {
        let p = self.oidc_provider(arn);
        if let Some(e) = &p.error {
            return self.failed(&p.url, e);
        }
        let base = provider_path(arn);
        let csrf = self.csrf();
        let mut body = format!(
            r#"<p>Provider: <code>{url}</code><br>ARN: <code>{arn}</code><br>Type: OpenID Connect<br>Created: {created}</p>
<p><a href="/console/roles/new?provider={arn_q}">Assign role</a></p>
<h2>Audiences</h2>"#,
            url = esc(&p.url),
            arn = esc(arn),
            created = esc(&p.created),
            arn_q = seg(arn),
        );
        if p.audiences.is_empty() {
            body.push_str("<p>No audiences.</p>");
        } else {
            let rows: String = p
                .audiences
                .iter()
                .map(|a| {
                    format!(
                        r#"<tr><td><code>{a}</code></td><td><form method="post" action="{base}/audiences/remove" class="inline">{csrf}<input type="hidden" name="ClientID" value="{a}"><button type="submit" aria-label="Remove audience {a}">Remove</button></form></td></tr>"#,
                        a = esc(a),
                    )
                })
                .collect();
            body.push_str(&format!(
                "<table><thead><tr><th>Audience</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
            ));
        }
        body.push_str(&format!(
            r#"<form method="post" action="{base}/audiences">{csrf}
<label for="new-audience">Audience (client ID)</label> <input type="text" id="new-audience" name="ClientID" required maxlength="255">
<button type="submit">Add audience</button></form>
<h2>Thumbprints</h2>"#
        ));
        if p.thumbprints.is_empty() {
            body.push_str(
                "<p>None: the issuer's certificate is checked against trusted roots.</p>",
            );
        } else {
            // Stored and shown, as IAM does; kagi's token checks do not use them (AWS no longer
            // does for most providers).
            let li: String = p
                .thumbprints
                .iter()
                .map(|t| format!("<li><code>{}</code></li>", esc(t)))
                .collect();
            body.push_str(&format!("<ul>{li}</ul>"));
        }
        body.push_str("<h2>Tags</h2>");
        if p.tags.is_empty() {
            body.push_str("<p>No tags.</p>");
        } else {
            let rows: String = p
                .tags
                .iter()
                .map(|(k, v)| format!("<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v)))
                .collect();
            body.push_str(&format!(
                "<table><thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>{rows}</tbody></table>"
            ));
        }
        body.push_str(&self.delete_section("identity provider", &p.url, &format!("{base}/delete")));
        self.page(&p.url, &body)
    }

    /// `POST …/audiences` (AddClientIDToOpenIDConnectProvider) and `…/audiences/remove`
    /// (RemoveClientIDFromOpenIDConnectProvider).
    pub(super) fn provider_audience(&self, arn: &str, add: bool) -> Response {
        let (op, title) = if add {
            ("AddClientIDToOpenIDConnectProvider", "Add audience")
        } else {
            ("RemoveClientIDFromOpenIDConnectProvider", "Remove audience")
        };
        match self.call(
            "iam",
            op,
            json!({"OpenIDConnectProviderArn": arn, "ClientID": self.field("ClientID")}),
        ) {
            Ok(_) => self.done(&provider_path(arn), "Audiences updated."),
            Err(e) => self.failed(title, &e),
        }
    }

    /// `POST …/delete`: the provider's URL typed to confirm, then DeleteOpenIDConnectProvider.
    pub(super) fn delete_provider(&self, arn: &str) -> Response {
        let url = provider_key_prefix(arn).unwrap_or(arn);
        if let Some(r) = self.confirmed(url) {
            return r;
        }
        match self.call(
            "iam",
            "DeleteOpenIDConnectProvider",
            json!({"OpenIDConnectProviderArn": arn}),
        ) {
            Ok(_) => self.done(BASE, "Identity provider deleted."),
            Err(e) => self.failed("Delete identity provider", &e),
        }
    }

    /// The role wizard's "Web identity" options: the account's providers, their audiences
    /// (one group per provider; the script shows only the chosen provider's), the subject.
    pub(super) fn web_identity_fields(&self, c: &TrustChoice) -> String {
        let (providers, note) = match self.oidc_providers() {
            Ok(l) if l.is_empty() => (
                Vec::new(),
                format!(
                    r#"<p>This account has no identity provider yet. <a href="{BASE}/new">Add an identity provider</a> first.</p>"#
                ),
            ),
            Ok(l) => (l, String::new()),
            Err(e) => (
                Vec::new(),
                format!(
                    r#"<p class="bad">The identity providers cannot be listed: {}: {}</p>"#,
                    esc(&e.code),
                    esc(&e.message)
                ),
            ),
        };
        let provider_options: String = providers
            .iter()
            .map(|p| {
                format!(
                    r#"<option value="{a}"{s}>{u}</option>"#,
                    a = esc(&p.arn),
                    s = selected(p.arn == c.provider),
                    u = esc(&p.url),
                )
            })
            .collect();
        let audience_groups: String = providers
            .iter()
            .map(|p| {
                let opts: String = p
                    .audiences
                    .iter()
                    .map(|a| {
                        format!(
                            r#"<option value="{v}"{s}>{v}</option>"#,
                            v = esc(a),
                            s = selected(p.arn == c.provider && *a == c.audience),
                        )
                    })
                    .collect();
                format!(
                    r#"<optgroup label="{u}" data-provider="{a}">{opts}</optgroup>"#,
                    u = esc(&p.url),
                    a = esc(&p.arn),
                )
            })
            .collect();
        format!(
            r#"<fieldset><legend>Options (Web identity)</legend>{note}
<label for="identity-provider">Identity provider</label> <select id="identity-provider" name="IdentityProvider"><option value="">Choose a provider</option>{provider_options}</select>
<label for="audience">Audience</label> <select id="audience" name="Audience"><option value="">Choose an audience</option>{audience_groups}</select>
<label for="subject">Subject (optional; a pattern for the token's sub, e.g. repo:org/repo:*)</label> <input type="text" id="subject" name="Subject" maxlength="1024" value="{sub}"></fieldset>"#,
            sub = esc(&c.subject),
        )
    }

    /// For a web identity choice: the audience must be one of the chosen provider's (a form
    /// sent without the script may pair a provider with another's audience).
    pub(super) fn check_web_identity(&self, c: &TrustChoice) -> Result<(), String> {
        if c.entity != "web-identity" {
            return Ok(());
        }
        let p = self.oidc_provider(c.provider.trim());
        if let Some(e) = p.error {
            return Err(format!("{}: {}", e.code, e.message));
        }
        if !p.audiences.iter().any(|a| a == c.audience.trim()) {
            return Err(format!(
                "'{}' is not an audience of {}: choose one of its audiences.",
                c.audience.trim(),
                p.url
            ));
        }
        Ok(())
    }
}
