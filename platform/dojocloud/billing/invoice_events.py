"""An invoice became final: sent after its finalization commits, to the apps above billing
that react (webhooks). Kept apart from billing/ports.py, whose content the budget work fixes."""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True)
class InvoiceFinalized:
    organization_id: int
    month: str  # "YYYY-MM", UTC
    number: str  # "DC-000001"
    total_cents: int


# send(sender=InvoiceFinalized, invoice=InvoiceFinalized(...)) from transaction.on_commit
invoice_finalized = Signal()
