//! Reading the `ecr.sqlite` of data directories written before ECR's metadata moved into
//! `kagi-store` ([`crate::store::Store::import_legacy`] writes what this reads).

use rusqlite::{Connection, OpenFlags};
use std::path::Path;

pub(crate) struct LegacyRepo {
    pub id: i64,
    pub region: String,
    pub name: String,
    pub created_at: f64,
    pub mutability: String,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
    pub policy: Option<String>,
    pub tags: Vec<(String, String)>,
}

pub(crate) struct LegacyImage {
    pub repo: i64,
    pub digest: String,
    pub media_type: String,
    pub manifest: Vec<u8>,
    pub size: u64,
    pub pushed_at: f64,
    pub artifact_media_type: Option<String>,
    pub blobs: Vec<String>,
    pub manifests: Vec<String>,
}

pub(crate) struct LegacyUpload {
    pub id: String,
    pub repo: i64,
    pub offset: u64,
    pub created_at: f64,
    pub last_part: Option<u64>,
    pub small_part: bool,
}

/// Lifecycle row: policy, evaluated_at, preview policy, preview results.
pub(crate) type LegacyLifecycle = (Option<String>, Option<f64>, Option<String>, Option<String>);

pub(crate) struct Legacy {
    pub repos: Vec<LegacyRepo>,
    /// (digest, size, created_at)
    pub blobs: Vec<(String, u64, f64)>,
    /// (repository id, digest, linked_at)
    pub links: Vec<(i64, String, f64)>,
    pub images: Vec<LegacyImage>,
    /// (repository id, tag, digest)
    pub tags: Vec<(i64, String, String)>,
    pub lifecycle: Vec<(i64, LegacyLifecycle)>,
    pub uploads: Vec<LegacyUpload>,
}

pub(crate) fn read(path: &Path) -> anyhow::Result<Legacy> {
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let all = |sql: &str| -> anyhow::Result<Vec<Vec<rusqlite::types::Value>>> {
        let mut st = db.prepare(sql)?;
        let n = st.column_count();
        let rows = st
            .query_map([], |r| (0..n).map(|i| r.get(i)).collect())?
            .collect::<rusqlite::Result<Vec<Vec<_>>>>()?;
        Ok(rows)
    };
    use rusqlite::types::Value as V;
    fn text(v: &V) -> Option<String> {
        match v {
            V::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn int(v: &V) -> i64 {
        match v {
            V::Integer(i) => *i,
            V::Real(f) => *f as i64,
            _ => 0,
        }
    }
    fn real(v: &V) -> Option<f64> {
        match v {
            V::Real(f) => Some(*f),
            V::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }
    let mut repos = Vec::new();
    for r in all(
        "SELECT id, region, name, created_at, mutability, scan_on_push, encryption_type, kms_key, policy FROM repos ORDER BY id",
    )? {
        let id = int(&r[0]);
        let mut tags = Vec::new();
        let mut st =
            db.prepare("SELECT key, value FROM repo_tags WHERE repo_id=?1 ORDER BY key")?;
        for t in st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))? {
            tags.push(t?);
        }
        repos.push(LegacyRepo {
            id,
            region: text(&r[1]).unwrap_or_default(),
            name: text(&r[2]).unwrap_or_default(),
            created_at: real(&r[3]).unwrap_or_default(),
            mutability: text(&r[4]).unwrap_or_default(),
            scan_on_push: int(&r[5]) != 0,
            encryption_type: text(&r[6]).unwrap_or_default(),
            kms_key: text(&r[7]),
            policy: text(&r[8]),
            tags,
        });
    }
    let blobs = all("SELECT digest, size, created_at FROM blobs")?
        .iter()
        .map(|r| {
            (
                text(&r[0]).unwrap_or_default(),
                int(&r[1]) as u64,
                real(&r[2]).unwrap_or_default(),
            )
        })
        .collect();
    let links = all("SELECT repo_id, digest, linked_at FROM repo_blobs")?
        .iter()
        .map(|r| {
            (
                int(&r[0]),
                text(&r[1]).unwrap_or_default(),
                real(&r[2]).unwrap_or_default(),
            )
        })
        .collect();
    let mut images = Vec::new();
    for r in all(
        "SELECT repo_id, digest, media_type, manifest, size, pushed_at, artifact_media_type FROM images",
    )? {
        let (repo, digest) = (int(&r[0]), text(&r[1]).unwrap_or_default());
        let refs = |kind: &str| -> anyhow::Result<Vec<String>> {
            let mut st = db.prepare(
                "SELECT ref_digest FROM image_refs WHERE repo_id=?1 AND image_digest=?2 AND kind=?3",
            )?;
            let v = st
                .query_map(rusqlite::params![repo, digest, kind], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(v)
        };
        let (blobs, manifests) = (refs("blob")?, refs("manifest")?);
        images.push(LegacyImage {
            repo,
            media_type: text(&r[2]).unwrap_or_default(),
            manifest: match &r[3] {
                V::Blob(b) => b.clone(),
                V::Text(t) => t.clone().into_bytes(),
                _ => Vec::new(),
            },
            size: int(&r[4]) as u64,
            pushed_at: real(&r[5]).unwrap_or_default(),
            artifact_media_type: text(&r[6]),
            blobs,
            manifests,
            digest,
        });
    }
    let tags = all("SELECT repo_id, tag, digest FROM tags")?
        .iter()
        .map(|r| {
            (
                int(&r[0]),
                text(&r[1]).unwrap_or_default(),
                text(&r[2]).unwrap_or_default(),
            )
        })
        .collect();
    let lifecycle = all(
        "SELECT repo_id, policy, evaluated_at, preview_policy, preview_results FROM lifecycle",
    )?
    .iter()
    .map(|r| {
        (
            int(&r[0]),
            (text(&r[1]), real(&r[2]), text(&r[3]), text(&r[4])),
        )
    })
    .collect();
    let uploads =
        all("SELECT id, repo_id, offset, created_at, last_part, small_part FROM uploads")?
            .iter()
            .map(|r| LegacyUpload {
                id: text(&r[0]).unwrap_or_default(),
                repo: int(&r[1]),
                offset: int(&r[2]) as u64,
                created_at: real(&r[3]).unwrap_or_default(),
                last_part: match &r[4] {
                    V::Null => None,
                    v => Some(int(v) as u64),
                },
                small_part: int(&r[5]) != 0,
            })
            .collect();
    Ok(Legacy {
        repos,
        blobs,
        links,
        images,
        tags,
        lifecycle,
        uploads,
    })
}
