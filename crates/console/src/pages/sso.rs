//! IAM Identity Center, as its AWS console has it: the dashboard (the instance, the AWS access
//! portal's URL, "Enable" when the account has no instance), the identity store's users
//! (create, detail with groups and assignments, the portal password, delete) and groups
//! (create, members, delete). Permission sets and AWS accounts are `pages/sso_access.rs`.
//!
//! Every action is one `identitystore` or `sso-admin` call through [`crate::Backend::invoke`]
//! as the signed-in principal, so its policies and Identity Center's rule (only the owning
//! account's principals reach an instance) decide; a refusal is shown in AWS's words. The
//! portal password (AWS e-mails an invitation; kagi cannot) is kagi's extension
//! `KagiIdentityCenter.SetPortalPassword`, the call `kagi sso set-password` signs, authorised
//! as `identitystore:UpdateUser`. A user's MFA devices (the "MFA devices" tab: list, delete)
//! and the instance's MFA settings (`/console/sso/settings`) are the same extension's
//! `ListMfaDevicesForUser`/`DeleteMfaDeviceForUser` (`sso-directory:…`) and
//! `Get`/`PutMfaDeviceManagementForDirectory` (`sso:…`), the internal calls AWS's console makes.

use super::kit::{P, items, txt};
use crate::CallError;
use crate::html::{data_table, error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// The account's Identity Center instance, as ListInstances describes it.
pub(super) struct Ic {
    pub(super) arn: String,
    pub(super) store: String,
}

impl Ic {
    /// `ssoins-…`, the last part of the instance's ARN.
    pub(super) fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }

    /// The AWS access portal's path on this server.
    pub(super) fn portal(&self) -> String {
        format!("/start/{}", self.store)
    }
}

