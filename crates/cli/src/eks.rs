//! AWS CLI v2's hand-written `eks` commands (`awscli/customizations/eks/`):
//!
//! * `eks update-kubeconfig --name C [--region R] [--role-arn A] [--alias N] [--kubeconfig P]
//!   [--dry-run] [--verbose]`: DescribeCluster (status `ACTIVE` or `UPDATING`), then a cluster
//!   entry (CA data, endpoint, named by the ARN), a user entry whose `exec` runs `aws --region R
//!   eks get-token --cluster-name C [--role A]` (`--cluster-id` for an Outposts cluster;
//!   `AWS_PROFILE` in its `env` when a profile was named) and a context (named `--alias` or the
//!   ARN), merged by name into the kubeconfig (`--kubeconfig`, else the first `KUBECONFIG` file
//!   holding the cluster, else its first file, else `~/.kube/config`), which becomes the current
//!   context. The file is written 0600 as ruamel's safe dump of the ordered tree (key order
//!   kept), `--dry-run` prints it instead.
//! * `eks get-token --cluster-name C | --cluster-id I [--role-arn A]`: an `ExecCredential` whose
//!   token is `k8s-aws-v1.` + unpadded URL-safe base64 of a presigned STS GetCallerIdentity GET
//!   (60 s, `x-k8s-aws-id: C` signed), expiring in 14 minutes; with `--role-arn`, signed with
//!   the credentials of an AssumeRole (`EKSGetTokenAuth`).
//!
//! Reading a kubeconfig takes the block YAML that kubectl and the AWS CLI write ([`load_yaml`]:
//! block mappings and sequences, plain and quoted scalars, empty flow collections, comments);
//! anything beyond that (anchors, block scalars, non-empty flow collections) is reported as
//! a kubeconfig kagi cannot read rather than guessed at.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::http::Session;
use crate::opts::{self, Opt, Spec};
use crate::output::Doc;
use crate::{CliError, Env, Globals, Io};

const API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if sub.get(1).is_some_and(|a| a == "help") {
        let text = match sub[0].as_str() {
            "get-token" => {
                "get-token\n\nGet a token for authentication with an Amazon EKS cluster. This can be used as an alternative to the aws-iam-authenticator.\n\nSynopsis\n\n  get-token\n[--cluster-name <value>]\n[--role-arn <value>]\n[--cluster-id <value>]"
            }
            _ => {
                "update-kubeconfig\n\nConfigures kubectl so that you can connect to an Amazon EKS cluster.\n\nSynopsis\n\n  update-kubeconfig\n--name <value>\n[--kubeconfig <value>]\n[--role-arn <value>]\n[--dry-run]\n[--verbose]\n[--alias <value>]"
            }
        };
        writeln!(io.stdout, "{text}")?;
        return Ok(());
    }
    match sub.first().map(String::as_str) {
        Some("update-kubeconfig") => update_kubeconfig(g, &sub[1..], env, io),
        Some("get-token") => get_token(g, &sub[1..], env, io),
        _ => Err(CliError::General("not an eks customization".into())),
    }
}

const UPDATE_KUBECONFIG: Spec = Spec::new(&[
    Opt::one("--name").required(),
    Opt::one("--kubeconfig"),
    Opt::one("--role-arn"),
    Opt::flag("--dry-run"),
    Opt::flag("--verbose"),
    Opt::one("--alias"),
]);

const GET_TOKEN: Spec = Spec::new(&[
    Opt::one("--cluster-name"),
    Opt::one("--role-arn"),
    Opt::one("--cluster-id"),
]);

