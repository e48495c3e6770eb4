//! AssumeRoleWithWebIdentity: an OpenID Connect ID token (a JWT) in exchange for a role session.
//!
//! The request is not signed (AWS's model marks it so: the token is the credential). The steps,
//! each with AWS's error:
//! 1. the token is a JWT (`header.payload.signature`, base64url JSON) → else `InvalidIdentityToken`;
//! 2. its `iss` names an IAM OIDC provider of this account (the URL without its scheme is the
//!    provider ARN's resource, `oidc-provider/HOST/PATH`) → else `InvalidIdentityToken`;
//! 3. its signature verifies with a key of the issuer's JWKS, found as OpenID Connect Discovery
//!    says (`ISS/.well-known/openid-configuration` → `jwks_uri`), cached for ten minutes and
//!    re-read once when the token names an unknown `kid` → else `InvalidIdentityToken`
//!    (RS256/384/512, ES256/384 — what IAM accepts for OIDC providers; `none` never);
//! 4. `exp` is in the future (`ExpiredTokenException`), `nbf`/`iat` not in the future beyond five
//!    minutes of skew, and `aud` is one of the provider's client ids → else `InvalidIdentityToken`;
//! 5. the role's trust policy allows `sts:AssumeRoleWithWebIdentity` for the principal
//!    `{"Federated": PROVIDER-ARN}` with the condition keys `HOST/PATH:aud`, `HOST/PATH:sub`,
//!    `HOST/PATH:amr`, `aws:FederatedProvider`, `sts:RoleSessionName` → else `AccessDenied`
//!    ("Not authorized to perform sts:AssumeRoleWithWebIdentity"), which also answers a role
//!    that does not exist. Only the trust policy decides: a web identity has no identity policies.
//!
//! The session is a role session like AssumeRole's (session policies, DurationSeconds up to the
//! role's MaxSessionDuration). Session tags come from the token's `https://aws.amazon.com/tags`
//! claim (`principal_tags`) and need `sts:TagSession` in the trust policy, as on AWS. kagi differs from AWS in one way, on purpose: a provider may be
//! `http://` when its host is loopback (a test IdP beside kagi); anything else must be https.
//! Thumbprints are stored but not used, as AWS no longer uses them for most providers.

use crate::error::{AwsError, AwsResult};
use crate::model::{OidcProvider, Role};
use crate::params::{opt, req};
use crate::state::AppState;
use crate::state::jwks::{Jwk, JwksCache};
use crate::store::Table;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kagi_policy::{ContextType, PrincipalInfo, PrincipalType, ResourcePolicyKind};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

const CLOCK_SKEW: i64 = 300;

pub const NOT_AUTHORIZED: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

/// AWS's own messages are used where known ("Incorrect token audience", "No OpenIDConnect
/// provider found in your account for ISS", "Couldn't retrieve verification key…", "Token
/// expired: …"); the ones for a malformed token, an unsupported `alg`, a bad signature, a bad
/// tags claim and a future `nbf`/`iat` are kagi's wording (AWS's are not documented).
fn invalid_token(msg: impl Into<String>) -> AwsError {
    AwsError::new(400, "InvalidIdentityToken", msg)
}

/// A decoded, not yet verified, JWT.
struct Jwt {
    alg: String,
    kid: Option<String>,
    claims: Value,
    signed: Vec<u8>,
    signature: Vec<u8>,
}

fn decode_jwt(token: &str) -> AwsResult<Jwt> {
    let bad = || invalid_token("The web identity token is not a valid JSON Web Token.");
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let json_part = |b64: &str| -> AwsResult<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| bad())?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(bad)
    };
    let header = json_part(h)?;
    let claims = json_part(p)?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    Ok(Jwt {
        alg: header["alg"].as_str().unwrap_or("").to_owned(),
        kid: header["kid"].as_str().map(str::to_owned),
        claims,
        signed: format!("{h}.{p}").into_bytes(),
        signature,
    })
}

fn b64_field(v: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(v.as_deref()?.trim_end_matches('='))
        .ok()
}

