// A learner's launch is answered with the first page itself, not a redirect to it: put the page's
// own address in the history, so a reload or "back" asks for the page, not the spent launch again.
(function () {
  var own = document.body && document.body.getAttribute("data-canonical-url");
  if (own && window.history && window.history.replaceState) { window.history.replaceState(null, "", own); }
})();

// Tell the LMS how tall the page is when it is shown inside an iframe (lti.frameResize,
// supported by Canvas, Moodle and others); harmless when the page is opened in its own window.
(function () {
  if (window.parent === window) { return; }
  var last = 0;
  function report() {
    // The content's height, not scrollHeight: that is never less than the frame's own height, so a
    // short page opened after a long one would keep the frame tall, with blank space below.
    var height = Math.ceil(Math.max(document.documentElement.getBoundingClientRect().height,
                                    document.body.scrollHeight));
    if (Math.abs(height - last) < 2) { return; }
    last = height;
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
  }
  window.addEventListener("load", report);
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
})();
