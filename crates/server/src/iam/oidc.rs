//! IAM OpenID Connect identity providers: Create/Get/List/Delete, client ids, thumbprints and
//! tags. Their tokens are exchanged for role sessions by AssumeRoleWithWebIdentity
//! ([`crate::sts::web_identity`]).
//!
//! Stored in `Table::Meta` under `oidc-provider\0ARN`; the ARN is
//! `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH` (the URL without `https://`).

use crate::error::{AwsError, AwsResult};
use crate::model::OidcProvider;
use crate::params::{paginate, req, tags_param, ts, with_tags};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt};
use serde_json::{Value, json};

const PREFIX: &str = "oidc-provider\0";

fn key(arn: &str) -> String {
    format!("{PREFIX}{arn}")
}

fn not_found(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

fn load(tx: &dyn Tx, arn: &str) -> AwsResult<OidcProvider> {
    tx.get_json::<OidcProvider>(Table::Meta, &key(arn))?
        .ok_or_else(|| not_found(arn))
}

fn strings(i: &Value, name: &str) -> Vec<String> {
    i.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn check_thumbprints(t: &[String]) -> AwsResult<()> {
    if t.len() > 5 {
        return Err(AwsError::limit_exceeded(
            "Thumbprint list must contain fewer than 5 entries.",
        ));
    }
    if let Some(bad) = t
        .iter()
        .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{bad}' at 'thumbprintList' failed to satisfy constraint: Member must have length 40"
        )));
    }
    Ok(())
}

fn check_client_id(c: &str) -> AwsResult<()> {
    if c.is_empty() || c.len() > 255 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{c}' at 'clientID' failed to satisfy constraint: Member must have length between 1 and 255"
        )));
    }
    Ok(())
}

pub fn create(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let url = req(i, "Url")?;
    // kagi also accepts http:// for a loopback host (a test identity provider beside kagi).
    let http = url.starts_with("http://") && crate::state::jwks::allowed_url(url);
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|_| http))
        .filter(|r| !r.is_empty() && url.len() <= 255 && !r.contains(['?', '#', ' ']))
        .ok_or_else(|| {
            AwsError::validation(format!(
                "The URL {url} is invalid: it must begin with https:// and name a host."
            ))
        })?;
    let rest = rest.trim_end_matches('/');
    let client_ids = strings(i, "ClientIDList");
    for c in &client_ids {
        check_client_id(c)?;
    }
    if client_ids.len() > 100 {
        return Err(AwsError::limit_exceeded(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
        ));
    }
    let thumbprints = strings(i, "ThumbprintList");
    check_thumbprints(&thumbprints)?;
    let tags = tags_param(i)?;
    let arn = format!(
        "arn:aws:iam::{}:oidc-provider/{rest}",
        ctx.caller.account_id
    );
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:CreateOpenIDConnectProvider",
        &arn,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        if tx.get(Table::Meta, &key(&arn))?.is_some() {
            return Err(AwsError::already_exists(format!(
                "Provider with url https://{rest} already exists."
            ))
            .into());
        }
        let mut ids: Vec<String> = Vec::new();
        for c in &client_ids {
            if !ids.contains(c) {
                ids.push(c.clone());
            }
        }
        let p = OidcProvider {
            arn: arn.clone(),
            url: rest.to_owned(),
            created: ctx.now,
            client_ids: ids,
            thumbprints: thumbprints.clone(),
            tags: tags.clone(),
            http,
        };
        tx.put_json(Table::Meta, &key(&arn), &p)
    })?;
    Ok(with_tags(json!({ "OpenIDConnectProviderArn": arn }), &tags))
}

pub fn get(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "OpenIDConnectProviderArn")?;
    ctx.authorize("iam:GetOpenIDConnectProvider", arn)?;
    let p = ctx.store.view(|tx| Ok(load(tx, arn)?))?;
    Ok(with_tags(
        json!({
            "Url": p.url, "ClientIDList": p.client_ids, "ThumbprintList": p.thumbprints,
            "CreateDate": ts(p.created),
        }),
        &p.tags,
    ))
}

pub fn list(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize(
        "iam:ListOpenIDConnectProviders",
        &format!("arn:aws:iam::{}:oidc-provider/", ctx.caller.account_id),
    )?;
    let all: Vec<(String, OidcProvider)> =
        ctx.store.view(|tx| tx.scan_json(Table::Meta, PREFIX))?;
    Ok(json!({
        "OpenIDConnectProviderList": all.iter().map(|(_, p)| json!({"Arn": p.arn})).collect::<Vec<_>>(),
    }))
}

pub fn delete(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "OpenIDConnectProviderArn")?;
    ctx.authorize("iam:DeleteOpenIDConnectProvider", arn)?;
    ctx.store.write(|tx| {
        if !tx.delete(Table::Meta, &key(arn))? {
            return Err(not_found(arn).into());
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// Applies `change` to the stored provider `arn` after authorising `action` on it.
fn modify(
    ctx: &Ctx,
    i: &Value,
    action: &str,
    mut change: impl FnMut(&mut OidcProvider) -> AwsResult<()>,
) -> AwsResult<Value> {
    let arn = req(i, "OpenIDConnectProviderArn")?;
    ctx.authorize(action, arn)?;
    ctx.store.write(|tx| {
        let mut p = load(tx, arn)?;
        change(&mut p)?;
        tx.put_json(Table::Meta, &key(arn), &p)
    })?;
    Ok(json!({}))
}

pub fn add_client_id(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "ClientID")?;
    check_client_id(id)?;
    modify(ctx, i, "iam:AddClientIDToOpenIDConnectProvider", |p| {
        if !p.client_ids.iter().any(|c| c == id) {
            if p.client_ids.len() >= 100 {
                return Err(AwsError::limit_exceeded(
                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
                ));
            }
            p.client_ids.push(id.to_owned());
        }
        Ok(())
    })
}

pub fn remove_client_id(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let id = req(i, "ClientID")?;
    modify(ctx, i, "iam:RemoveClientIDFromOpenIDConnectProvider", |p| {
        p.client_ids.retain(|c| c != id);
        Ok(())
    })
}

pub fn update_thumbprint(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    if i.get("ThumbprintList").is_none() {
        return Err(AwsError::missing_param("ThumbprintList"));
    }
    let t = strings(i, "ThumbprintList");
    check_thumbprints(&t)?;
    modify(ctx, i, "iam:UpdateOpenIDConnectProviderThumbprint", |p| {
        p.thumbprints = t.clone();
        Ok(())
    })
}

pub fn tag(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "OpenIDConnectProviderArn")?;
    let tags = tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagOpenIDConnectProvider",
        arn,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut p = load(tx, arn)?;
        crate::params::merge_tags(&mut p.tags, tags.clone())?;
        tx.put_json(Table::Meta, &key(arn), &p)
    })?;
    Ok(json!({}))
}

pub fn untag(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    modify(ctx, i, "iam:UntagOpenIDConnectProvider", |p| {
        crate::params::remove_tags(&mut p.tags, i);
        Ok(())
    })
}

pub fn list_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "OpenIDConnectProviderArn")?;
    ctx.authorize("iam:ListOpenIDConnectProviderTags", arn)?;
    let p = ctx.store.view(|tx| Ok(load(tx, arn)?))?;
    paginate(
        i,
        crate::params::tags_value(&p.tags)
            .as_array()
            .cloned()
            .unwrap_or_default(),
        "Tags",
    )
}
