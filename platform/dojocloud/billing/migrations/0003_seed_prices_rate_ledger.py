"""Seeds an empty price book from DOJO_PRICES_FILE (deploy/prices.yaml) and rates the rows
written before the ledger was rated: each bills its modelled device time (every pool was
emulated then) at the price in force when it ended, in the month it ended."""

from __future__ import annotations

from datetime import UTC, date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import migrations

from dojocloud.billing.prices import load_seed


def forwards(apps: Any, schema_editor: Any) -> None:
    price_entry = apps.get_model("billing", "PriceEntry")
    usage = apps.get_model("billing", "UsageRecord")
    if not price_entry.objects.exists():
        for spec in load_seed():
            price_entry.objects.create(
                pool=spec.pool,
                effective_from=spec.effective_from,
                on_demand_rate=spec.on_demand_rate,
                preemptible_rate=spec.preemptible_rate,
                hardware=spec.hardware,
                set_by="seed:deploy/prices.yaml",
                reason="seeded by migration billing 0003",
            )
    micro = Decimal("0.000001")
    for row in usage.objects.filter(price__isnull=True).iterator():
        price = (
            price_entry.objects.filter(pool=row.pool, effective_from__lte=row.ended_at)
            .order_by("-effective_from")
            .first()
        )
        seconds = Decimal(row.device_count) * Decimal(row.device_seconds)
        row.billed_basis = "modelled"
        row.billed_micros = int(seconds.quantize(micro, ROUND_HALF_EVEN) * 1_000_000)
        row.rate_kind = "on_demand"
        row.rate = price.on_demand_rate if price is not None else Decimal(0)
        amount = (Decimal(row.billed_micros).scaleb(-6) * row.rate).quantize(micro, ROUND_HALF_EVEN)
        row.amount_micros = int(amount.scaleb(6))
        row.price = price
        ended = row.ended_at.astimezone(UTC)
        row.period = date(ended.year, ended.month, 1)
        row.save(
            update_fields=[
                "billed_basis",
                "billed_micros",
                "rate_kind",
                "rate",
                "amount_micros",
                "price",
                "period",
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_rated_ledger_price_book_invoices")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
