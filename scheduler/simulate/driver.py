"""The simulator's adapter to the scheduling core: simulator state in, Decisions out.

The simulator never places or orders jobs itself; it turns its bookkeeping into the core's
immutable Snapshot and calls `scheduler.core.schedule(snapshot, policy)`, exactly as the
live loop does. It also keeps what the live loop keeps for the core between passes: each
tenant's half-life-decayed usage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Protocol

from scheduler.core import (
    Capacity,
    Decisions,
    JobRequest,
    RunningJob,
    Snapshot,
    TenantQuota,
    schedule,
)
from scheduler.core.incremental import Scheduler
from scheduler.core.policies import get_policy
from scheduler.core.quota import decay_usage
from scheduler.simulate.state import SimJob

USAGE_HALF_LIFE_S = 7 * 24 * 3600.0
USAGE_REFRESH_S = 600.0


def equal_quotas(
    tenants: Iterable[str], pool_capacity: Mapping[str, int]
) -> dict[str, TenantQuota]:
    """Each pool split into equal guaranteed slices (the remainder one device each to the
    first tenants, so the slices add up to the pool); everyone may borrow the rest."""
    names = list(tenants)
    n = max(len(names), 1)
    unlimited: dict[str, int | None] = {pool: None for pool in pool_capacity}
    out = {}
    for i, t in enumerate(names):
        nominal = {
            pool: cap // n + (1 if i < cap % n else 0) for pool, cap in pool_capacity.items()
        }
        out[t] = TenantQuota(
            nominal=nominal, borrowing_limit=dict(unlimited), lending_limit=dict(unlimited)
        )
    return out


def no_quotas(tenants: Iterable[str], pool_capacity: Mapping[str, int]) -> dict[str, TenantQuota]:
    """No quotas at all: the core treats a tenant without a TenantQuota as unlimited."""
    return {}


QUOTA_MODES = {"equal": equal_quotas, "none": no_quotas}


def job_request(job: SimJob) -> JobRequest:
    t = job.trace
    return JobRequest(
        job_id=t.job_id,
        tenant=t.tenant,
        accelerators=t.accelerators,
        count=t.count,
        submit_time=t.submit_s,
        priority=job.priority,
        est_duration_s=job.est_duration_s,
        attained_service_s=job.attained_s,
        spot=job.spot,
    )


def last_checkpoint(start: float, now: float, interval_s: float) -> float:
    if interval_s <= 0:
        return now
    return start + ((now - start) // interval_s) * interval_s


def running_job(job: SimJob, now: float, checkpoint_s: float) -> RunningJob:
    assert job.placement is not None
    return RunningJob(
        job_id=job.trace.job_id,
        tenant=job.trace.tenant,
        placement=job.placement,
        start_time=job.start,
        priority=job.priority,
        last_checkpoint_time=last_checkpoint(job.start, now, checkpoint_s),
        est_end_time=_est_end(job),
        attained_service_s=job.attained_s,  # before this run: the core adds the current one
        preempted_for=job.preempted_for,
        displaced=frozenset(job.displaced),
        submit_time=job.trace.submit_s,
        spot=job.spot,
    )


def _est_end(job: SimJob) -> float | None:
    """The end the job's estimate implies: its true remaining run scaled by estimate over
    run time (the true end itself for an oracle estimate)."""
    est, true = job.est_duration_s, job.trace.duration_s
    if est is None:
        return None
    if est == true or true <= 0:
        return job.end
    return job.start + (job.end - job.start) * est / true


class TenantUsage:
    """Half-life-decayed dominant-share usage per tenant, as TenantQuota.decayed_usage."""

    def __init__(
        self,
        tenants: Iterable[str],
        quotas: Mapping[str, TenantQuota],
        pool_capacity: Mapping[str, int],
        half_life_s: float = USAGE_HALF_LIFE_S,
    ) -> None:
        self.quotas = dict(quotas)  # tenants without one are unlimited (no usage kept)
        self.sizes = dict(pool_capacity)
        self.half_life_s = half_life_s
        names = list(tenants)
        self.held: dict[str, dict[str, int]] = {t: {} for t in names}
        self.decayed = dict.fromkeys(names, 0.0)
        self.since = dict.fromkeys(names, 0.0)

    def _dominant(self, tenant: str) -> float:
        return max(
            (n / self.sizes[p] for p, n in self.held[tenant].items() if self.sizes.get(p)),
            default=0.0,
        )

    def _advance(self, tenant: str, now: float) -> None:
        dt = now - self.since[tenant]
        if dt > 0:
            self.decayed[tenant] = decay_usage(
                self.decayed[tenant], self._dominant(tenant), dt, self.half_life_s
            )
            self.since[tenant] = now

    def change(self, tenant: str, pool: str, n: int, now: float) -> None:
        self._advance(tenant, now)
        held = self.held[tenant]
        held[pool] = held.get(pool, 0) + n

    def decayed_at(self, now: float) -> dict[str, float]:
        for t in self.quotas:
            self._advance(t, now)
        return {t: self.decayed[t] for t in self.quotas}

    def quotas_at(self, now: float) -> dict[str, TenantQuota]:
        for t in self.quotas:
            self._advance(t, now)
        return {t: replace(q, decayed_usage=self.decayed[t]) for t, q in self.quotas.items()}


class CoreDriver(Protocol):
    """What the replay needs from the core: tell it about the queue, ask it to decide."""

    def enqueue(self, job: SimJob) -> None: ...
    def admitted(self, job: SimJob) -> None: ...
    def released(self, job: SimJob) -> None: ...
    def decide(self, now: float, running: Iterable[SimJob], explain: bool = False) -> Decisions: ...


class SnapshotDriver:
    """Builds a full Snapshot per pass and calls `schedule(snapshot, policy)`: the live
    loop's path, kept to cross-check the incremental one on small traces. Queued requests
    are cached per job and rebuilt only when the job re-enters the queue."""

    def __init__(
        self,
        capacity: Capacity,
        usage: TenantUsage,
        policy: str,
        checkpoint_s: float,
        grace_s: float,
    ) -> None:
        self.capacity = capacity
        self.usage = usage
        self.policy = policy
        self.checkpoint_s = checkpoint_s
        self.grace_s = grace_s
        self._requests: dict[int, JobRequest] = {}

    def enqueue(self, job: SimJob) -> None:
        self._requests[job.index] = job_request(job)

    def admitted(self, job: SimJob) -> None:
        del self._requests[job.index]

    def released(self, job: SimJob) -> None:
        """A running job finished or stopped (the next snapshot simply omits it)."""

    def decide(self, now: float, running: Iterable[SimJob], explain: bool = False) -> Decisions:
        snap = Snapshot(
            now=now,
            capacity=self.capacity,
            queued=tuple(self._requests.values()),
            running=tuple(running_job(j, now, self.checkpoint_s) for j in running),
            tenants=self.usage.quotas_at(now),
            usage_half_life_s=self.usage.half_life_s,
            grace_period_s=self.grace_s,
        )
        return schedule(snap, self.policy)


class IncrementalDriver:
    """Drives the core's incremental `Scheduler`, which keeps its indexed state between
    passes, so a pass costs what changed rather than the whole cluster and queue.

    The core derives running jobs' periodic checkpoints from their start times itself
    (checkpoint_interval_s), and gets each tenant's decayed usage once per USAGE_REFRESH_S
    of virtual time (fair share moves slowly; refreshing every pass would cost more than
    it changes)."""

    def __init__(
        self,
        capacity: Capacity,
        usage: TenantUsage,
        policy: str,
        checkpoint_s: float,
        grace_s: float,
    ) -> None:
        self.usage = usage
        self.core = Scheduler(
            capacity,
            policy,
            usage.quotas_at(0.0),
            grace_period_s=grace_s,
            checkpoint_interval_s=checkpoint_s if checkpoint_s > 0 else None,
        )
        self.fair_share = get_policy(policy).fair_share
        self._refreshed = 0.0

    def enqueue(self, job: SimJob) -> None:
        self.core.submit(job_request(job))

    def admitted(self, job: SimJob) -> None:
        """The Scheduler already applied its own admission."""

    def released(self, job: SimJob) -> None:
        self.core.stop(job.trace.job_id)

    def decide(self, now: float, running: Iterable[SimJob], explain: bool = False) -> Decisions:
        if self.fair_share and now - self._refreshed >= USAGE_REFRESH_S:
            self._refreshed = now
            self.core.set_usage(self.usage.decayed_at(now))
        return self.core.schedule(now, explain=explain)


DRIVERS: dict[str, Callable[[Capacity, TenantUsage, str, float, float], CoreDriver]] = {
    "incremental": IncrementalDriver,
    "snapshot": SnapshotDriver,
}
