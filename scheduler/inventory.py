"""Reads a capacity inventory (deploy/clusters/*.yaml) into the core's Capacity, with the
hardware figures (throughput and price per accelerator type) from dojo_runtime.specs.

This module is the scheduler's I/O edge to the specs: the core receives the figures as
plain data (scheduler.core.figures) and imports nothing of dojo_runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dojo_runtime.specs import accelerator_figures
from scheduler.core.figures import Figures
from scheduler.core.model import TRAY_COLS, TRAY_ROWS, Capacity, GpuNode, Tile

MAX_TRAYS_PER_CABINET = 2


class InventoryError(ValueError):
    pass


def hardware_figures(prices: Mapping[str, float] | None = None) -> Figures:
    """The packaged specs' peak dense BF16 FLOP/s and on-demand USD per device-hour of
    every known accelerator type, as the core's Figures; `prices` (USD per device-hour by
    type: the platform's price book) override the packaged prices. One object per distinct
    price table: equal Capacities share it, so comparing them stays cheap."""
    return _figures(tuple(sorted((prices or {}).items())))


@cache
def _figures(prices: tuple[tuple[str, float], ...]) -> Figures:
    return Figures.of(
        {
            name: (f.peak_bf16_flops, f.usd_per_device_hour)
            for name, f in accelerator_figures(prices=dict(prices) or None).items()
        }
    )


def load_inventory(path: str | Path) -> Capacity:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    try:
        return parse_inventory(data)
    except InventoryError as exc:
        raise InventoryError(f"{path}: {exc}") from None


def _positive_int(entry: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InventoryError(f"{where}.{key} must be a positive integer, got {value!r}")
    return value


def parse_inventory(data: Any) -> Capacity:
    if not isinstance(data, dict):
        raise InventoryError("inventory must be a mapping")
    tiles: list[Tile] = []
    for i, pod in enumerate(data.get("dojo") or []):
        where = f"dojo[{i}]"
        pool = pod.get("pool", "dojo")
        exapods = _positive_int(pod, "exapods", where, 1)
        cabinets = _positive_int(pod, "cabinets_per_exapod", where, 10)
        trays = _positive_int(pod, "trays_per_cabinet", where, MAX_TRAYS_PER_CABINET)
        if trays > MAX_TRAYS_PER_CABINET:
            raise InventoryError(f"{where}.trays_per_cabinet must be at most 2, got {trays}")
        for e in range(exapods):
            for c in range(cabinets):
                for t in range(trays):
                    for r in range(TRAY_ROWS):
                        for col in range(TRAY_COLS):
                            tiles.append(Tile(pool, e, c, t, r, col))
    nodes: list[GpuNode] = []
    numbered: dict[str, int] = {}  # a pool's node groups (one per rack) number on in turn
    for i, gp in enumerate(data.get("gpu_pools") or []):
        where = f"gpu_pools[{i}]"
        pool = gp.get("pool")
        if not isinstance(pool, str) or not pool.startswith("gpu-"):
            raise InventoryError(f"{where}.pool must be a name like 'gpu-a100', got {pool!r}")
        count = _positive_int(gp, "nodes", where)
        per_node = _positive_int(gp, "gpus_per_node", where, 8)
        # A node group names its rack (`rack:`, as sync_inventory writes one group per rack),
        # or is cut into racks of nodes_per_rack consecutive nodes (r0, r1, ...; absent: one
        # rack); a pool's groups number their nodes on in turn.
        first = numbered.get(pool, 0)
        per_rack = _positive_int(gp, "nodes_per_rack", where, count)
        named = gp.get("rack")
        if named is not None and (not isinstance(named, str) or not named.strip()):
            raise InventoryError(f"{where}.rack must be a non-empty name, got {named!r}")
        nodes.extend(
            GpuNode(pool, f"n{first + n}", per_node, rack=named or f"r{n // per_rack}")
            for n in range(count)
        )
        numbered[pool] = first + count
    return Capacity(tiles=tuple(tiles), gpu_nodes=tuple(nodes), figures=hardware_figures())
