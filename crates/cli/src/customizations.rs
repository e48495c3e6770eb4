//! The official CLI's hand-written customizations kagi does not have yet, and the opt-in
//! fallthrough to an official `aws` for them.
//!
//! [`MISSING`] is the "missing" rows of `docs/cli-customizations.md` (the inventory of AWS CLI
//! v2 2.9.19's customizations, with v1's and later v2's additions; a unit test keeps the two
//! equal). A command of it (one kagi's model does not have: `emr create-cluster`,
//! `ddb put`, ...) or an argument of it that kagi cannot parse (`lambda create-function
//! --zip-file`, `ec2 modify-vpc-attribute --enable-dns-hostnames`, ...) ends in
//! [`CliError::MissingCustomization`] (a usage error, 252) instead of argparse's "invalid
//! choice" / "Unknown options". With `cli_fallback = aws` in the profile's section (or
//! `[default]`), [`fallthrough`] runs the first `aws` on `PATH` that is not kagi with the same
//! arguments, environment and streams, and kagi exits with its status (on Unix the process is
//! replaced: `exec`).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{CliError, Env, Globals, Io, config};

/// One missing customization: a hand-written command (`arg: None`, its words as the official
/// CLI spells them) or an argument the official CLI adds to, renames on or replaces on a
/// modelled operation (`command` is `SERVICE OPERATION`, `*` for every operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missing {
    pub command: &'static str,
    pub arg: Option<&'static str>,
}

/// Paths (canonical) of the kagi binaries an invocation went through, so that a kagi reached
/// through the fallthrough (a second copy linked as `aws`) never falls through to the first.
const SKIP_VAR: &str = "KAGI_CLI_FALLBACK_SKIP";

/// The hand-written command that `words` (command, subcommand, ...) invoke when kagi does not
/// have it, the longest match first (`ddb put` before `ddb`).
pub(crate) fn command(words: &[String]) -> Option<&'static str> {
    (1..=words.len().min(3)).rev().find_map(|n| {
        let name = words[..n].join(" ");
        MISSING
            .iter()
            .find(|m| m.arg.is_none() && m.command == name)
            .map(|m| m.command)
    })
}

/// The first argument of `args` that is a missing customization of `service operation`
/// (`service operation --arg`, as the error names it).
pub(crate) fn argument(service: &str, operation: &str, args: &[String]) -> Option<String> {
    let name = format!("{service} {operation}");
    args.iter().find_map(|a| {
        let flag = a.split_once('=').map_or(a.as_str(), |x| x.0);
        if !flag.starts_with("--") {
            return None;
        }
        MISSING
            .iter()
            .find(|m| m.arg == Some(flag) && (m.command == name || m.command == "*"))
            .map(|_| format!("{name} {flag}"))
    })
}

/// Whether the profile's section (else `[default]`) says `cli_fallback = aws`.
pub(crate) fn fallback_enabled(g: &Globals, env: &Env) -> bool {
    let Ok(files) = config::Files::load(env) else {
        return false;
    };
    let choice = config::choose_profile(g.profile.as_deref(), env);
    let value = files
        .set
        .profile(&choice.name)
        .and_then(|p| p.get("cli_fallback"))
        .or_else(|| {
            files
                .set
                .profile("default")
                .and_then(|p| p.get("cli_fallback"))
        });
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("aws"))
}

fn canonical(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Whether two paths are the same file (inode and device on Unix, canonical paths elsewhere).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    canonical(a).is_some() && canonical(a) == canonical(b)
}

fn executable(p: &Path) -> bool {
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        m.is_file() && m.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        m.is_file()
    }
}

/// The kagi binaries to skip: this one and those named by [`SKIP_VAR`].
fn kagi_binaries(env: &Env) -> Vec<PathBuf> {
    let mut skip: Vec<PathBuf> = std::env::current_exe().into_iter().collect();
    if let Some(list) = env.vars.get(SKIP_VAR) {
        skip.extend(std::env::split_paths(list));
    }
    skip
}

