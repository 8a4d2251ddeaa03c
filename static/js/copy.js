// Copy buttons on the operator console: <button data-copy="id-of-element" data-copied="label">.
// A file, not an inline script, because the CSP allows scripts from 'self' only.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var status = document.getElementById("copy-status");
    function done() {
      if (status) { status.textContent = button.getAttribute("data-copied") || ""; }
    }
    function selectInstead() {
      // Without the clipboard API (plain http, older browsers) select the text for Ctrl+C.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent.trim()).then(done, selectInstead);
    } else {
      selectInstead();
    }
  });
})();
