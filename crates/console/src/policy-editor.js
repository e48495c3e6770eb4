// kagi console: live policy findings in the policy editor. Handwritten, no dependencies.
// Posts the draft (with the form's CSRF token) to /console/policies/validate while typing and
// lists the policy engine's findings with their line and column. Uses textContent only.
(function () {
  "use strict";
  var form = document.getElementById("policy-form");
  if (!form) return;
  var area = form.querySelector("textarea[name=PolicyDocument]");
  var out = document.getElementById("findings");
  var csrf = form.querySelector("input[name=csrf]").value;
  var timer = null;
  function render(list) {
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
  function check() {
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    body.set("PolicyDocument", area.value);
    fetch("/console/policies/validate", {
      method: "POST",
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) { return r.json(); })
      .then(function (j) { render(j.findings || []); })
      .catch(function () {});
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
})();
