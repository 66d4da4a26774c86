"""The cluster inventory this platform runs on (DOJO_CLUSTER): what the spec validation, the
estimator and the scheduling loop all read. Loaded once per file and cached."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from scheduler.core import Capacity
from scheduler.inventory import load_inventory


@lru_cache(maxsize=4)
def _inventory(path: str) -> Capacity:
    return load_inventory(path)


def inventory() -> Capacity:
    return _inventory(str(Path(settings.CLUSTER_FILE)))


def pool_devices() -> dict[str, int]:
    """pool -> its devices (tiles or GPUs)."""
    cap = inventory()
    per_pool: dict[str, int] = {}
    for t in cap.tiles:
        per_pool[t.pool] = per_pool.get(t.pool, 0) + 1
    for n in cap.gpu_nodes:
        per_pool[n.pool] = per_pool.get(n.pool, 0) + n.gpus
    return per_pool


def pool_sizes() -> dict[str, int]:
    """accelerator type -> devices in its largest pool."""
    cap = inventory()
    per_pool = pool_devices()
    sizes: dict[str, int] = {}
    for pool, accel in cap.pools().items():
        sizes[accel] = max(sizes.get(accel, 0), per_pool[pool])
    return sizes
