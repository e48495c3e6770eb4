//! `kagi s3 ls|cp|mv|rm|sync|mb|rb|presign|website`: the AWS CLI's hand-written S3 commands
//! (`awscli/customizations/s3`), on kagi's S3 wire (`s3api`'s codec, addressing, checksums
//! and streaming bodies).
//!
//! * **Listing** (`ls`): ListBuckets / ListObjectsV2 pages printed as the AWS CLI does
//!   (`PRE` lines right-aligned to 30 columns, `YYYY-MM-DD HH:MM:SS` in local time, sizes
//!   right-aligned to 10, `--human-readable`'s base-2 units, `--summarize`'s two lines); the
//!   exit status is 1 when a named prefix matched nothing.
//! * **Planning** (`cp`, `mv`, `rm`, `sync`): the source is walked (a local directory depth
//!   first with names sorted as S3 sorts keys, directories as `name/`; or a ListObjectsV2
//!   listing), destinations and compare keys are derived as `FileFormat` and
//!   `find_dest_path_comp_key` do, `--exclude`/`--include` are applied in order with
//!   `fnmatch` against the full path (the last matching rule wins; patterns are joined to the
//!   source root, and to the destination root for `sync --delete`), and `sync` merges the
//!   two sorted listings as `Comparator` does: a file missing at the destination is sent, one
//!   present is sent when the sizes differ or the source is newer (`--size-only`,
//!   `--exact-timestamps`), one missing at the source is deleted with `--delete`. Objects in
//!   GLACIER or DEEP_ARCHIVE that are not restored (the listing's or HeadObject's
//!   `StorageClass` and `Restore`) are not downloaded, copied or moved: a warning each and
//!   status 2 (`--ignore-glacier-warnings`: silently), unless `--force-glacier-transfer`.
//!   `--source-region` reads an S3-to-S3 command's source (listing, HeadObject, tags, a move's
//!   DeleteObject) in that region, through its regional endpoint (a configured endpoint such
//!   as `AWS_ENDPOINT_URL` still applies, `--endpoint-url` does not, as in the AWS CLI).
//! * **Transfer manager** ([`transfer`]): ten workers (the AWS CLI's `max_concurrent_requests`
//!   default) take tasks from one queue. Uploads above 8 MiB (`multipart_threshold`) are
//!   multipart with 8 MiB parts (`multipart_chunksize`, grown to stay within 10,000 parts),
//!   each part a job of its own on the same queue, read from the file as it is sent; a
//!   download above 8 MiB is ranged GETs written at their offsets, a copy above 8 MiB is
//!   `UploadPartCopy` in ranges. Memory therefore stays at
//!   the workers' buffers whatever the file size (stdin uploads hold at most ten 8 MiB parts).
//!   The profile's `s3` section changes these as it does for the AWS CLI
//!   (`max_concurrent_requests`, `multipart_threshold`, `multipart_chunksize`).
//!   Checksums are CRC32 as botocore's `when_supported` (per part, and in the completion).
//!   Downloaded files get the object's `LastModified` as their mtime (what `sync` compares).
//! * **Output**: `upload: ./a to s3://b/a`, `download: ...`, `copy: ...`, `move: ...`,
//!   `delete: ...`, `(dryrun) ...` on stdout; `... failed: SRC [to DEST] ERROR` and warnings on
//!   stderr; exit 1 when a transfer failed, 2 when a file was skipped with a warning. Local
//!   paths are shown relative to the working directory (`relative_path`). The progress line
//!   (`Completed 8.0 MiB/20.0 MiB (35.1 MiB/s) with 1 file(s) remaining`, redrawn with `\r`
//!   and cleared by padding the next line) is drawn on a terminal only, never with `--quiet`,
//!   `--only-show-errors` or `--no-progress`.

use std::collections::VecDeque;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use kagi_api::Timestamp;
use kagi_api::s3::ObjectPage;

use crate::http::{Endpoint, FileSlice, Session, Sink};
use crate::{CliError, Env, Globals, Io};

/// `multipart_threshold` and `multipart_chunksize` (the AWS CLI's defaults, 8 MiB).
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
pub const CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// `max_concurrent_requests`.
pub const WORKERS: usize = 10;

/// The profile's `s3` section as the AWS CLI reads it (`max_concurrent_requests`,
/// `multipart_threshold`, `multipart_chunksize`; sizes as `8MB`, `64KiB` or bytes, base 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferConfig {
    pub threshold: u64,
    pub chunk: u64,
    pub workers: usize,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            threshold: MULTIPART_THRESHOLD,
            chunk: CHUNK_SIZE,
            workers: WORKERS,
        }
    }
}

/// awscli's `human_readable_to_bytes`: `10MB`, `10MiB`, `1024` (suffixes base 2).
pub fn human_to_bytes(v: &str) -> Option<u64> {
    let v = v.trim().to_ascii_lowercase();
    for (suffix, mult) in [
        ("kib", 1u64 << 10),
        ("mib", 1 << 20),
        ("gib", 1 << 30),
        ("tib", 1 << 40),
        ("kb", 1 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("tb", 1 << 40),
    ] {
        if let Some(n) = v.strip_suffix(suffix) {
            return n.trim().parse::<u64>().ok().map(|n| n * mult);
        }
    }
    v.parse().ok()
}

impl TransferConfig {
    fn from_profile(s: &Session) -> Result<TransferConfig, CliError> {
        let mut c = TransferConfig::default();
        let Some(section) = s.profile()?.and_then(|p| p.get("s3")) else {
            return Ok(c);
        };
        for (k, v) in crate::ini::sub_properties(section) {
            let bad = || CliError::General(format!("Invalid value for {k}: {v}"));
            match k.as_str() {
                "max_concurrent_requests" => {
                    c.workers = v
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(bad)?
                }
                "multipart_threshold" => c.threshold = human_to_bytes(&v).ok_or_else(bad)?,
                "multipart_chunksize" => {
                    c.chunk = human_to_bytes(&v).filter(|n| *n > 0).ok_or_else(bad)?
                }
                _ => {}
            }
        }
        Ok(c)
    }
}
const MAX_PARTS: u64 = 10_000;

const COMMANDS: &[&str] = &[
    "cp", "ls", "mb", "mv", "presign", "rb", "rm", "sync", "website",
];

/// The command's options (the union of every s3 command's; each command checks its own).
#[derive(Default, Debug)]
struct Opts {
    paths: Vec<String>,
    recursive: bool,
    human: bool,
    summarize: bool,
    page_size: Option<i64>,
    dryrun: bool,
    quiet: bool,
    only_errors: bool,
    no_progress: bool,
    /// `(include, pattern)` in command-line order.
    filters: Vec<(bool, String)>,
    delete: bool,
    force: bool,
    expires_in: Option<u64>,
    size_only: bool,
    exact_timestamps: bool,
    content_type: Option<String>,
    acl: Option<String>,
    storage_class: Option<String>,
    /// The other object options of cp/mv/sync, as request members (`--cache-control` →
    /// `CacheControl`, `--metadata` → `Metadata`, `--sse` → `ServerSideEncryption`, ...).
    object_params: Vec<(&'static str, Value)>,
    /// `--sse-c [ALG] --sse-c-key KEY`, and the same for the copy source.
    sse_c: Option<(String, String)>,
    sse_c_copy_source: Option<(String, String)>,
    metadata_directive: Option<String>,
    no_guess_mime_type: bool,
    /// `--request-payer [requester]`.
    request_payer: Option<String>,
    /// `--copy-props none|metadata-directive|default`.
    copy_props: Option<String>,
    /// `s3 website`'s documents.
    index_document: Option<String>,
    error_document: Option<String>,
    no_follow_symlinks: bool,
    expected_size: Option<u64>,
    /// `--source-region`: the region of an S3-to-S3 command's source bucket.
    source_region: Option<String>,
    /// `--force-glacier-transfer`, `--ignore-glacier-warnings`.
    force_glacier: bool,
    ignore_glacier: bool,
}

fn parse_opts(cmd: &str, args: &[String]) -> Result<Opts, CliError> {
    let mut o = Opts::default();
    let (mut sse_c_alg, mut sse_c_key) = (None, None);
    let (mut sse_c_copy_alg, mut sse_c_copy_key) = (None, None);
    let mut unknown = Vec::new();
    let mut i = 0;
    let value = |i: &mut usize, name: &str| -> Result<String, CliError> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| CliError::Usage(format!("argument {name}: expected one argument")))
    };
    // BasicCommand's `int()` of an integer option: Python's ValueError, a general error.
    let int = |v: &str, _name: &str| -> Result<i64, CliError> {
        crate::opts::py_int(v).ok_or_else(|| {
            CliError::General(format!(
                "invalid literal for int() with base 10: {}",
                crate::opts::py_repr(v)
            ))
        })
    };
    let flags = [
        "--recursive",
        "--human-readable",
        "--summarize",
        "--dryrun",
        "--quiet",
        "--only-show-errors",
        "--no-progress",
        "--delete",
        "--force",
        "--size-only",
        "--exact-timestamps",
        "--follow-symlinks",
        "--no-follow-symlinks",
        "--no-guess-mime-type",
        "--force-glacier-transfer",
        "--ignore-glacier-warnings",
    ];
    let allowed = |opt: &str| -> bool {
        let transfer = matches!(cmd, "cp" | "mv" | "sync");
        match opt {
            "--recursive" => matches!(cmd, "ls" | "cp" | "mv" | "rm"),
            "--human-readable" | "--summarize" => cmd == "ls",
            "--page-size" => matches!(cmd, "ls" | "cp" | "mv" | "rm" | "sync"),
            "--dryrun" | "--quiet" | "--exclude" | "--include" | "--only-show-errors" => {
                transfer || cmd == "rm"
            }
            "--no-progress" | "--no-guess-mime-type" => transfer,
            "--request-payer" => matches!(cmd, "ls" | "cp" | "mv" | "rm" | "sync"),
            "--copy-props" => transfer,
            "--delete" | "--size-only" | "--exact-timestamps" => cmd == "sync",
            "--force" => cmd == "rb",
            "--expires-in" => cmd == "presign",
            "--index-document" | "--error-document" => cmd == "website",
            "--content-type"
            | "--acl"
            | "--storage-class"
            | "--follow-symlinks"
            | "--no-follow-symlinks"
            | "--sse"
            | "--sse-c"
            | "--sse-c-key"
            | "--sse-kms-key-id"
            | "--sse-c-copy-source"
            | "--sse-c-copy-source-key"
            | "--metadata"
            | "--metadata-directive"
            | "--cache-control"
            | "--content-disposition"
            | "--content-encoding"
            | "--content-language"
            | "--expires"
            | "--website-redirect"
            | "--grants" => transfer,
            "--expected-size" => matches!(cmd, "cp" | "mv"),
            "--source-region" | "--force-glacier-transfer" | "--ignore-glacier-warnings" => {
                transfer
            }
            _ => false,
        }
    };
    while i < args.len() {
        let a = args[i].as_str();
        if !a.starts_with("--") || a == "-" {
            o.paths.push(a.to_string());
            i += 1;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a, None),
        };
        if !allowed(name) {
            unknown.push(a.to_string());
            i += 1;
            continue;
        }
        if let Some(v) = inline.as_deref().filter(|_| flags.contains(&name)) {
            return Err(CliError::Usage(format!(
                "argument {name}: ignored explicit argument {}",
                crate::opts::py_repr(v)
            )));
        }
        let take = |i: &mut usize| -> Result<String, CliError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => value(i, name),
            }
        };
        match name {
            "--recursive" => o.recursive = true,
            "--human-readable" => o.human = true,
            "--summarize" => o.summarize = true,
            "--page-size" => o.page_size = Some(int(&take(&mut i)?, name)?),
            "--dryrun" => o.dryrun = true,
            "--quiet" => o.quiet = true,
            "--only-show-errors" => o.only_errors = true,
            "--no-progress" => o.no_progress = true,
            "--exclude" => o.filters.push((false, take(&mut i)?)),
            "--include" => o.filters.push((true, take(&mut i)?)),
            "--delete" => o.delete = true,
            "--force" => o.force = true,
            "--expires-in" => o.expires_in = Some(int(&take(&mut i)?, name)?.max(0) as u64),
            "--size-only" => o.size_only = true,
            "--exact-timestamps" => o.exact_timestamps = true,
            // `--sse` and `--sse-c` take an optional value (`AES256` when alone).
            "--sse" | "--sse-c" | "--sse-c-copy-source" | "--request-payer" => {
                let v = match &inline {
                    Some(v) => v.clone(),
                    None => match args.get(i + 1) {
                        // argparse's `nargs='?'`: the next argument when it is no option.
                        Some(v) if !v.starts_with('-') || v == "-" => {
                            i += 1;
                            v.clone()
                        }
                        _ if name == "--request-payer" => "requester".to_string(),
                        _ => "AES256".to_string(),
                    },
                };
                let choices: &[&str] = match name {
                    "--sse" => &["AES256", "aws:kms"],
                    "--request-payer" => &["requester"],
                    _ => &["AES256"],
                };
                if !choices.contains(&v.as_str()) {
                    return Err(CliError::Usage(format!(
                        "argument {name}: Invalid choice, valid choices are:\n\n{}",
                        crate::params::choices_table(choices)
                    )));
                }
                match name {
                    "--sse" => o.object_params.push(("ServerSideEncryption", json!(v))),
                    "--sse-c" => sse_c_alg = Some(v),
                    "--request-payer" => o.request_payer = Some(v),
                    _ => sse_c_copy_alg = Some(v),
                }
            }
            "--sse-c-key" => sse_c_key = Some(take(&mut i)?),
            "--sse-c-copy-source-key" => sse_c_copy_key = Some(take(&mut i)?),
            "--sse-kms-key-id" => o.object_params.push(("SSEKMSKeyId", json!(take(&mut i)?))),
            "--metadata" => {
                let v = take(&mut i)?;
                let parsed = match serde_json::from_str::<Value>(&v) {
                    Ok(m @ Value::Object(_)) => m,
                    _ => crate::params::shorthand(&v).map_err(|e| {
                        CliError::BadParam(format!("Error parsing parameter '--metadata': {e}"))
                    })?,
                };
                if !parsed.is_object() {
                    return Err(CliError::BadParam(format!(
                        "Error parsing parameter '--metadata': Expected a map, got: {v}"
                    )));
                }
                o.object_params.push(("Metadata", parsed));
            }
            "--metadata-directive" => o.metadata_directive = Some(take(&mut i)?),
            "--cache-control" => o.object_params.push(("CacheControl", json!(take(&mut i)?))),
            "--content-disposition" => o
                .object_params
                .push(("ContentDisposition", json!(take(&mut i)?))),
            "--content-encoding" => o
                .object_params
                .push(("ContentEncoding", json!(take(&mut i)?))),
            "--content-language" => o
                .object_params
                .push(("ContentLanguage", json!(take(&mut i)?))),
            "--expires" => o.object_params.push(("Expires", json!(take(&mut i)?))),
            "--website-redirect" => o
                .object_params
                .push(("WebsiteRedirectLocation", json!(take(&mut i)?))),
            "--grants" => {
                // nargs '+': every value up to the next option.
                let mut grants: Vec<String> = inline.iter().cloned().collect();
                while let Some(v) = args.get(i + 1).filter(|v| !v.starts_with("--")) {
                    grants.push(v.clone());
                    i += 1;
                }
                for g in grants {
                    let (perm, grantee) = g.split_once('=').ok_or_else(|| {
                        CliError::ParamValidation(vec![
                            "grants should be of the form permission=principal".into(),
                        ])
                    })?;
                    let member = match perm {
                        "read" => "GrantRead",
                        "full" => "GrantFullControl",
                        "readacl" => "GrantReadACP",
                        "writeacl" => "GrantWriteACP",
                        _ => {
                            return Err(CliError::ParamValidation(vec![
                                "permission must be one of: read|readacl|writeacl|full".into(),
                            ]));
                        }
                    };
                    o.object_params.push((member, json!(grantee)));
                }
            }
            "--index-document" => o.index_document = Some(take(&mut i)?),
            "--error-document" => o.error_document = Some(take(&mut i)?),
            "--content-type" => o.content_type = Some(take(&mut i)?),
            "--acl" => o.acl = Some(take(&mut i)?),
            "--storage-class" => o.storage_class = Some(take(&mut i)?),
            "--follow-symlinks" => o.no_follow_symlinks = false,
            "--no-follow-symlinks" => o.no_follow_symlinks = true,
            "--no-guess-mime-type" => o.no_guess_mime_type = true,
            "--copy-props" => {
                let v = take(&mut i)?;
                let choices = ["none", "metadata-directive", "default"];
                if !choices.contains(&v.as_str()) {
                    return Err(CliError::Usage(format!(
                        "argument {name}: Invalid choice, valid choices are:\n\n{}",
                        crate::params::choices_table(&choices)
                    )));
                }
                o.copy_props = Some(v);
            }
            "--expected-size" => o.expected_size = Some(int(&take(&mut i)?, name)?.max(0) as u64),
            "--source-region" => o.source_region = Some(take(&mut i)?),
            "--force-glacier-transfer" => o.force_glacier = true,
            "--ignore-glacier-warnings" => o.ignore_glacier = true,
            _ => unreachable!("allowed() names every option"),
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(unknown_options(&unknown));
    }
    // The AWS CLI's checks of the SSE-C options (`_validate_sse_c_args`).
    let pair = |alg: Option<String>, key: Option<String>, name: &str| match (alg, key) {
        (Some(a), Some(k)) => Ok(Some((a, k))),
        (Some(_), None) => Err(CliError::BadParam(format!(
            "If --{name} is specified, --{name}-key must be specified as well."
        ))),
        (None, Some(_)) => Err(CliError::BadParam(format!(
            "If --{name}-key is specified, --{name} must be specified as well."
        ))),
        (None, None) => Ok(None),
    };
    o.sse_c = pair(sse_c_alg, sse_c_key, "sse-c")?;
    o.sse_c_copy_source = pair(sse_c_copy_alg, sse_c_copy_key, "sse-c-copy-source")?;
    Ok(o)
}

