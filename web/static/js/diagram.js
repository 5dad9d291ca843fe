// The case diagram: bpmn-js draws the case's BPMN, then the elements are marked from
// diagram-state.json (done = completed, active = ready human tasks, overdue = past due).
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }

  function getText(url, accept) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": accept } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return accept === "application/json" ? r.json() : r.text();
    });
  }

  function fail(error) {
    box.setAttribute("data-state", "error");
    var note = document.createElement("p");
    note.className = "alert alert-error";
    note.textContent = box.getAttribute("data-error") + (error && error.message ? "：" + error.message : "");
    box.insertBefore(note, box.firstChild);
  }

  var canvasBox = document.createElement("div");
  canvasBox.className = "diagram-canvas";
  box.insertBefore(canvasBox, box.firstChild);
  var viewer = new window.BpmnJS({ container: canvasBox });

  Promise.all([getText(box.getAttribute("data-bpmn-url"), "application/xml"),
               getText(box.getAttribute("data-state-url"), "application/json")])
    .then(function (results) {
      return viewer.importXML(results[0]).then(function () { return results[1]; });
    })
    .then(function (state) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      function mark(ids, marker) {
        (ids || []).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, marker); }
        });
      }
      mark(state.completed, "done");
      mark(state.active, "active");
      mark(state.overdue, "overdue");
      canvas.zoom("fit-viewport", "auto");
      box.setAttribute("data-state", "ready");
      box.setAttribute("data-active", (state.active || []).join(" "));
      box.setAttribute("data-done", (state.completed || []).join(" "));
      box.setAttribute("data-overdue", (state.overdue || []).join(" "));
    })
    .catch(fail);
})();
