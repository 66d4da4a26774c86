"""Text and JSON renderings for the CLI: jobs, events, estimates, errors, and the operator
views (capacity, queue, quotas, actions)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from dojo.errors import DojoError
from dojo.v1 import job_pb2, scheduler_pb2

M = TypeVar("M", bound=Message)


_INT64 = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_FLOATS = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})


def to_dict(message: Message) -> dict[str, object]:
    """The message as JSON data: proto field names, and numbers as numbers. The proto3 JSON
    mapping writes 64-bit integers as strings and NaN as "NaN"; a CLI's reader (jq, a
    script) wants 300 and null."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    _numbers(message, data)
    return data


def _plain(fd: Any, value: object) -> object:  # Any: upb's descriptors and the stubs' differ
    if fd.type in _INT64 and isinstance(value, str):
        return int(value)
    if fd.type in _FLOATS and isinstance(value, str):  # "NaN", "Infinity", "-Infinity"
        return None
    return value


def _numbers(message: Message, data: dict[str, object]) -> None:
    for fd in message.DESCRIPTOR.fields:
        if fd.name not in data:
            continue
        value, kind = data[fd.name], fd.message_type
        if kind is not None and kind.GetOptions().map_entry:
            vfd = kind.fields_by_name["value"]
            assert isinstance(value, dict)
            if vfd.message_type is None:
                for k in value:
                    value[k] = _plain(vfd, value[k])
            elif not vfd.message_type.full_name.startswith("google.protobuf."):
                for k, sub in getattr(message, fd.name).items():
                    _numbers(sub, value[str(k)])
        elif kind is not None:
            if kind.full_name.startswith("google.protobuf."):
                continue  # Timestamp, Duration ...: strings by design (RFC 3339)
            subs = getattr(message, fd.name)
            if fd.is_repeated:
                assert isinstance(value, list)
                for sub, item in zip(subs, value, strict=True):
                    _numbers(sub, item)
            else:
                assert isinstance(value, dict)
                _numbers(subs, value)
        elif fd.is_repeated:
            assert isinstance(value, list)
            data[fd.name] = [_plain(fd, v) for v in value]
        else:
            data[fd.name] = _plain(fd, value)


def _dump(data: Message | Sequence[Message]) -> str:
    """The `--output json` form of one message or a list of them (one JSON document)."""
    return json.dumps(
        to_dict(data) if isinstance(data, Message) else [to_dict(m) for m in data], indent=2
    )


def json_line(message: Message) -> str:
    """One message as one line of JSON: what streams print, one object per line."""
    return json.dumps(to_dict(message), separators=(",", ":"))


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


def short_id(j: job_pb2.Job) -> str:
    """The job id: the last part of `organizations/{org}/jobs/{id}`."""
    return j.name.rsplit("/", 1)[-1]


def job(j: job_pb2.Job, output: str = "text") -> str:
    if output == "json":
        return _dump(j)
    state = state_name(j.state) + (f" ({j.state_reason})" if j.state_reason else "")
    rows = [("name", j.spec.name or short_id(j)), ("id", f"{short_id(j)}   ({j.name})")]
    rows.append(("state", state))
    if j.state == job_pb2.QUEUED and (j.pending_reason or j.queue_position):
        rows.append(("pending", f"#{j.queue_position} {j.pending_reason}".strip()))
    if j.HasField("failure"):
        rows.extend(failure_rows(j.failure))
    rows.append(("progress", progress(j)))
    if j.HasField("latest_metrics"):
        rows.append(("metrics", metric_summary(j.latest_metrics)))
    if j.HasField("evaluation"):
        rows.append(("evaluation", evaluation(j.evaluation)))
    rows.append(("resources", devices(j)))
    if j.placement.accelerator:
        placed = ", ".join(j.placement.devices)
        rows.append(("placement", f"{j.placement.pool}: {j.placement.accelerator} [{placed}]"))
    rows.append(("attempt", str(j.attempt)))
    if j.usage.allocated_seconds:
        rows.append(("usage", usage(j)))
    if j.usage.cost_usd:
        rows.append(("cost", f"{cost(j)} so far"))
    for label, field in (
        ("created", "create_time"),
        ("started", "start_time"),
        ("ended", "end_time"),
    ):
        if j.HasField(field):
            rows.append((label, _utc(getattr(j, field))))
    return _fields(rows)


def failure_rows(f: job_pb2.JobFailure) -> list[tuple[str, str]]:
    """A failed job's code (and step), message and the last lines of its log."""
    reason = job_pb2.JobFailure.Reason.Name(f.reason)
    rows = [("failure", reason + (f" at step {f.step}" if f.HasField("step") else ""))]
    rows.append(("message", f.message))
    if f.last_log_lines:
        rows.append(("last log", ("\n" + " " * 11).join(f.last_log_lines)))
    return rows


def log_chunk_json(chunk: job_pb2.JobLogChunk) -> str:
    return json.dumps(
        {
            "offset": chunk.offset,
            "next_offset": chunk.next_offset,
            "text": chunk.data.decode(errors="replace"),
        }
    )


def progress(j: job_pb2.Job) -> str:
    """ "150/300 steps (50%)"."""
    total = j.spec.training.steps
    if total <= 0:
        return f"{j.current_step} steps"
    return f"{j.current_step}/{total} steps ({100 * j.current_step // total}%)"


def devices(j: job_pb2.Job) -> str:
    """ "1 x dojo-tile": what it runs on (placed) or asks for (first accepted type)."""
    accel = j.placement.accelerator
    count = len(j.placement.devices) if accel else j.spec.resources.count or 1
    if not accel:
        accel = j.spec.resources.accelerators[0] if j.spec.resources.accelerators else "?"
    return f"{count} x {accel}"


