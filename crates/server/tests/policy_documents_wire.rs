//! Policy documents on the wire, as IAM sends them: every response that carries one (trust
//! policies, inline policies, policy versions, the account authorization details) has it
//! percent-encoded (RFC 3986). Read here from the raw XML; then botocore (from
//! `KAGI_COMPAT_VENV`) must decode the same responses to the documents that were written.

mod common;
use common::*;
use kagi_api::xml::{Element, parse_document};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::SystemTime;

/// A trust policy with characters that percent-encoding must carry: spaces, a newline, `+`,
/// `%`, `*`, `/` and a non-ASCII letter.
fn trust() -> String {
    format!(
        "{{\"Version\": \"2012-10-17\",\n  \"Statement\": [{{\"Effect\": \"Allow\", \"Principal\": {{\"AWS\": \"arn:aws:iam::{ACCOUNT}:root\"}}, \"Action\": \"sts:AssumeRole\", \"Condition\": {{\"StringLike\": {{\"sts:RoleSessionName\": \"a+b 100% é*\"}}}}}}]}}"
    )
}

fn permissions(tag: &str) -> String {
    format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bucket/{tag} a+b%/é*\"}}]}}"
    )
}

/// The raw body of a signed IAM call.
fn raw(root: &Client, action: &str, input: Value) -> String {
    let svc = kagi_api::service("iam").unwrap();
    let op = svc.operation(action).unwrap();
    let r = root.send(
        "iam",
        &kagi_api::query::encode(op, svc, &input),
        SystemTime::now(),
    );
    assert_eq!(r.status, 200, "{action}: {}", r.body);
    r.body
}

fn collect<'a>(e: &'a Element, names: &[&str], out: &mut Vec<&'a Element>) {
    if names.contains(&e.name.as_str()) {
        out.push(e);
    }
    for c in &e.children {
        collect(c, names, out);
    }
}

/// Every policy document element of `body`, checked to be strict RFC 3986 percent-encoding,
/// returned decoded.
fn documents(body: &str) -> Vec<String> {
    let root = parse_document(body).unwrap();
    let mut found = Vec::new();
    collect(
        &root,
        &["AssumeRolePolicyDocument", "PolicyDocument", "Document"],
        &mut found,
    );
    found
        .iter()
        .map(|e| {
            let t = e.text.as_str();
            let b = t.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    assert!(
                        b.len() > i + 2
                            && b[i + 1..i + 3]
                                .iter()
                                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c)),
                        "<{}> has a bad escape at {i}: {t}",
                        e.name
                    );
                    i += 3;
                } else {
                    assert!(
                        b[i].is_ascii_alphanumeric() || b"-._~".contains(&b[i]),
                        "<{}> is not percent-encoded (byte {i}): {t}",
                        e.name
                    );
                    i += 1;
                }
            }
            String::from_utf8(kagi_sigv4::canonical::percent_decode(t, false)).unwrap()
        })
        .collect()
}

