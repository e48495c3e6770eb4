//! The OCI distribution (Docker registry v2) endpoints, served under `/v2/`.
//!
//! Authentication is HTTP Basic with user `AWS` and a password minted by
//! GetAuthorizationToken (see [`crate::token`]); `GET /v2/` without valid credentials answers
//! 401 with ECR's `WWW-Authenticate: Basic` challenge. Every other request is authorised as the
//! ECR action AWS uses for it, on the repository ARN, with the repository policy:
//!
//! | request | action |
//! |---|---|
//! | `HEAD /v2/<n>/blobs/<d>` | `ecr:BatchCheckLayerAvailability` |
//! | `GET /v2/<n>/blobs/<d>` | `ecr:GetDownloadUrlForLayer` |
//! | `DELETE /v2/<n>/blobs/<d>` | `ecr:BatchDeleteImage` |
//! | `POST /v2/<n>/blobs/uploads/` | `ecr:InitiateLayerUpload` (+ `UploadLayerPart`, `CompleteLayerUpload` with `?digest=`; a `?mount=&from=` also needs `ecr:GetDownloadUrlForLayer` on the source, else it falls back to an upload session) |
//! | `PATCH`, `GET`, `DELETE …/uploads/<id>` | `ecr:UploadLayerPart` |
//! | `PUT …/uploads/<id>?digest=` | `ecr:CompleteLayerUpload` (+ `UploadLayerPart` with a body) |
//! | `GET`/`HEAD /v2/<n>/manifests/<ref>` | `ecr:BatchGetImage` |
//! | `PUT /v2/<n>/manifests/<ref>` | `ecr:PutImage` |
//! | `DELETE /v2/<n>/manifests/<ref>` | `ecr:BatchDeleteImage` |
//! | `GET /v2/<n>/tags/list` | `ecr:ListImages` |
//! | `GET /v2/_catalog` | `ecr:DescribeRepositories` per repository (filters) |
//!
//! A denial is 403 `DENIED` with the AccessDenied message the host produced. Authorisation
//! happens before the repository is looked up. One exception: a denied `HEAD` of a blob answers
//! 404, because a HEAD response has no body to carry the message and skopeo treats any other
//! status as fatal; the client then POSTs the upload and gets the 403 `DENIED` naming
//! `ecr:InitiateLayerUpload`, which is what docker users see against ECR.
//!
//! A `GET` of a blob may instead carry a download token (`?kagi-download=`) minted by
//! GetDownloadUrlForLayer for exactly that repository and digest; the token's principal is
//! re-resolved and re-authorised like a Basic one.

use crate::error::{RegistryError, StoreError};
use crate::store::{Repo, Source};
use crate::util::{self, percent_decode, query_pairs, repo_arn};
use crate::{Caller, Ecr};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use std::sync::Arc;

/// The query parameter carrying a GetDownloadUrlForLayer token.
pub const DOWNLOAD_PARAM: &str = "kagi-download";

pub fn router(ecr: Arc<Ecr>) -> Router {
    Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
        .with_state(ecr)
}

/// What one registry request was authorised as, for the host's event history: the caller, the
/// region, and each action and repository [`Req::authorize`] checked (a monolithic upload is
/// both `UploadLayerPart` and `CompleteLayerUpload`, as ECR's API would be two calls).
#[derive(Default)]
struct Trail(std::sync::Mutex<Vec<Noted>>);

/// One authorised (or refused) action of a registry request.
struct Noted {
    caller: Caller,
    region: String,
    action: String,
    repository: String,
    /// The refusal, as the history must tell it even where the protocol answers otherwise
    /// (a refused HEAD of a blob is answered "unknown"; its event says DENIED).
    denied: Option<String>,
}

