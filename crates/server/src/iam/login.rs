//! Login profiles (console passwords): CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
//! DeleteLoginProfile, ChangePassword; the account password policy (Get/Update/DeleteAccountPasswordPolicy),
//! enforced on every password set.
//!
//! A profile is stored in [`Table::Meta`] under `login-profile\0lower(user)` with the password as
//! an argon2id PHC string (`kagi_console::password`); the clear password is never stored or
//! logged. Passwords must satisfy the account password policy (stored in [`Table::Meta`] under
//! [`POLICY_KEY`]) or, without one, AWS's default: at least 8 characters and three of uppercase,
//! lowercase, digits, symbols.

use crate::entities::{LoginProfile, load_profile, profile_key};
use crate::entities::{load_user, user_arn};
use crate::error::{AwsError, AwsResult};
use crate::params::{opt, opt_bool, req, ts};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, TxExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn not_found(user: &str) -> AwsError {
    AwsError::no_such_entity(format!("Login Profile for User {user} cannot be found."))
}

pub const POLICY_KEY: &str = "account-password-policy";

/// The account password policy (UpdateAccountPasswordPolicy's parameters, AWS's defaults).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub min_length: i64,
    pub symbols: bool,
    pub numbers: bool,
    pub upper: bool,
    pub lower: bool,
    pub allow_change: bool,
    pub max_age: Option<i64>,
    pub reuse_prevention: Option<i64>,
    pub hard_expiry: Option<bool>,
}

fn policy_missing(ctx: &Ctx) -> AwsError {
    AwsError::no_such_entity(format!(
        "The Password Policy with domain name {} cannot be found.",
        ctx.caller.account_id
    ))
}

pub fn load_policy(ctx: &Ctx) -> AwsResult<Option<PasswordPolicy>> {
    Ok(ctx.store.view(|tx| tx.get_json(Table::Meta, POLICY_KEY))?)
}

pub fn update_account_password_policy(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    ctx.authorize("iam:UpdateAccountPasswordPolicy", "*")?;
    let flag = |n: &str| opt_bool(i, n).unwrap_or(false);
    let p = PasswordPolicy {
        min_length: crate::params::opt_i64(i, "MinimumPasswordLength").unwrap_or(6),
        symbols: flag("RequireSymbols"),
        numbers: flag("RequireNumbers"),
        upper: flag("RequireUppercaseCharacters"),
        lower: flag("RequireLowercaseCharacters"),
        allow_change: flag("AllowUsersToChangePassword"),
        max_age: crate::params::opt_i64(i, "MaxPasswordAge"),
        reuse_prevention: crate::params::opt_i64(i, "PasswordReusePrevention"),
        hard_expiry: opt_bool(i, "HardExpiry"),
    };
    ctx.store
        .write(|tx| tx.put_json(Table::Meta, POLICY_KEY, &p))?;
    Ok(json!({}))
}

pub fn get_account_password_policy(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize("iam:GetAccountPasswordPolicy", "*")?;
    let p = load_policy(ctx)?.ok_or_else(|| policy_missing(ctx))?;
    let mut v = json!({
        "MinimumPasswordLength": p.min_length,
        "RequireSymbols": p.symbols,
        "RequireNumbers": p.numbers,
        "RequireUppercaseCharacters": p.upper,
        "RequireLowercaseCharacters": p.lower,
        "AllowUsersToChangePassword": p.allow_change,
        "ExpirePasswords": p.max_age.is_some_and(|a| a > 0),
    });
    if let Some(a) = p.max_age {
        v["MaxPasswordAge"] = json!(a);
    }
    if let Some(r) = p.reuse_prevention {
        v["PasswordReusePrevention"] = json!(r);
    }
    if let Some(h) = p.hard_expiry {
        v["HardExpiry"] = json!(h);
    }
    Ok(json!({"PasswordPolicy": v}))
}

pub fn delete_account_password_policy(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize("iam:DeleteAccountPasswordPolicy", "*")?;
    let gone = ctx.store.write(|tx| tx.delete(Table::Meta, POLICY_KEY))?;
    if !gone {
        return Err(policy_missing(ctx));
    }
    Ok(json!({}))
}

