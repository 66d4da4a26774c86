"""The fleet overview page: staff only. Its operator forms post to console.actions."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dojocloud.console.fleet import fleet_snapshot
from dojocloud.scheduling.facade import list_quotas


@staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "console/overview.html", {"fleet": fleet_snapshot(),
                                                     "quotas": list_quotas()})
