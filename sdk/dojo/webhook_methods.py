"""WebhookService methods of the typed client (mixed into `dojo.client.Client`).

`create_webhook(url)` returns the webhook and its signing secret (shown this once); the
receiver checks each delivery with `dojo.webhooks.verify(body, header, secret)`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import grpc

from dojo.v1 import webhook_pb2, webhook_pb2_grpc


class WebhookMethods:
    """Needs what ServiceClient gives: `_channel`, `_read`, `_act`."""

    _channel: grpc.Channel

    @cached_property
    def _webhooks(self) -> webhook_pb2_grpc.WebhookServiceStub:
        return webhook_pb2_grpc.WebhookServiceStub(self._channel)

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
        request = webhook_pb2.CreateWebhookRequest(
            parent=parent, url=url, event_types=list(event_types), description=description
        )
        return self._act(  # type: ignore[attr-defined, no-any-return]
            self._webhooks.CreateWebhook, request, webhook_pb2.CreateWebhookResponse, timeout
        )

    def list_webhooks(
        self, *, parent: str = "", timeout: float | None = None
    ) -> list[webhook_pb2.Webhook]:
        request = webhook_pb2.ListWebhooksRequest(parent=parent)
        answer = self._read(  # type: ignore[attr-defined]
            self._webhooks.ListWebhooks, request, webhook_pb2.ListWebhooksResponse, timeout
        )
        return list(answer.webhooks)

    def delete_webhook(self, name: str, *, timeout: float | None = None) -> None:
        """`name` is organizations/{org}/webhooks/{id}, or the id."""
        request = webhook_pb2.DeleteWebhookRequest(name=name)
        self._act(  # type: ignore[attr-defined]
            self._webhooks.DeleteWebhook, request, webhook_pb2.DeleteWebhookResponse, timeout
        )

    def test_webhook(
        self, name: str, *, timeout: float | None = None
    ) -> webhook_pb2.WebhookDelivery:
        """Queues a `test` event to the endpoint; its delivery (pending until sent)."""
        request = webhook_pb2.TestWebhookRequest(name=name)
        return self._act(  # type: ignore[attr-defined, no-any-return]
            self._webhooks.TestWebhook, request, webhook_pb2.WebhookDelivery, timeout
        )

    def list_webhook_deliveries(
        self, name: str, *, page_size: int = 0, timeout: float | None = None
    ) -> list[webhook_pb2.WebhookDelivery]:
        request = webhook_pb2.ListWebhookDeliveriesRequest(name=name, page_size=page_size)
        answer = self._read(  # type: ignore[attr-defined]
            self._webhooks.ListWebhookDeliveries,
            request,
            webhook_pb2.ListWebhookDeliveriesResponse,
            timeout,
        )
        return list(answer.deliveries)
