// /classify/: the image (static/deepboot/upload.js: file picker, drag and drop, or a sample) posted
// to /api/classify/ with the Grad-CAM choice; each network's top-5 and their average drawn here.
// Without JavaScript the form posts to the page itself and the server renders the same results.
(function () {
  "use strict";
  const root = document.querySelector("[data-classify]");
  if (!root) return;
  const form = root.querySelector("form");
  const busy = root.querySelector("[data-busy]");
  const output = root.querySelector("[data-output]");
  const preview = root.querySelector("[data-preview]");
  const previewImg = root.querySelector("[data-preview-img]");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function topList(predictions) {
    const list = el("ol", "classify-top5");
    for (const p of predictions) {
      const item = el("li");
      item.append(el("span", "label", p.label_display || p.label));
      const meter = el("meter");
      meter.min = 0;
      meter.max = 1;
      meter.value = p.probability;
      meter.textContent = p.probability.toFixed(3);
      item.append(meter, el("span", "probability", Math.round(p.probability * 100) + "%"));
      list.append(item);
    }
    return list;
  }

  function render(data) {
    removeResults();
    const results = el("div", "classify-results");
    results.dataset.testid = "results";
    for (const [arch, predictions] of Object.entries(data.predictions)) {
      if (arch === "average") continue;
      const card = el("article", "classify-result card");
      card.dataset.model = arch;
      const title = el("h2", null, arch + " ");
      // Layers and model id come with the answer, from the registry.
      const layers = data.layers && data.layers[arch];
      title.append(el("small", null, interpolate(gettext("%(layers)s layers"), { layers: layers ? layers : "?" }, true)));
      if (data.model_ids && data.model_ids[arch]) {
        card.dataset.modelId = data.model_ids[arch];
        title.append(" ", el("small", "model-id", interpolate(gettext("model #%(id)s"), { id: data.model_ids[arch] }, true)));
      }
      card.append(title);
      const latency = el("p", "latency", gettext("Inference:") + " ");
      const value = el("span", null, data.latency_ms[arch].toFixed(1));
      value.dataset.latency = "";
      latency.append(value, " ms");
      card.append(latency, topList(predictions));
      if (data.gradcam && data.gradcam[arch]) {
        const figure = el("figure", "classify-gradcam");
        const img = el("img");
        img.src = data.gradcam[arch];
        img.alt = interpolate(gettext("Grad-CAM heat map of %(arch)s"), { arch: arch }, true);
        figure.append(img, el("figcaption", null, interpolate(gettext("Where %(arch)s looked (Grad-CAM)"), { arch: arch }, true)));
        card.append(figure);
      }
      results.append(card);
    }
    const average = el("article", "classify-result card average");
    average.dataset.model = "average";
    const title = el("h2", null, gettext("Average") + " ");
    title.append(el("small", null, gettext("mean of the softmax outputs")));
    average.append(title, topList(data.predictions.average));
    results.append(average);
    output.append(results);
  }

  function removeResults() {
    const old = output.querySelector("[data-testid=results]");
    if (old) old.remove();
  }

  DeepBoot.imageForm({
    form: form,
    fileInput: root.querySelector("[data-file]"),
    dropzone: root.querySelector("[data-dropzone]"),
    errorBox: root.querySelector("[data-error]"),
    noFile: gettext("Choose an image first (or drop one on the box)."),
    start: function (body, src) {
      if (src) {
        previewImg.src = src;
        preview.hidden = false;
      }
      const gradcam = form.querySelector("[data-gradcam]");
      if (gradcam && gradcam.checked) body.append("gradcam", "1");
      busy.hidden = false;
    },
    done: render,
    failed: removeResults,
    finish: function () {
      busy.hidden = true;
    },
  });
})();
