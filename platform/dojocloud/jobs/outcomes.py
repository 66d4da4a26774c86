"""How a segment ends. Each outcome commits in one transaction — checkpoint row, usage
ledger row, job state and placement — so a worker killed at any point leaves either the
segment wholly recorded or wholly redone from the previous checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dojocloud.billing.services import SegmentUsage, record_segment_usage
from dojocloud.jobs import checkpoints, control, lifecycle
from dojocloud.jobs.dispatch import new_token, send_segment
from dojocloud.jobs.models import Job
from dojocloud.jobs.transitions import transition
from dojocloud.scheduling.capacity import release
from dojocloud.scheduling.wake import wake


class _LostLease(Exception):
    pass


@dataclass(frozen=True)
class SegmentResult:
    start_step: int
    end_step: int
    stop: str | None          # None (ran to the segment end), "cancel", "preempt", ...
    checkpoint: bytes | None
    wall_seconds: float
    device_seconds: float
    samples: int
    started_at: datetime
    ended_at: datetime


def _record(job: Job, result: SegmentResult) -> None:
    if result.checkpoint is not None:
        checkpoints.save_checkpoint(job.id, step=result.end_step, attempt=job.attempt,
                                    segment=job.segment, blob=result.checkpoint)
    record_segment_usage(SegmentUsage(
        job_id=job.id, attempt=job.attempt, segment=job.segment, pool=job.pool,
        accelerator=job.accelerator, device_count=max(len(job.devices), 1),
        start_step=result.start_step, end_step=result.end_step, samples=result.samples,
        wall_seconds=result.wall_seconds, device_seconds=result.device_seconds,
        started_at=result.started_at, ended_at=result.ended_at))
    Job.objects.filter(id=job.id).update(current_step=result.end_step)


def _mine(lease: str) -> Q:
    return Q(lease_owner=lease)


def finish_segment(job: Job, lease: str, result: SegmentResult) -> str:
    if result.stop == "lost_lease":
        return "lost_lease"   # another worker owns the job now; it redoes this segment
    if result.stop == control.STOP_CANCEL:
        with transaction.atomic():
            _record(job, result)
        control.clear_stop(job.id)
        return "cancelled"
    if result.stop == "max_runtime":
        return fail_job(job, lease, f"max runtime of {job.max_runtime_seconds}s exceeded",
                        result)
    if result.stop == control.STOP_PREEMPT:
        return preempt_job(job, lease, job.preempt_reason or "preempted", result)
    try:
        with transaction.atomic():
            if result.end_step >= job.total_steps:
                _succeed(job, lease, result)
                return "succeeded"
            _chain(job, lease, result)
            return "segment"
    except _LostLease:
        return "lost_lease"


def _succeed(job: Job, lease: str, result: SegmentResult) -> None:
    if transition(job.id, lifecycle.SUCCEEDED, f"trained {result.end_step} steps",
                  expect=[lifecycle.RUNNING], where=_mine(lease)) is None:
        raise _LostLease(job.id)
    _record(job, result)
    release(job.id)
    transaction.on_commit(wake)


def _chain(job: Job, lease: str, result: SegmentResult) -> None:
    token = new_token()
    if not Job.objects.filter(id=job.id, state=lifecycle.RUNNING, lease_owner=lease).update(
            segment=F("segment") + 1, dispatch_token=token, lease_owner="",
            heartbeat_at=None, dispatched_at=timezone.now()):
        raise _LostLease(job.id)
    _record(job, result)
    pool = job.pool
    transaction.on_commit(lambda: send_segment(job.id, token, pool))


def preempt_job(job: Job, lease: str, reason: str, result: SegmentResult | None = None) -> str:
    try:
        with transaction.atomic():
            if transition(job.id, lifecycle.PREEMPTED, reason, expect=lifecycle.PLACED_STATES,
                          where=_mine(lease)) is None:
                raise _LostLease(job.id)
            if result is not None:
                _record(job, result)
            transition(job.id, lifecycle.QUEUED, "requeued after preemption",
                       expect=[lifecycle.PREEMPTED])
            release(job.id)
            transaction.on_commit(wake)
    except _LostLease:
        return "lost_lease"
    control.clear_stop(job.id)
    return "preempted"


def fail_job(job: Job, lease: str, reason: str, result: SegmentResult | None = None) -> str:
    try:
        with transaction.atomic():
            if transition(job.id, lifecycle.FAILED, reason, expect=lifecycle.PLACED_STATES,
                          where=_mine(lease)) is None:
                raise _LostLease(job.id)
            if result is not None:
                _record(job, result)
            release(job.id)
            transaction.on_commit(wake)
    except _LostLease:
        return "lost_lease"
    return "failed"
