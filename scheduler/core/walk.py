"""The decision code every policy shares: walk the queue in the policy's order and admit,
preempt, reserve or explain each job. Both `schedule(snapshot)` and the incremental
`Scheduler` run this on a PassState; admissions and preemption marks are applied to it.

A job goes through the phases in order, each a unit of its own:
  1. feasibility (feasibility.py): the options its pools can hold at all, else INFEASIBLE
     or HARDWARE_OUT_OF_SERVICE;
  2. admission (admission.py): quota, then placement outside other jobs' reservations, on
     the first option that passes both;
  3. preemption (preempting.py): victims for its first option, or the victims it already
     waits for;
  4. backfill (backfill.py): the first waiter of a pool reserves it;
  5. the reason it waits (a Pending with a ReasonCode), memoized by its shape.
Phases 2-4 are mixins of the one walk object (phase.py says why); this module holds the
driver: the order, the memo, strict FIFO's blocker and the early-stop bounds of a pass that
needs no reasons.

Speed: a waiting job's reason is memoized by its shape until its pool changes, so a long
queue of similar jobs costs a dict lookup each (explain_all inlines that path, and
consider() the common one-option case: method calls there cost measurably at 10,000s of
jobs per pass).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from scheduler.core.admission import AdmissionPhase
from scheduler.core.backfill import may_use_reserved
from scheduler.core.bounds import Left, may_fit, may_migrate, may_reclaim, may_serve, may_shorten
from scheduler.core.feasibility import Refusal, usable_options
from scheduler.core.model import Decisions, JobRequest, Pending, ReasonCode
from scheduler.core.policies.base import Policy
from scheduler.core.preempting import (
    MAX_MIGRATION_ATTEMPTS,
    MAX_PREEMPTION_ATTEMPTS,
    PreemptionPhase,
)
from scheduler.core.queue import JobQueue
from scheduler.core.sizing import Option, job_options
from scheduler.core.state import PassState

Reason = tuple[str, ReasonCode]
# Module constants, not ReasonCode.X at each use: reading an Enum member off its class costs
# about ten times a global, and these are read per job.
HEAD_OF_LINE_BLOCKED, PREEMPTING = ReasonCode.HEAD_OF_LINE_BLOCKED, ReasonCode.PREEMPTING
HOLDS_RESERVATION, WAITING_FOR_VICTIMS = (
    ReasonCode.HOLDS_RESERVATION,
    ReasonCode.WAITING_FOR_VICTIMS,
)


def run_pass(state: PassState, queue: JobQueue, policy: Policy, explain: bool = True) -> Decisions:
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


class _Walk(AdmissionPhase, PreemptionPhase):
    """One pass's walk: the driver here, the phases' methods and state from its mixins."""

    def __init__(self, state: PassState, policy: Policy, explain: bool, queue: JobQueue) -> None:
        self.state = state
        self.queue = queue
        self.policy = policy
        self.explain = explain
        self.init_backfill()
        self.init_admission()
        self.init_preemption()
        # may_* are the early-stop bounds (explain=False).
        self.may_fit = True
        self.may_preempt = self.preemption
        self.pending: list[Pending] = []
        self.position = 0
        self.blocker: str | None = None
        self.skip: set[str] = set()  # tenants none of whose remaining jobs can start now
        self.awaiting = state.awaiting
        self.kinds = queue.kinds
        self.pools = state.cluster.pools
        # Shape memo: a job whose shape already waited since the last change to one of its
        # pools waits for the same reason (see shape()). Everything decide() reads is per
        # pool (free devices, quota and cohort usage, reservation, victims, failure caches),
        # so a change drops only the shapes of that pool (memo_pools).
        self.memo: dict[Hashable, Reason] = {}
        self.memo_pools: dict[str, list[Hashable]] = {}
        self.version = 0  # bumped by every change; a decide() that changed state is not memoized
        self.left = Left(queue) if not explain else None
        if not explain:
            self.refresh_bounds()

    def changed(self, pool: str) -> None:
        self.version += 1
        for shape in self.memo_pools.pop(pool, ()):
            self.memo.pop(shape, None)

    def wait(
        self, job: JobRequest, reason: str, code: ReasonCode, infeasible: bool = False
    ) -> None:
        if self.explain:  # tuple.__new__: Pending's own __new__ is Python code
            self.pending.append(
                tuple.__new__(Pending, (job.job_id, reason, self.position, infeasible, code))
            )

    def explain_all(self, ids: Iterable[str]) -> None:
        """consider() every job, with the common case inline: a job with one option (a
        kind) whose shape already has a reason waits for it. At 10,000s of waiting jobs
        per pass, this loop is most of a pass's cost."""
        kinds, jobs, pools, memo = self.kinds, self.queue.jobs, self.pools, self.memo
        state = self.state
        reservations, displaced, now = state.reservations, state.displaced, state.now
        awaiting, promoted = self.awaiting, self.queue.promoted
        deferred = self.deferred
        append, new, inf = self.pending.append, tuple.__new__, float("inf")
        usable = {name: index.usable_count for name, index in pools.items()}
        for jid in ids:
            k = kinds.get(jid)
            if k is None or self.blocker is not None or deferred or jid in awaiting:
                self.consider(jobs[jid])
                continue
            shape, o = k
            pool = o.pool
            if o.count > usable.get(pool, -1):
                self.consider(jobs[jid])
                continue
            res = reservations.get(pool)
            if res is not None:  # may_use_reserved, inline
                start, d = res.start, o.duration_s
                shape |= (d is not None and start != inf and now + d <= start) << 2
            known = memo.get(shape | (jid in displaced) << 1 | (jid in promoted))
            if known is None:
                self.consider(jobs[jid])
                continue
            self.position = position = self.position + 1
            reason, code = known
            append(new(Pending, (jid, reason, position, False, code)))

    def consider(self, job: JobRequest) -> bool:
        """Decide one job; True stops the walk (only when nobody needs the reasons). Kept
        in one piece, with options() and shape() inline for one-option jobs: a pass that
        needs no reasons (the simulator's) runs it for every job it visits."""
        self.position += 1
        if self.blocker is not None:
            self.wait(job, f"strict FIFO: waiting behind {self.blocker}", HEAD_OF_LINE_BLOCKED)
            return not self.explain
        jid = job.job_id
        k = self.kinds.get(jid)
        opts: Sequence[Option] | None
        if k is not None:  # one option (the common case): options() and shape() inline
            opts = self.queue.options[jid]
            o = opts[0]
            index = self.pools.get(o.pool)
            if index is None or o.count > index.usable_count:
                self.options(job)  # records why it must wait
                return False
        else:
            opts = self.options(job)
            if opts is None:
                return False
        if self.left is not None and self.left.visit(job.tenant, opts):
            self.refresh_bounds()
        if jid in self.awaiting and self.awaits_victims(job, opts[0]):
            return False
        if k is not None:
            state = self.state
            if self.deferred:
                self.resolve(o.pool)
            res = state.reservations.get(o.pool)
            shape: Hashable = (
                k[0]
                | (res is not None and may_use_reserved(res, state.now, o)) << 2
                | (jid in state.displaced) << 1
                | (jid in self.queue.promoted)
            )
        else:
            shape = self.shape(job, opts)
        known = self.memo.get(shape)
        if known is None:
            version = self.version
            known = self.decide(job, opts)
            if known is None:
                return False
            if version == self.version:  # nothing changed while deciding: same shape, same reason
                self.remember(shape, known, opts)
        if self.explain:
            self.pending.append(
                tuple.__new__(Pending, (jid, known[0], self.position, False, known[1]))
            )
            return False
        if self.left is not None and self.left.done(job.tenant, opts):
            self.skip.add(job.tenant)
        return self.blocker is not None or not (self.may_fit or self.may_preempt)

    def awaits_victims(self, job: JobRequest, opt: Option) -> bool:
        why = self.await_victims(job, opt)
        if why is None:
            return False
        self.wait(job, why, WAITING_FOR_VICTIMS)
        return True

    def remember(self, shape: Hashable, known: Reason, opts: Sequence[Option]) -> None:
        self.memo[shape] = known
        memo_pools = self.memo_pools
        for o in opts:
            memo_pools.setdefault(o.pool, []).append(shape)

    def decide(self, job: JobRequest, opts: Sequence[Option]) -> Reason | None:
        """Admit, preempt for, or explain one job; None once it is admitted or preempting."""
        failed = self.admit_first(job, opts)
        if failed is None:
            return None
        reasons, code, placeable = failed
        if self.policy.migration and placeable is not None:
            why = self.try_migrate(job, placeable)
            if why is not None:
                self.wait(job, why, PREEMPTING)
                return None
        if self.preemption:
            why = self.try_preempt(job, opts[0])
            if why is not None:
                self.wait(job, why, PREEMPTING)
                return None
        if self.policy.backfill and placeable is not None:
            held = self.hold(job, placeable)
            if held:
                reasons[0] += held
                code = HOLDS_RESERVATION
        if self.policy.head_of_line_blocking:
            self.blocker = job.job_id
        return "; ".join(reasons), code

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
        parts: list[Any] = [
            job.tenant,
            job.priority,
            jid in state.displaced,
            jid in self.queue.promoted,
        ]
        for o in opts:
            res = state.reservations.get(o.pool)
            parts.append(
                (
                    o.pool,
                    o.count,
                    o.accelerator,
                    res is not None and may_use_reserved(res, state.now, o),
                )
            )
        return tuple(parts)

    def refresh_bounds(self) -> None:
        """Recompute the early-stop bounds (a pass that explains has none)."""
        state, queue, left = self.state, self.queue, self.left
        if left is None:
            return
        self.may_fit = any(may_fit(state, queue, left, name) for name in state.cluster.pools)
        # Only `may_fit or may_preempt` is ever read, and both are recomputed together
        # here: when some job may fit, the (costlier) preemption bound is not needed.
        self.may_preempt = (
            not self.may_fit
            and self.preemption
            and self.attempts < MAX_PREEMPTION_ATTEMPTS
            and (
                any(
                    state.any_victim_below(p, queue.top_priority() or 0)
                    for p in state.cluster.pools
                )
                or may_reclaim(state, left, self.reclaim_failed)
                or (self.policy.shortest_first and may_shorten(state, left, self.short_failed))
                or (self.policy.las is not None and may_serve(state, left, self.service_failed))
            )
        ) or (
            self.policy.migration
            and self.migrations < MAX_MIGRATION_ATTEMPTS
            and may_migrate(state, left, self.migrate_failed)
        )

    def options(self, job: JobRequest) -> Sequence[Option] | None:
        """Options the cluster can ever hold (fastest first where the policy says so); None
        after recording why the job must wait regardless."""
        given = self.queue.options.get(job.job_id) or job_options(job, self.queue.figures)
        usable = usable_options(job, given, self.pools, self.policy.fastest_option)
        if isinstance(usable, Refusal):
            self.wait(job, usable.reason, usable.code, usable.infeasible)
            return None
        return usable
