//! IAM Identity Center end to end: `kagi sso login` (device code and PKCE, both `--no-browser`)
//! against `kagi serve` in-process, with the person's approval given by an HTTP client driving
//! the access portal's pages (sign in, CSRF, approve); then the SSO credential provider
//! (`sts get-caller-identity --profile P` is the `AWSReservedSSO_` role session, an action
//! outside the permission set is denied), the caches' names, modes and fields, refresh, the
//! denials (no token, expired without refresh, after logout), `configure sso`, and botocore
//! reading kagi's caches and writing one kagi reads.
//!
//! The identity store, the permission set and the assignment are made through the
//! administration API by kagi-testkit's `identity_center::seed`, as the server's own sso_signin
//! test does.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kagi_testkit::identity_center::PASSWORD;
use serde_json::Value;

use crate::common::{Outcome, Sandbox};

struct World {
    server: kagi_server::RunningServer,
    sb: Sandbox,
    seeded: kagi_testkit::identity_center::Seeded,
}

impl World {
    fn endpoint(&self) -> String {
        format!("http://{}", self.server.addr)
    }
    fn start_url(&self) -> String {
        format!("{}/start", self.endpoint())
    }
    fn account(&self) -> &str {
        &self.server.account_id
    }
}

fn world() -> World {
    let server = kagi_server::start_background(kagi_server::ServerConfig::in_memory())
        .expect("kagi serve starts");
    let seeded = kagi_testkit::identity_center::seed(
        &format!("http://{}", server.addr),
        &server.account_id,
        &server.root_access_key_id,
        server.root_secret_access_key(),
    );
    let mut sb = Sandbox::new();
    let ep = format!("http://{}", server.addr);
    // Only the services' own variables: the provider must find sso/sso-oidc/sts there.
    sb.set("AWS_ENDPOINT_URL", &ep);
    sb.write(
        ".aws/config",
        &format!(
            "[profile dev]\nsso_session = kagi\nsso_account_id = {acct}\nsso_role_name = EcrReader\nregion = us-east-1\n\n[profile legacy]\nsso_start_url = {ep}/start\nsso_region = us-east-1\nsso_account_id = {acct}\nsso_role_name = EcrReader\nregion = us-east-1\n\n[sso-session kagi]\nsso_start_url = {ep}/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
            acct = server.account_id
        ),
    );
    World { server, sb, seeded }
}

