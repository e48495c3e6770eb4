//! Golden tests: response bodies written after the examples in the AWS API references (STS
//! GetCallerIdentity and AssumeRole, IAM CreateUser and ListUsers, ECR DescribeRepositories, an
//! IAM ErrorResponse). Each one must decode to the Value the AWS CLI prints (member order
//! included), and our encoder must produce the same document (element order aside: the docs do
//! not always list members in model order).

use kagi_api::xml::{self, Element};
use kagi_api::{ApiError, json11, service};
use serde_json::{Value, json};

const GET_CALLER_IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>
    <UserId>AKIAI44QH8DHBEXAMPLE</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>"#;

const ASSUME_ROLE: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleResult>
  <SourceIdentity>DevUser123</SourceIdentity>
  <AssumedRoleUser>
    <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
    <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
  </AssumedRoleUser>
  <Credentials>
    <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
    <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
    <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==</SessionToken>
    <Expiration>2019-11-09T13:34:41Z</Expiration>
  </Credentials>
  <PackedPolicySize>6</PackedPolicySize>
</AssumeRoleResult>
<ResponseMetadata>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ResponseMetadata>
</AssumeRoleResponse>"#;

const CREATE_USER: &str = r#"<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <CreateUserResult>
    <User>
      <Path>/division_abc/subdivision_xyz/</Path>
      <UserName>Bob</UserName>
      <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>
      <Arn>arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob</Arn>
      <CreateDate>2013-11-22T21:06:50Z</CreateDate>
    </User>
  </CreateUserResult>
  <ResponseMetadata>
    <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
  </ResponseMetadata>
</CreateUserResponse>"#;

const LIST_USERS: &str = r#"<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
   <ListUsersResult>
      <Users>
         <member>
            <UserId>AID2MAB8DPLSRHEXAMPLE</UserId>
            <Path>/division_abc/subdivision_xyz/engineering/</Path>
            <UserName>Andrew</UserName>
            <Arn>arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Andrew</Arn>
            <CreateDate>2012-09-05T19:38:48Z</CreateDate>
            <PasswordLastUsed>2014-09-08T21:47:36Z</PasswordLastUsed>
         </member>
         <member>
            <UserId>AIDIODR4TAW7CSEXAMPLE</UserId>
            <Path>/division_abc/subdivision_xyz/engineering/</Path>
            <UserName>Jackie</UserName>
            <Arn>arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Jackie</Arn>
            <CreateDate>2014-04-09T15:43:45Z</CreateDate>
            <PasswordLastUsed>2014-09-24T16:18:07Z</PasswordLastUsed>
         </member>
      </Users>
      <IsTruncated>false</IsTruncated>
   </ListUsersResult>
   <ResponseMetadata>
      <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
   </ResponseMetadata>
</ListUsersResponse>"#;

const NO_SUCH_ENTITY: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The user with name nobody cannot be found.</Message>
  </Error>
  <RequestId>4a6d4d4a-1b5e-4a0f-9a3a-EXAMPLE11111</RequestId>
</ErrorResponse>"#;

const DESCRIBE_REPOSITORIES: &str = r#"{
    "repositories": [
        {
            "registryId": "012345678910",
            "repositoryName": "ubuntu",
            "repositoryArn": "arn:aws:ecr:us-west-2:012345678910:repository/ubuntu",
            "createdAt": 1479478123.0,
            "repositoryUri": "012345678910.dkr.ecr.us-west-2.amazonaws.com/ubuntu",
            "imageTagMutability": "MUTABLE",
            "imageScanningConfiguration": {"scanOnPush": false},
            "encryptionConfiguration": {"encryptionType": "AES256"}
        },
        {
            "registryId": "012345678910",
            "repositoryName": "test",
            "repositoryArn": "arn:aws:ecr:us-west-2:012345678910:repository/test",
            "createdAt": 1479478123.512,
            "repositoryUri": "012345678910.dkr.ecr.us-west-2.amazonaws.com/test"
        }
    ]
}"#;

/// A canonical text for an element tree: whitespace-only text dropped, structure children
/// sorted by name (docs do not always use model order), list items (`member`) kept in order.
fn canon(e: &Element) -> String {
    let mut kids: Vec<String> = e.children.iter().map(canon).collect();
    if !e
        .children
        .iter()
        .any(|c| c.name == "member" || c.name == "entry")
    {
        kids.sort();
    }
    let text = if e.children.is_empty() {
        e.text.as_str()
    } else {
        ""
    };
    format!("<{}>{}{}</{}>", e.name, text, kids.concat(), e.name)
}

fn same_document(ours: &str, golden: &str) {
    let a = xml::parse_document(ours).unwrap();
    let b = xml::parse_document(golden).unwrap();
    assert_eq!(canon(&a), canon(&b), "\nours:   {ours}\ngolden: {golden}");
}

/// Decodes `golden`, compares with the AWS CLI's rendering (text, so key order counts), then
/// re-encodes and compares the documents.
fn check_query(svc: &str, op: &str, golden: &str, expected: &str, request_id: &str) {
    let svc = service(svc).unwrap();
    let op = svc.operation(op).unwrap();
    let value = xml::decode_response(svc, op, golden).unwrap();
    let expected: Value = serde_json::from_str(expected).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&value).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
    same_document(&xml::encode_response(svc, op, &value, request_id), golden);
    assert_eq!(xml::request_id(golden).as_deref(), Some(request_id));
}

