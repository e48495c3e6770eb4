//! AWS Organizations authorization policies: service control policies (SCPs) and resource
//! control policies (RCPs): the rules `CreatePolicy` applies to their documents, the two
//! AWS-managed documents, and the services RCPs apply to.
//!
//! Documentation followed:
//! * SCP syntax: <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html>
//! * RCP syntax: <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html>
//! * RCPs (supported services, management account): <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html>
//! * Quotas (5,120 characters per SCP/RCP): <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html>
//!
//! The evaluation of SCPs and RCPs lives in [`crate::eval`] ([`crate::Policies::scp`],
//! [`crate::Policies::rcp`]).

use crate::ast::{Effect, Policy, PolicyType, Principal, Statement, Version};
use crate::error::{ErrorCode, PathElement, PolicyError, aws_message as msg};
use crate::eval::{CompiledPolicy, PolicyMeta, PolicyOrigin};
use crate::parse::{key, list_path, statement_path, with};

/// The AWS-managed SCP `FullAWSAccess` (`p-FullAWSAccess`), attached to the root, every OU and
/// every account when SCPs are enabled, exactly as AWS publishes it.
pub const FULL_AWS_ACCESS: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*"
        }
    ]
}"#;

/// The AWS-managed RCP `RCPFullAWSAccess` (`p-RCPFullAWSAccess`), attached to the root, every
/// OU and every account when RCPs are enabled (it cannot be detached), exactly as AWS
/// publishes it.
pub const RCP_FULL_AWS_ACCESS: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*"
        }
    ]
}"#;

/// Policy id of `FullAWSAccess`.
pub const FULL_AWS_ACCESS_ID: &str = "p-FullAWSAccess";
/// Policy id of `RCPFullAWSAccess`.
pub const RCP_FULL_AWS_ACCESS_ID: &str = "p-RCPFullAWSAccess";
/// ARN of `FullAWSAccess` (AWS-managed Organizations policies live in the `aws` account).
pub const FULL_AWS_ACCESS_ARN: &str =
    "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess";
/// ARN of `RCPFullAWSAccess`.
pub const RCP_FULL_AWS_ACCESS_ARN: &str =
    "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess";

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

/// `FullAWSAccess`, compiled (meta: id `FullAWSAccess`, its ARN, origin AWS-managed).
pub fn full_aws_access() -> CompiledPolicy {
    managed(
        FULL_AWS_ACCESS,
        PolicyType::ServiceControl,
        "FullAWSAccess",
        FULL_AWS_ACCESS_ARN,
    )
}

/// `RCPFullAWSAccess`, compiled (meta: id `RCPFullAWSAccess`, its ARN, origin AWS-managed).
/// Its `Allow` statement is the one Organizations accepts in an RCP, so it is compiled without
/// the customer-document rules that would refuse it.
pub fn rcp_full_aws_access() -> CompiledPolicy {
    managed(
        RCP_FULL_AWS_ACCESS,
        PolicyType::ResourceControl,
        "RCPFullAWSAccess",
        RCP_FULL_AWS_ACCESS_ARN,
    )
}

fn managed(text: &str, t: PolicyType, name: &str, arn: &str) -> CompiledPolicy {
    let policy = match crate::parse::parse_lenient(text, t) {
        Ok(p) => p,
        Err(e) => unreachable!("AWS-managed {name} does not parse: {e}"),
    };
    CompiledPolicy::compile(
        policy,
        PolicyMeta {
            id: name.into(),
            arn: Some(arn.into()),
            origin: PolicyOrigin::AwsManaged,
        },
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn err(text: &str, t: PolicyType) -> PolicyError {
        parse(text, t).unwrap_err()
    }

    #[test]
    fn managed_documents_compile() {
        let f = full_aws_access();
        assert_eq!(f.meta.origin, PolicyOrigin::AwsManaged);
        assert_eq!(f.policy.statements.len(), 1);
        // FullAWSAccess is also a valid customer SCP.
        assert!(parse(FULL_AWS_ACCESS, PolicyType::ServiceControl).is_ok());
        let r = rcp_full_aws_access();
        assert_eq!(r.meta.arn.as_deref(), Some(RCP_FULL_AWS_ACCESS_ARN));
        // A customer RCP cannot allow.
        let e = err(RCP_FULL_AWS_ACCESS, PolicyType::ResourceControl);
        assert_eq!(e.code.as_str(), "MalformedPolicyDocumentException");
        assert_eq!(e.issue_code, "UNSUPPORTED_EFFECT");
    }

    #[test]
    fn scp_rules() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyRegions","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::keep/*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["ap-northeast-1"]}}}]}"#;
        assert!(parse(ok, PolicyType::ServiceControl).is_ok());
        let e = err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
        );
        assert_eq!(e.code.as_str(), "MalformedPolicyDocumentException");
        assert_eq!(
            e.message,
            "The provided policy document does not meet the requirements of the specified policy type."
        );
        assert_eq!(e.issue_code, "UNSUPPORTED_PRINCIPAL");
        let e = err(
            r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::ServiceControl,
        );
        assert_eq!(e.issue_code, "INVALID_VERSION");
        let e = err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*Object","Resource":"*"}}"#,
            PolicyType::ServiceControl,
        );
        assert_eq!(e.issue_code, "INVALID_ACTION");
        assert!(e.human().contains("s3:*Object"), "{}", e.human());
        let e = err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*"}}"#,
            PolicyType::ServiceControl,
        );
        assert_eq!(e.issue_code, "MISSING_RESOURCE");
        assert_eq!(e.code.as_str(), "MalformedPolicyDocumentException");
        // JSON errors are Organizations' too.
        let e = err("{", PolicyType::ServiceControl);
        assert_eq!(e.code.as_str(), "MalformedPolicyDocumentException");
        // Size: every character counts, whitespace included.
        let big = format!(
            "{{\"Version\":\"2012-10-17\",\"Statement\":{{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}{}}}",
            " ".repeat(5100)
        );
        let e = err(&big, PolicyType::ServiceControl);
        assert_eq!(e.code.as_str(), "ConstraintViolationException");
        assert_eq!(
            e.message,
            "You attempted to create a policy that is larger than the maximum size."
        );
        assert!(e.detail.contains("POLICY_CONTENT_LIMIT_EXCEEDED"));
        // The same document is fine for IAM (whitespace is not counted there).
        assert!(parse(&big, PolicyType::Identity).is_ok());
    }

    #[test]
    fn rcp_rules() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnforceOrgIdentities","Effect":"Deny","Principal":"*","Action":["s3:*","sts:AssumeRole","ecr:*"],"Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}]}"#;
        assert!(parse(ok, PolicyType::ResourceControl).is_ok());
        let code = |text: &str| err(text, PolicyType::ResourceControl).issue_code;
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#
            ),
            "MISSING_PRINCIPAL"
        );
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}}"#
            ),
            "UNSUPPORTED_PRINCIPAL"
        );
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}}"#
            ),
            "UNSUPPORTED_ELEMENT"
        );
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"s3:*","Resource":"*"}}"#
            ),
            "UNSUPPORTED_ELEMENT"
        );
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"iam:CreateUser","Resource":"*"}}"#
            ),
            "UNSUPPORTED_SERVICE"
        );
        assert_eq!(
            code(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#
            ),
            "UNSUPPORTED_EFFECT"
        );
        assert!(rcp_supports_service("STS"));
        assert!(!rcp_supports_service("iam"));
    }
}
