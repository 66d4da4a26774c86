"""Budget methods of the billing client (mixed into `dojo.billing.BillingClient`).

`b.set_budget("500", alerts=[50, 80, 100])` sets the organization's monthly budget in USD
(an owner's or admin's key); `b.get_budget()` reads it with this month's spend against it.
With the hard cap (the default) the budget is also the cap: at it, running jobs are
checkpointed and wait (BUDGET_EXHAUSTED) until it is raised or the next month starts.
"""

from __future__ import annotations

from collections.abc import Sequence

from dojo import rpcs_billing as rpcs
from dojo.service import ServiceClient
from dojo.v1 import billing_pb2 as pb


class BudgetMethods(ServiceClient):
    def get_budget(self, *, parent: str = "", timeout: float | None = None) -> pb.Budget:
        """The monthly budget ("" when none), its alerts, and this month's spend."""
        return self._call(rpcs.get_budget(parent), timeout)

    def set_budget(
        self,
        monthly_usd: str,
        *,
        alerts: Sequence[int] = (),
        hard_cap: bool = True,
        parent: str = "",
        timeout: float | None = None,
    ) -> pb.Budget:
        """Sets the monthly budget (USD as a decimal string; "" removes it). `alerts`:
        thresholds in percent (default 50, 80, 100); `hard_cap=False`: alerts only."""
        return self._call(rpcs.set_budget(monthly_usd, alerts, hard_cap, parent), timeout)
