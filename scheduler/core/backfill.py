"""EASY backfill: the first job of a pool that cannot start gets a reservation, the devices
it will get and the earliest time (shadow time) it can start given running jobs' estimated
ends. Later jobs may use reserved devices only when they are estimated to end by then, so
they never delay it. With no end estimates the reservation has no start time: reserved
devices then take no backfill at all, and the waiting job still cannot starve.

BackfillPhase is the walk's backfill phase: one reservation per pool per pass, computed
at once when the pass explains, else deferred until some later job wants its pool (most
passes that need no reasons never look again).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import islice

from scheduler.core.cluster import Holding
from scheduler.core.gpus import GpuPool
from scheduler.core.model import JobRequest
from scheduler.core.phase import Phase
from scheduler.core.sizing import Option
from scheduler.core.state import PassState, Reservation


def reserve(state: PassState, job_id: str, opt: Option) -> Reservation | None:
    """Shadow time and devices for `opt`, or None if the pool can never hold it."""
    cluster = state.cluster
    pool = cluster.pools[opt.pool]
    ends = state.ends.get(opt.pool, [])
    if isinstance(pool, GpuPool) and opt.count <= pool.per_node:
        return _reserve_on_node(state, pool, job_id, opt.count, likely_order(state, ends))
    released: list[tuple[str, Holding]] = []
    devices = None
    start = math.inf
    try:
        for end, jid in list(ends):
            held = cluster.release(jid)
            if held is not None:
                released.append((jid, held))
            if end == math.inf:
                continue  # keep releasing: the fallback reserves without a start
            devices = pool.place(opt.count)
            if devices is not None:
                start = end
                break
        if devices is None:
            devices = pool.place(opt.count)
    finally:
        for jid, held in reversed(released):
            cluster.allocate(jid, held.tenant, held.pool, held.devices)
    if devices is None:
        return None
    blocked: dict[int, int] = {}
    for d in devices:
        at, bit = pool.loc[d]
        blocked[at] = blocked.get(at, 0) | 1 << bit
    return Reservation(job_id, start, devices, blocked)


def may_use_reserved(res: Reservation, now: float, opt: Option) -> bool:
    return (
        opt.duration_s is not None and res.start != math.inf and now + opt.duration_s <= res.start
    )


def likely_order(state: PassState, ends: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Running jobs in the order they are likely to end: by estimated end, then those
    without an estimate, least attained service first (run times are heavy-tailed, so a
    job that has run longer is likely to run longer still: Tiresias' premise). Without it,
    unknown ends fell back to job-id order, and a node of the oldest jobs was reserved."""
    cut = bisect_left(ends, (math.inf, ""))
    if cut == len(ends):
        return ends
    get, now = state.running.get, state.now
    # running_service inline (max(0.0, ran) spelled out), and one keyed sort: this runs for
    # every reservation of a pass, over every running job of the pool (job ids are unique:
    # entries never compare). Locals, not attribute reads: it is the pass's hottest loop.
    keyed: list[tuple[float, str, tuple[float, str]]] = []
    append = keyed.append
    for entry in islice(ends, cut, None):
        jid = entry[1]
        r = get(jid)
        if r is None:
            append((0.0, jid, entry))
            continue
        ran = now - r.start_time
        served = r.attained_service_s + (ran if ran > 0.0 else 0.0) * len(r.placement.devices)
        append((served, jid, entry))
    keyed.sort()
    out = ends[:cut]
    out.extend([k[2] for k in keyed])
    return out


def _reserve_on_node(
    state: PassState, pool: GpuPool, job_id: str, count: int, ends: list[tuple[float, str]]
) -> Reservation | None:
    """Single-node GPU jobs: add back GPUs in end order until one node holds `count`."""
    freed: dict[int, int] = {}
    holdings, loc, nodes = state.cluster.holdings, pool.loc, pool.nodes
    for end, jid in ends:
        held = holdings.get(jid)
        if held is None:
            continue
        for d in held.devices:
            at = loc.get(d)
            if at is None:
                continue
            ni, bit = at
            node = nodes[ni]
            bits = freed.get(ni, node.free) | ((1 << bit) & node.usable)
            freed[ni] = bits
            if bits.bit_count() >= count:
                picks = [b for b in range(len(node.gpu_ids)) if bits >> b & 1][:count]
                devices = tuple(node.gpu_ids[b] for b in picks)
                return Reservation(job_id, end, devices, {ni: sum(1 << b for b in picks)})
    return None


class BackfillPhase(Phase):
    """The walk's backfill phase: a pass's reservations (kept in PassState.reservations)."""

    deferred: dict[str, tuple[str, Option]]  # pool -> reservation to compute

    def init_backfill(self) -> None:
        self.deferred = {}

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
        """The devices `job` may not use for `opt`: another job's reservation it would delay."""
        self.resolve(opt.pool)
        res = self.state.reservations.get(opt.pool)
        if res is None or res.job_id == job.job_id or may_use_reserved(res, self.state.now, opt):
            return None
        return res.blocked

    def hold(self, job: JobRequest, opt: Option) -> str:
        """Reserve `opt`'s pool for the waiting `job` unless the pool has a reservation; the
        text to add to its reason ("" when nothing was reserved, or not yet)."""
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
