//! kagi-console: the kagi web console, served by `kagi serve` under `/console` on its own port.
//!
//! # Design
//!
//! * **Server-rendered HTML**, built with `format!` and one escaping function ([`html::esc`]),
//!   in one layout ([`html::layout`]): a header with the service switcher (IAM, ECR,
//!   Organizations, IAM Identity Center, CloudTrail), the
//!   signed-in principal's menu (switch role, recent roles, security credentials, sign out) and
//!   the switched role's colour band (with the role's account); the service's left navigation; breadcrumbs; the page's
//!   title with its primary actions. Service, navigation entry, breadcrumbs and actions follow
//!   from the request's path ([`html::at_path`]). Lists are data tables ([`html::data_table`]:
//!   caption with the count, an empty state saying what to do next); detail pages are in tabs
//!   ([`html::tabs`]: sections reached by `#fragment`, so a redirect can return to one). After an
//!   action, the page it leads to says what it did, once (the session's `flash`).
//! * **One stylesheet, two scripts**, handwritten and compiled in: `/console/static/console.css`
//!   (`src/console.css`: design tokens as CSS variables, a dark theme following
//!   `prefers-color-scheme`, responsive down to a phone, visible focus);
//!   `/console/static/console.js` (`src/console.js`: the data tables' filter, sorting and
//!   pages, tabs, the account menu, busy submit buttons, copy buttons, confirm dialogs); and
//!   `/console/static/policy-editor.js` (`src/policy-editor.js`): the policy editors (line
//!   numbers, JSON highlighting, bracket matching, the policy engine's findings fetched from
//!   `POST /console/policies/validate` (CSRF-protected), listed and marked on their lines, and
//!   a table of what the draft allows ([`summary`])), and the role wizard's trust policy
//!   preview, which follows the chosen trusted entity (`POST /console/roles/trust-preview`: the
//!   server's generator, the one the review step uses). Everything is rendered with
//!   `textContent`. Every page works without the scripts (lists show every row, findings are
//!   also shown on submit, the preview is rendered for the submitted choice). A refused policy
//!   (findings or the service's error) comes back in its open editor with the user's draft.
//!   Documents are shown pretty-printed, with a summary table. No inline script or style, so
//!   `Content-Security-Policy: default-src 'self'` holds.
//! * **No second model, no privileged path.** The console never touches the store. It talks to
//!   the server only through the [`Backend`] trait, which kagi-server implements
//!   (`kagi_server::console_host`): [`Backend::invoke`] runs an IAM, STS, Organizations,
//!   Identity Center, CloudTrail or Access Analyzer operation *as the principal owning an
//!   access key id*, through the server's own pipeline (kagi-api validation
//!   → the handler, which authorises with kagi-policy → response value), exactly as an API call
//!   signed with that key would. A denial is AWS's `AccessDenied` message, shown in the page with
//!   status 403.
//! * **Sign-in** ([`Backend::sign_in`]) to any of the server's accounts, named by its 12-digit id
//!   or its account alias (as AWS's IAM-user sign-in; `/console?account=ID-OR-ALIAS` is the
//!   local form of AWS's `https://ACCOUNT.signin.aws.amazon.com/console` and fills the form in):
//!   the root user with the account and the root password (only the account the server started
//!   with has one: as on AWS, a created account's root must recover its password), an IAM user
//!   with account + user name + the password of their login profile (argon2id PHC strings,
//!   [`password`]). An unknown account or alias fails exactly like a wrong password. A successful sign-in returns temporary credentials minted by the
//!   server's STS session mechanism (a console session of that principal); the console keeps
//!   only their access key id, so every page action is authorised as that principal and stops
//!   when the credentials expire. Five failures per account+user lock sign-in for 15 minutes
//!   ([`session::Lockout`]).
//! * **ECR** pages call [`Backend::invoke_ecr`] in the session's region (picked with
//!   `?region=`, remembered in the session): ECR's own dispatch and authorisation
//!   (`kagi_ecr::Ecr::call`), so a role that may push but not list sees ECR's
//!   `AccessDeniedException` in the page. The "View push commands" panel is built from the
//!   registry endpoint ([`Backend::registry_endpoint`]) and needs no call.
//! * **Federation** ([`federation`]): AWS's `getSigninToken`/`login` protocol at `/federation`;
//!   [`Backend::federate`] checks the temporary credentials (a role session signs in as itself;
//!   a GetFederationToken user gets a console session of its own, `SessionDuration` long), the
//!   console keeps a single-use 15-minute token, and `login` opens the console session.
//! * **MFA at sign-in**: when [`Backend::sign_in`] answers [`SignInError::MfaRequired`], the
//!   console remembers (in memory, 5 minutes, keyed by a random cookie) only *that the password
//!   was right*, and asks for the code ([`Backend::sign_in_mfa`]); failures count toward the
//!   same lockout as passwords.
//! * **Passwords**: IAM users change theirs with `iam:ChangePassword`; the account root's
//!   console password (not an IAM entity) changes through [`Backend::change_root_password`],
//!   which checks the old one (wrong guesses count toward the root's lockout).
//! * **Switch role** is sts:AssumeRole as the signed-in identity, into a role of its own account
//!   or of another (named by id or alias, [`Backend::resolve_account`]; the server checks both
//!   the role's trust policy and the caller's own policies); every page then acts in the role's
//!   account. The band takes one of AWS's five colours and names the account; the last five
//!   roles (account + role) are one-click entries (per signed-in session).
//! * **Organizations** (`/console/organizations`): the organization, its accounts, its OUs as
//!   a tree, its control policies (SCPs, RCPs) with the policy editor, attach/detach, create
//!   account, create OU, move account — each an Organizations API call through
//!   [`Backend::invoke`] (service `organizations`), for principals of the management account;
//!   a member account sees a read-only notice, an account in none "Create organization".
//! * **IAM Identity Center** (`/console/sso`): the instance (or "Enable" when the account has
//!   none), the identity store's users and groups, permission sets, and AWS accounts with their
//!   assignments and provisioning status — each an `identitystore` or `sso-admin` call through
//!   [`Backend::invoke`]; a user's portal password is kagi's extension
//!   (`kagi-identity-center` `SetPortalPassword`, authorised as `identitystore:UpdateUser`),
//!   and so are a user's MFA devices (`ListMfaDevicesForUser`, `DeleteMfaDeviceForUser`) and
//!   the MFA settings (`Get`/`PutMfaDeviceManagementForDirectory`, `/console/sso/settings`).
//! * **CloudTrail's Event history** (`/console/cloudtrail/events`): the account's events newest
//!   first, filtered by one lookup attribute and a time range, paged with `NextToken`; an
//!   event's page shows its record and kagi's explanation of its authorisation (the
//!   statements that applied, with line and column; the context keys a condition missed) —
//!   each page a `cloudtrail` `LookupEvents` call through [`Backend::invoke`]. A role's
//!   Permissions tab generates a policy from the role's recorded calls (`access-analyzer`
//!   `StartPolicyGeneration`, `GetGeneratedPolicy`, `ListPolicyGenerations`) and creates and
//!   attaches it in one step (`iam` `CreatePolicy` + `AttachRolePolicy`).
//! * **Deleting** asks for the name typed (`delete` for a list's selection); the console's
//!   script opens those forms as modal `<dialog>`s naming what goes (without it, plain forms).
//! * Pages run on tokio's blocking pool (`spawn_blocking`): backend calls are synchronous
//!   (SQLite, argon2) and must not stall the server's async workers.
//! * The crate depends on kagi-policy (pure) only to show the policy engine's validation findings
//!   of a document in the policy editors (identity and trust policies), with line and column.
//!
//! The dependency points from the server to the console (as with kagi-ecr's `Host`), so the
//! console builds and unit-tests alone; the HTTP-level tests drive a real `kagi serve`
//! (`crates/server/tests/console.rs`).
//!
//! # Map
//!
//! | module | what |
//! |---|---|
//! | `lib.rs` | [`Backend`], [`router`], request entry: cookies, CSRF checks, security headers |
//! | [`pages`] | the routing table ([`pages::dispatch`]); it only dispatches |
//! | `pages/kit.rs` | what every page module shares: the signed-in context `P`, page frame and status, tables, documents, findings |
//! | `pages/iam.rs` | users, access keys, policies and versions, roles |
//! | `pages/signin.rs` | sign-in (root, IAM user) and its MFA step |
//! | `pages/switch.rs` | switch role, colours, recent roles |
//! | `pages/ecr.rs` | ECR repositories, images, push commands |
//! | `pages/orgs.rs` | Organizations: accounts, OU tree, control policies, attach/detach, create account/OU, move account |
//! | `pages/groups.rs` | groups: members, attached policies |
//! | `pages/iam_more.rs` | role wizard (this account, another account, web identity, custom) and trust editing, detach, policy versions, simulator, password pages |
//! | `pages/oidc.rs` | identity providers (OpenID Connect): list, add, audiences, delete; the role wizard's "Web identity" options |
//! | `pages/access_advisor.rs` | the Access Advisor tab (users, groups, roles, policies: IAM's last-accessed report), a role's Sessions tab and "Revoke active sessions" |
//! | `pages/inline.rs` | inline policies of users, roles, groups (list with documents, add, delete) |
//! | `pages/tags.rs` | tags of users and roles (list, add or change, remove) |
//! | `pages/delete.rs` | deleting users, roles, groups, policies, repositories (name typed to confirm; dependents first), and several at once from their lists ("Delete selected", `delete` typed) |
//! | `pages/sso.rs` | IAM Identity Center: the instance (enable), users (portal password), groups and members |
//! | `pages/sso_access.rs` | IAM Identity Center: permission sets (policies, boundary, settings) and AWS accounts (assignments, provisioning) |
//! | `pages/trail.rs` | CloudTrail's Event history: filters, pages, an event's record and kagi's explanation |
//! | `pages/generate.rs` | a role's "Generate policy based on CloudTrail events": window, result, create and attach, earlier generations |
//! | `pages/mfa.rs` | assigning a virtual MFA device (QR code via the `qrcode` crate, inline SVG) and removing it |
//! | [`federation`] | `/federation`: getSigninToken and login |
//! | [`session`] | sessions, CSRF tokens, constant-time compare, lockout |
//! | [`html`] | escaping, the layout (header, navigation, breadcrumbs), data tables, stylesheet and script |
//! | [`password`] | argon2id hashing and verification |
//! | [`summary`] | a policy document as a table: effect, service, actions, resources, principal, condition |
//!
//! # Web security invariants
//!
//! * Every POST carries a `csrf` field equal (constant-time) to the session's random token; the
//!   sign-in form uses a double-submit pre-session cookie. Mismatch → 403, nothing done.
//! * The session cookie is `HttpOnly; SameSite=Strict; Path=/console` with `Max-Age` no longer
//!   than the credentials; the session itself expires with them server-side.
//! * Every response carries `Content-Security-Policy: default-src 'self'; frame-ancestors
//!   'none'; form-action 'self'; base-uri 'none'` (`default-src` does not cover `base-uri`: an
//!   injected `<base>` could otherwise redirect relative links and the script's URL),
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
//!   `Cache-Control: no-store`.
//! * No secret in a URL or a log: passwords and new secret keys travel only in POST bodies and
//!   the response pages that show a new secret once (an access key's secret; a virtual MFA
//!   device's seed while it is being assigned); the console logs nothing. (The
//!   federation protocol itself puts temporary credentials in `getSigninToken`'s query, as AWS's
//!   does; that request goes from a tool, not a browser, and kagi logs no query strings.)
//! * Federation answers never echo a secret; sign-in tokens are single-use and live 15 minutes;
//!   `login` redirects only to same-origin `/console…` paths.
//! * Every page stays usable without the script and by keyboard: plain forms and links, labels
//!   bound to their inputs, `<details>` for panels.

