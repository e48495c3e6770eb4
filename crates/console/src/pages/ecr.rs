//! ECR pages: repositories (list, create), a repository's images, and the "View push commands"
//! panel with the exact commands for this server. Every call is an ECR operation as the
//! signed-in principal in the session's region ([`Backend::invoke_ecr`](crate::Backend::invoke_ecr)).

use super::kit::{P, error_status, items, txt};
use crate::html::{error_box, esc, seg};
use crate::{CallError, redirect};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

/// Regions offered in the region picker (any well-formed region name is accepted).
const REGIONS: [&str; 8] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-south-1",
];

/// A plausible region name: lower-case letters, digits and dashes, starting with a letter.
pub fn valid_region(r: &str) -> bool {
    (4..=32).contains(&r.len())
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `imageSizeInBytes` as the ECR console shows it (MB, two decimals).
pub fn size_mb(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / (1024.0 * 1024.0))
}

/// The push commands for `repo` on a registry at `endpoint` (`host:port`).
pub fn push_commands(region: &str, endpoint: &str, repo: &str) -> [String; 4] {
    let uri = format!("{endpoint}/{repo}");
    [
        format!(
            "aws ecr get-login-password --region {region} --endpoint-url http://{endpoint} | docker login --username AWS --password-stdin {endpoint}"
        ),
        format!("docker build -t {repo} ."),
        format!("docker tag {repo}:latest {uri}:latest"),
        format!("docker push {uri}:latest"),
    ]
}

