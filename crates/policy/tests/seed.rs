//! The seed story (`shared/seed/walkthrough.md`): the tutorial's own documents, evaluated as the
//! walkthrough says.

use std::time::{Duration, UNIX_EPOCH};

use kagi_policy::{
    CompiledPolicy, Decision, FindingType, Policies, PolicyMeta, PolicyType, PrincipalInfo,
    Request, RequestFacts, ResourcePolicyKind, SessionInfo, evaluate, global_context, parse,
    validate,
};

const ACCT: &str = "123456789012";
const COMMENTED: &str = include_str!("seed/ECRPushAndLoginPolicy.commented.json");
const SWITCH: &str = include_str!("seed/SwitchRolePolicy.json");
const TRUST: &str = include_str!("seed/ECRLoginAndPushRole.trust.json");

fn fill(text: &str) -> String {
    text.replace("<your-account-id>", ACCT)
        .replace("**********", ACCT)
}

/// The tutorial's ECR policy with its two comment lines removed (what a user fixes it to).
fn ecr_policy_fixed() -> String {
    fill(COMMENTED)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn user() -> PrincipalInfo {
    let mut p =
        PrincipalInfo::from_arn(&format!("arn:aws:iam::{ACCT}:user/user-for-switch")).unwrap();
    p.unique_id = "AIDAEXAMPLEUSER00001".into();
    p
}

fn session() -> PrincipalInfo {
    let mut p = PrincipalInfo::from_arn(&format!(
        "arn:aws:sts::{ACCT}:assumed-role/ECRLoginAndPushRole/botocore-session-1795516200"
    ))
    .unwrap();
    p.unique_id = "AROAEXAMPLEROLE00001:botocore-session-1795516200".into();
    p.session = Some(SessionInfo {
        role_arn: role_arn(),
        role_id: "AROAEXAMPLEROLE00001".into(),
        session_name: "botocore-session-1795516200".into(),
        issued_at: Some(UNIX_EPOCH + Duration::from_secs(1_795_516_200)),
        mfa: false,
    });
    p
}

fn role_arn() -> String {
    format!("arn:aws:iam::{ACCT}:role/ECRLoginAndPushRole")
}

fn repo(name: &str) -> String {
    format!("arn:aws:ecr:ap-northeast-1:{ACCT}:repository/{name}")
}

fn facts() -> RequestFacts {
    RequestFacts {
        now: UNIX_EPOCH + Duration::from_secs(1_795_516_300),
        source_ip: Some("127.0.0.1".parse().unwrap()),
        secure_transport: false,
        requested_region: Some("ap-northeast-1".into()),
    }
}

#[test]
fn commented_policy_is_rejected_at_the_first_comment() {
    let e = parse(&fill(COMMENTED), PolicyType::Identity).unwrap_err();
    assert_eq!(e.code.as_str(), "MalformedPolicyDocument");
    assert_eq!(e.message, "Syntax errors in policy.");
    let pos = e.position.unwrap();
    assert_eq!((pos.line, pos.column), (3, 9), "{e}");
    assert!(
        e.detail
            .contains("comments are not allowed in JSON policy documents"),
        "{}",
        e.detail
    );
    assert!(
        e.human()
            .starts_with("line 3, column 9: comments are not allowed")
    );
    // Access Analyzer reports the same place (column from 0).
    let f = validate(&fill(COMMENTED), PolicyType::Identity);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].issue_code, "JSON_SYNTAX_ERROR");
    assert_eq!(f[0].locations[0].span.start.line, 3);
}

#[test]
fn documents_parse_and_validate_once_fixed() {
    for (text, t) in [
        (ecr_policy_fixed(), PolicyType::Identity),
        (fill(SWITCH), PolicyType::Identity),
        (fill(TRUST), PolicyType::Trust),
    ] {
        parse(&text, t).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let findings = validate(&text, t);
        assert!(
            findings
                .iter()
                .all(|f| f.finding_type != FindingType::Error),
            "{findings:?}"
        );
    }
    // The console-made trust policy carries an empty Condition: a suggestion, not an error.
    let f = validate(&fill(TRUST), PolicyType::Trust);
    assert_eq!(
        f.iter().map(|f| f.issue_code.as_str()).collect::<Vec<_>>(),
        ["EMPTY_OBJECT_CONDITION"]
    );
}

