"""The mutable working state of one scheduling pass (or of the incremental Scheduler)."""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from scheduler.core.cluster import ClusterState
from scheduler.core.gpus import GpuPool
from scheduler.core.model import Placement, RunningJob, Snapshot
from scheduler.core.quota import QuotaBook


@dataclass(slots=True)
class Reservation:
    """EASY backfill: the first waiting job of a pool will get `devices` at `start`."""

    job_id: str
    start: float
    devices: tuple[str, ...]
    blocked: dict[int, int]  # pool index position (tray or node) -> bits


@dataclass(slots=True)
class PassState:
    now: float
    cluster: ClusterState
    quota: QuotaBook
    running: dict[str, RunningJob]
    grace_s: float = 60.0
    min_run_s: float = 300.0
    checkpoint_interval_s: float | None = None
    reservations: dict[str, Reservation] = field(default_factory=dict)
    # Devices held back in this pass for a job whose victims are still checkpointing.
    nominated: dict[str, str] = field(default_factory=dict)  # pseudo holder -> job id
    # pool -> priority -> number of running jobs that could still be victims (fast reject).
    victim_priorities: dict[str, dict[int, int]] = field(default_factory=dict)
    # pool -> running jobs sorted by estimated end (inf when unknown), for reservations.
    ends: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    # preemptor -> its victims, in the order they were added: a dict, not a set, because
    # the order they are released in decides placements (string hashes vary per process)
    awaiting: dict[str, dict[str, None]] = field(default_factory=dict)
    # job id -> running jobs that displaced it (they are never its victims; shape memo)
    displaced: dict[str, int] = field(default_factory=dict)
    by_pool: dict[str, dict[str, None]] = field(default_factory=dict)  # pool -> running ids
    # (job id, domain level) -> (its placement, domains it touches): victim search cache
    domains: dict[tuple[str, int], tuple[Placement, tuple[int, ...]]] = field(default_factory=dict)
    # (job id, victim kind) -> victim cost; depends on `now`, so cleared every pass
    victim_costs: dict[tuple[str, str], tuple[int, float, float]] = field(default_factory=dict)
    # pool -> running spot jobs that could still be victims (the spot gate)
    spot_jobs: dict[str, int] = field(default_factory=dict)

    def _end(self, r: RunningJob) -> float:
        if r.preempted_for is not None:
            return self.now + self.grace_s
        return math.inf if r.est_end_time is None else r.est_end_time

    def _track(self, r: RunningJob, delta: int) -> None:
        entry = (self._end(r), r.job_id)
        ends = self.ends.setdefault(r.placement.pool, [])
        if delta > 0:
            insort(ends, entry)
            self.by_pool.setdefault(r.placement.pool, {})[r.job_id] = None
        else:
            self.by_pool[r.placement.pool].pop(r.job_id, None)
            i = bisect_left(ends, entry)
            if i < len(ends) and ends[i] == entry:
                del ends[i]
        self._track_rest(r, delta)

    def _track_rest(self, r: RunningJob, delta: int) -> None:
        for d in r.displaced:
            n = self.displaced.get(d, 0) + delta
            if n:
                self.displaced[d] = n
            else:
                del self.displaced[d]
        if r.preempted_for is not None:
            victims = self.awaiting.setdefault(r.preempted_for, {})
            if delta > 0:
                victims[r.job_id] = None
            else:
                victims.pop(r.job_id, None)
                if not victims:
                    del self.awaiting[r.preempted_for]
        elif r.preemptible:
            self._count(r, delta)
            if r.spot:
                pool = r.placement.pool
                self.spot_jobs[pool] = self.spot_jobs.get(pool, 0) + delta

    def add_running(self, r: RunningJob) -> None:
        self.cluster.allocate(r.job_id, r.tenant, r.placement.pool, r.placement.devices)
        self.quota.add(r.tenant, r.placement.pool, len(r.placement.devices))
        self.running[r.job_id] = r
        self._track(r, 1)

    def add_all_running(self, jobs: Iterable[RunningJob]) -> None:
        """add_running for every job of a snapshot, in order, with the same result; the bulk
        parts (device owners, quota charges, sorted end lists) done once (the rebuild runs
        every pass)."""
        jobs = list(jobs)
        cluster, running = self.cluster, self.running
        charged: dict[tuple[str, str], int] = {}
        touched: set[str] = set()
        for r in jobs:
            p = r.placement
            cluster.allocate(r.job_id, r.tenant, p.pool, p.devices, owners=False)
            key = (r.tenant, p.pool)
            charged[key] = charged.get(key, 0) + len(p.devices)
            running[r.job_id] = r
            touched.add(p.pool)
            self.ends.setdefault(p.pool, []).append((self._end(r), r.job_id))
            self.by_pool.setdefault(p.pool, {})[r.job_id] = None
            self._track_rest(r, 1)
        cluster.owner.update({d: r.job_id for r in jobs for d in r.placement.devices})
        for (tenant, pool), n in charged.items():
            self.quota.add(tenant, pool, n)
        for pool in touched:
            self.ends[pool].sort()

    def canonical_order(self) -> None:
        """Put every order that breaks ties into a form that depends only on what runs where,
        not on the order it was recorded in: GPU nodes of equal free count by node index,
        running jobs (victim candidates) and awaited victims in the snapshot's order. A
        state kept between passes and synced (incremental.Scheduler.sync) then decides
        exactly like one built fresh."""
        for index in self.cluster.pools.values():
            if isinstance(index, GpuPool):
                index.rebucket()

    def record_admitted(self, r: RunningJob) -> None:
        """A job the walk admitted (its devices and quota are already charged)."""
        self.running[r.job_id] = r
        self._track(r, 1)

    def remove_running(self, job_id: str) -> RunningJob | None:
        r = self.running.pop(job_id, None)
        if r is None:
            return None
        held = self.cluster.release(job_id)
        if held is not None:
            self.quota.add(held.tenant, held.pool, -len(held.devices))
        self._track(r, -1)
        for level in range(3):
            self.domains.pop((job_id, level), None)
        return r

    def mark_preempted(self, job_id: str, for_job: str) -> None:
        r = self.running[job_id]
        self._track(r, -1)
        self.running[job_id] = r = replace(r, preempted_for=for_job)
        self._track(r, 1)

    def _count(self, r: RunningJob, delta: int) -> None:
        per = self.victim_priorities.setdefault(r.placement.pool, {})
        n = per.get(r.priority, 0) + delta
        if n:
            per[r.priority] = n
        else:
            per.pop(r.priority, None)

    def longest_remaining(self, pool: str) -> float:
        """An upper bound on any running job's remaining time in `pool` (inf if unknown)."""
        ends = self.ends.get(pool)
        return ends[-1][0] - self.now if ends else 0.0

    def soonest_end(self, pool: str, count: int) -> float:
        """A lower bound on how long until `count` running jobs of `pool` have ended."""
        ends = self.ends.get(pool)
        if not ends or len(ends) < count:
            return math.inf
        return ends[count - 1][0] - self.now

    def any_spot(self, pool: str) -> bool:
        """Some running spot job of the pool could be a victim."""
        return self.spot_jobs.get(pool, 0) > 0

    def any_victim_below(self, pool: str, priority: int) -> bool:
        return any(p < priority for p in self.victim_priorities.get(pool, {}))


def state_from_snapshot(snapshot: Snapshot) -> PassState:
    cluster = ClusterState.from_capacity(snapshot.capacity)
    sizes = {name: p.usable_count for name, p in cluster.pools.items()}
    quota = QuotaBook(snapshot.tenants, sizes, snapshot.usage_half_life_s)
    state = PassState(
        snapshot.now,
        cluster,
        quota,
        {},
        snapshot.grace_period_s,
        snapshot.min_run_s,
        snapshot.checkpoint_interval_s,
    )
    state.add_all_running(snapshot.running)
    state.canonical_order()
    return state
