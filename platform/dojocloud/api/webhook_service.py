"""WebhookService servicer: authorise (each method's @rpc action), parse, call the webhooks
facade, map to the wire. Owners and admins of the caller's organization only; a `parent` or
`name` of another organization is NOT_FOUND. The secret crosses the wire once, in
CreateWebhook's answer."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2

from dojo.v1 import webhook_pb2 as pb
from dojo.v1 import webhook_pb2_grpc
from dojocloud.api.auth import rpc
from dojocloud.api.mappers import check_parent
from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.tenancy.facade import Action, Principal
from dojocloud.webhooks import facade as webhooks

MAX_DELIVERIES = 200
DEFAULT_DELIVERIES = 50


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def webhook_to_proto(e: webhooks.Endpoint) -> pb.Webhook:
    return pb.Webhook(
        name=e.resource_name,
        url=e.url,
        description=e.description,
        event_types=list(e.event_types),
        secret_hint=e.secret_hint,
        create_time=_ts(e.created_at),
        created_by=e.created_by,
    )


def delivery_to_proto(d: webhooks.Delivery) -> pb.WebhookDelivery:
    out = pb.WebhookDelivery(
        id=d.uid.hex,
        event_id=d.event_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        response_code=d.response_code or 0,
        response_excerpt=d.response_excerpt,
        error=d.error,
        create_time=_ts(d.created_at),
    )
    if d.status == webhooks.DeliveryStatus.PENDING and d.next_attempt_at is not None:
        out.next_attempt_time.CopyFrom(_ts(d.next_attempt_at))
    return out


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidArgument([FieldViolation("name", "is required")])
    return name.strip()


class WebhookService(webhook_pb2_grpc.WebhookServiceServicer):
    @rpc(Action.WEBHOOKS_MANAGE)
    def CreateWebhook(
        self, request: pb.CreateWebhookRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.CreateWebhookResponse:
        check_parent(principal, request.parent)
        made = webhooks.create_endpoint(
            principal, request.url, list(request.event_types), request.description
        )
        return pb.CreateWebhookResponse(webhook=webhook_to_proto(made.endpoint), secret=made.secret)

    @rpc(Action.WEBHOOKS_READ)
    def ListWebhooks(
        self, request: pb.ListWebhooksRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.ListWebhooksResponse:
        check_parent(principal, request.parent)
        found = webhooks.list_endpoints(principal)
        return pb.ListWebhooksResponse(webhooks=[webhook_to_proto(e) for e in found])

    @rpc(Action.WEBHOOKS_MANAGE)
    def DeleteWebhook(
        self, request: pb.DeleteWebhookRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.DeleteWebhookResponse:
        webhooks.delete_endpoint(principal, _name(request.name))
        return pb.DeleteWebhookResponse()

    @rpc(Action.WEBHOOKS_MANAGE)
    def TestWebhook(
        self, request: pb.TestWebhookRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.WebhookDelivery:
        return delivery_to_proto(webhooks.send_test(principal, _name(request.name)))

    @rpc(Action.WEBHOOKS_READ)
    def ListWebhookDeliveries(
        self,
        request: pb.ListWebhookDeliveriesRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.ListWebhookDeliveriesResponse:
        if not 0 <= request.page_size <= MAX_DELIVERIES:
            raise InvalidArgument(
                [FieldViolation("page_size", f"must be from 0 to {MAX_DELIVERIES}")]
            )
        limit = request.page_size or DEFAULT_DELIVERIES
        found = webhooks.deliveries_of(principal, _name(request.name), limit)
        return pb.ListWebhookDeliveriesResponse(deliveries=[delivery_to_proto(d) for d in found])


def add_webhook_service(server: grpc.Server) -> None:
    webhook_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookService(), server)
