"""Text and JSON renderings for the CLI: jobs, events, estimates, errors, and the operator
views (capacity, queue, quotas, actions)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from dojo.errors import DojoError
from dojo.v1 import job_pb2, scheduler_pb2

M = TypeVar("M", bound=Message)


def _json(message: Message) -> dict[str, object]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _dump(data: Message | Sequence[Message]) -> str:
    """The `--output json` form of one message or a list of them."""
    return json.dumps(
        _json(data) if isinstance(data, Message) else [_json(m) for m in data], indent=2
    )


def _table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the first row is the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _listing(
    items: Sequence[M],
    output: str,
    empty: str,
    header: tuple[str, ...],
    row: Callable[[M], tuple[str, ...]],
) -> str:
    """A list view: JSON, the `empty` line when there is nothing, or a table of `row`s."""
    if output == "json":
        return _dump(items)
    if not items:
        return empty
    return _table([header, *(row(item) for item in items)])


def _fields(rows: Sequence[tuple[str, str]]) -> str:
    """One `label:  value` line per row, the values aligned (the detail views)."""
    return "\n".join(f"{k + ':':<11}{v}" for k, v in rows)


def _utc(ts: Timestamp) -> str:
    return ts.ToDatetime().isoformat(sep=" ") + "Z"


def state_name(state: int) -> str:
    return job_pb2.JobState.Name(state)


def job(j: job_pb2.Job, output: str = "text") -> str:
    if output == "json":
        return _dump(j)
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
    for label, field in (
        ("created", "create_time"),
        ("started", "start_time"),
        ("ended", "end_time"),
    ):
        if j.HasField(field):
            rows.append((label, _utc(getattr(j, field))))
    return _fields(rows)


def job_list(jobs: Sequence[job_pb2.Job], output: str = "text") -> str:
    return _listing(
        jobs, output, "no jobs", ("NAME", "STATE", "STEP", "ACCELERATOR", "CREATED"), _job_row
    )


def _job_row(j: job_pb2.Job) -> tuple[str, ...]:
    created = (
        j.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
        if j.HasField("create_time")
        else ""
    )
    accel = j.placement.accelerator or ",".join(j.spec.resources.accelerators)
    return (
        j.name.rsplit("/", 1)[-1],
        state_name(j.state),
        f"{j.current_step}/{j.spec.training.steps}",
        accel,
        created,
    )


def estimate(options: Sequence[job_pb2.EstimateOption], output: str = "text") -> str:
    return _listing(
        options,
        output,
        "no accelerator option fits this job",
        ("ACCELERATOR", "COUNT", "STEP", "TOTAL", "COST", "MEMORY/DEVICE", ""),
        _option_row,
    )


def _option_row(o: job_pb2.EstimateOption) -> tuple[str, ...]:
    flags = (
        ("cheapest", o.cheapest),
        ("fastest", o.fastest),
        ("does not fit", bool(o.device_memory_bytes) and not o.fits),
    )
    marks = ", ".join(m for m, on in flags if on)
    return (
        o.accelerator,
        str(o.count),
        f"{o.step_seconds * 1000:.2f} ms",
        _duration(o.total_seconds),
        f"${o.cost_usd:.4f}",
        memory(o),
        marks,
    )


def memory(o: job_pb2.EstimateOption) -> str:
    """ "5.84 GiB / 74.5 GiB": peak memory per device / what one device has ("" if unknown)."""
    if not o.device_memory_bytes:
        return ""
    return f"{binary_bytes(o.peak_memory_bytes)} / {binary_bytes(o.device_memory_bytes)}"


def binary_bytes(n: float) -> str:
    """ "452 KiB", "5.84 GiB": binary units, three significant digits."""
    value, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


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


# --- operators (dojo ops) -----------------------------------------------------------------

DEVICE_MARKS = {"free": ".", "busy": "#", "draining": "d", "failed": "X"}
DEVICE_LEGEND = "  ".join(f"{m} {s}" for s, m in DEVICE_MARKS.items())


def _mark(state: str) -> str:
    return DEVICE_MARKS.get(state, "?")


def capacity(cap: scheduler_pb2.Capacity, output: str = "text") -> str:
    """Pools, then each tray's tile mesh as a grid of states, then GPU nodes with used/total."""
    if output == "json":
        return _dump(cap)
    rows = [("POOL", "ACCELERATOR", "TOTAL", "ALLOCATED", "FREE", "UNAVAILABLE", "QUEUED")]
    rows += [
        (
            p.pool,
            p.accelerator,
            str(p.total),
            str(p.allocated),
            str(p.free),
            str(p.unavailable),
            str(p.queued),
        )
        for p in cap.pools
    ]
    parts = [_table(rows) if cap.pools else "no pools"]
    trays: dict[str, list[scheduler_pb2.TileSlot]] = {}
    for t in cap.tiles:
        trays.setdefault(t.id.rsplit("/", 1)[0], []).append(t)
    if trays:
        parts.append(f"tiles  ({DEVICE_LEGEND})")
        parts += [tray_grid(tray, tiles) for tray, tiles in sorted(trays.items())]
    if cap.gpu_nodes:
        nodes = [("GPU NODE", "POOL", "USED", "GPUS")]
        for n in cap.gpu_nodes:
            used = sum(g.state == "busy" for g in n.gpus)
            marks = "".join(_mark(g.state) for g in sorted(n.gpus, key=lambda g: g.index))
            nodes.append((n.id, n.pool, f"{used}/{len(n.gpus)}", marks))
        parts.append(_table(nodes))
    return "\n\n".join(parts)


