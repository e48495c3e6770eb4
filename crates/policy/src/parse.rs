//! From text to [`Policy`]: the JSON reader, then the IAM grammar
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>) and the
//! structural rules IAM enforces when a policy is saved. Every error carries IAM's own message
//! (`MalformedPolicyDocument`) plus a precise sentence and position.

use crate::ast::*;
use crate::condition::Operator;
use crate::error::{PathElement, PolicyError, aws_message as msg};
use crate::json::{self, Member, Node, Position, Span, Value};

/// Parses and checks a policy document of the given type.
///
/// For the AWS Organizations types ([`PolicyType::ServiceControl`],
/// [`PolicyType::ResourceControl`]) the error is Organizations': over 5,120 characters
/// (whitespace included) `ConstraintViolationException` ([`ErrorCode::OrganizationsConstraintViolation`]),
/// any other problem `MalformedPolicyDocumentException`
/// ([`ErrorCode::OrganizationsMalformedPolicyDocument`]); the `detail` still says precisely what
/// is wrong and where.
///
/// [`ErrorCode::OrganizationsConstraintViolation`]: crate::error::ErrorCode::OrganizationsConstraintViolation
/// [`ErrorCode::OrganizationsMalformedPolicyDocument`]: crate::error::ErrorCode::OrganizationsMalformedPolicyDocument
pub fn parse(text: &str, policy_type: PolicyType) -> Result<Policy, PolicyError> {
    if policy_type.is_organizations() {
        crate::organizations::check_size(text)?;
        return parse_iam(text, policy_type).map_err(crate::organizations::as_organizations_error);
    }
    parse_iam(text, policy_type)
}

fn parse_iam(text: &str, policy_type: PolicyType) -> Result<Policy, PolicyError> {
    let root = json::parse(text).map_err(|e| {
        PolicyError::malformed(msg::SYNTAX, e.message.clone(), Some(e.position))
            .issue("JSON_SYNTAX_ERROR")
    })?;
    let policy = build(&root, policy_type)?;
    if let Some(e) = check_all(&policy).into_iter().next() {
        return Err(e);
    }
    Ok(policy)
}

/// Parses the grammar only (no structural rules): for validation, which reports every
/// structural problem as a finding.
pub(crate) fn parse_lenient(text: &str, policy_type: PolicyType) -> Result<Policy, PolicyError> {
    let root = json::parse(text).map_err(|e| {
        PolicyError::malformed(msg::SYNTAX, e.message.clone(), Some(e.position))
            .issue("JSON_SYNTAX_ERROR")
    })?;
    build(&root, policy_type)
}

fn syntax(issue: &'static str, detail: impl Into<String>, at: Position) -> PolicyError {
    PolicyError::malformed(msg::SYNTAX, detail, Some(at)).issue(issue)
}

fn build(root: &Node, policy_type: PolicyType) -> Result<Policy, PolicyError> {
    let Value::Object(members) = &root.value else {
        return Err(syntax(
            "DATA_TYPE_MISMATCH",
            format!(
                "a policy document must be a JSON object, not {}",
                root.value.kind()
            ),
            root.span.start,
        ));
    };
    let mut version = Version::Absent;
    let mut version_span = None;
    let mut id = None;
    let mut statement: Option<&Member> = None;
    for m in members {
        match m.key.as_str() {
            "Version" => {
                let s = expect_string(&m.value, "Version")?;
                version = match s.as_str() {
                    "2012-10-17" => Version::V2012_10_17,
                    "2008-10-17" => Version::V2008_10_17,
                    _ => {
                        return Err(PolicyError::malformed(
                            msg::LEGACY_PARSING,
                            format!(
                                "\"{s}\" is not a policy language version: use \"2012-10-17\" \
                                 (or the older \"2008-10-17\")"
                            ),
                            Some(m.value.span.start),
                        )
                        .issue("INVALID_VERSION")
                        .at(vec![PathElement::Key("Version".into())], m.value.span));
                    }
                };
                version_span = Some(Span {
                    start: m.key_span.start,
                    end: m.value.span.end,
                });
            }
            "Id" => {
                id = Some(Spanned {
                    value: expect_string(&m.value, "Id")?,
                    span: m.value.span,
                })
            }
            "Statement" => statement = Some(m),
            other => return Err(unknown_element(other, m, &["Version", "Id", "Statement"])),
        }
    }
    let Some(stmt_member) = statement else {
        return Err(syntax(
            "MISSING_STATEMENT",
            "the policy has no \"Statement\" element",
            root.span.start,
        ));
    };
    let (nodes, statement_is_array): (Vec<&Node>, bool) = match &stmt_member.value.value {
        Value::Object(_) => (vec![&stmt_member.value], false),
        Value::Array(items) => (items.iter().collect(), true),
        other => {
            return Err(syntax(
                "DATA_TYPE_MISMATCH",
                format!(
                    "\"Statement\" must be an object or an array of objects, not {}",
                    other.kind()
                ),
                stmt_member.value.span.start,
            ));
        }
    };
    let statements = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| build_statement(i, n))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy {
        policy_type,
        version,
        version_span,
        id,
        statements,
        statement_is_array,
        span: root.span,
    })
}

