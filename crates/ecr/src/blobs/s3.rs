//! [`BlobStore`] on an S3-compatible bucket (`kagi serve --blob-store s3://BUCKET[/PREFIX]`),
//! through the `object_store` crate.
//!
//! [`BlobStore`]'s methods block; `object_store` is async. Every request runs on this store's
//! own small tokio runtime and the caller waits for its answer on a channel, so the store works
//! the same from a blocking thread, from `kagi serve --check` (no runtime at all) and, for the
//! short calls (delete, size), from an async handler. Writes stream: an object smaller than
//! [`PART_SIZE`] is one `PUT`; a larger one is a multipart upload of [`PART_SIZE`] parts, at
//! most [`PARTS_IN_FLIGHT`] of them in flight, so a layer of any size holds at most
//! `PART_SIZE × (PARTS_IN_FLIGHT + 1)` bytes in memory. Reads are ranged `GET`s streamed
//! through a bounded channel.

use super::{BlobStore, Listed};
use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, WriteMultipart};
use std::io::Read;
use std::sync::Arc;

/// The size of a multipart upload's parts (S3's minimum is 5 MiB).
pub const PART_SIZE: usize = 8 << 20;
/// How many parts of one object upload at once.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Where the bucket is and how to reach it (`--blob-store`, `--s3-endpoint`; credentials and
/// region from the standard `AWS_*` variables of the server's environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`; empty: the bucket's root).
    pub prefix: String,
    /// An S3-compatible server's URL (path-style requests); `None`: AWS's endpoint.
    pub endpoint: Option<String>,
    /// Access key id and secret; `None`: from the environment (`AWS_ACCESS_KEY_ID`, ...).
    pub credentials: Option<(String, String)>,
    /// `None`: `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
}

impl S3Config {
    /// Parses `s3://BUCKET[/PREFIX]`.
    pub fn parse(url: &str, endpoint: Option<&str>) -> anyhow::Result<S3Config> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            anyhow::anyhow!("--blob-store must be s3://BUCKET[/PREFIX], not {url:?}")
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("--blob-store {url:?} names no bucket");
        }
        Ok(S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: endpoint.map(str::to_owned),
            credentials: None,
            region: None,
        })
    }
}

pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: String,
    describe: String,
    /// Always `Some` but in `drop` (which shuts it down without waiting: a store may be dropped
    /// on an async thread).
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for S3Blobs {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

fn io(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        e => std::io::Error::other(e.to_string()),
    }
}

impl S3Blobs {
    /// Connects (lazily: the first request reaches the server) to the bucket of `cfg`.
    /// Credentials and region come from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`).
    pub fn open(cfg: &S3Config) -> anyhow::Result<S3Blobs> {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&cfg.bucket);
        let region = cfg
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_owned());
        b = b.with_region(region);
        if let Some((id, secret)) = &cfg.credentials {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        if let Some(e) = &cfg.endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = b
            .build()
            .map_err(|e| anyhow::anyhow!("the S3 blob store s3://{}: {e}", cfg.bucket))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kagi-s3")
            .enable_all()
            .build()?;
        let mut describe = format!("s3://{}", cfg.bucket);
        if !cfg.prefix.is_empty() {
            describe.push('/');
            describe.push_str(&cfg.prefix);
        }
        if let Some(e) = &cfg.endpoint {
            describe.push_str(&format!(" at {e}"));
        }
        Ok(S3Blobs {
            store: Arc::new(store),
            prefix: cfg.prefix.clone(),
            describe,
            rt: Some(rt),
        })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Runs `f` on this store's runtime and waits for it (from any thread).
    fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt().spawn(async move {
            let _ = tx.send(f.await);
        });
        let wait = || rx.recv().expect("the S3 runtime answers every request");
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    /// Checks that the bucket answers (`kagi serve` at start: a wrong endpoint or credentials
    /// fail there, not at the first push).
    pub fn probe(&self) -> anyhow::Result<()> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        self.run(async move { store.list_with_delimiter(prefix.as_ref()).await.map(drop) })
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.describe))
    }
}

