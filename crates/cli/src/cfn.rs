//! AWS CLI v2's hand-written `cloudformation deploy` and `cloudformation package`
//! (`awscli/customizations/cloudformation/`).
//!
//! * `deploy --template-file F --stack-name S`: DescribeStacks decides CREATE or UPDATE
//!   (a stack in `REVIEW_IN_PROGRESS` counts as absent), the template's `Parameters` become
//!   `--parameter-overrides` values or `UsePreviousValue` (dropped where the stack does not have
//!   the parameter: GetTemplateSummary), CreateChangeSet `awscli-cloudformation-package-deploy-
//!   EPOCH` (the body inline, or above 51,200 bytes uploaded to `--s3-bucket` and passed as a
//!   path-style `TemplateURL`), the `ChangeSetCreateComplete` waiter every 5 s, then
//!   ExecuteChangeSet and `StackCreateComplete`/`StackUpdateComplete` (30 s, 120 attempts)
//!   unless `--no-execute-changeset`. An empty change set prints `No changes to deploy. Stack S
//!   is up to date` (status 0; an error, 255, with `--fail-on-empty-changeset`).
//!   `--parameter-overrides` takes `K=V ...` or v2's JSON forms.
//! * `package --template-file F --s3-bucket B`: every artifact property the official CLI
//!   knows (Lambda and Serverless code, layers, API definitions, nested stacks — exported
//!   recursively —, AppSync templates, Glue scripts, Step Functions definitions, `AWS::Include`,
//!   …) that names a local file or folder is uploaded as `[PREFIX/]MD5[.template]` (folders,
//!   and single files of the types that must be zips, zipped first), unless the key already
//!   exists (`--force-upload` uploads anyway), with `ServerSideEncryption` (`aws:kms` with
//!   `--kms-key-id`) and `--metadata`; the template is written back as PyYAML writes it
//!   (`--use-json`: JSON) to stdout or `--output-template-file`.
//!
//! `KAGI_WAITER_DELAY` (seconds) overrides the waiters' delays, as for `SERVICE wait`.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use md5::Digest as _;
use serde_json::{Map, Value, json};

use crate::http::{FileSlice, Session, Sink};
use crate::opts::{Opt, Spec};
use crate::waiter::Outcome;
use crate::{CliError, Env, Globals, Io};

pub fn run(g: &Globals, sub: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    match sub.first().map(String::as_str) {
        Some("deploy") => deploy(g, &sub[1..], env, io),
        Some("package") => package(g, &sub[1..], env, io),
        _ => Err(CliError::General(
            "not a cloudformation customization".into(),
        )),
    }
}

/// The model's operation `name` of `service`.
fn op(service: &str, name: &str) -> Result<&'static kagi_api::Operation, CliError> {
    kagi_api::service(service)
        .and_then(|s| s.operation(name))
        .ok_or_else(|| CliError::General(format!("{service} {name} is missing from the model")))
}

/// One service's endpoint and signing key, and calls through it.
struct Client<'s, 'a> {
    s: &'s Session<'a>,
    service: &'static str,
    ep: crate::http::Endpoint,
    sig: Option<kagi_sigv4::Credentials>,
}

impl<'s, 'a> Client<'s, 'a> {
    /// The official commands make their S3 client without `--endpoint-url` (a configured
    /// endpoint such as `AWS_ENDPOINT_URL` still applies): S3 is asked for it so.
    fn new(s: &'s Session<'a>, service: &'static str, io: &mut Io) -> Result<Self, CliError> {
        let svc = kagi_api::service(service)
            .ok_or_else(|| CliError::General(format!("{service} is missing from the model")))?;
        let (mut ep, creds) = crate::calls::prepare(s, svc, io)?;
        if service == "s3api" {
            ep = s.endpoint(svc, s.region()?.as_deref(), false)?;
        }
        Ok(Client {
            s,
            service,
            ep,
            sig: creds.as_ref().map(crate::creds::Creds::to_sigv4),
        })
    }

    fn call(&self, name: &str, input: Value) -> Result<Value, CliError> {
        self.s
            .call(op(self.service, name)?, &self.ep, self.sig.as_ref(), &input)
    }

    fn put_file(&self, input: Value, path: &Path) -> Result<Value, CliError> {
        let slice = FileSlice::whole(path).map_err(CliError::from)?;
        self.s.call_with(
            op(self.service, "PutObject")?,
            &self.ep,
            self.sig.as_ref(),
            &input,
            Some(slice),
            Sink::Memory,
        )
    }

