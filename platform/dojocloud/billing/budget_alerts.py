"""Budget alerts: once per threshold per organization and month, recorded in
BudgetAlertSent (the unique row is what makes a second check send nothing), mailed to the
organization's owners and admins through Django's mail backend and published on
billing.ports.budget_alerted for the apps above (webhooks), both after the commit."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Sum

from dojocloud.billing import budget_rules as rules
from dojocloud.billing.models import Budget, BudgetAlertSent, UsageRecord
from dojocloud.billing.money import from_micros
from dojocloud.billing.periods import end, month_of, start
from dojocloud.billing.ports import BudgetAlert, budget_alerted
from dojocloud.tenancy.facade import Membership, Organization, Role

log = logging.getLogger(__name__)


def check(organization_id: int, now: datetime) -> list[int]:
    """Records every threshold this month's spend has newly crossed and, after the commit,
    mails and publishes each; returns those thresholds. Call inside a transaction."""
    budget = Budget.objects.filter(organization_id=organization_id).first()
    if budget is None:
        return []
    month = month_of(now)
    spent = month_spend_micros(organization_id, now)
    due = rules.crossed(budget.alert_percents, spent, budget.monthly_micros)
    done = set(
        BudgetAlertSent.objects.filter(organization_id=organization_id, month=month).values_list(
            "threshold_percent", flat=True
        )
    )
    new = []
    for percent in due:
        if percent in done:
            continue
        try:
            with transaction.atomic():
                BudgetAlertSent.objects.create(
                    organization_id=organization_id,
                    month=month,
                    threshold_percent=percent,
                    spent_micros=spent,
                    budget_micros=budget.monthly_micros,
                )
        except IntegrityError:  # a concurrent check recorded it: it sends, not us
            continue
        alert = BudgetAlert(
            organization_id=organization_id,
            month=f"{month:%Y-%m}",
            threshold_percent=percent,
            spent=from_micros(spent),
            budget=from_micros(budget.monthly_micros),
            cap_reached=rules.cap_reached(spent, budget.monthly_micros, budget.hard_cap),
        )
        transaction.on_commit(lambda a=alert: deliver(a))  # type: ignore[misc]
        new.append(percent)
    return new


def month_spend_micros(organization_id: int, now: datetime) -> int:
    """Spend: the rated ledger's amount of the organization's rows that ended in `now`'s
    UTC month (budgets' Decision: the ledger only, nothing estimated)."""
    month = month_of(now)
    total = UsageRecord.objects.filter(
        organization_id=organization_id, ended_at__gte=start(month), ended_at__lt=end(month)
    ).aggregate(m=Sum("amount_micros"))["m"]
    return int(total or 0)


def recipients(organization_id: int) -> list[str]:
    """The e-mail addresses of the organization's active owners and admins."""
    emails = Membership.objects.filter(
        organization_id=organization_id,
        role__in=[Role.OWNER, Role.ADMIN],
        user__is_active=True,
    ).values_list("user__email", flat=True)
    return sorted({e for e in emails if e})


def message(org: Organization, alert: BudgetAlert) -> tuple[str, str]:
    """(subject, body) of an alert mail."""
    subject = (
        f"Dojo Cloud: {org.name} reached {alert.threshold_percent}% of its {alert.month} budget"
    )
    lines = [
        f"Organization {org.name} (organizations/{org.slug}) has spent ${alert.spent:.2f} of "
        f"its ${alert.budget:.2f} monthly budget for {alert.month} (UTC), "
        f"{alert.threshold_percent}% threshold.",
    ]
    if alert.cap_reached:
        lines.append(
            "The hard cap is reached: running jobs are being checkpointed and held "
            f"({rules.BUDGET_EXHAUSTED}); they resume when the budget is raised "
            "(`dojo billing budget set --monthly USD`) or the next month starts."
        )
    return subject, "\n\n".join(lines) + "\n"


def deliver(alert: BudgetAlert) -> None:
    """After the commit: the mail to owners and admins, then the signal (webhooks)."""
    org = Organization.objects.get(pk=alert.organization_id)
    to = recipients(alert.organization_id)
    if to:
        subject, body = message(org, alert)
        try:
            send_mail(subject, body, None, to)
        except OSError as exc:  # the alert stays recorded; the mail server said no
            log.error("budget alert mail for %s not sent: %s", org.slug, exc)
        else:
            BudgetAlertSent.objects.filter(
                organization_id=alert.organization_id,
                month__year=int(alert.month[:4]),
                month__month=int(alert.month[5:]),
                threshold_percent=alert.threshold_percent,
            ).update(emailed=len(to))
    budget_alerted.send(sender=BudgetAlert, alert=alert)
