//! Storage: repository/image metadata as rows of `kagi-store` (one account's scope of the
//! server's store: SQLite in the data directory, or PostgreSQL shared by several nodes), blob
//! bytes as objects of a [`BlobStore`] (files, or an S3-compatible bucket).
//!
//! Rows (tables `ecr_*` of [`kagi_store::Table`]; `REPO` is the repository's random id in 16
//! hex digits, so a repository deleted and created again never sees its predecessor's rows):
//! * `EcrRepos` `region\0name` → [`Repo`] and its tags; index `EcrRepoIds` by id.
//! * `EcrImages` `REPO\0DIGEST` → the manifest and the digests it references; index `EcrRefs`
//!   `REPO\0REFERENCED\0b|m\0IMAGE` (which images use a blob or child manifest).
//! * `EcrTags` `REPO\0TAG` → digest; index `EcrTagsByImage` `REPO\0DIGEST\0TAG`.
//! * `EcrLinks` `REPO\0DIGEST` → when the blob was linked into the repository; index
//!   `EcrLinksByBlob` `DIGEST\0REPO`.
//! * `EcrBlobs` `DIGEST` → size and the object that holds the content.
//! * `EcrUploads` `ID` → repository, offset, and the objects of the chunks received so far.
//! * `EcrLifecycle` `REPO` → lifecycle policy, when it was last applied, the last preview.
//!
//! Invariants:
//! * An object named by a blob row has the content the digest says: every upload is hashed
//!   (while it is received, or read back when another node received part of it) and compared
//!   with the client's digest before the blob row is written, and objects are durable before
//!   their keys are recorded ([`BlobStore::write`]).
//! * Object keys are never reused, and an object is deleted only after the row naming it is
//!   gone (committed). A commit whose blob already has a row links that row and deletes its own
//!   object; one whose blob has none records its own object. So a commit on one node and a
//!   collection on another can interleave in any order without losing content: the collector
//!   deletes the object of the row *it* removed (only when no repository linked the blob, in
//!   the same transaction), and no new row can name that object.
//! * A blob is visible in a repository only through a link; a manifest is stored only when
//!   every blob it references is linked in its repository (or, for an index, every child
//!   manifest is an image of the repository), in one transaction.
//! * Uploads live in the store (offset and chunk objects), so a `PATCH` on one node continues
//!   an upload started on another. Concurrent appends to one upload are decided by the
//!   transaction that records a chunk: it must still find the offset the chunk was written at.
//! * Request bodies are streamed to the blob store through a bounded channel; no layer is held
//!   in memory.

