// The /detect/ page: the photo (static/deepboot/upload.js: file picker or a sample) posted to
// POST /api/detect/; here a box drawn per detection over the image (SVG, one colour per class),
// the table filled, and both filtered live with the confidence slider. Without JavaScript the form posts to the page, which draws the same thing.
(function () {
  "use strict";

  var PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000", "#ffd8b1",
    "#000075", "#a9a9a9", "#ffe119"];
  var SVG = "http://www.w3.org/2000/svg";

  var form = document.getElementById("detect-form");
  if (!form) { return; }
  var slider = document.getElementById("detect-threshold");
  var sliderValue = document.getElementById("detect-threshold-value");
  var resultBox = document.getElementById("detect-result");
  var photo = document.getElementById("detect-photo");
  var boxes = document.getElementById("detect-boxes");
  var table = document.getElementById("detect-table").querySelector("tbody");
  var summary = document.getElementById("detect-summary");
  var submit = document.getElementById("detect-submit");
  var classes = [];
  try { classes = JSON.parse(form.dataset.classes || "[]"); } catch (ignored) { classes = []; }
  var colours = {};
  var lastSummary = "";

  // A tag's width before it is laid out: Hangul and kana/kanji are about 1 em wide, Latin 0.6 em.
  function textWidth(text, font) {
    return Array.from(text).reduce(function (sum, c) { return sum + (c.codePointAt(0) >= 0x2E80 ? 1 : 0.6) * font; }, 0);
  }

  function colourFor(label) {
    // The class's index in the model's output, as the server colours it; unknown labels in turn.
    if (!(label in colours)) {
      var index = classes.indexOf(label);
      colours[label] = PALETTE[(index >= 0 ? index : classes.length + Object.keys(colours).length) % PALETTE.length];
    }
    return colours[label];
  }

  function inkFor(colour) {
    // Black or white, whichever reads better on the class colour (as the server picks it).
    var r = parseInt(colour.slice(1, 3), 16), g = parseInt(colour.slice(3, 5), 16), b = parseInt(colour.slice(5, 7), 16);
    return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000" : "#fff";
  }

  function filter() {
    var threshold = parseFloat(slider.value);
    sliderValue.textContent = threshold.toFixed(2);
    var shown = 0;
    var total = 0;
    boxes.querySelectorAll(".detect-box").forEach(function (g) {
      var visible = parseFloat(g.dataset.score) >= threshold;
      g.style.display = visible ? "" : "none";
      total += 1;
      if (visible) { shown += 1; }
    });
    table.querySelectorAll("tr[data-score]").forEach(function (row) {
      row.hidden = parseFloat(row.dataset.score) < threshold;
    });
    if (lastSummary) {
      summary.textContent = interpolate(gettext("%(shown)s of %(total)s detections at confidence ≥ %(threshold)s."),
        { shown: shown, total: total, threshold: threshold.toFixed(2) }, true) + " " + lastSummary;
    }
  }

  function svgElement(name, attributes) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { element.setAttribute(key, attributes[key]); });
    return element;
  }

  function draw(result) {
    boxes.setAttribute("viewBox", "0 0 " + result.width + " " + result.height);
    while (boxes.firstChild) { boxes.removeChild(boxes.firstChild); }
    while (table.firstChild) { table.removeChild(table.firstChild); }
    var font = Math.max(10, Math.max(result.width, result.height) / 36);
    result.detections.forEach(function (d) {
      var colour = colourFor(d.label);
      var x0 = d.box[0], y0 = d.box[1], x1 = d.box[2], y1 = d.box[3];
      var g = svgElement("g", {"class": "detect-box", "data-box": JSON.stringify(d.box), "data-label": d.label,
        "data-score": String(d.score)});
      g.appendChild(svgElement("rect", {x: x0, y: y0, width: Math.max(x1 - x0, 0), height: Math.max(y1 - y0, 0),
        fill: "none", stroke: colour, "stroke-width": 3, "vector-effect": "non-scaling-stroke"}));
      // The tag speaks the reader's language (label_display); data-label stays the class name.
      var label = (d.label_display || d.label) + " " + d.score.toFixed(2);
      var tagHeight = font * 1.25;
      var tagY = y0 >= tagHeight ? y0 - tagHeight : y0;
      g.appendChild(svgElement("rect", {"class": "detect-tag", x: x0, y: tagY, width: textWidth(label, font) + font * 0.5,
        height: tagHeight, fill: colour}));
      var text = svgElement("text", {x: x0 + font * 0.25, y: tagY + font * 0.95, "font-size": font, fill: inkFor(colour)});
      text.textContent = label;
      g.appendChild(text);
      boxes.appendChild(g);

      var row = document.createElement("tr");
      row.dataset.label = d.label;
      row.dataset.score = String(d.score);
      var cell = document.createElement("td");
      var swatch = svgElement("svg", {"class": "detect-swatch", viewBox: "0 0 10 10", "aria-hidden": "true"});
      swatch.appendChild(svgElement("rect", {width: 10, height: 10, fill: colour}));
      cell.appendChild(swatch);
      cell.appendChild(document.createTextNode(d.label_display || d.label));
      row.appendChild(cell);
      [d.score.toFixed(3), d.box.join(", ")].forEach(function (value) {
        var td = document.createElement("td");
        td.textContent = value;
        row.appendChild(td);
      });
      table.appendChild(row);
    });
    if (!result.detections.length) {
      var empty = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 3;
      td.textContent = gettext("Nothing detected.");
      empty.appendChild(td);
      table.appendChild(empty);
    }
    lastSummary = interpolate(gettext("Model: %(arch)s #%(id)s, %(ms)s ms on a %(width)s×%(height)s image."), {
      arch: result.model.architecture, id: result.model.id, ms: result.latency_ms.toFixed(1),
      width: result.width, height: result.height }, true);
    resultBox.hidden = false;
    filter();
  }

  DeepBoot.imageForm({
    form: form,
    fileInput: document.getElementById("detect-image"),
    errorBox: document.getElementById("detect-error"),
    noFile: gettext("Choose a photo first, or pick a sample."),
    start: function (body) {
      // Ask for everything the slider can show; the slider then filters in the page.
      body.append("threshold", slider.min);
      submit.disabled = true;
      form.classList.add("busy");
    },
    done: function (result, src) {
      photo.src = src;
      draw(result);
    },
    finish: function () {
      submit.disabled = false;
      form.classList.remove("busy");
    },
  });
  slider.addEventListener("input", filter);
  // A result the server drew (form posted without JavaScript, or before it loaded) filters too.
  if (!resultBox.hidden) {
    lastSummary = summary.textContent.trim();
    filter();
  }
}());