    /// botocore's `WaiterConfig`: `delay` (or `KAGI_WAITER_DELAY`) and `max_attempts`.
    /// On failure, the error and the last response.
    fn wait(
        &self,
        env: &Env,
        name: &str,
        delay: u32,
        max_attempts: Option<u32>,
        input: &Value,
    ) -> Result<(), Box<(CliError, Option<Value>)>> {
        let found =
            kagi_api::service(self.service).and_then(|s| s.waiters().find(|(_, w)| w.name == name));
        let Some((wop, w)) = found else {
            return Err(Box::new((
                CliError::General(format!("waiter {name} is missing from the model")),
                None,
            )));
        };
        let mut waiter = w.clone();
        waiter.delay = delay;
        if let Some(m) = max_attempts {
            waiter.max_attempts = m;
        }
        let delay = env
            .var("KAGI_WAITER_DELAY")
            .and_then(|d| d.trim().parse::<f64>().ok())
            .unwrap_or(delay as f64)
            .max(0.0);
        let last = RefCell::new(None);
        let r = crate::waiter::wait(&waiter, delay, &mut || {
            let r = self.s.call(wop, &self.ep, self.sig.as_ref(), input);
            let status = self.s.last_status.get();
            match r {
                Ok(v) => {
                    *last.borrow_mut() = Some(v.clone());
                    Ok(Outcome::Response(v, status))
                }
                Err(CliError::Service { code, message, .. }) => {
                    Ok(Outcome::Error(code, message, status))
                }
                Err(e) => Err(e),
            }
        });
        r.map_err(|e| Box::new((e, last.into_inner())))
    }
}

/// `~` expanded (`os.path.expanduser`); relative paths stay relative to the working directory.
fn expand(env: &Env, p: &str) -> PathBuf {
    match p.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{}{rest}", env.home.display()))
        }
        _ => PathBuf::from(p),
    }
}

/// Python's `repr()` of a list of strings (`['a', 'b']`).
fn py_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| crate::output::Doc::List(vec![crate::output::Doc::Str((*s).to_string())]).py_str())
        .map(|r| r[1..r.len() - 1].to_string())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// `parse_key_value_arg`: `K=V` items, split at the first `=`.
fn key_values(items: &[String], argname: &str) -> Result<Vec<(String, String)>, CliError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for data in items {
        match data.split_once('=') {
            Some((k, v)) => {
                if let Some(e) = out.iter_mut().find(|(ek, _)| ek == k) {
                    e.1 = v.to_string();
                } else {
                    out.push((k.to_string(), v.to_string()));
                }
            }
            None => {
                return Err(CliError::General(format!(
                    "{} value passed to --{argname} must be of format Key=Value",
                    py_list(&[data])
                )));
            }
        }
    }
    Ok(out)
}

