//! The storage layer's error and the registry's OCI error JSON (the API's exceptions are
//! `kagi_api::ApiError`, rendered by `kagi_api::json11`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What can go wrong below the HTTP layers. Each front end maps it to its own vocabulary.
#[derive(Debug)]
pub enum StoreError {
    RepoNotFound(String),
    UploadUnknown,
    /// A concurrent request is writing the same upload.
    UploadBusy,
    UploadInvalid(String),
    /// `Content-Range`/`partFirstByte` does not continue at the current offset.
    RangeInvalid {
        offset: u64,
    },
    DigestMismatch {
        expected: String,
        actual: String,
    },
    BlobUnknown(String),
    BlobReferenced(String),
    ManifestInvalid(String),
    /// Referenced blobs (or child manifests) absent from the repository.
    ManifestBlobUnknown(Vec<String>),
    ManifestUnknown,
    /// The image is a child of an index/manifest list in the same repository.
    ImageReferenced(String),
    TagImmutable {
        tag: String,
    },
    Io(anyhow::Error),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.into())
    }
}
impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "storage failed: {e:#}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A transaction's error: the domain error it aborted with, or the storage's own failure.
impl From<anyhow::Error> for StoreError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<StoreError>() {
            Ok(s) => s,
            Err(e) => StoreError::Io(e),
        }
    }
}

/// An OCI distribution error (`{"errors":[{code,message,detail}]}`).
#[derive(Debug, Clone)]
pub struct RegistryError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: serde_json::Value,
}

impl RegistryError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        RegistryError {
            status,
            code,
            message: message.into(),
            detail: serde_json::Value::Null,
        }
    }
    pub fn detail(mut self, d: serde_json::Value) -> Self {
        self.detail = d;
        self
    }
    pub fn name_unknown(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "repository name not known to registry",
        )
        .detail(serde_json::json!({ "name": name }))
    }
    pub fn denied(msg: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, "DENIED", msg)
    }
    pub fn blob_unknown(digest: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .detail(serde_json::json!({ "digest": digest }))
    }
    pub fn upload_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }
    pub fn digest_invalid(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", msg)
    }
    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        )
        .detail(serde_json::json!({ "reference": reference }))
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            format!("internal error: {e}"),
        )
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        use StoreError::*;
        match e {
            RepoNotFound(n) => RegistryError::name_unknown(&n),
            UploadUnknown => RegistryError::upload_unknown(),
            UploadBusy => RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                "upload is in use by another request",
            ),
            UploadInvalid(m) => {
                RegistryError::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", m)
            }
            RangeInvalid { offset } => RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_INVALID",
                format!("invalid content range; the upload continues at offset {offset}"),
            ),
            DigestMismatch { expected, actual } => RegistryError::digest_invalid(format!(
                "provided digest {expected} did not match uploaded content ({actual})"
            )),
            BlobUnknown(d) => RegistryError::blob_unknown(&d),
            BlobReferenced(d) => RegistryError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "blob is referenced by an image in this repository",
            )
            .detail(serde_json::json!({ "digest": d })),
            ManifestInvalid(m) => RegistryError::new(
                StatusCode::BAD_REQUEST,
                "MANIFEST_INVALID",
                format!("manifest invalid: {m}"),
            ),
            ManifestBlobUnknown(ds) => RegistryError::new(
                StatusCode::BAD_REQUEST,
                "MANIFEST_BLOB_UNKNOWN",
                "blob unknown to registry",
            )
            .detail(serde_json::json!({ "digests": ds })),
            ManifestUnknown => RegistryError::new(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            ),
            ImageReferenced(d) => RegistryError::new(
                StatusCode::CONFLICT,
                "UNSUPPORTED",
                "the image is referenced by a manifest list or index in this repository",
            )
            .detail(serde_json::json!({ "digest": d })),
            TagImmutable { tag } => RegistryError::new(
                StatusCode::BAD_REQUEST,
                "TAG_INVALID",
                format!(
                    "The image tag '{tag}' already exists in the repository and cannot be overwritten because the repository is immutable."
                ),
            ),
            Io(e) => RegistryError::internal(e),
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "errors": [ { "code": self.code, "message": self.message, "detail": self.detail } ] });
        let mut r = (self.status, body.to_string()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        r
    }
}
