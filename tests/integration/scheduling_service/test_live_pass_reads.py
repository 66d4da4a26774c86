"""What keeps a live pass with a long queue fast reads the same as a cold snapshot: the
queued jobs' fixed columns are read once per job (Reuse.fixed) and the requests built
from them equal those of a fresh read; the jobs table keeps room for HOT updates on
PostgreSQL; the API server freezes its start-up heap before the loop runs."""

from __future__ import annotations

import gc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dojocloud.jobs import lifecycle
from dojocloud.jobs.models import Job
from dojocloud.scheduling.runner import freeze_startup_heap
from dojocloud.scheduling.snapshot import Reuse, queued_requests
from tests.support.pending_queue import Queue, full_cluster


@pytest.fixture
def queue(db: None) -> Queue:
    return full_cluster(tenants=3)


def _reads_fixed_columns(captured: CaptureQueriesContext) -> bool:
    return any("accepted_accelerators" in q["sql"] for q in captured.captured_queries)


def test_fixed_columns_are_read_once_and_requests_equal_a_cold_read(queue: Queue) -> None:
    queue.submit(30)
    reuse = Reuse()
    assert queued_requests(reuse) == queued_requests(Reuse())

    first = Job.objects.filter(state=lifecycle.QUEUED).order_by("created_at").first()
    assert first is not None
    Job.objects.filter(id=first.id).update(
        priority=9, attempt=1, current_step=3, allocated_seconds=12.5, preemptible=True
    )
    with CaptureQueriesContext(connection) as captured:
        warm = queued_requests(reuse)
    assert not _reads_fixed_columns(captured)  # no job is new: only the moving columns
    assert warm == queued_requests(Reuse())
    moved = next(r for r in warm if r.job_id == first.id)
    assert (moved.priority, moved.attained_service_s, moved.spot) == (9, 12.5, True)

    queue.cancel_some(5)
    queue.submit(4)
    with CaptureQueriesContext(connection) as captured:
        warm = queued_requests(reuse)
    assert _reads_fixed_columns(captured)  # the four new jobs'
    assert warm == queued_requests(Reuse())
    assert len(warm) == 29 and len(reuse.fixed) == 29  # the cancelled ones are forgotten


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage option")
def test_the_jobs_table_leaves_room_for_hot_updates(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", ["jobs_job"])
        (options,) = cursor.fetchone()
    assert "fillfactor=60" in options


def test_the_start_up_heap_is_frozen_before_the_loop_runs() -> None:
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
