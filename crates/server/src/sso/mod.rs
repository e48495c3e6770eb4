//! IAM Identity Center's operations: the identity store (`identitystore`, JSON 1.1), the
//! administration API (`sso-admin`, JSON 1.1), the OIDC token service (`sso-oidc`, rest-json,
//! unsigned) and the access portal (`sso`, rest-json, a bearer token), plus the portal's web
//! pages. The data and provisioning live in [`crate::identity_center`].

pub mod admin;
pub mod identitystore;
pub mod mfa;
pub mod oidc;
pub mod portal;
pub mod tokens;
pub mod web;

use crate::error::{AwsError, AwsResult};
use crate::state::Ctx;
use crate::store::{GLOBAL, StoreExt};
use serde_json::{Value, json};

/// `X-Amz-Target` of kagi's one extension to IAM Identity Center: setting a user's portal
/// password (AWS e-mails an invitation to choose one; kagi cannot). JSON 1.1, signed, body
/// `{"IdentityStoreId", "UserName", "Password"}`; authorised as `identitystore:UpdateUser` on
/// the user, for principals of the account that owns the identity store. `kagi sso
/// set-password` calls it.
pub const SET_PASSWORD_TARGET: &str = "KagiIdentityCenter.SetPortalPassword";

/// The prefix of every `X-Amz-Target` of kagi's Identity Center extension: besides
/// `SetPortalPassword`, the MFA operations AWS's console reaches through its internal
/// `sso-directory` and `sso` calls, authorised as those actions (resource `*`, as AWS
/// documents them): `ListMfaDevicesForUser` and `DeleteMfaDeviceForUser`
/// (`sso-directory:…`, body `{"IdentityStoreId", "UserId"[, "DeviceId"]}`),
/// `GetMfaDeviceManagementForDirectory` and `PutMfaDeviceManagementForDirectory` (`sso:…`,
/// body `{"IdentityStoreId"[, "MfaMode", "NoMfaSignInBehavior",
/// "UsersCanManageMfaDevices"]}`). See [`mfa`].
pub const EXTENSION_PREFIX: &str = "KagiIdentityCenter.";

/// Runs one operation of the extension (for the signed call and for the console's
/// `invoke`); a denial takes the JSON services' spelling (`AccessDeniedException`).
pub fn extension(ctx: &Ctx, operation: &str, body: &[u8]) -> AwsResult<Value> {
    let run = || -> AwsResult<Value> {
        if operation == "SetPortalPassword" {
            return set_password(ctx, body);
        }
        let i: Value = serde_json::from_slice(body)
            .map_err(|e| AwsError::new(400, "SerializationException", e.to_string()))?;
        match operation {
            "ListMfaDevicesForUser" => mfa::list_devices_op(ctx, &i),
            "DeleteMfaDeviceForUser" => mfa::delete_device_op(ctx, &i),
            "GetMfaDeviceManagementForDirectory" => mfa::get_settings_op(ctx, &i),
            "PutMfaDeviceManagementForDirectory" => mfa::put_settings_op(ctx, &i),
            _ => Err(AwsError::new(
                400,
                "UnknownOperationException",
                format!("KagiIdentityCenter has no operation {operation}."),
            )),
        }
    };
    run().map_err(|mut e| {
        if e.code == "AccessDenied" {
            e.code = "AccessDeniedException".into();
        }
        e
    })
}

/// [`extension`]'s `SetPortalPassword`.
pub fn set_portal_password(ctx: &Ctx, body: &[u8]) -> AwsResult<Value> {
    extension(ctx, "SetPortalPassword", body)
}

fn set_password(ctx: &Ctx, body: &[u8]) -> AwsResult<Value> {
    let i: Value = serde_json::from_slice(body)
        .map_err(|e| AwsError::new(400, "SerializationException", e.to_string()))?;
    let field = |k: &str| -> AwsResult<String> {
        i[k].as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| AwsError::new(400, "ValidationException", format!("{k} is required")))
    };
    let (store_id, user_name, password) = (
        field("IdentityStoreId")?,
        field("UserName")?,
        field("Password")?,
    );
    let (instance, user) = ctx.state.store(GLOBAL).view(|tx| {
        let instance = crate::identity_center::instances(tx)?
            .into_iter()
            .find(|x| x.identity_store_id == store_id);
        let user = crate::identity_center::user_by_name(tx, &store_id, &user_name)?;
        Ok((instance, user))
    })?;
    let owner = instance.as_ref().map(|x| x.owner_account.clone());
    let arn = match &user {
        Some(u) => format!("arn:aws:identitystore:::user/{}", u.id),
        None => "arn:aws:identitystore:::user/*".to_owned(),
    };
    ctx.authorize("identitystore:UpdateUser", &arn)?;
    if owner.as_deref() != Some(ctx.account()) {
        return Err(AwsError::new(
            400,
            "AccessDeniedException",
            "The identity store does not belong to the caller's account.",
        ));
    }
    let user =
        user.ok_or_else(|| AwsError::new(404, "ResourceNotFoundException", "USER not found."))?;
    crate::identity_center::set_portal_password(ctx.state, &store_id, &user.id, &password)?;
    Ok(json!({}))
}
