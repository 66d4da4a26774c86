"""The Billing pages: this month's spend (a per-day, per-pool chart drawn as server-side
SVG, a forecast to the month's end, the costliest jobs), the invoices, one invoice (print
CSS makes it a clean page) and its CSV. Owners and admins (usage.read)."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dojocloud.billing import facade as billing
from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.portal.charts import spend_chart
from dojocloud.portal.views.common import base_context, portal_view
from dojocloud.tenancy.facade import Action, Principal


def _month_or_404(text: str) -> date:
    try:
        return billing.parse_month(text)
    except InvalidArgument:
        raise NotFound(f"invoices/{text[:20]}") from None


@require_GET
@portal_view(Action.USAGE_READ)
def billing_overview(request: HttpRequest, principal: Principal) -> HttpResponse:
    now = timezone.now()
    raw = request.GET.get("month", "")
    month = _month_or_404(raw) if raw else billing.month_of(now)
    summary = billing.month_summary(principal.organization, month, now=now)
    context = base_context(
        principal,
        summary=summary,
        chart=spend_chart(summary),
        total=billing.usd(summary.total_cents),
        forecast=billing.usd(summary.forecast_cents),
        pools=[(p, billing.usd(c)) for p, c in sorted(summary.pool_cents.items())],
        top_jobs=[(j, billing.usd(j.amount_cents)) for j in summary.top_jobs],
        prices=[(p, billing.per_hour(p.on_demand_rate)) for p in billing.current_prices(now)],
    )
    return render(request, "portal/billing.html", context)


@require_GET
@portal_view(Action.USAGE_READ)
def invoice_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    invoices = billing.list_invoices(principal.organization)
    rows = [(i, billing.usd(i.total_cents)) for i in invoices]
    return render(request, "portal/invoices.html", base_context(principal, invoices=rows))


@require_GET
@portal_view(Action.USAGE_READ)
def invoice_detail(request: HttpRequest, principal: Principal, month: str) -> HttpResponse:
    invoice = billing.get_invoice(principal.organization, _month_or_404(month))
    lines = [(ln, billing.usd(ln.amount_cents)) for ln in billing.lines_of(invoice)]
    context = base_context(
        principal, invoice=invoice, lines=lines, total=billing.usd(invoice.total_cents)
    )
    return render(request, "portal/invoice.html", context)


@require_GET
@portal_view(Action.USAGE_READ)
def invoice_csv(request: HttpRequest, principal: Principal, month: str) -> HttpResponse:
    invoice = billing.get_invoice(principal.organization, _month_or_404(month))
    response = HttpResponse(billing.csv_text(invoice), content_type="text/csv; charset=utf-8")
    name = f"invoice-{principal.organization.slug}-{invoice.period}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
