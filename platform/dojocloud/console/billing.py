"""The console's billing page: the price book (in force and history), a form to set a
pool's price from a time on, and a form to credit or adjust a tenant's draft invoice.
Operators only (console.access); every change is audited by billing as the staff user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dojocloud.audit.facade import Actor
from dojocloud.billing import facade as billing
from dojocloud.common.errors import DojoError, FieldViolation, InvalidArgument, NotFound
from dojocloud.console.access import console_view
from dojocloud.tenancy.facade import Organization


def _actor(request: HttpRequest) -> Actor:
    return Actor(
        label=f"user:{request.user.get_username()}",
        user_id=request.user.pk,
        source=request.META.get("REMOTE_ADDR", ""),
    )


def _done(request: HttpRequest, work: Callable[[], str]) -> HttpResponse:
    try:
        messages.success(request, work())
    except DojoError as err:
        messages.error(request, err.message)
    return redirect("console:billing")


def _rate(request: HttpRequest, field: str) -> Decimal:
    try:
        return billing.parse_rate(request.POST.get(field, ""), field)
    except billing.MoneyError as exc:
        raise InvalidArgument([FieldViolation(field, str(exc).partition(": ")[2])]) from None


def _start(request: HttpRequest, now: datetime) -> datetime:
    raw = request.POST.get("effective_from", "").strip()
    if not raw:
        return now
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidArgument([FieldViolation("effective_from", "an ISO time (UTC)")]) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@console_view
def billing_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "current": [(p, billing.per_hour(p.on_demand_rate)) for p in billing.current_prices(now)],
        "history": billing.price_history()[:200],
        "pools": billing.known_pools(),
        "month": f"{billing.month_of(now):%Y-%m}",
    }
    return render(request, "console/billing.html", context)


@console_view
@require_POST
def price_action(request: HttpRequest) -> HttpResponse:
    def work() -> str:
        now = timezone.now()
        spec = billing.PriceSpec(
            request.POST.get("pool", "").strip(),
            _rate(request, "on_demand"),
            _rate(request, "preemptible"),
            request.POST.get("hardware", "").strip(),
            _start(request, now),
        )
        entry = billing.set_price(
            spec, actor=_actor(request), reason=request.POST.get("reason", ""), now=now
        )
        return f"price of {entry.pool} from {entry.effective_from:%Y-%m-%d %H:%M} UTC set"

    return _done(request, work)


@console_view
@require_POST
def adjust_action(request: HttpRequest) -> HttpResponse:
    def work() -> str:
        slug = request.POST.get("organization", "").strip()
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise NotFound(f"organization {slug!r}")
        try:
            cents = billing.parse_cents(request.POST.get("amount", ""), "amount")
        except billing.MoneyError as exc:
            raise InvalidArgument([FieldViolation("amount", str(exc))]) from None
        month = billing.parse_month(request.POST.get("month", ""))
        line = billing.adjust(
            org,
            month,
            amount_cents=cents,
            reason=request.POST.get("reason", ""),
            actor=_actor(request),
        )
        return f"{line.kind} of USD {billing.usd(line.amount_cents)} on {slug}'s {month:%Y-%m}"

    return _done(request, work)
