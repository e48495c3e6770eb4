//! Storage: a small transactional document store, in two layers.
//!
//! * [`Kv`] is the backend seam (Garage's `db` crate is the model): rows addressed by
//!   (table, account id, key) holding a JSON document, point reads and writes, ordered range
//!   pages by key ([`RawTx::scan_page`]), re-runnable write transactions, consistent read
//!   snapshots. [`StoreError`] (storage failed / serialization conflict) is kept apart from a
//!   transaction's own abort (its closure's error, usually an `AwsError`): only a conflict is
//!   retried. Every implementation passes the same suite, [`conformance`].
//! * [`Store`] is what handlers hold: a [`Kv`] scoped to one account ([`AccountStore`]), whose
//!   [`Tx`] reads and writes that account's rows only. Every row of every table carries its
//!   account id in its primary key, so several accounts live in one store.
//!
//! Each entity kind has its own table ([`Table`]); a row's document is the serde form of a
//! struct in the owning crate's model (`kagi_server::model` for IAM). Keys are built so that everything that must be listed together
//! shares a prefix (`scan`), e.g. attachments are keyed `KIND\0lower(name)\0policy-arn`. IAM
//! names are case-insensitively unique, so name keys are lower-cased and the document keeps the
//! name as written.
//!
//! Invariants:
//! * everything inside one transaction commits atomically or not at all, and with
//!   [`Durability::Full`] is durable before `transaction` returns, so before any response is sent;
//! * a transaction closure may run more than once (after a conflict); only its last run's
//!   writes are committed, so it must have no effect outside the transaction;
//! * [`Kv::generation`] changes after every committed transaction that touched a table that is
//!   not [`Table::is_ephemeral`] (STS session records, console state); in-memory caches of derived data (access keys, principals' policy
//!   sets) key themselves by it.
//!
//! [`sqlite::SqliteStore`] is the embedded implementation (one file in WAL mode, or `:memory:`).

pub mod conformance;
pub mod postgres;
pub mod sqlite;

