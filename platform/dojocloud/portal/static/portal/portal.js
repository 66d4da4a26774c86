// Behaviour the templates declare with data-* attributes, so that the Content-Security-Policy
// can forbid inline script and inline style (no onclick=, no style=). Delegated from the
// document, so content htmx swaps in (the live job table, the fleet view) works the same.
(function () {
  "use strict";

  // Sizes from data attributes, set through the CSSOM (which the policy allows).
  function applySizes(root) {
    root.querySelectorAll("[data-pct]").forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, Number(el.dataset.pct) || 0)) + "%";
    });
    root.querySelectorAll("[data-cols]").forEach(function (el) {
      el.style.gridTemplateColumns = "repeat(" + (parseInt(el.dataset.cols, 10) || 1) + ", 150px)";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { applySizes(document); });
  document.addEventListener("htmx:load", function (e) { applySizes(e.target); });

  document.addEventListener("click", function (e) {
    const select = e.target.closest("[data-select-on-click]");
    if (select) select.select();
    const copy = e.target.closest("[data-copy-from]");
    if (copy && navigator.clipboard) {
      const source = document.getElementById(copy.dataset.copyFrom);
      if (source) navigator.clipboard.writeText(source.value);
    }
  });

  document.addEventListener("change", function (e) {
    const select = e.target.closest("[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  document.addEventListener("submit", function (e) {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });
})();
