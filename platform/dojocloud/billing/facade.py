"""Billing's public entry: the only module of billing that other apps import.

The usage ledger's services and frozen results; the ledger's model, which the scheduling
snapshot and the console's admin read, is re-exported as it is."""

from dojocloud.billing.models import UsageRecord
from dojocloud.billing.services import (
    UsageTotals,
    job_usage,
    organization_usage,
    record_segment_usage,
)

__all__ = ["UsageRecord", "UsageTotals", "job_usage", "organization_usage", "record_segment_usage"]
