//! IAM Identity Center's operations: the identity store (`identitystore`, JSON 1.1), the
//! administration API (`sso-admin`, JSON 1.1), the OIDC token service (`sso-oidc`, rest-json,
//! unsigned) and the access portal (`sso`, rest-json, a bearer token), plus the portal's web
//! pages. The data and provisioning live in [`crate::identity_center`].

pub mod admin;
pub mod identitystore;
pub mod oidc;
pub mod portal;
pub mod tokens;
pub mod web;
