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

use crate::ast::PolicyType;
use crate::eval::{CompiledPolicy, PolicyMeta, PolicyOrigin};
pub use crate::org_rules::{MAX_POLICY_SIZE, RCP_SERVICES, rcp_supports_service};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PolicyError;
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
