// An experiment's runs overlaid (charts.js): one colour per variant, a line per seed's run.
(function () {
  "use strict";
  const dataElement = document.getElementById("experiment-curves");
  const charts = document.querySelector("[data-charts]");
  if (!dataElement || !charts || !window.DeepBootCharts) return;
  const seed = window.gettext ? window.gettext("seed") : "seed";
  const figures = window.DeepBootCharts.overlay(JSON.parse(dataElement.textContent),
    (c, name) => ({ label: `${c.variant} (${seed} ${c.seed}) ${name}`, colour: c.colour }));
  if (figures.length) charts.replaceChildren(...figures);
})();

// A running experiment's page fills in as its runs finish: look again every 10 s.
(function () {
  "use strict";
  if (document.querySelector("[data-experiment-status] .status-running")) {
    window.setTimeout(() => window.location.reload(), 10000);
  }
})();
