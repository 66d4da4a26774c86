"""What a policy is: a queue order plus switches for the shared decision code (walk.py).

Each variant lives in its own folder with the same file set (`__init__.py` exporting
POLICY, `order.py` holding its sort key), so a new one starts as a copy of a sibling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scheduler.core.las import LasQueues
from scheduler.core.model import JobRequest

# A job's place in the queue; fixed while it waits, so the queue stays sorted between passes.
# With fair_share the first element must be the priority part (smaller first): tenants are
# interleaved on it, then on their current dominant share (scheduler.core.queue).
SortKey = Callable[[JobRequest], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    sort_key: SortKey
    fair_share: bool = False  # interleave tenants by weighted dominant share
    head_of_line_blocking: bool = False  # strict FIFO: the first job that waits stops all
    backfill: bool = False  # EASY: a reservation per pool for its first waiter
    preemption: bool = False  # reclaim guaranteed quota; priority displaces lower
    fastest_option: bool = False  # heterogeneity: pick the lowest completion time
    # Preempt (same priority, own or borrowing tenant) a job with far longer remaining time
    # (scheduler.core.remaining); needs `preemption`.
    shortest_first: bool = False
    # Starvation guard: a job that has waited this long (beyond its run time) goes first.
    starvation_s: float | None = None
    # Discretised least attained service (scheduler.core.las): with `preemption`, a job
    # preempts one of the same priority whose attained service is a whole queue above its
    # own (kind "service"). The sort key should order by the same queues.
    las: LasQueues | None = None
    # LAS only for what nobody estimated: a waiter with an estimate never preempts for
    # service and a running job with one is never a service victim (shortest remaining
    # first decides between those); the sort key should rank estimated jobs likewise.
    las_unknown_only: bool = False
    # Reclaim (a tenant within its nominal quota stops a borrower's job) only from a job whose
    # LAS queue is at least the waiter's: quota comes back from long runs, not from fresh
    # jobs that least attained service would run first anyway.
    las_reclaim: bool = False
    # Empty a GPU node for a waiter that fits on none by moving smaller jobs onto free GPUs
    # of other nodes (Preempt kind "migrate", scheduler.core.migration): they resume from a
    # checkpoint and lose no service. Independent of `preemption`.
    migration: bool = False
    description: str = ""
