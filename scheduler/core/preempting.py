"""The walk's preemption phase: whether a waiting job may stop others at all, the search
for victims (scheduler.core.preemption) at most MAX_PREEMPTION_ATTEMPTS times per pass and
only when some running job could be one, marking the victims, and the waiters whose victims
are still checkpointing. Failures are remembered per (pool, size, priority, tenant, LAS
queue) so that similar waiters skip the search, and feed the walk's early-stop bound
(may_preempt).

Least attained service (Policy.las): a waiter below the last queue looks for "service"
victims, except after a waiter of its tenant and pool with no higher queue and no larger
size found none in this pass.
"""

from __future__ import annotations

from scheduler.core.backfill import BackfillPhase
from scheduler.core.migration import find_migration
from scheduler.core.model import JobRequest, Preempt
from scheduler.core.preemption import Victims, find_victims
from scheduler.core.remaining import queued_remaining, shorter
from scheduler.core.sizing import Option
from scheduler.core.state import PassState

MAX_PREEMPTION_ATTEMPTS = 8
MAX_MIGRATION_ATTEMPTS = 4  # Policy.migration: searches per pass (scheduler.core.migration)
NOMINATED = "nominated:"


class PreemptionPhase(BackfillPhase):
    preemption: bool  # preemption is worth trying at all in this pass (the gate)
    preempts: list[Preempt]
    attempts: int
    no_victims: set[tuple[str, int, int, str, int | None, bool]]
    reclaim_failed: dict[tuple[str, str], int]  # (tenant, pool) -> smallest size
    # (tenant, pool) whose next job found nobody to outrun: later ones are longer.
    short_failed: set[tuple[str, str]]
    # (tenant, pool) -> (LAS queue, size) of a waiter that found no service victims.
    service_failed: dict[tuple[str, str], tuple[int, int]]
    migrations: int  # migration searches in this pass
    migrate_failed: dict[str, int]  # pool -> smallest size that found no node to empty

    def init_preemption(self) -> None:
        state, queue, policy = self.state, self.queue, self.policy
        self.preemption = policy.preemption and (
            bool(state.quota.tenants)
            or policy.shortest_first
            or policy.las is not None
            or any(
                state.any_victim_below(p, queue.top_priority() or 0) or state.any_spot(p)
                for p in state.cluster.pools
            )
        )
        self.preempts = []
        self.attempts = 0
        self.no_victims = set()
        self.reclaim_failed = {}
        self.short_failed = set()
        self.service_failed = {}
        self.migrations = 0
        self.migrate_failed = {}

    def outrun(self, job: JobRequest, opt: Option) -> float | None:
        """The waiter's remaining time if it may preempt a much longer job, else None."""
        tp = (job.tenant, opt.pool)
        if (
            not self.policy.shortest_first
            or tp in self.short_failed
            or job.job_id in self.queue.promoted
            # least attained service decides for a waiter without an estimate
            or (self.policy.las is not None and job.est_duration_s is None)
        ):
            return None
        remaining = queued_remaining(job)
        state = self.state
        # Devices free up soon anyway (within the waiter's own remaining time): wait for them.
        if state.soonest_end(opt.pool, opt.count) > remaining and shorter(
            remaining, state.longest_remaining(opt.pool)
        ):
            return remaining
        self.short_failed.add(tp)
        return None

    def lower_queue(self, job: JobRequest, opt: Option) -> int | None:
        """The waiter's LAS queue if service preemption is worth a search for it: the
        policy has it, there is a queue above, and no waiter of its tenant and pool with no
        higher queue and no larger size found a victim in this pass."""
        las = self.policy.las
        if las is None or (self.policy.las_unknown_only and job.est_duration_s is not None):
            return None
        level = las.queued_level(job)
        if level >= len(las.thresholds) or not self.state.by_pool.get(opt.pool):
            return None
        failed = self.service_failed.get((job.tenant, opt.pool))
        if failed is not None and level >= failed[0] and opt.count >= failed[1]:
            return None
        return level

    def try_preempt(self, job: JobRequest, opt: Option) -> str | None:
        """Choose and mark victims for `job`'s `opt`; the waiter's reason if it found some."""
        state = self.state
        las = self.policy.las
        level = None if las is None else las.queued_level(job)
        key = (opt.pool, opt.count, job.priority, job.tenant, level, job.spot)
        if self.attempts >= MAX_PREEMPTION_ATTEMPTS or key in self.no_victims:
            return None
        quota = state.quota
        nominal = quota.nominal(job.tenant, opt.pool)
        within = nominal is not None and quota.used(job.tenant, opt.pool) + opt.count <= nominal
        remaining = self.outrun(job, opt)
        level = self.lower_queue(job, opt)
        if (
            not within
            and remaining is None
            and level is None
            and not state.any_victim_below(opt.pool, job.priority)
            and (job.spot or not state.any_spot(opt.pool))
        ):
            return None
        self.attempts += 1
        found = find_victims(
            state,
            job,
            opt,
            self.blocked_for(job, opt),
            remaining,
            self.policy.starvation_s,
            level,
            las,
            self.policy.las_unknown_only,
            self.policy.fair_share,
            self.policy.las_reclaim,
        )
        if found is None:
            self.no_victims.add(key)
            if remaining is not None:
                self.short_failed.add((job.tenant, opt.pool))
            if level is not None:
                tp = (job.tenant, opt.pool)
                was = self.service_failed.get(tp)
                if was is None or (level <= was[0] and opt.count <= was[1]):
                    self.service_failed[tp] = (level, opt.count)
            if within:
                tp = (job.tenant, opt.pool)
                self.reclaim_failed[tp] = min(self.reclaim_failed.get(tp, opt.count), opt.count)
            if not self.explain:
                self.refresh_bounds()
            return None
        return self.mark(job, opt, found)

    def try_migrate(self, job: JobRequest, opt: Option) -> str | None:
        """Policy.migration: empty a node for `job` by moving smaller jobs into free GPUs
        elsewhere (scheduler.core.migration); the waiter's reason if it found one."""
        if (
            opt.count < 2  # a one-device waiter fits in any hole
            or self.migrations >= MAX_MIGRATION_ATTEMPTS
            or opt.count >= self.migrate_failed.get(opt.pool, 1 << 30)
            or self.state.cluster.pools[opt.pool].free_count < opt.count
        ):
            return None
        self.migrations += 1
        found = find_migration(self.state, job, opt, self.blocked_for(job, opt))
        if found is None:
            self.migrate_failed[opt.pool] = opt.count
            if not self.explain:
                self.refresh_bounds()
            return None
        return self.mark(job, opt, found)

    def mark(self, job: JobRequest, opt: Option, found: Victims) -> str:
        """Stop `found`'s jobs for `job` and hold its future devices for the pass."""
        state = self.state
        for vid in found.job_ids:
            state.mark_preempted(vid, job.job_id)
            why = preempt_reason(found.kind, job, opt)
            self.preempts.append(Preempt(vid, why, job.job_id, state.grace_s, found.kind))
        nominate(state, job, opt.pool, found.devices)
        self.changed(opt.pool)
        if not self.explain:
            self.refresh_bounds()
        return (
            f"preempting {len(found.job_ids)} job(s) ({found.kind}); starts after"
            f" they checkpoint (grace {state.grace_s:.0f}s)"
        )

    def await_victims(self, job: JobRequest, opt: Option) -> str | None:
        """The job's victims are still checkpointing: keep their devices and the free ones
        it will need for it, and say so. None if it no longer fits there."""
        state = self.state
        victims = [v for v in state.awaiting[job.job_id] if v in state.running]
        held = [(v, state.cluster.release(v)) for v in victims]
        try:  # quota is not re-checked: the victims were chosen so that it passes
            devices = state.cluster.pools[opt.pool].place(opt.count)
        finally:
            for v, h in held:
                if h is not None:
                    state.cluster.allocate(v, h.tenant, h.pool, h.devices)
        if devices is None:
            return None
        nominate(state, job, opt.pool, devices)
        self.changed(opt.pool)
        return f"waiting for {len(victims)} preempted job(s) to checkpoint"


