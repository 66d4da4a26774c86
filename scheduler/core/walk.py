"""The decision code every policy shares: walk the queue in the policy's order and admit,
preempt, reserve or explain each job. Both `schedule(snapshot)` and the incremental
`Scheduler` run this on a PassState; admissions and preemption marks are applied to it.

Speed: placement failures are cached per (pool, size, may-use-reservation) for the rest of
the pass (free capacity only shrinks within a pass), and a waiting job's reason is memoized
by its shape until its pool changes, so a long queue of similar jobs costs a dict lookup
each (explain_all inlines that path); preemption is tried at most MAX_PREEMPTION_ATTEMPTS
times per pass and only when some running job could be a victim.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from scheduler.core.backfill import may_use_reserved, reserve
from scheduler.core.bounds import Left, may_fit, may_reclaim, may_shorten
from scheduler.core.model import Admit, Decisions, JobRequest, Pending, Placement, Preempt
from scheduler.core.policies.base import Policy
from scheduler.core.preemption import find_victims
from scheduler.core.queue import JobQueue
from scheduler.core.quota import QuotaVerdict
from scheduler.core.remaining import queued_remaining, shorter
from scheduler.core.sizing import Option, job_options
from scheduler.core.state import PassState

MAX_PREEMPTION_ATTEMPTS = 8
NOMINATED = "nominated:"


def run_pass(state: PassState, queue: JobQueue, policy: Policy,
             explain: bool = True) -> Decisions:
    """One pass. With explain=False no Pending entries are built and the walk stops as soon
    as nothing left in the queue can start (the simulator's fast path)."""
    walk = _Walk(state, policy, explain, queue)
    state.reservations.clear()
    state.victim_costs.clear()
    try:
        if explain:
            walk.explain_all(queue.ordered_ids(state.quota, state.now, walk.skip))
        else:
            for job in queue.ordered(state.quota, state.now, walk.skip):
                if walk.consider(job):
                    break
    finally:
        for holder in list(state.nominated):
            state.cluster.release(holder)
        state.nominated.clear()
    return Decisions(tuple(walk.admits), tuple(walk.preempts), tuple(walk.pending))


class _Walk:
    def __init__(self, state: PassState, policy: Policy, explain: bool, queue: JobQueue) -> None:
        self.state = state
        self.queue = queue
        self.policy = policy
        self.explain = explain
        # Preemption is worth trying at all (the gate); may_* are the early-stop bounds.
        self.preemption = policy.preemption and (
            bool(state.quota.tenants) or policy.shortest_first
            or any(state.any_victim_below(p, queue.top_priority() or 0) for p in state.cluster.pools))
        self.may_fit = True
        self.may_preempt = self.preemption
        self.admits: list[Admit] = []
        self.preempts: list[Preempt] = []
        self.pending: list[Pending] = []
        self.position = 0
        self.blocker: str | None = None
        self.no_fit: dict[tuple[str, int, bool], str] = {}
        self.no_victims: set[tuple[str, int, int, str]] = set()
        self.reclaim_failed: dict[tuple[str, str], int] = {}   # (tenant, pool) -> smallest size
        # (tenant, pool) whose next job found nobody to outrun: later ones are longer.
        self.short_failed: set[tuple[str, str]] = set()
        self.skip: set[str] = set()   # tenants none of whose remaining jobs can start now
        self.attempts = 0
        self.deferred: dict[str, tuple[str, Option]] = {}   # pool -> reservation to compute
        self.awaiting = state.awaiting
        self.kinds = queue.kinds
        self.pools = state.cluster.pools
        # Shape memo: a job whose shape already waited since the last change to one of its
        # pools waits for the same reason (see shape()). Everything decide() reads is per
        # pool (free devices, quota and cohort usage, reservation, victims, failure caches),
        # so a change drops only the shapes of that pool (memo_pools).
        self.memo: dict[Hashable, str] = {}
        self.memo_pools: dict[str, list[Hashable]] = {}
        self.version = 0   # bumped by every change; a decide() that changed state is not memoized
        self.left = Left(queue) if not explain else None
        if not explain:
            self.refresh_bounds()

    def changed(self, pool: str) -> None:
        self.version += 1
        for shape in self.memo_pools.pop(pool, ()):
            self.memo.pop(shape, None)

    def wait(self, job: JobRequest, reason: str, infeasible: bool = False) -> None:
        if self.explain:
            self.pending.append(Pending(job.job_id, reason, self.position, infeasible))

    def explain_all(self, ids: Iterable[str]) -> None:
        """consider() every job, with the common case inline: a job with one option (a
        kind) whose shape already has a reason waits for it. At 10,000s of waiting jobs
        per pass, this loop is most of a pass's cost."""
        kinds, jobs, pools, memo = self.kinds, self.queue.jobs, self.pools, self.memo
        state = self.state
        reservations, displaced, now = state.reservations, state.displaced, state.now
        awaiting, promoted = self.awaiting, self.queue.promoted
        append, new, inf = self.pending.append, tuple.__new__, math.inf
        usable = {name: index.usable_count for name, index in pools.items()}
        for jid in ids:
            k = kinds.get(jid)
            if k is None or self.blocker is not None or self.deferred or jid in awaiting:
                self.consider(jobs[jid])
                continue
            shape, o = k
            pool = o.pool
            if o.count > usable.get(pool, -1):
                self.consider(jobs[jid])
                continue
            res = reservations.get(pool)
            if res is not None:   # may_use_reserved, inline
                start, d = res.start, o.duration_s
                shape |= (d is not None and start != inf and now + d <= start) << 2
            reason = memo.get(shape | (jid in displaced) << 1 | (jid in promoted))
            if reason is None:
                self.consider(jobs[jid])
                continue
            self.position = position = self.position + 1
            append(new(Pending, (jid, reason, position, False)))

    def consider(self, job: JobRequest) -> bool:
        """Decide one job; True stops the walk (only when nobody needs the reasons)."""
        self.position += 1
        if self.blocker is not None:
            self.wait(job, f"strict FIFO: waiting behind {self.blocker}")
            return not self.explain
        jid = job.job_id
        k = self.kinds.get(jid)
        opts: Sequence[Option] | None
        if k is not None:   # one option (the common case): options() and shape() inline
            opts = self.queue.options[jid]
            o = opts[0]
            index = self.pools.get(o.pool)
            if index is None or o.count > index.usable_count:
                self.options(job)   # records why it must wait
                return False
        else:
            opts = self.options(job)
            if opts is None:
                return False
        if self.left is not None and self.left.visit(job.tenant, opts):
            self.refresh_bounds()
        if jid in self.awaiting and self.await_victims(job, opts[0]):
            return False
        if k is not None:
            state = self.state
            if self.deferred:
                self.resolve(o.pool)
            res = state.reservations.get(o.pool)
            shape: Hashable = (
                k[0] | (res is not None and may_use_reserved(res, state.now, o)) << 2
                | (jid in state.displaced) << 1 | (jid in self.queue.promoted))
        else:
            shape = self.shape(job, opts)
        reason = self.memo.get(shape)
        if reason is None:
            version = self.version
            reason = self.decide(job, opts)
            if reason is None:
                return False
            if version == self.version:   # nothing changed while deciding: same shape, same reason
                self.memo[shape] = reason
                memo_pools = self.memo_pools
                for o in opts:
                    memo_pools.setdefault(o.pool, []).append(shape)
        if self.explain:
            self.pending.append(Pending(job.job_id, reason, self.position))
            return False
        if self.left is not None and self.left.done(job.tenant, opts):
            self.skip.add(job.tenant)
        return self.blocker is not None or not (self.may_fit or self.may_preempt)

    def decide(self, job: JobRequest, opts: Sequence[Option]) -> str | None:
        """Admit, preempt for, or explain one job; None once it is admitted or preempting."""
        reasons: list[str] = []
        placeable: Option | None = None
        for opt in opts:
            verdict, why = self.state.quota.check(job.tenant, opt.pool, opt.count)
            if verdict is not QuotaVerdict.OK:
                reasons.append(why)
                continue
            devices, why = self.place(job, opt)
            if devices is not None:
                self.admit(job, opt, devices)
                return None
            reasons.append(why)
            placeable = placeable or opt
        if self.preemption and self.try_preempt(job, opts[0]):
            return None
        if self.policy.backfill and placeable is not None:
            reasons[0] += self.reserve(job, placeable)
        if self.policy.head_of_line_blocking:
            self.blocker = job.job_id
        return "; ".join(reasons)

    def shape(self, job: JobRequest, opts: Sequence[Option]) -> Hashable:
        """Everything decide() reads of a job: tenant, priority, sizes, whether each option
        may use its pool's reservation, and whether some running job displaced it. (A job
        with one option has a kind, JobQueue.kinds: its shape is that int and three flags,
        built in consider().)"""
        state = self.state
        if self.deferred:
            for o in opts:
                self.resolve(o.pool)
        jid = job.job_id
        parts: list[Any] = [job.tenant, job.priority, jid in state.displaced,
                            jid in self.queue.promoted]
        for o in opts:
            res = state.reservations.get(o.pool)
            parts.append((o.pool, o.count, o.accelerator,
                          res is not None and may_use_reserved(res, state.now, o)))
        return tuple(parts)

    def refresh_bounds(self) -> None:
        state, queue, left = self.state, self.queue, self.left
        if left is None:
            return
        self.may_fit = any(may_fit(state, queue, left, name) for name in state.cluster.pools)
        self.may_preempt = self.preemption and self.attempts < MAX_PREEMPTION_ATTEMPTS and (
            any(state.any_victim_below(p, queue.top_priority() or 0) for p in state.cluster.pools)
            or may_reclaim(state, left, self.reclaim_failed)
            or (self.policy.shortest_first and may_shorten(state, left, self.short_failed)))

    def options(self, job: JobRequest) -> Sequence[Option] | None:
        """Options the cluster can ever hold (fastest first where the policy says so); None
        after recording why the job must wait regardless."""
        pools = self.state.cluster.pools
        given = self.queue.options.get(job.job_id) or job_options(job, self.queue.figures)
        if len(given) == 1:   # the common case, without the general path's lists
            o = given[0]
            index = pools.get(o.pool)
            if index is not None and o.count <= index.usable_count:
                return given
        opts = [o for o in given if o.pool in pools]
        if not opts:
            self.wait(job, f"infeasible: no pool serves {'|'.join(job.accelerators)}", True)
            return None
        usable = [o for o in opts if o.count <= pools[o.pool].usable_count]
        if not usable:
            o = opts[0]
            total = pools[o.pool].total_count
            if all(x.count > pools[x.pool].total_count for x in opts):
                self.wait(job, f"infeasible: needs {o.count} {o.accelerator}; pool {o.pool} has {total}", True)
            else:
                self.wait(job, f"waiting for hardware: pool {o.pool} has {pools[o.pool].usable_count} of {total} in service")
            return None
        if self.policy.fastest_option and len(usable) > 1:
            usable.sort(key=lambda o: (math.inf if o.duration_s is None else o.duration_s, o.price))
        return usable

    def resolve(self, pool: str) -> None:
        """Compute a deferred reservation once some later job wants its pool."""
        request = self.deferred.pop(pool, None)
        if request is not None:
            found = reserve(self.state, request[0], request[1])
            if found is not None:
                self.state.reservations[pool] = found
                self.changed(pool)
                if not self.explain:
                    self.refresh_bounds()

    def blocked_for(self, job: JobRequest, opt: Option) -> dict[int, int] | None:
        self.resolve(opt.pool)
        res = self.state.reservations.get(opt.pool)
        if res is None or res.job_id == job.job_id or may_use_reserved(res, self.state.now, opt):
            return None
        return res.blocked

    def place(self, job: JobRequest, opt: Option) -> tuple[tuple[str, ...] | None, str]:
        cached = self.no_fit.get((opt.pool, opt.count, True))
        if cached is not None:   # no fit on all free devices: none outside a reservation
            return None, cached
        blocked = self.blocked_for(job, opt)
        key = (opt.pool, opt.count, blocked is None)
        cached = self.no_fit.get(key)
        if cached is not None:
            return None, cached
        index = self.state.cluster.pools[opt.pool]
        devices = index.place(opt.count, blocked)
        if devices is not None:
            return devices, ""
        shape = "on one node" if index.kind == "gpu" and opt.count <= 8 else "as a compact block"
        why = (f"waiting for {opt.count} {opt.accelerator} {shape}: {index.free_count} free,"
               f" largest free block {index.largest_block()}")
        if blocked is not None:
            res = self.state.reservations[opt.pool]
            why += f" (outside devices reserved for {res.job_id})"
        self.no_fit[key] = why
        return None, why

    def admit(self, job: JobRequest, opt: Option, devices: tuple[str, ...]) -> None:
        state = self.state
        state.cluster.allocate(job.job_id, job.tenant, opt.pool, devices)
        state.quota.add(job.tenant, opt.pool, len(devices))
        res = state.reservations.get(opt.pool)
        how = "backfilled" if res is not None and res.job_id != job.job_id else "placed"
        self.admits.append(Admit(job.job_id, Placement(opt.pool, opt.accelerator, devices),
                                 f"{how} on {len(devices)} {opt.accelerator} in {opt.pool}"))
        self.changed(opt.pool)
        if not self.explain:
            self.refresh_bounds()

    def reserve(self, job: JobRequest, opt: Option) -> str:
        state = self.state
        if opt.pool in state.reservations or opt.pool in self.deferred:
            return ""
        if not self.explain:
            self.deferred[opt.pool] = (job.job_id, opt)
            self.changed(opt.pool)
            return ""
        res = reserve(state, job.job_id, opt)
        if res is None:
            return ""
        state.reservations[opt.pool] = res
        self.changed(opt.pool)
        when = "when running jobs end" if res.start == math.inf else f"at t={res.start:.0f}"
        return f"; holds a backfill reservation of {len(res.devices)} devices {when}"

    def outrun(self, job: JobRequest, opt: Option) -> float | None:
        """The waiter's remaining time if it may preempt a much longer job, else None."""
        tp = (job.tenant, opt.pool)
        if (not self.policy.shortest_first or tp in self.short_failed
                or job.job_id in self.queue.promoted):
            return None
        remaining = queued_remaining(job)
        state = self.state
        # Devices free up soon anyway (within the waiter's own remaining time): wait for them.
        if (state.soonest_end(opt.pool, opt.count) > remaining
                and shorter(remaining, state.longest_remaining(opt.pool))):
            return remaining
        self.short_failed.add(tp)
        return None

    def try_preempt(self, job: JobRequest, opt: Option) -> bool:
        state = self.state
        key = (opt.pool, opt.count, job.priority, job.tenant)
        if self.attempts >= MAX_PREEMPTION_ATTEMPTS or key in self.no_victims:
            return False
        quota = state.quota
        nominal = quota.nominal(job.tenant, opt.pool)
        within = nominal is not None and quota.used(job.tenant, opt.pool) + opt.count <= nominal
        remaining = self.outrun(job, opt)
        if not within and remaining is None and not state.any_victim_below(opt.pool, job.priority):
            return False
        self.attempts += 1
        found = find_victims(state, job, opt, self.blocked_for(job, opt), remaining,
                             self.policy.starvation_s)
        if found is None:
            self.no_victims.add(key)
            if remaining is not None:
                self.short_failed.add((job.tenant, opt.pool))
            if within:
                tp = (job.tenant, opt.pool)
                self.reclaim_failed[tp] = min(self.reclaim_failed.get(tp, opt.count), opt.count)
            if not self.explain:
                self.refresh_bounds()
            return False
        for vid in found.job_ids:
            state.mark_preempted(vid, job.job_id)
            why = _preempt_reason(found.kind, job, opt)
            self.preempts.append(Preempt(vid, why, job.job_id, state.grace_s, found.kind))
        self.nominate(job, opt.pool, found.devices)
        self.changed(opt.pool)
        if not self.explain:
            self.refresh_bounds()
        self.wait(job, f"preempting {len(found.job_ids)} job(s) ({found.kind}); starts after"
                       f" they checkpoint (grace {state.grace_s:.0f}s)")
        return True

    def nominate(self, job: JobRequest, pool: str, devices: tuple[str, ...]) -> None:
        """Hold the already-free part of the waiter's future devices for the rest of the pass."""
        free = tuple(d for d in devices if d not in self.state.cluster.owner)
        holder = NOMINATED + job.job_id
        if free:
            self.state.cluster.allocate(holder, job.tenant, pool, free)
            self.state.nominated[holder] = job.job_id

    def await_victims(self, job: JobRequest, opt: Option) -> bool:
        """The job's victims are still checkpointing: keep their devices and the free ones
        it will need for it, and say so. False if it no longer fits there."""
        state = self.state
        victims = [v for v in self.awaiting[job.job_id] if v in state.running]
        held = [(v, state.cluster.release(v)) for v in victims]
        try:   # quota is not re-checked: the victims were chosen so that it passes
            devices = state.cluster.pools[opt.pool].place(opt.count)
        finally:
            for v, h in held:
                if h is not None:
                    state.cluster.allocate(v, h.tenant, h.pool, h.devices)
        if devices is None:
            return False
        self.nominate(job, opt.pool, devices)
        self.changed(opt.pool)
        self.wait(job, f"waiting for {len(victims)} preempted job(s) to checkpoint")
        return True


def _preempt_reason(kind: str, job: JobRequest, opt: Option) -> str:
    if kind == "reclaim":
        return f"reclaim: {job.tenant} reclaims its nominal {opt.pool} quota"
    if kind == "shorter":
        return (f"shorter: {job.job_id} has far less time left"
                f" ({queued_remaining(job):.0f}s) and runs first")
    return f"priority: {job.job_id} (priority {job.priority}) needs the devices"
