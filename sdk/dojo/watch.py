"""Following a job: a live progress bar (step, loss) and state-change lines."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from dojo import render
from dojo.client import Client
from dojo.streams import is_final
from dojo.v1 import job_pb2

RESUME_PAUSE_S = 1.0


def follow(client: Client, job: job_pb2.Job, output: str = "text") -> job_pb2.Job:
    """Streams the job's events until it is final and returns the final job.

    Text: a tqdm bar on stderr, state changes above it. JSON: one event per line on stdout.
    """
    bar = tqdm(
        total=job.spec.training.steps or None,
        unit="step",
        desc=job.spec.name or _short(job.name),
        disable=output == "json",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    last_id = 0
    try:
        while True:
            for event in client.watch_job(job.name, after_event_id=last_id):
                last_id = max(last_id, event.id)
                _show(bar, event, output)
            job = client.get_job(job.name)
            if is_final(job):  # the stream ends when the job is final; anything else: resume
                return job
            time.sleep(RESUME_PAUSE_S)  # e.g. a server shutting down ended the stream
    finally:
        bar.close()


def _show(bar: tqdm, event: job_pb2.JobEvent, output: str) -> None:
    if output == "json":
        print(render.json_line(event), flush=True)
        return
    if event.HasField("metric"):
        m = event.metric
        bar.set_postfix_str(render.metric_summary(m), refresh=False)
        if m.step > bar.n:
            bar.update(m.step - bar.n)  # one redraw per metric, with the new loss
        else:
            bar.refresh()
    elif event.HasField("state_change"):
        bar.write(render.state_change(event), file=sys.stderr)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1] or name