use crate::blobs::{self, BlobStore};
use crate::error::StoreError;
use crate::manifest::Parsed;
use crate::util::{epoch, hex, now};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use kagi_store::{AccountStore, Kv, StoreExt as _, Table, Tx, TxExt as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long an upload (and an uploaded but unreferenced blob link) may sit idle before garbage
/// collection removes it.
pub const DEFAULT_UPLOAD_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// ECR's minimum size of a layer part that is not the last one (`LayerPartTooSmallException`).
pub const MIN_API_PART: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repo {
    pub id: i64,
    pub region: String,
    pub name: String,
    pub created_at: f64,
    pub mutability: String,
    pub scan_on_push: bool,
    pub encryption_type: String,
    #[serde(default)]
    pub kms_key: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRepo<'a> {
    pub region: &'a str,
    pub name: &'a str,
    pub mutability: &'a str,
    pub scan_on_push: bool,
    pub encryption_type: &'a str,
    pub kms_key: Option<&'a str>,
    pub tags: &'a [(String, String)],
}

#[derive(Debug, Clone)]
pub struct ImageRow {
    pub digest: String,
    pub media_type: String,
    pub manifest: Vec<u8>,
    pub size: u64,
    pub pushed_at: f64,
    pub artifact_media_type: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PutOutcome {
    /// The image (digest) was already in the repository.
    pub image_existed: bool,
    /// The tag (if any) already pointed at this digest.
    pub tag_unchanged: bool,
}

/// Where appended bytes come from.
pub enum Source {
    Body(axum::body::Body),
    Bytes(Bytes),
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct GcStats {
    pub uploads_removed: usize,
    pub links_removed: usize,
    pub blobs_removed: usize,
}

// ---- documents --------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct RepoDoc {
    #[serde(flatten)]
    repo: Repo,
    #[serde(default)]
    tags: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct ImageDoc {
    media_type: String,
    /// The manifest's exact bytes, base64 (its digest is over these bytes).
    manifest: String,
    size: u64,
    pushed_at: f64,
    #[serde(default)]
    artifact_media_type: Option<String>,
    /// Blobs it references (indexed as `EcrRefs` kind `b`).
    #[serde(default)]
    blobs: Vec<String>,
    /// Child manifests (an index), indexed as kind `m`.
    #[serde(default)]
    manifests: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct BlobDoc {
    size: u64,
    /// The [`BlobStore`] key of the content.
    object: String,
    created_at: f64,
}

#[derive(Serialize, Deserialize)]
struct LinkDoc {
    linked_at: f64,
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct Chunk {
    key: String,
    size: u64,
}

#[derive(Serialize, Deserialize)]
struct UploadDoc {
    repo: i64,
    offset: u64,
    created_at: f64,
    #[serde(default)]
    last_part: Option<u64>,
    #[serde(default)]
    small_part: bool,
    #[serde(default)]
    chunks: Vec<Chunk>,
}

#[derive(Serialize, Deserialize, Default)]
struct LifecycleDoc {
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    evaluated_at: Option<f64>,
    #[serde(default)]
    preview_policy: Option<String>,
    #[serde(default)]
    preview_results: Option<String>,
}

/// The key part of a repository id.
fn rk(id: i64) -> String {
    format!("{id:016x}")
}

fn repo_key(region: &str, name: &str) -> String {
    format!("{region}\0{name}")
}

fn in_repo(id: i64, rest: &str) -> String {
    format!("{}\0{rest}", rk(id))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A domain error, to abort a transaction with (handed back by [`StoreError::from`]).
fn abort(e: StoreError) -> anyhow::Error {
    anyhow::Error::new(e)
}

fn finish_hex(h: Sha256) -> String {
    format!("sha256:{}", hex(&h.finalize()))
}

/// Whether any row of `table` starts with `prefix`.
fn any(tx: &dyn Tx, table: Table, prefix: &str) -> anyhow::Result<bool> {
    Ok(!tx.scan_page(table, prefix, None, 1)?.is_empty())
}

fn repo_by_id(tx: &dyn Tx, id: i64) -> anyhow::Result<Option<(String, RepoDoc)>> {
    let Some(key) = tx.get_json::<String>(Table::EcrRepoIds, &rk(id))? else {
        return Ok(None);
    };
    Ok(tx
        .get_json::<RepoDoc>(Table::EcrRepos, &key)?
        .map(|d| (key, d)))
}

fn image_tags(tx: &dyn Tx, repo_id: i64, digest: &str) -> anyhow::Result<Vec<String>> {
    let prefix = format!("{}\0{digest}\0", rk(repo_id));
    Ok(tx
        .scan(Table::EcrTagsByImage, &prefix)?
        .into_iter()
        .map(|(k, _)| k[prefix.len()..].to_owned())
        .collect())
}

fn image_row(digest: &str, d: ImageDoc, tags: Vec<String>) -> anyhow::Result<ImageRow> {
    Ok(ImageRow {
        digest: digest.to_owned(),
        media_type: d.media_type,
        manifest: STANDARD.decode(d.manifest)?,
        size: d.size,
        pushed_at: d.pushed_at,
        artifact_media_type: d.artifact_media_type,
        tags,
    })
}

fn image_by_digest(tx: &dyn Tx, repo_id: i64, digest: &str) -> anyhow::Result<Option<ImageRow>> {
    match tx.get_json::<ImageDoc>(Table::EcrImages, &in_repo(repo_id, digest))? {
        Some(d) => Ok(Some(image_row(
            digest,
            d,
            image_tags(tx, repo_id, digest)?,
        )?)),
        None => Ok(None),
    }
}

/// Marks an upload as in use on this node for the guard's lifetime.
struct Busy<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}
impl Drop for Busy<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.id);
    }
}

pub struct Store {
    rows: AccountStore,
    blobs: Arc<dyn BlobStore>,
    /// Running sha256 of an upload's first `offset` bytes, when this node received all of them.
    hashers: Mutex<HashMap<String, (u64, Sha256)>>,
    busy: Mutex<HashSet<String>>,
}

impl Store {
    /// ECR's rows of `account` in `kv`, blob bytes in `blobs`.
    pub fn new(kv: Arc<dyn Kv>, account: &str, blobs: Arc<dyn BlobStore>) -> Store {
        Store {
            rows: AccountStore::new(kv, account),
            blobs,
            hashers: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashSet::new()),
        }
    }

    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    fn write<R>(&self, f: impl FnMut(&mut dyn Tx) -> anyhow::Result<R>) -> Result<R, StoreError> {
        Ok(self.rows.write(f)?)
    }

    fn view<R>(&self, f: impl FnOnce(&dyn Tx) -> anyhow::Result<R>) -> Result<R, StoreError> {
        Ok(self.rows.view(f)?)
    }

    /// Deletes objects whose rows are gone (best effort: what fails here is an orphan that
    /// garbage collection removes later).
    fn delete_objects<'a>(&self, keys: impl IntoIterator<Item = &'a String>) {
        for k in keys {
            let _ = self.blobs.delete(k);
        }
    }

    /// The `sha256:…` digest of the first `size` bytes of an object, read back.
    fn hash_object(&self, key: &str, size: u64) -> std::io::Result<String> {
        let mut h = Sha256::new();
        let mut r = self.blobs.read(key, 0, size)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(finish_hex(h));
            }
            h.update(&buf[..n]);
        }
    }

    /// Verifies the store (`kagi serve --check`): every recorded blob has its object, of its
    /// size and with its sha256; every blob an image references is recorded and linked in the
    /// image's repository; every child manifest of an index is an image of its repository;
    /// every tag names an image; every link names a recorded blob; every upload's chunks
    /// exist. Returns the damage found, one sentence each (empty: none). Reads only.
    pub fn check(&self) -> anyhow::Result<Vec<String>> {
        struct Rows {
            repos: BTreeMap<String, String>,
            blobs: Vec<(String, BlobDoc)>,
            images: Vec<(String, ImageDoc)>,
            tags: Vec<(String, String)>,
            links: Vec<(String, LinkDoc)>,
            uploads: Vec<(String, UploadDoc)>,
        }
        let mut problems = kagi_store::check_indexes(&self.rows)?;
        let rows = self.rows.view(|tx| {
            Ok(Rows {
                repos: tx
                    .scan_json::<RepoDoc>(Table::EcrRepos, "")?
                    .into_iter()
                    .map(|(_, d)| (rk(d.repo.id), d.repo.name))
                    .collect(),
                blobs: tx.scan_json(Table::EcrBlobs, "")?,
                images: tx.scan_json(Table::EcrImages, "")?,
                tags: tx.scan_json(Table::EcrTags, "")?,
                links: tx.scan_json(Table::EcrLinks, "")?,
                uploads: tx.scan_json(Table::EcrUploads, "")?,
            })
        })?;
        let split = |k: &str| -> (String, String) {
            let (r, rest) = k.split_once('\0').unwrap_or((k, ""));
            (r.to_owned(), rest.to_owned())
        };
        let name = |r: &str| rows.repos.get(r).cloned().unwrap_or_else(|| r.to_owned());
        let recorded: HashSet<&str> = rows.blobs.iter().map(|(d, _)| d.as_str()).collect();
        let linked: HashSet<&str> = rows.links.iter().map(|(k, _)| k.as_str()).collect();
        let images: HashSet<&str> = rows.images.iter().map(|(k, _)| k.as_str()).collect();
        for (digest, b) in &rows.blobs {
            match self.blobs.size(&b.object)? {
                None => problems.push(format!(
                    "blob {digest} is recorded but its object {} is missing",
                    b.object
                )),
                Some(n) if n != b.size => problems.push(format!(
                    "blob {digest}'s object {} is {n} bytes, {} recorded",
                    b.object, b.size
                )),
                Some(_) => {
                    let got = self.hash_object(&b.object, b.size)?;
                    if &got != digest {
                        problems.push(format!("blob {digest}'s content hashes to {got}"));
                    }
                }
            }
        }
        for (k, img) in &rows.images {
            let (r, image) = split(k);
            if !rows.repos.contains_key(&r) {
                problems.push(format!("image {image} belongs to no repository"));
            }
            for blob in &img.blobs {
                if !recorded.contains(blob.as_str())
                    || !linked.contains(format!("{r}\0{blob}").as_str())
                {
                    problems.push(format!(
                        "image {image} of {} references blob {blob}, which is not in the repository",
                        name(&r)
                    ));
                }
            }
            for child in &img.manifests {
                if !images.contains(format!("{r}\0{child}").as_str()) {
                    problems.push(format!(
                        "index {image} of {} lists manifest {child}, which is not an image of it",
                        name(&r)
                    ));
                }
            }
        }
        for (k, digest) in &rows.tags {
            let (r, tag) = split(k);
            if !images.contains(format!("{r}\0{digest}").as_str()) {
                problems.push(format!(
                    "tag {tag} of {} names {digest}, which is not an image of it",
                    name(&r)
                ));
            }
        }
        for (k, _) in &rows.links {
            let (r, digest) = split(k);
            if !recorded.contains(digest.as_str()) {
                problems.push(format!(
                    "{} links blob {digest}, which is not recorded",
                    name(&r)
                ));
            }
        }
        for (id, u) in &rows.uploads {
            for c in &u.chunks {
                if self.blobs.size(&c.key)?.is_none_or(|n| n < c.size) {
                    problems.push(format!("upload {id}'s chunk {} is missing or short", c.key));
                }
            }
        }
        Ok(problems)
    }

    // ---- repositories -------------------------------------------------------------------

    /// Creates a repository; `Ok(None)` when it already exists.
    pub fn create_repo(&self, n: &NewRepo<'_>) -> Result<Option<Repo>, StoreError> {
        let key = repo_key(n.region, n.name);
        self.write(|tx| {
            if tx.get(Table::EcrRepos, &key)?.is_some() {
                return Ok(None);
            }
            let id = loop {
                let mut b = [0u8; 8];
                getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("random: {e}"))?;
                let id = (u64::from_be_bytes(b) >> 1) as i64;
                if id != 0 && tx.get(Table::EcrRepoIds, &rk(id))?.is_none() {
                    break id;
                }
            };
            let mut tags = n.tags.to_vec();
            tags.sort();
            tags.dedup_by(|a, b| a.0 == b.0);
            let repo = Repo {
                id,
                region: n.region.to_owned(),
                name: n.name.to_owned(),
                created_at: (epoch(now()) * 1000.0).floor() / 1000.0,
                mutability: n.mutability.to_owned(),
                scan_on_push: n.scan_on_push,
                encryption_type: n.encryption_type.to_owned(),
                kms_key: n.kms_key.map(str::to_owned),
                policy: None,
            };
            tx.put_json(
                Table::EcrRepos,
                &key,
                &RepoDoc {
                    repo: repo.clone(),
                    tags,
                },
            )?;
            Ok(Some(repo))
        })
    }

    pub fn get_repo(&self, region: &str, name: &str) -> Result<Option<Repo>, StoreError> {
        self.view(|tx| {
            Ok(tx
                .get_json::<RepoDoc>(Table::EcrRepos, &repo_key(region, name))?
                .map(|d| d.repo))
        })
    }

    /// Repositories of a region, sorted by name.
    pub fn list_repos(&self, region: &str) -> Result<Vec<Repo>, StoreError> {
        self.view(|tx| {
            Ok(tx
                .scan_json::<RepoDoc>(Table::EcrRepos, &format!("{region}\0"))?
                .into_iter()
                .map(|(_, d)| d.repo)
                .collect())
        })
    }

    pub fn image_count(&self, repo_id: i64) -> Result<u64, StoreError> {
        self.view(|tx| Ok(tx.scan(Table::EcrImages, &in_repo(repo_id, ""))?.len() as u64))
    }

    /// Deletes the repository, its images, tags, links and uploads, then the blobs no
    /// repository links any more.
    pub fn delete_repo(&self, repo_id: i64) -> Result<(), StoreError> {
        let (unlinked, chunks) = self.write(|tx| {
            let prefix = in_repo(repo_id, "");
            let mut unlinked = Vec::new();
            for table in [Table::EcrTags, Table::EcrImages, Table::EcrLinks] {
                for (k, _) in tx.scan(table, &prefix)? {
                    tx.delete(table, &k)?;
                    if table == Table::EcrLinks {
                        unlinked.push(k[prefix.len()..].to_owned());
                    }
                }
            }
            tx.delete(Table::EcrLifecycle, &rk(repo_id))?;
            let mut chunks = Vec::new();
            for (id, u) in tx.scan_json::<UploadDoc>(Table::EcrUploads, "")? {
                if u.repo == repo_id {
                    tx.delete(Table::EcrUploads, &id)?;
                    chunks.extend(u.chunks.into_iter().map(|c| c.key));
                }
            }
            if let Some((key, _)) = repo_by_id(tx, repo_id)? {
                tx.delete(Table::EcrRepos, &key)?;
            }
            Ok((unlinked, chunks))
        })?;
        self.delete_objects(&chunks);
        self.collect_blobs(&unlinked)?;
        Ok(())
    }

    /// Changes the repository's row with `f`.
    fn update_repo(&self, repo_id: i64, mut f: impl FnMut(&mut RepoDoc)) -> Result<(), StoreError> {
        self.write(|tx| {
            let (key, mut doc) = repo_by_id(tx, repo_id)?
                .ok_or_else(|| abort(StoreError::RepoNotFound(rk(repo_id))))?;
            f(&mut doc);
            tx.put_json(Table::EcrRepos, &key, &doc)
        })
    }

    pub fn set_policy(&self, repo_id: i64, policy: Option<&str>) -> Result<(), StoreError> {
        self.update_repo(repo_id, |d| d.repo.policy = policy.map(str::to_owned))
    }

    fn update_lifecycle(
        &self,
        repo_id: i64,
        mut f: impl FnMut(&mut LifecycleDoc) -> bool,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut doc = tx
                .get_json::<LifecycleDoc>(Table::EcrLifecycle, &rk(repo_id))?
                .unwrap_or_default();
            if f(&mut doc) {
                tx.put_json(Table::EcrLifecycle, &rk(repo_id), &doc)?;
            }
            Ok(())
        })
    }

    /// The repository's lifecycle policy and when it was last applied.
    pub fn lifecycle_policy(
        &self,
        repo_id: i64,
    ) -> Result<Option<(String, Option<f64>)>, StoreError> {
        self.view(|tx| {
            Ok(tx
                .get_json::<LifecycleDoc>(Table::EcrLifecycle, &rk(repo_id))?
                .and_then(|d| d.policy.map(|p| (p, d.evaluated_at))))
        })
    }

    /// Sets (or, with `None`, removes) the lifecycle policy; either way `evaluated_at` restarts.
    pub fn set_lifecycle_policy(
        &self,
        repo_id: i64,
        policy: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_lifecycle(repo_id, |d| {
            d.policy = policy.map(str::to_owned);
            d.evaluated_at = None;
            true
        })
    }

    /// Records that the policy `policy` was applied at `at` (unless it was replaced meanwhile).
    pub fn set_lifecycle_evaluated(
        &self,
        repo_id: i64,
        policy: &str,
        at: f64,
    ) -> Result<(), StoreError> {
        self.update_lifecycle(repo_id, |d| {
            let same = d.policy.as_deref() == Some(policy);
            if same {
                d.evaluated_at = Some(at);
            }
            same
        })
    }

    /// Every repository with a lifecycle policy: (repository id, policy text).
    pub fn lifecycle_policies(&self) -> Result<Vec<(i64, String)>, StoreError> {
        self.view(|tx| {
            let mut out = Vec::new();
            for (k, d) in tx.scan_json::<LifecycleDoc>(Table::EcrLifecycle, "")? {
                let id = i64::from_str_radix(&k, 16)?;
                if let Some(p) = d.policy
                    && tx.get(Table::EcrRepoIds, &k)?.is_some()
                {
                    out.push((id, p));
                }
            }
            Ok(out)
        })
    }

    /// Stores the last lifecycle policy preview (the policy text and the results as JSON).
    pub fn set_lifecycle_preview(
        &self,
        repo_id: i64,
        policy: &str,
        results: &str,
    ) -> Result<(), StoreError> {
        self.update_lifecycle(repo_id, |d| {
            d.preview_policy = Some(policy.to_owned());
            d.preview_results = Some(results.to_owned());
            true
        })
    }

    /// The last lifecycle policy preview: (policy text, results JSON).
    pub fn lifecycle_preview(&self, repo_id: i64) -> Result<Option<(String, String)>, StoreError> {
        self.view(|tx| {
            Ok(tx
                .get_json::<LifecycleDoc>(Table::EcrLifecycle, &rk(repo_id))?
                .and_then(|d| d.preview_policy.zip(d.preview_results)))
        })
    }

    pub fn set_mutability(&self, repo_id: i64, m: &str) -> Result<(), StoreError> {
        self.update_repo(repo_id, |d| d.repo.mutability = m.to_owned())
    }

    pub fn set_scan_on_push(&self, repo_id: i64, scan: bool) -> Result<(), StoreError> {
        self.update_repo(repo_id, |d| d.repo.scan_on_push = scan)
    }

    /// The repository's tags, sorted by key.
    pub fn repo_tags(&self, repo_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        self.view(|tx| {
            Ok(repo_by_id(tx, repo_id)?
                .map(|(_, d)| d.tags)
                .unwrap_or_default())
        })
    }

    pub fn tag_repo(&self, repo_id: i64, tags: &[(String, String)]) -> Result<(), StoreError> {
        self.update_repo(repo_id, |d| {
            for (k, v) in tags {
                match d.tags.binary_search_by(|(tk, _)| tk.cmp(k)) {
                    Ok(i) => d.tags[i].1 = v.clone(),
                    Err(i) => d.tags.insert(i, (k.clone(), v.clone())),
                }
            }
        })
    }

    pub fn untag_repo(&self, repo_id: i64, keys: &[String]) -> Result<(), StoreError> {
        self.update_repo(repo_id, |d| d.tags.retain(|(k, _)| !keys.contains(k)))
    }

    // ---- blobs --------------------------------------------------------------------------

    /// The blob's size and object when it is linked in the repository.
    pub fn blob_object(
        &self,
        repo_id: i64,
        digest: &str,
    ) -> Result<Option<(u64, String)>, StoreError> {
        self.view(|tx| {
            if tx
                .get(Table::EcrLinks, &in_repo(repo_id, digest))?
                .is_none()
            {
                return Ok(None);
            }
            Ok(tx
                .get_json::<BlobDoc>(Table::EcrBlobs, digest)?
                .map(|b| (b.size, b.object)))
        })
    }

    /// The blob's size when it is linked in the repository.
    pub fn blob_in_repo(&self, repo_id: i64, digest: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.blob_object(repo_id, digest)?.map(|(s, _)| s))
    }

    /// A reader of `len` bytes of a blob's object from `start` (blocking).
    pub fn read_object(
        &self,
        object: &str,
        start: u64,
        len: u64,
    ) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        self.blobs.read(object, start, len)
    }

    /// Links an existing blob into a repository (cross-repository mount). False when the blob
    /// is not stored at all.
    pub fn link_blob(&self, repo_id: i64, digest: &str) -> Result<bool, StoreError> {
        self.write(|tx| {
            if tx.get(Table::EcrBlobs, digest)?.is_none() {
                return Ok(false);
            }
            tx.put_json(
                Table::EcrLinks,
                &in_repo(repo_id, digest),
                &LinkDoc {
                    linked_at: epoch(now()),
                },
            )?;
            Ok(true)
        })
    }

    /// Removes a blob's link from a repository unless an image of the repository references it.
    pub fn unlink_blob(&self, repo_id: i64, digest: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            if any(
                tx,
                Table::EcrRefs,
                &in_repo(repo_id, &format!("{digest}\0")),
            )? {
                return Err(abort(StoreError::BlobReferenced(digest.into())));
            }
            if !tx.delete(Table::EcrLinks, &in_repo(repo_id, digest))? {
                return Err(abort(StoreError::BlobUnknown(digest.into())));
            }
            Ok(())
        })?;
        self.collect_blobs(&[digest.to_owned()])?;
        Ok(())
    }

    /// Deletes the rows, then the objects, of those of `digests` that no repository links.
    /// Returns how many.
    fn collect_blobs(&self, digests: &[String]) -> Result<usize, StoreError> {
        Ok(self.collect_blob_objects(digests)?.len())
    }

    /// [`Store::collect_blobs`], answering the objects it deleted.
    fn collect_blob_objects(&self, digests: &[String]) -> Result<Vec<String>, StoreError> {
        let mut gone = Vec::new();
        for d in digests {
            let object = self.write(|tx| {
                if any(tx, Table::EcrLinksByBlob, &format!("{d}\0"))? {
                    return Ok(None);
                }
                let Some(b) = tx.get_json::<BlobDoc>(Table::EcrBlobs, d)? else {
                    return Ok(None);
                };
                tx.delete(Table::EcrBlobs, d)?;
                Ok(Some(b.object))
            })?;
            if let Some(o) = object {
                self.delete_objects([&o]);
                gone.push(o);
            }
        }
        Ok(gone)
    }

    // ---- uploads ------------------------------------------------------------------------

    pub fn new_upload(&self, repo_id: i64) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let doc = UploadDoc {
            repo: repo_id,
            offset: 0,
            created_at: epoch(now()),
            last_part: None,
            small_part: false,
            chunks: Vec::new(),
        };
        self.write(|tx| tx.put_json(Table::EcrUploads, &id, &doc))?;
        Ok(id)
    }

    fn upload(&self, repo_id: i64, id: &str) -> Result<UploadDoc, StoreError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(StoreError::UploadUnknown);
        }
        self.view(|tx| tx.get_json::<UploadDoc>(Table::EcrUploads, id))?
            .filter(|u| u.repo == repo_id)
            .ok_or(StoreError::UploadUnknown)
    }

    /// The upload's current offset (bytes received).
    pub fn upload_offset(&self, repo_id: i64, id: &str) -> Result<u64, StoreError> {
        Ok(self.upload(repo_id, id)?.offset)
    }

    /// Records an API `UploadLayerPart` of `size` bytes. A part followed by another one must be
    /// at least [`MIN_API_PART`] bytes; a violation is remembered for `CompleteLayerUpload`.
    pub fn note_api_part(&self, id: &str, size: u64) -> Result<(), StoreError> {
        self.write(|tx| {
            if let Some(mut u) = tx.get_json::<UploadDoc>(Table::EcrUploads, id)? {
                u.small_part |= u.last_part.is_some_and(|p| p < MIN_API_PART);
                u.last_part = Some(size);
                tx.put_json(Table::EcrUploads, id, &u)?;
            }
            Ok(())
        })
    }

    /// True when a non-final API part was smaller than [`MIN_API_PART`].
    pub fn has_small_part(&self, id: &str) -> Result<bool, StoreError> {
        self.view(|tx| {
            Ok(tx
                .get_json::<UploadDoc>(Table::EcrUploads, id)?
                .is_some_and(|u| u.small_part))
        })
    }

    fn claim(&self, id: &str) -> Result<Busy<'_>, StoreError> {
        if !lock(&self.busy).insert(id.to_string()) {
            return Err(StoreError::UploadBusy);
        }
        Ok(Busy {
            set: &self.busy,
            id: id.to_string(),
        })
    }

    /// Appends `src` to the upload as one new chunk object. `start`, when given, must equal
    /// the current offset. Returns the new offset. The body is streamed to a blocking writer
    /// through a bounded channel, hashed on the way when this node has the hash of what came
    /// before.
    pub async fn append(
        &self,
        repo_id: i64,
        id: &str,
        start: Option<u64>,
        src: Source,
    ) -> Result<u64, StoreError> {
        let offset = self.upload_offset(repo_id, id)?;
        if let Some(s) = start
            && s != offset
        {
            return Err(StoreError::RangeInvalid { offset });
        }
        let _busy = self.claim(id)?;
        let hasher = lock(&self.hashers)
            .remove(id)
            .filter(|(o, _)| *o == offset)
            .map(|(_, h)| h)
            .or_else(|| (offset == 0).then(Sha256::new));
        let key = blobs::chunk_key(id, offset);
        // The body's frames go over in batches of about `SEND_BATCH` bytes: one wake-up of the
        // writer per batch rather than per frame.
        const SEND_BATCH: usize = 1 << 20;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(2);
        let store = self.blobs.clone();
        let k = key.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut h = hasher;
            let mut pending = Vec::new().into_iter();
            let mut next = || loop {
                if let Some(b) = pending.next() {
                    return Some(Ok(b));
                }
                pending = rx.blocking_recv()?.into_iter();
            };
            let n = store.write(&k, &mut next, &mut |b| {
                if let Some(h) = h.as_mut() {
                    h.update(b);
                }
            })?;
            Ok::<_, std::io::Error>((n, h))
        });
        let mut body_err = None;
        match src {
            Source::Bytes(b) => {
                let _ = tx.send(vec![b]).await;
            }
            Source::Body(mut body) => {
                let mut batch = Vec::new();
                let mut batched = 0usize;
                loop {
                    match body.frame().await {
                        None => break,
                        Some(Ok(f)) => {
                            if let Ok(d) = f.into_data()
                                && !d.is_empty()
                            {
                                batched += d.len();
                                batch.push(d);
                                if batched >= SEND_BATCH {
                                    batched = 0;
                                    if tx.send(std::mem::take(&mut batch)).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        Some(Err(e)) => {
                            body_err = Some(e);
                            break;
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.send(batch).await;
                }
            }
        }
        drop(tx);
        let (n, h) = writer.await.map_err(|e| StoreError::Io(e.into()))??;
        let recorded = if n == 0 {
            self.delete_objects([&key]);
            Ok(offset)
        } else {
            let chunk = Chunk {
                key: key.clone(),
                size: n,
            };
            self.write(|tx| {
                let Some(mut u) = tx.get_json::<UploadDoc>(Table::EcrUploads, id)? else {
                    return Err(abort(StoreError::UploadUnknown));
                };
                if u.offset != offset {
                    return Err(abort(StoreError::RangeInvalid { offset: u.offset }));
                }
                u.offset += n;
                u.chunks.push(chunk.clone());
                tx.put_json(Table::EcrUploads, id, &u)?;
                Ok(u.offset)
            })
        };
        let end = match recorded {
            Ok(end) => end,
            Err(e) => {
                self.delete_objects([&key]);
                return Err(e);
            }
        };
        if let Some(h) = h {
            lock(&self.hashers).insert(id.to_string(), (end, h));
        }
        if let Some(e) = body_err {
            return Err(StoreError::UploadInvalid(format!(
                "reading the request body failed: {e}"
            )));
        }
        Ok(end)
    }

    /// Verifies the upload against `digest` and commits it as a blob of the repository.
    /// On a digest mismatch the upload is discarded.
    pub async fn finish(
        self: &Arc<Self>,
        repo_id: i64,
        id: &str,
        digest: &str,
    ) -> Result<u64, StoreError> {
        let upload = self.upload(repo_id, id)?;
        let busy = self.claim(id)?;
        let hasher = lock(&self.hashers)
            .remove(id)
            .filter(|(o, _)| *o == upload.offset)
            .map(|(_, h)| h);
        let store = self.clone();
        let id2 = id.to_string();
        let digest2 = digest.to_string();
        let res = tokio::task::spawn_blocking(move || {
            store.commit(repo_id, &id2, &digest2, upload, hasher)
        })
        .await
        .map_err(|e| StoreError::Io(e.into()))?;
        drop(busy);
        res
    }

    /// [`Store::finish`]'s blocking part: the content as one object, verified, recorded.
    fn commit(
        &self,
        repo_id: i64,
        id: &str,
        digest: &str,
        upload: UploadDoc,
        hasher: Option<Sha256>,
    ) -> Result<u64, StoreError> {
        let size = upload.offset;
        let chunk_keys: Vec<String> = upload.chunks.iter().map(|c| c.key.clone()).collect();
        // One chunk written by this version is the blob's object as it is; several chunks
        // (or an old data directory's upload file, which may be longer than its offset) are
        // copied into one object, hashing on the way when the hash is not known yet.
        let reuse = match upload.chunks.as_slice() {
            [c] if c.key.starts_with("uploads/") => Some(c.key.clone()),
            _ => None,
        };
        let (object, actual, composed) = match (reuse, hasher) {
            (Some(key), Some(h)) => (key, finish_hex(h), false),
            (Some(key), None) => {
                let digest = self.hash_object(&key, size)?;
                (key, digest, false)
            }
            (None, known) => {
                let key = blobs::composed_key(digest);
                let mut h = Sha256::new();
                let mut parts = upload.chunks.iter();
                let mut reader: Option<Box<dyn std::io::Read + Send>> = None;
                let mut next = || -> Option<std::io::Result<Bytes>> {
                    loop {
                        if reader.is_none() {
                            let c = parts.next()?;
                            match self.blobs.read(&c.key, 0, c.size) {
                                Ok(r) => reader = Some(r),
                                Err(e) => return Some(Err(e)),
                            }
                        }
                        let mut buf = vec![0u8; 1 << 20];
                        match reader.as_mut().expect("set above").read(&mut buf) {
                            Ok(0) => reader = None,
                            Ok(n) => {
                                buf.truncate(n);
                                return Some(Ok(Bytes::from(buf)));
                            }
                            Err(e) => return Some(Err(e)),
                        }
                    }
                };
                let hashing = known.is_none();
                let n = self.blobs.write(&key, &mut next, &mut |b| {
                    if hashing {
                        h.update(b);
                    }
                })?;
                if n != size {
                    self.delete_objects([&key]);
                    return Err(StoreError::Io(anyhow::anyhow!(
                        "upload {id}'s chunks hold {n} bytes, {size} recorded"
                    )));
                }
                (key, finish_hex(known.unwrap_or(h)), true)
            }
        };
        if actual != digest {
            self.write(|tx| {
                tx.delete(Table::EcrUploads, id)?;
                Ok(())
            })?;
            self.delete_objects(&chunk_keys);
            if composed {
                self.delete_objects([&object]);
            }
            return Err(StoreError::DigestMismatch {
                expected: digest.to_owned(),
                actual,
            });
        }
        let t = epoch(now());
        let recorded = self.write(|tx| {
            if tx.get(Table::EcrUploads, id)?.is_none() {
                return Err(abort(StoreError::UploadUnknown));
            }
            let existed = tx.get(Table::EcrBlobs, digest)?.is_some();
            if !existed {
                tx.put_json(
                    Table::EcrBlobs,
                    digest,
                    &BlobDoc {
                        size,
                        object: object.clone(),
                        created_at: t,
                    },
                )?;
            }
            tx.put_json(
                Table::EcrLinks,
                &in_repo(repo_id, digest),
                &LinkDoc { linked_at: t },
            )?;
            tx.delete(Table::EcrUploads, id)?;
            Ok(existed)
        });
        match recorded {
            Ok(existed) => {
                // What the blob's row does not name is no one's now.
                let unused = chunk_keys
                    .iter()
                    .chain(composed.then_some(&object))
                    .filter(|k| existed || **k != object);
                self.delete_objects(unused);
                Ok(size)
            }
            Err(e) => {
                if composed {
                    self.delete_objects([&object]);
                }
                Err(e)
            }
        }
    }

    pub fn cancel_upload(&self, repo_id: i64, id: &str) -> Result<(), StoreError> {
        self.upload(repo_id, id)?;
        let _busy = self.claim(id)?;
        let chunks = self.write(|tx| {
            Ok(tx
                .get_json::<UploadDoc>(Table::EcrUploads, id)?
                .map(|u| tx.delete(Table::EcrUploads, id).map(|_| u.chunks))
                .transpose()?
                .unwrap_or_default())
        })?;
        lock(&self.hashers).remove(id);
        self.delete_objects(chunks.iter().map(|c| &c.key));
        Ok(())
    }

    // ---- images -------------------------------------------------------------------------

    /// Stores a manifest (and optionally tags it) once all its references are in the
    /// repository.
    pub fn put_image(
        &self,
        repo_id: i64,
        digest: &str,
        parsed: &Parsed,
        manifest: &[u8],
        tag: Option<&str>,
        immutable: bool,
    ) -> Result<PutOutcome, StoreError> {
        let pushed_at = (epoch(now()) * 1000.0).floor() / 1000.0;
        let encoded = STANDARD.encode(manifest);
        self.write(|tx| {
            if tx.get(Table::EcrRepoIds, &rk(repo_id))?.is_none() {
                return Err(abort(StoreError::RepoNotFound(rk(repo_id))));
            }
            let mut missing = vec![];
            for b in &parsed.blobs {
                if tx.get(Table::EcrLinks, &in_repo(repo_id, b))?.is_none() {
                    missing.push(b.clone());
                }
            }
            for m in &parsed.manifests {
                if tx.get(Table::EcrImages, &in_repo(repo_id, m))?.is_none() {
                    missing.push(m.clone());
                }
            }
            if !missing.is_empty() {
                return Err(abort(StoreError::ManifestBlobUnknown(missing)));
            }
            let mut tag_unchanged = true;
            if let Some(tag) = tag {
                let cur = tx.get_json::<String>(Table::EcrTags, &in_repo(repo_id, tag))?;
                tag_unchanged = cur.as_deref() == Some(digest);
                if immutable && cur.is_some() && !tag_unchanged {
                    return Err(abort(StoreError::TagImmutable { tag: tag.into() }));
                }
            }
            let image_existed = tx
                .get(Table::EcrImages, &in_repo(repo_id, digest))?
                .is_some();
            if !image_existed {
                tx.put_json(
                    Table::EcrImages,
                    &in_repo(repo_id, digest),
                    &ImageDoc {
                        media_type: parsed.media_type.clone(),
                        manifest: encoded.clone(),
                        size: parsed.size,
                        pushed_at,
                        artifact_media_type: parsed.config_media_type.clone(),
                        blobs: parsed.blobs.clone(),
                        manifests: parsed.manifests.clone(),
                    },
                )?;
            }
            if let Some(tag) = tag
                && !tag_unchanged
            {
                tx.put_json(Table::EcrTags, &in_repo(repo_id, tag), &digest)?;
            }
            Ok(PutOutcome {
                image_existed,
                tag_unchanged,
            })
        })
    }

    /// Resolves a tag or digest reference.
    pub fn resolve(&self, repo_id: i64, reference: &str) -> Result<Option<ImageRow>, StoreError> {
        self.view(|tx| {
            let digest = if crate::util::looks_like_digest(reference) {
                reference.to_string()
            } else {
                match tx.get_json::<String>(Table::EcrTags, &in_repo(repo_id, reference))? {
                    Some(d) => d,
                    None => return Ok(None),
                }
            };
            image_by_digest(tx, repo_id, &digest)
        })
    }

    /// All images of a repository, by digest.
    pub fn list_images(&self, repo_id: i64) -> Result<Vec<ImageRow>, StoreError> {
        self.view(|tx| {
            let prefix = in_repo(repo_id, "");
            let mut tags: HashMap<String, Vec<String>> = HashMap::new();
            for (k, d) in tx.scan_json::<String>(Table::EcrTags, &prefix)? {
                tags.entry(d)
                    .or_default()
                    .push(k[prefix.len()..].to_owned());
            }
            tx.scan_json::<ImageDoc>(Table::EcrImages, &prefix)?
                .into_iter()
                .map(|(k, d)| {
                    let digest = &k[prefix.len()..];
                    let mut t = tags.remove(digest).unwrap_or_default();
                    t.sort();
                    image_row(digest, d, t)
                })
                .collect()
        })
    }

    /// Tags of a repository, sorted.
    pub fn list_tags(&self, repo_id: i64) -> Result<Vec<String>, StoreError> {
        self.view(|tx| {
            let prefix = in_repo(repo_id, "");
            Ok(tx
                .scan(Table::EcrTags, &prefix)?
                .into_iter()
                .map(|(k, _)| k[prefix.len()..].to_owned())
                .collect())
        })
    }

    /// Removes a tag; returns the digest it pointed at.
    pub fn delete_tag(&self, repo_id: i64, tag: &str) -> Result<Option<String>, StoreError> {
        self.write(|tx| {
            let key = in_repo(repo_id, tag);
            let d = tx.get_json::<String>(Table::EcrTags, &key)?;
            if d.is_some() {
                tx.delete(Table::EcrTags, &key)?;
            }
            Ok(d)
        })
    }

    /// Deletes an image and its tags, unlinks blobs no other image of the repository uses, and
    /// deletes the blobs no repository links any more. Returns the tags it had.
    pub fn delete_image(&self, repo_id: i64, digest: &str) -> Result<Vec<String>, StoreError> {
        let (tags, unlinked) = self.write(|tx| {
            let key = in_repo(repo_id, digest);
            let Some(image) = tx.get_json::<ImageDoc>(Table::EcrImages, &key)? else {
                return Err(abort(StoreError::ManifestUnknown));
            };
            if any(
                tx,
                Table::EcrRefs,
                &in_repo(repo_id, &format!("{digest}\0m\0")),
            )? {
                return Err(abort(StoreError::ImageReferenced(digest.into())));
            }
            let tags = image_tags(tx, repo_id, digest)?;
            for t in &tags {
                tx.delete(Table::EcrTags, &in_repo(repo_id, t))?;
            }
            tx.delete(Table::EcrImages, &key)?;
            let mut unlinked = Vec::new();
            for b in &image.blobs {
                if !any(tx, Table::EcrRefs, &in_repo(repo_id, &format!("{b}\0")))?
                    && tx.delete(Table::EcrLinks, &in_repo(repo_id, b))?
                {
                    unlinked.push(b.clone());
                }
            }
            Ok((tags, unlinked))
        })?;
        self.collect_blobs(&unlinked)?;
        Ok(tags)
    }

    // ---- garbage collection -------------------------------------------------------------

    /// Removes uploads idle longer than `max_age`, repository links to blobs that no image
    /// references and that are older than `max_age`, blobs linked nowhere, and objects older
    /// than `max_age` that no row names (a crash between writing an object and recording it).
    pub fn gc(&self, max_age: Duration) -> Result<GcStats, StoreError> {
        let mut stats = GcStats::default();
        let cutoff = epoch(now()) - max_age.as_secs_f64();
        // Listed before the rows are read: an object written after this listing is not in it,
        // and one in it that a row names by the time the rows are read is kept.
        let objects = self.blobs.list()?;
        // What this run deleted through rows (not orphans when step 4 meets them).
        let mut deleted: HashSet<String> = HashSet::new();
        // 1. abandoned uploads
        let uploads = self.view(|tx| tx.scan_json::<UploadDoc>(Table::EcrUploads, ""))?;
        for (id, u) in uploads {
            if u.created_at >= cutoff || lock(&self.busy).contains(&id) {
                continue;
            }
            let gone =
                self.write(
                    |tx| match tx.get_json::<UploadDoc>(Table::EcrUploads, &id)? {
                        Some(u) if u.created_at < cutoff => {
                            tx.delete(Table::EcrUploads, &id)?;
                            Ok(Some(u.chunks))
                        }
                        _ => Ok(None),
                    },
                )?;
            if let Some(chunks) = gone {
                lock(&self.hashers).remove(&id);
                self.delete_objects(chunks.iter().map(|c| &c.key));
                deleted.extend(chunks.into_iter().map(|c| c.key));
                stats.uploads_removed += 1;
            }
        }
        // 2. stale unreferenced links
        let links = self.view(|tx| tx.scan_json::<LinkDoc>(Table::EcrLinks, ""))?;
        for (k, l) in links {
            if l.linked_at >= cutoff {
                continue;
            }
            let removed = self.write(|tx| {
                let (repo, digest) = k.split_once('\0').unwrap_or((&k, ""));
                let still = tx
                    .get_json::<LinkDoc>(Table::EcrLinks, &k)?
                    .is_some_and(|l| l.linked_at < cutoff);
                if !still || any(tx, Table::EcrRefs, &format!("{repo}\0{digest}\0"))? {
                    return Ok(false);
                }
                tx.delete(Table::EcrLinks, &k)
            })?;
            stats.links_removed += usize::from(removed);
        }
        // 3. blobs linked nowhere
        let unlinked = self.view(|tx| {
            let mut out = Vec::new();
            for (d, _) in tx.scan(Table::EcrBlobs, "")? {
                if !any(tx, Table::EcrLinksByBlob, &format!("{d}\0"))? {
                    out.push(d);
                }
            }
            Ok(out)
        })?;
        let collected = self.collect_blob_objects(&unlinked)?;
        stats.blobs_removed += collected.len();
        deleted.extend(collected);
        // 4. objects no row names
        let named: HashSet<String> = self.view(|tx| {
            let mut named = HashSet::new();
            for (_, b) in tx.scan_json::<BlobDoc>(Table::EcrBlobs, "")? {
                named.insert(b.object);
            }
            for (_, u) in tx.scan_json::<UploadDoc>(Table::EcrUploads, "")? {
                named.extend(u.chunks.into_iter().map(|c| c.key));
            }
            Ok(named)
        })?;
        let cutoff_time = std::time::SystemTime::now() - max_age;
        for o in objects {
            if !named.contains(&o.key) && !deleted.contains(&o.key) && o.modified <= cutoff_time {
                self.delete_objects([&o.key]);
                if o.key.starts_with("uploads/") || o.key.starts_with("_uploads/") {
                    stats.uploads_removed += 1;
                } else {
                    stats.blobs_removed += 1;
                }
            }
        }
        Ok(stats)
    }

    // ---- data directories of earlier versions -------------------------------------------

    /// Imports an `ecr.sqlite` of an earlier version from `dir` (its blob files stay where they
    /// are; their keys are `sha256/ab/HEX` and `_uploads/ID` in a [`blobs::FileBlobs`] on
    /// `dir/blobs`), then renames it `ecr.sqlite.imported`. Nothing happens without one.
    /// Returns whether it imported.
    pub fn import_legacy(&self, dir: &Path) -> anyhow::Result<bool> {
        let path = dir.join("ecr.sqlite");
        if !path.exists() {
            return Ok(false);
        }
        let legacy = crate::legacy::read(&path)?;
        let already = self
            .rows
            .view(|tx| Ok(any(tx, Table::EcrRepos, "")? || any(tx, Table::EcrBlobs, "")?))?;
        if !already {
            self.rows.write(|tx| {
                for r in &legacy.repos {
                    let repo = Repo {
                        id: r.id,
                        region: r.region.clone(),
                        name: r.name.clone(),
                        created_at: r.created_at,
                        mutability: r.mutability.clone(),
                        scan_on_push: r.scan_on_push,
                        encryption_type: r.encryption_type.clone(),
                        kms_key: r.kms_key.clone(),
                        policy: r.policy.clone(),
                    };
                    tx.put_json(
                        Table::EcrRepos,
                        &repo_key(&r.region, &r.name),
                        &RepoDoc {
                            repo,
                            tags: r.tags.clone(),
                        },
                    )?;
                }
                for (digest, size, created_at) in &legacy.blobs {
                    tx.put_json(
                        Table::EcrBlobs,
                        digest,
                        &BlobDoc {
                            size: *size,
                            object: blobs::legacy_blob_key(digest),
                            created_at: *created_at,
                        },
                    )?;
                }
                for (repo, digest, linked_at) in &legacy.links {
                    tx.put_json(
                        Table::EcrLinks,
                        &in_repo(*repo, digest),
                        &LinkDoc {
                            linked_at: *linked_at,
                        },
                    )?;
                }
                for i in &legacy.images {
                    tx.put_json(
                        Table::EcrImages,
                        &in_repo(i.repo, &i.digest),
                        &ImageDoc {
                            media_type: i.media_type.clone(),
                            manifest: STANDARD.encode(&i.manifest),
                            size: i.size,
                            pushed_at: i.pushed_at,
                            artifact_media_type: i.artifact_media_type.clone(),
                            blobs: i.blobs.clone(),
                            manifests: i.manifests.clone(),
                        },
                    )?;
                }
                for (repo, tag, digest) in &legacy.tags {
                    tx.put_json(Table::EcrTags, &in_repo(*repo, tag), digest)?;
                }
                for (repo, l) in &legacy.lifecycle {
                    tx.put_json(
                        Table::EcrLifecycle,
                        &rk(*repo),
                        &LifecycleDoc {
                            policy: l.0.clone(),
                            evaluated_at: l.1,
                            preview_policy: l.2.clone(),
                            preview_results: l.3.clone(),
                        },
                    )?;
                }
                for u in &legacy.uploads {
                    tx.put_json(
                        Table::EcrUploads,
                        &u.id,
                        &UploadDoc {
                            repo: u.repo,
                            offset: u.offset,
                            created_at: u.created_at,
                            last_part: u.last_part,
                            small_part: u.small_part,
                            chunks: if u.offset > 0 {
                                vec![Chunk {
                                    key: format!("_uploads/{}", u.id),
                                    size: u.offset,
                                }]
                            } else {
                                Vec::new()
                            },
                        },
                    )?;
                }
                Ok(())
            })?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let from = dir.join(format!("ecr.sqlite{suffix}"));
            if from.exists() {
                std::fs::rename(&from, dir.join(format!("ecr.sqlite{suffix}.imported")))?;
            }
        }
        Ok(!already)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::FileBlobs;
    use crate::util::sha256_digest;

    fn open(dir: &Path) -> Arc<Store> {
        let kv: Arc<dyn Kv> =
            Arc::new(kagi_store::sqlite::SqliteStore::open(&dir.join("ecr.db")).unwrap());
        Arc::new(Store::new(
            kv,
            "123456789012",
            Arc::new(FileBlobs::open(&dir.join("blobs")).unwrap()),
        ))
    }

    fn repo(s: &Store, name: &str) -> Repo {
        s.create_repo(&NewRepo {
            region: "r",
            name,
            mutability: "MUTABLE",
            scan_on_push: false,
            encryption_type: "AES256",
            kms_key: None,
            tags: &[],
        })
        .unwrap()
        .unwrap()
    }

    async fn upload(s: &Arc<Store>, repo: i64, data: &[u8]) -> String {
        let id = s.new_upload(repo).unwrap();
        s.append(
            repo,
            &id,
            Some(0),
            Source::Bytes(Bytes::copy_from_slice(data)),
        )
        .await
        .unwrap();
        let d = sha256_digest(data);
        s.finish(repo, &id, &d).await.unwrap();
        d
    }

    fn content(s: &Store, repo: i64, digest: &str) -> Option<Vec<u8>> {
        let (size, object) = s.blob_object(repo, digest).unwrap()?;
        let mut out = Vec::new();
        s.read_object(&object, 0, size)
            .ok()?
            .read_to_end(&mut out)
            .unwrap();
        Some(out)
    }

    fn objects(s: &Store) -> Vec<String> {
        s.blobs.list().unwrap().into_iter().map(|l| l.key).collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn upload_verify_commit_and_gc() {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path());
        let r = repo(&s, "aa");
        assert!(
            s.create_repo(&NewRepo {
                region: "r",
                name: "aa",
                mutability: "MUTABLE",
                scan_on_push: false,
                encryption_type: "AES256",
                kms_key: None,
                tags: &[]
            })
            .unwrap()
            .is_none()
        );
        // chunked, with a lost in-memory hasher in the middle (re-hash at commit)
        let id = s.new_upload(r.id).unwrap();
        assert_eq!(
            s.append(
                r.id,
                &id,
                Some(0),
                Source::Bytes(Bytes::from_static(b"hello "))
            )
            .await
            .unwrap(),
            6
        );
        lock(&s.hashers).clear();
        assert!(matches!(
            s.append(r.id, &id, Some(3), Source::Bytes(Bytes::from_static(b"x")))
                .await,
            Err(StoreError::RangeInvalid { offset: 6 })
        ));
        assert_eq!(
            s.append(
                r.id,
                &id,
                Some(6),
                Source::Bytes(Bytes::from_static(b"world"))
            )
            .await
            .unwrap(),
            11
        );
        let d = sha256_digest(b"hello world");
        assert!(matches!(
            s.finish(r.id, &id, &sha256_digest(b"nope")).await,
            Err(StoreError::DigestMismatch { .. })
        ));
        assert!(
            matches!(s.upload_offset(r.id, &id), Err(StoreError::UploadUnknown)),
            "a failed upload is discarded"
        );
        assert!(objects(&s).is_empty(), "and its chunks: {:?}", objects(&s));
        // Two chunks again, this time committed: composed into one object.
        let id = s.new_upload(r.id).unwrap();
        for (at, part) in [(0, &b"hello "[..]), (6, b"world")] {
            s.append(r.id, &id, Some(at), Source::Bytes(Bytes::from_static(part)))
                .await
                .unwrap();
        }
        s.finish(r.id, &id, &d).await.unwrap();
        assert_eq!(content(&s, r.id, &d).unwrap(), b"hello world");
        assert_eq!(objects(&s).len(), 1, "the chunks went: {:?}", objects(&s));
        // The same blob again, in one chunk: linked, its own object deleted.
        let d2 = upload(&s, r.id, b"hello world").await;
        assert_eq!(d, d2);
        assert_eq!(objects(&s).len(), 1);
        assert_eq!(s.blob_in_repo(r.id, &d).unwrap(), Some(11));
        // manifest needs its blobs
        let cfg = upload(&s, r.id, b"{}").await;
        let m = serde_json::json!({"schemaVersion":2,"mediaType":crate::manifest::OCI_MANIFEST,
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":cfg,"size":2},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":d,"size":11}]})
        .to_string();
        let p = crate::manifest::parse(m.as_bytes(), None).unwrap();
        let md = sha256_digest(m.as_bytes());
        let other = repo(&s, "bb");
        assert!(
            matches!(s.put_image(other.id, &md, &p, m.as_bytes(), Some("v1"), false), Err(StoreError::ManifestBlobUnknown(ref v)) if v.len() == 2)
        );
        s.put_image(r.id, &md, &p, m.as_bytes(), Some("v1"), true)
            .unwrap();
        assert!(matches!(
            s.put_image(r.id, "sha256:00", &p, m.as_bytes(), Some("v1"), true),
            Err(StoreError::TagImmutable { .. })
        ));
        let img = s.resolve(r.id, "v1").unwrap().unwrap();
        assert_eq!(
            (img.digest.as_str(), img.manifest.as_slice()),
            (md.as_str(), m.as_bytes())
        );
        assert_eq!(img.tags, ["v1"]);
        assert!(matches!(
            s.unlink_blob(r.id, &d),
            Err(StoreError::BlobReferenced(_))
        ));
        // abandoned upload and unreferenced blob link survive a GC inside the grace period
        let stale = s.new_upload(r.id).unwrap();
        s.append(
            r.id,
            &stale,
            Some(0),
            Source::Bytes(Bytes::from_static(b"half")),
        )
        .await
        .unwrap();
        let loose = upload(&s, r.id, b"loose").await;
        assert_eq!(s.gc(DEFAULT_UPLOAD_MAX_AGE).unwrap(), GcStats::default());
        assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
        let st = s.gc(Duration::ZERO).unwrap();
        assert_eq!(
            (st.uploads_removed, st.links_removed, st.blobs_removed),
            (1, 1, 1)
        );
        assert!(content(&s, r.id, &loose).is_none());
        assert!(matches!(
            s.upload_offset(r.id, &stale),
            Err(StoreError::UploadUnknown)
        ));
        assert_eq!(
            objects(&s).len(),
            2,
            "the layer and the config: {:?}",
            objects(&s)
        );
        // deleting the image frees its blobs
        assert_eq!(s.delete_image(r.id, &md).unwrap(), vec!["v1".to_string()]);
        assert!(objects(&s).is_empty(), "{:?}", objects(&s));
        assert!(s.check().unwrap().is_empty());
    }

    /// A commit on one node and garbage collection on another, in the order that loses data
    /// when objects are shared: the collector removed the blob's row (nothing linked it) just
    /// before the commit ran. The commit records its own object, which the collector's
    /// deletion of the old one cannot touch.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_commit_beside_a_collection_keeps_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let kv: Arc<dyn Kv> =
            Arc::new(kagi_store::sqlite::SqliteStore::open(&dir.path().join("ecr.db")).unwrap());
        let blobs: Arc<dyn BlobStore> = Arc::new(FileBlobs::open(&dir.path().join("b")).unwrap());
        let a = Arc::new(Store::new(kv.clone(), "123456789012", blobs.clone()));
        let b = Arc::new(Store::new(kv, "123456789012", blobs));
        let r = repo(&a, "race");
        let d = upload(&a, r.id, b"layer").await;
        // Node B starts an upload of the same content...
        let id = b.new_upload(r.id).unwrap();
        b.append(
            r.id,
            &id,
            Some(0),
            Source::Bytes(Bytes::from_static(b"layer")),
        )
        .await
        .unwrap();
        // ...node A unlinks the blob and collects it (row, then object)...
        a.unlink_blob(r.id, &d).unwrap();
        assert!(a.blob_object(r.id, &d).unwrap().is_none());
        // ...and B's commit still yields the content.
        b.finish(r.id, &id, &d).await.unwrap();
        assert_eq!(content(&a, r.id, &d).unwrap(), b"layer");
        // The upload continues on the other node: POST on A, PATCH on B, PATCH on A, PUT on B.
        let id = a.new_upload(r.id).unwrap();
        b.append(
            r.id,
            &id,
            Some(0),
            Source::Bytes(Bytes::from_static(b"one ")),
        )
        .await
        .unwrap();
        a.append(
            r.id,
            &id,
            Some(4),
            Source::Bytes(Bytes::from_static(b"two")),
        )
        .await
        .unwrap();
        let d2 = sha256_digest(b"one two");
        b.finish(r.id, &id, &d2).await.unwrap();
        assert_eq!(content(&a, r.id, &d2).unwrap(), b"one two");
        assert!(a.check().unwrap().is_empty());
        // Two nodes commit the same new blob at once: one object stays, the other goes.
        let same = b"same content, twice";
        let ds = sha256_digest(same);
        let (ua, ub) = (a.new_upload(r.id).unwrap(), b.new_upload(r.id).unwrap());
        for (s, u) in [(&a, &ua), (&b, &ub)] {
            s.append(r.id, u, Some(0), Source::Bytes(Bytes::from_static(same)))
                .await
                .unwrap();
        }
        let (ra, rb) = tokio::join!(a.finish(r.id, &ua, &ds), b.finish(r.id, &ub, &ds));
        assert_eq!(
            (ra.unwrap(), rb.unwrap()),
            (same.len() as u64, same.len() as u64)
        );
        assert_eq!(content(&b, r.id, &ds).unwrap(), same);
        assert_eq!(objects(&a).len(), 3, "{:?}", objects(&a));
        assert!(a.check().unwrap().is_empty());
    }

    mod legacy {
        use crate::blobs::FileBlobs;
        use crate::store::{Source, Store};
        use crate::util::sha256_digest;
        use bytes::Bytes;
        use std::sync::Arc;

        /// The schema of `ecr.sqlite` as the versions before kagi-store wrote it.
        const OLD_SCHEMA: &str = include_str!("../tests/data/ecr-sqlite-v1.sql");

        #[tokio::test(flavor = "multi_thread")]
        async fn an_old_data_directory_is_imported_whole() {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let layer = b"layer bytes";
            let ld = sha256_digest(layer);
            let hex = ld.strip_prefix("sha256:").unwrap();
            std::fs::create_dir_all(d.join("blobs/sha256").join(&hex[..2])).unwrap();
            std::fs::write(d.join("blobs/sha256").join(&hex[..2]).join(hex), layer).unwrap();
            let manifest = br#"{"schemaVersion":2,"layers":[]}"#;
            let md = sha256_digest(manifest);
            let upload = uuid::Uuid::new_v4().to_string();
            std::fs::create_dir_all(d.join("blobs/_uploads")).unwrap();
            // An upload file longer than its recorded offset (a crash in the middle of a PATCH).
            std::fs::write(d.join("blobs/_uploads").join(&upload), b"half and garbage").unwrap();
            {
                let c = rusqlite::Connection::open(d.join("ecr.sqlite")).unwrap();
                c.execute_batch(OLD_SCHEMA).unwrap();
                c.execute_batch(&format!(
                    "INSERT INTO repos VALUES (7, 'eu-west-1', 'web', 1700000000.5, 'IMMUTABLE', 1, 'AES256', NULL, '{{\"Version\":\"2012-10-17\"}}');
                     INSERT INTO repo_tags VALUES (7, 'team', 'core');
                     INSERT INTO blobs VALUES ('{ld}', {len}, 1700000001.0);
                     INSERT INTO repo_blobs VALUES (7, '{ld}', 1700000001.0);
                     INSERT INTO images VALUES (7, '{md}', 'application/vnd.oci.image.manifest.v1+json', CAST('{m}' AS BLOB), 42, 1700000002.0, NULL);
                     INSERT INTO image_refs VALUES (7, '{md}', '{ld}', 'blob');
                     INSERT INTO tags VALUES (7, 'v1', '{md}');
                     INSERT INTO lifecycle VALUES (7, '{{\"rules\":[]}}', 1700000003.0, NULL, NULL);
                     INSERT INTO uploads VALUES ('{upload}', 7, 4, 1700000004.0, NULL, 0);",
                    len = layer.len(),
                    m = std::str::from_utf8(manifest).unwrap(),
                ))
                .unwrap();
            }
            let kv: Arc<dyn kagi_store::Kv> =
                Arc::new(kagi_store::sqlite::SqliteStore::open(&d.join("kagi.db")).unwrap());
            let s = Arc::new(Store::new(
                kv,
                "123456789012",
                Arc::new(FileBlobs::open(&d.join("blobs")).unwrap()),
            ));
            assert!(s.import_legacy(d).unwrap());
            assert!(!d.join("ecr.sqlite").exists() && d.join("ecr.sqlite.imported").exists());
            assert!(!s.import_legacy(d).unwrap(), "imported once");
            assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
            let r = s.get_repo("eu-west-1", "web").unwrap().unwrap();
            assert_eq!(
                (r.id, r.mutability.as_str(), r.scan_on_push),
                (7, "IMMUTABLE", true)
            );
            assert_eq!(r.policy.as_deref(), Some(r#"{"Version":"2012-10-17"}"#));
            assert_eq!(
                s.repo_tags(7).unwrap(),
                [("team".to_owned(), "core".to_owned())]
            );
            let img = s.resolve(7, "v1").unwrap().unwrap();
            assert_eq!((img.digest, img.manifest.as_slice()), (md, &manifest[..]));
            assert_eq!(s.blob_in_repo(7, &ld).unwrap(), Some(layer.len() as u64));
            assert_eq!(
                s.lifecycle_policy(7).unwrap(),
                Some((r#"{"rules":[]}"#.to_owned(), Some(1700000003.0)))
            );
            // The upload in progress continues where its offset says.
            assert_eq!(s.upload_offset(7, &upload).unwrap(), 4);
            s.append(
                7,
                &upload,
                Some(4),
                Source::Bytes(Bytes::from_static(b" done")),
            )
            .await
            .unwrap();
            let whole = sha256_digest(b"half done");
            s.finish(7, &upload, &whole).await.unwrap();
            assert_eq!(s.blob_in_repo(7, &whole).unwrap(), Some(9));
            assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
        }
    }
}
