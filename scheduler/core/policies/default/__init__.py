"""`default`: the full policy: priority, then discretised least attained service (Tiresias'
2D-LAS queues, preemption between them, for jobs without a run-time estimate), fair share
within a queue, shortest remaining time first where estimates exist (with preemption of much longer jobs after a minimum run
time), quotas with reclaim, EASY backfill, a starvation guard and heterogeneity-aware option
choice. It needs no run-time estimates; it uses them when a job has one."""

from scheduler.core.policies.base import Policy
from scheduler.core.policies.default.order import QUEUES, sort_key

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
    las=QUEUES,
    las_unknown_only=True,
    migration=True,
    description="priority, least attained service queues with preemption, DRF fair share,"
    " shortest remaining first where estimated, quotas with reclaim, EASY backfill,"
    " starvation guard",
)