/// v2's `parse_parameter_overrides`: JSON (`["K=V"]`, `[{"ParameterKey","ParameterValue"}]`
/// or CodePipeline's `{"Parameters": {...}}`, inline or from `file://`), else `K=V` items.
fn parameter_overrides(items: &[String], env: &Env) -> Result<Vec<(String, String)>, CliError> {
    let Some(first) = items.first() else {
        return Ok(Vec::new());
    };
    let first = crate::params::read_file_arg("--parameter-overrides", first, env)?;
    let Ok(data) = serde_json::from_str::<Value>(&first) else {
        return key_values(items, "parameter-overrides");
    };
    let invalid = || {
        CliError::ParamValidation(vec![
            "JSON passed to --parameter-overrides must be one of the formats: [\"Key1=Value1\",\"Key2=Value2\", ...] , [{\"ParameterKey\": \"Key1\", \"ParameterValue\": \"Value1\"}, ...] , [\"Parameters\": {\"Key1\": \"Value1\", \"Key2\": \"Value2\", ...}]".into(),
        ])
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Value::Array(list) = &data
        && list.iter().all(|p| {
            p.as_object().is_some_and(|o| {
                o.contains_key("ParameterKey") && o.contains_key("ParameterValue") && o.len() <= 2
            })
        })
    {
        return Ok(list
            .iter()
            .map(|p| (text(&p["ParameterKey"]), text(&p["ParameterValue"])))
            .collect());
    }
    if let Some(Value::Object(p)) = data.get("Parameters")
        && data.is_object()
    {
        return Ok(p.iter().map(|(k, v)| (k.clone(), text(v))).collect());
    }
    if let Value::Array(list) = &data
        && list
            .iter()
            .all(|p| p.as_str().is_some_and(|s| s.contains('=')))
    {
        let items: Vec<String> = list.iter().map(text).collect();
        return key_values(&items, "parameter-overrides");
    }
    Err(invalid())
}

fn now_iso() -> String {
    let t = kagi_api::time::Timestamp::from_system_time(std::time::SystemTime::now());
    let s = t.to_iso_z_micros();
    s.trim_end_matches('Z').to_string()
}

fn epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

const DEPLOY_OPTS: Spec = Spec::new(&[
    Opt::one("--template-file").required(),
    Opt::one("--stack-name").required(),
    Opt::one("--s3-bucket"),
    Opt::flag("--force-upload"),
    Opt::one("--s3-prefix"),
    Opt::one("--kms-key-id"),
    Opt::list("--parameter-overrides"),
    Opt::list("--capabilities"),
    Opt::flag("--no-execute-changeset"),
    Opt::flag("--disable-rollback"),
    Opt::flag("--no-disable-rollback"),
    Opt::one("--role-arn"),
    Opt::list("--notification-arns"),
    Opt::flag("--fail-on-empty-changeset"),
    Opt::flag("--no-fail-on-empty-changeset"),
    Opt::list("--tags"),
]);

fn deploy(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if args.first().is_some_and(|a| a == "help") {
        writeln!(
            io.stdout,
            "deploy\n\nDeploys the specified AWS CloudFormation template by creating and then executing a change set. The command terminates after AWS CloudFormation executes the change set. If you want to view the change set before AWS CloudFormation executes it, use the --no-execute-changeset flag.\n\nSynopsis\n\n  deploy\n--template-file <value>\n--stack-name <value>\n[--s3-bucket <value>]\n[--force-upload]\n[--s3-prefix <value>]\n[--kms-key-id <value>]\n[--parameter-overrides <value> [<value>...]]\n[--capabilities <value> [<value>...]]\n[--no-execute-changeset]\n[--disable-rollback | --no-disable-rollback]\n[--role-arn <value>]\n[--notification-arns <value> [<value>...]]\n[--fail-on-empty-changeset | --no-fail-on-empty-changeset]\n[--tags <value> [<value>...]]"
        )?;
        return Ok(());
    }
    let o = crate::opts::parse(args, &DEPLOY_OPTS)?;
    let stack = o.one("--stack-name").unwrap_or_default().to_string();
    let path = expand(env, o.one("--template-file").unwrap_or_default());
    if !path.is_file() {
        return Err(CliError::General(format!(
            "Invalid template path {}",
            path.display()
        )));
    }
    let template = std::fs::read_to_string(&path).map_err(CliError::from)?;
    let overrides = parameter_overrides(o.many("--parameter-overrides").unwrap_or(&[]), env)?;
    let tags = key_values(o.many("--tags").unwrap_or(&[]), "tags")?;
    let doc = crate::cfn_yaml::parse(&template)
        .map_err(|e| CliError::General(format!("Invalid template {}: {e}", path.display())))?;
    // merge_parameters: every parameter of the template, overridden or the previous value.
    let mut parameters: Vec<Value> = Vec::new();
    if let Some(Value::Object(ps)) = doc.get("Parameters") {
        for key in ps.keys() {
            match overrides.iter().find(|(k, _)| k == key) {
                Some((_, v)) => parameters.push(json!({"ParameterKey": key, "ParameterValue": v})),
                None => parameters.push(json!({"ParameterKey": key, "UsePreviousValue": true})),
            }
        }
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let bucket = o.one("--s3-bucket").map(str::to_string);
    if size > 51_200 && bucket.is_none() {
        return Err(CliError::General(
            "Templates with a size greater than 51,200 bytes must be deployed via an S3 Bucket. Please add the --s3-bucket parameter to your command. The local template will be copied to that S3 bucket and then deployed.".into(),
        ));
    }
    let execute = !o.flag("--no-execute-changeset");
    let disable_rollback = o
        .last_of("--disable-rollback", "--no-disable-rollback")
        .unwrap_or(false);
    let fail_on_empty = o
        .last_of("--fail-on-empty-changeset", "--no-fail-on-empty-changeset")
        .unwrap_or(false);
    let s = Session::new(env, g)?;
    let result = (|| {
        let cfn = Client::new(&s, "cloudformation", io)?;
        // has_stack
        let exists = match cfn.call("DescribeStacks", json!({"StackName": stack})) {
            Ok(v) => {
                let stacks = v["Stacks"].as_array().cloned().unwrap_or_default();
                stacks.len() == 1 && stacks[0]["StackStatus"] != "REVIEW_IN_PROGRESS"
            }
            Err(CliError::Service { message, .. })
                if message.contains(&format!("Stack with id {stack} does not exist")) =>
            {
                false
            }
            Err(e) => return Err(e),
        };
        let change_set_type = if exists { "UPDATE" } else { "CREATE" };
        let parameters: Vec<Value> = if exists {
            let summary = cfn.call("GetTemplateSummary", json!({"StackName": stack}))?;
            let existing: Vec<&str> = summary["Parameters"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p["ParameterKey"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            parameters
                .into_iter()
                .filter(|p| {
                    p.get("UsePreviousValue").is_none()
                        || existing.contains(&p["ParameterKey"].as_str().unwrap_or_default())
                })
                .collect()
        } else {
            parameters
                .into_iter()
                .filter(|p| p.get("UsePreviousValue").is_none())
                .collect()
        };
        let mut input = Map::new();
        input.insert(
            "ChangeSetName".into(),
            json!(format!(
                "awscli-cloudformation-package-deploy-{}",
                epoch_secs()
            )),
        );
        input.insert("StackName".into(), json!(stack));
        if let Some(b) = &bucket {
            let s3 = Client::new(&s, "s3api", io)?;
            let up = Uploader {
                s3: &s3,
                bucket: b.clone(),
                prefix: o.one("--s3-prefix").map(str::to_string),
                kms_key_id: o.one("--kms-key-id").map(str::to_string),
                force: o.flag("--force-upload"),
                metadata: None,
            };
            let tmp = TempFile::new("template")?;
            std::fs::write(&tmp.0, &template).map_err(CliError::from)?;
            let key = up.upload_with_dedup(&tmp.0, Some("template"), io)?;
            input.insert("TemplateURL".into(), json!(up.path_style_url(&key)));
        } else {
            input.insert("TemplateBody".into(), json!(template));
        }
        input.insert("ChangeSetType".into(), json!(change_set_type));
        input.insert("Parameters".into(), Value::Array(parameters));
        input.insert(
            "Capabilities".into(),
            json!(o.many("--capabilities").unwrap_or(&[])),
        );
        input.insert(
            "Description".into(),
            json!(format!("Created by AWS CLI at {} UTC", now_iso())),
        );
        input.insert(
            "Tags".into(),
            Value::Array(
                tags.iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect(),
            ),
        );
        if let Some(r) = o.one("--role-arn") {
            input.insert("RoleARN".into(), json!(r));
        }
        if let Some(n) = o.many("--notification-arns") {
            input.insert("NotificationARNs".into(), json!(n));
        }
        let created = cfn.call("CreateChangeSet", Value::Object(input))?;
        let id = created["Id"].as_str().unwrap_or_default().to_string();
        write!(io.stdout, "\nWaiting for changeset to be created..\n")?;
        io.stdout.flush()?;
        let waited = cfn.wait(
            env,
            "ChangeSetCreateComplete",
            5,
            None,
            &json!({"ChangeSetName": id, "StackName": stack}),
        );
        if let Err(failure) = waited {
            let (e, last) = *failure;
            let Some(last) = last else { return Err(e) };
            let status = last["Status"].as_str().unwrap_or_default();
            let reason = last["StatusReason"].as_str().unwrap_or_default();
            if (status == "FAILED"
                && reason.contains("The submitted information didn't contain changes."))
                || reason.contains("No updates are to be performed")
            {
                let msg = format!("No changes to deploy. Stack {stack} is up to date");
                if fail_on_empty {
                    return Err(CliError::General(msg));
                }
                write!(io.stdout, "\n{msg}\n")?;
                return Ok(());
            }
            return Err(CliError::General(format!(
                "Failed to create the changeset: {} Status: {status}. Reason: {reason}",
                e.message()
            )));
        }
        if execute {
            cfn.call(
                "ExecuteChangeSet",
                json!({"ChangeSetName": id, "StackName": stack, "DisableRollback": disable_rollback}),
            )?;
            writeln!(io.stdout, "Waiting for stack create/update to complete")?;
            io.stdout.flush()?;
            let waiter = if change_set_type == "CREATE" {
                "StackCreateComplete"
            } else {
                "StackUpdateComplete"
            };
            if cfn
                .wait(env, waiter, 30, Some(120), &json!({"StackName": stack}))
                .is_err()
            {
                return Err(CliError::General(format!(
                    "Failed to create/update the stack. Run the following command\nto fetch the list of events leading up to the failure\naws cloudformation describe-stack-events --stack-name {stack}"
                )));
            }
            writeln!(io.stdout, "Successfully created/updated stack - {stack}")?;
        } else {
            write!(
                io.stdout,
                "Changeset created successfully. Run the following command to review changes:\naws cloudformation describe-change-set --change-set-name {id}\n"
            )?;
        }
        io.stdout.flush()?;
        Ok(())
    })();
    crate::calls::flush_debug(&s, io);
    result
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Result<TempFile, CliError> {
        let p = std::env::temp_dir().join(format!("kagi-{tag}-{}", crate::http::uuid_v4()));
        Ok(TempFile(p))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// `S3Uploader`: content-addressed keys, skipped when the key exists.
struct Uploader<'c, 's, 'a> {
    s3: &'c Client<'s, 'a>,
    bucket: String,
    prefix: Option<String>,
    kms_key_id: Option<String>,
    force: bool,
    metadata: Option<Map<String, Value>>,
}

impl Uploader<'_, '_, '_> {
    /// `upload_with_dedup`: the file's MD5 (plus `.EXT`) under the prefix; the key.
    fn upload_with_dedup(
        &self,
        file: &Path,
        extension: Option<&str>,
        io: &mut Io,
    ) -> Result<String, CliError> {
        let bytes = std::fs::read(file).map_err(CliError::from)?;
        let mut name = hex(&md5::Md5::digest(&bytes));
        if let Some(e) = extension {
            name = format!("{name}.{e}");
        }
        let key = match self.prefix.as_deref() {
            Some(p) if !p.is_empty() => format!("{p}/{name}"),
            _ => name,
        };
        if !self.force
            && self
                .s3
                .call("HeadObject", json!({"Bucket": self.bucket, "Key": key}))
                .is_ok()
        {
            return Ok(key);
        }
        let mut input = Map::new();
        input.insert("Bucket".into(), json!(self.bucket));
        input.insert("Key".into(), json!(key));
        match &self.kms_key_id {
            Some(k) if !k.is_empty() => {
                input.insert("ServerSideEncryption".into(), json!("aws:kms"));
                input.insert("SSEKMSKeyId".into(), json!(k));
            }
            _ => {
                input.insert("ServerSideEncryption".into(), json!("AES256"));
            }
        }
        if let Some(m) = self.metadata.as_ref().filter(|m| !m.is_empty()) {
            input.insert("Metadata".into(), Value::Object(m.clone()));
        }
        input.insert("ChecksumAlgorithm".into(), json!("CRC32"));
        match self.s3.put_file(Value::Object(input), file) {
            Ok(_) => {}
            Err(CliError::Service { code, .. }) if code == "NoSuchBucket" => {
                return Err(CliError::General(format!(
                    "S3 Bucket does not exist. Execute the command to create a new bucket\naws s3 mb s3://{}",
                    self.bucket
                )));
            }
            Err(e) => return Err(e),
        }
        let size = bytes.len();
        let _ = write!(
            io.stderr,
            "\rUploading to {key}  {size} / {size}.0  (100.00%)"
        );
        Ok(key)
    }

    fn s3_url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// `to_path_style_s3_url`: the client's endpoint, the bucket, the key.
    fn path_style_url(&self, key: &str) -> String {
        let base = self.s3.ep.url.trim_end_matches('/');
        format!("{base}/{}/{key}", self.bucket)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What the official exporters know: type, property (a dotted path), whether a missing
/// property packages the template's folder, whether a single file must be zipped, and for
/// the dict form the bucket/key/version member names.
struct Exporter {
    resource_type: &'static str,
    property: &'static str,
    package_null: bool,
    force_zip: bool,
    dict: Option<(&'static str, &'static str, Option<&'static str>)>,
    nested_template: bool,
}

const fn ex(resource_type: &'static str, property: &'static str) -> Exporter {
    Exporter {
        resource_type,
        property,
        package_null: true,
        force_zip: false,
        dict: None,
        nested_template: false,
    }
}

const EXPORTERS: &[Exporter] = &[
    Exporter {
        force_zip: true,
        ..ex("AWS::Serverless::Function", "CodeUri")
    },
    Exporter {
        package_null: false,
        ..ex("AWS::Serverless::Api", "DefinitionUri")
    },
    Exporter {
        package_null: false,
        ..ex("AWS::AppSync::GraphQLSchema", "DefinitionS3Location")
    },
    Exporter {
        package_null: false,
        ..ex("AWS::AppSync::Resolver", "RequestMappingTemplateS3Location")
    },
    Exporter {
        package_null: false,
        ..ex(
            "AWS::AppSync::Resolver",
            "ResponseMappingTemplateS3Location",
        )
    },
    Exporter {
        package_null: false,
        ..ex(
            "AWS::AppSync::FunctionConfiguration",
            "RequestMappingTemplateS3Location",
        )
    },
    Exporter {
        package_null: false,
        ..ex(
            "AWS::AppSync::FunctionConfiguration",
            "ResponseMappingTemplateS3Location",
        )
    },
    Exporter {
        package_null: false,
        dict: Some(("Bucket", "Key", Some("Version"))),
        ..ex("AWS::ApiGateway::RestApi", "BodyS3Location")
    },
    Exporter {
        force_zip: true,
        dict: Some(("S3Bucket", "S3Key", Some("S3ObjectVersion"))),
        ..ex("AWS::Lambda::Function", "Code")
    },
    Exporter {
        dict: Some(("S3Bucket", "S3Key", None)),
        ..ex("AWS::ElasticBeanstalk::ApplicationVersion", "SourceBundle")
    },
    Exporter {
        nested_template: true,
        ..ex("AWS::CloudFormation::Stack", "TemplateURL")
    },
    Exporter {
        nested_template: true,
        ..ex("AWS::Serverless::Application", "Location")
    },
    Exporter {
        force_zip: true,
        ..ex("AWS::Serverless::LayerVersion", "ContentUri")
    },
    Exporter {
        force_zip: true,
        dict: Some(("S3Bucket", "S3Key", Some("S3ObjectVersion"))),
        ..ex("AWS::Lambda::LayerVersion", "Content")
    },
    ex("AWS::Glue::Job", "Command.ScriptLocation"),
    Exporter {
        package_null: false,
        dict: Some(("Bucket", "Key", Some("Version"))),
        ..ex("AWS::StepFunctions::StateMachine", "DefinitionS3Location")
    },
    Exporter {
        package_null: false,
        dict: Some(("Bucket", "Key", Some("Version"))),
        ..ex("AWS::Serverless::StateMachine", "DefinitionUri")
    },
    Exporter {
        package_null: false,
        force_zip: true,
        dict: Some(("Bucket", "Key", Some("ObjectVersion"))),
        ..ex("AWS::CodeCommit::Repository", "Code.S3")
    },
];

const METADATA_EXPORTERS: &[Exporter] = &[
    Exporter {
        package_null: false,
        ..ex("AWS::ServerlessRepo::Application", "ReadmeUrl")
    },
    Exporter {
        package_null: false,
        ..ex("AWS::ServerlessRepo::Application", "LicenseUrl")
    },
];

fn get_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

/// botocore's `set_value_from_jmespath`: intermediate objects created.
fn set_path(v: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = v;
    for part in &parts[..parts.len() - 1] {
        if !cur.get(*part).is_some_and(Value::is_object)
            && let Value::Object(m) = cur
        {
            m.insert((*part).to_string(), Value::Object(Map::new()));
        }
        cur = &mut cur[*part];
    }
    if let Value::Object(m) = cur {
        m.insert(parts[parts.len() - 1].to_string(), value);
    }
}

/// `parse_s3_url`: `s3://bucket/key[?versionId=V]`.
fn parse_s3_url(url: &str) -> Option<(String, String, Option<String>)> {
    let rest = url.strip_prefix("s3://")?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let (bucket, key) = path.split_once('/')?;
    let key = key.trim_start_matches('/');
    if bucket.is_empty() || key.is_empty() {
        return None;
    }
    let version = query.and_then(|q| {
        let vs: Vec<&str> = q
            .split('&')
            .filter_map(|kv| kv.strip_prefix("versionId="))
            .collect();
        (vs.len() == 1).then(|| vs[0].to_string())
    });
    Some((bucket.to_string(), key.to_string(), version))
}

/// `os.path.normpath(os.path.join(dir, path))` unless absolute.
fn make_abs(dir: &Path, p: &str) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        return PathBuf::from(p);
    } else {
        dir.join(p)
    };
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

/// `zipfile.is_zipfile`: an end-of-central-directory record near the end.
fn is_zip(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let tail = &bytes[bytes.len().saturating_sub(65_557)..];
    tail.windows(4).any(|w| w == b"PK\x05\x06")
}

/// `make_zip`: every file under `root` (links followed), DEFLATE, its mode and mtime.
fn make_zip(root: &Path, out: &Path) -> Result<(), CliError> {
    fn walk(dir: &Path, base: &Path, files: &mut Vec<(PathBuf, String)>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        let (mut dirs, mut plain) = (Vec::new(), Vec::new());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                plain.push(p);
            }
        }
        for p in plain {
            let rel = p
                .strip_prefix(base)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            files.push((p, rel));
        }
        for d in dirs {
            walk(&d, base, files)?;
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, root, &mut files).map_err(CliError::from)?;
    let mut zip: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    for (path, name) in &files {
        let data = std::fs::read(path).map_err(CliError::from)?;
        let meta = std::fs::metadata(path).map_err(CliError::from)?;
        let crc = kagi_api::s3::crc32(0, &data);
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&data).map_err(CliError::from)?;
        let packed = enc.finish().map_err(CliError::from)?;
        let (dos_time, dos_date) = dos_datetime(&meta);
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt as _;
            meta.permissions().mode()
        };
        #[cfg(not(unix))]
        let mode = 0o100644u32;
        let offset = zip.len() as u32;
        let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
        let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
        // local header
        le32(&mut zip, 0x0403_4b50);
        le16(&mut zip, 20);
        le16(&mut zip, 0);
        le16(&mut zip, 8);
        le16(&mut zip, dos_time);
        le16(&mut zip, dos_date);
        le32(&mut zip, crc);
        le32(&mut zip, packed.len() as u32);
        le32(&mut zip, data.len() as u32);
        le16(&mut zip, name.len() as u16);
        le16(&mut zip, 0);
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(&packed);
        // central directory entry
        le32(&mut central, 0x0201_4b50);
        le16(&mut central, (3 << 8) | 20);
        le16(&mut central, 20);
        le16(&mut central, 0);
        le16(&mut central, 8);
        le16(&mut central, dos_time);
        le16(&mut central, dos_date);
        le32(&mut central, crc);
        le32(&mut central, packed.len() as u32);
        le32(&mut central, data.len() as u32);
        le16(&mut central, name.len() as u16);
        le16(&mut central, 0);
        le16(&mut central, 0);
        le16(&mut central, 0);
        le16(&mut central, 0);
        le32(&mut central, mode << 16);
        le32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = zip.len() as u32;
    let cd_len = central.len() as u32;
    zip.extend_from_slice(&central);
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0, 0, 0, 0]);
    zip.extend_from_slice(&(files.len() as u16).to_le_bytes());
    zip.extend_from_slice(&(files.len() as u16).to_le_bytes());
    zip.extend_from_slice(&cd_len.to_le_bytes());
    zip.extend_from_slice(&cd_offset.to_le_bytes());
    zip.extend_from_slice(&[0, 0]);
    std::fs::write(out, zip).map_err(CliError::from)
}

/// A file's mtime as MS-DOS time and date (UTC; Python uses local time, which is UTC here).
fn dos_datetime(meta: &std::fs::Metadata) -> (u16, u16) {
    let secs = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    if y < 1980 {
        return (0, (1 << 5) | 1);
    }
    let time = ((rem / 3600) << 11) | (((rem % 3600) / 60) << 5) | ((rem % 60) / 2);
    let date = ((y - 1980) << 9) | (m << 5) | d;
    (time as u16, date as u16)
}

/// Days since 1970-01-01 to (year, month, day).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

struct Packager<'u, 'c, 's, 'a> {
    up: &'u Uploader<'c, 's, 'a>,
}

fn py_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => crate::output::Doc::from_value(other).py_str(),
    }
}