use anyhow::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Account-level settings: account id, root key, MFA seeds for root, counters.
    Meta,
    Users,
    AccessKeys,
    Groups,
    /// key: `lower(group)\0lower(user)`
    GroupMembers,
    /// Customer managed policies, key: ARN; versions live inside the document.
    Policies,
    /// key: `KIND\0lower(entity)\0policy-arn`, KIND ∈ user|group|role
    Attachments,
    /// key: `KIND\0lower(entity)\0policy-name`
    InlinePolicies,
    Roles,
    /// key: serial number ARN
    MfaDevices,
    /// STS sessions, key: ASIA access key id
    Sessions,
    /// Index of [`Table::GroupMembers`] by user, kept by the store: `lower(user)\0lower(group)`.
    UserGroups,
    /// Index of [`Table::AccessKeys`] by owner, kept by the store: `lower(user)\0KEY-ID`, or
    /// `\0KEY-ID` for the root's keys. The document is the access key id.
    KeysByOwner,
    /// The console's state when nodes share the store (sessions, pending MFA sign-ins, lockout
    /// counts, federation sign-in tokens), store-wide scope, key `KIND\0KEY`; the document is
    /// `{"expires": SECS, "sealed": …}` (sealed with the data key: it can hold secrets).
    Console,
    /// Index of enabled [`Table::MfaDevices`] by user, kept by the store: `lower(user)\0SERIAL`.
    MfaByUser,
    /// ECR repositories (kagi-ecr's `store`), key `region\0name`; the document holds the
    /// repository's random id (`REPO` below: 16 hex digits), settings, policy and tags.
    EcrRepos,
    /// Index of [`Table::EcrRepos`] by id, kept by the store: `REPO`.
    EcrRepoIds,
    /// Images, key `REPO\0DIGEST`; the document holds the manifest and what it references.
    EcrImages,
    /// Index of what [`Table::EcrImages`] reference, kept by the store:
    /// `REPO\0REFERENCED-DIGEST\0KIND\0IMAGE-DIGEST`, KIND `b` (blob) or `m` (child manifest).
    EcrRefs,
    /// Image tags, key `REPO\0TAG`; the document is the digest (a JSON string).
    EcrTags,
    /// Index of [`Table::EcrTags`] by image, kept by the store: `REPO\0DIGEST\0TAG`.
    EcrTagsByImage,
    /// A blob's link into a repository, key `REPO\0DIGEST`.
    EcrLinks,
    /// Index of [`Table::EcrLinks`] by blob, kept by the store: `DIGEST\0REPO`.
    EcrLinksByBlob,
    /// Blobs, key `DIGEST`: size and the object holding the content.
    EcrBlobs,
    /// Uploads in progress, key: the upload id; offset and the objects of its chunks.
    EcrUploads,
    /// Lifecycle policies, key `REPO`: the policy, when it was last applied, the last preview.
    EcrLifecycle,
    /// Cluster-wide background jobs (store-wide scope), key: the job's name; when it last ran
    /// and on which node, so that several nodes run each job once per period.
    Jobs,
    /// When access keys and roles were last used (`key\0AKIA…`, `role\0lower(name)`): each
    /// node's records, merged (the latest wins) every minute, so every node answers
    /// `GetAccessKeyLastUsed` with every node's use.
    LastUsed,
    /// The accounts this store serves (store-wide scope), key: the 12-digit account id; the
    /// document is kagi-server's account record (name, e-mail, status, alias, when created).
    /// The bootstrap account is one of them.
    Accounts,
    /// AWS Organizations (store-wide scope): `org\0ID` the organization, `member\0ACCOUNT` the
    /// organization an account belongs to, and under `ID\0` its OUs, policies, attachments
    /// and account-creation statuses (kagi-server's `orgs` module).
    Organizations,
    /// IAM Identity Center (store-wide scope): instances, identity stores (users, groups,
    /// memberships), permission sets, account assignments, provisioning records
    /// (kagi-server's `identity_center` module).
    IdentityCenter,
    /// Identity Center's sign-in state (store-wide scope): OIDC clients, device authorizations,
    /// authorization codes, access and refresh tokens (by hash), portal sessions. Documents
    /// carry `expires`; short-lived, so writing them never changes the cache generation.
    SsoTokens,
    /// The event history (kagi-server's `trail`): one row per recorded segment (a batch of
    /// events of one account, at most [`TRAIL_SEGMENT_SPAN_MS`] apart), key
    /// `REV-NEWEST\0NODE\0SEQ` (`REV-NEWEST`: 16 hex digits of `u64::MAX - newest event ms`,
    /// so a key-order scan is newest first); the document holds the events, strings interned.
    TrailSegments,
    /// A small header per [`Table::TrailSegments`] row, same key: how many events, oldest and
    /// newest time, size (what retention and pagination read without loading events).
    TrailHeads,
    /// The attribute values of each segment (LookupEvents' filters), key
    /// `ATTRIBUTE\0VALUE\0SEGMENT-KEY`; the document is empty.
    TrailIndex,
    /// IAM Access Analyzer's policy-generation jobs (kagi-server's `analyzer`), key: the job id.
    PolicyGenerations,
    /// IAM's service-last-accessed report jobs (`GenerateServiceLastAccessedDetails`,
    /// kagi-server's `iam::last_accessed`), key: the job id; the document is the request.
    LastAccessedJobs,
}

/// How far apart (event time) two events of one [`Table::TrailSegments`] row may be: what a
/// paginated lookup must look back to find events of a page's boundary.
pub const TRAIL_SEGMENT_SPAN_MS: i64 = 2_000;

