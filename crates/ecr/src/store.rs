//! Storage: repository/image metadata in SQLite (`ecr.sqlite`), blobs on the filesystem.
//!
//! Layout under the data directory:
//! * `ecr.sqlite` — repositories, repository tags and policy, images (manifest bytes, media type,
//!   size, push time), image tags, which digests each image references, per-repository blob
//!   links, upload sessions (id, repository, offset, creation time), and each repository's
//!   lifecycle policy (text, when last applied, the last preview).
//! * `blobs/sha256/ab/abcdef…` — blob content, named by its sha256.
//! * `blobs/_uploads/<uuid>` — upload sessions in progress (same filesystem as the blobs, so the
//!   final rename is atomic).
//!
//! Invariants:
//! * A file under `blobs/sha256` has the content its name says: uploads are hashed while they are
//!   written (or re-hashed from disk when the in-memory state was lost), compared with the
//!   client's digest, fsynced, renamed into place, and the directory fsynced, before the blob is
//!   recorded in SQLite and linked to the repository.
//! * A blob is visible in a repository only through a link (`repo_blobs`); a manifest is stored
//!   only when every blob it references is linked in its repository (or, for an index, every
//!   child manifest is an image of the repository), inside one SQLite transaction.
//! * Blob visibility and garbage collection are serialised by `commit_lock`, so collection never
//!   deletes a file that is being committed.
//! * Request bodies are streamed to disk through a bounded channel; no layer is held in memory.

use crate::error::StoreError;
use crate::manifest::Parsed;
use crate::util::{epoch, hex, now};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long an upload (and an uploaded but unreferenced blob link) may sit idle before garbage
/// collection removes it.
pub const DEFAULT_UPLOAD_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// ECR's minimum size of a layer part that is not the last one (`LayerPartTooSmallException`).
pub const MIN_API_PART: u64 = 5 * 1024 * 1024;

/// How many received bytes between background `fdatasync`s of an upload.
const SYNC_EVERY: usize = 16 << 20;

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: i64,
    pub region: String,
    pub name: String,
    pub created_at: f64,
    pub mutability: String,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
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

pub struct Store {
    blobs_dir: PathBuf,
    uploads_dir: PathBuf,
    db: Mutex<Connection>,
    commit_lock: Mutex<()>,
    /// Running sha256 of an upload's first `offset` bytes, kept between requests.
    hashers: Mutex<HashMap<String, (u64, Sha256)>>,
    busy: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const SCHEMA: &str = "
PRAGMA journal_mode=WAL;
PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS repos(id INTEGER PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL,
  created_at REAL NOT NULL, mutability TEXT NOT NULL, scan_on_push INTEGER NOT NULL,
  encryption_type TEXT NOT NULL, kms_key TEXT, policy TEXT, UNIQUE(region, name));
CREATE TABLE IF NOT EXISTS repo_tags(repo_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(repo_id, key));
CREATE TABLE IF NOT EXISTS blobs(digest TEXT PRIMARY KEY, size INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS repo_blobs(repo_id INTEGER NOT NULL, digest TEXT NOT NULL, linked_at REAL NOT NULL,
  PRIMARY KEY(repo_id, digest));
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs(digest);
CREATE TABLE IF NOT EXISTS images(repo_id INTEGER NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
  manifest BLOB NOT NULL, size INTEGER NOT NULL, pushed_at REAL NOT NULL, artifact_media_type TEXT,
  PRIMARY KEY(repo_id, digest));
CREATE TABLE IF NOT EXISTS image_refs(repo_id INTEGER NOT NULL, image_digest TEXT NOT NULL,
  ref_digest TEXT NOT NULL, kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS image_refs_img ON image_refs(repo_id, image_digest);
CREATE INDEX IF NOT EXISTS image_refs_ref ON image_refs(repo_id, ref_digest);
CREATE TABLE IF NOT EXISTS tags(repo_id INTEGER NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY(repo_id, tag));
CREATE TABLE IF NOT EXISTS lifecycle(repo_id INTEGER PRIMARY KEY, policy TEXT, evaluated_at REAL,
  preview_policy TEXT, preview_results TEXT);
CREATE TABLE IF NOT EXISTS uploads(id TEXT PRIMARY KEY, repo_id INTEGER NOT NULL, offset INTEGER NOT NULL,
  created_at REAL NOT NULL, last_part INTEGER, small_part INTEGER NOT NULL DEFAULT 0);
";

fn repo_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Repo> {
    Ok(Repo {
        id: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        mutability: r.get(4)?,
        scan_on_push: r.get::<_, i64>(5)? != 0,
        encryption_type: r.get(6)?,
        kms_key: r.get(7)?,
        policy: r.get(8)?,
    })
}
const REPO_COLS: &str =
    "id, region, name, created_at, mutability, scan_on_push, encryption_type, kms_key, policy";

fn fsync_dir(p: &Path) -> std::io::Result<()> {
    std::fs::File::open(p)?.sync_all()
}

fn hash_file(path: &Path, len: u64) -> std::io::Result<Sha256> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = f.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::other(
                "upload file shorter than its recorded offset",
            ));
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(h)
}

fn finish_hex(h: Sha256) -> String {
    format!("sha256:{}", hex(&h.finalize()))
}

/// Marks an upload as in use for the guard's lifetime.
struct Busy<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}
impl Drop for Busy<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(&self.id);
    }
}

