"""A month's spend at a glance (the portal's Billing page, `dojo billing usage`): the
invoice's total so far, spend per day and pool, a forecast to the month's end and the jobs
that cost most. A fixed number of queries whatever the number of ledger rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import CharField, Sum
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from dojocloud.billing import periods
from dojocloud.billing.invoices import usage_lines
from dojocloud.billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind, UsageRecord
from dojocloud.tenancy.facade import Organization

TOP_JOBS = 5
# The UTC day of a row's end as "YYYY-MM-DD", in SQL: the connection's time zone is UTC, and
# on SQLite this is a substring where TruncDate would call a Python function for every row.
_UTC_DAY = Substr(Cast("ended_at", output_field=CharField()), 1, 10)


@dataclass(frozen=True)
class JobSpend:
    job_id: str
    job_name: str
    amount_cents: int
    quantity_micros: int


@dataclass(frozen=True)
class MonthSummary:
    month: date
    total_cents: int  # the invoice's total so far (usage lines and operators' lines)
    usage_cents: int  # the usage lines alone
    forecast_cents: int  # at this month's pace, to its end (the total, once it is over)
    days: list[date]  # every day of the month
    # pool -> micro-dollars per day (the ledger rows' own amounts), in `days` order
    daily_micros: dict[str, list[int]]
    pool_cents: dict[str, int]  # pool -> its usage lines' cents
    top_jobs: list[JobSpend]
    invoice_status: str  # "draft", "final" or "" (no usage yet)
    elapsed_fraction: float


def month_summary(
    org: Organization, month: date | None = None, *, now: datetime | None = None
) -> MonthSummary:
    now = now or timezone.now()
    month = month or periods.month_of(now)
    # One GROUP BY for the usage lines (the draft is not rebuilt and re-read on every view).
    lines = usage_lines(org.id, month)
    usage = sum(ln.amount_cents for ln in lines)
    total, status = _total_and_status(org, month, usage, bool(lines))
    pools: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    cents: dict[str, int] = defaultdict(int)
    quantity: dict[str, int] = defaultdict(int)
    for ln in lines:
        pools[ln.pool] += ln.amount_cents
        names[ln.job_id] = ln.job_name
        cents[ln.job_id] += ln.amount_cents
        quantity[ln.job_id] += ln.quantity_micros
    top = sorted(
        (JobSpend(j, names[j], cents[j], quantity[j]) for j in names),
        key=lambda s: (-s.amount_cents, s.job_id),
    )[:TOP_JOBS]
    days = [date(month.year, month.month, d) for d in range(1, periods.days_in(month) + 1)]
    daily = _daily(org.id, month, days)
    start, end = periods.start(month), periods.end(month)
    fraction = min(max((now - start) / (end - start), 0.0), 1.0)
    # Usage goes on at the month's pace so far; operators' lines stay as they are.
    running = 0.0 < fraction < 1.0
    forecast = round(usage / fraction) + (total - usage) if running else total
    return MonthSummary(
        month, total, usage, forecast, days, daily, dict(pools), top, status, fraction
    )


def _total_and_status(
    org: Organization, month: date, usage: int, has_usage: bool
) -> tuple[int, str]:
    """A final invoice's total; a draft's is its usage now plus the operators' lines."""
    invoice = Invoice.objects.filter(organization=org, month=month).first()
    if invoice is not None and invoice.is_final:
        return invoice.total_cents, invoice.status
    if invoice is None:
        return usage, InvoiceStatus.DRAFT if has_usage else ""
    others = InvoiceLine.objects.filter(invoice=invoice).exclude(kind=LineKind.USAGE)
    return usage + (others.aggregate(t=Sum("amount_cents"))["t"] or 0), invoice.status


def _daily(org_id: int, month: date, days: list[date]) -> dict[str, list[int]]:
    """Micro-dollars per pool and day of the rows billed in `month` (a late row, ended in
    an earlier month, counts on the month's first day)."""
    index = {d: i for i, d in enumerate(days)}
    out: dict[str, list[int]] = {}
    grouped = (
        UsageRecord.objects.filter(organization_id=org_id, period=month)
        .annotate(day=_UTC_DAY)
        .order_by()
        .values("pool", "day")
        .annotate(m=Sum("amount_micros"))
    )
    for g in grouped:
        series = out.setdefault(g["pool"], [0] * len(days))
        series[index.get(date.fromisoformat(g["day"]), 0)] += int(g["m"] or 0)
    return dict(sorted(out.items()))
