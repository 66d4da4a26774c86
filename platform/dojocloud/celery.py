"""The Celery app as `celery -A dojocloud` finds it (composition root): execution's app,
with its tasks discovered from INSTALLED_APPS. Its configuration is read lazily, so the
settings default below only has to be set before the first task is sent or run."""

from __future__ import annotations

import os

from dojocloud.execution.celery_app import app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
app.autodiscover_tasks()

__all__ = ["app"]
