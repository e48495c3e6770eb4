//! One API call: endpoint selection, SigV4 signing (kagi-sigv4), transport (blocking ureq,
//! created on first use; the CA bundle is read only for an `https` URL, as botocore does),
//! wire codecs (kagi-api) and the `--debug` trace.
//!
//! Endpoints when nothing is configured: kagi-api's `endpoints::resolve` (botocore's
//! `endpoints.json`, every partition, FIPS and dual-stack variants with `use_fips_endpoint` /
//! `use_dualstack_endpoint`): IAM is global, `https://iam.amazonaws.com` signed for
//! `us-east-1`; STS, ECR and most services are regional (`https://sts.REGION.amazonaws.com`,
//! `https://api.ecr.REGION.amazonaws.com`). Without a region, the partition endpoint.
//! A configured endpoint (see [`crate::config::configured_endpoint`]) replaces the URL; requests
//! are then signed for the resolved region (IAM: its global region when none is set).

use std::cell::{OnceCell, RefCell};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use kagi_api::{Operation, Protocol, Service};
use kagi_sigv4::{Credentials, SigningParams, SigningSettings};

use crate::config::{self, Env, Files, ProfileChoice};
use crate::ini::Props;
use crate::{CliError, Globals};

/// Everything one invocation resolves once: environment, options, files, the chosen profile,
/// and the lazily built HTTP agents. (botocore's Session.)
pub struct Session<'a> {
    pub env: &'a Env,
    pub g: &'a Globals,
    pub files: Files,
    pub choice: ProfileChoice,
    /// The HTTP agents: `[0]` for `http` URLs, `[1]` for `https` (with the CA bundle).
    agents: [OnceCell<ureq::Agent>; 2],
    debug: RefCell<Vec<String>>,
    /// Number of HTTP requests sent (diagnostics and tests).
    pub requests: std::cell::Cell<u32>,
    last_request_id: RefCell<Option<String>>,
    /// The HTTP status of the last response (waiters' `status` acceptors).
    pub last_status: std::cell::Cell<u16>,
    /// Retries spent on the last call when it still failed retryably (the error says so).
    retries: std::cell::Cell<u32>,
}

/// The SigV4a key of `creds`, derived once per process and credentials (a scalar
/// multiplication: worth keeping for the many requests of an `s3 sync`).
pub(crate) fn sigv4a_key(creds: &Credentials) -> kagi_sigv4::EcdsaKey {
    static KEYS: std::sync::OnceLock<kagi_sigv4::EcdsaKeyCache> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| kagi_sigv4::EcdsaKeyCache::new(16))
        .get_or_derive(&creds.access_key_id, &creds.secret_access_key)
}

/// One encoded (and possibly signed) HTTP request: `POST` to the endpoint for the RPC
/// protocols; the model's method and path for the REST protocols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    /// `Host` first, then the protocol headers, then the SigV4 headers when signed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A body read from a file as it is sent (S3 uploads), instead of `body`.
    pub file: Option<FileSlice>,
    /// Sent aws-chunked with a checksum of this algorithm (`crc32`) in the trailer (S3
    /// uploads over https).
    pub trailer: Option<String>,
}

/// A byte range of a file, sent as a request body without reading it into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSlice {
    pub path: std::path::PathBuf,
    pub offset: u64,
    pub len: u64,
}

impl FileSlice {
    /// The whole file.
    pub fn whole(path: &std::path::Path) -> std::io::Result<FileSlice> {
        let len = std::fs::metadata(path)?.len();
        Ok(FileSlice {
            path: path.to_path_buf(),
            offset: 0,
            len,
        })
    }

    fn open(&self) -> std::io::Result<std::io::Take<std::fs::File>> {
        use std::io::{Read as _, Seek as _};
        let mut f = std::fs::File::open(&self.path)?;
        f.seek(std::io::SeekFrom::Start(self.offset))?;
        Ok(f.take(self.len))
    }
}

/// Where a response body goes: read whole (API responses), or copied into a writer as it
/// arrives (S3's streaming outputs: `get-object OUTFILE`, `s3 cp` downloads).
pub enum Sink<'w> {
    Memory,
    Writer(&'w mut dyn std::io::Write),
}

impl Request {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status, headers, body.
pub type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Where a request goes and how it is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub signing_region: String,
    pub source: String,
}

