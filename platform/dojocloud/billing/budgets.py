"""Monthly budgets: reading and setting one (audited), the month's spend against it, the
admission check for a new job, and which organizations are at their hard cap.

What "spend" is (the Decision, stated in the README): the rated ledger's amount for rows
that ended this UTC calendar month, nothing estimated. It moves when a segment ends, so a
running job can overshoot the cap by at most its current segment; that segment's
checkpoint is what the job resumes from. The cap is the budget itself when `hard_cap` is
on (the default); off, the budget only alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.billing import budget_alerts
from dojocloud.billing import budget_rules as rules
from dojocloud.billing.budget_alerts import month_spend_micros
from dojocloud.billing.models import Budget, BudgetAlertSent, RateKind, UsageRecord
from dojocloud.billing.money import amount_micros, micros
from dojocloud.billing.periods import end, month_of, start
from dojocloud.billing.prices import current_prices
from dojocloud.common.errors import InvalidArgument, ResourceExhausted
from dojocloud.common.inventory import inventory
from dojocloud.jobs.facade import JobAdmission
from dojocloud.tenancy.facade import Organization


class BudgetExhausted(ResourceExhausted):
    """A job refused because its estimate exceeds what is left of the budget: not worth
    retrying until the budget is raised or a new month starts."""

    retryable = False
    reason = rules.BUDGET_EXHAUSTED


@dataclass(frozen=True)
class BudgetView:
    organization: str  # slug
    month: datetime  # the first instant of the month, UTC
    monthly_micros: int | None  # None: no budget
    alert_percents: tuple[int, ...]
    hard_cap: bool
    spent_micros: int
    alerted: tuple[int, ...]
    updated_at: datetime | None
    updated_by: str

    @property
    def remaining_micros(self) -> int | None:
        if self.monthly_micros is None:
            return None
        return rules.remaining(self.spent_micros, self.monthly_micros)

    @property
    def cap_reached(self) -> bool:
        return rules.cap_reached(self.spent_micros, self.monthly_micros, self.hard_cap)

    @property
    def percent_spent(self) -> float | None:
        if not self.monthly_micros:
            return None
        return 100.0 * self.spent_micros / self.monthly_micros


def get_budget(org: Organization, now: datetime | None = None) -> BudgetView:
    now = now or timezone.now()
    month = month_of(now)
    budget = Budget.objects.filter(organization=org).first()
    alerted = BudgetAlertSent.objects.filter(organization=org, month=month).values_list(
        "threshold_percent", flat=True
    )
    return BudgetView(
        organization=org.slug,
        month=start(month),
        monthly_micros=budget.monthly_micros if budget else None,
        alert_percents=tuple(budget.alert_percents) if budget else rules.DEFAULT_ALERTS,
        hard_cap=budget.hard_cap if budget else False,
        spent_micros=month_spend_micros(org.pk, now),
        alerted=tuple(sorted(alerted)),
        updated_at=budget.updated_at if budget else None,
        updated_by=budget.updated_by if budget else "",
    )


def set_budget(
    org: Organization,
    *,
    monthly_usd: str,
    alert_percents: list[int],
    hard_cap: bool,
    actor: Actor,
) -> BudgetView:
    """Sets (or, with an empty amount, removes) the budget; audited as budget.set. Alerts
    already due at the new figures go out at once; held jobs resume on the scheduler's next
    pass when spend is below the new cap."""
    amount, errors = rules.parse_budget(monthly_usd)
    alerts, alert_errors = rules.parse_alerts(alert_percents)
    if errors or alert_errors:
        raise InvalidArgument(errors + alert_errors)
    now = timezone.now()
    with transaction.atomic():
        before = Budget.objects.select_for_update().filter(organization=org).first()
        was = _audit_view(before)
        if amount is None:
            Budget.objects.filter(organization=org).delete()
        else:
            Budget.objects.update_or_create(
                organization=org,
                defaults={
                    "monthly_micros": amount,
                    "alert_percents": alerts,
                    "hard_cap": hard_cap,
                    "updated_by": actor.label[:200],
                    "updated_at": now,
                },
            )
        after = _audit_view(Budget.objects.filter(organization=org).first())
        record(
            AuditAction.BUDGET_SET,
            actor=actor,
            org_slug=org.slug,
            organization_id=org.pk,
            target=f"organizations/{org.slug}/budget",
            before=was,
            after=after,
        )
        budget_alerts.check(org.pk, now)
    return get_budget(org, now)


def _audit_view(budget: Budget | None) -> dict[str, object] | None:
    if budget is None:
        return None
    return {
        "monthly_usd": rules.usd_text(budget.monthly_micros),
        "alert_percents": list(budget.alert_percents),
        "hard_cap": budget.hard_cap,
    }


def organizations_at_cap(now: datetime | None = None) -> dict[str, str]:
    """slug -> the BUDGET_EXHAUSTED reason, for every organization at its hard cap this
    month (the scheduler holds their jobs). One query for the budgets, one for the spend."""
    now = now or timezone.now()
    month = month_of(now)
    budgets = {
        b.organization_id: b
        for b in Budget.objects.filter(hard_cap=True).select_related("organization")
    }
    if not budgets:
        return {}
    spent = dict(
        UsageRecord.objects.filter(
            organization_id__in=list(budgets), ended_at__gte=start(month), ended_at__lt=end(month)
        )
        .values_list("organization_id")
        .annotate(m=Sum("amount_micros"))
        .values_list("organization_id", "m")
    )
    out = {}
    for oid, b in budgets.items():
        used = int(spent.get(oid) or 0)
        if rules.cap_reached(used, b.monthly_micros, True):
            out[b.organization.slug] = held_reason(b.organization.slug, used, b.monthly_micros)
    return out


def held_reason(slug: str, spent_micros: int, budget_micros: int) -> str:
    return (
        f"{rules.BUDGET_EXHAUSTED}: organizations/{slug} spent ${rules.usd_text(spent_micros)} "
        f"of its ${rules.usd_text(budget_micros)} monthly budget (the hard cap); it resumes "
        "when the budget is raised or the next month starts"
    )


def job_cost_micros(event: JobAdmission) -> int:
    """The job's estimated amount: its modelled device-seconds at the dearest current rate
    of the pools serving its accelerator (preemptible rate for a preemptible job)."""
    kind = RateKind.PREEMPTIBLE if event.preemptible else RateKind.ON_DEMAND
    pools = {p for p, a in inventory().pools().items() if a == event.accelerator}
    rates = [e.rate(kind) for e in current_prices() if e.pool in pools]
    rate = max(rates, default=Decimal(0))
    return amount_micros(micros(event.device_seconds()), rate)


def on_job_admitting(event: JobAdmission) -> None:
    """billing's reaction to jobs' job_admitting port: refuse a job whose estimate exceeds
    what is left of a hard-capped budget (RESOURCE_EXHAUSTED, QuotaFailure on the budget)."""
    budget = Budget.objects.filter(organization_id=event.organization_id, hard_cap=True).first()
    if budget is None:
        return
    spent = month_spend_micros(event.organization_id, timezone.now())
    left = rules.remaining(spent, budget.monthly_micros)
    cost = job_cost_micros(event)
    if cost <= left and not rules.cap_reached(spent, budget.monthly_micros, True):
        return
    raise BudgetExhausted(
        f"{rules.BUDGET_EXHAUSTED}: the job's estimated cost ${rules.usd_text(cost)} exceeds "
        f"what is left of the monthly budget of organizations/{event.organization_slug}: "
        f"${rules.usd_text(left)} (budget ${rules.usd_text(budget.monthly_micros)}, spent "
        f"${rules.usd_text(spent)} this month); raise it with `dojo billing budget set`",
        subject=f"organizations/{event.organization_slug}/budget",
    )
