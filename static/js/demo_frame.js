// The demo LMS honours lti.frameResize as Canvas and Moodle do.
window.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.subject === "lti.frameResize" && typeof data.height === "number") {
    var frame = document.getElementById("tool-frame");
    if (frame) { frame.style.height = Math.max(300, Math.min(data.height, 20000)) + "px"; }
  }
});
