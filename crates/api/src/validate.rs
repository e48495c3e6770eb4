//! Server-side constraint validation with AWS's (Coral's) wording:
//! `1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member
//! must not be null`. Checks required members, lengths, numeric ranges, patterns (with
//! [`crate::pattern`]) and enums, in that order for each value.

use serde_json::Value;

use crate::model::{Service, ShapeId, ShapeKind};

/// IAM's shape for every policy document member (identity, trust, session policies).
pub const POLICY_DOCUMENT_SHAPE: &str = "policyDocumentType";

/// One violated constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// AWS's path: lower-camel member names joined by `.`, list items as `name.N.member`.
    pub path: String,
    /// `null`, or the value quoted (`'x'`), or empty for sensitive values.
    pub value: String,
    pub constraint: String,
}

/// Validates `value` against structure `shape`; returns every violation found, in member order.
pub fn violations(service: &'static Service, shape: ShapeId, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check(service, shape, value, "", &mut out);
    out
}

/// Renders violations as AWS's message (`N validation error(s) detected: ...; ...`).
pub fn message(violations: &[Violation]) -> String {
    let n = violations.len();
    let parts: Vec<String> = violations
        .iter()
        .map(|v| {
            let value = if v.value.is_empty() {
                String::new()
            } else {
                format!(" {}", v.value)
            };
            format!(
                "Value{value} at '{}' failed to satisfy constraint: {}",
                v.path, v.constraint
            )
        })
        .collect();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        parts.join("; ")
    )
}

/// `UserName` → `userName`.
pub fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn show(value: &Value, sensitive: bool) -> String {
    if sensitive {
        return String::new();
    }
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "null".into(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!("'[{}]'", inner.join(", "))
        }
        other => format!("'{other}'"),
    }
}

