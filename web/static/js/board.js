// The board's charts: one stacked bar chart per grouping (street, community, process,
// company), overdue in red and due within three days in amber, from the numbers the page
// already shows in its tables.
(function () {
  "use strict";
  var source = document.getElementById("board-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];
  document.querySelectorAll(".chart[data-kind]").forEach(function (box) {
    var rows = (data.charts[box.getAttribute("data-kind")] || []).slice(0, 15).reverse();
    box.style.height = Math.max(160, 40 + rows.length * 32) + "px";
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 28, bottom: 8, containLabel: true },
      legend: { top: 0, data: [data.labels.overdue, data.labels.soon] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
               axisLabel: { width: 120, overflow: "truncate" } },
      series: [
        { name: data.labels.overdue, type: "bar", stack: "n", itemStyle: { color: "#c62828" },
          data: rows.map(function (r) { return r.overdue; }) },
        { name: data.labels.soon, type: "bar", stack: "n", itemStyle: { color: "#f2c200" },
          data: rows.map(function (r) { return r.soon; }) }
      ]
    });
    box.setAttribute("data-state", "ready");
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
