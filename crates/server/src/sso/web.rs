//! HTTP for Identity Center's sign-in half: the sso-oidc and portal APIs (rest-json, decoded
//! and validated by kagi-api against botocore's models) and the access portal's pages under
//! `/start` (sign in with the identity store's user name and password and, when the instance's
//! MFA settings ask for it, an authenticator app's code; approve a device code or a PKCE
//! request, see your accounts and roles, copy access keys, open the console; register and
//! delete your MFA devices). A portal session exists only after the whole sign-in, so every
//! approval, the access keys and the console link sit behind it.
//!
//! The pages follow the console's rules: the console's stylesheet and security headers (CSP
//! without inline script, no framing, no referrer), an HttpOnly SameSite=Lax session cookie
//! whose value is only stored hashed, a per-session CSRF token on every form, argon2id
//! password checks whose timing does not tell whether the user exists, and the console's
//! lockout (failures of the password or the code count per user name and per source address:
//! [`mfa::locked`]).

use super::tokens::{self, PortalSession};
use super::{mfa, oidc, portal};
use crate::error::AwsError;
use crate::identity_center::{self, Instance};
use crate::state::AppState;
use crate::store::{GLOBAL, StoreExt};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use kagi_console::html::esc;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

const COOKIE: &str = "kagi-portal";
/// A sign-in whose password was right, waiting for its MFA code or device registration.
const PENDING_COOKIE: &str = "kagi-portal-mfa";
/// A browser that completed MFA (context-aware MFA asks it again only from elsewhere).
const CONTEXT_COOKIE: &str = "kagi-portal-context";
/// How long a pending sign-in waits for its code (the console's five minutes).
const PENDING_SECS: i64 = kagi_console::session::MFA_WAIT_SECS;
/// How long a device registration started in the portal waits for its code.
const REGISTER_SECS: i64 = 10 * 60;
const BODY_LIMIT: usize = 64 << 10;

#[derive(Clone)]
struct Web {
    state: Arc<AppState>,
    /// The console's router: the portal's "Management console" link federates into it.
    console: Router,
}

pub fn router(state: Arc<AppState>, console: Router) -> Router {
    let web = Web { state, console };
    Router::new()
        .route("/client/register", axum::routing::post(oidc_entry))
        .route("/device_authorization", axum::routing::post(oidc_entry))
        .route("/token", axum::routing::post(oidc_entry))
        .route("/authorize", axum::routing::get(authorize_entry))
        .route("/federation/credentials", axum::routing::get(portal_entry))
        .route("/assignment/accounts", axum::routing::get(portal_entry))
        .route("/assignment/roles", axum::routing::get(portal_entry))
        .route("/logout", axum::routing::post(portal_entry))
        .route("/start", axum::routing::any(page_entry))
        .route("/start/", axum::routing::any(page_entry))
        .route("/start/{*rest}", axum::routing::any(page_entry))
        .with_state(web)
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn body_of(req: Request) -> Result<(axum::http::request::Parts, Bytes), Response> {
    let (parts, body) = req.into_parts();
    match http_body_util::Limited::new(body, BODY_LIMIT)
        .collect()
        .await
    {
        Ok(c) => Ok((parts, c.to_bytes())),
        Err(_) => Err((StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response()),
    }
}

/// The address clients reach this server at (`--public-url`, else the request's Host).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// A rest-json error as sso-oidc and the portal send them: `x-amzn-errortype` and a JSON body
/// (`error`/`error_description` for OIDC, `message` for the portal).
fn rest_error(e: &AwsError, oidc: bool) -> Response {
    let body = if oidc {
        let (error, description) = e
            .message
            .split_once('\n')
            .unwrap_or(("invalid_request", &e.message));
        serde_json::json!({"error": error, "error_description": description})
    } else {
        serde_json::json!({"message": e.message})
    };
    e.rest_json_response(&body, None)
}

fn json_ok(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn operation(
    service: &str,
    method: &Method,
    path: &str,
) -> Option<&'static kagi_api::model::Operation> {
    let svc = kagi_api::service(service)?;
    svc.operations().iter().find(|op| {
        op.http_method == method.as_str() && op.request_uri.split('?').next() == Some(path)
    })
}

async fn oidc_entry(State(web): State<Web>, req: Request) -> Response {
    let (parts, body) = match body_of(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(op) = operation("sso-oidc", &parts.method, parts.uri.path()) else {
        return rest_error(
            &AwsError::new(404, "InvalidRequestException", "no such operation"),
            true,
        );
    };
    let input = match kagi_api::rest::decode_server_request(op, &[], &[], &body) {
        Ok(v) => v,
        Err(e) => {
            return rest_error(
                &oidc::oidc_error(e.status, &e.code, "invalid_request", &e.message),
                true,
            );
        }
    };
    let base = base_url(&web.state, &parts.headers);
    let state = web.state.clone();
    let now = crate::ids::now_secs();
    let name = op.name;
    let out = tokio::task::spawn_blocking(move || match name {
        "RegisterClient" => oidc::register_client(&state, &input, now),
        "StartDeviceAuthorization" => oidc::start_device_authorization(&state, &base, &input, now),
        "CreateToken" => oidc::create_token(&state, &input, now),
        _ => Err(oidc::oidc_error(
            400,
            "InvalidRequestException",
            "invalid_request",
            "CreateTokenWithIAM is not served",
        )),
    })
    .await
    .unwrap_or_else(|e| Err(AwsError::from(anyhow::anyhow!("{e}"))));
    match out {
        Ok(v) => json_ok(kagi_api::rest::encode_server_response(op, &v)),
        Err(e) if e.message.contains('\n') => rest_error(&e, true),
        Err(e) => {
            let status = e.status;
            rest_error(
                &oidc::oidc_error(status, &e.code, "server_error", &e.message),
                true,
            )
        }
    }
}

async fn authorize_entry(State(web): State<Web>, req: Request) -> Response {
    let q = query_pairs(req.uri().query());
    let state = web.state.clone();
    let now = crate::ids::now_secs();
    match tokio::task::spawn_blocking(move || oidc::authorize(&state, &q, now)).await {
        Ok(Ok(next)) => kagi_console::secure(kagi_console::redirect(&next, &[])),
        Ok(Err(why)) => page(
            StatusCode::BAD_REQUEST,
            "Sign-in request refused",
            &format!("<p>{}</p>", esc(&why)),
        ),
        Err(_) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "<p>The request failed.</p>",
        ),
    }
}

async fn portal_entry(State(web): State<Web>, req: Request) -> Response {
    let (parts, body) = match body_of(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(op) = operation("sso", &parts.method, parts.uri.path()) else {
        return rest_error(
            &AwsError::new(404, "InvalidRequestException", "no such operation"),
            false,
        );
    };
    let input = match kagi_api::rest::decode_server_request(
        op,
        &query_pairs(parts.uri.query()),
        &header_pairs(&parts.headers),
        &body,
    ) {
        Ok(v) => v,
        Err(e) => {
            return rest_error(
                &AwsError::new(e.status, "InvalidRequestException", e.message),
                false,
            );
        }
    };
    let token = input["accessToken"].as_str().map(str::to_owned);
    let state = web.state.clone();
    let now = crate::ids::now_secs();
    let name = op.name;
    let out = tokio::task::spawn_blocking(move || {
        portal::handle(&state, name, token.as_deref(), &input, now, "us-east-1")
    })
    .await
    .unwrap_or_else(|e| Err(AwsError::from(anyhow::anyhow!("{e}"))));
    match out {
        Ok(v) => json_ok(kagi_api::rest::encode_server_response(op, &v)),
        Err(e) => rest_error(&e, false),
    }
}

// ---- pages ----

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · AWS access portal · kagi</title><link rel=\"stylesheet\" href=\"/console/static/console.css\"></head><body><header class=\"topbar\"><span class=\"brand\">kagi · AWS access portal</span></header><main id=\"main\" class=\"page\"><h1>{}</h1>{}</main></body></html>",
        esc(title),
        esc(title),
        body
    );
    kagi_console::secure(kagi_console::html_response(status, html))
}

fn session_cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/start; Max-Age={max_age}")
}