#[test]
fn walkthrough_decisions() {
    let switch = CompiledPolicy::from_text(
        &fill(SWITCH),
        PolicyType::Identity,
        PolicyMeta::named("SwitchRolePolicy"),
    )
    .unwrap();
    let ecr = CompiledPolicy::from_text(
        &ecr_policy_fixed(),
        PolicyType::Identity,
        PolicyMeta::named("ECRPushAndLoginPolicy"),
    )
    .unwrap();
    let trust =
        CompiledPolicy::from_text(&fill(TRUST), PolicyType::Trust, PolicyMeta::named("trust"))
            .unwrap();
    let u = user();
    let uctx = global_context(&u, &facts());

    // Step 6: the trust policy names the account, so the user needs SwitchRolePolicy (step 4).
    let with_switch = [&switch];
    let assume = |identity: &[&CompiledPolicy]| {
        evaluate(
            &Request {
                principal: &u,
                action: "sts:AssumeRole",
                resource: &role_arn(),
                context: &uctx,
            },
            &Policies {
                identity,
                resource: Some(&trust),
                resource_kind: ResourcePolicyKind::Trust,
                ..Default::default()
            },
        )
        .decision
    };
    assert_eq!(assume(&with_switch), Decision::Allowed);
    let none: [&CompiledPolicy; 0] = [];
    let ev = evaluate(
        &Request {
            principal: &u,
            action: "sts:AssumeRole",
            resource: &role_arn(),
            context: &uctx,
        },
        &Policies {
            identity: &none,
            resource: Some(&trust),
            resource_kind: ResourcePolicyKind::Trust,
            ..Default::default()
        },
    );
    assert_eq!(ev.decision, Decision::ImplicitDeny);
    assert_eq!(
        ev.access_denied_message(&u.arn, "sts:AssumeRole", &role_arn())
            .unwrap(),
        format!(
            "User: arn:aws:iam::{ACCT}:user/user-for-switch is not authorized to perform: sts:AssumeRole on resource: {}",
            role_arn()
        )
    );

    // Step 10: under the role, login and push to test-repos; anything else is denied.
    let s = session();
    let sctx = global_context(&s, &facts());
    let role_policies = [&ecr];
    let as_role = |action: &str, resource: &str| {
        let ev = evaluate(
            &Request {
                principal: &s,
                action,
                resource,
                context: &sctx,
            },
            &Policies {
                identity: &role_policies,
                ..Default::default()
            },
        );
        (
            ev.decision,
            ev.access_denied_message(&s.arn, action, resource),
        )
    };
    for action in [
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:InitiateLayerUpload",
        "ecr:BatchCheckLayerAvailability",
        "ecr:PutImage",
    ] {
        assert_eq!(
            as_role(action, &repo("test-repos")).0,
            Decision::Allowed,
            "{action}"
        );
    }
    assert_eq!(
        as_role("ecr:GetAuthorizationToken", "*").0,
        Decision::Allowed
    );
    let (d, msg) = as_role("ecr:InitiateLayerUpload", &repo("other-repo"));
    assert_eq!(d, Decision::ImplicitDeny);
    assert_eq!(
        msg.unwrap(),
        format!(
            "User: {} is not authorized to perform: ecr:InitiateLayerUpload on resource: {} because no identity-based policy allows the ecr:InitiateLayerUpload action",
            s.arn,
            repo("other-repo")
        )
    );
    assert_eq!(as_role("iam:ListUsers", "*").0, Decision::ImplicitDeny);
    assert_eq!(
        as_role("ecr:DeleteRepository", &repo("test-repos")).0,
        Decision::ImplicitDeny
    );
    // The bare user (SwitchRolePolicy only) cannot push.
    let ev = evaluate(
        &Request {
            principal: &u,
            action: "ecr:PutImage",
            resource: &repo("test-repos"),
            context: &uctx,
        },
        &Policies {
            identity: &with_switch,
            ..Default::default()
        },
    );
    assert_eq!(ev.decision, Decision::ImplicitDeny);
    // Explanation names the statement that allowed.
    let ev = evaluate(
        &Request {
            principal: &s,
            action: "ecr:PutImage",
            resource: &repo("test-repos"),
            context: &sctx,
        },
        &Policies {
            identity: &role_policies,
            ..Default::default()
        },
    );
    assert_eq!(ev.matched.len(), 1);
    assert_eq!(ev.matched[0].sid(), Some("VisualEditor0"));
    assert_eq!(ev.matched[0].span().start.line, 4);
}

