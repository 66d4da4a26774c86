"""Event-driven replay of a trace in virtual time, driving the scheduling core.

Events are submissions (from the time-sorted trace), finishes, and the ends of preemption
grace periods (a heap). All events at one timestamp are applied together, then the core
runs one pass; a pass that preempted with no grace period runs again so the freed devices
are offered at once. Nothing runs between events: with no event nothing changed.

Preemption: the core's Preempt gives the victim `grace_s` to checkpoint; it keeps its
devices (and keeps working) until then. If the grace period is at least
`checkpoint_write_s` the victim writes a checkpoint at its end and loses nothing;
otherwise (a hard stop) it keeps only its last periodic checkpoint, taken every
`checkpoint_interval_s` of its run, and loses the work since. Either way it re-queues.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from scheduler.core.figures import Figures
from scheduler.core.model import (
    Capacity,
    Decisions,
    DeviceState,
    Pending,
    Placement,
    pool_for_accelerator,
)
from scheduler.core.priority import priority_value
from scheduler.simulate import throughput as tp
from scheduler.simulate.driver import DRIVERS, QUOTA_MODES, TenantUsage
from scheduler.simulate.state import ReplayResult, SimJob, Timeline
from scheduler.simulate.trace import TraceJob, tenants_of

MAX_PASSES_PER_EVENT = 4
FINISH, STOP = 0, 1  # event kinds; finishes first at equal times
# What the core is told of each job's run time (JobRequest.est_duration_s): nothing (the
# headline: production rarely knows), the trace's run time times a seeded lognormal error
# (a user's own estimate), or the trace's run time itself (an upper bound).
ESTIMATE_MODES = ("hidden", "noisy", "oracle")
DEFAULT_ESTIMATE_SIGMA = 1.0  # sigma of ln(estimate / run time): half within 0.5x-2x


class SimulationError(RuntimeError):
    """The core returned a decision the simulator cannot apply (a core bug)."""


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    policy: str = "default"
    checkpoint_interval_s: float = 1800.0
    checkpoint_write_s: float = 30.0  # a grace period this long lets the victim save
    # What the core knows of run times: one of ESTIMATE_MODES (see there).
    estimates: str = "hidden"
    estimate_sigma: float = DEFAULT_ESTIMATE_SIGMA  # "noisy": lognormal sigma of the error
    estimate_seed: int = 0  # "noisy": the error's seed (the same seed, the same estimates)
    quotas: str = "equal"  # "equal" nominal slices, or "none"
    check_conflicts: bool = True  # verify the core never double-books a device
    grace_period_s: float = 60.0  # the victim's time to checkpoint (Snapshot.grace_period_s)
    driver: str = "incremental"  # or "snapshot": a full Snapshot per pass, as the live loop
    # This fraction of the trace's jobs is preemptible (spot), drawn with its own seed.
    preemptible_fraction: float = 0.0
    preemptible_seed: int = 0
    preemptible_ids: frozenset[str] = frozenset()  # these jobs are preemptible besides


def pool_capacity(capacity: Capacity) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in capacity.tiles:
        if t.state is DeviceState.FREE:
            out[t.pool] = out.get(t.pool, 0) + 1
    for n in capacity.gpu_nodes:
        if n.state is DeviceState.FREE:
            out[n.pool] = out.get(n.pool, 0) + n.gpus - len(n.failed_gpus)
    return out


def estimates_for(trace: Sequence[TraceJob], options: ReplayOptions) -> list[float | None]:
    """Each job's est_duration_s under the options' mode (trace order; seeded)."""
    mode = options.estimates
    if mode == "hidden":
        return [None] * len(trace)
    if mode == "oracle":
        return [t.duration_s for t in trace]
    if not math.isfinite(options.estimate_sigma) or options.estimate_sigma < 0:
        raise ValueError(f"estimate sigma must be >= 0, got {options.estimate_sigma!r}")
    rng = np.random.default_rng(options.estimate_seed)
    error = np.exp(rng.normal(0.0, options.estimate_sigma, len(trace)))
    return [t.duration_s * float(e) for t, e in zip(trace, error, strict=True)]


def preemptible_for(trace: Sequence[TraceJob], options: ReplayOptions) -> list[bool]:
    """Which jobs are preemptible (spot): a seeded draw of `preemptible_fraction` of them."""
    fraction = options.preemptible_fraction
    if not (math.isfinite(fraction) and 0.0 <= fraction <= 1.0):
        raise ValueError(f"preemptible fraction must be between 0 and 1, got {fraction!r}")
    named = options.preemptible_ids
    if fraction == 0.0:
        return [t.job_id in named for t in trace]
    draws = np.random.default_rng(options.preemptible_seed).random(len(trace))
    return [bool(d < fraction) or t.job_id in named for t, d in zip(trace, draws, strict=True)]


def _sim_jobs(
    trace: Sequence[TraceJob], tenants: list[str], options: ReplayOptions, figures: Figures
) -> list[SimJob]:
    index = {t: i for i, t in enumerate(tenants)}
    jobs = []
    spot = preemptible_for(trace, options)
    for i, (t, est) in enumerate(zip(trace, estimates_for(trace, options), strict=True)):
        work = tp.work_units(t.duration_s, t.count, t.accelerators[0], figures)
        jobs.append(
            SimJob(
                i,
                t,
                priority_value(t.priority),
                index[t.tenant],
                work,
                est,
                requeued_at=t.submit_s,
                spot=spot[i],
            )
        )
    return jobs


class Replay:
    """One replay of one trace under one policy. Use `run()`."""

    def __init__(
        self,
        trace: Sequence[TraceJob],
        capacity: Capacity,
        options: ReplayOptions,
        on_finish: Callable[[int], None] | None = None,
    ) -> None:
        if options.estimates not in ESTIMATE_MODES:
            raise ValueError(
                f"unknown estimate mode {options.estimates!r} (known: {', '.join(ESTIMATE_MODES)})"
            )
        if options.quotas not in QUOTA_MODES:
            raise ValueError(
                f"unknown quota mode {options.quotas!r} (known: {', '.join(QUOTA_MODES)})"
            )
        self.options = options
        self.tenants = tenants_of(trace)
        self.pools = pool_capacity(capacity)
        self.figures = capacity.figures  # the core's own: simulated and estimated agree
        self.jobs = _sim_jobs(trace, self.tenants, options, self.figures)
        self.by_id = {j.trace.job_id: j for j in self.jobs}
        quotas = QUOTA_MODES[options.quotas](self.tenants, self.pools)
        self.entitlements = {t: dict(q.nominal) for t, q in quotas.items()}
        self.usage = TenantUsage(self.tenants, quotas, self.pools)
        self.driver = DRIVERS[options.driver](
            capacity,
            self.usage,
            options.policy,
            options.checkpoint_interval_s,
            options.grace_period_s,
        )
        self.queued: dict[int, SimJob] = {}
        self.running: dict[int, SimJob] = {}
        self.busy_devices: set[str] = set()
        self.events: list[tuple[float, int, int, int]] = []  # (time, kind, job index, epoch)
        self.timeline = Timeline(capacity=sum(self.pools.values()))
        self.tenant_alloc: dict[tuple[int, int], int] = {}
        self.tenant_demand: dict[tuple[int, int], int] = {}
        self.on_finish = on_finish
        self.passes = 0
        self.preemptions = 0
        self.busy = 0
        self.last_pending: tuple[Pending, ...] = ()
        self.next_submit = 0
        self.pool_index = {p: i for i, p in enumerate(sorted(self.pools))}

    def run(self) -> ReplayResult:
        started, cpu = time.perf_counter(), time.process_time()
        now = self._replay_events()
        # Jobs still queued once no event is left can never start: ask the core why (a pass
        # that explains); should it start some after all, carry on.
        while self.queued and self._explain(now):
            now = self._replay_events()
        result = self._result(time.perf_counter() - started)
        result.cpu_s = time.process_time() - cpu
        return result

    def _replay_events(self) -> float:
        jobs, n = self.jobs, len(self.jobs)
        now, inf = 0.0, float("inf")
        while self.next_submit < n or self.events:
            now = min(
                jobs[self.next_submit].trace.submit_s if self.next_submit < n else inf,
                self.events[0][0] if self.events else inf,
            )
            while self.events and self.events[0][0] <= now:
                _, kind, idx, epoch = heapq.heappop(self.events)
                job = jobs[idx]
                if job.epoch == epoch and idx in self.running:
                    self._finish(job, now) if kind == FINISH else self._stop_preempted(job, now)
            while self.next_submit < n and jobs[self.next_submit].trace.submit_s <= now:
                self._enqueue(jobs[self.next_submit], now)
                self.next_submit += 1
            self._schedule(now)
            self.timeline.record(now, self.busy, len(self.queued))
        return now

    def _explain(self, now: float) -> bool:
        decisions = self.driver.decide(now, self.running.values(), explain=True)
        self.passes += 1
        self.last_pending = decisions.pending
        self._apply(decisions, now)
        return bool(decisions.admits or decisions.preemptions)

    # -- passes ---------------------------------------------------------------------------

    def _schedule(self, now: float) -> None:
        for _ in range(MAX_PASSES_PER_EVENT):
            if not self.queued:
                return
            decisions = self.driver.decide(now, self.running.values())
            self.passes += 1
            self.last_pending = decisions.pending
            if not self._apply(decisions, now):
                return

    def _apply(self, decisions: Decisions, now: float) -> bool:
        """Applies preemptions then admissions; True when devices were freed at once."""
        freed = False
        for p in decisions.preemptions:
            job = self.by_id.get(p.job_id)
            if job is None or job.index not in self.running:
                raise SimulationError(f"core preempted {p.job_id!r}, which is not running")
            if job.preempted_for is not None:
                continue  # already checkpointing
            self.preemptions += 1
            job.preempted_for = p.for_job_id or "operator"
            waiter = self.by_id.get(p.for_job_id) if p.for_job_id else None
            if waiter is not None:
                waiter.displaced.add(job.trace.job_id)
            job.saves_on_stop = p.grace_s >= self.options.checkpoint_write_s
            if p.grace_s > 0:
                heapq.heappush(self.events, (now + p.grace_s, STOP, job.index, job.epoch))
            else:
                self._stop_preempted(job, now)
                freed = True
        for a in decisions.admits:
            job = self.by_id.get(a.job_id)
            if job is None or job.index not in self.queued:
                raise SimulationError(f"core admitted {a.job_id!r}, which is not queued")
            self._start(job, a.placement, now)
        return freed

    # -- transitions ----------------------------------------------------------------------

    def _enqueue(self, job: SimJob, now: float) -> None:
        job.requeued_at = now
        self.queued[job.index] = job
        self.driver.enqueue(job)
        self._tenant(job, now, self._first_pool(job), demand=job.trace.count)

    def _start(self, job: SimJob, placement: Placement, now: float) -> None:
        if self.options.check_conflicts:
            clash = self.busy_devices.intersection(placement.devices)
            if clash:
                raise SimulationError(
                    f"core placed {job.trace.job_id!r} on busy {sorted(clash)[:3]}"
                )
            self.busy_devices.update(placement.devices)
        del self.queued[job.index]
        self.driver.admitted(job)
        job.placement = placement
        job.accelerator = placement.accelerator
        job.start = now
        if job.first_start is None:
            job.first_start = now
        n = len(placement.devices)
        job.rate = n * self.figures.throughput(placement.accelerator)
        job.end = now + (job.work - job.done) / job.rate
        self.running[job.index] = job
        heapq.heappush(self.events, (job.end, FINISH, job.index, job.epoch))
        self.busy += n
        self.usage.change(job.trace.tenant, placement.pool, n, now)
        first = self._first_pool(job)
        if placement.pool == first:
            self._tenant(job, now, first, alloc=n, demand=n - job.trace.count)
        else:  # demand moves to the pool it runs in
            self._tenant(job, now, first, demand=-job.trace.count)
            self._tenant(job, now, placement.pool, alloc=n, demand=n)

    def _release(self, job: SimJob, now: float) -> int:
        placement = job.placement
        assert placement is not None
        n = len(placement.devices)
        elapsed = now - job.start
        job.run_s += elapsed
        job.attained_s += elapsed * n
        if self.options.check_conflicts:
            self.busy_devices.difference_update(placement.devices)
        del self.running[job.index]
        self.driver.released(job)
        self.busy -= n
        self.usage.change(job.trace.tenant, placement.pool, -n, now)
        self._tenant(job, now, placement.pool, alloc=-n, demand=-n)
        job.placement = None
        job.preempted_for = None
        job.displaced.clear()
        return n

    def _finish(self, job: SimJob, now: float) -> None:
        self._release(job, now)
        job.done = job.work
        job.finish = now
        if self.on_finish:
            self.on_finish(1)

    def _stop_preempted(self, job: SimJob, now: float) -> None:
        elapsed = now - job.start
        ckpt = self.options.checkpoint_interval_s
        hard = not job.saves_on_stop and ckpt > 0
        saved = (elapsed // ckpt) * ckpt if hard else elapsed
        job.done = min(job.work, job.done + saved * job.rate)
        job.lost_s += elapsed - saved
        job.preemptions += 1
        job.epoch += 1
        self._release(job, now)
        self._enqueue(job, now)

    def _first_pool(self, job: SimJob) -> str:
        return pool_for_accelerator(job.trace.accelerators[0])

    def _tenant(self, job: SimJob, now: float, pool: str, alloc: int = 0, demand: int = 0) -> None:
        """Records the tenant's allocated and demanded devices in `pool` (for fairness)."""
        p = self.pool_index.get(pool)
        if p is None:
            return  # a pool the cluster lacks: the job is infeasible, nobody owes it
        key = (job.tenant_index, p)
        alloc_now = self.tenant_alloc.get(key, 0) + alloc
        demand_now = self.tenant_demand.get(key, 0) + demand
        self.tenant_alloc[key] = alloc_now
        self.tenant_demand[key] = demand_now
        self.timeline.tenant_changes.append((now, job.tenant_index, p, alloc_now, demand_now))

    def _result(self, wall_s: float) -> ReplayResult:
        unfinished = sum(1 for j in self.jobs if j.finish is None)
        reasons: dict[str, int] = {}
        for p in self.last_pending:
            job = self.by_id.get(p.job_id)
            if job is not None and job.finish is None:
                reasons[p.reason] = reasons.get(p.reason, 0) + 1
        return ReplayResult(
            policy=self.options.policy,
            estimates=self.options.estimates,
            estimate_sigma=self.options.estimate_sigma
            if self.options.estimates == "noisy"
            else None,
            jobs=self.jobs,
            tenants=self.tenants,
            timeline=self.timeline,
            pool_capacity=self.pools,
            passes=self.passes,
            preemptions=self.preemptions,
            wall_s=wall_s,
            unfinished=unfinished,
            checkpoint_interval_s=self.options.checkpoint_interval_s,
            unfinished_reasons=reasons,
            pools_order=sorted(self.pools),
            entitlements=self.entitlements,
        )


def replay(
    trace: Sequence[TraceJob],
    capacity: Capacity,
    options: ReplayOptions,
    on_finish: Callable[[int], None] | None = None,
) -> ReplayResult:
    return Replay(trace, capacity, options, on_finish).run()