impl Trail {
    fn note(
        &self,
        caller: &Caller,
        region: &str,
        action: &str,
        repository: &str,
        denied: Option<&str>,
    ) {
        if let Ok(mut t) = self.0.lock()
            && !t
                .iter()
                .any(|n| n.action == action && n.repository == repository)
        {
            t.push(Noted {
                caller: caller.clone(),
                region: region.to_owned(),
                action: action.to_owned(),
                repository: repository.to_owned(),
                denied: denied.map(str::to_owned),
            });
        }
    }
}

/// The members a registry route names, as ECR's API would carry them.
fn route_parameters(path: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    match parse_route(path) {
        Some(Route::Manifest(_, reference)) => {
            let key = if reference.starts_with("sha256:") {
                "imageDigest"
            } else {
                "imageTag"
            };
            m.insert(key.into(), reference.into());
        }
        Some(Route::Blob(_, digest)) => {
            m.insert("layerDigest".into(), digest.into());
        }
        Some(Route::Upload(_, id)) => {
            m.insert("uploadId".into(), id.into());
        }
        _ => {}
    }
    m
}

async fn dispatch(State(ecr): State<Arc<Ecr>>, req: Request) -> Response {
    let with_body = has_body(req.headers());
    let user_agent: String = req
        .headers()
        .get(header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(512)
                .collect()
        })
        .unwrap_or_default();
    let source_ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let path = req.uri().path().to_owned();
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    let trail = Trail::default();
    let (mut resp, error) = match handle(&ecr, req, &trail).await {
        Ok(r) => (r, None),
        Err(e) => {
            let error = (e.code.to_owned(), e.message.clone());
            (e.into_response(), Some(error))
        }
    };
    let noted = trail
        .0
        .lock()
        .map(|mut t| std::mem::take(&mut *t))
        .unwrap_or_default();
    let last = noted.len().saturating_sub(1);
    for (i, n) in noted.into_iter().enumerate() {
        let event = crate::RegistryEvent {
            caller: n.caller,
            action: n.action,
            region: n.region,
            registry_id: ecr.account_id.clone(),
            repository: n.repository,
            parameters: route_parameters(&path),
            // Refused at this check, or the request failed after its last one.
            error: match n.denied {
                Some(m) => Some(("DENIED".to_owned(), m)),
                None if i == last => error.clone(),
                None => None,
            },
            user_agent: user_agent.clone(),
            source_ip,
            write,
        };
        if let Err(e) = ecr.host.record_registry(event).await
            && write
        {
            // Not acknowledged: an acknowledged write always has its event.
            resp = RegistryError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                format!("the request was carried out but its event could not be recorded: {e}"),
            )
            .into_response();
        }
    }
    // An error may leave the request body unread; the connection cannot be reused then, so
    // say so rather than let a client's pool hit a closed socket.
    if with_body && (resp.status().is_client_error() || resp.status().is_server_error()) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

/// What a registry path names (public for the `registry_route` fuzz target).
#[derive(Debug, PartialEq)]
pub enum Route {
    Base,
    Catalog,
    Tags(String),
    Manifest(String, String),
    Blob(String, String),
    UploadStart(String),
    Upload(String, String),
}

