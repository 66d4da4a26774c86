"""Sizing model for jobs that accept several accelerator types (heterogeneity, Gavel-style).

Until the runtime's estimator supplies per-option figures (JobRequest.est_durations and
JobRequest.counts), an alternative is sized by relative peak BF16 throughput per device:

    count_alt    = ceil(count * thr[first] / thr[alt])          (same aggregate compute)
    duration_alt = duration * (count * thr[first]) / (count_alt * thr[alt])

so a 1-tile job offered `gpu-h100` asks ceil(9.0e15 / 9.89e14) = 10 H100s. Ties in estimated
completion break by price (PRICE_PER_DEVICE_HOUR * count * duration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from scheduler.core.model import JobRequest, pool_for_accelerator

# Peak dense BF16 FLOP/s per device: Dojo training tile (../shared/specs/dojo_hardware.yaml),
# NVIDIA data sheets for the GPUs (V100: FP16 tensor).
THROUGHPUT: Mapping[str, float] = {
    "dojo-tile": 9.0e15,
    "gpu-h100": 9.89e14,
    "gpu-a100": 3.12e14,
    "gpu-v100": 1.25e14,
}
DEFAULT_THROUGHPUT = 1.25e14
# List price per device-hour in USD, for ties and for the simulator's cost report.
PRICE_PER_DEVICE_HOUR: Mapping[str, float] = {
    "dojo-tile": 90.0,
    "gpu-h100": 4.0,
    "gpu-a100": 2.0,
    "gpu-v100": 1.0,
}
DEFAULT_PRICE = 1.0


class Option(NamedTuple):
    """One way to run a job: on `count` devices of `accelerator` in `pool`. A NamedTuple:
    the queue makes one per queued job, and a frozen dataclass costs several times more."""

    accelerator: str
    pool: str
    count: int  # type: ignore[assignment]  # shadows tuple.count, unused here
    duration_s: float | None
    price: float  # estimated total cost; 0 when the duration is unknown


def throughput(accelerator: str) -> float:
    return THROUGHPUT.get(accelerator, DEFAULT_THROUGHPUT)


def unit(accelerator: str, count: int) -> tuple[str, float]:
    """The pool of `count` devices of `accelerator` and their price per hour."""
    return (pool_for_accelerator(accelerator),
            PRICE_PER_DEVICE_HOUR.get(accelerator, DEFAULT_PRICE) * count)


def one_type(job: JobRequest) -> bool:
    """The common job: one accelerator type, no per-option figures (single_option fits it)."""
    return len(job.accelerators) == 1 and not job.est_durations and not job.counts


def single_option(accelerator: str, count: int, duration_s: float | None,
                  pool_price: tuple[str, float]) -> Option:
    """A one-type job's option; `pool_price` is unit(accelerator, count) (callers memoize it)."""
    price = 0.0 if duration_s is None else pool_price[1] * duration_s / 3600
    return Option(accelerator, pool_price[0], count, duration_s, price)


def job_options(job: JobRequest) -> tuple[Option, ...]:
    """Every acceptable placement shape, in the job's order of preference."""
    first = job.accelerators[0]
    if one_type(job):
        return (single_option(first, job.count, job.est_duration_s, unit(first, job.count)),)
    base = job.est_durations.get(first, job.est_duration_s) if job.est_durations else job.est_duration_s
    out = []
    for accel in job.accelerators:
        count, dur = _size(job, accel, first, base)
        price = 0.0 if dur is None else PRICE_PER_DEVICE_HOUR.get(accel, DEFAULT_PRICE) * count * dur / 3600
        out.append(Option(accel, pool_for_accelerator(accel), count, dur, price))
    return tuple(out)


def _size(job: JobRequest, accel: str, first: str, base: float | None) -> tuple[int, float | None]:
    if accel == first:
        return job.counts.get(accel, job.count), base
    work = job.count * throughput(first)
    count = job.counts.get(accel) or max(1, math.ceil(work / throughput(accel) - 1e-9))
    if accel in job.est_durations:
        return count, job.est_durations[accel]
    if base is None:
        return count, None
    return count, base * work / (count * throughput(accel))
