//! Blob objects: the bytes of layers, configs and upload chunks, behind [`BlobStore`].
//!
//! The store knows objects by key and nothing else; what a key holds (which blob, which
//! upload) is recorded in the metadata store ([`crate::store`]), which is the only place that
//! decides when an object may be deleted. Keys are never reused: every object is written once,
//! under a key with a fresh random part, so that a writer and a collector on different nodes
//! can never act on the same object by accident (see the invariants in [`crate::store`]).
//!
//! Key layout:
//! * `uploads/<upload-id>/<offset>-<nonce>`: one chunk of an upload (a `PATCH`, an
//!   `UploadLayerPart`, a monolithic `PUT`'s body). A committed blob made of a single chunk
//!   keeps that object as its content: nothing is copied.
//! * `sha256/<ab>/<hex>.<nonce>`: a blob composed at commit from several chunks.
//! * `sha256/<ab>/<hex>` and `_uploads/<upload-id>`: what data directories written before the
//!   metadata moved into `kagi-store` hold (still read; never written).
//!
//! [`FileBlobs`] keeps objects as files under a directory (the embedded default): every object
//! is written to a temporary name, `fsync`ed, renamed into place and its directory `fsync`ed
//! before [`BlobStore::write`] returns, so an acknowledged write survives a crash.

pub mod s3;

