"""Small formatting helpers for portal templates."""

from __future__ import annotations

import math
from datetime import datetime

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dojo_runtime.memory import format_bytes

register = template.Library()


@register.filter
def duration(seconds: float | int | None) -> str:
    """Seconds → '3d 04h', '1h 02m', '3m 07s', '12.5s', '4.2 ms', '26 µs'; '—' when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = float(seconds)
    if s == 0 or s >= 1:
        return _long_duration(s)
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def _long_duration(s: float) -> str:
    if s < 60:
        return f"{s:.3g}s"
    minutes, sec = divmod(int(round(s)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"  # a GPT-3-class estimate runs for weeks
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {sec:02d}s"


@register.filter
def memory(value: float | int | None) -> str:
    """Bytes in binary units ('452 KiB', '5.84 GiB'); '—' when unknown (0)."""
    if not value:
        return "—"
    return format_bytes(value)


@register.filter
def usd(value: float | None) -> str:
    """Dollars; amounts under a cent keep two significant digits ('$0.000071')."""
    if value is None:
        return "—"
    if value >= 0.01 or value <= 0:
        return f"${value:,.2f}"
    decimals = 1 - math.floor(math.log10(value))
    return f"${value:.{decimals}f}"


WHEN_FORMAT = "Y-m-d H:i:s T"  # T: the zone's abbreviation ("UTC", "CET", "+03")


def local_text(value: datetime, fmt: str = WHEN_FORMAT) -> str:
    """The time in the request's zone (the user's, activated by the portal's middleware),
    with the zone named."""
    return dateformat.format(timezone.localtime(value), fmt)


@register.filter
def when(value: datetime | None, fmt: str = WHEN_FORMAT) -> str:
    """A <time> element: the moment in the user's zone with its abbreviation, and the ISO
    instant for machines; '—' when there is none."""
    if value is None:
        return "—"
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), local_text(value, fmt))


@register.filter
def when_title(value: datetime | None) -> str:
    """The zoned time as plain text, for a title= beside a relative time ('3 min ago')."""
    return "" if value is None else local_text(value)


@register.simple_tag
def state_badge(state: str) -> SafeString:
    return format_html('<span class="badge state-{}">{}</span>', str(state).lower(), state)


@register.simple_tag
def console_url() -> str:
    """The operator console's URL, or '' where the console is not routed."""
    try:
        return reverse("console:overview")
    except NoReverseMatch:
        return ""
