//! Tag keys beginning with `aws:` are reserved by AWS: IAM refuses them, in any case, wherever
//! tags are set, with its InvalidInput wording, and nothing is created or tagged.

mod common;
use common::*;
use serde_json::json;

const RESERVED: &str = "Tag keys beginning with aws: are reserved for system use.";

#[test]
fn iam_refuses_reserved_tag_keys_everywhere_tags_are_set() {
    let server = start_in_memory();
    let root = Client::root(&server);
    let trust = root_trust();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    root.ok("iam", "CreateUser", json!({"UserName": "u"}));
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "r", "AssumeRolePolicyDocument": trust}),
    );
    for key in ["aws:team", "AWS:Owner", "Aws:x", "aWs:"] {
        let tags = json!([{"Key": "ok", "Value": "1"}, {"Key": key, "Value": "v"}]);
        for (action, input) in [
            ("CreateUser", json!({"UserName": "tagged", "Tags": tags})),
            ("TagUser", json!({"UserName": "u", "Tags": tags})),
            (
                "CreateRole",
                json!({"RoleName": "tagged", "AssumeRolePolicyDocument": trust, "Tags": tags}),
            ),
            ("TagRole", json!({"RoleName": "r", "Tags": tags})),
            (
                "CreatePolicy",
                json!({"PolicyName": "tagged", "PolicyDocument": policy, "Tags": tags}),
            ),
            (
                "CreateInstanceProfile",
                json!({"InstanceProfileName": "tagged", "Tags": tags}),
            ),
        ] {
            assert_eq!(
                root.err("iam", action, input),
                (400, "InvalidInput".to_string(), RESERVED.to_string()),
                "{action} with {key}"
            );
        }
    }
    // Nothing was created or tagged.
    let (status, code, _) = root.err("iam", "GetUser", json!({"UserName": "tagged"}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let (status, code, _) = root.err("iam", "GetRole", json!({"RoleName": "tagged"}));
    assert_eq!((status, code.as_str()), (404, "NoSuchEntity"));
    let tags = root.ok("iam", "ListUserTags", json!({"UserName": "u"}));
    assert_eq!(tags["Tags"], json!([]));
    // Only the prefix is reserved.
    for key in ["awsteam", "team:aws:x", "aws"] {
        root.ok(
            "iam",
            "TagUser",
            json!({"UserName": "u", "Tags": [{"Key": key, "Value": "v"}]}),
        );
    }
    let tags = root.ok("iam", "ListUserTags", json!({"UserName": "u"}));
    assert_eq!(tags["Tags"].as_array().unwrap().len(), 3, "{tags}");
    server.shutdown();
}