/// A writer the test can read while the command still runs.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    /// Waits until the output contains `needle` (or panics after 30 s).
    fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if t.contains(needle) {
                return t;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no {needle:?} in {t:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs a command on its own thread; its stdout readable as it goes.
fn spawn(sb: &Sandbox, args: &[&str]) -> (Shared, std::thread::JoinHandle<(i32, String)>) {
    let env = sb.env();
    let mut argv: Vec<OsString> = vec!["aws".into()];
    argv.extend(args.iter().map(OsString::from));
    let out = Shared::default();
    let mut stdout = out.clone();
    let h = std::thread::spawn(move || {
        let mut input = std::io::Cursor::new(Vec::new());
        let mut err = Vec::new();
        let code = {
            let mut io = kagi_cli::Io {
                stdin: &mut input,
                stdout: &mut stdout,
                stderr: &mut err,
            };
            kagi_cli::run(&argv, &env, &mut io)
        };
        (code, String::from_utf8_lossy(&err).into_owned())
    });
    (out, h)
}

/// A browser without redirects: a cookie jar of one cookie, forms posted by hand.
struct Browser {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
}

type Page = (u16, HashMap<String, String>, String);

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            base: base.to_string(),
            cookie: None,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn finish(&mut self, mut resp: ureq::http::Response<ureq::Body>) -> Page {
        let mut h = HashMap::new();
        for (k, v) in resp.headers() {
            let v = v.to_str().unwrap_or("").to_string();
            if k.as_str() == "set-cookie"
                && let Some(c) = v.split(';').next()
                && !c.ends_with('=')
            {
                self.cookie = Some(c.to_string());
            }
            h.insert(k.as_str().to_string(), v);
        }
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        (status, h, body)
    }

    fn get(&mut self, path: &str) -> Page {
        let mut req = self.agent.get(&self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.call().expect("GET");
        self.finish(resp)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut req = self.agent.post(&self.url(path));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.send_form(form.iter().copied()).expect("POST");
        self.finish(resp)
    }

    fn sign_in(&mut self, next: &str) {
        let (s, _, body) = self.sign_in_with(PASSWORD, next);
        assert_eq!(s, 303, "sign-in: {body}");
        assert!(self.cookie.is_some(), "no session cookie");
    }

    /// alice's portal sign-in with `password`, whatever its answer.
    fn sign_in_with(&mut self, password: &str, next: &str) -> Page {
        self.post(
            "/start/signin",
            &[
                ("username", "alice"),
                ("password", password),
                ("next", next),
            ],
        )
    }
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// The person approves the device code shown by `sso login --use-device-code`.
fn approve_device(base: &str, user_code: &str) {
    let mut b = Browser::new(base);
    let path = format!("/start/device?user_code={user_code}");
    b.sign_in(&path);
    let (_, _, page) = b.get(&path);
    assert!(page.contains(user_code), "{page}");
    let (s, _, body) = b.post(
        "/start/device",
        &[
            ("user_code", user_code),
            ("decision", "allow"),
            ("csrf", &csrf(&page)),
        ],
    );
    assert!(s == 200 && body.contains("approved"), "{s} {body}");
}

/// The person approves the PKCE request at `authorize_url`; returns the loopback redirect.
fn approve_pkce(base: &str, authorize_url: &str) -> String {
    let mut b = Browser::new(base);
    let (s, h, body) = b.get(authorize_url);
    assert_eq!(s, 303, "/authorize: {body}");
    let approve = h["location"].clone();
    assert!(
        approve.starts_with("/start/authorize?request="),
        "{approve}"
    );
    b.sign_in(&approve);
    let (_, _, page) = b.get(&approve);
    let request = approve.split("request=").nth(1).unwrap().to_string();
    let (s, h, body) = b.post(
        "/start/authorize",
        &[
            ("request", &request),
            ("decision", "allow"),
            ("csrf", &csrf(&page)),
        ],
    );
    assert_eq!(s, 303, "approval: {body}");
    h["location"].clone()
}

fn line_after<'t>(text: &'t str, marker: &str) -> &'t str {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text:?}"))
        + marker.len();
    text[at..].trim_start_matches('\n').lines().next().unwrap()
}

/// `sso login --use-device-code --no-browser` for `profile`, approved in the portal.
fn device_login(w: &World, profile: &str) -> String {
    let (out, h) = spawn(
        &w.sb,
        &[
            "sso",
            "login",
            "--profile",
            profile,
            "--use-device-code",
            "--no-browser",
        ],
    );
    let text = out.wait_for("autofill the code upon loading:\n");
    let code = line_after(&text, "Then enter the code:\n").to_string();
    approve_device(&w.endpoint(), &code);
    let (rc, err) = h.join().unwrap();
    let text = out.text();
    assert_eq!(rc, 0, "{text}{err}");
    text
}

fn sha1(s: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn arn(out: &Outcome) -> String {
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["Arn"].as_str().unwrap().to_string()
}

fn assert_sso_arn(w: &World, arn: &str) {
    let prefix = format!(
        "arn:aws:sts::{}:assumed-role/AWSReservedSSO_EcrReader_",
        w.account()
    );
    let rest = arn.strip_prefix(&prefix).unwrap_or_else(|| panic!("{arn}"));
    let (hex, user) = rest.split_once('/').unwrap();
    assert!(
        hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{arn}"
    );
    assert_eq!(user, "alice");
}

fn token_file(w: &World, key: &str) -> PathBuf {
    w.sb.home()
        .join(format!(".aws/sso/cache/{}.json", sha1(key)))
}

fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn clear_role_cache(w: &World) {
    let _ = std::fs::remove_dir_all(w.sb.home().join(".aws/cli/cache"));
}

fn rfc3339_z(secs: i64) -> String {
    kagi_cli::sso::utc_z(secs)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn device_code_login_role_credentials_refresh_and_logout() {
    let w = world();
    // No token yet: botocore's SSOTokenLoadError.
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "dev"]);
    assert_eq!(out.code, 255, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "\nError loading SSO Token: Token for kagi does not exist\n"
    );
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "legacy"]);
    assert_eq!(
        out.stderr,
        format!(
            "\nError loading SSO Token: Token for {} does not exist\n",
            w.start_url()
        )
    );

    let text = device_login(&w, "dev");
    assert!(
        text.starts_with(
            "Browser will not be automatically opened.\nPlease visit the following URL:\n\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "Successfully logged into Start URL: {}\n",
            w.start_url()
        )),
        "{text}"
    );

    // The token cache: sha1(session name), 0600, botocore's fields.
    let tf = token_file(&w, "kagi");
    assert_eq!(mode(&tf), 0o600);
    let t = read_json(&tf);
    let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "clientSecret",
            "registrationExpiresAt",
            "refreshToken"
        ]
    );
    assert_eq!(t["startUrl"], w.start_url().as_str());
    assert_eq!(t["region"], "us-east-1");
    assert!(t["expiresAt"].as_str().unwrap().ends_with('Z'));
    // The registration beside it (device flow: no grantTypes).
    let regs: Vec<Value> = std::fs::read_dir(tf.parent().unwrap())
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .filter(|v| v.get("accessToken").is_none())
        .collect();
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0]["scopes"], serde_json::json!(["sso:account:access"]));
    assert!(regs[0].get("grantTypes").is_none());

    // Role credentials: the permission set's session; ECR allowed, IAM denied.
    let who = arn(&w
        .sb
        .run(&["sts", "get-caller-identity", "--profile", "dev"]));
    assert_sso_arn(&w, &who);
    let out =
        w.sb.run(&["ecr", "describe-repositories", "--profile", "dev"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = w.sb.run(&["iam", "list-users", "--profile", "dev"]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(out.stderr.contains("(AccessDenied)"), "{}", out.stderr);
    // The role credential cache: the AWS CLI's key, ProviderType sso.
    let key = sha1(&format!(
        "{{\"accountId\":\"{}\",\"roleName\":\"EcrReader\",\"sessionName\":\"kagi\"}}",
        w.account()
    ));
    let rc = w.sb.home().join(format!(".aws/cli/cache/{key}.json"));
    assert_eq!(mode(&rc), 0o600);
    let c = read_json(&rc);
    assert_eq!(c["ProviderType"], "sso");
    assert_eq!(c["Credentials"]["AccountId"], w.account());
    assert!(
        c["Credentials"]["Expiration"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // Less than 15 minutes left: refreshed with the refresh token, written back.
    let saved = t.clone();
    let mut near = t.clone();
    near["expiresAt"] = rfc3339_z(now() + 300).into();
    std::fs::write(&tf, near.to_string()).unwrap();
    clear_role_cache(&w);
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "dev"])),
    );
    let refreshed = read_json(&tf);
    assert_ne!(refreshed["accessToken"], saved["accessToken"]);
    assert_ne!(refreshed["refreshToken"], saved["refreshToken"]);
    assert!(
        kagi_cli::creds::parse_expiration(refreshed["expiresAt"].as_str().unwrap()).unwrap()
            > now() + 3600
    );

    // Expired and no refresh token: botocore's TokenRetrievalError.
    let mut dead = refreshed.clone();
    dead["expiresAt"] = rfc3339_z(now() - 60).into();
    dead.as_object_mut().unwrap().remove("refreshToken");
    std::fs::write(&tf, dead.to_string()).unwrap();
    clear_role_cache(&w);
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "dev"]);
    assert_eq!(out.code, 255);
    assert_eq!(
        out.stderr,
        "\nError when retrieving token from sso: Token has expired and refresh failed\n"
    );

    // Logout: the token and the SSO role credentials are gone; the old token is refused.
    std::fs::write(&tf, refreshed.to_string()).unwrap();
    assert_eq!(
        w.sb.run(&["sts", "get-caller-identity", "--profile", "dev"])
            .code,
        0
    );
    assert!(rc.exists());
    let out = w.sb.run(&["sso", "logout"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(!tf.exists() && !rc.exists());
    assert!(
        std::fs::read_dir(tf.parent().unwrap()).unwrap().count() == 1,
        "the registration stays"
    );
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "dev"]);
    assert_eq!(
        out.stderr,
        "\nError loading SSO Token: Token for kagi does not exist\n"
    );
    std::fs::write(&tf, refreshed.to_string()).unwrap();
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "dev"]);
    assert_eq!(out.code, 255);
    assert_eq!(
        out.stderr,
        "\nThe SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile.\n"
    );
}

