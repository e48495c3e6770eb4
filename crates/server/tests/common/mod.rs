//! Test client: signs real SigV4 requests with kagi-sigv4 and speaks the query protocol through
//! kagi-api, over HTTP to a server started with `kagi_server::start_background`.
#![allow(dead_code)]

use kagi_api::ApiError;
use kagi_sigv4::{Credentials, SigningParams};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::SystemTime;

pub const ACCOUNT: &str = "123456789012";
pub const ROOT_AKID: &str = "AKIAKAGITESTROOTKEY2";
pub const ROOT_SECRET: &str = "kagi/test/root/secret/key/0123456789abcd";

pub fn start_in_memory() -> kagi_server::RunningServer {
    start_with_dir(None)
}

/// The database of a test server: with `KAGI_TEST_BACKEND=postgres` (scripts/test runs the
/// server's suite once so), a fresh PostgreSQL database per server, or the one a data
/// directory used before (restarts keep their state); otherwise none (SQLite).
pub fn test_database(dir: Option<&std::path::Path>) -> Option<String> {
    if std::env::var("KAGI_TEST_BACKEND").ok().as_deref() != Some("postgres") {
        return None;
    }
    let pg = kagi_testkit::postgres::shared()
        .expect("KAGI_TEST_BACKEND=postgres needs PostgreSQL (apt-get install postgresql)");
    let Some(dir) = dir else {
        return Some(pg.new_database());
    };
    let remembered = dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let url = pg.new_database();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&remembered, &url).unwrap();
    Some(url)
}

/// The store a test server with data directory `dir` uses (its PostgreSQL database when it
/// has one, else `DIR/kagi.db`), opened beside the server.
pub fn backend_of(dir: &std::path::Path) -> std::sync::Arc<dyn kagi_server::store::Kv> {
    match std::fs::read_to_string(dir.join("test-database-url")) {
        Ok(url) => std::sync::Arc::new(kagi_server::store::postgres::PgStore::open(&url).unwrap()),
        Err(_) => std::sync::Arc::new(
            kagi_server::store::sqlite::SqliteStore::open(&dir.join("kagi.db")).unwrap(),
        ),
    }
}

/// Whether a test server with data directory `dir` keeps its state in PostgreSQL.
pub fn on_postgres(dir: &std::path::Path) -> bool {
    dir.join("test-database-url").exists()
}

/// The key a test server with data directory `dir` seals tokens with.
pub fn sealer_of(dir: &std::path::Path) -> kagi_server::crypto::Sealer {
    if on_postgres(dir) {
        kagi_server::crypto::Sealer::shared(&backend_of(dir)).unwrap()
    } else {
        kagi_server::crypto::Sealer::open_key_file(&dir.join("kagi.key")).unwrap()
    }
}

/// The blob store of a test server: with `KAGI_TEST_BACKEND=postgres`, a fresh bucket of an
/// S3-compatible server (moto's, one per test process) per server, or the one a data directory
/// used before; otherwise none (files). Returns (`s3://BUCKET`, endpoint).
pub fn test_blob_store(dir: Option<&std::path::Path>) -> Option<(String, String)> {
    if std::env::var("KAGI_TEST_BACKEND").ok().as_deref() != Some("postgres") {
        return None;
    }
    let s3 = kagi_testkit::s3::shared()
        .expect("KAGI_TEST_BACKEND=postgres needs KAGI_COMPAT_VENV (moto's S3 server)");
    let remembered = dir.map(|d| d.join("test-blob-store"));
    if let Some(Ok(bucket)) = remembered.as_ref().map(std::fs::read_to_string) {
        return Some((format!("s3://{bucket}"), s3.endpoint.clone()));
    }
    let bucket = s3.new_bucket();
    if let (Some(r), Some(d)) = (&remembered, dir) {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(r, &bucket).unwrap();
    }
    Some((format!("s3://{bucket}"), s3.endpoint.clone()))
}

pub fn start_with_dir(dir: Option<std::path::PathBuf>) -> kagi_server::RunningServer {
    start_configured(dir, |_| {})
}

