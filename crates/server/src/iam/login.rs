//! Login profiles (console passwords): CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
//! DeleteLoginProfile.
//!
//! A profile is stored in [`Table::Meta`] under `login-profile\0lower(user)` with the password as
//! an argon2id PHC string (`kagi_console::password`); the clear password is never stored or
//! logged. Passwords must satisfy AWS's default password policy (no account password policy is
//! implemented yet): at least 8 characters and three of: uppercase, lowercase, digits, symbols.

use super::users::{load_user, user_arn};
use super::{opt, opt_bool, req, ts};
use crate::app::Ctx;
use crate::error::{AwsError, AwsResult};
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A stored login profile. `Debug` omits the hash.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginProfile {
    pub user: String,
    pub password_phc: String,
    pub created: i64,
    #[serde(default)]
    pub reset_required: bool,
}

impl std::fmt::Debug for LoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfile")
            .field("user", &self.user)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

pub fn profile_key(user: &str) -> String {
    format!("login-profile\0{}", name_key(user))
}

pub fn load_profile(tx: &dyn Tx, user: &str) -> anyhow::Result<Option<LoginProfile>> {
    tx.get_json(Table::Meta, &profile_key(user))
}

fn not_found(user: &str) -> AwsError {
    AwsError::no_such_entity(format!("Login Profile for User {user} cannot be found."))
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
    let name = req(i, "UserName")?;
    let password = req(i, "Password")?;
    ctx.authorize("iam:CreateLoginProfile", &user_arn(ctx, name)?)?;
    check_password(password)?;
    let phc = kagi_console::password::hash(password);
    let reset = opt_bool(i, "PasswordResetRequired").unwrap_or(false);
    let p = ctx.state.store.write(|tx| {
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
            password_phc: phc,
            created: ctx.now,
            reset_required: reset,
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
            crate::auth::Principal::User { name, .. } => Ok(name.clone()),
            _ => Err(AwsError::validation(
                "Must specify userName when calling with non-User credentials",
            )),
        },
    }
}

pub fn get_login_profile(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = target_user(ctx, i)?;
    ctx.authorize("iam:GetLoginProfile", &user_arn(ctx, &name)?)?;
    let p = ctx.state.store.view(|tx| {
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
            check_password(pw)?;
            Some(kagi_console::password::hash(pw))
        }
        None => None,
    };
    let reset = opt_bool(i, "PasswordResetRequired");
    ctx.state.store.write(|tx| {
        let u = load_user(tx, name)?;
        let mut p = load_profile(tx, &u.name)?.ok_or_else(|| not_found(name))?;
        if let Some(phc) = phc {
            p.password_phc = phc;
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
    let name = req(i, "UserName")?;
    ctx.authorize("iam:DeleteLoginProfile", &user_arn(ctx, name)?)?;
    ctx.state.store.write(|tx| {
        let u = load_user(tx, name)?;
        if !tx.delete(Table::Meta, &profile_key(&u.name))? {
            return Err(not_found(name).into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_password_policy() {
        assert!(check_password("Passw0rd!").is_ok());
        assert!(check_password("password1A").is_ok());
        assert!(check_password("Sh0rt!").is_err());
        assert!(check_password("alllowercase").is_err());
        assert!(check_password("lowerUPPER").is_err());
    }
}
