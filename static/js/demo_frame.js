// The demo LMS frames the tool at a fixed height, as Moodle does: Moodle has no handler for
// lti.frameResize. With LMS_FRAME_RESIZE on, it honours the message as Canvas does.
window.addEventListener("message", function (event) {
  var data = event.data || {};
  var frame = document.getElementById("tool-frame");
  if (!frame || !frame.hasAttribute("data-frame-resize")) { return; }
  if (data.subject === "lti.frameResize" && typeof data.height === "number") {
    // The tool reports its document's height; the frame's border comes on top (border-box).
    var border = frame.offsetHeight - frame.clientHeight;
    frame.style.height = Math.max(300, Math.min(data.height + border, 20000)) + "px";
  }
});
