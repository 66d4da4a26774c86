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
from django.db.models import Max, Q, QuerySet

from dojo.v1 import job_pb2
from dojo_runtime.estimate import EstimateRow, default_options, estimate_config
from dojocloud.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from dojocloud.common.inventory import pool_sizes
from dojocloud.datasets.facade import is_model_name
from dojocloud.jobs import admission, control, lifecycle, memory_fit, rate, stored_spec
from dojocloud.jobs.modelled import modelled_steps
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.ports import JobCancelled, JobSubmitted, job_cancelled, job_submitted
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.transitions import record_state_event, transition
from dojocloud.jobs.validation import dataset_of, model_of, validate_spec
from dojocloud.tenancy.facade import Action, Principal, require
from scheduler.core.priority import priority_value

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_REQUEST_ID = 100
MIN_ID_PREFIX = 4  # shortest id prefix that `resolve_job` takes for a job
AMBIGUOUS_LISTED = 10  # ids named in an "ambiguous" error


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
    """A QUEUED job for `spec`; the same job again for a request_id already used with the
    same spec, AlreadyExists for one used with a different spec (AIP-155: a request id names
    one request). One InvalidArgument names every bad field: `also_invalid` (what the adapter
    found wrong with the request's other fields), the request_id, and the spec's."""
    require(principal, Action.JOBS_SUBMIT)
    violations = [*also_invalid, *_request_id_violations(request_id)]
    try:
        valid = validate_spec(spec, organization=principal.organization)
    except InvalidArgument as err:
        violations += err.violations
    if violations:
        raise InvalidArgument(violations)
    if request_id:
        first = jobs_for(principal).filter(request_id=request_id).first()
        if first is not None:
            return _same_request(first, valid, request_id)
    modelled = modelled_steps(valid, principal.organization)
    try:
        # One transaction: the budget's check, the job and its first event (no round trips
        # of a transaction of the check's own).
        with transaction.atomic():
            admission.admit(principal.organization, valid)  # the budget: billing's, by port
            rate.admit_create(principal.organization)
            job = Job.objects.create(
                organization=principal.organization,
                creator=principal.user,
                creator_label=principal.label,
                name=valid.name,
                request_id=request_id,
                **stored_spec.encode(valid, priority_value(valid.priority_class)),
                modelled_steps=modelled,
                pending_reason="waiting for the scheduler",
            )
            record_state_event(
                job.id,
                None,
                lifecycle.QUEUED,
                "submitted" + memory_fit.dropped_note(spec, valid),
                job.created_at,
                job_locked=True,  # inserted just now, in this transaction
            )
            job_submitted.publish(JobSubmitted(job.id))  # scheduling wakes on commit
    except IntegrityError:
        # A concurrent retry with the same request_id won the insert: return its job.
        first = jobs_for(principal).filter(request_id=request_id).first() if request_id else None
        if first is None:
            raise
        return _same_request(first, valid, request_id)
    return job


def _same_request(first: Job, valid: job_pb2.JobSpec, request_id: str) -> Job:
    """`first` if it was made from `valid` (a retry), else AlreadyExists. Both specs are
    validated, so defaults a caller left out compare equal to ones it spelled out."""
    if spec_of(first) == valid:
        return first
    raise AlreadyExists(
        first.resource_name,
        f"request_id {request_id!r} was already used for {first.resource_name} "
        f"({first.name}) with a different spec; use a new request id for a new job",
    )


def _request_id_violations(request_id: str) -> list[FieldViolation]:
    if len(request_id) > MAX_REQUEST_ID:
        return [FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID} characters")]
    return []


def get_job(principal: Principal, job_id: str) -> Job:
    job = jobs_for(principal).filter(id=job_id).first()
    if job is None:
        raise NotFound(f"organizations/{principal.organization.slug}/jobs/{job_id}")
    return job


def resolve_job(principal: Principal, ref: str, *, field: str = "name") -> Job:
    """The caller's job that `ref` names (see `resolve_in`)."""
    return resolve_in(jobs_for(principal), principal.organization.slug, ref, field=field)


