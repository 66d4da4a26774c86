"""The pending queue, kept sorted by the policy's key so a pass never re-sorts it.

With fair sharing the queue is one sorted list per tenant, interleaved lazily by a heap on
(priority of the tenant's head, the tenant's current weighted dominant share): the share is
read again after every admission, DRF-style. Without it, one sorted list.

Starvation guard (Policy.starvation_s): a job that has waited that long beyond the service
it got since it was submitted starves. Each pass promotes one starving job per pool (highest
priority, then longest starving, among those whose tenant has no quota or stays within its
nominal quota with it): it comes first, so it gets its pool's backfill reservation and
starts as soon as devices free up; once running it is no victim of a shorter job
(scheduler.core.preemption). A pass may also skip a tenant (`skip`) once none of its
remaining jobs can start in that pass.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from typing import Any

from scheduler.core.figures import NO_FIGURES, Figures
from scheduler.core.model import JobRequest, pool_for_accelerator
from scheduler.core.policies.base import Policy
from scheduler.core.quota import QuotaBook
from scheduler.core.sizing import Option, job_options, one_type, single_option, unit

_ALL = ""


class JobQueue:
    def __init__(
        self, policy: Policy, jobs: Iterable[JobRequest] = (), *, figures: Figures = NO_FIGURES
    ) -> None:
        self.policy = policy
        self.figures = figures  # Capacity.figures: every option is sized and priced with it
        self.jobs: dict[str, JobRequest] = {}
        self.lists: dict[str, list[tuple[Any, ...]]] = {}
        # pool -> device count -> queued options asking that (early stop), priority counts
        self.sizes: dict[str, dict[int, int]] = {}
        self.options: dict[str, tuple[Option, ...]] = {}
        self.priorities: dict[int, int] = {}
        self.tenant_sizes: dict[tuple[str, str], dict[int, int]] = {}  # (tenant, pool) -> counts
        # pool -> heap of (estimated duration, job id), built on first use; stale entries
        # (jobs gone) are dropped lazily, so the top is a lower bound (early stop).
        self._shortest: dict[str, list[tuple[float, str]]] | None = None
        self._memo: dict[tuple[Any, ...], tuple[Option, ...]] = {}
        # Starvation guard. _starve: (time it starts to starve, job id) of jobs not starving
        # yet, sorted; entries of gone or changed jobs are dropped when reached. A starving
        # job joins the list of its (first pool, tenant), (-priority, time, id) sorted, and
        # stays there until it leaves the queue (entries that no longer match _starving_at
        # are skipped). Each pass promotes one job per pool: the first of the lists' heads
        # whose tenant has no quota or stays within its nominal quota with it (a borrower
        # would only be reclaimed and starve again). It goes first, so it gets that pool's
        # backfill reservation; when it starts, the next one takes its place. A pass costs
        # what newly starves plus one look per (pool, tenant), however many jobs starve.
        self._starve: list[tuple[float, str]] = []
        self._starving: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
        self._starving_at: dict[str, tuple[float, int]] = {}  # id -> (time, -priority)
        self._promoted_at = -math.inf  # the `now` of the last promotion
        self.promoted: set[str] = set()  # this pass's heads (the engine holds on to the set)
        # Jobs with a single option get a kind: an int naming (tenant, priority, accelerator,
        # count), the part of the engine's shape memo key that never changes while they wait.
        # kinds: job id -> (kind << 3, the option), read by the engine's inline path.
        self.kinds: dict[str, tuple[int, Option]] = {}
        self._kind_ids: dict[tuple[str, int, str, int], int] = {}
        self._load(jobs)

    def _load(self, jobs: Iterable[JobRequest]) -> None:
        """Bulk load: append, count, then sort each list once (the snapshot path's cost, so
        the common job, one accelerator type and no per-option figures, takes a short path:
        its Option is built from a per-(type, count) memo and it is counted by kind)."""
        fair = self.policy.fair_share
        key = self.policy.sort_key
        starve = self.policy.starvation_s is not None
        lists, options = self.lists, self.options
        shared = None if fair else lists.setdefault(_ALL, [])
        per_kind: dict[int, int] = {}
        units: dict[tuple[str, int], tuple[str, float]] = {}  # sizing.unit, memoized
        for job in jobs:
            jid = job.job_id
            self.jobs[jid] = job
            (shared if shared is not None else lists.setdefault(job.tenant, [])).append(
                (*key(job), jid)
            )
            if starve:
                self._starve.append((self._starves_at(job), jid))
            if not one_type(job):
                options[jid] = opts = self._options(job)
                if len(opts) == 1:
                    self._kind(job, opts[0])
                self._count_options(job, opts, 1)
                continue
            first, count = job.accelerators[0], job.count
            u = units.get((first, count))
            if u is None:
                u = units[(first, count)] = unit(first, count, self.figures)
            opt = single_option(first, count, job.est_duration_s, u)
            options[jid] = (opt,)
            kind = self._kind(job, opt)
            per_kind[kind] = per_kind.get(kind, 0) + 1
        if per_kind:
            names = {v: k for k, v in self._kind_ids.items()}
            for kind, n in per_kind.items():
                tenant, priority, first, count = names[kind]
                pool = pool_for_accelerator(first)
                _bump(self.sizes.setdefault(pool, {}), count, n)
                _bump(self.tenant_sizes.setdefault((tenant, pool), {}), count, n)
                _bump(self.priorities, priority, n)
        for entries in lists.values():
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
        self._starving_at.pop(job_id, None)
        entries = self.lists[self._bucket(job)]
        entry = self._entry(job)
        del entries[bisect_left(entries, entry)]
        self._count(job, -1)
        return job

    def _kind(self, job: JobRequest, opt: Option) -> int:
        key = (job.tenant, job.priority, opt.accelerator, opt.count)
        kind = self._kind_ids.get(key)
        if kind is None:
            kind = self._kind_ids[key] = len(self._kind_ids)
        self.kinds[job.job_id] = (kind << 3, opt)
        return kind

    def _count(self, job: JobRequest, delta: int) -> None:
        if delta > 0:
            self.options[job.job_id] = opts = self._options(job)
            if len(opts) == 1:
                self._kind(job, opts[0])
        else:
            self.kinds.pop(job.job_id, None)
            opts = self.options.pop(job.job_id)
        self._count_options(job, opts, delta)

    def _count_options(self, job: JobRequest, opts: tuple[Option, ...], delta: int) -> None:
        for opt in opts:
            _bump(self.sizes.setdefault(opt.pool, {}), opt.count, delta)
            _bump(self.tenant_sizes.setdefault((job.tenant, opt.pool), {}), opt.count, delta)
            if delta > 0 and self._shortest is not None and opt.duration_s is not None:
                heapq.heappush(
                    self._shortest.setdefault(opt.pool, []), (opt.duration_s, job.job_id)
                )
        _bump(self.priorities, job.priority, delta)

    def _options(self, job: JobRequest) -> tuple[Option, ...]:
        if job.est_durations or job.counts or len(job.accelerators) == 1:
            return job_options(job, self.figures)
        key = (job.accelerators, job.count, job.est_duration_s)
        opts = self._memo.get(key)
        if opts is None:
            opts = self._memo[key] = job_options(job, self.figures)
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

    def _compact(self) -> None:
        """Drop the entries of jobs that left (a queue kept for weeks by the live loop would
        otherwise hold one per job it ever saw): rebuild a lazily pruned index once it is
        mostly stale."""
        if len(self._starve) > 2 * len(self.jobs) + 1024:
            self._starve = sorted(
                (self._starves_at(j), jid)
                for jid, j in self.jobs.items()
                if jid not in self._starving_at
            )
        if self._shortest is not None and (
            sum(map(len, self._shortest.values())) > 2 * len(self.jobs) + 1024
        ):
            self._shortest = None  # rebuilt from the queued options on next use

    def _promote(self, now: float, quota: QuotaBook) -> list[str]:
        """The starving jobs that go first in this pass, one per pool, highest priority
        then longest starving first; also kept in `promoted`."""
        starving, at_of = self._starving, self._starving_at
        if now < self._promoted_at:  # the clock went back (a test, a replay): start over
            self._starve = sorted([*self._starve, *((at, jid) for jid, (at, _) in at_of.items())])
            starving.clear()
            at_of.clear()
        self._promoted_at = now
        self._compact()
        cut = bisect_right(self._starve, (now, "\U0010ffff"))
        for at, jid in self._starve[:cut]:
            job = self.jobs.get(jid)
            if job is None or jid in at_of or self._starves_at(job) != at:
                continue  # gone, or re-queued with a later time (its own entry follows)
            at_of[jid] = (at, -job.priority)
            key = (pool_for_accelerator(job.accelerators[0]), job.tenant)
            insort(starving.setdefault(key, []), (-job.priority, at, jid))
        del self._starve[:cut]
        best: dict[str, tuple[int, float, str]] = {}
        for (pool, tenant), entries in starving.items():
            while entries and at_of.get(entries[0][2]) != (entries[0][1], entries[0][0]):
                del entries[0]  # stale: the job left, or came back with another time
            if not entries:
                continue
            nominal = quota.nominal(tenant, pool)
            job = self.jobs[entries[0][2]]
            if nominal is not None and quota.used(tenant, pool) + job.count > nominal:
                continue
            if pool not in best or entries[0] < best[pool]:
                best[pool] = entries[0]
        heads = sorted(best.values())
        self.promoted.clear()
        self.promoted.update(jid for _, _, jid in heads)
        return [jid for _, _, jid in heads]

    def ordered(
        self, quota: QuotaBook, now: float | None = None, skip: set[str] | None = None
    ) -> Iterator[JobRequest]:
        """Jobs in policy order, starving ones first; a tenant added to `skip` during the
        walk yields nothing more. The queue must not change until the iteration ends."""
        return self._ordered(quota, now, skip, self.jobs)  # type: ignore[return-value]

    def ordered_ids(
        self, quota: QuotaBook, now: float | None = None, skip: set[str] | None = None
    ) -> Iterator[str]:
        """The ids of ordered(): a walk that needs the job only now and then saves a lookup."""
        return self._ordered(quota, now, skip, None)  # type: ignore[return-value]

    def _ordered(
        self,
        quota: QuotaBook,
        now: float | None,
        skip: set[str] | None,
        jobs: dict[str, JobRequest] | None,
    ) -> Iterator[JobRequest | str]:
        promoted = self.promoted  # the same set throughout: the engine holds on to it
        if now is not None and self.policy.starvation_s is not None:
            for jid in self._promote(now, quota):  # a starving job per pool first
                yield jid if jobs is None else jobs[jid]
        else:
            promoted.clear()
        if not self.policy.fair_share:
            for entry in self.lists.get(_ALL, ()):
                if entry[-1] not in promoted:
                    yield entry[-1] if jobs is None else jobs[entry[-1]]
            return
        skip = set() if skip is None else skip
        share, shares = quota.share, quota.shares  # shares: share()'s cache, read inline
        # (priority part, share, entry, index, tenant, entries); entries are unique, so
        # comparisons never reach the last three.
        heap = [
            (es[0][0], share(t), es[0], 0, t, es)
            for t, es in self.lists.items()
            if es and t not in skip
        ]
        heapq.heapify(heap)
        heappop, heappush = heapq.heappop, heapq.heappush
        while heap:
            _, _, entry, i, tenant, es = heappop(heap)
            # Yield the tenant's jobs while it stays ahead of every other tenant's head
            # (what a push and pop per job would do, at one comparison per job).
            n = len(es)
            if tenant in skip:
                continue
            while True:
                jid = entry[-1]
                if jid not in promoted:
                    yield jid if jobs is None else jobs[jid]
                i += 1
                if i == n or tenant in skip:
                    break
                entry = es[i]
                if not heap:
                    continue
                top, p = heap[0], entry[0]
                if p == top[0]:  # same priority part: the share decides, then the entry
                    mine = shares.get(tenant)
                    if mine is None:
                        mine = share(tenant)
                    if mine < top[1] or (mine == top[1] and entry < top[2]):
                        continue
                elif p < top[0]:
                    continue
                heappush(heap, (p, share(tenant), entry, i, tenant, es))
                break


def _bump(counts: dict[int, int], key: int, delta: int) -> None:
    n = counts.get(key, 0) + delta
    if n:
        counts[key] = n
    else:
        counts.pop(key, None)
