"""The Celery app: one queue per pool (dojo, gpu-a100, ...); workers run job segments."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")

app = Celery("dojocloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