/// Whether `key` verifies `jwt` under its `alg`.
fn verify_with(jwt: &Jwt, key: &Jwk) -> bool {
    use ring::signature as sig;
    if key.use_.as_deref().is_some_and(|u| u != "sig") {
        return false;
    }
    match (jwt.alg.as_str(), key.kty.as_str()) {
        (alg @ ("RS256" | "RS384" | "RS512"), "RSA") => {
            let (Some(n), Some(e)) = (b64_field(&key.n), b64_field(&key.e)) else {
                return false;
            };
            let params = match alg {
                "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
                "RS384" => &sig::RSA_PKCS1_2048_8192_SHA384,
                _ => &sig::RSA_PKCS1_2048_8192_SHA512,
            };
            sig::RsaPublicKeyComponents { n: &n, e: &e }
                .verify(params, &jwt.signed, &jwt.signature)
                .is_ok()
        }
        (alg @ ("ES256" | "ES384"), "EC") => {
            let (crv, params) = if alg == "ES256" {
                ("P-256", &sig::ECDSA_P256_SHA256_FIXED)
            } else {
                ("P-384", &sig::ECDSA_P384_SHA384_FIXED)
            };
            let (Some(x), Some(y)) = (b64_field(&key.x), b64_field(&key.y)) else {
                return false;
            };
            if key.crv.as_deref() != Some(crv) {
                return false;
            }
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            sig::UnparsedPublicKey::new(params, &point)
                .verify(&jwt.signed, &jwt.signature)
                .is_ok()
        }
        _ => false,
    }
}

fn candidates<'k>(keys: &'k [Jwk], jwt: &Jwt) -> Vec<&'k Jwk> {
    keys.iter()
        .filter(|k| jwt.kid.is_none() || k.kid == jwt.kid)
        .collect()
}

fn verify_signature(cache: &JwksCache, issuer: &str, jwt: &Jwt) -> AwsResult<()> {
    if !matches!(
        jwt.alg.as_str(),
        "RS256" | "RS384" | "RS512" | "ES256" | "ES384"
    ) {
        return Err(invalid_token(format!(
            "The web identity token's signing algorithm {:?} is not supported.",
            jwt.alg
        )));
    }
    let unreachable = |why: String| {
        tracing::info!(issuer, %why, "identity provider keys unavailable");
        invalid_token(
            "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
        )
    };
    let mut keys = cache.keys(issuer, false).map_err(unreachable)?;
    if candidates(&keys, jwt).is_empty() {
        // A key the cache has not seen yet: the issuer may have rotated its keys.
        keys = cache.keys(issuer, true).map_err(unreachable)?;
    }
    let found = candidates(&keys, jwt);
    if found.is_empty() {
        return Err(unreachable(format!("no key with kid {:?}", jwt.kid)));
    }
    if found.iter().any(|k| verify_with(jwt, k)) {
        Ok(())
    } else {
        Err(invalid_token(
            "The web identity token's signature could not be verified with the identity provider's keys.",
        ))
    }
}

/// `iss` → the provider of this account it names.
fn provider_for(state: &AppState, account: &str, iss: &str) -> AwsResult<OidcProvider> {
    let not_found = || {
        invalid_token(format!(
            "No OpenIDConnect provider found in your account for {iss}"
        ))
    };
    let (rest, http) = match (iss.strip_prefix("https://"), iss.strip_prefix("http://")) {
        (Some(r), _) => (r, false),
        (None, Some(r)) => (r, true),
        _ => return Err(not_found()),
    };
    let arn = format!(
        "arn:aws:iam::{}:oidc-provider/{}",
        account,
        rest.trim_end_matches('/')
    );
    // Cached per store generation like users and roles: the token exchange is a hot path and
    // must not read the database (several nodes: a round trip) for every request.
    let p: Option<OidcProvider> = crate::entities::cached_row(
        state,
        account,
        Table::Meta,
        &format!("oidc-provider\0{arn}"),
    )?;
    p.filter(|p| p.http == http).ok_or_else(not_found)
}

