"""WebhookService methods of the typed client (mixed into `dojo.client.Client`).

`create_webhook(url)` returns the webhook and its signing secret (shown this once); the
receiver checks each delivery with `dojo.webhooks.verify(body, header, secret)`."""

from __future__ import annotations

from collections.abc import Sequence

from dojo import rpcs
from dojo.service import ServiceClient
from dojo.v1 import webhook_pb2


class WebhookMethods(ServiceClient):
    def create_webhook(
        self,
        url: str,
        *,
        event_types: Sequence[str] = (),
        description: str = "",
        parent: str = "",
        timeout: float | None = None,
    ) -> webhook_pb2.CreateWebhookResponse:
        """Adds an endpoint (every event when `event_types` is empty); the answer's `secret`
        is shown only here."""
        return self._call(rpcs.create_webhook(url, event_types, description, parent), timeout)

    def list_webhooks(
        self, *, parent: str = "", timeout: float | None = None
    ) -> list[webhook_pb2.Webhook]:
        return list(self._call(rpcs.list_webhooks(parent), timeout).webhooks)

    def delete_webhook(self, name: str, *, timeout: float | None = None) -> None:
        """`name` is organizations/{org}/webhooks/{id}, or the id."""
        self._call(rpcs.delete_webhook(name), timeout)

    def test_webhook(
        self, name: str, *, timeout: float | None = None
    ) -> webhook_pb2.WebhookDelivery:
        """Queues a `test` event to the endpoint; its delivery (pending until sent)."""
        return self._call(rpcs.test_webhook(name), timeout)

    def list_webhook_deliveries(
        self, name: str, *, page_size: int = 0, timeout: float | None = None
    ) -> list[webhook_pb2.WebhookDelivery]:
        return list(self._call(rpcs.list_webhook_deliveries(name, page_size), timeout).deliveries)
