//! Who is calling: a [`Caller`] is what authentication ([`crate::auth`]) resolves a request to,
//! and what every handler and the policy engine's adapter ([`crate::authz`]) work with.

use crate::model::Session;
use std::sync::Arc;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Root,
    User {
        name: String,
        id: String,
        path: String,
    },
    /// An assumed-role session.
    Role {
        name: String,
        id: String,
        path: String,
        session_name: String,
    },
    /// A GetFederationToken session `name`, federated by the IAM user `user` (`None`: the
    /// root). Its permissions: the federating user's, narrowed by the session policies.
    Federated {
        name: String,
        user: Option<String>,
    },
}

/// An authenticated caller. `Debug` never shows a secret (none is held).
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub account_id: String,
    pub access_key_id: String,
    /// Set for temporary (STS) credentials.
    pub session: Option<Arc<Session>>,
}

impl Caller {
    /// The ARN AWS reports (GetCallerIdentity, AccessDenied messages).
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root => format!("arn:aws:iam::{}:root", self.account_id),
            Principal::User { name, path, .. } => {
                crate::ids::iam_arn(&self.account_id, "user", path, name)
            }
            Principal::Role {
                name, session_name, ..
            } => {
                format!(
                    "arn:aws:sts::{}:assumed-role/{name}/{session_name}",
                    self.account_id
                )
            }
            Principal::Federated { name, .. } => {
                format!("arn:aws:sts::{}:federated-user/{name}", self.account_id)
            }
        }
    }

    /// `UserId` of GetCallerIdentity: `AIDA…`, `AROA…:session`, or the account id for root.
    pub fn user_id(&self) -> String {
        match &self.principal {
            Principal::Root => self.account_id.clone(),
            Principal::User { id, .. } => id.clone(),
            Principal::Role {
                id, session_name, ..
            } => format!("{id}:{session_name}"),
            Principal::Federated { name, .. } => format!("{}:{name}", self.account_id),
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self.principal, Principal::Root)
    }

    pub fn is_temporary(&self) -> bool {
        self.session.is_some()
    }

    pub fn mfa_present(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.mfa)
    }
}
