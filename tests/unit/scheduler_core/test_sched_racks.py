"""GPU racks: a job above one node takes whole nodes (and its remainder's node) within one
rack when one rack holds it: the rack with the fewest whole free nodes that does, so large
racks stay whole; else whole nodes across racks. Each row: the nodes' racks, the GPUs busy
on each node, the job's GPUs, and the nodes it gets (None: it waits)."""

from __future__ import annotations

import pytest

from scheduler.core import Capacity, GpuNode, Snapshot, schedule
from scheduler.inventory import parse_inventory
from tests.unit.scheduler_core.builders import FIGURES, job, running

POOL = "gpu-a100"

CASES = [
    # racks, busy GPUs per node, job GPUs, nodes placed on
    ("one rack: first whole nodes", ["", "", "", ""], [0, 0, 0, 0], 16, {"n0", "n1"}),
    ("the fuller rack that holds it", ["r0", "r1", "r1", "r0", "r0"], [0] * 5, 16, {"n1", "n2"}),
    ("skips a rack one node short", ["r0", "r1", "r1", "r1"], [0] * 4, 16, {"n1", "n2"}),
    (
        "remainder on a partly busy node of the rack",
        ["r0", "r0", "r1", "r1"],
        [0, 4, 0, 0],
        12,
        {"n0", "n1"},
    ),
    (
        "a rack without room for the remainder is passed over",
        ["r0", "r1", "r1"],
        [0, 0, 0],
        12,
        {"n1", "n2"},
    ),
    ("no rack holds it: across racks", ["r0", "r0", "r1", "r1"], [0, 8, 0, 8], 16, {"n0", "n2"}),
    ("one node's job ignores racks (best fit)", ["r0", "r1"], [0, 5], 2, {"n1"}),
    ("too few whole nodes anywhere", ["r0", "r1"], [0, 1], 16, None),
]


@pytest.mark.parametrize(
    "racks,busy,gpus,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_large_gpu_jobs_stay_in_one_rack_when_one_holds_them(
    racks: list[str], busy: list[int], gpus: int, expected: set[str] | None
) -> None:
    nodes = tuple(GpuNode(POOL, f"n{i}", rack=r) for i, r in enumerate(racks))
    held = tuple(
        running(f"r{i}", tuple(n.gpu_id(g) for g in range(b)), pool=POOL, accel=POOL, start=-1e6)
        for i, (n, b) in enumerate(zip(nodes, busy, strict=True))
        if b
    )
    snap = Snapshot(0.0, Capacity((), nodes, FIGURES), (job("j", gpus, accel=POOL),), held)
    admits = schedule(snap).admits
    if expected is None:
        assert not admits
        return
    (a,) = admits
    assert len(a.placement.devices) == gpus
    assert {d.split("/")[1] for d in a.placement.devices} == expected


def test_the_inventory_groups_consecutive_nodes_into_racks() -> None:
    cap = parse_inventory(
        {
            "gpu_pools": [
                {"pool": POOL, "nodes": 5, "nodes_per_rack": 2},
                {"pool": "gpu-h100", "nodes": 2},
            ]
        }
    )
    assert [(n.pool, n.name, n.rack) for n in cap.gpu_nodes] == [
        (POOL, "n0", "r0"),
        (POOL, "n1", "r0"),
        (POOL, "n2", "r1"),
        (POOL, "n3", "r1"),
        (POOL, "n4", "r2"),
        ("gpu-h100", "n0", "r0"),
        ("gpu-h100", "n1", "r0"),
    ]


def test_nodes_per_rack_must_be_a_positive_integer() -> None:
    with pytest.raises(ValueError, match=r"gpu_pools\[0\]\.nodes_per_rack"):
        parse_inventory({"gpu_pools": [{"pool": POOL, "nodes": 2, "nodes_per_rack": 0}]})
