//! Access-Analyzer-style validation (`aws accessanalyzer validate-policy`): findings typed
//! `ERROR`, `SECURITY_WARNING`, `WARNING`, `SUGGESTION`, each with an issue code, details, a
//! learn-more link and locations (path + span) into the document
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html>).
//!
//! Spans use Access Analyzer's convention: `line` from 1, `column` and `offset` from 0.

use serde_json::{Map, Value, json};

use crate::actions;
use crate::ast::{Effect, ListElement, Policy, PolicyType, Statement, Version};
use crate::condition::OpKind;
use crate::error::{Location, PathElement, PolicyError};
use crate::json::Span;
use crate::parse::{check_all, parse_lenient, statement_path};
use crate::pattern::{ArnPattern, Template};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingType {
    Error,
    SecurityWarning,
    Warning,
    Suggestion,
}

impl FindingType {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }

    fn anchor(self) -> &'static str {
        match self {
            FindingType::Error => "error",
            FindingType::SecurityWarning => "security-warning",
            FindingType::Warning => "general-warning",
            FindingType::Suggestion => "suggestion",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub finding_type: FindingType,
    pub issue_code: String,
    pub details: String,
    pub learn_more_link: String,
    pub locations: Vec<Location>,
}

impl Finding {
    fn new(
        t: FindingType,
        code: &str,
        details: impl Into<String>,
        locations: Vec<Location>,
    ) -> Self {
        Finding {
            finding_type: t,
            issue_code: code.to_string(),
            details: details.into(),
            learn_more_link: format!(
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-{}-{}",
                t.anchor(),
                code.to_ascii_lowercase().replace('_', "-")
            ),
            locations,
        }
    }

    /// The `ValidatePolicyFinding` JSON shape.
    pub fn to_json(&self) -> Value {
        let locations: Vec<Value> = self
            .locations
            .iter()
            .map(|l| {
                let path: Vec<Value> = l
                    .path
                    .iter()
                    .map(|p| match p {
                        PathElement::Key(k) => json!({ "value": k }),
                        PathElement::Index(i) => json!({ "index": i }),
                    })
                    .collect();
                let pos = |p: crate::json::Position| {
                    json!({ "line": p.line, "column": p.column.saturating_sub(1), "offset": p.offset })
                };
                json!({ "path": path, "span": { "start": pos(l.span.start), "end": pos(l.span.end) } })
            })
            .collect();
        let mut o = Map::new();
        o.insert("findingDetails".into(), self.details.clone().into());
        o.insert("findingType".into(), self.finding_type.as_str().into());
        o.insert("issueCode".into(), self.issue_code.clone().into());
        o.insert("learnMoreLink".into(), self.learn_more_link.clone().into());
        o.insert("locations".into(), Value::Array(locations));
        Value::Object(o)
    }
}