/// Routes a `/v2/…` path (segments percent-decoded); `None` for no registry route. Names and
/// references are checked by the handlers (ECR's grammar, `sha256:` digests), not here.
pub fn parse_route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v2")?;
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Route::Base);
    }
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    let segs: Vec<String> = rest.split('/').map(percent_decode).collect();
    let n = segs.len();
    let name = |k: usize| segs[..n - k].join("/");
    if n >= 3 && segs[n - 1].is_empty() && segs[n - 2] == "uploads" && segs[n - 3] == "blobs" {
        return Some(Route::UploadStart(name(3)));
    }
    if n >= 3 && segs[n - 2] == "uploads" && segs[n - 3] == "blobs" {
        return Some(Route::Upload(name(3), segs[n - 1].clone()));
    }
    if n >= 3 && segs[n - 2] == "tags" && segs[n - 1] == "list" {
        return Some(Route::Tags(name(2)));
    }
    if n >= 3 && segs[n - 2] == "manifests" {
        return Some(Route::Manifest(name(2), segs[n - 1].clone()));
    }
    if n >= 3 && segs[n - 2] == "blobs" && segs[n - 1] == "uploads" {
        return Some(Route::UploadStart(name(2)));
    }
    if n >= 3 && segs[n - 2] == "blobs" {
        return Some(Route::Blob(name(2), segs[n - 1].clone()));
    }
    None
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn empty(status: StatusCode, headers: &[(&'static str, String)]) -> Response {
    let mut r = (status, Body::empty()).into_response();
    for (k, v) in headers {
        r.headers_mut().insert(*k, hv(v));
    }
    if !r.headers().contains_key(header::CONTENT_LENGTH) {
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    r
}

fn unauthorized(ecr: &Ecr, headers: &HeaderMap, msg: &str) -> RegistryError {
    let _ = (ecr, headers);
    RegistryError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", msg)
}

fn challenge(ecr: &Ecr, headers: &HeaderMap, mut resp: Response) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| ecr.endpoint("us-east-1"));
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        hv(&format!(
            "Basic realm=\"http://{host}/\",service=\"ecr.amazonaws.com\""
        )),
    );
    resp
}

/// Basic `AWS:<password>` → (caller, region).
fn authenticate(ecr: &Ecr, headers: &HeaderMap) -> Result<(Caller, String), &'static str> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .ok_or("authentication required")?;
    let b64 = auth
        .strip_prefix("Basic ")
        .or_else(|| auth.strip_prefix("basic "))
        .ok_or("authentication required")?;
    let raw = STANDARD
        .decode(b64.trim())
        .map_err(|_| "invalid basic credentials")?;
    let raw = String::from_utf8(raw).map_err(|_| "invalid basic credentials")?;
    let (user, password) = raw.split_once(':').ok_or("invalid basic credentials")?;
    if user != "AWS" {
        return Err("the user name must be AWS");
    }
    let claims = ecr
        .key
        .verify_registry(password, util::now())
        .ok_or("Your authorization token is invalid or has expired.")?;
    let caller = ecr
        .host
        .caller_for_key(&claims.access_key_id)
        .ok_or("The credentials that issued this authorization token are no longer valid.")?;
    Ok((caller, claims.region))
}

struct Req<'a> {
    ecr: &'a Arc<Ecr>,
    caller: Caller,
    region: String,
    trail: &'a Trail,
}

impl Req<'_> {
    fn authorize(
        &self,
        action: &str,
        name: &str,
        repo: Option<&Repo>,
    ) -> Result<(), RegistryError> {
        let decision = self.ecr.host.authorize(
            &self.caller,
            &format!("ecr:{action}"),
            &repo_arn(&self.region, &self.ecr.account_id, name),
            repo.and_then(|r| r.policy.as_deref()),
        );
        self.trail.note(
            &self.caller,
            &self.region,
            action,
            name,
            decision.as_ref().err().map(String::as_str),
        );
        decision.map_err(RegistryError::denied)
    }

    /// Checks the name, authorises every action, then requires the repository.
    fn repo(&self, name: &str, actions: &[&str]) -> Result<Repo, RegistryError> {
        if !util::valid_repo_name(name) {
            return Err(RegistryError::new(
                StatusCode::BAD_REQUEST,
                "NAME_INVALID",
                "invalid repository name",
            )
            .detail(serde_json::json!({ "name": name })));
        }
        let repo = self.ecr.store.get_repo(&self.region, name)?;
        for a in actions {
            self.authorize(a, name, repo.as_ref())?;
        }
        repo.ok_or_else(|| RegistryError::name_unknown(name))
    }
}

