"""Priority classes: names customers use, integers the core compares (larger runs first).

The one owner of both. The platform derives from this table: a job spec's `priority_class`
must be one of these names, and the integer stored in `Job.priority`, handed to the core as
`JobRequest.priority` and shown by the operators' queue (`ListQueue`) is the class's value
here. Only the order of the values matters to scheduling and preemption; they are 0, 1, 2
because those are what the platform has stored and shown since its first migration."""

from __future__ import annotations

from collections.abc import Mapping

PRIORITY_CLASSES: Mapping[str, int] = {"low": 0, "normal": 1, "high": 2}
DEFAULT_PRIORITY_CLASS = "normal"


def priority_value(name: str | None) -> int:
    """The integer for a class name; an unknown or empty name is a ValueError."""
    key = (name or DEFAULT_PRIORITY_CLASS).strip().lower()
    try:
        return PRIORITY_CLASSES[key]
    except KeyError:
        known = ", ".join(PRIORITY_CLASSES)
        raise ValueError(f"unknown priority class {name!r} (known: {known})") from None


def priority_name(value: int) -> str:
    """The highest class whose value is at most `value` ("low" below every class)."""
    best = "low"
    for name, v in sorted(PRIORITY_CLASSES.items(), key=lambda kv: kv[1]):
        if v <= value:
            best = name
    return best
