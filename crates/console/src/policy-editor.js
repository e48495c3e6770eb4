// kagi console: the policy editors. Handwritten, no dependencies, served from 'self'.
// Every <textarea data-policy-type="identity|trust|resource" data-findings="ID"> becomes a code
// editor: line numbers, JSON syntax highlighting (a highlighted copy of the text under the
// transparent textarea, which stays the labelled control), bracket matching at the caret. Inside
// a form with a CSRF field it posts its draft to /console/policies/validate while typing, lists
// the policy engine's findings (with line and column) in the element with that ID, pins them to
// their lines (the line number and the line itself are marked, the message is the number's
// title) and shows what the draft allows as a table (the server's summary). At once for a draft
// already present on load. The role wizard's trust policy preview follows its choices, and its
// web identity audiences follow the chosen provider.
// textContent only: no HTML is built from strings.
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------ highlighting

  // JSON tokens (tolerant: comments and stray text are tokens too, so any draft renders).
  var TOKEN = /("(?:[^"\\\n]|\\.)*"?)|(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(\btrue\b|\bfalse\b|\bnull\b)|([{}\[\]])|([:,])|(\s+)|([^"\s{}\[\]:,\/]+|\/)/g;

  function tokens(text) {
    var out = [];
    var m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text))) {
      var kind = m[1] !== undefined ? "string" : m[2] !== undefined ? "comment" : m[3] !== undefined ? "number"
        : m[4] !== undefined ? "literal" : m[5] !== undefined ? "bracket" : m[6] !== undefined ? "punct"
        : m[7] !== undefined ? "space" : "other";
      out.push({ kind: kind, text: m[0], start: m.index });
    }
    // A string followed by a colon is a key.
    for (var i = 0; i < out.length; i++) {
      if (out[i].kind !== "string") continue;
      for (var j = i + 1; j < out.length && out[j].kind === "space"; j++);
      if (j < out.length && out[j].text === ":") out[i].kind = "key";
    }
    return out;
  }

  // The bracket matching the one at `pos` (index into text), from the token list, or -1.
  function matchBracket(toks, pos) {
    var idx = -1;
    for (var i = 0; i < toks.length; i++) {
      if (toks[i].kind === "bracket" && toks[i].start === pos) { idx = i; break; }
    }
    if (idx < 0) return -1;
    var open = "{[".indexOf(toks[idx].text) >= 0;
    var pair = { "{": "}", "[": "]", "}": "{", "]": "[" }[toks[idx].text];
    var depth = 0;
    for (var k = idx; open ? k < toks.length : k >= 0; k += open ? 1 : -1) {
      if (toks[k].kind !== "bracket") continue;
      if (toks[k].text === toks[idx].text) depth++;
      else if (toks[k].text === pair) {
        depth--;
        if (depth === 0) return toks[k].start;
      }
    }
    return -1;
  }

  function editor(area) {
    var wrap = el("span", "code-editor");
    var gutter = el("span", "code-gutter");
    gutter.setAttribute("aria-hidden", "true");
    var stack = el("span", "code-stack");
    var shade = el("pre", "code-shade");
    shade.setAttribute("aria-hidden", "true");
    var status = el("span", "code-status");
    area.parentNode.insertBefore(wrap, area);
    wrap.appendChild(gutter);
    wrap.appendChild(stack);
    stack.appendChild(shade);
    stack.appendChild(area);
    wrap.parentNode.insertBefore(status, wrap.nextSibling);
    area.classList.add("code-input");
    area.setAttribute("wrap", "off");
    var marks = {};
    var toks = [];
    var bracketEls = {};

    function paint() {
      var text = area.value;
      toks = tokens(text);
      bracketEls = {};
      shade.textContent = "";
      var line = el("span", "code-line");
      var lines = [line];
      toks.forEach(function (t) {
        var parts = t.text.split("\n");
        parts.forEach(function (part, i) {
          if (i > 0) {
            line = el("span", "code-line");
            lines.push(line);
          }
          if (!part) return;
          var span = t.kind === "space" ? document.createTextNode(part) : el("span", "tok-" + t.kind, part);
          if (t.kind === "bracket") bracketEls[t.start] = span;
          line.appendChild(span);
        });
      });
      lines.forEach(function (l, i) {
        var m = marks[i + 1];
        if (m) l.classList.add("has-" + m.type);
        shade.appendChild(l);
      });
      // The editor grows with its draft (8 to 32 lines; longer drafts scroll).
      area.rows = Math.min(Math.max(lines.length + 1, 8), 32);
      gutter.textContent = "";
      lines.forEach(function (_, i) {
        var n = el("span", "code-num", String(i + 1));
        var m = marks[i + 1];
        if (m) {
          n.classList.add("has-" + m.type);
          n.title = m.text;
        }
        gutter.appendChild(n);
      });
      sync();
      caret();
    }
    function sync() {
      shade.scrollTop = area.scrollTop;
      shade.scrollLeft = area.scrollLeft;
      gutter.scrollTop = area.scrollTop;
    }
    function caret() {
      Object.keys(bracketEls).forEach(function (k) {
        bracketEls[k].classList.remove("bracket-match");
      });
      var pos = area.selectionStart;
      var text = area.value;
      var before = text.slice(0, pos);
      var ln = before.split("\n").length;
      var col = pos - before.lastIndexOf("\n");
      var at = "{}[]".indexOf(text.charAt(pos)) >= 0 ? pos : "{}[]".indexOf(text.charAt(pos - 1)) >= 0 ? pos - 1 : -1;
      var other = at >= 0 ? matchBracket(toks, at) : -1;
      var note = "";
      if (at >= 0 && other >= 0) {
        bracketEls[at].classList.add("bracket-match");
        bracketEls[other].classList.add("bracket-match");
        var l2 = text.slice(0, other).split("\n").length;
        note = " · “" + text.charAt(at) + "” matches line " + l2;
      } else if (at >= 0 && bracketEls[at]) {
        bracketEls[at].classList.add("bracket-match", "bracket-lonely");
        note = " · “" + text.charAt(at) + "” has no match";
      }
      status.textContent = "Line " + ln + ", column " + col + note;
    }
    area.addEventListener("input", paint);
    area.addEventListener("scroll", sync);
    ["keyup", "click", "select", "focus"].forEach(function (ev) {
      area.addEventListener(ev, caret);
    });
    document.addEventListener("selectionchange", function () {
      if (document.activeElement === area) caret();
    });
    paint();
    return {
      // Findings: [{line, type, text}]; the first per line wins its mark.
      mark: function (list) {
        marks = {};
        list.forEach(function (f) {
          if (f.line && !marks[f.line]) marks[f.line] = { type: f.type === "ERROR" ? "error" : "warning", text: f.text };
        });
        paint();
      },
    };
  }

  // ------------------------------------------------------------ the summary

  function summaryTable(rows) {
    var withPrincipal = rows.some(function (r) { return r.principal; });
    var table = el("table");
    table.appendChild(el("caption", "", "What this draft allows"));
    var head = el("tr");
    ["Effect", "Service", "Actions", "Resources"].concat(withPrincipal ? ["Principal"] : [], ["Condition"]).forEach(function (h) {
      var th = el("th", "", h);
      th.setAttribute("scope", "col");
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      var eff = el("td");
      eff.appendChild(el("span", "effect effect-" + (r.effect === "Deny" ? "Deny" : "Allow"), r.effect));
      tr.appendChild(eff);
      tr.appendChild(el("td", "", r.service));
      tr.appendChild(el("td", "", r.actions));
      tr.appendChild(el("td", "long", r.resources));
      if (withPrincipal) tr.appendChild(el("td", "", r.principal));
      tr.appendChild(el("td", "", r.condition));
      body.appendChild(tr);
    });
    table.appendChild(body);
    var card = el("div", "table-card summary-table");
    card.appendChild(table);
    return card;
  }

  function wire(area) {
    var out = document.getElementById(area.getAttribute("data-findings"));
    var form = area.form;
    if (!out || !form) return;
    var code = editor(area);
    var csrfField = form.querySelector("input[name=csrf]");
    if (!csrfField) return;
    var csrf = csrfField.value;
    var kind = area.getAttribute("data-policy-type");
    var timer = null;
    var summary = el("div", "policy-summary");
    summary.setAttribute("aria-live", "polite");
    out.parentNode.insertBefore(summary, out.nextSibling);
    function showSummary(rows) {
      summary.textContent = "";
      if (rows && rows.length) summary.appendChild(summaryTable(rows));
      else summary.appendChild(el("p", "muted", "The summary of what the draft allows appears when it is a valid policy document."));
    }
    function render(list) {
      code.mark(list.map(function (f) {
        return { line: f.line, type: f.type, text: f.type + " " + f.code + ": " + f.details };
      }));
      out.textContent = "";
      var p = document.createElement("p");
      if (!list.length) {
        p.textContent = "The policy engine has no findings.";
        out.appendChild(p);
        return;
      }
      p.textContent = "Findings:";
      out.appendChild(p);
      var ul = document.createElement("ul");
      list.forEach(function (f) {
        var li = document.createElement("li");
        var at = f.line ? "Line " + f.line + ", column " + f.column + ": " : "";
        li.textContent = f.type + " " + f.code + ": " + at + f.details;
        ul.appendChild(li);
      });
      out.appendChild(ul);
    }
    var sent = 0;
    function check() {
      // Only the answer to the latest draft is shown, whatever order the answers arrive in.
      var mine = ++sent;
      var body = new URLSearchParams();
      body.set("csrf", csrf);
      body.set("PolicyType", kind);
      body.set("PolicyDocument", area.value);
      fetch("/console/policies/validate", {
        method: "POST",
        body: body,
        credentials: "same-origin",
      })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (mine !== sent) return;
          render(j.findings || []);
          showSummary(j.summary);
        })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    });
    // A draft already there when the script runs (a page showing a document, or text typed
    // before this deferred script loaded) gets its findings without waiting for a keystroke.
    if (area.value.trim()) check();
  }
  // The role wizard (form#role-form): the trust policy preview follows the chosen trusted
  // entity and its options, generated by the server (POST /console/roles/trust-preview, the
  // review step's generator) and shown with textContent.
  function wirePreview(form) {
    var pre = document.getElementById("trust-preview");
    var label = document.getElementById("trust-preview-label");
    var problem = document.getElementById("trust-preview-problem");
    if (!pre || !label || !problem) return;
    var timer = null;
    function show(j) {
      label.textContent = j.label || "";
      pre.textContent = j.policy || "";
      pre.hidden = !j.policy;
      problem.textContent = j.problem || "";
      problem.hidden = !j.problem;
    }
    var sent = 0;
    function update() {
      var mine = ++sent;
      fetch("/console/roles/trust-preview", {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      })
        .then(function (r) { return r.json(); })
        .then(function (j) { if (mine === sent) show(j); })
        .catch(function () {});
    }
    function later() {
      clearTimeout(timer);
      timer = setTimeout(update, 300);
    }
    form.addEventListener("change", later);
    form.addEventListener("input", later);
    // Choices made before this deferred script ran (or restored by the browser on "Back").
    update();
  }
  // The wizard's "Web identity" audience list holds one group per provider
  // (<optgroup data-provider="ARN">): only the chosen provider's group stays offered, and an
  // audience of another provider (or none) gives way to the chosen provider's first.
  function wireAudiences(form) {
    var provider = form.querySelector("select[name=IdentityProvider]");
    var audience = form.querySelector("select[name=Audience]");
    if (!provider || !audience) return;
    function sync() {
      var groups = audience.querySelectorAll("optgroup");
      var first = null;
      for (var i = 0; i < groups.length; i++) {
        var mine = groups[i].getAttribute("data-provider") === provider.value;
        groups[i].disabled = !mine;
        groups[i].hidden = !mine;
        if (mine && !first) first = groups[i].querySelector("option");
      }
      var cur = audience.options[audience.selectedIndex];
      var ok = cur && cur.value && cur.parentNode.getAttribute("data-provider") === provider.value;
      if (!ok) {
        if (first) first.selected = true;
        else audience.value = "";
      }
    }
    provider.addEventListener("change", sync);
    sync();
  }
  var areas = document.querySelectorAll("textarea[data-policy-type]");
  for (var i = 0; i < areas.length; i++) wire(areas[i]);
  var roleForm = document.getElementById("role-form");
  if (roleForm) {
    wireAudiences(roleForm);
    wirePreview(roleForm);
  }
})();
