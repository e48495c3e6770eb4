//! The rules AWS Organizations applies to service and resource control policy documents
//! (checked by [`crate::parse`] for `PolicyType::ServiceControl` / `ResourceControl`), and
//! the services RCPs apply to. The AWS managed documents are [`crate::organizations`]'.

use crate::ast::{Effect, Policy, PolicyType, Principal, Statement, Version};
use crate::error::{ErrorCode, PathElement, PolicyError, aws_message as msg};
use crate::path::{key, list_path, statement_path, with};

/// Maximum size of an SCP or RCP: 5,120 characters, every character counted (whitespace too:
/// "All characters in your SCP count against its maximum size").
pub const MAX_POLICY_SIZE: usize = 5120;

/// Service prefixes whose actions RCPs apply to, from the Organizations guide's "List of AWS
/// services that support RCPs". The first five are the launch set (November 2024, also listed
/// by AWS Control Tower's RCP controls page); the others were added since. An RCP naming an
/// action of any other service is refused.
pub const RCP_SERVICES: &[&str] = &[
    "s3",
    "sts",
    "kms",
    "sqs",
    "secretsmanager",
    "ecr",
    "aoss",
    "cognito-identity",
    "dynamodb",
    "logs",
];

/// Whether RCPs apply to actions of this service (prefix, case-insensitive). A caller that
/// evaluates a request of another service passes `rcp: None`.
pub fn rcp_supports_service(service: &str) -> bool {
    RCP_SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service))
}

/// Organizations' size rule: `ConstraintViolationException` (`POLICY_CONTENT_LIMIT_EXCEEDED`).
pub(crate) fn check_size(text: &str) -> Result<(), PolicyError> {
    let size = text.chars().count();
    if size <= MAX_POLICY_SIZE {
        return Ok(());
    }
    Err(PolicyError {
        code: ErrorCode::OrganizationsConstraintViolation,
        message: msg::ORGANIZATIONS_TOO_LARGE.into(),
        detail: format!(
            "the policy has {size} characters (whitespace counted); an SCP or RCP may have at most {MAX_POLICY_SIZE} (Reason {})",
            msg::POLICY_CONTENT_LIMIT_EXCEEDED
        ),
        position: None,
        issue_code: "POLICY_SIZE_EXCEEDS_QUOTA",
        location: None,
    })
}

/// An IAM-shaped error, re-coded as Organizations' `MalformedPolicyDocumentException`.
pub(crate) fn as_organizations_error(mut e: PolicyError) -> PolicyError {
    if e.code == ErrorCode::MalformedPolicyDocument {
        if e.detail.is_empty() {
            e.detail = e.message.clone();
        }
        e.code = ErrorCode::OrganizationsMalformedPolicyDocument;
        e.message = msg::ORGANIZATIONS_MALFORMED.into();
    }
    e
}

fn what(t: PolicyType) -> &'static str {
    match t {
        PolicyType::ServiceControl => "a service control policy",
        _ => "a resource control policy",
    }
}

fn malformed(detail: String, issue: &'static str) -> PolicyError {
    PolicyError {
        code: ErrorCode::OrganizationsMalformedPolicyDocument,
        message: msg::ORGANIZATIONS_MALFORMED.into(),
        detail,
        position: None,
        issue_code: issue,
        location: None,
    }
}