fn update_kubeconfig(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let opts = opts::parse(args, &UPDATE_KUBECONFIG)?;
    let name = opts.one("--name").unwrap_or_default().to_string();
    let has = |f: &str| opts.flag(f);
    let service = kagi_api::service("eks")
        .ok_or_else(|| CliError::General("EKS missing from the model".into()))?;
    let op = service
        .operation("DescribeCluster")
        .ok_or_else(|| CliError::General("DescribeCluster missing from the model".into()))?;
    let s = Session::new(env, g)?;
    let described = (|| {
        let (ep, creds) = crate::calls::prepare_op(&s, op, io)?;
        let sig = creds.as_ref().map(crate::creds::Creds::to_sigv4);
        s.call(op, &ep, sig.as_ref(), &json!({ "name": name }))
    })();
    crate::calls::flush_debug(&s, io);
    let cluster = described?.get("cluster").cloned().unwrap_or(Value::Null);
    match cluster.get("status").and_then(Value::as_str) {
        None => return Err(CliError::General("Cluster not found".into())),
        Some("ACTIVE" | "UPDATING") => {}
        Some(other) => {
            return Err(CliError::General(format!("Cluster status is {other}")));
        }
    }
    let text = |k: &str| cluster.get(k).and_then(Value::as_str).unwrap_or_default();
    let arn = text("arn").to_string();
    let cert = cluster
        .get("certificateAuthority")
        .and_then(|c| c.get("data"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let new_cluster = Doc::Map(vec![
        (
            "cluster".into(),
            Doc::Map(vec![
                ("certificate-authority-data".into(), Doc::Str(cert.into())),
                ("server".into(), Doc::Str(text("endpoint").into())),
            ]),
        ),
        ("name".into(), Doc::Str(arn.clone())),
    ]);
    let region = arn.split(':').nth(3).unwrap_or_default();
    let (id_param, id_value) = if cluster.get("outpostConfig").is_some_and(|o| !o.is_null()) {
        ("--cluster-id", text("id").to_string())
    } else {
        ("--cluster-name", name.clone())
    };
    let mut exec_args: Vec<Doc> = ["--region", region, "eks", "get-token", id_param, &id_value]
        .iter()
        .map(|a| Doc::Str(a.to_string()))
        .collect();
    if let Some(role) = opts.one("--role-arn").map(str::to_string) {
        exec_args.push(Doc::Str("--role".into()));
        exec_args.push(Doc::Str(role));
    }
    let mut exec = vec![
        ("apiVersion".to_string(), Doc::Str(API_VERSION.into())),
        ("args".to_string(), Doc::List(exec_args)),
        ("command".to_string(), Doc::Str("aws".into())),
    ];
    let choice = crate::config::choose_profile(g.profile.as_deref(), env);
    if choice.explicit {
        exec.push((
            "env".into(),
            Doc::List(vec![Doc::Map(vec![
                ("name".into(), Doc::Str("AWS_PROFILE".into())),
                ("value".into(), Doc::Str(choice.name.clone())),
            ])]),
        ));
    }
    let new_user = Doc::Map(vec![
        ("name".into(), Doc::Str(arn.clone())),
        (
            "user".into(),
            Doc::Map(vec![("exec".into(), Doc::Map(exec))]),
        ),
    ]);

    let (path, mut content) =
        choose_kubeconfig(env, opts.one("--kubeconfig").map(str::to_string), &arn)?;
    let updating = has_named(&content, "clusters", &arn);
    let context_name = opts
        .one("--alias")
        .map(str::to_string)
        .unwrap_or_else(|| arn.clone());
    let context = Doc::Map(vec![
        (
            "context".into(),
            Doc::Map(vec![
                ("cluster".into(), Doc::Str(arn.clone())),
                ("user".into(), Doc::Str(arn.clone())),
            ]),
        ),
        ("name".into(), Doc::Str(context_name.clone())),
    ]);
    insert_entry(&mut content, "clusters", new_cluster.clone())?;
    insert_entry(&mut content, "users", new_user.clone())?;
    insert_entry(&mut content, "contexts", context.clone())?;
    content.insert("current-context", Doc::Str(context_name.clone()));
    let yaml = crate::output::to_yaml_ordered(&content);
    if has("--dry-run") {
        write!(io.stdout, "{yaml}")?;
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::General(format!("Can't create directory for writing: {e}")))?;
    }
    crate::creds::write_private(&path, yaml.as_bytes())
        .map_err(|e| CliError::General(format!("Can't open kubeconfig for writing: {e}")))?;
    writeln!(
        io.stdout,
        "{} context {context_name} {} {}",
        if updating { "Updated" } else { "Added new" },
        if updating { "in" } else { "to" },
        path.display()
    )?;
    if has("--verbose") {
        write!(io.stdout, "Entries:\n\n")?;
        for entry in [&context, &new_user, &new_cluster] {
            writeln!(io.stdout, "{}", crate::output::to_yaml_ordered(entry))?;
        }
    }
    Ok(())
}

/// `os.path.abspath(os.path.expanduser(p))`.
fn absolute(env: &Env, p: &str) -> PathBuf {
    let p = match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", env.home.display())
        }
        _ => p.to_string(),
    };
    let p = Path::new(&p);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    // Normalise `.` and `..` as abspath does.
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// KubeconfigSelector: the file to update and its content.
fn choose_kubeconfig(
    env: &Env,
    explicit: Option<String>,
    cluster: &str,
) -> Result<(PathBuf, Doc), CliError> {
    let default = format!("{}/.kube/config", env.home.display());
    let paths: Vec<PathBuf> = match explicit {
        Some(p) => vec![absolute(env, &p)],
        None => {
            let var = env.var("KUBECONFIG").unwrap_or(&default).to_string();
            let mut v: Vec<PathBuf> = var
                .split(':')
                .filter(|p| !p.trim().is_empty())
                .map(|p| absolute(env, p))
                .collect();
            if v.is_empty() {
                v.push(absolute(env, &default));
            }
            v
        }
    };
    for p in &paths {
        if let Ok(content) = load(p)
            && has_named(&content, "clusters", cluster)
        {
            return Ok((p.clone(), content));
        }
    }
    let content = load(&paths[0])?;
    Ok((paths[0].clone(), content))
}

