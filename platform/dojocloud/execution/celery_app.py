"""The Celery app: one queue per pool (dojo, gpu-a100, ...); workers run job segments.

It lives here, below every app that dispatches, because it only reads its configuration
(lazily, from Django's settings): execution's dispatch sends through it without importing
the composition root. `dojocloud.celery` (what `celery -A dojocloud` loads) adds task
discovery over INSTALLED_APPS."""

from __future__ import annotations

from typing import Any

from celery import Celery, bootsteps

app = Celery("dojocloud")
app.config_from_object("django.conf:settings", namespace="CELERY")


class JobSlots(bootsteps.Step):
    """Sizes the worker's pool to its job slots: one per device of the pools it consumes
    (or DOJO_WORKER_SLOTS). Each slot is a thread that supervises one job process, so the
    worker runs as many jobs at once as the placements on its pools say."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        from django.conf import settings

        from dojocloud.common.inventory import pool_devices
        from dojocloud.execution import limits

        pools = sorted(parent.app.amqp.queues.consume_from)
        slots = int(settings.WORKER_SLOTS) or limits.slots_for_pools(pools, pool_devices())
        limits.set_worker_slots(slots)
        # Both, whichever of this step and the Pool step is built first (Pool copies one).
        parent.concurrency = parent.min_concurrency = slots


app.steps["worker"].add(JobSlots)
