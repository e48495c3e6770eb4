//! Property tests: statement order never changes a decision; adding a Deny never turns a denial
//! into an allow; the wildcard and ARN matchers agree with straightforward oracles; the parser
//! never panics; a policy generated from any records validates and never holds a pattern a
//! record smuggled in.

use kagi_policy::pattern::{ArnPattern, wildcard_match};
use kagi_policy::{
    CompiledPolicy, Context, Decision, Policies, PolicyMeta, PolicyType, PrincipalInfo, Request,
    ResourcePolicyKind, evaluate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------- oracles

/// Dynamic-programming glob: `dp[i][j]` = pattern[..i] matches text[..j].
fn dp_glob(pattern: &[char], text: &[char]) -> bool {
    let (n, m) = (pattern.len(), text.len());
    let mut dp = vec![vec![false; m + 1]; n + 1];
    dp[0][0] = true;
    for i in 1..=n {
        if pattern[i - 1] == '*' {
            dp[i][0] = dp[i - 1][0];
        }
        for j in 1..=m {
            dp[i][j] = match pattern[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => c == text[j - 1] && dp[i - 1][j - 1],
            };
        }
    }
    dp[n][m]
}

/// ARN oracle: split the pattern into at most six `:` parts; the first k-1 parts match the
/// resource's first k-1 parts one by one, the last part matches the rest.
fn arn_oracle(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let k = p.len();
    let r: Vec<&str> = arn.splitn(k, ':').collect();
    if r.len() < k {
        return false;
    }
    p.iter().zip(&r).all(|(pp, rr)| {
        dp_glob(
            &pp.chars().collect::<Vec<_>>(),
            &rr.chars().collect::<Vec<_>>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_dp(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
        let pc: Vec<char> = pattern.chars().collect();
        let tc: Vec<char> = text.chars().collect();
        prop_assert_eq!(wildcard_match(&pattern, &text), dp_glob(&pc, &tc), "pattern {:?} text {:?}", pattern, text);
    }

    #[test]
    fn arn_matcher_agrees_with_oracle(pattern in "[a:*?]{0,10}", arn in "[a:]{0,10}") {
        let p = ArnPattern::compile(&pattern, false);
        prop_assert_eq!(p.matches(&arn, &()), arn_oracle(&pattern, &arn), "pattern {:?} arn {:?}", pattern, arn);
    }

    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = kagi_policy::parse(&text, PolicyType::Identity);
        let _ = kagi_policy::validate(&text, PolicyType::Resource);
    }

    #[test]
    fn parser_never_panics_on_near_policies(cut in 0usize..400, insert in "[\\[\\]{}\",:/* a-zA-Z0-9${}]{0,6}") {
        let base = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ecr:*","s3:Get*"],"Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        let cut = cut.min(base.len());
        let text = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        let _ = kagi_policy::parse(&text, PolicyType::Identity);
        let _ = kagi_policy::validate(&text, PolicyType::Identity);
    }
}

// ---------- policy generation

const SOURCES: &[&str] = &[
    "ecr.amazonaws.com",
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "s3.amazonaws.com",
    "lambda.amazonaws.com",
    "signin.amazonaws.com",
    "nosuch.amazonaws.com",
];
const EVENTS: &[&str] = &[
    "PutImage",
    "GetAuthorizationToken",
    "CreateUser",
    "CreateAccessKey",
    "AssumeRole",
    "GetCallerIdentity",
    "ListObjectsV2",
    "GetFunction20150331v2",
    "ConsoleLogin",
];
const NAMES: &[&str] = &[
    "r",
    "prod-*",
    "${aws:username}",
    "a?b",
    "ok/nested",
    "",
    "日本",
];

fn record() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(SOURCES),
        prop::sample::select(EVENTS),
        "[A-Za-z0-9*?${}:/_-]{0,12}",
        prop::sample::select(NAMES),
        prop::option::of(prop::sample::select(&["AccessDenied", "NoSuchEntity"][..])),
        any::<bool>(),
    )
        .prop_map(|(source, event, odd, name, error, user)| {
            let identity = if user {
                json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"})
            } else {
                json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/r/s",
                       "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::123456789012:role/r"}}})
            };
            let mut r = json!({
                "userIdentity": identity,
                "eventTime": "2026-12-07T10:00:00Z",
                "eventSource": source,
                "eventName": if odd.len() % 3 == 0 { odd.clone() } else { event.to_string() },
                "awsRegion": "us-east-1",
                "requestParameters": {"repositoryName": name, "userName": name, "roleArn": odd,
                                      "policyArn": format!("arn:aws:iam::aws:policy/{name}")},
                "resources": [{"ARN": format!("arn:aws:ecr:us-east-1:123456789012:repository/{odd}")}]
            });
            if let Some(e) = error {
                r["errorCode"] = json!(e);
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn generated_policies_validate_and_hold_no_smuggled_pattern(
        records in prop::collection::vec(record(), 0..12),
        resource_level in any::<bool>(),
        include_denied in any::<bool>(),
        role in any::<bool>(),
    ) {
        let principal = if role { "arn:aws:iam::123456789012:role/r" } else { "arn:aws:iam::123456789012:user/alice" };
        let g = kagi_policy::generate(&records, &kagi_policy::GenerateOptions {
            principal_arn: principal.into(),
            resource_level,
            include_denied,
            ..Default::default()
        }).unwrap();
        let Some(text) = g.policy_pretty() else { return Ok(()); };
        let findings = kagi_policy::validate(&text, PolicyType::Identity);
        prop_assert!(!kagi_policy::has_errors(&findings), "{:?}\n{}", findings, text);
        let doc: Value = serde_json::from_str(&text).unwrap();
        for st in doc["Statement"].as_array().unwrap() {
            prop_assert_eq!(&st["Effect"], "Allow");
            for a in st["Action"].as_array().unwrap() {
                prop_assert!(!a.as_str().unwrap().contains(['*', '?']), "{}", text);
            }
            let res: Vec<&str> = match &st["Resource"] {
                Value::String(s) => vec![s.as_str()],
                v => v.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect(),
            };
            for r in res {
                prop_assert!(r == "*" || !r.contains(['*', '?', '$']), "{}", text);
                prop_assert!(resource_level || r == "*", "{}", text);
            }
        }
    }
}

