//! CloudTrail's record of an event, as AWS shapes it: `userIdentity` per identity type,
//! `requestParameters`/`responseElements` with CloudTrail's member names (the API's, first
//! letter lower case) and secrets replaced as AWS replaces them, `additionalEventData` with
//! kagi's explanation of the decision.

use super::event::{Event, Identity};
use crate::caller::{Caller, Principal};
use serde_json::{Map, Value, json};

/// What AWS writes in place of a secret.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Members that carry secrets in some API's request or response (compared without case):
/// keys, tokens, passwords, MFA seeds and codes, private keys, assertions, registry
/// passwords. Never written to the history.
const SECRET_MEMBERS: &[&str] = &[
    "secretaccesskey",
    "sessiontoken",
    "password",
    "oldpassword",
    "newpassword",
    "privatekey",
    "base32stringseed",
    "qrcodepng",
    "servicepassword",
    "authorizationtoken",
    "samlassertion",
    "webidentitytoken",
    "authenticationcode1",
    "authenticationcode2",
    "tokencode",
    "clientsecret",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "codeverifier",
];

/// The largest request/response part kept; beyond it long strings are cut (AWS truncates
/// large parameters too).
const PART_LIMIT: usize = 64 << 10;

/// The model's service of an event source (`iam.amazonaws.com` → `iam`, ...).
fn service_of(source: &str) -> Option<&'static kagi_api::Service> {
    let name = match source.strip_suffix(".amazonaws.com")? {
        "sso" => "sso-admin",
        "access-analyzer" => "accessanalyzer",
        s => s,
    };
    kagi_api::service(name)
}

/// Replaces, in `v` (an operation's input or output as the API names its members), the value
/// of every member whose shape the model marks sensitive (passwords, secret keys, private
/// keys, MFA seeds, assertions, e-mail addresses and names where AWS marks them), as CloudTrail
/// hides them. [`parameters`] then hides the secrets the model does not mark (session tokens,
/// registry passwords) by name.
pub fn hide_sensitive(source: &str, operation: &str, output: bool, v: &mut Value) {
    let Some(svc) = service_of(source) else {
        return;
    };
    let Some(op) = svc.operation(operation) else {
        return;
    };
    let shape = if output { op.output } else { op.input };
    if let Some(id) = shape {
        hide(svc, id, v, 0);
    }
}

fn hide(
    svc: &'static kagi_api::Service,
    id: kagi_api::model::ShapeId,
    v: &mut Value,
    depth: usize,
) {
    use kagi_api::model::ShapeKind;
    if depth > 32 {
        return;
    }
    let shape = svc.shape(id);
    if shape.sensitive {
        if !v.is_null() {
            *v = Value::String(HIDDEN.to_owned());
        }
        return;
    }
    match (&shape.kind, v) {
        (ShapeKind::Structure { members }, Value::Object(m)) => {
            for member in members {
                if let Some(child) = m.get_mut(member.name) {
                    hide(svc, member.shape, child, depth + 1);
                }
            }
        }
        (ShapeKind::List { member }, Value::Array(items)) => {
            for item in items {
                hide(svc, *member, item, depth + 1);
            }
        }
        (ShapeKind::Map { value, .. }, Value::Object(m)) => {
            for child in m.values_mut() {
                hide(svc, *value, child, depth + 1);
            }
        }
        _ => {}
    }
}

/// A request's or response's members as CloudTrail records them: member names with a lower
/// case first letter, secrets replaced by [`HIDDEN`], long strings cut; `None` when empty.
pub fn parameters(v: &Value) -> Option<Value> {
    let out = convert(v);
    match &out {
        Value::Object(m) if m.is_empty() => None,
        Value::Null => None,
        _ => {
            let size = serde_json::to_vec(&out).map(|b| b.len()).unwrap_or(0);
            if size > PART_LIMIT {
                Some(cut(&out))
            } else {
                Some(out)
            }
        }
    }
}

fn convert(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let name = lower_first(k);
                if SECRET_MEMBERS.contains(&k.to_ascii_lowercase().as_str()) {
                    out.insert(name, Value::String(HIDDEN.to_owned()));
                } else {
                    out.insert(name, convert(val));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(convert).collect()),
        other => other.clone(),
    }
}