/// [`start_with_dir`], with `edit` changing the configuration (a setting `kagi serve` reads
/// from its flags or environment) before the server starts.
pub fn start_configured(
    dir: Option<std::path::PathBuf>,
    edit: impl FnOnce(&mut kagi_server::ServerConfig),
) -> kagi_server::RunningServer {
    let blobs = test_blob_store(dir.as_deref());
    let mut config = kagi_server::ServerConfig {
        blob_store: blobs.as_ref().map(|(url, _)| url.clone()),
        s3_endpoint: blobs.map(|(_, endpoint)| endpoint),
        s3_credentials: Some(("testing".into(), "testing".into())),
        database_url: test_database(dir.as_deref()),
        data_dir: dir,
        account_id: Some(ACCOUNT.into()),
        root_access_key_id: Some(ROOT_AKID.into()),
        root_secret_access_key: Some(ROOT_SECRET.into()),
        ..kagi_server::ServerConfig::in_memory()
    };
    edit(&mut config);
    kagi_server::start_background(config).expect("server starts")
}

#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub creds: Credentials,
    pub region: String,
    agent: ureq::Agent,
}

pub struct Raw {
    pub status: u16,
    pub body: String,
}

impl Client {
    pub fn new(addr: SocketAddr, akid: &str, secret: &str, token: Option<&str>) -> Client {
        let mut creds = Credentials::new(akid, secret);
        if let Some(t) = token {
            creds = creds.with_session_token(t);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            addr,
            creds,
            region: "us-east-1".into(),
            agent,
        }
    }

    pub fn root(server: &kagi_server::RunningServer) -> Client {
        Client::new(
            server.addr,
            &server.root_access_key_id,
            server.root_secret_access_key(),
            None,
        )
    }

    /// Client for credentials returned in a `Credentials` structure (AssumeRole/GetSessionToken).
    pub fn from_credentials(addr: SocketAddr, c: &Value) -> Client {
        Client::new(
            addr,
            c["AccessKeyId"].as_str().unwrap(),
            c["SecretAccessKey"].as_str().unwrap(),
            c["SessionToken"].as_str(),
        )
    }

    pub fn from_access_key(addr: SocketAddr, k: &Value) -> Client {
        Client::new(
            addr,
            k["AccessKeyId"].as_str().unwrap(),
            k["SecretAccessKey"].as_str().unwrap(),
            None,
        )
    }

    /// Sends a signed POST with `body` for `service`, signed at `time`.
    pub fn send(&self, service: &str, body: &str, time: SystemTime) -> Raw {
        let host = self.addr.to_string();
        let mut headers = vec![
            ("host".to_string(), host.clone()),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
        ];
        kagi_sigv4::sign_headers(
            "POST",
            "/",
            "",
            &mut headers,
            body.as_bytes(),
            &self.creds,
            &SigningParams {
                region: &self.region,
                service,
                time,
            },
        )
        .unwrap();
        self.post_raw(&headers, body)
    }

    pub fn post_raw(&self, headers: &[(String, String)], body: &str) -> Raw {
        let mut req = self.agent.post(format!("http://{}/", self.addr));
        for (k, v) in headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let mut resp = req.send(body.as_bytes()).expect("http round trip");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Raw { status, body }
    }

    pub fn call(
        &self,
        service: &str,
        action: &str,
        input: Value,
    ) -> Result<Value, (u16, ApiError)> {
        let svc = kagi_api::service(service).unwrap();
        let op = svc
            .operation(action)
            .unwrap_or_else(|| panic!("{service}:{action} is modelled"));
        let body = kagi_api::query::encode(op, svc, &input);
        decoded(
            svc,
            op,
            self.send(svc.signing_name, &body, SystemTime::now()),
        )
    }

    /// Sends `action` unsigned (no Authorization header), as clients send
    /// AssumeRoleWithWebIdentity.
    pub fn call_unsigned(
        &self,
        service: &str,
        action: &str,
        input: Value,
    ) -> Result<Value, (u16, ApiError)> {
        let svc = kagi_api::service(service).unwrap();
        let op = svc.operation(action).unwrap();
        let body = kagi_api::query::encode(op, svc, &input);
        let headers = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        decoded(svc, op, self.post_raw(&headers, &body))
    }

    pub fn iam(&self, action: &str, input: Value) -> Result<Value, (u16, ApiError)> {
        self.call("iam", action, input)
    }

    pub fn sts(&self, action: &str, input: Value) -> Result<Value, (u16, ApiError)> {
        self.call("sts", action, input)
    }

    pub fn ok(&self, service: &str, action: &str, input: Value) -> Value {
        self.call(service, action, input)
            .unwrap_or_else(|(s, e)| panic!("{service}:{action} failed: {s} {e}"))
    }

