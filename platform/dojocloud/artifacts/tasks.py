"""Artifacts' Celery task, on the "housekeeping" queue (Celery beat sends it daily): artifact
retention, the same work as `manage.py prune_artifacts`."""

from __future__ import annotations

from celery import shared_task

from dojocloud.artifacts.services import prune_expired


@shared_task(name="dojocloud.artifacts.tasks.prune_artifacts")
def prune_artifacts() -> int:
    return prune_expired()
