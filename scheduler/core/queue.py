"""The pending queue, kept sorted by the policy's key so a pass never re-sorts it.

With fair sharing the queue is one sorted list per tenant, interleaved lazily by a heap on
(priority of the tenant's head, the tenant's current weighted dominant share): the share is
read again after every admission, DRF-style. Without it, one sorted list.

Starvation guard (Policy.starvation_s): a job that has waited that long beyond its run
time since it was submitted is promoted: it comes first, so it gets its pool's backfill
reservation and starts as soon as devices free up. A pass may also skip a tenant (`skip`)
once none of its remaining jobs can start in that pass.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from typing import Any

from scheduler.core.model import JobRequest
from scheduler.core.policies.base import Policy
from scheduler.core.quota import QuotaBook
from scheduler.core.sizing import Option, job_options

_ALL = ""


class JobQueue:
    def __init__(self, policy: Policy, jobs: Iterable[JobRequest] = ()) -> None:
        self.policy = policy
        self.jobs: dict[str, JobRequest] = {}
        self.lists: dict[str, list[tuple[Any, ...]]] = {}
        # pool -> device count -> queued options asking that (early stop), priority counts
        self.sizes: dict[str, dict[int, int]] = {}
        self.options: dict[str, tuple[Option, ...]] = {}
        self.priorities: dict[int, int] = {}
        self.tenant_sizes: dict[tuple[str, str], dict[int, int]] = {}   # (tenant, pool) -> counts
        # pool -> heap of (estimated duration, job id), built on first use; stale entries
        # (jobs gone) are dropped lazily, so the top is a lower bound (early stop).
        self._shortest: dict[str, list[tuple[float, str]]] | None = None
        self._memo: dict[tuple[Any, ...], tuple[Option, ...]] = {}
        # (time it starts to starve, job id), sorted; entries of gone jobs dropped lazily.
        self._starve: list[tuple[float, str]] = []
        self.promoted: set[str] = set()   # ids promoted by the current ordered() walk
        self._load(jobs)

    def _load(self, jobs: Iterable[JobRequest]) -> None:
        """Bulk load: append, count, then sort each list once (the snapshot path's cost)."""
        fair = self.policy.fair_share
        key = self.policy.sort_key
        for job in jobs:
            self.jobs[job.job_id] = job
            self.lists.setdefault(job.tenant if fair else _ALL, []).append((*key(job), job.job_id))
            self.options[job.job_id] = opts = self._options(job)
            for opt in opts:
                per = self.sizes.setdefault(opt.pool, {})
                per[opt.count] = per.get(opt.count, 0) + 1
                per = self.tenant_sizes.setdefault((job.tenant, opt.pool), {})
                per[opt.count] = per.get(opt.count, 0) + 1
            self.priorities[job.priority] = self.priorities.get(job.priority, 0) + 1
            if self.policy.starvation_s is not None:
                self._starve.append((self._starves_at(job), job.job_id))
        for entries in self.lists.values():
            entries.sort()
        self._starve.sort()

    def _starves_at(self, job: JobRequest) -> float:
        assert self.policy.starvation_s is not None
        ran = job.attained_service_s / max(job.count, 1)
        return job.submit_time + ran + self.policy.starvation_s

    def __len__(self) -> int:
        return len(self.jobs)

    def _entry(self, job: JobRequest) -> tuple[Any, ...]:
        return (*self.policy.sort_key(job), job.job_id)

    def _bucket(self, job: JobRequest) -> str:
        return job.tenant if self.policy.fair_share else _ALL

    def add(self, job: JobRequest) -> None:
        if job.job_id in self.jobs:
            self.remove(job.job_id)
        self.jobs[job.job_id] = job
        insort(self.lists.setdefault(self._bucket(job), []), self._entry(job))
        self._count(job, 1)
        if self.policy.starvation_s is not None:
            insort(self._starve, (self._starves_at(job), job.job_id))

    def remove(self, job_id: str) -> JobRequest | None:
        job = self.jobs.pop(job_id, None)
        if job is None:
            return None
        entries = self.lists[self._bucket(job)]
        entry = self._entry(job)
        del entries[bisect_left(entries, entry)]
        self._count(job, -1)
        return job

    def _count(self, job: JobRequest, delta: int) -> None:
        if delta > 0:
            self.options[job.job_id] = self._options(job)
        for opt in self.options[job.job_id] if delta > 0 else self.options.pop(job.job_id):
            _bump(self.sizes.setdefault(opt.pool, {}), opt.count, delta)
            _bump(self.tenant_sizes.setdefault((job.tenant, opt.pool), {}), opt.count, delta)
            if delta > 0 and self._shortest is not None and opt.duration_s is not None:
                heapq.heappush(self._shortest.setdefault(opt.pool, []), (opt.duration_s, job.job_id))
        _bump(self.priorities, job.priority, delta)

    def _options(self, job: JobRequest) -> tuple[Option, ...]:
        if job.est_durations or job.counts or len(job.accelerators) == 1:
            return job_options(job)
        key = (job.accelerators, job.count, job.est_duration_s)
        opts = self._memo.get(key)
        if opts is None:
            opts = self._memo[key] = job_options(job)
        return opts

    def smallest(self, pool: str) -> int | None:
        per = self.sizes.get(pool)
        return min(per) if per else None

    def shortest(self, pool: str) -> float | None:
        """A lower bound on the estimated duration of any queued job's option in `pool`."""
        if self._shortest is None:
            self._shortest = {}
            for jid, opts in self.options.items():
                for o in opts:
                    if o.duration_s is not None:
                        self._shortest.setdefault(o.pool, []).append((o.duration_s, jid))
            for heap in self._shortest.values():
                heapq.heapify(heap)
        durations = self._shortest.get(pool)
        while durations and durations[0][1] not in self.jobs:
            heapq.heappop(durations)
        return durations[0][0] if durations else None

    def top_priority(self) -> int | None:
        return max(self.priorities) if self.priorities else None

    def starving(self, now: float) -> list[JobRequest]:
        """Jobs past their starvation time, highest priority then longest starving first."""
        cut = bisect_left(self._starve, (now, "\U0010ffff"))
        kept, out = [], []
        for at, jid in self._starve[:cut]:
            job = self.jobs.get(jid)
            if job is not None and self._starves_at(job) == at:
                kept.append((at, jid))
                out.append(job)
        self._starve[:cut] = kept
        out.sort(key=lambda j: -j.priority)   # stable: starving order within a priority
        return out

    def ordered(self, quota: QuotaBook, now: float | None = None,
                skip: set[str] | None = None) -> Iterator[JobRequest]:
        """Jobs in policy order, starving ones first; a tenant added to `skip` during the
        walk yields nothing more. The queue must not change until the iteration ends."""
        jobs = self.jobs
        first = self.starving(now) if now is not None and self._starve else []
        self.promoted = promoted = {j.job_id for j in first}
        yield from first
        if not self.policy.fair_share:
            for entry in self.lists.get(_ALL, ()):
                if entry[-1] not in promoted:
                    yield jobs[entry[-1]]
            return
        skip = set() if skip is None else skip
        lists = {t: es for t, es in self.lists.items() if es and t not in skip}
        heads = dict.fromkeys(lists, 0)
        heap = [(es[0][0], quota.share(t), es[0], t) for t, es in lists.items()]
        heapq.heapify(heap)
        while heap:
            tenant = heapq.heappop(heap)[3]
            if tenant in skip:
                continue
            es = lists[tenant]
            i = heads[tenant]
            if es[i][-1] not in promoted:
                yield jobs[es[i][-1]]
            heads[tenant] = i = i + 1
            if i < len(es) and tenant not in skip:
                heapq.heappush(heap, (es[i][0], quota.share(tenant), es[i], tenant))


def _bump(counts: dict[int, int], key: int, delta: int) -> None:
    n = counts.get(key, 0) + delta
    if n:
        counts[key] = n
    else:
        counts.pop(key, None)
