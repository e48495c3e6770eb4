//! ECR lifecycle policies: the document (parsed and validated as `PutLifecyclePolicy` does) and
//! the evaluator, a pure function of the rules, the repository's images and the time.
//!
//! What AWS documents and this module follows (Amazon ECR User Guide, "Lifecycle policies",
//! "Lifecycle policy properties" and "Examples of lifecycle policies"):
//! * A rule has a unique integer `rulePriority` (≥ 1, not necessarily sequential), an optional
//!   `description`, a `selection` and an `action` whose `type` is `expire`.
//! * `selection.tagStatus` is `tagged`, `untagged` or `any`. `tagged` needs a `tagPrefixList` or a
//!   `tagPatternList` (kagi, like the AWS CDK, refuses both in one rule); `untagged` and `any`
//!   take neither. A pattern may hold at most four `*` wildcards.
//! * When a rule lists several prefixes (or patterns), an image is selected only if every one of
//!   them matches at least one of the image's tags.
//! * `countType` `imageCountMoreThan` keeps the newest `countNumber` selected images (by push
//!   time) and expires the rest; `sinceImagePushed` (with `countUnit` `days`, which no other
//!   count type may carry) expires selected images pushed more than `countNumber` days ago.
//!   `countNumber` is a positive integer.
//! * A rule with `tagStatus` `any` must have the highest `rulePriority`; only one rule may select
//!   untagged images by `tagStatus` `untagged` (and one `any`).
//! * Rules are applied lowest priority value first. An image is expired by exactly one rule or
//!   none; an image that matches the tag selection of a rule cannot be expired by a rule with a
//!   lower priority, though lower rules still see (count) it. Expiry always takes older images
//!   before newer ones.
//!
//! kagi supports the `expire` action only (no archive storage class): `storageClass`,
//! `sinceImagePulled`, `sinceImageTransitioned` and `transition` are refused with a message that
//! says so.

use serde_json::{Map, Value};
use std::collections::HashSet;

/// How often `kagi serve` applies every repository's lifecycle policy (AWS: "within 24 hours";
/// kagi also applies a policy at once when it is put).
pub const APPLY_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);

const DAY: f64 = 86_400.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    None,
    Prefixes(Vec<String>),
    Patterns(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Keep the newest N.
    MoreThan(u64),
    /// Expire those pushed more than N days ago.
    DaysSincePushed(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u64,
    pub description: Option<String>,
    pub tag_status: TagStatus,
    pub tags: TagFilter,
    pub count: Count,
}

/// A validated policy; rules sorted by priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

/// An image as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub digest: &'a str,
    pub tags: &'a [String],
    /// Seconds since the Unix epoch.
    pub pushed_at: f64,
}

/// One image the policy expires, and the priority of the rule that expires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub digest: String,
    pub rule_priority: u64,
}

/// The message of the `InvalidParameterException` for an invalid document, in AWS's framing.
pub fn invalid(detail: &str) -> String {
    format!(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {detail}'"
    )
}

fn not_allowed(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), String> {
    let mut extra: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    extra.sort();
    Err(format!(
        "object instance has properties which are not allowed by the schema: {} (at {at})",
        serde_json::to_string(&extra).unwrap_or_default()
    ))
}

fn positive_int(v: Option<&Value>, name: &str, at: &str) -> Result<u64, String> {
    match v {
        None => Err(format!(
            "object has missing required properties ([\"{name}\"]) (at {at})"
        )),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 && n <= i32::MAX as u64 => Ok(n),
            _ => Err(format!(
                "{name} must be a positive integer (0 is not accepted), got {v} (at {at})"
            )),
        },
    }
}

fn string_list(v: &Value, name: &str, at: &str) -> Result<Vec<String>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{name} must be a list of strings (at {at})"))?;
    if arr.is_empty() {
        return Err(format!("{name} must not be empty (at {at})"));
    }
    let mut out = vec![];
    for s in arr {
        match s.as_str() {
            Some(s) if !s.is_empty() => out.push(s.to_string()),
            _ => {
                return Err(format!(
                    "{name} must hold non-empty strings, got {s} (at {at})"
                ));
            }
        }
    }
    Ok(out)
}

