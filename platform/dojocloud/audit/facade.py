"""The audit trail's public entry: record a change, list and export rows.

Below tenancy, so every app that changes who may do what (tenancy), or the fleet
(scheduling's operator actions), can write a row inside its own transaction."""

from dojocloud.audit.events import AuditAction
from dojocloud.audit.forms import AuditFilterForm, change
from dojocloud.audit.models import AppendOnlyError, AuditEvent
from dojocloud.audit.services import (
    CSV_COLUMNS,
    MAX_PAGE_SIZE,
    REDACTED,
    Actor,
    AuditFilter,
    AuditPage,
    AuditRow,
    check_filter,
    csv_lines,
    iter_events,
    list_events,
    record,
    scrub,
)
from dojocloud.audit.web import bad_filter, csv_response, page_context

__all__ = [
    "CSV_COLUMNS",
    "MAX_PAGE_SIZE",
    "REDACTED",
    "Actor",
    "AppendOnlyError",
    "AuditAction",
    "AuditEvent",
    "AuditFilter",
    "AuditFilterForm",
    "AuditPage",
    "AuditRow",
    "bad_filter",
    "change",
    "check_filter",
    "csv_lines",
    "csv_response",
    "iter_events",
    "list_events",
    "page_context",
    "record",
    "scrub",
]
