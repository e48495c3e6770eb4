//! Benchmarks (divan): decisions per second for a realistic principal (10 managed policies ×
//! 20 statements, some with conditions and policy variables) and the time to parse a 6 KB
//! policy. Run: `cargo bench -p kagi-policy --bench policy`.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use kagi_policy::{
    CompiledPolicy, Context, PolicyMeta, PolicyType, PrincipalInfo, Request, RequestFacts,
    evaluate, global_context, parse,
};
use serde_json::{Value, json};

fn main() {
    divan::main();
}

const SERVICES: &[&str] = &[
    "s3", "ecr", "iam", "ec2", "dynamodb", "logs", "sqs", "sns", "kms", "lambda",
];

/// Statement `j` of policy `i`: a mix of literal actions, wildcards, ARNs with variables and
/// conditions, and a few Deny statements.
fn statement(i: usize, j: usize) -> Value {
    let svc = SERVICES[(i + j) % SERVICES.len()];
    let effect = if j % 7 == 6 { "Deny" } else { "Allow" };
    let actions = match j % 4 {
        0 => json!([format!("{svc}:Get*"), format!("{svc}:List*")]),
        1 => json!([
            format!("{svc}:Describe{j}Thing"),
            format!("{svc}:Put{j}Item")
        ]),
        2 => json!(format!("{svc}:Create{i}Resource{j}")),
        _ => json!([
            format!("{svc}:Update{j}"),
            format!("{svc}:Delete{j}"),
            format!("{svc}:Tag{j}")
        ]),
    };
    let resource = match j % 3 {
        0 => json!(format!(
            "arn:aws:{svc}:*:123456789012:thing/${{aws:username}}/*"
        )),
        1 => json!([
            format!("arn:aws:{svc}:ap-northeast-1:123456789012:thing/team-{i}-*"),
            format!("arn:aws:{svc}:ap-northeast-1:123456789012:other/{j}")
        ]),
        _ => json!("*"),
    };
    let mut s = json!({"Sid": format!("P{i}S{j}"), "Effect": effect, "Action": actions, "Resource": resource});
    match j % 5 {
        0 => s["Condition"] = json!({"StringEquals": {"aws:PrincipalTag/team": ["blue", "green"]}}),
        1 => {
            s["Condition"] = json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}, "Bool": {"aws:SecureTransport": "false"}})
        }
        2 => s["Condition"] = json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        _ => {}
    }
    s
}

fn policies() -> Vec<CompiledPolicy> {
    (0..10)
        .map(|i| {
            let stmts: Vec<Value> = (0..20).map(|j| statement(i, j)).collect();
            let text = json!({"Version": "2012-10-17", "Statement": stmts}).to_string();
            CompiledPolicy::from_text(
                &text,
                PolicyType::Identity,
                PolicyMeta::named(format!("Managed{i}")),
            )
            .unwrap()
        })
        .collect()
}

struct Fixture {
    policies: Vec<CompiledPolicy>,
    principal: PrincipalInfo,
    context: Context,
    requests: Vec<(String, String)>,
}

fn fixture() -> Fixture {
    let mut principal = PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
    principal.unique_id = "AIDAEXAMPLEALICE00001".into();
    principal.tags = vec![("team".into(), "blue".into())];
    let facts = RequestFacts {
        now: UNIX_EPOCH + Duration::from_secs(1_795_516_200),
        source_ip: Some("127.0.0.1".parse().unwrap()),
        secure_transport: false,
        requested_region: Some("ap-northeast-1".into()),
    };
    let context = global_context(&principal, &facts);
    let requests = vec![
        (
            "s3:GetObject".into(),
            "arn:aws:s3:ap-northeast-1:123456789012:thing/alice/k".into(),
        ),
        (
            "ecr:PutImage".into(),
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/r".into(),
        ),
        ("iam:ListUsers".into(), "*".into()),
        (
            "ec2:Describe5Thing".into(),
            "arn:aws:ec2:ap-northeast-1:123456789012:thing/team-4-x".into(),
        ),
        ("dynamodb:Update3".into(), "*".into()),
        (
            "kms:Decrypt".into(),
            "arn:aws:kms:ap-northeast-1:123456789012:key/1".into(),
        ),
        ("lambda:Create1Resource2".into(), "*".into()),
        (
            "sqs:GetQueueUrl".into(),
            "arn:aws:sqs:ap-northeast-1:123456789012:thing/alice/q".into(),
        ),
    ];
    Fixture {
        policies: policies(),
        principal,
        context,
        requests,
    }
}

