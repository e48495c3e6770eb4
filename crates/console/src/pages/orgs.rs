//! AWS Organizations: the organization of the signed-in account. For principals of its
//! management account: the accounts (name, id, e-mail, status, parent), the OUs as a tree,
//! creating an account or an OU, moving an account; the control policies (SCPs, RCPs): the
//! policy types enabled on the root, creating and editing a policy in the policy editor,
//! attaching it to and detaching it from the root, an OU or an account. A member account sees
//! a read-only notice; an account in no organization is offered "Create organization".
//!
//! Every action is one Organizations API call through [`crate::Backend::invoke`] as the
//! signed-in principal, so its policies (and AWS's rule that only the management account
//! manages) decide; a refusal is shown in AWS's words.

use super::kit::{P, items, txt};
use crate::CallError;
use crate::html::{data_table, error_box, esc, seg};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// The control policy types the console manages: (API name, short name, editor's policy type).
const TYPES: [(&str, &str, &str); 2] = [
    (
        "SERVICE_CONTROL_POLICY",
        "Service control policies (SCPs)",
        "identity",
    ),
    (
        "RESOURCE_CONTROL_POLICY",
        "Resource control policies (RCPs)",
        "resource",
    ),
];

/// What a new policy's editor starts with, per type.
fn starter(kind: &str) -> String {
    let doc = if kind == "RESOURCE_CONTROL_POLICY" {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]})
    } else {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "iam:CreateUser", "Resource": "*"}]})
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// One node of the organization's tree: the root, an OU or an account.
struct Node {
    id: String,
    name: String,
    /// `ROOT`, `ORGANIZATIONAL_UNIT` or `ACCOUNT`.
    kind: &'static str,
    depth: usize,
    /// For an account: e-mail and status.
    email: String,
    status: String,
    /// The parent's id and name (none for the root).
    parent: Option<(String, String)>,
}

/// The organization as the management account sees it.
struct Tree {
    org: Value,
    root_id: String,
    /// The root's `PolicyTypes` (`[{Type, Status}]`).
    policy_types: Vec<Value>,
    /// Depth first, the root first, each parent's OUs before its accounts.
    nodes: Vec<Node>,
}

/// Whether an error says the account is in no organization.
fn not_in_use(e: &CallError) -> bool {
    e.code == "AWSOrganizationsNotInUseException"
}

