"""What a customer reads of a running job names no worker: the host and PID that ran it are
the operators' (Job.lease_owner while it runs, the workers' logs), never in the state reason or the job's events."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dojocloud.common.inventory import inventory
from dojocloud.execution import segments
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling import capacity
from dojocloud.scheduling.store import DatabaseStore
from tests.support.people import TRAINING, People, admit, make_spec

TILE = "dojo/e0/c0/t0/r0c0"


@pytest.fixture
def placed(db: None, settings, tmp_path: Path, people: People) -> Job:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.HEARTBEAT_INTERVAL_S = 3600
    capacity.sync_inventory(inventory())
    job = jobs.create_job(people.owner, make_spec(training={**TRAINING, "steps": 2}))
    admit(job, (TILE,), store=DatabaseStore(), reason="fits")
    return job


def test_a_running_job_shows_no_host_or_pid(placed: Job, people: People) -> None:
    job = placed
    for _ in range(5):
        job.refresh_from_db()
        if job.state in lifecycle.FINAL_STATES:
            break
        segments.run_segment(job.id, job.dispatch_token)
    job.refresh_from_db()
    assert job.state == lifecycle.SUCCEEDED
    worker = segments.worker_name()
    shown = [job.state_reason] + [
        str(e.data) for e in jobs.job_events(people.owner, job.id, limit=5000)
    ]
    reasons = " ".join(shown)
    assert "training started" in reasons
    assert worker not in reasons and socket.gethostname() not in reasons
    assert f":{os.getpid()}" not in reasons