fn parse_rule(i: usize, v: &Value) -> Result<Rule, String> {
    let at = format!("rules[{i}]");
    let obj = v
        .as_object()
        .ok_or_else(|| format!("a rule must be an object (at {at})"))?;
    not_allowed(
        obj,
        &["rulePriority", "description", "selection", "action"],
        &at,
    )?;
    let priority = positive_int(obj.get("rulePriority"), "rulePriority", &at)?;
    let description = match obj.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(format!("description must be a string (at {at})")),
    };
    // action
    let action = obj
        .get("action")
        .ok_or_else(|| format!("object has missing required properties ([\"action\"]) (at {at})"))?
        .as_object()
        .ok_or_else(|| format!("action must be an object (at {at})"))?;
    let at_a = format!("{at}.action");
    not_allowed(action, &["type", "targetStorageClass"], &at_a)?;
    match action.get("type").and_then(Value::as_str) {
        Some("expire") => {}
        Some("transition") => {
            return Err(format!(
                "action type 'transition' (archive storage class) is not supported by kagi; the supported value is 'expire' (at {at_a})"
            ));
        }
        Some(t) => {
            return Err(format!(
                "action type '{t}' is not valid; the supported value is 'expire' (at {at_a})"
            ));
        }
        None => {
            return Err(format!(
                "object has missing required properties ([\"type\"]) (at {at_a})"
            ));
        }
    }
    if action.contains_key("targetStorageClass") {
        return Err(format!(
            "targetStorageClass is only allowed with action type 'transition' (at {at_a})"
        ));
    }
    // selection
    let at_s = format!("{at}.selection");
    let sel = obj
        .get("selection")
        .ok_or_else(|| {
            format!("object has missing required properties ([\"selection\"]) (at {at})")
        })?
        .as_object()
        .ok_or_else(|| format!("selection must be an object (at {at})"))?;
    not_allowed(
        sel,
        &[
            "tagStatus",
            "tagPrefixList",
            "tagPatternList",
            "storageClass",
            "countType",
            "countUnit",
            "countNumber",
        ],
        &at_s,
    )?;
    if sel.contains_key("storageClass") {
        return Err(format!(
            "storageClass is not supported by kagi (no archive storage class) (at {at_s})"
        ));
    }
    let tag_status = match sel.get("tagStatus").and_then(Value::as_str) {
        Some("tagged") => TagStatus::Tagged,
        Some("untagged") => TagStatus::Untagged,
        Some("any") => TagStatus::Any,
        Some(t) => {
            return Err(format!(
                "tagStatus '{t}' is not valid; acceptable values are tagged, untagged and any (at {at_s})"
            ));
        }
        None => {
            return Err(format!(
                "object has missing required properties ([\"tagStatus\"]) (at {at_s})"
            ));
        }
    };
    let prefixes = sel
        .get("tagPrefixList")
        .map(|v| string_list(v, "tagPrefixList", &at_s))
        .transpose()?;
    let patterns = sel
        .get("tagPatternList")
        .map(|v| string_list(v, "tagPatternList", &at_s))
        .transpose()?;
    let tags = match (tag_status, prefixes, patterns) {
        (TagStatus::Tagged, Some(_), Some(_)) => {
            return Err(format!(
                "tagPrefixList and tagPatternList cannot both be specified in a rule (at {at_s})"
            ));
        }
        (TagStatus::Tagged, Some(p), None) => TagFilter::Prefixes(p),
        (TagStatus::Tagged, None, Some(p)) => {
            if let Some(bad) = p.iter().find(|p| p.matches('*').count() > 4) {
                return Err(format!(
                    "tag pattern '{bad}' has more than the maximum of four wildcards (*) (at {at_s})"
                ));
            }
            TagFilter::Patterns(p)
        }
        (TagStatus::Tagged, None, None) => {
            return Err(format!(
                "tagStatus 'tagged' requires a tagPrefixList or a tagPatternList (at {at_s})"
            ));
        }
        (_, None, None) => TagFilter::None,
        (s, _, _) => {
            return Err(format!(
                "tagPrefixList and tagPatternList must be omitted when tagStatus is '{}' (at {at_s})",
                if s == TagStatus::Any {
                    "any"
                } else {
                    "untagged"
                }
            ));
        }
    };
    let n = positive_int(sel.get("countNumber"), "countNumber", &at_s)?;
    let unit = sel.get("countUnit");
    let count = match sel.get("countType").and_then(Value::as_str) {
        Some("imageCountMoreThan") => {
            if unit.is_some() {
                return Err(format!(
                    "countUnit may only be specified when countType is 'sinceImagePushed' (at {at_s})"
                ));
            }
            Count::MoreThan(n)
        }
        Some("sinceImagePushed") => match unit.and_then(Value::as_str) {
            Some("days") => Count::DaysSincePushed(n),
            Some(u) => {
                return Err(format!(
                    "countUnit '{u}' is not valid; the supported value is 'days' (at {at_s})"
                ));
            }
            None => {
                return Err(format!(
                    "countType 'sinceImagePushed' requires countUnit 'days' (at {at_s})"
                ));
            }
        },
        Some(t @ ("sinceImagePulled" | "sinceImageTransitioned")) => {
            return Err(format!(
                "countType '{t}' is not supported by kagi; use imageCountMoreThan or sinceImagePushed (at {at_s})"
            ));
        }
        Some(t) => {
            return Err(format!(
                "countType '{t}' is not valid; acceptable values are imageCountMoreThan and sinceImagePushed (at {at_s})"
            ));
        }
        None => {
            return Err(format!(
                "object has missing required properties ([\"countType\"]) (at {at_s})"
            ));
        }
    };
    Ok(Rule {
        priority,
        description,
        tag_status,
        tags,
        count,
    })
}

