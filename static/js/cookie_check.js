// Framed launch without platform storage: go on only if the browser kept our cookie here;
// otherwise show the "open in a new window" choice (third-party cookies blocked).
(function () {
  var box = document.getElementById("cookie-check");
  if (!box) { return; }
  if (document.cookie.indexOf("lti_cookies=1") !== -1) {
    window.location.replace(box.getAttribute("data-next"));
  } else {
    box.querySelector("[data-cookies-blocked]").hidden = false;
  }
})();
