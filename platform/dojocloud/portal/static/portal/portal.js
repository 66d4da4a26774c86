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

  // The job form: only the chosen architecture's parameter fields show (without script,
  // every group shows and the server reads the chosen one's only).
  function showArchFields(root) {
    root.querySelectorAll("[data-arch-switch]").forEach(function (select) {
      const form = select.form || document;
      form.querySelectorAll("[data-arch-fields]").forEach(function (group) {
        group.hidden = group.dataset.archFields !== select.value;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    applySizes(document);
    showArchFields(document);
  });
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
    if (e.target.closest("[data-arch-switch]")) showArchFields(document);
  });

  document.addEventListener("submit", function (e) {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });
})();
