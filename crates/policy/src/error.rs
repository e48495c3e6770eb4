//! The one error type of the crate, in AWS's shape: a code, AWS's own message, and a precise
//! sentence with a position for people.

use std::fmt;

use crate::json::{Position, Span};

/// One step of a path into a policy document (Access Analyzer's `PathElement`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathElement {
    Key(String),
    Index(usize),
}

/// Where a problem is: the path of elements and the source span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: Vec<PathElement>,
    pub span: Span,
}

/// AWS error codes this crate produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The document is not a valid policy (`MalformedPolicyDocument`, HTTP 400).
    MalformedPolicyDocument,
    /// The document is larger than its quota allows (`LimitExceeded`, HTTP 409).
    LimitExceeded,
    /// A simulation request is malformed (`InvalidInput`, HTTP 400).
    InvalidInput,
    /// AWS Organizations: an SCP or RCP does not meet its policy type's rules
    /// (`MalformedPolicyDocumentException`, HTTP 400).
    OrganizationsMalformedPolicyDocument,
    /// AWS Organizations: an SCP or RCP is larger than 5,120 characters
    /// (`ConstraintViolationException` with `Reason` `POLICY_CONTENT_LIMIT_EXCEEDED`, HTTP 400).
    OrganizationsConstraintViolation,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::InvalidInput => "InvalidInput",
            ErrorCode::OrganizationsMalformedPolicyDocument => "MalformedPolicyDocumentException",
            ErrorCode::OrganizationsConstraintViolation => "ConstraintViolationException",
        }
    }

    /// The HTTP status AWS uses for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::LimitExceeded => 409,
            _ => 400,
        }
    }
}

/// Messages AWS itself returns (see `shared/reference/iam-sts-ecr-facts.md` §2).
pub mod aws_message {
    pub const SYNTAX: &str = "Syntax errors in policy.";
    pub const LEGACY_PARSING: &str = "The policy failed legacy parsing";
    pub const NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
    pub const MISSING_ACTIONS: &str = "Policy statement must contain actions.";
    pub const MISSING_RESOURCES: &str = "Policy statement must contain resources.";
    pub const PROHIBITED_RESOURCE: &str = "Has prohibited field Resource.";
    pub const MISSING_PRINCIPAL: &str = "Missing required field Principal.";
    pub const DUPLICATE_SID: &str = "Statement IDs (SID) in a single policy must be unique.";
    pub const SID_ALNUM: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
    pub const VENDOR: &str =
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
    pub const VERSION_2012: &str = "Policy document must be version 2012-10-17 or greater.";
    /// AWS Organizations' `MalformedPolicyDocumentException` (CreatePolicy / UpdatePolicy of
    /// an SCP or RCP), as the Organizations API reference describes the error.
    pub const ORGANIZATIONS_MALFORMED: &str =
        "The provided policy document does not meet the requirements of the specified policy type.";
    /// AWS Organizations' `ConstraintViolationException` for a policy over the size quota;
    /// the `Reason` is [`POLICY_CONTENT_LIMIT_EXCEEDED`].
    pub const ORGANIZATIONS_TOO_LARGE: &str =
        "You attempted to create a policy that is larger than the maximum size.";
    /// The `Reason` member of that `ConstraintViolationException`.
    pub const POLICY_CONTENT_LIMIT_EXCEEDED: &str = "POLICY_CONTENT_LIMIT_EXCEEDED";
}

/// A policy that IAM would refuse, or a simulation request that IAM would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub code: ErrorCode,
    /// AWS's own message, as IAM returns it.
    pub message: String,
    /// A precise sentence for a person (what is wrong and how to fix it).
    pub detail: String,
    /// Where in the document, when the problem is at one place.
    pub position: Option<Position>,
    /// The Access Analyzer issue code this problem corresponds to (`JSON_SYNTAX_ERROR`, ...);
    /// empty for non-document errors.
    pub issue_code: &'static str,
    /// Path and span, when known (used by validation findings).
    pub location: Option<Box<Location>>,
}

impl PolicyError {
    pub(crate) fn malformed(
        message: &str,
        detail: impl Into<String>,
        position: Option<Position>,
    ) -> Self {
        PolicyError {
            code: ErrorCode::MalformedPolicyDocument,
            message: message.to_string(),
            detail: detail.into(),
            position,
            issue_code: "",
            location: None,
        }
    }

    pub(crate) fn issue(mut self, code: &'static str) -> Self {
        self.issue_code = code;
        self
    }

    pub(crate) fn at(mut self, path: Vec<PathElement>, span: Span) -> Self {
        self.position = Some(span.start);
        self.location = Some(Box::new(Location { path, span }));
        self
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        let message = message.into();
        PolicyError {
            code: ErrorCode::InvalidInput,
            detail: message.clone(),
            message,
            position: None,
            issue_code: "",
            location: None,
        }
    }

    /// The human sentence with its position: `line 3, column 9: comments are not allowed ...`.
    pub fn human(&self) -> String {
        match self.position {
            Some(p) => format!("line {}, column {}: {}", p.line, p.column, self.detail),
            None => self.detail.clone(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        if self.detail != self.message {
            write!(f, " ({})", self.human())?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}
