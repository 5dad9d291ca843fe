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
})();
