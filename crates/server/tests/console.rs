//! HTTP-level tests of the web console against a real server: the seed's console steps by form
//! posts, a signed-in IAM user denied by policy, CSRF failures, wrong passwords and lockout.

mod common;

use common::{ACCOUNT, Client};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;

const ROOT_PASSWORD: &str = "Root-Passw0rd!";
const USER_PASSWORD: &str = "Switch-Passw0rd!";

/// A minimal browser: keeps cookies, never follows redirects.
struct Browser {
    addr: SocketAddr,
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
    set_cookie_lines: Vec<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    csp: Option<String>,
    body: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let at = self.body.find(marker).expect("page has a csrf field") + marker.len();
        let end = self.body[at..].find('"').unwrap();
        self.body[at..at + end].to_owned()
    }
}

impl Browser {
    fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: HashMap::new(),
            set_cookie_lines: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, resp: ureq::http::Response<ureq::Body>) -> Page {
        for v in resp.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap().to_owned();
            let (kv, _) = line.split_once(';').unwrap_or((&line, ""));
            let (k, val) = kv.split_once('=').unwrap();
            if line.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
            self.set_cookie_lines.push(line);
        }
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let location = header("location");
        let csp = header("content-security-policy");
        let body = resp.into_body().read_to_string().unwrap();
        Page {
            status,
            location,
            csp,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Page {
        let resp = self
            .agent
            .get(format!("http://{}{path}", self.addr))
            .header("cookie", self.cookie_header())
            .call()
            .unwrap();
        self.take(resp)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let resp = self
            .agent
            .post(format!("http://{}{path}", self.addr))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .send(body)
            .unwrap();
        self.take(resp)
    }

    fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/console/signin");
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("account", ACCOUNT),
                ("username", user),
                ("password", password),
            ],
        )
    }
}

const COMMENTED_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [ // ECR push and login
        {
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*"
        }
    ]
}"#;

/// Text as the console escapes it inside HTML.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn ecr_policy() -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:InitiateLayerUpload",
            "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
         "Resource": format!("arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/test-repos")},
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]})
    .to_string()
}

