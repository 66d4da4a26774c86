"""API keys page: create, list, revoke. The raw key is shown once: the create stores it in
the session, the redirect's GET takes it out again (so a reload neither shows it again nor
creates a second key)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dojocloud.portal.views.common import base_context, portal_view
from dojocloud.tenancy import facade as tenancy
from dojocloud.tenancy.facade import Principal


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, label="Key name",
                           widget=forms.TextInput(attrs={"placeholder": "e.g. ci-pipeline"}))


_NEW_KEY_SESSION = "portal_new_api_key"


@require_http_methods(["GET", "POST"])
@portal_view
def key_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw = tenancy.create_api_key(principal, name=form.cleaned_data["name"])
        request.session[_NEW_KEY_SESSION] = raw
        messages.success(request, f"Key “{key.name}” created. Copy it now: it is not "
                                  "shown again.")
        return redirect("portal:key-list")
    response = render(request, "portal/api_keys.html", base_context(
        principal, form=form, raw_key=request.session.pop(_NEW_KEY_SESSION, None),
        keys=tenancy.api_keys_for(principal)), status=400 if form.errors else 200)
    # The raw key must not linger in any cache.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@portal_view
def key_revoke(request: HttpRequest, principal: Principal, key_id: int) -> HttpResponse:
    tenancy.revoke_api_key(principal, key_id)
    messages.success(request, "Key revoked: calls with it are refused from now on.")
    return redirect("portal:key-list")