fn unknown_element(key: &str, m: &Member, known: &[&str]) -> PolicyError {
    let hint = known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map(|k| format!(" (element names are case-sensitive: did you mean \"{k}\"?)"))
        .unwrap_or_else(|| format!(" (allowed here: {})", known.join(", ")));
    syntax(
        "INVALID_POLICY_ELEMENT",
        format!("\"{key}\" is not a policy element{hint}"),
        m.key_span.start,
    )
}

fn expect_string(n: &Node, what: &str) -> Result<String, PolicyError> {
    match &n.value {
        Value::String(s) => Ok(s.clone()),
        other => Err(syntax(
            "DATA_TYPE_MISMATCH",
            format!("\"{what}\" must be a string, not {}", other.kind()),
            n.span.start,
        )),
    }
}

/// A string or a list of strings.
fn string_list(n: &Node, what: &str) -> Result<(Vec<Spanned<String>>, bool), PolicyError> {
    match &n.value {
        Value::String(s) => Ok((
            vec![Spanned {
                value: s.clone(),
                span: n.span,
            }],
            false,
        )),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match &it.value {
                    Value::String(s) => out.push(Spanned {
                        value: s.clone(),
                        span: it.span,
                    }),
                    other => {
                        return Err(syntax(
                            "DATA_TYPE_MISMATCH",
                            format!(
                                "each value of \"{what}\" must be a string, not {}",
                                other.kind()
                            ),
                            it.span.start,
                        ));
                    }
                }
            }
            Ok((out, true))
        }
        other => Err(syntax(
            "DATA_TYPE_MISMATCH",
            format!(
                "\"{what}\" must be a string or a list of strings, not {}",
                other.kind()
            ),
            n.span.start,
        )),
    }
}

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn build_statement(index: usize, n: &Node) -> Result<Statement, PolicyError> {
    let Value::Object(members) = &n.value else {
        return Err(syntax(
            "DATA_TYPE_MISMATCH",
            format!(
                "each statement must be a JSON object, not {}",
                n.value.kind()
            ),
            n.span.start,
        ));
    };
    let mut sid = None;
    let mut effect = None;
    let mut principal: Option<PrincipalElement> = None;
    let mut action: Option<ListElement> = None;
    let mut resource: Option<ListElement> = None;
    let mut condition = None;
    for m in members {
        match m.key.as_str() {
            "Sid" => {
                sid = Some(Spanned {
                    value: expect_string(&m.value, "Sid")?,
                    span: m.value.span,
                })
            }
            "Effect" => {
                let s = expect_string(&m.value, "Effect")?;
                let e = match s.as_str() {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    _ => {
                        return Err(syntax(
                            "INVALID_EFFECT",
                            format!(
                                "\"Effect\" must be \"Allow\" or \"Deny\" (case-sensitive), not \"{s}\""
                            ),
                            m.value.span.start,
                        ));
                    }
                };
                effect = Some(Spanned {
                    value: e,
                    span: m.value.span,
                });
            }
            "Principal" | "NotPrincipal" => {
                if principal.is_some() {
                    return Err(syntax(
                        "INVALID_POLICY_ELEMENT",
                        "a statement cannot have both \"Principal\" and \"NotPrincipal\"",
                        m.key_span.start,
                    ));
                }
                principal = Some(build_principal(m)?);
            }
            "Action" | "NotAction" => {
                if action.is_some() {
                    return Err(syntax(
                        "INVALID_POLICY_ELEMENT",
                        "a statement cannot have both \"Action\" and \"NotAction\": use one of them",
                        m.key_span.start,
                    ));
                }
                let (values, is_list) = string_list(&m.value, &m.key)?;
                action = Some(ListElement {
                    negated: m.key == "NotAction",
                    key_span: m.key_span,
                    values,
                    is_list,
                });
            }
            "Resource" | "NotResource" => {
                if resource.is_some() {
                    return Err(syntax(
                        "INVALID_POLICY_ELEMENT",
                        "a statement cannot have both \"Resource\" and \"NotResource\": use one of them",
                        m.key_span.start,
                    ));
                }
                let (values, is_list) = string_list(&m.value, &m.key)?;
                resource = Some(ListElement {
                    negated: m.key == "NotResource",
                    key_span: m.key_span,
                    values,
                    is_list,
                });
            }
            "Condition" => condition = Some(build_condition(m)?),
            other => return Err(unknown_element(other, m, STATEMENT_KEYS)),
        }
    }
    let Some(effect) = effect else {
        return Err(syntax(
            "MISSING_EFFECT",
            format!(
                "statement {} has no \"Effect\": add \"Effect\": \"Allow\" or \"Deny\"",
                index + 1
            ),
            n.span.start,
        ));
    };
    Ok(Statement {
        index,
        span: n.span,
        sid,
        effect,
        principal,
        action,
        resource,
        condition,
    })
}

