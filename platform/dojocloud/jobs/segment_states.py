"""jobs' reaction to a segment's end (the `segment_ended` port): the job's state moves, under
the worker's lease. A job that is no longer the worker's raises LostLease, which rolls the
whole segment end back."""

from __future__ import annotations

from django.db.models import F, Q
from django.utils import timezone

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job
from dojocloud.jobs.ports import LostLease, Outcome, SegmentEnded
from dojocloud.jobs.transitions import transition


def _mine(lease: str) -> Q:
    return Q(lease_owner=lease)


def _move(event: SegmentEnded, dst: str, expect: frozenset[str] | list[str]) -> None:
    failure = event.failure
    data = failure.event_data() if failure is not None else None
    moved = transition(
        event.job_id,
        dst,
        event.reason,
        expect=expect,
        where=_mine(event.lease),
        event_data=data,
        extra={"failure": failure.record()} if failure is not None else None,
    )
    if moved is None:
        raise LostLease(event.job_id)


def _next_segment(event: SegmentEnded) -> None:
    if not Job.objects.filter(
        id=event.job_id, state=lifecycle.RUNNING, lease_owner=event.lease
    ).update(
        segment=F("segment") + 1,
        dispatch_token=event.next_token,
        lease_owner="",
        heartbeat_at=None,
        dispatched_at=timezone.now(),
    ):
        raise LostLease(event.job_id)


def on_segment_ended(event: SegmentEnded) -> None:
    if event.outcome == Outcome.SUCCEEDED:
        _move(event, lifecycle.SUCCEEDED, [lifecycle.RUNNING])
    elif event.outcome == Outcome.NEXT_SEGMENT:
        _next_segment(event)
    elif event.outcome == Outcome.PREEMPTED:
        _move(event, lifecycle.PREEMPTED, lifecycle.PLACED_STATES)
    elif event.outcome == Outcome.FAILED:
        _move(event, lifecycle.FAILED, lifecycle.PLACED_STATES)
    # CANCELLED: cancel_job already moved the state; the segment's usage is still recorded.
    if event.run is not None:
        Job.objects.filter(id=event.job_id).update(current_step=event.run.end_step)
    if event.outcome == Outcome.PREEMPTED:
        transition(
            event.job_id,
            lifecycle.QUEUED,
            "requeued after preemption",
            expect=[lifecycle.PREEMPTED],
        )
