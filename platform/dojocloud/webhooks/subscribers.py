"""What webhooks listens to, connected in AppConfig.ready(): a job's final state (jobs'
`job_finished` port, inside the transaction that moved the job, so its deliveries commit with
the state), billing's budget alerts and finalized invoices (signals sent after their commit).
Each turns the moment into an event's data and queues it to the organization's endpoints."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from dojocloud.billing.facade import (
    BudgetAlert,
    InvoiceFinalized,
    budget_alerted,
    invoice_finalized,
)
from dojocloud.jobs.facade import Job, JobFinished, job_finished
from dojocloud.tenancy.facade import Organization
from dojocloud.webhooks import services
from dojocloud.webhooks.events import JOB_STATE_EVENTS, EventType


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def job_data(job: Job, event: JobFinished) -> dict[str, Any]:
    failure = event.detail.get("failure")
    return {
        "job": {
            "id": job.id,
            "name": job.name,
            "resource_name": f"organizations/{job.organization.slug}/jobs/{job.id}",
            "state": event.state,
            "reason": event.reason,
            "failure": str(failure) if failure else None,
            "pool": job.pool or None,
            "accelerator": job.accelerator or None,
            "device_count": job.device_count,
            "steps": job.total_steps,
            "created_at": _iso(job.created_at),
            "ended_at": _iso(event.at),
        }
    }


def on_job_finished(event: JobFinished) -> None:
    job = Job.objects.select_related("organization").get(id=event.job_id)
    services.publish(
        job.organization, JOB_STATE_EVENTS[event.state], job_data(job, event), event.at
    )


def on_budget_alert(sender: object, alert: BudgetAlert, **_: object) -> None:
    data = {
        "month": alert.month,
        "threshold_percent": alert.threshold_percent,
        "spent_usd": f"{alert.spent:f}",
        "budget_usd": f"{alert.budget:f}",
        "cap_reached": alert.cap_reached,
    }
    org = Organization.objects.get(id=alert.organization_id)
    with transaction.atomic():
        services.publish(org, EventType.BUDGET_ALERT, data)


def on_invoice_finalized(sender: object, invoice: InvoiceFinalized, **_: object) -> None:
    data = {
        "invoice": {
            "number": invoice.number,
            "month": invoice.month,
            "total_usd": f"{invoice.total_cents / 100:.2f}",
            "total_cents": invoice.total_cents,
        }
    }
    org = Organization.objects.get(id=invoice.organization_id)
    with transaction.atomic():
        services.publish(org, EventType.INVOICE_FINALIZED, data)


def connect() -> None:
    job_finished.subscribe("webhooks", on_job_finished)
    budget_alerted.connect(on_budget_alert, dispatch_uid="webhooks.budget_alert")
    invoice_finalized.connect(on_invoice_finalized, dispatch_uid="webhooks.invoice_finalized")
