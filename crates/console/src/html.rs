//! HTML building: escaping and the page layout. Every dynamic string goes through [`esc`].

use crate::session::ConsoleSession;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes one path segment.
pub fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The hidden CSRF field of a form.
pub fn csrf_field(s: &ConsoleSession) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&s.csrf)
    )
}

const EDITOR_SCRIPT: &str = r#"<script src="/console/static/policy-editor.js" defer></script>"#;
const CONSOLE_SCRIPT: &str = r#"<script src="/console/static/console.js" defer></script>"#;

thread_local! {
    /// The path segments of the request being answered on this thread (set by
    /// [`at_path`] around a page's dispatch), from which [`layout`] derives the service, the
    /// current navigation entry, the breadcrumbs and the page's primary actions.
    static PATH: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` (which renders pages) with `segs` as the current request's path.
pub fn at_path<R>(segs: &[String], f: impl FnOnce() -> R) -> R {
    let old = PATH.with(|p| std::mem::replace(&mut *p.borrow_mut(), segs.to_vec()));
    let out = f();
    PATH.with(|p| *p.borrow_mut() = old);
    out
}

/// A console service: its name in the switcher, its home, its left navigation.
struct Service {
    name: &'static str,
    long: &'static str,
    home: &'static str,
    /// (group heading, [(path's first segments, label, href)])
    nav: &'static [(&'static str, &'static [NavItem])],
}

/// A left-navigation entry: the path prefix it stands for, its label, its link, and the title of
/// its list page (which gets the section's primary actions).
struct NavItem {
    prefix: &'static [&'static str],
    label: &'static str,
    href: &'static str,
    list_title: &'static str,
    /// The list page's primary actions: (label, href).
    actions: &'static [(&'static str, &'static str)],
}

const IAM: Service = Service {
    name: "IAM",
    long: "Identity and Access Management",
    home: "/console/users",
    nav: &[
        (
            "Access management",
            &[
                NavItem {
                    prefix: &["groups"],
                    label: "User groups",
                    href: "/console/groups",
                    list_title: "User groups",
                    actions: &[("Create group", "#create-group")],
                },
                NavItem {
                    prefix: &["users"],
                    label: "Users",
                    href: "/console/users",
                    list_title: "Users",
                    actions: &[("Create user", "#create-user")],
                },
                NavItem {
                    prefix: &["roles"],
                    label: "Roles",
                    href: "/console/roles",
                    list_title: "Roles",
                    actions: &[("Create role", "/console/roles/new")],
                },
                NavItem {
                    prefix: &["policies"],
                    label: "Policies",
                    href: "/console/policies",
                    list_title: "Policies",
                    actions: &[("Create policy", "/console/policies/new")],
                },
                NavItem {
                    prefix: &["identity-providers"],
                    label: "Identity providers",
                    href: "/console/identity-providers",
                    list_title: "Identity providers",
                    actions: &[("Add provider", "/console/identity-providers/new")],
                },
                NavItem {
                    prefix: &["password-policy"],
                    label: "Account settings",
                    href: "/console/password-policy",
                    list_title: "",
                    actions: &[],
                },
            ],
        ),
        (
            "Tools",
            &[NavItem {
                prefix: &["simulator"],
                label: "Policy simulator",
                href: "/console/simulator",
                list_title: "",
                actions: &[],
            }],
        ),
    ],
};

const ECR: Service = Service {
    name: "ECR",
    long: "Elastic Container Registry",
    home: "/console/ecr/repositories",
    nav: &[(
        "Private registry",
        &[NavItem {
            prefix: &["ecr"],
            label: "Repositories",
            href: "/console/ecr/repositories",
            list_title: "ECR repositories",
            actions: &[("Create repository", "#create-repository")],
        }],
    )],
};

const ORGS: Service = Service {
    name: "Organizations",
    long: "AWS Organizations",
    home: "/console/organizations",
    nav: &[(
        "AWS Organizations",
        &[
            NavItem {
                prefix: &["organizations"],
                label: "AWS accounts",
                href: "/console/organizations",
                list_title: "AWS accounts",
                actions: &[("Add an AWS account", "#create-account")],
            },
            NavItem {
                prefix: &["organizations", "policies"],
                label: "Policies",
                href: "/console/organizations/policies",
                list_title: "Policies",
                actions: &[(
                    "Create policy",
                    "/console/organizations/policies/new?type=SERVICE_CONTROL_POLICY",
                )],
            },
        ],
    )],
};

const SSO: Service = Service {
    name: "IAM Identity Center",
    long: "IAM Identity Center",
    home: "/console/sso",
    nav: &[
        (
            "IAM Identity Center",
            &[
                NavItem {
                    prefix: &["sso"],
                    label: "Dashboard",
                    href: "/console/sso",
                    list_title: "IAM Identity Center",
                    actions: &[],
                },
                NavItem {
                    prefix: &["sso", "users"],
                    label: "Users",
                    href: "/console/sso/users",
                    list_title: "Users",
                    actions: &[("Add user", "#create-user")],
                },
                NavItem {
                    prefix: &["sso", "groups"],
                    label: "Groups",
                    href: "/console/sso/groups",
                    list_title: "Groups",
                    actions: &[("Create group", "#create-group")],
                },
                NavItem {
                    prefix: &["sso", "settings"],
                    label: "Settings",
                    href: "/console/sso/settings",
                    list_title: "Settings",
                    actions: &[],
                },
            ],
        ),
        (
            "Multi-account permissions",
            &[
                NavItem {
                    prefix: &["sso", "accounts"],
                    label: "AWS accounts",
                    href: "/console/sso/accounts",
                    list_title: "",
                    actions: &[],
                },
                NavItem {
                    prefix: &["sso", "permission-sets"],
                    label: "Permission sets",
                    href: "/console/sso/permission-sets",
                    list_title: "Permission sets",
                    actions: &[("Create permission set", "#create-permission-set")],
                },
            ],
        ),
    ],
};

const CLOUDTRAIL: Service = Service {
    name: "CloudTrail",
    long: "AWS CloudTrail",
    home: "/console/cloudtrail/events",
    nav: &[(
        "CloudTrail",
        &[NavItem {
            prefix: &["cloudtrail", "events"],
            label: "Event history",
            href: "/console/cloudtrail/events",
            list_title: "Event history",
            actions: &[],
        }],
    )],
};

const SERVICES: [&Service; 5] = [&IAM, &ECR, &ORGS, &SSO, &CLOUDTRAIL];

/// The service and navigation entry a path belongs to (the account pages — switch role,
/// security credentials — show IAM's navigation with no entry current).
fn place(segs: &[String]) -> (&'static Service, Option<&'static NavItem>) {
    // The entry with the longest matching prefix (`organizations/policies` over
    // `organizations`).
    let mut best: Option<(&'static Service, &'static NavItem)> = None;
    for svc in SERVICES {
        for (_, items) in svc.nav {
            for item in *items {
                if segs.len() >= item.prefix.len()
                    && item.prefix.iter().zip(segs).all(|(a, b)| *a == b.as_str())
                    && best.is_none_or(|(_, b)| b.prefix.len() < item.prefix.len())
                {
                    best = Some((svc, item));
                }
            }
        }
    }
    match best {
        Some((svc, item)) => (svc, Some(item)),
        None => (&IAM, None),
    }
}

/// The principal's short name and account id, from its ARN (`root`, a user's name, a role
/// session's `Role/session`).
pub fn principal_name(arn: &str) -> (String, String) {
    let mut parts = arn.splitn(6, ':');
    let account = parts.nth(4).unwrap_or("").to_owned();
    let resource = parts.next().unwrap_or("");
    let name = match resource.split_once('/') {
        Some(("assumed-role", rest)) => rest.to_owned(),
        Some((_, rest)) => rest.rsplit('/').next().unwrap_or(rest).to_owned(),
        None => resource.to_owned(),
    };
    (name, account)
}

/// The breadcrumbs of a page: the service, the section, the entity, then the page itself.
fn breadcrumbs(segs: &[String], title: &str, svc: &Service, item: Option<&NavItem>) -> String {
    let mut crumbs: Vec<(String, Option<String>)> =
        vec![(svc.name.to_owned(), Some(svc.home.to_owned()))];
    if let Some(item) = item {
        crumbs.push((item.label.to_owned(), Some(item.href.to_owned())));
        let entity = if item.prefix == ["ecr"] {
            match segs {
                [_, r, rest @ ..] if r == "repositories" && !rest.is_empty() => Some((
                    rest.join("/"),
                    format!(
                        "/console/ecr/repositories/{}",
                        rest.iter().map(|s| seg(s)).collect::<Vec<_>>().join("/")
                    ),
                )),
                _ => None,
            }
        } else {
            // The entity is the segment after the entry's prefix.
            match segs.get(item.prefix.len()) {
                Some(id)
                    if id != "new"
                        && id != "validate"
                        && id != "review"
                        && id != "trust-preview"
                        && item.prefix != ["organizations"]
                        && item.prefix != ["sso"] =>
                {
                    let label = if id.starts_with("arn:") {
                        id.rsplit('/').next().unwrap_or(id).to_owned()
                    } else {
                        id.clone()
                    };
                    let prefix: String =
                        item.prefix.iter().map(|p| format!("/{}", seg(p))).collect();
                    Some((label, format!("/console{prefix}/{}", seg(id))))
                }
                _ => None,
            }
        };
        if let Some((label, href)) = entity {
            crumbs.push((label, Some(href)));
        }
    }
    if crumbs.last().map(|(l, _)| l.as_str()) != Some(title)
        && title != item.map_or("", |i| i.list_title)
    {
        crumbs.push((title.to_owned(), None));
    }
    let n = crumbs.len();
    let items: String = crumbs
        .into_iter()
        .enumerate()
        .map(|(i, (label, href))| match href {
            Some(h) if i + 1 < n => {
                format!(r#"<li><a href="{}">{}</a></li>"#, esc(&h), esc(&label))
            }
            _ => format!(r#"<li aria-current="page">{}</li>"#, esc(&label)),
        })
        .collect();
    format!(r#"<nav aria-label="Breadcrumbs" class="crumbs"><ol>{items}</ol></nav>"#)
}

/// The header's account menu: who is signed in, switch role, recent roles, security
/// credentials, sign out.
fn account_menu(s: &ConsoleSession) -> String {
    let (name, account) = principal_name(&s.arn);
    let recent: String = s
        .recent_roles
        .iter()
        .map(|r| {
            format!(
                r#"<li><form method="post" action="/console/switch-role" class="inline">{csrf}<input type="hidden" name="Account" value="{a}"><input type="hidden" name="RoleName" value="{n}"><input type="hidden" name="DisplayName" value="{d}"><input type="hidden" name="Color" value="{c}"><button type="submit" class="link" aria-label="Switch to {d} ({n} @ {a})"><span class="swatch color-{c}"></span> {d}</button></form></li>"#,
                csrf = csrf_field(s),
                a = esc(&r.account),
                n = esc(&r.role),
                d = esc(&r.display_name),
                c = esc(&r.color),
            )
        })
        .collect();
    let recent = if recent.is_empty() {
        String::new()
    } else {
        format!(r#"<li class="menu-heading">Recent roles</li>{recent}"#)
    };
    let color = match &s.switched {
        Some(w) => format!(r#" class="color-{}""#, esc(&w.color)),
        None => String::new(),
    };
    format!(
        r#"<details class="account"><summary{color} aria-label="Signed in as {name} @ {account}"><span class="who-name">{name}</span> <span class="who-account">@ {account}</span></summary>
<div class="account-menu"><dl><dt>Principal</dt> <dd><code>{arn}</code></dd> <dt>Account ID</dt> <dd>{account}</dd></dl>
<ul><li><a href="/console/switch-role">Switch role</a></li>{recent}<li><a href="/console/password">Security credentials</a></li></ul>
<form method="post" action="/console/signout" class="inline signout">{csrf}<button type="submit">Sign out</button></form></div></details>"#,
        name = esc(&name),
        account = esc(&account),
        arn = esc(&s.arn),
        csrf = csrf_field(s),
    )
}

/// The switch-role band under the header, in the role's colour (or the role session's ARN when
/// signed in directly as one, through federation).
fn band(s: &ConsoleSession) -> String {
    match &s.switched {
        Some(w) => format!(
            r#"<div class="band color-{c}"><span class="visually-hidden">Switched role:</span><span class="banner color-{c}" role="status">{d}</span> <span class="band-account">Account ID: {acct}</span> <span class="band-arn">{arn}</span> <form method="post" action="/console/switch-back" class="inline">{csrf}<button type="submit">Switch back</button></form></div>"#,
            c = esc(&w.color),
            d = esc(&w.display_name),
            acct = esc(&principal_name(&s.arn).1),
            arn = esc(&s.arn),
            csrf = csrf_field(s)
        ),
        None if s.arn.contains(":assumed-role/") => format!(
            r#"<div class="band"><span class="visually-hidden">Role session:</span><span class="banner" role="status">{}</span> </div>"#,
            esc(&s.arn)
        ),
        None => String::new(),
    }
}

/// A whole page. Signed in: the header (brand, service switcher, account menu, switch-role
/// band), the service's left navigation, breadcrumbs, the title with the page's primary
/// actions, then `body`. Signed out: one centred card. A body with a policy editor
/// (`data-policy-type`) gets the editor's script, once.
pub fn layout(title: &str, session: Option<&ConsoleSession>, body: &str) -> String {
    let editor = if body.contains("data-policy-type") && !body.contains(EDITOR_SCRIPT) {
        EDITOR_SCRIPT
    } else {
        ""
    };
    let head = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{t} · kagi console</title><link rel="stylesheet" href="/console/static/console.css"></head>"#,
        t = esc(title)
    );
    let brand = r#"<a class="brand" href="/console/"><span class="brand-mark" aria-hidden="true">k</span> kagi <span class="brand-sub">console</span></a>"#;
    let Some(s) = session else {
        return format!(
            r##"{head}
<body class="solo"><a class="skip-link" href="#content">Skip to main content</a><header class="top"><div class="top-bar">{brand}</div></header>
<main id="content" tabindex="-1"><div class="page-head"><h1>{t}</h1></div>
{body}{editor}
</main></body></html>
"##,
            t = esc(title)
        );
    };
    let segs = PATH.with(|p| p.borrow().clone());
    let (svc, item) = place(&segs);
    let services: String = SERVICES
        .iter()
        .map(|x| {
            let current = if std::ptr::eq(*x, svc) && item.is_some() {
                r#" aria-current="true""#
            } else {
                ""
            };
            format!(r#"<li><a href="{}"{current}>{}</a></li>"#, x.home, x.name)
        })
        .collect();
    let side: String = svc
        .nav
        .iter()
        .map(|(group, items)| {
            let links: String = items
                .iter()
                .map(|i| {
                    let current = if item.is_some_and(|c| std::ptr::eq(c, i)) {
                        r#" aria-current="page""#
                    } else {
                        ""
                    };
                    format!(r#"<li><a href="{}"{current}>{}</a></li>"#, i.href, i.label)
                })
                .collect();
            format!(r#"<p class="side-group">{group}</p><ul>{links}</ul>"#)
        })
        .collect();
    let actions: String = match item {
        Some(i) if i.list_title == title => i
            .actions
            .iter()
            .map(|(label, href)| format!(r#"<a href="{href}" class="btn primary">{label}</a>"#))
            .collect(),
        _ => String::new(),
    };
    format!(
        r##"{head}
<body><a class="skip-link" href="#content">Skip to main content</a>
<header class="top"><div class="top-bar">{brand}
<nav aria-label="Services" class="services"><ul>{services}</ul></nav>
{menu}</div>{band}</header>
<div class="shell"><nav aria-label="{svc_name}" class="side"><p class="side-title"><a href="{home}">{svc_long}</a></p>{side}</nav>
<main id="content" tabindex="-1">{crumbs}<div class="page-head"><h1>{t}</h1><div class="page-actions">{actions}</div></div>
{flash}{body}
</main></div>{CONSOLE_SCRIPT}{editor}</body></html>
"##,
        t = esc(title),
        menu = account_menu(s),
        band = band(s),
        svc_name = svc.name,
        svc_long = svc.long,
        home = svc.home,
        crumbs = breadcrumbs(&segs, title, svc, item),
        flash = match &s.flash {
            Some(m) => format!(r#"<div class="success" role="status">{}</div>"#, esc(m)),
            None => String::new(),
        },
    )
}

/// A list as a data table: a caption with the count, column headers, the rows; the console's
/// script adds a text filter, sorting and pagination. With no rows, the empty state `empty`
/// (what to do next) in the table's body.
pub fn data_table(
    caption: &str,
    noun: &str,
    headers: &[&str],
    rows: &str,
    count: usize,
    empty: &str,
) -> String {
    // A "Select" column (checkboxes) is named for screen readers only and not sortable.
    let ths: String = headers
        .iter()
        .map(|h| match *h {
            "Select" => {
                r#"<th scope="col" data-nosort><span class="visually-hidden">Select</span></th>"#
                    .to_owned()
            }
            h => format!(r#"<th scope="col">{}</th>"#, esc(h)),
        })
        .collect();
    let (attr, body) = if count == 0 {
        (
            String::new(),
            format!(
                r#"<tr><td colspan="{}" class="empty">{empty}</td></tr>"#,
                headers.len()
            ),
        )
    } else {
        (format!(r#" data-table="{}""#, esc(noun)), rows.to_owned())
    };
    format!(
        r#"<div class="table-card"><table{attr}><caption>{c} <span class="count">({count})</span></caption><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>"#,
        c = esc(caption)
    )
}

/// The tabs of a detail page: `(id, label, content)`. Without the script, links to the
/// sections and every section shown; with it (`console.js`), ARIA tabs showing one panel at a
/// time, chosen by the URL's fragment (`#security-credentials`), so that a link or a redirect
/// can open a tab. Until the script has run, `console.css` shows the first section and the
/// fragment's (`@media (scripting: enabled)`), so a page never flashes every section.
pub fn tabs(label: &str, tabs: &[(&str, &str, &str)]) -> String {
    let links: String = tabs
        .iter()
        .map(|(id, l, _)| format!(r##"<li><a href="#{id}">{}</a></li>"##, esc(l)))
        .collect();
    let panels: String = tabs
        .iter()
        .map(|(id, l, content)| {
            format!(
                r#"<section id="{id}" class="tab-panel" aria-label="{}">{content}</section>"#,
                esc(l)
            )
        })
        .collect();
    format!(
        r#"<div class="tabs" data-tabs><nav class="tab-links" aria-label="{}"><ul>{links}</ul></nav>{panels}</div>"#,
        esc(label)
    )
}

/// An error box with AWS's code and message.
pub fn error_box(code: &str, message: &str) -> String {
    format!(
        r#"<div class="error" role="alert"><strong>{}</strong>: {}</div>"#,
        esc(code),
        esc(message)
    )
}

/// The stylesheet (`/console/static/console.css`).
pub const CSS: &str = include_str!("console.css");

/// The console's script (`/console/static/console.js`): tables, the account menu.
pub const CONSOLE_JS: &str = include_str!("console.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_segments() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(seg("a b/c+d"), "a%20b%2Fc%2Bd");
    }

    #[test]
    fn the_editor_script_comes_once_and_only_with_an_editor() {
        let editor = r#"<textarea data-policy-type="trust"></textarea>"#;
        assert_eq!(layout("t", None, editor).matches(EDITOR_SCRIPT).count(), 1);
        let both = format!("{editor}{EDITOR_SCRIPT}");
        assert_eq!(layout("t", None, &both).matches(EDITOR_SCRIPT).count(), 1);
        assert!(!layout("t", None, "<p>x</p>").contains("<script"));
        assert!(layout("<b>", None, "").contains("<h1>&lt;b&gt;</h1>"));
    }

    #[test]
    fn principals_read_as_name_at_account() {
        let n = |a: &str| principal_name(a);
        assert_eq!(
            n("arn:aws:iam::123456789012:root"),
            ("root".into(), "123456789012".into())
        );
        assert_eq!(
            n("arn:aws:iam::123456789012:user/team/alice"),
            ("alice".into(), "123456789012".into())
        );
        assert_eq!(
            n("arn:aws:sts::123456789012:assumed-role/Deploy/ci-run"),
            ("Deploy/ci-run".into(), "123456789012".into())
        );
    }

    fn segs(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn breadcrumbs_follow_the_path() {
        let crumbs = |p: &[&str], title: &str| {
            let segs = segs(p);
            let (svc, item) = place(&segs);
            breadcrumbs(&segs, title, svc, item)
        };
        let users = crumbs(&["users"], "Users");
        assert!(
            users.contains(
                r#"<li><a href="/console/users">IAM</a></li><li aria-current="page">Users</li>"#
            ),
            "{users}"
        );
        let user = crumbs(&["users", "a<b"], "a<b");
        assert!(
            user.contains(
                r#"<li><a href="/console/users">Users</a></li><li aria-current="page">a&lt;b</li>"#
            ),
            "{user}"
        );
        let key = crumbs(&["users", "alice", "access-keys"], "Access key created");
        assert!(key.contains(r#"<a href="/console/users/alice">alice</a></li><li aria-current="page">Access key created</li>"#), "{key}");
        let policy = crumbs(&["policies", "arn:aws:iam::123456789012:policy/P"], "P");
        assert!(
            policy.contains(r#"<li aria-current="page">P</li>"#),
            "{policy}"
        );
        let repo = crumbs(&["ecr", "repositories", "team", "app"], "team/app");
        assert!(
            repo.contains(r#"<a href="/console/ecr/repositories">ECR</a></li><li><a href="/console/ecr/repositories">Repositories</a></li><li aria-current="page">team/app</li>"#),
            "{repo}"
        );
        // The longest matching entry: an Organizations policy is under Policies, not accounts.
        let scp = crumbs(&["organizations", "policies", "p-abc"], "NoUsers");
        assert!(
            scp.contains(r#"<li><a href="/console/organizations">Organizations</a></li><li><a href="/console/organizations/policies">Policies</a></li><li><a href="/console/organizations/policies/p-abc">p-abc</a></li><li aria-current="page">NoUsers</li>"#),
            "{scp}"
        );
        let accounts = crumbs(&["organizations"], "AWS accounts");
        assert!(
            accounts.contains(r#"<li aria-current="page">AWS accounts</li>"#),
            "{accounts}"
        );
        // Identity Center: its own entries under the dashboard's prefix; a dashboard form's
        // path segment is no entity.
        let ps = crumbs(&["sso", "permission-sets", "ps-1"], "ReadIam");
        assert!(
            ps.contains(r#"<li><a href="/console/sso">IAM Identity Center</a></li><li><a href="/console/sso/permission-sets">Permission sets</a></li><li><a href="/console/sso/permission-sets/ps-1">ps-1</a></li><li aria-current="page">ReadIam</li>"#),
            "{ps}"
        );
        let enable = crumbs(&["sso", "enable"], "Enable IAM Identity Center");
        assert!(
            enable.contains(r#"<li><a href="/console/sso">Dashboard</a></li><li aria-current="page">Enable IAM Identity Center</li>"#),
            "{enable}"
        );
        let new = crumbs(&["policies", "new"], "Create policy");
        assert!(new.contains(r#"<a href="/console/policies">Policies</a></li><li aria-current="page">Create policy</li>"#), "{new}");
    }

    #[test]
    fn tables_count_and_say_what_to_do_when_empty() {
        let t = data_table(
            "Users",
            "users",
            &["User name"],
            "<tr><td>a</td></tr>",
            1,
            "x",
        );
        assert!(t.contains(r#"<table data-table="users"><caption>Users <span class="count">(1)</span></caption>"#), "{t}");
        let e = data_table(
            "Users",
            "users",
            &["User name", "ARN"],
            "",
            0,
            "<strong>No users yet</strong>",
        );
        assert!(!e.contains("data-table="), "nothing to filter");
        assert!(
            e.contains(r#"<td colspan="2" class="empty"><strong>No users yet</strong></td>"#),
            "{e}"
        );
    }
}