async fn handle(ecr: &Arc<Ecr>, req: Request, trail: &Trail) -> Result<Response, RegistryError> {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let headers = parts.headers;
    let query = query_pairs(parts.uri.query().unwrap_or(""));
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let route = parse_route(parts.uri.path()).ok_or_else(|| {
        RegistryError::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            "unknown registry route",
        )
    })?;

    // A download URL from GetDownloadUrlForLayer.
    if let (Route::Blob(name, digest), Some(tok), true) =
        (&route, param(DOWNLOAD_PARAM), method == Method::GET)
    {
        let c = ecr
            .key
            .verify_download(&tok, util::now())
            .filter(|c| &c.repository == name && &c.digest == digest);
        let c = c.ok_or_else(|| {
            RegistryError::denied("The download URL is invalid or has expired.".into())
        })?;
        let caller = ecr.host.caller_for_key(&c.access_key_id).ok_or_else(|| {
            RegistryError::denied(
                "The credentials that issued this download URL are no longer valid.".into(),
            )
        })?;
        let rq = Req {
            ecr,
            caller,
            region: c.region,
            trail,
        };
        let repo = rq.repo(name, &["GetDownloadUrlForLayer"])?;
        return get_blob(&rq, &repo, digest, &headers, false).await;
    }

    let (caller, region) = match authenticate(ecr, &headers) {
        Ok(x) => x,
        Err(msg) => {
            return Ok(challenge(
                ecr,
                &headers,
                unauthorized(ecr, &headers, msg).into_response(),
            ));
        }
    };
    let rq = Req {
        ecr,
        caller,
        region,
        trail,
    };
    match route {
        Route::Base => {
            let mut r = (StatusCode::OK, "{}").into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        Route::Catalog => catalog(&rq, &query).await,
        Route::Tags(name) => {
            let repo = rq.repo(&name, &["ListImages"])?;
            tags_list(&rq, &repo, &query)
        }
        Route::Blob(name, digest) => match method {
            Method::HEAD => {
                let repo = match rq.repo(&name, &["BatchCheckLayerAvailability"]) {
                    Ok(r) => r,
                    // A HEAD response cannot carry the DENIED body; answer "unknown" so the
                    // client goes on to POST the upload, whose 403 names the action (what
                    // docker shows against ECR: "denied: ... ecr:InitiateLayerUpload ...").
                    Err(e) if e.code == "DENIED" => {
                        return Err(RegistryError::blob_unknown(&digest));
                    }
                    Err(e) => return Err(e),
                };
                get_blob(&rq, &repo, &digest, &headers, true).await
            }
            Method::GET => {
                let repo = rq.repo(&name, &["GetDownloadUrlForLayer"])?;
                get_blob(&rq, &repo, &digest, &headers, false).await
            }
            Method::DELETE => {
                let repo = rq.repo(&name, &["BatchDeleteImage"])?;
                let store = ecr.store.clone();
                let d = digest.clone();
                tokio::task::spawn_blocking(move || store.unlink_blob(repo.id, &d))
                    .await
                    .map_err(RegistryError::internal)??;
                Ok(empty(StatusCode::ACCEPTED, &[]))
            }
            _ => Err(unsupported()),
        },
        Route::UploadStart(name) => {
            if method != Method::POST {
                return Err(unsupported());
            }
            start_upload(&rq, &name, &query, body).await
        }
        Route::Upload(name, id) => match method {
            Method::PATCH => {
                let repo = rq.repo(&name, &["UploadLayerPart"])?;
                let start = match headers
                    .get(header::CONTENT_RANGE)
                    .and_then(|h| h.to_str().ok())
                {
                    None => None,
                    Some(cr) => Some(parse_content_range(cr).ok_or_else(|| {
                        RegistryError::new(
                            StatusCode::RANGE_NOT_SATISFIABLE,
                            "RANGE_INVALID",
                            format!("invalid Content-Range {cr}"),
                        )
                    })?),
                };
                let n = ecr
                    .store
                    .append(repo.id, &id, start, Source::Body(body))
                    .await?;
                Ok(upload_status(StatusCode::ACCEPTED, &name, &id, n))
            }
            Method::GET => {
                let repo = rq.repo(&name, &["UploadLayerPart"])?;
                let n = ecr.store.upload_offset(repo.id, &id)?;
                Ok(upload_status(StatusCode::NO_CONTENT, &name, &id, n))
            }
            Method::DELETE => {
                let repo = rq.repo(&name, &["UploadLayerPart"])?;
                ecr.store.cancel_upload(repo.id, &id)?;
                Ok(empty(StatusCode::NO_CONTENT, &[]))
            }
            Method::PUT => {
                let has_body = has_body(&headers);
                let actions: &[&str] = if has_body {
                    &["UploadLayerPart", "CompleteLayerUpload"]
                } else {
                    &["CompleteLayerUpload"]
                };
                let repo = rq.repo(&name, actions)?;
                let digest = param("digest").ok_or_else(|| {
                    RegistryError::digest_invalid("digest query parameter required")
                })?;
                check_digest(&digest)?;
                ecr.store.upload_offset(repo.id, &id)?;
                if has_body {
                    ecr.store
                        .append(repo.id, &id, None, Source::Body(body))
                        .await?;
                }
                ecr.store.finish(repo.id, &id, &digest).await?;
                Ok(blob_created(&name, &digest))
            }
            _ => Err(unsupported()),
        },
        Route::Manifest(name, reference) => match method {
            Method::GET | Method::HEAD => {
                let repo = rq.repo(&name, &["BatchGetImage"])?;
                let img = ecr
                    .store
                    .resolve(repo.id, &reference)?
                    .ok_or_else(|| RegistryError::manifest_unknown(&reference))?;
                let len = img.manifest.len();
                let body = if method == Method::HEAD {
                    Body::empty()
                } else {
                    Body::from(img.manifest)
                };
                let mut r = (StatusCode::OK, body).into_response();
                let h = r.headers_mut();
                h.insert(header::CONTENT_TYPE, hv(&img.media_type));
                h.insert(header::CONTENT_LENGTH, hv(&len.to_string()));
                h.insert("docker-content-digest", hv(&img.digest));
                h.insert(header::ETAG, hv(&format!("\"{}\"", img.digest)));
                Ok(r)
            }
            Method::PUT => {
                let repo = rq.repo(&name, &["PutImage"])?;
                put_manifest(&rq, &repo, &reference, &headers, body).await
            }
            Method::DELETE => {
                let repo = rq.repo(&name, &["BatchDeleteImage"])?;
                if util::looks_like_digest(&reference) {
                    let store = ecr.store.clone();
                    let d = reference.clone();
                    match tokio::task::spawn_blocking(move || store.delete_image(repo.id, &d))
                        .await
                        .map_err(RegistryError::internal)?
                    {
                        Ok(_) => {}
                        Err(StoreError::ManifestUnknown) => {
                            return Err(RegistryError::manifest_unknown(&reference));
                        }
                        Err(e) => return Err(e.into()),
                    }
                } else if ecr.store.delete_tag(repo.id, &reference)?.is_none() {
                    return Err(RegistryError::manifest_unknown(&reference));
                }
                Ok(empty(StatusCode::ACCEPTED, &[]))
            }
            _ => Err(unsupported()),
        },
    }
}