impl P<'_> {
    fn org(&self, op: &str, input: Value) -> Result<Value, CallError> {
        self.call("organizations", op, input)
    }

    fn org_all(&self, op: &str, input: Value, key: &str) -> Result<Vec<Value>, CallError> {
        self.call_all("organizations", op, input, key)
    }

    /// The organization's description and, for its management account, its whole tree;
    /// `Ok(Err(org))` for a member account.
    fn org_tree(&self) -> Result<Result<Tree, Value>, CallError> {
        let org = self.org("DescribeOrganization", json!({}))?["Organization"].clone();
        if txt(&org["MasterAccountId"]) != self.account() {
            return Ok(Err(org));
        }
        let roots = self.org_all("ListRoots", json!({}), "Roots")?;
        let root = roots.first().cloned().unwrap_or(Value::Null);
        let root_id = txt(&root["Id"]);
        let mut nodes = vec![Node {
            id: root_id.clone(),
            name: "Root".into(),
            kind: "ROOT",
            depth: 0,
            email: String::new(),
            status: String::new(),
            parent: None,
        }];
        self.walk(&root_id, "Root", 1, &mut nodes)?;
        Ok(Ok(Tree {
            org,
            root_id,
            policy_types: items(&root, "PolicyTypes").to_vec(),
            nodes,
        }))
    }

    /// Appends the OUs (each followed by its subtree) and accounts under `parent`.
    fn walk(
        &self,
        parent: &str,
        parent_name: &str,
        depth: usize,
        nodes: &mut Vec<Node>,
    ) -> Result<(), CallError> {
        if depth > 8 {
            return Ok(()); // AWS allows five levels of OUs
        }
        let up = Some((parent.to_owned(), parent_name.to_owned()));
        for ou in self.org_all(
            "ListOrganizationalUnitsForParent",
            json!({"ParentId": parent}),
            "OrganizationalUnits",
        )? {
            let (id, name) = (txt(&ou["Id"]), txt(&ou["Name"]));
            nodes.push(Node {
                id: id.clone(),
                name: name.clone(),
                kind: "ORGANIZATIONAL_UNIT",
                depth,
                email: String::new(),
                status: String::new(),
                parent: up.clone(),
            });
            self.walk(&id, &name, depth + 1, nodes)?;
        }
        for a in self.org_all(
            "ListAccountsForParent",
            json!({"ParentId": parent}),
            "Accounts",
        )? {
            nodes.push(Node {
                id: txt(&a["Id"]),
                name: txt(&a["Name"]),
                kind: "ACCOUNT",
                depth,
                email: txt(&a["Email"]),
                status: txt(&a["Status"]),
                parent: up.clone(),
            });
        }
        Ok(())
    }

    /// The organization's tree for its management account; otherwise the page to show: "Create
    /// organization" for an account in none, a read-only notice for a member account, or the
    /// error.
    fn org_notice(&self) -> Result<Tree, Box<Response>> {
        // Not "AWS accounts" or "Policies": those titles carry the management pages' actions.
        let title = "AWS Organizations";
        match self.org_tree() {
            Ok(Ok(tree)) => Ok(tree),
            Ok(Err(org)) => Err(Box::new(self.page(
                title,
                &format!(
                    r#"<div class="notice" role="note"><h2>Your organization</h2><p>This account ({me}) is a member of the organization <code>{id}</code>. Its management account <strong>{master}</strong> ({email}) manages the organization's accounts, organizational units and policies; they can be viewed and changed only from there.</p></div>"#,
                    me = esc(&self.account()),
                    id = esc(&txt(&org["Id"])),
                    master = esc(&txt(&org["MasterAccountId"])),
                    email = esc(&txt(&org["MasterAccountEmail"])),
                ),
            ))),
            Err(e) if not_in_use(&e) => Err(Box::new(self.page(
                title,
                &format!(
                    r#"<div class="notice" role="note"><h2>Create an organization</h2><p>This account ({me}) is not in an organization. Create one to manage several AWS accounts together: this account becomes its management account, and you can create accounts in it, group them in organizational units and apply service and resource control policies.</p>
<form method="post" action="/console/organizations/create">{csrf}<button type="submit" class="primary">Create organization</button></form></div>"#,
                    me = esc(&self.account()),
                    csrf = self.csrf(),
                ),
            ))),
            Err(e) => Err(Box::new(self.failed(title, &e))),
        }
    }

    /// `<option>`s of the targets a policy attaches to or an account moves into: the root and
    /// the OUs (`with_accounts`: and the accounts), indented by depth.
    fn target_options(tree: &Tree, with_accounts: bool) -> String {
        tree.nodes
            .iter()
            .filter(|n| with_accounts || n.kind != "ACCOUNT")
            .map(|n| {
                let what = match n.kind {
                    "ROOT" => "Root",
                    "ACCOUNT" => "Account",
                    _ => "OU",
                };
                format!(
                    r#"<option value="{id}">{pad}{what}: {name} ({id})</option>"#,
                    id = esc(&n.id),
                    pad = "\u{2003}".repeat(n.depth),
                    name = esc(&n.name),
                )
            })
            .collect()
    }

    /// `/console/organizations`: the organization, its tree, its accounts, and the forms to
    /// create an account or an OU and to move an account.
    pub(super) fn organization(&self) -> Response {
        let title = "AWS accounts";
        let tree = match self.org_notice() {
            Ok(t) => t,
            Err(page) => return *page,
        };
        let accounts: Vec<&Node> = tree.nodes.iter().filter(|n| n.kind == "ACCOUNT").collect();
        let master = txt(&tree.org["MasterAccountId"]);
        let rows: String = accounts
            .iter()
            .map(|a| {
                let mgmt = if a.id == master {
                    r#" <span class="tag">management account</span>"#
                } else {
                    ""
                };
                format!(
                    "<tr><td>{name}{mgmt}</td><td><code>{id}</code></td><td>{email}</td><td>{status}</td><td>{parent}</td></tr>",
                    name = esc(&a.name),
                    id = esc(&a.id),
                    email = esc(&a.email),
                    status = esc(&a.status),
                    parent = a
                        .parent
                        .as_ref()
                        .map(|(id, name)| format!("{} <code>{}</code>", esc(name), esc(id)))
                        .unwrap_or_default(),
                )
            })
            .collect();
        let table = data_table(
            "AWS accounts",
            "accounts",
            &["Account name", "Account ID", "E-mail", "Status", "Parent"],
            &rows,
            accounts.len(),
            r##"<strong>No accounts</strong> <a href="#create-account">Add an AWS account</a>."##,
        );
        // The tree as nested lists (depth first, so each node closes its deeper ones).
        let mut tree_html = String::new();
        let mut open = 0usize;
        for n in &tree.nodes {
            while open > n.depth {
                tree_html.push_str("</ul></li>");
                open -= 1;
            }
            let label = match n.kind {
                "ROOT" => format!("<strong>Root</strong> <code>{}</code>", esc(&n.id)),
                "ORGANIZATIONAL_UNIT" => format!(
                    r#"<span class="tag">OU</span> <strong>{}</strong> <code>{}</code>"#,
                    esc(&n.name),
                    esc(&n.id)
                ),
                _ => format!(
                    "{} <code>{}</code> <small>{}</small>",
                    esc(&n.name),
                    esc(&n.id),
                    esc(&n.email)
                ),
            };
            if n.kind == "ACCOUNT" {
                tree_html.push_str(&format!("<li>{label}</li>"));
            } else {
                tree_html.push_str(&format!("<li>{label}<ul>"));
                open = n.depth + 1;
            }
        }
        while open > 0 {
            tree_html.push_str("</ul></li>");
            open -= 1;
        }
        let parents = Self::target_options(&tree, false);
        let movable: String = accounts
            .iter()
            .map(|a| {
                format!(
                    r#"<option value="{id}">{name} ({id})</option>"#,
                    id = esc(&a.id),
                    name = esc(&a.name)
                )
            })
            .collect();
        let body = format!(
            r#"<dl class="facts"><dt>Organization ID</dt><dd><code>{org_id}</code></dd><dt>Management account</dt><dd><code>{master}</code> ({email})</dd><dt>Root</dt><dd><code>{root}</code></dd></dl>
{table}
<h2>Organizational structure</h2><ul class="org-tree">{tree_html}</ul>
<h2 id="create-account">Add an AWS account</h2><form method="post" action="/console/organizations/accounts">{csrf}
<label>AWS account name <input type="text" name="AccountName" required maxlength="50"></label>
<label>E-mail address of the account's owner <input type="email" name="Email" required maxlength="64"></label>
<label>IAM role name (optional) <input type="text" name="RoleName" maxlength="64" placeholder="OrganizationAccountAccessRole"></label>
<button type="submit">Create AWS account</button></form>
<h2 id="create-ou">Create organizational unit</h2><form method="post" action="/console/organizations/ous">{csrf}
<label for="ou-parent">Parent</label> <select id="ou-parent" name="ParentId">{parents}</select>
<label>Organizational unit name <input type="text" name="Name" required maxlength="128"></label>
<button type="submit">Create organizational unit</button></form>
<h2 id="move-account">Move an account</h2><form method="post" action="/console/organizations/move">{csrf}
<label for="move-account-id">Account</label> <select id="move-account-id" name="AccountId">{movable}</select>
<label for="move-destination">Destination</label> <select id="move-destination" name="DestinationParentId">{parents}</select>
<button type="submit">Move AWS account</button></form>"#,
            org_id = esc(&txt(&tree.org["Id"])),
            master = esc(&master),
            email = esc(&txt(&tree.org["MasterAccountEmail"])),
            root = esc(&tree.root_id),
            csrf = self.csrf(),
        );
        self.page(title, &body)
    }

    /// An Organizations call made by a form; on success a flash on `to`, else the error on a
    /// page titled `title`, with a link back.
    fn org_action(&self, title: &str, op: &str, input: Value, to: &str, msg: String) -> Response {
        match self.org(op, input) {
            Ok(_) => self.done(to, msg),
            Err(e) => self.org_failed(title, &e, to),
        }
    }

    fn org_failed(&self, title: &str, e: &CallError, back: &str) -> Response {
        self.failed_back(title, e, back)
    }

    pub(super) fn create_organization(&self) -> Response {
        self.org_action(
            "Create organization",
            "CreateOrganization",
            json!({"FeatureSet": "ALL"}),
            "/console/organizations",
            "Organization created: this account is its management account.".into(),
        )
    }

    pub(super) fn create_org_account(&self) -> Response {
        let name = self.field("AccountName");
        let mut input = json!({"AccountName": name, "Email": self.field("Email")});
        let role = self.field("RoleName");
        if !role.is_empty() {
            input["RoleName"] = json!(role);
        }
        let back = "/console/organizations";
        match self.org("CreateAccount", input) {
            Ok(v) => {
                let s = &v["CreateAccountStatus"];
                if txt(&s["State"]) == "FAILED" {
                    let e = CallError {
                        code: "CreateAccountFailed".into(),
                        message: format!(
                            "The account {name} could not be created: {}.",
                            txt(&s["FailureReason"])
                        ),
                        status: 400,
                    };
                    return self.org_failed("Add an AWS account", &e, back);
                }
                self.done(
                    back,
                    format!("Account {name} created ({}).", txt(&s["AccountId"])),
                )
            }
            Err(e) => self.org_failed("Add an AWS account", &e, back),
        }
    }

    pub(super) fn create_org_unit(&self) -> Response {
        let name = self.field("Name");
        self.org_action(
            "Create organizational unit",
            "CreateOrganizationalUnit",
            json!({"ParentId": self.field("ParentId"), "Name": name}),
            "/console/organizations",
            format!("Organizational unit {name} created."),
        )
    }

    pub(super) fn move_org_account(&self) -> Response {
        let account = self.field("AccountId");
        let back = "/console/organizations";
        let source = match self.org("ListParents", json!({"ChildId": account})) {
            Ok(v) => items(&v, "Parents")
                .first()
                .map(|p| txt(&p["Id"]))
                .unwrap_or_default(),
            Err(e) => return self.org_failed("Move an account", &e, back),
        };
        self.org_action(
            "Move an account",
            "MoveAccount",
            json!({"AccountId": account, "SourceParentId": source,
                "DestinationParentId": self.field("DestinationParentId")}),
            back,
            format!("Account {account} moved."),
        )
    }

    /// `/console/organizations/policies`: the policy types on the root, and the policies of
    /// each type.
    pub(super) fn org_policies(&self) -> Response {
        let title = "Policies";
        let tree = match self.org_notice() {
            Ok(t) => t,
            Err(page) => return *page,
        };
        let mut body = String::new();
        for (kind, label, _) in TYPES {
            let enabled = tree
                .policy_types
                .iter()
                .any(|t| txt(&t["Type"]) == kind && txt(&t["Status"]) == "ENABLED");
            let slug = kind.to_ascii_lowercase().replace('_', "-");
            body.push_str(&format!(
                r#"<h2 id="{slug}">{label}</h2><p>Status on the root: <strong>{status}</strong></p><form method="post" action="/console/organizations/policy-types" class="inline">{csrf}<input type="hidden" name="PolicyType" value="{kind}"><input type="hidden" name="Enable" value="{flip}"><button type="submit">{verb} {short}</button></form>"#,
                status = if enabled { "Enabled" } else { "Disabled" },
                csrf = self.csrf(),
                flip = if enabled { "0" } else { "1" },
                verb = if enabled { "Disable" } else { "Enable" },
                short = if kind == "SERVICE_CONTROL_POLICY" {
                    "service control policies"
                } else {
                    "resource control policies"
                },
            ));
            match self.org_all("ListPolicies", json!({"Filter": kind}), "Policies") {
                Ok(list) => {
                    let rows: String = list
                        .iter()
                        .map(|p| {
                            format!(
                                r#"<tr><td><a href="/console/organizations/policies/{s}">{n}</a></td><td><code>{id}</code></td><td>{managed}</td><td>{d}</td></tr>"#,
                                s = seg(&txt(&p["Id"])),
                                n = esc(&txt(&p["Name"])),
                                id = esc(&txt(&p["Id"])),
                                managed = if p["AwsManaged"].as_bool() == Some(true) {
                                    "AWS managed"
                                } else {
                                    "Customer managed"
                                },
                                d = esc(&txt(&p["Description"])),
                            )
                        })
                        .collect();
                    body.push_str(&data_table(
                        label,
                        "policies",
                        &["Policy name", "Policy ID", "Type", "Description"],
                        &rows,
                        list.len(),
                        "<strong>No policies of this type.</strong> Enable the type, then create one.",
                    ));
                }
                Err(e) => body.push_str(&error_box(&e.code, &e.message)),
            }
            body.push_str(&format!(
                r#"<p><a class="btn" href="/console/organizations/policies/new?type={kind}">Create {short}</a></p>"#,
                short = if kind == "SERVICE_CONTROL_POLICY" {
                    "a service control policy"
                } else {
                    "a resource control policy"
                },
            ));
        }
        self.page(title, &body)
    }

    pub(super) fn set_org_policy_type(&self) -> Response {
        let kind = self.field("PolicyType");
        let enable = self.field("Enable") == "1";
        let back = "/console/organizations/policies";
        let root = match self.org_all("ListRoots", json!({}), "Roots") {
            Ok(r) => r.first().map(|r| txt(&r["Id"])).unwrap_or_default(),
            Err(e) => return self.org_failed("Policies", &e, back),
        };
        let (op, done) = if enable {
            ("EnablePolicyType", "enabled")
        } else {
            ("DisablePolicyType", "disabled")
        };
        self.org_action(
            "Policies",
            op,
            json!({"RootId": root, "PolicyType": kind}),
            back,
            format!("Policy type {kind} {done} on the root."),
        )
    }

    /// The editor of a control policy: new (`id` `None`) or an existing one.
    #[allow(clippy::too_many_arguments)]
    fn org_policy_form(
        &self,
        id: Option<&str>,
        kind: &str,
        name: &str,
        description: &str,
        content: &str,
        problems: &str,
        status: StatusCode,
    ) -> Response {
        let editor_type = TYPES
            .iter()
            .find(|t| t.0 == kind)
            .map_or("identity", |t| t.2);
        let (action, button, title) = match id {
            Some(id) => (
                format!("/console/organizations/policies/{}", seg(id)),
                "Save changes",
                "Edit policy".to_owned(),
            ),
            None => (
                "/console/organizations/policies".to_owned(),
                "Create policy",
                if kind == "RESOURCE_CONTROL_POLICY" {
                    "Create resource control policy".to_owned()
                } else {
                    "Create service control policy".to_owned()
                },
            ),
        };
        let body = format!(
            r#"{problems}<form method="post" action="{action}" id="org-policy-form">{csrf}
<input type="hidden" name="Type" value="{kind}">
<label>Policy name <input type="text" name="Name" required maxlength="128" value="{name}"></label>
<label>Description <input type="text" name="Description" maxlength="512" value="{description}"></label>
<label>Policy content (JSON) <textarea name="Content" rows="16" spellcheck="false" data-policy-type="{editor_type}" data-findings="findings">{content}</textarea></label>
<div id="findings" aria-live="polite"></div>
<button type="submit">{button}</button></form>"#,
            csrf = self.csrf(),
            kind = esc(kind),
            name = esc(name),
            description = esc(description),
            content = esc(content),
        );
        self.page_with_status(status, &title, &body)
    }

    pub(super) fn new_org_policy(&self) -> Response {
        let kind = match self.r.query("type") {
            Some("RESOURCE_CONTROL_POLICY") => "RESOURCE_CONTROL_POLICY",
            _ => "SERVICE_CONTROL_POLICY",
        };
        self.org_policy_form(None, kind, "", "", &starter(kind), "", StatusCode::OK)
    }

    pub(super) fn create_org_policy(&self) -> Response {
        let (kind, name, description) = (
            self.field("Type"),
            self.field("Name"),
            self.field("Description"),
        );
        let content = self.r.field("Content").unwrap_or("").to_owned();
        match self.org(
            "CreatePolicy",
            json!({"Name": name, "Description": description, "Content": content, "Type": kind}),
        ) {
            Ok(v) => self.done(
                &format!(
                    "/console/organizations/policies/{}",
                    seg(&txt(&v["Policy"]["PolicySummary"]["Id"]))
                ),
                format!("Policy {name} created."),
            ),
            Err(e) => self.org_policy_form(
                None,
                &kind,
                &name,
                &description,
                &content,
                &error_box(&e.code, &e.message),
                super::kit::error_status(&e),
            ),
        }
    }

    pub(super) fn update_org_policy(&self, id: &str) -> Response {
        let (kind, name, description) = (
            self.field("Type"),
            self.field("Name"),
            self.field("Description"),
        );
        let content = self.r.field("Content").unwrap_or("").to_owned();
        match self.org(
            "UpdatePolicy",
            json!({"PolicyId": id, "Name": name, "Description": description, "Content": content}),
        ) {
            Ok(_) => self.done(
                &format!("/console/organizations/policies/{}", seg(id)),
                format!("Policy {name} saved."),
            ),
            Err(e) => self.org_policy_form(
                Some(id),
                &kind,
                &name,
                &description,
                &content,
                &error_box(&e.code, &e.message),
                super::kit::error_status(&e),
            ),
        }
    }

    /// A policy: its content (in the editor, unless AWS manages it), its targets with
    /// "Detach", and "Attach" to the root, an OU or an account.
    pub(super) fn org_policy(&self, id: &str) -> Response {
        let back = "/console/organizations/policies";
        let p = match self.org("DescribePolicy", json!({"PolicyId": id})) {
            Ok(v) => v["Policy"].clone(),
            Err(e) => return self.org_failed("Policy", &e, back),
        };
        let summary = &p["PolicySummary"];
        let (name, kind) = (txt(&summary["Name"]), txt(&summary["Type"]));
        let managed = summary["AwsManaged"].as_bool() == Some(true);
        let content = super::kit::pretty_document(&txt(&p["Content"]));
        let base = format!("/console/organizations/policies/{}", seg(id));
        let mut body = format!(
            r#"<dl class="facts"><dt>Policy ID</dt><dd><code>{id}</code></dd><dt>ARN</dt><dd><code>{arn}</code></dd><dt>Type</dt><dd>{kind}</dd><dt>Description</dt><dd>{d}</dd></dl>"#,
            id = esc(id),
            arn = esc(&txt(&summary["Arn"])),
            kind = esc(&kind),
            d = esc(&txt(&summary["Description"])),
        );
        let targets = match self.org_all("ListTargetsForPolicy", json!({"PolicyId": id}), "Targets")
        {
            Ok(t) => t,
            Err(e) => {
                body.push_str(&error_box(&e.code, &e.message));
                Vec::new()
            }
        };
        let rows: String = targets
            .iter()
            .map(|t| {
                let tid = txt(&t["TargetId"]);
                format!(
                    r#"<tr><td>{n}</td><td><code>{tid}</code></td><td>{ty}</td><td><form method="post" action="{base}/detach" class="inline">{csrf}<input type="hidden" name="TargetId" value="{tid}"><button type="submit" aria-label="Detach from {n}">Detach</button></form></td></tr>"#,
                    n = esc(&txt(&t["Name"])),
                    tid = esc(&tid),
                    ty = esc(&txt(&t["Type"])),
                    csrf = self.csrf(),
                )
            })
            .collect();
        body.push_str(&data_table(
            "Targets",
            "targets",
            &["Name", "Target ID", "Type", "Actions"],
            &rows,
            targets.len(),
            "<strong>Not attached.</strong> Attach it below to the root, an OU or an account.",
        ));
        let options = match self.org_tree() {
            Ok(Ok(tree)) => Self::target_options(&tree, true),
            _ => String::new(),
        };
        body.push_str(&format!(
            r#"<h2 id="attach">Attach</h2><form method="post" action="{base}/attach">{csrf}
<label for="attach-target">Target</label> <select id="attach-target" name="TargetId">{options}</select>
<button type="submit">Attach policy</button></form>"#,
            csrf = self.csrf(),
        ));
        if managed {
            body.push_str(&format!(
                r#"<h2>Content</h2><pre class="document">{}</pre>"#,
                esc(&content)
            ));
        } else {
            body.push_str(&format!(
                r#"<h2 id="edit">Edit</h2><form method="post" action="{base}">{csrf}
<input type="hidden" name="Type" value="{kind}">
<label>Policy name <input type="text" name="Name" required maxlength="128" value="{name}"></label>
<label>Description <input type="text" name="Description" maxlength="512" value="{d}"></label>
<label>Policy content (JSON) <textarea name="Content" rows="16" spellcheck="false" data-policy-type="{editor_type}" data-findings="findings">{content}</textarea></label>
<div id="findings" aria-live="polite"></div>
<button type="submit">Save changes</button></form>"#,
                csrf = self.csrf(),
                kind = esc(&kind),
                name = esc(&name),
                d = esc(&txt(&summary["Description"])),
                editor_type = TYPES
                    .iter()
                    .find(|t| t.0 == kind)
                    .map_or("identity", |t| t.2),
                content = esc(&content),
            ));
        }
        self.page(&name, &body)
    }

    pub(super) fn attach_org_policy(&self, id: &str, attach: bool) -> Response {
        let target = self.field("TargetId");
        let base = format!("/console/organizations/policies/{}", seg(id));
        let (op, title, msg) = if attach {
            (
                "AttachPolicy",
                "Attach policy",
                format!("Attached to {target}."),
            )
        } else {
            (
                "DetachPolicy",
                "Detach policy",
                format!("Detached from {target}."),
            )
        };
        self.org_action(
            title,
            op,
            json!({"PolicyId": id, "TargetId": target}),
            &base,
            msg,
        )
    }
}
