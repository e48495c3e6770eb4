//! `sso-oidc` (rest-json, unsigned: the client secret and codes are the credentials):
//! RegisterClient, StartDeviceAuthorization, CreateToken (device code, authorization code with
//! PKCE, refresh token), and `/authorize`, where a browser starts a PKCE sign-in (AWS CLI v2's
//! default since 2.22) and is sent to the portal's sign-in and approval pages.

use super::tokens::{self, Authorization, Client, Device};
use crate::error::{AwsError, AwsResult};
use crate::identity_center::{self, Instance};
use crate::state::AppState;
use crate::store::{GLOBAL, StoreExt, Table, TxExt};
use serde_json::{Value, json};

/// How long a device code or an authorization request may wait for approval (AWS: 600 s).
/// A server may shorten it for device codes (`AppState::sso_device_code_secs`, set from
/// `KAGI_SSO_DEVICE_CODE_SECONDS` at start).
pub const DEVICE_SECS: i64 = 600;
/// How long an authorization code is good for once issued.
pub const CODE_SECS: i64 = 300;
/// Client registrations last 90 days, as AWS's.
pub const CLIENT_SECS: i64 = 90 * 86_400;
/// The polling interval the device flow asks for.
pub const INTERVAL: i64 = 1;

/// An OIDC error as sso-oidc shapes it (`error`, `error_description`).
pub fn oidc_error(status: u16, code: &str, error: &str, description: &str) -> AwsError {
    let mut e = AwsError::new(status, code, description);
    // The wire body carries OAuth's `error` too: kept in the message's prefix for encoding.
    e.message = format!("{error}\n{description}");
    e
}

fn invalid_client() -> AwsError {
    oidc_error(
        401,
        "InvalidClientException",
        "invalid_client",
        "Client authentication failed.",
    )
}

fn invalid_grant(why: &str) -> AwsError {
    oidc_error(400, "InvalidGrantException", "invalid_grant", why)
}

fn invalid_request(why: &str) -> AwsError {
    oidc_error(400, "InvalidRequestException", "invalid_request", why)
}

/// The instance a start URL names: `BASE/start/d-XXXXXXXXXX` names its identity store; plain
/// `BASE/start` the only instance, or the bootstrap account's.
pub fn instance_for_start_url(state: &AppState, url: &str) -> AwsResult<Option<Instance>> {
    let path = url
        .split("://")
        .nth(1)
        .and_then(|r| r.find('/').map(|i| &r[i..]))
        .unwrap_or("")
        .trim_end_matches(['/', '#']);
    let store_id = path
        .strip_prefix("/start")
        .map(|r| r.trim_start_matches('/'))
        .filter(|r| r.starts_with("d-"));
    let all = state.store(GLOBAL).view(identity_center::instances)?;
    Ok(match store_id {
        Some(id) => all.into_iter().find(|i| i.identity_store_id == id),
        None if all.len() == 1 => all.into_iter().next(),
        None => all
            .into_iter()
            .find(|i| i.owner_account == state.bootstrap_account),
    })
}

pub fn instance_by_id(state: &AppState, id: &str) -> AwsResult<Option<Instance>> {
    Ok(state
        .store(GLOBAL)
        .view(|tx| tx.get_json(Table::IdentityCenter, &identity_center::keys::instance(id)))?)
}

fn strings(v: &Value, name: &str) -> Vec<String> {
    v[name]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

fn authenticate_client(state: &AppState, id: &str, secret: &str, now: i64) -> AwsResult<Client> {
    let c: Client = tokens::get(state, "client", id)?.ok_or_else(invalid_client)?;
    if !crate::crypto::ct_eq(tokens::hash(secret).as_bytes(), c.secret_hash.as_bytes())
        || c.expires <= now
    {
        return Err(invalid_client());
    }
    Ok(c)
}

pub fn register_client(state: &AppState, i: &Value, now: i64) -> AwsResult<Value> {
    let name = i["clientName"].as_str().unwrap_or("");
    let kind = i["clientType"].as_str().unwrap_or("");
    if kind != "public" {
        return Err(oidc_error(
            400,
            "InvalidClientMetadataException",
            "invalid_client_metadata",
            "Invalid client type: only public clients are supported.",
        ));
    }
    let redirect_uris = strings(i, "redirectUris");
    for u in &redirect_uris {
        // As AWS: PKCE redirects go to the client's own loopback listener.
        if loopback(u).is_none() {
            return Err(oidc_error(
                400,
                "InvalidRedirectUriException",
                "invalid_redirect_uri",
                "Invalid redirect URI: only loopback addresses are allowed.",
            ));
        }
    }
    let id = tokens::random_token(24);
    let secret = tokens::random_token(48);
    let c = Client {
        id: id.clone(),
        secret_hash: tokens::hash(&secret),
        name: name.to_owned(),
        scopes: strings(i, "scopes"),
        grant_types: strings(i, "grantTypes"),
        redirect_uris,
        issuer_url: i["issuerUrl"].as_str().map(str::to_owned),
        issued: now,
        expires: now + CLIENT_SECS,
    };
    tokens::put(state, "client", &id, &c)?;
    Ok(json!({
        "clientId": id,
        "clientSecret": secret,
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": c.expires,
    }))
}

/// A loopback redirect URI split into (host, port, path): `http://127.0.0.1[:PORT]/PATH` or
/// `http://localhost[:PORT]/PATH`; `None` otherwise.
fn loopback(u: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = u.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        Some(_) => return None,
        None => (authority, None),
    };
    matches!(host, "127.0.0.1" | "localhost").then_some((host, port, path))
}

