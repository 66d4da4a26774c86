"""`manage.py prune_logs`: deletes the logs (rows and objects) of jobs that ended more than
DOJO_LOG_RETENTION_DAYS ago. Celery beat runs the same daily (settings.CELERY_BEAT_SCHEDULE);
run it by hand or from cron where beat does not run."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dojocloud.jobs.facade import prune_expired_logs


class Command(BaseCommand):
    help = "Delete the logs of jobs that ended more than DOJO_LOG_RETENTION_DAYS ago."

    def handle(self, *args: Any, **options: Any) -> None:
        count = prune_expired_logs()
        self.stdout.write(f"pruned {count} expired log chunk(s)")
