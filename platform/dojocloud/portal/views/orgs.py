"""Organizations: switching the one the portal acts for (users may belong to several), and
founding a new one (any signed-in user; they become its owner)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dojocloud.common.errors import InvalidArgument, PermissionDenied
from dojocloud.portal.accounts import client_address
from dojocloud.portal.views.common import ORG_SESSION_KEY
from dojocloud.tenancy import facade as tenancy
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


class OrganizationForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Acme Robotics"}),
    )
    slug = forms.CharField(
        max_length=63,
        label="Short name",
        help_text=f"In every resource name (organizations/<short name>/jobs/…): {tenancy.SLUG_RULE}.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. acme"}),
    )


@require_http_methods(["GET", "POST"])
@login_required(login_url="portal:login")
def org_new(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = tenancy.create_own_organization(
                request.user,
                slug=form.cleaned_data["slug"],
                name=form.cleaned_data["name"],
                source=client_address(request),
            )
        except InvalidArgument as exc:
            for v in exc.violations:
                form.add_error(v.field if v.field in form.fields else None, v.description)
        else:
            request.session[ORG_SESSION_KEY] = org.slug
            messages.success(request, f"Organization {org.slug} created: you are its owner.")
            return redirect("portal:member-list")
    status = 400 if form.errors else 200
    return render(request, "portal/org_new.html", {"form": form}, status=status)