impl BlobStore for S3Blobs {
    fn write(
        &self,
        key: &str,
        next: &mut dyn FnMut() -> Option<std::io::Result<Bytes>>,
        tap: &mut dyn FnMut(&[u8]),
    ) -> std::io::Result<u64> {
        let path = self.path(key);
        // Up to one part in memory: a small object is one PUT.
        let mut first: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let mut n = 0u64;
        let mut rest = None;
        while let Some(chunk) = next() {
            let chunk = chunk?;
            tap(&chunk);
            n += chunk.len() as u64;
            buffered += chunk.len();
            first.push(chunk);
            if buffered >= PART_SIZE {
                rest = Some(());
                break;
            }
        }
        let store = self.store.clone();
        if rest.is_none() {
            let payload: object_store::PutPayload = first.into_iter().collect();
            self.run(async move { store.put(&path, payload).await })
                .map_err(io)?;
            return Ok(n);
        }
        let p = path.clone();
        let upload = self
            .run(async move { store.put_multipart(&p).await })
            .map_err(io)?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let result = (|| -> std::io::Result<()> {
            let _rt = self.rt().enter();
            for b in first.drain(..) {
                w.put(b);
            }
            while let Some(chunk) = next() {
                let chunk = chunk?;
                tap(&chunk);
                n += chunk.len() as u64;
                // Back pressure: at most PARTS_IN_FLIGHT parts uploading.
                self.rt()
                    .block_on(w.wait_for_capacity(PARTS_IN_FLIGHT))
                    .map_err(io)?;
                w.put(chunk);
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.run(async move { w.finish().await }).map_err(io)?;
                Ok(n)
            }
            Err(e) => {
                let _ = self.run(async move { w.abort().await });
                Err(e)
            }
        }
    }

    fn read(&self, key: &str, start: u64, len: u64) -> std::io::Result<Box<dyn Read + Send>> {
        let path = self.path(key);
        let store = self.store.clone();
        if len == 0 {
            // A zero-length range is not a valid S3 range: only ask whether it exists.
            self.run(async move { store.head(&path).await })
                .map_err(io)?;
            return Ok(Box::new(std::io::empty()));
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(start..start + len)),
            ..Default::default()
        };
        let got = self
            .run(async move { store.get_opts(&path, opts).await })
            .map_err(io)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Bytes>>(4);
        self.rt().spawn(async move {
            let mut stream = got.into_stream();
            while let Some(item) = stream.next().await {
                let item = item.map_err(io);
                let stop = item.is_err();
                // The reader is a blocking thread: `send` waits for it without holding this
                // runtime's worker for long (4 chunks of read-ahead).
                let tx = tx.clone();
                let sent = tokio::task::spawn_blocking(move || tx.send(item).is_ok())
                    .await
                    .unwrap_or(false);
                if stop || !sent {
                    break;
                }
            }
        });
        Ok(Box::new(ChannelReader {
            rx,
            current: Bytes::new(),
        }))
    }

    fn size(&self, key: &str) -> std::io::Result<Option<u64>> {
        let path = self.path(key);
        let store = self.store.clone();
        match self.run(async move { store.head(&path).await }) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn delete(&self, key: &str) -> std::io::Result<()> {
        let path = self.path(key);
        let store = self.store.clone();
        match self.run(async move { store.delete(&path).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    fn list(&self) -> std::io::Result<Vec<Listed>> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let metas = self
            .run(async move {
                let mut out = Vec::new();
                let mut s = store.list(prefix.as_ref());
                while let Some(m) = s.next().await {
                    out.push(m?);
                }
                Ok::<_, object_store::Error>(out)
            })
            .map_err(io)?;
        let mut out: Vec<Listed> = metas
            .into_iter()
            .filter_map(|m| {
                let full = m.location.to_string();
                let key = full.strip_prefix(&strip)?.to_owned();
                Some(Listed {
                    key,
                    size: m.size,
                    modified: std::time::SystemTime::from(m.last_modified),
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

/// A blocking reader over chunks a task sends.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(Ok(b)) => self.current = b,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_store_urls() {
        assert_eq!(
            S3Config::parse("s3://images/kagi/", Some("http://127.0.0.1:9000")).unwrap(),
            S3Config {
                bucket: "images".into(),
                prefix: "kagi".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                credentials: None,
                region: None,
            }
        );
        assert_eq!(S3Config::parse("s3://images", None).unwrap().prefix, "");
        assert!(S3Config::parse("file:///x", None).is_err());
        assert!(S3Config::parse("s3:///x", None).is_err());
    }
}
