// The demo LMS's platform storage (LTI client-side postMessage storage): data kept per tool
// origin in this frame's memory, answered to lti.put_data / lti.get_data / lti.capabilities.
(function () {
  var data = {};
  window.addEventListener("message", function (event) {
    var m = event.data || {};
    if (typeof m.subject !== "string" || !event.source) { return; }
    var store = data[event.origin] = data[event.origin] || {};
    var reply = { subject: m.subject + ".response", message_id: m.message_id };
    if (m.subject === "lti.capabilities") {
      reply.supported_messages = [{ subject: "lti.put_data" }, { subject: "lti.get_data" }];
    } else if (m.subject === "lti.put_data") {
      store[m.key] = m.value; reply.key = m.key; reply.value = m.value;
    } else if (m.subject === "lti.get_data") {
      reply.key = m.key;
      if (m.key in store) { reply.value = store[m.key]; }
      else { reply.error = { code: "not_found", message: "no such key" }; }
    } else { return; }
    event.source.postMessage(reply, event.origin);
  });
})();
