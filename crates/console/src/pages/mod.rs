//! The pages and form actions. Each page calls the [`Backend`](crate::Backend) as the signed-in
//! principal and renders what it answered; an AWS error is rendered with its own status (403 for
//! AccessDenied) and message instead of the data.

use crate::html::{error_box, seg};
use crate::session::ct_eq;
use crate::{Console, Req, SESSION_COOKIE, cookie, now, redirect};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod access_advisor;
mod delete;
mod ecr;
mod generate;
mod groups;
mod iam;
mod iam_more;
mod inline;
mod kit;
mod mfa;
mod oidc;
mod orgs;
mod signin;
mod sso;
mod sso_access;
mod switch;
mod tags;
mod trail;

use kit::{P, page_status};
pub use kit::{access_key_csv, findings_html};
pub use mfa::qr_svg;
use signin::{mfa_form, signin, signin_form, signin_mfa};

/// The policy editor's script (handwritten, served from `'self'`).
pub const POLICY_EDITOR_JS: &str = include_str!("../policy-editor.js");

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
            // `/console?account=ID-OR-ALIAS`: the local form of AWS's account sign-in URL
            // (`https://ACCOUNT.signin.aws.amazon.com/console`) opens the sign-in form for it.
            match (segs.as_slice(), r.query("account")) {
                ([], Some(a)) if !a.trim().is_empty() => redirect(
                    &format!("/console/signin?account={}", crate::html::seg(a.trim())),
                    &[],
                ),
                _ => redirect("/console/signin", &[]),
            }
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
        (["roles", n, "revoke-sessions"], _, true) => p.revoke_sessions(n),
        (["roles", "review"], _, true) => p.review_role(),
        (["roles", "trust-preview"], _, true) => p.trust_preview(),
        (["roles", n, "trust"], _, true) => p.update_trust(n),
        (["roles", n, "generate-policy"], _, true) => p.start_generation(n),
        (["roles", n, "generated-policies", job], true, _) => p.generated_policy(n, job),
        (["roles", n, "generated-policies", job], _, true) => p.create_generated_policy(n, job),
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
        (["ecr", "lifecycle-policy"], _, true) => p.ecr_set_lifecycle_policy(),
        (["ecr", "lifecycle-policy", "delete"], _, true) => p.ecr_delete_lifecycle_policy(),
        (["ecr", "delete-repository"], _, true) => {
            let name = p.r.field("repositoryName").unwrap_or("").to_owned();
            p.ecr_delete_repository(&name)
        }
        (["users", "delete-selected"], _, true) => p.delete_selected_users(),
        (["roles", "delete-selected"], _, true) => p.delete_selected_roles(),
        (["policies", "delete-selected"], _, true) => p.delete_selected_policies(),
        (["ecr", "delete-repositories"], _, true) => p.delete_selected_repositories(),
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
        (["organizations"], true, _) => p.organization(),
        (["organizations", "create"], _, true) => p.create_organization(),
        (["organizations", "accounts"], _, true) => p.create_org_account(),
        (["organizations", "ous"], _, true) => p.create_org_unit(),
        (["organizations", "move"], _, true) => p.move_org_account(),
        (["organizations", "policies"], true, _) => p.org_policies(),
        (["organizations", "policies"], _, true) => p.create_org_policy(),
        (["organizations", "policy-types"], _, true) => p.set_org_policy_type(),
        (["organizations", "policies", "new"], true, _) => p.new_org_policy(),
        (["organizations", "policies", id], true, _) => p.org_policy(id),
        (["organizations", "policies", id], _, true) => p.update_org_policy(id),
        (["organizations", "policies", id, "attach"], _, true) => p.attach_org_policy(id, true),
        (["organizations", "policies", id, "detach"], _, true) => p.attach_org_policy(id, false),
        (["sso"], true, _) => p.sso_dashboard(),
        (["sso", "enable"], _, true) => p.sso_enable(),
        (["sso", "users"], true, _) => p.sso_users(),
        (["sso", "users"], _, true) => p.sso_create_user(),
        (["sso", "users", u], true, _) => p.sso_user(u),
        (["sso", "users", u, "password"], _, true) => p.sso_user_password(u),
        (["sso", "users", u, "groups"], _, true) => p.sso_user_add_group(u),
        (["sso", "users", u, "groups", "remove"], _, true) => {
            p.sso_remove_membership(&format!("/console/sso/users/{}#groups", seg(u)))
        }
        (["sso", "users", u, "delete"], _, true) => p.sso_delete_user(u),
        (["sso", "users", u, "mfa", "delete"], _, true) => p.sso_delete_mfa_device(u),
        (["sso", "settings"], true, _) => p.sso_settings(),
        (["sso", "settings"], _, true) => p.sso_save_settings(),
        (["sso", "groups"], true, _) => p.sso_groups(),
        (["sso", "groups"], _, true) => p.sso_create_group(),
        (["sso", "groups", g], true, _) => p.sso_group(g),
        (["sso", "groups", g, "members"], _, true) => p.sso_add_member(g),
        (["sso", "groups", g, "members", "remove"], _, true) => {
            p.sso_remove_membership(&format!("/console/sso/groups/{}", seg(g)))
        }
        (["sso", "groups", g, "delete"], _, true) => p.sso_delete_group(g),
        (["sso", "permission-sets"], true, _) => p.sso_permission_sets(),
        (["sso", "permission-sets"], _, true) => p.sso_create_permission_set(),
        (["sso", "permission-sets", id], true, _) => p.sso_permission_set(id, None, StatusCode::OK),
        (["sso", "permission-sets", id, "inline"], _, true) => p.sso_put_inline(id),
        (["sso", "permission-sets", id, "delete"], _, true) => p.sso_delete_permission_set(id),
        (["sso", "permission-sets", id, rest @ ..], _, true) => p.sso_ps_action(id, rest),
        (["sso", "accounts"], true, _) => p.sso_accounts(),
        (["sso", "accounts", a], true, _) => p.sso_account(a),
        (["sso", "accounts", a, "assign"], _, true) => p.sso_assign(a),
        (["sso", "accounts", a, "assignments", "remove"], _, true) => p.sso_unassign(a),
        (["sso", "accounts", a, "provision"], _, true) => p.sso_provision(a),
        (["cloudtrail"], true, _) => redirect("/console/cloudtrail/events", &[]),
        (["cloudtrail", "events"], true, _) => p.trail_events(),
        (["cloudtrail", "events", id], true, _) => p.trail_event(id),
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
