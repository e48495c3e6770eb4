//! MFA for IAM Identity Center users: authenticator apps (RFC 6238 TOTP through
//! [`crate::totp`]) registered in the AWS access portal, checked at the portal's sign-in after
//! the password, and the administrator's side (kagi's `KagiIdentityCenter` extension: a user's
//! devices listed and deleted, the instance's MFA settings read and changed).
//!
//! A device row ([`ic::MfaDevice`], `STORE\0mfa\0USER\0DEVICE` in the store-wide
//! `Table::IdentityCenter`) holds its seed sealed with the data key; a code is compared in
//! constant time within ±1 time step, and a step once accepted (at registration or sign-in)
//! is never accepted again: the check and the update are one write transaction, so two
//! requests racing with the same code cannot both pass.
//!
//! Sign-in failures (password or code) count per instance and user name and per source
//! address in `Table::SsoTokens`, with the console's limits (5 per user, 20 per address, 15
//! minutes): [`locked`], [`fail`], [`succeed`]. Context-aware MFA remembers a browser that
//! completed MFA ([`remember`]): a random cookie whose hash keys a row naming the user and the
//! source address, for [`CONTEXT_SECS`].

use super::tokens;
use crate::error::{AwsError, AwsResult};
use crate::identity_center::{self as ic, Instance, MfaDevice, MfaSettings, keys};
use crate::state::{AppState, Ctx};
use crate::store::{GLOBAL, StoreExt, Table, TxExt};
use crate::totp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long a browser that completed MFA is remembered by context-aware MFA.
pub const CONTEXT_SECS: i64 = 30 * 86_400;
/// Failures before an instance's user name is locked (the console's number).
pub const MAX_FAILURES: u32 = kagi_console::session::MAX_FAILURES;
/// Failures from one source address before it is locked.
pub const SOURCE_MAX_FAILURES: u32 = kagi_console::session::SOURCE_MAX_FAILURES;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = kagi_console::session::LOCK_SECS;
const FAILURES_KEPT_SECS: i64 = 24 * 3600;

pub fn six_digits(c: &str) -> bool {
    c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())
}

/// A new seed (160 bits, RFC 4226's recommendation).
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; 20];
    crate::ids::random_bytes(&mut seed);
    seed
}

/// The `otpauth://` URI an authenticator app reads: `kagi:USER@STORE`, issuer `kagi`.
pub fn otpauth_uri(user_name: &str, store: &str, seed: &[u8]) -> String {
    let enc = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/kagi:{}?secret={}&issuer=kagi",
        enc(&format!("{user_name}@{store}")),
        totp::base32_encode(seed)
    )
}

fn seed_of(state: &AppState, d: &MfaDevice) -> Option<Vec<u8>> {
    state.sealer.open(ic::MFA_SEED_PURPOSE, &d.seed_sealed)
}

/// Registers an authenticator app for `user_id` once `code` matches `seed` (±1 step); the
/// matched step counts as used. `Err` in AWS's words: an invalid code, too many devices.
pub fn register(
    state: &AppState,
    store: &str,
    user_id: &str,
    name: &str,
    seed: &[u8],
    code: &str,
    now: i64,
) -> AwsResult<MfaDevice> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AwsError::new(
            400,
            "ValidationException",
            "The device name must be 1 to 64 characters.",
        ));
    }
    let step = if six_digits(code) {
        totp::matching_step(seed, code, now, 1)
    } else {
        None
    };
    let Some(step) = step else {
        return Err(invalid_code());
    };
    let d = MfaDevice {
        id: format!("mfa-{}", ic::hex16()),
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        seed_sealed: state.sealer.seal(ic::MFA_SEED_PURPOSE, seed),
        registered: now,
        last_step: step,
        last_used: 0,
    };
    state.store(GLOBAL).write(|tx| {
        if ic::user(tx, store, user_id)?.is_none() {
            return Err(AwsError::new(404, "ResourceNotFoundException", "USER not found.").into());
        }
        let existing = ic::mfa_devices(tx, store, user_id)?;
        if existing.len() >= ic::MAX_MFA_DEVICES {
            return Err(AwsError::new(
                402,
                "ServiceQuotaExceededException",
                format!(
                    "A user can register at most {} MFA devices.",
                    ic::MAX_MFA_DEVICES
                ),
            )
            .into());
        }
        if existing.iter().any(|x| x.name.eq_ignore_ascii_case(name)) {
            return Err(AwsError::new(
                409,
                "ConflictException",
                "An MFA device with this name is already registered.",
            )
            .into());
        }
        tx.put_json(
            Table::IdentityCenter,
            &keys::mfa_device(store, user_id, &d.id),
            &d,
        )
    })?;
    Ok(d)
}

