"""API keys page: create (name, scope, expiry), list, revoke. The raw key is shown once: the
create stores it in the session, the redirect's GET takes it out again (so a reload neither
shows it again nor creates a second key)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from dojocloud.common.errors import InvalidArgument
from dojocloud.portal.views.common import base_context, portal_view, remote_addr
from dojocloud.tenancy import facade as tenancy
from dojocloud.tenancy.facade import Action, Principal, Scope

EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Key name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. ci-pipeline"}),
    )
    scope = forms.ChoiceField(
        choices=Scope.choices,
        initial=Scope.FULL,
        label="Scope",
        required=False,  # left out: full
        help_text="At most your role allows, as it is at each call.",
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires_in") or ""
        return timezone.now() + timedelta(days=int(days)) if days else None


_NEW_KEY_SESSION = "portal_new_api_key"


@require_http_methods(["GET", "POST"])
@portal_view(Action.KEYS_READ)
def key_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, raw = tenancy.create_api_key(
                principal,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"] or Scope.FULL,
                expires_at=form.expires_at(),
                actor=tenancy.actor_for(principal, remote_addr(request)),
            )
        except InvalidArgument as exc:
            for v in exc.violations:
                form.add_error(None, f"{v.field}: {v.description}")
        else:
            request.session[_NEW_KEY_SESSION] = raw
            messages.success(
                request, f"Key “{key.name}” created. Copy it now: it is not shown again."
            )
            return redirect("portal:key-list")
    response = render(
        request,
        "portal/api_keys.html",
        base_context(
            principal,
            form=form,
            raw_key=request.session.pop(_NEW_KEY_SESSION, None),
            keys=tenancy.api_keys_for(principal),
        ),
        status=400 if form.errors else 200,
    )
    # The raw key must not linger in any cache.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_view(Action.KEYS_REVOKE_OWN)  # the least; revoke_api_key decides by whose key it is
def key_revoke(request: HttpRequest, principal: Principal, key_id: int) -> HttpResponse:
    tenancy.revoke_api_key(
        principal, key_id, actor=tenancy.actor_for(principal, remote_addr(request))
    )
    messages.success(request, "Key revoked: calls with it are refused from now on.")
    return redirect("portal:key-list")
