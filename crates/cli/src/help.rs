//! `help` at every level, generated from kagi-api's model (the AWS CLI renders man pages from
//! the same botocore data; kagi prints the same sections as plain text, no pager needed).

use kagi_api::{Operation, Service};

use crate::{CliError, Io};

pub fn top(io: &mut Io) -> Result<(), CliError> {
    let mut s = String::from(
        "AWS()\n\nNAME\n       aws -\n\nDESCRIPTION\n       The AWS Command Line Interface is a unified tool to manage your AWS\n       services (kagi: a fast, compatible implementation).\n\nSYNOPSIS\n          aws [options] <command> <subcommand> [parameters]\n\n       Use aws command help for information on a specific command. Use aws\n       help topics to view a list of available help topics. The synopsis for\n       each command shows its parameters and their usage. Optional parameters\n       are shown in square brackets.\n\nGLOBAL OPTIONS\n",
    );
    for (o, d) in [
        (
            "--debug (boolean)",
            "Turn on debug logging (canonical request and routing; never a secret).",
        ),
        (
            "--endpoint-url (string)",
            "Override command's default URL with the given URL.",
        ),
        (
            "--no-verify-ssl (boolean)",
            "Do not verify SSL certificates.",
        ),
        ("--no-paginate (boolean)", "Disable automatic pagination."),
        (
            "--output (string)",
            "The formatting style for command output: json, text, table, yaml, yaml-stream, off.",
        ),
        (
            "--query (string)",
            "A JMESPath query to use in filtering the response data.",
        ),
        (
            "--profile (string)",
            "Use a specific profile from your credential file.",
        ),
        (
            "--region (string)",
            "The region to use. Overrides config/env settings.",
        ),
        ("--version (string)", "Display the version of this tool."),
        (
            "--color (string)",
            "Turn on/off color output: on, off, auto.",
        ),
        ("--no-sign-request (boolean)", "Do not sign requests."),
        (
            "--cli-read-timeout (int)",
            "The maximum socket read time in seconds (0: blocking).",
        ),
        (
            "--cli-connect-timeout (int)",
            "The maximum socket connect time in seconds (0: blocking).",
        ),
        ("--no-cli-pager (boolean)", "Disable cli pager for output."),
    ] {
        s.push_str(&format!("       {o}\n\n       {d}\n\n"));
    }
    s.push_str("AVAILABLE SERVICES\n       o configure\n\n");
    let mut names: Vec<&str> = kagi_api::services().iter().map(|s| s.cli_name).collect();
    names.push("policy");
    names.sort();
    for n in names {
        s.push_str(&format!("       o {n}\n\n"));
    }
    s.push_str(
        "KAGI COMMANDS\n       o serve   run the local IAM/STS/ECR cloud (kagi serve --help)\n\n       o demo    walk the switch-role tutorial end to end against a private server\n\n       o policy  validate or simulate IAM policies offline (validate, simulate)\n\n       o console print a console sign-in URL for the profile's credentials (kagi console help)\n\n",
    );
    io.stdout.write_all(s.as_bytes())?;
    Ok(())
}

pub fn service(service: &'static Service, io: &mut Io) -> Result<(), CliError> {
    let mut s = format!(
        "{}()\n\nNAME\n       {} -\n\nDESCRIPTION\n       {}\n\nAVAILABLE COMMANDS\n",
        service.cli_name.to_uppercase(),
        service.cli_name,
        service.full_name
    );
    let mut ops: Vec<String> = service
        .operations()
        .iter()
        .map(|o| o.cli_name().to_string())
        .collect();
    if service.cli_name == "ecr" {
        ops.push("get-login-password".into());
    }
    ops.push("help".into());
    ops.sort();
    for o in ops {
        s.push_str(&format!("       o {o}\n\n"));
    }
    io.stdout.write_all(s.as_bytes())?;
    Ok(())
}

pub fn operation(op: &'static Operation, io: &mut Io) -> Result<(), CliError> {
    let service = op.service();
    let mut s = format!(
        "{}()\n\nNAME\n       {} -\n\nDESCRIPTION\n       {}\n\nSYNOPSIS\n            {}\n",
        op.cli_name().to_uppercase(),
        op.cli_name(),
        op.documentation,
        op.cli_name()
    );
    let opts = crate::params::option_names(op);
    for (name, ty, required) in &opts {
        let arg = format!("{name} <value>");
        let arg = if *ty == "boolean" {
            format!("{name} | --no-{}", &name[2..])
        } else {
            arg
        };
        if *required {
            s.push_str(&format!("          {arg}\n"));
        } else {
            s.push_str(&format!("          [{arg}]\n"));
        }
    }
    s.push_str("          [--cli-input-json <value>]\n");
    if op.paginator.is_some() {
        s.push_str("          [--starting-token <value>]\n          [--page-size <value>]\n          [--max-items <value>]\n");
    }
    s.push_str("          [--generate-cli-skeleton <value>]\n\nOPTIONS\n");
    for (name, ty, required) in &opts {
        s.push_str(&format!(
            "       {name} ({ty}){}\n\n",
            if *required { " [required]" } else { "" }
        ));
    }
    if let Some(out) = op.output_shape() {
        s.push_str("OUTPUT\n");
        for m in out.members() {
            s.push_str(&format!(
                "       {} -> ({})\n\n",
                m.name,
                service.shape(m.shape).kind.type_name()
            ));
        }
    }
    io.stdout.write_all(s.as_bytes())?;
    Ok(())
}

/// A hand-written command's help page (`kagi sso login help`, `kagi configure sso help`, ...),
/// laid out as the AWS CLI prints its customizations' pages: NAME, DESCRIPTION (paragraphs
/// wrapped at 79 columns), SYNOPSIS (the command's own line, or its name and options), OPTIONS.
pub struct Page<'a> {
    pub name: &'a str,
    pub description: &'a [&'a str],
    /// The synopsis as written (`aws configure sso [--profile profile-name]`, one line per
    /// line); without it the synopsis lists the options.
    pub synopsis: Option<&'a str>,
    /// `(name, type, text)`; `<value>` options are those whose type is not `boolean`.
    pub options: &'a [(&'a str, &'a str, &'a str)],
}

fn wrap(text: &str, indent: usize, out: &mut String) {
    let width = 79 - indent;
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
    }
}

pub fn command(page: &Page, io: &mut Io) -> Result<(), CliError> {
    let mut s = format!(
        "{}()\n\nNAME\n       {} -\n\nDESCRIPTION\n",
        page.name.to_uppercase(),
        page.name
    );
    for (i, p) in page.description.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        wrap(p, 7, &mut s);
    }
    s.push_str("\nSYNOPSIS\n");
    match page.synopsis {
        Some(lines) => {
            for line in lines.lines() {
                s.push_str(&format!("          {line}\n"));
            }
        }
        None => {
            s.push_str(&format!("            {}\n", page.name));
            for (name, ty, _) in page.options {
                if *ty == "boolean" {
                    s.push_str(&format!("          [{name}]\n"));
                } else {
                    s.push_str(&format!("          [{name} <value>]\n"));
                }
            }
        }
    }
    s.push_str("\nOPTIONS\n");
    if page.options.is_empty() {
        s.push_str("       None\n");
    }
    for (i, (name, ty, text)) in page.options.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        wrap(&format!("{name} ({ty}) {text}"), 7, &mut s);
    }
    io.stdout.write_all(s.as_bytes())?;
    Ok(())
}