impl Table {
    pub const ALL: [Table; 37] = [
        Table::Meta,
        Table::Users,
        Table::AccessKeys,
        Table::Groups,
        Table::GroupMembers,
        Table::Policies,
        Table::Attachments,
        Table::InlinePolicies,
        Table::Roles,
        Table::MfaDevices,
        Table::Sessions,
        Table::UserGroups,
        Table::KeysByOwner,
        Table::MfaByUser,
        Table::Console,
        Table::EcrRepos,
        Table::EcrRepoIds,
        Table::EcrImages,
        Table::EcrRefs,
        Table::EcrTags,
        Table::EcrTagsByImage,
        Table::EcrLinks,
        Table::EcrLinksByBlob,
        Table::EcrBlobs,
        Table::EcrUploads,
        Table::EcrLifecycle,
        Table::Jobs,
        Table::LastUsed,
        Table::Accounts,
        Table::Organizations,
        Table::IdentityCenter,
        Table::SsoTokens,
        Table::TrailSegments,
        Table::TrailHeads,
        Table::TrailIndex,
        Table::PolicyGenerations,
        Table::LastAccessedJobs,
    ];

    /// Rows that the generation-keyed caches never derive from (STS session records, console
    /// state, ECR's rows, job records, last-use records): writing them does not change the generation, so an
    /// image push on one node does not empty every node's key and policy caches.
    pub fn is_ephemeral(self) -> bool {
        !matches!(
            self,
            Table::Meta
                | Table::Users
                | Table::AccessKeys
                | Table::Groups
                | Table::GroupMembers
                | Table::Policies
                | Table::Attachments
                | Table::InlinePolicies
                | Table::Roles
                | Table::MfaDevices
                | Table::UserGroups
                | Table::KeysByOwner
                | Table::MfaByUser
                | Table::Accounts
                | Table::Organizations
                | Table::IdentityCenter
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Users => "users",
            Table::AccessKeys => "access_keys",
            Table::Groups => "groups",
            Table::GroupMembers => "group_members",
            Table::Policies => "policies",
            Table::Attachments => "attachments",
            Table::InlinePolicies => "inline_policies",
            Table::Roles => "roles",
            Table::MfaDevices => "mfa_devices",
            Table::Sessions => "sts_sessions",
            Table::UserGroups => "idx_user_groups",
            Table::KeysByOwner => "idx_keys_by_owner",
            Table::MfaByUser => "idx_mfa_by_user",
            Table::Console => "console_state",
            Table::EcrRepos => "ecr_repos",
            Table::EcrRepoIds => "idx_ecr_repo_ids",
            Table::EcrImages => "ecr_images",
            Table::EcrRefs => "idx_ecr_refs",
            Table::EcrTags => "ecr_tags",
            Table::EcrTagsByImage => "idx_ecr_tags_by_image",
            Table::EcrLinks => "ecr_links",
            Table::EcrLinksByBlob => "idx_ecr_links_by_blob",
            Table::EcrBlobs => "ecr_blobs",
            Table::EcrUploads => "ecr_uploads",
            Table::EcrLifecycle => "ecr_lifecycle",
            Table::Jobs => "jobs",
            Table::LastUsed => "last_used",
            Table::Accounts => "accounts",
            Table::Organizations => "organizations",
            Table::IdentityCenter => "identity_center",
            Table::SsoTokens => "sso_tokens",
            Table::TrailSegments => "trail_segments",
            Table::TrailHeads => "trail_heads",
            Table::TrailIndex => "trail_index",
            Table::PolicyGenerations => "policy_generations",
            Table::LastAccessedJobs => "last_accessed_jobs",
        }
    }
}

