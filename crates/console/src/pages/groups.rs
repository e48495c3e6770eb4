//! Groups: list and create, a group's members (add, remove) and attached policies (attach,
//! detach), and "add to group" from a user's page.

use super::kit::{P, entity_rows, items, policy_table_with_detach, txt};
use crate::html::{error_box, esc, seg};
use axum::response::Response;
use serde_json::json;

impl P<'_> {
    pub(super) fn groups(&self) -> Response {
        let out = match self.call("iam", "ListGroups", json!({"MaxItems": 1000})) {
            Ok(v) => v,
            Err(e) => return self.failed("User groups", &e),
        };
        let list = items(&out, "Groups");
        let rows = entity_rows(
            list,
            "groups",
            "GroupName",
            "GroupName",
            &["CreateDate"],
            None,
        );
        let table = crate::html::data_table(
            "User groups",
            "groups",
            &["Group name", "ARN", "Created"],
            &rows,
            list.len(),
            r##"<strong>No user groups yet</strong> <a href="#create-group">Create a group</a> to give several users the same permissions."##,
        );
        self.page(
            "User groups",
            &format!(
                r#"{table}
<h2 id="create-group">Create group</h2><form method="post" action="/console/groups">{csrf}
<label for="group-name">User group name</label> <input type="text" id="group-name" name="GroupName" required maxlength="128">
<button type="submit">Create group</button></form>"#,
                csrf = self.csrf()
            ),
        )
    }

    pub(super) fn create_group(&self) -> Response {
        let name = self.field("GroupName");
        match self.call("iam", "CreateGroup", json!({"GroupName": name})) {
            Ok(_) => self.done(
                &format!("/console/groups/{}", seg(&name)),
                format!("Group {name} created."),
            ),
            Err(e) => self.failed("Create group", &e),
        }
    }

    pub(super) fn group(&self, name: &str) -> Response {
        let g = match self.call(
            "iam",
            "GetGroup",
            json!({"GroupName": name, "MaxItems": 1000}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed(name, &e),
        };
        let base = format!("/console/groups/{}", seg(name));
        let csrf = self.csrf();
        let mut body = format!(
            "<p>ARN: <code>{}</code><br>Created: {}</p><h2>Users</h2>",
            esc(&txt(&g["Group"]["Arn"])),
            esc(&txt(&g["Group"]["CreateDate"]))
        );
        let rows: String = items(&g, "Users")
            .iter()
            .map(|u| {
                let un = txt(&u["UserName"]);
                format!(
                    r#"<tr><td><a href="/console/users/{s}">{n}</a></td><td><form method="post" action="{base}/members/{s}/remove" class="inline">{csrf}<button type="submit" aria-label="Remove {n} from the group">Remove</button></form></td></tr>"#,
                    s = seg(&un),
                    n = esc(&un),
                )
            })
            .collect();
        body.push_str(&format!(
            r#"<table><thead><tr><th>User name</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>
<form method="post" action="{base}/members">{csrf}
<label for="member-name">User name</label> <input type="text" id="member-name" name="UserName" required>
<button type="submit">Add user</button></form><h2>Permissions policies</h2>"#
        ));
        match self.call(
            "iam",
            "ListAttachedGroupPolicies",
            json!({"GroupName": name}),
        ) {
            Ok(v) => body.push_str(&policy_table_with_detach(
                items(&v, "AttachedPolicies"),
                &format!("{base}/detach-policy"),
                &csrf,
            )),
            Err(e) => body.push_str(&error_box(&e.code, &e.message)),
        }
        body.push_str(&format!(
            r#"<form method="post" action="{base}/attach-policy">{csrf}
<label for="group-policy-arn">Policy ARN</label> <input type="text" id="group-policy-arn" name="PolicyArn" required list="policy-arns" placeholder="arn:aws:iam::{acct}:policy/Name">{arns}
<button type="submit">Attach policy</button></form>"#,
            acct = esc(&self.account()),
            arns = self.policy_datalist()
        ));
        body.push_str(&self.inline_section("Group", name));
        body.push_str(&self.access_advisor(&txt(&g["Group"]["Arn"])));
        body.push_str(&self.delete_section("group", name, &format!("{base}/delete")));
        self.page(name, &body)
    }

    pub(super) fn add_member(&self, group: &str) -> Response {
        let user = self.field("UserName");
        match self.call(
            "iam",
            "AddUserToGroup",
            json!({"GroupName": group, "UserName": user}),
        ) {
            Ok(_) => self.done(&format!("/console/groups/{}", seg(group)), "User added."),
            Err(e) => self.failed("Add user to group", &e),
        }
    }

    pub(super) fn remove_member(&self, group: &str, user: &str) -> Response {
        match self.call(
            "iam",
            "RemoveUserFromGroup",
            json!({"GroupName": group, "UserName": user}),
        ) {
            Ok(_) => self.done(&format!("/console/groups/{}", seg(group)), "User removed."),
            Err(e) => self.failed("Remove user from group", &e),
        }
    }

    /// "Add user to groups" from the user's page.
    pub(super) fn add_user_to_group_from_user(&self, user: &str) -> Response {
        let group = self.field("GroupName");
        match self.call(
            "iam",
            "AddUserToGroup",
            json!({"GroupName": group, "UserName": user}),
        ) {
            Ok(_) => self.done(
                &format!("/console/users/{}#groups", seg(user)),
                "Added to the group.",
            ),
            Err(e) => self.failed("Add user to group", &e),
        }
    }
}
