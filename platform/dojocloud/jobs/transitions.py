"""Applies lifecycle transitions with conditional updates (UPDATE … WHERE state = expected):
zero rows means another process moved the job first. Every transition writes an event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dojocloud.common import metrics
from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.ports import JobFinished, job_finished

_RETRIES = 4


def record_state_event(
    job_id: str,
    src: str | None,
    dst: str,
    reason: str,
    now: datetime | None = None,
    extra: dict[str, Any] | None = None,
    *,
    job_locked: bool = False,
) -> JobEvent:
    """`extra`: figures beside the reason (a failure's code, peak and limit). `job_locked`:
    the caller's transaction inserted the job (JobEvent.save)."""
    event = JobEvent(
        job_id=job_id,
        kind=JobEvent.KIND_STATE,
        time=now or timezone.now(),
        data={**(extra or {}), "from": src, "to": dst, "reason": reason},
    )
    event.save(force_insert=True, job_locked=job_locked)
    return event


def _fields_for(dst: str, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if dst == lifecycle.RUNNING:
        fields["started_at"] = Coalesce("started_at", now)
    if dst in lifecycle.FINAL_STATES:
        fields.update(
            ended_at=now, pending_reason="", queue_position=0, dispatch_token="", lease_owner=""
        )
    if dst == lifecycle.QUEUED:
        fields.update(
            pool="",
            accelerator="",
            devices=[],
            dispatch_token="",
            lease_owner="",
            heartbeat_at=None,
            preempt_requested=False,
            preempt_reason="",
        )
    return fields


def transition(
    job_id: str,
    dst: str,
    reason: str,
    *,
    expect: Iterable[str] | None = None,
    extra: dict[str, Any] | None = None,
    where: Q | None = None,
    now: datetime | None = None,
    event_data: dict[str, Any] | None = None,
) -> str | None:
    """Moves the job to `dst` from whatever state it is in, if the table allows it (and the
    state is in `expect`, and `where` holds). Returns the state it left, or None."""
    now = now or timezone.now()
    allowed = set(expect) if expect is not None else set(lifecycle.ALL_STATES)
    for _ in range(_RETRIES):
        row = (
            Job.objects.filter(id=job_id)
            .values("state", "pool", "organization_id", "organization__slug")
            .first()
        )
        if row is None:
            return None
        src = row["state"]
        if src not in allowed or not lifecycle.can_transition(src, dst):
            return None
        query = Job.objects.filter(id=job_id, state=src)
        if where is not None:
            query = query.filter(where)
        with transaction.atomic():
            updated = query.update(
                state=dst, state_reason=reason, **{**_fields_for(dst, now), **(extra or {})}
            )
            if updated:
                record_state_event(job_id, src, dst, reason, now, event_data)
                if dst in lifecycle.FINAL_STATES:
                    _count_final(row["organization__slug"], row["pool"], dst)
                    finished = JobFinished(
                        job_id, row["organization_id"], dst, reason, now, event_data or {}
                    )
                    job_finished.publish(finished)
                return str(src)
        if where is not None and not Job.objects.filter(id=job_id).filter(where).exists():
            return None
    return None


def _count_final(org: str, pool: str, state: str) -> None:
    transaction.on_commit(
        lambda: metrics.JOBS.labels(organization=org, pool=pool or "none", state=state).inc()
    )
