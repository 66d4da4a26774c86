// Job detail page: draws the loss (and accuracy) chart from the job's metric events and
// follows a running job by polling the events endpoint for events after the last id seen.
(function () {
  "use strict";
  const root = document.getElementById("job-live");
  if (!root) return;
  const eventsUrl = root.dataset.eventsUrl;
  const renderedState = root.dataset.state;
  const POLL_MS = 2000;
  let after = 0;

  const chart = new Chart(document.getElementById("loss-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: "loss", data: [], borderColor: "#2563eb", backgroundColor: "#2563eb",
          borderWidth: 2, pointRadius: 0, yAxisID: "y" },
        { label: "accuracy", data: [], borderColor: "#16a34a", backgroundColor: "#16a34a",
          borderWidth: 1.5, pointRadius: 0, yAxisID: "y1", hidden: true },
      ],
    },
    options: {
      animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: "step" } },
        y: { title: { display: true, text: "loss" } },
        y1: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false },
              title: { display: true, text: "accuracy" } },
      },
    },
  });

  function setText(name, value) {
    const el = root.querySelector('[data-live="' + name + '"]');
    if (el && value !== undefined && value !== null) el.textContent = value;
  }

  // The portal_tags `duration` filter's format, so a live value reads like the rendered one.
  function fmtSeconds(s) {
    if (s === null || s === undefined) return "—";
    if (s > 0 && s < 1e-3) return Number((s * 1e6).toPrecision(3)) + " µs";
    if (s > 0 && s < 1) return Number((s * 1e3).toPrecision(3)) + " ms";
    if (s < 60) return Number(s.toPrecision(3)) + "s";
    const m = Math.floor(Math.round(s) / 60), sec = Math.round(s) % 60;
    if (m >= 60) return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
    return m + "m " + String(sec).padStart(2, "0") + "s";
  }

  function addMetric(d) {
    if (typeof d.step !== "number") return;
    if (typeof d.loss === "number") chart.data.datasets[0].data.push({ x: d.step, y: d.loss });
    if (typeof d.accuracy === "number") {
      chart.data.datasets[1].data.push({ x: d.step, y: d.accuracy });
      chart.data.datasets[1].hidden = false;
    }
  }

  // "running (447 ms)": wall time since start, from the server on each poll and advanced
  // here between polls (a second's tick), so it never stands still while the job runs.
  const elapsedEl = root.querySelector('[data-live="elapsed"]');
  let elapsedBase = elapsedEl ? Number(elapsedEl.dataset.elapsed) : null;
  let elapsedAt = performance.now();
  let ticking = root.dataset.final !== "true";

  function showElapsed() {
    if (!elapsedEl || elapsedBase === null || Number.isNaN(elapsedBase)) return;
    const now = ticking ? (performance.now() - elapsedAt) / 1000 : 0;
    elapsedEl.textContent = fmtSeconds(elapsedBase + now);
  }
  if (elapsedEl) setInterval(showElapsed, 1000);

  function showSummary(job) {
    if (typeof job.elapsed_seconds === "number") {
      elapsedBase = job.elapsed_seconds;
      elapsedAt = performance.now();
    }
    ticking = !job.final;
    showElapsed();
    setText("queue-position", job.queue_position ? "#" + job.queue_position : "—");
    if (job.pending_reason) setText("pending-reason", job.pending_reason);
    setText("attempt", job.attempt);
    setText("step", job.current_step);
    const bar = root.querySelector('[data-live="progress"]');
    if (bar && job.total_steps) {
      bar.style.width = Math.min(100, (100 * job.current_step) / job.total_steps) + "%";
    }
    setText("wall", fmtSeconds(job.usage.wall_seconds));
    setText("device", fmtSeconds(job.usage.device_seconds));
    setText("allocated", job.usage.allocated_seconds.toFixed(1));
    const m = job.latest_metrics || {};
    if (typeof m.loss === "number") setText("loss", m.loss.toFixed(4));
    if (typeof m.accuracy === "number") setText("accuracy", m.accuracy.toFixed(3));
    if (typeof m.samples_per_second === "number") setText("sps", Math.round(m.samples_per_second));
    if (typeof m.modelled_samples_per_second === "number") {
      setText("msps", Math.round(m.modelled_samples_per_second));
    }
  }

  async function poll() {
    let body;
    try {
      const resp = await fetch(eventsUrl + "?after=" + after, { headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      body = await resp.json();
    } catch (err) {
      setTimeout(poll, POLL_MS * 3);  // the server may be restarting: back off, keep trying
      return;
    }
    for (const e of body.events) {
      after = e.id;
      if (e.kind === "metric") addMetric(e.data);
    }
    const empty = chart.data.datasets[0].data.length === 0;
    document.getElementById("chart-empty").hidden = !empty;
    document.getElementById("chart-box").hidden = empty;
    chart.update("none");
    showSummary(body.job);
    if (body.more) return poll();
    // A new state changes placement, timeline and actions: let the server render them.
    if (body.job.state !== renderedState) return window.location.reload();
    if (!body.job.final) setTimeout(poll, POLL_MS);
  }

  poll();
})();
