"""An organization's webhook endpoints: adding one (its secret returned once), listing,
deleting, the test event, reading deliveries, and queueing an event to every endpoint that
takes it. Every read is scoped to the caller's organization: another tenant's endpoint is
NotFound."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.tenancy.facade import Action, Organization, Principal, actor_for, require
from dojocloud.webhooks import events, sealing, tasks
from dojocloud.webhooks.models import Delivery, Endpoint
from dojocloud.webhooks.urls import url_violations

MAX_ENDPOINTS = 20  # per organization
MAX_DESCRIPTION = 200
DELIVERIES_SHOWN = 50


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once: it is stored sealed and never shown again


def endpoint_violations(
    url: str, event_types: Sequence[str], description: str
) -> list[FieldViolation]:
    bad = url_violations(url)
    known = {str(t) for t in events.SUBSCRIBABLE}
    unknown = [t for t in event_types if t not in known]
    if unknown:
        bad.append(
            FieldViolation(
                "event_types",
                f"unknown {', '.join(repr(t[:40]) for t in unknown[:5])}: "
                f"choose from {', '.join(sorted(known))}",
            )
        )
    if len(description) > MAX_DESCRIPTION:
        bad.append(FieldViolation("description", f"at most {MAX_DESCRIPTION} characters"))
    return bad


def create_endpoint(
    principal: Principal,
    url: str,
    event_types: Sequence[str] = (),
    description: str = "",
    actor: Actor | None = None,
) -> NewEndpoint:
    """Empty `event_types`: every event. The secret comes back here and only here."""
    require(principal, Action.WEBHOOKS_MANAGE)
    url, description = url.strip(), description.strip()
    chosen = sorted(set(event_types)) or sorted(str(t) for t in events.SUBSCRIBABLE)
    bad = endpoint_violations(url, chosen, description)
    org = principal.organization
    if Endpoint.objects.filter(organization=org).count() >= MAX_ENDPOINTS:
        bad.append(FieldViolation("url", f"an organization has at most {MAX_ENDPOINTS} endpoints"))
    if bad:
        raise InvalidArgument(bad)
    secret = sealing.new_secret()
    who = actor or actor_for(principal)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            organization=org,
            url=url,
            description=description,
            event_types=chosen,
            secret_sealed=sealing.seal(secret),
            secret_hint=sealing.hint(secret),
            created_by=who.label[:200],
        )
        record(
            AuditAction.WEBHOOK_CREATED,
            actor=who,
            org_slug=org.slug,
            organization_id=org.id,
            target=endpoint.resource_name,
            after=audit_state(endpoint),
        )
    return NewEndpoint(endpoint, secret)


def audit_state(endpoint: Endpoint) -> dict[str, object]:
    return {
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "secret_hint": endpoint.secret_hint,
    }


def endpoints_for(principal: Principal) -> QuerySet[Endpoint]:
    require(principal, Action.WEBHOOKS_READ)
    return Endpoint.objects.filter(organization=principal.organization).select_related(
        "organization"
    )


def list_endpoints(principal: Principal) -> list[Endpoint]:
    return list(endpoints_for(principal).order_by("created_at", "id"))


def get_endpoint(principal: Principal, endpoint_id: str) -> Endpoint:
    """By its id (12 hex digits) or resource name; NotFound for anyone else's."""
    org = principal.organization
    short = endpoint_id.rsplit("/", 1)[-1].strip().lower()
    name = f"organizations/{org.slug}/webhooks/{short}"
    if "/" in endpoint_id and endpoint_id.strip() != name:
        raise NotFound(endpoint_id[:200])
    endpoint = endpoints_for(principal).filter(endpoint_id=short).first()
    if endpoint is None:
        raise NotFound(name[:200])
    return endpoint


def delete_endpoint(principal: Principal, endpoint_id: str, actor: Actor | None = None) -> None:
    endpoint = get_endpoint(principal, endpoint_id)
    require(principal, Action.WEBHOOKS_MANAGE)
    org = principal.organization
    with transaction.atomic():
        record(
            AuditAction.WEBHOOK_DELETED,
            actor=actor or actor_for(principal),
            org_slug=org.slug,
            organization_id=org.id,
            target=endpoint.resource_name,
            before=audit_state(endpoint),
        )
        endpoint.delete()  # its deliveries go with it


def send_test(principal: Principal, endpoint_id: str, actor: Actor | None = None) -> Delivery:
    """Queues a `test` event to one endpoint; the delivery to watch."""
    endpoint = get_endpoint(principal, endpoint_id)
    require(principal, Action.WEBHOOKS_MANAGE)
    who = actor or actor_for(principal)
    with transaction.atomic():
        data = {"message": "a test event from Dojo Cloud", "sent_by": who.label}
        (delivery,) = _queue([endpoint], events.EventType.TEST, data)
        record(
            AuditAction.WEBHOOK_TESTED,
            actor=who,
            org_slug=endpoint.organization.slug,
            organization_id=endpoint.organization_id,
            target=endpoint.resource_name,
        )
    return delivery


def deliveries_of(
    principal: Principal, endpoint_id: str, limit: int = DELIVERIES_SHOWN
) -> list[Delivery]:
    endpoint = get_endpoint(principal, endpoint_id)
    return list(endpoint.deliveries.order_by("-created_at", "-id")[:limit])


def publish(
    organization: Organization,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime | None = None,
) -> list[Delivery]:
    """One delivery per endpoint of the organization that takes `event_type`, written in the
    caller's transaction and sent once it commits."""
    endpoints = [
        e
        for e in Endpoint.objects.filter(organization=organization).select_related("organization")
        if event_type in e.event_types
    ]
    return _queue(endpoints, event_type, data, now) if endpoints else []


def _queue(
    endpoints: Iterable[Endpoint],
    event_type: str,
    data: Mapping[str, Any],
    now: datetime | None = None,
) -> list[Delivery]:
    now = now or timezone.now()
    event_id = events.new_event_id()
    with transaction.atomic():
        made = [
            Delivery.objects.create(
                endpoint=e,
                event_id=event_id,
                event_type=event_type,
                body=events.body(event_id, event_type, e.organization.slug, now, data),
                next_attempt_at=now,
            )
            for e in endpoints
        ]
        ids = [d.id for d in made]
        transaction.on_commit(lambda: tasks.send_all(ids))
    return made