/// `BasicCommand`'s leftover arguments: a parameter error, joined by `,`, without argparse's
/// usage frame (as `opts` reports them for the other hand-written commands).
fn unknown_options(words: &[String]) -> CliError {
    CliError::BadParam(format!("Unknown options: {}", words.join(",")))
}

/// Entry point of `kagi s3 ...`.
pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let Some(cmd) = sub.first() else {
        return Err(CliError::Usage(
            "the following arguments are required: operation".into(),
        ));
    };
    if cmd == "help" || sub.get(1).is_some_and(|a| a == "help") {
        writeln!(
            io.stdout,
            "s3\n\nThis section explains prominent concepts and notations in the set of high-level S3 commands provided.\n\nAvailable Commands\n\n{}",
            COMMANDS
                .iter()
                .map(|c| format!("* {c}"))
                .collect::<Vec<_>>()
                .join("\n\n")
        )?;
        return Ok(());
    }
    if !COMMANDS.contains(&cmd.as_str()) {
        return Err(CliError::Usage(format!(
            "argument operation: Found invalid choice '{cmd}'\n"
        )));
    }
    let o = parse_opts(cmd, &sub[1..])?;
    let nargs = match cmd.as_str() {
        "cp" | "mv" | "sync" => 2,
        "ls" => 0,
        _ => 1,
    };
    if cmd == "ls" && o.paths.len() > 1 {
        return Err(unknown_options(&o.paths[1..]));
    }
    if nargs > 0 && o.paths.len() < nargs {
        return Err(CliError::Usage(format!(
            "the following arguments are required: {}",
            if nargs == 2 { "paths" } else { "path" }
        )));
    }
    if nargs > 0 && o.paths.len() > nargs {
        return Err(unknown_options(&o.paths[nargs..]));
    }
    for p in &o.paths {
        check_resource(p)?;
    }
    let s = Session::new(env, g)?;
    let result = (|| {
        let mut ctx = Ctx::new(&s, env, g, io)?;
        ctx.sse_c = o.sse_c.clone();
        ctx.sse_c_copy_source = o.sse_c_copy_source.clone();
        ctx.metadata_directive = o.metadata_directive.clone();
        ctx.no_guess_mime_type = o.no_guess_mime_type;
        ctx.request_payer = o.request_payer.clone();
        ctx.copy_props = o.copy_props.clone();
        if let Some(r) = &o.source_region
            && o.paths.len() == 2
            && o.paths.iter().all(|p| p.starts_with("s3://"))
        {
            ctx.source = Some(Box::new(ctx.for_region(&s, r, io)?));
        }
        let code = match cmd.as_str() {
            "ls" => ls(&ctx, &s, &o, io)?,
            "mb" => mb(&ctx, &s, &o, io)?,
            "rb" => rb(&ctx, &s, &o, io)?,
            "presign" => presign(&ctx, &s, &o, io)?,
            "website" => website(&ctx, &s, &o)?,
            other => transfer_command(&ctx, other, &o, io)?,
        };
        if code != 0 {
            return Err(CliError::Silent(code));
        }
        Ok(())
    })();
    crate::calls::flush_debug(&s, io);
    result
}

/// What every request of one command shares: the endpoint and the credentials (resolved
/// once), and what a worker thread needs to make its own [`Session`].
struct Ctx<'a> {
    env: &'a Env,
    g: &'a Globals,
    ep: Endpoint,
    creds: Option<kagi_sigv4::Credentials>,
    region: Option<String>,
    service: &'static kagi_api::Service,
    tc: TransferConfig,
    /// `--sse-c`/`--sse-c-key` and the copy source's, added to the requests that take them.
    sse_c: Option<(String, String)>,
    sse_c_copy_source: Option<(String, String)>,
    metadata_directive: Option<String>,
    no_guess_mime_type: bool,
    request_payer: Option<String>,
    copy_props: Option<String>,
    /// `--source-region` of an S3-to-S3 command: the source bucket's side (its listing, the
    /// HeadObject/GetObjectTagging of a copy's source, a move's DeleteObject).
    source: Option<Box<Ctx<'a>>>,
}

impl<'a> Ctx<'a> {
    /// The side that reads the source objects.
    fn src(&self) -> &Ctx<'a> {
        self.source.as_deref().unwrap_or(self)
    }

    /// The same command's requests to `region` (the AWS CLI's source client: the region's
    /// endpoint, not `--endpoint-url`; a configured endpoint such as `AWS_ENDPOINT_URL` still
    /// applies).
    fn for_region(&self, s: &Session, region: &str, io: &mut Io) -> Result<Ctx<'a>, CliError> {
        let mut c = Ctx::new(s, self.env, self.g, io)?;
        c.ep = s.endpoint(self.service, Some(region), false)?;
        c.region = Some(region.to_string());
        c.sse_c = self.sse_c.clone();
        c.sse_c_copy_source = self.sse_c_copy_source.clone();
        c.metadata_directive = self.metadata_directive.clone();
        c.no_guess_mime_type = self.no_guess_mime_type;
        c.request_payer = self.request_payer.clone();
        c.copy_props = self.copy_props.clone();
        Ok(c)
    }

    fn new(s: &Session, env: &'a Env, g: &'a Globals, io: &mut Io) -> Result<Ctx<'a>, CliError> {
        let service = kagi_api::service("s3api")
            .ok_or_else(|| CliError::General("the S3 model is missing".into()))?;
        let (ep, creds) = crate::calls::prepare(s, service, io)?;
        Ok(Ctx {
            env,
            g,
            ep,
            creds: creds.as_ref().map(crate::creds::Creds::to_sigv4),
            region: s.region()?,
            service,
            tc: TransferConfig::from_profile(s)?,
            sse_c: None,
            sse_c_copy_source: None,
            metadata_directive: None,
            no_guess_mime_type: false,
            request_payer: None,
            copy_props: None,
            source: None,
        })
    }

    fn call(&self, s: &Session, op: &str, input: Value) -> Result<Value, CliError> {
        self.call_with(s, op, input, None, Sink::Memory)
    }

    /// The operation and its input with what the `s3` commands add to every request (SSE-C,
    /// request payer).
    fn prepare(
        &self,
        op: &str,
        input: Value,
    ) -> Result<(&'static kagi_api::Operation, Value), CliError> {
        let op = self
            .service
            .operation(op)
            .ok_or_else(|| CliError::General(format!("{op} is missing from the S3 model")))?;
        let mut input = input;
        // RequestParamsMapper's SSE-C members, on the operations that take them.
        let sse_c = match op.name {
            "PutObject"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "GetObject"
            | "HeadObject"
            | "CopyObject"
            | "UploadPartCopy" => self.sse_c.as_ref(),
            _ => None,
        };
        if let (Some((alg, key)), Value::Object(m)) = (sse_c, &mut input) {
            m.insert("SSECustomerAlgorithm".into(), json!(alg));
            m.insert("SSECustomerKey".into(), json!(key));
        }
        if let (Some((alg, key)), Value::Object(m), "CopyObject" | "UploadPartCopy") =
            (&self.sse_c_copy_source, &mut input, op.name)
        {
            m.insert("CopySourceSSECustomerAlgorithm".into(), json!(alg));
            m.insert("CopySourceSSECustomerKey".into(), json!(key));
        }
        // `_set_request_payer_param`: on every object and listing request.
        if let (Some(payer), Value::Object(m)) = (&self.request_payer, &mut input)
            && op
                .input_shape()
                .is_some_and(|i| i.member("RequestPayer").is_some())
        {
            m.insert("RequestPayer".into(), json!(payer));
        }
        Ok((op, input))
    }

    fn call_with(
        &self,
        s: &Session,
        op: &str,
        input: Value,
        file: Option<FileSlice>,
        sink: Sink,
    ) -> Result<Value, CliError> {
        let (op, input) = self.prepare(op, input)?;
        s.call_with(op, &self.ep, self.creds.as_ref(), &input, file, sink)
    }

    /// One ListObjectsV2 page, decoded by `kagi_api::s3::decode_object_page` (no Values).
    fn list_page(&self, s: &Session, input: Value) -> Result<ObjectPage, CliError> {
        let (op, input) = self.prepare("ListObjectsV2", input)?;
        let (_, _, body) = s.exchange(
            op,
            &self.ep,
            self.creds.as_ref(),
            &input,
            None,
            Sink::Memory,
        )?;
        kagi_api::s3::decode_object_page(&String::from_utf8_lossy(&body))
            .map_err(|e| crate::http::unparsable(op, e))
    }
}

