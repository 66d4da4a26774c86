"""Usage reconciliation: the ledger (what invoices come from) against Prometheus's counters.

For every (organization, pool) it compares the ledger's allocated and device seconds and its
rated cost (the rows' amounts, USD) with the increase of `dojo_usage_*_seconds_total` and
`dojo_usage_cost_usd_total` that Prometheus scraped, and lists the pairs that disagree by more
than a tolerance (for cost: one micro-dollar, the ledger's own unit, or the relative one).

Counter restarts. A worker's counters start at zero when the process (or, in multiprocess
mode, its metrics folder) is new, so the raw values cannot simply be summed. Like PromQL's
`increase()`, every drop in a series is taken as a reset: the value after the drop is usage
since the restart. Unlike `increase()`, nothing is extrapolated, and a series that appears
inside the compared period counts from zero, because these counters are born on their first
increment: `increase()` would drop that first increment and report whole segments missing.
So the raw samples are fetched (`metric[range]` through `/api/v1/query`) and the reset-aware
sum is computed here. What no scrape saw is lost for good and shows as a mismatch: increments
made after a series' last scrape when its process died, and a restarted counter that passed
its old value before the next scrape (Prometheus cannot see that reset either).

Periods. With no window the whole retained history is compared with the whole ledger. With a
window (a Prometheus duration such as `24h`), the ledger rows recorded in the window are
compared with each series' increase since its last sample at or before the window start; the
edge can be off by up to one scrape interval of usage, which the tolerance or a lifetime
check absorbs. Rows recorded in the last `settle_seconds` may not be scraped yet: a shortfall
of Prometheus that these rows explain is reported as `pending`, not as a mismatch.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Sum

from dojocloud.billing.models import UsageRecord

METRICS = {
    "dojo_usage_allocated_seconds_total": "allocated_seconds",
    "dojo_usage_device_seconds_total": "device_seconds",
    "dojo_usage_cost_usd_total": "cost_usd",
}
FIELDS = ("allocated_seconds", "device_seconds", "cost_usd")
UNITS = {"allocated_seconds": "s", "device_seconds": "s", "cost_usd": "USD"}
# Range of a lifetime check: longer than any retention, so it reads everything kept.
LIFETIME_RANGE_S = 10 * 365 * 86400
# Prometheus's lookback: a sample this long before the window start still counts as the
# value at the start, the baseline of the window's increase.
LOOKBACK_S = 300
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}

Key = tuple[str, str]  # (organization slug, pool)


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or refused the query."""


@dataclass(frozen=True)
class Usage:
    allocated_seconds: float = 0.0
    device_seconds: float = 0.0
    cost_usd: float = 0.0  # the rows' amounts (billing.money: whole micro-dollars each)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.allocated_seconds + other.allocated_seconds,
            self.device_seconds + other.device_seconds,
            self.cost_usd + other.cost_usd,
        )


@dataclass(frozen=True)
class Series:
    """One scraped counter series: the metric, its labels that matter, raw (time, value)s."""

    metric: str
    organization: str
    pool: str
    samples: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Tolerance:
    absolute: float = 0.01  # seconds: float sums in different orders differ by far less
    relative: float = 1e-6
    absolute_usd: float = 1e-6  # one micro-dollar: a segment may cost less than a cent

    def allows(self, a: float, b: float, absolute: float | None = None) -> bool:
        floor = self.absolute if absolute is None else absolute
        return abs(a - b) <= max(floor, self.relative * max(abs(a), abs(b)))

    def absolute_for(self, name: str) -> float:
        return self.absolute_usd if name == "cost_usd" else self.absolute


@dataclass(frozen=True)
class ReconcileLine:
    organization: str
    pool: str
    ledger: Usage
    prometheus: Usage
    pending: Usage  # ledger usage recorded too recently to be scraped for sure
    status: str  # "ok", "pending" or "mismatch"
    reason: str = ""


@dataclass(frozen=True)
class ReconcileReport:
    lines: tuple[ReconcileLine, ...]
    window: str | None
    evaluated_at: datetime
    tolerance: Tolerance = field(default_factory=Tolerance)

    @property
    def mismatches(self) -> tuple[ReconcileLine, ...]:
        return tuple(line for line in self.lines if line.status == "mismatch")

    @property
    def ok(self) -> bool:
        return not self.mismatches


