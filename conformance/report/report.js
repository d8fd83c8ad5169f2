/* vjp-conformance report: filters, search and copy buttons. Works from file:// with no server. */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var q = document.getElementById("q");
  var DIMS = ["fw", "dev", "dt", "pr", "md"];

  function selected(dim) {
    var set = new Set(), all = true;
    form.querySelectorAll('input[data-dim="' + dim + '"]').forEach(function (b) {
      if (b.checked) { set.add(b.value); } else { all = false; }
    });
    return { set: set, all: all };
  }
  function colOk(el, sel) {
    return DIMS.every(function (d) { var v = el.dataset[d]; return v === undefined || sel[d].set.has(v); });
  }
  function stOk(el, st) {
    var v = el.dataset.st;
    return st.all || v === undefined || v.split(" ").some(function (s) { return st.set.has(s); });
  }
  function show(el, on) { el.classList.toggle("off", !on); }

  function apply() {
    var sel = {};
    DIMS.forEach(function (d) { sel[d] = selected(d); });
    var st = selected("st");
    var text = q.value.trim().toLowerCase();
    var nameHit = {}, caseHit = {}, stHit = {}, colHit = {};
    document.querySelectorAll("tr.oprow").forEach(function (row) {
      var op = row.dataset.op;
      nameHit[op] = !text || row.dataset.q.indexOf(text) >= 0;
    });
    document.querySelectorAll(".fx").forEach(function (el) { show(el, colOk(el, sel)); });
    document.querySelectorAll("table.matrix td.c[data-st]").forEach(function (td) {
      var ok = stOk(td, st);
      td.classList.toggle("dim", !ok);
      var op = td.parentElement.dataset.op;
      if (colOk(td, sel)) { colHit[op] = true; if (ok) { stHit[op] = true; } }
    });
    var nCases = 0;
    document.querySelectorAll(".case").forEach(function (c) {
      var op = c.dataset.op;
      var textOk = !text || nameHit[op] || c.dataset.q.indexOf(text) >= 0;
      var on = colOk(c, sel) && stOk(c, st) && textOk;
      show(c, on);
      if (on) { nCases += 1; if (text) { caseHit[op] = true; } if (!st.all) { stHit[op] = true; } }
    });
    var nOps = 0, total = 0;
    document.querySelectorAll("tr.oprow").forEach(function (row) {
      var op = row.dataset.op;
      var on = colHit[op] && (nameHit[op] || caseHit[op]) && (st.all || stHit[op]);
      show(row, !!on);
      total += 1;
      if (on) { nOps += 1; }
      var section = document.getElementById("op-" + op);
      if (section) { show(section, !!on); }
    });
    document.querySelectorAll(".fr:not(.case)").forEach(function (r) {
      var op = r.dataset.op;
      var textOk = !text || r.dataset.q.indexOf(text) >= 0 || (op !== undefined && nameHit[op]);
      show(r, colOk(r, sel) && stOk(r, st) && textOk);
    });
    var shown = document.getElementById("shown");
    if (shown) { shown.textContent = "showing " + nOps + " of " + total + " ops, " + nCases + " non-pass cases"; }
  }

  function copy(button) {
    var pre = document.getElementById(button.dataset.target);
    if (!pre) { return; }
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    };
    var fallback = function () {
      var range = document.createRange();
      range.selectNodeContents(pre);
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      if (ok) { done(); } else { button.textContent = "Selected: press Ctrl-C"; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(pre.textContent).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button.copy") : null;
    if (b) { copy(b); }
  });
  if (form) {
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    q.addEventListener("input", apply);
    document.getElementById("reset").addEventListener("click", function () {
      form.querySelectorAll("input[type=checkbox]").forEach(function (b) { b.checked = true; });
      q.value = "";
      apply();
    });
    apply();
  }
})();
