// Job detail page: the live log pane. Polls the log endpoint from the last byte offset
// read (a resumable read, as StreamJobLogs is) and appends the new lines, until the job is
// final and the whole log is shown.
(function () {
  "use strict";
  const pane = document.getElementById("job-log");
  if (!pane) return;
  const url = pane.dataset.logUrl;
  const empty = document.getElementById("job-log-empty");
  const POLL_MS = 2000;
  let offset = 0;

  async function poll() {
    let body;
    try {
      const response = await fetch(url + "?offset=" + offset, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      body = await response.json();
    } catch (e) {
      setTimeout(poll, POLL_MS * 3);  // the server may be restarting: back off, keep trying
      return;
    }
    if (body.offset !== offset) pane.textContent = "";  // the server started over
    if (body.text) {
      const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
      pane.append(document.createTextNode(body.text));
      if (atBottom) pane.scrollTop = pane.scrollHeight;
      if (empty) empty.hidden = true;
    }
    offset = body.next_offset;
    if (body.more) return poll();
    if (!body.final) setTimeout(poll, POLL_MS);
  }
  poll();
})();
