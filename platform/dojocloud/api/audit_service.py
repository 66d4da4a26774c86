"""AuditService servicer: authorize (@rpc, dojocloud.api.auth), parse the parent and the
filter, call the audit facade, map rows to the wire.

Who reads what: an owner or admin (audit.read) reads their own organization's rows; another
organization's parent is NOT_FOUND, as for every other tenant-owned object. Operators (the
operator grant, operator.read) also read any organization's by its slug, and everything with
parent "organizations/-": every organization's rows, the fleet's actions and sign-ins.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from dojo.v1 import audit_pb2 as pb
from dojo.v1 import audit_pb2_grpc
from dojocloud.api.auth import rpc
from dojocloud.audit import facade as audit
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.tenancy.facade import Action, Organization, Principal, require

_PARENT = re.compile(r"^organizations/(?P<org>[^/]+)$")
EVERYTHING = "-"  # organizations/- : all of it (operators only)


def _scope(principal: Principal, parent: str) -> int | None:
    """The organization id whose rows the caller reads (None: every row)."""
    parent = parent.strip()
    if not parent:
        return principal.organization.pk
    match = _PARENT.match(parent)
    if match is None:
        raise InvalidArgument(
            [FieldViolation("parent", "must be organizations/{org} or organizations/-")]
        )
    slug = match["org"]
    if slug == principal.organization.slug:
        return principal.organization.pk
    if slug == EVERYTHING:
        require(principal, Action.OPERATOR_READ)
        return None
    if not principal.can(Action.OPERATOR_READ):
        raise NotFound(parent)
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise NotFound(parent)
    return org.pk


def _time(request: pb.ListAuditEventsRequest, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    value: datetime = getattr(request, field).ToDatetime(tzinfo=UTC)
    return value


def filter_from_proto(principal: Principal, request: pb.ListAuditEventsRequest) -> Any:
    return audit.AuditFilter(
        organization_id=_scope(principal, request.parent),
        action=request.action.strip(),
        actor=request.actor.strip(),
        since=_time(request, "since"),
        until=_time(request, "until"),
    )


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True)


def event_to_proto(row: audit.AuditRow) -> pb.AuditEvent:
    at = timestamp_pb2.Timestamp()
    at.FromDatetime(row.at)
    return pb.AuditEvent(
        id=row.id,
        time=at,
        organization=f"organizations/{row.org_slug}" if row.org_slug else "",
        actor=row.actor,
        source=row.source,
        action=row.action,
        target=row.target,
        before_json=_json(row.before),
        after_json=_json(row.after),
    )


class AuditService(audit_pb2_grpc.AuditServiceServicer):
    @rpc(Action.AUDIT_READ)
    def ListAuditEvents(
        self,
        request: pb.ListAuditEventsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.ListAuditEventsResponse:
        page = audit.list_events(
            filter_from_proto(principal, request),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListAuditEventsResponse(
            events=[event_to_proto(r) for r in page.rows], next_page_token=page.next_page_token
        )


def add_audit_service(server: grpc.Server) -> None:
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditService(), server)
