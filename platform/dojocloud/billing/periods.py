"""Calendar months in UTC: an invoice's period is the month's first day."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime

from dojocloud.common.errors import FieldViolation, InvalidArgument

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_of(at: datetime) -> date:
    at = at.astimezone(UTC)
    return date(at.year, at.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def end(month: date) -> datetime:
    """The first instant after the month."""
    return start(next_month(month))


def days_in(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def parse_month(text: str, field: str = "month") -> date:
    """`YYYY-MM` -> its first day; InvalidArgument naming `field` otherwise."""
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise InvalidArgument([FieldViolation(field, f"must be YYYY-MM, got {text[:20]!r}")])
    return date(int(match[1]), int(match[2]), 1)
