// LTI client-side postMessage storage (1EdTech "Platform Storage"): keep the login's state and
// nonce in the platform's frame instead of a third-party cookie, and read the state back at launch.
(function () {
  "use strict";
  var box = document.getElementById("lti-storage");
  if (!box) { return; }
  var targetName = box.getAttribute("data-target");
  var origin = box.getAttribute("data-origin") || "*";
  var target = (targetName === "_parent" || !targetName) ? window.parent
             : (window.parent.frames[targetName] || window.parent);
  var pending = {};

  function send(message) {
    var id = Math.random().toString(36).slice(2) + Date.now().toString(36);
    message.message_id = id;
    return new Promise(function (resolve, reject) {
      pending[id] = { resolve: resolve, reject: reject };
      // The platform's storage frame may still be loading when this page runs (it loads beside
      // the tool's frame, and a busy LMS may take seconds): a message sent before its listener
      // exists is lost, so send again until it answers, for up to half a minute. put_data and
      // get_data are idempotent; only the first answer counts.
      var started = Date.now();
      (function post() {
        if (!pending[id]) { return; }
        if (Date.now() - started > 30000) { delete pending[id]; reject(new Error("timeout")); return; }
        target.postMessage(message, origin);
        setTimeout(post, 250);
      })();
    });
  }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (origin !== "*" && event.origin !== origin) { return; }
    var waiting = pending[data.message_id];
    if (!waiting) { return; }
    delete pending[data.message_id];
    if (data.error) { waiting.reject(new Error(data.error.code || "error")); } else { waiting.resolve(data); }
  });
  function failed() {
    var note = box.querySelector("[data-storage-failed]");
    if (note) { note.hidden = false; }
  }

  // After a few seconds without an answer, offer the way out (a new window) while still trying.
  var slow = setTimeout(failed, 5000);

  if (box.getAttribute("data-mode") === "put") {
    var state = box.getAttribute("data-state");
    var nonce = box.getAttribute("data-nonce");
    Promise.all([
      send({ subject: "lti.put_data", key: "state_" + state, value: state }),
      send({ subject: "lti.put_data", key: "nonce_" + nonce, value: nonce })
    ]).then(function () { clearTimeout(slow); window.location.replace(box.getAttribute("data-next")); }, failed);
  } else {
    send({ subject: "lti.get_data", key: box.getAttribute("data-key") }).then(function (data) {
      clearTimeout(slow);
      var form = document.getElementById("storage-verify");
      form.elements.state.value = data.value || "";
      form.submit();
    }, failed);
  }
})();
