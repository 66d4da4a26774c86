"""The pure transition table."""

from __future__ import annotations

import pytest

from dojocloud.jobs import lifecycle as lc

ALLOWED = [
    (lc.QUEUED, lc.SCHEDULED),
    (lc.QUEUED, lc.CANCELLED),
    (lc.QUEUED, lc.FAILED),
    (lc.SCHEDULED, lc.RUNNING),
    (lc.SCHEDULED, lc.PREEMPTED),
    (lc.SCHEDULED, lc.CANCELLED),
    (lc.SCHEDULED, lc.FAILED),
    (lc.RUNNING, lc.SUCCEEDED),
    (lc.RUNNING, lc.FAILED),
    (lc.RUNNING, lc.CANCELLED),
    (lc.RUNNING, lc.PREEMPTED),
    (lc.PREEMPTED, lc.QUEUED),
    (lc.PREEMPTED, lc.CANCELLED),
    (lc.PREEMPTED, lc.FAILED),
]


@pytest.mark.parametrize("src", lc.ALL_STATES)
@pytest.mark.parametrize("dst", lc.ALL_STATES)
def test_table_allows_exactly_the_lifecycle(src: str, dst: str) -> None:
    assert lc.can_transition(src, dst) is ((src, dst) in ALLOWED)


@pytest.mark.parametrize("state", sorted(lc.FINAL_STATES))
def test_final_states_go_nowhere_and_cannot_be_cancelled(state: str) -> None:
    assert lc.is_final(state)
    assert not lc.cancellable(state)
    assert lc.TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize("state", [lc.QUEUED, lc.SCHEDULED, lc.RUNNING, lc.PREEMPTED])
def test_every_live_state_can_be_cancelled(state: str) -> None:
    assert lc.cancellable(state)


def test_names_match_the_proto_enum() -> None:
    from dojo.v1 import job_pb2

    assert set(lc.ALL_STATES) == set(job_pb2.JobState.DESCRIPTOR.values_by_name) - {
        "JOB_STATE_UNSPECIFIED"
    }
