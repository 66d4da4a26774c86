"""Charts drawn on the server as SVG: no script, no style attribute (the CSP allows
neither), colours from portal.css classes. The Billing page's spend per day, stacked by
pool."""

from __future__ import annotations

from dataclasses import dataclass

from dojocloud.billing.facade import MonthSummary

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 56, 24, 10
COLOURS = 6  # classes pool-0 … pool-5


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the money axis
    days: list[tuple[float, str]]  # (x, label) every few days
    legend: list[tuple[str, str]]  # (css, pool)
    empty: bool


def spend_chart(s: MonthSummary) -> Chart:
    n = len(s.days)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    per_day = [sum(series[i] for series in s.daily_micros.values()) for i in range(n)]
    top = max(per_day, default=0)
    scale = plot_h / top if top else 0.0
    slot = plot_w / n
    bars: list[Bar] = []
    for i, day in enumerate(s.days):
        y = float(TOP + plot_h)
        for k, (pool, series) in enumerate(s.daily_micros.items()):
            if series[i] <= 0:
                continue
            h = series[i] * scale
            y -= h
            bars.append(
                Bar(
                    round(LEFT + i * slot + 1, 2),
                    round(y, 2),
                    round(max(slot - 2, 1), 2),
                    round(h, 2),
                    f"pool-{k % COLOURS}",
                    f"{day:%b %d} {pool}: ${series[i] / 1e6:.6f}",
                )
            )
    ticks = (
        [(round(TOP + plot_h - plot_h * f, 2), f"${top * f / 1e6:.4g}") for f in (0.0, 0.5, 1.0)]
        if top
        else []
    )
    days = [
        (round(LEFT + (i + 0.5) * slot, 2), f"{d.day}") for i, d in enumerate(s.days) if i % 5 == 0
    ]
    legend = [(f"pool-{k % COLOURS}", pool) for k, pool in enumerate(s.daily_micros)]
    return Chart(WIDTH, HEIGHT, bars, ticks, days, legend, not bars)