fn build_principal(m: &Member) -> Result<PrincipalElement, PolicyError> {
    let negated = m.key == "NotPrincipal";
    let principal = match &m.value.value {
        Value::String(s) if s == "*" => Principal::Wildcard,
        Value::String(s) => {
            return Err(syntax(
                "INVALID_PRINCIPAL_FORMAT",
                format!(
                    "\"{}\" must be \"*\" or an object such as {{\"AWS\": \"{s}\"}}",
                    m.key
                ),
                m.value.span.start,
            ));
        }
        Value::Object(entries) => {
            let mut out = Vec::new();
            for e in entries {
                let kind = match e.key.as_str() {
                    "AWS" => PrincipalKind::Aws,
                    "Service" => PrincipalKind::Service,
                    "Federated" => PrincipalKind::Federated,
                    "CanonicalUser" => PrincipalKind::CanonicalUser,
                    other => {
                        return Err(unknown_element(
                            other,
                            e,
                            &["AWS", "Service", "Federated", "CanonicalUser"],
                        ));
                    }
                };
                let (values, _) = string_list(&e.value, &e.key)?;
                out.push(PrincipalEntry {
                    kind,
                    key_span: e.key_span,
                    values,
                });
            }
            Principal::Map(out)
        }
        other => {
            return Err(syntax(
                "DATA_TYPE_MISMATCH",
                format!(
                    "\"{}\" must be \"*\" or an object, not {}",
                    m.key,
                    other.kind()
                ),
                m.value.span.start,
            ));
        }
    };
    Ok(PrincipalElement {
        negated,
        key_span: m.key_span,
        principal,
    })
}

