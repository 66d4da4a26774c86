"""Victim selection: which whole running jobs to stop so that a waiting job fits.

Eligible victims (Kueue's reclaimWithinCohort=Any plus withinClusterQueue=LowerPriority):
  * reclaim: the waiter is within its nominal quota, and the victim's tenant is borrowing
    (above its nominal, or has no quota at all) in the same cohort — any priority;
  * priority: the victim has lower priority and belongs to the waiter's tenant or to a
    tenant that is borrowing.
Never: a job already checkpointing for someone, a non-preemptible job, or a job that itself
displaced the waiter (no ping-pong). Candidates are tried domain by domain (a GPU node, a
tray, a cabinet, else the whole pool), cheapest first: lowest priority, then least work
lost since the last checkpoint. The cheapest domain that makes the waiter fit wins, and
victims it does not need are handed back (a minimal set).
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.core.cluster import Holding
from scheduler.core.gpus import GpuPool
from scheduler.core.mesh import DojoPool
from scheduler.core.model import JobRequest, RunningJob
from scheduler.core.quota import QuotaVerdict
from scheduler.core.sizing import Option
from scheduler.core.state import PassState

MAX_DOMAINS = 6    # bound the search per waiter; domains are sorted cheapest first


@dataclass(frozen=True, slots=True)
class Victims:
    job_ids: tuple[str, ...]
    kind: str              # "reclaim" or "priority"
    devices: tuple[str, ...]   # where the waiter will run once they stop


def _lost_work(state: PassState, r: RunningJob) -> float:
    since = r.last_checkpoint_time if r.last_checkpoint_time is not None else r.start_time
    return max(0.0, state.now - since)


def _eligible(state: PassState, job: JobRequest, opt: Option) -> list[tuple[RunningJob, str]]:
    quota = state.quota
    nominal = quota.nominal(job.tenant, opt.pool)
    within = nominal is not None and quota.used(job.tenant, opt.pool) + opt.count <= nominal
    out: list[tuple[RunningJob, str]] = []
    running = state.running
    for jid in state.by_pool.get(opt.pool, {}):
        r = running[jid]
        if r.preempted_for is not None or not r.preemptible or job.job_id in r.displaced:
            continue
        if not within and r.priority >= job.priority:
            continue   # neither reclaim (needs within) nor priority (needs lower)
        borrower = r.tenant != job.tenant and quota.borrowing(r.tenant, opt.pool)
        if within and borrower and quota.same_cohort(r.tenant, job.tenant):
            out.append((r, "reclaim"))
        elif r.priority < job.priority and (r.tenant == job.tenant or borrower):
            out.append((r, "priority"))
    return out


def _domain_level(index: DojoPool | GpuPool, count: int) -> int:
    """Where a waiter of `count` must fit: 1 one tray or node, 2 one cabinet, 0 anywhere."""
    if isinstance(index, DojoPool):
        return 1 if count <= 6 else 2 if count <= 12 else 0
    return 1 if count <= index.per_node else 0


def _domains(state: PassState, r: RunningJob, index: DojoPool | GpuPool, level: int) -> tuple[int, ...]:
    """The domains a running job's devices touch, cached per job for the pass's searches."""
    key = (r.job_id, level)
    hit = state.domains.get(key)
    if hit is not None and hit[0] is r.placement:
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


def find_victims(state: PassState, job: JobRequest, opt: Option,
                 blocked: dict[int, int] | None) -> Victims | None:
    cands = _eligible(state, job, opt)
    if not cands:
        return None
    index = state.cluster.pools[opt.pool]
    level = _domain_level(index, opt.count)
    by_domain: dict[int, list[tuple[RunningJob, str]]] = {}
    gain: dict[int, int] = {}
    cost = {r.job_id: _cost(state, r) for r, _ in cands}
    for r, kind in cands:
        n = len(r.placement.devices)
        for dom in _domains(state, r, index, level):
            by_domain.setdefault(dom, []).append((r, kind))
            gain[dom] = gain.get(dom, 0) + n
    if isinstance(index, GpuPool) and opt.count <= index.per_node:
        # cheap pre-filter: a node can only work if its free GPUs plus victims' reach count
        by_domain = {n: rs for n, rs in by_domain.items()
                     if index.nodes[n].free.bit_count() + gain[n] >= opt.count}
    best: tuple[tuple[int, float, int], Victims] | None = None
    ranked = sorted(by_domain.values(), key=lambda rs: min(cost[r.job_id] for r, _ in rs))
    for rs in ranked[:MAX_DOMAINS]:
        rs.sort(key=lambda rk: cost[rk[0].job_id])
        found = _try_domain(state, job, opt, rs, blocked)
        if found is not None:
            score = (max(r.priority for r, _ in rs if r.job_id in found.job_ids),
                     sum(_lost_work(state, state.running[j]) for j in found.job_ids),
                     len(found.job_ids))
            if best is None or score < best[0]:
                best = (score, found)
    return None if best is None else best[1]


def _cost(state: PassState, r: RunningJob) -> tuple[int, float, float]:
    return (r.priority, _lost_work(state, r), -r.start_time)


def _fits(state: PassState, job: JobRequest, opt: Option, blocked: dict[int, int] | None) -> tuple[str, ...] | None:
    verdict, _ = state.quota.check(job.tenant, opt.pool, opt.count)
    if verdict is not QuotaVerdict.OK:
        return None
    return state.cluster.pools[opt.pool].place(opt.count, blocked)


def _try_domain(state: PassState, job: JobRequest, opt: Option, rs: list[tuple[RunningJob, str]],
                blocked: dict[int, int] | None) -> Victims | None:
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
        for i in range(len(released) - 2, -1, -1):   # minimal set: try to keep each one
            r, kind, held = released[i]
            _put_back(state, r, held)
            again = _fits(state, job, opt, blocked)
            if again is None:
                _take_off(state, r)
            else:
                devices = again
                released[i] = (r, "", held)
        chosen = [(r, kind) for r, kind, _ in released if kind]
        kind = "reclaim" if any(k == "reclaim" for _, k in chosen) else "priority"
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