#[test]
fn legacy_profile_uses_the_device_flow_and_the_start_url_key() {
    let w = world();
    device_login(&w, "legacy");
    let tf = token_file(&w, &w.start_url());
    assert_eq!(mode(&tf), 0o600);
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "legacy"])),
    );
    // Expired legacy token: UnauthorizedSSOTokenError without calling the portal.
    let mut t = read_json(&tf);
    t["expiresAt"] = rfc3339_z(now() - 1).into();
    std::fs::write(&tf, t.to_string()).unwrap();
    clear_role_cache(&w);
    let out =
        w.sb.run(&["sts", "get-caller-identity", "--profile", "legacy"]);
    assert!(
        out.stderr
            .contains("The SSO session associated with this profile has expired"),
        "{}",
        out.stderr
    );
}

#[test]
fn pkce_login_through_the_loopback_callback() {
    let w = world();
    let (out, h) = spawn(&w.sb, &["sso", "login", "--profile", "dev", "--no-browser"]);
    out.wait_for("&code_challenge=");
    let text = out.wait_for("\n\n");
    let text = loop {
        // The URL's line is complete.
        if text
            .split("&code_challenge=")
            .nth(1)
            .is_some_and(|r| r.contains('\n'))
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
        let t = out.text();
        if t.split("&code_challenge=")
            .nth(1)
            .is_some_and(|r| r.contains('\n'))
        {
            break t;
        }
    };
    let url = line_after(&text, "Please visit the following URL:\n").to_string();
    assert!(
        url.starts_with(&format!(
            "{}/authorize?response_type=code&client_id=",
            w.endpoint()
        )),
        "{url}"
    );
    assert!(
        url.contains("&redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    assert!(
        url.contains("&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge="),
        "{url}"
    );
    let callback = approve_pkce(&w.endpoint(), &url);
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    // The browser follows the redirect to kagi's listener.
    let mut b = Browser::new(&w.endpoint());
    let (s, _, page) = b.get(&callback);
    assert_eq!(s, 200);
    assert!(page.contains("close this window"), "{page}");
    let (rc, err) = h.join().unwrap();
    assert_eq!(rc, 0, "{}{err}", out.text());
    assert!(out.text().ends_with(&format!(
        "Successfully logged into Start URL: {}\n",
        w.start_url()
    )));
    // The PKCE registration is cached with its grant types.
    let dir = w.sb.home().join(".aws/sso/cache");
    let reg = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| read_json(&e.unwrap().path()))
        .find(|v| v.get("grantTypes").is_some())
        .expect("a PKCE registration");
    assert_eq!(
        reg["grantTypes"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "dev"])),
    );
}

