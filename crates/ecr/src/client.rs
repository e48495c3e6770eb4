//! A small blocking registry client (ureq) and a deterministic image generator.
//!
//! [`RegistryClient`] pushes an [`Image`] (blobs, then the manifest) and pulls it back with
//! Basic `AWS:<password>` authentication, verifying every digest, and reports progress through
//! a callback. [`generate_image`] builds a small multi-layer OCI image (gzip'd tar layers) that
//! is a pure function of its seed; [`write_oci_layout`] writes one as an OCI image layout
//! directory (for skopeo), and [`write_large_oci_layout`] streams a big image with plain or gzip'd tar
//! layers straight to such a directory (for the benchmark) without holding it in memory.

use crate::manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use crate::util::{hex, sha256_digest};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::path::Path;

pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A blob with its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("media_type", &self.media_type)
            .field("digest", &self.digest)
            .field("len", &self.data.len())
            .finish()
    }
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256_digest(&data),
            data,
        }
    }
    fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.data.len() })
    }
}

/// An image: config, layers and the manifest that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Vec<u8>,
    pub manifest_media_type: String,
    pub manifest_digest: String,
}

impl Image {
    /// Builds the OCI manifest for `config` and `layers`.
    pub fn from_parts(config: Blob, layers: Vec<Blob>) -> Image {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = serde_json::to_vec_pretty(&manifest).expect("serialisable");
        Image {
            manifest_digest: sha256_digest(&manifest),
            manifest,
            manifest_media_type: OCI_MANIFEST.into(),
            config,
            layers,
        }
    }

    /// Config first, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.config).chain(self.layers.iter())
    }
}

/// splitmix64: a tiny deterministic generator for image content.
struct Prng(u64);
impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
impl Read for Prng {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
        Ok(buf.len())
    }
}

fn tar_header(path: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).expect("short path");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

fn config_for(diff_ids: &[String], seed: u64) -> Blob {
    let cfg = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/true"], "Labels": { "kagi.seed": seed.to_string() } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": diff_ids.iter().map(|_| json!({ "created_by": "kagi-ecr generator" })).collect::<Vec<_>>(),
    });
    Blob::new(OCI_CONFIG, serde_json::to_vec(&cfg).expect("serialisable"))
}

/// A deterministic OCI image with `layers` gzip'd tar layers, each holding a text file and a
/// `layer_size`-byte file of pseudo-random content derived from `seed`.
pub fn generate_image(seed: u64, layers: usize, layer_size: usize) -> Image {
    let mut blobs = vec![];
    let mut diff_ids = vec![];
    for i in 0..layers {
        let mut tar_bytes = vec![];
        {
            let mut b = tar::Builder::new(&mut tar_bytes);
            let text = format!("kagi layer {i} of seed {seed}\n");
            b.append(
                &tar_header(&format!("layer{i}/README"), text.len() as u64),
                text.as_bytes(),
            )
            .expect("in-memory tar");
            let mut prng = Prng(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            b.append(
                &tar_header(&format!("layer{i}/data.bin"), layer_size as u64),
                (&mut prng).take(layer_size as u64),
            )
            .expect("in-memory tar");
            b.finish().expect("in-memory tar");
        }
        diff_ids.push(sha256_digest(&tar_bytes));
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_bytes).expect("in-memory gzip");
        blobs.push(Blob::new(
            OCI_LAYER_GZIP,
            gz.finish().expect("in-memory gzip"),
        ));
    }
    Image::from_parts(config_for(&diff_ids, seed), blobs)
}

fn write_layout_files(
    dir: &Path,
    tag: &str,
    manifest_digest: &str,
    manifest_len: usize,
) -> std::io::Result<()> {
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [ { "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest_len,
                         "annotations": { "org.opencontainers.image.ref.name": tag } } ],
    });
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec_pretty(&index).expect("serialisable"),
    )
}