#[test]
fn seed_console_steps_by_form_posts_then_a_user_is_denied() {
    let server = common::start_in_memory();
    server.set_console_root_password(ROOT_PASSWORD).unwrap();
    let mut root = Browser::new(server.addr);

    // Not signed in: pages redirect to the sign-in form.
    let p = root.get("/console/users");
    assert_eq!(p.status, 303);
    assert_eq!(p.location.as_deref(), Some("/console/signin"));

    let p = root.sign_in("", ROOT_PASSWORD);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/users"));
    let session_cookie = root
        .set_cookie_lines
        .iter()
        .find(|l| l.starts_with("kagi-console=") && !l.contains("Max-Age=0"))
        .expect("session cookie")
        .clone();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session_cookie.contains(attr), "{session_cookie}");
    }
    // The cookie lives no longer than the root's one-hour console credentials.
    let max_age: i64 = session_cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(max_age > 0 && max_age <= 3600, "{session_cookie}");

    let users = root.get("/console/users");
    assert_eq!(users.status, 200);
    assert!(
        users.csp.as_deref().is_some_and(|c| c
            == "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    );
    // The stylesheet breaks long values (ARNs, digests, names) anywhere, but never headers,
    // short values or buttons mid-word; the switch-role banner stays one box.
    let css = root.get("/console/static/console.css");
    assert_eq!(css.status, 200);
    assert!(!css.body.contains("break-all"), "{}", css.body);
    assert!(
        css.body
            .contains("td code, td a, td.long { overflow-wrap: anywhere; }")
            && css.body.contains(
                "td button, td .btn { padding: 0.1rem 0.7rem; font-size: var(--step--1); white-space: nowrap; }"
            )
            && css
                .body
                .contains("@media (min-width: 48em) { td code.id { white-space: nowrap; } }"),
        "{}",
        css.body
    );
    assert!(
        css.body
            .contains(".band {\n  display: flex; flex-wrap: wrap;")
            && css
                .body
                .contains(".band button { margin-left: auto; white-space: nowrap; }"),
        "{}",
        css.body
    );
    assert!(users.body.contains(&format!("arn:aws:iam::{ACCOUNT}:root")));
    let csrf = users.csrf();

    // Step 2: create the user.
    let p = root.post(
        "/console/users",
        &[("csrf", &csrf), ("UserName", "user-for-switch")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/users/user-for-switch")
    );

    // A POST without the session's CSRF token does nothing.
    let p = root.post(
        "/console/users",
        &[("csrf", "forged"), ("UserName", "evil")],
    );
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"));
    let p = root.post("/console/users", &[("UserName", "evil")]);
    assert_eq!(p.status, 403);
    let listed = root.get("/console/users").body;
    assert!(listed.contains(">user-for-switch</a>"));
    assert!(
        listed.contains(&format!(
            "<td><code>arn:aws:iam::{ACCOUNT}:user/user-for-switch</code></td>"
        )),
        "the ARN is a long value (code, broken anywhere): {listed}"
    );
    assert!(!listed.contains("evil"));

    // Step 3: an access key, secret shown once; it really works.
    let p = root.post(
        "/console/users/user-for-switch/access-keys",
        &[("csrf", &csrf), ("UseCase", "cli")],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let grab = |after: &str| {
        let at = p.body.find(after).unwrap() + after.len();
        let rest = &p.body[at..];
        let start = rest.find("<code>").unwrap() + 6;
        let end = rest.find("</code>").unwrap();
        rest[start..end].to_owned()
    };
    let akid = grab("Access key ID");
    let secret = grab("Secret access key");
    let csv_link = format!(
        "data:text/csv;charset=utf-8,Access%20key%20ID%2CSecret%20access%20key%0A{akid}%2C{}%0A",
        secret.replace('/', "%2F").replace('+', "%2B")
    );
    assert!(p.body.contains(&csv_link), "{}", p.body);
    assert!(
        p.body
            .contains(r#"download="user-for-switch_accessKeys.csv""#)
    );
    assert!(akid.starts_with("AKIA"), "{akid}");
    assert_eq!(secret.len(), 40);
    let user_client = Client::new(server.addr, &akid, &secret, None);
    let me = user_client
        .call("sts", "GetCallerIdentity", json!({}))
        .unwrap();
    assert_eq!(
        me["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );
    let detail = root.get("/console/users/user-for-switch");
    assert!(detail.body.contains(&akid));
    assert!(
        !detail.body.contains(&secret),
        "the secret is shown only once"
    );

    // Deactivate, then delete, a second key from the user page.
    let p = root.post(
        "/console/users/user-for-switch/access-keys",
        &[("csrf", &csrf), ("UseCase", "cli")],
    );
    assert_eq!(p.status, 200);
    let keys = root_keys(&server);
    assert_eq!(keys.len(), 2);
    let second = keys.iter().find(|k| **k != akid).unwrap().clone();
    let p = root.post(
        &format!("/console/users/user-for-switch/access-keys/{second}/status"),
        &[("csrf", &csrf), ("Status", "Inactive")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = root.get("/console/users/user-for-switch").body;
    let row = &page[page.find(&second).unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("Inactive"));
    let p = root.post(
        &format!("/console/users/user-for-switch/access-keys/{second}/delete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(root_keys(&server), vec![akid.clone()]);

    // Step 4/5: the policy editor flags the seed's `//` comment at its line; valid ones go in.
    let p = root.post(
        "/console/policies",
        &[
            ("csrf", &csrf),
            ("PolicyName", "ECRPushAndLoginPolicy"),
            ("PolicyDocument", COMMENTED_POLICY),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("Line 3, column 20"), "{}", p.body);
    assert!(
        p.body.contains("// ECR push and login"),
        "the draft is kept"
    );
    assert!(
        p.body
            .contains(r#"<script src="/console/static/policy-editor.js" defer></script>"#)
    );
    assert!(!p.body.contains("<script>"), "no inline script");
    // The editor's live check: the engine's findings as JSON, CSRF-protected.
    let v = root.post(
        "/console/policies/validate",
        &[("csrf", &csrf), ("PolicyDocument", COMMENTED_POLICY)],
    );
    assert_eq!(v.status, 200);
    let v: serde_json::Value = serde_json::from_str(&v.body).unwrap();
    assert_eq!(v["findings"][0]["type"], "ERROR");
    assert_eq!(v["findings"][0]["line"], 3);
    assert_eq!(v["findings"][0]["column"], 20);
    let v = root.post(
        "/console/policies/validate",
        &[("csrf", "forged"), ("PolicyDocument", COMMENTED_POLICY)],
    );
    assert_eq!(v.status, 403);
    let js = root.get("/console/static/policy-editor.js");
    assert_eq!(js.status, 200);
    assert!(js.body.contains("/console/policies/validate"));
    let switch = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": format!("arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole")}]})
    .to_string();
    let ecr = ecr_policy();
    for (name, doc) in [
        ("SwitchRolePolicy", switch.as_str()),
        ("ECRPushAndLoginPolicy", ecr.as_str()),
    ] {
        let p = root.post(
            "/console/policies",
            &[
                ("csrf", &csrf),
                ("PolicyName", name),
                ("PolicyDocument", doc),
            ],
        );
        assert_eq!(p.status, 303, "{}", p.body);
    }
    let listed = root.get("/console/policies").body;
    assert!(listed.contains(&format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy")));
    assert!(listed.contains(&format!(
        "arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy"
    )));
    // All types by default, as the AWS console; the filter narrows to AWS or customer managed.
    let aws_managed = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser";
    assert!(listed.contains(aws_managed), "{listed}");
    assert!(
        listed.contains("<td>AWS managed</td>") && listed.contains("<td>Customer managed</td>")
    );
    let only_aws = root.get("/console/policies?type=aws").body;
    assert!(only_aws.contains(aws_managed) && !only_aws.contains("SwitchRolePolicy"));
    assert!(only_aws.contains(r#"aria-current="page"><strong>AWS managed</strong>"#));
    let only_local = root.get("/console/policies?type=customer").body;
    assert!(only_local.contains("SwitchRolePolicy") && !only_local.contains(aws_managed));
    // An AWS managed policy's page shows its document.
    let page = root.get(&format!(
        "/console/policies/{}",
        aws_managed.replace(':', "%3A").replace('/', "%2F")
    ));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("ecr:GetAuthorizationToken"),
        "{}",
        page.body
    );
    // ...and offers no edit or delete: AWS maintains it.
    assert!(page.body.contains("AWS managed policy") && !page.body.contains("Save changes"));
    assert!(!page.body.contains("/delete\""), "{}", page.body);
    let switch_arn = format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy");
    let p = root.post(
        "/console/users/user-for-switch/attach-policy",
        &[("csrf", &csrf), ("PolicyArn", &switch_arn)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        root.get("/console/users/user-for-switch")
            .body
            .contains(&switch_arn)
    );

    // Step 6: the role with "AWS account: this account" and the ECR policy.
    let ecr_arn = format!("arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy");
    let p = root.post(
        "/console/roles",
        &[
            ("csrf", &csrf),
            ("TrustedEntity", "this-account"),
            ("RoleName", "ECRLoginAndPushRole"),
            ("PolicyArn", &ecr_arn),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    // The role page's attach form.
    let p = root.post(
        "/console/roles/ECRLoginAndPushRole/attach-policy",
        &[("csrf", &csrf), ("PolicyArn", &switch_arn)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let role = root.get("/console/roles/ECRLoginAndPushRole");
    assert!(role.body.contains(&switch_arn));
    assert!(
        role.body.contains(&format!(
            "{{&quot;AWS&quot;:&quot;arn:aws:iam::{ACCOUNT}:root&quot;}}"
        )),
        "the trust relationship is shown decoded: {}",
        role.body
    );
    assert_eq!(role.status, 200);
    assert!(role.body.contains(&ecr_arn));
    let root_api = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    let got = root_api
        .call("iam", "GetRole", json!({"RoleName": "ECRLoginAndPushRole"}))
        .unwrap();
    let doc = got["Role"]["AssumeRolePolicyDocument"].as_str().unwrap();
    let doc = if doc.starts_with('%') {
        form_urlencoded::parse(format!("x={doc}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    } else {
        doc.to_owned()
    };
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc,
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":
            format!("arn:aws:iam::{ACCOUNT}:root")},"Action":"sts:AssumeRole","Condition":{}}]})
    );
    // The console's user can assume it now (policies really attached).
    user_client
        .call(
            "sts",
            "AssumeRole",
            json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole"),
                "RoleSessionName": "s1"}),
        )
        .unwrap();

    // Console access for the user; a weak password is refused with AWS's error.
    let p = root.post(
        "/console/users/user-for-switch/login-profile",
        &[("csrf", &csrf), ("Password", "weak")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("PasswordPolicyViolation"));
    let p = root.post(
        "/console/users/user-for-switch/login-profile",
        &[("csrf", &csrf), ("Password", USER_PASSWORD)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let profile = root_api
        .call(
            "iam",
            "GetLoginProfile",
            json!({"UserName": "user-for-switch"}),
        )
        .unwrap();
    assert_eq!(profile["LoginProfile"]["UserName"], "user-for-switch");

    // The user signs in and is denied the users page by policy, in AWS's words, with no data.
    let mut user = Browser::new(server.addr);
    let p = user.sign_in("user-for-switch", USER_PASSWORD);
    assert_eq!(p.status, 303, "{}", p.body);
    let p = user.get("/console/users");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDenied"), "{}", p.body);
    assert!(
        p.body.contains(&format!(
            "User: arn:aws:iam::{ACCOUNT}:user/user-for-switch is not authorized to perform: iam:ListUsers"
        )),
        "{}",
        p.body
    );
    assert!(!p.body.contains("<table"), "no data on a denied page");
    let p = user.get("/console/roles/ECRLoginAndPushRole");
    assert_eq!(p.status, 403);
    assert!(!p.body.contains(&ecr_arn));
    // Switch role: the console session becomes a real STS role session with the role's rights.
    let ucsrf = user.get("/console/switch-role").csrf();
    let p = user.post(
        "/console/switch-role",
        &[
            ("csrf", &ucsrf),
            ("Account", ACCOUNT),
            ("RoleName", "ECRLoginAndPushRole"),
            ("DisplayName", "ECR pusher"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = user.get("/console/users");
    assert_eq!(p.status, 403);
    assert!(p.body.contains(&format!(
        "arn:aws:sts::{ACCOUNT}:assumed-role/ECRLoginAndPushRole/user-for-switch is not authorized to perform: iam:ListUsers"
    )), "{}", p.body);
    assert!(
        p.body.contains("ECR pusher"),
        "the banner shows the display name"
    );
    let p = user.post("/console/switch-back", &[("csrf", &ucsrf)]);
    assert_eq!(p.status, 303);
    let p = user.get("/console/users");
    assert!(p.body.contains(&format!(
        "User: arn:aws:iam::{ACCOUNT}:user/user-for-switch is not authorized"
    )));
    // No banner any more (the role stays among the account menu's recent roles).
    assert!(!p.body.contains(r#"role="status">ECR pusher"#));
    assert!(!p.body.contains("class=\"banner"));
    // A role the user may not assume: AWS's AccessDenied, and the session is unchanged.
    let p = user.post(
        "/console/switch-role",
        &[("csrf", &ucsrf), ("Account", ACCOUNT), ("RoleName", "Nope")],
    );
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDenied"));

    // Its session's CSRF token is its own: root's does not work in the user's session.
    let p = user.post("/console/users", &[("csrf", &csrf), ("UserName", "x")]);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"));

    // Sign-out ends the session server-side.
    let p = root.post("/console/signout", &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    root.cookies.insert(
        "kagi-console".into(),
        session_cookie[13..].split(';').next().unwrap().into(),
    );
    assert_eq!(root.get("/console/users").status, 303);
}

fn root_keys(server: &kagi_server::RunningServer) -> Vec<String> {
    let root_api = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    let out = root_api
        .call(
            "iam",
            "ListAccessKeys",
            json!({"UserName": "user-for-switch"}),
        )
        .unwrap();
    out["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["AccessKeyId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn first_start_writes_a_private_root_password_that_signs_in() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = common::start_with_dir(Some(data.clone()));
    let file = data.join("root-password");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(password.len() >= 20);
    let mut b = Browser::new(server.addr);
    assert_eq!(b.sign_in("", "not-the-password").status, 401);
    let p = b.sign_in("", &password);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(b.get("/console/users").status, 200);
    server.shutdown();
    // A restart keeps the same password (only its hash is stored) and writes no new file.
    std::fs::remove_file(&file).unwrap();
    let server = common::start_with_dir(Some(data.clone()));
    assert!(!file.exists());
    let mut b = Browser::new(server.addr);
    assert_eq!(b.sign_in("", &password).status, 303);
}

#[test]
fn sign_in_failures_lock_out_and_csrf_is_required() {
    let server = common::start_in_memory();
    server.set_console_root_password(ROOT_PASSWORD).unwrap();
    let root_api = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    root_api
        .call("iam", "CreateUser", json!({"UserName": "alice"}))
        .unwrap();
    root_api
        .call(
            "iam",
            "CreateLoginProfile",
            json!({"UserName": "alice", "Password": USER_PASSWORD}),
        )
        .unwrap();

    // Sign-in without the pre-session CSRF cookie/field pair is refused.
    let mut b = Browser::new(server.addr);
    let p = b.post(
        "/console/signin",
        &[
            ("csrf", "x"),
            ("account", ACCOUNT),
            ("username", "alice"),
            ("password", USER_PASSWORD),
        ],
    );
    assert_eq!(p.status, 403);

    // A user created in the console with a password can sign in at once.
    let mut r = Browser::new(server.addr);
    assert_eq!(r.sign_in("", ROOT_PASSWORD).status, 303);
    let csrf = r.get("/console/users").csrf();
    let p = r.post(
        "/console/users",
        &[
            ("csrf", &csrf),
            ("UserName", "bob"),
            ("Password", USER_PASSWORD),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let mut bob = Browser::new(server.addr);
    assert_eq!(bob.sign_in("bob", USER_PASSWORD).status, 303);
    assert_eq!(bob.get("/console/users").status, 403);

    // A sign-in link prefills the account and user.
    let p = b.get(&format!("/console/signin?account={ACCOUNT}&username=alice"));
    assert!(
        p.body
            .contains(&format!(r#"autocapitalize="none" value="{ACCOUNT}""#)),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"autocomplete="username" value="alice""#));
    // Wrong account id, unknown user, wrong password: one message; the form keeps the account
    // and the user name, never the password.
    let p = b.sign_in("nobody", USER_PASSWORD);
    assert_eq!(p.status, 401);
    assert!(p.body.contains(r#"autocomplete="username" value="nobody""#));
    assert!(!p.body.contains(USER_PASSWORD));
    assert!(
        p.body
            .contains("Your authentication information is incorrect")
    );
    for i in 0..5 {
        let p = b.sign_in("alice", "Wrong-Passw0rd!");
        assert_eq!(p.status, 401, "attempt {i}: {}", p.body);
        assert!(
            p.body
                .contains("Your authentication information is incorrect")
        );
    }
    // Locked: even the right password is refused now, for this user only.
    let p = b.sign_in("alice", USER_PASSWORD);
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("Too many failed sign-in attempts"));
    assert!(!b.cookies.contains_key("kagi-console"));
    let p = b.sign_in("", ROOT_PASSWORD);
    assert_eq!(p.status, 303, "root is not locked by alice's failures");

    // The account password policy is enforced on new passwords.
    let e = root_api
        .call("iam", "GetAccountPasswordPolicy", json!({}))
        .unwrap_err();
    assert_eq!(e.1.code, "NoSuchEntity");
    assert_eq!(
        e.1.message,
        format!("The Password Policy with domain name {ACCOUNT} cannot be found.")
    );
    root_api
        .call(
            "iam",
            "UpdateAccountPasswordPolicy",
            json!({"MinimumPasswordLength": 20, "RequireSymbols": true}),
        )
        .unwrap();
    let got = root_api
        .call("iam", "GetAccountPasswordPolicy", json!({}))
        .unwrap();
    assert_eq!(got["PasswordPolicy"]["MinimumPasswordLength"], 20);
    assert_eq!(got["PasswordPolicy"]["RequireSymbols"], true);
    let e = root_api
        .call(
            "iam",
            "UpdateLoginProfile",
            json!({"UserName": "alice", "Password": USER_PASSWORD}),
        )
        .unwrap_err();
    assert_eq!(e.1.code, "PasswordPolicyViolation");
    root_api
        .call(
            "iam",
            "UpdateLoginProfile",
            json!({"UserName": "alice", "Password": "a-much-longer-password!"}),
        )
        .unwrap();
    root_api
        .call("iam", "DeleteAccountPasswordPolicy", json!({}))
        .unwrap();

    // DeleteUser needs the login profile gone first (as on AWS).
    let e = root_api
        .call("iam", "DeleteUser", json!({"UserName": "alice"}))
        .unwrap_err();
    assert_eq!(e.1.code, "DeleteConflict");
    root_api
        .call("iam", "DeleteLoginProfile", json!({"UserName": "alice"}))
        .unwrap();
    let e = root_api
        .call("iam", "GetLoginProfile", json!({"UserName": "alice"}))
        .unwrap_err();
    assert_eq!(e.1.code, "NoSuchEntity");
    root_api
        .call("iam", "DeleteUser", json!({"UserName": "alice"}))
        .unwrap();
}

// ------------------------------------------------------------------------------------------
// Helpers for the tests below: the seed's IAM state made through the API (the test above makes
// it by form posts), and small page probes.

const ROLE: &str = "ECRLoginAndPushRole";

/// user-for-switch (console password, SwitchRolePolicy), ECRPushAndLoginPolicy, the role with
/// "this account" trust. Returns the root API client and the user's API client.
fn seed_by_api(server: &kagi_server::RunningServer) -> (Client, Client) {
    let root = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    let user = common::user_with_key(&root, "user-for-switch");
    root.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "user-for-switch", "Password": USER_PASSWORD}),
    );
    for (name, doc) in [
        ("SwitchRolePolicy", common::switch_role_policy()),
        ("ECRPushAndLoginPolicy", ecr_policy()),
    ] {
        root.ok(
            "iam",
            "CreatePolicy",
            json!({"PolicyName": name, "PolicyDocument": doc}),
        );
    }
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "user-for-switch",
            "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy")}),
    );
    root.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": ROLE, "AssumeRolePolicyDocument": common::root_trust()}),
    );
    root.ok(
        "iam",
        "AttachRolePolicy",
        json!({"RoleName": ROLE,
            "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy")}),
    );
    (root, user)
}

fn signed_in_root(server: &kagi_server::RunningServer) -> (Browser, String) {
    server.set_console_root_password(ROOT_PASSWORD).unwrap();
    let mut b = Browser::new(server.addr);
    assert_eq!(b.sign_in("", ROOT_PASSWORD).status, 303);
    let csrf = b.get("/console/users").csrf();
    (b, csrf)
}

/// The user signed in and switched into the role (display name and colour given).
fn switched_user(server: &kagi_server::RunningServer, color: &str) -> (Browser, String) {
    let mut b = Browser::new(server.addr);
    let p = b.sign_in("user-for-switch", USER_PASSWORD);
    assert_eq!(p.status, 303, "{}", p.body);
    let csrf = b.get("/console/switch-role").csrf();
    let p = b.post(
        "/console/switch-role",
        &[
            ("csrf", &csrf),
            ("Account", ACCOUNT),
            ("RoleName", ROLE),
            ("DisplayName", "ECR pusher"),
            ("Color", color),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    (b, csrf)
}

fn role_session_arn() -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/user-for-switch")
}

#[test]
fn ecr_pages_list_images_push_commands_and_the_roles_denials() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let addr = server.addr.to_string();

    // The nav links to ECR; the list starts empty in the chosen region.
    assert!(
        root.get("/console/users")
            .body
            .contains(r#"<a href="/console/ecr/repositories">ECR</a>"#)
    );
    let p = root.get("/console/ecr/repositories?region=ap-northeast-1");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"<label for="region">Region</label>"#));
    assert!(p.body.contains(r#"value="ap-northeast-1""#));
    assert!(!p.body.contains("test-repos"));

    // Create repository: CSRF first, then the real thing.
    let p = root.post(
        "/console/ecr/repositories",
        &[
            ("csrf", "forged"),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(p.body.contains("CSRF"));
    assert_eq!(
        root_api
            .ecr("DescribeRepositories", json!({}))
            .map(|v| v["repositories"].as_array().unwrap().len())
            .unwrap(),
        0,
        "nothing was created"
    );
    let p = root.post(
        "/console/ecr/repositories",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("imageTagMutability", "MUTABLE"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/ecr/repositories/test-repos?region=ap-northeast-1")
    );
    // A second one with the same name: ECR's own error in the page.
    let p = root.post(
        "/console/ecr/repositories",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains("RepositoryAlreadyExistsException"),
        "{}",
        p.body
    );

    // Push an image with the registry client, as the API would.
    let auth = root_api.ecr("GetAuthorizationToken", json!({})).unwrap();
    let token = auth["authorizationData"][0]["authorizationToken"]
        .as_str()
        .unwrap();
    let reg = kagi_ecr::client::RegistryClient::from_authorization_token(&addr, token).unwrap();
    let image = kagi_ecr::client::demo_image();
    let digest = reg.push("test-repos", "v1", &image, &mut |_| {}).unwrap();
    assert_eq!(digest, image.manifest_digest());

    // The list, from the session's remembered region: name, URI, created.
    let repo = root_api
        .ecr(
            "DescribeRepositories",
            json!({"repositoryNames": ["test-repos"]}),
        )
        .unwrap();
    let created = repo["repositories"][0]["createdAt"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = root.get("/console/ecr/repositories");
    assert_eq!(p.status, 200);
    assert!(p.body.contains(
        r#"<a href="/console/ecr/repositories/test-repos?region=ap-northeast-1">test-repos</a>"#
    ));
    assert!(
        p.body.contains(&format!("<code>{addr}/test-repos</code>")),
        "{}",
        p.body
    );
    assert!(p.body.contains(&created), "{created}: {}", p.body);
    // Another region has its own (empty) list.
    assert!(
        !root
            .get("/console/ecr/repositories?region=us-east-1")
            .body
            .contains("test-repos")
    );

    // The repository: its images with tag, digest, size and pushed-at, and the push commands.
    let images = root_api
        .ecr("DescribeImages", json!({"repositoryName": "test-repos"}))
        .unwrap();
    let img = &images["imageDetails"][0];
    let size = img["imageSizeInBytes"].as_u64().unwrap();
    let p = root.get("/console/ecr/repositories/test-repos?region=ap-northeast-1");
    assert_eq!(p.status, 200, "{}", p.body);
    let row_at = p
        .body
        .find(&format!("<code>{digest}</code>"))
        .expect("digest shown");
    let row = &p.body[p.body[..row_at].rfind("<tr>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>v1</td>"), "{row}");
    assert!(row.contains(&format!(r#"title="{size} bytes""#)), "{row}");
    assert!(
        row.contains(&format!("{:.2}", size as f64 / 1048576.0)),
        "{row}"
    );
    assert!(
        row.contains(img["imagePushedAt"].as_str().unwrap()),
        "{row}"
    );
    assert!(p.body.contains("<summary>View push commands</summary>"));
    assert!(p.body.contains(&format!(
        "aws ecr get-login-password --region ap-northeast-1 --endpoint-url http://{addr} | docker login --username AWS --password-stdin {addr}"
    )), "{}", p.body);
    assert!(p.body.contains(&format!(
        "docker tag test-repos:latest {addr}/test-repos:latest"
    )));
    assert!(
        p.body
            .contains(&format!("docker push {addr}/test-repos:latest"))
    );

    // As the role session: the role may push but not list or describe; AWS's words, no data.
    let (mut role, rcsrf) = switched_user(&server, "blue");
    let p = role.get("/console/ecr/repositories?region=ap-northeast-1");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDeniedException"));
    assert!(p.body.contains(&format!(
        "User: {} is not authorized to perform: ecr:DescribeRepositories on resource: arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/",
        role_session_arn()
    )), "{}", p.body);
    assert!(!p.body.contains("<table"), "no data on a denied page");
    let p = role.get("/console/ecr/open?name=test-repos&region=ap-northeast-1");
    assert_eq!(p.status, 303);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/ecr/repositories/test-repos?region=ap-northeast-1")
    );
    let p = role.get("/console/ecr/repositories/test-repos?region=ap-northeast-1");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains(&format!(
        "is not authorized to perform: ecr:DescribeRepositories on resource: arn:aws:ecr:ap-northeast-1:{ACCOUNT}:repository/test-repos"
    )), "{}", p.body);
    assert!(
        p.body
            .contains("is not authorized to perform: ecr:DescribeImages")
    );
    assert!(!p.body.contains(&digest), "no image data");
    assert!(
        p.body
            .contains(&format!("docker push {addr}/test-repos:latest")),
        "push commands stay"
    );
    let p = role.post(
        "/console/ecr/repositories",
        &[
            ("csrf", &rcsrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "other"),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: ecr:CreateRepository"),
        "{}",
        p.body
    );
    assert!(
        root_api
            .ecr(
                "DescribeRepositories",
                json!({"repositoryNames": ["other"]})
            )
            .is_err()
    );

    // A repository policy (edited in the page, checked as a resource policy) lets the role read
    // the images; a policy without a Principal is flagged and not saved.
    let no_principal = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "ecr:DescribeImages", "Resource": "*"}]})
    .to_string();
    let p = root.post(
        "/console/ecr/repository-policy",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("policyText", &no_principal),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("The policy has problems"), "{}", p.body);
    // The refused draft comes back in the editor (open), as in the other policy editors.
    assert!(
        p.body.contains(&format!(
            r#"name="policyText" rows="12" spellcheck="false" data-policy-type="resource" data-findings="repo-policy-findings">{}</textarea>"#,
            html_escaped(&no_principal)
        )),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("<details open><summary>Edit repository policy")
    );
    assert!(
        p.body
            .contains(r#"name="repositoryName" value="test-repos""#)
    );
    let grant = json!({"Version": "2012-10-17", "Statement": [{"Sid": "ReadForTheRole",
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}")},
        "Action": ["ecr:DescribeImages", "ecr:DescribeRepositories"]}]})
    .to_string();
    let p = role.post(
        "/console/ecr/repository-policy",
        &[
            ("csrf", &rcsrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("policyText", &grant),
        ],
    );
    assert_eq!(p.status, 403, "the role may not set it");
    let p = root.post(
        "/console/ecr/repository-policy",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("policyText", &grant),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        root.get("/console/ecr/repositories/test-repos?region=ap-northeast-1")
            .body
            .contains("ReadForTheRole")
    );
    let p = role.get("/console/ecr/repositories/test-repos?region=ap-northeast-1");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(&format!("<code>{digest}</code>")),
        "the role sees the image now"
    );

    // Deleting the image (CSRF first).
    let p = root.post(
        "/console/ecr/delete-image",
        &[
            ("csrf", "forged"),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("imageDigest", &digest),
        ],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        "/console/ecr/delete-image",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("imageDigest", &digest),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let images = root_api
        .ecr("DescribeImages", json!({"repositoryName": "test-repos"}))
        .unwrap();
    assert_eq!(images["imageDetails"].as_array().unwrap().len(), 0);
}

/// The federation endpoint's answer: status, body, Location, Set-Cookie lines.
fn federation_get(b: &mut Browser, query: &[(&str, &str)]) -> Page {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    b.get(&format!("/federation?{q}"))
}

fn session_json(c: &serde_json::Value) -> String {
    json!({"sessionId": c["AccessKeyId"], "sessionKey": c["SecretAccessKey"],
        "sessionToken": c["SessionToken"]})
    .to_string()
}

#[test]
fn federation_signs_a_role_session_into_the_console_once() {
    let server = common::start_in_memory();
    let (_, user) = seed_by_api(&server);
    let assumed = user.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}"),
            "RoleSessionName": "botocore-session-1"}),
    );
    let creds = &assumed["Credentials"];
    let mut b = Browser::new(server.addr);

    // getSigninToken with the role's temporary credentials.
    let p = federation_get(
        &mut b,
        &[
            ("Action", "getSigninToken"),
            ("Session", &session_json(creds)),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let v: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    let token = v["SigninToken"].as_str().unwrap().to_owned();
    assert!(token.len() >= 64, "{token}");

    // Refused: a wrong secret, a tampered token, long-term keys, GetSessionToken credentials,
    // a bad SessionDuration, garbage. The secret is never echoed.
    let secret = creds["SecretAccessKey"].as_str().unwrap();
    let mut wrong = creds.clone();
    let last = if secret.ends_with('x') { "y" } else { "x" };
    wrong["SecretAccessKey"] = json!(format!("{}{last}", &secret[..secret.len() - 1]));
    let mut tampered = creds.clone();
    let t = creds["SessionToken"].as_str().unwrap();
    // One character changed (to one it is not already: a fixed replacement would leave the
    // token intact one run in 64).
    let swap = if &t[20..21] == "A" { "B" } else { "A" };
    tampered["SessionToken"] = json!(format!("{}{swap}{}", &t[..20], &t[21..]));
    let user_session = user.ok("sts", "GetSessionToken", json!({}));
    let long_term = json!({"AccessKeyId": user.creds.access_key_id,
        "SecretAccessKey": user.creds.secret_access_key, "SessionToken": ""});
    for bad in [
        session_json(&wrong),
        session_json(&tampered),
        session_json(&user_session["Credentials"]),
        session_json(&long_term),
        "not json".to_owned(),
    ] {
        let p = federation_get(&mut b, &[("Action", "getSigninToken"), ("Session", &bad)]);
        assert_eq!(p.status, 400, "{bad}: {}", p.body);
        assert!(!p.body.contains(secret) && !p.body.contains(&user.creds.secret_access_key));
        assert!(!p.body.contains("\"SigninToken\""));
    }
    let p = federation_get(
        &mut b,
        &[
            ("Action", "getSigninToken"),
            ("SessionDuration", "60"),
            ("Session", &session_json(creds)),
        ],
    );
    assert_eq!(p.status, 400);

    // login: a redirect to the same-origin destination with the session cookie.
    let dest = format!("http://{}/console/ecr/repositories", server.addr);
    let p = federation_get(
        &mut b,
        &[
            ("Action", "login"),
            ("Issuer", "https://example.com"),
            ("Destination", &dest),
            ("SigninToken", &token),
        ],
    );
    assert_eq!(p.status, 302, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/ecr/repositories"));
    let cookie = b
        .set_cookie_lines
        .iter()
        .find(|l| l.starts_with("kagi-console="))
        .expect("session cookie")
        .clone();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let max_age: i64 = cookie.split("Max-Age=").nth(1).unwrap().parse().unwrap();
    assert!(
        max_age > 0 && max_age <= 3600,
        "ends with the role's credentials: {cookie}"
    );
    // In the console as the role session: its ARN in the banner, the role's rights only.
    let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/botocore-session-1");
    let p = b.get("/console/users");
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains(&format!(
            r#"<span class="banner" role="status">{arn}</span>"#
        )),
        "{}",
        p.body
    );
    assert!(p.body.contains(&format!(
        "User: {arn} is not authorized to perform: iam:ListUsers"
    )));

    // The token worked once.
    let mut other = Browser::new(server.addr);
    let p = federation_get(
        &mut other,
        &[
            ("Action", "login"),
            ("Destination", "/console/users"),
            ("SigninToken", &token),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(!other.cookies.contains_key("kagi-console"));
    let p = federation_get(
        &mut other,
        &[
            ("Action", "login"),
            ("Destination", "/console/users"),
            ("SigninToken", "made-up"),
        ],
    );
    assert_eq!(p.status, 400);

    // Another destination elsewhere lands on the console's front page instead.
    let p = federation_get(
        &mut other,
        &[
            ("Action", "getSigninToken"),
            ("Session", &session_json(creds)),
        ],
    );
    let t2: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    let p = federation_get(
        &mut other,
        &[
            ("Action", "login"),
            ("Destination", "https://console.aws.amazon.com/"),
            ("SigninToken", t2["SigninToken"].as_str().unwrap()),
        ],
    );
    assert_eq!(p.status, 302);
    assert_eq!(p.location.as_deref(), Some("/console/"));
}

fn decoded_trust(root: &Client, role: &str) -> serde_json::Value {
    let got = root.ok("iam", "GetRole", json!({"RoleName": role}));
    let doc = got["Role"]["AssumeRolePolicyDocument"].as_str().unwrap();
    let doc = if doc.starts_with('%') {
        form_urlencoded::parse(format!("x={doc}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    } else {
        doc.to_owned()
    };
    serde_json::from_str(&doc).unwrap()
}

#[test]
fn switch_role_colour_recent_roles_and_the_role_wizard() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);

    // Switch role with a colour: the banner wears it; the role is remembered.
    let (mut b, csrf) = switched_user(&server, "green");
    let p = b.get("/console/switch-role");
    assert!(
        p.body
            .contains(r#"<span class="banner color-green" role="status">ECR pusher"#),
        "{}",
        p.body
    );
    for (v, label) in [
        ("red", "Red"),
        ("orange", "Orange"),
        ("yellow", "Yellow"),
        ("green", "Green"),
        ("blue", "Blue"),
    ] {
        assert!(p.body.contains(&format!(r#"name="Color" value="{v}""#)) && p.body.contains(label));
    }
    assert!(p.body.contains("<h2>Recent roles</h2>"));
    assert!(p.body.contains(&format!(
        r#"<input type="hidden" name="RoleName" value="{ROLE}"><input type="hidden" name="DisplayName" value="ECR pusher"><input type="hidden" name="Color" value="green"><button type="submit" class="color-green">ECR pusher</button>"#
    )), "{}", p.body);
    // A switch-role link as the AWS console builds them prefills the form (colour by hex).
    let p = b.get(&format!(
        "/console/switch-role?account={ACCOUNT}&roleName={ROLE}&displayName=Linked&color=FAD791"
    ));
    assert!(
        p.body
            .contains(&format!(r#"name="RoleName" required value="{ROLE}""#))
    );
    assert!(
        p.body
            .contains(r#"name="DisplayName" maxlength="64" value="Linked""#)
    );
    assert!(
        p.body.contains(r#"name="Color" value="yellow" checked"#),
        "{}",
        p.body
    );
    // An unknown colour falls back to the first; back, then one click on the recent entry.
    assert_eq!(
        b.post("/console/switch-back", &[("csrf", &csrf)]).status,
        303
    );
    let p = b.get("/console/switch-role");
    assert!(!p.body.contains("class=\"banner"), "switched back");
    assert!(
        p.body.contains("<h2>Recent roles</h2>"),
        "recent roles survive switching back"
    );
    let p = b.post(
        "/console/switch-role",
        &[
            ("csrf", &csrf),
            ("Account", ACCOUNT),
            ("RoleName", ROLE),
            ("DisplayName", "again"),
            ("Color", "purple"),
        ],
    );
    assert_eq!(p.status, 303);
    let p = b.get("/console/users");
    assert!(
        p.body
            .contains(r#"<span class="banner color-red" role="status">again"#),
        "{}",
        p.body
    );
    assert!(p.body.contains(&role_session_arn()));
    // The same role is listed once, newest first (in the page; the header's account menu
    // lists the recent roles too).
    let body = b.get("/console/switch-role").body;
    let page = body.split("<main").nth(1).unwrap_or_default();
    assert_eq!(
        page.matches(&format!(r#"name="RoleName" value="{ROLE}""#))
            .count(),
        1
    );
    assert!(page.contains(r#"class="color-red">again</button>"#));

    // The role wizard as root: another account, external ID and MFA, reviewed then created.
    let (mut root, rcsrf) = signed_in_root(&server);
    let p = root.get("/console/roles/new");
    assert_eq!(p.status, 200);
    for needle in [
        r#"value="this-account" checked"#,
        r#"value="another-account""#,
        r#"value="custom""#,
        r#"<label for="other-account">"#,
        r#"<label for="external-id">"#,
        r#"name="RequireMfa""#,
        r#"formaction="/console/roles/review""#,
        r#"data-policy-type="trust""#,
    ] {
        assert!(p.body.contains(needle), "{needle}");
    }
    let form = [
        ("csrf", rcsrf.as_str()),
        ("TrustedEntity", "another-account"),
        ("OtherAccountId", "210987654321"),
        ("RequireExternalId", "true"),
        ("ExternalId", "ext-42"),
        ("RequireMfa", "true"),
        ("RoleName", "CrossAccount"),
        ("PolicyArn", ""),
    ];
    let p = root.post("/console/roles/review", &form);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Name, review, and create"));
    assert!(p.body.contains("arn:aws:iam::210987654321:root"));
    assert!(
        p.body
            .contains("&quot;sts:ExternalId&quot;: &quot;ext-42&quot;"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("&quot;aws:MultiFactorAuthPresent&quot;: &quot;true&quot;")
    );
    assert!(
        root_api
            .err("iam", "GetRole", json!({"RoleName": "CrossAccount"}))
            .1
            == "NoSuchEntity",
        "review creates nothing"
    );
    // The review's own form carries the choices.
    let confirm = p.csrf();
    assert_eq!(confirm, rcsrf);
    assert!(
        p.body
            .contains(r#"<input type="hidden" name="ExternalId" value="ext-42">"#)
    );
    // "Back" posts them to the first step, which shows every choice again.
    assert!(
        p.body
            .contains(r#"formaction="/console/roles/new">Back</button>"#)
    );
    let back = root.post("/console/roles/new", &form);
    assert_eq!(back.status, 200, "{}", back.body);
    for chosen in [
        r#"value="another-account" checked"#,
        r#"name="OtherAccountId" inputmode="numeric" maxlength="12" value="210987654321""#,
        r#"name="RequireExternalId" value="true" checked"#,
        r#"name="ExternalId" maxlength="1224" value="ext-42""#,
        r#"name="RequireMfa" value="true" checked"#,
        r#"value="CrossAccount""#,
    ] {
        assert!(back.body.contains(chosen), "{chosen} in {}", back.body);
    }
    let p = root.post("/console/roles", &form);
    assert_eq!(p.status, 303, "{}", p.body);
    let trust = decoded_trust(&root_api, "CrossAccount");
    assert_eq!(
        trust,
        json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"sts:ExternalId":"ext-42"},
                "Bool":{"aws:MultiFactorAuthPresent":"true"}}}]})
    );
    // Missing pieces and a bad custom trust policy come back to the form with the reason.
    let p = root.post(
        "/console/roles",
        &[
            ("csrf", &rcsrf),
            ("TrustedEntity", "another-account"),
            ("OtherAccountId", "12"),
            ("RoleName", "X1"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("12-digit"));
    // The form comes back with the preview of the chosen option (here: what is missing).
    assert!(
        p.body.contains(r#"(<span id="trust-preview-label">AWS account: another AWS account</span>):</p><pre id="trust-preview" hidden></pre><p id="trust-preview-problem">Enter the 12-digit"#),
        "{}",
        p.body
    );
    let commented = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [ // trust\n  ]\n}";
    let p = root.post(
        "/console/roles",
        &[
            ("csrf", &rcsrf),
            ("TrustedEntity", "custom"),
            ("TrustPolicy", commented),
            ("RoleName", "X2"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Line 3, column"), "{}", p.body);
    assert!(p.body.contains("// trust"), "the draft is kept");
    assert!(
        p.body.contains(&format!(
            r#"(<span id="trust-preview-label">Custom trust policy</span>):</p><pre id="trust-preview">{}</pre>"#,
            html_escaped(commented)
        )),
        "{}",
        p.body
    );
    // The wizard's preview follows the choice: first "this account", pretty-printed; the
    // script asks the server for the preview of the current choices (CSRF-checked).
    let page = root.get("/console/roles/new").body;
    let this_account = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&common::root_trust()).unwrap(),
    )
    .unwrap();
    assert!(
        page.contains(&format!(
            r#"(<span id="trust-preview-label">AWS account: this account</span>):</p><pre id="trust-preview">{}</pre><p id="trust-preview-problem" hidden></p>"#,
            html_escaped(&this_account)
        )),
        "{page}"
    );
    let v = root.post("/console/roles/trust-preview", &form);
    assert_eq!(v.status, 200, "{}", v.body);
    let v: serde_json::Value = serde_json::from_str(&v.body).unwrap();
    assert_eq!(v["label"], "AWS account: another AWS account");
    let previewed: serde_json::Value = serde_json::from_str(v["policy"].as_str().unwrap()).unwrap();
    assert_eq!(previewed, trust, "the preview is what was created");
    let v = root.post(
        "/console/roles/trust-preview",
        &[("csrf", &rcsrf), ("TrustedEntity", "custom")],
    );
    let v: serde_json::Value = serde_json::from_str(&v.body).unwrap();
    assert_eq!(
        v,
        json!({"label": "Custom trust policy", "problem": "Enter a custom trust policy."})
    );
    let v = root.post(
        "/console/roles/trust-preview",
        &[("csrf", "forged"), ("TrustedEntity", "this-account")],
    );
    assert_eq!(v.status, 403);
    assert_eq!(
        root_api.err("iam", "GetRole", json!({"RoleName": "X2"})).1,
        "NoSuchEntity"
    );
    // The live check knows trust policies: an identity-style document lacks a Principal.
    let v = root.post(
        "/console/policies/validate",
        &[
            ("csrf", &rcsrf),
            ("PolicyType", "trust"),
            ("PolicyDocument", &common::switch_role_policy()),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&v.body).unwrap();
    assert_eq!(v["findings"][0]["type"], "ERROR", "{v}");
    let v = root.post(
        "/console/policies/validate",
        &[
            ("csrf", &rcsrf),
            ("PolicyType", "trust"),
            ("PolicyDocument", &common::root_trust()),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&v.body).unwrap();
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["type"] == "ERROR"),
        "{v}"
    );
    // The permissions step: a checkbox per customer managed policy (and ARN suggestions).
    let page = root.get("/console/roles/new").body;
    let switch_arn = format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy");
    let ecr_arn = format!("arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy");
    for a in [&switch_arn, &ecr_arn] {
        assert!(
            page.contains(&format!(
                r#"<input type="checkbox" name="PolicyArns" value="{a}">"#
            )),
            "{page}"
        );
        assert!(page.contains(&format!(r#"<option value="{a}">"#)));
    }
    let p = root.post(
        "/console/roles/review",
        &[
            ("csrf", &rcsrf),
            ("TrustedEntity", "this-account"),
            ("RoleName", "Both"),
            ("PolicyArns", &switch_arn),
            ("PolicyArns", &ecr_arn),
            ("PolicyArn", &ecr_arn),
        ],
    );
    assert_eq!(p.status, 200);
    assert!(
        p.body.contains(&format!(
            "<code>{switch_arn}</code><br><code>{ecr_arn}</code></p>"
        )),
        "{}",
        p.body
    );
    let p = root.post(
        "/console/roles",
        &[
            ("csrf", &rcsrf),
            ("TrustedEntity", "this-account"),
            ("RoleName", "Both"),
            ("PolicyArns", &switch_arn),
            ("PolicyArns", &ecr_arn),
            ("PolicyArn", &ecr_arn),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let attached = root_api.ok(
        "iam",
        "ListAttachedRolePolicies",
        json!({"RoleName": "Both"}),
    );
    assert_eq!(
        attached["AttachedPolicies"].as_array().unwrap().len(),
        2,
        "{attached}"
    );

    // A custom trust policy that is valid goes in as written.
    let custom = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/user-for-switch"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let p = root.post(
        "/console/roles",
        &[
            ("csrf", &rcsrf),
            ("TrustedEntity", "custom"),
            ("TrustPolicy", &custom),
            ("RoleName", "Custom"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        decoded_trust(&root_api, "Custom")["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );

    // Role detail: trust relationship edited (CSRF first), a policy detached.
    let p = root.get(&format!("/console/roles/{ROLE}"));
    assert!(p.body.contains("<summary>Edit trust policy</summary>"));
    assert!(p.body.contains(r#"<label for="trust-document">"#));
    let p = root.post(
        &format!("/console/roles/{ROLE}/trust"),
        &[("csrf", "forged"), ("PolicyDocument", &custom)],
    );
    assert_eq!(p.status, 403);
    assert_eq!(
        decoded_trust(&root_api, ROLE)["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    let p = root.post(
        &format!("/console/roles/{ROLE}/trust"),
        &[("csrf", &rcsrf), ("PolicyDocument", commented)],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Line 3, column"));
    assert!(
        p.body
            .contains(r#"<details open><summary>Edit trust policy</summary>"#)
            && p.body.contains(&format!(
                r#"data-findings="trust-document-findings">{}</textarea>"#,
                html_escaped(commented)
            )),
        "the refused draft is kept in the open editor: {}",
        p.body
    );
    let p = root.post(
        &format!("/console/roles/{ROLE}/trust"),
        &[("csrf", &rcsrf), ("PolicyDocument", &custom)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        decoded_trust(&root_api, ROLE)["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch")
    );
    let ecr_arn = format!("arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy");
    let p = root.get(&format!("/console/roles/{ROLE}"));
    assert!(p.body.contains(&format!(r#"<input type="hidden" name="PolicyArn" value="{ecr_arn}"><button type="submit" aria-label="Detach ECRPushAndLoginPolicy">Detach</button>"#)), "{}", p.body);
    let p = root.post(
        &format!("/console/roles/{ROLE}/detach-policy"),
        &[("csrf", &rcsrf), ("PolicyArn", &ecr_arn)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let attached = root_api.ok("iam", "ListAttachedRolePolicies", json!({"RoleName": ROLE}));
    assert_eq!(attached["AttachedPolicies"].as_array().unwrap().len(), 0);
    // The role session cannot edit the trust policy: AWS's AccessDenied.
    let p = b.post(
        &format!("/console/roles/{ROLE}/trust"),
        &[("csrf", &csrf), ("PolicyDocument", &common::root_trust())],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: iam:UpdateAssumeRolePolicy")
            && p.body.contains(&format!(
                r#"data-findings="trust-document-findings">{}</textarea>"#,
                html_escaped(&common::root_trust())
            )),
        "{}",
        p.body
    );
}

#[test]
fn groups_policy_versions_and_the_simulator() {
    let server = common::start_in_memory();
    let (root_api, user_api) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let switch_arn = format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy");

    // Groups: create, add a member (from the group and from the user), attach, detach, remove.
    let p = root.get("/console/groups");
    assert_eq!(p.status, 200);
    assert!(
        p.body
            .contains(r#"<label for="group-name">User group name</label>"#)
    );
    let p = root.post(
        "/console/groups",
        &[("csrf", "forged"), ("GroupName", "pushers")],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        "/console/groups",
        &[("csrf", &csrf), ("GroupName", "pushers")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/groups/pushers"));
    assert!(
        root.get("/console/groups")
            .body
            .contains(r#"<a href="/console/groups/pushers">pushers</a>"#)
    );
    let p = root.post(
        "/console/groups/pushers/members",
        &[("csrf", &csrf), ("UserName", "user-for-switch")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = root.post(
        "/console/groups/pushers/members",
        &[("csrf", &csrf), ("UserName", "nobody")],
    );
    assert_eq!(p.status, 404);
    assert!(p.body.contains("NoSuchEntity"));
    let p = root.post(
        "/console/groups/pushers/attach-policy",
        &[("csrf", &csrf), ("PolicyArn", &switch_arn)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let g = root.get("/console/groups/pushers").body;
    assert!(g.contains(r#"<a href="/console/users/user-for-switch">user-for-switch</a>"#));
    assert!(g.contains(&switch_arn));
    let members = root_api.ok("iam", "GetGroup", json!({"GroupName": "pushers"}));
    assert_eq!(members["Users"][0]["UserName"], "user-for-switch");
    assert!(
        root.get("/console/users/user-for-switch")
            .body
            .contains(r#"<a href="/console/groups/pushers">pushers</a>"#)
    );
    let p = root.post(
        "/console/groups/pushers/detach-policy",
        &[("csrf", &csrf), ("PolicyArn", &switch_arn)],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api.ok(
            "iam",
            "ListAttachedGroupPolicies",
            json!({"GroupName": "pushers"})
        )["AttachedPolicies"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let p = root.post(
        "/console/groups/pushers/members/user-for-switch/remove",
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api.ok("iam", "GetGroup", json!({"GroupName": "pushers"}))["Users"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let p = root.post(
        "/console/users/user-for-switch/groups",
        &[("csrf", &csrf), ("GroupName", "pushers")],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api.ok("iam", "GetGroup", json!({"GroupName": "pushers"}))["Users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Detach from the user page too.
    let p = root.post(
        "/console/users/user-for-switch/detach-policy",
        &[("csrf", &csrf), ("PolicyArn", &switch_arn)],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api.ok(
            "iam",
            "ListAttachedUserPolicies",
            json!({"UserName": "user-for-switch"})
        )["AttachedPolicies"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    root_api.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "user-for-switch", "PolicyArn": switch_arn}),
    );

    // Create user with permissions: a policy attached and a group joined in one form.
    let p = root.post(
        "/console/users",
        &[
            ("csrf", &csrf),
            ("UserName", "carol"),
            ("PolicyArn", &switch_arn),
            ("GroupName", "pushers"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        root_api.ok(
            "iam",
            "ListAttachedUserPolicies",
            json!({"UserName": "carol"})
        )["AttachedPolicies"][0]["PolicyArn"],
        switch_arn.as_str()
    );
    assert_eq!(
        root_api.ok("iam", "ListGroupsForUser", json!({"UserName": "carol"}))["Groups"][0]["GroupName"],
        "pushers"
    );
    // A refused console password leaves no half-made user behind.
    let p = root.post(
        "/console/users",
        &[("csrf", &csrf), ("UserName", "dave"), ("Password", "weak")],
    );
    assert_eq!(p.status, 400);
    assert!(
        p.body.contains("PasswordPolicyViolation") && p.body.contains("The user was not created.")
    );
    assert_eq!(
        root_api
            .err("iam", "GetUser", json!({"UserName": "dave"}))
            .1,
        "NoSuchEntity"
    );
    // Access keys show when they were last used, and for what.
    let key = user_api.creds.access_key_id.clone();
    user_api.ok("sts", "GetCallerIdentity", json!({}));
    let lu = root_api.ok("iam", "GetAccessKeyLastUsed", json!({"AccessKeyId": key}));
    let lu = &lu["AccessKeyLastUsed"];
    let page = root.get("/console/users/user-for-switch").body;
    let row = &page[page.find(&key).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!(
            "<td>{} ({} in {})</td>",
            lu["LastUsedDate"].as_str().unwrap(),
            lu["ServiceName"].as_str().unwrap(),
            lu["Region"].as_str().unwrap()
        )),
        "{row}"
    );

    // Policy detail and versions: the list links to it; new version, set default, delete.
    let policies = root.get("/console/policies").body;
    let enc = "arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2FSwitchRolePolicy";
    assert!(
        policies.contains(&format!(
            r#"<a href="/console/policies/{enc}">SwitchRolePolicy</a>"#
        )),
        "{policies}"
    );
    let p = root.get(&format!("/console/policies/{enc}"));
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Default version: v1"));
    assert!(p.body.contains("sts:AssumeRole"));
    let v2 = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::{ACCOUNT}:role/{ROLE}"}}]}}"#
    );
    let p = root.post(
        &format!("/console/policies/{enc}/versions"),
        &[
            ("csrf", "forged"),
            ("PolicyDocument", &v2),
            ("SetAsDefault", "true"),
        ],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        &format!("/console/policies/{enc}/versions"),
        &[
            ("csrf", &csrf),
            ("PolicyDocument", COMMENTED_POLICY),
            ("SetAsDefault", "true"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Line 3, column 20"));
    let p = root.post(
        &format!("/console/policies/{enc}/versions"),
        &[
            ("csrf", &csrf),
            ("PolicyDocument", &v2),
            ("SetAsDefault", "true"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let got = root_api.ok("iam", "GetPolicy", json!({"PolicyArn": switch_arn}));
    assert_eq!(got["Policy"]["DefaultVersionId"], "v2");
    let p = root.get(&format!("/console/policies/{enc}"));
    assert!(p.body.contains("sts:TagSession"));
    assert!(p.body.contains(r#"aria-label="Set v1 as default""#));
    let p = root.post(
        &format!("/console/policies/{enc}/versions/v1/default"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api.ok("iam", "GetPolicy", json!({"PolicyArn": switch_arn}))["Policy"]["DefaultVersionId"],
        "v1"
    );
    // The default version cannot be deleted (IAM's DeleteConflict); another one can.
    let p = root.post(
        &format!("/console/policies/{enc}/versions/v1/delete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("DeleteConflict"));
    let p = root.post(
        &format!("/console/policies/{enc}/versions/v2/delete"),
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303);
    let versions = root_api.ok(
        "iam",
        "ListPolicyVersions",
        json!({"PolicyArn": switch_arn}),
    );
    assert_eq!(versions["Versions"].as_array().unwrap().len(), 1);

    // The simulator: SimulatePrincipalPolicy for the user, one decision per action.
    let p = root.get("/console/simulator");
    assert!(p.body.contains(r#"<label for="sim-principal">"#));
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}");
    let p = root.post(
        "/console/simulator",
        &[
            ("csrf", &csrf),
            ("PolicySourceArn", &user_arn),
            ("ActionNames", "sts:AssumeRole\niam:ListUsers"),
            ("ResourceArns", &role_arn),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(&format!(r#"<tr><td>sts:AssumeRole</td><td><code>{role_arn}</code></td><td class="ok">allowed</td><td class="long">SwitchRolePolicy</td></tr>"#)), "{}", p.body);
    assert!(p.body.contains(&format!(r#"<tr><td>iam:ListUsers</td><td><code>{role_arn}</code></td><td class="bad">implicitDeny</td>"#)), "{}", p.body);
    // The user may not simulate: AWS's AccessDenied, the form kept.
    let mut user = Browser::new(server.addr);
    assert_eq!(user.sign_in("user-for-switch", USER_PASSWORD).status, 303);
    let ucsrf = user.get("/console/switch-role").csrf();
    let p = user.post(
        "/console/simulator",
        &[
            ("csrf", &ucsrf),
            ("PolicySourceArn", &user_arn),
            ("ActionNames", "iam:ListUsers"),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: iam:SimulatePrincipalPolicy"),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"<label for="sim-principal">"#));
    // Nor see groups.
    let p = user.get("/console/groups");
    assert_eq!(p.status, 403);
    assert!(p.body.contains("iam:ListGroups"));
}

#[test]
fn password_policy_page_and_mfa_at_sign_in() {
    use base64::Engine;
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);

    // The account password policy: none yet, then set from the page and enforced.
    let p = root.get("/console/password-policy");
    assert_eq!(p.status, 200);
    assert!(p.body.contains("No password policy is set"));
    assert!(
        p.body
            .contains(r#"<label for="pp-min">Minimum password length</label>"#)
    );
    let p = root.post(
        "/console/password-policy",
        &[("csrf", "forged"), ("MinimumPasswordLength", "20")],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        "/console/password-policy",
        &[
            ("csrf", &csrf),
            ("MinimumPasswordLength", "20"),
            ("RequireSymbols", "true"),
            ("AllowUsersToChangePassword", "true"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("The password policy was saved."));
    assert!(p.body.contains(r#"value="20""#));
    let got = root_api.ok("iam", "GetAccountPasswordPolicy", json!({}));
    assert_eq!(got["PasswordPolicy"]["MinimumPasswordLength"], 20);
    assert_eq!(got["PasswordPolicy"]["RequireSymbols"], true);
    assert_eq!(got["PasswordPolicy"]["RequireNumbers"], false);
    let p = root.post(
        "/console/users",
        &[
            ("csrf", &csrf),
            ("UserName", "weakling"),
            ("Password", USER_PASSWORD),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("PasswordPolicyViolation"));
    let p = root.post(
        "/console/password-policy",
        &[("csrf", &csrf), ("MinimumPasswordLength", "many")],
    );
    assert_eq!(p.status, 400);
    // The user may not read it.
    let mut user = Browser::new(server.addr);
    assert_eq!(user.sign_in("user-for-switch", USER_PASSWORD).status, 303);
    let p = user.get("/console/password-policy");
    assert_eq!(p.status, 403);
    assert!(p.body.contains("iam:GetAccountPasswordPolicy"));
    // The self-service form checks the confirmation before anything is sent.
    let ucsrf = user.get("/console/password").csrf();
    let p = user.post(
        "/console/password",
        &[
            ("csrf", &ucsrf),
            ("OldPassword", USER_PASSWORD),
            ("NewPassword", "a"),
            ("ConfirmPassword", "b"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("do not match"));

    // The root changes its own console password (the old one first, IAM's password rules).
    let p = root.get("/console/password");
    assert!(
        p.body
            .contains("this changes the root user's console password")
    );
    let change = |b: &mut Browser, old: &str, new: &str, confirm: &str| {
        b.post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("OldPassword", old),
                ("NewPassword", new),
                ("ConfirmPassword", confirm),
            ],
        )
    };
    let p = change(
        &mut root,
        "Wrong-Passw0rd!",
        "New-Root-Passw0rd!",
        "New-Root-Passw0rd!",
    );
    assert_eq!(p.status, 403);
    assert!(p.body.contains("IncorrectPassword"));
    let p = change(&mut root, ROOT_PASSWORD, "short", "short");
    assert_eq!(p.status, 400);
    assert!(p.body.contains("PasswordPolicyViolation"));
    let p = change(
        &mut root,
        ROOT_PASSWORD,
        "New-Root-Passw0rd!",
        "New-Root-Passw0rd",
    );
    assert_eq!(p.status, 400);
    let p = change(
        &mut root,
        ROOT_PASSWORD,
        "New-Root-Passw0rd!",
        "New-Root-Passw0rd!",
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Your password has been changed."));
    assert!(
        !p.body.contains("New-Root-Passw0rd!"),
        "no password in the page"
    );
    assert_eq!(
        Browser::new(server.addr).sign_in("", ROOT_PASSWORD).status,
        401
    );
    assert_eq!(
        Browser::new(server.addr)
            .sign_in("", "New-Root-Passw0rd!")
            .status,
        303
    );

    // A virtual MFA device for the user: sign-in then asks for a code.
    let d = root_api.ok(
        "iam",
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "switch-phone"}),
    );
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let b32 = base64::engine::general_purpose::STANDARD
        .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
        .unwrap();
    let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    root_api.ok(
        "iam",
        "EnableMFADevice",
        json!({"UserName": "user-for-switch", "SerialNumber": serial,
            "AuthenticationCode1": code(step - 2), "AuthenticationCode2": code(step - 1)}),
    );
    let mut b = Browser::new(server.addr);
    let p = b.sign_in("user-for-switch", USER_PASSWORD);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/signin/mfa"));
    assert!(
        !b.cookies.contains_key("kagi-console"),
        "no session before the code"
    );
    assert_eq!(b.get("/console/users").status, 303);
    let form = b.get("/console/signin/mfa");
    assert_eq!(form.status, 200);
    assert!(
        form.body
            .contains(r#"<label for="mfa-code">MFA code</label>"#)
    );
    // A wrong code (none of the current window's) is refused.
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| (step - 1..=step + 1).all(|s| code(s) != *c))
        .unwrap();
    let p = b.post(
        "/console/signin/mfa",
        &[("csrf", &form.csrf()), ("code", &wrong)],
    );
    assert_eq!(p.status, 401, "{}", p.body);
    assert!(p.body.contains("The MFA code is not valid"));
    assert!(!b.cookies.contains_key("kagi-console"));
    // Without the pre-session CSRF pair: refused.
    let p = b.post(
        "/console/signin/mfa",
        &[("csrf", "x"), ("code", &code(step))],
    );
    assert_eq!(p.status, 403);
    // Without the pending sign-in (another browser): back to the sign-in form.
    let mut stranger = Browser::new(server.addr);
    assert_eq!(stranger.get("/console/signin/mfa").status, 303);
    // The right code signs in.
    let form = b.get("/console/signin/mfa");
    let p = b.post(
        "/console/signin/mfa",
        &[("csrf", &form.csrf()), ("code", &code(step))],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/users"));
    assert!(b.cookies.contains_key("kagi-console"));
    assert!(
        !b.cookies.contains_key("kagi-console-mfa"),
        "the pending sign-in is gone"
    );
    let p = b.get("/console/switch-role");
    assert_eq!(p.status, 200);
    assert!(
        p.body
            .contains(&format!("arn:aws:iam::{ACCOUNT}:user/user-for-switch"))
    );
    // That session carries MFA: it may switch to a role whose trust policy requires MFA.
    let mfa_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
    );
    root_api.ok(
        "iam",
        "CreateRole",
        json!({"RoleName": "NeedsMfa", "AssumeRolePolicyDocument": mfa_trust}),
    );
    let may_assume = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole", "Resource": format!("arn:aws:iam::{ACCOUNT}:role/NeedsMfa")}]})
    .to_string();
    for u in ["user-for-switch", "no-mfa"] {
        if u == "no-mfa" {
            root_api.ok("iam", "CreateUser", json!({"UserName": u}));
            root_api.ok(
                "iam",
                "CreateLoginProfile",
                json!({"UserName": u, "Password": "A-Long-Enough-Passw0rd!"}),
            );
        }
        root_api.ok(
            "iam",
            "PutUserPolicy",
            json!({"UserName": u, "PolicyName": "may", "PolicyDocument": may_assume}),
        );
    }
    let bcsrf = b.get("/console/switch-role").csrf();
    let p = b.post(
        "/console/switch-role",
        &[
            ("csrf", &bcsrf),
            ("Account", ACCOUNT),
            ("RoleName", "NeedsMfa"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        b.get("/console/users")
            .body
            .contains("assumed-role/NeedsMfa/user-for-switch")
    );
    let mut plain = Browser::new(server.addr);
    assert_eq!(
        plain.sign_in("no-mfa", "A-Long-Enough-Passw0rd!").status,
        303
    );
    let pcsrf = plain.get("/console/switch-role").csrf();
    let p = plain.post(
        "/console/switch-role",
        &[
            ("csrf", &pcsrf),
            ("Account", ACCOUNT),
            ("RoleName", "NeedsMfa"),
        ],
    );
    assert_eq!(p.status, 403, "a password-only session may not: {}", p.body);
    assert!(p.body.contains("AccessDenied"));

    // The same code again (a replay) does not sign in a second time.
    let mut again = Browser::new(server.addr);
    assert_eq!(again.sign_in("user-for-switch", USER_PASSWORD).status, 303);
    let form = again.get("/console/signin/mfa");
    let p = again.post(
        "/console/signin/mfa",
        &[("csrf", &form.csrf()), ("code", &code(step))],
    );
    assert_eq!(p.status, 401, "a TOTP step is accepted once");
    // A wrong password never reaches the MFA step.
    let mut c = Browser::new(server.addr);
    let p = c.sign_in("user-for-switch", "Wrong-Passw0rd!");
    assert_eq!(p.status, 401);
    assert!(!c.cookies.contains_key("kagi-console-mfa"));
}

#[test]
fn assign_a_virtual_mfa_device_with_a_qr_code_then_remove_it() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let page = root.get("/console/users/user-for-switch").body;
    assert!(page.contains("<h2>Multi-factor authentication (MFA)</h2>"));
    assert!(page.contains("No MFA device assigned."));
    let p = root.post(
        "/console/users/user-for-switch/mfa",
        &[("csrf", "forged"), ("VirtualMFADeviceName", "phone")],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        "/console/users/user-for-switch/mfa",
        &[("csrf", &csrf), ("VirtualMFADeviceName", "phone")],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(r#"<svg role="img" aria-label="QR code for the authenticator app""#)
    );
    let marker = "<summary>Show secret key</summary><p><code>";
    let at = p.body.find(marker).unwrap() + marker.len();
    let seed_b32 = &p.body[at..at + p.body[at..].find('<').unwrap()];
    let seed = kagi_server::totp::base32_decode(seed_b32).expect("base32 secret");
    assert_eq!(seed.len(), 40);
    let serial = format!("arn:aws:iam::{ACCOUNT}:mfa/phone");
    assert!(
        p.body
            .contains(&format!(r#"name="SerialNumber" value="{serial}""#))
    );
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    // Codes out of order: AWS's error, and the same QR code again to retry.
    let p = root.post(
        "/console/users/user-for-switch/mfa/enable",
        &[
            ("csrf", &csrf),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &code(step - 1)),
            ("AuthenticationCode2", &code(step - 2)),
        ],
    );
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("InvalidAuthenticationCode"));
    assert!(p.body.contains(seed_b32), "the same device can be retried");
    let p = root.post(
        "/console/users/user-for-switch/mfa/enable",
        &[
            ("csrf", &csrf),
            ("SerialNumber", &serial),
            ("AuthenticationCode1", &code(step - 2)),
            ("AuthenticationCode2", &code(step - 1)),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let listed = root_api.ok(
        "iam",
        "ListMFADevices",
        json!({"UserName": "user-for-switch"}),
    );
    assert_eq!(listed["MFADevices"][0]["SerialNumber"], serial.as_str());
    let page = root.get("/console/users/user-for-switch").body;
    assert!(page.contains(&format!("<code>{serial}</code>")));
    assert!(
        !page.contains(seed_b32),
        "the secret is shown only while assigning"
    );
    // Now the user's sign-in asks for a code.
    let mut b = Browser::new(server.addr);
    let p = b.sign_in("user-for-switch", USER_PASSWORD);
    assert_eq!(p.location.as_deref(), Some("/console/signin/mfa"));
    // Remove: deactivated and deleted; sign-in needs the password only again.
    let p = root.post(
        "/console/users/user-for-switch/mfa/remove",
        &[("csrf", &csrf), ("SerialNumber", &serial)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let listed = root_api.ok("iam", "ListVirtualMFADevices", json!({}));
    assert_eq!(listed["VirtualMFADevices"].as_array().unwrap().len(), 0);
    let mut b = Browser::new(server.addr);
    assert_eq!(
        b.sign_in("user-for-switch", USER_PASSWORD)
            .location
            .as_deref(),
        Some("/console/users")
    );
}

#[test]
fn deletes_confirm_by_name_and_remove_dependents_first() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let switch_arn = format!("arn:aws:iam::{ACCOUNT}:policy/SwitchRolePolicy");
    let ecr_arn = format!("arn:aws:iam::{ACCOUNT}:policy/ECRPushAndLoginPolicy");
    // Give the user everything that blocks DeleteUser: a group, an MFA device, a second
    // version-carrying policy, an inline policy (plus the key, login profile, attached policy).
    root_api.ok("iam", "CreateGroup", json!({"GroupName": "pushers"}));
    root_api.ok(
        "iam",
        "AddUserToGroup",
        json!({"GroupName": "pushers", "UserName": "user-for-switch"}),
    );
    root_api.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "pushers", "PolicyArn": switch_arn}),
    );
    root_api.ok("iam", "PutUserPolicy", json!({"UserName": "user-for-switch", "PolicyName": "inline", "PolicyDocument": common::switch_role_policy()}));
    root_api.ok(
        "iam",
        "CreatePolicyVersion",
        json!({"PolicyArn": switch_arn, "PolicyDocument": common::switch_role_policy()}),
    );

    let page = root.get("/console/users/user-for-switch").body;
    assert!(page.contains(r#"<label for="confirm-delete">To confirm, enter the user name: <code>user-for-switch</code></label>"#));
    // A wrong confirmation deletes nothing.
    let p = root.post(
        "/console/users/user-for-switch/delete",
        &[("csrf", &csrf), ("ConfirmName", "user-for")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Nothing was deleted"));
    root_api.ok("iam", "GetUser", json!({"UserName": "user-for-switch"}));
    let p = root.post(
        "/console/users/user-for-switch/delete",
        &[("csrf", "forged"), ("ConfirmName", "user-for-switch")],
    );
    assert_eq!(p.status, 403);
    // The role session may not delete the role.
    let (mut role, rcsrf) = switched_user(&server, "red");
    let p = role.post(
        &format!("/console/roles/{ROLE}/delete"),
        &[("csrf", &rcsrf), ("ConfirmName", ROLE)],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: iam:ListAttachedRolePolicies"),
        "{}",
        p.body
    );
    root_api.ok("iam", "GetRole", json!({"RoleName": ROLE}));

    {
        use base64::Engine;
        let d = root_api.ok(
            "iam",
            "CreateVirtualMFADevice",
            json!({"VirtualMFADeviceName": "phone"}),
        );
        let b32 = base64::engine::general_purpose::STANDARD
            .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
            .unwrap();
        let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
        let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
        let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
        root_api.ok(
            "iam",
            "EnableMFADevice",
            json!({"UserName": "user-for-switch",
            "SerialNumber": d["VirtualMFADevice"]["SerialNumber"],
            "AuthenticationCode1": code(step - 2), "AuthenticationCode2": code(step - 1)}),
        );
    }
    let p = root.post(
        "/console/users/user-for-switch/delete",
        &[("csrf", &csrf), ("ConfirmName", "user-for-switch")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/users"));
    assert_eq!(
        root_api
            .err("iam", "GetUser", json!({"UserName": "user-for-switch"}))
            .1,
        "NoSuchEntity"
    );
    let devices = root_api.ok("iam", "ListVirtualMFADevices", json!({}));
    assert_eq!(
        devices["VirtualMFADevices"].as_array().unwrap().len(),
        0,
        "its MFA device went too"
    );

    // Role, group, policy (attached to the role and the group, two versions).
    root_api.ok(
        "iam",
        "AttachRolePolicy",
        json!({"RoleName": ROLE, "PolicyArn": switch_arn}),
    );
    let p = root.post(
        &format!("/console/roles/{ROLE}/delete"),
        &[("csrf", &csrf), ("ConfirmName", ROLE)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        root_api.err("iam", "GetRole", json!({"RoleName": ROLE})).1,
        "NoSuchEntity"
    );
    root_api.ok(
        "iam",
        "AttachGroupPolicy",
        json!({"GroupName": "pushers", "PolicyArn": ecr_arn}),
    );
    let enc = "arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2FSwitchRolePolicy";
    let p = root.post(
        &format!("/console/policies/{enc}/delete"),
        &[("csrf", &csrf), ("ConfirmName", "SwitchRolePolicy")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        root_api
            .err("iam", "GetPolicy", json!({"PolicyArn": switch_arn}))
            .1,
        "NoSuchEntity"
    );
    let p = root.post(
        "/console/groups/pushers/delete",
        &[("csrf", &csrf), ("ConfirmName", "pushers")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        root_api
            .err("iam", "GetGroup", json!({"GroupName": "pushers"}))
            .1,
        "NoSuchEntity"
    );
    root_api.ok("iam", "GetPolicy", json!({"PolicyArn": ecr_arn}));

    // An ECR repository with an image goes with its images.
    root_api
        .ecr("CreateRepository", json!({"repositoryName": "test-repos"}))
        .unwrap();
    let token = root_api.ecr("GetAuthorizationToken", json!({})).unwrap()["authorizationData"][0]["authorizationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let reg = kagi_ecr::client::RegistryClient::from_authorization_token(
        &server.addr.to_string(),
        &token,
    )
    .unwrap();
    reg.push(
        "test-repos",
        "v1",
        &kagi_ecr::client::demo_image(),
        &mut |_| {},
    )
    .unwrap();
    let page = root
        .get("/console/ecr/repositories/test-repos?region=ap-northeast-1")
        .body;
    assert!(page.contains(r#"<h2 id="delete-heading">Delete repository</h2>"#));
    let p = root.post(
        "/console/ecr/delete-repository",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("ConfirmName", "test"),
        ],
    );
    assert_eq!(p.status, 400);
    root_api
        .ecr(
            "DescribeRepositories",
            json!({"repositoryNames": ["test-repos"]}),
        )
        .unwrap();
    let p = root.post(
        "/console/ecr/delete-repository",
        &[
            ("csrf", &csrf),
            ("region", "ap-northeast-1"),
            ("repositoryName", "test-repos"),
            ("ConfirmName", "test-repos"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/ecr/repositories?region=ap-northeast-1")
    );
    assert_eq!(
        root_api
            .ecr(
                "DescribeRepositories",
                json!({"repositoryNames": ["test-repos"]})
            )
            .unwrap_err()
            .1,
        "RepositoryNotFoundException"
    );
}

#[test]
fn inline_policies_console_access_and_role_details() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let script = r#"<script src="/console/static/policy-editor.js" defer></script>"#;

    // Inline policies on a user, a role and a group: added (findings first), shown, deleted.
    root_api.ok("iam", "CreateGroup", json!({"GroupName": "pushers"}));
    for (path, list, member, name) in [
        ("users", "ListUserPolicies", "UserName", "user-for-switch"),
        ("roles", "ListRolePolicies", "RoleName", ROLE),
        ("groups", "ListGroupPolicies", "GroupName", "pushers"),
    ] {
        let page = root.get(&format!("/console/{path}/{name}")).body;
        assert!(page.contains("<h2>Inline policies</h2>") && page.contains("No inline policies."));
        assert!(
            page.contains(r#"<label for="inline-document">Inline policy document (JSON)</label>"#)
        );
        assert_eq!(
            page.matches(script).count(),
            1,
            "the editor's script once: {path}"
        );
        let p = root.post(
            &format!("/console/{path}/{name}/inline"),
            &[
                ("csrf", &csrf),
                ("PolicyName", "extra"),
                ("PolicyDocument", COMMENTED_POLICY),
            ],
        );
        assert_eq!(p.status, 400);
        assert!(p.body.contains("Line 3, column 20"), "{}", p.body);
        let p = root.post(
            &format!("/console/{path}/{name}/inline"),
            &[
                ("csrf", "forged"),
                ("PolicyName", "extra"),
                ("PolicyDocument", &common::switch_role_policy()),
            ],
        );
        assert_eq!(p.status, 403);
        let p = root.post(
            &format!("/console/{path}/{name}/inline"),
            &[
                ("csrf", &csrf),
                ("PolicyName", "extra"),
                ("PolicyDocument", &common::switch_role_policy()),
            ],
        );
        assert_eq!(p.status, 303, "{}", p.body);
        let names = root_api.ok("iam", list, json!({member: name}));
        assert_eq!(names["PolicyNames"], json!(["extra"]));
        let page = root.get(&format!("/console/{path}/{name}")).body;
        assert!(page.contains("<summary>extra</summary>"));
        assert!(page.contains(&format!("arn:aws:iam::{ACCOUNT}:role/ECRLoginAndPushRole")));
        // Shown pretty-printed, as the role wizard's review shows a document.
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&common::switch_role_policy()).unwrap(),
        )
        .unwrap();
        assert!(pretty.contains("\n  \"Statement\": ["));
        assert!(
            page.contains(&format!(
                "<summary>extra</summary><pre>{}</pre>",
                html_escaped(&pretty)
            )),
            "{page}"
        );
        let p = root.post(
            &format!("/console/{path}/{name}/inline/delete"),
            &[("csrf", &csrf), ("PolicyName", "extra")],
        );
        assert_eq!(p.status, 303, "{}", p.body);
        let names = root_api.ok("iam", list, json!({member: name}));
        assert_eq!(names["PolicyNames"], json!([]));
    }

    // Console access: reset the password (reset required at next sign-in), then disable it.
    let page = root.get("/console/users/user-for-switch").body;
    assert!(page.contains("<summary>Manage console access</summary>"));
    let p = root.post(
        "/console/users/user-for-switch/login-profile/update",
        &[("csrf", &csrf), ("Password", "weak")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("PasswordPolicyViolation"));
    let p = root.post(
        "/console/users/user-for-switch/login-profile/update",
        &[
            ("csrf", &csrf),
            ("Password", "Another-Passw0rd!"),
            ("PasswordResetRequired", "true"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let prof = root_api.ok(
        "iam",
        "GetLoginProfile",
        json!({"UserName": "user-for-switch"}),
    );
    assert_eq!(prof["LoginProfile"]["PasswordResetRequired"], true);
    assert!(
        root.get("/console/users/user-for-switch")
            .body
            .contains("a new password is required at next sign-in")
    );
    let mut b = Browser::new(server.addr);
    assert_eq!(
        b.sign_in("user-for-switch", USER_PASSWORD).status,
        401,
        "the old password is gone"
    );
    let mut b = Browser::new(server.addr);
    assert_eq!(
        b.sign_in("user-for-switch", "Another-Passw0rd!").status,
        303
    );
    let p = root.post(
        "/console/users/user-for-switch/login-profile/delete",
        &[("csrf", &csrf)],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api
            .err(
                "iam",
                "GetLoginProfile",
                json!({"UserName": "user-for-switch"})
            )
            .1,
        "NoSuchEntity"
    );
    assert!(
        root.get("/console/users/user-for-switch")
            .body
            .contains("<p>Not enabled.</p>")
    );

    // Role details: created, maximum session duration, last activity after an AssumeRole.
    let role = root_api.ok("iam", "GetRole", json!({"RoleName": ROLE}));
    let page = root.get(&format!("/console/roles/{ROLE}")).body;
    assert!(page.contains(&format!(
        "Created: {}",
        role["Role"]["CreateDate"].as_str().unwrap()
    )));
    assert!(page.contains(&format!(
        "Maximum session duration: {} seconds",
        role["Role"]["MaxSessionDuration"]
    )));
    assert!(page.contains("Last activity: None"), "{page}");
    // The trust policy is shown pretty-printed (the editor below keeps the stored text).
    let trust = decoded_trust(&root_api, ROLE);
    assert!(
        page.contains(&format!(
            "<h2>Trust relationships</h2><pre>{}</pre>",
            html_escaped(&serde_json::to_string_pretty(&trust).unwrap())
        )),
        "{page}"
    );
}

#[test]
fn federation_of_a_federated_user_gets_its_own_console_session() {
    let server = common::start_in_memory();
    let root_api = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    let broker = common::user_with_key(&root_api, "broker");
    let allow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["sts:GetFederationToken", "iam:ListUsers", "iam:ListRoles"], "Resource": "*"}]})
    .to_string();
    root_api.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "broker", "PolicyName": "broker", "PolicyDocument": allow}),
    );
    // The federated user may list users (the session policy), not roles.
    let session_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "iam:ListUsers", "Resource": "*"}]})
    .to_string();
    let fed = broker.ok(
        "sts",
        "GetFederationToken",
        json!({"Name": "bob", "Policy": session_policy}),
    );
    let creds = &fed["Credentials"];
    let mut b = Browser::new(server.addr);
    let p = federation_get(
        &mut b,
        &[
            ("Action", "getSigninToken"),
            ("SessionDuration", "900"),
            ("Session", &session_json(creds)),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let token: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    let p = federation_get(
        &mut b,
        &[
            ("Action", "login"),
            ("Destination", "/console/users"),
            ("SigninToken", token["SigninToken"].as_str().unwrap()),
        ],
    );
    assert_eq!(p.status, 302, "{}", p.body);
    let cookie = b
        .set_cookie_lines
        .iter()
        .find(|l| l.starts_with("kagi-console="))
        .unwrap()
        .clone();
    let max_age: i64 = cookie.split("Max-Age=").nth(1).unwrap().parse().unwrap();
    assert!(max_age > 0 && max_age <= 900, "SessionDuration: {cookie}");
    // Its console session may call IAM within the federated user's permissions.
    let p = b.get("/console/users");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("arn:aws:sts::{ACCOUNT}:federated-user/bob"))
    );
    assert!(p.body.contains(">broker</a>"));
    let p = b.get("/console/roles");
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains(&format!(
            "arn:aws:sts::{ACCOUNT}:federated-user/bob is not authorized to perform: iam:ListRoles"
        )),
        "{}",
        p.body
    );
    // A SessionDuration out of range is refused.
    let p = federation_get(
        &mut b,
        &[
            ("Action", "getSigninToken"),
            ("SessionDuration", "43201"),
            ("Session", &session_json(creds)),
        ],
    );
    assert_eq!(p.status, 400);
}

#[test]
fn password_reset_required_opens_only_the_password_page_until_it_is_changed() {
    let server = common::start_in_memory();
    let root = Client::root(&server);
    root.ok("iam", "CreateUser", json!({"UserName": "newcomer"}));
    root.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "newcomer", "Password": "Zeroth-Password-2026!"}),
    );
    // The root resets the password in the console and asks for a new one at next sign-in: as
    // in the AWS console, that also attaches IAMUserChangePassword.
    let (mut admin, csrf) = signed_in_root(&server);
    let p = admin.post(
        "/console/users/newcomer/login-profile/update",
        &[
            ("csrf", &csrf),
            ("Password", "First-Password-2026!"),
            ("PasswordResetRequired", "true"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let attached = root.ok(
        "iam",
        "ListAttachedUserPolicies",
        json!({"UserName": "newcomer"}),
    );
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyArn"],
        json!("arn:aws:iam::aws:policy/IAMUserChangePassword")
    );

    let mut b = Browser::new(server.addr);
    let p = b.sign_in("newcomer", "First-Password-2026!");
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/password"));
    // Every other page waits for the new password.
    for path in [
        "/console/users",
        "/console/roles",
        "/console/ecr/repositories",
    ] {
        let p = b.get(path);
        assert_eq!(
            (p.status, p.location.as_deref()),
            (303, Some("/console/password")),
            "{path}"
        );
    }
    let form = b.get("/console/password");
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("A new password is required"),
        "{}",
        form.body
    );
    let csrf = form.csrf();
    let wrong = b.post(
        "/console/password",
        &[
            ("csrf", &csrf),
            ("OldPassword", "not-it"),
            ("NewPassword", "Second-Password-2026!"),
            ("ConfirmPassword", "Second-Password-2026!"),
        ],
    );
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert_eq!(b.get("/console/users").status, 303, "still gated");
    let ok = b.post(
        "/console/password",
        &[
            ("csrf", &csrf),
            ("OldPassword", "First-Password-2026!"),
            ("NewPassword", "Second-Password-2026!"),
            ("ConfirmPassword", "Second-Password-2026!"),
        ],
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("Your password has been changed."));
    // Now the pages open (and say what the user may not do, in AWS's words).
    let users = b.get("/console/users");
    assert_eq!(users.status, 403, "{}", users.body);
    assert!(users.body.contains("iam:ListUsers"));
    let profile = root.ok("iam", "GetLoginProfile", json!({"UserName": "newcomer"}));
    assert_eq!(
        profile["LoginProfile"]["PasswordResetRequired"],
        json!(false)
    );
    // The new password signs in straight to the console.
    let mut again = Browser::new(server.addr);
    let p = again.sign_in("newcomer", "Second-Password-2026!");
    assert_eq!(p.location.as_deref(), Some("/console/users"));
}

#[test]
fn tags_on_users_and_roles_are_added_changed_and_removed() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    for (path, list, member, name) in [
        ("users", "ListUserTags", "UserName", "user-for-switch"),
        ("roles", "ListRoleTags", "RoleName", ROLE),
    ] {
        let page = format!("/console/{path}/{name}");
        let body = root.get(&page).body;
        assert!(
            body.contains("<h2>Tags</h2>") && body.contains("No tags."),
            "{body}"
        );
        let tags = |api: &Client| api.ok("iam", list, json!({member: name}))["Tags"].clone();
        // Added, then changed: TagUser / TagRole overwrite the key's value.
        for value in ["web", "api"] {
            let p = root.post(
                &format!("{page}/tags"),
                &[("csrf", &csrf), ("Key", "team"), ("Value", value)],
            );
            assert_eq!(p.status, 303, "{}", p.body);
            assert_eq!(tags(&root_api), json!([{"Key": "team", "Value": value}]));
        }
        let body = root.get(&page).body;
        assert!(body.contains("<tr><td>team</td><td>api</td>"), "{body}");
        assert!(body.contains(r#"aria-label="Remove tag team""#));
        // Bad input comes back in AWS's words, and changes nothing.
        let p = root.post(
            &format!("{page}/tags"),
            &[("csrf", &csrf), ("Key", "team#1"), ("Value", "x")],
        );
        assert_eq!(p.status, 400, "{}", p.body);
        assert!(p.body.contains("ValidationError"), "{}", p.body);
        assert_eq!(tags(&root_api), json!([{"Key": "team", "Value": "api"}]));
        // Without the CSRF token nothing happens.
        let p = root.post(&format!("{page}/tags/remove"), &[("Key", "team")]);
        assert_eq!(p.status, 403, "{}", p.body);
        let p = root.post(
            &format!("{page}/tags/remove"),
            &[("csrf", &csrf), ("Key", "team")],
        );
        assert_eq!(p.status, 303, "{}", p.body);
        assert_eq!(tags(&root_api), json!([]));
    }
    // The role session may not tag its own role: AWS's AccessDenied, nothing written.
    let (mut role, rcsrf) = switched_user(&server, "blue");
    let p = role.post(
        &format!("/console/roles/{ROLE}/tags"),
        &[("csrf", &rcsrf), ("Key", "team"), ("Value", "x")],
    );
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        p.body.contains(&format!(
            "User: {} is not authorized to perform: iam:TagRole",
            role_session_arn()
        )),
        "{}",
        p.body
    );
    assert_eq!(
        root_api.ok("iam", "ListRoleTags", json!({"RoleName": ROLE}))["Tags"],
        json!([])
    );
}

/// The OIDC provider ARN of a `HOST/PATH`.
fn provider_arn(host_path: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}")
}

fn provider_audiences(root: &Client, arn: &str) -> Vec<String> {
    let v = root.ok(
        "iam",
        "GetOpenIDConnectProvider",
        json!({"OpenIDConnectProviderArn": arn}),
    );
    serde_json::from_value(v["ClientIDList"].clone()).unwrap()
}

#[test]
fn identity_providers_and_the_web_identity_role_wizard() {
    use kagi_testkit::oidc::{AUDIENCE, Issuer, Keys};
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    // A real issuer on loopback, so that the role the wizard makes is used at the end.
    let keys = Keys::new();
    let issuer = Issuer::start(json!({"keys": [keys.ec_jwk("ec-1")]}));
    let host = issuer.host().to_owned();
    let arn = provider_arn(&host);

    // The navigation links the page; no provider yet, and the wizard says where to add one.
    let p = root.get("/console/identity-providers");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(
        r#"<a href="/console/identity-providers" aria-current="page">Identity providers</a>"#
    ));
    assert!(p.body.contains("No identity providers in this account."));
    assert!(p.body.contains(
        r#"<a href="/console/identity-providers/new" class="btn primary">Add provider</a>"#
    ));
    let p = root.get("/console/roles/new");
    assert!(
        p.body
            .contains(r#"name="TrustedEntity" value="web-identity""#)
    );
    assert!(
        p.body
            .contains(r#"<a href="/console/identity-providers/new">Add an identity provider</a>"#)
    );
    let p = root.get("/console/identity-providers/new");
    assert_eq!(p.status, 200);
    for needle in [
        r#"<label for="provider-url">"#,
        r#"<label for="provider-audiences">"#,
        r#"<label for="provider-thumbprints">"#,
    ] {
        assert!(p.body.contains(needle), "{needle}");
    }

    // Without the session's CSRF token nothing is created.
    for form in [
        vec![("Url", issuer.url.as_str()), ("ClientIDList", AUDIENCE)],
        vec![
            ("csrf", "forged"),
            ("Url", issuer.url.as_str()),
            ("ClientIDList", AUDIENCE),
        ],
    ] {
        let p = root.post("/console/identity-providers", &form);
        assert_eq!(p.status, 403);
        assert!(p.body.contains("InvalidCsrfToken"));
    }
    let listed = root_api.ok("iam", "ListOpenIDConnectProviders", json!({}));
    assert_eq!(listed["OpenIDConnectProviderList"], json!([]));

    // IAM's refusal comes back in the form, which keeps what was typed.
    let p = root.post(
        "/console/identity-providers",
        &[
            ("csrf", &csrf),
            ("Url", "ftp://example.com"),
            ("ClientIDList", "kept-audience"),
            ("ThumbprintList", ""),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("ValidationError"));
    assert!(p.body.contains(r#"value="ftp://example.com""#));
    assert!(p.body.contains(">kept-audience</textarea>"));
    let p = root.post(
        "/console/identity-providers",
        &[("csrf", &csrf), ("Url", &issuer.url), ("ClientIDList", " ")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Enter at least one audience."));

    // Added with two audiences (one per line): its page follows.
    let p = root.post(
        "/console/identity-providers",
        &[
            ("csrf", &csrf),
            ("Url", &issuer.url),
            ("ClientIDList", &format!("{AUDIENCE}\r\nother-app\r\n")),
            ("ThumbprintList", ""),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = p.location.unwrap();
    let arn_seg: String = form_urlencoded::byte_serialize(arn.as_bytes()).collect();
    assert_eq!(page, format!("/console/identity-providers/{arn_seg}"));
    assert_eq!(provider_audiences(&root_api, &arn), [AUDIENCE, "other-app"]);
    // A second provider (https, with a thumbprint), for the wizard's choices.
    let gh = provider_arn("token.actions.githubusercontent.com");
    let p = root.post(
        "/console/identity-providers",
        &[
            ("csrf", &csrf),
            ("Url", "https://token.actions.githubusercontent.com"),
            ("ClientIDList", "gh-only-audience"),
            ("ThumbprintList", "6938fd4d98bab03faadb97b34396831e3780aea1"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);

    let p = root.get("/console/identity-providers");
    assert_eq!(p.status, 200);
    assert!(p.body.contains(&format!(">{host}</a>")), "{}", p.body);
    assert!(p.body.contains(">token.actions.githubusercontent.com</a>"));
    assert!(p.body.contains(&format!("<code>{arn}</code>")));
    assert!(p.body.contains("<td>OpenID Connect</td>"));

    let p = root.get(&page);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(&format!("<h1>{host}</h1>")));
    assert!(p.body.contains(&format!("ARN: <code>{arn}</code>")));
    assert!(p.body.contains(r#"aria-label="Remove audience other-app""#));
    assert!(p.body.contains(r#"<label for="new-audience">"#));
    // Audiences added and removed; without the CSRF token, nothing changes.
    let p = root.post(
        &format!("{page}/audiences"),
        &[("csrf", &csrf), ("ClientID", "third-app")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(page.as_str()));
    let p = root.post(
        &format!("{page}/audiences/remove"),
        &[("ClientID", "other-app")],
    );
    assert_eq!(p.status, 403);
    assert_eq!(
        provider_audiences(&root_api, &arn),
        [AUDIENCE, "other-app", "third-app"]
    );
    let p = root.post(
        &format!("{page}/audiences/remove"),
        &[("csrf", &csrf), ("ClientID", "other-app")],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(provider_audiences(&root_api, &arn), [AUDIENCE, "third-app"]);
    let p = root.get(&page);
    assert!(p.body.contains("<code>third-app</code>"));
    assert!(!p.body.contains("other-app"));
    let gh_page = root.get(&format!(
        "/console/identity-providers/{}",
        form_urlencoded::byte_serialize(gh.as_bytes()).collect::<String>()
    ));
    assert!(
        gh_page
            .body
            .contains("<code>6938fd4d98bab03faadb97b34396831e3780aea1</code>")
    );

    // The wizard offers both providers and each one's audiences.
    let p = root.get("/console/roles/new");
    assert!(
        p.body
            .contains(&format!(r#"<option value="{arn}">{host}</option>"#))
    );
    assert!(p.body.contains(&format!(
        r#"<optgroup label="{host}" data-provider="{arn}"><option value="{AUDIENCE}">{AUDIENCE}</option><option value="third-app">third-app</option></optgroup>"#
    )), "{}", p.body);
    assert!(p.body.contains(r#"<label for="identity-provider">"#));
    assert!(p.body.contains(r#"<label for="audience">"#));
    assert!(p.body.contains(r#"<label for="subject">"#));
    // The provider page's "Assign role" starts the wizard on it.
    assert!(
        root.get(&page)
            .body
            .contains(&format!(r#"href="/console/roles/new?provider={arn_seg}""#))
    );
    let p = root.get(&format!("/console/roles/new?provider={arn_seg}"));
    assert!(p.body.contains(r#"value="web-identity" checked"#));
    assert!(
        p.body
            .contains(&format!(r#"<option value="{arn}" selected>"#))
    );

    let expected = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {format!("{host}:aud"): AUDIENCE},
            "StringLike": {format!("{host}:sub"): "repo:org/repo:*"}
        }
    }]});
    let wizard = |audience: &'static str, subject: &'static str, name: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("TrustedEntity", "web-identity".to_owned()),
            ("IdentityProvider", arn.clone()),
            ("Audience", audience.to_owned()),
            ("Subject", subject.to_owned()),
            ("RoleName", name.to_owned()),
            ("PolicyArn", String::new()),
        ]
    };
    let post = |b: &mut Browser, path: &str, form: &[(&str, String)]| {
        let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post(path, &f)
    };
    // The live preview (the script's endpoint) and the review show the same document.
    let form = wizard(AUDIENCE, "repo:org/repo:*", "WebIdentityRole");
    let p = post(&mut root, "/console/roles/trust-preview", &form);
    assert_eq!(p.status, 200);
    let preview: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    assert_eq!(preview["label"], "Web identity");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(preview["policy"].as_str().unwrap()).unwrap(),
        expected
    );
    let p = post(&mut root, "/console/roles/review", &form);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(&html_escaped(
        &serde_json::to_string_pretty(&expected).unwrap()
    )));
    // "Back" keeps every choice.
    let p = post(&mut root, "/console/roles/new", &form);
    assert_eq!(p.status, 200);
    assert!(p.body.contains(r#"value="web-identity" checked"#));
    assert!(
        p.body
            .contains(&format!(r#"<option value="{arn}" selected>"#))
    );
    assert!(p.body.contains(&format!(
        r#"data-provider="{arn}"><option value="{AUDIENCE}" selected>"#
    )));
    assert!(
        p.body
            .contains(r#"name="Subject" maxlength="1024" value="repo:org/repo:*""#)
    );
    assert!(
        p.body
            .contains(r#"name="RoleName" required maxlength="64" value="WebIdentityRole""#)
    );
    // Another provider's audience, or none, is refused with a message.
    let p = post(
        &mut root,
        "/console/roles/review",
        &wizard("gh-only-audience", "", "WebIdentityRole"),
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("is not an audience of"), "{}", p.body);
    let p = post(&mut root, "/console/roles/review", &wizard("", "", "X"));
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Choose an audience."));
    // Without the CSRF token, no role.
    let mut forged = form.clone();
    forged[0].1 = "forged".into();
    assert_eq!(post(&mut root, "/console/roles", &forged).status, 403);
    assert!(
        root_api
            .err("iam", "GetRole", json!({"RoleName": "WebIdentityRole"}))
            .1
            .contains("NoSuchEntity")
    );
    // Created: GetRole has exactly that trust policy; without a subject, no StringLike.
    let p = post(&mut root, "/console/roles", &form);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/roles/WebIdentityRole")
    );
    assert_eq!(decoded_trust(&root_api, "WebIdentityRole"), expected);
    let p = post(
        &mut root,
        "/console/roles",
        &wizard("third-app", "", "WebIdentityAnySubject"),
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        decoded_trust(&root_api, "WebIdentityAnySubject"),
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{host}:aud"): "third-app"}}
        }]})
    );

    // The role works: a token of the issuer for a matching subject becomes a session of it;
    // another subject does not.
    let exchange = |sub: &str| {
        let token = keys.token("ES256", "ec-1", &issuer.claims(sub));
        root_api.call_unsigned(
            "sts",
            "AssumeRoleWithWebIdentity",
            json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/WebIdentityRole"),
                   "RoleSessionName": "console-made", "WebIdentityToken": token}),
        )
    };
    let out = exchange("repo:org/repo:ref:refs/heads/main").unwrap();
    assert_eq!(
        out["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/WebIdentityRole/console-made").as_str()
    );
    assert!(exchange("repo:other/repo:ref:refs/heads/main").is_err());

    // A user without iam:ListOpenIDConnectProviders sees AWS's AccessDenied; the wizard still
    // opens and says why it has no providers to offer.
    let mut user = Browser::new(server.addr);
    assert_eq!(user.sign_in("user-for-switch", USER_PASSWORD).status, 303);
    let p = user.get("/console/identity-providers");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDenied"));
    assert!(
        p.body
            .contains("not authorized to perform: iam:ListOpenIDConnectProviders"),
        "{}",
        p.body
    );
    let p = user.get("/console/roles/new");
    assert!(
        p.body
            .contains("The identity providers cannot be listed: AccessDenied"),
        "{}",
        p.body
    );
    let p = user.get(&page);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("iam:GetOpenIDConnectProvider"));

    // Delete: the provider's URL typed to confirm.
    let p = root.post(
        &format!("{page}/delete"),
        &[("csrf", &csrf), ("ConfirmName", "wrong")],
    );
    assert_eq!(p.status, 400);
    assert_eq!(provider_audiences(&root_api, &arn).len(), 2);
    assert_eq!(
        root.post(&format!("{page}/delete"), &[("ConfirmName", &host)])
            .status,
        403
    );
    let p = root.post(
        &format!("{page}/delete"),
        &[("csrf", &csrf), ("ConfirmName", &host)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/identity-providers"));
    let listed = root_api.ok("iam", "ListOpenIDConnectProviders", json!({}));
    assert_eq!(listed["OpenIDConnectProviderList"], json!([{"Arn": gh}]));
}

// ---- many accounts: sign-in by account id or alias, cross-account switch role, Organizations

/// A signed Organizations (JSON 1.1) call; Ok(output) or Err((status, __type, message)).
fn org(
    c: &Client,
    action: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, (u16, String, String)> {
    let svc = kagi_api::service("organizations").unwrap();
    let op = svc.operation(action).unwrap();
    let (target, body) = kagi_api::json11::encode_request(svc, op, &input);
    let mut headers = vec![
        ("host".to_string(), c.addr.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("x-amz-target".to_string(), target),
    ];
    let params = kagi_sigv4::SigningParams {
        region: "us-east-1",
        service: "organizations",
        time: std::time::SystemTime::now(),
    };
    kagi_sigv4::sign_headers("POST", "/", "", &mut headers, &body, &c.creds, &params).unwrap();
    let raw = c.post_raw(&headers, &String::from_utf8(body).unwrap());
    if raw.status == 200 {
        Ok(kagi_api::json11::decode_response(op, raw.body.as_bytes()).unwrap())
    } else {
        let e = kagi_api::json11::decode_error(raw.body.as_bytes())
            .unwrap_or_else(|| panic!("{}", raw.body));
        Err((raw.status, e.code, e.message))
    }
}

const MEMBER_PASSWORD: &str = "Member-Passw0rd!";

/// An organization with one member account `workload` (alias `workload-team`), in which the
/// user `wl-user` (console password, may list IAM) exists. Returns the root API client, the
/// member account's id and an API client of its OrganizationAccountAccessRole.
fn organization_with_member(server: &kagi_server::RunningServer) -> (Client, String, Client) {
    let root = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);
    org(&root, "CreateOrganization", json!({"FeatureSet": "ALL"})).unwrap();
    let created = org(
        &root,
        "CreateAccount",
        json!({"AccountName": "workload", "Email": "workload@example.com"}),
    )
    .unwrap();
    let member = created["CreateAccountStatus"]["AccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(member, ACCOUNT);
    // The management account's root may not assume roles (as on AWS): a user of it does.
    let admin = common::user_with_key(&root, "org-admin");
    root.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "org-admin", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let assumed = admin.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"),
            "RoleSessionName": "setup"}),
    );
    let in_member = Client::from_credentials(server.addr, &assumed["Credentials"]);
    in_member.ok("iam", "CreateUser", json!({"UserName": "wl-user"}));
    in_member.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "wl-user", "Password": MEMBER_PASSWORD}),
    );
    in_member.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "wl-user", "PolicyName": "ListIam",
            "PolicyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:List*","iam:Get*","organizations:Describe*"],"Resource":"*"}]}"#}),
    );
    in_member.ok(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "workload-team"}),
    );
    (root, member, in_member)
}

impl Browser {
    fn sign_in_to(&mut self, account: &str, user: &str, password: &str) -> Page {
        let form = self.get("/console/signin");
        let csrf = form.csrf();
        self.post(
            "/console/signin",
            &[
                ("csrf", &csrf),
                ("account", account),
                ("username", user),
                ("password", password),
            ],
        )
    }
}

#[test]
fn sign_in_by_account_id_or_alias_and_unknown_accounts_fail_like_bad_passwords() {
    let server = common::start_in_memory();
    server.set_console_root_password(ROOT_PASSWORD).unwrap();
    let (root, member, in_member) = organization_with_member(&server);
    root.ok(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "kagi-main"}),
    );
    // Aliases are unique across the accounts, as on AWS (an account may set its own again).
    let (status, code, message) = root.err(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "workload-team"}),
    );
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (
            409,
            "EntityAlreadyExists",
            "The account alias workload-team already exists."
        )
    );
    in_member.ok(
        "iam",
        "CreateAccountAlias",
        json!({"AccountAlias": "workload-team"}),
    );

    // By the member account's id, then by its alias (any case): a session of that account.
    for name in [member.as_str(), "workload-team", "Workload-Team"] {
        let mut b = Browser::new(server.addr);
        let p = b.sign_in_to(name, "wl-user", MEMBER_PASSWORD);
        assert_eq!(p.status, 303, "{name}: {}", p.body);
        let users = b.get("/console/users");
        assert_eq!(users.status, 200, "{}", users.body);
        assert!(
            users
                .body
                .contains(&format!("arn:aws:iam::{member}:user/wl-user")),
            "{}",
            users.body
        );
        assert!(users.body.contains(&format!(
            r#"<span class="who-name">wl-user</span> <span class="who-account">@ {member}</span>"#
        )));
        // The member's users, not the management account's.
        assert!(!users.body.contains("org-admin"), "{}", users.body);
    }
    // The bootstrap account's root by its alias.
    let mut b = Browser::new(server.addr);
    assert_eq!(b.sign_in_to("kagi-main", "", ROOT_PASSWORD).status, 303);
    assert!(
        b.get("/console/users")
            .body
            .contains(&format!("arn:aws:iam::{ACCOUNT}:root"))
    );

    // Unknown account ids and aliases, a user of another account, the root of a created
    // account (no password, as on AWS): all one message and status, as a wrong password.
    let time = |account: &str, user: &str, password: &str| {
        let mut b = Browser::new(server.addr);
        let start = std::time::Instant::now();
        let p = b.sign_in_to(account, user, password);
        let took = start.elapsed();
        assert_eq!(p.status, 401, "{account}/{user}: {}", p.body);
        assert!(
            p.body
                .contains("Your authentication information is incorrect. Please try again."),
            "{account}/{user}: {}",
            p.body
        );
        assert!(!b.cookies.contains_key("kagi-console"));
        took
    };
    let wrong_password = time(&member, "wl-user", "Wrong-Passw0rd!");
    let mut unknown = Vec::new();
    for (account, user, password) in [
        ("999999999999", "wl-user", MEMBER_PASSWORD),
        ("no-such-alias", "wl-user", MEMBER_PASSWORD),
        (ACCOUNT, "wl-user", MEMBER_PASSWORD),
        (member.as_str(), "", ROOT_PASSWORD),
        ("12345", "wl-user", MEMBER_PASSWORD),
    ] {
        unknown.push(time(account, user, password));
    }
    // Each costs a password hash like the wrong password did (no fast path that tells an
    // unknown account apart; generous bounds for a loaded machine).
    let fastest = unknown.iter().min().unwrap();
    assert!(
        *fastest * 4 >= wrong_password,
        "an unknown account answered in {fastest:?}, a wrong password in {wrong_password:?}"
    );

    // Failures count per account, whether named by id or by alias: with the wrong password
    // above (by id), four more by alias and id lock the user out.
    let mut b = Browser::new(server.addr);
    for (i, name) in [
        "workload-team",
        member.as_str(),
        "workload-team",
        member.as_str(),
    ]
    .into_iter()
    .enumerate()
    {
        let p = b.sign_in_to(name, "wl-user", "Wrong-Passw0rd!");
        assert_eq!(p.status, 401, "attempt {i}");
    }
    let p = b.sign_in_to("workload-team", "wl-user", MEMBER_PASSWORD);
    assert_eq!(p.status, 429, "{}", p.body);

    // AWS's account sign-in URL, locally: /console?account=… opens the form for that account.
    let mut b = Browser::new(server.addr);
    let p = b.get("/console?account=workload-team");
    assert_eq!(p.status, 303);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/signin?account=workload-team")
    );
    let p = b.get("/console/signin?account=workload-team");
    assert!(
        p.body
            .contains(r#"autocapitalize="none" value="workload-team""#),
        "{}",
        p.body
    );
    assert!(p.body.contains("Account ID (12 digits) or account alias"));
}

#[test]
fn switch_role_into_another_account_shows_its_iam_then_switches_back() {
    let server = common::start_in_memory();
    let (root, member, in_member) = organization_with_member(&server);
    // A user of the management account who may assume the member's role (the identity-policy
    // side; the role's trust policy trusts the management account).
    for (user, allowed) in [("switcher", true), ("stranger", false)] {
        root.ok("iam", "CreateUser", json!({"UserName": user}));
        root.ok(
            "iam",
            "CreateLoginProfile",
            json!({"UserName": user, "Password": USER_PASSWORD}),
        );
        if allowed {
            root.ok(
                "iam",
                "PutUserPolicy",
                json!({"UserName": user, "PolicyName": "Switch",
                    "PolicyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/OrganizationAccountAccessRole"}]}"#}),
            );
        }
    }
    let mut b = Browser::new(server.addr);
    assert_eq!(b.sign_in("switcher", USER_PASSWORD).status, 303);
    let form = b.get(&format!(
        "/console/switch-role?account={member}&roleName=OrganizationAccountAccessRole"
    ));
    assert!(form.body.contains("Account ID or alias"), "{}", form.body);
    let csrf = form.csrf();
    let switch = |b: &mut Browser, account: &str, color: &str| {
        b.post(
            "/console/switch-role",
            &[
                ("csrf", &csrf),
                ("Account", account),
                ("RoleName", "OrganizationAccountAccessRole"),
                ("DisplayName", "Workload admin"),
                ("Color", color),
            ],
        )
    };
    // By alias: the role of the other account.
    let p = switch(&mut b, "workload-team", "blue");
    assert_eq!(p.status, 303, "{}", p.body);
    let users = b.get("/console/users");
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(
        users
            .body
            .contains(&format!("arn:aws:iam::{member}:user/wl-user")),
        "the member's users: {}",
        users.body
    );
    assert!(!users.body.contains(":user/switcher"), "{}", users.body);
    assert!(
        users
            .body
            .contains(r#"<span class="banner color-blue" role="status">Workload admin</span>"#)
    );
    assert!(
        users.body.contains(&format!(
            r#"<span class="band-account">Account ID: {member}</span>"#
        )),
        "{}",
        users.body
    );
    assert!(users.body.contains(&format!(
        "arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/switcher"
    )));
    // Roles and policies are the member's too; the recent role remembers account and role.
    let roles = b.get("/console/roles");
    assert!(
        roles.body.contains(&format!(
            "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
        )),
        "{}",
        roles.body
    );
    let form = b.get("/console/switch-role");
    assert!(
        form.body
            .contains("<small>OrganizationAccountAccessRole @ workload-team</small>"),
        "{}",
        form.body
    );
    // ECR is the member account's registry: a repository created here is the member's.
    let p = b.post(
        "/console/ecr/repositories",
        &[
            ("csrf", &csrf),
            ("repositoryName", "wl-app"),
            ("region", "ap-northeast-1"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let repos = b.get("/console/ecr/repositories");
    assert_eq!(repos.status, 200, "{}", repos.body);
    assert!(repos.body.contains(">wl-app</a>"), "{}", repos.body);
    let in_member_repos = in_member.ecr("DescribeRepositories", json!({})).unwrap();
    assert_eq!(
        in_member_repos["repositories"][0]["repositoryArn"],
        json!(format!(
            "arn:aws:ecr:ap-northeast-1:{member}:repository/wl-app"
        ))
    );
    let own = root.ecr("DescribeRepositories", json!({})).unwrap();
    assert_eq!(
        own["repositories"],
        json!([]),
        "not the management account's"
    );
    // The Organizations page of a member account: a read-only notice.
    let orgs = b.get("/console/organizations");
    assert_eq!(orgs.status, 200, "{}", orgs.body);
    assert!(
        orgs.body.contains("is a member of the organization"),
        "{}",
        orgs.body
    );
    assert!(!orgs.body.contains("Create AWS account"));

    // Switch back: the signed-in user, in its own account (it may not list users).
    let p = b.post("/console/switch-back", &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    let users = b.get("/console/users");
    assert_eq!(users.status, 403, "{}", users.body);
    assert!(!users.body.contains("band-account"));
    assert!(users.body.contains(&format!(
        r#"<span class="who-name">switcher</span> <span class="who-account">@ {ACCOUNT}</span>"#
    )));
    // By id, in another colour.
    assert_eq!(switch(&mut b, &member, "green").status, 303);
    assert!(
        b.get("/console/users")
            .body
            .contains(r#"<span class="banner color-green" role="status">"#)
    );
    // An unknown alias: AWS's words, nothing switched.
    let p = switch(&mut b, "no-such-alias", "red");
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("Invalid information in one or more fields"));

    // Without the identity-policy side the trust policy alone is not enough.
    let mut s = Browser::new(server.addr);
    assert_eq!(s.sign_in("stranger", USER_PASSWORD).status, 303);
    let csrf = s.get("/console/switch-role").csrf();
    let p = s.post(
        "/console/switch-role",
        &[
            ("csrf", &csrf),
            ("Account", &member),
            ("RoleName", "OrganizationAccountAccessRole"),
            ("DisplayName", ""),
            ("Color", "red"),
        ],
    );
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDenied"), "{}", p.body);
}

#[test]
fn federation_signs_in_a_role_session_of_another_account() {
    let server = common::start_in_memory();
    let (root, member, _) = organization_with_member(&server);
    let admin = common::user_with_key(&root, "fed-admin");
    root.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "fed-admin", "PolicyName": "Switch",
            "PolicyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#}),
    );
    let assumed = admin.ok(
        "sts",
        "AssumeRole",
        json!({"RoleArn": format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"),
            "RoleSessionName": "fed"}),
    );
    let mut b = Browser::new(server.addr);
    let p = federation_get(
        &mut b,
        &[
            ("Action", "getSigninToken"),
            ("Session", &session_json(&assumed["Credentials"])),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let v: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    let token = v["SigninToken"].as_str().unwrap().to_owned();
    let dest = format!("http://{}/console/users", server.addr);
    let p = federation_get(
        &mut b,
        &[
            ("Action", "login"),
            ("Destination", &dest),
            ("SigninToken", &token),
        ],
    );
    assert_eq!(p.status, 302, "{}", p.body);
    let users = b.get("/console/users");
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(
        users
            .body
            .contains(&format!("arn:aws:iam::{member}:user/wl-user")),
        "{}",
        users.body
    );
}

/// The value of the first `<option>` whose text contains `label`.
fn option_value(body: &str, label: &str) -> String {
    let at = body
        .find(label)
        .unwrap_or_else(|| panic!("no {label} in {body}"));
    let start = body[..at].rfind(r#"<option value=""#).unwrap() + r#"<option value=""#.len();
    let end = body[start..].find('"').unwrap();
    body[start..start + end].to_owned()
}

#[test]
fn organizations_page_creates_accounts_ous_and_control_policies_through_the_api() {
    let server = common::start_in_memory();
    let (mut b, csrf) = signed_in_root(&server);
    let root_api = Client::new(server.addr, common::ROOT_AKID, common::ROOT_SECRET, None);

    // Not in an organization yet: the page offers to create one.
    let p = b.get("/console/organizations");
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Create organization"), "{}", p.body);
    assert!(
        p.body
            .contains(r#"<a href="/console/organizations" aria-current="true">Organizations</a>"#),
        "{}",
        p.body
    );
    let p = b.post("/console/organizations/create", &[("csrf", &csrf)]);
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get("/console/organizations");
    assert!(p.body.contains("Organization created"), "{}", p.body);
    let org_id = org(&root_api, "DescribeOrganization", json!({})).unwrap()["Organization"]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(p.body.contains(&format!("<code>{org_id}</code>")));
    let root_id = org(&root_api, "ListRoots", json!({})).unwrap()["Roots"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Create an account, an OU; move the account into it.
    let p = b.post(
        "/console/organizations/accounts",
        &[
            ("csrf", &csrf),
            ("AccountName", "dev"),
            ("Email", "dev@example.com"),
            ("RoleName", ""),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get("/console/organizations");
    assert!(page.body.contains("Account dev created"), "{}", page.body);
    let p = b.post(
        "/console/organizations/ous",
        &[
            ("csrf", &csrf),
            ("ParentId", &root_id),
            ("Name", "Workloads"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get("/console/organizations");
    assert!(page.body.contains("Organizational unit Workloads created."));
    let dev = option_value(&page.body, ">dev (");
    let ou = option_value(&page.body, "OU: Workloads (");
    assert!(ou.starts_with("ou-"), "{ou}");
    let p = b.post(
        "/console/organizations/move",
        &[
            ("csrf", &csrf),
            ("AccountId", &dev),
            ("DestinationParentId", &ou),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get("/console/organizations");
    assert!(
        page.body.contains(&format!(
            "<tr><td>dev</td><td><code>{dev}</code></td><td>dev@example.com</td><td>ACTIVE</td><td>Workloads <code>{ou}</code></td></tr>"
        )),
        "{}",
        page.body
    );
    let parents = org(&root_api, "ListParents", json!({"ChildId": dev})).unwrap();
    assert_eq!(parents["Parents"][0]["Id"], json!(ou));
    // The tree: the OU under the root, the account under the OU.
    assert!(page.body.contains(&format!(
        r#"<li><span class="tag">OU</span> <strong>Workloads</strong> <code>{ou}</code><ul><li>dev <code>{dev}</code>"#
    )), "{}", page.body);
    // An error in AWS's words: a duplicate OU name.
    let p = b.post(
        "/console/organizations/ous",
        &[
            ("csrf", &csrf),
            ("ParentId", &root_id),
            ("Name", "Workloads"),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains("DuplicateOrganizationalUnitException"),
        "{}",
        p.body
    );

    // Control policies: enable SCPs on the root, create one in the editor, attach, detach.
    let p = b.get("/console/organizations/policies");
    assert!(
        p.body.contains("Enable service control policies"),
        "{}",
        p.body
    );
    let p = b.post(
        "/console/organizations/policy-types",
        &[
            ("csrf", &csrf),
            ("PolicyType", "SERVICE_CONTROL_POLICY"),
            ("Enable", "1"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.get("/console/organizations/policies");
    assert!(
        p.body.contains("Disable service control policies"),
        "{}",
        p.body
    );
    assert!(p.body.contains("FullAWSAccess"), "{}", p.body);
    let form = b.get("/console/organizations/policies/new?type=SERVICE_CONTROL_POLICY");
    assert!(
        form.body.contains(r#"data-policy-type="identity""#),
        "{}",
        form.body
    );
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}"#;
    // A malformed document comes back in the editor with AWS's error.
    let p = b.post(
        "/console/organizations/policies",
        &[
            ("csrf", &csrf),
            ("Type", "SERVICE_CONTROL_POLICY"),
            ("Name", "NoUsers"),
            ("Description", "No new users"),
            ("Content", "{not json"),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains("MalformedPolicyDocumentException"),
        "{}",
        p.body
    );
    assert!(p.body.contains("{not json"));
    let p = b.post(
        "/console/organizations/policies",
        &[
            ("csrf", &csrf),
            ("Type", "SERVICE_CONTROL_POLICY"),
            ("Name", "NoUsers"),
            ("Description", "No new users"),
            ("Content", deny),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let policy_page = p.location.unwrap();
    let policy_id = policy_page.rsplit('/').next().unwrap().to_owned();
    assert!(policy_id.starts_with("p-"), "{policy_id}");
    let page = b.get(&policy_page);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Not attached."), "{}", page.body);
    let p = b.post(
        &format!("{policy_page}/attach"),
        &[("csrf", &csrf), ("TargetId", &ou)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let targets = org(
        &root_api,
        "ListTargetsForPolicy",
        json!({"PolicyId": policy_id}),
    )
    .unwrap();
    assert_eq!(targets["Targets"][0]["TargetId"], json!(ou));
    let page = b.get(&policy_page);
    assert!(
        page.body
            .contains(&format!("<td>Workloads</td><td><code>{ou}</code></td>")),
        "{}",
        page.body
    );
    // Attached twice: AWS's error.
    let p = b.post(
        &format!("{policy_page}/attach"),
        &[("csrf", &csrf), ("TargetId", &ou)],
    );
    assert!(
        p.body.contains("DuplicatePolicyAttachmentException"),
        "{}",
        p.body
    );
    // Edited in the editor.
    let allow_deny = deny.replace("iam:CreateUser", "iam:DeleteUser");
    let p = b.post(
        &policy_page,
        &[
            ("csrf", &csrf),
            ("Type", "SERVICE_CONTROL_POLICY"),
            ("Name", "NoUserDeletes"),
            ("Description", "No deletes"),
            ("Content", &allow_deny),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let described = org(&root_api, "DescribePolicy", json!({"PolicyId": policy_id})).unwrap();
    assert_eq!(
        described["Policy"]["PolicySummary"]["Name"],
        json!("NoUserDeletes")
    );
    assert!(
        described["Policy"]["Content"]
            .as_str()
            .unwrap()
            .contains("iam:DeleteUser")
    );
    let p = b.post(
        &format!("{policy_page}/detach"),
        &[("csrf", &csrf), ("TargetId", &ou)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(b.get(&policy_page).body.contains("Not attached."));

    // An RCP, attached to an account.
    let p = b.post(
        "/console/organizations/policy-types",
        &[
            ("csrf", &csrf),
            ("PolicyType", "RESOURCE_CONTROL_POLICY"),
            ("Enable", "1"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        b.get("/console/organizations/policies")
            .body
            .contains("Disable resource control policies")
    );
    let form = b.get("/console/organizations/policies/new?type=RESOURCE_CONTROL_POLICY");
    assert!(
        form.body.contains(r#"data-policy-type="resource""#),
        "{}",
        form.body
    );
    let rcp = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-none"}}}]}"#;
    let p = b.post(
        "/console/organizations/policies",
        &[
            ("csrf", &csrf),
            ("Type", "RESOURCE_CONTROL_POLICY"),
            ("Name", "OrgOnly"),
            ("Description", ""),
            ("Content", rcp),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let rcp_page = p.location.unwrap();
    let p = b.post(
        &format!("{rcp_page}/attach"),
        &[("csrf", &csrf), ("TargetId", &dev)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let page = b.get(&rcp_page);
    assert!(
        page.body.contains(&format!(
            "<td>dev</td><td><code>{dev}</code></td><td>ACCOUNT</td>"
        )),
        "{}",
        page.body
    );
    let listed = b.get("/console/organizations/policies");
    assert!(listed.body.contains(">OrgOnly</a>"), "{}", listed.body);

    // An IAM user of the management account without Organizations permissions: denied, in
    // AWS's words.
    root_api.ok("iam", "CreateUser", json!({"UserName": "no-orgs"}));
    root_api.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "no-orgs", "Password": USER_PASSWORD}),
    );
    let mut u = Browser::new(server.addr);
    assert_eq!(u.sign_in("no-orgs", USER_PASSWORD).status, 303);
    let p = u.get("/console/organizations");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("AccessDeniedException"), "{}", p.body);
    assert!(
        p.body.contains("organizations:DescribeOrganization"),
        "{}",
        p.body
    );
}

#[test]
fn mfa_sign_in_to_a_member_account_named_by_its_alias() {
    use base64::Engine;
    let server = common::start_in_memory();
    let (_, member, in_member) = organization_with_member(&server);
    let d = in_member.ok(
        "iam",
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "wl-phone"}),
    );
    let serial = d["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        serial.starts_with(&format!("arn:aws:iam::{member}:mfa/")),
        "{serial}"
    );
    let b32 = base64::engine::general_purpose::STANDARD
        .decode(d["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
        .unwrap();
    let seed = kagi_server::totp::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = kagi_server::totp::step_of(kagi_server::ids::now_secs());
    let code = |s: u64| kagi_server::totp::code_at_step(&seed, s);
    in_member.ok(
        "iam",
        "EnableMFADevice",
        json!({"UserName": "wl-user", "SerialNumber": serial,
            "AuthenticationCode1": code(step - 2), "AuthenticationCode2": code(step - 1)}),
    );
    let mut b = Browser::new(server.addr);
    let p = b.sign_in_to("workload-team", "wl-user", MEMBER_PASSWORD);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/signin/mfa"));
    let form = b.get("/console/signin/mfa");
    let p = b.post(
        "/console/signin/mfa",
        &[("csrf", &form.csrf()), ("code", &code(step))],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let users = b.get("/console/users");
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(users.body.contains(&format!(
        r#"<span class="who-name">wl-user</span> <span class="who-account">@ {member}</span>"#
    )));
}

const PORTAL_PASSWORD: &str = "Portal-Console-Passw0rd!";

#[test]
fn identity_center_pages_enable_users_groups_permission_sets_and_assignments() {
    let server = common::start_in_memory();
    let (root_api, user_api) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);

    // A principal with no Identity Center permissions sees AWS's denial in the page.
    let (mut denied, dcsrf) = switched_user(&server, "blue");
    let p = denied.get("/console/sso");
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(
        p.body.contains(&format!(
            "AccessDeniedException</strong>: User: {} is not authorized to perform: sso:ListInstances",
            role_session_arn()
        )),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<a href="/console/sso" aria-current="true">IAM Identity Center</a>"#),
        "the switcher names it"
    );

    // No instance yet: the dashboard says so and offers to enable it.
    let p = root.get("/console/sso/users");
    assert_eq!(p.status, 200);
    assert!(
        p.body
            .contains("IAM Identity Center is not enabled in this account (123456789012)"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<form method="post" action="/console/sso/enable">"#)
    );
    // Enabling needs the CSRF token, and the role session may not.
    assert_eq!(
        root.post("/console/sso/enable", &[("csrf", "forged")])
            .status,
        403
    );
    assert!(
        root_api
            .json("sso-admin", "ListInstances", json!({}))
            .unwrap()["Instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let p = denied.post("/console/sso/enable", &[("csrf", &dcsrf)]);
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: sso:CreateInstance"),
        "{}",
        p.body
    );
    let p = root.post("/console/sso/enable", &[("csrf", &csrf)]);
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso"))
    );
    let instances = root_api
        .json("sso-admin", "ListInstances", json!({}))
        .unwrap();
    let instance = instances["Instances"][0].clone();
    let store = instance["IdentityStoreId"].as_str().unwrap().to_owned();
    let instance_arn = instance["InstanceArn"].as_str().unwrap().to_owned();
    let p = root.get("/console/sso");
    assert!(p.body.contains("IAM Identity Center enabled."), "flash");
    assert!(
        p.body
            .contains(&format!(r#"<a href="/start/{store}">/start/{store}</a>"#)),
        "{}",
        p.body
    );

    // Users: the empty state, then one added with a group and a portal password.
    let p = root.get("/console/sso/users");
    assert!(
        p.body.contains("<strong>No users yet</strong>"),
        "{}",
        p.body
    );
    let p = root.post(
        "/console/sso/groups",
        &[
            ("csrf", &csrf),
            ("DisplayName", "Developers"),
            ("Description", "People who build"),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/groups/Developers"))
    );
    let developers = root_api
        .json("identitystore", "GetGroupId", json!({"IdentityStoreId": store,
            "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "Developers"}}}))
        .unwrap()["GroupId"].as_str().unwrap().to_owned();
    // Without the CSRF token nothing is created.
    let p = root.post(
        "/console/sso/users",
        &[
            ("UserName", "mallory"),
            ("GivenName", "M"),
            ("FamilyName", "X"),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(p.body.contains("InvalidCsrfToken"));
    let p = root.get("/console/sso/users");
    assert!(!p.body.contains("mallory"));
    // A weak portal password: the user is added without one, and the page says so.
    let p = root.post(
        "/console/sso/users",
        &[
            ("csrf", &csrf),
            ("UserName", "bob"),
            ("GivenName", "Bob"),
            ("FamilyName", "Builder"),
            ("Password", "short"),
            ("GroupId", ""),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains("The user bob was added without a portal password."),
        "{}",
        p.body
    );
    let p = root.post(
        "/console/sso/users",
        &[
            ("csrf", &csrf),
            ("UserName", "alice"),
            ("GivenName", "Alice"),
            ("FamilyName", "Liddell"),
            ("Email", "alice@example.com"),
            ("GroupId", &developers),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/users/alice")),
        "{}",
        p.body
    );
    let p = root.get("/console/sso/users/alice");
    assert_eq!(p.status, 200);
    assert!(p.body.contains("User alice added."));
    assert!(p.body.contains("alice@example.com") && p.body.contains("Alice Liddell"));
    assert!(
        p.body
            .contains(r#"<a href="/console/sso/groups/Developers">Developers</a>"#),
        "{}",
        p.body
    );
    let p = root.get("/console/sso/users");
    assert!(
        p.body
            .contains(r#"<caption>Users <span class="count">(2)</span></caption>"#),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<a href="/console/sso/users/alice">alice</a>"#)
    );

    // The group page: members added and removed.
    let p = root.get("/console/sso/groups/Developers");
    assert!(
        p.body.contains("People who build")
            && p.body
                .contains(r#"<a href="/console/sso/users/alice">alice</a>"#),
        "{}",
        p.body
    );
    let bob = root_api
        .json("identitystore", "GetUserId", json!({"IdentityStoreId": store,
            "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "bob"}}}))
        .unwrap()["UserId"].as_str().unwrap().to_owned();
    let p = root.post(
        "/console/sso/groups/Developers/members",
        &[("csrf", &csrf), ("UserId", &bob)],
    );
    assert_eq!(p.status, 303);
    let members = || {
        root_api
            .json(
                "identitystore",
                "ListGroupMemberships",
                json!({"IdentityStoreId": store, "GroupId": developers}),
            )
            .unwrap()["GroupMemberships"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(members().len(), 2);
    let bob_membership = members()
        .iter()
        .find(|m| m["MemberId"]["UserId"] == bob)
        .unwrap()["MembershipId"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = root.post(
        "/console/sso/groups/Developers/members/remove",
        &[("csrf", &csrf), ("MembershipId", &bob_membership)],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/groups/Developers"))
    );
    assert_eq!(members().len(), 1);

    // Portal password: mismatch refused, then set through the extension.
    let p = root.post(
        "/console/sso/users/alice/password",
        &[
            ("csrf", &csrf),
            ("Password", PORTAL_PASSWORD),
            ("ConfirmPassword", "other"),
        ],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("The passwords do not match."));
    let p = denied.post(
        "/console/sso/users/alice/password",
        &[
            ("csrf", &dcsrf),
            ("Password", PORTAL_PASSWORD),
            ("ConfirmPassword", PORTAL_PASSWORD),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains(&format!(
            // (the page looks the instance up first)
            "AccessDeniedException</strong>: User: {} is not authorized to perform: sso:ListInstances",
            role_session_arn()
        )),
        "{}",
        p.body
    );
    // A user who may read Identity Center but not change users: the password form reaches the
    // extension, which is authorised as identitystore:UpdateUser on the user.
    root_api.ok("iam", "CreateUser", json!({"UserName": "ic-viewer"}));
    root_api.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "ic-viewer", "Password": USER_PASSWORD}),
    );
    root_api.ok(
        "iam",
        "PutUserPolicy",
        json!({"UserName": "ic-viewer", "PolicyName": "ReadIdentityCenter",
            "PolicyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sso:ListInstances","sso:Describe*","sso:List*","identitystore:Describe*","identitystore:List*","identitystore:Get*"],"Resource":"*"}]}"#}),
    );
    let mut viewer = Browser::new(server.addr);
    assert_eq!(viewer.sign_in("ic-viewer", USER_PASSWORD).status, 303);
    let vcsrf = viewer.get("/console/sso/users").csrf();
    assert!(
        viewer
            .get("/console/sso/users/alice")
            .body
            .contains("Alice Liddell")
    );
    let p = viewer.post(
        "/console/sso/users/alice/password",
        &[
            ("csrf", &vcsrf),
            ("Password", PORTAL_PASSWORD),
            ("ConfirmPassword", PORTAL_PASSWORD),
        ],
    );
    assert_eq!(p.status, 403);
    assert!(
        p.body.contains(&format!(
            "AccessDeniedException</strong>: User: arn:aws:iam::{ACCOUNT}:user/ic-viewer is not authorized to perform: identitystore:UpdateUser on resource: arn:aws:identitystore:::user/"
        )),
        "{}",
        p.body
    );
    // The signed call `kagi sso set-password` sends runs the same handler: a user without
    // permission is refused in the JSON services' spelling.
    let body = json!({"IdentityStoreId": store, "UserName": "alice", "Password": PORTAL_PASSWORD})
        .to_string();
    let mut headers = vec![
        ("host".to_string(), user_api.addr.to_string()),
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            "KagiIdentityCenter.SetPortalPassword".to_string(),
        ),
    ];
    let params = kagi_sigv4::SigningParams {
        region: "us-east-1",
        service: "identitystore",
        time: std::time::SystemTime::now(),
    };
    kagi_sigv4::sign_headers(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        &user_api.creds,
        &params,
    )
    .unwrap();
    let raw = user_api.post_raw(&headers, &body);
    assert_eq!(
        kagi_api::json11::decode_error(raw.body.as_bytes())
            .unwrap()
            .code,
        "AccessDeniedException",
        "{}",
        raw.body
    );
    let p = root.post(
        "/console/sso/users/alice/password",
        &[
            ("csrf", &csrf),
            ("Password", PORTAL_PASSWORD),
            ("ConfirmPassword", PORTAL_PASSWORD),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/users/alice#password")),
        "{}",
        p.body
    );
    assert!(
        !root
            .get("/console/sso/users/alice")
            .body
            .contains(PORTAL_PASSWORD),
        "never echoed"
    );

    // Permission sets: create with a session duration, inline policy (refused draft kept),
    // managed and customer managed policies, boundary, settings.
    let p = root.get("/console/sso/permission-sets");
    assert!(p.body.contains("<strong>No permission sets yet</strong>"));
    let p = root.post(
        "/console/sso/permission-sets",
        &[
            ("csrf", &csrf),
            ("Name", "IamReader"),
            ("Description", "Reads IAM"),
            ("SessionDuration", "PT4H"),
            ("RelayState", ""),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let ps_path = p.location.unwrap();
    let ps_id = ps_path.rsplit('/').next().unwrap().to_owned();
    assert!(ps_id.starts_with("ps-"), "{ps_path}");
    let ps_arn = format!(
        "arn:aws:sso:::permissionSet/{}/{ps_id}",
        instance_arn.rsplit('/').next().unwrap()
    );
    let p = root.get(&ps_path);
    assert!(
        p.body.contains("Permission set IamReader created.") && p.body.contains("<dd>4 hours</dd>"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(r#"data-policy-type="identity""#),
        "the policy editor"
    );
    let list = root.get("/console/sso/permission-sets").body;
    assert!(
        list.contains(&format!(
            r#"<a href="/console/sso/permission-sets/{ps_id}">IamReader</a>"#
        )),
        "{list}"
    );
    let p = root.post(
        &format!("{ps_path}/inline"),
        &[("csrf", &csrf), ("InlinePolicy", COMMENTED_POLICY)],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Line 3, column 20"), "{}", p.body);
    assert!(
        p.body
            .contains(&html_escaped("\"Statement\": [ // ECR push and login")),
        "the draft is kept"
    );
    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"}]}"#;
    let p = root.post(
        &format!("{ps_path}/inline"),
        &[("csrf", &csrf), ("InlinePolicy", inline)],
    );
    assert_eq!(
        p.location.as_deref(),
        Some(format!("{ps_path}#permissions").as_str()),
        "{}",
        p.body
    );
    let key = json!({"InstanceArn": instance_arn, "PermissionSetArn": ps_arn});
    assert_eq!(
        root_api
            .json("sso-admin", "GetInlinePolicyForPermissionSet", key.clone())
            .unwrap()["InlinePolicy"],
        inline
    );
    for (path, form) in [
        (
            "managed",
            vec![(
                "ManagedPolicyArn",
                "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
            )],
        ),
        (
            "customer",
            vec![("Name", "ECRPushAndLoginPolicy"), ("Path", "")],
        ),
        (
            "boundary",
            vec![(
                "ManagedPolicyArn",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            )],
        ),
    ] {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(form);
        let p = root.post(&format!("{ps_path}/{path}"), &f);
        assert_eq!(p.status, 303, "{path}: {}", p.body);
    }
    let p = root.get(&ps_path);
    assert!(
        p.body.contains(
            r#"<button type="submit" aria-label="Detach IAMReadOnlyAccess">Detach</button>"#
        ),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"aria-label="Detach ECRPushAndLoginPolicy""#)
    );
    assert!(p.body.contains(
        "Permissions boundary: <code>arn:aws:iam::aws:policy/AdministratorAccess</code>"
    ));
    assert!(
        p.body.contains("iam:ListUsers"),
        "the summary of the inline policy"
    );
    let p = root.post(
        &format!("{ps_path}/managed/detach"),
        &[
            ("csrf", &csrf),
            (
                "ManagedPolicyArn",
                "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
            ),
        ],
    );
    assert_eq!(p.status, 303);
    let p = root.post(&format!("{ps_path}/boundary/delete"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 303);
    let managed = root_api
        .json(
            "sso-admin",
            "ListManagedPoliciesInPermissionSet",
            key.clone(),
        )
        .unwrap();
    assert!(
        managed["AttachedManagedPolicies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        root_api
            .json(
                "sso-admin",
                "GetPermissionsBoundaryForPermissionSet",
                key.clone()
            )
            .unwrap_err()
            .1,
        "ResourceNotFoundException"
    );

    // AWS accounts: this account (no organization), assignment of alice and the group.
    let p = root.get("/console/sso/accounts");
    assert!(
        p.body
            .contains(&format!(r#"<a href="/console/sso/accounts/{ACCOUNT}">"#)),
        "{}",
        p.body
    );
    let acct = format!("/console/sso/accounts/{ACCOUNT}");
    let p = root.get(&acct);
    assert!(
        p.body
            .contains("<strong>No users or groups assigned.</strong>"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(
            r#"<label class="check"><input type="checkbox" name="Principal" value="USER:"#
        )
    );
    let p = root.post(
        &format!("{acct}/assign"),
        &[("csrf", &csrf), ("PermissionSetArn", &ps_arn)],
    );
    assert_eq!(p.status, 400, "nothing chosen");
    // The customer managed policy exists in the account, so provisioning succeeds.
    let alice_id = root_api
        .json("identitystore", "GetUserId", json!({"IdentityStoreId": store,
            "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "alice"}}}))
        .unwrap()["UserId"].as_str().unwrap().to_owned();
    assert!(root.get(&acct).body.contains(&format!(r#"<label class="check"><input type="checkbox" name="Principal" value="USER:{alice_id}"> alice (User)</label>"#)));
    let p = root.post(
        &format!("{acct}/assign"),
        &[
            ("csrf", &csrf),
            ("Principal", &format!("USER:{alice_id}")),
            ("Principal", &format!("GROUP:{developers}")),
            ("PermissionSetArn", &ps_arn),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = root.get(&acct);
    assert!(
        p.body.contains("2 assignment(s) created and provisioned"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(r#"<a href="/console/sso/users/alice">alice</a>"#)
            && p.body
                .contains(r#"<a href="/console/sso/groups/Developers">Developers</a>"#),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("<td>IamReader</td><td>Provisioned</td>"),
        "{}",
        p.body
    );
    let roles = root_api.ok(
        "iam",
        "ListRoles",
        json!({"PathPrefix": "/aws-reserved/sso.amazonaws.com/"}),
    );
    let role = roles["Roles"][0]["RoleName"].as_str().unwrap().to_owned();
    assert!(role.starts_with("AWSReservedSSO_IamReader_"), "{role}");
    assert!(root.get("/console/sso/users/alice").body.contains(&format!(
        r#"<a href="/console/sso/permission-sets/{ps_id}"><code>{ps_id}</code></a>"#
    )));
    // A settings change marks the account outdated until it is reprovisioned.
    let p = root.post(
        &format!("{ps_path}/settings"),
        &[
            ("csrf", &csrf),
            ("Description", "Reads IAM users"),
            ("SessionDuration", "PT8H"),
        ],
    );
    assert_eq!(p.status, 303);
    let p = root.get(&acct);
    assert!(
        p.body.contains("Outdated: the permission set changed"),
        "{}",
        p.body
    );
    let p = root.post(
        &format!("{acct}/provision"),
        &[("csrf", &csrf), ("PermissionSetArn", &ps_arn)],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(
        root.get(&acct)
            .body
            .contains("<td>IamReader</td><td>Provisioned</td>")
    );

    // The portal: alice signs in with the password the console set and sees the account and
    // the permission set.
    let mut portal = Browser::new(server.addr);
    let p = portal.post(
        "/start/signin",
        &[
            ("username", "alice"),
            ("password", PORTAL_PASSWORD),
            ("next", "/start/"),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = portal.get("/start/");
    assert!(
        p.body.contains(ACCOUNT) && p.body.contains("IamReader"),
        "{}",
        p.body
    );

    // Removing the group's access leaves alice's; deleting needs the typed name.
    let p = root.post(
        &format!("{acct}/assignments/remove"),
        &[
            ("csrf", &csrf),
            ("PrincipalType", "GROUP"),
            ("PrincipalId", &developers),
            ("PermissionSetArn", &ps_arn),
        ],
    );
    assert_eq!(p.status, 303);
    let list = root_api
        .json(
            "sso-admin",
            "ListAccountAssignments",
            json!({"InstanceArn": instance_arn, "AccountId": ACCOUNT, "PermissionSetArn": ps_arn}),
        )
        .unwrap();
    assert_eq!(list["AccountAssignments"].as_array().unwrap().len(), 1);
    let p = root.post(
        "/console/sso/users/alice/delete",
        &[("csrf", &csrf), ("ConfirmName", "alic")],
    );
    assert_eq!(p.status, 400);
    assert!(p.body.contains("Nothing was deleted"));
    let p = root.post(
        "/console/sso/users/alice/delete",
        &[("csrf", &csrf), ("ConfirmName", "alice")],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/users"))
    );
    let list = root_api
        .json(
            "sso-admin",
            "ListAccountAssignments",
            json!({"InstanceArn": instance_arn, "AccountId": ACCOUNT, "PermissionSetArn": ps_arn}),
        )
        .unwrap();
    assert!(
        list["AccountAssignments"].as_array().unwrap().is_empty(),
        "the user's assignment went with it"
    );
    let p = root.post(
        "/console/sso/groups/Developers/delete",
        &[("csrf", &csrf), ("ConfirmName", "Developers")],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/groups"))
    );
    // A permission set still assigned (to bob) goes with its assignments and their role.
    let p = root.post(
        &format!("{acct}/assign"),
        &[
            ("csrf", &csrf),
            ("Principal", &format!("USER:{bob}")),
            ("PermissionSetArn", &ps_arn),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let sso_roles = || {
        root_api.ok(
            "iam",
            "ListRoles",
            json!({"PathPrefix": "/aws-reserved/sso.amazonaws.com/"}),
        )["Roles"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(sso_roles(), 1);
    assert!(root.get(&ps_path).body.contains(
        "<p>Its account assignments are removed first, and the roles provisioned for them.</p>"
    ));
    let p = root.post(
        &format!("{ps_path}/delete"),
        &[("csrf", &csrf), ("ConfirmName", "IamReader")],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/sso/permission-sets")),
        "{}",
        p.body
    );
    let p = root.get("/console/sso/permission-sets");
    assert!(
        p.body.contains("Permission set IamReader deleted.")
            && p.body.contains("No permission sets yet")
    );
    assert_eq!(sso_roles(), 0, "the role went with the last assignment");
    // A page of an unknown user is AWS's not-found, readably.
    let p = root.get("/console/sso/users/nobody");
    assert_eq!(p.status, 404, "{}", p.body);
    assert!(p.body.contains("ResourceNotFoundException"), "{}", p.body);
}

#[test]
fn bulk_deletes_confirm_dialog_markup_and_the_lifecycle_policy_tab() {
    let server = common::start_in_memory();
    let (root_api, _) = seed_by_api(&server);
    let (mut root, csrf) = signed_in_root(&server);
    let region = "ap-northeast-1";

    // Users: checkboxes, "Delete selected" with `delete` typed; dependents go first.
    for u in ["bulk-a", "bulk-b", "bulk-c"] {
        root_api.ok("iam", "CreateUser", json!({"UserName": u}));
    }
    root_api.ok(
        "iam",
        "CreateLoginProfile",
        json!({"UserName": "bulk-a", "Password": USER_PASSWORD}),
    );
    let page = root.get("/console/users").body;
    assert!(page.contains(r#"<input type="checkbox" name="UserName" value="bulk-a" form="delete-selected" data-name="bulk-a" aria-label="Select bulk-a">"#), "{page}");
    assert!(page.contains(r#"<section class="danger-zone" data-confirm="Delete the selected users?" data-bulk="delete-selected""#), "{page}");
    assert!(page.contains(
        r#"<form method="post" action="/console/users/delete-selected" id="delete-selected""#
    ));
    let users = |names: &[&str], confirm: &str, csrf: &str| -> Vec<(String, String)> {
        let mut f = vec![("csrf".to_owned(), csrf.to_owned())];
        f.extend(names.iter().map(|n| ("UserName".to_owned(), n.to_string())));
        f.push(("ConfirmName".to_owned(), confirm.to_owned()));
        f
    };
    let post = |b: &mut Browser, path: &str, f: Vec<(String, String)>| {
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        b.post(path, &f)
    };
    let p = post(
        &mut root,
        "/console/users/delete-selected",
        users(&["bulk-a", "bulk-b"], "bulk-a", &csrf),
    );
    assert_eq!(p.status, 400);
    assert!(
        p.body
            .contains("type &#39;delete&#39; to confirm. Nothing was deleted."),
        "{}",
        p.body
    );
    let p = post(
        &mut root,
        "/console/users/delete-selected",
        users(&[], "delete", &csrf),
    );
    assert_eq!(p.status, 400, "nothing selected");
    let p = post(
        &mut root,
        "/console/users/delete-selected",
        users(&["bulk-a", "bulk-b"], "delete", "forged"),
    );
    assert_eq!(p.status, 403);
    root_api.ok("iam", "GetUser", json!({"UserName": "bulk-a"}));
    let p = post(
        &mut root,
        "/console/users/delete-selected",
        users(&["bulk-a", "bulk-b"], "delete", &csrf),
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/users"))
    );
    assert!(
        root.get("/console/users")
            .body
            .contains("Deleted users: bulk-a, bulk-b.")
    );
    for u in ["bulk-a", "bulk-b"] {
        assert_eq!(
            root_api.err("iam", "GetUser", json!({"UserName": u})).1,
            "NoSuchEntity"
        );
    }
    root_api.ok("iam", "GetUser", json!({"UserName": "bulk-c"}));

    // Roles: a principal that may not is refused in AWS's words, and nothing is deleted.
    for r in ["BulkRole1", "BulkRole2"] {
        root_api.ok(
            "iam",
            "CreateRole",
            json!({"RoleName": r, "AssumeRolePolicyDocument": common::root_trust()}),
        );
    }
    let roles = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("RoleName".to_owned(), "BulkRole1".to_owned()),
            ("RoleName".to_owned(), "BulkRole2".to_owned()),
            ("ConfirmName".to_owned(), "delete".to_owned()),
        ]
    };
    let (mut role, rcsrf) = switched_user(&server, "orange");
    let p = post(&mut role, "/console/roles/delete-selected", roles(&rcsrf));
    assert_eq!(p.status, 403);
    assert!(
        p.body
            .contains("is not authorized to perform: iam:ListAttachedRolePolicies"),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("BulkRole1 could not be deleted. Nothing was deleted."),
        "{}",
        p.body
    );
    root_api.ok("iam", "GetRole", json!({"RoleName": "BulkRole1"}));
    assert!(
        root.get("/console/roles")
            .body
            .contains(r#"value="BulkRole2" form="delete-selected""#)
    );
    let p = post(&mut root, "/console/roles/delete-selected", roles(&csrf));
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        root_api
            .err("iam", "GetRole", json!({"RoleName": "BulkRole2"}))
            .1,
        "NoSuchEntity"
    );

    // Policies: only customer managed ones can be chosen; attachments go first.
    for n in ["BulkP1", "BulkP2"] {
        root_api.ok(
            "iam",
            "CreatePolicy",
            json!({"PolicyName": n, "PolicyDocument": common::switch_role_policy()}),
        );
    }
    let p1 = format!("arn:aws:iam::{ACCOUNT}:policy/BulkP1");
    let p2 = format!("arn:aws:iam::{ACCOUNT}:policy/BulkP2");
    root_api.ok(
        "iam",
        "AttachUserPolicy",
        json!({"UserName": "bulk-c", "PolicyArn": p1}),
    );
    let page = root.get("/console/policies").body;
    assert!(
        page.contains(&format!(r#"value="{p1}" form="delete-selected""#)),
        "{page}"
    );
    assert!(
        !page.contains(
            r#"value="arn:aws:iam::aws:policy/AdministratorAccess" form="delete-selected""#
        )
    );
    let p = post(
        &mut root,
        "/console/policies/delete-selected",
        vec![
            ("csrf".into(), csrf.clone()),
            ("PolicyArn".into(), p1.clone()),
            ("PolicyArn".into(), p2.clone()),
            ("ConfirmName".into(), "delete".into()),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/policies?type=customer")),
        "{}",
        p.body
    );
    assert!(
        root.get("/console/policies?type=customer")
            .body
            .contains("Deleted policies: BulkP1, BulkP2.")
    );
    assert_eq!(
        root_api.err("iam", "GetPolicy", json!({"PolicyArn": p1})).1,
        "NoSuchEntity"
    );

    // Repositories: the lifecycle policy tab (view, a refused draft kept, save, delete), then
    // "Delete selected" with their images.
    for n in ["bulk/one", "bulk/two"] {
        root_api
            .ecr("CreateRepository", json!({"repositoryName": n}))
            .unwrap();
    }
    let repo_page = format!("/console/ecr/repositories/bulk%2Fone?region={region}");
    let page = root.get(&repo_page).body;
    assert!(
        page.contains(r##"<a href="#lifecycle-policy">Lifecycle policy</a>"##),
        "{page}"
    );
    assert!(page.contains("<strong>No lifecycle policy.</strong>"));
    assert!(
        page.contains("Expire untagged images older than 14 days"),
        "the starter"
    );
    assert!(page.contains(r#"data-confirm="Delete repository bulk/one and its images?""#));
    let lifecycle = json!({"rules": [{"rulePriority": 1, "description": "keep 3",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 3},
        "action": {"type": "expire"}}]})
    .to_string();
    let p = root.post(
        "/console/ecr/lifecycle-policy",
        &[
            ("csrf", &csrf),
            ("region", region),
            ("repositoryName", "bulk/one"),
            ("lifecyclePolicyText", r#"{"rules": []}"#),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body
            .contains("Member must have length greater than or equal to 100"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(&html_escaped(r#"{"rules": []}"#)),
        "the draft is kept"
    );
    let p = root.post(
        "/console/ecr/lifecycle-policy",
        &[
            ("csrf", "forged"),
            ("region", region),
            ("repositoryName", "bulk/one"),
            ("lifecyclePolicyText", &lifecycle),
        ],
    );
    assert_eq!(p.status, 403);
    let p = root.post(
        "/console/ecr/lifecycle-policy",
        &[
            ("csrf", &csrf),
            ("region", region),
            ("repositoryName", "bulk/one"),
            ("lifecyclePolicyText", &lifecycle),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (
            303,
            Some(
                format!("/console/ecr/repositories/bulk%2Fone?region={region}#lifecycle-policy")
                    .as_str()
            )
        )
    );
    let stored = root_api
        .ecr("GetLifecyclePolicy", json!({"repositoryName": "bulk/one"}))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(stored["lifecyclePolicyText"].as_str().unwrap())
            .unwrap()["rules"][0]["description"],
        "keep 3"
    );
    let page = root.get(&repo_page).body;
    assert!(
        page.contains("Lifecycle policy saved and applied.")
            && page.contains("&quot;description&quot;: &quot;keep 3&quot;"),
        "{page}"
    );
    // A role session that may not read it sees ECR's denial in the tab.
    let denied = role.get(&repo_page).body;
    assert!(
        denied.contains("is not authorized to perform: ecr:GetLifecyclePolicy"),
        "{denied}"
    );
    let p = root.post(
        "/console/ecr/lifecycle-policy/delete",
        &[
            ("csrf", &csrf),
            ("region", region),
            ("repositoryName", "bulk/one"),
        ],
    );
    assert_eq!(p.status, 303);
    assert_eq!(
        root_api
            .ecr("GetLifecyclePolicy", json!({"repositoryName": "bulk/one"}))
            .unwrap_err()
            .1,
        "LifecyclePolicyNotFoundException"
    );
    let page = root
        .get(&format!("/console/ecr/repositories?region={region}"))
        .body;
    assert!(
        page.contains(r#"value="bulk/one" form="delete-selected""#),
        "{page}"
    );
    assert!(page.contains(r#"<input type="hidden" name="region" value="ap-northeast-1">"#));
    let p = post(
        &mut root,
        "/console/ecr/delete-repositories",
        vec![
            ("csrf".into(), csrf.clone()),
            ("region".into(), region.into()),
            ("repositoryName".into(), "bulk/one".into()),
            ("repositoryName".into(), "bulk/two".into()),
            ("ConfirmName".into(), "delete".into()),
        ],
    );
    assert_eq!(
        (p.status, p.location.as_deref()),
        (303, Some("/console/ecr/repositories?region=ap-northeast-1")),
        "{}",
        p.body
    );
    let left = root_api.ecr("DescribeRepositories", json!({})).unwrap();
    assert!(
        left["repositories"].as_array().unwrap().is_empty(),
        "{left}"
    );
}

#[test]
fn identity_center_accounts_are_the_organizations_and_assignments_provision_there() {
    let server = common::start_in_memory();
    let (_, member, in_member) = organization_with_member(&server);
    let (mut root, csrf) = signed_in_root(&server);
    assert_eq!(
        root.post("/console/sso/enable", &[("csrf", &csrf)]).status,
        303
    );
    let p = root.post(
        "/console/sso/users",
        &[
            ("csrf", &csrf),
            ("UserName", "carol"),
            ("GivenName", "Carol"),
            ("FamilyName", "Member"),
            ("GroupId", ""),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let p = root.post(
        "/console/sso/permission-sets",
        &[
            ("csrf", &csrf),
            ("Name", "Admin"),
            ("SessionDuration", "PT1H"),
        ],
    );
    let ps_id = p.location.unwrap().rsplit('/').next().unwrap().to_owned();
    assert!(
        root.post(
            &format!("/console/sso/permission-sets/{ps_id}/managed"),
            &[
                ("csrf", &csrf),
                (
                    "ManagedPolicyArn",
                    "arn:aws:iam::aws:policy/AdministratorAccess"
                )
            ],
        )
        .status
            == 303
    );
    // The organization's accounts, the management account's and the member's.
    let p = root.get("/console/sso/accounts");
    assert!(
        p.body.contains(&format!(
            r#"<a href="/console/sso/accounts/{member}">workload</a>"#
        )),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains(&format!(r#"<a href="/console/sso/accounts/{ACCOUNT}">"#))
    );
    let page = root.get(&format!("/console/sso/accounts/{member}")).body;
    let carol = page
        .split(r#"name="Principal" value="USER:"#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let ps_arn = page
        .split(r#"name="PermissionSetArn" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let p = root.post(
        &format!("/console/sso/accounts/{member}/assign"),
        &[
            ("csrf", &csrf),
            ("Principal", &format!("USER:{carol}")),
            ("PermissionSetArn", &ps_arn),
        ],
    );
    assert_eq!(p.status, 303, "{}", p.body);
    let roles = in_member.ok(
        "iam",
        "ListRoles",
        json!({"PathPrefix": "/aws-reserved/sso.amazonaws.com/"}),
    );
    assert!(
        roles["Roles"][0]["RoleName"]
            .as_str()
            .unwrap()
            .starts_with("AWSReservedSSO_Admin_"),
        "{roles}"
    );
    let p = root.get(&format!("/console/sso/accounts/{member}"));
    assert!(
        p.body.contains("<td>Admin</td><td>Provisioned</td>"),
        "{}",
        p.body
    );
    // The management account has none.
    let p = root.get(&format!("/console/sso/accounts/{ACCOUNT}"));
    assert!(p.body.contains("No users or groups assigned."));
}