#[test]
fn configure_sso_writes_the_session_and_the_profile() {
    let w = world();
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &w.endpoint());
    let env = sb.env();
    let argv: Vec<OsString> = [
        "aws",
        "configure",
        "sso",
        "--use-device-code",
        "--no-browser",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let out = Shared::default();
    let mut stdout = out.clone();
    // Answers: session name, start URL, region, scopes (default), then after the sign-in the
    // client region, output, profile name (default).
    let answers = format!(
        "my-sso\n{}\nus-east-1\n\nus-west-2\njson\n\n",
        w.start_url()
    );
    let h = std::thread::spawn(move || {
        let mut input = std::io::Cursor::new(answers.into_bytes());
        let mut err = Vec::new();
        let code = {
            let mut io = kagi_cli::Io {
                stdin: &mut input,
                stdout: &mut stdout,
                stderr: &mut err,
            };
            kagi_cli::run(&argv, &env, &mut io)
        };
        (code, String::from_utf8_lossy(&err).into_owned())
    });
    let text = out.wait_for("autofill the code upon loading:\n");
    approve_device(&w.endpoint(), line_after(&text, "Then enter the code:\n"));
    let (rc, err) = h.join().unwrap();
    let text = out.text();
    assert_eq!(rc, 0, "{text}{err}");
    assert!(
        text.starts_with("SSO session name (Recommended): SSO start URL [None]: SSO region [None]: SSO registration scopes [sso:account:access]: "),
        "{text}"
    );
    let profile = format!("EcrReader-{}", w.account());
    assert!(text.ends_with(&format!(
        "The only AWS account available to you is: {a}\nUsing the account ID {a}\nThe only role available to you is: EcrReader\nUsing the role name \"EcrReader\"\nDefault client Region [None]: CLI default output format (json if not specified) [None]: Profile name [{profile}]: To use this profile, specify the profile name using --profile, as shown:\n\naws sts get-caller-identity --profile {profile}\n",
        a = w.account()
    )), "{text}");
    assert_eq!(
        sb.read(".aws/config"),
        format!(
            "[profile {profile}]\nsso_session = my-sso\nsso_account_id = {a}\nsso_role_name = EcrReader\nregion = us-west-2\noutput = json\n[sso-session my-sso]\nsso_start_url = {u}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
            a = w.account(),
            u = w.start_url()
        )
    );
    let who = arn(&sb.run(&["sts", "get-caller-identity", "--profile", &profile]));
    assert_sso_arn(&w, &who);

    // A second profile on the same session: the cached token serves (no sign-in), and
    // `--profile` names the new profile, which need not exist yet.
    let out = sb.run_with_stdin(
        &["configure", "sso", "--profile", "second", "--no-browser"],
        "my-sso\n\n\n",
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "SSO session name (Recommended): The only AWS account available to you is: {a}\nUsing the account ID {a}\nThe only role available to you is: EcrReader\nUsing the role name \"EcrReader\"\nDefault client Region [None]: CLI default output format (json if not specified) [None]: To use this profile, specify the profile name using --profile, as shown:\n\naws sts get-caller-identity --profile second\n",
            a = w.account()
        )
    );
    assert!(
        sb.read(".aws/config").ends_with(&format!(
            "[profile second]\nsso_session = my-sso\nsso_account_id = {}\nsso_role_name = EcrReader\n",
            w.account()
        )),
        "{}",
        sb.read(".aws/config")
    );
    assert_sso_arn(
        &w,
        &arn(&sb.run(&["sts", "get-caller-identity", "--profile", "second"])),
    );
}