/// The secondary index rows that a row of `table` implies: (index table, index key); each index
/// row's document is the base row's key as a JSON string (documents are JSON everywhere, and
/// keys may hold NUL, which a JSON string escapes). [`Tx::put`] and [`Tx::delete`] keep them (so every
/// backend has them, in the same transaction as the row), and a migration builds them for rows
/// written before. Documents that do not parse index nothing.
pub fn index_entries(table: Table, key: &str, doc: &str) -> Vec<(Table, String)> {
    let user_of = || -> Option<Option<String>> {
        let v: serde_json::Value = serde_json::from_str(doc).ok()?;
        Some(v["user"].as_str().map(name_key))
    };
    match table {
        Table::GroupMembers => match key.split_once('\0') {
            Some((group, user)) => vec![(Table::UserGroups, format!("{user}\0{group}"))],
            None => Vec::new(),
        },
        Table::AccessKeys => match user_of() {
            Some(Some(user)) => vec![(Table::KeysByOwner, format!("{user}\0{key}"))],
            Some(None) => vec![(Table::KeysByOwner, format!("\0{key}"))],
            None => Vec::new(),
        },
        Table::MfaDevices => match user_of() {
            Some(Some(user)) => vec![(Table::MfaByUser, format!("{user}\0{key}"))],
            _ => Vec::new(),
        },
        Table::EcrRepos => match serde_json::from_str::<serde_json::Value>(doc) {
            Ok(v) => match v["id"].as_i64() {
                Some(id) => vec![(Table::EcrRepoIds, format!("{id:016x}"))],
                None => Vec::new(),
            },
            Err(_) => Vec::new(),
        },
        Table::EcrImages => {
            let Some((repo, image)) = key.split_once('\0') else {
                return Vec::new();
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) else {
                return Vec::new();
            };
            let refs = |field: &str, kind: &str| -> Vec<(Table, String)> {
                v[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str())
                    .map(|d| (Table::EcrRefs, format!("{repo}\0{d}\0{kind}\0{image}")))
                    .collect()
            };
            let mut out = refs("blobs", "b");
            out.extend(refs("manifests", "m"));
            out.sort();
            out.dedup();
            out
        }
        Table::EcrTags => match (key.split_once('\0'), serde_json::from_str::<String>(doc)) {
            (Some((repo, tag)), Ok(digest)) => {
                vec![(Table::EcrTagsByImage, format!("{repo}\0{digest}\0{tag}"))]
            }
            _ => Vec::new(),
        },
        Table::EcrLinks => match key.split_once('\0') {
            Some((repo, digest)) => vec![(Table::EcrLinksByBlob, format!("{digest}\0{repo}"))],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Whether the store keeps indexes of `table`'s rows.
fn is_indexed(table: Table) -> bool {
    INDEXES.iter().any(|(base, _)| *base == table)
}

/// The index prefix of a user's rows in [`Table::UserGroups`], [`Table::KeysByOwner`] and
/// [`Table::MfaByUser`] (`None`: the account root, whose keys are indexed under `\0`).
pub fn owner_prefix(user: Option<&str>) -> String {
    match user {
        Some(u) => format!("{}\0", name_key(u)),
        None => "\0".to_owned(),
    }
}

/// One transaction's view of one account's data (what handlers see).
pub trait Tx {
    fn get(&self, table: Table, key: &str) -> Result<Option<String>>;
    fn put(&mut self, table: Table, key: &str, doc: &str) -> Result<()>;
    /// Returns whether a row was deleted.
    fn delete(&mut self, table: Table, key: &str) -> Result<bool>;
    /// Rows whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, String)>>;
    /// At most `limit` rows whose key starts with `prefix` and sorts after `after` (all of them
    /// when `after` is `None`), in key order: a page of a list, found by key, not by offset.
    fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
}

/// A backend's transaction: every row is addressed by (table, account, key). The account `""`
/// is the store-wide scope (which accounts exist; see [`GLOBAL`]).
pub trait RawTx {
    fn get(&self, table: Table, account: &str, key: &str) -> Result<Option<String>>;
    fn put(&mut self, table: Table, account: &str, key: &str, doc: &str) -> Result<()>;
    fn delete(&mut self, table: Table, account: &str, key: &str) -> Result<bool>;
    fn scan_page(
        &self,
        table: Table,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
}

/// The store-wide scope: rows that belong to no account (the bootstrap account's record).
pub const GLOBAL: &str = "";

/// How durable a commit must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// On stable storage before `transaction` returns (every acknowledged write).
    Full,
    /// Survives a crash of this process, not necessarily a power loss (STS session records).
    Relaxed,
}

/// A storage failure, as opposed to a transaction's own decision to abort (any other error
/// its closure returns, typically the owner's domain error, e.g. `kagi_server::error::AwsError`, which rolls back and is
/// handed back unchanged). Backends return these from [`RawTx`] methods and commits; a
/// [`StoreError::Conflict`] (a serialization failure between concurrent transactions) makes
/// [`Kv::transaction`] roll back and run the closure again, which is why closures are `FnMut`
/// and must not have effects outside the transaction.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the transaction conflicted with a concurrent one")]
    Conflict,
    #[error("storage failed: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether `e` is a conflict that a re-run may resolve.
    pub fn is_conflict(e: &anyhow::Error) -> bool {
        matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Conflict))
    }
}

