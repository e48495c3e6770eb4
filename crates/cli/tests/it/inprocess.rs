//! In-process invocations without a server: version, configure, errors, parameters.

use crate::common::Sandbox;

#[test]
fn version_is_one_line() {
    let s = Sandbox::new();
    let o = s.run(&["--version"]);
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.starts_with("aws-cli/2.36.7 Python/3.13.0 "),
        "{}",
        o.stdout
    );
    assert_eq!(o.stdout.lines().count(), 1);
    assert!(o.stdout.trim_end().contains(" source/") && o.stdout.contains(" kagi/"));
}

#[test]
fn no_credentials_is_a_configuration_error() {
    let mut s = Sandbox::new();
    s.set("AWS_DEFAULT_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let o = s.run(&["sts", "get-caller-identity"]);
    assert_eq!(o.code, 253);
    assert_eq!(
        o.stderr,
        "\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n"
    );
    assert_eq!(o.stdout, "");
}

#[test]
fn unknown_profile_and_missing_region() {
    let mut s = Sandbox::new();
    let o = s.run(&["sts", "get-caller-identity", "--profile", "nope"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (253, "\nThe config profile (nope) could not be found\n")
    );
    s.set("AWS_PROFILE", "nope2");
    let o = s.run(&["iam", "list-users"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (253, "\nThe config profile (nope2) could not be found\n")
    );
    let mut s = Sandbox::new();
    s.set("AWS_ACCESS_KEY_ID", "AKIA")
        .set("AWS_SECRET_ACCESS_KEY", "x");
    let o = s.run(&["ecr", "describe-repositories"]);
    assert_eq!(o.code, 253);
    assert_eq!(
        o.stderr,
        "\nYou must specify a region. You can also configure your region by running \"aws configure\".\n"
    );
}

#[test]
fn argument_errors_exit_252_with_the_aws_cli_wording() {
    let s = Sandbox::new();
    let o = s.run(&["iam", "get-user-policy", "--policy-name", "p"]);
    assert_eq!(o.code, 252);
    assert!(o.stderr.starts_with("\nusage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\nTo see help text, you can run:\n"));
    assert!(
        o.stderr
            .ends_with("help\n\naws: error: the following arguments are required: --user-name\n\n"),
        "{}",
        o.stderr
    );
    let o = s.run(&["iam", "create-user", "--user-name", "a", "--bogus", "1"]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .ends_with("help\n\nUnknown options: --bogus, 1\n\n"),
        "{}",
        o.stderr
    );
    let o = s.run(&["iam", "create-user", "--user-name", ""]);
    assert_eq!(o.code, 252);
    assert_eq!(
        o.stderr,
        "\nParameter validation failed:\nInvalid length for parameter UserName, value: 0, valid min length: 1\n"
    );
    // Every botocore service is a command, under the official CLI's names and aliases.
    let o = s.run(&["help"]);
    assert_eq!(o.code, 0);
    for listed in [
        "o dynamodb\n",
        "o ec2\n",
        "o s3api\n",
        "o configservice\n",
        "o deploy\n",
    ] {
        assert!(o.stdout.contains(listed), "{listed} not in help");
    }
    for hidden in [
        "o s3\n",
        "o config\n",
        "o codedeploy\n",
        "o runtime.sagemaker\n",
    ] {
        assert!(!o.stdout.contains(hidden), "{hidden} in help");
    }
    let services = o.stdout.matches("\n       o ").count();
    assert!(services > 400, "{services} commands listed");
    for cmd in [
        ["runtime.sagemaker", "help"],
        ["configservice", "help"],
        ["lambda", "help"],
    ] {
        let o = s.run(&cmd);
        assert_eq!(o.code, 0, "{cmd:?}: {}", o.stderr);
    }
    // The s3 commands are there, `website` too (it gets as far as the configuration).
    let o = s.run(&["s3", "website", "s3://b", "--index-document", "i.html"]);
    assert_eq!(o.code, 253, "{}", o.stderr);
    let o = s.run(&["s3", "cp", "s3://b/k"]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("aws: error: the following arguments are required: paths")
    );
    let o = s.run(&["nosuchservice", "op"]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("aws: error: argument command: Found invalid choice 'nosuchservice'")
    );
    let o = s.run(&[
        "iam",
        "create-user",
        "--user-name",
        "a",
        "--tags",
        "Key=k,Value=v,Bad=x",
    ]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("Unknown parameter in Tags[0]: \"Bad\", must be one of: Key, Value"),
        "{}",
        o.stderr
    );
    let o = s.run(&[
        "iam",
        "create-policy",
        "--policy-name",
        "p",
        "--policy-document",
        "file:///nonexistent/x.json",
    ]);
    assert_eq!(o.code, 252);
    assert!(o.stderr.contains("Error parsing parameter '--policy-document': Unable to load paramfile file:///nonexistent/x.json"), "{}", o.stderr);
    let o = s.run(&["--output", "xml", "sts", "get-caller-identity"]);
    assert_eq!(o.code, 252);
}

#[test]
fn unreachable_endpoint_is_one_sentence() {
    let mut s = Sandbox::new();
    s.set("AWS_ACCESS_KEY_ID", "AKIA")
        .set("AWS_SECRET_ACCESS_KEY", "x")
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let port = crate::moto::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let o = s.run(&["sts", "get-caller-identity", "--endpoint-url", &url]);
    assert_eq!(o.code, 255);
    assert_eq!(
        o.stderr,
        format!("\nCould not connect to the endpoint URL: \"{url}\"\n")
    );
}

#[test]
fn skeleton_and_help_come_from_the_model() {
    let s = Sandbox::new();
    let o = s.run(&["iam", "create-user", "--generate-cli-skeleton"]);
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["UserName"], "");
    assert!(v["Tags"].is_array());
    let o = s.run(&["iam", "help"]);
    assert!(o.stdout.contains("o create-user") && o.stdout.contains("o list-users"));
    let o = s.run(&["iam", "create-user", "help"]);
    assert!(
        o.stdout.contains("--user-name (string) [required]"),
        "{}",
        o.stdout
    );
    let o = s.run(&["help"]);
    assert!(o.stdout.contains("o sts") && o.stdout.contains("o configure"));
    let o = s.run(&["ecr", "help"]);
    assert!(o.stdout.contains("o get-login-password"));
}

#[test]
fn configure_masks_keeps_and_preserves() {
    let s = Sandbox::new();
    s.write(
        ".aws/credentials",
        "# my keys\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = OTHERSECRET\n",
    );
    let o = s.run_with_stdin(
        &["configure"],
        "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nap-northeast-1\n\n",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Second run: current values masked, Enter keeps everything, files unchanged.
    let before = (s.read(".aws/credentials"), s.read(".aws/config"));
    let o = s.run_with_stdin(&["configure"], "\n\n\n\n");
    assert_eq!(
        o.stdout,
        "AWS Access Key ID [****************MPLE]: AWS Secret Access Key [****************EKEY]: Default region name [ap-northeast-1]: Default output format [None]: "
    );
    assert_eq!((s.read(".aws/credentials"), s.read(".aws/config")), before);
    assert!(
        before
            .0
            .starts_with("# my keys\n[other]\naws_access_key_id = OTHER\n"),
        "{}",
        before.0
    );
    // A temporary key asks for the session token; a long-term key afterwards removes it.
    let o = s.run_with_stdin(
        &["configure", "--profile", "tmp"],
        "ASIAEXAMPLE\nsecret\nTOKEN\n\n\n",
    );
    assert_eq!(
        o.stdout,
        "AWS Access Key ID [None]: AWS Secret Access Key [None]: AWS Session Token [None]: Default region name [None]: Default output format [None]: "
    );
    assert!(s.read(".aws/credentials").contains("[tmp]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = secret\naws_session_token = TOKEN\n"));
    let o = s.run_with_stdin(&["configure", "--profile", "tmp"], "AKIANEW\n\n\n\n");
    assert_eq!(
        o.stdout,
        "AWS Access Key ID [****************MPLE]: AWS Secret Access Key [****************cret]: Default region name [None]: Default output format [None]: "
    );
    assert!(!s.read(".aws/credentials").contains("TOKEN"));
}

#[test]
fn configure_set_get_list_profiles() {
    let s = Sandbox::new();
    s.write(
        ".aws/config",
        "[default]\n# region below\nregion = us-east-1\n\n[profile keep]\noutput = text\n",
    );
    assert_eq!(s.run(&["configure", "set", "region", "eu-west-1"]).code, 0);
    assert_eq!(
        s.run(&[
            "configure",
            "set",
            "profile.p2.role_arn",
            "arn:aws:iam::1:role/r"
        ])
        .code,
        0
    );
    assert_eq!(
        s.run(&[
            "configure",
            "set",
            "aws_access_key_id",
            "AKIAX",
            "--profile",
            "p2"
        ])
        .code,
        0
    );
    assert_eq!(
        s.run(&[
            "configure",
            "set",
            "default.s3.max_concurrent_requests",
            "20"
        ])
        .code,
        0
    );
    assert_eq!(
        s.read(".aws/config"),
        "[default]\n# region below\nregion = eu-west-1\ns3 =\n    max_concurrent_requests = 20\n\n[profile keep]\noutput = text\n[profile p2]\nrole_arn = arn:aws:iam::1:role/r\n"
    );
    assert_eq!(
        s.read(".aws/credentials"),
        "[p2]\naws_access_key_id = AKIAX\n"
    );
    assert_eq!(s.run(&["configure", "get", "region"]).stdout, "eu-west-1\n");
    assert_eq!(
        s.run(&["configure", "get", "profile.p2.role_arn"]).stdout,
        "arn:aws:iam::1:role/r\n"
    );
    assert_eq!(
        s.run(&["configure", "get", "aws_access_key_id", "--profile", "p2"])
            .stdout,
        "AKIAX\n"
    );
    assert_eq!(
        s.run(&["configure", "get", "default.s3.max_concurrent_requests"])
            .stdout,
        "20\n"
    );
    let section = s.run(&["configure", "get", "s3"]);
    assert_eq!(
        (section.code, section.stderr.as_str()),
        (
            1,
            "varname (s3) must reference a value, not a section or sub-section."
        )
    );
    let missing = s.run(&["configure", "get", "nothing"]);
    assert_eq!(
        (
            missing.code,
            missing.stdout.as_str(),
            missing.stderr.as_str()
        ),
        (1, "", "")
    );
    assert_eq!(
        s.run(&["configure", "list-profiles"]).stdout,
        "default\nkeep\np2\n"
    );
}

#[test]
fn configure_list_and_export_credentials() {
    let mut s = Sandbox::new();
    s.write(".aws/credentials", "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    s.set("AWS_DEFAULT_REGION", "us-west-2");
    let o = s.run(&["configure", "list"]);
    assert_eq!(
        o.stdout,
        "NAME       : VALUE                    : TYPE             : LOCATION\n\
         profile    : <not set>                : None             : None\n\
         access_key : ****************MPLE     : config-file      : ~/.aws/config\n\
         secret_key : ****************EKEY     : config-file      : ~/.aws/config\n\
         region     : us-west-2                : env              : AWS_DEFAULT_REGION\n"
    );
    let o = s.run(&["configure", "export-credentials"]);
    assert_eq!(
        o.stdout,
        "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\",\n  \"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n}\n"
    );
    s.set("AWS_ACCESS_KEY_ID", "ASIAENV")
        .set("AWS_SECRET_ACCESS_KEY", "envsecret")
        .set("AWS_SESSION_TOKEN", "tok");
    let expect = [
        (
            "env",
            "export AWS_ACCESS_KEY_ID=ASIAENV\nexport AWS_SECRET_ACCESS_KEY=envsecret\nexport AWS_SESSION_TOKEN=tok\n",
        ),
        (
            "env-no-export",
            "AWS_ACCESS_KEY_ID=ASIAENV\nAWS_SECRET_ACCESS_KEY=envsecret\nAWS_SESSION_TOKEN=tok\n",
        ),
        (
            "powershell",
            "$Env:AWS_ACCESS_KEY_ID=\"ASIAENV\"\n$Env:AWS_SECRET_ACCESS_KEY=\"envsecret\"\n$Env:AWS_SESSION_TOKEN=\"tok\"\n",
        ),
        (
            "windows-cmd",
            "set AWS_ACCESS_KEY_ID=ASIAENV\nset AWS_SECRET_ACCESS_KEY=envsecret\nset AWS_SESSION_TOKEN=tok\n",
        ),
        (
            "fish",
            "set -gx AWS_ACCESS_KEY_ID \"ASIAENV\"\nset -gx AWS_SECRET_ACCESS_KEY \"envsecret\"\nset -gx AWS_SESSION_TOKEN \"tok\"\n",
        ),
    ];
    for (f, want) in expect {
        assert_eq!(
            s.run(&["configure", "export-credentials", "--format", f])
                .stdout,
            want,
            "{f}"
        );
    }
    // AWS_PROFILE does not skip the environment (env keys win) ...
    s.set("AWS_PROFILE", "default");
    let o = s.run(&[
        "configure",
        "export-credentials",
        "--format",
        "env-no-export",
    ]);
    assert!(
        o.stdout.starts_with("AWS_ACCESS_KEY_ID=ASIAENV\n"),
        "{}",
        o.stdout
    );
    // ... but --profile does.
    let o = s.run(&[
        "configure",
        "export-credentials",
        "--format",
        "env",
        "--profile",
        "default",
    ]);
    assert!(
        o.stdout
            .starts_with("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
        "{}",
        o.stdout
    );
}

#[test]
fn credential_chain_configuration_errors() {
    let s = Sandbox::new();
    s.write(
        ".aws/config",
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n\
         [profile missing]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = ghost\n\
         [profile both]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = a\ncredential_source = Environment\n\
         [profile badsrc]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Moon\n\
         [profile imds]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Ec2InstanceMetadata\n\
         [profile nocreds]\nregion = us-east-1\n\
         [profile viaempty]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = nocreds\n\
         [profile proc]\ncredential_process = sh -c 'echo {\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"AKIAPROC\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}'\n\
         [profile procfail]\ncredential_process = sh -c 'echo boom >&2; exit 3'\n",
    );
    let err = |p: &str| {
        let o = s.run(&[
            "configure",
            "export-credentials",
            "--profile",
            p,
            "--format",
            "env",
        ]);
        assert_ne!(o.code, 0);
        o.stderr
    };
    assert!(err("a").contains("Infinite loop in credential configuration detected. Attempting to load from profile a which has already been visited. Visited profiles: ['a', 'b']"), "{}", err("a"));
    assert!(err("missing").contains(
        "The source_profile \"ghost\" referenced in the profile \"missing\" does not exist."
    ));
    assert!(
        err("both")
            .contains("The profile \"both\" contains both source_profile and credential_source.")
    );
    assert!(
        err("badsrc").contains(
            "The credential source \"Moon\" referenced in profile \"badsrc\" is not valid."
        )
    );
    assert!(err("imds").contains("Error when retrieving credentials from Ec2InstanceMetadata"));
    assert!(err("viaempty").contains("The source profile \"nocreds\" must have credentials."));
    assert!(
        err("procfail").contains("Error when retrieving credentials from custom-process: boom"),
        "{}",
        err("procfail")
    );
    let o = s.run(&[
        "configure",
        "export-credentials",
        "--profile",
        "proc",
        "--format",
        "env-no-export",
    ]);
    assert_eq!(
        o.stdout, "AWS_ACCESS_KEY_ID=AKIAPROC\nAWS_SECRET_ACCESS_KEY=s\n",
        "{}",
        o.stderr
    );
}

#[test]
fn policy_validate_and_simulate_offline() {
    let s = Sandbox::new();
    let good = s.write("good.json", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#);
    let o = s.run(&["policy", "validate", good.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(v["findings"].is_array());
    // The seed's commented policy: a parse failure is an ERROR finding and a non-zero exit.
    let bad = s.write(
        "bad.json",
        "{\n  \"Version\": \"2012-10-17\",\n  // comment\n  \"Statement\": []\n}\n",
    );
    let o = s.run(&["policy", "validate", &format!("file://{}", bad.display())]);
    assert_eq!(o.code, 1);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["findingType"], "ERROR");
    let o = s.run(&[
        "policy",
        "simulate",
        "--policy-input-list",
        &format!("file://{}", good.display()),
        "--action-names",
        "ecr:GetAuthorizationToken",
        "iam:ListUsers",
        "--query",
        "EvaluationResults[].[EvalActionName,EvalDecision]",
        "--output",
        "text",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "ecr:GetAuthorizationToken\tallowed\niam:ListUsers\timplicitDeny\n"
    );
}

#[test]
fn policy_simulate_with_service_and_resource_control_policies() {
    let s = Sandbox::new();
    let admin = s.write(
        "admin.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    );
    let ou = s.write(
        "ou.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"EcrAndS3","Effect":"Allow","Action":["ecr:*","s3:*"],"Resource":"*"}]}"#,
    );
    let no_delete = s.write(
        "nodelete.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"ecr:Delete*","Resource":"*"}]}"#,
    );
    let perimeter = s.write(
        "perimeter.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#,
    );
    let base = [
        "policy".to_string(),
        "simulate".into(),
        "--policy-input-list".into(),
        format!("file://{}", admin.display()),
        "--caller-arn".into(),
        "arn:aws:iam::123456789012:user/alice".into(),
        "--action-names".into(),
        "ecr:PutImage".into(),
        "ecr:DeleteRepository".into(),
        "sqs:SendMessage".into(),
        "s3:GetObject".into(),
        "iam:ListUsers".into(),
        "--scp".into(),
        "root:FullAWSAccess".into(),
        format!("--scp=ou/Prod:file://{}", ou.display()),
        "--scp".into(),
        "account:FullAWSAccess".into(),
        "--scp".into(),
        format!("account:{}", no_delete.display()),
        "--rcp".into(),
        "root:RCPFullAWSAccess".into(),
        "--rcp".into(),
        format!("root:file://{}", perimeter.display()),
        "--rcp".into(),
        "account:RCPFullAWSAccess".into(),
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = base.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        s.run(&a)
    };
    let o = run(&[
        "--query",
        "EvaluationResults[].[EvalActionName,EvalDecision,OrganizationsDecisionDetail.AllowedByOrganizations]",
        "--output",
        "text",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "ecr:PutImage\tallowed\tTrue\necr:DeleteRepository\texplicitDeny\tFalse\nsqs:SendMessage\timplicitDeny\tFalse\ns3:GetObject\texplicitDeny\tFalse\niam:ListUsers\timplicitDeny\tFalse\n"
    );
    let o = run(&["--output", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let r = &v["EvaluationResults"];
    assert_eq!(
        r[0]["EvalDecisionDetails"],
        serde_json::json!({"IAM Policy": "allowed", "Service Control Policy": "allowed", "Resource Control Policy": "allowed"})
    );
    assert_eq!(
        r[1]["MatchedStatements"][0]["SourcePolicyId"],
        "scp.account.2"
    );
    // The OU's SCP allows only ECR and S3; SQS supports RCPs, IAM does not.
    assert_eq!(
        r[2]["EvalDecisionDetails"]["Service Control Policy"],
        "implicitDeny"
    );
    assert_eq!(
        r[2]["EvalDecisionDetails"]["Resource Control Policy"],
        "allowed"
    );
    assert_eq!(
        r[4]["EvalDecisionDetails"],
        serde_json::json!({"IAM Policy": "allowed", "Service Control Policy": "implicitDeny"})
    );
    assert_eq!(
        r[3]["EvalDecisionDetails"]["Resource Control Policy"],
        "explicitDeny"
    );
    // A malformed SCP is refused with Organizations' words and the precise reason.
    let bad = s.write(
        "bad-scp.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
    );
    let o = s.run(&[
        "policy",
        "simulate",
        "--policy-input-list",
        &format!("file://{}", admin.display()),
        "--action-names",
        "s3:GetObject",
        "--scp",
        &format!("root:file://{}", bad.display()),
    ]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr.contains("MalformedPolicyDocumentException")
            && o.stderr.contains("cannot have \"Principal\""),
        "{}",
        o.stderr
    );
    let o = s.run(&["policy", "simulate", "--scp", "nowhere:FullAWSAccess"]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr.contains("root, ou, ou/NAME or account"),
        "{}",
        o.stderr
    );
    // `validate` knows the Organizations types.
    let o = s.run(&[
        "policy",
        "validate",
        bad.to_str().unwrap(),
        "--policy-type",
        "SERVICE_CONTROL_POLICY",
    ]);
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("UNSUPPORTED_PRINCIPAL"), "{}", o.stdout);
}

#[test]
fn cli_input_json_and_yaml_stream() {
    let s = Sandbox::new();
    let o = s.run(&[
        "iam",
        "create-user",
        "--cli-input-json",
        r#"{"UserName": ""}"#,
    ]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("Invalid length for parameter UserName, value: 0, valid min length: 1"),
        "{}",
        o.stderr
    );
    let o = s.run(&["iam", "create-user", "--cli-input-json", r#"{"Bogus": 1}"#]);
    assert_eq!(o.code, 252);
    assert!(
        o.stderr
            .contains("Missing required parameter in input: \"UserName\""),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("Unknown parameter in input: \"Bogus\", must be one of: Path, UserName, PermissionsBoundary, Tags"), "{}", o.stderr);
}

#[test]
fn unparsable_config_names_the_file() {
    let s = Sandbox::new();
    let p = s.write(".aws/config", "[profile a]\n  -continued\n");
    let o = s.run(&["configure", "list-profiles"]);
    assert_eq!(o.code, 255);
    assert!(
        o.stderr
            .starts_with(&format!("\nUnable to parse config file: {}", p.display())),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);
}

#[test]
fn enhanced_error_format_on_request() {
    let mut s = Sandbox::new();
    s.set("AWS_DEFAULT_REGION", "us-east-1");
    let o = s.run(&[
        "sts",
        "get-caller-identity",
        "--cli-error-format",
        "enhanced",
    ]);
    assert_eq!(
        o.stderr,
        "\naws: [ERROR]: Unable to locate credentials. You can configure credentials by running \"aws configure\".\n"
    );
    s.write(".aws/config", "[default]\ncli_error_format = enhanced\n");
    let o = s.run(&["sts", "get-caller-identity"]);
    assert!(o.stderr.starts_with("\naws: [ERROR]: "), "{}", o.stderr);
    s.set("AWS_CLI_ERROR_FORMAT", "legacy");
    let o = s.run(&["sts", "get-caller-identity"]);
    assert!(
        o.stderr.starts_with("\nUnable to locate credentials."),
        "{}",
        o.stderr
    );
}

#[test]
fn configure_import_console_csv() {
    let s = Sandbox::new();
    let csv = s.write("creds.csv", "User name,Password,Access key ID,Secret access key,Console login link\nalice,,AKIAALICE,alicesecret,https://x\n");
    let o = s.run(&[
        "configure",
        "import",
        "--csv",
        &format!("file://{}", csv.display()),
        "--profile-prefix",
        "p-",
    ]);
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "Successfully imported 1 profile(s)\n"),
        "{}",
        o.stderr
    );
    assert_eq!(
        s.read(".aws/credentials"),
        "[p-alice]\naws_access_key_id = AKIAALICE\naws_secret_access_key = alicesecret\n"
    );
}
