//! kagi-server: `kagi serve`, a local IAM + STS (+ ECR, mounted from kagi-ecr) that really
//! authenticates (SigV4) and really authorises (IAM policy evaluation) every request.
//!
//! `kagi serve [--bind 127.0.0.1] [--port 7474] [--data-dir DIR | --in-memory]` serves every
//! service on one port ([`DEFAULT_PORT`] = 7474; `--port 0` picks a free one). The data
//! directory defaults to `$XDG_DATA_HOME/kagi` or `~/.local/share/kagi`; see [`account`] for
//! its layout. Tests and `kagi demo` use [`start_background`].
//!
//! # Map
//!
//! | module | what |
//! |---|---|
//! | `lib.rs` | [`ServerConfig`], [`start_background`] / [`RunningServer`], [`serve_main`] (`kagi serve` args), startup and graceful shutdown (SIGINT/SIGTERM: stop accepting, finish requests, flush the session book) |
//! | [`edge`] | the accept loop: connection limit, header/body/idle timeouts, header size, lingering close |
//! | [`http`] | axum router and the HTTP pipeline: body → auth → [`dispatch`] → response, request ids, one log line per request |
//! | [`dispatch`] | from a decoded operation to its handler (IAM / STS query, AssumeRoleWithWebIdentity), shared by HTTP and the console ([`dispatch::invoke`]) |
//! | [`console_state`] | the console's sessions, pending MFA sign-ins, lockout counts and sign-in tokens in the store (several nodes) |
//! | [`console_host`] | the `kagi_console::Backend` implementation: console sign-in (root password, login profiles), pages through [`dispatch::invoke`] |
//! | [`ecr_host`] | the `kagi_ecr::Host` implementation: ECR asks the server who a key is and whether it may act |
//! | [`iam`] | IAM operations, one submodule per area; `iam/mod.rs` only dispatches |
//! | [`sts`] | STS operations: [`sts::tokens`] (AssumeRole, GetSessionToken, GetFederationToken, console sessions), [`sts::web_identity`]; `sts/mod.rs` only dispatches |
//! | [`auth`] | SigV4 via kagi-sigv4, access-key and session-token resolution into a [`caller::Caller`] |
//! | [`authz`] | gathers a principal's policies (inline, managed, groups, boundary, session) and asks kagi-policy; request context keys |
//! | [`entities`] | loaders, keys and ARNs of users, groups, roles, policies, login and instance profiles, shared by every handler |
//! | [`params`] | request parameters, tags, pagination, timestamps in responses |
//! | [`state`] | [`state::AppState`] and [`state::Ctx`], below every handler: the store, the sealer, generation-keyed caches ([`state::cache`]), the session book ([`state::book`]), OIDC issuers' keys ([`state::jwks`]) |
//! | [`caller`] | [`caller::Caller`] and [`caller::Principal`]: who is calling |
//! | [`store`] | the storage trait ([`store::Store`]) and its SQLite implementation |
//! | [`model`] | the stored entity documents |
//! | [`account`] | first-start account creation, root credentials file, data directory layout |
//! | [`crypto`] | AES-GCM sealing of secrets at rest and of session tokens |
//! | [`files`] | files that hold secrets (0600 before the first byte) |
//! | [`ids`] | AWS-style ids, ARNs, timestamps, name/path validation |
//! | [`totp`] | RFC 6238 TOTP for virtual MFA devices (IAM) and Identity Center users' authenticator apps ([`sso::mfa`]) |
//! | [`error`] | [`error::AwsError`]: code, message, HTTP status |
//!
//! The modules form a DAG (checked by `tests/module_graph.rs`): handlers sit above `state`,
//! `entities`, `params`, `auth` and `authz`; nothing imports the module that dispatches to it.
//!
//! # Invariants
//!
//! * Every request except `GET /health` and the registry's own challenge is authenticated and
//!   then authorised through kagi-policy; the account root is the only principal allowed
//!   everything, and `sts:GetCallerIdentity` is always allowed (as on AWS).
//! * Secrets (secret keys, session secrets, MFA seeds) are stored sealed with the data key and
//!   never logged; `Debug` of anything holding one redacts it.
//! * An IAM write is committed (SQLite WAL, synchronous=FULL) before its response is sent.
//!   The one exception is the STS session *record* ([`state::book`]): committed in batches right
//!   after the response, because the session token itself is the credential (self-contained,
//!   sealed) and the record only serves ECR registry tokens.
//! * Caches (access keys, principals' compiled policies, users and roles, trust policies) are
//!   keyed by the store generation, which every committed IAM write bumps: a deleted key or a
//!   detached policy takes effect on the very next request.
//! * Session tokens are sealed [`model::Session`]s: unforgeable, expiring, and verifiable
//!   without a lookup.

#![forbid(unsafe_code)]

