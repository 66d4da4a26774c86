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


@pytest.mark.parametrize(
    "start,end,waiter_dur,preempted",
    [
        (0.0, 100_000.0, 500.0, True),  # far longer, ran past the minimum: outrun
        (900.0, 100_000.0, 500.0, False),  # ran 100 s < minimum run time
        (0.0, 1_500.0, 500.0, False),  # 500 s left: less than twice the waiter's
        (0.0, 100_000.0, 60_000.0, False),  # waiter not short enough
    ],
)
def test_shorter_job_preempts_much_longer_one(
    start: float, end: float, waiter_dur: float, preempted: bool
) -> None:
    run = (running("long", gpus(8), GPU, start=start, end=end, accel=GPU),)
    d = schedule(
        Snapshot(1000.0, cluster(gpu_nodes=1), (job("short", 8, GPU, dur=waiter_dur),), run)
    )
    assert [p.job_id for p in d.preemptions] == (["long"] if preempted else [])
    if preempted:
        assert d.preemptions[0].kind == "shorter"


def test_shorter_never_preempts_another_tenant_within_its_quota() -> None:
    tenants = {"a": TenantQuota(nominal={GPU: 4}), "b": TenantQuota(nominal={GPU: 4})}
    run = (
        running("long", gpus(4), GPU, tenant="b", end=100_000.0, accel=GPU),
        running(
            "mine",
            tuple(f"{GPU}/n0/g{i}" for i in range(4, 8)),
            GPU,
            tenant="a",
            end=200_000.0,
            accel=GPU,
        ),
    )
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("s", 4, GPU, dur=100),), run, tenants))
    assert [p.job_id for p in d.preemptions] == ["mine"]  # b is within nominal


def test_no_ping_pong_between_shorter_jobs() -> None:
    r = replace(
        running("w", gpus(8), GPU, start=0.0, end=100_000.0, accel=GPU), displaced=frozenset({"v"})
    )
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("v", 8, GPU, dur=10.0),), (r,)))
    assert not d.preemptions


def test_queue_orders_by_remaining_time_within_a_tenant() -> None:
    jobs = (
        job("long", 1, GPU, t=0, dur=9000),
        job("short", 1, GPU, t=5, dur=60),
        JobRequest("half", "a", (GPU,), 1, 1.0, est_duration_s=9000, attained_service_s=8990),
    )
    q = JobQueue(get_policy("default"), jobs)
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}))] == ["half", "short", "long"]


def test_starvation_guard_promotes_a_job_that_waited_too_long() -> None:
    policy = replace(get_policy("default"), starvation_s=1000.0)
    jobs = (job("long", 1, GPU, t=0, dur=9000), job("short", 1, GPU, t=500, dur=60))
    q = JobQueue(policy, jobs)
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}), now=900.0)] == ["short", "long"]
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}), now=1001.0)] == ["long", "short"]


def test_the_longest_starving_job_of_each_pool_goes_first_until_it_starts() -> None:
    policy = replace(get_policy("default"), starvation_s=1000.0)
    q = JobQueue(
        policy,
        (
            job("long", 1, GPU, t=0, dur=9000),
            job("mid", 1, GPU, t=100, dur=5000),
            job("short", 1, GPU, t=500, dur=60),
        ),
    )
    book = QuotaBook({}, {})
    assert [j.job_id for j in q.ordered(book, now=1050.0)] == ["long", "short", "mid"]
    # mid starves too, but long has starved longer: one head per pool, the rest in order
    assert [j.job_id for j in q.ordered(book, now=1200.0)] == ["long", "short", "mid"]
    assert q.promoted == {"long"}
    q.remove("long")  # it started: the next longest-starving job takes its place
    assert [j.job_id for j in q.ordered(book, now=1200.0)] == ["mid", "short"]
    # It ran for a while and came back: its starvation time moves by the service it got.
    q.add(replace(job("long", 1, GPU, t=0, dur=9000), attained_service_s=5000.0))
    assert [j.job_id for j in q.ordered(book, now=6001.0)] == ["mid", "short", "long"]
    # Every pool has its own head; among heads, higher priority, then longest starving.
    q.add(job("tiles", 2, t=50, dur=9000))
    q.add(job("urgent", 1, GPU, t=300, dur=9000, priority=100))
    assert [j.job_id for j in q.ordered(book, now=6001.0)][:2] == ["urgent", "tiles"]
    assert q.promoted == {"urgent", "tiles"}
    # A clock that goes back starts over: nothing starves at 900.
    assert [j.job_id for j in q.ordered(book, now=900.0)][0] == "urgent"  # priority
    assert not q.promoted


def test_a_starving_borrower_is_not_promoted_a_starving_job_within_quota_is() -> None:
    policy = replace(get_policy("default"), starvation_s=1000.0)
    q = JobQueue(
        policy,
        (
            job("a-long", 4, GPU, tenant="a", t=0, dur=9000),
            job("b-long", 4, GPU, tenant="b", t=10, dur=9000),
            job("short", 1, GPU, tenant="c", t=500, dur=60),
        ),
    )
    quotas = {"a": TenantQuota(nominal={GPU: 4}), "b": TenantQuota(nominal={GPU: 4})}
    book = QuotaBook(quotas, {GPU: 16})
    book.add("a", GPU, 2)  # a would borrow with its 4 more: reclaim would only stop it again
    assert [j.job_id for j in q.ordered(book, now=2000.0)][0] == "b-long"
    book.add("a", GPU, -2)
    assert [j.job_id for j in q.ordered(book, now=2000.0)][0] == "a-long"  # longest starving
    # c has no quota: nothing guarantees it, nothing reclaims from it either; it can starve.
    assert [j.job_id for j in q.ordered(book, now=2000.0)].index("short") == 1


def test_a_job_the_starvation_guard_let_run_is_no_victim_of_a_shorter_one() -> None:
    base = running("long", gpus(8), GPU, start=0.0, end=100_000.0, accel=GPU)
    waiter = (job("short", 8, GPU, dur=500.0, t=900.0),)
    for submitted, victim in ((-700_000.0, False), (-500.0, True), (None, True)):
        r = replace(base, submit_time=submitted)  # waited over a week, 500 s, unknown
        d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), waiter, (r,)), "default")
        assert bool(d.preemptions) == victim, submitted


def test_a_long_lived_queue_drops_the_entries_of_jobs_that_left() -> None:
    policy = replace(get_policy("default"), starvation_s=1e9)  # no entry is ever reached
    q = JobQueue(policy)
    book = QuotaBook({}, {})
    for i in range(5000):  # the live loop's queue sees jobs come and go for weeks
        q.add(job(f"j{i}", 1, GPU, t=float(i), dur=100.0))
        if i >= 10:
            q.remove(f"j{i - 10}")
        if i % 100 == 0:
            list(q.ordered(book, now=float(i)))
            q.shortest(GPU)
    assert len(q) == 10
    assert len(q._starve) <= 2 * len(q) + 1024
    assert q.shortest(GPU) == 100.0
    assert [j.job_id for j in q.ordered(book, now=7000.0)][0] == "j4990"  # order intact
