-- The schema of ecr.sqlite before ECR's metadata moved into kagi-store (kept to test the import).
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