/// The first `aws` on `PATH` that is not kagi (neither this binary, through any link, nor one
/// the invocation already went through).
pub(crate) fn official_aws(env: &Env) -> Option<PathBuf> {
    let path = env.vars.get("PATH")?;
    let skip = kagi_binaries(env);
    let names: &[&str] = if cfg!(windows) {
        &["aws.exe", "aws.cmd", "aws"]
    } else {
        &["aws"]
    };
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|c| executable(c) && !skip.iter().any(|k| same_file(c, k)))
}

/// Set by [`crate::main_with_args`]: the streams are the process's own, so the fallthrough may
/// replace the process (`exec`) instead of copying the official CLI's output into [`Io`].
pub(crate) static PROCESS_STREAMS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The fallthrough for a missing customization: `Ok(status)` of the official CLI run with
/// `args` (argv without argv[0]), or the error kagi answers (`cli_fallback` unset, or no
/// official `aws` on `PATH`).
pub(crate) fn fallthrough(
    name: &str,
    g: &Globals,
    args: &[OsString],
    env: &Env,
    io: &mut Io,
) -> Result<i32, CliError> {
    if !fallback_enabled(g, env) {
        return Err(CliError::MissingCustomization {
            name: name.to_string(),
            fallback: false,
        });
    }
    let Some(aws) = official_aws(env) else {
        return Err(CliError::MissingCustomization {
            name: name.to_string(),
            fallback: true,
        });
    };
    let mut skip = kagi_binaries(env);
    skip.retain(|p| !p.as_os_str().is_empty());
    let skip = std::env::join_paths(skip.iter().filter_map(|p| canonical(p))).unwrap_or_default();
    let mut cmd = std::process::Command::new(&aws);
    cmd.args(args)
        .env_clear()
        .envs(&env.vars)
        .env(SKIP_VAR, skip);
    if PROCESS_STREAMS.load(std::sync::atomic::Ordering::SeqCst) {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let e = cmd.exec();
            return Err(CliError::General(format!(
                "Could not run {}: {e}",
                aws.display()
            )));
        }
        #[cfg(not(unix))]
        {
            let status = cmd.status()?;
            return Ok(status.code().unwrap_or(255));
        }
    }
    // In-process (a library caller's streams): stdin from `io`, the output copied back.
    let mut input = Vec::new();
    io.stdin.read_to_end(&mut input)?;
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let out = child.wait_with_output()?;
    io.stdout.write_all(&out.stdout)?;
    io.stderr.write_all(&out.stderr)?;
    Ok(out.status.code().unwrap_or(255))
}

