"""The moments of billing that apps above it react to (webhooks, notifications), so that
billing imports none of them. Sent after the transaction that caused them commits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.dispatch import Signal


@dataclass(frozen=True)
class BudgetAlert:
    organization_id: int
    month: str  # "YYYY-MM", UTC
    threshold_percent: int  # 50, 80, 100 ... as configured
    spent: Decimal  # USD spent this month when the threshold was crossed
    budget: Decimal  # the monthly budget in USD
    cap_reached: bool  # True when spend reached the hard cap (jobs are being stopped)


# send(sender=BudgetAlert, alert=BudgetAlert(...)) from transaction.on_commit
budget_alerted = Signal()
