"""BillingService servicer: authorise (each method's @rpc action), parse, call billing's
facade, map to the wire. Money crosses as decimal strings: Decimal in, Decimal out.

Customers read their own organization (a `parent` of another one is NOT_FOUND); operators
(tenancy's operator grant, billing.act) set prices and adjust any tenant's draft invoice,
recorded in the audit trail as "<key label>@<org>"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import grpc
from django.utils import timezone
from google.protobuf import timestamp_pb2

from dojo.v1 import billing_pb2 as pb
from dojo.v1 import billing_pb2_grpc
from dojocloud.api.auth import rpc
from dojocloud.api.mappers import check_parent
from dojocloud.audit.facade import Actor
from dojocloud.billing import facade as billing
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.scheduling.facade import wake
from dojocloud.tenancy.facade import Action, Organization, Principal, allows

# --- mapper: billing's rows and results -> wire --------------------------------------------


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


def price_to_proto(p: billing.PriceEntry) -> pb.Price:
    return pb.Price(
        pool=p.pool,
        effective_time=_ts(p.effective_from),
        on_demand_usd_per_device_second=f"{p.on_demand_rate:f}",
        preemptible_usd_per_device_second=f"{p.preemptible_rate:f}",
        hardware=p.hardware,
        set_by=p.set_by,
        reason=p.reason,
    )


def price_from_proto(p: pb.Price, now: datetime) -> billing.PriceSpec:
    rates = {}
    violations = []
    for name, text in (
        ("on_demand_usd_per_device_second", p.on_demand_usd_per_device_second),
        ("preemptible_usd_per_device_second", p.preemptible_usd_per_device_second),
    ):
        try:
            rates[name] = billing.parse_rate(text, f"price.{name}")
        except billing.MoneyError as exc:
            field, _, why = str(exc).partition(": ")
            violations.append(FieldViolation(field, why))
    if violations:
        raise InvalidArgument(violations)
    start = p.effective_time.ToDatetime(tzinfo=UTC) if p.HasField("effective_time") else now
    return billing.PriceSpec(
        p.pool.strip(),
        rates["on_demand_usd_per_device_second"],
        rates["preemptible_usd_per_device_second"],
        p.hardware.strip(),
        start,
    )


def line_to_proto(org: str, ln: billing.InvoiceLine) -> pb.InvoiceLine:
    return pb.InvoiceLine(
        position=ln.position,
        kind=ln.kind,
        job=f"organizations/{org}/jobs/{ln.job_id}" if ln.job_id else "",
        pool=ln.pool,
        description=ln.description,
        quantity=f"{ln.quantity:f}" if ln.unit else "",
        unit=ln.unit,
        rate_usd=f"{ln.rate:f}" if ln.unit else "",
        amount_usd=billing.usd(ln.amount_cents),
        reason=ln.reason,
        created_by=ln.created_by,
    )


def invoice_to_proto(inv: billing.Invoice, *, lines: bool) -> pb.Invoice:
    org = inv.organization.slug
    out = pb.Invoice(
        name=f"organizations/{org}/invoices/{inv.period}",
        month=inv.period,
        status=inv.status,
        number=inv.display_number,
        total_usd=billing.usd(inv.total_cents),
        currency=inv.currency,
        update_time=_ts(inv.updated_at),
    )
    if inv.finalized_at is not None:
        out.finalize_time.CopyFrom(_ts(inv.finalized_at))
    if lines:
        out.lines.extend(line_to_proto(org, ln) for ln in billing.lines_of(inv))
    return out


def usage_to_proto(org: str, s: billing.MonthSummary) -> pb.MonthUsage:
    return pb.MonthUsage(
        month=f"{s.month:%Y-%m}",
        total_usd=billing.usd(s.total_cents),
        forecast_usd=billing.usd(s.forecast_cents),
        invoice_status=s.invoice_status,
        pools=[
            pb.PoolDay(
                pool=pool,
                usd_per_day=[f"{m / 1_000_000:.6f}" for m in series],
                total_usd=billing.usd(s.pool_cents.get(pool, 0)),
            )
            for pool, series in s.daily_micros.items()
        ],
        top_jobs=[
            pb.JobCost(
                job=f"organizations/{org}/jobs/{j.job_id}",
                job_name=j.job_name,
                amount_usd=billing.usd(j.amount_cents),
                device_seconds=f"{j.quantity_micros / 1_000_000:.6f}",
            )
            for j in s.top_jobs
        ],
    )


def budget_to_proto(b: billing.BudgetView) -> pb.Budget:
    out = pb.Budget(
        organization=f"organizations/{b.organization}",
        monthly_usd=_micros_usd(b.monthly_micros),
        alert_percents=list(b.alert_percents),
        hard_cap=b.hard_cap,
        month=f"{b.month:%Y-%m}",
        spent_usd=_micros_usd(b.spent_micros),
        remaining_usd=_micros_usd(b.remaining_micros),
        cap_reached=b.cap_reached,
        alerted_percents=list(b.alerted),
        updated_by=b.updated_by,
    )
    if b.updated_at is not None:
        out.update_time.CopyFrom(_ts(b.updated_at))
    return out


def _micros_usd(value: int | None) -> str:
    return "" if value is None else f"{value / 1_000_000:.6f}"


def _budget_org(principal: Principal, parent: str, operators: Action) -> Organization:
    """The caller's organization; operators (`operators`: operator.read to read,
    billing.act to set) may name any organization by its parent."""
    slug = parent.strip().removeprefix("organizations/")
    if parent.strip() and slug != principal.organization.slug and allows(principal, operators):
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise NotFound(f"organizations/{slug}")
        return org
    check_parent(principal, parent)
    return principal.organization


def _month(text: str, *, default: date | None = None) -> date:
    if not text.strip() and default is not None:
        return default
    return billing.parse_month(text)


def _actor(principal: Principal, context: grpc.ServicerContext) -> Actor:
    user = principal.user
    return Actor(
        label=f"{principal.label}@{principal.organization.slug}",
        user_id=user.pk if user is not None else None,
        source=context.peer() or "",
    )


# --- servicer ------------------------------------------------------------------------------


class BillingService(billing_pb2_grpc.BillingServiceServicer):
    @rpc(Action.PRICES_READ)
    def ListPrices(
        self, request: pb.ListPricesRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.ListPricesResponse:
        pool = request.pool.strip()
        if request.history:
            rows = billing.price_history(pool)
        else:
            rows = [p for p in billing.current_prices() if not pool or p.pool == pool]
        return pb.ListPricesResponse(prices=[price_to_proto(p) for p in rows])

    @rpc(Action.BILLING_ACT)
    def SetPrice(
        self, request: pb.SetPriceRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.Price:
        now = timezone.now()
        spec = price_from_proto(request.price, now)
        entry = billing.set_price(
            spec, actor=_actor(principal, context), reason=request.reason, now=now
        )
        return price_to_proto(entry)

    @rpc(Action.USAGE_READ)
    def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.MonthUsage:
        check_parent(principal, request.parent)
        now = timezone.now()
        month = _month(request.month, default=billing.month_of(now))
        org = principal.organization
        return usage_to_proto(org.slug, billing.month_summary(org, month, now=now))

    @rpc(Action.USAGE_READ)
    def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.ListInvoicesResponse:
        check_parent(principal, request.parent)
        invoices = billing.list_invoices(principal.organization)
        return pb.ListInvoicesResponse(
            invoices=[invoice_to_proto(i, lines=False) for i in invoices]
        )

    @rpc(Action.USAGE_READ)
    def GetInvoice(
        self, request: pb.GetInvoiceRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.Invoice:
        check_parent(principal, request.parent)
        invoice = billing.get_invoice(principal.organization, _month(request.month))
        return invoice_to_proto(invoice, lines=True)

    @rpc(Action.USAGE_READ)
    def ExportInvoice(
        self, request: pb.GetInvoiceRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.InvoiceExport:
        check_parent(principal, request.parent)
        invoice = billing.get_invoice(principal.organization, _month(request.month))
        filename = f"invoice-{principal.organization.slug}-{invoice.period}.csv"
        return pb.InvoiceExport(filename=filename, csv=billing.csv_text(invoice))

    @rpc(Action.BILLING_ACT)
    def AdjustInvoice(
        self,
        request: pb.AdjustInvoiceRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.InvoiceLine:
        slug = request.organization.strip()
        org = Organization.objects.filter(slug=slug).first() if slug else None
        if not slug:
            raise InvalidArgument([FieldViolation("organization", "is required")])
        if org is None:
            raise NotFound(f"organizations/{slug}")
        try:
            cents = billing.parse_cents(request.amount_usd, "amount_usd")
        except billing.MoneyError as exc:
            raise InvalidArgument([FieldViolation("amount_usd", str(exc))]) from None
        line = billing.adjust(
            org,
            _month(request.month),
            amount_cents=cents,
            reason=request.reason,
            actor=_actor(principal, context),
        )
        return line_to_proto(org.slug, line)

    @rpc(Action.USAGE_READ)
    def GetBudget(
        self, request: pb.GetBudgetRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.Budget:
        return budget_to_proto(
            billing.get_budget(_budget_org(principal, request.parent, Action.OPERATOR_READ))
        )

    @rpc(Action.BUDGET_SET)
    def SetBudget(
        self, request: pb.SetBudgetRequest, context: grpc.ServicerContext, principal: Principal
    ) -> pb.Budget:
        view = billing.set_budget(
            _budget_org(principal, request.parent, Action.BILLING_ACT),
            monthly_usd=request.monthly_usd,
            alert_percents=list(request.alert_percents),
            hard_cap=not request.no_hard_cap,
            actor=_actor(principal, context),
        )
        wake()  # a raised cap resumes held jobs on the next pass
        return budget_to_proto(view)


def add_billing_service(server: grpc.Server) -> None:
    billing_pb2_grpc.add_BillingServiceServicer_to_server(BillingService(), server)