fn blob_file(dir: &Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs")
        .join("sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Writes `image` as an OCI image layout in `dir` (created if needed), tagged `tag`.
pub fn write_oci_layout(image: &Image, dir: &Path, tag: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("blobs").join("sha256"))?;
    for b in image.blobs() {
        std::fs::write(blob_file(dir, &b.digest), &b.data)?;
    }
    std::fs::write(blob_file(dir, &image.manifest_digest), &image.manifest)?;
    write_layout_files(dir, tag, &image.manifest_digest, image.manifest.len())
}

/// Reads the image tagged `tag` back from an OCI layout (checks every digest).
pub fn read_oci_layout(dir: &Path, tag: &str) -> std::io::Result<Image> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)
        .map_err(|e| bad(e.to_string()))?;
    let desc = index["manifests"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|m| {
                m.pointer("/annotations/org.opencontainers.image.ref.name")
                    .and_then(Value::as_str)
                    == Some(tag)
            })
        })
        .ok_or_else(|| bad(format!("tag {tag} not in index.json")))?;
    let read = |d: &str, mt: &str| -> std::io::Result<Blob> {
        let data = std::fs::read(blob_file(dir, d))?;
        let b = Blob::new(mt, data);
        if b.digest != d {
            return Err(bad(format!("blob {d} has digest {}", b.digest)));
        }
        Ok(b)
    };
    let md = desc["digest"]
        .as_str()
        .ok_or_else(|| bad("no digest".into()))?;
    let manifest = read(md, "")?.data;
    let m: Value = serde_json::from_slice(&manifest).map_err(|e| bad(e.to_string()))?;
    let config = read(
        m["config"]["digest"].as_str().unwrap_or(""),
        m["config"]["mediaType"].as_str().unwrap_or(""),
    )?;
    let mut layers = vec![];
    for l in m["layers"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        layers.push(read(
            l["digest"].as_str().unwrap_or(""),
            l["mediaType"].as_str().unwrap_or(""),
        )?);
    }
    Ok(Image {
        config,
        layers,
        manifest_media_type: m["mediaType"].as_str().unwrap_or(OCI_MANIFEST).to_string(),
        manifest_digest: md.to_string(),
        manifest,
    })
}

/// A writer that hashes and counts what passes through.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
    len: u64,
}
impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How [`write_large_oci_layout`] stores its layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerFormat {
    /// Plain tar (`…layer.v1.tar`). A client pushing to a registry may compress it on the way
    /// (skopeo gzips uncompressed layers for `docker://` destinations).
    Tar,
    /// Gzip'd tar (`…layer.v1.tar+gzip`), as layers of published images are: pushed as they are.
    Gzip,
}

