"""Jobs' Celery task, on the "housekeeping" queue (Celery beat sends it daily): log retention,
the same work as `manage.py prune_logs`."""

from __future__ import annotations

from celery import shared_task

from dojocloud.jobs.job_logs import prune_expired_logs


@shared_task(name="dojocloud.jobs.tasks.prune_logs")
def prune_logs() -> int:
    return prune_expired_logs()
