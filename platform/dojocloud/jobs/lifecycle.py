"""The job state machine as a pure table: which transitions exist. No database here;
`dojocloud.jobs.transitions` applies them with conditional updates."""

from __future__ import annotations

QUEUED = "QUEUED"
SCHEDULED = "SCHEDULED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
PREEMPTED = "PREEMPTED"

ALL_STATES = (QUEUED, SCHEDULED, RUNNING, SUCCEEDED, FAILED, CANCELLED, PREEMPTED)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED})
# States in which a job holds hardware (a placement).
PLACED_STATES = frozenset({SCHEDULED, RUNNING})

TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SCHEDULED, CANCELLED, FAILED}),
    SCHEDULED: frozenset({RUNNING, PREEMPTED, CANCELLED, FAILED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED, PREEMPTED}),
    PREEMPTED: frozenset({QUEUED, CANCELLED, FAILED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


def can_transition(src: str, dst: str) -> bool:
    return dst in TRANSITIONS.get(src, frozenset())


def is_final(state: str) -> bool:
    return state in FINAL_STATES


def cancellable(state: str) -> bool:
    return can_transition(state, CANCELLED)
