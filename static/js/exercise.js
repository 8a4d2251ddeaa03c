// Exercises: answers are saved on the server as they are given (debounced), a word counter for
// reflections, and print buttons. Everything also works without JavaScript through the buttons.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  var status = form && form.querySelector(".save-status");
  var timer = null;
  var messages = { da: ["Gemmer …", "Gemt", "Kunne ikke gemme – prøv igen"],
                   sv: ["Sparar …", "Sparat", "Kunde inte spara – försök igen"],
                   en: ["Saving…", "Saved", "Could not save – try again"] };
  var text = messages[document.documentElement.lang] || messages.da;

  function save() {
    if (!form) { return; }
    var data = new FormData(form);
    if (status) { status.textContent = text[0]; }
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (r) {
      if (status) { status.textContent = r.ok ? text[1] : text[2]; }
    }).catch(function () { if (status) { status.textContent = text[2]; } });
  }
  function later() { clearTimeout(timer); timer = setTimeout(save, 700); }
  if (form) {
    form.addEventListener("change", later);
    form.addEventListener("input", later);
    form.addEventListener("submit", function () { clearTimeout(timer); });
  }

  var area = document.querySelector("textarea[data-min-words]");
  var counter = document.getElementById("text-count");
  function count() {
    if (!area || !counter) { return; }
    var words = (area.value.match(/[\p{L}\p{N}_]+/gu) || []).length;
    var min = parseInt(area.getAttribute("data-min-words"), 10) || 0;
    // Numbers and the noun's plural as the page's language writes them ("1.234 / 150 ord", "1 / 1 word").
    var lang = document.documentElement.lang || "da";
    var number = new Intl.NumberFormat(lang);
    var nouns = { da: ["ord", "ord"], sv: ["ord", "ord"], en: ["word", "words"] }[lang] || ["ord", "ord"];
    var noun = nouns[new Intl.PluralRules(lang).select(min || words) === "one" ? 0 : 1];
    counter.textContent = number.format(words) + (min ? " / " + number.format(min) : "") + " " + noun;
  }
  if (area) { area.addEventListener("input", count); count(); }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  var result = document.getElementById("result");
  if (result && window.location.hash === "#result") { result.focus(); }
})();