// ---------- random policies

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "ecr:PutImage",
    "ecr:*",
    "*",
    "iam:?etUser",
    "ECR:putimage",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:ecr:*:123456789012:repository/r",
    "arn:aws:s3:::${aws:username}/*",
];
const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "ecr:PutImage",
    "iam:GetUser",
    "iam:SetUser",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::alice/x",
    "arn:aws:ecr:us-east-1:123456789012:repository/r",
    "*",
];

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(json!({"StringEquals": {"aws:PrincipalTag/team": "blue"}}))),
        1 => Just(Some(json!({"StringNotEquals": {"aws:PrincipalTag/team": "blue"}}))),
        1 => Just(Some(json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}))),
        1 => Just(Some(json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}))),
        1 => Just(Some(json!({"Null": {"aws:TagKeys": "true"}}))),
        1 => Just(Some(json!({"NumericLessThanIfExists": {"s3:max-keys": "10"}}))),
    ]
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        any::<bool>(),
        proptest::sample::subsequence(ACTIONS, 1..3),
        any::<bool>(),
        proptest::sample::subsequence(RESOURCES, 1..3),
        condition(),
    )
        .prop_map(|(e, not_action, actions, not_resource, resources, cond)| {
            let mut s = json!({"Effect": e});
            s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            s[if not_resource {
                "NotResource"
            } else {
                "Resource"
            }] = json!(resources);
            if let Some(c) = cond {
                s["Condition"] = c;
            }
            s
        })
}

fn policy_set() -> impl Strategy<Value = Vec<Vec<Value>>> {
    proptest::collection::vec(proptest::collection::vec(statement(None), 1..5), 1..4)
}

