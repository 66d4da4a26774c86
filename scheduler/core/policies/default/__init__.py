"""`default`: the full policy: priority, fair share, shortest remaining time first (with
preemption of much longer jobs after a minimum run time), quotas with reclaim, EASY backfill,
a starvation guard and heterogeneity-aware option choice."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.default.order import sort_key

STARVATION_S = 7 * 24 * 3600.0  # a week beyond its run time

POLICY = Policy(
    name="default",
    sort_key=sort_key,
    fair_share=True,
    backfill=True,
    preemption=True,
    fastest_option=True,
    shortest_first=True,
    starvation_s=STARVATION_S,
    description="priority, DRF fair share, shortest remaining first with preemption, quotas"
    " with reclaim, EASY backfill, starvation guard",
)
