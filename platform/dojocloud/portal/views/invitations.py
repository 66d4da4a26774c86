"""The invitation link: who invites whom to what, and the button that accepts it.

Anyone holding the link sees the invitation (the link is what was emailed); accepting needs
a signed-in account whose verified addresses include the invited one (tenancy.invitations).
An unusable link says why: 404 not an invitation, 410 expired, revoked or already used."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dojocloud.common.errors import FailedPrecondition, PermissionDenied
from dojocloud.portal.accounts import client_address
from dojocloud.portal.views.common import ORG_SESSION_KEY
from dojocloud.tenancy import facade as tenancy
from dojocloud.tenancy.facade import InvitationUnusable


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "portal/invitation_error.html", {"message": message}, status=status)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = tenancy.invitations.resolve(token)
    except InvitationUnusable as exc:
        return _refused(request, exc.message, 404 if exc.reason == "invalid" else 410)
    here = reverse("portal:invitation", args=[token])
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?{urlencode({'next': here})}")
        try:
            membership = tenancy.invitations.accept(
                request.user, token, source=client_address(request)
            )
        except InvitationUnusable as exc:
            return _refused(request, exc.message, 410)
        except PermissionDenied as exc:
            return _refused(request, exc.message, 403)
        except FailedPrecondition as exc:
            return _refused(request, exc.message, 409)
        request.session[ORG_SESSION_KEY] = membership.organization.slug
        messages.success(
            request, f"You joined {membership.organization.slug} as {membership.role}."
        )
        return redirect("portal:member-list")
    signed_in = request.user.is_authenticated
    mine = tenancy.invitations.verified_emails(request.user) if signed_in else []  # type: ignore[arg-type]
    context = {
        "invitation": invite,
        "matches": invite.email.lower() in {e.lower() for e in mine},
        "verified": mine,
        "next": urlencode({"next": here}),
    }
    return render(request, "portal/invitation.html", context)
