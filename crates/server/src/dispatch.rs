//! Dispatch: from a decoded operation to its handler, shared by the HTTP pipeline
//! ([`crate::http`]) and the console ([`crate::console_host`], through [`invoke`]). Protocol
//! codecs are kagi-api's; HTTP (bodies, headers, statuses) is [`crate::http`]'s.

use crate::auth;
use crate::error::{AwsError, AwsResult};
use crate::state::{AppState, Ctx};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

/// The console's name for kagi's Identity Center extension (`KagiIdentityCenter.*`, no model):
/// [`invoke`] runs its operations (`SetPortalPassword`, the MFA ones) through
/// [`crate::sso::extension`].
pub const KAGI_IDENTITY_CENTER: &str = "kagi-identity-center";

/// The console's name for IAM Access Analyzer (the IAM action prefix and the event source's;
/// the model's is `accessanalyzer`).
pub const ACCESS_ANALYZER: &str = "access-analyzer";

/// Runs one IAM, STS, Organizations, Identity Store, SSO Admin, CloudTrail or Access Analyzer
/// operation as the principal owning `access_key_id` (a long-term key or a live STS session,
/// resolved by [`auth::caller_for_key`]) through the same steps as a signed API call after its
/// signature check: kagi-api encodes the input to the query form (IAM, STS), the JSON 1.1 body
/// (Organizations, `identitystore`, `sso-admin`, `cloudtrail`, through [`json_call`]) or the
/// rest-json request ([`ACCESS_ANALYZER`]'s policy generation: path, query and body) and
/// decodes and validates it exactly as a wire request, the handler authorises with kagi-policy
/// and runs. The extension's operations ([`KAGI_IDENTITY_CENTER`]: `SetPortalPassword`, the
/// MFA ones) take their JSON body as the signed call does. There is no other way in: this is
/// what the console
/// ([`crate::console_host`]) calls.
pub fn invoke(
    state: &AppState,
    access_key_id: &str,
    source_ip: IpAddr,
    service: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, kagi_api::ApiError> {
    let caller = auth::caller_for_key(state, access_key_id)
        .ok_or_else(|| to_api(&AwsError::invalid_client_token()))?;
    let now = crate::ids::now_secs();
    let region = "us-east-1";
    let ctx = Ctx {
        state,
        caller: &caller,
        store: state.store(&caller.account_id),
        now,
        region: region.to_owned(),
        source_ip,
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    if service == KAGI_IDENTITY_CENTER {
        // kagi's extension (no model): the JSON body a signed call carries, through the same
        // handler and authorisation (`identitystore:UpdateUser` for SetPortalPassword, the
        // `sso-directory`/`sso` MFA actions) as the signed call.
        let body = serde_json::to_vec(input).unwrap_or_default();
        state.note_use(&caller.account_id, access_key_id, "sso", region, now);
        let (out, notes) =
            crate::trail::notes::collect(|| crate::sso::extension(&ctx, operation, &body));
        // The password is hidden in the record like every password.
        record_console(
            state,
            &caller,
            source_ip,
            service,
            operation,
            Some(input.clone()),
            None,
            out.as_ref().err(),
            notes,
        )
        .map_err(|e| to_api(&e))?;
        tracing::debug!(service, action = operation, caller = %caller.arn(), ok = out.is_ok(), "console call");
        return out.map_err(|e| to_api(&e));
    }
    if service == ACCESS_ANALYZER {
        return analyzer_call(&ctx, access_key_id, operation, input);
    }
    let Some(svc) = [
        "iam",
        "sts",
        "organizations",
        "identitystore",
        "sso-admin",
        "cloudtrail",
    ]
    .contains(&service)
    .then(|| kagi_api::service(service))
    .flatten() else {
        return Err(to_api(&AwsError::new(
            400,
            "InvalidAction",
            format!("The service '{service}' is not available on this endpoint."),
        )));
    };
    let op = svc.operation(operation).ok_or_else(|| {
        to_api(&AwsError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {operation}"),
        ))
    })?;
    if service != "iam" && service != "sts" {
        // JSON 1.1: the input encoded to the wire body and decoded and validated from it, as a
        // signed request's; the answer decoded from the response body the same way.
        let (target, body) = kagi_api::json11::encode_request(svc, op, input);
        state.note_use(&caller.account_id, access_key_id, service, region, now);
        let (out, notes) =
            crate::trail::notes::collect(|| json_call(&ctx, service, &target, &body));
        let decoded = match &out {
            Ok(bytes) => serde_json::from_slice(bytes).ok(),
            Err(_) => None,
        };
        record_console(
            state,
            &caller,
            source_ip,
            service,
            operation,
            Some(input.clone()),
            decoded,
            out.as_ref().err(),
            notes,
        )
        .map_err(|e| to_api(&e))?;
        tracing::debug!(
            service,
            action = operation,
            caller = %caller.arn(),
            ok = out.is_ok(),
            "console call"
        );
        return kagi_api::json11::decode_response(op, &out.map_err(|e| to_api(&e))?);
    }
    let form = kagi_api::query::encode_pairs(op, svc, input);
    let (op, input) = kagi_api::query::decode(svc, &form)?;
    state.note_use(&caller.account_id, access_key_id, service, region, now);
    let kept = state.trail.enabled().then(|| input.clone());
    let (out, notes) = crate::trail::notes::collect(|| match service {
        "iam" => crate::iam::handle(&ctx, op.name, input),
        _ => crate::sts::handle(&ctx, op.name, input),
    });
    record_console(
        state,
        &caller,
        source_ip,
        service,
        operation,
        kept,
        out.as_ref().ok().cloned(),
        out.as_ref().err(),
        notes,
    )
    .map_err(|e| to_api(&e))?;
    // Credentials minted for the console (switch role) never leave the server: the console
    // names them by key id alone, so their session goes into the book.
    if let Ok(v) = &out
        && let Some(token) = v["Credentials"]["SessionToken"].as_str()
        && let Some(s) = auth::open_session(state, token)
    {
        state.sessions.pin(&s, now);
    }
    tracing::debug!(
        service,
        action = operation,
        caller = %caller.arn(),
        ok = out.is_ok(),
        "console call"
    );
    out.map_err(|e| to_api(&e))
}

/// An Access Analyzer operation for [`invoke`]: the input encoded to its rest-json request
/// (URI labels, query string, JSON body) and decoded and validated from it as
/// `http::analyzer_entry` decodes a signed one, answered by [`crate::analyzer`], recorded as a
/// console call, and the answer decoded from the response body it would have had.
fn analyzer_call(
    ctx: &Ctx,
    access_key_id: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, kagi_api::ApiError> {
    let state = ctx.state;
    let op = kagi_api::service("accessanalyzer")
        .and_then(|s| s.operation(operation))
        .filter(|op| {
            matches!(
                op.name,
                "StartPolicyGeneration"
                    | "GetGeneratedPolicy"
                    | "ListPolicyGenerations"
                    | "CancelPolicyGeneration"
            )
        })
        .ok_or_else(|| {
            to_api(&AwsError::new(
                400,
                "ValidationException",
                format!("kagi's Access Analyzer answers policy generation only, not {operation}."),
            ))
        })?;
    let req = kagi_api::rest::encode_request(op, input);
    let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
    let labels = uri_labels(op.request_uri, path);
    let labels: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let input =
        kagi_api::rest::decode_server_request_at(op, &labels, &query, &req.headers, &req.body)?;
    state.note_use(
        &ctx.caller.account_id,
        access_key_id,
        ACCESS_ANALYZER,
        &ctx.region,
        ctx.now,
    );
    let (out, notes) =
        crate::trail::notes::collect(|| crate::analyzer::handle(ctx, op.name, input.clone()));
    // The error as the signed call answers and records it (`http::analyzer_entry`).
    record_console(
        state,
        ctx.caller,
        ctx.source_ip,
        ACCESS_ANALYZER,
        op.name,
        Some(input),
        out.as_ref().ok().cloned(),
        out.as_ref().err(),
        notes,
    )
    .map_err(|e| to_api(&e))?;
    tracing::debug!(
        service = ACCESS_ANALYZER,
        action = op.name,
        caller = %ctx.caller.arn(),
        ok = out.is_ok(),
        "console call"
    );
    let body = kagi_api::rest::encode_server_response(op, &out.map_err(|e| to_api(&e))?);
    kagi_api::rest::decode_response(op, 200, &[], &body)
}

/// The percent-decoded values of a request URI's `{labels}`: `template` is the operation's
/// (`/policy/generation/{jobId}`), `path` the encoded request's.
fn uri_labels(template: &str, path: &str) -> Vec<(String, String)> {
    let template = template.split('?').next().unwrap_or(template);
    let mut out = Vec::new();
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    for (i, part) in t.iter().enumerate() {
        let Some(name) = part.strip_prefix('{').and_then(|n| n.strip_suffix('}')) else {
            continue;
        };
        let (name, raw) = match name.strip_suffix('+') {
            Some(n) => (n, p.get(i..).map(|r| r.join("/")).unwrap_or_default()),
            None => (name, p.get(i).map(|s| (*s).to_owned()).unwrap_or_default()),
        };
        let value = String::from_utf8_lossy(&kagi_sigv4::canonical::percent_decode(&raw, false))
            .into_owned();
        out.push((name.to_owned(), value));
    }
    out
}

/// What the event history keeps of a call: its decoded input and its output.
#[derive(Default)]
pub struct Call {
    /// The input and (when the history keeps it) the output as CloudTrail's JSON text,
    /// secrets hidden.
    pub input: Option<String>,
    pub output: Option<String>,
}

/// A query-protocol operation (IAM, STS): decoded and validated by kagi-api, run, encoded.
/// With `call`, the input and output are kept for the event history.
pub fn query_call(
    ctx: &Ctx,
    service_name: &str,
    form: &[(String, String)],
    call: Option<&mut Call>,
) -> AwsResult<String> {
    let service = match service_name {
        "iam" | "sts" => kagi_api::service(service_name).expect("iam and sts are modelled"),
        _ => {
            return Err(AwsError::new(
                400,
                "InvalidAction",
                format!("The service '{service_name}' is not available on this endpoint."),
            ));
        }
    };
    let (op, input) = kagi_api::query::decode(service, form).map_err(from_api)?;
    let source = if service_name == "sts" {
        "sts.amazonaws.com"
    } else {
        "iam.amazonaws.com"
    };
    // Written before the handler takes the input: no copy of it.
    let kept_input = call
        .is_some()
        .then(|| crate::trail::record::part_text_hidden(source, op.name, false, &input))
        .flatten();
    let result = match service_name {
        "iam" => crate::iam::handle(ctx, op.name, input),
        _ => crate::sts::handle(ctx, op.name, input),
    };
    let Some(c) = call else {
        return Ok(kagi_api::xml::encode_response(
            service,
            op,
            &result?,
            &ctx.request_id,
        ));
    };
    c.input = kept_input;
    let output = result?;
    let xml = kagi_api::xml::encode_response(service, op, &output, &ctx.request_id);
    let read_only = crate::trail::event::is_read_only(source, op.name);
    if crate::trail::event::keeps_response(source, op.name, read_only) {
        c.output = crate::trail::record::part_text_hidden(source, op.name, true, &output);
    }
    Ok(xml)
}

/// A JSON 1.1 operation of a service the server's own handlers answer (Organizations): decoded
/// and validated by kagi-api against the model, run, encoded. AccessDenied takes the JSON
/// services' spelling (`AccessDeniedException`).
pub fn json_call(ctx: &Ctx, service_name: &str, target: &str, body: &[u8]) -> AwsResult<Vec<u8>> {
    let service = kagi_api::service(service_name).ok_or_else(|| {
        AwsError::new(
            400,
            "UnknownOperationException",
            "The requested service is not available.",
        )
    })?;
    let (op, input) = kagi_api::json11::decode_request(service, target, body).map_err(from_api)?;
    let out = match service_name {
        "organizations" => crate::orgs::handle(ctx, op.name, input),
        "identitystore" => crate::sso::identitystore::handle(ctx, op.name, input),
        "sso-admin" => crate::sso::admin::handle(ctx, op.name, input),
        "cloudtrail" => crate::cloudtrail::handle(ctx, op.name, input),
        _ => Err(AwsError::new(
            400,
            "UnknownOperationException",
            "The requested service is not available.",
        )),
    };
    match out {
        Ok(v) => Ok(kagi_api::json11::encode_response(op, &v)),
        Err(mut e) => {
            if e.code == "AccessDenied" {
                e.code = "AccessDeniedException".into();
            }
            Err(e)
        }
    }
}

/// Records a console call in the event history (AWS records the console's calls as API calls,
/// user agent `AWS Internal`); a write's event is durable before the page is answered.
#[allow(clippy::too_many_arguments)]
pub fn record_console(
    state: &AppState,
    caller: &crate::caller::Caller,
    source_ip: IpAddr,
    service: &str,
    operation: &str,
    input: Option<Value>,
    output: Option<Value>,
    error: Option<&AwsError>,
    notes: Vec<std::sync::Arc<kagi_policy::Explained>>,
) -> AwsResult<()> {
    if !state.trail.enabled() {
        return Ok(());
    }
    let mut ev = crate::trail::Event::of_call(
        crate::trail::record::who_of_caller(caller),
        &caller.account_id,
        &crate::trail::event::event_source(service, operation),
        operation,
        crate::trail::Origin {
            region: "us-east-1",
            source_ip,
            user_agent: "AWS Internal",
            request_id: &uuid::Uuid::new_v4().to_string(),
        },
    );
    if let Some(v) = &input {
        ev.set_request(v);
    }
    if let Some(v) = &output
        && crate::trail::event::keeps_response(&ev.source, &ev.name, ev.read_only)
    {
        ev.set_response(v);
    }
    ev.error = error.map(|e| (e.code.clone(), e.message.clone()));
    ev.resources = crate::trail::resources_of(&notes);
    ev.explanation = notes;
    match state.trail.submit(ev) {
        Some(rx) => match rx.blocking_recv() {
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
        },
        None => Ok(()),
    }
}

pub fn from_api(e: kagi_api::ApiError) -> AwsError {
    AwsError {
        code: e.code,
        message: e.message,
        status: e.status,
        sender_fault: e.sender_fault,
    }
}

pub fn to_api(e: &AwsError) -> kagi_api::ApiError {
    kagi_api::ApiError {
        code: e.code.clone(),
        message: e.message.clone(),
        status: e.status,
        sender_fault: e.sender_fault,
    }
}

/// AssumeRoleWithWebIdentity (unsigned: the OIDC token in the form is the credential): inline
/// when the issuer's keys are cached (the usual case: a signature check, microseconds), on the
/// blocking pool when they must be fetched. Returns the XML response.
pub async fn web_identity(
    state: Arc<AppState>,
    form: Vec<(String, String)>,
    source_ip: IpAddr,
    region: String,
    request_id: &str,
) -> AwsResult<String> {
    let sts = kagi_api::service("sts").expect("sts is modelled");
    let (op, input) = kagi_api::query::decode(sts, &form).map_err(from_api)?;
    let inline = crate::sts::web_identity::keys_at_hand(&state, &input);
    let id = request_id.to_owned();
    let run = move || -> AwsResult<String> {
        let facts = crate::sts::web_identity::Facts {
            now: crate::ids::now_secs(),
            source_ip,
            region,
        };
        let output =
            crate::sts::web_identity::assume_role_with_web_identity(&state, &input, &facts)?;
        Ok(kagi_api::xml::encode_response(sts, op, &output, &id))
    };
    if inline {
        run()
    } else {
        tokio::task::spawn_blocking(run).await.unwrap_or_else(|e| {
            Err(AwsError::from(anyhow::anyhow!(
                "web identity task failed: {e}"
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::uri_labels;

    #[test]
    fn labels_come_back_from_an_encoded_path() {
        let at = |t: &str, p: &str| uri_labels(t, p);
        assert_eq!(
            at("/policy/generation/{jobId}", "/policy/generation/a%20b"),
            vec![("jobId".to_owned(), "a b".to_owned())]
        );
        assert!(at("/policy/generation", "/policy/generation").is_empty());
        assert_eq!(
            at("/{Bucket}/{Key+}?uploads", "/b/k/e%2By"),
            vec![
                ("Bucket".to_owned(), "b".to_owned()),
                ("Key".to_owned(), "k/e+y".to_owned())
            ]
        );
    }
}
