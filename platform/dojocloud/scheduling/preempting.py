"""Preempting running jobs, for the scheduler's decisions and for operators.

Two ways a job leaves its devices early:
* `request_preemption` (graceful): the job is flagged; its worker checkpoints at the next
  step boundary and requeues it (execution.outcomes.preempt_job). The devices stay held until
  then, so the core sees the job as `preempted_for` its beneficiary.
* `force_requeue` (immediate, for failed hardware and operator requeues): the job goes back
  to the queue now and resumes from its last saved checkpoint; the worker notices the lost
  lease at its next heartbeat and its late results are discarded by the lease check.
Both write a Preemption row (who, why, for whom) and a note event on the job.
"""

from __future__ import annotations

from django.db import transaction

from dojocloud.common import metrics
from dojocloud.jobs.facade import (
    STOP_PREEMPT,
    Job,
    lifecycle,
    record_state_event,
    request_stop,
    transition,
)
from dojocloud.scheduling.capacity import release
from dojocloud.scheduling.models import Preemption
from dojocloud.scheduling.wake import wake
from scheduler.core import Preempt


def _record(job_id: str, preempt: Preempt, actor: str) -> None:
    attempt, state = Job.objects.values_list("attempt", "state").get(id=job_id)
    Preemption.objects.create(
        job_id=job_id,
        attempt=attempt,
        for_job_id=preempt.for_job_id or "",
        kind=preempt.kind,
        reason=preempt.reason,
        requested_by=actor,
    )
    # A note on the job's own event log: the state stays, the reason says who and why.
    record_state_event(job_id, state, state, f"preemption requested by {actor}: {preempt.reason}")
    transaction.on_commit(lambda: metrics.PREEMPTIONS.labels(reason=preempt.kind[:40]).inc())


def request_preemption(preempt: Preempt, *, actor: str) -> bool:
    """Flags a placed job to checkpoint and requeue. False if it is not placed or already
    flagged (a second request changes nothing)."""
    with transaction.atomic():
        updated = Job.objects.filter(
            id=preempt.job_id, state__in=lifecycle.PLACED_STATES, preempt_requested=False
        ).update(preempt_requested=True, preempt_reason=preempt.reason)
        if updated:
            _record(preempt.job_id, preempt, actor)
    if updated:
        request_stop(preempt.job_id, STOP_PREEMPT)
    return bool(updated)


def force_requeue(preempt: Preempt, *, actor: str) -> bool:
    """Puts a placed (or stuck preempted) job back in the queue now, devices released;
    its checkpoints are kept, so its next attempt resumes from the latest. False if the
    job is neither placed nor preempted."""
    reason = f"{preempt.reason} (by {actor})"
    with transaction.atomic():
        src = transition(
            preempt.job_id,
            lifecycle.PREEMPTED,
            reason,
            expect=lifecycle.PLACED_STATES,
            extra={"lease_owner": "", "dispatch_token": "", "preempt_reason": preempt.reason},
        )
        if (
            src is None
            and not Job.objects.filter(id=preempt.job_id, state=lifecycle.PREEMPTED).exists()
        ):
            return False
        Preemption.objects.create(
            job_id=preempt.job_id,
            attempt=Job.objects.values_list("attempt", flat=True).get(id=preempt.job_id),
            for_job_id=preempt.for_job_id or "",
            kind=preempt.kind,
            reason=preempt.reason,
            requested_by=actor,
        )
        if (
            transition(
                preempt.job_id,
                lifecycle.QUEUED,
                f"requeued: {reason}",
                expect=[lifecycle.PREEMPTED],
            )
            is None
        ):
            raise RuntimeError(f"job {preempt.job_id} left PREEMPTED during its requeue")
        release(preempt.job_id)
        transaction.on_commit(lambda: metrics.PREEMPTIONS.labels(reason=preempt.kind[:40]).inc())
        transaction.on_commit(wake)
    return True
