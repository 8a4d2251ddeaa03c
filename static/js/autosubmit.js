// Submit OIDC form_post and deep-linking forms at once; the button stays for no-script users.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
});
