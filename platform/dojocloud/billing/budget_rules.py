"""The pure rules of a monthly budget: parsing what a caller sets, which alert thresholds
spend has crossed, whether the hard cap is reached, and whether a job's estimate fits what is
left. Money is integer micro-dollars here; no database, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from dojocloud.common.errors import FieldViolation

DEFAULT_ALERTS = (50, 80, 100)
MAX_ALERT_PERCENT = 1000
MAX_ALERTS = 10
MAX_BUDGET_MICROS = 10**9 * 10**6  # a billion dollars a month
BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"  # the classified reason of a held job and a refusal


def parse_budget(text: str, field: str = "monthly_usd") -> tuple[int | None, list[FieldViolation]]:
    """USD as micro-dollars: "" means no budget (None); otherwise > 0, at most 6 places."""
    text = text.strip()
    if not text:
        return None, []
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, [FieldViolation(field, f"not a decimal number of USD: {text[:40]!r}")]
    if not value.is_finite() or value <= 0:
        return None, [FieldViolation(field, f"must be more than 0 USD, got {text[:40]}")]
    if value != value.quantize(Decimal("0.000001")):  # the ledger's own precision
        return None, [FieldViolation(field, f"at most 6 decimal places, got {text[:40]}")]
    micros = int(value.scaleb(6))
    if micros > MAX_BUDGET_MICROS:
        return None, [FieldViolation(field, "must be at most 1000000000 USD")]
    return micros, []


def parse_alerts(
    percents: Iterable[int], field: str = "alert_percents"
) -> tuple[list[int], list[FieldViolation]]:
    """Ascending, distinct thresholds in percent of the budget (empty: 50, 80, 100)."""
    given = list(percents)
    if not given:
        return list(DEFAULT_ALERTS), []
    errors = [
        FieldViolation(f"{field}[{i}]", f"must be between 1 and {MAX_ALERT_PERCENT}, got {p}")
        for i, p in enumerate(given)
        if not 1 <= p <= MAX_ALERT_PERCENT
    ]
    if len(given) > MAX_ALERTS:
        errors.append(FieldViolation(field, f"at most {MAX_ALERTS} thresholds"))
    return sorted(set(given)), errors


def crossed(thresholds: Iterable[int], spent_micros: int, budget_micros: int) -> list[int]:
    """The thresholds that spend has reached (spent >= budget x percent / 100)."""
    return [t for t in thresholds if spent_micros * 100 >= budget_micros * t]


def cap_reached(spent_micros: int, budget_micros: int | None, hard_cap: bool) -> bool:
    return hard_cap and budget_micros is not None and spent_micros >= budget_micros


def remaining(spent_micros: int, budget_micros: int) -> int:
    return max(0, budget_micros - spent_micros)


def usd_text(micros: int) -> str:
    """Micro-dollars for people: "12.34", or as many places as a small amount needs
    ("0.004213"), so a figure under a cent never reads $0.00."""
    whole, places = f"{Decimal(micros).scaleb(-6):.6f}".rstrip("0").split(".")
    return f"{whole}.{places.ljust(2, '0')}"
