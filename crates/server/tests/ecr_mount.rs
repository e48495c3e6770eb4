//! ECR through the server: SigV4-authenticated JSON 1.1 calls reach kagi-ecr, which authorises
//! through the server's Host (identity policies + repository policy).

mod common;
use common::*;
use serde_json::json;

#[test]
fn ecr_api_is_authenticated_and_authorised() {
    let server = start_in_memory();
    let root = Client::root(&server);
    root.ecr("CreateRepository", json!({"repositoryName": "test-repos"}))
        .unwrap();
    root.ecr("CreateRepository", json!({"repositoryName": "other-repos"}))
        .unwrap();
    let user = user_with_key(&root, "pusher");
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["ecr:DescribeRepositories"],"Resource":"arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/test-repos"}},{{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}}]}}"#
    );
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "pusher", "PolicyName": "ecr", "PolicyDocument": doc}),
    );
    let t = user.ecr("GetAuthorizationToken", json!({})).unwrap();
    assert!(
        t["authorizationData"][0]["authorizationToken"]
            .as_str()
            .is_some()
    );
    let d = user
        .ecr(
            "DescribeRepositories",
            json!({"repositoryNames": ["test-repos"]}),
        )
        .unwrap();
    assert_eq!(d["repositories"][0]["repositoryName"], "test-repos");
    let (status, code, msg) = user
        .ecr(
            "DescribeRepositories",
            json!({"repositoryNames": ["other-repos"]}),
        )
        .unwrap_err();
    assert_eq!((status, code.as_str()), (400, "AccessDeniedException"));
    assert!(msg.contains("is not authorized to perform: ecr:DescribeRepositories on resource: arn:aws:ecr:ap-northeast-1:123456789012:repository/other-repos"), "{msg}");
    // Bad credentials get JSON-protocol codes.
    let ghost = Client::new(server.addr, "AKIAAAAAAAAAAAAAAAAA", ROOT_SECRET, None);
    let (_, code, _) = ghost.ecr("DescribeRepositories", json!({})).unwrap_err();
    assert_eq!(code, "UnrecognizedClientException");
    let wrong = Client::new(server.addr, &user.creds.access_key_id, "x", None);
    assert_eq!(
        wrong.ecr("DescribeRepositories", json!({})).unwrap_err().1,
        "InvalidSignatureException"
    );
}