/// Streams an image with tar layers of the given content sizes into an OCI layout at `dir`,
/// tagged `tag`, in `format`. Returns the manifest digest. Memory use is constant.
pub fn write_large_oci_layout(
    dir: &Path,
    tag: &str,
    seed: u64,
    layer_sizes: &[u64],
    format: LayerFormat,
) -> std::io::Result<String> {
    let blobs_dir = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs_dir)?;
    let mut descs = vec![];
    let mut diff_ids = vec![];
    for (i, &size) in layer_sizes.iter().enumerate() {
        let tmp = blobs_dir.join(format!(".tmp-layer-{i}"));
        let f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        // The stored blob's digest (outer) and, for gzip, the uncompressed tar's (the diff id).
        let mut stored = HashingWriter {
            inner: f,
            hash: Sha256::new(),
            len: 0,
        };
        let write_tar = |out: &mut dyn Write| -> std::io::Result<String> {
            let mut plain = HashingWriter {
                inner: out,
                hash: Sha256::new(),
                len: 0,
            };
            let mut b = tar::Builder::new(&mut plain);
            let mut prng = Prng(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            b.append(
                &tar_header(&format!("layer{i}/data.bin"), size),
                (&mut prng).take(size),
            )?;
            b.into_inner()?;
            Ok(format!("sha256:{}", hex(&plain.hash.finalize())))
        };
        let diff_id = match format {
            LayerFormat::Tar => write_tar(&mut stored)?,
            LayerFormat::Gzip => {
                let mut gz = flate2::GzBuilder::new()
                    .mtime(0)
                    .write(&mut stored, flate2::Compression::fast());
                let d = write_tar(&mut gz)?;
                gz.finish()?;
                d
            }
        };
        stored.flush()?;
        let digest = format!("sha256:{}", hex(&stored.hash.finalize()));
        std::fs::rename(&tmp, blob_file(dir, &digest))?;
        let media_type = match format {
            LayerFormat::Tar => OCI_LAYER_TAR,
            LayerFormat::Gzip => OCI_LAYER_GZIP,
        };
        descs.push(json!({ "mediaType": media_type, "digest": digest, "size": stored.len }));
        diff_ids.push(diff_id);
    }
    let config = config_for(&diff_ids, seed);
    std::fs::write(blob_file(dir, &config.digest), &config.data)?;
    let manifest = json!({ "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(), "layers": descs });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    let md = sha256_digest(&manifest);
    std::fs::write(blob_file(dir, &md), &manifest)?;
    write_layout_files(dir, tag, &md, manifest.len())?;
    Ok(md)
}

/// A registry error as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The first OCI error code (`DENIED`, `MANIFEST_BLOB_UNKNOWN`, ...), if any.
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.code, self.status) {
            (Some(c), _) => write!(f, "{}: {}", c.to_lowercase(), self.message),
            (None, Some(s)) => write!(f, "HTTP {s}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}
impl std::error::Error for ClientError {}

/// Progress of a push or pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The registry already had this blob.
    BlobExists {
        digest: String,
        size: u64,
    },
    BlobUploaded {
        digest: String,
        size: u64,
    },
    ManifestPushed {
        digest: String,
        tag: String,
    },
    ManifestPulled {
        digest: String,
    },
    BlobDownloaded {
        digest: String,
        size: u64,
    },
}

/// A blocking registry v2 client with Basic authentication.
pub struct RegistryClient {
    base: String,
    auth: String,
    agent: ureq::Agent,
    chunk: usize,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base)
            .field("auth", &"<redacted>")
            .finish()
    }
}

type Resp = ureq::http::Response<ureq::Body>;

impl RegistryClient {
    /// `endpoint` is `host:port` or `http://host:port`.
    pub fn new(endpoint: &str, username: &str, password: &str) -> RegistryClient {
        let base = if endpoint.contains("://") {
            endpoint.trim_end_matches('/').to_string()
        } else {
            format!("http://{endpoint}")
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        RegistryClient {
            base,
            auth: format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            ),
            agent,
            chunk: 8 << 20,
        }
    }

    /// From GetAuthorizationToken's `authorizationToken` (base64 of `AWS:<password>`).
    pub fn from_authorization_token(
        endpoint: &str,
        token: &str,
    ) -> Result<RegistryClient, ClientError> {
        let raw = STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let (u, p) = raw
            .as_deref()
            .and_then(|r| r.split_once(':'))
            .ok_or_else(|| ClientError {
                status: None,
                code: None,
                message: "the authorization token is not base64 of user:password".into(),
            })?;
        Ok(RegistryClient::new(endpoint, u, p))
    }

