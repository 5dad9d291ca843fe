// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Ask before forms marked data-confirm are sent (e.g. escalation).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // Avoid double submission on slow mobile networks.
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    }, 0);
  });

  // Tables of rows (attendance, resolutions): "add a row" copies the last row, emptied, with
  // its inputs renamed to the next row number (`field-<row>-<column>`).
  document.querySelectorAll("fieldset.rows").forEach(function (set) {
    var button = set.querySelector(".add-row");
    var body = set.querySelector("tbody");
    var max = parseInt(set.getAttribute("data-max") || "0", 10);
    if (!button || !body) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = body.querySelectorAll("tr");
      if (max && rows.length >= max) { return; }
      var last = rows[rows.length - 1];
      var next = parseInt(last.getAttribute("data-row"), 10) + 1;
      var copy = last.cloneNode(true);
      copy.setAttribute("data-row", String(next));
      copy.querySelector(".row-no").textContent = String(rows.length + 1);
      copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
      copy.querySelectorAll(".has-error").forEach(function (td) { td.classList.remove("has-error"); });
      copy.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/-\d+-/, "-" + next + "-");
        if (input.id) { input.id = input.id.replace(/-\d+-(\d+)$/, "-" + next + "-$1"); }
        if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
      });
      body.appendChild(copy);
    });
  });
})();
