"""A follower's history (watch_hub._Follower): what a late watcher takes from memory instead
of reading the database, and where that stops being all it has not seen. And the stream
serializer that sends an already serialized answer as it is."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dojo.v1 import job_pb2
from dojocloud.api.interceptors import sent_as_is
from dojocloud.api.watch_hub import _Follower


def follower(keep: int, start: int | None = 0) -> _Follower:
    principal: Any = SimpleNamespace(organization=SimpleNamespace(pk=1))
    made = _Follower("j1", "organizations/a/jobs/j1", principal, 0, lambda e: [], keep)
    made.covered_from = start
    return made


def batch(*ids: int) -> list[tuple[int, bytes]]:
    return [(i, f"e{i}".encode()) for i in ids]


def test_nothing_is_served_from_memory_before_the_follower_knows_where_it_starts() -> None:
    assert follower(10, start=None).since(0) is None


def test_a_late_watcher_gets_exactly_what_it_has_not_seen() -> None:
    f = follower(10)
    f.remember(batch(1, 2, 3))
    f.remember(batch(5, 8))
    assert f.since(0) == batch(1, 2, 3, 5, 8)
    assert f.since(3) == batch(5, 8)
    assert f.since(8) == []
    assert f.since(99) == []  # ahead of the job: nothing yet, the batches follow


def test_a_full_history_drops_the_oldest_and_sends_earlier_watchers_to_the_database() -> None:
    f = follower(3, start=0)
    f.remember(batch(1, 2))
    f.remember(batch(3, 4, 5))  # 1 and 2 leave
    assert f.covered_from == 2
    assert f.since(0) is None and f.since(1) is None
    assert f.since(2) == batch(3, 4, 5)
    f.remember(batch(6, 7, 8, 9))  # more than it keeps in one batch
    assert f.covered_from == 6
    assert f.since(5) is None
    assert f.since(6) == batch(7, 8, 9)


def test_a_follower_that_keeps_nothing_still_covers_what_comes_next() -> None:
    f = follower(0, start=0)
    f.remember(batch(1, 2))
    assert f.covered_from == 2
    assert f.since(0) is None
    assert f.since(2) == []


def test_a_serialized_answer_is_sent_as_it_is_and_a_message_is_serialized() -> None:
    serialize = sent_as_is(job_pb2.JobEvent.SerializeToString)
    message = job_pb2.JobEvent(id=7, job="organizations/a/jobs/j1")
    data = message.SerializeToString()
    assert serialize(data) is data
    assert serialize(message) == data