#[test]
fn every_response_carrying_a_policy_document_percent_encodes_it() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let trust = trust();
    let (user_doc, group_doc, role_doc, v1, v2) = (
        permissions("user"),
        permissions("group"),
        permissions("role"),
        permissions("v1"),
        permissions("v2"),
    );
    let body = raw(
        &root,
        "CreateRole",
        json!({"RoleName": "R", "AssumeRolePolicyDocument": trust}),
    );
    assert_eq!(documents(&body), [trust.as_str()]);
    let trust2 = trust.replace("a+b", "c+d");
    raw(
        &root,
        "UpdateAssumeRolePolicy",
        json!({"RoleName": "R", "PolicyDocument": trust2}),
    );
    assert_eq!(
        documents(&raw(&root, "GetRole", json!({"RoleName": "R"}))),
        [trust2.as_str()]
    );
    assert_eq!(
        documents(&raw(&root, "ListRoles", json!({}))),
        [trust2.as_str()]
    );
    raw(&root, "CreateUser", json!({"UserName": "u"}));
    raw(&root, "CreateGroup", json!({"GroupName": "g"}));
    raw(
        &root,
        "PutUserPolicy",
        json!({"UserName": "u", "PolicyName": "p", "PolicyDocument": user_doc}),
    );
    raw(
        &root,
        "PutGroupPolicy",
        json!({"GroupName": "g", "PolicyName": "p", "PolicyDocument": group_doc}),
    );
    raw(
        &root,
        "PutRolePolicy",
        json!({"RoleName": "R", "PolicyName": "p", "PolicyDocument": role_doc}),
    );
    for (action, input, doc) in [
        (
            "GetUserPolicy",
            json!({"UserName": "u", "PolicyName": "p"}),
            &user_doc,
        ),
        (
            "GetGroupPolicy",
            json!({"GroupName": "g", "PolicyName": "p"}),
            &group_doc,
        ),
        (
            "GetRolePolicy",
            json!({"RoleName": "R", "PolicyName": "p"}),
            &role_doc,
        ),
    ] {
        assert_eq!(
            documents(&raw(&root, action, input)),
            [doc.as_str()],
            "{action}"
        );
    }
    let created = root.ok(
        "iam",
        "CreatePolicy",
        json!({"PolicyName": "m", "PolicyDocument": v1}),
    );
    let arn = created["Policy"]["Arn"].as_str().unwrap().to_owned();
    let body = raw(
        &root,
        "CreatePolicyVersion",
        json!({"PolicyArn": arn, "PolicyDocument": v2, "SetAsDefault": true}),
    );
    // IAM's CreatePolicyVersion answers without the document; if one is sent, it is encoded.
    assert!(documents(&body).iter().all(|d| *d == v2), "{body}");
    assert_eq!(
        documents(&raw(
            &root,
            "GetPolicyVersion",
            json!({"PolicyArn": arn, "VersionId": "v1"})
        )),
        [v1.as_str()]
    );
    let mut listed = documents(&raw(&root, "ListPolicyVersions", json!({"PolicyArn": arn})));
    listed.sort();
    assert!(
        listed.is_empty() || listed == [v1.clone(), v2.clone()],
        "{listed:?}"
    );
    let mut details = documents(&raw(&root, "GetAccountAuthorizationDetails", json!({})));
    details.sort();
    let mut expected = vec![
        trust2.clone(),
        user_doc.clone(),
        group_doc.clone(),
        role_doc.clone(),
        v1.clone(),
        v2.clone(),
    ];
    expected.sort();
    assert_eq!(details, expected);
    // The test client decodes through kagi-api: the Value holds the document itself.
    let got = root.ok("iam", "GetRole", json!({"RoleName": "R"}));
    assert_eq!(got["Role"]["AssumeRolePolicyDocument"], trust2.as_str());

    botocore_reads_the_documents(&server, &trust2, &user_doc, &group_doc, &role_doc, &v1, &v2);
    server.shutdown();
}

const BOTO3: &str = r#"
import json, os, sys
import boto3
want = json.load(sys.stdin)
iam = boto3.client("iam", endpoint_url=os.environ["KAGI_ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id=os.environ["KAGI_ROOT_AKID"],
                   aws_secret_access_key=os.environ["KAGI_ROOT_SECRET"])
got = {
    "trust": iam.get_role(RoleName="R")["Role"]["AssumeRolePolicyDocument"],
    "listed": [r["AssumeRolePolicyDocument"] for r in iam.list_roles()["Roles"]],
    "user": iam.get_user_policy(UserName="u", PolicyName="p")["PolicyDocument"],
    "group": iam.get_group_policy(GroupName="g", PolicyName="p")["PolicyDocument"],
    "role": iam.get_role_policy(RoleName="R", PolicyName="p")["PolicyDocument"],
}
arn = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]][0]
got["v1"] = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
d = iam.get_account_authorization_details()
got["details"] = {
    "trust": d["RoleDetailList"][0]["AssumeRolePolicyDocument"],
    "role": d["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"],
    "user": d["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"],
    "group": d["GroupDetailList"][0]["GroupPolicyList"][0]["PolicyDocument"],
    "versions": sorted((v["Document"] for v in d["Policies"][0]["PolicyVersionList"]),
                       key=json.dumps),
}
expected = {
    "trust": want["trust"], "listed": [want["trust"]], "user": want["user"],
    "group": want["group"], "role": want["role"], "v1": want["v1"],
    "details": {"trust": want["trust"], "role": want["role"], "user": want["user"],
                "group": want["group"],
                "versions": sorted([want["v1"], want["v2"]], key=json.dumps)},
}
if got != expected:
    print("botocore decoded:", json.dumps(got, indent=1, ensure_ascii=False))
    print("written:", json.dumps(expected, indent=1, ensure_ascii=False))
    sys.exit(1)
print("OK: botocore decodes every policy document to the document written")
"#;

/// botocore (the official CLI's engine and boto3's) unquotes and parses the documents
/// (`json_decode_policies`): each must come back as the JSON object that was written.
fn botocore_reads_the_documents(
    server: &kagi_server::RunningServer,
    trust: &str,
    user: &str,
    group: &str,
    role: &str,
    v1: &str,
    v2: &str,
) {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        if std::env::var_os("CI").is_some() {
            panic!("KAGI_COMPAT_VENV (a venv with boto3) is required under CI");
        }
        eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test` to install boto3");
        return;
    };
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    let want = json!({"trust": parse(trust), "user": parse(user), "group": parse(group),
        "role": parse(role), "v1": parse(v1), "v2": parse(v2)});
    let mut child = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", BOTO3])
        .env("KAGI_ENDPOINT", format!("http://{}", server.addr))
        .env("KAGI_ROOT_AKID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET", ROOT_SECRET)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(want.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK:"), "{stdout}");
}