#![forbid(unsafe_code)]

pub mod federation;
pub mod html;
pub mod pages;
pub mod password;
pub mod session;
pub mod state;
pub mod summary;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// An AWS error from an operation: code, message, HTTP status.
#[derive(Clone, Debug)]
pub struct CallError {
    pub code: String,
    pub message: String,
    pub status: u16,
}

/// Temporary credentials of a console session (the secret stays with the server).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    pub access_key_id: String,
    /// The principal's ARN (shown in the header).
    pub arn: String,
    /// Unix seconds.
    pub expires: i64,
    /// The login profile says "User must create a new password at next sign-in": until the
    /// password is changed, the session may open only the password page.
    pub password_reset_required: bool,
}

/// Why a sign-in did not succeed.
#[derive(Clone, Debug)]
pub enum SignInError {
    /// Wrong user, password or no login profile: one message for all (no user enumeration).
    Failed,
    /// Sign-in is not possible (e.g. no root password set); the message says why.
    Unavailable(String),
    /// The password was right and the user has an enabled MFA device: the sign-in finishes
    /// with [`Backend::sign_in_mfa`] and a current code.
    MfaRequired,
}

/// What the console needs from the server.
pub trait Backend: Send + Sync + 'static {
    /// The account the server started with (all a backend with one account serves).
    fn account_id(&self) -> String;
    /// Runs `service:operation` with `input` (the API's input shape) as the principal owning
    /// `access_key_id`, exactly like an API call: validated, authorised, handled.
    fn invoke(
        &self,
        access_key_id: &str,
        source_ip: IpAddr,
        service: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, CallError>;
    /// Checks a password (`user_name` `None` = the account root) of a principal of `account`
    /// (what the sign-in form's "Account ID or account alias" field says: a 12-digit account id
    /// or an account alias, which the backend resolves) and mints a console session, or answers
    /// [`SignInError::MfaRequired`] when the user has an enabled MFA device. An unknown account
    /// or alias fails exactly like a wrong password ([`SignInError::Failed`], in the same time).
    fn sign_in(
        &self,
        account: &str,
        user_name: Option<&str>,
        password: &str,
        source_ip: IpAddr,
    ) -> Result<Credentials, SignInError>;
    /// The second sign-in step for a user of `account` (as given to [`Backend::sign_in`]) whose
    /// password was just accepted: checks a code of their enabled MFA device (each time step at
    /// most once) and mints the console session.
    fn sign_in_mfa(
        &self,
        _account: &str,
        _user_name: &str,
        _code: &str,
        _source_ip: IpAddr,
    ) -> Result<Credentials, SignInError> {
        Err(SignInError::Failed)
    }
    /// The 12-digit id of the account that `account` names (an id of one of the server's
    /// accounts, or an account alias), if any: the switch-role form's "Account ID or alias",
    /// and the key failed sign-ins count under (an account named by id or by alias is one
    /// account). The default knows only [`Backend::account_id`].
    fn resolve_account(&self, account: &str) -> Option<String> {
        let own = self.account_id();
        (account.trim() == own).then_some(own)
    }
    /// Runs an ECR operation in `region` as the principal owning `access_key_id` (the same
    /// dispatch and authorisation as a signed ECR API call).
    fn invoke_ecr(
        &self,
        _access_key_id: &str,
        _region: &str,
        operation: &str,
        _input: Value,
    ) -> Result<Value, CallError> {
        Err(CallError {
            code: "UnknownOperationException".into(),
            message: format!("ECR is not available here (ecr:{operation})."),
            status: 400,
        })
    }
    /// Changes the account root's console password; `access_key_id` must be a session of the
    /// root. A wrong `old` password is `IncorrectPassword`; a weak new one
    /// `PasswordPolicyViolation`.
    fn change_root_password(
        &self,
        _access_key_id: &str,
        _old: &str,
        _new: &str,
    ) -> Result<(), CallError> {
        Err(CallError {
            code: "NotImplemented".into(),
            message: "The root password cannot be changed here.".into(),
            status: 501,
        })
    }
    /// The registry's `host:port` for `region` (what `repositoryUri` starts with).
    fn registry_endpoint(&self, _region: &str) -> Option<String> {
        None
    }
    /// Checks temporary credentials the server issued (access key id, secret compared in
    /// constant time, session token) and that they are still valid; answers the principal's
    /// console credentials (federation's `getSigninToken`): a role session's own, ending with
    /// them; for a federated user (GetFederationToken) a console session of its own lasting
    /// `session_duration` (seconds, already range-checked) or the default. `Err` is a short
    /// reason that never contains a secret.
    fn federate(
        &self,
        _access_key_id: &str,
        _secret_access_key: &str,
        _session_token: &str,
        _session_duration: Option<i64>,
    ) -> Result<Credentials, String> {
        Err("Federation is not available.".into())
    }
    /// Where sessions, pending MFA sign-ins, lockout counts and sign-in tokens live: `None`
    /// (the default) keeps them in this process ([`state::MemoryState`]); a server running as
    /// several nodes returns its shared store, so every node sees them.
    fn shared_state(&self) -> Option<Arc<dyn state::SharedState>> {
        None
    }
}

