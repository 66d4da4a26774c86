"""Typed client for Dojo Cloud's BillingService: prices, the month's usage, invoices.

`with BillingClient.from_env() as b: b.get_usage(month="2031-01")`. Money comes back as
decimal strings ("12.34"; `decimal.Decimal(x)` keeps it exact). Reading usage and invoices
needs an owner's or admin's key; setting prices and adjusting invoices an operator's. Same
habits as `dojo.client.Client`: deadlines on every call, reads retried on UNAVAILABLE,
actions sent once.
"""

from __future__ import annotations

from datetime import datetime

from dojo import rpcs_billing as rpcs
from dojo.budget import BudgetMethods
from dojo.v1 import billing_pb2 as pb


class BillingClient(BudgetMethods):  # a ServiceClient with the budget methods
    """Requests built by dojo.rpcs_billing, which `dojo.AsyncBillingClient` shares."""

    # --- reads ----------------------------------------------------------------------------

    def list_prices(
        self, *, pool: str = "", history: bool = False, timeout: float | None = None
    ) -> list[pb.Price]:
        """Each pool's price in force now (with `history`, every entry)."""
        return list(self._call(rpcs.list_prices(pool, history), timeout).prices)

    def get_usage(
        self, *, month: str = "", parent: str = "", timeout: float | None = None
    ) -> pb.MonthUsage:
        """A month's spend (`YYYY-MM`, default this month): total, pools by day, top jobs."""
        return self._call(rpcs.get_usage(month, parent), timeout)

    def list_invoices(self, *, parent: str = "", timeout: float | None = None) -> list[pb.Invoice]:
        return list(self._call(rpcs.list_invoices(parent), timeout).invoices)

    def get_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.Invoice:
        """One month's invoice with its lines (a draft as it stands now)."""
        return self._call(rpcs.get_invoice(month, parent), timeout)

    def export_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.InvoiceExport:
        """The invoice as CSV (`.csv`), its rows summing to the total."""
        return self._call(rpcs.export_invoice(month, parent), timeout)

    # --- operators' actions -----------------------------------------------------------------

    def set_price(
        self,
        pool: str,
        *,
        on_demand: str,
        preemptible: str,
        hardware: str,
        reason: str,
        effective: datetime | None = None,
        timeout: float | None = None,
    ) -> pb.Price:
        """A new price (USD per device-second, decimal strings) from `effective` (now) on."""
        unary = rpcs.set_price(pool, on_demand, preemptible, hardware, reason, effective)
        return self._call(unary, timeout)

    def adjust_invoice(
        self,
        organization: str,
        month: str,
        *,
        amount_usd: str,
        reason: str,
        timeout: float | None = None,
    ) -> pb.InvoiceLine:
        """A credit (negative `amount_usd`) or an adjustment on a draft invoice."""
        return self._call(rpcs.adjust_invoice(organization, month, amount_usd, reason), timeout)
