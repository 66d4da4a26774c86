"""How a segment ends. Each outcome commits in one transaction: the segment_ended port's
listeners (job state, usage ledger row, placement release) and the checkpoint row run inside
it, so a worker killed at any point leaves either the segment wholly recorded or wholly
redone from the previous checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from dojocloud.execution import checkpoints
from dojocloud.execution.artifacts import send_produce
from dojocloud.execution.dispatch import new_token, send_segment
from dojocloud.execution.heartbeat import LOST_LEASE
from dojocloud.jobs.facade import (
    STOP_CANCEL,
    STOP_PREEMPT,
    Failure,
    FailureReason,
    Job,
    JobEvent,
    LostLease,
    Outcome,
    SegmentEnded,
    SegmentRun,
    clear_stop,
    segment_ended,
)

RANK_LOST = "rank_lost"  # a rank of the gang was killed from outside: redo the segment
RANK_LOST_REASON = "rank lost: "  # how the PREEMPTED events of lost ranks begin
MAX_RANK_LOSSES = 3  # then the job fails (NODE_FAILURE): a rank that keeps dying


@dataclass(frozen=True)
class SegmentResult:
    """What the worker's segment did: the usage it ran (the port's SegmentRun, billed as it
    is), how it stopped, and the checkpoint it took."""

    run: SegmentRun
    stop: str | None  # None (ran to the segment end), "cancel", "preempt", ...
    checkpoint: bytes | None
    failure: Failure | None = None  # the job process failed (out of memory, crashed, ...)
    note: str = ""  # what the supervisor said of the end (a lost rank: which, how)

    @property
    def end_step(self) -> int:
        return self.run.end_step


def _end(
    job: Job,
    lease: str,
    outcome: Outcome,
    reason: str,
    result: SegmentResult | None,
    next_token: str = "",
    failure: Failure | None = None,
) -> None:
    """Publishes the segment's end, then saves its checkpoint: in the caller's transaction,
    and after the jobs listener has checked the lease (a lost lease writes no file)."""
    segment_ended.publish(
        SegmentEnded(
            job_id=job.id,
            lease=lease,
            attempt=job.attempt,
            segment=job.segment,
            pool=job.pool,
            accelerator=job.accelerator,
            device_count=max(len(job.devices), 1),
            outcome=outcome,
            reason=reason,
            run=result.run if result is not None else None,
            next_token=next_token,
            failure=failure,
        )
    )
    if result is not None and result.checkpoint is not None:
        checkpoints.save_checkpoint(
            job,
            step=result.end_step,
            attempt=job.attempt,
            segment=job.segment,
            blob=result.checkpoint,
        )


def finish_segment(
    job: Job, lease: str, result: SegmentResult, log_tail: tuple[str, ...] = ()
) -> str:
    if result.stop == LOST_LEASE:
        return LOST_LEASE  # another worker owns the job now; it redoes this segment
    if result.failure is not None and result.stop != STOP_CANCEL:
        # Billed for what ran until the process ended; no checkpoint of a failed process.
        plain = SegmentResult(run=result.run, stop=result.stop, checkpoint=None)
        return fail_job(job, lease, result.failure.reason_text, plain, failure=result.failure)
    if result.stop == STOP_CANCEL:
        with transaction.atomic():
            _end(job, lease, Outcome.CANCELLED, "cancelled", result)
        clear_stop(job.id)
        return "cancelled"
    if result.stop == "max_runtime":
        failure = Failure(
            FailureReason.MAX_RUNTIME,
            f"max runtime of {job.max_runtime_seconds}s exceeded",
            step=result.end_step,
            last_log_lines=log_tail,
        )
        return fail_job(job, lease, failure.reason_text, result, failure=failure)
    if result.stop == STOP_PREEMPT:
        return preempt_job(job, lease, job.preempt_reason or "preempted", result)
    if result.stop == RANK_LOST:
        return _rank_lost(job, lease, result)
    try:
        with transaction.atomic():
            if result.end_step >= job.total_steps:
                _end(job, lease, Outcome.SUCCEEDED, f"trained {result.end_step} steps", result)
                done_pool = job.pool
                transaction.on_commit(lambda: send_produce(job.id, done_pool))
                return "succeeded"
            token = new_token()
            _end(job, lease, Outcome.NEXT_SEGMENT, "next segment", result, next_token=token)
            pool = job.pool
            transaction.on_commit(lambda: send_segment(job.id, token, pool))
            return "segment"
    except LostLease:
        return LOST_LEASE


def _rank_lost(job: Job, lease: str, result: SegmentResult) -> str:
    """A lost rank fails the segment for the gang; the job goes back to the queue and resumes
    from its checkpoint (billed for what ran, as a crash is), MAX_RANK_LOSSES times."""
    losses = JobEvent.objects.filter(
        job_id=job.id,
        kind=JobEvent.KIND_STATE,
        data__to="PREEMPTED",
        data__reason__startswith=RANK_LOST_REASON,
    ).count()
    if losses >= MAX_RANK_LOSSES:
        failure = Failure(
            FailureReason.NODE_FAILURE, f"{result.note} (rank lost {losses + 1} times)"
        )
        plain = SegmentResult(run=result.run, stop=None, checkpoint=None)
        return fail_job(job, lease, failure.reason_text, plain, failure=failure)
    reason = f"{RANK_LOST_REASON}{result.note}; resuming from the last checkpoint"
    plain = SegmentResult(run=result.run, stop=RANK_LOST, checkpoint=None)
    return preempt_job(job, lease, reason, plain)


def preempt_job(job: Job, lease: str, reason: str, result: SegmentResult | None = None) -> str:
    if not _ended(job, lease, Outcome.PREEMPTED, reason, result):
        return LOST_LEASE
    clear_stop(job.id)
    return "preempted"


def fail_job(
    job: Job,
    lease: str,
    reason: str,
    result: SegmentResult | None = None,
    *,
    failure: Failure | None = None,
) -> str:
    ended = _ended(job, lease, Outcome.FAILED, reason, result, failure)
    return "failed" if ended else LOST_LEASE


def _ended(
    job: Job,
    lease: str,
    outcome: Outcome,
    reason: str,
    result: SegmentResult | None,
    failure: Failure | None = None,
) -> bool:
    """Ends the segment in its own transaction; False when the lease was lost meanwhile."""
    try:
        with transaction.atomic():
            _end(job, lease, outcome, reason, result, failure=failure)
    except LostLease:
        return False
    return True
