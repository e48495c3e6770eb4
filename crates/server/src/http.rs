//! HTTP: the axum router and the request pipeline (bodies, authentication, statuses, request
//! ids, the log line); what an operation does is [`crate::dispatch`]'s.
//!
//! Routes (one port for everything):
//! * `GET /health` → `ok` (unauthenticated liveness probe);
//! * `/console…` → the web console (kagi-console, via [`crate::console_host`]);
//! * `/v2/…` → kagi-ecr's registry router (registry Basic auth, see [`crate::ecr_host`]);
//! * every other request → `aws_entry`: read the body (1 MiB for query APIs, 64 MiB for ECR),
//!   authenticate ([`crate::auth`]), then route: `X-Amz-Target:
//!   AmazonEC2ContainerRegistry_V20150921.*` → kagi-ecr's `handle_api`; otherwise the credential
//!   scope's service (`iam` | `sts`) selects the query-protocol service, kagi-api decodes the form
//!   (POST body or GET query), [`crate::iam`] / [`crate::sts`] handle the operation, kagi-api
//!   encodes the XML response. Errors use the protocol's envelope with AWS's HTTP status.
//!
//! Each request gets a uuid request id (`x-amzn-RequestId`) and one `tracing` line with method,
//! service, action, caller ARN, status and latency. Secrets never reach the log.

use crate::auth;
use crate::dispatch::{query_call, to_api};
use crate::error::{AwsError, AwsResult};
use crate::state::{AppState, Ctx};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

pub const QUERY_BODY_LIMIT: usize = 1 << 20;
pub const JSON_BODY_LIMIT: usize = 64 << 20;
pub const ECR_TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";
/// JSON 1.1 services answered by the server's own handlers ([`crate::dispatch::json_call`]),
/// by `X-Amz-Target` prefix.
pub const JSON_SERVICES: &[(&str, &str)] = &[
    ("AWSOrganizationsV20161128.", "organizations"),
    ("AWSIdentityStore.", "identitystore"),
    ("SWBExternalService.", "sso-admin"),
    (
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
        "cloudtrail",
    ),
];

pub fn router(state: Arc<AppState>) -> Router {
    let ecr = state.ecr.clone();
    let console = kagi_console::router(Arc::new(crate::console_host::ConsoleHost::new(
        state.clone(),
    )));
    // IAM Identity Center's sign-in half: sso-oidc, the portal API and pages.
    let sso = crate::sso::web::router(state.clone(), console.clone());
    let mut r: Router = Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        // Browsers ask for it on every console page; it is not an AWS request.
        .route(
            "/favicon.ico",
            axum::routing::get(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
        // IAM Access Analyzer's policy generation (rest-json).
        .route("/policy/generation", axum::routing::any(analyzer_entry))
        .route(
            "/policy/generation/{job}",
            axum::routing::any(analyzer_entry),
        )
        .fallback(aws_entry)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .with_state(state)
        .merge(console)
        .merge(sso);
    if let Some(ecrs) = ecr {
        // Every account's registry behind the one address (see `crate::registries`).
        let registry = Router::new()
            .route("/v2", axum::routing::any(registry_entry))
            .route("/v2/", axum::routing::any(registry_entry))
            .route("/v2/{*rest}", axum::routing::any(registry_entry))
            .with_state(ecrs);
        r = r.merge(registry);
    }
    r
}

/// A registry request, handed to the registry of the account it is for.
async fn registry_entry(
    State(ecrs): State<Arc<crate::registries::Registries>>,
    req: Request,
) -> Response {
    use tower::ServiceExt as _;
    let (host, auth, pq) = {
        let header = |name: header::HeaderName| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let host = header(header::HOST).or_else(|| req.uri().authority().map(|a| a.to_string()));
        let pq = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        (host, header(header::AUTHORIZATION), pq)
    };
    // A map lookup, except the first request of an account (which opens its ECR).
    let routed = ecrs.router_for(host.as_deref(), auth.as_deref(), &pq);
    match routed {
        Ok(Some(router)) => match router.oneshot(req).await {
            Ok(r) => r,
            Err(e) => match e {},
        },
        Ok(None) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"The registry host names no account of this server."}]}"#,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "opening an account's registry");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"errors":[{"code":"UNKNOWN","message":"The registry could not be opened."}]}"#,
            )
                .into_response()
        }
    }
}

