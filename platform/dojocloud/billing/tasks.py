"""Billing's periodic task: Celery beat sends it hourly (settings.CELERY_BEAT_SCHEDULE, the
"billing" queue); it takes no arguments and re-reads everything, so a repeat is harmless."""

from __future__ import annotations

from celery import shared_task

from dojocloud.billing.invoices import finalize_due


@shared_task(name="dojocloud.billing.tasks.finalize_invoices")
def finalize_invoices() -> int:
    """Finalizes every invoice whose month has ended; how many it finalized."""
    return len(finalize_due())