    /// Upload chunk size for PATCH requests (default 8 MiB).
    pub fn with_chunk_size(mut self, chunk: usize) -> RegistryClient {
        self.chunk = chunk.max(1);
        self
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn transport(e: ureq::Error) -> ClientError {
        ClientError {
            status: None,
            code: None,
            message: e.to_string(),
        }
    }

    fn fail(mut r: Resp) -> ClientError {
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        let v: Option<Value> = serde_json::from_slice(&body).ok();
        let first = v.as_ref().and_then(|v| v.pointer("/errors/0"));
        ClientError {
            status: Some(status),
            code: first.and_then(|e| e["code"].as_str()).map(str::to_string),
            message: first
                .and_then(|e| e["message"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
        }
    }

    fn expect(r: Resp, ok: &[u16]) -> Result<Resp, ClientError> {
        if ok.contains(&r.status().as_u16()) {
            Ok(r)
        } else {
            Err(Self::fail(r))
        }
    }

    fn header(r: &Resp, name: &str) -> Option<String> {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// `GET /v2/`: checks the credentials.
    pub fn ping(&self) -> Result<(), ClientError> {
        let r = self
            .agent
            .get(self.url("/v2/"))
            .header("authorization", &self.auth)
            .call()
            .map_err(Self::transport)?;
        Self::expect(r, &[200]).map(|_| ())
    }

    /// Uploads one blob unless the repository has it; returns true when uploaded.
    pub fn push_blob(&self, repo: &str, blob: &Blob) -> Result<bool, ClientError> {
        let head = self
            .agent
            .head(self.url(&format!("/v2/{repo}/blobs/{}", blob.digest)))
            .header("authorization", &self.auth)
            .call()
            .map_err(Self::transport)?;
        if head.status().as_u16() == 200 {
            return Ok(false);
        }
        // Anything else (404, or a denial whose HEAD response has no body to explain it):
        // start an upload, whose response carries the registry's error if there is one.
        let r = self
            .agent
            .post(self.url(&format!("/v2/{repo}/blobs/uploads/")))
            .header("authorization", &self.auth)
            .send_empty()
            .map_err(Self::transport)?;
        let r = Self::expect(r, &[202])?;
        let mut location = Self::header(&r, "location").ok_or_else(|| ClientError {
            status: Some(202),
            code: None,
            message: "no Location".into(),
        })?;
        let mut offset = 0usize;
        for part in blob.data.chunks(self.chunk) {
            let r = self
                .agent
                .patch(self.url(&location))
                .header("authorization", &self.auth)
                .header("content-type", "application/octet-stream")
                .header(
                    "content-range",
                    &format!("{}-{}", offset, offset + part.len() - 1),
                )
                .send(part)
                .map_err(Self::transport)?;
            let r = Self::expect(r, &[202])?;
            offset += part.len();
            location = Self::header(&r, "location").unwrap_or(location);
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let r = self
            .agent
            .put(self.url(&format!("{location}{sep}digest={}", blob.digest)))
            .header("authorization", &self.auth)
            .send_empty()
            .map_err(Self::transport)?;
        Self::expect(r, &[201])?;
        Ok(true)
    }

    /// Pushes the blobs, then the manifest under `tag`. Returns the manifest digest.
    pub fn push(
        &self,
        repo: &str,
        tag: &str,
        image: &Image,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<String, ClientError> {
        for b in image.blobs() {
            let size = b.data.len() as u64;
            if self.push_blob(repo, b)? {
                progress(Progress::BlobUploaded {
                    digest: b.digest.clone(),
                    size,
                });
            } else {
                progress(Progress::BlobExists {
                    digest: b.digest.clone(),
                    size,
                });
            }
        }
        let r = self
            .agent
            .put(self.url(&format!("/v2/{repo}/manifests/{tag}")))
            .header("authorization", &self.auth)
            .header("content-type", &image.manifest_media_type)
            .send(&image.manifest[..])
            .map_err(Self::transport)?;
        let r = Self::expect(r, &[201])?;
        let digest = Self::header(&r, "docker-content-digest")
            .unwrap_or_else(|| image.manifest_digest.clone());
        progress(Progress::ManifestPushed {
            digest: digest.clone(),
            tag: tag.to_string(),
        });
        Ok(digest)
    }

    /// Downloads a blob and verifies its digest.
    pub fn pull_blob(
        &self,
        repo: &str,
        digest: &str,
        media_type: &str,
    ) -> Result<Blob, ClientError> {
        let r = self
            .agent
            .get(self.url(&format!("/v2/{repo}/blobs/{digest}")))
            .header("authorization", &self.auth)
            .call()
            .map_err(Self::transport)?;
        let mut r = Self::expect(r, &[200])?;
        let data = r
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(Self::transport)?;
        let b = Blob::new(media_type, data);
        if b.digest != digest {
            return Err(ClientError {
                status: Some(200),
                code: Some("DIGEST_INVALID".into()),
                message: format!("blob {digest} arrived with digest {}", b.digest),
            });
        }
        Ok(b)
    }

    /// Pulls an image manifest (by tag or digest) and its blobs.
    pub fn pull(
        &self,
        repo: &str,
        reference: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Image, ClientError> {
        let r = self
            .agent
            .get(self.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("authorization", &self.auth)
            .header(
                "accept",
                &format!("{OCI_MANIFEST}, {DOCKER_MANIFEST}, {OCI_INDEX}, {DOCKER_LIST}"),
            )
            .call()
            .map_err(Self::transport)?;
        let mut r = Self::expect(r, &[200])?;
        let media_type = Self::header(&r, "content-type").unwrap_or_else(|| OCI_MANIFEST.into());
        let manifest = r
            .body_mut()
            .with_config()
            .limit(4 << 20)
            .read_to_vec()
            .map_err(Self::transport)?;
        let digest = sha256_digest(&manifest);
        if let Some(h) = Self::header(&r, "docker-content-digest")
            && h != digest
        {
            return Err(ClientError {
                status: Some(200),
                code: Some("DIGEST_INVALID".into()),
                message: format!("manifest digest {digest} != header {h}"),
            });
        }
        progress(Progress::ManifestPulled {
            digest: digest.clone(),
        });
        let m: Value = serde_json::from_slice(&manifest).map_err(|e| ClientError {
            status: Some(200),
            code: Some("MANIFEST_INVALID".into()),
            message: e.to_string(),
        })?;
        let desc = |d: &Value| {
            (
                d["digest"].as_str().unwrap_or("").to_string(),
                d["mediaType"].as_str().unwrap_or("").to_string(),
            )
        };
        let (cd, cm) = desc(&m["config"]);
        let config = self.pull_blob(repo, &cd, &cm)?;
        progress(Progress::BlobDownloaded {
            digest: cd,
            size: config.data.len() as u64,
        });
        let mut layers = vec![];
        for l in m["layers"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let (d, mt) = desc(l);
            let b = self.pull_blob(repo, &d, &mt)?;
            progress(Progress::BlobDownloaded {
                digest: d,
                size: b.data.len() as u64,
            });
            layers.push(b);
        }
        Ok(Image {
            config,
            layers,
            manifest,
            manifest_media_type: media_type,
            manifest_digest: digest,
        })
    }
}

/// The image `kagi demo` pushes: small, deterministic, three gzip'd layers.
pub fn demo_image() -> Image {
    generate_image(20_261_124, 3, 256 * 1024)
}

impl Image {
    /// The manifest digest (`sha256:…`).
    pub fn manifest_digest(&self) -> &str {
        &self.manifest_digest
    }

    /// Total bytes of config, layers and manifest.
    pub fn total_size(&self) -> u64 {
        self.blobs().map(|b| b.data.len() as u64).sum::<u64>() + self.manifest.len() as u64
    }
}

/// A convenience facade over [`RegistryClient`] with `anyhow` errors and byte-count progress
/// (`done`, `total`), as `kagi demo` uses it.
#[derive(Debug)]
pub struct Registry(pub RegistryClient);

impl Registry {
    /// `endpoint` is `host:port` or `http://host:port`.
    pub fn new(endpoint: &str, username: &str, password: &str) -> Registry {
        Registry(RegistryClient::new(endpoint, username, password))
    }

    /// Pushes `image` as `repo:tag`; returns the manifest digest.
    pub fn push(
        &self,
        repo: &str,
        tag: &str,
        image: &Image,
        progress: &mut dyn FnMut(u64, u64),
    ) -> anyhow::Result<String> {
        let total = image.total_size();
        let mut done = 0u64;
        let d = self.0.push(repo, tag, image, &mut |p| {
            match p {
                Progress::BlobExists { size, .. } | Progress::BlobUploaded { size, .. } => {
                    done += size
                }
                Progress::ManifestPushed { .. } => done = total,
                _ => {}
            }
            progress(done, total);
        })?;
        Ok(d)
    }

    /// Pulls `repo:reference` and verifies every digest.
    pub fn pull(&self, repo: &str, reference: &str) -> anyhow::Result<Image> {
        Ok(self.0.pull(repo, reference, &mut |_| {})?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_layout_roundtrips() {
        let a = generate_image(42, 3, 1000);
        let b = generate_image(42, 3, 1000);
        assert_eq!(a, b);
        assert_ne!(
            a.manifest_digest,
            generate_image(43, 3, 1000).manifest_digest
        );
        assert_eq!(a.layers.len(), 3);
        let parsed = crate::manifest::parse(&a.manifest, Some(OCI_MANIFEST)).unwrap();
        assert_eq!(parsed.blobs.len(), 4);
        let dir = tempfile::tempdir().unwrap();
        write_oci_layout(&a, dir.path(), "v1").unwrap();
        assert_eq!(read_oci_layout(dir.path(), "v1").unwrap(), a);
        // the gzip'd layers really are tar archives
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&a.layers[1].data[..]));
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["layer1/README", "layer1/data.bin"]);
    }

    #[test]
    fn demo_image_is_small_and_stable() {
        let a = demo_image();
        assert_eq!(a.manifest_digest(), demo_image().manifest_digest());
        assert!(a.total_size() > 3 * 256 * 1024 / 2 && a.total_size() < 2 * 1024 * 1024);
    }

    #[test]
    fn large_layout_streams() {
        let dir = tempfile::tempdir().unwrap();
        let d =
            write_large_oci_layout(dir.path(), "big", 7, &[100_000, 3], LayerFormat::Tar).unwrap();
        let img = read_oci_layout(dir.path(), "big").unwrap();
        assert_eq!(img.manifest_digest, d);
        assert_eq!(img.layers.len(), 2);
        assert!(img.layers[0].data.len() > 100_000);
    }

    #[test]
    fn large_gzip_layout_names_the_uncompressed_tar_as_diff_id() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [70_000, 5];
        let d = write_large_oci_layout(dir.path(), "gz", 9, &sizes, LayerFormat::Gzip).unwrap();
        let img = read_oci_layout(dir.path(), "gz").unwrap();
        assert_eq!(img.manifest_digest, d);
        let manifest: Value = serde_json::from_slice(&img.manifest).unwrap();
        let config: Value = serde_json::from_slice(&img.config.data).unwrap();
        for (i, layer) in img.layers.iter().enumerate() {
            assert_eq!(manifest["layers"][i]["mediaType"], OCI_LAYER_GZIP);
            let mut tar = vec![];
            flate2::read::GzDecoder::new(&layer.data[..])
                .read_to_end(&mut tar)
                .unwrap();
            assert_eq!(config["rootfs"]["diff_ids"][i], sha256_digest(&tar));
            let mut ar = tar::Archive::new(&tar[..]);
            let entry = ar.entries().unwrap().next().unwrap().unwrap();
            assert_eq!(entry.header().size().unwrap(), sizes[i]);
        }
        // The same seed and sizes give the same image.
        let again = tempfile::tempdir().unwrap();
        let d2 = write_large_oci_layout(again.path(), "gz", 9, &sizes, LayerFormat::Gzip).unwrap();
        assert_eq!(d, d2);
    }
}