enum Proto {
    Query,
    Json,
}

async fn aws_entry(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json_service = target.as_deref().and_then(|t| {
        if t.starts_with(ECR_TARGET_PREFIX) {
            return Some(("ecr", ECR_TARGET_PREFIX));
        }
        if t.starts_with(crate::sso::EXTENSION_PREFIX) {
            return Some(("kagi-identity-center", crate::sso::EXTENSION_PREFIX));
        }
        JSON_SERVICES
            .iter()
            .find(|(p, _)| t.starts_with(p))
            .map(|(p, s)| (*s, *p))
    });
    let proto = match json_service {
        Some(_) => Proto::Json,
        None => Proto::Query,
    };
    let limit = match proto {
        Proto::Query => QUERY_BODY_LIMIT,
        Proto::Json => JSON_BODY_LIMIT,
    };
    let body = match read_body(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            return finish(
                &parts.method,
                "-",
                "-",
                "-",
                error_response(&proto, None, &e, &request_id),
                &request_id,
                started,
            );
        }
    };
    let headers = header_pairs(&parts.headers);
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let payload = kagi_sigv4::sha256_hex(&body);
    let inreq = kagi_sigv4::IncomingRequest {
        method: parts.method.as_str(),
        path: &path,
        query: &query,
        headers: &headers,
        payload_sha256_hex: &payload,
    };
    let form = match proto {
        Proto::Query => query_form(&parts.method, &parts.headers, &query, &body),
        Proto::Json => Vec::new(),
    };
    let now = SystemTime::now();
    let parsed = auth::parse(&inreq);
    let scope_service = parsed.as_ref().ok().map(|i| i.service.clone());
    let service_name = match json_service {
        Some((s, _)) => s.to_owned(),
        None if matches!(proto, Proto::Json) => "ecr".to_owned(),
        None => scope_service
            .clone()
            .unwrap_or_else(|| guess_service(&form).to_owned()),
    };
    let action = match proto {
        Proto::Json => target
            .as_deref()
            .unwrap_or("")
            .trim_start_matches(json_service.map(|(_, p)| p).unwrap_or(ECR_TARGET_PREFIX))
            .to_owned(),
        Proto::Query => form
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    // AssumeRoleWithWebIdentity is not signed (AWS's model says so): the OIDC token in the
    // form is the credential, checked by `sts::web_identity`.
    if matches!(proto, Proto::Query) && action == "AssumeRoleWithWebIdentity" {
        let region = parsed
            .as_ref()
            .map(|i| i.region.clone())
            .unwrap_or_else(|_| "us-east-1".to_owned());
        let resp = match crate::dispatch::web_identity(
            state.clone(),
            form,
            peer.ip(),
            region,
            &request_id,
        )
        .await
        {
            Ok(xml) => xml_response(200, xml, &request_id),
            Err(e) => error_response(&Proto::Query, Some("sts"), &e, &request_id),
        };
        return finish(
            &parts.method,
            "sts",
            &action,
            "-",
            resp,
            &request_id,
            started,
        );
    }
    let key_id = parsed.as_ref().ok().map(|i| i.access_key_id.clone());
    let region = parsed.as_ref().ok().map(|i| i.region.clone());
    let authed = parsed.and_then(|info| auth::authenticate(&state, &inreq, info, now));
    let authed = match authed {
        Ok(a) => a,
        Err(f) => {
            let e = match proto {
                Proto::Query => f.for_query(),
                Proto::Json => f.for_json(),
            };
            // A failed authentication is recorded when it names an access key.
            if let Some(key) = key_id.filter(|k| !k.is_empty())
                && state.trail.enabled()
            {
                let account = crate::ids::account_of_key(&key)
                    .unwrap_or_else(|| state.bootstrap_account.clone());
                let mut ev = crate::trail::Event::of_call(
                    crate::trail::record::who(&crate::trail::Identity::Unknown {
                        access_key_id: key,
                    }),
                    &account,
                    &crate::trail::event::event_source(&service_name, &action),
                    &action,
                    crate::trail::Origin {
                        region: region.as_deref().unwrap_or("us-east-1"),
                        source_ip: peer.ip(),
                        user_agent: &user_agent(&parts.headers),
                        request_id: &request_id,
                    },
                );
                ev.error = Some((e.code.clone(), e.message.clone()));
                // Refused before anything happened: nothing to wait for.
                ev.read_only = true;
                state.trail.submit(ev);
            }
            let resp = error_response(&proto, Some(&service_name), &e, &request_id);
            return finish(
                &parts.method,
                &service_name,
                &action,
                "-",
                resp,
                &request_id,
                started,
            );
        }
    };
    let caller_arn = authed.caller.arn();
    state.note_use(
        &authed.caller.account_id,
        &authed.caller.access_key_id,
        &authed.info.service,
        &authed.info.region,
        crate::ids::secs_of(now),
    );
    let resp = match proto {
        Proto::Json if service_name != "ecr" => {
            let ctx = Ctx {
                state: &state,
                caller: &authed.caller,
                store: state.store(&authed.caller.account_id),
                now: crate::ids::secs_of(now),
                region: authed.info.region.clone(),
                source_ip: peer.ip(),
                request_id: request_id.clone(),
            };
            let (out, notes) = crate::trail::notes::collect(|| {
                if service_name == "kagi-identity-center" {
                    crate::sso::extension(&ctx, &action, &body).map(|v| v.to_string().into_bytes())
                } else {
                    crate::dispatch::json_call(
                        &ctx,
                        &service_name,
                        target.as_deref().unwrap_or(""),
                        &body,
                    )
                }
            });
            drop(ctx);
            let durable = if state.trail.enabled() {
                let mut ev = api_event(
                    &authed,
                    &service_name,
                    &action,
                    peer,
                    &parts.headers,
                    &request_id,
                );
                if let Ok(v) = serde_json::from_slice(&body) {
                    ev.set_request(&v);
                }
                match &out {
                    Ok(bytes) => {
                        if crate::trail::event::keeps_response(&ev.source, &ev.name, ev.read_only)
                            && let Ok(v) = serde_json::from_slice(bytes)
                        {
                            ev.set_response(&v);
                        }
                    }
                    Err(e) => ev.error = Some((e.code.clone(), e.message.clone())),
                }
                ev.resources = crate::trail::resources_of(&notes);
                ev.explanation = notes;
                state.trail.submit(ev)
            } else {
                None
            };
            let resp = match out {
                Ok(out) => json_response(out, &request_id),
                Err(e) => error_response(&proto, Some(&service_name), &e, &request_id),
            };
            match durable_or_error(durable).await {
                Ok(()) => resp,
                Err(e) => error_response(&proto, Some(&service_name), &e, &request_id),
            }
        }
        Proto::Json => {
            // ECR re-resolves its caller by access key id (and registry passwords carry only
            // that), so a session calling ECR must be in the session book.
            if let Some(s) = &authed.caller.session {
                state.sessions.pin(s, crate::ids::secs_of(now));
            }
            let caller = crate::ecr_host::ecr_caller(&authed.caller);
            match &state.ecr {
                Some(ecrs) if authed.info.service == "ecr" => {
                    let params = state
                        .trail
                        .enabled()
                        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
                        .flatten();
                    let resp = match crate::ecr_host::api_target(ecrs, &authed.caller, &body) {
                        Ok(ecr) => {
                            ecr.handle_api(
                                &caller,
                                &authed.info.region,
                                target.as_deref().unwrap_or(""),
                                body,
                            )
                            .await
                        }
                        Err(e) => error_response(&proto, Some("ecr"), &e, &request_id),
                    };
                    if state.trail.enabled() {
                        let mut ev =
                            api_event(&authed, "ecr", &action, peer, &parts.headers, &request_id);
                        if let Some(v) = &params {
                            ev.set_request(v);
                        }
                        ev.explanation = caller.notes.take();
                        let keep =
                            crate::trail::event::keeps_response(&ev.source, &ev.name, ev.read_only);
                        let (resp, outcome) = json_outcome(resp, keep).await;
                        match outcome {
                            Ok(Some(v)) => ev.set_response(&v),
                            Ok(None) => {}
                            Err(e) => ev.error = Some(e),
                        }
                        ev.resources = crate::trail::resources_of(&ev.explanation);
                        match durable_or_error(state.trail.submit(ev)).await {
                            Ok(()) => resp,
                            Err(e) => error_response(&proto, Some("ecr"), &e, &request_id),
                        }
                    } else {
                        resp
                    }
                }
                _ => error_response(
                    &proto,
                    Some("ecr"),
                    &AwsError::new(
                        400,
                        "UnknownOperationException",
                        "The requested service is not available.",
                    ),
                    &request_id,
                ),
            }
        }
        Proto::Query => {
            let ctx = Ctx {
                state: &state,
                caller: &authed.caller,
                store: state.store(&authed.caller.account_id),
                now: crate::ids::secs_of(now),
                region: authed.info.region.clone(),
                source_ip: peer.ip(),
                request_id: request_id.clone(),
            };
            // Handlers run inline: SQLite calls take microseconds and writes are serialised anyway.
            if state.trail.enabled() {
                let mut call = crate::dispatch::Call::default();
                let (out, notes) = crate::trail::notes::collect(|| {
                    query_call(&ctx, &authed.info.service, &form, Some(&mut call))
                });
                drop(ctx);
                let mut ev = api_event(
                    &authed,
                    &authed.info.service,
                    &action,
                    peer,
                    &parts.headers,
                    &request_id,
                );
                ev.request_parameters = call.input;
                match &out {
                    Ok(_) => ev.response_elements = call.output,
                    Err(e) => ev.error = Some((e.code.clone(), e.message.clone())),
                }
                ev.resources = crate::trail::resources_of(&notes);
                ev.explanation = notes;
                let resp = match out {
                    Ok(xml) => xml_response(200, xml, &request_id),
                    Err(e) => error_response(&proto, Some(&authed.info.service), &e, &request_id),
                };
                match durable_or_error(state.trail.submit(ev)).await {
                    Ok(()) => resp,
                    Err(e) => error_response(&proto, Some(&authed.info.service), &e, &request_id),
                }
            } else {
                match query_call(&ctx, &authed.info.service, &form, None) {
                    Ok(xml) => xml_response(200, xml, &request_id),
                    Err(e) => error_response(&proto, Some(&authed.info.service), &e, &request_id),
                }
            }
        }
    };
    finish(
        &parts.method,
        &service_name,
        &action,
        &caller_arn,
        resp,
        &request_id,
        started,
    )
}

