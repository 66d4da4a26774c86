"""Invoices: per organization per calendar month (UTC), built from the rated ledger.

A draft grows while its month runs: reading it (the portal, the API) or the hourly
finalization rebuilds its usage lines from the ledger. After the month ends,
`finalize_due` rebuilds it one last time and makes it final in one conditional update
(`status = draft`), with the next sequential number; from then on the models refuse every
change (billing.models). Lines:

* usage: one per (job, pool, rate, rate kind, basis): quantity = the exact sum of the rows'
  device-seconds, amount = round_half_even(quantity x rate, cents) (billing.money);
* credit / adjustment: an operator's signed amount with a reason, audited; on a draft only.

The total is the exact sum of the lines' cents, and so is the CSV's last row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.billing import periods
from dojocloud.billing.invoice_events import InvoiceFinalized, invoice_finalized
from dojocloud.billing.models import (
    Basis,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    UsageRecord,
)
from dojocloud.billing.money import amount_cents, usd
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dojocloud.jobs.facade import Job
from dojocloud.tenancy.facade import Organization

UNIT = "device-second"
ADJUSTMENT_BASE = 1_000_000  # operators' lines sort after every usage line
CSV_COLUMNS = (
    "invoice",
    "month",
    "line",
    "kind",
    "job",
    "pool",
    "description",
    "quantity",
    "unit",
    "rate_usd",
    "amount_usd",
)


@dataclass(frozen=True)
class LineDraft:
    job_id: str
    job_name: str
    pool: str
    rate: Decimal
    rate_kind: str
    basis: str
    quantity_micros: int

    @property
    def amount_cents(self) -> int:
        return amount_cents(self.quantity_micros, self.rate)

    @property
    def description(self) -> str:
        what = "modelled device time" if self.basis == Basis.MODELLED else "allocated time"
        return f"{self.job_name} on {self.pool}: {what}, {self.rate_kind.replace('_', '-')}"


def usage_lines(organization_id: int, month: date) -> list[LineDraft]:
    """The month's usage lines, straight from the ledger (one GROUP BY, any number of rows)."""
    grouped = list(
        UsageRecord.objects.filter(organization_id=organization_id, period=month)
        .order_by()
        .values("job_id", "pool", "rate", "rate_kind", "billed_basis")
        .annotate(q=Sum("billed_micros"))
    )
    # The jobs' names in a second query: joining them into the GROUP BY costs a lookup a row.
    names = dict(
        Job.objects.filter(id__in={g["job_id"] for g in grouped}).values_list("id", "name")
    )
    lines = [
        LineDraft(
            g["job_id"],
            names.get(g["job_id"], ""),
            g["pool"],
            Decimal(g["rate"]),
            g["rate_kind"],
            g["billed_basis"],
            int(g["q"] or 0),
        )
        for g in grouped
    ]
    return sorted(lines, key=lambda x: (x.job_id, x.pool, x.rate, x.rate_kind, x.basis))


def _has_usage(organization_id: int, month: date) -> bool:
    return UsageRecord.objects.filter(organization_id=organization_id, period=month).exists()


def refresh_draft(org: Organization, month: date, *, now: datetime | None = None) -> Invoice:
    """The month's invoice with its usage lines rebuilt from the ledger; a final one as it
    is. Creates the draft on first use."""
    now = now or timezone.now()
    with transaction.atomic():
        invoice, _ = Invoice.objects.get_or_create(organization=org, month=month)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.is_final:
            return invoice
        InvoiceLine.objects.filter(invoice=invoice, kind=LineKind.USAGE).delete()
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=i + 1,
                kind=LineKind.USAGE,
                job_id=d.job_id,
                pool=d.pool,
                description=d.description[:300],
                quantity_micros=d.quantity_micros,
                unit=UNIT,
                rate=d.rate,
                rate_kind=d.rate_kind,
                basis=d.basis,
                amount_cents=d.amount_cents,
                created_by="ledger",
                created_at=now,
            )
            for i, d in enumerate(usage_lines(org.id, month))
        )
        _retotal(invoice, now)
    invoice.refresh_from_db()
    return invoice


def _retotal(invoice: Invoice, now: datetime) -> None:
    total = InvoiceLine.objects.filter(invoice=invoice).aggregate(t=Sum("amount_cents"))["t"]
    Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.DRAFT).update(
        total_cents=total or 0, updated_at=now
    )


def get_invoice(org: Organization, month: date, *, now: datetime | None = None) -> Invoice:
    """The month's invoice, a draft brought up to date. NotFound for a month with neither an
    invoice nor usage (and for months to come)."""
    now = now or timezone.now()
    existing = Invoice.objects.filter(organization=org, month=month).first()
    if existing is not None and existing.is_final:
        return existing
    if existing is None and (month > periods.month_of(now) or not _has_usage(org.id, month)):
        raise NotFound(f"organizations/{org.slug}/invoices/{month:%Y-%m}")
    return refresh_draft(org, month, now=now)


def list_invoices(org: Organization, *, now: datetime | None = None) -> list[Invoice]:
    """Every invoice of the organization, newest month first; open drafts brought up to date
    (the current month's appears once it has usage)."""
    now = now or timezone.now()
    months = set(
        Invoice.objects.filter(organization=org, status=InvoiceStatus.DRAFT).values_list(
            "month", flat=True
        )
    )
    final = set(
        Invoice.objects.filter(organization=org, status=InvoiceStatus.FINAL).values_list(
            "month", flat=True
        )
    )
    current = periods.month_of(now)
    if current not in final and _has_usage(org.id, current):
        months.add(current)
    for month in months:
        refresh_draft(org, month, now=now)
    return list(Invoice.objects.filter(organization=org).order_by("-month"))