fn violation(msg: impl Into<String>) -> AwsError {
    AwsError::new(400, "PasswordPolicyViolation", msg)
}

/// Checks a new password against the account's policy (or AWS's default without one).
fn check_for(ctx: &Ctx, pw: &str) -> AwsResult<()> {
    check_against(load_policy(ctx)?.as_ref(), pw)
}

pub fn check_against(policy: Option<&PasswordPolicy>, pw: &str) -> AwsResult<()> {
    let Some(p) = policy else {
        return check_password(pw);
    };
    if (pw.chars().count() as i64) < p.min_length {
        return Err(violation(format!(
            "Password should have a minimum length of {}",
            p.min_length
        )));
    }
    let rules = [
        (
            p.upper,
            pw.chars().any(|c| c.is_ascii_uppercase()),
            "uppercase letter",
        ),
        (
            p.lower,
            pw.chars().any(|c| c.is_ascii_lowercase()),
            "lowercase letter",
        ),
        (p.numbers, pw.chars().any(|c| c.is_ascii_digit()), "number"),
        (
            p.symbols,
            pw.chars().any(|c| !c.is_ascii_alphanumeric()),
            "symbol",
        ),
    ];
    for (required, present, what) in rules {
        if required && !present {
            return Err(violation(format!(
                "Password should have at least one {what}"
            )));
        }
    }
    Ok(())
}

/// AWS's default password policy.
pub fn check_password(pw: &str) -> AwsResult<()> {
    let classes = [
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if pw.chars().count() < 8 || pw.len() > 128 || classes < 3 {
        return Err(AwsError::new(
            400,
            "PasswordPolicyViolation",
            "Password does not conform to the account password policy: it must be at least 8 characters long and contain at least three of uppercase letters, lowercase letters, numbers and symbols.",
        ));
    }
    Ok(())
}

fn profile_value(p: &LoginProfile) -> Value {
    json!({"UserName": p.user, "CreateDate": ts(p.created), "PasswordResetRequired": p.reset_required})
}

pub fn create_login_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    // Without `UserName`, the calling user's own (the model lets it be left out).
    let name = &crate::params::implicit_user(ctx, i)?;
    ctx.authorize("iam:CreateLoginProfile", &user_arn(ctx, name)?)?;
    let password = req(i, "Password")?;
    check_for(ctx, password)?;
    let phc = kagi_console::password::hash(password);
    let reset = opt_bool(i, "PasswordResetRequired").unwrap_or(false);
    let p = ctx.store.write(|tx| {
        let u = load_user(tx, name)?;
        if load_profile(tx, &u.name)?.is_some() {
            return Err(AwsError::new(
                409,
                "EntityAlreadyExists",
                format!("Login Profile for user {} already exists.", u.name),
            )
            .into());
        }
        let p = LoginProfile {
            user: u.name.clone(),
            password_phc: phc.clone(),
            created: ctx.now,
            reset_required: reset,
            changed: None,
        };
        tx.put_json(Table::Meta, &profile_key(&u.name), &p)?;
        Ok(p)
    })?;
    Ok(json!({"LoginProfile": profile_value(&p)}))
}

fn target_user(ctx: &Ctx, i: &Value) -> AwsResult<String> {
    match opt(i, "UserName") {
        Some(n) => Ok(n.to_owned()),
        None => match &ctx.caller.principal {
            crate::caller::Principal::User { name, .. } => Ok(name.clone()),
            _ => Err(AwsError::validation(
                "Must specify userName when calling with non-User credentials",
            )),
        },
    }
}

pub fn get_login_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = target_user(ctx, i)?;
    ctx.authorize("iam:GetLoginProfile", &user_arn(ctx, &name)?)?;
    let p = ctx.store.view(|tx| {
        let u = load_user(tx, &name)?;
        load_profile(tx, &u.name)
    })?;
    let p = p.ok_or_else(|| not_found(&name))?;
    Ok(json!({"LoginProfile": profile_value(&p)}))
}

