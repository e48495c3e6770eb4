//! The AWS managed policies kagi ships, under `arn:aws:iam::aws:policy/`. Documents are the
//! current default versions as published in the AWS Managed Policy Reference. They are stored
//! like customer policies (so attachment, evaluation and listing need no special case) and are
//! read-only.

use crate::model::{ManagedPolicy, PolicyVersion};
use crate::store::{Store, StoreExt, Table, TxExt};
use sha2::Digest;

/// 2015-02-06T18:39:46Z, when AWS published the first managed policies.
const PUBLISHED: i64 = 1_423_247_986;

pub const AWS_MANAGED: &[(&str, &str, &str)] = &[
    (
        "IAMUserChangePassword",
        "Provides the ability for an IAM user to change their own password.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iam:ChangePassword"],
      "Resource": ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:user/*/${aws:username}"]
    },
    {
      "Effect": "Allow",
      "Action": ["iam:GetAccountPasswordPolicy"],
      "Resource": "*"
    }
  ]
}"#,
    ),
    (
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#,
    ),
    (
        "IAMFullAccess",
        "Provides full access to IAM via the AWS Management Console.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:*",
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribePolicy",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:ListRoots",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    ),
    (
        "IAMReadOnlyAccess",
        "Provides read only access to IAM via the AWS Management Console.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy"
      ],
      "Resource": "*"
    }
  ]
}"#,
    ),
    (
        "AmazonEC2ContainerRegistryFullAccess",
        "Provides administrative access to Amazon ECR resources",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:*",
        "cloudtrail:LookupEvents"
      ],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "iam:CreateServiceLinkedRole"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "iam:AWSServiceName": [
            "replication.ecr.amazonaws.com"
          ]
        }
      }
    }
  ]
}"#,
    ),
    (
        "AmazonEC2ContainerRegistryPowerUser",
        "Provides full access to Amazon EC2 Container Registry repositories, but does not allow repository deletion or policy changes.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage"
      ],
      "Resource": "*"
    }
  ]
}"#,
    ),
    (
        "AmazonEC2ContainerRegistryReadOnly",
        "Provides read-only access to Amazon EC2 Container Registry repositories.",
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings"
      ],
      "Resource": "*"
    }
  ]
}"#,
    ),
];

fn stable_id(name: &str) -> String {
    const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let h = sha2::Sha256::digest(name.as_bytes());
    let tail: String = h
        .iter()
        .take(17)
        .map(|b| B32[(b & 31) as usize] as char)
        .collect();
    format!("ANPA{tail}")
}

pub fn arn(name: &str) -> String {
    format!("arn:aws:iam::aws:policy/{name}")
}

/// Installs (or refreshes) the AWS managed policies.
pub fn install_aws_managed(store: &dyn Store) -> anyhow::Result<()> {
    store.write(|tx| install_aws_managed_in(tx))
}

/// [`install_aws_managed`] in an open transaction (an account being created).
pub fn install_aws_managed_in(tx: &mut dyn crate::store::Tx) -> anyhow::Result<()> {
    for (name, description, doc) in AWS_MANAGED {
        let arn = arn(name);
        let existing: Option<ManagedPolicy> = tx.get_json(Table::Policies, &arn)?;
        if existing
            .as_ref()
            .is_some_and(|p| p.default_document() == *doc)
        {
            continue;
        }
        let p = ManagedPolicy {
            id: stable_id(name),
            name: (*name).into(),
            path: "/".into(),
            arn: arn.clone(),
            created: PUBLISHED,
            updated: PUBLISHED,
            description: Some((*description).into()),
            default_version: "v1".into(),
            next_version: 2,
            versions: vec![PolicyVersion {
                version_id: "v1".into(),
                document: (*doc).into(),
                created: PUBLISHED,
            }],
            tags: Vec::new(),
        };
        tx.put_json(Table::Policies, &arn, &p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_parse_as_identity_policies() {
        for (name, _, doc) in AWS_MANAGED {
            assert!(
                kagi_policy::parse(doc, kagi_policy::PolicyType::Identity).is_ok(),
                "{name}"
            );
        }
        assert_eq!(stable_id("AdministratorAccess").len(), 21);
    }
}
