//! Deny by default, for every operation: a signed request from an IAM user with no policy at
//! all is refused with AccessDenied for every IAM, STS, ECR, Organizations, Identity Store and
//! SSO Admin operation of the model, except
//! the ones AWS itself lets anyone call ([`ALLOWED`]) and the unsigned web-identity/SAML ones
//! (their credential is the token, checked against the role's trust policy; their own tests
//! cover them). The input of each call is generated from the model so that it passes the
//! model's validation: a refusal for a malformed request would prove nothing.

mod common;
use common::*;
use kagi_api::model::{Service, Shape, ShapeKind};
use serde_json::{Map, Value, json};

/// What AWS lets any authenticated principal do.
const ALLOWED: &[(&str, &str)] = &[
    // "No permissions are required to perform this operation."
    ("sts", "GetCallerIdentity"),
    // GetSessionToken needs no permission (AWS STS API reference).
    ("sts", "GetSessionToken"),
];

/// Not signed: the token in the request is the credential.
const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A string for `member` that satisfies `shape` (length, pattern, enum), if one of the usual
/// candidates does.
fn sample_string(member: &str, shape: &Shape) -> String {
    if let Some(v) = shape.enum_values.first() {
        return (*v).to_owned();
    }
    let min = shape.min.unwrap_or(1).max(1) as usize;
    let lower = member.to_ascii_lowercase();
    // Candidates in order of preference, the ones the member's name suggests first.
    let mut candidates: Vec<String> = Vec::new();
    if lower.ends_with("document") || lower.ends_with("policytext") || lower == "policy" {
        candidates.push(POLICY.to_owned());
    }
    if lower.contains("url") {
        candidates.push("https://example.com".to_owned());
    }
    if lower.contains("digest") {
        candidates.push(format!("sha256:{}", "0".repeat(64)));
    }
    if lower.ends_with("arn") || lower.contains("arn") {
        candidates.extend([
            // The test client calls ECR in ap-northeast-1 (an ARN must name the region).
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/nothing".to_owned(),
            "arn:aws:signer:us-east-1:123456789012:/signing-profiles/nothing".to_owned(),
            "arn:aws:iam::123456789012:role/nothing".to_owned(),
            "arn:aws:iam::123456789012:policy/nothing".to_owned(),
            // Identity Center's instance, permission set, application, application provider,
            // AWS managed policy and trusted token issuer ARNs.
            "arn:aws:sso:::instance/ssoins-0123456789abcdef".to_owned(),
            "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef".to_owned(),
            "arn:aws:sso::123456789012:application/ssoins-0123456789abcdef/apl-0123456789abcdef"
                .to_owned(),
            "arn:aws:sso::aws:applicationProvider/custom".to_owned(),
            "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
            "arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-0123456789abcdef/tti-01234567-89ab-cdef-0123-456789abcdef"
                .to_owned(),
        ]);
    }
    if lower.contains("versionid") {
        candidates.push("v1".to_owned());
    }
    if lower.contains("region") {
        candidates.push("us-east-1".to_owned());
    }
    candidates.extend([
        "01234567-89ab-cdef-0123-456789abcdef".to_owned(),
        "123456789012".to_owned(),
        "arn:aws:iam::123456789012:mfa/nothing".to_owned(),
        "AKIAAAAAAAAAAAAAAAAA".to_owned(),
        "123456".to_owned(),
        "nothing".to_owned(),
        "/".to_owned(),
        "o-aaaaaaaaaa/r-aaaa".to_owned(),
        // Organizations' ids and e-mail addresses.
        "r-aaaa".to_owned(),
        "p-aaaaaaaa".to_owned(),
        "ou-aaaa-aaaaaaaa".to_owned(),
        "h-aaaaaaaa".to_owned(),
        "car-aaaaaaaa".to_owned(),
        "rt-aaaaaaaa".to_owned(),
        "nobody@example.com".to_owned(),
        // CloudTrail's event sources.
        "iam.amazonaws.com".to_owned(),
        "a".repeat(min.max(40)),
        "a".repeat(min),
    ]);
    candidates
        .into_iter()
        .find(|c| {
            c.chars().count() >= min
                && shape.max.is_none_or(|m| c.chars().count() <= m as usize)
                && shape.matches_pattern(c)
        })
        .unwrap_or_else(|| "a".repeat(min))
}