pub mod account;
pub mod accounts;
pub mod analyzer;
pub mod auth;
pub mod authz;
pub mod backup;
pub mod caller;
pub mod cloudtrail;
pub mod console_host;
pub mod console_state;
pub mod crypto;
pub mod dispatch;
pub mod ecr_host;
pub mod edge;
pub mod entities;
pub mod error;
pub mod files;
pub mod http;
pub mod iam;
pub mod identity_center;
pub mod ids;
pub mod model;
pub mod organization;
pub mod orgs;
pub mod params;
pub mod registries;
pub mod sso;
pub mod state;
/// The storage seam lives in its own crate (`kagi-store`), shared with kagi-ecr.
pub use kagi_store as store;
pub mod sts;
pub mod totp;
pub mod trail;

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The documented default port of `kagi serve`.
pub const DEFAULT_PORT: u16 = 7474;

/// How to run a server. Its `Debug` leaves out the root's secret and the database URL's
/// password (a secret never appears in a `Debug` output).
#[derive(Clone)]
pub struct ServerConfig {
    pub bind: IpAddr,
    /// 0 = any free port.
    pub port: u16,
    /// `None` = in-memory (nothing survives the process).
    pub data_dir: Option<PathBuf>,
    /// `postgres://…`: IAM/STS/console state in PostgreSQL, shared by every node started with
    /// the same URL (the sealing key too); `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// `http(s)://HOST[:PORT]`: the address clients reach (a load balancer's), used in ECR's
    /// `repositoryUri` and `proxyEndpoint`; `None`: the listening address.
    pub public_url: Option<String>,
    /// `s3://BUCKET[/PREFIX]`: ECR's blob bytes in an S3-compatible bucket (credentials and
    /// region from `AWS_*` in the environment); `None`: files under `DATA_DIR/ecr/blobs`.
    pub blob_store: Option<String>,
    /// The S3-compatible server's URL for `blob_store` (path-style); `None`: AWS's.
    pub s3_endpoint: Option<String>,
    /// Access key id and secret for `blob_store` (`kagi serve` reads `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`); `None`: the rest of the AWS chain (instance role, ...).
    pub s3_credentials: Option<(String, String)>,
    /// The bucket's region (`AWS_REGION`, `AWS_DEFAULT_REGION`); `None`: us-east-1.
    pub s3_region: Option<String>,
    pub account_id: Option<String>,
    pub root_access_key_id: Option<String>,
    pub root_secret_access_key: Option<String>,
    /// Connection limit and timeouts at the edge (`--max-connections`, `--*-timeout`).
    pub limits: edge::Limits,
    /// The event history (`--no-trail`, `--trail-retention-days`, `--trail-max-events`,
    /// `--audit-log`).
    pub trail: trail::TrailConfig,
    /// How long an sso-oidc device code waits for approval (StartDeviceAuthorization's
    /// `expiresIn`): AWS's 600 s unless `KAGI_SSO_DEVICE_CODE_SECONDS` says otherwise (tests
    /// of expiry shorten it).
    pub sso_device_code_secs: i64,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(store::postgres::redact),
            )
            .field("public_url", &self.public_url)
            .field("blob_store", &self.blob_store)
            .field("s3_endpoint", &self.s3_endpoint)
            .field(
                "s3_credentials",
                &self
                    .s3_credentials
                    .as_ref()
                    .map(|(id, _)| (id, "<redacted>")),
            )
            .field("s3_region", &self.s3_region)
            .field("account_id", &self.account_id)
            .field("root_access_key_id", &self.root_access_key_id)
            .field(
                "root_secret_access_key",
                &self.root_secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("limits", &self.limits)
            .field("sso_device_code_secs", &self.sso_device_code_secs)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Loopback, a free port, in memory, fresh random account.
    pub fn in_memory() -> ServerConfig {
        ServerConfig {
            bind: Ipv4Addr::LOCALHOST.into(),
            port: 0,
            data_dir: None,
            database_url: None,
            public_url: None,
            blob_store: None,
            s3_endpoint: None,
            s3_credentials: None,
            s3_region: None,
            account_id: None,
            root_access_key_id: None,
            root_secret_access_key: None,
            limits: edge::Limits::default(),
            trail: trail::TrailConfig::default(),
            sso_device_code_secs: sso::oidc::DEVICE_SECS,
        }
    }
}

