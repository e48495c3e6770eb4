//! kagi-ecr: Amazon ECR as kagi serves it — the JSON 1.1 API, the OCI/Docker registry v2 that
//! ECR is, and the storage both share.
//!
//! # Where things live
//! * [`Ecr`] (this file) ties it together: [`Ecr::open`] opens the storage and the registry
//!   token key; [`Ecr::handle_api`] serves one already-authenticated ECR API call (the server
//!   verified SigV4); [`Ecr::registry_router`] is the axum router for `/v2/…`, which
//!   authenticates its own Basic `AWS:<password>` tokens.
//! * [`api`]: the ECR operations, decoded and encoded through `kagi_api::json11` with the `ecr`
//!   model so that client and server share one description of the wire.
//! * [`registry`]: the OCI distribution endpoints, each mapped to the ECR action AWS authorises
//!   it as (see the table in that module).
//! * [`store`]: ECR's rows in `kagi-store` (the server's store, in the account's scope) and
//!   the blob bytes behind [`blobs::BlobStore`]; the invariants of durable, verified, atomically
//!   visible blobs, and of commits beside garbage collection on other nodes, are documented
//!   there. [`blobs`]: the object store seam and its file implementation.
//! * [`lifecycle`]: lifecycle policies — the document's validation (`PutLifecyclePolicy`'s
//!   `InvalidParameterException`s), the evaluator (a pure function of rules, images and time,
//!   following AWS's documented semantics) and its application, which deletes expired images as
//!   `BatchDeleteImage` does. A policy is applied when it is put and then every
//!   [`lifecycle::APPLY_PERIOD`] (10 minutes; AWS says "within 24 hours") by the task
//!   [`Ecr::registry_router`] starts; [`Ecr::apply_lifecycle_policies`] runs one round. Policies,
//!   `lastEvaluatedAt` and the last preview live in the store with their repository.
//! * [`manifest`]: manifest media types and the references a manifest must have.
//! * [`token`]: registry passwords and download tokens (HMAC-SHA256 with a 0600 key file).
//! * [`client`]: a small blocking registry client and a deterministic image generator, used by
//!   `kagi demo`, the tests and the benchmark.
//! * `examples/standalone.rs`: the registry served alone (allow-all host) and a large-image
//!   layout generator; `bench/run.sh` pushes and pulls 1 GiB with skopeo against it and against
//!   Debian's `docker-registry`, and reports kagi's peak RSS.
//! * `tests/it/`: HTTP integration tests (a test host evaluating IAM policies with
//!   kagi-policy; `lifecycle.rs` for lifecycle policies) and a skopeo round trip.
//!
//! # Authorisation
//! Every API call and every registry request (except the `GET /v2/` challenge) is authorised
//! through [`Host::authorize`] with the caller, the `ecr:<Action>`, the repository ARN and the
//! repository policy. The server implements [`Host`] with kagi-policy. Authorisation happens
//! before the repository is looked up, so a denied caller learns nothing about existence.
//! A registry password names only an access key id, a region and an expiry; each request
//! re-resolves the caller through [`Host::caller_for_key`], so a deleted key or an expired
//! session stops working at once.

pub mod api;
pub mod blobs;
pub mod client;
pub mod error;
mod legacy;
pub mod lifecycle;
pub mod manifest;
pub mod registry;
pub mod store;
pub mod token;
pub mod util;

use anyhow::Context as _;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// The principal of a request, as the server resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    /// `arn:aws:iam::ACCT:user/x`, `arn:aws:sts::ACCT:assumed-role/R/s` or `arn:aws:iam::ACCT:root`.
    pub arn: String,
    pub account_id: String,
    /// The host's notes on its decisions for this request (explanations for the event
    /// history); kagi-ecr only carries them back to the host ([`Host::record_registry`]).
    pub notes: Notes,
}

/// See [`Caller::notes`]. Equal whatever they hold: they are not part of who calls.
#[derive(Clone, Default)]
pub struct Notes(Arc<std::sync::Mutex<Vec<Arc<kagi_policy::Explained>>>>);

impl Notes {
    pub fn push(&self, v: Arc<kagi_policy::Explained>) {
        if let Ok(mut n) = self.0.lock()
            && n.len() < 16
        {
            n.push(v);
        }
    }