impl Packager<'_, '_, '_, '_> {
    /// `Template(path, parent_dir).export()`.
    fn template(&self, template_path: &str, parent: &Path, io: &mut Io) -> Result<Value, CliError> {
        let abs = make_abs(parent, template_path);
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let text = std::fs::read_to_string(&abs).map_err(CliError::from)?;
        let mut t = crate::cfn_yaml::parse(&text)
            .map_err(|e| CliError::General(format!("Invalid template {}: {e}", abs.display())))?;
        // export_metadata
        if let Some(Value::Object(meta)) = t.get_mut("Metadata") {
            for (kind, props) in meta.iter_mut() {
                for e in METADATA_EXPORTERS
                    .iter()
                    .filter(|e| e.resource_type == kind)
                {
                    self.export(e, kind, props, &dir, io)?;
                }
            }
        }
        if t.get("Resources").is_none() {
            return Ok(t);
        }
        self.global(&mut t, &dir, io)?;
        if let Some(resources) = t.get_mut("Resources") {
            self.resources(resources, &dir, io)?;
        }
        Ok(t)
    }

    /// `export_global_artifacts`: `Fn::Transform` of `AWS::Include` anywhere.
    fn global(&self, v: &mut Value, dir: &Path, io: &mut Io) -> Result<(), CliError> {
        match v {
            Value::Object(m) => {
                for (k, val) in m.iter_mut() {
                    if k == "Fn::Transform" {
                        self.include(val, dir, io)?;
                    } else if val.is_object() || val.is_array() {
                        self.global(val, dir, io)?;
                    }
                }
            }
            Value::Array(items) => {
                for item in items.iter_mut().filter(|i| i.is_object()) {
                    self.global(item, dir, io)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn include(&self, t: &mut Value, dir: &Path, io: &mut Io) -> Result<(), CliError> {
        if t.get("Name").and_then(Value::as_str) != Some("AWS::Include") {
            return Ok(());
        }
        let Some(loc) = t
            .get("Parameters")
            .and_then(|p| p.get("Location"))
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Ok(());
        };
        if loc.is_empty() || parse_s3_url(&loc).is_some() {
            return Ok(());
        }
        let abs = dir.join(&loc);
        if !abs.is_file() {
            return Err(CliError::General(format!(
                "Parameter Location of resource AWS::Include refers to a file or folder that does not exist {}",
                abs.display()
            )));
        }
        let key = self.up.upload_with_dedup(&abs, None, io)?;
        t["Parameters"]["Location"] = json!(self.up.s3_url(&key));
        Ok(())
    }

    fn resources(&self, resources: &mut Value, dir: &Path, io: &mut Io) -> Result<(), CliError> {
        let Value::Object(m) = resources else {
            return Ok(());
        };
        for (id, resource) in m.iter_mut() {
            if id.starts_with("Fn::ForEach::") {
                match resource {
                    Value::Array(a) if a.len() == 3 => {
                        self.resources(&mut a[2], dir, io)?;
                        continue;
                    }
                    _ => {
                        return Err(CliError::General(format!(
                            "The value of {id} has an invalid \"Fn::ForEach::\" format: Must be a list of three entries"
                        )));
                    }
                }
            }
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let Some(props) = resource.get_mut("Properties") else {
                continue;
            };
            for e in EXPORTERS.iter().filter(|e| e.resource_type == kind) {
                self.export(e, id, props, dir, io)?;
            }
        }
        Ok(())
    }

    /// `Resource.export`.
    fn export(
        &self,
        e: &Exporter,
        id: &str,
        props: &mut Value,
        dir: &Path,
        io: &mut Io,
    ) -> Result<(), CliError> {
        if props.is_null() {
            return Ok(());
        }
        let value = get_path(props, e.property).cloned();
        let falsy = match &value {
            None => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(Value::Null) => true,
        };
        if falsy && !e.package_null {
            return Ok(());
        }
        if value.as_ref().is_some_and(Value::is_object) {
            return Ok(());
        }
        let mut temp: Option<TempFile> = None;
        if e.force_zip
            && let Some(Value::String(p)) = &value
            && Path::new(p).is_file()
            && !is_zip(Path::new(p))
        {
            let t = TempFile::new("package")?;
            std::fs::create_dir_all(&t.0).map_err(CliError::from)?;
            let name = Path::new(p).file_name().unwrap_or_default();
            std::fs::copy(p, t.0.join(name)).map_err(CliError::from)?;
            set_path(props, e.property, json!(t.0.display().to_string()));
            temp = Some(t);
        }
        let r = self.do_export(e, id, props, dir, io);
        drop(temp);
        r.map_err(|err| {
            CliError::General(format!(
                "Unable to upload artifact {} referenced by {} parameter of {id} resource.\n{}",
                py_value(value.as_ref()),
                e.property,
                err.message()
            ))
        })
    }

    fn do_export(
        &self,
        e: &Exporter,
        id: &str,
        props: &mut Value,
        dir: &Path,
        io: &mut Io,
    ) -> Result<(), CliError> {
        if e.nested_template {
            let Some(path) = props.get(e.property).and_then(Value::as_str) else {
                return Ok(());
            };
            if parse_s3_url(path).is_some()
                || path.starts_with("http://")
                || path.starts_with("https://")
            {
                return Ok(());
            }
            let path = path.to_string();
            let abs = make_abs(dir, &path);
            if !abs.is_file() {
                return Err(CliError::General(format!(
                    "{} parameter of {id} resource is invalid. It must be a S3 URL or path to CloudFormation template file. Actual: {}",
                    e.property,
                    abs.display()
                )));
            }
            let exported = self.template(&path, dir, io)?;
            let text = crate::output::to_yaml_pyyaml(&crate::output::Doc::from_value(&exported));
            let tmp = TempFile::new("template")?;
            std::fs::write(&tmp.0, text).map_err(CliError::from)?;
            let key = self.up.upload_with_dedup(&tmp.0, Some("template"), io)?;
            set_path(props, e.property, json!(self.up.path_style_url(&key)));
            return Ok(());
        }
        let url = self.upload_local(id, e.property, props, dir, io)?;
        match e.dict {
            None => set_path(props, e.property, json!(url)),
            Some((b, k, ver)) => {
                let Some((bucket, key, version)) = parse_s3_url(&url) else {
                    return Err(CliError::General(format!(
                        "URL given to the parse method is not a valid S3 url {url}"
                    )));
                };
                let mut m = Map::new();
                m.insert(b.into(), json!(bucket));
                m.insert(k.into(), json!(key));
                if let (Some(vp), Some(v)) = (ver, version) {
                    m.insert(vp.into(), json!(v));
                }
                set_path(props, e.property, Value::Object(m));
            }
        }
        Ok(())
    }

    /// `upload_local_artifacts`: an S3 URL stays, a folder is zipped, a file uploaded.
    fn upload_local(
        &self,
        id: &str,
        property: &str,
        props: &Value,
        dir: &Path,
        io: &mut Io,
    ) -> Result<String, CliError> {
        let local = match get_path(props, property) {
            None => dir.display().to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(CliError::General(format!(
                    "Parameter {property} of resource {id} refers to a file or folder that does not exist {}",
                    py_value(Some(other))
                )));
            }
        };
        if parse_s3_url(&local).is_some() {
            return Ok(local);
        }
        let abs = make_abs(dir, &local);
        if abs.is_dir() {
            let tmp = TempFile::new("data")?;
            let zip = tmp.0.with_extension("zip");
            make_zip(&abs, &zip)?;
            let zip = TempFile(zip);
            let key = self.up.upload_with_dedup(&zip.0, None, io)?;
            return Ok(self.up.s3_url(&key));
        }
        if abs.is_file() {
            let key = self.up.upload_with_dedup(&abs, None, io)?;
            return Ok(self.up.s3_url(&key));
        }
        Err(CliError::General(format!(
            "Parameter {property} of resource {id} refers to a file or folder that does not exist {}",
            abs.display()
        )))
    }
}

const PACKAGE_OPTS: Spec = Spec::new(&[
    Opt::one("--template-file").required(),
    Opt::one("--s3-bucket").required(),
    Opt::one("--s3-prefix"),
    Opt::one("--kms-key-id"),
    Opt::one("--output-template-file"),
    Opt::flag("--use-json"),
    Opt::flag("--force-upload"),
    Opt::one("--metadata"),
]);

fn package(g: &Globals, args: &[String], env: &Env, io: &mut Io) -> Result<(), CliError> {
    if args.first().is_some_and(|a| a == "help") {
        writeln!(
            io.stdout,
            "package\n\nPackages the local artifacts (local paths) that your AWS CloudFormation template references. The command uploads local artifacts, such as source code for an AWS Lambda function or a Swagger file for an AWS API Gateway REST API, to an S3 bucket. The command returns a copy of your template, replacing references to local artifacts with the S3 location where the command uploaded the artifacts.\n\nSynopsis\n\n  package\n--template-file <value>\n--s3-bucket <value>\n[--s3-prefix <value>]\n[--kms-key-id <value>]\n[--output-template-file <value>]\n[--use-json]\n[--force-upload]\n[--metadata <value>]"
        )?;
        return Ok(());
    }
    let o = crate::opts::parse(args, &PACKAGE_OPTS)?;
    let template_file = o.one("--template-file").unwrap_or_default().to_string();
    let metadata = match o.one("--metadata") {
        None => None,
        Some(m) => Some(metadata_arg(m, env)?),
    };
    let s = Session::new(env, g)?;
    let result = (|| {
        let s3 = Client::new(&s, "s3api", io)?;
        if !Path::new(&template_file).is_file() {
            return Err(CliError::General(format!(
                "Invalid template path {template_file}"
            )));
        }
        let up = Uploader {
            s3: &s3,
            bucket: o.one("--s3-bucket").unwrap_or_default().to_string(),
            prefix: o.one("--s3-prefix").map(str::to_string),
            kms_key_id: o.one("--kms-key-id").map(str::to_string),
            force: o.flag("--force-upload"),
            metadata,
        };
        let cwd = std::env::current_dir().map_err(CliError::from)?;
        let exported = Packager { up: &up }.template(&template_file, &cwd, io)?;
        let doc = crate::output::Doc::from_value(&exported);
        let text = if o.flag("--use-json") {
            let mut t = crate::output::to_json(&doc);
            t.pop();
            t
        } else {
            crate::output::to_yaml_pyyaml(&doc)
        };
        writeln!(io.stdout)?;
        match o.one("--output-template-file") {
            None => write!(io.stdout, "{text}")?,
            Some(out) => {
                std::fs::write(out, &text).map_err(CliError::from)?;
                let abs = make_abs(&cwd, out);
                write!(
                    io.stdout,
                    "Successfully packaged artifacts and wrote output template to file {out}.\nExecute the following command to deploy the packaged template\naws cloudformation deploy --template-file {} --stack-name <YOUR STACK NAME>\n",
                    abs.display()
                )?;
            }
        }
        io.stdout.flush()?;
        Ok(())
    })();
    crate::calls::flush_debug(&s, io);
    result
}

/// `--metadata`: a map, as shorthand (`k=v,k2=v2`) or JSON.
fn metadata_arg(text: &str, env: &Env) -> Result<Map<String, Value>, CliError> {
    let text = crate::params::read_file_arg("--metadata", text, env)?;
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
        return Ok(m);
    }
    let mut m = Map::new();
    for pair in text.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(CliError::ParamValidation(vec![format!(
                "Error parsing parameter '--metadata': Expected: '=', received: 'EOF' for input:\n{text}"
            )]));
        };
        m.insert(k.trim().to_string(), json!(v.trim()));
    }
    Ok(m)
}
