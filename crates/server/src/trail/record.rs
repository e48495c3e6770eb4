//! CloudTrail's record of an event, as AWS shapes it: `userIdentity` per identity type,
//! `requestParameters`/`responseElements` with CloudTrail's member names (the API's, first
//! letter lower case) and secrets replaced as AWS replaces them, `additionalEventData` with
//! kagi's explanation of the decision.

use super::event::{Event, Identity, Who};
use crate::caller::{Caller, Principal};
use serde_json::{Map, Value, json};
use std::sync::{Arc, LazyLock};

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
/// (The parsed form of [`part_text`], for tests and readers.)
pub fn parameters(v: &Value) -> Option<Value> {
    part_text(v).and_then(|t| serde_json::from_str(&t).ok())
}

/// [`parameters`] as JSON text, written in one pass over `v` (no converted copy of it: this
/// runs for every recorded call).
pub fn part_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => return None,
        Value::Object(m) if m.is_empty() => return None,
        _ => {}
    }
    let mut out = String::with_capacity(256);
    write_part(v, &mut out);
    if out.len() > PART_LIMIT {
        return Some(cut(&convert(v)).to_string());
    }
    Some(out)
}

/// [`hide_sensitive`] and [`part_text`] in one pass, without a copy of `v`: what the request
/// thread does with an operation's input before the handler takes it, and with its answer
/// once encoded.
pub fn part_text_hidden(source: &str, operation: &str, output: bool, v: &Value) -> Option<String> {
    match v {
        Value::Null => return None,
        Value::Object(m) if m.is_empty() => return None,
        _ => {}
    }
    let shaped = service_of(source).and_then(|svc| {
        let op = svc.operation(operation)?;
        Some((svc, if output { op.output } else { op.input }?))
    });
    let Some((svc, id)) = shaped else {
        return part_text(v);
    };
    let mut out = String::with_capacity(256);
    write_shaped(Some((svc, id)), v, &mut out, 0);
    if out.len() > PART_LIMIT {
        let mut hidden = v.clone();
        hide_sensitive(source, operation, output, &mut hidden);
        return part_text(&hidden);
    }
    Some(out)
}

/// Writes `v` as CloudTrail records it. With a model shape, members the model marks
/// sensitive are hidden too (and the shape follows the value down); without, only the secret
/// names are.
fn write_shaped(shape: Option<Shape>, v: &Value, out: &mut String, depth: usize) {
    use kagi_api::model::ShapeKind;
    let shape = shape.filter(|_| depth <= 32);
    let (kind, within) = match shape.map(|(svc, id)| (svc, svc.shape(id))) {
        Some((_, s)) if s.sensitive && !v.is_null() => return write_json_str(HIDDEN, out),
        Some((svc, s)) => (Some(&s.kind), Some(svc)),
        None => (None, None),
    };
    let child = |id: Option<kagi_api::model::ShapeId>| within.zip(id);
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_member_name(k, out);
                out.push(':');
                if is_secret_member(k) {
                    write_json_str(HIDDEN, out);
                    continue;
                }
                let member = match kind {
                    Some(ShapeKind::Structure { members }) => {
                        members.iter().find(|mm| mm.name == k).map(|mm| mm.shape)
                    }
                    Some(ShapeKind::Map { value, .. }) => Some(*value),
                    _ => None,
                };
                write_shaped(child(member), val, out, depth + 1);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            let item_shape = child(match kind {
                Some(ShapeKind::List { member }) => Some(*member),
                _ => None,
            });
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_shaped(item_shape, item, out, depth + 1);
            }
            out.push(']');
        }
        Value::String(s) => write_json_str(s, out),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::Number(n) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
        }
    }
}

