"""Whole decisions as table rows (kueue's scheduler_test.go habit): each row is a small
snapshot and policy, and everything one pass decides for it: the admits with their exact
devices, the preemptions (victim, for whom, kind) and every pending job with its position
and reason code. A row that needs a new field of Decisions to say what happened is the
place to add that field's check."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from scheduler.core import (
    Capacity,
    DeviceState,
    GpuNode,
    JobRequest,
    Pending,
    Preempt,
    ReasonCode,
    Snapshot,
    TenantQuota,
    schedule,
)
from scheduler.core.priority import priority_value
from tests.unit.scheduler_core.builders import cluster, job, running, tile

GPU = "gpu-a100"
H100 = "gpu-h100"
TILE = "dojo-tile"
C = ReasonCode
HI, LO = priority_value("high"), priority_value("low")

Admitted = tuple[str, str, tuple[str, ...], ReasonCode]  # job, accelerator, devices, code
Preempted = tuple[str, str, str]  # victim, for job, kind
Waiting = tuple[str, int, ReasonCode]  # job, queue position, code


@dataclass(frozen=True)
class Row:
    snapshot: Snapshot
    policy: str = "default"
    admits: tuple[Admitted, ...] = ()
    preempts: tuple[Preempted, ...] = ()
    pending: tuple[Waiting, ...] = ()


def row(name: str, snapshot: Snapshot, policy: str = "default", **expected: Any) -> Any:
    return pytest.param(Row(snapshot, policy, **expected), id=name)


def gpus(node: int, n: int, start: int = 0, pool: str = GPU) -> tuple[str, ...]:
    return tuple(f"{pool}/n{node}/g{i}" for i in range(start, start + n))


def tiles(t: int, *cells: tuple[int, int], c: int = 0) -> tuple[str, ...]:
    return tuple(tile(c, t, r, col) for r, col in cells)


TRAY = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2))


def gpu_run(jid: str, devices: tuple[str, ...], **kw: Any) -> Any:
    return running(jid, devices, GPU, accel=GPU, **kw)


def quotas(**nominal: int) -> dict[str, TenantQuota]:
    return {t: TenantQuota(nominal={GPU: n}) for t, n in nominal.items()}


def snap(
    capacity: Capacity,
    queued: tuple[JobRequest, ...],
    running: tuple[Any, ...] = (),
    tenants: dict[str, TenantQuota] | None = None,
    now: float = 1000.0,
) -> Snapshot:
    return Snapshot(now, capacity, queued, running, tenants or {})


DRAINED_TRAY = replace(
    cluster(trays=2),
    tiles=tuple(
        replace(t, state=DeviceState.DRAINING) if t.tray == 0 else t for t in cluster(trays=2).tiles
    ),
)
FAILED_GPU = Capacity((), (GpuNode(GPU, "n0", failed_gpus=frozenset({3})), GpuNode(GPU, "n1")))
H100_AND_TILES = Capacity(cluster(trays=1).tiles, tuple(GpuNode(H100, f"n{i}") for i in range(2)))
WEEK = 7 * 24 * 3600.0

ROWS = [
    # --- placement -------------------------------------------------------------------------
    row(
        "small dojo job fits in one tray",
        snap(cluster(trays=2), (job("j", 3),)),
        admits=(("j", TILE, tiles(0, (0, 0), (0, 1), (0, 2)), C.PLACED),),
    ),
    row(
        "dojo job takes a compact sub-mesh of the fuller tray",
        snap(cluster(trays=2), (job("j", 4),), (running("r", tiles(0, (0, 0)), end=5000.0),)),
        admits=(("j", TILE, tiles(0, (0, 1), (0, 2), (1, 1), (1, 2)), C.PLACED),),
    ),
    row(
        "twelve tiles take two whole trays of one cabinet",
        snap(cluster(cabinets=2, trays=2), (job("j", 12),)),
        admits=(("j", TILE, tiles(0, *TRAY) + tiles(1, *TRAY), C.PLACED),),
    ),
    row(
        "gpu job up to eight stays on the fuller node",
        snap(cluster(gpu_nodes=2), (job("j", 3, GPU),), (gpu_run("r", gpus(0, 5), end=5000.0),)),
        admits=(("j", GPU, gpus(0, 3, 5), C.PLACED),),
    ),
    row(
        "gpu job above eight takes whole nodes and waits when two are not whole",
        snap(
            cluster(gpu_nodes=3),
            (job("big", 16, GPU, dur=100.0), job("huge", 16, GPU, t=1, dur=100.0)),
            (gpu_run("r", gpus(0, 1), end=5000.0),),
        ),
        admits=(("big", GPU, gpus(1, 8) + gpus(2, 8), C.PLACED),),
        pending=(("huge", 2, C.NO_CAPACITY),),
    ),
    row(
        "no free block of the size: the job waits for capacity",
        snap(
            cluster(gpu_nodes=1),
            (job("j", 4, GPU, dur=100.0), job("k", 4, GPU, t=1, dur=100.0)),
            (gpu_run("r", gpus(0, 6), start=900.0),),
        ),
        # k: its size already failed on all free devices, reservation or not
        pending=(("j", 1, C.HOLDS_RESERVATION), ("k", 2, C.NO_CAPACITY)),
    ),
    row(
        "heterogeneous job takes its second accelerator when the first is full",
        snap(
            H100_AND_TILES,
            (
                JobRequest(
                    "j",
                    "a",
                    (TILE, H100),
                    1,
                    0.0,
                    est_durations={TILE: 100.0, H100: 400.0},
                    counts={H100: 4},
                ),
            ),
            (running("r", tiles(0, *TRAY), end=50_000.0, start=900.0),),
        ),
        admits=(("j", H100, gpus(0, 4, pool=H100), C.PLACED),),
    ),
    row(
        "heterogeneous job goes where it finishes first",
        snap(
            H100_AND_TILES,
            (
                JobRequest(
                    "j",
                    "a",
                    (H100, TILE),
                    4,
                    0.0,
                    est_durations={TILE: 100.0, H100: 400.0},
                    counts={TILE: 1},
                ),
            ),
        ),
        admits=(("j", TILE, tiles(0, (0, 0)), C.PLACED),),
    ),
    row(
        "request larger than any pool, or no pool at all, is infeasible",
        snap(cluster(trays=2), (job("big", 13), job("odd", 1, "gpu-x", t=1), job("ok", 1, t=2))),
        admits=(("ok", TILE, tiles(0, (0, 0)), C.PLACED),),
        pending=(("big", 1, C.INFEASIBLE), ("odd", 2, C.INFEASIBLE)),
    ),
    # --- hardware out of service -----------------------------------------------------------
    row(
        "drained tray: a job that needs it waits for hardware, a smaller one goes elsewhere",
        snap(DRAINED_TRAY, (job("all", 12), job("half", 6, t=1))),
        admits=(("half", TILE, tiles(1, *TRAY), C.PLACED),),
        pending=(("all", 1, C.HARDWARE_OUT_OF_SERVICE),),
    ),
    row(
        "failed gpu: an eight-gpu job skips the node that lost one",
        snap(FAILED_GPU, (job("j", 8, GPU), job("k", 8, GPU, t=1))),
        admits=(("j", GPU, gpus(1, 8), C.PLACED),),
        pending=(("k", 2, C.NO_CAPACITY),),
    ),
    # --- quotas and fair share -------------------------------------------------------------
    row(
        "borrowing limit caps a tenant; another tenant still starts",
        snap(
            cluster(gpu_nodes=2),
            (job("a1", 8, GPU, tenant="a"), job("b1", 4, GPU, tenant="b", t=1)),
            (gpu_run("r", gpus(0, 4), start=900.0),),
            {
                "a": TenantQuota(nominal={GPU: 4}, borrowing_limit={GPU: 4}),
                "b": TenantQuota(nominal={GPU: 12}),
            },
        ),
        admits=(("b1", GPU, gpus(0, 4, 4), C.PLACED),),
        pending=(("a1", 2, C.QUOTA_EXCEEDED),),
    ),  # b holds less: it goes first
    row(
        "a tenant borrows the idle nominal of its cohort",
        snap(cluster(gpu_nodes=2), (job("a1", 12, GPU, tenant="a"),), (), quotas(a=8, b=8)),
        admits=(("a1", GPU, gpus(0, 8) + gpus(1, 4), C.PLACED),),
    ),
    row(
        "above nominal with the cohort lent out: nothing to borrow",
        snap(
            cluster(gpu_nodes=2),
            (job("a2", 4, GPU, tenant="a"),),
            (
                gpu_run("a1", gpus(0, 8), start=900.0),
                gpu_run("b1", gpus(1, 4), tenant="b", start=900.0),
            ),
            {
                "a": TenantQuota(nominal={GPU: 8}),
                "b": TenantQuota(nominal={GPU: 8}, lending_limit={GPU: 0}),
            },
        ),
        pending=(("a2", 1, C.QUOTA_COHORT_FULL),),
    ),
    row(
        "fair share: the tenant holding less goes first",
        snap(
            cluster(gpu_nodes=1),
            (
                job("a1", 2, GPU, tenant="a", dur=9000.0),
                job("a2", 2, GPU, tenant="a", t=1, dur=9000.0),
                job("b1", 2, GPU, tenant="b", t=2, dur=9000.0),
                job("b2", 2, GPU, tenant="b", t=3, dur=9000.0),
            ),
            (gpu_run("ra", gpus(0, 4), tenant="a", end=15_000.0),),
        ),  # not twice as long
        admits=(("b1", GPU, gpus(0, 2, 4), C.PLACED), ("b2", GPU, gpus(0, 2, 6), C.PLACED)),
        pending=(("a1", 3, C.HOLDS_RESERVATION), ("a2", 4, C.NO_CAPACITY)),
    ),
    # --- preemption ------------------------------------------------------------------------
    row(
        "reclaim: a tenant within nominal stops a borrower",
        snap(
            cluster(gpu_nodes=2),
            (job("a1", 8, GPU, tenant="a"),),
            (
                gpu_run("b1", gpus(0, 8), tenant="b", ckpt=990.0),
                gpu_run("b2", gpus(1, 8), tenant="b", ckpt=0.0),
            ),
            quotas(a=8, b=8),
        ),
        preempts=(("b1", "a1", "reclaim"),),
        pending=(("a1", 1, C.PREEMPTING),),
    ),
    row(
        "minimum run time protects a borrower from reclaim",
        snap(
            cluster(gpu_nodes=2),
            (job("a1", 8, GPU, tenant="a", dur=100.0),),
            (
                gpu_run("b1", gpus(0, 8), tenant="b", start=800.0),
                gpu_run("b2", gpus(1, 8), tenant="b", start=900.0),
            ),
            quotas(a=8, b=8),
        ),
        pending=(("a1", 1, C.QUOTA_NEEDS_RECLAIM),),
    ),
    row(
        "higher priority displaces a lower-priority gang",
        snap(
            cluster(gpu_nodes=1),
            (job("hi", 4, GPU, priority=HI),),
            (gpu_run("lo", gpus(0, 8), priority=LO, start=990.0),),
        ),
        preempts=(("lo", "hi", "priority"),),
        pending=(("hi", 1, C.PREEMPTING),),
    ),
    row(
        "a short job preempts a much longer one",
        snap(
            cluster(gpu_nodes=1),
            (job("short", 8, GPU, dur=500.0),),
            (gpu_run("long", gpus(0, 8), end=100_000.0),),
        ),
        preempts=(("long", "short", "shorter"),),
        pending=(("short", 1, C.PREEMPTING),),
    ),
    row(
        "minimum run time protects a long job from a short one",
        snap(
            cluster(gpu_nodes=1),
            (job("short", 8, GPU, dur=500.0),),
            (gpu_run("long", gpus(0, 8), start=900.0, end=100_000.0),),
        ),
        pending=(("short", 1, C.HOLDS_RESERVATION),),
    ),
    row(
        "starvation guard: a job that starved is no victim of a shorter one",
        snap(
            cluster(gpu_nodes=1),
            (job("short", 8, GPU, dur=500.0, t=900.0),),
            (replace(gpu_run("long", gpus(0, 8), end=100_000.0), submit_time=-WEEK - 1.0),),
        ),
        pending=(("short", 1, C.HOLDS_RESERVATION),),
    ),
    row(
        "starvation guard: the starving job goes first and holds the reservation",
        snap(
            cluster(gpu_nodes=1),
            (
                job("old", 8, GPU, t=-WEEK - 10.0, dur=9000.0),
                job("new", 2, GPU, t=990.0, dur=60.0),
                job("mid", 2, GPU, t=995.0, dur=600.0),
            ),
            (gpu_run("r", gpus(0, 6), start=900.0, end=1500.0),),
        ),
        admits=(("new", GPU, gpus(0, 2, 6), C.BACKFILLED),),
        pending=(("old", 1, C.HOLDS_RESERVATION), ("mid", 3, C.BACKFILL_BLOCKED)),
    ),
    row(
        "victims still checkpointing: their waiter keeps waiting for them",
        snap(
            cluster(gpu_nodes=1),
            (job("w", 8, GPU, priority=HI),),
            (replace(gpu_run("v", gpus(0, 8), priority=LO), preempted_for="w"),),
        ),
        pending=(("w", 1, C.WAITING_FOR_VICTIMS),),
    ),
    # --- backfill and strict FIFO ----------------------------------------------------------
    row(
        "EASY backfill: a job that ends before the head's start may use its devices",
        snap(
            cluster(gpu_nodes=1),
            (
                job("head", 8, GPU, t=0, dur=50.0),
                job("long", 2, GPU, t=1, dur=500.0),
                job("short", 2, GPU, t=2, dur=50.0),
            ),
            (gpu_run("r", gpus(0, 6), end=1100.0, start=900.0),),
        ),
        admits=(("short", GPU, gpus(0, 2, 6), C.BACKFILLED),),
        pending=(("head", 1, C.HOLDS_RESERVATION), ("long", 3, C.BACKFILL_BLOCKED)),
    ),
    row(
        "EASY backfill blocked: no end estimate, no start time, no backfill",
        snap(
            cluster(gpu_nodes=1),
            (job("head", 8, GPU, t=0, dur=50.0), job("short", 2, GPU, t=2, dur=50.0)),
            (gpu_run("r", gpus(0, 6), start=900.0),),
        ),
        pending=(("head", 1, C.HOLDS_RESERVATION), ("short", 2, C.BACKFILL_BLOCKED)),
    ),
    row(
        "strict FIFO: the first job that waits blocks the rest",
        snap(
            cluster(gpu_nodes=1),
            (job("head", 8, GPU, t=0), job("small", 1, GPU, t=1)),
            (gpu_run("r", gpus(0, 6)),),
        ),
        "fifo",
        pending=(("head", 1, C.NO_CAPACITY), ("small", 2, C.HEAD_OF_LINE_BLOCKED)),
    ),
    row(
        "least attained service skips a job that cannot start",
        snap(
            cluster(gpu_nodes=1),
            (job("head", 8, GPU, t=0), job("small", 1, GPU, t=1)),
            (gpu_run("r", gpus(0, 6), start=900.0),),  # ran 100 s: below the minimum run
        ),
        "las",
        admits=(("small", GPU, gpus(0, 1, 6), C.PLACED),),
        pending=(("head", 1, C.NO_CAPACITY),),
    ),
    row(
        "least attained service: a new job preempts one a queue above",
        snap(
            cluster(gpu_nodes=1),
            (job("head", 8, GPU, t=0), job("small", 1, GPU, t=1)),
            (gpu_run("r", gpus(0, 6)),),  # 6 GPUs x 1000 s: past the first queue
        ),
        "las",
        preempts=(("r", "head", "service"),),
        pending=(("head", 1, C.PREEMPTING), ("small", 2, C.NO_CAPACITY)),
    ),
    # --- migration (default: empty a node by moving small jobs into holes) ----------------
    row(
        "a whole-node waiter moves the small jobs of one node into holes elsewhere",
        snap(
            cluster(gpu_nodes=3),
            (job("big", 8, GPU, t=0),),
            (
                gpu_run("a", gpus(0, 6), start=900.0),  # 2 free on n0
                gpu_run("b", gpus(1, 5), start=900.0),  # 3 free on n1
                gpu_run("c1", gpus(2, 1), start=900.0),  # n2: two 1-GPU jobs and a 2-GPU job
                gpu_run("c2", gpus(2, 1, 1), start=900.0),
                gpu_run("c3", gpus(2, 2, 2), start=900.0),
            ),
        ),
        preempts=(("c1", "big", "migrate"), ("c2", "big", "migrate"), ("c3", "big", "migrate")),
        pending=(("big", 1, C.PREEMPTING),),
    ),
    row(
        "no migration when the movers would not fit in the holes elsewhere",
        snap(
            cluster(gpu_nodes=2),
            (job("big", 8, GPU, t=0),),
            (
                gpu_run("a", gpus(0, 6), start=900.0),  # 2 free on n0
                gpu_run("b", gpus(1, 3), start=900.0),  # 3 GPUs to move, 2 free elsewhere
            ),
        ),
        pending=(("big", 1, C.HOLDS_RESERVATION),),
    ),
    row(
        "a job of the waiter's own size never moves (they would only trade places)",
        snap(
            cluster(gpu_nodes=2),
            (job("half", 4, GPU, t=0),),
            (
                gpu_run("a", gpus(0, 5), start=900.0),  # 3 free on n0
                gpu_run("b", gpus(1, 4), start=900.0),
                gpu_run("c", gpus(1, 3, 4), start=900.0),  # 1 free on n1
            ),
        ),
        preempts=(("c", "half", "migrate"),),
        pending=(("half", 1, C.PREEMPTING),),
    ),
    # --- preemptible (spot) jobs -----------------------------------------------------------
    row(
        "a preemptible job is the first victim, before a lower-priority one",
        snap(
            cluster(gpu_nodes=1),
            (job("w", 4, GPU, priority=1),),
            (
                gpu_run("low", gpus(0, 4), start=900.0),
                replace(gpu_run("spot", gpus(0, 4, 4), priority=1, start=900.0), spot=True),
            ),
        ),
        preempts=(("spot", "w", "preemptible"),),
        pending=(("w", 1, C.PREEMPTING),),
    ),
    row(
        "a preemptible job is a victim of another tenant's waiter of lower priority",
        snap(
            cluster(gpu_nodes=1),
            (job("w", 8, GPU, tenant="b"),),
            (replace(gpu_run("spot", gpus(0, 8), priority=2, start=999.0), spot=True),),
        ),
        preempts=(("spot", "w", "preemptible"),),
        pending=(("w", 1, C.PREEMPTING),),
    ),
    row(
        "a preemptible waiter does not preempt another preemptible job",
        snap(
            cluster(gpu_nodes=1),
            (replace(job("w", 8, GPU, tenant="b", dur=50.0), spot=True),),
            (replace(gpu_run("spot", gpus(0, 8), priority=0, start=999.0), spot=True),),
        ),
        pending=(("w", 1, C.HOLDS_RESERVATION),),
    ),
]


@pytest.mark.parametrize("case", ROWS)
def test_pass_decides_the_whole_row(case: Row) -> None:
    d = schedule(case.snapshot, case.policy)
    assert [
        (a.job_id, a.placement.accelerator, a.placement.devices, a.code) for a in d.admits
    ] == list(case.admits)
    for a in d.admits:  # the pool is the devices' and the accelerator's
        assert all(dev.startswith(a.placement.pool + "/") for dev in a.placement.devices)
    assert [(p.job_id, p.for_job_id, p.kind) for p in d.preemptions] == list(case.preempts)
    assert all(
        p.code == p.kind and p.grace_s == case.snapshot.grace_period_s for p in d.preemptions
    )
    assert [(p.job_id, p.position, p.code) for p in d.pending] == list(case.pending)
    assert all(p.infeasible is (p.code is C.INFEASIBLE) and p.reason for p in d.pending)


@pytest.mark.parametrize("case", ROWS)
def test_incremental_scheduler_decides_the_same_row(case: Row) -> None:
    """The incremental Scheduler (the simulator's and the live loop's) runs the same pass."""
    from scheduler.core.incremental import Following

    assert Following(case.policy)(case.snapshot) == schedule(case.snapshot, case.policy)


def test_every_code_a_pass_can_give_has_a_row() -> None:
    seen = {
        p.code for r in ROWS for p in schedule(r.values[0].snapshot, r.values[0].policy).pending
    }
    seen |= {
        a.code for r in ROWS for a in schedule(r.values[0].snapshot, r.values[0].policy).admits
    }
    seen |= {
        p.code for r in ROWS for p in schedule(r.values[0].snapshot, r.values[0].policy).preemptions
    }
    # issued by operator rules, and by the platform for a budget's cap, not by a pass
    operator = {C.OPERATOR, C.DRAIN, C.FAILURE, C.BUDGET}
    assert seen == set(ReasonCode) - operator


def test_codes_are_stable_lower_case_strings_and_a_preemption_s_code_is_its_kind() -> None:
    assert all(c == c.name.lower() and str(c) == c.value for c in ReasonCode)
    for kind in ("reclaim", "priority", "shorter", "migrate", "operator", "drain", "failure"):
        assert Preempt("j", f"{kind}: why", kind=kind).code == kind
    assert Pending("j", "built by hand", 1).code is None
