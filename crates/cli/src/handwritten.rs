//! Small hand-written commands of the official CLI: `rds generate-db-auth-token` and `iam
//! create-virtual-mfa-device`'s `--outfile` (both `get-login-password`s are `calls`').

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::creds::{self, Creds};
use crate::http::Session;
use crate::opts::{Opt, Spec};
use crate::{CliError, Env, Globals, Io};

const RDS_AUTH_TOKEN: Spec = Spec::new(&[
    Opt::one("--hostname").required(),
    Opt::int("--port").required(),
    Opt::one("--username").required(),
]);

/// `aws rds generate-db-auth-token --hostname H --port P --username U`: botocore's
/// `generate_db_auth_token`, a SigV4 presigned `GET https://H:P/?Action=connect&DBUser=U`
/// (service `rds-db`, 900 s) printed without its scheme.
pub(crate) fn rds_generate_db_auth_token(
    g: &Globals,
    args: &[String],
    env: &Env,
    io: &mut Io,
) -> Result<(), CliError> {
    let o = crate::opts::parse(args, &RDS_AUTH_TOKEN)?;
    let port = o.int("--port").unwrap_or_default();
    let (hostname, username) = (
        o.one("--hostname").unwrap_or_default(),
        o.one("--username").unwrap_or_default(),
    );
    let s = Session::new(env, g)?;
    let result = (|| {
        let region = s.region()?.ok_or(CliError::NoRegion)?;
        let creds = creds::resolve(&s, io)?;
        token(hostname, port, username, &region, &creds, SystemTime::now())
    })();
    crate::calls::flush_debug(&s, io);
    writeln!(io.stdout, "{}", result?)?;
    Ok(())
}

/// The token for `hostname:port` and `username` at `time`.
pub(crate) fn token(
    hostname: &str,
    port: i64,
    username: &str,
    region: &str,
    creds: &Creds,
    time: SystemTime,
) -> Result<String, CliError> {
    let authority = format!("{hostname}:{port}");
    // The Host header leaves out https's default port, as urllib3 sends it.
    let host = if port == 443 { hostname } else { &authority };
    let query = format!(
        "Action=connect&DBUser={}",
        kagi_sigv4::canonical::uri_encode(username.as_bytes(), false)
    );
    let params = kagi_sigv4::SigningParams {
        region,
        service: "rds-db",
        time,
    };
    let q = kagi_sigv4::presign(
        "GET",
        "/",
        &query,
        &[("host".to_string(), host.to_string())],
        b"",
        &creds.to_sigv4(),
        &params,
        Duration::from_secs(900),
    )
    .map_err(|e| CliError::General(e.to_string()))?;
    Ok(format!("{authority}/?{q}"))
}

/// `iam create-virtual-mfa-device`'s `--outfile` and `--bootstrap-method` (the official CLI's
/// `iamvirtmfa`), taken out of `args` before the model's parsing.
#[derive(Debug, Default)]
pub(crate) struct MfaOptions {
    outfile: Option<String>,
    method: Option<String>,
}

const MFA_METHODS: [&str; 2] = ["QRCodePNG", "Base32StringSeed"];

impl MfaOptions {
    pub(crate) fn take(args: &mut Vec<String>) -> Result<MfaOptions, CliError> {
        let mut o = MfaOptions::default();
        let mut i = 0;
        while i < args.len() {
            let (flag, inline) = match args[i].split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (args[i].clone(), None),
            };
            if flag != "--outfile" && flag != "--bootstrap-method" {
                i += 1;
                continue;
            }
            args.remove(i);
            let value = match inline {
                Some(v) => v,
                None if i < args.len() && !args[i].starts_with("--") => args.remove(i),
                None => {
                    return Err(CliError::Usage(format!(
                        "argument {flag}: expected one argument"
                    )));
                }
            };
            if flag == "--outfile" {
                o.outfile = Some(value);
            } else {
                if !MFA_METHODS.contains(&value.as_str()) {
                    return Err(CliError::Usage(format!(
                        "argument --bootstrap-method: Invalid choice, valid choices are:\n\n{:<40} | {}\n",
                        MFA_METHODS[0], MFA_METHODS[1]
                    )));
                }
                o.method = Some(value);
            }
        }
        Ok(o)
    }

    /// Both are required (after the model's own required arguments).
    pub(crate) fn check(&self, missing_model: &[&str]) -> Result<(), CliError> {
        let mut missing: Vec<&str> = missing_model.to_vec();
        if self.outfile.is_none() {
            missing.push("--outfile");
        }
        if self.method.is_none() {
            missing.push("--bootstrap-method");
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(CliError::Usage(format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )))
    }

    /// After the call: the chosen datum (base64 in the output) decoded into the file, and both
    /// data left out of the output.
    pub(crate) fn save(&self, env: &Env, outputs: &mut [&mut Value]) -> Result<(), CliError> {
        let (Some(outfile), Some(method)) = (&self.outfile, &self.method) else {
            return Ok(());
        };
        for (n, out) in outputs.iter_mut().enumerate() {
            let Some(device) = out
                .get_mut("VirtualMFADevice")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if !device.contains_key(method.as_str()) {
                continue;
            }
            if n == 0 {
                let body = device[method.as_str()].as_str().unwrap_or_default();
                let bytes =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)
                        .map_err(|_| CliError::General(format!("{method} is not base64")))?;
                std::fs::write(env.expand(outfile), bytes)?;
            }
            for m in MFA_METHODS {
                device.remove(m);
            }
        }
        Ok(())
    }
}
