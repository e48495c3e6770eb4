//! [`ApiError`]: an AWS error as it travels on the wire (code, message, HTTP status, fault).

use std::fmt;

/// An AWS API error. The `code` is the wire code (`NoSuchEntity` for IAM, the exception name
/// such as `RepositoryNotFoundException` for JSON services). The message must never contain a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub status: u16,
    /// `true` → `<Type>Sender</Type>`, `false` → `Receiver` (a server fault).
    pub sender_fault: bool,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// A client (sender) error.
    pub fn new(code: impl Into<String>, message: impl Into<String>, status: u16) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault: status < 500,
        }
    }

    /// An error the service's model declares (`NoSuchEntity`, `EntityAlreadyExists`,
    /// `RepositoryNotFoundException`, ...), with the model's HTTP status and fault; a code the
    /// model does not know is a 400 sender fault.
    pub fn modelled(
        service: &'static crate::Service,
        code: &str,
        message: impl Into<String>,
    ) -> ApiError {
        match service.error_by_code(code) {
            Some(e) => ApiError {
                code: e.code.to_string(),
                message: message.into(),
                status: e.status,
                sender_fault: e.sender_fault,
            },
            None => ApiError::new(code, message, 400),
        }
    }

    /// `ValidationError` 400 (query services' parameter validation).
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationError", message, 400)
    }
    /// `ValidationException` 400 (JSON services' parameter validation).
    pub fn validation_exception(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", message, 400)
    }
    /// `InvalidInput` 400 (IAM).
    pub fn invalid_input(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidInput", message, 400)
    }
    /// `InvalidParameterValue` 400.
    pub fn invalid_parameter_value(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidParameterValue", message, 400)
    }
    /// `MissingParameter` 400.
    pub fn missing_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new("MissingParameter", message, 400)
    }
    /// `AccessDenied` 403 (query services).
    pub fn access_denied(message: impl Into<String>) -> ApiError {
        ApiError::new("AccessDenied", message, 403)
    }
    /// `AccessDeniedException` 400 (JSON services; ECR reports denials with status 400).
    pub fn access_denied_exception(message: impl Into<String>) -> ApiError {
        ApiError::new("AccessDeniedException", message, 400)
    }
    /// `NoSuchEntity` 404 (IAM).
    pub fn no_such_entity(message: impl Into<String>) -> ApiError {
        ApiError::new("NoSuchEntity", message, 404)
    }
    /// `EntityAlreadyExists` 409 (IAM).
    pub fn entity_already_exists(message: impl Into<String>) -> ApiError {
        ApiError::new("EntityAlreadyExists", message, 409)
    }
    /// `DeleteConflict` 409 (IAM).
    pub fn delete_conflict(message: impl Into<String>) -> ApiError {
        ApiError::new("DeleteConflict", message, 409)
    }
    /// `LimitExceeded` 409 (IAM).
    pub fn limit_exceeded(message: impl Into<String>) -> ApiError {
        ApiError::new("LimitExceeded", message, 409)
    }
    /// `MalformedPolicyDocument` 400 (IAM).
    pub fn malformed_policy_document(message: impl Into<String>) -> ApiError {
        ApiError::new("MalformedPolicyDocument", message, 400)
    }
    /// `InvalidAction` 400: the query `Action` names no operation of the service.
    pub fn invalid_action(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidAction", message, 400)
    }
    /// `UnknownOperationException` 400: the JSON `X-Amz-Target` names no operation.
    pub fn unknown_operation() -> ApiError {
        ApiError::new("UnknownOperationException", "", 400)
    }
    /// `SerializationException` 400: the JSON body is not valid for the shape.
    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new("SerializationException", message, 400)
    }
    /// `InvalidClientTokenId` 403: unknown access key.
    pub fn invalid_client_token_id() -> ApiError {
        ApiError::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            403,
        )
    }
    /// `SignatureDoesNotMatch` 403.
    pub fn signature_does_not_match(message: impl Into<String>) -> ApiError {
        ApiError::new("SignatureDoesNotMatch", message, 403)
    }
    /// `ExpiredToken` 403.
    pub fn expired_token(message: impl Into<String>) -> ApiError {
        ApiError::new("ExpiredToken", message, 403)
    }
    /// `MissingAuthenticationToken` 403.
    pub fn missing_authentication_token() -> ApiError {
        ApiError::new(
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
            403,
        )
    }
    /// `ServiceFailure` 500 (IAM's internal error).
    pub fn service_failure(message: impl Into<String>) -> ApiError {
        ApiError::new("ServiceFailure", message, 500)
    }
    /// `InternalFailure` 500 (generic internal error).
    pub fn internal_failure(message: impl Into<String>) -> ApiError {
        ApiError::new("InternalFailure", message, 500)
    }
    /// ECR `RepositoryNotFoundException` 400.
    pub fn repository_not_found(message: impl Into<String>) -> ApiError {
        ApiError::new("RepositoryNotFoundException", message, 400)
    }
    /// ECR `InvalidParameterException` 400.
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidParameterException", message, 400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelled_errors_take_the_models_status() {
        let iam = crate::service("iam").unwrap();
        let e = ApiError::modelled(
            iam,
            "EntityAlreadyExists",
            "User with name bob already exists.",
        );
        assert_eq!((e.status, e.sender_fault), (409, true));
        let e = ApiError::modelled(iam, "ServiceFailure", "x");
        assert_eq!((e.status, e.sender_fault), (500, false));
        let ecr = crate::service("ecr").unwrap();
        let e = ApiError::modelled(ecr, "RepositoryNotFoundException", "x");
        assert_eq!((e.status, e.sender_fault), (400, true));
        let e = ApiError::modelled(ecr, "ServerException", "x");
        assert_eq!((e.status, e.sender_fault), (500, false));
        assert_eq!(ApiError::modelled(iam, "Whatever", "x").status, 400);
    }
}