def nominate(state: PassState, job: JobRequest, pool: str, devices: tuple[str, ...]) -> None:
    """Hold the already-free part of the waiter's future devices for the rest of the pass
    (run_pass releases them at its end)."""
    free = tuple(d for d in devices if d not in state.cluster.owner)
    holder = NOMINATED + job.job_id
    if free:
        state.cluster.allocate(holder, job.tenant, pool, free)
        state.nominated[holder] = job.job_id


def preempt_reason(kind: str, job: JobRequest, opt: Option) -> str:
    if kind == "preemptible":
        return f"preemptible: {job.job_id} needs {opt.pool} capacity and this job is preemptible"
    if kind == "reclaim":
        return f"reclaim: {job.tenant} reclaims its nominal {opt.pool} quota"
    if kind == "shorter":
        return (
            f"shorter: {job.job_id} has far less time left"
            f" ({queued_remaining(job):.0f}s) and runs first"
        )
    if kind == "migrate":
        return (
            f"migrate: {job.job_id} needs {opt.count} GPUs on one node; this job resumes"
            " from its checkpoint on free GPUs of another node"
        )
    if kind == "service":
        return (
            f"service: {job.job_id} has had less service"
            f" ({job.attained_service_s:.0f} device-s) and runs first"
        )
    return f"priority: {job.job_id} (priority {job.priority}) needs the devices"