fn build_condition(m: &Member) -> Result<ConditionElement, PolicyError> {
    let Value::Object(ops) = &m.value.value else {
        return Err(syntax(
            "DATA_TYPE_MISMATCH",
            format!(
                "\"Condition\" must be an object, not {}",
                m.value.value.kind()
            ),
            m.value.span.start,
        ));
    };
    let mut blocks = Vec::new();
    for op in ops {
        let operator = Operator::parse(&op.key).map_err(|e| {
            syntax(
                if e.contains("IfExists") {
                    "NULL_WITH_IF_EXISTS"
                } else {
                    "INVALID_CONDITION_OPERATOR"
                },
                e,
                op.key_span.start,
            )
        })?;
        let Value::Object(keys) = &op.value.value else {
            return Err(syntax(
                "DATA_TYPE_MISMATCH",
                format!(
                    "the value of condition operator \"{}\" must be an object of condition keys, not {}",
                    op.key,
                    op.value.value.kind()
                ),
                op.value.span.start,
            ));
        };
        let mut entries = Vec::new();
        for k in keys {
            let scalar = |n: &Node| -> Result<Spanned<String>, PolicyError> {
                let value = match &n.value {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(x) => x.clone(),
                    other => {
                        return Err(syntax(
                            "DATA_TYPE_MISMATCH",
                            format!(
                                "condition values must be strings, numbers or booleans, not {}",
                                other.kind()
                            ),
                            n.span.start,
                        ));
                    }
                };
                Ok(Spanned {
                    value,
                    span: n.span,
                })
            };
            let (values, is_list) = match &k.value.value {
                Value::Array(items) => (
                    items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                    true,
                ),
                _ => (vec![scalar(&k.value)?], false),
            };
            entries.push(ConditionEntry {
                key: Spanned {
                    value: k.key.clone(),
                    span: k.key_span,
                },
                values,
                is_list,
            });
        }
        blocks.push(ConditionBlock {
            operator,
            operator_text: Spanned {
                value: op.key.clone(),
                span: op.key_span,
            },
            entries,
        });
    }
    Ok(ConditionElement {
        key_span: m.key_span,
        blocks,
    })
}

/// Whether an action name has a vendor prefix (`iam:GetUser`), or is `*`.
pub(crate) fn action_has_vendor(a: &str) -> bool {
    a == "*"
        || a.split_once(':')
            .is_some_and(|(v, n)| !v.is_empty() && !n.is_empty())
}

/// Whether a resource value is `*` or ARN-shaped (`arn:` and six `:`-separated parts).
pub(crate) fn resource_is_arn(r: &str) -> bool {
    r == "*" || (r.starts_with("arn:") && r.splitn(6, ':').count() == 6)
}

/// Whether an `AWS` principal value is acceptable: `*`, an account id, or an IAM/STS ARN.
pub(crate) fn aws_principal_ok(v: &str) -> bool {
    if v == "*" || (v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())) {
        return true;
    }
    // Unique ids (AIDA..., AROA...) are what IAM stores after resolution.
    if v.len() >= 16
        && v.starts_with('A')
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return true;
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && (parts[2] == "iam" || parts[2] == "sts")
        && parts[3].is_empty()
        && !parts[5].is_empty()
        && !v.contains('*')
}

/// The path of a statement: `Statement` or `Statement[i]`.
pub(crate) fn statement_path(p: &Policy, s: &Statement) -> Vec<PathElement> {
    let mut v = vec![PathElement::Key("Statement".into())];
    if p.statement_is_array {
        v.push(PathElement::Index(s.index));
    }
    v
}

pub(crate) fn with(mut path: Vec<PathElement>, more: &[PathElement]) -> Vec<PathElement> {
    path.extend_from_slice(more);
    path
}

pub(crate) fn key(k: &str) -> PathElement {
    PathElement::Key(k.to_string())
}

pub(crate) fn list_path(
    base: &[PathElement],
    el: &ListElement,
    name: &str,
    negname: &str,
    i: usize,
) -> Vec<PathElement> {
    let mut v = base.to_vec();
    v.push(key(if el.negated { negname } else { name }));
    if el.is_list {
        v.push(PathElement::Index(i));
    }
    v
}