/// Shared console state.
pub struct Console {
    pub backend: Arc<dyn Backend>,
    pub sessions: session::Sessions,
    pub lockout: session::Lockout,
    /// Failed sign-ins per source address (any account).
    pub source_lockout: session::Lockout,
    /// Sign-ins waiting for their MFA code.
    pub pending_mfa: session::PendingMfa,
    /// Federation sign-in tokens (single use, 15 minutes).
    pub signin_tokens: federation::SigninTokens,
}

pub const SESSION_COOKIE: &str = "kagi-console";
pub const PRE_COOKIE: &str = "kagi-console-pre";
const BODY_LIMIT: usize = 256 * 1024;

/// The console's routes (`/console` and everything under it), to merge into the server's router.
pub fn router(backend: Arc<dyn Backend>) -> Router {
    let state: Arc<dyn state::SharedState> = backend
        .shared_state()
        .unwrap_or_else(|| Arc::new(state::MemoryState::default()));
    let console = Arc::new(Console {
        backend,
        sessions: session::Sessions::new(state.clone()),
        lockout: session::Lockout::new(state.clone()),
        source_lockout: session::Lockout::per_source(state.clone()),
        pending_mfa: session::PendingMfa::new(state.clone()),
        signin_tokens: federation::SigninTokens::new(state),
    });
    Router::new()
        .route("/federation", axum::routing::get(federation::entry))
        .route("/console", axum::routing::any(entry))
        .route("/console/", axum::routing::any(entry))
        .route("/console/{*rest}", axum::routing::any(entry))
        .with_state(console)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One parsed console request.
pub struct Req {
    pub method: Method,
    /// Path segments after `/console`, percent-decoded.
    pub segs: Vec<String>,
    /// The URL's query parameters (never a secret: forms with secrets are POSTed).
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
    pub source_ip: IpAddr,
}

impl Req {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a form field (checkboxes, multi-line lists).
    pub fn fields(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a body read failed on the server's body timeout (a `TimedOut` I/O error in the
/// chain; kagi-server's edge sets it).
fn body_timed_out(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(e) = cur {
        match e.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::TimedOut => return true,
            _ => cur = e.source(),
        }
    }
    false
}

async fn entry(State(c): State<Arc<Console>>, req: Request) -> Response {
    let source_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let (parts, body) = req.into_parts();
    let segs: Vec<String> = parts
        .uri
        .path()
        .trim_start_matches("/console")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let cookies = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect();
    let form = if parts.method == Method::POST {
        match axum::body::to_bytes(body, BODY_LIMIT).await {
            Ok(b) => form_urlencoded::parse(&b)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            Err(e) if body_timed_out(&e) => {
                return secure(pages::plain(
                    StatusCode::REQUEST_TIMEOUT,
                    "The request body did not arrive in time.",
                ));
            }
            Err(_) => {
                return secure(pages::plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request body too large.",
                ));
            }
        }
    } else {
        Vec::new()
    };
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let r = Req {
        method: parts.method,
        segs,
        query,
        form,
        cookies,
        source_ip,
    };
    // Pages call the backend synchronously (store transactions, argon2 at sign-in): off the
    // async workers.
    match tokio::task::spawn_blocking(move || pages::dispatch(&c, &r)).await {
        Ok(resp) => secure(resp),
        Err(_) => secure(pages::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The console could not answer this request.",
        )),
    }
}

/// Adds the security headers every console response carries.
pub fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An HTML response.
pub fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(body),
    )
        .into_response()
}

/// A 303 redirect, optionally setting cookies.
pub fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A `Set-Cookie` value for a console cookie living `max_age` seconds (0 = delete).
pub fn cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/console; Max-Age={max_age}")
}
