"""`manage.py prune_artifacts`: deletes the artifacts (rows and objects) whose retention,
DOJO_ARTIFACT_RETENTION_DAYS from when they were made, has ended. Celery beat runs the same
daily (settings.CELERY_BEAT_SCHEDULE); run it by hand or from cron where beat does not run."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dojocloud.artifacts.facade import prune_expired


class Command(BaseCommand):
    help = "Delete artifacts past DOJO_ARTIFACT_RETENTION_DAYS, and their stored bytes."

    def handle(self, *args: Any, **options: Any) -> None:
        count = prune_expired()
        self.stdout.write(f"pruned {count} expired artifact(s)")