/// How many times [`Kv::transaction`] runs a closure that keeps conflicting before it gives up.
pub const MAX_ATTEMPTS: usize = 8;

/// A storage backend: byte-for-byte the same behaviour for every implementation (checked by
/// [`conformance`]).
pub trait Kv: Send + Sync + 'static {
    /// Runs `f` in a write transaction and commits it if `f` returns `Ok`; rolls back and
    /// returns `f`'s error otherwise. Re-runs `f` (at most [`MAX_ATTEMPTS`] times) when the
    /// backend reports a [`StoreError::Conflict`].
    fn transaction(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn RawTx) -> Result<()>,
    ) -> Result<()>;
    /// Runs `f` against a consistent snapshot (no writes).
    fn read(&self, f: &mut dyn FnMut(&dyn RawTx) -> Result<()>) -> Result<()>;
    /// Changes after every committed transaction that touched a table that is not
    /// [`Table::is_ephemeral`] (see the module invariants).
    fn generation(&self) -> u64;
    /// Deletes the rows of `table` (of every account) whose document's `expires` (Unix
    /// seconds) is before `expired_before`; returns how many. For [`Table::Sessions`] and
    /// [`Table::Console`].
    fn purge_expired(&self, table: Table, expired_before: i64) -> Result<usize>;
}

