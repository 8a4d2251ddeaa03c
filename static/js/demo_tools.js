// The demo LMS reloads its tool list when the tool says the registration is done.
window.addEventListener("message", function (event) {
  if (event.data && event.data.subject === "org.imsglobal.lti.close") { window.location.assign(window.location.pathname); }
});
