"""The Billing pages: this month's spend (a per-day, per-pool chart drawn as server-side
SVG, a forecast to the month's end, the costliest jobs), the invoices, one invoice (print
CSS makes it a clean page) and its CSV. Owners and admins (usage.read)."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dojocloud.billing import facade as billing
from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.portal.charts import spend_chart
from dojocloud.portal.views.common import base_context, portal_view, remote_addr
from dojocloud.scheduling.facade import wake
from dojocloud.tenancy.facade import Action, Principal, actor_for, allows


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
        **_budget_context(principal, billing.get_budget(principal.organization, now)),
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


def _alert_list(text: str) -> list[int] | None:
    try:
        return [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        return None


@require_POST
@portal_view(Action.BUDGET_SET)
def budget_set(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The Billing page's budget form (owners and admins): set, or with an empty amount
    remove, the monthly budget; the scheduler is woken so a raised cap resumes held jobs."""
    alerts = _alert_list(request.POST.get("alert_percents", ""))
    if alerts is None:
        messages.error(request, "Alerts: percents separated by commas, e.g. 50,80,100.")
        return redirect("portal:billing")
    try:
        view = billing.set_budget(
            principal.organization,
            monthly_usd=request.POST.get("monthly_usd", ""),
            alert_percents=alerts,
            hard_cap=request.POST.get("hard_cap") == "on",
            actor=actor_for(principal, remote_addr(request)),
        )
    except InvalidArgument as err:
        for v in err.violations:
            messages.error(request, f"{v.field}: {v.description}")
        return redirect("portal:billing")
    wake()
    if view.monthly_micros is None:
        messages.success(request, "Budget removed: spend is no longer capped.")
    else:
        messages.success(request, f"Budget set: ${budget_usd(view.monthly_micros)} a month.")
    return redirect("portal:billing")


def budget_usd(micros: int | None) -> str:
    return "" if micros is None else billing.usd_micros(micros)


def _budget_context(principal: Principal, budget: billing.BudgetView) -> dict[str, object]:
    """The budget card's figures as text, and whether the reader may set it."""
    percent = budget.percent_spent
    return {
        "budget": budget,
        "budget_monthly": budget_usd(budget.monthly_micros),
        "budget_spent": budget_usd(budget.spent_micros),
        "budget_left": budget_usd(budget.remaining_micros),
        "budget_percent": None if percent is None else round(percent, 1),
        "budget_bar": None if percent is None else min(100, round(percent)),
        "budget_alerts": ",".join(str(p) for p in budget.alert_percents),
        "can_set_budget": allows(principal, Action.BUDGET_SET),
    }