def tray_grid(tray: str, tiles: Sequence[scheduler_pb2.TileSlot]) -> str:
    """One tray: a header, a row per mesh row (`r0  # . .`), then who holds each busy tile."""
    at = {(t.row, t.col): t for t in tiles}
    n_rows = max(t.row for t in tiles) + 1
    n_cols = max(t.col for t in tiles) + 1
    lines = [f"{tray}  ({tiles[0].pool})", "      " + " ".join(f"c{c}" for c in range(n_cols))]
    for r in range(n_rows):
        cells = [_mark(at[r, c].state) if (r, c) in at else " " for c in range(n_cols)]
        lines.append(f"  r{r:<3}" + " ".join(m.ljust(2) for m in cells).rstrip())
    for t in sorted(tiles, key=lambda t: (t.row, t.col)):
        if t.HasField("holder"):
            lines.append(f"  r{t.row}c{t.col} {t.state}: {t.holder.job} ({t.holder.job_name})")
    return "\n".join(lines)


def queue(response: scheduler_pb2.ListQueueResponse, output: str = "text") -> str:
    if output == "json":
        return _dump(response)
    if not response.jobs:
        return "no waiting jobs"
    rows = [("POS", "JOB", "TENANT", "POOL", "ACCELERATOR", "PRIO", "STATE", "PENDING")]
    rows += [
        (
            str(q.position or "-"),
            q.job.rsplit("/", 1)[-1],
            q.tenant,
            q.pool,
            f"{q.count}x {q.accelerator}",
            str(q.priority),
            q.state,
            q.pending_reason,
        )
        for q in response.jobs
    ]
    more = response.total - len(response.jobs)
    return _table(rows) + (f"\n... and {more} more" if more > 0 else "")


def operation(verb: str, result: scheduler_pb2.OperationResult, output: str = "text") -> str:
    if output == "json":
        return _dump(result)
    line = f"{verb} {result.target}: {result.devices} device(s)"
    return "\n".join([line] + [f"  job {j}" for j in result.jobs])


def _limit(q: scheduler_pb2.Quota, field: str) -> str:
    return str(getattr(q, field)) if q.HasField(field) else "unlimited"


def quota(q: scheduler_pb2.Quota, output: str = "text") -> str:
    if output == "json":
        return _dump(q)
    rows = [
        ("tenant", q.tenant),
        ("pool", q.pool),
        ("nominal", str(q.nominal)),
        ("borrowing", _limit(q, "borrowing_limit")),
        ("lending", _limit(q, "lending_limit")),
        ("cohort", q.cohort),
        ("weight", f"{q.weight:g}"),
        ("usage", f"{q.decayed_usage:.1f} share-seconds"),
    ]
    if q.HasField("update_time"):
        by = f" by {q.updated_by}" if q.updated_by else ""
        rows.append(("updated", _utc(q.update_time) + by))
    return _fields(rows)


def quota_list(quotas: Sequence[scheduler_pb2.Quota], output: str = "text") -> str:
    return _listing(
        quotas,
        output,
        "no quotas",
        ("TENANT", "POOL", "NOMINAL", "BORROWING", "LENDING", "COHORT", "WEIGHT", "USAGE"),
        lambda q: (
            q.tenant,
            q.pool,
            str(q.nominal),
            _limit(q, "borrowing_limit"),
            _limit(q, "lending_limit"),
            q.cohort,
            f"{q.weight:g}",
            f"{q.decayed_usage:.1f}",
        ),
    )


def placement(p: scheduler_pb2.JobPlacement, output: str = "text") -> str:
    if output == "json":
        return _dump(p)
    rows = [("job", p.job), ("state", p.state + (f" ({p.state_reason})" if p.state_reason else ""))]
    if p.pool:
        rows.append(("placement", f"{p.pool} [{', '.join(p.devices)}]"))
    if p.preempt_requested:
        rows.append(("preempt", "requested: the job checkpoints, then returns to the queue"))
    return _fields(rows)
