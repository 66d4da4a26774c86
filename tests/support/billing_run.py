"""An example job run short through the real segment path without a worker process (the
caller stands in for Celery), then its bill beside its estimate: what the `estimate_vs_bill`
test and benchmark compare. Needs a migrated database with the dev inventory synced."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db.models import Sum

from dojo import specfile
from dojocloud.billing.facade import UsageRecord, accelerator_prices
from dojocloud.common.inventory import inventory
from dojocloud.execution import segments
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling.store import DatabaseStore
from dojocloud.tenancy.facade import Principal
from tests.support.people import admit


@dataclass(frozen=True)
class BillVsEstimate:
    example: str
    accelerator: str
    count: int
    billed_device_seconds: Decimal
    estimated_device_seconds: float
    billed_usd: Decimal  # quantity x rate, unrounded (the ledger rounds each row to $1e-6)
    estimated_usd: float

    @property
    def ratio(self) -> float:
        return float(self.billed_device_seconds) / self.estimated_device_seconds


def bill_example(owner: Principal, path: Path, *, steps: int) -> BillVsEstimate:
    spec = specfile.load(str(path))
    spec.training.steps = steps
    spec.training.checkpoint_interval = max(1, steps // 2)  # two segments: rows add up
    del spec.resources.accelerators[1:]  # the first type: the one the job is placed on
    job = jobs.create_job(owner, spec)
    count = job.device_count
    tiles = [t.id for t in inventory().tiles][:count]
    admit(job, tiles, store=DatabaseStore(), reason="bill vs estimate")
    for _ in range(steps + 2):
        job = Job.objects.get(id=job.id)
        if job.is_final:
            break
        segments.run_segment(job.id, job.dispatch_token)
    job = Job.objects.get(id=job.id)
    assert job.state == "SUCCEEDED", (path.name, job.state, job.state_reason)
    rows = UsageRecord.objects.filter(job=job)
    billed = Decimal(rows.aggregate(q=Sum("billed_micros"))["q"] or 0).scaleb(-6)
    rate = rows.first().rate  # type: ignore[union-attr]
    (row,) = [
        r
        for r in jobs.estimate_job(owner, spec, prices=accelerator_prices())
        if (r.accelerator, r.count) == (job.accelerator, len(job.devices))
    ]
    return BillVsEstimate(
        path.stem,
        job.accelerator,
        len(job.devices),
        billed,
        row.count * row.total_seconds,
        billed * rate,
        row.cost_usd,
    )
