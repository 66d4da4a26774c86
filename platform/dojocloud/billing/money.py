"""Money, stated once: Decimal only, rounded half-even per line.

* A rate is USD per device-second, at most 12 decimal places (`RATE_PLACES`).
* A ledger row's quantity is kept in whole device-microseconds and its amount in whole
  micro-dollars ($0.000001): amount = round_half_even(quantity x rate, $0.000001).
* An invoice line's amount is in cents: round_half_even(quantity x rate, $0.01), where the
  quantity is the exact sum of its ledger rows' quantities; an invoice's total is the exact
  sum of its lines' cents. Nothing is rounded twice, and no float ever holds money.

Integers in the database (micro-units and cents) keep sums exact on every engine: SQLite
has no decimal type, and a SUM over a decimal column there goes through floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

RATE_PLACES = 12
MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
_MICROS_PER_UNIT = 1_000_000
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
MAX_RATE = Decimal(1000)  # USD per device-second: a typo guard (3.6 M$ a device-hour)


class MoneyError(ValueError):
    """A figure that is not money: not a number, too precise, out of range."""


def micros(seconds: float | Decimal) -> int:
    """Device-seconds as whole device-microseconds, half-even (a float's nearest Decimal)."""
    return int(Decimal(seconds).quantize(MICRO, ROUND_HALF_EVEN) * _MICROS_PER_UNIT)


def from_micros(value: int) -> Decimal:
    return Decimal(value).scaleb(-6)


def from_cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def amount_micros(quantity_micros: int, rate: Decimal) -> int:
    """A ledger row's amount in micro-dollars."""
    return int((from_micros(quantity_micros) * rate).quantize(MICRO, ROUND_HALF_EVEN).scaleb(6))


def amount_cents(quantity_micros: int, rate: Decimal) -> int:
    """An invoice line's amount in cents."""
    return int((from_micros(quantity_micros) * rate).quantize(CENT, ROUND_HALF_EVEN).scaleb(2))


def parse_rate(text: str | Decimal, field: str = "rate") -> Decimal:
    """A rate from an operator or a file: a plain decimal, >= 0, at most 12 places."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError(f"{field}: not a decimal number: {str(text)[:40]!r}") from None
    if not value.is_finite() or value < 0:
        raise MoneyError(f"{field}: must be a finite number >= 0, got {value}")
    if value > MAX_RATE:
        raise MoneyError(f"{field}: {value} USD per device-second is over {MAX_RATE}")
    if value != value.quantize(_RATE_QUANTUM):
        raise MoneyError(f"{field}: at most {RATE_PLACES} decimal places, got {value}")
    return value.quantize(_RATE_QUANTUM)


def parse_cents(text: str | Decimal, field: str = "amount") -> int:
    """A USD amount (e.g. "-12.50") as cents; more than two decimals is an error."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError(f"{field}: not a decimal number: {str(text)[:40]!r}") from None
    if not value.is_finite():
        raise MoneyError(f"{field}: must be a finite number, got {value}")
    if value != value.quantize(CENT):
        raise MoneyError(f"{field}: whole cents only, got {value}")
    return int(value.quantize(CENT).scaleb(2))


def usd(cents: int) -> str:
    """Cents as "12.34" (negative "-0.50")."""
    return f"{from_cents(cents):.2f}"


def per_hour(rate: Decimal) -> Decimal:
    return rate * 3600