fn invalid_code() -> AwsError {
    AwsError::new(
        400,
        "ValidationException",
        "The authenticator code is not valid. Type the code your app shows now.",
    )
}

/// Whether `code` is a current code of one of the user's devices not used before; the step
/// is then spent (one write transaction: check and update together). Every device is tried
/// (no early exit), each compare in constant time.
pub fn verify(state: &AppState, store: &str, user_id: &str, code: &str, now: i64) -> bool {
    if !six_digits(code) {
        return false;
    }
    state
        .store(GLOBAL)
        .write(|tx| {
            let mut hit: Option<MfaDevice> = None;
            for mut d in ic::mfa_devices(tx, store, user_id)? {
                let Some(seed) = seed_of(state, &d) else {
                    continue;
                };
                if let Some(step) = totp::matching_step(&seed, code, now, 1)
                    && step > d.last_step
                    && hit.is_none()
                {
                    d.last_step = step;
                    d.last_used = now;
                    hit = Some(d);
                }
            }
            match hit {
                Some(d) => {
                    tx.put_json(
                        Table::IdentityCenter,
                        &keys::mfa_device(store, user_id, &d.id),
                        &d,
                    )?;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .unwrap_or(false)
}

pub fn devices(state: &AppState, store: &str, user_id: &str) -> Vec<MfaDevice> {
    state
        .store(GLOBAL)
        .view(|tx| ic::mfa_devices(tx, store, user_id))
        .unwrap_or_default()
}

/// Deletes one of the user's devices; `false` when there is no such device.
pub fn delete(state: &AppState, store: &str, user_id: &str, id: &str) -> AwsResult<bool> {
    Ok(state
        .store(GLOBAL)
        .write(|tx| tx.delete(Table::IdentityCenter, &keys::mfa_device(store, user_id, id)))?)
}

// ---- lockout ----

#[derive(Serialize, Deserialize)]
struct Failures {
    n: u32,
    until: i64,
    expires: i64,
}

/// The lockout key of a user name of an instance.
pub fn user_lock(instance: &Instance, user_name: &str) -> String {
    format!("user\0{}\0{}", instance.id, user_name.to_lowercase())
}

/// The lockout key of a source address.
pub fn source_lock(ip: std::net::IpAddr) -> String {
    format!("source\0{ip}")
}

fn max_of(key: &str) -> u32 {
    if key.starts_with("source\0") {
        SOURCE_MAX_FAILURES
    } else {
        MAX_FAILURES
    }
}

/// `Some(seconds left)` while `key` is locked.
pub fn locked(state: &AppState, key: &str, now: i64) -> Option<i64> {
    let f: Failures = tokens::get(state, "lockout", key).ok().flatten()?;
    (f.n >= max_of(key) && f.until > now).then_some(f.until - now)
}

/// Counts a failed sign-in (password or code) against `key`.
pub fn fail(state: &AppState, key: &str, now: i64) {
    let max = max_of(key);
    let k = format!("lockout\0{key}");
    let _ = state.store(GLOBAL).write(|tx| {
        let mut f: Failures = tx
            .get_json(Table::SsoTokens, &k)?
            .filter(|f: &Failures| f.expires > now)
            .unwrap_or(Failures {
                n: 0,
                until: 0,
                expires: 0,
            });
        if f.n >= max && f.until <= now {
            (f.n, f.until) = (0, 0); // the lock ran out: count again
        }
        f.n += 1;
        if f.n >= max {
            f.until = now + LOCK_SECS;
        }
        f.expires = (now + FAILURES_KEPT_SECS).max(f.until);
        tx.put_json(Table::SsoTokens, &k, &f)
    });
}

/// A successful sign-in clears the user's count.
pub fn succeed(state: &AppState, key: &str) {
    let _ = tokens::delete(state, "lockout", key);
}

// ---- context-aware MFA: remembered browsers ----

#[derive(Serialize, Deserialize)]
struct Context {
    instance_id: String,
    user_id: String,
    ip: String,
    expires: i64,
}

/// Remembers this browser (a new random cookie value, returned) for `user_id` at `ip`.
pub fn remember(
    state: &AppState,
    instance: &Instance,
    user_id: &str,
    ip: std::net::IpAddr,
    now: i64,
) -> Option<String> {
    let token = tokens::random_token(32);
    let c = Context {
        instance_id: instance.id.clone(),
        user_id: user_id.to_owned(),
        ip: ip.to_string(),
        expires: now + CONTEXT_SECS,
    };
    tokens::put(state, "mfacontext", &tokens::hash(&token), &c)
        .ok()
        .map(|_| token)
}

/// Whether `token` (the browser's cookie) remembers an MFA sign-in of `user_id` from `ip`:
/// the same browser at the same address is the same sign-in context.
pub fn remembered(
    state: &AppState,
    token: Option<&str>,
    instance: &Instance,
    user_id: &str,
    ip: std::net::IpAddr,
    now: i64,
) -> bool {
    let Some(token) = token else { return false };
    let c: Option<Context> = tokens::get(state, "mfacontext", &tokens::hash(token))
        .ok()
        .flatten();
    c.is_some_and(|c| {
        c.expires > now
            && c.instance_id == instance.id
            && c.user_id == user_id
            && c.ip == ip.to_string()
    })
}

/// What the portal asks of a user whose password was right.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Signed in.
    SignIn,
    /// The code of a registered device.
    Code,
    /// Register a device first (the instance requires one).
    Register,
    /// Refused: no device and the instance blocks such sign-ins.
    Blocked,
}

pub fn next_step(settings: &MfaSettings, has_device: bool, remembered: bool) -> Next {
    if settings.mode == ic::MFA_DISABLED {
        return Next::SignIn;
    }
    if has_device {
        if settings.mode == ic::MFA_CONTEXT_AWARE && remembered {
            Next::SignIn
        } else {
            Next::Code
        }
    } else {
        match settings.no_device.as_str() {
            ic::NO_MFA_REGISTER => Next::Register,
            ic::NO_MFA_BLOCKED => Next::Blocked,
            _ => Next::SignIn,
        }
    }
}

// ---- the administrator's operations (kagi's extension) ----

fn field<'a>(i: &'a Value, k: &str) -> AwsResult<&'a str> {
    i[k].as_str()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AwsError::new(400, "ValidationException", format!("{k} is required")))
}

