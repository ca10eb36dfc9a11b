/* Copy buttons of the SCIM admin pages: <button class="scim-copy" data-copy="value">. */
"use strict";
(function () {
  function fallbackCopy(text) {
    // Without the Clipboard API (plain http on a non-local host): a hidden textarea and execCommand.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.scim-copy");
    if (!button) { return; }
    event.preventDefault();
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copy(button.dataset.copy).then(
      function () { button.textContent = button.dataset.done || "Copied"; },
      function () { button.textContent = button.dataset.failed || "Select and copy by hand"; }
    );
    window.setTimeout(function () { button.textContent = label; }, 4000);
  });
})();