fn cut(v: &Value) -> Value {
    match v {
        Value::String(s) if s.len() > 1024 => {
            Value::String(format!("<{} characters omitted>", s.chars().count()))
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), cut(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().take(100).map(cut).collect()),
        other => other.clone(),
    }
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn iso_ms(ms: i64) -> String {
    kagi_time::iso8601_z(ms.div_euclid(1000))
}

/// `userIdentity` as AWS shapes it for the identity's type.
pub fn user_identity(identity: &Identity) -> Value {
    match identity {
        Identity::Unknown { access_key_id } => {
            let mut m = json!({"type": "Unknown"});
            if !access_key_id.is_empty() {
                m["accessKeyId"] = json!(access_key_id);
                if let Some(a) = crate::ids::account_of_key(access_key_id) {
                    m["accountId"] = json!(a);
                }
            }
            m
        }
        Identity::WebIdentity { provider, subject } => json!({
            "type": "WebIdentityUser",
            "principalId": format!("{provider}:{subject}"),
            "userName": subject,
            "identityProvider": provider,
        }),
        Identity::Caller(c) => caller_identity(c),
    }
}

fn session_attributes(c: &Caller) -> Option<Value> {
    let s = c.session.as_ref()?;
    Some(json!({
        "creationDate": kagi_time::iso8601_z(s.issued),
        "mfaAuthenticated": if s.mfa { "true" } else { "false" },
    }))
}

fn caller_identity(c: &Caller) -> Value {
    let account = &c.account_id;
    let mut m = match &c.principal {
        Principal::Root => json!({
            "type": "Root",
            "principalId": account,
            "arn": c.arn(),
            "accountId": account,
        }),
        Principal::User { name, id, .. } => json!({
            "type": "IAMUser",
            "principalId": id,
            "arn": c.arn(),
            "accountId": account,
            "userName": name,
        }),
        Principal::Role { name, id, path, .. } => json!({
            "type": "AssumedRole",
            "principalId": c.user_id(),
            "arn": c.arn(),
            "accountId": account,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": id,
                    "arn": crate::ids::iam_arn(account, "role", path, name),
                    "accountId": account,
                    "userName": name,
                },
                "webIdFederationData": {},
            },
        }),
        Principal::Federated { name, user } => {
            let issuer = match user {
                Some(u) => json!({
                    "type": "IAMUser",
                    "arn": crate::ids::iam_arn(account, "user", "/", u),
                    "accountId": account,
                    "userName": u,
                }),
                None => json!({
                    "type": "Root",
                    "principalId": account,
                    "arn": format!("arn:aws:iam::{account}:root"),
                    "accountId": account,
                }),
            };
            json!({
                "type": "FederatedUser",
                "principalId": format!("{account}:{name}"),
                "arn": c.arn(),
                "accountId": account,
                "sessionContext": {"sessionIssuer": issuer, "webIdFederationData": {}},
            })
        }
    };
    if !c.access_key_id.is_empty() {
        m["accessKeyId"] = json!(c.access_key_id);
    }
    if let Some(attrs) = session_attributes(c) {
        match m.get_mut("sessionContext") {
            Some(ctx) => ctx["attributes"] = attrs,
            None => m["sessionContext"] = json!({"attributes": attrs}),
        }
    }
    m
}

/// LookupEvents' `Username` of an identity: the IAM user's name, the role session's name,
/// the federated user's name, `root`, or the web identity's subject.
pub fn username(identity: &Identity) -> Option<String> {
    match identity {
        Identity::Caller(c) => Some(match &c.principal {
            Principal::Root => "root".to_owned(),
            Principal::User { name, .. } => name.clone(),
            Principal::Role { session_name, .. } => session_name.clone(),
            Principal::Federated { name, .. } => name.clone(),
        }),
        Identity::WebIdentity { subject, .. } => Some(subject.clone()),
        Identity::Unknown { .. } => None,
    }
}

