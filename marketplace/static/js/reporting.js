/* OPCO « Pilotage »: draws each chart from its JSON data block (no inline script: the CSP forbids them), and
   draws them again when htmx swaps the figures after a filter change. The table after each chart carries the
   same data and stays the source of truth when scripts are off. */
(function () {
  "use strict";
  var COLOURS = ["#0f4c9c", "#e07b00", "#2b8a3e", "#8a2be2"];
  var number = new Intl.NumberFormat("fr-FR");

  function draw(root) {
    if (typeof window.Chart === "undefined" || !root || !root.querySelectorAll) { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var block = document.getElementById(canvas.getAttribute("data-chart"));
      if (!block) { return; }
      var spec = JSON.parse(block.textContent);
      var previous = window.Chart.getChart(canvas);
      if (previous) { previous.destroy(); }
      if (spec.horizontal) {
        canvas.parentNode.style.height = Math.max(10, 4 + spec.labels.length * spec.datasets.length * 1.6) + "rem";
      }
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (set, i) {
            return { label: set.label, data: set.data, backgroundColor: COLOURS[i % COLOURS.length] };
          })
        },
        options: {
          indexAxis: spec.horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          locale: "fr-FR",
          plugins: {
            legend: { display: spec.datasets.length > 1 },
            title: { display: true, text: spec.title },
            tooltip: { callbacks: { label: function (c) { return c.dataset.label + " : " + number.format(c.raw); } } }
          },
          scales: {
            x: { beginAtZero: true, ticks: spec.horizontal ? { precision: 0 } : {} },
            y: { beginAtZero: true, ticks: spec.horizontal ? {} : { precision: 0 } }
          }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail && event.detail.elt ? event.detail.elt : document); });
  document.addEventListener("htmx:historyRestore", function () { draw(document); });
})();
