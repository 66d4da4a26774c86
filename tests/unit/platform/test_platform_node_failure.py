"""NODE_FAILURE: the scheduler's recovery re-dispatches a job whose worker went silent, and
counts it; one loss past DOJO_MAX_LOST_WORKERS fails the job with NODE_FAILURE, its log's
last lines and its devices released. A dispatch no worker ever claimed is not counted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.jobs.job_logs import append_log
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Allocation
from dojocloud.scheduling.store import DatabaseStore
from scheduler.core import Admit, Decisions, Placement
from tests.support.people import People, make_spec

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def store(db: None, settings, tmp_path: Path) -> DatabaseStore:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.HEARTBEAT_TIMEOUT_S = 30
    settings.MAX_LOST_WORKERS = 2
    capacity.sync_inventory(inventory())
    return DatabaseStore()


def test_a_job_whose_worker_keeps_vanishing_fails_with_node_failure(
    people: People, store: DatabaseStore
) -> None:
    job = jobs.create_job(people.owner, make_spec(name="a"))
    now = timezone.now()
    store.apply(
        Decisions(admits=(Admit(job.id, Placement("dojo", "dojo-tile", (TILE,)), "f"),)),
        now.timestamp(),
    )
    append_log(job.id, b"2026-12-07T14:00:00.000Z INFO step 1: loss 2.3\n")
    later = now + timedelta(seconds=60)
    # Never claimed (a slow queue): re-dispatched, not counted.
    assert store.recover(later.timestamp()) == 1
    assert Job.objects.get(id=job.id).lost_workers == 0
    for lost in (1, 2, 3):
        Job.objects.filter(id=job.id).update(lease_owner="w", heartbeat_at=now)
        redispatched = store.recover(later.timestamp())
        job.refresh_from_db()
        assert job.lost_workers == lost
        if lost <= 2:
            assert redispatched == 1 and job.state == "SCHEDULED"
    assert redispatched == 0 and job.state == "FAILED"
    assert job.state_reason.startswith("NODE_FAILURE: the worker running the job went silent 3")
    assert job.failure is not None and job.failure["reason"] == "NODE_FAILURE"
    assert job.failure["last_log_lines"] == ["2026-12-07T14:00:00.000Z INFO step 1: loss 2.3"]
    store.recover(later.timestamp())  # the next pass frees what the failed job held
    assert not Allocation.objects.filter(job=job, released_at__isnull=True).exists()