def resolve_tenant_job(org_slug: str, ref: str, *, field: str = "name") -> Job:
    """An operator's reference to one tenant's job: `ref` resolved within the organization
    `org_slug` names, as a member of it would resolve it (operators are authorised by their
    adapter; the tenant in the name guards against landing on another tenant's job)."""
    jobs = Job.objects.select_related("organization").filter(organization__slug=org_slug)
    return resolve_in(jobs, org_slug, ref, field=field)


def resolve_in(jobs: QuerySet[Job], org_slug: str, ref: str, *, field: str = "name") -> Job:
    """The job of `jobs` (one organization's) that `ref` names: its id; else its name, when
    exactly one job has it; else an id prefix of at least MIN_ID_PREFIX characters matching
    exactly one job. Several matches are an InvalidArgument on `field` listing their ids
    (newest first); none is NotFound, as for another organization's job."""
    ref = ref.strip()
    exact = jobs.filter(id=ref).first()
    if exact is not None:
        return exact
    for kind, query in (
        ("jobs are named", jobs.filter(name=ref)),
        (
            "job ids start with",
            jobs.filter(id__startswith=ref) if len(ref) >= MIN_ID_PREFIX else None,
        ),
    ):
        if query is None:
            continue
        found = list(query.order_by("-created_at", "-id")[: AMBIGUOUS_LISTED + 1])
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidArgument([FieldViolation(field, _ambiguous(query, found, kind, ref))])
    raise NotFound(f"organizations/{org_slug}/jobs/{ref}")


def _ambiguous(query: QuerySet[Job], found: list[Job], kind: str, ref: str) -> str:
    total = query.count()
    ids = ", ".join(f"{j.id} ({j.state.lower()})" for j in found[:AMBIGUOUS_LISTED])
    more = f" and {total - AMBIGUOUS_LISTED} more" if total > AMBIGUOUS_LISTED else ""
    return f"{total} {kind} {ref!r}: {ids}{more}; name one by its id"


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
    return events_of(get_job(principal, job_id), after_id=after_id, limit=limit)


def events_of(job: Job, *, after_id: int = 0, limit: int = 500) -> list[JobEvent]:
    """Up to `limit` events of a job the caller already read (get_job: scoped), id > after_id."""
    limit = max(1, min(limit, 5000))
    return list(JobEvent.objects.filter(job=job, id__gt=after_id).order_by("id")[:limit])


def latest_event_id(principal: Principal, job_id: str) -> int:
    """The highest id among the job's visible events (0 when it has none)."""
    job = get_job(principal, job_id)
    latest = JobEvent.objects.filter(job=job).aggregate(latest=Max("id"))["latest"]
    return int(latest or 0)


def estimate_job(
    principal: Principal, spec: job_pb2.JobSpec, *, prices: Mapping[str, float] | None = None
) -> list[EstimateRow]:
    """Modelled time and cost per accelerator option, from the runtime's estimator. An
    uploaded dataset resolves within the caller's organization (another's is NotFound).
    `prices` (USD per device-hour by accelerator type) are the price book's, which the
    adapters above billing pass in (billing.accelerator_prices); None: the packaged ones."""
    require(principal, Action.JOBS_ESTIMATE)
    valid = validate_spec(spec, organization=principal.organization)
    org = principal.organization
    config = train_config(valid, dataset=dataset_of(valid, org), model=model_of(valid, org))
    # Only what this platform can actually run: accelerator types of the inventory, in
    # counts that fit their largest pool.
    sizes = pool_sizes()
    options = [(a, n) for a, n in default_options(config) if n <= sizes.get(a, 0)]
    return estimate_config(config, options=options, prices=prices)


def dataset_users(organization_id: int, dataset_name: str) -> list[str]:
    """The non-final jobs of an organization whose spec names the dataset, or the uploaded
    model (`model.onnx`; asked before either is deleted)."""
    field = "spec__model__onnx" if is_model_name(dataset_name) else "spec__dataset__name"
    jobs = (
        Job.objects.filter(organization_id=organization_id, **{field: dataset_name})
        .exclude(state__in=lifecycle.FINAL_STATES)
        .select_related("organization")
        .order_by("created_at")
    )
    return [job.resource_name for job in jobs]
