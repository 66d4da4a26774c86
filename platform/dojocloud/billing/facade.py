"""Billing's public entry: the only module of billing that other apps import.

The rated usage ledger, the price book, invoices and the month's summary; the model classes
other apps read (the scheduling snapshot, the console's admin, the portal's pages) are
re-exported as they are."""

from dojocloud.billing.budget_rules import BUDGET_EXHAUSTED
from dojocloud.billing.budget_rules import usd_text as usd_micros
from dojocloud.billing.budgets import (
    BudgetExhausted,
    BudgetView,
    get_budget,
    organizations_at_cap,
    set_budget,
)
from dojocloud.billing.invoice_events import InvoiceFinalized, invoice_finalized
from dojocloud.billing.invoices import (
    CSV_COLUMNS,
    adjust,
    csv_text,
    finalize_due,
    get_invoice,
    lines_of,
    list_invoices,
)
from dojocloud.billing.models import (
    Budget,
    Hardware,
    ImmutableError,
    Invoice,
    InvoiceLine,
    PriceEntry,
    UsageRecord,
)
from dojocloud.billing.money import MoneyError, parse_cents, parse_rate, per_hour, usd
from dojocloud.billing.periods import month_of, parse_month
from dojocloud.billing.ports import BudgetAlert, budget_alerted
from dojocloud.billing.prices import (
    PriceSpec,
    accelerator_prices,
    current_prices,
    known_pools,
    price_history,
    seed_prices,
    set_price,
)
from dojocloud.billing.services import (
    UsageTotals,
    job_costs,
    job_usage,
    organization_usage,
    record_segment_usage,
)
from dojocloud.billing.summary import JobSpend, MonthSummary, month_summary

__all__ = [
    "BudgetAlert",
    "InvoiceFinalized",
    "budget_alerted",
    "invoice_finalized",
    "BUDGET_EXHAUSTED",
    "BudgetExhausted",
    "BudgetView",
    "get_budget",
    "organizations_at_cap",
    "set_budget",
    "Budget",
    "CSV_COLUMNS",
    "Hardware",
    "ImmutableError",
    "Invoice",
    "InvoiceLine",
    "JobSpend",
    "MoneyError",
    "MonthSummary",
    "PriceEntry",
    "PriceSpec",
    "UsageRecord",
    "UsageTotals",
    "accelerator_prices",
    "adjust",
    "csv_text",
    "current_prices",
    "finalize_due",
    "get_invoice",
    "job_costs",
    "job_usage",
    "known_pools",
    "lines_of",
    "list_invoices",
    "month_of",
    "month_summary",
    "organization_usage",
    "parse_cents",
    "parse_month",
    "parse_rate",
    "per_hour",
    "price_history",
    "record_segment_usage",
    "seed_prices",
    "set_price",
    "usd",
    "usd_micros",
]
