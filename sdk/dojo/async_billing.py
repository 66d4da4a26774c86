"""`dojo.AsyncBillingClient`: `dojo.billing.BillingClient` for asyncio, on a grpc.aio channel.

    async with dojo.AsyncBillingClient.from_env() as b:
        usage = await b.get_usage(month="2031-01")

The same requests (dojo.rpcs_billing), retries (reads; actions sent once), deadlines, TLS,
API key and typed errors as the sync client; every method is a coroutine. Money comes back
as decimal strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dojo import rpcs_billing as rpcs
from dojo.async_service import AsyncServiceClient
from dojo.v1 import billing_pb2 as pb


class AsyncBillingClient(AsyncServiceClient):
    """BillingService: prices, usage, invoices (dojo.billing) and budgets (dojo.budget)."""

    # --- reads ----------------------------------------------------------------------------

    async def list_prices(
        self, *, pool: str = "", history: bool = False, timeout: float | None = None
    ) -> list[pb.Price]:
        """Each pool's price in force now (with `history`, every entry)."""
        return list((await self._call(rpcs.list_prices(pool, history), timeout)).prices)

    async def get_usage(
        self, *, month: str = "", parent: str = "", timeout: float | None = None
    ) -> pb.MonthUsage:
        """A month's spend (`YYYY-MM`, default this month): total, pools by day, top jobs."""
        return await self._call(rpcs.get_usage(month, parent), timeout)

    async def list_invoices(
        self, *, parent: str = "", timeout: float | None = None
    ) -> list[pb.Invoice]:
        return list((await self._call(rpcs.list_invoices(parent), timeout)).invoices)

    async def get_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.Invoice:
        """One month's invoice with its lines (a draft as it stands now)."""
        return await self._call(rpcs.get_invoice(month, parent), timeout)

    async def export_invoice(
        self, month: str, *, parent: str = "", timeout: float | None = None
    ) -> pb.InvoiceExport:
        """The invoice as CSV (`.csv`), its rows summing to the total."""
        return await self._call(rpcs.export_invoice(month, parent), timeout)

    async def get_budget(self, *, parent: str = "", timeout: float | None = None) -> pb.Budget:
        """The monthly budget ("" when none), its alerts, and this month's spend."""
        return await self._call(rpcs.get_budget(parent), timeout)

    # --- actions (sent once) --------------------------------------------------------------

    async def set_budget(
        self,
        monthly_usd: str,
        *,
        alerts: Sequence[int] = (),
        hard_cap: bool = True,
        parent: str = "",
        timeout: float | None = None,
    ) -> pb.Budget:
        """Sets the monthly budget (see `dojo.budget.BudgetMethods.set_budget`)."""
        return await self._call(rpcs.set_budget(monthly_usd, alerts, hard_cap, parent), timeout)

    async def set_price(
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
        """A new price (USD per device-second, decimal strings) from `effective` (now) on;
        an operator's key."""
        unary = rpcs.set_price(pool, on_demand, preemptible, hardware, reason, effective)
        return await self._call(unary, timeout)

    async def adjust_invoice(
        self,
        organization: str,
        month: str,
        *,
        amount_usd: str,
        reason: str,
        timeout: float | None = None,
    ) -> pb.InvoiceLine:
        """A credit (negative `amount_usd`) or an adjustment on a draft invoice."""
        unary = rpcs.adjust_invoice(organization, month, amount_usd, reason)
        return await self._call(unary, timeout)
