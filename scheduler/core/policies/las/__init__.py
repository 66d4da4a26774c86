"""`las`: Tiresias-style discretised least attained service with preemption between its
queues and a starvation guard; jobs that cannot start are skipped (no backfill)."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.las.order import QUEUES, sort_key

STARVATION_S = 2 * 24 * 3600.0  # two days beyond its service: promoted to the front

POLICY = Policy(
    name="las",
    sort_key=sort_key,
    preemption=True,
    las=QUEUES,
    starvation_s=STARVATION_S,
    description="least attained service (discretised 2D queues) with preemption between"
    " queues, quotas with reclaim, starvation promotion, greedy skip-ahead",
)