/// `s3://bucket/key` → (`bucket`, `key`); the AWS CLI's `find_bucket_key` (after `s3://`):
/// an access point ARN (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`) or an Outposts access
/// point ARN is the bucket, whatever `/` it holds.
fn split_s3(path: &str) -> (String, String) {
    let p = path.strip_prefix("s3://").unwrap_or(path);
    if let Some(end) = arn_bucket_end(p) {
        let rest = &p[end..];
        let key = rest
            .strip_prefix('/')
            .or_else(|| {
                rest.strip_prefix(':')
                    .filter(|_| p.contains(":s3-outposts:"))
            })
            .unwrap_or(rest);
        return (p[..end].to_string(), key.to_string());
    }
    match p.split_once('/') {
        Some((b, k)) => (b.to_string(), k.to_string()),
        None => (p.to_string(), String::new()),
    }
}

/// Where the bucket of `p` ends when it starts with an access point ARN the AWS CLI's
/// `_S3_ACCESSPOINT_TO_BUCKET_KEY_REGEX` (`^arn:(aws).*:s3:[a-z\-0-9]*:[0-9]{12}:accesspoint
/// [:/][^/]+`) or `_S3_OUTPOST_TO_BUCKET_KEY_REGEX` (`...:s3-outposts:REGION:ACCOUNT:outpost
/// [/:]ID[/:]accesspoint[/:]NAME`) matches.
fn arn_bucket_end(p: &str) -> Option<usize> {
    if !p.starts_with("arn:aws") {
        return None;
    }
    let digits12 = |s: &str| s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit());
    let region_ok = |s: &str, min: usize| {
        s.len() >= min
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    };
    let label = |s: &str| {
        (1..=63).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    // `.*` is greedy: the last `:s3:` (or `:s3-outposts:`) that matches wins.
    let starts: Vec<usize> = p.match_indices(':').map(|(i, _)| i).collect();
    for &i in starts.iter().rev() {
        if i < 7 {
            break;
        }
        let rest = &p[i + 1..];
        if let Some(r) = rest.strip_prefix("s3:") {
            let mut f = r.splitn(3, ':');
            let (Some(region), Some(account), Some(res)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if !region_ok(region, 0) || !digits12(account) {
                continue;
            }
            let Some(name) = res
                .strip_prefix("accesspoint/")
                .or_else(|| res.strip_prefix("accesspoint:"))
            else {
                continue;
            };
            let n = name.find('/').unwrap_or(name.len());
            if n == 0 {
                continue;
            }
            return Some(p.len() - name.len() + n);
        }
        if let Some(r) = rest.strip_prefix("s3-outposts:") {
            let mut f = r.splitn(3, ':');
            let (Some(region), Some(account), Some(res)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if !region_ok(region, 1) || !digits12(account) {
                continue;
            }
            let Some(res) = res
                .strip_prefix("outpost/")
                .or_else(|| res.strip_prefix("outpost:"))
            else {
                continue;
            };
            let parts: Vec<&str> = res.splitn(4, ['/', ':']).collect();
            if parts.len() >= 3 && label(parts[0]) && parts[1] == "accesspoint" {
                let name_len = parts[2]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'-')
                    .count()
                    .min(63);
                if name_len == 0 {
                    continue;
                }
                let start = p.len() - res.len() + parts[0].len() + 1 + "accesspoint".len() + 1;
                return Some(start + name_len);
            }
        }
    }
    None
}

/// The AWS CLI's `block_unsupported_resources`: the `s3` commands refuse Object Lambda
/// access points and Outposts bucket ARNs.
fn check_resource(path: &str) -> Result<(), CliError> {
    let Some(p) = path.strip_prefix("s3://") else {
        return Ok(());
    };
    if !p.starts_with("arn:aws") {
        return Ok(());
    }
    let lambda = p.contains(":s3-object-lambda:") && {
        let t = &p[p.rfind(":s3-object-lambda:").unwrap_or(0) + ":s3-object-lambda:".len()..];
        let f: Vec<&str> = t.splitn(3, ':').collect();
        f.len() == 3
            && !f[0].is_empty()
            && f[1].len() == 12
            && f[1].bytes().all(|c| c.is_ascii_digit())
            && (f[2].starts_with("accesspoint/") || f[2].starts_with("accesspoint:"))
            && f[2].len() > "accesspoint/".len()
    };
    if lambda {
        return Err(CliError::General(
            "s3 commands do not support S3 Object Lambda resources. Use s3api commands instead."
                .into(),
        ));
    }
    if let Some(i) = p.rfind(":s3-outposts:") {
        let f: Vec<&str> = p[i + 13..].splitn(3, ':').collect();
        if f.len() == 3 {
            let parts: Vec<&str> = f[2].splitn(5, ['/', ':']).collect();
            if parts.len() >= 4
                && parts[0] == "outpost"
                && parts[2] == "bucket"
                && !parts[3].is_empty()
            {
                return Err(CliError::General(
                    "s3 commands do not support Outpost Bucket ARNs. Use s3control commands instead."
                        .into(),
                ));
            }
        }
    }
    Ok(())
}

/// `human_readable_size`: `1 Byte`, `10 Bytes`, `1.0 KiB`, ... (base 2).
pub fn human_size(n: u64) -> String {
    const SUFFIXES: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let v = n as f64;
    if n == 1 {
        return "1 Byte".into();
    }
    if v < 1024.0 {
        return format!("{n} Bytes");
    }
    for (i, suffix) in SUFFIXES.iter().enumerate() {
        let unit = 1024f64.powi(i as i32 + 2);
        if ((v / unit) * 1024.0).round() < 1024.0 {
            return format!("{} {suffix}", py_round1(1024.0 * v / unit));
        }
    }
    format!("{} EiB", py_round1(v / 1024f64.powi(6)))
}

/// Python's `'%.1f' % x` (round half to even on the binary value, as C's printf does).
fn py_round1(x: f64) -> String {
    format!("{x:.1}")
}

/// `YYYY-MM-DD HH:MM:SS` in local time (`_make_last_mod_str`; `tz` is `TZ`).
fn local_time_str(v: &Value, tz: Option<&str>) -> String {
    let t = v
        .as_str()
        .and_then(kagi_api::time::parse_any)
        .map_or(0, |t| t.secs);
    local_time_at(t, tz)
}

/// [`local_time_str`] of Unix time `t`.
fn local_time_at(t: i64, tz: Option<&str>) -> String {
    // One `format!` from the civil date (`s3 ls` prints a time per object).
    let local = t + crate::tz::offset_at(tz, t);
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn epoch_of(v: &Value) -> f64 {
    v.as_str()
        .and_then(kagi_api::time::parse_any)
        .map_or(0.0, epoch_secs)
}

fn epoch_secs(t: Timestamp) -> f64 {
    t.secs as f64 + t.micros as f64 / 1e6
}

// ---------------------------------------------------------------------------------------
// ls

fn ls(ctx: &Ctx, s: &Session, o: &Opts, io: &mut Io) -> Result<i32, CliError> {
    let path = o.paths.first().map(String::as_str).unwrap_or("s3://");
    let (bucket, key) = split_s3(path);
    let mut total_objects = 0u64;
    let mut total_size = 0u64;
    let mut empty_first = false;
    if bucket.is_empty() {
        let mut token: Option<String> = None;
        loop {
            let mut input = Map::new();
            if let Some(n) = o.page_size {
                input.insert("MaxBuckets".into(), json!(n));
            }
            if let Some(t) = &token {
                input.insert("ContinuationToken".into(), json!(t));
            }
            let page = ctx.call(s, "ListBuckets", Value::Object(input))?;
            for b in page["Buckets"].as_array().into_iter().flatten() {
                writeln!(
                    io.stdout,
                    "{} {}",
                    local_time_str(&b["CreationDate"], ctx.env.var("TZ")),
                    b["Name"].as_str().unwrap_or_default()
                )?;
            }
            match page["ContinuationToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    } else {
        let delimiter = (!o.recursive).then_some("/");
        let mut first = true;
        let tz = ctx.env.var("TZ");
        list_pages(ctx, s, &bucket, &key, delimiter, o.page_size, &mut |page| {
            if page.common_prefixes.is_empty() && page.contents.is_empty() {
                if first {
                    empty_first = true;
                }
                return Ok(());
            }
            for p in &page.common_prefixes {
                let parts: Vec<&str> = p.split('/').collect();
                let name = parts
                    .get(parts.len().wrapping_sub(2))
                    .copied()
                    .unwrap_or("");
                writeln!(io.stdout, "{:>30} {name}/", "PRE")?;
            }
            for c in &page.contents {
                let size = listed_size(c);
                total_size += size;
                total_objects += 1;
                let size_str = if o.human {
                    human_size(size)
                } else {
                    size.to_string()
                };
                let k = c.key.as_str();
                let name = if o.recursive {
                    k
                } else {
                    k.rsplit('/').next().unwrap_or(k)
                };
                writeln!(
                    io.stdout,
                    "{:<19} {size_str:>10} {name}",
                    local_time_at(c.last_modified.map_or(0, |t| t.secs), tz)
                )?;
            }
            first = false;
            Ok(())
        })?;
    }
    if o.summarize {
        write!(io.stdout, "\nTotal Objects: {total_objects}\n")?;
        let size = if o.human {
            human_size(total_size)
        } else {
            total_size.to_string()
        };
        writeln!(io.stdout, "   Total Size: {size}")?;
    }
    Ok(if !key.is_empty() && empty_first { 1 } else { 0 })
}

/// ListObjectsV2 page by page (the paginator: `ContinuationToken`, `MaxKeys` = page size).
fn list_pages(
    ctx: &Ctx,
    s: &Session,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    page_size: Option<i64>,
    each: &mut dyn FnMut(&ObjectPage) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut token: Option<String> = None;
    loop {
        let mut input = Map::new();
        input.insert("Bucket".into(), json!(bucket));
        input.insert("Prefix".into(), json!(prefix));
        if let Some(d) = delimiter {
            input.insert("Delimiter".into(), json!(d));
        }
        if let Some(n) = page_size {
            input.insert("MaxKeys".into(), json!(n));
        }
        if let Some(t) = &token {
            input.insert("ContinuationToken".into(), json!(t));
        }
        let page = ctx.list_page(s, Value::Object(input))?;
        each(&page)?;
        match page.next_continuation_token {
            Some(t) if page.is_truncated && !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// mb, rb, presign

fn mb(ctx: &Ctx, s: &Session, o: &Opts, io: &mut Io) -> Result<i32, CliError> {
    let path = &o.paths[0];
    if !path.starts_with("s3://") {
        return Err(CliError::General(
            "<S3Uri>\nError: Invalid argument type".into(),
        ));
    }
    let (bucket, _) = split_s3(path);
    let mut input = json!({"Bucket": bucket});
    if let Some(r) = ctx.region.as_deref().filter(|r| *r != "us-east-1") {
        input["CreateBucketConfiguration"] = json!({"LocationConstraint": r});
    }
    match ctx.call(s, "CreateBucket", input) {
        Ok(_) => {
            writeln!(io.stdout, "make_bucket: {bucket}")?;
            Ok(0)
        }
        Err(e @ CliError::Service { .. }) | Err(e @ CliError::General(_)) => {
            writeln!(io.stderr, "make_bucket failed: {path} {}", e.message())?;
            Ok(1)
        }
        Err(e) => Err(e),
    }
}

fn rb(ctx: &Ctx, s: &Session, o: &Opts, io: &mut Io) -> Result<i32, CliError> {
    let path = &o.paths[0];
    if !path.starts_with("s3://") {
        return Err(CliError::General(
            "<S3Uri>\nError: Invalid argument type".into(),
        ));
    }
    let (bucket, key) = split_s3(path);
    if !key.is_empty() {
        return Err(CliError::General(format!(
            "Please specify a valid bucket name only. E.g. s3://{bucket}"
        )));
    }
    if o.force {
        let rm = Opts {
            paths: vec![path.clone()],
            recursive: true,
            ..Opts::default()
        };
        let rc = transfer_command(ctx, "rm", &rm, io)?;
        if rc != 0 {
            return Err(CliError::General(
                "remove_bucket failed: Unable to delete all objects in the bucket, bucket will not be deleted.".into(),
            ));
        }
    }
    match ctx.call(s, "DeleteBucket", json!({"Bucket": bucket})) {
        Ok(_) => {
            writeln!(io.stdout, "remove_bucket: {bucket}")?;
            Ok(0)
        }
        Err(e @ CliError::Service { .. }) | Err(e @ CliError::General(_)) => {
            writeln!(io.stderr, "remove_bucket failed: {path} {}", e.message())?;
            Ok(1)
        }
        Err(e) => Err(e),
    }
}

/// `aws s3 website s3://BUCKET [--index-document S] [--error-document K]`: PutBucketWebsite
/// with the documents given (`s3://` and a trailing `/` stripped from the bucket).
fn website(ctx: &Ctx, s: &Session, o: &Opts) -> Result<i32, CliError> {
    let path = &o.paths[0];
    let bucket = path.strip_prefix("s3://").unwrap_or(path);
    let bucket = bucket.strip_suffix('/').unwrap_or(bucket);
    let mut config = Map::new();
    if let Some(d) = &o.index_document {
        config.insert("IndexDocument".into(), json!({ "Suffix": d }));
    }
    if let Some(d) = &o.error_document {
        config.insert("ErrorDocument".into(), json!({ "Key": d }));
    }
    ctx.call(
        s,
        "PutBucketWebsite",
        json!({"Bucket": bucket, "WebsiteConfiguration": config}),
    )?;
    Ok(0)
}

/// `aws s3 presign`: a SigV4 query-signed GET (`UNSIGNED-PAYLOAD`, only `host` signed),
/// default 3600 s, as botocore's `generate_presigned_url('get_object')`; SigV4a with
/// `X-Amz-Region-Set` for a Multi-Region Access Point.
fn presign(ctx: &Ctx, s: &Session, o: &Opts, io: &mut Io) -> Result<i32, CliError> {
    let (bucket, key) = split_s3(&o.paths[0]);
    let url = presigned_get_url(ctx, s, &bucket, &key, o.expires_in.unwrap_or(3600))?;
    writeln!(io.stdout, "{url}")?;
    Ok(0)
}

fn presigned_get_url(
    ctx: &Ctx,
    s: &Session,
    bucket: &str,
    key: &str,
    expires: u64,
) -> Result<String, CliError> {
    let Some(creds) = &ctx.creds else {
        return Err(CliError::NoCredentials);
    };
    let op = ctx
        .service
        .operation("GetObject")
        .ok_or_else(|| CliError::General("GetObject is missing".into()))?;
    let input = json!({"Bucket": bucket, "Key": key});
    let r = kagi_api::rest::encode_request(op, &input);
    // Access point ARNs: S3's endpoint rule set (host, signing region and name).
    let target = if crate::s3addr::applies(op.name, Some(bucket)) {
        Some(crate::s3addr::target(&s.s3_settings(&ctx.ep)?, op, &input)?)
    } else {
        None
    };
    // S3 Express One Zone (botocore's `S3ExpressQueryAuth`): signed with the bucket's
    // `CreateSession` credentials (made or taken from the process's cache), their token in
    // `X-Amz-S3session-Token`.
    let mut settings = kagi_sigv4::SigningSettings::default();
    let session;
    let creds = match &target {
        Some(t) if t.express => {
            session =
                crate::s3addr::express_credentials(creds, &ctx.ep.url, bucket, &|op, input| {
                    s.call(op, &ctx.ep, Some(creds), input)
                })?;
            settings.token_param = kagi_sigv4::TokenParam::S3Session;
            &session
        }
        _ => creds,
    };
    let url = match &target {
        Some(t) => crate::s3addr::url(&t.url, &r.path, Some(bucket)),
        None => kagi_api::s3::address(
            &ctx.ep.url,
            &r.path,
            Some(bucket),
            ctx.ep.source != "default endpoint",
            kagi_api::s3::AddressingStyle::Auto,
        ),
    };
    let (scheme_host, path, query) = crate::http::split_url(&url).map_err(CliError::General)?;
    let authority = scheme_host
        .split_once("://")
        .map_or(scheme_host.as_str(), |x| x.1);
    let host = if scheme_host.starts_with("https://") {
        authority.strip_suffix(":443").unwrap_or(authority)
    } else {
        authority.strip_suffix(":80").unwrap_or(authority)
    };
    let service = target.as_ref().map_or("s3", |t| t.signing_name.as_str());
    let headers = [("host".to_string(), host.to_string())];
    let q = match target.as_ref().and_then(|t| t.region_set.as_deref()) {
        // Multi-Region Access Points: SigV4a, as the AWS CLI v2 (CRT) presigns them.
        Some(region_set) => kagi_sigv4::presign_v4a(
            "GET",
            &path,
            &query,
            &headers,
            b"",
            creds,
            &crate::http::sigv4a_key(creds),
            &kagi_sigv4::SigningParamsV4a {
                region_set,
                service,
                time: SystemTime::now(),
            },
            Duration::from_secs(expires),
            &settings,
        )
        .map(|(q, _)| q),
        None => kagi_sigv4::presign_with(
            "GET",
            &path,
            &query,
            &headers,
            b"",
            creds,
            &kagi_sigv4::SigningParams {
                region: target.as_ref().map_or(ctx.ep.signing_region.as_str(), |t| {
                    t.signing_region.as_str()
                }),
                service,
                time: SystemTime::now(),
            },
            Duration::from_secs(expires),
            &settings,
        )
        .map(|(q, _)| q),
    }
    .map_err(|e| CliError::General(e.to_string()))?;
    Ok(format!("{scheme_host}{path}?{q}"))
}

// ---------------------------------------------------------------------------------------
// cp, mv, rm, sync: planning

/// One file or object of a listing.
#[derive(Clone, Debug)]
struct Entry {
    /// Local: the absolute path; S3: `bucket/key`.
    src: String,
    compare_key: String,
    size: u64,
    /// Seconds since the epoch.
    mtime: f64,
    /// An S3 object in GLACIER or DEEP_ARCHIVE, not restored (`FileInfo._is_glacier_object`).
    glacier: bool,
}

/// `_is_glacier_object` of a listing entry or a HeadObject response.
/// A listed object's size as the AWS CLI reads it (a negative one, never sent by S3, as 0).
fn listed_size(o: &kagi_api::s3::ListedObject) -> u64 {
    u64::try_from(o.size).unwrap_or(0)
}

fn is_glacier(v: &Value) -> bool {
    glacier(v["StorageClass"].as_str(), v["Restore"].as_str())
}

/// Whether an object of storage class `class` (and `Restore` status) cannot be read now.
fn glacier(class: Option<&str>, restore: Option<&str>) -> bool {
    matches!(class, Some("GLACIER" | "DEEP_ARCHIVE"))
        && !restore.is_some_and(|r| r.contains("ongoing-request=\"false\""))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Upload,
    Download,
    Copy,
    DeleteS3,
    DeleteLocal,
}

/// One transfer.
#[derive(Clone, Debug)]
struct Task {
    kind: Kind,
    /// Local absolute path or `bucket/key`.
    src: String,
    dest: Option<String>,
    size: Option<u64>,
    is_move: bool,
}

impl Task {
    fn transfer_type(&self) -> &'static str {
        match self.kind {
            Kind::DeleteS3 | Kind::DeleteLocal => "delete",
            _ if self.is_move => "move",
            Kind::Upload => "upload",
            Kind::Download => "download",
            Kind::Copy => "copy",
        }
    }

    /// `SRC to DEST` / `SRC` as the result printer writes them.
    fn location(&self, cwd: &Path) -> String {
        let fmt_local = |p: &str| relative_path(Path::new(p), cwd);
        let fmt_s3 = |p: &str| format!("s3://{p}");
        match self.kind {
            Kind::Upload => format!(
                "{} to {}",
                fmt_local(&self.src),
                fmt_s3(self.dest.as_deref().unwrap_or(""))
            ),
            Kind::Download => format!(
                "{} to {}",
                fmt_s3(&self.src),
                fmt_local(self.dest.as_deref().unwrap_or(""))
            ),
            Kind::Copy => format!(
                "{} to {}",
                fmt_s3(&self.src),
                fmt_s3(self.dest.as_deref().unwrap_or(""))
            ),
            Kind::DeleteS3 => fmt_s3(&self.src),
            Kind::DeleteLocal => fmt_local(&self.src),
        }
    }
}

/// `os.path.abspath`: absolute and lexically normalised (`..` removed, no symlinks resolved).
fn abspath(p: &str, cwd: &Path) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        cwd.join(p)
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// botocore's `relative_path`: `os.path.join(os.path.relpath(dirname, cwd), basename)`.
fn relative_path(p: &Path, cwd: &Path) -> String {
    let dir = p.parent().unwrap_or(Path::new("/"));
    let base = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let a: Vec<_> = dir.components().collect();
    let b: Vec<_> = cwd.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(
        a[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let rel = if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    };
    if base.is_empty() {
        format!("{rel}/")
    } else {
        format!("{rel}/{base}")
    }
}

/// Python's `fnmatch.fnmatch` on POSIX (`*` crosses `/`, `?`, `[seq]`, `[!seq]`).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    fn go(n: &[char], p: &[char]) -> bool {
        let (mut ni, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() {
                match p[pi] {
                    '*' => {
                        star = Some((pi, ni));
                        pi += 1;
                        continue;
                    }
                    '?' => {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                    '[' => {
                        if let Some((matched, len)) = class(&p[pi..], n[ni]) {
                            if matched {
                                ni += 1;
                                pi += len;
                                continue;
                            }
                        } else if n[ni] == '[' {
                            ni += 1;
                            pi += 1;
                            continue;
                        }
                    }
                    c if c == n[ni] => {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }
    /// A `[...]` class at the start of `p`: (matches, length), or None when unterminated.
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        let mut i = 1;
        let negate = matches!(p.get(1), Some('!'));
        if negate {
            i += 1;
        }
        if p.get(i) == Some(&']') {
            i += 1;
        }
        while i < p.len() && p[i] != ']' {
            i += 1;
        }
        if i >= p.len() {
            return None;
        }
        let body = &p[1 + negate as usize..i];
        let mut found = false;
        let mut j = 0;
        while j < body.len() {
            if j + 2 < body.len() && body[j + 1] == '-' {
                if body[j] <= c && c <= body[j + 2] {
                    found = true;
                }
                j += 3;
            } else {
                if body[j] == c {
                    found = true;
                }
                j += 1;
            }
        }
        Some((found != negate, i + 1))
    }
    go(&n, &p)
}

/// `--exclude`/`--include` (awscli's `Filter`): every rule in order against the source path
/// (rules joined to the source root) and the destination root; the last match wins.
struct Filter {
    src_patterns: Vec<(bool, String)>,
    dst_patterns: Vec<(bool, String)>,
}

impl Filter {
    fn new(rules: &[(bool, String)], src_root: &str, dst_root: &str) -> Filter {
        let join = |root: &str, p: &str| {
            if p.starts_with('/') {
                p.to_string()
            } else if root.ends_with('/') || root.is_empty() {
                format!("{root}{p}")
            } else {
                format!("{root}/{p}")
            }
        };
        Filter {
            src_patterns: rules.iter().map(|(i, p)| (*i, join(src_root, p))).collect(),
            dst_patterns: rules.iter().map(|(i, p)| (*i, join(dst_root, p))).collect(),
        }
    }

    fn keep(&self, path: &str) -> bool {
        let mut keep = true;
        for ((inc, sp), (_, dp)) in self.src_patterns.iter().zip(&self.dst_patterns) {
            if fnmatch(path, sp) {
                keep = *inc;
            }
            if fnmatch(path, dp) {
                keep = *inc;
            }
        }
        keep
    }
}

/// A local directory, depth first, names sorted as S3 sorts keys (a directory as `name/`).
fn walk_local(
    dir: &Path,
    follow: bool,
    out: &mut Vec<(PathBuf, u64, f64)>,
    warnings: &mut Vec<String>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        warnings.push(format!(
            "warning: Skipping file {}. File/Directory is not readable.",
            dir.display()
        ));
        return;
    };
    let mut names: Vec<(String, PathBuf, bool)> = Vec::new();
    for e in rd.flatten() {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !follow && std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let is_dir = path.is_dir();
        names.push((if is_dir { format!("{name}/") } else { name }, path, is_dir));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, path, is_dir) in names {
        if is_dir {
            walk_local(&path, follow, out, warnings);
        } else {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => out.push((path, m.len(), mtime_of(&m))),
                Ok(_) => warnings.push(format!(
                    "warning: Skipping file {}. File is character special device, block special device, FIFO, or socket.",
                    path.display()
                )),
                Err(_) => warnings.push(format!(
                    "warning: Skipping file {}. File does not exist.",
                    path.display()
                )),
            }
        }
    }
}

fn mtime_of(m: &std::fs::Metadata) -> f64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The source side of a command: every entry with its compare key.
#[allow(clippy::too_many_arguments)]
fn list_source(
    ctx: &Ctx,
    s: &Session,
    src: &str,
    dir_op: bool,
    delete_op: bool,
    page_size: Option<i64>,
    follow: bool,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<Entry>, CliError> {
    let mut out = Vec::new();
    if let Some(rest) = src.strip_prefix("s3://") {
        let (bucket, prefix) = split_s3(rest);
        if !dir_op && !prefix.is_empty() {
            if delete_op {
                out.push(Entry {
                    src: rest.to_string(),
                    compare_key: prefix.rsplit('/').next().unwrap_or("").to_string(),
                    size: 0,
                    mtime: 0.0,
                    glacier: false,
                });
                return Ok(out);
            }
            let head = ctx.call(s, "HeadObject", json!({"Bucket": bucket, "Key": prefix}));
            let head = match head {
                Err(CliError::Service {
                    code,
                    operation,
                    retries,
                    ..
                }) if code == "404" => {
                    return Err(CliError::Service {
                        code,
                        message: format!("Key \"{prefix}\" does not exist"),
                        operation,
                        retries,
                    });
                }
                other => other?,
            };
            out.push(Entry {
                src: rest.to_string(),
                compare_key: prefix.rsplit('/').next().unwrap_or("").to_string(),
                size: head["ContentLength"].as_u64().unwrap_or(0),
                mtime: epoch_of(&head["LastModified"]),
                glacier: is_glacier(&head),
            });
            return Ok(out);
        }
        let root = if dir_op && !prefix.is_empty() && !prefix.ends_with('/') {
            format!("{prefix}/")
        } else {
            prefix.clone()
        };
        list_pages(ctx, s, &bucket, &root, None, page_size, &mut |page| {
            for c in &page.contents {
                let key = c.key.as_str();
                let size = listed_size(c);
                if size == 0 && key.ends_with('/') && !delete_op {
                    continue;
                }
                let full = format!("{bucket}/{key}");
                if !dir_op && full != rest {
                    continue;
                }
                out.push(Entry {
                    compare_key: if dir_op {
                        key[root.len()..].to_string()
                    } else {
                        key.rsplit('/').next().unwrap_or("").to_string()
                    },
                    src: full,
                    size,
                    mtime: c.last_modified.map_or(0.0, epoch_secs),
                    glacier: glacier(c.storage_class.as_deref(), None),
                });
            }
            Ok(())
        })?;
        return Ok(out);
    }
    let abs = abspath(src, cwd);
    if dir_op {
        let mut files = Vec::new();
        walk_local(&abs, follow, &mut files, warnings);
        let root = abs.to_string_lossy().into_owned();
        for (p, size, mtime) in files {
            let ps = p.to_string_lossy().into_owned();
            out.push(Entry {
                compare_key: ps[root.len()..].trim_start_matches('/').to_string(),
                src: ps,
                size,
                mtime,
                glacier: false,
            });
        }
    } else {
        match std::fs::metadata(&abs) {
            Ok(m) if m.is_file() => out.push(Entry {
                compare_key: abs
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                src: abs.to_string_lossy().into_owned(),
                size: m.len(),
                mtime: mtime_of(&m),
                glacier: false,
            }),
            Ok(_) => warnings.push(format!(
                "warning: Skipping file {}. File is character special device, block special device, FIFO, or socket.",
                abs.display()
            )),
            Err(_) => warnings.push(format!(
                "warning: Skipping file {}. File does not exist.",
                abs.display()
            )),
        }
    }
    Ok(out)
}

/// The destination path of `e` (`find_dest_path_comp_key`).
fn dest_of(e: &Entry, dest_root: &str, use_src_name: bool, dest_local: bool) -> String {
    if !use_src_name {
        return dest_root.to_string();
    }
    let rel = &e.compare_key;
    if dest_local {
        format!(
            "{dest_root}{}",
            rel.replace('/', std::path::MAIN_SEPARATOR_STR)
        )
    } else {
        format!("{dest_root}{rel}")
    }
}

fn transfer_command(ctx: &Ctx, cmd: &str, o: &Opts, io: &mut Io) -> Result<i32, CliError> {
    let s = Session::new(ctx.env, ctx.g)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let src = o.paths[0].clone();
    let dest = o.paths.get(1).cloned();
    let src_s3 = src.starts_with("s3://");
    let dest_s3 = dest.as_deref().is_some_and(|d| d.starts_with("s3://"));
    let dir_op = o.recursive || cmd == "sync";
    // Streams: `cp - s3://b/k`, `cp s3://b/k -`.
    if cmd == "cp" && (src == "-" || dest.as_deref() == Some("-")) {
        if dir_op {
            return Err(CliError::General(
                "Streaming currently is only compatible with non-recursive cp commands".into(),
            ));
        }
        return stream_copy(ctx, &s, &src, dest.as_deref().unwrap_or("-"), o, io);
    }
    let (kind, needs_dest) = match (cmd, src_s3, dest_s3) {
        ("rm", true, _) => (Kind::DeleteS3, false),
        ("rm", false, _) => {
            return Err(CliError::General(
                "Expected rm parameter to be used with one of following path formats: <S3Uri>. Instead, received <LocalPath>.".into(),
            ));
        }
        (_, false, true) => (Kind::Upload, true),
        (_, true, false) => (Kind::Download, true),
        (_, true, true) => (Kind::Copy, true),
        _ => {
            return Err(CliError::General(format!(
                "Error: Invalid argument type\n{}",
                "<LocalPath> <S3Uri> or <S3Uri> <LocalPath> or <S3Uri> <S3Uri>"
            )));
        }
    };
    if kind == Kind::Upload && !abspath(&src, &cwd).exists() {
        return Err(CliError::General(format!(
            "The user-provided path {src} does not exist."
        )));
    }
    if cmd == "mv" && kind == Kind::Copy && dest.as_deref().map(split_s3) == Some(split_s3(&src)) {
        return Err(CliError::General(format!(
            "Cannot mv a file onto itself: {src} - {}",
            dest.clone().unwrap_or_default()
        )));
    }
    // FileFormat: the destination root and whether files keep their source name.
    let (dest_root, use_src_name) = match (&dest, needs_dest) {
        (Some(d), true) if dest_s3 => {
            let p = d.strip_prefix("s3://").unwrap_or(d).to_string();
            if dir_op && !p.ends_with('/') {
                (format!("{p}/"), true)
            } else {
                let ends = p.ends_with('/');
                (p, ends || dir_op)
            }
        }
        (Some(d), true) => {
            let full = abspath(d, &cwd);
            let mut s = full.to_string_lossy().into_owned();
            let is_dir = full.is_dir();
            let keep = is_dir || dir_op || d.ends_with('/');
            if keep && !s.ends_with('/') {
                s.push('/');
            }
            (s, keep)
        }
        _ => (String::new(), false),
    };
    if kind == Kind::Download && dir_op && !Path::new(&dest_root).exists() {
        std::fs::create_dir_all(&dest_root)?;
    }
    let mut warnings = Vec::new();
    let delete_op = kind == Kind::DeleteS3;
    let follow = !o.no_follow_symlinks;
    let sources = list_source(
        ctx.src(),
        &s,
        &src,
        dir_op,
        delete_op,
        o.page_size,
        follow,
        &cwd,
        &mut warnings,
    );
    let sources = match sources {
        Ok(v) => v,
        Err(e) => {
            writeln!(io.stderr, "fatal error: {}", e.message())?;
            return Ok(1);
        }
    };
    // Filters (roots as awscli's create_filter computes them).
    let root_of = |loc: &str| -> String {
        if let Some(rest) = loc.strip_prefix("s3://") {
            let (b, k) = split_s3(rest);
            let k = if !dir_op && !k.ends_with('/') {
                k.rsplit_once('/')
                    .map(|x| x.0.to_string())
                    .unwrap_or_default()
            } else {
                k
            };
            format!("{b}/{k}")
        } else {
            let p = abspath(loc, &cwd);
            if dir_op {
                p.to_string_lossy().into_owned()
            } else {
                p.parent()
                    .unwrap_or(Path::new("/"))
                    .to_string_lossy()
                    .into_owned()
            }
        }
    };
    let filter = Filter::new(
        &o.filters,
        &root_of(&src),
        &dest.as_deref().map(root_of).unwrap_or_default(),
    );
    let sources: Vec<Entry> = sources
        .into_iter()
        .filter(|e| filter.keep(&e.src))
        .collect();
    let mut tasks: Vec<Task> = Vec::new();
    let is_move = cmd == "mv";
    let make = |e: &Entry, kind: Kind| Task {
        dest: needs_dest.then(|| dest_of(e, &dest_root, use_src_name, kind == Kind::Download)),
        kind,
        src: e.src.clone(),
        size: Some(e.size),
        is_move,
    };
    if cmd == "sync" {
        let dest_loc = dest.clone().unwrap_or_default();
        let dests = match list_source(
            ctx,
            &s,
            &dest_loc,
            true,
            false,
            o.page_size,
            follow,
            &cwd,
            &mut Vec::new(),
        ) {
            Ok(v) => v,
            Err(e) => {
                writeln!(io.stderr, "fatal error: {}", e.message())?;
                return Ok(1);
            }
        };
        let dests: Vec<Entry> = dests.into_iter().filter(|e| filter.keep(&e.src)).collect();
        let (mut i, mut j) = (0, 0);
        while i < sources.len() || j < dests.len() {
            let ord = match (sources.get(i), dests.get(j)) {
                (Some(a), Some(b)) => a.compare_key.cmp(&b.compare_key),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Equal => {
                    let (a, b) = (&sources[i], &dests[j]);
                    let same_size = a.size == b.size;
                    let delta = b.mtime - a.mtime;
                    let same_time = match kind {
                        Kind::Download if o.exact_timestamps => delta == 0.0,
                        Kind::Download => delta <= 0.0,
                        _ => delta >= 0.0,
                    };
                    let sync = if o.size_only {
                        !same_size
                    } else {
                        !same_size || !same_time
                    };
                    if sync {
                        tasks.push(make(a, kind.clone()));
                    }
                    i += 1;
                    j += 1;
                }
                std::cmp::Ordering::Less => {
                    tasks.push(make(&sources[i], kind.clone()));
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    if o.delete {
                        let b = &dests[j];
                        tasks.push(Task {
                            kind: if dest_s3 {
                                Kind::DeleteS3
                            } else {
                                Kind::DeleteLocal
                            },
                            src: b.src.clone(),
                            dest: None,
                            size: None,
                            is_move: false,
                        });
                    }
                    j += 1;
                }
            }
        }
    } else {
        for e in &sources {
            tasks.push(make(e, kind.clone()));
        }
    }
    // `_warn_glacier`: downloads, copies and moves of GLACIER/DEEP_ARCHIVE objects not
    // restored are skipped (a warning and status 2, unless `--ignore-glacier-warnings`),
    // unless `--force-glacier-transfer`.
    if !o.force_glacier {
        let frozen: std::collections::HashSet<&str> = sources
            .iter()
            .filter(|e| e.glacier)
            .map(|e| e.src.as_str())
            .collect();
        if !frozen.is_empty() {
            tasks.retain(|t| {
                let skip = matches!(t.kind, Kind::Download | Kind::Copy)
                    && frozen.contains(t.src.as_str());
                if skip && !o.ignore_glacier {
                    // The operation's name, a move's too (`mv` is a download or a copy).
                    let op = if t.kind == Kind::Download {
                        "download"
                    } else {
                        "copy"
                    };
                    warnings.push(format!(
                        "warning: Skipping file s3://{}. Object is of storage class GLACIER. Unable to perform {op} operations on GLACIER objects. You must restore the object to be able to perform the operation. See aws s3 {op} help for additional parameter options to ignore or force these transfers.",
                        t.src
                    ));
                }
                !skip
            });
        }
    }
    let printer = Printer {
        quiet: o.quiet,
        only_errors: o.only_errors,
        progress: ctx.env.stdout_tty && !o.no_progress && !o.quiet && !o.only_errors,
        cwd,
    };
    let mut rc = 0;
    for w in &warnings {
        if !o.quiet {
            writeln!(io.stderr, "{w}")?;
        }
        rc = 2;
    }
    if o.dryrun {
        for t in &tasks {
            if !o.quiet {
                writeln!(
                    io.stdout,
                    "(dryrun) {}: {}",
                    t.transfer_type(),
                    t.location(&printer.cwd)
                )?;
            }
        }
        return Ok(rc);
    }
    let extra = extra_args(o);
    let failed = transfer(ctx, tasks, &extra, &printer, io)?;
    Ok(if failed > 0 { 1 } else { rc })
}

/// Upload options that become request members of PutObject, CreateMultipartUpload and
/// CopyObject (the AWS CLI's `RequestParamsMapper`: `--content-type`, `--acl`,
/// `--storage-class`, `--cache-control`, `--metadata`, `--sse`, `--sse-kms-key-id`, ...;
/// SSE-C goes on every object request, see [`Ctx::call_with`]).
fn extra_args(o: &Opts) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(v) = &o.content_type {
        m.insert("ContentType".into(), json!(v));
    }
    if let Some(v) = &o.acl {
        m.insert("ACL".into(), json!(v));
    }
    if let Some(v) = &o.storage_class {
        m.insert("StorageClass".into(), json!(v));
    }
    for (k, v) in &o.object_params {
        m.insert(k.to_string(), v.clone());
    }
    m
}

// ---------------------------------------------------------------------------------------
// The transfer manager.

struct Printer {
    quiet: bool,
    only_errors: bool,
    progress: bool,
    cwd: PathBuf,
}

/// What a worker reports.
enum Event {
    Bytes(u64),
    Done(usize, Result<(), String>),
}

/// One unit of work on the queue.
enum Job {
    Task(usize),
    Part(Arc<Multipart>, u64),
    Range(Arc<RangedDownload>, u64),
}

/// A multipart upload in flight: its parts are jobs; the worker finishing the last one
/// completes it.
struct Multipart {
    task: usize,
    bucket: String,
    key: String,
    upload_id: String,
    /// Where the parts come from: a local file (UploadPart) or an object, `bucket/key`
    /// (UploadPartCopy with a byte range).
    source: PartSource,
    size: u64,
    part_size: u64,
    parts: u64,
    remaining: AtomicUsize,
    done: Mutex<Vec<Option<Value>>>,
    failed: Mutex<Option<String>>,
}

enum PartSource {
    File(PathBuf),
    Object(String),
}

/// A download in ranged GETs written at their offsets into a temporary file.
struct RangedDownload {
    task: usize,
    bucket: String,
    key: String,
    tmp: PathBuf,
    dest: PathBuf,
    file: std::fs::File,
    size: u64,
    remaining: AtomicUsize,
    failed: Mutex<Option<String>>,
    mtime: Mutex<Option<SystemTime>>,
}

struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    /// Tasks not finished yet (the workers stop at zero).
    open: AtomicUsize,
}

impl Queue {
    fn push_front(&self, j: Job) {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_front(j);
        self.ready.notify_one();
    }
    fn pop(&self) -> Option<Job> {
        let mut q = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(j) = q.pop_front() {
                return Some(j);
            }
            if self.open.load(Ordering::SeqCst) == 0 {
                return None;
            }
            q = self
                .ready
                .wait_timeout(q, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// The part size for `size` bytes: 8 MiB, doubled until at most 10,000 parts.
pub fn part_size(size: u64, chunk: u64) -> u64 {
    let mut p = chunk;
    while size.div_ceil(p) > MAX_PARTS {
        p *= 2;
    }
    p
}

/// Runs `tasks` on `max_concurrent_requests` threads, printing results as they finish. Returns the number
/// of failed tasks.
fn transfer(
    ctx: &Ctx,
    tasks: Vec<Task>,
    extra: &Map<String, Value>,
    printer: &Printer,
    io: &mut Io,
) -> Result<usize, CliError> {
    if tasks.is_empty() {
        return Ok(0);
    }
    let queue = Queue {
        jobs: Mutex::new((0..tasks.len()).map(Job::Task).collect()),
        ready: Condvar::new(),
        open: AtomicUsize::new(tasks.len()),
    };
    let expected_bytes: u64 = tasks.iter().filter_map(|t| t.size).sum();
    let bytes_done = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<Event>();
    let mut failed = 0;
    std::thread::scope(|scope| -> Result<(), CliError> {
        let workers = ctx.tc.workers;
        for _ in 0..workers {
            let tx = tx.clone();
            let (queue, tasks, bytes_done) = (&queue, &tasks, &bytes_done);
            scope.spawn(move || {
                let s = match Session::new(ctx.env, ctx.g) {
                    Ok(s) => s,
                    Err(e) => {
                        // Every task fails the same way; report through the first job.
                        while let Some(j) = queue.pop() {
                            if let Job::Task(i) = j {
                                queue.open.fetch_sub(1, Ordering::SeqCst);
                                let _ = tx.send(Event::Done(i, Err(e.message())));
                            }
                        }
                        return;
                    }
                };
                while let Some(job) = queue.pop() {
                    run_job(ctx, &s, queue, tasks, extra, job, &tx, bytes_done);
                }
            });
        }
        drop(tx);
        let total_files = tasks.len();
        let mut files_done = 0usize;
        let mut progress_len = 0usize;
        let started = Instant::now();
        let mut last_draw = Instant::now() - Duration::from_secs(1);
        let mut transferred = 0u64;
        for ev in rx {
            match ev {
                Event::Bytes(n) => {
                    transferred += n;
                    if printer.progress && last_draw.elapsed() >= Duration::from_millis(100) {
                        last_draw = Instant::now();
                        progress_len = draw_progress(
                            io,
                            transferred,
                            expected_bytes,
                            started,
                            total_files - files_done,
                            progress_len,
                        )?;
                    }
                }
                Event::Done(i, result) => {
                    files_done += 1;
                    let t = &tasks[i];
                    let line = match &result {
                        Ok(()) => (!printer.quiet && !printer.only_errors).then(|| {
                            format!("{}: {}", t.transfer_type(), t.location(&printer.cwd))
                        }),
                        Err(e) => {
                            failed += 1;
                            (!printer.quiet).then(|| {
                                format!(
                                    "{} failed: {} {e}",
                                    t.transfer_type(),
                                    t.location(&printer.cwd)
                                )
                            })
                        }
                    };
                    if let Some(line) = line {
                        let padded = format!("{line:<progress_len$}\n");
                        match result {
                            Ok(()) => io.stdout.write_all(padded.as_bytes())?,
                            Err(_) => io.stderr.write_all(padded.as_bytes())?,
                        }
                        progress_len = 0;
                    }
                    if printer.progress && files_done < total_files {
                        progress_len = draw_progress(
                            io,
                            transferred,
                            expected_bytes,
                            started,
                            total_files - files_done,
                            progress_len,
                        )?;
                    } else if printer.progress && progress_len > 0 {
                        writeln!(io.stdout, "{:progress_len$}", "")?;
                        progress_len = 0;
                    }
                    io.stdout.flush()?;
                }
            }
        }
        Ok(())
    })?;
    Ok(failed)
}

/// `Completed 8.0 MiB/20.0 MiB (35.1 MiB/s) with 1 file(s) remaining`, padded over the
/// previous line and ended with `\r`. Returns its length.
fn draw_progress(
    io: &mut Io,
    done: u64,
    expected: u64,
    started: Instant,
    remaining: usize,
    previous: usize,
) -> Result<usize, CliError> {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let line = if expected > 0 {
        format!(
            "Completed {}/{} ({}/s) with {remaining} file(s) remaining",
            human_size(done),
            human_size(expected),
            human_size((done as f64 / secs) as u64)
        )
    } else {
        format!("Completed {} file(s) with {remaining} file(s) remaining", 0)
    };
    let padded = format!("{line:<previous$}\r");
    io.stdout.write_all(padded.as_bytes())?;
    io.stdout.flush()?;
    Ok(padded.len() - 1)
}

#[allow(clippy::too_many_arguments)]
fn run_job(
    ctx: &Ctx,
    s: &Session,
    queue: &Queue,
    tasks: &[Task],
    extra: &Map<String, Value>,
    job: Job,
    tx: &mpsc::Sender<Event>,
    bytes: &AtomicU64,
) {
    let finish = |i: usize, r: Result<(), String>| {
        queue.open.fetch_sub(1, Ordering::SeqCst);
        queue.ready.notify_all();
        let _ = tx.send(Event::Done(i, r));
    };
    match job {
        Job::Task(i) => {
            let t = &tasks[i];
            match start_task(ctx, s, queue, t, i, extra, tx, bytes) {
                Ok(true) => finish(i, Ok(())),
                // Continues as parts (the last part finishes it).
                Ok(false) => {}
                Err(e) => finish(i, Err(e.message())),
            }
        }
        Job::Part(mp, n) => {
            let r = upload_part(ctx, s, &mp, n);
            match r {
                Ok(v) => {
                    let len = mp.part_size.min(mp.size - (n - 1) * mp.part_size);
                    let _ = tx.send(Event::Bytes(len));
                    bytes.fetch_add(len, Ordering::Relaxed);
                    mp.done.lock().unwrap_or_else(|e| e.into_inner())[(n - 1) as usize] = Some(v);
                }
                Err(e) => {
                    mp.failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e.message());
                }
            }
            if mp.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                let r = complete_multipart(ctx, s, &mp);
                let t = &tasks[mp.task];
                let r = r.and_then(|()| after_success(ctx, s, t));
                finish(mp.task, r.map_err(|e| e.message()));
            }
        }
        Job::Range(rd, n) => {
            let r = download_range(ctx, s, &rd, n);
            match r {
                Ok(len) => {
                    let _ = tx.send(Event::Bytes(len));
                }
                Err(e) => {
                    rd.failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e.message());
                }
            }
            if rd.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                let failed = rd.failed.lock().unwrap_or_else(|e| e.into_inner()).take();
                let r = match failed {
                    Some(e) => {
                        let _ = std::fs::remove_file(&rd.tmp);
                        Err(CliError::General(e))
                    }
                    None => finish_download(
                        &rd.tmp,
                        &rd.dest,
                        *rd.mtime.lock().unwrap_or_else(|e| e.into_inner()),
                    )
                    .and_then(|()| after_success(ctx, s, &tasks[rd.task])),
                };
                finish(rd.task, r.map_err(|e| e.message()));
            }
        }
    }
}

/// A move deletes its source once the copy is done.
fn after_success(ctx: &Ctx, s: &Session, t: &Task) -> Result<(), CliError> {
    if !t.is_move {
        return Ok(());
    }
    match t.kind {
        Kind::Upload => std::fs::remove_file(&t.src).map_err(CliError::from),
        Kind::Download | Kind::Copy => {
            let (b, k) = split_s3(&t.src);
            ctx.src()
                .call(s, "DeleteObject", json!({"Bucket": b, "Key": k}))
                .map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Starts a task: small transfers run whole (`Ok(true)`), large ones are split into jobs
/// (`Ok(false)`).
#[allow(clippy::too_many_arguments)]
fn start_task(
    ctx: &Ctx,
    s: &Session,
    queue: &Queue,
    t: &Task,
    i: usize,
    extra: &Map<String, Value>,
    tx: &mpsc::Sender<Event>,
    bytes: &AtomicU64,
) -> Result<bool, CliError> {
    match t.kind {
        Kind::Upload => {
            let path = PathBuf::from(&t.src);
            let slice = FileSlice::whole(&path).map_err(CliError::from)?;
            let (bucket, key) = split_s3(t.dest.as_deref().unwrap_or(""));
            let mut input = extra.clone();
            input.insert("Bucket".into(), json!(bucket));
            input.insert("Key".into(), json!(key));
            if !input.contains_key("ContentType")
                && !ctx.no_guess_mime_type
                && let Some(ct) = guess_content_type(&t.src)
            {
                input.insert("ContentType".into(), json!(ct));
            }
            input.insert("ChecksumAlgorithm".into(), json!("CRC32"));
            if slice.len < ctx.tc.threshold {
                let len = slice.len;
                ctx.call_with(
                    s,
                    "PutObject",
                    Value::Object(input),
                    Some(slice),
                    Sink::Memory,
                )?;
                let _ = tx.send(Event::Bytes(len));
                bytes.fetch_add(len, Ordering::Relaxed);
                after_success(ctx, s, t)?;
                return Ok(true);
            }
            let created = ctx.call(s, "CreateMultipartUpload", Value::Object(input))?;
            let upload_id = created["UploadId"].as_str().unwrap_or_default().to_string();
            let psize = part_size(slice.len, ctx.tc.chunk);
            let parts = slice.len.div_ceil(psize);
            let mp = Arc::new(Multipart {
                task: i,
                bucket,
                key,
                upload_id,
                source: PartSource::File(path),
                size: slice.len,
                part_size: psize,
                parts,
                remaining: AtomicUsize::new(parts as usize),
                done: Mutex::new(vec![None; parts as usize]),
                failed: Mutex::new(None),
            });
            // Parts go to the front: a started upload finishes before new ones start.
            for n in (1..=parts).rev() {
                queue.push_front(Job::Part(mp.clone(), n));
            }
            Ok(false)
        }
        Kind::Download => {
            let (bucket, key) = split_s3(&t.src);
            let dest = PathBuf::from(t.dest.as_deref().unwrap_or(""));
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let size = t.size.unwrap_or(0);
            let tmp = temp_name(&dest);
            if size < ctx.tc.threshold {
                let mut f = std::fs::File::create(&tmp)?;
                let r = ctx.call_with(
                    s,
                    "GetObject",
                    json!({"Bucket": bucket, "Key": key}),
                    None,
                    Sink::Writer(&mut f),
                );
                drop(f);
                let out = match r {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(e);
                    }
                };
                let mtime = out["LastModified"]
                    .as_str()
                    .and_then(kagi_api::time::parse_any)
                    .map(Timestamp::to_system_time);
                finish_download(&tmp, &dest, mtime)?;
                let _ = tx.send(Event::Bytes(size));
                after_success(ctx, s, t)?;
                return Ok(true);
            }
            let file = std::fs::File::create(&tmp)?;
            file.set_len(size)?;
            let parts = size.div_ceil(ctx.tc.chunk);
            let rd = Arc::new(RangedDownload {
                task: i,
                bucket,
                key,
                tmp,
                dest,
                file,
                size,
                remaining: AtomicUsize::new(parts as usize),
                failed: Mutex::new(None),
                mtime: Mutex::new(None),
            });
            for n in (0..parts).rev() {
                queue.push_front(Job::Range(rd.clone(), n));
            }
            Ok(false)
        }
        Kind::Copy if t.size.unwrap_or(0) >= ctx.tc.threshold => {
            // s3transfer's multipart copy: UploadPartCopy in ranges, as parts of the queue.
            let (bucket, key) = split_s3(t.dest.as_deref().unwrap_or(""));
            let size = t.size.unwrap_or(0);
            let mut input = extra.clone();
            input.insert("Bucket".into(), json!(bucket));
            input.insert("Key".into(), json!(key));
            // A multipart copy starts empty: the source's properties are set on it (v2's
            // `--copy-props default` and `metadata-directive`), those given on the command
            // line first.
            if ctx.copy_props.as_deref() != Some("none") {
                copy_source_props(ctx.src(), s, &t.src, &mut input)?;
            }
            // `default` also carries the tags over (`SetTagsSubscriber`; a single CopyObject
            // copies them itself), in the `Tagging` header.
            if ctx.copy_props.as_deref().unwrap_or("default") == "default" {
                let (src_bucket, src_key) = split_s3(&t.src);
                let tags = ctx.src().call(
                    s,
                    "GetObjectTagging",
                    json!({"Bucket": src_bucket, "Key": src_key}),
                )?;
                let header: Vec<String> = tags["TagSet"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let part = |k: &str| {
                            kagi_api::rest::percent_encode(t[k].as_str().unwrap_or_default(), false)
                        };
                        format!("{}={}", part("Key"), part("Value"))
                    })
                    .collect();
                if !header.is_empty() {
                    let header = header.join("&");
                    if header.len() > 2048 {
                        return Err(CliError::General(format!(
                            "kagi does not copy more than 2 KiB of tags on a multipart copy yet ({} has {} bytes)",
                            t.src,
                            header.len()
                        )));
                    }
                    input.insert("Tagging".into(), json!(header));
                }
            }
            let created = ctx.call(s, "CreateMultipartUpload", Value::Object(input))?;
            let upload_id = created["UploadId"].as_str().unwrap_or_default().to_string();
            let psize = part_size(size, ctx.tc.chunk);
            let parts = size.div_ceil(psize);
            let mp = Arc::new(Multipart {
                task: i,
                bucket,
                key,
                upload_id,
                source: PartSource::Object(t.src.clone()),
                size,
                part_size: psize,
                parts,
                remaining: AtomicUsize::new(parts as usize),
                done: Mutex::new(vec![None; parts as usize]),
                failed: Mutex::new(None),
            });
            for n in (1..=parts).rev() {
                queue.push_front(Job::Part(mp.clone(), n));
            }
            Ok(false)
        }
        Kind::Copy => {
            let (bucket, key) = split_s3(t.dest.as_deref().unwrap_or(""));
            let mut input = extra.clone();
            input.insert("Bucket".into(), json!(bucket));
            input.insert("Key".into(), json!(key));
            input.insert("CopySource".into(), json!(t.src));
            if let Some(d) = &ctx.metadata_directive {
                input.insert("MetadataDirective".into(), json!(d));
            }
            // v2's `--copy-props`: `default` and `metadata-directive` replace the properties of
            // a copy given any of them, the others carried over from the source;
            // `metadata-directive` and `none` do not copy the tags; `none` copies no property.
            match ctx.copy_props.as_deref().unwrap_or("default") {
                "none" => {
                    input.insert("MetadataDirective".into(), json!("REPLACE"));
                    input.insert("TaggingDirective".into(), json!("REPLACE"));
                }
                mode => {
                    if COPY_PROPS.iter().any(|p| input.contains_key(*p)) {
                        input.insert("MetadataDirective".into(), json!("REPLACE"));
                        copy_source_props(ctx.src(), s, &t.src, &mut input)?;
                    }
                    if mode == "metadata-directive" {
                        input.insert("TaggingDirective".into(), json!("REPLACE"));
                    }
                }
            }
            ctx.call(s, "CopyObject", Value::Object(input))?;
            let _ = tx.send(Event::Bytes(t.size.unwrap_or(0)));
            after_success(ctx, s, t)?;
            Ok(true)
        }
        Kind::DeleteS3 => {
            let (bucket, key) = split_s3(&t.src);
            ctx.call(s, "DeleteObject", json!({"Bucket": bucket, "Key": key}))?;
            Ok(true)
        }
        Kind::DeleteLocal => {
            std::fs::remove_file(&t.src)?;
            Ok(true)
        }
    }
}

/// The object properties a copy carries over (`SetMetadataDirectivePropsSubscriber`).
const COPY_PROPS: [&str; 7] = [
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "Metadata",
];

/// The source object's properties (HeadObject) for those of [`COPY_PROPS`] not in `input`.
fn copy_source_props(
    ctx: &Ctx,
    s: &Session,
    src: &str,
    input: &mut Map<String, Value>,
) -> Result<(), CliError> {
    let (bucket, key) = split_s3(src);
    let head = ctx.call(s, "HeadObject", json!({"Bucket": bucket, "Key": key}))?;
    for p in COPY_PROPS {
        if !input.contains_key(p)
            && let Some(v) = head.get(p).filter(|v| !v.is_null())
        {
            input.insert(p.to_string(), v.clone());
        }
    }
    Ok(())
}

fn upload_part(ctx: &Ctx, s: &Session, mp: &Multipart, n: u64) -> Result<Value, CliError> {
    if let Some(e) = mp.failed.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Err(CliError::General(e));
    }
    let offset = (n - 1) * mp.part_size;
    let len = mp.part_size.min(mp.size - offset);
    let path = match &mp.source {
        PartSource::File(p) => p.clone(),
        PartSource::Object(src) => {
            let out = ctx.call(
                s,
                "UploadPartCopy",
                json!({"Bucket": mp.bucket, "Key": mp.key, "UploadId": mp.upload_id,
                       "PartNumber": n, "CopySource": src,
                       "CopySourceRange": format!("bytes={offset}-{}", offset + len - 1)}),
            )?;
            let r = &out["CopyPartResult"];
            let mut part = json!({"ETag": r["ETag"], "PartNumber": n});
            if let Some(c) = r.get("ChecksumCRC32") {
                part["ChecksumCRC32"] = c.clone();
            }
            return Ok(part);
        }
    };
    let slice = FileSlice { path, offset, len };
    let out = ctx.call_with(
        s,
        "UploadPart",
        json!({"Bucket": mp.bucket, "Key": mp.key, "UploadId": mp.upload_id,
               "PartNumber": n, "ChecksumAlgorithm": "CRC32"}),
        Some(slice),
        Sink::Memory,
    )?;
    let mut part = json!({"ETag": out["ETag"], "PartNumber": n});
    if let Some(c) = out.get("ChecksumCRC32") {
        part["ChecksumCRC32"] = c.clone();
    }
    Ok(part)
}

fn complete_multipart(ctx: &Ctx, s: &Session, mp: &Multipart) -> Result<(), CliError> {
    let failed = mp.failed.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(e) = failed {
        let _ = ctx.call(
            s,
            "AbortMultipartUpload",
            json!({"Bucket": mp.bucket, "Key": mp.key, "UploadId": mp.upload_id}),
        );
        return Err(CliError::General(e));
    }
    let parts: Vec<Value> = mp
        .done
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|p| p.clone().unwrap_or(Value::Null))
        .collect();
    debug_assert_eq!(parts.len() as u64, mp.parts);
    ctx.call(
        s,
        "CompleteMultipartUpload",
        json!({"Bucket": mp.bucket, "Key": mp.key, "UploadId": mp.upload_id,
               "MultipartUpload": {"Parts": parts}}),
    )?;
    Ok(())
}

/// Writes into a file at an offset (a ranged GET's part).
struct AtOffset<'f> {
    file: &'f std::fs::File,
    pos: u64,
}

impl std::io::Write for AtOffset<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let n = self.file.write_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn download_range(ctx: &Ctx, s: &Session, rd: &RangedDownload, n: u64) -> Result<u64, CliError> {
    if let Some(e) = rd.failed.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Err(CliError::General(e));
    }
    let start = n * ctx.tc.chunk;
    let end = (start + ctx.tc.chunk).min(rd.size) - 1;
    let mut w = AtOffset {
        file: &rd.file,
        pos: start,
    };
    let out = ctx.call_with(
        s,
        "GetObject",
        json!({"Bucket": rd.bucket, "Key": rd.key, "Range": format!("bytes={start}-{end}")}),
        None,
        Sink::Writer(&mut w),
    )?;
    if w.pos != end + 1 {
        return Err(CliError::General(format!(
            "Connection was closed before we received a valid response from endpoint URL: \"{}\".",
            ctx.ep.url
        )));
    }
    if let Some(t) = out["LastModified"]
        .as_str()
        .and_then(kagi_api::time::parse_any)
    {
        *rd.mtime.lock().unwrap_or_else(|e| e.into_inner()) = Some(t.to_system_time());
    }
    Ok(end + 1 - start)
}

/// s3transfer's temporary download name: the destination plus a random suffix.
fn temp_name(dest: &Path) -> PathBuf {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let suffix: String = b.iter().map(|x| format!("{x:02X}")).collect();
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!("{name}.{suffix}"))
}

fn finish_download(tmp: &Path, dest: &Path, mtime: Option<SystemTime>) -> Result<(), CliError> {
    if let Some(t) = mtime {
        let f = std::fs::OpenOptions::new().write(true).open(tmp)?;
        f.set_modified(t)?;
    }
    std::fs::rename(tmp, dest)?;
    Ok(())
}

/// Python's `mimetypes.guess_type(path)[0]` (the AWS CLI sets an uploaded object's
/// Content-Type from it): compression suffixes (`.gz`, `.bz2`, `.xz`, `.br`, `.Z`) are an
/// encoding, not a type (`a.tar.gz` is `application/x-tar`, `a.gz` has none), `.tgz` is
/// `.tar.gz`; `/etc/mime.types` (which `mimetypes.init` reads) wins over Python's own table,
/// of which the common part is below.
pub fn guess_content_type(path: &str) -> Option<String> {
    let name = Path::new(path).file_name()?.to_str()?;
    let mut name = name.to_string();
    for (from, to) in [
        (".svgz", ".svg.gz"),
        (".tgz", ".tar.gz"),
        (".taz", ".tar.gz"),
        (".tz", ".tar.gz"),
        (".tbz2", ".tar.bz2"),
        (".txz", ".tar.xz"),
    ] {
        if let Some(stem) = name.strip_suffix(from) {
            name = format!("{stem}{to}");
            break;
        }
    }
    for enc in [".gz", ".Z", ".bz2", ".xz", ".br"] {
        if let Some(stem) = name.strip_suffix(enc) {
            name = stem.to_string();
            break;
        }
    }
    let ext = name.rsplit_once('.')?.1;
    if ext.is_empty() {
        return None;
    }
    system_mime_types()
        .get(ext)
        .or_else(|| system_mime_types().get(&ext.to_ascii_lowercase()))
        .cloned()
        .or_else(|| builtin_type(&ext.to_ascii_lowercase()).map(str::to_string))
}

/// `/etc/mime.types`: `type ext ext ...` lines (the last mention of an extension wins).
fn system_mime_types() -> &'static std::collections::HashMap<String, String> {
    static M: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    M.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        if let Ok(text) = std::fs::read_to_string("/etc/mime.types") {
            for line in text.lines() {
                let line = line.split('#').next().unwrap_or("");
                let mut words = line.split_whitespace();
                let Some(t) = words.next() else { continue };
                for ext in words {
                    m.insert(ext.to_string(), t.to_string());
                }
            }
        }
        m
    })
}