/// A server running on its own thread and tokio runtime.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub account_id: String,
    pub root_access_key_id: String,
    root_secret_access_key: String,
    state: Arc<state::AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("account_id", &self.account_id)
            .field("root_access_key_id", &self.root_access_key_id)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    pub fn root_secret_access_key(&self) -> &str {
        &self.root_secret_access_key
    }

    /// The server's state, for tests that set up data no API writes (and benchmarks).
    #[doc(hidden)]
    pub fn state(&self) -> &Arc<state::AppState> {
        &self.state
    }

    /// Sets the root user's console password (stored as an argon2id hash).
    /// Merges this server's last-use records into the shared store now (what it does every
    /// [`state::LAST_USED_FLUSH`] and at shutdown).
    pub fn flush_last_used(&self) -> Result<()> {
        self.state.persist_last_used()
    }

    pub fn set_console_root_password(&self, password: &str) -> Result<()> {
        console_host::set_root_password(&*self.state.store(&self.state.bootstrap_account), password)
    }

    /// Gives the Identity Center user `user_name` of the identity store `identity_store_id`
    /// (`d-…`) a portal password, as `kagi sso set-password` does (AWS e-mails an invitation
    /// instead; no AWS operation sets one): IAM's default password policy applies, the hash is
    /// argon2id ([`identity_center::set_portal_password`]).
    pub fn set_sso_password(
        &self,
        identity_store_id: &str,
        user_name: &str,
        password: &str,
    ) -> std::result::Result<(), error::AwsError> {
        use store::StoreExt;
        let user = self
            .state
            .store(store::GLOBAL)
            .view(|tx| identity_center::user_by_name(tx, identity_store_id, user_name))?
            .ok_or_else(|| {
                error::AwsError::new(404, "ResourceNotFoundException", "USER not found.")
            })?;
        identity_center::set_portal_password(&self.state, identity_store_id, &user.id, password)
    }

    /// Stops accepting, lets in-flight requests finish, and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A built (not yet listening) server.
pub struct Built {
    pub state: Arc<state::AppState>,
    pub account: account::Account,
    /// Set when this start generated the root's console password and wrote it there.
    pub root_password_file: Option<PathBuf>,
}

/// Opens storage, bootstraps the account, mounts ECR.
pub fn build(config: &ServerConfig) -> Result<Built> {
    if let Some(dir) = &config.data_dir {
        create_private_dir(dir)?;
    }
    let (kv, sealer): (Arc<dyn store::Kv>, crypto::Sealer) =
        match (&config.database_url, &config.data_dir) {
            (Some(url), _) => {
                let kv: Arc<dyn store::Kv> = Arc::new(store::postgres::PgStore::open(url)?);
                let sealer = crypto::Sealer::shared(&kv)?;
                (kv, sealer)
            }
            (None, Some(dir)) => {
                let sealer = crypto::Sealer::open_key_file(&dir.join("kagi.key"))?;
                let db = dir.join("kagi.db");
                if !db.exists() {
                    // SQLite gives the -wal and -shm files the database file's mode.
                    files::write_private_file(&db, b"")?;
                }
                (
                    Arc::new(store::sqlite::SqliteStore::open(&dir.join("kagi.db"))?),
                    sealer,
                )
            }
            (None, None) => (
                Arc::new(store::sqlite::SqliteStore::in_memory()?),
                crypto::Sealer::random(),
            ),
        };
    let overrides = account::Overrides {
        account_id: config.account_id.as_deref(),
        root_access_key_id: config.root_access_key_id.as_deref(),
        root_secret_access_key: config.root_secret_access_key.as_deref(),
    };
    let account = account::bootstrap(&kv, &sealer, config.data_dir.as_deref(), &overrides)?;
    let console_state: Option<Arc<dyn kagi_console::state::SharedState>> =
        match &config.database_url {
            Some(_) => Some(Arc::new(console_state::StoreState::new(
                kv.clone(),
                sealer.clone(),
            ))),
            None => None,
        };
    let store: Arc<dyn store::Store> =
        Arc::new(store::AccountStore::new(kv.clone(), &account.account_id));
    iam::managed::install_aws_managed(&*store)?;
    let host = Arc::new(ecr_host::ServerHost::default());
    let ecr = open_ecr(config, &kv, &account.account_id, host.clone())
        .context("opening the ECR store")?;
    let state = Arc::new(state::AppState {
        // Other nodes must find a session recorded here at once (registry passwords, console).
        sessions: state::book::SessionBook::new(
            kv.clone(),
            &account.account_id,
            config.database_url.is_some(),
        ),
        kv: kv.clone(),
        sealer,
        bootstrap_account: account.account_id.clone(),
        signing_keys: kagi_sigv4::SigningKeyCache::default(),
        keys: Default::default(),
        policies: Default::default(),
        ecr: Some(Arc::new(ecr)),
        last_used: Default::default(),
        role_last_used: Default::default(),
        jwks: Default::default(),
        console_state,
        public_url: config.public_url.clone(),
        trail: trail::Recorder::new(kv.clone(), config.trail.clone()),
        sso_device_code_secs: config.sso_device_code_secs,
    });
    host.set_state(&state);
    // Every account's AWS managed policies follow this version's documents; stores from before
    // accounts had records give the bootstrap account one.
    accounts::ensure_bootstrap(&state)?;
    let others: Vec<String> = store::StoreExt::view(&*state.store(store::GLOBAL), accounts::all)?
        .into_iter()
        .map(|a| a.id)
        .filter(|a| *a != state.bootstrap_account)
        .collect();
    for a in others {
        iam::managed::install_aws_managed(&*state.store(&a))?;
    }
    let root_password_file = console_root_password(&*store, config.data_dir.as_deref())?;
    Ok(Built {
        state,
        account,
        root_password_file,
    })
}