fn unsupported() -> RegistryError {
    RegistryError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "UNSUPPORTED",
        "The operation is unsupported.",
    )
}

fn has_body(h: &HeaderMap) -> bool {
    match h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()) {
        Some(l) => l.trim() != "0",
        None => h.contains_key(header::TRANSFER_ENCODING),
    }
}

/// `Content-Range: <start>-<end>` (also tolerates a `bytes ` / `bytes=` prefix); returns start.
pub fn parse_content_range(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v
        .strip_prefix("bytes=")
        .or_else(|| v.strip_prefix("bytes "))
        .unwrap_or(v);
    let (a, b) = v.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b: u64 = b.split('/').next()?.trim().parse().ok()?;
    (b >= a).then_some(a)
}

fn check_digest(d: &str) -> Result<(), RegistryError> {
    if util::valid_digest(d) {
        Ok(())
    } else if d.starts_with("sha512:") || d.starts_with("sha384:") {
        Err(RegistryError::digest_invalid(format!(
            "unsupported digest algorithm in {d}; this registry stores sha256"
        )))
    } else {
        Err(RegistryError::digest_invalid(format!("invalid digest {d}")))
    }
}

fn upload_status(status: StatusCode, name: &str, id: &str, offset: u64) -> Response {
    empty(
        status,
        &[
            ("location", format!("/v2/{name}/blobs/uploads/{id}")),
            ("range", format!("0-{}", offset.saturating_sub(1))),
            ("docker-upload-uuid", id.to_string()),
        ],
    )
}