/// Document-level rules: `Version` must be `2012-10-17`.
pub(crate) fn check_document(p: &Policy, errs: &mut Vec<PolicyError>) {
    if p.version != Version::V2012_10_17 {
        let span = p.version_span.unwrap_or(crate::json::Span {
            start: p.span.start,
            end: p.span.start,
        });
        errs.push(
            malformed(
                format!(
                    "{} must have \"Version\": \"2012-10-17\"",
                    capitalise(what(p.policy_type))
                ),
                "INVALID_VERSION",
            )
            .at(vec![PathElement::Key("Version".into())], span),
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Whether an SCP action's wildcards are where Organizations allows them: alone, or ending
/// the name ("s3:Get*"), never inside it ("s3:*Object") nor in the service prefix.
fn scp_action_wildcards_ok(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    let Some((svc, name)) = a.split_once(':') else {
        return true; // reported as a missing vendor prefix
    };
    !svc.contains(['*', '?']) && !name.trim_end_matches(['*', '?']).contains(['*', '?'])
}

/// Statement-level rules of SCPs and RCPs (in addition to the shared IAM grammar rules).
pub(crate) fn check_statement(p: &Policy, s: &Statement, errs: &mut Vec<PolicyError>) {
    let sp = || statement_path(p, s);
    let kind = what(p.policy_type);
    match p.policy_type {
        PolicyType::ServiceControl => {
            if let Some(pr) = &s.principal {
                let name = if pr.negated {
                    "NotPrincipal"
                } else {
                    "Principal"
                };
                errs.push(
                    malformed(
                        format!(
                            "{} cannot have \"{name}\": it applies to the IAM users and roles of the accounts it is attached to",
                            capitalise(kind)
                        ),
                        "UNSUPPORTED_PRINCIPAL",
                    )
                    .at(with(sp(), &[key(name)]), pr.key_span),
                );
            }
            if let Some(a) = &s.action {
                for (i, v) in a.values.iter().enumerate() {
                    if !scp_action_wildcards_ok(&v.value) {
                        errs.push(
                            malformed(
                                format!(
                                    "in {kind} a wildcard (* or ?) may stand alone or end the action name; \"{}\" has one elsewhere",
                                    v.value
                                ),
                                "INVALID_ACTION",
                            )
                            .at(list_path(&sp(), a, "Action", "NotAction", i), v.span),
                        );
                    }
                }
            }
        }
        PolicyType::ResourceControl => {
            if s.effect.value == Effect::Allow {
                errs.push(
                    malformed(
                        "a resource control policy can only deny: \"Effect\": \"Allow\" exists only in the AWS-managed RCPFullAWSAccess".into(),
                        "UNSUPPORTED_EFFECT",
                    )
                    .at(with(sp(), &[key("Effect")]), s.effect.span),
                );
            }
            match &s.principal {
                None => errs.push(
                    malformed(
                        format!(
                            "statement {} of this resource control policy needs \"Principal\": \"*\"",
                            s.index + 1
                        ),
                        "MISSING_PRINCIPAL",
                    )
                    .at(sp(), s.span),
                ),
                Some(pr) if pr.negated => errs.push(
                    malformed(
                        "a resource control policy cannot have \"NotPrincipal\": write \"Principal\": \"*\" and narrow it with conditions such as aws:PrincipalOrgID".into(),
                        "UNSUPPORTED_ELEMENT",
                    )
                    .at(with(sp(), &[key("NotPrincipal")]), pr.key_span),
                ),
                Some(pr) if pr.principal != Principal::Wildcard => errs.push(
                    malformed(
                        "in a resource control policy \"Principal\" must be \"*\": narrow it with conditions such as aws:PrincipalArn or aws:PrincipalOrgID".into(),
                        "UNSUPPORTED_PRINCIPAL",
                    )
                    .at(with(sp(), &[key("Principal")]), pr.key_span),
                ),
                Some(_) => {}
            }
            if let Some(a) = &s.action {
                if a.negated {
                    errs.push(
                        malformed(
                            "a resource control policy cannot have \"NotAction\": list the actions with \"Action\"".into(),
                            "UNSUPPORTED_ELEMENT",
                        )
                        .at(with(sp(), &[key("NotAction")]), a.key_span),
                    );
                } else {
                    for (i, v) in a.values.iter().enumerate() {
                        if v.value == "*" {
                            continue;
                        }
                        let Some((svc, _)) = v.value.split_once(':') else {
                            continue; // reported as a missing vendor prefix
                        };
                        if !rcp_supports_service(svc) {
                            errs.push(
                                malformed(
                                    format!(
                                        "resource control policies do not apply to the service of \"{}\"; they support {}",
                                        v.value,
                                        RCP_SERVICES.join(", ")
                                    ),
                                    "UNSUPPORTED_SERVICE",
                                )
                                .at(list_path(&sp(), a, "Action", "NotAction", i), v.span),
                            );
                        }
                    }
                }
            }
        }
        _ => {}
    }
}
