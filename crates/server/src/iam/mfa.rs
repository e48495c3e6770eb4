//! Virtual MFA devices with real TOTP (RFC 6238): the seed is 40 random bytes, handed out once
//! as base32 (`Base32StringSeed`) and stored sealed. Enabling needs two consecutive codes; STS
//! checks codes with [`verify_code`], which never accepts the same time step twice.

use crate::entities::load_user;
use crate::error::{AwsError, AwsResult};
use crate::model::MfaDevice;
use crate::params::{implicit_user, name_param, opt, paginate, path_param, req, ts};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, TxExt, name_key};
use crate::totp;
use base64::Engine;
use serde_json::{Value, json};

fn invalid_code() -> AwsError {
    AwsError::new(
        403,
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    )
}

fn six_digits(c: &str) -> bool {
    c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())
}

pub fn create_virtual_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = name_param(i, "VirtualMFADeviceName", 226)?;
    let path = path_param(i, "Path")?;
    let serial = crate::ids::iam_arn(&ctx.caller.account_id, "mfa", &path, name);
    ctx.authorize("iam:CreateVirtualMFADevice", &serial)?;
    let mut seed = [0u8; 40];
    crate::ids::random_bytes(&mut seed);
    let b32 = totp::base32_encode(&seed);
    let sealed = ctx.state.sealer.seal("mfa-seed", &seed);
    ctx.store.write(|tx| {
        let existing = tx.scan_json::<MfaDevice>(Table::MfaDevices, "")?;
        if existing
            .iter()
            .any(|(_, d)| d.serial.rsplit('/').next().map(name_key) == Some(name_key(name)))
        {
            return Err(AwsError::already_exists(
                "MFADevice entity at the same path and name already exists.",
            )
            .into());
        }
        let d = MfaDevice {
            serial: serial.clone(),
            seed_sealed: sealed.clone(),
            user: None,
            created: ctx.now,
            enabled: None,
            last_step: 0,
            tags: crate::params::tags_param(i)?,
        };
        tx.put_json(Table::MfaDevices, &serial, &d)
    })?;
    let std = base64::engine::general_purpose::STANDARD;
    Ok(json!({"VirtualMFADevice": {
        "SerialNumber": serial,
        "Base32StringSeed": std.encode(b32.as_bytes()),
    }}))
}

fn seed_of(ctx: &Ctx, d: &MfaDevice) -> AwsResult<Vec<u8>> {
    ctx.state
        .sealer
        .open("mfa-seed", &d.seed_sealed)
        .ok_or_else(AwsError::internal)
}

pub fn enable_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let user = req(i, "UserName")?;
    let serial = req(i, "SerialNumber")?;
    let c1 = req(i, "AuthenticationCode1")?;
    let c2 = req(i, "AuthenticationCode2")?;
    ctx.authorize(
        "iam:EnableMFADevice",
        &crate::entities::user_arn(ctx, user)?,
    )?;
    if !six_digits(c1) || !six_digits(c2) {
        return Err(invalid_code());
    }
    ctx.store.write(|tx| {
        let u = load_user(tx, user)?;
        let mut d: MfaDevice = tx.get_json(Table::MfaDevices, serial)?.ok_or_else(|| {
            AwsError::no_such_entity(format!(
                "VirtualMFADevice with serial number {serial} does not exist."
            ))
        })?;
        if d.user.is_some() {
            return Err(AwsError::already_exists("MFA Device is already in use.").into());
        }
        let seed = seed_of(ctx, &d)?;
        // Two consecutive codes from the recent past (the user read them one after the other).
        let now = totp::step_of(ctx.now);
        let step = (now.saturating_sub(10)..=now)
            .find(|&s| {
                crate::crypto::ct_eq(totp::code_at_step(&seed, s).as_bytes(), c1.as_bytes())
                    && crate::crypto::ct_eq(
                        totp::code_at_step(&seed, s + 1).as_bytes(),
                        c2.as_bytes(),
                    )
            })
            .ok_or_else(invalid_code)?;
        d.user = Some(u.name);
        d.enabled = Some(ctx.now);
        d.last_step = step + 1;
        tx.put_json(Table::MfaDevices, serial, &d)
    })?;
    Ok(json!({}))
}

