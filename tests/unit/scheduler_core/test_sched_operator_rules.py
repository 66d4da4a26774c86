"""Operator rules, the one owner: which devices a target hits and the Preempt (reason, kind,
grace) each action makes. The platform's database actions build theirs through these."""

from __future__ import annotations

import pytest

from scheduler.core import Preempt, Snapshot
from scheduler.core import operator_rules as rules
from tests.unit.scheduler_core.builders import cluster, running, tile


@pytest.mark.parametrize(
    ("device", "target", "hit"),
    [
        ("dojo/e0/c0/t0/r0c1", "dojo/e0/c0/t0/r0c1", True),  # the device itself
        ("dojo/e0/c0/t0/r0c1", "dojo/e0/c0/t0", True),  # its tray
        ("dojo/e0/c0/t0/r0c1", "dojo/e0/c0", True),  # its cabinet
        ("dojo/e0/c01/t0/r0c1", "dojo/e0/c0", False),  # a prefix of a name is no group
        ("gpu-a100/n10/g0", "gpu-a100/n1", False),
        ("gpu-a100/n1/g0", "gpu-a100/n1", True),
        ("gpu-a100/n1", "gpu-a100/n1/g0", False),  # a node is not under its GPU
    ],
)
def test_hits(device: str, target: str, hit: bool) -> None:
    assert rules.hits(device, target) is hit


def test_each_action_makes_its_preempt() -> None:
    assert rules.drain_preempt("j", "dojo/e0/c0", 30.0, "fan (by ops)") == Preempt(
        "j", "drain: dojo/e0/c0 is being drained: fan (by ops)", None, 30.0, "drain"
    )
    assert rules.failure_preempt("j", "gpu-a100/n0") == Preempt(
        "j", "failure: gpu-a100/n0 failed; resumes from its last checkpoint", None, 0.0, "failure"
    )
    assert rules.operator_preempt("j", "rebalance (by ops)", 30.0) == Preempt(
        "j", "operator: rebalance (by ops)", None, 30.0, "operator"
    )
    assert rules.requeue_preempt("j", "requeue (by ops)") == Preempt(
        "j", "operator: requeue (by ops)", None, 0.0, "operator"
    )


def test_snapshot_actions_use_the_same_preempts() -> None:
    on_t0 = running("r", (tile(0, 0, 0, 0),))
    snap = Snapshot(0.0, cluster(cabinets=1, trays=2), (), (on_t0,), grace_period_s=12.0)
    _, evicted = rules.drain(snap, "dojo/e0/c0/t0", evict=True)
    assert evicted == (rules.drain_preempt("r", "dojo/e0/c0/t0", 12.0),)
    _, failed = rules.mark_failed(snap, "dojo/e0/c0/t0")
    assert failed == (rules.failure_preempt("r", "dojo/e0/c0/t0"),)
    with pytest.raises(ValueError, match="matches"):
        rules.undrain(snap, "dojo/e0/c01")
