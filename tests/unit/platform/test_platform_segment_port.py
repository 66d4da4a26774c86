"""A segment ends through jobs' segment_ended port: the job's state (jobs), the usage row
(billing), the placement release (scheduling) and the checkpoint row (execution) commit in
one transaction, and a port with an app missing refuses to publish instead of dropping it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from dojocloud.billing.models import UsageRecord
from dojocloud.common.inventory import inventory
from dojocloud.execution import segments
from dojocloud.execution.outcomes import SegmentResult, finish_segment
from dojocloud.jobs import lifecycle, ports
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Allocation
from tests.support.people import TRAINING, People, admit, make_spec

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def running(db: None, people: People, settings, tmp_path: Path) -> tuple[Job, str]:  # type: ignore[no-untyped-def]
    """A one-segment job claimed and running under a worker lease."""
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    capacity.sync_inventory(inventory())
    job = jobs.create_job(people.owner, make_spec(training={**TRAINING, "steps": 2}))
    admit(job, (TILE,), reason="fits")
    lease = "worker-a:test"
    claimed = segments.claim(job.id, job.dispatch_token, lease)
    assert claimed is not None
    jobs.transition(job.id, lifecycle.RUNNING, "running", expect=[lifecycle.SCHEDULED])
    claimed.refresh_from_db()
    return claimed, lease


def _result() -> SegmentResult:
    now = timezone.now()
    run = ports.SegmentRun(
        start_step=0,
        end_step=2,
        samples=16,
        wall_seconds=1.5,
        device_seconds=0.5,
        started_at=now - timedelta(seconds=2),
        ended_at=now,
    )
    return SegmentResult(run=run, stop=None, checkpoint=b"weights")


@pytest.fixture
def without_billing() -> Iterator[None]:
    listener = ports.segment_ended._listeners["billing"]
    ports.segment_ended.unsubscribe("billing")
    try:
        yield
    finally:
        ports.segment_ended.subscribe("billing", listener)


def test_the_last_segment_commits_state_usage_release_and_checkpoint(
    running: tuple[Job, str],
) -> None:
    job, lease = running
    assert finish_segment(job, lease, _result()) == "succeeded"
    job.refresh_from_db()
    assert job.state == lifecycle.SUCCEEDED and job.current_step == 2
    assert UsageRecord.objects.filter(job=job).count() == 1
    assert Checkpoint.objects.filter(job=job, step=2).exists()
    assert not Allocation.objects.filter(job=job, released_at__isnull=True).exists()


def test_a_segment_end_without_billing_subscribed_fails_and_writes_nothing(
    running: tuple[Job, str], without_billing: None
) -> None:
    job, lease = running
    with pytest.raises(ports.MissingSubscriber, match="billing"):
        finish_segment(job, lease, _result())
    job.refresh_from_db()
    assert job.state == lifecycle.RUNNING and job.current_step == 0
    assert not UsageRecord.objects.filter(job=job).exists()
    assert not Checkpoint.objects.filter(job=job).exists()
    assert Allocation.objects.filter(job=job, released_at__isnull=True).exists()


def test_a_lost_lease_rolls_the_whole_segment_end_back(running: tuple[Job, str]) -> None:
    job, _ = running
    assert finish_segment(job, "worker-b:not-the-owner", _result()) == "lost_lease"
    job.refresh_from_db()
    assert job.state == lifecycle.RUNNING
    assert not UsageRecord.objects.filter(job=job).exists()
    assert not Checkpoint.objects.filter(job=job).exists()
    assert Allocation.objects.filter(job=job, released_at__isnull=True).exists()


def test_ports_are_published_inside_a_transaction_only(transactional_db: None) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        ports.job_submitted.publish(ports.JobSubmitted("nojob"))
    with transaction.atomic():
        ports.job_submitted.publish(ports.JobSubmitted("nojob"))  # scheduling wakes on commit


def test_only_the_named_apps_may_subscribe() -> None:
    with pytest.raises(ValueError, match="not a subscriber"):
        ports.segment_ended.subscribe("portal", lambda event: None)