    /// What the notes hold now, leaving them.
    pub fn snapshot(&self) -> Vec<Arc<kagi_policy::Explained>> {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub fn take(&self) -> Vec<Arc<kagi_policy::Explained>> {
        self.0
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Notes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notes")
    }
}

impl PartialEq for Notes {
    fn eq(&self, _: &Notes) -> bool {
        true
    }
}

impl Eq for Notes {}

/// A registry (data plane) request that reached authorisation, for the host's event
/// history: named by the ECR action it was authorised as (`InitiateLayerUpload`,
/// `UploadLayerPart`, `CompleteLayerUpload`, `PutImage`, `BatchCheckLayerAvailability`,
/// `BatchGetImage`, `GetDownloadUrlForLayer`, ...), as AWS records registry calls.
#[derive(Debug, Clone)]
pub struct RegistryEvent {
    pub caller: Caller,
    pub action: String,
    pub region: String,
    /// The account whose registry was called.
    pub registry_id: String,
    pub repository: String,
    /// `imageTag`, `imageDigest`, `layerDigest`, `uploadId` as the route named them.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// `(code, message)` when the request failed (denied or otherwise).
    pub error: Option<(String, String)>,
    pub user_agent: String,
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether the request changes anything (its answer then waits for the event).
    pub write: bool,
}

/// What [`Host::record_registry`] returns: resolves once the event is recorded (for writes,
/// durably); `Err` when it could not be.
pub type Recorded = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// What kagi-ecr needs from the server.
pub trait Host: Send + Sync + 'static {
    /// Authorises `action` (e.g. "ecr:PutImage") on `resource_arn` for the caller, with the
    /// repository policy if any. `Err` carries AWS's AccessDenied message.
    fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource_arn: &str,
        resource_policy: Option<&str>,
    ) -> Result<(), String>;
    /// Re-resolves a caller from an access key id (registry tokens): `None` when the key is
    /// deleted/inactive or its session expired.
    fn caller_for_key(&self, access_key_id: &str) -> Option<Caller>;
    /// When the caller's credentials expire (temporary credentials); registry tokens never
    /// outlive it. The default says "no expiry".
    fn session_expiry(&self, _caller: &Caller) -> Option<SystemTime> {
        None
    }
    /// Records a registry request in the host's event history. The default records nothing.
    fn record_registry(&self, _event: RegistryEvent) -> Recorded {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// ECR for one account.
/// Where ECR keeps its data (see [`Ecr::with_storage`]).
pub struct Storage {
    /// The rows (`kagi-store`; ECR's tables in the account's scope).
    pub kv: Arc<dyn kagi_store::Kv>,
    /// Blob and upload bytes.
    pub blobs: Arc<dyn blobs::BlobStore>,
    /// The key of registry passwords and download tokens (the same on every node).
    pub token_key: token::TokenKey,
    /// A directory that may hold an earlier version's `ecr.sqlite` to import.
    pub legacy_dir: Option<std::path::PathBuf>,
}

pub struct Ecr {
    pub(crate) store: Arc<store::Store>,
    kv: Arc<dyn kagi_store::Kv>,
    /// This process's name in [`kagi_store::jobs`] records.
    node: String,
    pub(crate) account_id: String,
    pub(crate) host: Arc<dyn Host>,
    pub(crate) key: token::TokenKey,
    endpoint: RwLock<Option<(String, String)>>,
    gc_started: std::sync::atomic::AtomicBool,
    _tmp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Ecr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ecr")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl Ecr {
    /// Opens ECR on its own (the crate's tests, `examples/standalone.rs`): rows in
    /// `data_dir/ecr.db` (SQLite), blobs under `data_dir/blobs`, the registry token key in
    /// `data_dir/registry-token.key`; `None` = a temporary directory removed when the `Ecr` is
    /// dropped. See [`Ecr::with_storage`].
    pub fn open(
        data_dir: Option<&Path>,
        account_id: &str,
        host: Arc<dyn Host>,
    ) -> anyhow::Result<Arc<Ecr>> {
        let (tmp, dir) = match data_dir {
            Some(d) => (None, d.to_path_buf()),
            None => {
                let t = tempfile::Builder::new().prefix("kagi-ecr-").tempdir()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        std::fs::create_dir_all(&dir)?;
        let storage = Storage {
            kv: Arc::new(kagi_store::sqlite::SqliteStore::open(&dir.join("ecr.db"))?),
            blobs: Arc::new(blobs::FileBlobs::open(&dir.join("blobs"))?),
            token_key: token::TokenKey::load_or_create(&dir.join("registry-token.key"))?,
            legacy_dir: Some(dir),
        };
        let ecr = Self::build(storage, account_id, host, tmp)?;
        Ok(ecr)
    }

    /// Opens ECR for `account_id` on `storage` (the server's store and blob store). An earlier
    /// version's `ecr.sqlite` in `storage.legacy_dir` is imported first; abandoned uploads
    /// older than [`store::DEFAULT_UPLOAD_MAX_AGE`] are collected.
    pub fn with_storage(
        storage: Storage,
        account_id: &str,
        host: Arc<dyn Host>,
    ) -> anyhow::Result<Arc<Ecr>> {
        Self::build(storage, account_id, host, None)
    }

    /// Keeps `tmp` (a temporary directory the storage lives in) until the `Ecr` is dropped.
    pub fn with_storage_in(
        storage: Storage,
        account_id: &str,
        host: Arc<dyn Host>,
        tmp: tempfile::TempDir,
    ) -> anyhow::Result<Arc<Ecr>> {
        Self::build(storage, account_id, host, Some(tmp))
    }

    fn build(
        storage: Storage,
        account_id: &str,
        host: Arc<dyn Host>,
        tmp: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Arc<Ecr>> {
        let store = store::Store::new(storage.kv.clone(), account_id, storage.blobs);
        if let Some(dir) = &storage.legacy_dir {
            store
                .import_legacy(dir)
                .with_context(|| format!("importing {}", dir.join("ecr.sqlite").display()))?;
        }
        store
            .gc(store::DEFAULT_UPLOAD_MAX_AGE)
            .map_err(|e| anyhow::anyhow!("ecr garbage collection: {e}"))?;
        Ok(Arc::new(Ecr {
            store: Arc::new(store),
            kv: storage.kv,
            account_id: account_id.to_string(),
            host,
            key: storage.token_key,
            endpoint: RwLock::new(None),
            gc_started: Default::default(),
            node: blobs::nonce(),
            _tmp: tmp,
        }))
    }

    /// `kagi serve --check`: verifies ECR's rows of `account_id` and the objects they name
    /// (see [`store::Store::check`]) without changing anything; the damage found, one
    /// sentence each.
    pub fn check(
        kv: Arc<dyn kagi_store::Kv>,
        account_id: &str,
        blobs: Arc<dyn blobs::BlobStore>,
    ) -> anyhow::Result<Vec<String>> {
        store::Store::new(kv, account_id, blobs).check()
    }

    /// The registry's `host:port`, used in `repositoryUri`, `proxyEndpoint` and download URLs
    /// (reached over http).
    pub fn set_registry_endpoint(&self, host_port: String) {
        self.set_public_endpoint("http", host_port);
    }

    /// The registry's address as clients reach it (a load balancer's): `scheme` is `http` or
    /// `https` (`proxyEndpoint`'s), `host_port` what `repositoryUri` starts with.
    pub fn set_public_endpoint(&self, scheme: &str, host_port: String) {
        *self.endpoint.write().unwrap_or_else(|e| e.into_inner()) =
            Some((scheme.to_owned(), host_port));
    }

    pub(crate) fn endpoint(&self, region: &str) -> String {
        self.endpoint
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| format!("{}.dkr.ecr.{region}.amazonaws.com", self.account_id))
    }

    /// `proxyEndpoint`: the registry's URL (`https://ACCOUNT.dkr.ecr.REGION.amazonaws.com` unless
    /// set).
    pub(crate) fn proxy_endpoint(&self, region: &str) -> String {
        let scheme = self
            .endpoint
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or("https".to_owned(), |(s, _)| s.clone());
        format!("{scheme}://{}", self.endpoint(region))
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Collects uploads and unreferenced blob links idle longer than `max_age`, and blobs no
    /// repository links.
    pub fn gc(&self, max_age: Duration) -> anyhow::Result<store::GcStats> {
        self.store.gc(max_age).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Serves one ECR JSON 1.1 call. `target` is the `X-Amz-Target` header
    /// (`AmazonEC2ContainerRegistry_V20150921.<Op>`); the caller is already authenticated.
    pub async fn handle_api(
        self: &Arc<Self>,
        caller: &Caller,
        region: &str,
        target: &str,
        body: bytes::Bytes,
    ) -> axum::response::Response {
        api::handle(self, caller, region, target, body).await
    }

    /// Runs one ECR operation as `caller` (already authenticated) with `input` shaped like the
    /// operation's input (botocore member names), validated against the model as a request
    /// body would be; answers the output shape's value or AWS's error. This is the same
    /// dispatch as [`Ecr::handle_api`] without the wire: the web console calls it.
    pub async fn call(
        self: &Arc<Self>,
        caller: &Caller,
        region: &str,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, kagi_api::ApiError> {
        api::call(self, caller, region, operation, input).await
    }

    /// The registry's `host:port` as it appears in `repositoryUri` for `region`.
    pub fn registry_endpoint(&self, region: &str) -> String {
        self.endpoint(region)
    }

    /// Applies every repository's lifecycle policy as of `now` (what the periodic task does);
    /// returns how many images it expired.
    pub fn apply_lifecycle_policies(&self, now: SystemTime) -> anyhow::Result<usize> {
        let at = util::epoch(now);
        let mut n = 0;
        for (repo_id, text) in self
            .store
            .lifecycle_policies()
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            n += lifecycle::apply(&self.store, repo_id, &text, at)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .len();
        }
        Ok(n)
    }

    /// The router for `/v2/` and below. Inside a tokio runtime this also starts (once) the
    /// background jobs: garbage collection of uploads idle for
    /// [`store::DEFAULT_UPLOAD_MAX_AGE`] and of blobs nothing links (hourly), and the
    /// application of every lifecycle policy (each [`lifecycle::APPLY_PERIOD`], 10 minutes).
    /// Nodes sharing a store run each job once per period between them
    /// ([`kagi_store::jobs::claim`]); each node asks ten times a period.
    pub fn registry_router(self: &Arc<Self>) -> axum::Router {
        if tokio::runtime::Handle::try_current().is_ok()
            && !self
                .gc_started
                .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            self.spawn_job("gc", job_period(GC_PERIOD), |ecr| {
                ecr.gc(store::DEFAULT_UPLOAD_MAX_AGE).map(drop)
            });
            self.spawn_job("lifecycle", job_period(lifecycle::APPLY_PERIOD), |ecr| {
                ecr.apply_lifecycle_policies(SystemTime::now()).map(drop)
            });
        }
        registry::router(self.clone())
    }

    /// Runs `job` every `period` on one node of those sharing the store.
    fn spawn_job(
        self: &Arc<Self>,
        name: &'static str,
        period: Duration,
        job: fn(&Ecr) -> anyhow::Result<()>,
    ) {
        let weak = Arc::downgrade(self);
        let record = format!("ecr-{name}:{}", self.account_id);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 10);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(ecr) = weak.upgrade() else { break };
                let record = record.clone();
                let _ = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                    if kagi_store::jobs::claim(&ecr.kv, &record, period, &ecr.node)? {
                        job(&ecr)?;
                    }
                    Ok(())
                })
                .await;
            }
        });
    }
}

/// How often garbage collection runs (once per cluster).
const GC_PERIOD: Duration = Duration::from_secs(3600);

/// `KAGI_ECR_JOB_PERIOD` (seconds, in the server's environment) runs garbage collection and
/// lifecycle policies that often instead of hourly and every 10 minutes: for tests that want
/// them running under load (`tests/crash.rs`), and for a registry that must reclaim space
/// sooner. Unset, zero or unparsable: `default`.
fn job_period(default: Duration) -> Duration {
    std::env::var("KAGI_ECR_JOB_PERIOD")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(default, |s| Duration::from_secs_f64(s.max(0.1)))
}