/// botocore reads kagi's caches (a boto3 Session of the profile gets the role credentials from
/// kagi's token), and writes one (its SSOTokenProvider refreshes a token about to expire and
/// saves it) that kagi then reads.
#[test]
fn botocore_and_kagi_read_each_others_caches() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV").map(PathBuf::from) else {
        crate::common::skip_or_fail("KAGI_COMPAT_VENV (boto3)");
        return;
    };
    let w = world();
    device_login(&w, "dev");
    let tf = token_file(&w, "kagi");
    let mut t = read_json(&tf);
    let before = t["accessToken"].clone();
    t["expiresAt"] = rfc3339_z(now() + 120).into();
    std::fs::write(&tf, t.to_string()).unwrap();
    let script = r#"
import json, sys
import boto3, botocore.session
from botocore.tokens import SSOTokenProvider
s = boto3.Session(profile_name="dev")
print(s.client("sts").get_caller_identity()["Arn"])
core = botocore.session.Session(profile="dev")
tok = SSOTokenProvider(core).load_token().get_frozen_token()
print(tok.token[:4])
"#;
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("HOME", w.sb.home())
        .env("AWS_ENDPOINT_URL_SSO", w.endpoint())
        .env("AWS_ENDPOINT_URL_SSO_OIDC", w.endpoint())
        .env("AWS_ENDPOINT_URL_STS", w.endpoint())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_sso_arn(&w, stdout.lines().next().unwrap());
    // botocore refreshed the token and wrote it back (its own JSONFileCache).
    let written = read_json(&tf);
    assert_ne!(written["accessToken"], before);
    assert!(written["expiresAt"].as_str().unwrap().ends_with('Z'));
    clear_role_cache(&w);
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "dev"])),
    );
}

