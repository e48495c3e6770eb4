//! What every command that calls AWS does around its calls: endpoint and credentials in
//! botocore's order (`prepare`, `prepare_op`), the operations that take no authentication, the
//! `--debug` lines flushed to stderr, botocore's validation of a hand-written command's input,
//! and ECR's authorization token read as a password. Shared by `invoke` (modelled operations)
//! and the hand-written commands; below both.

use base64::Engine;

use kagi_api::{Operation, Service};

use crate::creds::{self, Creds};
use crate::http::{Endpoint, Session};
use crate::{CliError, Io};

/// The session's `--debug` lines, written to stderr.
pub(crate) fn flush_debug(s: &Session, io: &mut Io) {
    for l in s.take_debug() {
        let _ = writeln!(io.stderr, "{l}");
    }
}

/// Endpoint, then credentials (botocore's order: region errors before missing credentials).
pub(crate) fn prepare(
    s: &Session,
    service: &'static Service,
    io: &mut Io,
) -> Result<(Endpoint, Option<Creds>), CliError> {
    let profile_region = s.region()?;
    let ep = s.endpoint(service, profile_region.as_deref(), true)?;
    let creds = if s.g.no_sign_request {
        None
    } else {
        Some(creds::resolve(s, io)?)
    };
    Ok((ep, creds))
}

/// Operations that botocore's model marks as taking no authentication (`"auth":
/// ["smithy.api#noAuth"]`, `"authtype": "none"`): the AWS CLI sends them unsigned and never
/// resolves credentials for them. kagi-api's model carries no auth trait, so they are listed
/// here (all of sts-2011-06-15's: AssumeRoleWithSAML and AssumeRoleWithWebIdentity).
pub(crate) fn takes_no_auth(op: &Operation) -> bool {
    op.service().cli_name == "sts"
        && matches!(op.name, "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML")
}

/// [`prepare`] for one operation: no credentials for an operation that takes no authentication.
pub(crate) fn prepare_op(
    s: &Session,
    op: &'static Operation,
    io: &mut Io,
) -> Result<(Endpoint, Option<Creds>), CliError> {
    if takes_no_auth(op) {
        let profile_region = s.region()?;
        let ep = s.endpoint(op.service(), profile_region.as_deref(), true)?;
        return Ok((ep, None));
    }
    prepare(s, op.service(), io)
}

/// botocore's `ParamValidator` over `input` (every client call validates before sending, those
/// of the hand-written commands too): the errors as a parameter validation error.
pub(crate) fn validate_input(
    op: &'static Operation,
    input: &serde_json::Value,
) -> Result<(), CliError> {
    let Some(shape) = op.input else {
        return Ok(());
    };
    let mut errors = Vec::new();
    crate::params::validate(op.service(), shape, input, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::ParamValidation(errors))
    }
}

/// The password of an ECR (or ECR Public) authorization token, base64 of `AWS:<password>`.
pub(crate) fn password_of(token: &str) -> Result<String, CliError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| CliError::General("The authorization token is not valid base64".into()))?;
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    Ok(decoded
        .split_once(':')
        .map(|x| x.1.to_string())
        .unwrap_or(decoded))
}

/// `aws ecr get-login-password` and `aws ecr-public get-login-password` (`service`): no
/// options, GetAuthorizationToken, the password of its token printed (ECR's `authorizationData`
/// is a list, ECR Public's one structure).
pub(crate) fn print_login_password(
    service: &'static Service,
    g: &crate::Globals,
    args: &[String],
    env: &crate::Env,
    io: &mut Io,
) -> Result<(), CliError> {
    crate::opts::parse(args, &crate::opts::Spec::new(&[]))?;
    let op = service
        .operation("GetAuthorizationToken")
        .ok_or_else(|| CliError::General("GetAuthorizationToken missing from the model".into()))?;
    let s = Session::new(env, g)?;
    let result = (|| {
        let (ep, creds) = prepare(&s, service, io)?;
        let out = s.call(
            op,
            &ep,
            creds.as_ref().map(Creds::to_sigv4).as_ref(),
            &serde_json::Value::Object(serde_json::Map::new()),
        )?;
        let token = out
            .pointer("/authorizationData/0/authorizationToken")
            .or_else(|| out.pointer("/authorizationData/authorizationToken"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                CliError::General("GetAuthorizationToken returned no authorization data".into())
            })?;
        writeln!(io.stdout, "{}", password_of(token)?)?;
        Ok(())
    })();
    flush_debug(&s, io);
    result
}
