// One training run, live: its status, "epoch k of N" with seconds per epoch and an ETA, and its
// learning curves (drawn by charts.js), updated over a WebSocket when the server pushes run
// events (Redis), or by polling the run's JSON otherwise. An interrupted run is still watched
// (less often), so the page notices when the same command line resumes it. Texts go through
// gettext (/jsi18n/); data-run-status and the status class keep the raw status.
(function () {
  "use strict";
  const dataElement = document.getElementById("run-data");
  const config = document.querySelector("[data-json-url]");
  if (!dataElement || !config || !window.DeepBootCharts) return;
  const Charts = window.DeepBootCharts;
  let run = JSON.parse(dataElement.textContent);
  const charts = document.querySelector("[data-charts]");
  let socket = null;
  let polling = false;
  let drawn = "";  // the epochs the charts show: redrawn only when they change (a hover stays put)

  // The run statuses as people read them; an unknown one as it is.
  const STATUS_TEXT = {
    running: pgettext("run status", "running"),
    finished: pgettext("run status", "finished"),
    failed: pgettext("run status", "failed"),
    interrupted: pgettext("run status", "interrupted"),
  };

  function duration(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }

  function progressText() {
    const p = run.progress || {};
    const done = run.epochs.length;
    let text = p.of ? interpolate(gettext("epoch %(epoch)s of %(of)s"), { epoch: done, of: p.of }, true)
      : interpolate(gettext("epoch %(epoch)s"), { epoch: done }, true);
    if (typeof p.seconds_per_epoch === "number") {
      text += " · " + interpolate(gettext("%(seconds)s s per epoch"), { seconds: p.seconds_per_epoch.toFixed(1) }, true);
    }
    if (run.status === "running" && typeof p.eta_seconds === "number") {
      text += " · " + interpolate(gettext("about %(left)s left"), { left: duration(p.eta_seconds) }, true);
    }
    return text;
  }

  function render() {
    const status = document.querySelector("[data-run-status]");
    status.textContent = STATUS_TEXT[run.status] || run.status;
    status.className = `status status-${run.status}`;
    document.querySelector("[data-run-epochs]").textContent = run.epochs.length;
    const progress = document.querySelector("[data-run-progress]");
    if (progress) progress.textContent = progressText();
    const attempts = document.querySelector("[data-run-attempt-count]");
    if (attempts && run.attempt_count) attempts.textContent = run.attempt_count;
    const epochs = JSON.stringify(run.epochs);
    if (!run.epochs.length || epochs === drawn) return;
    drawn = epochs;
    charts.replaceChildren(...[...Charts.families([run.epochs])].map(([title, names]) => Charts.chart(title,
      names.map((name, k) => ({ label: name, colour: k, dashed: false, points: Charts.points(run.epochs, name) })))));
  }

  const watched = () => run.status === "running" || run.status === "interrupted";

  function fetchRun() {
    return fetch(config.dataset.jsonUrl, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => { if (data) { run = data; render(); } })
      .catch(() => null);
  }

  // Polls while the run may still change: every 2 s while it runs without a socket, every 5 s
  // while it is interrupted (a resume turns it back to running, in the same record).
  function poll() {
    if (polling) return;
    polling = true;
    fetchRun().finally(() => {
      polling = false;
      if (run.status === "running" && config.dataset.livePush === "1") { listen(); return; }
      if (watched()) setTimeout(poll, run.status === "running" ? 2000 : 5000);
    });
  }

  function listen() {
    if (socket) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${config.dataset.wsPath}`);
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.event === "epoch") {
        const entry = Object.fromEntries(Object.entries(event).filter(([k]) => !["type", "event", "run", "status"].includes(k)));
        run.epochs = run.epochs.filter((e) => !(e.epoch === entry.epoch && e.stage === entry.stage)).concat([entry]);
      }
      if (event.status) run.status = event.status;
      render();
      fetchRun();  // the pace and ETA are the server's
    };
    socket.onclose = () => { socket = null; if (watched()) setTimeout(poll, 2000); };
  }

  render();
  if (watched()) {
    if (run.status === "running" && config.dataset.livePush === "1") listen(); else poll();
  }
})();
