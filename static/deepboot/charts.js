// SVG line charts of per-epoch metrics, shared by a run's page (runs.js) and the compare view
// (compare.js): axes, a legend, a dot per epoch (so a single epoch shows), and the value of a dot
// on hover, both as an SVG <title> and in a small tooltip line under the chart. Texts go through
// gettext (/jsi18n/); metric names and the data-* attributes stay as recorded.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = 8;

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  // Metric names grouped by family: loss with val_loss, accuracy with val_accuracy, ...
  function families(epochLists) {
    const names = new Set();
    epochLists.forEach((epochs) => epochs.forEach((e) => Object.keys(e).forEach((k) => {
      if (k !== "epoch" && k !== "stage" && typeof e[k] === "number") names.add(k);
    })));
    const groups = new Map();
    [...names].sort().forEach((name) => {
      const base = name.replace(/^val_/, "");
      if (!groups.has(base)) groups.set(base, []);
      groups.get(base).push(name);
    });
    groups.forEach((list) => list.sort((a, b) => a.startsWith("val_") - b.startsWith("val_")));
    return groups;
  }

  function format(value) {
    return Math.abs(value) >= 1000 || Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }

  // series: [{label, colour, dashed, points: [{x, y, epoch, stage}]}]; x counts epochs from 1.
  function chart(title, series) {
    const w = 420, h = 220, pad = 40;
    const figure = document.createElement("figure");
    figure.className = "chart";
    figure.dataset.metric = title;
    const svg = el("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": interpolate(gettext("%(metric)s per epoch"), { metric: title }, true) });
    const all = series.flatMap((s) => s.points);
    const lo = Math.min(...all.map((p) => p.y)), hi = Math.max(...all.map((p) => p.y));
    const span = hi - lo || Math.abs(hi) || 1;
    const bottom = hi - lo ? lo : lo - span / 2;
    const top = hi - lo ? hi : hi + span / 2;
    const last = Math.max(...all.map((p) => p.x));
    const x = (v) => pad + (last > 1 ? ((v - 1) / (last - 1)) * (w - 2 * pad) : (w - 2 * pad) / 2);
    const y = (v) => h - pad - ((v - bottom) / (top - bottom)) * (h - 2 * pad);
    svg.appendChild(el("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, class: "axis" }));
    svg.appendChild(el("line", { x1: pad, y1: pad / 2, x2: pad, y2: h - pad, class: "axis" }));
    [lo, hi].filter((v, i, list) => list.indexOf(v) === i).forEach((v) => {
      const label = el("text", { x: 4, y: y(v) + 4, class: "tick" });
      label.textContent = v.toPrecision(3);
      svg.appendChild(label);
    });
    [1, last].filter((v, i, list) => list.indexOf(v) === i).forEach((v) => {
      const label = el("text", { x: x(v), y: h - pad + 14, class: "tick", "text-anchor": "middle" });
      label.textContent = String(v);
      svg.appendChild(label);
    });
    const axisName = el("text", { x: w - pad, y: h - 6, class: "tick", "text-anchor": "end" });
    axisName.textContent = gettext("epoch");
    svg.appendChild(axisName);
    const tip = document.createElement("p");
    tip.className = "chart-tip";
    tip.dataset.chartTip = "";
    tip.textContent = "\u00a0";
    series.forEach((s) => {
      const cls = `series-${s.colour % COLOURS}${s.dashed ? " dashed" : ""}`;
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
      svg.appendChild(el("path", { d, class: `series ${cls}`, "data-series": s.label }));
      s.points.forEach((p) => {
        const where = p.stage ? interpolate(gettext("epoch %(epoch)s (%(stage)s)"), { epoch: p.epoch, stage: p.stage }, true)
          : interpolate(gettext("epoch %(epoch)s"), { epoch: p.epoch }, true);
        const text = `${s.label}, ${where}: ${format(p.y)}`;
        const dot = el("circle", { cx: x(p.x).toFixed(1), cy: y(p.y).toFixed(1), r: 3.5, class: `point ${cls}`, "data-point": s.label, "data-value": p.y, tabindex: 0 });
        const hover = el("title");
        hover.textContent = text;
        dot.appendChild(hover);
        const show = () => { tip.textContent = text; };
        dot.addEventListener("mouseenter", show);
        dot.addEventListener("focus", show);
        svg.appendChild(dot);
      });
    });
    const legend = document.createElement("ul");
    legend.className = "legend";
    legend.dataset.legend = title;
    series.forEach((s) => {
      const item = document.createElement("li");
      item.dataset.legendItem = s.label;
      const swatch = document.createElement("span");
      swatch.className = `swatch series-${s.colour % COLOURS}${s.dashed ? " dashed" : ""}`;
      item.append(swatch, document.createTextNode(s.label));
      legend.appendChild(item);
    });
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    figure.append(caption, svg, legend, tip);
    return figure;
  }

  // One run's metric `name` as chart points: its epochs in recorded order (stages follow on).
  function points(epochs, name) {
    return epochs.map((e, i) => ({ x: i + 1, y: e[name], epoch: e.epoch, stage: e.stage }))
      .filter((p) => typeof p.y === "number");
  }

  // Several runs' curves overlaid, one chart per metric family, validation series dashed.
  // runs: [{epochs, ...}]; describe(run, name, index) -> {label, colour}. Returns the figures.
  function overlay(runs, describe) {
    return [...families(runs.map((run) => run.epochs))].map(([title, names]) => chart(title, runs.flatMap((run, k) =>
      names.map((name) => ({ ...describe(run, name, k), dashed: name.startsWith("val_"), points: points(run.epochs, name) }))
        .filter((s) => s.points.length))));
  }

  window.DeepBootCharts = { chart, families, points, overlay };
})();