fn cookie_of(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

fn portal_session(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Option<(PortalSession, Instance)> {
    let c = cookie_of(headers)?;
    let s: PortalSession = tokens::get(state, "portal", &tokens::hash(&c)).ok()??;
    if s.expires <= now {
        return None;
    }
    let instance = oidc::instance_by_id(state, &s.instance_id).ok()??;
    // A deleted user's session ends with the user.
    state
        .store(GLOBAL)
        .view(|tx| identity_center::user(tx, &instance.identity_store_id, &s.user_id))
        .ok()??;
    Some((s, instance))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Only same-origin, relative `/start…` paths are followed after sign-in.
fn safe_next(next: &str) -> &str {
    if next.starts_with("/start") && !next.starts_with("//") && !next.contains(['\\', '\r', '\n']) {
        next
    } else {
        "/start/"
    }
}

async fn page_entry(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = match body_of(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let console = web.console.clone();
    let state = web.state.clone();
    let ip = peer.ip();
    let r = tokio::task::spawn_blocking(move || pages(&state, &parts, &body, ip)).await;
    match r {
        Ok(Ok(resp)) => resp,
        Ok(Err(Federate(creds))) => federate(console, creds).await,
        Err(_) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "<p>The request failed.</p>",
        ),
    }
}

/// Role credentials to sign in to the console with (the portal's "Management console").
struct Federate(Value);

fn pages(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: &[u8],
    ip: std::net::IpAddr,
) -> Result<Response, Federate> {
    let now = crate::ids::now_secs();
    let path = parts.uri.path().trim_end_matches('/');
    let sub = path.strip_prefix("/start").unwrap_or("");
    let q = query_pairs(parts.uri.query());
    let session = portal_session(state, &parts.headers, now);
    let post = parts.method == Method::POST;
    let f = if post { form(body) } else { Vec::new() };
    // Every POST but the sign-in carries the session's CSRF token (the MFA steps of a sign-in
    // carry the pending sign-in's).
    if post && !matches!(sub, "/signin" | "/signin/mfa" | "/signin/register") {
        let ok = session.as_ref().is_some_and(|(s, _)| {
            crate::crypto::ct_eq(s.csrf.as_bytes(), field(&f, "csrf").as_bytes())
        });
        if !ok {
            return Ok(page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "<p>The form expired. Go back and try again.</p>",
            ));
        }
    }
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/start/".into());
    match (sub, post, &session) {
        ("/signin", true, _) => Ok(sign_in(state, &parts.headers, &f, now, ip)),
        ("/signin/mfa", true, _) => Ok(sign_in_code(state, &parts.headers, &f, now, ip)),
        ("/signin/register", true, _) => Ok(sign_in_register(state, &parts.headers, &f, now, ip)),
        ("/signin/mfa" | "/signin/register", false, _) => {
            Ok(kagi_console::secure(kagi_console::redirect("/start/", &[])))
        }
        ("/signout", true, Some((s, _))) => {
            if let Some(c) = cookie_of(&parts.headers) {
                let _ = tokens::delete(state, "portal", &tokens::hash(&c));
                let _ = tokens::delete(state, "mfareg", &tokens::hash(&c));
            }
            let _ = s;
            Ok(kagi_console::secure(kagi_console::redirect(
                "/start/",
                &[session_cookie("", 0)],
            )))
        }
        (_, false, None) => Ok(sign_in_form(state, &here, None)),
        ("/device", false, Some((s, _))) => Ok(device_form(
            s,
            q.iter()
                .find(|(k, _)| k == "user_code")
                .map(|(_, v)| v.as_str())
                .unwrap_or(""),
        )),
        ("/device", true, Some((s, i))) => Ok(device_approve(state, s, i, &f, now)),
        ("/authorize", false, Some((s, _))) => Ok(authorize_form(
            state,
            s,
            q.iter()
                .find(|(k, _)| k == "request")
                .map(|(_, v)| v.as_str())
                .unwrap_or(""),
            now,
        )),
        ("/authorize", true, Some((s, i))) => Ok(authorize_approve(state, s, i, &f, now)),
        ("/credentials", true, Some((s, i))) => Ok(credentials(state, s, i, &f, now)),
        ("/console", true, Some((s, i))) => console_link(state, s, i, &f, now),
        ("" | "/", false, Some((s, i))) => Ok(home(state, s, i)),
        ("/mfa", false, Some((s, i))) => Ok(mfa_devices_page(state, s, i, &q, None)),
        ("/mfa/register", true, Some((s, i))) => {
            Ok(mfa_register_start(state, &parts.headers, s, i, now))
        }
        ("/mfa/confirm", true, Some((s, i))) => {
            Ok(mfa_register_finish(state, &parts.headers, s, i, &f, now))
        }
        ("/mfa/delete", true, Some((s, i))) => Ok(mfa_delete(state, s, i, &f)),
        _ => Ok(page(
            StatusCode::NOT_FOUND,
            "Not found",
            "<p>No such page. <a href=\"/start/\">Your accounts</a></p>",
        )),
    }
}

fn sign_in_form(state: &AppState, next: &str, error: Option<&str>) -> Response {
    let instance = oidc::instance_for_start_url(state, "/start").ok().flatten();
    let notice = match instance {
        None => "<p class=\"error\" role=\"alert\">IAM Identity Center is not enabled on this server (sso-admin CreateInstance).</p>".to_owned(),
        Some(_) => String::new(),
    };
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        "Sign in",
        &format!(
            "{notice}{err}<form method=\"post\" action=\"/start/signin\" class=\"form\"><input type=\"hidden\" name=\"next\" value=\"{}\"><label>Username <input name=\"username\" autocomplete=\"username\" required></label><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><button type=\"submit\" class=\"primary\">Sign in</button></form>",
            esc(safe_next(next))
        ),
    )
}

/// The form again with AWS's words for a refused sign-in, or the lockout's (429, as the
/// console answers it).
fn refused(state: &AppState, next: &str, locked: Option<Lock>) -> Response {
    match locked {
        Some(lock) => {
            let mins = (lock.secs + 59) / 60;
            let mut r = sign_in_form(
                state,
                next,
                Some(&if lock.source {
                    format!(
                        "Too many failed sign-in attempts from this address. Try again in {mins} minute(s)."
                    )
                } else {
                    format!(
                        "Too many failed sign-in attempts. Sign-in for this user is locked; try again in {mins} minute(s)."
                    )
                }),
            );
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        }
        None => sign_in_form(state, next, Some("Incorrect username or password.")),
    }
}

/// A lock in force: seconds left, and whether it is the source address's.
struct Lock {
    secs: i64,
    source: bool,
}

/// The lock in force for this source address or this user name, if any.
fn lock_of(
    state: &AppState,
    instance: &Instance,
    name: &str,
    ip: std::net::IpAddr,
    now: i64,
) -> Option<Lock> {
    if let Some(secs) = mfa::locked(state, &mfa::source_lock(ip), now) {
        return Some(Lock { secs, source: true });
    }
    mfa::locked(state, &mfa::user_lock(instance, name), now).map(|secs| Lock {
        secs,
        source: false,
    })
}

fn count_failure(
    state: &AppState,
    instance: &Instance,
    name: &str,
    ip: std::net::IpAddr,
    now: i64,
) {
    mfa::fail(state, &mfa::user_lock(instance, name), now);
    mfa::fail(state, &mfa::source_lock(ip), now);
}

fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
    now: i64,
    ip: std::net::IpAddr,
) -> Response {
    let next = safe_next(field(f, "next")).to_owned();
    let Ok(Some(instance)) = oidc::instance_for_start_url(state, "/start") else {
        return sign_in_form(
            state,
            &next,
            Some("IAM Identity Center is not enabled on this server."),
        );
    };
    let name = field(f, "username");
    let password = field(f, "password");
    if let Some(lock) = lock_of(state, &instance, name, ip, now) {
        return refused(state, &next, Some(lock));
    }
    let user = state
        .store(GLOBAL)
        .view(|tx| identity_center::user_by_name(tx, &instance.identity_store_id, name))
        .ok()
        .flatten();
    // Hash anyway when the user or password is missing: the timing tells nothing.
    let ok = match user.as_ref().and_then(|u| u.password_phc.as_deref()) {
        Some(phc) => kagi_console::password::verify(password, phc),
        None => {
            let _ = kagi_console::password::verify(password, dummy_phc());
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        count_failure(state, &instance, name, ip, now);
        return refused(state, &next, None);
    };
    let has_device = !mfa::devices(state, &instance.identity_store_id, &user.id).is_empty();
    let known = mfa::remembered(
        state,
        cookie_named(headers, CONTEXT_COOKIE).as_deref(),
        &instance,
        &user.id,
        ip,
        now,
    );
    match mfa::next_step(&instance.mfa, has_device, known) {
        mfa::Next::SignIn => {
            mfa::succeed(state, &mfa::user_lock(&instance, name));
            start_session(state, &instance, &user.id, &next, now, None)
        }
        mfa::Next::Blocked => page(
            StatusCode::FORBIDDEN,
            "Sign in",
            "<p class=\"error\" role=\"alert\">Your administrator requires multi-factor authentication (MFA), and you have no MFA device registered. Contact your administrator to register one.</p><p><a href=\"/start/\">Back to sign in</a></p>",
        ),
        step => {
            let register = step == mfa::Next::Register;
            let p = Pending {
                instance_id: instance.id.clone(),
                user_id: user.id.clone(),
                user_name: user.user_name.clone(),
                next: next.clone(),
                csrf: tokens::random_token(24),
                seed_sealed: register.then(|| {
                    state
                        .sealer
                        .seal(identity_center::MFA_SEED_PURPOSE, &mfa::new_seed())
                }),
                expires: now + PENDING_SECS,
            };
            let token = tokens::random_token(32);
            if tokens::put(state, "mfapending", &tokens::hash(&token), &p).is_err() {
                return page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sign in",
                    "<p>The sign-in could not be recorded.</p>",
                );
            }
            let cookie = format!(
                "{PENDING_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/start; Max-Age={PENDING_SECS}"
            );
            let mut resp = if register {
                register_at_sign_in_page(state, &instance, &p, StatusCode::OK, None)
            } else {
                code_page(&p, StatusCode::OK, None)
            };
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
    }
}

/// A sign-in whose password was right, waiting for the MFA step (`Table::SsoTokens`, keyed
/// by the SHA-256 of its cookie). It holds no password; a registration's seed is sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    instance_id: String,
    user_id: String,
    user_name: String,
    next: String,
    csrf: String,
    /// Set when the user must register a device first: the new device's seed.
    #[serde(default)]
    seed_sealed: Option<String>,
    expires: i64,
}

