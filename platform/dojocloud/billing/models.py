"""Billing's tables: the rated usage ledger, the price book, and invoices with their lines.

* UsageRecord: one row per (job, attempt, segment); inserting it twice counts once. It keeps
  both the allocated time (devices x wall seconds: quotas, fair share, capacity) and the
  modelled device time, which of them was billed, the rate that applied and the amount.
* PriceEntry: the price book, append-only; a pool's price at a time is its latest entry
  effective at or before it.
* Invoice / InvoiceLine: a draft per organization and month grows while the month runs;
  once final, neither the invoice nor its lines can be saved or deleted through the ORM
  (single or bulk), as the audit trail's rows.
Money is integers (micro-dollars, cents) or Decimal rates: see billing.money.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils import timezone

from dojocloud.billing.money import from_cents, from_micros


class Basis(models.TextChoices):
    MODELLED = "modelled", "modelled device time"  # emulated hardware
    ALLOCATED = "allocated", "allocated wall time"  # real hardware


class Hardware(models.TextChoices):
    EMULATED = "emulated"
    REAL = "real"


class RateKind(models.TextChoices):
    ON_DEMAND = "on_demand"
    PREEMPTIBLE = "preemptible"


class PriceEntry(models.Model):
    """A pool's rates from `effective_from` on, until a later entry of the pool takes over."""

    pool = models.CharField(max_length=32)
    effective_from = models.DateTimeField()
    on_demand_rate = models.DecimalField(max_digits=24, decimal_places=12)  # USD/device-s
    preemptible_rate = models.DecimalField(max_digits=24, decimal_places=12)
    hardware = models.CharField(max_length=16, choices=Hardware.choices)
    set_by = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pool", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "effective_from"], name="price_unique_start")
        ]

    @property
    def basis(self) -> str:
        return Basis.MODELLED if self.hardware == Hardware.EMULATED else Basis.ALLOCATED

    def rate(self, kind: str) -> Decimal:
        return self.preemptible_rate if kind == RateKind.PREEMPTIBLE else self.on_demand_rate

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:  # a price in force may have rated rows: add one instead
            raise ImmutableError("price entries are append-only: add a new one")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("price entries are append-only: add a new one")

    def __str__(self) -> str:
        return f"{self.pool} from {self.effective_from:%Y-%m-%d %H:%M}: {self.on_demand_rate}"


class UsageRecord(models.Model):
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="usage_records")
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="usage_records"
    )
    attempt = models.PositiveIntegerField()
    segment = models.PositiveIntegerField()
    pool = models.CharField(max_length=32)
    accelerator = models.CharField(max_length=32)
    device_count = models.PositiveIntegerField()
    start_step = models.BigIntegerField()
    end_step = models.BigIntegerField()
    samples = models.BigIntegerField(default=0)
    allocated_seconds = models.FloatField()  # devices x wall seconds: what the job held
    device_seconds = models.FloatField()  # the partition's modelled time (one clock)
    wall_seconds = models.FloatField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)
    # The rating, fixed when the row is written.
    billed_basis = models.CharField(max_length=16, choices=Basis.choices)
    billed_micros = models.BigIntegerField()  # device-microseconds billed
    rate_kind = models.CharField(max_length=16, choices=RateKind.choices)
    rate = models.DecimalField(max_digits=24, decimal_places=12)  # USD per device-second
    amount_micros = models.BigIntegerField()  # micro-USD: round_half_even(quantity x rate)
    price = models.ForeignKey(PriceEntry, null=True, on_delete=models.PROTECT, related_name="+")
    period = models.DateField()  # the invoice month (its first day) the row belongs to

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "attempt", "segment"], name="usage_unique_segment"
            )
        ]
        indexes = [models.Index(fields=["organization", "period"], name="usage_org_period")]

    @property
    def billed_seconds(self) -> Decimal:
        return from_micros(self.billed_micros)

    @property
    def amount(self) -> Decimal:
        return from_micros(self.amount_micros)

    def __str__(self) -> str:
        return f"{self.job_id} a{self.attempt} s{self.segment}: {self.billed_seconds} s"


