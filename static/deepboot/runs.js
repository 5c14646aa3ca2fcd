// The live learning curves of one training run: SVG line charts, one per metric family
// (loss with val_loss, accuracy with val_accuracy, ...), updated over a WebSocket when the
// server pushes run events (Redis), or by polling the run's JSON otherwise.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const dataElement = document.getElementById("run-data");
  const config = document.querySelector("[data-json-url]");
  if (!dataElement || !config) return;
  let run = JSON.parse(dataElement.textContent);
  const charts = document.querySelector("[data-charts]");

  function families(epochs) {
    const names = new Set();
    epochs.forEach((e) => Object.keys(e).forEach((k) => { if (k !== "epoch" && k !== "stage" && typeof e[k] === "number") names.add(k); }));
    const groups = new Map();
    names.forEach((name) => {
      const base = name.replace(/^val_/, "");
      if (!groups.has(base)) groups.set(base, []);
      groups.get(base).push(name);
    });
    return groups;
  }

  function el(name, attrs) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    return node;
  }

  function chart(title, series, epochs) {
    const w = 420, h = 220, pad = 36;
    const figure = document.createElement("figure");
    figure.className = "chart";
    figure.dataset.metric = title;
    const svg = el("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": `${title} per epoch` });
    const points = epochs.map((e, i) => i + 1);
    const values = series.flatMap((s) => epochs.map((e) => e[s]).filter((v) => typeof v === "number"));
    const lo = Math.min(...values), hi = Math.max(...values);
    const span = hi - lo || 1;
    const x = (i) => pad + (points.length > 1 ? (i / (points.length - 1)) * (w - 2 * pad) : (w - 2 * pad) / 2);
    const y = (v) => h - pad - ((v - lo) / span) * (h - 2 * pad);
    svg.appendChild(el("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, class: "axis" }));
    svg.appendChild(el("line", { x1: pad, y1: pad, x2: pad, y2: h - pad, class: "axis" }));
    [lo, hi].forEach((v) => {
      const label = el("text", { x: 4, y: y(v) + 4, class: "tick" });
      label.textContent = v.toPrecision(3);
      svg.appendChild(label);
    });
    const epochLabel = el("text", { x: w - pad, y: h - 8, class: "tick", "text-anchor": "end" });
    epochLabel.textContent = `epoch ${points.length}`;
    svg.appendChild(epochLabel);
    series.forEach((name, k) => {
      const d = epochs.map((e, i) => (typeof e[name] === "number" ? `${i ? "L" : "M"}${x(i).toFixed(1)},${y(e[name]).toFixed(1)}` : "")).join(" ");
      svg.appendChild(el("path", { d, class: `series series-${k}`, "data-series": name }));
    });
    const caption = document.createElement("figcaption");
    caption.textContent = series.join(" · ");
    figure.append(svg, caption);
    return figure;
  }

  function render() {
    document.querySelector("[data-run-status]").textContent = run.status;
    document.querySelector("[data-run-status]").className = `status status-${run.status}`;
    document.querySelector("[data-run-epochs]").textContent = run.epochs.length;
    if (!run.epochs.length) return;
    charts.replaceChildren(...[...families(run.epochs)].map(([title, series]) => chart(title, series, run.epochs)));
  }

  function poll() {
    fetch(config.dataset.jsonUrl, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data) { run = data; render(); } })
      .finally(() => { if (run.status === "running") setTimeout(poll, 2000); });
  }

  function listen() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${config.dataset.wsPath}`);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.event === "epoch") {
        const entry = Object.fromEntries(Object.entries(event).filter(([k]) => !["type", "event", "run", "status"].includes(k)));
        run.epochs = run.epochs.filter((e) => !(e.epoch === entry.epoch && e.stage === entry.stage)).concat([entry]);
      } else if (event.status) {
        run.status = event.status;
      }
      render();
    };
    socket.onclose = () => { if (run.status === "running") setTimeout(poll, 2000); };
  }

  render();
  if (run.status === "running") {
    if (config.dataset.livePush === "1") listen(); else poll();
  }
})();
