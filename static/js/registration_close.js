// Dynamic Registration §3.6: tell the platform the registration is done, so it closes the window.
(function () {
  function close() {
    var target = window.opener || window.parent;
    if (target && target !== window) {
      target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
    }
  }
  window.addEventListener("load", close);
  document.addEventListener("click", function (event) {
    if (event.target && event.target.hasAttribute("data-close")) { close(); window.close(); }
  });
})();
