"""GPU pools from a Kubernetes cluster's labelled nodes (`manage.py sync_inventory
--from-kubernetes`). Pure: takes the nodes as the official client's V1Node objects and
returns the inventory's `gpu_pools` entries; listing them is the command's job.

A node joins a pool through three labels: `dojo.ai/gpu-type` (h100 → pool `gpu-h100`),
`dojo.ai/gpu-count` (its GPUs; without it, the node's `nvidia.com/gpu` capacity) and
`dojo.ai/rack`. Nodes of one pool, rack and GPU count form one entry, in the shape of
deploy/clusters/dev.yaml's `gpu_pools` plus `rack:`. A cordoned or not-Ready node is left
out (and said so): the scheduler must not place work where the kubelet will not run it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

GPU_TYPE_LABEL = "dojo.ai/gpu-type"
GPU_COUNT_LABEL = "dojo.ai/gpu-count"
RACK_LABEL = "dojo.ai/rack"
GPU_RESOURCE = "nvidia.com/gpu"
# The label selector the command lists nodes with: only nodes that name a GPU type.
SELECTOR = GPU_TYPE_LABEL


class DiscoveryError(ValueError):
    """A labelled node the inventory cannot take; the message names the node and label."""


@dataclass(frozen=True)
class Discovered:
    gpu_pools: list[dict[str, Any]]
    left_out: list[str]  # "node: why", for nodes labelled but not schedulable


def gpu_pools_from_nodes(nodes: Iterable[Any], known_pools: Collection[str]) -> Discovered:
    """`nodes`: V1Node objects (labels in metadata.labels). `known_pools`: the accelerator
    types the hardware figures know (`gpu-a100`, `gpu-h100`, …)."""
    groups: Counter[tuple[str, str, int]] = Counter()
    left_out: list[str] = []
    for node in nodes:
        name = node.metadata.name
        why = _unschedulable(node)
        if why:
            left_out.append(f"{name}: {why}")
            continue
        pool = _pool(node, known_pools)
        groups[(pool, _rack(node), _gpu_count(node))] += 1
    pools = [
        {"pool": pool, "nodes": count, "gpus_per_node": gpus, "rack": rack}
        for (pool, rack, gpus), count in sorted(groups.items())
    ]
    return Discovered(gpu_pools=pools, left_out=sorted(left_out))


def _labels(node: Any) -> dict[str, str]:
    return dict(node.metadata.labels or {})


def _pool(node: Any, known_pools: Collection[str]) -> str:
    gpu_type = _labels(node).get(GPU_TYPE_LABEL, "").strip().lower()
    pool = f"gpu-{gpu_type}"
    if not gpu_type or pool not in known_pools:
        raise DiscoveryError(
            f"node {node.metadata.name}: label {GPU_TYPE_LABEL}={gpu_type!r} is not a known "
            f"GPU type (known: {', '.join(sorted(p.removeprefix('gpu-') for p in known_pools))})"
        )
    return pool


def _rack(node: Any) -> str:
    rack = _labels(node).get(RACK_LABEL, "").strip()
    if not rack:
        raise DiscoveryError(f"node {node.metadata.name}: label {RACK_LABEL} is missing")
    return rack


def _gpu_count(node: Any) -> int:
    """The node's `dojo.ai/gpu-count` label, else its `nvidia.com/gpu` capacity."""
    labelled = _labels(node).get(GPU_COUNT_LABEL)
    capacity = (node.status.capacity or {}) if node.status else {}
    raw, source = (
        (labelled, f"label {GPU_COUNT_LABEL}")
        if labelled is not None
        else (capacity.get(GPU_RESOURCE), f"capacity {GPU_RESOURCE}")
    )
    try:
        count = int(str(raw))
    except ValueError:
        count = 0
    if count < 1:
        raise DiscoveryError(
            f"node {node.metadata.name}: {source} must be a positive whole number of GPUs, "
            f"got {raw!r}"
        )
    return count


def _unschedulable(node: Any) -> str:
    if node.spec is not None and node.spec.unschedulable:
        return "cordoned (spec.unschedulable)"
    conditions = (node.status.conditions or []) if node.status else []
    ready = next((c for c in conditions if c.type == "Ready"), None)
    if ready is None or ready.status != "True":
        return "not Ready"
    return ""
