// Datasets and Models pages: the upload form sends its file in resumable chunks (at most
// data-chunk-bytes each) to the chunk endpoint, with drag and drop and a progress bar.
// The upload id is derived from the file's sha256 and the chosen id, so the same file sent
// again (after a reload or a dropped connection) resumes from the offset the server holds
// (the status endpoint). Without fetch or WebCrypto (an insecure origin) the form posts as
// a plain multipart form, which the server streams into the same upload.
(function () {
  "use strict";
  const RETRIES = 3;
  const RETRY_MS = 700;

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  async function sha256(data) {
    return hex(await crypto.subtle.digest("SHA-256", data));
  }

  function mib(n) {
    return (n / 1048576).toFixed(n < 10485760 ? 2 : 1) + " MiB";
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function setup(form) {
    const input = form.querySelector("input[type=file]");
    const zone = form.querySelector("[data-dropzone]");
    const box = form.querySelector("[data-upload-progress]");
    const bar = box.querySelector("progress");
    const status = box.querySelector("[data-upload-status]");
    const errorsBox = form.querySelector("[data-upload-errors]");
    const button = form.querySelector("button[type=submit]");
    const chunkBytes = parseInt(form.dataset.chunkBytes, 10) || 1048576;
    let busy = false;

    function show(text, done, total) {
      box.hidden = false;
      bar.max = Math.max(total, 1);
      bar.value = done;
      status.textContent = text;
    }

    function fail(messages) {
      errorsBox.textContent = "";
      messages.forEach(function (m) {
        const line = document.createElement("div");
        line.textContent = m;
        errorsBox.append(line);
      });
      errorsBox.hidden = messages.length === 0;
    }

    function chosen() {
      const file = input.files && input.files[0];
      if (zone) zone.textContent = file ? file.name + " (" + mib(file.size) + ")" : zone.dataset.empty;
    }

    // Drag and drop onto the form: the dropped file becomes the file input's.
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (e) {
        e.preventDefault();
        form.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      chosen();
    });
    input.addEventListener("change", chosen);
    if (zone) zone.dataset.empty = zone.textContent;

    async function post(url, body) {
      const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      const response = await fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Content-Type": "application/octet-stream" },
      });
      let json = {};
      try { json = await response.json(); } catch (e) { json = {}; }
      return { status: response.status, json: json };
    }

    async function serverOffset(uploadId) {
      const response = await fetch(
        form.dataset.statusUrl + "?upload_id=" + encodeURIComponent(uploadId),
        { credentials: "same-origin" }
      );
      if (response.status === 404) return 0;
      if (!response.ok) throw new Error("status " + response.status);
      return (await response.json()).committed;
    }

    async function send(file) {
      const id = form.elements[form.dataset.idField].value.trim();
      const format = form.elements.format ? form.elements.format.value : "onnx";
      const display = form.elements.display_name ? form.elements.display_name.value.trim() : "";
      show("Reading " + file.name + "…", 0, file.size);
      const digest = await sha256(await file.arrayBuffer());
      const uploadId = "web-" + (await sha256(new TextEncoder().encode(
        [form.dataset.kind, id, format, digest].join("|")))).slice(0, 48);
      let offset = await serverOffset(uploadId);
      if (offset > 0) show("Resuming from " + mib(offset) + "…", offset, file.size);
      let failures = 0;
      while (true) {
        const params = new URLSearchParams({
          upload_id: uploadId, offset: String(offset), id: id, format: format,
          size: String(file.size), sha256: digest, display_name: display,
        });
        let answer;
        try {
          answer = await post(form.dataset.chunkUrl + "?" + params,
            file.slice(offset, Math.min(offset + chunkBytes, file.size)));
        } catch (e) {
          answer = { status: 0, json: {} };
        }
        if (answer.status === 200 && answer.json.done) {
          show("Uploaded " + mib(file.size) + "; opening it…", file.size, file.size);
          window.location.assign(answer.json.url);
          return true;
        }
        if (answer.status === 200 || answer.status === 409) {
          offset = answer.json.committed;
          failures = 0;
          const pct = Math.floor((100 * offset) / file.size);
          show("Uploaded " + mib(offset) + " of " + mib(file.size) + " (" + pct + "%)", offset, file.size);
          continue;
        }
        if (answer.status === 400 || answer.status === 413 || answer.status === 403) {
          const errors = answer.json.errors || [{ message: "refused (HTTP " + answer.status + ")" }];
          fail(errors.map(function (e) { return (e.field ? e.field + ": " : "") + e.message; }));
          box.hidden = true;
          return false;
        }
        // The connection dropped or the server is away: ask where the upload stands, retry.
        failures += 1;
        if (failures > RETRIES) {
          show("Upload interrupted at " + mib(offset) + " of " + mib(file.size) +
            ". Upload the same file again (after a reload too) to resume.", offset, file.size);
          return false;
        }
        await sleep(RETRY_MS * failures);
        try { offset = await serverOffset(uploadId); } catch (e) { /* retried above */ }
      }
    }

    form.addEventListener("submit", async function (e) {
      if (!window.crypto || !crypto.subtle || !window.fetch) return;  // the plain form
      e.preventDefault();
      if (busy || !form.reportValidity()) return;
      const file = input.files && input.files[0];
      if (!file) return;
      busy = true;
      button.disabled = true;
      fail([]);
      try {
        await send(file);
      } catch (err) {
        show("Upload interrupted: " + err.message + ". Upload the same file again to resume.", 0, 1);
      } finally {
        busy = false;
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(setup);
  });
})();
