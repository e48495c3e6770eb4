//! A policy document read aloud: one row per statement and service, saying what it allows or
//! denies, on which resources, for which principals, under which conditions (as the IAM
//! console's policy summary does). Shown under a policy's JSON and, live, under the policy
//! editors (`POST /console/policies/validate` answers it with the findings). Only a reading
//! aid: what a policy really grants is the policy engine's to say (the simulator).

use crate::html::esc;
use serde_json::{Value, json};

/// One row of a summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `Allow` or `Deny`.
    pub effect: String,
    /// The service prefix (`ecr`), or `All services` for `*`.
    pub service: String,
    /// The actions of that service (`All actions` for `service:*`); for `NotAction`, one row
    /// of `All services`: `All actions except: …`.
    pub actions: String,
    pub resources: String,
    /// The principals (trust and resource policies), empty when there is none.
    pub principal: String,
    /// The condition operators and keys, `None` when there is none.
    pub condition: String,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn principal(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) if s == "*" => "Everyone (*)".into(),
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", strings(v).join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn condition(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(op, keys)| match keys.as_object() {
                Some(k) => format!(
                    "{op} {}",
                    k.iter()
                        .map(|(key, val)| format!("{key} = {}", strings(val).join(", ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => op.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => "None".into(),
    }
}

/// The summary of `document`, or `None` when it is not a JSON object with statements.
pub fn summarize(document: &str) -> Option<Vec<Row>> {
    let v: Value = serde_json::from_str(document).ok()?;
    let statements: Vec<&Value> = match v.get("Statement")? {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => return None,
    };
    let mut rows = Vec::new();
    for st in statements {
        let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("?");
        let (not_action, actions) = match (st.get("Action"), st.get("NotAction")) {
            (Some(a), _) => (false, strings(a)),
            (None, Some(a)) => (true, strings(a)),
            (None, None) => (false, Vec::new()),
        };
        let resources = match (st.get("Resource"), st.get("NotResource")) {
            (Some(r), _) => {
                let r = strings(r);
                if r.iter().any(|r| r == "*") {
                    "All resources".to_owned()
                } else {
                    r.join(", ")
                }
            }
            (None, Some(r)) => format!("All resources except: {}", strings(r).join(", ")),
            (None, None) => String::new(),
        };
        let principal = match (st.get("Principal"), st.get("NotPrincipal")) {
            (Some(p), _) => principal(p),
            (None, Some(p)) => format!("Everyone except: {}", principal(p)),
            (None, None) => String::new(),
        };
        let condition = condition(st.get("Condition").unwrap_or(&Value::Null));
        if not_action {
            rows.push(Row {
                effect: effect.to_owned(),
                service: "All services".into(),
                actions: format!("All actions except: {}", actions.join(", ")),
                resources,
                principal,
                condition,
            });
            continue;
        }
        // Group the actions by service, in the order they first appear.
        let mut services: Vec<(String, Vec<String>)> = Vec::new();
        for a in &actions {
            let (service, action) = match a.split_once(':') {
                Some((s, a)) => (s.to_ascii_lowercase(), a.to_owned()),
                None if a == "*" => ("All services".to_owned(), "*".to_owned()),
                None => (a.clone(), String::new()),
            };
            match services.iter_mut().find(|(s, _)| *s == service) {
                Some((_, list)) => list.push(action),
                None => services.push((service, vec![action])),
            }
        }
        if services.is_empty() {
            services.push(("—".into(), Vec::new()));
        }
        for (service, list) in services {
            let all = list.iter().any(|a| a == "*");
            rows.push(Row {
                effect: effect.to_owned(),
                service,
                actions: if all {
                    "All actions".to_owned()
                } else {
                    list.join(", ")
                },
                resources: resources.clone(),
                principal: principal.clone(),
                condition: condition.clone(),
            });
        }
    }
    Some(rows)
}

/// The summary as JSON rows (for the editors' live summary).
pub fn to_json(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({"effect": r.effect, "service": r.service, "actions": r.actions,
                       "resources": r.resources, "principal": r.principal, "condition": r.condition})
            })
            .collect(),
    )
}

/// The summary as a table captioned `caption` (nothing when `document` cannot be read).
pub fn table(document: &str, caption: &str) -> String {
    let Some(rows) = summarize(document) else {
        return String::new();
    };
    let with_principal = rows.iter().any(|r| !r.principal.is_empty());
    let mut head = String::from(r#"<th scope="col">Effect</th><th scope="col">Service</th>"#);
    head.push_str(r#"<th scope="col">Actions</th><th scope="col">Resources</th>"#);
    if with_principal {
        head.push_str(r#"<th scope="col">Principal</th>"#);
    }
    head.push_str(r#"<th scope="col">Condition</th>"#);
    let body: String = rows
        .iter()
        .map(|r| {
            let principal = if with_principal {
                format!("<td>{}</td>", esc(&r.principal))
            } else {
                String::new()
            };
            format!(
                r#"<tr><td><span class="effect effect-{e}">{e}</span></td><td>{s}</td><td>{a}</td><td class="long">{res}</td>{principal}<td>{c}</td></tr>"#,
                e = esc(&r.effect),
                s = esc(&r.service),
                a = esc(&r.actions),
                res = esc(&r.resources),
                c = esc(&r.condition),
            )
        })
        .collect();
    format!(
        r#"<div class="table-card summary-table"><table><caption>{}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"#,
        esc(caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_ecr_policy_reads_as_two_services() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ecr:PutImage","ecr:BatchGetImage"],
             "Resource":"arn:aws:ecr:ap-northeast-1:123456789012:repository/test-repos"},
            {"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},
            {"Effect":"Deny","NotAction":["iam:*","sts:GetCallerIdentity"],"NotResource":"arn:x",
             "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        let rows = summarize(doc).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].service, "ecr");
        assert_eq!(rows[0].actions, "PutImage, BatchGetImage");
        assert_eq!(
            rows[0].resources,
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/test-repos"
        );
        assert_eq!(rows[1].resources, "All resources");
        assert_eq!(rows[1].condition, "None");
        assert_eq!(rows[2].service, "All services");
        assert_eq!(
            rows[2].actions,
            "All actions except: iam:*, sts:GetCallerIdentity"
        );
        assert_eq!(rows[2].resources, "All resources except: arn:x");
        assert_eq!(rows[2].condition, "Bool aws:MultiFactorAuthPresent = false");
        let t = table(doc, "Summary");
        assert!(t.contains("<caption>Summary</caption>") && !t.contains("Principal"));
    }

    #[test]
    fn trust_policies_name_their_principals() {
        let doc = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}"#;
        let rows = summarize(doc).unwrap();
        assert_eq!(rows[0].principal, "AWS: arn:aws:iam::123456789012:root");
        assert_eq!(rows[0].actions, "AssumeRole");
        assert!(table(doc, "S").contains("<th scope=\"col\">Principal</th>"));
        assert_eq!(
            summarize(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}"#)
                .unwrap()[0]
                .service,
            "All services"
        );
    }

    #[test]
    fn what_is_not_a_policy_has_no_summary() {
        assert!(summarize("{ // comment").is_none());
        assert!(summarize("[]").is_none());
        assert_eq!(table("nope", "S"), "");
        assert!(
            table(r#"{"Statement":[{"Effect":"<b>","Action":"a:b"}]}"#, "S").contains("&lt;b&gt;")
        );
    }
}
