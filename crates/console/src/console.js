// kagi console: the page enhancements. Handwritten, no dependencies, served from 'self'.
// Everything here is progressive: without this script every list shows all its rows, every
// menu is a plain <details>, every form posts as it is.
//   - Data tables (<table data-table="users">): a text filter, sortable columns (buttons in the
//     headers, aria-sort), pagination (25 rows a page) and a live count of what is shown.
//   - Tabs (<div data-tabs>): ARIA tabs over a detail page's sections, chosen by the URL's
//     fragment (without the script: links to sections that are all shown).
//   - The account menu (<details class="account">) closes on Escape and on a click elsewhere.
//   - Copy buttons (<p data-copy="ID">) for a new access key's secret.
//   - Tables and code blocks that scroll sideways on a small screen become focusable.
//   - A form being sent disables its submit button and says so (no double submits).
//   - Delete sections and "Delete selected" open as modal confirm dialogs.
// textContent only: no HTML is built from strings.
(function () {
  "use strict";
  var PAGE_SIZE = 25;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function cellText(row, i) {
    var c = row.cells[i];
    return c ? c.textContent.trim() : "";
  }

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function enhance(table, n) {
    var tbody = table.tBodies[0];
    if (!tbody) return;
    var noun = table.getAttribute("data-table") || "items";
    var all = Array.prototype.slice.call(tbody.rows);
    var state = { q: "", col: -1, dir: 1, page: 0 };

    // The filter and the live count, above the table.
    var tools = el("div", { class: "table-tools" });
    var id = "table-filter-" + n;
    var label = el("label", { for: id });
    label.appendChild(el("span", { class: "visually-hidden" }, "Filter " + noun));
    var input = el("input", { type: "search", id: id, placeholder: "Find " + noun, autocomplete: "off" });
    label.appendChild(input);
    var status = el("p", { class: "table-status", "aria-live": "polite" });
    tools.appendChild(label);
    tools.appendChild(status);
    table.parentNode.insertBefore(tools, table);

    // Sort buttons in the column headers.
    var ths = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
    ths.forEach(function (th, i) {
      if (th.hasAttribute("data-nosort")) return;
      var b = el("button", { type: "button", class: "sort" }, th.textContent.trim());
      th.textContent = "";
      th.appendChild(b);
      th.setAttribute("aria-sort", "none");
      b.addEventListener("click", function () {
        state.dir = state.col === i ? -state.dir : 1;
        state.col = i;
        ths.forEach(function (h) {
          if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        state.page = 0;
        render();
      });
    });

    // Pagination, below the table.
    var pager = el("nav", { class: "pager", "aria-label": "Pages of " + noun });
    var prev = el("button", { type: "button" }, "Previous page");
    var where = el("span");
    var next = el("button", { type: "button" }, "Next page");
    pager.appendChild(prev);
    pager.appendChild(where);
    pager.appendChild(next);
    table.parentNode.insertBefore(pager, table.nextSibling);
    prev.addEventListener("click", function () {
      state.page -= 1;
      render();
    });
    next.addEventListener("click", function () {
      state.page += 1;
      render();
    });
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state.q = input.value.trim().toLowerCase();
        state.page = 0;
        render();
      }, 120);
    });

    function render() {
      var shown = all.filter(function (r) {
        return !state.q || r.textContent.toLowerCase().indexOf(state.q) >= 0;
      });
      if (state.col >= 0) {
        shown.sort(function (a, b) {
          return state.dir * collator.compare(cellText(a, state.col), cellText(b, state.col));
        });
      }
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      state.page = Math.min(Math.max(0, state.page), pages - 1);
      var from = state.page * PAGE_SIZE;
      var onPage = shown.slice(from, from + PAGE_SIZE);
      // Re-append in the chosen order: the DOM order is the reading order. Rows already in
      // that order are left where they are: moving a row blurs a link focused inside it (a
      // keyboard user who reached a row before this script first drew the table lost their
      // place, and the Enter they pressed next went nowhere).
      var current = Array.prototype.slice.call(tbody.rows);
      var moved = shown.some(function (r, i) {
        return current[i] !== r;
      });
      if (moved) {
        var focused = document.activeElement;
        shown.forEach(function (r) {
          tbody.appendChild(r);
        });
        if (focused && focused !== document.activeElement && tbody.contains(focused)) focused.focus();
      }
      // Only rows whose state changes are touched: hiding a row, even for a moment, blurs a
      // link focused inside it.
      var visible = new Set(onPage);
      all.forEach(function (r) {
        var hide = !visible.has(r);
        if (r.hidden !== hide) r.hidden = hide;
      });
      if (!shown.length) {
        status.textContent = "No " + noun + " match “" + input.value.trim() + "”.";
      } else {
        status.textContent =
          "Showing " + (from + 1) + "–" + (from + onPage.length) + " of " + shown.length + " " + noun +
          (state.q ? " matching “" + input.value.trim() + "”" : "") + ".";
      }
      where.textContent = "Page " + (state.page + 1) + " of " + pages;
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
      pager.hidden = pages === 1;
    }
    render();
  }

  Array.prototype.forEach.call(document.querySelectorAll("table[data-table]"), enhance);

  // Tabs (<div data-tabs>: a nav of #links, one <section> per link): ARIA tabs, one panel
  // shown, chosen by the URL's fragment (a link or a redirect to #id opens that tab); arrow
  // keys, Home and End move between tabs.
  Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), function (box) {
    var nav = box.querySelector(".tab-links");
    if (!nav) {
      box.setAttribute("data-ready", "");
      return;
    }
    var list = el("div", { role: "tablist", class: "tab-list", "aria-label": nav.getAttribute("aria-label") || "Sections" });
    var tabs = [];
    var panels = [];
    Array.prototype.forEach.call(nav.querySelectorAll("a"), function (a) {
      var id = a.getAttribute("href").slice(1);
      var panel = document.getElementById(id);
      if (!panel) return;
      var tab = el("button", { type: "button", role: "tab", id: "tab-" + id, "aria-controls": id }, a.textContent);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", "tab-" + id);
      panel.removeAttribute("aria-label");
      tab.addEventListener("click", function () {
        select(tabs.indexOf(tab), true);
      });
      tab.addEventListener("keydown", function (e) {
        var i = tabs.indexOf(tab);
        var to = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : e.key === "Home" ? 0 : e.key === "End" ? tabs.length - 1 : null;
        if (to === null) return;
        e.preventDefault();
        to = (to + tabs.length) % tabs.length;
        select(to, true);
        tabs[to].focus();
      });
      tabs.push(tab);
      panels.push(panel);
      list.appendChild(tab);
    });
    if (!tabs.length) {
      box.setAttribute("data-ready", "");
      return;
    }
    nav.parentNode.replaceChild(list, nav);
    function select(i, remember) {
      tabs.forEach(function (t, j) {
        t.setAttribute("aria-selected", String(i === j));
        t.tabIndex = i === j ? 0 : -1;
        panels[j].hidden = i !== j;
      });
      if (remember && history.replaceState) history.replaceState(null, "", "#" + panels[i].id);
    }
    function fromHash() {
      var id = decodeURIComponent(location.hash.slice(1));
      var target = id && document.getElementById(id);
      var i = panels.findIndex(function (p) {
        return target && (p === target || p.contains(target));
      });
      select(i < 0 ? 0 : i, false);
      if (target && i >= 0 && target !== panels[i]) target.scrollIntoView();
    }
    fromHash();
    // From here the panels' `hidden` attributes decide (console.css hid all but the first).
    box.setAttribute("data-ready", "");
    window.addEventListener("hashchange", fromHash);
  });

  // A table or code block wider than the screen scrolls sideways on its own (the page does
  // not): such a region must be reachable by keyboard to be scrolled.
  function scrollablesFocusable() {
    Array.prototype.forEach.call(document.querySelectorAll("main table, main pre"), function (e) {
      var s = getComputedStyle(e);
      var scrolls =
        (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(s.overflowX)) ||
        (e.scrollHeight > e.clientHeight + 1 && /auto|scroll/.test(s.overflowY));
      if (scrolls && !e.hasAttribute("tabindex")) e.setAttribute("tabindex", "0");
    });
  }
  scrollablesFocusable();
  window.addEventListener("resize", scrollablesFocusable);
  document.addEventListener("toggle", scrollablesFocusable, true);

  // Copy buttons: <p data-copy="ID" data-copy-label="…"> gets a button copying the text of
  // the element ID (a new access key's secret, shown once) to the clipboard.
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (slot) {
    var target = document.getElementById(slot.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    var b = el("button", { type: "button" }, slot.getAttribute("data-copy-label") || "Copy");
    var said = el("span", { class: "copy-said", "aria-live": "polite" });
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () {
          said.textContent = " Copied.";
        },
        function () {
          said.textContent = " Could not copy: select the text and copy it.";
        },
      );
    });
    slot.appendChild(b);
    slot.appendChild(said);
  });

  // The account menu: Escape or a click elsewhere closes it.
  var menu = document.querySelector("details.account");
  if (menu) {
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (menu.open && !menu.contains(e.target)) menu.open = false;
    });
  }

  // Confirm dialogs: a delete section (<section data-confirm="Delete user alice?">, its form
  // asking for the name typed) becomes a button opening a modal <dialog> with that form, named
  // by the question, with Cancel. A list's "Delete selected" (data-bulk="FORM-ID") lists the
  // rows whose checkboxes belong to that form, and opens only when some are chosen. Without
  // this script the sections are plain forms on the page.
  var dialogs = 0;
  Array.prototype.forEach.call(document.querySelectorAll("section[data-confirm]"), function (zone) {
    var form = zone.querySelector("form");
    var submit = form && form.querySelector("button[type=submit]");
    if (!form || !submit || typeof HTMLDialogElement !== "function") return;
    dialogs += 1;
    var id = "confirm-dialog-" + dialogs;
    var dialog = el("dialog", { class: "confirm-dialog", "aria-labelledby": id + "-title" });
    dialog.appendChild(el("h2", { id: id + "-title" }, zone.getAttribute("data-confirm")));
    var bulk = zone.getAttribute("data-bulk");
    var list = el("ul", { class: "confirm-names" });
    var boxes = function () {
      return Array.prototype.slice.call(document.querySelectorAll('input[type=checkbox][form="' + bulk + '"]'));
    };
    if (bulk) dialog.appendChild(list);
    dialog.appendChild(form);
    var cancel = el("button", { type: "button", class: "cancel" }, "Cancel");
    cancel.addEventListener("click", function () {
      dialog.close();
    });
    form.appendChild(cancel);
    var open = el("button", { type: "button", class: "danger" }, submit.textContent);
    open.addEventListener("click", function () {
      if (bulk) {
        list.textContent = "";
        boxes().forEach(function (b) {
          if (b.checked) list.appendChild(el("li", {}, b.getAttribute("data-name") || b.value));
        });
      }
      dialog.showModal();
      var input = form.querySelector("input[type=text]");
      if (input) input.focus();
    });
    dialog.addEventListener("close", function () {
      open.focus();
    });
    zone.appendChild(open);
    zone.appendChild(dialog);
    if (bulk) {
      var sync = function () {
        open.disabled = !boxes().some(function (b) {
          return b.checked;
        });
      };
      document.addEventListener("change", sync);
      sync();
    }
  });

  // A form being sent: its submit button says so and cannot be pressed twice.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !form.querySelector) return;
    var b = e.submitter || form.querySelector("button[type=submit]");
    if (!b || b.disabled) return;
    form.setAttribute("aria-busy", "true");
    // After this event, so the button's own name/value still go with the form.
    setTimeout(function () {
      b.disabled = true;
      b.setAttribute("data-label", b.textContent);
    }, 0);
  });
  // Back/forward cache: a page shown again has its buttons usable again.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[aria-busy]"), function (f) {
      f.removeAttribute("aria-busy");
      Array.prototype.forEach.call(f.querySelectorAll("button[disabled]"), function (b) {
        b.disabled = false;
      });
    });
  });
})();
