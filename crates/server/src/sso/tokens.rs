//! Identity Center's sign-in state in [`Table::SsoTokens`] (store-wide scope, every row with an
//! `expires`; purged with the STS sessions): OIDC clients, device authorizations, PKCE
//! authorization requests and codes, access and refresh tokens, portal web sessions.
//!
//! Secrets are never stored: a row is keyed by the SHA-256 of the secret that names it (client
//! secrets, device codes, codes, tokens, session cookies), so a copy of the store lets nobody
//! sign in. Comparisons of presented secrets go through their hashes (no early exit on a
//! prefix).

use crate::identity_center::Instance;
use crate::state::AppState;
use crate::store::{GLOBAL, StoreExt, Table, TxExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `base64url` of `n` random bytes.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut b = vec![0u8; n];
    crate::ids::random_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn hash(secret: &str) -> String {
    kagi_sigv4::sha256_hex(secret.as_bytes())
}

/// A registered OIDC client (RegisterClient).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub secret_hash: String,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The start URL a PKCE client registered with (`issuerUrl`).
    #[serde(default)]
    pub issuer_url: Option<String>,
    pub issued: i64,
    pub expires: i64,
}

/// A device authorization (StartDeviceAuthorization), by the device code's hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Device {
    pub client_id: String,
    pub user_code: String,
    pub instance_id: String,
    pub interval: i64,
    pub expires: i64,
    #[serde(default)]
    pub last_poll: i64,
    /// The approving user (`None`: pending), or `Some("")` when denied.
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A PKCE authorization in progress (`/authorize`), then its code once approved.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Authorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub instance_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub expires: i64,
    /// Set when approved: the user.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// An access or refresh token's grant.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Grant {
    pub instance_id: String,
    pub user_id: String,
    pub client_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub expires: i64,
    /// The grant's family: a refresh and the access tokens minted from it share it, so that
    /// Logout ends all of them.
    pub family: String,
}

/// A portal web session (cookie), with its CSRF token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortalSession {
    pub instance_id: String,
    pub user_id: String,
    pub csrf: String,
    pub expires: i64,
}

pub fn get<T: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    key: &str,
) -> anyhow::Result<Option<T>> {
    state
        .store(GLOBAL)
        .view(|tx| tx.get_json(Table::SsoTokens, &format!("{kind}\0{key}")))
}

pub fn put<T: Serialize>(state: &AppState, kind: &str, key: &str, v: &T) -> anyhow::Result<()> {
    state
        .store(GLOBAL)
        .write(|tx| tx.put_json(Table::SsoTokens, &format!("{kind}\0{key}"), v))
}

pub fn delete(state: &AppState, kind: &str, key: &str) -> anyhow::Result<bool> {
    state
        .store(GLOBAL)
        .write(|tx| tx.delete(Table::SsoTokens, &format!("{kind}\0{key}")))
}

/// Takes a row: reads and deletes it in one transaction (single-use codes).
pub fn take<T: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    key: &str,
) -> anyhow::Result<Option<T>> {
    let k = format!("{kind}\0{key}");
    state.store(GLOBAL).write(|tx| {
        let v = tx.get_json(Table::SsoTokens, &k)?;
        if v.is_some() {
            tx.delete(Table::SsoTokens, &k)?;
        }
        Ok(v)
    })
}

/// Mints an access token (and a refresh token) for `user` of `instance`.
pub fn mint_tokens(
    state: &AppState,
    instance: &Instance,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
    family: Option<&str>,
) -> anyhow::Result<(String, String, i64)> {
    let access = format!("aoa{}", random_token(48));
    let refresh = format!("aor{}", random_token(48));
    let family = family
        .map(str::to_owned)
        .unwrap_or_else(|| random_token(12));
    let expires_in = instance.session_secs;
    let grant = |expires| Grant {
        instance_id: instance.id.clone(),
        user_id: user_id.to_owned(),
        client_id: client_id.to_owned(),
        scopes: scopes.to_vec(),
        expires,
        family: family.clone(),
    };
    let (a, r) = (grant(now + expires_in), grant(now + 90 * 86_400));
    state.store(GLOBAL).write(|tx| {
        tx.put_json(Table::SsoTokens, &format!("access\0{}", hash(&access)), &a)?;
        tx.put_json(
            Table::SsoTokens,
            &format!("refresh\0{}", hash(&refresh)),
            &r,
        )?;
        tx.put_json(
            Table::SsoTokens,
            &format!("family\0{}\0{}", a.family, hash(&access)),
            &serde_json::json!({"kind": "access", "expires": a.expires}),
        )?;
        tx.put_json(
            Table::SsoTokens,
            &format!("family\0{}\0{}", a.family, hash(&refresh)),
            &serde_json::json!({"kind": "refresh", "expires": r.expires}),
        )
    })?;
    Ok((access, refresh, expires_in))
}

/// The live grant of an access token.
pub fn access_grant(state: &AppState, token: &str, now: i64) -> anyhow::Result<Option<Grant>> {
    Ok(get::<Grant>(state, "access", &hash(token))?.filter(|g| g.expires > now))
}

/// Ends every token of `family` (Logout, a refresh token's rotation keeps the family).
pub fn end_family(state: &AppState, family: &str) -> anyhow::Result<()> {
    state.store(GLOBAL).write(|tx| {
        let prefix = format!("family\0{family}\0");
        for (k, v) in tx.scan_json::<serde_json::Value>(Table::SsoTokens, &prefix)? {
            let h = &k[prefix.len()..];
            let kind = v["kind"].as_str().unwrap_or("access");
            tx.delete(Table::SsoTokens, &format!("{kind}\0{h}"))?;
            tx.delete(Table::SsoTokens, &k)?;
        }
        Ok(())
    })
}