fn context_strategy() -> impl Strategy<
    Value = (
        Option<&'static str>,
        Option<Vec<&'static str>>,
        Option<&'static str>,
    ),
> {
    (
        proptest::option::of(prop_oneof![Just("blue"), Just("red")]),
        proptest::option::of(proptest::sample::subsequence(&["a", "b", "c"][..], 0..3)),
        proptest::option::of(prop_oneof![Just("5"), Just("50")]),
    )
}

fn compile_all(set: &[Vec<Value>]) -> Vec<CompiledPolicy> {
    set.iter()
        .enumerate()
        .map(|(i, stmts)| {
            let text = json!({"Version": "2012-10-17", "Statement": stmts}).to_string();
            CompiledPolicy::from_text(
                &text,
                PolicyType::Identity,
                PolicyMeta::named(format!("p{i}")),
            )
            .unwrap()
        })
        .collect()
}

fn decide(set: &[Vec<Value>], action: &str, resource: &str, ctx: &Context) -> Decision {
    let compiled = compile_all(set);
    let refs: Vec<&CompiledPolicy> = compiled.iter().collect();
    let mut p = PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
    p.unique_id = "AIDAEXAMPLE".into();
    evaluate(
        &Request {
            principal: &p,
            action,
            resource,
            context: ctx,
        },
        &Policies {
            identity: &refs,
            resource_kind: ResourcePolicyKind::Resource,
            ..Default::default()
        },
    )
    .decision
}

fn make_context(
    c: &(
        Option<&'static str>,
        Option<Vec<&'static str>>,
        Option<&'static str>,
    ),
) -> Context {
    let mut ctx = Context::new();
    ctx.set_string("aws:username", "alice");
    if let Some(t) = c.0 {
        ctx.set_string("aws:PrincipalTag/team", t);
    }
    if let Some(keys) = &c.1 {
        ctx.set_list(
            "aws:TagKeys",
            kagi_policy::ContextType::String,
            keys.iter().map(|s| s.to_string()).collect(),
        );
    }
    if let Some(n) = c.2 {
        ctx.set("s3:max-keys", kagi_policy::ContextType::Numeric, n);
    }
    ctx
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn statement_order_never_changes_the_decision(
        set in policy_set(),
        ai in 0..REQ_ACTIONS.len(),
        ri in 0..REQ_RESOURCES.len(),
        c in context_strategy(),
        seed in any::<u64>(),
    ) {
        let ctx = make_context(&c);
        let before = decide(&set, REQ_ACTIONS[ai], REQ_RESOURCES[ri], &ctx);
        // Reverse the policies and rotate the statements of each by a seed-dependent amount.
        let mut shuffled: Vec<Vec<Value>> = set.iter().rev().cloned().collect();
        for (i, stmts) in shuffled.iter_mut().enumerate() {
            let k = (seed as usize).wrapping_add(i) % stmts.len();
            stmts.rotate_left(k);
            if seed & 1 == 1 {
                stmts.reverse();
            }
        }
        let after = decide(&shuffled, REQ_ACTIONS[ai], REQ_RESOURCES[ri], &ctx);
        prop_assert_eq!(before, after);
    }

    #[test]
    fn adding_a_deny_never_turns_deny_into_allow(
        set in policy_set(),
        deny in statement(Some("Deny")),
        target in any::<prop::sample::Index>(),
        ai in 0..REQ_ACTIONS.len(),
        ri in 0..REQ_RESOURCES.len(),
        c in context_strategy(),
    ) {
        let ctx = make_context(&c);
        let before = decide(&set, REQ_ACTIONS[ai], REQ_RESOURCES[ri], &ctx);
        let mut more = set.clone();
        let i = target.index(more.len() + 1);
        if i == more.len() {
            more.push(vec![deny]);
        } else {
            more[i].push(deny);
        }
        let after = decide(&more, REQ_ACTIONS[ai], REQ_RESOURCES[ri], &ctx);
        if before != Decision::Allowed {
            prop_assert_ne!(after, Decision::Allowed);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }
}
