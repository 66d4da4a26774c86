"""Typed client for Dojo Cloud's BillingService: prices, the month's usage, invoices.

`with BillingClient.from_env() as b: b.get_usage(month="2031-01")`. Money comes back as
decimal strings ("12.34"; `decimal.Decimal(x)` keeps it exact). Reading usage and invoices
needs an owner's or admin's key; setting prices and adjusting invoices an operator's. Same
habits as `dojo.client.Client`: deadlines on every call, reads retried on UNAVAILABLE,
actions sent once.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from dojo.budget import BudgetMethods
from dojo.v1 import billing_pb2 as pb
from dojo.v1 import billing_pb2_grpc


class BillingClient(BudgetMethods):  # a ServiceClient with the budget methods
    @cached_property
    def _stub(self) -> billing_pb2_grpc.BillingServiceStub:
        return billing_pb2_grpc.BillingServiceStub(self._channel)

    # --- reads ----------------------------------------------------------------------------

    def list_prices(
        self, *, pool: str = "", history: bool = False, timeout: float | None = None
    ) -> list[pb.Price]:
        """Each pool's price in force now (with `history`, every entry)."""
        request = pb.ListPricesRequest(pool=pool, history=history)
        return list(
            self._read(self._stub.ListPrices, request, pb.ListPricesResponse, timeout).prices
        )

    def get_usage(
        self, *, month: str = "", parent: str = "", timeout: float | None = None
    ) -> pb.MonthUsage:
        """A month's spend (`YYYY-MM`, default this month): total, pools by day, top jobs."""
        request = pb.GetUsageRequest(parent=parent, month=month)
        return self._read(self._stub.GetUsage, request, pb.MonthUsage, timeout)

    def list_invoices(self, *, parent: str = "", timeout: float | None = None) -> list[pb.Invoice]:
        request = pb.ListInvoicesRequest(parent=parent)
        response = self._read(self._stub.ListInvoices, request, pb.ListInvoicesResponse, timeout)
        return list(response.invoices)

    def get_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.Invoice:
        """One month's invoice with its lines (a draft as it stands now)."""
        request = pb.GetInvoiceRequest(parent=parent, month=month)
        return self._read(self._stub.GetInvoice, request, pb.Invoice, timeout)

    def export_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.InvoiceExport:
        """The invoice as CSV (`.csv`), its rows summing to the total."""
        request = pb.GetInvoiceRequest(parent=parent, month=month)
        return self._read(self._stub.ExportInvoice, request, pb.InvoiceExport, timeout)

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
        price = pb.Price(
            pool=pool,
            on_demand_usd_per_device_second=on_demand,
            preemptible_usd_per_device_second=preemptible,
            hardware=hardware,
        )
        if effective is not None:
            price.effective_time.FromDatetime(effective)
        request = pb.SetPriceRequest(price=price, reason=reason)
        return self._act(self._stub.SetPrice, request, pb.Price, timeout)

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
        request = pb.AdjustInvoiceRequest(
            organization=organization, month=month, amount_usd=amount_usd, reason=reason
        )
        return self._act(self._stub.AdjustInvoice, request, pb.InvoiceLine, timeout)
