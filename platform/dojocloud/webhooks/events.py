"""The events an endpoint can receive and the JSON every delivery carries.

    {"id": "evt_…", "type": "job.succeeded", "created": "2026-12-07T14:00:00Z",
     "organization": "acme", "data": {…}}

`id` is the same on every attempt of a delivery (a receiver dedupes on it); `data` is the
job, the budget alert, the invoice or, for `test`, a note. Pure: no database here."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    BUDGET_ALERT = "billing.budget_alert"
    INVOICE_FINALIZED = "invoice.finalized"
    TEST = "test"  # the "send test event" button: every endpoint receives it


SUBSCRIBABLE = tuple(t for t in EventType if t != EventType.TEST)
# A job's final state -> its event.
JOB_STATE_EVENTS: Mapping[str, EventType] = {
    "SUCCEEDED": EventType.JOB_SUCCEEDED,
    "FAILED": EventType.JOB_FAILED,
    "CANCELLED": EventType.JOB_CANCELLED,
}


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def body(
    event_id: str, event_type: str, organization: str, created: datetime, data: Mapping[str, Any]
) -> str:
    """The delivery's body: compact, keys in a fixed order, so the signed bytes are stable."""
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "organization": organization,
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )
