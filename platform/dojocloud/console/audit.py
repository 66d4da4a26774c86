"""The whole audit log for operators (the console grant): every organization's rows, the
fleet's actions and sign-ins, filtered by organization, event, who and dates; paged and
exported as CSV with the same filters."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dojocloud.audit import facade as audit
from dojocloud.console.access import console_view
from dojocloud.tenancy.facade import Organization

PAGE_SIZE = 100


class OrgForm(forms.Form):
    org = forms.CharField(
        required=False,
        max_length=63,
        label="Organization",
        widget=forms.TextInput(attrs={"placeholder": "slug; blank: all"}),
    )

    def clean_org(self) -> int | None:
        """The organization's id (None: every row, also those of no organization)."""
        slug = (self.cleaned_data.get("org") or "").strip()
        if not slug:
            return None
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise forms.ValidationError(f"no organization {slug!r}")
        return int(org.pk)


def _parse(
    request: HttpRequest,
) -> tuple[audit.AuditFilterForm, OrgForm, audit.AuditFilter | None]:
    form, org = audit.AuditFilterForm(request.GET), OrgForm(request.GET)
    valid = org.is_valid() & form.is_valid()  # both, so both show their errors
    return form, org, form.to_filter(org.cleaned_data["org"]) if valid else None


@console_view
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form, org, flt = _parse(request)
    context = audit.page_context(request, form, flt, page_size=PAGE_SIZE)
    context.update(org_field=org["org"], csv_url=reverse("console:audit-csv"))
    bad = bool(form.errors or org.errors)
    return render(request, "console/audit_log.html", context, status=400 if bad else 200)


@console_view
@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form, org, flt = _parse(request)
    if flt is None:
        return audit.bad_filter({**org.errors, **form.errors})
    return audit.csv_response(flt, "all")
