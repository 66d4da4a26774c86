"""Text and JSON renderings of jobs, events, estimates and errors for the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import Message

from dojo.errors import DojoError
from dojo.v1 import job_pb2


def _json(message: Message) -> dict[str, object]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def state_name(state: int) -> str:
    return job_pb2.JobState.Name(state)  # type: ignore[arg-type]


def job(j: job_pb2.Job, output: str = "text") -> str:
    if output == "json":
        return json.dumps(_json(j), indent=2)
    state = state_name(j.state) + (f" ({j.state_reason})" if j.state_reason else "")
    rows = [("name", j.name), ("state", state)]
    if j.state == job_pb2.QUEUED and (j.pending_reason or j.queue_position):
        rows.append(("pending", f"#{j.queue_position} {j.pending_reason}".strip()))
    rows.append(("step", f"{j.current_step}/{j.spec.training.steps}"))
    if j.HasField("latest_metrics"):
        rows.append(("metrics", metric_summary(j.latest_metrics)))
    if j.placement.accelerator:
        devices = ", ".join(j.placement.devices)
        rows.append(("placement", f"{j.placement.pool}: {j.placement.accelerator} [{devices}]"))
    rows.append(("attempt", str(j.attempt)))
    if j.usage.allocated_seconds:
        rows.append(("usage", f"{j.usage.allocated_seconds:.1f} accelerator-seconds"))
    for label, field in (("created", "create_time"), ("started", "start_time"),
                         ("ended", "end_time")):
        if j.HasField(field):
            rows.append((label, getattr(j, field).ToDatetime().isoformat(sep=" ") + "Z"))
    return "\n".join(f"{k + ':':<11}{v}" for k, v in rows)


def job_list(jobs: Sequence[job_pb2.Job], output: str = "text") -> str:
    if output == "json":
        return json.dumps([_json(j) for j in jobs], indent=2)
    if not jobs:
        return "no jobs"
    rows = [("NAME", "STATE", "STEP", "ACCELERATOR", "CREATED")]
    for j in jobs:
        created = j.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if j.HasField(
            "create_time") else ""
        accel = j.placement.accelerator or ",".join(j.spec.resources.accelerators)
        rows.append((j.name.rsplit("/", 1)[-1], state_name(j.state),
                     f"{j.current_step}/{j.spec.training.steps}", accel, created))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def estimate(options: Sequence[job_pb2.EstimateOption], output: str = "text") -> str:
    if output == "json":
        return json.dumps([_json(o) for o in options], indent=2)
    if not options:
        return "no accelerator option fits this job"
    rows = [("ACCELERATOR", "COUNT", "STEP", "TOTAL", "COST", "")]
    for o in options:
        marks = ", ".join(m for m, on in (("cheapest", o.cheapest), ("fastest", o.fastest)) if on)
        rows.append((o.accelerator, str(o.count), f"{o.step_seconds * 1000:.2f} ms",
                     _duration(o.total_seconds), f"${o.cost_usd:.4f}", marks))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def metric_summary(m: job_pb2.MetricPoint) -> str:
    parts = [f"loss={m.loss:.4f}"]
    if not math.isnan(m.accuracy) and m.accuracy:
        parts.append(f"acc={m.accuracy:.3f}")
    if m.samples_per_second:
        parts.append(f"{m.samples_per_second:.0f} samples/s")
    return " ".join(parts)


def final_metrics(j: job_pb2.Job) -> str:
    return f" ({metric_summary(j.latest_metrics)})" if j.HasField("latest_metrics") else ""


def state_change(event: job_pb2.JobEvent) -> str:
    sc = event.state_change
    when = event.time.ToDatetime().strftime("%H:%M:%S") if event.HasField("time") else ""
    arrow = f"{state_name(sc.from_state)} -> {state_name(sc.to_state)}"
    if sc.from_state == job_pb2.JOB_STATE_UNSPECIFIED:
        arrow = state_name(sc.to_state)
    return f"{when} {arrow}" + (f": {sc.reason}" if sc.reason else "")


def error(exc: DojoError) -> str:
    code = exc.code.name if exc.code is not None else "ERROR"
    lines = [f"error: {code}: {exc.message}"]
    if exc.field_violations and "\n" not in exc.message:
        lines += [f"  {v.field}: {v.description}" for v in exc.field_violations]
    lines += [f"  quota {q.subject}: {q.description}" for q in exc.quota_violations]
    if exc.retry_after is not None:
        lines.append(f"  retry after {exc.retry_after:.0f}s")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
