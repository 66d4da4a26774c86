"""Victim selection: which whole running jobs to stop so that a waiting job fits.

Eligible victims (Kueue's reclaimWithinCohort=Any plus withinClusterQueue=LowerPriority):
  * preemptible: the victim's spec is preemptible (spot) and the waiter's is not — any
    tenant, any priority, no minimum run time; such victims cost least, so they go first;
  * reclaim: the waiter is within its nominal quota, and the victim's tenant is borrowing
    (above its nominal, or has no quota at all) in the same cohort — any priority (with
    Policy.las_reclaim only a victim whose LAS queue is at least the waiter's);
  * priority: the victim has lower priority and belongs to the waiter's tenant or to a
    tenant that is borrowing;
  * shorter (policies with shortest_first): same priority, the waiter's tenant or a
    borrower of its cohort, and SRPT_FACTOR times the waiter's remaining time is still
    below the victim's (scheduler.core.remaining).
  * service (policies with least attained service, Policy.las): same priority, the
    waiter's tenant or a borrower of its cohort, and the victim's attained service (its
    current run included) puts it in a higher LAS queue than the waiter's
    (scheduler.core.las); the waiter's run time is never read (with
    Policy.las_unknown_only neither job may have an estimate).
Never: a job already checkpointing for someone, a non-preemptible job, a job that itself
displaced the waiter (no ping-pong), for reclaim and shorter a job that has run less than
the minimum run time since its last start (no churn), and for shorter and service a job the
starvation guard let run (it had waited Policy.starvation_s beyond its service when it started). Candidates are tried domain by domain (a GPU node, a
tray, a cabinet, else the whole pool), cheapest first: lowest priority, then least work
lost since the last checkpoint (device-seconds for service victims). The cheapest domain that makes the waiter fit wins, and
victims it does not need are handed back (a minimal set).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

from scheduler.core.cluster import Holding
from scheduler.core.gpus import GpuPool
from scheduler.core.las import LasQueues, running_service
from scheduler.core.mesh import DojoPool
from scheduler.core.model import JobRequest, RunningJob
from scheduler.core.quota import QuotaBook, QuotaVerdict
from scheduler.core.remaining import running_remaining, shorter
from scheduler.core.sizing import Option
from scheduler.core.state import PassState

MAX_DOMAINS = 6  # bound the search per waiter; domains are sorted cheapest first
# A one-device search that can only find service victims looks at this many running jobs
# of the pool, oldest run first (those have had the most service): in an overloaded
# cluster every waiter searches, and most searches that fail would otherwise scan the
# whole pool. A wider waiter needs victims that free a whole node or block: it scans all.
SERVICE_SCAN = 64
SPOT_FIRST = -(2**31)  # a spot victim's cost rank: below every priority class


@dataclass(frozen=True, slots=True)
class Victims:
    job_ids: tuple[str, ...]
    kind: str  # "preemptible", "reclaim", "priority", "shorter", "service" or "migrate"
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
    level: int | None = None,
    las: LasQueues | None = None,
    unknown_only: bool = False,
    fair_share: bool = False,
    las_reclaim: bool = False,
) -> Iterator[tuple[RunningJob, str]]:
    """The running jobs of the pool that may be victims, oldest run first (the order they
    started in), lazily: a search may stop once it has enough. `remaining` is the waiter's
    remaining time when shorter-job preemption is on, and `level` its LAS queue when
    service preemption is (`las` the queues); a job that had waited `starved_s` beyond its
    service before its run started is no "shorter" or "service" victim (the starvation
    guard let it run). With `fair_share`, another tenant's job is a service victim only if
    that tenant would still hold at least the waiter's tenant's share of the pool after the
    swap (devices over nominal quota): a tenant's new jobs never take from a poorer one."""
    quota = state.quota
    nominal = quota.nominal(job.tenant, opt.pool)
    within = nominal is not None and quota.used(job.tenant, opt.pool) + opt.count <= nominal
    mine = (
        (quota.used(job.tenant, opt.pool) + opt.count) / nominal if fair_share and nominal else None
    )
    running, now = state.running, state.now
    since = now - state.min_run_s
    # A victim of service preemption has attained at least the threshold above the
    # waiter's queue (inline: this loop runs over every running job of the pool).
    above = (
        las.thresholds[level]
        if las is not None and level is not None and level < len(las.thresholds)
        else None
    )
    # per victim tenant: (borrowing in the pool, and in the waiter's cohort, and richer
    # than the waiter's tenant by a device: see _richer)
    tenants: dict[str, tuple[bool, bool, float]] = {job.tenant: (False, False, 0.0)}
    # Policy.las_reclaim: reclaim only from jobs at least as served as the waiter.
    reclaim_level = las.queued_level(job) if las_reclaim and las is not None else None
    scan = (
        SERVICE_SCAN
        if above is not None
        and opt.count == 1  # any one victim will do; a wider waiter needs a whole domain
        and not within
        and remaining is None
        and not state.any_victim_below(opt.pool, job.priority)
        and (job.spot or not state.any_spot(opt.pool))  # a spot victim may be anywhere
        else -1
    )
    # The waiter's fields as locals: this loop runs over every running job of the pool.
    waiter_id, waiter_spot, waiter_priority, waiter_tenant = (
        job.job_id,
        job.spot,
        job.priority,
        job.tenant,
    )
    only_lower = not within and remaining is None and above is None
    for jid in state.by_pool.get(opt.pool, {}):
        scan -= 1
        if scan == -1:
            return  # looked at SERVICE_SCAN jobs (never when scan started at -1)
        r = running[jid]
        if r.preempted_for is not None or not r.preemptible or waiter_id in r.displaced:
            continue
        if r.spot and not waiter_spot:
            yield r, "preemptible"
            continue
        lower = r.priority < waiter_priority
        if not lower and only_lower:
            continue  # neither reclaim (needs within) nor priority (needs lower)
        settled = r.start_time <= since
        if not lower and not settled:
            continue  # reclaim, shorter and service all need a settled victim
        own = r.tenant == waiter_tenant
        flags = tenants.get(r.tenant)
        if flags is None:
            b = quota.borrowing(r.tenant, opt.pool)
            flags = tenants[r.tenant] = (
                b,
                b and quota.same_cohort(r.tenant, job.tenant),
                _spare(quota, r.tenant, opt.pool, mine),
            )
        borrowing, cohort, spare = flags
        if (
            within
            and cohort
            and settled
            and (
                reclaim_level is None
                or las is None
                or las.level(r.attained_service_s + (now - r.start_time) * len(r.placement.devices))
                >= reclaim_level
            )
        ):
            yield r, "reclaim"
        elif lower and (own or borrowing):
            yield r, "priority"
        elif r.priority != waiter_priority or not (own or cohort) or not settled:
            continue
        elif (
            remaining is not None
            and shorter(remaining, running_remaining(r, now))
            and not _starved(r, starved_s)
        ):
            yield r, "shorter"
        elif (
            above is not None
            and (r.est_end_time is None or not unknown_only)
            and r.attained_service_s + (now - r.start_time) * len(r.placement.devices) >= above
            and (own or len(r.placement.devices) <= spare)
            and not _starved(r, starved_s)
        ):
            yield r, "service"


