// What the image pages (/classify/, /detect/) share: the form's image (a file from the picker or
// dropped on the drop zone, or a sample button) posted to the API named by the form's data-api,
// the JSON answer or its {"error": …} shown in the error box. Each page's own script says what to
// add to the request, how to show it is busy, and how to draw an answer:
//
//   DeepBoot.imageForm({form, fileInput, dropzone (optional), errorBox, noFile (message),
//     start(body, src), done(data, src), failed() (optional), finish()})
//
// `src` is what shows the image being sent: an object URL of the file, or the sample's picture
// (the button's data-src, else its <img>). Texts go through gettext (/jsi18n/).
(function () {
  "use strict";
  const DeepBoot = (window.DeepBoot = window.DeepBoot || {});

  DeepBoot.imageForm = function (options) {
    const { form, fileInput, dropzone, errorBox } = options;
    let objectUrl = null;

    function showError(message) {
      errorBox.textContent = message || "";
      errorBox.hidden = !message;
    }

    async function send(body, src) {
      showError("");
      form.setAttribute("aria-busy", "true");
      options.start(body, src);
      try {
        const response = await fetch(form.dataset.api, { method: "POST", body: body, headers: { Accept: "application/json" } });
        let data = null;
        try {
          data = await response.json();
        } catch (parseError) {
          data = null;
        }
        if (!response.ok || !data) {
          if (options.failed) options.failed();
          showError((data && data.error) || interpolate(gettext("The server answered %(status)s."), { status: response.status }, true));
          return;
        }
        options.done(data, src);
      } catch (networkError) {
        showError(gettext("Could not reach the server:") + " " + networkError.message);
      } finally {
        form.removeAttribute("aria-busy");
        options.finish();
      }
    }

    function sendFile(file) {
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(file);
      const body = new FormData();
      body.append("image", file);
      send(body, objectUrl);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = event.submitter && event.submitter.name === "sample" ? event.submitter : null;
      if (button) {
        const img = button.querySelector("img");
        const body = new FormData();
        body.append("sample", button.value);
        send(body, button.dataset.src || (img ? img.src : ""));
      } else if (fileInput.files.length) {
        sendFile(fileInput.files[0]);
      } else {
        showError(options.noFile);
      }
    });

    fileInput.addEventListener("change", function () {
      if (fileInput.files.length) sendFile(fileInput.files[0]);
    });

    if (!dropzone) return;
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
          // Older browsers: the file is still sent, only the input does not show its name.
        }
        sendFile(files[0]);
      }
    });
  };
})();