pub fn access_key_id(identity: &Identity) -> Option<&str> {
    match identity {
        Identity::Caller(c) => Some(c.access_key_id.as_str()).filter(|k| !k.is_empty()),
        Identity::Unknown { access_key_id } => {
            Some(access_key_id.as_str()).filter(|k| !k.is_empty())
        }
        Identity::WebIdentity { .. } => None,
    }
}

/// The whole record, from its stored parts (see [`super::segment`]): `identity` is the
/// rendered `userIdentity`.
pub fn render(e: &StoredParts<'_>, identity: &Value) -> Value {
    let mut m = Map::new();
    m.insert("eventVersion".into(), json!("1.09"));
    m.insert("userIdentity".into(), identity.clone());
    m.insert("eventTime".into(), json!(iso_ms(e.time_ms)));
    m.insert("eventSource".into(), json!(e.source));
    m.insert("eventName".into(), json!(e.name));
    m.insert("awsRegion".into(), json!(e.region));
    m.insert("sourceIPAddress".into(), json!(e.source_ip));
    m.insert("userAgent".into(), json!(e.user_agent));
    if let Some((code, message)) = e.error {
        m.insert("errorCode".into(), json!(code));
        m.insert("errorMessage".into(), json!(message));
    }
    m.insert(
        "requestParameters".into(),
        e.request_parameters.cloned().unwrap_or(Value::Null),
    );
    m.insert(
        "responseElements".into(),
        e.response_elements.cloned().unwrap_or(Value::Null),
    );
    if let Some(why) = e
        .explanation
        .filter(|w| w.as_array().is_none_or(|a| !a.is_empty()))
    {
        m.insert(
            "additionalEventData".into(),
            json!({"kagiAuthorization": why}),
        );
    }
    m.insert("requestID".into(), json!(e.request_id));
    m.insert("eventID".into(), json!(e.id));
    m.insert("readOnly".into(), json!(e.read_only));
    if !e.resources.is_empty() {
        m.insert(
            "resources".into(),
            Value::Array(
                e.resources
                    .iter()
                    .map(|(arn, ty)| {
                        let mut r = json!({"type": ty, "ARN": arn});
                        if let Some(a) = arn
                            .split(':')
                            .nth(4)
                            .filter(|a| crate::ids::is_account_id(a))
                        {
                            r["accountId"] = json!(a);
                        }
                        r
                    })
                    .collect(),
            ),
        );
    }
    m.insert("eventType".into(), json!("AwsApiCall"));
    m.insert("managementEvent".into(), json!(true));
    m.insert("recipientAccountId".into(), json!(e.account));
    m.insert("eventCategory".into(), json!("Management"));
    Value::Object(m)
}

/// The parts of a record, borrowed from an [`Event`] or a stored segment.
pub struct StoredParts<'a> {
    pub time_ms: i64,
    pub id: &'a str,
    pub account: &'a str,
    pub source: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_parameters: Option<&'a Value>,
    pub response_elements: Option<&'a Value>,
    pub error: Option<(&'a str, &'a str)>,
    pub request_id: &'a str,
    pub read_only: bool,
    pub resources: Vec<(&'a str, &'a str)>,
    pub explanation: Option<&'a Value>,
}

/// The record of an event not yet stored (the audit log).
pub fn render_event(e: &Event) -> Value {
    let ip = e.source_ip.to_string();
    let why = (!e.explanation.is_empty()).then(|| Value::Array(e.explanation.clone()));
    render(
        &StoredParts {
            time_ms: e.time_ms,
            id: &e.id,
            account: &e.account,
            source: &e.source,
            name: &e.name,
            region: &e.region,
            source_ip: &ip,
            user_agent: &e.user_agent,
            request_parameters: e.request_parameters.as_ref(),
            response_elements: e.response_elements.as_ref(),
            error: e.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str())),
            request_id: &e.request_id,
            read_only: e.read_only,
            resources: e
                .resources
                .iter()
                .map(|(a, t)| (a.as_str(), t.as_str()))
                .collect(),
            explanation: why.as_ref(),
        },
        &user_identity(&e.identity),
    )
}