fn is_secret_member(name: &str) -> bool {
    SECRET_MEMBERS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// A model shape: the service and the shape's id in it.
type Shape = (&'static kagi_api::Service, kagi_api::model::ShapeId);

/// [`write_shaped`] without a shape: secret names hidden, everything else as is.
fn write_part(v: &Value, out: &mut String) {
    write_shaped(None, v, out, 0);
}

/// A member name with its first letter in lower case, as a JSON string.
fn write_member_name(k: &str, out: &mut String) {
    match k.chars().next() {
        Some(f) if f.is_ascii_uppercase() => {
            let mut name = String::with_capacity(k.len());
            name.push(f.to_ascii_lowercase());
            name.push_str(&k[1..]);
            write_json_str(&name, out);
        }
        Some(f) if !f.is_ascii() => write_json_str(&lower_first(k), out),
        _ => write_json_str(k, out),
    }
}

/// `s` as a JSON string literal.
fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn convert(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let name = lower_first(k);
                if is_secret_member(k) {
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

/// `identity` as the history keeps it.
pub fn who(identity: &Identity) -> Arc<Who> {
    if let Identity::Caller(c) = identity {
        return who_of_caller(c);
    }
    Arc::new(render_who(identity))
}

fn render_who(identity: &Identity) -> Who {
    Who {
        json: user_identity(identity).to_string(),
        username: username(identity),
        access_key_id: access_key_id(identity).map(str::to_owned),
        principal_arn: principal_arn(identity),
    }
}

/// The principal ARN of an identity: the user's, the role's (its sessions), the root's.
pub fn principal_arn(identity: &Identity) -> Option<String> {
    let Identity::Caller(c) = identity else {
        return None;
    };
    match &c.principal {
        Principal::Root | Principal::User { .. } => Some(c.arn()),
        Principal::Role { name, path, .. } => {
            Some(crate::ids::iam_arn(&c.account_id, "role", path, name))
        }
        Principal::Federated { .. } => None,
    }
}

/// The rendered callers by access key (bounded: past 10,000 keys it starts over).
type WhoCache = parking_lot::RwLock<rustc_hash::FxHashMap<String, (Caller, Arc<Who>)>>;
static WHO: LazyLock<WhoCache> = LazyLock::new(Default::default);

/// Whether two callers render the same `userIdentity`.
fn same_identity(a: &Caller, b: &Caller) -> bool {
    a.principal == b.principal
        && a.account_id == b.account_id
        && a.access_key_id == b.access_key_id
        && match (&a.session, &b.session) {
            (None, None) => true,
            (Some(x), Some(y)) => x.issued == y.issued && x.mfa == y.mfa,
            _ => false,
        }
}

/// `c` as the history keeps it, rendered once per access key while it stays the same caller
/// (a renamed user renders anew).
pub fn who_of_caller(c: &Caller) -> Arc<Who> {
    if c.access_key_id.is_empty() {
        return Arc::new(render_who(&Identity::Caller(c.clone())));
    }
    if let Some((cached, w)) = WHO.read().get(c.access_key_id.as_str())
        && same_identity(cached, c)
    {
        return w.clone();
    }
    let w = Arc::new(render_who(&Identity::Caller(c.clone())));
    let mut map = WHO.write();
    if map.len() >= 10_000 {
        map.clear();
    }
    map.insert(c.access_key_id.clone(), (c.clone(), w.clone()));
    w
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

/// The parts of an event, kept as their CloudTrail text (the entry points that have them as
/// values: the JSON protocol, the console, the registry; the query path writes its text itself).
impl Event {
    /// Keeps `v` as the request's parameters, written as CloudTrail's JSON with the secrets
    /// of this event's operation hidden ([`part_text_hidden`]).
    pub fn set_request(&mut self, v: &Value) {
        self.request_parameters = part_text_hidden(&self.source, &self.name, false, v);
    }

    /// Keeps `v` as the response's elements (as [`Event::set_request`]).
    pub fn set_response(&mut self, v: &Value) {
        self.response_elements = part_text_hidden(&self.source, &self.name, true, v);
    }
}

/// The record of an event not yet stored (the audit log).
pub fn render_event(e: &Event) -> Value {
    let parse = |t: &Option<String>| -> Option<Value> {
        t.as_deref().and_then(|t| serde_json::from_str(t).ok())
    };
    let (params, response) = (parse(&e.request_parameters), parse(&e.response_elements));
    let ip = e.source_ip.to_string();
    let why = (!e.explanation.is_empty()).then(|| {
        Value::Array(
            e.explanation
                .iter()
                .filter_map(|x| serde_json::from_str(&x.json).ok())
                .collect(),
        )
    });
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
            request_parameters: params.as_ref(),
            response_elements: response.as_ref(),
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
        &serde_json::from_str(&e.identity.json).unwrap_or(Value::Null),
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
pub fn resources_of(notes: &[std::sync::Arc<kagi_policy::Explained>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in notes {
        let arn = n.note.resource.as_str();
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
                        // The one-pass writer the request thread uses hides it too.
                        let text = part_text_hidden(source, op.name, output, &v).unwrap();
                        assert!(!text.contains(&secret), "{}: {text}", op.name);
                        hide_sensitive(source, op.name, output, &mut v);
                        let kept = parameters(&v).unwrap();
                        assert_eq!(kept, serde_json::from_str::<Value>(&text).unwrap());
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

    /// The one-pass writer gives what converting the value would: names with a lower case
    /// first letter, secrets hidden, every string escaped (quotes, backslashes, controls,
    /// non-ASCII), numbers and nesting kept.
    #[test]
    fn part_text_is_the_converted_value_as_json() {
        let v = json!({
            "RoleArn": "arn:aws:iam::123456789012:role/a\"b\\c",
            "Ünïcode": "naïve \u{1f511} \n\t\r\u{1}\u{1f}",
            "lower": [1, -2.5, 1e300, true, false, null, {"Password": "p", "Deep": [{"SessionToken": "t"}]}],
            "Empty": {},
            "": "",
        });
        let text = part_text(&v).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, convert(&v));
        assert_eq!(parsed["lower"][6]["password"], HIDDEN);
        assert_eq!(parsed["lower"][6]["deep"][0]["sessionToken"], HIDDEN);
        assert_eq!(parsed["roleArn"], "arn:aws:iam::123456789012:role/a\"b\\c");
        assert!(parsed.get("ünïcode").is_some());
        assert_eq!(part_text(&json!({})), None);
        assert_eq!(part_text(&Value::Null), None);
        // Beyond the limit long strings are cut.
        let big = json!({"PolicyDocument": "x".repeat(PART_LIMIT + 1)});
        let cut: Value = serde_json::from_str(&part_text(&big).unwrap()).unwrap();
        assert!(
            cut["policyDocument"]
                .as_str()
                .unwrap()
                .contains("characters omitted")
        );
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
