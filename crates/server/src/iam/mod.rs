//! IAM operations. [`handle`] dispatches on the operation name; each area lives in its own
//! module and every handler authorises itself first (`authz::authorize` with the action and the
//! resource ARN AWS uses for it), then validates, then reads/writes the store in one transaction.
//!
//! | module | operations |
//! |---|---|
//! | [`users`] | users (renames move everything keyed by the name), access keys (the root's own too), user tags, user permissions boundaries |
//! | [`groups`] | groups (renames move members, attachments, inline policies) and memberships |
//! | [`login`] | login profiles (console passwords, argon2id), ChangePassword, the account password policy |
//! | [`policies`] | customer managed policies and versions, attachments, inline policies |
//! | [`managed`] | the AWS managed policies kagi ships (`arn:aws:iam::aws:policy/…`) |
//! | [`roles`] | roles, trust policies, role tags and boundaries |
//! | [`instance_profiles`] | instance profiles (a role each), their tags |
//! | [`oidc`] | OpenID Connect identity providers (client ids, thumbprints, tags) |
//! | [`saml`] | SAML identity providers (metadata, tags) |
//! | [`mfa`] | virtual MFA devices (TOTP), GetMFADevice, ResyncMFADevice, MFA device tags |
//! | [`simulate`] | SimulatePrincipalPolicy, SimulateCustomPolicy, GetContextKeysFor{Custom,Principal}Policy |
//! | [`details`] | GetAccountAuthorizationDetails |
//! | [`report`] | GenerateCredentialReport, GetCredentialReport |
//! | [`last_accessed`] | last-accessed reports from the event history (GenerateServiceLastAccessedDetails, GetServiceLastAccessedDetails[WithEntities]), ListPoliciesGrantingServiceAccess |
//! | [`account`] | account aliases, GetAccountSummary, the per-user lists kagi never fills |
//!
//! This module only dispatches; request parameters, tags and pagination are [`crate::params`],
//! entity loaders and ARNs [`crate::entities`].

pub mod account;
pub mod details;
pub mod groups;
pub mod instance_profiles;
pub mod last_accessed;
pub mod login;
pub mod managed;
pub mod mfa;
pub mod oidc;
pub mod policies;
pub mod report;
pub mod roles;
pub mod saml;
pub mod simulate;
pub mod users;

use crate::error::{AwsError, AwsResult};
use crate::model::EntityKind as EK;
use crate::params::{opt_bool, paginate};
use crate::state::Ctx;
use account::{
    create_account_alias, delete_account_alias, empty_user_list, get_account_summary,
    list_account_aliases,
};
use serde_json::Value;

