// Usage charts: Chart.js (static/vendor/chartjs, the UMD build's global `Chart`)
// draws every <canvas data-chart="metric" data-source="json-id"> from the
// json_script block it names. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var PALETTE = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#d63384", "#20c997",
    "#ffc107", "#6c757d", "#0dcaf0", "#dc3545"];

  function draw(canvas) {
    if (typeof window.Chart === "undefined" || window.Chart.getChart(canvas)) {
      return;
    }
    var source = document.getElementById(canvas.getAttribute("data-source"));
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var metric = canvas.getAttribute("data-chart");
    var chart = null;
    for (var i = 0; i < data.charts.length; i++) {
      if (data.charts[i].id === metric) {
        chart = data.charts[i];
      }
    }
    if (!chart) {
      return;
    }
    var weekly = data.type === "week";
    new window.Chart(canvas, {
      type: weekly ? "bar" : "line",
      data: {
        labels: data.labels,
        datasets: chart.datasets.map(function (set, n) {
          var colour = PALETTE[n % PALETTE.length];
          return {
            label: set.label,
            data: set.data,
            borderColor: colour,
            backgroundColor: colour,
            tension: 0.2,
            pointRadius: 0
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: true,
        aspectRatio: 2.5,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: weekly },
          y: { stacked: weekly, beginAtZero: true, ticks: { precision: 0 } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll(root) {
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    drawAll(event.target);
  });
})();
