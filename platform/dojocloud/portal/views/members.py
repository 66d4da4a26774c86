"""The Members page: members and their roles, pending invitations, and the forms that change
them (invite, change role, remove, transfer ownership, leave). The rules live in
tenancy.members and tenancy.invitations; a refused change shows the page again with why
(400 bad input, 409 a state that forbids it, such as the last owner leaving)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dojocloud.common.errors import FailedPrecondition, InvalidArgument
from dojocloud.portal.accounts import client_address
from dojocloud.portal.views.common import ORG_SESSION_KEY, base_context, portal_view
from dojocloud.tenancy import facade as tenancy
from dojocloud.tenancy.facade import Action, Invitation, Principal, Role


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, principal: Principal, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not principal.can(Action.MEMBERS_MANAGE_OWNERS):  # only owners invite owners
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]  # type: ignore[attr-defined]


def _page(
    request: HttpRequest,
    principal: Principal,
    *,
    invite_form: InviteForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    can_manage = principal.can(Action.MEMBERS_MANAGE)
    context = base_context(
        principal,
        members=tenancy.members_of(principal),
        invitations=tenancy.invitations.pending_invitations(principal) if can_manage else [],
        invite_form=invite_form or InviteForm(principal),
        can_manage=can_manage,
        expiry_days=settings.INVITATION_EXPIRY_DAYS,
        error=error,
    )
    return render(request, "portal/members.html", context, status=status)


def _act(
    request: HttpRequest, principal: Principal, change: Callable[[], object], done: str
) -> HttpResponse:
    """Runs `change`; on success back to the page with `done`, else the page with why."""
    try:
        change()
    except InvalidArgument as exc:
        return _page(request, principal, error=exc.message, status=400)
    except FailedPrecondition as exc:
        return _page(request, principal, error=exc.message, status=409)
    messages.success(request, done)
    return redirect("portal:member-list")


@require_GET
@portal_view(Action.MEMBERS_READ)
def member_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _page(request, principal)


def _deliver(request: HttpRequest) -> Callable[[Invitation, str], None]:
    def send(invitation: Invitation, token: str) -> None:
        context = {
            "invitation": invitation,
            "organization": invitation.organization,
            "inviter": request.user.get_username(),
            "url": request.build_absolute_uri(reverse("portal:invitation", args=[token])),
            "days": settings.INVITATION_EXPIRY_DAYS,
        }
        subject = render_to_string("portal/email/invitation_subject.txt", context)
        body = render_to_string("portal/email/invitation_message.txt", context)
        send_mail(" ".join(subject.split()), body, None, [invitation.email])

    return send


@require_POST
@portal_view(Action.MEMBERS_MANAGE)
def member_invite(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = InviteForm(principal, request.POST)
    if not form.is_valid():
        return _page(request, principal, invite_form=form, status=400)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    try:
        tenancy.invitations.invite(
            principal,
            email=email,
            role=role,
            source=client_address(request),
            deliver=_deliver(request),
        )
    except InvalidArgument as exc:
        for v in exc.violations:
            form.add_error(v.field if v.field in form.fields else None, v.description)
        return _page(request, principal, invite_form=form, status=400)
    except FailedPrecondition as exc:
        return _page(request, principal, invite_form=form, error=exc.message, status=409)
    except OSError as exc:  # the mail server refused or is unreachable (SMTPException too)
        message = f"The invitation email could not be sent ({exc}); nothing was saved: try again."
        return _page(request, principal, invite_form=form, error=message, status=503)
    messages.success(request, f"Invitation sent to {email} as {role}.")
    return redirect("portal:member-list")


@require_POST
@portal_view(Action.MEMBERS_MANAGE)
def member_role(request: HttpRequest, principal: Principal, membership_id: int) -> HttpResponse:
    role = request.POST.get("role", "")
    source = client_address(request)
    return _act(
        request,
        principal,
        lambda: tenancy.change_role(principal, membership_id, role, source=source),
        f"Role changed to {role}: it applies at once, to the member's API keys too.",
    )


@require_POST
@portal_view(Action.MEMBERS_MANAGE)
def member_remove(request: HttpRequest, principal: Principal, membership_id: int) -> HttpResponse:
    source = client_address(request)
    return _act(
        request,
        principal,
        lambda: tenancy.remove_member(principal, membership_id, source=source),
        "Member removed: their sessions and API keys lost access at once.",
    )


@require_POST
@portal_view(Action.MEMBERS_MANAGE_OWNERS)
def member_transfer(request: HttpRequest, principal: Principal, membership_id: int) -> HttpResponse:
    source = client_address(request)
    return _act(
        request,
        principal,
        lambda: tenancy.transfer_ownership(principal, membership_id, source=source),
        "Ownership transferred: you are now an admin.",
    )


@require_POST
@portal_view(Action.MEMBERS_LEAVE)
def member_leave(request: HttpRequest, principal: Principal) -> HttpResponse:
    try:
        tenancy.leave(principal, source=client_address(request))
    except FailedPrecondition as exc:
        return _page(request, principal, error=exc.message, status=409)
    request.session.pop(ORG_SESSION_KEY, None)
    messages.success(request, f"You left {principal.organization.slug}.")
    return redirect("portal:job-list")


@require_POST
@portal_view(Action.MEMBERS_MANAGE)
def invitation_revoke(
    request: HttpRequest, principal: Principal, invitation_id: int
) -> HttpResponse:
    source = client_address(request)
    return _act(
        request,
        principal,
        lambda: tenancy.invitations.revoke(principal, invitation_id, source=source),
        "Invitation revoked: its link no longer works.",
    )