fn blob_created(name: &str, digest: &str) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            ("location", format!("/v2/{name}/blobs/{digest}")),
            ("docker-content-digest", digest.to_string()),
        ],
    )
}

async fn start_upload(
    rq: &Req<'_>,
    name: &str,
    query: &[(String, String)],
    body: Body,
) -> Result<Response, RegistryError> {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let store = &rq.ecr.store;
    if let Some(digest) = param("digest") {
        let repo = rq.repo(
            name,
            &[
                "InitiateLayerUpload",
                "UploadLayerPart",
                "CompleteLayerUpload",
            ],
        )?;
        check_digest(&digest)?;
        let id = store.new_upload(repo.id)?;
        if let Err(e) = store
            .append(repo.id, &id, Some(0), Source::Body(body))
            .await
        {
            let _ = store.cancel_upload(repo.id, &id);
            return Err(e.into());
        }
        store.finish(repo.id, &id, &digest).await?;
        return Ok(blob_created(name, &digest));
    }
    let repo = rq.repo(name, &["InitiateLayerUpload"])?;
    if let (Some(digest), Some(from)) = (param("mount"), param("from")) {
        // Mount only when the caller may read the blob from the source; otherwise fall back
        // to a plain upload session, as the spec allows.
        if util::valid_digest(&digest) && util::valid_repo_name(&from) {
            let src = store.get_repo(&rq.region, &from)?;
            if let Some(src) = src
                && rq
                    .authorize("GetDownloadUrlForLayer", &from, Some(&src))
                    .is_ok()
                && store.blob_in_repo(src.id, &digest)?.is_some()
                && store.link_blob(repo.id, &digest)?
            {
                return Ok(blob_created(name, &digest));
            }
        }
    }
    let id = store.new_upload(repo.id)?;
    Ok(upload_status(StatusCode::ACCEPTED, name, &id, 0))
}

/// Parses `Range: bytes=a-b | a- | -n` against `size`. `Ok(None)` = no (usable) Range header;
/// `Ok(Some((start, end)))` is inclusive and always within the blob; `Err` is a 416.
#[allow(clippy::result_unit_err)]
pub fn parse_range(h: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = h else { return Ok(None) };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multiple ranges: serve the whole blob
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let s: u64 = a.parse().map_err(|_| ())?;
        let e: u64 = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        (s, e)
    };
    if size == 0 || start > end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn get_blob(
    rq: &Req<'_>,
    repo: &Repo,
    digest: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response, RegistryError> {
    if !util::valid_digest(digest) {
        return Err(RegistryError::blob_unknown(digest));
    }
    let (size, object) = rq
        .ecr
        .store
        .blob_object(repo.id, digest)?
        .ok_or_else(|| RegistryError::blob_unknown(digest))?;
    let range = match parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    ) {
        Ok(r) => r,
        Err(()) => {
            let mut r = RegistryError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "RANGE_INVALID",
                "requested range not satisfiable",
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONTENT_RANGE, hv(&format!("bytes */{size}")));
            return Ok(r);
        }
    };
    let (status, start, len) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        None => (StatusCode::OK, 0, size),
    };
    let body = if head {
        Body::empty()
    } else {
        let store = rq.ecr.store.clone();
        let r = tokio::task::spawn_blocking(move || store.read_object(&object, start, len))
            .await
            .map_err(RegistryError::internal)?
            .map_err(|e| match e.kind() {
                // deleted (image deletion and collection) since the lookup
                std::io::ErrorKind::NotFound => RegistryError::blob_unknown(digest),
                _ => RegistryError::internal(e),
            })?;
        Body::new(FileBody::spawn(r, len))
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, hv(&len.to_string()));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert("docker-content-digest", hv(digest));
    h.insert(header::ETAG, hv(&format!("\"{digest}\"")));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            hv(&format!("bytes {start}-{}/{size}", start + len - 1)),
        );
    }
    Ok(r)
}

