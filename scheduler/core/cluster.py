"""Indexed free capacity of every pool plus who holds which device.

The static layout of a Capacity (device ids, trays, nodes) is built once and cached by the
Capacity object, so a pass over a snapshot only copies free masks and replays the running
jobs' devices. Trial moves (preemption, reservations) release and re-take devices; both
are exact inverses, which is the undo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.core.gpus import GpuPool, build_gpu_pool, fresh_gpu_pool
from scheduler.core.mesh import DojoPool, build_dojo_pool, fresh_dojo_pool
from scheduler.core.model import Capacity, GpuNode, Tile

PoolIndex = DojoPool | GpuPool

_STATIC: dict[int, tuple[Capacity, dict[str, PoolIndex]]] = {}
_STATIC_MAX = 8


def _static_pools(capacity: Capacity) -> dict[str, PoolIndex]:
    hit = _STATIC.get(id(capacity))
    if hit is not None and hit[0] is capacity:
        return hit[1]
    tiles: dict[str, list[Tile]] = {}
    for t in capacity.tiles:
        tiles.setdefault(t.pool, []).append(t)
    nodes: dict[str, list[GpuNode]] = {}
    for n in capacity.gpu_nodes:
        nodes.setdefault(n.pool, []).append(n)
    pools: dict[str, PoolIndex] = {}
    for name, ts in tiles.items():
        pools[name] = build_dojo_pool(name, ts)
    for name, ns in nodes.items():
        pools[name] = build_gpu_pool(name, ns)
    if len(_STATIC) >= _STATIC_MAX:
        _STATIC.pop(next(iter(_STATIC)))
    _STATIC[id(capacity)] = (capacity, pools)
    return pools


@dataclass(slots=True)
class Holding:
    pool: str
    devices: tuple[str, ...]
    tenant: str


@dataclass(slots=True)
class ClusterState:
    pools: dict[str, PoolIndex]
    holdings: dict[str, Holding] = field(default_factory=dict)  # job id -> devices
    owner: dict[str, str] = field(default_factory=dict)  # device id -> job id

    @classmethod
    def from_capacity(cls, capacity: Capacity) -> ClusterState:
        pools: dict[str, PoolIndex] = {}
        for name, static in _static_pools(capacity).items():
            pools[name] = (
                fresh_dojo_pool(static) if isinstance(static, DojoPool) else fresh_gpu_pool(static)
            )
        return cls(pools)

    def allocate(
        self, job_id: str, tenant: str, pool: str, devices: tuple[str, ...], owners: bool = True
    ) -> None:
        """Record a job on devices; devices of unknown or disabled hardware are tolerated
        (a running job on a drained or failed device keeps it until it moves). With
        owners=False the caller records the device owners itself (in bulk)."""
        index = self.pools.get(pool)
        if index is not None:
            loc = index.loc
            index.take(
                devices
                if all(map(loc.__contains__, devices))
                else tuple(d for d in devices if d in loc)
            )
        self.holdings[job_id] = Holding(pool, devices, tenant)
        if owners:
            self.owner.update(dict.fromkeys(devices, job_id))

    def release(self, job_id: str) -> Holding | None:
        held = self.holdings.pop(job_id, None)
        if held is None:
            return None
        for d in held.devices:
            if self.owner.get(d) == job_id:
                del self.owner[d]
        index = self.pools.get(held.pool)
        if index is not None:
            index.give(tuple(d for d in held.devices if d in index.loc and d not in self.owner))
        return held
