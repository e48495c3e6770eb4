//! Sign-in to an account named by its id or its alias (`/console?account=…` or
//! `/console/signin?account=…`, the local form of AWS's `https://ACCOUNT.signin.aws.amazon.com/console`,
//! fills it in): the root user or an IAM user with a password, then (when the user has an enabled
//! virtual MFA device) a second step asking for a code. The forms use a double-submit
//! pre-session CSRF cookie; failures count toward the lockout.

use super::kit::page_status;
use crate::html::{error_box, layout};
use crate::session::{ct_eq, random_token};
use crate::{
    Console, Credentials, PRE_COOKIE, Req, SESSION_COOKIE, SignInError, cookie, html_response, now,
    redirect,
};
use axum::http::{StatusCode, header};
use axum::response::Response;

const BAD_SIGNIN: &str = "Your authentication information is incorrect. Please try again.";

/// The sign-in form. The account id and user name are kept from `r` (the failed attempt's
/// fields, or a sign-in link's `?account=…&username=…`); the password never is.
pub(super) fn signin_form(r: &Req, error: Option<&str>, status: StatusCode) -> Response {
    let keep = |k: &str| crate::html::esc(r.field(k).or_else(|| r.query(k)).unwrap_or("").trim());
    let (account, user) = (keep("account"), keep("username"));
    let pre = random_token();
    let err = error
        .map(|e| error_box("SignInFailed", e))
        .unwrap_or_default();
    let body = format!(
        r#"{err}<form method="post" action="/console/signin">
<input type="hidden" name="csrf" value="{pre}">
<label>Account ID (12 digits) or account alias <input type="text" name="account" required autocomplete="organization" spellcheck="false" autocapitalize="none" value="{account}"></label>
<label>IAM user name (leave empty to sign in as the root user) <input type="text" name="username" autocomplete="username" value="{user}"></label>
<label>Password <input type="password" name="password" required autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>"#
    );
    let mut resp = html_response(status, layout("Sign in", None, &body));
    if let Ok(v) = header::HeaderValue::from_str(&cookie(PRE_COOKIE, &pre, 600)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub(super) fn signin(c: &Console, r: &Req) -> Response {
    if !pre_csrf_ok(r) {
        return page_status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            None,
            &error_box(
                "InvalidCsrfToken",
                "The sign-in form's CSRF token is missing or does not match. Reload the sign-in page.",
            ),
        );
    }
    let account = r.field("account").unwrap_or("").trim();
    let user = r.field("username").map(str::trim).filter(|u| !u.is_empty());
    let password = r.field("password").unwrap_or("");
    let t = now();
    // Failures count per account whether it was named by id or by alias (an unknown name
    // counts under itself).
    let lock_account = c
        .backend
        .resolve_account(account)
        .unwrap_or_else(|| account.to_ascii_lowercase());
    let key = format!(
        "{lock_account}\0{}",
        user.map(str::to_ascii_lowercase)
            .unwrap_or_else(|| "root".into())
    );
    if let Some(locked) = source_locked(c, r, t) {
        return locked;
    }
    if let Err(left) = c.lockout.check(&key, t) {
        let mins = (left + 59) / 60;
        return signin_form(
            r,
            Some(&format!(
                "Too many failed sign-in attempts. Sign-in for this user is locked; try again in {mins} minute(s)."
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let source = r.source_ip.to_string();
    match c.backend.sign_in(account, user, password, r.source_ip) {
        Ok(creds) => {
            c.lockout.succeed(&key);
            start_session(c, creds, &[PRE_COOKIE])
        }
        Err(SignInError::Failed) => {
            c.source_lockout.fail(&source, t);
            c.lockout.fail(&key, t);
            signin_form(r, Some(BAD_SIGNIN), StatusCode::UNAUTHORIZED)
        }
        Err(SignInError::Unavailable(msg)) => signin_form(r, Some(&msg), StatusCode::UNAUTHORIZED),
        Err(SignInError::MfaRequired) => {
            // The password was right; the code is still to come. The lockout count stays
            // until the whole sign-in succeeds.
            let Some(user) = user else {
                return signin_form(r, Some(BAD_SIGNIN), StatusCode::UNAUTHORIZED);
            };
            let id = c.pending_mfa.create(
                crate::session::Pending {
                    account: account.to_owned(),
                    user_name: user.to_owned(),
                    lock_key: key,
                    expires: t + crate::session::MFA_WAIT_SECS,
                },
                t,
            );
            redirect(
                "/console/signin/mfa",
                &[cookie(MFA_COOKIE, &id, crate::session::MFA_WAIT_SECS)],
            )
        }
    }
}

const MFA_COOKIE: &str = "kagi-console-mfa";

/// The sign-in form saying so, while this source address is locked out (too many failures,
/// whatever accounts they named).
fn source_locked(c: &Console, r: &Req, t: i64) -> Option<Response> {
    let left = c.source_lockout.check(&r.source_ip.to_string(), t).err()?;
    let mins = (left + 59) / 60;
    Some(signin_form(
        r,
        Some(&format!(
            "Too many failed sign-in attempts from this address. Try again in {mins} minute(s)."
        )),
        StatusCode::TOO_MANY_REQUESTS,
    ))
}

/// The second sign-in step: the code of the user's virtual MFA device.
pub(super) fn mfa_form(c: &Console, r: &Req, error: Option<&str>, status: StatusCode) -> Response {
    let t = now();
    if r.cookie(MFA_COOKIE)
        .and_then(|id| c.pending_mfa.get(id, t))
        .is_none()
    {
        return redirect("/console/signin", &[]);
    }
    let pre = random_token();
    let err = error
        .map(|e| error_box("SignInFailed", e))
        .unwrap_or_default();
    let body = format!(
        r#"{err}<p>Your account is protected by a multi-factor authentication (MFA) device. Enter the code from your authenticator app.</p>
<form method="post" action="/console/signin/mfa">
<input type="hidden" name="csrf" value="{pre}">
<label for="mfa-code">MFA code</label> <input type="text" id="mfa-code" name="code" required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{{6}}" maxlength="6">
<button type="submit">Submit</button></form>
<p><a href="/console/signin">Cancel</a></p>"#
    );
    let mut resp = html_response(status, layout("Multi-factor authentication", None, &body));
    if let Ok(v) = header::HeaderValue::from_str(&cookie(PRE_COOKIE, &pre, 600)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

pub(super) fn signin_mfa(c: &Console, r: &Req) -> Response {
    if !pre_csrf_ok(r) {
        return page_status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            None,
            &error_box(
                "InvalidCsrfToken",
                "The form's CSRF token is missing or does not match. Sign in again.",
            ),
        );
    }
    let t = now();
    let pid = r.cookie(MFA_COOKIE).unwrap_or("").to_owned();
    let Some(p) = c.pending_mfa.get(&pid, t) else {
        return redirect("/console/signin", &[]);
    };
    if let Some(locked) = source_locked(c, r, t) {
        return locked;
    }
    if let Err(left) = c.lockout.check(&p.lock_key, t) {
        c.pending_mfa.remove(&pid);
        let mins = (left + 59) / 60;
        return signin_form(
            r,
            Some(&format!(
                "Too many failed sign-in attempts. Sign-in for this user is locked; try again in {mins} minute(s)."
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let code = r.field("code").unwrap_or("").trim();
    match c
        .backend
        .sign_in_mfa(&p.account, &p.user_name, code, r.source_ip)
    {
        Ok(creds) => {
            c.pending_mfa.remove(&pid);
            c.lockout.succeed(&p.lock_key);
            start_session(c, creds, &[PRE_COOKIE, MFA_COOKIE])
        }
        Err(SignInError::Unavailable(msg)) => mfa_form(c, r, Some(&msg), StatusCode::UNAUTHORIZED),
        Err(_) => {
            c.source_lockout.fail(&r.source_ip.to_string(), t);
            c.lockout.fail(&p.lock_key, t);
            mfa_form(
                c,
                r,
                Some("The MFA code is not valid. Please try again."),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// The sign-in forms' double-submit check: the form's `csrf` equals the pre-session cookie.
fn pre_csrf_ok(r: &Req) -> bool {
    match (r.cookie(PRE_COOKIE), r.field("csrf")) {
        (Some(a), Some(b)) => !a.is_empty() && ct_eq(a, b),
        _ => false,
    }
}

/// A successful sign-in: the console session, its cookie (never outliving the credentials),
/// the sign-in cookies in `clear` removed, and the first page — the password change when the
/// login profile requires a new password.
fn start_session(c: &Console, creds: Credentials, clear: &[&str]) -> Response {
    let expires = creds.expires;
    let reset = creds.password_reset_required;
    // Read the clock again: the cookie must not outlive the credentials.
    let t = now();
    let id = c
        .sessions
        .create(creds.access_key_id, creds.arn, expires, t);
    if reset {
        c.sessions.update(&id, |s| s.must_change_password = true);
    }
    let mut cookies = vec![cookie(SESSION_COOKIE, &id, (expires - t).max(0))];
    cookies.extend(clear.iter().map(|name| cookie(name, "", 0)));
    redirect(
        if reset {
            "/console/password"
        } else {
            "/console/users"
        },
        &cookies,
    )
}
