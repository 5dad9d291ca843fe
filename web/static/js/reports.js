// The statistics page's charts, drawn by ECharts from the numbers the page's tables show:
// the share of each way of management and of each credit grade (pies), and per area the
// counts by way of management, by grade, and the rectification and meeting figures (bars).
(function () {
  "use strict";
  var source = document.getElementById("reports-data");
  if (!source || !window.echarts) { return; }
  var data = JSON.parse(source.textContent);
  var typeKeys = Object.keys(data.types);
  var gradeKeys = Object.keys(data.grades);
  var palette = ["#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#9e9e9e", "#c62828"];

  function pie(entries) {
    return {
      animation: false, color: palette,
      tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
                 label: { formatter: "{b}\n{c}" }, data: entries }]
    };
  }

  function bars(rows, series) {
    var shown = rows.slice(0, 20).reverse();
    return {
      animation: false, color: palette,
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: shown.map(function (r) { return r.name; }),
               axisLabel: { width: 120, overflow: "truncate" } },
      series: series.map(function (s) {
        return { name: s.name, type: "bar", stack: s.stack, data: shown.map(s.value) };
      }),
      _rows: shown.length
    };
  }

  var charts = {
    "coverage-pie": function () {
      var by = data.coverage.by_management_type;
      return pie(typeKeys.filter(function (k) { return by[k] && by[k].count; })
        .map(function (k) { return { name: data.types[k], value: by[k].count }; }));
    },
    "coverage-bars": function () {
      return bars(data.coverage.rows, typeKeys.filter(function (k) { return data.coverage.by_management_type[k]; })
        .map(function (k) {
          return { name: data.types[k], stack: "n",
                   value: function (r) { return (r.by_management_type[k] || {}).count || 0; } };
        }));
    },
    "credit-pie": function () {
      var by = data.credit.by_grade;
      return pie(gradeKeys.filter(function (g) { return by[g]; })
        .map(function (g) { return { name: data.grades[g], value: by[g] }; }));
    },
    "credit-bars": function () {
      return bars(data.credit.rows, gradeKeys.map(function (g) {
        return { name: data.grades[g], stack: "n", value: function (r) { return r.by_grade[g]; } };
      }));
    },
    "cases-bars": function () {
      var labels = document.querySelectorAll("#cases-table thead th");
      var figures = [["rectifications", "opened"], ["rectifications", "closed"],
                     ["rectifications", "overdue"], ["rectifications", "escalated"],
                     ["joint_meetings", "held"]];
      var columns = [1, 2, 4, 5, 6];
      return bars(data.cases.rows, figures.map(function (f, i) {
        return { name: labels[columns[i]] ? labels[columns[i]].textContent : f[1], stack: f[1],
                 value: function (r) { return r[f[0]][f[1]]; } };
      }));
    }
  };

  var drawn = [];
  document.querySelectorAll(".chart[data-chart]").forEach(function (box) {
    var make = charts[box.getAttribute("data-chart")];
    if (!make) { return; }
    var option = make();
    box.style.height = (option._rows ? Math.max(220, 60 + option._rows * 28) : 280) + "px";
    delete option._rows;
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
    box.setAttribute("data-state", "ready");
    drawn.push(chart);
  });
  window.addEventListener("resize", function () {
    drawn.forEach(function (chart) { chart.resize(); });
  });
})();
