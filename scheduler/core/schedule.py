"""Entry point of the core: one pass over an immutable Snapshot.

    decisions = schedule(snapshot, policy="default")   # "fifo" | "las" | "default"

Builds the indexed state (free tiles per tray, free GPUs per node bucketed by count, quota
usage) from the snapshot, runs the shared decision code (walk.run_pass) and returns
Decisions: admissions with devices, preemptions with reasons and grace, and every job left
pending with its reason and 1-based queue position. The incremental `Scheduler`
(scheduler.core.incremental) runs the same decision code on state it keeps between passes.
"""

from __future__ import annotations

from scheduler.core.model import Decisions, Snapshot
from scheduler.core.policies import get_policy
from scheduler.core.queue import JobQueue
from scheduler.core.state import state_from_snapshot
from scheduler.core.walk import run_pass


def schedule(snapshot: Snapshot, policy: str = "default") -> Decisions:
    chosen = get_policy(policy)
    state = state_from_snapshot(snapshot)
    queue = JobQueue(chosen, snapshot.queued, figures=snapshot.capacity.figures)
    return run_pass(state, queue, chosen, explain=True)
