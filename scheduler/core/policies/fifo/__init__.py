"""`fifo`: strict first-in first-out with head-of-line blocking; no backfill, no preemption."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.fifo.order import sort_key

POLICY = Policy(
    name="fifo",
    sort_key=sort_key,
    head_of_line_blocking=True,
    description="strict FIFO: jobs start in submit order; the first that cannot start blocks the rest",
)