/// What handlers hold: the store, scoped to one account.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a write transaction: commits if it returns `Ok`, rolls back otherwise.
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Like [`Store::transaction`], with [`Durability::Relaxed`]. For rows whose loss on power
    /// failure is harmless: STS session records (the session token itself is self-contained).
    fn transaction_relaxed(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f` against a consistent read view (no writes).
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;
    /// See the module invariants.
    fn generation(&self) -> u64;
    /// Deletes the STS session records, console state and Identity Center sign-in state (of
    /// every account) that expired before `expired_before` (Unix seconds); returns how many.
    fn purge_expired(&self, expired_before: i64) -> Result<usize>;
    /// [`jobs::claim`] on the store this one scopes.
    fn claim_job(&self, name: &str, period: std::time::Duration, node: &str) -> Result<bool>;
}

/// A [`Kv`] seen as one account's [`Store`].
pub struct AccountStore {
    kv: Arc<dyn Kv>,
    account: String,
}

impl AccountStore {
    pub fn new(kv: Arc<dyn Kv>, account: &str) -> AccountStore {
        AccountStore {
            kv,
            account: account.to_owned(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn kv(&self) -> &Arc<dyn Kv> {
        &self.kv
    }

    fn run(
        &self,
        durability: Durability,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<()> {
        self.kv.transaction(durability, &mut |raw| {
            f(&mut Scoped {
                raw: RawRef::Mut(raw),
                account: &self.account,
            })
        })
    }
}

impl Store for AccountStore {
    fn transaction(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Durability::Full, f)
    }
    fn transaction_relaxed(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Durability::Relaxed, f)
    }
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.kv.read(&mut |raw| {
            f(&Scoped {
                raw: RawRef::Shared(raw),
                account: &self.account,
            })
        })
    }
    fn generation(&self) -> u64 {
        self.kv.generation()
    }
    fn purge_expired(&self, expired_before: i64) -> Result<usize> {
        Ok(self.kv.purge_expired(Table::Sessions, expired_before)?
            + self.kv.purge_expired(Table::Console, expired_before)?
            + self.kv.purge_expired(Table::SsoTokens, expired_before)?)
    }
    fn claim_job(&self, name: &str, period: std::time::Duration, node: &str) -> Result<bool> {
        jobs::claim(&self.kv, name, period, node)
    }
}

/// Runs `f` on `raw`'s rows of `account`: for a transaction that writes several accounts (or
/// an account and the store-wide scope) at once, through [`Kv::transaction`].
pub fn in_account<R>(
    raw: &mut dyn RawTx,
    account: &str,
    f: impl FnOnce(&mut dyn Tx) -> Result<R>,
) -> Result<R> {
    f(&mut Scoped {
        raw: RawRef::Mut(raw),
        account,
    })
}

enum RawRef<'t> {
    Mut(&'t mut dyn RawTx),
    Shared(&'t dyn RawTx),
}

/// A [`RawTx`] seen through one account.
struct Scoped<'t> {
    raw: RawRef<'t>,
    account: &'t str,
}

impl Scoped<'_> {
    fn raw(&self) -> &dyn RawTx {
        match &self.raw {
            RawRef::Mut(r) => &**r,
            RawRef::Shared(r) => *r,
        }
    }
    fn raw_mut(&mut self) -> Result<&mut dyn RawTx> {
        match &mut self.raw {
            RawRef::Mut(r) => Ok(&mut **r),
            RawRef::Shared(_) => anyhow::bail!(StoreError::Failed("write in a read view".into())),
        }
    }
}

impl Tx for Scoped<'_> {
    fn get(&self, table: Table, key: &str) -> Result<Option<String>> {
        self.raw().get(table, self.account, key)
    }
    fn put(&mut self, table: Table, key: &str, doc: &str) -> Result<()> {
        let account = self.account;
        if is_indexed(table) {
            let old = self.raw().get(table, account, key)?;
            let new = index_entries(table, key, doc);
            let raw = self.raw_mut()?;
            for (t, k) in old
                .map(|o| index_entries(table, key, &o))
                .unwrap_or_default()
            {
                if !new.contains(&(t, k.clone())) {
                    raw.delete(t, account, &k)?;
                }
            }
            let doc = serde_json::to_string(key)?;
            for (t, k) in &new {
                raw.put(*t, account, k, &doc)?;
            }
        }
        self.raw_mut()?.put(table, account, key, doc)
    }
    fn delete(&mut self, table: Table, key: &str) -> Result<bool> {
        let account = self.account;
        if is_indexed(table)
            && let Some(old) = self.raw().get(table, account, key)?
        {
            let raw = self.raw_mut()?;
            for (t, k) in index_entries(table, key, &old) {
                raw.delete(t, account, &k)?;
            }
        }
        self.raw_mut()?.delete(table, account, key)
    }
    fn scan(&self, table: Table, prefix: &str) -> Result<Vec<(String, String)>> {
        self.raw()
            .scan_page(table, self.account, prefix, None, usize::MAX)
    }
    fn scan_page(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        self.raw()
            .scan_page(table, self.account, prefix, after, limit)
    }
}

/// Typed helpers over [`Tx`].
pub trait TxExt: Tx {
    fn get_json<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>> {
        match self.get(table, key)? {
            Some(doc) => Ok(Some(serde_json::from_str(&doc)?)),
            None => Ok(None),
        }
    }
    fn put_json<T: Serialize>(&mut self, table: Table, key: &str, v: &T) -> Result<()> {
        self.put(table, key, &serde_json::to_string(v)?)
    }
    fn scan_json<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, T)>> {
        self.scan(table, prefix)?
            .into_iter()
            .map(|(k, d)| Ok((k, serde_json::from_str(&d)?)))
            .collect()
    }
}
impl<T: Tx + ?Sized> TxExt for T {}

/// Generic wrappers that return a value out of a transaction. Write closures are `FnMut`: a
/// backend runs one again after a serialization conflict (see [`StoreError`]).
pub trait StoreExt {
    fn write<R>(&self, f: impl FnMut(&mut dyn Tx) -> Result<R>) -> Result<R>;
    fn write_relaxed(&self, f: impl FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    fn view<R>(&self, f: impl FnOnce(&dyn Tx) -> Result<R>) -> Result<R>;
}

impl<S: Store + ?Sized> StoreExt for S {
    fn write<R>(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let mut out = None;
        self.transaction(&mut |tx| {
            out = Some(f(tx)?);
            Ok(())
        })?;
        Ok(out.expect("committed transaction produced a value"))
    }
    fn write_relaxed(&self, mut f: impl FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.transaction_relaxed(&mut |tx| f(tx))
    }
    fn view<R>(&self, f: impl FnOnce(&dyn Tx) -> Result<R>) -> Result<R> {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |tx| {
            let f = f.take().expect("read closure runs once");
            out = Some(f(tx)?);
            Ok(())
        })?;
        Ok(out.expect("read produced a value"))
    }
}

/// Lower-cased entity key (IAM names are unique regardless of case).
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The store-kept indexes: (base table, index table) for every index [`index_entries`] makes.
const INDEXES: [(Table, Table); 7] = [
    (Table::GroupMembers, Table::UserGroups),
    (Table::AccessKeys, Table::KeysByOwner),
    (Table::MfaDevices, Table::MfaByUser),
    (Table::EcrRepos, Table::EcrRepoIds),
    (Table::EcrImages, Table::EcrRefs),
    (Table::EcrTags, Table::EcrTagsByImage),
    (Table::EcrLinks, Table::EcrLinksByBlob),
];

/// Verifies one account's store-kept indexes: every index row matches a row of the table it
/// indexes and every indexed row has its index rows. Returns the damage found, one sentence
/// each (empty: none).
pub fn check_indexes(store: &dyn Store) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    store.read(&mut |tx| {
        problems.clear();
        for (base, _) in INDEXES {
            for (k, doc) in tx.scan(base, "")? {
                for (index, ik) in index_entries(base, &k, &doc) {
                    let want = serde_json::to_string(&k)?;
                    if tx.get(index, &ik)?.as_deref() != Some(want.as_str()) {
                        problems.push(format!(
                            "{} row {k:?} is missing from {}",
                            base.name(),
                            index.name()
                        ));
                    }
                }
            }
        }
        for (base, index) in INDEXES {
            for (ik, doc) in tx.scan(index, "")? {
                let k: String = serde_json::from_str(&doc)?;
                let ok = tx
                    .get(base, &k)?
                    .is_some_and(|d| index_entries(base, &k, &d).contains(&(index, ik.clone())));
                if !ok {
                    problems.push(format!(
                        "{} row {ik:?} names {k:?}, which {} does not index so",
                        index.name(),
                        base.name()
                    ));
                }
            }
        }
        Ok(())
    })?;
    Ok(problems)
}

/// Verifies one account's IAM rows (`kagi serve --check`): its indexes ([`check_indexes`]),
/// and every group membership names a user and a group, every user's access key a user, every
/// attachment a policy. Returns the damage found, one sentence each (empty: none).
pub fn check(store: &dyn Store) -> Result<Vec<String>> {
    let mut problems = check_indexes(store)?;
    let found = problems.len();
    store.read(&mut |tx| {
        problems.truncate(found);
        for (k, m) in tx.scan_json::<serde_json::Value>(Table::GroupMembers, "")? {
            for (what, table) in [("group", Table::Groups), ("user", Table::Users)] {
                let name = m[what].as_str().unwrap_or("");
                if tx.get(table, &name_key(name))?.is_none() {
                    problems.push(format!(
                        "group membership {k:?} names the missing {what} {name}"
                    ));
                }
            }
        }
        for (id, key) in tx.scan_json::<serde_json::Value>(Table::AccessKeys, "")? {
            if let Some(user) = key["user"].as_str()
                && tx.get(Table::Users, &name_key(user))?.is_none()
            {
                problems.push(format!(
                    "access key {id} belongs to the missing user {user}"
                ));
            }
        }
        for (k, a) in tx.scan_json::<serde_json::Value>(Table::Attachments, "")? {
            let arn = a["policy_arn"].as_str().unwrap_or("");
            if tx.get(Table::Policies, arn)?.is_none() {
                problems.push(format!("attachment {k:?} names the missing policy {arn}"));
            }
        }
        Ok(())
    })?;
    Ok(problems)
}

/// The smallest string greater than every string starting with `prefix` (the exclusive end of
/// a prefix scan). UTF-8 orders bytes as code points, so it bounds a bytewise scan too.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        if let Some(n) = char::from_u32(c as u32 + 1) {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A 32-byte secret kept in the store-wide `Meta` row `row` (base64), created by whichever
/// caller asks first, in one transaction: every node sharing the store gets the same key (the
/// server's sealing key, the registry token key). The database must then be protected as a key
/// file would be.
pub fn shared_key(kv: &Arc<dyn Kv>, row: &str) -> Result<[u8; 32]> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let encoded: String = AccountStore::new(kv.clone(), GLOBAL).write(|tx| {
        if let Some(k) = tx.get_json::<String>(Table::Meta, row)? {
            return Ok(k);
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let k = STANDARD.encode(key);
        tx.put_json(Table::Meta, row, &k)?;
        Ok(k)
    })?;
    STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("the store's {row} is not 32 bytes of base64"))
}

/// Background jobs that several nodes sharing one store run once per period between them
/// (garbage collection, lifecycle policies): each node asks [`jobs::claim`] on its own timer;
/// the first to ask after a period has passed gets the run.
pub mod jobs {
    use super::{AccountStore, GLOBAL, Kv, StoreExt as _, Table, TxExt as _};
    use serde::{Deserialize, Serialize};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// A job's record (store-wide [`Table::Jobs`], keyed by the job's name).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    pub struct Run {
        /// When the last run was claimed (Unix seconds).
        pub at: f64,
        /// Which node claimed it.
        pub node: String,
    }

    /// Claims the run of job `name` for `node` when none was claimed within the last `period`;
    /// false when another claim is younger. A node that dies during its run delays the job by
    /// at most one period: the next claim after it succeeds.
    pub fn claim(
        kv: &Arc<dyn Kv>,
        name: &str,
        period: Duration,
        node: &str,
    ) -> anyhow::Result<bool> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        AccountStore::new(kv.clone(), GLOBAL).write(|tx| {
            if let Some(last) = tx.get_json::<Run>(Table::Jobs, name)?
                && last.at + period.as_secs_f64() > now
            {
                return Ok(false);
            }
            tx.put_json(
                Table::Jobs,
                name,
                &Run {
                    at: now,
                    node: node.to_owned(),
                },
            )?;
            Ok(true)
        })
    }

    /// The last claimed run of job `name`.
    pub fn last(kv: &Arc<dyn Kv>, name: &str) -> anyhow::Result<Option<Run>> {
        AccountStore::new(kv.clone(), GLOBAL).view(|tx| tx.get_json::<Run>(Table::Jobs, name))
    }
}
