"""The database → core Snapshot carries what the policy reads: service received before the
current run (from the usage ledger), the current run's start (its devices' hold time), the
checkpoints of this run only, measured run-time estimates for requeued jobs, and the
platform's grace and minimum-run settings. Jobs go through the store and the worker's
segment outcomes on the real test database, as the loop and the workers would drive them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dojo.v1 import job_pb2
from dojocloud.execution.outcomes import SegmentResult, finish_segment
from dojocloud.execution.segments import claim
from dojocloud.jobs import control, lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.facade import SegmentRun
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.jobs.transitions import transition
from dojocloud.scheduling import quotas
from dojocloud.scheduling.quotas import QuotaSpec
from dojocloud.scheduling.snapshot import Reuse, build_snapshot
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.tenancy.services import Principal
from scheduler.core import JobRequest, RunningJob, Snapshot, schedule
from tests.support.people import admit, make_spec, two_tenants

TILES = tuple(f"dojo/e0/c0/t0/r{r}c{c}" for r in range(2) for c in range(3))


@pytest.fixture
def people(db: None, settings, tmp_path: Path) -> tuple[Principal, Principal]:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    return two_tenants()


def _spec(name: str, count: int = 2) -> job_pb2.JobSpec:
    return make_spec(name, count=count)


def _admit(job: Job, devices: tuple[str, ...], at: datetime) -> Job:
    assert admit(job, devices, at=at, reason="test") == 1
    return job


def _segment(job: Job, steps: int, wall: float, at: datetime, stop: str | None = None) -> str:
    """One segment as a worker ends it: claim, run `steps` steps in `wall` seconds, then the
    real outcome code writes the checkpoint, the ledger row and the next state."""
    job.refresh_from_db()
    lease = f"test-{job.attempt}-{job.segment}"
    claimed = claim(job.id, job.dispatch_token, lease)
    assert claimed is not None
    if claimed.state == lifecycle.SCHEDULED:
        transition(job.id, lifecycle.RUNNING, "running", expect=[lifecycle.SCHEDULED], now=at)
        claimed.refresh_from_db()
    start = claimed.current_step
    return finish_segment(
        claimed,
        lease,
        SegmentResult(
            run=SegmentRun(
                start_step=start,
                end_step=start + steps,
                samples=steps * 8,
                wall_seconds=wall,
                device_seconds=wall / 10,
                started_at=at,
                ended_at=at + timedelta(seconds=wall),
            ),
            stop=stop,
            checkpoint=b"weights",
        ),
    )


def _running(snap: Snapshot, job: Job) -> RunningJob:
    return {r.job_id: r for r in snap.running}[job.id]


def _queued(snap: Snapshot, job: Job) -> JobRequest:
    return {q.job_id: q for q in snap.queued}[job.id]


def _preempted_and_resumed(who: Principal) -> tuple[Job, datetime]:
    """Attempt 1 on two tiles an hour ago: 2 steps in 40 s, then preempted after 1 step in
    20 s (ledger: 2 x 60 = 120 device-seconds, pace 20 s/step). Attempt 2 admitted now."""
    t0 = timezone.now() - timedelta(hours=1)
    job = _admit(jobs.create_job(who, _spec("resumed")), TILES[:2], t0)
    assert _segment(job, 2, 40.0, t0) == "segment"
    assert (
        _segment(job, 1, 20.0, t0 + timedelta(seconds=40), stop=control.STOP_PREEMPT) == "preempted"
    )
    job.refresh_from_db()
    assert job.state == lifecycle.QUEUED and job.allocated_seconds == pytest.approx(120.0)
    return job, t0


def test_a_requeued_job_carries_its_service_and_its_measured_duration(
    people: tuple[Principal, Principal],
) -> None:
    acme, _ = people
    job, _ = _preempted_and_resumed(acme)
    fresh = jobs.create_job(acme, _spec("fresh"))
    snap = build_snapshot(timezone.now().timestamp())

    q = _queued(snap, job)
    assert q.attained_service_s == pytest.approx(120.0)  # 2 tiles x (40 s + 20 s)
    assert q.est_duration_s == pytest.approx(6 * 60.0 / 3)  # 6 steps at 20 s a step
    # What the core makes of it: the 3 steps left at the measured pace.
    assert q.est_duration_s is not None
    assert q.est_duration_s - q.attained_service_s / q.count == pytest.approx(60.0)
    f = _queued(snap, fresh)
    assert (f.attained_service_s, f.est_duration_s) == (0.0, None)


def test_a_pace_measured_on_another_shape_is_no_estimate(
    people: tuple[Principal, Principal],
) -> None:
    acme, _ = people
    t0 = timezone.now() - timedelta(hours=1)
    job = _admit(jobs.create_job(acme, _spec("shrunk", count=2)), TILES[:1], t0)  # 1 of 2
    assert _segment(job, 2, 30.0, t0, stop=control.STOP_PREEMPT) == "preempted"
    q = _queued(build_snapshot(timezone.now().timestamp()), job)
    assert q.attained_service_s == pytest.approx(30.0)  # the service still counts
    assert q.est_duration_s is None


def test_a_resumed_job_counts_earlier_attempts_and_starts_at_its_resume(
    people: tuple[Principal, Principal],
) -> None:
    acme, _ = people
    job, t0 = _preempted_and_resumed(acme)
    t1 = timezone.now()
    job = _admit(job, TILES[3:5], t1)
    assert job.attempt == 2

    r = _running(build_snapshot(t1.timestamp() + 30), job)
    assert r.attained_service_s == pytest.approx(120.0)
    assert r.start_time == pytest.approx(t1.timestamp())
    # Its checkpoints are from attempt 1, before this run: nothing of this run is saved yet.
    assert r.last_checkpoint_time is None
    # 3 steps left after its checkpoint at 20 s a step, counted from the resume (the
    # checkpoint is older); the clock moving on does not move the estimate.
    assert r.est_end_time == pytest.approx(t1.timestamp() + 3 * 20.0)
    assert _running(build_snapshot(t1.timestamp() + 45), job) == r

    # A segment of attempt 2 (2 tiles x 10 s) is part of the current run, which the core
    # counts from start_time itself: the service before the run stays 120.
    assert _segment(job, 2, 10.0, t1) == "segment"
    job.refresh_from_db()
    assert job.allocated_seconds == pytest.approx(140.0)
    assert job.started_at is not None and job.started_at < t1 < job.dispatched_at
    r = _running(build_snapshot(t1.timestamp() + 60), job)
    assert r.attained_service_s == pytest.approx(120.0)
    assert r.start_time == pytest.approx(t1.timestamp())  # not started_at, not dispatched_at
    latest = Checkpoint.objects.filter(job=job).order_by("-created_at")[0]
    assert latest.attempt == 2
    assert r.last_checkpoint_time == pytest.approx(latest.created_at.timestamp())


def test_a_first_run_has_no_earlier_service(people: tuple[Principal, Principal]) -> None:
    acme, _ = people
    t0 = timezone.now() - timedelta(minutes=10)
    job = _admit(jobs.create_job(acme, _spec("first")), TILES[:2], t0)
    r = _running(build_snapshot(t0.timestamp() + 5), job)
    assert (r.attained_service_s, r.start_time, r.last_checkpoint_time, r.est_end_time) == (
        0.0,
        pytest.approx(t0.timestamp()),
        None,
        None,
    )

    assert _segment(job, 2, 40.0, t0) == "segment"
    r = _running(build_snapshot(t0.timestamp() + 60), job)
    assert r.attained_service_s == 0.0  # its own segments are the current run
    assert r.start_time == pytest.approx(t0.timestamp())
    assert r.last_checkpoint_time is not None and r.last_checkpoint_time >= t0.timestamp()
    saved = Checkpoint.objects.filter(job=job).order_by("-created_at")[0]
    assert r.est_end_time == pytest.approx(
        max(saved.created_at.timestamp(), t0.timestamp()) + 4 * 20.0
    )  # 4 steps left at 20 s a step


def test_grace_and_minimum_run_come_from_settings(
    people: tuple[Principal, Principal], settings
) -> None:  # type: ignore[no-untyped-def]
    snap = build_snapshot(timezone.now().timestamp())
    assert (snap.grace_period_s, snap.min_run_s) == (60.0, 300.0)
    # Checkpoints are reported rows, never an assumed period.
    assert snap.checkpoint_interval_s is None
    settings.PREEMPT_GRACE_S, settings.MIN_RUN_S = 7.5, 42.0
    snap = build_snapshot(timezone.now().timestamp())
    assert (snap.grace_period_s, snap.min_run_s) == (7.5, 42.0)


def test_a_just_resumed_job_is_not_reclaimed_before_the_minimum_run(
    people: tuple[Principal, Principal], settings
) -> None:  # type: ignore[no-untyped-def]
    """Its first attempt started an hour ago; the minimum run counts from its resume."""
    acme, globex = people
    settings.MIN_RUN_S = 300.0
    resumed, _ = _preempted_and_resumed(globex)
    t1 = timezone.now()
    _admit(resumed, TILES[:2], t1)
    for i, tile in enumerate(TILES[2:]):
        _admit(jobs.create_job(globex, _spec(f"g{i}", count=1)), (tile,), t1)
    quotas.set_quota(QuotaSpec("acme", "dojo", 6), actor="user:ops")
    jobs.create_job(acme, _spec("owed", count=1))
    store = DatabaseStore()

    snap = store.snapshot(t1.timestamp() + 60)
    assert _running(snap, resumed).start_time == pytest.approx(t1.timestamp())
    assert store.apply(schedule(snap), t1.timestamp() + 60).preempted == 0
    later = t1.timestamp() + 301
    assert store.apply(schedule(store.snapshot(later)), later).preempted == 1


def test_unchanged_queued_jobs_keep_their_request_objects(
    people: tuple[Principal, Principal],
) -> None:
    acme, _ = people
    a = jobs.create_job(acme, _spec("a"))
    b = jobs.create_job(acme, _spec("b"))
    reuse = Reuse()
    first = build_snapshot(timezone.now().timestamp(), reuse)
    Job.objects.filter(id=b.id).update(priority=7)
    second = build_snapshot(timezone.now().timestamp(), reuse)
    assert _queued(second, a) is _queued(first, a)  # same values: the same object
    assert _queued(second, b) is not _queued(first, b)
    assert _queued(second, b).priority == 7
    Job.objects.filter(id=a.id).update(state=lifecycle.CANCELLED)
    third = build_snapshot(timezone.now().timestamp(), reuse)
    assert a.id not in {q.job_id for q in third.queued}
    assert _queued(third, b) is _queued(second, b)
