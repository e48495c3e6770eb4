//! The credential report (GenerateCredentialReport, GetCredentialReport): one CSV row per IAM
//! user, and `<root_account>` first, with AWS's columns: password and MFA state, and each of the
//! (at most two) access keys' state, rotation and last use.
//!
//! kagi generates the report at once (GenerateCredentialReport answers `COMPLETE`) and keeps
//! it in `Table::Meta` under [`REPORT_KEY`]; GetCredentialReport serves it for four hours, as
//! AWS does, then answers `ReportExpired`. Console sign-ins are not tracked, so
//! `password_last_used` is `no_information` for users with a password; signing certificates do
//! not exist in kagi (`cert_*` are `false`/`N/A`).

use crate::error::{AwsError, AwsResult};
use crate::ids::iso8601;
use crate::model::{AccessKey, MfaDevice, User};
use crate::params::ts;
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use base64::Engine;
use serde_json::{Value, json};

pub const REPORT_KEY: &str = "credential-report";
/// How long a report is served (AWS: four hours).
const VALID_SECS: i64 = 4 * 3600;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn key_columns(
    ctx: &Ctx,
    tx: &dyn Tx,
    keys: &[AccessKey],
    out: &mut Vec<String>,
) -> anyhow::Result<()> {
    for n in 0..2 {
        match keys.get(n) {
            Some(k) => {
                out.push(k.active.to_string());
                out.push(iso8601(k.created));
                match ctx.state.key_last_used_in(ctx.account(), tx, k)? {
                    Some(l) => {
                        out.push(iso8601(l.date));
                        out.push(l.region);
                        out.push(l.service);
                    }
                    None => out.extend(["N/A", "N/A", "N/A"].map(String::from)),
                }
            }
            None => {
                out.push("false".into());
                out.extend(["N/A", "N/A", "N/A", "N/A"].map(String::from));
            }
        }
    }
    out.extend(["false", "N/A", "false", "N/A"].map(String::from));
    Ok(())
}

fn generate(ctx: &Ctx, tx: &dyn Tx) -> anyhow::Result<String> {
    let policy_max_age: Option<i64> = tx
        .get_json::<super::login::PasswordPolicy>(Table::Meta, super::login::POLICY_KEY)?
        .and_then(|p| p.max_age)
        .filter(|a| *a > 0);
    let created = tx
        .get_json::<Value>(Table::Meta, "account")?
        .and_then(|v| v["created"].as_i64())
        .unwrap_or(0);
    let mut lines = vec![HEADER.to_owned()];
    let mut root = vec![
        "<root_account>".to_owned(),
        format!("arn:aws:iam::{}:root", ctx.caller.account_id),
        iso8601(created),
        "not_supported".into(),
        "no_information".into(),
        "not_supported".into(),
        "not_supported".into(),
        "false".into(),
    ];
    key_columns(ctx, tx, &crate::entities::root_access_keys(tx)?, &mut root)?;
    lines.push(root.join(","));
    let devices: Vec<MfaDevice> = tx
        .scan_json::<MfaDevice>(Table::MfaDevices, "")?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    for (_, u) in tx.scan_json::<User>(Table::Users, "")? {
        let profile = crate::entities::load_profile(tx, &u.name)?;
        let mfa = devices.iter().any(|d| {
            d.enabled.is_some()
                && d.user
                    .as_deref()
                    .is_some_and(|x| name_key(x) == name_key(&u.name))
        });
        let mut row = vec![u.name.clone(), u.arn.clone(), iso8601(u.created)];
        match &profile {
            Some(p) => {
                let changed = p.changed.unwrap_or(p.created);
                row.push("true".into());
                row.push("no_information".into());
                row.push(iso8601(changed));
                row.push(match policy_max_age {
                    Some(days) => iso8601(changed + days * 86_400),
                    None => "N/A".into(),
                });
            }
            None => row.extend(["false", "N/A", "N/A", "N/A"].map(String::from)),
        }
        row.push(mfa.to_string());
        key_columns(
            ctx,
            tx,
            &crate::entities::access_keys_of(tx, &u.name)?,
            &mut row,
        )?;
        lines.push(row.join(","));
    }
    Ok(lines.join("\n"))
}

pub fn generate_credential_report(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize("iam:GenerateCredentialReport", "*")?;
    ctx.store.write(|tx| {
        let csv = generate(ctx, tx)?;
        tx.put_json(
            Table::Meta,
            REPORT_KEY,
            &json!({"generated": ctx.now, "csv": csv}),
        )
    })?;
    Ok(
        json!({"State": "COMPLETE", "Description": "No report exists. Starting a new report generation task"}),
    )
}

pub fn get_credential_report(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize("iam:GetCredentialReport", "*")?;
    let stored: Option<Value> = ctx.store.view(|tx| tx.get_json(Table::Meta, REPORT_KEY))?;
    let Some(stored) = stored else {
        return Err(AwsError::new(410, "ReportNotPresent", "Unknown"));
    };
    let generated = stored["generated"].as_i64().unwrap_or(0);
    if ctx.now - generated > VALID_SECS {
        return Err(AwsError::new(
            410,
            "ReportExpired",
            "Credential report has expired. Generate a new one.",
        ));
    }
    let csv = stored["csv"].as_str().unwrap_or("");
    Ok(json!({
        "Content": base64::engine::general_purpose::STANDARD.encode(csv.as_bytes()),
        "ReportFormat": "text/csv",
        "GeneratedTime": ts(generated),
    }))
}
