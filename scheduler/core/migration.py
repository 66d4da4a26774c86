"""Migration: free a whole GPU node for a waiter by moving small jobs into holes elsewhere.

A GPU pool fragments: jobs end one by one, small jobs fill the holes they leave, and a job
that needs a whole node (or a large part of one) waits while the pool's free GPUs, added
up, would hold it several times over. A waiter of 2 to a node's GPUs that fits on no node
now may migrate the running jobs off one node (Preempt kind "migrate") when each of them
fits, right now, on free GPUs of other nodes: they checkpoint within the grace period and
resume from it on those GPUs, so they lose no service, only the restart; the waiter then
takes the node. Only jobs smaller than the waiter move (never the waiter's own size: two
equal jobs would only trade places), and only whole jobs that run on that node alone.

The node chosen moves the fewest GPUs, then the fewest jobs, then has the lowest index (no
set order, no clock: the same state gives the same choice). On a node the smallest jobs
move first, until the waiter fits. Nodes reserved for another waiter are left alone, and
the movers never land on reserved GPUs. Every trial move is undone before returning.
"""

from __future__ import annotations

from scheduler.core.cluster import Holding
from scheduler.core.gpus import GpuPool
from scheduler.core.model import JobRequest, RunningJob
from scheduler.core.preemption import Victims
from scheduler.core.sizing import Option
from scheduler.core.state import PassState

MAX_NODES = 8  # candidate nodes tried per waiter, cheapest first
TRIAL = "migrating:"  # pseudo holder of a mover's new GPUs during a trial


def find_migration(
    state: PassState, job: JobRequest, opt: Option, blocked: dict[int, int] | None
) -> Victims | None:
    """Jobs to move off one node so that `job` fits there, or None (see the module)."""
    index = state.cluster.pools.get(opt.pool)
    if not isinstance(index, GpuPool) or not 2 <= opt.count <= index.per_node:
        return None
    if index.free_count < opt.count:
        return None  # moving jobs around never adds free GPUs
    blocked = blocked or {}
    candidates: list[tuple[int, int, int, list[RunningJob]]] = []
    # Nodes by free GPUs, most first (a node with k free moves at least count - k): once
    # MAX_NODES candidates move fewer than any node of the next bucket could, the rest of
    # the pool cannot change the choice (a large pool is not scanned whole every pass).
    for k in range(opt.count - 1, -1, -1):
        if len(candidates) >= MAX_NODES:
            candidates.sort(key=lambda c: c[:3])
            if candidates[MAX_NODES - 1][0] < opt.count - k:
                break
        for ni in index.buckets[k]:
            if blocked.get(ni):
                continue
            movers = _movers(state, index, ni, opt.count)
            if movers is not None:
                moved = sum(len(r.placement.devices) for r in movers)
                candidates.append((moved, len(movers), ni, movers))
    candidates.sort(key=lambda c: c[:3])
    for moved, _, ni, movers in candidates[:MAX_NODES]:
        if index.free_count - index.nodes[ni].free.bit_count() < moved:
            break  # the holes elsewhere cannot take them (nor a larger move)
        devices = _trial(state, index, opt, ni, movers, blocked)
        if devices is not None:
            return Victims(tuple(r.job_id for r in movers), "migrate", devices)
    return None


def _movers(state: PassState, index: GpuPool, ni: int, count: int) -> list[RunningJob] | None:
    """The jobs to move off node `ni` so that `count` GPUs are free there (smallest first),
    or None when some job in the way may not move."""
    node = index.nodes[ni]
    owner, running = state.cluster.owner, state.running
    on_node: dict[str, RunningJob] = {}
    for bit, gpu in enumerate(node.gpu_ids):
        if not node.usable >> bit & 1 or node.free >> bit & 1:
            continue
        r = running.get(owner.get(gpu, ""))
        if r is None:
            return None  # admitted or nominated in this pass: not movable
        on_node[r.job_id] = r
    ordered = sorted(on_node.values(), key=lambda r: (len(r.placement.devices), r.job_id))
    free = node.free.bit_count()
    movers: list[RunningJob] = []
    for r in ordered:
        if free >= count:
            break
        n = len(r.placement.devices)
        if (
            n >= count
            or r.preempted_for is not None
            or not r.preemptible
            or any(index.loc.get(d, (-1, 0))[0] != ni for d in r.placement.devices)
        ):
            return None
        movers.append(r)
        free += n
    return movers if free >= count else None


def _trial(
    state: PassState,
    index: GpuPool,
    opt: Option,
    ni: int,
    movers: list[RunningJob],
    blocked: dict[int, int],
) -> tuple[str, ...] | None:
    """The waiter's GPUs on node `ni` if every mover fits elsewhere now; undoes its moves."""
    cluster = state.cluster
    node = index.nodes[ni]
    away = dict(blocked)
    away[ni] = node.full  # movers never land back on the node they leave
    released: list[tuple[RunningJob, Holding]] = []
    placed: list[str] = []
    try:
        for r in movers:
            held = cluster.release(r.job_id)
            if held is not None:
                released.append((r, held))
        for r in sorted(movers, key=lambda r: (-len(r.placement.devices), r.job_id)):
            devices = index.place(len(r.placement.devices), away)
            if devices is None:
                return None
            cluster.allocate(TRIAL + r.job_id, r.tenant, opt.pool, devices)
            placed.append(TRIAL + r.job_id)
        free = node.free & ~blocked.get(ni, 0)
        bits = [b for b in range(len(node.gpu_ids)) if free >> b & 1][: opt.count]
        if len(bits) < opt.count:
            return None
        return tuple(node.gpu_ids[b] for b in bits)
    finally:
        for holder in reversed(placed):
            cluster.release(holder)
        for r, held in reversed(released):
            cluster.allocate(r.job_id, held.tenant, held.pool, held.devices)
