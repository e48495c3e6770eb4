//! The ECR JSON 1.1 API. Requests are decoded and validated by `kagi_api::json11` against the
//! `ecr` model; each operation authorises `ecr:<Op>` on the repository ARN (with the repository
//! policy) before it looks the repository up, then answers with the model's output shape.

use crate::error::StoreError;
use crate::lifecycle;
use crate::store::{ImageRow, NewRepo, Repo, Source};
use crate::util::{self, repo_arn};
use crate::{Caller, Ecr};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use kagi_api::{ApiError, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Largest `layerPartBlob` ECR accepts.
pub const MAX_PART: usize = 20 * 1024 * 1024;
/// How long a GetAuthorizationToken password lives.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// How long a GetDownloadUrlForLayer URL lives.
pub const DOWNLOAD_URL_LIFETIME: Duration = Duration::from_secs(3600);

type R = Result<Value, ApiError>;

fn err(code: &str, msg: impl Into<String>) -> ApiError {
    ApiError::new(code, msg, 400)
}

fn ts(epoch: f64) -> Value {
    Value::String(
        Timestamp::from_epoch_f64(epoch)
            .map(|t| t.to_value_string())
            .unwrap_or_default(),
    )
}

fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Io(e) => ApiError::new("ServerException", format!("internal error: {e}"), 500),
        other => ApiError::new("ServerException", format!("{other:?}"), 500),
    }
}

fn respond(result: Result<Vec<u8>, ApiError>) -> Response {
    let (status, body) = match result {
        Ok(b) => (StatusCode::OK, b),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            kagi_api::json11::encode_error(&e),
        ),
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

pub(crate) async fn handle(
    ecr: &Arc<Ecr>,
    caller: &Caller,
    region: &str,
    target: &str,
    body: Bytes,
) -> Response {
    let service = kagi_api::service("ecr").expect("the ecr model is built in");
    let (op, input) = match kagi_api::json11::decode_request(service, target, &body) {
        Ok(x) => x,
        Err(e) => return respond(Err(e)),
    };
    let out = run(ecr, caller, region, op.name, &input).await;
    respond(out.map(|v| kagi_api::json11::encode_response(op, &v)))
}

/// Runs one ECR operation from its input value as `caller` (already authenticated): the input
/// goes through the JSON 1.1 wire form and back, so it is validated against the model exactly
/// as a request body would be; the answer is the output shape's value.
pub(crate) async fn call(
    ecr: &Arc<Ecr>,
    caller: &Caller,
    region: &str,
    operation: &str,
    input: &Value,
) -> R {
    let service = kagi_api::service("ecr").expect("the ecr model is built in");
    let op = service
        .operation(operation)
        .ok_or_else(ApiError::unknown_operation)?;
    let (target, body) = kagi_api::json11::encode_request(service, op, input);
    let (op, input) = kagi_api::json11::decode_request(service, &target, &body)?;
    run(ecr, caller, region, op.name, &input).await
}

async fn run(ecr: &Arc<Ecr>, caller: &Caller, region: &str, op: &str, input: &Value) -> R {
    let cx = Cx {
        ecr,
        caller,
        region,
    };
    match op {
        "CreateRepository" => cx.create_repository(input),
        "DescribeRepositories" => cx.describe_repositories(input),
        "DeleteRepository" => cx.delete_repository(input).await,
        "GetAuthorizationToken" => cx.get_authorization_token(),
        "BatchCheckLayerAvailability" => cx.batch_check_layer_availability(input),
        "InitiateLayerUpload" => cx.initiate_layer_upload(input),
        "UploadLayerPart" => cx.upload_layer_part(input).await,
        "CompleteLayerUpload" => cx.complete_layer_upload(input).await,
        "PutImage" => cx.put_image(input),
        "BatchGetImage" => cx.batch_get_image(input),
        "GetDownloadUrlForLayer" => cx.get_download_url_for_layer(input),
        "ListImages" => cx.list_images(input),
        "DescribeImages" => cx.describe_images(input),
        "BatchDeleteImage" => cx.batch_delete_image(input).await,
        "SetRepositoryPolicy" => cx.set_repository_policy(input),
        "GetRepositoryPolicy" => cx.get_repository_policy(input),
        "DeleteRepositoryPolicy" => cx.delete_repository_policy(input),
        "TagResource" => cx.tag_resource(input),
        "UntagResource" => cx.untag_resource(input),
        "ListTagsForResource" => cx.list_tags_for_resource(input),
        "PutImageTagMutability" => cx.put_image_tag_mutability(input),
        "PutLifecyclePolicy" => cx.put_lifecycle_policy(input).await,
        "GetLifecyclePolicy" => cx.get_lifecycle_policy(input),
        "DeleteLifecyclePolicy" => cx.delete_lifecycle_policy(input),
        "StartLifecyclePolicyPreview" => cx.start_lifecycle_policy_preview(input),
        "GetLifecyclePolicyPreview" => cx.get_lifecycle_policy_preview(input),
        other => {
            // Modelled but not served: authorised like the others first (deny by default
            // tells a caller nothing about what kagi serves), then said so.
            let resource = s(input, "repositoryName").map_or_else(|| "*".to_owned(), |n| cx.arn(n));
            cx.authorize(other, &resource, None)?;
            let mut e = ApiError::unknown_operation();
            e.message = format!("kagi does not implement ecr:{other} yet.");
            Err(e)
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn required<'a>(v: &'a Value, k: &str) -> Result<&'a str, ApiError> {
    s(v, k).ok_or_else(|| {
        err(
            "InvalidParameterException",
            format!(
                "Invalid parameter at '{k}' failed to satisfy constraint: 'Member must not be null'"
            ),
        )
    })
}

/// One page of `items` (sorted by `key`) after `nextToken`, at most `maxResults`.
fn paginate<T>(
    items: Vec<T>,
    input: &Value,
    default: usize,
    key: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = match input.get("maxResults").and_then(Value::as_i64) {
        None => default,
        Some(n) if (1..=1000).contains(&n) => n as usize,
        Some(n) => {
            return Err(err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and 1000' (got {n})"
                ),
            ));
        }
    };
    let after = match s(input, "nextToken") {
        None => None,
        Some(t) => Some(util::decode_token(t).ok_or_else(|| {
            err(
                "InvalidParameterException",
                "Invalid parameter at 'nextToken': the token is not valid",
            )
        })?),
    };
    let mut page: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_ref().is_none_or(|a| key(i).as_str() > a.as_str()))
        .collect();
    let next = if page.len() > max {
        page.truncate(max);
        page.last().map(|l| util::encode_token(&key(l)))
    } else {
        None
    };
    Ok((page, next))
}