/// Whether `requested` may be used with the registered redirect URI `registered`: equal, or,
/// for a loopback URI registered without a port (AWS CLI v2 registers
/// `http://127.0.0.1/oauth/callback` and listens on a random port), the same host and path on
/// any port (RFC 8252 section 7.3).
fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback(registered), loopback(requested)) {
        (Some((h1, None, p1)), Some((h2, Some(_), p2))) => h1 == h2 && p1 == p2,
        _ => false,
    }
}

/// `XXXX-XXXX` from letters that read unambiguously.
fn user_code() -> String {
    const A: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut b = [0u8; 8];
    crate::ids::random_bytes(&mut b);
    let s: String = b.iter().map(|x| A[*x as usize % A.len()] as char).collect();
    format!("{}-{}", &s[..4], &s[4..])
}

pub fn start_device_authorization(
    state: &AppState,
    base: &str,
    i: &Value,
    now: i64,
) -> AwsResult<Value> {
    let c = authenticate_client(
        state,
        i["clientId"].as_str().unwrap_or(""),
        i["clientSecret"].as_str().unwrap_or(""),
        now,
    )?;
    let start_url = i["startUrl"].as_str().unwrap_or("");
    let instance = instance_for_start_url(state, start_url)?.ok_or_else(|| {
        invalid_request("The start URL names no Identity Center instance of this server.")
    })?;
    let device_code = tokens::random_token(48);
    let code = user_code();
    let lifetime = state.sso_device_code_secs;
    let d = Device {
        client_id: c.id.clone(),
        user_code: code.clone(),
        instance_id: instance.id.clone(),
        interval: INTERVAL,
        expires: now + lifetime,
        last_poll: 0,
        approved_by: None,
        scopes: c.scopes.clone(),
    };
    let hashed = tokens::hash(&device_code);
    state.store(GLOBAL).write(|tx| {
        tx.put_json(Table::SsoTokens, &format!("device\0{hashed}"), &d)?;
        tx.put_json(
            Table::SsoTokens,
            &format!("usercode\0{code}"),
            &json!({"device": hashed, "expires": d.expires}),
        )
    })?;
    let verify = format!("{base}/start/device");
    Ok(json!({
        "deviceCode": device_code,
        "userCode": code,
        "verificationUri": verify,
        "verificationUriComplete": format!("{verify}?user_code={code}"),
        "expiresIn": lifetime,
        "interval": INTERVAL,
    }))
}

