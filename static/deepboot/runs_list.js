// The /runs/ list refreshes itself: every 5 s it fetches the same address (same filters and
// sort) and swaps in the new table body, keeping the runs ticked for comparison. The compare
// button sends `/runs/compare/?ids=1,2,3`.
(function () {
  "use strict";
  const body = document.querySelector("[data-runs-body]");
  const form = document.querySelector("[data-compare-form]");
  if (!body || !form) return;

  function ticked() {
    return [...form.querySelectorAll("input[name=ids]:checked")].map((box) => box.value);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = ticked().sort((x, y) => Number(x) - Number(y));
    if (ids.length) location.assign(`${form.action}?ids=${ids.join(",")}`);
  });

  function refresh() {
    if (document.hidden) { setTimeout(refresh, 5000); return; }
    fetch(location.href, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => {
        if (!html) return;
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-runs-body]");
        if (!fresh) return;
        const keep = new Set(ticked());
        fresh.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = keep.has(box.value); });
        body.replaceChildren(...fresh.childNodes);
        body.dataset.refreshed = String(Date.now());
      })
      .catch(() => null)
      .finally(() => setTimeout(refresh, 5000));
  }
  setTimeout(refresh, 5000);
})();
