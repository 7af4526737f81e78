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

  document.addEventListener("DOMContentLoaded", function () {
    setUpFilters();
    setUpForms();
    focusFirstError();
  });
})();
