// Suggestions for the search box: fills its <datalist> from the API's /suggestions as the user
// types. The form works without this script; the page's own datalist (domains, synonyms) stays
// until an answer arrives. Answers are set as option values, never as HTML.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("suggesties");
  if (!input || !list || !window.fetch) {
    return;
  }
  var timer = null;
  var asked = "";

  function show(body) {
    if (!body || body.query !== asked) {
      return; // an answer to an earlier question, arriving late
    }
    var options = body.suggestions.map(function (suggestion) {
      var option = document.createElement("option");
      option.value = suggestion.text;
      return option;
    });
    if (options.length > 0) {
      list.replaceChildren.apply(list, options);
    }
  }

  function suggest() {
    var typed = input.value.trim();
    if (typed.length < 2 || typed === asked) {
      return;
    }
    asked = typed;
    fetch("/suggestions?limit=10&q=" + encodeURIComponent(typed), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(show)
      .catch(function () { /* no suggestions is no error: the search still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(suggest, 150);
  });
}());
