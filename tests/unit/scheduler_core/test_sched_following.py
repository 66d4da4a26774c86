"""The live loop's warm scheduler (incremental.Following) decides exactly what a fresh
`schedule(snapshot)` decides, pass after pass, while the snapshots evolve the way the
database does: admitted jobs start running, victims stop and requeue, jobs arrive, finish
and are cancelled, quotas and hardware change."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core import (
    DeviceState,
    JobRequest,
    RunningJob,
    Snapshot,
    TenantQuota,
    schedule,
)
from scheduler.core.incremental import Following
from tests.unit.scheduler_core.builders import cluster

GPU = "gpu-a100"
TENANTS = ("a", "b", "c")


def _job(rng: random.Random, jid: str, t: float) -> JobRequest:
    accels = rng.choice([("dojo-tile",), (GPU,), ("dojo-tile", GPU), (GPU, "dojo-tile")])
    count = (
        rng.choice([1, 1, 2, 3, 6, 8, 12])
        if accels[0] == "dojo-tile"
        else rng.choice([1, 2, 4, 8, 16])
    )
    return JobRequest(
        jid,
        rng.choice(TENANTS),
        accels,
        count,
        t,
        rng.choice([0, 100, 200]),
        est_duration_s=rng.choice([None, rng.uniform(60, 20_000)]),
    )


def _step(rng: random.Random, snap: Snapshot, d, n: int) -> Snapshot:
    """The next snapshot, as the platform's store would build it after applying `d`."""
    now = snap.now + rng.uniform(10, 900)
    queued = {j.job_id: j for j in snap.queued}
    running = {r.job_id: r for r in snap.running}
    for a in d.admits:
        j = queued.pop(a.job_id)
        dur = j.est_duration_s
        running[j.job_id] = RunningJob(
            j.job_id,
            j.tenant,
            a.placement,
            snap.now,
            j.priority,
            est_end_time=None if dur is None else snap.now + dur,
            attained_service_s=j.attained_service_s,
        )
    for p in d.preemptions:
        if p.job_id in running:
            running[p.job_id] = replace(
                running[p.job_id], preempted_for=p.for_job_id, preemptible=False
            )
    for r in list(running.values()):
        roll = rng.random()
        if r.preempted_for is not None and roll < 0.7:  # checkpointed and stopped: requeued
            del running[r.job_id]
            ran = (now - r.start_time) * len(r.placement.devices)
            queued[r.job_id] = JobRequest(
                r.job_id,
                r.tenant,
                (r.placement.accelerator,),
                len(r.placement.devices),
                0.0,
                r.priority,
                attained_service_s=r.attained_service_s + ran,
            )
        elif roll < 0.25:  # finished
            del running[r.job_id]
        elif roll < 0.35:  # checkpointed
            running[r.job_id] = replace(r, last_checkpoint_time=now)
    for jid in [j for j in queued if rng.random() < 0.1]:  # cancelled
        del queued[jid]
    for k in range(rng.randint(0, 6)):  # arrivals
        job = _job(rng, f"s{n}-{k}", now)
        queued[job.job_id] = job
    for jid in [j for j in queued if rng.random() < 0.1]:  # reprioritised by an operator
        queued[jid] = replace(queued[jid], priority=rng.choice([0, 100, 200, 300]))
    tenants = dict(snap.tenants)
    for t in tenants:  # usage decays every pass
        tenants[t] = replace(
            tenants[t], decayed_usage=tenants[t].decayed_usage * 0.9 + rng.random()
        )
    if rng.random() < 0.2:  # a quota change
        t = rng.choice(TENANTS)
        tenants[t] = TenantQuota(
            nominal={GPU: rng.randint(0, 16), "dojo": rng.randint(0, 12)},
            borrowing_limit={GPU: rng.choice([None, 4])},
        )
    capacity = snap.capacity
    if rng.random() < 0.2 and capacity.gpu_nodes:  # a node drained or back in service
        nodes = list(capacity.gpu_nodes)
        i = rng.randrange(len(nodes))
        state = DeviceState.FREE if nodes[i].state is not DeviceState.FREE else DeviceState.DRAINING
        nodes[i] = replace(nodes[i], state=state)
        capacity = replace(capacity, gpu_nodes=tuple(nodes))
    # fresh objects, as a store reading rows builds them
    return replace(
        snap,
        now=now,
        capacity=capacity,
        queued=tuple(replace(j) for j in queued.values()),
        running=tuple(replace(r) for r in running.values()),
        tenants=tenants,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(("fifo", "las", "default")),
    st.integers(1, 2),
    st.integers(1, 6),
)
def test_following_decides_like_a_fresh_pass(seed: int, policy: str, cabs: int, nodes: int) -> None:
    rng = random.Random(seed)
    tenants = {
        "a": TenantQuota(nominal={GPU: 8, "dojo": 6}, borrowing_limit={GPU: 8}),
        "b": TenantQuota(nominal={GPU: 8, "dojo": 6}, weight=2.0),
    }
    snap = Snapshot(
        0.0,
        cluster(cabinets=cabs, gpu_nodes=nodes),
        tuple(_job(rng, f"j{i}", float(i)) for i in range(rng.randint(5, 40))),
        tenants=tenants,
        min_run_s=rng.choice([0.0, 300.0]),
        checkpoint_interval_s=rng.choice([None, 600.0]),
    )
    follow = Following(policy)
    for n in range(8):
        cold = schedule(snap, policy)
        warm = follow(snap)
        assert warm == cold, f"pass {n} differs"
        snap = _step(rng, snap, cold, n)


def test_following_drops_removed_jobs_and_takes_changed_ones() -> None:
    cap = cluster(cabinets=1)
    a = JobRequest("a", "t", ("dojo-tile",), 12, 0.0)
    b = JobRequest("b", "t", ("dojo-tile",), 12, 1.0)
    follow = Following("fifo")
    first = follow(Snapshot(0.0, cap, (a, b)))
    assert [x.job_id for x in first.admits] == ["a"]
    assert [p.job_id for p in first.pending] == ["b"]
    # a is gone (cancelled), b now asks for less and is placed; nothing decides for a
    smaller = replace(b, count=6)
    second = follow(Snapshot(1.0, cap, (smaller,)))
    assert [x.job_id for x in second.admits] == ["b"]
    assert len(second.admits[0].placement.devices) == 6
    assert second.pending == ()