def usage(j: job_pb2.Job) -> str:
    """Accelerator time the job held so far ("42.0 s of accelerator time")."""
    return f"{seconds(j.usage.allocated_seconds)} of accelerator time"


def cost(j: job_pb2.Job) -> str:
    """What the ledger has billed so far ("$0.000153"); "-" before its first segment ends."""
    if not j.usage.cost_usd:
        return "-"
    value = Decimal(j.usage.cost_usd)  # money stays decimal, also when shown
    if value <= 0:
        return "$0"
    return f"${value:.{_cents_or_finer(value.adjusted())}f}"


def age(ts: Timestamp, now: float | None = None) -> str:
    """ "42s", "5m", "3h", "2d" since `ts`."""
    elapsed = max(0.0, (time.time() if now is None else now) - ts.ToNanoseconds() / 1e9)
    for limit, unit, size in ((120, "s", 1), (7200, "m", 60), (172800, "h", 3600)):
        if elapsed < limit:
            return f"{elapsed / size:.0f}{unit}"
    return f"{elapsed / 86400:.0f}d"


def job_list(jobs: Sequence[job_pb2.Job], output: str = "text") -> str:
    return _listing(
        jobs,
        output,
        "no jobs",
        ("NAME", "ID", "STATE", "ACCELERATORS", "PROGRESS", "AGE", "COST"),
        _job_row,
    )


def _job_row(j: job_pb2.Job) -> tuple[str, ...]:
    total = j.spec.training.steps
    done = f"{100 * j.current_step // total}%" if total > 0 else "-"
    return (
        j.spec.name or "-",
        short_id(j),
        state_name(j.state),
        devices(j),
        f"{j.current_step}/{total} {done}",
        age(j.create_time) if j.HasField("create_time") else "",
        cost(j),
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
        seconds(o.step_seconds),
        seconds(o.total_seconds),
        usd(o.cost_usd),
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


def evaluation(m: job_pb2.MetricPoint) -> str:
    """The held-out evaluation: "mse=0.0123 at step 40" for a regression (no accuracy),
    "loss=0.4321 acc=0.912 at step 40" otherwise."""
    if m.loss_function == "mse":
        parts = [f"mse={m.loss:.4g}"]
    else:
        parts = [f"loss={m.loss:.4f}"]
        if not math.isnan(m.accuracy):
            parts.append(f"acc={m.accuracy:.3f}")
    return " ".join(parts) + f" at step {m.step} (held out)"


def final_metrics(j: job_pb2.Job) -> str:
    return f" ({metric_summary(j.latest_metrics)})" if j.HasField("latest_metrics") else ""


def state_change(event: job_pb2.JobEvent) -> str:
    sc = event.state_change
    when = event.time.ToDatetime().strftime("%H:%M:%S") if event.HasField("time") else ""
    arrow = f"{state_name(sc.from_state)} -> {state_name(sc.to_state)}"
    if sc.from_state == job_pb2.JOB_STATE_UNSPECIFIED:
        arrow = state_name(sc.to_state)
    return f"{when} {arrow}" + (f": {sc.reason}" if sc.reason else "")


def error(exc: DojoError, refused: str = "") -> str:
    """The one rendering of an error: every bad field once, in the portal's words
    ("The job was not submitted. Fix these fields:"), or one line for anything else."""
    code = exc.code.name if exc.code is not None else "ERROR"
    fields = [v for v in exc.field_violations if v.field or v.description]
    if fields and "\n" not in exc.message:
        if len(fields) == 1 and not refused:
            v = fields[0]
            lines = [f"error: {v.field + ': ' if v.field else ''}{v.description}"]
        else:
            lines = [f"error: {refused or 'The request was refused'}. Fix these fields:"]
            lines += [f"  {v.field or '(spec)'}: {v.description}" for v in fields]
    else:
        lines = [f"error: {code}: {exc.message}"]
    lines += [f"  quota {q.subject}: {q.description}" for q in exc.quota_violations]
    if exc.retry_after is not None:
        lines.append(f"  retry after {exc.retry_after:.0f}s")
    return "\n".join(lines)


def seconds(value: float) -> str:
    """A duration in a unit that reads: "480 µs", "12.5 ms", "3.20 s", "4.5 min", "2.1 h",
    "3.0 d", three significant digits below a minute."""
    if value <= 0:
        return "0 s"
    for limit, unit, size in ((1e-3, "µs", 1e-6), (1.0, "ms", 1e-3), (120.0, "s", 1.0)):
        if value < limit:
            return f"{_sig(value / size)} {unit}"
    for limit, unit, size in ((7200.0, "min", 60.0), (172_800.0, "h", 3600.0)):
        if value < limit:
            return f"{value / size:.1f} {unit}"
    return f"{value / 86400:.1f} d"


def usd(value: float) -> str:
    """Money with the digits that matter: "$0.000423", "$0.0512", "$12.35", "$1234.50"."""
    if value <= 0:
        return "$0"
    return f"${value:.{_cents_or_finer(math.floor(math.log10(value)))}f}"


def _cents_or_finer(exponent: int) -> int:
    """Decimal places for money whose leading digit is 10**exponent: cents, or three
    significant digits below $1."""
    return max(2, 2 - exponent)


def _sig(value: float) -> str:
    """Three significant digits, never in exponent form: 480, 12.5, 3.20."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{2 - math.floor(math.log10(value))}f}" if value > 0 else "0"


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