/// ResyncMFADevice: two consecutive fresh codes from a device enabled for the user. kagi keeps
/// no clock drift per device (its clock is the only one), so a resync proves the device and
/// moves its last accepted step forward (codes up to there are never accepted again).
pub fn resync_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let user = req(i, "UserName")?;
    let serial = req(i, "SerialNumber")?;
    let c1 = req(i, "AuthenticationCode1")?;
    let c2 = req(i, "AuthenticationCode2")?;
    ctx.authorize(
        "iam:ResyncMFADevice",
        &crate::entities::user_arn(ctx, user)?,
    )?;
    if !six_digits(c1) || !six_digits(c2) {
        return Err(invalid_code());
    }
    ctx.store.write(|tx| {
        let u = load_user(tx, user)?;
        let mut d: MfaDevice = tx
            .get_json(Table::MfaDevices, serial)?
            .filter(|d: &MfaDevice| {
                d.enabled.is_some()
                    && d.user
                        .as_deref()
                        .is_some_and(|x| name_key(x) == name_key(&u.name))
            })
            .ok_or_else(|| no_such_device(serial))?;
        let seed = seed_of(ctx, &d)?;
        let now = totp::step_of(ctx.now);
        let step = (now.saturating_sub(10)..=now)
            .filter(|&s| s > d.last_step)
            .find(|&s| {
                crate::crypto::ct_eq(totp::code_at_step(&seed, s).as_bytes(), c1.as_bytes())
                    && crate::crypto::ct_eq(
                        totp::code_at_step(&seed, s + 1).as_bytes(),
                        c2.as_bytes(),
                    )
            })
            .ok_or_else(invalid_code)?;
        d.last_step = step + 1;
        tx.put_json(Table::MfaDevices, serial, &d)
    })?;
    Ok(json!({}))
}

pub fn deactivate_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let user = implicit_user(ctx, i)?;
    let serial = req(i, "SerialNumber")?;
    ctx.authorize(
        "iam:DeactivateMFADevice",
        &crate::entities::user_arn(ctx, &user)?,
    )?;
    ctx.store.write(|tx| {
        let mut d: MfaDevice = tx
            .get_json(Table::MfaDevices, serial)?
            .filter(|d: &MfaDevice| {
                d.user
                    .as_deref()
                    .is_some_and(|x| name_key(x) == name_key(&user))
            })
            .ok_or_else(|| {
                AwsError::no_such_entity(format!(
                    "MFA Device with serial number {serial} does not exist."
                ))
            })?;
        d.user = None;
        d.enabled = None;
        tx.put_json(Table::MfaDevices, serial, &d)
    })?;
    Ok(json!({}))
}