impl P<'_> {
    fn ecr(&self, op: &str, region: &str, input: Value) -> Result<Value, CallError> {
        self.c
            .backend
            .invoke_ecr(&self.s.access_key_id, region, op, input)
    }

    /// The region of this request: `?region=` (remembered in the session) or the session's.
    fn region(&self) -> String {
        match self.r.query("region").or(self.r.field("region")) {
            Some(r) if valid_region(r) => {
                if r != self.s.region {
                    let owned = r.to_owned();
                    self.c.sessions.update(self.sid, |s| s.region = owned);
                }
                r.to_owned()
            }
            _ => self.s.region.clone(),
        }
    }

    fn region_picker(&self, region: &str, action: &str) -> String {
        let options: String = REGIONS
            .iter()
            .map(|r| format!(r#"<option value="{r}"></option>"#))
            .collect();
        format!(
            r#"<form method="get" action="{action}" class="region"><label for="region">Region</label> <input type="text" id="region" name="region" value="{region}" list="regions" required pattern="[a-z][a-z0-9-]{{3,31}}"><datalist id="regions">{options}</datalist> <button type="submit">Change region</button></form>"#,
            action = esc(action),
            region = esc(region)
        )
    }

    pub(super) fn ecr_repositories(&self) -> Response {
        let region = self.region();
        let mut body = self.region_picker(&region, "/console/ecr/repositories");
        let mut status = StatusCode::OK;
        match self.ecr("DescribeRepositories", &region, json!({"maxResults": 1000})) {
            Ok(v) => {
                let list = items(&v, "repositories");
                let rows: String = list
                    .iter()
                    .map(|r| {
                        let name = txt(&r["repositoryName"]);
                        format!(
                            r#"<tr>{sel}<td><a href="/console/ecr/repositories/{s}?region={rg}">{n}</a></td><td><code>{uri}</code></td><td>{cr}</td><td>{m}</td></tr>"#,
                            sel = super::kit::select_cell("repositoryName", &name, &name),
                            s = seg(&name),
                            rg = seg(&region),
                            n = esc(&name),
                            uri = esc(&txt(&r["repositoryUri"])),
                            cr = esc(&txt(&r["createdAt"])),
                            m = esc(&txt(&r["imageTagMutability"])),
                        )
                    })
                    .collect();
                body.push_str(&crate::html::data_table(
                    "Private repositories",
                    "repositories",
                    &["Select", "Repository name", "URI", "Created at", "Tag immutability"],
                    &rows,
                    list.len(),
                    r##"<strong>No repositories in this region yet</strong> <a href="#create-repository">Create a repository</a> to push images to."##,
                ));
                if !list.is_empty() {
                    body.push_str(&self.bulk_delete_section(
                        "repositories",
                        "/console/ecr/delete-repositories",
                        &format!(
                            r#"<input type="hidden" name="region" value="{}">"#,
                            esc(&region)
                        ),
                    ));
                }
            }
            Err(e) => {
                status = error_status(&e);
                body.push_str(&error_box(&e.code, &e.message));
            }
        }
        body.push_str(&format!(
            r#"<p>Open a repository by name: </p><form method="get" action="/console/ecr/open"><label for="open-name">Repository name</label> <input type="text" id="open-name" name="name" required><input type="hidden" name="region" value="{rg}"> <button type="submit">Open repository</button></form>
<h2 id="create-repository">Create repository</h2><form method="post" action="/console/ecr/repositories">{csrf}
<input type="hidden" name="region" value="{rg}">
<label for="repositoryName">Repository name</label> <input type="text" id="repositoryName" name="repositoryName" required maxlength="256">
<label for="imageTagMutability">Tag immutability</label> <select id="imageTagMutability" name="imageTagMutability"><option value="MUTABLE" selected>Mutable</option><option value="IMMUTABLE">Immutable</option></select>
<button type="submit">Create repository</button></form>"#,
            csrf = self.csrf(),
            rg = esc(&region)
        ));
        super::kit::page_status(status, "ECR repositories", Some(self.s), &body)
    }

    /// `GET /console/ecr/open?name=…`: the repository page by name (for principals who may
    /// not list repositories but may use one).
    pub(super) fn ecr_open(&self) -> Response {
        let name = self.r.query("name").unwrap_or("").trim().to_owned();
        let region = self.region();
        if name.is_empty() {
            return redirect("/console/ecr/repositories", &[]);
        }
        redirect(
            &format!(
                "/console/ecr/repositories/{}?region={}",
                seg(&name),
                seg(&region)
            ),
            &[],
        )
    }

    pub(super) fn ecr_create_repository(&self) -> Response {
        let region = self.region();
        let name = self.field("repositoryName");
        let mutability = match self.field("imageTagMutability").as_str() {
            "IMMUTABLE" => "IMMUTABLE",
            _ => "MUTABLE",
        };
        match self.ecr(
            "CreateRepository",
            &region,
            json!({"repositoryName": name, "imageTagMutability": mutability}),
        ) {
            Ok(_) => self.done(
                &format!(
                    "/console/ecr/repositories/{}?region={}",
                    seg(&name),
                    seg(&region)
                ),
                format!("Repository {name} created."),
            ),
            Err(e) => self.failed("Create repository", &e),
        }
    }

    pub(super) fn ecr_repository(&self, name: &str) -> Response {
        let region = self.region();
        let mut status = StatusCode::OK;
        // (The layout's breadcrumbs lead back to the list.)
        let mut body = format!(r#"<p class="muted">Region: {}</p>"#, esc(&region));
        let mut uri = self
            .c
            .backend
            .registry_endpoint(&region)
            .map(|e| format!("{e}/{name}"));
        match self.ecr(
            "DescribeRepositories",
            &region,
            json!({"repositoryNames": [name]}),
        ) {
            Ok(v) => {
                if let Some(r) = items(&v, "repositories").first() {
                    uri = Some(txt(&r["repositoryUri"]));
                    body.push_str(&format!(
                        r#"<table class="summary"><tr><th>URI</th><td><code>{}</code></td></tr><tr><th>ARN</th><td><code>{}</code></td></tr><tr><th>Created at</th><td>{}</td></tr><tr><th>Tag immutability</th><td>{}</td></tr></table>"#,
                        esc(&txt(&r["repositoryUri"])),
                        esc(&txt(&r["repositoryArn"])),
                        esc(&txt(&r["createdAt"])),
                        esc(&txt(&r["imageTagMutability"])),
                    ));
                }
            }
            Err(e) => {
                status = error_status(&e);
                body.push_str(&error_box(&e.code, &e.message));
            }
        }
        if let Some(uri) = &uri {
            let endpoint = uri
                .strip_suffix(&format!("/{name}"))
                .unwrap_or(uri)
                .to_owned();
            let [login, build, tag, push] = push_commands(&region, &endpoint, name);
            body.push_str(&format!(
                r#"<details id="push-commands"><summary>View push commands</summary>
<p>Push commands for {n} (this kagi server's registry is <code>{ep}</code>):</p><ol>
<li>Retrieve an authentication token and authenticate your Docker client to your registry:<pre>{login}</pre></li>
<li>Build your Docker image (skip this step if your image is already built):<pre>{build}</pre></li>
<li>After the build completes, tag your image so you can push the image to this repository:<pre>{tag}</pre></li>
<li>Push this image to the repository:<pre>{push}</pre></li></ol></details>"#,
                n = esc(name),
                ep = esc(&endpoint),
                login = esc(&login),
                build = esc(&build),
                tag = esc(&tag),
                push = esc(&push),
            ));
        }
        let head = std::mem::take(&mut body);
        body.push_str("<h2>Images</h2>");
        match self.ecr(
            "DescribeImages",
            &region,
            json!({"repositoryName": name, "maxResults": 1000}),
        ) {
            Ok(v) => {
                let mut list: Vec<&Value> = items(&v, "imageDetails").iter().collect();
                list.sort_by_key(|i| std::cmp::Reverse(txt(&i["imagePushedAt"])));
                let rows: String = list
                    .iter()
                    .map(|i| {
                        let tags: Vec<String> = items(i, "imageTags").iter().map(txt).collect();
                        let bytes = i["imageSizeInBytes"].as_u64().unwrap_or(0);
                        format!(
                            r#"<tr><td>{t}</td><td><code>{d}</code></td><td title="{b} bytes">{mb}</td><td>{p}</td><td><form method="post" action="/console/ecr/delete-image" class="inline">{csrf}<input type="hidden" name="region" value="{rg}"><input type="hidden" name="repositoryName" value="{n}"><input type="hidden" name="imageDigest" value="{d}"><button type="submit" aria-label="Delete image {d}">Delete</button></form></td></tr>"#,
                            csrf = self.csrf(),
                            rg = esc(&region),
                            n = esc(name),
                            t = if tags.is_empty() {
                                "<em>untagged</em>".to_owned()
                            } else {
                                esc(&tags.join(", "))
                            },
                            d = esc(&txt(&i["imageDigest"])),
                            b = bytes,
                            mb = size_mb(bytes),
                            p = esc(&txt(&i["imagePushedAt"])),
                        )
                    })
                    .collect();
                body.push_str(&format!(
                    "<table><thead><tr><th>Image tags</th><th>Digest</th><th>Size (MB)</th><th>Pushed at</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table>"
                ));
            }
            Err(e) => {
                if status == StatusCode::OK {
                    status = error_status(&e);
                }
                body.push_str(&error_box(&e.code, &e.message));
            }
        }
        let images = std::mem::take(&mut body);
        body.push_str("<h2>Repository policy</h2>");
        let current = match self.ecr(
            "GetRepositoryPolicy",
            &region,
            json!({"repositoryName": name}),
        ) {
            Ok(v) => {
                let text = txt(&v["policyText"]);
                body.push_str(&format!("<pre>{}</pre>", esc(&text)));
                text
            }
            Err(e) if e.code == "RepositoryPolicyNotFoundException" => {
                body.push_str("<p>No repository policy.</p>");
                String::new()
            }
            Err(e) => {
                body.push_str(&error_box(&e.code, &e.message));
                String::new()
            }
        };
        body.push_str(&self.repository_policy_editor(&region, name, &current, false));
        let permissions = std::mem::take(&mut body);
        let lifecycle = self.lifecycle_tab(&region, name, None);
        body.push_str(&crate::html::tabs(
            &format!("Sections of repository {name}"),
            &[
                ("images", "Images", &images),
                ("permissions", "Permissions", &permissions),
                ("lifecycle-policy", "Lifecycle policy", &lifecycle),
            ],
        ));
        body.push_str(&format!(
            r#"<section class="danger-zone" data-confirm="Delete repository {n} and its images?" aria-labelledby="delete-heading"><h2 id="delete-heading">Delete repository</h2><form method="post" action="/console/ecr/delete-repository">{csrf}
<input type="hidden" name="region" value="{rg}"><input type="hidden" name="repositoryName" value="{n}">
<label for="confirm-delete">To confirm, enter the repository name (its images are deleted too): <code>{n}</code></label> <input type="text" id="confirm-delete" name="ConfirmName" required autocomplete="off">
<button type="submit" class="danger">Delete repository</button></form></section>"#,
            csrf = self.csrf(),
            rg = esc(&region),
            n = esc(name),
        ));
        super::kit::page_status(status, name, Some(self.s), &format!("{head}{body}"))
    }
}

/// What a new lifecycle policy's editor starts with: AWS's first example rule.
const LIFECYCLE_STARTER: &str = r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Expire untagged images older than 14 days",
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14
      },
      "action": { "type": "expire" }
    }
  ]
}"#;

