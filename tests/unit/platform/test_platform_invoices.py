"""Invoices from the rated ledger, with an injected clock across a month boundary: every
line re-derives from the ledger (quantity x rate = amount, lines sum to the total), the CSV
sums to the total to the cent, and a finalized invoice never changes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.db.models import Sum

from dojocloud.audit.facade import Actor
from dojocloud.audit.models import AuditEvent
from dojocloud.billing import invoices, prices
from dojocloud.billing.models import (
    ImmutableError,
    Invoice,
    InvoiceLine,
    PriceEntry,
    UsageRecord,
)
from dojocloud.billing.services import record_segment_usage
from dojocloud.billing.summary import month_summary
from dojocloud.common.errors import FailedPrecondition, InvalidArgument, NotFound
from dojocloud.jobs import services as jobs
from dojocloud.jobs.ports import Outcome, SegmentEnded, SegmentRun
from tests.support.people import People, make_spec

JAN = date(2031, 1, 1)
FEB = date(2031, 2, 1)
OPERATOR = Actor(label="olga@operators")


def at(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2031, month, day, hour, tzinfo=UTC)


def segment(
    job_id: str, n: int, ended: datetime, *, device_s: float = 12.345678, pool: str = "dojo"
) -> tuple[SegmentEnded, SegmentRun]:
    run = SegmentRun(0, 10, 80, 30.0, device_s, ended - timedelta(seconds=30), ended)
    accelerator = "dojo-tile" if pool == "dojo" else pool
    event = SegmentEnded(job_id, "w", 1, n, pool, accelerator, 2, Outcome.NEXT_SEGMENT, "", run)
    return event, run


def rederive(invoice: Invoice) -> None:
    """The invoice's usage lines against the ledger, and its total against its lines."""
    lines = list(invoice.lines.order_by("position"))
    rows = UsageRecord.objects.filter(organization=invoice.organization, period=invoice.month)
    for ln in lines:
        if ln.kind != "usage":
            continue
        q = rows.filter(job_id=ln.job_id, pool=ln.pool, rate=ln.rate).aggregate(
            q=Sum("billed_micros")
        )["q"]
        assert ln.quantity_micros == q
        want = (Decimal(q).scaleb(-6) * ln.rate).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        assert ln.amount == want
    usage_q = sum(ln.quantity_micros for ln in lines if ln.kind == "usage")
    assert usage_q == (rows.aggregate(q=Sum("billed_micros"))["q"] or 0)
    assert sum(ln.amount_cents for ln in lines) == invoice.total_cents


def csv_total(text: str) -> tuple[Decimal, Decimal]:
    rows = list(csv.DictReader(io.StringIO(text)))
    lines = sum(Decimal(r["amount_usd"]) for r in rows if r["kind"] != "total")
    (total,) = [Decimal(r["amount_usd"]) for r in rows if r["kind"] == "total"]
    return lines, total


@pytest.fixture
def month_of_jobs(people: People) -> tuple[str, str]:
    a = jobs.create_job(people.owner, make_spec("a"))
    b = jobs.create_job(people.owner, make_spec("b"))
    for i, day in enumerate((3, 17, 31)):
        record_segment_usage(*segment(a.id, i, at(day, 23)))
    record_segment_usage(*segment(b.id, 0, at(10, 5), device_s=1000.0))
    # A segment ending after midnight UTC on Feb 1st bills into February.
    record_segment_usage(*segment(a.id, 3, at(1, 0, month=2) + timedelta(seconds=1)))
    return a.id, b.id


def test_rows_are_rated_with_both_times_and_the_basis(
    people: People, month_of_jobs: tuple[str, str]
) -> None:
    row = UsageRecord.objects.get(job_id=month_of_jobs[0], segment=0)
    dojo = PriceEntry.objects.get(pool="dojo")
    assert row.billed_basis == "modelled" and row.price == dojo
    assert row.allocated_seconds == 60.0 and row.device_seconds == pytest.approx(12.345678)
    assert row.billed_micros == 24_691_356  # 2 devices x 12.345678 s, modelled
    assert row.rate == dojo.on_demand_rate and row.rate_kind == "on_demand"
    want = (Decimal("24.691356") * dojo.on_demand_rate).quantize(Decimal("0.000001"))
    assert row.amount == want
    assert row.period == JAN
    feb = UsageRecord.objects.get(job_id=month_of_jobs[0], segment=3)
    assert feb.period == FEB