pub fn delete_virtual_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let serial = req(i, "SerialNumber")?;
    ctx.authorize("iam:DeleteVirtualMFADevice", serial)?;
    ctx.store.write(|tx| {
        let d: MfaDevice = tx.get_json(Table::MfaDevices, serial)?.ok_or_else(|| {
            AwsError::no_such_entity(format!(
                "VirtualMFADevice with serial number {serial} does not exist."
            ))
        })?;
        if d.user.is_some() {
            return Err(AwsError::delete_conflict("MFA Device is still in use.").into());
        }
        tx.delete(Table::MfaDevices, serial)?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_mfa_devices(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let user = implicit_user(ctx, i)?;
    ctx.authorize(
        "iam:ListMFADevices",
        &crate::entities::user_arn(ctx, &user)?,
    )?;
    let devices = ctx.store.view(|tx| {
        let u = load_user(tx, &user)?;
        Ok(crate::entities::by_index::<MfaDevice>(tx, Table::MfaByUser, Table::MfaDevices, Some(&u.name))?
            .into_iter()
            .map(|(_, d)| json!({"UserName": u.name, "SerialNumber": d.serial, "EnableDate": ts(d.enabled.unwrap_or(d.created))}))
            .collect::<Vec<_>>())
    })?;
    paginate(i, devices, "MFADevices")
}

pub fn list_virtual_mfa_devices(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize(
        "iam:ListVirtualMFADevices",
        &format!("arn:aws:iam::{}:mfa/", ctx.caller.account_id),
    )?;
    let status = opt(i, "AssignmentStatus").unwrap_or("Any");
    let devices = ctx.store.view(|tx| {
        let mut out = Vec::new();
        for (_, d) in tx.scan_json::<MfaDevice>(Table::MfaDevices, "")? {
            let assigned = d.user.is_some();
            if (status == "Assigned" && !assigned) || (status == "Unassigned" && assigned) {
                continue;
            }
            let mut v = json!({"SerialNumber": d.serial});
            if let Some(u) = &d.user {
                if let Some(user) = tx.get_json::<crate::model::User>(Table::Users, &name_key(u))? {
                    v["User"] = crate::entities::user_value(&user, false);
                }
                v["EnableDate"] = ts(d.enabled.unwrap_or(d.created));
            }
            out.push(v);
        }
        Ok(out)
    })?;
    paginate(i, devices, "VirtualMFADevices")
}

fn no_such_device(serial: &str) -> AwsError {
    AwsError::no_such_entity(format!("MFA device with serial number {serial} not found."))
}

/// GetMFADevice: an MFA device enabled for the user (`UserName`, else the calling user).
pub fn get_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let serial = req(i, "SerialNumber")?;
    let user = implicit_user(ctx, i)?;
    ctx.authorize("iam:GetMFADevice", &crate::entities::user_arn(ctx, &user)?)?;
    let (u, d) = ctx.store.view(|tx| {
        let u = load_user(tx, &user)?;
        let d: Option<MfaDevice> = tx.get_json(Table::MfaDevices, serial)?;
        Ok((u, d))
    })?;
    let d = d
        .filter(|d| {
            d.user
                .as_deref()
                .is_some_and(|x| name_key(x) == name_key(&u.name))
        })
        .ok_or_else(|| no_such_device(serial))?;
    Ok(json!({
        "UserName": u.name,
        "SerialNumber": d.serial,
        "EnableDate": ts(d.enabled.unwrap_or(d.created)),
    }))
}

/// TagMFADevice / UntagMFADevice / ListMFADeviceTags (the resource is the serial number ARN).
pub fn tag_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let serial = req(i, "SerialNumber")?;
    let tags = crate::params::tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagMFADevice",
        serial,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut d: MfaDevice = tx
            .get_json(Table::MfaDevices, serial)?
            .ok_or_else(|| no_such_device(serial))?;
        crate::params::merge_tags(&mut d.tags, tags.clone())?;
        tx.put_json(Table::MfaDevices, serial, &d)
    })?;
    Ok(json!({}))
}

pub fn untag_mfa_device(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let serial = req(i, "SerialNumber")?;
    ctx.authorize("iam:UntagMFADevice", serial)?;
    ctx.store.write(|tx| {
        let mut d: MfaDevice = tx
            .get_json(Table::MfaDevices, serial)?
            .ok_or_else(|| no_such_device(serial))?;
        crate::params::remove_tags(&mut d.tags, i);
        tx.put_json(Table::MfaDevices, serial, &d)
    })?;
    Ok(json!({}))
}

pub fn list_mfa_device_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let serial = req(i, "SerialNumber")?;
    ctx.authorize("iam:ListMFADeviceTags", serial)?;
    let d: MfaDevice = ctx
        .store
        .view(|tx| tx.get_json(Table::MfaDevices, serial))?
        .ok_or_else(|| no_such_device(serial))?;
    paginate(
        i,
        crate::params::tags_value(&d.tags)
            .as_array()
            .cloned()
            .unwrap_or_default(),
        "Tags",
    )
}

/// Checks an MFA code for STS: the device must be enabled for `user` (`None` = the account
/// root's devices are not supported), and the code must be current (±1 step) and not used before.
pub fn verify_code(ctx: &Ctx, user: Option<&str>, serial: &str, code: &str) -> AwsResult<bool> {
    if !six_digits(code) {
        return Ok(false);
    }
    let Some(user) = user else { return Ok(false) };
    ctx.store
        .write(|tx| {
            let Some(mut d) = tx.get_json::<MfaDevice>(Table::MfaDevices, serial)? else {
                return Ok(false);
            };
            if d.user
                .as_deref()
                .is_none_or(|x| name_key(x) != name_key(user))
            {
                return Ok(false);
            }
            let seed = seed_of(ctx, &d)?;
            match totp::matching_step(&seed, code, ctx.now, 1) {
                Some(step) if step > d.last_step => {
                    d.last_step = step;
                    tx.put_json(Table::MfaDevices, serial, &d)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .map_err(Into::into)
}