/// CloudTrail's resource type of an ARN kagi authorises on.
pub fn resource_type(arn: &str) -> Option<&'static str> {
    let mut p = arn.splitn(6, ':');
    let (_, _, service, _, _, rest) = (
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
        p.next()?,
    );
    let kind = rest.split('/').next().unwrap_or("");
    Some(match (service, kind) {
        ("iam", "user") => "AWS::IAM::User",
        ("iam", "role") => "AWS::IAM::Role",
        ("iam", "group") => "AWS::IAM::Group",
        ("iam", "policy") => "AWS::IAM::Policy",
        ("iam", "instance-profile") => "AWS::IAM::InstanceProfile",
        ("iam", "mfa") => "AWS::IAM::MFADevice",
        ("iam", "oidc-provider") => "AWS::IAM::OIDCProvider",
        ("iam", "saml-provider") => "AWS::IAM::SAMLProvider",
        ("iam", "server-certificate") => "AWS::IAM::ServerCertificate",
        ("ecr", "repository") => "AWS::ECR::Repository",
        ("sts", "assumed-role") => "AWS::STS::AssumedRole",
        ("sts", "federated-user") => "AWS::STS::FederatedUser",
        ("organizations", _) => "AWS::Organizations::Resource",
        ("sso", _) => "AWS::SSO::Resource",
        ("identitystore", _) => "AWS::IdentityStore::Resource",
        _ => return None,
    })
}

/// The resources a request's decisions were about (`resources` of its record): each ARN
/// once, with its CloudTrail type; `*` and ARNs of unknown types are left out.
pub fn resources_of(notes: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in notes {
        let Some(arn) = n["resource"].as_str() else {
            continue;
        };
        if let Some(ty) = resource_type(arn)
            && !out.iter().any(|(a, _)| a == arn)
        {
            out.push((arn.to_owned(), ty.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member the model marks sensitive, in every operation of every service kagi
    /// serves, is hidden in the record, whatever its name.
    #[test]
    fn every_sensitive_member_of_the_served_services_is_hidden() {
        use kagi_api::model::ShapeKind;
        let mut checked = 0;
        for (service, source) in [
            ("iam", "iam.amazonaws.com"),
            ("sts", "sts.amazonaws.com"),
            ("ecr", "ecr.amazonaws.com"),
            ("organizations", "organizations.amazonaws.com"),
            ("identitystore", "identitystore.amazonaws.com"),
            ("sso-admin", "sso.amazonaws.com"),
            ("cloudtrail", "cloudtrail.amazonaws.com"),
            ("accessanalyzer", "access-analyzer.amazonaws.com"),
        ] {
            let svc = kagi_api::service(service).unwrap();
            for op in svc.operations() {
                for (output, id) in [(false, op.input), (true, op.output)] {
                    let Some(id) = id else { continue };
                    let ShapeKind::Structure { members } = &svc.shape(id).kind else {
                        continue;
                    };
                    for m in members {
                        if !svc.shape(m.shape).sensitive {
                            continue;
                        }
                        let secret = format!("s3cr3t-{}-{}", op.name, m.name);
                        let mut v = json!({ m.name: secret });
                        hide_sensitive(source, op.name, output, &mut v);
                        let kept = parameters(&v).unwrap();
                        assert!(
                            !kept.to_string().contains(&secret),
                            "{service}:{} {} kept {}: {kept}",
                            op.name,
                            if output { "output" } else { "input" },
                            m.name
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 40, "{checked} sensitive members checked");
    }

    #[test]
    fn secrets_the_model_does_not_mark_are_hidden_by_name() {
        let v = json!({"Credentials": {"AccessKeyId": "ASIAX", "SecretAccessKey": "s",
            "SessionToken": "t", "Expiration": "2026-12-07T00:00:00Z"}});
        let p = parameters(&v).unwrap();
        assert_eq!(p["credentials"]["accessKeyId"], "ASIAX");
        assert_eq!(p["credentials"]["secretAccessKey"], HIDDEN);
        assert_eq!(p["credentials"]["sessionToken"], HIDDEN);
        let v = json!({"authorizationData": [{"authorizationToken": "QVdTOnBhc3M="}]});
        assert_eq!(
            parameters(&v).unwrap()["authorizationData"][0]["authorizationToken"],
            HIDDEN
        );
    }
}
