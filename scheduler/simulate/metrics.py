"""Report math over a finished replay: completion times, queueing, utilization, fairness.

Definitions (all seconds of virtual time):
  JCT            finish - submit.
  queueing delay time a job spent waiting in the queue: JCT minus the time it held devices
                 (waits after a preemption count; the run time of lost work does not).
  makespan       last finish - first submit.
  utilization    allocated device-seconds / (usable devices x makespan).
  fair share     at each moment, capacity split max-min fairly (water-filling) over the
                 tenants' demands (devices of their queued and running jobs), weighted by
                 entitlement (the tenant's nominal quota in the pool; equal without
                 quotas); a tenant's share ratio is its allocated device-seconds over its
                 fair device-seconds.
  Jain's index   (sum x)^2 / (n * sum x^2) over the tenants' share ratios x: 1 is perfectly
                 fair, 1/n is one tenant taking everything.
  finish-time fairness (Themis) rho = JCT / the run time the job would see on its tenant's
                 equal slice of the cluster alone: duration * max(1, count / (capacity / n)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scheduler.simulate.state import ReplayResult, SimJob, Timeline


@dataclass(frozen=True, slots=True)
class Stats:
    mean: float
    p50: float
    p99: float


def percentile_stats(values: Sequence[float]) -> Stats:
    if len(values) == 0:
        return Stats(0.0, 0.0, 0.0)
    arr = np.asarray(values, dtype=float)
    p50, p99 = np.percentile(arr, [50, 99])
    return Stats(float(arr.mean()), float(p50), float(p99))


def finished(jobs: Sequence[SimJob]) -> list[SimJob]:
    return [j for j in jobs if j.finish is not None]


def jct(job: SimJob) -> float:
    assert job.finish is not None
    return job.finish - job.trace.submit_s


def queueing_delay(job: SimJob) -> float:
    return jct(job) - job.run_s


def jain_index(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or not np.any(arr):
        return 1.0
    return float(arr.sum() ** 2 / (arr.size * np.square(arr).sum()))


def water_fill(
    capacity: float, demands: Sequence[float], weights: Sequence[float] | None = None
) -> list[float]:
    """Max-min fair (weighted) split of `capacity` over `demands`; nobody gets above demand."""
    n = len(demands)
    w = list(weights) if weights is not None else [1.0] * n
    alloc = [0.0] * n
    active = [i for i in range(n) if demands[i] > 0 and w[i] > 0]
    left = float(capacity)
    while active and left > 1e-12:
        total_w = sum(w[i] for i in active)
        share = left / total_w
        capped = [i for i in active if demands[i] - alloc[i] <= share * w[i]]
        if not capped:
            for i in active:
                alloc[i] += share * w[i]
            break
        for i in capped:
            left -= demands[i] - alloc[i]
            alloc[i] = float(demands[i])
        active = [i for i in active if i not in capped]
    return alloc


def makespan(jobs: Sequence[SimJob]) -> tuple[float, float]:
    """(first submit, last finish) over the jobs that finished."""
    done = finished(jobs)
    if not done:
        return 0.0, 0.0
    first = min(j.trace.submit_s for j in jobs)
    last = max(j.finish for j in done if j.finish is not None)
    return first, last


def step_integral(
    times: Sequence[float], values: Sequence[float], start: float, end: float
) -> float:
    """Integral over [start, end] of the right-continuous step function (times, values)."""
    if end <= start or not times:
        return 0.0
    t = np.clip(np.asarray(times, dtype=float), start, end)
    edges = np.append(t, end)
    return float(np.sum(np.asarray(values, dtype=float) * np.diff(edges)))


def utilization(timeline: Timeline, start: float, end: float) -> float:
    if timeline.capacity <= 0 or end <= start:
        return 0.0
    busy = step_integral(timeline.times, timeline.busy, start, end)
    return busy / (timeline.capacity * (end - start))


def binned(
    times: Sequence[float], values: Sequence[float], start: float, end: float, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Time-averages of a step function over `bins` equal bins: (bin starts, averages)."""
    edges = np.linspace(start, end, bins + 1)
    if end <= start or not times:
        return edges[:-1], np.zeros(bins)
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    # Cumulative integral at each change point, then interpolate it at the bin edges.
    cum = np.concatenate([[0.0], np.cumsum(v[:-1] * np.diff(t))])
    idx = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(t) - 1)
    at_edges = cum[idx] + v[idx] * np.maximum(edges - t[idx], 0.0)
    at_edges[edges < t[0]] = 0.0
    return edges[:-1], np.diff(at_edges) / np.diff(edges)


def tenant_series(
    result: ReplayResult, start: float, end: float, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin averages of allocated and demanded devices: two arrays [tenant, pool, bin]."""
    n, pools = len(result.tenants), len(result.pools_order)
    series: dict[tuple[int, int], tuple[list[float], list[float], list[float]]] = {}
    for t, i, p, alloc, demand in result.timeline.tenant_changes:
        times, a, d = series.setdefault((i, p), ([], [], []))
        if times and times[-1] == t:
            a[-1], d[-1] = alloc, demand
        else:
            times.append(t)
            a.append(alloc)
            d.append(demand)
    alloc_bins = np.zeros((n, pools, bins))
    demand_bins = np.zeros((n, pools, bins))
    for (i, p), (times, a, d) in series.items():
        alloc_bins[i, p] = binned(times, a, start, end, bins)[1]
        demand_bins[i, p] = binned(times, d, start, end, bins)[1]
    return alloc_bins, demand_bins


def fair_allocation(
    demand: np.ndarray, pool_sizes: Sequence[int], weights: np.ndarray | None = None
) -> np.ndarray:
    """Max-min fair devices per [tenant, pool, bin], water-filling each pool in each bin,
    weighted per [tenant, pool] by entitlement (equal when None)."""
    fair = np.zeros_like(demand)
    for p, size in enumerate(pool_sizes):
        w = None if weights is None else weights[:, p].tolist()
        for b in range(demand.shape[2]):
            column = demand[:, p, b]
            if column.any():
                fair[:, p, b] = water_fill(size, column.tolist(), w)
    return fair