fn new_content() -> Doc {
    Doc::Map(vec![
        ("apiVersion".into(), Doc::Str("v1".into())),
        ("clusters".into(), Doc::List(Vec::new())),
        ("contexts".into(), Doc::List(Vec::new())),
        ("current-context".into(), Doc::Str(String::new())),
        ("kind".into(), Doc::Str("Config".into())),
        ("preferences".into(), Doc::Map(Vec::new())),
        ("users".into(), Doc::List(Vec::new())),
    ])
}

/// KubeconfigLoader: a missing file is a new kubeconfig; the content is validated as the AWS
/// CLI validates it (the known keys' types, list entries that are mappings).
fn load(path: &Path) -> Result<Doc, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(new_content()),
        Err(e) => {
            return Err(CliError::General(format!(
                "Can't open kubeconfig for reading: {e}"
            )));
        }
    };
    let doc = load_yaml(&text)
        .map_err(|e| CliError::General(format!("YamlError while loading kubeconfig: {e}")))?;
    let doc = match doc {
        Doc::Null => new_content(),
        d @ Doc::Map(_) => d,
        _ => {
            return Err(CliError::General("Content not a dictionary.".into()));
        }
    };
    for (key, want) in [
        ("apiVersion", "str"),
        ("clusters", "list"),
        ("contexts", "list"),
        ("current-context", "str"),
        ("kind", "str"),
        ("preferences", "dict"),
        ("users", "list"),
    ] {
        let ok = match (doc.get(key), want) {
            (None | Some(Doc::Null), _) => true,
            (Some(Doc::Str(_)), "str") | (Some(Doc::Map(_)), "dict") => true,
            (Some(Doc::List(items)), "list") => {
                if !items.iter().all(|i| matches!(i, Doc::Map(_))) {
                    return Err(CliError::General(format!(
                        "Entry in {key} not a dictionary."
                    )));
                }
                true
            }
            _ => false,
        };
        if !ok {
            return Err(CliError::General(format!(
                "{key} is wrong type (Should be {want})"
            )));
        }
    }
    Ok(doc)
}