/// The structural rules IAM applies when a policy is saved: every violation, in document order.
pub(crate) fn check_all(p: &Policy) -> Vec<PolicyError> {
    let mut errs = Vec::new();
    if p.policy_type.is_organizations() {
        crate::organizations::check_document(p, &mut errs);
    }
    let mut sids: Vec<&Spanned<String>> = Vec::new();
    for s in &p.statements {
        let sp = || statement_path(p, s);
        if let Some(sid) = &s.sid {
            if p.policy_type != PolicyType::Resource
                && !sid.value.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                errs.push(
                    PolicyError::malformed(
                        msg::SID_ALNUM,
                        format!(
                            "the Sid \"{}\" has characters other than letters and digits",
                            sid.value
                        ),
                        None,
                    )
                    .issue("INVALID_SID")
                    .at(with(sp(), &[key("Sid")]), sid.span),
                );
            }
            if let Some(first) = sids.iter().find(|o| o.value == sid.value) {
                errs.push(
                    PolicyError::malformed(
                        msg::DUPLICATE_SID,
                        format!(
                            "the Sid \"{}\" is already used by the statement at line {}, column {}",
                            sid.value, first.span.start.line, first.span.start.column
                        ),
                        None,
                    )
                    .issue("UNIQUE_SIDS_REQUIRED")
                    .at(with(sp(), &[key("Sid")]), sid.span),
                );
            }
            sids.push(sid);
        }
        if p.policy_type.is_organizations() {
            crate::organizations::check_statement(p, s, &mut errs);
        }
        match (&s.principal, p.policy_type) {
            (Some(pr), PolicyType::Identity) => errs.push(
                PolicyError::malformed(
                    msg::NO_PRINCIPAL_ALLOWED,
                    "an identity-based policy (attached to a user, group or role) cannot name a \
                     Principal: the principal is whoever the policy is attached to",
                    None,
                )
                .issue("UNSUPPORTED_PRINCIPAL")
                .at(
                    with(sp(), &[key(if pr.negated { "NotPrincipal" } else { "Principal" })]),
                    pr.key_span,
                ),
            ),
            (None, PolicyType::Trust | PolicyType::Resource) => errs.push(
                PolicyError::malformed(
                    msg::MISSING_PRINCIPAL,
                    format!(
                        "statement {} of this {} policy must say who it applies to with \"Principal\"",
                        s.index + 1,
                        if p.policy_type == PolicyType::Trust { "trust" } else { "resource-based" }
                    ),
                    None,
                )
                .issue("MISSING_PRINCIPAL")
                .at(sp(), s.span),
            ),
            _ => {}
        }
        if let Some(pr) = &s.principal
            && let Principal::Map(entries) = &pr.principal
        {
            for e in entries.iter().filter(|e| e.kind == PrincipalKind::Aws) {
                for (i, v) in e.values.iter().enumerate() {
                    if !aws_principal_ok(&v.value) {
                        errs.push(
                            PolicyError::malformed(
                                &format!("Invalid principal in policy: \"AWS\":\"{}\"", v.value),
                                format!(
                                    "\"{}\" is not an AWS principal: use an account id, \
                                         arn:aws:iam::ACCOUNT:root, a user or role ARN, or \"*\"",
                                    v.value
                                ),
                                None,
                            )
                            .issue("INVALID_PRINCIPAL_FORMAT")
                            .at(
                                with(
                                    sp(),
                                    &[
                                        key(if pr.negated {
                                            "NotPrincipal"
                                        } else {
                                            "Principal"
                                        }),
                                        key("AWS"),
                                        PathElement::Index(i),
                                    ],
                                ),
                                v.span,
                            ),
                        );
                    }
                }
            }
        }
        match &s.action {
            None => errs.push(
                PolicyError::malformed(
                    msg::MISSING_ACTIONS,
                    format!(
                        "statement {} has no \"Action\" (or \"NotAction\")",
                        s.index + 1
                    ),
                    None,
                )
                .issue("MISSING_ACTION")
                .at(sp(), s.span),
            ),
            Some(a) if a.values.is_empty() => errs.push(
                PolicyError::malformed(
                    msg::MISSING_ACTIONS,
                    format!(
                        "the \"{}\" list of statement {} is empty",
                        if a.negated { "NotAction" } else { "Action" },
                        s.index + 1
                    ),
                    None,
                )
                .issue("MISSING_ACTION")
                .at(
                    with(sp(), &[key(if a.negated { "NotAction" } else { "Action" })]),
                    a.key_span,
                ),
            ),
            Some(a) => {
                for (i, v) in a.values.iter().enumerate() {
                    if !action_has_vendor(&v.value) {
                        errs.push(
                            PolicyError::malformed(
                                msg::VENDOR,
                                format!(
                                    "the action \"{}\" has no service prefix: write it as \
                                     \"service:Action\", e.g. \"ecr:PutImage\"",
                                    v.value
                                ),
                                None,
                            )
                            .issue("INVALID_ACTION")
                            .at(list_path(&sp(), a, "Action", "NotAction", i), v.span),
                        );
                    }
                }
            }
        }
        match (&s.resource, p.policy_type) {
            (Some(r), PolicyType::Trust) => errs.push(
                PolicyError::malformed(
                    msg::PROHIBITED_RESOURCE,
                    format!(
                        "a trust policy cannot have \"{}\": the resource is the role itself",
                        if r.negated { "NotResource" } else { "Resource" }
                    ),
                    None,
                )
                .issue("UNSUPPORTED_RESOURCE_ARN_IN_POLICY")
                .at(
                    with(
                        sp(),
                        &[key(if r.negated { "NotResource" } else { "Resource" })],
                    ),
                    r.key_span,
                ),
            ),
            (
                None,
                PolicyType::Identity | PolicyType::ServiceControl | PolicyType::ResourceControl,
            ) => errs.push(
                PolicyError::malformed(
                    msg::MISSING_RESOURCES,
                    format!(
                        "statement {} has no \"Resource\" (or \"NotResource\")",
                        s.index + 1
                    ),
                    None,
                )
                .issue("MISSING_RESOURCE")
                .at(sp(), s.span),
            ),
            (
                Some(r),
                PolicyType::Identity | PolicyType::ServiceControl | PolicyType::ResourceControl,
            ) if r.values.is_empty() => errs.push(
                PolicyError::malformed(
                    msg::MISSING_RESOURCES,
                    format!("the resource list of statement {} is empty", s.index + 1),
                    None,
                )
                .issue("MISSING_RESOURCE")
                .at(
                    with(
                        sp(),
                        &[key(if r.negated { "NotResource" } else { "Resource" })],
                    ),
                    r.key_span,
                ),
            ),
            _ => {}
        }
        if let (Some(r), false) = (&s.resource, p.policy_type == PolicyType::Trust) {
            for (i, v) in r.values.iter().enumerate() {
                if !resource_is_arn(&v.value) {
                    errs.push(
                        PolicyError::malformed(
                            &format!("Resource {} must be in ARN format or \"*\".", v.value),
                            format!(
                                "\"{}\" is not an ARN: resources look like \
                                 arn:aws:ecr:REGION:ACCOUNT:repository/NAME, or \"*\"",
                                v.value
                            ),
                            None,
                        )
                        .issue(if v.value.starts_with("arn:") {
                            "MISSING_ARN_FIELD"
                        } else {
                            "INVALID_ARN_PREFIX"
                        })
                        .at(list_path(&sp(), r, "Resource", "NotResource", i), v.span),
                    );
                }
            }
        }
        if let Some(c) = &s.condition {
            for b in &c.blocks {
                for e in &b.entries {
                    if !e.key.value.contains(':') {
                        errs.push(
                            PolicyError::malformed(
                                msg::VENDOR,
                                format!(
                                    "the condition key \"{}\" has no prefix: write it as \
                                     \"aws:{}\" or \"service:{}\"",
                                    e.key.value, e.key.value, e.key.value
                                ),
                                None,
                            )
                            .issue("INVALID_CONDITION_KEY_FORMAT")
                            .at(
                                with(
                                    sp(),
                                    &[
                                        key("Condition"),
                                        key(&b.operator_text.value),
                                        key(&e.key.value),
                                    ],
                                ),
                                e.key.span,
                            ),
                        );
                    }
                }
            }
        }
    }
    errs
}

