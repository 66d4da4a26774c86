"""A training step's metric point exists once per job. A worker that loses its lease (killed,
or silent past the heartbeat timeout) leaves the points it already wrote; the segment is
re-dispatched and re-run from the last checkpoint, and the re-run must not add them again."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from dojocloud.common.inventory import inventory
from dojocloud.execution import segments
from dojocloud.execution.heartbeat import Heartbeat
from dojocloud.execution.progress import ProgressRecorder
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.transitions import transition
from dojocloud.scheduling import capacity
from dojocloud.scheduling.store import DatabaseStore
from tests.support.people import TRAINING, People, admit, make_spec, step_metrics

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def store(db: None, settings, tmp_path: Path) -> DatabaseStore:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.METRIC_EVERY_STEPS = 1
    settings.HEARTBEAT_TIMEOUT_S = 30
    settings.HEARTBEAT_INTERVAL_S = 3600  # no heartbeat thread traffic inside the test
    capacity.sync_inventory(inventory())
    return DatabaseStore()


def _placed(people: People, store: DatabaseStore, **training: int) -> Job:
    job = jobs.create_job(people.owner, make_spec(training={**TRAINING, **training}))
    admit(job, (TILE,), store=store, reason="fits")
    assert job.state == lifecycle.SCHEDULED and job.dispatch_token
    return job


def _worker_dies_after_flushing_metrics(job: Job, lease: str) -> None:
    """What a worker leaves when it is killed (or goes silent) between writing a segment's
    metrics and committing its checkpoint: run_segment up to the end of training."""
    claimed = segments.claim(job.id, job.dispatch_token, lease)
    assert claimed is not None
    assert (
        transition(
            job.id,
            lifecycle.RUNNING,
            "running on worker-a",
            expect=[lifecycle.SCHEDULED],
            where=Q(lease_owner=lease),
        )
        is not None
    )
    claimed.refresh_from_db()
    segments._train(claimed, Heartbeat(job.id, lease, 3600))


def _run_to_the_end(job_id: str) -> None:
    """The re-dispatched worker, then each chained segment (the test stands in for Celery)."""
    for _ in range(10):
        job = Job.objects.get(id=job_id)
        if job.is_final:
            return
        assert segments.run_segment(job.id, job.dispatch_token) in ("segment", "succeeded")
    pytest.fail("the job did not finish")


def _metric_steps(people: People, job_id: str) -> list[int]:
    return [
        e.data["step"]
        for e in jobs.job_events(people.owner, job_id, limit=5000)
        if e.kind == JobEvent.KIND_METRIC
    ]


def test_a_segment_rerun_after_a_lost_lease_adds_no_duplicate_points(
    people: People, store: DatabaseStore
) -> None:
    job = _placed(people, store)
    _worker_dies_after_flushing_metrics(job, "worker-a:dead")
    assert _metric_steps(people, job.id) == [1, 2]
    # No heartbeat for longer than the timeout: the scheduler re-dispatches the segment.
    assert store.recover(timezone.now().timestamp() + 3600) == 1
    _run_to_the_end(job.id)

    job.refresh_from_db()
    assert job.state == lifecycle.SUCCEEDED and job.current_step == 6
    assert _metric_steps(people, job.id) == [1, 2, 3, 4, 5, 6]


def test_a_worker_that_lost_its_lease_writes_no_more_points(
    people: People, store: DatabaseStore
) -> None:
    job = _placed(people, store, steps=20, checkpoint_interval=20)
    zombie = ProgressRecorder(job.id, every=1, last_step=20, lease="worker-a:zombie")
    assert segments.claim(job.id, job.dispatch_token, "worker-a:zombie") is not None
    zombie.record(step_metrics(1))
    zombie.flush()
    # Taken over: the scheduler re-dispatched, another worker claimed the new token.
    assert store.recover(timezone.now().timestamp() + 3600) == 1
    job.refresh_from_db()
    assert segments.claim(job.id, job.dispatch_token, "worker-b:live") is not None
    zombie.record(step_metrics(7))
    zombie.flush()
    assert _metric_steps(people, job.id) == [1]
    assert Job.objects.get(id=job.id).current_step == 1  # the zombie does not move it


def test_the_database_holds_one_point_per_step(people: People) -> None:
    job = jobs.create_job(people.owner, make_spec())
    JobEvent.objects.create(job=job, kind="metric", data={"step": 10, "loss": 2.0})
    with pytest.raises(IntegrityError), transaction.atomic():
        JobEvent.objects.create(job=job, kind="metric", data={"step": 10, "loss": 2.5})
    other = jobs.create_job(people.owner, make_spec(name="other"))
    JobEvent.objects.create(job=other, kind="metric", data={"step": 10, "loss": 2.0})
    # A recorder writing the same step again (a re-run) keeps the first point, no error.
    recorder = ProgressRecorder(job.id, every=1, last_step=20)
    recorder.record(step_metrics(10))
    recorder.record(step_metrics(20))
    recorder.flush()
    assert _metric_steps(people, job.id) == [10, 20]
    assert JobEvent.objects.get(job=job, kind="metric", data__step=10).data["loss"] == 2.0
