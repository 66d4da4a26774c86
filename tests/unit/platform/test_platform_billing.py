"""The usage ledger: one row per (job, attempt, segment); twice written, once counted."""

from __future__ import annotations

from django.utils import timezone
from prometheus_client import REGISTRY

from dojocloud.billing.models import UsageRecord
from dojocloud.billing.services import job_usage, organization_usage, record_segment_usage
from dojocloud.jobs import services as jobs
from dojocloud.jobs.ports import Outcome, SegmentEnded, SegmentRun
from tests.support.people import People, make_spec


def usage(job_id: str, segment: int, wall: float = 10.0) -> tuple[SegmentEnded, SegmentRun]:
    now = timezone.now()
    run = SegmentRun(
        start_step=0,
        end_step=2,
        samples=16,
        wall_seconds=wall,
        device_seconds=0.5,
        started_at=now,
        ended_at=now,
    )
    return SegmentEnded(
        job_id=job_id,
        lease="w1",
        attempt=1,
        segment=segment,
        pool="dojo",
        accelerator="dojo-tile",
        device_count=2,
        outcome=Outcome.NEXT_SEGMENT,
        reason="next segment",
        run=run,
    ), run


def counter(org: str) -> float:
    value = REGISTRY.get_sample_value(
        "dojo_usage_allocated_seconds_total", {"organization": org, "pool": "dojo"}
    )
    return value or 0.0


def test_writing_a_segment_twice_counts_once(
    people: People, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    job = jobs.create_job(people.owner, make_spec())
    before = counter("acme")
    with django_capture_on_commit_callbacks(execute=True):
        assert record_segment_usage(*usage(job.id, 0)) is True
        assert record_segment_usage(*usage(job.id, 0, wall=99.0)) is False
        assert record_segment_usage(*usage(job.id, 1)) is True
    assert UsageRecord.objects.filter(job_id=job.id).count() == 2
    totals = job_usage(job.id)
    assert totals.allocated_seconds == 40.0 and totals.segments == 2
    job.refresh_from_db()
    assert job.allocated_seconds == 40.0 and job.samples_trained == 32
    assert counter("acme") - before == 40.0
    assert organization_usage(people.acme)["dojo"].wall_seconds == 20.0
    assert organization_usage(people.other) == {}