/// Creates the portal session (the cookie), remembering the browser when it came through MFA.
fn start_session(
    state: &AppState,
    instance: &Instance,
    user_id: &str,
    next: &str,
    now: i64,
    mfa_from: Option<std::net::IpAddr>,
) -> Response {
    let cookie = tokens::random_token(32);
    let s = PortalSession {
        instance_id: instance.id.clone(),
        user_id: user_id.to_owned(),
        csrf: tokens::random_token(24),
        expires: now + instance.session_secs,
    };
    if tokens::put(state, "portal", &tokens::hash(&cookie), &s).is_err() {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign in",
            "<p>The sign-in could not be recorded.</p>",
        );
    }
    let mut cookies = vec![session_cookie(&cookie, instance.session_secs)];
    if let Some(ip) = mfa_from {
        cookies.push(format!(
            "{PENDING_COOKIE}=; HttpOnly; SameSite=Lax; Path=/start; Max-Age=0"
        ));
        if let Some(t) = mfa::remember(state, instance, user_id, ip, now) {
            cookies.push(format!(
                "{CONTEXT_COOKIE}={t}; HttpOnly; SameSite=Lax; Path=/start; Max-Age={}",
                mfa::CONTEXT_SECS
            ));
        }
    }
    kagi_console::secure(kagi_console::redirect(next, &cookies))
}

