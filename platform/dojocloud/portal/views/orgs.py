"""Switching the organization the portal acts for (users may belong to several)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dojocloud.common.errors import PermissionDenied
from dojocloud.portal.views.common import ORG_SESSION_KEY
from dojocloud.tenancy.facade import Action, principal_for_user, require


@require_POST
@login_required(login_url="portal:login")
def switch_org(request: HttpRequest) -> HttpResponse:
    slug = request.POST.get("org", "")
    try:
        # Only an organization the user belongs to, and may read (every role may).
        require(principal_for_user(request.user, slug), Action.JOBS_READ)
    except PermissionDenied as exc:
        return render(request, "portal/forbidden.html", {"message": exc.message}, status=403)
    request.session[ORG_SESSION_KEY] = slug
    return redirect("portal:job-list")


switch_org.action = Action.JOBS_READ  # type: ignore[attr-defined]  # in the chosen org
