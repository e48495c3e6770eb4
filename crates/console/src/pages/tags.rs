//! Tags of users and roles: listed with a Remove button each, and a form to add or change one
//! (TagUser / TagRole overwrite a key's value; UntagUser / UntagRole remove it).

use super::kit::{P, items, txt};
use crate::html::{error_box, esc, seg};
use axum::response::Response;
use serde_json::json;

/// `(list, tag, untag, member, path)` of the IAM operations for an entity kind.
fn ops(
    kind: &str,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match kind {
        "User" => ("ListUserTags", "TagUser", "UntagUser", "UserName", "users"),
        _ => ("ListRoleTags", "TagRole", "UntagRole", "RoleName", "roles"),
    }
}

impl P<'_> {
    /// The "Tags" section of a user's or role's page.
    pub(super) fn tags_section(&self, kind: &str, name: &str) -> String {
        let (list, _, _, member, path) = ops(kind);
        let base = format!("/console/{path}/{}/tags", seg(name));
        let csrf = self.csrf();
        let mut o = String::from("<h2>Tags</h2>");
        match self.call("iam", list, json!({member: name})) {
            Ok(v) => {
                let tags = items(&v, "Tags");
                if tags.is_empty() {
                    o.push_str("<p>No tags.</p>");
                } else {
                    let rows: String = tags
                        .iter()
                        .map(|t| {
                            let k = txt(&t["Key"]);
                            format!(
                                r#"<tr><td>{k}</td><td>{v}</td><td><form method="post" action="{base}/remove" class="inline">{csrf}<input type="hidden" name="Key" value="{k}"><button type="submit" aria-label="Remove tag {k}">Remove</button></form></td></tr>"#,
                                k = esc(&k),
                                v = esc(&txt(&t["Value"])),
                            )
                        })
                        .collect();
                    o.push_str(&format!(
                        "<table><thead><tr><th>Key</th><th>Value</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
                    ));
                }
            }
            Err(e) => o.push_str(&error_box(&e.code, &e.message)),
        }
        o.push_str(&format!(
            r#"<form method="post" action="{base}">{csrf}
<label for="tag-key">Tag key</label> <input type="text" id="tag-key" name="Key" required maxlength="128">
<label for="tag-value">Tag value (optional)</label> <input type="text" id="tag-value" name="Value" maxlength="256">
<button type="submit">Add tag</button></form>"#
        ));
        o
    }

    /// `POST /console/{users|roles}/NAME/tags`: adds the tag (or changes its value).
    pub(super) fn add_tag(&self, kind: &str, name: &str) -> Response {
        let (_, tag, _, member, path) = ops(kind);
        let tags = json!([{"Key": self.field("Key"), "Value": self.field("Value")}]);
        match self.call("iam", tag, json!({member: name, "Tags": tags})) {
            Ok(_) => self.done(&format!("/console/{path}/{}#tags", seg(name)), "Tag saved."),
            Err(e) => self.failed("Add tag", &e),
        }
    }

    /// `POST /console/{users|roles}/NAME/tags/remove`: removes the tag `Key`.
    pub(super) fn remove_tag(&self, kind: &str, name: &str) -> Response {
        let (_, _, untag, member, path) = ops(kind);
        let keys = json!([self.field("Key")]);
        match self.call("iam", untag, json!({member: name, "TagKeys": keys})) {
            Ok(_) => self.done(
                &format!("/console/{path}/{}#tags", seg(name)),
                "Tag removed.",
            ),
            Err(e) => self.failed("Remove tag", &e),
        }
    }
}