fn not_owner() -> AwsError {
    AwsError::new(
        400,
        "AccessDeniedException",
        "The identity store does not belong to the caller's account.",
    )
}

/// Authorises `action` on `*` (the `sso-directory` and `sso` MFA actions have no resource
/// type), then finds the instance of `IdentityStoreId`, which the caller's account must own.
fn owned_store(ctx: &Ctx, action: &str, i: &Value) -> AwsResult<Instance> {
    let store_id = field(i, "IdentityStoreId")?;
    ctx.authorize(action, "*")?;
    let instance = ctx
        .state
        .store(GLOBAL)
        .view(|tx| ic::instance_by_store(tx, store_id))?;
    instance
        .filter(|x| x.owner_account == ctx.account())
        .ok_or_else(not_owner)
}

fn user_of(ctx: &Ctx, instance: &Instance, i: &Value) -> AwsResult<String> {
    let user_id = field(i, "UserId")?;
    let store = instance.identity_store_id.clone();
    ctx.state
        .store(GLOBAL)
        .view(|tx| ic::user(tx, &store, user_id))?
        .map(|u| u.id)
        .ok_or_else(|| AwsError::new(404, "ResourceNotFoundException", "USER not found."))
}

/// `ListMfaDevicesForUser` {IdentityStoreId, UserId}: `sso-directory:ListMfaDevicesForUser`.
pub fn list_devices_op(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let instance = owned_store(ctx, "sso-directory:ListMfaDevicesForUser", i)?;
    let user = user_of(ctx, &instance, i)?;
    let list: Vec<Value> = devices(ctx.state, &instance.identity_store_id, &user)
        .into_iter()
        .map(|d| {
            let mut v = json!({"DeviceId": d.id, "DeviceName": d.name,
                "MfaType": "AUTHENTICATOR_APP",
                "RegisteredDate": crate::ids::iso8601(d.registered)});
            if d.last_used > 0 {
                v["LastUsedDate"] = json!(crate::ids::iso8601(d.last_used));
            }
            v
        })
        .collect();
    Ok(json!({"MfaDevices": list}))
}

