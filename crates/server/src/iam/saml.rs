//! IAM SAML identity providers: Create/Get/List/Update/Delete and tags. kagi does not accept
//! SAML assertions (no AssumeRoleWithSAML); the providers exist so that infrastructure code
//! declaring one can create, read, update and delete it.
//!
//! The metadata document must be SAML 2.0 metadata (an `EntityDescriptor` element); its
//! `validUntil` attribute, when present, is the provider's `ValidUntil`, else 100 years from
//! creation (as IAM does). Stored in `Table::Meta` under `saml-provider\0lower(name)`.

use crate::error::{AwsError, AwsResult};
use crate::model::SamlProvider;
use crate::params::{paginate, req, tags_param, ts, with_tags};
use crate::state::Ctx;
use crate::store::{StoreExt, Table, Tx, TxExt, name_key};
use serde_json::{Value, json};

const PREFIX: &str = "saml-provider\0";
const HUNDRED_YEARS: i64 = 100 * 365 * 86_400;

fn key(name: &str) -> String {
    format!("{PREFIX}{}", name_key(name))
}

fn not_found(arn: &str) -> AwsError {
    AwsError::no_such_entity(format!("Manifest not found for arn {arn}"))
}

/// The provider name of an ARN of this account (`…:saml-provider/NAME`).
fn name_of<'a>(ctx: &Ctx, arn: &'a str) -> Option<&'a str> {
    arn.strip_prefix(&format!(
        "arn:aws:iam::{}:saml-provider/",
        ctx.caller.account_id
    ))
}

fn load(ctx: &Ctx, tx: &dyn Tx, arn: &str) -> AwsResult<SamlProvider> {
    let name = name_of(ctx, arn).ok_or_else(|| not_found(arn))?;
    tx.get_json::<SamlProvider>(Table::Meta, &key(name))?
        .filter(|p| p.arn == arn)
        .ok_or_else(|| not_found(arn))
}

/// Checks the metadata and finds its `validUntil` (Unix seconds).
fn metadata_valid_until(doc: &str, now: i64) -> AwsResult<i64> {
    if doc.len() < 1000 || doc.len() > 10_000_000 || !doc.contains("EntityDescriptor") {
        return Err(AwsError::invalid_input(
            "Could not parse metadata: a SAML 2.0 EntityDescriptor document of at least 1000 characters is required.",
        ));
    }
    let until = doc
        .find("validUntil=\"")
        .map(|i| &doc[i + "validUntil=\"".len()..])
        .and_then(|rest| rest.split('"').next())
        .and_then(crate::ids::parse_iso8601);
    Ok(until.unwrap_or(now + HUNDRED_YEARS))
}

pub fn create(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let name = req(i, "Name")?;
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w._-]+"
        )));
    }
    let tags = tags_param(i)?;
    let arn = format!(
        "arn:aws:iam::{}:saml-provider/{name}",
        ctx.caller.account_id
    );
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:CreateSAMLProvider",
        &arn,
        &crate::authz::as_extra(&context),
    )?;
    // The metadata is judged after authorisation: only a caller allowed to create learns why
    // a document is refused.
    let doc = req(i, "SAMLMetadataDocument")?;
    let valid_until = metadata_valid_until(doc, ctx.now)?;
    ctx.store.write(|tx| {
        if tx.get(Table::Meta, &key(name))?.is_some() {
            return Err(
                AwsError::already_exists(format!("SAMLProvider {name} already exists")).into(),
            );
        }
        let p = SamlProvider {
            arn: arn.clone(),
            name: name.to_owned(),
            // IAM's SAMLProviderUUID: 22..64 of [A-Z0-9].
            uuid: crate::ids::unique_id(crate::ids::IdKind::Group)[4..].to_owned(),
            metadata: doc.to_owned(),
            created: ctx.now,
            valid_until,
            tags: tags.clone(),
        };
        tx.put_json(Table::Meta, &key(name), &p)
    })?;
    Ok(with_tags(json!({ "SAMLProviderArn": arn }), &tags))
}

pub fn get(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    ctx.authorize("iam:GetSAMLProvider", arn)?;
    let p = ctx.store.view(|tx| Ok(load(ctx, tx, arn)?))?;
    Ok(with_tags(
        json!({
            "SAMLMetadataDocument": p.metadata, "CreateDate": ts(p.created),
            "ValidUntil": ts(p.valid_until),
        }),
        &p.tags,
    ))
}

pub fn list(ctx: &Ctx) -> AwsResult<Value> {
    ctx.authorize(
        "iam:ListSAMLProviders",
        &format!("arn:aws:iam::{}:saml-provider/", ctx.caller.account_id),
    )?;
    let all: Vec<(String, SamlProvider)> =
        ctx.store.view(|tx| tx.scan_json(Table::Meta, PREFIX))?;
    Ok(json!({
        "SAMLProviderList": all.iter().map(|(_, p)| json!({
            "Arn": p.arn, "ValidUntil": ts(p.valid_until), "CreateDate": ts(p.created),
        })).collect::<Vec<_>>(),
    }))
}

pub fn update(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    ctx.authorize("iam:UpdateSAMLProvider", arn)?;
    let doc = req(i, "SAMLMetadataDocument")?;
    let valid_until = metadata_valid_until(doc, ctx.now)?;
    ctx.store.write(|tx| {
        let mut p = load(ctx, tx, arn)?;
        p.metadata = doc.to_owned();
        p.valid_until = valid_until;
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({ "SAMLProviderArn": arn }))
}

pub fn delete(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    ctx.authorize("iam:DeleteSAMLProvider", arn)?;
    ctx.store.write(|tx| {
        let p = load(ctx, tx, arn)?;
        tx.delete(Table::Meta, &key(&p.name))?;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn tag(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    let tags = tags_param(i)?;
    let context = crate::authz::request_tag_context(&tags);
    ctx.authorize_with(
        "iam:TagSAMLProvider",
        arn,
        &crate::authz::as_extra(&context),
    )?;
    ctx.store.write(|tx| {
        let mut p = load(ctx, tx, arn)?;
        crate::params::merge_tags(&mut p.tags, tags.clone())?;
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn untag(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    ctx.authorize("iam:UntagSAMLProvider", arn)?;
    ctx.store.write(|tx| {
        let mut p = load(ctx, tx, arn)?;
        crate::params::remove_tags(&mut p.tags, i);
        tx.put_json(Table::Meta, &key(&p.name), &p)
    })?;
    Ok(json!({}))
}

pub fn list_tags(ctx: &Ctx, i: &Value) -> AwsResult<Value> {
    let arn = req(i, "SAMLProviderArn")?;
    ctx.authorize("iam:ListSAMLProviderTags", arn)?;
    let p = ctx.store.view(|tx| Ok(load(ctx, tx, arn)?))?;
    paginate(
        i,
        crate::params::tags_value(&p.tags)
            .as_array()
            .cloned()
            .unwrap_or_default(),
        "Tags",
    )
}
