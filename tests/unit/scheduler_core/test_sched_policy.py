"""Policy: quotas, borrowing and reclaim, preemption victims, backfill, drain and failure."""

from __future__ import annotations

import pytest

from scheduler.core import Snapshot, TenantQuota, schedule
from scheduler.core.incremental import Scheduler
from scheduler.core.operator_rules import drain, mark_failed, undrain
from scheduler.core.priority import priority_value
from tests.unit.scheduler_core.builders import FIGURES, cluster, job, running, tile, tile_or_h100s

GPU = "gpu-a100"


def gpus(node: int, n: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"{GPU}/n{node}/g{i}" for i in range(start, start + n))


def quotas(**nominal: int) -> dict[str, TenantQuota]:
    return {t: TenantQuota(nominal={GPU: n}) for t, n in nominal.items()}


@pytest.mark.parametrize("used,ask,admitted", [(0, 8, True), (4, 4, True), (4, 8, False)])
def test_borrowing_limit_caps_a_tenant(used: int, ask: int, admitted: bool) -> None:
    tenants = {
        "a": TenantQuota(nominal={GPU: 4}, borrowing_limit={GPU: 4}),
        "b": TenantQuota(nominal={GPU: 12}),
    }
    run = (running("r", gpus(0, used), GPU, accel=GPU),) if used else ()
    d = schedule(Snapshot(0.0, cluster(gpu_nodes=2), (job("j", ask, GPU),), run, tenants))
    assert bool(d.admits) is admitted
    if not admitted:
        assert "borrowing limit" in d.pending[0].reason


def test_lending_limit_keeps_part_of_a_nominal_unlendable() -> None:
    tenants = {
        "a": TenantQuota(nominal={GPU: 8}),
        "b": TenantQuota(nominal={GPU: 8}, lending_limit={GPU: 2}),
    }
    d = schedule(
        Snapshot(0.0, cluster(gpu_nodes=2), (job("j", 8, GPU), job("k", 4, GPU, t=1)), (), tenants)
    )
    assert [a.job_id for a in d.admits] == ["j"]  # a borrows 2 at most: 8 + 4 > 10
    assert "cohort" in d.pending[0].reason


def test_tenant_without_quota_is_unlimited() -> None:
    d = schedule(
        Snapshot(0.0, cluster(gpu_nodes=2), (job("j", 16, GPU, tenant="new"),), (), quotas(a=8))
    )
    assert [a.job_id for a in d.admits] == ["j"]


def test_reclaim_preempts_the_borrower_that_loses_least_work() -> None:
    tenants = quotas(a=8, b=8)
    run = (
        running("old", gpus(0, 4), GPU, "b", start=0, ckpt=910, accel=GPU),
        running("fresh", gpus(0, 4, 4), GPU, "b", start=0, ckpt=995, accel=GPU),
        running("own", gpus(1, 8), GPU, "b", start=0, ckpt=0, accel=GPU),
    )
    d = schedule(
        Snapshot(1000.0, cluster(gpu_nodes=2), (job("j", 4, GPU, tenant="a"),), run, tenants)
    )
    assert [p.job_id for p in d.preemptions] == ["fresh"]
    assert d.preemptions[0].kind == "reclaim" and d.preemptions[0].grace_s > 0
    assert not d.admits and "preempting" in d.pending[0].reason


def test_higher_priority_displaces_lower_whole_gang_only() -> None:
    hi, lo = priority_value("high"), priority_value("low")
    run = (running("gang", gpus(0, 8), GPU, priority=lo, accel=GPU),)
    d = schedule(Snapshot(5.0, cluster(gpu_nodes=1), (job("j", 2, GPU, priority=hi),), run))
    assert [p.job_id for p in d.preemptions] == ["gang"] and d.preemptions[0].kind == "priority"


def test_equal_priority_never_preempts() -> None:
    run = (running("r", gpus(0, 8), GPU, tenant="b", accel=GPU),)
    d = schedule(Snapshot(5.0, cluster(gpu_nodes=1), (job("j", 2, GPU),), run))
    assert not d.preemptions and not d.admits


def test_no_ping_pong_in_incremental_scheduler() -> None:
    s = Scheduler(cluster(gpu_nodes=1), tenants=quotas(a=8, b=0))
    s.submit(job("b1", 8, GPU, tenant="b"))
    assert [a.job_id for a in s.schedule(0.0).admits] == ["b1"]
    s.submit(job("a1", 8, GPU, tenant="a"))
    assert not s.schedule(1.0).preemptions  # b1 has not run its minimum run time
    d = s.schedule(300.0)
    assert [p.job_id for p in d.preemptions] == ["b1"]
    assert not s.schedule(301.0).preemptions  # b1 is checkpointing: not chosen twice
    s.stop("b1")
    assert [a.job_id for a in s.schedule(361.0).admits] == ["a1"]
    assert s.state.running["a1"].displaced == frozenset({"b1"})
    s.submit(job("b1", 8, GPU, tenant="b", t=361.0))
    assert not s.schedule(5000.0).preemptions  # a1 is within nominal; b1 cannot reclaim


