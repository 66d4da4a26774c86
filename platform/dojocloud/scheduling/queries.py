"""Read models for operators: the fleet's devices with their holders, pool totals, and the
queue in the order the last scheduling pass chose. Operators see every tenant, so nothing
here is organization-scoped; only operator-authorised adapters call it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Value, When

from dojocloud.jobs.facade import Job, lifecycle
from dojocloud.scheduling.models import Allocation, Device, DeviceStatus
from scheduler.core import pool_for_accelerator

WAITING_STATES = (lifecycle.QUEUED, lifecycle.PREEMPTED)


@dataclass(frozen=True)
class Holder:
    job_id: str
    job_name: str
    tenant: str


@dataclass(frozen=True)
class DeviceRow:
    device: Device
    state: str  # "free" | "busy" | "draining" | "failed"
    holder: Holder | None


@dataclass(frozen=True)
class PoolRow:
    pool: str
    accelerator: str
    total: int
    allocated: int
    free: int
    unavailable: int
    queued: int


@dataclass(frozen=True)
class QueueRow:
    job_id: str
    tenant: str
    name: str
    state: str
    pool: str
    accelerator: str
    count: int
    position: int
    pending_reason: str
    priority: int
    created_at: datetime


def _state(device: Device, holder: Holder | None) -> str:
    if device.status in (DeviceStatus.FAILED, DeviceStatus.DRAINING):
        return str(device.status)
    return "busy" if holder is not None else "free"


def devices(pool: str = "") -> list[DeviceRow]:
    holders = {
        dev: Holder(job, name, org)
        for dev, job, name, org in Allocation.objects.filter(released_at__isnull=True).values_list(
            "device_id", "job_id", "job__name", "job__organization__slug"
        )
    }
    rows = Device.objects.filter(in_inventory=True)
    if pool:
        rows = rows.filter(pool=pool)
    return [
        DeviceRow(d, _state(d, holders.get(d.id)), holders.get(d.id))
        for d in rows.order_by("pool", "exapod", "cabinet", "tray", "row", "col", "node", "index")
    ]


def pools(rows: list[DeviceRow], queued: Counter[str]) -> list[PoolRow]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    accel: dict[str, str] = {}
    for r in rows:
        per[r.device.pool]["allocated" if r.holder else r.state] += 1
        accel[r.device.pool] = r.device.accelerator
    return [
        PoolRow(
            p,
            accel[p],
            sum(c.values()),
            c["allocated"],
            c["free"],
            c["draining"] + c["failed"],
            queued[p],
        )
        for p, c in sorted(per.items())
    ]


def queue(pool: str = "", limit: int | None = None) -> list[QueueRow]:
    """Waiting jobs by position (unranked ones last, oldest first); the first `limit` only,
    when given."""
    unranked = Case(When(queue_position=0, then=Value(1)), default=Value(0))
    # The spec blob stays unread: its typed columns are what a queue row shows.
    jobs = (
        Job.objects.filter(state__in=WAITING_STATES)
        .select_related("organization")
        .defer("spec")
        .order_by(unranked, "queue_position", "created_at", "id")
    )
    if limit is not None and not pool:
        jobs = jobs[:limit]
    out: list[QueueRow] = []
    for job in jobs:
        if limit is not None and len(out) >= limit:
            break
        accelerator, count = job.accepted_accelerators[0], job.device_count
        job_pool = pool_for_accelerator(accelerator)
        if pool and job_pool != pool:
            continue
        out.append(
            QueueRow(
                job.id,
                job.organization.slug,
                job.name,
                job.state,
                job_pool,
                accelerator,
                count,
                job.queue_position,
                job.pending_reason,
                job.priority,
                job.created_at,
            )
        )
    return out


def queued_per_pool() -> Counter[str]:
    """Waiting jobs per pool of their first-choice accelerator."""
    return Counter(
        pool_for_accelerator(accels[0])
        for accels in Job.objects.filter(state__in=WAITING_STATES).values_list(
            "accepted_accelerators", flat=True
        )
    )
