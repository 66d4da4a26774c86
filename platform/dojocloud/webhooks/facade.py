"""Webhooks' public entry: the only module of webhooks that other apps (the portal, the gRPC
API) import. Endpoints (added with a secret shown once), their deliveries, the test event."""

from dojocloud.webhooks.events import SUBSCRIBABLE, EventType
from dojocloud.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from dojocloud.webhooks.services import (
    NewEndpoint,
    create_endpoint,
    delete_endpoint,
    deliveries_of,
    get_endpoint,
    list_endpoints,
    send_test,
)

__all__ = [
    "SUBSCRIBABLE",
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "Endpoint",
    "EventType",
    "NewEndpoint",
    "create_endpoint",
    "delete_endpoint",
    "deliveries_of",
    "get_endpoint",
    "list_endpoints",
    "send_test",
]