/// Which size quota a document is saved under
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SizeQuota {
    /// Customer managed policy: 6,144 characters.
    ManagedPolicy,
    /// Role trust policy: 2,048 characters.
    TrustPolicy,
    /// Inline policies of a user (aggregate): 2,048 characters.
    InlineUser,
    /// Inline policies of a role (aggregate): 10,240 characters.
    InlineRole,
    /// Inline policies of a group (aggregate): 5,120 characters.
    InlineGroup,
}

impl SizeQuota {
    pub fn limit(self) -> usize {
        match self {
            SizeQuota::ManagedPolicy => 6144,
            SizeQuota::TrustPolicy => 2048,
            SizeQuota::InlineUser => 2048,
            SizeQuota::InlineRole => 10240,
            SizeQuota::InlineGroup => 5120,
        }
    }
}

/// The size IAM counts: characters, excluding whitespace.
pub fn policy_size(text: &str) -> usize {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

/// Checks a document (or, for inline quotas, the concatenation of an entity's inline policies)
/// against a size quota. The error is `LimitExceeded` with IAM's wording.
pub fn check_size(text: &str, quota: SizeQuota, entity_name: &str) -> Result<(), PolicyError> {
    let size = policy_size(text);
    let limit = quota.limit();
    if size <= limit {
        return Ok(());
    }
    let message = match quota {
        SizeQuota::ManagedPolicy => format!("Cannot exceed quota for PolicySize: {limit}"),
        SizeQuota::TrustPolicy => format!("Cannot exceed quota for ACLSizePerRole: {limit}"),
        SizeQuota::InlineUser => {
            format!("Maximum policy size of {limit} bytes exceeded for user {entity_name}")
        }
        SizeQuota::InlineRole => {
            format!("Maximum policy size of {limit} bytes exceeded for role {entity_name}")
        }
        SizeQuota::InlineGroup => {
            format!("Maximum policy size of {limit} bytes exceeded for group {entity_name}")
        }
    };
    Err(PolicyError {
        code: crate::error::ErrorCode::LimitExceeded,
        message,
        detail: format!(
            "the policy has {size} characters (whitespace not counted); the limit is {limit}"
        ),
        position: None,
        issue_code: "",
        location: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, t: PolicyType) -> PolicyError {
        parse(text, t).unwrap_err()
    }

    const OK: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A1","Effect":"Allow","Action":["ecr:PutImage"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/x"}]}"#;

    #[test]
    fn parses_identity_policy() {
        let p = parse(OK, PolicyType::Identity).unwrap();
        assert_eq!(p.version, Version::V2012_10_17);
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.statements[0].sid.as_ref().unwrap().value, "A1");
        assert!(p.statement_is_array);
    }

    #[test]
    fn structural_errors() {
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::NO_PRINCIPAL_ALLOWED);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::MISSING_RESOURCES);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::MISSING_ACTIONS);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
            PolicyType::Trust,
        );
        assert_eq!(e.message, msg::PROHIBITED_RESOURCE);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
            PolicyType::Trust,
        );
        assert_eq!(e.message, msg::MISSING_PRINCIPAL);
        let e = err(
            r#"{"Statement":{"Action":"s3:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::SYNTAX);
        assert!(e.detail.contains("no \"Effect\""));
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert!(e.detail.contains("both \"Action\" and \"NotAction\""));
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::VENDOR);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, "Resource bucket must be in ARN format or \"*\".");
        let e = err(
            r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::DUPLICATE_SID);
        let e = err(
            r#"{"Statement":{"Sid":"a b","Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::SID_ALNUM);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}}"#,
            PolicyType::Identity,
        );
        assert!(e.detail.contains("StringEqualz"));
        let e = err(
            r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert_eq!(e.message, msg::LEGACY_PARSING);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}}"#,
            PolicyType::Trust,
        );
        assert!(e.message.starts_with("Invalid principal in policy"));
        let e = err(
            r#"{"Statement":{"effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            PolicyType::Identity,
        );
        assert!(e.detail.contains("did you mean \"Effect\""));
    }

    #[test]
    fn sizes() {
        assert_eq!(policy_size("{ \"a\" :\n 1 }"), 7);
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(2100));
        let e = check_size(&big, SizeQuota::TrustPolicy, "R").unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::LimitExceeded);
        assert!(check_size(&big, SizeQuota::ManagedPolicy, "P").is_ok());
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn context_keys_and_types() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/team2}"},"Bool":{"aws:SecureTransport":"true"}}}}"#,
            PolicyType::Identity,
        )
        .unwrap();
        assert_eq!(
            p.context_keys(),
            [
                "aws:PrincipalTag/team",
                "aws:principaltag/team2",
                "aws:SecureTransport",
                "aws:username"
            ]
        );
        assert_eq!(
            PolicyType::from_access_analyzer(
                "RESOURCE_POLICY",
                Some("AWS::IAM::AssumeRolePolicyDocument")
            ),
            Some(PolicyType::Trust)
        );
        assert_eq!(
            PolicyType::from_access_analyzer("SERVICE_CONTROL_POLICY", None),
            Some(PolicyType::ServiceControl)
        );
        assert_eq!(
            PolicyType::from_access_analyzer("RESOURCE_CONTROL_POLICY", None),
            Some(PolicyType::ResourceControl)
        );
        assert_eq!(PolicyType::from_access_analyzer("TAG_POLICY", None), None);
        assert_eq!(policy_size("{\u{a0}}"), 3);
    }
}
