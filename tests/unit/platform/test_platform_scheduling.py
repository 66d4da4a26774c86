"""The scheduling loop's database adapter: admits persist placements, the database refuses
double-booking, pending reasons are stored, silent workers' jobs are re-dispatched."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from dojocloud.common.inventory import inventory
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.leader import LeaseLeader
from dojocloud.scheduling.models import Allocation, Device
from dojocloud.scheduling.snapshot import load_capacity
from dojocloud.scheduling.store import DatabaseStore
from scheduler.core import Admit, Decisions, Pending, Placement, Preempt, schedule
from scheduler.inventory import parse_inventory
from scheduler.loop import Applied, PassResult, SchedulingLoop
from tests.support.people import People, make_spec

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def store(db: None) -> DatabaseStore:
    capacity.sync_inventory(inventory())
    return DatabaseStore()


def test_inventory_sync_is_idempotent(store: DatabaseStore) -> None:
    assert Device.objects.filter(in_inventory=True).count() == 6 + 16 + 8
    capacity.sync_inventory(inventory())
    assert Device.objects.count() == 30
    assert Device.objects.get(id="gpu-h100/n0/g7").node == "n0"


def test_a_device_never_holds_two_active_placements(people: People, store: DatabaseStore) -> None:
    a = jobs.create_job(people.owner, make_spec(name="a"))
    b = jobs.create_job(people.owner, make_spec(name="b"))
    assert capacity.hold(a.id, 1, [TILE])
    assert not capacity.hold(b.id, 1, [TILE, "dojo/e0/c0/t0/r0c1"])  # all or none
    assert Allocation.objects.filter(job=b).count() == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        Allocation.objects.create(device_id=TILE, job=b, attempt=1)
    capacity.release(a.id)
    assert capacity.hold(b.id, 1, [TILE])


def test_a_pass_admits_with_placement_and_records_pending_reasons(
    people: People, store: DatabaseStore
) -> None:
    big = [
        jobs.create_job(
            people.owner,
            make_spec(name=f"big{i}", resources={"accelerators": ["dojo-tile"], "count": 4}),
        )
        for i in range(2)
    ]
    now = timezone.now().timestamp()
    applied = store.apply(schedule(store.snapshot(now)), now)
    assert applied == Applied(admitted=1, preempted=0, pending=1)
    first, second = (Job.objects.get(id=j.id) for j in big)
    assert first.state == "SCHEDULED" and first.attempt == 1 and first.pool == "dojo"
    assert len(first.devices) == 4 and first.dispatch_token
    assert sorted(capacity.active_devices(first.id)) == sorted(first.devices)
    assert second.state == "QUEUED" and second.pending_reason and second.queue_position >= 1
    # The next snapshot sees the placement: the second job still cannot fit.
    assert store.snapshot(now + 1).running[0].job_id == first.id


def test_an_admit_on_a_taken_device_is_refused(people: People, store: DatabaseStore) -> None:
    a = jobs.create_job(people.owner, make_spec(name="a"))
    b = jobs.create_job(people.owner, make_spec(name="b"))
    place = Placement("dojo", "dojo-tile", (TILE,))
    now = timezone.now().timestamp()
    store.apply(Decisions(admits=(Admit(a.id, place, "fit"),)), now)
    applied = store.apply(Decisions(admits=(Admit(b.id, place, "fit"),)), now)
    assert applied.admitted == 0
    b.refresh_from_db()
    assert b.state == "QUEUED" and b.attempt == 0 and "conflict" in b.pending_reason


def test_preemption_sets_the_flag_once(people: People, store: DatabaseStore) -> None:
    a = jobs.create_job(people.owner, make_spec(name="a"))
    now = timezone.now().timestamp()
    store.apply(Decisions(admits=(Admit(a.id, Placement("dojo", "dojo-tile", (TILE,)), "f"),)), now)
    decisions = Decisions(preemptions=(Preempt(a.id, "priority: displaced"),))
    assert store.apply(decisions, now).preempted == 1
    assert store.apply(decisions, now).preempted == 0
    a.refresh_from_db()
    assert a.preempt_requested and a.preempt_reason == "priority: displaced"


def test_silent_jobs_are_redispatched_with_a_new_token(
    people: People, store: DatabaseStore, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.HEARTBEAT_TIMEOUT_S = 30
    a = jobs.create_job(people.owner, make_spec(name="a"))
    now = timezone.now()
    store.apply(
        Decisions(admits=(Admit(a.id, Placement("dojo", "dojo-tile", (TILE,)), "f"),)),
        now.timestamp(),
    )
    a.refresh_from_db()
    assert store.recover(now.timestamp()) == 0  # just dispatched: not stale
    Job.objects.filter(id=a.id).update(lease_owner="w1", heartbeat_at=now - timedelta(seconds=60))
    assert store.recover(now.timestamp()) == 1
    again = Job.objects.get(id=a.id)
    assert again.dispatch_token != a.dispatch_token and again.lease_owner == ""
    assert store.recover(now.timestamp()) == 0


def test_recover_frees_devices_leaked_by_final_jobs(people: People, store: DatabaseStore) -> None:
    a = jobs.create_job(people.owner, make_spec(name="a"))
    capacity.hold(a.id, 1, [TILE])
    Job.objects.filter(id=a.id).update(state=lifecycle.FAILED)
    store.recover(timezone.now().timestamp())
    assert capacity.active_devices(a.id) == []


def test_pending_updates_only_queued_jobs(people: People, store: DatabaseStore) -> None:
    a = jobs.create_job(people.owner, make_spec(name="a"))
    store.apply(Decisions(pending=(Pending(a.id, "waiting for 1 free dojo-tile", 3),)), 0.0)
    a.refresh_from_db()
    assert (a.pending_reason, a.queue_position) == ("waiting for 1 free dojo-tile", 3)


def test_lease_leader_admits_one_holder_until_expiry(db: None) -> None:
    first, second = LeaseLeader(ttl_s=60, holder="a"), LeaseLeader(ttl_s=60, holder="b")
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire() and not first.acquire()


class _FakeStore:
    def __init__(self) -> None:
        self.passes = 0

    def snapshot(self, now: float):  # type: ignore[no-untyped-def]
        from scheduler.core import Capacity, Snapshot

        return Snapshot(now=now, capacity=Capacity())

    def apply(self, decisions: Decisions, now: float) -> Applied:
        self.passes += 1
        return Applied(pending=len(decisions.pending))

    def recover(self, now: float) -> int:
        return 0


class _Leader:
    def __init__(self, leading: bool) -> None:
        self.leading, self.released = leading, False

    def acquire(self) -> bool:
        return self.leading

    def release(self) -> None:
        self.released = True


class _Wake:
    def __init__(self, stop: threading.Event, after: int) -> None:
        self.stop, self.after, self.waits = stop, after, 0

    def wait(self, timeout: float) -> bool:
        self.waits += 1
        if self.waits >= self.after:
            self.stop.set()
        return True


def test_loop_runs_passes_only_as_leader_and_releases_on_stop() -> None:
    store, stop = _FakeStore(), threading.Event()
    leader = _Leader(leading=False)
    loop = SchedulingLoop(store, schedule, leader=leader, wake=_Wake(stop, 3), clock=lambda: 5.0)
    assert loop.run_once() == PassResult(leader=False)
    leader.leading = True
    loop.run(stop)
    assert store.passes == 3 and leader.released


def test_gpu_racks_reach_the_snapshot_and_follow_the_inventory(db: None) -> None:
    def racks(per_rack: int) -> list[tuple[str, str]]:
        capacity.sync_inventory(
            parse_inventory(
                {"gpu_pools": [{"pool": "gpu-a100", "nodes": 3, "nodes_per_rack": per_rack}]}
            )
        )
        return [(n.name, n.rack) for n in load_capacity().gpu_nodes]

    assert racks(2) == [("n0", "r0"), ("n1", "r0"), ("n2", "r1")]
    assert racks(1) == [("n0", "r0"), ("n1", "r1"), ("n2", "r2")]  # stored GPUs moved
    assert set(Device.objects.filter(node="n2").values_list("rack", flat=True)) == {"r2"}
