"""Incremental API: a Scheduler that keeps its indexed state between passes.

For the trace simulator (and any driver that owns the truth itself), rebuilding a Snapshot
for every event is wasteful. A Scheduler holds the free-capacity index, quota usage and
running jobs, and runs the same decision code as `schedule(snapshot)`:

    s = Scheduler(capacity, policy="default", tenants={...}, grace_period_s=60)
    s.submit(job)                      # JobRequest; est_duration_s feeds backfill
    d = s.schedule(now)                # Decisions; admits are applied (jobs now run),
                                       # preempted jobs keep devices, marked preempted_for
    s.finish(job_id)                   # a running job ended: frees its devices
    r = s.stop(job_id)                 # a preempted (or requeued) job stopped after its
                                       # checkpoint: frees devices, returns its RunningJob;
                                       # resubmit it (attained_service_s updated) to requeue
    s.checkpoint(job_id, t)            # a running job saved a checkpoint at t
    s.cancel(job_id)                   # queued or running: gone
    s.set_usage({tenant: decayed})     # refresh TenantQuota.decayed_usage (fair share)
    s.snapshot(now)                    # the equivalent immutable Snapshot
    s.sync(snapshot)                   # make the kept state equal to a Snapshot

The live loop, where the database is the truth, keeps one Scheduler between passes (see
`Following`): each pass syncs it to the new Snapshot and runs the same pass, with the same
decisions, as `schedule(snapshot)`, without re-sorting 10,000s of waiting jobs each time.

With `checkpoint_interval_s` the core assumes each running job checkpoints that often from
its start, so drivers need not report periodic checkpoints. `min_run_s` is the minimum run
time before a job may be reclaimed or outrun (Snapshot.min_run_s).

`schedule(now, explain=False)` skips Pending entries (and stops early under strict FIFO);
pass explain=True to get a reason and position for every waiting job. A job placed by
preempting others remembers them (RunningJob.displaced), so they never preempt it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from operator import attrgetter

from scheduler.core.model import Capacity, Decisions, JobRequest, RunningJob, Snapshot, TenantQuota
from scheduler.core.policies import get_policy
from scheduler.core.queue import JobQueue
from scheduler.core.remaining import queued_remaining
from scheduler.core.sizing import job_options
from scheduler.core.state import state_from_snapshot
from scheduler.core.walk import run_pass

_JOB_ID = attrgetter("job_id")


def _quotas(tenants: Mapping[str, TenantQuota]) -> dict[str, TenantQuota]:
    """Quotas without their decayed usage (which changes every pass; set_usage takes it)."""
    return {t: replace(q, decayed_usage=0.0) for t, q in tenants.items()}


class Scheduler:
    def __init__(
        self,
        capacity: Capacity,
        policy: str = "default",
        tenants: Mapping[str, TenantQuota] | None = None,
        grace_period_s: float = 60.0,
        min_run_s: float = 300.0,
        checkpoint_interval_s: float | None = None,
    ) -> None:
        self.capacity = capacity
        self.tenants: dict[str, TenantQuota] = dict(tenants or {})
        self.policy = get_policy(policy)
        self.state = state_from_snapshot(
            Snapshot(
                0.0,
                capacity,
                tenants=self.tenants,
                grace_period_s=grace_period_s,
                min_run_s=min_run_s,
                checkpoint_interval_s=checkpoint_interval_s,
            )
        )
        self.queue = JobQueue(self.policy, figures=capacity.figures)
        self._victims_of: dict[str, set[str]] = {}

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot, policy: str = "default") -> Scheduler:
        s = cls(snapshot.capacity, policy)
        s.sync(snapshot)
        return s

    def sync(self, snapshot: Snapshot) -> None:
        """Make the kept state equal to `snapshot`: only the running and queued jobs that
        differ are replaced (new capacity, quotas other than decayed usage, or pass settings
        rebuild the state instead), and every order that breaks ties is then put back into
        the form a fresh build has (PassState.canonical_order), so the next pass decides
        exactly what `schedule(snapshot)` would."""
        st = self.state
        settings = (
            snapshot.grace_period_s,
            snapshot.usage_half_life_s,
            snapshot.min_run_s,
            snapshot.checkpoint_interval_s,
        )
        if (
            (snapshot.capacity is self.capacity or snapshot.capacity == self.capacity)
            and settings
            == (st.grace_s, st.quota.half_life_s, st.min_run_s, st.checkpoint_interval_s)
            and _quotas(snapshot.tenants) == _quotas(self.tenants)
        ):
            self._sync_running(snapshot)
            self.set_usage({t: q.decayed_usage for t, q in snapshot.tenants.items()})
        else:
            self.capacity = snapshot.capacity
            self.tenants = dict(snapshot.tenants)
            if snapshot.capacity.figures != self.queue.figures:  # options priced anew
                self.queue = JobQueue(
                    self.policy, self.queue.jobs.values(), figures=snapshot.capacity.figures
                )
            domains = st.domains
            self.state = st = state_from_snapshot(
                replace(snapshot, queued=(), tenants=self.tenants)
            )
            # victim-search cache: valid while a job keeps its placement (checked on use)
            st.domains = {k: v for k, v in domains.items() if k[0] in st.running}
        self._victims_of.clear()  # the snapshot's RunningJob.displaced is the truth
        queue, kept = self.queue, self.queue.jobs.get
        for job in [j for j in snapshot.queued if kept(j.job_id) != j]:  # new or changed
            queue.add(job)
        ids = set(map(_JOB_ID, snapshot.queued))
        if len(queue.jobs) > len(ids):
            for jid in [j for j in queue.jobs if j not in ids]:
                queue.remove(jid)

    def _sync_running(self, snapshot: Snapshot) -> None:
        st, cluster = self.state, self.state.cluster
        # Devices the last pass admitted jobs to (or held for them): the snapshot says
        # where those run now.
        for jid in [j for j in cluster.holdings if j not in st.running]:
            held = cluster.release(jid)
            if held is not None:
                st.quota.add(held.tenant, held.pool, -len(held.devices))
        new = {r.job_id: r for r in snapshot.running}
        # A checkpointing victim's end is `now` + grace: it moves with the clock, so it is
        # always replaced (removed while `now` is still the one it was added at).
        for jid in [
            j for j, r in st.running.items() if r.preempted_for is not None or new.get(j) != r
        ]:
            st.remove_running(jid)
        st.now = snapshot.now
        for r in snapshot.running:
            if r.job_id not in st.running:
                st.add_running(r)
        # The orders a fresh build has: the snapshot's, and GPU nodes by index.
        st.running = new
        st.by_pool = {}
        st.awaiting = {}
        for r in snapshot.running:
            st.by_pool.setdefault(r.placement.pool, {})[r.job_id] = None
            if r.preempted_for is not None:
                st.awaiting.setdefault(r.preempted_for, {})[r.job_id] = None
        st.canonical_order()

    def submit(self, job: JobRequest) -> None:
        self.queue.add(job)

    def schedule(self, now: float, explain: bool = False) -> Decisions:
        self.state.now = now
        decisions = run_pass(self.state, self.queue, self.policy, explain)
        for p in decisions.preemptions:
            if p.for_job_id is not None:
                self._victims_of.setdefault(p.for_job_id, set()).add(p.job_id)
        for a in decisions.admits:
            job = self.queue.remove(a.job_id)
            assert job is not None
            dur = next(
                (
                    o.duration_s
                    for o in job_options(job, self.queue.figures)
                    if o.accelerator == a.placement.accelerator
                ),
                None,
            )
            if dur is not None and job.est_duration_s:  # a resumed job has part of it left
                dur *= queued_remaining(job) / job.est_duration_s
            self.state.record_admitted(
                RunningJob(
                    job.job_id,
                    job.tenant,
                    a.placement,
                    now,
                    job.priority,
                    last_checkpoint_time=now,
                    est_end_time=None if dur is None else now + dur,
                    attained_service_s=job.attained_service_s,
                    submit_time=job.submit_time,
                    displaced=frozenset(self._victims_of.pop(job.job_id, ())),
                    spot=job.spot,
                )
            )
        return decisions

    def set_usage(self, decayed: Mapping[str, float]) -> None:
        """New half-life-decayed usage per tenant (TenantQuota.decayed_usage); tenants
        without a quota, or not named, keep theirs."""
        for tenant, value in decayed.items():
            q = self.tenants.get(tenant)
            if q is not None and q.decayed_usage != value:
                self.tenants[tenant] = replace(q, decayed_usage=value)
        self.state.quota.tenants = self.tenants
        self.state.quota.shares.clear()

    def finish(self, job_id: str) -> RunningJob | None:
        return self.state.remove_running(job_id)

    def stop(self, job_id: str) -> RunningJob | None:
        return self.state.remove_running(job_id)

    def cancel(self, job_id: str) -> None:
        self.queue.remove(job_id)
        self.state.remove_running(job_id)

    def checkpoint(self, job_id: str, t: float) -> None:
        r = self.state.running.get(job_id)
        if r is not None and r.last_checkpoint_time != t:  # drivers repeat unchanged times
            self.state.running[job_id] = replace(r, last_checkpoint_time=t)

    def running(self) -> tuple[RunningJob, ...]:
        return tuple(self.state.running.values())

    def snapshot(self, now: float) -> Snapshot:
        st = self.state
        return Snapshot(
            now,
            self.capacity,
            tuple(self.queue.jobs.values()),
            self.running(),
            dict(self.tenants),
            st.grace_s,
            st.quota.half_life_s,
            st.min_run_s,
            st.checkpoint_interval_s,
        )


class Following:
    """The live loop's policy: Snapshot -> Decisions like `schedule`, but keeping one
    Scheduler between passes and syncing it to each Snapshot (see Scheduler.sync)."""

    def __init__(self, policy: str = "default") -> None:
        self.policy = policy
        self.scheduler: Scheduler | None = None

    def __call__(self, snapshot: Snapshot) -> Decisions:
        if self.scheduler is None:
            self.scheduler = s = Scheduler.from_snapshot(snapshot, self.policy)
        else:
            s = self.scheduler
            s.sync(snapshot)
        # The pass alone, without Scheduler.schedule's bookkeeping of admitted jobs: the
        # next Snapshot says where they run, and the next sync() takes it from there.
        try:
            return run_pass(s.state, s.queue, s.policy, explain=True)
        except BaseException:
            self.scheduler = None  # a pass cut short may leave trial moves: start afresh
            raise