/// A registry call of the role's session as ECR records it (CloudTrail's AssumedRole
/// `userIdentity`, the repository in `requestParameters` and `resources`).
fn recorded(event: &str, repo_name: Option<&str>, error: Option<&str>) -> serde_json::Value {
    let s = session();
    let mut r = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": s.unique_id,
            "arn": s.arn,
            "accountId": ACCT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLE00001",
                "arn": role_arn(), "accountId": ACCT, "userName": "ECRLoginAndPushRole"}}
        },
        "eventTime": "2026-11-24T10:31:40Z",
        "eventSource": "ecr.amazonaws.com",
        "eventName": event,
        "awsRegion": "ap-northeast-1",
        "requestParameters": {},
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCT
    });
    if let Some(name) = repo_name {
        r["requestParameters"] = serde_json::json!({"repositoryName": name, "registryId": ACCT});
        r["resources"] = serde_json::json!([{"ARN": repo(name), "accountId": ACCT}]);
    }
    if let Some(code) = error {
        r["errorCode"] = code.into();
    }
    r
}

/// Issue 14: the policy generated from the role's recorded push and pull is the tutorial's
/// `ECRPushAndLoginPolicy` or smaller; applied alone it lets the same calls through and keeps
/// the other repository denied.
#[test]
fn the_policy_generated_from_the_roles_push_is_the_tutorials_or_smaller() {
    let mut records = vec![recorded("GetAuthorizationToken", None, None)];
    for e in [
        "BatchCheckLayerAvailability",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "PutImage",
        "BatchGetImage",
        "GetDownloadUrlForLayer",
    ] {
        records.push(recorded(e, Some("test-repos"), None));
    }
    // The walkthrough's denied push to another repository.
    records.push(recorded(
        "InitiateLayerUpload",
        Some("other-repos"),
        Some("AccessDeniedException"),
    ));
    let generated = kagi_policy::generate(
        &records,
        &kagi_policy::GenerateOptions {
            principal_arn: role_arn(),
            resource_level: true,
            ..Default::default()
        },
    )
    .unwrap();
    let text = generated.policy_pretty().unwrap();
    assert!(validate(&text, PolicyType::Identity).is_empty(), "{text}");
    let gen_policy =
        CompiledPolicy::from_text(&text, PolicyType::Identity, PolicyMeta::named("generated"))
            .unwrap();
    let ecr = CompiledPolicy::from_text(
        &ecr_policy_fixed(),
        PolicyType::Identity,
        PolicyMeta::named("ECRPushAndLoginPolicy"),
    )
    .unwrap();
    let s = session();
    let ctx = global_context(&s, &facts());
    let decide = |p: &CompiledPolicy, action: &str, resource: &str| {
        evaluate(
            &Request {
                principal: &s,
                action,
                resource,
                context: &ctx,
            },
            &Policies {
                identity: &[p],
                ..Default::default()
            },
        )
        .decision
    };
    // Everything the generated policy allows, the tutorial's allows too: it is no larger.
    for (action, resources) in &generated.allowed {
        for r in resources {
            assert_eq!(decide(&ecr, action, r), Decision::Allowed, "{action} {r}");
        }
    }
    // And here it is exactly as large: the same eight actions, the same repository.
    let all_ecr = [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeRepositories",
        "ecr:BatchDeleteImage",
    ];
    for action in all_ecr {
        for r in [repo("test-repos"), repo("other-repos"), "*".to_string()] {
            assert_eq!(
                decide(&gen_policy, action, &r),
                decide(&ecr, action, &r),
                "{action} on {r}\n{text}"
            );
        }
    }
    assert_eq!(
        decide(&gen_policy, "ecr:PutImage", &repo("other-repos")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        generated.denied.keys().collect::<Vec<_>>(),
        ["ecr:InitiateLayerUpload"]
    );
}