/// The browser tools of tests/browser (node, chromium, playwright-core), or `None`.
fn browser_script() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let chromium = std::env::var_os("KAGI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    (node && chromium.exists() && dir.join("node_modules/playwright-core").exists())
        .then(|| dir.join("sso-login.mjs").canonicalize().unwrap())
}

/// Runs `args` (an `sso login` that opens `$BROWSER`) until it ends, or fails as soon as the
/// browser script reports an error; returns stdout and the script's report.
fn login_with_browser(
    sb: &Sandbox,
    args: &[&str],
    log: &std::path::Path,
    n: usize,
) -> (String, Value) {
    let (out, h) = spawn(sb, args);
    let start = Instant::now();
    let report = loop {
        let lines: Vec<Value> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if lines.len() >= n {
            break lines[n - 1].clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no browser report: {}",
            out.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(report["ok"], true, "{report}\n{}", out.text());
    let (rc, err) = h.join().unwrap();
    assert_eq!(rc, 0, "{}{err}", out.text());
    (out.text(), report)
}

/// `kagi sso login` with a real browser (Chromium through playwright-core, as `$BROWSER`):
/// PKCE (the portal's approval redirects the browser to kagi's loopback listener), then the
/// device code flow with the browser opened at the code's page.
#[test]
fn sso_login_in_chromium() {
    let Some(script) = browser_script() else {
        crate::common::skip_or_fail("node, chromium and tests/browser/node_modules");
        return;
    };
    let mut w = world();
    let log = w.sb.home().join("browser.log");
    let browser = format!(
        "node {} {} alice {PASSWORD} %s",
        script.display(),
        log.display()
    );
    w.sb.set("BROWSER", &browser);
    let (text, report) = login_with_browser(&w.sb, &["sso", "login", "--profile", "dev"], &log, 1);
    assert!(
        text.starts_with("Attempting to open your default browser. If the browser does not open, open the following URL.\nIf you are unable to open the URL on this device, run this command again with the '--use-device-code' option.\n\n"),
        "{text}"
    );
    assert!(
        report["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{report}"
    );
    assert!(
        report["url"].as_str().unwrap().contains("/oauth/callback?"),
        "{report}"
    );
    assert_eq!(report["violations"], serde_json::json!([]), "{report}");
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "dev"])),
    );

    let (text, report) = login_with_browser(
        &w.sb,
        &["sso", "login", "--profile", "dev", "--use-device-code"],
        &log,
        2,
    );
    assert!(
        text.starts_with("Attempting to open your default browser.\nIf the browser does not open or you wish to use a different device to authorize this request, open the following URL:\n\n"),
        "{text}"
    );
    assert!(text.contains("\nThen enter the code:\n\n"), "{text}");
    assert!(
        report["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("approved"),
        "{report}"
    );
    clear_role_cache(&w);
    assert_sso_arn(
        &w,
        &arn(&w
            .sb
            .run(&["sts", "get-caller-identity", "--profile", "dev"])),
    );
}