fn check(
    service: &'static Service,
    shape_id: ShapeId,
    value: &Value,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let shape = service.shape(shape_id);
    let mut push = |constraint: String| {
        out.push(Violation {
            path: path.to_string(),
            value: show(value, shape.sensitive),
            constraint,
        })
    };
    let length = match (&shape.kind, value) {
        (ShapeKind::String, Value::String(s)) => Some(s.chars().count() as i64),
        (ShapeKind::List { .. }, Value::Array(a)) => Some(a.len() as i64),
        (ShapeKind::Map { .. }, Value::Object(m)) => Some(m.len() as i64),
        _ => None,
    };
    if let Some(len) = length {
        if let Some(max) = shape.max
            && len > max
        {
            push(format!(
                "Member must have length less than or equal to {max}"
            ));
        }
        if let Some(min) = shape.min
            && len < min
        {
            push(format!(
                "Member must have length greater than or equal to {min}"
            ));
        }
    }
    if let (ShapeKind::Integer | ShapeKind::Long | ShapeKind::Double | ShapeKind::Float, Some(n)) =
        (&shape.kind, value.as_f64())
    {
        if let Some(max) = shape.max
            && n > max as f64
        {
            push(format!(
                "Member must have value less than or equal to {max}"
            ));
        }
        if let Some(min) = shape.min
            && n < min as f64
        {
            push(format!(
                "Member must have value greater than or equal to {min}"
            ));
        }
    }
    // Patterns are only checked within the length limit: a general pattern costs up to
    // quadratic time, and the limit bounds it (patterns on unbounded shapes are linear).
    let within_max = shape
        .max
        .is_none_or(|max| length.is_none_or(|len| len <= max));
    // Policy documents are the policy engine's to judge: its MalformedPolicyDocument names the
    // line and column of the problem (a comment, a character outside the allowed set), where
    // the pattern check would only echo the whole document back. This is a deliberate
    // difference from IAM's order of checks (ARCHITECTURE.md, "Decisions").
    let engine_judges = shape.name == POLICY_DOCUMENT_SHAPE;
    if let (Some(pattern), ShapeKind::String, Value::String(s)) =
        (shape.pattern, &shape.kind, value)
        && within_max
        && !engine_judges
        && !shape.matches_pattern(s)
    {
        push(format!(
            "Member must satisfy regular expression pattern: {pattern}"
        ));
    }
    if let (false, Value::String(s)) = (shape.enum_values.is_empty(), value)
        && !shape.enum_values.contains(&s.as_str())
    {
        push(format!(
            "Member must satisfy enum value set: [{}]",
            shape.enum_values.join(", ")
        ));
    }
    match (&shape.kind, value) {
        (ShapeKind::Structure { members }, Value::Object(obj)) => {
            for m in members {
                let mpath = join(path, &lower_camel(m.name));
                match obj.get(m.name) {
                    None | Some(Value::Null) if m.required => out.push(Violation {
                        path: mpath,
                        value: "null".into(),
                        constraint: "Member must not be null".into(),
                    }),
                    None | Some(Value::Null) => {}
                    Some(v) => check(service, m.shape, v, &mpath, out),
                }
            }
        }
        (ShapeKind::List { member }, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(
                    service,
                    *member,
                    item,
                    &format!("{}.member", join(path, &(i + 1).to_string())),
                    out,
                );
            }
        }
        (ShapeKind::Map { key, value: vshape }, Value::Object(obj)) => {
            for (k, v) in obj {
                check(
                    service,
                    *key,
                    &Value::String(k.clone()),
                    &join(path, "key"),
                    out,
                );
                check(service, *vshape, v, &join(path, "value"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aws_wording() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("CreateUser").unwrap();
        let v = violations(iam, op.input.unwrap(), &json!({}));
        assert_eq!(
            message(&v),
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
        );
        let long = "a".repeat(65);
        let v = violations(
            iam,
            op.input.unwrap(),
            &json!({"UserName": long, "Path": ""}),
        );
        assert_eq!(v.len(), 3, "{v:?}");
        let msg = message(&v);
        assert!(msg.starts_with("3 validation errors detected: Value '' at 'path' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); "), "{msg}");
        assert!(msg.contains("at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64"), "{msg}");
        // Over the limit, the pattern is not evaluated (it bounds the matcher's work).
        let huge = "a b".repeat(400_000);
        let v = violations(iam, op.input.unwrap(), &json!({"UserName": huge}));
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn nested_and_enum_and_range() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("TagUser").unwrap();
        let v = violations(
            iam,
            op.input.unwrap(),
            &json!({"UserName": "bob", "Tags": [{"Key": "k", "Value": "v"}, {"Value": "x"}]}),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "tags.2.member.key");
        let op = iam.operation("UpdateAccessKey").unwrap();
        let v = violations(
            iam,
            op.input.unwrap(),
            &json!({"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Enabled"}),
        );
        assert_eq!(
            message(&v),
            "1 validation error detected: Value 'Enabled' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]"
        );
        let op = iam.operation("ListUsers").unwrap();
        let v = violations(iam, op.input.unwrap(), &json!({"MaxItems": 0}));
        assert_eq!(
            v[0].constraint,
            "Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn patterns() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("CreateUser").unwrap();
        let v = violations(iam, op.input.unwrap(), &json!({"UserName": "bad name"}));
        assert_eq!(
            message(&v),
            "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        let op = iam.operation("CreatePolicy").unwrap();
        let ok = json!({"PolicyName": "p", "PolicyDocument": "{\"Version\": \"2012-10-17\"}"});
        assert!(violations(iam, op.input.unwrap(), &ok).is_empty());
        // Characters outside IAM's set are the policy engine's to report, with a position
        // (POLICY_DOCUMENT_SHAPE); the pattern still applies to every other member.
        let non_latin1 = json!({"PolicyName": "p", "PolicyDocument": "{\"Sid\": \"\u{65e5}\"}"});
        assert!(violations(iam, op.input.unwrap(), &non_latin1).is_empty());
        let bad_name = json!({"PolicyName": "p q", "PolicyDocument": "{\"Sid\": \"\u{65e5}\"}"});
        let v = violations(iam, op.input.unwrap(), &bad_name);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "policyName");
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let iam = crate::service("iam").unwrap();
        let op = iam.operation("CreateLoginProfile").unwrap();
        let v = violations(
            iam,
            op.input.unwrap(),
            &json!({"UserName": "bob", "Password": ""}),
        );
        let msg = message(&v);
        assert!(msg.contains("Value at 'password'"), "{msg}");
    }
}