/// Parses and validates a lifecycle policy document. `Err` is the detail for [`invalid`].
pub fn parse(text: &str) -> Result<Policy, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the policy is not valid JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("the policy must be a JSON object with a 'rules' list")?;
    not_allowed(obj, &["rules"], "the top level")?;
    let rules = obj
        .get("rules")
        .ok_or("object has missing required properties ([\"rules\"])")?
        .as_array()
        .ok_or("rules must be a list")?;
    if rules.is_empty() {
        return Err("rules must hold at least one rule".into());
    }
    let mut out: Vec<Rule> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| parse_rule(i, r))
        .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for r in &out {
        if !seen.insert(r.priority) {
            return Err(format!(
                "rulePriority {} is used by more than one rule; each rule must have a unique rulePriority",
                r.priority
            ));
        }
    }
    out.sort_by_key(|r| r.priority);
    for (status, name) in [(TagStatus::Any, "any"), (TagStatus::Untagged, "untagged")] {
        if out.iter().filter(|r| r.tag_status == status).count() > 1 {
            return Err(format!("only one rule may have tagStatus '{name}'"));
        }
    }
    if let Some(pos) = out.iter().position(|r| r.tag_status == TagStatus::Any)
        && pos + 1 != out.len()
    {
        return Err(format!(
            "the rule with tagStatus 'any' (rulePriority {}) must have the highest rulePriority",
            out[pos].priority
        ));
    }
    Ok(Policy { rules: out })
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn wildcard_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Rule {
    /// Whether the image meets the rule's tag requirements.
    pub fn selects(&self, tags: &[String]) -> bool {
        match self.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => tags.is_empty(),
            TagStatus::Tagged => {
                !tags.is_empty()
                    && match &self.tags {
                        TagFilter::None => true,
                        TagFilter::Prefixes(ps) => ps
                            .iter()
                            .all(|p| tags.iter().any(|t| t.starts_with(p.as_str()))),
                        TagFilter::Patterns(ps) => {
                            ps.iter().all(|p| tags.iter().any(|t| wildcard_match(p, t)))
                        }
                    }
            }
        }
    }
}

