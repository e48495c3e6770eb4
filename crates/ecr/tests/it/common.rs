use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kagi_ecr::{Caller, Ecr, Host};
use kagi_policy::{
    CompiledPolicy, Context, Decision, Policies, PolicyMeta, PolicyType, PrincipalInfo, Request,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub const ACCT: &str = "123456789012";
pub const REGION: &str = "ap-northeast-1";
pub const ROOT: &str = "AKIAROOTROOTROOTROOT";
pub const PUSHER: &str = "ASIAPUSHPUSHPUSHPUSH";
pub const USER: &str = "AKIAUSERUSERUSERUSER";
pub const READER: &str = "AKIAREADREADREADREAD";

/// The seed's push policy (walkthrough step 5).
pub fn push_policy() -> String {
    json!({"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","ecr:CompleteLayerUpload","ecr:UploadLayerPart",
            "ecr:InitiateLayerUpload","ecr:BatchCheckLayerAvailability","ecr:PutImage"],
         "Resource":format!("arn:aws:ecr:{REGION}:{ACCT}:repository/test-repos")},
        {"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]})
    .to_string()
}

struct Principal {
    caller: Caller,
    policies: Vec<String>,
    expiry: Option<SystemTime>,
}

/// A host that evaluates identity policies (and the repository policy) with kagi-policy.
#[derive(Default)]
pub struct TestHost {
    principals: Mutex<HashMap<String, Principal>>,
}

impl TestHost {
    pub fn add(&self, akid: &str, arn: &str, policies: &[String]) {
        self.principals.lock().unwrap().insert(
            akid.to_string(),
            Principal {
                caller: Caller {
                    access_key_id: akid.into(),
                    arn: arn.into(),
                    account_id: ACCT.into(),
                    notes: Default::default(),
                },
                policies: policies.to_vec(),
                expiry: None,
            },
        );
    }
    pub fn remove(&self, akid: &str) {
        self.principals.lock().unwrap().remove(akid);
    }
    pub fn set_expiry(&self, akid: &str, t: SystemTime) {
        self.principals
            .lock()
            .unwrap()
            .get_mut(akid)
            .unwrap()
            .expiry = Some(t);
    }
}

impl Host for TestHost {
    fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource_arn: &str,
        resource_policy: Option<&str>,
    ) -> Result<(), String> {
        let ps = self.principals.lock().unwrap();
        let p = ps.get(&caller.access_key_id).ok_or("unknown principal")?;
        let identity: Vec<CompiledPolicy> = p
            .policies
            .iter()
            .map(|t| {
                CompiledPolicy::from_text(t, PolicyType::Identity, PolicyMeta::named("test"))
                    .unwrap()
            })
            .collect();
        let id_refs: Vec<&CompiledPolicy> = identity.iter().collect();
        let resource = resource_policy.map(|t| {
            CompiledPolicy::from_text(t, PolicyType::Resource, PolicyMeta::named("repo")).unwrap()
        });
        let principal = PrincipalInfo::from_arn(&caller.arn).unwrap();
        let ctx = Context::new();
        let req = Request {
            principal: &principal,
            action,
            resource: resource_arn,
            context: &ctx,
        };
        let policies = Policies {
            identity: &id_refs,
            resource: resource.as_ref(),
            ..Default::default()
        };
        let ev = kagi_policy::evaluate(&req, &policies);
        if ev.decision == Decision::Allowed {
            Ok(())
        } else {
            Err(ev
                .access_denied_message(&caller.arn, action, resource_arn)
                .unwrap_or_else(|| format!("User: {} is not authorized to perform: {action} on resource: {resource_arn}", caller.arn)))
        }
    }
    fn caller_for_key(&self, access_key_id: &str) -> Option<Caller> {
        let ps = self.principals.lock().unwrap();
        let p = ps.get(access_key_id)?;
        if p.expiry.is_some_and(|e| e <= SystemTime::now()) {
            return None;
        }
        Some(p.caller.clone())
    }
    fn session_expiry(&self, caller: &Caller) -> Option<SystemTime> {
        self.principals
            .lock()
            .unwrap()
            .get(&caller.access_key_id)
            .and_then(|p| p.expiry)
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub ecr: Arc<Ecr>,
    pub host: Arc<TestHost>,
    /// The data directory.
    pub data: std::path::PathBuf,
    pub dir: Option<tempfile::TempDir>,
    pub agent: ureq::Agent,
    _rt: tokio::runtime::Runtime,
}

async fn api_route(
    State((ecr, host)): State<(Arc<Ecr>, Arc<TestHost>)>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let caller = host
        .caller_for_key(&h("x-test-akid"))
        .expect("known test principal");
    ecr.handle_api(&caller, &h("x-test-region"), &h("x-amz-target"), body)
        .await
}

impl TestServer {
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let mut s = TestServer::start_in(&path);
        s.dir = Some(dir);
        s
    }

    /// A server over an existing data directory (not removed afterwards).
    pub fn start_in(data: &std::path::Path) -> TestServer {
        let host = Arc::new(TestHost::default());
        host.add(ROOT, &format!("arn:aws:iam::{ACCT}:root"), &[]);
        host.add(
            PUSHER,
            &format!("arn:aws:sts::{ACCT}:assumed-role/ECRLoginAndPushRole/botocore-session-1"),
            &[push_policy()],
        );
        host.add(
            USER,
            &format!("arn:aws:iam::{ACCT}:user/user-for-switch"),
            &[json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",
                "Resource":format!("arn:aws:iam::{ACCT}:role/ECRLoginAndPushRole")}]})
            .to_string()],
        );
        host.add(
            READER,
            &format!("arn:aws:iam::{ACCT}:user/reader"),
            &[json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability","ecr:GetAuthorizationToken","ecr:ListImages","ecr:DescribeImages","ecr:DescribeRepositories"],"Resource":"*"}]})
            .to_string()],
        );
        let ecr = Ecr::open(Some(data), ACCT, host.clone()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        ecr.set_registry_endpoint(addr.to_string());
        let app = Router::new()
            .route(
                "/",
                post(api_route).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
            )
            .with_state((ecr.clone(), host.clone()))
            .merge(ecr.registry_router());
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        TestServer {
            addr,
            ecr,
            host,
            data: data.to_path_buf(),
            dir: None,
            agent,
            _rt: rt,
        }
    }

    /// Calls an ECR operation as `akid`; returns (status, JSON body).
    pub fn api(&self, akid: &str, op: &str, input: Value) -> (u16, Value) {
        let mut r = self
            .agent
            .post(format!("http://{}/", self.addr))
            .header("x-test-akid", akid)
            .header("x-test-region", REGION)
            .header(
                "x-amz-target",
                &format!("AmazonEC2ContainerRegistry_V20150921.{op}"),
            )
            .header("content-type", "application/x-amz-json-1.1")
            .send(input.to_string())
            .unwrap();
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_vec().unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Calls an operation that must succeed.
    pub fn ok(&self, akid: &str, op: &str, input: Value) -> Value {
        let (s, v) = self.api(akid, op, input);
        assert_eq!(s, 200, "{op}: {v}");
        v
    }

    /// Calls an operation that must fail with `code`; returns the message.
    pub fn fails(&self, akid: &str, op: &str, input: Value, code: &str) -> String {
        let (s, v) = self.api(akid, op, input);
        assert_eq!((s, v["__type"].as_str()), (400, Some(code)), "{op}: {v}");
        v["message"].as_str().unwrap().to_string()
    }

    pub fn create_repo(&self, name: &str) {
        self.ok(ROOT, "CreateRepository", json!({ "repositoryName": name }));
    }

    /// The registry password from GetAuthorizationToken.
    pub fn password(&self, akid: &str) -> String {
        let v = self.ok(akid, "GetAuthorizationToken", json!({}));
        let tok = v["authorizationData"][0]["authorizationToken"]
            .as_str()
            .unwrap();
        let raw = String::from_utf8(STANDARD.decode(tok).unwrap()).unwrap();
        raw.strip_prefix("AWS:").unwrap().to_string()
    }

    pub fn basic(&self, akid: &str) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("AWS:{}", self.password(akid)))
        )
    }

    pub fn client(&self, akid: &str) -> kagi_ecr::client::RegistryClient {
        kagi_ecr::client::RegistryClient::new(&self.addr.to_string(), "AWS", &self.password(akid))
    }

    /// A raw registry request. Returns (status, headers, body).
    pub fn reg(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let url = format!("http://{}{path}", self.addr);
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut r = self
            .agent
            .run(b.body(body.to_vec()).unwrap())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let hs = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = r
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap_or_default();
        Resp {
            status,
            headers: hs,
            body,
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    /// The first OCI error code.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code.to_string()),
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }
}
