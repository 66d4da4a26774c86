"""One pass of the live loop (scheduling.runner's loop over the database store) on a full
inventory with a long queue: it runs the same number of queries with 100 and with 1,000
pending jobs (reasons and positions are written in one statement, the snapshot reads in a
fixed number), it writes only rows whose reason or position changed, and what it writes is
what the core decided. On the configured database (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job
from dojocloud.scheduling.pending_writes import write_pending
from dojocloud.scheduling.runner import build_loop
from dojocloud.scheduling.snapshot import build_snapshot
from scheduler.core import Pending, schedule
from scheduler.loop import PassResult, SchedulingLoop
from tests.support.pending_queue import Queue, full_cluster


@pytest.fixture
def queue(db: None) -> Queue:
    return full_cluster(tenants=5)


def _pass(loop: SchedulingLoop) -> tuple[PassResult, int]:
    with CaptureQueriesContext(connection) as captured:
        result = loop.run_once()
    assert result.leader and not result.admitted and not result.preempted
    return result, len(captured)


def _stored() -> dict[str, tuple[str, int]]:
    return {
        job_id: (reason, position)
        for job_id, reason, position in Job.objects.filter(state=lifecycle.QUEUED).values_list(
            "id", "pending_reason", "queue_position"
        )
    }


def test_a_pass_runs_as_many_queries_for_1000_pending_jobs_as_for_100(queue: Queue) -> None:
    loop = build_loop()
    queue.submit(100)
    _pass(loop)  # the first pass also syncs the inventory
    queue.cancel_some(10)
    queue.submit(10)
    small, with_100 = _pass(loop)
    queue.submit(910)
    queue.cancel_some(10)
    large, with_1000 = _pass(loop)
    loop.leader.release()

    assert (small.pending, large.pending) == (100, 1000)
    assert with_1000 == with_100
    stored = _stored()
    positions = sorted(p for _, p in stored.values())
    assert positions == list(range(1, 1001))  # every waiting job ranked, each once
    assert all(reason for reason, _ in stored.values())


def test_the_stored_reasons_and_positions_are_the_core_s_decisions(queue: Queue) -> None:
    queue.submit(50)
    decisions = schedule(build_snapshot(timezone.now().timestamp()))
    assert write_pending(decisions.pending) == 50
    assert _stored() == {p.job_id: (p.reason, p.position) for p in decisions.pending}
    # Nothing changed: nothing is written.
    assert write_pending(decisions.pending) == 0


def test_only_changed_and_still_queued_rows_are_written(queue: Queue) -> None:
    queue.submit(3)
    a, b, c = Job.objects.filter(state=lifecycle.QUEUED).order_by("created_at")
    write_pending([Pending(a.id, "waiting", 1), Pending(b.id, "waiting", 2)])
    Job.objects.filter(id=c.id).update(state=lifecycle.CANCELLED)

    written = write_pending(
        [Pending(a.id, "waiting", 1), Pending(b.id, "quota", 1), Pending(c.id, "waiting", 3)]
    )

    assert written == 1  # a is unchanged, c left the queue
    assert _stored() == {a.id: ("waiting", 1), b.id: ("quota", 1)}
    c.refresh_from_db()
    assert (c.pending_reason, c.queue_position) == ("", 0)  # as it was created


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner only")
def test_sqlite_looks_each_written_row_up_by_its_primary_key(queue: Queue) -> None:
    """Driven by the state index instead, SQLite rescans the JSON for every queued job."""
    from dojocloud.scheduling.pending_writes import _SQLITE

    table = connection.ops.quote_name(Job._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN QUERY PLAN " + _SQLITE.format(table=table), ["[]", lifecycle.QUEUED]
        )
        plan = [row[-1] for row in cursor.fetchall()]
    assert plan[0].startswith("SCAN v")
    assert any("USING INDEX" in p and "(id=?)" in p for p in plan[1:])
