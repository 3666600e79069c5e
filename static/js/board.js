// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Ask before destructive actions.
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter;
    var msg = btn && btn.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); return; }
    if (btn && !ev.defaultPrevented) {
      // Avoid double submissions on slow networks.
      window.setTimeout(function () { btn.disabled = true; }, 0);
    }
  });

  // Buttons disabled on submit come back when the page is shown again from history.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[disabled]").forEach(function (b) { b.disabled = false; });
  });

  // Character counts near a field's limit, and a clear message when pasted text is too long
  // (fields carry data-maxlength instead of maxlength, so nothing is cut silently).
  function count(input) {
    var out = document.getElementById(input.id + "-count");
    if (!out) return;
    var max = parseInt(input.getAttribute("data-maxlength"), 10);
    var n = Array.from(input.value).length;
    var over = n - max;
    out.hidden = n < max * 0.8;
    out.classList.toggle("counter-over", over > 0);
    var tpl = over > 0 ? out.getAttribute("data-msg-over") : out.getAttribute("data-msg-count");
    out.textContent = tpl.replace("{n}", n).replace("{max}", max).replace("{over}", over);
    if (over > 0) { input.setAttribute("aria-invalid", "true"); }
    else if (!input.closest(".has-error")) { input.removeAttribute("aria-invalid"); }
  }
  document.querySelectorAll("[data-maxlength]").forEach(function (input) {
    input.addEventListener("input", function () { count(input); });
    count(input);
  });

  // Live suggestions while typing a demand or capability.
  var form = document.querySelector("form[data-suggest-form]");
  if (!form) return;
  var url = form.getAttribute("data-suggest-form");
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var panel = form.querySelector("[data-suggest-panel]");
  var items = form.querySelector("[data-suggest-items]");
  var field = function (name) { return form.querySelector('[data-suggest-source="' + name + '"]'); };
  var segment = form.querySelector('select[name="segment"]');
  var timer = null;

  function chip(label, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn small";
    b.textContent = label;
    b.addEventListener("click", function () { onClick(); b.remove(); if (!items.children.length) panel.hidden = true; });
    items.appendChild(b);
  }

  function render(data) {
    items.textContent = "";
    if (data.segment && segment && segment.value !== data.segment.code) {
      chip("＋ " + data.segment.name, function () { segment.value = data.segment.code; });
    }
    (data.themes || []).forEach(function (t) {
      var box = form.querySelector('input[name="themes"][value="' + t.code + '"]');
      if (box && !box.checked) chip("＋ " + t.name, function () { box.checked = true; });
    });
    var kw = field("keywords");
    var have = kw.value.toLowerCase();
    (data.keywords || []).forEach(function (k) {
      if (have.indexOf(k.toLowerCase()) === -1) {
        chip("＋ " + k, function () { kw.value = kw.value.trim() ? kw.value.trim() + "、" + k : k; });
      }
    });
    panel.hidden = !items.children.length;
  }

  function ask() {
    var body = JSON.stringify({
      title: field("title").value, description: field("description").value, keywords: field("keywords").value
    });
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token }, body: body
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(data); })
      .catch(function () { /* suggestions are optional */ });
  }

  ["title", "description", "keywords"].forEach(function (name) {
    field(name).addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 500);
    });
  });
  if (field("title").value || field("description").value) ask();
})();
