"""`default`: the full policy: priority, fair share, quotas with reclaim, preemption, EASY
backfill and heterogeneity-aware option choice."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.default.order import sort_key

POLICY = Policy(
    name="default",
    sort_key=sort_key,
    fair_share=True,
    backfill=True,
    preemption=True,
    fastest_option=True,
    description="priority, DRF fair share, quotas with reclaim, preemption, EASY backfill",
)