/// ECR on the server's store: its rows beside IAM's (the account's scope), blob bytes under
/// `DATA_DIR/ecr/blobs` (a temporary directory without one), the registry token key in
/// `DATA_DIR/ecr/registry-token.key` or, with a database URL, in the database (every node
/// accepts every node's registry passwords). An `ecr.sqlite` of an earlier version is imported.
fn open_ecr(
    config: &ServerConfig,
    kv: &Arc<dyn store::Kv>,
    account_id: &str,
    host: Arc<ecr_host::ServerHost>,
) -> Result<registries::Registries> {
    let (dir, tmp) = match &config.data_dir {
        Some(d) => (d.join("ecr"), None),
        None => {
            let t = tempfile::Builder::new().prefix("kagi-ecr-").tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    std::fs::create_dir_all(&dir)?;
    let token_key = match &config.database_url {
        Some(_) => kagi_ecr::token::TokenKey::shared(kv)?,
        None => kagi_ecr::token::TokenKey::load_or_create(&dir.join("registry-token.key"))?,
    };
    let blobs = blob_store(config, &dir.join("blobs"), true)?;
    let storage = kagi_ecr::Storage {
        kv: kv.clone(),
        blobs: blobs.clone(),
        token_key: token_key.clone(),
        legacy_dir: Some(dir),
    };
    let bootstrap = match tmp {
        Some(t) => kagi_ecr::Ecr::with_storage_in(storage, account_id, host.clone(), t)?,
        None => kagi_ecr::Ecr::with_storage(storage, account_id, host.clone())?,
    };
    Ok(registries::Registries::new(
        bootstrap,
        account_id,
        kv.clone(),
        blobs,
        token_key,
        host,
    ))
}

/// ECR's blob store: the S3 bucket of `--blob-store` (checked to answer), or files under
/// `files` (created when `create`; `--check` creates nothing).
fn blob_store(
    config: &ServerConfig,
    files: &Path,
    create: bool,
) -> Result<Arc<dyn kagi_ecr::blobs::BlobStore>> {
    use kagi_ecr::blobs::{FileBlobs, s3};
    Ok(match &config.blob_store {
        Some(url) => {
            let mut cfg = s3::S3Config::parse(url, config.s3_endpoint.as_deref())?;
            cfg.credentials = config.s3_credentials.clone();
            cfg.region = config.s3_region.clone();
            let s3 = s3::S3Blobs::open(&cfg)?;
            s3.probe().context("the blob store does not answer")?;
            Arc::new(s3)
        }
        None if create => Arc::new(FileBlobs::open(files)?),
        None => Arc::new(FileBlobs::at(files)),
    })
}

/// The root's console password: `KAGI_ROOT_PASSWORD` when set (hashed and stored at every
/// start); otherwise, with a data directory and none stored yet, a random one written to
/// `DIR/root-password` (0600) on first start.
fn console_root_password(
    store: &dyn store::Store,
    data_dir: Option<&std::path::Path>,
) -> Result<Option<PathBuf>> {
    if let Some(pw) = std::env::var("KAGI_ROOT_PASSWORD")
        .ok()
        .filter(|v| !v.is_empty())
    {
        console_host::set_root_password(store, &pw)?;
        return Ok(None);
    }
    match data_dir {
        Some(dir) if !console_host::root_password_is_set(store)? => {
            let pw = kagi_console::password::random_password();
            let path = dir.join(console_host::ROOT_PASSWORD_FILE);
            files::write_private_file(&path, format!("{pw}\n").as_bytes())?;
            console_host::set_root_password(store, &pw)?;
            Ok(Some(path))
        }
        _ => Ok(None),
    }
}

/// Creates `dir` and its missing parents with mode 0700 (nothing when it exists).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// `http(s)://HOST[:PORT][/]` → (scheme, `HOST[:PORT]`); `None` for anything else.
pub fn split_public_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let host_port = rest.strip_suffix('/').unwrap_or(rest);
    let valid = matches!(scheme, "http" | "https")
        && !host_port.is_empty()
        && !host_port.contains(['/', '?', '#', '@', ' ']);
    valid.then_some((scheme, host_port))
}

async fn run(
    state: Arc<state::AppState>,
    listener: tokio::net::TcpListener,
    limits: edge::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    if let Some(ecr) = &state.ecr {
        match state.public_url.as_deref().and_then(split_public_url) {
            Some((scheme, host_port)) => ecr.set_public_endpoint(scheme, host_port.to_owned()),
            None => ecr.set_public_endpoint("http", addr.to_string()),
        }
        // Every account's background jobs run from the start, called or not.
        if let Err(e) = ecr.start_all() {
            tracing::error!(error = %format!("{e:#}"), "starting the accounts' registries");
        }
    }
    // Each node's last-use records reach the shared store every LAST_USED_FLUSH.
    let flusher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state::LAST_USED_FLUSH);
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = state.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.persist_last_used()).await
                {
                    tracing::warn!(error = %format!("{e:#}"), "could not record last use");
                }
            }
        })
    };
    edge::serve(listener, http::router(state.clone()), limits, shutdown).await;
    flusher.abort();
    state.sessions.flush();
    if let Err(e) = state.persist_last_used() {
        tracing::warn!(error = %format!("{e:#}"), "could not record access keys' last use");
    }
    Ok(())
}

