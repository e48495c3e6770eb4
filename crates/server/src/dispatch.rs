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

/// Runs one IAM, STS, Organizations, Identity Store, SSO Admin or CloudTrail operation as the principal
/// owning `access_key_id` (a long-term key or a live STS session, resolved by
/// [`auth::caller_for_key`]) through the same steps as a signed API call after its signature
/// check: kagi-api encodes the input to the query form (IAM, STS) or the JSON 1.1 body
/// (Organizations, `identitystore`, `sso-admin`, `cloudtrail`, through [`json_call`]) and decodes and
/// validates it exactly as a wire request, the handler authorises with kagi-policy and runs.
/// The extension's operations ([`KAGI_IDENTITY_CENTER`]) take their JSON body as the signed
/// call does. There is no other way in: this is what the console
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
        &crate::trail::event::event_source(service),
        operation,
        crate::trail::Origin {
            region: "us-east-1",
            source_ip,
            user_agent: "AWS Internal",
            request_id: &uuid::Uuid::new_v4().to_string(),
        },
    );
    ev.request_parameters = input;
    if crate::trail::event::keeps_response(&ev.source, &ev.name, ev.read_only) {
        ev.response_elements = output;
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
