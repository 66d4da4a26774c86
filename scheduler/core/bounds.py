"""Cheap upper bounds on what the rest of a pass can still do, so a pass that needs no
reasons (explain=False) stops as soon as no queued job can start or preempt.

Both bounds over-approximate (a True may still find nothing) and assume that a size which
did not fit, or found no victims, means a larger one of the same tenant and pool will not
either. Stopping early only postpones a job to the next pass; it never changes what an
admitted job gets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scheduler.core.gpus import GpuPool
from scheduler.core.queue import JobQueue
from scheduler.core.sizing import Option
from scheduler.core.state import PassState


class Left:
    """Sizes of the jobs a pass has not visited yet, per pool and per (tenant, pool)."""

    def __init__(self, queue: JobQueue) -> None:
        self.sizes = {p: dict(c) for p, c in queue.sizes.items() if c}
        self.tenant_sizes = {tp: dict(c) for tp, c in queue.tenant_sizes.items() if c}
        self.pools: dict[str, list[str]] = {}  # tenant -> pools its queued jobs may use
        for tenant, pool in self.tenant_sizes:
            self.pools.setdefault(tenant, []).append(pool)

    def visit(self, tenant: str, opts: Sequence[Option]) -> bool:
        """Count a visited job out; True when some pool's smallest size changed."""
        smaller = False
        for o in opts:
            smaller |= _drop(self.sizes.get(o.pool), o.count)
            smaller |= _drop(self.tenant_sizes.get((tenant, o.pool)), o.count)
        return smaller

    def done(self, tenant: str, opts: Sequence[Option]) -> bool:
        """The tenant's job with `opts` just waited (no fit, no victims): its unvisited
        jobs, all at least as large and — in policy order — no more urgent, wait too."""
        for pool in self.pools.get(tenant, ()):
            counts = self.tenant_sizes.get((tenant, pool))
            if not counts:
                continue
            opt = next((o for o in opts if o.pool == pool), None)
            if opt is None or opt.count > min(counts):
                return False
        return True


def _drop(counts: dict[int, int] | None, count: int) -> bool:
    if not counts or count not in counts:
        return False
    n = counts[count] - 1
    if n:
        counts[count] = n
        return False
    del counts[count]
    return not counts or count < min(counts)


def may_fit(state: PassState, queue: JobQueue, left: Left, pool: str) -> bool:
    """Some unvisited job of `pool` could be placed now: the smallest size fits outside the
    pool's reservation, or fits at all and the shortest queued job may backfill."""
    sizes = left.sizes.get(pool)
    if not sizes:
        return False
    small = min(sizes)
    index = state.cluster.pools[pool]
    if index.free_count < small:
        return False
    res = state.reservations.get(pool)
    if res is None:
        return index.place(small) is not None
    if index.place(small, res.blocked) is not None:
        return True
    shortest = queue.shortest(pool)
    backfill = shortest is not None and res.start != math.inf and state.now + shortest <= res.start
    return backfill and index.place(small) is not None


def may_reclaim(state: PassState, left: Left, failed: dict[tuple[str, str], int]) -> bool:
    """Some unvisited job is within its tenant's nominal quota in a pool where a smaller job of
    that tenant has not already failed to find victims in this pass."""
    quota = state.quota
    for (tenant, pool), counts in left.tenant_sizes.items():
        nominal = quota.nominal(tenant, pool)
        if not nominal or not counts:
            continue
        small = min(counts)
        if (
            small < failed.get((tenant, pool), math.inf)
            and quota.used(tenant, pool) + small <= nominal
        ):
            return True
    return False


def may_shorten(state: PassState, left: Left, failed: set[tuple[str, str]]) -> bool:
    """Some unvisited job's tenant and pool has not yet failed to outrun a running job, in a
    pool whose running jobs are not all about to end."""
    return any(
        counts and tp not in failed and state.longest_remaining(tp[1]) > 0
        for tp, counts in left.tenant_sizes.items()
    )


def may_serve(state: PassState, left: Left, failed: dict[tuple[str, str], tuple[int, int]]) -> bool:
    """Some unvisited job's tenant and pool has not yet failed to find a service victim (a
    running job a LAS queue above it), in a pool with running jobs."""
    return any(
        counts and tp not in failed and state.by_pool.get(tp[1])
        for tp, counts in left.tenant_sizes.items()
    )


def may_migrate(state: PassState, left: Left, failed: dict[str, int]) -> bool:
    """Some unvisited job of a GPU pool needs 2 to a node's GPUs, no more than the pool has
    free (migration moves GPUs, never adds them), and is smaller than any that failed."""
    for pool, sizes in left.sizes.items():
        index = state.cluster.pools.get(pool)
        if not isinstance(index, GpuPool) or not sizes:
            continue
        top = min(index.per_node, index.free_count, failed.get(pool, 1 << 30) - 1)
        if any(2 <= c <= top for c in sizes):
            return True
    return False
