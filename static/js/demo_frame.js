// The demo LMS honours lti.frameResize as Canvas and Moodle do.
window.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.subject === "lti.frameResize" && typeof data.height === "number") {
    var frame = document.getElementById("tool-frame");
    if (frame) {
      // The tool reports its document's height; the frame's border comes on top (border-box),
      // else the frame would scroll inside the page by the border's width.
      var border = frame.offsetHeight - frame.clientHeight;
      frame.style.height = Math.max(300, Math.min(data.height + border, 20000)) + "px";
    }
  }
});