/// `DeleteMfaDeviceForUser` {IdentityStoreId, UserId, DeviceId}:
/// `sso-directory:DeleteMfaDeviceForUser`.
pub fn delete_device_op(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let instance = owned_store(ctx, "sso-directory:DeleteMfaDeviceForUser", i)?;
    let user = user_of(ctx, &instance, i)?;
    let id = field(i, "DeviceId")?;
    if !delete(ctx.state, &instance.identity_store_id, &user, id)? {
        return Err(AwsError::new(
            404,
            "ResourceNotFoundException",
            "MFA device not found.",
        ));
    }
    Ok(json!({}))
}

fn settings_json(s: &MfaSettings) -> Value {
    json!({"MfaMode": s.mode, "NoMfaSignInBehavior": s.no_device,
        "UsersCanManageMfaDevices": s.users_manage})
}

/// `GetMfaDeviceManagementForDirectory` {IdentityStoreId}:
/// `sso:GetMfaDeviceManagementForDirectory`.
pub fn get_settings_op(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let instance = owned_store(ctx, "sso:GetMfaDeviceManagementForDirectory", i)?;
    Ok(settings_json(&instance.mfa))
}

/// `PutMfaDeviceManagementForDirectory` {IdentityStoreId, MfaMode?, NoMfaSignInBehavior?,
/// UsersCanManageMfaDevices?}: `sso:PutMfaDeviceManagementForDirectory`; what is absent
/// stays. Answers the settings now in force.
pub fn put_settings_op(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let instance = owned_store(ctx, "sso:PutMfaDeviceManagementForDirectory", i)?;
    let mut s = instance.mfa.clone();
    if let Some(m) = i.get("MfaMode").and_then(Value::as_str) {
        if ![ic::MFA_CONTEXT_AWARE, ic::MFA_ALWAYS_ON, ic::MFA_DISABLED].contains(&m) {
            return Err(AwsError::new(
                400,
                "ValidationException",
                "MfaMode must be one of CONTEXT_AWARE, ALWAYS_ON, DISABLED.",
            ));
        }
        s.mode = m.to_owned();
    }
    if let Some(b) = i.get("NoMfaSignInBehavior").and_then(Value::as_str) {
        if ![ic::NO_MFA_ALLOWED, ic::NO_MFA_REGISTER, ic::NO_MFA_BLOCKED].contains(&b) {
            return Err(AwsError::new(
                400,
                "ValidationException",
                "NoMfaSignInBehavior must be one of ALLOWED, REGISTRATION_REQUIRED, BLOCKED.",
            ));
        }
        s.no_device = b.to_owned();
    }
    match i.get("UsersCanManageMfaDevices") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => s.users_manage = *b,
        Some(_) => {
            return Err(AwsError::new(
                400,
                "ValidationException",
                "UsersCanManageMfaDevices must be a boolean.",
            ));
        }
    }
    let id = instance.id.clone();
    let saved = s.clone();
    ctx.state.store(GLOBAL).write(|tx| {
        let Some(mut inst) =
            tx.get_json::<Instance>(Table::IdentityCenter, &keys::instance(&id))?
        else {
            return Err(not_owner().into());
        };
        inst.mfa = saved.clone();
        tx.put_json(Table::IdentityCenter, &keys::instance(&id), &inst)
    })?;
    Ok(settings_json(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_step_follows_the_settings() {
        let mut s = MfaSettings::default();
        assert_eq!(next_step(&s, true, false), Next::Code);
        assert_eq!(next_step(&s, true, true), Next::SignIn);
        assert_eq!(next_step(&s, false, false), Next::SignIn);
        s.mode = ic::MFA_ALWAYS_ON.into();
        assert_eq!(next_step(&s, true, true), Next::Code);
        s.no_device = ic::NO_MFA_REGISTER.into();
        assert_eq!(next_step(&s, false, false), Next::Register);
        s.no_device = ic::NO_MFA_BLOCKED.into();
        assert_eq!(next_step(&s, false, true), Next::Blocked);
        s.mode = ic::MFA_DISABLED.into();
        assert_eq!(next_step(&s, true, false), Next::SignIn);
        assert_eq!(next_step(&s, false, false), Next::SignIn);
    }

    #[test]
    fn otpauth_uri_names_the_user_and_store() {
        let uri = otpauth_uri("ic alice", "d-0123456789", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/kagi:ic%20alice%40d-0123456789?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=kagi"
        );
    }
}
