"""A job whose worker keeps vanishing: the scheduler's recovery re-dispatches a placed job
whose worker went silent, and counts it; past settings.MAX_LOST_WORKERS the job FAILS with
NODE_FAILURE instead (its devices are released by the next recovery pass, as for any job
that left the placed states). A dispatch no worker has claimed yet (no heartbeat ever) is a
slow queue, not a lost worker, and is not counted."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F

from dojocloud.jobs.facade import Failure, FailureReason, Job, lifecycle, log_tail, transition

TAIL_LINES = 20


def count_lost_worker(job_id: str, token: str) -> bool:
    """Counts one lost worker of the job (still under `token`); True when that was one too
    many and the job FAILED with NODE_FAILURE, False when it may be re-dispatched."""
    with transaction.atomic():
        if not Job.objects.filter(id=job_id, dispatch_token=token).update(
            lost_workers=F("lost_workers") + 1
        ):
            return False
        lost = Job.objects.filter(id=job_id).values_list("lost_workers", flat=True).get()
        if lost <= int(settings.MAX_LOST_WORKERS):
            return False
        failure = Failure(
            FailureReason.NODE_FAILURE,
            f"the worker running the job went silent {lost} times; not retried again",
            last_log_lines=log_tail(job_id, TAIL_LINES),
        )
        moved = transition(
            job_id,
            lifecycle.FAILED,
            failure.reason_text,
            expect=lifecycle.PLACED_STATES,
            extra={"failure": failure.record()},
            event_data=failure.event_data(),
        )
        return moved is not None