use bytes::Bytes;
use std::io::{Read, Seek as _, SeekFrom, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

/// One stored object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// Where blob bytes live. Methods block (call them from a blocking thread, e.g.
/// `tokio::task::spawn_blocking`); implementations must be safe to share between threads and
/// between nodes that share the same backing storage.
pub trait BlobStore: Send + Sync + 'static {
    /// Writes a new object `key` from the chunks `next` yields (until `None`), passing every
    /// chunk to `tap` on its way (hashing). The object is durable when this returns `Ok`; on
    /// an error nothing is left under `key`. Returns the bytes written.
    fn write(
        &self,
        key: &str,
        next: &mut dyn FnMut() -> Option<std::io::Result<Bytes>>,
        tap: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<u64>;
    /// A reader of `len` bytes of object `key` from byte `start` (`NotFound` when the object
    /// does not exist).
    fn read(&self, key: &str, start: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>>;
    /// The object's size, `None` when it does not exist.
    fn size(&self, key: &str) -> std::io::Result<Option<u64>>;
    /// Deletes an object; deleting one that does not exist is not an error.
    fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Every object (for garbage collection and checks).
    fn list(&self) -> std::io::Result<Vec<Listed>>;
    /// Where objects live, for messages (`/var/lib/kagi/ecr/blobs`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
}

/// A fresh random part for object keys.
pub fn nonce() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the operating system's random source");
    crate::util::hex(&b)
}

/// The key of a chunk of `upload` starting at `offset`.
pub fn chunk_key(upload: &str, offset: u64) -> String {
    format!("uploads/{upload}/{offset:016}-{}", nonce())
}

/// The key of a blob composed from several chunks.
pub fn composed_key(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256/{}/{hex}.{}", &hex[..2.min(hex.len())], nonce())
}

/// The key of a blob file written before objects had keys of their own.
pub fn legacy_blob_key(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256/{}/{hex}", &hex[..2.min(hex.len())])
}

/// Objects as files under one directory.
#[derive(Debug)]
pub struct FileBlobs {
    root: PathBuf,
}

/// How many written bytes between background `fdatasync`s of an object being written, so that
/// the `fsync` that makes it durable only has the tail left to flush.
const SYNC_EVERY: usize = 16 << 20;

fn fsync_dir(p: &Path) -> std::io::Result<()> {
    std::fs::File::open(p)?.sync_all()
}

/// How many bytes the hashing thread hands the writing thread at a time (one `writev`).
const BATCH: usize = 1 << 20;

/// Writes everything `next` yields to `f` and makes it durable (`fsync`) before returning:
/// the chunks go to `tap` (hashing) on this thread while a writer thread writes the previous
/// batch of them as they were received (`writev` of the `Bytes`, no copy in user space), and a
/// third thread `fdatasync`s in the background every [`SYNC_EVERY`] bytes so that the final
/// `fsync` only has the tail left to flush. On an error (of `next` or of the disk) the file is
/// left unsynced and the error returned; the caller removes the file. Small objects (one batch)
/// are written on this thread, without starting any.
fn write_synced(
    f: std::fs::File,
    next: &mut dyn FnMut() -> Option<std::io::Result<Bytes>>,
    tap: &mut dyn FnMut(&[u8]),
) -> std::io::Result<u64> {
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batched = 0usize;
    let mut n = 0u64;
    // Until the first batch is full: maybe a small object, written here.
    loop {
        match next() {
            None => {
                let mut f = f;
                write_all_vectored(&mut f, &batch)?;
                f.sync_all()?;
                return Ok(n);
            }
            Some(chunk) => {
                let chunk = chunk?;
                tap(&chunk);
                n += chunk.len() as u64;
                batched += chunk.len();
                batch.push(chunk);
                if batched >= BATCH {
                    break;
                }
            }
        }
    }
    enum Msg {
        Data(Vec<Bytes>),
        /// Everything was sent: sync.
        Done,
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(2);
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            let mut f = f;
            // Flush to disk in the background while receiving.
            let (sync_tx, sync_rx) = std::sync::mpsc::sync_channel::<()>(1);
            let for_sync = f.try_clone()?;
            std::thread::spawn(move || {
                while sync_rx.recv().is_ok() {
                    let _ = for_sync.sync_data();
                }
            });
            let mut unsynced = 0usize;
            loop {
                match rx.recv() {
                    Ok(Msg::Data(b)) => {
                        write_all_vectored(&mut f, &b)?;
                        unsynced += b.iter().map(Bytes::len).sum::<usize>();
                        if unsynced >= SYNC_EVERY {
                            let _ = sync_tx.try_send(());
                            unsynced = 0;
                        }
                    }
                    Ok(Msg::Done) => {
                        drop(sync_tx);
                        return f.sync_all();
                    }
                    // The sender failed: nothing to make durable.
                    Err(_) => return Err(std::io::Error::other("the write was abandoned")),
                }
            }
        });
        let sent = (|| -> std::io::Result<bool> {
            if tx.send(Msg::Data(std::mem::take(&mut batch))).is_err() {
                return Ok(false);
            }
            batched = 0;
            while let Some(chunk) = next() {
                let chunk = chunk?;
                n += chunk.len() as u64;
                batched += chunk.len();
                batch.push(chunk.clone());
                // Hashed while the writer writes the batch before.
                tap(&chunk);
                if batched >= BATCH {
                    if tx.send(Msg::Data(std::mem::take(&mut batch))).is_err() {
                        return Ok(false);
                    }
                    batched = 0;
                }
            }
            if !batch.is_empty() && tx.send(Msg::Data(std::mem::take(&mut batch))).is_err() {
                return Ok(false);
            }
            Ok(tx.send(Msg::Done).is_ok())
        })();
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")));
        // The writer's own error explains a refused send; `next`'s error comes first otherwise.
        match (sent, written) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e),
            (Ok(true), Ok(())) => Ok(n),
            (Ok(false), Ok(())) => Err(std::io::Error::other("the writer stopped early")),
        }
    })
}

