// The compare view's overlaid learning curves: one chart per metric family, one colour per run,
// validation series dashed (drawn by charts.js). Texts go through gettext (/jsi18n/).
(function () {
  "use strict";
  const dataElement = document.getElementById("compare-data");
  const charts = document.querySelector("[data-charts]");
  if (!dataElement || !charts || !window.DeepBootCharts) return;
  const Charts = window.DeepBootCharts;
  const runs = JSON.parse(dataElement.textContent);
  const figures = Charts.overlay(runs, (run, name, k) => ({ label: `#${run.id} ${name}`, colour: k }));
  if (!figures.length) {
    const note = document.createElement("p");
    note.className = "notice";
    note.textContent = gettext("No epoch finished yet in these runs.");
    charts.replaceChildren(note);
    return;
  }
  charts.replaceChildren(...figures);
})();