/// The official AWS CLI v2 (Debian's) takes the role credentials kagi cached: same file name
/// (SSOCredentialFetcher's key), same content, so it answers without calling the portal.
#[test]
fn official_aws_cli_v2_uses_kagis_role_credential_cache() {
    let Some(official) = crate::common::official_v2() else {
        return;
    };
    let w = world();
    device_login(&w, "dev");
    let ours = arn(&w
        .sb
        .run(&["sts", "get-caller-identity", "--profile", "dev"]));
    let out = std::process::Command::new(&official.bin)
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "dev",
            "--endpoint-url",
        ])
        .arg(w.endpoint())
        .env_clear()
        .env("HOME", w.sb.home())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_PAGER", "")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} {stdout}{}",
        official.version,
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["Arn"], ours.as_str());
}

#[test]
fn configure_sso_session_then_login_with_it() {
    let w = world();
    let mut sb = Sandbox::new();
    sb.set("AWS_ENDPOINT_URL", &w.endpoint());
    let out = sb.run_with_stdin(
        &["configure", "sso-session"],
        &format!("\nteam\n{}\nus-east-1\n\n", w.start_url()),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "SSO session name: A value is required\nSSO session name: SSO start URL [None]: SSO region [None]: SSO registration scopes [sso:account:access]: \nCompleted configuring SSO session: team\nRun the following to login and refresh access token for this session:\n\naws sso login --sso-session team\n"
    );
    assert_eq!(
        sb.read(".aws/config"),
        format!(
            "[sso-session team]\nsso_start_url = {}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n",
            w.start_url()
        )
    );
    // `sso login --sso-session` without any profile (device code, approved in the portal).
    let (out, h) = spawn(
        &sb,
        &[
            "sso",
            "login",
            "--sso-session",
            "team",
            "--use-device-code",
            "--no-browser",
        ],
    );
    let text = out.wait_for("autofill the code upon loading:\n");
    approve_device(&w.endpoint(), line_after(&text, "Then enter the code:\n"));
    let (rc, err) = h.join().unwrap();
    assert_eq!(rc, 0, "{}{err}", out.text());
    assert!(
        sb.home()
            .join(format!(".aws/sso/cache/{}.json", sha1("team")))
            .exists()
    );
    let out = sb.run(&["sso", "login", "--sso-session", "nope"]);
    assert_eq!(out.code, 253);
    assert_eq!(
        out.stderr,
        "\nThe specified sso-session does not exist: \"nope\"\n"
    );
}