/// The pending sign-in of this browser, if its form's CSRF token matches.
fn pending_of(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
    now: i64,
) -> Option<(String, Pending, Instance)> {
    let token = cookie_named(headers, PENDING_COOKIE)?;
    let key = tokens::hash(&token);
    let p: Pending = tokens::get(state, "mfapending", &key).ok()??;
    if p.expires <= now || !crate::crypto::ct_eq(p.csrf.as_bytes(), field(f, "csrf").as_bytes()) {
        return None;
    }
    let instance = oidc::instance_by_id(state, &p.instance_id).ok()??;
    Some((key, p, instance))
}

fn expired_sign_in(state: &AppState) -> Response {
    sign_in_form(
        state,
        "/start/",
        Some("Your sign-in expired. Sign in again."),
    )
}

fn code_page(p: &Pending, status: StatusCode, error: Option<&str>) -> Response {
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        status,
        "Multi-factor authentication",
        &format!(
            "{err}<p>Your administrator requires additional verification for <strong>{}</strong>. Open your authenticator app and type the code it shows.</p><form method=\"post\" action=\"/start/signin/mfa\" class=\"form\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><label>MFA code <input name=\"code\" required inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"one-time-code\"></label><button type=\"submit\" class=\"primary\">Sign in</button></form>",
            esc(&p.user_name),
            esc(&p.csrf)
        ),
    )
}

