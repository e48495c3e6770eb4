//! Manifest parsing: which media types kagi accepts, and which digests a manifest references.

use crate::error::StoreError;
use crate::util::valid_digest;
use serde_json::Value;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Upper bound on a manifest's size (ECR's limit is 4 MiB).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// A manifest accepted for storage.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub media_type: String,
    /// Blobs that must be in the repository (config + layers without `urls`).
    pub blobs: Vec<String>,
    /// Child manifests that must be images of the repository (index / manifest list).
    pub manifests: Vec<String>,
    /// Sum of the referenced descriptors' sizes (ECR's `imageSizeInBytes`).
    pub size: u64,
    /// The config's media type (ECR's `artifactMediaType`), for image manifests.
    pub config_media_type: Option<String>,
}

pub fn is_index(mt: &str) -> bool {
    mt == DOCKER_LIST || mt == OCI_INDEX
}

/// Parses `bytes` as a manifest. `declared` is the Content-Type (registry) or
/// `imageManifestMediaType` (API), if any; it must agree with a `mediaType` in the body.
pub fn parse(bytes: &[u8], declared: Option<&str>) -> Result<Parsed, StoreError> {
    let inv = |m: &str| StoreError::ManifestInvalid(m.to_string());
    if bytes.len() > MAX_MANIFEST {
        return Err(inv("manifest exceeds 4 MiB"));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::ManifestInvalid(format!("not JSON: {e}")))?;
    let obj = v.as_object().ok_or_else(|| inv("not a JSON object"))?;
    match obj.get("schemaVersion").and_then(Value::as_i64) {
        Some(2) => {}
        Some(1) => return Err(inv("schema version 1 manifests are not supported")),
        _ => return Err(inv("schemaVersion must be 2")),
    }
    let declared = declared
        .map(|d| d.split(';').next().unwrap_or("").trim().to_string())
        .filter(|d| !d.is_empty() && d != "application/json" && d != "application/octet-stream");
    let body_mt = obj
        .get("mediaType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let media_type = match (&body_mt, &declared) {
        (Some(b), Some(d)) if b != d => {
            return Err(StoreError::ManifestInvalid(format!(
                "mediaType {b} does not match Content-Type {d}"
            )));
        }
        (Some(b), _) => b.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            if obj.contains_key("manifests") {
                OCI_INDEX.to_string()
            } else {
                OCI_MANIFEST.to_string()
            }
        }
    };
    let mut p = Parsed {
        media_type: media_type.clone(),
        blobs: vec![],
        manifests: vec![],
        size: 0,
        config_media_type: None,
    };
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = obj.get("config").ok_or_else(|| inv("missing config"))?;
            let (d, s) = descriptor(config)?;
            p.config_media_type = config
                .get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_string);
            p.blobs.push(d);
            p.size += s;
            let layers = obj
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| inv("missing layers"))?;
            for l in layers {
                let (d, s) = descriptor(l)?;
                p.size += s;
                // Foreign (non-distributable) layers live elsewhere.
                let foreign = l
                    .get("urls")
                    .and_then(Value::as_array)
                    .is_some_and(|u| !u.is_empty());
                if !foreign && !p.blobs.contains(&d) {
                    p.blobs.push(d);
                }
            }
        }
        DOCKER_LIST | OCI_INDEX => {
            let ms = obj
                .get("manifests")
                .and_then(Value::as_array)
                .ok_or_else(|| inv("missing manifests"))?;
            for m in ms {
                let (d, s) = descriptor(m)?;
                p.size += s;
                if !p.manifests.contains(&d) {
                    p.manifests.push(d);
                }
            }
        }
        other => {
            return Err(StoreError::ManifestInvalid(format!(
                "unsupported manifest media type {other}"
            )));
        }
    }
    Ok(p)
}

fn descriptor(v: &Value) -> Result<(String, u64), StoreError> {
    let d = v
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::ManifestInvalid("descriptor without digest".into()))?;
    if !valid_digest(d) {
        return Err(StoreError::ManifestInvalid(format!(
            "invalid descriptor digest {d}"
        )));
    }
    let s = v.get("size").and_then(Value::as_u64).ok_or_else(|| {
        StoreError::ManifestInvalid(format!("descriptor {d} without a valid size"))
    })?;
    Ok((d.to_string(), s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::sha256_digest;

    #[test]
    fn image_manifest_refs() {
        let c = sha256_digest(b"c");
        let l = sha256_digest(b"l");
        let m = serde_json::json!({"schemaVersion":2,"mediaType":OCI_MANIFEST,
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":c,"size":1},
            "layers":[{"mediaType":"x","digest":l,"size":10},{"mediaType":"f","digest":sha256_digest(b"f"),"size":5,"urls":["http://x"]}]});
        let p = parse(m.to_string().as_bytes(), None).unwrap();
        assert_eq!(p.blobs, vec![c, l]);
        assert_eq!(p.size, 16);
        assert!(parse(m.to_string().as_bytes(), Some(DOCKER_MANIFEST)).is_err());
        assert!(
            parse(
                m.to_string().as_bytes(),
                Some(&format!("{OCI_MANIFEST}; charset=x"))
            )
            .is_ok()
        );
    }

    #[test]
    fn index_and_invalid() {
        let d = sha256_digest(b"m");
        let m = serde_json::json!({"schemaVersion":2,"manifests":[{"mediaType":OCI_MANIFEST,"digest":d,"size":3}]});
        let p = parse(m.to_string().as_bytes(), None).unwrap();
        assert_eq!(p.media_type, OCI_INDEX);
        assert_eq!(p.manifests, vec![d]);
        assert!(parse(b"{", None).is_err());
        assert!(parse(br#"{"schemaVersion":1}"#, None).is_err());
        assert!(
            parse(
                br#"{"schemaVersion":2,"config":{"digest":"sha256:zz","size":1},"layers":[]}"#,
                None
            )
            .is_err()
        );
        assert!(parse(br#"{"schemaVersion":2,"mediaType":"text/plain"}"#, None).is_err());
    }
}
