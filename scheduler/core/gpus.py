"""GPU placement: a job of <= one node's GPUs goes on one node (best fit: the node with the
fewest free GPUs that still holds it); a larger job takes whole free nodes, plus a best-fit
node for a remainder, all in one rack when one rack holds it (best fit again: the rack with
the fewest whole free nodes that does, so large racks stay whole), else across racks. Nodes
are bucketed by free-GPU count, so a fit is found in O(1) buckets instead of a scan of the
pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scheduler.core.model import DeviceState, GpuNode


@dataclass(slots=True)
class Node:
    gpu_ids: list[str]
    usable: int  # bits of GPUs that may take new work
    free: int  # usable and not allocated
    full: int  # all GPU bits of the node
    rack: int = 0  # index of its rack in the pool


@dataclass(slots=True)
class GpuPool:
    """Free-GPU index of one pool. Mutated by take/give; placement never mutates."""

    name: str
    nodes: list[Node] = field(default_factory=list)
    loc: dict[str, tuple[int, int]] = field(default_factory=dict)  # gpu id -> (node, bit)
    per_node: int = 8
    buckets: list[dict[int, None]] = field(default_factory=list)  # free count -> nodes
    kind: str = "gpu"
    usable_count: int = 0  # GPUs in service (fixed for a Capacity)

    def __post_init__(self) -> None:
        if not self.buckets:
            self.rebucket()
        self.usable_count = sum(n.usable.bit_count() for n in self.nodes)

    def rebucket(self) -> None:
        self.buckets = [{} for _ in range(self.per_node + 1)]
        for ni, n in enumerate(self.nodes):
            if n.usable:
                self.buckets[n.free.bit_count()][ni] = None

    @property
    def free_count(self) -> int:
        return sum(k * len(b) for k, b in enumerate(self.buckets))

    @property
    def total_count(self) -> int:
        return len(self.loc)

    def largest_block(self) -> int:
        for k in range(self.per_node, 0, -1):
            if self.buckets[k]:
                return k
        return 0

    def _set_free(self, ni: int, new: int) -> None:
        node = self.nodes[ni]
        if node.usable:
            del self.buckets[node.free.bit_count()][ni]
            self.buckets[new.bit_count()][ni] = None
        node.free = new

    def take(self, devices: tuple[str, ...]) -> None:
        if not devices:
            return
        loc = self.loc
        ni, bit = loc[devices[0]]
        mask = 1 << bit
        for d in devices[1:]:  # a job's GPUs come node by node: one bucket move per node
            n, bit = loc[d]
            if n != ni:
                self._set_free(ni, self.nodes[ni].free & ~mask)
                ni, mask = n, 0
            mask |= 1 << bit
        self._set_free(ni, self.nodes[ni].free & ~mask)

    def give(self, devices: tuple[str, ...]) -> None:
        for d in devices:
            ni, bit = self.loc[d]
            node = self.nodes[ni]
            self._set_free(ni, node.free | ((1 << bit) & node.usable))

    def place(self, count: int, blocked: Mapping[int, int] | None = None) -> tuple[str, ...] | None:
        """GPU ids for a `count`-GPU job, or None. `blocked`: node -> bits not to use."""
        blocked = blocked or {}
        if count <= self.per_node:
            ni = self._best_fit(count, blocked, ())
            return None if ni is None else tuple(self._ids(ni, count, blocked))
        need, rem = divmod(count, self.per_node)
        whole = [
            ni
            for ni in self.buckets[self.per_node]
            if self.nodes[ni].free == self.nodes[ni].full and not blocked.get(ni)
        ]
        if len(whole) < need:
            return None
        chosen = self._in_one_rack(whole, need, rem, blocked)
        if chosen is None:  # no rack holds it: whole nodes wherever they are
            chosen = whole[:need]
            if rem:
                ni = self._best_fit(rem, blocked, chosen)
                if ni is None:
                    return None
                chosen.append(ni)
        out = [g for ni in chosen[:need] for g in self.nodes[ni].gpu_ids]
        if rem:
            out.extend(self._ids(chosen[need], rem, blocked))
        return tuple(out)

    def _in_one_rack(
        self, whole: list[int], need: int, rem: int, blocked: Mapping[int, int]
    ) -> list[int] | None:
        """`need` whole nodes (then the remainder's node, if any) of the rack with the fewest
        whole free nodes that holds them all, or None."""
        racks: dict[int, list[int]] = {}
        for ni in whole:
            racks.setdefault(self.nodes[ni].rack, []).append(ni)
        for rack, nodes in sorted(racks.items(), key=lambda r: (len(r[1]), r[0])):
            if len(nodes) < need:
                continue
            chosen = nodes[:need]
            if not rem:
                return chosen
            last = self._best_fit(rem, blocked, chosen, rack)
            if last is not None:
                return [*chosen, last]
        return None

    def _best_fit(
        self,
        count: int,
        blocked: Mapping[int, int],
        skip: list[int] | tuple[()],
        rack: int | None = None,
    ) -> int | None:
        for k in range(count, self.per_node + 1):
            for ni in self.buckets[k]:
                if ni in skip or (rack is not None and self.nodes[ni].rack != rack):
                    continue
                if not blocked or (self.nodes[ni].free & ~blocked.get(ni, 0)).bit_count() >= count:
                    return ni
        return None

    def _ids(self, ni: int, count: int, blocked: Mapping[int, int]) -> list[str]:
        node = self.nodes[ni]
        free = node.free & ~blocked.get(ni, 0)
        out: list[str] = []
        bit = 0
        while len(out) < count:
            if free >> bit & 1:
                out.append(node.gpu_ids[bit])
            bit += 1
        return out


def build_gpu_pool(name: str, nodes: list[GpuNode]) -> GpuPool:
    """Static layout of one pool's nodes; every usable GPU starts free."""
    per_node = max(n.gpus for n in nodes)
    out: list[Node] = []
    loc: dict[str, tuple[int, int]] = {}
    racks: dict[str, int] = {}
    for ni, n in enumerate(nodes):
        ids = [n.gpu_id(i) for i in range(n.gpus)]
        full = (1 << n.gpus) - 1
        usable = 0
        if n.state is DeviceState.FREE:
            usable = full & ~sum(1 << i for i in n.failed_gpus if i < n.gpus)
        out.append(Node(ids, usable, usable, full, racks.setdefault(n.rack, len(racks))))
        for i, g in enumerate(ids):
            loc[g] = (ni, i)
    return GpuPool(name, out, loc, per_node)


def fresh_gpu_pool(static: GpuPool) -> GpuPool:
    """A copy with every usable GPU free, sharing the immutable layout."""
    nodes = [Node(n.gpu_ids, n.usable, n.usable, n.full, n.rack) for n in static.nodes]
    return GpuPool(static.name, nodes, static.loc, static.per_node)