fn user_agent(h: &HeaderMap) -> std::borrow::Cow<'_, str> {
    let ua = h
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()))
        .unwrap_or_default();
    // A user agent is the caller's to choose: bounded, as everything recorded.
    match ua.char_indices().nth(512) {
        Some((at, _)) => std::borrow::Cow::Owned(ua[..at].to_owned()),
        None => ua,
    }
}

/// The event of an authenticated API call, before its parts are filled in.
fn api_event(
    authed: &auth::Authenticated,
    service: &str,
    action: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    request_id: &str,
) -> crate::trail::Event {
    crate::trail::Event::of_call(
        crate::trail::record::who_of_caller(&authed.caller),
        &authed.caller.account_id,
        &crate::trail::event::event_source(service, action),
        action,
        crate::trail::Origin {
            region: &authed.info.region,
            source_ip: peer.ip(),
            user_agent: &user_agent(headers),
            request_id,
        },
    )
}

/// Waits until a write's event is durable (nothing for reads). A write whose event cannot be
/// written is not acknowledged: the history never misses an acknowledged write.
async fn durable_or_error(durable: Option<crate::trail::Durable>) -> AwsResult<()> {
    let Some(rx) = durable else { return Ok(()) };
    match rx.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(AwsError::new(
            500,
            "InternalFailure",
            format!("The request was carried out but its event could not be recorded: {e}"),
        )),
        Err(_) => Err(AwsError::new(
            500,
            "InternalFailure",
            "The request was carried out but its event could not be recorded.",
        )),
    }
}