fn builtin_type(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "txt" | "text" | "bat" | "c" | "h" | "ksh" | "pl" | "srt" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "text/xml",
        "md" | "markdown" => "text/markdown",
        "py" => "text/x-python",
        "sh" => "application/x-sh",
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "bin" | "exe" | "so" | "o" | "a" | "obj" | "dll" => "application/octet-stream",
        "rtf" => "application/rtf",
        _ => return None,
    })
}

/// `cp - s3://b/k` (stdin, 8 MiB parts, at most ten in memory) and `cp s3://b/k -` (stdout).
fn stream_copy(
    ctx: &Ctx,
    s: &Session,
    src: &str,
    dest: &str,
    o: &Opts,
    io: &mut Io,
) -> Result<i32, CliError> {
    if src == "-" {
        let (bucket, key) = split_s3(dest);
        let mut extra = extra_args(o);
        extra.insert("Bucket".into(), json!(bucket));
        extra.insert("Key".into(), json!(key));
        extra.insert("ChecksumAlgorithm".into(), json!("CRC32"));
        let r = stream_upload(ctx, s, extra, io);
        return match r {
            Ok(()) => Ok(0),
            Err(e) => {
                if !o.quiet {
                    writeln!(
                        io.stderr,
                        "upload failed: - to s3://{bucket}/{key} {}",
                        e.message()
                    )?;
                }
                Ok(1)
            }
        };
    }
    let (bucket, key) = split_s3(src);
    // s3transfer asks for the size first (HeadObject), then streams the object.
    let r = ctx
        .call(s, "HeadObject", json!({"Bucket": bucket, "Key": key}))
        .and_then(|_| {
            ctx.call_with(
                s,
                "GetObject",
                json!({"Bucket": bucket, "Key": key}),
                None,
                Sink::Writer(io.stdout),
            )
        });
    match r {
        Ok(_) => Ok(0),
        Err(CliError::Silent(c)) => Err(CliError::Silent(c)),
        Err(e) => {
            if !o.quiet {
                writeln!(
                    io.stderr,
                    "download failed: s3://{bucket}/{key} to - {}",
                    e.message()
                )?;
            }
            Ok(1)
        }
    }
}

