"""Scheduling policies by name: one folder per variant (fifo, las, default)."""

from __future__ import annotations

from scheduler.core.policies.base import Policy
from scheduler.core.policies.default import POLICY as DEFAULT
from scheduler.core.policies.fifo import POLICY as FIFO
from scheduler.core.policies.las import POLICY as LAS

POLICIES: dict[str, Policy] = {p.name: p for p in (FIFO, LAS, DEFAULT)}


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICIES)})") from None


__all__ = ["POLICIES", "Policy", "get_policy"]
