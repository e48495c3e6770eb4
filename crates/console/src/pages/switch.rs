//! Switch role (into a role of this account or, named by id or alias, of another): sts:AssumeRole as the signed-in identity (never as a role session when switching
//! again), the session's banner (display name, one of AWS's five colours), switch back, and
//! the recent roles as one-click entries.

use super::kit::{P, txt};
use crate::html::esc;
use crate::{now, redirect};
use axum::response::Response;
use serde_json::json;

impl P<'_> {
    /// The switch-role form, prefilled from a switch-role link's query as the AWS console's
    /// `switchrole?account=…&roleName=…&displayName=…&color=…` links do (colour by name or by
    /// AWS's hex code).
    pub(super) fn switch_role_form(&self) -> Response {
        let q = |k: &str| self.r.query(k).unwrap_or("").trim().to_owned();
        let wanted = q("color").trim_start_matches('#').to_ascii_lowercase();
        let chosen = crate::session::COLORS
            .iter()
            .position(|(v, _, css)| *v == wanted || css.trim_start_matches('#') == wanted)
            .unwrap_or(0);
        let colors: String = crate::session::COLORS
            .iter()
            .enumerate()
            .map(|(i, (v, label, css))| {
                format!(
                    r#"<label><input type="radio" name="Color" value="{v}"{checked}> <span class="swatch color-{v}" title="{css}"></span> {label}</label>"#,
                    checked = if i == chosen { " checked" } else { "" }
                )
            })
            .collect();
        // By default the signed-in identity's own account (also while switched).
        let base_arn = self
            .s
            .switched
            .as_ref()
            .map_or(&self.s.arn, |w| &w.base_arn);
        let account = match q("account") {
            a if a.is_empty() => crate::html::principal_name(base_arn).1,
            a => a,
        };
        let recent = if self.s.recent_roles.is_empty() {
            String::new()
        } else {
            let items: String = self
                .s
                .recent_roles
                .iter()
                .map(|r| {
                    format!(
                        r#"<li><form method="post" action="/console/switch-role" class="inline">{csrf}<input type="hidden" name="Account" value="{a}"><input type="hidden" name="RoleName" value="{n}"><input type="hidden" name="DisplayName" value="{d}"><input type="hidden" name="Color" value="{c}"><button type="submit" class="color-{c}">{d}</button></form> <small>{n} @ {a}</small></li>"#,
                        csrf = self.csrf(),
                        a = esc(&r.account),
                        n = esc(&r.role),
                        d = esc(&r.display_name),
                        c = esc(&r.color),
                    )
                })
                .collect();
            format!(r#"<h2>Recent roles</h2><ul class="recent-roles">{items}</ul>"#)
        };
        self.page(
            "Switch role",
            &format!(
                r#"{recent}<form method="post" action="/console/switch-role">{csrf}
<label>Account ID or alias <input type="text" name="Account" required maxlength="63" spellcheck="false" autocapitalize="none" value="{acct}"></label>
<label>Role <input type="text" name="RoleName" required value="{role}"></label>
<label>Display name (optional) <input type="text" name="DisplayName" maxlength="64" value="{display}"></label>
<fieldset><legend>Display color</legend>{colors}</fieldset>
<button type="submit">Switch role</button></form>"#,
                csrf = self.csrf(),
                acct = esc(&account),
                role = esc(&q("roleName")),
                display = esc(&q("displayName")),
            ),
        )
    }

    /// sts:AssumeRole as the signed-in principal; the console session then acts as the role
    /// session until it ends or "Switch back".
    pub(super) fn switch_role(&self) -> Response {
        let sid = self.sid;
        let account = self.field("Account");
        let role = self.field("RoleName");
        // Another account may be named by its alias, as in AWS's console; the role's ARN takes
        // its id.
        let account_id = if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
            account.clone()
        } else {
            match self.c.backend.resolve_account(&account) {
                Some(id) => id,
                None => {
                    return self.failed(
                        "Switch role",
                        &crate::CallError {
                            code: "InvalidInput".into(),
                            message: "Invalid information in one or more fields. Check your information or contact your administrator.".into(),
                            status: 400,
                        },
                    );
                }
            }
        };
        let display = match self.field("DisplayName") {
            d if d.is_empty() => format!("{role} @ {account}"),
            d => d,
        };
        let color = match self.field("Color") {
            c if crate::session::COLORS.iter().any(|(v, _, _)| *v == c) => c,
            _ => crate::session::COLORS[0].0.to_owned(),
        };
        // The signed-in identity (not a role session, when switching again from one).
        let (base_key, base_arn, base_expires) = match &self.s.switched {
            Some(w) => (
                w.base_access_key_id.clone(),
                w.base_arn.clone(),
                w.base_expires,
            ),
            None => (
                self.s.access_key_id.clone(),
                self.s.arn.clone(),
                self.s.expires,
            ),
        };
        let session_name: String = base_arn
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("console")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
            .take(64)
            .collect();
        let session_name = if session_name.len() < 2 {
            "console-session".to_owned()
        } else {
            session_name
        };
        let t = now();
        let out = match self.c.backend.invoke(
            &base_key,
            self.r.source_ip,
            "sts",
            "AssumeRole",
            json!({"RoleArn": format!("arn:aws:iam::{account_id}:role/{role}"),
                "RoleSessionName": session_name, "DurationSeconds": 3600}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed("Switch role", &e),
        };
        let key = txt(&out["Credentials"]["AccessKeyId"]);
        let arn = txt(&out["AssumedRoleUser"]["Arn"]);
        // At most the hour asked for (counted from before the call), and never past the sign-in.
        let expires = (t + 3600).min(base_expires);
        self.c.sessions.update(sid, |s| {
            s.access_key_id = key;
            s.arn = arn;
            s.expires = expires;
            s.switched = Some(crate::session::Switched {
                display_name: display.clone(),
                color: color.clone(),
                base_access_key_id: base_key,
                base_arn,
                base_expires,
            });
            s.remember_role(crate::session::RecentRole {
                account,
                role,
                display_name: display,
                color,
            });
        });
        redirect("/console/users", &[])
    }
}
