"""Billing facade: appending usage to the ledger and reading it back.

The ledger row is keyed by (job, attempt, segment); a second write of the same segment is a
no-op, and only a real insert moves the job's totals and the Prometheus counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum

from dojocloud.billing.models import UsageRecord
from dojocloud.common import metrics
from dojocloud.jobs.facade import Job, SegmentEnded
from dojocloud.tenancy.facade import Organization


@dataclass(frozen=True)
class SegmentUsage:
    job_id: str
    attempt: int
    segment: int
    pool: str
    accelerator: str
    device_count: int
    start_step: int
    end_step: int
    samples: int
    wall_seconds: float
    device_seconds: float
    started_at: datetime
    ended_at: datetime

    @property
    def allocated_seconds(self) -> float:
        return self.device_count * self.wall_seconds


@dataclass(frozen=True)
class UsageTotals:
    allocated_seconds: float
    device_seconds: float
    wall_seconds: float
    samples: int
    segments: int


def record_segment_usage(usage: SegmentUsage) -> bool:
    """Appends the segment's row; True if inserted, False if it was already there."""
    job = Job.objects.select_related("organization").get(id=usage.job_id)
    try:
        with transaction.atomic():
            UsageRecord.objects.create(
                job=job, organization=job.organization, attempt=usage.attempt,
                segment=usage.segment, pool=usage.pool, accelerator=usage.accelerator,
                device_count=usage.device_count, start_step=usage.start_step,
                end_step=usage.end_step, samples=usage.samples,
                allocated_seconds=usage.allocated_seconds,
                device_seconds=usage.device_seconds, wall_seconds=usage.wall_seconds,
                started_at=usage.started_at, ended_at=usage.ended_at)
            Job.objects.filter(id=job.id).update(
                allocated_seconds=F("allocated_seconds") + usage.allocated_seconds,
                device_seconds=F("device_seconds") + usage.device_seconds,
                wall_seconds=F("wall_seconds") + usage.wall_seconds,
                samples_trained=F("samples_trained") + usage.samples)
            transaction.on_commit(lambda: _count(job.organization.slug, usage))
    except IntegrityError:
        return False
    return True


def on_segment_ended(event: SegmentEnded) -> None:
    """billing's reaction to a segment's end (jobs' segment_ended port): the ledger row, in
    the publisher's transaction. A segment that never trained has nothing to bill."""
    run = event.run
    if run is None:
        return
    record_segment_usage(SegmentUsage(
        job_id=event.job_id, attempt=event.attempt, segment=event.segment, pool=event.pool,
        accelerator=event.accelerator, device_count=event.device_count,
        start_step=run.start_step, end_step=run.end_step, samples=run.samples,
        wall_seconds=run.wall_seconds, device_seconds=run.device_seconds,
        started_at=run.started_at, ended_at=run.ended_at))


def _count(org: str, usage: SegmentUsage) -> None:
    labels = {"organization": org, "pool": usage.pool}
    metrics.USAGE_ALLOCATED_SECONDS.labels(**labels).inc(usage.allocated_seconds)
    metrics.USAGE_DEVICE_SECONDS.labels(**labels).inc(usage.device_seconds)
    metrics.SAMPLES_TRAINED.labels(**labels).inc(usage.samples)
    metrics.SEGMENTS.labels(**labels).inc()


def _totals(query: object) -> UsageTotals:
    agg = query.aggregate(  # type: ignore[attr-defined]
        a=Sum("allocated_seconds"), d=Sum("device_seconds"), w=Sum("wall_seconds"),
        s=Sum("samples"), n=Count("id"))
    return UsageTotals(agg["a"] or 0.0, agg["d"] or 0.0, agg["w"] or 0.0, agg["s"] or 0,
                       agg["n"] or 0)


def job_usage(job_id: str) -> UsageTotals:
    return _totals(UsageRecord.objects.filter(job_id=job_id))


def organization_usage(org: Organization, *, since: datetime | None = None,
                       until: datetime | None = None) -> dict[str, UsageTotals]:
    """pool -> totals for an organization over a period (invoices come from here)."""
    query = UsageRecord.objects.filter(organization=org)
    if since is not None:
        query = query.filter(ended_at__gte=since)
    if until is not None:
        query = query.filter(ended_at__lt=until)
    pools = query.values_list("pool", flat=True).distinct()
    return {pool: _totals(query.filter(pool=pool)) for pool in sorted(set(pools))}
