// kagi console: live policy findings in the policy editors. Handwritten, no dependencies.
// Every <textarea data-policy-type="identity|trust|resource" data-findings="ID"> inside a form
// with a CSRF field posts its draft to /console/policies/validate while typing and lists the
// policy engine's findings (with line and column) in the element with that ID. textContent only.
(function () {
  "use strict";
  function wire(area) {
    var out = document.getElementById(area.getAttribute("data-findings"));
    var form = area.form;
    if (!out || !form) return;
    var csrfField = form.querySelector("input[name=csrf]");
    if (!csrfField) return;
    var csrf = csrfField.value;
    var kind = area.getAttribute("data-policy-type");
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
      body.set("PolicyType", kind);
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
  }
  var areas = document.querySelectorAll("textarea[data-policy-type]");
  for (var i = 0; i < areas.length; i++) wire(areas[i]);
})();