/// `POST /start/signin/mfa`: the code of a registered device.
fn sign_in_code(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
    now: i64,
    ip: std::net::IpAddr,
) -> Response {
    let (key, p, instance) = match pending_unlocked(state, headers, f, now, ip) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let code = field(f, "code").trim();
    if !mfa::verify(state, &instance.identity_store_id, &p.user_id, code, now) {
        count_failure(state, &instance, &p.user_name, ip, now);
        return code_page(
            &p,
            StatusCode::UNAUTHORIZED,
            Some("The MFA code is incorrect. Try again."),
        );
    }
    finish_sign_in(state, &key, &p, &instance, now, ip)
}

/// The pending sign-in a second-factor form continues — unless it expired, or its user or
/// source is locked out (the pending sign-in then ends): the answer to send instead.
fn pending_unlocked(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
    now: i64,
    ip: std::net::IpAddr,
) -> Result<(String, Pending, Instance), Box<Response>> {
    let Some((key, p, instance)) = pending_of(state, headers, f, now) else {
        return Err(Box::new(expired_sign_in(state)));
    };
    if let Some(lock) = lock_of(state, &instance, &p.user_name, ip, now) {
        let _ = tokens::delete(state, "mfapending", &key);
        return Err(Box::new(refused(state, &p.next, Some(lock))));
    }
    Ok((key, p, instance))
}

/// The second factor passed: the pending sign-in ends, the failures counted against the user
/// are forgotten, and the portal session starts.
fn finish_sign_in(
    state: &AppState,
    key: &str,
    p: &Pending,
    instance: &Instance,
    now: i64,
    ip: std::net::IpAddr,
) -> Response {
    let _ = tokens::delete(state, "mfapending", key);
    mfa::succeed(state, &mfa::user_lock(instance, &p.user_name));
    start_session(state, instance, &p.user_id, &p.next, now, Some(ip))
}

/// The registration form: the QR code of the `otpauth://` URI, the secret for typing in, a
/// device name and the app's code.
fn register_form(
    user_name: &str,
    store: &str,
    seed: &[u8],
    action: &str,
    hidden: &str,
    error: Option<&str>,
) -> String {
    let uri = mfa::otpauth_uri(user_name, store, seed);
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    format!(
        "{err}<ol><li>Install an authenticator app on your phone or computer.</li><li>Open it and scan this QR code (or type the secret key instead).<div class=\"qr\">{qr}</div><details><summary>Show secret key</summary><p><code>{secret}</code></p></details></li><li>Type the code the app shows.</li></ol><form method=\"post\" action=\"{action}\" class=\"form\">{hidden}<label>Device name <input name=\"name\" value=\"Authenticator app\" required maxlength=\"64\"></label><label>Authenticator code <input name=\"code\" required inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"one-time-code\"></label><button type=\"submit\" class=\"primary\">Assign MFA</button></form>",
        qr = kagi_console::pages::qr_svg(&uri),
        secret = esc(&crate::totp::base32_encode(seed)),
        action = esc(action),
    )
}

fn register_at_sign_in_page(
    state: &AppState,
    instance: &Instance,
    p: &Pending,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let seed = p
        .seed_sealed
        .as_deref()
        .and_then(|s| state.sealer.open(identity_center::MFA_SEED_PURPOSE, s))
        .unwrap_or_default();
    page(
        status,
        "Register an MFA device",
        &format!(
            "<p>Your administrator requires multi-factor authentication (MFA). Register an authenticator app to finish signing in as <strong>{}</strong>.</p>{}",
            esc(&p.user_name),
            register_form(
                &p.user_name,
                &instance.identity_store_id,
                &seed,
                "/start/signin/register",
                &format!(
                    "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
                    esc(&p.csrf)
                ),
                error
            )
        ),
    )
}

/// `POST /start/signin/register`: the first device, registered at sign-in, then signed in.
fn sign_in_register(
    state: &AppState,
    headers: &HeaderMap,
    f: &[(String, String)],
    now: i64,
    ip: std::net::IpAddr,
) -> Response {
    let (key, p, instance) = match pending_unlocked(state, headers, f, now, ip) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(seed) = p
        .seed_sealed
        .as_deref()
        .and_then(|s| state.sealer.open(identity_center::MFA_SEED_PURPOSE, s))
    else {
        return expired_sign_in(state);
    };
    match mfa::register(
        state,
        &instance.identity_store_id,
        &p.user_id,
        field(f, "name"),
        &seed,
        field(f, "code").trim(),
        now,
    ) {
        Ok(_) => finish_sign_in(state, &key, &p, &instance, now, ip),
        Err(e) => {
            if e.code == "ValidationException" && e.message.contains("code") {
                count_failure(state, &instance, &p.user_name, ip, now);
            }
            register_at_sign_in_page(
                state,
                &instance,
                &p,
                StatusCode::BAD_REQUEST,
                Some(&e.message),
            )
        }
    }
}

// ---- the signed-in user's MFA devices ----

/// A device registration begun in the portal: the new seed, sealed, by the session.
#[derive(serde::Serialize, serde::Deserialize)]
struct Registration {
    user_id: String,
    seed_sealed: String,
    expires: i64,
}

