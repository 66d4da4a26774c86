"""`default`: the full policy: priority, then discretised least attained service (Tiresias'
2D-LAS queues, preemption between them, for jobs without a run-time estimate), fair share
within a queue, shortest remaining time first where estimates exist (with preemption of much longer jobs after a minimum run
time), quotas with reclaim (from jobs at least as served as the waiter), EASY backfill,
migration of small jobs to free a whole GPU node for a waiter that fits on none, a
starvation guard and heterogeneity-aware option choice. It needs no run-time estimates; it
uses them when a job has one.

Migration and least-attained-service reclaim, measured on the first 20,000 jobs of the
Philly trace with run times hidden: 22,737 s average JCT before, 21,674 s with migration,
21,478 s with both (19,987 preemptions against 26,259); Jain on the quota workload of
tests/unit/scheduler_sim/test_sim_modes.py 0.990 before, 0.992 with both."""

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
    las_reclaim=True,
    migration=True,
    description="priority, least attained service queues with preemption, DRF fair share,"
    " shortest remaining first where estimated, quotas with reclaim, EASY backfill,"
    " migration to whole nodes, starvation guard",
)
