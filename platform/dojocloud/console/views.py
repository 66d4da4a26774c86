"""The fleet overview page: operators only (console.access). Its operator forms post to console.actions."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dojocloud.console.access import console_view
from dojocloud.console.fleet import fleet_snapshot
from dojocloud.scheduling.facade import list_quotas


@console_view
def overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/overview.html",
        {"fleet": fleet_snapshot(request.GET.get("map", "state")), "quotas": list_quotas()},
    )
