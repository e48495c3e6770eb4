//! IAM Identity Center seeded the way an administrator does it: signed JSON 1.1 calls to a
//! running `kagi serve`'s `sso-admin` and `identitystore` (CreateInstance, CreateUser,
//! CreatePermissionSet, PutInlinePolicyToPermissionSet, CreateAccountAssignment) and kagi's
//! `KagiIdentityCenter.SetPortalPassword`, so the server's and the CLI's sign-in tests start
//! from the same state through the public API, on any storage backend.

use serde_json::{Value, json};
use std::time::SystemTime;

/// The seeded user's name and portal password.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "Portal-Passw0rd!";
/// The seeded permission set: ECR reads and CreateRepository.
pub const PERMISSION_SET: &str = "EcrReader";
pub const ECR_READER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:DescribeRepositories","ecr:CreateRepository"],"Resource":"*"}]}"#;

/// A principal's signed JSON 1.1 client for kagi's Identity Center administration.
pub struct Admin {
    endpoint: String,
    creds: kagi_sigv4::Credentials,
    agent: ureq::Agent,
}

/// What [`seed`] made.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub instance_arn: String,
    pub identity_store_id: String,
    pub user_id: String,
    pub permission_set_arn: String,
}

impl Admin {
    /// `endpoint` is `http://127.0.0.1:PORT`.
    pub fn new(endpoint: &str, access_key_id: &str, secret_access_key: &str) -> Admin {
        Admin {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            creds: kagi_sigv4::Credentials::new(access_key_id, secret_access_key),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// One signed call: `target` is `SWBExternalService.OP`, `AWSIdentityStore.OP` or
    /// `KagiIdentityCenter.OP`. The answer's JSON on 200, `(status, JSON)` otherwise.
    pub fn call(&self, target: &str, input: &Value) -> Result<Value, (u16, Value)> {
        let signing_name = if target.starts_with("SWBExternalService.") {
            "sso"
        } else {
            "identitystore"
        };
        let body = input.to_string();
        let host = self
            .endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, h)| h)
            .to_string();
        let mut headers = vec![
            ("host".to_string(), host),
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            ("x-amz-target".to_string(), target.to_string()),
        ];
        let params = kagi_sigv4::SigningParams {
            region: "us-east-1",
            service: signing_name,
            time: SystemTime::now(),
        };
        kagi_sigv4::sign_headers(
            "POST",
            "/",
            "",
            &mut headers,
            body.as_bytes(),
            &self.creds,
            &params,
        )
        .expect("signing");
        let mut req = self.agent.post(format!("{}/", self.endpoint));
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req
            .send(body.as_bytes())
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status == 200 {
            Ok(v)
        } else {
            Err((status, v))
        }
    }

    /// [`Admin::call`] that must succeed.
    pub fn ok(&self, target: &str, input: &Value) -> Value {
        self.call(target, input)
            .unwrap_or_else(|(s, v)| panic!("{target}: HTTP {s}: {v}"))
    }
}

/// A standalone instance of the caller's account, [`USER`] with the portal password
/// [`PASSWORD`] (display name "Alice"), and the permission set [`PERMISSION_SET`]
/// ([`ECR_READER_POLICY`], two-hour sessions) assigned to her in `account`, provisioned.
/// The keys must be allowed to administer Identity Center (the root user's, in the tests).
pub fn seed(endpoint: &str, account: &str, access_key_id: &str, secret: &str) -> Seeded {
    let a = Admin::new(endpoint, access_key_id, secret);
    let instance_arn = a.ok(
        "SWBExternalService.CreateInstance",
        &json!({"Name": "kagi"}),
    )["InstanceArn"]
        .as_str()
        .expect("InstanceArn")
        .to_string();
    let instances = a.ok("SWBExternalService.ListInstances", &json!({}));
    let identity_store_id = instances["Instances"][0]["IdentityStoreId"]
        .as_str()
        .expect("IdentityStoreId")
        .to_string();
    let user_id = a.ok(
        "AWSIdentityStore.CreateUser",
        &json!({"IdentityStoreId": identity_store_id, "UserName": USER, "DisplayName": "Alice",
                "Name": {"GivenName": "Alice", "FamilyName": "Example"}}),
    )["UserId"]
        .as_str()
        .expect("UserId")
        .to_string();
    a.ok(
        "KagiIdentityCenter.SetPortalPassword",
        &json!({"IdentityStoreId": identity_store_id, "UserName": USER, "Password": PASSWORD}),
    );
    let permission_set_arn = a.ok(
        "SWBExternalService.CreatePermissionSet",
        &json!({"InstanceArn": instance_arn, "Name": PERMISSION_SET, "SessionDuration": "PT2H"}),
    )["PermissionSet"]["PermissionSetArn"]
        .as_str()
        .expect("PermissionSetArn")
        .to_string();
    a.ok(
        "SWBExternalService.PutInlinePolicyToPermissionSet",
        &json!({"InstanceArn": instance_arn, "PermissionSetArn": permission_set_arn,
                "InlinePolicy": ECR_READER_POLICY}),
    );
    let status = a.ok(
        "SWBExternalService.CreateAccountAssignment",
        &json!({"InstanceArn": instance_arn, "TargetId": account, "TargetType": "AWS_ACCOUNT",
                "PermissionSetArn": permission_set_arn, "PrincipalType": "USER",
                "PrincipalId": user_id}),
    );
    assert_eq!(
        status["AccountAssignmentCreationStatus"]["Status"], "SUCCEEDED",
        "{status}"
    );
    Seeded {
        instance_arn,
        identity_store_id,
        user_id,
        permission_set_arn,
    }
}