#[test]
fn sts_get_caller_identity() {
    check_query(
        "sts",
        "GetCallerIdentity",
        GET_CALLER_IDENTITY,
        r#"{"UserId": "AKIAI44QH8DHBEXAMPLE", "Account": "123456789012",
            "Arn": "arn:aws:iam::123456789012:user/Alice"}"#,
        "01234567-89ab-cdef-0123-456789abcdef",
    );
}

#[test]
fn sts_assume_role() {
    let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    check_query(
        "sts",
        "AssumeRole",
        ASSUME_ROLE,
        &json!({
            "Credentials": {
                "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                "SessionToken": token,
                "Expiration": "2019-11-09T13:34:41+00:00"
            },
            "AssumedRoleUser": {
                "AssumedRoleId": "ARO123EXAMPLE123:John",
                "Arn": "arn:aws:sts::123456789012:assumed-role/demo/John"
            },
            "PackedPolicySize": 6,
            "SourceIdentity": "DevUser123"
        })
        .to_string(),
        "c6104cbe-af31-11e0-8154-cbc7ccf896c7",
    );
}

#[test]
fn iam_create_user() {
    check_query(
        "iam",
        "CreateUser",
        CREATE_USER,
        r#"{"User": {"Path": "/division_abc/subdivision_xyz/", "UserName": "Bob",
            "UserId": "AIDACKCEVSQ6C2EXAMPLE",
            "Arn": "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob",
            "CreateDate": "2013-11-22T21:06:50+00:00"}}"#,
        "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
    );
}

#[test]
fn iam_list_users() {
    check_query(
        "iam",
        "ListUsers",
        LIST_USERS,
        r#"{"Users": [
            {"Path": "/division_abc/subdivision_xyz/engineering/", "UserName": "Andrew",
             "UserId": "AID2MAB8DPLSRHEXAMPLE",
             "Arn": "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Andrew",
             "CreateDate": "2012-09-05T19:38:48+00:00", "PasswordLastUsed": "2014-09-08T21:47:36+00:00"},
            {"Path": "/division_abc/subdivision_xyz/engineering/", "UserName": "Jackie",
             "UserId": "AIDIODR4TAW7CSEXAMPLE",
             "Arn": "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Jackie",
             "CreateDate": "2014-04-09T15:43:45+00:00", "PasswordLastUsed": "2014-09-24T16:18:07+00:00"}],
            "IsTruncated": false}"#,
        "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
    );
}

#[test]
fn iam_error_response() {
    let iam = service("iam").unwrap();
    let err = xml::decode_error(NO_SUCH_ENTITY).unwrap();
    assert_eq!(
        err,
        ApiError {
            code: "NoSuchEntity".into(),
            message: "The user with name nobody cannot be found.".into(),
            status: 400,
            sender_fault: true,
        }
    );
    let ours = xml::encode_error(
        iam,
        &ApiError::no_such_entity("The user with name nobody cannot be found."),
        "4a6d4d4a-1b5e-4a0f-9a3a-EXAMPLE11111",
    );
    same_document(&ours, NO_SUCH_ENTITY);
    // A client decoding a GetUser response that is really an error gets the error.
    let op = iam.operation("GetUser").unwrap();
    assert_eq!(
        xml::decode_response(iam, op, NO_SUCH_ENTITY)
            .unwrap_err()
            .code,
        "NoSuchEntity"
    );
}

#[test]
fn ecr_describe_repositories() {
    let ecr = service("ecr").unwrap();
    let op = ecr.operation("DescribeRepositories").unwrap();
    let value = json11::decode_response(op, DESCRIBE_REPOSITORIES.as_bytes()).unwrap();
    let expected = r#"{
  "repositories": [
    {
      "repositoryArn": "arn:aws:ecr:us-west-2:012345678910:repository/ubuntu",
      "registryId": "012345678910",
      "repositoryName": "ubuntu",
      "repositoryUri": "012345678910.dkr.ecr.us-west-2.amazonaws.com/ubuntu",
      "createdAt": "2016-11-18T14:08:43+00:00",
      "imageTagMutability": "MUTABLE",
      "imageScanningConfiguration": {
        "scanOnPush": false
      },
      "encryptionConfiguration": {
        "encryptionType": "AES256"
      }
    },
    {
      "repositoryArn": "arn:aws:ecr:us-west-2:012345678910:repository/test",
      "registryId": "012345678910",
      "repositoryName": "test",
      "repositoryUri": "012345678910.dkr.ecr.us-west-2.amazonaws.com/test",
      "createdAt": "2016-11-18T14:08:43.512000+00:00"
    }
  ]
}"#;
    assert_eq!(serde_json::to_string_pretty(&value).unwrap(), expected);
    // Server side: the same data goes back out with epoch-second timestamps.
    let wire: Value = serde_json::from_slice(&json11::encode_response(op, &value)).unwrap();
    let golden: Value = serde_json::from_str(DESCRIBE_REPOSITORIES).unwrap();
    assert_eq!(wire["repositories"][0]["createdAt"], json!(1479478123));
    assert_eq!(
        wire["repositories"][1]["createdAt"],
        golden["repositories"][1]["createdAt"]
    );
    assert_eq!(
        wire["repositories"][1]["repositoryUri"],
        golden["repositories"][1]["repositoryUri"]
    );
}

#[test]
fn ecr_error() {
    let body = br#"{"__type":"RepositoryNotFoundException","message":"The repository with name 'nope' does not exist in the registry with id '012345678910'"}"#;
    let err = json11::decode_error(body).unwrap();
    assert_eq!(err.code, "RepositoryNotFoundException");
    assert!(err.message.starts_with("The repository with name 'nope'"));
}
