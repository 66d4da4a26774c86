"""Sizing model for jobs that accept several accelerator types (heterogeneity, Gavel-style).

The live platform supplies the runtime estimator's per-option figures (JobRequest.est_durations
and JobRequest.counts, from dojocloud.jobs.modelled); where they are missing (the simulator,
an option the estimator could not fit) an alternative is sized by relative peak BF16
throughput per device (`thr`: Capacity.figures, filled from dojo_runtime.specs):

    count_alt    = ceil(count * thr[first] / thr[alt])          (same aggregate compute)
    duration_alt = duration * (count * thr[first]) / (count_alt * thr[alt])

so a 1-tile job offered `gpu-h100` asks ceil(9.0e15 / 9.894e14) = 10 H100s. Ties in estimated
completion break by price (Figures.price per device-hour * count * duration). An accelerator
type without figures follows the one rule in scheduler.core.figures.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scheduler.core.figures import Figures
from scheduler.core.model import JobRequest, pool_for_accelerator


class Option(NamedTuple):
    """One way to run a job: on `count` devices of `accelerator` in `pool`. A NamedTuple:
    the queue makes one per queued job, and a frozen dataclass costs several times more."""

    accelerator: str
    pool: str
    count: int  # type: ignore[assignment]  # shadows tuple.count, unused here
    duration_s: float | None
    price: float  # estimated total cost in USD; 0 when the duration is unknown


def unit(accelerator: str, count: int, figures: Figures) -> tuple[str, float]:
    """The pool of `count` devices of `accelerator` and their price per hour."""
    return pool_for_accelerator(accelerator), figures.price(accelerator) * count


def one_type(job: JobRequest) -> bool:
    """The common job: one accelerator type, no per-option figures (single_option fits it)."""
    return len(job.accelerators) == 1 and not job.est_durations and not job.counts


def single_option(
    accelerator: str, count: int, duration_s: float | None, pool_price: tuple[str, float]
) -> Option:
    """A one-type job's option; `pool_price` is unit(accelerator, count, figures) (callers
    memoize it)."""
    price = 0.0 if duration_s is None else pool_price[1] * duration_s / 3600
    return Option(accelerator, pool_price[0], count, duration_s, price)


def job_options(job: JobRequest, figures: Figures) -> tuple[Option, ...]:
    """Every acceptable placement shape, in the job's order of preference."""
    first = job.accelerators[0]
    if one_type(job):
        return (
            single_option(first, job.count, job.est_duration_s, unit(first, job.count, figures)),
        )
    base = (
        job.est_durations.get(first, job.est_duration_s)
        if job.est_durations
        else job.est_duration_s
    )
    out = []
    for accel in job.accelerators:
        count, dur = _size(job, accel, first, base, figures)
        price = 0.0 if dur is None else figures.price(accel) * count * dur / 3600
        out.append(Option(accel, pool_for_accelerator(accel), count, dur, price))
    return tuple(out)


def equivalent_count(count: int, first: str, accel: str, figures: Figures) -> int:
    """Devices of `accel` with the aggregate peak of `count` devices of `first` (the rule
    above; admission checks an alternative's memory at this count)."""
    if accel == first:
        return count
    return max(1, math.ceil(count * figures.throughput(first) / figures.throughput(accel) - 1e-9))


def _size(
    job: JobRequest, accel: str, first: str, base: float | None, figures: Figures
) -> tuple[int, float | None]:
    if accel == first:
        return job.counts.get(accel, job.count), base
    work = job.count * figures.throughput(first)
    speed = figures.throughput(accel)
    count = job.counts.get(accel) or equivalent_count(job.count, first, accel, figures)
    if accel in job.est_durations:
        return count, job.est_durations[accel]
    if base is None:
        return count, None
    return count, base * work / (count * speed)