def test_month_boundary_invoices_rederive_and_final_ones_never_change(
    people: People, month_of_jobs: tuple[str, str]
) -> None:
    jan = invoices.get_invoice(people.acme, JAN, now=at(20, 0))
    assert jan.status == "draft" and jan.number is None
    rederive(jan)
    with pytest.raises(FailedPrecondition):
        invoices.finalize(jan, now=at(31, 23))
    done = invoices.finalize_due(now=at(1, 6, month=2))
    assert [(i.month, i.status) for i in done] == [(JAN, "final")]
    jan = Invoice.objects.get(pk=jan.pk)
    assert jan.number == 1 and jan.display_number == "DC-000001"
    rederive(jan)
    lines, total = csv_total(invoices.csv_text(jan))
    assert lines == total == jan.total and jan.total_cents > 0
    frozen = (jan.total_cents, list(jan.lines.values_list("id", "amount_cents")))

    # Nothing changes it: late usage of January goes to February, saves and deletes raise,
    # credits are refused, and finalizing again is a no-op.
    late = jobs.create_job(people.owner, make_spec("late"))
    record_segment_usage(*segment(late.id, 0, at(31, 22)))
    assert UsageRecord.objects.get(job_id=late.id).period == FEB
    assert invoices.finalize_due(now=at(2, 0, month=2)) == []
    with pytest.raises(ImmutableError):
        jan.save()
    with pytest.raises(ImmutableError):
        Invoice.objects.filter(pk=jan.pk).update(total_cents=0)
    with pytest.raises(ImmutableError):
        InvoiceLine.objects.filter(invoice=jan).delete()
    with pytest.raises(ImmutableError):
        jan.lines.first().save()  # type: ignore[union-attr]
    with pytest.raises(FailedPrecondition):
        invoices.adjust(
            people.acme, JAN, amount_cents=-100, reason="x", actor=OPERATOR, now=at(2, 0, 2)
        )
    assert invoices.refresh_draft(people.acme, JAN, now=at(3, 0, month=2)).pk == jan.pk
    jan = Invoice.objects.get(pk=jan.pk)
    assert (jan.total_cents, list(jan.lines.values_list("id", "amount_cents"))) == frozen

    # February's draft holds the late row, grows, takes a credit, and closes as number 2.
    feb = invoices.get_invoice(people.acme, FEB, now=at(5, 0, month=2))
    rederive(feb)
    before = feb.total_cents
    record_segment_usage(*segment(late.id, 1, at(6, 0, month=2), device_s=5000.0))
    feb = invoices.get_invoice(people.acme, FEB, now=at(6, 1, month=2))
    assert feb.total_cents > before
    credit = invoices.adjust(
        people.acme,
        FEB,
        amount_cents=-250,
        reason="goodwill",
        actor=OPERATOR,
        now=at(7, 0, month=2),
    )
    assert credit.kind == "credit" and credit.amount == Decimal("-2.50")
    audit = AuditEvent.objects.get(action="invoice.adjusted")
    assert audit.org_slug == "acme" and audit.after["amount_usd"] == "-2.50"
    feb = invoices.get_invoice(people.acme, FEB, now=at(8, 0, month=2))
    rederive(feb)
    (done,) = invoices.finalize_due(now=at(1, 0, month=3))
    assert done.number == 2
    lines, total = csv_total(invoices.csv_text(done))
    assert lines == total == done.total


def test_other_tenants_and_empty_months_have_no_invoice(
    people: People, month_of_jobs: tuple[str, str]
) -> None:
    with pytest.raises(NotFound):
        invoices.get_invoice(people.other, JAN, now=at(20, 0))
    with pytest.raises(NotFound):
        invoices.get_invoice(people.acme, date(2031, 5, 1), now=at(20, 0))
    assert invoices.list_invoices(people.other, now=at(20, 0)) == []
    listed = invoices.list_invoices(people.acme, now=at(2, 0, month=2))
    assert [i.month for i in listed] == [FEB]  # January has no invoice row until read
    with pytest.raises(InvalidArgument) as bad:
        invoices.adjust(people.acme, JAN, amount_cents=0, reason=" ", actor=OPERATOR, now=at(20, 0))
    assert {v.field for v in bad.value.violations} == {"amount", "reason"}


def test_the_month_summary_has_days_pools_forecast_and_top_jobs(
    people: People, month_of_jobs: tuple[str, str]
) -> None:
    s = month_summary(people.acme, JAN, now=at(16, 12))
    assert len(s.days) == 31 and list(s.daily_micros) == ["dojo"]
    series = s.daily_micros["dojo"]
    assert series[2] > 0 and series[9] > 0 and series[30] > 0 and series[0] == 0
    assert s.top_jobs[0].job_id == month_of_jobs[1]  # 1000 modelled seconds
    assert s.usage_cents == s.total_cents == sum(s.pool_cents.values())
    assert s.forecast_cents == pytest.approx(s.usage_cents / s.elapsed_fraction, abs=1)
    assert month_summary(people.acme, JAN, now=at(3, 0, month=2)).forecast_cents == s.total_cents


def test_a_price_change_applies_from_its_start_and_is_audited(people: People) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    spec = prices.PriceSpec("dojo", Decimal("0.02"), Decimal("0.005"), "emulated", later)
    entry = prices.set_price(spec, actor=OPERATOR, reason="new list price", now=now)
    assert prices.price_at("dojo", now).on_demand_rate != Decimal("0.02")  # type: ignore[union-attr]
    assert prices.price_at("dojo", later) == entry
    audit = AuditEvent.objects.get(action="price.changed")
    assert audit.after["on_demand_usd_per_device_second"] == "0.020000000000"
    assert audit.before is not None
    with pytest.raises(ImmutableError):
        entry.save()
    past = prices.PriceSpec("nope", Decimal("-1"), Decimal("0"), "x", now - timedelta(days=1))
    with pytest.raises(InvalidArgument) as bad:
        prices.set_price(past, actor=OPERATOR, reason="", now=now)
    fields = {v.field for v in bad.value.violations}
    assert fields == {
        "price.pool",
        "price.on_demand_rate",
        "price.hardware",
        "price.effective_from",
        "reason",
    }


def test_the_seed_file_is_the_packaged_prices_per_second() -> None:
    from dojo_runtime.specs import load_hardware

    packaged = load_hardware().prices.usd_per_device_hour
    seeded = {s.pool: s for s in prices.load_seed()}
    assert set(seeded) >= {"dojo", "gpu-a100", "gpu-h100"}
    for pool, spec in seeded.items():
        accelerator = "dojo-tile" if pool == "dojo" else pool
        assert spec.on_demand_rate * 3600 == pytest.approx(
            Decimal(str(packaged[accelerator])), abs=Decimal("1e-8")
        )
        assert spec.preemptible_rate < spec.on_demand_rate
    assert seeded["dojo"].hardware == "emulated"