class ImmutableError(RuntimeError):
    """A finalized invoice (or a price entry) was about to change."""


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft"
    FINAL = "final"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(status=InvoiceStatus.FINAL).exists():
            raise ImmutableError("a finalized invoice never changes")
        return super().update(**kwargs)

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise ImmutableError("invoices are never deleted")


class Invoice(models.Model):
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="invoices"
    )
    month = models.DateField()  # the first day of the calendar month (UTC)
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.PositiveIntegerField(null=True, unique=True)  # given when finalized
    total_cents = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True)

    objects: ClassVar[InvoiceQuerySet] = InvoiceQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["organization", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="invoice_org_month")
        ]

    @property
    def is_final(self) -> bool:
        return self.status == InvoiceStatus.FINAL

    @property
    def total(self) -> Decimal:
        return from_cents(self.total_cents)

    @property
    def period(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def display_number(self) -> str:
        return f"DC-{self.number:06d}" if self.number is not None else "draft"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and Invoice.objects.filter(pk=self.pk, status="final").exists():
            raise ImmutableError(f"invoice {self.display_number} is final and never changes")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("invoices are never deleted")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.period} {self.status} {self.total}"


class LineKind(models.TextChoices):
    USAGE = "usage"
    CREDIT = "credit"  # an operator's credit: negative
    ADJUSTMENT = "adjustment"  # an operator's charge: positive


class LineQuerySet(models.QuerySet["InvoiceLine"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableError("invoice lines are replaced, never updated")

    def delete(self) -> tuple[int, dict[str, int]]:  # type: ignore[override]
        if self.filter(invoice__status=InvoiceStatus.FINAL).exists():
            raise ImmutableError("a finalized invoice's lines never change")
        return super().delete()


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    job = models.ForeignKey("jobs.Job", null=True, on_delete=models.PROTECT, related_name="+")
    pool = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=300)
    quantity_micros = models.BigIntegerField(default=0)
    unit = models.CharField(max_length=32, blank=True)  # "device-second"; "" for credits
    rate = models.DecimalField(max_digits=24, decimal_places=12, default=Decimal(0))
    rate_kind = models.CharField(max_length=16, blank=True)
    basis = models.CharField(max_length=16, blank=True)
    amount_cents = models.BigIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[LineQuerySet] = LineQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["invoice", "position"]

    @property
    def quantity(self) -> Decimal:
        return from_micros(self.quantity_micros)

    @property
    def amount(self) -> Decimal:
        return from_cents(self.amount_cents)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableError("invoice lines are replaced, never updated")
        if Invoice.objects.filter(pk=self.invoice_id, status=InvoiceStatus.FINAL).exists():
            raise ImmutableError("a finalized invoice's lines never change")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("invoice lines go only with a draft's rebuild")


DEFAULT_ALERT_PERCENTS = [50, 80, 100]


def _default_alerts() -> list[int]:
    return list(DEFAULT_ALERT_PERCENTS)


class Budget(models.Model):
    """An organization's monthly budget (UTC calendar months). With `hard_cap` the budget is
    also the cap: at it, running jobs are checkpointed and held, and admission refuses jobs
    whose estimate exceeds what is left (billing.budgets). Changes are audited."""

    organization = models.OneToOneField(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="budget"
    )
    monthly_micros = models.BigIntegerField()  # USD micro-dollars
    alert_percents = models.JSONField(default=_default_alerts)  # ascending, 1..1000
    hard_cap = models.BooleanField(default=True)
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    @property
    def monthly(self) -> Decimal:
        return from_micros(self.monthly_micros)


class BudgetAlertSent(models.Model):
    """One threshold alerted in one month: the record that makes alerts once-only."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    month = models.DateField()  # first day, UTC
    threshold_percent = models.IntegerField()
    spent_micros = models.BigIntegerField()
    budget_micros = models.BigIntegerField()
    emailed = models.IntegerField(default=0)  # recipients the mail went to
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "threshold_percent"],
                name="budget_alert_once_per_month",
            )
        ]