fn mfa_devices_page(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    q: &[(String, String)],
    error: Option<&str>,
) -> Response {
    let store = &instance.identity_store_id;
    let manage = instance.mfa.users_manage;
    let list = mfa::devices(state, store, &s.user_id);
    let rows: String = list
        .iter()
        .map(|d| {
            let delete = if manage {
                format!(
                    "<form method=\"post\" action=\"/start/mfa/delete\" class=\"inline\">{}<input type=\"hidden\" name=\"device\" value=\"{id}\"><button type=\"submit\" aria-label=\"Delete {n}\">Delete</button></form>",
                    csrf(s),
                    id = esc(&d.id),
                    n = esc(&d.name),
                )
            } else {
                String::new()
            };
            format!(
                "<tr><td>{}</td><td>Authenticator app</td><td>{}</td><td>{}</td><td>{delete}</td></tr>",
                esc(&d.name),
                esc(&crate::ids::iso8601(d.registered)),
                if d.last_used > 0 {
                    esc(&crate::ids::iso8601(d.last_used))
                } else {
                    "Never".to_owned()
                },
            )
        })
        .collect();
    let done = q
        .iter()
        .find(|(k, _)| k == "done")
        .map(|(_, v)| match v.as_str() {
            "registered" => "<p class=\"notice\" role=\"status\">MFA device registered.</p>",
            "deleted" => "<p class=\"notice\" role=\"status\">MFA device deleted.</p>",
            _ => "",
        })
        .unwrap_or("");
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let table = if list.is_empty() {
        "<p>You have no MFA devices registered.</p>".to_owned()
    } else {
        format!(
            "<table><caption>Your MFA devices</caption><thead><tr><th scope=\"col\">Device name</th><th scope=\"col\">Type</th><th scope=\"col\">Registered</th><th scope=\"col\">Last used</th><th scope=\"col\">Actions</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let register = if manage {
        format!(
            "<form method=\"post\" action=\"/start/mfa/register\">{}<button type=\"submit\" class=\"primary\">Register device</button></form>",
            csrf(s)
        )
    } else {
        "<p>Your administrator manages MFA devices.</p>".to_owned()
    };
    page(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        "MFA devices",
        &format!(
            "{done}{err}<p>An authenticator app gives a code to type after your password when you sign in.</p>{table}{register}<p><a href=\"/start/\">Back to your accounts</a></p>"
        ),
    )
}

fn not_managed() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "MFA devices",
        "<p class=\"error\" role=\"alert\">Your administrator manages MFA devices.</p><p><a href=\"/start/mfa\">Back</a></p>",
    )
}

fn registration_page(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    seed: &[u8],
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let name = state
        .store(GLOBAL)
        .view(|tx| identity_center::user(tx, &instance.identity_store_id, &s.user_id))
        .ok()
        .flatten()
        .map(|u| u.user_name)
        .unwrap_or_default();
    page(
        status,
        "Register an MFA device",
        &register_form(
            &name,
            &instance.identity_store_id,
            seed,
            "/start/mfa/confirm",
            &csrf(s),
            error,
        ),
    )
}

/// `POST /start/mfa/register`: a new seed, kept (sealed) for this session until confirmed.
fn mfa_register_start(
    state: &AppState,
    headers: &HeaderMap,
    s: &PortalSession,
    instance: &Instance,
    now: i64,
) -> Response {
    if !instance.mfa.users_manage {
        return not_managed();
    }
    let Some(cookie) = cookie_of(headers) else {
        return expired_sign_in(state);
    };
    let seed = mfa::new_seed();
    let r = Registration {
        user_id: s.user_id.clone(),
        seed_sealed: state.sealer.seal(identity_center::MFA_SEED_PURPOSE, &seed),
        expires: now + REGISTER_SECS,
    };
    if tokens::put(state, "mfareg", &tokens::hash(&cookie), &r).is_err() {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Register an MFA device",
            "<p>The registration could not be recorded.</p>",
        );
    }
    registration_page(state, s, instance, &seed, StatusCode::OK, None)
}

/// `POST /start/mfa/confirm`: the app's code; the device is registered.
fn mfa_register_finish(
    state: &AppState,
    headers: &HeaderMap,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Response {
    if !instance.mfa.users_manage {
        return not_managed();
    }
    let key = cookie_of(headers)
        .map(|c| tokens::hash(&c))
        .unwrap_or_default();
    let r: Option<Registration> = tokens::get(state, "mfareg", &key).ok().flatten();
    let seed = r
        .filter(|r| r.expires > now && r.user_id == s.user_id)
        .and_then(|r| {
            state
                .sealer
                .open(identity_center::MFA_SEED_PURPOSE, &r.seed_sealed)
        });
    let Some(seed) = seed else {
        return mfa_devices_page(
            state,
            s,
            instance,
            &[],
            Some("The registration expired. Register the device again."),
        );
    };
    match mfa::register(
        state,
        &instance.identity_store_id,
        &s.user_id,
        field(f, "name"),
        &seed,
        field(f, "code").trim(),
        now,
    ) {
        Ok(_) => {
            let _ = tokens::delete(state, "mfareg", &key);
            kagi_console::secure(kagi_console::redirect("/start/mfa?done=registered", &[]))
        }
        Err(e) => registration_page(
            state,
            s,
            instance,
            &seed,
            StatusCode::BAD_REQUEST,
            Some(&e.message),
        ),
    }
}

/// `POST /start/mfa/delete`.
fn mfa_delete(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
) -> Response {
    if !instance.mfa.users_manage {
        return not_managed();
    }
    match mfa::delete(
        state,
        &instance.identity_store_id,
        &s.user_id,
        field(f, "device"),
    ) {
        Ok(true) => kagi_console::secure(kagi_console::redirect("/start/mfa?done=deleted", &[])),
        _ => mfa_devices_page(state, s, instance, &[], Some("No such MFA device.")),
    }
}

fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| kagi_console::password::hash(&kagi_console::password::random_password()))
}