/// Starts a server on its own thread (own multi-threaded tokio runtime) and returns once it is
/// listening. Dropping or [`RunningServer::shutdown`] stops it.
pub fn start_background(config: ServerConfig) -> Result<RunningServer> {
    let built = build(&config)?;
    let std_listener = std::net::TcpListener::bind((config.bind, config.port))
        .with_context(|| format!("binding {}:{}", config.bind, config.port))?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = built.state.clone();
    let limits = config.limits.clone();
    let thread = std::thread::Builder::new()
        .name("kagi-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("kagi-server-worker")
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                if let Err(e) = run(state, listener, limits, async move {
                    let _ = rx.await;
                })
                .await
                {
                    tracing::error!(error = %e, "server stopped");
                }
            });
        })?;
    Ok(RunningServer {
        addr,
        account_id: built.account.account_id.clone(),
        root_access_key_id: built.account.root_access_key_id.clone(),
        root_secret_access_key: built.account.root_secret_access_key.clone(),
        state: built.state.clone(),
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

const USAGE: &str = "\
usage: kagi serve [--bind ADDR] [--port N] [--data-dir DIR | --in-memory] [--database-url URL]
                  [--blob-store s3://BUCKET[/PREFIX] [--s3-endpoint URL]] [--public-url URL]
       kagi serve --check [--data-dir DIR] [--database-url URL] [--blob-store ...]

Serves IAM, STS, ECR and the container registry on one port, authenticating every request
with SigV4 and authorising it with IAM policies.

  --bind ADDR      address to listen on (default 127.0.0.1)
  --port N         port (default 7474; 0 picks a free port, printed at start)
  --data-dir DIR   where the database, key file and root credentials live
                   (default $XDG_DATA_HOME/kagi or ~/.local/share/kagi)
  --in-memory      keep nothing on disk
  --database-url postgres://USER[:PASS]@HOST[:PORT]/DB
                   keep IAM, STS, ECR and console state (and the sealing key) in PostgreSQL:
                   every node started with the same URL serves the same account
                   (env KAGI_DATABASE_URL; default: SQLite in the data directory)
  --public-url http(s)://HOST[:PORT]
                   the address clients reach (a load balancer's): ECR's repositoryUri and
                   proxyEndpoint name it (env KAGI_PUBLIC_URL; default: the listening address)
  --blob-store s3://BUCKET[/PREFIX]
                   keep ECR's blob bytes in an S3-compatible bucket, shared by every node
                   (credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                   AWS_SESSION_TOKEN, AWS_REGION; env KAGI_BLOB_STORE; default: files
                   under DIR/ecr/blobs)
  --s3-endpoint URL
                   the S3-compatible server of --blob-store (path-style requests;
                   env KAGI_S3_ENDPOINT; default: AWS's endpoint for the region)
  --max-connections N
                   open connections at most (env KAGI_MAX_CONNECTIONS; default 4096, lowered
                   to fit the open-file limit); at the limit a new connection closes those
                   idle longest (a sixteenth of the limit at once), and is refused (503) only
                   if every one has a request in flight
  --header-timeout SECS
                   from a request's first byte to the end of its headers (env
                   KAGI_HEADER_TIMEOUT; default 10); header sections over 64 KiB get 431
  --body-timeout SECS
                   a request body must arrive within SECS plus 1 s per 32 KiB it carries,
                   or the answer is 408 (env KAGI_BODY_TIMEOUT; default 30)
  --idle-timeout SECS
                   a connection without a request in flight that sends and receives nothing
                   for SECS is closed (env KAGI_IDLE_TIMEOUT; default 60)
  --no-trail       record no event history (CloudTrail LookupEvents answers nothing)
  --trail-retention-days N
                   keep recorded events N days (default 90, as AWS's event history)
  --trail-max-events N
                   keep at most about N events per account, oldest deleted first
                   (default 1000000)
  --audit-log FILE also append every event's CloudTrail record to FILE, one JSON a line
  --log LEVEL      error|warn|info|debug|trace (default info; RUST_LOG also works)
  --check          verify the store instead of serving (indexes, references, every blob's
                   size and sha256, every image's blobs); exit 1 on damage

Environment: KAGI_ACCOUNT_ID, KAGI_ROOT_ACCESS_KEY_ID, KAGI_ROOT_SECRET_ACCESS_KEY make the
account deterministic; KAGI_ROOT_PASSWORD sets the root user's console password (otherwise one
is generated on first start and written to DIR/root-password); KAGI_SSO_DEVICE_CODE_SECONDS
(1 to 3600) shortens how long an IAM Identity Center device code waits for approval (600).";

struct ServeArgs {
    config: ServerConfig,
    log: Option<String>,
    /// `--check`: verify the store and exit.
    check: bool,
}

fn parse_args(args: &[OsString]) -> Result<Option<ServeArgs>> {
    let mut config = ServerConfig {
        port: DEFAULT_PORT,
        ..ServerConfig::in_memory()
    };
    let mut data_dir: Option<PathBuf> = None;
    let mut in_memory = false;
    let mut log = None;
    let mut check = false;
    let (mut max_connections, mut header_timeout, mut body_timeout, mut idle_timeout) =
        (None, None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str().context("arguments must be UTF-8")?;
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a, None),
        };
        let mut value = |name: &str| -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .and_then(|v| v.to_str())
                    .map(str::to_owned)
                    .with_context(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" | "help" => return Ok(None),
            "--bind" => {
                config.bind = value("--bind")?
                    .parse()
                    .context("--bind: not an IP address")?
            }
            "--port" => {
                config.port = value("--port")?
                    .parse()
                    .context("--port: not a port number")?
            }
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--database-url" => config.database_url = Some(value("--database-url")?),
            "--public-url" => config.public_url = Some(value("--public-url")?),
            "--blob-store" => config.blob_store = Some(value("--blob-store")?),
            "--s3-endpoint" => config.s3_endpoint = Some(value("--s3-endpoint")?),
            "--max-connections" => {
                max_connections = Some(value("--max-connections")?);
            }
            "--header-timeout" => header_timeout = Some(value("--header-timeout")?),
            "--body-timeout" => body_timeout = Some(value("--body-timeout")?),
            "--idle-timeout" => idle_timeout = Some(value("--idle-timeout")?),
            "--in-memory" => in_memory = true,
            "--no-trail" => config.trail.enabled = false,
            "--trail-retention-days" => {
                config.trail.retention_days = value("--trail-retention-days")?
                    .parse()
                    .ok()
                    .filter(|d| (1..=36_500).contains(d))
                    .context("--trail-retention-days: a number of days from 1 to 36500")?
            }
            "--trail-max-events" => {
                config.trail.max_events = value("--trail-max-events")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1_000)
                    .context("--trail-max-events: a number, at least 1000")?
            }
            "--audit-log" => config.trail.audit_log = Some(PathBuf::from(value("--audit-log")?)),
            "--log" => log = Some(value("--log")?),
            "--check" => check = true,
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if in_memory && data_dir.is_some() {
        bail!("--in-memory and --data-dir exclude each other");
    }
    config.data_dir = if in_memory {
        None
    } else {
        Some(data_dir.map_or_else(default_data_dir, Ok)?)
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.database_url.is_none() {
        config.database_url = env("KAGI_DATABASE_URL");
    }
    if config.public_url.is_none() {
        config.public_url = env("KAGI_PUBLIC_URL");
    }
    if config.blob_store.is_none() {
        config.blob_store = env("KAGI_BLOB_STORE");
    }
    if config.s3_endpoint.is_none() {
        config.s3_endpoint = env("KAGI_S3_ENDPOINT");
    }
    config.s3_credentials = env("AWS_ACCESS_KEY_ID").zip(env("AWS_SECRET_ACCESS_KEY"));
    config.s3_region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    if let Some(url) = &config.blob_store {
        kagi_ecr::blobs::s3::S3Config::parse(url, None)?;
    } else if config.s3_endpoint.is_some() {
        bail!("--s3-endpoint needs --blob-store s3://BUCKET[/PREFIX]");
    }
    if let Some(url) = &config.public_url
        && split_public_url(url).is_none()
    {
        bail!("--public-url must be http(s)://HOST[:PORT], without a path");
    }
    if let Some(url) = &config.database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        bail!("--database-url must be postgres://USER[:PASS]@HOST[:PORT]/DB");
    }
    let limits = &mut config.limits;
    if let Some(n) = max_connections.or_else(|| env("KAGI_MAX_CONNECTIONS")) {
        limits.max_connections = n
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .context("--max-connections: not a positive number")?;
    }
    for (flag, value, slot) in [
        (
            "--header-timeout",
            header_timeout,
            &mut limits.header_timeout,
        ),
        ("--body-timeout", body_timeout, &mut limits.body_timeout),
        ("--idle-timeout", idle_timeout, &mut limits.idle_timeout),
    ] {
        let var = format!("KAGI_{}", flag[2..].replace('-', "_").to_uppercase());
        if let Some(v) = value.or_else(|| env(&var)) {
            *slot = seconds(&v).with_context(|| format!("{flag} ({var}): {v:?}"))?;
        }
    }
    // Not a flag: only tests of expiry (and the curious) shorten AWS's ten minutes.
    if let Some(v) = env("KAGI_SSO_DEVICE_CODE_SECONDS") {
        config.sso_device_code_secs = v
            .parse()
            .ok()
            .filter(|n| (1..=3600).contains(n))
            .with_context(|| {
                format!("KAGI_SSO_DEVICE_CODE_SECONDS: {v:?} is not 1 to 3600 seconds")
            })?;
    }
    config.account_id = env("KAGI_ACCOUNT_ID");
    config.root_access_key_id = env("KAGI_ROOT_ACCESS_KEY_ID");
    config.root_secret_access_key = env("KAGI_ROOT_SECRET_ACCESS_KEY");
    Ok(Some(ServeArgs { config, log, check }))
}

/// `SECS` (a positive number of seconds, fractions allowed) as a duration.
fn seconds(v: &str) -> Result<std::time::Duration> {
    let secs: f64 = v.parse().ok().context("not a number of seconds")?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        bail!("must be more than 0 and at most 86400 seconds");
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

pub(crate) fn default_data_dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("kagi"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/kagi"))
}

fn init_tracing(level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match level {
        Some(l) => EnvFilter::new(format!("kagi_server={l},kagi_ecr={l},warn")),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("kagi_server=info,kagi_ecr=info,warn")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// `kagi serve ARGS` (arguments after `serve`).
pub fn serve_main(args: &[OsString]) -> ExitCode {
    let parsed = match parse_args(args) {
        Ok(Some(p)) => p,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("kagi serve: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_tracing(parsed.log.as_deref());
    if parsed.check {
        return match check_store(&parsed.config) {
            Ok(problems) if problems.is_empty() => {
                println!("kagi serve --check: no damage found");
                ExitCode::SUCCESS
            }
            Ok(problems) => {
                for p in &problems {
                    println!("damage: {p}");
                }
                println!("kagi serve --check: {} problem(s)", problems.len());
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("kagi serve --check: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match serve_blocking(parsed.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kagi serve: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `kagi serve --check`: the account's rows ([`store::check`]) and ECR's store
/// ([`kagi_ecr::Ecr::check`]), without starting a server or changing anything.
pub fn check_store(config: &ServerConfig) -> Result<Vec<String>> {
    let kv: Arc<dyn store::Kv> = match (&config.database_url, &config.data_dir) {
        (Some(url), _) => Arc::new(store::postgres::PgStore::open(url)?),
        (None, Some(dir)) => {
            let db = dir.join("kagi.db");
            if !db.exists() {
                bail!("{} does not exist: nothing to check", db.display());
            }
            Arc::new(store::sqlite::SqliteStore::open(&db)?)
        }
        (None, None) => bail!("--check needs --data-dir or --database-url"),
    };
    let global = store::AccountStore::new(kv.clone(), store::GLOBAL);
    let meta: Option<serde_json::Value> = {
        use store::{StoreExt, TxExt};
        global.view(|tx| tx.get_json(store::Table::Meta, "account"))?
    };
    let mut problems = Vec::new();
    let Some(bootstrap) = meta
        .as_ref()
        .and_then(|m| m["account_id"].as_str())
        .map(str::to_owned)
    else {
        problems.push("the store names no account".to_owned());
        return Ok(problems);
    };
    let mut accounts: Vec<String> = {
        use store::StoreExt;
        global
            .view(accounts::all)?
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    if !accounts.contains(&bootstrap) {
        accounts.insert(0, bootstrap);
    }
    problems.extend(store::check(&global)?);
    // ECR's rows name objects in the blob store (files under DATA_DIR/ecr/blobs, or the
    // bucket); without either there are none to check. (An earlier version's `ecr.sqlite`,
    // not imported yet, is imported at the next start.)
    let files = config.data_dir.as_ref().map(|d| d.join("ecr/blobs"));
    let blobs = if config.blob_store.is_some() || files.is_some() {
        Some(blob_store(config, &files.unwrap_or_default(), false)?)
    } else {
        None
    };
    for account in &accounts {
        let prefix = if accounts.len() > 1 {
            format!("account {account}: ")
        } else {
            String::new()
        };
        problems.extend(
            store::check(&store::AccountStore::new(kv.clone(), account))?
                .into_iter()
                .map(|p| format!("{prefix}{p}")),
        );
        if let Some(blobs) = &blobs {
            problems.extend(
                kagi_ecr::Ecr::check(kv.clone(), account, blobs.clone())?
                    .into_iter()
                    .map(|p| format!("{prefix}ecr: {p}")),
            );
        }
    }
    Ok(problems)
}

fn serve_blocking(config: ServerConfig) -> Result<()> {
    let built = build(&config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((config.bind, config.port))
            .await
            .with_context(|| format!("binding {}:{}", config.bind, config.port))?;
        let addr = listener.local_addr()?;
        let a = &built.account;
        println!("kagi serve: listening on http://{addr}");
        println!("  account          {}", a.account_id);
        println!("  root access key  {}", a.root_access_key_id);
        match (&a.credentials_file, &config.data_dir) {
            (Some(p), _) => println!("  root credentials written to {} (0600)", p.display()),
            (None, Some(d)) => println!(
                "  root credentials in {}",
                d.join(account::ROOT_CREDENTIALS_FILE).display()
            ),
            (None, None) => {
                println!("  in-memory: root secret is only in KAGI_ROOT_SECRET_ACCESS_KEY (if set)")
            }
        }
        if let Some(p) = &built.root_password_file {
            println!("  root console password written to {} (0600)", p.display());
        }
        println!("  console          http://{addr}/console");
        if let Some(d) = &config.data_dir {
            println!("  data             {}", d.display());
        }
        println!("  try: aws --endpoint-url http://{addr} sts get-caller-identity");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        run(built.state, listener, config.limits, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down (signal received)");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_flags() {
        let p = parse_args(&args(&["--bind", "127.0.0.1", "--port=0", "--in-memory"]))
            .unwrap()
            .unwrap();
        assert_eq!(p.config.port, 0);
        assert!(p.config.data_dir.is_none());
        let p = parse_args(&args(&["--data-dir", "/tmp/x"]))
            .unwrap()
            .unwrap();
        assert_eq!(p.config.port, DEFAULT_PORT);
        assert_eq!(
            p.config.data_dir.as_deref(),
            Some(std::path::Path::new("/tmp/x"))
        );
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert!(parse_args(&args(&["--in-memory", "--data-dir", "x"])).is_err());
        assert!(parse_args(&args(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn parses_the_shared_store_and_public_url_flags() {
        let p = parse_args(&args(&[
            "--in-memory",
            "--database-url",
            "postgres://kagi:pw@db:5432/kagi",
            "--public-url=https://registry.example.com/",
            "--check",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            p.config.database_url.as_deref(),
            Some("postgres://kagi:pw@db:5432/kagi")
        );
        assert!(p.check);
        assert_eq!(
            split_public_url(p.config.public_url.as_deref().unwrap()),
            Some(("https", "registry.example.com"))
        );
        assert_eq!(
            split_public_url("http://10.0.0.5:7474"),
            Some(("http", "10.0.0.5:7474"))
        );
        for bad in [
            "ftp://x",
            "https://",
            "https://x/path",
            "x:80",
            "https://u@x",
        ] {
            assert_eq!(split_public_url(bad), None, "{bad}");
            assert!(parse_args(&args(&["--in-memory", "--public-url", bad])).is_err());
        }
        assert!(parse_args(&args(&["--in-memory", "--database-url", "mysql://x/y"])).is_err());
    }

    #[test]
    fn debug_of_the_config_redacts_its_secrets() {
        let config = ServerConfig {
            database_url: Some("postgres://kagi:db-Passw0rd-x9@db:5432/kagi".into()),
            root_access_key_id: Some("AKIAEXAMPLEROOTKEY01".into()),
            root_secret_access_key: Some("root/secret/never/printed/0123456789ab".into()),
            s3_credentials: Some((
                "AKIAEXAMPLES3KEYID01".into(),
                "s3/secret/never/shown".into(),
            )),
            ..ServerConfig::in_memory()
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("AKIAEXAMPLEROOTKEY01"), "{shown}");
        assert!(shown.contains("AKIAEXAMPLES3KEYID01"), "{shown}");
        assert!(shown.contains("db:5432"), "{shown}");
        for secret in [
            "root/secret/never/printed",
            "db-Passw0rd-x9",
            "s3/secret/never",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn parses_the_edge_limits() {
        let p = parse_args(&args(&["--in-memory"])).unwrap().unwrap();
        assert_eq!(p.config.limits, edge::Limits::default());
        let p = parse_args(&args(&[
            "--in-memory",
            "--max-connections",
            "100",
            "--header-timeout=2.5",
            "--body-timeout",
            "3",
            "--idle-timeout",
            "0.5",
        ]))
        .unwrap()
        .unwrap();
        let secs = std::time::Duration::from_secs_f64;
        assert_eq!(
            p.config.limits,
            edge::Limits {
                max_connections: 100,
                header_timeout: secs(2.5),
                body_timeout: secs(3.0),
                idle_timeout: secs(0.5),
            }
        );
        for bad in [
            ["--max-connections", "0"],
            ["--max-connections", "many"],
            ["--header-timeout", "0"],
            ["--body-timeout", "-1"],
            ["--idle-timeout", "1e9"],
            ["--idle-timeout", "NaN"],
        ] {
            assert!(
                parse_args(&args(&["--in-memory", bad[0], bad[1]])).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parses_the_blob_store_flags() {
        let p = parse_args(&args(&[
            "--in-memory",
            "--blob-store",
            "s3://images/kagi",
            "--s3-endpoint=http://127.0.0.1:9000",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(p.config.blob_store.as_deref(), Some("s3://images/kagi"));
        assert_eq!(
            p.config.s3_endpoint.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        for bad in [
            &["--in-memory", "--blob-store", "/srv/blobs"][..],
            &["--in-memory", "--blob-store", "s3://"],
            &["--in-memory", "--s3-endpoint", "http://127.0.0.1:9000"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