def test_a_job_never_preempts_the_job_that_displaced_it() -> None:
    from dataclasses import replace

    hi, lo = priority_value("high"), priority_value("low")
    r = replace(running("r", gpus(0, 8), GPU, priority=lo, accel=GPU), displaced=frozenset({"j"}))
    d = schedule(Snapshot(5.0, cluster(gpu_nodes=1), (job("j", 2, GPU, priority=hi),), (r,)))
    assert not d.preemptions


def test_backfill_never_delays_the_head_reservation() -> None:
    # 6 of 8 GPUs busy until t=100. Head wants 8; a short job (ends by 100) may use the free
    # 2, a long one may not.
    run = (running("r", gpus(0, 6), GPU, end=100.0, accel=GPU),)
    queue = (
        job("head", 8, GPU, t=0, dur=50),
        job("long", 2, GPU, t=1, dur=500),
        job("short", 2, GPU, t=2, dur=50),
    )
    d = schedule(Snapshot(10.0, cluster(gpu_nodes=1), queue, run))
    assert [a.job_id for a in d.admits] == ["short"]
    reasons = {p.job_id: p.reason for p in d.pending}
    assert "reservation" in reasons["head"] and "reserved for head" in reasons["long"]


def test_fifo_blocks_behind_the_head_and_las_skips() -> None:
    run = (running("r", gpus(0, 6), GPU, accel=GPU),)
    queue = (job("head", 8, GPU, t=0), job("small", 1, GPU, t=1))
    fifo = schedule(Snapshot(0.0, cluster(gpu_nodes=1), queue, run), "fifo")
    assert not fifo.admits and "behind head" in fifo.pending[1].reason
    las = schedule(Snapshot(0.0, cluster(gpu_nodes=1), queue, run), "las")
    assert [a.job_id for a in las.admits] == ["small"]


def test_every_pending_job_has_reason_and_distinct_position() -> None:
    queue = tuple(job(f"j{i}", 4, t=i) for i in range(10))
    d = schedule(Snapshot(0.0, cluster(cabinets=1, trays=1), queue))
    assert len(d.admits) + len(d.pending) == 10
    assert all(p.reason for p in d.pending)
    assert len({p.position for p in d.pending}) == len(d.pending)


def test_drain_and_failure_take_hardware_out_of_service() -> None:
    snap = Snapshot(
        0.0, cluster(cabinets=1, trays=2), (job("j", 6),), (running("r", (tile(0, 1, 0, 0),)),)
    )
    drained, evict = drain(snap, "dojo/e0/c0/t0")
    assert evict == ()
    d = schedule(drained)
    assert not d.admits  # t0 drained, t1 has one busy tile
    failed, preempts = mark_failed(drained, "dojo/e0/c0/t1/r0c0")
    assert [p.job_id for p in preempts] == ["r"] and preempts[0].kind == "failure"
    assert "waiting for hardware" in schedule(failed).pending[0].reason
    restored = undrain(failed, "dojo/e0/c0/t0")
    assert schedule(restored).admits[0].placement.devices[0].startswith("dojo/e0/c0/t0/")


def test_drain_with_evict_moves_running_jobs() -> None:
    snap = Snapshot(0.0, cluster(gpu_nodes=2), (), (running("r", gpus(0, 2), GPU, accel=GPU),))
    _, preempts = drain(snap, f"{GPU}/n0", evict=True)
    assert [(p.job_id, p.kind) for p in preempts] == [("r", "drain")]


def test_heterogeneous_job_goes_where_it_finishes_first() -> None:
    from scheduler.core.model import Capacity, GpuNode

    cap = Capacity(cluster().tiles, tuple(GpuNode("gpu-h100", f"n{i}") for i in range(4)), FIGURES)
    # 1 H100 is sized up to 1 tile (9x the compute): it finishes ~9x sooner there
    j = job("j", 1, accels=("gpu-h100", "dojo-tile"), dur=1000.0)
    (a,) = schedule(Snapshot(0.0, cap, (j,))).admits
    assert a.placement.accelerator == "dojo-tile"
    # equal estimates: the cheaper option wins
    tie = tile_or_h100s("t", 2)
    (b,) = schedule(Snapshot(0.0, cap, (tie,))).admits
    assert b.placement.accelerator == "gpu-h100" and len(b.placement.devices) == 2
