//! IAM policy documents: parse, validate, compile and evaluate arbitrary text.
//! Invariants: nothing panics; a document the strict parser (IAM's save-time check) rejects is
//! never one the validator (the editor's live findings) calls error-free; a parsed document
//! evaluates, and adding an explicit deny of everything never leaves anything allowed.

use kagi_policy::*;

const ACTIONS: [&str; 6] = [
    "iam:ListUsers",
    "sts:AssumeRole",
    "ecr:PutImage",
    "ecr:GetAuthorizationToken",
    "s3:GetObject",
    "IAM:listusers",
];
const RESOURCES: [&str; 4] = [
    "*",
    "arn:aws:iam::123456789012:role/pusher",
    "arn:aws:ecr:us-east-1:123456789012:repository/app/web",
    "arn:aws:s3:::bucket/a/b?c",
];
const DENY_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let policy_type = match selector % 3 {
        0 => PolicyType::Identity,
        1 => PolicyType::Trust,
        _ => PolicyType::Resource,
    };
    let findings = validate(text, policy_type);
    let _ = findings_json(&findings);
    let parsed = parse(text, policy_type);
    if let Err(e) = &parsed {
        let _ = e.human();
        assert!(
            has_errors(&findings),
            "IAM rejects this document ({}) but the validator reports no error",
            e.human()
        );
    }
    let _ = policy_size(text);
    let Ok(policy) = parsed else { return };
    let compiled = CompiledPolicy::compile(policy, PolicyMeta::named("fuzzed"));
    let deny = CompiledPolicy::from_text(DENY_ALL, PolicyType::Identity, PolicyMeta::named("deny"))
        .expect("the deny-all policy parses");
    let principal = PrincipalInfo::from_arn(if selector & 0x80 == 0 {
        "arn:aws:iam::123456789012:user/alice"
    } else {
        "arn:aws:sts::123456789012:assumed-role/pusher/session"
    })
    .expect("a valid principal ARN");
    let facts = RequestFacts {
        now: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000),
        source_ip: Some([127, 0, 0, 1].into()),
        secure_transport: true,
        requested_region: Some("us-east-1".into()),
    };
    let mut context = global_context(&principal, &facts);
    context.set_list(
        "aws:TagKeys",
        ContextType::String,
        vec!["team".into(), "Team".into()],
    );
    for action in ACTIONS {
        for resource in RESOURCES {
            let request = Request {
                principal: &principal,
                action,
                resource,
                context: &context,
            };
            let (identity, with_deny, resource_policy, kind) = match policy_type {
                PolicyType::Identity => (
                    vec![&compiled],
                    vec![&compiled, &deny],
                    None,
                    ResourcePolicyKind::Resource,
                ),
                PolicyType::Trust => (
                    vec![],
                    vec![&deny],
                    Some(&compiled),
                    ResourcePolicyKind::Trust,
                ),
                PolicyType::Resource => (
                    vec![],
                    vec![&deny],
                    Some(&compiled),
                    ResourcePolicyKind::Resource,
                ),
                // Control policies cap what an identity policy allows (evaluated below as a
                // one-level SCP over an allow-everything identity).
                PolicyType::ServiceControl | PolicyType::ResourceControl => {
                    (vec![&deny], vec![&deny], None, ResourcePolicyKind::Resource)
                }
            };
            let ev = evaluate(
                &request,
                &Policies {
                    identity: &identity,
                    resource: resource_policy,
                    resource_kind: kind,
                    ..Default::default()
                },
            );
            let _ = ev.explain();
            let _ = ev.access_denied_message(&principal.arn, action, resource);
            let denied = evaluate(
                &request,
                &Policies {
                    identity: &with_deny,
                    resource: resource_policy,
                    resource_kind: kind,
                    ..Default::default()
                },
            );
            assert!(
                !denied.is_allowed(),
                "an explicit deny of everything was overridden"
            );
        }
    }
}