/// A response body fed by a blocking reader thread through a small bounded channel: reads run
/// ahead of the socket by at most `READ_AHEAD` chunks, with no async file I/O hops.
struct FileBody {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
}

const READ_CHUNK: usize = 512 * 1024;
const READ_AHEAD: usize = 4;

impl FileBody {
    fn spawn(mut f: Box<dyn std::io::Read + Send>, len: u64) -> FileBody {
        use std::io::Read as _;
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        tokio::task::spawn_blocking(move || {
            let mut left = len;
            while left > 0 {
                let want = READ_CHUNK.min(left as usize);
                let mut buf = Vec::with_capacity(want);
                match (&mut f).take(want as u64).read_to_end(&mut buf) {
                    Ok(0) => {
                        let _ = tx.blocking_send(Err(std::io::Error::other(
                            "blob object shorter than recorded",
                        )));
                        return;
                    }
                    Ok(n) => {
                        left -= n as u64;
                        if tx.blocking_send(Ok(bytes::Bytes::from(buf))).is_err() {
                            return; // the client went away
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        FileBody { rx }
    }
}

impl http_body::Body for FileBody {
    type Data = bytes::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|o| o.map(|r| r.map(http_body::Frame::data)))
    }
}

async fn put_manifest(
    rq: &Req<'_>,
    repo: &Repo,
    reference: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, RegistryError> {
    let by_digest = util::looks_like_digest(reference);
    if by_digest {
        check_digest(reference)?;
    } else if !util::valid_tag(reference) {
        return Err(RegistryError::new(
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
            "manifest tag did not match URI",
        )
        .detail(serde_json::json!({ "tag": reference })));
    }
    let limited = http_body_util::Limited::new(body, crate::manifest::MAX_MANIFEST);
    let bytes = match limited.collect().await {
        Ok(c) => c.to_bytes(),
        // The distribution spec's answer to a manifest over the registry's limit.
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(RegistryError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                format!(
                    "manifest body larger than {} bytes",
                    crate::manifest::MAX_MANIFEST
                ),
            ));
        }
        Err(e) => {
            return Err(RegistryError::new(
                StatusCode::BAD_REQUEST,
                "SIZE_INVALID",
                format!("manifest body unreadable: {e}"),
            ));
        }
    };
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = crate::manifest::parse(&bytes, declared)?;
    let digest = util::sha256_digest(&bytes);
    if by_digest && reference != digest {
        return Err(RegistryError::digest_invalid(format!(
            "manifest digest {digest} does not match {reference}"
        )));
    }
    let tag = (!by_digest).then_some(reference);
    rq.ecr.store.put_image(
        repo.id,
        &digest,
        &parsed,
        &bytes,
        tag,
        repo.mutability == "IMMUTABLE",
    )?;
    Ok(empty(
        StatusCode::CREATED,
        &[
            ("location", format!("/v2/{}/manifests/{digest}", repo.name)),
            ("docker-content-digest", digest.clone()),
        ],
    ))
}

/// `n` / `last` pagination over a sorted list; returns the page and whether more follow.
fn page<'a>(
    items: &'a [String],
    query: &[(String, String)],
) -> Result<(&'a [String], Option<usize>), RegistryError> {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let start = match param("last") {
        Some(l) => items.partition_point(|t| t.as_str() <= l.as_str()),
        None => 0,
    };
    let rest = &items[start..];
    match param("n") {
        None => Ok((rest, None)),
        Some(n) => {
            let n: usize = n.parse().map_err(|_| {
                RegistryError::new(
                    StatusCode::BAD_REQUEST,
                    "PAGINATION_NUMBER_INVALID",
                    "invalid number of results requested",
                )
            })?;
            if rest.len() > n {
                Ok((&rest[..n], Some(n)))
            } else {
                Ok((rest, None))
            }
        }
    }
}

fn json_response(v: serde_json::Value, link: Option<String>) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(l) = link {
        r.headers_mut().insert(header::LINK, hv(&l));
    }
    r
}