def _spare(quota: QuotaBook, tenant: str, pool: str, share: float | None) -> float:
    """How many devices the tenant could give up and still hold at least `share` of its
    nominal quota in the pool (inf without a share to compare or without a nominal)."""
    nominal = quota.nominal(tenant, pool)
    if share is None or not nominal:
        return math.inf  # no entitlement: it only borrows
    return quota.used(tenant, pool) - share * nominal


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
    level: int | None = None,
    las: LasQueues | None = None,
    unknown_only: bool = False,
    fair_share: bool = False,
    las_reclaim: bool = False,
) -> Victims | None:
    index = state.cluster.pools[opt.pool]
    dom_level = _domain_level(index, opt.count)
    by_domain: dict[int, list[tuple[RunningJob, str]]] = {}
    gain: dict[int, int] = {}
    known = state.domains
    # A GPU waiter that fits on one node stops looking once MAX_DOMAINS nodes could take
    # it: the candidates come oldest run first, so with least attained service the search
    # costs a few jobs, not the whole pool, in a busy cluster (it runs once per arrival).
    nodes = index.nodes if isinstance(index, GpuPool) and dom_level == 1 else None
    fit: set[int] = set()
    for rk in _eligible(
        state, job, opt, remaining, starved_s, level, las, unknown_only, fair_share, las_reclaim
    ):
        r = rk[0]
        hit = known.get((r.job_id, dom_level))  # _domains' cache, read inline (hot loop)
        doms = (
            hit[1]
            if hit is not None and hit[0] is r.placement
            else _domains(state, r, index, dom_level)
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
            if nodes is not None and nodes[dom].free.bit_count() + gain[dom] >= opt.count:
                fit.add(dom)
        if len(fit) >= MAX_DOMAINS:
            break
    if not by_domain:
        return None
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
            key = (r.job_id, kind)
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
    running, so it cannot in turn outrun one and cascade). A service victim costs the
    device-seconds it loses, then the more service it has had the sooner it goes."""
    if kind == "preemptible":  # before any other kind of victim, whatever its priority
        return (SPOT_FIRST, _lost_work(state, r), -r.start_time)
    if kind == "shorter":
        return (r.priority, -running_remaining(r, state.now), -r.start_time)
    if kind == "service":
        lost = _lost_work(state, r) * len(r.placement.devices)
        return (r.priority, lost, -running_service(r, state.now))
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
        kind = next(
            k for k in ("preemptible", "reclaim", "priority", "shorter", "service") if k in kinds
        )
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