/// The images `policy` expires at time `now` (seconds since the epoch), oldest first.
pub fn evaluate(policy: &Policy, images: &[Image<'_>], now: f64) -> Vec<Expiry> {
    // Newest first; ties broken by digest so that the result is deterministic.
    let mut order: Vec<usize> = (0..images.len()).collect();
    order.sort_by(|&a, &b| {
        images[b]
            .pushed_at
            .total_cmp(&images[a].pushed_at)
            .then_with(|| images[a].digest.cmp(images[b].digest))
    });
    // Index of the highest-priority rule whose tag selection an image matched so far.
    let mut claimed: Vec<bool> = vec![false; images.len()];
    let mut expired: Vec<Option<u64>> = vec![None; images.len()];
    let mut rules = policy.rules.clone();
    rules.sort_by_key(|r| r.priority);
    for rule in &rules {
        let selected: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| rule.selects(images[i].tags))
            .collect();
        let marked: Vec<usize> = match rule.count {
            Count::MoreThan(n) => selected.iter().copied().skip(n as usize).collect(),
            Count::DaysSincePushed(n) => selected
                .iter()
                .copied()
                .filter(|&i| now - images[i].pushed_at > n as f64 * DAY)
                .collect(),
        };
        for i in marked {
            if !claimed[i] {
                expired[i] = Some(rule.priority);
            }
        }
        for i in selected {
            claimed[i] = true;
        }
    }
    let mut out: Vec<(usize, Expiry)> = expired
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.map(|p| {
                (
                    i,
                    Expiry {
                        digest: images[i].digest.to_string(),
                        rule_priority: p,
                    },
                )
            })
        })
        .collect();
    out.sort_by(|(a, x), (b, y)| {
        images[*a]
            .pushed_at
            .total_cmp(&images[*b].pushed_at)
            .then_with(|| x.digest.cmp(&y.digest))
    });
    out.into_iter().map(|(_, e)| e).collect()
}

/// The images of a repository as [`evaluate`] takes them.
pub fn images_of(rows: &[crate::store::ImageRow]) -> Vec<Image<'_>> {
    rows.iter()
        .map(|r| Image {
            digest: &r.digest,
            tags: &r.tags,
            pushed_at: r.pushed_at,
        })
        .collect()
}

