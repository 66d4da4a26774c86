"""Each request renders times in the signed-in user's time zone (their profile; UTC when
they have not chosen one), so every timestamp a page shows can carry its zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from dojocloud.portal.models import DEFAULT_TIME_ZONE, Profile

SESSION_KEY = "portal_tz"  # the profile's zone, cached for the session: no query a page


def zone_for(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return DEFAULT_TIME_ZONE
    cached = request.session.get(SESSION_KEY)
    if isinstance(cached, str):
        return cached
    name = (
        Profile.objects.filter(user=user).values_list("time_zone", flat=True).first()
        or DEFAULT_TIME_ZONE
    )
    request.session[SESSION_KEY] = name
    return name


def remember(request: HttpRequest, name: str) -> None:
    request.session[SESSION_KEY] = name


class TimeZoneMiddleware:
    """After authentication: activates the user's zone for the request's rendering."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone_for(request)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