struct Cx<'a> {
    ecr: &'a Arc<Ecr>,
    caller: &'a Caller,
    region: &'a str,
}

impl Cx<'_> {
    fn acct(&self) -> &str {
        &self.ecr.account_id
    }

    fn arn(&self, name: &str) -> String {
        repo_arn(self.region, self.acct(), name)
    }

    fn authorize(
        &self,
        action: &str,
        resource: &str,
        policy: Option<&str>,
    ) -> Result<(), ApiError> {
        self.ecr
            .host
            .authorize(self.caller, &format!("ecr:{action}"), resource, policy)
            .map_err(|m| err("AccessDeniedException", m))
    }

    fn not_found(&self, name: &str) -> ApiError {
        err(
            "RepositoryNotFoundException",
            format!(
                "The repository with name '{name}' does not exist in the registry with id '{}'",
                self.acct()
            ),
        )
    }

    /// Authorises `action` on the named repository (with its policy), then returns it.
    fn repo(&self, action: &str, name: &str) -> Result<Repo, ApiError> {
        let repo = self
            .ecr
            .store
            .get_repo(self.region, name)
            .map_err(store_err)?;
        self.authorize(
            action,
            &self.arn(name),
            repo.as_ref().and_then(|r| r.policy.as_deref()),
        )?;
        repo.ok_or_else(|| self.not_found(name))
    }

    fn repo_of(&self, action: &str, input: &Value) -> Result<Repo, ApiError> {
        self.repo(action, required(input, "repositoryName")?)
    }

    fn repo_json(&self, r: &Repo) -> Value {
        let mut enc = json!({ "encryptionType": r.encryption_type });
        if let Some(k) = &r.kms_key {
            enc["kmsKey"] = json!(k);
        }
        json!({
            "repositoryArn": self.arn(&r.name),
            "registryId": self.acct(),
            "repositoryName": r.name,
            "repositoryUri": format!("{}/{}", self.ecr.endpoint(self.region), r.name),
            "createdAt": ts(r.created_at),
            "imageTagMutability": r.mutability,
            "imageScanningConfiguration": { "scanOnPush": r.scan_on_push },
            "encryptionConfiguration": enc,
        })
    }

    fn tags_in(v: Option<&Value>) -> Result<Vec<(String, String)>, ApiError> {
        let mut out: Vec<(String, String)> = vec![];
        for t in v
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let k = s(t, "Key").ok_or_else(|| {
                err(
                    "InvalidTagParameterException",
                    "The tag key must not be null",
                )
            })?;
            let val = s(t, "Value").unwrap_or("");
            if k.starts_with("aws:") {
                return Err(err(
                    "InvalidTagParameterException",
                    "The tag key prefix 'aws:' is reserved for AWS use",
                ));
            }
            out.retain(|(ok, _)| ok != k);
            out.push((k.to_string(), val.to_string()));
        }
        if out.len() > 50 {
            return Err(err(
                "TooManyTagsException",
                "A repository cannot have more than 50 tags",
            ));
        }
        Ok(out)
    }

    // ---- repositories -------------------------------------------------------------------

    fn create_repository(&self, input: &Value) -> R {
        let name = required(input, "repositoryName")?;
        self.authorize("CreateRepository", &self.arn(name), None)?;
        if !util::valid_repo_name(name) {
            return Err(err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '{}''",
                    util::REPO_NAME_PATTERN
                ),
            ));
        }
        let mutability = s(input, "imageTagMutability").unwrap_or("MUTABLE");
        if mutability != "MUTABLE" && mutability != "IMMUTABLE" {
            return Err(err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'imageTagMutability': unsupported value '{mutability}'"
                ),
            ));
        }
        let scan = input
            .pointer("/imageScanningConfiguration/scanOnPush")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let enc = input.get("encryptionConfiguration");
        let enc_type = enc.and_then(|e| s(e, "encryptionType")).unwrap_or("AES256");
        let kms_key = enc.and_then(|e| s(e, "kmsKey"));
        if enc_type == "AES256" && kms_key.is_some() {
            return Err(err(
                "InvalidParameterException",
                "Invalid parameter: kmsKey can only be specified when encryptionType is KMS or KMS_DSSE",
            ));
        }
        let kms_default;
        let kms_key = match (enc_type, kms_key) {
            ("KMS" | "KMS_DSSE", None) => {
                kms_default = format!("arn:aws:kms:{}:{}:alias/aws/ecr", self.region, self.acct());
                Some(kms_default.as_str())
            }
            (_, k) => k,
        };
        let tags = Self::tags_in(input.get("tags"))?;
        let created = self
            .ecr
            .store
            .create_repo(&NewRepo {
                region: self.region,
                name,
                mutability,
                scan_on_push: scan,
                encryption_type: enc_type,
                kms_key,
                tags: &tags,
            })
            .map_err(store_err)?;
        match created {
            Some(r) => Ok(json!({ "repository": self.repo_json(&r) })),
            None => Err(err(
                "RepositoryAlreadyExistsException",
                format!(
                    "The repository with name '{name}' already exists in the registry with id '{}'",
                    self.acct()
                ),
            )),
        }
    }

    fn describe_repositories(&self, input: &Value) -> R {
        let repos = match input.get("repositoryNames").and_then(Value::as_array) {
            Some(names) => {
                if input.get("maxResults").is_some() || input.get("nextToken").is_some() {
                    return Err(err(
                        "InvalidParameterException",
                        "Invalid parameter: maxResults and nextToken cannot be used with repositoryNames",
                    ));
                }
                let mut out = vec![];
                for n in names.iter().filter_map(Value::as_str) {
                    out.push(self.repo("DescribeRepositories", n)?);
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
                out.dedup_by(|a, b| a.name == b.name);
                out
            }
            None => {
                // All repositories the caller may describe; a caller who may describe none is
                // denied on the registry's repositories.
                let all = self.ecr.store.list_repos(self.region).map_err(store_err)?;
                let visible: Vec<Repo> = all
                    .into_iter()
                    .filter(|r| {
                        self.authorize(
                            "DescribeRepositories",
                            &self.arn(&r.name),
                            r.policy.as_deref(),
                        )
                        .is_ok()
                    })
                    .collect();
                if visible.is_empty() {
                    self.authorize("DescribeRepositories", &self.arn("*"), None)?;
                }
                visible
            }
        };
        let (page, next) = paginate(repos, input, 100, |r| r.name.clone())?;
        let mut out =
            json!({ "repositories": page.iter().map(|r| self.repo_json(r)).collect::<Vec<_>>() });
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn delete_repository(&self, input: &Value) -> R {
        let r = self.repo_of("DeleteRepository", input)?;
        let force = input.get("force").and_then(Value::as_bool).unwrap_or(false);
        if !force && self.ecr.store.image_count(r.id).map_err(store_err)? > 0 {
            return Err(err(
                "RepositoryNotEmptyException",
                format!(
                    "The repository with name '{}' in registry with id '{}' cannot be deleted because it still contains images",
                    r.name,
                    self.acct()
                ),
            ));
        }
        let out = json!({ "repository": self.repo_json(&r) });
        let store = self.ecr.store.clone();
        tokio::task::spawn_blocking(move || store.delete_repo(r.id))
            .await
            .map_err(|e| ApiError::new("ServerException", e.to_string(), 500))?
            .map_err(store_err)?;
        Ok(out)
    }

    fn get_authorization_token(&self) -> R {
        self.authorize("GetAuthorizationToken", "*", None)?;
        let now = util::now();
        let mut expires = now + TOKEN_LIFETIME;
        if let Some(session) = self.ecr.host.session_expiry(self.caller) {
            expires = expires.min(session);
        }
        let password = self
            .ecr
            .key
            .mint_registry(&self.caller.access_key_id, self.region, expires);
        Ok(json!({ "authorizationData": [ {
            "authorizationToken": STANDARD.encode(format!("AWS:{password}")),
            "expiresAt": ts(util::epoch(expires).floor()),
            "proxyEndpoint": self.ecr.proxy_endpoint(self.region),
        } ] }))
    }

    // ---- layers -------------------------------------------------------------------------

    fn batch_check_layer_availability(&self, input: &Value) -> R {
        let r = self.repo_of("BatchCheckLayerAvailability", input)?;
        let mut layers = vec![];
        let mut failures = vec![];
        for d in input
            .get("layerDigests")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_str)
        {
            if !util::valid_digest(d) {
                failures.push(json!({ "layerDigest": d, "failureCode": "InvalidLayerDigest", "failureReason": "Invalid layer digest" }));
                continue;
            }
            match self.ecr.store.blob_in_repo(r.id, d).map_err(store_err)? {
                Some(size) => layers.push(json!({ "layerDigest": d, "layerAvailability": "AVAILABLE", "layerSize": size })),
                None => failures.push(json!({ "layerDigest": d, "failureCode": "MissingLayerDigest", "failureReason": "Could not find the requested digest" })),
            }
        }
        Ok(json!({ "layers": layers, "failures": failures }))
    }

    fn initiate_layer_upload(&self, input: &Value) -> R {
        let r = self.repo_of("InitiateLayerUpload", input)?;
        let id = self.ecr.store.new_upload(r.id).map_err(store_err)?;
        Ok(json!({ "uploadId": id, "partSize": MAX_PART }))
    }

    fn upload_not_found(&self, id: &str, r: &Repo) -> ApiError {
        err(
            "UploadNotFoundException",
            format!(
                "The upload with id '{id}' does not exist in the repository with name '{}' in the registry with id '{}'",
                r.name,
                self.acct()
            ),
        )
    }

    async fn upload_layer_part(&self, input: &Value) -> R {
        let r = self.repo_of("UploadLayerPart", input)?;
        let id = required(input, "uploadId")?;
        let first = input
            .get("partFirstByte")
            .and_then(Value::as_u64)
            .ok_or_else(|| err("InvalidParameterException", "partFirstByte is required"))?;
        let last = input
            .get("partLastByte")
            .and_then(Value::as_u64)
            .ok_or_else(|| err("InvalidParameterException", "partLastByte is required"))?;
        let blob = STANDARD
            .decode(required(input, "layerPartBlob")?)
            .map_err(|_| {
                err(
                    "InvalidParameterException",
                    "Invalid parameter at 'layerPartBlob': not valid base64",
                )
            })?;
        if blob.len() > MAX_PART {
            return Err(err(
                "InvalidLayerPartException",
                format!("The layer part size exceeds the maximum of {MAX_PART} bytes"),
            ));
        }
        if blob.is_empty() || last < first || last - first + 1 != blob.len() as u64 {
            return Err(err(
                "InvalidLayerPartException",
                format!(
                    "The layer part size does not match partFirstByte {first} and partLastByte {last} ({} bytes received)",
                    blob.len()
                ),
            ));
        }
        let n = match self
            .ecr
            .store
            .append(r.id, id, Some(first), Source::Bytes(Bytes::from(blob)))
            .await
        {
            Ok(n) => n,
            Err(StoreError::UploadUnknown) => return Err(self.upload_not_found(id, &r)),
            Err(StoreError::RangeInvalid { offset }) => {
                return Err(err(
                    "InvalidLayerPartException",
                    format!(
                        "The upload with id '{id}' expects the next part to start at byte {offset}, not {first}"
                    ),
                ));
            }
            Err(StoreError::UploadBusy) => {
                return Err(err(
                    "InvalidLayerPartException",
                    "Another part of this upload is being received",
                ));
            }
            Err(e) => return Err(store_err(e)),
        };
        self.ecr
            .store
            .note_api_part(id, last - first + 1)
            .map_err(store_err)?;
        Ok(
            json!({ "registryId": self.acct(), "repositoryName": r.name, "uploadId": id, "lastByteReceived": n - 1 }),
        )
    }

    async fn complete_layer_upload(&self, input: &Value) -> R {
        let r = self.repo_of("CompleteLayerUpload", input)?;
        let id = required(input, "uploadId")?;
        let digests: Vec<&str> = input
            .get("layerDigests")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let [digest] = digests.as_slice() else {
            return Err(err(
                "InvalidParameterException",
                "Invalid parameter at 'layerDigests': exactly one digest is required",
            ));
        };
        if !util::valid_digest(digest) {
            return Err(err(
                "InvalidLayerException",
                format!("Invalid layer digest '{digest}'"),
            ));
        }
        let offset = match self.ecr.store.upload_offset(r.id, id) {
            Ok(o) => o,
            Err(StoreError::UploadUnknown) => return Err(self.upload_not_found(id, &r)),
            Err(e) => return Err(store_err(e)),
        };
        if offset == 0 {
            return Err(err(
                "EmptyUploadException",
                format!(
                    "The specified layer upload with id '{id}' does not contain any layer parts"
                ),
            ));
        }
        if self.ecr.store.has_small_part(id).map_err(store_err)? {
            return Err(err(
                "LayerPartTooSmallException",
                format!(
                    "Layer parts must be at least {} bytes in size, except the last one",
                    crate::store::MIN_API_PART
                ),
            ));
        }
        if self
            .ecr
            .store
            .blob_in_repo(r.id, digest)
            .map_err(store_err)?
            .is_some()
        {
            let _ = self.ecr.store.cancel_upload(r.id, id);
            return Err(err(
                "LayerAlreadyExistsException",
                format!(
                    "The layer '{digest}' already exists in the repository with name '{}' in registry with id '{}'",
                    r.name,
                    self.acct()
                ),
            ));
        }
        match self.ecr.store.finish(r.id, id, digest).await {
            Ok(_) => Ok(
                json!({ "registryId": self.acct(), "repositoryName": r.name, "uploadId": id, "layerDigest": digest }),
            ),
            Err(StoreError::DigestMismatch { expected, actual }) => Err(err(
                "InvalidLayerException",
                format!(
                    "The layer digest '{expected}' does not match the calculated digest '{actual}'"
                ),
            )),
            Err(StoreError::UploadUnknown) => Err(self.upload_not_found(id, &r)),
            Err(e) => Err(store_err(e)),
        }
    }

    fn get_download_url_for_layer(&self, input: &Value) -> R {
        let r = self.repo_of("GetDownloadUrlForLayer", input)?;
        let d = required(input, "layerDigest")?;
        if !util::valid_digest(d) {
            return Err(err(
                "InvalidParameterException",
                format!("Invalid parameter at 'layerDigest': '{d}' is not a valid digest"),
            ));
        }
        if self
            .ecr
            .store
            .blob_in_repo(r.id, d)
            .map_err(store_err)?
            .is_none()
        {
            return Err(err(
                "LayersNotFoundException",
                format!(
                    "The layer with digest '{d}' does not exist in the repository with name '{}' in the registry with id '{}'",
                    r.name,
                    self.acct()
                ),
            ));
        }
        let token = self.ecr.key.mint_download(
            &crate::token::DownloadClaims {
                access_key_id: self.caller.access_key_id.clone(),
                region: self.region.to_string(),
                repository: r.name.clone(),
                digest: d.to_string(),
            },
            util::now() + DOWNLOAD_URL_LIFETIME,
        );
        Ok(json!({
            "downloadUrl": format!("http://{}/v2/{}/blobs/{d}?{}={token}", self.ecr.endpoint(self.region), r.name, crate::registry::DOWNLOAD_PARAM),
            "layerDigest": d,
        }))
    }

    // ---- images -------------------------------------------------------------------------

    fn put_image(&self, input: &Value) -> R {
        let r = self.repo_of("PutImage", input)?;
        let manifest = required(input, "imageManifest")?;
        let declared = s(input, "imageManifestMediaType");
        let tag = s(input, "imageTag");
        if let Some(t) = tag
            && !util::valid_tag(t)
        {
            return Err(err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'imageTag' failed to satisfy constraint: '{t}' is not a valid tag"
                ),
            ));
        }
        let parsed =
            crate::manifest::parse(manifest.as_bytes(), declared).map_err(|e| match e {
                StoreError::ManifestInvalid(m) => err(
                    "InvalidParameterException",
                    format!(
                        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: '{m}'"
                    ),
                ),
                other => store_err(other),
            })?;
        let digest = util::sha256_digest(manifest.as_bytes());
        if let Some(d) = s(input, "imageDigest")
            && d != digest
        {
            return Err(err(
                "ImageDigestDoesNotMatchException",
                format!(
                    "Provided image digest '{d}' does not match the calculated digest '{digest}'"
                ),
            ));
        }
        let immutable = r.mutability == "IMMUTABLE";
        let outcome = self.ecr.store.put_image(r.id, &digest, &parsed, manifest.as_bytes(), tag, immutable).map_err(|e| match e {
            StoreError::ManifestBlobUnknown(missing) if !parsed.manifests.is_empty() => err(
                "ReferencedImagesNotFoundException",
                format!("Manifests with digests '{missing:?}' referenced in the manifest list do not exist in the repository '{}'", r.name),
            ),
            StoreError::ManifestBlobUnknown(missing) => err(
                "LayersNotFoundException",
                format!(
                    "Layers with digests '{missing:?}' required for pushing image into repository with name '{}' in the registry with id '{}' do not exist",
                    r.name,
                    self.acct()
                ),
            ),
            StoreError::TagImmutable { tag } => err(
                "ImageTagAlreadyExistsException",
                format!("The image tag '{tag}' already exists in the '{}' repository and cannot be overwritten because the repository is immutable.", r.name),
            ),
            other => store_err(other),
        })?;
        if outcome.image_existed && outcome.tag_unchanged {
            return Err(err(
                "ImageAlreadyExistsException",
                format!(
                    "Image with digest '{digest}' and tag '{}' already exists in the repository with name '{}' in registry with id '{}'",
                    tag.unwrap_or(""),
                    r.name,
                    self.acct()
                ),
            ));
        }
        let mut image_id = json!({ "imageDigest": digest });
        if let Some(t) = tag {
            image_id["imageTag"] = json!(t);
        }
        Ok(json!({ "image": {
            "registryId": self.acct(), "repositoryName": r.name, "imageId": image_id,
            "imageManifest": manifest, "imageManifestMediaType": parsed.media_type,
        } }))
    }

    /// Resolves an ImageIdentifier; `Err` is a failure entry (code, reason).
    fn lookup(
        &self,
        r: &Repo,
        id: &Value,
    ) -> Result<Result<ImageRow, (&'static str, &'static str)>, ApiError> {
        let digest = s(id, "imageDigest");
        let tag = s(id, "imageTag");
        if let Some(d) = digest
            && !util::valid_digest(d)
        {
            return Ok(Err(("InvalidImageDigest", "Invalid image digest")));
        }
        if let Some(t) = tag
            && !util::valid_tag(t)
        {
            return Ok(Err(("InvalidImageTag", "Invalid image tag")));
        }
        let img = match (digest, tag) {
            (None, None) => return Ok(Err(("MissingDigestAndTag", "Missing digest and tag"))),
            (Some(d), _) => self.ecr.store.resolve(r.id, d).map_err(store_err)?,
            (None, Some(t)) => self.ecr.store.resolve(r.id, t).map_err(store_err)?,
        };
        match img {
            None => Ok(Err(("ImageNotFound", "Requested image not found"))),
            Some(i) => {
                if let Some(t) = tag
                    && !i.tags.iter().any(|x| x == t)
                {
                    return Ok(Err((
                        "ImageTagDoesNotMatchDigest",
                        "Image tag does not match digest",
                    )));
                }
                Ok(Ok(i))
            }
        }
    }

    fn batch_get_image(&self, input: &Value) -> R {
        let r = self.repo_of("BatchGetImage", input)?;
        let accepted: Option<Vec<&str>> = input
            .get("acceptedMediaTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect());
        let mut images = vec![];
        let mut failures = vec![];
        for id in input
            .get("imageIds")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            match self.lookup(&r, id)? {
                Err((code, reason)) => failures
                    .push(json!({ "imageId": id, "failureCode": code, "failureReason": reason })),
                Ok(i) => {
                    if let Some(a) = &accepted
                        && !a.contains(&i.media_type.as_str())
                    {
                        failures.push(json!({ "imageId": id, "failureCode": "ImageNotFound", "failureReason": format!("Requested image not found in an accepted media type (it is stored as {})", i.media_type) }));
                        continue;
                    }
                    let mut image_id = json!({ "imageDigest": i.digest });
                    if let Some(t) = s(id, "imageTag") {
                        image_id["imageTag"] = json!(t);
                    }
                    images.push(json!({
                        "registryId": self.acct(), "repositoryName": r.name, "imageId": image_id,
                        "imageManifest": String::from_utf8_lossy(&i.manifest), "imageManifestMediaType": i.media_type,
                    }));
                }
            }
        }
        Ok(json!({ "images": images, "failures": failures }))
    }

    fn tag_status_ok(input: &Value, i: &ImageRow) -> bool {
        match input.pointer("/filter/tagStatus").and_then(Value::as_str) {
            Some("TAGGED") => !i.tags.is_empty(),
            Some("UNTAGGED") => i.tags.is_empty(),
            _ => true,
        }
    }

    fn list_images(&self, input: &Value) -> R {
        let r = self.repo_of("ListImages", input)?;
        let mut ids: Vec<(String, Option<String>)> = vec![];
        for i in self.ecr.store.list_images(r.id).map_err(store_err)? {
            if !Self::tag_status_ok(input, &i) {
                continue;
            }
            if i.tags.is_empty() {
                ids.push((i.digest.clone(), None));
            }
            for t in &i.tags {
                ids.push((i.digest.clone(), Some(t.clone())));
            }
        }
        let (page, next) = paginate(ids, input, 100, |(d, t)| {
            format!("{d}\n{}", t.as_deref().unwrap_or(""))
        })?;
        let mut out = json!({ "imageIds": page.into_iter().map(|(d, t)| match t {
            Some(t) => json!({ "imageDigest": d, "imageTag": t }),
            None => json!({ "imageDigest": d }),
        }).collect::<Vec<_>>() });
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    fn image_detail(&self, r: &Repo, i: &ImageRow) -> Value {
        let mut d = json!({
            "registryId": self.acct(), "repositoryName": r.name, "imageDigest": i.digest,
            "imageSizeInBytes": i.size, "imagePushedAt": ts(i.pushed_at), "imageManifestMediaType": i.media_type,
        });
        if !i.tags.is_empty() {
            d["imageTags"] = json!(i.tags);
        }
        if let Some(a) = &i.artifact_media_type {
            d["artifactMediaType"] = json!(a);
        }
        d
    }

    fn describe_images(&self, input: &Value) -> R {
        let r = self.repo_of("DescribeImages", input)?;
        let images = match input.get("imageIds").and_then(Value::as_array) {
            Some(ids) => {
                let mut out: Vec<ImageRow> = vec![];
                for id in ids {
                    match self.lookup(&r, id)? {
                        Ok(i) => {
                            if !out.iter().any(|o| o.digest == i.digest) {
                                out.push(i)
                            }
                        }
                        Err(_) => {
                            return Err(err(
                                "ImageNotFoundException",
                                format!(
                                    "The image with imageId {{imageDigest:'{}', imageTag:'{}'}} does not exist within the repository with name '{}' in the registry with id '{}'",
                                    s(id, "imageDigest").unwrap_or("null"),
                                    s(id, "imageTag").unwrap_or("null"),
                                    r.name,
                                    self.acct()
                                ),
                            ));
                        }
                    }
                }
                out.sort_by(|a, b| a.digest.cmp(&b.digest));
                out
            }
            None => self
                .ecr
                .store
                .list_images(r.id)
                .map_err(store_err)?
                .into_iter()
                .filter(|i| Self::tag_status_ok(input, i))
                .collect(),
        };
        let (page, next) = paginate(images, input, 100, |i| i.digest.clone())?;
        let mut out = json!({ "imageDetails": page.iter().map(|i| self.image_detail(&r, i)).collect::<Vec<_>>() });
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }

    async fn batch_delete_image(&self, input: &Value) -> R {
        let r = self.repo_of("BatchDeleteImage", input)?;
        let mut deleted = vec![];
        let mut failures = vec![];
        for id in input
            .get("imageIds")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let i = match self.lookup(&r, id)? {
                Ok(i) => i,
                Err((code, reason)) => {
                    failures.push(
                        json!({ "imageId": id, "failureCode": code, "failureReason": reason }),
                    );
                    continue;
                }
            };
            let by_tag_only = s(id, "imageDigest").is_none();
            let tag = s(id, "imageTag");
            let store = self.ecr.store.clone();
            let res = if by_tag_only && i.tags.len() > 1 {
                store.delete_tag(r.id, tag.unwrap_or_default()).map(|_| ())
            } else {
                let (rid, d) = (r.id, i.digest.clone());
                tokio::task::spawn_blocking(move || store.delete_image(rid, &d))
                    .await
                    .map_err(|e| ApiError::new("ServerException", e.to_string(), 500))?
                    .map(|_| ())
            };
            match res {
                Ok(()) => {
                    let mut out = json!({ "imageDigest": i.digest });
                    if let Some(t) = tag {
                        out["imageTag"] = json!(t);
                    }
                    deleted.push(out);
                }
                Err(StoreError::ImageReferenced(_)) => failures.push(json!({
                    "imageId": id, "failureCode": "ImageReferencedByManifestList",
                    "failureReason": "Requested image is referenced by an image index or manifest list",
                })),
                Err(e) => return Err(store_err(e)),
            }
        }
        Ok(json!({ "imageIds": deleted, "failures": failures }))
    }

    // ---- policy, tags, settings --------------------------------------------------------

    fn set_repository_policy(&self, input: &Value) -> R {
        let r = self.repo_of("SetRepositoryPolicy", input)?;
        let text = required(input, "policyText")?;
        if let Err(e) = kagi_policy::parse(text, kagi_policy::PolicyType::Resource) {
            return Err(err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided' ({})",
                    e.detail
                ),
            ));
        }
        self.ecr
            .store
            .set_policy(r.id, Some(text))
            .map_err(store_err)?;
        Ok(json!({ "registryId": self.acct(), "repositoryName": r.name, "policyText": text }))
    }

    fn policy_not_found(&self, r: &Repo) -> ApiError {
        err(
            "RepositoryPolicyNotFoundException",
            format!(
                "Repository policy does not exist for the repository with name '{}' in the registry with id '{}'",
                r.name,
                self.acct()
            ),
        )
    }

    fn get_repository_policy(&self, input: &Value) -> R {
        let r = self.repo_of("GetRepositoryPolicy", input)?;
        let p = r.policy.clone().ok_or_else(|| self.policy_not_found(&r))?;
        Ok(json!({ "registryId": self.acct(), "repositoryName": r.name, "policyText": p }))
    }

    fn delete_repository_policy(&self, input: &Value) -> R {
        let r = self.repo_of("DeleteRepositoryPolicy", input)?;
        let p = r.policy.clone().ok_or_else(|| self.policy_not_found(&r))?;
        self.ecr.store.set_policy(r.id, None).map_err(store_err)?;
        Ok(json!({ "registryId": self.acct(), "repositoryName": r.name, "policyText": p }))
    }

    fn repo_by_arn(&self, action: &str, input: &Value) -> Result<Repo, ApiError> {
        let arn = required(input, "resourceArn")?;
        let bad = || {
            err(
                "InvalidParameterException",
                format!(
                    "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN: {arn}'"
                ),
            )
        };
        let (region, acct, name) = util::parse_repo_arn(arn).ok_or_else(bad)?;
        if acct != self.acct() || region != self.region {
            return Err(bad());
        }
        self.repo(action, name)
    }

    fn tag_resource(&self, input: &Value) -> R {
        let r = self.repo_by_arn("TagResource", input)?;
        let tags = Self::tags_in(input.get("tags"))?;
        let existing = self.ecr.store.repo_tags(r.id).map_err(store_err)?;
        let total = existing
            .iter()
            .filter(|(k, _)| !tags.iter().any(|(t, _)| t == k))
            .count()
            + tags.len();
        if total > 50 {
            return Err(err(
                "TooManyTagsException",
                "A repository cannot have more than 50 tags",
            ));
        }
        self.ecr.store.tag_repo(r.id, &tags).map_err(store_err)?;
        Ok(json!({}))
    }

    fn untag_resource(&self, input: &Value) -> R {
        let r = self.repo_by_arn("UntagResource", input)?;
        let keys: Vec<String> = input
            .get("tagKeys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.ecr.store.untag_repo(r.id, &keys).map_err(store_err)?;
        Ok(json!({}))
    }

    fn list_tags_for_resource(&self, input: &Value) -> R {
        let r = self.repo_by_arn("ListTagsForResource", input)?;
        let tags = self.ecr.store.repo_tags(r.id).map_err(store_err)?;
        Ok(
            json!({ "tags": tags.into_iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect::<Vec<_>>() }),
        )
    }

    fn put_image_tag_mutability(&self, input: &Value) -> R {
        let r = self.repo_of("PutImageTagMutability", input)?;
        let m = required(input, "imageTagMutability")?;
        if m != "MUTABLE" && m != "IMMUTABLE" {
            return Err(err(
                "InvalidParameterException",
                format!("Invalid parameter at 'imageTagMutability': unsupported value '{m}'"),
            ));
        }
        self.ecr.store.set_mutability(r.id, m).map_err(store_err)?;
        Ok(json!({ "registryId": self.acct(), "repositoryName": r.name, "imageTagMutability": m }))
    }

    // ---- lifecycle policies --------------------------------------------------------------

    fn lifecycle_text(input: &Value) -> Result<(&str, lifecycle::Policy), ApiError> {
        let text = required(input, "lifecyclePolicyText")?;
        let policy = lifecycle::parse(text)
            .map_err(|d| err("InvalidParameterException", lifecycle::invalid(&d)))?;
        Ok((text, policy))
    }

    fn lifecycle_not_found(&self, r: &Repo) -> ApiError {
        err(
            "LifecyclePolicyNotFoundException",
            format!(
                "Lifecycle policy does not exist for the repository with name '{}' in the registry with id '{}'",
                r.name,
                self.acct()
            ),
        )
    }

    /// Stores the policy, then applies it at once (AWS: "within 24 hours").
    async fn put_lifecycle_policy(&self, input: &Value) -> R {
        let r = self.repo_of("PutLifecyclePolicy", input)?;
        let (text, _) = Self::lifecycle_text(input)?;
        self.ecr
            .store
            .set_lifecycle_policy(r.id, Some(text))
            .map_err(store_err)?;
        let store = self.ecr.store.clone();
        let (rid, t) = (r.id, text.to_string());
        tokio::task::spawn_blocking(move || {
            lifecycle::apply(&store, rid, &t, util::epoch(util::now()))
        })
        .await
        .map_err(|e| ApiError::new("ServerException", e.to_string(), 500))?
        .map_err(store_err)?;
        Ok(
            json!({ "registryId": self.acct(), "repositoryName": r.name, "lifecyclePolicyText": text }),
        )
    }

    fn lifecycle_out(&self, r: &Repo, text: &str, evaluated: Option<f64>) -> Value {
        let mut out = json!({ "registryId": self.acct(), "repositoryName": r.name, "lifecyclePolicyText": text });
        if let Some(t) = evaluated {
            out["lastEvaluatedAt"] = ts(t);
        }
        out
    }

    fn get_lifecycle_policy(&self, input: &Value) -> R {
        let r = self.repo_of("GetLifecyclePolicy", input)?;
        let (text, at) = self
            .ecr
            .store
            .lifecycle_policy(r.id)
            .map_err(store_err)?
            .ok_or_else(|| self.lifecycle_not_found(&r))?;
        Ok(self.lifecycle_out(&r, &text, at))
    }

    fn delete_lifecycle_policy(&self, input: &Value) -> R {
        let r = self.repo_of("DeleteLifecyclePolicy", input)?;
        let (text, at) = self
            .ecr
            .store
            .lifecycle_policy(r.id)
            .map_err(store_err)?
            .ok_or_else(|| self.lifecycle_not_found(&r))?;
        self.ecr
            .store
            .set_lifecycle_policy(r.id, None)
            .map_err(store_err)?;
        Ok(self.lifecycle_out(&r, &text, at))
    }

    /// Evaluates the given (or the current) policy now and stores the result: the preview is
    /// COMPLETE as soon as this answers.
    fn start_lifecycle_policy_preview(&self, input: &Value) -> R {
        let r = self.repo_of("StartLifecyclePolicyPreview", input)?;
        let (text, policy) = if input.get("lifecyclePolicyText").is_some() {
            let (t, p) = Self::lifecycle_text(input)?;
            (t.to_string(), p)
        } else {
            let (t, _) = self
                .ecr
                .store
                .lifecycle_policy(r.id)
                .map_err(store_err)?
                .ok_or_else(|| self.lifecycle_not_found(&r))?;
            let p = lifecycle::parse(&t)
                .map_err(|d| err("InvalidParameterException", lifecycle::invalid(&d)))?;
            (t, p)
        };
        let rows = self.ecr.store.list_images(r.id).map_err(store_err)?;
        let expiring = lifecycle::evaluate(
            &policy,
            &lifecycle::images_of(&rows),
            util::epoch(util::now()),
        );
        let results: Vec<Value> = expiring
            .iter()
            .filter_map(|e| {
                let i = rows.iter().find(|i| i.digest == e.digest)?;
                Some(json!({ "digest": i.digest, "tags": i.tags, "pushedAt": i.pushed_at, "rule": e.rule_priority }))
            })
            .collect();
        self.ecr
            .store
            .set_lifecycle_preview(r.id, &text, &Value::Array(results).to_string())
            .map_err(store_err)?;
        Ok(
            json!({ "registryId": self.acct(), "repositoryName": r.name, "lifecyclePolicyText": text, "status": "COMPLETE" }),
        )
    }

    fn get_lifecycle_policy_preview(&self, input: &Value) -> R {
        let r = self.repo_of("GetLifecyclePolicyPreview", input)?;
        let (text, results) = self
            .ecr
            .store
            .lifecycle_preview(r.id)
            .map_err(store_err)?
            .ok_or_else(|| {
                err(
                    "LifecyclePolicyPreviewNotFoundException",
                    format!(
                        "There is no dry run for the repository with name '{}' in the registry with id '{}'",
                        r.name,
                        self.acct()
                    ),
                )
            })?;
        let all: Vec<Value> = serde_json::from_str(&results).unwrap_or_default();
        let total = all.len();
        let ids = input.get("imageIds").and_then(Value::as_array);
        if ids.is_some() && (input.get("nextToken").is_some() || input.get("maxResults").is_some())
        {
            return Err(err(
                "InvalidParameterException",
                "Invalid parameter: maxResults and nextToken cannot be used together with imageIds",
            ));
        }
        let tags_of = |v: &Value| -> Vec<String> {
            v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let filtered: Vec<&Value> = all
            .iter()
            .filter(
                |v| match input.pointer("/filter/tagStatus").and_then(Value::as_str) {
                    Some("TAGGED") => !tags_of(v).is_empty(),
                    Some("UNTAGGED") => tags_of(v).is_empty(),
                    _ => true,
                },
            )
            .filter(|v| {
                ids.is_none_or(|ids| {
                    ids.iter().any(|id| {
                        s(id, "imageDigest").is_none_or(|d| Some(d) == v["digest"].as_str())
                            && s(id, "imageTag").is_none_or(|t| tags_of(v).iter().any(|x| x == t))
                    })
                })
            })
            .collect();
        let (page, next) = paginate(filtered, input, 100, |v| {
            v["digest"].as_str().unwrap_or_default().to_string()
        })?;
        let preview: Vec<Value> = page
            .into_iter()
            .map(|v| {
                let mut o = json!({
                    "imageDigest": v["digest"],
                    "imagePushedAt": ts(v["pushedAt"].as_f64().unwrap_or_default()),
                    "action": { "type": "EXPIRE" },
                    "appliedRulePriority": v["rule"],
                });
                let tags = tags_of(v);
                if !tags.is_empty() {
                    o["imageTags"] = json!(tags);
                }
                o
            })
            .collect();
        let mut out = json!({
            "registryId": self.acct(), "repositoryName": r.name, "lifecyclePolicyText": text,
            "status": "COMPLETE", "previewResults": preview,
            "summary": { "expiringImageTotalCount": total },
        });
        if let Some(n) = next {
            out["nextToken"] = json!(n);
        }
        Ok(out)
    }
}