/// The missing customizations (generated from `docs/cli-customizations.md`'s "missing" rows).
#[rustfmt::skip]
pub(crate) const MISSING: &[Missing] = &[
    Missing { command: "*", arg: Some("--cli-input-yaml") },
    Missing { command: "apigateway create-rest-api", arg: Some("--api-version") },
    Missing { command: "apigatewayv2 create-api", arg: Some("--api-version") },
    Missing { command: "apigatewayv2 update-api", arg: Some("--api-version") },
    Missing { command: "clouddirectory publish-schema", arg: Some("--schema-version") },
    Missing { command: "cloudfront create-distribution", arg: Some("--default-root-object") },
    Missing { command: "cloudfront create-distribution", arg: Some("--origin-domain-name") },
    Missing { command: "cloudfront create-invalidation", arg: Some("--paths") },
    Missing { command: "cloudfront sign", arg: None },
    Missing { command: "cloudfront update-distribution", arg: Some("--default-root-object") },
    Missing { command: "cloudsearch define-expression", arg: Some("--expression") },
    Missing { command: "cloudsearch define-expression", arg: Some("--name") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--analysis-scheme") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--default-value") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--facet-enabled") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--highlight-enabled") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--name") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--return-enabled") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--search-enabled") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--sort-enabled") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--source-field") },
    Missing { command: "cloudsearch define-index-field", arg: Some("--type") },
    Missing { command: "cloudsearchdomain search", arg: Some("--search-query") },
    Missing { command: "cloudsearchdomain suggest", arg: Some("--suggest-query") },
    Missing { command: "cloudtrail validate-logs", arg: None },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--dimensions") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--metric-name") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--statistic-values") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--storage-resolution") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--timestamp") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--unit") },
    Missing { command: "cloudwatch put-metric-data", arg: Some("--value") },
    Missing { command: "codecommit credential-helper", arg: None },
    Missing { command: "codecommit credential-helper erase", arg: None },
    Missing { command: "codecommit credential-helper get", arg: None },
    Missing { command: "codecommit credential-helper store", arg: None },
    Missing { command: "codepipeline create-custom-action-type", arg: Some("--action-version") },
    Missing { command: "codepipeline delete-custom-action-type", arg: Some("--action-version") },
    Missing { command: "codepipeline get-action-type", arg: Some("--action-version") },
    Missing { command: "codepipeline get-pipeline", arg: Some("--pipeline-version") },
    Missing { command: "configservice get-status", arg: None },
    Missing { command: "configservice put-configuration-recorder", arg: Some("--configuration-recorder") },
    Missing { command: "configservice put-configuration-recorder", arg: Some("--recording-group") },
    Missing { command: "configservice subscribe", arg: None },
    Missing { command: "configure add-model", arg: None },
    Missing { command: "configure wizard", arg: None },
    Missing { command: "controltower create-landing-zone", arg: Some("--landing-zone-version") },
    Missing { command: "controltower update-landing-zone", arg: Some("--landing-zone-version") },
    Missing { command: "datapipeline activate-pipeline", arg: Some("--parameter-values") },
    Missing { command: "datapipeline activate-pipeline", arg: Some("--parameter-values-uri") },
    Missing { command: "datapipeline create-default-roles", arg: None },
    Missing { command: "datapipeline get-pipeline-definition", arg: Some("--pipeline-version") },
    Missing { command: "datapipeline list-runs", arg: None },
    Missing { command: "datapipeline put-pipeline-definition", arg: Some("--parameter-objects") },
    Missing { command: "datapipeline put-pipeline-definition", arg: Some("--parameter-values") },
    Missing { command: "datapipeline put-pipeline-definition", arg: Some("--parameter-values-uri") },
    Missing { command: "datapipeline put-pipeline-definition", arg: Some("--pipeline-definition") },
    Missing { command: "datapipeline query-objects", arg: Some("--objects-query") },
    Missing { command: "ddb", arg: None },
    Missing { command: "ddb put", arg: None },
    Missing { command: "ddb select", arg: None },
    Missing { command: "deploy create-deployment", arg: Some("--github-location") },
    Missing { command: "deploy create-deployment", arg: Some("--s3-location") },
    Missing { command: "deploy deregister", arg: None },
    Missing { command: "deploy get-application-revision", arg: Some("--github-location") },
    Missing { command: "deploy get-application-revision", arg: Some("--s3-location") },
    Missing { command: "deploy install", arg: None },
    Missing { command: "deploy push", arg: None },
    Missing { command: "deploy register", arg: None },
    Missing { command: "deploy register-application-revision", arg: Some("--github-location") },
    Missing { command: "deploy register-application-revision", arg: Some("--s3-location") },
    Missing { command: "deploy uninstall", arg: None },
    Missing { command: "dlm create-default-role", arg: None },
    Missing { command: "dynamodb wizard", arg: None },
    Missing { command: "dynamodb wizard new-table", arg: None },
    Missing { command: "ec2 authorize-security-group-egress", arg: Some("--cidr") },
    Missing { command: "ec2 authorize-security-group-egress", arg: Some("--group-owner") },
    Missing { command: "ec2 authorize-security-group-egress", arg: Some("--port") },
    Missing { command: "ec2 authorize-security-group-egress", arg: Some("--protocol") },
    Missing { command: "ec2 authorize-security-group-egress", arg: Some("--source-group") },
    Missing { command: "ec2 authorize-security-group-ingress", arg: Some("--cidr") },
    Missing { command: "ec2 authorize-security-group-ingress", arg: Some("--group-owner") },
    Missing { command: "ec2 authorize-security-group-ingress", arg: Some("--port") },
    Missing { command: "ec2 authorize-security-group-ingress", arg: Some("--protocol") },
    Missing { command: "ec2 authorize-security-group-ingress", arg: Some("--source-group") },
    Missing { command: "ec2 bundle-instance", arg: Some("--bucket") },
    Missing { command: "ec2 bundle-instance", arg: Some("--owner-akid") },
    Missing { command: "ec2 bundle-instance", arg: Some("--owner-sak") },
    Missing { command: "ec2 bundle-instance", arg: Some("--policy") },
    Missing { command: "ec2 bundle-instance", arg: Some("--prefix") },
    Missing { command: "ec2 create-image", arg: Some("--reboot") },
    Missing { command: "ec2 create-network-acl-entry", arg: Some("--ingress") },
    Missing { command: "ec2 delete-network-acl-entry", arg: Some("--ingress") },
    Missing { command: "ec2 get-password-data", arg: Some("--priv-launch-key") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--disable-api-stop") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--disable-api-termination") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--ebs-optimized") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--ena-support") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--no-disable-api-stop") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--no-disable-api-termination") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--no-ebs-optimized") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--no-ena-support") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--no-source-dest-check") },
    Missing { command: "ec2 modify-instance-attribute", arg: Some("--source-dest-check") },
    Missing { command: "ec2 modify-network-interface-attribute", arg: Some("--no-source-dest-check") },
    Missing { command: "ec2 modify-network-interface-attribute", arg: Some("--source-dest-check") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--assign-ipv6-address-on-creation") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--disable-lni-at-device-index") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--enable-dns64") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--enable-resource-name-dns-a-record-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--enable-resource-name-dns-aaaa-record-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--map-customer-owned-ip-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--map-public-ip-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-assign-ipv6-address-on-creation") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-disable-lni-at-device-index") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-enable-dns64") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-enable-resource-name-dns-a-record-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-enable-resource-name-dns-aaaa-record-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-map-customer-owned-ip-on-launch") },
    Missing { command: "ec2 modify-subnet-attribute", arg: Some("--no-map-public-ip-on-launch") },
    Missing { command: "ec2 modify-volume-attribute", arg: Some("--auto-enable-io") },
    Missing { command: "ec2 modify-volume-attribute", arg: Some("--no-auto-enable-io") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--enable-dns-hostnames") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--enable-dns-support") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--enable-network-address-usage-metrics") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--no-enable-dns-hostnames") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--no-enable-dns-support") },
    Missing { command: "ec2 modify-vpc-attribute", arg: Some("--no-enable-network-address-usage-metrics") },
    Missing { command: "ec2 replace-network-acl-entry", arg: Some("--ingress") },
    Missing { command: "ec2 revoke-security-group-egress", arg: Some("--cidr") },
    Missing { command: "ec2 revoke-security-group-egress", arg: Some("--group-owner") },
    Missing { command: "ec2 revoke-security-group-egress", arg: Some("--port") },
    Missing { command: "ec2 revoke-security-group-egress", arg: Some("--protocol") },
    Missing { command: "ec2 revoke-security-group-egress", arg: Some("--source-group") },
    Missing { command: "ec2 revoke-security-group-ingress", arg: Some("--cidr") },
    Missing { command: "ec2 revoke-security-group-ingress", arg: Some("--group-owner") },
    Missing { command: "ec2 revoke-security-group-ingress", arg: Some("--port") },
    Missing { command: "ec2 revoke-security-group-ingress", arg: Some("--protocol") },
    Missing { command: "ec2 revoke-security-group-ingress", arg: Some("--source-group") },
    Missing { command: "ec2 run-instances", arg: Some("--associate-public-ip-address") },
    Missing { command: "ec2 run-instances", arg: Some("--count") },
    Missing { command: "ec2 run-instances", arg: Some("--enable-api-termination") },
    Missing { command: "ec2 run-instances", arg: Some("--no-associate-public-ip-address") },
    Missing { command: "ec2 run-instances", arg: Some("--secondary-private-ip-address-count") },
    Missing { command: "ec2 run-instances", arg: Some("--secondary-private-ip-addresses") },
    Missing { command: "ecs create-daemon", arg: Some("--disable-execute-command") },
    Missing { command: "ecs create-service", arg: Some("--disable-execute-command") },
    Missing { command: "ecs deploy", arg: None },
    Missing { command: "ecs execute-command", arg: Some("--non-interactive") },
    Missing { command: "ecs run-task", arg: Some("--disable-execute-command") },
    Missing { command: "ecs start-task", arg: Some("--disable-execute-command") },
    Missing { command: "ecs update-daemon", arg: Some("--disable-execute-command") },
    Missing { command: "ecs update-service", arg: Some("--disable-execute-command") },
    Missing { command: "eks create-cluster", arg: Some("--kubernetes-version") },
    Missing { command: "eks create-nodegroup", arg: Some("--kubernetes-version") },
    Missing { command: "eks update-cluster-version", arg: Some("--kubernetes-version") },
    Missing { command: "eks update-nodegroup-version", arg: Some("--kubernetes-version") },
    Missing { command: "elasticache create-replication-group", arg: Some("--preferred-cache-cluster-a-zs") },
    Missing { command: "emr add-steps", arg: None },
    Missing { command: "emr add-tags", arg: Some("--tags") },
    Missing { command: "emr create-cluster", arg: None },
    Missing { command: "emr create-default-roles", arg: None },
    Missing { command: "emr create-hbase-backup", arg: None },
    Missing { command: "emr disable-hbase-backups", arg: None },
    Missing { command: "emr get", arg: None },
    Missing { command: "emr install-applications", arg: None },
    Missing { command: "emr list-clusters", arg: Some("--active") },
    Missing { command: "emr list-clusters", arg: Some("--cluster-states") },
    Missing { command: "emr list-clusters", arg: Some("--created-after") },
    Missing { command: "emr list-clusters", arg: Some("--created-before") },
    Missing { command: "emr list-clusters", arg: Some("--failed") },
    Missing { command: "emr list-clusters", arg: Some("--terminated") },
    Missing { command: "emr modify-cluster-attributes", arg: None },
    Missing { command: "emr put", arg: None },
    Missing { command: "emr restore-from-hbase-backup", arg: None },
    Missing { command: "emr schedule-hbase-backup", arg: None },
    Missing { command: "emr socks", arg: None },
    Missing { command: "emr ssh", arg: None },
    Missing { command: "emr terminate-clusters", arg: None },
    Missing { command: "emr-containers update-role-trust-policy", arg: None },
    Missing { command: "events wizard", arg: None },
    Missing { command: "events wizard new-rule", arg: None },
    Missing { command: "gamelift create-build", arg: Some("--build-version") },
    Missing { command: "gamelift create-script", arg: Some("--script-version") },
    Missing { command: "gamelift get-game-session-log", arg: None },
    Missing { command: "gamelift update-build", arg: Some("--build-version") },
    Missing { command: "gamelift update-script", arg: Some("--script-version") },
    Missing { command: "gamelift upload-build", arg: None },
    Missing { command: "glue get-unfiltered-partition-metadata", arg: Some("--resource-region") },
    Missing { command: "glue get-unfiltered-partitions-metadata", arg: Some("--resource-region") },
    Missing { command: "glue get-unfiltered-table-metadata", arg: Some("--resource-region") },
    Missing { command: "history", arg: None },
    Missing { command: "history list", arg: None },
    Missing { command: "history show", arg: None },
    Missing { command: "iam wizard", arg: None },
    Missing { command: "iam wizard new-role", arg: None },
    Missing { command: "iot create-certificate-from-csr", arg: Some("--certificate-pem-outfile") },
    Missing { command: "iot create-keys-and-certificate", arg: Some("--certificate-pem-outfile") },
    Missing { command: "iot create-keys-and-certificate", arg: Some("--private-key-outfile") },
    Missing { command: "iot create-keys-and-certificate", arg: Some("--public-key-outfile") },
    Missing { command: "iotwireless create-device-profile", arg: Some("--lorawan") },
    Missing { command: "iotwireless create-fuota-task", arg: Some("--lorawan") },
    Missing { command: "iotwireless create-multicast-group", arg: Some("--lorawan") },
    Missing { command: "iotwireless create-service-profile", arg: Some("--lorawan") },
    Missing { command: "iotwireless create-wireless-device", arg: Some("--lorawan") },
    Missing { command: "iotwireless create-wireless-gateway", arg: Some("--lorawan") },
    Missing { command: "iotwireless start-fuota-task", arg: Some("--lorawan") },
    Missing { command: "iotwireless start-multicast-group-session", arg: Some("--lorawan") },
    Missing { command: "iotwireless update-fuota-task", arg: Some("--lorawan") },
    Missing { command: "iotwireless update-multicast-group", arg: Some("--lorawan") },
    Missing { command: "iotwireless update-wireless-device", arg: Some("--lorawan") },
    Missing { command: "kinesisanalytics add-application-output", arg: Some("--application-output") },
    Missing { command: "kinesisanalyticsv2 add-application-output", arg: Some("--application-output") },
    Missing { command: "lambda create-function", arg: Some("--zip-file") },
    Missing { command: "lambda publish-layer-version", arg: Some("--zip-file") },
    Missing { command: "lambda wizard", arg: None },
    Missing { command: "lambda wizard new-function", arg: None },
    Missing { command: "lex-models delete-bot-version", arg: Some("--bot-version") },
    Missing { command: "lex-models delete-intent-version", arg: Some("--intent-version") },
    Missing { command: "lex-models delete-slot-type-version", arg: Some("--slot-type-version") },
    Missing { command: "lex-models get-export", arg: Some("--resource-version") },
    Missing { command: "lex-models get-intent", arg: Some("--intent-version") },
    Missing { command: "lex-models get-slot-type", arg: Some("--slot-type-version") },
    Missing { command: "license-manager delete-grant", arg: Some("--grant-version") },
    Missing { command: "license-manager get-grant", arg: Some("--grant-version") },
    Missing { command: "license-manager get-license", arg: Some("--license-version") },
    Missing { command: "lightsail push-container-image", arg: None },
    Missing { command: "mgn associate-source-servers", arg: Some("--source-server-i-ds") },
    Missing { command: "mgn create-replication-configuration-template", arg: Some("--replication-servers-security-groups-i-ds") },
    Missing { command: "mgn describe-replication-configuration-templates", arg: Some("--replication-configuration-template-i-ds") },
    Missing { command: "mgn disassociate-source-servers", arg: Some("--source-server-i-ds") },
    Missing { command: "mgn start-cutover", arg: Some("--source-server-i-ds") },
    Missing { command: "mgn start-test", arg: Some("--source-server-i-ds") },
    Missing { command: "mgn terminate-target-instances", arg: Some("--source-server-i-ds") },
    Missing { command: "mgn update-replication-configuration", arg: Some("--replication-servers-security-groups-i-ds") },
    Missing { command: "mgn update-replication-configuration-template", arg: Some("--replication-servers-security-groups-i-ds") },
    Missing { command: "mturk list-qualification-types", arg: Some("--types-query") },
    Missing { command: "pinpoint delete-email-template", arg: Some("--template-version") },
    Missing { command: "pinpoint delete-in-app-template", arg: Some("--template-version") },
    Missing { command: "pinpoint delete-push-template", arg: Some("--template-version") },
    Missing { command: "pinpoint delete-sms-template", arg: Some("--template-version") },
    Missing { command: "pinpoint delete-voice-template", arg: Some("--template-version") },
    Missing { command: "pinpoint get-campaign-version", arg: Some("--campaign-version") },
    Missing { command: "pinpoint get-email-template", arg: Some("--template-version") },
    Missing { command: "pinpoint get-in-app-template", arg: Some("--template-version") },
    Missing { command: "pinpoint get-push-template", arg: Some("--template-version") },
    Missing { command: "pinpoint get-segment-version", arg: Some("--segment-version") },
    Missing { command: "pinpoint get-sms-template", arg: Some("--template-version") },
    Missing { command: "pinpoint get-voice-template", arg: Some("--template-version") },
    Missing { command: "pinpoint update-email-template", arg: Some("--template-version") },
    Missing { command: "pinpoint update-in-app-template", arg: Some("--template-version") },
    Missing { command: "pinpoint update-push-template", arg: Some("--template-version") },
    Missing { command: "pinpoint update-sms-template", arg: Some("--template-version") },
    Missing { command: "pinpoint update-voice-template", arg: Some("--template-version") },
    Missing { command: "quicksight start-asset-bundle-import-job", arg: Some("--asset-bundle-import-source-bytes") },
    Missing { command: "rekognition compare-faces", arg: Some("--source-image-bytes") },
    Missing { command: "rekognition compare-faces", arg: Some("--target-image-bytes") },
    Missing { command: "rekognition create-stream-processor", arg: Some("--stream-processor-output") },
    Missing { command: "rekognition detect-custom-labels", arg: Some("--image-bytes") },
    Missing { command: "rekognition detect-faces", arg: Some("--image-bytes") },
    Missing { command: "rekognition detect-labels", arg: Some("--image-bytes") },
    Missing { command: "rekognition detect-moderation-labels", arg: Some("--image-bytes") },
    Missing { command: "rekognition detect-protective-equipment", arg: Some("--image-bytes") },
    Missing { command: "rekognition detect-text", arg: Some("--image-bytes") },
    Missing { command: "rekognition index-faces", arg: Some("--image-bytes") },
    Missing { command: "rekognition recognize-celebrities", arg: Some("--image-bytes") },
    Missing { command: "rekognition search-faces-by-image", arg: Some("--image-bytes") },
    Missing { command: "rekognition search-users-by-image", arg: Some("--image-bytes") },
    Missing { command: "route53 delete-traffic-policy", arg: Some("--traffic-policy-version") },
    Missing { command: "route53 get-traffic-policy", arg: Some("--traffic-policy-version") },
    Missing { command: "route53 update-traffic-policy-comment", arg: Some("--traffic-policy-version") },
    Missing { command: "route53domains view-billing", arg: Some("--end-time") },
    Missing { command: "route53domains view-billing", arg: Some("--start-time") },
    Missing { command: "s3api select-object-content", arg: Some("--outfile") },
    Missing { command: "sagemaker delete-image-version", arg: Some("--version-number") },
    Missing { command: "sagemaker describe-image-version", arg: Some("--version-number") },
    Missing { command: "sagemaker list-aliases", arg: Some("--version-number") },
    Missing { command: "sagemaker update-image-version", arg: Some("--version-number") },
    Missing { command: "servicecatalog generate", arg: None },
    Missing { command: "servicecatalog generate product", arg: None },
    Missing { command: "servicecatalog generate provisioning-artifact", arg: None },
    Missing { command: "ses send-email", arg: Some("--bcc") },
    Missing { command: "ses send-email", arg: Some("--cc") },
    Missing { command: "ses send-email", arg: Some("--from") },
    Missing { command: "ses send-email", arg: Some("--html") },
    Missing { command: "ses send-email", arg: Some("--subject") },
    Missing { command: "ses send-email", arg: Some("--text") },
    Missing { command: "ses send-email", arg: Some("--to") },
    Missing { command: "sns subscribe", arg: Some("--notification-endpoint") },
    Missing { command: "stepfunctions send-task-success", arg: Some("--task-output") },
    Missing { command: "swf register-activity-type", arg: Some("--activity-version") },
    Missing { command: "swf register-workflow-type", arg: Some("--workflow-version") },
    Missing { command: "translate import-terminology", arg: Some("--data-file") },
    Missing { command: "translate import-terminology", arg: Some("--terminology-data") },
    Missing { command: "translate translate-document", arg: Some("--document") },
    Missing { command: "translate translate-document", arg: Some("--document-content") },
    Missing { command: "workdocs create-notification-subscription", arg: Some("--notification-endpoint") },
    Missing { command: "workdocs describe-users", arg: Some("--user-query") },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the inventory with their status: (command, argument, status).
    fn inventory() -> Vec<(String, Option<String>, String)> {
        include_str!("../../../docs/cli-customizations.md")
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let unquote = |s: &str| s.trim_matches('`').to_string();
                let arg = (!cells[2].is_empty()).then(|| unquote(cells[2]));
                (unquote(cells[1]), arg, cells[4].to_string())
            })
            .collect()
    }

    #[test]
    fn the_table_is_the_inventorys_missing_rows() {
        let rows = inventory();
        assert!(rows.len() > 300, "{} rows", rows.len());
        let missing: Vec<Missing> = rows
            .iter()
            .filter(|r| r.2 == "missing")
            .map(|(c, a, _)| Missing {
                command: MISSING
                    .iter()
                    .find(|m| m.command == c.as_str())
                    .map(|m| m.command)
                    .unwrap_or_else(|| panic!("{c} is missing in the doc, not in MISSING")),
                arg: a.as_ref().map(|a| {
                    MISSING
                        .iter()
                        .filter_map(|m| m.arg)
                        .find(|x| *x == a.as_str())
                        .unwrap_or_else(|| panic!("{c} {a} is missing in the doc, not in MISSING"))
                }),
            })
            .collect();
        for m in MISSING {
            assert!(
                missing.contains(m),
                "{m:?} is in MISSING, not missing in the doc"
            );
        }
        assert_eq!(missing.len(), MISSING.len());
        for (_, _, status) in &rows {
            assert!(
                ["same", "missing", "modelled"].contains(&status.as_str()),
                "status {status}"
            );
        }
    }

    #[test]
    fn commands_and_arguments_are_found() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(command(&words("ddb put t {}")), Some("ddb put"));
        assert_eq!(command(&words("ddb")), Some("ddb"));
        assert_eq!(
            command(&words("emr create-cluster --release-label x")),
            Some("emr create-cluster")
        );
        assert_eq!(
            command(&words("rds generate-db-auth-token --hostname h")),
            None
        );
        assert_eq!(command(&words("rds describe-db-instances")), None);
        assert_eq!(command(&words("ecr get-login-password")), None);
        assert_eq!(
            argument(
                "lambda",
                "create-function",
                &words("--function-name f --zip-file=fileb://f.zip")
            ),
            Some("lambda create-function --zip-file".into())
        );
        assert_eq!(
            argument(
                "sts",
                "get-caller-identity",
                &words("--cli-input-yaml file://x")
            ),
            Some("sts get-caller-identity --cli-input-yaml".into())
        );
        assert_eq!(
            argument("lambda", "create-function", &words("--function-name f")),
            None
        );
        assert_eq!(
            argument(
                "lambda",
                "create-function",
                &words("--code S3Bucket=b,S3Key=k")
            ),
            None
        );
    }
}
