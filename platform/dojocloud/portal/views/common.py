"""What every portal view shares: login, the caller's principal and the action it takes
(checked against tenancy's permission table on every request, with the role the membership
has now), and mapping domain errors to HTTP once (another tenant's object is a 404, a
forbidden action a 403)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from dojocloud.common.errors import NotFound, PermissionDenied
from dojocloud.tenancy.facade import (
    Action,
    Principal,
    organizations_for_user,
    principal_for_user,
    require,
)

ORG_SESSION_KEY = "portal_org"

# HttpResponseBase: a view may stream (the audit log's CSV export).
PortalView = Callable[..., HttpResponseBase]


def portal_view(action: Action) -> Callable[[PortalView], PortalView]:
    """Requires a login, resolves the caller's principal, requires `action` of it and passes
    it as `principal`. The view's `action` attribute records what it requires."""

    def decorate(view: PortalView) -> PortalView:
        @login_required(login_url="portal:login")
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                principal = principal_for_user(request.user, request.session.get(ORG_SESSION_KEY))
            except (NotFound, PermissionDenied):
                if request.session.pop(ORG_SESSION_KEY, None) is not None:
                    return wrapper(request, *args, **kwargs)  # membership gone: the first
                return render(request, "portal/no_org.html", status=403)
            try:
                require(principal, action)
                return view(request, principal, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from None
            except PermissionDenied as exc:
                return render(
                    request, "portal/forbidden.html", {"message": exc.message}, status=403
                )

        wrapper.action = action  # type: ignore[attr-defined]
        return wrapper

    return decorate


def remote_addr(request: HttpRequest) -> str:
    """Where the request came from, for the audit trail: REMOTE_ADDR only (X-Forwarded-For
    is the client's to forge; django-axes is configured the same way)."""
    return str(request.META.get("REMOTE_ADDR", "") or "")


def base_context(principal: Principal, **extra: Any) -> dict[str, Any]:
    # can_write only shows or hides buttons: the views and services enforce the table.
    orgs = organizations_for_user(principal.user) if principal.user is not None else []
    return {
        "principal": principal,
        "can_write": principal.can_write,
        "can_cancel": principal.can(Action.JOBS_CANCEL),
        "can_read_audit": principal.can(Action.AUDIT_READ),
        "can_bill": principal.can(Action.USAGE_READ),
        "can_webhooks": principal.can(Action.WEBHOOKS_READ),
        "organizations": orgs,
        **extra,
    }