fn csrf(s: &PortalSession) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

fn device_form(s: &PortalSession, code: &str) -> Response {
    page(
        StatusCode::OK,
        "Authorize request",
        &format!(
            "<p>A device or application asks to act as you. Approve it only if you started it and the code matches what it shows.</p><form method=\"post\" action=\"/start/device\" class=\"form\">{}<label>Code <input name=\"user_code\" value=\"{}\" required autocomplete=\"off\"></label><button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow access</button> <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            csrf(s),
            esc(code)
        ),
    )
}

fn device_approve(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Response {
    let code = field(f, "user_code").trim().to_ascii_uppercase();
    let allow = field(f, "decision") == "allow";
    let found: Option<Value> = tokens::get(state, "usercode", &code).ok().flatten();
    let device_key = found
        .as_ref()
        .filter(|v| v["expires"].as_i64().unwrap_or(0) > now)
        .and_then(|v| v["device"].as_str().map(str::to_owned));
    let Some(key) = device_key else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            "<p class=\"error\" role=\"alert\">This code is unknown or has expired.</p>",
        );
    };
    let d: Option<tokens::Device> = tokens::get(state, "device", &key).ok().flatten();
    let Some(mut d) = d.filter(|d| d.instance_id == instance.id && d.approved_by.is_none()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            "<p class=\"error\" role=\"alert\">This code is unknown or has expired.</p>",
        );
    };
    d.approved_by = Some(if allow {
        s.user_id.clone()
    } else {
        String::new()
    });
    let _ = tokens::put(state, "device", &key, &d);
    let _ = tokens::delete(state, "usercode", &code);
    page(
        StatusCode::OK,
        if allow {
            "Request approved"
        } else {
            "Request denied"
        },
        if allow {
            "<p>You can close this window and return to your terminal.</p>"
        } else {
            "<p>The request was denied.</p>"
        },
    )
}

fn authorize_form(state: &AppState, s: &PortalSession, request: &str, now: i64) -> Response {
    let a: Option<tokens::Authorization> = tokens::get(state, "authreq", request).ok().flatten();
    let Some(a) = a.filter(|a| a.expires > now) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            "<p class=\"error\" role=\"alert\">This request is unknown or has expired.</p>",
        );
    };
    let client: Option<tokens::Client> = tokens::get(state, "client", &a.client_id).ok().flatten();
    let name = client.map(|c| c.name).unwrap_or_default();
    let resp = page(
        StatusCode::OK,
        "Allow access?",
        &format!(
            "<p><strong>{}</strong> asks to access your AWS accounts and roles (scopes: {}).</p><form method=\"post\" action=\"/start/authorize\" class=\"form\">{}<input type=\"hidden\" name=\"request\" value=\"{}\"><button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\">Allow access</button> <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            esc(&name),
            esc(&a.scopes.join(", ")),
            csrf(s),
            esc(request)
        ),
    );
    allow_form_redirect(resp, &a.redirect_uri)
}

/// The approval form's answer redirects to the client's loopback listener: browsers apply
/// `form-action` to the redirects of a form submission (Chromium blocks it under `'self'`), so
/// this page's policy also names the listener's origin (a loopback URI, checked at
/// `/authorize`), and nothing else.
fn allow_form_redirect(mut resp: Response, redirect_uri: &str) -> Response {
    let Some(rest) = redirect_uri.strip_prefix("http://") else {
        return resp;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.split(':').next().unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost")
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b':')
    {
        return resp;
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "default-src 'self'; frame-ancestors 'none'; form-action 'self' http://{authority}; base-uri 'none'"
    )) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

fn authorize_approve(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Response {
    let request = field(f, "request");
    let a: Option<tokens::Authorization> = tokens::take(state, "authreq", request).ok().flatten();
    let Some(mut a) = a.filter(|a| a.expires > now && a.instance_id == instance.id) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorize request",
            "<p class=\"error\" role=\"alert\">This request is unknown or has expired.</p>",
        );
    };
    let mut target = a.redirect_uri.clone();
    target.push(if target.contains('?') { '&' } else { '?' });
    if field(f, "decision") != "allow" {
        target.push_str(&format!(
            "error=access_denied&state={}",
            kagi_api::rest::percent_encode(&a.state, false)
        ));
        return kagi_console::secure(kagi_console::redirect(&target, &[]));
    }
    let code = tokens::random_token(32);
    a.user_id = Some(s.user_id.clone());
    a.expires = now + oidc::CODE_SECS;
    if tokens::put(state, "code", &tokens::hash(&code), &a).is_err() {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Authorize request",
            "<p>The approval could not be recorded.</p>",
        );
    }
    target.push_str(&format!(
        "code={}&state={}",
        kagi_api::rest::percent_encode(&code, false),
        kagi_api::rest::percent_encode(&a.state, false)
    ));
    // The redirect goes to the client's loopback listener (checked at registration).
    kagi_console::secure(kagi_console::redirect(&target, &[]))
}

