"""Discretised two-dimensional least attained service (Tiresias' 2D-LAS).

A job's attained service is device-seconds: devices held times the time it held them, over
all its runs (JobRequest.attained_service_s; a running job adds its current run). The
thresholds split it into a few queues: queue 0 holds jobs below the first threshold, queue
k those between threshold k-1 and k, the last one everything above. A lower queue goes
first, and a waiting job preempts (Preempt kind "service") a running one of the same
priority whose attained service has put it in a higher queue (scheduler.core.preemption),
so a long job makes way for newcomers whatever its run time, which is never read.

Why discretised: jobs in one queue keep their order among themselves, so two jobs with
nearly equal service never swap back and forth (a waiter preempts only a job a whole queue
above it, and the waiter's own service only grows while it runs). Why two-dimensional: a
wide job climbs the queues as fast as its devices times its time, so a 8-device job does
not hold eight times the cluster for as long as a 1-device job.

Starvation: the policy's starvation guard (Policy.starvation_s, scheduler.core.queue)
promotes a job that has waited that long beyond its service to the front, and once it runs
it is no victim of a lower-queue job until it stops (it would only starve again).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from scheduler.core.model import JobRequest, RunningJob


@dataclass(frozen=True, slots=True)
class LasQueues:
    """Queue thresholds in device-seconds, increasing; len(thresholds) + 1 queues."""

    thresholds: tuple[float, ...]

    def __post_init__(self) -> None:
        t = self.thresholds
        if not t or any(b <= a for a, b in zip(t, t[1:], strict=False)) or t[0] <= 0:
            raise ValueError(f"LAS thresholds must be positive and increasing, got {t!r}")

    def level(self, attained_device_s: float) -> int:
        """The queue a job with this much attained service is in (0 first)."""
        return bisect_right(self.thresholds, attained_device_s)

    def queued_level(self, job: JobRequest) -> int:
        return bisect_right(self.thresholds, job.attained_service_s)

    def unknown_level(self, job: JobRequest) -> int:
        """queued_level for a job without a run-time estimate, queue 0 for one with one
        (policies that leave estimated jobs to shortest remaining first)."""
        if job.est_duration_s is not None:
            return 0
        return bisect_right(self.thresholds, job.attained_service_s)

    def running_level(self, r: RunningJob, now: float) -> int:
        return bisect_right(self.thresholds, running_service(r, now))


def running_service(r: RunningJob, now: float) -> float:
    """Device-seconds a running job has attained, its current run included."""
    return r.attained_service_s + max(0.0, now - r.start_time) * len(r.placement.devices)
