"""The Celery app: one queue per pool (dojo, gpu-a100, ...); workers run job segments.

It lives here, below every app that dispatches, because it only reads its configuration
(lazily, from Django's settings): execution's dispatch sends through it without importing
the composition root. `dojocloud.celery` (what `celery -A dojocloud` loads) adds task
discovery over INSTALLED_APPS."""

from __future__ import annotations

from celery import Celery

app = Celery("dojocloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
