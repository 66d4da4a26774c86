"""Remaining-time estimates for shortest-remaining-first ordering and preemption.

A job with a duration estimate (JobRequest.est_duration_s, on its first accelerator type)
has `estimate - attained / count` seconds left. A job without one falls back to least
attained service: it counts as `attained / count + UNKNOWN_PRIOR_S`, so among unknown jobs
the one that has run least goes first (Tiresias' rule; heavy-tailed run times make the
expected remainder grow with the service already received).

Preemption for a shorter job (Policy.shortest_first) needs a clear margin: the waiter's
remaining time times SRPT_FACTOR must be below the victim's. The victim's remainder never
changes while it waits and the waiter's only shrinks as it runs (known estimates), so the
two can never swap back; unknown jobs grow their count geometrically per swap, which bounds
how often one job can be displaced (and RunningJob.displaced forbids a direct swap-back).
"""

from __future__ import annotations

import math

from scheduler.core.model import JobRequest, RunningJob

UNKNOWN_PRIOR_S = 3600.0  # what a job without an estimate is assumed to still need
SRPT_FACTOR = 2.0  # preempt only a victim with at least twice the waiter's remainder


def queued_remaining(job: JobRequest) -> float:
    per_device = job.attained_service_s / max(job.count, 1)
    if job.est_duration_s is None:
        return per_device + UNKNOWN_PRIOR_S
    return max(0.0, job.est_duration_s - per_device)


def running_remaining(r: RunningJob, now: float) -> float:
    """RunningJob.attained_service_s is what it received before its current run."""
    if r.est_end_time is not None:
        return max(0.0, r.est_end_time - now)
    n = max(len(r.placement.devices), 1)
    return r.attained_service_s / n + max(0.0, now - r.start_time) + UNKNOWN_PRIOR_S


def shorter(waiter_remaining: float, victim_remaining: float) -> bool:
    return waiter_remaining * SRPT_FACTOR < victim_remaining and not math.isnan(victim_remaining)
