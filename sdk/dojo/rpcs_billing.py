"""BillingService's requests, built once for `dojo.billing.BillingClient` and
`dojo.async_billing.AsyncBillingClient` (the same `dojo.rpcs.Unary` as the other services'):
reads are retried, price changes, invoice adjustments and budgets are actions, sent once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dojo.rpcs import Unary
from dojo.v1 import billing_pb2 as pb
from dojo.v1 import billing_pb2_grpc

Billing = billing_pb2_grpc.BillingServiceStub


def list_prices(pool: str, history: bool) -> Unary[pb.ListPricesResponse]:
    request = pb.ListPricesRequest(pool=pool, history=history)
    return Unary(Billing, "ListPrices", request, pb.ListPricesResponse, read=True)


def get_usage(month: str, parent: str) -> Unary[pb.MonthUsage]:
    request = pb.GetUsageRequest(parent=parent, month=month)
    return Unary(Billing, "GetUsage", request, pb.MonthUsage, read=True)


def list_invoices(parent: str) -> Unary[pb.ListInvoicesResponse]:
    request = pb.ListInvoicesRequest(parent=parent)
    return Unary(Billing, "ListInvoices", request, pb.ListInvoicesResponse, read=True)


def get_invoice(month: str, parent: str) -> Unary[pb.Invoice]:
    request = pb.GetInvoiceRequest(parent=parent, month=month)
    return Unary(Billing, "GetInvoice", request, pb.Invoice, read=True)


def export_invoice(month: str, parent: str) -> Unary[pb.InvoiceExport]:
    request = pb.GetInvoiceRequest(parent=parent, month=month)
    return Unary(Billing, "ExportInvoice", request, pb.InvoiceExport, read=True)


def set_price(
    pool: str,
    on_demand: str,
    preemptible: str,
    hardware: str,
    reason: str,
    effective: datetime | None,
) -> Unary[pb.Price]:
    price = pb.Price(
        pool=pool,
        on_demand_usd_per_device_second=on_demand,
        preemptible_usd_per_device_second=preemptible,
        hardware=hardware,
    )
    if effective is not None:
        price.effective_time.FromDatetime(effective)
    request = pb.SetPriceRequest(price=price, reason=reason)
    return Unary(Billing, "SetPrice", request, pb.Price, read=False)


def adjust_invoice(
    organization: str, month: str, amount_usd: str, reason: str
) -> Unary[pb.InvoiceLine]:
    request = pb.AdjustInvoiceRequest(
        organization=organization, month=month, amount_usd=amount_usd, reason=reason
    )
    return Unary(Billing, "AdjustInvoice", request, pb.InvoiceLine, read=False)


def get_budget(parent: str) -> Unary[pb.Budget]:
    return Unary(Billing, "GetBudget", pb.GetBudgetRequest(parent=parent), pb.Budget, read=True)


def set_budget(
    monthly_usd: str, alerts: Sequence[int], hard_cap: bool, parent: str
) -> Unary[pb.Budget]:
    request = pb.SetBudgetRequest(
        parent=parent,
        monthly_usd=monthly_usd,
        alert_percents=list(alerts),
        no_hard_cap=not hard_cap,
    )
    return Unary(Billing, "SetBudget", request, pb.Budget, read=False)
