"""Operator actions on the fleet and on jobs. Every action names its actor and reason: the
reason lands on each affected job's event log (and in Preemption rows), and the scheduler
is woken so it acts on the change at once.

Targets are device ids or prefixes: a tile "dojo/e0/c0/t0/r0c1", a tray "dojo/e0/c0/t0", a
cabinet "dojo/e0/c0", a GPU node "gpu-a100/n0" or one GPU "gpu-a100/n0/g3". The rules (which
devices a target hits, the Preempt each action makes) are scheduler.core.operator_rules';
this module applies them to the database. Device states persist in Device.status.

Each action appends an audit row in its transaction (`audit_actor`: who and from where, as
the adapter saw the call; default the `actor` label from nowhere). Device actions are the
fleet's (no organization: operators read them); an action on one job is also its
organization's, so the tenant's admins see that an operator moved their job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dojocloud.jobs.facade import Job, lifecycle, record_state_event, resolve_tenant_job
from dojocloud.scheduling.models import Allocation, Device, DeviceStatus
from dojocloud.scheduling.preempting import force_requeue, request_preemption
from dojocloud.scheduling.wake import wake
from scheduler.core import operator_rules as rules


@dataclass(frozen=True)
class OperationResult:
    target: str
    devices: int  # devices whose state was set
    jobs: tuple[str, ...]  # running jobs on them (moved, or left to finish)


def _grace_s() -> float:
    """A drained or preempted job's time to checkpoint: the scheduler's own grace period
    (Snapshot.grace_period_s), one setting for both."""
    return float(settings.PREEMPT_GRACE_S)


_UPDATE_CHUNK = 500  # device ids per UPDATE: a whole pool stays under SQLite's variable cap


def _target(target: str) -> str:
    target = target.strip().rstrip("/")
    if not target:
        raise InvalidArgument([FieldViolation("target", "name a tile, tray or GPU node")])
    return target


def _devices(target: str) -> list[str]:
    """The inventory's devices the target hits. SQL narrows by prefix; the rule decides
    ("gpu-a100/n1" must not hit "gpu-a100/n10/g0")."""
    ids = [
        d
        for d in Device.objects.filter(in_inventory=True, id__startswith=target).values_list(
            "id", flat=True
        )
        if rules.hits(d, target)
    ]
    if not ids:
        raise NotFound(f"devices/{target}")
    return ids


def _jobs_on(target: str) -> tuple[str, ...]:
    """Jobs holding a device the target hits (also one that has left the inventory)."""
    held = Allocation.objects.filter(
        released_at__isnull=True, device__id__startswith=target
    ).values_list("job_id", "device_id")
    return tuple(sorted({job_id for job_id, device_id in held if rules.hits(device_id, target)}))


def _why(actor: str, reason: str, default: str) -> str:
    return f"{reason.strip() or default} (by {actor})"


def _set_status(target: str, status: str) -> tuple[str, int, dict[str, int]]:
    """The normalised target, how many inventory devices it set, and how many were in each
    status before (for the audit row)."""
    target = _target(target)
    ids = _devices(target)
    before: Counter[str] = Counter()
    for i in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[i : i + _UPDATE_CHUNK]
        before.update(Device.objects.filter(id__in=chunk).values_list("status", flat=True))
        Device.objects.filter(id__in=chunk).update(status=status)
    return target, len(ids), dict(sorted(before.items()))


def _audit_device(
    action: AuditAction,
    who: Actor,
    target: str,
    before: dict[str, int],
    after: Mapping[str, object],
) -> None:
    record(action, actor=who, target=f"devices/{target}", before={"status": before}, after=after)


def drain(
    target: str,
    *,
    evict: bool,
    actor: str,
    reason: str = "",
    audit_actor: Actor | None = None,
) -> OperationResult:
    """No new work on the target. evict=True: its running jobs checkpoint and move now;
    otherwise they run to completion there first."""
    with transaction.atomic():
        normal, count, before = _set_status(target, DeviceStatus.DRAINING)
        jobs = _jobs_on(normal)
        why = _why(actor, reason, "maintenance")
        for job_id in jobs:
            if evict:
                request_preemption(
                    rules.drain_preempt(job_id, target, _grace_s(), why), actor=actor
                )
            else:
                _note(job_id, f"{target} draining; the job finishes here first: {why}")
        after = {"status": {DeviceStatus.DRAINING.value: count}, "evict": evict, "jobs": list(jobs)}
        _audit_device(
            AuditAction.DEVICE_DRAINED,
            audit_actor or Actor(label=actor),
            normal,
            before,
            {**after, "reason": reason},
        )
        transaction.on_commit(wake)
    return OperationResult(target, count, jobs)


def undrain(
    target: str, *, actor: str, reason: str = "", audit_actor: Actor | None = None
) -> OperationResult:
    """Back in service (also after a repair of failed hardware)."""
    with transaction.atomic():
        normal, count, before = _set_status(target, DeviceStatus.FREE)
        after = {"status": {DeviceStatus.FREE.value: count}, "reason": reason}
        _audit_device(
            AuditAction.DEVICE_UNDRAINED, audit_actor or Actor(label=actor), normal, before, after
        )
        transaction.on_commit(wake)
    return OperationResult(target, count, _jobs_on(normal))


def mark_failed(
    target: str, *, actor: str, reason: str = "", audit_actor: Actor | None = None
) -> OperationResult:
    """The hardware is gone: its jobs go back to the queue now and resume elsewhere from
    their last checkpoint (work since then is redone)."""
    with transaction.atomic():
        normal, count, before = _set_status(target, DeviceStatus.FAILED)
        jobs = _jobs_on(normal)
        why = _why(actor, reason, "hardware fault")
        for job_id in jobs:
            force_requeue(rules.failure_preempt(job_id, target, why), actor=actor)
        after = {"status": {DeviceStatus.FAILED.value: count}, "jobs": list(jobs), "reason": reason}
        _audit_device(
            AuditAction.DEVICE_MARKED_FAILED,
            audit_actor or Actor(label=actor),
            normal,
            before,
            after,
        )
        transaction.on_commit(wake)
    return OperationResult(target, count, jobs)


def _job(ref: str, tenant: str) -> Job:
    """The job `ref` names: within `tenant` by id, unique name or id prefix (as its members
    name it); without a tenant (the console's own links), by id only."""
    if tenant:
        return resolve_tenant_job(tenant, ref)
    job = Job.objects.filter(id=ref.strip()).select_related("organization").first()
    if job is None:
        raise NotFound(f"jobs/{ref}")
    return job


def _audit_job(
    action: AuditAction, who: Actor, job: Job, before: str, after: str, reason: str
) -> None:
    record(
        action,
        actor=who,
        org_slug=job.organization.slug,
        organization_id=job.organization_id,
        target=job.resource_name,
        before={"state": before},
        after={"state": after, "reason": reason},
    )


def preempt_job(
    job_id: str,
    *,
    actor: str,
    reason: str = "",
    tenant: str = "",
    audit_actor: Actor | None = None,
) -> Job:
    """Checkpoint, then back to the queue (the job keeps its place by priority and age)."""
    job = _job(job_id, tenant)
    if job.state not in lifecycle.PLACED_STATES:
        raise FailedPrecondition(f"job {job.id} is {job.state}, not running")
    why = _why(actor, reason, "operator request")
    with transaction.atomic():
        if not request_preemption(rules.operator_preempt(job.id, why, _grace_s()), actor=actor):
            raise FailedPrecondition(f"job {job.id} is already being preempted")
        # The state stays until the worker checkpoints: the row says a preemption was asked.
        _audit_job(
            AuditAction.JOB_PREEMPTED,
            audit_actor or Actor(label=actor),
            job,
            job.state,
            "preempt requested",
            reason,
        )
    wake()
    job.refresh_from_db()
    return job


def requeue_job(
    job_id: str,
    *,
    actor: str,
    reason: str = "",
    tenant: str = "",
    audit_actor: Actor | None = None,
) -> Job:
    """Back to the queue now, without waiting for a checkpoint: it resumes from its last
    saved one. Also unsticks a job left PREEMPTED."""
    job = _job(job_id, tenant)
    why = _why(actor, reason, "requeue")
    with transaction.atomic():
        if not force_requeue(rules.requeue_preempt(job.id, why), actor=actor):
            raise FailedPrecondition(
                f"job {job.id} is {job.state}: only placed or preempted jobs can be requeued"
            )
        before = job.state
        job.refresh_from_db()
        _audit_job(
            AuditAction.JOB_REQUEUED,
            audit_actor or Actor(label=actor),
            job,
            before,
            job.state,
            reason,
        )
    return job


def _note(job_id: str, reason: str) -> None:
    state = Job.objects.values_list("state", flat=True).get(id=job_id)
    record_state_event(job_id, state, state, reason)