fn read_chunk(r: &mut dyn std::io::Read, size: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size);
    std::io::Read::read_to_end(&mut std::io::Read::take(r, size as u64), &mut buf)?;
    Ok(buf)
}

fn stream_upload(
    ctx: &Ctx,
    s: &Session,
    input: Map<String, Value>,
    io: &mut Io,
) -> Result<(), CliError> {
    let first = read_chunk(io.stdin, ctx.tc.chunk as usize)?;
    if (first.len() as u64) < ctx.tc.chunk {
        let mut input = input;
        input.insert("Body".into(), json!(kagi_api::rest::base64(&first)));
        ctx.call(s, "PutObject", Value::Object(input))?;
        return Ok(());
    }
    let created = ctx.call(s, "CreateMultipartUpload", Value::Object(input.clone()))?;
    let upload_id = created["UploadId"].as_str().unwrap_or_default().to_string();
    let (bucket, key) = (input["Bucket"].clone(), input["Key"].clone());
    let result = (|| -> Result<Vec<Value>, CliError> {
        let mut parts: Vec<Value> = Vec::new();
        let mut next = Some(first);
        let mut n = 0u64;
        // Read a batch of up to max_concurrent_requests parts, send them in parallel, repeat.
        loop {
            let mut batch: Vec<(u64, Vec<u8>)> = Vec::new();
            while batch.len() < ctx.tc.workers {
                let chunk = match next.take() {
                    Some(c) => c,
                    None => read_chunk(io.stdin, ctx.tc.chunk as usize)?,
                };
                if chunk.is_empty() {
                    break;
                }
                n += 1;
                let short = (chunk.len() as u64) < ctx.tc.chunk;
                batch.push((n, chunk));
                if short {
                    break;
                }
            }
            if batch.is_empty() {
                break;
            }
            let last = batch.len() < ctx.tc.workers
                || batch
                    .last()
                    .is_some_and(|b| (b.1.len() as u64) < ctx.tc.chunk);
            let results: Vec<Result<Value, CliError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|(n, data)| {
                        let (bucket, key, upload_id) = (&bucket, &key, &upload_id);
                        scope.spawn(move || {
                            let s = Session::new(ctx.env, ctx.g)?;
                            let out = ctx.call(
                                &s,
                                "UploadPart",
                                json!({"Bucket": bucket, "Key": key, "UploadId": upload_id,
                                       "PartNumber": n, "ChecksumAlgorithm": "CRC32",
                                       "Body": kagi_api::rest::base64(data)}),
                            )?;
                            let mut part = json!({"ETag": out["ETag"], "PartNumber": n});
                            if let Some(c) = out.get("ChecksumCRC32") {
                                part["ChecksumCRC32"] = c.clone();
                            }
                            Ok(part)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(CliError::General("a part upload panicked".into()))
                        })
                    })
                    .collect()
            });
            for r in results {
                parts.push(r?);
            }
            if last {
                break;
            }
        }
        Ok(parts)
    })();
    match result {
        Ok(parts) => {
            ctx.call(
                s,
                "CompleteMultipartUpload",
                json!({"Bucket": bucket, "Key": key, "UploadId": upload_id,
                       "MultipartUpload": {"Parts": parts}}),
            )?;
            Ok(())
        }
        Err(e) => {
            let _ = ctx.call(
                s,
                "AbortMultipartUpload",
                json!({"Bucket": bucket, "Key": key, "UploadId": upload_id}),
            );
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_point_arns_are_buckets() {
        let ap = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap";
        for (path, bucket, key) in [
            (format!("s3://{ap}/a/b.txt"), ap.to_string(), "a/b.txt"),
            (format!("s3://{ap}"), ap.to_string(), ""),
            (format!("s3://{ap}/"), ap.to_string(), ""),
            (
                "s3://arn:aws:s3:us-west-2:123456789012:accesspoint:myap/k".to_string(),
                "arn:aws:s3:us-west-2:123456789012:accesspoint:myap".to_string(),
                "k",
            ),
            (
                "s3://arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234567890123456/accesspoint/myap/k/x".to_string(),
                "arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234567890123456/accesspoint/myap".to_string(),
                "k/x",
            ),
            // Not an access point: the first segment is the bucket.
            (
                "s3://arn:aws:s3:us-west-2:1234:accesspoint/myap/k".to_string(),
                "arn:aws:s3:us-west-2:1234:accesspoint".to_string(),
                "myap/k",
            ),
            ("s3://bucket/k/x".to_string(), "bucket".to_string(), "k/x"),
        ] {
            assert_eq!(split_s3(&path), (bucket, key.to_string()), "{path}");
        }
    }

    #[test]
    fn object_lambda_and_outposts_buckets_are_refused() {
        assert_eq!(
            check_resource("s3://arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/ol/k")
                .unwrap_err()
                .message(),
            "s3 commands do not support S3 Object Lambda resources. Use s3api commands instead."
        );
        assert_eq!(
            check_resource("s3://arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-1/bucket/b")
                .unwrap_err()
                .message(),
            "s3 commands do not support Outpost Bucket ARNs. Use s3control commands instead."
        );
        assert!(check_resource("s3://arn:aws:s3:us-west-2:123456789012:accesspoint/ap/k").is_ok());
        assert!(check_resource("s3://bucket/arn:aws:s3-object-lambda:x").is_ok());
    }

    #[test]
    fn human_sizes_as_the_aws_cli() {
        assert_eq!(human_size(0), "0 Bytes");
        assert_eq!(human_size(1), "1 Byte");
        assert_eq!(human_size(10), "10 Bytes");
        assert_eq!(human_size(1023), "1023 Bytes");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1024 * 1024), "1.0 MiB");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(human_size(1_048_575), "1.0 MiB");
        assert_eq!(human_size(1536), "1.5 KiB");
    }

    #[test]
    fn content_types_as_python_mimetypes() {
        let names = [
            "a.txt", "a.TXT", "a.json", "a.log", "a.html", "a.tar.gz", "a.gz", "a.tgz", "a.csv",
            "a.png", "a.JPG", "a.bin", "a.yaml", "a.md", "a.py", "a.svgz", "noext", "a.", "a.xyz",
        ];
        let script =
            "import mimetypes,sys\nfor n in sys.argv[1:]: print(mimetypes.guess_type(n)[0])";
        let Ok(out) = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(names)
            .output()
        else {
            eprintln!("SKIPPED: no python3");
            return;
        };
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = names
            .iter()
            .map(|n| guess_content_type(n).unwrap_or_else(|| "None".into()))
            .collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn fnmatch_as_python() {
        assert!(fnmatch("/a/b/c.txt", "/a/*.txt"));
        assert!(fnmatch("/a/b/c.txt", "/a/*"));
        assert!(!fnmatch("/a/b/c.txt", "/a/*.jpg"));
        assert!(fnmatch("abc", "a?c"));
        assert!(fnmatch("abc", "a[a-c]c") && !fnmatch("abc", "a[!b]c"));
        assert!(fnmatch("a[c", "a[c"));
        assert!(fnmatch("bucket/dir/x.log", "bucket/dir/*"));
        assert!(!fnmatch("x", "") && fnmatch("", "*"));
    }

    #[test]
    fn paths_as_python() {
        let cwd = Path::new("/work/x");
        assert_eq!(relative_path(Path::new("/work/x/a.txt"), cwd), "./a.txt");
        assert_eq!(relative_path(Path::new("/work/x/d/a.txt"), cwd), "d/a.txt");
        assert_eq!(
            relative_path(Path::new("/tmp/a.txt"), cwd),
            "../../tmp/a.txt"
        );
        assert_eq!(abspath("../y/./z", cwd), PathBuf::from("/work/y/z"));
        assert_eq!(part_size(20 * 1024 * 1024, CHUNK_SIZE), CHUNK_SIZE);
        assert_eq!(
            part_size(100_000 * 1024 * 1024, CHUNK_SIZE),
            16 * 1024 * 1024
        );
        assert_eq!(human_to_bytes("64MB"), Some(64 << 20));
        assert_eq!(human_to_bytes("10 KiB"), Some(10 << 10));
        assert_eq!(human_to_bytes("1234"), Some(1234));
        assert_eq!(human_to_bytes("x"), None);
    }
}
