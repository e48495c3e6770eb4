//! AWS's sign-in federation protocol at `/federation` (what `kagi console` and tools that build
//! console URLs from temporary credentials call):
//!
//! * `GET /federation?Action=getSigninToken&Session=<JSON {"sessionId","sessionKey",
//!   "sessionToken"}>[&SessionDuration=900..43200]` → `{"SigninToken": "…"}`. The credentials
//!   must be temporary credentials this server issued and still valid ([`Backend::federate`]:
//!   secret compared in constant time, token checked). Anything else → 400 with a short text
//!   that never echoes the secret. `SessionDuration` is range-checked and sets a federated
//!   user's (GetFederationToken) console session length (never past its credentials); as on
//!   AWS it does not change a role session's, which ends at its credentials' expiry.
//! * `GET /federation?Action=login&Issuer=…&Destination=…&SigninToken=…` → 302 to the
//!   destination when it is a same-origin `/console…` path (else `/console/`), with the console
//!   session cookie of that principal.
//!
//! Sign-in tokens are 48 random bytes (64 base64url characters), kept only in memory, valid
//! [`TOKEN_SECS`] and removed when used: a token works once.

use crate::state::{SharedState, SharedStateExt};
use crate::{Backend, Console, Credentials, SESSION_COOKIE, cookie, now, secure};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// How long a sign-in token may wait for its login (seconds).
pub const TOKEN_SECS: i64 = 15 * 60;

/// Unused sign-in tokens, in the console's [`SharedState`] (any node may redeem one).
pub struct SigninTokens {
    state: Arc<dyn SharedState>,
}

const TOKEN: &str = "signin-token";

impl SigninTokens {
    pub fn new(state: Arc<dyn SharedState>) -> SigninTokens {
        SigninTokens { state }
    }

    /// Stores credentials under a new token minted at `now`.
    pub fn mint(&self, creds: Credentials, now: i64) -> String {
        let mut b = [0u8; 48];
        getrandom::fill(&mut b).expect("operating system randomness");
        use base64::Engine;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        self.state
            .put_json(TOKEN, &token, &(creds, now), now + TOKEN_SECS, now);
        token
    }

    /// Takes (removes) a token's credentials if it is known and not older than [`TOKEN_SECS`].
    pub fn redeem(&self, token: &str, now: i64) -> Option<Credentials> {
        let (creds, minted): (Credentials, i64) = self.state.take_json(TOKEN, token, now)?;
        (now - minted < TOKEN_SECS && now >= minted).then_some(creds)
    }
}

#[derive(Deserialize)]
struct SessionJson {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "sessionKey")]
    session_key: String,
    #[serde(rename = "sessionToken")]
    session_token: String,
}

fn bad(msg: &str) -> Response {
    secure(
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{msg}\n"),
        )
            .into_response(),
    )
}

pub async fn entry(State(c): State<Arc<Console>>, req: Request) -> Response {
    let q: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match get("Action").as_deref() {
        Some("getSigninToken") => {
            let (session, duration) = (get("Session"), get("SessionDuration"));
            match tokio::task::spawn_blocking(move || {
                signin_token(&*c.backend, &c, session.as_deref(), duration.as_deref())
            })
            .await
            {
                Ok(r) => r,
                Err(_) => bad("The sign-in token could not be issued."),
            }
        }
        Some("login") => login(
            &c,
            get("SigninToken").as_deref(),
            get("Destination").as_deref(),
            host.as_deref(),
        ),
        Some(_) => bad("Unsupported Action."),
        None => bad("Missing Action."),
    }
}

fn signin_token(
    backend: &dyn Backend,
    c: &Console,
    session: Option<&str>,
    duration: Option<&str>,
) -> Response {
    let duration = match duration {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(n) if (900..=43200).contains(&n) => Some(n),
            _ => return bad("SessionDuration must be a number of seconds from 900 to 43200."),
        },
    };
    let Some(session) = session else {
        return bad("Missing Session.");
    };
    let Ok(s) = serde_json::from_str::<SessionJson>(session) else {
        return bad(
            "Session must be JSON with sessionId, sessionKey and sessionToken (temporary credentials).",
        );
    };
    let creds = match backend.federate(&s.session_id, &s.session_key, &s.session_token, duration) {
        Ok(c) => c,
        Err(reason) => return bad(&reason),
    };
    let token = c.signin_tokens.mint(creds, now());
    secure(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "SigninToken": token }).to_string(),
        )
            .into_response(),
    )
}

/// The console path to land on: a `/console…` path, given as a path or as a URL of this very
/// origin; anything else is `/console/`.
pub fn destination_path(dest: Option<&str>, host: Option<&str>) -> String {
    let fallback = "/console/".to_owned();
    let Some(d) = dest else { return fallback };
    let path = match (d.strip_prefix("http://"), host) {
        (Some(rest), Some(h)) => match rest.strip_prefix(h) {
            Some(p) if p.is_empty() || p.starts_with('/') => p,
            _ => return fallback,
        },
        (Some(_), None) => return fallback,
        (None, _) => d,
    };
    let safe =
        (path == "/console" || path.starts_with("/console/") || path.starts_with("/console?"))
            && !path.contains("//")
            && !path.contains('\\')
            && path.chars().all(|c| c.is_ascii_graphic());
    if safe { path.to_owned() } else { fallback }
}

fn login(c: &Console, token: Option<&str>, dest: Option<&str>, host: Option<&str>) -> Response {
    let t = now();
    let Some(creds) = token.and_then(|tok| c.signin_tokens.redeem(tok, t)) else {
        return bad("The sign-in token is invalid, expired or already used.");
    };
    if creds.expires <= t {
        return bad("The credentials of this sign-in token have expired.");
    }
    let expires = creds.expires;
    let id = c
        .sessions
        .create(creds.access_key_id, creds.arn, expires, t);
    let mut r = (
        StatusCode::FOUND,
        [(header::LOCATION, destination_path(dest, host))],
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(SESSION_COOKIE, &id, expires - t)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    secure(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIAX".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/R/s".into(),
            expires: 10_000,
            password_reset_required: false,
        }
    }

    #[test]
    fn tokens_are_long_single_use_and_expire() {
        let t = SigninTokens::new(std::sync::Arc::new(crate::state::MemoryState::default()));
        let a = t.mint(creds(), 100);
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(t.redeem(&a, 101).unwrap().access_key_id, "ASIAX");
        assert!(t.redeem(&a, 101).is_none(), "single use");
        let b = t.mint(creds(), 100);
        assert!(t.redeem(&b, 100 + TOKEN_SECS).is_none(), "15 minutes");
        assert!(t.redeem("nope", 100).is_none());
    }

    #[test]
    fn only_same_origin_console_destinations() {
        let h = Some("127.0.0.1:5000");
        let d = |x: &str| destination_path(Some(x), h);
        assert_eq!(d("/console/ecr/repositories"), "/console/ecr/repositories");
        assert_eq!(
            d("http://127.0.0.1:5000/console/roles?x=1"),
            "/console/roles?x=1"
        );
        assert_eq!(d("http://127.0.0.1:5000"), "/console/");
        assert_eq!(d("https://console.aws.amazon.com/"), "/console/");
        assert_eq!(d("http://127.0.0.1:5000.evil.example/console"), "/console/");
        assert_eq!(d("http://evil.example/console/"), "/console/");
        assert_eq!(d("//evil.example/console/"), "/console/");
        assert_eq!(d("/console//evil.example"), "/console/");
        assert_eq!(d("/consolex"), "/console/");
        assert_eq!(d("/v2/"), "/console/");
        assert_eq!(destination_path(None, h), "/console/");
    }
}