fn has_named(content: &Doc, key: &str, name: &str) -> bool {
    match content.get(key) {
        Some(Doc::List(items)) => items
            .iter()
            .any(|i| matches!(i.get("name"), Some(Doc::Str(n)) if n == name)),
        _ => false,
    }
}

/// KubeconfigAppender.insert_entry: replace the entries of the same name, else append.
fn insert_entry(content: &mut Doc, key: &str, entry: Doc) -> Result<(), CliError> {
    if content.get(key).is_none_or(|v| matches!(v, Doc::Null)) {
        content.insert(key, Doc::List(Vec::new()));
    }
    let name = entry.get("name").cloned();
    let Doc::Map(m) = content else {
        return Err(CliError::General("Content not a dictionary.".into()));
    };
    let Some((_, Doc::List(items))) = m.iter_mut().find(|(k, _)| k == key) else {
        return Err(CliError::General(format!(
            "Tried to insert into {key}, which is not a list"
        )));
    };
    let mut found = false;
    for item in items.iter_mut() {
        if name.is_some() && item.get("name") == name.as_ref() {
            *item = entry.clone();
            found = true;
        }
    }
    if !found {
        items.push(entry);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// get-token

fn get_token(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    let opts = opts::parse(args, &GET_TOKEN)?;
    let name = opts.one("--cluster-name").map(str::to_string);
    let id = opts.one("--cluster-id").map(str::to_string);
    if name.is_some() && id.is_some() {
        return Err(CliError::BadParam(
            "cannot specify --cluster-name and --cluster-id together".into(),
        ));
    }
    let Some(identifier) = id.or(name) else {
        return Err(CliError::BadParam(
            "Either parameter --cluster-name or --cluster-id must be specified.".into(),
        ));
    };
    let sts = kagi_api::service("sts")
        .ok_or_else(|| CliError::General("STS missing from the model".into()))?;
    let s = Session::new(env, g)?;
    let result = (|| {
        // A client of its own, as the AWS CLI's STSClientFactory makes: the region and the
        // configured endpoint (`AWS_ENDPOINT_URL_STS`, ...), not `--endpoint-url`.
        let region = s.region()?;
        let ep = s.endpoint(sts, region.as_deref(), false)?;
        let mut sig = crate::creds::resolve(&s, io)?.to_sigv4();
        if let Some(role) = opts.one("--role-arn").map(str::to_string) {
            let op = sts
                .operation("AssumeRole")
                .ok_or_else(|| CliError::General("AssumeRole missing".into()))?;
            let out = s.call(
                op,
                &ep,
                Some(&sig),
                &json!({"RoleArn": role, "RoleSessionName": "EKSGetTokenAuth"}),
            )?;
            let c = &out["Credentials"];
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            sig = kagi_sigv4::Credentials {
                access_key_id: field("AccessKeyId"),
                secret_access_key: field("SecretAccessKey"),
                session_token: Some(field("SessionToken")),
            };
        }
        let url = presigned_caller_identity(&ep.url, &ep.signing_region, &sig, &identifier)?;
        let token = format!(
            "k8s-aws-v1.{}",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                url.as_bytes()
            )
        );
        let expires = SystemTime::now() + Duration::from_secs(14 * 60);
        let secs = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let api_version = discover_api_version(env, io)?;
        let doc = Doc::Map(vec![
            ("kind".into(), Doc::Str("ExecCredential".into())),
            ("apiVersion".into(), Doc::Str(api_version)),
            ("spec".into(), Doc::Map(Vec::new())),
            (
                "status".into(),
                Doc::Map(vec![
                    (
                        "expirationTimestamp".into(),
                        Doc::Str(kagi_api::Timestamp { secs, micros: 0 }.to_iso_z()),
                    ),
                    ("token".into(), Doc::Str(token)),
                ]),
            ),
        ]);
        writeln!(io.stdout, "{}", crate::output::to_json_compact(&doc))?;
        Ok(())
    })();
    crate::calls::flush_debug(&s, io);
    result
}

/// The client authentication API version `KUBERNETES_EXEC_INFO` asks for (v1 and v1beta1;
/// v1alpha1 with a deprecation notice; anything else falls back to v1beta1 with a notice).
fn discover_api_version(env: &Env, io: &mut Io) -> Result<String, CliError> {
    let Some(raw) = env.var("KUBERNETES_EXEC_INFO") else {
        return Ok(API_VERSION.into());
    };
    let notice = |io: &mut Io, text: String| -> Result<String, CliError> {
        writeln!(io.stderr, "{text}")?;
        Ok(API_VERSION.into())
    };
    let Ok(info) = serde_json::from_str::<Value>(raw) else {
        return notice(
            io,
            format!(
                "Error parsing KUBERNETES_EXEC_INFO, defaulting to {API_VERSION}. This is likely a bug in your Kubernetes client. Please update your Kubernetes client."
            ),
        );
    };
    match info.get("apiVersion").and_then(Value::as_str) {
        Some(v @ ("client.authentication.k8s.io/v1" | API_VERSION)) => Ok(v.to_string()),
        Some(v @ "client.authentication.k8s.io/v1alpha1") => {
            writeln!(
                io.stderr,
                "Kubeconfig user entry is using deprecated API version {v}. Run 'aws eks update-kubeconfig' to update."
            )?;
            Ok(v.to_string())
        }
        _ => notice(
            io,
            format!(
                "Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to {API_VERSION}. This is likely due to an outdated AWS CLI. Please update your AWS CLI."
            ),
        ),
    }
}

/// botocore's `generate_presigned_url('get_caller_identity', ExpiresIn=60, HttpMethod='GET')`
/// with the `x-k8s-aws-id` header signed.
fn presigned_caller_identity(
    endpoint: &str,
    region: &str,
    creds: &kagi_sigv4::Credentials,
    cluster: &str,
) -> Result<String, CliError> {
    let (scheme_host, base_path, _) =
        crate::http::split_url(endpoint).map_err(CliError::General)?;
    let authority = scheme_host
        .split_once("://")
        .map_or(scheme_host.as_str(), |x| x.1);
    let host = if scheme_host.starts_with("https://") {
        authority.strip_suffix(":443").unwrap_or(authority)
    } else {
        authority.strip_suffix(":80").unwrap_or(authority)
    };
    let path = if base_path.is_empty() {
        "/"
    } else {
        &base_path
    };
    let query = "Action=GetCallerIdentity&Version=2011-06-15";
    let params = kagi_sigv4::SigningParams {
        region,
        service: "sts",
        time: SystemTime::now(),
    };
    let q = kagi_sigv4::presign(
        "GET",
        path,
        query,
        &[
            ("host".to_string(), host.to_string()),
            ("x-k8s-aws-id".to_string(), cluster.to_string()),
        ],
        b"",
        creds,
        &params,
        Duration::from_secs(60),
    )
    .map_err(|e| CliError::General(e.to_string()))?;
    Ok(format!("{scheme_host}{path}?{q}"))
}

// ---------------------------------------------------------------------------------------
// A block-YAML reader for kubeconfig files

struct Line {
    indent: usize,
    text: String,
    number: usize,
}

/// Parses the block YAML of a kubeconfig into a [`Doc`] (mapping order kept; plain scalars
/// typed as YAML 1.2's core schema types them: null, booleans, numbers, else strings).
pub fn load_yaml(text: &str) -> Result<Doc, String> {
    let mut lines: Vec<Line> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_end();
        let content = trimmed.trim_start();
        if content.is_empty()
            || content.starts_with('#')
            || content == "---"
            || content.starts_with("%")
        {
            continue;
        }
        if content == "..." {
            break;
        }
        if raw.starts_with('\t') {
            return Err(format!(
                "line {}: tabs are not allowed for indentation",
                n + 1
            ));
        }
        lines.push(Line {
            indent: trimmed.len() - content.len(),
            text: content.to_string(),
            number: n + 1,
        });
    }
    if lines.is_empty() {
        return Ok(Doc::Null);
    }
    let mut i = 0;
    let doc = node(&mut lines, &mut i, 0)?;
    match lines.get(i) {
        Some(l) => Err(format!("line {}: unexpected content", l.number)),
        None => Ok(doc),
    }
}

