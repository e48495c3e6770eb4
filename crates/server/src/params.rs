//! Request parameters, tags and pagination: the helpers every IAM and STS handler uses to read
//! its input and shape its output (one copy each: tags, ISO-8601 timestamps, markers).

use crate::caller::Principal;
use crate::error::{AwsError, AwsResult};
use crate::model::Tag;
use crate::state::Ctx;
use base64::Engine;
use serde_json::{Map, Value, json};

pub fn req<'a>(input: &'a Value, name: &str) -> AwsResult<&'a str> {
    input
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::missing_param(name))
}

pub fn opt<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

pub fn opt_i64(input: &Value, name: &str) -> Option<i64> {
    input.get(name).and_then(Value::as_i64)
}

pub fn opt_bool(input: &Value, name: &str) -> Option<bool> {
    input.get(name).and_then(Value::as_bool)
}

pub fn path_param(input: &Value, name: &str) -> AwsResult<String> {
    let p = opt(input, name).unwrap_or("/");
    if !crate::ids::valid_path(p) {
        return Err(AwsError::validation(format!(
            "The specified value for {} is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
            lower_first(name)
        )));
    }
    Ok(p.to_owned())
}

pub fn name_param<'a>(input: &'a Value, name: &str, max: usize) -> AwsResult<&'a str> {
    let v = req(input, name)?;
    if !crate::ids::valid_name(v, max) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}",
            lower_first(name)
        )));
    }
    Ok(v)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn tags_param(input: &Value) -> AwsResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::new();
    if let Some(arr) = input.get("Tags").and_then(Value::as_array) {
        for t in arr {
            let key = t
                .get("Key")
                .and_then(Value::as_str)
                .ok_or_else(|| AwsError::missing_param("Key"))?;
            let value = t.get("Value").and_then(Value::as_str).unwrap_or("");
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err(AwsError::validation(
                    "Tag keys must be 1-128 characters and values at most 256 characters.",
                ));
            }
            if let Some(existing) = out.iter_mut().find(|x| x.key == key) {
                existing.value = value.to_owned();
            } else {
                out.push(Tag {
                    key: key.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> AwsResult<()> {
    for t in new {
        if let Some(e) = existing
            .iter_mut()
            .find(|x| x.key.eq_ignore_ascii_case(&t.key))
        {
            e.value = t.value;
        } else {
            existing.push(t);
        }
    }
    if existing.len() > 50 {
        return Err(AwsError::limit_exceeded(
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

pub fn remove_tags(existing: &mut Vec<Tag>, input: &Value) {
    let keys: Vec<&str> = input
        .get("TagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

pub fn tags_value(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// Adds `Tags` to `obj` when there are any (AWS omits the member otherwise).
pub fn with_tags(mut obj: Value, tags: &[Tag]) -> Value {
    if !tags.is_empty() {
        obj["Tags"] = tags_value(tags);
    }
    obj
}

/// Marker/MaxItems pagination over an already-ordered list. Markers are opaque to clients
/// (base64 of the offset).
pub fn paginate(input: &Value, items: Vec<Value>, key: &str) -> AwsResult<Value> {
    paginate_into(input, items, key, Map::new())
}

pub fn paginate_into(
    input: &Value,
    items: Vec<Value>,
    key: &str,
    mut out: Map<String, Value>,
) -> AwsResult<Value> {
    let max = opt_i64(input, "MaxItems").unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    let start = match opt(input, "Marker") {
        None => 0,
        Some(m) => decode_marker(m).ok_or_else(|| AwsError::validation("Invalid Marker."))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(max as usize).collect();
    let next = start + page.len();
    out.insert(key.to_owned(), Value::Array(page));
    out.insert("IsTruncated".into(), Value::Bool(next < total));
    if next < total {
        out.insert("Marker".into(), Value::String(encode_marker(next)));
    }
    Ok(Value::Object(out))
}

/// `NextToken`/`MaxResults` pagination (the JSON services' spelling) over an already-ordered
/// list, with the same opaque tokens as [`paginate`]; `max` is the service's page limit (and
/// default).
pub fn paginate_token(input: &Value, items: Vec<Value>, key: &str, max: i64) -> AwsResult<Value> {
    let size = opt_i64(input, "MaxResults").unwrap_or(max);
    if !(1..=max).contains(&size) {
        return Err(AwsError::new(
            400,
            "InvalidInputException",
            format!("MaxResults must be between 1 and {max}. (INVALID_PAGINATION_TOKEN)"),
        ));
    }
    let start = match opt(input, "NextToken") {
        None => 0,
        Some(m) => decode_marker(m).ok_or_else(|| {
            AwsError::new(
                400,
                "InvalidInputException",
                "You specified an invalid value for nextToken. (INVALID_PAGINATION_TOKEN)",
            )
        })?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size as usize).collect();
    let next = start + page.len();
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::Array(page));
    if next < total {
        out.insert("NextToken".into(), Value::String(encode_marker(next)));
    }
    Ok(Value::Object(out))
}

fn encode_marker(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("kagi:{n}"))
}

fn decode_marker(m: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("kagi:")?
        .parse()
        .ok()
}

/// Where an entity is now (`arn`, `path`, `name`) — `None` when it does not exist.
pub struct Located<'a> {
    pub arn: &'a str,
    pub path: &'a str,
    pub name: &'a str,
}

/// A rename or move (UpdateUser, UpdateGroup) needs `action` on the entity as it is and as it
/// will be, as on AWS. A missing entity is authorised on its would-be ARN (so the caller learns
/// `NoSuchEntity` only when allowed to ask).
pub fn authorize_rename(
    ctx: &Ctx,
    action: &str,
    kind: &str,
    name: &str,
    current: Option<Located>,
    new_path: Option<&str>,
    new_name: Option<&str>,
) -> AwsResult<()> {
    let Some(cur) = current else {
        let arn = crate::ids::iam_arn(&ctx.caller.account_id, kind, "/", name);
        return ctx.authorize(action, &arn);
    };
    ctx.authorize(action, cur.arn)?;
    let target = crate::ids::iam_arn(
        &ctx.caller.account_id,
        kind,
        new_path.unwrap_or(cur.path),
        new_name.unwrap_or(cur.name),
    );
    if target != cur.arn {
        ctx.authorize(action, &target)?;
    }
    Ok(())
}

pub fn ts(secs: i64) -> Value {
    Value::String(crate::ids::iso8601(secs))
}

/// The user a no-`UserName` call means: the calling IAM user. Other callers must name one.
pub fn implicit_user(ctx: &Ctx, input: &Value) -> AwsResult<String> {
    if let Some(u) = opt(input, "UserName") {
        return Ok(u.to_owned());
    }
    match &ctx.caller.principal {
        Principal::User { name, .. } => Ok(name.clone()),
        _ => Err(AwsError::validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_walks_everything_once() {
        let items: Vec<Value> = (0..7).map(|i| json!(i)).collect();
        let mut seen = Vec::new();
        let mut input = json!({"MaxItems": 3});
        loop {
            let page = paginate(&input, items.clone(), "Items").unwrap();
            seen.extend(page["Items"].as_array().unwrap().iter().cloned());
            if !page["IsTruncated"].as_bool().unwrap() {
                assert!(page.get("Marker").is_none());
                break;
            }
            input["Marker"] = page["Marker"].clone();
        }
        assert_eq!(seen, items);
        assert!(paginate(&json!({"MaxItems": 0}), items.clone(), "I").is_err());
        assert!(paginate(&json!({"Marker": "garbage!"}), items, "I").is_err());
    }
}
