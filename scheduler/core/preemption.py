"""Victim selection: which whole running jobs to stop so that a waiting job fits.

Eligible victims (Kueue's reclaimWithinCohort=Any plus withinClusterQueue=LowerPriority):
  * reclaim: the waiter is within its nominal quota, and the victim's tenant is borrowing
    (above its nominal, or has no quota at all) in the same cohort — any priority;
  * priority: the victim has lower priority and belongs to the waiter's tenant or to a
    tenant that is borrowing;
  * shorter (policies with shortest_first): same priority, the waiter's tenant or a
    borrower of its cohort, and SRPT_FACTOR times the waiter's remaining time is still
    below the victim's (scheduler.core.remaining).
Never: a job already checkpointing for someone, a non-preemptible job, a job that itself
displaced the waiter (no ping-pong), for reclaim and shorter a job that has run less than
the minimum run time since its last start (no churn), and for shorter a job the starvation
guard let run (it had waited Policy.starvation_s beyond its service when it started). Candidates are tried domain by domain (a GPU node, a
tray, a cabinet, else the whole pool), cheapest first: lowest priority, then least work
lost since the last checkpoint. The cheapest domain that makes the waiter fit wins, and
victims it does not need are handed back (a minimal set).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from scheduler.core.cluster import Holding
from scheduler.core.gpus import GpuPool
from scheduler.core.mesh import DojoPool
from scheduler.core.model import JobRequest, RunningJob
from scheduler.core.quota import QuotaVerdict
from scheduler.core.remaining import running_remaining, shorter
from scheduler.core.sizing import Option
from scheduler.core.state import PassState

MAX_DOMAINS = 6  # bound the search per waiter; domains are sorted cheapest first


@dataclass(frozen=True, slots=True)
class Victims:
    job_ids: tuple[str, ...]
    kind: str  # "reclaim" or "priority"
    devices: tuple[str, ...]  # where the waiter will run once they stop


def _lost_work(state: PassState, r: RunningJob) -> float:
    since = r.last_checkpoint_time if r.last_checkpoint_time is not None else r.start_time
    every = state.checkpoint_interval_s
    if every:  # periodic checkpoints counted from the start of the run
        since = max(since, r.start_time + ((state.now - r.start_time) // every) * every)
    return max(0.0, state.now - since)


def _eligible(
    state: PassState,
    job: JobRequest,
    opt: Option,
    remaining: float | None,
    starved_s: float | None = None,
) -> list[tuple[RunningJob, str]]:
    """`remaining` is the waiter's remaining time when shorter-job preemption is on; a job
    that had waited `starved_s` beyond its service before its run started is no "shorter"
    victim (the starvation guard let it run)."""
    quota = state.quota
    nominal = quota.nominal(job.tenant, opt.pool)
    within = nominal is not None and quota.used(job.tenant, opt.pool) + opt.count <= nominal
    out: list[tuple[RunningJob, str]] = []
    running = state.running
    since = state.now - state.min_run_s
    # per victim tenant: (borrowing in the pool, and in the waiter's cohort)
    tenants: dict[str, tuple[bool, bool]] = {job.tenant: (False, False)}
    for jid in state.by_pool.get(opt.pool, {}):
        r = running[jid]
        if r.preempted_for is not None or not r.preemptible or job.job_id in r.displaced:
            continue
        lower = r.priority < job.priority
        if not lower and not within and remaining is None:
            continue  # neither reclaim (needs within) nor priority (needs lower)
        own = r.tenant == job.tenant
        flags = tenants.get(r.tenant)
        if flags is None:
            b = quota.borrowing(r.tenant, opt.pool)
            flags = tenants[r.tenant] = (b, b and quota.same_cohort(r.tenant, job.tenant))
        borrowing, cohort = flags
        settled = r.start_time <= since
        if within and cohort and settled:
            out.append((r, "reclaim"))
        elif lower and (own or borrowing):
            out.append((r, "priority"))
        elif (
            remaining is not None
            and settled
            and r.priority == job.priority
            and (own or cohort)
            and shorter(remaining, running_remaining(r, state.now))
            and not _starved(r, starved_s)
        ):
            out.append((r, "shorter"))
    return out


def _starved(r: RunningJob, starved_s: float | None) -> bool:
    if starved_s is None or r.submit_time is None:
        return False
    waited = r.start_time - r.submit_time - r.attained_service_s / max(len(r.placement.devices), 1)
    return waited >= starved_s


def _domain_level(index: DojoPool | GpuPool, count: int) -> int:
    """Where a waiter of `count` must fit: 1 one tray or node, 2 one cabinet, 0 anywhere."""
    if isinstance(index, DojoPool):
        return 1 if count <= 6 else 2 if count <= 12 else 0
    return 1 if count <= index.per_node else 0


def _domains(
    state: PassState, r: RunningJob, index: DojoPool | GpuPool, level: int
) -> tuple[int, ...]:
    """The domains a running job's devices touch, cached per job for the pass's searches."""
    key = (r.job_id, level)
    hit = state.domains.get(key)
    if hit is not None and (hit[0] is r.placement or hit[0] == r.placement):
        return hit[1]
    loc = index.loc
    if level == 0:
        doms: tuple[int, ...] = (0,) if any(d in loc for d in r.placement.devices) else ()
    elif level == 1 or not isinstance(index, DojoPool):
        doms = tuple({loc[d][0] for d in r.placement.devices if d in loc})
    else:
        doms = tuple({index.trays[loc[d][0]].cabinet for d in r.placement.devices if d in loc})
    state.domains[key] = (r.placement, doms)
    return doms


def find_victims(
    state: PassState,
    job: JobRequest,
    opt: Option,
    blocked: dict[int, int] | None,
    remaining: float | None = None,
    starved_s: float | None = None,
) -> Victims | None:
    cands = _eligible(state, job, opt, remaining, starved_s)
    if not cands:
        return None
    index = state.cluster.pools[opt.pool]
    level = _domain_level(index, opt.count)
    by_domain: dict[int, list[tuple[RunningJob, str]]] = {}
    gain: dict[int, int] = {}
    known = state.domains
    for rk in cands:
        r = rk[0]
        hit = known.get((r.job_id, level))  # _domains' cache, read inline (hot loop)
        doms = (
            hit[1]
            if hit is not None and hit[0] is r.placement
            else _domains(state, r, index, level)
        )
        n = len(r.placement.devices)
        for dom in doms:
            rs = by_domain.get(dom)
            if rs is None:
                by_domain[dom] = [rk]
                gain[dom] = n
            else:
                rs.append(rk)
                gain[dom] += n
    if isinstance(index, GpuPool) and opt.count <= index.per_node:
        # cheap pre-filter: a node can only work if its free GPUs plus victims' reach count
        by_domain = {
            n: rs
            for n, rs in by_domain.items()
            if index.nodes[n].free.bit_count() + gain[n] >= opt.count
        }
    cost: dict[str, tuple[int, float, float]] = {}
    cheapest: dict[int, tuple[int, float, float]] = {}
    cache = state.victim_costs  # the same victims come up in every search of a pass
    for dom, rs in by_domain.items():
        low = None
        for r, kind in rs:
            key = (r.job_id, kind == "shorter")
            c = cache.get(key)
            if c is None:
                c = cache[key] = _cost(state, r, kind)
            cost[r.job_id] = c
            if low is None or c < low:
                low = c
        assert low is not None
        cheapest[dom] = low
    best: tuple[tuple[int, float, int], Victims] | None = None
    for dom in heapq.nsmallest(MAX_DOMAINS, by_domain, key=cheapest.__getitem__):
        rs = by_domain[dom]
        rs.sort(key=lambda rk: cost[rk[0].job_id])
        found = _try_domain(state, job, opt, rs, blocked)
        if found is not None:
            score = (
                max(cost[j][0] for j in found.job_ids),
                sum(cost[j][1] for j in found.job_ids),
                len(found.job_ids),
            )
            if best is None or score < best[0]:
                best = (score, found)
    return None if best is None else best[1]


def _cost(state: PassState, r: RunningJob, kind: str) -> tuple[int, float, float]:
    """Lowest priority first; then least work lost, except that a shorter job displaces
    the longest remaining ones (true SRPT: a victim is never shorter than a job that keeps
    running, so it cannot in turn outrun one and cascade)."""
    if kind == "shorter":
        return (r.priority, -running_remaining(r, state.now), -r.start_time)
    return (r.priority, _lost_work(state, r), -r.start_time)


def _fits(
    state: PassState, job: JobRequest, opt: Option, blocked: dict[int, int] | None
) -> tuple[str, ...] | None:
    verdict, _ = state.quota.check(job.tenant, opt.pool, opt.count)
    if verdict is not QuotaVerdict.OK:
        return None
    return state.cluster.pools[opt.pool].place(opt.count, blocked)


def _try_domain(
    state: PassState,
    job: JobRequest,
    opt: Option,
    rs: list[tuple[RunningJob, str]],
    blocked: dict[int, int] | None,
) -> Victims | None:
    """Release victims cheapest first until the waiter fits, hand back the unneeded ones,
    record the result, and undo every trial move."""
    released: list[tuple[RunningJob, str, Holding]] = []
    devices = None
    try:
        for r, kind in rs:
            held = _take_off(state, r)
            if held is None:
                continue
            released.append((r, kind, held))
            devices = _fits(state, job, opt, blocked)
            if devices is not None:
                break
        if devices is None:
            return None
        for i in range(len(released) - 2, -1, -1):  # minimal set: try to keep each one
            r, kind, held = released[i]
            _put_back(state, r, held)
            again = _fits(state, job, opt, blocked)
            if again is None:
                _take_off(state, r)
            else:
                devices = again
                released[i] = (r, "", held)
        chosen = [(r, kind) for r, kind, _ in released if kind]
        kinds = {k for _, k in chosen}
        kind = next(k for k in ("reclaim", "priority", "shorter") if k in kinds)
        return Victims(tuple(r.job_id for r, _ in chosen), kind, devices)
    finally:
        for r, kind, held in reversed(released):
            if kind:
                _put_back(state, r, held)


def _take_off(state: PassState, r: RunningJob) -> Holding | None:
    held = state.cluster.release(r.job_id)
    if held is not None:
        state.quota.add(held.tenant, held.pool, -len(held.devices))
    return held


def _put_back(state: PassState, r: RunningJob, held: Holding) -> None:
    state.cluster.allocate(r.job_id, held.tenant, held.pool, held.devices)
    state.quota.add(held.tenant, held.pool, len(held.devices))