/// A JSON API response, its body read: the response rebuilt, and the parsed output or the
/// error's `(code, message)`.
async fn json_outcome(
    resp: Response,
    keep: bool,
) -> (
    Response,
    Result<Option<serde_json::Value>, (String, String)>,
) {
    if !keep && resp.status().is_success() {
        return (resp, Ok(None));
    }
    let (parts, body) = resp.into_parts();
    let bytes = match http_body_util::BodyExt::collect(body).await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let v: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let outcome = if parts.status.is_success() {
        Ok(v)
    } else {
        let v = v.unwrap_or_default();
        let code = v["__type"]
            .as_str()
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| parts.status.as_u16().to_string());
        let message = v["message"].as_str().unwrap_or("").to_owned();
        Err((code, message))
    };
    (Response::from_parts(parts, Body::from(bytes)), outcome)
}

/// A rest-json error as AWS's rest-json services send it (`x-amzn-ErrorType`, `message`).
fn rest_json_error(e: &AwsError, request_id: &str) -> Response {
    e.rest_json_response(&serde_json::json!({"message": e.message}), Some(request_id))
}

/// IAM Access Analyzer's policy-generation operations (rest-json): authenticated as every
/// signed call, decoded by kagi-api, answered by [`crate::analyzer`], recorded.
async fn analyzer_entry(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let body = match read_body(body, QUERY_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => return rest_json_error(&e, &request_id),
    };
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    // Job ids are UUIDs: nothing to percent-decode.
    let job = path.strip_prefix("/policy/generation/").map(str::to_owned);
    let name = match (&parts.method, job.is_some()) {
        (&Method::PUT, false) => "StartPolicyGeneration",
        (&Method::GET, false) => "ListPolicyGenerations",
        (&Method::GET, true) => "GetGeneratedPolicy",
        (&Method::PUT, true) => "CancelPolicyGeneration",
        _ => {
            return rest_json_error(
                &AwsError::new(404, "ResourceNotFoundException", "No such operation."),
                &request_id,
            );
        }
    };
    let headers = header_pairs(&parts.headers);
    let payload = kagi_sigv4::sha256_hex(&body);
    let inreq = kagi_sigv4::IncomingRequest {
        method: parts.method.as_str(),
        path: &path,
        query: &query,
        headers: &headers,
        payload_sha256_hex: &payload,
    };
    let authed = auth::parse(&inreq)
        .and_then(|info| auth::authenticate(&state, &inreq, info, SystemTime::now()));
    let authed = match authed {
        Ok(a) => a,
        Err(f) => return rest_json_error(&f.for_json(), &request_id),
    };
    let op = kagi_api::service("accessanalyzer").and_then(|s| s.operation(name));
    let Some(op) = op else {
        return rest_json_error(
            &AwsError::new(
                500,
                "InternalServerException",
                "accessanalyzer is not modelled",
            ),
            &request_id,
        );
    };
    let query_pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let labels: Vec<(&str, &str)> = job.iter().map(|j| ("jobId", j.as_str())).collect();
    let input = match kagi_api::rest::decode_server_request_at(
        op,
        &labels,
        &query_pairs,
        &headers,
        &body,
    ) {
        Ok(v) => v,
        Err(e) => return rest_json_error(&crate::dispatch::from_api(e), &request_id),
    };
    let now = SystemTime::now();
    let ctx = Ctx {
        state: &state,
        caller: &authed.caller,
        store: state.store(&authed.caller.account_id),
        now: crate::ids::secs_of(now),
        region: authed.info.region.clone(),
        source_ip: peer.ip(),
        request_id: request_id.clone(),
    };
    let (out, notes) =
        crate::trail::notes::collect(|| crate::analyzer::handle(&ctx, name, input.clone()));
    drop(ctx);
    let durable = if state.trail.enabled() {
        let mut ev = api_event(
            &authed,
            "access-analyzer",
            name,
            peer,
            &parts.headers,
            &request_id,
        );
        ev.set_request(&input);
        match &out {
            Ok(v) if crate::trail::event::keeps_response(&ev.source, name, ev.read_only) => {
                ev.set_response(v)
            }
            Ok(_) => {}
            Err(e) => ev.error = Some((e.code.clone(), e.message.clone())),
        }
        ev.explanation = notes;
        state.trail.submit(ev)
    } else {
        None
    };
    let resp = match out {
        Ok(v) => {
            let mut r = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                kagi_api::rest::encode_server_response(op, &v),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                r.headers_mut().insert("x-amzn-requestid", v);
            }
            r
        }
        Err(e) => rest_json_error(&e, &request_id),
    };
    let resp = match durable_or_error(durable).await {
        Ok(()) => resp,
        Err(e) => rest_json_error(&e, &request_id),
    };
    finish(
        &parts.method,
        "access-analyzer",
        name,
        &authed.caller.arn(),
        resp,
        &request_id,
        started,
    )
}

