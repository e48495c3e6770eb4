//! The server's error type: an AWS error code, message and HTTP status, rendered by the wire
//! codec of the service the request was for (XML `ErrorResponse` for IAM/STS, JSON for ECR).
//! Internal failures become `ServiceFailure` (500) and are logged; their text is never sent.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub status: u16,
    pub sender_fault: bool,
}

impl AwsError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> AwsError {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
        }
    }
    /// The answer of a rest-json service (Access Analyzer, sso-oidc, the access portal): the
    /// status, the code in `x-amzn-errortype`, `body` (the service's own error members) and
    /// the request id when the service sends one.
    pub fn rest_json_response(
        &self,
        body: &serde_json::Value,
        request_id: Option<&str>,
    ) -> axum::response::Response {
        use axum::http::{HeaderValue, StatusCode, header};
        use axum::response::IntoResponse as _;
        let mut r = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            r.headers_mut().insert("x-amzn-errortype", v);
        }
        if let Some(v) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            r.headers_mut().insert("x-amzn-requestid", v);
        }
        r
    }

    pub fn validation(msg: impl Into<String>) -> AwsError {
        Self::new(400, "ValidationError", msg)
    }
    pub fn invalid_input(msg: impl Into<String>) -> AwsError {
        Self::new(400, "InvalidInput", msg)
    }
    pub fn no_such_entity(msg: impl Into<String>) -> AwsError {
        Self::new(404, "NoSuchEntity", msg)
    }
    pub fn already_exists(msg: impl Into<String>) -> AwsError {
        Self::new(409, "EntityAlreadyExists", msg)
    }
    pub fn delete_conflict(msg: impl Into<String>) -> AwsError {
        Self::new(409, "DeleteConflict", msg)
    }
    pub fn limit_exceeded(msg: impl Into<String>) -> AwsError {
        Self::new(409, "LimitExceeded", msg)
    }
    pub fn malformed_policy(msg: impl Into<String>) -> AwsError {
        Self::new(400, "MalformedPolicyDocument", msg)
    }
    pub fn access_denied(msg: impl Into<String>) -> AwsError {
        Self::new(403, "AccessDenied", msg)
    }
    pub fn invalid_client_token() -> AwsError {
        Self::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }
    pub fn expired_token() -> AwsError {
        Self::new(
            400,
            "ExpiredToken",
            "The security token included in the request is expired",
        )
    }
    pub fn internal() -> AwsError {
        Self::new(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
    pub fn missing_param(name: &str) -> AwsError {
        Self::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

impl From<anyhow::Error> for AwsError {
    fn from(e: anyhow::Error) -> AwsError {
        match e.downcast::<AwsError>() {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                AwsError::internal()
            }
        }
    }
}

pub type AwsResult<T> = Result<T, AwsError>;
