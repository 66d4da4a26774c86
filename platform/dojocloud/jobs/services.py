"""Jobs services: submit, read, list, cancel and estimate jobs (other apps call them
through dojocloud.jobs.facade).

Every tenant-owned query goes through `jobs_for(principal)`: another organization's job is
reported as NotFound, indistinguishable from a missing one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from dojo.v1 import job_pb2
from dojo_runtime.data.npz import NpzError
from dojo_runtime.estimate import EstimateRow, default_options, estimate_config
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dojocloud.common.inventory import pool_sizes
from dojocloud.jobs import control, lifecycle, memory_fit, rate, stored_spec
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.ports import JobCancelled, JobSubmitted, job_cancelled, job_submitted
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.transitions import record_state_event, transition
from dojocloud.jobs.validation import validate_spec
from dojocloud.tenancy.facade import Action, Principal, require
from scheduler.core.priority import priority_value

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_REQUEST_ID = 100


def jobs_for(principal: Principal) -> QuerySet[Job]:
    """The one place job queries are scoped to the caller's organization (and checked
    against the permission table: every role reads; the adapters checked first)."""
    require(principal, Action.JOBS_READ)
    return Job.objects.select_related("organization").filter(organization=principal.organization)


def spec_of(job: Job) -> job_pb2.JobSpec:
    """The job's validated spec (decoded once per instance; treat it as read-only)."""
    return stored_spec.decode(job)


def create_job(
    principal: Principal,
    spec: job_pb2.JobSpec,
    *,
    request_id: str = "",
    also_invalid: Sequence[FieldViolation] = (),
) -> Job:
    """A QUEUED job for `spec`; the same job again for a request_id already used. One
    InvalidArgument names every bad field: `also_invalid` (what the adapter found wrong with
    the request's other fields), the request_id, and the spec's."""
    require(principal, Action.JOBS_SUBMIT)
    violations = [*also_invalid, *_request_id_violations(request_id)]
    if request_id and not violations:
        first = jobs_for(principal).filter(request_id=request_id).first()
        if first is not None:
            return first
    try:
        valid = validate_spec(spec)
    except InvalidArgument as err:
        violations += err.violations
    if violations:
        raise InvalidArgument(violations)
    rate.admit_create(principal.organization)
    try:
        with transaction.atomic():
            job = Job.objects.create(
                organization=principal.organization,
                creator=principal.user,
                creator_label=principal.label,
                name=valid.name,
                request_id=request_id,
                **stored_spec.encode(valid, priority_value(valid.priority_class)),
                pending_reason="waiting for the scheduler",
            )
            record_state_event(
                job.id,
                None,
                lifecycle.QUEUED,
                "submitted" + memory_fit.dropped_note(spec, valid),
                job.created_at,
            )
            job_submitted.publish(JobSubmitted(job.id))  # scheduling wakes on commit
    except IntegrityError:
        # A concurrent retry with the same request_id won the insert: return its job.
        first = jobs_for(principal).filter(request_id=request_id).first() if request_id else None
        if first is None:
            raise
        return first
    return job


def _request_id_violations(request_id: str) -> list[FieldViolation]:
    if len(request_id) > MAX_REQUEST_ID:
        return [FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID} characters")]
    return []


def get_job(principal: Principal, job_id: str) -> Job:
    job = jobs_for(principal).filter(id=job_id).first()
    if job is None:
        raise NotFound(f"organizations/{principal.organization.slug}/jobs/{job_id}")
    return job


def _encode_token(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument([FieldViolation("page_token", "is not a valid page token")]) from None


def list_jobs(
    principal: Principal,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_token: str = "",
    state: str | None = None,
) -> tuple[list[Job], str]:
    """Newest first; keyset pagination so pages stay stable while jobs are added."""
    if page_size < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    query = jobs_for(principal).order_by("-created_at", "-id")
    if state:
        if state not in lifecycle.ALL_STATES:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "filter", f"state must be one of {', '.join(lifecycle.ALL_STATES)}"
                    )
                ]
            )
        query = query.filter(state=state)
    if page_token:
        created, job_id = _decode_token(page_token)
        query = query.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=job_id))
    page = list(query[: size + 1])
    if len(page) > size:
        return page[:size], _encode_token(page[size - 1])
    return page, ""


def cancel_job(principal: Principal, job_id: str, *, reason: str = "") -> Job:
    require(principal, Action.JOBS_CANCEL)
    job = get_job(principal, job_id)
    why = reason.strip() or f"cancelled by {principal.label}"
    for _ in range(3):
        if lifecycle.is_final(job.state):
            raise FailedPrecondition(f"job {job.id} is already {job.state}")
        with transaction.atomic():
            if transition(job.id, lifecycle.CANCELLED, why) is not None:
                # scheduling releases the placement in this transaction, wakes on commit
                job_cancelled.publish(JobCancelled(job.id))
                break
        job.refresh_from_db()
    control.request_stop(job.id, control.STOP_CANCEL)
    job.refresh_from_db()
    return job


def job_events(
    principal: Principal, job_id: str, *, after_id: int = 0, limit: int = 500
) -> list[JobEvent]:
    job = get_job(principal, job_id)
    limit = max(1, min(limit, 5000))
    return list(JobEvent.objects.filter(job=job, id__gt=after_id).order_by("id")[:limit])


def estimate_job(
    spec: job_pb2.JobSpec, *, prices: Mapping[str, float] | None = None
) -> list[EstimateRow]:
    """Modelled time and cost per accelerator option, from the runtime's estimator.
    `prices` (USD per device-hour by accelerator type) are the price book's, which the
    adapters above billing pass in (billing.accelerator_prices); None: the packaged ones."""
    valid = validate_spec(spec)
    config = train_config(valid)
    # Only what this platform can actually run: accelerator types of the inventory, in
    # counts that fit their largest pool.
    sizes = pool_sizes()
    options = [(a, n) for a, n in default_options(config) if n <= sizes.get(a, 0)]
    try:
        return estimate_config(config, options=options, prices=prices)
    except NpzError as exc:  # the customer's file: missing, unreadable, wrong arrays
        message = str(exc).removeprefix(f"{exc.field}: ")
        raise InvalidArgument([FieldViolation(exc.field, message)]) from None
