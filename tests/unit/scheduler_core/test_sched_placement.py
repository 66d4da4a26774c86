"""Placement: contiguity, best fit, no sharing, GPU node rules."""

from __future__ import annotations

import pytest

from scheduler.core import Snapshot, schedule
from scheduler.core.mesh import _connected
from tests.unit.scheduler_core.builders import cluster, job, running, tile


def _bits(devices: tuple[str, ...]) -> int:
    mask = 0
    for d in devices:
        rc = d.rsplit("/", 1)[1]
        mask |= 1 << (int(rc[1]) * 3 + int(rc[3]))
    return mask


def _trays(devices: tuple[str, ...]) -> set[str]:
    return {d.rsplit("/", 1)[0] for d in devices}


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6])
def test_small_dojo_jobs_form_a_connected_submesh_in_one_tray(count: int) -> None:
    d = schedule(Snapshot(0.0, cluster(), (job("j", count),)))
    (a,) = d.admits
    assert len(_trays(a.placement.devices)) == 1
    assert len(a.placement.devices) == count
    assert _connected(_bits(a.placement.devices))


@pytest.mark.parametrize("count,trays", [(7, 2), (12, 2), (13, 3), (24, 4)])
def test_large_dojo_jobs_use_whole_trays_then_whole_cabinets(count: int, trays: int) -> None:
    d = schedule(Snapshot(0.0, cluster(cabinets=4), (job("j", count),)))
    (a,) = d.admits
    assert len(set(a.placement.devices)) == count
    assert len(_trays(a.placement.devices)) == trays
    cabinets = {d.split("/")[2] for d in a.placement.devices}
    assert len(cabinets) == -(-count // 12)


def test_best_fit_prefers_the_fuller_tray_and_keeps_an_empty_one_whole() -> None:
    # tray 0 has 4 tiles busy (2 free), tray 1 is empty: a 2-tile job goes to tray 0
    busy = (tile(0, 0, 0, 0), tile(0, 0, 0, 1), tile(0, 0, 1, 0), tile(0, 0, 1, 1))
    snap = Snapshot(0.0, cluster(), (job("j", 2, tenant="b"),), (running("r", busy),))
    (a,) = schedule(snap).admits
    assert _trays(a.placement.devices) == {"dojo/e0/c0/t0"}
    assert not set(a.placement.devices) & set(busy)


def test_no_device_is_shared_and_full_trays_make_jobs_wait() -> None:
    snap = Snapshot(
        0.0, cluster(cabinets=1, trays=1), tuple(job(f"j{i}", 4, t=i) for i in range(2))
    )
    d = schedule(snap)
    assert [a.job_id for a in d.admits] == ["j0"]
    assert d.pending[0].job_id == "j1" and "largest free block 2" in d.pending[0].reason


@pytest.mark.parametrize("policy", ["fifo", "las", "default"])
def test_gpu_jobs_up_to_eight_stay_on_one_node_best_fit(policy: str) -> None:
    busy = tuple(f"gpu-a100/n1/g{i}" for i in range(5))
    snap = Snapshot(
        0.0,
        cluster(gpu_nodes=3),
        (job("j", 3, "gpu-a100"),),
        (running("r", busy, "gpu-a100", accel="gpu-a100"),),
    )
    (a,) = schedule(snap, policy).admits
    assert {d.split("/")[1] for d in a.placement.devices} == {"n1"}  # the node with 3 free


def test_gpu_jobs_above_eight_take_whole_nodes() -> None:
    busy = ("gpu-a100/n0/g0",)
    snap = Snapshot(
        0.0,
        cluster(gpu_nodes=3),
        (job("j", 16, "gpu-a100"),),
        (running("r", busy, "gpu-a100", accel="gpu-a100"),),
    )
    (a,) = schedule(snap).admits
    assert {d.split("/")[1] for d in a.placement.devices} == {"n1", "n2"}


def test_request_bigger_than_the_pool_is_infeasible() -> None:
    d = schedule(Snapshot(0.0, cluster(), (job("big", 50),)))
    assert d.pending[0].infeasible and "infeasible" in d.pending[0].reason


def test_unknown_accelerator_is_infeasible() -> None:
    d = schedule(Snapshot(0.0, cluster(), (job("x", 1, "gpu-b200"),)))
    assert d.pending[0].infeasible