/// Applies the policy `text` to the repository at time `now`: deletes each image it expires the
/// way `BatchDeleteImage` does (one transaction per image, blobs left to garbage collection),
/// image indexes before the images they reference, and records `now` as the policy's
/// `lastEvaluatedAt`. An image still referenced by an index the policy keeps is not deleted, and
/// one deleted meanwhile is skipped. Returns what it deleted.
pub fn apply(
    store: &crate::store::Store,
    repo_id: i64,
    text: &str,
    now: f64,
) -> Result<Vec<Expiry>, crate::error::StoreError> {
    use crate::error::StoreError;
    let Ok(policy) = parse(text) else {
        return Ok(vec![]);
    };
    let rows = store.list_images(repo_id)?;
    let mut expiring = evaluate(&policy, &images_of(&rows), now);
    let is_index = |d: &str| {
        rows.iter()
            .any(|r| r.digest == d && crate::manifest::is_index(&r.media_type))
    };
    // stable: indexes first, otherwise oldest first
    expiring.sort_by_key(|e| !is_index(&e.digest));
    let mut deleted = vec![];
    for e in expiring {
        match store.delete_image(repo_id, &e.digest) {
            Ok(_) => deleted.push(e),
            Err(StoreError::ImageReferenced(_) | StoreError::ManifestUnknown) => {}
            Err(other) => return Err(other),
        }
    }
    store.set_lifecycle_evaluated(repo_id, text, now)?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;

    struct Img {
        name: &'static str,
        tags: Vec<String>,
        pushed: f64,
    }

    fn img(name: &'static str, tags: &[&str], days_ago: f64) -> Img {
        Img {
            name,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed: NOW - days_ago * DAY,
        }
    }

    fn run(policy: Value, imgs: &[Img]) -> Vec<&'static str> {
        let p = parse(&policy.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let images: Vec<Image<'_>> = imgs
            .iter()
            .map(|i| Image {
                digest: i.name,
                tags: &i.tags,
                pushed_at: i.pushed,
            })
            .collect();
        let mut out: Vec<&'static str> = evaluate(&p, &images, NOW)
            .into_iter()
            .map(|e| imgs.iter().find(|i| i.name == e.digest).unwrap().name)
            .collect();
        out.sort();
        out
    }

    fn rule(p: u64, selection: Value) -> Value {
        json!({"rulePriority": p, "description": format!("Rule {p}"), "selection": selection, "action": {"type": "expire"}})
    }

    fn err(policy: Value) -> String {
        parse(&policy.to_string()).unwrap_err()
    }

    // ---- "Examples of lifecycle policies in Amazon ECR" ---------------------------------

    #[test]
    fn example_filtering_on_image_age() {
        let p = json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPatternList": ["prod*"],
            "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}))]});
        let imgs = [
            img("old-prod", &["prod-1"], 15.0),
            img("new-prod", &["prod-2"], 13.0),
            img("old-dev", &["dev-1"], 30.0),
            img("old-untagged", &[], 30.0),
        ];
        assert_eq!(run(p, &imgs), ["old-prod"]);
    }

    #[test]
    fn example_filtering_on_image_count() {
        let p = json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}))]});
        let imgs = [
            img("u1", &[], 3.0),
            img("u2", &[], 2.0),
            img("u3", &[], 1.0),
            img("t", &["v1"], 9.0),
        ];
        assert_eq!(run(p, &imgs), ["u1", "u2"]);
    }

    fn abc() -> [Img; 3] {
        [
            img("A", &["beta-1", "prod-1"], 10.0),
            img("B", &["beta-2", "prod-2"], 9.0),
            img("C", &["beta-3"], 8.0),
        ]
    }

    /// The page's examples use `tagPatternList` (`prod*`) today and `tagPrefixList` (`prod`) in
    /// earlier editions; both give the same results.
    fn tag_sel(kind: &str, tags: &[&str]) -> (&'static str, Value) {
        if kind == "prefix" {
            ("tagPrefixList", json!(tags))
        } else {
            let p: Vec<String> = tags.iter().map(|t| format!("{t}*")).collect();
            ("tagPatternList", json!(p))
        }
    }

    fn tagged_count(p: u64, kind: &str, tags: &[&str], n: u64) -> Value {
        let (k, v) = tag_sel(kind, tags);
        let mut sel =
            json!({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": n});
        sel[k] = v;
        rule(p, sel)
    }

    #[test]
    fn example_multiple_rules_a() {
        for kind in ["prefix", "pattern"] {
            let p = json!({"rules": [tagged_count(1, kind, &["prod"], 1), tagged_count(2, kind, &["beta"], 1)]});
            // Rule 2 would mark A and B, but both were seen by rule 1: only A is expired.
            assert_eq!(run(p, &abc()), ["A"], "{kind}");
        }
    }

    #[test]
    fn example_multiple_rules_b() {
        for kind in ["prefix", "pattern"] {
            let p = json!({"rules": [tagged_count(1, kind, &["beta"], 1), tagged_count(2, kind, &["prod"], 1)]});
            assert_eq!(run(p, &abc()), ["A", "B"], "{kind}");
        }
    }

    #[test]
    fn example_multiple_tags_in_a_single_rule_a() {
        let p = json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPatternList": ["alpha*", "beta*"],
            "countType": "sinceImagePushed", "countNumber": 5, "countUnit": "days"}))]});
        let imgs = [
            img("A", &["alpha-1"], 12.0),
            img("B", &["beta-1"], 11.0),
            img("C", &["alpha-2", "beta-2"], 10.0),
            img("D", &["alpha-3"], 4.0),
            img("E", &["beta-3"], 3.0),
            img("F", &["alpha-4", "beta-4"], 2.0),
        ];
        assert_eq!(run(p, &imgs), ["C"]);
    }

    #[test]
    fn example_multiple_tags_in_a_single_rule_b() {
        for kind in ["prefix", "pattern"] {
            let p = json!({"rules": [tagged_count(1, kind, &["alpha", "beta"], 1)]});
            let imgs = [
                img("A", &["alpha-1", "beta-1", "gamma-1"], 10.0),
                img("B", &["alpha-2", "beta-2"], 9.0),
                img("C", &["alpha-3", "beta-3", "gamma-2"], 8.0),
            ];
            assert_eq!(run(p, &imgs), ["A", "B"], "{kind}");
        }
    }

    #[test]
    fn untagged_rule_then_any_rule() {
        // Untagged kept to 1 (rule 1), everything else to 1 (rule 2).
        let p = json!({"rules": [
            rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1})),
            rule(2, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1})),
        ]});
        let imgs = [
            img("A", &[], 4.0),
            img("B", &[], 3.0),
            img("C", &["t1"], 2.0),
            img("D", &["t2"], 1.0),
        ];
        // Rule 1 expires A (keeps B). Rule 2 sees all four, keeps D, marks A, B, C; A and B
        // match rule 1's selection, so only C is expired by rule 2.
        assert_eq!(run(p, &imgs), ["A", "C"]);
    }

    #[test]
    fn prefixes_match_the_start_of_any_tag() {
        let p = json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPrefixList": ["prod"],
            "countType": "imageCountMoreThan", "countNumber": 1}))]});
        let imgs = [
            img("A", &["production"], 3.0),
            img("B", &["prod"], 2.0),
            img("C", &["xprod"], 1.0),
            img("D", &["prod2"], 0.5),
        ];
        assert_eq!(run(p, &imgs), ["A", "B"]);
    }

    #[test]
    fn since_pushed_is_strictly_older_than_n_days() {
        let p = json!({"rules": [rule(1, json!({"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7}))]});
        let imgs = [
            img("exactly7", &[], 7.0),
            img("over7", &["x"], 7.001),
            img("new", &[], 0.0),
        ];
        assert_eq!(run(p, &imgs), ["over7"]);
    }

    #[test]
    fn count_ties_are_deterministic_and_results_are_oldest_first() {
        let p = parse(&json!({"rules": [rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}))]}).to_string()).unwrap();
        let tags: Vec<String> = vec![];
        let imgs = [
            Image {
                digest: "b",
                tags: &tags,
                pushed_at: 5.0,
            },
            Image {
                digest: "a",
                tags: &tags,
                pushed_at: 5.0,
            },
            Image {
                digest: "c",
                tags: &tags,
                pushed_at: 1.0,
            },
        ];
        let out = evaluate(&p, &imgs, 10.0);
        let d: Vec<&str> = out.iter().map(|e| e.digest.as_str()).collect();
        assert_eq!(d, ["c", "b"]);
        assert!(out.iter().all(|e| e.rule_priority == 1));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("prod*", "prod"));
        assert!(wildcard_match("prod*", "prod-1"));
        assert!(!wildcard_match("prod*", "xprod"));
        assert!(wildcard_match("*test*1*2*3", "my-test-1-2-3"));
        assert!(!wildcard_match("*test*1*2*3", "my-test-1-2-3-4"));
        assert!(wildcard_match("v*.*.*", "v1.2.3"));
        assert!(wildcard_match("latest", "latest"));
        assert!(!wildcard_match("latest", "latest2"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("a*b*c", "abbbc"));
    }

    // ---- validation ---------------------------------------------------------------------

    #[test]
    fn valid_documents() {
        let p = parse(&json!({"rules": [
            rule(10, json!({"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 25})),
            rule(2, json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14})),
            rule(30, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 75})),
        ]}).to_string()).unwrap();
        let prios: Vec<u64> = p.rules.iter().map(|r| r.priority).collect();
        assert_eq!(prios, [2, 10, 30]);
        assert_eq!(p.rules[0].count, Count::DaysSincePushed(14));
        assert_eq!(p.rules[1].tags, TagFilter::Prefixes(vec!["prod".into()]));
        assert_eq!(p.rules[0].description.as_deref(), Some("Rule 2"));
    }

    #[test]
    fn invalid_documents() {
        let ok_sel =
            json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1});
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), "JSON object"),
            (json!({}), "missing required properties ([\"rules\"])"),
            (json!({"rules": []}), "at least one rule"),
            (
                json!({"rules": [rule(1, ok_sel.clone())], "x": 1}),
                "not allowed by the schema: [\"x\"]",
            ),
            (
                json!({"rules": [rule(0, ok_sel.clone())]}),
                "rulePriority must be a positive integer",
            ),
            (
                json!({"rules": [rule(1, ok_sel.clone()), rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "unique rulePriority",
            ),
            (
                json!({"rules": [{"rulePriority": 1, "selection": ok_sel.clone()}]}),
                "([\"action\"])",
            ),
            (
                json!({"rules": [{"rulePriority": 1, "selection": ok_sel.clone(), "action": {"type": "delete"}}]}),
                "action type 'delete'",
            ),
            (
                json!({"rules": [{"rulePriority": 1, "selection": ok_sel.clone(), "action": {"type": "transition", "targetStorageClass": "archive"}}]}),
                "not supported by kagi",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "some", "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "tagStatus 'some'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "requires a tagPrefixList or a tagPatternList",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPrefixList": ["a"], "tagPatternList": ["a*"], "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "cannot both",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "must be omitted when tagStatus is 'untagged'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "any", "tagPatternList": ["a*"], "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "must be omitted when tagStatus is 'any'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPatternList": ["test*1*2*3*4*5*6"], "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "four wildcards",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "tagged", "tagPrefixList": [], "countType": "imageCountMoreThan", "countNumber": 1}))]}),
                "must not be empty",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 0}))]}),
                "countNumber must be a positive integer",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1.5}))]}),
                "countNumber must be a positive integer",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 1}))]}),
                "countUnit may only be specified",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 1}))]}),
                "requires countUnit 'days'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "hours", "countNumber": 1}))]}),
                "countUnit 'hours'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 1}))]}),
                "not supported by kagi",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "forever", "countNumber": 1}))]}),
                "countType 'forever'",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countNumber": 1}))]}),
                "([\"countType\"])",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1, "storageClass": "standard"}))]}),
                "storageClass",
            ),
            (
                json!({"rules": [rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1, "extra": true}))]}),
                "not allowed by the schema: [\"extra\"]",
            ),
            (
                json!({"rules": [
                    rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5})),
                    rule(2, json!({"tagStatus": "tagged", "tagPrefixList": ["p"], "countType": "imageCountMoreThan", "countNumber": 1})),
                ]}),
                "must have the highest rulePriority",
            ),
            (
                json!({"rules": [
                    rule(1, json!({"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5})),
                    rule(2, json!({"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1})),
                ]}),
                "only one rule may have tagStatus 'untagged'",
            ),
            (
                json!({"rules": [
                    rule(1, json!({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5})),
                    rule(2, json!({"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1})),
                ]}),
                "only one rule may have tagStatus 'any'",
            ),
        ];
        for (doc, want) in cases {
            let e = err(doc.clone());
            assert!(e.contains(want), "{doc}: {e} (wanted {want})");
        }
        assert!(parse("{not json").unwrap_err().contains("not valid JSON"));
        assert!(invalid("x").starts_with("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: x"));
    }

    // ---- properties over generated repositories -----------------------------------------

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_rule(rng: &mut Rng, priority: u64, last: bool) -> Rule {
        let tag_status = match rng.below(if last { 3 } else { 2 }) {
            0 => TagStatus::Tagged,
            1 => TagStatus::Untagged,
            _ => TagStatus::Any,
        };
        let pool = ["prod", "beta", "v1", "v2", "rel*", "*-rc", "p*d"];
        let tags = match tag_status {
            TagStatus::Tagged => {
                let k = 1 + rng.below(2) as usize;
                let picks: Vec<String> = (0..k)
                    .map(|_| pool[rng.below(pool.len() as u64) as usize].to_string())
                    .collect();
                if rng.below(2) == 0 {
                    TagFilter::Patterns(picks)
                } else {
                    TagFilter::Prefixes(
                        picks
                            .into_iter()
                            .map(|p| p.replace('*', ""))
                            .filter(|p| !p.is_empty())
                            .collect::<Vec<_>>(),
                    )
                    .non_empty_or_patterns()
                }
            }
            _ => TagFilter::None,
        };
        let n = 1 + rng.below(4);
        let count = if rng.below(2) == 0 {
            Count::MoreThan(n)
        } else {
            Count::DaysSincePushed(n)
        };
        Rule {
            priority,
            description: None,
            tag_status,
            tags,
            count,
        }
    }

    impl TagFilter {
        fn non_empty_or_patterns(self) -> TagFilter {
            match self {
                TagFilter::Prefixes(p) if p.is_empty() => TagFilter::Patterns(vec!["*".into()]),
                other => other,
            }
        }
    }

    #[test]
    fn evaluation_properties_hold_on_generated_repositories() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let tag_pool = [
            "prod-1", "prod-2", "beta-1", "v1.0", "v2.0", "rel-9", "x-rc", "pod",
        ];
        for _case in 0..2000 {
            let nrules = 1 + rng.below(3);
            let mut prio = 0;
            let rules: Vec<Rule> = (0..nrules)
                .map(|k| {
                    prio += 1 + rng.below(5);
                    random_rule(&mut rng, prio, k + 1 == nrules)
                })
                .collect();
            let policy = Policy { rules };
            let nimg = rng.below(12) as usize;
            let data: Vec<(String, Vec<String>, f64)> = (0..nimg)
                .map(|i| {
                    let k = rng.below(3) as usize;
                    let tags: Vec<String> = (0..k)
                        .map(|_| tag_pool[rng.below(tag_pool.len() as u64) as usize].to_string())
                        .collect();
                    (
                        format!("sha256:{i:02}"),
                        tags,
                        NOW - rng.below(10 * 86_400) as f64,
                    )
                })
                .collect();
            let images: Vec<Image<'_>> = data
                .iter()
                .map(|(d, t, p)| Image {
                    digest: d,
                    tags: t,
                    pushed_at: *p,
                })
                .collect();
            let out = evaluate(&policy, &images, NOW);
            let find = |d: &str| images.iter().find(|i| i.digest == d).unwrap();
            // each image at most once, results oldest first
            let mut seen = HashSet::new();
            for w in out.windows(2) {
                assert!(find(&w[0].digest).pushed_at <= find(&w[1].digest).pushed_at);
            }
            for e in &out {
                assert!(seen.insert(e.digest.clone()));
                let i = find(&e.digest);
                let rule = policy
                    .rules
                    .iter()
                    .find(|r| r.priority == e.rule_priority)
                    .unwrap();
                // the expiring rule selects the image, and no higher-priority rule does
                assert!(rule.selects(i.tags));
                assert!(
                    policy
                        .rules
                        .iter()
                        .filter(|r| r.priority < rule.priority)
                        .all(|r| !r.selects(i.tags))
                );
                match rule.count {
                    Count::DaysSincePushed(n) => assert!(NOW - i.pushed_at > n as f64 * DAY),
                    Count::MoreThan(n) => {
                        let newer = images
                            .iter()
                            .filter(|o| rule.selects(o.tags))
                            .filter(|o| {
                                (o.pushed_at, std::cmp::Reverse(o.digest))
                                    > (i.pushed_at, std::cmp::Reverse(i.digest))
                            })
                            .count() as u64;
                        assert!(
                            newer >= n,
                            "expired with only {newer} newer selected images"
                        );
                    }
                }
            }
            // a single rule's count is exact: the newest N selected images survive
            if let [r] = policy.rules.as_slice() {
                let selected = images.iter().filter(|i| r.selects(i.tags)).count() as u64;
                let expected = match r.count {
                    Count::MoreThan(n) => selected.saturating_sub(n),
                    Count::DaysSincePushed(n) => images
                        .iter()
                        .filter(|i| r.selects(i.tags) && NOW - i.pushed_at > n as f64 * DAY)
                        .count() as u64,
                };
                assert_eq!(out.len() as u64, expected);
            }
            // evaluation is a function of its inputs: order of the image list does not matter
            let mut rev = images.clone();
            rev.reverse();
            assert_eq!(evaluate(&policy, &rev, NOW), out);
        }
    }
}