/// S256: base64url(sha256(verifier)) without padding.
fn s256(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

pub fn create_token(state: &AppState, i: &Value, now: i64) -> AwsResult<Value> {
    let c = authenticate_client(
        state,
        i["clientId"].as_str().unwrap_or(""),
        i["clientSecret"].as_str().unwrap_or(""),
        now,
    )?;
    let grant_type = i["grantType"].as_str().unwrap_or("");
    let (instance_id, user_id, scopes, family) = match grant_type {
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let code = i["deviceCode"].as_str().unwrap_or("");
            let key = tokens::hash(code);
            let d: Device = tokens::get(state, "device", &key)?
                .filter(|d: &Device| d.client_id == c.id)
                .ok_or_else(|| invalid_grant("Invalid device code provided"))?;
            if d.expires <= now {
                tokens::delete(state, "device", &key)?;
                return Err(oidc_error(
                    400,
                    "ExpiredTokenException",
                    "expired_token",
                    "Device code has expired",
                ));
            }
            match d.approved_by.as_deref() {
                None => {
                    let too_fast = d.last_poll > 0 && now - d.last_poll < d.interval;
                    tokens::put(
                        state,
                        "device",
                        &key,
                        &Device {
                            last_poll: now,
                            ..d.clone()
                        },
                    )?;
                    return Err(if too_fast {
                        oidc_error(
                            400,
                            "SlowDownException",
                            "slow_down",
                            "Client is polling too quickly",
                        )
                    } else {
                        oidc_error(
                            400,
                            "AuthorizationPendingException",
                            "authorization_pending",
                            "Authorization is still pending",
                        )
                    });
                }
                Some("") => {
                    tokens::delete(state, "device", &key)?;
                    return Err(oidc_error(
                        400,
                        "AccessDeniedException",
                        "access_denied",
                        "The user denied the request",
                    ));
                }
                Some(user) => {
                    // Single use.
                    tokens::take::<Device>(state, "device", &key)?
                        .ok_or_else(|| invalid_grant("Invalid device code provided"))?;
                    (
                        d.instance_id.clone(),
                        user.to_owned(),
                        d.scopes.clone(),
                        None,
                    )
                }
            }
        }
        "authorization_code" => {
            let code = i["code"].as_str().unwrap_or("");
            let verifier = i["codeVerifier"].as_str().unwrap_or("");
            let redirect = i["redirectUri"].as_str().unwrap_or("");
            let a: Authorization = tokens::take(state, "code", &tokens::hash(code))?
                .ok_or_else(|| invalid_grant("Invalid authorization code provided"))?;
            let user = a.user_id.clone().unwrap_or_default();
            if a.client_id != c.id
                || a.expires <= now
                || a.redirect_uri != redirect
                || user.is_empty()
                || !crate::crypto::ct_eq(s256(verifier).as_bytes(), a.code_challenge.as_bytes())
            {
                return Err(invalid_grant("Invalid authorization code provided"));
            }
            (a.instance_id, user, a.scopes, None)
        }
        "refresh_token" => {
            let r = i["refreshToken"].as_str().unwrap_or("");
            let g: tokens::Grant = tokens::take(state, "refresh", &tokens::hash(r))?
                .filter(|g: &tokens::Grant| g.client_id == c.id && g.expires > now)
                .ok_or_else(|| invalid_grant("Invalid refresh token provided"))?;
            (g.instance_id, g.user_id, g.scopes, Some(g.family))
        }
        other => {
            return Err(oidc_error(
                400,
                "UnsupportedGrantTypeException",
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            ));
        }
    };
    let instance = instance_by_id(state, &instance_id)?
        .ok_or_else(|| invalid_grant("The Identity Center instance no longer exists"))?;
    // A user deleted since the approval gets nothing.
    let alive = state.store(GLOBAL).view(|tx| {
        identity_center::user(tx, &instance.identity_store_id, &user_id).map(|u| u.is_some())
    })?;
    if !alive {
        return Err(invalid_grant("The user no longer exists"));
    }
    let (access, refresh, expires_in) = tokens::mint_tokens(
        state,
        &instance,
        &user_id,
        &c.id,
        &scopes,
        now,
        family.as_deref(),
    )?;
    Ok(json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": expires_in,
        "refreshToken": refresh,
    }))
}

/// `GET /authorize?response_type=code&client_id&redirect_uri&state&code_challenge_method=S256
/// &scopes&code_challenge`: checks the client and its redirect URI, records the request and
/// answers where the browser goes next (the portal's approval page), or an error text.
pub fn authorize(state: &AppState, query: &[(String, String)], now: i64) -> Result<String, String> {
    let q = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if q("response_type") != "code" || q("code_challenge_method") != "S256" {
        return Err("response_type must be code and code_challenge_method S256".into());
    }
    let c: Client = tokens::get(state, "client", q("client_id"))
        .map_err(|e| format!("{e:#}"))?
        .filter(|c: &Client| c.expires > now)
        .ok_or("unknown client")?;
    if !c
        .redirect_uris
        .iter()
        .any(|u| redirect_matches(u, q("redirect_uri")))
    {
        return Err("the redirect URI is not registered for this client".into());
    }
    if q("code_challenge").len() < 43 {
        return Err("code_challenge must be a S256 challenge".into());
    }
    // The instance: the client registered with the start URL as its issuer (PKCE clients do).
    let instance = instance_for_start_url(state, c.issuer_url.as_deref().unwrap_or("/start"))
        .map_err(|e| e.message)?
        .ok_or("no Identity Center instance")?;
    let request = tokens::random_token(24);
    let a = Authorization {
        client_id: c.id.clone(),
        redirect_uri: q("redirect_uri").to_owned(),
        state: q("state").to_owned(),
        code_challenge: q("code_challenge").to_owned(),
        instance_id: instance.id.clone(),
        scopes: q("scopes")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        expires: now + DEVICE_SECS,
        user_id: None,
    };
    tokens::put(state, "authreq", &request, &a).map_err(|e| format!("{e:#}"))?;
    Ok(format!("/start/authorize?request={request}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_on_any_port_when_registered_without_one() {
        let reg = "http://127.0.0.1/oauth/callback";
        assert!(loopback(reg).is_some());
        assert!(redirect_matches(
            reg,
            "http://127.0.0.1:49152/oauth/callback"
        ));
        assert!(!redirect_matches(reg, "http://127.0.0.1:49152/other"));
        assert!(!redirect_matches(
            reg,
            "http://localhost:49152/oauth/callback"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1000/oauth/callback",
            "http://127.0.0.1:2000/oauth/callback"
        ));
        assert!(loopback("https://evil.example/cb").is_none());
        assert!(loopback("http://127.0.0.1.evil.example/cb").is_none());
        assert!(loopback("http://127.0.0.1:x/cb").is_none());
    }
}
