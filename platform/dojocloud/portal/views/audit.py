"""The organization's audit log: owners and admins (audit.read), filtered, paged, and
exported as CSV (streamed, every matching row). Only the caller's organization's rows: the
filter is bound to its id here, never taken from the query string, plus the caller's own
account rows (their sign-up, sign-ins: rows of no organization), never another member's."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dojocloud.audit import facade as audit
from dojocloud.portal.views.common import base_context, portal_view
from dojocloud.tenancy.facade import Action, Principal

PAGE_SIZE = 50


def _filter(form: audit.AuditFilterForm, principal: Principal) -> audit.AuditFilter:
    user_id = principal.user.pk if principal.user is not None else None
    return form.to_filter(principal.organization.pk, account_of=user_id)


@require_GET
@portal_view(Action.AUDIT_READ)
def audit_log(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = audit.AuditFilterForm(request.GET)
    flt = _filter(form, principal) if form.is_valid() else None
    context = audit.page_context(request, form, flt, page_size=PAGE_SIZE)
    return render(
        request,
        "portal/audit_log.html",
        base_context(principal, csv_url=reverse("portal:audit-csv"), **context),
        status=400 if form.errors else 200,
    )


@require_GET
@portal_view(Action.AUDIT_READ)
def audit_csv(request: HttpRequest, principal: Principal) -> HttpResponse | StreamingHttpResponse:
    form = audit.AuditFilterForm(request.GET)
    if not form.is_valid():
        return audit.bad_filter(form.errors)
    flt = _filter(form, principal)
    return audit.csv_response(flt, principal.organization.slug)
