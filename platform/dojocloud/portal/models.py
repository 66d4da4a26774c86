"""The portal's one table: each user's display preferences. Presentation only (nothing
below the portal reads it), so it lives with the pages that use it."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

DEFAULT_TIME_ZONE = "UTC"


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Berlin")


def available_time_zones() -> set[str]:
    return zoneinfo.available_timezones() | {DEFAULT_TIME_ZONE}


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile"
    )
    # An IANA name; pages show every time in it, with its abbreviation.
    time_zone = models.CharField(
        max_length=64, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"
