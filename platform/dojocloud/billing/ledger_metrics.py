"""The ledger's running totals as Prometheus gauges, read at scrape time by the web's
/metrics: what the rules compare the workers' counters with (ledger-vs-counter drift), and
what a dashboard shows when a worker's counters were lost with it. One GROUP BY per scrape.
Also counts billing's budget alerts (the budget_alerted signal) for the budget-burn alerts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Sum
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dojocloud.billing.models import UsageRecord
from dojocloud.billing.ports import BudgetAlert
from dojocloud.common import metrics
from dojocloud.tenancy.facade import Organization

COST, ALLOCATED = "dojo_ledger_cost_usd", "dojo_ledger_allocated_seconds"
FAMILIES = (COST, ALLOCATED)  # the gauges' names, for checks that must not query


class LedgerCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["organization", "pool"]
        cost = GaugeMetricFamily(COST, "The rated ledger's total cost, USD", labels=labels)
        alloc = GaugeMetricFamily(
            ALLOCATED, "The ledger's total allocated accelerator-seconds", labels=labels
        )
        rows = (
            UsageRecord.objects.order_by()
            .values("organization__slug", "pool")
            .annotate(m=Sum("amount_micros"), a=Sum("allocated_seconds"))
        )
        for r in rows:
            key = [r["organization__slug"], r["pool"]]
            cost.add_metric(key, (r["m"] or 0) / 1_000_000)
            alloc.add_metric(key, r["a"] or 0.0)
        yield cost
        yield alloc


COLLECTOR = LedgerCollector()


def on_budget_alert(sender: object, alert: BudgetAlert, **_: Any) -> None:
    slug = Organization.objects.filter(id=alert.organization_id).values_list("slug", flat=True)
    metrics.BUDGET_ALERTS.labels(
        (slug.first() or str(alert.organization_id)),
        str(alert.threshold_percent),
        "true" if alert.cap_reached else "false",
    ).inc()