fn home(state: &AppState, s: &PortalSession, instance: &Instance) -> Response {
    let entitled = state
        .store(GLOBAL)
        .view(|tx| identity_center::entitlements(tx, instance, &s.user_id))
        .unwrap_or_default();
    let records = state
        .store(GLOBAL)
        .view(crate::accounts::all)
        .unwrap_or_default();
    let user = state
        .store(GLOBAL)
        .view(|tx| identity_center::user(tx, &instance.identity_store_id, &s.user_id))
        .ok()
        .flatten();
    let mut rows = String::new();
    for (account, ps) in &entitled {
        let name = records
            .iter()
            .find(|r| r.id == *account)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/start/console\" class=\"inline\">{c}<input type=\"hidden\" name=\"account\" value=\"{a}\"><input type=\"hidden\" name=\"role\" value=\"{r}\"><button type=\"submit\">Management console</button></form> <form method=\"post\" action=\"/start/credentials\" class=\"inline\">{c}<input type=\"hidden\" name=\"account\" value=\"{a}\"><input type=\"hidden\" name=\"role\" value=\"{r}\"><button type=\"submit\">Access keys</button></form></td></tr>",
            esc(&name),
            esc(account),
            esc(&ps.name),
            c = csrf(s),
            a = esc(account),
            r = esc(&ps.name),
        ));
    }
    let table = if entitled.is_empty() {
        "<p>You have no AWS account assignments yet. An administrator assigns permission sets to you (sso-admin CreateAccountAssignment).</p>".to_owned()
    } else {
        format!(
            "<table><caption>Your accounts and roles</caption><thead><tr><th scope=\"col\">Account</th><th scope=\"col\">Account ID</th><th scope=\"col\">Permission set</th><th scope=\"col\">Access</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    page(
        StatusCode::OK,
        "AWS accounts",
        &format!(
            "<p>Signed in as <strong>{}</strong>. <a href=\"/start/mfa\">MFA devices</a></p>{table}<form method=\"post\" action=\"/start/signout\">{}<button type=\"submit\">Sign out</button></form>",
            esc(&user.map(|u| u.user_name).unwrap_or_default()),
            csrf(s)
        ),
    )
}

/// Role credentials for the signed-in user (`None`: not entitled).
fn role_credentials(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Result<Value, AwsError> {
    let grant = tokens::Grant {
        instance_id: instance.id.clone(),
        user_id: s.user_id.clone(),
        client_id: String::new(),
        scopes: Vec::new(),
        expires: s.expires,
        family: String::new(),
    };
    portal::get_role_credentials(
        state,
        &grant,
        instance,
        field(f, "account"),
        field(f, "role"),
        now,
        "us-east-1",
    )
}

fn credentials(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Response {
    match role_credentials(state, s, instance, f, now) {
        Ok(v) => {
            let c = &v["roleCredentials"];
            let text = format!(
                "export AWS_ACCESS_KEY_ID=\"{}\"\nexport AWS_SECRET_ACCESS_KEY=\"{}\"\nexport AWS_SESSION_TOKEN=\"{}\"",
                c["accessKeyId"].as_str().unwrap_or(""),
                c["secretAccessKey"].as_str().unwrap_or(""),
                c["sessionToken"].as_str().unwrap_or("")
            );
            page(
                StatusCode::OK,
                "Access keys",
                &format!(
                    "<p>Temporary credentials for <strong>{}</strong> in account <strong>{}</strong>. They expire; do not share them.</p><pre aria-label=\"Credentials\">{}</pre><p><a href=\"/start/\">Back to your accounts</a></p>",
                    esc(field(f, "role")),
                    esc(field(f, "account")),
                    esc(&text)
                ),
            )
        }
        Err(e) => page(
            StatusCode::FORBIDDEN,
            "Access keys",
            &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&e.message)),
        ),
    }
}

fn console_link(
    state: &AppState,
    s: &PortalSession,
    instance: &Instance,
    f: &[(String, String)],
    now: i64,
) -> Result<Response, Federate> {
    match role_credentials(state, s, instance, f, now) {
        Ok(v) => Err(Federate(v["roleCredentials"].clone())),
        Err(e) => Ok(page(
            StatusCode::FORBIDDEN,
            "Management console",
            &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(&e.message)),
        )),
    }
}

/// Signs in to the console with role credentials through its own federation endpoint (an
/// in-process call: the credentials never reach the browser), then sends the browser to the
/// console with the sign-in token.
async fn federate(console: Router, creds: Value) -> Response {
    use tower::ServiceExt as _;
    let session = serde_json::json!({
        "sessionId": creds["accessKeyId"],
        "sessionKey": creds["secretAccessKey"],
        "sessionToken": creds["sessionToken"],
    })
    .to_string();
    let uri = format!(
        "/federation?Action=getSigninToken&Session={}",
        kagi_api::rest::percent_encode(&session, false)
    );
    let Ok(req) = Request::builder().uri(uri).body(axum::body::Body::empty()) else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Management console",
            "<p>The sign-in failed.</p>",
        );
    };
    let Ok(resp) = console.oneshot(req).await;
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["SigninToken"].as_str().map(str::to_owned));
    match token {
        Some(t) => kagi_console::secure(kagi_console::redirect(
            &format!(
                "/federation?Action=login&Issuer=portal&Destination=%2Fconsole%2F&SigninToken={}",
                kagi_api::rest::percent_encode(&t, false)
            ),
            &[],
        )),
        None => page(
            StatusCode::BAD_GATEWAY,
            "Management console",
            "<p>The console refused the sign-in.</p>",
        ),
    }
}
