// An experiment's overlaid learning curves: one chart per metric family, one colour per variant
// (each seed's run a line of its colour), validation series dashed (drawn by charts.js).
(function () {
  "use strict";
  const dataElement = document.getElementById("experiment-curves");
  const charts = document.querySelector("[data-charts]");
  if (!dataElement || !charts || !window.DeepBootCharts) return;
  const Charts = window.DeepBootCharts;
  const curves = JSON.parse(dataElement.textContent).filter((c) => c.epochs.length);
  const groups = Charts.families(curves.map((c) => c.epochs));
  if (!groups.size) return;
  const seed = window.gettext ? window.gettext("seed") : "seed";
  charts.replaceChildren(...[...groups].map(([title, names]) => Charts.chart(title, curves.flatMap((c) =>
    names.map((name) => ({
      label: `${c.variant} (${seed} ${c.seed}) ${name}`, colour: c.colour, dashed: name.startsWith("val_"),
      points: Charts.points(c.epochs, name),
    })).filter((s) => s.points.length)))));
})();
