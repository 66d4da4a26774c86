"""Seeded synthetic multi-tenant workloads mixing Dojo-tile and GPU jobs (native CSV).

Shape, loosely after the Philly and Helios studies: Poisson arrivals; tenants of unequal
appetite (Zipf-like weights); log-normal run times (median ~20 min, long tail to days);
mostly small jobs with a tail of large gangs; some jobs accept either Dojo tiles or a GPU
type, `count` always sized for the first listed type.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.core import DOJO_ACCELERATOR
from scheduler.simulate.trace import TraceJob

TILE_SIZES = ((1, 0.45), (2, 0.2), (3, 0.1), (6, 0.15), (12, 0.07), (24, 0.03))
GPU_SIZES = ((1, 0.55), (2, 0.12), (4, 0.13), (8, 0.14), (16, 0.04), (32, 0.02))
PRIORITIES = (("low", 0.2), ("normal", 0.7), ("high", 0.1))
MAX_DURATION_S = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    jobs: int = 1000
    tenants: int = 6
    seed: int = 0
    mean_interarrival_s: float = 60.0
    dojo_fraction: float = 0.4  # jobs whose first choice is Dojo tiles
    gpu_pools: tuple[str, ...] = ("gpu-a100", "gpu-h100")
    flexible_fraction: float = 0.3  # jobs that list a second accelerator type
    median_duration_s: float = 1200.0
    duration_sigma: float = 1.6  # log-normal shape: larger is a longer tail


def _pick(rng: random.Random, table: Sequence[tuple[object, float]]) -> object:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


def _accelerators(rng: random.Random, spec: WorkloadSpec) -> tuple[str, ...]:
    gpu = rng.choice(spec.gpu_pools) if spec.gpu_pools else None
    dojo = rng.random() < spec.dojo_fraction or gpu is None
    first = DOJO_ACCELERATOR if dojo else gpu
    assert first is not None
    if rng.random() >= spec.flexible_fraction:
        return (first,)
    second = gpu if dojo else DOJO_ACCELERATOR
    return (first, second) if second and second != first else (first,)


def generate(spec: WorkloadSpec) -> list[TraceJob]:
    """The same spec always yields the same jobs (one random.Random seeded with spec.seed)."""
    rng = random.Random(spec.seed)
    tenants = [f"tenant-{i:02d}" for i in range(spec.tenants)]
    appetite = [1.0 / (i + 1) for i in range(spec.tenants)]
    jobs, t = [], 0.0
    width = len(str(max(spec.jobs - 1, 1)))
    for i in range(spec.jobs):
        t += rng.expovariate(1.0 / spec.mean_interarrival_s) if i else 0.0
        accels = _accelerators(rng, spec)
        sizes = TILE_SIZES if accels[0] == DOJO_ACCELERATOR else GPU_SIZES
        count = int(_pick(rng, sizes))  # type: ignore[call-overload]
        duration = min(
            MAX_DURATION_S,
            max(30.0, rng.lognormvariate(math.log(spec.median_duration_s), spec.duration_sigma)),
        )
        jobs.append(
            TraceJob(
                job_id=f"syn-{i:0{width}d}",
                submit_s=round(t, 1),
                tenant=rng.choices(tenants, weights=appetite)[0],
                accelerators=accels,
                count=count,
                duration_s=round(duration, 1),
                priority=str(_pick(rng, PRIORITIES)),
            )
        )
    return jobs