pub fn update_login_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "UserName")?;
    ctx.authorize("iam:UpdateLoginProfile", &user_arn(ctx, name)?)?;
    let phc = match opt(i, "Password") {
        Some(pw) => {
            check_for(ctx, pw)?;
            Some(kagi_console::password::hash(pw))
        }
        None => None,
    };
    let reset = opt_bool(i, "PasswordResetRequired");
    ctx.store.write(|tx| {
        let u = load_user(tx, name)?;
        let mut p = load_profile(tx, &u.name)?.ok_or_else(|| not_found(name))?;
        if let Some(phc) = &phc {
            p.password_phc = phc.clone();
            p.changed = Some(ctx.now);
        }
        if let Some(r) = reset {
            p.reset_required = r;
        }
        tx.put_json(Table::Meta, &profile_key(&u.name), &p)?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn delete_login_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = &crate::params::implicit_user(ctx, i)?;
    ctx.authorize("iam:DeleteLoginProfile", &user_arn(ctx, name)?)?;
    ctx.store.write(|tx| {
        let u = load_user(tx, name)?;
        if !tx.delete(Table::Meta, &profile_key(&u.name))? {
            return Err(not_found(name).into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// ChangePassword: the calling IAM user changes its own console password, proving the old
/// one. Allowed to every user when the account password policy says
/// `AllowUsersToChangePassword`, else only with `iam:ChangePassword` on the user itself. The
/// new password must satisfy the account password policy; a required reset is then done.
pub fn change_password(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let old = req(i, "OldPassword")?;
    let new = req(i, "NewPassword")?;
    let crate::caller::Principal::User { name, .. } = &ctx.caller.principal else {
        return Err(AwsError::new(
            400,
            "InvalidUserType",
            "The request was rejected because the type of user for the transaction was incorrect: only IAM users change their password with ChangePassword.",
        ));
    };
    let everyone_may = load_policy(ctx)?.is_some_and(|p| p.allow_change);
    if !everyone_may {
        ctx.authorize("iam:ChangePassword", &user_arn(ctx, name)?)?;
    }
    let current = ctx.store.view(|tx| {
        let u = load_user(tx, name)?;
        load_profile(tx, &u.name)
    })?;
    let current = current.ok_or_else(|| not_found(name))?;
    if !kagi_console::password::verify(old, &current.password_phc) {
        return Err(AwsError::access_denied("The old password is incorrect."));
    }
    check_for(ctx, new)?;
    let phc = kagi_console::password::hash(new);
    ctx.store.write(|tx| {
        let u = load_user(tx, name)?;
        let mut p = load_profile(tx, &u.name)?.ok_or_else(|| not_found(name))?;
        // The profile changed under us (another password set meanwhile): start again.
        if p.password_phc != current.password_phc {
            return Err(AwsError::new(
                409,
                "EntityTemporarilyUnmodifiable",
                format!(
                    "Login Profile for User {} is being changed; try again.",
                    u.name
                ),
            )
            .into());
        }
        p.password_phc = phc.clone();
        p.changed = Some(ctx.now);
        p.reset_required = false;
        tx.put_json(Table::Meta, &profile_key(&u.name), &p)
    })?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_password_policy() {
        let p = PasswordPolicy {
            min_length: 12,
            symbols: true,
            numbers: false,
            upper: false,
            lower: false,
            allow_change: false,
            max_age: None,
            reuse_prevention: None,
            hard_expiry: None,
        };
        assert!(check_against(Some(&p), "longenough-pw").is_ok());
        let e = check_against(Some(&p), "short-pw").unwrap_err();
        assert_eq!(e.message, "Password should have a minimum length of 12");
        let e = check_against(Some(&p), "longenoughpass").unwrap_err();
        assert_eq!(e.message, "Password should have at least one symbol");
        assert!(check_against(None, "alllowercase").is_err());
    }

    #[test]
    fn default_password_policy() {
        assert!(check_password("Passw0rd!").is_ok());
        assert!(check_password("password1A").is_ok());
        assert!(check_password("Sh0rt!").is_err());
        assert!(check_password("alllowercase").is_err());
        assert!(check_password("lowerUPPER").is_err());
    }
}