/// One decision (identity policies only: 10 × 20 statements).
#[divan::bench]
fn decision(bencher: divan::Bencher) {
    let f = fixture();
    let refs: Vec<&CompiledPolicy> = f.policies.iter().collect();
    let policies = kagi_policy::Policies {
        identity: &refs,
        ..Default::default()
    };
    let mut i = 0usize;
    bencher.bench_local(|| {
        let (a, r) = &f.requests[i % f.requests.len()];
        i += 1;
        let ev = evaluate(
            &Request {
                principal: &f.principal,
                action: a,
                resource: r,
                context: &f.context,
            },
            black_box(&policies),
        );
        black_box(ev.decision)
    });
}

/// The same decision under SCPs (root, two OUs, account: FullAWSAccess each, a region guard
/// and an allow-list) and RCPs (root, account), as the server passes them for a member account.
#[divan::bench]
fn decision_with_scp_rcp(bencher: divan::Bencher) {
    let f = fixture();
    let refs: Vec<&CompiledPolicy> = f.policies.iter().collect();
    let full = kagi_policy::organizations::full_aws_access();
    let rfull = kagi_policy::organizations::rcp_full_aws_access();
    let guard = CompiledPolicy::from_text(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Regions","Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["ap-northeast-1","us-east-1"]}}},{"Sid":"ProtectIam","Effect":"Deny","Action":["iam:Delete*","iam:Create*"],"Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}}}]}"#,
        PolicyType::ServiceControl,
        PolicyMeta::named("guard"),
    )
    .unwrap();
    let allow_list = CompiledPolicy::from_text(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*","ecr:*","iam:*","ec2:*","dynamodb:*","kms:*","lambda:*","sqs:*"],"Resource":"*"}}"#,
        PolicyType::ServiceControl,
        PolicyMeta::named("allow-list"),
    )
    .unwrap();
    let perimeter = CompiledPolicy::from_text(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":["s3:*","sqs:*","kms:*"],"Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}}"#,
        PolicyType::ResourceControl,
        PolicyMeta::named("perimeter"),
    )
    .unwrap();
    let root = [&full, &guard];
    let ou1 = [&full];
    let ou2 = [&allow_list];
    let account = [&full];
    let scp: [&[&CompiledPolicy]; 4] = [&root, &ou1, &ou2, &account];
    let rroot = [&rfull, &perimeter];
    let raccount = [&rfull];
    let rcp: [&[&CompiledPolicy]; 2] = [&rroot, &raccount];
    let policies = kagi_policy::Policies {
        identity: &refs,
        scp: Some(&scp),
        rcp: Some(&rcp),
        ..Default::default()
    };
    let mut i = 0usize;
    bencher.bench_local(|| {
        let (a, r) = &f.requests[i % f.requests.len()];
        i += 1;
        let ev = evaluate(
            &Request {
                principal: &f.principal,
                action: a,
                resource: r,
                context: &f.context,
            },
            black_box(&policies),
        );
        black_box(ev.decision)
    });
}

/// A 6 KB policy document (about 6,100 characters).
fn six_kb_policy() -> String {
    let mut stmts = Vec::new();
    let mut j = 0;
    loop {
        stmts.push(statement(j % 10, j));
        let text =
            serde_json::to_string_pretty(&json!({"Version": "2012-10-17", "Statement": stmts}))
                .unwrap();
        if text.len() >= 6 * 1024 {
            return text;
        }
        j += 1;
    }
}

#[divan::bench]
fn parse_6kb(bencher: divan::Bencher) {
    let text = six_kb_policy();
    bencher
        .counter(divan::counter::BytesCount::new(text.len()))
        .bench_local(|| parse(black_box(&text), PolicyType::Identity).unwrap());
}

#[divan::bench]
fn parse_and_compile_6kb(bencher: divan::Bencher) {
    let text = six_kb_policy();
    bencher.bench_local(|| {
        CompiledPolicy::from_text(
            black_box(&text),
            PolicyType::Identity,
            PolicyMeta::named("p"),
        )
        .unwrap()
    });
}
