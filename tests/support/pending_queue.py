"""A full dev inventory and a long queue, for the live pass's query-count test and
benchmarks/bench_live_pass.py: one running job per tile and per GPU node of the synced
inventory (started now, heartbeat fresh, so the minimum run protects them and a pass only
ranks the queue), and queued jobs of many tenants written in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User

from dojocloud.common.inventory import inventory
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, new_job_id
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Allocation
from dojocloud.tenancy.models import Organization
from dojocloud.tenancy.services import create_organization, principal_for_user
from tests.support.people import make_spec

ACCELS = (["dojo-tile"], ["gpu-a100"], ["gpu-h100"], ["gpu-a100", "gpu-h100"])


@dataclass
class Queue:
    orgs: list[Organization]
    template: Job
    now: datetime
    submitted: int = 0

    def submit(self, count: int) -> None:
        Job.objects.bulk_create(
            (self._job(k) for k in range(self.submitted, self.submitted + count)),
            batch_size=2000,
        )
        self.submitted += count

    def cancel_some(self, count: int) -> None:
        gone = Job.objects.filter(state=lifecycle.QUEUED).order_by("?")[:count]
        Job.objects.filter(id__in=list(gone.values_list("id", flat=True))).update(
            state=lifecycle.CANCELLED
        )

    def _job(self, k: int, accels: list[str] | None = None, **placed: object) -> Job:
        accels = accels or ACCELS[k % len(ACCELS)]
        return Job(
            id=new_job_id(),
            organization=self.orgs[k % len(self.orgs)],
            name=f"j{k}",
            spec=self.template.spec,
            accepted_accelerators=accels,
            device_count=1 if accels == ["dojo-tile"] else 1 + k % 8,
            total_steps=6,
            created_at=self.now - timedelta(seconds=100_000 - k),
            **placed,
        )


def full_cluster(tenants: int = 20) -> Queue:
    """Tenants org0..orgN-1 and a running job on every tile and GPU node; no queued job yet
    (the template job each clone copies its spec from is cancelled)."""
    cap = inventory()
    capacity.sync_inventory(cap)
    orgs = []
    for i in range(tenants):
        owner = User.objects.create_user(f"owner{i}")
        orgs.append(create_organization(f"org{i}", f"Org {i}", owner))
    template = jobs.create_job(principal_for_user(owner, orgs[-1].slug), make_spec())
    Job.objects.filter(id=template.id).update(state=lifecycle.CANCELLED)
    queue = Queue(orgs, template, template.created_at)
    groups = [("dojo", "dojo-tile", [t.id]) for t in cap.tiles] + [
        (n.pool, n.pool, [n.gpu_id(g) for g in range(n.gpus)]) for n in cap.gpu_nodes
    ]
    running = [
        queue._job(-1 - k, [accel], **_running(pool, accel, queue.now))
        for k, (pool, accel, _) in enumerate(groups)
    ]
    Job.objects.bulk_create(running)
    Allocation.objects.bulk_create(
        Allocation(device_id=d, job_id=job.id, attempt=1, created_at=queue.now)
        for job, (_, _, devices) in zip(running, groups, strict=True)
        for d in devices
    )
    return queue


def _running(pool: str, accel: str, now: datetime) -> dict[str, object]:
    return {
        "state": lifecycle.RUNNING,
        "attempt": 1,
        "pool": pool,
        "accelerator": accel,
        "started_at": now,
        "heartbeat_at": now,
        "dispatched_at": now,
    }