/// `kagi sso set-password`: the portal password kagi lets an administrator set (AWS e-mails an
/// invitation instead), signed with the profile's keys and authorised as
/// `identitystore:UpdateUser`.
#[test]
fn sso_set_password_sets_the_portal_password_and_is_authorised() {
    let mut w = world();
    let store = w.seeded.identity_store_id.clone();
    let root_id = w.server.root_access_key_id.clone();
    let root_secret = w.server.root_secret_access_key().to_string();
    w.sb.set("AWS_ACCESS_KEY_ID", &root_id)
        .set("AWS_SECRET_ACCESS_KEY", &root_secret)
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let set = |sb: &Sandbox, user: &str, password: &str| {
        sb.run_with_stdin(
            &[
                "sso",
                "set-password",
                "--identity-store-id",
                &store,
                "--user-name",
                user,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
    };

    // Success: nothing printed; the new password signs in to the portal, the old one no more.
    let new = "Another-Portal-Passw0rd!";
    let out = set(&w.sb, "alice", new);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
    assert!(!out.stderr.contains(new));
    let mut b = Browser::new(&w.endpoint());
    let (s, _, body) = b.sign_in_with(new, "/start/");
    assert_eq!(s, 303, "{body}");
    let (s, _, home) = b.get("/start/");
    assert_eq!(s, 200);
    assert!(home.contains("EcrReader"), "{home}");
    let mut b = Browser::new(&w.endpoint());
    let (s, _, body) = b.sign_in_with(PASSWORD, "/start/");
    assert_ne!(s, 303, "the old password still signs in");
    assert!(body.contains("Incorrect username or password."), "{body}");

    // A password IAM's default policy refuses.
    let out = set(&w.sb, "alice", "short");
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "\nAn error occurred (PasswordPolicyViolation) when calling the SetPortalPassword operation: "
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("short"), "{}", out.stderr);
    // An unknown user.
    let out = set(&w.sb, "nobody", new);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("(ResourceNotFoundException) when calling the SetPortalPassword operation"),
        "{}",
        out.stderr
    );
    // A usage error, before any prompt or call.
    let out = w.sb.run_with_stdin(
        &[
            "sso",
            "set-password",
            "--user-name",
            "alice",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(out.code, 252, "{}", out.stderr);
    assert!(out.stderr.contains("--identity-store-id"), "{}", out.stderr);

    // A principal of the account without identitystore:UpdateUser.
    let out = w.sb.run(&["iam", "create-user", "--user-name", "bob"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out =
        w.sb.run(&["iam", "create-access-key", "--user-name", "bob"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key: Value = serde_json::from_str(&out.stdout).unwrap();
    let mut bob = Sandbox::new();
    bob.set("AWS_ENDPOINT_URL", &w.endpoint())
        .set(
            "AWS_ACCESS_KEY_ID",
            key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        )
        .set(
            "AWS_SECRET_ACCESS_KEY",
            key["AccessKey"]["SecretAccessKey"].as_str().unwrap(),
        )
        .set("AWS_DEFAULT_REGION", "us-east-1");
    let out = set(&bob, "alice", "Bobs-Portal-Passw0rd!");
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("(AccessDeniedException) when calling the SetPortalPassword operation: ")
            && out.stderr.contains("identitystore:UpdateUser"),
        "{}",
        out.stderr
    );
    // alice's password is still the one the administrator set.
    let (s, _, _) = Browser::new(&w.endpoint()).sign_in_with(new, "/start/");
    assert_eq!(s, 303);
}

/// The help pages of the hand-written Identity Center commands.
#[test]
fn help_pages_of_the_sso_commands() {
    let sb = Sandbox::new();
    for (args, first, must) in [
        (
            &["sso", "login", "help"][..],
            "LOGIN()\n\nNAME\n       login -\n\nDESCRIPTION\n       Retrieves and caches an AWS IAM Identity Center access token",
            &[
                "SYNOPSIS\n            login\n          [--no-browser]\n          [--use-device-code]\n          [--sso-session <value>]\n",
                "       --use-device-code (boolean) Uses the Device Code authorization grant",
            ][..],
        ),
        (
            &["sso", "logout", "help"][..],
            "LOGOUT()\n\nNAME\n       logout -\n\nDESCRIPTION\n       Removes all cached AWS IAM Identity Center access tokens",
            &["OPTIONS\n       None\n"][..],
        ),
        (
            &["configure", "sso", "help"][..],
            "SSO()\n\nNAME\n       sso -\n\nDESCRIPTION\n       The aws configure sso command interactively prompts",
            &[
                "SYNOPSIS\n          aws configure sso [--profile profile-name]\n",
                "       --no-browser (boolean) Disables automatically opening the verification\n       URL in the default browser.\n",
                "https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sso.html",
            ][..],
        ),
        (
            &["configure", "sso-session", "help"][..],
            "SSO-SESSION()\n\nNAME\n       sso-session -\n\nDESCRIPTION\n       The aws configure sso-session command",
            &["SYNOPSIS\n          aws configure sso-session\n\nOPTIONS\n       None\n"][..],
        ),
        (
            &["sso", "set-password", "help"][..],
            "SET-PASSWORD()\n\nNAME\n       set-password -\n\nDESCRIPTION\n       kagi's extension to IAM Identity Center",
            &[
                "identitystore:UpdateUser",
                "       --password-stdin (boolean)",
            ][..],
        ),
    ] {
        let out = sb.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.starts_with(first), "{args:?}:\n{}", out.stdout);
        for m in must {
            assert!(
                out.stdout.contains(m),
                "{args:?} lacks {m:?}:\n{}",
                out.stdout
            );
        }
        // Wrapped at 79 columns, as the AWS CLI's pages.
        assert!(
            out.stdout.lines().all(|l| l.chars().count() <= 79),
            "{}",
            out.stdout
        );
    }
}
