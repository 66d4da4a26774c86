"""Sending a job's next segment to the Celery queue of its pool. A lost message only
delays the job: the scheduler re-dispatches from the database when no heartbeat comes."""

from __future__ import annotations

import logging
import secrets

from dojocloud.execution.celery_app import app

log = logging.getLogger(__name__)
# The task kept its name when it moved from jobs to execution: messages already queued (and
# workers of the previous release) still match it.
RUN_SEGMENT_TASK = "dojocloud.jobs.tasks.run_segment"
PRODUCE_ARTIFACTS_TASK = "dojocloud.execution.produce_artifacts"


def new_token() -> str:
    return secrets.token_hex(12)


def send_segment(job_id: str, token: str, pool: str) -> bool:
    try:
        app.send_task(RUN_SEGMENT_TASK, args=[job_id, token], queue=pool, retry=False)
    except Exception as exc:  # broker down: the scheduler's recovery re-sends it
        log.warning("dispatch of %s to queue %s failed: %s", job_id, pool, exc)
        return False
    return True