    /// Expects an error; returns (status, code, message).
    pub fn err(&self, service: &str, action: &str, input: Value) -> (u16, String, String) {
        match self.call(service, action, input) {
            Ok(v) => panic!("{service}:{action} unexpectedly succeeded: {v}"),
            Err((s, e)) => (s, e.code, e.message),
        }
    }

    pub fn whoami(&self) -> String {
        self.ok("sts", "GetCallerIdentity", json!({}))["Arn"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A query-protocol response: the output, or (status, error).
fn decoded(
    svc: &'static kagi_api::model::Service,
    op: &'static kagi_api::model::Operation,
    raw: Raw,
) -> Result<Value, (u16, ApiError)> {
    if raw.status == 200 {
        Ok(kagi_api::xml::decode_response(svc, op, &raw.body)
            .unwrap_or_else(|e| panic!("{e}: {}", raw.body)))
    } else {
        let e = kagi_api::xml::decode_error(&raw.body)
            .unwrap_or_else(|| panic!("no ErrorResponse: {}", raw.body));
        Err((raw.status, e))
    }
}

pub fn switch_role_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole"}}]}}"#
    )
}

pub fn root_trust() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole","Condition":{{}}}}]}}"#
    )
}

/// Creates a user with one access key; returns a client for it.
pub fn user_with_key(root: &Client, name: &str) -> Client {
    root.ok("iam", "CreateUser", json!({"UserName": name}));
    let k = root.ok("iam", "CreateAccessKey", json!({"UserName": name}));
    Client::from_access_key(root.addr, &k["AccessKey"])
}

impl Client {
    /// A signed ECR (JSON 1.1) call; Ok(output) or Err((status, __type, message)).
    pub fn ecr(&self, action: &str, input: Value) -> Result<Value, (u16, String, String)> {
        self.json("ecr", action, input)
    }

    /// A JSON 1.1 call (ECR, Organizations, Identity Center) signed for `service`.
    pub fn json(
        &self,
        service: &str,
        action: &str,
        input: Value,
    ) -> Result<Value, (u16, String, String)> {
        let svc = kagi_api::service(service).unwrap();
        let op = svc.operation(action).unwrap();
        let (target, body) = kagi_api::json11::encode_request(svc, op, &input);
        let mut headers = vec![
            ("host".to_string(), self.addr.to_string()),
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            ("x-amz-target".to_string(), target),
        ];
        let params = SigningParams {
            region: "ap-northeast-1",
            // The model's signing name (`sso` for sso-admin).
            service: svc.signing_name,
            time: SystemTime::now(),
        };
        kagi_sigv4::sign_headers("POST", "/", "", &mut headers, &body, &self.creds, &params)
            .unwrap();
        let body = String::from_utf8(body).unwrap();
        let raw = self.post_raw(&headers, &body);
        if raw.status == 200 {
            Ok(kagi_api::json11::decode_response(op, raw.body.as_bytes()).unwrap())
        } else {
            let e = kagi_api::json11::decode_error(raw.body.as_bytes())
                .unwrap_or_else(|| panic!("{}", raw.body));
            Err((raw.status, e.code, e.message))
        }
    }
}

/// The venv with the official clients (`KAGI_COMPAT_VENV`, set by scripts/test); `None` (and a
/// SKIPPED line) without one, except under CI (`CI` set), where it is required.
pub fn compat_venv() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("KAGI_COMPAT_VENV").map(std::path::PathBuf::from);
    if venv.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "KAGI_COMPAT_VENV (a venv with awscli and boto3) is required under CI"
        );
        eprintln!("SKIPPED: KAGI_COMPAT_VENV is not set; run `bash scripts/test`");
    }
    venv
}

/// Runs `tests/compat/SCRIPT` with the venv's Python against `server` (its endpoint, account
/// and root keys in `KAGI_*`, plus `extra`), prints its output and fails the test unless it
/// exits 0 and says `OK:`.
pub fn run_compat_script(
    venv: &std::path::Path,
    script: &str,
    server: &kagi_server::RunningServer,
    extra: &[(&str, &std::ffi::OsStr)],
) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/compat")
        .join(script);
    let mut cmd = std::process::Command::new(venv.join("bin/python"));
    cmd.arg(&path)
        .env("KAGI_ENDPOINT", format!("http://{}", server.addr))
        .env("KAGI_ACCOUNT", ACCOUNT)
        .env("KAGI_ROOT_AKID", ROOT_AKID)
        .env("KAGI_ROOT_SECRET", ROOT_SECRET);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("OK:"), "{stdout}");
}
