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

/// A whole page: header with navigation (when signed in), then `body`. A body with a policy
/// editor (`data-policy-type`) gets the editor's script, once.
pub fn layout(title: &str, session: Option<&ConsoleSession>, body: &str) -> String {
    let script = if body.contains("data-policy-type") && !body.contains(EDITOR_SCRIPT) {
        EDITOR_SCRIPT
    } else {
        ""
    };
    let nav = match session {
        Some(s) => format!(
            r#"<nav aria-label="main"><a href="/console/users">Users</a> <a href="/console/groups">Groups</a> <a href="/console/policies">Policies</a> <a href="/console/roles">Roles</a> <a href="/console/identity-providers">Identity providers</a> <a href="/console/simulator">Policy simulator</a> <a href="/console/ecr/repositories">ECR</a> <a href="/console/switch-role">Switch role</a> <a href="/console/password">Password</a>
<span class="who">{arn}</span>{banner}
<form method="post" action="/console/signout" class="inline">{csrf}<button type="submit">Sign out</button></form></nav>"#,
            arn = esc(&s.arn),
            csrf = csrf_field(s),
            banner = match &s.switched {
                Some(w) => format!(
                    r#" <span class="banner color-{}" role="status">{} <form method="post" action="/console/switch-back" class="inline">{}<button type="submit">Switch back</button></form></span>"#,
                    esc(&w.color),
                    esc(&w.display_name),
                    csrf_field(s)
                ),
                // A role session signed in directly (federation): the banner names it.
                None if s.arn.contains(":assumed-role/") => format!(
                    r#" <span class="banner" role="status">{}</span>"#,
                    esc(&s.arn)
                ),
                None => String::new(),
            }
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · kagi console</title><link rel="stylesheet" href="/console/static/console.css"></head>
<body><header><strong>kagi console</strong> {nav}</header>
<main><h1>{title}</h1>
{body}{script}
</main></body></html>
"#,
        title = esc(title)
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

pub const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;line-height:1.4}
header{background:#232f3e;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;gap:1em;align-items:center}
header a{color:#fff;margin-right:1em}header .who{opacity:.8;font-size:.9em;overflow-wrap:anywhere}
main{padding:1em;max-width:60em}main h1,main h2,main p,main li,main code,main label{overflow-wrap:anywhere}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;overflow-wrap:break-word}
td code,td a,td.long{overflow-wrap:anywhere}td button{white-space:nowrap}
@media (min-width:48em){td code.id{white-space:nowrap}}@media (max-width:48em){table{display:block;overflow-x:auto}}
.error{background:#fde8e8;border:1px solid #d13212;padding:.6em;margin:.6em 0}
.notice{background:#e8f4fd;border:1px solid #0073bb;padding:.6em;margin:.6em 0}
.inline{display:inline}textarea{width:100%;font-family:monospace}
label{display:block;margin:.4em 0}input[type=text],input[type=password]{width:100%;max-width:30em}
pre{background:#f4f4f4;padding:.5em;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.banner{background:#ff9900;color:#000;padding:.2em .6em;border-radius:.3em;display:inline-block;max-width:100%;box-sizing:border-box}
.banner button{white-space:nowrap}
.color-red{background:#f2b0a9;color:#000}.color-orange{background:#fbbf93;color:#000}
.color-yellow{background:#fad791;color:#000}.color-green{background:#b7ca9d;color:#000}
.color-blue{background:#99bcf3;color:#000}
.swatch{display:inline-block;width:1em;height:1em;border:1px solid #555;vertical-align:middle}
.ok{color:#1d8102}.bad{color:#d13212}details{margin:.6em 0}summary{cursor:pointer}
fieldset{margin:.6em 0}.qr svg{width:240px;max-width:100%;height:auto}ul.recent-roles{list-style:none;padding:0}ul.recent-roles li{margin:.3em 0}
";

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
}