def lines_of(invoice: Invoice) -> list[InvoiceLine]:
    return list(invoice.lines.select_related("job").order_by("position"))


def _next_number() -> int:
    return (Invoice.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def finalize(invoice: Invoice, *, now: datetime | None = None) -> Invoice:
    """Rebuilds the draft one last time, then makes it final with the next number."""
    now = now or timezone.now()
    if now < periods.end(invoice.month):
        raise FailedPrecondition(f"invoice {invoice.period} cannot be final before its month ends")
    org = invoice.organization
    for _ in range(5):  # a concurrent finalization took the number: take the next one
        refresh_draft(org, invoice.month, now=now)
        try:
            with transaction.atomic():
                made_final = Invoice.objects.filter(
                    pk=invoice.pk, status=InvoiceStatus.DRAFT
                ).update(status=InvoiceStatus.FINAL, number=_next_number(), finalized_at=now)
                if made_final:
                    transaction.on_commit(lambda: _announce(invoice.pk))
        except IntegrityError:
            continue
        break
    invoice.refresh_from_db()
    return invoice


def _announce(invoice_pk: int) -> None:
    final = Invoice.objects.get(pk=invoice_pk)
    event = InvoiceFinalized(
        final.organization_id, final.period, final.display_number, final.total_cents
    )
    invoice_finalized.send(sender=InvoiceFinalized, invoice=event)


def finalize_due(*, now: datetime | None = None) -> list[Invoice]:
    """Every invoice of a month that has ended: drafts, and months with usage but no invoice
    yet, finalized in (month, organization) order so numbers follow time. Idempotent."""
    now = now or timezone.now()
    current = periods.month_of(now)
    final = set(
        Invoice.objects.filter(status=InvoiceStatus.FINAL).values_list("organization_id", "month")
    )
    due = set(
        UsageRecord.objects.filter(period__lt=current)
        .order_by()
        .values_list("organization_id", "period")
        .distinct()
    ) | set(
        Invoice.objects.filter(status=InvoiceStatus.DRAFT, month__lt=current).values_list(
            "organization_id", "month"
        )
    )
    done = []
    for org_id, month in sorted(due - final, key=lambda k: (k[1], k[0])):
        org = Organization.objects.get(id=org_id)
        done.append(finalize(refresh_draft(org, month, now=now), now=now))
    return done


def adjust(
    org: Organization,
    month: date,
    *,
    amount_cents: int,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
) -> InvoiceLine:
    """An operator's credit (negative) or adjustment (positive) on a draft invoice."""
    now = now or timezone.now()
    violations = []
    if amount_cents == 0:
        violations.append(FieldViolation("amount", "must not be zero"))
    if not reason.strip():
        violations.append(FieldViolation("reason", "is required (it is shown and audited)"))
    if month > periods.month_of(now):
        violations.append(FieldViolation("month", "is still to come"))
    if violations:
        raise InvalidArgument(violations)
    with transaction.atomic():
        invoice, _ = Invoice.objects.get_or_create(organization=org, month=month)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.is_final:
            raise FailedPrecondition(
                f"invoice {invoice.display_number} ({invoice.period}) is final: "
                "put the credit on the current month"
            )
        last = InvoiceLine.objects.filter(invoice=invoice, position__gte=ADJUSTMENT_BASE)
        position = (last.aggregate(p=Max("position"))["p"] or ADJUSTMENT_BASE) + 1
        kind = LineKind.CREDIT if amount_cents < 0 else LineKind.ADJUSTMENT
        line = InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            kind=kind,
            description=f"{kind}: {reason.strip()}"[:300],
            amount_cents=amount_cents,
            reason=reason.strip()[:500],
            created_by=actor.label[:200],
            created_at=now,
        )
        _retotal(invoice, now)
        record(
            AuditAction.INVOICE_ADJUSTED,
            actor=actor,
            org_slug=org.slug,
            organization_id=org.id,
            target=f"organizations/{org.slug}/invoices/{month:%Y-%m}",
            after={"kind": kind, "amount_usd": usd(amount_cents), "reason": reason.strip()},
        )
    return line


def csv_rows(invoice: Invoice, lines: Iterable[InvoiceLine]) -> list[list[str]]:
    """The header, one row per line, and a total row: the lines' amounts sum to it exactly."""
    rows = [list(CSV_COLUMNS)]
    total = 0
    for ln in lines:
        total += ln.amount_cents
        rows.append(
            [
                invoice.display_number,
                invoice.period,
                str(ln.position),
                ln.kind,
                ln.job_id or "",
                ln.pool,
                ln.description,
                f"{ln.quantity:f}" if ln.unit else "",
                ln.unit,
                f"{ln.rate:f}" if ln.unit else "",
                usd(ln.amount_cents),
            ]
        )
    # The lines' own sum: equal to invoice.total_cents, which is kept as exactly that sum.
    rows.append([invoice.display_number, invoice.period, "", "total", *[""] * 6, usd(total)])
    return rows


def csv_text(invoice: Invoice) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv_rows(invoice, lines_of(invoice)):
        # Text a spreadsheet would run as a formula is quoted with a leading apostrophe.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "@") else c for c in row])
    return out.getvalue()