/// A value of `shape` with every required member, recursively.
fn sample(svc: &'static Service, member: &str, shape: &Shape, depth: usize) -> Value {
    match &shape.kind {
        ShapeKind::Structure { members } => {
            let mut m = Map::new();
            // A structure with no required member still needs one, or it is absent on the wire.
            let chosen: Vec<_> = if members.iter().any(|m| m.required) {
                members.iter().filter(|m| m.required).collect()
            } else {
                members.iter().take(1).collect()
            };
            for mem in chosen {
                if depth < 6 {
                    m.insert(
                        mem.name.to_owned(),
                        sample(svc, mem.name, svc.shape(mem.shape), depth + 1),
                    );
                }
            }
            Value::Object(m)
        }
        ShapeKind::List { member: item } => {
            let n = shape.min.unwrap_or(0).max(1) as usize;
            Value::Array(
                (0..n)
                    .map(|_| sample(svc, member, svc.shape(*item), depth + 1))
                    .collect(),
            )
        }
        ShapeKind::Map { key, value } => {
            let k = sample_string(member, svc.shape(*key));
            json!({ k: sample(svc, member, svc.shape(*value), depth + 1) })
        }
        ShapeKind::String => Value::String(sample_string(member, shape)),
        ShapeKind::Integer | ShapeKind::Long => json!(shape.min.unwrap_or(1).max(1)),
        ShapeKind::Double | ShapeKind::Float => json!(1.0),
        ShapeKind::Boolean => json!(false),
        ShapeKind::Timestamp => json!("2026-01-01T00:00:00Z"),
        ShapeKind::Blob => json!("eA=="),
    }
}

fn input_of(svc: &'static Service, op: &kagi_api::model::Operation) -> Value {
    op.input_shape()
        .map_or(json!({}), |s| sample(svc, op.name, s, 0))
}

#[test]
fn every_operation_denies_a_principal_without_policies() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let nobody = user_with_key(&root, "nobody");
    let mut wrong = Vec::new();
    let mut checked = 0;
    // With an organization, so that the Organizations operations reach their authorisation
    // (a caller outside any organization would learn only AWSOrganizationsNotInUseException).
    root.json(
        "organizations",
        "CreateOrganization",
        json!({"FeatureSet": "ALL"}),
    )
    .unwrap();
    // And an Identity Center instance, so that the account owns what the identitystore and
    // sso-admin operations name.
    root.json("sso-admin", "CreateInstance", json!({})).unwrap();
    for service in [
        "iam",
        "sts",
        "ecr",
        "organizations",
        "identitystore",
        "sso-admin",
        "cloudtrail",
    ] {
        let svc = kagi_api::service(service).unwrap();
        for op in svc.operations() {
            if UNSIGNED.contains(&op.name) {
                continue;
            }
            let input = input_of(svc, op);
            let outcome: Result<Value, (u16, String, String)> = match service {
                "ecr" | "organizations" | "identitystore" | "sso-admin" | "cloudtrail" => {
                    nobody.json(service, op.name, input.clone())
                }
                _ => nobody
                    .call(service, op.name, input.clone())
                    .map_err(|(s, e)| (s, e.code, e.message)),
            };
            checked += 1;
            let allowed = ALLOWED.contains(&(service, op.name));
            let denied = matches!(&outcome, Err((_, code, _)) if code == "AccessDenied" || code == "AccessDeniedException");
            if allowed == denied {
                wrong.push(format!(
                    "{service}:{} with {input}: {}",
                    op.name,
                    match &outcome {
                        Ok(v) => format!("answered {v}"),
                        Err((s, c, m)) => format!("{s} {c}: {m}"),
                    }
                ));
            }
        }
    }
    assert!(checked > 250, "the model lists every operation ({checked})");
    assert!(
        wrong.is_empty(),
        "{} of {checked} operations did not deny by default:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
