"""The console's one gate: tenancy's console grant (active staff), checked on every request.
Anyone else is sent to the admin login, as Django's admin does."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import user_passes_test
from django.http.response import HttpResponseBase

from dojocloud.tenancy.facade import console_allows

CONSOLE = "console"  # the grant a console view requires (its `grant` attribute)


def console_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    gated = user_passes_test(console_allows, login_url="admin:login")(view)
    gated.grant = CONSOLE  # type: ignore[attr-defined]
    return gated