/// The node starting at `lines[*i]`, whose indent is at least `min`.
fn node(lines: &mut [Line], i: &mut usize, min: usize) -> Result<Doc, String> {
    let Some(first) = lines.get(*i) else {
        return Ok(Doc::Null);
    };
    if first.indent < min {
        return Ok(Doc::Null);
    }
    let indent = first.indent;
    if first.text == "-" || first.text.starts_with("- ") {
        let mut items = Vec::new();
        while let Some(l) = lines.get(*i) {
            if l.indent != indent || !(l.text == "-" || l.text.starts_with("- ")) {
                break;
            }
            let rest = l.text[1..].trim_start().to_string();
            if rest.is_empty() {
                *i += 1;
                items.push(node(lines, i, indent + 1)?);
            } else {
                // `- key: v` / `- scalar`: the item's content as a line of its own, at its
                // column.
                let column = indent + (l.text.len() - rest.len());
                lines[*i].indent = column;
                lines[*i].text = rest;
                items.push(node(lines, i, column)?);
            }
        }
        return Ok(Doc::List(items));
    }
    if let Some((key, _)) = split_key(&first.text) {
        let _ = key;
        let mut entries: Vec<(String, Doc)> = Vec::new();
        while let Some(l) = lines.get(*i) {
            if l.indent != indent {
                if l.indent > indent {
                    return Err(format!("line {}: bad indentation", l.number));
                }
                break;
            }
            let number = l.number;
            let Some((key, value)) = split_key(&l.text) else {
                return Err(format!("line {number}: expected a mapping key"));
            };
            *i += 1;
            let v = if value.is_empty() {
                // A nested block: deeper, or a sequence at the same indent.
                match lines.get(*i) {
                    Some(n) if n.indent > indent => node(lines, i, indent + 1)?,
                    Some(n)
                        if n.indent == indent && (n.text == "-" || n.text.starts_with("- ")) =>
                    {
                        node(lines, i, indent)?
                    }
                    _ => Doc::Null,
                }
            } else {
                scalar(&value).map_err(|e| format!("line {number}: {e}"))?
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(format!("line {number}: duplicate key {key:?}"));
            }
            entries.push((key, v));
        }
        return Ok(Doc::Map(entries));
    }
    let number = first.number;
    let text = first.text.clone();
    *i += 1;
    scalar(&text).map_err(|e| format!("line {number}: {e}"))
}