fn tags_list(
    rq: &Req<'_>,
    repo: &Repo,
    query: &[(String, String)],
) -> Result<Response, RegistryError> {
    let tags = rq.ecr.store.list_tags(repo.id)?;
    let (p, more) = page(&tags, query)?;
    let link = match (more, p.last()) {
        (Some(n), Some(last)) => Some(format!(
            "</v2/{}/tags/list?n={n}&last={}>; rel=\"next\"",
            repo.name,
            util::percent_encode(last)
        )),
        _ => None,
    };
    Ok(json_response(
        serde_json::json!({ "name": repo.name, "tags": p }),
        link,
    ))
}

async fn catalog(rq: &Req<'_>, query: &[(String, String)]) -> Result<Response, RegistryError> {
    let repos = rq.ecr.store.list_repos(&rq.region)?;
    let names: Vec<String> = repos
        .iter()
        .filter(|r| {
            rq.authorize("DescribeRepositories", &r.name, Some(r))
                .is_ok()
        })
        .map(|r| r.name.clone())
        .collect();
    let (p, more) = page(&names, query)?;
    let link = match (more, p.last()) {
        (Some(n), Some(last)) => Some(format!(
            "</v2/_catalog?n={n}&last={}>; rel=\"next\"",
            util::percent_encode(last)
        )),
        _ => None,
    };
    Ok(json_response(
        serde_json::json!({ "repositories": p }),
        link,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("/v2/"), Some(Route::Base));
        assert_eq!(parse_route("/v2"), Some(Route::Base));
        assert_eq!(parse_route("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(
            parse_route("/v2/a/b/tags/list"),
            Some(Route::Tags("a/b".into()))
        );
        assert_eq!(
            parse_route("/v2/a/manifests/latest"),
            Some(Route::Manifest("a".into(), "latest".into()))
        );
        assert_eq!(
            parse_route("/v2/a/blobs/sha256%3Aab"),
            Some(Route::Blob("a".into(), "sha256:ab".into()))
        );
        assert_eq!(
            parse_route("/v2/x/blobs/uploads/"),
            Some(Route::UploadStart("x".into()))
        );
        assert_eq!(
            parse_route("/v2/x/blobs/uploads"),
            Some(Route::UploadStart("x".into()))
        );
        assert_eq!(
            parse_route("/v2/x/blobs/uploads/u-1"),
            Some(Route::Upload("x".into(), "u-1".into()))
        );
        assert_eq!(
            parse_route("/v2/blobs/manifests/x"),
            Some(Route::Manifest("blobs".into(), "x".into()))
        );
        assert_eq!(parse_route("/v2/x"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Ok(Some((0, 3))));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 9))));
        assert_eq!(parse_range(Some("bytes=2-100"), 10), Ok(Some((2, 9))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Err(()));
        assert_eq!(parse_content_range("0-99"), Some(0));
        assert_eq!(parse_content_range("bytes 100-199/*"), Some(100));
        assert_eq!(parse_content_range("9-1"), None);
    }
}
