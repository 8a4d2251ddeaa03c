// A table wider than its column scrolls inside its .table-scroll region (words never break inside a
// cell); a region that does scroll joins the tab order so keyboard users can scroll it too.
(function () {
  function mark() {
    var regions = document.querySelectorAll(".table-scroll");
    for (var i = 0; i < regions.length; i++) {
      var region = regions[i];
      if (region.scrollWidth > region.clientWidth + 1) { region.tabIndex = 0; }
      else { region.removeAttribute("tabindex"); }
    }
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
