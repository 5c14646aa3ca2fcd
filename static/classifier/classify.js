// /classify/: upload (file picker or drag and drop) or a sample, POST /api/classify/, draw the results.
// Without JavaScript the form posts to the page itself and the server renders the same results.
(function () {
  "use strict";
  const root = document.querySelector("[data-classify]");
  if (!root) return;
  const form = root.querySelector("form");
  const fileInput = root.querySelector("[data-file]");
  const dropzone = root.querySelector("[data-dropzone]");
  const errorBox = root.querySelector("[data-error]");
  const busy = root.querySelector("[data-busy]");
  const output = root.querySelector("[data-output]");
  const preview = root.querySelector("[data-preview]");
  const previewImg = root.querySelector("[data-preview-img]");
  const api = form.dataset.api;
  let previewUrl = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }

  function showPreview(src) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = src.startsWith("blob:") ? src : null;
    previewImg.src = src;
    preview.hidden = false;
  }

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
    const old = output.querySelector("[data-testid=results]");
    if (old) old.remove();
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

  async function classify(body) {
    clearError();
    busy.hidden = false;
    form.setAttribute("aria-busy", "true");
    const gradcam = form.querySelector("[data-gradcam]");
    if (gradcam && gradcam.checked) body.append("gradcam", "1");
    try {
      const response = await fetch(api, { method: "POST", body: body, headers: { Accept: "application/json" } });
      let data = null;
      try {
        data = await response.json();
      } catch (parseError) {
        data = null;
      }
      if (!response.ok) {
        const old = output.querySelector("[data-testid=results]");
        if (old) old.remove();
        showError((data && data.error) || interpolate(gettext("The server answered %(status)s."), { status: response.status }, true));
        return;
      }
      render(data);
    } catch (networkError) {
      showError(gettext("Could not reach the server:") + " " + networkError.message);
    } finally {
      busy.hidden = true;
      form.removeAttribute("aria-busy");
    }
  }

  function classifyFile(file) {
    if (!file) return;
    showPreview(URL.createObjectURL(file));
    const body = new FormData();
    body.append("image", file);
    classify(body);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const sampleButton = event.submitter && event.submitter.dataset.sample !== undefined ? event.submitter : null;
    if (sampleButton) {
      const img = sampleButton.querySelector("img");
      if (img) showPreview(img.src);
      const body = new FormData();
      body.append("sample", sampleButton.dataset.sample);
      classify(body);
      return;
    }
    if (!fileInput.files.length) {
      showError(gettext("Choose an image first (or drop one on the box)."));
      return;
    }
    classifyFile(fileInput.files[0]);
  });

  fileInput.addEventListener("change", function () {
    if (fileInput.files.length) classifyFile(fileInput.files[0]);
  });

  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, function () {
      dropzone.classList.remove("dragging");
    });
  }
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    const files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) {
      try {
        fileInput.files = files;
      } catch (readOnly) {
        // Older browsers: the file is still classified, only the input does not show its name.
      }
      classifyFile(files[0]);
    }
  });
})();
