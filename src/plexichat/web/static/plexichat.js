// PlexiChat web UI: a little progressive enhancement; every page works without it.
(function () {
  "use strict";

  // Filter a table's rows as the operator types (input[data-filter-table]).
  function setUpFilters() {
    document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
      var table = document.getElementById(input.getAttribute("data-filter-table"));
      if (!table) { return; }
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        table.querySelectorAll("tbody tr").forEach(function (row) {
          var text = row.textContent.toLowerCase();
          row.hidden = needle !== "" && text.indexOf(needle) === -1;
        });
      });
    });
  }

  // A form's buttons are disabled once it is submitted, so a click is not sent twice.
  function setUpForms() {
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button[type=submit]").forEach(function (b) {
            b.disabled = true;
          });
        }, 0);
      });
    });
  }

  // Moving to the first field with an error after a refused settings form.
  function focusFirstError() {
    var invalid = document.querySelector(".plx-invalid input, .plx-invalid select, .plx-invalid textarea");
    if (invalid) { invalid.focus(); }
  }

  // A section marked data-poll (a running install) is fetched again every data-poll
  // milliseconds and swapped for the fresh copy, until the fresh copy is not marked.
  function setUpPolling() {
    var section = document.querySelector("[data-poll][id]");
    if (!section || !window.fetch || !window.DOMParser) { return; }
    var id = section.id;
    var every = parseInt(section.getAttribute("data-poll"), 10) || 1000;
    var failures = 0;
    function poll() {
      window.fetch(window.location.href, {credentials: "same-origin", cache: "no-store"})
        .then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.text();
        })
        .then(function (html) {
          var fresh = new window.DOMParser().parseFromString(html, "text/html").getElementById(id);
          var current = document.getElementById(id);
          if (!fresh || !current) { return; }
          current.replaceWith(fresh);
          failures = 0;
          if (fresh.hasAttribute("data-poll")) { window.setTimeout(poll, every); }
        })
        .catch(function () {
          failures += 1;  // the host restarting, a network blip: try a few times more
          if (failures < 10) { window.setTimeout(poll, every * 2); }
        });
    }
    window.setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpFilters();
    setUpForms();
    focusFirstError();
    setUpPolling();
  });
})();
