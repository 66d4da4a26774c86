"""Invariants over random clusters and queues (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core import JobRequest, Snapshot, TenantQuota, schedule
from scheduler.core.quota import QuotaBook
from tests.unit.scheduler_core.builders import cluster

GPU = "gpu-a100"
TENANTS = ("a", "b", "c")

jobs = st.lists(
    st.tuples(
        st.sampled_from(("dojo-tile", GPU)),
        st.integers(1, 20),
        st.sampled_from(TENANTS),
        st.sampled_from((0, 100, 200)),
        st.one_of(st.none(), st.floats(1, 1e4)),
    ),
    max_size=30,
)
quota = st.dictionaries(
    st.sampled_from(TENANTS),
    st.tuples(st.integers(0, 16), st.one_of(st.none(), st.integers(0, 8))),
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3), st.integers(0, 4), jobs, quota, st.sampled_from(("fifo", "las", "default"))
)
def test_invariants_hold_over_two_passes(
    cabs: int, nodes: int, specs: list, q: dict, policy: str
) -> None:
    cap = cluster(cabinets=cabs, gpu_nodes=nodes)
    tenants = {
        t: TenantQuota(nominal={GPU: n, "dojo": n}, borrowing_limit={GPU: b, "dojo": b})
        for t, (n, b) in q.items()
    }
    queue = tuple(
        JobRequest(f"j{i}", t, (a,), c, float(i), p, est_duration_s=d)
        for i, (a, c, t, p, d) in enumerate(specs)
    )
    snap = Snapshot(0.0, cap, queue, (), tenants)
    d = schedule(snap, policy)
    # every job is decided once; every pending job has a reason and a distinct position
    decided = [a.job_id for a in d.admits] + [p.job_id for p in d.pending]
    assert sorted(decided) == sorted(j.job_id for j in queue)
    assert all(p.reason for p in d.pending)
    assert len({p.position for p in d.pending}) == len(d.pending)
    # no device double-booked, and only real, in-service devices
    devices = [x for a in d.admits for x in a.placement.devices]
    assert len(devices) == len(set(devices))
    known = {t.id for t in cap.tiles} | {n.gpu_id(i) for n in cap.gpu_nodes for i in range(n.gpus)}
    assert set(devices) <= known
    # every admitted job got exactly what it asked
    by_id = {j.job_id: j for j in queue}
    assert all(len(a.placement.devices) == by_id[a.job_id].count for a in d.admits)
    # no tenant above nominal + borrowing limit
    book = QuotaBook(tenants, {})
    for a in d.admits:
        book.add(by_id[a.job_id].tenant, a.placement.pool, len(a.placement.devices))
    for t, tq in tenants.items():
        for pool, lim in tq.borrowing_limit.items():
            if lim is not None:
                assert book.used(t, pool) <= tq.nominal[pool] + lim
    # a second pass with the admitted jobs running never re-books their devices
    from scheduler.core.model import RunningJob

    running = tuple(
        RunningJob(a.job_id, by_id[a.job_id].tenant, a.placement, 0.0) for a in d.admits
    )
    rest = tuple(j for j in queue if j.job_id not in {a.job_id for a in d.admits})
    d2 = schedule(Snapshot(1.0, cap, rest, running, tenants), policy)
    again = [x for a in d2.admits for x in a.placement.devices]
    assert not set(again) & set(devices) and len(again) == len(set(again))
