"""An operator cancels a tenant's job: any tenant's (operators see the whole fleet), always
with a reason the tenant reads in the job's events, and an audit row in the same
transaction. The console's gate (tenancy's console grant) is checked by the caller."""

from __future__ import annotations

from django.db import transaction

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dojocloud.jobs import control, lifecycle
from dojocloud.jobs.models import Job
from dojocloud.jobs.ports import JobCancelled, job_cancelled
from dojocloud.jobs.transitions import transition

MAX_REASON = 500


def cancel_job_as_operator(job_id: str, *, actor: Actor, reason: str) -> Job:
    why = " ".join(reason.split())
    if not why:
        raise InvalidArgument([FieldViolation("reason", "say why: the tenant reads it")])
    if len(why) > MAX_REASON:
        raise InvalidArgument(
            [FieldViolation("reason", f"at most {MAX_REASON} characters, got {len(why)}")]
        )
    job = Job.objects.filter(id=job_id.strip()).select_related("organization").first()
    if job is None:
        raise NotFound(f"jobs/{job_id.strip()}")
    shown = f"cancelled by the Dojo Cloud operators: {why}"
    for _ in range(3):
        if lifecycle.is_final(job.state):
            raise FailedPrecondition(f"job {job.id} is already {job.state}")
        with transaction.atomic():
            src = transition(job.id, lifecycle.CANCELLED, shown)
            if src is not None:
                job_cancelled.publish(JobCancelled(job.id))  # releases the placement
                record(
                    AuditAction.JOB_CANCELLED_BY_OPERATOR,
                    actor=actor,
                    org_slug=job.organization.slug,
                    organization_id=job.organization_id,
                    target=job.resource_name,
                    before={"state": src},
                    after={"state": lifecycle.CANCELLED, "reason": why},
                )
                break
        job.refresh_from_db()
    control.request_stop(job.id, control.STOP_CANCEL)
    job.refresh_from_db()
    return job