fn claim_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The token's session tags as AssumeRole's `Tags` input (`[{"Key", "Value"}]`), from the claim
/// `{"https://aws.amazon.com/tags": {"principal_tags": {"K": ["V"]}, ...}}`; `None` without it.
/// `transitive_tag_keys` is accepted and not kept (kagi has no transitive session tags yet).
fn tags_claim(claims: &Value) -> AwsResult<Option<Value>> {
    let Some(claim) = claims.get(TAGS_CLAIM) else {
        return Ok(None);
    };
    let bad = || invalid_token(format!("The {TAGS_CLAIM} claim is not valid."));
    let Some(tags) = claim.get("principal_tags") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (k, v) in tags.as_object().ok_or_else(bad)? {
        let value = match v {
            Value::Array(a) if a.len() == 1 => a[0].as_str().ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        out.push(json!({"Key": k, "Value": value}));
    }
    Ok(Some(Value::Array(out)))
}

const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";

/// The request's facts beside the form: when, from where, which region.
pub struct Facts {
    pub now: i64,
    pub source_ip: IpAddr,
    pub region: String,
}

/// Whether [`assume_role_with_web_identity`] can answer `input` without asking the token's
/// issuer for its keys (then it takes microseconds and may run on an async worker; otherwise it
/// belongs on the blocking pool). A malformed token is answered at once too.
pub fn keys_at_hand(state: &AppState, input: &Value) -> bool {
    let Some(token) = opt(input, "WebIdentityToken") else {
        return true;
    };
    let Ok(jwt) = decode_jwt(token) else {
        return true;
    };
    let iss = jwt.claims["iss"].as_str().unwrap_or("");
    state.jwks.at_hand(iss, jwt.kid.as_deref())
}

pub fn assume_role_with_web_identity(
    state: &AppState,
    input: &Value,
    facts: &Facts,
) -> AwsResult<Value> {
    let role_arn = req(input, "RoleArn")?;
    let session_name = req(input, "RoleSessionName")?;
    super::tokens::check_session_name(session_name)?;
    let token = req(input, "WebIdentityToken")?;
    let now = facts.now;

    // The token: well formed, from a provider of this account, signed by it, current, for us.
    let jwt = decode_jwt(token)?;
    let iss = jwt.claims["iss"].as_str().unwrap_or("").to_owned();
    // The role's account: its providers are the ones that count. (A role ARN that does not
    // parse is refused below, after the token's own checks, as AWS orders them.)
    let account = super::tokens::parse_role_arn(role_arn)
        .map(|(a, _)| a)
        .unwrap_or_else(|| state.bootstrap_account.clone());
    let provider = provider_for(state, &account, &iss)?;
    verify_signature(&state.jwks, &iss, &jwt)?;
    let number = |name: &str| jwt.claims[name].as_f64().map(|v| v as i64);
    let exp =
        number("exp").ok_or_else(|| invalid_token("The web identity token has no exp claim."))?;
    if exp <= now {
        return Err(AwsError::new(
            400,
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now} must be before the expiration date/time {exp}"
            ),
        ));
    }
    for claim in ["nbf", "iat"] {
        if number(claim).is_some_and(|t| t > now + CLOCK_SKEW) {
            return Err(invalid_token(format!(
                "The web identity token's {claim} claim is in the future."
            )));
        }
    }
    let audiences = claim_strings(&jwt.claims["aud"]);
    let audience = audiences
        .iter()
        .find(|a| provider.client_ids.contains(a))
        .ok_or_else(|| invalid_token("Incorrect token audience"))?
        .clone();
    let subject = jwt.claims["sub"].as_str().unwrap_or("").to_owned();

    let denied = || AwsError::access_denied(NOT_AUTHORIZED);
    let (_, role_name) = super::tokens::parse_role_arn(role_arn).ok_or_else(denied)?;
    let role: Role =
        crate::entities::cached_entity::<Role>(state, &account, Table::Roles, &role_name)?
            .filter(|r| r.arn == role_arn)
            .ok_or_else(denied)?;
    let duration = super::tokens::duration_param(input, 3600, 43200)?;
    if duration > role.max_session_duration {
        return Err(AwsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    // Session tags travel in the token (AWS's `https://aws.amazon.com/tags` claim); they are
    // checked and counted as AssumeRole's `Tags` are, and need sts:TagSession in the trust policy.
    let mut with_tags = input.clone();
    let token_tags = tags_claim(&jwt.claims)?;
    if let Some(t) = &token_tags {
        with_tags["Tags"] = t.clone();
    }
    let params = super::tokens::session_params(state, &account, &with_tags)?;

    // Only the trust policy decides, for the principal {"Federated": PROVIDER-ARN}.
    let trust = crate::authz::trust_policy(state, &role)?;
    let principal = PrincipalInfo {
        account: String::new(),
        arn: provider.arn.clone(),
        kind: PrincipalType::FederatedUser,
        unique_id: String::new(),
        user_name: None,
        tags: Vec::new(),
        session: None,
        has_permissions_boundary: false,
    };
    let mut context = kagi_policy::Context::new();
    let when = UNIX_EPOCH + Duration::from_secs(now.max(0) as u64);
    context.set(
        "aws:CurrentTime",
        ContextType::Date,
        kagi_policy::context::format_iso8601(when),
    );
    context.set("aws:EpochTime", ContextType::Date, now.to_string());
    context.set("aws:SecureTransport", ContextType::Boolean, "false");
    context.set("aws:SourceIp", ContextType::Ip, facts.source_ip.to_string());
    context.set_string("aws:RequestedRegion", facts.region.clone());
    context.set_string("aws:FederatedProvider", provider.arn.clone());
    context.set_string("sts:RoleSessionName", session_name);
    let prefix = &provider.url;
    context.set_string(&format!("{prefix}:aud"), audience.clone());
    context.set_string(&format!("{prefix}:sub"), subject.clone());
    let amr = claim_strings(&jwt.claims["amr"]);
    if !amr.is_empty() {
        context.set_list(&format!("{prefix}:amr"), ContextType::String, amr);
    }
    let tag_keys: Vec<String> = params.tags.iter().map(|t| t.key.clone()).collect();
    for t in &params.tags {
        context.set_string(&format!("aws:RequestTag/{}", t.key), t.value.clone());
    }
    if !tag_keys.is_empty() {
        context.set_list("aws:TagKeys", ContextType::String, tag_keys);
    }
    let policies = kagi_policy::Policies {
        resource: Some(&trust),
        resource_kind: ResourcePolicyKind::Trust,
        ..Default::default()
    };
    let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
    if !params.tags.is_empty() {
        actions.push("sts:TagSession");
    }
    for action in actions {
        let ev = kagi_policy::evaluate(
            &kagi_policy::Request {
                principal: &principal,
                action,
                resource: role_arn,
                context: &context,
            },
            &policies,
        );
        if !ev.is_allowed() {
            tracing::debug!(provider = %provider.arn, role_arn, action, why = %ev.explain(), "AssumeRoleWithWebIdentity refused");
            return Err(denied());
        }
    }

    let has_policies = params.inline.is_some() || !params.arns.is_empty();
    let mut out = super::tokens::mint_role_session(
        state,
        &super::tokens::RoleSession {
            role: &role,
            account: &account,
            session_name,
            now,
            duration,
            mfa: false,
            source_identity: None,
            region: &facts.region,
        },
        has_policies,
        params.session_policies,
        params.tags,
    )?;
    out["SubjectFromWebIdentityToken"] = json!(subject);
    out["Provider"] = json!(provider.arn);
    out["Audience"] = json!(audience);
    if has_policies || token_tags.is_some() {
        out["PackedPolicySize"] = json!(params.packed_pct);
    }
    if opt(input, "ProviderId").is_some() {
        // OAuth 2.0 access tokens (Login with Amazon, Facebook) are not OIDC ID tokens.
        tracing::debug!("ProviderId ignored: only OpenID Connect ID tokens are accepted");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_invalid_identity_tokens() {
        for t in [
            "", "a.b", "a.b.c.d", "!!.??.xx", "e30.e30", "W10.e30.", "e30.W10.",
        ] {
            let e = decode_jwt(t).err().expect(t);
            assert_eq!(e.code, "InvalidIdentityToken", "{t}");
        }
        // `{}` `.` `{}` `.` (empty signature) decodes; verification is what refuses it.
        assert!(decode_jwt("e30.e30.").is_ok());
    }

    #[test]
    fn a_key_for_another_use_or_curve_verifies_nothing() {
        let jwt = decode_jwt("eyJhbGciOiJFUzI1NiJ9.e30.AAAA").unwrap();
        let key = Jwk {
            kty: "EC".into(),
            kid: None,
            use_: Some("enc".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some("AA".into()),
            y: Some("AA".into()),
        };
        assert!(!verify_with(&jwt, &key));
    }
}
