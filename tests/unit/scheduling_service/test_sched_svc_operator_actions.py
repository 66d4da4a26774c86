"""Operator actions on the real database: drain with and without eviction, mark failed
(jobs re-queued, checkpoints kept), preempt and requeue, each recorded with actor and why."""

from __future__ import annotations

import pytest
from django.utils import timezone
from sched_svc_people import Fleet, place

from dojocloud.common.errors import FailedPrecondition, InvalidArgument, NotFound
from dojocloud.jobs.models import Checkpoint, Job, JobEvent
from dojocloud.scheduling import operator_actions
from dojocloud.scheduling.models import Allocation, Device, Preemption
from scheduler.core import schedule

TRAY = "dojo/e0/c0/t0"
T00, T01 = f"{TRAY}/r0c0", f"{TRAY}/r0c1"


def _reasons(job: Job) -> list[str]:
    return [e.data["reason"] for e in JobEvent.objects.filter(job=job, kind="state")]


def test_drain_without_evict_lets_the_job_finish_there(fleet: Fleet) -> None:
    job = place(fleet, fleet.acme, "a", (T00,))
    result = operator_actions.drain(TRAY, evict=False, actor="user:ops", reason="firmware")
    assert result.devices == 6 and result.jobs == (job.id,)
    assert set(Device.objects.filter(id__startswith=TRAY).values_list("status", flat=True)) == {
        "draining"
    }
    job.refresh_from_db()
    assert job.state == "SCHEDULED" and not job.preempt_requested
    assert any("firmware (by user:ops)" in r for r in _reasons(job))
    # The core sees the tray draining: nothing new lands there.
    queued = place(fleet, fleet.globex, "b", ("gpu-a100/n0/g0",), "gpu-a100", "gpu-a100")
    assert queued.state == "SCHEDULED"
    from sched_svc_people import spec

    from dojocloud.jobs import services as jobs

    waiting = jobs.create_job(fleet.globex, spec("c"))
    now = timezone.now().timestamp()
    decisions = schedule(fleet.store.snapshot(now))
    assert not [a for a in decisions.admits if a.job_id == waiting.id]
    assert [p for p in decisions.pending if p.job_id == waiting.id]


def test_drain_with_evict_asks_the_job_to_checkpoint_and_move(fleet: Fleet) -> None:
    job = place(fleet, fleet.acme, "a", (T00, T01))
    operator_actions.drain(T01, evict=True, actor="user:ops", reason="bad cable")
    job.refresh_from_db()
    assert job.preempt_requested and "bad cable" in job.preempt_reason
    assert Device.objects.get(id=T01).status == "draining"
    assert Device.objects.get(id=T00).status == "free"
    row = Preemption.objects.get(job=job)
    assert (row.kind, row.requested_by, row.attempt) == ("drain", "user:ops", 1)
    # The victim still holds its devices while it checkpoints; the core will not pick it
    # again.
    running = {r.job_id: r for r in fleet.store.snapshot(timezone.now().timestamp()).running}
    assert running[job.id].preemptible is False


def test_mark_failed_requeues_now_and_keeps_the_checkpoint(fleet: Fleet) -> None:
    job = place(fleet, fleet.acme, "a", (T00,))
    Checkpoint.objects.create(
        job=job, step=2, attempt=1, segment=0, key="x", size_bytes=1, sha256="0" * 64
    )
    result = operator_actions.mark_failed(T00, actor="user:ops", reason="smoke")
    assert result.jobs == (job.id,)
    job.refresh_from_db()
    assert job.state == "QUEUED" and job.devices == [] and not job.preempt_requested
    assert not Allocation.objects.filter(job=job, released_at__isnull=True).exists()
    assert Checkpoint.objects.filter(job=job, step=2).exists()
    assert Preemption.objects.get(job=job).kind == "failure"
    assert any(r.startswith("failure: " + T00) and "smoke" in r for r in _reasons(job))
    # Next pass: it is placed again, elsewhere.
    now = timezone.now().timestamp()
    decisions = schedule(fleet.store.snapshot(now))
    [admit] = [a for a in decisions.admits if a.job_id == job.id]
    assert T00 not in admit.placement.devices
    fleet.store.apply(decisions, now)
    job.refresh_from_db()
    assert job.state == "SCHEDULED" and job.attempt == 2


def test_undrain_returns_devices_to_service(fleet: Fleet) -> None:
    operator_actions.mark_failed("gpu-a100/n0", actor="user:ops")
    snap = fleet.store.snapshot(timezone.now().timestamp())
    assert [n.state.value for n in snap.capacity.gpu_nodes if n.id == "gpu-a100/n0"] == ["failed"]
    assert operator_actions.undrain("gpu-a100/n0", actor="user:ops").devices == 8
    snap = fleet.store.snapshot(timezone.now().timestamp())
    assert [n.state.value for n in snap.capacity.gpu_nodes if n.id == "gpu-a100/n0"] == ["free"]


@pytest.mark.parametrize(
    "target, error", [("", InvalidArgument), ("dojo/e9", NotFound), ("dojo/e0/c0/t", NotFound)]
)
def test_bad_targets_are_refused(fleet: Fleet, target: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        operator_actions.drain(target, evict=False, actor="user:ops")


def test_preempt_and_requeue_a_job(fleet: Fleet) -> None:
    a = place(fleet, fleet.acme, "a", (T00,))
    b = place(fleet, fleet.acme, "b", (T01,))
    operator_actions.preempt_job(a.id, actor="user:ops", reason="rebalance")
    a.refresh_from_db()
    assert a.state == "SCHEDULED" and a.preempt_requested  # checkpoints first
    with pytest.raises(FailedPrecondition):
        operator_actions.preempt_job(a.id, actor="user:ops")
    b = operator_actions.requeue_job(b.id, actor="user:ops", reason="stuck")
    assert b.state == "QUEUED" and b.attempt == 1
    assert "stuck" in b.state_reason or any("stuck" in r for r in _reasons(b))
    with pytest.raises(FailedPrecondition):
        operator_actions.preempt_job(b.id, actor="user:ops")
    with pytest.raises(NotFound):
        operator_actions.requeue_job("nosuchjob", actor="user:ops")