/// `write_all` of the concatenation of `bufs`, in as few `writev`s as the kernel takes.
fn write_all_vectored(f: &mut std::fs::File, bufs: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<std::io::IoSlice<'_>> =
        bufs.iter().map(|b| std::io::IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match f.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => std::io::IoSlice::advance_slices(&mut rest, k),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl FileBlobs {
    /// Opens (creating) the directory. Temporary files older than a day (writes a crash
    /// interrupted; no write takes that long) are removed.
    pub fn open(root: &Path) -> std::io::Result<FileBlobs> {
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let day_ago = SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
        for e in std::fs::read_dir(&tmp)? {
            let e = e?;
            if e.metadata()?.modified()? < day_ago {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(FileBlobs {
            root: root.to_path_buf(),
        })
    }

    /// The objects under `root` as they are, creating and removing nothing (`kagi serve
    /// --check`).
    pub fn at(root: &Path) -> FileBlobs {
        FileBlobs {
            root: root.to_path_buf(),
        }
    }

    /// The file of an object. Keys are made by this crate, but they are checked anyway: only
    /// plain relative components, so no key names a file outside the root.
    pub fn path(&self, key: &str) -> std::io::Result<PathBuf> {
        let p = Path::new(key);
        let plain = !key.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain || p.starts_with("tmp") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not an object key: {key:?}"),
            ));
        }
        Ok(self.root.join(p))
    }
}

impl BlobStore for FileBlobs {
    fn write(
        &self,
        key: &str,
        next: &mut dyn FnMut() -> Option<std::io::Result<Bytes>>,
        tap: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<u64> {
        let dest = self.path(key)?;
        let tmp = self.root.join("tmp").join(nonce());
        let result = (|| -> std::io::Result<u64> {
            let f = std::fs::File::create(&tmp)?;
            let n = write_synced(f, next, tap)?;
            let dir = dest.parent().expect("an object path has a parent");
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&tmp, &dest)?;
            fsync_dir(dir)?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn read(&self, key: &str, start: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let mut f = std::fs::File::open(self.path(key)?)?;
        if start > 0 {
            f.seek(SeekFrom::Start(start))?;
        }
        Ok(Box::new(f.take(len)))
    }

    fn size(&self, key: &str) -> std::io::Result<Option<u64>> {
        match std::fs::metadata(self.path(key)?) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        let p = self.path(key)?;
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        // An upload's directory goes with its last chunk (best effort: a chunk being written
        // beside it keeps it).
        if key.starts_with("uploads/")
            && let Some(dir) = p.parent()
        {
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }

    fn list(&self) -> std::io::Result<Vec<Listed>> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<Listed>) -> std::io::Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            for e in entries {
                let e = e?;
                let t = e.file_type()?;
                if t.is_dir() {
                    walk(root, &e.path(), out)?;
                } else if t.is_file() {
                    let m = e.metadata()?;
                    let rel = e.path();
                    let rel = rel.strip_prefix(root).expect("walked under the root");
                    out.push(Listed {
                        key: rel.to_string_lossy().replace('\\', "/"),
                        size: m.len(),
                        modified: m.modified()?,
                    });
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        let tops = match std::fs::read_dir(&self.root) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for top in tops {
            let top = top?;
            // `tmp/` holds writes in progress, not objects.
            if top.file_name() != "tmp" && top.file_type()?.is_dir() {
                walk(&self.root, &top.path(), &mut out)?;
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

fn write_parts(s: &dyn BlobStore, key: &str, parts: &[&[u8]]) -> std::io::Result<u64> {
    let mut it = parts.iter().map(|p| Ok(Bytes::copy_from_slice(p)));
    s.write(key, &mut || it.next(), &mut |_| {})
}

/// What every implementation must do (run by each implementation's tests: files here, S3 in
/// `tests/it/s3.rs` against an S3-compatible server).
pub fn conformance(s: &dyn BlobStore) {
    let k = chunk_key("u1", 0);
    assert_eq!(write_parts(s, &k, &[b"hello ", b"world"]).unwrap(), 11);
    assert_eq!(s.size(&k).unwrap(), Some(11));
    let mut got = String::new();
    s.read(&k, 6, 5).unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(got, "world");
    let mut tapped = Vec::new();
    let k2 = composed_key("sha256:abcdef");
    let mut it = [Bytes::from_static(b"ab"), Bytes::from_static(b"c")]
        .into_iter()
        .map(Ok);
    s.write(&k2, &mut || it.next(), &mut |b| tapped.extend_from_slice(b))
        .unwrap();
    assert_eq!(tapped, b"abc");
    let keys: Vec<String> = s.list().unwrap().into_iter().map(|l| l.key).collect();
    assert!(keys.contains(&k) && keys.contains(&k2), "{keys:?}");
    // A failed write leaves nothing under its key.
    let k3 = chunk_key("u2", 0);
    let mut failing = [
        Ok(Bytes::from_static(b"x")),
        Err(std::io::Error::other("client went away")),
    ]
    .into_iter();
    assert!(s.write(&k3, &mut || failing.next(), &mut |_| {}).is_err());
    assert_eq!(s.size(&k3).unwrap(), None);
    // Larger than an S3 multipart part: streamed in parts, read back across them.
    let big: Vec<u8> = (0..(9u32 << 20)).map(|i| (i % 251) as u8).collect();
    let k4 = composed_key("sha256:big");
    let mut parts = big.chunks(1 << 20).map(|c| Ok(Bytes::copy_from_slice(c)));
    let mut seen = 0usize;
    assert_eq!(
        s.write(&k4, &mut || parts.next(), &mut |b| seen += b.len())
            .unwrap(),
        big.len() as u64
    );
    assert_eq!(
        (seen, s.size(&k4).unwrap()),
        (big.len(), Some(big.len() as u64))
    );
    let from = (8 << 20) - 3;
    let mut got = Vec::new();
    s.read(&k4, from, 1 << 20)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, &big[from as usize..from as usize + (1 << 20)]);
    s.delete(&k4).unwrap();
    s.delete(&k2).unwrap();
    s.delete(&k).unwrap();
    s.delete(&k).unwrap();
    assert_eq!(s.size(&k).unwrap(), None);
    assert_eq!(
        s.read(&k, 0, 1).err().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    /// `len` bytes of a pattern that repeats only every 251 bytes.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Writes `data` in chunks of the sizes `sizes` cycles through; answers the object's
    /// content and the hash of what the tap saw.
    fn write_chunked(s: &FileBlobs, key: &str, data: &[u8], sizes: &[usize]) -> (Vec<u8>, String) {
        let mut at = 0;
        let mut i = 0;
        let mut next = || {
            if at == data.len() {
                return None;
            }
            let k = sizes[i % sizes.len()].min(data.len() - at);
            i += 1;
            at += k;
            Some(Ok(Bytes::copy_from_slice(&data[at - k..at])))
        };
        let mut h = Sha256::new();
        let n = s.write(key, &mut next, &mut |b| h.update(b)).unwrap();
        assert_eq!(n, data.len() as u64);
        let got = std::fs::read(s.path(key).unwrap()).unwrap();
        (got, crate::util::hex(&h.finalize()))
    }

    #[test]
    fn files_conform_and_stay_under_their_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileBlobs::open(dir.path()).unwrap();
        conformance(&s);
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "tmp/x"] {
            assert!(s.path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_keep_every_byte_and_its_order_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileBlobs::open(dir.path()).unwrap();
        // A small object (written without the writer thread), exactly one batch and a byte
        // either side, several batches with a ragged tail, more than one background sync.
        let lens = [
            0,
            1,
            BATCH - 1,
            BATCH,
            BATCH + 1,
            3 * BATCH + 12_345,
            SYNC_EVERY + 5 * 4096 + 7,
        ];
        for (j, &len) in lens.iter().enumerate() {
            let data = pattern(len);
            let expect = crate::util::hex(&Sha256::digest(&data));
            // Odd chunk sizes, and chunks larger than a batch.
            for sizes in [&[65_521, 7, 4_096, 131_071][..], &[BATCH + 3][..]] {
                let key = chunk_key(&format!("u{j}"), sizes[0] as u64);
                let (got, tapped) = write_chunked(&s, &key, &data, sizes);
                assert!(got == data, "{len} bytes in chunks of {sizes:?}");
                assert_eq!(tapped, expect);
                assert_eq!(s.size(&key).unwrap(), Some(len as u64));
            }
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }

    #[test]
    fn a_write_failing_after_several_batches_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileBlobs::open(dir.path()).unwrap();
        // In the first batch (no writer thread yet), just after it, and well into the stream.
        for fail_at in [1, 4, 40] {
            let key = chunk_key("broken", fail_at);
            let mut sent = 0;
            let mut next = || {
                sent += 1;
                if sent == fail_at {
                    return Some(Err(std::io::Error::other("client went away")));
                }
                Some(Ok(Bytes::from(pattern(BATCH / 2 + 1))))
            };
            let e = s.write(&key, &mut next, &mut |_| {}).unwrap_err();
            assert_eq!(e.to_string(), "client went away");
            assert_eq!(s.size(&key).unwrap(), None);
            assert!(s.list().unwrap().is_empty());
            assert_eq!(
                std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
                0
            );
        }
    }
}
