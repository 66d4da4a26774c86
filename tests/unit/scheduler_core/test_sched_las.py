"""Discretised 2D least attained service: queues, preemption between them, starvation
promotion, quotas, and what `default` does with and without run-time estimates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.core import Snapshot, TenantQuota, schedule
from scheduler.core.backfill import likely_order, reserve
from scheduler.core.las import LasQueues, running_service
from scheduler.core.policies import get_policy
from scheduler.core.policies.las import STARVATION_S
from scheduler.core.policies.las.order import QUEUES
from scheduler.core.queue import JobQueue
from scheduler.core.quota import QuotaBook
from scheduler.core.sizing import job_options
from scheduler.core.state import state_from_snapshot
from scheduler.core.walk import run_pass
from tests.unit.scheduler_core.builders import FIGURES, cluster, job, running

GPU = "gpu-a100"
FIRST = QUEUES.thresholds[0]


def gpus(node: int, n: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"{GPU}/n{node}/g{i}" for i in range(start, start + n))


def gpu_run(jid: str, devices: tuple[str, ...], **kw: object) -> object:
    return running(jid, devices, GPU, accel=GPU, **kw)  # type: ignore[arg-type]


def test_queues_are_two_dimensional_and_validated() -> None:
    q = LasQueues((100.0, 1000.0))
    assert [q.level(x) for x in (0, 99.9, 100, 999, 1000, 1e9)] == [0, 0, 1, 1, 2, 2]
    r = running("r", gpus(0, 4), GPU, start=0.0, accel=GPU)
    r = replace(r, attained_service_s=50.0)
    assert running_service(r, 20.0) == 50.0 + 4 * 20.0  # devices x time, plus earlier runs
    assert q.running_level(r, 20.0) == 1
    for bad in ((), (10.0, 10.0), (0.0, 5.0), (5.0, 1.0)):
        with pytest.raises(ValueError, match="thresholds"):
            LasQueues(bad)


def test_las_demotes_a_long_job_below_later_short_ones() -> None:
    long_ = replace(job("long", 1, GPU, t=0), attained_service_s=FIRST * 5)
    wide = replace(job("wide", 8, GPU, t=1), attained_service_s=FIRST / 2)  # still queue 0
    fresh = job("fresh", 1, GPU, t=2)
    q = JobQueue(get_policy("las"), (long_, wide, fresh))
    # queue 0 in submit order, then the demoted job; its run time is never read
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}))] == ["wide", "fresh", "long"]


def test_las_preempts_across_queues_never_within_one() -> None:
    nodes = cluster(gpu_nodes=1)
    old = gpu_run("old", gpus(0, 8), start=0.0)  # 8 GPUs x 1000 s: queue 2
    d = schedule(Snapshot(1000.0, nodes, (job("new", 1, GPU, t=900),), (old,)), "las")
    assert [(p.job_id, p.for_job_id, p.kind) for p in d.preemptions] == [("old", "new", "service")]
    assert d.preemptions[0].reason.startswith("service:")
    # a waiter that has itself had as much service (same queue) does not preempt
    peer = replace(job("peer", 1, GPU, t=900), attained_service_s=8000.0)
    d = schedule(Snapshot(1000.0, nodes, (peer,), (old,)), "las")
    assert d.preemptions == ()
    assert d.pending[0].job_id == "peer"
    # nor does anyone preempt a job before its minimum run time
    fresh = gpu_run("fresh", gpus(0, 8), start=900.0)
    assert (
        schedule(Snapshot(1000.0, nodes, (job("new", 1, GPU),), (fresh,)), "las").preemptions == ()
    )


def test_las_victim_is_the_one_that_loses_least_work() -> None:
    run = (
        gpu_run("a", gpus(0, 4), start=0.0, ckpt=100.0),  # 900 s of work since its checkpoint
        gpu_run("b", gpus(0, 4, 4), start=0.0, ckpt=990.0),  # 10 s
    )
    d = schedule(Snapshot(1000.0, cluster(gpu_nodes=1), (job("new", 2, GPU),), run), "las")
    assert [p.job_id for p in d.preemptions] == ["b"]


def test_las_respects_quotas_within_nominal_is_safe() -> None:
    tenants = {"a": TenantQuota(nominal={GPU: 4}), "b": TenantQuota(nominal={GPU: 4})}
    run = (gpu_run("b-long", gpus(0, 4), tenant="b"), gpu_run("a-long", gpus(0, 4, 4), tenant="a"))
    snap = Snapshot(1000.0, cluster(gpu_nodes=1), (job("a-new", 4, GPU, tenant="a"),), run, tenants)
    # b holds no more than its nominal: a's newcomer may only displace a's own long job
    assert [p.job_id for p in schedule(snap, "las").preemptions] == ["a-long"]
    # once b borrows (a holds nothing), a reclaims from it, also under las
    run = (gpu_run("b-long", gpus(0, 8), tenant="b"),)
    snap = replace(snap, running=run)
    d = schedule(snap, "las")
    assert [(p.job_id, p.kind) for p in d.preemptions] == [("b-long", "reclaim")]


def test_las_promotes_a_starved_job_and_then_protects_it() -> None:
    now = STARVATION_S + 10_000.0
    starved = replace(job("starved", 1, GPU, t=0.0), attained_service_s=FIRST * 2)
    fresh = job("fresh", 1, GPU, t=now - 1)
    q = JobQueue(get_policy("las"), (fresh, starved))
    assert [j.job_id for j in q.ordered(QuotaBook({}, {}), now)] == ["starved", "fresh"]
    assert q.promoted == {"starved"}
    # once it runs, a newcomer does not preempt it for service (it would only starve again)
    run = replace(
        gpu_run("starved", gpus(0, 8), start=now - 5000.0),
        submit_time=0.0,
        attained_service_s=FIRST * 2,
    )
    d = schedule(Snapshot(now, cluster(gpu_nodes=1), (fresh,), (run,)), "las")
    assert d.preemptions == ()
    # the same job, had it not starved first, would make way
    d = schedule(
        Snapshot(now, cluster(gpu_nodes=1), (fresh,), (replace(run, submit_time=now - 6000),)),
        "las",
    )
    assert [p.kind for p in d.preemptions] == ["service"]


def test_default_uses_las_without_estimates_and_srpt_with_them() -> None:
    nodes = cluster(gpu_nodes=1)
    old = gpu_run("old", gpus(0, 8), start=0.0)
    d = schedule(Snapshot(1000.0, nodes, (job("new", 1, GPU),), (old,)), "default")
    assert [p.kind for p in d.preemptions] == ["service"]
    # the waiter's estimate says it is no shorter than what the running job has left: wait
    known = replace(old, est_end_time=2000.0)
    d = schedule(Snapshot(1000.0, nodes, (job("new", 1, GPU, dur=5000.0),), (known,)), "default")
    assert d.preemptions == ()
    # an estimated running job is no service victim of an unknown waiter either
    d = schedule(Snapshot(1000.0, nodes, (job("new", 1, GPU),), (known,)), "default")
    assert d.preemptions == ()


def test_default_shares_between_tenants_within_a_queue() -> None:
    heavy = replace(job("a-long", 1, GPU, tenant="a", t=0), attained_service_s=FIRST * 20)
    fresh = job("a-fresh", 1, GPU, tenant="a", t=5)
    other = job("b-fresh", 1, GPU, tenant="b", t=6)
    other2 = job("b-fresh2", 1, GPU, tenant="b", t=7)
    q = JobQueue(get_policy("default"), (heavy, fresh, other, other2))
    book = QuotaBook({}, {GPU: 8})
    book.add("b", GPU, 4)  # b holds more now: a goes first (DRF), but not a's demoted job
    assert [j.job_id for j in q.ordered(book)] == ["a-fresh", "b-fresh", "b-fresh2", "a-long"]


def test_reservation_without_estimates_waits_on_the_least_served_node() -> None:
    # Unknown ends: the node whose jobs have had the least service is the likeliest to free
    # (heavy tails), not the one whose job ids sort first.
    run = (
        replace(gpu_run("a-old", gpus(0, 8), start=0.0), preemptible=False),  # 8,000 dev-s
        replace(gpu_run("b-new", gpus(1, 8), start=990.0), preemptible=False),  # 80
    )
    state = state_from_snapshot(Snapshot(1000.0, cluster(gpu_nodes=2), running=run))
    assert [jid for _, jid in likely_order(state, state.ends[GPU])] == ["b-new", "a-old"]
    opt = job_options(job("wide", 8, GPU), FIGURES)[0]
    res = reserve(state, "wide", opt)
    assert res is not None and res.devices == gpus(1, 8) and res.start == float("inf")


def test_likely_order_is_estimated_ends_then_least_service_by_the_definition() -> None:
    # likely_order inlines running_service for speed: it must order exactly as the plain
    # definition does (known ends first, in end order; then least service, then job id),
    # ties in service included, and a job started "after" now counting no negative time.
    run = []
    for i in range(24):
        node, first = divmod(i, 4)
        devices = gpus(node, 2, 2 * first) if node < 4 else gpus(node, 1, first)
        r = gpu_run(f"j{(i * 7) % 24:02d}", devices, start=float(100 * (i % 5)))
        served = float((i * 37) % 11) * 50.0
        est_end = 5_000.0 + 10 * ((i * 5) % 7) if i % 6 == 0 else None
        run.append(replace(r, attained_service_s=served, est_end_time=est_end))
    now = 1_000.0
    least = min(running_service(r, now) for r in run if r.est_end_time is None)
    # started "after" now: counts no negative time, so it does not come first
    late = replace(gpu_run("late", gpus(5, 1, 3), start=2_000.0), attained_service_s=least + 0.5)
    run.append(late)
    state = state_from_snapshot(Snapshot(now, cluster(gpu_nodes=6), running=tuple(run)))
    ends = state.ends[GPU]
    by_id = {r.job_id: r for r in run}
    known = sorted((r.est_end_time, r.job_id) for r in run if r.est_end_time is not None)
    unknown = sorted((running_service(r, now), r.job_id) for r in run if r.est_end_time is None)
    assert any(a[0] == b[0] for a, b in zip(unknown, unknown[1:], strict=False))  # ties
    expected = [(e, jid) for e, jid in known] + [(float("inf"), jid) for _, jid in unknown]
    assert likely_order(state, ends) == expected
    assert running_service(by_id["late"], now) == least + 0.5
    assert unknown[0][1] != "late"
    assert ends == sorted(ends)  # the state's own list is left as it was


def test_las_reclaim_takes_quota_back_only_from_jobs_at_least_as_served() -> None:
    tenants = {"a": TenantQuota(nominal={GPU: 4}), "b": TenantQuota(nominal={GPU: 4})}
    # b borrows the whole node with a job that is still in the first LAS queue
    fresh = gpu_run("b-fresh", gpus(0, 8), tenant="b", start=600.0)  # 3,200 device-s
    # a's waiter has already had an hour of service (a resumed job, the second LAS queue)
    resumed = replace(job("a-resumed", 4, GPU, tenant="a"), attained_service_s=FIRST)
    snap = Snapshot(1000.0, cluster(gpu_nodes=1), (resumed,), (fresh,), tenants)

    def preempted(policy_las_reclaim: bool, snapshot: Snapshot) -> list[tuple[str, str]]:
        policy = replace(get_policy("las"), las_reclaim=policy_las_reclaim)
        state = state_from_snapshot(snapshot)
        d = run_pass(state, JobQueue(policy, snapshot.queued), policy)
        return [(p.job_id, p.kind) for p in d.preemptions]

    assert preempted(False, snap) == [("b-fresh", "reclaim")]  # Kueue's rule: any borrower
    assert preempted(True, snap) == []  # less served than the waiter: it keeps running
    served = replace(
        fresh, attained_service_s=FIRST
    )  # the same queue  # a whole queue above the waiter
    assert preempted(True, replace(snap, running=(served,))) == [("b-fresh", "reclaim")]
