//! Deleting users, roles, groups, policies and ECR repositories, as the IAM and ECR consoles do
//! it: the name typed again to confirm, then every dependent removed first (a user's keys,
//! login profile, MFA devices, group memberships and policies; a role's or group's policies; a
//! policy's attachments and non-default versions), each step a call by the signed-in principal.
//! The first refused step stops the deletion and shows AWS's error.

use super::kit::{P, items, txt};
use crate::CallError;
use crate::html::{error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

impl P<'_> {
    /// The "Delete" section of a detail page: type `name` to confirm.
    pub(super) fn delete_section(&self, what: &str, name: &str, action: &str) -> String {
        self.delete_section_noting(what, name, action, "")
    }

    /// A "Delete" section that says first (`note`) what else goes.
    pub(super) fn delete_section_noting(
        &self,
        what: &str,
        name: &str,
        action: &str,
        note: &str,
    ) -> String {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", esc(note))
        };
        format!(
            r#"<section class="danger-zone" data-confirm="Delete {what} {n}?" aria-labelledby="delete-heading"><h2 id="delete-heading">Delete {what}</h2><form method="post" action="{action}">{csrf}{note}
<label for="confirm-delete">To confirm, enter the {what} name: <code>{n}</code></label> <input type="text" id="confirm-delete" name="ConfirmName" required autocomplete="off">
<button type="submit" class="danger">Delete {what}</button></form></section>"#,
            action = esc(action),
            csrf = self.csrf(),
            n = esc(name),
        )
    }

    pub(super) fn confirmed(&self, name: &str) -> Option<Response> {
        if self.r.field("ConfirmName").map(str::trim) == Some(name) {
            None
        } else {
            Some(super::kit::page_status(
                StatusCode::BAD_REQUEST,
                "Not deleted",
                Some(self.s),
                &error_box(
                    "ValidationError",
                    &format!(
                        "Type the name '{name}' to confirm the deletion. Nothing was deleted."
                    ),
                ),
            ))
        }
    }

    /// Runs the deletion's steps; when all succeed, back to the list `to`, saying `done`.
    fn steps(&self, to: &str, done: &str, f: impl FnOnce() -> Result<(), CallError>) -> Response {
        match f() {
            Ok(()) => self.done(to, done),
            Err(e) => self.failed("Delete", &e),
        }
    }

    fn names(
        &self,
        op: &str,
        input: Value,
        list: &str,
        member: &str,
    ) -> Result<Vec<String>, CallError> {
        let v = self.call("iam", op, input)?;
        Ok(items(&v, list).iter().map(|x| txt(&x[member])).collect())
    }

    pub(super) fn delete_user(&self, user: &str) -> Response {
        if let Some(r) = self.confirmed(user) {
            return r;
        }
        self.steps("/console/users", &format!("User {user} deleted."), || {
            self.user_steps(user)
        })
    }

    fn user_steps(&self, user: &str) -> Result<(), CallError> {
        {
            let u = json!({"UserName": user});
            for k in self.names(
                "ListAccessKeys",
                u.clone(),
                "AccessKeyMetadata",
                "AccessKeyId",
            )? {
                self.call(
                    "iam",
                    "DeleteAccessKey",
                    json!({"UserName": user, "AccessKeyId": k}),
                )?;
            }
            match self.call("iam", "DeleteLoginProfile", u.clone()) {
                Err(e) if e.code != "NoSuchEntity" => return Err(e),
                _ => {}
            }
            for s in self.names("ListMFADevices", u.clone(), "MFADevices", "SerialNumber")? {
                self.call(
                    "iam",
                    "DeactivateMFADevice",
                    json!({"UserName": user, "SerialNumber": s}),
                )?;
                self.call("iam", "DeleteVirtualMFADevice", json!({"SerialNumber": s}))?;
            }
            for g in self.names("ListGroupsForUser", u.clone(), "Groups", "GroupName")? {
                self.call(
                    "iam",
                    "RemoveUserFromGroup",
                    json!({"UserName": user, "GroupName": g}),
                )?;
            }
            for a in self.names(
                "ListAttachedUserPolicies",
                u.clone(),
                "AttachedPolicies",
                "PolicyArn",
            )? {
                self.call(
                    "iam",
                    "DetachUserPolicy",
                    json!({"UserName": user, "PolicyArn": a}),
                )?;
            }
            let inline = self.call("iam", "ListUserPolicies", u.clone())?;
            for p in items(&inline, "PolicyNames").iter().map(txt) {
                self.call(
                    "iam",
                    "DeleteUserPolicy",
                    json!({"UserName": user, "PolicyName": p}),
                )?;
            }
            self.call("iam", "DeleteUser", u)?;
            Ok(())
        }
    }

    pub(super) fn delete_role(&self, role: &str) -> Response {
        if let Some(r) = self.confirmed(role) {
            return r;
        }
        self.steps("/console/roles", &format!("Role {role} deleted."), || {
            self.role_steps(role)
        })
    }

    fn role_steps(&self, role: &str) -> Result<(), CallError> {
        {
            let r = json!({"RoleName": role});
            for a in self.names(
                "ListAttachedRolePolicies",
                r.clone(),
                "AttachedPolicies",
                "PolicyArn",
            )? {
                self.call(
                    "iam",
                    "DetachRolePolicy",
                    json!({"RoleName": role, "PolicyArn": a}),
                )?;
            }
            let inline = self.call("iam", "ListRolePolicies", r.clone())?;
            for p in items(&inline, "PolicyNames").iter().map(txt) {
                self.call(
                    "iam",
                    "DeleteRolePolicy",
                    json!({"RoleName": role, "PolicyName": p}),
                )?;
            }
            self.call("iam", "DeleteRole", r)?;
            Ok(())
        }
    }

    pub(super) fn delete_group(&self, group: &str) -> Response {
        if let Some(r) = self.confirmed(group) {
            return r;
        }
        self.steps(
            "/console/groups",
            &format!("Group {group} deleted."),
            || {
                let g = json!({"GroupName": group});
                for u in self.names("GetGroup", g.clone(), "Users", "UserName")? {
                    self.call(
                        "iam",
                        "RemoveUserFromGroup",
                        json!({"GroupName": group, "UserName": u}),
                    )?;
                }
                for a in self.names(
                    "ListAttachedGroupPolicies",
                    g.clone(),
                    "AttachedPolicies",
                    "PolicyArn",
                )? {
                    self.call(
                        "iam",
                        "DetachGroupPolicy",
                        json!({"GroupName": group, "PolicyArn": a}),
                    )?;
                }
                let inline = self.call("iam", "ListGroupPolicies", g.clone())?;
                for p in items(&inline, "PolicyNames").iter().map(txt) {
                    self.call(
                        "iam",
                        "DeleteGroupPolicy",
                        json!({"GroupName": group, "PolicyName": p}),
                    )?;
                }
                self.call("iam", "DeleteGroup", g)?;
                Ok(())
            },
        )
    }

    pub(super) fn delete_policy(&self, arn: &str) -> Response {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        if let Some(r) = self.confirmed(name) {
            return r;
        }
        self.steps(
            "/console/policies",
            &format!("Policy {name} deleted."),
            || self.policy_steps(arn),
        )
    }

    fn policy_steps(&self, arn: &str) -> Result<(), CallError> {
        {
            {
                let p = json!({"PolicyArn": arn});
                let e = self.call("iam", "ListEntitiesForPolicy", p.clone())?;
                for (list, member, op, key) in [
                    ("PolicyUsers", "UserName", "DetachUserPolicy", "UserName"),
                    (
                        "PolicyGroups",
                        "GroupName",
                        "DetachGroupPolicy",
                        "GroupName",
                    ),
                    ("PolicyRoles", "RoleName", "DetachRolePolicy", "RoleName"),
                ] {
                    for n in items(&e, list).iter().map(|x| txt(&x[member])) {
                        self.call("iam", op, json!({key: n, "PolicyArn": arn}))?;
                    }
                }
                let v = self.call("iam", "ListPolicyVersions", p.clone())?;
                for ver in items(&v, "Versions") {
                    if !ver["IsDefaultVersion"].as_bool().unwrap_or(false) {
                        self.call(
                            "iam",
                            "DeletePolicyVersion",
                            json!({"PolicyArn": arn, "VersionId": txt(&ver["VersionId"])}),
                        )?;
                    }
                }
                self.call("iam", "DeletePolicy", p)?;
                Ok(())
            }
        }
    }

    /// The region a repository form names (else the session's).
    fn form_region(&self) -> String {
        let region = self.field("region");
        if super::ecr::valid_region(&region) {
            region
        } else {
            self.s.region.clone()
        }
    }

    fn repository_steps(&self, region: &str, name: &str) -> Result<(), CallError> {
        self.c
            .backend
            .invoke_ecr(
                &self.s.access_key_id,
                region,
                "DeleteRepository",
                json!({"repositoryName": name, "force": true}),
            )
            .map(|_| ())
    }

    /// Deletes an ECR repository with its images (`force`), as the ECR console does.
    pub(super) fn ecr_delete_repository(&self, name: &str) -> Response {
        if let Some(r) = self.confirmed(name) {
            return r;
        }
        let region = self.form_region();
        match self.repository_steps(&region, name) {
            Ok(_) => self.done(
                &format!("/console/ecr/repositories?region={}", seg(&region)),
                format!("Repository {name} deleted."),
            ),
            Err(e) => self.failed("Delete repository", &e),
        }
    }

    /// A list's "Delete selected": the chosen entities (checkboxes of the table, which belong
    /// to this form by `form=`), `delete` typed to confirm, as the IAM console asks for several.
    /// The console's script opens it as a modal dialog naming the selection; without the
    /// script it is a plain form under the table.
    pub(super) fn bulk_delete_section(&self, noun: &str, action: &str, extra: &str) -> String {
        format!(
            r#"<section class="danger-zone" data-confirm="Delete the selected {noun}?" data-bulk="delete-selected" aria-label="Delete selected {noun}"><form method="post" action="{action}" id="delete-selected" class="bulk-actions">{csrf}{extra}
<label for="confirm-bulk-delete">To confirm deleting the selected {noun}, enter <code>delete</code></label> <input type="text" id="confirm-bulk-delete" name="ConfirmName" required autocomplete="off">
<button type="submit" class="danger">Delete selected {noun}</button></form></section>"#,
            action = esc(action),
            csrf = self.csrf(),
        )
    }

    /// Runs `one` for each selected name (field `field`) after the typed `delete`; stops at
    /// the first refusal, saying what was deleted before it.
    fn bulk(
        &self,
        field: &str,
        noun: &str,
        to: &str,
        label: impl Fn(&str) -> String,
        one: impl Fn(&str) -> Result<(), CallError>,
    ) -> Response {
        let chosen: Vec<String> = self
            .r
            .fields(field)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if chosen.is_empty() || self.r.field("ConfirmName").map(str::trim) != Some("delete") {
            return super::kit::page_status(
                StatusCode::BAD_REQUEST,
                "Not deleted",
                Some(self.s),
                &format!(
                    r#"{}<p><a href="{}">Back</a></p>"#,
                    error_box(
                        "ValidationError",
                        &format!(
                            "Select the {noun} to delete and type 'delete' to confirm. Nothing was deleted."
                        ),
                    ),
                    esc(to)
                ),
            );
        }
        let mut deleted = Vec::new();
        for name in &chosen {
            if let Err(e) = one(name) {
                let before = if deleted.is_empty() {
                    "Nothing was deleted.".to_owned()
                } else {
                    format!("Deleted before it: {}.", deleted.join(", "))
                };
                return self.page_with_status(
                    super::kit::error_status(&e),
                    "Delete",
                    &format!(
                        r#"{}<p>{} could not be deleted. {}</p><p><a href="{}">Back</a></p>"#,
                        error_box(&e.code, &e.message),
                        esc(&label(name)),
                        esc(&before),
                        esc(to)
                    ),
                );
            }
            deleted.push(label(name));
        }
        self.done(to, format!("Deleted {}: {}.", noun, deleted.join(", ")))
    }

    pub(super) fn delete_selected_users(&self) -> Response {
        self.bulk("UserName", "users", "/console/users", str::to_owned, |u| {
            self.user_steps(u)
        })
    }

    pub(super) fn delete_selected_roles(&self) -> Response {
        self.bulk("RoleName", "roles", "/console/roles", str::to_owned, |r| {
            self.role_steps(r)
        })
    }

    pub(super) fn delete_selected_policies(&self) -> Response {
        self.bulk(
            "PolicyArn",
            "policies",
            "/console/policies?type=customer",
            |a| a.rsplit('/').next().unwrap_or(a).to_owned(),
            |a| self.policy_steps(a),
        )
    }

    pub(super) fn delete_selected_repositories(&self) -> Response {
        let region = self.form_region();
        self.bulk(
            "repositoryName",
            "repositories",
            &format!("/console/ecr/repositories?region={}", seg(&region)),
            str::to_owned,
            |n| self.repository_steps(&region, n),
        )
    }
}
