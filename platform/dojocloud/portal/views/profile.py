"""The user's profile: the time zone every page shows times in (UTC until chosen)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dojocloud.portal import timezones
from dojocloud.portal.models import DEFAULT_TIME_ZONE, Profile, available_time_zones


def _zone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(available_time_zones())]


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(
        choices=_zone_choices,
        label="Time zone",
        help_text="Every time the portal shows is in this zone, with its abbreviation.",
    )


@require_http_methods(["GET", "POST"])
@login_required(login_url="portal:login")
def profile(request: HttpRequest) -> HttpResponse:
    current = timezones.zone_for(request)
    form = ProfileForm(request.POST or None, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["time_zone"]
        Profile.objects.update_or_create(
            user=request.user,  # type: ignore[misc]  # login_required: a User
            defaults={"time_zone": name},
        )
        timezones.remember(request, name)
        messages.success(request, f"Times are now shown in {name}.")
        return redirect("portal:profile")
    return render(
        request,
        "portal/profile.html",
        {"form": form, "current": current, "default": DEFAULT_TIME_ZONE},
        status=400 if form.errors else 200,
    )
