"""Trace readers and writer: the native CSV format and the Philly-derived trace.

Native CSV header: ``job_id,submit_s,tenant,accelerators,count,duration_s,priority``.
``accelerators`` lists acceptable types separated by ``|`` (preferred first), ``count`` is
tiles or GPUs of the first type, ``duration_s`` the run time on the first type, ``priority``
a class name (low, normal, high).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scheduler.core.priority import DEFAULT_PRIORITY_CLASS

NATIVE_HEADER = ("job_id", "submit_s", "tenant", "accelerators", "count", "duration_s", "priority")
PHILLY_HEADER = ("timestamp", "duration", "num_gpus", "gpu_time", "cluster")
PHILLY_ACCELERATOR = "gpu-v100"
PHILLY_PRIORITY = DEFAULT_PRIORITY_CLASS  # Philly states no priorities
_EPOCH = datetime(2000, 1, 1)

# Where CI finds the Philly trace: a copy of shared/ sits beside the clone.
_REPO_ROOT = Path(__file__).resolve().parents[2]
PHILLY_TRACE_CANDIDATES = (
    _REPO_ROOT.parent / "shared" / "traces" / "philly-pollux.csv",
    Path("/work/shared/traces/philly-pollux.csv"),
)


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class TraceJob:
    job_id: str
    submit_s: float
    tenant: str
    accelerators: tuple[str, ...]
    count: int
    duration_s: float  # on accelerators[0] with `count` devices
    priority: str = PHILLY_PRIORITY


def default_philly_path() -> Path:
    """The first Philly trace location that exists (the CI path, then /work/shared)."""
    for path in PHILLY_TRACE_CANDIDATES:
        if path.exists():
            return path
    raise TraceError("philly trace not found in: " + ", ".join(map(str, PHILLY_TRACE_CANDIDATES)))


def detect_format(path: str | Path) -> str:
    """'native' or 'philly', from the header line."""
    with open(path, encoding="utf-8", newline="") as fh:
        header = tuple(next(csv.reader(fh), []))
    if header[: len(NATIVE_HEADER)] == NATIVE_HEADER:
        return "native"
    if header[: len(PHILLY_HEADER)] == PHILLY_HEADER:
        return "philly"
    raise TraceError(f"{path}: unknown trace header {','.join(header)!r}")


def load_trace(path: str | Path, cap_count: int | None = None) -> list[TraceJob]:
    """Reads either format (detected from the header), sorted by submit time."""
    if detect_format(path) == "philly":
        return read_philly(path, cap_count=cap_count)
    jobs = read_native(path)
    if cap_count is not None:
        jobs = [_capped(j, cap_count) for j in jobs]
    return jobs


def _capped(job: TraceJob, cap: int) -> TraceJob:
    if job.count <= cap:
        return job
    return TraceJob(
        job.job_id, job.submit_s, job.tenant, job.accelerators, cap, job.duration_s, job.priority
    )


def read_native(path: str | Path) -> list[TraceJob]:
    jobs: list[TraceJob] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                job = _native_row(row)
            except (KeyError, ValueError, TypeError) as exc:
                raise TraceError(f"{path}:{line}: {exc}") from None
            if job.job_id in seen:
                raise TraceError(f"{path}:{line}: duplicate job_id {job.job_id!r}")
            seen.add(job.job_id)
            jobs.append(job)
    jobs.sort(key=lambda j: (j.submit_s, j.job_id))
    return jobs


def _native_row(row: dict[str, str]) -> TraceJob:
    accelerators = tuple(a.strip() for a in row["accelerators"].split("|") if a.strip())
    if not accelerators:
        raise ValueError("accelerators is empty")
    count = int(row["count"])
    submit = float(row["submit_s"])
    duration = float(row["duration_s"])
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if submit < 0 or duration < 0:
        raise ValueError("submit_s and duration_s must be >= 0")
    job_id = row["job_id"].strip()
    if not job_id:
        raise ValueError("job_id is empty")
    priority = (row.get("priority") or PHILLY_PRIORITY).strip()
    return TraceJob(job_id, submit, row["tenant"].strip(), accelerators, count, duration, priority)


def read_philly(path: str | Path, cap_count: int | None = 8) -> list[TraceJob]:
    """The Pollux-prepared Philly trace: `cluster` becomes the tenant, times become seconds
    after the first submission, jobs sorted by submit time, sizes capped at `cap_count`."""
    rows: list[tuple[float, float, int, str]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                # Naive wall times: differences from a fixed epoch, so no local DST shift.
                ts = (datetime.fromisoformat(row["timestamp"]) - _EPOCH).total_seconds()
                rows.append((ts, float(row["duration"]), int(row["num_gpus"]), row["cluster"]))
            except (KeyError, ValueError, TypeError) as exc:
                raise TraceError(f"{path}:{line}: {exc}") from None
    if not rows:
        return []
    # Stable sort keeps file order among equal timestamps, so ids are reproducible.
    rows.sort(key=lambda r: r[0])
    first = rows[0][0]
    width = len(str(len(rows)))
    jobs = []
    for i, (ts, duration, gpus, cluster) in enumerate(rows):
        count = min(gpus, cap_count) if cap_count is not None else gpus
        jobs.append(
            TraceJob(
                f"philly-{i:0{width}d}",
                ts - first,
                cluster,
                (PHILLY_ACCELERATOR,),
                max(count, 1),
                duration,
                PHILLY_PRIORITY,
            )
        )
    return jobs


def write_native(path: str | Path, jobs: Iterable[TraceJob]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(NATIVE_HEADER)
        for j in jobs:
            writer.writerow(
                [
                    j.job_id,
                    _num(j.submit_s),
                    j.tenant,
                    "|".join(j.accelerators),
                    j.count,
                    _num(j.duration_s),
                    j.priority,
                ]
            )


def _num(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def tenants_of(jobs: Sequence[TraceJob]) -> list[str]:
    return sorted({j.tenant for j in jobs})
