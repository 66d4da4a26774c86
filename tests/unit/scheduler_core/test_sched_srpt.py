"""Shortest remaining first with preemption, minimum run time, no ping-pong, starvation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.core import JobRequest, Snapshot, TenantQuota, schedule
from scheduler.core.policies import get_policy
from scheduler.core.queue import JobQueue
from scheduler.core.quota import QuotaBook
from tests.unit.scheduler_core.builders import cluster, job, running

GPU = "gpu-a100"


def gpus(n: int) -> tuple[str, ...]:
    return tuple(f"{GPU}/n0/g{i}" for i in range(n))


@pytest.mark.parametrize("start,end,waiter_dur,preempted", [
    (0.0, 100_000.0, 500.0, True),      # far longer, ran past the minimum: outrun
    (900.0, 100_000.0, 500.0, False),   # ran 100 s < minimum run time
    (0.0, 1_500.0, 500.0, False),       # 500 s left: less than twice the waiter's
    (0.0, 100_000.0, 60_000.0, False),  # waiter not short enough
])
def test_shorter_job_preempts_much_longer_one(start: float, end: float, waiter_dur: float,
                                              preempted: bool) -> None:
    run = (running("long", gpus(8), GPU, start=start, end=end, accel=GPU),)
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("short", 8, GPU, dur=waiter_dur),), run))
    assert [p.job_id for p in d.preemptions] == (["long"] if preempted else [])
    if preempted:
        assert d.preemptions[0].kind == "shorter"


def test_shorter_never_preempts_another_tenant_within_its_quota() -> None:
    tenants = {"a": TenantQuota(nominal={GPU: 4}), "b": TenantQuota(nominal={GPU: 4})}
    run = (running("long", gpus(4), GPU, tenant="b", end=100_000.0, accel=GPU),
           running("mine", tuple(f"{GPU}/n0/g{i}" for i in range(4, 8)), GPU, tenant="a",
                   end=200_000.0, accel=GPU))
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("s", 4, GPU, dur=100),), run, tenants))
    assert [p.job_id for p in d.preemptions] == ["mine"]   # b is within nominal


def test_no_ping_pong_between_shorter_jobs() -> None:
    r = replace(running("w", gpus(8), GPU, start=0.0, end=100_000.0, accel=GPU),
                displaced=frozenset({"v"}))
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("v", 8, GPU, dur=10.0),), (r,)))
    assert not d.preemptions


def test_queue_orders_by_remaining_time_within_a_tenant() -> None:
    jobs = (job("long", 1, GPU, t=0, dur=9000), job("short", 1, GPU, t=5, dur=60),
            JobRequest("half", "a", (GPU,), 1, 1.0, est_duration_s=9000, attained_service_s=8990))
    q = JobQueue(get_policy("default"), jobs)
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}))] == ["half", "short", "long"]


def test_starvation_guard_promotes_a_job_that_waited_too_long() -> None:
    policy = replace(get_policy("default"), starvation_s=1000.0)
    jobs = (job("long", 1, GPU, t=0, dur=9000), job("short", 1, GPU, t=500, dur=60))
    q = JobQueue(policy, jobs)
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}), now=900.0)] == ["short", "long"]
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}), now=1001.0)] == ["long", "short"]