impl Store {
    pub fn open(root: &Path) -> anyhow::Result<Store> {
        let blobs_dir = root.join("blobs").join("sha256");
        let uploads_dir = root.join("blobs").join("_uploads");
        std::fs::create_dir_all(&blobs_dir)?;
        std::fs::create_dir_all(&uploads_dir)?;
        let conn = Connection::open(root.join("ecr.sqlite"))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            blobs_dir,
            uploads_dir,
            db: Mutex::new(conn),
            commit_lock: Mutex::new(()),
            hashers: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashSet::new()),
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        lock(&self.db)
    }

    /// Verifies the store (`kagi serve --check`): every recorded blob has its file, of its
    /// size and with its sha256; every blob an image references is recorded and linked in the
    /// image's repository; every child manifest of an index is an image of its repository;
    /// every tag names an image; every link names a recorded blob. Returns the damage found,
    /// one sentence each (empty: none). Reads only.
    pub fn check(&self) -> anyhow::Result<Vec<String>> {
        let db = self.db();
        let mut problems = Vec::new();
        let rows = |sql: &str| -> anyhow::Result<Vec<(String, String, String)>> {
            let mut st = db.prepare(sql)?;
            let r = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(r)
        };
        let blobs: Vec<(String, i64)> = {
            let mut st = db.prepare("SELECT digest, size FROM blobs ORDER BY digest")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (digest, size) in &blobs {
            let path = self.blob_path(digest);
            match std::fs::metadata(&path) {
                Err(_) => {
                    problems.push(format!("blob {digest} is recorded but its file is missing"))
                }
                Ok(m) if m.len() != *size as u64 => problems.push(format!(
                    "blob {digest} is {} bytes on disk, {size} recorded",
                    m.len()
                )),
                Ok(_) => {
                    let got = hash_file(&path, *size as u64)
                        .map(|h| format!("sha256:{}", hex(&h.finalize())))
                        .unwrap_or_default();
                    if &got != digest {
                        problems.push(format!("blob {digest}'s content hashes to {got}"));
                    }
                }
            }
        }
        for (repo, image, blob) in rows(
            "SELECT r.name, i.image_digest, i.ref_digest FROM image_refs i JOIN repos r ON r.id = i.repo_id
             WHERE i.kind = 'blob' AND (NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = i.ref_digest)
               OR NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.repo_id = i.repo_id AND l.digest = i.ref_digest))",
        )? {
            problems.push(format!("image {image} of {repo} references blob {blob}, which is not in the repository"));
        }
        for (repo, image, child) in rows(
            "SELECT r.name, i.image_digest, i.ref_digest FROM image_refs i JOIN repos r ON r.id = i.repo_id
             WHERE i.kind = 'manifest' AND NOT EXISTS
               (SELECT 1 FROM images m WHERE m.repo_id = i.repo_id AND m.digest = i.ref_digest)",
        )? {
            problems.push(format!("index {image} of {repo} lists manifest {child}, which is not an image of it"));
        }
        for (repo, tag, digest) in rows(
            "SELECT r.name, t.tag, t.digest FROM tags t JOIN repos r ON r.id = t.repo_id
             WHERE NOT EXISTS (SELECT 1 FROM images m WHERE m.repo_id = t.repo_id AND m.digest = t.digest)",
        )? {
            problems.push(format!("tag {tag} of {repo} names {digest}, which is not an image of it"));
        }
        for (repo, digest, _) in rows(
            "SELECT r.name, l.digest, '' FROM repo_blobs l JOIN repos r ON r.id = l.repo_id
             WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = l.digest)",
        )? {
            problems.push(format!("{repo} links blob {digest}, which is not recorded"));
        }
        Ok(problems)
    }

    // ---- repositories -------------------------------------------------------------------

    /// Creates a repository; `Ok(None)` when it already exists.
    pub fn create_repo(&self, n: &NewRepo<'_>) -> Result<Option<Repo>, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let exists: Option<i64> = tx
            .query_row(
                "SELECT id FROM repos WHERE region=?1 AND name=?2",
                params![n.region, n.name],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO repos(region, name, created_at, mutability, scan_on_push, encryption_type, kms_key) VALUES(?1,?2,?3,?4,?5,?6,?7)",
            params![n.region, n.name, (epoch(now()) * 1000.0).floor() / 1000.0, n.mutability, n.scan_on_push as i64, n.encryption_type, n.kms_key],
        )?;
        let id = tx.last_insert_rowid();
        for (k, v) in n.tags {
            tx.execute(
                "INSERT OR REPLACE INTO repo_tags(repo_id, key, value) VALUES(?1,?2,?3)",
                params![id, k, v],
            )?;
        }
        let repo = tx.query_row(
            &format!("SELECT {REPO_COLS} FROM repos WHERE id=?1"),
            [id],
            repo_from_row,
        )?;
        tx.commit()?;
        Ok(Some(repo))
    }

    pub fn get_repo(&self, region: &str, name: &str) -> Result<Option<Repo>, StoreError> {
        Ok(self
            .db()
            .query_row(
                &format!("SELECT {REPO_COLS} FROM repos WHERE region=?1 AND name=?2"),
                params![region, name],
                repo_from_row,
            )
            .optional()?)
    }

    /// Repositories of a region, sorted by name.
    pub fn list_repos(&self, region: &str) -> Result<Vec<Repo>, StoreError> {
        let db = self.db();
        let mut st = db.prepare(&format!(
            "SELECT {REPO_COLS} FROM repos WHERE region=?1 ORDER BY name"
        ))?;
        let rows = st
            .query_map([region], repo_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn image_count(&self, repo_id: i64) -> Result<u64, StoreError> {
        Ok(self.db().query_row(
            "SELECT COUNT(*) FROM images WHERE repo_id=?1",
            [repo_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Deletes the repository, its images, tags, links and uploads, then collects garbage.
    pub fn delete_repo(&self, repo_id: i64) -> Result<(), StoreError> {
        let uploads: Vec<String> = {
            let mut db = self.db();
            let tx = db.transaction()?;
            let ups = {
                let mut st = tx.prepare("SELECT id FROM uploads WHERE repo_id=?1")?;
                st.query_map([repo_id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?
            };
            for t in [
                "repo_tags",
                "repo_blobs",
                "images",
                "image_refs",
                "tags",
                "uploads",
                "lifecycle",
            ] {
                tx.execute(&format!("DELETE FROM {t} WHERE repo_id=?1"), [repo_id])?;
            }
            tx.execute("DELETE FROM repos WHERE id=?1", [repo_id])?;
            tx.commit()?;
            ups
        };
        for u in uploads {
            lock(&self.hashers).remove(&u);
            let _ = std::fs::remove_file(self.uploads_dir.join(&u));
        }
        self.gc(DEFAULT_UPLOAD_MAX_AGE)?;
        Ok(())
    }

    pub fn set_policy(&self, repo_id: i64, policy: Option<&str>) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE repos SET policy=?1 WHERE id=?2",
            params![policy, repo_id],
        )?;
        Ok(())
    }

    /// The repository's lifecycle policy and when it was last applied.
    pub fn lifecycle_policy(
        &self,
        repo_id: i64,
    ) -> Result<Option<(String, Option<f64>)>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT policy, evaluated_at FROM lifecycle WHERE repo_id=?1 AND policy IS NOT NULL",
                [repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Sets (or, with `None`, removes) the lifecycle policy; either way `evaluated_at` restarts.
    pub fn set_lifecycle_policy(
        &self,
        repo_id: i64,
        policy: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO lifecycle(repo_id, policy) VALUES(?1, ?2)
             ON CONFLICT(repo_id) DO UPDATE SET policy=?2, evaluated_at=NULL",
            params![repo_id, policy],
        )?;
        Ok(())
    }

    /// Records that the policy `policy` was applied at `at` (unless it was replaced meanwhile).
    pub fn set_lifecycle_evaluated(
        &self,
        repo_id: i64,
        policy: &str,
        at: f64,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE lifecycle SET evaluated_at=?3 WHERE repo_id=?1 AND policy=?2",
            params![repo_id, policy, at],
        )?;
        Ok(())
    }

    /// Every repository with a lifecycle policy: (repository id, policy text).
    pub fn lifecycle_policies(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT l.repo_id, l.policy FROM lifecycle l JOIN repos r ON r.id=l.repo_id WHERE l.policy IS NOT NULL ORDER BY l.repo_id",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Stores the last lifecycle policy preview (the policy text and the results as JSON).
    pub fn set_lifecycle_preview(
        &self,
        repo_id: i64,
        policy: &str,
        results: &str,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO lifecycle(repo_id, preview_policy, preview_results) VALUES(?1, ?2, ?3)
             ON CONFLICT(repo_id) DO UPDATE SET preview_policy=?2, preview_results=?3",
            params![repo_id, policy, results],
        )?;
        Ok(())
    }

    /// The last lifecycle policy preview: (policy text, results JSON).
    pub fn lifecycle_preview(&self, repo_id: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT preview_policy, preview_results FROM lifecycle WHERE repo_id=?1 AND preview_policy IS NOT NULL",
                [repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn set_mutability(&self, repo_id: i64, m: &str) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE repos SET mutability=?1 WHERE id=?2",
            params![m, repo_id],
        )?;
        Ok(())
    }

    pub fn set_scan_on_push(&self, repo_id: i64, scan: bool) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE repos SET scan_on_push=?1 WHERE id=?2",
            params![scan as i64, repo_id],
        )?;
        Ok(())
    }

    pub fn repo_tags(&self, repo_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let db = self.db();
        let mut st =
            db.prepare("SELECT key, value FROM repo_tags WHERE repo_id=?1 ORDER BY key")?;
        let rows = st
            .query_map([repo_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn tag_repo(&self, repo_id: i64, tags: &[(String, String)]) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for (k, v) in tags {
            tx.execute(
                "INSERT OR REPLACE INTO repo_tags(repo_id, key, value) VALUES(?1,?2,?3)",
                params![repo_id, k, v],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn untag_repo(&self, repo_id: i64, keys: &[String]) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for k in keys {
            tx.execute(
                "DELETE FROM repo_tags WHERE repo_id=?1 AND key=?2",
                params![repo_id, k],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    // ---- blobs --------------------------------------------------------------------------

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.blobs_dir.join(&hex[..2.min(hex.len())]).join(hex)
    }

    /// The blob's size when it is linked in the repository.
    pub fn blob_in_repo(&self, repo_id: i64, digest: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest=l.digest WHERE l.repo_id=?1 AND l.digest=?2",
                params![repo_id, digest],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }

    /// Links an existing blob into a repository (cross-repository mount). False when the blob
    /// is not stored at all.
    pub fn link_blob(&self, repo_id: i64, digest: &str) -> Result<bool, StoreError> {
        let _g = lock(&self.commit_lock);
        let db = self.db();
        let exists: Option<i64> = db
            .query_row("SELECT size FROM blobs WHERE digest=?1", [digest], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        db.execute(
            "INSERT OR REPLACE INTO repo_blobs(repo_id, digest, linked_at) VALUES(?1,?2,?3)",
            params![repo_id, digest, epoch(now())],
        )?;
        Ok(true)
    }

    /// Removes a blob's link from a repository unless an image of the repository references it.
    pub fn unlink_blob(&self, repo_id: i64, digest: &str) -> Result<(), StoreError> {
        {
            let db = self.db();
            let referenced: Option<i64> = db
                .query_row(
                    "SELECT 1 FROM image_refs WHERE repo_id=?1 AND ref_digest=?2 LIMIT 1",
                    params![repo_id, digest],
                    |r| r.get(0),
                )
                .optional()?;
            if referenced.is_some() {
                return Err(StoreError::BlobReferenced(digest.into()));
            }
            if db.execute(
                "DELETE FROM repo_blobs WHERE repo_id=?1 AND digest=?2",
                params![repo_id, digest],
            )? == 0
            {
                return Err(StoreError::BlobUnknown(digest.into()));
            }
        }
        self.gc(DEFAULT_UPLOAD_MAX_AGE)?;
        Ok(())
    }

    /// Moves a verified file into the blob store and links it, atomically and durably.
    fn commit_blob(
        &self,
        tmp: &Path,
        digest: &str,
        size: u64,
        repo_id: i64,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        // The content is made durable outside the lock: the temporary file belongs to this
        // upload alone, and concurrent uploads can then flush in parallel.
        {
            let f = std::fs::OpenOptions::new().write(true).open(tmp)?;
            f.set_len(size)?;
            f.sync_all()?;
        }
        let _g = lock(&self.commit_lock);
        let dest = self.blob_path(digest);
        let known: Option<i64> = self
            .db()
            .query_row("SELECT size FROM blobs WHERE digest=?1", [digest], |r| {
                r.get(0)
            })
            .optional()?;
        if known.is_some() && dest.exists() {
            std::fs::remove_file(tmp)?;
        } else {
            let dir = dest.parent().expect("blob path has a parent");
            std::fs::create_dir_all(dir)?;
            std::fs::rename(tmp, &dest)?;
            fsync_dir(dir)?;
            fsync_dir(&self.uploads_dir)?;
        }
        let mut db = self.db();
        let tx = db.transaction()?;
        let t = epoch(now());
        tx.execute(
            "INSERT OR IGNORE INTO blobs(digest, size, created_at) VALUES(?1,?2,?3)",
            params![digest, size as i64, t],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO repo_blobs(repo_id, digest, linked_at) VALUES(?1,?2,?3)",
            params![repo_id, digest, t],
        )?;
        tx.execute("DELETE FROM uploads WHERE id=?1", [upload_id])?;
        tx.commit()?;
        Ok(())
    }

    // ---- uploads ------------------------------------------------------------------------

    pub fn new_upload(&self, repo_id: i64) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.db().execute(
            "INSERT INTO uploads(id, repo_id, offset, created_at) VALUES(?1,?2,0,?3)",
            params![id, repo_id, epoch(now())],
        )?;
        std::fs::File::create(self.uploads_dir.join(&id))?;
        Ok(id)
    }

    /// The upload's current offset (bytes received).
    pub fn upload_offset(&self, repo_id: i64, id: &str) -> Result<u64, StoreError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(StoreError::UploadUnknown);
        }
        self.db()
            .query_row(
                "SELECT offset FROM uploads WHERE id=?1 AND repo_id=?2",
                params![id, repo_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|o| o as u64)
            .ok_or(StoreError::UploadUnknown)
    }

    /// Records an API `UploadLayerPart` of `size` bytes. A part followed by another one must be
    /// at least [`MIN_API_PART`] bytes; a violation is remembered for `CompleteLayerUpload`.
    pub fn note_api_part(&self, id: &str, size: u64) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE uploads SET small_part = small_part OR (last_part IS NOT NULL AND last_part < ?2), last_part = ?3 WHERE id=?1",
            params![id, MIN_API_PART as i64, size as i64],
        )?;
        Ok(())
    }

    /// True when a non-final API part was smaller than [`MIN_API_PART`].
    pub fn has_small_part(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT small_part FROM uploads WHERE id=?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .unwrap_or(0)
            != 0)
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

    /// Appends `src` to the upload. `start`, when given, must equal the current offset.
    /// Returns the new offset. The body is streamed to a blocking writer thread through a
    /// bounded channel, hashed on the way.
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
            .map(|(_, h)| h);
        let path = self.uploads_dir.join(id);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, Sha256)> {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)?;
            if f.metadata()?.len() < offset {
                return Err(std::io::Error::other(
                    "upload file shorter than its recorded offset",
                ));
            }
            f.set_len(offset)?;
            let mut h = match hasher {
                Some(h) => h,
                None => hash_file(&path, offset)?,
            };
            f.seek(SeekFrom::Start(offset))?;
            // Flush to disk in the background while receiving, so the fsync that makes the blob
            // durable at commit only has the tail left to write.
            let (sync_tx, sync_rx) = std::sync::mpsc::sync_channel::<()>(1);
            let for_sync = f.try_clone()?;
            std::thread::spawn(move || {
                while sync_rx.recv().is_ok() {
                    let _ = for_sync.sync_data();
                }
            });
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let mut n = offset;
            let mut unsynced = 0usize;
            while let Some(b) = rx.blocking_recv() {
                h.update(&b);
                w.write_all(&b)?;
                n += b.len() as u64;
                unsynced += b.len();
                if unsynced >= SYNC_EVERY {
                    w.flush()?;
                    let _ = sync_tx.try_send(());
                    unsynced = 0;
                }
            }
            w.flush()?;
            Ok((n, h))
        });
        let mut body_err = None;
        match src {
            Source::Bytes(b) => {
                let _ = tx.send(b).await;
            }
            Source::Body(mut body) => loop {
                match body.frame().await {
                    None => break,
                    Some(Ok(f)) => {
                        if let Ok(d) = f.into_data()
                            && !d.is_empty()
                            && tx.send(d).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        body_err = Some(e);
                        break;
                    }
                }
            },
        }
        drop(tx);
        let (n, h) = writer.await.map_err(|e| StoreError::Io(e.into()))??;
        self.db().execute(
            "UPDATE uploads SET offset=?1 WHERE id=?2",
            params![n as i64, id],
        )?;
        lock(&self.hashers).insert(id.to_string(), (n, h));
        if let Some(e) = body_err {
            return Err(StoreError::UploadInvalid(format!(
                "reading the request body failed: {e}"
            )));
        }
        Ok(n)
    }

    /// Verifies the upload against `digest` and commits it as a blob of the repository.
    /// On a digest mismatch the upload is discarded.
    pub async fn finish(
        self: &Arc<Self>,
        repo_id: i64,
        id: &str,
        digest: &str,
    ) -> Result<u64, StoreError> {
        let offset = self.upload_offset(repo_id, id)?;
        let busy = self.claim(id)?;
        let hasher = lock(&self.hashers)
            .remove(id)
            .filter(|(o, _)| *o == offset)
            .map(|(_, h)| h);
        let store = self.clone();
        let id2 = id.to_string();
        let digest2 = digest.to_string();
        let res = tokio::task::spawn_blocking(move || -> Result<u64, StoreError> {
            let path = store.uploads_dir.join(&id2);
            let h = match hasher {
                Some(h) => h,
                None => hash_file(&path, offset)?,
            };
            let actual = finish_hex(h);
            if actual != digest2 {
                store
                    .db()
                    .execute("DELETE FROM uploads WHERE id=?1", [&id2])?;
                let _ = std::fs::remove_file(&path);
                return Err(StoreError::DigestMismatch {
                    expected: digest2,
                    actual,
                });
            }
            store.commit_blob(&path, &digest2, offset, repo_id, &id2)?;
            Ok(offset)
        })
        .await
        .map_err(|e| StoreError::Io(e.into()))?;
        drop(busy);
        res
    }

    pub fn cancel_upload(&self, repo_id: i64, id: &str) -> Result<(), StoreError> {
        self.upload_offset(repo_id, id)?;
        let _busy = self.claim(id)?;
        self.db().execute("DELETE FROM uploads WHERE id=?1", [id])?;
        lock(&self.hashers).remove(id);
        let _ = std::fs::remove_file(self.uploads_dir.join(id));
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
        let mut db = self.db();
        let tx = db.transaction()?;
        let mut missing = vec![];
        for b in &parsed.blobs {
            let linked: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM repo_blobs WHERE repo_id=?1 AND digest=?2",
                    params![repo_id, b],
                    |r| r.get(0),
                )
                .optional()?;
            if linked.is_none() {
                missing.push(b.clone());
            }
        }
        for m in &parsed.manifests {
            let present: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM images WHERE repo_id=?1 AND digest=?2",
                    params![repo_id, m],
                    |r| r.get(0),
                )
                .optional()?;
            if present.is_none() {
                missing.push(m.clone());
            }
        }
        if !missing.is_empty() {
            return Err(StoreError::ManifestBlobUnknown(missing));
        }
        let mut tag_unchanged = true;
        if let Some(tag) = tag {
            let cur: Option<String> = tx
                .query_row(
                    "SELECT digest FROM tags WHERE repo_id=?1 AND tag=?2",
                    params![repo_id, tag],
                    |r| r.get(0),
                )
                .optional()?;
            tag_unchanged = cur.as_deref() == Some(digest);
            if immutable && cur.is_some() && !tag_unchanged {
                return Err(StoreError::TagImmutable { tag: tag.into() });
            }
        }
        let image_existed: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM images WHERE repo_id=?1 AND digest=?2",
                params![repo_id, digest],
                |r| r.get(0),
            )
            .optional()?;
        if image_existed.is_none() {
            tx.execute(
                "INSERT INTO images(repo_id, digest, media_type, manifest, size, pushed_at, artifact_media_type) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                params![repo_id, digest, parsed.media_type, manifest, parsed.size as i64, (epoch(now()) * 1000.0).floor() / 1000.0, parsed.config_media_type],
            )?;
            for b in &parsed.blobs {
                tx.execute("INSERT INTO image_refs(repo_id, image_digest, ref_digest, kind) VALUES(?1,?2,?3,'blob')", params![repo_id, digest, b])?;
            }
            for m in &parsed.manifests {
                tx.execute("INSERT INTO image_refs(repo_id, image_digest, ref_digest, kind) VALUES(?1,?2,?3,'manifest')", params![repo_id, digest, m])?;
            }
        }
        if let Some(tag) = tag {
            tx.execute(
                "INSERT OR REPLACE INTO tags(repo_id, tag, digest) VALUES(?1,?2,?3)",
                params![repo_id, tag, digest],
            )?;
        }
        tx.commit()?;
        Ok(PutOutcome {
            image_existed: image_existed.is_some(),
            tag_unchanged,
        })
    }

    fn image_tags(db: &Connection, repo_id: i64, digest: &str) -> rusqlite::Result<Vec<String>> {
        let mut st =
            db.prepare_cached("SELECT tag FROM tags WHERE repo_id=?1 AND digest=?2 ORDER BY tag")?;
        st.query_map(params![repo_id, digest], |r| r.get(0))?
            .collect()
    }

    fn image_by_digest(
        db: &Connection,
        repo_id: i64,
        digest: &str,
    ) -> rusqlite::Result<Option<ImageRow>> {
        let row = db
            .query_row(
                "SELECT digest, media_type, manifest, size, pushed_at, artifact_media_type FROM images WHERE repo_id=?1 AND digest=?2",
                params![repo_id, digest],
                |r| {
                    Ok(ImageRow {
                        digest: r.get(0)?,
                        media_type: r.get(1)?,
                        manifest: r.get(2)?,
                        size: r.get::<_, i64>(3)? as u64,
                        pushed_at: r.get(4)?,
                        artifact_media_type: r.get(5)?,
                        tags: vec![],
                    })
                },
            )
            .optional()?;
        match row {
            Some(mut i) => {
                i.tags = Self::image_tags(db, repo_id, digest)?;
                Ok(Some(i))
            }
            None => Ok(None),
        }
    }

    /// Resolves a tag or digest reference.
    pub fn resolve(&self, repo_id: i64, reference: &str) -> Result<Option<ImageRow>, StoreError> {
        let db = self.db();
        let digest = if crate::util::looks_like_digest(reference) {
            reference.to_string()
        } else {
            match db
                .query_row(
                    "SELECT digest FROM tags WHERE repo_id=?1 AND tag=?2",
                    params![repo_id, reference],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
            {
                Some(d) => d,
                None => return Ok(None),
            }
        };
        Ok(Self::image_by_digest(&db, repo_id, &digest)?)
    }

    /// All images of a repository, by digest.
    pub fn list_images(&self, repo_id: i64) -> Result<Vec<ImageRow>, StoreError> {
        let db = self.db();
        let digests: Vec<String> = {
            let mut st =
                db.prepare("SELECT digest FROM images WHERE repo_id=?1 ORDER BY digest")?;
            st.query_map([repo_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(digests.len());
        for d in digests {
            if let Some(i) = Self::image_by_digest(&db, repo_id, &d)? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// Tags of a repository, sorted.
    pub fn list_tags(&self, repo_id: i64) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT tag FROM tags WHERE repo_id=?1 ORDER BY tag")?;
        let rows = st
            .query_map([repo_id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Removes a tag; returns the digest it pointed at.
    pub fn delete_tag(&self, repo_id: i64, tag: &str) -> Result<Option<String>, StoreError> {
        let db = self.db();
        let d: Option<String> = db
            .query_row(
                "SELECT digest FROM tags WHERE repo_id=?1 AND tag=?2",
                params![repo_id, tag],
                |r| r.get(0),
            )
            .optional()?;
        if d.is_some() {
            db.execute(
                "DELETE FROM tags WHERE repo_id=?1 AND tag=?2",
                params![repo_id, tag],
            )?;
        }
        Ok(d)
    }

    /// Deletes an image and its tags, unlinks blobs no other image of the repository uses, and
    /// collects garbage. Returns the tags it had.
    pub fn delete_image(&self, repo_id: i64, digest: &str) -> Result<Vec<String>, StoreError> {
        let tags = {
            let mut db = self.db();
            let tx = db.transaction()?;
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM images WHERE repo_id=?1 AND digest=?2",
                    params![repo_id, digest],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::ManifestUnknown);
            }
            let parent: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM image_refs WHERE repo_id=?1 AND ref_digest=?2 AND kind='manifest' LIMIT 1",
                    params![repo_id, digest],
                    |r| r.get(0),
                )
                .optional()?;
            if parent.is_some() {
                return Err(StoreError::ImageReferenced(digest.into()));
            }
            let tags = Self::image_tags(&tx, repo_id, digest)?;
            let refs: Vec<String> = {
                let mut st = tx.prepare("SELECT ref_digest FROM image_refs WHERE repo_id=?1 AND image_digest=?2 AND kind='blob'")?;
                st.query_map(params![repo_id, digest], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            tx.execute(
                "DELETE FROM tags WHERE repo_id=?1 AND digest=?2",
                params![repo_id, digest],
            )?;
            tx.execute(
                "DELETE FROM image_refs WHERE repo_id=?1 AND image_digest=?2",
                params![repo_id, digest],
            )?;
            tx.execute(
                "DELETE FROM images WHERE repo_id=?1 AND digest=?2",
                params![repo_id, digest],
            )?;
            for r in refs {
                tx.execute(
                    "DELETE FROM repo_blobs WHERE repo_id=?1 AND digest=?2 AND NOT EXISTS (SELECT 1 FROM image_refs WHERE repo_id=?1 AND ref_digest=?2)",
                    params![repo_id, r],
                )?;
            }
            tx.commit()?;
            tags
        };
        self.gc(DEFAULT_UPLOAD_MAX_AGE)?;
        Ok(tags)
    }

    // ---- garbage collection -------------------------------------------------------------

    /// Removes uploads idle longer than `max_age` (and upload files without a session),
    /// repository links to blobs that no image references and that are older than `max_age`,
    /// blobs linked nowhere, and blob files the database does not know (a crash between rename
    /// and commit).
    pub fn gc(&self, max_age: Duration) -> Result<GcStats, StoreError> {
        let _g = lock(&self.commit_lock);
        let mut stats = GcStats::default();
        let cutoff = epoch(now()) - max_age.as_secs_f64();
        // 1. abandoned uploads
        let (old, live): (Vec<String>, HashSet<String>) = {
            let db = self.db();
            let mut st = db.prepare("SELECT id, created_at FROM uploads")?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let busy = lock(&self.busy);
            let old: Vec<String> = rows
                .iter()
                .filter(|(id, t)| *t < cutoff && !busy.contains(id))
                .map(|(id, _)| id.clone())
                .collect();
            let live = rows.into_iter().map(|(id, _)| id).collect();
            (old, live)
        };
        for id in &old {
            self.db().execute("DELETE FROM uploads WHERE id=?1", [id])?;
            lock(&self.hashers).remove(id);
            let _ = std::fs::remove_file(self.uploads_dir.join(id));
            stats.uploads_removed += 1;
        }
        for e in std::fs::read_dir(&self.uploads_dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !live.contains(&name) {
                let _ = std::fs::remove_file(e.path());
                stats.uploads_removed += 1;
            }
        }
        // 2. stale unreferenced links, 3. blobs linked nowhere
        let dead: Vec<String> = {
            let mut db = self.db();
            let tx = db.transaction()?;
            stats.links_removed = tx.execute(
                "DELETE FROM repo_blobs WHERE linked_at < ?1 AND NOT EXISTS
                   (SELECT 1 FROM image_refs r WHERE r.repo_id=repo_blobs.repo_id AND r.ref_digest=repo_blobs.digest)",
                [cutoff],
            )?;
            let dead: Vec<String> = {
                let mut st = tx.prepare("SELECT digest FROM blobs WHERE NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.digest=blobs.digest)")?;
                st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
            };
            for d in &dead {
                tx.execute("DELETE FROM blobs WHERE digest=?1", [d])?;
            }
            tx.commit()?;
            dead
        };
        for d in &dead {
            let _ = std::fs::remove_file(self.blob_path(d));
            stats.blobs_removed += 1;
        }
        // 4. files the database does not know
        let known: HashSet<String> = {
            let db = self.db();
            let mut st = db.prepare("SELECT digest FROM blobs")?;
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()?
        };
        for sub in std::fs::read_dir(&self.blobs_dir)? {
            let sub = sub?;
            if !sub.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(sub.path())? {
                let f = f?;
                let d = format!("sha256:{}", f.file_name().to_string_lossy());
                if !known.contains(&d) {
                    let _ = std::fs::remove_file(f.path());
                    stats.blobs_removed += 1;
                }
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::sha256_digest;

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

    #[tokio::test]
    async fn upload_verify_commit_and_gc() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(Store::open(dir.path()).unwrap());
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
        // chunked, with a lost in-memory hasher in the middle (re-hash from disk)
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
        let d2 = upload(&s, r.id, b"hello world").await;
        assert_eq!(d, d2);
        assert_eq!(std::fs::read(s.blob_path(&d)).unwrap(), b"hello world");
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
        assert_eq!(s.resolve(r.id, "v1").unwrap().unwrap().digest, md);
        // abandoned upload and unreferenced blob link survive a GC inside the grace period
        let stale = s.new_upload(r.id).unwrap();
        let loose = upload(&s, r.id, b"loose").await;
        assert_eq!(s.gc(DEFAULT_UPLOAD_MAX_AGE).unwrap(), GcStats::default());
        let st = s.gc(Duration::ZERO).unwrap();
        assert_eq!(
            (st.uploads_removed, st.links_removed, st.blobs_removed),
            (1, 1, 1)
        );
        assert!(!s.blob_path(&loose).exists());
        assert!(matches!(
            s.upload_offset(r.id, &stale),
            Err(StoreError::UploadUnknown)
        ));
        // deleting the image frees its blobs
        assert!(s.blob_path(&d).exists());
        assert_eq!(s.delete_image(r.id, &md).unwrap(), vec!["v1".to_string()]);
        assert!(!s.blob_path(&d).exists() && !s.blob_path(&cfg).exists());
    }
}