/// The select options of every user and group: `(USER|GROUP, id, label)`.
pub(super) type Principal = (&'static str, String, String);

impl P<'_> {
    pub(super) fn ids(&self, op: &str, input: Value) -> Result<Value, CallError> {
        self.call("identitystore", op, input)
    }

    pub(super) fn ssoa(&self, op: &str, input: Value) -> Result<Value, CallError> {
        self.call("sso-admin", op, input)
    }

    /// The account's instance; without one, the page saying so and offering to enable it (or
    /// the error, as AWS words it).
    pub(super) fn ic(&self, title: &str) -> Result<Ic, Box<Response>> {
        match self.ssoa("ListInstances", json!({})) {
            Ok(v) => match items(&v, "Instances").first() {
                Some(i) => Ok(Ic {
                    arn: txt(&i["InstanceArn"]),
                    store: txt(&i["IdentityStoreId"]),
                }),
                None => Err(Box::new(self.page(
                    title,
                    &format!(
                        r#"<div class="notice" role="note"><h2>Enable IAM Identity Center</h2><p>IAM Identity Center is not enabled in this account ({me}). Enable it to manage your workforce's access in one place: create users and groups, define permission sets, and assign them to AWS accounts. People then sign in to the AWS access portal, or with <code>kagi sso login</code>, and get short-lived credentials instead of long-term access keys.</p><p>In an organization's management account, the instance serves every account of the organization; elsewhere it serves this account only. (The CLI: <code>kagi sso-admin create-instance</code>.)</p>
<form method="post" action="/console/sso/enable">{csrf}<button type="submit" class="primary">Enable</button></form></div>"#,
                        me = esc(&self.account()),
                        csrf = self.csrf(),
                    ),
                ))),
            },
            Err(e) => Err(Box::new(self.failed(title, &e))),
        }
    }

    pub(super) fn sso_enable(&self) -> Response {
        match self.ssoa("CreateInstance", json!({})) {
            Ok(_) => self.done("/console/sso", "IAM Identity Center enabled."),
            Err(e) => self.failed_back("Enable IAM Identity Center", &e, "/console/sso"),
        }
    }

    /// `/console/sso`: the dashboard.
    pub(super) fn sso_dashboard(&self) -> Response {
        let title = "IAM Identity Center";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let body = format!(
            r#"<dl class="facts"><dt>Instance ARN</dt><dd><code>{arn}</code></dd><dt>Identity store ID</dt><dd><code>{store}</code></dd><dt>AWS access portal URL</dt><dd><a href="{portal}">{portal}</a> (on this server)</dd><dt>Identity source</dt><dd>Identity Center directory</dd></dl>
<h2>Recommended setup steps</h2><ol class="steps">
<li><a href="/console/sso/users">Add users</a> and <a href="/console/sso/groups">groups</a> to the Identity Center directory, and set each user's portal password.</li>
<li><a href="/console/sso/permission-sets">Create a permission set</a>: the policies a role session gets in an account.</li>
<li><a href="/console/sso/accounts">Assign users or groups</a> to AWS accounts with permission sets.</li>
<li>People sign in at the <a href="{portal}">AWS access portal</a> or with <code>kagi configure sso</code> and <code>kagi sso login</code>.</li></ol>"#,
            arn = esc(&ic.arn),
            store = esc(&ic.store),
            portal = esc(&ic.portal()),
        );
        self.page(title, &body)
    }

    /// Every user of the store: `(id, user name, the whole description)`.
    pub(super) fn sso_users_of(&self, ic: &Ic) -> Result<Vec<Value>, CallError> {
        self.call_all(
            "identitystore",
            "ListUsers",
            json!({"IdentityStoreId": ic.store}),
            "Users",
        )
    }

    pub(super) fn sso_groups_of(&self, ic: &Ic) -> Result<Vec<Value>, CallError> {
        self.call_all(
            "identitystore",
            "ListGroups",
            json!({"IdentityStoreId": ic.store}),
            "Groups",
        )
    }

    /// Users then groups, for the assignment form and principal names.
    pub(super) fn sso_principals(&self, ic: &Ic) -> Result<Vec<Principal>, CallError> {
        let mut out: Vec<Principal> = self
            .sso_users_of(ic)?
            .iter()
            .map(|u| ("USER", txt(&u["UserId"]), txt(&u["UserName"])))
            .collect();
        out.extend(
            self.sso_groups_of(ic)?
                .iter()
                .map(|g| ("GROUP", txt(&g["GroupId"]), txt(&g["DisplayName"]))),
        );
        Ok(out)
    }

    /// `/console/sso/users`.
    pub(super) fn sso_users(&self) -> Response {
        let title = "Users";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let users = match self.sso_users_of(&ic) {
            Ok(u) => u,
            Err(e) => return self.failed(title, &e),
        };
        let rows: String = users
            .iter()
            .map(|u| {
                let email = items(u, "Emails")
                    .first()
                    .map(|e| txt(&e["Value"]))
                    .unwrap_or_default();
                format!(
                    r#"<tr><td><a href="/console/sso/users/{s}">{n}</a></td><td>{d}</td><td>{e}</td><td>{st}</td><td>{c}</td></tr>"#,
                    s = seg(&txt(&u["UserName"])),
                    n = esc(&txt(&u["UserName"])),
                    d = esc(&txt(&u["DisplayName"])),
                    e = esc(&email),
                    st = esc(&txt(&u["UserStatus"])),
                    c = esc(&txt(&u["CreatedAt"])),
                )
            })
            .collect();
        let table = data_table(
            "Users",
            "users",
            &["Username", "Display name", "Email", "Status", "Created"],
            &rows,
            users.len(),
            r##"<strong>No users yet</strong> <a href="#create-user">Add a user</a> to let a person sign in to the AWS access portal."##,
        );
        let groups: String = self
            .sso_groups_of(&ic)
            .unwrap_or_default()
            .iter()
            .map(|g| {
                format!(
                    r#"<option value="{}">{}</option>"#,
                    esc(&txt(&g["GroupId"])),
                    esc(&txt(&g["DisplayName"]))
                )
            })
            .collect();
        let body = format!(
            r#"{table}
<h2 id="create-user">Add user</h2><form method="post" action="/console/sso/users">{csrf}
<label>Username <input type="text" name="UserName" required maxlength="128" autocomplete="off"></label>
<label>First name <input type="text" name="GivenName" required maxlength="1024"></label>
<label>Last name <input type="text" name="FamilyName" required maxlength="1024"></label>
<label>Display name <input type="text" name="DisplayName" maxlength="1024" placeholder="First and last name"></label>
<label>Email address (optional) <input type="email" name="Email" maxlength="1024"></label>
<label>Portal password (optional: AWS e-mails an invitation to choose one; kagi sets it here) <input type="password" name="Password" autocomplete="new-password"></label>
<label for="new-sso-user-group">Add to group (optional)</label> <select id="new-sso-user-group" name="GroupId"><option value="">None</option>{groups}</select>
<button type="submit">Add user</button></form>"#,
            csrf = self.csrf(),
        );
        self.page(title, &body)
    }

    pub(super) fn sso_create_user(&self) -> Response {
        let back = "/console/sso/users";
        let ic = match self.ic("Add user") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let name = self.field("UserName");
        let (given, family) = (self.field("GivenName"), self.field("FamilyName"));
        let mut display = self.field("DisplayName");
        if display.is_empty() {
            display = format!("{given} {family}").trim().to_owned();
        }
        let mut input = json!({"IdentityStoreId": ic.store, "UserName": name,
            "DisplayName": display, "Name": {"GivenName": given, "FamilyName": family}});
        let email = self.field("Email");
        if !email.is_empty() {
            input["Emails"] = json!([{"Value": email, "Type": "work", "Primary": true}]);
        }
        let id = match self.ids("CreateUser", input) {
            Ok(v) => txt(&v["UserId"]),
            Err(e) => return self.failed_back("Add user", &e, back),
        };
        let to = format!("/console/sso/users/{}", seg(&name));
        let group = self.field("GroupId");
        if !group.is_empty()
            && let Err(e) = self.ids(
                "CreateGroupMembership",
                json!({"IdentityStoreId": ic.store, "GroupId": group, "MemberId": {"UserId": id}}),
            )
        {
            return self.failed_back("Add user to group", &e, &to);
        }
        let password = self.r.field("Password").unwrap_or("");
        if !password.is_empty()
            && let Err(e) = self.set_portal_password(&ic, &name, password)
        {
            return self.page_with_status(
                super::kit::error_status(&e),
                "Add user",
                &format!(
                    r#"{}<p>The user {} was added without a portal password. <a href="{}">Set one on the user's page</a>.</p>"#,
                    error_box(&e.code, &e.message),
                    esc(&name),
                    esc(&format!("{to}#password"))
                ),
            );
        }
        self.done(&to, format!("User {name} added."))
    }

    fn set_portal_password(&self, ic: &Ic, user: &str, password: &str) -> Result<(), CallError> {
        self.call(
            "kagi-identity-center",
            "SetPortalPassword",
            json!({"IdentityStoreId": ic.store, "UserName": user, "Password": password}),
        )
        .map(|_| ())
    }

    /// A user's id from its user name.
    fn sso_user_id(&self, ic: &Ic, name: &str) -> Result<String, CallError> {
        self.ids(
            "GetUserId",
            json!({"IdentityStoreId": ic.store, "AlternateIdentifier":
                {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name}}}),
        )
        .map(|v| txt(&v["UserId"]))
    }

    fn sso_group_id(&self, ic: &Ic, name: &str) -> Result<String, CallError> {
        self.ids(
            "GetGroupId",
            json!({"IdentityStoreId": ic.store, "AlternateIdentifier":
                {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}}}),
        )
        .map(|v| txt(&v["GroupId"]))
    }

    /// `/console/sso/users/NAME`: details, groups, AWS accounts, the portal password, delete.
    pub(super) fn sso_user(&self, name: &str) -> Response {
        let ic = match self.ic(name) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let user = match self.sso_user_id(&ic, name).and_then(|id| {
            self.ids(
                "DescribeUser",
                json!({"IdentityStoreId": ic.store, "UserId": id}),
            )
        }) {
            Ok(u) => u,
            Err(e) => return self.failed(name, &e),
        };
        let id = txt(&user["UserId"]);
        let base = format!("/console/sso/users/{}", seg(name));
        let csrf = self.csrf();
        let email = items(&user, "Emails")
            .first()
            .map(|e| txt(&e["Value"]))
            .unwrap_or_default();
        let facts = format!(
            r#"<dl class="facts"><dt>User ID</dt><dd><code>{id}</code></dd><dt>Display name</dt><dd>{d}</dd><dt>Name</dt><dd>{g} {f}</dd><dt>Email</dt><dd>{e}</dd><dt>Status</dt><dd>{st}</dd><dt>Created</dt><dd>{c}</dd></dl>"#,
            id = esc(&id),
            d = esc(&txt(&user["DisplayName"])),
            g = esc(&txt(&user["Name"]["GivenName"])),
            f = esc(&txt(&user["Name"]["FamilyName"])),
            e = esc(&email),
            st = esc(&txt(&user["UserStatus"])),
            c = esc(&txt(&user["CreatedAt"])),
        );
        // Groups: the memberships, named.
        let groups = self.sso_groups_of(&ic).unwrap_or_default();
        let group_name = |gid: &str| {
            groups
                .iter()
                .find(|g| txt(&g["GroupId"]) == gid)
                .map(|g| txt(&g["DisplayName"]))
                .unwrap_or_else(|| gid.to_owned())
        };
        let groups_tab = match self.call_all(
            "identitystore",
            "ListGroupMembershipsForMember",
            json!({"IdentityStoreId": ic.store, "MemberId": {"UserId": id}}),
            "GroupMemberships",
        ) {
            Ok(ms) => {
                let rows: String = ms
                    .iter()
                    .map(|m| {
                        let g = group_name(&txt(&m["GroupId"]));
                        format!(
                            r#"<tr><td><a href="/console/sso/groups/{s}">{n}</a></td><td><form method="post" action="{base}/groups/remove" class="inline">{csrf}<input type="hidden" name="MembershipId" value="{mid}"><button type="submit" aria-label="Remove {n}">Remove</button></form></td></tr>"#,
                            s = seg(&g),
                            n = esc(&g),
                            mid = esc(&txt(&m["MembershipId"])),
                        )
                    })
                    .collect();
                let options: String = groups
                    .iter()
                    .map(|g| {
                        format!(
                            r#"<option value="{}">{}</option>"#,
                            esc(&txt(&g["GroupId"])),
                            esc(&txt(&g["DisplayName"]))
                        )
                    })
                    .collect();
                let add = if groups.is_empty() {
                    r#"<p><a href="/console/sso/groups">Create a group</a> to add the user to it.</p>"#.to_owned()
                } else {
                    format!(
                        r#"<form method="post" action="{base}/groups">{csrf}<label for="sso-add-group">Add user to group</label> <select id="sso-add-group" name="GroupId">{options}</select> <button type="submit">Add to group</button></form>"#
                    )
                };
                format!(
                    "{}{add}",
                    data_table(
                        "Groups",
                        "groups",
                        &["Group name", "Actions"],
                        &rows,
                        ms.len(),
                        "<strong>Not in any group.</strong> Add the user to a group below.",
                    )
                )
            }
            Err(e) => error_box(&e.code, &e.message),
        };
        let accounts_tab = match self.call_all(
            "sso-admin",
            "ListAccountAssignmentsForPrincipal",
            json!({"InstanceArn": ic.arn, "PrincipalType": "USER", "PrincipalId": id}),
            "AccountAssignments",
        ) {
            Ok(list) => {
                let rows: String = list
                    .iter()
                    .map(|a| {
                        let acct = txt(&a["AccountId"]);
                        let ps = txt(&a["PermissionSetArn"]);
                        let psid = ps.rsplit('/').next().unwrap_or(&ps).to_owned();
                        format!(
                            r#"<tr><td><a href="/console/sso/accounts/{a}">{a}</a></td><td><a href="/console/sso/permission-sets/{p}"><code>{p}</code></a></td></tr>"#,
                            a = esc(&acct),
                            p = esc(&psid),
                        )
                    })
                    .collect();
                data_table(
                    "AWS accounts",
                    "assignments",
                    &["AWS account", "Permission set"],
                    &rows,
                    list.len(),
                    r#"<strong>No assignments.</strong> <a href="/console/sso/accounts">Assign the user to an AWS account</a>."#,
                )
            }
            Err(e) => error_box(&e.code, &e.message),
        };
        let password_tab = format!(
            r#"<p>AWS e-mails a new user an invitation to choose a password for the AWS access portal; kagi sends no e-mail, so set it here (or with <code>kagi sso set-password</code>). The user signs in at <a href="{portal}">{portal}</a>.</p>
<form method="post" action="{base}/password">{csrf}
<label>New password <input type="password" name="Password" required autocomplete="new-password"></label>
<label>Confirm password <input type="password" name="ConfirmPassword" required autocomplete="new-password"></label>
<button type="submit">Set password</button></form>"#,
            portal = esc(&ic.portal()),
        );
        let mfa_tab = self.sso_mfa_tab(&ic, &id, &base);
        let body = format!(
            "{facts}{tabs}{delete}",
            tabs = crate::html::tabs(
                &format!("Sections of user {name}"),
                &[
                    ("groups", "Groups", &groups_tab),
                    ("accounts", "AWS accounts", &accounts_tab),
                    ("password", "Portal password", &password_tab),
                    ("mfa", "MFA devices", &mfa_tab),
                ],
            ),
            delete = self.delete_section("user", name, &format!("{base}/delete")),
        );
        self.page(name, &body)
    }

    pub(super) fn sso_user_password(&self, name: &str) -> Response {
        let back = format!("/console/sso/users/{}#password", seg(name));
        let ic = match self.ic("Set password") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        // The two typed copies of the new password (no stored secret is compared here).
        let new = self.r.field("Password").unwrap_or("");
        if self.r.field("ConfirmPassword").unwrap_or("") != new {
            return self.page_with_status(
                StatusCode::BAD_REQUEST,
                "Set password",
                &format!(
                    r#"{}<p><a href="{}">Back</a></p>"#,
                    error_box(
                        "ValidationException",
                        "The passwords do not match. The password was not changed."
                    ),
                    esc(&back)
                ),
            );
        }
        match self.set_portal_password(&ic, name, new) {
            Ok(()) => self.done(
                &back,
                format!(
                    "Password set: {name} can sign in to the AWS access portal at {}.",
                    ic.portal()
                ),
            ),
            Err(e) => self.failed_back("Set password", &e, &back),
        }
    }

    /// A user's "MFA devices" tab: the authenticator apps they registered in the AWS access
    /// portal, each with Delete.
    fn sso_mfa_tab(&self, ic: &Ic, id: &str, base: &str) -> String {
        let csrf = self.csrf();
        match self.call(
            "kagi-identity-center",
            "ListMfaDevicesForUser",
            json!({"IdentityStoreId": ic.store, "UserId": id}),
        ) {
            Ok(v) => {
                let list = items(&v, "MfaDevices");
                let rows: String = list
                    .iter()
                    .map(|d| {
                        let n = txt(&d["DeviceName"]);
                        let used = txt(&d["LastUsedDate"]);
                        format!(
                            r#"<tr><td>{n}</td><td>Authenticator app</td><td>{r}</td><td>{u}</td><td><form method="post" action="{base}/mfa/delete" class="inline">{csrf}<input type="hidden" name="DeviceId" value="{id}"><button type="submit" aria-label="Delete MFA device {n}">Delete</button></form></td></tr>"#,
                            n = esc(&n),
                            r = esc(&txt(&d["RegisteredDate"])),
                            u = if used.is_empty() { "Never".to_owned() } else { esc(&used) },
                            id = esc(&txt(&d["DeviceId"])),
                        )
                    })
                    .collect();
                format!(
                    r#"<p>Users register authenticator apps in the <a href="{portal}">AWS access portal</a> (MFA devices). When you delete a user's last device, what their next sign-in asks depends on the <a href="/console/sso/settings">MFA settings</a>.</p>{}"#,
                    data_table(
                        "MFA devices",
                        "devices",
                        &["Device name", "Type", "Registered", "Last used", "Actions"],
                        &rows,
                        list.len(),
                        "<strong>No MFA devices.</strong> The user registers one in the AWS access portal.",
                    ),
                    portal = esc(&ic.portal()),
                )
            }
            Err(e) => error_box(&e.code, &e.message),
        }
    }

    pub(super) fn sso_delete_mfa_device(&self, name: &str) -> Response {
        let back = format!("/console/sso/users/{}#mfa", seg(name));
        let ic = match self.ic("Delete MFA device") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let out = self.sso_user_id(&ic, name).and_then(|id| {
            self.call(
                "kagi-identity-center",
                "DeleteMfaDeviceForUser",
                json!({"IdentityStoreId": ic.store, "UserId": id,
                    "DeviceId": self.field("DeviceId")}),
            )
        });
        match out {
            Ok(_) => self.done(&back, format!("MFA device deleted for {name}.")),
            Err(e) => self.failed_back("Delete MFA device", &e, &back),
        }
    }

    /// `/console/sso/settings`: the Authentication settings' multi-factor authentication.
    pub(super) fn sso_settings(&self) -> Response {
        let title = "Settings";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let v = match self.call(
            "kagi-identity-center",
            "GetMfaDeviceManagementForDirectory",
            json!({"IdentityStoreId": ic.store}),
        ) {
            Ok(v) => v,
            Err(e) => return self.failed(title, &e),
        };
        let radio = |name: &str, value: &str, label: &str, current: &str| {
            format!(
                r#"<label><input type="radio" name="{name}" value="{value}"{c}> {label}</label>"#,
                c = if value == current { " checked" } else { "" },
            )
        };
        let mode = txt(&v["MfaMode"]);
        let none = txt(&v["NoMfaSignInBehavior"]);
        let manage = v["UsersCanManageMfaDevices"].as_bool().unwrap_or(true);
        let body = format!(
            r#"<dl class="facts"><dt>Instance ARN</dt><dd><code>{arn}</code></dd><dt>Identity source</dt><dd>Identity Center directory</dd></dl>
<h2>Multi-factor authentication</h2><p>Users of the Identity Center directory sign in to the <a href="{portal}">AWS access portal</a> with their password and, as set here, a code from an authenticator app they registered.</p>
<form method="post" action="/console/sso/settings">{csrf}
<fieldset><legend>Prompt users for MFA</legend>{m1}{m2}{m3}</fieldset>
<fieldset><legend>If a user does not yet have a registered MFA device</legend>{n1}{n2}{n3}</fieldset>
<fieldset><legend>Who can manage MFA devices</legend><label><input type="checkbox" name="UsersCanManageMfaDevices" value="true"{um}> Users can add and manage their own MFA devices</label></fieldset>
<p>Users authenticate with authenticator apps (TOTP). AWS's default for a user without a device, a one-time password sent by e-mail, needs an e-mail kagi cannot send.</p>
<button type="submit" class="primary">Save changes</button></form>"#,
            arn = esc(&ic.arn),
            portal = esc(&ic.portal()),
            csrf = self.csrf(),
            m1 = radio(
                "MfaMode",
                "CONTEXT_AWARE",
                "Only when their sign-in context changes (context-aware)",
                &mode
            ),
            m2 = radio(
                "MfaMode",
                "ALWAYS_ON",
                "Every time they sign in (always-on)",
                &mode
            ),
            m3 = radio("MfaMode", "DISABLED", "Never (disabled)", &mode),
            n1 = radio(
                "NoMfaSignInBehavior",
                "REGISTRATION_REQUIRED",
                "Require them to register an MFA device at sign in",
                &none
            ),
            n2 = radio(
                "NoMfaSignInBehavior",
                "BLOCKED",
                "Block their sign-in",
                &none
            ),
            n3 = radio(
                "NoMfaSignInBehavior",
                "ALLOWED",
                "Allow them to sign in",
                &none
            ),
            um = if manage { " checked" } else { "" },
        );
        self.page(title, &body)
    }

    pub(super) fn sso_save_settings(&self) -> Response {
        let back = "/console/sso/settings";
        let ic = match self.ic("Settings") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        match self.call(
            "kagi-identity-center",
            "PutMfaDeviceManagementForDirectory",
            json!({"IdentityStoreId": ic.store, "MfaMode": self.field("MfaMode"),
                "NoMfaSignInBehavior": self.field("NoMfaSignInBehavior"),
                "UsersCanManageMfaDevices": self.field("UsersCanManageMfaDevices") == "true"}),
        ) {
            Ok(_) => self.done(back, "MFA settings saved."),
            Err(e) => self.failed_back("Settings", &e, back),
        }
    }

    pub(super) fn sso_user_add_group(&self, name: &str) -> Response {
        let back = format!("/console/sso/users/{}#groups", seg(name));
        let ic = match self.ic("Add user to group") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let out = self.sso_user_id(&ic, name).and_then(|id| {
            self.ids(
                "CreateGroupMembership",
                json!({"IdentityStoreId": ic.store, "GroupId": self.field("GroupId"),
                    "MemberId": {"UserId": id}}),
            )
        });
        match out {
            Ok(_) => self.done(&back, format!("User {name} added to the group.")),
            Err(e) => self.failed_back("Add user to group", &e, &back),
        }
    }

    /// Removes a membership (from the user's page or the group's), back to `back`.
    pub(super) fn sso_remove_membership(&self, back: &str) -> Response {
        let ic = match self.ic("Remove from group") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        match self.ids(
            "DeleteGroupMembership",
            json!({"IdentityStoreId": ic.store, "MembershipId": self.field("MembershipId")}),
        ) {
            Ok(_) => self.done(back, "Removed from the group."),
            Err(e) => self.failed_back("Remove from group", &e, back),
        }
    }

    pub(super) fn sso_delete_user(&self, name: &str) -> Response {
        if let Some(r) = self.confirmed(name) {
            return r;
        }
        let ic = match self.ic("Delete user") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        // DeleteUser removes the user's memberships and assignments (and the roles only they
        // kept), as on AWS.
        match self.sso_user_id(&ic, name).and_then(|id| {
            self.ids(
                "DeleteUser",
                json!({"IdentityStoreId": ic.store, "UserId": id}),
            )
        }) {
            Ok(_) => self.done("/console/sso/users", format!("User {name} deleted.")),
            Err(e) => self.failed_back("Delete user", &e, "/console/sso/users"),
        }
    }

    /// `/console/sso/groups`.
    pub(super) fn sso_groups(&self) -> Response {
        let title = "Groups";
        let ic = match self.ic(title) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let groups = match self.sso_groups_of(&ic) {
            Ok(g) => g,
            Err(e) => return self.failed(title, &e),
        };
        let rows: String = groups
            .iter()
            .map(|g| {
                format!(
                    r#"<tr><td><a href="/console/sso/groups/{s}">{n}</a></td><td>{d}</td><td>{c}</td></tr>"#,
                    s = seg(&txt(&g["DisplayName"])),
                    n = esc(&txt(&g["DisplayName"])),
                    d = esc(&txt(&g["Description"])),
                    c = esc(&txt(&g["CreatedAt"])),
                )
            })
            .collect();
        let table = data_table(
            "Groups",
            "groups",
            &["Group name", "Description", "Created"],
            &rows,
            groups.len(),
            r##"<strong>No groups yet</strong> <a href="#create-group">Create a group</a> to assign several users at once."##,
        );
        let body = format!(
            r#"{table}
<h2 id="create-group">Create group</h2><form method="post" action="/console/sso/groups">{csrf}
<label>Group name <input type="text" name="DisplayName" required maxlength="1024"></label>
<label>Description (optional) <input type="text" name="Description" maxlength="1024"></label>
<button type="submit">Create group</button></form>"#,
            csrf = self.csrf(),
        );
        self.page(title, &body)
    }

    pub(super) fn sso_create_group(&self) -> Response {
        let back = "/console/sso/groups";
        let ic = match self.ic("Create group") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let name = self.field("DisplayName");
        let mut input = json!({"IdentityStoreId": ic.store, "DisplayName": name});
        let d = self.field("Description");
        if !d.is_empty() {
            input["Description"] = json!(d);
        }
        match self.ids("CreateGroup", input) {
            Ok(_) => self.done(
                &format!("/console/sso/groups/{}", seg(&name)),
                format!("Group {name} created."),
            ),
            Err(e) => self.failed_back("Create group", &e, back),
        }
    }

    /// `/console/sso/groups/NAME`: members (add, remove), delete.
    pub(super) fn sso_group(&self, name: &str) -> Response {
        let ic = match self.ic(name) {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let gid = match self.sso_group_id(&ic, name) {
            Ok(g) => g,
            Err(e) => return self.failed(name, &e),
        };
        let group = match self.ids(
            "DescribeGroup",
            json!({"IdentityStoreId": ic.store, "GroupId": gid}),
        ) {
            Ok(g) => g,
            Err(e) => return self.failed(name, &e),
        };
        let base = format!("/console/sso/groups/{}", seg(name));
        let csrf = self.csrf();
        let users = self.sso_users_of(&ic).unwrap_or_default();
        let user_name = |uid: &str| {
            users
                .iter()
                .find(|u| txt(&u["UserId"]) == uid)
                .map(|u| txt(&u["UserName"]))
                .unwrap_or_else(|| uid.to_owned())
        };
        let members = match self.call_all(
            "identitystore",
            "ListGroupMemberships",
            json!({"IdentityStoreId": ic.store, "GroupId": gid}),
            "GroupMemberships",
        ) {
            Ok(m) => m,
            Err(e) => return self.failed(name, &e),
        };
        let rows: String = members
            .iter()
            .map(|m| {
                let u = user_name(&txt(&m["MemberId"]["UserId"]));
                format!(
                    r#"<tr><td><a href="/console/sso/users/{s}">{n}</a></td><td><form method="post" action="{base}/members/remove" class="inline">{csrf}<input type="hidden" name="MembershipId" value="{mid}"><button type="submit" aria-label="Remove {n}">Remove</button></form></td></tr>"#,
                    s = seg(&u),
                    n = esc(&u),
                    mid = esc(&txt(&m["MembershipId"])),
                )
            })
            .collect();
        let options: String = users
            .iter()
            .map(|u| {
                format!(
                    r#"<option value="{}">{}</option>"#,
                    esc(&txt(&u["UserId"])),
                    esc(&txt(&u["UserName"]))
                )
            })
            .collect();
        let add = if users.is_empty() {
            r#"<p><a href="/console/sso/users">Add a user</a> first.</p>"#.to_owned()
        } else {
            format!(
                r#"<form method="post" action="{base}/members">{csrf}<label for="sso-add-member">Add user</label> <select id="sso-add-member" name="UserId">{options}</select> <button type="submit">Add user to group</button></form>"#
            )
        };
        let body = format!(
            r#"<dl class="facts"><dt>Group ID</dt><dd><code>{id}</code></dd><dt>Description</dt><dd>{d}</dd><dt>Created</dt><dd>{c}</dd></dl>{table}{add}{delete}"#,
            id = esc(&gid),
            d = esc(&txt(&group["Description"])),
            c = esc(&txt(&group["CreatedAt"])),
            table = data_table(
                "Users in this group",
                "members",
                &["Username", "Actions"],
                &rows,
                members.len(),
                "<strong>No users in this group.</strong> Add one below.",
            ),
            delete = self.delete_section("group", name, &format!("{base}/delete")),
        );
        self.page(name, &body)
    }

    pub(super) fn sso_add_member(&self, name: &str) -> Response {
        let back = format!("/console/sso/groups/{}", seg(name));
        let ic = match self.ic("Add user to group") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        let out = self.sso_group_id(&ic, name).and_then(|gid| {
            self.ids(
                "CreateGroupMembership",
                json!({"IdentityStoreId": ic.store, "GroupId": gid,
                    "MemberId": {"UserId": self.field("UserId")}}),
            )
        });
        match out {
            Ok(_) => self.done(&back, format!("User added to group {name}.")),
            Err(e) => self.failed_back("Add user to group", &e, &back),
        }
    }

    pub(super) fn sso_delete_group(&self, name: &str) -> Response {
        if let Some(r) = self.confirmed(name) {
            return r;
        }
        let ic = match self.ic("Delete group") {
            Ok(ic) => ic,
            Err(page) => return *page,
        };
        match self.sso_group_id(&ic, name).and_then(|gid| {
            self.ids(
                "DeleteGroup",
                json!({"IdentityStoreId": ic.store, "GroupId": gid}),
            )
        }) {
            Ok(_) => self.done("/console/sso/groups", format!("Group {name} deleted.")),
            Err(e) => self.failed_back("Delete group", &e, "/console/sso/groups"),
        }
    }
}