pub fn handle(ctx: &Ctx, op: &str, input: Value) -> AwsResult<Value> {
    // Credentials that may not call IAM are refused before anything else is looked at.
    crate::authz::may_call_iam(ctx.caller)?;
    let i = &input;
    // Tag keys beginning with `aws:` (in any case) are reserved by AWS: IAM refuses them
    // wherever tags are set (Create*, Tag*), before looking anything up.
    if let Some(tags) = i.get("Tags").and_then(Value::as_array)
        && tags.iter().any(|t| {
            t.get("Key")
                .and_then(Value::as_str)
                .and_then(|k| k.get(..4))
                .is_some_and(|p| p.eq_ignore_ascii_case("aws:"))
        })
    {
        return Err(AwsError::invalid_input(
            "Tag keys beginning with aws: are reserved for system use.",
        ));
    }
    match op {
        "CreateUser" => users::create_user(ctx, i),
        "GetUser" => users::get_user(ctx, i),
        "ListUsers" => users::list_users(ctx, i),
        "UpdateUser" => users::update_user(ctx, i),
        "DeleteUser" => users::delete_user(ctx, i),
        "TagUser" => users::tag_user(ctx, i),
        "UntagUser" => users::untag_user(ctx, i),
        "ListUserTags" => users::list_user_tags(ctx, i),
        "PutUserPermissionsBoundary" => users::put_boundary(ctx, i),
        "DeleteUserPermissionsBoundary" => users::delete_boundary(ctx, i),
        "CreateAccessKey" => users::create_access_key(ctx, i),
        "ListAccessKeys" => users::list_access_keys(ctx, i),
        "UpdateAccessKey" => users::update_access_key(ctx, i),
        "DeleteAccessKey" => users::delete_access_key(ctx, i),
        "GetAccessKeyLastUsed" => users::get_access_key_last_used(ctx, i),
        "CreateLoginProfile" => login::create_login_profile(ctx, i),
        "GetLoginProfile" => login::get_login_profile(ctx, i),
        "UpdateLoginProfile" => login::update_login_profile(ctx, i),
        "DeleteLoginProfile" => login::delete_login_profile(ctx, i),
        "ChangePassword" => login::change_password(ctx, i),
        "UpdateAccountPasswordPolicy" => login::update_account_password_policy(ctx, i),
        "GetAccountPasswordPolicy" => login::get_account_password_policy(ctx),
        "DeleteAccountPasswordPolicy" => login::delete_account_password_policy(ctx),
        "CreateGroup" => groups::create_group(ctx, i),
        "GetGroup" => groups::get_group(ctx, i),
        "ListGroups" => groups::list_groups(ctx, i),
        "UpdateGroup" => groups::update_group(ctx, i),
        "DeleteGroup" => groups::delete_group(ctx, i),
        "AddUserToGroup" => groups::add_user_to_group(ctx, i),
        "RemoveUserFromGroup" => groups::remove_user_from_group(ctx, i),
        "ListGroupsForUser" => groups::list_groups_for_user(ctx, i),
        "CreatePolicy" => policies::create_policy(ctx, i),
        "GetPolicy" => policies::get_policy(ctx, i),
        "DeletePolicy" => policies::delete_policy(ctx, i),
        "ListPolicies" => policies::list_policies(ctx, i),
        "CreatePolicyVersion" => policies::create_policy_version(ctx, i),
        "GetPolicyVersion" => policies::get_policy_version(ctx, i),
        "ListPolicyVersions" => policies::list_policy_versions(ctx, i),
        "SetDefaultPolicyVersion" => policies::set_default_policy_version(ctx, i),
        "DeletePolicyVersion" => policies::delete_policy_version(ctx, i),
        "TagPolicy" => policies::tag_policy(ctx, i),
        "UntagPolicy" => policies::untag_policy(ctx, i),
        "ListPolicyTags" => policies::list_policy_tags(ctx, i),
        "ListEntitiesForPolicy" => policies::list_entities_for_policy(ctx, i),
        "AttachUserPolicy" => policies::attach(ctx, i, EK::User),
        "AttachGroupPolicy" => policies::attach(ctx, i, EK::Group),
        "AttachRolePolicy" => policies::attach(ctx, i, EK::Role),
        "DetachUserPolicy" => policies::detach(ctx, i, EK::User),
        "DetachGroupPolicy" => policies::detach(ctx, i, EK::Group),
        "DetachRolePolicy" => policies::detach(ctx, i, EK::Role),
        "ListAttachedUserPolicies" => policies::list_attached(ctx, i, EK::User),
        "ListAttachedGroupPolicies" => policies::list_attached(ctx, i, EK::Group),
        "ListAttachedRolePolicies" => policies::list_attached(ctx, i, EK::Role),
        "PutUserPolicy" => policies::put_inline(ctx, i, EK::User),
        "PutGroupPolicy" => policies::put_inline(ctx, i, EK::Group),
        "PutRolePolicy" => policies::put_inline(ctx, i, EK::Role),
        "GetUserPolicy" => policies::get_inline(ctx, i, EK::User),
        "GetGroupPolicy" => policies::get_inline(ctx, i, EK::Group),
        "GetRolePolicy" => policies::get_inline(ctx, i, EK::Role),
        "DeleteUserPolicy" => policies::delete_inline(ctx, i, EK::User),
        "DeleteGroupPolicy" => policies::delete_inline(ctx, i, EK::Group),
        "DeleteRolePolicy" => policies::delete_inline(ctx, i, EK::Role),
        "ListUserPolicies" => policies::list_inline(ctx, i, EK::User),
        "ListGroupPolicies" => policies::list_inline(ctx, i, EK::Group),
        "ListRolePolicies" => policies::list_inline(ctx, i, EK::Role),
        "CreateRole" => roles::create_role(ctx, i),
        "GetRole" => roles::get_role(ctx, i),
        "ListRoles" => roles::list_roles(ctx, i),
        "UpdateRole" => roles::update_role(ctx, i),
        "UpdateRoleDescription" => roles::update_role_description(ctx, i),
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(ctx, i),
        "DeleteRole" => roles::delete_role(ctx, i),
        "TagRole" => roles::tag_role(ctx, i),
        "UntagRole" => roles::untag_role(ctx, i),
        "ListRoleTags" => roles::list_role_tags(ctx, i),
        "PutRolePermissionsBoundary" => roles::put_boundary(ctx, i),
        "DeleteRolePermissionsBoundary" => roles::delete_boundary(ctx, i),
        "CreateInstanceProfile" => instance_profiles::create_instance_profile(ctx, i),
        "GetInstanceProfile" => instance_profiles::get_instance_profile(ctx, i),
        "DeleteInstanceProfile" => instance_profiles::delete_instance_profile(ctx, i),
        "AddRoleToInstanceProfile" => instance_profiles::add_role_to_instance_profile(ctx, i),
        "RemoveRoleFromInstanceProfile" => {
            instance_profiles::remove_role_from_instance_profile(ctx, i)
        }
        "ListInstanceProfiles" => instance_profiles::list_instance_profiles(ctx, i),
        "ListInstanceProfilesForRole" => instance_profiles::list_instance_profiles_for_role(ctx, i),
        "TagInstanceProfile" => instance_profiles::tag_instance_profile(ctx, i),
        "UntagInstanceProfile" => instance_profiles::untag_instance_profile(ctx, i),
        "ListInstanceProfileTags" => instance_profiles::list_instance_profile_tags(ctx, i),
        "CreateOpenIDConnectProvider" => oidc::create(ctx, i),
        "GetOpenIDConnectProvider" => oidc::get(ctx, i),
        "ListOpenIDConnectProviders" => oidc::list(ctx),
        "DeleteOpenIDConnectProvider" => oidc::delete(ctx, i),
        "AddClientIDToOpenIDConnectProvider" => oidc::add_client_id(ctx, i),
        "RemoveClientIDFromOpenIDConnectProvider" => oidc::remove_client_id(ctx, i),
        "UpdateOpenIDConnectProviderThumbprint" => oidc::update_thumbprint(ctx, i),
        "TagOpenIDConnectProvider" => oidc::tag(ctx, i),
        "UntagOpenIDConnectProvider" => oidc::untag(ctx, i),
        "ListOpenIDConnectProviderTags" => oidc::list_tags(ctx, i),
        "CreateSAMLProvider" => saml::create(ctx, i),
        "GetSAMLProvider" => saml::get(ctx, i),
        "ListSAMLProviders" => saml::list(ctx),
        "UpdateSAMLProvider" => saml::update(ctx, i),
        "DeleteSAMLProvider" => saml::delete(ctx, i),
        "TagSAMLProvider" => saml::tag(ctx, i),
        "UntagSAMLProvider" => saml::untag(ctx, i),
        "ListSAMLProviderTags" => saml::list_tags(ctx, i),
        "CreateVirtualMFADevice" => mfa::create_virtual_mfa_device(ctx, i),
        "EnableMFADevice" => mfa::enable_mfa_device(ctx, i),
        "DeactivateMFADevice" => mfa::deactivate_mfa_device(ctx, i),
        "DeleteVirtualMFADevice" => mfa::delete_virtual_mfa_device(ctx, i),
        "ListMFADevices" => mfa::list_mfa_devices(ctx, i),
        "ListVirtualMFADevices" => mfa::list_virtual_mfa_devices(ctx, i),
        "GetMFADevice" => mfa::get_mfa_device(ctx, i),
        "ResyncMFADevice" => mfa::resync_mfa_device(ctx, i),
        "TagMFADevice" => mfa::tag_mfa_device(ctx, i),
        "UntagMFADevice" => mfa::untag_mfa_device(ctx, i),
        "ListMFADeviceTags" => mfa::list_mfa_device_tags(ctx, i),
        "GetContextKeysForCustomPolicy" => simulate::context_keys_for_custom_policy(ctx, i),
        "GetContextKeysForPrincipalPolicy" => simulate::context_keys_for_principal_policy(ctx, i),
        "CreateAccountAlias" => create_account_alias(ctx, i),
        "DeleteAccountAlias" => delete_account_alias(ctx, i),
        "SimulatePrincipalPolicy" => simulate::simulate_principal_policy(ctx, i),
        "SimulateCustomPolicy" => simulate::simulate_custom_policy(ctx, i),
        // kagi stores no SSH keys, signing certificates, service-specific credentials or
        // server certificates (creating them answers NotImplemented), so their lists are empty;
        // tools that clean a user up before deleting it walk them.
        "ListSSHPublicKeys" => empty_user_list(ctx, i, op, "SSHPublicKeys"),
        "ListSigningCertificates" => empty_user_list(ctx, i, op, "Certificates"),
        "ListServiceSpecificCredentials" if opt_bool(i, "AllUsers") == Some(true) => {
            ctx.authorize("iam:ListServiceSpecificCredentials", "*")?;
            paginate(i, Vec::new(), "ServiceSpecificCredentials")
        }
        "ListServiceSpecificCredentials" => {
            empty_user_list(ctx, i, op, "ServiceSpecificCredentials")
        }
        "ListServerCertificates" => {
            ctx.authorize(
                "iam:ListServerCertificates",
                &format!("arn:aws:iam::{}:server-certificate/", ctx.caller.account_id),
            )?;
            paginate(i, Vec::new(), "ServerCertificateMetadataList")
        }
        "GetAccountSummary" => get_account_summary(ctx),
        "GetAccountAuthorizationDetails" => details::get_account_authorization_details(ctx, i),
        "GenerateCredentialReport" => report::generate_credential_report(ctx),
        "GetCredentialReport" => report::get_credential_report(ctx),
        "GenerateServiceLastAccessedDetails" => last_accessed::generate(ctx, i),
        "GetServiceLastAccessedDetails" => last_accessed::get(ctx, i),
        "GetServiceLastAccessedDetailsWithEntities" => last_accessed::get_with_entities(ctx, i),
        "ListPoliciesGrantingServiceAccess" => last_accessed::list_policies_granting(ctx, i),
        "ListAccountAliases" => list_account_aliases(ctx, i),
        other => {
            ctx.authorize(&format!("iam:{other}"), "*")?;
            Err(AwsError::new(
                501,
                "NotImplemented",
                format!("kagi does not implement iam:{other} yet."),
            ))
        }
    }
}