impl P<'_> {
    /// The Lifecycle policy tab: the policy (GetLifecyclePolicy), its editor, delete.
    /// `draft`: a refused draft and ECR's error, shown in the open editor.
    fn lifecycle_tab(&self, region: &str, name: &str, draft: Option<(&str, &str)>) -> String {
        let csrf = self.csrf();
        let hidden = format!(
            r#"<input type="hidden" name="region" value="{}"><input type="hidden" name="repositoryName" value="{}">"#,
            esc(region),
            esc(name)
        );
        let (shown, current) = match self.ecr(
            "GetLifecyclePolicy",
            region,
            json!({"repositoryName": name}),
        ) {
            Ok(v) => {
                let text = super::kit::pretty_document(&txt(&v["lifecyclePolicyText"]));
                let evaluated = match txt(&v["lastEvaluatedAt"]) {
                    t if t.is_empty() => String::new(),
                    t => format!("<p class=\"muted\">Last evaluated at {}</p>", esc(&t)),
                };
                (
                    format!(
                        r#"<pre>{}</pre>{evaluated}<form method="post" action="/console/ecr/lifecycle-policy/delete" class="inline">{csrf}{hidden}<button type="submit">Delete lifecycle policy</button></form>"#,
                        esc(&text)
                    ),
                    Some(text),
                )
            }
            Err(e) if e.code == "LifecyclePolicyNotFoundException" => (
                "<p><strong>No lifecycle policy.</strong> Add one to expire images you no longer need (untagged images, or all but the newest).</p>".to_owned(),
                None,
            ),
            Err(e) => (error_box(&e.code, &e.message), None),
        };
        let (text, problems, open) = match draft {
            Some((d, p)) => (d.to_owned(), p.to_owned(), " open"),
            None => (
                current.unwrap_or_else(|| LIFECYCLE_STARTER.to_owned()),
                String::new(),
                "",
            ),
        };
        format!(
            r#"{shown}{problems}<details{open}><summary>Edit lifecycle policy</summary><form method="post" action="/console/ecr/lifecycle-policy">{csrf}{hidden}
<label for="lifecycle-policy-text">Lifecycle policy (JSON)</label>
<textarea id="lifecycle-policy-text" name="lifecyclePolicyText" rows="16" spellcheck="false">{doc}</textarea>
<p class="muted">Saving applies the policy at once: the images it expires are deleted.</p>
<button type="submit">Save lifecycle policy</button></form></details>"#,
            doc = esc(&text),
        )
    }

    pub(super) fn ecr_set_lifecycle_policy(&self) -> Response {
        let region = self.region();
        let name = self.field("repositoryName");
        let text = self.r.field("lifecyclePolicyText").unwrap_or("").to_owned();
        match self.ecr(
            "PutLifecyclePolicy",
            &region,
            json!({"repositoryName": name, "lifecyclePolicyText": text}),
        ) {
            Ok(_) => self.back_to_repository(
                &region,
                &name,
                "Lifecycle policy saved and applied.",
                "#lifecycle-policy",
            ),
            Err(e) => {
                let tab = self.lifecycle_tab(
                    &region,
                    &name,
                    Some((&text, &error_box(&e.code, &e.message))),
                );
                let body = format!(
                    r#"<p><a href="/console/ecr/repositories/{ns}?region={rs}#lifecycle-policy">Back to {n}</a></p>{tab}"#,
                    rs = seg(&region),
                    ns = seg(&name),
                    n = esc(&name),
                );
                super::kit::page_status(error_status(&e), "Lifecycle policy", Some(self.s), &body)
            }
        }
    }

    pub(super) fn ecr_delete_lifecycle_policy(&self) -> Response {
        let region = self.region();
        let name = self.field("repositoryName");
        match self.ecr(
            "DeleteLifecyclePolicy",
            &region,
            json!({"repositoryName": name}),
        ) {
            Ok(_) => self.back_to_repository(
                &region,
                &name,
                "Lifecycle policy deleted.",
                "#lifecycle-policy",
            ),
            Err(e) => self.failed("Delete lifecycle policy", &e),
        }
    }

    /// The repository policy editor (a `<details>`, `open` when it holds a refused draft).
    fn repository_policy_editor(&self, region: &str, name: &str, doc: &str, open: bool) -> String {
        format!(
            r#"<details{open}><summary>Edit repository policy</summary><form method="post" action="/console/ecr/repository-policy">{csrf}
<input type="hidden" name="region" value="{rg}"><input type="hidden" name="repositoryName" value="{n}">
<label for="repo-policy">Repository policy (JSON)</label>
<textarea id="repo-policy" name="policyText" rows="12" spellcheck="false" data-policy-type="resource" data-findings="repo-policy-findings">{doc}</textarea>
<div id="repo-policy-findings" aria-live="polite"></div>
<button type="submit">Save repository policy</button></form></details>"#,
            open = if open { " open" } else { "" },
            csrf = self.csrf(),
            rg = esc(region),
            n = esc(name),
            doc = esc(doc),
        )
    }

    /// A refused repository policy: the problems (the policy engine's findings or ECR's error)
    /// above the editor, which keeps the user's draft.
    fn refused_repository_policy(
        &self,
        status: StatusCode,
        region: &str,
        name: &str,
        draft: &str,
        problems: &str,
    ) -> Response {
        let body = format!(
            r#"<p><a href="/console/ecr/repositories?region={rs}">Private repositories</a> › <a href="/console/ecr/repositories/{ns}?region={rs}">{n}</a></p>{problems}{editor}"#,
            rs = seg(region),
            ns = seg(name),
            n = esc(name),
            editor = self.repository_policy_editor(region, name, draft, true),
        );
        super::kit::page_status(status, "Repository policy", Some(self.s), &body)
    }

    /// Back to the repository's page, its tab `tab` (`#images`), saying `done`.
    fn back_to_repository(&self, region: &str, name: &str, done: &str, tab: &str) -> Response {
        self.done(
            &format!(
                "/console/ecr/repositories/{}?region={}{tab}",
                seg(name),
                seg(region)
            ),
            done,
        )
    }

    pub(super) fn ecr_delete_image(&self) -> Response {
        let region = self.region();
        let name = self.field("repositoryName");
        let digest = self.field("imageDigest");
        match self.ecr(
            "BatchDeleteImage",
            &region,
            json!({"repositoryName": name, "imageIds": [{"imageDigest": digest}]}),
        ) {
            Ok(v) => match items(&v, "failures").first() {
                Some(f) => super::kit::page_status(
                    StatusCode::BAD_REQUEST,
                    "Delete image",
                    Some(self.s),
                    &error_box(&txt(&f["failureCode"]), &txt(&f["failureReason"])),
                ),
                None => self.back_to_repository(&region, &name, "Image deleted.", "#images"),
            },
            Err(e) => self.failed("Delete image", &e),
        }
    }

    pub(super) fn ecr_set_policy(&self) -> Response {
        let region = self.region();
        let name = self.field("repositoryName");
        let text = self.r.field("policyText").unwrap_or("").to_owned();
        let findings = kagi_policy::validate(&text, kagi_policy::PolicyType::Resource);
        if kagi_policy::has_errors(&findings) {
            return self.refused_repository_policy(
                StatusCode::BAD_REQUEST,
                &region,
                &name,
                &text,
                &super::kit::findings_html(&findings),
            );
        }
        match self.ecr(
            "SetRepositoryPolicy",
            &region,
            json!({"repositoryName": name, "policyText": text}),
        ) {
            Ok(_) => {
                self.back_to_repository(&region, &name, "Repository policy saved.", "#permissions")
            }
            Err(e) => self.refused_repository_policy(
                error_status(&e),
                &region,
                &name,
                &text,
                &error_box(&e.code, &e.message),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_commands_name_this_server() {
        let [login, build, tag, push] =
            push_commands("ap-northeast-1", "127.0.0.1:5000", "test-repos");
        assert_eq!(
            login,
            "aws ecr get-login-password --region ap-northeast-1 --endpoint-url http://127.0.0.1:5000 | docker login --username AWS --password-stdin 127.0.0.1:5000"
        );
        assert_eq!(build, "docker build -t test-repos .");
        assert_eq!(
            tag,
            "docker tag test-repos:latest 127.0.0.1:5000/test-repos:latest"
        );
        assert_eq!(push, "docker push 127.0.0.1:5000/test-repos:latest");
    }

    #[test]
    fn regions_and_sizes() {
        assert!(valid_region("ap-northeast-1"));
        assert!(!valid_region("AP-1") && !valid_region("x") && !valid_region("a/b-c"));
        assert_eq!(size_mb(3 * 1024 * 1024 / 2), "1.50");
    }
}
