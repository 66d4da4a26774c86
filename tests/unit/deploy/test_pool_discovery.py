"""Pool discovery's pure mapping: labelled nodes (the official client's V1Node models, as
CoreV1Api.list_node returns them) to the inventory's gpu_pools entries, one per pool, rack
and GPU count; and the inventory loading several racks of one pool."""

from __future__ import annotations

import pytest
from kubernetes.client import (
    V1Node,
    V1NodeCondition,
    V1NodeSpec,
    V1NodeStatus,
    V1ObjectMeta,
)

from dojocloud.scheduling.discovery import DiscoveryError, gpu_pools_from_nodes
from scheduler.inventory import parse_inventory

KNOWN = {"gpu-a100", "gpu-h100"}


def node(
    name: str,
    gpu_type: str | None = "h100",
    rack: str | None = "r1",
    count: str | None = None,
    capacity: str | None = "8",
    ready: str = "True",
    cordoned: bool = False,
) -> V1Node:
    labels = {"kubernetes.io/hostname": name}
    for key, value in (
        ("dojo.ai/gpu-type", gpu_type),
        ("dojo.ai/rack", rack),
        ("dojo.ai/gpu-count", count),
    ):
        if value is not None:
            labels[key] = value
    return V1Node(
        metadata=V1ObjectMeta(name=name, labels=labels),
        spec=V1NodeSpec(unschedulable=cordoned or None),
        status=V1NodeStatus(
            capacity={"nvidia.com/gpu": capacity} if capacity is not None else {"cpu": "64"},
            conditions=[V1NodeCondition(type="Ready", status=ready)],
        ),
    )


def test_nodes_group_by_pool_rack_and_gpu_count() -> None:
    found = gpu_pools_from_nodes(
        [
            node("h1", rack="r2"),
            node("h2", rack="r1"),
            node("h3", rack="r1"),
            node("a1", gpu_type="A100", rack="r1", count="4", capacity="8"),
            node("a2", gpu_type="a100", rack="r1", capacity=None, count="4"),
        ],
        KNOWN,
    )
    assert found.gpu_pools == [
        {"pool": "gpu-a100", "nodes": 2, "gpus_per_node": 4, "rack": "r1"},
        {"pool": "gpu-h100", "nodes": 2, "gpus_per_node": 8, "rack": "r1"},
        {"pool": "gpu-h100", "nodes": 1, "gpus_per_node": 8, "rack": "r2"},
    ]
    assert found.left_out == []


def test_cordoned_and_not_ready_nodes_are_left_out_with_the_reason() -> None:
    found = gpu_pools_from_nodes(
        [node("ok"), node("down", ready="False"), node("drained", cordoned=True)], KNOWN
    )
    assert found.gpu_pools == [{"pool": "gpu-h100", "nodes": 1, "gpus_per_node": 8, "rack": "r1"}]
    assert found.left_out == ["down: not Ready", "drained: cordoned (spec.unschedulable)"]


@pytest.mark.parametrize(
    ("bad", "names"),
    [
        (node("x1", gpu_type="v100"), ["x1", "dojo.ai/gpu-type", "'v100'", "a100, h100"]),
        (node("x2", gpu_type=""), ["x2", "dojo.ai/gpu-type"]),
        (node("x3", rack=None), ["x3", "dojo.ai/rack"]),
        (node("x4", count="eight"), ["x4", "dojo.ai/gpu-count", "'eight'"]),
        (node("x5", count="0"), ["x5", "dojo.ai/gpu-count"]),
        (node("x6", capacity=None), ["x6", "nvidia.com/gpu", "None"]),
    ],
)
def test_a_node_the_inventory_cannot_take_is_named_with_its_label(
    bad: V1Node, names: list[str]
) -> None:
    with pytest.raises(DiscoveryError) as caught:
        gpu_pools_from_nodes([node("fine"), bad], KNOWN)
    assert all(name in str(caught.value) for name in names), str(caught.value)


def test_several_racks_of_one_pool_load_as_distinct_nodes() -> None:
    found = gpu_pools_from_nodes(
        [node("h1", rack="r1"), node("h2", rack="r1"), node("h3", rack="r2")], KNOWN
    )
    capacity = parse_inventory({"gpu_pools": found.gpu_pools})
    ids = [n.id for n in capacity.gpu_nodes]
    assert ids == ["gpu-h100/n0", "gpu-h100/n1", "gpu-h100/n2"]
    assert sum(n.gpus for n in capacity.gpu_nodes) == 24