/// Which query service an unauthenticated request was probably meant for (for the error's
/// namespace only).
fn guess_service(form: &[(String, String)]) -> &'static str {
    let action = form
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match kagi_api::service("sts") {
        Some(sts) if sts.operation(action).is_some() => "sts",
        _ => "iam",
    }
}

/// The whole body, at most `limit` bytes: beyond it 413 (the edge's lingering close lets a
/// client still sending read it), overdue 408 ([`crate::edge`]'s body timeout).
async fn read_body(body: Body, limit: usize) -> AwsResult<Bytes> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(AwsError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request body must be smaller than {limit} bytes."),
        )),
        Err(e) if crate::edge::is_timeout(&*e) => Err(AwsError::new(
            408,
            "RequestTimeout",
            "The request body did not arrive within the server's body timeout.",
        )),
        Err(_) => Err(AwsError::new(
            400,
            "IncompleteBody",
            "The request body could not be read to its end.",
        )),
    }
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The query protocol's parameters: the URL query plus, for form POSTs, the body. SigV4
/// presigning parameters are not API parameters.
fn query_form(
    method: &Method,
    headers: &HeaderMap,
    query: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !k.starts_with("X-Amz-"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if method == Method::POST && is_form {
        form.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    form
}

fn json_response(body: Vec<u8>, request_id: &str) -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

fn xml_response(status: u16, xml: String, request_id: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "text/xml")],
        xml,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert("x-amzn-requestid", v);
    }
    r
}

fn error_response(
    proto: &Proto,
    service: Option<&str>,
    e: &AwsError,
    request_id: &str,
) -> Response {
    match proto {
        Proto::Query => {
            let svc = kagi_api::service(match service {
                Some("sts") => "sts",
                _ => "iam",
            })
            .expect("iam and sts are modelled");
            xml_response(
                e.status,
                kagi_api::xml::encode_error(svc, &to_api(e), request_id),
                request_id,
            )
        }
        Proto::Json => {
            let mut r = (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
                kagi_api::json11::encode_error(&to_api(e)),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(request_id) {
                r.headers_mut().insert("x-amzn-requestid", v);
            }
            r
        }
    }
}

fn finish(
    method: &Method,
    service: &str,
    action: &str,
    caller: &str,
    resp: Response,
    request_id: &str,
    started: Instant,
) -> Response {
    let status = resp.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::warn!(%method, service, action, caller, status, micros, request_id, "request");
    } else if status >= 400 {
        tracing::info!(%method, service, action, caller, status, micros, request_id, "request");
    } else {
        tracing::debug!(%method, service, action, caller, status, micros, request_id, "request");
    }
    resp
}
