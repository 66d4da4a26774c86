"""scheduling's reactions to jobs' ports: a job that leaves its placement has its devices
released in the publisher's transaction, and the loop is woken once that commits."""

from __future__ import annotations

from django.db import transaction

from dojocloud.jobs.facade import JobCancelled, JobSubmitted, SegmentEnded
from dojocloud.scheduling.capacity import release
from dojocloud.scheduling.wake import wake


def on_segment_ended(event: SegmentEnded) -> None:
    if event.releases_placement:
        release(event.job_id)
    # Any segment with usage may have brought its organization to its budget's cap: the
    # loop's next pass holds its jobs (budget_hold), so wake it for every ledger change.
    if event.releases_placement or event.run is not None:
        transaction.on_commit(wake)


def on_job_submitted(event: JobSubmitted) -> None:
    transaction.on_commit(wake)


def on_job_cancelled(event: JobCancelled) -> None:
    release(event.job_id)
    transaction.on_commit(wake)
