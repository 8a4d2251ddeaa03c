// Exercises: answers are saved on the server as they are given (debounced), a word counter for
// reflections, and print buttons. Everything also works without JavaScript through the buttons.
//
// Nothing the learner writes is lost:
// - each save says which version of the draft it builds on; when another tab or window saved in
//   between, the server refuses (409) and the page shows both versions to choose from;
// - when the launch has expired, the server keeps the posted answer for the next launch (401 with
//   "session_expired_answer_kept") and the page says so; where it could not, the text stays on
//   the page with a button to copy it. Nothing is stored in the browser (shared computers).
// The words come from the page (data-* attributes and hidden notices), in the learner's language.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  var status = form && form.querySelector(".save-status");
  var ended = document.getElementById("session-ended");
  var conflict = document.getElementById("draft-conflict");
  var other = document.getElementById("other-version");
  var version = form ? form.getAttribute("data-draft-version") : null;
  var state = "live"; // live | ended (answers still handed in to be kept) | lost | conflict
  var theirs = null;
  var timer = null;

  function say(key) {
    if (status) { status.textContent = form.getAttribute("data-" + key) || ""; }
  }

  function post(withVersion) {
    var data = new FormData(form);
    if (withVersion && version !== null) { data.append("draft_version", version); }
    say("saving");
    return fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  // True when the answer is safely saved as the newest draft.
  function settle(result) {
    var body = result.body || {};
    if (result.status === 200 && body.saved) {
      version = String(body.version);
      say("saved");
      return true;
    }
    if (result.status === 401) {
      showEnded(body.error === "session_expired_answer_kept");
    } else if (result.status === 409 && body.error === "draft_conflict") {
      showConflict(body);
    } else {
      say("failed");
    }
    return false;
  }

  function showEnded(kept) {
    state = kept ? "ended" : "lost";
    say("ended");
    if (!ended) { return; }
    ended.querySelector(".session-ended-kept").hidden = !kept;
    ended.querySelector(".session-ended-lost").hidden = kept;
    ended.hidden = false;
  }

  // What the learner wrote in an answer: every text field, not the role a case is answered in.
  function texts(answer) {
    return Object.keys(answer).filter(function (key) { return key !== "variant"; })
      .map(function (key) { return answer[key]; })
      .filter(function (value) { return typeof value === "string" && value.trim(); });
  }

  function showConflict(body) {
    state = "conflict";
    theirs = body;
    say("conflicted");
    if (!conflict) { return; }
    var words = texts(body.answer || {});
    other.value = words.join("\n\n");
    other.hidden = !words.length;
    conflict.querySelector("label[for=other-version]").hidden = !words.length;
    conflict.hidden = false;
  }

  function save() {
    if (!form || state === "lost" || state === "conflict") { return Promise.resolve(false); }
    return post(state === "live").then(settle, function () { say("failed"); return false; });
  }
  function later() { clearTimeout(timer); timer = setTimeout(save, 700); }

  function useTheirs() {
    var answer = theirs.answer || {};
    var fields = form.querySelectorAll("textarea[name]");
    if (!fields.length) { window.location.reload(); return; } // choices: the page shows the stored ones
    fields.forEach(function (field) {
      var key = field.name === "text" ? "text" : field.name.replace(/^prompt-/, "");
      field.value = typeof answer[key] === "string" ? answer[key] : "";
      field.dispatchEvent(new Event("input"));
    });
    clearTimeout(timer); // the other version is the saved one already
    version = String(theirs.version);
    state = "live";
    conflict.hidden = true;
    say("saved");
  }

  if (form) {
    form.addEventListener("change", later);
    form.addEventListener("input", later);
    form.addEventListener("submit", function (event) {
      clearTimeout(timer);
      if (form.getAttribute("data-checked") === "1") { return; }
      // Save first: a submission from an expired page or over another tab's newer version would
      // otherwise lose the text or overwrite the other; the notices say what to do instead.
      event.preventDefault();
      var submitter = event.submitter;
      var onlySave = submitter && submitter.getAttribute("formaction");
      save().then(function (saved) {
        if (!saved) {
          var box = state === "conflict" ? conflict : ended;
          if (box && !box.hidden) { box.focus(); }
          return;
        }
        if (onlySave) { return; }
        form.setAttribute("data-checked", "1");
        if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
      });
    });
    if (conflict) {
      conflict.addEventListener("click", function (event) {
        var choice = event.target.closest("[data-conflict]");
        if (!choice || !theirs) { return; }
        if (choice.getAttribute("data-conflict") === "theirs") { useTheirs(); return; }
        version = String(theirs.version);
        state = "live";
        conflict.hidden = true;
        save();
      });
    }
  }

  // "Copy my text": the clipboard where the page may write to it, else the text selected for Ctrl+C.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-answer]");
    if (!button || !form) { return; }
    var fields = Array.prototype.slice.call(form.querySelectorAll("textarea[name]"));
    var text = fields.map(function (field) {
      var label = fields.length > 1 && form.querySelector("label[for='" + field.id + "']");
      return (label ? label.textContent.trim() + "\n" : "") + field.value;
    }).join("\n\n");
    var done = button.parentNode.querySelector(".copy-status");
    function copied() { if (done) { done.textContent = button.getAttribute("data-copied"); } }
    function selectInstead() {
      if (!fields.length) { return; }
      fields[0].focus();
      fields[0].select();
      try { if (document.execCommand("copy")) { copied(); } } catch (ignored) { /* Ctrl+C still works */ }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, selectInstead);
    } else {
      selectInstead();
    }
  });

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
