"""Celery tasks: thin. They take ids, re-read state and are idempotent per dispatch token."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings

from dojocloud.common.metrics import serve_metrics
from dojocloud.execution.dispatch import PRODUCE_ARTIFACTS_TASK, RUN_SEGMENT_TASK

log = logging.getLogger(__name__)


@shared_task(name=RUN_SEGMENT_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_segment(job_id: str, token: str) -> str:
    # A genuine lazy load: segments imports the runtime (torch), which the web and gRPC
    # processes that discover this module never need.
    from dojocloud.execution.segments import run_segment as run

    outcome = run(job_id, token)
    log.info("job %s segment: %s", job_id, outcome)
    return outcome


@shared_task(name=PRODUCE_ARTIFACTS_TASK, acks_late=True, ignore_result=True)
def produce_artifacts(job_id: str) -> list[str]:
    from dojocloud.execution.artifacts import produce_artifacts as produce

    names = produce(job_id)
    log.info("job %s artifacts: %s", job_id, ", ".join(names) or "none")
    return names


@worker_init.connect
def _start_fork_server(**_: object) -> None:
    # The fork server imports the runtime now, not in the first segment: it takes seconds,
    # and a job's time from SCHEDULED to RUNNING should not pay for it.
    from dojocloud.execution.supervisor import start_fork_server

    start_fork_server()


@worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    port = settings.WORKER_METRICS_PORT
    if port:
        serve_metrics(int(port))
        log.info("worker metrics on :%s/metrics", port)