/// `{"findings": [...]}` as `aws accessanalyzer validate-policy` prints it.
pub fn findings_json(findings: &[Finding]) -> Value {
    json!({ "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>() })
}

/// Whether any finding is an `ERROR`.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings
        .iter()
        .any(|f| f.finding_type == FindingType::Error)
}

fn error_finding(e: &PolicyError) -> Finding {
    let code = if e.issue_code.is_empty() {
        "JSON_SYNTAX_ERROR"
    } else {
        e.issue_code
    };
    let location = e.location.as_deref().cloned().or_else(|| {
        e.position.map(|p| Location {
            path: Vec::new(),
            span: Span { start: p, end: p },
        })
    });
    Finding::new(
        FindingType::Error,
        code,
        format!("{} ({})", e.detail, e.message),
        location.into_iter().collect(),
    )
}

fn key(k: &str) -> PathElement {
    PathElement::Key(k.to_string())
}

fn at(path: Vec<PathElement>, span: Span) -> Vec<Location> {
    vec![Location { path, span }]
}

fn list_path(
    base: &[PathElement],
    el: &ListElement,
    name: &str,
    negname: &str,
    i: usize,
) -> Vec<PathElement> {
    let mut v = base.to_vec();
    v.push(key(if el.negated { negname } else { name }));
    if el.is_list {
        v.push(PathElement::Index(i));
    }
    v
}

/// Condition keys whose value is always a single value (from the global condition keys page).
const SINGLE_VALUED_PREFIXES: &[&str] = &[
    "aws:username",
    "aws:userid",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:sourceip",
    "aws:requestedregion",
    "aws:securetransport",
    "aws:currenttime",
    "aws:epochtime",
    "aws:multifactorauthpresent",
    "aws:tokenissuetime",
    "aws:principaltag/",
    "aws:resourcetag/",
    "aws:requesttag/",
    "aws:sourcearn",
    "aws:sourceaccount",
    "sts:externalid",
    "sts:rolesessionname",
];

/// Validates a document. Never fails: problems are findings.
pub fn validate(text: &str, policy_type: PolicyType) -> Vec<Finding> {
    let policy = match parse_lenient(text, policy_type) {
        Ok(p) => p,
        Err(e) => return vec![error_finding(&e)],
    };
    let mut out: Vec<Finding> = check_all(&policy).iter().map(error_finding).collect();
    // IAM's size quotas (characters without whitespace). A trust policy has one quota; an
    // identity policy over 6,144 fits only as a role's inline policy, over 10,240 nowhere.
    let size = crate::parse::policy_size(text);
    let whole = at(Vec::new(), policy.span);
    let quota_finding = |t: FindingType, limit: usize, what: &str| {
        Finding::new(
            t,
            "POLICY_SIZE_EXCEEDS_QUOTA",
            format!(
                "The policy has {size} characters (whitespace not counted), more than the {limit} IAM allows for {what}; IAM would refuse it with LimitExceeded."
            ),
            whole.clone(),
        )
    };
    match policy_type {
        PolicyType::Trust if size > 2048 => out.push(quota_finding(
            FindingType::Error,
            2048,
            "a role trust policy",
        )),
        PolicyType::Identity if size > 10240 => out.push(quota_finding(
            FindingType::Error,
            10240,
            "any identity policy (the largest quota is a role's inline policies)",
        )),
        PolicyType::Identity if size > 6144 => out.push(quota_finding(
            FindingType::Warning,
            6144,
            "a managed policy (it fits only as a role's inline policy)",
        )),
        PolicyType::ServiceControl | PolicyType::ResourceControl => {
            // Organizations counts every character, whitespace included.
            if let Err(e) = crate::organizations::check_size(text) {
                out.push(Finding::new(
                    FindingType::Error,
                    "POLICY_SIZE_EXCEEDS_QUOTA",
                    format!("{} ({})", e.detail, e.message),
                    whole.clone(),
                ));
            }
        }
        _ => {}
    }
    if policy.version == Version::Absent {
        out.push(Finding::new(
            FindingType::Warning,
            "MISSING_VERSION",
            "We recommend that you specify the Version element to help you with debugging permission issues: add \"Version\": \"2012-10-17\" (without it, policy variables such as ${aws:username} are plain text).",
            at(Vec::new(), Span { start: policy.span.start, end: policy.span.start }),
        ));
    }
    for s in &policy.statements {
        check_statement(&policy, s, &mut out);
    }
    out
}

fn check_statement(p: &Policy, s: &Statement, out: &mut Vec<Finding>) {
    let sp = statement_path(p, s);
    let allow = s.effect.value == Effect::Allow;
    if let Some(a) = &s.action {
        let name = if a.negated { "NotAction" } else { "Action" };
        if allow && a.negated {
            out.push(Finding::new(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_ACTION",
                "Using Allow with NotAction grants every action except those listed, including actions of services added later; list the allowed actions instead.",
                at([sp.clone(), vec![key(name)]].concat(), a.key_span),
            ));
        }
        let lowered: Vec<String> = a
            .values
            .iter()
            .map(|v| v.value.to_ascii_lowercase())
            .collect();
        for (i, v) in a.values.iter().enumerate() {
            let path = list_path(&sp, a, "Action", "NotAction", i);
            let Some((svc, act)) = lowered[i].split_once(':') else {
                continue;
            };
            if svc.contains(['*', '?']) {
                out.push(Finding::new(
                    FindingType::Error,
                    "WILDCARD_IN_SERVICE_NAME",
                    format!(
                        "The service prefix of {} contains a wildcard: write the service name in full (\"*\" alone is the only action that spans services).",
                        v.value
                    ),
                    at(path.clone(), v.span),
                ));
                continue;
            }
            if !actions::service_exists(svc) {
                out.push(Finding::new(
                    FindingType::Error,
                    "INVALID_SERVICE_IN_ACTION",
                    format!(
                        "The service {svc} specified in the action {} does not exist.",
                        v.value
                    ),
                    at(path.clone(), v.span),
                ));
                continue;
            }
            if let Some(expanded) = actions::expand(svc, act)
                && expanded.is_empty()
            {
                out.push(Finding::new(
                    FindingType::Error,
                    "INVALID_ACTION",
                    format!("The action {} does not exist.", v.value),
                    at(path.clone(), v.span),
                ));
                continue;
            }
            // Redundant: covered by another pattern of the same statement, or repeated.
            let redundant = lowered.iter().enumerate().any(|(j, other)| {
                j != i
                    && if *other == lowered[i] {
                        j < i
                    } else {
                        Template::compile(other, true, false, false).matches(&lowered[i], &())
                    }
            });
            if redundant {
                out.push(Finding::new(
                    FindingType::Suggestion,
                    "REDUNDANT_ACTION",
                    format!(
                        "The {} action is redundant because it is already included in another action of this statement.",
                        v.value
                    ),
                    at(path.clone(), v.span),
                ));
            }
        }
        // iam:PassRole with Resource "*".
        let star_resource = s
            .resource
            .as_ref()
            .is_some_and(|r| !r.negated && r.values.iter().any(|v| v.value == "*"));
        if allow && !a.negated && star_resource {
            for (i, v) in a.values.iter().enumerate() {
                let l = &lowered[i];
                let path = list_path(&sp, a, "Action", "NotAction", i);
                if l == "iam:passrole" {
                    out.push(Finding::new(
                        FindingType::SecurityWarning,
                        "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                        "Using the iam:PassRole action with wildcards (*) in the resource can be overly permissive because it allows iam:PassRole permissions on multiple resources. We recommend that you specify resource ARNs or add the iam:PassedToService condition key to your statement.",
                        at(path, v.span),
                    ));
                } else if Template::compile(l, true, false, false).matches("iam:passrole", &()) {
                    out.push(Finding::new(
                        FindingType::SecurityWarning,
                        "PASS_ROLE_WITH_STAR_IN_ACTION",
                        format!(
                            "Using the {} action with wildcards (*) in the resource allows iam:PassRole on every role; specify role ARNs or list actions without iam:PassRole.",
                            v.value
                        ),
                        at(path, v.span),
                    ));
                }
            }
        }
    }
    if let Some(r) = &s.resource {
        let vars = p.version.supports_variables();
        for (i, v) in r.values.iter().enumerate() {
            let covered = r.values.iter().enumerate().any(|(j, o)| {
                j != i
                    && if o.value == v.value {
                        j < i
                    } else {
                        ArnPattern::compile(&o.value, vars).matches(&v.value, &())
                    }
            });
            if covered {
                out.push(Finding::new(
                    FindingType::Suggestion,
                    "REDUNDANT_RESOURCE",
                    format!(
                        "The resource {} is redundant because another resource of this statement already includes it.",
                        v.value
                    ),
                    at(list_path(&sp, r, "Resource", "NotResource", i), v.span),
                ));
            }
        }
    }
    if let Some(c) = &s.condition {
        let cpath = [sp.clone(), vec![key("Condition")]].concat();
        if c.blocks.is_empty() {
            out.push(Finding::new(
                FindingType::Suggestion,
                "EMPTY_OBJECT_CONDITION",
                "The Condition element is an empty object and has no effect: remove it.",
                at(cpath.clone(), c.key_span),
            ));
        }
        for b in &c.blocks {
            let opath = [cpath.clone(), vec![key(&b.operator_text.value)]].concat();
            if b.entries.is_empty() {
                out.push(Finding::new(
                    FindingType::Suggestion,
                    "EMPTY_OBJECT_CONDITION",
                    format!(
                        "The {} condition has no keys and has no effect: remove it.",
                        b.operator_text.value
                    ),
                    at(opath.clone(), b.operator_text.span),
                ));
            }
            for e in &b.entries {
                let kpath = [opath.clone(), vec![key(&e.key.value)]].concat();
                let k = e.key.value.to_ascii_lowercase();
                if b.operator.set == Some(crate::condition::SetQualifier::ForAllValues)
                    && SINGLE_VALUED_PREFIXES.iter().any(|p| {
                        if p.ends_with('/') {
                            k.starts_with(p)
                        } else {
                            k == *p
                        }
                    })
                {
                    out.push(Finding::new(
                        FindingType::SecurityWarning,
                        "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                        format!(
                            "Using ForAllValues qualifier with the single-valued condition key {} can be overly permissive: it is true when the key is missing. Remove ForAllValues:.",
                            e.key.value
                        ),
                        at(kpath.clone(), e.key.span),
                    ));
                }
                for (i, v) in e.values.iter().enumerate() {
                    let ok = match b.operator.kind {
                        OpKind::NumericEquals
                        | OpKind::NumericNotEquals
                        | OpKind::NumericLessThan
                        | OpKind::NumericLessThanEquals
                        | OpKind::NumericGreaterThan
                        | OpKind::NumericGreaterThanEquals => v.value.trim().parse::<f64>().is_ok(),
                        OpKind::DateEquals
                        | OpKind::DateNotEquals
                        | OpKind::DateLessThan
                        | OpKind::DateLessThanEquals
                        | OpKind::DateGreaterThan
                        | OpKind::DateGreaterThanEquals => {
                            crate::condition::parse_date(&v.value).is_some()
                        }
                        OpKind::Bool | OpKind::Null => {
                            v.value.eq_ignore_ascii_case("true")
                                || v.value.eq_ignore_ascii_case("false")
                        }
                        OpKind::IpAddress | OpKind::NotIpAddress => {
                            crate::condition::Cidr::parse(&v.value).is_some()
                        }
                        OpKind::BinaryEquals => crate::condition::base64_decode(&v.value).is_some(),
                        _ => true,
                    };
                    if !ok {
                        let mut path = kpath.clone();
                        if e.is_list {
                            path.push(PathElement::Index(i));
                        }
                        out.push(Finding::new(
                            FindingType::Error,
                            "DATA_TYPE_MISMATCH",
                            format!(
                                "The value \"{}\" does not match the data type the {} operator expects.",
                                v.value, b.operator_text.value
                            ),
                            at(path, v.span),
                        ));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str, t: PolicyType) -> Vec<String> {
        validate(text, t)
            .into_iter()
            .map(|f| f.issue_code)
            .collect()
    }

    #[test]
    fn findings() {
        let c = codes(
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","ecr:PushImage","ecr:*","ecr:PutImage","s4:Get"],"Resource":"*"}]}"#,
            PolicyType::Identity,
        );
        assert_eq!(
            c,
            [
                "MISSING_VERSION",
                "INVALID_ACTION",
                "REDUNDANT_ACTION",
                "INVALID_SERVICE_IN_ACTION",
                "PASS_ROLE_WITH_STAR_IN_RESOURCE"
            ]
        );
        let c = codes(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(c, ["ALLOW_WITH_NOT_ACTION"]);
        let c = codes(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{}}}"#,
            PolicyType::Trust,
        );
        assert_eq!(c, ["EMPTY_OBJECT_CONDITION"]);
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"123456789012"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"{}"}}}}}}}}"#,
            "x".repeat(2100)
        );
        assert_eq!(
            codes(&big, PolicyType::Trust),
            ["POLICY_SIZE_EXCEEDS_QUOTA"]
        );
        let c = codes("{\n // x\n}", PolicyType::Identity);
        assert_eq!(c, ["JSON_SYNTAX_ERROR"]);
        // Organizations policy types.
        let c = codes(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","NotAction":"iam:*","Resource":"*"}}"#,
            PolicyType::ResourceControl,
        );
        assert_eq!(
            c,
            [
                "UNSUPPORTED_EFFECT",
                "UNSUPPORTED_ELEMENT",
                "ALLOW_WITH_NOT_ACTION"
            ]
        );
        let c = codes(
            r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
        );
        assert_eq!(
            c,
            [
                "INVALID_VERSION",
                "UNSUPPORTED_PRINCIPAL",
                "MISSING_VERSION"
            ]
        );
    }

    #[test]
    fn json_shape() {
        let f = validate(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Nope","Resource":"*"}]}"#,
            PolicyType::Identity,
        );
        let j = findings_json(&f);
        assert_eq!(j["findings"][0]["findingType"], "ERROR");
        assert_eq!(j["findings"][0]["issueCode"], "INVALID_ACTION");
        assert_eq!(
            j["findings"][0]["locations"][0]["path"],
            json!([{"value": "Statement"}, {"index": 0}, {"value": "Action"}])
        );
        // "ecr:Nope" (with its quotes) starts at offset 64 of line 1.
        assert_eq!(
            j["findings"][0]["locations"][0]["span"]["start"],
            json!({"line": 1, "column": 64, "offset": 64})
        );
        assert_eq!(
            j["findings"][0]["locations"][0]["span"]["end"],
            json!({"line": 1, "column": 74, "offset": 74})
        );
    }
}