# -- pure comparison ------------------------------------------------------------------------
def parse_duration(text: str) -> float:
    """Seconds of a Prometheus duration (`90s`, `1h30m`, `7d`); ValueError when malformed."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d)")
    seconds = sum(int(n) * _UNIT_S[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return float(seconds)


def counter_increase(samples: Sequence[tuple[float, float]], start: float | None) -> float:
    """Reset-aware increase after `start` (None: from the counter's birth at zero)."""
    ordered = sorted(samples)
    before = [v for t, v in ordered if start is not None and t <= start]
    prev = before[-1] if before else 0.0
    total = 0.0
    for t, value in ordered:
        if start is not None and t <= start:
            continue
        # A drop is a restart: the new value is all usage since then.
        total += value - prev if value >= prev else value
        prev = value
    return total


def prometheus_usage(series: Iterable[Series], start: float | None) -> dict[Key, Usage]:
    totals: dict[Key, Usage] = {}
    for s in series:
        field_name = METRICS.get(s.metric)
        if field_name is None:
            continue
        inc = Usage(**{field_name: counter_increase(s.samples, start)})
        key = (s.organization, s.pool)
        totals[key] = totals.get(key, Usage()) + inc
    return totals


def _judge(ledger: float, prom: float, pending: float, tol: Tolerance, absolute: float) -> str:
    if tol.allows(ledger, prom, absolute):
        return "ok"
    if prom < ledger and ledger - prom <= pending + absolute:
        return "pending"
    return "mismatch"


def compare_line(
    key: Key, ledger: Usage, prom: Usage, pending: Usage, tol: Tolerance
) -> ReconcileLine:
    verdicts: dict[str, str] = {}
    for name in FIELDS:
        verdicts[name] = _judge(
            getattr(ledger, name),
            getattr(prom, name),
            getattr(pending, name),
            tol,
            tol.absolute_for(name),
        )
    order = ["ok", "pending", "mismatch"]
    status = max(verdicts.values(), key=order.index)
    reason = "; ".join(
        f"{name}: ledger {getattr(ledger, name):.6f} {UNITS[name]}, "
        f"Prometheus {getattr(prom, name):.6f} {UNITS[name]}"
        + (
            f", {getattr(pending, name):.6f} {UNITS[name]} not yet scraped"
            if verdict == "pending"
            else ""
        )
        for name, verdict in verdicts.items()
        if verdict != "ok"
    )
    return ReconcileLine(key[0], key[1], ledger, prom, pending, status, reason)


def compare(
    ledger: Mapping[Key, Usage],
    prometheus: Mapping[Key, Usage],
    pending: Mapping[Key, Usage],
    tolerance: Tolerance,
) -> tuple[ReconcileLine, ...]:
    """One line per (organization, pool) seen on either side, sorted."""
    keys = sorted(set(ledger) | set(prometheus))
    return tuple(
        compare_line(
            k,
            ledger.get(k, Usage()),
            prometheus.get(k, Usage()),
            pending.get(k, Usage()),
            tolerance,
        )
        for k in keys
    )


# -- the edges: Prometheus over HTTP, the ledger through the ORM -------------------------------
def fetch_series(
    prometheus_url: str, range_s: float, at: float, timeout: float = 10.0
) -> list[Series]:
    """Raw samples of the usage counters over `range_s` before `at` (a range-vector query)."""
    selector = '{__name__=~"' + "|".join(METRICS) + f'"}}[{int(range_s)}s]'
    query = urllib.parse.urlencode({"query": selector, "time": f"{at:.3f}"})
    url = f"{prometheus_url.rstrip('/')}/api/v1/query?{query}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (operator URL)
            body = json.load(resp)
    except urllib.error.HTTPError as exc:  # Prometheus explains a refused query in the body
        raise PrometheusError(f"{url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PrometheusError(f"{prometheus_url}: {exc}") from exc
    if body.get("status") != "success":
        raise PrometheusError(f"{prometheus_url}: {body.get('error', body)}")
    return [
        Series(
            r["metric"]["__name__"],
            r["metric"].get("organization", ""),
            r["metric"].get("pool", ""),
            [(float(t), float(v)) for t, v in r["values"]],
        )
        for r in body["data"]["result"]
    ]


def ledger_usage(since: float | None, until: float) -> dict[Key, Usage]:
    """Ledger totals of rows recorded in (since, until], by (organization slug, pool)."""
    rows = UsageRecord.objects.filter(recorded_at__lte=datetime.fromtimestamp(until, UTC))
    if since is not None:
        rows = rows.filter(recorded_at__gt=datetime.fromtimestamp(since, UTC))
    grouped = (
        rows.order_by()
        .values("organization__slug", "pool")
        .annotate(a=Sum("allocated_seconds"), d=Sum("device_seconds"), m=Sum("amount_micros"))
    )
    return {
        (g["organization__slug"], g["pool"]): Usage(
            g["a"] or 0.0, g["d"] or 0.0, (g["m"] or 0) / 1_000_000
        )
        for g in grouped
    }


def reconcile(
    prometheus_url: str,
    *,
    window: str | None = None,
    tolerance: Tolerance | None = None,
    settle_seconds: float = 30.0,
    now: float | None = None,
    timeout: float = 10.0,
) -> ReconcileReport:
    """Compares the ledger with Prometheus over `window` (None: everything retained).

    `settle_seconds` should cover a scrape interval plus a scrape (make up scrapes every 15 s).
    """
    at = time.time() if now is None else now
    tol = tolerance or Tolerance()
    window_s = parse_duration(window) if window else None
    start = at - window_s if window_s is not None else None
    range_s = window_s + LOOKBACK_S if window_s is not None else LIFETIME_RANGE_S
    prom = prometheus_usage(fetch_series(prometheus_url, range_s, at, timeout), start)
    ledger = ledger_usage(start, at)
    recent = at - settle_seconds if start is None else max(start, at - settle_seconds)
    pending = ledger_usage(recent, at)
    return ReconcileReport(
        compare(ledger, prom, pending, tol), window, datetime.fromtimestamp(at, UTC), tol
    )
