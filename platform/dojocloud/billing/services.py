"""The rated usage ledger: appending a segment's usage and reading it back.

The ledger row is keyed by (job, attempt, segment); a second write of the same segment is a
no-op, and only a real insert moves the job's totals and the Prometheus counters. A segment's
usage arrives as the jobs port's own event types (SegmentEnded and its SegmentRun).

Rating (the Decision): a customer pays for the accelerator time the job takes on the
hardware rented. On an emulated pool (every Dojo tile, GPU pools without CUDA) that is the
modelled device time, devices x the partition's modelled seconds; on a real pool it is the
allocated time, devices x wall seconds. The row keeps both, the basis billed, the rate in
force when the segment ended (billing.prices) and its amount (billing.money's rounding).
The row belongs to the invoice month its segment ended in, or, if that month's invoice is
already final, to the next month still open (a late row never changes a final invoice)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from dojocloud.billing import budget_alerts
from dojocloud.billing.models import (
    Basis,
    Invoice,
    InvoiceStatus,
    PriceEntry,
    RateKind,
    UsageRecord,
)
from dojocloud.billing.money import amount_micros, from_micros, micros
from dojocloud.billing.periods import month_of, next_month
from dojocloud.billing.prices import price_at
from dojocloud.common import metrics
from dojocloud.jobs.facade import Job, SegmentEnded, SegmentRun
from dojocloud.tenancy.facade import Organization

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageTotals:
    allocated_seconds: float
    device_seconds: float
    wall_seconds: float
    samples: int
    segments: int
    billed_micros: int = 0
    amount_micros: int = 0


def record_segment_usage(segment: SegmentEnded, run: SegmentRun) -> bool:
    """Appends the segment's row; True if inserted, False if it was already there."""
    job = Job.objects.select_related("organization").get(id=segment.job_id)
    allocated = _allocated_seconds(segment, run)
    price = price_at(segment.pool, run.ended_at)
    basis, quantity = billed_quantity(segment, run, price)
    kind = rate_kind(job)
    rate = price.rate(kind) if price is not None else Decimal(0)
    if price is None:  # usage is never dropped: rated at zero, and said loudly
        log.error("pool %s has no price at %s: usage rated at 0", segment.pool, run.ended_at)
    amount = amount_micros(quantity, rate)
    try:
        with transaction.atomic():
            UsageRecord.objects.create(
                job=job,
                organization=job.organization,
                attempt=segment.attempt,
                segment=segment.segment,
                pool=segment.pool,
                accelerator=segment.accelerator,
                device_count=segment.device_count,
                start_step=run.start_step,
                end_step=run.end_step,
                samples=run.samples,
                allocated_seconds=allocated,
                device_seconds=run.device_seconds,
                wall_seconds=run.wall_seconds,
                started_at=run.started_at,
                ended_at=run.ended_at,
                billed_basis=basis,
                billed_micros=quantity,
                rate_kind=kind,
                rate=rate,
                amount_micros=amount,
                price=price,
                period=open_period(job.organization_id, month_of(run.ended_at)),
            )
            Job.objects.filter(id=job.id).update(
                allocated_seconds=F("allocated_seconds") + allocated,
                device_seconds=F("device_seconds") + run.device_seconds,
                wall_seconds=F("wall_seconds") + run.wall_seconds,
                samples_trained=F("samples_trained") + run.samples,
            )
            labels = {"organization": job.organization.slug, "pool": segment.pool}
            transaction.on_commit(lambda: _count(labels, allocated, run, amount))
    except IntegrityError:
        return False
    return True


def _allocated_seconds(segment: SegmentEnded, run: SegmentRun) -> float:
    """What the ledger bills: every device of the allocation for the segment's wall time."""
    return segment.device_count * run.wall_seconds


def billed_quantity(
    segment: SegmentEnded, run: SegmentRun, price: PriceEntry | None
) -> tuple[str, int]:
    """(basis, device-microseconds billed): modelled device time on emulated hardware,
    allocated time on real hardware (a pool without a price counts as emulated)."""
    basis = price.basis if price is not None else Basis.MODELLED
    if basis == Basis.ALLOCATED:
        return basis, micros(_allocated_seconds(segment, run))
    return basis, micros(segment.device_count * run.device_seconds)


def rate_kind(job: Job) -> str:
    """Which of the pool's rates the job pays: its spec's preemptible flag (the column)."""
    return RateKind.PREEMPTIBLE if job.preemptible else RateKind.ON_DEMAND


def open_period(organization_id: int, month: date) -> date:
    """`month`, or the first later month whose invoice is not final."""
    final = set(
        Invoice.objects.filter(
            organization_id=organization_id, status=InvoiceStatus.FINAL, month__gte=month
        ).values_list("month", flat=True)
    )
    while month in final:
        month = next_month(month)
    return month


def on_segment_ended(event: SegmentEnded) -> None:
    """billing's reaction to a segment's end (jobs' segment_ended port): the ledger row, in
    the publisher's transaction. A segment that never trained has nothing to bill."""
    if event.run is not None and record_segment_usage(event, event.run):
        org_id = Job.objects.values_list("organization_id", flat=True).get(id=event.job_id)
        budget_alerts.check(org_id, timezone.now())


def _count(labels: dict[str, str], allocated: float, run: SegmentRun, amount: int) -> None:
    metrics.USAGE_ALLOCATED_SECONDS.labels(**labels).inc(allocated)
    metrics.USAGE_COST_USD.labels(**labels).inc(amount / 1_000_000)  # the row's micro-dollars
    metrics.USAGE_DEVICE_SECONDS.labels(**labels).inc(run.device_seconds)
    metrics.SAMPLES_TRAINED.labels(**labels).inc(run.samples)
    metrics.SEGMENTS.labels(**labels).inc()


def _totals(query: object) -> UsageTotals:
    agg = query.aggregate(  # type: ignore[attr-defined]
        a=Sum("allocated_seconds"),
        d=Sum("device_seconds"),
        w=Sum("wall_seconds"),
        s=Sum("samples"),
        n=Count("id"),
        q=Sum("billed_micros"),
        m=Sum("amount_micros"),
    )
    return UsageTotals(
        agg["a"] or 0.0,
        agg["d"] or 0.0,
        agg["w"] or 0.0,
        agg["s"] or 0,
        agg["n"] or 0,
        agg["q"] or 0,
        agg["m"] or 0,
    )


def job_usage(job_id: str) -> UsageTotals:
    return _totals(UsageRecord.objects.filter(job_id=job_id))


def job_costs(job_ids: Iterable[str]) -> dict[str, Decimal]:
    """job id -> what its ledger rows have billed so far (USD, micro-dollar exact), in one
    query for a page of jobs; a job with no rows is absent."""
    rows = (
        UsageRecord.objects.filter(job_id__in=list(job_ids))
        .values("job_id")
        .annotate(micros=Sum("amount_micros"))
    )
    return {row["job_id"]: from_micros(row["micros"] or 0) for row in rows}


def organization_usage(
    org: Organization, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, UsageTotals]:
    """pool -> totals for an organization over a period (invoices come from here)."""
    query = UsageRecord.objects.filter(organization=org)
    if since is not None:
        query = query.filter(ended_at__gte=since)
    if until is not None:
        query = query.filter(ended_at__lt=until)
    pools = query.values_list("pool", flat=True).distinct()
    return {pool: _totals(query.filter(pool=pool)) for pool in sorted(set(pools))}