impl<'a> Session<'a> {
    pub fn new(env: &'a Env, g: &'a Globals) -> Result<Session<'a>, CliError> {
        let files = Files::load(env)?;
        let choice = config::choose_profile(g.profile.as_deref(), env);
        Ok(Session {
            env,
            g,
            files,
            choice,
            agents: Default::default(),
            debug: RefCell::new(Vec::new()),
            requests: std::cell::Cell::new(0),
            last_request_id: RefCell::new(None),
            last_status: Default::default(),
            retries: std::cell::Cell::new(0),
        })
    }

    /// What S3's endpoint rule set reads from this session for a request to `ep`
    /// ([`crate::s3addr`]).
    pub(crate) fn s3_settings<'s>(
        &'s self,
        ep: &'s Endpoint,
    ) -> Result<crate::s3addr::Settings<'s>, CliError> {
        let custom = ep.source != "default endpoint";
        let (fips, dualstack) = if custom {
            (false, false)
        } else {
            self.endpoint_variants()?
        };
        Ok(crate::s3addr::Settings {
            region: self.region()?.unwrap_or_else(|| ep.signing_region.clone()),
            custom_endpoint: custom.then_some(ep.url.as_str()),
            signing_region: &ep.signing_region,
            fips,
            dualstack,
            profile: self.profile()?,
            env: self.env,
            style: self.addressing_style(),
        })
    }

    /// The active profile (error if it was named explicitly and does not exist).
    pub fn profile(&self) -> Result<Option<&Props>, CliError> {
        config::active_profile(&self.files, &self.choice)
    }

    pub fn region(&self) -> Result<Option<String>, CliError> {
        Ok(config::region(
            self.g.region.as_deref(),
            self.env,
            self.profile()?,
        ))
    }

    pub fn debug(&self, line: impl FnOnce() -> String) {
        if self.g.debug {
            self.debug.borrow_mut().push(line());
        }
    }

    /// The request id of the last response, when the protocol carries one in the body.
    pub fn last_request_id(&self) -> Option<String> {
        self.last_request_id.borrow().clone()
    }

    /// Debug lines collected so far (drained).
    pub fn take_debug(&self) -> Vec<String> {
        std::mem::take(&mut self.debug.borrow_mut())
    }

    /// `AWS_MAX_ATTEMPTS` > profile `max_attempts` > 3 (standard retry mode).
    fn max_attempts(&self) -> u64 {
        self.env
            .var("AWS_MAX_ATTEMPTS")
            .map(str::to_string)
            .or_else(|| {
                self.profile()
                    .ok()
                    .flatten()
                    .and_then(|p| p.get("max_attempts"))
                    .map(str::to_string)
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|n| *n >= 1)
            .unwrap_or(3)
    }

    /// The CA bundle: `--ca-bundle` > `AWS_CA_BUNDLE` > profile `ca_bundle`.
    fn ca_bundle(&self) -> Option<String> {
        self.g
            .ca_bundle
            .clone()
            .or_else(|| self.env.var("AWS_CA_BUNDLE").map(str::to_string))
            .or_else(|| {
                self.profile()
                    .ok()
                    .flatten()
                    .and_then(|p| p.get("ca_bundle"))
                    .map(str::to_string)
            })
    }

    /// botocore's proxy for a scheme (`urllib.request.getproxies_environment`): `https_proxy`
    /// for https URLs, `http_proxy` for http ones (the lower-case name first), bypassed for the
    /// hosts of `no_proxy`. Read from the invocation's environment, never ureq's own
    /// process-wide lookup (which would also send http URLs to an `HTTPS_PROXY`). Only http(s)
    /// proxies; botocore takes no SOCKS proxy either.
    fn proxy(&self, https: bool) -> Option<ureq::Proxy> {
        let var = |name: &str| {
            self.env
                .var(name)
                .or_else(|| self.env.var(&name.to_ascii_uppercase()))
                .filter(|v| !v.is_empty())
        };
        let url = var(if https { "https_proxy" } else { "http_proxy" })?;
        let parsed = ureq::Proxy::new(url).ok()?;
        if !matches!(
            parsed.protocol(),
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
        ) {
            return None;
        }
        let mut b = ureq::Proxy::builder(parsed.protocol())
            .host(parsed.host())
            .port(parsed.port());
        if let Some(user) = parsed.username() {
            b = b.username(user);
        }
        if let Some(password) = parsed.password() {
            b = b.password(password);
        }
        for host in var("no_proxy").unwrap_or_default().split(',') {
            b = b.no_proxy(host.trim());
        }
        b.build().ok()
    }

    /// The invocation's HTTP agent for `url` (timeouts, user agent; TLS and the CA bundle for
    /// an `https` URL), built once per scheme. An `http` URL never reads the CA bundle:
    /// parsing a system bundle (`AWS_CA_BUNDLE` is often set to one) was ~14 % of an
    /// `sts get-caller-identity`'s CPU against a local endpoint, and botocore too reads it
    /// only for https (so a missing file is no error there).
    pub(crate) fn agent(&self, url: &str) -> Result<&ureq::Agent, CliError> {
        let https = url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let cell = &self.agents[usize::from(https)];
        if let Some(a) = cell.get() {
            return Ok(a);
        }
        let mut b = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(format!(
                "aws-cli/{} md/installer#source ua/2.1 os/{} md/arch#{} kagi/{}",
                crate::AWS_CLI_VERSION,
                std::env::consts::OS,
                std::env::consts::ARCH,
                env!("CARGO_PKG_VERSION")
            ))
            .timeout_connect(Some(
                Duration::from_secs(self.g.connect_timeout.unwrap_or(60))
                    .max(Duration::from_millis(1)),
            ))
            .max_redirects(0);
        // `--cli-read-timeout` is botocore's socket timeout: it bounds each read of a body
        // (a download, an event stream), not the whole body.
        let read = self.g.read_timeout.unwrap_or(60);
        if read > 0 {
            b = b
                .timeout_recv_response(Some(Duration::from_secs(read)))
                .timeout_per_read(Some(Duration::from_secs(read)));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if self.g.no_verify_ssl {
            tls = tls.disable_verification(true);
        }
        if https && let Some(path) = self.ca_bundle() {
            let p = self.env.expand(&path);
            let pem = std::fs::read(&p).map_err(|e| {
                CliError::General(format!("Unable to read the CA bundle {}: {e}", p.display()))
            })?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(CliError::General(format!(
                    "The CA bundle {} holds no certificate",
                    p.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = b
            .proxy(self.proxy(https))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(cell.get_or_init(|| agent))
    }

    /// Resolves the endpoint of `service` for `region` (see the module docs).
    pub fn endpoint(
        &self,
        service: &'static Service,
        region: Option<&str>,
        use_cli_flag: bool,
    ) -> Result<Endpoint, CliError> {
        if let Some(r) = region
            && !valid_region(r)
        {
            return Err(CliError::General(format!(
                "Provided region_name '{r}' doesn't match a supported format."
            )));
        }
        let configured = config::configured_endpoint(
            if use_cli_flag {
                self.g.endpoint_url.as_deref()
            } else {
                None
            },
            self.env,
            &self.files,
            self.profile()?,
            service.service_id,
        );
        // Without a region, services with a partition endpoint (IAM, STS's and S3's
        // `aws-global`: `s3.amazonaws.com`, signed for us-east-1) use it.
        let partition_region =
            service
                .global_region
                .or((matches!(service.service_id, "STS" | "S3")).then_some("us-east-1"));
        let signing_region = match (service.global_region, region) {
            (Some(g), _) if configured.is_none() => g.to_string(),
            (_, Some(r)) => r.to_string(),
            (_, None) => match partition_region {
                Some(g) => g.to_string(),
                None => return Err(CliError::NoRegion),
            },
        };
        let ep = match configured {
            Some((url, source)) => Endpoint {
                url,
                signing_region,
                source: source.to_string(),
            },
            // No region: the partition endpoint (`iam.amazonaws.com`, `sts.amazonaws.com`).
            None if region.is_none() => Endpoint {
                url: format!(
                    "https://{}",
                    service
                        .global_endpoint
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{}.amazonaws.com", service.endpoint_prefix))
                ),
                signing_region,
                source: "default endpoint".into(),
            },
            None => {
                let (fips, dualstack) = self.endpoint_variants()?;
                let r = kagi_api::endpoints::resolve(
                    service,
                    region.unwrap_or(&signing_region),
                    fips,
                    dualstack,
                )
                .map_err(|e| CliError::General(e.to_string()))?;
                Endpoint {
                    url: r.url,
                    signing_region: r.signing_region,
                    source: "default endpoint".into(),
                }
            }
        };
        Ok(ep)
    }

    /// FIPS and dual-stack endpoints: `AWS_USE_FIPS_ENDPOINT` > profile `use_fips_endpoint`,
    /// `AWS_USE_DUALSTACK_ENDPOINT` > profile `use_dualstack_endpoint` (botocore's config
    /// chain; only `true`, any case, turns one on).
    pub(crate) fn endpoint_variants(&self) -> Result<(bool, bool), CliError> {
        let profile = self.profile()?;
        let flag = |env: &str, key: &str| {
            self.env
                .var(env)
                .map(str::to_string)
                .or_else(|| profile.and_then(|p| p.get(key)).map(str::to_string))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        Ok((
            flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
        ))
    }

    /// Encodes one operation into its HTTP request and signs it when `creds` are given
    /// (`None`: `--no-sign-request`, or an operation that takes no authentication, as
    /// `AssumeRoleWithWebIdentity`: no `Authorization` header at all).
    pub fn build_request(
        &self,
        op: &'static Operation,
        ep: &Endpoint,
        creds: Option<&Credentials>,
        input: &Value,
    ) -> Result<Request, CliError> {
        self.build_request_with(op, ep, creds, input, None)
    }

    /// [`Session::build_request`] with the body of a streaming-input operation (S3's
    /// `PutObject`, `UploadPart`) read from `file` as it is sent.
    pub fn build_request_with(
        &self,
        op: &'static Operation,
        ep: &Endpoint,
        creds: Option<&Credentials>,
        input: &Value,
        file: Option<FileSlice>,
    ) -> Result<Request, CliError> {
        let service = op.service();
        let s3 = service.name == "s3";
        let mut filled = self.with_idempotency_tokens(op, input);
        if s3 {
            s3_input(op, &mut filled)?;
        }
        let input = &filled;
        let mut method = "POST".to_string();
        let mut rest_path = None;
        let (mut headers, body) = match service.protocol {
            Protocol::Query { .. } | Protocol::Ec2 { .. } => (
                vec![(
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded; charset=utf-8".to_string(),
                )],
                kagi_api::query::encode(op, service, input).into_bytes(),
            ),
            Protocol::Json11 { json_version, .. } => {
                let (target, body) = kagi_api::json11::encode_request(service, op, input);
                (
                    vec![
                        (
                            "Content-Type".to_string(),
                            format!("application/x-amz-json-{json_version}"),
                        ),
                        ("X-Amz-Target".to_string(), target),
                    ],
                    body,
                )
            }
            Protocol::RestJson | Protocol::RestXml { .. } => {
                let r = kagi_api::rest::encode_request(op, input);
                method = r.method;
                rest_path = Some(r.path);
                (r.headers, r.body)
            }
            Protocol::Cbor { .. } => {
                let r = kagi_api::cbor::encode_request(op, input);
                rest_path = Some(r.path);
                (r.headers, r.body)
            }
        };
        // Access points, directory buckets and the like: S3's endpoint rule set (`s3addr`).
        let bucket = input.get("Bucket").and_then(Value::as_str);
        let target = if s3 && crate::s3addr::applies(op.name, bucket) {
            Some(crate::s3addr::target(&self.s3_settings(ep)?, op, input)?)
        } else {
            None
        };
        let url = match (&rest_path, &target) {
            (Some(p), Some(t)) => crate::s3addr::url(&t.url, p, bucket),
            (Some(p), None) if s3 => kagi_api::s3::address(
                &ep.url,
                p,
                bucket,
                ep.source != "default endpoint",
                self.addressing_style(),
            ),
            (Some(p), None) => join_url(&ep.url, p),
            (None, _) => ep.url.clone(),
        };
        // Flexible checksums (botocore's `request_checksum_calculation = when_supported`): the
        // algorithm asked for, or CRC32 where the operation supports or requires one. S3
        // uploads over https carry it in an aws-chunked trailer (the payload is then not
        // hashed: STREAMING-UNSIGNED-PAYLOAD-TRAILER), everything else in a header.
        let streaming_input = op
            .input_shape()
            .and_then(|s| s.payload.and_then(|p| s.member(p)))
            .is_some_and(|m| m.streaming || service.shape(m.shape).streaming);
        let https = url.starts_with("https://");
        let mut trailer = None;
        let body_len = file.as_ref().map_or(body.len() as u64, |f| f.len);
        if let Some((algorithm, defaulted)) = request_checksum(op, input, &headers)? {
            if defaulted
                && let Some(m) = op
                    .checksum_algorithm_member
                    .and_then(|m| op.input_shape()?.member(m))
            {
                headers.push((m.wire_name().to_string(), algorithm.to_ascii_uppercase()));
            }
            let name = format!("x-amz-checksum-{algorithm}");
            if s3 && streaming_input && https {
                match headers
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
                {
                    Some((_, v)) => v.push_str(",aws-chunked"),
                    None => headers.push(("Content-Encoding".into(), "aws-chunked".into())),
                }
                headers.push(("X-Amz-Trailer".into(), name));
                headers.push(("X-Amz-Decoded-Content-Length".into(), body_len.to_string()));
                trailer = Some(algorithm);
            } else {
                let (digest, _) = digest_body(&body, file.as_ref(), Some(&algorithm), false)?;
                headers.push((name, digest.unwrap_or_default()));
            }
        }
        if s3 && streaming_input && matches!(method.as_str(), "PUT" | "POST") {
            headers.push(("Expect".into(), "100-continue".into()));
        }
        // S3 signs with the payload's SHA-256 in `x-amz-content-sha256` (or says it is not
        // signed); a file is hashed as it is read, never held in memory.
        if s3 && creds.is_some() {
            let hash = if trailer.is_some() {
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER".to_string()
            } else if https && op.auth == Some("v4-unsigned-body") {
                "UNSIGNED-PAYLOAD".to_string()
            } else {
                digest_body(&body, file.as_ref(), None, true)?.1
            };
            headers.push(("X-Amz-Content-SHA256".into(), hash));
        }
        // The model's host prefix (`data.`, `{AccountId}.`) on AWS's own endpoints only.
        let url = match op.host_prefix {
            Some(prefix) if ep.source == "default endpoint" => {
                with_host_prefix(&url, prefix, op, input)
            }
            _ => url,
        };
        let (scheme_host, path, query) = split_url(&url).map_err(CliError::General)?;
        let host = scheme_host
            .split_once("://")
            .map(|x| x.1)
            .unwrap_or(&scheme_host)
            .to_string();
        let host = strip_default_port(&scheme_host, &host);
        headers.insert(0, ("Host".to_string(), host));
        let (signing_region, signing_name) = match &target {
            Some(t) => (t.signing_region.as_str(), t.signing_name.as_str()),
            None => (ep.signing_region.as_str(), service.signing_name),
        };
        // S3 Express: signed with the bucket's `CreateSession` credentials, the session token
        // in `x-amz-s3session-token` (never `X-Amz-Security-Token`).
        let express;
        let creds = match (creds, &target) {
            (Some(c), Some(t)) if t.express => {
                let session = crate::s3addr::express_credentials(
                    c,
                    &ep.url,
                    bucket.unwrap_or_default(),
                    &|op, input| self.call(op, ep, Some(c), input),
                )?;
                headers.push((
                    "x-amz-s3session-token".into(),
                    session.session_token.clone().unwrap_or_default(),
                ));
                express = Credentials {
                    session_token: None,
                    ..session
                };
                Some(&express)
            }
            (c, _) => c,
        };
        self.debug(|| {
            let region = match target.as_ref().and_then(|t| t.region_set.as_deref()) {
                Some(set) => format!("SigV4a region set {set}"),
                None => format!("signing region {signing_region}"),
            };
            format!(
                "kagi: [DEBUG] {}.{} -> {method} {url} (endpoint from {}; {region}, service {})",
                service.cli_name, op.name, ep.source, signing_name
            )
        });
        if let Some(c) = creds {
            let region_set = target.as_ref().and_then(|t| t.region_set.as_deref());
            let out = match region_set {
                // Multi-Region Access Points: SigV4a for the rule set's region set.
                Some(region_set) => kagi_sigv4::sign_headers_v4a(
                    &method,
                    &path,
                    &query,
                    &mut headers,
                    &body,
                    c,
                    &sigv4a_key(c),
                    &kagi_sigv4::SigningParamsV4a {
                        region_set,
                        service: signing_name,
                        time: SystemTime::now(),
                    },
                    &SigningSettings::default(),
                ),
                None => kagi_sigv4::sign_headers_with(
                    &method,
                    &path,
                    &query,
                    &mut headers,
                    &body,
                    c,
                    &SigningParams {
                        region: signing_region,
                        service: signing_name,
                        time: SystemTime::now(),
                    },
                    &SigningSettings::default(),
                ),
            }
            .map_err(|e| CliError::General(e.to_string()))?;
            self.debug(|| {
                let redacted: Vec<String> = out
                    .canonical_request
                    .lines()
                    .map(|l| {
                        if l.starts_with("x-amz-security-token:") || l.starts_with("x-amz-s3session-token:") { format!("{}:<redacted>", l.split(':').next().unwrap_or_default()) } else { l.to_string() }
                    })
                    .collect();
                format!(
                    "kagi: [DEBUG] access key {} ({})\nkagi: [DEBUG] CanonicalRequest:\n{}\nkagi: [DEBUG] StringToSign:\n{}",
                    c.access_key_id,
                    if c.session_token.is_some() { "temporary" } else { "long-term" },
                    redacted.join("\n"),
                    out.string_to_sign
                )
            });
        } else if self.g.no_sign_request {
            self.debug(|| "kagi: [DEBUG] request not signed (--no-sign-request)".into());
        } else {
            self.debug(|| {
                format!(
                    "kagi: [DEBUG] request not signed ({} takes no authentication)",
                    op.name
                )
            });
        }
        if let Some(f) = &file
            && trailer.is_none()
        {
            headers.push(("Content-Length".into(), f.len.to_string()));
        }
        Ok(Request {
            method,
            url,
            headers,
            body,
            file,
            trailer,
        })
    }

    /// The profile's `s3` section `addressing_style` (`auto`, `path`, `virtual`).
    pub(crate) fn addressing_style(&self) -> kagi_api::s3::AddressingStyle {
        self.profile()
            .ok()
            .flatten()
            .and_then(|p| p.get("s3"))
            .and_then(|v| {
                crate::ini::sub_properties(v)
                    .into_iter()
                    .find(|(k, _)| k == "addressing_style")
                    .map(|(_, v)| kagi_api::s3::AddressingStyle::parse(&v))
            })
            .unwrap_or_default()
    }

    /// The input as botocore's handlers leave it: every unset top-level idempotency token
    /// (`ClientToken`) filled with a fresh UUID v4 (`generate_idempotent_uuid`), Route 53's
    /// ids reduced to their last path segment.
    fn with_idempotency_tokens(&self, op: &'static Operation, input: &Value) -> Value {
        let mut v = input.clone();
        // botocore's `fix_route53_ids`: Route 53 ids may be given as the paths its responses
        // show (`/hostedzone/Z1D633PJN98FT9`); only the last segment is sent.
        if op.service().name == "route53"
            && let (Some(shape), Value::Object(obj)) = (op.input_shape(), &mut v)
        {
            for m in shape.members() {
                let id_shape = op.service().shape(m.shape).name;
                if matches!(id_shape, "ResourceId" | "DelegationSetId" | "ChangeId")
                    && let Some(Value::String(s)) = obj.get_mut(m.name)
                    && let Some((_, last)) = s.rsplit_once('/')
                {
                    *s = last.to_string();
                }
            }
        }
        if let (Some(shape), Value::Object(obj)) = (op.input_shape(), &mut v) {
            for m in shape.members().iter().filter(|m| m.idempotency_token) {
                if !obj.contains_key(m.name) {
                    obj.insert(m.name.to_string(), Value::String(uuid_v4()));
                }
            }
        }
        v
    }

    /// Sends one operation and decodes the response into the output Value.
    pub fn call(
        &self,
        op: &'static Operation,
        ep: &Endpoint,
        creds: Option<&Credentials>,
        input: &Value,
    ) -> Result<Value, CliError> {
        self.call_with(op, ep, creds, input, None, Sink::Memory)
    }

    /// [`Session::call`] with a request body read from `file` and the response's streaming
    /// payload (S3's `GetObject` body) copied into `sink` as it arrives.
    pub fn call_with(
        &self,
        op: &'static Operation,
        ep: &Endpoint,
        creds: Option<&Credentials>,
        input: &Value,
        file: Option<FileSlice>,
        sink: Sink,
    ) -> Result<Value, CliError> {
        let service = op.service();
        let s3 = service.name == "s3";
        let auto_encoding = s3
            && kagi_api::s3::lists_with_encoding_type(op.name)
            && input.get("EncodingType").is_none();
        let (status, resp_headers, resp_body) = self.exchange(op, ep, creds, input, file, sink)?;
        let text = String::from_utf8_lossy(&resp_body);
        let decoded = match service.protocol {
            // IAM and STS: the streaming decoder that unquotes policy documents.
            Protocol::Query { .. } if matches!(service.name, "iam" | "sts") => {
                kagi_api::xml::decode_response(service, op, &text)
            }
            Protocol::Query { .. } | Protocol::Ec2 { .. } => {
                kagi_api::xmlshape::decode_body(op, &text)
            }
            Protocol::Json11 { .. } => kagi_api::json11::decode_response(op, &resp_body),
            Protocol::RestXml { .. } if s3 && op.name == "GetBucketLocation" => {
                Ok(kagi_api::s3::bucket_location(&resp_body))
            }
            Protocol::RestJson | Protocol::RestXml { .. } => {
                kagi_api::rest::decode_response(op, status, &resp_headers, &resp_body)
            }
            Protocol::Cbor { .. } => kagi_api::cbor::decode_response(op, &resp_body),
        };
        let decoded = decoded.map(|mut v| {
            if auto_encoding {
                kagi_api::s3::decode_list_keys(op.name, &mut v);
            }
            v
        });
        decoded.map_err(|e| unparsable(op, e))
    }

    /// Sends one operation: a successful (2xx) answer's status, headers and body, undecoded
    /// ([`Session::call_with`] decodes it; the `s3` listings read theirs with
    /// `kagi_api::s3::decode_object_page`), or the error the answer carries, as a
    /// [`CliError::Service`].
    pub fn exchange(
        &self,
        op: &'static Operation,
        ep: &Endpoint,
        creds: Option<&Credentials>,
        input: &Value,
        file: Option<FileSlice>,
        sink: Sink,
    ) -> Result<Response, CliError> {
        let service = op.service();
        let s3 = service.name == "s3";
        let req = self.build_request_with(op, ep, creds, input, file)?;
        let (mut status, resp_headers, resp_body) = self.send(&req, sink)?;
        self.last_status.set(status);
        // botocore's `_handle_200_error`: a copy that failed after S3 sent `200 OK`.
        if s3 && status == 200 && kagi_api::s3::is_200_error(op.name, &resp_body) {
            status = 500;
        }
        *self.last_request_id.borrow_mut() = request_id(service, &resp_body);
        self.debug(|| {
            format!(
                "kagi: [DEBUG] response: HTTP {status}, {} bytes, request id {}",
                resp_body.len(),
                request_id(service, &resp_body).unwrap_or_else(|| "-".into())
            )
        });
        if (200..300).contains(&status) {
            return Ok((status, resp_headers, resp_body));
        }
        let text = String::from_utf8_lossy(&resp_body);
        let mut err = match service.protocol {
            Protocol::Query { .. } | Protocol::Ec2 { .. } => kagi_api::xml::decode_error(&text),
            Protocol::RestJson | Protocol::RestXml { .. } => {
                kagi_api::rest::decode_error(status, &resp_headers, &resp_body)
            }
            Protocol::Cbor { .. } => kagi_api::cbor::decode_error(status, &resp_body),
            Protocol::Json11 { .. } => kagi_api::json11::decode_error(&resp_body),
        };
        // A JSON service compatible with its old query protocol (SQS) names the query
        // error code in `x-amzn-query-error: Code;Sender`, and botocore reports that code.
        if service.aws_query_compatible
            && let Some(q) = resp_headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-query-error"))
                .map(|(_, v)| v.split(';').next().unwrap_or(v).to_string())
            && let Some(e) = err.as_mut()
        {
            e.code = q;
        }
        let (code, message) = match err {
            Some(e) => (e.code, e.message),
            None => (status.to_string(), reason(status).to_string()),
        };
        Err(CliError::Service {
            code,
            message,
            operation: op.name.to_string(),
            retries: self.retries.get(),
        })
    }

    /// Sends `req` with botocore's standard retries. A successful response's body goes to
    /// `sink` (then the returned body is empty); anything else is read whole.
    fn send(&self, req: &Request, mut sink: Sink) -> Result<Response, CliError> {
        let url = req.url.as_str();
        let mut attempt = 0;
        self.retries.set(0);
        loop {
            attempt += 1;
            self.requests.set(self.requests.get() + 1);
            let mut builder = ureq::http::Request::builder()
                .method(req.method.as_str())
                .uri(url);
            for (k, v) in &req.headers {
                if !k.eq_ignore_ascii_case("host") {
                    builder = builder.header(k.as_str(), v.as_str());
                }
            }
            let invalid = |e: ureq::http::Error| {
                CliError::General(format!("Invalid request to \"{url}\": {e}"))
            };
            let result = match &req.file {
                Some(f) => {
                    let reader = f.open().map_err(|e| file_error(&f.path, e))?;
                    let mut reader: Box<dyn std::io::Read> = match &req.trailer {
                        Some(algorithm) => Box::new(AwsChunked::new(reader, algorithm)),
                        None => Box::new(reader),
                    };
                    let r = builder
                        .body(ureq::SendBody::from_reader(&mut reader))
                        .map_err(invalid)?;
                    self.agent(url)?.run(r)
                }
                None => match &req.trailer {
                    // An in-memory body (stdin parts, `put-object` without `--body`) framed
                    // as aws-chunked too.
                    Some(algorithm) => {
                        let mut reader = AwsChunked::new(req.body.as_slice(), algorithm);
                        let r = builder
                            .body(ureq::SendBody::from_reader(&mut reader))
                            .map_err(invalid)?;
                        self.agent(url)?.run(r)
                    }
                    None => {
                        let r = builder.body(req.body.as_slice()).map_err(invalid)?;
                        self.agent(url)?.run(r)
                    }
                },
            };
            match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let resp_headers: Vec<(String, String)> = resp
                        .headers()
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    let read_error = |e: &dyn std::fmt::Display| {
                        CliError::General(format!("Read timeout on endpoint URL: \"{url}\" ({e})"))
                    };
                    if (200..300).contains(&status)
                        && let Sink::Writer(w) = &mut sink
                    {
                        // botocore validates a response checksum S3 sent (not the
                        // `-N` composite of a multipart object).
                        let expected = ["crc32", "crc32c", "sha256", "sha1"].iter().find_map(|a| {
                            let h = format!("x-amz-checksum-{a}");
                            resp_headers
                                .iter()
                                .find(|(k, v)| k.eq_ignore_ascii_case(&h) && !v.contains('-'))
                                .map(|(_, v)| (a.to_string(), v.clone()))
                        });
                        let mut check = expected
                            .as_ref()
                            .and_then(|(a, _)| kagi_api::s3::Checksum::new(a));
                        let mut r = resp.into_body().into_reader();
                        let mut buf = vec![0u8; 256 * 1024];
                        loop {
                            use std::io::Read as _;
                            let n = r.read(&mut buf).map_err(|e| read_error(&e))?;
                            if n == 0 {
                                break;
                            }
                            if let Some(c) = check.as_mut() {
                                c.update(&buf[..n]);
                            }
                            w.write_all(&buf[..n]).map_err(|e| {
                                if e.kind() == std::io::ErrorKind::BrokenPipe {
                                    CliError::Silent(0)
                                } else {
                                    CliError::General(e.to_string())
                                }
                            })?;
                        }
                        if let (Some(c), Some((_, want))) = (check, expected) {
                            let got = c.finish();
                            if got != want {
                                return Err(CliError::General(format!(
                                    "Expected checksum {want} did not match calculated checksum: {got}"
                                )));
                            }
                        }
                        return Ok((status, resp_headers, Vec::new()));
                    }
                    let bytes = resp
                        .into_body()
                        .with_config()
                        .limit(64 * 1024 * 1024)
                        .read_to_vec()
                        .map_err(|e| read_error(&e))?;
                    // botocore's standard retry mode: 3 attempts for throttling, transient
                    // errors and 5xx.
                    if retryable(status, &bytes) {
                        if attempt < self.max_attempts() {
                            std::thread::sleep(Duration::from_millis(50 * attempt));
                            continue;
                        }
                        self.retries.set(attempt as u32 - 1);
                    }
                    return Ok((status, resp_headers, bytes));
                }
                Err(e) => {
                    let connect = matches!(
                        e,
                        ureq::Error::Io(_)
                            | ureq::Error::ConnectionFailed
                            | ureq::Error::HostNotFound
                    );
                    if connect && attempt < self.max_attempts() {
                        std::thread::sleep(Duration::from_millis(50 * attempt));
                        continue;
                    }
                    self.debug(|| format!("kagi: [DEBUG] transport error: {e}"));
                    return Err(match e {
                        ureq::Error::Timeout(_) => {
                            CliError::General(format!("Read timeout on endpoint URL: \"{url}\""))
                        }
                        _ => CliError::General(format!(
                            "Could not connect to the endpoint URL: \"{url}\""
                        )),
                    });
                }
            }
        }
    }
}

/// botocore's S3 input handlers: the bucket name checked (`validate_bucket_name`), listings
/// asked for URL-encoded keys (`set_list_objects_encoding_type_url`), `CopySource` quoted
/// (`handle_copy_source_param`), a response checksum asked for (`ChecksumMode=ENABLED`,
/// `response_checksum_validation = when_supported`), SSE-C keys encoded (`sse_md5`).
fn s3_input(op: &'static Operation, input: &mut Value) -> Result<(), CliError> {
    let Value::Object(m) = input else {
        return Ok(());
    };
    if let Some(Value::String(b)) = m.get("Bucket")
        && !kagi_api::s3::valid_bucket_name(b)
    {
        return Err(CliError::ParamValidation(vec![
            kagi_api::s3::invalid_bucket_message(b),
        ]));
    }
    if kagi_api::s3::lists_with_encoding_type(op.name) && !m.contains_key("EncodingType") {
        m.insert("EncodingType".into(), Value::String("url".into()));
    }
    if matches!(op.name, "CopyObject" | "UploadPartCopy")
        && let Some(Value::String(src)) = m.get_mut("CopySource")
    {
        *src = kagi_api::s3::quote_copy_source(src);
    }
    if let Some(mode) = op.checksum_mode_member
        && !m.contains_key(mode)
    {
        m.insert(mode.to_string(), Value::String("ENABLED".into()));
    }
    // `sse_md5`: an SSE-C key goes base64-encoded, with the base64 of its MD5 beside it.
    for prefix in ["SSECustomer", "CopySourceSSECustomer"] {
        let md5_member = format!("{prefix}KeyMD5");
        if m.contains_key(&md5_member) {
            continue;
        }
        if let Some(Value::String(key)) = m.get(&format!("{prefix}Key")).cloned() {
            use base64::Engine;
            use md5::Digest;
            let b64 = base64::engine::general_purpose::STANDARD;
            let digest = md5::Md5::digest(key.as_bytes());
            m.insert(
                format!("{prefix}Key"),
                Value::String(b64.encode(key.as_bytes())),
            );
            m.insert(md5_member, Value::String(b64.encode(digest)));
        }
    }
    Ok(())
}

/// The request checksum botocore computes: `(algorithm, defaulted)`, the algorithm in lower
/// case (`crc32`). None when the caller gave a checksum header already or the operation
/// takes none.
fn request_checksum(
    op: &'static Operation,
    input: &Value,
    headers: &[(String, String)],
) -> Result<Option<(String, bool)>, CliError> {
    let given = headers.iter().any(|(k, _)| {
        k.len() > 15
            && k[..15].eq_ignore_ascii_case("x-amz-checksum-")
            && k[15..].bytes().all(|c| c.is_ascii_alphanumeric())
            && !k[15..].eq_ignore_ascii_case("mode")
            && !k[15..].eq_ignore_ascii_case("type")
            && !k[15..].eq_ignore_ascii_case("algorithm")
    });
    if given {
        return Ok(None);
    }
    if let Some(m) = op.checksum_algorithm_member
        && let Some(a) = input.get(m).and_then(Value::as_str)
    {
        let a = a.to_ascii_lowercase();
        if kagi_api::s3::Checksum::new(&a).is_none() {
            return Err(CliError::General(format!(
                "Unsupported checksum algorithm: {a}"
            )));
        }
        return Ok(Some((a, false)));
    }
    if op.checksum_required || op.checksum_algorithm_member.is_some() {
        return Ok(Some(("crc32".into(), true)));
    }
    Ok(None)
}

/// One pass over a body (bytes, or a file slice read 1 MiB at a time): the base64 checksum
/// of `algorithm` and, when `sha256`, the payload's hex SHA-256.
fn digest_body(
    body: &[u8],
    file: Option<&FileSlice>,
    algorithm: Option<&str>,
    sha256: bool,
) -> Result<(Option<String>, String), CliError> {
    use sha2::Digest as _;
    let mut c = algorithm.and_then(kagi_api::s3::Checksum::new);
    let mut h = sha256.then(sha2::Sha256::new);
    let mut feed = |chunk: &[u8]| {
        if let Some(c) = c.as_mut() {
            c.update(chunk);
        }
        if let Some(h) = h.as_mut() {
            h.update(chunk);
        }
    };
    match file {
        None => feed(body),
        Some(f) => {
            use std::io::Read as _;
            let mut r = f.open().map_err(|e| file_error(&f.path, e))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = r.read(&mut buf).map_err(|e| file_error(&f.path, e))?;
                if n == 0 {
                    break;
                }
                feed(&buf[..n]);
            }
        }
    }
    let hex = h
        .map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default();
    Ok((c.map(kagi_api::s3::Checksum::finish), hex))
}

fn file_error(path: &std::path::Path, e: std::io::Error) -> CliError {
    CliError::General(format!(
        "[Errno {}] {}: '{}'",
        e.raw_os_error().unwrap_or(5),
        io_reason(&e),
        path.display()
    ))
}

/// Python's wording of an OS error (`No such file or directory`).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        std::io::ErrorKind::IsADirectory => "Is a directory".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

/// A body framed as aws-chunked (botocore's `AwsChunkedWrapper`): each read of the file
/// becomes one chunk, then the last chunk carries the checksum trailer.
struct AwsChunked<R> {
    inner: R,
    checksum: Option<kagi_api::s3::Checksum>,
    name: String,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
    buf: Vec<u8>,
}

impl<R: std::io::Read> AwsChunked<R> {
    fn new(inner: R, algorithm: &str) -> Self {
        AwsChunked {
            inner,
            checksum: kagi_api::s3::Checksum::new(algorithm),
            name: format!("x-amz-checksum-{algorithm}"),
            pending: Vec::new(),
            pos: 0,
            done: false,
            buf: vec![0u8; 1 << 20],
        }
    }
}

impl<R: std::io::Read> std::io::Read for AwsChunked<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.buf)?;
            self.pending.clear();
            self.pos = 0;
            if n == 0 {
                self.done = true;
                let value = self.checksum.take().map(kagi_api::s3::Checksum::finish);
                let t =
                    kagi_api::s3::chunk_trailer(value.as_deref().map(|v| (self.name.as_str(), v)));
                self.pending.extend_from_slice(t.as_bytes());
            } else {
                if let Some(c) = self.checksum.as_mut() {
                    c.update(&self.buf[..n]);
                }
                self.pending
                    .extend_from_slice(kagi_api::s3::chunk_header(n).as_bytes());
                self.pending.extend_from_slice(&self.buf[..n]);
                self.pending.extend_from_slice(b"\r\n");
            }
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// botocore's `validate_region_name`: `^[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$`.
fn valid_region(r: &str) -> bool {
    let b = r.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// botocore's standard-mode retryable responses: 500/502/503/504, and throttling or transient
/// error codes.
fn retryable(status: u16, body: &[u8]) -> bool {
    const CODES: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
    ];
    if matches!(status, 500 | 502 | 503 | 504) {
        return true;
    }
    if !(400..500).contains(&status) {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    CODES.iter().any(|c| {
        text.contains(&format!("<Code>{c}</Code>"))
            || text.contains(&format!("\"{c}\""))
            || text.contains(&format!("#{c}\""))
    })
}

/// The error for a successful answer that does not decode.
pub fn unparsable(op: &Operation, e: kagi_api::ApiError) -> CliError {
    CliError::General(format!(
        "Unable to parse the response of {}: {}",
        op.name, e.message
    ))
}

fn request_id(service: &'static Service, body: &[u8]) -> Option<String> {
    match service.protocol {
        Protocol::Query { .. } => kagi_api::xml::request_id(&String::from_utf8_lossy(body)),
        _ => None,
    }
}

/// `base` (`https://host[:port][/path]`) joined with a request path (`/a/b?x=1`).
fn join_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    format!("{base}{path}")
}

/// The endpoint's host with the operation's host prefix (`{AccountId}.` filled from the
/// input's host-label members).
fn with_host_prefix(url: &str, prefix: &str, op: &'static Operation, input: &Value) -> String {
    let mut p = prefix.to_string();
    if let Some(shape) = op.input_shape() {
        for m in shape.members().iter().filter(|m| m.host_label) {
            if let Some(v) = input.get(m.name).and_then(Value::as_str) {
                p = p.replace(&format!("{{{}}}", m.wire_name()), v);
            }
        }
    }
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{p}{rest}"),
        None => url.to_string(),
    }
}

/// A random UUID v4 (idempotency tokens).
pub(crate) fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: the clock still makes the token unique per call.
        let t = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b = t.to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn strip_default_port(scheme_host: &str, host: &str) -> String {
    if scheme_host.starts_with("https://") {
        host.strip_suffix(":443").unwrap_or(host).to_string()
    } else {
        host.strip_suffix(":80").unwrap_or(host).to_string()
    }
}

/// Splits `scheme://host[:port][/path][?query]` into (`scheme://host[:port]`, path, query).
pub fn split_url(url: &str) -> Result<(String, String, String), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("Invalid endpoint: {url}"));
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return Err(format!("Invalid endpoint: {url}"));
    }
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, q),
        None => (tail, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok((
        format!("{scheme}://{authority}"),
        path.to_string(),
        query.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_split() {
        assert_eq!(
            split_url("http://127.0.0.1:5000").unwrap(),
            ("http://127.0.0.1:5000".into(), "/".into(), "".into())
        );
        assert_eq!(
            split_url("https://h/p?a=b").unwrap(),
            ("https://h".into(), "/p".into(), "a=b".into())
        );
        assert!(split_url("localhost:5000").is_err());
        assert!(valid_region("ap-northeast-1") && !valid_region("x y") && !valid_region("-a"));
        assert_eq!(strip_default_port("https://h:443", "h:443"), "h");
    }

    #[test]
    fn aws_chunked_framing_as_botocore() {
        use std::io::Read as _;
        // botocore's AwsChunkedWrapper over b"hello" with CRC32: one chunk, then the trailer.
        let mut r = AwsChunked::new(&b"hello"[..], "crc32");
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(
            out,
            "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
        );
        let mut r = AwsChunked::new(&b""[..], "crc32");
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    }

    #[test]
    fn s3_requests_carry_s3s_rules() {
        let env = Env::default();
        let g = Globals::default();
        let s = session_with(&env, &g, "[default]\n");
        let s3 = kagi_api::service("s3api").unwrap();
        let creds = Credentials::new("AKIDEXAMPLE", "secret");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("body");
        std::fs::write(&file, b"hello").unwrap();
        let put = s3.operation("PutObject").unwrap();
        let input = serde_json::json!({"Bucket": "my-bucket", "Key": "a b/c+d.txt"});
        // A configured http endpoint: path style, the payload's SHA-256, CRC32 in a header.
        let ep = Endpoint {
            url: "http://127.0.0.1:9000".into(),
            signing_region: "us-east-1".into(),
            source: "--endpoint-url".into(),
        };
        let slice = FileSlice::whole(&file).unwrap();
        let r = s
            .build_request_with(put, &ep, Some(&creds), &input, Some(slice.clone()))
            .unwrap();
        assert_eq!(r.url, "http://127.0.0.1:9000/my-bucket/a%20b/c%2Bd.txt");
        assert_eq!(r.header("x-amz-checksum-crc32"), Some("NhCmhg=="));
        assert_eq!(r.header("x-amz-sdk-checksum-algorithm"), Some("CRC32"));
        assert_eq!(
            r.header("x-amz-content-sha256"),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(r.header("expect"), Some("100-continue"));
        assert_eq!(r.header("content-length"), Some("5"));
        assert!(r.body.is_empty() && r.trailer.is_none());
        // AWS's https endpoint: virtual-hosted style, the checksum in an aws-chunked trailer,
        // the payload not hashed.
        let ep = Endpoint {
            url: "https://s3.us-west-2.amazonaws.com".into(),
            signing_region: "us-west-2".into(),
            source: "default endpoint".into(),
        };
        let r = s
            .build_request_with(put, &ep, Some(&creds), &input, Some(slice))
            .unwrap();
        assert_eq!(
            r.url,
            "https://my-bucket.s3.us-west-2.amazonaws.com/a%20b/c%2Bd.txt"
        );
        assert_eq!(
            r.header("host"),
            Some("my-bucket.s3.us-west-2.amazonaws.com")
        );
        assert_eq!(
            r.header("x-amz-content-sha256"),
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        );
        assert_eq!(r.header("content-encoding"), Some("aws-chunked"));
        assert_eq!(r.header("x-amz-trailer"), Some("x-amz-checksum-crc32"));
        assert_eq!(r.header("x-amz-decoded-content-length"), Some("5"));
        assert_eq!(r.header("content-length"), None);
        assert_eq!(r.trailer.as_deref(), Some("crc32"));
        // Listings ask for URL-encoded keys; GetObject for a response checksum.
        let list = s3.operation("ListObjectsV2").unwrap();
        let r = s
            .build_request(
                list,
                &ep,
                Some(&creds),
                &serde_json::json!({"Bucket": "my-bucket"}),
            )
            .unwrap();
        assert_eq!(
            r.url,
            "https://my-bucket.s3.us-west-2.amazonaws.com/?list-type=2&encoding-type=url"
        );
        let get = s3.operation("GetObject").unwrap();
        let r = s.build_request(get, &ep, Some(&creds), &input).unwrap();
        assert_eq!(r.header("x-amz-checksum-mode"), Some("ENABLED"));
        // botocore's bucket name check.
        let bad = serde_json::json!({"Bucket": "a/b", "Key": "k"});
        assert!(matches!(
            s.build_request(get, &ep, Some(&creds), &bad),
            Err(CliError::ParamValidation(_))
        ));
    }

    /// Proxies as botocore picks them, from the invocation's environment: by URL scheme, the
    /// lower-case variable first, `no_proxy` hosts bypassed, no SOCKS.
    #[test]
    fn proxies_come_from_the_invocations_environment() {
        let g = Globals::default();
        let mut env = Env::default();
        for (k, v) in [
            ("HTTPS_PROXY", "http://127.0.0.1:3128"),
            ("http_proxy", "http://user:pw@proxy.local:8080"),
            ("HTTP_PROXY", "http://ignored:1"),
            ("NO_PROXY", "localhost, .internal"),
        ] {
            env.vars.insert(k.into(), v.into());
        }
        let s = session_with(&env, &g, "[default]\n");
        let p = s.proxy(true).unwrap();
        assert_eq!((p.host(), p.port()), ("127.0.0.1", 3128));
        let p = s.proxy(false).unwrap();
        assert_eq!(
            (p.host(), p.port(), p.username(), p.password()),
            ("proxy.local", 8080, Some("user"), Some("pw"))
        );
        let uri = |u: &str| u.parse::<ureq::http::Uri>().unwrap();
        assert!(p.is_no_proxy(&uri("http://localhost:4566/")));
        assert!(p.is_no_proxy(&uri("http://a.internal/")));
        assert!(!p.is_no_proxy(&uri("http://example.com/")));
        let none = Env::default();
        assert!(session_with(&none, &g, "[default]\n").proxy(true).is_none());
        let mut socks = Env::default();
        socks
            .vars
            .insert("HTTPS_PROXY".into(), "socks5://127.0.0.1:1080".into());
        assert!(
            session_with(&socks, &g, "[default]\n")
                .proxy(true)
                .is_none()
        );
    }

    /// The CA bundle is read for an https URL only (botocore's behaviour): a missing bundle
    /// fails https requests and leaves http ones alone.
    #[test]
    fn ca_bundle_is_read_for_https_only() {
        let env = Env::default();
        let g = Globals {
            ca_bundle: Some("/nonexistent/kagi-ca-bundle.pem".into()),
            ..Globals::default()
        };
        let s = Session {
            env: &env,
            g: &g,
            files: Files::default(),
            choice: config::choose_profile(None, &env),
            agents: Default::default(),
            debug: RefCell::new(vec![]),
            requests: Default::default(),
            last_request_id: RefCell::new(None),
            last_status: Default::default(),
            retries: Default::default(),
        };
        assert!(s.agent("http://127.0.0.1:5000/").is_ok());
        let Err(err) = s.agent("HTTPS://sts.amazonaws.com/") else {
            panic!("an https agent without its CA bundle");
        };
        assert!(
            err.message().contains("Unable to read the CA bundle"),
            "{err:?}"
        );
    }

    #[test]
    fn default_endpoints() {
        let env = Env::default();
        let g = Globals::default();
        let s = Session {
            env: &env,
            g: &g,
            files: Files::default(),
            choice: config::choose_profile(None, &env),
            agents: Default::default(),
            debug: RefCell::new(vec![]),
            requests: Default::default(),
            last_request_id: RefCell::new(None),
            last_status: Default::default(),
            retries: Default::default(),
        };
        let iam = kagi_api::service("iam").unwrap();
        let sts = kagi_api::service("sts").unwrap();
        let ecr = kagi_api::service("ecr").unwrap();
        let e = s.endpoint(iam, Some("ap-northeast-1"), true).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://iam.amazonaws.com", "us-east-1")
        );
        assert_eq!(
            s.endpoint(sts, Some("ap-northeast-1"), true).unwrap().url,
            "https://sts.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(
            s.endpoint(ecr, Some("eu-west-1"), true).unwrap().url,
            "https://api.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(s.endpoint(ecr, None, true).unwrap_err(), CliError::NoRegion);
        let e = s.endpoint(sts, None, true).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://sts.amazonaws.com", "us-east-1")
        );
        // Every service, every partition: botocore's endpoints.json.
        let svc = |n: &str| kagi_api::service(n).unwrap();
        let e = s.endpoint(svc("iam"), Some("cn-north-1"), true).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
        );
        assert_eq!(
            s.endpoint(svc("dynamodb"), Some("us-gov-west-1"), true)
                .unwrap()
                .url,
            "https://dynamodb.us-gov-west-1.amazonaws.com"
        );
        let e = s.endpoint(svc("route53"), Some("eu-west-1"), true).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("https://route53.amazonaws.com", "us-east-1")
        );
    }

    fn session_with<'a>(env: &'a Env, g: &'a Globals, config: &str) -> Session<'a> {
        Session {
            env,
            g,
            files: Files {
                set: crate::ini::ProfileSet::load(Some(config), None).unwrap(),
                ..Default::default()
            },
            choice: config::choose_profile(None, env),
            agents: Default::default(),
            debug: RefCell::new(vec![]),
            requests: Default::default(),
            last_request_id: RefCell::new(None),
            last_status: Default::default(),
            retries: Default::default(),
        }
    }

    /// Checks a SigV4a-signed request with the verifier of `kagi_sigv4` and the public key of
    /// `creds`; a changed header, path or signature must fail.
    fn assert_sigv4a_verifies(r: &Request, creds: &Credentials) {
        let (_, path, query) = split_url(&r.url).unwrap();
        let hash = kagi_sigv4::sha256_hex(&r.body);
        let key = kagi_sigv4::EcdsaKey::derive(&creds.access_key_id, &creds.secret_access_key)
            .public_key();
        let verify = |path: &str, headers: &[(String, String)]| {
            let req = kagi_sigv4::IncomingRequest {
                method: &r.method,
                path,
                query: &query,
                headers,
                payload_sha256_hex: &hash,
            };
            let info = kagi_sigv4::parse_v4a(&req)?;
            kagi_sigv4::verify_v4a(
                &req,
                &info,
                &key,
                SystemTime::now(),
                &kagi_sigv4::VerifyOptions::default(),
            )
        };
        verify(&path, &r.headers).unwrap();
        assert!(verify(&format!("{path}x"), &r.headers).is_err());
        let mut headers = r.headers.clone();
        for (k, v) in headers.iter_mut() {
            if k.eq_ignore_ascii_case("x-amz-region-set") {
                v.push_str(",us-west-1");
            }
        }
        assert!(verify(&path, &headers).is_err());
        let mut headers = r.headers.clone();
        for (k, v) in headers.iter_mut() {
            if k.eq_ignore_ascii_case("authorization") {
                let last = v.pop().unwrap();
                v.push(if last == '0' { '1' } else { '0' });
            }
        }
        assert!(verify(&path, &headers).is_err());
    }

    #[test]
    fn s3_arns_follow_s3s_endpoint_rule_set() {
        let env = Env::default();
        let g = Globals::default();
        let s3 = kagi_api::service("s3api").unwrap();
        let get = s3.operation("GetObject").unwrap();
        let creds = Credentials::new("AKIDEXAMPLE", "secret");
        let aws = Endpoint {
            url: "https://s3.us-east-1.amazonaws.com".into(),
            signing_region: "us-east-1".into(),
            source: "default endpoint".into(),
        };
        let build = |s: &Session, ep: &Endpoint, bucket: &str| {
            let input = serde_json::json!({"Bucket": bucket, "Key": "a b.txt"});
            s.build_request(get, ep, Some(&creds), &input)
        };
        let scope = |r: &Request| {
            let auth = r.header("authorization").unwrap_or_default().to_string();
            let cred = auth.split("Credential=").nth(1).unwrap_or_default();
            cred.split(',')
                .next()
                .unwrap_or_default()
                .splitn(3, '/')
                .nth(2)
                .unwrap_or_default()
                .to_string()
        };
        let s = session_with(&env, &g, "[default]\nregion = us-east-1\n");
        // The ARN's region (use_arn_region defaults to true), signed for it.
        let r = build(
            &s,
            &aws,
            "arn:aws:s3:us-west-2:123456789012:accesspoint/myap",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/a%20b.txt"
        );
        assert_eq!(scope(&r), "us-west-2/s3/aws4_request");
        // Object Lambda: its own signing name.
        let r = build(
            &s,
            &aws,
            "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/ol",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://ol-123456789012.s3-object-lambda.us-east-1.amazonaws.com/a%20b.txt"
        );
        assert_eq!(scope(&r), "us-east-1/s3-object-lambda/aws4_request");
        // A configured endpoint: the access point's name and account before its host.
        let local = Endpoint {
            url: "http://localhost:9000".into(),
            signing_region: "us-east-1".into(),
            source: "--endpoint-url".into(),
        };
        let r = build(
            &s,
            &local,
            "arn:aws:s3:us-west-2:123456789012:accesspoint/myap",
        )
        .unwrap();
        assert_eq!(r.url, "http://myap-123456789012.localhost:9000/a%20b.txt");
        assert_eq!(r.header("host"), Some("myap-123456789012.localhost:9000"));
        // Multi-Region Access Points: SigV4a for the region set `*`, verifiable with the public
        // key of the credentials.
        let mrap = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap";
        let r = build(&s, &aws, mrap).unwrap();
        assert_eq!(
            r.url,
            "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/a%20b.txt"
        );
        assert_eq!(scope(&r), "s3/aws4_request");
        assert_eq!(r.header("x-amz-region-set"), Some("*"));
        let auth = r.header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains(";x-amz-region-set,"), "{auth}");
        assert_sigv4a_verifies(&r, &creds);
        // `sigv4a_signing_region_set` (environment first, then the profile) replaces the rule
        // set's region set.
        let s = session_with(
            &env,
            &g,
            "[default]\nregion = us-east-1\nsigv4a_signing_region_set = us-west-2,eu-west-1\n",
        );
        let r = build(&s, &aws, mrap).unwrap();
        assert_eq!(r.header("x-amz-region-set"), Some("us-west-2,eu-west-1"));
        assert_sigv4a_verifies(&r, &creds);
        let mut vars = env.vars.clone();
        vars.insert("AWS_SIGV4A_SIGNING_REGION_SET".into(), "us-east-2".into());
        let env2 = Env {
            vars,
            ..env.clone()
        };
        let s = session_with(
            &env2,
            &g,
            "[default]\nregion = us-east-1\nsigv4a_signing_region_set = us-west-2\n",
        );
        let r = build(&s, &aws, mrap).unwrap();
        assert_eq!(r.header("x-amz-region-set"), Some("us-east-2"));
        // use_arn_region = false: botocore's error.
        let s = session_with(
            &env,
            &g,
            "[default]\nregion = us-east-1\ns3 =\n  use_arn_region = false\n",
        );
        assert_eq!(
            build(
                &s,
                &aws,
                "arn:aws:s3:us-west-2:123456789012:accesspoint/myap"
            )
            .unwrap_err()
            .message(),
            "Unsupported configuration when using S3 access-points: Invalid configuration: region from ARN `us-west-2` does not match client region `us-east-1` and UseArnRegion is `false`"
        );
        // `addressing_style = path` does not apply to ARNs (botocore turns it off for them).
        let s = session_with(
            &env,
            &g,
            "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n",
        );
        assert_eq!(
            build(
                &s,
                &aws,
                "arn:aws:s3:us-west-2:123456789012:accesspoint/myap"
            )
            .unwrap()
            .url,
            "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/a%20b.txt"
        );
        // FIPS and dual-stack.
        let s = session_with(
            &env,
            &g,
            "[default]\nregion = us-west-2\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n",
        );
        let r = build(
            &s,
            &aws,
            "arn:aws:s3:us-west-2:123456789012:accesspoint/myap",
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://myap-123456789012.s3-accesspoint-fips.dualstack.us-west-2.amazonaws.com/a%20b.txt"
        );
        // S3 Express bucket management goes to the control endpoint, signed as s3express.
        let s = session_with(&env, &g, "[default]\nregion = us-west-2\n");
        let list = s3.operation("ListDirectoryBuckets").unwrap();
        let r = s
            .build_request(list, &aws, Some(&creds), &serde_json::json!({}))
            .unwrap();
        assert!(
            r.url
                .starts_with("https://s3express-control.us-west-2.amazonaws.com/"),
            "{}",
            r.url
        );
        assert_eq!(scope(&r), "us-west-2/s3express/aws4_request");
    }

    #[test]
    fn fips_dualstack_and_configured_endpoints() {
        let g = Globals::default();
        let sqs = kagi_api::service("sqs").unwrap();
        // use_fips_endpoint in the profile, AWS_USE_DUALSTACK_ENDPOINT in the environment.
        let env = Env {
            vars: [("AWS_USE_DUALSTACK_ENDPOINT", "true")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let s = session_with(&env, &g, "[default]\nuse_fips_endpoint = true\n");
        assert_eq!(
            s.endpoint(sqs, Some("us-east-1"), true).unwrap().url,
            "https://sqs-fips.us-east-1.api.aws"
        );
        let plain = Env::default();
        let s = session_with(&plain, &g, "[default]\nuse_fips_endpoint = true\n");
        assert_eq!(
            s.endpoint(sqs, Some("us-west-2"), true).unwrap().url,
            "https://sqs-fips.us-west-2.amazonaws.com"
        );
        // A services section and AWS_ENDPOINT_URL_<SERVICE> for any service (service id
        // `Secrets Manager` → `secrets_manager`, `SECRETS_MANAGER`).
        let config = "[default]\nservices = local\n[services local]\nsecrets_manager =\n  endpoint_url = http://127.0.0.1:1111\n";
        let s = session_with(&plain, &g, config);
        let sm = kagi_api::service("secretsmanager").unwrap();
        let e = s.endpoint(sm, Some("eu-west-1"), true).unwrap();
        assert_eq!(
            (e.url.as_str(), e.signing_region.as_str()),
            ("http://127.0.0.1:1111", "eu-west-1")
        );
        assert_eq!(
            s.endpoint(sqs, Some("eu-west-1"), true).unwrap().url,
            "https://sqs.eu-west-1.amazonaws.com"
        );
        let env = Env {
            vars: [("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:2222")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let s = session_with(&env, &g, "[default]\n");
        assert_eq!(
            s.endpoint(sm, Some("eu-west-1"), true).unwrap().url,
            "http://127.0.0.1:2222"
        );
    }
}
