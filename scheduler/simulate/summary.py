"""Turns a ReplayResult into the summary.json document and per-tenant fairness rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from scheduler.core.model import pool_for_accelerator
from scheduler.simulate import metrics as m
from scheduler.simulate.state import ReplayResult, SimJob

FAIRNESS_BINS = 1000


def finish_time_fairness(job: SimJob, pool_capacity: dict[str, int], tenants: int) -> float:
    """Themis' rho: JCT over the run time on an equal 1/n slice of the job's pool alone."""
    pool = pool_for_accelerator(job.accelerator or job.trace.accelerators[0])
    slice_ = max(pool_capacity.get(pool, 0) / max(tenants, 1), 1e-9)
    alone = job.trace.duration_s * max(1.0, job.trace.count / slice_)
    return m.jct(job) / alone if alone > 0 else 1.0


# A tenant with no nominal quota in a pool is entitled to what the others leave: a weight
# this small next to any nominal (devices) makes water-filling give it only that.
NO_ENTITLEMENT = 1e-3


def entitlement_weights(result: ReplayResult) -> np.ndarray | None:
    """[tenant, pool] water-filling weights: nominal quotas, or None (equal) without any."""
    if not result.entitlements:
        return None
    w = np.full((len(result.tenants), len(result.pools_order)), NO_ENTITLEMENT)
    for i, tenant in enumerate(result.tenants):
        for p, pool in enumerate(result.pools_order):
            n = result.entitlements.get(tenant, {}).get(pool, 0)
            if n > 0:
                w[i, p] = float(n)
    return w


def tenant_fairness(result: ReplayResult, start: float, end: float) -> list[dict[str, Any]]:
    """Per tenant: allocated and max-min-fair device-seconds, their ratio, and mean FTF."""
    if end <= start or not result.tenants:
        return []
    alloc, demand = m.tenant_series(result, start, end, FAIRNESS_BINS)
    width = (end - start) / FAIRNESS_BINS
    fair = m.fair_allocation(
        demand, [result.pool_capacity[p] for p in result.pools_order], entitlement_weights(result)
    )
    rho: dict[str, list[float]] = {t: [] for t in result.tenants}
    for j in m.finished(result.jobs):
        rho[j.trace.tenant].append(
            finish_time_fairness(j, result.pool_capacity, len(result.tenants))
        )
    rows = []
    for i, tenant in enumerate(result.tenants):
        got, owed = float(alloc[i].sum() * width), float(fair[i].sum() * width)
        rows.append(
            {
                "tenant": tenant,
                "jobs": sum(1 for j in result.jobs if j.tenant_index == i),
                "allocated_device_s": got,
                "fair_device_s": owed,
                "share_ratio": got / owed if owed > 0 else None,
                "ftf_mean": float(np.mean(rho[tenant])) if rho[tenant] else None,
                "ftf_max": float(np.max(rho[tenant])) if rho[tenant] else None,
            }
        )
    return rows


def summarize(result: ReplayResult) -> dict[str, Any]:
    done = m.finished(result.jobs)
    jcts = [m.jct(j) for j in done]
    queues = [m.queueing_delay(j) for j in done]
    first, last = m.makespan(result.jobs)
    j_stats, q_stats = m.percentile_stats(jcts), m.percentile_stats(queues)
    tenants = tenant_fairness(result, first, last)
    ratios = [r["share_ratio"] for r in tenants if r["share_ratio"] is not None]
    rhos = [finish_time_fairness(j, result.pool_capacity, len(result.tenants)) for j in done]
    return {
        "policy": result.policy,
        "label": result.name,
        "estimates": result.estimates,
        "estimate_sigma": result.estimate_sigma,
        "jobs": len(result.jobs),
        "finished": len(done),
        "unfinished": result.unfinished,
        "avg_jct_s": j_stats.mean,
        "p50_jct_s": j_stats.p50,
        "p99_jct_s": j_stats.p99,
        "avg_queue_s": q_stats.mean,
        "p50_queue_s": q_stats.p50,
        "p99_queue_s": q_stats.p99,
        "utilization": m.utilization(result.timeline, first, last),
        "makespan_s": last - first,
        "preemptions": result.preemptions,
        "preemptible_jobs": sum(1 for j in result.jobs if j.spot),
        # stops of preemptible (spot) jobs and of the others: spot ones should carry most
        "preemptions_of_preemptible": sum(j.preemptions for j in result.jobs if j.spot),
        "preemptions_of_others": sum(j.preemptions for j in result.jobs if not j.spot),
        "lost_work_s": float(sum(j.lost_s for j in result.jobs)),
        "jain_index": m.jain_index(ratios),
        "ftf_mean": float(np.mean(rhos)) if rhos else None,
        "ftf_max": float(np.max(rhos)) if rhos else None,
        "capacity_devices": result.timeline.capacity,
        "pools": result.pool_capacity,
        "checkpoint_interval_s": result.checkpoint_interval_s,
        "scheduling_passes": result.passes,
        "unfinished_reasons": dict(
            sorted(result.unfinished_reasons.items(), key=lambda kv: -kv[1])[:10]
        ),
        "wall_s": result.wall_s,
        "cpu_s": result.cpu_s,
        "tenants": tenants,
    }
