"""The reference page: each architecture of the runtime catalog with its parameters and
their limits, and the built-in datasets with the architectures they suit."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dojocloud.jobs import facade as jobs
from dojocloud.portal.views.common import base_context, portal_view
from dojocloud.tenancy.facade import Action, Principal


@require_GET
@portal_view(Action.JOBS_READ)
def reference(request: HttpRequest, principal: Principal) -> HttpResponse:
    return render(
        request,
        "portal/reference.html",
        base_context(
            principal,
            architectures=list(jobs.ARCHITECTURE_CATALOG.values()),
            datasets=[
                {"entry": d, "task": d.task.replace("_", " ")}
                for d in jobs.DATASET_CATALOG.values()
            ],
        ),
    )
