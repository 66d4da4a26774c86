"""Budget methods of the billing client (mixed into `dojo.billing.BillingClient`).

`b.set_budget("500", alerts=[50, 80, 100])` sets the organization's monthly budget in USD
(an owner's or admin's key); `b.get_budget()` reads it with this month's spend against it.
With the hard cap (the default) the budget is also the cap: at it, running jobs are
checkpointed and wait (BUDGET_EXHAUSTED) until it is raised or the next month starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from dojo.service import ServiceClient
from dojo.v1 import billing_pb2 as pb
from dojo.v1 import billing_pb2_grpc


class BudgetMethods(ServiceClient):
    @cached_property
    def _budgets(self) -> billing_pb2_grpc.BillingServiceStub:
        return billing_pb2_grpc.BillingServiceStub(self._channel)

    def get_budget(self, *, parent: str = "", timeout: float | None = None) -> pb.Budget:
        """The monthly budget ("" when none), its alerts, and this month's spend."""
        request = pb.GetBudgetRequest(parent=parent)
        return self._read(self._budgets.GetBudget, request, pb.Budget, timeout)

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
        request = pb.SetBudgetRequest(
            parent=parent,
            monthly_usd=monthly_usd,
            alert_percents=list(alerts),
            no_hard_cap=not hard_cap,
        )
        return self._act(self._budgets.SetBudget, request, pb.Budget, timeout)