/// `key: value` (the key plain or quoted) → (key, value text), or `None`.
fn split_key(text: &str) -> Option<(String, String)> {
    let (key, rest) = if text.starts_with('"') || text.starts_with('\'') {
        let end = quoted_end(text)?;
        let rest = &text[end..];
        let rest = rest.strip_prefix(':')?;
        let Ok(Doc::Str(k)) = scalar(&text[..end]) else {
            return None;
        };
        (k, rest)
    } else {
        let mut at = None;
        let b = text.as_bytes();
        for (j, c) in b.iter().enumerate() {
            if *c == b':' && (j + 1 == b.len() || b[j + 1] == b' ') {
                at = Some(j);
                break;
            }
            if *c == b' ' && b.get(j + 1) == Some(&b'#') {
                return None;
            }
        }
        let j = at?;
        (text[..j].trim_end().to_string(), &text[j + 1..])
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key, strip_comment(rest.trim()).to_string()))
}

/// The byte index just past the closing quote of the quoted scalar `text` starts with.
fn quoted_end(text: &str) -> Option<usize> {
    let q = text.as_bytes()[0];
    let b = text.as_bytes();
    let mut j = 1;
    while j < b.len() {
        if q == b'"' && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if q == b'\'' && b.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// A trailing ` # comment` removed from a plain value.
fn strip_comment(v: &str) -> &str {
    if v.starts_with('"') || v.starts_with('\'') {
        return v;
    }
    match v.find(" #") {
        Some(j) => v[..j].trim_end(),
        None => v,
    }
}

fn scalar(text: &str) -> Result<Doc, String> {
    let t = text.trim();
    if t.starts_with('"') || t.starts_with('\'') {
        let end = quoted_end(t).ok_or("an unterminated quoted scalar")?;
        if !strip_comment(t[end..].trim()).is_empty() {
            return Err("content after a quoted scalar".into());
        }
        let inner = &t[1..end - 1];
        if t.starts_with('\'') {
            return Ok(Doc::Str(inner.replace("''", "'")));
        }
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some(' ') => out.push(' '),
                Some(u @ ('x' | 'u' | 'U')) => {
                    let n = match u {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.by_ref().take(n).collect();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("a bad escape")?;
                    out.push(c);
                }
                _ => return Err("an unsupported escape".into()),
            }
        }
        return Ok(Doc::Str(out));
    }
    let t = strip_comment(t);
    match t {
        "{}" => return Ok(Doc::Map(Vec::new())),
        "[]" => return Ok(Doc::List(Vec::new())),
        _ => {}
    }
    if t.starts_with(['{', '[', '&', '*', '!', '|', '>', '@', '`']) {
        return Err(format!("{t:?} is YAML kagi does not read in a kubeconfig"));
    }
    if !crate::output::resolves_non_str(t) {
        return Ok(Doc::Str(t.to_string()));
    }
    Ok(match t {
        "" | "~" | "null" | "Null" | "NULL" => Doc::Null,
        "true" | "True" | "TRUE" => Doc::Bool(true),
        "false" | "False" | "FALSE" => Doc::Bool(false),
        _ => match serde_json::from_str::<serde_json::Number>(t) {
            Ok(n) => Doc::Num(n),
            // Octal, hexadecimal, timestamps...: kept as the text they are.
            Err(_) => Doc::Str(t.to_string()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_kubectl_and_the_aws_cli_write() {
        let text = r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0t
    server: https://127.0.0.1:6443
  name: kind-kind
# a comment
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: "kind-kind"
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    exec:
      args:
      - --region
      - 'us-east-1'
      - "x\ty"
      interactiveMode: IfAvailable
      provideClusterInfo: false
    token: null
    n: 12
"#;
        let d = load_yaml(text).unwrap();
        assert_eq!(
            d.get("current-context"),
            Some(&Doc::Str("kind-kind".into()))
        );
        let Some(Doc::List(users)) = d.get("users") else {
            panic!("{d:?}")
        };
        let exec = users[0].get("user").unwrap().get("exec").unwrap();
        assert_eq!(
            exec.get("args"),
            Some(&Doc::List(vec![
                Doc::Str("--region".into()),
                Doc::Str("us-east-1".into()),
                Doc::Str("x\ty".into())
            ]))
        );
        assert_eq!(exec.get("provideClusterInfo"), Some(&Doc::Bool(false)));
        assert_eq!(users[0].get("user").unwrap().get("token"), Some(&Doc::Null));
        // What kagi writes, it reads back the same.
        let again = load_yaml(&crate::output::to_yaml_ordered(&d)).unwrap();
        assert_eq!(again, d);
        assert!(load_yaml("a: &x 1\n").is_err());
        assert!(load_yaml("a: [1, 2]\n").is_err());
        assert!(load_yaml("a: 1\n  b: 2\n").is_err());
        assert_eq!(load_yaml("").unwrap(), Doc::Null);
    }
}
