"""Webhooks' Celery tasks, on the "webhooks" queue: thin adapters over webhooks.delivery.
They take ids and re-read the row, so a repeated message sends nothing twice (the attempt
is claimed with a conditional update)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task

from dojocloud.webhooks import delivery

log = logging.getLogger(__name__)
QUEUE = "webhooks"


@shared_task(name="dojocloud.webhooks.tasks.deliver")
def deliver(delivery_id: int) -> None:
    retry_in = delivery.attempt(delivery_id)
    if retry_in is not None:
        _send(delivery_id, countdown=retry_in)


@shared_task(name="dojocloud.webhooks.tasks.send_due")
def send_due() -> int:
    """Celery beat's sweep: deliveries whose retry message was lost are sent again."""
    ids = delivery.overdue_ids()
    send_all(ids)
    return len(ids)


def send_all(ids: Iterable[int]) -> None:
    for delivery_id in ids:
        _send(delivery_id)


def _send(delivery_id: int, countdown: float = 0.0) -> None:
    try:
        deliver.apply_async((delivery_id,), queue=QUEUE, countdown=countdown, retry=False)
    except Exception as exc:  # broker down: beat's sweep sends it once it is back
        log.warning("webhook delivery %s not queued: %s", delivery_id, exc)
